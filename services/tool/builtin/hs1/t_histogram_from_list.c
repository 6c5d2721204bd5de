/* The histogram_from_list tool: a histogram of each list of numbers (or of categories). */
#include "hs1.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Largest number of breaks generated from first_break/break_width/n_breaks. */
#define HS__HIST_MAX_BREAKS 1000000

typedef struct hs__hist {
    bool categorical;
    double *breaks; /* owned, sorted ascending */
    size_t nbreaks;
    int64_t *counts; /* owned: nbreaks + 1 bins */
    hs_buf out;
} hs__hist;

static int hs__hist_init(hs_tool_ctx *ctx, void **state)
{
    hs__hist *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->out, 0);
    *state = s;
    int rc = hs_tool_param_bool(ctx, "categorical", &s->categorical);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if (s->categorical)
        return HS_OK;
    const hs_value *breaks = hs_tool_param_value(ctx, "breaks");
    if (breaks != NULL) {
        if (breaks->type != HS_V_ARRAY)
            return hs_tool_fail(ctx, "histogram_from_list: parameter 'breaks' must be a list of "
                                     "numbers");
        s->nbreaks = breaks->len;
        s->breaks = hs_malloc((s->nbreaks ? s->nbreaks : 1) * sizeof *s->breaks);
        if (s->breaks == NULL)
            return HS_ERR_NOMEM;
        for (uint32_t i = 0; i < breaks->len; i++) {
            if (hs_value_to_double(&breaks->u.items[i], &s->breaks[i]) != HS_OK ||
                breaks->u.items[i].type == HS_V_BOOL)
                return hs_tool_fail(ctx, "histogram_from_list: breaks[%u] is not a number", i);
        }
    } else {
        double first = 0, width = 1;
        int64_t n = 101;
        if ((rc = hs_tool_param_double(ctx, "first_break", &first)) != HS_OK &&
            rc != HS_ERR_NOTFOUND)
            return rc;
        if ((rc = hs_tool_param_double(ctx, "break_width", &width)) != HS_OK &&
            rc != HS_ERR_NOTFOUND)
            return rc;
        if ((rc = hs_tool_param_int(ctx, "n_breaks", &n)) != HS_OK && rc != HS_ERR_NOTFOUND)
            return rc;
        if (n < 0 || n > HS__HIST_MAX_BREAKS)
            return hs_tool_fail(ctx, "histogram_from_list: n_breaks must be 0 to %d, not %lld",
                                HS__HIST_MAX_BREAKS, (long long)n);
        s->nbreaks = (size_t)n;
        s->breaks = hs_malloc((s->nbreaks ? s->nbreaks : 1) * sizeof *s->breaks);
        if (s->breaks == NULL)
            return HS_ERR_NOMEM;
        for (size_t i = 0; i < s->nbreaks; i++)
            s->breaks[i] = first + (double)i * width;
    }
    for (size_t i = 1; i < s->nbreaks; i++)
        if (!(s->breaks[i] >= s->breaks[i - 1]))
            return hs_tool_fail(ctx,
                                "histogram_from_list: the breaks must increase "
                                "(break %zu is below the one before)",
                                i);
    s->counts = hs_malloc((s->nbreaks + 1) * sizeof *s->counts);
    return s->counts != NULL ? HS_OK : HS_ERR_NOMEM;
}

static void hs__hist_fini(void *state)
{
    hs__hist *s = state;
    if (s == NULL)
        return;
    hs_free(s->breaks);
    hs_free(s->counts);
    hs_buf_free(&s->out);
    hs_free(s);
}

