/* The relative_window tool: the source's values in a window relative to each alignment time. */
#include "hs1.h"
#include "tool_util.h"

#include "hs_error.h"
#include "hs_time.h"

#include <string.h>

typedef struct hs__rw {
    int64_t rs, re;   /* relative_start, relative_end in microseconds */
    bool values_only; /* values, or [t_us, value] pairs */
    hs1_wbuf data;    /* the source, buffered */
    bool data_init;
    hs_buf out;
} hs__rw;

static int hs__rw_init(hs_tool_ctx *ctx, void **state)
{
    hs__rw *s = hs_arena_alloc(hs_tool_arena(ctx), sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->values_only = true;
    hs_buf_init(&s->out, 0);
    *state = s;
    hs1_wbuf_init(&s->data, 0, hs_tool_interval(ctx).end);
    s->data_init = true;
    int rc = hs_tool_param_duration(ctx, "relative_start", &s->rs);
    if (rc == HS_OK)
        rc = hs_tool_param_duration(ctx, "relative_end", &s->re);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "relative_window needs parameters 'relative_start' and "
                                 "'relative_end' (durations such as \"-60s\")");
    if (rc != HS_OK)
        return rc;
    if (s->rs >= s->re)
        return hs_tool_fail(ctx, "relative_window needs relative_start < relative_end");
    if (s->re > 0)
        return hs_tool_fail(ctx, "relative_window: relative_end must not be after the alignment "
                                 "time (windows in the future are not supported)");
    rc = hs_tool_param_bool(ctx, "values_only", &s->values_only);
    return rc == HS_ERR_NOTFOUND ? HS_OK : rc;
}

static void hs__rw_fini(void *state)
{
    hs__rw *s = state;
    if (s == NULL)
        return;
    if (s->data_init)
        hs1_wbuf_free(&s->data);
    hs_buf_free(&s->out);
}

/* What an alignment instant needs: the tool's state and its context. */
typedef struct hs__rw_run_ctx {
    hs_tool_ctx *ctx;
    hs__rw *s;
} hs__rw_run_ctx;

static int hs__rw_instant(void *ud, int64_t t, const uint8_t *v, size_t len)
{
    (void)v;
    (void)len;
    hs__rw_run_ctx *c = ud;
    hs__rw *s = c->s;
    int64_t lo = hs1_add_sat(t, s->rs), up = hs1_add_sat(t, s->re);
    size_t first = 0, end = 0;
    int rc;
    if (lo < up && (rc = hs1_wbuf_window(c->ctx, &s->data, lo, up, &first, &end)) != HS_OK)
        return rc;
    return hs1_wbuf_emit_list(c->ctx, "relative_window", &s->data, first, end, !s->values_only, t,
                              &s->out);
}

static int hs__rw_run(hs_tool_ctx *ctx, void *state)
{
    hs__rw_run_ctx c = {ctx, state};
    return hs_tu_each(ctx, HS_TOOL_ALIGNMENT, hs_tool_interval(ctx), hs__rw_instant, &c);
}

static const hs_tool_param hs__rw_params[] = {
    {"relative_start", HS_P_DURATION, NULL, "window start relative to each alignment time (<0)"},
    {"relative_end", HS_P_DURATION, NULL, "window end relative to each alignment time (<= 0)"},
    {"values_only", HS_P_BOOL, "true", "emit the values (false: [t_us, value] pairs)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_relative_window = {
    .name = "relative_window",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .alignment = true,
    .summary = "The values of the source in a window before each alignment time",
    .doc = "Takes an alignment stream. For every alignment instance at t in the job "
           "interval, emits (t, the list of the source's values with t + relative_start < "
           "t' <= t + relative_end) in time order, or with values_only false the list of "
           "[t', value] pairs (t' in microseconds). An empty window gives an empty list, as "
           "in HyperStream. The source is read from the start of the first window, so "
           "windows reaching back before the job interval are complete and the result does "
           "not depend on how an interval is cut into jobs. Parameters: relative_start and "
           "relative_end (durations such as \"-60s\" or seconds, required, relative_start < "
           "relative_end <= 0, as HyperStream's RelativeTimeInterval), values_only (bool, "
           "default true). Example: relative_start -10s, relative_end 0 and a source with "
           "values 1, 2, 3 at 20:00:05, 20:00:10, 20:00:15 give [2, 3] at an alignment time "
           "20:00:15 and [1, 2] at 20:00:10. Difference from HyperStream: the offsets are "
           "seconds; HyperStream reads its data over the job interval shifted by the offsets "
           "taken as days (its TimeInterval + RelativeTimeInterval bug), so windows near the "
           "start of a job miss data there.",
    .params = hs__rw_params,
    .init = hs__rw_init,
    .run = hs__rw_run,
    .fini = hs__rw_fini,
};
