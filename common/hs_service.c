#include "hs_service.h"

#include "hs_alloc.h"
#include "hs_base64.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_time.h"
#include "hs_utf8.h"
#include "hs_wclient.h"

#include <microhttpd.h>
#include <pthread.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/*
 * Set by the signal handler; one per process, as signals are. A lock-free
 * atomic: safe to store from a signal handler and to read from any thread.
 */
static atomic_int hs__stop_signal;

struct hs_service {
    char kind[32];
    const hs_cfg_item *table; /* borrowed */
    void *cfg;                /* borrowed; starts with hs_service_cfg */
    hs_service_cfg *common;   /* == cfg */
    hs_log *log;              /* owned */
    hs_mqtt *mqtt;            /* owned */
    int64_t started_us;
    atomic_bool stopped;
    int argc;    /* leftover arguments */
    char **argv; /* owned array of borrowed strings */
    hs_service_counters counters;
    int64_t next_metrics_us;
    uint64_t msgs_in_at_trim;   /* received-message count at the last malloc_trim */
    bool announced;             /* hs_service_ready published "online" */
    uint64_t status_reconnects; /* reconnects when the status was last published */
    int64_t last_dead_log_us;
    uint64_t dead_since_log;
    hs_buf scratch;
    hs_buf topic;
    /* Latency histogram: HS__LAT_BUCKETS buckets, 4 per power of two of microseconds. */
    _Atomic uint64_t lat[256];
    _Atomic uint64_t lat_count, lat_sum_us; /* cumulative, for the Prometheus summary */
    uint64_t lat_prev[256];                 /* counts at the last tick (window = the difference) */
    /* The last metrics, computed at each tick (read by ctl and the HTTP endpoint). */
    pthread_mutex_t mu;
    hs_buf metrics_json;                                             /* guarded by mu */
    double rate_msgs_in, rate_msgs_out, rate_inst_in, rate_inst_out; /* per second, mu */
    double p50_ms, p95_ms, p99_ms; /* window latency percentiles, mu */
    uint64_t last_cnt[4];
    int64_t last_tick_mono;
    /* Control channel. */
    hs_mqtt *ctl; /* owned; its own connection */
    pthread_t ctl_thread;
    bool ctl_started;
    atomic_bool paused;
    atomic_bool paused_shown; /* the retained status says "paused" */
    bool manual_resume;       /* the service announces its resume itself */
    atomic_bool idle;
    char *allowed[32]; /* settings that `set` may change (owned) */
    size_t nallowed;
    /* A `set` handed to the service thread: guarded by mu, signalled by cv. */
    pthread_cond_t cv;
    char *set_name, *set_value;
    int set_rc;
    bool set_pending, set_done;
    char set_err[300];
    struct MHD_Daemon *http; /* Prometheus endpoint, or NULL */
    char *status_extra;      /* owned JSON members added to the status, or NULL */
};

#define HS__LAT_BUCKETS 256

static void hs__on_signal(int sig)
{
    atomic_store(&hs__stop_signal, sig);
}

static void hs__usage(const char *kind, const hs_cfg_item *table)
{
    printf("usage: hs-%s [--config FILE] [--set NAME=VALUE]... [--print-config] [--help] "
           "[--version]\n\nSettings (file \"name = value\", environment HS_<NAME>, or --set):\n",
           kind);
    for (const hs_cfg_item *it = table; it->name != NULL; it++) {
        if (strstr(it->help, "(default") != NULL) /* the help says it better */
            printf("  %-22s %s\n", it->name, it->help);
        else if (it->def == NULL || it->def[0] == '\0')
            printf("  %-22s %s (default: none)\n", it->name, it->help);
        else
            printf("  %-22s %s (default: %s)\n", it->name, it->help, it->def);
    }
}

int hs_service_exit_code(int rc)
{
    if (rc == HS_OK || rc == HS_SERVICE_DONE)
        return 0;
    if (rc == HS_ERR_CONFIG || rc == HS_ERR_INVAL)
        return 1;
    return 2;
}

int hs_service_init(hs_service **out, const char *kind, const hs_cfg_item *table, void *cfg,
                    int argc, char **argv)
{
    *out = NULL;
    hs_service *svc = hs_calloc(1, sizeof *svc);
    if (svc == NULL)
        return HS_ERR_NOMEM;
    snprintf(svc->kind, sizeof svc->kind, "%s", kind);
    svc->table = table;
    svc->cfg = cfg;
    svc->common = cfg;
    svc->started_us = hs_time_now_us();
    hs_buf_init(&svc->scratch, 0);
    hs_buf_init(&svc->topic, 0);
    svc->argv = hs_calloc((size_t)argc + 1, sizeof *svc->argv);
    if (svc->argv == NULL) {
        hs_free(svc);
        return HS_ERR_NOMEM;
    }
    int rc = hs_config_defaults(table, cfg);
    const char *config_file = getenv("HS_CONFIG");
    bool print = false;
    /* First pass: the config file, which the other layers override. */
    for (int i = 1; rc == HS_OK && i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_file = argv[++i];
    }
    if (rc == HS_OK && config_file != NULL && config_file[0] != '\0')
        rc = hs_config_load_file(table, cfg, config_file);
    if (rc == HS_OK)
        rc = hs_config_load_env(table, cfg, environ);
    for (int i = 1; rc == HS_OK && i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            i++;
        } else if (strcmp(a, "--set") == 0 && i + 1 < argc) {
            rc = hs_config_set_pair(table, cfg, argv[++i]);
        } else if (strncmp(a, "--set=", 6) == 0) {
            rc = hs_config_set_pair(table, cfg, a + 6);
        } else if (strcmp(a, "--print-config") == 0) {
            print = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            hs__usage(kind, table);
            rc = HS_SERVICE_DONE;
        } else if (strcmp(a, "--version") == 0) {
            printf("hs-%s %s\n", kind, HS_VERSION);
            rc = HS_SERVICE_DONE;
        } else {
            svc->argv[svc->argc++] = argv[i];
        }
    }
    if (rc == HS_OK && (svc->common->service_id == NULL || svc->common->service_id[0] == '\0'))
        rc = hs_config_set(table, cfg, "service_id", kind);
    int level = HS_LOG_INFO;
    if (rc == HS_OK && hs_log_level_parse(svc->common->log_level, &level) != HS_OK)
        rc = hs_err_set(HS_ERR_CONFIG, "log_level '%s' is not a level", svc->common->log_level);
    if (rc == HS_OK && print) {
        hs_buf b;
        hs_buf_init(&b, 0);
        rc = hs_config_print(table, cfg, &b);
        if (rc == HS_OK)
            fputs(hs_buf_cstr(&b), stdout);
        hs_buf_free(&b);
        if (rc == HS_OK)
            rc = HS_SERVICE_DONE;
    }
    if (rc == HS_OK)
        rc = hs_log_create(&svc->log, svc->common->service_id, level);
    if (rc != HS_OK) {
        if (rc != HS_SERVICE_DONE) {
            char msg[600];
            fprintf(stderr, "hs-%s: %s\n", kind, hs_err_describe(rc, msg, sizeof msg));
        }
        hs_config_free(table, cfg);
        hs_buf_free(&svc->scratch);
        hs_buf_free(&svc->topic);
        hs_free(svc->argv);
        hs_free(svc);
        return rc;
    }
    pthread_mutex_init(&svc->mu, NULL);
    pthread_cond_init(&svc->cv, NULL);
    hs_buf_init(&svc->metrics_json, 0);
    svc->last_tick_mono = hs_time_mono_us();
    hs_service_allow_set(svc, "log_level");
    hs_service_allow_set(svc, "metrics_interval");
    umask(077);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = hs__on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit (RLIMIT_FSIZE) then fails writes with EFBIG, which the store reports
     * as a transient error, instead of killing the process. */
    signal(SIGXFSZ, SIG_IGN);
    *out = svc;
    return HS_OK;
}

