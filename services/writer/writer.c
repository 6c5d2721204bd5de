/*
 * The writer's shell: the MQTT loop, status, metrics and publishing around
 * the commit logic of wcore.h.
 */
#include "writer.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_proto.h"
#include "hs_store.h"
#include "hs_time.h"
#include "wcore.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const hs_cfg_item writer_cfg_table[] = {
    {"batch_max_instances", HS_CFG_INT, "100000", offsetof(writer_cfg, core.batch_max_instances),
     false, "most instances committed in one transaction"},
    {"batch_max_requests", HS_CFG_INT, "2000", offsetof(writer_cfg, core.batch_max_requests), false,
     "most write requests committed in one transaction"},
    {"batch_max_delay", HS_CFG_DURATION, "20ms", offsetof(writer_cfg, batch_max_delay_us), false,
     "longest wait for a transaction to fill"},
    {"publish_max_instances", HS_CFG_INT, "1024", offsetof(writer_cfg, core.publish_max_instances),
     false, "most instances in one hs/s message"},
    {"publish_qos", HS_CFG_INT, "1", offsetof(writer_cfg, publish_qos), false,
     "QoS of hs/s and hs/committed messages"},
    {"job_parts_max_bytes", HS_CFG_SIZE, "256M", offsetof(writer_cfg, core.job_parts_max_bytes),
     false, "memory for job outputs whose parts have not all arrived"},
    {"job_parts_ttl", HS_CFG_DURATION, "10m", offsetof(writer_cfg, core.job_parts_ttl_us), false,
     "incomplete job outputs are dropped after this"},
    {"change_ring_max", HS_CFG_INT, "262144", offsetof(writer_cfg, core.change_ring_max), false,
     "recent changes of read streams remembered for jobs in flight (late data)"},
    {"retention", HS_CFG_STR, NULL, offsetof(writer_cfg, retention), false,
     "how long streams keep data: 'PATTERN KEEP; ...', e.g. 'temperature/# 30d' (none: forever)"},
    {"history_max", HS_CFG_INT, "100000", offsetof(writer_cfg, history_max), false,
     "job history records (and closed sessions) kept per workflow, the newest (0: no limit)"},
    {"history_keep", HS_CFG_DURATION, "7d", offsetof(writer_cfg, history_keep_us), false,
     "job history records and closed sessions older than this are deleted (0s: kept for ever)"},
    {"retention_every", HS_CFG_DURATION, "5m", offsetof(writer_cfg, retention_every_us), false,
     "how often retention and history_keep are applied"},
    {"retention_max_instances", HS_CFG_INT, "50000", offsetof(writer_cfg, retention_max_instances),
     false,
     "most instances (and history records, and sessions) one retention pass deletes; more follow "
     "a second later"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

struct writer {
    hs_service *svc;              /* borrowed */
    const writer_cfg *cfg;        /* borrowed */
    hs_log *log;                  /* borrowed from svc */
    hs_mqtt *mqtt;                /* borrowed from svc */
    hs_store *store;              /* owned */
    wcore *core;                  /* owned; borrows store */
    bool committed_since_release; /* a commit since the caches were last released */
    uint64_t wseq_published;      /* the commit last announced on wseq */
    int64_t wseq_published_mono;  /* when */
    hs_retain retention;          /* owned rules parsed from cfg->retention */
    int64_t retain_next_mono;     /* when the next retention pass is due */
    hs_buf topic;
};

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

/*
 * Publishes what the core has produced: dead letters, committed data,
 * acknowledgements and job notices.
 */
static void w_publish_results(writer *w)
{
    int qos = (int)w->cfg->publish_qos;
    wcore_out o;
    while (wcore_next(w->core, &o)) {
        if (o.kind == WCORE_OUT_DEAD) {
            hs_service_dead_letter_as(w->svc, o.reason, o.topic, o.stream, HS_PAYLOAD_MSGPACK,
                                      o.payload, o.len);
            continue;
        }
        if (o.kind == WCORE_OUT_MON) {
            /* The writer's one event, late_ignored, is a warning: data reopened nothing. */
            hs_service_mon_at(w->svc, HS_MON_WARN, NULL, o.topic, "%s", o.reason);
            continue;
        }
        hs_service_topic(w->svc, &w->topic, "%s", o.topic);
        w_publish(w, hs_buf_cstr(&w->topic), o.payload, o.len, o.kind == WCORE_OUT_DATA ? qos : 1);
    }
}

static void w_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The core's wait before it retries a transiently failed commit. */
static bool w_retry_wait(void *ud, int delay_ms)
{
    writer *w = ud;
    w_sleep_ms(delay_ms);
    return hs_service_running(w->svc);
}

static void w_batch_add(writer *w, hs_mqtt_msg *msg)
{
    int rc = wcore_add(w->core, msg->topic, msg->payload, msg->len);
    if (rc != HS_OK)
        hs_error(w->log, "out of memory taking a write request from %s", msg->topic);
    hs_mqtt_msg_free(msg);
    /* Requests that could not be read are dead letters at once. */
    w_publish_results(w);
}

/* How often at most the newest commit is announced on wseq. */
#define W_WSEQ_EVERY_US 50000

/*
 * Announces the newest commit on <prefix>/wseq (retained): the scheduler
 * puts it into the jobs it dispatches, so that the commit of a job tells
 * which changes its reads may have missed. At most every 50 ms, and at
 * once when force (start, idle).
 */
static void w_publish_wseq(writer *w, bool force)
{
    uint64_t epoch, seq;
    wcore_wseq(w->core, &epoch, &seq);
    int64_t now = hs_time_mono_us();
    if (w->wseq_published_mono != 0 &&
        (seq == w->wseq_published || (!force && now - w->wseq_published_mono < W_WSEQ_EVERY_US)))
        return;
    hs_buf p;
    hs_buf_init(&p, 0);
    if (hs_proto_wseq_encode(&p, (hs_proto_wseq){epoch, seq}) == HS_OK) {
        hs_service_topic(w->svc, &w->topic, "wseq");
        int rc = hs_mqtt_publish(w->mqtt, hs_buf_cstr(&w->topic), p.data, p.len, 1, true, 30000);
        if (rc == HS_OK) {
            w->wseq_published = seq;
            w->wseq_published_mono = now;
        }
    }
    hs_buf_free(&p);
}

/* Commits the collected batch (wcore_commit) and publishes what it produced. */
static int w_commit_batch(writer *w)
{
    int rc = wcore_commit(w->core);
    w_publish_results(w);
    w_publish_wseq(w, false);
    return rc;
}

/*
 * Runs a retention pass when one is due (retention rules or history_keep
 * set): at most every retention_every, or a second after a pass that ran
 * out of budget, so that the purge of a long backlog is spread over many
 * short transactions between batches.
 */
static void w_retain(writer *w)
{
    if (w->retention.n == 0 && w->cfg->history_keep_us <= 0 && w->cfg->history_max <= 0)
        return;
    int64_t now = hs_time_mono_us();
    if (now < w->retain_next_mono)
        return;
    wcore_retain_result res;
    int rc = wcore_retain(w->core, &w->retention, w->cfg->history_keep_us, w->cfg->history_max,
                          hs_time_now_us(), w->cfg->retention_max_instances, &res);
    if (rc != HS_OK) {
        char msg[600];
        hs_error(w->log, "retention pass failed (tried again later): %s",
                 hs_err_describe(rc, msg, sizeof msg));
        hs_service_counters_get(w->svc)->errors++;
    } else if (res.instances > 0 || res.history > 0 || res.sessions > 0) {
        hs_info(w->log,
                "retention: purged %llu instances of %llu streams, %llu history records, %llu "
                "closed sessions%s",
                (unsigned long long)res.instances, (unsigned long long)res.streams,
                (unsigned long long)res.history, (unsigned long long)res.sessions,
                res.more ? " (more to do)" : "");
    }
    w_publish_results(w);
    int64_t every = w->cfg->retention_every_us > 0 ? w->cfg->retention_every_us : 1000000;
    w->retain_next_mono = now + (rc == HS_OK && res.more ? 1000000 : every);
}

int writer_run(writer *w)
{
    hs_info(w->log, "writer ready on %s (store %s)", w->cfg->common.broker_url,
            hs_store_backend(w->store));
    w_publish_wseq(w, true);
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
        int rc = hs_mqtt_recv(w->mqtt, &msg, 50);
        hs_service_tick(w->svc);
        if (rc == HS_ERR_TIMEOUT) {
            w_retain(w);
            w_publish_wseq(w, true);
            wcore_expire_jobs(w->core, hs_time_mono_us());
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
        int64_t deadline = hs_time_mono_us() + w->cfg->batch_max_delay_us;
        while (!wcore_batch_full(w->core)) {
            int64_t left = deadline - hs_time_mono_us();
            if (left <= 0)
                break;
            rc = hs_mqtt_recv(w->mqtt, &msg, (int)((left + 999) / 1000));
            if (rc != HS_OK)
                break;
            w_batch_add(w, msg);
        }
        hs_service_counters_get(w->svc)->backlog = 0;
        rc = w_commit_batch(w);
        w->committed_since_release = true;
        /* Under a steady load the receive never times out: passes also run between batches. */
        if (rc == HS_OK)
            w_retain(w);
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
    hs_buf_init(&w->topic, 0);
    hs_retain_init(&w->retention);
    int rc = hs_retain_parse(cfg->retention, strlen(cfg->retention), &w->retention);
    if (rc != HS_OK) {
        hs_error(w->log, "setting retention: %s", hs_err_detail());
        writer_destroy(w);
        return HS_ERR_CONFIG;
    }
    rc = hs_store_open(&w->store, cfg->common.store_url, HS_STORE_WRITE);
    if (rc != HS_OK) {
        char msg[600];
        hs_error(w->log, "cannot open the store %s: %s", cfg->common.store_url,
                 hs_err_describe(rc, msg, sizeof msg));
        writer_destroy(w);
        return rc;
    }
    rc = wcore_create(&w->core, w->store, &cfg->core, w->log, hs_service_counters_get(svc));
    if (rc != HS_OK) {
        writer_destroy(w);
        return rc;
    }
    wcore_set_wait(w->core, w_retry_wait, w);
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
    wcore_destroy(w->core);
    hs_store_close(w->store);
    hs_retain_free(&w->retention);
    hs_buf_free(&w->topic);
    hs_free(w);
}
