/*
 * The window tool: event-time windows with a reducer, emitted at the
 * window's end.
 *
 * Tumbling and hopping windows lie on a fixed grid of ends (offset + k *
 * step from the Unix epoch), so a window belongs to the job that contains
 * its end and reads its data wherever it lies: results do not depend on job
 * cuts. A session window closes `gap` after its last instance; the job that
 * contains that instant emits it, after reading back to where the session
 * began.
 */
#include "functions.h"
#include "iot.h"
#include "tool_util.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_time.h"

#include <string.h>

typedef enum hs__wtype { HS__W_TUMBLING, HS__W_HOPPING, HS__W_SESSION } hs__wtype;

typedef struct hs__win {
    hs__wtype type;
    int64_t size, step, gap;
    int64_t origin; /* a grid point at or before HS_TIME_MIN */
    const char *key;
    size_t klen;
    hs_func f;
    hs_tvbuf pts;    /* owned: the buffered points */
    double *scratch; /* owned: room for reducers that reorder */
    size_t scap;
} hs__win;

static void hs__win_fini(void *state)
{
    hs__win *s = state;
    if (s == NULL)
        return;
    hs_func_release(&s->f);
    hs_tvbuf_free(&s->pts);
    hs_free(s->scratch);
    hs_free(s);
}

static int hs__win_dur(hs_tool_ctx *ctx, const char *name, const char *type, int64_t *out)
{
    int rc = hs_tool_param_duration(ctx, name, out);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "%s windows need parameter '%s'", type, name);
    if (rc != HS_OK)
        return rc;
    if (*out <= 0)
        return hs_tool_fail(ctx, "parameter '%s' must be a positive duration", name);
    return HS_OK;
}

