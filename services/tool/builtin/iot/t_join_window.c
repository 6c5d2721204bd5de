/*
 * The join_window tool: a stream-stream join in time. Each instance of the
 * left source (0) is paired with the instance of the right source (1)
 * nearest in time, or with all of them, within a tolerance.
 *
 * The right source is read once, forwards, into a window of the instances
 * within tolerance of the current left instance.
 */
#include "iot.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <string.h>

typedef struct hs__jw {
    int64_t tol;
    bool all;         /* mode all */
    bool keep;        /* unmatched: keep */
    const char *left; /* output keys */
    const char *right;
    hs_tu_ibuf win; /* owned: the right instances in [t - tol, t + tol] */
    hs_buf out;
} hs__jw;

static void hs__jw_fini(void *state)
{
    hs__jw *s = state;
    if (s == NULL)
        return;
    hs_tu_ibuf_free(&s->win);
    hs_buf_free(&s->out);
    hs_free(s);
}

static int hs__jw_init(hs_tool_ctx *ctx, void **state)
{
    hs__jw *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_tu_ibuf_init(&s->win);
    hs_buf_init(&s->out, 0);
    *state = s;
    if (hs_tool_nsources(ctx) != 2)
        return hs_tool_fail(ctx, "join_window needs 2 sources (left, right), not %zu",
                            hs_tool_nsources(ctx));
    int rc = hs_tool_param_duration(ctx, "tolerance", &s->tol);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "join_window needs parameter 'tolerance'");
    if (rc != HS_OK)
        return rc;
    if (s->tol < 0)
        return hs_tool_fail(ctx, "parameter 'tolerance' must not be negative");
    const char *mode = "nearest", *unmatched = "drop";
    s->left = "left";
    s->right = "right";
    if ((rc = hs_tool_param_string(ctx, "mode", &mode)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if ((rc = hs_tool_param_string(ctx, "unmatched", &unmatched)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if ((rc = hs_tool_param_string(ctx, "left", &s->left)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if ((rc = hs_tool_param_string(ctx, "right", &s->right)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if (strcmp(mode, "all") == 0)
        s->all = true;
    else if (strcmp(mode, "nearest") != 0)
        return hs_tool_fail(ctx, "join_window: unknown mode '%s' (valid: nearest, all)", mode);
    if (strcmp(unmatched, "keep") == 0)
        s->keep = true;
    else if (strcmp(unmatched, "drop") != 0)
        return hs_tool_fail(ctx, "join_window: unknown unmatched '%s' (valid: drop, keep)",
                            unmatched);
    if (s->left[0] == '\0' || s->right[0] == '\0' || strcmp(s->left, s->right) == 0)
        return hs_tool_fail(ctx, "join_window: 'left' and 'right' must be two different, "
                                 "non-empty names");
    return HS_OK;
}

/* The index in [head, n) of the right instance nearest t (the earlier on a tie). */
static size_t hs__jw_nearest(const hs_tu_ibuf *w, int64_t t)
{
    size_t lo = w->head, hi = w->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->t[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* lo: the first at or after t. */
    if (lo == w->n)
        return lo - 1;
    if (lo == w->head)
        return lo;
    return t - w->t[lo - 1] <= w->t[lo] - t ? lo - 1 : lo;
}

static int hs__jw_emit(hs_tool_ctx *ctx, hs__jw *s, int64_t t, const uint8_t *v, size_t len)
{
    const hs_tu_ibuf *w = &s->win;
    bool match = w->n > w->head;
    if (!match && !s->keep)
        return HS_OK;
    hs_buf_reset(&s->out);
    int rc = hs_mp_put_map(&s->out, 2);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&s->out, s->left);
    if (rc == HS_OK)
        rc = hs_mp_put_raw(&s->out, v, len);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&s->out, s->right);
    if (rc == HS_OK && s->all) {
        rc = hs_mp_put_array(&s->out, (uint32_t)(w->n - w->head));
        for (size_t i = w->head; rc == HS_OK && i < w->n; i++)
            rc = hs_mp_put_raw(&s->out, hs_tu_ibuf_value(w, i), w->len[i]);
    } else if (rc == HS_OK && match) {
        size_t i = hs__jw_nearest(w, t);
        rc = hs_mp_put_raw(&s->out, hs_tu_ibuf_value(w, i), w->len[i]);
    } else if (rc == HS_OK) {
        rc = hs_mp_put_nil(&s->out);
    }
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, s->out.data, s->out.len);
}

static int hs__jw_run(hs_tool_ctx *ctx, void *state)
{
    hs__jw *s = state;
    hs_interval iv = hs_tool_interval(ctx);
    hs_tool_iter lit, rit;
    int rc = hs_tool_iter_open(ctx, 0, iv, &lit);
    if (rc != HS_OK)
        return rc;
    /* Right instances within tolerance of the job's left ones: [start - tol, end + tol]. */
    int64_t rlo = hs_iot_time_add(iv.start, -s->tol), rhi = hs_iot_time_add(iv.end, s->tol);
    rc = hs_tool_iter_open(ctx, 1, (hs_interval){rlo, rhi}, &rit);
    if (rc != HS_OK) {
        hs_tool_iter_close(&lit);
        return rc;
    }
    int64_t t, tr = 0;
    const uint8_t *v, *vr = NULL;
    size_t len, lr = 0;
    int rr = hs_tool_iter_next(&rit, &tr, &vr, &lr);
    int r;
    while ((r = hs_tool_iter_next(&lit, &t, &v, &len)) == 1) {
        int64_t hi = hs_iot_time_add(t, s->tol), lo = hs_iot_time_add(t, -s->tol);
        while (rr == 1 && tr <= hi) {
            if (tr >= lo && (rc = hs_tu_ibuf_push(&s->win, tr, vr, lr)) != HS_OK)
                goto done;
            rr = hs_tool_iter_next(&rit, &tr, &vr, &lr);
        }
        if (rr < 0) {
            rc = rr;
            goto done;
        }
        while (s->win.head < s->win.n && s->win.t[s->win.head] < lo)
            s->win.head++;
        if ((rc = hs__jw_emit(ctx, s, t, v, len)) != HS_OK)
            goto done;
    }
    if (r < 0)
        rc = r;
done:
    hs_tool_iter_close(&rit);
    hs_tool_iter_close(&lit);
    return rc;
}

static const hs_tool_param hs__jw_params[] = {
    {"tolerance", HS_P_DURATION, NULL, "the largest time difference of a pair (>= 0)"},
    {"mode", HS_P_STRING, "\"nearest\"", "nearest (one right value) or all (a list)"},
    {"unmatched", HS_P_STRING, "\"drop\"",
     "a left instance without a match: drop, or keep (right null / [])"},
    {"left", HS_P_STRING, "\"left\"", "the output key of the left value"},
    {"right", HS_P_STRING, "\"right\"", "the output key of the right value"},
    {NULL, HS_P_ANY, NULL, NULL},
};

/* mode is nearest or all; unmatched drop or keep. */
static int hs__jw_check(const char *name, const hs_value *v, hs_buf *err)
{
    static const char *const modes[] = {"nearest", "all"}, *const unmatched[] = {"drop", "keep"};
    if (strcmp(name, "mode") == 0)
        return hs_tool_check_choice(v, modes, sizeof modes / sizeof modes[0], err);
    if (strcmp(name, "unmatched") == 0)
        return hs_tool_check_choice(v, unmatched, sizeof unmatched / sizeof unmatched[0], err);
    return HS_OK;
}

const hs_tool_def hs_tool_join_window = {
    .name = "join_window",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 2,
    .max_sources = 2,
    .summary = "Joins two streams in time: each left instance with the nearest right one "
               "within a tolerance",
    .doc = "Sources: [left, right]. For each instance (t, v0) of the left source in the job "
           "interval, finds the instances of the right source with |t1 - t| <= tolerance "
           "and emits (t, {left: v0, right: v1}): with mode nearest (default) v1 is the "
           "value of the nearest one (the earlier on a tie); with mode all, right is the "
           "list of all their values in time order. A left instance without any match is "
           "dropped, or with unmatched: keep emitted with right null (nearest) or [] (all). "
           "The output keys are configurable (left, right). Right instances are read from "
           "tolerance before the job start to tolerance after its end, so results do not "
           "depend on job cuts; online, delay the window by the tolerance (window end <= "
           "-tolerance) so that right instances after a left one have arrived when its job "
           "runs. Parameters: tolerance (required), mode, unmatched, left, right. Example: "
           "{tolerance: 2s, left: temp, right: hum} pairs each temperature reading with the "
           "humidity reading taken within 2 s of it. Not a HyperStream tool: its "
           "aligned_merge joins on equal timestamps only (tolerance 0 here).",
    .params = hs__jw_params,
    .check_param = hs__jw_check,
    .init = hs__jw_init,
    .run = hs__jw_run,
    .fini = hs__jw_fini,
};
