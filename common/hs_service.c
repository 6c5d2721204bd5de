#include "hs_service.h"

#include "hs_alloc.h"
#include "hs_ctl.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_metrics.h"
#include "hs_proto.h"
#include "hs_time.h"
#include "hs_utf8.h"
#include "hs_wclient.h"

#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    hs_cfg_item *table;     /* owned: hs_service_cfg_table joined with the service's table */
    void *cfg;              /* borrowed; starts with hs_service_cfg */
    hs_service_cfg *common; /* == cfg */
    hs_log *log;            /* owned */
    hs_mqtt *mqtt;          /* owned */
    hs_metrics *metrics;    /* owned */
    hs_ctl *ctl;            /* owned; connected by hs_service_ctl_start */
    int64_t started_us;
    atomic_bool stopped;
    int argc;    /* leftover arguments */
    char **argv; /* owned array of borrowed strings */
    int64_t next_metrics_us;
    uint64_t msgs_in_at_trim;   /* received-message count at the last malloc_trim */
    bool announced;             /* hs_service_ready published "online" */
    uint64_t status_reconnects; /* reconnects when the status was last published */
    bool manual_resume;         /* the service announces its resume itself */
    int64_t last_dead_log_us;
    uint64_t dead_since_log;
    hs_buf scratch;
    char *status_tools;    /* owned: the status's "tools" (tool runtimes), or NULL */
    char metrics_url[300]; /* the status's "metrics": the endpoint serving, "" when none */
};

#define HS__SVC_ITEM(name, type, def, field, secret, help)                                         \
    {                                                                                              \
        name, type, def, offsetof(hs_service_cfg, field), secret, help                             \
    }

