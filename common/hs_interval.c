/*
 * Interval sets with HyperStream's (start, end] semantics. A set is a plain
 * sorted vector; the binary operations are single merges over both inputs
 * that append to the output through emit(), which joins a new piece with the
 * last one when they overlap or touch, so every result comes out compressed.
 */
#include "hs_interval.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_time.h"

#include <stdlib.h>
#include <string.h>

int hs_interval_make(int64_t start, int64_t end, hs_interval *out)
{
    if (out == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_interval_make: NULL out");
    if (start >= end)
        return hs_err_set(HS_ERR_INVAL, "interval (%lld, %lld] is empty: start must be before end",
                          (long long)start, (long long)end);
    out->start = start;
    out->end = end;
    return HS_OK;
}

bool hs_interval_contains_point(hs_interval iv, int64_t t)
{
    return iv.start < t && t <= iv.end;
}

bool hs_interval_contains(hs_interval outer, hs_interval inner)
{
    return outer.start <= inner.start && inner.end <= outer.end;
}

/* end - start, saturated at INT64_MAX (only extreme test values get there). */
int64_t hs_interval_width(hs_interval iv)
{
    if (iv.end <= iv.start)
        return 0;
    uint64_t w = (uint64_t)iv.end - (uint64_t)iv.start;
    return w > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)w;
}

void hs_intervals_init(hs_intervals *s)
{
    s->v = NULL;
    s->n = 0;
    s->cap = 0;
}

void hs_intervals_free(hs_intervals *s)
{
    if (s == NULL)
        return;
    hs_free(s->v);
    hs_intervals_init(s);
}

void hs_intervals_clear(hs_intervals *s)
{
    s->n = 0;
}

bool hs_intervals_is_empty(const hs_intervals *s)
{
    return s->n == 0;
}

/*
 * Makes room for at least `need` intervals; the set is unchanged on failure.
 * Sets start with room for one (most hold one interval: a fleet's scheduler
 * holds hundreds of thousands) and double.
 */
static int reserve(hs_intervals *s, size_t need)
{
    if (hs_grow(&s->v, &s->cap, need, sizeof *s->v, 1) != HS_OK)
        return hs_err_set(HS_ERR_NOMEM, "cannot grow an interval set to %zu intervals", need);
    return HS_OK;
}

int hs_intervals_copy(hs_intervals *dst, const hs_intervals *src)
{
    if (dst == src)
        return HS_OK;
    /* An empty set gets exactly what it copies (a fleet's scheduler holds 200,000 copies). */
    if (dst->cap == 0 && src->n > 0) {
        if (hs_grow(&dst->v, &dst->cap, src->n, sizeof *dst->v, src->n) != HS_OK)
            return hs_err_set(HS_ERR_NOMEM, "cannot grow an interval set to %zu intervals", src->n);
    }
    int rc = reserve(dst, src->n);
    if (rc != HS_OK)
        return rc;
    if (src->n > 0)
        memcpy(dst->v, src->v, src->n * sizeof(hs_interval));
    dst->n = src->n;
    return HS_OK;
}

/* Index of the first interval whose end is >= t (s->n when there is none). */
static size_t first_end_at_or_after(const hs_intervals *s, int64_t t)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].end < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int hs_intervals_add(hs_intervals *s, hs_interval iv)
{
    if (iv.start >= iv.end)
        return hs_err_set(HS_ERR_INVAL, "cannot add the empty interval (%lld, %lld]",
                          (long long)iv.start, (long long)iv.end);
    /* Intervals [i, j) overlap or touch iv and are replaced by their union with it. */
    size_t i = first_end_at_or_after(s, iv.start);
    size_t j = i;
    while (j < s->n && s->v[j].start <= iv.end)
        j++;
    if (i == j) {
        int rc = reserve(s, s->n + 1);
        if (rc != HS_OK)
            return rc;
        memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof(hs_interval));
        s->v[i] = iv;
        s->n++;
        return HS_OK;
    }
    if (s->v[i].start < iv.start)
        iv.start = s->v[i].start;
    if (s->v[j - 1].end > iv.end)
        iv.end = s->v[j - 1].end;
    s->v[i] = iv;
    memmove(s->v + i + 1, s->v + j, (s->n - j) * sizeof(hs_interval));
    s->n -= j - i - 1;
    return HS_OK;
}

