/*
 * Helpers that tools of every family share: a sliding buffer of numeric
 * points (t, v), a scalar as key text, reading a source to its end and
 * reading the windows of a window source.
 * Internal to the tool library.
 */
#ifndef HS_BUILTIN_TOOL_UTIL_H
#define HS_BUILTIN_TOOL_UTIL_H

#include "hs_buf.h"
#include "hs_tool.h"
#include "hs_value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- a sliding buffer of (t, v) points ---- */

/*
 * Points in time order, appended at the end and dropped at the front (the
 * window tools keep the points the current window can still need). The
 * points in use are [head, n). A zeroed hs_tvbuf is empty, as after
 * hs_tvbuf_init.
 */
typedef struct hs_tvbuf {
    int64_t *t; /* owned: times */
    double *v;  /* owned: values */
    size_t head, n, cap;
} hs_tvbuf;

/* An empty buffer; allocates nothing. */
void hs_tvbuf_init(hs_tvbuf *b);

/* Frees the arrays; the buffer is then empty (NULL-safe on the fields). */
void hs_tvbuf_free(hs_tvbuf *b);

/* Appends (t, v). HS_OK or HS_ERR_NOMEM (the buffer is unchanged). */
int hs_tvbuf_push(hs_tvbuf *b, int64_t t, double v);

/* Drops the points at the front with a time at or before t. */
void hs_tvbuf_drop_through(hs_tvbuf *b, int64_t t);

/* Drops every point, keeping the memory. */
void hs_tvbuf_clear(hs_tvbuf *b);

/* ---- a sliding buffer of instances ---- */

/*
 * Instances (t, value) in time order, their value bytes copied, appended at
 * the end and dropped at the front by moving head. The instances in use are
 * [head, n). A zeroed hs_tu_ibuf is empty, as after hs_tu_ibuf_init.
 */
typedef struct hs_tu_ibuf {
    int64_t *t;  /* owned: times */
    size_t *off; /* owned: where each value starts in bytes */
    size_t *len; /* owned: value lengths */
    size_t head, n, cap;
    hs_buf bytes; /* owned: the value bytes */
} hs_tu_ibuf;

/* An empty buffer; allocates nothing. */
void hs_tu_ibuf_init(hs_tu_ibuf *b);

/* Frees what the buffer holds; it is then empty. */
void hs_tu_ibuf_free(hs_tu_ibuf *b);

/*
 * Appends (t, the len bytes at v), first moving the instances in use to the
 * front when the arrays are full and at least half of them is dropped.
 * HS_OK, HS_ERR_NOMEM or the error of hs_buf_append (the instance is then
 * not added).
 */
int hs_tu_ibuf_push(hs_tu_ibuf *b, int64_t t, const uint8_t *v, size_t len);

/* Drops every instance, keeping the memory. */
void hs_tu_ibuf_clear(hs_tu_ibuf *b);

/* The value bytes of instance i (valid until the next push or clear). */
static inline const uint8_t *hs_tu_ibuf_value(const hs_tu_ibuf *b, size_t i)
{
    return b->bytes.data + b->off[i];
}

/* ---- a scalar as key text ---- */

/* Room hs_tu_key_text needs in its buffer. */
#define HS_TU_KEY_BUF 40

/*
 * The text of a scalar used as a key or plate value (Python's str() where
 * it matters): strings as they are, integers in decimal, bools as
 * true/false, floats in their shortest round-trip form with ".0" when
 * integral. Returns false for nil, bin and containers. *s points into v or
 * into buf.
 */
bool hs_tu_key_text(const hs_value *v, char buf[HS_TU_KEY_BUF], const char **s, size_t *len);

/* ---- reading a source to its end ---- */

/*
 * Called for every instance; returns HS_OK to go on, anything else stops
 * the loop and is returned by hs_tu_each. v (len bytes) is valid only
 * during the call.
 */
typedef int (*hs_tu_each_fn)(void *ud, int64_t t, const uint8_t *v, size_t len);

/*
 * Reads every instance of source (an index or a pseudo index) in range, in
 * time order, calling fn (NULL: only reads them). Returns HS_OK, the read
 * error, or what fn returned to stop.
 */
int hs_tu_each(hs_tool_ctx *ctx, size_t source, hs_interval range, hs_tu_each_fn fn, void *ud);

/* ---- windows ---- */

/* Reads a window value [lo_us, up_us] (an array of two integers, nothing after it). */
bool hs_tu_read_window(const uint8_t *p, size_t len, int64_t *lo, int64_t *up);

/* Called for every window (t, (lo, up]); returns as hs_tu_each_fn does. */
typedef int (*hs_tu_window_fn)(void *ud, int64_t t, int64_t lo, int64_t up);

/*
 * Reads the windows of source 0 over the job interval, in time order, and
 * calls fn for each. A value that is not [lo_us, up_us] is passed over with
 * the warning "<tool>: the window at <t> is not [lo, up] in microseconds;
 * skipped". With clip, up is cut to the job end (data after it is never
 * read) and a window with lo >= up is passed over. Returns HS_OK, the read
 * error, or what fn returned to stop.
 */
int hs_tu_each_window(hs_tool_ctx *ctx, const char *tool, bool clip, hs_tu_window_fn fn, void *ud);

#endif
