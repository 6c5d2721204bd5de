/* Helpers shared by the built-in tools (see tool_util.h). */
#include "hs_fmt.h"
#include "tool_util.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ (t, v) buffer */

void hs_tvbuf_init(hs_tvbuf *b)
{
    memset(b, 0, sizeof *b);
}

void hs_tvbuf_free(hs_tvbuf *b)
{
    hs_free(b->t);
    hs_free(b->v);
    hs_tvbuf_init(b);
}

int hs_tvbuf_push(hs_tvbuf *b, int64_t t, double v)
{
    if (b->n == b->cap) {
        size_t live = b->n - b->head;
        if (b->head > 0 && live <= b->cap / 2) {
            /* Enough was dropped at the front: slide the rest down. */
            memmove(b->t, b->t + b->head, live * sizeof *b->t);
            memmove(b->v, b->v + b->head, live * sizeof *b->v);
        } else {
            size_t cap = b->cap ? b->cap * 2 : 1024;
            int64_t *nt = hs_malloc(cap * sizeof *nt);
            double *nv = hs_malloc(cap * sizeof *nv);
            if (nt == NULL || nv == NULL) {
                hs_free(nt);
                hs_free(nv);
                return HS_ERR_NOMEM;
            }
            if (live > 0) {
                memcpy(nt, b->t + b->head, live * sizeof *nt);
                memcpy(nv, b->v + b->head, live * sizeof *nv);
            }
            hs_free(b->t);
            hs_free(b->v);
            b->t = nt;
            b->v = nv;
            b->cap = cap;
        }
        b->head = 0;
        b->n = live;
    }
    b->t[b->n] = t;
    b->v[b->n] = v;
    b->n++;
    return HS_OK;
}

void hs_tvbuf_drop_through(hs_tvbuf *b, int64_t t)
{
    while (b->head < b->n && b->t[b->head] <= t)
        b->head++;
}

void hs_tvbuf_clear(hs_tvbuf *b)
{
    b->head = b->n = 0;
}

/* ------------------------------------------------------------------ instance buffer */

void hs_tu_ibuf_init(hs_tu_ibuf *b)
{
    memset(b, 0, sizeof *b);
    hs_buf_init(&b->bytes, 0);
}

void hs_tu_ibuf_free(hs_tu_ibuf *b)
{
    hs_free(b->t);
    hs_free(b->off);
    hs_free(b->len);
    hs_buf_free(&b->bytes);
    hs_tu_ibuf_init(b);
}

void hs_tu_ibuf_clear(hs_tu_ibuf *b)
{
    b->head = b->n = 0;
    hs_buf_reset(&b->bytes);
}

/* Moves the instances in use [head, n) and their bytes to the front. */
static void hs__tu_ibuf_slide(hs_tu_ibuf *b)
{
    size_t live = b->n - b->head;
    size_t boff = live > 0 ? b->off[b->head] : b->bytes.len;
    size_t blen = b->bytes.len - boff;
    memmove(b->bytes.data, b->bytes.data + boff, blen);
    b->bytes.len = blen;
    memmove(b->t, b->t + b->head, live * sizeof *b->t);
    memmove(b->len, b->len + b->head, live * sizeof *b->len);
    for (size_t i = 0; i < live; i++)
        b->off[i] = b->off[b->head + i] - boff;
    b->head = 0;
    b->n = live;
}