int hs_intervals_push(hs_intervals *s, hs_interval iv)
{
    if (iv.start >= iv.end)
        return hs_err_set(HS_ERR_INVAL, "cannot push the empty interval (%lld, %lld]",
                          (long long)iv.start, (long long)iv.end);
    if (s->n > 0 && iv.start < s->v[s->n - 1].end)
        return hs_err_set(HS_ERR_INVAL, "pushed interval starts at %lld, before the last end %lld",
                          (long long)iv.start, (long long)s->v[s->n - 1].end);
    int rc = reserve(s, s->n + 1);
    if (rc != HS_OK)
        return rc;
    s->v[s->n++] = iv;
    return HS_OK;
}

/*
 * Appends (start, end] to out, which has room for it, joining it with the
 * last interval when they overlap or touch. Pieces arrive in order of start.
 */
static void emit(hs_intervals *out, int64_t start, int64_t end)
{
    if (out->n > 0 && start <= out->v[out->n - 1].end) {
        if (end > out->v[out->n - 1].end)
            out->v[out->n - 1].end = end;
        return;
    }
    out->v[out->n].start = start;
    out->v[out->n].end = end;
    out->n++;
}

/*
 * Checks the arguments of a binary set operation, empties out and gives it
 * room for a->n + b->n intervals, more than union, difference (each interval
 * of b cuts at most one of a in two) or intersection can produce, so that
 * the merge itself cannot fail.
 */
static int prepare_out(const char *op, const hs_intervals *a, const hs_intervals *b,
                       hs_intervals *out)
{
    if (a == NULL || b == NULL || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "%s: NULL argument", op);
    if (out == a || out == b)
        return hs_err_set(HS_ERR_INVAL, "%s: out must not be an input", op);
    out->n = 0;
    return reserve(out, a->n + b->n);
}

int hs_intervals_union(const hs_intervals *a, const hs_intervals *b, hs_intervals *out)
{
    int rc = prepare_out("hs_intervals_union", a, b, out);
    if (rc != HS_OK)
        return rc;
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        const hs_interval *next;
        if (j == b->n || (i < a->n && a->v[i].start <= b->v[j].start))
            next = &a->v[i++];
        else
            next = &b->v[j++];
        emit(out, next->start, next->end);
    }
    return HS_OK;
}

int hs_intervals_difference(const hs_intervals *a, const hs_intervals *b, hs_intervals *out)
{
    int rc = prepare_out("hs_intervals_difference", a, b, out);
    if (rc != HS_OK)
        return rc;
    size_t j = 0;
    for (size_t i = 0; i < a->n; i++) {
        int64_t start = a->v[i].start, end = a->v[i].end;
        /* Intervals of b ending at or before start cannot cut this or later ones. */
        while (j < b->n && b->v[j].end <= start)
            j++;
        size_t k = j;
        while (start < end && k < b->n && b->v[k].start < end) {
            if (b->v[k].start > start)
                emit(out, start, b->v[k].start);
            if (b->v[k].end > start)
                start = b->v[k].end;
            k++;
        }
        if (start < end)
            emit(out, start, end);
    }
    return HS_OK;
}

int hs_intervals_intersection(const hs_intervals *a, const hs_intervals *b, hs_intervals *out)
{
    int rc = prepare_out("hs_intervals_intersection", a, b, out);
    if (rc != HS_OK)
        return rc;
    size_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
        int64_t start = a->v[i].start > b->v[j].start ? a->v[i].start : b->v[j].start;
        int64_t end = a->v[i].end < b->v[j].end ? a->v[i].end : b->v[j].end;
        if (start < end)
            emit(out, start, end);
        /* The interval that ends first cannot meet anything further on. */
        if (a->v[i].end < b->v[j].end)
            i++;
        else
            j++;
    }
    return HS_OK;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