const hs_cfg_item hs_service_cfg_table[] = {
    HS__SVC_ITEM("service_id", HS_CFG_STR, NULL, service_id, false,
                 "stable id of this service instance (default: the service kind)"),
    HS__SVC_ITEM("broker_url", HS_CFG_STR, "tcp://127.0.0.1:1883", broker_url, false,
                 "MQTT broker URL (tcp://, mqtts://)"),
    HS__SVC_ITEM("store_url", HS_CFG_STR, "sqlite://./hs-data/hs.db", store_url, false,
                 "store URL: sqlite:///path/hs.db or mongodb://host:port/db"),
    HS__SVC_ITEM("prefix", HS_CFG_STR, "hs", prefix, false, "topic prefix"),
    HS__SVC_ITEM("log_level", HS_CFG_STR, "info", log_level, false,
                 "debug, info, warn, error, mon, off"),
    HS__SVC_ITEM("plugin_dir", HS_CFG_STR, "", plugin_dir, false,
                 "directory of tool plugins (*.so) that tool runtimes run and the scheduler "
                 "checks workflows against (default: none)"),
    HS__SVC_ITEM("log_file", HS_CFG_STR, "", log_file, false,
                 "file the log (and anything else on stdout/stderr) is appended to, rotated at "
                 "log_max_bytes (default: none, stderr)"),
    HS__SVC_ITEM("log_max_bytes", HS_CFG_SIZE, "10M", log_max_bytes, false,
                 "size at which log_file is rotated to log_file.1 (0: never)"),
    HS__SVC_ITEM("log_keep", HS_CFG_INT, "3", log_keep, false,
                 "rotated log files kept (log_file.1 ... log_file.N), 1 to 100"),
    HS__SVC_ITEM("mqtt_username", HS_CFG_STR, NULL, mqtt_username, false, "broker user name"),
    HS__SVC_ITEM("mqtt_password", HS_CFG_STR, NULL, mqtt_password, true, "broker password"),
    HS__SVC_ITEM("mqtt_ca_file", HS_CFG_STR, NULL, mqtt_ca_file, false,
                 "CA certificate file for mqtts:// brokers"),
    HS__SVC_ITEM("writer_id", HS_CFG_STR, "writer", writer_id, false, "service id of the writer"),
    HS__SVC_ITEM("metrics_interval", HS_CFG_DURATION, "5s", metrics_interval_us, false,
                 "how often metrics are published"),
    HS__SVC_ITEM("metrics_port", HS_CFG_INT, "0", metrics_port, false,
                 "HTTP port serving /metrics in Prometheus text format (0: off)"),
    HS__SVC_ITEM("metrics_bind", HS_CFG_STR, "127.0.0.1", metrics_bind, false,
                 "address the metrics port listens on (127.0.0.1: this host only; 0.0.0.0 or "
                 ":: for every address)"),
    HS__SVC_ITEM("mon_topic", HS_CFG_STR, "", mon_topic, false,
                 "topic of monitoring events (default <prefix>/mon)"),
    HS__SVC_ITEM("mon_format", HS_CFG_STR, "senml", mon_format, false,
                 "monitoring event format: senml or plain"),
    HS__SVC_ITEM("mon_level", HS_CFG_STR, "info", mon_level, false,
                 "least level of monitoring events published: debug (also every online run), "
                 "info, warn, error"),
    HS__SVC_ITEM("connect_timeout", HS_CFG_DURATION, "0s", connect_timeout_us, false,
                 "how long to wait for the broker at start (0s: forever)"),
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

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

/* The probe the metrics take their service numbers from (any thread). */
static void hs__svc_probe(void *ctx, hs_metrics_probe *p)
{
    hs_service *svc = ctx;
    p->paused = hs_ctl_paused(svc->ctl);
    /* svc->mqtt is set once, by hs_service_connect, before anything that reads metrics runs. */
    if (svc->mqtt != NULL) {
        hs_mqtt_stats ms;
        hs_mqtt_get_stats(svc->mqtt, &ms);
        p->rx_queued = ms.rx_queued;
        p->inflight = ms.inflight;
        p->reconnects = ms.reconnects;
    }
}

static int hs__status_payload(hs_service *svc, hs_buf *b, hs_proto_state state,
                              hs_proto_reason reason);

static int hs__svc_ctl_stats(void *ctx, hs_buf *out)
{
    hs_service *svc = ctx;
    int rc = hs_metrics_update(svc->metrics);
    if (rc == HS_OK)
        rc = hs_metrics_json(svc->metrics, out);
    return rc;
}

static int hs__svc_ctl_status(void *ctx, const char *state, hs_buf *out)
{
    hs_proto_state st = strcmp(state, "paused") == 0 ? HS_PROTO_PAUSED : HS_PROTO_ONLINE;
    return hs__status_payload(ctx, out, st, HS_PROTO_REASON_NONE);
}

static void hs__svc_ctl_stop(void *ctx)
{
    hs_service_stop(ctx);
}

static bool hs__svc_ctl_running(void *ctx)
{
    return hs_service_running(ctx);
}

/* Reads the configuration layers and the options; HS_SERVICE_DONE when the run ends here. */
static int hs__svc_configure(hs_service *svc, int argc, char **argv, bool *print)
{
    const hs_cfg_item *table = svc->table;
    void *cfg = svc->cfg;
    int rc = hs_config_defaults(table, cfg);
    const char *config_file = getenv("HS_CONFIG");
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
            *print = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            hs__usage(svc->kind, table);
            rc = HS_SERVICE_DONE;
        } else if (strcmp(a, "--version") == 0) {
            printf("hs-%s %s\n", svc->kind, HS_VERSION);
            rc = HS_SERVICE_DONE;
        } else {
            svc->argv[svc->argc++] = argv[i];
        }
    }
    if (rc == HS_OK && (svc->common->service_id == NULL || svc->common->service_id[0] == '\0'))
        rc = hs_config_set(table, cfg, "service_id", svc->kind);
    return rc;
}

