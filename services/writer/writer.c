#include "writer.h"

#include "hs_alloc.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_map.h"
#include "hs_mpack.h"
#include "hs_store.h"
#include "hs_streamid.h"
#include "hs_time.h"
#include "hs_value.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const hs_cfg_item writer_cfg_table[] = {
    {"batch_max_instances", HS_CFG_INT, "100000", offsetof(writer_cfg, batch_max_instances), false,
     "most instances committed in one transaction"},
    {"batch_max_requests", HS_CFG_INT, "2000", offsetof(writer_cfg, batch_max_requests), false,
     "most write requests committed in one transaction"},
    {"batch_max_delay", HS_CFG_DURATION, "20ms", offsetof(writer_cfg, batch_max_delay_us), false,
     "longest wait for a transaction to fill"},
    {"publish_max_instances", HS_CFG_INT, "1024", offsetof(writer_cfg, publish_max_instances),
     false, "most instances in one hs/s message"},
    {"publish_qos", HS_CFG_INT, "1", offsetof(writer_cfg, publish_qos), false,
     "QoS of hs/s and hs/committed messages"},
    {"job_parts_max_bytes", HS_CFG_SIZE, "256M", offsetof(writer_cfg, job_parts_max_bytes), false,
     "memory for job outputs whose parts have not all arrived"},
    {"job_parts_ttl", HS_CFG_DURATION, "10m", offsetof(writer_cfg, job_parts_ttl_us), false,
     "incomplete job outputs are dropped after this"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

/* Request status in acknowledgements. */
enum {
    WS_OK = 0,
    WS_REJECTED = 1, /* malformed or not allowed: not re-sent */
    WS_STALE = 2,    /* a job for a stream definition that has changed since */
};

#define W_MAX_FIELDS 32

/* A write request taken from the broker, decoded lazily. */
typedef struct wreq {
    hs_mqtt_msg *msg; /* owned (NULL once handed to a job's parts) */
    char sender[128];
    uint64_t inc, seq;
    char op[16];
    hs_mp_field f[W_MAX_FIELDS]; /* fields of the payload map (borrowing msg) */
    size_t nf;
    int status;
    char err[256];
    uint64_t inserted, duplicates, conflicts;
    size_t instances; /* size estimate for batching */
    bool held;        /* a job part kept until its job is complete */
} wreq;

/* What the writer knows of a stream (cache; cleared on rollback). */
typedef struct wstream {
    bool defined;
    int kind;
    char *binding;     /* owned JSON or NULL */
    char hash[17];     /* hash of binding, "" for none */
    hs_intervals calc; /* calculated/covered intervals */
} wstream;

/* Parts of one job output still arriving. */
typedef struct wjob {
    uint32_t parts;
    uint32_t have;
    hs_mqtt_msg **msgs; /* owned, by part index */
    wreq *reqs;         /* header info of each part (sender, inc, seq) */
    size_t bytes;
    int64_t first_us;
    char *key;  /* owned key in writer.jobs */
    bool ready; /* all parts arrived; listed in writer.ready */
} wjob;

/* A committed batch published as it arrived (borrows the request message). */
typedef struct wraw {
    char *sid; /* owned */
    const uint8_t *p;
    size_t len;
} wraw;

/* Per-sender acknowledgements of one commit. */
typedef struct wacks {
    uint64_t inc;
    hs_buf items; /* msgpack ack arrays */
    uint32_t n;
    char sender[128];
} wacks;

struct writer {
    hs_service *svc;
    const writer_cfg *cfg;
    hs_log *log;
    hs_mqtt *mqtt;
    hs_store *store;
    bool committed_since_release; /* a commit since the caches were last released */
    hs_map streams;               /* id -> wstream* */
    hs_map jobs;                  /* "<sender>:<inc>:<job>" -> wjob* */
    size_t jobs_bytes;
    wjob **ready; /* complete jobs to commit with the next transaction */
    size_t nready, capready;
    wreq *reqs; /* the batch */
    size_t nreqs, capreqs;
    /* Results of the open transaction, published after commit. */
    hs_map pubs; /* stream id -> hs_batch* of newly inserted instances */
    wraw *raws;  /* whole batches to publish as they are */
    size_t nraw, capraw;
    hs_map acks;    /* "<sender>:<inc>" -> wacks* */
    hs_buf notices; /* sequence of [topic string, payload bin] msgpack pairs */
    size_t nnotices;
    hs_batch decoded;
    hs_buf scratch, topic, json;
    uint8_t *status;
    size_t status_cap;
    uint64_t conflicts_total;
};

/* ------------------------------------------------------------------ helpers */

static uint64_t w_fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void wstream_free(wstream *s)
{
    if (s == NULL)
        return;
    hs_free(s->binding);
    hs_intervals_free(&s->calc);
    hs_free(s);
}

static void w_streams_clear(writer *w)
{
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&w->streams, &pos)) != NULL)
        wstream_free(e->value);
    hs_map_free(&w->streams);
}

/* The cached state of stream id, loading it from the store on first use. */
static int w_stream(writer *w, const char *id, wstream **out)
{
    wstream *s = hs_map_get(&w->streams, id);
    if (s != NULL) {
        *out = s;
        return HS_OK;
    }
    s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_intervals_init(&s->calc);
    hs_stream_info info;
    int rc = hs_store_stream_get(w->store, id, &info);
    if (rc == HS_OK) {
        s->defined = true;
        s->kind = info.kind;
        s->binding = info.binding;
        info.binding = NULL;
        hs_intervals_free(&s->calc);
        s->calc = info.calculated;
        hs_intervals_init(&info.calculated);
        if (s->binding != NULL)
            snprintf(s->hash, sizeof s->hash, "%016llx", (unsigned long long)w_fnv(s->binding));
        hs_stream_info_free(&info);
    } else if (rc != HS_ERR_NOTFOUND) {
        wstream_free(s);
        return rc;
    }
    rc = hs_map_put(&w->streams, id, s, NULL);
    if (rc != HS_OK) {
        wstream_free(s);
        return rc;
    }
    *out = s;
    return HS_OK;
}

