/* The splitter_of_list tool: item i of each list value goes to plate value mapping[i]. */
#include "hs2.h"

#include "hs_error.h"

#include <string.h>

#define NAME "splitter_of_list"

static int hs__sol_init(hs_tool_ctx *ctx, void **state)
{
    hs2_texts *m = hs_arena_alloc(hs_tool_arena(ctx), sizeof *m);
    if (m == NULL)
        return HS_ERR_NOMEM;
    memset(m, 0, sizeof *m);
    *state = m;
    if (hs_tool_param_value(ctx, "mapping") == NULL)
        return hs_tool_fail(ctx, NAME ": parameter 'mapping' (a list of plate values) is "
                                      "required");
    return hs2_param_texts(ctx, NAME, "mapping", m);
}

static int hs__sol_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    const hs2_texts *m = state;
    if (v->type != HS_V_ARRAY) {
        hs_tool_warn(ctx, NAME ": the value at %lld is not a list; skipped", (long long)t);
        return HS_OK;
    }
    if (v->len < m->n)
        hs_tool_warn(ctx,
                     NAME ": the list at %lld has %u items, fewer than the %zu of the mapping; "
                          "the missing ones are skipped",
                     (long long)t, v->len, m->n);
    for (size_t i = 0; i < m->n && i < v->len; i++) {
        long sink = hs2_sink(ctx, NAME, m->s[i], m->len[i], t);
        if (sink < 0)
            continue;
        int rc = hs_tool_emit_value_to(ctx, (size_t)sink, t, &v->u.items[i]);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static const hs_tool_param hs__sol_params[] = {
    {"mapping", HS_P_LIST, NULL, "plate value of each list position"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_splitter_of_list = {
    .name = NAME,
    .version = "1.0.0",
    .kind = HS_TOOL_MULTI,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Splits the items of list values onto plate values by position",
    .doc = "For each instance (t, v) whose value is a list, emits (t, v[i]) to the sink of "
           "plate value mapping[i] for every position i of the mapping. Parameter: mapping "
           "(list of strings or numbers, required). Example: mapping [\"x\", \"y\"] turns "
           "(t, [1, 2, 3]) into (t, 1) on x and (t, 2) on y; extra items are ignored. Lists "
           "shorter than the mapping give what they have and a warning, values that are not "
           "lists and plate values the output plate does not have are dropped with a "
           "warning. Difference from HyperStream: a short list is not an uncaught error.",
    .params = hs__sol_params,
    .init = hs__sol_init,
    .map = hs__sol_map,
};
