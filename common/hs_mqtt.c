/*
 * hs_mqtt: the MQTT v5 client of every service, over Paho MQTTAsync.
 *
 * Threads and locking. Three kinds of thread touch an hs_mqtt: the
 * service's threads (the API), Paho's two process-wide threads (callbacks:
 * connect results, acknowledgements, arriving messages, lost connections)
 * and the client's own keeper thread, which makes every connect attempt
 * (first connects, reconnects with backoff) and renews subscriptions. One
 * mutex (lock) guards all mutable state of a client. Paho calls our
 * callbacks while it may hold its own process-wide mutex, so lock is never
 * held while calling into Paho: the order is always Paho's mutex, then
 * ours. Two process-wide locks exist besides (see below): the registry lock
 * is taken before Paho's, the delivery gate's lock last of all.
 *
 * Condition variables: cond (connection state and completed requests),
 * win_cond (publish slots, flush), rx_ready (queue not empty), keeper_cond
 * (work for the keeper). A delivery waiting for room waits at the delivery
 * gate instead (below).
 */
#include "hs_mqtt.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_time.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define HS__MQTT_BACKOFF_MIN_MS 100
#define HS__MQTT_BACKOFF_MAX_MS 2000
#define HS__MQTT_DISCONNECT_MS  200  /* destroy: time Paho gets for in-flight acknowledgements */
#define HS__MQTT_CLOSE_WAIT_MS  3000 /* destroy: longest wait for a disconnect to complete */
#define HS__MQTT_PAHO_CONNECT_S 10   /* Paho's own limit on one connect attempt */
#define HS__MQTT_POKES          25   /* wake-ups of Paho's receiving thread per connect... */
#define HS__MQTT_POKE_MS        20   /* ...this far apart (see hs__mqtt_poke) */
#define HS__MQTT_CLIENT_ID_MAX  256
#define HS__MQTT_TOPIC_MAX      65535
#define HS__MQTT_PAYLOAD_MAX    268435455 /* the largest MQTT packet body */
#define HS__MQTT_DETAIL_MAX     200

/*
 * The delivery gate. Paho (1.3.11) calls messageArrived for every client of
 * the process on one thread and holds its process-wide mutex meanwhile, so
 * a delivery that waits for room in a full queue stalls every Paho call and
 * every acknowledgement in the process. A delivery therefore waits only
 * while no thread is inside hs_mqtt calling Paho or waiting for it
 * (hs__mqtt_busy); such a thread opens the gate, and the delivery then goes
 * into the queue beyond its bound. These are process-wide because Paho's
 * threads are; they are initialized statically and never destroyed.
 */
static atomic_int hs__mqtt_busy;       /* threads inside hs_mqtt using Paho */
static atomic_int hs__mqtt_blocked;    /* deliveries waiting at the gate */
static atomic_ulong hs__mqtt_gate_gen; /* bumped whenever a waiting delivery should look again */
static pthread_mutex_t hs__mqtt_gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hs__mqtt_gate_cv = PTHREAD_COND_INITIALIZER;

/* Every live client of the process, for hs__mqtt_poke (create adds, destroy removes). */
static pthread_mutex_t hs__mqtt_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static hs_mqtt *hs__mqtt_registry;

/* A received message in the queue; msg and its strings share this allocation. */
typedef struct hs__mqtt_item {
    struct hs__mqtt_item *next;
    size_t cost; /* bytes counted against rx_queue_max_bytes */
    hs_mqtt_msg msg;
} hs__mqtt_item;

/* A remembered subscription. */
typedef struct hs__mqtt_sub {
    char *filter; /* owned */
    int qos;
} hs__mqtt_sub;

/*
 * A request whose completion a caller waits for (subscribe, unsubscribe,
 * disconnect). Shared by the caller and Paho's callback; whoever lets go
 * last frees it, so a caller that stops waiting leaves nothing dangling.
 */
typedef struct hs__mqtt_op {
    hs_mqtt *m; /* borrowed */
    int refs;
    bool done;
    int code; /* 0, a Paho error code (< 0) or an MQTT reason code (>= 0x80) */
} hs__mqtt_op;

/* One of the two Paho connections. */
typedef struct hs__mqtt_conn {
    hs_mqtt *m;  /* borrowed: the owner */
    MQTTAsync h; /* owned Paho handle; NULL until created */
    bool is_rx;  /* the receive connection */
    bool want;   /* the owner wants it up (the keeper (re)connects it) */
    atomic_bool connected;
    bool attempting;         /* a connect request is outstanding in Paho */
    bool fatal;              /* the last attempt failed for good (e.g. bad credentials) */
    bool need_resub;         /* connected without a session: renew subscriptions */
    int backoff_ms;          /* delay before the next attempt after a failure */
    int64_t next_attempt_us; /* monotonic time of the next attempt */
    uint64_t connects;       /* successful connects */
    char last_error[HS__MQTT_DETAIL_MAX];
} hs__mqtt_conn;

/*
 * A receiver waiting for the queue (hs_mqtt_recv) first lingers (a short
 * wait that only a batch of messages cuts short), then sleeps (any message
 * wakes it).
 */
#define HS__MQTT_RX_LINGER_US  1000
#define HS__MQTT_RX_WAKE_BATCH 64

struct hs_mqtt {
    hs_mqtt_opts o; /* copy of the options; its strings point into owned copies below */
    char *url;      /* owned; normalized to tcp:// or ssl:// */
    char *client_id, *username, *password, *will_topic, *ca_file, *cert_file, *key_file; /* owned */
    void *will_payload;                                                                  /* owned */
    bool tls;

    pthread_mutex_t lock;
    pthread_cond_t cond, win_cond, rx_ready, keeper_cond;
    pthread_t keeper;
    bool keeper_started;
    bool closing;    /* hs_mqtt_destroy has begun */
    bool woken;      /* hs_mqtt_wake was called */
    int deliveries;  /* hs__mqtt_on_message calls in progress */
    int64_t hold_us; /* longest wait of one delivery for room: a quarter keepalive */

    hs__mqtt_conn tx, rx;

    hs__mqtt_item *q_head, *q_tail; /* owned receive queue */
    size_t q_count, q_bytes;
    int rx_lingering, rx_sleeping; /* receivers waiting in each way */

    int inflight;    /* QoS 1 publishes awaiting PUBACK */
    int qos0_queued; /* QoS 0 publishes not yet written */

    hs__mqtt_sub *subs; /* owned array */
    size_t nsubs, subs_cap;

    hs_mqtt_stats st; /* counters (rx_queued/inflight filled in on read) */

    hs_mqtt *reg_prev, *reg_next; /* hs__mqtt_registry links (under its lock) */
};

/* ---- Small helpers ------------------------------------------------------ */

static int64_t hs__mqtt_deadline(int timeout_ms)
{
    if (timeout_ms < 0)
        return -1;
    return hs_time_mono_us() + (int64_t)timeout_ms * HS_US_PER_MS;
}

static bool hs__mqtt_expired(int64_t deadline_us)
{
    return deadline_us >= 0 && hs_time_mono_us() >= deadline_us;
}

/*
 * Waits on cv until signalled or until deadline_us (monotonic; < 0: no
 * deadline). Callers re-check their condition and hs__mqtt_expired.
 */
static void hs__mqtt_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_us)
{
    if (deadline_us < 0) {
        pthread_cond_wait(cv, mu);
        return;
    }
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline_us / HS_US_PER_S);
    ts.tv_nsec = (long)(deadline_us % HS_US_PER_S) * 1000L;
    pthread_cond_timedwait(cv, mu, &ts);
}

/* Wakes deliveries waiting at the gate so that they look at their state again. */
static void hs__mqtt_gate_open(void)
{
    if (atomic_load(&hs__mqtt_blocked) == 0)
        return;
    pthread_mutex_lock(&hs__mqtt_gate_lock);
    atomic_fetch_add(&hs__mqtt_gate_gen, 1);
    pthread_cond_broadcast(&hs__mqtt_gate_cv);
    pthread_mutex_unlock(&hs__mqtt_gate_lock);
}

/* Brackets every call into Paho and every wait for one of its callbacks. */
static void hs__mqtt_busy_enter(void)
{
    atomic_fetch_add(&hs__mqtt_busy, 1);
    hs__mqtt_gate_open();
}

static void hs__mqtt_busy_leave(void)
{
    atomic_fetch_sub(&hs__mqtt_busy, 1);
}

/* Describes a Paho return code or an MQTT reason code. */
static void hs__mqtt_describe(char *buf, size_t len, int code, const char *message)
{
    const char *what = NULL;
    if (code >= 0x80)
        what = MQTTReasonCode_toString((enum MQTTReasonCodes)code);
    else if (code < 0)
        what = MQTTAsync_strerror(code);
    if (what == NULL)
        what = "error";
    if (message != NULL && message[0] != '\0')
        snprintf(buf, len, "%s (%d): %s", what, code, message);
    else
        snprintf(buf, len, "%s (%d)", what, code);
}

