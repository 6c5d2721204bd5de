/*
 * The apply tool: a function of each instance's value.
 *
 * Instances are handled in batches: numbers and other scalars are read
 * straight from their msgpack bytes, and a function with a batch form (Lua)
 * runs once per batch, which is what lets a Lua function keep up with the
 * store.
 */
#include "functions.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"

#include <string.h>

/* Instances per batch. */
#define HS__APPLY_BATCH 256

typedef struct hs__apply {
    hs_func f;
    bool with_time;                /* include_timestamps */
    size_t n;                      /* instances in the batch */
    int64_t t[HS__APPLY_BATCH];    /* their timestamps */
    hs_value in[HS__APPLY_BATCH];  /* their values (containers in arena) */
    hs_value out[HS__APPLY_BATCH]; /* results (containers in arena) */
    hs_arena arena;                /* reset after every batch */
} hs__apply;

static int hs__apply_init(hs_tool_ctx *ctx, void **state)
{
    hs__apply *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_arena_init(&s->arena, 0, 0);
    *state = s;
    int rc = hs_tool_param_bool(ctx, "include_timestamps", &s->with_time);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    hs_func_opts opts = {.with_time = s->with_time};
    rc = hs_func_lookup_opts(ctx, "func", HS_FUNC_UNARY, &opts, &s->f);
    if (rc != HS_OK)
        return rc;
    if (s->with_time && !s->f.takes_time)
        return hs_tool_fail(ctx,
                            "apply: function %s takes no timestamp; set include_timestamps "
                            "to false",
                            s->f.name);
    return HS_OK;
}

static void hs__apply_fini(void *state)
{
    hs__apply *s = state;
    if (s == NULL)
        return;
    hs_func_release(&s->f);
    hs_arena_free(&s->arena);
    hs_free(s);
}

static uint64_t hs__be(const uint8_t *p, int n)
{
    uint64_t u = 0;
    for (int i = 0; i < n; i++)
        u = u << 8 | p[i];
    return u;
}

/* Scalars read from their bytes (canonical forms only); false: decode in full. */
static bool hs__apply_scalar(const uint8_t *p, size_t len, hs_value *v)
{
    memset(v, 0, sizeof *v);
    uint8_t b = p[0];
    if (b == 0xcb && len == 9) {
        uint64_t u = hs__be(p + 1, 8);
        v->type = HS_V_FLOAT;
        memcpy(&v->u.f, &u, sizeof u);
        return true;
    }
    if (len == 1 && (b <= 0x7f || b >= 0xe0)) {
        v->type = HS_V_INT;
        v->u.i = b <= 0x7f ? (int64_t)b : (int64_t)b - 256;
        return true;
    }
    if (len == 1 && (b == 0xc0 || b == 0xc2 || b == 0xc3)) {
        v->type = b == 0xc0 ? HS_V_NIL : HS_V_BOOL;
        v->u.b = b == 0xc3;
        return true;
    }
    if (b >= 0xcc && b <= 0xcf) {
        int n = 1 << (b - 0xcc);
        uint64_t u = (size_t)n + 1 == len ? hs__be(p + 1, n) : UINT64_MAX;
        if (u > (uint64_t)INT64_MAX)
            return false;
        v->type = HS_V_INT;
        v->u.i = (int64_t)u;
        return true;
    }
    if (b >= 0xd0 && b <= 0xd3) {
        int n = 1 << (b - 0xd0);
        if ((size_t)n + 1 != len)
            return false;
        uint64_t u = hs__be(p + 1, n);
        int shift = 64 - 8 * n;
        v->type = HS_V_INT;
        /* Sign-extend the n-byte two's complement number. */
        v->u.i = shift == 0 ? (int64_t)u : (int64_t)(u << shift) >> shift;
        return true;
    }
    return false;
}

static int hs__apply_emit(hs_tool_ctx *ctx, int64_t t, const hs_value *v)
{
    if (v->type == HS_V_FLOAT) {
        /* The canonical float64: 0xcb and the big-endian bits. */
        uint8_t b[9];
        uint64_t u;
        memcpy(&u, &v->u.f, sizeof u);
        b[0] = 0xcb;
        for (int i = 0; i < 8; i++)
            b[1 + i] = (uint8_t)(u >> (56 - 8 * i));
        return hs_tool_emit(ctx, t, b, sizeof b);
    }
    if (v->type == HS_V_INT)
        return hs_tool_emit_int(ctx, t, v->u.i);
    return hs_tool_emit_value(ctx, t, v);
}

