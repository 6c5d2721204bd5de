/* Helpers shared by the tools of part "iot" (see iot.h). */
#include "iot.h"

#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include "functions.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool hs_iot_field(const uint8_t *v, size_t len, const char *key, size_t klen, const uint8_t **fv,
                  size_t *flen)
{
    if (key == NULL) {
        *fv = v;
        *flen = len;
        return true;
    }
    hs_mp_reader r;
    uint32_t n;
    hs_mp_reader_init(&r, v, len);
    if (hs_mp_get_map(&r, &n) != HS_OK)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        uint32_t kl;
        if (hs_mp_get_str(&r, &k, &kl) != HS_OK)
            return false;
        if (kl == klen && memcmp(k, key, klen) == 0)
            return hs_mp_get_raw(&r, fv, flen) == HS_OK;
        if (hs_mp_skip(&r) != HS_OK)
            return false;
    }
    return false;
}

bool hs_iot_number(const uint8_t *v, size_t len, const char *key, size_t klen, double *out)
{
    const uint8_t *fv;
    size_t fl;
    return hs_iot_field(v, len, key, klen, &fv, &fl) && hs_func_number(fv, fl, out);
}

int hs_iot_param_key(hs_tool_ctx *ctx, const char *name, const char **key, size_t *klen)
{
    *key = NULL;
    *klen = 0;
    int rc = hs_tool_param_string(ctx, name, key);
    if (rc == HS_ERR_NOTFOUND)
        return HS_OK;
    if (rc != HS_OK)
        return rc;
    *klen = strlen(*key);
    if (*klen == 0)
        return hs_tool_fail(ctx, "parameter '%s' must not be empty", name);
    return HS_OK;
}

int64_t hs_iot_time_add(int64_t a, int64_t b)
{
    if (b > 0 && a > HS_TIME_MAX - b)
        return HS_TIME_MAX;
    if (b < 0 && a < HS_TIME_MIN - 1 - b)
        return HS_TIME_MIN - 1;
    int64_t r = a + b;
    return r > HS_TIME_MAX ? HS_TIME_MAX : r < HS_TIME_MIN - 1 ? HS_TIME_MIN - 1 : r;
}

/* What hs__iot_scan keeps: the predicate and the last instance it accepted. */
typedef struct hs__iot_last {
    hs_iot_pred pred;
    void *ud;
    int64_t *t;
    hs_buf *out;
    int found;
} hs__iot_last;

static int hs__iot_keep(void *ud, int64_t t, const uint8_t *p, size_t len)
{
    hs__iot_last *l = ud;
    if (l->pred != NULL && !l->pred(l->ud, t, p, len))
        return HS_OK;
    hs_buf_reset(l->out);
    if (hs_buf_append(l->out, p, len) != HS_OK)
        return HS_ERR_NOMEM;
    *l->t = t;
    l->found = 1;
    return HS_OK;
}

/* Scans (lo, hi] forwards for the last instance satisfying pred. */
static int hs__iot_scan(hs_tool_ctx *ctx, size_t source, int64_t lo, int64_t hi, hs_iot_pred pred,
                        void *ud, int64_t *t, hs_buf *out)
{
    hs__iot_last l = {pred, ud, t, out, 0};
    int rc = hs_tu_each(ctx, source, (hs_interval){lo, hi}, hs__iot_keep, &l);
    return rc != HS_OK ? rc : l.found;
}

int hs_iot_find_last(hs_tool_ctx *ctx, size_t source, int64_t at, int64_t floor, hs_iot_pred pred,
                     void *ud, int64_t *t, hs_buf *out)
{
    if (floor < HS_TIME_MIN - 1)
        floor = HS_TIME_MIN - 1;
    int64_t hi = at, w = HS_US_PER_S;
    while (hi > floor) {
        /* The window (lo, hi] of width w, cut at floor; hi - floor fits since both are times. */
        int64_t lo = hi - floor <= w ? floor : hi - w;
        int rc = hs__iot_scan(ctx, source, lo, hi, pred, ud, t, out);
        if (rc != 0)
            return rc;
        hi = lo;
        if (w < INT64_MAX / 4)
            w *= 2;
    }
    return 0;
}

/* The field of the values hs__iot_is_number looks at. */
typedef struct hs__iot_key {
    const char *key;
    size_t klen;
} hs__iot_key;

/* The predicate that accepts every value with a number (at its key). */
static bool hs__iot_is_number(void *ud, int64_t t, const uint8_t *v, size_t len)
{
    (void)t;
    const hs__iot_key *k = ud;
    double d;
    return hs_iot_number(v, len, k->key, k->klen, &d);
}

int hs_iot_find_last_number(hs_tool_ctx *ctx, size_t source, int64_t at, int64_t floor,
                            const char *key, size_t klen, hs_iot_pred pred, void *ud, int64_t *t,
                            double *d)
{
    hs__iot_key k = {key, klen};
    if (pred == NULL) {
        pred = hs__iot_is_number;
        ud = &k;
    }
    hs_buf tmp; /* owned: the value found */
    hs_buf_init(&tmp, 0);
    int found = hs_iot_find_last(ctx, source, at, floor, pred, ud, t, &tmp);
    if (found == 1)
        hs_iot_number(tmp.data, tmp.len, key, klen, d);
    hs_buf_free(&tmp);
    return found;
}

int hs_iot_next_number(hs_tool_iter *it, const char *key, size_t klen, int64_t *t, double *d)
{
    int r;
    const uint8_t *v;
    size_t len;
    while ((r = hs_tool_iter_next(it, t, &v, &len)) == 1)
        if (hs_iot_number(v, len, key, klen, d))
            return 1;
    return r;
}

bool hs_iot_truthy(const hs_value *v)
{
    switch (v->type) {
    case HS_V_NIL:
        return false;
    case HS_V_BOOL:
        return v->u.b;
    case HS_V_INT:
        return v->u.i != 0;
    case HS_V_FLOAT:
        return v->u.f != 0.0; /* NaN != 0 is true, as in Python */
    default:
        return v->len > 0;
    }
}