static void w_reject(wreq *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void w_reject(wreq *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->status = status;
}

/* Copies a string field into buf (NUL-terminated); false when absent or too long. */
static bool w_field_cstr(const wreq *r, const char *key, char *buf, size_t len)
{
    const char *s;
    uint32_t n;
    if (hs_mp_field_str(r->f, r->nf, key, &s, &n) != HS_OK || n >= len)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

/* Checks that id is a canonical stream id. */
static bool w_canonical(writer *w, const char *id, char *why, size_t whylen)
{
    hs_buf_reset(&w->scratch);
    int rc = hs_streamid_canonical(id, strlen(id), &w->scratch);
    if (rc != HS_OK) {
        snprintf(why, whylen, "%s", hs_err_detail());
        return false;
    }
    if (strcmp(hs_buf_cstr(&w->scratch), id) != 0) {
        snprintf(why, whylen, "stream id '%s' is not canonical (expected '%s')", id,
                 hs_buf_cstr(&w->scratch));
        return false;
    }
    return true;
}

/* Remembers a whole batch, already encoded, for publication after commit. */
static int w_collect_raw(writer *w, const char *id, const uint8_t *raw, size_t len)
{
    if (w->nraw == w->capraw) {
        size_t cap = w->capraw ? w->capraw * 2 : 64;
        wraw *nr = hs_realloc(w->raws, cap * sizeof *nr);
        if (nr == NULL)
            return HS_ERR_NOMEM;
        w->raws = nr;
        w->capraw = cap;
    }
    char *sid = hs_strdup(id);
    if (sid == NULL)
        return HS_ERR_NOMEM;
    w->raws[w->nraw].sid = sid;
    w->raws[w->nraw].p = raw;
    w->raws[w->nraw].len = len;
    w->nraw++;
    return HS_OK;
}

/* Remembers newly inserted instances of stream id for publication after commit. */
static int w_collect_pub(writer *w, const char *id, const hs_batch *b, const uint8_t *status)
{
    hs_batch *pb = hs_map_get(&w->pubs, id);
    if (pb == NULL) {
        pb = hs_malloc(sizeof *pb);
        if (pb == NULL)
            return HS_ERR_NOMEM;
        hs_batch_init(pb);
        int rc = hs_map_put(&w->pubs, id, pb, NULL);
        if (rc != HS_OK) {
            hs_free(pb);
            return rc;
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        if (status[i] != HS_WRITE_INSERTED)
            continue;
        int rc = hs_batch_push(pb, b->items[i].t_us, hs_batch_value(b, i), b->items[i].len);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

/* Writes a decoded batch to stream id, counting into r and collecting publications. */
/*
 * Writes a decoded batch to stream id, counting into r and collecting what
 * to publish. raw (may be NULL), the batch's own msgpack encoding inside
 * the request message, is published as it is when every instance was new,
 * which spares copying and encoding the common case.
 */
static int w_write(writer *w, wreq *r, const char *id, const hs_batch *b, const uint8_t *raw,
                   size_t rawlen)
{
    if (w->status_cap < b->n) {
        uint8_t *st = hs_realloc(w->status, b->n);
        if (st == NULL)
            return HS_ERR_NOMEM;
        w->status = st;
        w->status_cap = b->n;
    }
    hs_write_result res;
    int rc = hs_store_write(w->store, id, b, w->status, &res);
    if (rc != HS_OK)
        return rc;
    r->inserted += res.inserted;
    r->duplicates += res.duplicates;
    r->conflicts += res.conflicts;
    if (res.conflicts > 0) {
        w->conflicts_total += res.conflicts;
        for (size_t i = 0; i < b->n; i++) {
            if (w->status[i] != HS_WRITE_CONFLICT)
                continue;
            char t[HS_TIME_ISO_MAX];
            hs_time_format_iso(b->items[i].t_us, t);
            hs_buf_reset(&w->json);
            hs_mp_reader vr;
            hs_mp_reader_init(&vr, hs_batch_value(b, i), b->items[i].len);
            (void)hs_json_from_mpack(&vr, &w->json);
            char reason[512];
            snprintf(reason, sizeof reason,
                     "conflict: stream %s already holds a different value at %s; kept the stored "
                     "value, rejected %s",
                     id, t, hs_buf_cstr(&w->json));
            hs_service_dead_letter(w->svc, reason, id, hs_batch_value(b, i), b->items[i].len);
        }
    }
    if (raw != NULL && res.inserted == b->n && b->n > 0 &&
        (int64_t)b->n <= w->cfg->publish_max_instances)
        return w_collect_raw(w, id, raw, rawlen);
    return w_collect_pub(w, id, b, w->status);
}

/* ------------------------------------------------------------------ ops */

static int w_add_notice(writer *w, const char *topic, const hs_buf *payload);

/*
 * Queues the notice <prefix>/purged {"stream": id}: readers that cache
 * calculated intervals (the scheduler) forget them once the purge commits.
 */
static int w_notice_purged(writer *w, const char *id)
{
    hs_buf p;
    hs_buf_init(&p, 0);
    int rc = hs_mp_put_map(&p, 1);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, "stream");
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, id);
    if (rc == HS_OK)
        rc = w_add_notice(w, hs_service_topic(w->svc, &w->topic, "purged"), &p);
    hs_buf_free(&p);
    return rc;
}

static int w_op_append(writer *w, wreq *r)
{
    char id[HS_SID_MAX_LEN + 1], why[300];
    const hs_mp_field *data = hs_mp_field_find(r->f, r->nf, "data");
    if (!w_field_cstr(r, "stream", id, sizeof id) || data == NULL) {
        w_reject(r, WS_REJECTED, "append needs 'stream' and 'data'");
        return HS_OK;
    }
    if (!w_canonical(w, id, why, sizeof why)) {
        w_reject(r, WS_REJECTED, "%s", why);
        return HS_OK;
    }
    int rc = hs_codec_decode_mpack(data->val, data->vlen, false, &w->decoded);
    if (rc != HS_OK) {
        w_reject(r, WS_REJECTED, "bad data: %s", hs_err_detail());
        return HS_OK;
    }
    wstream *st;
    rc = w_stream(w, id, &st);
    if (rc != HS_OK)
        return rc;
    if (st->defined && st->kind != HS_STREAM_RAW) {
        w_reject(r, WS_REJECTED,
                 "stream %s is computed by a workflow; raw data must use another stream name", id);
        return HS_OK;
    }
    if (w->decoded.n == 0)
        return HS_OK;
    rc = w_write(w, r, id, &w->decoded, data->val, data->vlen);
    if (rc != HS_OK)
        return rc;
    st->defined = true;
    st->kind = HS_STREAM_RAW;
    /* The covered interval of a raw stream: (first - 1us, last] over everything received. */
    int64_t lo = w->decoded.items[0].t_us, hi = lo;
    for (size_t i = 1; i < w->decoded.n; i++) {
        int64_t t = w->decoded.items[i].t_us;
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    hs_interval cover = {lo - 1, hi}, span;
    if (hs_intervals_span(&st->calc, &span)) {
        cover.start = span.start < cover.start ? span.start : cover.start;
        cover.end = span.end > cover.end ? span.end : cover.end;
    }
    if (st->calc.n != 1 || st->calc.v[0].start != cover.start || st->calc.v[0].end != cover.end) {
        hs_intervals_clear(&st->calc);
        rc = hs_intervals_add(&st->calc, cover);
        if (rc == HS_OK)
            rc = hs_store_intervals_set(w->store, id, &st->calc);
    }
    return rc;
}

static int w_op_define(writer *w, wreq *r)
{
    const hs_mp_field *fs = hs_mp_field_find(r->f, r->nf, "streams");
    hs_mp_reader rd;
    uint32_t n;
    if (fs == NULL) {
        w_reject(r, WS_REJECTED, "define needs 'streams'");
        return HS_OK;
    }
    hs_mp_reader_init(&rd, fs->val, fs->vlen);
    if (hs_mp_get_array(&rd, &n) != HS_OK) {
        w_reject(r, WS_REJECTED, "'streams' must be an array of [id, kind, binding]");
        return HS_OK;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t three;
        const char *sid, *bind = NULL;
        uint32_t sidlen, bindlen = 0;
        int64_t kind;
        char id[HS_SID_MAX_LEN + 1], why[300];
        if (hs_mp_get_array(&rd, &three) != HS_OK || three != 3 ||
            hs_mp_get_str(&rd, &sid, &sidlen) != HS_OK || sidlen > HS_SID_MAX_LEN ||
            hs_mp_get_int(&rd, &kind) != HS_OK || kind < HS_STREAM_RAW || kind > HS_STREAM_ASSET) {
            w_reject(r, WS_REJECTED, "stream definition %u is not [id, kind, binding]", i);
            return HS_OK;
        }
        if (hs_mp_get_str(&rd, &bind, &bindlen) != HS_OK && hs_mp_get_nil(&rd) != HS_OK) {
            w_reject(r, WS_REJECTED, "stream definition %u: binding is not a string", i);
            return HS_OK;
        }
        memcpy(id, sid, sidlen);
        id[sidlen] = '\0';
        if (!w_canonical(w, id, why, sizeof why)) {
            w_reject(r, WS_REJECTED, "%s", why);
            return HS_OK;
        }
        char *binding = NULL;
        if (bind != NULL) {
            binding = hs_strndup(bind, bindlen);
            if (binding == NULL)
                return HS_ERR_NOMEM;
        }
        wstream *st;
        int rc = w_stream(w, id, &st);
        bool changed = st != NULL && st->defined &&
                       (st->kind != kind || (st->binding == NULL) != (binding == NULL) ||
                        (binding != NULL && strcmp(st->binding, binding) != 0));
        if (rc == HS_OK && changed && (!hs_intervals_is_empty(&st->calc) || st->kind != kind)) {
            int64_t deleted = 0;
            rc = hs_store_purge(w->store, id, false, &deleted);
            if (rc == HS_OK)
                rc = w_notice_purged(w, id);
            if (rc == HS_OK) {
                hs_intervals_clear(&st->calc);
                hs_info(w->log,
                        "stream %s: its definition changed; purged %lld instances and its "
                        "calculated intervals, which will be recomputed",
                        id, (long long)deleted);
            }
        }
        if (rc == HS_OK && (!st->defined || changed))
            rc = hs_store_stream_define(w->store, id, (int)kind, binding);
        if (rc != HS_OK) {
            hs_free(binding);
            return rc;
        }
        st->defined = true;
        st->kind = (int)kind;
        hs_free(st->binding);
        st->binding = binding;
        if (binding != NULL)
            snprintf(st->hash, sizeof st->hash, "%016llx", (unsigned long long)w_fnv(binding));
        else
            st->hash[0] = '\0';
    }
    return HS_OK;
}

static int w_op_purge(writer *w, wreq *r)
{
    char id[HS_SID_MAX_LEN + 1];
    bool remove = false;
    if (!w_field_cstr(r, "stream", id, sizeof id)) {
        w_reject(r, WS_REJECTED, "purge needs 'stream'");
        return HS_OK;
    }
    (void)hs_mp_field_bool(r->f, r->nf, "remove", &remove);
    int64_t deleted = 0;
    int rc = hs_store_purge(w->store, id, remove, &deleted);
    if (rc == HS_ERR_NOTFOUND) {
        w_reject(r, WS_REJECTED, "no stream %s", id);
        return HS_OK;
    }
    if (rc != HS_OK)
        return rc;
    wstream *st = hs_map_remove(&w->streams, id);
    wstream_free(st);
    r->duplicates = (uint64_t)deleted; /* reported as the count of removed instances */
    rc = w_notice_purged(w, id);
    if (rc != HS_OK)
        return rc;
    hs_info(w->log, "purged stream %s (%lld instances%s)", id, (long long)deleted,
            remove ? ", definition removed" : "");
    return HS_OK;
}

static int w_op_doc(writer *w, wreq *r, bool put)
{
    char coll[128], key[1024];
    if (!w_field_cstr(r, "coll", coll, sizeof coll) || !w_field_cstr(r, "key", key, sizeof key)) {
        w_reject(r, WS_REJECTED, "document op needs 'coll' and 'key'");
        return HS_OK;
    }
    if (!put) {
        int rc = hs_store_doc_delete(w->store, coll, key);
        if (rc == HS_ERR_NOTFOUND)
            return HS_OK; /* deleting twice is fine */
        return rc;
    }
    const char *json;
    uint32_t jl;
    if (hs_mp_field_str(r->f, r->nf, "json", &json, &jl) != HS_OK) {
        w_reject(r, WS_REJECTED, "doc_put needs 'json'");
        return HS_OK;
    }
    /* The document must be valid JSON. */
    hs_buf_reset(&w->scratch);
    if (hs_json_to_mpack(json, jl, &w->scratch) != HS_OK) {
        w_reject(r, WS_REJECTED, "document %s/%s is not JSON: %s", coll, key, hs_err_detail());
        return HS_OK;
    }
    char *text = hs_strndup(json, jl);
    if (text == NULL)
        return HS_ERR_NOMEM;
    int rc = hs_store_doc_put(w->store, coll, key, text);
    hs_free(text);
    return rc;
}

/* ------------------------------------------------------------------ jobs */

/* Appends a notice [topic, payload] to publish after the commit. */
static int w_add_notice(writer *w, const char *topic, const hs_buf *payload)
{
    int rc = hs_mp_put_cstr(&w->notices, topic);
    if (rc == HS_OK)
        rc = hs_mp_put_bin(&w->notices, payload->data, payload->len);
    if (rc == HS_OK)
        w->nnotices++;
    return rc;
}

/* Fields shared by every part of a job, read from its first part. */
typedef struct wjobinfo {
    char job[256], workflow[256], factor[256], pv[512], runtime[256], request[128], binding[17];
    char error[512];
    int64_t start, end, started_us, duration_us;
    uint64_t attempt;
    const uint8_t *tool; /* raw msgpack of the tool map (borrowed) */
    size_t tool_len;
    const uint8_t *sinks;
    size_t sinks_len;
    char output_plate[256];      /* plate creation jobs: the plate they add values to */
    const uint8_t *plate_values; /* their values (raw msgpack array), borrowed */
    size_t plate_values_len;
} wjobinfo;

static bool w_job_info(const wreq *r, wjobinfo *ji)
{
    memset(ji, 0, sizeof *ji);
    if (!w_field_cstr(r, "job", ji->job, sizeof ji->job) ||
        !w_field_cstr(r, "workflow", ji->workflow, sizeof ji->workflow) ||
        !w_field_cstr(r, "binding", ji->binding, sizeof ji->binding))
        return false;
    (void)w_field_cstr(r, "factor", ji->factor, sizeof ji->factor);
    (void)w_field_cstr(r, "pv", ji->pv, sizeof ji->pv);
    (void)w_field_cstr(r, "runtime", ji->runtime, sizeof ji->runtime);
    (void)w_field_cstr(r, "request", ji->request, sizeof ji->request);
    (void)w_field_cstr(r, "error", ji->error, sizeof ji->error);
    (void)w_field_cstr(r, "output_plate", ji->output_plate, sizeof ji->output_plate);
    (void)hs_mp_field_int(r->f, r->nf, "started_us", &ji->started_us);
    (void)hs_mp_field_int(r->f, r->nf, "duration_us", &ji->duration_us);
    (void)hs_mp_field_uint(r->f, r->nf, "attempt", &ji->attempt);
    const hs_mp_field *iv = hs_mp_field_find(r->f, r->nf, "interval");
    const hs_mp_field *tool = hs_mp_field_find(r->f, r->nf, "tool");
    const hs_mp_field *sinks = hs_mp_field_find(r->f, r->nf, "sinks");
    if (iv == NULL || sinks == NULL)
        return false;
    hs_mp_reader rd;
    uint32_t two;
    hs_mp_reader_init(&rd, iv->val, iv->vlen);
    if (hs_mp_get_array(&rd, &two) != HS_OK || two != 2 ||
        hs_mp_get_int(&rd, &ji->start) != HS_OK || hs_mp_get_int(&rd, &ji->end) != HS_OK ||
        ji->start >= ji->end)
        return false;
    if (tool != NULL) {
        ji->tool = tool->val;
        ji->tool_len = tool->vlen;
    }
    ji->sinks = sinks->val;
    ji->sinks_len = sinks->vlen;
    return true;
}

/* Whether sid is one of the job's sinks. */
static bool w_is_sink(const wjobinfo *ji, const char *sid, size_t len)
{
    hs_mp_reader rd;
    uint32_t n;
    hs_mp_reader_init(&rd, ji->sinks, ji->sinks_len);
    if (hs_mp_get_array(&rd, &n) != HS_OK)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        uint32_t sl;
        if (hs_mp_get_str(&rd, &s, &sl) != HS_OK)
            return false;
        if (sl == len && memcmp(s, sid, len) == 0)
            return true;
    }
    return false;
}

static int w_put_history(writer *w, const wjobinfo *ji, const char *outcome, const char *error,
                         uint64_t count, uint64_t inserted, uint64_t conflicts)
{
    hs_buf *j = &w->json;
    char s[HS_TIME_ISO_MAX], e[HS_TIME_ISO_MAX], c[HS_TIME_ISO_MAX];
    int64_t now = hs_time_now_us();
    hs_time_format_iso(ji->start, s);
    hs_time_format_iso(ji->end, e);
    hs_time_format_iso(now, c);
    hs_buf_reset(j);
    int rc = hs_buf_puts(j, "{\"job\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(j, ji->job, strlen(ji->job));
    if (rc == HS_OK)
        rc = hs_buf_puts(j, ",\"workflow\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(j, ji->workflow, strlen(ji->workflow));
    if (rc == HS_OK)
        rc = hs_buf_puts(j, ",\"factor\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(j, ji->factor, strlen(ji->factor));
    if (rc == HS_OK)
        rc = hs_buf_puts(j, ",\"plate_value\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(j, ji->pv, strlen(ji->pv));
    if (rc == HS_OK && ji->tool != NULL) {
        hs_mp_reader tr;
        hs_mp_reader_init(&tr, ji->tool, ji->tool_len);
        rc = hs_buf_puts(j, ",\"tool\":");
        if (rc == HS_OK)
            rc = hs_json_from_mpack(&tr, j);
    }
    if (rc == HS_OK)
        rc =
            hs_buf_printf(j,
                          ",\"interval\":[\"%s\",\"%s\"],\"start_us\":%lld,\"end_us\":%lld,"
                          "\"count\":%llu,\"inserted\":%llu,\"conflicts\":%llu,"
                          "\"duration_us\":%lld,\"attempt\":%llu,\"committed\":\"%s\","
                          "\"outcome\":\"%s\",\"runtime\":",
                          s, e, (long long)ji->start, (long long)ji->end, (unsigned long long)count,
                          (unsigned long long)inserted, (unsigned long long)conflicts,
                          (long long)ji->duration_us, (unsigned long long)ji->attempt, c, outcome);
    if (rc == HS_OK)
        rc = hs_json_put_string(j, ji->runtime, strlen(ji->runtime));
    if (rc == HS_OK && error != NULL && error[0] != '\0') {
        rc = hs_buf_puts(j, ",\"error\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(j, error, strlen(error));
    }
    if (rc == HS_OK)
        rc = hs_buf_putc(j, '}');
    char key[700];
    snprintf(key, sizeof key, "%s/%020lld/%s", ji->workflow, (long long)now, ji->job);
    if (rc == HS_OK)
        rc = hs_store_doc_put(w->store, "history", key, hs_buf_cstr(j));
    return rc;
}

static int w_job_notice(writer *w, const wjobinfo *ji, const char *outcome, const char *error,
                        uint64_t count)
{
    hs_buf p;
    hs_buf_init(&p, 0);
    bool has_req = ji->request[0] != '\0';
    bool has_pv = ji->plate_values != NULL;
    int rc = hs_mp_put_map(&p, 8u + (has_req ? 1u : 0u) + (has_pv ? 1u : 0u));
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, "job");
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, ji->job);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, "workflow");
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, ji->workflow);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, "factor");
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, ji->factor);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, "pv");
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, ji->pv);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, "interval");
    if (rc == HS_OK)
        rc = hs_mp_put_array(&p, 2);
    if (rc == HS_OK)
        rc = hs_mp_put_int(&p, ji->start);
    if (rc == HS_OK)
        rc = hs_mp_put_int(&p, ji->end);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, "outcome");
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, outcome);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, "count");
    if (rc == HS_OK)
        rc = hs_mp_put_uint(&p, count);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, "error");
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&p, error ? error : "");
    if (rc == HS_OK && has_req) {
        rc = hs_mp_put_cstr(&p, "request");
        if (rc == HS_OK)
            rc = hs_mp_put_cstr(&p, ji->request);
    }
    if (rc == HS_OK && has_pv) {
        rc = hs_mp_put_cstr(&p, "plate_values");
        if (rc == HS_OK)
            rc = hs_mp_put_raw(&p, ji->plate_values, ji->plate_values_len);
    }
    if (rc == HS_OK)
        rc = w_add_notice(w, hs_service_topic(w->svc, &w->topic, "committed/%s", ji->workflow), &p);
    hs_buf_free(&p);
    return rc;
}

