/*
 * Tests of the service runtime's parts without a broker: the latency
 * histogram and the metrics renderings (hs_metrics), the control channel's
 * requests and replies (hs_ctl), the common settings table and the service
 * lifecycle as far as it runs unconnected (hs_service).
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_config.h"
#include "hs_ctl.h"
#include "hs_error.h"
#include "hs_log.h"
#include "hs_metrics.h"
#include "hs_service.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ histogram */

/* The lower bound of bucket b >= 4, from the definition in hs_metrics.h. */
static int64_t bucket_low(unsigned b)
{
    unsigned k = b / 4 + 1, s = b % 4;
    return ((int64_t)1 << k) + (int64_t)s * ((int64_t)1 << (k - 2));
}

static void test_bucket_boundaries(void)
{
    CU_ASSERT_EQUAL(hs_metrics_bucket(-5), 0);
    for (int64_t us = 0; us < 4; us++)
        CU_ASSERT_EQUAL(hs_metrics_bucket(us), (unsigned)us);
    /* A few by hand: 4..7 one value each, then two per bucket, then four... */
    CU_ASSERT_EQUAL(hs_metrics_bucket(4), 4);
    CU_ASSERT_EQUAL(hs_metrics_bucket(7), 7);
    CU_ASSERT_EQUAL(hs_metrics_bucket(8), 8);
    CU_ASSERT_EQUAL(hs_metrics_bucket(9), 8);
    CU_ASSERT_EQUAL(hs_metrics_bucket(10), 9);
    CU_ASSERT_EQUAL(hs_metrics_bucket(15), 11);
    CU_ASSERT_EQUAL(hs_metrics_bucket(16), 12);
    CU_ASSERT_EQUAL(hs_metrics_bucket(1000), 35); /* 512 * 1.75 = 896 <= 1000 < 1024 */
    CU_ASSERT_EQUAL(hs_metrics_bucket(1024), 36);
    /* Every bucket from 5 up starts exactly at its lower bound. */
    for (unsigned b = 5; b < 4 * 62; b++) {
        int64_t lo = bucket_low(b);
        CU_ASSERT_EQUAL(hs_metrics_bucket(lo), b);
        CU_ASSERT_EQUAL(hs_metrics_bucket(lo - 1), b - 1);
    }
    CU_ASSERT_EQUAL(hs_metrics_bucket(INT64_MAX), 4 * 61 + 3);
}

static void test_bucket_values(void)
{
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_bucket_mid_us(0), 0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_bucket_mid_us(3), 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_bucket_mid_us(4), 4.5, 1e-12);  /* [4, 5) */
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_bucket_mid_us(8), 9, 1e-12);    /* [8, 10) */
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_bucket_mid_us(11), 15, 1e-12);  /* [14, 16) */
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_bucket_mid_us(35), 960, 1e-12); /* [896, 1024) */
    /* The value of each bucket lies inside it. */
    for (unsigned b = 4; b < 4 * 61 + 3; b++) {
        double v = hs_metrics_bucket_mid_us(b);
        CU_ASSERT((double)bucket_low(b) < v && v < (double)bucket_low(b + 1));
    }
}

static void test_quantiles(void)
{
    uint64_t c[HS_METRICS_BUCKETS];
    memset(c, 0, sizeof c);
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_quantile_us(c, HS_METRICS_BUCKETS, 0.5), 0, 1e-12);
    /* 100 observations: 50 in bucket 8, 45 in bucket 12, 5 in bucket 35. */
    c[8] = 50;
    c[12] = 45;
    c[35] = 5;
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_quantile_us(c, HS_METRICS_BUCKETS, 0.5), 9, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_quantile_us(c, HS_METRICS_BUCKETS, 0.51), 18, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_quantile_us(c, HS_METRICS_BUCKETS, 0.95), 18, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_quantile_us(c, HS_METRICS_BUCKETS, 0.96), 960, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_quantile_us(c, HS_METRICS_BUCKETS, 0.99), 960, 1e-12);
    /* A tiny quantile still needs one observation: the first non-empty bucket. */
    CU_ASSERT_DOUBLE_EQUAL(hs_metrics_quantile_us(c, HS_METRICS_BUCKETS, 0.001), 9, 1e-12);
}

