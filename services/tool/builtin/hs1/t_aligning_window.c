/* The aligning_window tool: a window around each instance's timestamp. */
#include "hs1.h"

#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"

typedef struct hs__aw {
    int64_t lower, upper; /* microseconds relative to the instance */
    hs_buf out;
} hs__aw;

static int hs__aw_init(hs_tool_ctx *ctx, void **state)
{
    hs__aw *s = hs_arena_alloc(hs_tool_arena(ctx), sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    s->lower = -HS_US_PER_S;
    s->upper = 0;
    hs_buf_init(&s->out, 0);
    *state = s;
    int rc = hs_tool_param_duration(ctx, "lower", &s->lower);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    rc = hs_tool_param_duration(ctx, "upper", &s->upper);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if (s->lower >= s->upper)
        return hs_tool_fail(ctx, "aligning_window needs lower < upper (the window is (t + lower, "
                                 "t + upper])");
    return HS_OK;
}

static void hs__aw_fini(void *state)
{
    hs__aw *s = state;
    if (s != NULL)
        hs_buf_free(&s->out);
}

static int hs__aw_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    (void)v;
    hs__aw *s = state;
    int64_t lo, up;
    if (__builtin_add_overflow(t, s->lower, &lo) || __builtin_add_overflow(t, s->upper, &up)) {
        hs_tool_warn(ctx, "aligning_window: the window of %lld overflows; skipped", (long long)t);
        return HS_OK;
    }
    hs_buf_reset(&s->out);
    int rc = hs_mp_put_array(&s->out, 2);
    if (rc == HS_OK)
        rc = hs_mp_put_int(&s->out, lo);
    if (rc == HS_OK)
        rc = hs_mp_put_int(&s->out, up);
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, s->out.data, s->out.len);
}

static const hs_tool_param hs__aw_params[] = {
    {"lower", HS_P_DURATION, "-1", "start of the window relative to the instance (exclusive)"},
    {"upper", HS_P_DURATION, "0", "end of the window relative to the instance (inclusive)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_aligning_window = {
    .name = "aligning_window",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "A window (t + lower, t + upper] at each instance of the source",
    .doc = "Emits (t, [t + lower, t + upper]) for every instance at t of the source (its "
           "value is not used): the window (t + lower, t + upper] as two integers of "
           "microseconds, the form sliding_window writes, so sliding_apply and "
           "sliding_listify take it as their window source. Parameters: lower and upper "
           "(durations such as \"-10s\" or seconds; defaults -1 and 0; lower < upper, else "
           "the job fails, as HyperStream's TimeInterval refuses it). Example: lower -10s "
           "over an instance at 2016-04-28T20:00:10Z gives [1461873600000000, "
           "1461873610000000]. A window whose ends overflow int64 is skipped with a "
           "warning.",
    .params = hs__aw_params,
    .init = hs__aw_init,
    .map = hs__aw_map,
    .fini = hs__aw_fini,
};