/* Creates the log, the metrics and the control channel of a configured service. */
static int hs__svc_parts(hs_service *svc)
{
    int level = HS_LOG_INFO;
    if (hs_log_level_parse(svc->common->log_level, &level) != HS_OK)
        return hs_err_set(HS_ERR_CONFIG, "log_level '%s' is not a level", svc->common->log_level);
    if (svc->common->log_keep < 1 || svc->common->log_keep > 100)
        return hs_err_set(HS_ERR_CONFIG, "log_keep %lld is not between 1 and 100",
                          (long long)svc->common->log_keep);
    if (svc->common->log_max_bytes < 0)
        return hs_err_set(HS_ERR_CONFIG, "log_max_bytes must not be negative");
    hs_proto_mon_level mon_level;
    if (hs_proto_mon_level_parse(svc->common->mon_level, &mon_level) != HS_OK)
        return hs_err_set(HS_ERR_CONFIG, "mon_level '%s': expected debug, info, warn or error",
                          svc->common->mon_level);
    if (strcmp(svc->common->mon_format, "senml") != 0 &&
        strcmp(svc->common->mon_format, "plain") != 0)
        return hs_err_set(HS_ERR_CONFIG, "mon_format '%s': expected senml or plain",
                          svc->common->mon_format);
    int rc = hs_log_create(&svc->log, svc->common->service_id, level);
    if (rc == HS_OK && svc->common->log_file != NULL && svc->common->log_file[0] != '\0')
        rc = hs_log_set_file(svc->log, svc->common->log_file, svc->common->log_max_bytes,
                             (int)svc->common->log_keep);
    if (rc == HS_OK)
        rc = hs_metrics_create(&svc->metrics, svc->kind, svc->common->service_id, svc->started_us,
                               hs__svc_probe, svc);
    if (rc == HS_OK) {
        hs_ctl_opts o;
        memset(&o, 0, sizeof o);
        o.kind = svc->kind;
        o.id = svc->common->service_id;
        o.started_us = svc->started_us;
        o.table = svc->table;
        o.cfg = svc->cfg;
        o.log = svc->log;
        o.hooks.ctx = svc;
        o.hooks.stats = hs__svc_ctl_stats;
        o.hooks.status = hs__svc_ctl_status;
        o.hooks.stop = hs__svc_ctl_stop;
        o.hooks.running = hs__svc_ctl_running;
        rc = hs_ctl_create(&svc->ctl, &o);
    }
    /* Events of a lower level can be let through for a while: hsctl ctl ID set mon_level debug. */
    if (rc == HS_OK)
        rc = hs_ctl_allow_set(svc->ctl, "mon_level");
    return rc;
}

/* Frees what hs_service_init acquired; the counterpart of a failed init and of destroy. */
static void hs__svc_free(hs_service *svc)
{
    hs_metrics_destroy(svc->metrics);
    hs_ctl_destroy(svc->ctl);
    hs_log_destroy(svc->log);
    if (svc->table != NULL)
        hs_config_free(svc->table, svc->cfg);
    hs_free(svc->table);
    hs_buf_free(&svc->scratch);
    hs_free(svc->argv);
    hs_free(svc->status_tools);
    hs_free(svc);
}

