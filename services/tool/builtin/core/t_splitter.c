/* The splitter tool: routes each map instance to a plate value named by one of its fields. */
#include "tool_util.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hs__split {
    const char *element; /* in the job arena */
    size_t elen;
    const hs_value *mapping; /* params map in the job arena, or NULL */
    hs_buf out;              /* the emitted value */
} hs__split;

static int hs__split_init(hs_tool_ctx *ctx, void **state)
{
    hs_arena *a = hs_tool_arena(ctx);
    hs__split *s = hs_arena_alloc(a, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    hs_buf_init(&s->out, 0);
    *state = s;
    int rc = hs_tool_param_string(ctx, "element", &s->element);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "splitter needs parameter 'element' (the field naming the plate "
                                 "value)");
    if (rc != HS_OK)
        return rc;
    s->elen = strlen(s->element);
    s->mapping = hs_tool_param_value(ctx, "mapping");
    if (s->mapping != NULL) {
        if (s->mapping->type != HS_V_MAP)
            return hs_tool_fail(ctx, "parameter 'mapping' of splitter must be a map");
        for (uint32_t i = 0; i < s->mapping->len; i++) {
            char buf[40];
            const char *k;
            size_t kl;
            if (!hs_tu_key_text(&s->mapping->u.items[2 * i + 1], buf, &k, &kl))
                return hs_tool_fail(ctx,
                                    "splitter: mapping['%.*s'] must be a plate value "
                                    "(a string or number)",
                                    (int)s->mapping->u.items[2 * i].len,
                                    s->mapping->u.items[2 * i].u.s);
        }
    }
    return HS_OK;
}

static void hs__split_fini(void *state)
{
    hs__split *s = state;
    if (s != NULL)
        hs_buf_free(&s->out);
}

static int hs__split_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__split *s = state;
    if (v->type != HS_V_MAP) {
        hs_tool_warn(ctx, "splitter: the value at %lld is not a map and was dropped", (long long)t);
        return HS_OK;
    }
    const hs_value *ev = hs_value_map_get(v, s->element, s->elen);
    if (ev == NULL) {
        hs_tool_warn(ctx, "splitter: the value at %lld has no '%s' and was dropped", (long long)t,
                     s->element);
        return HS_OK;
    }
    char kbuf[40], pbuf[40];
    const char *key, *pv;
    size_t klen, pvlen;
    if (!hs_tu_key_text(ev, kbuf, &key, &klen)) {
        hs_tool_warn(ctx, "splitter: '%s' at %lld is not a string or number; dropped", s->element,
                     (long long)t);
        return HS_OK;
    }
    pv = key;
    pvlen = klen;
    if (s->mapping != NULL) {
        const hs_value *m = hs_value_map_get(s->mapping, key, klen);
        if (m == NULL) {
            hs_tool_warn(ctx, "splitter: key '%.*s' at %lld is not in the mapping; dropped",
                         (int)klen, key, (long long)t);
            return HS_OK;
        }
        hs_tu_key_text(m, pbuf, &pv, &pvlen); /* checked by init */
    }
    long sink = hs_tool_sink_for(ctx, pv, pvlen);
    if (sink < 0) {
        hs_tool_warn(ctx,
                     "splitter: plate value '%.*s' (at %lld) is not on the output plate; "
                     "dropped",
                     (int)pvlen, pv, (long long)t);
        return HS_OK;
    }
    /* The map without the element key, fields otherwise in their order. */
    uint32_t keep = 0;
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_value *k = &v->u.items[2 * i];
        keep += !(k->len == s->elen && memcmp(k->u.s, s->element, s->elen) == 0);
    }
    hs_buf_reset(&s->out);
    int rc = hs_mp_put_map(&s->out, keep);
    for (uint32_t i = 0; rc == HS_OK && i < v->len; i++) {
        const hs_value *k = &v->u.items[2 * i];
        if (k->len == s->elen && memcmp(k->u.s, s->element, s->elen) == 0)
            continue;
        rc = hs_mp_put_str(&s->out, k->u.s, k->len);
        if (rc == HS_OK)
            rc = hs_value_encode(&v->u.items[2 * i + 1], &s->out);
    }
    if (rc != HS_OK)
        return rc;
    return hs_tool_emit_to(ctx, (size_t)sink, t, s->out.data, s->out.len);
}

static const hs_tool_param hs__split_params[] = {
    {"element", HS_P_STRING, NULL, "the field whose value names the plate value"},
    {"mapping", HS_P_MAP, "null", "field value -> plate value (default: the field value itself)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_splitter = {
    .name = "splitter",
    .version = "1.0.0",
    .kind = HS_TOOL_MULTI,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Splits map instances onto an output plate by the value of one field",
    .doc = "For each instance whose value is a map, takes key = the text of "
           "value[element] (strings as they are, integers in decimal, bools true/false, "
           "floats as Python prints them) and the plate value mapping[key] (or key itself "
           "when there is no mapping), and emits the map without the element field to "
           "the sink of that plate value. Parameters: element (string, required) and "
           "mapping (map, optional). Example: element room, mapping {\"k\": kitchen} sends "
           "{\"room\": \"k\", \"temp\": 21} to room=kitchen as {\"temp\": 21}. Non-maps, maps "
           "without the element, keys missing from the mapping and plate values that the "
           "output plate does not have are dropped with a warning. Differences from "
           "HyperStream: without a mapping the key is the plate value (HyperStream "
           "requires a mapping), and bools read true/false rather than True/False.",
    .params = hs__split_params,
    .init = hs__split_init,
    .map = hs__split_map,
    .fini = hs__split_fini,
};
