/* The sliding_window tool: windows (lo, up] on a regular grid. */
#include "tools.h"

#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"

/* Reads an optional duration parameter: HS_OK, HS_ERR_NOTFOUND (absent) or a failure. */
static int hs__opt_duration(hs_tool_ctx *ctx, const char *name, int64_t *out, bool *given)
{
    int rc = hs_tool_param_duration(ctx, name, out);
    *given = rc == HS_OK;
    return rc == HS_ERR_NOTFOUND ? HS_OK : rc;
}

static int hs__sw_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    int64_t first, width = 0, lower = -HS_US_PER_S, upper = 0, increment = 0;
    bool has_width, has_lower, has_upper, has_inc;
    int rc = hs_tool_param_time(ctx, "first", &first);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "sliding_window needs parameter 'first'");
    if (rc != HS_OK)
        return rc;
    if ((rc = hs__opt_duration(ctx, "width", &width, &has_width)) != HS_OK ||
        (rc = hs__opt_duration(ctx, "lower", &lower, &has_lower)) != HS_OK ||
        (rc = hs__opt_duration(ctx, "upper", &upper, &has_upper)) != HS_OK ||
        (rc = hs__opt_duration(ctx, "increment", &increment, &has_inc)) != HS_OK)
        return rc;
    if (has_width && (has_lower || has_upper))
        return hs_tool_fail(ctx,
                            "sliding_window takes either 'width' or 'lower'/'upper', not both");
    if (!has_width) {
        if (lower >= upper)
            return hs_tool_fail(ctx, "sliding_window needs 'lower' < 'upper' (the width is "
                                     "upper - lower)");
        if (upper > 0 && lower <= INT64_MIN + upper)
            return hs_tool_fail(ctx, "sliding_window: 'upper' - 'lower' is too large");
        width = upper - lower;
    }
    if (width <= 0)
        return hs_tool_fail(ctx, "parameter 'width' of sliding_window must be a positive duration");
    if (!has_inc)
        increment = width;
    if (increment <= 0)
        return hs_tool_fail(ctx,
                            "parameter 'increment' of sliding_window must be a positive duration");
    /* The first window ends at first + width; none ends within int64 when that overflows. */
    if (first > INT64_MAX - width)
        return HS_OK;
    hs_interval iv = hs_tool_interval(ctx);
    int64_t up;
    bool more = hs_grid_first(first + width, increment, iv.start, iv.end, &up);
    hs_buf b;
    hs_buf_init(&b, 0);
    while (more) {
        hs_buf_reset(&b);
        if ((rc = hs_mp_put_array(&b, 2)) != HS_OK ||
            (rc = hs_mp_put_int(&b, up - width)) != HS_OK ||
            (rc = hs_mp_put_int(&b, up)) != HS_OK ||
            (rc = hs_tool_emit(ctx, up, b.data, b.len)) != HS_OK)
            break;
        more = hs_grid_next(increment, iv.end, &up);
    }
    hs_buf_free(&b);
    return rc;
}

static const hs_tool_param hs__sw_params[] = {
    {"first", HS_P_TIME, "\"0001-01-01T00:00:00Z\"", "an instant of the window grid"},
    {"width", HS_P_DURATION, "null", "window width (positive); or give lower and upper"},
    {"lower", HS_P_DURATION, "null", "HyperStream form: width = upper - lower (default -1s)"},
    {"upper", HS_P_DURATION, "null", "HyperStream form: width = upper - lower (default 0s)"},
    {"increment", HS_P_DURATION, "null", "time between window ends (default: the width)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

/*
 * The width of the windows for the planner (hs_tool_def.window_width_us),
 * from the factor's parameters: `width` (a duration text or seconds), else
 * upper - lower (defaults -1s and 0s). 0 when it cannot be read; the job
 * itself reports bad parameters.
 */
static int64_t hs__sw_width_us(const hs_value *params)
{
    const hs_value *w = hs_value_map_get(params, "width", 5);
    const hs_value *lo = hs_value_map_get(params, "lower", 5);
    const hs_value *up = hs_value_map_get(params, "upper", 5);
    int64_t width = 0, l = -HS_US_PER_S, u = 0;
    if (w != NULL && w->type == HS_V_STR) {
        if (hs_duration_parse(w->u.s, w->len, &width) != HS_OK)
            width = 0;
    } else if (w != NULL && (w->type == HS_V_INT || w->type == HS_V_FLOAT)) {
        double d;
        if (hs_value_to_double(w, &d) == HS_OK)
            width = (int64_t)(d * 1e6);
    } else {
        if (lo && lo->type == HS_V_STR)
            (void)hs_duration_parse(lo->u.s, lo->len, &l);
        if (up && up->type == HS_V_STR)
            (void)hs_duration_parse(up->u.s, up->len, &u);
        width = u - l;
    }
    return width > 0 ? width : 0;
}

const hs_tool_def hs_tool_sliding_window = {
    .name = "sliding_window",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 0,
    .max_sources = 0,
    .summary = "Windows (up - width, up] every increment; the value is [lo_us, up_us]",
    .doc = "Emits one instance (up, [lo, up]) per window, with lo = up - width and the "
           "value a two-integer array of microseconds, for every window end up = first + "
           "width + k*increment (k = 0, 1, 2, ...) with start < up <= end of the job "
           "interval. Parameters: first (time, default 0001-01-01T00:00:00Z), width "
           "(duration) or HyperStream's lower and upper (width = upper - lower; defaults "
           "-1s and 0s; only the width matters), and increment (duration, default the "
           "width). Example: first 12:00:00, width 10s, increment 5s over (12:00:00, "
           "12:01:00] gives 11 windows ending 12:00:10, 12:00:15, .., 12:01:00; "
           "increment 20s gives (12:00:00, 12:00:10], (12:00:20, 12:00:30] and "
           "(12:00:40, 12:00:50]. Difference from HyperStream: the grid is fixed by first "
           "alone, so the windows do not depend on how an interval is cut into jobs. "
           "HyperStream starts each job's first window at the job start (rounded down to "
           "the width grid), so with overlapping windows (increment < width) it leaves out "
           "the windows that straddle a job start: with the default first, the example "
           "above also gives (11:59:55, 12:00:05] here. With increment >= width and jobs "
           "starting on the width grid the windows are the same. The job interval is never "
           "changed.",
    .params = hs__sw_params,
    .run = hs__sw_run,
    .window_width_us = hs__sw_width_us,
};
