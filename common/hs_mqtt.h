/*
 * A thin MQTT v5 client over Paho MQTTAsync.
 *
 * Two connections per client: a transmit connection for publishing (it
 * carries the last will) and, when the client subscribes, a receive
 * connection. Incoming messages are handed from Paho's callback thread to
 * the service's own thread through a bounded queue (hs_mqtt_recv). When that
 * queue is full the callback waits, which stops reading from the socket and
 * so pushes back on the broker; the transmit connection keeps processing
 * acknowledgements meanwhile, so a service that publishes while its queue is
 * full cannot deadlock.
 *
 * Publishing at QoS 1 uses a bounded window of in-flight messages:
 * hs_mqtt_publish blocks while the window is full (up to its timeout) and
 * never buffers without bound. Both connections reconnect automatically
 * with backoff; subscriptions are renewed after a reconnect.
 *
 * All functions are safe to call from one service thread while Paho's
 * threads run; hs_mqtt_recv and hs_mqtt_publish may be called from
 * different threads.
 */
#ifndef HS_MQTT_H
#define HS_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_mqtt hs_mqtt;

typedef struct hs_mqtt_opts {
    const char *url;       /* "tcp://127.0.0.1:1883"; "mqtt://" = tcp, "mqtts://"/"ssl://" = TLS */
    const char *client_id; /* unique per broker; the connections add "-tx"/"-rx" */
    const char *username;  /* NULL: none */
    const char *password;  /* NULL: none */
    bool persistent;       /* receive connection keeps its session (clean start off) */
    uint32_t session_expiry_s; /* session expiry of a persistent session (default 1 day) */
    int keepalive_s;           /* default 10 */
    int max_inflight;          /* QoS 1 publish window (default 100) */
    size_t rx_queue_max;       /* largest number of queued incoming messages (default 10000) */
    size_t rx_queue_max_bytes; /* and bytes (default 64 MiB) */
    int connect_timeout_ms;    /* how long hs_mqtt_connect keeps retrying; <= 0: forever */
    /* Last will on the transmit connection (retained status "offline"). */
    const char *will_topic;
    const void *will_payload;
    size_t will_len;
    bool will_retain;
    int will_qos;
    /* TLS (for ssl:// URLs): files, all optional. */
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
} hs_mqtt_opts;

/* A received message; the caller frees it with hs_mqtt_msg_free. */
typedef struct hs_mqtt_msg {
    char *topic;      /* owned, NUL-terminated */
    uint8_t *payload; /* owned, len bytes (plus a NUL after them) */
    size_t len;
    int qos;
    bool retained;
    char *response_topic; /* owned; MQTT v5 property, NULL when absent */
    uint8_t *correlation; /* owned; MQTT v5 property, NULL when absent */
    size_t correlation_len;
} hs_mqtt_msg;

/* Properties of an outgoing message (MQTT v5 request/response). */
typedef struct hs_mqtt_pub_props {
    const char *response_topic;
    const void *correlation;
    size_t correlation_len;
} hs_mqtt_pub_props;

typedef struct hs_mqtt_stats {
    uint64_t msgs_in, bytes_in;
    uint64_t msgs_out, bytes_out;
    uint64_t publish_failures; /* QoS 1 publishes the broker did not acknowledge */
    uint64_t reconnects;
    size_t rx_queued; /* messages waiting in the receive queue */
    int inflight;     /* QoS 1 publishes awaiting acknowledgement */
} hs_mqtt_stats;

void hs_mqtt_opts_init(hs_mqtt_opts *o);

/* Creates the client (copies all options); does not connect. */
int hs_mqtt_create(hs_mqtt **out, const hs_mqtt_opts *opts);

/*
 * Connects the transmit connection, retrying with backoff up to
 * connect_timeout_ms. HS_ERR_TIMEOUT (with the last broker error as
 * detail) when it gives up; HS_ERR_MQTT when the broker refuses for a
 * reason that retrying cannot fix (bad credentials).
 */
int hs_mqtt_connect(hs_mqtt *m);

/*
 * Subscribes on the receive connection (connecting it first if needed);
 * filter may be a shared subscription "$share/group/topic". Waits for the
 * SUBACK. Subscriptions are renewed after reconnects.
 */
int hs_mqtt_subscribe(hs_mqtt *m, const char *filter, int qos);
int hs_mqtt_unsubscribe(hs_mqtt *m, const char *filter);

/*
 * Publishes len bytes to topic. QoS 0 returns once handed to Paho. QoS 1
 * takes a slot of the in-flight window, waiting up to timeout_ms for one
 * (0: no wait, < 0: forever); HS_ERR_FULL when none frees up in time,
 * HS_ERR_CLOSED when disconnected for longer than the timeout.
 */
int hs_mqtt_publish(hs_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                    bool retain, int timeout_ms);
int hs_mqtt_publish_props(hs_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                          bool retain, int timeout_ms, const hs_mqtt_pub_props *props);

/* Waits until every QoS 1 publish is acknowledged (HS_ERR_TIMEOUT otherwise). */
int hs_mqtt_flush(hs_mqtt *m, int timeout_ms);

/*
 * Takes the next received message, waiting up to timeout_ms (0: poll,
 * < 0: forever). HS_ERR_TIMEOUT when none arrived, HS_ERR_CLOSED after
 * hs_mqtt_wake was called.
 */
int hs_mqtt_recv(hs_mqtt *m, hs_mqtt_msg **out, int timeout_ms);
void hs_mqtt_msg_free(hs_mqtt_msg *msg);

/* Makes a waiting hs_mqtt_recv return HS_ERR_CLOSED (async-signal-unsafe; call from a thread). */
void hs_mqtt_wake(hs_mqtt *m);

bool hs_mqtt_is_connected(const hs_mqtt *m);
void hs_mqtt_get_stats(hs_mqtt *m, hs_mqtt_stats *st);

/*
 * Disconnects (publishing nothing: a service publishes its "offline" status
 * itself before) and frees everything. NULL-safe.
 */
void hs_mqtt_destroy(hs_mqtt *m);

/* True when filter (with + and #) matches topic. */
bool hs_mqtt_topic_matches(const char *filter, const char *topic);

#endif
