/* Helpers shared by the tools of part "hs1" (see hs1.h). */
#include "hs1.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_fmt.h"
#include "hs_hash.h"
#include "hs_mpack.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ numbers */

void hs1_num_set_int(hs1_num *n, int64_t i)
{
    n->is_int = true;
    n->i = i;
    n->f = 0;
}

bool hs1_num_set(hs1_num *n, const hs_value *v)
{
    switch (v->type) {
    case HS_V_INT:
        hs1_num_set_int(n, v->u.i);
        return true;
    case HS_V_BOOL:
        hs1_num_set_int(n, v->u.b ? 1 : 0);
        return true;
    case HS_V_FLOAT:
        n->is_int = false;
        n->i = 0;
        n->f = v->u.f;
        return true;
    default:
        return false;
    }
}

bool hs1_num_add(hs1_num *n, const hs_value *v)
{
    int64_t term;
    switch (v->type) {
    case HS_V_INT:
        term = v->u.i;
        break;
    case HS_V_BOOL:
        term = v->u.b ? 1 : 0;
        break;
    case HS_V_FLOAT:
        /* As Python: the integer sum so far is converted, then the float added. */
        if (n->is_int) {
            n->f = (double)n->i;
            n->is_int = false;
        }
        n->f += v->u.f;
        return true;
    default:
        return false;
    }
    if (!n->is_int) {
        n->f += (double)term;
        return true;
    }
    int64_t s;
    if (__builtin_add_overflow(n->i, term, &s)) {
        n->f = (double)n->i + (double)term;
        n->is_int = false;
    } else {
        n->i = s;
    }
    return true;
}

bool hs1_list_sum(const hs_value *v, hs1_num *sum)
{
    hs1_num_set_int(sum, 0);
    if (v->type != HS_V_ARRAY)
        return false;
    for (uint32_t i = 0; i < v->len; i++)
        if (!hs1_num_add(sum, &v->u.items[i]))
            return false;
    return true;
}

double hs1_num_double(const hs1_num *n)
{
    return n->is_int ? (double)n->i : n->f;
}

int hs1_num_put(const hs1_num *n, hs_buf *out)
{
    return n->is_int ? hs_mp_put_int(out, n->i) : hs_mp_put_double(out, n->f);
}

/* ------------------------------------------------------------------ keys */

int hs1_keys_init(hs1_keys *k, hs_arena *a, size_t max)
{
    memset(k, 0, sizeof *k);
    if (max > UINT32_MAX / 4)
        return hs_err_set(HS_ERR_LIMIT, "too many keys (%zu)", max);
    size_t nslots = 8;
    while (nslots < 2 * max)
        nslots *= 2;
    k->s = hs_arena_alloc(a, (max ? max : 1) * sizeof *k->s);
    k->len = hs_arena_alloc(a, (max ? max : 1) * sizeof *k->len);
    k->slots = hs_arena_alloc(a, nslots * sizeof *k->slots);
    if (k->s == NULL || k->len == NULL || k->slots == NULL)
        return HS_ERR_NOMEM;
    memset(k->slots, 0, nslots * sizeof *k->slots);
    k->mask = (uint32_t)(nslots - 1);
    k->max = max;
    return HS_OK;
}

long hs1_keys_get(hs1_keys *k, const char *s, uint32_t len, bool add, bool *added)
{
    if (added != NULL)
        *added = false;
    uint32_t h = hs_fnv1a32(s, len) & k->mask;
    for (;;) {
        uint32_t slot = k->slots[h];
        if (slot == 0)
            break;
        size_t i = slot - 1;
        if (k->len[i] == len && memcmp(k->s[i], s, len) == 0)
            return (long)i;
        h = (h + 1) & k->mask;
    }
    if (!add || k->n >= k->max)
        return -1;
    k->s[k->n] = s;
    k->len[k->n] = len;
    k->slots[h] = (uint32_t)(k->n + 1);
    if (added != NULL)
        *added = true;
    return (long)k->n++;
}