static void test_metrics_window(void)
{
    hs_metrics *m;
    CU_ASSERT_EQUAL_FATAL(hs_metrics_create(&m, "tool", "t1", hs_time_now_us(), NULL, NULL), HS_OK);
    hs_buf j;
    hs_buf_init(&j, 0);
    CU_ASSERT_EQUAL(hs_metrics_json(m, &j), HS_OK);
    CU_ASSERT_EQUAL(j.len, 0); /* nothing before the first update */
    for (int i = 0; i < 98; i++)
        hs_metrics_observe_us(m, 1000); /* bucket 35: 0.960 ms */
    hs_metrics_observe_us(m, 8);        /* bucket 8 */
    hs_metrics_observe_us(m, 100000);   /* 65536 * 1.5 = 98304 <= 100000: [98304, 114688) */
    hs_metrics_counters_get(m)->msgs_in += 7;
    CU_ASSERT_EQUAL(hs_metrics_update(m), HS_OK);
    CU_ASSERT_EQUAL(hs_metrics_json(m, &j), HS_OK);
    const char *s = hs_buf_cstr(&j);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"latency_ms\":{\"p50\":0.960,\"p95\":0.960,\"p99\":0.960,"
                                     "\"count\":100}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"msgs_in\":7,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "{\"id\":\"t1\",\"service\":\"tool\","));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"state\":\"online\""));
    hs_metrics_snapshot snap;
    hs_metrics_snapshot_now(m, &snap);
    CU_ASSERT_EQUAL(snap.lat_count, 100);
    CU_ASSERT_EQUAL(snap.lat_sum_us, 98 * 1000 + 8 + 100000);
    CU_ASSERT_EQUAL(snap.window_count, 100);
    CU_ASSERT(snap.rss_kb > 0);
    /* The next interval starts empty; the totals stay. */
    CU_ASSERT_EQUAL(hs_metrics_update(m), HS_OK);
    hs_buf_reset(&j);
    CU_ASSERT_EQUAL(hs_metrics_json(m, &j), HS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&j), "\"latency_ms\":{\"p50\":0.000,\"p95\":0.000,"
                                                   "\"p99\":0.000,\"count\":0}"));
    hs_metrics_snapshot_now(m, &snap);
    CU_ASSERT_EQUAL(snap.lat_count, 100);
    hs_buf_free(&j);
    hs_metrics_destroy(m);
    hs_metrics_destroy(NULL);
}

/* ------------------------------------------------------------------ renderings */

static void known_snapshot(hs_metrics_snapshot *s, const char *id)
{
    memset(s, 0, sizeof *s);
    s->kind = "writer";
    s->id = id;
    s->version = "9.8.7";
    s->t_us = 1700000000000000;
    s->uptime_s = 12.5;
    s->msgs_in = 10;
    s->msgs_out = 20;
    s->instances_in = 30;
    s->instances_out = 40;
    s->errors = 1;
    s->dead_lettered = 2;
    s->backlog = 3;
    s->late_reopened = 7;
    s->late_ignored = 8;
    s->purged = 9;
    s->schema_rejected = 10;
    s->msgs_in_per_s = 1;
    s->msgs_out_per_s = 2;
    s->instances_in_per_s = 3.5;
    s->instances_out_per_s = 4;
    s->p50_ms = 1.5;
    s->p95_ms = 2;
    s->p99_ms = 4;
    s->window_count = 6;
    s->lat_count = 7;
    s->lat_sum_us = 2500000;
    s->rx_queued = 5;
    s->inflight = 6;
    s->reconnects = 1;
    s->rss_kb = 1000;
    s->cpu_s = 1.25;
}

static void test_render_json(void)
{
    hs_metrics_snapshot s;
    known_snapshot(&s, "w1");
    s.paused = true;
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_metrics_render_json(&s, &b), HS_OK);
    CU_ASSERT_STRING_EQUAL(
        hs_buf_cstr(&b),
        "{\"id\":\"w1\",\"service\":\"writer\",\"version\":\"9.8.7\",\"t\":1700000000000000,"
        "\"uptime_s\":12.5,\"state\":\"paused\",\"msgs_in\":10,\"msgs_out\":20,"
        "\"instances_in\":30,\"instances_out\":40,\"msgs_in_per_s\":1.0,\"msgs_out_per_s\":2.0,"
        "\"instances_in_per_s\":3.5,\"instances_out_per_s\":4.0,\"errors\":1,"
        "\"dead_lettered\":2,\"backlog\":3,\"late_reopened\":7,\"late_ignored\":8,"
        "\"purged\":9,"
        "\"schema_rejected\":10,"
        "\"latency_ms\":{\"p50\":1.500,\"p95\":2.000,"
        "\"p99\":4.000,\"count\":6},\"rx_queued\":5,\"inflight\":6,\"reconnects\":1,"
        "\"rss_kb\":1000,\"cpu_s\":1.250}");
    hs_buf_free(&b);
}

