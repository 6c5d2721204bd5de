/*
 * A service's metrics: the counters its threads update, a latency
 * histogram, the JSON object published on <prefix>/metrics/<id> and
 * returned by the control channel's `stats`, the same numbers in the
 * Prometheus text format (version 0.0.4), and the HTTP endpoint serving it.
 *
 * The rendering functions work on a snapshot (hs_metrics_snapshot) and are
 * pure, so that tests can render a known state; an hs_metrics object takes
 * its snapshots from its counters, its histogram, the process (memory, CPU
 * time) and a probe the service supplies (paused, MQTT queue).
 *
 * The histogram has HS_METRICS_BUCKETS buckets, 4 per power of two of
 * microseconds: bucket b < 4 holds exactly b us; above, bucket 4*(k-1)+s
 * holds [2^k * (1 + s/4), 2^k * (1 + (s+1)/4)) us, the last bucket everything
 * beyond. A quantile is read as the middle of the bucket that holds it.
 */
#ifndef HS_METRICS_H
#define HS_METRICS_H

#include "hs_arena.h"
#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Counters a service reports (monotonic, except backlog). Atomic: the
 * service's threads update them, the control channel and the HTTP endpoint
 * read them.
 */
typedef struct hs_metrics_counters {
    _Atomic uint64_t msgs_in, msgs_out;
    _Atomic uint64_t instances_in, instances_out;
    _Atomic uint64_t errors;
    _Atomic uint64_t dead_lettered;
    _Atomic uint64_t backlog; /* a gauge: work waiting */
    /* Late data (the writer): intervals it reopened, instances older than max_lateness. */
    _Atomic uint64_t late_reopened, late_ignored;
    /* Instances deleted by purges and retention (the writer). */
    _Atomic uint64_t purged;
    /* Readings that failed an input schema (ingest), dead-lettered, not stored. */
    _Atomic uint64_t schema_rejected;
} hs_metrics_counters;

#define HS_METRICS_BUCKETS 256

/* The histogram bucket of a latency in microseconds (negative counts as 0). */
unsigned hs_metrics_bucket(int64_t us);

/*
 * The value a bucket stands for, in microseconds: b for b < 4, else the
 * middle of its range (2^k (1 + s/4) + 2^k / 8).
 */
double hs_metrics_bucket_mid_us(unsigned bucket);

/*
 * The q-quantile (0 < q <= 1) of n bucket counts, in microseconds: the
 * middle of the first bucket where the running count reaches
 * round(q * total) (at least 1). 0 when the counts are all zero.
 */
double hs_metrics_quantile_us(const uint64_t *counts, size_t n, double q);

/* Everything one rendering shows; strings are borrowed. */
typedef struct hs_metrics_snapshot {
    const char *kind;    /* the service kind ("writer") */
    const char *id;      /* the service id */
    const char *version; /* the program's version */
    int64_t t_us;        /* wall-clock time of the snapshot */
    double uptime_s;
    bool paused;
    uint64_t msgs_in, msgs_out, instances_in, instances_out;
    uint64_t errors, dead_lettered, backlog;
    uint64_t late_reopened, late_ignored;
    uint64_t purged;
    uint64_t schema_rejected;
    /* Per second over the last metrics interval. */
    double msgs_in_per_s, msgs_out_per_s, instances_in_per_s, instances_out_per_s;
    /* Latency quantiles over the last metrics interval and the count they came from. */
    double p50_ms, p95_ms, p99_ms;
    uint64_t window_count;
    /* Latency since the start: observations and their sum. */
    uint64_t lat_count;
    uint64_t lat_sum_us;
    size_t rx_queued;    /* MQTT messages waiting to be taken */
    int inflight;        /* QoS 1 publishes awaiting acknowledgement */
    uint64_t reconnects; /* MQTT reconnects */
    int64_t rss_kb;      /* resident memory in KiB */
    double cpu_s;        /* CPU time used, user + system */
} hs_metrics_snapshot;

