/*
 * The control channel of a service: JSON requests on <prefix>/ctl/<id>
 * (MQTT v5 response topic and correlation data, schemas/ctl.json),
 * answered from a connection and a thread of their own so that answers do
 * not wait behind the service's data:
 *   ping, stats              liveness; the current metrics
 *   get [name]               settings (secrets masked) and the settable ones
 *   set name value           a setting the service allows to change at run time
 *   pause, resume            stop / restart taking work (hs_ctl_paused)
 *   drain                    pause, then wait until the service reports idle
 *   shutdown                 stop the service as SIGTERM would
 * Every reply is one JSON object with "ok"; a refusal has "error".
 *
 * A `set` is handed to the service's thread, which applies it in
 * hs_ctl_apply_pending; the control thread waits for the result. The
 * settings are read (`get`) and written under the control channel's lock.
 *
 * hs_ctl_execute answers one request without any connection, so that the
 * request handling can be tested on its own.
 */
#ifndef HS_CTL_H
#define HS_CTL_H

#include "hs_buf.h"
#include "hs_config.h"
#include "hs_log.h"
#include "hs_mqtt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A control request as read from its JSON text. */
typedef struct hs_ctl_request {
    char cmd[32];    /* letters, digits, '_', '-', '.'; "" when absent */
    char name[64];   /* the same; "" when absent */
    char value[512]; /* a string value as is, any other value as JSON text */
} hs_ctl_request;

/*
 * Reads a control request: a JSON object of at most 8 members with "cmd",
 * "name" and "value". On a malformed request returns HS_ERR_PARSE and
 * appends the refusal the service answers with (one JSON object with "ok":
 * false and "error") to reply. HS_ERR_NOMEM when the reply cannot grow.
 */
int hs_ctl_request_read(const void *payload, size_t len, hs_ctl_request *q, hs_buf *reply);

/*
 * Writes a control request as one JSON object (out is reset first):
 * {"cmd", "name" when not "", "value" when not "" or the command is set},
 * value as a JSON string. HS_ERR_INVAL (with detail) for what
 * hs_ctl_request_read would refuse: an empty cmd, cmd or name with other
 * than letters, digits, '_', '-' and '.', fields without their NUL.
 */
int hs_ctl_request_encode(hs_buf *out, const hs_ctl_request *q);

/* What a reply answers (schemas/ctl.json, #/$defs/reply). */
typedef enum hs_ctl_reply_kind {
    HS_CTL_REPLY_ERROR,    /* {ok: false, error} */
    HS_CTL_REPLY_PING,     /* {ok, id, service, version, uptime_s, state} */
    HS_CTL_REPLY_STATS,    /* {ok, stats: the metrics object} */
    HS_CTL_REPLY_SETTINGS, /* get: {ok, settings: {name: text}, settable: [name]} */
    HS_CTL_REPLY_SET,      /* {ok, name, value} */
    HS_CTL_REPLY_STATE,    /* pause, resume, drain, shutdown: {ok, state} */
} hs_ctl_reply_kind;

/* A control reply as read from its JSON text (the text itself says the rest). */
typedef struct hs_ctl_reply {
    bool ok;
    hs_ctl_reply_kind kind;
    char state[16];  /* PING and STATE: online, paused, drained, draining, stopping; else "" */
    char error[512]; /* the refusal, cut short; "" when none */
} hs_ctl_reply;

/* One setting in a get reply: value NULL for a secret (shown as "***"). */
typedef struct hs_ctl_setting {
    const char *name;
    const char *value;
} hs_ctl_setting;

/* A reply to write; which members count depends on kind (see hs_ctl_reply_kind). */
typedef struct hs_ctl_reply_out {
    hs_ctl_reply_kind kind;
    bool ok;           /* false: ERROR, or a STATE that did not complete (a drain timed out) */
    const char *error; /* ERROR; a STATE with !ok */
    const char *id, *service, *version; /* PING */
    double uptime_s;                    /* PING */
    const char *state;                  /* PING, STATE */
    const char *stats_json;             /* STATS: one JSON object, NULL for {} */
    const hs_ctl_setting *settings;     /* SETTINGS */
    size_t nsettings;
    const char *const *settable; /* SETTINGS: the names set accepts */
    size_t nsettable;
    const char *name, *value; /* SET */
} hs_ctl_reply_out;

/*
 * Writes a reply as one JSON object (out is reset first). HS_ERR_INVAL for a
 * reply hs_ctl_reply_decode would refuse (a missing member of its kind, an
 * ERROR without its text, names that are not plain).
 */
