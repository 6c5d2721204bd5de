/* The component tool: one field of each map instance. */
#include "hs1.h"

#include "hs_error.h"

#include <string.h>

typedef struct hs__comp {
    const char *key; /* in the job arena */
    size_t klen;
} hs__comp;

static int hs__comp_init(hs_tool_ctx *ctx, void **state)
{
    hs__comp *s = hs_arena_alloc(hs_tool_arena(ctx), sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    *state = s;
    int rc = hs_tool_param_string(ctx, "key", &s->key);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "component needs parameter 'key' (the field to pick)");
    if (rc != HS_OK)
        return rc;
    s->klen = strlen(s->key);
    return HS_OK;
}

static int hs__comp_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    const hs__comp *s = state;
    if (v->type != HS_V_MAP) {
        hs_tool_warn(ctx, "component: the value at %lld is not a map; skipped", (long long)t);
        return HS_OK;
    }
    const hs_value *c = hs_value_map_get(v, s->key, s->klen);
    if (c == NULL)
        return HS_OK; /* maps without the key are left out, as HyperStream */
    return hs_tool_emit_value(ctx, t, c);
}

static const hs_tool_param hs__comp_params[] = {
    {"key", HS_P_STRING, NULL, "the field to pick"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_component = {
    .name = "component",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Picks one field of each map instance",
    .doc = "Emits (t, v[key]) for every instance (t, v) of the source whose value is a map "
           "holding key; maps without the key are left out silently, as in HyperStream. "
           "Parameter: key (string, required). Example: key temp turns {\"temp\": 21.5, "
           "\"hum\": 40} into 21.5. Difference from HyperStream: a value that is not a map "
           "is skipped with a warning (HyperStream fails on it or tests list membership).",
    .params = hs__comp_params,
    .init = hs__comp_init,
    .map = hs__comp_map,
};
