/* The asset_writer tool: writes one given value at the job end. */
#include "tools.h"

#include "hs_error.h"

#include <string.h>

static int hs__aw_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    /* Looked up in the map itself: a null value is a value to write, not an absent one. */
    const hs_value *v = hs_value_map_get(hs_tool_params(ctx), "value", strlen("value"));
    if (v == NULL)
        return hs_tool_fail(ctx, "asset_writer needs parameter 'value' (any JSON value)");
    return hs_tool_emit_value(ctx, hs_tool_interval(ctx).end, v);
}

static const hs_tool_param hs__aw_params[] = {
    {"value", HS_P_ANY, NULL, "the value to write (any JSON value)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_asset_writer = {
    .name = "asset_writer",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 0,
    .max_sources = 0,
    .summary = "Writes one given value at the end of the job interval",
    .doc = "Emits exactly one instance (end, value) where end is the end of the job "
           "interval. Parameter: value (any JSON value, null included; required). "
           "Example: value {\"kitchen\": \"k\", \"lounge\": \"l\"} writes that map, e.g. as "
           "the mapping of a splitter or the source of plate values. Same as HyperStream.",
    .params = hs__aw_params,
    .run = hs__aw_run,
};
