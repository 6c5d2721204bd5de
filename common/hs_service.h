/*
 * The runtime every service shares: command line and configuration layers,
 * logging, signal handling, the MQTT connection with a retained status
 * (online/offline, with a last will), dead-lettering, and periodic metrics.
 *
 * A service defines its config struct with `hs_service_cfg common` as the
 * first member and a config table of its own settings only; the common
 * settings (hs_service_cfg_table) come first in every layer, in --help and
 * in --print-config.
 *
 * The parts: this file (lifecycle: options, config, signals, status, dead
 * letters, monitoring events, the periodic tick), hs_metrics.h (counters,
 * latency histogram, Prometheus endpoint) and hs_ctl.h (the control
 * channel), which the service runtime wires together.
 *
 *   int main(int argc, char **argv) {
 *       my_cfg cfg;
 *       hs_service *svc;
 *       int rc = hs_service_init(&svc, "writer", my_table, &cfg, argc, argv);
 *       if (rc != HS_OK) return hs_service_exit_code(rc);
 *       ...connect, loop while hs_service_running(svc)...
 *       hs_service_destroy(svc);
 *   }
 */
#ifndef HS_SERVICE_H
#define HS_SERVICE_H

#include "hs_buf.h"
#include "hs_config.h"
#include "hs_log.h"
#include "hs_metrics.h"
#include "hs_mqtt.h"
#include "hs_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Settings every service has. */
typedef struct hs_service_cfg {
    char *service_id; /* stable id: status, ctl and metrics topics; default the service kind */
    char *broker_url; /* MQTT broker */
    char *store_url;  /* sqlite:///path or mongodb://... */
    char *prefix;     /* topic prefix */
    char *log_level;
    char *mqtt_username;
    char *mqtt_password;
    char *mqtt_ca_file;
    char *writer_id; /* service id of the writer (its status topic) */
    int64_t metrics_interval_us;
    int64_t connect_timeout_us; /* how long to wait for the broker at start (0: forever) */
    int64_t metrics_port;       /* HTTP port of the Prometheus endpoint (0: off) */
    char *metrics_bind;         /* address it listens on (default 127.0.0.1) */
    char *mon_topic;            /* topic of monitoring events ("" = <prefix>/mon) */
    char *mon_format;           /* "plain" or "senml" */
    char *plugin_dir;           /* tool plugins (*.so): tool runtimes and the scheduler load them */
    char *log_file;             /* "" = log to stderr; else the file stdout and stderr go to */
    int64_t log_max_bytes;      /* rotate log_file at this size (0: never) */
    int64_t log_keep;           /* rotated log files kept (log_file.1 ...) */
    char *mon_level;            /* least level of events published: debug, info, warn, error */
} hs_service_cfg;

/*
 * The table of the settings every service has, with offsets into
 * hs_service_cfg. hs_service_init applies it together with the service's
 * own table, whose offsets are into the service's config struct.
 */
extern const hs_cfg_item hs_service_cfg_table[];

typedef struct hs_service hs_service;

/* Returned by hs_service_init when the command line asked for something
 * that is done already (--help, --version, --print-config): exit 0. */
#define HS_SERVICE_DONE 1

/*
 * Parses the command line (--config FILE, --set NAME=VALUE (repeatable),
 * --print-config, --help, --version, plus the service's own options given
 * in extra_usage, which the service parses itself from the remaining
 * arguments via hs_service_args), loads configuration layers into cfg,
 * creates the logger, installs SIGTERM/SIGINT handlers and sets umask 077.
 * table holds the service's own settings (hs_service_cfg_table is applied
 * with it); table and cfg are borrowed until hs_service_destroy, which frees
 * the strings of cfg. Returns HS_OK, HS_SERVICE_DONE, or an error (already
 * printed to stderr).
 */
int hs_service_init(hs_service **out, const char *kind, const hs_cfg_item *table, void *cfg,
                    int argc, char **argv);

/* The exit status for a return code of hs_service_init or the run: 0, 1 (config) or 2. */
int hs_service_exit_code(int rc);

/*
 * Connects to the broker (waiting as configured) with the last will
 * "offline" on the retained status topic. persistent asks for a persistent
 * receive session (client id = service id).
 */
int hs_service_connect(hs_service *svc, bool persistent);

/*
 * Publishes the retained status "online": call it once the service has
 * subscribed and can do its work, so that "online" means ready.
 */
int hs_service_ready(hs_service *svc);

hs_mqtt *hs_service_mqtt(hs_service *svc);

struct hs_wclient_opts;
/*
 * Fills write-client options from the service's settings: broker, credentials,
 * prefix, the service id as sender, the writer's id and the service's log.
 * The strings are borrowed from the service's config.
 */