static void test_render_prom(void)
{
    hs_metrics_snapshot s;
    known_snapshot(&s, "w1");
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_metrics_render_prom(&s, &b), HS_OK);
#define L "{service=\"writer\",id=\"w1\"}"
#define M(name, type, help, value)                                                                 \
    "# HELP " name " " help ".\n# TYPE " name " " type "\n" name L " " value "\n"
    static const char expected[] = M("hs_up", "gauge", "1 while the service runs", "1")
        M("hs_paused", "gauge", "1 while the service is paused",
          "0") M("hs_messages_in_total", "counter", "Messages received",
                 "10") M("hs_messages_out_total", "counter", "Messages sent",
                         "20") M("hs_instances_in_total", "counter", "Instances received", "30")
            M("hs_instances_out_total", "counter", "Instances sent or stored",
              "40") M("hs_errors_total", "counter", "Errors", "1")
                M("hs_dead_lettered_total", "counter", "Inputs rejected to the dead-letter topic",
                  "2") M("hs_backlog", "gauge", "Work waiting", "3")
                    M("hs_late_reopened_total", "counter",
                      "Calculated intervals reopened by late data or invalidation",
                      "7") M("hs_late_ignored_total", "counter",
                             "Instances older than max_lateness: stored, reopening nothing", "8")
                        M("hs_purged_total", "counter", "Instances deleted by purges and retention",
                          "9") M("hs_schema_rejected_total", "counter",
                                 "Readings that failed an input schema: dead-lettered, not stored",
                                 "10")
                            M("hs_resident_memory_bytes", "gauge", "Resident set size", "1024000")
                                M("hs_cpu_seconds_total", "counter", "CPU time used", "1.25")
                                    M("hs_uptime_seconds", "gauge", "Seconds since the start",
                                      "12.5") "# HELP hs_latency_seconds Latency of the service's "
                                              "unit of work (quantiles "
                                              "over the "
                                              "last metrics interval).\n"
                                              "# TYPE hs_latency_seconds summary\n"
                                              "hs_latency_seconds{service=\"writer\",id=\"w1\","
                                              "quantile=\"0.5\"} 0.0015\n"
                                              "hs_latency_seconds{service=\"writer\",id=\"w1\","
                                              "quantile=\"0.95\"} 0.002\n"
                                              "hs_latency_seconds{service=\"writer\",id=\"w1\","
                                              "quantile=\"0.99\"} 0.004\n"
                                              "hs_latency_seconds_sum" L " 2.5\n"
                                              "hs_latency_seconds_count" L " 7\n"
                                              "# HELP hs_instances_in_per_second Instances "
                                              "received per second over the "
                                              "last "
                                              "metrics interval.\n"
                                              "# TYPE hs_instances_in_per_second gauge\n"
                                              "hs_instances_in_per_second" L " 3.5\n";
#undef M
#undef L
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), expected);
    hs_buf_free(&b);
}

static void test_render_prom_escapes_labels(void)
{
    hs_metrics_snapshot s;
    known_snapshot(&s, "a\"b\\c\nd");
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_metrics_render_prom(&s, &b), HS_OK);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(hs_buf_cstr(&b), "\nhs_up{service=\"writer\",id=\"a\\\"b\\\\c\\nd\"} 1\n"));
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ control channel */

typedef struct ctl_fixture {
    hs_service_cfg cfg;
    hs_ctl *ctl;
    atomic_bool stopped;
    atomic_bool applier_run;
    pthread_t applier;
} ctl_fixture;

static int fx_stats(void *ctx, hs_buf *out)
{
    (void)ctx;
    return hs_buf_puts(out, "{\"x\":1}");
}

static int fx_status(void *ctx, const char *state, hs_buf *out)
{
    (void)ctx;
    return hs_buf_printf(out, "{\"state\":\"%s\"}", state);
}

static void fx_stop(void *ctx)
{
    ctl_fixture *fx = ctx;
    atomic_store(&fx->stopped, true);
}

/* Plays the service thread: applies pending `set`s until told to stop. */
static void *fx_applier(void *arg)
{
    ctl_fixture *fx = arg;
    while (atomic_load(&fx->applier_run)) {
        hs_ctl_apply_pending(fx->ctl);
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void fx_open(ctl_fixture *fx, bool applier)
{
    memset(fx, 0, sizeof *fx);
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(hs_service_cfg_table, &fx->cfg), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_config_set(hs_service_cfg_table, &fx->cfg, "mqtt_password", "pw"),
                          HS_OK);
    hs_ctl_opts o;
    memset(&o, 0, sizeof o);
    o.kind = "writer";
    o.id = "w1";
    o.started_us = hs_time_now_us();
    o.table = hs_service_cfg_table;
    o.cfg = &fx->cfg;
    o.hooks.ctx = fx;
    o.hooks.stats = fx_stats;
    o.hooks.status = fx_status;
    o.hooks.stop = fx_stop;
    o.set_timeout_us = 200 * 1000;
    o.drain_timeout_us = 100 * 1000;
    CU_ASSERT_EQUAL_FATAL(hs_ctl_create(&fx->ctl, &o), HS_OK);
    if (applier) {
        atomic_store(&fx->applier_run, true);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&fx->applier, NULL, fx_applier, fx), 0);
    }
}