static int hs__mqtt_paho_err(int code, const char *what)
{
    char d[HS__MQTT_DETAIL_MAX];
    hs__mqtt_describe(d, sizeof d, code, NULL);
    return hs_err_set(HS_ERR_MQTT, "%s: %s", what, d);
}

/* CONNACK reason codes that another attempt cannot change. */
static bool hs__mqtt_fatal_reason(int code)
{
    switch (code) {
    case MQTTREASONCODE_UNSUPPORTED_PROTOCOL_VERSION:
    case MQTTREASONCODE_CLIENT_IDENTIFIER_NOT_VALID:
    case MQTTREASONCODE_BAD_USER_NAME_OR_PASSWORD:
    case MQTTREASONCODE_NOT_AUTHORIZED:
    case MQTTREASONCODE_BANNED:
    case MQTTREASONCODE_BAD_AUTHENTICATION_METHOD:
    case MQTTREASONCODE_TOPIC_NAME_INVALID:
    case MQTTREASONCODE_PACKET_TOO_LARGE:
    case MQTTREASONCODE_RETAIN_NOT_SUPPORTED:
    case MQTTREASONCODE_QOS_NOT_SUPPORTED:
        return true;
    default:
        return false;
    }
}

/* Synchronous Paho errors of MQTTAsync_connect that mean the options are wrong. */
static bool hs__mqtt_fatal_call(int rc)
{
    switch (rc) {
    case MQTTASYNC_BAD_UTF8_STRING:
    case MQTTASYNC_NULL_PARAMETER:
    case MQTTASYNC_BAD_STRUCTURE:
    case MQTTASYNC_BAD_QOS:
    case MQTTASYNC_SSL_NOT_SUPPORTED:
    case MQTTASYNC_BAD_PROTOCOL:
    case MQTTASYNC_BAD_MQTT_OPTION:
    case MQTTASYNC_WRONG_MQTT_VERSION:
    case MQTTASYNC_0_LEN_WILL_TOPIC:
        return true;
    default:
        return false;
    }
}

/* A topic name one may publish to: non-empty, no wildcards, not too long. */
static bool hs__mqtt_topic_valid(const char *topic)
{
    if (topic == NULL || topic[0] == '\0')
        return false;
    size_t n = strcspn(topic, "+#");
    return topic[n] == '\0' && n <= HS__MQTT_TOPIC_MAX;
}

/* A well-formed filter: each level "+", a final "#", or free of wildcards. */
static bool hs__mqtt_filter_valid(const char *f)
{
    if (f == NULL || f[0] == '\0' || strlen(f) > HS__MQTT_TOPIC_MAX)
        return false;
    for (const char *p = f;;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 1 && p[0] == '#') {
            if (end != NULL)
                return false;
        } else if (!(n == 1 && p[0] == '+')) {
            for (size_t i = 0; i < n; i++)
                if (p[i] == '+' || p[i] == '#')
                    return false;
        }
        if (end == NULL)
            return true;
        p = end + 1;
    }
}

/* Splits "$share/group/filter" into its filter; NULL when malformed. Other filters pass. */
static const char *hs__mqtt_unshare(const char *f)
{
    static const char prefix[] = "$share/";
    if (strncmp(f, prefix, sizeof prefix - 1) != 0)
        return f;
    const char *group = f + sizeof prefix - 1;
    const char *slash = strchr(group, '/');
    if (slash == NULL || slash == group || slash[1] == '\0')
        return NULL;
    for (const char *p = group; p < slash; p++)
        if (*p == '+' || *p == '#')
            return NULL;
    return slash + 1;
}

bool hs_mqtt_topic_matches(const char *filter, const char *topic)
{
    if (filter == NULL || topic == NULL || topic[0] == '\0' || topic[strcspn(topic, "+#")] != '\0')
        return false;
    filter = hs__mqtt_unshare(filter);
    if (filter == NULL || !hs__mqtt_filter_valid(filter))
        return false;
    if (topic[0] == '$' && (filter[0] == '+' || filter[0] == '#'))
        return false;
    const char *f = filter, *t = topic;
    for (;;) {
        if (f[0] == '#')
            return true; /* validated: '#' is the last level */
        const char *fe = f + strcspn(f, "/");
        const char *te = t + strcspn(t, "/");
        bool plus = fe - f == 1 && f[0] == '+';
        if (!plus && (fe - f != te - t || memcmp(f, t, (size_t)(fe - f)) != 0))
            return false;
        if (*fe == '\0')
            return *te == '\0';
        if (*te == '\0')
            return strcmp(fe, "/#") == 0; /* "a/#" matches its parent "a" */
        f = fe + 1;
        t = te + 1;
    }
}

/* ---- Options ------------------------------------------------------------ */

void hs_mqtt_opts_init(hs_mqtt_opts *o)
{
    memset(o, 0, sizeof *o);
    o->session_expiry_s = 86400;
    o->keepalive_s = 10;
    o->max_inflight = 100;
    o->rx_queue_max = 10000;
    o->rx_queue_max_bytes = 64u * 1024u * 1024u;
    o->connect_timeout_ms = 10000;
    o->will_retain = true;
    o->will_qos = 1;
}

/* Copies s into *dst (NULL stays NULL); false when out of memory. */
static bool hs__mqtt_dup(char **dst, const char *s)
{
    *dst = NULL;
    if (s == NULL)
        return true;
    *dst = hs_strdup(s);
    return *dst != NULL;
}

/* Copies url into *out with its scheme normalized for Paho; HS_ERR_INVAL (detail set) when unknown.
 */
static int hs__mqtt_normalize_url(const char *url, char **out, bool *tls)
{
    static const struct {
        const char *in, *out;
        bool tls;
    } schemes[] = {
        {"tcp://", "tcp://", false},
        {"mqtt://", "tcp://", false},
        {"ssl://", "ssl://", true},
        {"mqtts://", "ssl://", true},
    };
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i].in);
        if (strncmp(url, schemes[i].in, n) != 0)
            continue;
        if (url[n] == '\0')
            return hs_err_set(HS_ERR_INVAL, "MQTT URL %s has no host", url);
        size_t len = strlen(schemes[i].out) + strlen(url + n) + 1;
        *out = hs_malloc(len);
        if (*out == NULL)
            return HS_ERR_NOMEM;
        snprintf(*out, len, "%s%s", schemes[i].out, url + n);
        *tls = schemes[i].tls;
        return HS_OK;
    }
    return hs_err_set(HS_ERR_INVAL,
                      "MQTT URL %s: scheme must be tcp://, mqtt://, ssl:// or mqtts://", url);
}

/* ---- Paho callbacks ----------------------------------------------------- */

static void hs__mqtt_on_connect_ok(void *ctx, MQTTAsync_successData5 *r)
{
    hs__mqtt_conn *c = ctx;
    hs_mqtt *m = c->m;
    pthread_mutex_lock(&m->lock);
    c->attempting = false;
    atomic_store(&c->connected, true);
    c->fatal = false;
    c->backoff_ms = HS__MQTT_BACKOFF_MIN_MS;
    c->last_error[0] = '\0';
    if (c->connects++ > 0)
        m->st.reconnects++;
    if (c->is_rx && !(r != NULL && r->alt.connect.sessionPresent) && m->nsubs > 0)
        c->need_resub = true;
    pthread_cond_broadcast(&m->cond);
    pthread_cond_broadcast(&m->win_cond);
    pthread_cond_signal(&m->keeper_cond);
    pthread_mutex_unlock(&m->lock);
}

static void hs__mqtt_on_connect_fail(void *ctx, MQTTAsync_failureData5 *r)
{
    hs__mqtt_conn *c = ctx;
    hs_mqtt *m = c->m;
    int code = MQTTASYNC_FAILURE;
    const char *message = NULL;
    if (r != NULL) {
        /* A refused CONNACK arrives as its reason code in one field or the other. */
        code = r->reasonCode >= 0x80 ? (int)r->reasonCode : r->code;
        message = r->message;
    }
    pthread_mutex_lock(&m->lock);
    c->attempting = false;
    atomic_store(&c->connected, false);
    hs__mqtt_describe(c->last_error, sizeof c->last_error, code, message);
    c->fatal = hs__mqtt_fatal_reason(code);
    c->next_attempt_us = hs_time_mono_us() + (int64_t)c->backoff_ms * HS_US_PER_MS;
    c->backoff_ms =
        c->backoff_ms * 2 > HS__MQTT_BACKOFF_MAX_MS ? HS__MQTT_BACKOFF_MAX_MS : c->backoff_ms * 2;
    pthread_cond_broadcast(&m->cond);
    pthread_cond_signal(&m->keeper_cond);
    pthread_mutex_unlock(&m->lock);
}

