/*
 * Part "hs2" of the built-in tools: HyperStream's aggregate, multi-output,
 * selector and plate-creation tools, and the helpers they share
 * (hs2_util.c). Everything here is internal to the tool library.
 */
#ifndef HS_BUILTIN_HS2_H
#define HS_BUILTIN_HS2_H

#include "functions.h"
#include "hs_tool.h"
#include "tool_util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Aggregate (A). */
extern const hs_tool_def hs_tool_aggregate_into_dict_and_apply;
extern const hs_tool_def hs_tool_aggregate_plate;
/* Multi-output (M). */
extern const hs_tool_def hs_tool_asset_splitter;
extern const hs_tool_def hs_tool_splitter_from_stream;
extern const hs_tool_def hs_tool_splitter_of_dict;
extern const hs_tool_def hs_tool_splitter_of_list;
extern const hs_tool_def hs_tool_splitter_time_aware;
extern const hs_tool_def hs_tool_splitter_time_aware_from_stream;
extern const hs_tool_def hs_tool_splitter_with_unlist;
extern const hs_tool_def hs_tool_stream_broadcaster;
extern const hs_tool_def hs_tool_stream_broadcaster_from_stream;
/* Selector (S). */
extern const hs_tool_def hs_tool_index_of;
extern const hs_tool_def hs_tool_index_of_by_stream;
extern const hs_tool_def hs_tool_plate_sink;
/* Plate creation (P). */
extern const hs_tool_def hs_tool_asset_plate_generator;
extern const hs_tool_def hs_tool_meta_instance;
extern const hs_tool_def hs_tool_meta_instance_from_list;

/* ---- values as plate values ---- */

/*
 * The sink of output plate value pv (len bytes), or -1 after a warning
 * naming tool, the value and t ("not on the output plate; dropped").
 */
long hs2_sink(hs_tool_ctx *ctx, const char *tool, const char *pv, size_t len, int64_t t);

/*
 * Announces a plate value after checking that it can be used in stream
 * ids; a value that cannot is warned about and skipped (HS_OK). Other
 * errors are those of hs_tool_emit_plate_value.
 */
int hs2_plate_value(hs_tool_ctx *ctx, const char *tool, const char *pv, size_t len);

/*
 * The meta-data key an aggregate or selector job works over: the string
 * parameter `param` when it is given, else the one key that some source
 * from index `first` on has and the first sink has not (sources on the
 * child plate carry it, the sink on the parent plate does not). Fails the
 * job (HS_ERR_TOOL) when the parameter is mistyped or the key cannot be
 * inferred. *key lives in the job arena or in a stream id of the job.
 */
int hs2_job_key(hs_tool_ctx *ctx, const char *tool, const char *param, size_t first,
                const char **key);

/* A list of texts (filters, whitelists). */
typedef struct hs2_texts {
    const char **s; /* job arena */
    size_t *len;
    size_t n;
} hs2_texts;

/*
 * Reads the list parameter `param` of scalars as texts (hs_tu_key_text) into
 * *out; an absent (null) parameter gives an empty list. Anything else fails
 * the job.
 */
int hs2_param_texts(hs_tool_ctx *ctx, const char *tool, const char *param, hs2_texts *out);

/* Whether t holds s (len bytes). */
bool hs2_texts_has(const hs2_texts *t, const char *s, size_t len);

/* A mapping from keys to plate values (splitters), sorted by key for lookup. */
typedef struct hs2_map_ent {
    const char *from; /* job arena */
    size_t flen;
    const char *to; /* job arena */
    size_t tlen;
    size_t idx; /* position in the given map or list */
} hs2_map_ent;

typedef struct hs2_mapping {
    hs2_map_ent *e; /* job arena, sorted by from; the first of equal keys wins */
    size_t n;
} hs2_mapping;

/*
 * Builds a mapping from v: a map gives key -> text of its value (key ->
 * key when keys_only), a list gives item -> item (texts of scalars). Values
 * that are not scalars, and other types of v, fail the job (what names v
 * in the message).
 */
int hs2_mapping_build(hs_tool_ctx *ctx, const char *tool, const char *what, const hs_value *v,
                      bool keys_only, hs2_mapping *out);

/* The entry of key k (len bytes), or NULL. */
const hs2_map_ent *hs2_mapping_find(const hs2_mapping *m, const char *k, size_t len);