static void fx_close(ctl_fixture *fx)
{
    if (atomic_load(&fx->applier_run)) {
        atomic_store(&fx->applier_run, false);
        pthread_join(fx->applier, NULL);
    }
    hs_ctl_destroy(fx->ctl);
    hs_config_free(hs_service_cfg_table, &fx->cfg);
}

/* True when s starts with prefix. */
static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The reply to a request, in a static buffer. */
static const char *ask(ctl_fixture *fx, const char *request)
{
    static char text[4096];
    hs_buf reply;
    hs_buf_init(&reply, 0);
    int rc = hs_ctl_execute(fx->ctl, request, strlen(request), &reply);
    CU_ASSERT_EQUAL(rc, HS_OK);
    snprintf(text, sizeof text, "%s", rc == HS_OK ? hs_buf_cstr(&reply) : "");
    hs_buf_free(&reply);
    return text;
}

static void test_ctl_request_read(void)
{
    hs_ctl_request q;
    hs_buf reply;
    hs_buf_init(&reply, 0);
    const char *r1 = "{\"cmd\":\"set\",\"name\":\"batch_max\",\"value\":\"64k\"}";
    CU_ASSERT_EQUAL(hs_ctl_request_read(r1, strlen(r1), &q, &reply), HS_OK);
    CU_ASSERT_STRING_EQUAL(q.cmd, "set");
    CU_ASSERT_STRING_EQUAL(q.name, "batch_max");
    CU_ASSERT_STRING_EQUAL(q.value, "64k");
    CU_ASSERT_EQUAL(reply.len, 0);
    /* A value that is not a string is kept as its JSON text. */
    const char *r2 = "{\"cmd\":\"set\",\"value\":[1,true]}";
    CU_ASSERT_EQUAL(hs_ctl_request_read(r2, strlen(r2), &q, &reply), HS_OK);
    CU_ASSERT_STRING_EQUAL(q.name, "");
    CU_ASSERT_STRING_EQUAL(q.value, "[1,true]");
    const char *r3 = "{}";
    CU_ASSERT_EQUAL(hs_ctl_request_read(r3, strlen(r3), &q, &reply), HS_OK);
    CU_ASSERT_STRING_EQUAL(q.cmd, "");

    const char *bad[] = {
        "ping", "[\"ping\"]", "{\"cmd\":\"pi ng\"}", "{\"cmd\":\"ping\"",
        "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9}"};
    const char *why[] = {"control requests are JSON objects", "control requests are JSON objects",
                         "are made of letters, digits", "control requests are JSON objects",
                         "of at most 8 members"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hs_buf_reset(&reply);
        CU_ASSERT_EQUAL(hs_ctl_request_read(bad[i], strlen(bad[i]), &q, &reply), HS_ERR_PARSE);
        CU_ASSERT(starts_with(hs_buf_cstr(&reply), "{\"ok\":false,\"error\":\""));
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&reply), why[i]));
    }
    char big[700];
    snprintf(big, sizeof big, "{\"cmd\":\"set\",\"value\":\"%0600d\"}", 0);
    hs_buf_reset(&reply);
    CU_ASSERT_EQUAL(hs_ctl_request_read(big, strlen(big), &q, &reply), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&reply), "{\"ok\":false,\"error\":\"value is longer than "
                                                "511 bytes or holds a NUL byte\"}");
    hs_buf_free(&reply);
}

static void test_ctl_refusals(void)
{
    ctl_fixture fx;
    fx_open(&fx, false);
    CU_ASSERT_STRING_EQUAL(ask(&fx, "not json"),
                           "{\"ok\":false,\"error\":\"control requests are JSON objects "
                           "{\\\"cmd\\\": ...} of at most 8 members\"}");
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"reboot\"}"),
                           "{\"ok\":false,\"error\":\"unknown command 'reboot' (ping, stats, get, "
                           "set, pause, resume, drain, shutdown)\"}");
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"name\":\"x\"}"),
                           "{\"ok\":false,\"error\":\"unknown command '' (ping, stats, get, "
                           "set, pause, resume, drain, shutdown)\"}");
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"get\",\"name\":\"nosuch\"}"),
                           "{\"ok\":false,\"error\":\"no setting 'nosuch'\"}");
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"set\",\"name\":\"prefix\",\"value\":\"x\"}"),
                           "{\"ok\":false,\"error\":\"setting 'prefix' cannot be changed while "
                           "writer runs (settable: log_level metrics_interval)\"}");
    CU_ASSERT_STRING_EQUAL(fx.cfg.prefix, "hs");
    /* Nobody applies the set: it times out and changes nothing. */
    CU_ASSERT_STRING_EQUAL(
        ask(&fx, "{\"cmd\":\"set\",\"name\":\"log_level\",\"value\":\"debug\"}"),
        "{\"ok\":false,\"error\":\"the service did not apply the setting within 0.2 s\"}");
    CU_ASSERT_STRING_EQUAL(fx.cfg.log_level, "info");
    fx_close(&fx);
}