/* Applies the function to the batch and emits the results. */
static int hs__apply_flush(hs_tool_ctx *ctx, hs__apply *s)
{
    int rc = HS_OK;
    if (s->f.unary_batch != NULL) {
        rc = s->f.unary_batch(s->f.ud, &s->arena, s->t, s->in, s->n, s->out);
        if (rc != HS_OK)
            return hs_tool_fail(ctx, "apply: function %s failed: %s", s->f.name, hs_err_detail());
        for (size_t i = 0; i < s->n && rc == HS_OK; i++)
            rc = hs__apply_emit(ctx, s->t[i], &s->out[i]);
    } else {
        for (size_t i = 0; i < s->n && rc == HS_OK; i++) {
            rc = s->f.unary(s->f.ud, &s->arena, s->t[i], &s->in[i], &s->out[i]);
            if (rc == HS_ERR_INVAL) {
                hs_tool_warn(ctx, "apply: %s at %lld; skipped", hs_err_detail(),
                             (long long)s->t[i]);
                rc = HS_OK;
                continue;
            }
            if (rc != HS_OK)
                return hs_tool_fail(ctx, "apply: function %s failed: %s", s->f.name,
                                    hs_err_detail());
            rc = hs__apply_emit(ctx, s->t[i], &s->out[i]);
        }
    }
    s->n = 0;
    hs_arena_reset(&s->arena);
    return rc;
}

static int hs__apply_run(hs_tool_ctx *ctx, void *state)
{
    hs__apply *s = state;
    hs_tool_iter it;
    int rc = hs_tool_iter_open(ctx, 0, hs_tool_interval(ctx), &it);
    int64_t t;
    const uint8_t *p;
    size_t len;
    int r = 0;
    while (rc == HS_OK && (r = hs_tool_iter_next(&it, &t, &p, &len)) == 1) {
        hs_value *v = &s->in[s->n];
        if (len == 0 || !hs__apply_scalar(p, len, v)) {
            /* Values point into their bytes: keep a copy that outlives the chunk. */
            uint8_t *copy = hs_arena_alloc(&s->arena, len ? len : 1);
            hs_value *dv = NULL;
            if (copy == NULL) {
                rc = HS_ERR_NOMEM;
                break;
            }
            memcpy(copy, p, len);
            if (hs_value_decode(&s->arena, copy, len, &dv) != HS_OK) {
                rc = hs_tool_fail(ctx, "apply: a stored value cannot be decoded: %s",
                                  hs_err_detail());
                break;
            }
            *v = *dv;
        }
        s->t[s->n++] = t;
        if (s->n == HS__APPLY_BATCH)
            rc = hs__apply_flush(ctx, s);
    }
    if (rc == HS_OK && r < 0)
        rc = r;
    if (rc == HS_OK && s->n > 0)
        rc = hs__apply_flush(ctx, s);
    hs_tool_iter_close(&it);
    return rc;
}

static const hs_tool_param hs__apply_params[] = {
    {"func", HS_P_FUNC, NULL,
     "identity, abs, neg, sqrt, exp, log, log10, floor, ceil, round, c_to_f, f_to_c, len, "
     "not, or \"lua: <source>\" returning a function"},
    {"include_timestamps", HS_P_BOOL, "false",
     "call func(t, v) with t in epoch seconds (Lua functions only; built-ins need false)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_apply = {
    .name = "apply",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Applies a function to the value of each instance",
    .doc = "Emits (t, func(v)) for every instance (t, v) of the source in the job "
           "interval, or (t, func(t, v)) with include_timestamps. Parameters: func "
           "(required): identity, abs, neg, sqrt, exp, log, log10, floor, ceil, round (half "
           "to even), c_to_f, f_to_c, len (code points of a string, bytes of binary data, "
           "items of an array or map) or not (of a bool), or a Lua function written "
           "\"lua: <source>\" where the source returns the function (sandboxed, with a "
           "time and a memory limit per call; see docs/TOOLS.md); include_timestamps (bool, "
           "default false: the Lua function is then called as f(t, v) with t in epoch "
           "seconds, a float; the built-in functions take no timestamp, so true fails the "
           "job). Numbers are integers, floats and bools (0/1). abs, neg, floor, ceil and "
           "round keep integers integers; other numeric results are float64. A Lua result "
           "converts back as documented for Lua functions (numbers become floats, int(x) an "
           "integer, nil a null value). Examples: func c_to_f turns 100 into 212.0; "
           "func \"lua: return function(v) return v * 1.8 + 32 end\" does the same. "
           "Differences from HyperStream: a value a built-in function cannot take (a string "
           "for abs, a negative number for sqrt or log, a result out of range) is skipped "
           "with a warning instead of failing the job; a Lua error fails the job with the "
           "Lua message.",
    .params = hs__apply_params,
    .check_param = hs_func_check_unary,
    .init = hs__apply_init,
    .run = hs__apply_run,
    .fini = hs__apply_fini,
};
