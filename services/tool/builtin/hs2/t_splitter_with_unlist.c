/*
 * The splitter_with_unlist tool: a map value holds a list of maps under
 * element; each of them, merged with the rest of the value, goes to the
 * plate value named by its subelement.
 */
#include "hs2.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_mpack.h"

#include <string.h>

#define NAME "splitter_with_unlist"

typedef struct hs__swu {
    const char *element, *subelement;
    size_t elen, slen;
    hs2_mapping mapping;
    bool have_mapping;
    hs_buf out; /* owned */
} hs__swu;

static int hs__swu_init(hs_tool_ctx *ctx, void **state)
{
    hs__swu *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->out, 0);
    *state = s;
    int rc = hs_tool_param_string(ctx, "element", &s->element);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, NAME ": parameter 'element' (the field holding the list) is "
                                      "required");
    if (rc != HS_OK)
        return rc;
    rc = hs_tool_param_string(ctx, "subelement", &s->subelement);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, NAME ": parameter 'subelement' (the field of each item naming "
                                      "its plate value) is required");
    if (rc != HS_OK)
        return rc;
    s->elen = strlen(s->element);
    s->slen = strlen(s->subelement);
    const hs_value *m = hs_tool_param_value(ctx, "mapping");
    if (m != NULL) {
        if (m->type != HS_V_MAP)
            return hs_tool_fail(ctx, NAME ": parameter 'mapping' must be a map (key -> plate "
                                          "value)");
        rc = hs2_mapping_build(ctx, NAME, "mapping", m, false, &s->mapping);
        s->have_mapping = true;
    }
    return rc;
}

static void hs__swu_fini(void *state)
{
    hs__swu *s = state;
    if (s == NULL)
        return;
    hs_buf_free(&s->out);
    hs_free(s);
}

static bool hs__is(const hs_value *k, const char *s, size_t len)
{
    return k->len == len && memcmp(k->u.s, s, len) == 0;
}

/*
 * Encodes item without the subelement, merged with v without the element:
 * item fields first (a field v also has takes v's value), then v's other
 * fields, as a dict update of the item by the rest of v.
 */
static int hs__swu_merge(hs__swu *s, const hs_value *item, const hs_value *v)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < item->len; i++)
        n += !hs__is(&item->u.items[2 * i], s->subelement, s->slen);
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_value *k = &v->u.items[2 * i];
        if (hs__is(k, s->element, s->elen))
            continue;
        const hs_value *in_item = hs_value_map_get(item, k->u.s, k->len);
        n += in_item == NULL || hs__is(k, s->subelement, s->slen);
    }
    hs_buf_reset(&s->out);
    int rc = hs_mp_put_map(&s->out, n);
    for (uint32_t i = 0; rc == HS_OK && i < item->len; i++) {
        const hs_value *k = &item->u.items[2 * i];
        if (hs__is(k, s->subelement, s->slen))
            continue;
        const hs_value *val = &item->u.items[2 * i + 1];
        if (!hs__is(k, s->element, s->elen)) {
            const hs_value *over = hs_value_map_get(v, k->u.s, k->len);
            if (over != NULL)
                val = over;
        }
        rc = hs_mp_put_str(&s->out, k->u.s, k->len);
        if (rc == HS_OK)
            rc = hs_value_encode(val, &s->out);
    }
    for (uint32_t i = 0; rc == HS_OK && i < v->len; i++) {
        const hs_value *k = &v->u.items[2 * i];
        if (hs__is(k, s->element, s->elen))
            continue;
        if (hs_value_map_get(item, k->u.s, k->len) != NULL && !hs__is(k, s->subelement, s->slen))
            continue;
        rc = hs_mp_put_str(&s->out, k->u.s, k->len);
        if (rc == HS_OK)
            rc = hs_value_encode(&v->u.items[2 * i + 1], &s->out);
    }
    return rc;
}

static int hs__swu_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__swu *s = state;
    const hs_value *list = v->type == HS_V_MAP ? hs_value_map_get(v, s->element, s->elen) : NULL;
    if (list == NULL || list->type != HS_V_ARRAY) {
        hs_tool_warn(ctx, NAME ": the value at %lld is not a map with a list under '%s'; skipped",
                     (long long)t, s->element);
        return HS_OK;
    }
    for (uint32_t i = 0; i < list->len; i++) {
        const hs_value *item = &list->u.items[i];
        const hs_value *sub =
            item->type == HS_V_MAP ? hs_value_map_get(item, s->subelement, s->slen) : NULL;
        char buf[HS_TU_KEY_BUF];
        const char *key;
        size_t klen;
        if (sub == NULL || !hs_tu_key_text(sub, buf, &key, &klen)) {
            hs_tool_warn(ctx,
                         NAME ": item %u of '%s' at %lld is not a map with a string or number "
                              "under '%s'; skipped",
                         i, s->element, (long long)t, s->subelement);
            continue;
        }
        const char *pv = key;
        size_t pvlen = klen;
        if (s->have_mapping) {
            const hs2_map_ent *e = hs2_mapping_find(&s->mapping, key, klen);
            if (e == NULL) {
                hs_tool_warn(ctx, NAME ": key '%.*s' (at %lld) is not in the mapping; dropped",
                             (int)(klen > 200 ? 200 : klen), key, (long long)t);
                continue;
            }
            pv = e->to;
            pvlen = e->tlen;
        }
        long sink = hs2_sink(ctx, NAME, pv, pvlen, t);
        if (sink < 0)
            continue;
        int rc = hs__swu_merge(s, item, v);
        if (rc == HS_OK)
            rc = hs_tool_emit_to(ctx, (size_t)sink, t, s->out.data, s->out.len);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static const hs_tool_param hs__swu_params[] = {
    {"element", HS_P_STRING, NULL, "the field holding the list of maps"},
    {"subelement", HS_P_STRING, NULL, "the field of each item naming its plate value"},
    {"mapping", HS_P_MAP, "null", "key -> plate value (default: the key itself)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_splitter_with_unlist = {
    .name = NAME,
    .version = "1.0.0",
    .kind = HS_TOOL_MULTI,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Splits the list of maps under one field onto plate values named by a field of "
               "each item",
    .doc = "For each map value v with a list under element, each item (a map) gives key = "
           "the text of item[subelement] and goes to the plate value mapping[key] (key itself "
           "without a mapping) as the item without subelement, updated with the fields of v "
           "other than element (on a clash v's value wins, as Python's dict.update). "
           "Parameters: element and subelement (strings, required), mapping (map, optional). "
           "Example: element readings, subelement room on {\"house\": \"1\", \"readings\": "
           "[{\"room\": \"k\", \"temp\": 21}]} with mapping {\"k\": \"kitchen\"} gives "
           "{\"temp\": 21, \"house\": \"1\"} on room=kitchen. Values without the list, items "
           "without the subelement, keys missing from the mapping and plate values the "
           "output plate does not have are dropped with a warning. Difference from "
           "HyperStream: the mapping is optional.",
    .params = hs__swu_params,
    .init = hs__swu_init,
    .map = hs__swu_map,
    .fini = hs__swu_fini,
};
