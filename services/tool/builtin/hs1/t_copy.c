/* The copy tool: every instance of every source, merged in time order. */
#include "hs1.h"

#include "hs_alloc.h"
#include "hs_error.h"

typedef struct hs__copy {
    size_t n;          /* sources */
    hs_tool_iter *its; /* owned: one per source */
    bool *open;        /* owned: which are open */
    bool *live;        /* owned: which still have a current instance */
    int64_t *t;        /* owned: the current instance of each source */
    const uint8_t **p;
    size_t *len;
} hs__copy;

static int hs__copy_init(hs_tool_ctx *ctx, void **state)
{
    hs__copy *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    *state = s;
    s->n = hs_tool_nsources(ctx);
    if (s->n == 0)
        return hs_tool_fail(ctx, "copy needs at least one source");
    s->its = hs_calloc(s->n, sizeof *s->its);
    s->open = hs_calloc(s->n, sizeof *s->open);
    s->live = hs_calloc(s->n, sizeof *s->live);
    s->t = hs_calloc(s->n, sizeof *s->t);
    s->p = hs_calloc(s->n, sizeof *s->p);
    s->len = hs_calloc(s->n, sizeof *s->len);
    if (s->its == NULL || s->open == NULL || s->live == NULL || s->t == NULL || s->p == NULL ||
        s->len == NULL)
        return HS_ERR_NOMEM;
    return HS_OK;
}

static void hs__copy_fini(void *state)
{
    hs__copy *s = state;
    if (s == NULL)
        return;
    for (size_t i = 0; s->open != NULL && i < s->n; i++)
        if (s->open[i])
            hs_tool_iter_close(&s->its[i]);
    hs_free(s->its);
    hs_free(s->open);
    hs_free(s->live);
    hs_free(s->t);
    hs_free(s->p);
    hs_free(s->len);
    hs_free(s);
}

/* Moves source i to its next instance. */
static int hs__copy_next(hs__copy *s, size_t i)
{
    int r = hs_tool_iter_next(&s->its[i], &s->t[i], &s->p[i], &s->len[i]);
    s->live[i] = r == 1;
    return r < 0 ? r : HS_OK;
}

static int hs__copy_run(hs_tool_ctx *ctx, void *state)
{
    hs__copy *s = state;
    hs_interval iv = hs_tool_interval(ctx);
    for (size_t i = 0; i < s->n; i++) {
        int rc = hs_tool_iter_open(ctx, i, iv, &s->its[i]);
        if (rc != HS_OK)
            return rc;
        s->open[i] = true;
        if ((rc = hs__copy_next(s, i)) != HS_OK)
            return rc;
    }
    for (;;) {
        /* The earliest current instance; of equal ones the first source's. */
        size_t w = s->n;
        for (size_t i = 0; i < s->n; i++)
            if (s->live[i] && (w == s->n || s->t[i] < s->t[w]))
                w = i;
        if (w == s->n)
            return HS_OK;
        int64_t t = s->t[w];
        int rc = hs_tool_emit(ctx, t, s->p[w], s->len[w]);
        if (rc != HS_OK)
            return rc;
        for (size_t i = w + 1; i < s->n; i++) {
            if (s->live[i] && s->t[i] == t) {
                hs_tool_warn(ctx,
                             "copy: sources %zu and %zu both have an instance at %lld; the "
                             "one of source %zu is kept",
                             w, i, (long long)t, w);
                if ((rc = hs__copy_next(s, i)) != HS_OK)
                    return rc;
            }
        }
        if ((rc = hs__copy_next(s, w)) != HS_OK)
            return rc;
    }
}

const hs_tool_def hs_tool_copy = {
    .name = "copy",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = -1,
    .summary = "Copies every instance of every source into one stream",
    .doc = "Emits every instance (t, v) of every source in the job interval, unchanged, in "
           "time order. A stream holds one value per timestamp, so when several sources "
           "have an instance at the same t the first source's is kept and the others are "
           "dropped with a warning (HyperStream's memory store fails on such a clash unless "
           "the values are equal, and its MongoDB store keeps the first). No parameters. "
           "Example: sources a = {t1: 1, t3: 3} and b = {t2: 20, t3: 30} give {t1: 1, "
           "t2: 20, t3: 3}. With one source it copies a stream, for instance to another "
           "store or workflow.",
    .init = hs__copy_init,
    .run = hs__copy_run,
    .fini = hs__copy_fini,
};
