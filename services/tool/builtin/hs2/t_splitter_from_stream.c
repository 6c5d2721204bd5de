/*
 * The splitter_from_stream tool: a splitter whose mapping (key -> plate
 * value) is the last value of the splitting stream.
 */
#include "hs2.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"

#include <string.h>

#define NAME "splitter_from_stream"

typedef struct hs__sfs {
    const char *element; /* NULL: every field of the value */
    size_t elen;
    hs2_mapping mapping;
    bool have_mapping;
    hs_buf out; /* owned: the emitted value */
} hs__sfs;

static int hs__sfs_init(hs_tool_ctx *ctx, void **state)
{
    hs__sfs *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->out, 0);
    *state = s;
    int rc = hs_tool_param_string(ctx, "element", &s->element);
    if (rc == HS_OK)
        s->elen = strlen(s->element);
    else if (rc != HS_ERR_NOTFOUND)
        return rc;
    bool keys_only = false;
    rc = hs_tool_param_bool(ctx, "use_mapping_keys_only", &keys_only);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    hs_value *m;
    rc = hs2_splitting_last(ctx, NAME, "split", &m);
    if (rc <= 0)
        return rc;
    rc = hs2_mapping_build(ctx, NAME, "the splitting stream's last value", m, keys_only,
                           &s->mapping);
    if (rc != HS_OK)
        return rc;
    if (s->mapping.n == 0)
        hs_tool_warn(ctx, NAME ": the mapping (the splitting stream's last value) is empty");
    s->have_mapping = true;
    return HS_OK;
}

static void hs__sfs_fini(void *state)
{
    hs__sfs *s = state;
    if (s == NULL)
        return;
    hs_buf_free(&s->out);
    hs_free(s);
}

/* The mapped plate value of key k, or NULL after a warning. */
static const hs2_map_ent *hs__sfs_find(hs_tool_ctx *ctx, hs__sfs *s, const char *k, size_t len,
                                       int64_t t)
{
    const hs2_map_ent *e = hs2_mapping_find(&s->mapping, k, len);
    if (e == NULL)
        hs_tool_warn(ctx, NAME ": key '%.*s' (at %lld) is not in the mapping; dropped",
                     (int)(len > 200 ? 200 : len), k, (long long)t);
    return e;
}

static int hs__sfs_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__sfs *s = state;
    if (!s->have_mapping)
        return HS_OK;
    if (v->type != HS_V_MAP) {
        hs_tool_warn(ctx, NAME ": the value at %lld is not a map; skipped", (long long)t);
        return HS_OK;
    }
    if (s->element == NULL) {
        for (uint32_t i = 0; i < v->len; i++) {
            const hs_value *k = &v->u.items[2 * i], *sub = &v->u.items[2 * i + 1];
            const hs2_map_ent *e = hs__sfs_find(ctx, s, k->u.s, k->len, t);
            if (e == NULL || sub->type == HS_V_NIL)
                continue;
            long sink = hs2_sink(ctx, NAME, e->to, e->tlen, t);
            if (sink < 0)
                continue;
            int rc = hs_tool_emit_value_to(ctx, (size_t)sink, t, sub);
            if (rc != HS_OK)
                return rc;
        }
        return HS_OK;
    }
    const hs_value *ev = hs_value_map_get(v, s->element, s->elen);
    if (ev == NULL) {
        hs_tool_warn(ctx, NAME ": the value at %lld has no '%s'; skipped", (long long)t,
                     s->element);
        return HS_OK;
    }
    char buf[HS_TU_KEY_BUF];
    const char *key;
    size_t klen;
    if (!hs_tu_key_text(ev, buf, &key, &klen)) {
        hs_tool_warn(ctx, NAME ": '%s' at %lld is not a string or number; skipped", s->element,
                     (long long)t);
        return HS_OK;
    }
    const hs2_map_ent *e = hs__sfs_find(ctx, s, key, klen, t);
    if (e == NULL)
        return HS_OK;
    long sink = hs2_sink(ctx, NAME, e->to, e->tlen, t);
    if (sink < 0)
        return HS_OK;
    hs_buf_reset(&s->out);
    int rc = hs2_encode_map_without(v, s->element, s->elen, &s->out);
    if (rc != HS_OK)
        return rc;
    return hs_tool_emit_to(ctx, (size_t)sink, t, s->out.data, s->out.len);
}

static const hs_tool_param hs__sfs_params[] = {
    {"element", HS_P_STRING, "null",
     "the field naming the key (default: every field is split by its own key)"},
    {"use_mapping_keys_only", HS_P_BOOL, "false",
     "map each key of the mapping to itself, ignoring its values"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_splitter_from_stream = {
    .name = NAME,
    .version = "0.0.3",
    .kind = HS_TOOL_MULTI,
    .min_sources = 1,
    .max_sources = 1,
    .splitting = true,
    .summary = "Splits map values onto a plate with a mapping read from the splitting stream",
    .doc = "The mapping is the last value of the splitting stream over (MIN, job end]: a map "
           "key -> plate value (key -> key with use_mapping_keys_only) or a list of plate "
           "values (each mapped to itself). Without element, each field k of a map value "
           "goes, as (t, v[k]), to the plate value mapping[k] (nil fields are skipped). With "
           "element, the key is the text of v[element] and the map without that field goes "
           "to mapping[key]. Parameters: element (string, optional), use_mapping_keys_only "
           "(bool, default false). Example: mapping {\"k\": \"kitchen\"} and element room "
           "send {\"room\": \"k\", \"temp\": 21} to room=kitchen as {\"temp\": 21}. Keys missing "
           "from the mapping, plate values the output plate does not have, values that are "
           "not maps or lack the element are dropped with a warning; a splitting stream with "
           "no value gives no output (warned); a mapping that is neither a map nor a list, "
           "or has values that are not strings or numbers, fails the job. The mapping in "
           "force at the job end applies to the whole job. Differences from HyperStream: "
           "the splitting stream is always read from MIN (HyperStream does so only for "
           "asset streams), and bools read true/false. The splitting stream may be global or "
           "live on the input plate: each plate value is then split by its own mapping "
           "(tutorial 5: cities/country=NZ lists NZ's cities).",
    .params = hs__sfs_params,
    .init = hs__sfs_init,
    .map = hs__sfs_map,
    .fini = hs__sfs_fini,
};