int hs_tu_ibuf_push(hs_tu_ibuf *b, int64_t t, const uint8_t *v, size_t len)
{
    /* Slide when at least half is dropped (amortised O(1)); grow otherwise. */
    if (b->n == b->cap && b->head > 0 && b->n - b->head <= b->cap / 2)
        hs__tu_ibuf_slide(b);
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        int64_t *nt = hs_realloc(b->t, cap * sizeof *nt);
        if (nt == NULL)
            return HS_ERR_NOMEM;
        b->t = nt;
        size_t *no = hs_realloc(b->off, cap * sizeof *no);
        if (no == NULL)
            return HS_ERR_NOMEM;
        b->off = no;
        size_t *nl = hs_realloc(b->len, cap * sizeof *nl);
        if (nl == NULL)
            return HS_ERR_NOMEM;
        b->len = nl;
        b->cap = cap;
    }
    b->t[b->n] = t;
    b->off[b->n] = b->bytes.len;
    b->len[b->n] = len;
    int rc = hs_buf_append(&b->bytes, v, len);
    if (rc != HS_OK)
        return rc;
    b->n++;
    return HS_OK;
}

/* ------------------------------------------------------------------ key text */

bool hs_tu_key_text(const hs_value *v, char buf[HS_TU_KEY_BUF], const char **s, size_t *len)
{
    switch (v->type) {
    case HS_V_STR:
        *s = v->u.s;
        *len = v->len;
        return true;
    case HS_V_INT:
        *len = (size_t)snprintf(buf, HS_TU_KEY_BUF, "%" PRId64, v->u.i);
        *s = buf;
        return true;
    case HS_V_BOOL:
        *s = v->u.b ? "true" : "false";
        *len = strlen(*s);
        return true;
    case HS_V_FLOAT:
        *len = hs_fmt_double(v->u.f, HS_FMT_SHORTEST, buf);
        *s = buf;
        return true;
    default:
        return false;
    }
}

/* ------------------------------------------------------------------ reading a source */

int hs_tu_each(hs_tool_ctx *ctx, size_t source, hs_interval range, hs_tu_each_fn fn, void *ud)
{
    hs_tool_iter it;
    int rc = hs_tool_iter_open(ctx, source, range, &it);
    if (rc != HS_OK)
        return rc;
    int64_t t;
    const uint8_t *p;
    size_t len;
    int r;
    while ((r = hs_tool_iter_next(&it, &t, &p, &len)) == 1) {
        if (fn != NULL && (rc = fn(ud, t, p, len)) != HS_OK)
            break;
    }
    hs_tool_iter_close(&it);
    return r < 0 ? r : rc;
}

/* ------------------------------------------------------------------ windows */

bool hs_tu_read_window(const uint8_t *p, size_t len, int64_t *lo, int64_t *up)
{
    hs_mp_reader r;
    uint32_t n;
    hs_mp_reader_init(&r, p, len);
    return hs_mp_get_array(&r, &n) == HS_OK && n == 2 && hs_mp_get_int(&r, lo) == HS_OK &&
           hs_mp_get_int(&r, up) == HS_OK && hs_mp_at_end(&r);
}

/* What hs__tu_window passes on: the caller's callback and how to read windows. */
typedef struct hs__tu_windows {
    hs_tool_ctx *ctx;
    const char *tool;
    bool clip;
    int64_t end; /* the job end */
    hs_tu_window_fn fn;
    void *ud;
} hs__tu_windows;

static int hs__tu_window(void *ud, int64_t t, const uint8_t *v, size_t len)
{
    hs__tu_windows *w = ud;
    int64_t lo, up;
    if (!hs_tu_read_window(v, len, &lo, &up)) {
        hs_tool_warn(w->ctx, "%s: the window at %lld is not [lo, up] in microseconds; skipped",
                     w->tool, (long long)t);
        return HS_OK;
    }
    if (w->clip) {
        if (up > w->end)
            up = w->end;
        if (lo >= up)
            return HS_OK;
    }
    return w->fn(w->ud, t, lo, up);
}

int hs_tu_each_window(hs_tool_ctx *ctx, const char *tool, bool clip, hs_tu_window_fn fn, void *ud)
{
    hs_interval iv = hs_tool_interval(ctx);
    hs__tu_windows w = {ctx, tool, clip, iv.end, fn, ud};
    return hs_tu_each(ctx, 0, iv, hs__tu_window, &w);
}