void hs_service_wclient_opts(hs_service *svc, struct hs_wclient_opts *o);
hs_log *hs_service_log(hs_service *svc);
const char *hs_service_id(const hs_service *svc);
const char *hs_service_prefix(const hs_service *svc);
/* Start time in microseconds; also this run's incarnation number. */
int64_t hs_service_started_us(const hs_service *svc);

/* False once SIGTERM or SIGINT arrived (or hs_service_stop was called). */
bool hs_service_running(const hs_service *svc);
void hs_service_stop(hs_service *svc);

/*
 * Builds "<prefix>/<suffix>" into out (reset first) and returns its text.
 */
const char *hs_service_topic(const hs_service *svc, hs_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Publishes rejected input on <prefix>/dead/<kind> as JSON
 * (hs_proto_dead_letter_encode, schemas/dead-letter.json): the reason, the
 * MQTT topic it came on, the stream it concerns (stream: NULL for none) and
 * the payload read as kind says (text, msgpack shown as JSON, else base64
 * with the reason it could not be read); logs it at WARN (rate-limited) and
 * counts it.
 */
void hs_service_dead_letter_as(hs_service *svc, const char *reason, const char *topic,
                               const char *stream, hs_proto_payload_kind kind, const void *payload,
                               size_t len);

/* hs_service_dead_letter_as with no stream and HS_PAYLOAD_AUTO. */
void hs_service_dead_letter(hs_service *svc, const char *reason, const char *topic,
                            const void *payload, size_t len);

/* Counters a service reports in its metrics (hs_metrics.h). */
typedef hs_metrics_counters hs_service_counters;

/* The service's counters. */
hs_service_counters *hs_service_counters_get(hs_service *svc);

/*
 * Records one latency (a job's duration, a commit's delay...) in
 * microseconds; metrics report its p50, p95 and p99. Thread-safe.
 */
void hs_service_observe_us(hs_service *svc, int64_t us);

/*
 * Starts the control channel (hs_ctl.h) on <prefix>/ctl/<service-id>, from
 * its own connection and thread, and, when metrics_port is set, the
 * Prometheus endpoint (a port in use is logged, not an error). Settings are
 * changed on the service's own thread, in hs_service_tick.
 */
int hs_service_ctl_start(hs_service *svc);

/*
 * The retained status's "tools" of a tool runtime (its tool name or "all";
 * NULL: none), copied. Set it before hs_service_connect, so that the last
 * will carries it too. HS_ERR_NOMEM (the previous value stays).
 */
int hs_service_set_status_tools(hs_service *svc, const char *tools);

/* Allows `set` of a setting at run time (log_level and metrics_interval always are). */
void hs_service_allow_set(hs_service *svc, const char *name);

/* Whether the service was asked to pause (or drain); services stop taking new work. */
bool hs_service_paused(const hs_service *svc);

/*
 * For services that must act before work may be sent to them again (a tool
 * runtime re-joining its shared subscriptions): hs_service_manual_resume
 * stops hs_service_tick from announcing "online" after a resume, and the
 * service calls hs_service_resumed once it is ready.
 */
void hs_service_manual_resume(hs_service *svc);
void hs_service_resumed(hs_service *svc);

/* Services say when they have nothing in flight (drain completes then). */
void hs_service_set_idle(hs_service *svc, bool idle);

/*
 * Publishes a monitoring event on mon_topic (QoS 0) when level is at least
 * mon_level, and logs it (at DEBUG for debug events, else at MON): name is
 * the event ("workflow_start", "job_failed"...; docs/OPERATIONS.md lists
 * them), iv the interval it is about (NULL: none), the rest its text.
 * Format senml: {"uid","bt","level",["interval","interval_us",]"e":[{"n","vs"}]};
 * plain: "<ISO> MON <id> <level> <name>: <msg>".
 */
void hs_service_mon_at(hs_service *svc, hs_proto_mon_level level, const hs_interval *iv,
                       const char *name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* hs_service_mon_at at level info, about no interval. */
void hs_service_mon(hs_service *svc, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Periodic housekeeping: publishes metrics every metrics_interval. Call it
 * from the service loop at least every few hundred milliseconds.
 */
void hs_service_tick(hs_service *svc);

/*
 * Gives the memory the allocator holds free back to the system. The tick
 * does it once the receive queue is empty after a burst of messages; a
 * service that has just released a cache of its own can call it too.
 */
void hs_service_release_memory(void);

/* Publishes status "offline" (reason "stopped"), disconnects and frees. NULL-safe. */
void hs_service_destroy(hs_service *svc);

/* Remaining command-line arguments the runtime did not consume (service-specific). */
int hs_service_args(const hs_service *svc, char ***argv);

#endif
