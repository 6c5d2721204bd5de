/* The meta_instance tool: each source value, through func, names a plate value. */
#include "functions.h"
#include "hs2.h"

#include "hs_alloc.h"
#include "hs_error.h"

#define NAME "meta_instance"

static int hs__mi_init(hs_tool_ctx *ctx, void **state)
{
    hs_func *f = hs_calloc(1, sizeof *f);
    if (f == NULL)
        return HS_ERR_NOMEM;
    *state = f;
    return hs_func_lookup(ctx, "func", HS_FUNC_UNARY, f);
}

static void hs__mi_fini(void *state)
{
    hs_func *f = state;
    if (f == NULL)
        return;
    hs_func_release(f);
    hs_free(f);
}

static int hs__mi_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs_func *f = state;
    hs_value out;
    int rc = f->unary(f->ud, hs_tool_scratch(ctx), t, v, &out);
    if (rc == HS_ERR_INVAL) {
        hs_tool_warn(ctx, NAME ": %s at %lld; skipped", hs_err_detail(), (long long)t);
        return HS_OK;
    }
    if (rc != HS_OK)
        return hs_tool_fail(ctx, NAME ": function %s failed: %s", f->name, hs_err_detail());
    char buf[HS_TU_KEY_BUF];
    const char *s;
    size_t len;
    if (!hs_tu_key_text(&out, buf, &s, &len)) {
        hs_tool_warn(ctx, NAME ": %s of the value at %lld is not a string or number; skipped",
                     f->name, (long long)t);
        return HS_OK;
    }
    return hs2_plate_value(ctx, NAME, s, len);
}

static const hs_tool_param hs__mi_params[] = {
    {"func", HS_P_FUNC, NULL,
     "gives the plate value of each value: identity, abs, neg, floor, ceil, round, len, ..."},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_meta_instance = {
    .name = NAME,
    .version = "1.0.0",
    .kind = HS_TOOL_PLATE,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Creates one plate value per source instance: the text of func(value)",
    .doc = "For each instance (t, v) of the source in the job interval, creates the plate "
           "value str(func(v)): strings as they are, integers in decimal, floats as Python "
           "prints them, bools true/false. Parameter: func (required, a unary function; "
           "identity uses the value itself). Example: func identity on values \"a\", \"b\", "
           "\"a\" creates the plate values a and b. Values the function cannot take, results "
           "that are not strings or numbers and texts that cannot be stream-id values are "
           "skipped with a warning. Difference from HyperStream: func receives the value, "
           "not the (timestamp, value) instance.",
    .params = hs__mi_params,
    .check_param = hs_func_check_unary,
    .init = hs__mi_init,
    .map = hs__mi_map,
    .fini = hs__mi_fini,
};