int hs_service_args(const hs_service *svc, char ***argv)
{
    *argv = svc->argv;
    return svc->argc;
}

static int hs__status_payload(hs_service *svc, hs_buf *b, const char *state, const char *reason)
{
    char started[HS_TIME_ISO_MAX];
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    hs_time_format_iso(svc->started_us, started);
    hs_buf_reset(b);
    int rc = hs_buf_printf(b, "{\"state\":\"%s\",\"id\":", state);
    if (rc == HS_OK)
        rc = hs_json_put_string(b, svc->common->service_id, strlen(svc->common->service_id));
    if (rc == HS_OK)
        rc = hs_buf_printf(b,
                           ",\"service\":\"%s\",\"version\":\"%s\",\"pid\":%d,\"host\":", svc->kind,
                           HS_VERSION, (int)getpid());
    if (rc == HS_OK)
        rc = hs_json_put_string(b, host, strlen(host));
    if (rc == HS_OK)
        rc = hs_buf_printf(b, ",\"started\":\"%s\",\"incarnation\":%lld", started,
                           (long long)svc->started_us);
    if (rc == HS_OK && reason != NULL)
        rc = hs_buf_printf(b, ",\"reason\":\"%s\"", reason);
    if (rc == HS_OK && svc->status_extra != NULL)
        rc = hs_buf_printf(b, ",%s", svc->status_extra);
    if (rc == HS_OK)
        rc = hs_buf_puts(b, "}");
    return rc;
}

int hs_service_connect(hs_service *svc, bool persistent)
{
    hs_buf will, topic;
    hs_buf_init(&will, 0);
    hs_buf_init(&topic, 0);
    hs_service_topic(svc, &topic, "status/%s", svc->common->service_id);
    int rc = hs__status_payload(svc, &will, "offline", "connection lost");
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.url = svc->common->broker_url;
    o.client_id = svc->common->service_id;
    o.username = svc->common->mqtt_username;
    o.password = svc->common->mqtt_password;
    o.ca_file = svc->common->mqtt_ca_file;
    o.persistent = persistent;
    o.connect_timeout_ms = (int)(svc->common->connect_timeout_us / 1000);
    o.will_topic = hs_buf_cstr(&topic);
    o.will_payload = will.data;
    o.will_len = will.len;
    o.will_retain = true;
    o.will_qos = 1;
    o.cancel = &hs__stop_signal;
    if (rc == HS_OK)
        rc = hs_mqtt_create(&svc->mqtt, &o);
    if (rc == HS_OK) {
        hs_info(svc->log, "connecting to %s", svc->common->broker_url);
        rc = hs_mqtt_connect(svc->mqtt);
    }
    if (rc != HS_OK && atomic_load(&hs__stop_signal) != 0) {
        hs_info(svc->log, "stopped before %s answered", svc->common->broker_url);
        rc = HS_SERVICE_DONE;
    } else if (rc != HS_OK) {
        char msg[600];
        hs_error(svc->log, "cannot connect to %s: %s", svc->common->broker_url,
                 hs_err_describe(rc, msg, sizeof msg));
    }
    svc->next_metrics_us = hs_time_mono_us() + svc->common->metrics_interval_us;
    hs_buf_free(&will);
    hs_buf_free(&topic);
    return rc;
}

int hs_service_ready(hs_service *svc)
{
    hs_buf status, topic;
    hs_buf_init(&status, 0);
    hs_buf_init(&topic, 0);
    int rc = hs__status_payload(svc, &status, "online", NULL);
    if (rc == HS_OK)
        rc = hs_mqtt_publish(svc->mqtt,
                             hs_service_topic(svc, &topic, "status/%s", svc->common->service_id),
                             status.data, status.len, 1, true, 5000);
    if (rc == HS_OK) {
        hs_mqtt_stats ms;
        hs_mqtt_get_stats(svc->mqtt, &ms);
        svc->status_reconnects = ms.reconnects;
        svc->announced = true;
        hs_info(svc->log, "online as %s (hs-%s %s)", svc->common->service_id, svc->kind,
                HS_VERSION);
    }
    hs_buf_free(&status);
    hs_buf_free(&topic);
    return rc;
}

