/* The sliding_listify tool: the values of the data source in each window, as a list. */
#include "hs1.h"
#include "tool_util.h"

#include "hs_alloc.h"
#include "hs_error.h"

typedef struct hs__sl {
    bool include_time; /* [t_us, value] pairs rather than values */
    hs1_wbuf data;     /* source 1, buffered */
    hs_buf out;
} hs__sl;

static int hs__sl_init(hs_tool_ctx *ctx, void **state)
{
    hs__sl *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->out, 0);
    hs1_wbuf_init(&s->data, 1, hs_tool_interval(ctx).end);
    *state = s;
    if (hs_tool_nsources(ctx) != 2)
        return hs_tool_fail(ctx, "sliding_listify needs 2 sources (windows, data), not %zu",
                            hs_tool_nsources(ctx));
    int rc = hs_tool_param_bool(ctx, "include_time", &s->include_time);
    return rc == HS_ERR_NOTFOUND ? HS_OK : rc;
}

static void hs__sl_fini(void *state)
{
    hs__sl *s = state;
    if (s == NULL)
        return;
    hs1_wbuf_free(&s->data);
    hs_buf_free(&s->out);
    hs_free(s);
}

/* What a window needs: the tool's state and its context. */
typedef struct hs__sl_run_ctx {
    hs_tool_ctx *ctx;
    hs__sl *s;
} hs__sl_run_ctx;

static int hs__sl_window(void *ud, int64_t t, int64_t lo, int64_t up)
{
    hs__sl_run_ctx *c = ud;
    size_t first, end;
    int rc = hs1_wbuf_window(c->ctx, &c->s->data, lo, up, &first, &end);
    if (rc != HS_OK || first == end)
        return rc; /* empty windows give nothing, as HyperStream */
    return hs1_wbuf_emit_list(c->ctx, "sliding_listify", &c->s->data, first, end,
                              c->s->include_time, t, &c->s->out);
}

static int hs__sl_run(hs_tool_ctx *ctx, void *state)
{
    hs__sl_run_ctx c = {ctx, state};
    return hs_tu_each_window(ctx, "sliding_listify", true, hs__sl_window, &c);
}

static const hs_tool_param hs__sl_params[] = {
    {"include_time", HS_P_BOOL, "false", "emit [t_us, value] pairs rather than values"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_sliding_listify = {
    .name = "sliding_listify",
    .version = "0.0.4",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 2,
    .max_sources = 2,
    .summary = "The values of the data in each window, as a list",
    .doc = "Sources: [windows, data]. For each window instance (t, [lo, up]) of the first "
           "source in the job interval (values as sliding_window or aligning_window write "
           "them, in microseconds), emits (t, the list of the values of the data source "
           "with lo < t' <= up), in time order, or with include_time the list of [t', "
           "value] pairs (t' in microseconds). Empty windows give no output, as in "
           "HyperStream. Data is read from the start of the first window, so a window that "
           "reaches back before the job interval sees all its data; data after the job end "
           "is never read. Parameter: include_time (bool, default false). Example: "
           "sliding_window {width: 10s} then sliding_listify over data 1, 2, 3 at 20:00:05, "
           "20:00:10, 20:00:15 gives [1, 2] at 20:00:10 and [3] at 20:00:20. Difference "
           "from HyperStream: a window that starts before an earlier window (windows out of "
           "order) still sees all its data, where HyperStream, reading from the first "
           "window's start only, truncates it.",
    .params = hs__sl_params,
    .init = hs__sl_init,
    .run = hs__sl_run,
    .fini = hs__sl_fini,
    .lookback_from_windows = true,
};