/*
 * Commits a plate-creation job: merges its plate values into the document
 * plate_values/<workflow>/<plate> ({"values": {"<parent value>": [...]}}),
 * records history and announces the values to the scheduler.
 */
static int w_commit_plate_job(writer *w, wreq *r0, wjobinfo *ji)
{
    if (ji->error[0] != '\0') {
        int rc = w_put_history(w, ji, "failed", ji->error, 0, 0, 0);
        return rc == HS_OK ? w_job_notice(w, ji, "failed", ji->error, 0) : rc;
    }
    const hs_mp_field *pvs = hs_mp_field_find(r0->f, r0->nf, "plate_values");
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ji->workflow, ji->output_plate);
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_buf doc, mp;
    hs_buf_init(&doc, 0);
    hs_buf_init(&mp, 0);
    uint64_t added = 0;
    int rc = HS_OK;
    hs_value *old = NULL, *newv = NULL;
    if (hs_store_doc_get(w->store, "plate_values", key, &doc) == HS_OK &&
        hs_json_to_mpack((const char *)doc.data, doc.len, &mp) == HS_OK)
        (void)hs_value_decode(&a, mp.data, mp.len, &old);
    const hs_value *oldvals = old ? hs_value_map_get(old, "values", 6) : NULL;
    if (pvs != NULL && hs_value_decode(&a, pvs->val, pvs->vlen, &newv) != HS_OK)
        newv = NULL;
    /* The merged map: every parent value of the old document, this one's list extended. */
    uint32_t nold = oldvals && oldvals->type == HS_V_MAP ? oldvals->len : 0;
    hs_value *vals = hs_value_map(&a, nold + 1);
    uint32_t nv = 0;
    const hs_value *mine = NULL;
    for (uint32_t i = 0; vals && i < nold; i++) {
        const hs_value *k = &oldvals->u.items[2 * i];
        if (k->type == HS_V_STR && k->len == strlen(ji->pv) && memcmp(k->u.s, ji->pv, k->len) == 0)
            mine = &oldvals->u.items[2 * i + 1];
        else {
            vals->u.items[2 * nv] = *k;
            vals->u.items[2 * nv + 1] = oldvals->u.items[2 * i + 1];
            nv++;
        }
    }
    uint32_t nmine = mine && mine->type == HS_V_ARRAY ? mine->len : 0;
    uint32_t nnew = newv && newv->type == HS_V_ARRAY ? newv->len : 0;
    hs_value *list = hs_value_array(&a, nmine + nnew);
    uint32_t nl = 0;
    for (uint32_t i = 0; list && i < nmine; i++)
        list->u.items[nl++] = mine->u.items[i];
    for (uint32_t i = 0; list && i < nnew; i++) {
        bool dup = false;
        for (uint32_t k = 0; k < nl && !dup; k++)
            dup = hs_value_equal(&list->u.items[k], &newv->u.items[i]);
        if (!dup && newv->u.items[i].type == HS_V_STR) {
            list->u.items[nl++] = newv->u.items[i];
            added++;
        }
    }
    hs_value *pk = hs_value_str(&a, ji->pv, strlen(ji->pv));
    hs_value *root = hs_value_map(&a, 1);
    hs_value *rk = hs_value_str(&a, "values", 6);
    if (vals == NULL || list == NULL || pk == NULL || root == NULL || rk == NULL) {
        rc = HS_ERR_NOMEM;
    } else {
        list->len = nl;
        vals->u.items[2 * nv] = *pk;
        vals->u.items[2 * nv + 1] = *list;
        vals->len = nv + 1;
        root->u.items[0] = *rk;
        root->u.items[1] = *vals;
        hs_buf_reset(&doc);
        rc = hs_value_to_json(root, &doc);
        if (rc == HS_OK && added > 0)
            rc = hs_store_doc_put(w->store, "plate_values", key, hs_buf_cstr(&doc));
    }
    if (pvs != NULL) {
        ji->plate_values = pvs->val;
        ji->plate_values_len = pvs->vlen;
    }
    if (rc == HS_OK)
        rc = w_put_history(w, ji, "ok", NULL, added, added, 0);
    if (rc == HS_OK)
        rc = w_job_notice(w, ji, "ok", NULL, added);
    hs_arena_free(&a);
    hs_buf_free(&doc);
    hs_buf_free(&mp);
    return rc;
}

