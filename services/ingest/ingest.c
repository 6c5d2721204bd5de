#include "ingest.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_map.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const hs_cfg_item ingest_cfg_table[] = {
    {"batch_max_instances", HS_CFG_INT, "512", offsetof(ingest_cfg, batch_max_instances), false,
     "most instances of one stream in one write request"},
    {"batch_max_delay", HS_CFG_DURATION, "10ms", offsetof(ingest_cfg, batch_max_delay_us), false,
     "longest time an instance waits to be batched"},
    {"max_streams", HS_CFG_INT, "10000", offsetof(ingest_cfg, max_streams), false,
     "streams with buffered instances before everything is flushed"},
    {"max_pending_bytes", HS_CFG_SIZE, "64M", offsetof(ingest_cfg, max_pending_bytes), false,
     "bytes sent but not yet acknowledged by the writer before input pauses"},
    {"raw_qos", HS_CFG_INT, "1", offsetof(ingest_cfg, raw_qos), false,
     "QoS of the subscription to raw topics"},
    {"max_payload_bytes", HS_CFG_SIZE, "4M", offsetof(ingest_cfg, max_payload_bytes), false,
     "larger raw payloads are rejected to the dead-letter topic"},
    {"shared_group", HS_CFG_STR, "", offsetof(ingest_cfg, shared_group), false,
     "share raw topics among ingest replicas in this group (empty: no sharing)"},
    {"watch_dir", HS_CFG_STR, "", offsetof(ingest_cfg, watch_dir), false,
     "directory watched for CSV and JSON-lines files (empty: off)"},
    {"watch_interval", HS_CFG_DURATION, "1s", offsetof(ingest_cfg, watch_interval_us), false,
     "how often the directory is scanned"},
    {"file_mode", HS_CFG_STR, "stream", offsetof(ingest_cfg, file_mode), false,
     "stream: one stream per file; columns: one stream per column"},
    {"file_settle", HS_CFG_DURATION, "1s", offsetof(ingest_cfg, file_settle_us), false,
     "a file is taken once it has not changed for this long"},
    {"inbox_watch", HS_CFG_BOOL, "true", offsetof(ingest_cfg, inbox_watch), false,
     "watch the directory with inotify, besides the periodic scan (false: scan only)"},
    {"inbox_files_per_round", HS_CFG_INT, "0", offsetof(ingest_cfg, inbox_files_per_round), false,
     "most files claimed per round of the inbox (a scan or a batch of inotify events; 0: all)"},
    {"inbox_round_rows", HS_CFG_INT, "20000", offsetof(ingest_cfg, inbox_round_rows), false,
     "lines read from files before the service loop gets back to MQTT"},
    {"inbox_round_bytes", HS_CFG_SIZE, "4M", offsetof(ingest_cfg, inbox_round_bytes), false,
     "bytes read from files before the service loop gets back to MQTT"},
    {"schemas", HS_CFG_STR, "", offsetof(ingest_cfg, schemas), false,
     "YAML/JSON file of input schemas per stream pattern (docs/SCHEMAS.md; empty: none)"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

/*
 * Instances of one stream waiting to be sent: in the map by stream while it
 * holds any, and in the queue of waiting streams, oldest first, so that
 * sending what is due looks only at the streams that are due (a fleet sends
 * to 100,000 streams).
 */
typedef struct pending {
    hs_batch b;
    int64_t first_us;            /* monotonic arrival of the oldest instance */
    char *sid;                   /* owned */
    struct pending *prev, *next; /* the queue */
} pending;

struct ingest {
    hs_service *svc;
    const ingest_cfg *cfg;
    hs_log *log;
    hs_mqtt *mqtt;
    hs_wclient *wc;
    hs_map pend;                /* canonical stream id -> pending* */
    pending *oldest, *youngest; /* the queue of waiting streams, by first_us */
    /* One append_many being built (in_send_front): owned, HS_PROTO_MANY_STREAMS (+ 1) each. */
    size_t *many_offs;
    pending **many_group;
    hs_proto_append *many_items;
    hs_batch decoded;
    hs_buf fields, batch, sid, topic;
    size_t raw_prefix_len;     /* length of "<prefix>/raw/" */
    size_t schemas_prefix_len; /* length of "<prefix>/schemas/" */
    ingest_files *files;
    uint64_t last_seq;     /* seq of the last write request sent */
    hs_schemaset *schemas; /* owned input schemas */
};

hs_schemaset *ingest_schemas(ingest *in)
{
    return in->schemas;
}

/* Sends the instances of b as one append request of stream sid. */
static int in_append(ingest *in, const char *sid, const hs_batch *b)
{
    hs_buf_reset(&in->batch);
    hs_buf_reset(&in->fields);
    int rc = hs_codec_encode_mpack(b, 0, b->n, &in->batch);
    hs_proto_append a = {sid, in->batch.data, in->batch.len};
    uint32_t n = 0;
    if (rc == HS_OK)
        rc = hs_proto_append_encode_fields(&in->fields, &a, &n);
    if (rc == HS_OK)
        rc = hs_wclient_send(in->wc, HS_OP_APPEND, in->fields.data, in->fields.len, n, -1,
                             &in->last_seq);
    return rc;
}

/* Instances that could not be handed to the writer go to the dead letters with the reason. */
static void in_not_sent(ingest *in, const char *sid, pending *p, int rc)
{
    char msg[600], why[800];
    hs_err_describe(rc, msg, sizeof msg);
    hs_error(in->log, "cannot send %zu instances of %s to the writer: %s", p->b.n, sid, msg);
    snprintf(why, sizeof why, "not stored: %zu instances could not be handed to the writer: %s",
             p->b.n, msg);
    hs_buf mp, topic;
    hs_buf_init(&mp, 0);
    hs_buf_init(&topic, 0);
    const char *t = hs_service_topic(in->svc, &topic, "raw/%s", sid);
    if (hs_codec_encode_mpack(&p->b, 0, p->b.n, &mp) == HS_OK)
        hs_service_dead_letter_as(in->svc, why, t, sid, HS_PAYLOAD_MSGPACK, mp.data, mp.len);
    else
        hs_service_dead_letter_as(in->svc, why, t, sid, HS_PAYLOAD_TEXT, "", 0);
    hs_buf_free(&mp);
    hs_buf_free(&topic);
}

static int in_send(ingest *in, const char *sid, pending *p)
{
    if (p->b.n == 0)
        return HS_OK;
    int rc = in_append(in, sid, &p->b);
    if (rc == HS_OK) {
        hs_service_counters *c = hs_service_counters_get(in->svc);
        c->msgs_out++;
        c->instances_out += p->b.n;
    } else {
        in_not_sent(in, sid, p, rc);
    }
    hs_batch_reset(&p->b);
    return rc;
}

/* Forgets p: out of the queue and the map, freed. */
static void in_retire(ingest *in, pending *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        in->oldest = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    else
        in->youngest = p->prev;
    (void)hs_map_remove(&in->pend, p->sid);
    hs_batch_free(&p->b);
    hs_free(p->sid);
    hs_free(p);
}

/* Sends p's instances, then forgets p. */
static int in_send_retire(ingest *in, pending *p)
{
    int rc = in_send(in, p->sid, p);
    in_retire(in, p);
    return rc;
}

/*
 * Sends the waiting streams at the front of the queue (all of them, or the
 * due ones) in requests of up to HS_PROTO_MANY_STREAMS streams: one append_many
 * per group (a fleet's devices send a reading or two each), a plain append
 * for a group of one; then forgets them.
 */
static int in_send_front(ingest *in, bool due_only, bool one_group)
{
    int64_t now = hs_time_mono_us();
    int rc = HS_OK;
    size_t *offs = in->many_offs;
    pending **group = in->many_group;
    hs_proto_append *items = in->many_items;
    for (;;) {
        size_t n = 0;
        hs_buf_reset(&in->batch);
        int erc = HS_OK;
        for (pending *p = in->oldest;
             p != NULL && n < HS_PROTO_MANY_STREAMS && in->batch.len < HS_PROTO_MANY_BYTES &&
             (!due_only || now - p->first_us >= in->cfg->batch_max_delay_us);
             p = p->next) {
            offs[n] = in->batch.len;
            erc = hs_codec_encode_mpack(&p->b, 0, p->b.n, &in->batch);
            if (erc != HS_OK)
                break;
            group[n++] = p;
        }
        if (n == 0 && erc == HS_OK)
            return rc;
        offs[n] = in->batch.len;
        if (n <= 1 || erc != HS_OK) {
            /* One stream (or an encoding problem): it goes alone. */
            int r = in_send_retire(in, n == 1 ? group[0] : in->oldest);
            rc = r != HS_OK ? r : rc;
            if (one_group)
                return rc;
            continue;
        }
        for (size_t i = 0; i < n; i++)
            items[i] =
                (hs_proto_append){group[i]->sid, in->batch.data + offs[i], offs[i + 1] - offs[i]};
        hs_proto_append_many many = {items, n};
        uint32_t nf = 0;
        hs_buf_reset(&in->fields);
        int r = hs_proto_append_many_encode_fields(&in->fields, &many, &nf);
        if (r == HS_OK)
            r = hs_wclient_send(in->wc, HS_OP_APPEND_MANY, in->fields.data, in->fields.len, nf, -1,
                                &in->last_seq);
        hs_service_counters *c = hs_service_counters_get(in->svc);
        if (r == HS_OK)
            c->msgs_out++;
        for (size_t i = 0; i < n; i++) {
            if (r == HS_OK)
                c->instances_out += group[i]->b.n;
            else
                in_not_sent(in, group[i]->sid, group[i], r);
            in_retire(in, group[i]);
        }
        rc = r != HS_OK ? r : rc;
        if (one_group)
            return rc;
    }
}

int ingest_flush_all(ingest *in)
{
    return in_send_front(in, false, false);
}

/* Sends batches older than batch_max_delay: the front of the queue. */
static void in_flush_due(ingest *in)
{
    (void)in_send_front(in, true, false);
}

/* The waiting instances of stream sid, created (at the back of the queue) when none wait. */
static pending *in_pending(ingest *in, const char *sid)
{
    pending *p = hs_map_get(&in->pend, sid);
    if (p != NULL)
        return p;
    /* Too many streams waiting: those waiting longest go now, together. */
    if (in->oldest != NULL && (int64_t)in->pend.n >= in->cfg->max_streams)
        (void)in_send_front(in, false, true);
    p = hs_calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    hs_batch_init(&p->b);
    p->sid = hs_strdup(sid);
    if (p->sid == NULL || hs_map_put(&in->pend, sid, p, NULL) != HS_OK) {
        hs_free(p->sid);
        hs_free(p);
        return NULL;
    }
    p->first_us = hs_time_mono_us();
    p->prev = in->youngest;
    if (in->youngest != NULL)
        in->youngest->next = p;
    else
        in->oldest = p;
    in->youngest = p;
    return p;
}

int ingest_add(ingest *in, const char *sid, const hs_batch *b)
{
    size_t i = 0;
    int first_err = HS_OK;
    while (i < b->n) {
        pending *p = in_pending(in, sid);
        if (p == NULL)
            return HS_ERR_NOMEM;
        for (; i < b->n; i++) {
            int rc = hs_batch_push(&p->b, b->items[i].t_us, hs_batch_value(b, i), b->items[i].len);
            if (rc != HS_OK)
                return rc;
            if ((int64_t)p->b.n >= in->cfg->batch_max_instances) {
                /*
                 * Full: sent; what follows waits as anew. A batch that could
                 * not be sent was dead-lettered (in_send): the rest still goes on.
                 */
                i++;
                rc = in_send_retire(in, p);
                if (rc != HS_OK && first_err == HS_OK)
                    first_err = rc;
                break;
            }
        }
    }
    return first_err;
}

int ingest_wait_acked(ingest *in, int timeout_ms)
{
    return hs_wclient_flush(in->wc, timeout_ms);
}

uint64_t ingest_last_seq(const ingest *in)
{
    return in->last_seq;
}

bool ingest_acked(ingest *in, uint64_t seq)
{
    return hs_wclient_acked_through(in->wc) >= seq;
}

/* One raw MQTT message. */
static void in_on_raw(ingest *in, hs_mqtt_msg *m)
{
    hs_service_counters *c = hs_service_counters_get(in->svc);
    c->msgs_in++;
    const char *suffix = m->topic + in->raw_prefix_len;
    if (strlen(m->topic) <= in->raw_prefix_len) {
        hs_service_dead_letter(in->svc, "raw topic names no stream", m->topic, m->payload, m->len);
        return;
    }
    if ((int64_t)m->len > in->cfg->max_payload_bytes) {
        /* Only the start of the payload is kept: enough to find its sender. */
        size_t kept = m->len < 256 ? m->len : 256;
        char reason[240];
        snprintf(reason, sizeof reason,
                 "payload of %zu bytes is larger than max_payload_bytes (%lld); send batches of "
                 "fewer instances (first %zu bytes kept here)",
                 m->len, (long long)in->cfg->max_payload_bytes, kept);
        hs_service_dead_letter(in->svc, reason, m->topic, m->payload, kept);
        return;
    }
    hs_buf_reset(&in->sid);
    int rc = hs_streamid_canonical(suffix, strlen(suffix), &in->sid);
    if (rc != HS_OK) {
        char reason[700];
        snprintf(reason, sizeof reason, "invalid stream id: %s", hs_err_detail());
        hs_service_dead_letter(in->svc, reason, m->topic, m->payload, m->len);
        return;
    }
    /*
     * Fast path: a msgpack batch that is canonical already and about as big as
     * a batch is forwarded as it came (no copy, no re-encoding), when nothing
     * of its stream is waiting in front of it.
     */
    const uint8_t *pl = m->payload;
    bool mp_batch = m->len > 2 && (pl[0] == 0xdc || pl[0] == 0xdd || (pl[0] & 0xf0) == 0x90);
    if (mp_batch && !hs_schemaset_applies(in->schemas, hs_buf_cstr(&in->sid)) &&
        hs_codec_decode_mpack(pl, m->len, false, &in->decoded) == HS_OK &&
        (int64_t)in->decoded.n * 2 >= in->cfg->batch_max_instances) {
        pending *p = hs_map_get(&in->pend, hs_buf_cstr(&in->sid));
        if (p == NULL || p->b.n == 0) {
            c->instances_in += in->decoded.n;
            int frc = in_append(in, hs_buf_cstr(&in->sid), &in->decoded);
            if (frc == HS_OK) {
                c->msgs_out++;
                c->instances_out += in->decoded.n;
                return;
            }
        }
    }
    rc = hs_codec_decode_payload(m->payload, m->len, hs_time_now_us(), &in->decoded);
    if (rc != HS_OK) {
        char reason[700];
        snprintf(reason, sizeof reason, "%s",
                 hs_err_detail()[0] ? hs_err_detail() : hs_strerror(rc));
        hs_service_dead_letter_as(in->svc, reason, m->topic, hs_buf_cstr(&in->sid), HS_PAYLOAD_AUTO,
                                  m->payload, m->len);
        return;
    }
    c->instances_in += in->decoded.n;
    (void)ingest_schema_filter(in->schemas, in->svc, hs_buf_cstr(&in->sid), m->topic, &in->decoded);
    rc = ingest_add(in, hs_buf_cstr(&in->sid), &in->decoded);
    if (rc != HS_OK) {
        c->errors++;
        hs_error(in->log, "cannot buffer instances of %s: %s", hs_buf_cstr(&in->sid),
                 hs_strerror(rc));
    }
}

/* Whether topic is <prefix>/schemas/<workflow> (a workflow's input schemas). */
static bool in_is_schemas(const ingest *in, const char *topic)
{
    size_t n = strlen(in->cfg->common.prefix);
    return strlen(topic) > in->schemas_prefix_len &&
           strncmp(topic, in->cfg->common.prefix, n) == 0 &&
           strncmp(topic + n, "/schemas/", 9) == 0;
}

int ingest_run(ingest *in)
{
    /* Whether the inbox has files to read: MQTT is then polled without waiting. */
    bool files_busy = false;
    while (hs_service_running(in->svc)) {
        hs_mqtt_msg *m = NULL;
        if (hs_service_paused(in->svc)) {
            /* Paused: raw input waits in the broker (persistent session). */
            ingest_flush_all(in);
            hs_wclient_stats ws;
            hs_wclient_get_stats(in->wc, &ws);
            hs_service_set_idle(in->svc, ws.pending == 0);
            hs_service_tick(in->svc);
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        hs_service_set_idle(in->svc, false);
        int rc = hs_mqtt_recv(in->mqtt, &m, files_busy ? 0 : 5);
        if (rc == HS_OK) {
            if (in_is_schemas(in, m->topic))
                ingest_schema_on_message(in->schemas, in->svc, m->topic + in->schemas_prefix_len,
                                         m);
            else
                in_on_raw(in, m);
            hs_mqtt_msg_free(m);
        } else if (rc != HS_ERR_TIMEOUT) {
            break;
        }
        in_flush_due(in);
        hs_wclient_stats ws;
        hs_wclient_get_stats(in->wc, &ws);
        hs_service_counters_get(in->svc)->backlog = ws.pending;
        hs_service_tick(in->svc);
        /* One round of file work (bounded), then back to MQTT: the two alternate. */
        if (in->files != NULL)
            files_busy = ingest_files_work(in->files);
    }
    /* Stopping: hand over what is buffered and give the writer a moment to confirm it. */
    ingest_flush_all(in);
    if (hs_wclient_flush(in->wc, 5000) != HS_OK)
        hs_warn(in->log, "stopping with unacknowledged writes: %s", hs_err_detail());
    if (in->files != NULL)
        ingest_files_reap(in->files);
    return HS_OK;
}

int ingest_create(ingest **out, hs_service *svc, const ingest_cfg *cfg)
{
    *out = NULL;
    ingest *in = hs_calloc(1, sizeof *in);
    if (in == NULL)
        return HS_ERR_NOMEM;
    in->svc = svc;
    in->cfg = cfg;
    in->log = hs_service_log(svc);
    in->mqtt = hs_service_mqtt(svc);
    hs_map_init(&in->pend);
    hs_batch_init(&in->decoded);
    hs_buf_init(&in->fields, 0);
    hs_buf_init(&in->batch, 0);
    hs_buf_init(&in->sid, 0);
    hs_buf_init(&in->topic, 0);
    in->many_offs = hs_calloc(HS_PROTO_MANY_STREAMS + 1, sizeof *in->many_offs);
    in->many_group = hs_calloc(HS_PROTO_MANY_STREAMS, sizeof *in->many_group);
    in->many_items = hs_calloc(HS_PROTO_MANY_STREAMS, sizeof *in->many_items);
    if (in->many_offs == NULL || in->many_group == NULL || in->many_items == NULL) {
        ingest_destroy(in);
        return HS_ERR_NOMEM;
    }
    in->raw_prefix_len = strlen(cfg->common.prefix) + strlen("/raw/");
    in->schemas_prefix_len = strlen(cfg->common.prefix) + strlen("/schemas/");
    hs_service_allow_set(svc, "batch_max_instances");
    hs_service_allow_set(svc, "batch_max_delay");

    hs_wclient_opts wo;
    hs_service_wclient_opts(svc, &wo);
    wo.max_pending_bytes = (size_t)cfg->max_pending_bytes;
    int rc = ingest_schema_load(&in->schemas, cfg, in->log);
    if (rc == HS_OK)
        rc = hs_wclient_create(&in->wc, &wo);
    if (rc == HS_OK && cfg->watch_dir[0] != '\0')
        rc = ingest_files_create(&in->files, in, svc, cfg);
    /*
     * Workflows' input schemas (retained, from the scheduler), subscribed
     * before raw/#: every replica needs them all (no shared group), and the
     * retained ones are queued before any reading.
     */
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(in->mqtt, hs_service_topic(svc, &in->topic, "schemas/+"), 1);
    if (rc == HS_OK) {
        const char *raw = hs_service_topic(svc, &in->topic, "raw/#");
        char filter[512];
        if (cfg->shared_group[0] != '\0')
            snprintf(filter, sizeof filter, "$share/%s/%s", cfg->shared_group, raw);
        else
            snprintf(filter, sizeof filter, "%s", raw);
        rc = hs_mqtt_subscribe(in->mqtt, filter, (int)cfg->raw_qos);
        if (rc == HS_OK)
            hs_info(in->log, "ingesting %s%s%s", filter, in->files ? " and files in " : "",
                    in->files ? cfg->watch_dir : "");
    }
    if (rc != HS_OK) {
        char msg[600];
        hs_error(in->log, "cannot start: %s", hs_err_describe(rc, msg, sizeof msg));
        ingest_destroy(in);
        return rc;
    }
    *out = in;
    return HS_OK;
}

void ingest_destroy(ingest *in)
{
    if (in == NULL)
        return;
    ingest_files_destroy(in->files);
    hs_schemaset_destroy(in->schemas);
    hs_wclient_destroy(in->wc);
    while (in->oldest != NULL) {
        pending *p = in->oldest;
        in->oldest = p->next;
        hs_batch_free(&p->b);
        hs_free(p->sid);
        hs_free(p);
    }
    hs_map_free(&in->pend);
    hs_free(in->many_offs);
    hs_free(in->many_group);
    hs_free(in->many_items);
    hs_batch_free(&in->decoded);
    hs_buf_free(&in->fields);
    hs_buf_free(&in->batch);
    hs_buf_free(&in->sid);
    hs_buf_free(&in->topic);
    hs_free(in);
}