static void test_ctl_ping_stats_get(void)
{
    ctl_fixture fx;
    fx_open(&fx, false);
    const char *r = ask(&fx, "{\"cmd\":\"ping\"}");
    CU_ASSERT(starts_with(r, "{\"ok\":true,\"id\":\"w1\",\"service\":\"writer\",\"version\":\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r, ",\"state\":\"online\"}"));
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"stats\"}"), "{\"ok\":true,\"stats\":{\"x\":1}}");
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"get\",\"name\":\"metrics_interval\"}"),
                           "{\"ok\":true,\"settings\":{\"metrics_interval\":\"5s\"},"
                           "\"settable\":[\"log_level\",\"metrics_interval\"]}");
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"get\",\"name\":\"mqtt_password\"}"),
                           "{\"ok\":true,\"settings\":{\"mqtt_password\":\"***\"},"
                           "\"settable\":[\"log_level\",\"metrics_interval\"]}");
    r = ask(&fx, "{\"cmd\":\"get\"}");
    CU_ASSERT(starts_with(r, "{\"ok\":true,\"settings\":{\"service_id\":\"\",\"broker_url\":"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r, ",\"connect_timeout\":\"0s\"},\"settable\":["));
    CU_ASSERT_PTR_NULL(strstr(r, "pw"));
    CU_ASSERT_EQUAL(hs_ctl_allow_set(fx.ctl, "prefix"), HS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(ask(&fx, "{\"cmd\":\"get\",\"name\":\"prefix\"}"),
                                  "\"settable\":[\"log_level\",\"metrics_interval\",\"prefix\"]"));
    fx_close(&fx);
}

static void test_ctl_set(void)
{
    ctl_fixture fx;
    fx_open(&fx, true);
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"set\",\"name\":\"log_level\",\"value\":\"debug\"}"),
                           "{\"ok\":true,\"name\":\"log_level\",\"value\":\"debug\"}");
    CU_ASSERT_STRING_EQUAL(fx.cfg.log_level, "debug");
    CU_ASSERT_STRING_EQUAL(
        ask(&fx, "{\"cmd\":\"set\",\"name\":\"log_level\",\"value\":\"loud\"}"),
        "{\"ok\":false,\"error\":\"'loud' is not a log level (debug, info, warn, error, mon, "
        "off)\"}");
    CU_ASSERT_STRING_EQUAL(fx.cfg.log_level, "debug");
    CU_ASSERT_STRING_EQUAL(
        ask(&fx, "{\"cmd\":\"set\",\"name\":\"metrics_interval\",\"value\":\"250ms\"}"),
        "{\"ok\":true,\"name\":\"metrics_interval\",\"value\":\"250ms\"}");
    CU_ASSERT_EQUAL(fx.cfg.metrics_interval_us, 250 * 1000);
    CU_ASSERT_STRING_EQUAL(
        ask(&fx, "{\"cmd\":\"set\",\"name\":\"metrics_interval\",\"value\":\"0s\"}"),
        "{\"ok\":false,\"error\":\"metrics_interval must be positive\"}");
    CU_ASSERT_EQUAL(fx.cfg.metrics_interval_us, 250 * 1000);
    CU_ASSERT_STRING_EQUAL(
        ask(&fx, "{\"cmd\":\"set\",\"name\":\"metrics_interval\",\"value\":\"soon\"}"),
        "{\"ok\":false,\"error\":\"setting 'metrics_interval': 'soon' is not a duration (e.g. "
        "250ms, 5s, 1h30m)\"}");
    fx_close(&fx);
}

