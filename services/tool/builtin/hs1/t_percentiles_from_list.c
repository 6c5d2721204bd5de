/*
 * The percentiles_from_list tool: percentiles of each list of numbers, in
 * two versions side by side. 1.0 follows HyperStream's v0.0.2 (its own
 * percentile function: a list of one percentile gives one number); 0.0
 * follows HyperStream's v0.0.1 (numpy.percentile: the shape of the result
 * is the shape of the percentiles, so a list of one gives a list of one).
 */
#include "hs1.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"

#include <math.h>
#include <stdlib.h>

/* Largest number of segments (n_segments + 1 percentiles are computed). */
#define HS__PCT_MAX_SEGMENTS 1000000

typedef struct hs__pct {
    double *q; /* owned: the fractions (percentile / 100), never changed after init */
    size_t nq;
    bool scalar; /* one percentile given as a number (or a list of one): a scalar result */
    double *a;   /* owned: the sorted numbers of one instance */
    size_t cap;
    hs_buf out;
} hs__pct;

/*
 * Parses the parameters into *state. list_shape: the result has the shape of
 * the percentiles parameter (version 0.0: a list, even of one, gives a list);
 * otherwise one percentile, as a number or a list of one, gives a number.
 */
static int hs__pct_init_common(hs_tool_ctx *ctx, void **state, bool list_shape)
{
    hs__pct *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->out, 0);
    *state = s;
    const hs_value *p = hs_tool_param_value(ctx, "percentiles");
    if (p != NULL) {
        const hs_value *items = p;
        uint32_t n = 1;
        if (p->type == HS_V_ARRAY) {
            items = p->u.items;
            n = p->len;
        }
        if (n == 0)
            return hs_tool_fail(ctx, "percentiles_from_list: parameter 'percentiles' is empty");
        s->q = hs_malloc(n * sizeof *s->q);
        if (s->q == NULL)
            return HS_ERR_NOMEM;
        for (uint32_t i = 0; i < n; i++) {
            double d;
            if (items[i].type == HS_V_BOOL || hs_value_to_double(&items[i], &d) != HS_OK)
                return hs_tool_fail(ctx, "percentiles_from_list: 'percentiles' must be a number "
                                         "or a list of numbers");
            if (!(d >= 0 && d <= 100))
                return hs_tool_fail(ctx, "percentiles_from_list: percentiles must be in the "
                                         "range [0, 100]");
            s->q[i] = d / 100.0;
        }
        s->nq = n;
        s->scalar = list_shape ? p->type != HS_V_ARRAY : n == 1;
        return HS_OK;
    }
    int64_t nseg = 100;
    int rc = hs_tool_param_int(ctx, "n_segments", &nseg);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if (nseg < 1 || nseg > HS__PCT_MAX_SEGMENTS)
        return hs_tool_fail(ctx, "percentiles_from_list: n_segments must be 1 to %d, not %lld",
                            HS__PCT_MAX_SEGMENTS, (long long)nseg);
    s->nq = (size_t)nseg + 1;
    s->q = hs_malloc(s->nq * sizeof *s->q);
    if (s->q == NULL)
        return HS_ERR_NOMEM;
    /* As HyperStream: i * 100.0 / n_segments, then / 100. */
    for (size_t i = 0; i < s->nq; i++)
        s->q[i] = ((double)i * 100.0 / (double)nseg) / 100.0;
    return HS_OK;
}

static int hs__pct_init(hs_tool_ctx *ctx, void **state)
{
    return hs__pct_init_common(ctx, state, false);
}

static int hs__pct_init_0_0(hs_tool_ctx *ctx, void **state)
{
    return hs__pct_init_common(ctx, state, true);
}

static void hs__pct_fini(void *state)
{
    hs__pct *s = state;
    if (s == NULL)
        return;
    hs_free(s->q);
    hs_free(s->a);
    hs_buf_free(&s->out);
    hs_free(s);
}

/* Counts the numbers of v, nested lists flattened; false when v holds anything else. */
static bool hs__pct_count(const hs_value *v, size_t *n)
{
    if (v->type == HS_V_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++)
            if (!hs__pct_count(&v->u.items[i], n))
                return false;
        return true;
    }
    double d;
    if (hs_value_to_double(v, &d) != HS_OK)
        return false;
    (*n)++;
    return true;
}

static void hs__pct_collect(const hs_value *v, double *a, size_t *n)
{
    if (v->type == HS_V_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++)
            hs__pct_collect(&v->u.items[i], a, n);
        return;
    }
    hs_value_to_double(v, &a[(*n)++]);
}

