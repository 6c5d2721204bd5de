/* The apply tool: a function of each instance's value. */
#include "functions.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"

typedef struct hs__apply {
    hs_func f;
    bool with_time; /* include_timestamps */
} hs__apply;

static int hs__apply_init(hs_tool_ctx *ctx, void **state)
{
    hs__apply *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    *state = s;
    int rc = hs_tool_param_bool(ctx, "include_timestamps", &s->with_time);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    rc = hs_func_lookup(ctx, "func", HS_FUNC_UNARY, &s->f);
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
    hs_free(s);
}

static int hs__apply_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__apply *s = state;
    hs_value out;
    int rc = s->f.unary(s->f.ud, hs_tool_arena(ctx), t, v, &out);
    if (rc == HS_ERR_INVAL) {
        hs_tool_warn(ctx, "apply: %s at %lld; skipped", hs_err_detail(), (long long)t);
        return HS_OK;
    }
    if (rc != HS_OK)
        return hs_tool_fail(ctx, "apply: function %s failed: %s", s->f.name, hs_err_detail());
    return hs_tool_emit_value(ctx, t, &out);
}

static const hs_tool_param hs__apply_params[] = {
    {"func", HS_P_FUNC, NULL,
     "identity, abs, neg, sqrt, exp, log, log10, floor, ceil, round, c_to_f, f_to_c, len or "
     "not"},
    {"include_timestamps", HS_P_BOOL, "false",
     "pass the timestamp too (user functions only; built-ins need false)"},
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
           "interval. Parameters: func (required): identity, abs, neg, sqrt, exp, log, "
           "log10, floor, ceil, round (half to even), c_to_f, f_to_c, len (code points of "
           "a string, bytes of binary data, items of an array or map) or not (of a bool); "
           "include_timestamps (bool, default false; the built-in functions take no "
           "timestamp, so true fails the job). Numbers are integers, floats and bools "
           "(0/1). abs, neg, floor, ceil and round keep integers integers; other numeric "
           "results are float64. Example: func c_to_f turns 100 into 212.0. Differences "
           "from HyperStream: a value the function cannot take (a string for abs, a "
           "negative number for sqrt or log, a result out of range) is skipped with a "
           "warning instead of failing the job.",
    .params = hs__apply_params,
    .init = hs__apply_init,
    .map = hs__apply_map,
    .fini = hs__apply_fini,
};
