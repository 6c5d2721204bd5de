/*
 * The index_of_by_stream tool: like index_of, with the selection read from
 * the last value of a selector stream (source 0).
 */
#include "hs2.h"

#include "hs_error.h"
#include "hs_time.h"

#define NAME "index_of_by_stream"

static int hs__iobs_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    if (hs_tool_nsources(ctx) < 2)
        return hs_tool_fail(ctx, NAME ": needs the selector stream and at least one candidate "
                                      "source");
    int64_t end = hs_tool_interval(ctx).end, t;
    hs_value *sel;
    int rc = hs_tool_last(ctx, 0, (hs_interval){HS_TIME_MIN - 1, end}, &t, &sel);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return hs_tool_fail(ctx, NAME ": the selector stream %s has no value up to the job end",
                            hs_tool_source(ctx, 0)->canon);
    char sbuf[HS_TU_KEY_BUF], ibuf[HS_TU_KEY_BUF];
    const char *stext;
    size_t slen;
    if (!hs_tu_key_text(sel, sbuf, &stext, &slen))
        return hs_tool_fail(ctx, NAME ": the last value of the selector stream must be a string "
                                      "or number");
    const hs_value *index = hs_tool_param_value(ctx, "index");
    if (index != NULL) {
        /* HyperStream's form: the selector names the key, index is the value. */
        const char *itext;
        size_t ilen;
        if (!hs_tu_key_text(index, ibuf, &itext, &ilen))
            return hs_tool_fail(ctx, NAME ": parameter 'index' must be a string or number");
        char *key = hs_arena_strndup(hs_tool_arena(ctx), stext, slen);
        if (key == NULL)
            return HS_ERR_NOMEM;
        return hs2_select_emit(ctx, NAME, 1, key, itext, ilen);
    }
    /* Without index: the selector names the value of the selector key. */
    const char *key;
    rc = hs2_job_key(ctx, NAME, "selector_meta_data", 1, &key);
    if (rc != HS_OK)
        return rc;
    return hs2_select_emit(ctx, NAME, 1, key, stext, slen);
}

static const hs_tool_param hs__iobs_params[] = {
    {"index", HS_P_ANY, "null",
     "HyperStream's form: the plate value, with the selector stream naming the key"},
    {"selector_meta_data", HS_P_STRING, "null",
     "without index: the key whose value the selector stream names (default: the one key the "
     "candidates have and the sink has not)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_index_of_by_stream = {
    .name = NAME,
    .version = "1.0.0",
    .kind = HS_TOOL_SELECTOR,
    .min_sources = 2,
    .max_sources = -1,
    .summary = "Selects the stream of the plate value named by a selector stream",
    .doc = "Source 0 is the selector stream (global); the others are the candidates. The last "
           "value of the selector over (MIN, job end] (a string or number) chooses: without "
           "index it is the plate value, selected on the key selector_meta_data (default: "
           "the one meta-data key that the candidates have and the sink has not); with index "
           "(HyperStream's form) it is the key and index is the value. The instances in the "
           "job interval of every candidate whose meta-data has key = value are emitted "
           "unchanged to the sink. Example: over room, a selector whose last value is "
           "\"kitchen\" copies temperature/house=1/room=kitchen to the house's sink. A "
           "selector without a value, or no matching candidate, fails the job. As in "
           "HyperStream, the selection in force at the job end applies to the whole job. "
           "Differences from HyperStream: the form without index (HyperStream requires index "
           "and has the selector name the key), the optional selector_meta_data, and a clear "
           "failure instead of an AttributeError when the selector has no value.",
    .params = hs__iobs_params,
    .run = hs__iobs_run,
};
