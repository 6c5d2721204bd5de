#include "hs_service.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_time.h"

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

/* Set by the signal handler; one per process, as signals are. */
static volatile sig_atomic_t hs__stop_signal;

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
    int64_t last_dead_log_us;
    uint64_t dead_since_log;
    hs_buf scratch;
    hs_buf topic;
};

static void hs__on_signal(int sig)
{
    hs__stop_signal = sig;
}

static void hs__usage(const char *kind, const hs_cfg_item *table)
{
    printf("usage: hs-%s [--config FILE] [--set NAME=VALUE]... [--print-config] [--help] "
           "[--version]\n\nSettings (file \"name = value\", environment HS_<NAME>, or --set):\n",
           kind);
    for (const hs_cfg_item *it = table; it->name != NULL; it++)
        printf("  %-22s %s (default: %s)\n", it->name, it->help, it->def ? it->def : "none");
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
    umask(077);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = hs__on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
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
    if (rc == HS_OK)
        rc = hs_mqtt_create(&svc->mqtt, &o);
    if (rc == HS_OK) {
        hs_info(svc->log, "connecting to %s", svc->common->broker_url);
        rc = hs_mqtt_connect(svc->mqtt);
    }
    if (rc != HS_OK) {
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
    if (rc == HS_OK)
        hs_info(svc->log, "online as %s (hs-%s %s)", svc->common->service_id, svc->kind,
                HS_VERSION);
    hs_buf_free(&status);
    hs_buf_free(&topic);
    return rc;
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
    return hs__stop_signal == 0 && !atomic_load(&svc->stopped);
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

static bool hs__utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            if (c == 0)
                return false;
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

static int hs__put_base64(hs_buf *b, const uint8_t *p, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int rc = hs_buf_putc(b, '"');
    for (size_t i = 0; rc == HS_OK && i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63],
                     i + 1 < len ? tbl[(v >> 6) & 63] : '=', i + 2 < len ? tbl[v & 63] : '='};
        rc = hs_buf_append(b, q, 4);
    }
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
    if (rc == HS_OK && hs__utf8_valid(payload, len)) {
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

void hs_service_tick(hs_service *svc)
{
    int64_t now = hs_time_mono_us();
    if (svc->mqtt == NULL || now < svc->next_metrics_us)
        return;
    svc->next_metrics_us = now + svc->common->metrics_interval_us;
    hs_service_counters *c = &svc->counters;
    hs_mqtt_stats ms;
    hs_mqtt_get_stats(svc->mqtt, &ms);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    hs_buf *b = &svc->scratch;
    hs_buf_reset(b);
    int rc = hs_buf_printf(
        b,
        "{\"id\":\"%s\",\"service\":\"%s\",\"t\":%lld,\"uptime_s\":%.1f,"
        "\"msgs_in\":%llu,\"msgs_out\":%llu,\"instances_in\":%llu,\"instances_out\":%llu,"
        "\"errors\":%llu,\"dead_lettered\":%llu,\"backlog\":%llu,\"rx_queued\":%zu,"
        "\"inflight\":%d,\"reconnects\":%llu,\"rss_kb\":%ld,\"cpu_s\":%.3f}",
        svc->common->service_id, svc->kind, (long long)hs_time_now_us(),
        (double)(hs_time_now_us() - svc->started_us) / 1e6, (unsigned long long)c->msgs_in,
        (unsigned long long)c->msgs_out, (unsigned long long)c->instances_in,
        (unsigned long long)c->instances_out, (unsigned long long)c->errors,
        (unsigned long long)c->dead_lettered, (unsigned long long)c->backlog, ms.rx_queued,
        ms.inflight, (unsigned long long)ms.reconnects, hs__rss_kb(), cpu);
    hs_buf t;
    hs_buf_init(&t, 0);
    if (rc == HS_OK)
        (void)hs_mqtt_publish(svc->mqtt,
                              hs_service_topic(svc, &t, "metrics/%s", svc->common->service_id),
                              b->data, b->len, 0, false, 0);
    hs_buf_free(&t);
}

void hs_service_destroy(hs_service *svc)
{
    if (svc == NULL)
        return;
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
    hs_free(svc);
}
