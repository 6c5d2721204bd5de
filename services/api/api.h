/*
 * hs-api: the stack's HTTP service (docs/HTTP.md). REST under /api/v1/,
 * HTTP ingest (/api/v1/write, /api/v2/write), the Prometheus query API and
 * the dashboard's static files.
 *
 * Threads: libmicrohttpd runs a thread per connection, which runs the
 * handlers; the service's own thread runs the MQTT side (api_bus.c): it
 * receives replies of the scheduler, retained statuses, dead letters and the
 * live data of Server-Sent Events and hands them to the handler threads that
 * wait for them. The write client (hs_wclient) has its own thread for the
 * writer's acknowledgements. The store is read through a pool of read-only
 * handles, one per request in flight.
 */
#ifndef HS_API_H
#define HS_API_H

#include "apicore.h"
#include "hs_buf.h"
#include "hs_map.h"
#include "hs_schemaset.h"
#include "hs_service.h"
#include "hs_store.h"
#include "hs_wclient.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct MHD_Connection;

typedef struct api_cfg {
    hs_service_cfg common;
    int64_t http_port;
    char *http_bind;
    char *accounts_file; /* name:role:sha256(secret) lines; "" = every request is admin */
    char *tls_cert_file; /* PEM; with tls_key_file: HTTPS */
    char *tls_key_file;
    int64_t max_body_bytes;
    int64_t max_connections;
    int64_t store_handles;
    int64_t write_timeout_us;   /* how long a write waits for the writer's acknowledgement */
    int64_t request_timeout_us; /* how long a scheduler request waits for its reply */
    char *scheduler_id;
    int64_t prom_lookback_us; /* a sample is current this long after its time */
    int64_t prom_max_points;  /* most points of one series in one query_range */
    char *web_dir;            /* the dashboard's files ("" = none) */
    int64_t dead_keep;        /* dead letters kept for GET /api/v1/dead */
    char *schemas;            /* input schemas file, as ingest's (docs/SCHEMAS.md; "" = none) */
} api_cfg;

extern const hs_cfg_item api_cfg_table[];

typedef enum api_role {
    API_ROLE_NONE = 0,
    API_ROLE_DEVICE,
    API_ROLE_READER,
    API_ROLE_ADMIN
} api_role;

typedef struct api_account {
    char *name;
    api_role role;
    uint8_t sha256[32];
} api_account;

/* One waiter of a scheduler reply (correlation id). */
typedef struct api_waiter {
    uint64_t corr;
    bool done;
    hs_buf reply;
    struct api_waiter *next;
} api_waiter;

/* One Server-Sent Events client: messages whose topic matches filter. */
typedef struct api_sub {
    char filters[2][512]; /* MQTT filters (with the prefix) */
    int nfilters;
    hs_buf queue;  /* SSE text waiting to be sent */
    bool dropped;  /* queue overflowed: the client is told and closed */
    bool closed;   /* ends once its queue is sent (a request's final progress came) */
    bool progress; /* a request's progress: ends after its final state (done, failed, cancelled) */
    struct api_sub *next;
} api_sub;

typedef struct api {
    hs_service *svc;
    const api_cfg *cfg;
    hs_mqtt *mqtt;
    hs_wclient *wc;
    struct MHD_Daemon *http;
    char reply_topic[256];

    api_account *accounts;
    size_t naccounts;

    /* input schemas: the config file's and the workflows' (hs/schemas/+), under schemas_mu */
    hs_schemaset *schemas;
    pthread_mutex_t schemas_mu;
    /* the tools this hs-api knows (built in, and plugin_dir's), built at start, read-only */
    struct hs_tool_registry *tools;

    /* store pool */
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    hs_store **pool;
    size_t npool, pool_free; /* handles opened; the first pool_free of pool are idle */
    size_t pool_open;

    /* the bus: everything below is under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t next_corr;
    api_waiter *waiters;
    hs_map status; /* service id -> its last status JSON (char *) */
    char **dead;   /* ring of the last dead letters (JSON with "topic" and "received") */
    size_t dead_head, dead_n;
    api_sub *subs;
    /* MQTT filter -> number of subs using it (intptr_t); changed under sub_mu and mu, it holds
       the filters subscribed at the broker */
    hs_map subscribed;
    apic_copies copies; /* the broker's extra copies of live messages (overlapping filters) */
    hs_map acks;        /* seq text -> api_ack * (write acknowledgements not yet taken) */
    /* set (under mu and pool_mu) by api_bus_stop: every wait of a handler ends */
    atomic_bool stopping;
    pthread_mutex_t sub_mu; /* serializes hs_mqtt_subscribe/unsubscribe from handler threads */
    /* serializes hs_service_dead_letter (it encodes into the service's one scratch buffer) */
    pthread_mutex_t dead_mu;
} api;

