/* Helpers shared by the tools of part "hs2" (see hs2.h). */
#include "hs2.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ values as plate values */

long hs2_sink(hs_tool_ctx *ctx, const char *tool, const char *pv, size_t len, int64_t t)
{
    long sink = hs_tool_sink_for(ctx, pv, len);
    if (sink < 0)
        hs_tool_warn(ctx, "%s: plate value '%.*s' (at %lld) is not on the output plate; dropped",
                     tool, (int)(len > 200 ? 200 : len), pv, (long long)t);
    return sink;
}

int hs2_plate_value(hs_tool_ctx *ctx, const char *tool, const char *pv, size_t len)
{
    if (hs_streamid_check_part(pv, len, "value") != HS_OK) {
        hs_tool_warn(ctx, "%s: '%.*s' cannot be a plate value (%s); skipped", tool,
                     (int)(len > 200 ? 200 : len), pv, hs_err_detail());
        return HS_OK;
    }
    return hs_tool_emit_plate_value(ctx, pv, len);
}

int hs2_job_key(hs_tool_ctx *ctx, const char *tool, const char *param, size_t first,
                const char **key)
{
    const char *p = NULL;
    int rc = hs_tool_param_string(ctx, param, &p);
    if (rc == HS_OK) {
        *key = p;
        return HS_OK;
    }
    if (rc != HS_ERR_NOTFOUND)
        return rc;
    const hs_streamid *sink = hs_tool_sink(ctx, 0);
    const char *found = NULL;
    for (size_t i = first; i < hs_tool_nsources(ctx); i++) {
        const hs_streamid *sid = hs_tool_source(ctx, i);
        for (size_t m = 0; m < sid->n_meta; m++) {
            const char *k = sid->meta[m].key;
            if (sink != NULL && hs_streamid_get(sink, k) != NULL)
                continue;
            if (found == NULL)
                found = k;
            else if (strcmp(found, k) != 0)
                return hs_tool_fail(ctx,
                                    "%s: the sources have meta-data keys '%s' and '%s' that the "
                                    "sink has not; give parameter '%s'",
                                    tool, found, k, param);
        }
    }
    if (found == NULL)
        return hs_tool_fail(ctx,
                            "%s: no source has a meta-data key that the sink lacks, so the key "
                            "cannot be inferred; give parameter '%s'",
                            tool, param);
    *key = found;
    return HS_OK;
}

/* ------------------------------------------------------------------ texts and mappings */

/* A NUL-terminated copy of the text of scalar v in the job arena; false when v is no scalar. */
static int hs2__text_dup(hs_tool_ctx *ctx, const hs_value *v, const char **s, size_t *len)
{
    char buf[HS_TU_KEY_BUF];
    const char *p;
    size_t n;
    if (!hs_tu_key_text(v, buf, &p, &n))
        return HS_ERR_INVAL;
    char *c = hs_arena_strndup(hs_tool_arena(ctx), p, n);
    if (c == NULL)
        return HS_ERR_NOMEM;
    *s = c;
    *len = n;
    return HS_OK;
}

int hs2_param_texts(hs_tool_ctx *ctx, const char *tool, const char *param, hs2_texts *out)
{
    memset(out, 0, sizeof *out);
    const hs_value *v = hs_tool_param_value(ctx, param);
    if (v == NULL)
        return HS_OK;
    if (v->type != HS_V_ARRAY)
        return hs_tool_fail(ctx, "%s: parameter '%s' must be a list of strings or numbers", tool,
                            param);
    hs_arena *a = hs_tool_arena(ctx);
    size_t cap = v->len ? v->len : 1;
    out->s = hs_arena_alloc(a, cap * sizeof *out->s);
    out->len = hs_arena_alloc(a, cap * sizeof *out->len);
    if (out->s == NULL || out->len == NULL)
        return HS_ERR_NOMEM;
    for (uint32_t i = 0; i < v->len; i++) {
        int rc = hs2__text_dup(ctx, &v->u.items[i], &out->s[i], &out->len[i]);
        if (rc == HS_ERR_INVAL)
            return hs_tool_fail(ctx, "%s: item %u of parameter '%s' is not a string or number",
                                tool, i, param);
        if (rc != HS_OK)
            return rc;
        out->n++;
    }
    return HS_OK;
}

