/* The splitter_of_dict tool: field k of each map value goes to plate value mapping[k]. */
#include "hs2.h"

#include "hs_error.h"

#include <string.h>

#define NAME "splitter_of_dict"

static int hs__sod_init(hs_tool_ctx *ctx, void **state)
{
    hs2_mapping *m = hs_arena_alloc(hs_tool_arena(ctx), sizeof *m);
    if (m == NULL)
        return HS_ERR_NOMEM;
    memset(m, 0, sizeof *m);
    *state = m;
    const hs_value *v = hs_tool_param_value(ctx, "mapping");
    if (v == NULL || v->type != HS_V_MAP)
        return hs_tool_fail(ctx, NAME ": parameter 'mapping' must be a map (key -> plate value)");
    return hs2_mapping_build(ctx, NAME, "mapping", v, false, m);
}

static int hs__sod_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    const hs2_mapping *m = state;
    if (v->type != HS_V_MAP) {
        hs_tool_warn(ctx, NAME ": the value at %lld is not a map; skipped", (long long)t);
        return HS_OK;
    }
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_value *k = &v->u.items[2 * i];
        const hs2_map_ent *e = hs2_mapping_find(m, k->u.s, k->len);
        if (e == NULL) {
            hs_tool_warn(ctx, NAME ": key '%.*s' (at %lld) is not in the mapping; dropped",
                         (int)(k->len > 200 ? 200 : k->len), k->u.s, (long long)t);
            continue;
        }
        long sink = hs2_sink(ctx, NAME, e->to, e->tlen, t);
        if (sink < 0)
            continue;
        int rc = hs_tool_emit_value_to(ctx, (size_t)sink, t, &v->u.items[2 * i + 1]);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static const hs_tool_param hs__sod_params[] = {
    {"mapping", HS_P_MAP, NULL, "field name -> plate value"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_splitter_of_dict = {
    .name = NAME,
    .version = "0.0.2",
    .kind = HS_TOOL_MULTI,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Splits the fields of map values onto plate values named by a mapping",
    .doc = "For each instance (t, v) whose value is a map, emits (t, v[k]) to the sink of "
           "plate value mapping[k] for every field k that the mapping has. Parameter: mapping "
           "(map, required; values are strings or numbers). Example: mapping {\"a\": \"x\", "
           "\"b\": \"y\"} turns (t, {\"a\": 1, \"b\": 2}) into (t, 1) on x and (t, 2) on y. "
           "Fields missing from the mapping, plate values the output plate does not have and "
           "values that are not maps are dropped with a warning.",
    .params = hs__sod_params,
    .init = hs__sod_init,
    .map = hs__sod_map,
};