static void test_ctl_pause_resume_shutdown(void)
{
    ctl_fixture fx;
    fx_open(&fx, false);
    CU_ASSERT_FALSE(hs_ctl_paused(fx.ctl));
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"pause\"}"), "{\"ok\":true,\"state\":\"paused\"}");
    CU_ASSERT_TRUE(hs_ctl_paused(fx.ctl));
    CU_ASSERT_TRUE(hs_ctl_status_paused(fx.ctl));
    CU_ASSERT_PTR_NOT_NULL(strstr(ask(&fx, "{\"cmd\":\"ping\"}"), "\"state\":\"paused\"}"));
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"resume\"}"), "{\"ok\":true,\"state\":\"online\"}");
    CU_ASSERT_FALSE(hs_ctl_paused(fx.ctl));
    /* The status says "paused" until the service announced "online" again. */
    CU_ASSERT_TRUE(hs_ctl_status_paused(fx.ctl));
    hs_ctl_status_shown_online(fx.ctl);
    CU_ASSERT_FALSE(hs_ctl_status_paused(fx.ctl));
    CU_ASSERT_FALSE(atomic_load(&fx.stopped));
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"shutdown\"}"),
                           "{\"ok\":true,\"state\":\"stopping\"}");
    CU_ASSERT_TRUE(atomic_load(&fx.stopped));
    fx_close(&fx);
}

/* Reports the fixture idle after 30 ms, as a service finishing its work would. */
static void *fx_goes_idle(void *arg)
{
    ctl_fixture *fx = arg;
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    hs_ctl_set_idle(fx->ctl, true);
    return NULL;
}

static void test_ctl_drain(void)
{
    ctl_fixture fx;
    fx_open(&fx, false);
    /* Nothing reports idle within the 100 ms the fixture allows. */
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"drain\"}"),
                           "{\"ok\":false,\"state\":\"draining\",\"error\":\"work still in "
                           "flight after 0.1 s; it stays paused\"}");
    CU_ASSERT_TRUE(hs_ctl_paused(fx.ctl));
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, fx_goes_idle, &fx), 0);
    CU_ASSERT_STRING_EQUAL(ask(&fx, "{\"cmd\":\"drain\"}"), "{\"ok\":true,\"state\":\"drained\"}");
    pthread_join(t, NULL);
    fx_close(&fx);
}