typedef struct api_ack {
    int status;
    uint64_t inserted, duplicates, conflicts;
    int64_t at_us;
    char *error;
} api_ack;

/* ---- a request being answered (api.c) ---- */

typedef struct api_req {
    api *a;
    struct MHD_Connection *conn;
    const char *method;
    const char *path; /* the URL path, without the query */
    api_role role;
    hs_buf body;
    bool body_too_large;
    /* form parameters of a POST body (application/x-www-form-urlencoded): key\0value\0... */
    hs_buf form;
    size_t nform;
    bool queued; /* a response was queued */
    int mhd_rc;  /* the MHD result of the queued response */
} api_req;

/*
 * Reads a form body (application/x-www-form-urlencoded, as the Prometheus
 * API's POST takes) into r's parameters; the body stays as sent. Only the
 * handlers that take form parameters call it.
 */
int api_form_parse(api_req *r);
/* Value of query (or, after api_form_parse, form-body) parameter name, or NULL. */
const char *api_param(api_req *r, const char *name);
/* Calls fn for each value of a parameter given several times (match[]). */
void api_params_each(api_req *r, const char *name, void (*fn)(void *ud, const char *v), void *ud);
/* A request header, or NULL. */
const char *api_header(api_req *r, const char *name);

/* Answers with status and body (copied) of the content type. */
void api_send(api_req *r, unsigned status, const char *type, const void *body, size_t len);
void api_send_json(api_req *r, unsigned status, const hs_buf *json);
/* 200 with json when rc (of building it) is HS_OK, else 500 out of memory. */
void api_answer_json(api_req *r, int rc, const hs_buf *json);
/* {<members>"<key>": msg} with status: members is JSON text ("" or ending in a comma). */
void api_error_obj(api_req *r, unsigned status, const char *members, const char *key,
                   const char *msg);
/* {"error": "<printf text>"} with status. */
void api_error(api_req *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answers with a response streamed by fill (libmicrohttpd content reader); done frees ud. */
typedef ssize_t (*api_fill_fn)(void *ud, uint64_t pos, char *buf, size_t max);
void api_send_stream(api_req *r, unsigned status, const char *type, api_fill_fn fill,
                     void (*done)(void *ud), void *ud);
/* A user time (ISO-8601, epoch seconds, now, -1h) of parameter name, or dflt when absent. */
bool api_time_param(api_req *r, const char *name, int64_t dflt, int64_t *out);

/* Takes a read-only store handle (waits for one); NULL after answering 503. */
hs_store *api_store_get(api_req *r);
void api_store_put(api *a, hs_store *s);

/* ---- the MQTT side (api_bus.c) ---- */

int api_bus_start(api *a);
/* Handles one message of the service's MQTT loop. */
void api_bus_on_message(api *a, hs_mqtt_msg *m);
/* Drops acknowledgements nobody took for long (called from the loop). */
void api_bus_tick(api *a);
/*
 * Sends a JSON request to the scheduler's API and waits for the reply
 * (into reply). HS_OK, or HS_ERR_TIMEOUT / the publish error.
 */
int api_bus_scheduler(api *a, const char *json, hs_buf *reply);
/*
 * Waits until the writer acknowledged seq, at most until the monotonic time
 * until_us (hs_time_mono_us; a request's writes share one write_timeout);
 * into *ack. HS_ERR_TIMEOUT, or HS_ERR_CLOSED when hs-api is stopping.
 */
int api_bus_wait_ack(api *a, uint64_t seq, int64_t until_us, api_ack *ack);
void api_bus_ack(void *ud, const hs_wack *ack);
/*
 * A Server-Sent Events subscription to up to two MQTT filters (with the
 * prefix); NULL with an error detail when the broker refuses them.
 */
api_sub *api_bus_sub(api *a, const char *const *filters, int n);
/* Waits up to timeout_ms for queued events of s and moves up to max bytes into buf; 0 when
 * none came, -1 when the subscription ended (service stopping, queue overflow). */
ssize_t api_bus_sub_take(api *a, api_sub *s, char *buf, size_t max, int timeout_ms);
void api_bus_unsub(api *a, api_sub *s);
/*
 * Ends every wait of a handler thread (scheduler replies, write
 * acknowledgements, live streams, store handles) and every later one, so
 * that stopping the HTTP daemon, which joins the connections' threads, does
 * not wait for them.
 */
void api_bus_stop(api *a);
void api_bus_free(api *a);
/* Whether a request's progress (or its document) says a final state: done, failed, cancelled. */
bool api_progress_final(const char *json, size_t len);

/* ---- handlers: true when the path was theirs (answered) ---- */
bool api_read_route(api_req *r);
bool api_write_route(api_req *r);
bool api_prom_route(api_req *r);
bool api_ops_route(api_req *r);

int api_create(api **out, hs_service *svc, const api_cfg *cfg);
int api_run(api *a);
void api_destroy(api *a);

#endif