/*
 * Commits a complete job: parts[0..n) are its requests (all parts, in part
 * order). Writes the outputs of every part, adds the interval to every sink,
 * records history and queues the commit notice. Returns a store error to
 * abort the transaction; problems of the job itself reject all its parts.
 */
static int w_commit_job(writer *w, wreq **parts, uint32_t n)
{
    wreq *r0 = parts[0];
    wjobinfo ji;
    if (!w_job_info(r0, &ji)) {
        for (uint32_t i = 0; i < n; i++)
            w_reject(parts[i], WS_REJECTED,
                     "job output needs job, workflow, binding, interval and sinks");
        return HS_OK;
    }
    if (ji.output_plate[0] != '\0')
        return w_commit_plate_job(w, r0, &ji);
    /* Every sink must still have the definition the job was computed for. */
    hs_mp_reader rd;
    uint32_t nsinks;
    hs_mp_reader_init(&rd, ji.sinks, ji.sinks_len);
    if (hs_mp_get_array(&rd, &nsinks) != HS_OK || nsinks == 0) {
        for (uint32_t i = 0; i < n; i++)
            w_reject(parts[i], WS_REJECTED, "job %s has no sinks", ji.job);
        return HS_OK;
    }
    char stale[1400] = "";
    for (uint32_t k = 0; k < nsinks && stale[0] == '\0'; k++) {
        const char *s;
        uint32_t sl;
        char id[HS_SID_MAX_LEN + 1];
        if (hs_mp_get_str(&rd, &s, &sl) != HS_OK || sl > HS_SID_MAX_LEN) {
            snprintf(stale, sizeof stale, "bad sink list");
            break;
        }
        memcpy(id, s, sl);
        id[sl] = '\0';
        wstream *st;
        int rc = w_stream(w, id, &st);
        if (rc != HS_OK)
            return rc;
        if (!st->defined || st->kind != HS_STREAM_COMPUTED || strcmp(st->hash, ji.binding) != 0)
            snprintf(stale, sizeof stale,
                     "sink %s is %s; the job was computed for an older definition", id,
                     st->defined ? "defined differently now" : "not defined");
    }
    if (stale[0] != '\0') {
        for (uint32_t i = 0; i < n; i++)
            w_reject(parts[i], WS_STALE, "%s", stale);
        int rc = w_put_history(w, &ji, "stale", stale, 0, 0, 0);
        if (rc == HS_OK)
            rc = w_job_notice(w, &ji, "stale", stale, 0);
        return rc;
    }
    if (ji.error[0] != '\0') {
        int rc = w_put_history(w, &ji, "failed", ji.error, 0, 0, 0);
        if (rc == HS_OK)
            rc = w_job_notice(w, &ji, "failed", ji.error, 0);
        return rc;
    }
    uint64_t count = 0, inserted = 0, conflicts = 0;
    for (uint32_t i = 0; i < n; i++) {
        wreq *r = parts[i];
        const hs_mp_field *outs = hs_mp_field_find(r->f, r->nf, "outputs");
        if (outs == NULL)
            continue;
        hs_mp_reader_init(&rd, outs->val, outs->vlen);
        uint32_t nout;
        if (hs_mp_get_array(&rd, &nout) != HS_OK)
            goto bad;
        for (uint32_t k = 0; k < nout; k++) {
            uint32_t two;
            const char *s;
            uint32_t sl;
            const uint8_t *data;
            size_t dl;
            if (hs_mp_get_array(&rd, &two) != HS_OK || two != 2 ||
                hs_mp_get_str(&rd, &s, &sl) != HS_OK || sl > HS_SID_MAX_LEN ||
                hs_mp_get_raw(&rd, &data, &dl) != HS_OK || !w_is_sink(&ji, s, sl))
                goto bad;
            char id[HS_SID_MAX_LEN + 1];
            memcpy(id, s, sl);
            id[sl] = '\0';
            if (hs_codec_decode_mpack(data, dl, false, &w->decoded) != HS_OK)
                goto bad;
            count += w->decoded.n;
            uint64_t before_ins = r->inserted, before_conf = r->conflicts;
            int rc = w_write(w, r, id, &w->decoded, NULL, 0);
            if (rc != HS_OK)
                return rc;
            inserted += r->inserted - before_ins;
            conflicts += r->conflicts - before_conf;
        }
    }
    hs_intervals add;
    hs_intervals_init(&add);
    hs_interval iv = {ji.start, ji.end};
    int rc = hs_intervals_add(&add, iv);
    hs_mp_reader_init(&rd, ji.sinks, ji.sinks_len);
    (void)hs_mp_get_array(&rd, &nsinks);
    for (uint32_t k = 0; rc == HS_OK && k < nsinks; k++) {
        const char *s;
        uint32_t sl;
        char id[HS_SID_MAX_LEN + 1];
        (void)hs_mp_get_str(&rd, &s, &sl);
        memcpy(id, s, sl);
        id[sl] = '\0';
        rc = hs_store_intervals_add(w->store, id, &add);
        wstream *st = hs_map_get(&w->streams, id);
        if (rc == HS_OK && st != NULL)
            rc = hs_intervals_add(&st->calc, iv);
    }
    hs_intervals_free(&add);
    if (rc == HS_OK)
        rc = w_put_history(w, &ji, "ok", NULL, count, inserted, conflicts);
    if (rc == HS_OK)
        rc = w_job_notice(w, &ji, "ok", NULL, count);
    return rc;
bad:
    for (uint32_t i = 0; i < n; i++)
        w_reject(parts[i], WS_REJECTED, "job %s: malformed outputs", ji.job);
    return HS_OK;
}

