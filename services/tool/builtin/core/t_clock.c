/* The clock tool: ticks on a regular grid of instants. */
#include "tools.h"

#include "hs_error.h"

static int hs__clock_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    int64_t first, stride;
    int rc = hs_tool_param_time(ctx, "first", &first);
    if (rc != HS_OK)
        return rc == HS_ERR_NOTFOUND ? hs_tool_fail(ctx, "clock needs parameter 'first'") : rc;
    rc = hs_tool_param_duration(ctx, "stride", &stride);
    if (rc != HS_OK)
        return rc == HS_ERR_NOTFOUND ? hs_tool_fail(ctx, "clock needs parameter 'stride'") : rc;
    if (stride <= 0)
        return hs_tool_fail(ctx, "parameter 'stride' of clock must be a positive duration");
    hs_interval iv = hs_tool_interval(ctx);
    int64_t t;
    bool more = hs_grid_first(first, stride, iv.start, iv.end, &t);
    while (more) {
        rc = hs_tool_emit_int(ctx, t, t);
        if (rc != HS_OK)
            return rc;
        more = hs_grid_next(stride, iv.end, &t);
    }
    return HS_OK;
}

static const hs_tool_param hs__clock_params[] = {
    {"first", HS_P_TIME, "\"0001-01-01T00:00:00Z\"", "an instant of the grid"},
    {"stride", HS_P_DURATION, "\"1s\"", "time between ticks (positive)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_clock = {
    .name = "clock",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 0,
    .max_sources = 0,
    .summary = "Ticks every stride on a grid through first; the value is the tick's time",
    .doc = "Emits (t, t) for every t = first + k*stride (k = 0, 1, 2, ...) with "
           "start < t <= end of the job interval; the value is t as an integer of "
           "microseconds since 1970. Parameters: first (time, default "
           "0001-01-01T00:00:00Z, which puts ticks on whole seconds, minutes, hours and "
           "UTC days when stride divides a day) and stride (duration, default 1s, must be "
           "positive). Example: stride 10s over (12:00:00, 12:01:00] gives 6 ticks, "
           "12:00:10 .. 12:01:00. Differences from HyperStream: the job interval is not "
           "changed when it starts before first (HyperStream mutates it), and the work is "
           "proportional to the ticks emitted.",
    .params = hs__clock_params,
    .run = hs__clock_run,
};
