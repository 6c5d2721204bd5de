/*
 * The sliding_apply tool: a reducer over the data of each window.
 *
 * Windows come from source 0 in time order; the data of source 1 is read
 * once, streaming, into a buffer that holds the numeric points a window
 * can still need: after a window (lo, up] the points at or before lo are
 * dropped, since windows normally have non-decreasing starts. A window that
 * starts before what was dropped reopens the data at its own start instead.
 */
#include "functions.h"
#include "tool_util.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"

typedef struct hs__sa {
    hs_func f;       /* the reducer */
    hs_tvbuf pts;    /* owned: the buffered numeric points of the data */
    double *scratch; /* owned: room for reducers that reorder */
    size_t scap;
    hs_tool_iter it; /* the data, open when it_open */
    bool it_open;
    bool done;    /* the data iterator reached the job end */
    int64_t from; /* the buffer holds every numeric point in (from, to] */
    int64_t to;
} hs__sa;

static int hs__sa_init(hs_tool_ctx *ctx, void **state)
{
    hs__sa *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    *state = s;
    if (hs_tool_nsources(ctx) != 2)
        return hs_tool_fail(ctx, "sliding_apply needs 2 sources (windows, data), not %zu",
                            hs_tool_nsources(ctx));
    return hs_func_lookup(ctx, "func", HS_FUNC_REDUCER, &s->f);
}

static void hs__sa_fini(void *state)
{
    hs__sa *s = state;
    if (s == NULL)
        return;
    if (s->it_open)
        hs_tool_iter_close(&s->it);
    hs_func_release(&s->f);
    hs_tvbuf_free(&s->pts);
    hs_free(s->scratch);
    hs_free(s);
}

/* Makes the buffer hold every numeric point of (lo, up] (up <= job end) from its head on. */
static int hs__sa_fill(hs_tool_ctx *ctx, hs__sa *s, int64_t lo, int64_t up, int64_t job_end)
{
    if (!s->it_open || lo < s->from) {
        if (s->it_open)
            hs_tool_iter_close(&s->it);
        s->it_open = false;
        hs_tvbuf_clear(&s->pts);
        int rc = hs_tool_iter_open(ctx, 1, (hs_interval){lo, job_end}, &s->it);
        if (rc != HS_OK)
            return rc;
        s->it_open = true;
        s->done = false;
        s->from = s->to = lo;
    } else {
        hs_tvbuf_drop_through(&s->pts, lo);
        s->from = lo;
    }
    while (!s->done && s->to < up) {
        int64_t t;
        const uint8_t *p;
        size_t len;
        int r = hs_tool_iter_next(&s->it, &t, &p, &len);
        if (r < 0)
            return r;
        if (r == 0) {
            s->done = true;
            s->to = job_end;
            break;
        }
        s->to = t;
        double d;
        if (t > s->from && hs_func_number(p, len, &d)) {
            int rc = hs_tvbuf_push(&s->pts, t, d);
            if (rc != HS_OK)
                return rc;
        }
    }
    return HS_OK;
}

/* The first buffered index at or after head whose time is after up. */
static size_t hs__sa_upper(const hs__sa *s, int64_t up)
{
    size_t lo = s->pts.head, hi = s->pts.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->pts.t[mid] <= up)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* What a window needs: the tool's state and its context. */
typedef struct hs__sa_run_ctx {
    hs_tool_ctx *ctx;
    hs__sa *s;
} hs__sa_run_ctx;

static int hs__sa_each(void *ud, int64_t t, int64_t lo, int64_t up)
{
    hs__sa_run_ctx *c = ud;
    hs__sa *s = c->s;
    int rc = hs__sa_fill(c->ctx, s, lo, up, hs_tool_interval(c->ctx).end);
    if (rc != HS_OK)
        return rc;
    size_t j = hs__sa_upper(s, up);
    if (j == s->pts.head)
        return HS_OK; /* a window with no numbers gives no output */
    return hs_func_reduce_emit(c->ctx, &s->f, t, s->pts.v + s->pts.head, j - s->pts.head,
                               &s->scratch, &s->scap);
}

static int hs__sa_run(hs_tool_ctx *ctx, void *state)
{
    hs__sa_run_ctx c = {ctx, state};
    return hs_tu_each_window(ctx, "sliding_apply", true, hs__sa_each, &c);
}

static const hs_tool_param hs__sa_params[] = {
    {"func", HS_P_FUNC, NULL,
     "reducer: mean, sum, count, min, max, median, std, first, last or range"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_sliding_apply = {
    .name = "sliding_apply",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 2,
    .max_sources = 2,
    .summary = "Applies a reducer (mean, sum, ...) to the data of each window",
    .doc = "Sources: [windows, data]. For each window instance (t, [lo, up]) of the first "
           "source in the job interval (values as sliding_window writes them, in "
           "microseconds), applies func to the numbers of the data source with "
           "lo < t' <= up and emits (t, result): a float64, or an integer for count. "
           "Numbers are integers, floats and bools (0/1); other values are ignored, and a "
           "window with no numbers gives no output. Parameter: func (required), one of "
           "mean, sum, count, min, max, median, std (population), first, last, range "
           "(max - min). Example: sliding_window {width: 60s} then sliding_apply "
           "{func: mean} gives per-minute means at every whole minute. Difference from "
           "HyperStream: data is read from the start of the earliest window, not only "
           "over the job interval, so a window that reaches back before the job sees all "
           "its data and results do not depend on how the interval is cut into jobs; data "
           "after the job end is never read.",
    .params = hs__sa_params,
    .check_param = hs_func_check_reducer,
    .init = hs__sa_init,
    .run = hs__sa_run,
    .fini = hs__sa_fini,
    .lookback_from_windows = true,
};
