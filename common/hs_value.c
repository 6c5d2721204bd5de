#include "hs_value.h"

#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"

#include <math.h>
#include <string.h>

/* Stands in for the bytes of empty strings and bins that own no memory. */
static const char hs__v_empty[1] = "";

/*
 * Allocates n values in a, or records why not: HS_ERR_LIMIT when the arena's
 * bound is the reason, HS_ERR_NOMEM otherwise.
 */
static int hs__v_alloc(hs_arena *a, size_t n, hs_value **out)
{
    size_t size = n * sizeof(hs_value);
    hs_value *v = hs_arena_alloc(a, size);
    if (v == NULL) {
        if (a->limit != 0 && size > a->limit - a->used)
            return hs_err_set(HS_ERR_LIMIT, "value: arena limit of %zu bytes reached", a->limit);
        return hs_err_set(HS_ERR_NOMEM, "value: out of memory");
    }
    *out = v;
    return HS_OK;
}

/* Decodes one value at r into v; depth is the number of containers around it. */
static int hs__v_decode(hs_arena *a, hs_mp_reader *r, hs_value *v, int depth)
{
    hs_mp_type t;
    int rc = hs_mp_peek(r, &t);
    if (rc != HS_OK)
        return rc;
    memset(v, 0, sizeof *v);
    switch (t) {
    case HS_MP_NIL:
        v->type = HS_V_NIL;
        return hs_mp_get_nil(r);
    case HS_MP_BOOL:
        v->type = HS_V_BOOL;
        return hs_mp_get_bool(r, &v->u.b);
    case HS_MP_INT:
        v->type = HS_V_INT;
        return hs_mp_get_int(r, &v->u.i);
    case HS_MP_UINT:
        return hs_err_set(HS_ERR_RANGE, "value: integer above INT64_MAX");
    case HS_MP_FLOAT:
        v->type = HS_V_FLOAT;
        return hs_mp_get_number(r, &v->u.f);
    case HS_MP_STR:
        v->type = HS_V_STR;
        return hs_mp_get_str(r, &v->u.s, &v->len);
    case HS_MP_BIN:
        v->type = HS_V_BIN;
        return hs_mp_get_bin(r, &v->u.bin, &v->len);
    case HS_MP_ARRAY:
    case HS_MP_MAP:
        break;
    case HS_MP_EXT:
    default:
        return hs_err_set(HS_ERR_PARSE, "value: msgpack ext types are not supported");
    }
    if (depth >= HS_MP_MAX_DEPTH)
        return hs_err_set(HS_ERR_LIMIT, "value: nesting deeper than %d", HS_MP_MAX_DEPTH);
    bool is_map = t == HS_MP_MAP;
    uint32_t n;
    rc = is_map ? hs_mp_get_map(r, &n) : hs_mp_get_array(r, &n);
    if (rc != HS_OK)
        return rc;
    /* The reader has checked that n elements fit in the remaining bytes, so
     * the allocation is bounded by the input size. */
    size_t items = is_map ? 2 * (size_t)n : n;
    v->type = is_map ? HS_V_MAP : HS_V_ARRAY;
    v->len = n;
    v->u.items = NULL;
    if (items == 0)
        return HS_OK;
    hs_value *it = NULL;
    rc = hs__v_alloc(a, items, &it);
    if (rc != HS_OK)
        return rc;
    v->u.items = it;
    for (size_t i = 0; i < items; i++) {
        if (is_map && i % 2 == 0) {
            rc = hs_mp_peek(r, &t);
            if (rc != HS_OK)
                return rc;
            if (t != HS_MP_STR)
                return hs_err_set(HS_ERR_PARSE, "value: map key %zu is not a string", i / 2);
        }
        rc = hs__v_decode(a, r, &it[i], depth + 1);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

int hs_value_decode(hs_arena *a, const uint8_t *data, size_t len, hs_value **out)
{
    if (a == NULL || out == NULL || (data == NULL && len > 0))
        return hs_err_set(HS_ERR_INVAL, "value: NULL argument");
    hs_mp_reader r;
    hs_mp_reader_init(&r, data, len);
    hs_value *root = NULL;
    int rc = hs__v_alloc(a, 1, &root);
    if (rc != HS_OK)
        return rc;
    rc = hs__v_decode(a, &r, root, 0);
    if (rc != HS_OK)
        return rc;
    if (!hs_mp_at_end(&r))
        return hs_err_set(HS_ERR_PARSE, "value: %zu bytes after the value", hs_mp_remaining(&r));
    *out = root;
    return HS_OK;
}

static int hs__v_encode(const hs_value *v, hs_buf *out, int depth)
{
    switch (v->type) {
    case HS_V_NIL:
        return hs_mp_put_nil(out);
    case HS_V_BOOL:
        return hs_mp_put_bool(out, v->u.b);
    case HS_V_INT:
        return hs_mp_put_int(out, v->u.i);
    case HS_V_FLOAT:
        return hs_mp_put_double(out, v->u.f);
    case HS_V_STR:
        return hs_mp_put_str(out, v->len > 0 ? v->u.s : hs__v_empty, v->len);
    case HS_V_BIN:
        return hs_mp_put_bin(out, v->len > 0 ? v->u.bin : (const uint8_t *)hs__v_empty, v->len);
    case HS_V_ARRAY:
    case HS_V_MAP:
        break;
    default:
        return hs_err_set(HS_ERR_INVAL, "value: unknown type %d", (int)v->type);
    }
    if (depth >= HS_MP_MAX_DEPTH)
        return hs_err_set(HS_ERR_LIMIT, "value: nesting deeper than %d", HS_MP_MAX_DEPTH);
    bool is_map = v->type == HS_V_MAP;
    int rc = is_map ? hs_mp_put_map(out, v->len) : hs_mp_put_array(out, v->len);
    if (rc != HS_OK)
        return rc;
    size_t items = is_map ? 2 * (size_t)v->len : v->len;
    for (size_t i = 0; i < items; i++) {
        if (is_map && i % 2 == 0 && v->u.items[i].type != HS_V_STR)
            return hs_err_set(HS_ERR_INVAL, "value: map key %zu is not a string", i / 2);
        rc = hs__v_encode(&v->u.items[i], out, depth + 1);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

int hs_value_encode(const hs_value *v, hs_buf *out)
{
    if (v == NULL || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "value: NULL argument");
    size_t len0 = out->len;
    int rc = hs__v_encode(v, out, 0);
    if (rc != HS_OK)
        out->len = len0;
    return rc;
}

static hs_value *hs__v_new(hs_arena *a, hs_vtype type)
{
    hs_value *v = hs_arena_alloc(a, sizeof *v);
    if (v == NULL)
        return NULL;
    memset(v, 0, sizeof *v);
    v->type = type;
    return v;
}

hs_value *hs_value_nil(hs_arena *a)
{
    return hs__v_new(a, HS_V_NIL);
}

hs_value *hs_value_bool(hs_arena *a, bool b)
{
    hs_value *v = hs__v_new(a, HS_V_BOOL);
    if (v != NULL)
        v->u.b = b;
    return v;
}

hs_value *hs_value_int(hs_arena *a, int64_t i)
{
    hs_value *v = hs__v_new(a, HS_V_INT);
    if (v != NULL)
        v->u.i = i;
    return v;
}

hs_value *hs_value_float(hs_arena *a, double f)
{
    hs_value *v = hs__v_new(a, HS_V_FLOAT);
    if (v != NULL)
        v->u.f = f;
    return v;
}

hs_value *hs_value_str(hs_arena *a, const char *s, size_t len)
{
    if (len > UINT32_MAX || (s == NULL && len > 0))
        return NULL;
    hs_value *v = hs__v_new(a, HS_V_STR);
    if (v == NULL)
        return NULL;
    char *copy = hs_arena_strndup(a, len > 0 ? s : hs__v_empty, len);
    if (copy == NULL)
        return NULL;
    v->u.s = copy;
    v->len = (uint32_t)len;
    return v;
}

/* A container of n entries (items of 2n values for a map), all nil. */
static hs_value *hs__v_container(hs_arena *a, hs_vtype type, uint32_t n, size_t items)
{
    hs_value *v = hs__v_new(a, type);
    if (v == NULL)
        return NULL;
    v->len = n;
    if (items > 0) {
        v->u.items = hs_arena_alloc(a, items * sizeof(hs_value));
        if (v->u.items == NULL)
            return NULL;
        /* HS_V_NIL is 0, so zeroed values are nil. */
        memset(v->u.items, 0, items * sizeof(hs_value));
    }
    return v;
}

hs_value *hs_value_array(hs_arena *a, uint32_t n)
{
    return hs__v_container(a, HS_V_ARRAY, n, n);
}

hs_value *hs_value_map(hs_arena *a, uint32_t n)
{
    return hs__v_container(a, HS_V_MAP, n, 2 * (size_t)n);
}

const hs_value *hs_value_map_get(const hs_value *v, const char *key, size_t klen)
{
    if (v == NULL || v->type != HS_V_MAP || (key == NULL && klen > 0))
        return NULL;
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_value *k = &v->u.items[2 * (size_t)i];
        if (k->type == HS_V_STR && k->len == klen && (klen == 0 || memcmp(k->u.s, key, klen) == 0))
            return &v->u.items[2 * (size_t)i + 1];
    }
    return NULL;
}

int hs_value_to_double(const hs_value *v, double *out)
{
    if (v == NULL || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "value: NULL argument");
    switch (v->type) {
    case HS_V_INT:
        *out = (double)v->u.i;
        return HS_OK;
    case HS_V_FLOAT:
        *out = v->u.f;
        return HS_OK;
    case HS_V_BOOL:
        *out = v->u.b ? 1.0 : 0.0;
        return HS_OK;
    default:
        return hs_err_set(HS_ERR_INVAL, "value: not a number");
    }
}

static int hs__sign(int c)
{
    return (c > 0) - (c < 0);
}

/* Orders doubles: -inf .. -0.0 < 0.0 .. inf < NaN, every NaN equal. */
static int hs__v_float_cmp(double a, double b)
{
    bool na = isnan(a), nb = isnan(b);
    if (na || nb)
        return (int)na - (int)nb;
    if (a < b)
        return -1;
    if (a > b)
        return 1;
    return (int)(signbit(b) != 0) - (int)(signbit(a) != 0);
}

/*
 * Orders an int64 against a double by exact value (no rounding of i to
 * double); on a numeric tie the INT comes first, so the result is never 0.
 */
static int hs__v_int_float_cmp(int64_t i, double f)
{
    if (isnan(f))
        return -1;
    if (f >= 0x1p63)
        return -1;
    if (f < -0x1p63)
        return 1;
    double t = trunc(f); /* within [-2^63, 2^63): exactly an int64 */
    int64_t ti = (int64_t)t;
    if (i != ti)
        return i < ti ? -1 : 1;
    double frac = f - t;
    return frac > 0 ? -1 : frac < 0 ? 1 : -1;
}

static int hs__v_rank(hs_vtype t)
{
    switch (t) {
    case HS_V_NIL:
        return 0;
    case HS_V_BOOL:
        return 1;
    case HS_V_INT:
    case HS_V_FLOAT:
        return 2;
    case HS_V_STR:
        return 3;
    case HS_V_BIN:
        return 4;
    case HS_V_ARRAY:
        return 5;
    case HS_V_MAP:
        return 6;
    }
    return 7;
}

static int hs__v_bytes_cmp(const void *a, uint32_t alen, const void *b, uint32_t blen)
{
    uint32_t n = alen < blen ? alen : blen;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0)
        return hs__sign(c);
    return (alen > blen) - (alen < blen);
}

int hs_value_cmp(const hs_value *a, const hs_value *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    int ra = hs__v_rank(a->type), rb = hs__v_rank(b->type);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (a->type) {
    case HS_V_NIL:
        return 0;
    case HS_V_BOOL:
        return (int)a->u.b - (int)b->u.b;
    case HS_V_INT:
        if (b->type == HS_V_FLOAT)
            return hs__v_int_float_cmp(a->u.i, b->u.f);
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    case HS_V_FLOAT:
        if (b->type == HS_V_INT)
            return -hs__v_int_float_cmp(b->u.i, a->u.f);
        return hs__v_float_cmp(a->u.f, b->u.f);
    case HS_V_STR:
        return hs__v_bytes_cmp(a->u.s, a->len, b->u.s, b->len);
    case HS_V_BIN:
        return hs__v_bytes_cmp(a->u.bin, a->len, b->u.bin, b->len);
    case HS_V_ARRAY:
    case HS_V_MAP: {
        size_t per = a->type == HS_V_MAP ? 2 : 1;
        size_t n = (a->len < b->len ? a->len : b->len) * per;
        for (size_t i = 0; i < n; i++) {
            int c = hs_value_cmp(&a->u.items[i], &b->u.items[i]);
            if (c != 0)
                return c;
        }
        return (a->len > b->len) - (a->len < b->len);
    }
    }
    return 0;
}

bool hs_value_equal(const hs_value *a, const hs_value *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case HS_V_NIL:
        return true;
    case HS_V_BOOL:
        return a->u.b == b->u.b;
    case HS_V_INT:
        return a->u.i == b->u.i;
    case HS_V_FLOAT:
        return hs__v_float_cmp(a->u.f, b->u.f) == 0;
    case HS_V_STR:
    case HS_V_BIN:
        return a->len == b->len && (a->len == 0 || memcmp(a->u.bin, b->u.bin, a->len) == 0);
    case HS_V_ARRAY:
    case HS_V_MAP: {
        if (a->len != b->len)
            return false;
        size_t n = a->type == HS_V_MAP ? 2 * (size_t)a->len : a->len;
        for (size_t i = 0; i < n; i++) {
            if (!hs_value_equal(&a->u.items[i], &b->u.items[i]))
                return false;
        }
        return true;
    }
    }
    return false;
}

/* Copies v into dst (already allocated in a); depth counts the containers around v. */
static int hs__v_clone(hs_arena *a, const hs_value *v, hs_value *dst, int depth)
{
    *dst = *v;
    switch (v->type) {
    case HS_V_STR:
    case HS_V_BIN:
        if (v->len == 0) {
            dst->u.s = hs__v_empty;
            return HS_OK;
        }
        dst->u.s = hs_arena_strndup(a, v->u.s, v->len);
        return dst->u.s != NULL ? HS_OK : HS_ERR_NOMEM;
    case HS_V_ARRAY:
    case HS_V_MAP:
        break;
    default:
        return HS_OK;
    }
    if (depth >= HS_MP_MAX_DEPTH)
        return HS_ERR_LIMIT;
    size_t n = v->type == HS_V_MAP ? 2 * (size_t)v->len : v->len;
    dst->u.items = NULL;
    if (n == 0)
        return HS_OK;
    dst->u.items = hs_arena_alloc(a, n * sizeof(hs_value));
    if (dst->u.items == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = hs__v_clone(a, &v->u.items[i], &dst->u.items[i], depth + 1);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

hs_value *hs_value_clone(hs_arena *a, const hs_value *v)
{
    if (a == NULL || v == NULL)
        return NULL;
    hs_value *dst = hs_arena_alloc(a, sizeof *dst);
    if (dst == NULL || hs__v_clone(a, v, dst, 0) != HS_OK)
        return NULL;
    return dst;
}

int hs_value_to_json(const hs_value *v, hs_buf *out)
{
    if (out == NULL)
        return hs_err_set(HS_ERR_INVAL, "value: NULL argument");
    hs_buf mp;
    hs_buf_init(&mp, 0);
    int rc = hs_value_encode(v, &mp);
    if (rc == HS_OK) {
        hs_mp_reader r;
        hs_mp_reader_init(&r, mp.data, mp.len);
        rc = hs_json_from_mpack(&r, out);
    }
    hs_buf_free(&mp);
    return rc;
}
