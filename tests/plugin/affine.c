/*
 * affine: an example tool plugin, the one docs/TOOLS.md writes step by
 * step. It emits gain * v + offset for every numeric instance of its
 * source and skips other values with a warning.
 *
 * Build (against the installed headers; the program that loads the plugin
 * provides every hs_* function, so nothing of the project is linked in):
 *   cc -shared -fPIC -O2 -I/usr/local/include/hyperstream -o affine.so affine.c
 */
#include "hs_error.h"
#include "hs_tool.h"

#include <stddef.h>

/* The parameters of one job, kept in the job's arena. */
typedef struct affine {
    double gain;
    double offset;
} affine;

/* Called once per job before the instances: reads the parameters. */
static int affine_init(hs_tool_ctx *ctx, void **state)
{
    affine *a = hs_arena_alloc(hs_tool_arena(ctx), sizeof *a);
    if (a == NULL)
        return HS_ERR_NOMEM;
    /* Both have defaults, so they are always there; a mistyped one fails the job. */
    int rc = hs_tool_param_double(ctx, "gain", &a->gain);
    if (rc == HS_OK)
        rc = hs_tool_param_double(ctx, "offset", &a->offset);
    *state = a;
    return rc;
}

/* Called for every instance of source 0 in the job interval, in time order. */
static int affine_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    const affine *a = state;
    double x;
    if (hs_value_to_double(v, &x) != HS_OK) {
        hs_tool_warn(ctx, "affine: the value at %lld is not a number; skipped", (long long)t);
        return HS_OK;
    }
    return hs_tool_emit_double(ctx, t, a->gain * x + a->offset);
}

static const hs_tool_param affine_params[] = {
    {"gain", HS_P_NUMBER, "1", "factor applied to every value"},
    {"offset", HS_P_NUMBER, "0", "added after the factor"},
    {NULL, HS_P_ANY, NULL, NULL},
};

static const hs_tool_def affine_tool = {
    .name = "affine",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "gain * v + offset for every numeric instance",
    .doc = "Emits (t, gain * v + offset) for every instance (t, v) of the source whose value "
           "is a number (integers, floats, bools as 0/1), as a float. Other values are skipped "
           "with a warning. Parameters: gain (default 1), offset (default 0). Example: gain "
           "1.8 and offset 32 turn Celsius into Fahrenheit, 100 into 212.0.",
    .params = affine_params,
    .init = affine_init,
    .map = affine_map,
};

/* The entry point the tool runtime looks for in every plugin. */
const hs_tool_def *const *hs_tool_plugin_tools(int api_version, size_t *n);

const hs_tool_def *const *hs_tool_plugin_tools(int api_version, size_t *n)
{
    static const hs_tool_def *const tools[] = {&affine_tool};
    if (api_version != HS_TOOL_API_VERSION)
        return NULL; /* built against another version of the tool API */
    *n = sizeof tools / sizeof tools[0];
    return tools;
}
