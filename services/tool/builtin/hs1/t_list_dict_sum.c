/* The list_dict_sum tool: the field-wise sum of each list of maps. */
#include "hs1.h"

#include "hs_error.h"

#include <string.h>

typedef struct hs__lds {
    const hs_value *start; /* start_dict (a map of numbers in the job arena) or NULL */
    bool log_new;          /* log_new_keys */
    bool insert_new;       /* insert_new_keys */
} hs__lds;

static int hs__lds_init(hs_tool_ctx *ctx, void **state)
{
    hs__lds *s = hs_arena_alloc(hs_tool_arena(ctx), sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->log_new = s->insert_new = true;
    *state = s;
    s->start = hs_tool_param_value(ctx, "start_dict");
    if (s->start != NULL) {
        if (s->start->type != HS_V_MAP)
            return hs_tool_fail(ctx, "list_dict_sum: parameter 'start_dict' must be a map of "
                                     "numbers");
        for (uint32_t i = 0; i < s->start->len; i++) {
            const hs_value *k = &s->start->u.items[2 * i];
            double d;
            if (hs_value_to_double(&s->start->u.items[2 * i + 1], &d) != HS_OK)
                return hs_tool_fail(ctx, "list_dict_sum: start_dict['%.*s'] is not a number",
                                    (int)k->len, k->u.s);
        }
    }
    int rc = hs_tool_param_bool(ctx, "log_new_keys", &s->log_new);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    rc = hs_tool_param_bool(ctx, "insert_new_keys", &s->insert_new);
    return rc == HS_ERR_NOTFOUND ? HS_OK : rc;
}

/* Whether v is a list of maps whose values are numbers; *pairs counts their fields. */
static bool hs__lds_shape(const hs_value *v, size_t *pairs)
{
    *pairs = 0;
    if (v->type != HS_V_ARRAY)
        return false;
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_value *m = &v->u.items[i];
        if (m->type != HS_V_MAP)
            return false;
        for (uint32_t j = 0; j < m->len; j++) {
            double d;
            if (hs_value_to_double(&m->u.items[2 * j + 1], &d) != HS_OK)
                return false;
        }
        *pairs += m->len;
    }
    return true;
}

static int hs__lds_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    const hs__lds *s = state;
    size_t pairs;
    if (!hs__lds_shape(v, &pairs)) {
        hs_tool_warn(ctx,
                     "list_dict_sum: the value at %lld is not a list of maps of numbers; "
                     "skipped",
                     (long long)t);
        return HS_OK;
    }
    hs_arena *a = hs_tool_scratch(ctx);
    uint32_t nstart = s->start != NULL ? s->start->len : 0;
    size_t max = pairs + nstart;
    hs1_keys keys;
    int rc = hs1_keys_init(&keys, a, max);
    if (rc != HS_OK)
        return rc;
    hs1_num *sums = hs_arena_alloc(a, (max ? max : 1) * sizeof *sums);
    if (sums == NULL)
        return HS_ERR_NOMEM;
    /* A fresh copy of the start for every instance: nothing carries over. */
    for (uint32_t i = 0; i < nstart; i++) {
        const hs_value *k = &s->start->u.items[2 * i];
        bool added;
        long idx = hs1_keys_get(&keys, k->u.s, k->len, true, &added);
        if (added)
            hs1_num_set(&sums[idx], &s->start->u.items[2 * i + 1]);
    }
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_value *m = &v->u.items[i];
        for (uint32_t j = 0; j < m->len; j++) {
            const hs_value *k = &m->u.items[2 * j];
            const hs_value *x = &m->u.items[2 * j + 1];
            long idx = hs1_keys_get(&keys, k->u.s, k->len, false, NULL);
            if (idx >= 0) {
                hs1_num_add(&sums[idx], x);
                continue;
            }
            if (s->log_new)
                hs_tool_warn(ctx, "list_dict_sum: new key '%.*s' at %lld%s", (int)k->len, k->u.s,
                             (long long)t, s->insert_new ? "" : " (left out)");
            if (s->insert_new) {
                idx = hs1_keys_get(&keys, k->u.s, k->len, true, NULL);
                hs1_num_set(&sums[idx], x);
            }
        }
    }
    hs_value *out = hs1_keys_map(&keys, a);
    if (out == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; i < keys.n; i++) {
        hs_value *x = &out->u.items[2 * i + 1];
        if (sums[i].is_int) {
            x->type = HS_V_INT;
            x->u.i = sums[i].i;
        } else {
            x->type = HS_V_FLOAT;
            x->u.f = sums[i].f;
        }
    }
    return hs_tool_emit_value(ctx, t, out);
}

static const hs_tool_param hs__lds_params[] = {
    {"start_dict", HS_P_MAP, "null", "a map of numbers every sum starts from (default {})"},
    {"log_new_keys", HS_P_BOOL, "true", "warn about keys that are not in the sum yet"},
    {"insert_new_keys", HS_P_BOOL, "true", "add such keys (false: leave them out)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_list_dict_sum = {
    .name = "list_dict_sum",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "The field-wise sum of each list of maps",
    .doc = "For every instance (t, v) of the source whose value is a list of maps of numbers "
           "(integers, floats, bools as 0/1), starts from a copy of start_dict and adds each "
           "field of each map to the field of the same name, then emits (t, the sums). A "
           "key not yet in the sum is a new key: it is warned about when log_new_keys is "
           "set, and added (its first value as the start) when insert_new_keys is set, or "
           "left out otherwise. Sums keep Python's types: integers stay integers, a float "
           "makes the field a float. Fields appear in the order of start_dict, then in the "
           "order first seen. Parameters: start_dict (map of numbers, default none = {}), "
           "log_new_keys (bool, default true), insert_new_keys (bool, default true). "
           "Example: [{\"a\": 1, \"b\": 2}, {\"a\": 3}] gives {\"a\": 4, \"b\": 2}; with "
           "start_dict {\"c\": 0} it gives {\"c\": 0, \"a\": 4, \"b\": 2}. An empty list gives "
           "start_dict once ({} without one). Differences from HyperStream: every instance "
           "starts from its own copy of start_dict (HyperStream adds into the one shared "
           "dict, so sums carry over from instance to instance), an empty list is emitted "
           "once (HyperStream emits it twice), and a value that is not a list of maps of "
           "numbers is skipped with a warning instead of failing the job.",
    .params = hs__lds_params,
    .init = hs__lds_init,
    .map = hs__lds_map,
};