hs_value *hs1_keys_map(const hs1_keys *k, hs_arena *a)
{
    hs_value *m = hs_value_map(a, (uint32_t)k->n);
    if (m == NULL)
        return NULL;
    for (size_t i = 0; i < k->n; i++) {
        hs_value *key = &m->u.items[2 * i];
        key->type = HS_V_STR;
        key->len = k->len[i];
        key->u.s = k->s[i];
    }
    return m;
}

/* ------------------------------------------------------------------ helpers */

/* Python's repr of a finite double: shortest round trip, fixed for 1e-4 <= |f| < 1e16. */
static size_t hs1__float_repr(double f, char *buf)
{
    if (isnan(f))
        return (size_t)snprintf(buf, 40, "nan");
    if (isinf(f))
        return (size_t)snprintf(buf, 40, f < 0 ? "-inf" : "inf");
    char digits[HS_FMT_DIGITS_MAX];
    int exp10;
    size_t nd = hs_fmt_double_digits(f, digits, &exp10);
    size_t n = 0;
    if (signbit(f))
        buf[n++] = '-';
    if (exp10 < -4 || exp10 >= 16) {
        buf[n++] = digits[0];
        if (nd > 1) {
            buf[n++] = '.';
            memcpy(buf + n, digits + 1, nd - 1);
            n += nd - 1;
        }
        n += (size_t)snprintf(buf + n, 40 - n, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (exp10 < 0) {
        buf[n++] = '0';
        buf[n++] = '.';
        for (int z = 0; z < -exp10 - 1; z++)
            buf[n++] = '0';
        memcpy(buf + n, digits, nd);
        n += nd;
    } else {
        size_t ip = (size_t)exp10 + 1; /* digits before the point */
        for (size_t i = 0; i < ip; i++)
            buf[n++] = i < nd ? digits[i] : '0';
        buf[n++] = '.';
        if (nd > ip) {
            memcpy(buf + n, digits + ip, nd - ip);
            n += nd - ip;
        } else {
            buf[n++] = '0';
        }
    }
    buf[n] = '\0';
    return n;
}

bool hs1_key_text(const hs_value *v, char *buf, const char **s, size_t *len)
{
    switch (v->type) {
    case HS_V_STR:
        *s = v->u.s;
        *len = v->len;
        return true;
    case HS_V_INT:
        *len = (size_t)snprintf(buf, 40, "%" PRId64, v->u.i);
        *s = buf;
        return true;
    case HS_V_FLOAT:
        *len = hs1__float_repr(v->u.f, buf);
        *s = buf;
        return true;
    case HS_V_BOOL:
        *s = v->u.b ? "true" : "false";
        *len = strlen(*s);
        return true;
    case HS_V_NIL:
        *s = "null";
        *len = 4;
        return true;
    default:
        return false;
    }
}

bool hs1_value_eq(const hs_value *a, const hs_value *b)
{
    if (a->type == HS_V_INT && b->type == HS_V_FLOAT) {
        const hs_value *t = a;
        a = b;
        b = t;
    }
    if (a->type == HS_V_FLOAT && b->type == HS_V_INT) {
        /* Exact: the float must be integral, inside int64 and equal to the integer. */
        double f = a->u.f;
        if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0) || f != floor(f))
            return false;
        return (int64_t)f == b->u.i;
    }
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case HS_V_FLOAT:
        return a->u.f == b->u.f; /* 0.0 == -0.0 and NaN != NaN, as Python */
    case HS_V_ARRAY:
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!hs1_value_eq(&a->u.items[i], &b->u.items[i]))
                return false;
        return true;
    case HS_V_MAP:
        /* Same keys, in any order, with equal values. */
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++) {
            const hs_value *k = &a->u.items[2 * i];
            const hs_value *bv = hs_value_map_get(b, k->u.s, k->len);
            if (bv == NULL || !hs1_value_eq(&a->u.items[2 * i + 1], bv))
                return false;
        }
        return true;
    default:
        return hs_value_equal(a, b);
    }
}

