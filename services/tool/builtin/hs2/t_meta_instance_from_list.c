/* The meta_instance_from_list tool: plate values given as a parameter. */
#include "hs2.h"

#include "hs_error.h"

#define NAME "meta_instance_from_list"

static int hs__mil_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    hs2_texts values;
    int rc = hs2_param_texts(ctx, NAME, "values", &values);
    for (size_t i = 0; rc == HS_OK && i < values.n; i++)
        rc = hs2_plate_value(ctx, NAME, values.s[i], values.len[i]);
    return rc;
}

static const hs_tool_param hs__mil_params[] = {
    {"values", HS_P_LIST, "[]", "the plate values (strings or numbers)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_meta_instance_from_list = {
    .name = NAME,
    .version = "1.0.0",
    .kind = HS_TOOL_PLATE,
    .min_sources = 0,
    .max_sources = 1,
    .summary = "Creates the plate values listed in its parameter",
    .doc = "Creates one plate value per item of values (the text of a string or number), "
           "whatever the source holds (the source, if any, is not read). Parameter: values "
           "(list, default []). Example: values [\"a\", \"b\", 3] creates a, b and 3. An "
           "item that is not a string or number fails the job; a text that cannot be a "
           "stream-id value is skipped with a warning.",
    .params = hs__mil_params,
    .run = hs__mil_run,
};
