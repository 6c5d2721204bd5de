/* The list_length tool: the length of each list (or map, or string) instance. */
#include "hs1.h"

#include "hs_error.h"

/* Code points of UTF-8 text: the bytes that do not continue a sequence. */
static int64_t hs__codepoints(const char *s, uint32_t len)
{
    int64_t n = 0;
    for (uint32_t i = 0; i < len; i++)
        n += ((uint8_t)s[i] & 0xc0) != 0x80;
    return n;
}

static int hs__llen_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    (void)state;
    switch (v->type) {
    case HS_V_ARRAY:
    case HS_V_MAP:
    case HS_V_BIN:
        return hs_tool_emit_int(ctx, t, v->len);
    case HS_V_STR:
        return hs_tool_emit_int(ctx, t, hs__codepoints(v->u.s, v->len));
    default:
        hs_tool_warn(ctx, "list_length: the value at %lld has no length; skipped", (long long)t);
        return HS_OK;
    }
}

const hs_tool_def hs_tool_list_length = {
    .name = "list_length",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "The length of each list instance",
    .doc = "Emits (t, len(v)) as an integer for every instance (t, v) of the source: the "
           "items of a list, the fields of a map, the code points of a string, the bytes of "
           "binary data. No parameters. Example: [3, 1, 2] gives 3, {} gives 0. Difference "
           "from HyperStream: a value without a length (a number, a bool, null) is skipped "
           "with a warning instead of failing the job.",
    .map = hs__llen_map,
};
