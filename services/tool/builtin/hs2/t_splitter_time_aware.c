/* The splitter_time_aware tool: the data inside each given time interval goes to its plate value.
 */
#include "hs2.h"

#include "hs_error.h"

#define NAME "splitter_time_aware"

static int hs__sta_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    const hs_value *list = hs_tool_param_value(ctx, "time_intervals");
    if (list == NULL)
        return hs_tool_fail(ctx, NAME ": parameter 'time_intervals' is required");
    hs2_tiv *tivs;
    size_t n;
    int rc = hs2_time_intervals(ctx, NAME, "parameter 'time_intervals'", list, false, &tivs, &n);
    if (rc != HS_OK)
        return rc;
    return hs2_split_by_time(ctx, NAME, tivs, n);
}

static const hs_tool_param hs__sta_params[] = {
    {"time_intervals", HS_P_LIST, NULL,
     "[[start, end], ...] (plate values \"1\", \"2\", ...) or [[plate value, [start, end]], "
     "...]; instants as ISO-8601 or epoch seconds"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_splitter_time_aware = {
    .name = NAME,
    .version = "1.0.0",
    .kind = HS_TOOL_MULTI,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Sends the data inside given time intervals to one plate value per interval",
    .doc = "time_intervals is a list of intervals (start, end], either [start, end] items, "
           "whose plate values are \"1\", \"2\", ... by position, or [plate value, [start, "
           "end]] items; instants are ISO-8601 strings or epoch seconds (numbers or strings). "
           "Every instance of the source in the job interval that also lies in an interval "
           "is emitted unchanged to that interval's plate value (to each of them when "
           "intervals overlap). Example: [[\"trial1\", [\"2016-04-28T20:00:00Z\", "
           "\"2016-04-28T20:10:00Z\"]]] sends the first ten minutes after 20:00 to "
           "trial=trial1. A malformed item, an interval with start >= end or a plate value "
           "given twice fails the job; plate values the output plate does not have are "
           "warned about and skipped. Difference from HyperStream: HyperStream uses only the "
           "intervals that lie wholly inside the execution interval, so its output depends on "
           "how a period is cut into jobs; here each interval is intersected with the job "
           "interval, so any cut gives the same result.",
    .params = hs__sta_params,
    .run = hs__sta_run,
};
