/* The stream_broadcaster tool: func of each value, sent to every value of the output plate. */
#include "functions.h"
#include "hs2.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"

#define NAME "stream_broadcaster"

typedef struct hs__sb {
    hs_func f;
    hs_buf out; /* owned: the encoded result */
} hs__sb;

static int hs__sb_init(hs_tool_ctx *ctx, void **state)
{
    hs__sb *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->out, 0);
    *state = s;
    return hs_func_lookup(ctx, "func", HS_FUNC_UNARY, &s->f);
}

static void hs__sb_fini(void *state)
{
    hs__sb *s = state;
    if (s == NULL)
        return;
    hs_func_release(&s->f);
    hs_buf_free(&s->out);
    hs_free(s);
}

static int hs__sb_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__sb *s = state;
    int rc = hs2_apply_encode(ctx, NAME, &s->f, t, v, &s->out);
    if (rc <= 0)
        return rc;
    for (size_t i = 0; i < hs_tool_nsinks(ctx); i++) {
        rc = hs_tool_emit_to(ctx, i, t, s->out.data, s->out.len);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static const hs_tool_param hs__sb_params[] = {
    {"func", HS_P_FUNC, NULL,
     "applied to each value: identity, abs, neg, sqrt, exp, log, log10, floor, ceil, round, "
     "c_to_f, f_to_c, len or not"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_stream_broadcaster = {
    .name = NAME,
    .version = "1.0.0",
    .kind = HS_TOOL_MULTI,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Copies func of each value to every value of the output plate",
    .doc = "For each instance (t, v) of the source in the job interval, emits (t, func(v)) "
           "to the sink of every value of the output plate below the job's plate value. "
           "Parameter: func (required, a unary function; identity copies). Example: func "
           "identity over output plate room (kitchen, lounge) copies a house's occupancy to "
           "both rooms. A value the function cannot take is skipped with a warning.",
    .params = hs__sb_params,
    .check_param = hs_func_check_unary,
    .init = hs__sb_init,
    .map = hs__sb_map,
    .fini = hs__sb_fini,
};
