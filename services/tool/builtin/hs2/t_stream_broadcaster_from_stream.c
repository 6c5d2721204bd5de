/*
 * The stream_broadcaster_from_stream tool: func of each value, sent to the
 * plate values listed by the last value of the splitting stream.
 */
#include "functions.h"
#include "hs2.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"

#include <stdlib.h>
#include <string.h>

#define NAME "stream_broadcaster_from_stream"

typedef struct hs__sbs {
    hs_func f;
    size_t *sinks; /* owned: the sinks that receive data */
    size_t nsinks;
    hs_buf out; /* owned: the encoded result */
} hs__sbs;

typedef struct hs__sbs_pv {
    const char *s;
    size_t len;
} hs__sbs_pv;

static int hs__sbs_pv_cmp(const void *x, const void *y)
{
    const hs__sbs_pv *a = x, *b = y;
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

static int hs__sbs_init(hs_tool_ctx *ctx, void **state)
{
    hs__sbs *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->out, 0);
    *state = s;
    bool keys = false;
    int rc = hs_tool_param_bool(ctx, "use_keys_not_values", &keys);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    rc = hs_func_lookup(ctx, "func", HS_FUNC_UNARY, &s->f);
    if (rc != HS_OK)
        return rc;
    hs_value *sv;
    rc = hs2_splitting_last(ctx, NAME, "broadcast", &sv);
    if (rc <= 0)
        return rc;
    /* The plate values: keys or values of a map, items of a list; sorted, once each. */
    hs2_mapping m;
    rc = hs2_mapping_build(ctx, NAME, "the splitting stream's last value", sv, keys, &m);
    if (rc != HS_OK)
        return rc;
    hs__sbs_pv *pvs = hs_arena_alloc(hs_tool_arena(ctx), (m.n ? m.n : 1) * sizeof *pvs);
    s->sinks = hs_calloc(m.n ? m.n : 1, sizeof *s->sinks);
    if (pvs == NULL || s->sinks == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; i < m.n; i++)
        pvs[i] = (hs__sbs_pv){m.e[i].to, m.e[i].tlen};
    qsort(pvs, m.n, sizeof *pvs, hs__sbs_pv_cmp);
    int64_t end = hs_tool_interval(ctx).end;
    for (size_t i = 0; i < m.n; i++) {
        if (i > 0 && hs__sbs_pv_cmp(&pvs[i - 1], &pvs[i]) == 0)
            continue;
        long sink = hs2_sink(ctx, NAME, pvs[i].s, pvs[i].len, end);
        if (sink >= 0)
            s->sinks[s->nsinks++] = (size_t)sink;
    }
    return HS_OK;
}

static void hs__sbs_fini(void *state)
{
    hs__sbs *s = state;
    if (s == NULL)
        return;
    hs_func_release(&s->f);
    hs_free(s->sinks);
    hs_buf_free(&s->out);
    hs_free(s);
}

static int hs__sbs_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__sbs *s = state;
    if (s->nsinks == 0)
        return HS_OK;
    int rc = hs2_apply_encode(ctx, NAME, &s->f, t, v, &s->out);
    if (rc <= 0)
        return rc;
    for (size_t i = 0; i < s->nsinks; i++) {
        rc = hs_tool_emit_to(ctx, s->sinks[i], t, s->out.data, s->out.len);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static const hs_tool_param hs__sbs_params[] = {
    {"func", HS_P_FUNC, NULL,
     "applied to each value: identity, abs, neg, sqrt, exp, log, log10, floor, ceil, round, "
     "c_to_f, f_to_c, len or not"},
    {"use_keys_not_values", HS_P_BOOL, "false",
     "take the plate values from the keys of the splitting map rather than its values"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_stream_broadcaster_from_stream = {
    .name = NAME,
    .version = "0.0.2",
    .kind = HS_TOOL_MULTI,
    .min_sources = 1,
    .max_sources = 1,
    .splitting = true,
    .summary = "Copies func of each value to the plate values named by the splitting stream",
    .doc = "The plate values are the sorted, distinct values (or keys, with "
           "use_keys_not_values) of the last value of the splitting stream over (MIN, job "
           "end] when it is a map, or its items when it is a list (texts of strings and "
           "numbers). For each instance (t, v) of the source in the job interval, emits "
           "(t, func(v)) to the sink of each of those plate values; the other sinks receive "
           "nothing. Parameters: func (required, a unary function; identity copies), "
           "use_keys_not_values (bool, default false). Example: splitting value {\"a\": "
           "\"kitchen\"} with func identity copies the source to room=kitchen only. Plate "
           "values the output plate does not have are warned about and skipped; a splitting "
           "stream without a value gives no output (warned); a splitting value that is not a "
           "map or list, or holds containers, fails the job. Differences from HyperStream: "
           "func is applied to each value, not to the iterator of all instances of the job "
           "(so the output does not depend on how a period is cut into jobs), and the "
           "splitting stream is always read from MIN.",
    .params = hs__sbs_params,
    .check_param = hs_func_check_unary,
    .init = hs__sbs_init,
    .map = hs__sbs_map,
    .fini = hs__sbs_fini,
};
