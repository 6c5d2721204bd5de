/*
 * The built-in tools of part "hs1" (HyperStream's list, dict, merge and
 * window tools) and the helpers they share (hs1_util.c).
 */
#ifndef HS_BUILTIN_HS1_H
#define HS_BUILTIN_HS1_H

#include "hs_arena.h"
#include "hs_buf.h"
#include "hs_tool.h"
#include "hs_value.h"
#include "tool_util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const hs_tool_def hs_tool_aligned_merge;
extern const hs_tool_def hs_tool_aligning_window;
extern const hs_tool_def hs_tool_component;
extern const hs_tool_def hs_tool_component_filter;
extern const hs_tool_def hs_tool_component_set;
extern const hs_tool_def hs_tool_copy;
extern const hs_tool_def hs_tool_dict_argmax;
extern const hs_tool_def hs_tool_dict_values_to_const;
extern const hs_tool_def hs_tool_histogram_from_list;
extern const hs_tool_def hs_tool_jsonify;
extern const hs_tool_def hs_tool_list_dict_mean;
extern const hs_tool_def hs_tool_list_dict_sum;
extern const hs_tool_def hs_tool_list_length;
extern const hs_tool_def hs_tool_list_mean;
extern const hs_tool_def hs_tool_list_sum;
extern const hs_tool_def hs_tool_percentiles_from_list;
/* Version 0.0.1 beside 1.0.0: a list of percentiles always gives a list (HyperStream v0.0.1). */
extern const hs_tool_def hs_tool_percentiles_from_list_0_0;
extern const hs_tool_def hs_tool_product;
extern const hs_tool_def hs_tool_relative_apply2;
extern const hs_tool_def hs_tool_relative_window;
/* Named _tool: hs_tool_sink is the API function that gives a job's sink. */
extern const hs_tool_def hs_tool_sink_tool;
extern const hs_tool_def hs_tool_slice;
extern const hs_tool_def hs_tool_sliding_listify;
extern const hs_tool_def hs_tool_sliding_sink;

/* ---- numbers as Python adds them ---- */

/*
 * A running sum with Python's types: integers (and bools, as 0/1) add as
 * integers; the first float turns the sum into a float, which it stays.
 * An integer sum that leaves int64 continues as a float (Python would keep
 * an exact big integer).
 */
typedef struct hs1_num {
    bool is_int; /* every term so far was an integer or a bool */
    int64_t i;   /* the sum while is_int */
    double f;    /* the sum once !is_int */
} hs1_num;

/* Sets n to the integer start (Python's sum() starts at 0). */
void hs1_num_set_int(hs1_num *n, int64_t i);

/* Sets n to the number v; false (n unchanged) when v is not INT, FLOAT or BOOL. */
bool hs1_num_set(hs1_num *n, const hs_value *v);

/* Adds the number v; false (n unchanged) when v is not INT, FLOAT or BOOL. */
bool hs1_num_add(hs1_num *n, const hs_value *v);

/*
 * Sums the list v as Python's sum() does (starting at the integer 0).
 * False when v is not a list or holds something other than numbers.
 */
bool hs1_list_sum(const hs_value *v, hs1_num *sum);

/* The sum as a double. */
double hs1_num_double(const hs1_num *n);

/* Appends the sum as msgpack: an integer while is_int, else a float64. */
int hs1_num_put(const hs1_num *n, hs_buf *out);

/* ---- keys ---- */

/*
 * A set of string keys in first-seen order, allocated in an arena for a
 * known maximum number of keys (it never grows). Keys are borrowed: they
 * must outlive the set.
 */
typedef struct hs1_keys {
    const char **s;  /* key bytes (borrowed), n of them in first-seen order */
    uint32_t *len;   /* their lengths */
    uint32_t *slots; /* hash table of index + 1 (0 = free), mask + 1 slots */
    uint32_t mask;
    size_t n, max;
} hs1_keys;

