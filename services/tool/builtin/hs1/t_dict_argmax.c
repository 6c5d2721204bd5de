/* The dict_argmax tool: the key of the largest value of each map instance. */
#include "hs1.h"

#include "hs_error.h"

static int hs__argmax_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    (void)state;
    if (v->type != HS_V_MAP) {
        hs_tool_warn(ctx, "dict_argmax: the value at %lld is not a map; skipped", (long long)t);
        return HS_OK;
    }
    const hs_value *arg = NULL;
    double best = 0;
    for (uint32_t i = 0; i < v->len; i++) {
        double d;
        if (hs_value_to_double(&v->u.items[2 * i + 1], &d) != HS_OK)
            continue;
        /* Strictly greater: the first of equal values wins. */
        if (arg == NULL || d > best) {
            best = d;
            arg = &v->u.items[2 * i];
        }
    }
    if (arg == NULL) {
        hs_value nil = {.type = HS_V_NIL};
        return hs_tool_emit_value(ctx, t, &nil);
    }
    return hs_tool_emit_value(ctx, t, arg);
}

const hs_tool_def hs_tool_dict_argmax = {
    .name = "dict_argmax",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "The key of the largest value of each map instance",
    .doc = "Emits (t, k) for every instance (t, v) of the source whose value is a map, "
           "where v[k] is the largest of the numeric values of v (integers, floats, bools "
           "as 0/1); of equal largest values the first in the map wins. A map with no "
           "numeric value (an empty map, as in HyperStream) gives null. No parameters. "
           "Example: {\"a\": 1, \"b\": 3, \"c\": 3} gives \"b\". Differences from HyperStream: "
           "non-numeric values are ignored (Python 2 would compare them with the numbers "
           "by type name), and a value that is not a map is skipped with a warning instead "
           "of failing the job. As in HyperStream, a NaN as the first value is never "
           "replaced, since nothing compares greater than it.",
    .map = hs__argmax_map,
};
