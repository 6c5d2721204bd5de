#include "functions.h"
#include "lua_func.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ reducers */

/* Sum with four partial sums (independent additions pipeline better). */
static double hs__fsum(const double *v, size_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += v[i];
        s1 += v[i + 1];
        s2 += v[i + 2];
        s3 += v[i + 3];
    }
    for (; i < n; i++)
        s0 += v[i];
    return (s0 + s1) + (s2 + s3);
}

static int hs__r_sum(void *ud, const double *v, size_t n, double *scratch, double *out)
{
    (void)ud;
    (void)scratch;
    *out = hs__fsum(v, n);
    return HS_OK;
}

static int hs__r_mean(void *ud, const double *v, size_t n, double *scratch, double *out)
{
    (void)ud;
    (void)scratch;
    *out = hs__fsum(v, n) / (double)n;
    return HS_OK;
}

static int hs__r_count(void *ud, const double *v, size_t n, double *scratch, double *out)
{
    (void)ud;
    (void)v;
    (void)scratch;
    *out = (double)n;
    return HS_OK;
}

static double hs__fmin(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

static double hs__fmax(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

static int hs__r_min(void *ud, const double *v, size_t n, double *scratch, double *out)
{
    (void)ud;
    (void)scratch;
    *out = hs__fmin(v, n);
    return HS_OK;
}

static int hs__r_max(void *ud, const double *v, size_t n, double *scratch, double *out)
{
    (void)ud;
    (void)scratch;
    *out = hs__fmax(v, n);
    return HS_OK;
}

static int hs__r_range(void *ud, const double *v, size_t n, double *scratch, double *out)
{
    (void)ud;
    (void)scratch;
    *out = hs__fmax(v, n) - hs__fmin(v, n);
    return HS_OK;
}

static int hs__r_first(void *ud, const double *v, size_t n, double *scratch, double *out)
{
    (void)ud;
    (void)n;
    (void)scratch;
    *out = v[0];
    return HS_OK;
}

static int hs__r_last(void *ud, const double *v, size_t n, double *scratch, double *out)
{
    (void)ud;
    (void)scratch;
    *out = v[n - 1];
    return HS_OK;
}

/* Population standard deviation, two passes (no cancellation of large sums). */
static int hs__r_std(void *ud, const double *v, size_t n, double *scratch, double *out)
{
    (void)ud;
    (void)scratch;
    double mean = hs__fsum(v, n) / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double d = v[i] - mean;
        ss += d * d;
    }
    *out = sqrt(ss / (double)n);
    return HS_OK;
}

static int hs__dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * Moves the k-th smallest of v[0..n) to v[k], smaller-or-equal ones before
 * it. Three-way partitioning keeps runs of equal values linear, index
 * bounds keep NaN (which compares with nothing) from running off the ends,
 * and a depth bound falls back to sorting on unlucky pivots.
 */
static void hs__select(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* the k-th lies in [lo, hi) */
    int depth = 0;
    while (hi - lo > 16) {
        if (++depth > 64) {
            qsort(v + lo, hi - lo, sizeof *v, hs__dcmp);
            return;
        }
        /* Median of three as pivot. */
        double a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
        double p = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (v[i] < p) {
                double tmp = v[lt];
                v[lt++] = v[i];
                v[i++] = tmp;
            } else if (v[i] > p) {
                double tmp = v[--gt];
                v[gt] = v[i];
                v[i] = tmp;
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return;
    }
    qsort(v + lo, hi - lo, sizeof *v, hs__dcmp);
}

static int hs__r_median(void *ud, const double *v, size_t n, double *scratch, double *out)
{
    (void)ud;
    memcpy(scratch, v, n * sizeof *v);
    size_t k = n / 2;
    hs__select(scratch, n, k);
    if (n % 2 == 1) {
        *out = scratch[k];
    } else {
        /* The lower middle is the largest of the part before k. */
        *out = (hs__fmax(scratch, k) + scratch[k]) / 2;
    }
    return HS_OK;
}

typedef struct hs__reducer {
    const char *name;
    hs_func_reduce_fn fn;
    bool int_result;
    bool needs_scratch;
} hs__reducer;

static const hs__reducer hs__reducers[] = {
    {"mean", hs__r_mean, false, false},  {"sum", hs__r_sum, false, false},
    {"count", hs__r_count, true, false}, {"min", hs__r_min, false, false},
    {"max", hs__r_max, false, false},    {"median", hs__r_median, false, true},
    {"std", hs__r_std, false, false},    {"first", hs__r_first, false, false},
    {"last", hs__r_last, false, false},  {"range", hs__r_range, false, false},
};

#define HS__NREDUCERS (sizeof hs__reducers / sizeof hs__reducers[0])

/* ------------------------------------------------------------------ unary functions */

static const char *hs__vtype_name(hs_vtype t)
{
    switch (t) {
    case HS_V_NIL:
        return "nil";
    case HS_V_BOOL:
        return "a bool";
    case HS_V_INT:
        return "an integer";
    case HS_V_FLOAT:
        return "a float";
    case HS_V_STR:
        return "a string";
    case HS_V_BIN:
        return "binary data";
    case HS_V_ARRAY:
        return "an array";
    case HS_V_MAP:
        return "a map";
    }
    return "?";
}

/* The numeric view of in: *is_int with *i for INT and BOOL, else *d for FLOAT. */
static int hs__num(const char *fn, const hs_value *in, bool *is_int, int64_t *i, double *d)
{
    switch (in->type) {
    case HS_V_INT:
        *is_int = true;
        *i = in->u.i;
        *d = (double)in->u.i;
        return HS_OK;
    case HS_V_BOOL:
        *is_int = true;
        *i = in->u.b ? 1 : 0;
        *d = (double)*i;
        return HS_OK;
    case HS_V_FLOAT:
        *is_int = false;
        *i = 0;
        *d = in->u.f;
        return HS_OK;
    default:
        return hs_err_set(HS_ERR_INVAL, "%s needs a number, not %s", fn, hs__vtype_name(in->type));
    }
}

static void hs__set_int(hs_value *out, int64_t i)
{
    memset(out, 0, sizeof *out);
    out->type = HS_V_INT;
    out->u.i = i;
}

static void hs__set_float(hs_value *out, double d)
{
    memset(out, 0, sizeof *out);
    out->type = HS_V_FLOAT;
    out->u.f = d;
}

static int hs__u_identity(void *ud, hs_arena *a, int64_t t, const hs_value *in, hs_value *out)
{
    (void)ud;
    (void)a;
    (void)t;
    *out = *in;
    return HS_OK;
}

/* Functions of one number, dispatched on a small code. */
enum hs__op {
    HS__ABS,
    HS__NEG,
    HS__SQRT,
    HS__EXP,
    HS__LOG,
    HS__LOG10,
    HS__FLOOR,
    HS__CEIL,
    HS__ROUND,
    HS__C_TO_F,
    HS__F_TO_C,
};

static const char *const hs__op_names[] = {"abs",   "neg",  "sqrt",  "exp",    "log",   "log10",
                                           "floor", "ceil", "round", "c_to_f", "f_to_c"};

static int hs__numeric(enum hs__op op, const hs_value *in, hs_value *out)
{
    const char *name = hs__op_names[op];
    bool is_int = false;
    int64_t i = 0;
    double x = 0;
    int rc = hs__num(name, in, &is_int, &i, &x);
    if (rc != HS_OK)
        return rc;
    double r;
    switch (op) {
    case HS__ABS:
        if (is_int && i != INT64_MIN) {
            hs__set_int(out, i < 0 ? -i : i);
            return HS_OK;
        }
        r = fabs(x);
        break;
    case HS__NEG:
        if (is_int && i != INT64_MIN) {
            hs__set_int(out, -i);
            return HS_OK;
        }
        r = -x;
        break;
    case HS__FLOOR:
    case HS__CEIL:
    case HS__ROUND:
        if (is_int) {
            hs__set_int(out, i);
            return HS_OK;
        }
        /* nearbyint rounds half to even in the default rounding mode. */
        r = op == HS__FLOOR ? floor(x) : op == HS__CEIL ? ceil(x) : nearbyint(x);
        break;
    case HS__SQRT:
        if (x < 0)
            return hs_err_set(HS_ERR_INVAL, "sqrt of a negative number (%g)", x);
        r = sqrt(x);
        break;
    case HS__EXP:
        r = exp(x);
        break;
    case HS__LOG:
    case HS__LOG10:
        if (x <= 0)
            return hs_err_set(HS_ERR_INVAL, "%s of a number that is not positive (%g)", name, x);
        r = op == HS__LOG ? log(x) : log10(x);
        break;
    case HS__C_TO_F:
        r = x * 9.0 / 5.0 + 32.0;
        break;
    case HS__F_TO_C:
        r = (x - 32.0) * 5.0 / 9.0;
        break;
    default:
        return hs_err_set(HS_ERR_INVAL, "unknown numeric function");
    }
    if (isfinite(x) && !isfinite(r))
        return hs_err_set(HS_ERR_INVAL, "%s(%g) is out of range", name, x);
    hs__set_float(out, r);
    return HS_OK;
}

#define HS__UNARY_OP(fname, code)                                                                  \
    static int fname(void *ud, hs_arena *a, int64_t t, const hs_value *in, hs_value *out)          \
    {                                                                                              \
        (void)ud;                                                                                  \
        (void)a;                                                                                   \
        (void)t;                                                                                   \
        return hs__numeric(code, in, out);                                                         \
    }

HS__UNARY_OP(hs__u_abs, HS__ABS)
HS__UNARY_OP(hs__u_neg, HS__NEG)
HS__UNARY_OP(hs__u_sqrt, HS__SQRT)
HS__UNARY_OP(hs__u_exp, HS__EXP)
HS__UNARY_OP(hs__u_log, HS__LOG)
HS__UNARY_OP(hs__u_log10, HS__LOG10)
HS__UNARY_OP(hs__u_floor, HS__FLOOR)
HS__UNARY_OP(hs__u_ceil, HS__CEIL)
HS__UNARY_OP(hs__u_round, HS__ROUND)
HS__UNARY_OP(hs__u_c_to_f, HS__C_TO_F)
HS__UNARY_OP(hs__u_f_to_c, HS__F_TO_C)

static int hs__u_len(void *ud, hs_arena *a, int64_t t, const hs_value *in, hs_value *out)
{
    (void)ud;
    (void)a;
    (void)t;
    switch (in->type) {
    case HS_V_STR: {
        /* Code points: every byte that does not continue a UTF-8 sequence. */
        int64_t n = 0;
        for (uint32_t k = 0; k < in->len; k++)
            n += ((unsigned char)in->u.s[k] & 0xC0) != 0x80;
        hs__set_int(out, n);
        return HS_OK;
    }
    case HS_V_BIN:
    case HS_V_ARRAY:
    case HS_V_MAP:
        hs__set_int(out, (int64_t)in->len);
        return HS_OK;
    default:
        return hs_err_set(HS_ERR_INVAL,
                          "len needs a string, binary data, an array or a map, not %s",
                          hs__vtype_name(in->type));
    }
}

static int hs__u_not(void *ud, hs_arena *a, int64_t t, const hs_value *in, hs_value *out)
{
    (void)ud;
    (void)a;
    (void)t;
    if (in->type != HS_V_BOOL)
        return hs_err_set(HS_ERR_INVAL, "not needs a bool, not %s", hs__vtype_name(in->type));
    memset(out, 0, sizeof *out);
    out->type = HS_V_BOOL;
    out->u.b = !in->u.b;
    return HS_OK;
}

typedef struct hs__unary {
    const char *name;
    hs_func_unary_fn fn;
} hs__unary;

static const hs__unary hs__unaries[] = {
    {"identity", hs__u_identity}, {"abs", hs__u_abs},       {"neg", hs__u_neg},
    {"sqrt", hs__u_sqrt},         {"exp", hs__u_exp},       {"log", hs__u_log},
    {"log10", hs__u_log10},       {"floor", hs__u_floor},   {"ceil", hs__u_ceil},
    {"round", hs__u_round},       {"c_to_f", hs__u_c_to_f}, {"f_to_c", hs__u_f_to_c},
    {"len", hs__u_len},           {"not", hs__u_not},
};

#define HS__NUNARIES (sizeof hs__unaries / sizeof hs__unaries[0])

/* ------------------------------------------------------------------ lookup */

static const char *const hs__reducer_names[HS__NREDUCERS] = {
    "mean", "sum", "count", "min", "max", "median", "std", "first", "last", "range",
};

static const char *const hs__unary_names[HS__NUNARIES] = {
    "identity", "abs",  "neg",   "sqrt",   "exp",    "log", "log10",
    "floor",    "ceil", "round", "c_to_f", "f_to_c", "len", "not",
};

const char *const *hs_func_names(hs_func_kind kind, size_t *n)
{
    if (kind == HS_FUNC_REDUCER) {
        *n = HS__NREDUCERS;
        return hs__reducer_names;
    }
    *n = HS__NUNARIES;
    return hs__unary_names;
}

/* "mean, sum, ..." into buf (always NUL-terminated). */
static void hs__names_join(hs_func_kind kind, char *buf, size_t size)
{
    size_t n, used = 0;
    const char *const *names = hs_func_names(kind, &n);
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i > 0 ? ", " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* ------------------------------------------------------------------ Lua functions */

static int hs__lua_reduce(void *ud, const double *v, size_t n, double *scratch, double *out)
{
    (void)scratch;
    return hs_lua_fn_reduce(ud, v, n, out);
}

static int hs__lua_unary(void *ud, hs_arena *a, int64_t t, const hs_value *in, hs_value *out)
{
    return hs_lua_fn_map(ud, a, &t, in, 1, out);
}

static int hs__lua_unary_batch(void *ud, hs_arena *a, const int64_t *t, const hs_value *in,
                               size_t n, hs_value *out)
{
    return hs_lua_fn_map(ud, a, t, in, n, out);
}

static void hs__lua_release(void *ud)
{
    hs_lua_fn_destroy(ud);
}

static int hs__lua_find(const char *source, hs_func_kind kind, const hs_func_opts *opts,
                        hs_func *out)
{
    hs_lua_mode mode = kind == HS_FUNC_REDUCER           ? HS_LUA_REDUCER
                       : opts != NULL && opts->with_time ? HS_LUA_UNARY_TIME
                                                         : HS_LUA_UNARY;
    hs_lua_limits lim = {0, 0};
    if (opts != NULL) {
        lim.steps = opts->lua_steps;
        lim.mem_bytes = opts->lua_mem_bytes;
    }
    hs_lua_fn *fn = NULL;
    int rc = hs_lua_fn_create(&fn, source, mode, &lim);
    if (rc != HS_OK)
        return rc;
    out->name = "lua";
    out->kind = kind;
    out->user = true;
    out->ud = fn;
    out->release = hs__lua_release;
    if (kind == HS_FUNC_REDUCER) {
        out->reduce = hs__lua_reduce;
    } else {
        out->unary = hs__lua_unary;
        out->unary_batch = hs__lua_unary_batch;
        out->takes_time = true;
    }
    return HS_OK;
}

int hs_func_find(const char *spec, hs_func_kind kind, hs_func *out)
{
    return hs_func_find_opts(spec, kind, NULL, out);
}

int hs_func_find_opts(const char *spec, hs_func_kind kind, const hs_func_opts *opts, hs_func *out)
{
    memset(out, 0, sizeof *out);
    if (spec == NULL)
        return hs_err_set(HS_ERR_INVAL, "no function given");
    if (kind != HS_FUNC_REDUCER && kind != HS_FUNC_UNARY)
        return hs_err_set(HS_ERR_INVAL, "unknown kind of function");
    if (strncmp(spec, "lua:", 4) == 0)
        return hs__lua_find(spec + 4, kind, opts, out);
    out->kind = kind;
    if (kind == HS_FUNC_REDUCER) {
        for (size_t i = 0; i < HS__NREDUCERS; i++) {
            if (strcmp(spec, hs__reducers[i].name) == 0) {
                out->name = hs__reducers[i].name;
                out->reduce = hs__reducers[i].fn;
                out->int_result = hs__reducers[i].int_result;
                out->needs_scratch = hs__reducers[i].needs_scratch;
                return HS_OK;
            }
        }
    } else if (kind == HS_FUNC_UNARY) {
        for (size_t i = 0; i < HS__NUNARIES; i++) {
            if (strcmp(spec, hs__unaries[i].name) == 0) {
                out->name = hs__unaries[i].name;
                out->unary = hs__unaries[i].fn;
                return HS_OK;
            }
        }
    }
    char names[256];
    hs__names_join(kind, names, sizeof names);
    return hs_err_set(HS_ERR_NOTFOUND,
                      "unknown function '%s' (valid: %s, or \"lua: <source>\" returning a "
                      "function)",
                      spec, names);
}

int hs_func_check(const hs_value *v, hs_func_kind kind, hs_buf *err)
{
    if (v->type != HS_V_STR)
        return HS_OK; /* the type is checked before */
    if (v->len >= 4 && memcmp(v->u.s, "lua:", 4) == 0) {
        char *src = hs_malloc(v->len - 4 + 1);
        if (src == NULL)
            return HS_ERR_NOMEM;
        memcpy(src, v->u.s + 4, v->len - 4);
        src[v->len - 4] = '\0';
        int rc = hs_lua_check(src);
        hs_free(src);
        if (rc != HS_OK) {
            int w = hs_buf_puts(err, hs_err_detail());
            return w == HS_OK ? HS_ERR_SCHEMA : w;
        }
        return HS_OK;
    }
    size_t n;
    const char *const *names = hs_func_names(kind, &n);
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == v->len && memcmp(names[i], v->u.s, v->len) == 0)
            return HS_OK;
    char list[256];
    hs__names_join(kind, list, sizeof list);
    int rc = hs_json_put_string(err, v->u.s, v->len);
    if (rc == HS_OK)
        rc = hs_buf_printf(err, " is not a %s function (%s, or \"lua: <source>\" returning one)",
                           kind == HS_FUNC_REDUCER ? "reducer" : "unary", list);
    const char *near = hs_tool_suggest(v->u.s, v->len, names, n);
    if (rc == HS_OK && near != NULL)
        rc = hs_buf_printf(err, "; did you mean \"%s\"?", near);
    return rc == HS_OK ? HS_ERR_SCHEMA : rc;
}

int hs_func_check_reducer(const char *name, const hs_value *v, hs_buf *err)
{
    return strcmp(name, "func") == 0 ? hs_func_check(v, HS_FUNC_REDUCER, err) : HS_OK;
}

int hs_func_check_unary(const char *name, const hs_value *v, hs_buf *err)
{
    return strcmp(name, "func") == 0 ? hs_func_check(v, HS_FUNC_UNARY, err) : HS_OK;
}

int hs_func_lookup(hs_tool_ctx *ctx, const char *param, hs_func_kind kind, hs_func *out)
{
    return hs_func_lookup_opts(ctx, param, kind, NULL, out);
}

int hs_func_lookup_opts(hs_tool_ctx *ctx, const char *param, hs_func_kind kind,
                        const hs_func_opts *opts, hs_func *out)
{
    memset(out, 0, sizeof *out);
    const char *spec = NULL;
    int rc = hs_tool_param_string(ctx, param, &spec);
    if (rc == HS_ERR_NOTFOUND) {
        char names[256];
        hs__names_join(kind, names, sizeof names);
        return hs_tool_fail(ctx, "parameter '%s' is required (one of: %s)", param, names);
    }
    if (rc != HS_OK)
        return rc;
    rc = hs_func_find_opts(spec, kind, opts, out);
    if (rc != HS_OK)
        return hs_tool_fail(ctx, "parameter '%s': %s", param, hs_err_detail());
    return HS_OK;
}

void hs_func_release(hs_func *f)
{
    if (f == NULL)
        return;
    if (f->release != NULL && f->ud != NULL)
        f->release(f->ud);
    f->ud = NULL;
    f->release = NULL;
}

bool hs_func_number(const uint8_t *v, size_t len, double *out)
{
    if (len == 0)
        return false;
    /* The usual cases first: a float64 or a positive fixint. */
    if (v[0] == 0xcb && len >= 9) {
        uint64_t u = 0;
        for (int k = 1; k <= 8; k++)
            u = u << 8 | v[k];
        memcpy(out, &u, sizeof *out);
        return true;
    }
    if (v[0] <= 0x7f) {
        *out = (double)v[0];
        return true;
    }
    hs_mp_reader r;
    hs_mp_reader_init(&r, v, len);
    hs_mp_type type;
    if (hs_mp_peek(&r, &type) != HS_OK)
        return false;
    if (type == HS_MP_INT || type == HS_MP_UINT || type == HS_MP_FLOAT)
        return hs_mp_get_number(&r, out) == HS_OK;
    if (type == HS_MP_BOOL) {
        bool b;
        if (hs_mp_get_bool(&r, &b) != HS_OK)
            return false;
        *out = b ? 1.0 : 0.0;
        return true;
    }
    return false;
}

int hs_func_reduce_emit(hs_tool_ctx *ctx, const hs_func *f, int64_t t, const double *v, size_t n,
                        double **scratch, size_t *scap)
{
    if (f->needs_scratch && *scap < n) {
        size_t cap = *scap ? *scap : 64;
        while (cap < n)
            cap *= 2;
        double *ns = hs_realloc(*scratch, cap * sizeof *ns);
        if (ns == NULL)
            return HS_ERR_NOMEM;
        *scratch = ns;
        *scap = cap;
    }
    double r;
    int rc = f->reduce(f->ud, v, n, *scratch, &r);
    if (rc != HS_OK)
        return hs_tool_fail(ctx, "function %s failed: %s", f->name, hs_err_detail());
    if (f->int_result)
        return hs_tool_emit_int(ctx, t, (int64_t)r);
    return hs_tool_emit_double(ctx, t, r);
}
