/* The list_mean tool: the mean of each list of numbers. */
#include "hs1.h"

#include "hs_error.h"

static int hs__lmean_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    (void)state;
    hs1_num sum;
    if (!hs1_list_sum(v, &sum)) {
        hs_tool_warn(ctx, "list_mean: the value at %lld is not a list of numbers; skipped",
                     (long long)t);
        return HS_OK;
    }
    if (v->len == 0) {
        hs_tool_warn(ctx, "list_mean: the list at %lld is empty; skipped", (long long)t);
        return HS_OK;
    }
    return hs_tool_emit_double(ctx, t, hs1_num_double(&sum) / (double)v->len);
}

const hs_tool_def hs_tool_list_mean = {
    .name = "list_mean",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "The mean of each list of numbers",
    .doc = "Emits (t, sum(v) / len(v)) as a float for every instance (t, v) of the source "
           "whose value is a non-empty list of numbers (integers, floats, bools as 0/1; "
           "true division, as HyperStream). No parameters. Example: [1, 2] gives 1.5. "
           "Differences from HyperStream: an empty list is skipped with a warning where "
           "HyperStream fails the job (ZeroDivisionError), and so is a value that is not a "
           "list of numbers.",
    .map = hs__lmean_map,
};
