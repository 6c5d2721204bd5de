/*
 * The writer's commit logic, without MQTT: the part of the writer that tests
 * can drive directly against a store.
 *
 * The shell (writer.c) receives write requests and hands each to
 * wcore_add; when the batch is full or its time is up it calls
 * wcore_commit, which applies the whole batch in one store transaction
 * (multi-part jobs whose parts have all arrived included) and then turns
 * what the commit produced into outputs: acknowledgements per sender,
 * committed instances per stream, notices (job commits, purges) and dead
 * letters. The shell takes them one by one with wcore_next and publishes
 * them; topics are given below the service's topic prefix.
 *
 *   wcore *c;
 *   wcore_create(&c, store, &cfg, log, counters);
 *   wcore_add(c, "hs/w/ingest", payload, len);     // per received request
 *   wcore_commit(c);                               // one transaction
 *   wcore_out o;
 *   while (wcore_next(c, &o)) publish(o.topic, o.payload, o.len);
 *   wcore_destroy(c);
 *
 * A handle is used from one thread.
 */
#ifndef HS_WCORE_H
#define HS_WCORE_H

#include "hs_log.h"
#include "hs_metrics.h"
#include "hs_retain.h"
#include "hs_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The core's settings. The core borrows them and reads them on every use,
 * so that changes made at run time take effect at the next batch.
 */
typedef struct wcore_cfg {
    int64_t batch_max_instances;   /* instances per transaction */
    int64_t batch_max_requests;    /* requests per transaction */
    int64_t publish_max_instances; /* instances per hs/s message */
    int64_t job_parts_max_bytes;   /* memory for incomplete multi-part job outputs */
    int64_t job_parts_ttl_us;      /* incomplete job outputs are dropped after this */
    int64_t change_ring_max;       /* recent changes remembered for jobs in flight (wdeps.h) */
} wcore_cfg;

typedef struct wcore wcore;

/*
 * Called after a transient store failure (HS_ERR_IO: disk full, locked)
 * before the core tries again in delay_ms. It waits (or not) and returns
 * true to try again, false to give up: wcore_commit then returns the error
 * with the batch kept and nothing acknowledged.
 */
typedef bool (*wcore_wait_fn)(void *ud, int delay_ms);

/*
 * Creates a core that writes to store (borrowed, opened with
 * HS_STORE_WRITE; no transaction open). cfg is borrowed and must outlive
 * the core. log (may be NULL: stderr) and counters (may be NULL: not
 * counted) are borrowed. The core counts msgs_in, instances_in,
 * instances_out and errors; publishing is the caller's to count. Returns
 * HS_OK or HS_ERR_NOMEM; destroy with wcore_destroy.
 */
int wcore_create(wcore **out, hs_store *store, const wcore_cfg *cfg, hs_log *log,
                 hs_metrics_counters *counters);

/* Frees the core, its batch, held job parts and pending outputs. NULL-safe. */
void wcore_destroy(wcore *c);

/*
 * Sets how the core waits before it retries after a transient store
 * failure. Without one (the default) it does not retry: wcore_commit
 * returns HS_ERR_IO and keeps the batch.
 */
void wcore_set_wait(wcore *c, wcore_wait_fn fn, void *ud);

/*
 * Adds one received write request to the batch: topic is the request's
 * topic (<prefix>/w/<sender>), payload its len bytes; both are copied. A
 * request that cannot be read (not msgpack, no inc, seq or op, no sender
 * in the topic) is never acknowledged: it becomes a dead letter output at
 * once. Returns HS_OK, or HS_ERR_NOMEM (the request is lost).
 */
int wcore_add(wcore *c, const char *topic, const void *payload, size_t len);

/* Requests in the batch. */
size_t wcore_batch_requests(const wcore *c);

/* Whether the batch reached batch_max_requests or batch_max_instances (estimated). */
bool wcore_batch_full(const wcore *c);

/*
 * Commits the batch: applies every request and every complete multi-part
 * job in one transaction, then queues the outputs and empties the batch.
 * Parts of incomplete jobs stay held until their job is complete (or
 * expires). A transient store failure (HS_ERR_IO, HS_ERR_NOMEM) rolls the
 * transaction back and is retried through the wait function; when that
 * gives up the error is returned with the batch kept and nothing
 * acknowledged, and the next wcore_commit tries it again. Any other store
 * failure is isolated by applying the requests one by one, each in its own
 * transaction, rejecting those that fail; HS_OK then.
 */
