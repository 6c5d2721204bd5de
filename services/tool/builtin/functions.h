/*
 * Named functions for tool parameters such as `func: mean`.
 *
 * Two kinds exist. A reducer turns the numbers of a window or of one
 * timestamp into one number (sliding_apply, aggregate); a unary function
 * turns one value into another (apply). hs_func_find is the single entry
 * point that resolves a name of either kind: the built-in names below now,
 * user functions ("lua: ...") later, through the same call and the same
 * hs_func shape (a function pointer plus state).
 *
 * Built-in reducers: mean, sum, count, min, max, median, std (population
 * standard deviation), first, last, range (max - min). median of an even
 * number of values is the mean of the two middle ones.
 *
 * Built-in unary functions: identity, abs, neg, sqrt, exp, log, log10,
 * floor, ceil, round (half to even), c_to_f, f_to_c, len (code points of a
 * string, bytes of a bin, items of an array or map), not (of a bool).
 * Numbers are INT, FLOAT and BOOL (false = 0, true = 1). Integers stay
 * integers for identity, abs, neg, floor, ceil and round (abs and neg of
 * INT64_MIN become floats); every other numeric result is a float64.
 */
#ifndef HS_BUILTIN_FUNCTIONS_H
#define HS_BUILTIN_FUNCTIONS_H

#include "hs_arena.h"
#include "hs_tool.h"
#include "hs_value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hs_func_kind {
    HS_FUNC_REDUCER = 1, /* many numbers -> one number */
    HS_FUNC_UNARY = 2,   /* one value -> one value */
} hs_func_kind;

/*
 * Reduces n >= 1 numbers (borrowed, left unchanged) into *out. scratch
 * holds room for n doubles when the function asked for it (needs_scratch),
 * else it may be NULL. Returns HS_OK or an error (with detail) that fails
 * the job.
 */
typedef int (*hs_func_reduce_fn)(void *ud, const double *v, size_t n, double *scratch, double *out);

/*
 * Computes *out from in (and t, for functions that take timestamps).
 * Containers of the result may be allocated in a; a scalar result needs no
 * memory. Returns HS_OK; HS_ERR_INVAL (detail set) when the function does
 * not apply to this value, which the tool warns about and skips; any other
 * error fails the job.
 */
typedef int (*hs_func_unary_fn)(void *ud, hs_arena *a, int64_t t, const hs_value *in,
                                hs_value *out);

/* A resolved function. */
typedef struct hs_func {
    const char *name;          /* static for built-ins */
    hs_func_kind kind;         /* what follows applies to */
    hs_func_reduce_fn reduce;  /* REDUCER */
    bool int_result;           /* REDUCER: the result is a count, emitted as an integer */
    bool needs_scratch;        /* REDUCER: reduce needs scratch room for n doubles */
    hs_func_unary_fn unary;    /* UNARY */
    bool takes_time;           /* UNARY: can use the timestamp (include_timestamps) */
    void *ud;                  /* owned state, NULL for built-ins */
    void (*release)(void *ud); /* frees ud; NULL when there is nothing to free */
} hs_func;

/*
 * Resolves spec as a function of the given kind into *out. Returns HS_OK;
 * HS_ERR_NOTFOUND with a detail naming the valid functions of that kind;
 * HS_ERR_UNSUPPORTED for user functions ("lua: ..."), which are not
 * available yet. On success the caller ends with hs_func_release.
 */
int hs_func_find(const char *spec, hs_func_kind kind, hs_func *out);

/*
 * The job-side form: reads the string parameter `param` of the job and
 * resolves it. A missing or mistyped parameter and an unknown name fail the
 * job (HS_ERR_TOOL) with a message that lists the valid names.
 */
int hs_func_lookup(hs_tool_ctx *ctx, const char *param, hs_func_kind kind, hs_func *out);

/* Frees what a resolved function holds (NULL-safe, idempotent). */
void hs_func_release(hs_func *f);

/* The built-in names of a kind, in documentation order (static array of *n). */
const char *const *hs_func_names(hs_func_kind kind, size_t *n);

/*
 * The numeric view of one raw msgpack value: INT, FLOAT and BOOL (0 or 1)
 * give true and *out; anything else (or malformed bytes) gives false.
 */
bool hs_func_number(const uint8_t *v, size_t len, double *out);

/*
 * Applies the reducer f to v[0..n) (n >= 1) and emits the result at t to
 * the first sink: an integer for count-like functions, else a float64.
 * *scratch (hs_malloc'd, *scap doubles, caller frees) is grown as needed.
 * Errors of the function fail the job.
 */
int hs_func_reduce_emit(hs_tool_ctx *ctx, const hs_func *f, int64_t t, const double *v, size_t n,
                        double **scratch, size_t *scap);

#endif
