/* The jsonify tool: each instance as the JSON text [time, value]. */
#include "hs1.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <stdlib.h>
#include <string.h>

typedef struct hs__jsonify {
    hs_buf text; /* the JSON text */
    hs_buf out;  /* the emitted string value */
} hs__jsonify;

static int hs__jsonify_init(hs_tool_ctx *ctx, void **state)
{
    (void)ctx;
    hs__jsonify *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->text, 0);
    hs_buf_init(&s->out, 0);
    *state = s;
    return HS_OK;
}

static void hs__jsonify_fini(void *state)
{
    hs__jsonify *s = state;
    if (s == NULL)
        return;
    hs_buf_free(&s->text);
    hs_buf_free(&s->out);
    hs_free(s);
}

/* Orders map pairs (key, value) by key bytes, which is Unicode code point order for UTF-8. */
static int hs__pair_cmp(const void *a, const void *b)
{
    const hs_value *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->u.s, y->u.s, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Sorts the keys of every map inside v (a tree the caller owns). */
static void hs__sort_keys(hs_value *v)
{
    if (v->type == HS_V_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++)
            hs__sort_keys(&v->u.items[i]);
    } else if (v->type == HS_V_MAP) {
        qsort(v->u.items, v->len, 2 * sizeof *v->u.items, hs__pair_cmp);
        for (uint32_t i = 0; i < v->len; i++)
            hs__sort_keys(&v->u.items[2 * i + 1]);
    }
}

static int hs__jsonify_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
{
    hs__jsonify *s = state;
    hs_value *sorted = hs_value_clone(hs_tool_scratch(ctx), v);
    if (sorted == NULL)
        return HS_ERR_NOMEM;
    hs__sort_keys(sorted);
    char iso[HS_TIME_ISO_MAX];
    size_t n = hs_time_format_iso(t, iso);
    hs_buf_reset(&s->text);
    int rc = hs_buf_putc(&s->text, '[');
    if (rc == HS_OK)
        rc = hs_json_put_string(&s->text, iso, n);
    if (rc == HS_OK)
        rc = hs_buf_putc(&s->text, ',');
    if (rc == HS_OK)
        rc = hs_value_to_json(sorted, &s->text);
    if (rc == HS_OK)
        rc = hs_buf_putc(&s->text, ']');
    if (rc != HS_OK) {
        hs_tool_warn(ctx, "jsonify: the value at %lld cannot be written as JSON; skipped",
                     (long long)t);
        return HS_OK;
    }
    hs_buf_reset(&s->out);
    rc = hs_mp_put_str(&s->out, (const char *)s->text.data, s->text.len);
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, s->out.data, s->out.len);
}

const hs_tool_def hs_tool_jsonify = {
    .name = "jsonify",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Each instance as the JSON text [time, value]",
    .doc = "Emits (t, text) for every instance (t, v) of the source, where text is the "
           "compact JSON array [\"<t in ISO-8601>\", v] with the keys of every map sorted "
           "(by code point). Times are written as 2016-04-28T20:00:00Z, with six fraction "
           "digits when not a whole second. Floats use the shortest form that reads back, "
           "with .0 when integral; NaN and infinities become null and binary data a base64 "
           "string, so the text is always valid JSON. No parameters. Example: at "
           "2016-04-28T20:00:00Z the value {\"b\": 1, \"a\": [true, null]} gives "
           "[\"2016-04-28T20:00:00Z\",{\"a\":[true,null],\"b\":1}]. Differences from "
           "HyperStream (json.dumps([str(t), v], sort_keys=True)): the time is ISO-8601 with "
           "T and Z rather than Python's \"2016-04-28 20:00:00+00:00\", the text has no "
           "spaces after , and :, non-ASCII characters are kept as UTF-8 rather than "
           "\\u escapes, and NaN/Infinity become null.",
    .init = hs__jsonify_init,
    .map = hs__jsonify_map,
    .fini = hs__jsonify_fini,
};
