/* The dict_values_to_const tool: every value of each map instance replaced by a constant. */
#include "hs1.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"

typedef struct hs__dvc {
    hs_buf cval; /* the constant, encoded */
    hs_buf out;  /* the emitted value */
} hs__dvc;

static int hs__dvc_init(hs_tool_ctx *ctx, void **state)
{
    hs__dvc *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->cval, 0);
    hs_buf_init(&s->out, 0);
    *state = s;
    const hs_value *c = hs_tool_param_value(ctx, "const");
    hs_value nil = {.type = HS_V_NIL};
    /*
     * The parameters are a map nested at most HS_MP_MAX_DEPTH deep, so the
     * constant one level down in the output map is never too deep either.
     */
    if (hs_value_encode(c != NULL ? c : &nil, &s->cval) != HS_OK)
        return hs_tool_fail(ctx, "dict_values_to_const: parameter 'const' cannot be encoded");
    return HS_OK;
}

static void hs__dvc_fini(void *state)
{
    hs__dvc *s = state;
    if (s == NULL)
        return;
    hs_buf_free(&s->cval);
    hs_buf_free(&s->out);
    hs_free(s);
}

static int hs__dvc_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__dvc *s = state;
    if (v->type != HS_V_MAP) {
        hs_tool_warn(ctx, "dict_values_to_const: the value at %lld is not a map; skipped",
                     (long long)t);
        return HS_OK;
    }
    hs_buf_reset(&s->out);
    int rc = hs_mp_put_map(&s->out, v->len);
    for (uint32_t i = 0; rc == HS_OK && i < v->len; i++) {
        const hs_value *k = &v->u.items[2 * i];
        rc = hs_mp_put_str(&s->out, k->u.s, k->len);
        if (rc == HS_OK)
            rc = hs_mp_put_raw(&s->out, s->cval.data, s->cval.len);
    }
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, s->out.data, s->out.len);
}

static const hs_tool_param hs__dvc_params[] = {
    {"const", HS_P_ANY, "1", "the value every field gets"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_dict_values_to_const = {
    .name = "dict_values_to_const",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Replaces every value of each map instance by a constant",
    .doc = "Emits (t, {k: const for each key k of v}) for every instance (t, v) of the "
           "source whose value is a map, keys in their order. Parameter: const (any value, "
           "default 1; null gives null). Example: {\"a\": 5, \"b\": \"x\"} gives {\"a\": 1, "
           "\"b\": 1}; followed by list_dict_sum over windows this counts the occurrences of "
           "each key. Difference from HyperStream: a value that is not a map is skipped with "
           "a warning instead of failing the job.",
    .params = hs__dvc_params,
    .init = hs__dvc_init,
    .map = hs__dvc_map,
    .fini = hs__dvc_fini,
};