bool hs2_texts_has(const hs2_texts *t, const char *s, size_t len)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->len[i] == len && memcmp(t->s[i], s, len) == 0)
            return true;
    return false;
}

static int hs2__bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return (alen > blen) - (alen < blen);
}

static int hs2__ent_cmp(const void *x, const void *y)
{
    const hs2_map_ent *a = x, *b = y;
    int c = hs2__bytes_cmp(a->from, a->flen, b->from, b->flen);
    if (c != 0)
        return c;
    /* Equal keys keep their given order, so a lookup finds the first. */
    return (a->idx > b->idx) - (a->idx < b->idx);
}

int hs2_mapping_build(hs_tool_ctx *ctx, const char *tool, const char *what, const hs_value *v,
                      bool keys_only, hs2_mapping *out)
{
    memset(out, 0, sizeof *out);
    if (v->type != HS_V_MAP && v->type != HS_V_ARRAY)
        return hs_tool_fail(ctx,
                            "%s: %s must be a map (key -> plate value) or a list of plate "
                            "values",
                            tool, what);
    bool is_map = v->type == HS_V_MAP;
    out->e = hs_arena_alloc(hs_tool_arena(ctx), (v->len ? v->len : 1) * sizeof *out->e);
    if (out->e == NULL)
        return HS_ERR_NOMEM;
    for (uint32_t i = 0; i < v->len; i++) {
        hs2_map_ent *e = &out->e[i];
        e->idx = i;
        const hs_value *from = is_map ? &v->u.items[2 * i] : &v->u.items[i];
        const hs_value *to = is_map && !keys_only ? &v->u.items[2 * i + 1] : from;
        int rc = hs2__text_dup(ctx, from, &e->from, &e->flen);
        if (rc == HS_OK)
            rc = hs2__text_dup(ctx, to, &e->to, &e->tlen);
        if (rc == HS_ERR_INVAL) {
            if (is_map)
                return hs_tool_fail(ctx,
                                    "%s: %s['%.*s'] must be a plate value (a string or number)",
                                    tool, what, (int)from->len, from->u.s);
            return hs_tool_fail(ctx, "%s: item %u of %s must be a plate value (a string or number)",
                                tool, i, what);
        }
        if (rc != HS_OK)
            return rc;
    }
    qsort(out->e, v->len, sizeof *out->e, hs2__ent_cmp);
    out->n = v->len;
    return HS_OK;
}

const hs2_map_ent *hs2_mapping_find(const hs2_mapping *m, const char *k, size_t len)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (hs2__bytes_cmp(m->e[mid].from, m->e[mid].flen, k, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->n && m->e[lo].flen == len && memcmp(m->e[lo].from, k, len) == 0)
        return &m->e[lo];
    return NULL;
}

int hs2_encode_map_without(const hs_value *m, const char *key, size_t klen, hs_buf *out)
{
    uint32_t keep = 0;
    for (uint32_t i = 0; i < m->len; i++) {
        const hs_value *k = &m->u.items[2 * i];
        keep += !(k->len == klen && memcmp(k->u.s, key, klen) == 0);
    }
    int rc = hs_mp_put_map(out, keep);
    for (uint32_t i = 0; rc == HS_OK && i < m->len; i++) {
        const hs_value *k = &m->u.items[2 * i];
        if (k->len == klen && memcmp(k->u.s, key, klen) == 0)
            continue;
        rc = hs_mp_put_str(out, k->u.s, k->len);
        if (rc == HS_OK)
            rc = hs_value_encode(&m->u.items[2 * i + 1], out);
    }
    return rc;
}

/* ------------------------------------------------------------------ merge */

static bool hs2__less(const hs2_head *a, const hs2_head *b)
{
    return a->t < b->t || (a->t == b->t && a->k < b->k);
}

