/*
 * Time intervals with HyperStream's semantics: an interval (start, end] is
 * open at the start and closed at the end, start < end. An hs_intervals set
 * is a vector of intervals sorted by start that never overlap. Every set
 * operation below returns a compressed set (touching neighbours such as
 * (a, b] and (b, c] merged into (a, c]); only hs_intervals_split produces
 * touching neighbours on purpose.
 *
 * Costs: union, difference and intersection of sets of sizes n and m run in
 * O(n + m); split in O(n + p log p) for p points; point and interval
 * containment in O(log n); hs_intervals_add in O(log n + k) plus the moved
 * tail.
 */
#ifndef HS_INTERVAL_H
#define HS_INTERVAL_H

#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_interval {
    int64_t start; /* exclusive, microseconds */
    int64_t end;   /* inclusive, microseconds */
} hs_interval;

typedef struct hs_intervals {
    hs_interval *v; /* owned; sorted by start, non-overlapping */
    size_t n;       /* intervals in use */
    size_t cap;     /* intervals allocated */
} hs_intervals;

/* A relative interval, e.g. (-60s, -10s]: offsets from a reference instant. */
typedef struct hs_rel_interval {
    int64_t start_us;
    int64_t end_us;
} hs_rel_interval;

/* Sets *out to (start, end]; HS_ERR_INVAL (with detail) unless start < end. */
int hs_interval_make(int64_t start, int64_t end, hs_interval *out);

/* start < t <= end. */
bool hs_interval_contains_point(hs_interval iv, int64_t t);

/*
 * Whether inner is a subset of outer (outer.start <= inner.start and
 * inner.end <= outer.end). HyperStream's `in` is strict at the start; as a
 * set relation the non-strict form is the right one (documented).
 */
bool hs_interval_contains(hs_interval outer, hs_interval inner);

/* end - start (0 for an empty interval), saturated at INT64_MAX. */
int64_t hs_interval_width(hs_interval iv);

/*
 * Lifecycle: init makes an empty set without allocating; free releases the
 * memory and leaves an empty, reusable set (NULL-safe); clear empties the set
 * and keeps the memory. copy makes dst equal to src (HS_ERR_NOMEM leaves dst
 * unchanged).
 */
void hs_intervals_init(hs_intervals *s);
void hs_intervals_free(hs_intervals *s);
void hs_intervals_clear(hs_intervals *s);
int hs_intervals_copy(hs_intervals *dst, const hs_intervals *src);
bool hs_intervals_is_empty(const hs_intervals *s);

/*
 * Adds iv to s in place (set union), merging overlapping and touching
 * intervals. HS_ERR_INVAL when iv is empty (start >= end).
 */
int hs_intervals_add(hs_intervals *s, hs_interval iv);

/*
 * Appends iv after the last interval without merging; for building a set
 * from already sorted, disjoint input. HS_ERR_INVAL when iv is empty or
 * starts before the current last end.
 */
int hs_intervals_push(hs_intervals *s, hs_interval iv);

/*
 * Set operations. The inputs are sorted and non-overlapping (touching
 * neighbours, as split makes them, are fine). out is cleared first and must
 * not be a or b (HS_ERR_INVAL). out is given room for a->n + b->n intervals
 * up front, so the only other failure is HS_ERR_NOMEM; on failure out is
 * left empty.
 */
int hs_intervals_union(const hs_intervals *a, const hs_intervals *b, hs_intervals *out);
int hs_intervals_difference(const hs_intervals *a, const hs_intervals *b, hs_intervals *out);
int hs_intervals_intersection(const hs_intervals *a, const hs_intervals *b, hs_intervals *out);

/*
 * Splits every interval of s that strictly contains one of the points
 * (start < p < end) at that point; points may be unsorted and repeated.
 * out is cleared first and must not be s. The result has touching
 * neighbours by design.
 */
int hs_intervals_split(const hs_intervals *s, const int64_t *points, size_t n_points,
                       hs_intervals *out);

/* Merges touching neighbours (next.start == prev.end) in place. */
void hs_intervals_compress(hs_intervals *s);

/* The smallest interval covering s; false (and *out untouched) when empty. */
bool hs_intervals_span(const hs_intervals *s, hs_interval *out);

/* Sum of the widths. */
int64_t hs_intervals_total_width(const hs_intervals *s);

bool hs_intervals_contains_point(const hs_intervals *s, int64_t t);

/*
 * Whether iv is entirely covered by s (touching pieces count as covering).
 * False for an empty iv. O(log n) plus the touching pieces walked.
 */
bool hs_intervals_contains(const hs_intervals *s, hs_interval iv);

/*
 * Element-wise equality, as HyperStream's ==: a split set is not equal to
 * its compressed form although both cover the same instants.
 */
bool hs_intervals_equal(const hs_intervals *a, const hs_intervals *b);

/*
 * Appends a text form to out: "[]" for the empty set, otherwise
 * "(2016-04-28T20:00:00Z, 2016-04-28T21:00:00Z] U (...]" (instants as
 * hs_time_format_iso writes them). Returns HS_OK or the error of the
 * buffer (HS_ERR_NOMEM, HS_ERR_LIMIT); out may then hold part of the text.
 */
int hs_intervals_format(const hs_intervals *s, hs_buf *out);

/*
 * Sets *out to (start_us, end_us]; HS_ERR_INVAL unless start_us < end_us.
 * (Whether a relative interval may reach into the future is the caller's
 * rule: the online engine requires end_us <= 0.)
 */
int hs_rel_interval_make(int64_t start_us, int64_t end_us, hs_rel_interval *out);

/* (now + r.start, now + r.end], each sum saturated at the int64 limits. */
hs_interval hs_rel_interval_absolute(hs_rel_interval r, int64_t now_us);

#endif
