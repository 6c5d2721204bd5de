/* The relative_apply2 tool: a reducer over the numbers of each key of a list of maps. */
#include "functions.h"
#include "hs1.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"

typedef struct hs__ra2 {
    hs_func f;       /* the reducer */
    double *scratch; /* owned: room for reducers that reorder */
    size_t scap;
    hs_buf out;
} hs__ra2;

static int hs__ra2_init(hs_tool_ctx *ctx, void **state)
{
    hs__ra2 *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->out, 0);
    *state = s;
    return hs_func_lookup(ctx, "func", HS_FUNC_REDUCER, &s->f);
}

static void hs__ra2_fini(void *state)
{
    hs__ra2 *s = state;
    if (s == NULL)
        return;
    hs_func_release(&s->f);
    hs_free(s->scratch);
    hs_buf_free(&s->out);
    hs_free(s);
}

static int hs__ra2_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__ra2 *s = state;
    if (v->type != HS_V_ARRAY) {
        hs_tool_warn(ctx, "relative_apply2: the value at %lld is not a list of maps; skipped",
                     (long long)t);
        return HS_OK;
    }
    size_t pairs = 0;
    bool non_map = false;
    for (uint32_t i = 0; i < v->len; i++) {
        if (v->u.items[i].type == HS_V_MAP)
            pairs += v->u.items[i].len;
        else
            non_map = true;
    }
    if (non_map)
        hs_tool_warn(ctx,
                     "relative_apply2: items of the list at %lld that are not maps are "
                     "ignored",
                     (long long)t);
    hs_arena *a = hs_tool_scratch(ctx);
    hs1_keys keys;
    int rc = hs1_keys_init(&keys, a, pairs);
    if (rc != HS_OK)
        return rc;
    /* The numbers with the index of their key, then grouped by key (a counting sort). */
    size_t *kidx = hs_arena_alloc(a, (pairs ? pairs : 1) * sizeof *kidx);
    double *num = hs_arena_alloc(a, (pairs ? pairs : 1) * sizeof *num);
    size_t *count = hs_arena_alloc(a, (pairs + 1) * sizeof *count);
    double *grouped = hs_arena_alloc(a, (pairs ? pairs : 1) * sizeof *grouped);
    if (kidx == NULL || num == NULL || count == NULL || grouped == NULL)
        return HS_ERR_NOMEM;
    size_t nnum = 0;
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_value *m = &v->u.items[i];
        if (m->type != HS_V_MAP)
            continue;
        for (uint32_t j = 0; j < m->len; j++) {
            double d;
            if (hs_value_to_double(&m->u.items[2 * j + 1], &d) != HS_OK)
                continue; /* only numbers are collected, as HyperStream */
            const hs_value *k = &m->u.items[2 * j];
            kidx[nnum] = (size_t)hs1_keys_get(&keys, k->u.s, k->len, true, NULL);
            num[nnum++] = d;
        }
    }
    if (keys.n == 0)
        return HS_OK;
    for (size_t k = 0; k <= keys.n; k++)
        count[k] = 0;
    for (size_t i = 0; i < nnum; i++)
        count[kidx[i] + 1]++;
    for (size_t k = 1; k <= keys.n; k++)
        count[k] += count[k - 1];
    for (size_t i = 0; i < nnum; i++)
        grouped[count[kidx[i]]++] = num[i];
    /* count[k] is now the end of group k; group k starts where group k - 1 ends. */
    hs_buf_reset(&s->out);
    rc = hs_mp_put_map(&s->out, (uint32_t)keys.n);
    size_t from = 0;
    for (size_t k = 0; rc == HS_OK && k < keys.n; k++) {
        size_t n = count[k] - from;
        if (s->f.needs_scratch && s->scap < n) {
            double *ns = hs_realloc(s->scratch, n * sizeof *ns);
            if (ns == NULL)
                return HS_ERR_NOMEM;
            s->scratch = ns;
            s->scap = n;
        }
        double r;
        rc = s->f.reduce(s->f.ud, grouped + from, n, s->scratch, &r);
        if (rc != HS_OK)
            return hs_tool_fail(ctx, "relative_apply2: function %s failed: %s", s->f.name,
                                hs_err_detail());
        rc = hs_mp_put_str(&s->out, keys.s[k], keys.len[k]);
        if (rc == HS_OK)
            rc =
                s->f.int_result ? hs_mp_put_int(&s->out, (int64_t)r) : hs_mp_put_double(&s->out, r);
        from = count[k];
    }
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, s->out.data, s->out.len);
}

static const hs_tool_param hs__ra2_params[] = {
    {"func", HS_P_FUNC, NULL,
     "reducer: mean, sum, count, min, max, median, std, first, last, range or \"lua: ...\""},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_relative_apply2 = {
    .name = "relative_apply2",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Applies a reducer to the numbers of each key of a list of maps",
    .doc = "For every instance (t, v) of the source whose value is a list of maps (such as "
           "relative_window or sliding_listify write over map data), collects for each key "
           "the numeric values (integers, floats, bools as 0/1) of that key in the maps, in "
           "list order, and emits (t, {key: func(values)}) with the keys in the order first "
           "seen: a float, or an integer for count. Other values are ignored, and a list "
           "without any number gives no output. Parameter: func (required), one of mean, "
           "sum, count, min, max, median, std (population), first, last, range, or a "
           "user reducer \"lua: return function(values) ... end\". Example: "
           "func max over [{\"a\": 1, \"b\": 5}, {\"a\": 3, \"id\": \"x\"}] gives {\"a\": 3.0, "
           "\"b\": 5.0}. Differences from HyperStream: the function is a reducer of the "
           "values (HyperStream calls func(key, values)); all keys go into one map at t, "
           "where HyperStream yields one instance {key: result} per key at the same "
           "timestamp (which a store keeps only one of, or merges); items that are not maps "
           "are ignored with a warning and a value that is not a list is skipped with a "
           "warning instead of failing the job.",
    .params = hs__ra2_params,
    .check_param = hs_func_check_reducer,
    .init = hs__ra2_init,
    .map = hs__ra2_map,
    .fini = hs__ra2_fini,
};