/*
 * Appends the metrics JSON object (one line, no newline). HS_ERR_NOMEM or
 * HS_ERR_LIMIT from the buffer; out may then hold part of the object.
 */
int hs_metrics_render_json(const hs_metrics_snapshot *s, hs_buf *out);

/*
 * Appends the Prometheus text exposition (version 0.0.4) of the snapshot:
 * gauges and counters labelled {service, id} and the summary
 * hs_latency_seconds. Label values are escaped as the format requires.
 * Errors as hs_metrics_render_json.
 */
int hs_metrics_render_prom(const hs_metrics_snapshot *s, hs_buf *out);

/* A metrics message as read back (hsctl top): its strings live in arena. */
typedef struct hs_metrics_msg {
    hs_metrics_snapshot s; /* lat_count and lat_sum_us are not in the message: 0 */
    hs_arena arena;        /* owns kind, id and version */
} hs_metrics_msg;

/*
 * Reads one metrics JSON object (schemas/metrics.json, as
 * hs_metrics_render_json writes it): every member required, none unknown
 * or twice, counters non-negative integers, rates and times non-negative
 * numbers, state online or paused. HS_ERR_PARSE with a detail naming the
 * member, HS_ERR_NOMEM. Free m with hs_metrics_msg_free, also after a
 * failure.
 */
int hs_metrics_decode(hs_metrics_msg *m, const char *json, size_t len);
void hs_metrics_msg_free(hs_metrics_msg *m);

/* What a service tells its metrics when asked (from any thread). */
typedef struct hs_metrics_probe {
    bool paused;
    size_t rx_queued;
    int inflight;
    uint64_t reconnects;
} hs_metrics_probe;

/* Fills *out; called from the service's, the control and the HTTP threads. */
typedef void (*hs_metrics_probe_fn)(void *ctx, hs_metrics_probe *out);

typedef struct hs_metrics hs_metrics;

/*
 * Creates the metrics of a service (kind and id are copied; probe may be
 * NULL: not paused, no MQTT numbers). The caller frees it with
 * hs_metrics_destroy. HS_ERR_NOMEM.
 */
int hs_metrics_create(hs_metrics **out, const char *kind, const char *id, int64_t started_us,
                      hs_metrics_probe_fn probe, void *probe_ctx);

/* Stops the HTTP endpoint if it runs and frees. NULL-safe. */
void hs_metrics_destroy(hs_metrics *m);

/* The counters (owned by m, valid until hs_metrics_destroy). */
hs_metrics_counters *hs_metrics_counters_get(hs_metrics *m);

/* Records one latency in microseconds. Thread-safe and lock-free. */
void hs_metrics_observe_us(hs_metrics *m, int64_t us);

/*
 * Closes a metrics interval: recomputes the rates (when at least 50 ms
 * passed since the last time) and the latency quantiles over the
 * observations since the last call, and renders the JSON object that
 * hs_metrics_json returns. Thread-safe. Errors as hs_metrics_render_json.
 */
int hs_metrics_update(hs_metrics *m);

/* Appends the JSON object of the last hs_metrics_update ("" before any). Thread-safe. */
int hs_metrics_json(hs_metrics *m, hs_buf *out);

/*
 * Fills a snapshot as the HTTP endpoint shows it: counters, latency totals,
 * memory, CPU time and probe as they are now, rates and quantiles of the
 * last hs_metrics_update. The strings stay m's. Thread-safe.
 */
void hs_metrics_snapshot_now(hs_metrics *m, hs_metrics_snapshot *s);

/*
 * Serves GET /metrics (hs_metrics_render_prom of hs_metrics_snapshot_now)
 * on port of the address bind (an IPv4 or IPv6 address: "127.0.0.1" for
 * this host only, "0.0.0.0" or "::" for every address), from a thread of
 * its own until hs_metrics_destroy. HS_ERR_INVAL when bind is not an
 * address, HS_ERR_STATE when it runs already, HS_ERR_IO (with detail) when
 * the port cannot be used.
 */
int hs_metrics_http_start(hs_metrics *m, const char *bind, uint16_t port);

#endif
