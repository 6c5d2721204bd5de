/* The list_sum tool: the sum of each list of numbers. */
#include "hs1.h"

#include "hs_error.h"

static int hs__lsum_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    (void)state;
    hs1_num sum;
    if (!hs1_list_sum(v, &sum)) {
        hs_tool_warn(ctx, "list_sum: the value at %lld is not a list of numbers; skipped",
                     (long long)t);
        return HS_OK;
    }
    return sum.is_int ? hs_tool_emit_int(ctx, t, sum.i) : hs_tool_emit_double(ctx, t, sum.f);
}

const hs_tool_def hs_tool_list_sum = {
    .name = "list_sum",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "The sum of each list of numbers",
    .doc = "Emits (t, sum(v)) for every instance (t, v) of the source whose value is a list "
           "of numbers (integers, floats, bools as 0/1), with Python's types: a list of "
           "integers sums to an integer (a float if the sum leaves int64), a list with a "
           "float to a float; the empty list gives 0. No parameters. Example: [1, 2, 3] "
           "gives 6, [1, 2.5] gives 3.5. Difference from HyperStream: a value that is not a "
           "list of numbers is skipped with a warning instead of failing the job.",
    .map = hs__lsum_map,
};