/* Appends map m without the field key (klen bytes), other fields in their order. */
int hs2_encode_map_without(const hs_value *m, const char *key, size_t klen, hs_buf *out);

/* ---- a k-way merge of sources by time ---- */

typedef struct hs2_head {
    int64_t t;
    size_t k; /* index into the merge's sources */
} hs2_head;

typedef struct hs2_merge {
    hs_tool_ctx *ctx;  /* borrowed */
    hs_tool_iter *its; /* owned, n iterators (nopen opened) */
    size_t n, nopen;
    hs2_head *heap; /* owned, by (t, k) */
    size_t nheap;
    const uint8_t **vals; /* current value of each source (valid until it advances) */
    size_t *lens;
    long pending; /* source returned last, advanced by the next call; -1 none */
} hs2_merge;

/*
 * Opens iterators over the given sources (indexes of the job's sources; srcs
 * NULL: the job's sources 0 to n - 1) for range. The merge yields their
 * instances in (time, position in srcs) order. Returns HS_OK or an error (the job has failed);
 * close it either way.
 */
int hs2_merge_open(hs2_merge *m, hs_tool_ctx *ctx, const size_t *srcs, size_t n, hs_interval range);

/*
 * The next instance: returns 1 with *t, *k (position in srcs) and the value
 * bytes (valid until the next call), 0 at the end, or a negative error.
 */
int hs2_merge_next(hs2_merge *m, int64_t *t, size_t *k, const uint8_t **v, size_t *len);

/* Closes the iterators and frees the merge (safe on a zeroed or partly opened merge). */
void hs2_merge_close(hs2_merge *m);

/*
 * Selector output: emits onto sink 0 the instances in the job interval of
 * the sources from index first on whose meta-data has key = value (vlen
 * bytes), merged by time. No such source fails the job with a message
 * listing the sources.
 */
int hs2_select_emit(hs_tool_ctx *ctx, const char *tool, size_t first, const char *key,
                    const char *value, size_t vlen);

/* ---- time intervals given as data ---- */

/* One interval of a time-aware splitter and its plate value. */
typedef struct hs2_tiv {
    const char *pv; /* in the job arena, NUL-terminated */
    size_t pvlen;
    hs_interval iv; /* (start, end] */
    long sink;      /* resolved by the caller; -1 when not on the output plate */
} hs2_tiv;

/*
 * Parses list, a list of [start, end] pairs (plate value str(i + 1) for
 * item i) or of [plate value, [start, end]] pairs, into *out (job arena).
 * Instants are ISO-8601 strings or epoch seconds as strings; numbers are
 * epoch seconds when ints_are_us is false (parameters) and integers are
 * microseconds when it is true (stream values, as sliding_window writes
 * them; floats are then refused). A malformed item, start >= end or a
 * repeated plate value fails the job, with what naming the list.
 */
int hs2_time_intervals(hs_tool_ctx *ctx, const char *tool, const char *what, const hs_value *list,
                       bool ints_are_us, hs2_tiv **out, size_t *n);

/*
 * Emits every instance of source 0 that lies in the job interval and in
 * one of the intervals onto the sink of that interval (to each such sink
 * when intervals overlap), reading the source once. Intervals whose plate
 * value is not on the output plate are warned about (once) and skipped.
 */
int hs2_split_by_time(hs_tool_ctx *ctx, const char *tool, hs2_tiv *tivs, size_t n);

/*
 * The last value of the splitting stream over (HS_TIME_MIN, job end]: 1 with
 * *v (job arena), 0 when it has none (warned about as "<tool>: the
 * splitting stream has no value up to the job end; nothing is <verb>"), or
 * an error.
 */
int hs2_splitting_last(hs_tool_ctx *ctx, const char *tool, const char *verb, hs_value **v);

/*
 * Applies the unary function f to v at t and encodes the result into out
 * (reset first). Returns 1 when out holds it; 0 when f does not apply to v
 * (warned about as "<tool>: <detail> at <t>; skipped"); or an error: f
 * failed or gave a value that cannot be encoded (the job is failed with a
 * message naming tool and f).
 */
int hs2_apply_encode(hs_tool_ctx *ctx, const char *tool, const hs_func *f, int64_t t,
                     const hs_value *v, hs_buf *out);

#endif