void hs_service_wclient_opts(hs_service *svc, hs_wclient_opts *o)
{
    hs_wclient_opts_init(o);
    o->url = svc->common->broker_url;
    o->username = svc->common->mqtt_username;
    o->password = svc->common->mqtt_password;
    o->ca_file = svc->common->mqtt_ca_file;
    o->prefix = svc->common->prefix;
    o->sender_id = svc->common->service_id;
    o->writer_id = svc->common->writer_id;
    o->log = svc->log;
}

hs_mqtt *hs_service_mqtt(hs_service *svc)
{
    return svc->mqtt;
}

hs_log *hs_service_log(hs_service *svc)
{
    return svc->log;
}

const char *hs_service_id(const hs_service *svc)
{
    return svc->common->service_id;
}

const char *hs_service_prefix(const hs_service *svc)
{
    return svc->common->prefix;
}

int64_t hs_service_started_us(const hs_service *svc)
{
    return svc->started_us;
}

bool hs_service_running(const hs_service *svc)
{
    return atomic_load(&hs__stop_signal) == 0 && !atomic_load(&svc->stopped);
}

void hs_service_stop(hs_service *svc)
{
    atomic_store(&svc->stopped, true);
}

const char *hs_service_topic(const hs_service *svc, hs_buf *out, const char *fmt, ...)
{
    hs_buf_reset(out);
    if (hs_buf_puts(out, svc->common->prefix) != HS_OK || hs_buf_putc(out, '/') != HS_OK)
        return "";
    va_list ap;
    va_start(ap, fmt);
    char tmp[2048];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (hs_buf_puts(out, tmp) != HS_OK)
        return "";
    return hs_buf_cstr(out);
}

/* Whether a dead payload is shown as text: valid UTF-8 without NUL bytes. */
static bool hs__dead_payload_is_text(const void *p, size_t len)
{
    return hs_utf8_valid(p, len) && (len == 0 || memchr(p, 0, len) == NULL);
}

/* Writes len bytes of p as a JSON string of their base64. */
static int hs__put_base64(hs_buf *b, const void *p, size_t len)
{
    int rc = hs_buf_putc(b, '"');
    if (rc == HS_OK)
        rc = hs_base64_encode(b, p, len);
    if (rc == HS_OK)
        rc = hs_buf_putc(b, '"');
    return rc;
}

