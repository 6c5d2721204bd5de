/*
 * The aggregate_into_dict_and_apply tool: at each timestamp, a map from the
 * child plate value of each source that has an instance there to func of
 * that instance's value. Sources are merged by time (hs2_merge), so one
 * chunk per source is in memory; the values of one timestamp are decoded
 * into the scratch arena, which is reset after each output.
 */
#include "functions.h"
#include "hs2.h"

#include "hs_alloc.h"
#include "hs_error.h"

#include <stdlib.h>
#include <string.h>

#define NAME "aggregate_into_dict_and_apply"

/* One entry of the map being built. */
typedef struct hs__aid_ent {
    const char *pv; /* the source's plate value (borrowed from its stream id) */
    size_t pvlen;
    size_t k; /* source index */
    hs_value v;
} hs__aid_ent;

typedef struct hs__aid {
    hs_func f;
    const char *key; /* the aggregation meta-data key */
    hs2_merge m;
    bool merge_open;
    hs__aid_ent *ents; /* owned */
    size_t nents, cap;
} hs__aid;

static int hs__aid_init(hs_tool_ctx *ctx, void **state)
{
    hs__aid *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    *state = s;
    size_t n = hs_tool_nsources(ctx);
    if (n == 0)
        return hs_tool_fail(ctx, NAME ": needs at least one source");
    int rc = hs_func_lookup(ctx, "func", HS_FUNC_UNARY, &s->f);
    if (rc == HS_OK)
        rc = hs2_job_key(ctx, NAME, "aggregation_meta_data", 0, &s->key);
    if (rc != HS_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (hs_streamid_get(hs_tool_source(ctx, i), s->key) == NULL)
            return hs_tool_fail(ctx, NAME ": source %s has no meta-data key '%s'",
                                hs_tool_source(ctx, i)->canon, s->key);
    s->cap = n;
    s->ents = hs_calloc(s->cap, sizeof *s->ents);
    return s->ents != NULL ? HS_OK : HS_ERR_NOMEM;
}

static void hs__aid_fini(void *state)
{
    hs__aid *s = state;
    if (s == NULL)
        return;
    if (s->merge_open)
        hs2_merge_close(&s->m);
    hs_func_release(&s->f);
    hs_free(s->ents);
    hs_free(s);
}

static int hs__aid_ent_cmp(const void *x, const void *y)
{
    const hs__aid_ent *a = x, *b = y;
    size_t n = a->pvlen < b->pvlen ? a->pvlen : b->pvlen;
    int c = memcmp(a->pv, b->pv, n);
    if (c != 0)
        return c;
    if (a->pvlen != b->pvlen)
        return a->pvlen < b->pvlen ? -1 : 1;
    return (a->k > b->k) - (a->k < b->k);
}

/* Emits the map of the entries gathered for t (keys sorted), then forgets them. */
static int hs__aid_flush(hs_tool_ctx *ctx, hs__aid *s, int64_t t)
{
    if (s->nents == 0)
        return HS_OK;
    hs_arena *a = hs_tool_scratch(ctx);
    qsort(s->ents, s->nents, sizeof *s->ents, hs__aid_ent_cmp);
    /* Sources with the same plate value: the later one wins, as a dict assignment would. */
    size_t k = 0;
    for (size_t i = 0; i < s->nents; i++) {
        if (k > 0 && s->ents[k - 1].pvlen == s->ents[i].pvlen &&
            memcmp(s->ents[k - 1].pv, s->ents[i].pv, s->ents[i].pvlen) == 0) {
            hs_tool_warn(ctx, NAME ": two sources have %s=%s; the later one is kept", s->key,
                         s->ents[i].pv);
            s->ents[k - 1] = s->ents[i];
            continue;
        }
        s->ents[k++] = s->ents[i];
    }
    hs_value *m = hs_value_map(a, (uint32_t)k);
    if (m == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; i < k; i++) {
        hs_value *key = hs_value_str(a, s->ents[i].pv, s->ents[i].pvlen);
        if (key == NULL)
            return HS_ERR_NOMEM;
        m->u.items[2 * i] = *key;
        m->u.items[2 * i + 1] = s->ents[i].v;
    }
    int rc = hs_tool_emit_value(ctx, t, m);
    s->nents = 0;
    hs_arena_reset(a);
    return rc;
}

static int hs__aid_run(hs_tool_ctx *ctx, void *state)
{
    hs__aid *s = state;
    int rc = hs2_merge_open(&s->m, ctx, NULL, hs_tool_nsources(ctx), hs_tool_interval(ctx));
    s->merge_open = true;
    hs_arena *a = hs_tool_scratch(ctx);
    int64_t cur = 0, t;
    size_t k, len;
    const uint8_t *p;
    int r = 0;
    while (rc == HS_OK && (r = hs2_merge_next(&s->m, &t, &k, &p, &len)) == 1) {
        if (s->nents > 0 && t != cur && (rc = hs__aid_flush(ctx, s, cur)) != HS_OK)
            break;
        cur = t;
        hs_value *v;
        if (hs_value_decode(a, p, len, &v) != HS_OK) {
            rc = hs_tool_fail(ctx, NAME ": a stored value cannot be decoded: %s", hs_err_detail());
            break;
        }
        hs_value out;
        int frc = s->f.unary(s->f.ud, a, t, v, &out);
        if (frc == HS_ERR_INVAL) {
            hs_tool_warn(ctx, NAME ": %s at %lld (source %s); skipped", hs_err_detail(),
                         (long long)t, hs_tool_source(ctx, k)->canon);
            continue;
        }
        if (frc != HS_OK) {
            rc = hs_tool_fail(ctx, NAME ": function %s failed: %s", s->f.name, hs_err_detail());
            break;
        }
        /* The value may point into the source's chunk, which moves on: copy it. */
        hs_value *keep = hs_value_clone(a, &out);
        if (keep == NULL) {
            rc = HS_ERR_NOMEM;
            break;
        }
        if (s->nents == s->cap) {
            /* A source repeats a timestamp: make room beyond one entry per source. */
            hs__aid_ent *ne = hs_realloc(s->ents, 2 * s->cap * sizeof *ne);
            if (ne == NULL) {
                rc = HS_ERR_NOMEM;
                break;
            }
            s->ents = ne;
            s->cap *= 2;
        }
        const char *pv = hs_streamid_get(hs_tool_source(ctx, k), s->key);
        s->ents[s->nents++] = (hs__aid_ent){pv, strlen(pv), k, *keep};
    }
    if (rc == HS_OK && r < 0)
        rc = r;
    if (rc == HS_OK)
        rc = hs__aid_flush(ctx, s, cur);
    return rc;
}

static const hs_tool_param hs__aid_params[] = {
    {"func", HS_P_FUNC, NULL,
     "applied to each value: identity, abs, neg, sqrt, exp, log, log10, floor, ceil, round, "
     "c_to_f, f_to_c, len or not"},
    {"aggregation_meta_data", HS_P_STRING, "null",
     "the meta-data key aggregated over (default: the one key the sources have and the sink "
     "has not)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_aggregate_into_dict_and_apply = {
    .name = NAME,
    .version = "1.0.0",
    .kind = HS_TOOL_AGGREGATE,
    .min_sources = 1,
    .max_sources = -1,
    .summary = "Gathers the sources of a plate into one map per timestamp: plate value -> "
               "func(value)",
    .doc = "For every timestamp t at which some source has an instance in the job interval, "
           "emits (t, {plate value: func(value)}) with one entry per source that has an "
           "instance at exactly t, keys sorted bytewise. The plate value of a source is the "
           "value of the aggregation key in its stream id. Parameters: func (required, a "
           "unary function such as identity or c_to_f) and aggregation_meta_data (the key, "
           "e.g. room; default: the one meta-data key that the sources have and the sink has "
           "not). Example: over room with func identity, kitchen 21 and lounge 19 at t give "
           "(t, {\"kitchen\": 21, \"lounge\": 19}) on the house's sink. A value the function "
           "cannot take is skipped with a warning; a timestamp with no entries gives no "
           "output; a source without the key fails the job. Differences from HyperStream: "
           "sources are merged as streams instead of being loaded whole, the key may be "
           "inferred, and map keys are sorted.",
    .params = hs__aid_params,
    .check_param = hs_func_check_unary,
    .init = hs__aid_init,
    .run = hs__aid_run,
    .fini = hs__aid_fini,
};
