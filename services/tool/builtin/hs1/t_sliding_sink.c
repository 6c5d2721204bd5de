/* The sliding_sink tool: reads the data under its windows and outputs nothing. */
#include "hs1.h"
#include "tool_util.h"

#include "hs_error.h"

static int hs__ssink_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    if (hs_tool_nsources(ctx) != 2)
        return hs_tool_fail(ctx, "sliding_sink needs 2 sources (windows, data), not %zu",
                            hs_tool_nsources(ctx));
    hs_interval iv = hs_tool_interval(ctx);
    hs_tool_iter wit;
    int rc = hs_tool_iter_open(ctx, 0, iv, &wit);
    if (rc != HS_OK)
        return rc;
    int64_t t, first_lo = 0, last_up = 0;
    bool any = false;
    const uint8_t *p;
    size_t len;
    int r;
    while ((r = hs_tool_iter_next(&wit, &t, &p, &len)) == 1) {
        int64_t lo, up;
        if (!hs1_read_window(p, len, &lo, &up)) {
            hs_tool_warn(ctx,
                         "sliding_sink: the window at %lld is not [lo, up] in "
                         "microseconds; skipped",
                         (long long)t);
            continue;
        }
        if (!any)
            first_lo = lo;
        last_up = up;
        any = true;
    }
    hs_tool_iter_close(&wit);
    if (r < 0)
        return r;
    if (last_up > iv.end)
        last_up = iv.end;
    if (!any || first_lo >= last_up)
        return HS_OK;
    return hs_tu_each(ctx, 1, (hs_interval){first_lo, last_up}, NULL, NULL);
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
