/* The aligned_merge tool: an inner join of N sources on their timestamps. */
#include "hs1.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"

#include <string.h>

typedef struct hs__am {
    const hs_value *names; /* the names (strings, in the job arena), or NULL: a list */
    size_t n;              /* sources */
    hs_tool_iter *its;     /* owned: one per source */
    bool *open;            /* owned: which are open */
    int64_t *t;            /* owned: the current instance of each source */
    const uint8_t **p;
    size_t *len;
    hs_buf out;
} hs__am;

static int hs__am_init(hs_tool_ctx *ctx, void **state)
{
    hs__am *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->out, 0);
    *state = s;
    s->n = hs_tool_nsources(ctx);
    if (s->n == 0)
        return hs_tool_fail(ctx, "aligned_merge needs at least one source");
    const hs_value *names = hs_tool_param_value(ctx, "names");
    if (names != NULL && (names->type != HS_V_ARRAY))
        return hs_tool_fail(ctx, "aligned_merge: parameter 'names' must be a list of strings");
    if (names != NULL && names->len > 0) {
        if (names->len != s->n)
            return hs_tool_fail(ctx,
                                "aligned_merge: %u names for %zu sources (give one name "
                                "per source)",
                                names->len, s->n);
        for (uint32_t i = 0; i < names->len; i++) {
            const hs_value *a = &names->u.items[i];
            if (a->type != HS_V_STR)
                return hs_tool_fail(ctx, "aligned_merge: names[%u] is not a string", i);
            for (uint32_t j = 0; j < i; j++) {
                const hs_value *b = &names->u.items[j];
                if (a->len == b->len && memcmp(a->u.s, b->u.s, a->len) == 0)
                    return hs_tool_fail(ctx, "aligned_merge: the name '%.*s' is given twice",
                                        (int)a->len, a->u.s);
            }
        }
        s->names = names;
    }
    s->its = hs_calloc(s->n, sizeof *s->its);
    s->open = hs_calloc(s->n, sizeof *s->open);
    s->t = hs_calloc(s->n, sizeof *s->t);
    s->p = hs_calloc(s->n, sizeof *s->p);
    s->len = hs_calloc(s->n, sizeof *s->len);
    if (s->its == NULL || s->open == NULL || s->t == NULL || s->p == NULL || s->len == NULL)
        return HS_ERR_NOMEM;
    return HS_OK;
}

static void hs__am_fini(void *state)
{
    hs__am *s = state;
    if (s == NULL)
        return;
    for (size_t i = 0; s->open != NULL && i < s->n; i++)
        if (s->open[i])
            hs_tool_iter_close(&s->its[i]);
    hs_free(s->its);
    hs_free(s->open);
    hs_free(s->t);
    hs_free(s->p);
    hs_free(s->len);
    hs_buf_free(&s->out);
    hs_free(s);
}

static int hs__am_emit(hs_tool_ctx *ctx, hs__am *s, int64_t t)
{
    hs_buf_reset(&s->out);
    int rc = s->names ? hs_mp_put_map(&s->out, (uint32_t)s->n)
                      : hs_mp_put_array(&s->out, (uint32_t)s->n);
    bool nested = false;
    for (size_t i = 0; rc == HS_OK && i < s->n; i++) {
        if (s->names != NULL)
            rc = hs_mp_put_str(&s->out, s->names->u.items[i].u.s, s->names->u.items[i].len);
        if (rc == HS_OK)
            rc = hs_mp_put_raw(&s->out, s->p[i], s->len[i]);
        nested = nested || hs1_is_container(s->p[i], s->len[i]);
    }
    if (rc != HS_OK)
        return rc;
    if (nested && hs_value_check(s->out.data, s->out.len) != HS_OK) {
        hs_tool_warn(ctx, "aligned_merge: the merged value at %lld nests too deep; skipped",
                     (long long)t);
        return HS_OK;
    }
    return hs_tool_emit(ctx, t, s->out.data, s->out.len);
}

static int hs__am_run(hs_tool_ctx *ctx, void *state)
{
    hs__am *s = state;
    hs_interval iv = hs_tool_interval(ctx);
    int r = 1;
    for (size_t i = 0; i < s->n; i++) {
        int rc = hs_tool_iter_open(ctx, i, iv, &s->its[i]);
        if (rc != HS_OK)
            return rc;
        s->open[i] = true;
        if (r == 1)
            r = hs_tool_iter_next(&s->its[i], &s->t[i], &s->p[i], &s->len[i]);
    }
    /* A join stops at the end of the first source that ends. */
    while (r == 1) {
        int64_t m = s->t[0];
        for (size_t i = 1; i < s->n; i++)
            if (s->t[i] > m)
                m = s->t[i];
        bool aligned = true;
        for (size_t i = 0; r == 1 && i < s->n; i++) {
            while (r == 1 && s->t[i] < m)
                r = hs_tool_iter_next(&s->its[i], &s->t[i], &s->p[i], &s->len[i]);
            aligned = aligned && s->t[i] == m;
        }
        if (r != 1 || !aligned)
            continue;
        int rc = hs__am_emit(ctx, s, m);
        if (rc != HS_OK)
            return rc;
        for (size_t i = 0; r == 1 && i < s->n; i++)
            r = hs_tool_iter_next(&s->its[i], &s->t[i], &s->p[i], &s->len[i]);
    }
    return r < 0 ? r : HS_OK;
}

static const hs_tool_param hs__am_params[] = {
    {"names", HS_P_LIST, "null", "one name per source: emit maps {name: value} (default: lists)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_aligned_merge = {
    .name = "aligned_merge",
    .version = "0.1.2",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = -1,
    .summary = "Joins N sources on equal timestamps into lists or named maps",
    .doc = "An inner join on timestamps: for every t in the job interval at which every "
           "source has an instance, emits (t, [v0, v1, ...]) with the values in source "
           "order, or (t, {names[0]: v0, names[1]: v1, ...}) when names are given. "
           "Timestamps missing from any source are left out. Parameter: names (list of "
           "distinct strings, one per source; default none; an empty list means none). "
           "Example: sources a = {t1: 1, t2: 2, t3: 3} and b = {t1: 10, t3: 30} give "
           "{t1: [1, 10], t3: [3, 30]}, and with names [x, y] {t1: {\"x\": 1, \"y\": 10}, "
           "t3: {\"x\": 3, \"y\": 30}}. A number of names other than the number of sources "
           "fails the job (HyperStream's TypeError), and so do repeated names (a Python dict "
           "would keep the last). A merged value nested deeper than values may be is skipped "
           "with a warning.",
    .params = hs__am_params,
    .init = hs__am_init,
    .run = hs__am_run,
    .fini = hs__am_fini,
};