static void wjob_free(wjob *j)
{
    if (j == NULL)
        return;
    for (uint32_t i = 0; i < j->parts; i++)
        hs_mqtt_msg_free(j->msgs[i]);
    hs_free(j->msgs);
    hs_free(j->reqs);
    hs_free(j->key);
    hs_free(j);
}

/* Parses the header fields of a request held in msg into r. */
static int w_parse(writer *w, hs_mqtt_msg *msg, wreq *r);

/*
 * A job output part. Single-part jobs commit at once. Parts of multi-part
 * jobs move into w->jobs until all have arrived; a complete job is listed in
 * w->ready and committed with the transaction (and again, should that
 * transaction be retried), and its parts are acknowledged after the commit.
 */
static int w_op_job(writer *w, wreq *r)
{
    uint64_t part = 0, parts = 1;
    (void)hs_mp_field_uint(r->f, r->nf, "part", &part);
    (void)hs_mp_field_uint(r->f, r->nf, "parts", &parts);
    if (parts == 0 || parts > 100000 || part >= parts) {
        w_reject(r, WS_REJECTED, "job part %llu of %llu is out of range", (unsigned long long)part,
                 (unsigned long long)parts);
        return HS_OK;
    }
    if (parts == 1) {
        wreq *one = r;
        return w_commit_job(w, &one, 1);
    }
    char job[256], key[512];
    if (!w_field_cstr(r, "job", job, sizeof job)) {
        w_reject(r, WS_REJECTED, "job output needs 'job'");
        return HS_OK;
    }
    snprintf(key, sizeof key, "%s:%llu:%s", r->sender, (unsigned long long)r->inc, job);
    wjob *j = hs_map_get(&w->jobs, key);
    if (j == NULL) {
        j = hs_calloc(1, sizeof *j);
        if (j == NULL)
            return HS_ERR_NOMEM;
        j->parts = (uint32_t)parts;
        j->first_us = hs_time_mono_us();
        j->key = hs_strdup(key);
        j->msgs = hs_calloc(parts, sizeof *j->msgs);
        j->reqs = hs_calloc(parts, sizeof *j->reqs);
        if (j->key == NULL || j->msgs == NULL || j->reqs == NULL ||
            hs_map_put(&w->jobs, key, j, NULL) != HS_OK) {
            wjob_free(j);
            return HS_ERR_NOMEM;
        }
    }
    if (j->parts != parts) {
        w_reject(r, WS_REJECTED, "job %s: parts disagree on the part count", job);
        return HS_OK;
    }
    if (j->msgs[part] == NULL &&
        (int64_t)(w->jobs_bytes + r->msg->len) > w->cfg->job_parts_max_bytes) {
        w_reject(r, WS_REJECTED,
                 "job %s: %zu bytes of incomplete job outputs are held already (raise "
                 "job_parts_max_bytes)",
                 job, w->jobs_bytes);
        return HS_OK;
    }
    if (j->msgs[part] != NULL) {
        /* A re-sent part replaces the earlier copy. */
        j->bytes -= j->msgs[part]->len;
        w->jobs_bytes -= j->msgs[part]->len;
        hs_mqtt_msg_free(j->msgs[part]);
    } else {
        j->have++;
    }
    j->msgs[part] = r->msg;
    j->bytes += r->msg->len;
    w->jobs_bytes += r->msg->len;
    r->msg = NULL;
    r->held = true;
    if (j->have == j->parts && !j->ready) {
        if (w->nready == w->capready) {
            size_t cap = w->capready ? w->capready * 2 : 16;
            wjob **nr = hs_realloc(w->ready, cap * sizeof *nr);
            if (nr == NULL)
                return HS_ERR_NOMEM;
            w->ready = nr;
            w->capready = cap;
        }
        w->ready[w->nready++] = j;
        j->ready = true;
    }
    return HS_OK;
}

