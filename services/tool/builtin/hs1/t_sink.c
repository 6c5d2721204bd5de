/* The sink tool: reads its sources and outputs nothing. */
#include "hs1.h"
#include "tool_util.h"

#include "hs_error.h"

static int hs__sink_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    for (size_t i = 0; i < hs_tool_nsources(ctx); i++) {
        int rc = hs_tu_each(ctx, i, hs_tool_interval(ctx), NULL, NULL);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

const hs_tool_def hs_tool_sink_tool = {
    .name = "sink",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = -1,
    .summary = "Reads every source over the interval and outputs nothing",
    .doc = "Reads every instance of every source over the job interval and emits nothing. "
           "A workflow uses it as a leaf that makes the scheduler compute its sources over "
           "each requested interval (HyperStream's way of forcing computation of nodes that "
           "nothing else reads). No parameters. Example: sink over [a, b] computes a and b "
           "and leaves its own stream empty.",
    .run = hs__sink_run,
};