static void hs2__push(hs2_merge *m, hs2_head h)
{
    size_t i = m->nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!hs2__less(&h, &m->heap[parent]))
            break;
        m->heap[i] = m->heap[parent];
        i = parent;
    }
    m->heap[i] = h;
}

static hs2_head hs2__pop(hs2_merge *m)
{
    hs2_head top = m->heap[0];
    hs2_head last = m->heap[--m->nheap];
    size_t i = 0, n = m->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && hs2__less(&m->heap[c + 1], &m->heap[c]))
            c++;
        if (!hs2__less(&m->heap[c], &last))
            break;
        m->heap[i] = m->heap[c];
        i = c;
    }
    if (n > 0)
        m->heap[i] = last;
    return top;
}

/* Reads the next instance of source k onto the heap; HS_OK also when it has ended. */
static int hs2__advance(hs2_merge *m, size_t k)
{
    int64_t t;
    int r = hs_tool_iter_next(&m->its[k], &t, &m->vals[k], &m->lens[k]);
    if (r < 0)
        return r;
    if (r == 1)
        hs2__push(m, (hs2_head){t, k});
    return HS_OK;
}

int hs2_merge_open(hs2_merge *m, hs_tool_ctx *ctx, const size_t *srcs, size_t n, hs_interval range)
{
    memset(m, 0, sizeof *m);
    m->ctx = ctx;
    m->pending = -1;
    m->n = n;
    size_t cap = n ? n : 1;
    m->its = hs_calloc(cap, sizeof *m->its);
    m->heap = hs_calloc(cap, sizeof *m->heap);
    m->vals = hs_calloc(cap, sizeof *m->vals);
    m->lens = hs_calloc(cap, sizeof *m->lens);
    if (m->its == NULL || m->heap == NULL || m->vals == NULL || m->lens == NULL)
        return HS_ERR_NOMEM;
    for (size_t k = 0; k < n; k++) {
        int rc = hs_tool_iter_open(ctx, srcs != NULL ? srcs[k] : k, range, &m->its[k]);
        m->nopen++; /* an iterator that failed to open is still closed */
        if (rc != HS_OK || (rc = hs2__advance(m, k)) != HS_OK)
            return rc;
    }
    return HS_OK;
}

int hs2_merge_next(hs2_merge *m, int64_t *t, size_t *k, const uint8_t **v, size_t *len)
{
    if (m->pending >= 0) {
        int rc = hs2__advance(m, (size_t)m->pending);
        m->pending = -1;
        if (rc != HS_OK)
            return rc;
    }
    if (m->nheap == 0)
        return 0;
    hs2_head h = hs2__pop(m);
    *t = h.t;
    *k = h.k;
    *v = m->vals[h.k];
    *len = m->lens[h.k];
    m->pending = (long)h.k;
    return 1;
}

void hs2_merge_close(hs2_merge *m)
{
    for (size_t k = 0; k < m->nopen; k++)
        hs_tool_iter_close(&m->its[k]);
    hs_free(m->its);
    hs_free(m->heap);
    hs_free(m->vals);
    hs_free(m->lens);
    memset(m, 0, sizeof *m);
    m->pending = -1;
}

/* ------------------------------------------------------------------ selection */

