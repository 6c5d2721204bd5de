/*
 * What the writer knows of computations, for late data (docs/ARCHITECTURE.md,
 * "Late data, recomputation and corrections"):
 *
 * - the dependency index: for every computed stream (sink), the streams its
 *   jobs read and its lookback; and the reverse, for every stream, the sinks
 *   that read it;
 * - the change ring: recent changes of streams that sinks read (a stream,
 *   the first and last time changed, the writer commit's sequence number),
 *   so that a job committing after such a change learns whether its reads
 *   may have missed it.
 *
 * Pure: no store, no broker, no clock. Not thread-safe.
 */
#ifndef HS_WRITER_WDEPS_H
#define HS_WRITER_WDEPS_H

#include "hs_interval.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wdeps wdeps;

/* One sink reading a stream. */
typedef struct wdeps_reader {
    const char *sink; /* borrowed from the index */
    int64_t lookback_us;
    int64_t max_lateness_us; /* 0: unbounded */
} wdeps_reader;

/*
 * Creates an empty index whose ring holds at most ring_max changes (the
 * oldest are dropped first). HS_ERR_NOMEM.
 */
int wdeps_create(wdeps **out, size_t ring_max);
void wdeps_destroy(wdeps *d);

/*
 * Sets what sink reads (sources[0..n), copied), replacing what it read
 * before. HS_ERR_NOMEM leaves the index as it was for that sink or without
 * it.
 */
int wdeps_set(wdeps *d, const char *sink, const char *const *sources, size_t n, int64_t lookback_us,
              int64_t max_lateness_us);

/* Whether the index holds exactly these dependencies for sink. */
bool wdeps_same(const wdeps *d, const char *sink, const char *const *sources, size_t n,
                int64_t lookback_us, int64_t max_lateness_us);

/*
 * The sinks reading stream id (*n of them, 0 when none); valid until the
 * next wdeps_set.
 */
const wdeps_reader *wdeps_readers(const wdeps *d, const char *id, size_t *n);

/*
 * What sink reads: its sources (borrowed, valid until the next wdeps_set)
 * and lookback. False when the sink is unknown.
 */
bool wdeps_of(const wdeps *d, const char *sink, const char *const **sources, size_t *n,
              int64_t *lookback_us);

/*
 * Remembers that stream id changed over [lo_us, hi_us] in the commit with
 * sequence number seq (not below that of the last change remembered).
 * Streams no sink reads are not remembered. HS_ERR_NOMEM.
 */
int wdeps_change(wdeps *d, const char *id, int64_t lo_us, int64_t hi_us, uint64_t seq);

/* Forgets the changes of commits from seq on (a transaction rolled back). */
void wdeps_forget_from(wdeps *d, uint64_t seq);

/*
 * Calls fn for every remembered change with a sequence number above after,
 * to one of sources[0..n), that overlaps range (start, end]. Sets
 * *complete to false when changes above after may have been dropped from
 * the ring (then the caller cannot know what it missed). Returns the first
 * non-zero value of fn, else HS_OK.
 */
typedef int (*wdeps_change_fn)(void *ud, const char *id, int64_t lo_us, int64_t hi_us);
int wdeps_changes_since(const wdeps *d, uint64_t after, const char *const *sources, size_t n,
                        hs_interval range, wdeps_change_fn fn, void *ud, bool *complete);

/* Changes remembered now (for tests and metrics). */
size_t wdeps_ring_size(const wdeps *d);

#endif
