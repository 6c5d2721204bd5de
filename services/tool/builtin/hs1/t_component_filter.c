/* The component_filter tool: keeps the map instances whose field has one of some values. */
#include "hs1.h"

#include "hs_error.h"

#include <string.h>

typedef struct hs__cf {
    const char *key; /* in the job arena */
    size_t klen;
    const hs_value *values; /* the params' list, in the job arena */
    bool complement;
} hs__cf;

static int hs__cf_init(hs_tool_ctx *ctx, void **state)
{
    hs__cf *s = hs_arena_alloc(hs_tool_arena(ctx), sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    *state = s;
    int rc = hs_tool_param_string(ctx, "key", &s->key);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "component_filter needs parameter 'key' (the field to test)");
    if (rc != HS_OK)
        return rc;
    s->klen = strlen(s->key);
    s->values = hs_tool_param_value(ctx, "values");
    if (s->values == NULL || s->values->type != HS_V_ARRAY)
        return hs_tool_fail(ctx, "component_filter needs parameter 'values', a list");
    rc = hs_tool_param_bool(ctx, "complement", &s->complement);
    return rc == HS_ERR_NOTFOUND ? HS_OK : rc;
}

static bool hs__cf_in(const hs__cf *s, const hs_value *x)
{
    for (uint32_t i = 0; i < s->values->len; i++)
        if (hs1_value_eq(x, &s->values->u.items[i]))
            return true;
    return false;
}

static int hs__cf_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    const hs__cf *s = state;
    if (v->type != HS_V_MAP) {
        hs_tool_warn(ctx, "component_filter: the value at %lld is not a map; skipped",
                     (long long)t);
        return HS_OK;
    }
    const hs_value *c = hs_value_map_get(v, s->key, s->klen);
    if (c == NULL) {
        if (s->complement)
            hs_tool_warn(ctx, "component_filter: the value at %lld has no '%s'; skipped",
                         (long long)t, s->key);
        return HS_OK;
    }
    if (hs__cf_in(s, c) != s->complement)
        return hs_tool_emit_value(ctx, t, v);
    return HS_OK;
}

static const hs_tool_param hs__cf_params[] = {
    {"key", HS_P_STRING, NULL, "the field to test"},
    {"values", HS_P_LIST, NULL, "the values that keep an instance"},
    {"complement", HS_P_BOOL, "false", "keep the instances whose field is NOT in values"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_component_filter = {
    .name = "component_filter",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Keeps the map instances whose field is (or is not) one of some values",
    .doc = "Emits the whole instance (t, v) for every map value v that holds key and whose "
           "v[key] is one of values, or, with complement, is none of them. Values compare "
           "as in Python: 1 and 1.0 match, lists item by item, maps whatever their key "
           "order (but true does not match 1). Parameters: key "
           "(string, required), values (list, required), complement (bool, default false). "
           "Example: key room, values [kitchen] keeps {\"room\": \"kitchen\", \"t\": 21} and "
           "drops {\"room\": \"hall\", \"t\": 19}; with complement true it does the reverse; "
           "values [null] with complement drops the instances whose field is null. Maps "
           "without the key are dropped: silently without complement, as HyperStream, and "
           "with a warning with complement. Differences from HyperStream: with complement a "
           "map without the key is skipped with a warning where HyperStream fails the job "
           "(KeyError), and a value that is not a map is skipped with a warning.",
    .params = hs__cf_params,
    .init = hs__cf_init,
    .map = hs__cf_map,
};