/* Room for max distinct keys in a. HS_ERR_NOMEM or HS_ERR_LIMIT (max too large). */
int hs1_keys_init(hs1_keys *k, hs_arena *a, size_t max);

/*
 * The index of key s (len bytes), adding it when add is true and it is new
 * (*added tells which, when added is not NULL). -1 when the key is absent
 * and add is false, or when the set is full.
 */
long hs1_keys_get(hs1_keys *k, const char *s, uint32_t len, bool add, bool *added);

/*
 * A map in a with the keys of k in their order (strings borrowed from k's
 * keys) and nil values, for the caller to set: value i is items[2 * i + 1].
 * NULL when out of memory.
 */
hs_value *hs1_keys_map(const hs1_keys *k, hs_arena *a);

/* ---- small helpers ---- */

/*
 * The text of a scalar as a map key: strings as they are, integers in
 * decimal, floats as Python's repr (shortest round trip, ".0" when
 * integral, "inf", "nan"), bools "true"/"false", nil "null". Returns false
 * for bin, arrays and maps. *s points into v or into buf (>= 40 bytes).
 */
bool hs1_key_text(const hs_value *v, char *buf, const char **s, size_t *len);

/*
 * Equality as Python's == sees it for these values: integers and floats by
 * numeric value (1 == 1.0; NaN equals nothing), arrays item by item, maps by
 * their key sets and values in any order; bools equal only bools (unlike
 * Python, true != 1); anything else as hs_value_equal.
 */
bool hs1_value_eq(const hs_value *a, const hs_value *b);

/* a + b clamped to the int64 range. */
int64_t hs1_add_sat(int64_t a, int64_t b);

/* Whether the encoded value p (len bytes) is an array or a map. */
bool hs1_is_container(const uint8_t *p, size_t len);

/* ---- a sliding buffer of one source's instances ---- */

/*
 * Holds the instances of one source that the current window can still
 * need, read once, streaming: after a window (lo, up] the instances at or
 * before lo are dropped, since windows normally have non-decreasing starts.
 * A window that starts before what was dropped reopens the source at its
 * own start instead, so any order of windows gives exact results.
 */
typedef struct hs1_wbuf {
    size_t source;   /* source index */
    int64_t limit;   /* nothing after this time is read */
    hs_tool_iter it; /* the source, open when it_open */
    bool it_open;
    bool done;     /* it reached limit */
    int64_t from;  /* the buffer holds every instance of (from, to] ... */
    int64_t to;    /* ... from its head on, and maybe one after to */
    hs_tu_ibuf in; /* owned: the buffered instances */
} hs1_wbuf;

void hs1_wbuf_init(hs1_wbuf *w, size_t source, int64_t limit);
void hs1_wbuf_free(hs1_wbuf *w);

/*
 * Makes w hold every instance of (lo, up] (up <= limit) and gives their
 * range of indexes [*first, *end). Returns HS_OK or an error (reading the
 * source failed: the job is failed). Values are valid until the next call.
 */
int hs1_wbuf_window(hs_tool_ctx *ctx, hs1_wbuf *w, int64_t lo, int64_t up, size_t *first,
                    size_t *end);

/*
 * Emits at t the list of the values of w's instances [first, end) in time
 * order, or with with_time the list of [t_us, value] pairs, encoded into
 * out (reset first). A list that nests too deep to be a value is not
 * emitted but warned about as "<tool>: the window at <t> nests too deep;
 * skipped". Returns HS_OK or the error of encoding or emitting.
 */
int hs1_wbuf_emit_list(hs_tool_ctx *ctx, const char *tool, const hs1_wbuf *w, size_t first,
                       size_t end, bool with_time, int64_t t, hs_buf *out);

static inline const uint8_t *hs1_wbuf_value(const hs1_wbuf *w, size_t i)
{
    return hs_tu_ibuf_value(&w->in, i);
}

#endif