/* Ascending, NaN last. */
static int hs__pct_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

static int hs__pct_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__pct *s = state;
    size_t n = 0;
    if (!hs__pct_count(v, &n)) {
        hs_tool_warn(ctx,
                     "percentiles_from_list: the value at %lld is not a list of numbers; "
                     "skipped",
                     (long long)t);
        return HS_OK;
    }
    if (n == 0) {
        hs_value nil = {.type = HS_V_NIL};
        return hs_tool_emit_value(ctx, t, &nil);
    }
    if (n > s->cap) {
        double *na = hs_realloc(s->a, n * sizeof *na);
        if (na == NULL)
            return HS_ERR_NOMEM;
        s->a = na;
        s->cap = n;
    }
    size_t k = 0;
    hs__pct_collect(v, s->a, &k);
    qsort(s->a, n, sizeof *s->a, hs__pct_cmp);
    hs_buf_reset(&s->out);
    int rc = s->scalar ? HS_OK : hs_mp_put_array(&s->out, (uint32_t)s->nq);
    for (size_t i = 0; rc == HS_OK && i < s->nq; i++) {
        /* Linear interpolation at k = (n - 1) * q, as HyperStream's percentile(). */
        double kk = (double)(n - 1) * s->q[i];
        double f = floor(kk), c = ceil(kk), r;
        if (f == c)
            r = s->a[(size_t)kk];
        else
            r = s->a[(size_t)f] * (c - kk) + s->a[(size_t)c] * (kk - f);
        rc = hs_mp_put_double(&s->out, r);
    }
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, s->out.data, s->out.len);
}

static const hs_tool_param hs__pct_params[] = {
    {"n_segments", HS_P_INT, "100", "percentiles at i * 100 / n_segments, i = 0..n_segments"},
    {"percentiles", HS_P_ANY, "null", "the percentiles (0-100), a list or one number"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_percentiles_from_list = {
    .name = "percentiles_from_list",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Percentiles of each list of numbers",
    .doc = "For every instance (t, v) of the source whose value is a list of numbers "
           "(nested lists are flattened; one number counts as a list of one), sorts the "
           "numbers a[0..n) and emits, for each percentile p, the linear interpolation at "
           "k = (n - 1) * p / 100: a[k] when k is whole, else a[floor k] * (ceil k - k) + "
           "a[ceil k] * (k - floor k), as floats; a list of results, or one float when "
           "percentiles is one number or a list of one. The empty list gives null, as in "
           "HyperStream. Parameters: percentiles (a number or list of numbers in [0, 100], "
           "default none) or n_segments (integer 1..1000000, default 100: the percentiles "
           "i * 100 / n_segments for i = 0..n_segments). Example: percentiles [25, 50, 75] "
           "over [0, 1, .., 39] gives [9.75, 19.5, 29.25] for every instance. Differences "
           "from HyperStream: every instance uses the percentiles as given (HyperStream "
           "divides its list by 100 in place on each instance, so the second instance "
           "above gives [0.0975, 0.195, 0.2925]); bad percentiles fail the job at the "
           "start; a value that is not a list of numbers is skipped with a warning; NaN "
           "sorts after every number.",
    .params = hs__pct_params,
    .init = hs__pct_init,
    .map = hs__pct_map,
    .fini = hs__pct_fini,
};

const hs_tool_def hs_tool_percentiles_from_list_0_0 = {
    .name = "percentiles_from_list",
    .version = "0.0.1",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Percentiles of each list of numbers (HyperStream v0.0.1: list in, list out)",
    .doc = "The older version, HyperStream's percentiles_from_list v0.0.1 (numpy.percentile). "
           "Computes as version 1.0 (same sorting, same linear interpolation at "
           "k = (n - 1) * p / 100, same defaults, empty list gives null); the difference is "
           "the shape of the result, which follows the shape of percentiles: a list of "
           "percentiles always gives a list, even a list of one; one number gives one float; "
           "n_segments gives a "
           "list. Example: percentiles [50] over [0, 1, .., 39] gives [19.5], where 1.0 gives "
           "19.5. Pin it with tool: {name: percentiles_from_list, version: \"0.0\"}; its "
           "streams are bound to 0.0 and never mix with those of 1.0.",
    .params = hs__pct_params,
    .init = hs__pct_init_0_0,
    .map = hs__pct_map,
    .fini = hs__pct_fini,
};