/* Commits a complete multi-part job inside the open transaction. */
static int w_commit_ready(writer *w, wjob *j)
{
    wreq **parts = hs_calloc(j->parts, sizeof *parts);
    if (parts == NULL)
        return HS_ERR_NOMEM;
    int rc = HS_OK;
    for (uint32_t i = 0; rc == HS_OK && i < j->parts; i++) {
        memset(&j->reqs[i], 0, sizeof j->reqs[i]);
        rc = w_parse(w, j->msgs[i], &j->reqs[i]);
        parts[i] = &j->reqs[i];
    }
    if (rc == HS_OK)
        rc = w_commit_job(w, parts, j->parts);
    else
        rc = HS_OK; /* unreadable parts cannot be: they were parsed on arrival */
    hs_free(parts);
    return rc;
}

/* ------------------------------------------------------------------ batch */

static int w_parse(writer *w, hs_mqtt_msg *msg, wreq *r)
{
    (void)w;
    r->msg = msg;
    int rc = hs_mp_map_index(msg->payload, msg->len, r->f, W_MAX_FIELDS, &r->nf, NULL);
    if (rc != HS_OK)
        return rc;
    if (hs_mp_field_uint(r->f, r->nf, "inc", &r->inc) != HS_OK ||
        hs_mp_field_uint(r->f, r->nf, "seq", &r->seq) != HS_OK ||
        !w_field_cstr(r, "op", r->op, sizeof r->op))
        return hs_err_set(HS_ERR_PARSE, "request lacks inc, seq or op");
    /* The sender is the last level of the topic <prefix>/w/<sender>. */
    const char *slash = strrchr(msg->topic, '/');
    if (slash == NULL || slash[1] == '\0' || strlen(slash + 1) >= sizeof r->sender)
        return hs_err_set(HS_ERR_PARSE, "request topic %s names no sender", msg->topic);
    snprintf(r->sender, sizeof r->sender, "%s", slash + 1);
    return HS_OK;
}

static int w_apply(writer *w, wreq *r)
{
    r->status = WS_OK;
    r->err[0] = '\0';
    r->inserted = r->duplicates = r->conflicts = 0;
    if (strcmp(r->op, "append") == 0)
        return w_op_append(w, r);
    if (strcmp(r->op, "job") == 0)
        return w_op_job(w, r);
    if (strcmp(r->op, "define") == 0)
        return w_op_define(w, r);
    if (strcmp(r->op, "purge") == 0)
        return w_op_purge(w, r);
    if (strcmp(r->op, "doc_put") == 0)
        return w_op_doc(w, r, true);
    if (strcmp(r->op, "doc_del") == 0)
        return w_op_doc(w, r, false);
    w_reject(r, WS_REJECTED, "unknown op '%s'", r->op);
    return HS_OK;
}

static void w_results_clear(writer *w)
{
    for (size_t i = 0; i < w->nraw; i++)
        hs_free(w->raws[i].sid);
    w->nraw = 0;
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&w->pubs, &pos)) != NULL) {
        hs_batch_free(e->value);
        hs_free(e->value);
    }
    hs_map_free(&w->pubs);
    pos = 0;
    while ((e = hs_map_next(&w->acks, &pos)) != NULL) {
        wacks *a = e->value;
        hs_buf_free(&a->items);
        hs_free(a);
    }
    hs_map_free(&w->acks);
    hs_buf_reset(&w->notices);
    w->nnotices = 0;
}

/*
 * Applies reqs[from, to) in one transaction, plus the complete multi-part
 * jobs when with_ready.
 */
static int w_apply_range(writer *w, size_t from, size_t to, bool with_ready)
{
    int rc = hs_store_begin(w->store);
    for (size_t i = from; rc == HS_OK && i < to && i < w->nreqs; i++) {
        if (w->reqs[i].msg == NULL)
            continue; /* a part that moved into w->jobs */
        rc = w_apply(w, &w->reqs[i]);
    }
    for (size_t k = 0; with_ready && rc == HS_OK && k < w->nready; k++)
        rc = w_commit_ready(w, w->ready[k]);
    if (rc == HS_OK)
        rc = hs_store_commit(w->store);
    if (rc != HS_OK) {
        (void)hs_store_rollback(w->store);
        /* Caches may hold changes of the rolled-back transaction. */
        w_streams_clear(w);
        w_results_clear(w);
    }
    return rc;
}