int hs_ctl_reply_encode(hs_buf *out, const hs_ctl_reply_out *r);

/*
 * Reads a reply and checks its shape: a JSON object whose members are those
 * of exactly one reply kind, with their types (a drain that timed out is
 * {ok: false, state: "draining"} with an optional error). HS_ERR_PARSE with
 * a detail naming the member for anything else.
 */
int hs_ctl_reply_decode(const void *payload, size_t len, hs_ctl_reply *r);

/* What the control channel asks of its service; every hook may be called from its thread. */
typedef struct hs_ctl_hooks {
    void *ctx; /* borrowed; passed to every hook */
    /* Appends the current metrics JSON object (for `stats`). */
    int (*stats)(void *ctx, hs_buf *out);
    /* Appends the retained status payload for state ("paused"). */
    int (*status)(void *ctx, const char *state, hs_buf *out);
    /* Stops the service (for `shutdown`). */
    void (*stop)(void *ctx);
    /* False once the service stops; the control thread ends then. NULL: until destroy. */
    bool (*running)(void *ctx);
} hs_ctl_hooks;

typedef struct hs_ctl_opts {
    const char *kind;         /* the service kind, copied */
    const char *id;           /* the service id, copied */
    int64_t started_us;       /* wall-clock start, for uptime */
    const hs_cfg_item *table; /* borrowed: the settings */
    void *cfg;                /* borrowed: the config struct the table describes */
    hs_log *log;              /* borrowed */
    hs_ctl_hooks hooks;       /* NULL hooks: `stats` answers {}, no status, no stop */
    int64_t set_timeout_us;   /* how long `set` waits for the service (0: 5 s) */
    int64_t drain_timeout_us; /* how long `drain` waits for idle (0: 30 s) */
} hs_ctl_opts;

typedef struct hs_ctl hs_ctl;

/*
 * Creates a control channel that allows `set` of log_level and
 * metrics_interval. Not connected: hs_ctl_start connects it. The caller
 * frees it with hs_ctl_destroy. HS_ERR_INVAL, HS_ERR_NOMEM.
 */
int hs_ctl_create(hs_ctl **out, const hs_ctl_opts *o);

/*
 * Ends the control thread (waiting for a request under way) and
 * disconnects; everything else keeps working. Idempotent, NULL-safe.
 */
void hs_ctl_stop(hs_ctl *c);

/* hs_ctl_stop, then frees. NULL-safe. */
void hs_ctl_destroy(hs_ctl *c);

/* Allows `set` of a setting at run time (name is copied). HS_ERR_LIMIT past 32, HS_ERR_NOMEM. */
int hs_ctl_allow_set(hs_ctl *c, const char *name);

/*
 * Answers one request (payload as received) by appending its JSON reply.
 * `set` waits for hs_ctl_apply_pending on another thread; `drain` for
 * hs_ctl_set_idle(c, true). Returns HS_OK whether the request succeeded or
 * was refused (the reply says which), HS_ERR_NOMEM when the reply cannot
 * grow.
 */
int hs_ctl_execute(hs_ctl *c, const void *payload, size_t len, hs_buf *reply);

/*
 * Applies a `set` waiting for the service's thread, if any: validates it
 * (log_level must be a level; numeric settings must be positive), stores
 * it and, for log_level, sets the log's level. Call it from the service's
 * loop.
 */
void hs_ctl_apply_pending(hs_ctl *c);

/* Whether a pause (or drain) was asked and no resume since. */
bool hs_ctl_paused(const hs_ctl *c);

/* The service says whether it has nothing in flight (drain completes then). */
void hs_ctl_set_idle(hs_ctl *c, bool idle);

/*
 * Whether the retained status says "paused" (set by pause and drain);
 * hs_ctl_status_shown_online clears it once the service announced
 * "online" again.
 */
bool hs_ctl_status_paused(const hs_ctl *c);
void hs_ctl_status_shown_online(hs_ctl *c);

/*
 * Connects with o (copied; its client id should differ from the service's
 * own), subscribes to topic and starts the thread answering requests there
 * on their response topics. "paused" is published, retained, on
 * status_topic (copied) through the same connection. HS_ERR_STATE when
 * started already, the errors of hs_mqtt_create / connect / subscribe,
 * HS_ERR_IO when the thread cannot start.
 */
int hs_ctl_start(hs_ctl *c, const hs_mqtt_opts *o, const char *topic, const char *status_topic);

#endif
