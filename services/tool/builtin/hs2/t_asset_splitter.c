/* The asset_splitter tool: each field of a map value goes to the plate value named by its key. */
#include "hs2.h"

#include "hs_alloc.h"
#include "hs_error.h"

#include <string.h>

#define NAME "asset_splitter"

typedef struct hs__as {
    const char *element; /* NULL: the whole value */
    size_t elen;
    hs2_texts filters; /* whitelist of keys; empty: every key */
} hs__as;

static int hs__as_init(hs_tool_ctx *ctx, void **state)
{
    hs__as *s = hs_arena_alloc(hs_tool_arena(ctx), sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    *state = s;
    int rc = hs_tool_param_string(ctx, "element", &s->element);
    if (rc == HS_OK)
        s->elen = strlen(s->element);
    else if (rc != HS_ERR_NOTFOUND)
        return rc;
    return hs2_param_texts(ctx, NAME, "filters", &s->filters);
}

static int hs__as_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__as *s = state;
    const hs_value *data = v;
    if (s->element != NULL) {
        data = hs_value_map_get(v, s->element, s->elen);
        if (data == NULL) {
            hs_tool_warn(ctx, NAME ": the value at %lld has no '%s'; skipped", (long long)t,
                         s->element);
            return HS_OK;
        }
    }
    if (data->type != HS_V_MAP) {
        hs_tool_warn(ctx, NAME ": the value at %lld is not a map; skipped", (long long)t);
        return HS_OK;
    }
    for (uint32_t i = 0; i < data->len; i++) {
        const hs_value *k = &data->u.items[2 * i];
        if (s->filters.n > 0 && !hs2_texts_has(&s->filters, k->u.s, k->len))
            continue;
        long sink = hs2_sink(ctx, NAME, k->u.s, k->len, t);
        if (sink < 0)
            continue;
        int rc = hs_tool_emit_value_to(ctx, (size_t)sink, t, &data->u.items[2 * i + 1]);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static const hs_tool_param hs__as_params[] = {
    {"element", HS_P_STRING, "null", "split value[element] instead of the whole value"},
    {"filters", HS_P_LIST, "null", "keys to keep (a whitelist); null or empty: every key"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_asset_splitter = {
    .name = NAME,
    .version = "0.2.0",
    .kind = HS_TOOL_MULTI,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Splits each map value by key: field k goes to plate value k",
    .doc = "For each instance (t, v) in the job interval, takes d = v (or v[element] when "
           "element is given) and, for every key k of the map d that passes the filters, "
           "emits (t, d[k]) to the sink of plate value k. Parameters: element (string, "
           "optional) and filters (list, optional: a whitelist of keys; null or empty keeps "
           "every key). Example: {\"kitchen\": {\"sensor\": 3}, \"lounge\": {\"sensor\": 5}} "
           "at t gives (t, {\"sensor\": 3}) on room=kitchen and (t, {\"sensor\": 5}) on "
           "room=lounge. Values without the element, values that are not maps and keys that "
           "the output plate does not have are dropped with a warning. Difference from "
           "HyperStream: a missing element or a non-map is warned about instead of being "
           "skipped silently or failing.",
    .params = hs__as_params,
    .init = hs__as_init,
    .map = hs__as_map,
};