/* A loopback port that was free a moment ago (0 when none could be had). */
static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    uint16_t port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Sends request to addr:port (IPv4) and reads the whole answer into out; -1 when it cannot. */
static int http_ask_at(const char *addr, uint16_t port, const char *request, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    if (rc == 0 && write(fd, request, strlen(request)) != (ssize_t)strlen(request))
        rc = -1;
    while (rc == 0 && got + 1 < cap) {
        ssize_t n = read(fd, out + got, cap - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    out[got] = '\0';
    close(fd);
    return rc;
}

/* http_ask_at 127.0.0.1. */
static int http_ask(uint16_t port, const char *request, char *out, size_t cap)
{
    return http_ask_at("127.0.0.1", port, request, out, cap);
}

static void test_metrics_http(void)
{
    hs_metrics *m;
    CU_ASSERT_EQUAL_FATAL(hs_metrics_create(&m, "tool", "t1", hs_time_now_us(), NULL, NULL), HS_OK);
    hs_metrics_counters_get(m)->errors += 4;
    uint16_t port = free_port();
    CU_ASSERT_FATAL(port != 0);
    CU_ASSERT_EQUAL(hs_metrics_http_start(m, "localhost", port), HS_ERR_INVAL); /* not an address */
    CU_ASSERT_EQUAL_FATAL(hs_metrics_http_start(m, "127.0.0.1", port), HS_OK);
    CU_ASSERT_EQUAL(hs_metrics_http_start(m, "127.0.0.1", port), HS_ERR_STATE);
    static char answer[16384];
    CU_ASSERT_EQUAL(http_ask(port, "GET /metrics HTTP/1.0\r\n\r\n", answer, sizeof answer), 0);
    CU_ASSERT(starts_with(answer, "HTTP/1.0 200 OK\r\n") ||
              starts_with(answer, "HTTP/1.1 200 OK\r\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(answer, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(answer, "\r\n\r\n# HELP hs_up 1 while the service runs.\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(answer, "\nhs_errors_total{service=\"tool\",id=\"t1\"} 4\n"));
    CU_ASSERT_EQUAL(http_ask(port, "GET /other HTTP/1.0\r\n\r\n", answer, sizeof answer), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(answer, " 404 "));
    CU_ASSERT_EQUAL(http_ask(port, "POST /metrics HTTP/1.0\r\n\r\n", answer, sizeof answer), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(answer, " 405 "));
    /* Bound to 127.0.0.1 only: another address of this host is not served. */
    CU_ASSERT_EQUAL(
        http_ask_at("127.0.0.2", port, "GET /metrics HTTP/1.0\r\n\r\n", answer, sizeof answer), -1);
    hs_metrics_destroy(m);
    /* Bound to every address: served there too. */
    CU_ASSERT_EQUAL_FATAL(hs_metrics_create(&m, "tool", "t1", hs_time_now_us(), NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_metrics_http_start(m, "0.0.0.0", port), HS_OK);
    CU_ASSERT_EQUAL(
        http_ask_at("127.0.0.2", port, "GET /metrics HTTP/1.0\r\n\r\n", answer, sizeof answer), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(answer, " 200 OK\r\n"));
    hs_metrics_destroy(m);
}

/* ------------------------------------------------------------------ settings */

typedef struct svc_test_cfg {
    hs_service_cfg common;
    int64_t batch;
    char *label;
} svc_test_cfg;

static const hs_cfg_item svc_test_table[] = {
    {"batch", HS_CFG_INT, "16", offsetof(svc_test_cfg, batch), false, "a batch size"},
    {"label", HS_CFG_STR, "x", offsetof(svc_test_cfg, label), false, "a label"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

static void test_common_table(void)
{
    /* The names, in order, that every service's --help lists first. */
    static const char *const names[] = {
        "service_id",    "broker_url",   "store_url",     "prefix",           "log_level",
        "plugin_dir",    "log_file",     "log_max_bytes", "log_keep",         "mqtt_username",
        "mqtt_password", "mqtt_ca_file", "writer_id",     "metrics_interval", "metrics_port",
        "metrics_bind",  "mon_topic",    "mon_format",    "mon_level",        "connect_timeout"};
    size_t n = 0;
    while (hs_service_cfg_table[n].name != NULL)
        n++;
    CU_ASSERT_EQUAL_FATAL(n, sizeof names / sizeof names[0]);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_STRING_EQUAL(hs_service_cfg_table[i].name, names[i]);
        CU_ASSERT_EQUAL(hs_service_cfg_table[i].secret, strcmp(names[i], "mqtt_password") == 0);
    }
}

static void test_join_defaults_and_layers(void)
{
    hs_cfg_item *t;
    CU_ASSERT_EQUAL_FATAL(hs_config_join(&t, hs_service_cfg_table, 0, svc_test_table), HS_OK);
    svc_test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(t, &c), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.common.broker_url, "tcp://127.0.0.1:1883");
    CU_ASSERT_STRING_EQUAL(c.common.store_url, "sqlite://./hs-data/hs.db");
    CU_ASSERT_STRING_EQUAL(c.common.prefix, "hs");
    CU_ASSERT_STRING_EQUAL(c.common.log_level, "info");
    CU_ASSERT_STRING_EQUAL(c.common.service_id, "");
    CU_ASSERT_STRING_EQUAL(c.common.mqtt_password, "");
    CU_ASSERT_STRING_EQUAL(c.common.writer_id, "writer");
    CU_ASSERT_STRING_EQUAL(c.common.mon_topic, "");
    CU_ASSERT_STRING_EQUAL(c.common.mon_format, "senml");
    CU_ASSERT_EQUAL(c.common.metrics_interval_us, 5 * HS_US_PER_S);
    CU_ASSERT_EQUAL(c.common.metrics_port, 0);
    CU_ASSERT_EQUAL(c.common.connect_timeout_us, 0);
    CU_ASSERT_EQUAL(c.batch, 16);
    CU_ASSERT_STRING_EQUAL(c.label, "x");

    const char *file = "prefix = site\nbatch = 32\n";
    CU_ASSERT_EQUAL(hs_config_load_text(t, &c, file, strlen(file), "f"), HS_OK);
    char *env[] = {"HS_BATCH=64", "HS_METRICS_INTERVAL=1s", NULL};
    CU_ASSERT_EQUAL(hs_config_load_env(t, &c, env), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set_pair(t, &c, "label=y"), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.common.prefix, "site");
    CU_ASSERT_EQUAL(c.batch, 64);
    CU_ASSERT_EQUAL(c.common.metrics_interval_us, HS_US_PER_S);
    CU_ASSERT_STRING_EQUAL(c.label, "y");
    const char *unknown = "nosuch = 1\n";
    CU_ASSERT_EQUAL(hs_config_load_text(t, &c, unknown, strlen(unknown), "f"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "f:1: unknown setting 'nosuch'");
    hs_config_free(t, &c);
    CU_ASSERT_PTR_NULL(c.common.broker_url);
    CU_ASSERT_PTR_NULL(c.label);
    hs_free(t);
}

/* A struct whose common part does not come first: the offset moves the first table. */
typedef struct offset_cfg {
    int64_t before;
    hs_service_cfg common;
} offset_cfg;

static void test_join_offset_and_duplicates(void)
{
    static const hs_cfg_item only_before[] = {
        {"before", HS_CFG_INT, "7", offsetof(offset_cfg, before), false, "a number"},
        {NULL, HS_CFG_STR, NULL, 0, false, NULL},
    };
    hs_cfg_item *t;
    CU_ASSERT_EQUAL_FATAL(
        hs_config_join(&t, hs_service_cfg_table, offsetof(offset_cfg, common), only_before), HS_OK);
    offset_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(t, &c), HS_OK);
    CU_ASSERT_EQUAL(c.before, 7);
    CU_ASSERT_STRING_EQUAL(c.common.prefix, "hs");
    CU_ASSERT_EQUAL(c.common.metrics_interval_us, 5 * HS_US_PER_S);
    hs_config_free(t, &c);
    hs_free(t);

    static const hs_cfg_item clash[] = {
        {"prefix", HS_CFG_STR, "p", 0, false, "again"},
        {NULL, HS_CFG_STR, NULL, 0, false, NULL},
    };
    t = (hs_cfg_item *)1;
    CU_ASSERT_EQUAL(hs_config_join(&t, hs_service_cfg_table, 0, clash), HS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "setting 'prefix' is declared twice");
}

/* ------------------------------------------------------------------ lifecycle */

static void test_service_unconnected(void)
{
    char *argv[] = {"hs-test", "--set", "prefix=tp", "--set=batch=3", "extra", "--flag", NULL};
    svc_test_cfg c;
    hs_service *svc;
    mode_t old_mask = umask(022);
    CU_ASSERT_EQUAL_FATAL(hs_service_init(&svc, "tester", svc_test_table, &c, 6, argv), HS_OK);
    umask(old_mask);
    HS_REQUIRE(svc);
    CU_ASSERT_STRING_EQUAL(hs_service_id(svc), "tester"); /* the kind by default */
    CU_ASSERT_STRING_EQUAL(hs_service_prefix(svc), "tp");
    CU_ASSERT_EQUAL(c.batch, 3);
    char **rest;
    CU_ASSERT_EQUAL(hs_service_args(svc, &rest), 2);
    CU_ASSERT_STRING_EQUAL(rest[0], "extra");
    CU_ASSERT_STRING_EQUAL(rest[1], "--flag");
    hs_buf t;
    hs_buf_init(&t, 0);
    CU_ASSERT_STRING_EQUAL(hs_service_topic(svc, &t, "status/%s", "x"), "tp/status/x");
    hs_buf_free(&t);
    CU_ASSERT_TRUE(hs_service_running(svc));
    CU_ASSERT_FALSE(hs_service_paused(svc));
    hs_service_counters_get(svc)->errors++;
    hs_service_observe_us(svc, 10);
    hs_service_dead_letter(svc, "bad", "tp/raw/x", "\xff", 1); /* counted, not sent */
    CU_ASSERT_EQUAL(hs_service_counters_get(svc)->dead_lettered, 1);
    hs_service_tick(svc);
    hs_service_stop(svc);
    CU_ASSERT_FALSE(hs_service_running(svc));
    hs_service_destroy(svc);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    hs_service_destroy(NULL);

    /* A bad setting is refused with the configuration's exit code. */
    char *bad[] = {"hs-test", "--set", "batch=many", NULL};
    int rc = hs_service_init(&svc, "tester", svc_test_table, &c, 3, bad);
    CU_ASSERT_EQUAL(rc, HS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(svc);
    CU_ASSERT_EQUAL(hs_service_exit_code(rc), 1);
    /* So is an event level or format that is not one. */
    char *badlevel[] = {"hs-test", "--set", "mon_level=fatal", NULL};
    CU_ASSERT_EQUAL(hs_service_init(&svc, "tester", svc_test_table, &c, 3, badlevel),
                    HS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(svc);
    char *badformat[] = {"hs-test", "--set", "mon_format=xml", NULL};
    CU_ASSERT_EQUAL(hs_service_init(&svc, "tester", svc_test_table, &c, 3, badformat),
                    HS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(svc);
}

HS_TEST_INIT(service)
{
    HS_TEST_SUITE_BEGIN("service")
    HS_TEST(test_bucket_boundaries)
    HS_TEST(test_bucket_values)
    HS_TEST(test_quantiles)
    HS_TEST(test_metrics_window)
    HS_TEST(test_render_json)
    HS_TEST(test_render_prom)
    HS_TEST(test_render_prom_escapes_labels)
    HS_TEST(test_ctl_request_read)
    HS_TEST(test_ctl_refusals)
    HS_TEST(test_ctl_ping_stats_get)
    HS_TEST(test_ctl_set)
    HS_TEST(test_ctl_pause_resume_shutdown)
    HS_TEST(test_ctl_drain)
    HS_TEST(test_metrics_http)
    HS_TEST(test_common_table)
    HS_TEST(test_join_defaults_and_layers)
    HS_TEST(test_join_offset_and_duplicates)
    HS_TEST(test_service_unconnected)
    return 0;
}