int hs2_select_emit(hs_tool_ctx *ctx, const char *tool, size_t first, const char *key,
                    const char *value, size_t vlen)
{
    size_t n = hs_tool_nsources(ctx);
    size_t *srcs = hs_malloc((n ? n : 1) * sizeof *srcs);
    if (srcs == NULL)
        return HS_ERR_NOMEM;
    size_t m = 0;
    for (size_t i = first; i < n; i++) {
        const char *v = hs_streamid_get(hs_tool_source(ctx, i), key);
        if (v != NULL && strlen(v) == vlen && memcmp(v, value, vlen) == 0)
            srcs[m++] = i;
    }
    if (m == 0) {
        hs_buf list;
        hs_buf_init(&list, 0);
        for (size_t i = first; i < n && i < first + 8; i++)
            hs_buf_printf(&list, "%s%s", i > first ? ", " : "", hs_tool_source(ctx, i)->canon);
        if (n > first + 8)
            hs_buf_puts(&list, ", ...");
        int rc = hs_tool_fail(ctx, "%s: no source has %s=%.*s (sources: %s)", tool, key,
                              (int)(vlen > 200 ? 200 : vlen), value,
                              n > first ? hs_buf_cstr(&list) : "none");
        hs_buf_free(&list);
        hs_free(srcs);
        return rc;
    }
    hs2_merge mg;
    int rc = hs2_merge_open(&mg, ctx, srcs, m, hs_tool_interval(ctx));
    int64_t t;
    size_t k, len;
    const uint8_t *p;
    int r = 0;
    while (rc == HS_OK && (r = hs2_merge_next(&mg, &t, &k, &p, &len)) == 1)
        rc = hs_tool_emit(ctx, t, p, len);
    if (rc == HS_OK && r < 0)
        rc = r;
    hs2_merge_close(&mg);
    hs_free(srcs);
    return rc;
}

/* ------------------------------------------------------------------ time intervals */

/* One instant of an interval; false when v is not one. */
static bool hs2__instant(const hs_value *v, bool ints_are_us, int64_t *out)
{
    switch (v->type) {
    case HS_V_STR:
        return hs_time_parse_iso(v->u.s, v->len, out) == HS_OK ||
               hs_time_parse_epoch(v->u.s, v->len, out) == HS_OK;
    case HS_V_INT:
        if (ints_are_us) {
            *out = v->u.i;
        } else {
            if (v->u.i > HS_TIME_MAX / HS_US_PER_S || v->u.i < HS_TIME_MIN / HS_US_PER_S)
                return false;
            *out = v->u.i * HS_US_PER_S;
        }
        return *out >= HS_TIME_MIN && *out <= HS_TIME_MAX;
    case HS_V_FLOAT: {
        if (ints_are_us || !isfinite(v->u.f))
            return false;
        double us = v->u.f * 1e6;
        if (us < (double)HS_TIME_MIN || us > (double)HS_TIME_MAX)
            return false;
        *out = (int64_t)llround(us);
        return true;
    }
    default:
        return false;
    }
}

static bool hs2__interval(const hs_value *v, bool ints_are_us, hs_interval *iv)
{
    return v->type == HS_V_ARRAY && v->len == 2 &&
           hs2__instant(&v->u.items[0], ints_are_us, &iv->start) &&
           hs2__instant(&v->u.items[1], ints_are_us, &iv->end);
}

int hs2_time_intervals(hs_tool_ctx *ctx, const char *tool, const char *what, const hs_value *list,
                       bool ints_are_us, hs2_tiv **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const char *form = ints_are_us ? "ISO-8601 or epoch-second strings, or integer microseconds"
                                   : "ISO-8601 strings or epoch seconds";
    if (list->type != HS_V_ARRAY)
        return hs_tool_fail(ctx,
                            "%s: %s must be a list of [start, end] or [plate value, [start, "
                            "end]] items",
                            tool, what);
    hs_arena *a = hs_tool_arena(ctx);
    hs2_tiv *v = hs_arena_alloc(a, (list->len ? list->len : 1) * sizeof *v);
    if (v == NULL)
        return HS_ERR_NOMEM;
    for (uint32_t i = 0; i < list->len; i++) {
        const hs_value *it = &list->u.items[i];
        hs2_tiv *x = &v[i];
        x->sink = -1;
        bool named = it->type == HS_V_ARRAY && it->len == 2 && it->u.items[1].type == HS_V_ARRAY;
        const hs_value *ivv = named ? &it->u.items[1] : it;
        if (!hs2__interval(ivv, ints_are_us, &x->iv))
            return hs_tool_fail(ctx,
                                "%s: item %u of %s is not [start, end] or [plate value, [start, "
                                "end]] with instants as %s",
                                tool, i, what, form);
        if (x->iv.start >= x->iv.end)
            return hs_tool_fail(ctx, "%s: item %u of %s starts at or after its end", tool, i, what);
        char buf[HS_TU_KEY_BUF];
        const char *s;
        size_t len;
        if (named) {
            if (!hs_tu_key_text(&it->u.items[0], buf, &s, &len))
                return hs_tool_fail(ctx,
                                    "%s: the plate value of item %u of %s must be a string "
                                    "or a number",
                                    tool, i, what);
        } else {
            len = (size_t)snprintf(buf, sizeof buf, "%u", i + 1);
            s = buf;
        }
        x->pv = hs_arena_strndup(a, s, len);
        if (x->pv == NULL)
            return HS_ERR_NOMEM;
        x->pvlen = len;
        for (uint32_t j = 0; j < i; j++)
            if (v[j].pvlen == len && memcmp(v[j].pv, x->pv, len) == 0)
                return hs_tool_fail(ctx,
                                    "%s: plate value '%s' has more than one interval in %s "
                                    "(not supported)",
                                    tool, x->pv, what);
    }
    *out = v;
    *n = list->len;
    return HS_OK;
}