static int hs__win_init(hs_tool_ctx *ctx, void **state)
{
    hs__win *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    *state = s;
    const char *type = "tumbling";
    int rc = hs_tool_param_string(ctx, "type", &type);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if (strcmp(type, "tumbling") == 0) {
        s->type = HS__W_TUMBLING;
        rc = hs__win_dur(ctx, "size", type, &s->size);
        s->step = s->size;
    } else if (strcmp(type, "hopping") == 0) {
        s->type = HS__W_HOPPING;
        rc = hs__win_dur(ctx, "size", type, &s->size);
        if (rc == HS_OK)
            rc = hs__win_dur(ctx, "slide", type, &s->step);
    } else if (strcmp(type, "session") == 0) {
        s->type = HS__W_SESSION;
        rc = hs__win_dur(ctx, "gap", type, &s->gap);
    } else {
        return hs_tool_fail(ctx, "window: unknown type '%s' (valid: tumbling, hopping, session)",
                            type);
    }
    if (rc != HS_OK)
        return rc;
    int64_t offset = 0;
    if ((rc = hs_tool_param_duration(ctx, "offset", &offset)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if (s->type != HS__W_SESSION) {
        /* The grid point at or before HS_TIME_MIN: r + q * step with q = floor((MIN - r) / step).
         */
        int64_t r = offset % s->step;
        if (r < 0)
            r += s->step;
        int64_t a = HS_TIME_MIN - r;
        int64_t q = a / s->step;
        if (a % s->step != 0 && a < 0)
            q--;
        s->origin = r + q * s->step;
    }
    if ((rc = hs_iot_param_key(ctx, "key", &s->key, &s->klen)) != HS_OK)
        return rc;
    return hs_func_lookup(ctx, "func", HS_FUNC_REDUCER, &s->f);
}

/* ------------------------------------------------------------------ reading points */

/* ------------------------------------------------------------------ tumbling and hopping */

static int hs__win_grid(hs_tool_ctx *ctx, hs__win *s)
{
    hs_interval iv = hs_tool_interval(ctx);
    int64_t e;
    if (!hs_grid_first(s->origin, s->step, iv.start, iv.end, &e))
        return HS_OK;
    hs_tool_iter it;
    int rc = hs_tool_iter_open(ctx, 0, (hs_interval){hs_iot_time_add(e, -s->size), iv.end}, &it);
    if (rc != HS_OK)
        return rc;
    int64_t tn;
    double vn;
    int pend = hs_iot_next_number(&it, s->key, s->klen, &tn, &vn);
    for (;;) {
        while (pend == 1 && tn <= e) {
            if ((rc = hs_tvbuf_push(&s->pts, tn, vn)) != HS_OK)
                goto done;
            pend = hs_iot_next_number(&it, s->key, s->klen, &tn, &vn);
        }
        if (pend < 0) {
            rc = pend;
            break;
        }
        int64_t lo = hs_iot_time_add(e, -s->size);
        hs_tvbuf_drop_through(&s->pts, lo);
        if (s->pts.n > s->pts.head) {
            rc = hs_func_reduce_emit(ctx, &s->f, e, s->pts.v + s->pts.head, s->pts.n - s->pts.head,
                                     &s->scratch, &s->scap);
            if (rc != HS_OK)
                break;
        }
        if (!hs_grid_next(s->step, iv.end, &e))
            break;
        lo = hs_iot_time_add(e, -s->size);
        hs_tvbuf_drop_through(&s->pts, lo);
        if (s->pts.n == s->pts.head) {
            /* Nothing buffered for the next window: skip to the first one the next point is in. */
            if (pend != 1)
                break;
            if (tn > e && !hs_grid_first(s->origin, s->step, tn - 1, iv.end, &e))
                break;
        }
    }
done:
    hs_tool_iter_close(&it);
    return rc;
}

/* ------------------------------------------------------------------ sessions */

/*
 * The first instance of the session that holds the last numeric instance at
 * or before a: 1 with *s0, or 0 when there is no instance at or before a.
 * Reads backwards in windows of at least gap, doubling, each forwards,
 * keeping only the earliest instance known to belong to the session.
 */
static int hs__win_session_start(hs_tool_ctx *ctx, hs__win *s, int64_t a, int64_t *s0)
{
    bool have_c = false; /* c: the earliest instance known to be in the session */
    int64_t c = 0, hi = a, floor = HS_TIME_MIN - 1;
    int64_t w = s->gap > HS_US_PER_S ? s->gap : HS_US_PER_S;
    while (hi > floor) {
        int64_t lo = hi - floor <= w ? floor : hi - w;
        hs_tool_iter it;
        int rc = hs_tool_iter_open(ctx, 0, (hs_interval){lo, hi}, &it);
        if (rc != HS_OK)
            return rc;
        /* Forwards through (lo, hi]: the first point, the last, and where the last run began. */
        bool any = false;
        int64_t first = 0, last = 0, run = 0, t;
        double d;
        int r;
        while ((r = hs_iot_next_number(&it, s->key, s->klen, &t, &d)) == 1) {
            if (!any) {
                first = run = t;
                any = true;
            } else if (t - last >= s->gap) {
                run = t;
            }
            last = t;
        }
        hs_tool_iter_close(&it);
        if (r < 0)
            return r;
        if (any) {
            if (have_c && c - last >= s->gap) {
                *s0 = c; /* the window ends with an earlier session */
                return 1;
            }
            if (run != first) {
                *s0 = run; /* a gap inside the window starts the session */
                return 1;
            }
            c = first;
            have_c = true;
        }
        if (have_c && c - lo >= s->gap && lo > floor) {
            *s0 = c; /* anything earlier is at least gap before c */
            return 1;
        }
        hi = lo;
        if (w < INT64_MAX / 4)
            w *= 2;
    }
    *s0 = c;
    return have_c ? 1 : 0;
}

/* Emits the session in the buffer when it closed (last + gap) within the job. */
static int hs__win_close(hs_tool_ctx *ctx, hs__win *s, hs_interval iv)
{
    if (s->pts.n == s->pts.head)
        return HS_OK;
    int64_t close = hs_iot_time_add(s->pts.t[s->pts.n - 1], s->gap);
    int rc = HS_OK;
    if (close > iv.start && close <= iv.end)
        rc = hs_func_reduce_emit(ctx, &s->f, close, s->pts.v + s->pts.head, s->pts.n - s->pts.head,
                                 &s->scratch, &s->scap);
    hs_tvbuf_clear(&s->pts);
    return rc;
}

static int hs__win_session(hs_tool_ctx *ctx, hs__win *s)
{
    hs_interval iv = hs_tool_interval(ctx);
    int64_t a = hs_iot_time_add(iv.start, -s->gap), s0 = 0;
    int rc = hs__win_session_start(ctx, s, a, &s0);
    if (rc < 0)
        return rc;
    int64_t from = rc == 1 ? s0 - 1 : a;
    hs_tool_iter it;
    rc = hs_tool_iter_open(ctx, 0, (hs_interval){from, iv.end}, &it);
    if (rc != HS_OK)
        return rc;
    int64_t t;
    double d;
    int r;
    while ((r = hs_iot_next_number(&it, s->key, s->klen, &t, &d)) == 1) {
        if (s->pts.n > s->pts.head && t - s->pts.t[s->pts.n - 1] >= s->gap &&
            (rc = hs__win_close(ctx, s, iv)) != HS_OK)
            break;
        if ((rc = hs_tvbuf_push(&s->pts, t, d)) != HS_OK)
            break;
    }
    if (rc == HS_OK && r < 0)
        rc = r;
    /* No instance follows the last one up to the job end: it closed if last + gap <= end. */
    if (rc == HS_OK)
        rc = hs__win_close(ctx, s, iv);
    hs_tool_iter_close(&it);
    return rc;
}

static int hs__win_run(hs_tool_ctx *ctx, void *state)
{
    hs__win *s = state;
    return s->type == HS__W_SESSION ? hs__win_session(ctx, s) : hs__win_grid(ctx, s);
}

static const hs_tool_param hs__win_params[] = {
    {"type", HS_P_STRING, "\"tumbling\"", "tumbling, hopping or session"},
    {"size", HS_P_DURATION, "null", "tumbling, hopping: the window's width"},
    {"slide", HS_P_DURATION, "null", "hopping: the distance between window ends"},
    {"gap", HS_P_DURATION, "null", "session: the silence that ends a session"},
    {"func", HS_P_FUNC, NULL,
     "reducer: mean, sum, count, min, max, median, std, first, last or range"},
    {"offset", HS_P_DURATION, "0", "tumbling, hopping: shifts the grid of window ends"},
    {"key", HS_P_STRING, "null", "reduce value[key] of map values"},
    {NULL, HS_P_ANY, NULL, NULL},
};

/* type is one of the kinds of window; func a reducer. */
static int hs__win_check(const char *name, const hs_value *v, hs_buf *err)
{
    static const char *const types[] = {"tumbling", "hopping", "session"};
    if (strcmp(name, "type") == 0)
        return hs_tool_check_choice(v, types, sizeof types / sizeof types[0], err);
    return hs_func_check_reducer(name, v, err);
}

const hs_tool_def hs_tool_window = {
    .name = "window",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Tumbling, hopping or session windows by event time, reduced with func",
    .doc = "Groups the numeric values (or value[key]) of the source into windows by their "
           "timestamps and emits (window end, func(values)) for every window with at least "
           "one value: a float64, or an integer for count. Windows are right-closed, "
           "(end - size, end]. tumbling: ends at offset + k*size for every integer k "
           "(counted from 1970-01-01, so size 1h gives whole UTC hours). hopping: ends at "
           "offset + k*slide, each covering size (overlapping when size > slide). session: "
           "a session is a run of values each less than gap after the previous one; it "
           "closes gap after its last value and is emitted at that instant (last + gap), by "
           "the job whose interval contains it, so a session that is still open at the end "
           "of a job is emitted by a later job. A window's data is read wherever it lies "
           "(before the job too, and back to the start of a session however long), so "
           "results do not depend on how an interval is cut into jobs. Non-numeric values "
           "are ignored. Parameters: type (default tumbling), size (tumbling, hopping), "
           "slide (hopping), gap (session), func (required), offset (default 0), key. "
           "Examples: {type: tumbling, size: 15m, func: mean}; {type: hopping, size: 1h, "
           "slide: 5m, func: max}; {type: session, gap: 10m, func: count} counts the "
           "events of each burst of activity. Not a HyperStream tool: HyperStream builds "
           "windows with sliding_window + sliding_apply.",
    .params = hs__win_params,
    .check_param = hs__win_check,
    .init = hs__win_init,
    .run = hs__win_run,
    .fini = hs__win_fini,
};
