/* The slice tool: v[index] or v[start:stop:step] of each list or string instance. */
#include "hs1.h"

#include "hs_error.h"

#include <string.h>

typedef struct hs__slice {
    bool is_slice;            /* [start, stop, step] rather than one index */
    int64_t index;            /* one index (negative: from the end) */
    bool has_start, has_stop; /* null parts take Python's defaults */
    int64_t start, stop, step;
} hs__slice;

/* Reads a slice part: an integer, or null (absent). */
static bool hs__slice_part(const hs_value *v, bool *has, int64_t *out)
{
    if (v->type == HS_V_NIL) {
        *has = false;
        return true;
    }
    if (v->type != HS_V_INT)
        return false;
    *has = true;
    *out = v->u.i;
    return true;
}

static int hs__slice_init(hs_tool_ctx *ctx, void **state)
{
    hs__slice *s = hs_arena_alloc(hs_tool_arena(ctx), sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->step = 1;
    *state = s;
    const hs_value *ix = hs_tool_param_value(ctx, "index");
    if (ix != NULL && ix->type == HS_V_INT) {
        s->index = ix->u.i;
        return HS_OK;
    }
    if (ix == NULL || ix->type != HS_V_ARRAY || ix->len < 1 || ix->len > 3)
        return hs_tool_fail(ctx, "slice: parameter 'index' must be an integer or a list [start, "
                                 "stop] or [start, stop, step] (integers or null)");
    s->is_slice = true;
    bool has_step = false;
    int64_t step = 1;
    bool ok = hs__slice_part(&ix->u.items[0], &s->has_start, &s->start) &&
              (ix->len < 2 || hs__slice_part(&ix->u.items[1], &s->has_stop, &s->stop)) &&
              (ix->len < 3 || hs__slice_part(&ix->u.items[2], &has_step, &step));
    if (!ok)
        return hs_tool_fail(ctx, "slice: the parts of 'index' must be integers or null");
    if (ix->len == 1) {
        /* [stop] alone, as Python's slice(stop). */
        s->has_stop = s->has_start;
        s->stop = s->start;
        s->has_start = false;
    }
    if (has_step) {
        if (step == 0)
            return hs_tool_fail(ctx, "slice: the step must not be zero");
        s->step = step;
    }
    return HS_OK;
}

/*
 * Python's slice.indices(n): adjusts start and stop to the sequence length
 * and gives the number of items taken.
 */
static uint64_t hs__slice_adjust(const hs__slice *s, int64_t n, int64_t *start)
{
    bool back = s->step < 0;
    int64_t lo, hi;
    if (!s->has_start) {
        lo = back ? n - 1 : 0;
    } else {
        lo = s->start;
        if (lo < 0) {
            lo = lo < -n ? -1 : lo + n;
            if (lo < 0)
                lo = back ? -1 : 0;
        } else if (lo >= n) {
            lo = back ? n - 1 : n;
        }
    }
    if (!s->has_stop) {
        hi = back ? -1 : n;
    } else {
        hi = s->stop;
        if (hi < 0) {
            hi = hi < -n ? -1 : hi + n;
            if (hi < 0)
                hi = back ? -1 : 0;
        } else if (hi >= n) {
            hi = back ? n - 1 : n;
        }
    }
    *start = lo;
    /* lo and hi lie in [-1, n]: the differences below cannot overflow. */
    if (!back)
        return hi > lo ? ((uint64_t)(hi - lo) - 1) / (uint64_t)s->step + 1 : 0;
    uint64_t astep = (uint64_t)0 - (uint64_t)s->step; /* |step|, INT64_MIN included */
    return lo > hi ? ((uint64_t)(lo - hi) - 1) / astep + 1 : 0;
}

/* Byte offsets of the code points of a UTF-8 string (n + 1 entries, in the scratch arena). */
static uint32_t *hs__cp_offsets(hs_arena *a, const char *str, uint32_t len, int64_t *n)
{
    uint32_t *off = hs_arena_alloc(a, ((size_t)len + 1) * sizeof *off);
    if (off == NULL)
        return NULL;
    int64_t k = 0;
    for (uint32_t i = 0; i < len; i++)
        if (((uint8_t)str[i] & 0xc0) != 0x80)
            off[k++] = i;
    off[k] = len;
    *n = k;
    return off;
}

static int hs__slice_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    const hs__slice *s = state;
    hs_arena *a = hs_tool_scratch(ctx);
    int64_t n;
    uint32_t *cp = NULL;
    if (v->type == HS_V_ARRAY || v->type == HS_V_BIN) {
        n = v->len;
    } else if (v->type == HS_V_STR) {
        cp = hs__cp_offsets(a, v->u.s, v->len, &n);
        if (cp == NULL)
            return HS_ERR_NOMEM;
    } else {
        hs_tool_warn(ctx, "slice: the value at %lld is not a list or string; skipped",
                     (long long)t);
        return HS_OK;
    }
    if (!s->is_slice) {
        int64_t i = s->index < 0 ? s->index + n : s->index;
        if (s->index < -n || i >= n) {
            hs_tool_warn(ctx,
                         "slice: index %lld is out of range for the value at %lld (length "
                         "%lld); skipped",
                         (long long)s->index, (long long)t, (long long)n);
            return HS_OK;
        }
        if (v->type == HS_V_ARRAY)
            return hs_tool_emit_value(ctx, t, &v->u.items[i]);
        if (v->type == HS_V_BIN) {
            hs_value b = {.type = HS_V_INT, .u.i = v->u.bin[i]};
            return hs_tool_emit_value(ctx, t, &b);
        }
        hs_value c = {.type = HS_V_STR, .len = cp[i + 1] - cp[i], .u.s = v->u.s + cp[i]};
        return hs_tool_emit_value(ctx, t, &c);
    }
    int64_t start;
    uint64_t count = hs__slice_adjust(s, n, &start);
    /* Consecutive items: the result is a contiguous part (no copy needed for strings). */
    if (v->type == HS_V_ARRAY) {
        hs_value *out = hs_value_array(a, (uint32_t)count);
        if (out == NULL)
            return HS_ERR_NOMEM;
        int64_t i = start;
        for (uint64_t k = 0; k < count; k++, i += s->step)
            out->u.items[k] = v->u.items[i];
        return hs_tool_emit_value(ctx, t, out);
    }
    if (v->type == HS_V_BIN) {
        uint8_t *bytes = hs_arena_alloc(a, count ? count : 1);
        if (bytes == NULL)
            return HS_ERR_NOMEM;
        int64_t i = start;
        for (uint64_t k = 0; k < count; k++, i += s->step)
            bytes[k] = v->u.bin[i];
        hs_value b = {.type = HS_V_BIN, .len = (uint32_t)count, .u.bin = bytes};
        return hs_tool_emit_value(ctx, t, &b);
    }
    size_t bytes = 0;
    int64_t i = start;
    for (uint64_t k = 0; k < count; k++, i += s->step)
        bytes += cp[i + 1] - cp[i];
    char *str = hs_arena_alloc(a, bytes ? bytes : 1);
    if (str == NULL)
        return HS_ERR_NOMEM;
    size_t used = 0;
    i = start;
    for (uint64_t k = 0; k < count; k++, i += s->step) {
        memcpy(str + used, v->u.s + cp[i], cp[i + 1] - cp[i]);
        used += cp[i + 1] - cp[i];
    }
    hs_value out = {.type = HS_V_STR, .len = (uint32_t)bytes, .u.s = str};
    return hs_tool_emit_value(ctx, t, &out);
}

static const hs_tool_param hs__slice_params[] = {
    {"index", HS_P_ANY, NULL, "an integer, or [start, stop] / [start, stop, step] (null: default)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_slice = {
    .name = "slice",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Picks an item or a slice of each list or string",
    .doc = "For every instance (t, v) of the source whose value is a list, a string or "
           "binary data, emits v[index] with Python's rules: an integer index counts from 0 "
           "(negative: from the end); [start, stop] or [start, stop, step] is a slice, whose "
           "parts may be null for the defaults, with Python's clamping and negative steps. "
           "Strings are indexed by code point; an item of binary data is its byte as an "
           "integer. Parameter: index (required). Examples: index 0 of [5, 6, 7] gives 5, "
           "index -1 gives 7; [1, null] gives [6, 7]; [null, null, -1] gives [7, 6, 5]; "
           "[0, 2] of \"héllo\" gives \"hé\". An index out of range, or a value of another "
           "kind (a map, a number), is skipped with a warning, as HyperStream logs and "
           "skips what it cannot slice. A step of 0 fails the job. Difference from "
           "HyperStream: a map cannot be indexed by a string here (use component).",
    .params = hs__slice_params,
    .init = hs__slice_init,
    .map = hs__slice_map,
};