static int w_ack_add(writer *w, const wreq *r)
{
    char key[200];
    snprintf(key, sizeof key, "%s:%llu", r->sender, (unsigned long long)r->inc);
    wacks *a = hs_map_get(&w->acks, key);
    if (a == NULL) {
        a = hs_calloc(1, sizeof *a);
        if (a == NULL)
            return HS_ERR_NOMEM;
        a->inc = r->inc;
        snprintf(a->sender, sizeof a->sender, "%s", r->sender);
        hs_buf_init(&a->items, 0);
        if (hs_map_put(&w->acks, key, a, NULL) != HS_OK) {
            hs_free(a);
            return HS_ERR_NOMEM;
        }
    }
    bool err = r->status != WS_OK;
    int rc = hs_mp_put_array(&a->items, err ? 6 : 5);
    if (rc == HS_OK)
        rc = hs_mp_put_uint(&a->items, r->seq);
    if (rc == HS_OK)
        rc = hs_mp_put_int(&a->items, r->status);
    if (rc == HS_OK)
        rc = hs_mp_put_uint(&a->items, r->inserted);
    if (rc == HS_OK)
        rc = hs_mp_put_uint(&a->items, r->duplicates);
    if (rc == HS_OK)
        rc = hs_mp_put_uint(&a->items, r->conflicts);
    if (rc == HS_OK && err)
        rc = hs_mp_put_cstr(&a->items, r->err);
    if (rc == HS_OK)
        a->n++;
    return rc;
}

static void w_publish(writer *w, const char *topic, const void *p, size_t len, int qos)
{
    int rc = hs_mqtt_publish(w->mqtt, topic, p, len, qos, false, 30000);
    hs_service_counters *c = hs_service_counters_get(w->svc);
    if (rc == HS_OK) {
        c->msgs_out++;
    } else {
        c->errors++;
        hs_warn(w->log, "publish to %s failed: %s", topic, hs_strerror(rc));
    }
}

/* Queues the acknowledgement of every part of a committed (or rejected) job and frees it. */
static void w_ack_job(writer *w, wjob *j)
{
    hs_service_counters *c = hs_service_counters_get(w->svc);
    for (uint32_t i = 0; i < j->parts; i++) {
        if (w_ack_add(w, &j->reqs[i]) != HS_OK)
            hs_error(w->log, "out of memory building acknowledgements");
        c->instances_out += j->reqs[i].inserted;
    }
    w->jobs_bytes -= j->bytes;
    hs_map_remove(&w->jobs, j->key);
    wjob_free(j);
}

/* Publishes what the last commit produced: committed data, acknowledgements, job notices. */
static void w_publish_results(writer *w)
{
    int qos = (int)w->cfg->publish_qos;
    size_t pos = 0;
    hs_map_entry *e;
    hs_buf out;
    hs_buf_init(&out, 0);
    while ((e = hs_map_next(&w->pubs, &pos)) != NULL) {
        hs_batch *b = e->value;
        hs_service_topic(w->svc, &w->topic, "s/%s", e->key);
        size_t step = (size_t)w->cfg->publish_max_instances;
        for (size_t from = 0; from < b->n; from += step) {
            size_t cnt = b->n - from < step ? b->n - from : step;
            hs_buf_reset(&out);
            if (hs_codec_encode_mpack(b, from, cnt, &out) == HS_OK)
                w_publish(w, hs_buf_cstr(&w->topic), out.data, out.len, qos);
        }
    }
    for (size_t i = 0; i < w->nraw; i++)
        w_publish(w, hs_service_topic(w->svc, &w->topic, "s/%s", w->raws[i].sid), w->raws[i].p,
                  w->raws[i].len, qos);
    pos = 0;
    while ((e = hs_map_next(&w->acks, &pos)) != NULL) {
        wacks *a = e->value;
        hs_buf_reset(&out);
        int rc = hs_mp_put_map(&out, 3);
        if (rc == HS_OK)
            rc = hs_mp_put_cstr(&out, "v");
        if (rc == HS_OK)
            rc = hs_mp_put_uint(&out, 1);
        if (rc == HS_OK)
            rc = hs_mp_put_cstr(&out, "inc");
        if (rc == HS_OK)
            rc = hs_mp_put_uint(&out, a->inc);
        if (rc == HS_OK)
            rc = hs_mp_put_cstr(&out, "acks");
        if (rc == HS_OK)
            rc = hs_mp_put_array(&out, a->n);
        if (rc == HS_OK)
            rc = hs_mp_put_raw(&out, a->items.data, a->items.len);
        if (rc == HS_OK)
            w_publish(w, hs_service_topic(w->svc, &w->topic, "ack/%s", a->sender), out.data,
                      out.len, 1);
    }
    hs_mp_reader rd;
    hs_mp_reader_init(&rd, w->notices.data, w->notices.len);
    for (size_t i = 0; i < w->nnotices; i++) {
        const char *t;
        uint32_t tl;
        const uint8_t *p;
        uint32_t pl;
        if (hs_mp_get_str(&rd, &t, &tl) != HS_OK || hs_mp_get_bin(&rd, &p, &pl) != HS_OK)
            break;
        hs_buf_reset(&w->topic);
        (void)hs_buf_append(&w->topic, t, tl);
        w_publish(w, hs_buf_cstr(&w->topic), p, pl, 1);
    }
    hs_buf_free(&out);
    w_results_clear(w);
}

/* Queues the acknowledgement of request r (not for parts held by a job). */
static void w_ack_req(writer *w, wreq *r)
{
    if (r->held)
        return;
    hs_service_counters *c = hs_service_counters_get(w->svc);
    if (r->status != WS_OK) {
        c->errors++;
        hs_warn(w->log, "rejected %s request %llu from %s: %s", r->op, (unsigned long long)r->seq,
                r->sender, r->err);
    }
    if (w_ack_add(w, r) != HS_OK)
        hs_error(w->log, "out of memory building acknowledgements");
    c->instances_out += r->inserted;
}

/* After the commit of a whole batch. */
static void w_post_commit(writer *w)
{
    for (size_t i = 0; i < w->nreqs; i++)
        w_ack_req(w, &w->reqs[i]);
    for (size_t k = 0; k < w->nready; k++)
        w_ack_job(w, w->ready[k]);
    w->nready = 0;
    w_publish_results(w);
}

static void w_batch_free(writer *w)
{
    for (size_t i = 0; i < w->nreqs; i++)
        hs_mqtt_msg_free(w->reqs[i].msg);
    w->nreqs = 0;
}

static void w_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/*
 * Commits the collected batch. A transient store failure (HS_ERR_IO: disk
 * full, locked) is retried with backoff without acknowledging anything; a
 * permanent one is isolated by applying requests one by one and rejecting
 * the request that fails.
 */
