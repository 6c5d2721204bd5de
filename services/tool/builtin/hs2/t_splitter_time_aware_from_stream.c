/*
 * The splitter_time_aware_from_stream tool: like splitter_time_aware, with
 * the intervals taken from the last value of the splitting stream.
 */
#include "hs2.h"

#include "hs_error.h"

#define NAME "splitter_time_aware_from_stream"

static int hs__stas_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    hs_value *list;
    int rc = hs2_splitting_last(ctx, NAME, "split", &list);
    if (rc <= 0)
        return rc;
    hs2_tiv *tivs;
    size_t n;
    rc = hs2_time_intervals(ctx, NAME, "the splitting stream's last value", list, true, &tivs, &n);
    if (rc != HS_OK)
        return rc;
    return hs2_split_by_time(ctx, NAME, tivs, n);
}

const hs_tool_def hs_tool_splitter_time_aware_from_stream = {
    .name = NAME,
    .version = "1.0.0",
    .kind = HS_TOOL_MULTI,
    .min_sources = 1,
    .max_sources = 1,
    .splitting = true,
    .summary = "Sends the data inside time intervals read from the splitting stream to one "
               "plate value per interval",
    .doc = "The intervals are the last value of the splitting stream over (MIN, job end]: a "
           "list of [start, end] items (plate values \"1\", \"2\", ... by position) or of "
           "[plate value, [start, end]] items, with instants as integer microseconds (as "
           "sliding_window writes windows) or ISO-8601 / epoch-second strings. Every "
           "instance of the source in the job interval that lies in an interval (start, end] "
           "is emitted unchanged to that interval's plate value. No parameters. Example: a "
           "splitting value [[\"a\", [0, 60000000]]] sends the source's first minute of 1970 "
           "to plate value a. A splitting stream without a value gives no output (warned); a "
           "malformed value fails the job; plate values the output plate does not have are "
           "warned about and skipped. Differences from HyperStream: the splitting stream is "
           "read over (MIN, job end] rather than the job interval, and each interval is "
           "intersected with the job interval instead of being used only when it lies wholly "
           "inside it, so the result does not depend on how a period is cut into jobs.",
    .run = hs__stas_run,
};