static void hs__mqtt_on_lost(void *ctx, char *cause)
{
    (void)cause;
    hs__mqtt_conn *c = ctx;
    hs_mqtt *m = c->m;
    pthread_mutex_lock(&m->lock);
    atomic_store(&c->connected, false);
    snprintf(c->last_error, sizeof c->last_error, "connection lost");
    /* The first reconnect attempt goes out at once; failures then back off. */
    c->next_attempt_us = 0;
    pthread_cond_broadcast(&m->cond);
    pthread_cond_broadcast(&m->win_cond);
    pthread_cond_signal(&m->keeper_cond);
    pthread_mutex_unlock(&m->lock);
}

/* The transmit connection subscribes to nothing; anything arriving there is dropped. */
static int hs__mqtt_on_message_tx(void *ctx, char *topic, int topic_len, MQTTAsync_message *pm)
{
    (void)ctx;
    (void)topic_len;
    MQTTAsync_freeMessage(&pm);
    MQTTAsync_free(topic);
    return 1;
}

static bool hs__mqtt_has_room(const hs_mqtt *m, size_t cost)
{
    if (m->q_count == 0)
        return true; /* a single message larger than the byte bound still passes */
    return m->q_count < m->o.rx_queue_max && m->q_bytes + cost <= m->o.rx_queue_max_bytes;
}

/*
 * Copies an arriving message into the receive queue. When the queue is full
 * this waits for room, which holds up Paho's receiving thread and so the
 * socket: that is the back-pressure. The wait gives way whenever a thread
 * of the process uses Paho through hs_mqtt (see the delivery gate above),
 * and after hold_us at the latest: Paho sends no keepalive pings while its
 * thread is held, and a broker drops a connection that stays silent for 1.5
 * keepalive intervals (publishing the transmit connection's last will).
 */
static int hs__mqtt_on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *pm)
{
    hs_mqtt *m = ctx;
    size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    size_t plen = pm->payloadlen > 0 ? (size_t)pm->payloadlen : 0;
    MQTTProperty *rt =
        MQTTProperties_getProperty(&pm->properties, MQTTPROPERTY_CODE_RESPONSE_TOPIC);
    MQTTProperty *cd =
        MQTTProperties_getProperty(&pm->properties, MQTTPROPERTY_CODE_CORRELATION_DATA);
    size_t rtlen = rt != NULL && rt->value.data.len > 0 ? (size_t)rt->value.data.len : 0;
    size_t cdlen = cd != NULL && cd->value.data.len > 0 ? (size_t)cd->value.data.len : 0;

    size_t total =
        sizeof(hs__mqtt_item) + tlen + 1 + plen + 1 + (rt != NULL ? rtlen + 1 : 0) + cdlen;
    hs__mqtt_item *it = hs_malloc(total);
    if (it == NULL)
        return 0; /* Paho keeps the message and offers it again */
    char *p = (char *)(it + 1);
    it->next = NULL;
    it->cost = tlen + plen;
    it->msg.topic = p;
    memcpy(p, topic, tlen);
    p[tlen] = '\0';
    p += tlen + 1;
    it->msg.payload = (uint8_t *)p;
    if (plen > 0)
        memcpy(p, pm->payload, plen);
    p[plen] = '\0';
    p += plen + 1;
    it->msg.len = plen;
    it->msg.qos = pm->qos;
    it->msg.retained = pm->retained != 0;
    it->msg.response_topic = NULL;
    if (rt != NULL) {
        it->msg.response_topic = p;
        if (rtlen > 0)
            memcpy(p, rt->value.data.data, rtlen);
        p[rtlen] = '\0';
        p += rtlen + 1;
    }
    it->msg.correlation = NULL;
    it->msg.correlation_len = 0;
    if (cdlen > 0) {
        it->msg.correlation = (uint8_t *)p;
        memcpy(p, cd->value.data.data, cdlen);
        it->msg.correlation_len = cdlen;
    }
    MQTTAsync_freeMessage(&pm);
    MQTTAsync_free(topic);

    pthread_mutex_lock(&m->lock);
    m->deliveries++;
    if (!m->closing && !hs__mqtt_has_room(m, it->cost)) {
        /*
         * Counted as blocked before each look at the state, so that whoever
         * changes it afterwards (hs_mqtt_recv, a busy thread, destroy) sees
         * the count and bumps the generation this wait watches.
         */
        atomic_fetch_add(&hs__mqtt_blocked, 1);
        int64_t until = hs_time_mono_us() + m->hold_us;
        for (;;) {
            unsigned long gen = atomic_load(&hs__mqtt_gate_gen);
            if (m->closing || hs__mqtt_has_room(m, it->cost) || atomic_load(&hs__mqtt_busy) > 0 ||
                hs__mqtt_expired(until))
                break;
            pthread_mutex_unlock(&m->lock);
            struct timespec ts = {(time_t)(until / HS_US_PER_S),
                                  (long)(until % HS_US_PER_S) * 1000L};
            pthread_mutex_lock(&hs__mqtt_gate_lock);
            while (atomic_load(&hs__mqtt_gate_gen) == gen &&
                   pthread_cond_clockwait(&hs__mqtt_gate_cv, &hs__mqtt_gate_lock, CLOCK_MONOTONIC,
                                          &ts) != ETIMEDOUT)
                ;
            pthread_mutex_unlock(&hs__mqtt_gate_lock);
            pthread_mutex_lock(&m->lock);
        }
        atomic_fetch_sub(&hs__mqtt_blocked, 1);
    }
    if (m->closing) {
        hs_free(it);
    } else {
        if (m->q_tail != NULL)
            m->q_tail->next = it;
        else
            m->q_head = it;
        m->q_tail = it;
        m->q_count++;
        m->q_bytes += it->cost;
        m->st.msgs_in++;
        m->st.bytes_in += plen;
        if (m->rx_sleeping > 0 || (m->rx_lingering > 0 && m->q_count >= HS__MQTT_RX_WAKE_BATCH))
            pthread_cond_signal(&m->rx_ready);
    }
    if (--m->deliveries == 0 && m->closing)
        pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    return 1;
}

static void hs__mqtt_release_qos1(hs_mqtt *m, bool failed)
{
    pthread_mutex_lock(&m->lock);
    m->inflight--;
    if (failed)
        m->st.publish_failures++;
    pthread_cond_broadcast(&m->win_cond);
    pthread_mutex_unlock(&m->lock);
}

static void hs__mqtt_on_pub1_ok(void *ctx, MQTTAsync_successData5 *r)
{
    /* A PUBACK with a failure reason (not authorized, quota...) is no delivery. */
    hs__mqtt_release_qos1(ctx, r != NULL && r->reasonCode >= 0x80);
}

static void hs__mqtt_on_pub1_fail(void *ctx, MQTTAsync_failureData5 *r)
{
    (void)r;
    hs__mqtt_release_qos1(ctx, true);
}

static void hs__mqtt_release_qos0(hs_mqtt *m)
{
    pthread_mutex_lock(&m->lock);
    m->qos0_queued--;
    pthread_cond_broadcast(&m->win_cond);
    pthread_mutex_unlock(&m->lock);
}

static void hs__mqtt_on_pub0_ok(void *ctx, MQTTAsync_successData5 *r)
{
    (void)r;
    hs__mqtt_release_qos0(ctx);
}

static void hs__mqtt_on_pub0_fail(void *ctx, MQTTAsync_failureData5 *r)
{
    (void)r;
    hs__mqtt_release_qos0(ctx);
}

