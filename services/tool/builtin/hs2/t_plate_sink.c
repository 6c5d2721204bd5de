/* The plate_sink tool: reads every source over the job interval and emits nothing. */
#include "hs2.h"

#include "hs_error.h"

static int hs__ps_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < hs_tool_nsources(ctx); i++) {
        hs_tool_iter it;
        rc = hs_tool_iter_open(ctx, i, hs_tool_interval(ctx), &it);
        int64_t t;
        const uint8_t *p;
        size_t len;
        int r = 0;
        while (rc == HS_OK && (r = hs_tool_iter_next(&it, &t, &p, &len)) == 1)
            ;
        if (rc == HS_OK && r < 0)
            rc = r;
        hs_tool_iter_close(&it);
    }
    return rc;
}

static const hs_tool_param hs__ps_params[] = {
    {"selector_meta_data", HS_P_ANY, "null", "accepted for compatibility and ignored"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_plate_sink = {
    .name = "plate_sink",
    .version = "1.0.0",
    .kind = HS_TOOL_SELECTOR,
    .min_sources = 1,
    .max_sources = -1,
    .summary = "Reads every stream of a plate and outputs nothing (an end point)",
    .doc = "Reads every source over the job interval and emits nothing, so that a workflow "
           "can end on a plate: the scheduler computes the sources first and the sink's "
           "interval is recorded as done. Parameter: selector_meta_data (accepted for "
           "compatibility and ignored). Example: plate_sink over room on a per-room node "
           "makes every room's stream be computed. Difference from HyperStream: a non-null "
           "selector_meta_data is ignored rather than rejected.",
    .params = hs__ps_params,
    .run = hs__ps_run,
};
