/*
 * The sending side of the writer protocol, with application-level
 * acknowledgement (docs/ARCHITECTURE.md, "Delivery").
 *
 * A write request is a msgpack map
 *   {"v": 1, "inc": <incarnation>, "seq": <n>, "op": "<op>", <op fields>...}
 * published at QoS 1 on <prefix>/w/<sender-id>. The client keeps each
 * request until the writer acknowledges its seq on <prefix>/ack/<sender-id>
 * and re-sends pending requests when the writer restarts (a new incarnation
 * on its retained status), when this client's connection is re-established,
 * and after resend_after without an acknowledgement.
 *
 * The client owns its own MQTT connection (client id "<sender-id>-w") and a
 * thread that receives acknowledgements, so a service that blocks in
 * hs_wclient_send (pending requests full) still gets the acknowledgements
 * that unblock it. Thread-safe.
 */
#ifndef HS_WCLIENT_H
#define HS_WCLIENT_H

#include "hs_proto.h"
#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_wclient hs_wclient;

/* The writer's answer to one request. */
typedef struct hs_wack {
    uint64_t seq;
    int status;        /* 0 committed; otherwise the request was rejected (not re-sent) */
    const char *error; /* reason when rejected, else NULL (borrowed for the callback) */
    uint64_t inserted; /* instances newly stored */
    uint64_t duplicates;
    uint64_t conflicts;
} hs_wack;

/* Called on the client's thread for every acknowledged request. Must not block. */
typedef void (*hs_wclient_ack_fn)(void *ud, const hs_wack *ack);

typedef struct hs_wclient_opts {
    const char *url;
    const char *username;
    const char *password;
    const char *ca_file;
    const char *prefix;       /* topic prefix, "hs" */
    const char *sender_id;    /* unique per sender process: the service id */
    const char *writer_id;    /* the writer's service id, "writer" */
    size_t max_pending_bytes; /* default 64 MiB */
    int64_t resend_after_us;  /* default 30 s */
    int connect_timeout_ms;   /* <= 0: forever */
    hs_wclient_ack_fn on_ack; /* optional */
    void *ud;
    struct hs_log *log; /* optional: re-sends are logged here */
} hs_wclient_opts;

void hs_wclient_opts_init(hs_wclient_opts *o);

/* Connects, subscribes to acknowledgements and the writer's status, starts the thread. */
int hs_wclient_create(hs_wclient **out, const hs_wclient_opts *opts);

/*
 * Sends one request: op is the operation; fields holds the nfields
 * key/value pairs an hs_proto_*_encode_fields function wrote. Blocks while the
 * pending requests exceed max_pending_bytes, up to timeout_ms (< 0: forever;
 * HS_ERR_FULL on timeout). *seq (may be NULL) receives the request's seq.
 */
int hs_wclient_send(hs_wclient *wc, hs_proto_op op, const uint8_t *fields, size_t fields_len,
                    uint32_t nfields, int timeout_ms, uint64_t *seq);

/* Waits until every request is acknowledged; HS_ERR_TIMEOUT otherwise. */
int hs_wclient_flush(hs_wclient *wc, int timeout_ms);

/*
 * The highest seq such that this request and every earlier one is
 * acknowledged (0 when none was sent or the first is pending). A caller that
 * noted the seq of its last request of some data knows, without blocking,
 * that all of it is acknowledged once this is at least that seq.
 */
uint64_t hs_wclient_acked_through(hs_wclient *wc);

typedef struct hs_wclient_stats {
    uint64_t sent, resent, acked, rejected;
    size_t pending, pending_bytes;
} hs_wclient_stats;

void hs_wclient_get_stats(hs_wclient *wc, hs_wclient_stats *st);

/* Stops the thread and disconnects; pending requests are dropped (they were never acknowledged). */
void hs_wclient_destroy(hs_wclient *wc);

#endif