static void hs__mqtt_op_finish(hs__mqtt_op *op, int code)
{
    hs_mqtt *m = op->m;
    pthread_mutex_lock(&m->lock);
    op->done = true;
    op->code = code;
    if (--op->refs == 0)
        hs_free(op);
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

static void hs__mqtt_on_op_ok(void *ctx, MQTTAsync_successData5 *r)
{
    int code = 0;
    if (r != NULL && r->reasonCode >= 0x80)
        code = (int)r->reasonCode;
    /* An UNSUBACK or SUBACK for several filters carries one reason code each. */
    if (r != NULL && r->alt.unsub.reasonCodeCount > 1 && r->alt.unsub.reasonCodes != NULL &&
        r->alt.unsub.reasonCodes[0] >= 0x80)
        code = (int)r->alt.unsub.reasonCodes[0];
    hs__mqtt_op_finish(ctx, code);
}

static void hs__mqtt_on_op_fail(void *ctx, MQTTAsync_failureData5 *r)
{
    int code = MQTTASYNC_FAILURE;
    if (r != NULL)
        code = r->reasonCode >= 0x80 ? (int)r->reasonCode : (r->code != 0 ? r->code : code);
    hs__mqtt_op_finish(ctx, code);
}

static hs__mqtt_op *hs__mqtt_op_new(hs_mqtt *m)
{
    hs__mqtt_op *op = hs_calloc(1, sizeof *op);
    if (op != NULL) {
        op->m = m;
        op->refs = 2;
    }
    return op;
}

/* Paho refused the request: its callbacks will not run, so both references go. */
static void hs__mqtt_op_drop(hs__mqtt_op *op)
{
    hs_free(op);
}

/*
 * Waits for op up to deadline_us (or until the client closes, unless
 * ignore_closing), then lets go of the caller's reference. Returns HS_OK
 * with *code set, HS_ERR_TIMEOUT or HS_ERR_CLOSED.
 */
static int hs__mqtt_op_wait(hs_mqtt *m, hs__mqtt_op *op, int64_t deadline_us, bool ignore_closing,
                            int *code)
{
    hs__mqtt_busy_enter();
    pthread_mutex_lock(&m->lock);
    while (!op->done && (ignore_closing || !m->closing) && !hs__mqtt_expired(deadline_us))
        hs__mqtt_wait(&m->cond, &m->lock, deadline_us);
    int rc = op->done ? HS_OK : (m->closing && !ignore_closing ? HS_ERR_CLOSED : HS_ERR_TIMEOUT);
    *code = op->code;
    if (--op->refs == 0)
        hs_free(op);
    pthread_mutex_unlock(&m->lock);
    hs__mqtt_busy_leave();
    return rc;
}

/* ---- Connections and the keeper thread --------------------------------- */

/*
 * OpenSSL initialises itself when a TLS connection first needs it; Paho's own
 * initialisation would touch several MB of libcrypto in every process, TLS
 * or not.
 */
static pthread_once_t hs__mqtt_paho_once = PTHREAD_ONCE_INIT;
static void hs__mqtt_paho_init(void)
{
    MQTTAsync_init_options io = MQTTAsync_init_options_initializer;
    io.do_openssl_init = 0;
    MQTTAsync_global_init(&io);
}

static int hs__mqtt_conn_create_paho(hs_mqtt *m, hs__mqtt_conn *c, bool is_rx)
{
    pthread_once(&hs__mqtt_paho_once, hs__mqtt_paho_init);
    char id[HS__MQTT_CLIENT_ID_MAX + 4];
    snprintf(id, sizeof id, "%s-%s", m->client_id, is_rx ? "rx" : "tx");
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    /* Paho refuses publishes beyond this many unsent ones; our own bounds stay below. */
    co.maxBufferedMessages = m->o.max_inflight + HS_MQTT_QOS0_QUEUE + 16;
    MQTTAsync h = NULL;
    int rc = MQTTAsync_createWithOptions(&h, m->url, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        if (rc == MQTTASYNC_BAD_PROTOCOL)
            return hs_err_set(HS_ERR_INVAL, "MQTT URL %s is not usable here", m->o.url);
        return hs__mqtt_paho_err(rc, "creating the MQTT client");
    }
    /* Deliveries get the client (they touch its queue), the rest the connection. */
    if (is_rx)
        rc = MQTTAsync_setMessageArrivedCallback(h, m, hs__mqtt_on_message);
    else
        rc = MQTTAsync_setMessageArrivedCallback(h, c, hs__mqtt_on_message_tx);
    if (rc == MQTTASYNC_SUCCESS)
        rc = MQTTAsync_setConnectionLostCallback(h, c, hs__mqtt_on_lost);
    if (rc != MQTTASYNC_SUCCESS) {
        MQTTAsync_destroy(&h);
        return hs__mqtt_paho_err(rc, "setting MQTT callbacks");
    }
    pthread_mutex_lock(&m->lock);
    c->h = h;
    pthread_mutex_unlock(&m->lock);
    return HS_OK;
}

static int hs__mqtt_conn_create(hs_mqtt *m, hs__mqtt_conn *c, bool is_rx)
{
    hs__mqtt_busy_enter();
    int rc = hs__mqtt_conn_create_paho(m, c, is_rx);
    hs__mqtt_busy_leave();
    return rc;
}

/* Starts one connect attempt (called by the keeper without the lock). */
static int hs__mqtt_start_connect(hs_mqtt *m, hs__mqtt_conn *c)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    MQTTProperties props = MQTTProperties_initializer;
    bool persistent = c->is_rx && m->o.persistent;

    co.keepAliveInterval = m->o.keepalive_s;
    co.cleanstart = persistent ? 0 : 1;
    co.maxInflight = m->o.max_inflight;
    co.connectTimeout = HS__MQTT_PAHO_CONNECT_S;
    co.automaticReconnect = 0; /* the keeper reconnects, with finer backoff than Paho's */
    co.username = m->username;
    co.password = m->password;
    co.onSuccess5 = hs__mqtt_on_connect_ok;
    co.onFailure5 = hs__mqtt_on_connect_fail;
    co.context = c;
    if (persistent) {
        MQTTProperty p;
        memset(&p, 0, sizeof p);
        p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
        p.value.integer4 = m->o.session_expiry_s;
        if (MQTTProperties_add(&props, &p) != 0)
            return MQTTASYNC_FAILURE;
        co.connectProperties = &props;
    }
    if (!c->is_rx && m->will_topic != NULL) {
        will.topicName = m->will_topic;
        will.message = NULL;
        will.payload.data = m->will_payload;
        will.payload.len = (int)m->o.will_len;
        will.retained = m->o.will_retain ? 1 : 0;
        will.qos = m->o.will_qos;
        co.will = &will;
    }
    if (m->tls) {
        ssl.trustStore = m->ca_file;
        ssl.keyStore = m->cert_file;
        ssl.privateKey = m->key_file;
        ssl.enableServerCertAuth = 1;
        ssl.verify = 1;
        co.ssl = &ssl;
    }
    hs__mqtt_busy_enter();
    int rc = MQTTAsync_connect(c->h, &co);
    hs__mqtt_busy_leave();
    MQTTProperties_free(&props);
    return rc;
}

static void hs__mqtt_register(hs_mqtt *m)
{
    pthread_mutex_lock(&hs__mqtt_registry_lock);
    m->reg_prev = NULL;
    m->reg_next = hs__mqtt_registry;
    if (hs__mqtt_registry != NULL)
        hs__mqtt_registry->reg_prev = m;
    hs__mqtt_registry = m;
    pthread_mutex_unlock(&hs__mqtt_registry_lock);
}

static void hs__mqtt_unregister(hs_mqtt *m)
{
    pthread_mutex_lock(&hs__mqtt_registry_lock);
    if (m->reg_prev != NULL)
        m->reg_prev->reg_next = m->reg_next;
    else
        hs__mqtt_registry = m->reg_next;
    if (m->reg_next != NULL)
        m->reg_next->reg_prev = m->reg_prev;
    pthread_mutex_unlock(&hs__mqtt_registry_lock);
}

/* Sends the wake-up UNSUBSCRIBE of hs__mqtt_poke on c if it is up. */
static bool hs__mqtt_poke_conn(hs_mqtt *o, hs__mqtt_conn *c)
{
    /* connected is stored after h is set, and h is cleared only after unregistering. */
    if (!atomic_load(&c->connected))
        return false;
    char filter[HS__MQTT_CLIENT_ID_MAX + 16];
    snprintf(filter, sizeof filter, "hs-wake/%s", o->client_id);
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    return MQTTAsync_unsubscribe(c->h, filter, &ro) == MQTTASYNC_SUCCESS;
}

/*
 * Wakes Paho's receiving thread. It waits in poll/select for up to a
 * second, and notices only when that wait ends a socket created meanwhile
 * (so a connect would take one to two seconds) or a write that could not
 * finish (so a publish stalls for a second). An answer arriving on a
 * connection that is up ends the wait: an UNSUBSCRIBE of a filter nobody
 * uses costs the broker nothing and brings an UNSUBACK. It goes out on the
 * other connection of self if that is up, else on any connection of the
 * process but skip. Returns false when there was none.
 * Lock order: busy, registry lock, then Paho's (never the other way).
 */
static bool hs__mqtt_poke(hs_mqtt *self, const hs__mqtt_conn *skip)
{
    bool poked = false;
    hs__mqtt_busy_enter();
    pthread_mutex_lock(&hs__mqtt_registry_lock);
    hs__mqtt_conn *own = skip == &self->tx ? &self->rx : &self->tx;
    poked = hs__mqtt_poke_conn(self, own);
    for (hs_mqtt *o = hs__mqtt_registry; o != NULL && !poked; o = o->reg_next) {
        if (o != self)
            poked = hs__mqtt_poke_conn(o, &o->tx) || hs__mqtt_poke_conn(o, &o->rx);
    }
    pthread_mutex_unlock(&hs__mqtt_registry_lock);
    hs__mqtt_busy_leave();
    return poked;
}