int hs2_split_by_time(hs_tool_ctx *ctx, const char *tool, hs2_tiv *tivs, size_t n)
{
    hs_interval job = hs_tool_interval(ctx);
    int64_t lo = job.end, hi = job.start;
    for (size_t i = 0; i < n; i++) {
        hs2_tiv *x = &tivs[i];
        int64_t s = x->iv.start > job.start ? x->iv.start : job.start;
        int64_t e = x->iv.end < job.end ? x->iv.end : job.end;
        if (s >= e) {
            x->sink = -1; /* does not meet the job: nothing to emit */
            continue;
        }
        x->sink = hs2_sink(ctx, tool, x->pv, x->pvlen, s);
        if (x->sink < 0)
            continue;
        if (s < lo)
            lo = s;
        if (e > hi)
            hi = e;
    }
    if (lo >= hi)
        return HS_OK;
    hs_tool_iter it;
    int rc = hs_tool_iter_open(ctx, 0, (hs_interval){lo, hi}, &it);
    int64_t t;
    const uint8_t *p;
    size_t len;
    int r = 0;
    while (rc == HS_OK && (r = hs_tool_iter_next(&it, &t, &p, &len)) == 1) {
        for (size_t i = 0; rc == HS_OK && i < n; i++) {
            const hs2_tiv *x = &tivs[i];
            if (x->sink >= 0 && t > x->iv.start && t <= x->iv.end)
                rc = hs_tool_emit_to(ctx, (size_t)x->sink, t, p, len);
        }
    }
    if (rc == HS_OK && r < 0)
        rc = r;
    hs_tool_iter_close(&it);
    return rc;
}

int hs2_splitting_last(hs_tool_ctx *ctx, const char *tool, const char *verb, hs_value **v)
{
    int64_t t;
    hs_interval range = {HS_TIME_MIN - 1, hs_tool_interval(ctx).end};
    int rc = hs_tool_last(ctx, HS_TOOL_SPLITTING, range, &t, v);
    if (rc == 0)
        hs_tool_warn(ctx, "%s: the splitting stream has no value up to the job end; nothing is %s",
                     tool, verb);
    return rc;
}

int hs2_apply_encode(hs_tool_ctx *ctx, const char *tool, const hs_func *f, int64_t t,
                     const hs_value *v, hs_buf *out)
{
    hs_value res;
    int rc = f->unary(f->ud, hs_tool_scratch(ctx), t, v, &res);
    if (rc == HS_ERR_INVAL) {
        hs_tool_warn(ctx, "%s: %s at %lld; skipped", tool, hs_err_detail(), (long long)t);
        return 0;
    }
    if (rc != HS_OK)
        return hs_tool_fail(ctx, "%s: function %s failed: %s", tool, f->name, hs_err_detail());
    hs_buf_reset(out);
    if (hs_value_encode(&res, out) != HS_OK)
        return hs_tool_fail(ctx, "%s: function %s gave a value that cannot be encoded", tool,
                            f->name);
    return 1;
}