void hs_service_dead_letter(hs_service *svc, const char *reason, const char *topic,
                            const void *payload, size_t len)
{
    svc->counters.dead_lettered++;
    hs_buf *b = &svc->scratch;
    char now[HS_TIME_ISO_MAX];
    hs_time_format_iso(hs_time_now_us(), now);
    hs_buf_reset(b);
    int rc = hs_buf_puts(b, "{\"service\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(b, svc->common->service_id, strlen(svc->common->service_id));
    if (rc == HS_OK)
        rc = hs_buf_puts(b, ",\"reason\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(b, reason, strlen(reason));
    if (rc == HS_OK)
        rc = hs_buf_puts(b, ",\"topic\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(b, topic ? topic : "", topic ? strlen(topic) : 0);
    if (rc == HS_OK)
        rc = hs_buf_printf(b, ",\"t\":\"%s\",", now);
    if (rc == HS_OK && hs__dead_payload_is_text(payload, len)) {
        rc = hs_buf_puts(b, "\"payload\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(b, payload, len);
    } else if (rc == HS_OK) {
        rc = hs_buf_puts(b, "\"payload_b64\":");
        if (rc == HS_OK)
            rc = hs__put_base64(b, payload, len);
    }
    if (rc == HS_OK)
        rc = hs_buf_putc(b, '}');
    hs_buf t;
    hs_buf_init(&t, 0);
    if (rc == HS_OK && svc->mqtt != NULL)
        rc = hs_mqtt_publish(svc->mqtt, hs_service_topic(svc, &t, "dead/%s", svc->kind), b->data,
                             b->len, 1, false, 10000);
    hs_buf_free(&t);
    /* At most one log line per second, with the count of the others. */
    int64_t now_us = hs_time_mono_us();
    svc->dead_since_log++;
    if (now_us - svc->last_dead_log_us >= HS_US_PER_S) {
        hs_warn(svc->log, "rejected input on %s: %s (%llu rejected since the last report)",
                topic ? topic : "?", reason, (unsigned long long)svc->dead_since_log);
        svc->dead_since_log = 0;
        svc->last_dead_log_us = now_us;
    }
    if (rc != HS_OK)
        hs_error(svc->log, "could not publish a dead letter: %s", hs_strerror(rc));
}

hs_service_counters *hs_service_counters_get(hs_service *svc)
{
    return &svc->counters;
}

static long hs__rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ------------------------------------------------------------------ latency */

static unsigned hs__lat_bucket(int64_t us)
{
    if (us < 4)
        return us < 0 ? 0 : (unsigned)us;
    unsigned lg = 63u - (unsigned)__builtin_clzll((unsigned long long)us);
    unsigned sub = (unsigned)((us >> (lg - 2)) & 3);
    unsigned b = 4 * (lg - 1) + sub;
    return b < HS__LAT_BUCKETS ? b : HS__LAT_BUCKETS - 1;
}

/* The middle of a bucket, in microseconds. */
static double hs__lat_value(unsigned b)
{
    if (b < 4)
        return b;
    unsigned lg = b / 4 + 1, sub = b % 4;
    double lo = (double)(1ULL << lg) * (1.0 + sub / 4.0);
    return lo * (1.0 + 1.0 / 8.0);
}

void hs_service_observe_us(hs_service *svc, int64_t us)
{
    atomic_fetch_add_explicit(&svc->lat[hs__lat_bucket(us)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&svc->lat_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&svc->lat_sum_us, us > 0 ? (uint64_t)us : 0, memory_order_relaxed);
}

/* ------------------------------------------------------------------ metrics */

static long hs__rss_kb(void);

/* Recomputes rates and window percentiles, and the metrics JSON (under mu). */
static void hs__metrics_update(hs_service *svc)
{
    /* The service thread (tick) and the control thread (stats) both come here. */
    pthread_mutex_lock(&svc->mu);
    int64_t now = hs_time_mono_us();
    double dt = (double)(now - svc->last_tick_mono) / 1e6;
    hs_service_counters *c = &svc->counters;
    uint64_t cnt[4] = {c->msgs_in, c->msgs_out, c->instances_in, c->instances_out};
    uint64_t window[HS__LAT_BUCKETS], total = 0;
    for (unsigned i = 0; i < HS__LAT_BUCKETS; i++) {
        uint64_t v = atomic_load_explicit(&svc->lat[i], memory_order_relaxed);
        window[i] = v - svc->lat_prev[i];
        svc->lat_prev[i] = v;
        total += window[i];
    }
    double pct[3] = {0, 0, 0};
    const double q[3] = {0.50, 0.95, 0.99};
    for (int k = 0; k < 3 && total > 0; k++) {
        uint64_t want = (uint64_t)(q[k] * (double)total + 0.5), acc = 0;
        if (want == 0)
            want = 1;
        for (unsigned i = 0; i < HS__LAT_BUCKETS; i++) {
            acc += window[i];
            if (acc >= want) {
                pct[k] = hs__lat_value(i) / 1000.0;
                break;
            }
        }
    }
    hs_mqtt_stats ms;
    memset(&ms, 0, sizeof ms);
    if (svc->mqtt != NULL)
        hs_mqtt_get_stats(svc->mqtt, &ms);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    if (dt > 0.05) {
        svc->rate_msgs_in = (double)(cnt[0] - svc->last_cnt[0]) / dt;
        svc->rate_msgs_out = (double)(cnt[1] - svc->last_cnt[1]) / dt;
        svc->rate_inst_in = (double)(cnt[2] - svc->last_cnt[2]) / dt;
        svc->rate_inst_out = (double)(cnt[3] - svc->last_cnt[3]) / dt;
        memcpy(svc->last_cnt, cnt, sizeof cnt);
        svc->last_tick_mono = now;
    }
    svc->p50_ms = pct[0];
    svc->p95_ms = pct[1];
    svc->p99_ms = pct[2];
    hs_buf *b = &svc->metrics_json;
    hs_buf_reset(b);
    hs_buf_puts(b, "{\"id\":");
    hs_json_put_string(b, svc->common->service_id, strlen(svc->common->service_id));
    hs_buf_printf(
        b,
        ",\"service\":\"%s\",\"version\":\"%s\",\"t\":%lld,\"uptime_s\":%.1f,\"state\":\"%s\","
        "\"msgs_in\":%llu,\"msgs_out\":%llu,\"instances_in\":%llu,\"instances_out\":%llu,"
        "\"msgs_in_per_s\":%.1f,\"msgs_out_per_s\":%.1f,\"instances_in_per_s\":%.1f,"
        "\"instances_out_per_s\":%.1f,\"errors\":%llu,\"dead_lettered\":%llu,\"backlog\":%llu,"
        "\"latency_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"count\":%llu},"
        "\"rx_queued\":%zu,\"inflight\":%d,\"reconnects\":%llu,\"rss_kb\":%ld,\"cpu_s\":%.3f}",
        svc->kind, HS_VERSION, (long long)hs_time_now_us(),
        (double)(hs_time_now_us() - svc->started_us) / 1e6,
        atomic_load(&svc->paused) ? "paused" : "online", (unsigned long long)cnt[0],
        (unsigned long long)cnt[1], (unsigned long long)cnt[2], (unsigned long long)cnt[3],
        svc->rate_msgs_in, svc->rate_msgs_out, svc->rate_inst_in, svc->rate_inst_out,
        (unsigned long long)c->errors, (unsigned long long)c->dead_lettered,
        (unsigned long long)c->backlog, pct[0], pct[1], pct[2], (unsigned long long)total,
        ms.rx_queued, ms.inflight, (unsigned long long)ms.reconnects, hs__rss_kb(), cpu);
    pthread_mutex_unlock(&svc->mu);
}

/* The metrics in Prometheus text format (version 0.0.4). */
static void hs__metrics_prom(hs_service *svc, hs_buf *out)
{
    hs_service_counters *c = &svc->counters;
    char labels[300];
    snprintf(labels, sizeof labels, "service=\"%s\",id=\"%s\"", svc->kind, svc->common->service_id);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    struct {
        const char *name, *type, *help;
        double v;
    } m[] = {
        {"hs_up", "gauge", "1 while the service runs", 1},
        {"hs_paused", "gauge", "1 while the service is paused", atomic_load(&svc->paused) ? 1 : 0},
        {"hs_messages_in_total", "counter", "Messages received", (double)c->msgs_in},
        {"hs_messages_out_total", "counter", "Messages sent", (double)c->msgs_out},
        {"hs_instances_in_total", "counter", "Instances received", (double)c->instances_in},
        {"hs_instances_out_total", "counter", "Instances sent or stored", (double)c->instances_out},
        {"hs_errors_total", "counter", "Errors", (double)c->errors},
        {"hs_dead_lettered_total", "counter", "Inputs rejected to the dead-letter topic",
         (double)c->dead_lettered},
        {"hs_backlog", "gauge", "Work waiting", (double)c->backlog},
        {"hs_resident_memory_bytes", "gauge", "Resident set size", (double)hs__rss_kb() * 1024},
        {"hs_cpu_seconds_total", "counter", "CPU time used", cpu},
        {"hs_uptime_seconds", "gauge", "Seconds since the start",
         (double)(hs_time_now_us() - svc->started_us) / 1e6},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        hs_buf_printf(out, "# HELP %s %s.\n# TYPE %s %s\n%s{%s} %.17g\n", m[i].name, m[i].help,
                      m[i].name, m[i].type, m[i].name, labels, m[i].v);
    pthread_mutex_lock(&svc->mu);
    hs_buf_printf(out,
                  "# HELP hs_latency_seconds Latency of the service's unit of work (quantiles "
                  "over the last metrics interval).\n# TYPE hs_latency_seconds summary\n"
                  "hs_latency_seconds{%s,quantile=\"0.5\"} %.9g\n"
                  "hs_latency_seconds{%s,quantile=\"0.95\"} %.9g\n"
                  "hs_latency_seconds{%s,quantile=\"0.99\"} %.9g\n"
                  "hs_latency_seconds_sum{%s} %.9g\nhs_latency_seconds_count{%s} %llu\n",
                  labels, svc->p50_ms / 1000, labels, svc->p95_ms / 1000, labels,
                  svc->p99_ms / 1000, labels, (double)svc->lat_sum_us / 1e6, labels,
                  (unsigned long long)svc->lat_count);
    hs_buf_printf(out,
                  "# HELP hs_instances_in_per_second Instances received per second over the last "
                  "metrics interval.\n# TYPE hs_instances_in_per_second gauge\n"
                  "hs_instances_in_per_second{%s} %.6g\n",
                  labels, svc->rate_inst_in);
    pthread_mutex_unlock(&svc->mu);
}

static enum MHD_Result hs__http(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_len, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)con_cls;
    hs_service *svc = cls;
    hs_buf b;
    hs_buf_init(&b, 0);
    unsigned status = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0) {
        hs_buf_puts(&b, "only GET\n");
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics") == 0) {
        hs__metrics_prom(svc, &b);
    } else {
        hs_buf_puts(&b, "see /metrics\n");
        status = MHD_HTTP_NOT_FOUND;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
    hs_buf_free(&b);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Applies a `set` handed over by the control thread (on the service's thread). */
static void hs__apply_set(hs_service *svc)
{
    pthread_mutex_lock(&svc->mu);
    if (!svc->set_pending) {
        pthread_mutex_unlock(&svc->mu);
        return;
    }
    svc->set_err[0] = '\0';
    int rc = HS_OK;
    int level;
    const hs_cfg_item *it = svc->table;
    while (it->name != NULL && strcmp(it->name, svc->set_name) != 0)
        it++;
    if (strcmp(svc->set_name, "log_level") == 0 &&
        hs_log_level_parse(svc->set_value, &level) != HS_OK)
        rc = hs_err_set(HS_ERR_CONFIG,
                        "'%s' is not a log level (debug, info, warn, error, mon, off)",
                        svc->set_value);
    /* Numeric run-time settings are sizes, counts and periods: they must be positive. */
    hs_buf old;
    hs_buf_init(&old, 0);
    (void)hs_config_get(svc->table, svc->cfg, svc->set_name, &old);
    if (rc == HS_OK)
        rc = hs_config_set(svc->table, svc->cfg, svc->set_name, svc->set_value);
    if (rc == HS_OK && it->name != NULL && it->type != HS_CFG_STR && it->type != HS_CFG_BOOL) {
        int64_t v;
        memcpy(&v, (const char *)svc->cfg + it->offset, sizeof v);
        if (v <= 0) {
            (void)hs_config_set(svc->table, svc->cfg, svc->set_name, hs_buf_cstr(&old));
            rc = hs_err_set(HS_ERR_CONFIG, "%s must be positive", svc->set_name);
        }
    }
    hs_buf_free(&old);
    if (rc != HS_OK)
        snprintf(svc->set_err, sizeof svc->set_err, "%s", hs_err_detail());
    else if (strcmp(svc->set_name, "log_level") == 0 &&
             hs_log_level_parse(svc->common->log_level, &level) == HS_OK)
        hs_log_set_level(svc->log, level);
    svc->set_rc = rc;
    svc->set_pending = false;
    svc->set_done = true;
    pthread_cond_broadcast(&svc->cv);
    pthread_mutex_unlock(&svc->mu);
    if (rc == HS_OK)
        hs_info(svc->log, "setting %s changed to %s (control channel)", svc->set_name,
                svc->set_value);
}

void hs_service_manual_resume(hs_service *svc)
{
    svc->manual_resume = true;
}

void hs_service_resumed(hs_service *svc)
{
    if (atomic_load(&svc->paused) || !atomic_load(&svc->paused_shown) || svc->mqtt == NULL)
        return;
    hs_buf st, t;
    hs_buf_init(&st, 0);
    hs_buf_init(&t, 0);
    if (hs__status_payload(svc, &st, "online", NULL) == HS_OK &&
        hs_mqtt_publish(svc->mqtt, hs_service_topic(svc, &t, "status/%s", svc->common->service_id),
                        st.data, st.len, 1, true, 2000) == HS_OK)
        atomic_store(&svc->paused_shown, false);
    hs_buf_free(&st);
    hs_buf_free(&t);
}

/*
 * After a reconnect the broker may have published the last will ("offline",
 * retained) for the lost connection: the status is announced again.
 */
static void hs__status_after_reconnect(hs_service *svc)
{
    if (!svc->announced || svc->mqtt == NULL)
        return;
    hs_mqtt_stats ms;
    hs_mqtt_get_stats(svc->mqtt, &ms);
    if (ms.reconnects == svc->status_reconnects)
        return;
    const char *state = atomic_load(&svc->paused_shown) ? "paused" : "online";
    hs_buf st, t;
    hs_buf_init(&st, 0);
    hs_buf_init(&t, 0);
    if (hs__status_payload(svc, &st, state, NULL) == HS_OK &&
        hs_mqtt_publish(svc->mqtt, hs_service_topic(svc, &t, "status/%s", svc->common->service_id),
                        st.data, st.len, 1, true, 0) == HS_OK) {
        svc->status_reconnects = ms.reconnects;
        hs_info(svc->log, "reconnected; status is %s again", state);
    }
    hs_buf_free(&st);
    hs_buf_free(&t);
}

/*
 * After a burst of input the allocator keeps the freed memory of the receive
 * queue (messages allocated by the MQTT thread, freed by the service's): once
 * the queue is empty again, give it back to the system. At most once a
 * metrics interval, and only after messages came (hs_service_release_memory).
 */
static void hs__trim_after_load(hs_service *svc)
{
    hs_mqtt_stats ms;
    hs_mqtt_get_stats(svc->mqtt, &ms);
    if (ms.rx_queued == 0 && ms.msgs_in != svc->msgs_in_at_trim) {
        svc->msgs_in_at_trim = ms.msgs_in;
        hs_service_release_memory();
    }
}

void hs_service_release_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

void hs_service_tick(hs_service *svc)
{
    hs__apply_set(svc);
    if (!svc->manual_resume)
        hs_service_resumed(svc);
    hs__status_after_reconnect(svc);
    int64_t now = hs_time_mono_us();
    if (svc->mqtt == NULL || now < svc->next_metrics_us)
        return;
    svc->next_metrics_us = now + svc->common->metrics_interval_us;
    hs__metrics_update(svc);
    hs_buf t;
    hs_buf_init(&t, 0);
    pthread_mutex_lock(&svc->mu);
    hs_buf copy;
    hs_buf_init(&copy, 0);
    hs_buf_append(&copy, svc->metrics_json.data, svc->metrics_json.len);
    pthread_mutex_unlock(&svc->mu);
    (void)hs_mqtt_publish(svc->mqtt,
                          hs_service_topic(svc, &t, "metrics/%s", svc->common->service_id),
                          copy.data, copy.len, 0, false, 0);
    hs_buf_free(&copy);
    hs_buf_free(&t);
    hs__trim_after_load(svc);
}

/* ------------------------------------------------------------------ control channel */

void hs_service_set_status_extra(hs_service *svc, const char *json_members)
{
    hs_free(svc->status_extra);
    svc->status_extra = json_members ? hs_strdup(json_members) : NULL;
}

void hs_service_allow_set(hs_service *svc, const char *name)
{
    if (svc->nallowed < sizeof svc->allowed / sizeof svc->allowed[0])
        svc->allowed[svc->nallowed++] = hs_strdup(name);
}

bool hs_service_paused(const hs_service *svc)
{
    return atomic_load(&((hs_service *)svc)->paused);
}

void hs_service_set_idle(hs_service *svc, bool idle)
{
    atomic_store(&svc->idle, idle);
}

static int hs__status_payload(hs_service *svc, hs_buf *b, const char *state, const char *reason);

static void hs__publish_state(hs_service *svc, const char *state)
{
    hs_buf st, t;
    hs_buf_init(&st, 0);
    hs_buf_init(&t, 0);
    if (hs__status_payload(svc, &st, state, NULL) == HS_OK)
        (void)hs_mqtt_publish(svc->ctl,
                              hs_service_topic(svc, &t, "status/%s", svc->common->service_id),
                              st.data, st.len, 1, true, 2000);
    hs_buf_free(&st);
    hs_buf_free(&t);
}

/* The characters of a control command or setting name. */
#define HS__CTL_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."

int hs_ctl_request_read(const void *payload, size_t len, hs_ctl_request *q, hs_buf *reply)
{
    hs_buf mp;
    hs_buf_init(&mp, 0);
    hs_mp_field f[8];
    size_t nf = 0;
    const char *sv;
    uint32_t sl;
    q->cmd[0] = q->name[0] = q->value[0] = '\0';
    if (hs_json_to_mpack((const char *)payload, len, &mp) != HS_OK ||
        hs_mp_map_index(mp.data, mp.len, f, 8, &nf, NULL) != HS_OK) {
        hs_buf_puts(reply, "{\"ok\":false,\"error\":\"control requests are JSON objects "
                           "{\\\"cmd\\\": ...} of at most 8 members\"}");
        hs_buf_free(&mp);
        return HS_ERR_PARSE;
    }
    /* Names and commands are echoed in replies: only plain name characters. */
    static const struct {
        const char *key;
        size_t off, size;
    } names[] = {{"cmd", offsetof(hs_ctl_request, cmd), sizeof q->cmd},
                 {"name", offsetof(hs_ctl_request, name), sizeof q->name}};
    for (size_t i = 0; i < 2; i++) {
        char *dst = (char *)q + names[i].off;
        if (hs_mp_field_str(f, nf, names[i].key, &sv, &sl) != HS_OK)
            continue;
        bool plain = sl < names[i].size;
        for (uint32_t k = 0; k < sl && plain; k++)
            plain = sv[k] != '\0' && strchr(HS__CTL_NAME_CHARS, sv[k]) != NULL;
        if (!plain) {
            hs_buf_free(&mp);
            hs_buf_printf(reply,
                          "{\"ok\":false,\"error\":\"cmd (under %zu bytes) and name (under %zu "
                          "bytes) are made of letters, digits, '_', '-' and '.'\"}",
                          sizeof q->cmd, sizeof q->name);
            return HS_ERR_PARSE;
        }
        memcpy(dst, sv, sl);
        dst[sl] = '\0';
    }
    const hs_mp_field *vf = hs_mp_field_find(f, nf, "value");
    int rc = HS_OK;
    if (vf != NULL) {
        hs_mp_reader r;
        hs_mp_reader_init(&r, vf->val, vf->vlen);
        hs_buf j;
        hs_buf_init(&j, 0);
        if (hs_mp_get_str(&r, &sv, &sl) != HS_OK) {
            hs_mp_reader_init(&r, vf->val, vf->vlen);
            if (hs_json_from_mpack(&r, &j) != HS_OK)
                hs_buf_reset(&j);
            sv = (const char *)j.data;
            sl = (uint32_t)j.len;
        }
        if (sl == 0) {
            /* value stays "" */
        } else if (sl < sizeof q->value && memchr(sv, '\0', sl) == NULL) {
            memcpy(q->value, sv, sl);
            q->value[sl] = '\0';
        } else {
            hs_buf_printf(reply,
                          "{\"ok\":false,\"error\":\"value is longer than %zu bytes or holds a "
                          "NUL byte\"}",
                          sizeof q->value - 1);
            rc = HS_ERR_PARSE;
        }
        hs_buf_free(&j);
    }
    hs_buf_free(&mp);
    return rc;
}

/* Handles one control request; fills the JSON reply. */
static void hs__ctl_handle(hs_service *svc, const hs_mqtt_msg *m, hs_buf *reply)
{
    hs_ctl_request q;
    if (hs_ctl_request_read(m->payload, m->len, &q, reply) != HS_OK)
        return;
    const char *cmd = q.cmd, *name = q.name, *value = q.value;
    if (strcmp(cmd, "ping") == 0) {
        hs_buf_printf(reply,
                      "{\"ok\":true,\"id\":\"%s\",\"service\":\"%s\",\"version\":\"%s\","
                      "\"uptime_s\":%.1f,\"state\":\"%s\"}",
                      svc->common->service_id, svc->kind, HS_VERSION,
                      (double)(hs_time_now_us() - svc->started_us) / 1e6,
                      atomic_load(&svc->paused) ? "paused" : "online");
    } else if (strcmp(cmd, "stats") == 0) {
        hs__metrics_update(svc);
        pthread_mutex_lock(&svc->mu);
        hs_buf_puts(reply, "{\"ok\":true,\"stats\":");
        hs_buf_append(reply, svc->metrics_json.data, svc->metrics_json.len);
        hs_buf_putc(reply, '}');
        pthread_mutex_unlock(&svc->mu);
    } else if (strcmp(cmd, "get") == 0) {
        hs_buf all;
        hs_buf_init(&all, 0);
        hs_buf_puts(reply, "{\"ok\":true,\"settings\":{");
        bool first = true;
        for (const hs_cfg_item *it = svc->table; it->name != NULL; it++) {
            if (name[0] != '\0' && strcmp(name, it->name) != 0)
                continue;
            hs_buf_reset(&all);
            pthread_mutex_lock(&svc->mu);
            (void)hs_config_get(svc->table, svc->cfg, it->name, &all);
            pthread_mutex_unlock(&svc->mu);
            hs_buf_printf(reply, "%s\"%s\":", first ? "" : ",", it->name);
            if (it->secret)
                hs_buf_puts(reply, "\"***\"");
            else
                hs_json_put_string(reply, (const char *)all.data, all.len);
            first = false;
        }
        hs_buf_puts(reply, "},\"settable\":[");
        for (size_t i = 0; i < svc->nallowed; i++)
            hs_buf_printf(reply, "%s\"%s\"", i ? "," : "", svc->allowed[i]);
        hs_buf_puts(reply, "]}");
        hs_buf_free(&all);
        if (first && name[0] != '\0') {
            hs_buf_reset(reply);
            hs_buf_printf(reply, "{\"ok\":false,\"error\":\"no setting '%s'\"}", name);
        }
    } else if (strcmp(cmd, "set") == 0) {
        bool allowed = false;
        for (size_t i = 0; i < svc->nallowed && !allowed; i++)
            allowed = strcmp(svc->allowed[i], name) == 0;
        if (!allowed) {
            hs_buf_printf(reply,
                          "{\"ok\":false,\"error\":\"setting '%s' cannot be changed while "
                          "%s runs (settable:",
                          name, svc->kind);
            for (size_t i = 0; i < svc->nallowed; i++)
                hs_buf_printf(reply, " %s", svc->allowed[i]);
            hs_buf_puts(reply, ")\"}");
            return;
        }
        pthread_mutex_lock(&svc->mu);
        hs_free(svc->set_name);
        hs_free(svc->set_value);
        svc->set_name = hs_strdup(name);
        svc->set_value = hs_strdup(value);
        svc->set_pending = true;
        svc->set_done = false;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 5;
        while (!svc->set_done && pthread_cond_timedwait(&svc->cv, &svc->mu, &ts) == 0)
            ;
        bool done = svc->set_done;
        int rc = svc->set_rc;
        char err[300];
        snprintf(err, sizeof err, "%s", svc->set_err);
        svc->set_pending = false;
        pthread_mutex_unlock(&svc->mu);
        if (!done) {
            hs_buf_puts(reply, "{\"ok\":false,\"error\":\"the service did not apply the setting "
                               "within 5 s\"}");
        } else if (rc != HS_OK) {
            hs_buf_puts(reply, "{\"ok\":false,\"error\":");
            hs_json_put_string(reply, err, strlen(err));
            hs_buf_putc(reply, '}');
        } else {
            hs_buf_printf(reply, "{\"ok\":true,\"name\":\"%s\",\"value\":", name);
            hs_json_put_string(reply, value, strlen(value));
            hs_buf_putc(reply, '}');
        }
    } else if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0) {
        bool pause = cmd[0] == 'p';
        atomic_store(&svc->paused, pause);
        /*
         * "paused" is announced at once, so that nobody sends more work; "online"
         * only once the service has resumed (hs_service_tick, on its own thread,
         * after it re-subscribed), so that work sent on seeing it is not lost.
         */
        if (pause) {
            hs__publish_state(svc, "paused");
            atomic_store(&svc->paused_shown, true);
        }
        hs_info(svc->log, "%s (control channel)", pause ? "paused" : "resumed");
        hs_buf_printf(reply, "{\"ok\":true,\"state\":\"%s\"}", pause ? "paused" : "online");
    } else if (strcmp(cmd, "drain") == 0) {
        atomic_store(&svc->idle, false);
        atomic_store(&svc->paused, true);
        hs__publish_state(svc, "paused");
        atomic_store(&svc->paused_shown, true);
        hs_info(svc->log, "draining (control channel)");
        int64_t end = hs_time_mono_us() + 30 * HS_US_PER_S;
        while (!atomic_load(&svc->idle) && hs_time_mono_us() < end) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (atomic_load(&svc->idle))
            hs_buf_puts(reply, "{\"ok\":true,\"state\":\"drained\"}");
        else
            hs_buf_puts(reply, "{\"ok\":false,\"state\":\"draining\",\"error\":\"work still in "
                               "flight after 30 s; it stays paused\"}");
    } else if (strcmp(cmd, "shutdown") == 0) {
        hs_info(svc->log, "shutting down (control channel)");
        hs_service_stop(svc);
        hs_buf_puts(reply, "{\"ok\":true,\"state\":\"stopping\"}");
    } else {
        hs_buf_printf(reply,
                      "{\"ok\":false,\"error\":\"unknown command '%s' (ping, stats, get, "
                      "set, pause, resume, drain, shutdown)\"}",
                      cmd);
    }
}

static void *hs__ctl_thread(void *arg)
{
    hs_service *svc = arg;
    hs_buf reply;
    hs_buf_init(&reply, 0);
    while (hs_service_running(svc)) {
        hs_mqtt_msg *m;
        int rc = hs_mqtt_recv(svc->ctl, &m, 200);
        if (rc == HS_ERR_CLOSED)
            break;
        if (rc != HS_OK)
            continue;
        hs_buf_reset(&reply);
        hs__ctl_handle(svc, m, &reply);
        if (m->response_topic != NULL) {
            hs_mqtt_pub_props p = {NULL, m->correlation, m->correlation_len};
            (void)hs_mqtt_publish_props(svc->ctl, m->response_topic, reply.data, reply.len, 1,
                                        false, 2000, &p);
        }
        hs_mqtt_msg_free(m);
    }
    hs_buf_free(&reply);
    return NULL;
}

int hs_service_ctl_start(hs_service *svc)
{
    char cid[256];
    snprintf(cid, sizeof cid, "%s-ctl", svc->common->service_id);
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.url = svc->common->broker_url;
    o.client_id = cid;
    o.username = svc->common->mqtt_username;
    o.password = svc->common->mqtt_password;
    o.ca_file = svc->common->mqtt_ca_file;
    o.connect_timeout_ms = (int)(svc->common->connect_timeout_us / 1000);
    hs_buf t;
    hs_buf_init(&t, 0);
    int rc = hs_mqtt_create(&svc->ctl, &o);
    if (rc == HS_OK)
        rc = hs_mqtt_connect(svc->ctl);
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(svc->ctl,
                               hs_service_topic(svc, &t, "ctl/%s", svc->common->service_id), 1);
    hs_buf_free(&t);
    if (rc == HS_OK && pthread_create(&svc->ctl_thread, NULL, hs__ctl_thread, svc) == 0)
        svc->ctl_started = true;
    else if (rc == HS_OK)
        rc = hs_err_set(HS_ERR_IO, "cannot start the control thread");
    if (rc == HS_OK && svc->common->metrics_port > 0) {
        svc->http =
            MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)svc->common->metrics_port,
                             NULL, NULL, hs__http, svc, MHD_OPTION_END);
        if (svc->http == NULL)
            hs_warn(svc->log, "cannot serve metrics on port %lld (in use?)",
                    (long long)svc->common->metrics_port);
        else
            hs_info(svc->log, "Prometheus metrics on http://0.0.0.0:%lld/metrics",
                    (long long)svc->common->metrics_port);
    }
    return rc;
}

void hs_service_mon(hs_service *svc, const char *name, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hs_logf(svc->log, HS_LOG_MON, "%s: %s", name, msg);
    if (svc->mqtt == NULL)
        return;
    char now[HS_TIME_ISO_MAX];
    hs_time_format_iso(hs_time_now_us(), now);
    hs_buf b, t;
    hs_buf_init(&b, 0);
    hs_buf_init(&t, 0);
    if (strcmp(svc->common->mon_format, "plain") == 0) {
        hs_buf_printf(&b, "%s MON %s %s: %s", now, svc->common->service_id, name, msg);
    } else {
        hs_buf_puts(&b, "{\"uid\":");
        hs_json_put_string(&b, svc->common->service_id, strlen(svc->common->service_id));
        hs_buf_printf(&b, ",\"bt\":\"%s\",\"e\":[{\"n\":", now);
        hs_json_put_string(&b, name, strlen(name));
        hs_buf_puts(&b, ",\"vs\":");
        hs_json_put_string(&b, msg, strlen(msg));
        hs_buf_puts(&b, "}]}");
    }
    const char *topic = svc->common->mon_topic[0] != '\0' ? svc->common->mon_topic
                                                          : hs_service_topic(svc, &t, "mon");
    (void)hs_mqtt_publish(svc->mqtt, topic, b.data, b.len, 0, false, 0);
    hs_buf_free(&b);
    hs_buf_free(&t);
}

void hs_service_destroy(hs_service *svc)
{
    if (svc == NULL)
        return;
    hs_service_stop(svc);
    if (svc->http != NULL)
        MHD_stop_daemon(svc->http);
    if (svc->ctl_started) {
        hs_mqtt_wake(svc->ctl);
        pthread_join(svc->ctl_thread, NULL);
    }
    hs_mqtt_destroy(svc->ctl);
    if (svc->mqtt != NULL) {
        hs_buf status, topic;
        hs_buf_init(&status, 0);
        hs_buf_init(&topic, 0);
        if (hs__status_payload(svc, &status, "offline", "stopped") == HS_OK)
            (void)hs_mqtt_publish(
                svc->mqtt, hs_service_topic(svc, &topic, "status/%s", svc->common->service_id),
                status.data, status.len, 1, true, 2000);
        (void)hs_mqtt_flush(svc->mqtt, 2000);
        hs_buf_free(&status);
        hs_buf_free(&topic);
        hs_mqtt_destroy(svc->mqtt);
    }
    hs_info(svc->log, "stopped");
    hs_log_destroy(svc->log);
    hs_config_free(svc->table, svc->cfg);
    hs_buf_free(&svc->scratch);
    hs_buf_free(&svc->topic);
    hs_free(svc->argv);
    for (size_t i = 0; i < svc->nallowed; i++)
        hs_free(svc->allowed[i]);
    hs_free(svc->set_name);
    hs_free(svc->set_value);
    hs_free(svc->status_extra);
    hs_buf_free(&svc->metrics_json);
    pthread_cond_destroy(&svc->cv);
    pthread_mutex_destroy(&svc->mu);
    hs_free(svc);
}
