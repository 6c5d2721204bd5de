/*
 * The index_of tool: from the streams of a plate, the data of the one whose
 * meta-data has (selector key, index), onto the sink on the reduced plate.
 */
#include "hs2.h"

#include "hs_error.h"

#define NAME "index_of"

static int hs__io_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    const hs_value *index = hs_tool_param_value(ctx, "index");
    char buf[HS_TU_KEY_BUF];
    const char *iv;
    size_t ilen;
    if (index == NULL || !hs_tu_key_text(index, buf, &iv, &ilen))
        return hs_tool_fail(ctx, NAME ": parameter 'index' (the plate value to select) must be "
                                      "a string or number");
    const char *key;
    int rc = hs2_job_key(ctx, NAME, "selector_meta_data", 0, &key);
    if (rc != HS_OK)
        return rc;
    return hs2_select_emit(ctx, NAME, 0, key, iv, ilen);
}

static const hs_tool_param hs__io_params[] = {
    {"index", HS_P_ANY, NULL, "the plate value to select, e.g. kitchen"},
    {"selector_meta_data", HS_P_STRING, "null",
     "the meta-data key selected on (default: the one key the sources have and the sink has "
     "not)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_index_of = {
    .name = NAME,
    .version = "0.2.0",
    .kind = HS_TOOL_SELECTOR,
    .min_sources = 1,
    .max_sources = -1,
    .summary = "Selects the stream of one plate value (e.g. the kitchen of each house)",
    .doc = "Of the sources, takes those whose meta-data has selector_meta_data = index and "
           "emits their instances in the job interval unchanged to the sink, which lives on "
           "the plate without that key. Parameters: index (string or number, required) and "
           "selector_meta_data (the key, e.g. room; default: the one meta-data key that the "
           "sources have and the sink has not). Example: over room with index kitchen, "
           "temperature/house=1/room=kitchen is copied to temperature_kitchen/house=1. No "
           "matching source fails the job with the list of sources. Difference from "
           "HyperStream: the key may be inferred.",
    .params = hs__io_params,
    .run = hs__io_run,
};