int wcore_commit(wcore *c);

/* Drops incomplete job outputs whose first part arrived before now_us - job_parts_ttl
 * (monotonic clock, hs_time_mono_us). */
void wcore_expire_jobs(wcore *c, int64_t now_us);

/* Bytes of incomplete job outputs held. */
size_t wcore_held_bytes(const wcore *c);

/* The kinds of output. */
typedef enum wcore_out_kind {
    WCORE_OUT_DEAD,   /* a rejected input: reason, the original MQTT topic, stream and payload
                         (a write request, or a conflicting msgpack value) */
    WCORE_OUT_DATA,   /* committed instances: topic s/<stream>, an msgpack batch */
    WCORE_OUT_ACK,    /* acknowledgements: topic ack/<sender>, hs_proto_ack */
    WCORE_OUT_NOTICE, /* committed/<workflow> (hs_proto_committed), purged ({"stream"}),
                         reopened (hs_proto_reopened) */
    WCORE_OUT_MON,    /* a monitoring event: topic is its name, reason its text */
} wcore_out_kind;

/* One output; its pointers are borrowed from the core until the next call on it. */
typedef struct wcore_out {
    wcore_out_kind kind;
    const char *topic;  /* below the topic prefix; for WCORE_OUT_DEAD the input's own topic */
    const char *reason; /* WCORE_OUT_DEAD: why; "" otherwise */
    const char *stream; /* WCORE_OUT_DEAD: the stream id it concerns, or ""; "" otherwise */
    const uint8_t *payload;
    size_t len;
} wcore_out;

/*
 * Takes the next pending output, in order: dead letters of requests that
 * could not be read, then per commit its conflicts' dead letters, committed
 * instances, acknowledgements and notices. Returns false when there is none.
 */
bool wcore_next(wcore *c, wcore_out *o);

/*
 * The newest commit: the core's incarnation (epoch, its creation time in
 * µs) and the sequence number of its last commit (0 before the first).
 * Jobs dispatched knowing it see everything committed up to it.
 */
void wcore_wseq(const wcore *c, uint64_t *epoch, uint64_t *seq);

/* What one retention pass did. */
typedef struct wcore_retain_result {
    uint64_t streams;   /* streams that lost instances or intervals */
    uint64_t instances; /* instances deleted */
    uint64_t history;   /* job history records deleted */
    uint64_t sessions;  /* closed sessions deleted */
    bool more;          /* the budget ran out: call again soon to go on */
} wcore_retain_result;

/*
 * One retention pass, in its own transaction (call it between batches):
 * every stream that a rule of rules (borrowed; may be NULL or empty)
 * matches is purged before now_us - keep (docs/DEPLOY.md, "Retention",
 * and hs_store_purge_before), its reopened intervals with it; with
 * history_keep_us > 0 the job history records of every stored workflow
 * committed before now_us - history_keep_us are deleted too, and with
 * history_max > 0 those beyond its newest history_max. The same two limits
 * apply to closed sessions (docs/sessions), of any workflow, stored or
 * not: those that ended before now_us - history_keep_us go, and those
 * beyond the newest history_max closed sessions of their workflow, the
 * oldest first; active sessions are never deleted, and a session document
 * that does not decode is kept and logged (one warning a pass). At most
 * max_instances instances, as many history records and as many sessions
 * go in one pass (> 0), so that a first pass over years of data does not
 * hold up commits: res->more says when there is more to do. Purges queue
 * their purged notices as outputs (wcore_next). On a store failure the
 * transaction is rolled back and the error returned; nothing is counted.
 */
int wcore_retain(wcore *c, const hs_retain *rules, int64_t history_keep_us, int64_t history_max,
                 int64_t now_us, int64_t max_instances, wcore_retain_result *res);

/* Late data so far: intervals reopened, and instances too old to reopen anything. */
void wcore_late_counts(const wcore *c, uint64_t *reopened, uint64_t *ignored);

#endif