static int w_commit_batch(writer *w)
{
    int backoff = 100;
    for (;;) {
        int rc = w_apply_range(w, 0, w->nreqs, true);
        if (rc == HS_OK)
            break;
        char msg[600];
        hs_err_describe(rc, msg, sizeof msg);
        if (rc == HS_ERR_IO || rc == HS_ERR_NOMEM) {
            hs_error(w->log, "store write failed, will retry in %d ms: %s", backoff, msg);
            hs_service_counters_get(w->svc)->errors++;
            w_sleep_ms(backoff);
            backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
            if (!hs_service_running(w->svc))
                return rc;
            continue;
        }
        hs_error(w->log, "store rejected a batch (%s); retrying its requests one by one", msg);
        for (size_t i = 0; i < w->nreqs; i++) {
            wreq *r = &w->reqs[i];
            if (r->msg == NULL)
                continue;
            int r1 = w_apply_range(w, i, i + 1, false);
            while (r1 == HS_ERR_IO && hs_service_running(w->svc)) {
                w_sleep_ms(1000);
                r1 = w_apply_range(w, i, i + 1, false);
            }
            if (r1 != HS_OK)
                w_reject(r, WS_REJECTED, "store error: %s", hs_err_describe(r1, msg, sizeof msg));
            w_ack_req(w, r);
            w_publish_results(w);
        }
        /* Complete jobs one by one; a job the store refuses is rejected with its parts. */
        for (size_t k = 0; k < w->nready; k++) {
            wjob *j = w->ready[k];
            int r1 = hs_store_begin(w->store);
            if (r1 == HS_OK)
                r1 = w_commit_ready(w, j);
            if (r1 == HS_OK)
                r1 = hs_store_commit(w->store);
            if (r1 != HS_OK) {
                (void)hs_store_rollback(w->store);
                w_streams_clear(w);
                w_results_clear(w);
                for (uint32_t p = 0; p < j->parts; p++)
                    w_reject(&j->reqs[p], WS_REJECTED, "store error: %s",
                             hs_err_describe(r1, msg, sizeof msg));
            }
            w_ack_job(w, j);
            w_publish_results(w);
        }
        w->nready = 0;
        w_batch_free(w);
        return HS_OK;
    }
    w_post_commit(w);
    w_batch_free(w);
    return HS_OK;
}

/* Drops incomplete job outputs older than the TTL. */
static void w_expire_jobs(writer *w)
{
    int64_t now = hs_time_mono_us();
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&w->jobs, &pos)) != NULL) {
        wjob *j = e->value;
        if (j->ready || now - j->first_us < w->cfg->job_parts_ttl_us)
            continue;
        hs_warn(w->log, "dropping incomplete job output %s (%u of %u parts arrived)", e->key,
                j->have, j->parts);
        w->jobs_bytes -= j->bytes;
        hs_map_remove(&w->jobs, e->key);
        wjob_free(j);
    }
}

static int w_batch_add(writer *w, hs_mqtt_msg *msg)
{
    hs_service_counters *c = hs_service_counters_get(w->svc);
    c->msgs_in++;
    if (w->nreqs == w->capreqs) {
        size_t cap = w->capreqs ? w->capreqs * 2 : 256;
        wreq *nr = hs_realloc(w->reqs, cap * sizeof *nr);
        if (nr == NULL) {
            hs_mqtt_msg_free(msg);
            return HS_ERR_NOMEM;
        }
        w->reqs = nr;
        w->capreqs = cap;
    }
    wreq *r = &w->reqs[w->nreqs];
    memset(r, 0, sizeof *r);
    int rc = w_parse(w, msg, r);
    if (rc != HS_OK) {
        char reason[600];
        snprintf(reason, sizeof reason, "unreadable write request: %s", hs_err_detail());
        hs_service_dead_letter(w->svc, reason, msg->topic, msg->payload, msg->len);
        hs_mqtt_msg_free(msg);
        return HS_OK;
    }
    /* Rough size for batching: the payload bytes over ~20 bytes per instance. */
    r->instances = msg->len / 20 + 1;
    c->instances_in += r->instances;
    w->nreqs++;
    return HS_OK;
}

int writer_run(writer *w)
{
    hs_info(w->log, "writer ready on %s (store %s)", w->cfg->common.broker_url,
            hs_store_backend(w->store));
    while (hs_service_running(w->svc)) {
        hs_mqtt_msg *msg = NULL;
        hs_service_set_idle(w->svc, true);
        if (hs_service_paused(w->svc)) {
            /* Paused: requests wait in the broker; senders keep them until acknowledged. */
            hs_service_tick(w->svc);
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        int rc = hs_mqtt_recv(w->mqtt, &msg, 200);
        hs_service_tick(w->svc);
        if (rc == HS_ERR_TIMEOUT) {
            w_expire_jobs(w);
            if (w->committed_since_release) {
                /* A burst is over: the page cache fills again on the next one. */
                hs_store_release_memory(w->store);
                hs_service_release_memory();
                w->committed_since_release = false;
            }
            continue;
        }
        if (rc != HS_OK)
            break;
        hs_service_set_idle(w->svc, false);
        int64_t batch_start = hs_time_mono_us();
        w_batch_add(w, msg);
        size_t instances = w->nreqs ? w->reqs[0].instances : 0;
        int64_t deadline = hs_time_mono_us() + w->cfg->batch_max_delay_us;
        while ((int64_t)w->nreqs < w->cfg->batch_max_requests &&
               (int64_t)instances < w->cfg->batch_max_instances) {
            int64_t left = deadline - hs_time_mono_us();
            if (left <= 0)
                break;
            rc = hs_mqtt_recv(w->mqtt, &msg, (int)((left + 999) / 1000));
            if (rc != HS_OK)
                break;
            w_batch_add(w, msg);
            if (w->nreqs > 0)
                instances += w->reqs[w->nreqs - 1].instances;
        }
        hs_service_counters_get(w->svc)->backlog = 0;
        rc = w_commit_batch(w);
        w->committed_since_release = true;
        /* Latency: from the first request of the batch to its acknowledgement. */
        hs_service_observe_us(w->svc, hs_time_mono_us() - batch_start);
        if (rc != HS_OK)
            break;
    }
    return HS_OK;
}

int writer_create(writer **out, hs_service *svc, const writer_cfg *cfg)
{
    *out = NULL;
    writer *w = hs_calloc(1, sizeof *w);
    if (w == NULL)
        return HS_ERR_NOMEM;
    w->svc = svc;
    w->cfg = cfg;
    w->log = hs_service_log(svc);
    w->mqtt = hs_service_mqtt(svc);
    hs_map_init(&w->streams);
    hs_map_init(&w->jobs);
    hs_map_init(&w->pubs);
    hs_map_init(&w->acks);
    hs_buf_init(&w->notices, 0);
    hs_buf_init(&w->scratch, 0);
    hs_buf_init(&w->topic, 0);
    hs_buf_init(&w->json, 0);
    hs_batch_init(&w->decoded);
    int rc = hs_store_open(&w->store, cfg->common.store_url, HS_STORE_WRITE);
    if (rc != HS_OK) {
        char msg[600];
        hs_error(w->log, "cannot open the store %s: %s", cfg->common.store_url,
                 hs_err_describe(rc, msg, sizeof msg));
        writer_destroy(w);
        return rc;
    }
    hs_service_allow_set(svc, "batch_max_instances");
    hs_service_allow_set(svc, "batch_max_requests");
    hs_service_allow_set(svc, "batch_max_delay");
    hs_service_allow_set(svc, "publish_max_instances");
    hs_buf t;
    hs_buf_init(&t, 0);
    rc = hs_mqtt_subscribe(w->mqtt, hs_service_topic(svc, &t, "w/+"), 1);
    hs_buf_free(&t);
    if (rc != HS_OK) {
        writer_destroy(w);
        return rc;
    }
    *out = w;
    return HS_OK;
}

void writer_destroy(writer *w)
{
    if (w == NULL)
        return;
    w_batch_free(w);
    hs_free(w->reqs);
    w_streams_clear(w);
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&w->jobs, &pos)) != NULL)
        wjob_free(e->value);
    hs_map_free(&w->jobs);
    hs_free(w->ready);
    w_results_clear(w);
    hs_free(w->raws);
    hs_buf_free(&w->notices);
    hs_buf_free(&w->scratch);
    hs_buf_free(&w->topic);
    hs_buf_free(&w->json);
    hs_batch_free(&w->decoded);
    hs_free(w->status);
    hs_store_close(w->store);
    hs_free(w);
}
