/*
 * Named functions for tool parameters such as `func: mean`.
 *
 * Two kinds exist. A reducer turns the numbers of a window or of one
 * timestamp into one number (sliding_apply, aggregate); a unary function
 * turns one value into another (apply). hs_func_find is the single entry
 * point that resolves a spec of either kind: the built-in names below and
 * user functions written in Lua ("lua: return function(v) ... end", see
 * lua_func.h for the sandbox, the value conversions and the limits),
 * through the same call and the same hs_func shape (a function pointer plus
 * state). A Lua reducer gets a Lua array of the numbers and returns a
 * number; a Lua unary function gets the value (or the timestamp in epoch
 * seconds and the value, when the caller asks for timestamps) and returns
 * any value. Lua errors, and a call running out of time or memory, fail
 * the job with the Lua message.
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

/*
 * Batch form of a unary function: out[i] = f(t[i], in[i]) for i in [0, n),
 * called in order, as n calls of the unary form would, except that nothing
 * is skipped: every error fails the job. t may be NULL for functions that
 * were not asked for timestamps. Containers of results go in a.
 */
typedef int (*hs_func_unary_batch_fn)(void *ud, hs_arena *a, const int64_t *t, const hs_value *in,
                                      size_t n, hs_value *out);

/* A resolved function. */
typedef struct hs_func {
    const char *name;                   /* static for built-ins */
    hs_func_kind kind;                  /* what follows applies to */
    hs_func_reduce_fn reduce;           /* REDUCER */
    bool int_result;                    /* REDUCER: the result is a count, emitted as an integer */
    bool needs_scratch;                 /* REDUCER: reduce needs scratch room for n doubles */
    hs_func_unary_fn unary;             /* UNARY */
    bool takes_time;                    /* UNARY: can use the timestamp (include_timestamps) */
    hs_func_unary_batch_fn unary_batch; /* UNARY: faster form for many values; may be NULL */
    bool user;                          /* a user (Lua) function */
    void *ud;                           /* owned state, NULL for built-ins */
    void (*release)(void *ud);          /* frees ud; NULL when there is nothing to free */
} hs_func;

/* How to resolve a function; a zeroed struct (or NULL) gives the defaults. */
typedef struct hs_func_opts {
    bool with_time;       /* UNARY user functions are called as f(t_seconds, v) */
    uint64_t lua_steps;   /* steps per call of a Lua function (0: HS_LUA_DEFAULT_STEPS) */
    size_t lua_mem_bytes; /* memory of a Lua function (0: HS_LUA_DEFAULT_MEM_BYTES) */
} hs_func_opts;

/*
 * Resolves spec as a function of the given kind into *out: a built-in name
 * or "lua: <source>" (the source must return a function; it is compiled and
 * run once here). Returns HS_OK; HS_ERR_NOTFOUND with a detail naming the
 * valid functions of that kind; for Lua sources the errors of
 * hs_lua_fn_create (HS_ERR_PARSE, HS_ERR_INVAL, HS_ERR_LIMIT, HS_ERR_TOOL,
 * with a detail that starts with "Lua" or "lua"). On success the caller ends
 * with hs_func_release. hs_func_find uses the default options.
 */
int hs_func_find(const char *spec, hs_func_kind kind, hs_func *out);
int hs_func_find_opts(const char *spec, hs_func_kind kind, const hs_func_opts *opts, hs_func *out);

/*
 * The job-side form: reads the string parameter `param` of the job and
 * resolves it. A missing or mistyped parameter, an unknown name and a Lua
 * source that does not compile or run fail the job (HS_ERR_TOOL) with a
 * message that lists the valid names or gives the Lua message.
 */
int hs_func_lookup(hs_tool_ctx *ctx, const char *param, hs_func_kind kind, hs_func *out);
int hs_func_lookup_opts(hs_tool_ctx *ctx, const char *param, hs_func_kind kind,
                        const hs_func_opts *opts, hs_func *out);

/*
 * Checks a function spec (v, a string) without running it, for a tool's
 * check_param: a built-in name of the kind ("did you mean" for near misses)
 * or "lua: <source>" that compiles in the sandbox. Returns HS_OK, or
 * HS_ERR_SCHEMA with the reason appended to err.
 */
int hs_func_check(const hs_value *v, hs_func_kind kind, hs_buf *err);

/*
 * check_param functions for tools whose parameter `func` is a reducer, or a
 * unary function (other parameters pass).
 */
int hs_func_check_reducer(const char *name, const hs_value *v, hs_buf *err);
int hs_func_check_unary(const char *name, const hs_value *v, hs_buf *err);

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
