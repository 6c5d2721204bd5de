/*
 * The aggregate tool: a reducer across sources at each timestamp, by a
 * k-way merge. A binary heap holds one entry per source that has an
 * instance left, ordered by (time, source index), so values meet the
 * reducer in source order and only one chunk per source is in memory.
 */
#include "functions.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"

typedef struct hs__agg_head {
    int64_t t; /* time of the source's current instance */
    double v;  /* its number, when numeric */
    bool numeric;
    size_t src; /* source index */
} hs__agg_head;

typedef struct hs__agg {
    hs_func f;
    hs_tool_iter *its;  /* owned, nsrc */
    size_t nopen;       /* iterators opened (closed by fini) */
    hs__agg_head *heap; /* owned, nsrc */
    size_t nheap;
    double *vals; /* owned: the numbers of one timestamp */
    size_t vcap;
    double *scratch; /* owned */
    size_t scap;
} hs__agg;

static int hs__agg_init(hs_tool_ctx *ctx, void **state)
{
    hs__agg *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    *state = s;
    if (hs_tool_nsources(ctx) == 0)
        return hs_tool_fail(ctx, "aggregate needs at least one source");
    return hs_func_lookup(ctx, "func", HS_FUNC_REDUCER, &s->f);
}

static void hs__agg_fini(void *state)
{
    hs__agg *s = state;
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nopen; i++)
        hs_tool_iter_close(&s->its[i]);
    hs_free(s->its);
    hs_free(s->heap);
    hs_free(s->vals);
    hs_free(s->scratch);
    hs_func_release(&s->f);
    hs_free(s);
}

static bool hs__agg_less(const hs__agg_head *a, const hs__agg_head *b)
{
    return a->t < b->t || (a->t == b->t && a->src < b->src);
}

static void hs__agg_push(hs__agg *s, hs__agg_head h)
{
    size_t i = s->nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!hs__agg_less(&h, &s->heap[parent]))
            break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = h;
}

static hs__agg_head hs__agg_pop(hs__agg *s)
{
    hs__agg_head top = s->heap[0];
    hs__agg_head last = s->heap[--s->nheap];
    size_t i = 0, n = s->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && hs__agg_less(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!hs__agg_less(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n > 0)
        s->heap[i] = last;
    return top;
}

/* Reads the next instance of source i onto the heap (nothing when it has ended). */
static int hs__agg_advance(hs__agg *s, size_t i)
{
    int64_t t;
    const uint8_t *p;
    size_t len;
    int r = hs_tool_iter_next(&s->its[i], &t, &p, &len);
    if (r <= 0)
        return r;
    hs__agg_head h = {.t = t, .src = i};
    h.numeric = hs_func_number(p, len, &h.v);
    hs__agg_push(s, h);
    return HS_OK;
}

static int hs__agg_run(hs_tool_ctx *ctx, void *state)
{
    hs__agg *s = state;
    size_t nsrc = hs_tool_nsources(ctx);
    hs_interval iv = hs_tool_interval(ctx);
    s->its = hs_calloc(nsrc, sizeof *s->its);
    s->heap = hs_calloc(nsrc, sizeof *s->heap);
    s->vcap = nsrc;
    s->vals = hs_calloc(s->vcap, sizeof *s->vals);
    if (s->its == NULL || s->heap == NULL || s->vals == NULL)
        return HS_ERR_NOMEM;
    int rc;
    for (size_t i = 0; i < nsrc; i++) {
        rc = hs_tool_iter_open(ctx, i, iv, &s->its[i]);
        s->nopen++; /* an iterator that failed to open may still be closed */
        if (rc != HS_OK || (rc = hs__agg_advance(s, i)) != HS_OK)
            return rc;
    }
    while (s->nheap > 0) {
        int64_t t = s->heap[0].t;
        size_t n = 0;
        while (s->nheap > 0 && s->heap[0].t == t) {
            hs__agg_head h = hs__agg_pop(s);
            if (h.numeric) {
                if (n == s->vcap) {
                    /* A source repeats a timestamp: make room beyond one value per source. */
                    double *nv = hs_realloc(s->vals, 2 * s->vcap * sizeof *nv);
                    if (nv == NULL)
                        return HS_ERR_NOMEM;
                    s->vals = nv;
                    s->vcap *= 2;
                }
                s->vals[n++] = h.v;
            }
            if ((rc = hs__agg_advance(s, h.src)) != HS_OK)
                return rc;
        }
        if (n > 0 &&
            (rc = hs_func_reduce_emit(ctx, &s->f, t, s->vals, n, &s->scratch, &s->scap)) != HS_OK)
            return rc;
    }
    return HS_OK;
}

static const hs_tool_param hs__agg_params[] = {
    {"func", HS_P_FUNC, NULL,
     "reducer: mean, sum, count, min, max, median, std, first, last or range"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_aggregate = {
    .name = "aggregate",
    .version = "1.0.0",
    .kind = HS_TOOL_AGGREGATE,
    .min_sources = 1,
    .max_sources = -1,
    .summary = "Applies a reducer across sources at each timestamp (e.g. mean over rooms)",
    .doc = "Takes the sorted union of the timestamps of all sources in the job interval; "
           "at each timestamp applies func to the numbers of the sources that have an "
           "instance at exactly that timestamp (in source order, which matters for first "
           "and last) and emits (t, result): a float64, or an integer for count. Numbers "
           "are integers, floats and bools (0/1); other values are ignored, and a "
           "timestamp with no numbers gives no output. Parameter: func (required), one of "
           "mean, sum, count, min, max, median, std (population), first, last, range. "
           "Example: over: room with func: mean turns the temperature of every room into "
           "the house's mean at each timestamp that some room has. Difference from "
           "HyperStream: sources are merged as streams (one chunk per source in memory) "
           "instead of being loaded whole; non-numeric values are skipped rather than "
           "passed to the function.",
    .params = hs__agg_params,
    .check_param = hs_func_check_reducer,
    .init = hs__agg_init,
    .run = hs__agg_run,
    .fini = hs__agg_fini,
};
