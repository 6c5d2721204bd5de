/*
 * The aggregate_plate tool: every instance of every source, in time order,
 * with the source's plate value written into each map value.
 */
#include "hs2.h"

#include "hs_alloc.h"
#include "hs_error.h"

#include <string.h>

#define NAME "aggregate_plate"

typedef struct hs__ap {
    const char *key; /* the aggregation meta-data key */
    size_t klen;
    hs2_merge m;
    bool merge_open;
} hs__ap;

static int hs__ap_init(hs_tool_ctx *ctx, void **state)
{
    hs__ap *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    *state = s;
    size_t n = hs_tool_nsources(ctx);
    if (n == 0)
        return hs_tool_fail(ctx, NAME ": needs at least one source");
    int rc = hs2_job_key(ctx, NAME, "aggregation_meta_data", 0, &s->key);
    if (rc != HS_OK)
        return rc;
    s->klen = strlen(s->key);
    for (size_t i = 0; i < n; i++)
        if (hs_streamid_get(hs_tool_source(ctx, i), s->key) == NULL)
            return hs_tool_fail(ctx, NAME ": source %s has no meta-data key '%s'",
                                hs_tool_source(ctx, i)->canon, s->key);
    return HS_OK;
}

static void hs__ap_fini(void *state)
{
    hs__ap *s = state;
    if (s == NULL)
        return;
    if (s->merge_open)
        hs2_merge_close(&s->m);
    hs_free(s);
}

/* v (a map) with key set to pv: replaced in place when present, else appended. */
static hs_value *hs__ap_with(hs_arena *a, const hs_value *v, const char *key, size_t klen,
                             const char *pv)
{
    uint32_t at = v->len;
    for (uint32_t i = 0; i < v->len && at == v->len; i++)
        if (v->u.items[2 * i].len == klen && memcmp(v->u.items[2 * i].u.s, key, klen) == 0)
            at = i;
    uint32_t n = at == v->len ? v->len + 1 : v->len;
    hs_value *m = hs_value_map(a, n);
    hs_value *ks = hs_value_str(a, key, klen);
    hs_value *vs = hs_value_str(a, pv, strlen(pv));
    if (m == NULL || ks == NULL || vs == NULL)
        return NULL;
    for (uint32_t i = 0; i < v->len; i++) {
        m->u.items[2 * i] = v->u.items[2 * i];
        m->u.items[2 * i + 1] = v->u.items[2 * i + 1];
    }
    m->u.items[2 * at] = *ks;
    m->u.items[2 * at + 1] = *vs;
    return m;
}

static int hs__ap_run(hs_tool_ctx *ctx, void *state)
{
    hs__ap *s = state;
    int rc = hs2_merge_open(&s->m, ctx, NULL, hs_tool_nsources(ctx), hs_tool_interval(ctx));
    s->merge_open = true;
    hs_arena *a = hs_tool_scratch(ctx);
    int64_t t;
    size_t k, len;
    const uint8_t *p;
    int r = 0;
    while (rc == HS_OK && (r = hs2_merge_next(&s->m, &t, &k, &p, &len)) == 1) {
        hs_arena_reset(a);
        const hs_streamid *sid = hs_tool_source(ctx, k);
        hs_value *v;
        if (hs_value_decode(a, p, len, &v) != HS_OK) {
            rc = hs_tool_fail(ctx, NAME ": a stored value cannot be decoded: %s", hs_err_detail());
            break;
        }
        if (v->type != HS_V_MAP) {
            hs_tool_warn(ctx, NAME ": the value of %s at %lld is not a map; skipped", sid->canon,
                         (long long)t);
            continue;
        }
        hs_value *m = hs__ap_with(a, v, s->key, s->klen, hs_streamid_get(sid, s->key));
        rc = m != NULL ? hs_tool_emit_value(ctx, t, m) : HS_ERR_NOMEM;
    }
    if (rc == HS_OK && r < 0)
        rc = r;
    return rc;
}

static const hs_tool_param hs__ap_params[] = {
    {"aggregation_meta_data", HS_P_STRING, "null",
     "the meta-data key aggregated over (default: the one key the sources have and the sink "
     "has not)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_aggregate_plate = {
    .name = NAME,
    .version = "1.0.0",
    .kind = HS_TOOL_AGGREGATE,
    .min_sources = 1,
    .max_sources = -1,
    .summary = "Gathers the instances of a plate's sources into one stream, tagging each map "
               "with its plate value",
    .doc = "Emits every instance of every source in the job interval in time order (sources "
           "in their given order at equal times), each map value with value[key] set to the "
           "source's plate value, the value of key in its stream id (replacing a field of "
           "that name in place, else added last). Parameter: aggregation_meta_data (the key, "
           "e.g. room; default: the one meta-data key that the sources have and the sink has "
           "not). Example: over room, {\"t\": 21} at t from room=kitchen becomes (t, {\"t\": 21, "
           "\"room\": \"kitchen\"}) on the house's sink. A sink holds one value per timestamp: "
           "when several sources have an instance at the same time, the first source's is kept "
           "and the others are dropped with a warning (HyperStream's stores reject such "
           "duplicates). Values that are not maps are skipped with a warning (HyperStream "
           "fails); a source without the key fails the job. Differences from HyperStream: "
           "sources are merged as streams instead of being loaded and sorted whole, and the "
           "key may be inferred.",
    .params = hs__ap_params,
    .init = hs__ap_init,
    .run = hs__ap_run,
    .fini = hs__ap_fini,
};