int64_t hs1_add_sat(int64_t a, int64_t b)
{
    int64_t s;
    if (!__builtin_add_overflow(a, b, &s))
        return s;
    return b > 0 ? INT64_MAX : INT64_MIN;
}

bool hs1_is_container(const uint8_t *p, size_t len)
{
    if (len == 0)
        return false;
    uint8_t c = p[0];
    return (c >= 0x80 && c <= 0x9f) || (c >= 0xdc && c <= 0xdf);
}

/* ------------------------------------------------------------------ sliding buffer */

void hs1_wbuf_init(hs1_wbuf *w, size_t source, int64_t limit)
{
    memset(w, 0, sizeof *w);
    w->source = source;
    w->limit = limit;
    hs_tu_ibuf_init(&w->in);
}

void hs1_wbuf_free(hs1_wbuf *w)
{
    if (w->it_open)
        hs_tool_iter_close(&w->it);
    w->it_open = false;
    hs_tu_ibuf_free(&w->in);
}

int hs1_wbuf_window(hs_tool_ctx *ctx, hs1_wbuf *w, int64_t lo, int64_t up, size_t *first,
                    size_t *end)
{
    if (!w->it_open || lo < w->from) {
        if (w->it_open)
            hs_tool_iter_close(&w->it);
        w->it_open = false;
        hs_tu_ibuf_clear(&w->in);
        int rc = hs_tool_iter_open(ctx, w->source, (hs_interval){lo, w->limit}, &w->it);
        if (rc != HS_OK)
            return rc;
        w->it_open = true;
        w->done = lo >= w->limit;
        w->from = w->to = lo;
    } else {
        while (w->in.head < w->in.n && w->in.t[w->in.head] <= lo)
            w->in.head++;
        w->from = lo;
    }
    while (!w->done && w->to < up) {
        int64_t t;
        const uint8_t *p;
        size_t len;
        int r = hs_tool_iter_next(&w->it, &t, &p, &len);
        if (r < 0)
            return r;
        if (r == 0) {
            w->done = true;
            w->to = w->limit;
            break;
        }
        w->to = t;
        if (t > w->from) {
            int rc = hs_tu_ibuf_push(&w->in, t, p, len);
            if (rc != HS_OK)
                return rc;
        }
    }
    size_t a = w->in.head, b = w->in.n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (w->in.t[mid] <= up)
            a = mid + 1;
        else
            b = mid;
    }
    *first = w->in.head;
    *end = a;
    return HS_OK;
}

int hs1_wbuf_emit_list(hs_tool_ctx *ctx, const char *tool, const hs1_wbuf *w, size_t first,
                       size_t end, bool with_time, int64_t t, hs_buf *out)
{
    hs_buf_reset(out);
    int rc = hs_mp_put_array(out, (uint32_t)(end - first));
    bool nested = false;
    for (size_t i = first; rc == HS_OK && i < end; i++) {
        const uint8_t *v = hs1_wbuf_value(w, i);
        if (with_time) {
            rc = hs_mp_put_array(out, 2);
            if (rc == HS_OK)
                rc = hs_mp_put_int(out, w->in.t[i]);
        }
        if (rc == HS_OK)
            rc = hs_mp_put_raw(out, v, w->in.len[i]);
        nested = nested || hs1_is_container(v, w->in.len[i]);
    }
    if (rc != HS_OK)
        return rc;
    if (nested && hs_value_check(out->data, out->len) != HS_OK) {
        hs_tool_warn(ctx, "%s: the window at %lld nests too deep; skipped", tool, (long long)t);
        return HS_OK;
    }
    return hs_tool_emit(ctx, t, out->data, out->len);
}
