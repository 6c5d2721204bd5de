/*
 * A thin MQTT v5 client over Paho MQTTAsync.
 *
 * Two connections per client: a transmit connection "<client_id>-tx" for
 * publishing (clean session; it carries the last will) and, created by the
 * first hs_mqtt_subscribe, a receive connection "<client_id>-rx" (a
 * persistent session when opts.persistent, else clean). Incoming messages
 * are handed from Paho's callback thread to the service's own thread
 * through a bounded queue (hs_mqtt_recv). When that queue is full the
 * callback waits, which stops reading from the socket and so pushes back on
 * the broker, which queues the messages meanwhile.
 *
 * Paho (1.3.11) runs the callbacks of every client of a process on one
 * thread and holds its process-wide mutex meanwhile, so a waiting callback
 * also holds up every Paho call and acknowledgement in the process, and
 * every keepalive ping. Hence a full queue accepts a message beyond its
 * bound (1) whenever a thread of the process is inside hs_mqtt calling
 * Paho or waiting for the broker (publishing, flushing, connecting,
 * subscribing), so that a service publishing while its queue is full
 * cannot deadlock, and (2) after holding Paho for a quarter of keepalive_s,
 * so that pings still go out and the broker does not drop the connections
 * (nor publish the last will) of a service that is slow to read. While the
 * service neither reads nor calls hs_mqtt, the queue grows by at most one
 * message per quarter keepalive.
 *
 * Publishing at QoS 1 uses a bounded window of in-flight messages:
 * hs_mqtt_publish blocks while the window is full (up to its timeout) and
 * never buffers without bound; QoS 0 messages that Paho has not yet written
 * to the socket are bounded the same way (HS_MQTT_QOS0_QUEUE). Both
 * connections reconnect by themselves with backoff (100 ms doubling to 2 s);
 * subscriptions are renewed after a reconnect that did not find the session.
 *
 * All functions are safe to call from one service thread while Paho's
 * threads run; hs_mqtt_recv, hs_mqtt_publish and hs_mqtt_wake may be called
 * from different threads. hs_mqtt_destroy must be the last call, made when
 * no other call on the client is in progress.
 */
#ifndef HS_MQTT_H
#define HS_MQTT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_mqtt hs_mqtt;

/* Largest number of QoS 0 publishes handed to Paho but not yet written out. */
#define HS_MQTT_QOS0_QUEUE 1000

typedef struct hs_mqtt_opts {
    const char *url;       /* "tcp://127.0.0.1:1883"; "mqtt://" = tcp, "mqtts://"/"ssl://" = TLS */
    const char *client_id; /* unique per broker; the connections add "-tx"/"-rx" */
    const char *username;  /* NULL: none */
    const char *password;  /* NULL: none */
    bool persistent;       /* receive connection keeps its session (clean start off) */
    uint32_t session_expiry_s; /* session expiry of a persistent session (default 1 day) */
    int keepalive_s;           /* default 10 (also paces a full queue, see above) */
    int max_inflight;          /* QoS 1 publish window (default 100, at most 65535) */
    size_t rx_queue_max;       /* largest number of queued incoming messages (default 10000) */
    size_t rx_queue_max_bytes; /* and bytes of topic + payload (default 64 MiB) */
    int connect_timeout_ms;    /* how long connects (and SUBACKs) are waited for; <= 0: forever
                                  (default 10000) */
    /* Non-NULL: a wait for a connection ends early (HS_ERR_CLOSED) once *cancel is non-zero,
     * e.g. a flag set by a stop signal while the broker is not there yet. */
    const atomic_int *cancel;
    /* Last will on the transmit connection (retained status "offline"). */
    const char *will_topic; /* NULL: no will */
    const void *will_payload;
    size_t will_len;
    bool will_retain; /* default true */
    int will_qos;     /* default 1 */
    /* TLS (for ssl:// URLs): files, all optional (default: the system's CA store). */
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
} hs_mqtt_opts;

/*
 * A received message; the caller frees it with hs_mqtt_msg_free. The
 * message and all its fields are one allocation: never free a field alone.
 */
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
    const char *response_topic; /* NULL: none; must not contain wildcards */
    const void *correlation;    /* NULL or correlation_len == 0: none */
    size_t correlation_len;
} hs_mqtt_pub_props;

typedef struct hs_mqtt_stats {
    uint64_t msgs_in, bytes_in;   /* received (queued for hs_mqtt_recv); bytes of payload */
    uint64_t msgs_out, bytes_out; /* handed to Paho */
    uint64_t publish_failures;    /* QoS 1 publishes the broker did not acknowledge */
    uint64_t reconnects;          /* successful connects after the first, both connections */
    size_t rx_queued;             /* messages waiting in the receive queue */
    int inflight;                 /* QoS 1 publishes awaiting acknowledgement */
    int qos0_queued;              /* QoS 0 publishes not yet written to the socket */
} hs_mqtt_stats;

/* Fills o with the defaults above (url and client_id NULL: the caller sets them). */
void hs_mqtt_opts_init(hs_mqtt_opts *o);

