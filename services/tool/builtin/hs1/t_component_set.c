/* The component_set tool: the listed fields of each map instance. */
#include "hs1.h"

#include "hs_error.h"

#include <string.h>

typedef struct hs__cset {
    hs1_keys keys; /* the wanted keys (strings in the job arena) */
} hs__cset;

static int hs__cset_init(hs_tool_ctx *ctx, void **state)
{
    hs_arena *a = hs_tool_arena(ctx);
    hs__cset *s = hs_arena_alloc(a, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    *state = s;
    const hs_value *keys = hs_tool_param_value(ctx, "keys");
    if (keys == NULL || keys->type != HS_V_ARRAY)
        return hs_tool_fail(ctx, "component_set needs parameter 'keys', a list of field names");
    int rc = hs1_keys_init(&s->keys, a, keys->len);
    if (rc != HS_OK)
        return rc;
    for (uint32_t i = 0; i < keys->len; i++) {
        const hs_value *k = &keys->u.items[i];
        if (k->type != HS_V_STR)
            return hs_tool_fail(ctx, "component_set: keys[%u] is not a string", i);
        hs1_keys_get(&s->keys, k->u.s, k->len, true, NULL);
    }
    return HS_OK;
}

static int hs__cset_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__cset *s = state;
    if (v->type != HS_V_MAP) {
        hs_tool_warn(ctx, "component_set: the value at %lld is not a map; skipped", (long long)t);
        return HS_OK;
    }
    uint32_t keep = 0;
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_value *k = &v->u.items[2 * i];
        keep += hs1_keys_get(&s->keys, k->u.s, k->len, false, NULL) >= 0;
    }
    hs_value *out = hs_value_map(hs_tool_scratch(ctx), keep);
    if (out == NULL)
        return HS_ERR_NOMEM;
    uint32_t j = 0;
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_value *k = &v->u.items[2 * i];
        if (hs1_keys_get(&s->keys, k->u.s, k->len, false, NULL) < 0)
            continue;
        out->u.items[2 * j] = *k;
        out->u.items[2 * j + 1] = v->u.items[2 * i + 1];
        j++;
    }
    return hs_tool_emit_value(ctx, t, out);
}

static const hs_tool_param hs__cset_params[] = {
    {"keys", HS_P_LIST, NULL, "the field names to keep"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_component_set = {
    .name = "component_set",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Keeps the listed fields of each map instance",
    .doc = "Emits (t, {k: v[k] for each k of keys that v holds}) for every instance (t, v) "
           "of the source whose value is a map, in the order of the fields of v. The "
           "output is emitted even when no key is present (an empty map), as in "
           "HyperStream. Parameter: keys (list of strings, required). Example: keys [a, c] "
           "turns {\"a\": 1, \"b\": 2, \"c\": 3} into {\"a\": 1, \"c\": 3} and {\"b\": 2} into "
           "{}. Difference from HyperStream: a value that is not a map is skipped with a "
           "warning instead of failing the job.",
    .params = hs__cset_params,
    .init = hs__cset_init,
    .map = hs__cset_map,
};
