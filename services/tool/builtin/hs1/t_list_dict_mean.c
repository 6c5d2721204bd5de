/* The list_dict_mean tool: the field-wise mean of each list of maps. */
#include "hs1.h"

#include "hs_error.h"

static int hs__ldm_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    (void)state;
    size_t pairs = 0;
    bool ok = v->type == HS_V_ARRAY;
    for (uint32_t i = 0; ok && i < v->len; i++) {
        const hs_value *m = &v->u.items[i];
        ok = m->type == HS_V_MAP;
        for (uint32_t j = 0; ok && j < m->len; j++) {
            double d;
            ok = hs_value_to_double(&m->u.items[2 * j + 1], &d) == HS_OK;
        }
        pairs += ok ? m->len : 0;
    }
    if (!ok) {
        hs_tool_warn(ctx,
                     "list_dict_mean: the value at %lld is not a list of maps of numbers; "
                     "skipped",
                     (long long)t);
        return HS_OK;
    }
    if (v->len == 0) {
        hs_tool_warn(ctx, "list_dict_mean: the list at %lld is empty; skipped", (long long)t);
        return HS_OK;
    }
    hs_arena *a = hs_tool_scratch(ctx);
    hs1_keys keys;
    int rc = hs1_keys_init(&keys, a, pairs);
    if (rc != HS_OK)
        return rc;
    hs1_num *sums = hs_arena_alloc(a, (pairs ? pairs : 1) * sizeof *sums);
    if (sums == NULL)
        return HS_ERR_NOMEM;
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_value *m = &v->u.items[i];
        for (uint32_t j = 0; j < m->len; j++) {
            const hs_value *k = &m->u.items[2 * j];
            bool added;
            long idx = hs1_keys_get(&keys, k->u.s, k->len, true, &added);
            if (added)
                hs1_num_set(&sums[idx], &m->u.items[2 * j + 1]);
            else
                hs1_num_add(&sums[idx], &m->u.items[2 * j + 1]);
        }
    }
    hs_value *out = hs1_keys_map(&keys, a);
    if (out == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; i < keys.n; i++) {
        hs_value *x = &out->u.items[2 * i + 1];
        x->type = HS_V_FLOAT;
        x->u.f = hs1_num_double(&sums[i]) / (double)v->len;
    }
    return hs_tool_emit_value(ctx, t, out);
}

const hs_tool_def hs_tool_list_dict_mean = {
    .name = "list_dict_mean",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "The field-wise mean of each list of maps",
    .doc = "For every instance (t, v) of the source whose value is a non-empty list of maps "
           "of numbers (integers, floats, bools as 0/1), emits (t, {k: (sum of the k fields) "
           "/ len(v)}) with float means, fields in the order first seen. As in HyperStream "
           "the divisor is the length of the list, so a map without a field counts as 0 for "
           "it. No parameters. Example: [{\"a\": 1, \"b\": 4}, {\"a\": 3}] gives {\"a\": 2.0, "
           "\"b\": 2.0}. Differences from HyperStream: an empty list is skipped with a "
           "warning (HyperStream emits {} and then fails with ZeroDivisionError), a value "
           "that is not a list of maps of numbers is skipped with a warning, and each mean "
           "is the sum divided once by the length (HyperStream adds value / length terms, "
           "which can differ in the last bit).",
    .map = hs__ldm_map,
};