int hs_service_init(hs_service **out, const char *kind, const hs_cfg_item *table, void *cfg,
                    int argc, char **argv)
{
    *out = NULL;
    hs_service *svc = hs_calloc(1, sizeof *svc);
    if (svc == NULL)
        return HS_ERR_NOMEM;
    snprintf(svc->kind, sizeof svc->kind, "%s", kind);
    svc->cfg = cfg;
    svc->common = cfg;
    svc->started_us = hs_time_now_us();
    hs_buf_init(&svc->scratch, 0);
    svc->argv = hs_calloc((size_t)argc + 1, sizeof *svc->argv);
    int rc = svc->argv != NULL ? HS_OK : HS_ERR_NOMEM;
    /* hs_service_cfg is the first member of every service's config struct. */
    if (rc == HS_OK)
        rc = hs_config_join(&svc->table, hs_service_cfg_table, 0, table);
    bool print = false;
    if (rc == HS_OK)
        rc = hs__svc_configure(svc, argc, argv, &print);
    if (rc == HS_OK && print) {
        hs_buf b;
        hs_buf_init(&b, 0);
        rc = hs_config_print(svc->table, cfg, &b);
        if (rc == HS_OK)
            fputs(hs_buf_cstr(&b), stdout);
        hs_buf_free(&b);
        if (rc == HS_OK)
            rc = HS_SERVICE_DONE;
    }
    if (rc == HS_OK)
        rc = hs__svc_parts(svc);
    if (rc != HS_OK) {
        if (rc != HS_SERVICE_DONE) {
            char msg[600];
            fprintf(stderr, "hs-%s: %s\n", kind, hs_err_describe(rc, msg, sizeof msg));
        }
        hs__svc_free(svc);
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

/* Writes the retained status (schemas/status.json) for state and reason into b (reset first). */
static int hs__status_payload(hs_service *svc, hs_buf *b, hs_proto_state state,
                              hs_proto_reason reason)
{
    char host[128] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    hs_proto_status st = {
        .state = state,
        .id = svc->common->service_id,
        .service = svc->kind,
        .version = HS_VERSION,
        .pid = (int64_t)getpid(),
        .host = host,
        .started_us = svc->started_us,
        .incarnation = (uint64_t)svc->started_us,
        .reason = reason,
        .tools = svc->status_tools,
        .metrics = svc->metrics_url,
    };
    return hs_proto_status_encode(b, &st);
}

int hs_service_connect(hs_service *svc, bool persistent)
{
    hs_buf will, topic;
    hs_buf_init(&will, 0);
    hs_buf_init(&topic, 0);
    hs_service_topic(svc, &topic, "status/%s", svc->common->service_id);
    int rc = hs__status_payload(svc, &will, HS_PROTO_OFFLINE, HS_PROTO_REASON_CONNECTION_LOST);
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
    int rc = hs__status_payload(svc, &status, HS_PROTO_ONLINE, HS_PROTO_REASON_NONE);
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

void hs_service_dead_letter(hs_service *svc, const char *reason, const char *topic,
                            const void *payload, size_t len)
{
    hs_service_dead_letter_as(svc, reason, topic, NULL, HS_PAYLOAD_AUTO, payload, len);
}

/* Longest reason a dead letter keeps (a longer one is cut, with an ellipsis). */
#define HS_DEAD_REASON_MAX 4096

void hs_service_dead_letter_as(hs_service *svc, const char *reason, const char *topic,
                               const char *stream, hs_proto_payload_kind kind, const void *payload,
                               size_t len)
{
    hs_metrics_counters_get(svc->metrics)->dead_lettered++;
    /* reason may be hs_err_detail(), which encoding the payload can overwrite; a letter
       always has one. */
    char why[HS_DEAD_REASON_MAX];
    (void)hs_utf8_cut(why, sizeof why,
                      reason != NULL && reason[0] != '\0' ? reason : "unreadable input");
    hs_buf *b = &svc->scratch;
    hs_proto_dead_letter d = {.service = svc->common->service_id,
                              .reason = why,
                              .topic = topic,
                              .t_us = hs_time_now_us(),
                              .payload = payload,
                              .len = len,
                              .stream = stream,
                              .kind = kind};
    int rc = hs_proto_dead_letter_encode(b, &d);
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
                topic ? topic : "?", why, (unsigned long long)svc->dead_since_log);
        svc->dead_since_log = 0;
        svc->last_dead_log_us = now_us;
    }
    if (rc != HS_OK)
        hs_error(svc->log, "could not publish a dead letter: %s", hs_strerror(rc));
}

hs_service_counters *hs_service_counters_get(hs_service *svc)
{
    return hs_metrics_counters_get(svc->metrics);
}

void hs_service_observe_us(hs_service *svc, int64_t us)
{
    hs_metrics_observe_us(svc->metrics, us);
}

void hs_service_manual_resume(hs_service *svc)
{
    svc->manual_resume = true;
}

void hs_service_resumed(hs_service *svc)
{
    if (hs_ctl_paused(svc->ctl) || !hs_ctl_status_paused(svc->ctl) || svc->mqtt == NULL)
        return;
    hs_buf st, t;
    hs_buf_init(&st, 0);
    hs_buf_init(&t, 0);
    if (hs__status_payload(svc, &st, HS_PROTO_ONLINE, HS_PROTO_REASON_NONE) == HS_OK &&
        hs_mqtt_publish(svc->mqtt, hs_service_topic(svc, &t, "status/%s", svc->common->service_id),
                        st.data, st.len, 1, true, 2000) == HS_OK)
        hs_ctl_status_shown_online(svc->ctl);
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
    hs_proto_state state = hs_ctl_status_paused(svc->ctl) ? HS_PROTO_PAUSED : HS_PROTO_ONLINE;
    hs_buf st, t;
    hs_buf_init(&st, 0);
    hs_buf_init(&t, 0);
    if (hs__status_payload(svc, &st, state, HS_PROTO_REASON_NONE) == HS_OK &&
        hs_mqtt_publish(svc->mqtt, hs_service_topic(svc, &t, "status/%s", svc->common->service_id),
                        st.data, st.len, 1, true, 0) == HS_OK) {
        svc->status_reconnects = ms.reconnects;
        hs_info(svc->log, "reconnected; status is %s again", hs_proto_state_name(state));
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
    hs_ctl_apply_pending(svc->ctl);
    if (!svc->manual_resume)
        hs_service_resumed(svc);
    hs__status_after_reconnect(svc);
    int64_t now = hs_time_mono_us();
    if (svc->mqtt == NULL || now < svc->next_metrics_us)
        return;
    svc->next_metrics_us = now + svc->common->metrics_interval_us;
    hs_buf t, copy;
    hs_buf_init(&t, 0);
    hs_buf_init(&copy, 0);
    int rc = hs_metrics_update(svc->metrics);
    if (rc == HS_OK)
        rc = hs_metrics_json(svc->metrics, &copy);
    if (rc == HS_OK)
        (void)hs_mqtt_publish(svc->mqtt,
                              hs_service_topic(svc, &t, "metrics/%s", svc->common->service_id),
                              copy.data, copy.len, 0, false, 0);
    hs_buf_free(&copy);
    hs_buf_free(&t);
    hs__trim_after_load(svc);
}

int hs_service_set_status_tools(hs_service *svc, const char *tools)
{
    char *copy = NULL;
    if (tools != NULL && (copy = hs_strdup(tools)) == NULL)
        return HS_ERR_NOMEM;
    hs_free(svc->status_tools);
    svc->status_tools = copy;
    return HS_OK;
}

void hs_service_allow_set(hs_service *svc, const char *name)
{
    int rc = hs_ctl_allow_set(svc->ctl, name);
    if (rc != HS_OK)
        hs_error(svc->log, "setting %s cannot be made settable: %s", name, hs_strerror(rc));
}

bool hs_service_paused(const hs_service *svc)
{
    return hs_ctl_paused(svc->ctl);
}

void hs_service_set_idle(hs_service *svc, bool idle)
{
    hs_ctl_set_idle(svc->ctl, idle);
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
    hs_buf t, st;
    hs_buf_init(&t, 0);
    hs_buf_init(&st, 0);
    const char *topic = hs_service_topic(svc, &t, "ctl/%s", svc->common->service_id);
    const char *status = hs_service_topic(svc, &st, "status/%s", svc->common->service_id);
    int rc = topic[0] != '\0' && status[0] != '\0' ? HS_OK : HS_ERR_NOMEM;
    if (rc == HS_OK)
        rc = hs_ctl_start(svc->ctl, &o, topic, status);
    hs_buf_free(&t);
    hs_buf_free(&st);
    if (rc == HS_OK && svc->common->metrics_port > 0) {
        const char *bind = svc->common->metrics_bind;
        int hrc =
            svc->common->metrics_port > 65535
                ? hs_err_set(HS_ERR_INVAL, "metrics_port %lld is not a TCP port",
                             (long long)svc->common->metrics_port)
                : hs_metrics_http_start(svc->metrics, bind, (uint16_t)svc->common->metrics_port);
        if (hrc != HS_OK) {
            hs_warn(svc->log, "no metrics endpoint: %s", hs_err_detail());
        } else {
            bool v6 = strchr(bind, ':') != NULL;
            snprintf(svc->metrics_url, sizeof svc->metrics_url, "http://%s%s%s:%lld/metrics",
                     v6 ? "[" : "", bind, v6 ? "]" : "", (long long)svc->common->metrics_port);
            hs_info(svc->log, "Prometheus metrics on %s", svc->metrics_url);
        }
    }
    return rc;
}

/* Logs and publishes one event whose text is msg. */
static void hs__mon(hs_service *svc, hs_proto_mon_level level, const hs_interval *iv,
                    const char *name, const char *msg)
{
    hs_logf(svc->log, level == HS_MON_DEBUG ? HS_LOG_DEBUG : HS_LOG_MON, "%s: %s", name, msg);
    hs_proto_mon_level least = HS_MON_INFO;
    (void)hs_proto_mon_level_parse(svc->common->mon_level, &least); /* checked at start */
    if (svc->mqtt == NULL || level < least)
        return;
    hs_buf b, t;
    hs_buf_init(&b, 0);
    hs_buf_init(&t, 0);
    hs_proto_mon ev = {.service = svc->common->service_id,
                       .t_us = hs_time_now_us(),
                       .name = name,
                       .text = msg,
                       .level = level,
                       .has_interval = iv != NULL && iv->start < iv->end,
                       .interval = iv != NULL && iv->start < iv->end ? *iv : (hs_interval){0, 0}};
    int rc = hs_proto_mon_encode(&b, &ev, strcmp(svc->common->mon_format, "plain") == 0);
    if (rc == HS_OK) {
        const char *topic = svc->common->mon_topic[0] != '\0' ? svc->common->mon_topic
                                                              : hs_service_topic(svc, &t, "mon");
        rc = hs_mqtt_publish(svc->mqtt, topic, b.data, b.len, 0, false, 0);
    }
    if (rc != HS_OK)
        hs_debug(svc->log, "event %s not published: %s", name, hs_strerror(rc));
    hs_buf_free(&b);
    hs_buf_free(&t);
}

void hs_service_mon_at(hs_service *svc, hs_proto_mon_level level, const hs_interval *iv,
                       const char *name, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hs__mon(svc, level, iv, name, msg);
}

void hs_service_mon(hs_service *svc, const char *name, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hs__mon(svc, HS_MON_INFO, NULL, name, msg);
}

void hs_service_destroy(hs_service *svc)
{
    if (svc == NULL)
        return;
    hs_service_stop(svc);
    /*
     * The control thread uses the metrics and the HTTP endpoint's probe the
     * control channel and the connection: both threads end first.
     */
    hs_ctl_stop(svc->ctl);
    hs_metrics_destroy(svc->metrics);
    svc->metrics = NULL;
    if (svc->mqtt != NULL) {
        hs_buf status, topic;
        hs_buf_init(&status, 0);
        hs_buf_init(&topic, 0);
        if (hs__status_payload(svc, &status, HS_PROTO_OFFLINE, HS_PROTO_REASON_STOPPED) == HS_OK)
            (void)hs_mqtt_publish(
                svc->mqtt, hs_service_topic(svc, &topic, "status/%s", svc->common->service_id),
                status.data, status.len, 1, true, 2000);
        (void)hs_mqtt_flush(svc->mqtt, 2000);
        hs_buf_free(&status);
        hs_buf_free(&topic);
        hs_mqtt_destroy(svc->mqtt);
        svc->mqtt = NULL;
    }
    hs_info(svc->log, "stopped");
    hs__svc_free(svc);
}
