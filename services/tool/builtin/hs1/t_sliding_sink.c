/* The sliding_sink tool: reads the data under its windows and outputs nothing. */
#include "hs1.h"
#include "tool_util.h"

#include "hs_error.h"

/* The span the windows cover: lo of the first, up of the last. */
typedef struct hs__ssink_span {
    int64_t first_lo, last_up;
    bool any;
} hs__ssink_span;

static int hs__ssink_window(void *ud, int64_t t, int64_t lo, int64_t up)
{
    (void)t;
    hs__ssink_span *sp = ud;
    if (!sp->any)
        sp->first_lo = lo;
    sp->last_up = up;
    sp->any = true;
    return HS_OK;
}

static int hs__ssink_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    if (hs_tool_nsources(ctx) != 2)
        return hs_tool_fail(ctx, "sliding_sink needs 2 sources (windows, data), not %zu",
                            hs_tool_nsources(ctx));
    hs__ssink_span sp = {0, 0, false};
    int rc = hs_tu_each_window(ctx, "sliding_sink", false, hs__ssink_window, &sp);
    if (rc != HS_OK)
        return rc;
    int64_t end = hs_tool_interval(ctx).end;
    if (sp.last_up > end)
        sp.last_up = end;
    if (!sp.any || sp.first_lo >= sp.last_up)
        return HS_OK;
    return hs_tu_each(ctx, 1, (hs_interval){sp.first_lo, sp.last_up}, NULL, NULL);
}

const hs_tool_def hs_tool_sliding_sink = {
    .name = "sliding_sink",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 2,
    .max_sources = 2,
    .summary = "Reads the data under the windows and outputs nothing",
    .doc = "Sources: [windows, data]. Reads the window instances of the job interval "
           "([lo, up] in microseconds), then every instance of the data source over "
           "(lo of the first window, up of the last window], and emits nothing: a leaf that "
           "makes the data under the windows computed, as in HyperStream. No parameters. "
           "Example: windows (20:00:00, 20:01:00] and (20:01:00, 20:02:00] make it read the "
           "data over (20:00:00, 20:02:00]. Difference from HyperStream: the read stops at "
           "the job end (as every window tool here never reads data after it).",
    .run = hs__ssink_run,
    .lookback_from_windows = true,
};