/* Renews the remembered subscriptions (keeper, without the lock; snapshot taken under it). */
static void hs__mqtt_resubscribe(hs_mqtt *m, hs__mqtt_sub *snap, size_t n)
{
    hs__mqtt_busy_enter();
    for (size_t i = 0; i < n; i++) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        (void)MQTTAsync_subscribe(m->rx.h, snap[i].filter, snap[i].qos, &ro);
    }
    hs__mqtt_busy_leave();
}

/* Copies the subscription list (under the lock); NULL with *n = 0 when empty or out of memory. */
static hs__mqtt_sub *hs__mqtt_subs_snapshot(hs_mqtt *m, size_t *n)
{
    *n = 0;
    if (m->nsubs == 0)
        return NULL;
    hs__mqtt_sub *s = hs_calloc(m->nsubs, sizeof *s);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < m->nsubs; i++) {
        s[i].filter = hs_strdup(m->subs[i].filter);
        s[i].qos = m->subs[i].qos;
        if (s[i].filter == NULL) {
            for (size_t j = 0; j < i; j++)
                hs_free(s[j].filter);
            hs_free(s);
            return NULL;
        }
    }
    *n = m->nsubs;
    return s;
}

enum { HS__KEEP_NONE, HS__KEEP_CONNECT, HS__KEEP_DROP, HS__KEEP_RESUB };

/*
 * The keeper: makes every connect attempt of both connections, schedules
 * retries with backoff, drops connections nobody wants any more (a connect
 * that succeeded after its caller gave up) and renews subscriptions after a
 * reconnect that found no session.
 */
