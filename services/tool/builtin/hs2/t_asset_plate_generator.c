/* The asset_plate_generator tool: plate values from the keys, values or items of the last value. */
#include "hs2.h"

#include "hs_error.h"

#include <string.h>

#define NAME "asset_plate_generator"

/* Announces the text of v when it passes the filters; non-scalars are warned about. */
static int hs__apg_one(hs_tool_ctx *ctx, const hs2_texts *filters, const hs_value *v)
{
    char buf[HS_TU_KEY_BUF];
    const char *s;
    size_t len;
    if (!hs_tu_key_text(v, buf, &s, &len)) {
        hs_tool_warn(ctx, NAME ": a value that is not a string or number cannot be a plate "
                               "value; skipped");
        return HS_OK;
    }
    if (filters->n > 0 && !hs2_texts_has(filters, s, len))
        return HS_OK;
    return hs2_plate_value(ctx, NAME, s, len);
}

static int hs__apg_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    const char *element = NULL;
    bool use_values = false;
    hs2_texts filters;
    int rc = hs_tool_param_string(ctx, "element", &element);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    rc = hs_tool_param_bool(ctx, "use_value_instead_of_key", &use_values);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    rc = hs2_param_texts(ctx, NAME, "filters", &filters);
    if (rc != HS_OK)
        return rc;
    int64_t t;
    hs_value *v;
    rc = hs_tool_last(ctx, 0, hs_tool_interval(ctx), &t, &v);
    if (rc <= 0)
        return rc; /* an error, or no value in the interval: no plate values */
    rc = HS_OK;
    const hs_value *data = v;
    if (element != NULL) {
        data = hs_value_map_get(v, element, strlen(element));
        if (data == NULL) {
            hs_tool_warn(ctx, NAME ": the last value (at %lld) has no '%s'; no plate values",
                         (long long)t, element);
            return HS_OK;
        }
    }
    if (data->type == HS_V_MAP) {
        for (uint32_t i = 0; rc == HS_OK && i < data->len; i++)
            rc = hs__apg_one(ctx, &filters, &data->u.items[2 * i + (use_values ? 1 : 0)]);
    } else if (data->type == HS_V_ARRAY) {
        for (uint32_t i = 0; rc == HS_OK && i < data->len; i++)
            rc = hs__apg_one(ctx, &filters, &data->u.items[i]);
    } else {
        hs_tool_warn(ctx,
                     NAME ": the last value (at %lld) is neither a map nor a list; no plate "
                          "values",
                     (long long)t);
    }
    return rc;
}

static const hs_tool_param hs__apg_params[] = {
    {"element", HS_P_STRING, "null", "use value[element] instead of the whole value"},
    {"filters", HS_P_LIST, "null", "plate values to keep (a whitelist); null or empty: all"},
    {"use_value_instead_of_key", HS_P_BOOL, "false",
     "for a map, take its values rather than its keys"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_asset_plate_generator = {
    .name = NAME,
    .version = "0.2.0",
    .kind = HS_TOOL_PLATE,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Creates plate values from the keys, values or items of the last source value",
    .doc = "Takes the last instance of the source in the job interval, and its value d (or "
           "d[element] when element is given). For a map the plate values are its keys, or "
           "the texts of its values with use_value_instead_of_key; for a list, the texts of "
           "its items. filters, when non-empty, is a whitelist. Parameters: element (string, "
           "optional), filters (list, optional), use_value_instead_of_key (bool, default "
           "false). Example: the last value {\"1\": {...}, \"2\": {...}} creates the plate "
           "values 1 and 2. No instance in the interval creates nothing; a missing element, "
           "a value that is neither a map nor a list, items that are not strings or numbers "
           "and texts that cannot be stream-id values are warned about and skipped.",
    .params = hs__apg_params,
    .run = hs__apg_run,
};