int hs_intervals_split(const hs_intervals *s, const int64_t *points, size_t n_points,
                       hs_intervals *out)
{
    if (s == NULL || out == NULL || (points == NULL && n_points > 0))
        return hs_err_set(HS_ERR_INVAL, "hs_intervals_split: NULL argument");
    if (out == s)
        return hs_err_set(HS_ERR_INVAL, "hs_intervals_split: out must not be the input");
    out->n = 0;
    if (n_points > SIZE_MAX / sizeof(int64_t) || s->n > SIZE_MAX - n_points)
        return hs_err_set(HS_ERR_NOMEM, "hs_intervals_split: too many points");
    int64_t *p = NULL;
    if (n_points > 0) {
        p = hs_malloc(n_points * sizeof(int64_t));
        if (p == NULL)
            return hs_err_set(HS_ERR_NOMEM, "hs_intervals_split: cannot copy %zu points", n_points);
        memcpy(p, points, n_points * sizeof(int64_t));
        qsort(p, n_points, sizeof(int64_t), cmp_i64);
    }
    int rc = reserve(out, s->n + n_points);
    if (rc != HS_OK) {
        hs_free(p);
        return rc;
    }
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        int64_t start = s->v[i].start, end = s->v[i].end;
        while (k < n_points && p[k] <= start)
            k++;
        for (; k < n_points && p[k] < end; k++) {
            if (p[k] == start)
                continue; /* a repeated point */
            out->v[out->n++] = (hs_interval){start, p[k]};
            start = p[k];
        }
        out->v[out->n++] = (hs_interval){start, end};
    }
    hs_free(p);
    return HS_OK;
}

void hs_intervals_compress(hs_intervals *s)
{
    if (s->n == 0)
        return;
    size_t w = 0;
    for (size_t r = 1; r < s->n; r++) {
        if (s->v[r].start == s->v[w].end)
            s->v[w].end = s->v[r].end;
        else
            s->v[++w] = s->v[r];
    }
    s->n = w + 1;
}

bool hs_intervals_span(const hs_intervals *s, hs_interval *out)
{
    if (s->n == 0)
        return false;
    out->start = s->v[0].start;
    out->end = s->v[s->n - 1].end;
    return true;
}

int64_t hs_intervals_total_width(const hs_intervals *s)
{
    int64_t total = 0;
    for (size_t i = 0; i < s->n; i++)
        if (__builtin_add_overflow(total, hs_interval_width(s->v[i]), &total))
            return INT64_MAX;
    return total;
}

bool hs_intervals_contains_point(const hs_intervals *s, int64_t t)
{
    size_t i = first_end_at_or_after(s, t);
    return i < s->n && s->v[i].start < t;
}

bool hs_intervals_contains(const hs_intervals *s, hs_interval iv)
{
    if (iv.start >= iv.end)
        return false;
    /* The piece covering the instants just after iv.start... */
    size_t i = first_end_at_or_after(s, iv.start);
    while (i < s->n && s->v[i].end == iv.start)
        i++;
    if (i == s->n || s->v[i].start > iv.start)
        return false;
    /* ...then touching pieces (only split sets have them) up to iv.end. */
    while (s->v[i].end < iv.end) {
        if (i + 1 == s->n || s->v[i + 1].start != s->v[i].end)
            return false;
        i++;
    }
    return true;
}

bool hs_intervals_equal(const hs_intervals *a, const hs_intervals *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(hs_interval)) == 0);
}

int hs_intervals_format(const hs_intervals *s, hs_buf *out)
{
    if (s->n == 0)
        return hs_buf_puts(out, "[]");
    for (size_t i = 0; i < s->n; i++) {
        char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
        hs_time_format_iso(s->v[i].start, a);
        hs_time_format_iso(s->v[i].end, b);
        int rc = hs_buf_printf(out, "%s(%s, %s]", i > 0 ? " U " : "", a, b);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

int hs_rel_interval_make(int64_t start_us, int64_t end_us, hs_rel_interval *out)
{
    if (out == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_rel_interval_make: NULL out");
    if (start_us >= end_us)
        return hs_err_set(HS_ERR_INVAL,
                          "relative interval (%lld us, %lld us] is empty: start must be before end",
                          (long long)start_us, (long long)end_us);
    out->start_us = start_us;
    out->end_us = end_us;
    return HS_OK;
}

/* a + b, saturated at the int64 limits. */
static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

hs_interval hs_rel_interval_absolute(hs_rel_interval r, int64_t now_us)
{
    hs_interval iv = {add_sat(now_us, r.start_us), add_sat(now_us, r.end_us)};
    return iv;
}