/*
 * Creates the client (copies all options and strings); does not connect.
 * Zero numeric options take their defaults. HS_ERR_INVAL (with a detail)
 * for a missing URL or client id, an unknown URL scheme, an invalid will
 * topic or QoS, or out-of-range numbers; HS_ERR_NOMEM; HS_ERR_MQTT when
 * Paho refuses the URL. The caller destroys the result with hs_mqtt_destroy.
 */
int hs_mqtt_create(hs_mqtt **out, const hs_mqtt_opts *opts);

/*
 * Connects the transmit connection, retrying with backoff up to
 * connect_timeout_ms. HS_ERR_TIMEOUT (with the last broker error as
 * detail) when it gives up; HS_ERR_MQTT when the broker refuses for a
 * reason that retrying cannot fix (bad credentials, not authorized, client
 * id rejected). HS_OK at once when already connected. Once connected, the
 * connection is kept up (reconnected after losses) until hs_mqtt_destroy.
 */
int hs_mqtt_connect(hs_mqtt *m);

/*
 * Subscribes on the receive connection (creating and connecting it first if
 * needed, as hs_mqtt_connect does); filter may be a shared subscription
 * "$share/group/topic". Waits for the SUBACK up to connect_timeout_ms.
 * Subscriptions are remembered and renewed after reconnects. HS_ERR_INVAL
 * for a malformed filter or QoS outside 0..2; HS_ERR_MQTT when the broker
 * refuses the subscription; HS_ERR_TIMEOUT; HS_ERR_CLOSED.
 */
int hs_mqtt_subscribe(hs_mqtt *m, const char *filter, int qos);

/*
 * Forgets a subscription made with hs_mqtt_subscribe (same filter text) and
 * unsubscribes at the broker, waiting for the UNSUBACK. HS_ERR_NOTFOUND
 * when the filter is not subscribed.
 */
int hs_mqtt_unsubscribe(hs_mqtt *m, const char *filter);

/*
 * Publishes len bytes to topic (no wildcards) at QoS 0 or 1 (HS_ERR_INVAL
 * otherwise). QoS 0 returns once handed to Paho; QoS 1 takes a slot of the
 * in-flight window. Waits up to timeout_ms (0: no wait, < 0: forever) for
 * the connection and for a slot; HS_ERR_FULL when none frees up in time,
 * HS_ERR_CLOSED when disconnected for longer than the timeout (or never
 * connected with hs_mqtt_connect). The payload is copied.
 */
int hs_mqtt_publish(hs_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                    bool retain, int timeout_ms);
int hs_mqtt_publish_props(hs_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                          bool retain, int timeout_ms, const hs_mqtt_pub_props *props);

/*
 * Waits until every QoS 1 publish is acknowledged (or failed, see
 * publish_failures) and every QoS 0 publish is written out. HS_ERR_TIMEOUT
 * otherwise (timeout_ms < 0: forever).
 */
int hs_mqtt_flush(hs_mqtt *m, int timeout_ms);

/*
 * Takes the next received message, waiting up to timeout_ms (0: poll,
 * < 0: forever). HS_ERR_TIMEOUT when none arrived, HS_ERR_CLOSED once
 * hs_mqtt_wake has been called (from then on, every call; messages still
 * queued are freed by hs_mqtt_destroy).
 */
int hs_mqtt_recv(hs_mqtt *m, hs_mqtt_msg **out, int timeout_ms);
void hs_mqtt_msg_free(hs_mqtt_msg *msg); /* NULL-safe */

/* Makes a waiting hs_mqtt_recv return HS_ERR_CLOSED (async-signal-unsafe; call from a thread). */
void hs_mqtt_wake(hs_mqtt *m);

/*
 * True when every connection in use is up: the transmit connection once
 * hs_mqtt_connect succeeded, the receive connection once hs_mqtt_subscribe
 * connected it. False while either reconnects, and when neither is in use.
 */
bool hs_mqtt_is_connected(const hs_mqtt *m);
void hs_mqtt_get_stats(hs_mqtt *m, hs_mqtt_stats *st);

/*
 * Disconnects both connections (publishing nothing: a service publishes its
 * "offline" status itself before; Paho gets a short moment for in-flight
 * acknowledgements, call hs_mqtt_flush first to wait for them) and frees
 * everything, including queued messages. A persistent receive session stays
 * at the broker. NULL-safe.
 */
void hs_mqtt_destroy(hs_mqtt *m);

/*
 * True when filter (with + and #) matches topic, by MQTT rules: '+' is one
 * level (possibly empty), a final '#' the rest including the parent level
 * ("a/#" matches "a"), and topics starting with '$' are not matched by a
 * leading wildcard. A shared subscription "$share/group/filter" matches as
 * its filter. False for NULL, empty or malformed filters ("a/#/b", "a+")
 * and for topics containing wildcards.
 */
bool hs_mqtt_topic_matches(const char *filter, const char *topic);

#endif