/* The bin of x: the number of breaks below it, so bin i is (break[i-1], break[i]]. */
static size_t hs__hist_bin(const hs__hist *s, double x)
{
    size_t lo = 0, hi = s->nbreaks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->breaks[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int hs__hist_numeric(hs_tool_ctx *ctx, hs__hist *s, int64_t t, const hs_value *v)
{
    const hs_value *items = v;
    uint32_t n = 1;
    if (v->type == HS_V_ARRAY) {
        items = v->u.items;
        n = v->len;
    }
    memset(s->counts, 0, (s->nbreaks + 1) * sizeof *s->counts);
    for (uint32_t i = 0; i < n; i++) {
        double x;
        if (hs_value_to_double(&items[i], &x) != HS_OK) {
            hs_tool_warn(ctx,
                         "histogram_from_list: the value at %lld is not a list of numbers; "
                         "skipped",
                         (long long)t);
            return HS_OK;
        }
        if (!isnan(x))
            s->counts[hs__hist_bin(s, x)]++;
    }
    hs_buf_reset(&s->out);
    int rc = hs_mp_put_array(&s->out, (uint32_t)(s->nbreaks + 1));
    for (size_t i = 0; rc == HS_OK && i <= s->nbreaks; i++)
        rc = hs_mp_put_int(&s->out, s->counts[i]);
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, s->out.data, s->out.len);
}

typedef struct hs__cat {
    const char *key; /* in the scratch arena */
    size_t len;
    int64_t count;
} hs__cat;

static int hs__cat_cmp(const void *a, const void *b)
{
    const hs__cat *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Appends key to out with '.' -> "__dot__" and '$' -> "__dollar__" (keys safe for MongoDB). */
static int hs__safe_key(hs_buf *out, const char *s, size_t len)
{
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < len; i++) {
        if (s[i] == '.')
            rc = hs_buf_append(out, "__dot__", 7);
        else if (s[i] == '$')
            rc = hs_buf_append(out, "__dollar__", 10);
        else
            rc = hs_buf_putc(out, (uint8_t)s[i]);
    }
    return rc;
}

static int hs__hist_categorical(hs_tool_ctx *ctx, hs__hist *s, int64_t t, const hs_value *v)
{
    if (v->type != HS_V_ARRAY) {
        hs_tool_warn(ctx, "histogram_from_list: the value at %lld is not a list; skipped",
                     (long long)t);
        return HS_OK;
    }
    hs_arena *a = hs_tool_scratch(ctx);
    hs__cat *cats = hs_arena_alloc(a, (v->len ? v->len : 1) * sizeof *cats);
    if (cats == NULL)
        return HS_ERR_NOMEM;
    size_t n = 0;
    hs_buf key;
    hs_buf_init(&key, 0);
    int rc = HS_OK;
    for (uint32_t i = 0; rc == HS_OK && i < v->len; i++) {
        char buf[48];
        const char *k;
        size_t klen;
        if (!hs1_key_text(&v->u.items[i], buf, &k, &klen)) {
            hs_tool_warn(ctx,
                         "histogram_from_list: an item at %lld is a list, map or binary "
                         "and is not counted",
                         (long long)t);
            continue;
        }
        hs_buf_reset(&key);
        rc = hs__safe_key(&key, k, klen);
        if (rc != HS_OK)
            break;
        char *copy = hs_arena_strndup(a, (const char *)key.data, key.len);
        if (copy == NULL) {
            rc = HS_ERR_NOMEM;
            break;
        }
        cats[n++] = (hs__cat){copy, key.len, 1};
    }
    hs_buf_free(&key);
    if (rc != HS_OK)
        return rc;
    /* Sorted by key; equal keys merge into one count. */
    qsort(cats, n, sizeof *cats, hs__cat_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && hs__cat_cmp(&cats[m - 1], &cats[i]) == 0)
            cats[m - 1].count++;
        else
            cats[m++] = cats[i];
    }
    hs_buf_reset(&s->out);
    rc = hs_mp_put_map(&s->out, (uint32_t)m);
    for (size_t i = 0; rc == HS_OK && i < m; i++) {
        rc = hs_mp_put_str(&s->out, cats[i].key, cats[i].len);
        if (rc == HS_OK)
            rc = hs_mp_put_int(&s->out, cats[i].count);
    }
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, s->out.data, s->out.len);
}

static int hs__hist_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__hist *s = state;
    return s->categorical ? hs__hist_categorical(ctx, s, t, v) : hs__hist_numeric(ctx, s, t, v);
}

static const hs_tool_param hs__hist_params[] = {
    {"first_break", HS_P_NUMBER, "0", "the first break (without breaks)"},
    {"break_width", HS_P_NUMBER, "1", "the distance between breaks (without breaks)"},
    {"n_breaks", HS_P_INT, "101", "the number of breaks (without breaks)"},
    {"breaks", HS_P_LIST, "null", "the breaks, ascending (instead of the three above)"},
    {"categorical", HS_P_BOOL, "false", "count each distinct item instead"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_histogram_from_list = {
    .name = "histogram_from_list",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "A histogram of each list of numbers, or a count of each category",
    .doc = "For every instance (t, v) of the source whose value is a list of numbers (or one "
           "number), emits (t, counts): a list of len(breaks) + 1 integers, the numbers of "
           "items x in the right-closed bins x <= b0, b0 < x <= b1, ..., x > b_last. The "
           "breaks are the parameter breaks, or first_break + i * break_width for i < "
           "n_breaks. NaN items fall in no bin. With categorical, v must be a list of "
           "scalars and the output is a map {item text: count}, keys sorted, with '.' "
           "written __dot__ and '$' written __dollar__ (keys safe for MongoDB); the text of "
           "an item is the string itself, an integer in decimal, a float as Python prints "
           "it (whose point is rewritten too: 1.5 counts under 1__dot__5), true/false, "
           "null. Parameters: first_break (number, default 0), break_width "
           "(number, default 1), n_breaks (integer 0..1000000, default 101), breaks (list "
           "of ascending numbers, default none), categorical (bool, default false). "
           "Example: breaks [0, 1, 2, 3] and [-1, 0, 0.5, 1, 1.5, 1.7, 2.5, 3.5] give "
           "[2, 2, 2, 1, 1]; [0.5, 1.5, 2.5] gives [0, 1, 1, 1, 0]; categorical over "
           "[\"a.b\", \"x\", \"x\", 1] gives {\"1\": 1, \"a__dot__b\": 1, \"x\": 2}. "
           "Differences from HyperStream: the last bin counts the items above the last "
           "break (HyperStream counts it as #{x >= second edge} - #{x <= last break}, which "
           "gives [2, 2, 2, 1, 0] for the first example); values that are not lists of "
           "numbers (and, categorical, items that are containers) are skipped with a "
           "warning; categorical keys print bools as true/false, not True/False, and 1, "
           "1.0 and true are three keys where Python's Counter merges them.",
    .params = hs__hist_params,
    .init = hs__hist_init,
    .map = hs__hist_map,
    .fini = hs__hist_fini,
};
