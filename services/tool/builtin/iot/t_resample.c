/*
 * The resample tool: one value per point of a regular time grid, from the
 * instances around it (last value, linear interpolation or window mean).
 *
 * Every output depends on the data near its grid point only, and the tool
 * reads that data wherever it lies (before the job for the last value and
 * the left neighbour, after it for the right neighbour), so outputs do not
 * depend on how an interval is cut into jobs.
 */
#include "iot.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <string.h>

typedef enum hs__rs_method { HS__RS_LAST, HS__RS_LINEAR, HS__RS_MEAN } hs__rs_method;

typedef struct hs__rs {
    int64_t every, first;
    int64_t max_gap; /* < 0: no bound */
    hs__rs_method method;
    const char *key;
    size_t klen;
    hs_buf cur; /* LAST: the value carried */
} hs__rs;

static void hs__rs_fini(void *state)
{
    hs__rs *s = state;
    if (s != NULL)
        hs_buf_free(&s->cur);
}

static int hs__rs_init(hs_tool_ctx *ctx, void **state)
{
    hs__rs *s = hs_arena_alloc(hs_tool_arena(ctx), sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    hs_buf_init(&s->cur, 0);
    *state = s;
    int rc = hs_tool_param_duration(ctx, "every", &s->every);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "resample needs parameter 'every' (the grid step)");
    if (rc != HS_OK)
        return rc;
    if (s->every <= 0)
        return hs_tool_fail(ctx, "parameter 'every' of resample must be a positive duration");
    s->first = HS_TIME_MIN;
    if ((rc = hs_tool_param_time(ctx, "first", &s->first)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    s->max_gap = -1;
    if ((rc = hs_tool_param_duration(ctx, "max_gap", &s->max_gap)) == HS_OK) {
        if (s->max_gap < 0)
            return hs_tool_fail(ctx, "parameter 'max_gap' of resample must not be negative");
    } else if (rc != HS_ERR_NOTFOUND) {
        return rc;
    }
    const char *m = "last";
    if ((rc = hs_tool_param_string(ctx, "method", &m)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if (strcmp(m, "last") == 0)
        s->method = HS__RS_LAST;
    else if (strcmp(m, "linear") == 0)
        s->method = HS__RS_LINEAR;
    else if (strcmp(m, "mean") == 0)
        s->method = HS__RS_MEAN;
    else
        return hs_tool_fail(ctx, "resample: unknown method '%s' (valid: last, linear, mean)", m);
    return hs_iot_param_key(ctx, "key", &s->key, &s->klen);
}

/* The predicate for hs_iot_find_last: the value has the key. */
static bool hs__rs_has(void *ud, int64_t t, const uint8_t *v, size_t len)
{
    (void)t;
    hs__rs *s = ud;
    const uint8_t *fv;
    size_t fl;
    return hs_iot_field(v, len, s->key, s->klen, &fv, &fl);
}

/* The earliest instant a value may have to still count at p (max_gap), as a floor. */
static int64_t hs__rs_floor(const hs__rs *s, int64_t p)
{
    return s->max_gap < 0 ? HS_TIME_MIN - 1 : hs_iot_time_add(p, -s->max_gap - 1);
}

/* Moves *p to the first grid point at or after t; false when there is none up to end. */
static bool hs__rs_jump(const hs__rs *s, int64_t t, int64_t end, int64_t *p)
{
    return hs_grid_first(s->first, s->every, t - 1, end, p);
}

static int hs__rs_last(hs_tool_ctx *ctx, hs__rs *s, int64_t p, int64_t end)
{
    int64_t tc = 0;
    int have = hs_iot_find_last(ctx, 0, p, hs__rs_floor(s, p), hs__rs_has, s, &tc, &s->cur);
    if (have < 0)
        return have;
    if (have == 1 && s->key != NULL) {
        /* Carry the field alone, as the instances read below are carried. */
        const uint8_t *fv;
        size_t fl;
        hs_iot_field(s->cur.data, s->cur.len, s->key, s->klen, &fv, &fl);
        memmove(s->cur.data, fv, fl);
        s->cur.len = fl;
    }
    hs_tool_iter it;
    int rc = hs_tool_iter_open(ctx, 0, (hs_interval){p, end}, &it);
    if (rc != HS_OK)
        return rc;
    /* The next instance with a subject after p, read ahead. */
    int64_t tn = 0;
    const uint8_t *vn = NULL;
    size_t ln = 0;
    int more = 1;
    bool pending = false;
    for (;;) {
        /* Take every instance up to p into the carried value. */
        for (;;) {
            if (!pending && more == 1) {
                const uint8_t *v;
                size_t len;
                int64_t t;
                while ((more = hs_tool_iter_next(&it, &t, &v, &len)) == 1) {
                    if (hs_iot_field(v, len, s->key, s->klen, &vn, &ln)) {
                        tn = t;
                        pending = true;
                        break;
                    }
                }
                if (more < 0) {
                    rc = more;
                    goto done;
                }
            }
            if (!pending || tn > p)
                break;
            hs_buf_reset(&s->cur);
            if ((rc = hs_buf_append(&s->cur, vn, ln)) != HS_OK)
                goto done;
            tc = tn;
            have = 1;
            pending = false;
        }
        bool fresh = have && (s->max_gap < 0 || p - tc <= s->max_gap);
        if (fresh) {
            if ((rc = hs_tool_emit(ctx, p, s->cur.data, s->cur.len)) != HS_OK)
                goto done;
            if (!hs_grid_next(s->every, end, &p))
                break;
        } else if (!pending || !hs__rs_jump(s, tn, end, &p)) {
            break; /* nothing more to carry */
        }
    }
done:
    hs_tool_iter_close(&it);
    return rc;
}

static int hs__rs_linear(hs_tool_ctx *ctx, hs__rs *s, int64_t p, int64_t end)
{
    int64_t t0 = 0, t1 = 0;
    double v0 = 0, v1 = 0;
    int hl = hs_iot_find_last_number(ctx, 0, p, hs__rs_floor(s, p), s->key, s->klen, NULL, NULL,
                                     &t0, &v0);
    if (hl < 0)
        return hl;
    /* Right neighbours may lie after the job: up to max_gap after it, or anywhere. */
    int64_t lim = s->max_gap < 0 ? HS_TIME_MAX : hs_iot_time_add(end, s->max_gap);
    hs_tool_iter it;
    int rc = hs_tool_iter_open(ctx, 0, (hs_interval){p, lim}, &it);
    if (rc != HS_OK)
        return rc;
    int hr = hs_iot_next_number(&it, s->key, s->klen, &t1, &v1);
    for (;;) {
        while (hr == 1 && t1 <= p) {
            t0 = t1;
            v0 = v1;
            hl = 1;
            hr = hs_iot_next_number(&it, s->key, s->klen, &t1, &v1);
        }
        if (hr < 0) {
            rc = hr;
            break;
        }
        bool emitted = false;
        if (hl == 1 && t0 == p) {
            rc = hs_tool_emit_double(ctx, p, v0);
            emitted = true;
        } else if (hl == 1 && hr == 1 && (s->max_gap < 0 || t1 - t0 <= s->max_gap)) {
            double f = (double)(p - t0) / (double)(t1 - t0);
            rc = hs_tool_emit_double(ctx, p, v0 + (v1 - v0) * f);
            emitted = true;
        }
        if (rc != HS_OK)
            break;
        if (emitted) {
            if (!hs_grid_next(s->every, end, &p))
                break;
        } else if (hr != 1 || !hs__rs_jump(s, t1, end, &p)) {
            break; /* no right neighbour: nothing more can be interpolated */
        }
    }
    hs_tool_iter_close(&it);
    return rc;
}

static int hs__rs_mean(hs_tool_ctx *ctx, hs__rs *s, int64_t p0, int64_t end)
{
    hs_tool_iter it;
    int rc = hs_tool_iter_open(ctx, 0, (hs_interval){hs_iot_time_add(p0, -s->every), end}, &it);
    if (rc != HS_OK)
        return rc;
    int64_t win = 0, t;
    double sum = 0, d;
    size_t n = 0;
    int r;
    while ((r = hs_iot_next_number(&it, s->key, s->klen, &t, &d)) == 1) {
        int64_t p;
        if (!hs__rs_jump(s, t, end, &p))
            break; /* cannot happen for t <= end on the grid's side */
        if (n > 0 && p != win) {
            if ((rc = hs_tool_emit_double(ctx, win, sum / (double)n)) != HS_OK)
                break;
            sum = 0;
            n = 0;
        }
        win = p;
        sum += d;
        n++;
    }
    if (rc == HS_OK && r < 0)
        rc = r;
    if (rc == HS_OK && n > 0)
        rc = hs_tool_emit_double(ctx, win, sum / (double)n);
    hs_tool_iter_close(&it);
    return rc;
}

static int hs__rs_run(hs_tool_ctx *ctx, void *state)
{
    hs__rs *s = state;
    hs_interval iv = hs_tool_interval(ctx);
    int64_t p;
    if (!hs_grid_first(s->first, s->every, iv.start, iv.end, &p))
        return HS_OK;
    switch (s->method) {
    case HS__RS_LAST:
        return hs__rs_last(ctx, s, p, iv.end);
    case HS__RS_LINEAR:
        return hs__rs_linear(ctx, s, p, iv.end);
    case HS__RS_MEAN:
        return hs__rs_mean(ctx, s, p, iv.end);
    }
    return HS_OK;
}

static const hs_tool_param hs__rs_params[] = {
    {"every", HS_P_DURATION, NULL, "grid step (positive), e.g. \"1m\""},
    {"first", HS_P_TIME, "\"0001-01-01T00:00:00Z\"", "an instant of the grid"},
    {"method", HS_P_STRING, "\"last\"", "last, linear or mean"},
    {"max_gap", HS_P_DURATION, "null",
     "last: the oldest value carried; linear: the widest gap interpolated (default: no bound)"},
    {"key", HS_P_STRING, "null", "resample value[key] of map values"},
    {NULL, HS_P_ANY, NULL, NULL},
};

/* method is one of the ways to fill a slot. */
static int hs__rs_check(const char *name, const hs_value *v, hs_buf *err)
{
    static const char *const methods[] = {"last", "linear", "mean"};
    if (strcmp(name, "method") == 0)
        return hs_tool_check_choice(v, methods, sizeof methods / sizeof methods[0], err);
    return HS_OK;
}

const hs_tool_def hs_tool_resample = {
    .name = "resample",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "One value per point of a regular grid: last value, linear interpolation or mean",
    .doc = "For every grid point p = first + k*every in the job interval, emits (p, x) where "
           "x depends on method. last (default): the last value at or before p, of any type "
           "(or its field key), when it is at most max_gap old. linear: the numeric value at "
           "p interpolated between the last numeric value at or before p (t0, v0) and the "
           "first after it (t1, v1): v0 + (v1 - v0) * (p - t0) / (t1 - t0), exactly v0 when "
           "t0 = p, nothing when either side is missing or t1 - t0 exceeds max_gap (no "
           "extrapolation). mean: the mean of the numeric values in (p - every, p], nothing "
           "for an empty window (max_gap does not apply). linear and mean emit float64; "
           "non-numeric values are ignored by them. The last value and the left neighbour "
           "are read back before the job however far they lie (bounded by max_gap), and "
           "right neighbours after the job end (up to max_gap after it, or the next one "
           "however far), so results do not depend on job cuts; in online mode a grid point "
           "near the end of a job is interpolated only if its right neighbour had arrived "
           "when the job ran, so delay the window (window end <= -max_gap) or use last. "
           "Parameters: every (required), first (default 0001-01-01, so grids fall on whole "
           "minutes, hours and UTC days), method, max_gap, key. Example: {every: 1m, "
           "method: linear, max_gap: 10m} turns irregular readings into a per-minute series "
           "that stays empty across outages of more than 10 minutes. Not a HyperStream "
           "tool.",
    .params = hs__rs_params,
    .check_param = hs__rs_check,
    .init = hs__rs_init,
    .run = hs__rs_run,
    .fini = hs__rs_fini,
};