static void *hs__mqtt_keeper(void *arg)
{
    hs_mqtt *m = arg;
    pthread_mutex_lock(&m->lock);
    while (!m->closing) {
        int64_t now = hs_time_mono_us();
        int64_t wake = -1;
        hs__mqtt_conn *c = NULL;
        int action = HS__KEEP_NONE;
        for (int i = 0; i < 2 && action == HS__KEEP_NONE; i++) {
            hs__mqtt_conn *k = i == 0 ? &m->tx : &m->rx;
            if (k->h == NULL || k->attempting)
                continue;
            bool up = atomic_load(&k->connected);
            /* A refusal ends the first connect; once connected, a client never gives up. */
            if (k->want && !up && !(k->fatal && k->connects == 0)) {
                if (now >= k->next_attempt_us)
                    action = HS__KEEP_CONNECT;
                else if (wake < 0 || k->next_attempt_us < wake)
                    wake = k->next_attempt_us;
            } else if (!k->want && up) {
                action = HS__KEEP_DROP;
            } else if (up && k->need_resub) {
                action = HS__KEEP_RESUB;
            }
            if (action != HS__KEEP_NONE)
                c = k;
        }
        if (action == HS__KEEP_NONE) {
            hs__mqtt_wait(&m->keeper_cond, &m->lock, wake);
            continue;
        }
        if (action == HS__KEEP_CONNECT) {
            c->attempting = true;
            pthread_mutex_unlock(&m->lock);
            int rc = hs__mqtt_start_connect(m, c);
            bool poked = rc == MQTTASYNC_SUCCESS && hs__mqtt_poke(m, c);
            pthread_mutex_lock(&m->lock);
            /* The connect takes a few rounds of Paho's receiving thread: keep it awake. */
            for (int i = 0; poked && i < HS__MQTT_POKES && c->attempting && !m->closing; i++) {
                hs__mqtt_wait(&m->cond, &m->lock,
                              hs_time_mono_us() + HS__MQTT_POKE_MS * HS_US_PER_MS);
                if (!c->attempting || m->closing)
                    break;
                pthread_mutex_unlock(&m->lock);
                poked = hs__mqtt_poke(m, c);
                pthread_mutex_lock(&m->lock);
            }
            if (rc != MQTTASYNC_SUCCESS) {
                /* Refused before any network activity: bad options fail for good. */
                c->attempting = false;
                hs__mqtt_describe(c->last_error, sizeof c->last_error, rc, NULL);
                c->fatal = hs__mqtt_fatal_call(rc);
                c->next_attempt_us = hs_time_mono_us() + (int64_t)c->backoff_ms * HS_US_PER_MS;
                pthread_cond_broadcast(&m->cond);
            }
        } else if (action == HS__KEEP_DROP) {
            atomic_store(&c->connected, false);
            pthread_mutex_unlock(&m->lock);
            MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
            hs__mqtt_busy_enter();
            (void)MQTTAsync_disconnect(c->h, &d);
            hs__mqtt_busy_leave();
            pthread_mutex_lock(&m->lock);
        } else {
            c->need_resub = false;
            size_t n;
            hs__mqtt_sub *snap = hs__mqtt_subs_snapshot(m, &n);
            if (snap == NULL && m->nsubs > 0) {
                c->need_resub = true; /* out of memory: try again shortly */
                hs__mqtt_wait(&m->keeper_cond, &m->lock, now + 100 * HS_US_PER_MS);
                continue;
            }
            pthread_mutex_unlock(&m->lock);
            hs__mqtt_resubscribe(m, snap, n);
            for (size_t i = 0; i < n; i++)
                hs_free(snap[i].filter);
            hs_free(snap);
            pthread_mutex_lock(&m->lock);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/*
 * Asks the keeper to bring c up and waits for it up to connect_timeout_ms.
 * On giving up (timeout or a fatal refusal) the connection is no longer
 * wanted, so the keeper stops trying.
 */
/* How often a wait for a connection looks at the caller's cancel flag. */
#define HS__MQTT_CANCEL_POLL_MS 100

static bool hs__mqtt_cancelled(const hs_mqtt *m)
{
    return m->o.cancel != NULL && atomic_load(m->o.cancel) != 0;
}

static int hs__mqtt_bring_up(hs_mqtt *m, hs__mqtt_conn *c)
{
    int64_t deadline =
        m->o.connect_timeout_ms > 0 ? hs__mqtt_deadline(m->o.connect_timeout_ms) : -1;
    char detail[HS__MQTT_DETAIL_MAX];
    int rc;

    hs__mqtt_busy_enter();
    pthread_mutex_lock(&m->lock);
    if (!c->want || c->fatal) {
        c->want = true;
        c->fatal = false;
        c->backoff_ms = HS__MQTT_BACKOFF_MIN_MS;
        c->last_error[0] = '\0';
    }
    if (!atomic_load(&c->connected) && !c->attempting) {
        c->next_attempt_us = 0; /* someone waits: try now rather than after the backoff */
        pthread_cond_signal(&m->keeper_cond);
    }
    while (!m->closing && !atomic_load(&c->connected) && !c->fatal && !hs__mqtt_expired(deadline) &&
           !hs__mqtt_cancelled(m)) {
        int64_t slice = hs__mqtt_deadline(HS__MQTT_CANCEL_POLL_MS);
        hs__mqtt_wait(&m->cond, &m->lock,
                      m->o.cancel == NULL || (deadline >= 0 && deadline < slice) ? deadline
                                                                                 : slice);
    }
    snprintf(detail, sizeof detail, "%s", c->last_error[0] ? c->last_error : "no answer");
    if (m->closing) {
        rc = hs_err_set(HS_ERR_CLOSED, "MQTT client is closing");
    } else if (!atomic_load(&c->connected) && hs__mqtt_cancelled(m)) {
        c->want = false;
        rc = hs_err_set(HS_ERR_CLOSED, "stopped while connecting to %s", m->o.url);
    } else if (atomic_load(&c->connected)) {
        rc = HS_OK;
    } else if (c->fatal) {
        c->want = false;
        rc = hs_err_set(HS_ERR_MQTT, "MQTT broker %s refused %s-%s: %s", m->o.url, m->client_id,
                        c->is_rx ? "rx" : "tx", detail);
    } else {
        c->want = false;
        rc = hs_err_set(HS_ERR_TIMEOUT, "no MQTT connection to %s within %d ms: %s", m->o.url,
                        m->o.connect_timeout_ms, detail);
    }
    pthread_mutex_unlock(&m->lock);
    hs__mqtt_busy_leave();
    return rc;
}

/* ---- Public API --------------------------------------------------------- */

static int hs__mqtt_copy_opts(hs_mqtt *m, const hs_mqtt_opts *o)
{
    m->o = *o;
    if (m->o.session_expiry_s == 0)
        m->o.session_expiry_s = 86400;
    if (m->o.keepalive_s <= 0)
        m->o.keepalive_s = 10;
    if (m->o.max_inflight == 0)
        m->o.max_inflight = 100;
    if (m->o.rx_queue_max == 0)
        m->o.rx_queue_max = 10000;
    if (m->o.rx_queue_max_bytes == 0)
        m->o.rx_queue_max_bytes = 64u * 1024u * 1024u;
    if (!hs__mqtt_dup(&m->client_id, o->client_id) || !hs__mqtt_dup(&m->username, o->username) ||
        !hs__mqtt_dup(&m->password, o->password) || !hs__mqtt_dup(&m->will_topic, o->will_topic) ||
        !hs__mqtt_dup(&m->ca_file, o->ca_file) || !hs__mqtt_dup(&m->cert_file, o->cert_file) ||
        !hs__mqtt_dup(&m->key_file, o->key_file))
        return HS_ERR_NOMEM;
    if (o->will_topic != NULL) {
        /* One byte more than needed so that an empty will still has a pointer. */
        m->will_payload = hs_malloc(o->will_len + 1);
        if (m->will_payload == NULL)
            return HS_ERR_NOMEM;
        if (o->will_len > 0)
            memcpy(m->will_payload, o->will_payload, o->will_len);
    }
    /* The copies outlive the caller's strings; the originals are not kept. */
    m->o.url = m->url;
    m->o.client_id = m->client_id;
    m->o.username = m->username;
    m->o.password = m->password;
    m->o.will_topic = m->will_topic;
    m->o.will_payload = m->will_payload;
    m->o.ca_file = m->ca_file;
    m->o.cert_file = m->cert_file;
    m->o.key_file = m->key_file;
    return HS_OK;
}

static int hs__mqtt_check_opts(const hs_mqtt_opts *o)
{
    if (o->url == NULL)
        return hs_err_set(HS_ERR_INVAL, "MQTT URL missing");
    if (o->client_id == NULL || o->client_id[0] == '\0')
        return hs_err_set(HS_ERR_INVAL, "MQTT client id missing");
    if (strlen(o->client_id) > HS__MQTT_CLIENT_ID_MAX)
        return hs_err_set(HS_ERR_INVAL, "MQTT client id longer than %d bytes",
                          HS__MQTT_CLIENT_ID_MAX);
    if (o->max_inflight < 0 || o->max_inflight > 65535)
        return hs_err_set(HS_ERR_INVAL, "max_inflight %d outside 1..65535", o->max_inflight);
    if (o->keepalive_s > 65535)
        return hs_err_set(HS_ERR_INVAL, "keepalive %d s above 65535", o->keepalive_s);
    if (o->will_topic != NULL) {
        if (!hs__mqtt_topic_valid(o->will_topic))
            return hs_err_set(HS_ERR_INVAL, "invalid will topic \"%s\"", o->will_topic);
        if (o->will_qos < 0 || o->will_qos > 2)
            return hs_err_set(HS_ERR_INVAL, "will QoS %d outside 0..2", o->will_qos);
        if (o->will_len > HS__MQTT_PAYLOAD_MAX || (o->will_len > 0 && o->will_payload == NULL))
            return hs_err_set(HS_ERR_INVAL, "invalid will payload");
    }
    return HS_OK;
}

/* Initializes the mutex and condition variables (monotonic clock); all or none. */
static int hs__mqtt_sync_init(hs_mqtt *m)
{
    pthread_cond_t *cvs[] = {&m->cond, &m->win_cond, &m->rx_ready, &m->keeper_cond};
    size_t n = sizeof cvs / sizeof cvs[0], done = 0;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return HS_ERR_NOMEM;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = HS_ERR_NOMEM;
    if (pthread_mutex_init(&m->lock, NULL) != 0)
        goto out;
    while (done < n && pthread_cond_init(cvs[done], &ca) == 0)
        done++;
    if (done == n) {
        rc = HS_OK;
        goto out;
    }
    while (done > 0)
        pthread_cond_destroy(cvs[--done]);
    pthread_mutex_destroy(&m->lock);
out:
    pthread_condattr_destroy(&ca);
    return rc;
}

static void hs__mqtt_sync_destroy(hs_mqtt *m)
{
    pthread_cond_destroy(&m->keeper_cond);
    pthread_cond_destroy(&m->rx_ready);
    pthread_cond_destroy(&m->win_cond);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
}

/* Frees the copied strings and m itself. */
static void hs__mqtt_free_strings(hs_mqtt *m)
{
    hs_free(m->url);
    hs_free(m->client_id);
    hs_free(m->username);
    hs_free(m->password);
    hs_free(m->will_topic);
    hs_free(m->will_payload);
    hs_free(m->ca_file);
    hs_free(m->cert_file);
    hs_free(m->key_file);
    hs_free(m);
}

int hs_mqtt_create(hs_mqtt **out, const hs_mqtt_opts *opts)
{
    if (out == NULL || opts == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_mqtt_create: NULL argument");
    *out = NULL;
    int rc = hs__mqtt_check_opts(opts);
    if (rc != HS_OK)
        return rc;
    hs_mqtt *m = hs_calloc(1, sizeof *m);
    if (m == NULL)
        return HS_ERR_NOMEM;
    rc = hs__mqtt_normalize_url(opts->url, &m->url, &m->tls);
    if (rc != HS_OK)
        goto fail_mem;
    rc = hs__mqtt_copy_opts(m, opts);
    if (rc != HS_OK)
        goto fail_mem;
    m->tx.m = m;
    m->rx.m = m;
    m->rx.is_rx = true;
    m->tx.backoff_ms = m->rx.backoff_ms = HS__MQTT_BACKOFF_MIN_MS;
    m->hold_us = (int64_t)m->o.keepalive_s * HS_US_PER_S / 4;

    rc = hs__mqtt_sync_init(m);
    if (rc != HS_OK)
        goto fail_mem;
    rc = hs__mqtt_conn_create(m, &m->tx, false);
    if (rc != HS_OK)
        goto fail_sync;
    if (pthread_create(&m->keeper, NULL, hs__mqtt_keeper, m) != 0) {
        rc = hs_err_set(HS_ERR_IO, "cannot start the MQTT keeper thread");
        goto fail_paho;
    }
    m->keeper_started = true;
    hs__mqtt_register(m);
    *out = m;
    return HS_OK;

fail_paho:
    MQTTAsync_destroy(&m->tx.h);
fail_sync:
    hs__mqtt_sync_destroy(m);
fail_mem:
    hs__mqtt_free_strings(m);
    return rc;
}

int hs_mqtt_connect(hs_mqtt *m)
{
    if (m == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_mqtt_connect: NULL client");
    return hs__mqtt_bring_up(m, &m->tx);
}

/* Index of filter in the remembered subscriptions, or -1 (under the lock). */
static long hs__mqtt_sub_find(const hs_mqtt *m, const char *filter)
{
    for (size_t i = 0; i < m->nsubs; i++)
        if (strcmp(m->subs[i].filter, filter) == 0)
            return (long)i;
    return -1;
}

/* Remembers filter (or updates its QoS); under the lock. */
static int hs__mqtt_sub_add(hs_mqtt *m, const char *filter, int qos)
{
    long i = hs__mqtt_sub_find(m, filter);
    if (i >= 0) {
        m->subs[i].qos = qos;
        return HS_OK;
    }
    if (hs_grow(&m->subs, &m->subs_cap, m->nsubs + 1, sizeof *m->subs, 8) != HS_OK)
        return HS_ERR_NOMEM;
    char *f = hs_strdup(filter);
    if (f == NULL)
        return HS_ERR_NOMEM;
    m->subs[m->nsubs].filter = f;
    m->subs[m->nsubs].qos = qos;
    m->nsubs++;
    return HS_OK;
}

/* Forgets filter; false when it was not remembered (under the lock). */
static bool hs__mqtt_sub_remove(hs_mqtt *m, const char *filter)
{
    long i = hs__mqtt_sub_find(m, filter);
    if (i < 0)
        return false;
    hs_free(m->subs[i].filter);
    m->subs[i] = m->subs[m->nsubs - 1];
    m->nsubs--;
    return true;
}

static int hs__mqtt_subscribe(hs_mqtt *m, const char *filter, int qos)
{
    if (m == NULL || filter == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_mqtt_subscribe: NULL argument");
    const char *plain = hs__mqtt_unshare(filter);
    if (plain == NULL || !hs__mqtt_filter_valid(plain))
        return hs_err_set(HS_ERR_INVAL, "malformed MQTT topic filter \"%s\"", filter);
    if (qos < 0 || qos > 2)
        return hs_err_set(HS_ERR_INVAL, "subscription QoS %d outside 0..2", qos);

    pthread_mutex_lock(&m->lock);
    bool closing = m->closing;
    bool have_rx = m->rx.h != NULL;
    pthread_mutex_unlock(&m->lock);
    if (closing)
        return hs_err_set(HS_ERR_CLOSED, "MQTT client is closing");
    int rc;
    if (!have_rx) {
        rc = hs__mqtt_conn_create(m, &m->rx, true);
        if (rc != HS_OK)
            return rc;
    }
    rc = hs__mqtt_bring_up(m, &m->rx);
    if (rc != HS_OK)
        return rc;

    /* Remembered before asking, so that a reconnect in between renews it too. */
    pthread_mutex_lock(&m->lock);
    bool existed = hs__mqtt_sub_find(m, filter) >= 0;
    rc = hs__mqtt_sub_add(m, filter, qos);
    pthread_mutex_unlock(&m->lock);
    if (rc != HS_OK)
        return rc;

    hs__mqtt_op *op = hs__mqtt_op_new(m);
    if (op == NULL) {
        rc = HS_ERR_NOMEM;
        goto forget;
    }
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess5 = hs__mqtt_on_op_ok;
    ro.onFailure5 = hs__mqtt_on_op_fail;
    ro.context = op;
    int prc = MQTTAsync_subscribe(m->rx.h, filter, qos, &ro);
    if (prc != MQTTASYNC_SUCCESS) {
        hs__mqtt_op_drop(op);
        rc = hs__mqtt_paho_err(prc, "subscribing");
        goto forget;
    }
    int code = 0;
    int64_t deadline =
        m->o.connect_timeout_ms > 0 ? hs__mqtt_deadline(m->o.connect_timeout_ms) : -1;
    rc = hs__mqtt_op_wait(m, op, deadline, false, &code);
    if (rc == HS_ERR_TIMEOUT)
        rc = hs_err_set(HS_ERR_TIMEOUT, "no SUBACK for \"%s\" within %d ms", filter,
                        m->o.connect_timeout_ms);
    else if (rc == HS_OK && code != 0)
        rc = hs__mqtt_paho_err(code, "subscription refused");
    if (rc == HS_OK)
        return HS_OK;
forget:
    if (!existed) {
        pthread_mutex_lock(&m->lock);
        hs__mqtt_sub_remove(m, filter);
        pthread_mutex_unlock(&m->lock);
    }
    return rc;
}

int hs_mqtt_subscribe(hs_mqtt *m, const char *filter, int qos)
{
    hs__mqtt_busy_enter();
    int rc = hs__mqtt_subscribe(m, filter, qos);
    hs__mqtt_busy_leave();
    return rc;
}

static int hs__mqtt_unsubscribe(hs_mqtt *m, const char *filter)
{
    if (m == NULL || filter == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_mqtt_unsubscribe: NULL argument");
    pthread_mutex_lock(&m->lock);
    bool found = hs__mqtt_sub_remove(m, filter);
    pthread_mutex_unlock(&m->lock);
    if (!found)
        return hs_err_set(HS_ERR_NOTFOUND, "not subscribed to \"%s\"", filter);
    int rc = hs__mqtt_bring_up(m, &m->rx);
    if (rc != HS_OK)
        return rc;
    hs__mqtt_op *op = hs__mqtt_op_new(m);
    if (op == NULL)
        return HS_ERR_NOMEM;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess5 = hs__mqtt_on_op_ok;
    ro.onFailure5 = hs__mqtt_on_op_fail;
    ro.context = op;
    int prc = MQTTAsync_unsubscribe(m->rx.h, filter, &ro);
    if (prc != MQTTASYNC_SUCCESS) {
        hs__mqtt_op_drop(op);
        return hs__mqtt_paho_err(prc, "unsubscribing");
    }
    int code = 0;
    int64_t deadline =
        m->o.connect_timeout_ms > 0 ? hs__mqtt_deadline(m->o.connect_timeout_ms) : -1;
    rc = hs__mqtt_op_wait(m, op, deadline, false, &code);
    if (rc == HS_ERR_TIMEOUT)
        return hs_err_set(HS_ERR_TIMEOUT, "no UNSUBACK for \"%s\"", filter);
    if (rc == HS_OK && code != 0)
        return hs__mqtt_paho_err(code, "unsubscribe refused");
    return rc;
}

int hs_mqtt_unsubscribe(hs_mqtt *m, const char *filter)
{
    hs__mqtt_busy_enter();
    int rc = hs__mqtt_unsubscribe(m, filter);
    hs__mqtt_busy_leave();
    return rc;
}

/* Builds the v5 properties of an outgoing message; false when out of memory. */
static bool hs__mqtt_build_props(MQTTProperties *props, const hs_mqtt_pub_props *pp)
{
    if (pp == NULL)
        return true;
    MQTTProperty p;
    if (pp->response_topic != NULL) {
        memset(&p, 0, sizeof p);
        p.identifier = MQTTPROPERTY_CODE_RESPONSE_TOPIC;
        p.value.data.data = (char *)pp->response_topic;
        p.value.data.len = (int)strlen(pp->response_topic);
        if (MQTTProperties_add(props, &p) != 0)
            return false;
    }
    if (pp->correlation != NULL && pp->correlation_len > 0) {
        memset(&p, 0, sizeof p);
        p.identifier = MQTTPROPERTY_CODE_CORRELATION_DATA;
        p.value.data.data = (char *)pp->correlation;
        p.value.data.len = (int)pp->correlation_len;
        if (MQTTProperties_add(props, &p) != 0)
            return false;
    }
    return true;
}

int hs_mqtt_publish(hs_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                    bool retain, int timeout_ms)
{
    return hs_mqtt_publish_props(m, topic, payload, len, qos, retain, timeout_ms, NULL);
}

/*
 * Waits (under the lock) until the transmit connection is up and a slot of
 * the right kind is free, then takes it. The caller counts as busy. HS_ERR_CLOSED or HS_ERR_FULL as
 * the contract of hs_mqtt_publish says.
 */
/*
 * Waits (under the lock) for a publish slot or for flush progress. A write
 * that Paho left half done (socket buffer full) resumes only when its
 * receiving thread wakes up, up to a second later (see hs__mqtt_poke);
 * arriving PUBACKs wake it, but at QoS 0, or once every PUBACK is in,
 * nothing does. So the wait is cut into slices, and a slice without
 * progress is followed by a poke through another connection.
 */
static void hs__mqtt_wait_window(hs_mqtt *m, int64_t deadline)
{
    int before = m->inflight + m->qos0_queued;
    int64_t slice = hs_time_mono_us() + HS__MQTT_POKE_MS * HS_US_PER_MS;
    hs__mqtt_wait(&m->win_cond, &m->lock, deadline >= 0 && deadline < slice ? deadline : slice);
    if (before > 0 && m->inflight + m->qos0_queued >= before && !m->closing) {
        pthread_mutex_unlock(&m->lock);
        (void)hs__mqtt_poke(m, &m->tx);
        pthread_mutex_lock(&m->lock);
    }
}

static int hs__mqtt_take_slot(hs_mqtt *m, int qos, int timeout_ms, int64_t deadline)
{
    int rc;
    for (;;) {
        if (m->closing) {
            rc = hs_err_set(HS_ERR_CLOSED, "MQTT client is closing");
            break;
        }
        if (!m->tx.want) {
            rc = hs_err_set(HS_ERR_CLOSED, "MQTT client not connected (hs_mqtt_connect)");
            break;
        }
        bool up = atomic_load(&m->tx.connected);
        bool free_slot =
            qos == 1 ? m->inflight < m->o.max_inflight : m->qos0_queued < HS_MQTT_QOS0_QUEUE;
        if (up && free_slot) {
            if (qos == 1)
                m->inflight++;
            else
                m->qos0_queued++;
            rc = HS_OK;
            break;
        }
        if (timeout_ms == 0 || hs__mqtt_expired(deadline)) {
            if (!up)
                rc = hs_err_set(HS_ERR_CLOSED, "MQTT broker %s unreachable: %s", m->o.url,
                                m->tx.last_error[0] ? m->tx.last_error : "disconnected");
            else
                rc = hs_err_set(HS_ERR_FULL, "MQTT publish window full (%d in flight)",
                                qos == 1 ? m->inflight : m->qos0_queued);
            break;
        }
        if (up)
            hs__mqtt_wait_window(m, deadline);
        else
            hs__mqtt_wait(&m->win_cond, &m->lock, deadline);
    }
    return rc;
}

static int hs__mqtt_publish(hs_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                            bool retain, int timeout_ms, const hs_mqtt_pub_props *props)
{
    if (m == NULL || !hs__mqtt_topic_valid(topic))
        return hs_err_set(HS_ERR_INVAL, "publish: invalid topic \"%s\"", topic ? topic : "(null)");
    if (qos != 0 && qos != 1)
        return hs_err_set(HS_ERR_INVAL, "publish QoS %d: only 0 and 1 are supported", qos);
    if (len > HS__MQTT_PAYLOAD_MAX || (len > 0 && payload == NULL))
        return hs_err_set(HS_ERR_INVAL, "publish: invalid payload (%zu bytes)", len);
    if (props != NULL && props->response_topic != NULL &&
        !hs__mqtt_topic_valid(props->response_topic))
        return hs_err_set(HS_ERR_INVAL, "publish: invalid response topic");

    MQTTProperties mprops = MQTTProperties_initializer;
    if (!hs__mqtt_build_props(&mprops, props)) {
        MQTTProperties_free(&mprops);
        return HS_ERR_NOMEM;
    }
    int64_t deadline = hs__mqtt_deadline(timeout_ms);
    int rc;
    for (;;) {
        pthread_mutex_lock(&m->lock);
        rc = hs__mqtt_take_slot(m, qos, timeout_ms, deadline);
        pthread_mutex_unlock(&m->lock);
        if (rc != HS_OK)
            break;

        MQTTAsync_message msg = MQTTAsync_message_initializer;
        msg.payload = (void *)payload;
        msg.payloadlen = (int)len;
        msg.qos = qos;
        msg.retained = retain ? 1 : 0;
        msg.properties = mprops;
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        ro.onSuccess5 = qos == 1 ? hs__mqtt_on_pub1_ok : hs__mqtt_on_pub0_ok;
        ro.onFailure5 = qos == 1 ? hs__mqtt_on_pub1_fail : hs__mqtt_on_pub0_fail;
        ro.context = m;
        int prc = MQTTAsync_sendMessage(m->tx.h, topic, &msg, &ro);

        pthread_mutex_lock(&m->lock);
        if (prc == MQTTASYNC_SUCCESS) {
            m->st.msgs_out++;
            m->st.bytes_out += len;
        } else {
            /* Paho took nothing, so no callback will give the slot back. */
            if (qos == 1)
                m->inflight--;
            else
                m->qos0_queued--;
            pthread_cond_broadcast(&m->win_cond);
        }
        pthread_mutex_unlock(&m->lock);
        if (prc == MQTTASYNC_SUCCESS) {
            rc = HS_OK;
            break;
        }
        if (prc != MQTTASYNC_DISCONNECTED) {
            rc = hs__mqtt_paho_err(prc, "publish");
            break;
        }
        /* The connection dropped before our flag said so: wait for the keeper. */
        pthread_mutex_lock(&m->lock);
        atomic_store(&m->tx.connected, false);
        if (m->tx.want && !m->tx.attempting)
            pthread_cond_signal(&m->keeper_cond);
        pthread_mutex_unlock(&m->lock);
    }
    MQTTProperties_free(&mprops);
    return rc;
}

int hs_mqtt_publish_props(hs_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                          bool retain, int timeout_ms, const hs_mqtt_pub_props *props)
{
    hs__mqtt_busy_enter();
    int rc = hs__mqtt_publish(m, topic, payload, len, qos, retain, timeout_ms, props);
    hs__mqtt_busy_leave();
    return rc;
}

int hs_mqtt_flush(hs_mqtt *m, int timeout_ms)
{
    if (m == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_mqtt_flush: NULL client");
    int64_t deadline = hs__mqtt_deadline(timeout_ms);
    hs__mqtt_busy_enter();
    pthread_mutex_lock(&m->lock);
    while ((m->inflight > 0 || m->qos0_queued > 0) && !m->closing && !hs__mqtt_expired(deadline))
        hs__mqtt_wait_window(m, deadline);
    int rc = HS_OK;
    if (m->inflight > 0 || m->qos0_queued > 0)
        rc = hs_err_set(HS_ERR_TIMEOUT, "MQTT flush: %d QoS 1 and %d QoS 0 publishes pending",
                        m->inflight, m->qos0_queued);
    pthread_mutex_unlock(&m->lock);
    hs__mqtt_busy_leave();
    return rc;
}

int hs_mqtt_recv(hs_mqtt *m, hs_mqtt_msg **out, int timeout_ms)
{
    if (out != NULL)
        *out = NULL;
    if (m == NULL || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_mqtt_recv: NULL argument");
    int64_t deadline = hs__mqtt_deadline(timeout_ms);
    int rc;
    bool lingered = false;
    pthread_mutex_lock(&m->lock);
    for (;;) {
        if (m->woken || m->closing) {
            rc = HS_ERR_CLOSED;
            break;
        }
        hs__mqtt_item *it = m->q_head;
        if (it != NULL) {
            m->q_head = it->next;
            if (m->q_head == NULL)
                m->q_tail = NULL;
            m->q_count--;
            m->q_bytes -= it->cost;
            it->next = NULL;
            *out = &it->msg;
            rc = HS_OK;
            break;
        }
        if (timeout_ms == 0 || hs__mqtt_expired(deadline)) {
            rc = HS_ERR_TIMEOUT;
            break;
        }
        /*
         * First linger: a message that comes now waits (at most the linger)
         * for others rather than wake this thread alone, so that under load
         * one wake takes a batch. Then sleep: the next message wakes it at once.
         */
        int64_t until = deadline;
        int *waiting = lingered ? &m->rx_sleeping : &m->rx_lingering;
        if (!lingered) {
            int64_t linger = hs__mqtt_deadline(HS__MQTT_RX_LINGER_US / HS_US_PER_MS);
            if (until < 0 || linger < until)
                until = linger;
            lingered = true;
        }
        (*waiting)++;
        hs__mqtt_wait(&m->rx_ready, &m->lock, until);
        (*waiting)--;
    }
    pthread_mutex_unlock(&m->lock);
    if (rc == HS_OK)
        hs__mqtt_gate_open(); /* a delivery may be waiting for the room just made */
    return rc;
}

void hs_mqtt_msg_free(hs_mqtt_msg *msg)
{
    if (msg == NULL)
        return;
    hs_free((char *)msg - offsetof(hs__mqtt_item, msg));
}

void hs_mqtt_wake(hs_mqtt *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    m->woken = true;
    pthread_cond_broadcast(&m->rx_ready);
    pthread_mutex_unlock(&m->lock);
}

bool hs_mqtt_is_connected(const hs_mqtt *m)
{
    if (m == NULL)
        return false;
    /* The object itself is never const (it comes from hs_mqtt_create). */
    pthread_mutex_t *lock = (pthread_mutex_t *)&m->lock;
    pthread_mutex_lock(lock);
    bool tx_used = m->tx.want, rx_used = m->rx.want;
    bool up = (tx_used || rx_used) && (!tx_used || atomic_load(&m->tx.connected)) &&
              (!rx_used || atomic_load(&m->rx.connected));
    pthread_mutex_unlock(lock);
    return up;
}

void hs_mqtt_get_stats(hs_mqtt *m, hs_mqtt_stats *st)
{
    if (st == NULL)
        return;
    memset(st, 0, sizeof *st);
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    *st = m->st;
    st->rx_queued = m->q_count;
    st->inflight = m->inflight;
    st->qos0_queued = m->qos0_queued;
    pthread_mutex_unlock(&m->lock);
}

/* Disconnects c (waiting a short while for Paho to finish) and destroys its handle. */
static void hs__mqtt_conn_close(hs_mqtt *m, hs__mqtt_conn *c)
{
    if (c->h == NULL)
        return;
    hs__mqtt_op *op = hs__mqtt_op_new(m);
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
    d.timeout = HS__MQTT_DISCONNECT_MS;
    if (op != NULL) {
        d.onSuccess5 = hs__mqtt_on_op_ok;
        d.onFailure5 = hs__mqtt_on_op_fail;
        d.context = op;
    }
    int prc = MQTTAsync_disconnect(c->h, &d);
    if (op != NULL) {
        if (prc == MQTTASYNC_SUCCESS) {
            int code;
            (void)hs__mqtt_op_wait(m, op, hs__mqtt_deadline(HS__MQTT_CLOSE_WAIT_MS), true, &code);
        } else {
            hs__mqtt_op_drop(op);
        }
    }
    atomic_store(&c->connected, false);
    MQTTAsync_destroy(&c->h);
}

void hs_mqtt_destroy(hs_mqtt *m)
{
    if (m == NULL)
        return;
    hs__mqtt_busy_enter();
    pthread_mutex_lock(&m->lock);
    m->closing = true;
    pthread_cond_broadcast(&m->cond);
    pthread_cond_broadcast(&m->win_cond);
    pthread_cond_broadcast(&m->rx_ready);
    pthread_cond_signal(&m->keeper_cond);
    pthread_mutex_unlock(&m->lock);
    hs__mqtt_gate_open();
    if (m->keeper_started)
        pthread_join(m->keeper, NULL);
    hs__mqtt_unregister(m);

    /* The receive side first, so that a delivery waiting for room has let go. */
    hs__mqtt_conn_close(m, &m->rx);
    pthread_mutex_lock(&m->lock);
    while (m->deliveries > 0)
        hs__mqtt_wait(&m->cond, &m->lock, -1);
    pthread_mutex_unlock(&m->lock);
    hs__mqtt_conn_close(m, &m->tx);
    hs__mqtt_busy_leave();

    for (hs__mqtt_item *it = m->q_head, *next; it != NULL; it = next) {
        next = it->next;
        hs_free(it);
    }
    for (size_t i = 0; i < m->nsubs; i++)
        hs_free(m->subs[i].filter);
    hs_free(m->subs);
    hs__mqtt_sync_destroy(m);
    hs__mqtt_free_strings(m);
}
