#include "hs_mpack.h"

#include "hs_alloc.h"
#include "hs_error.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/*
 * msgpack-c's packer writes through this callback into an hs_buf; the
 * buffer's own error (HS_ERR_NOMEM, or HS_ERR_LIMIT for a bounded buffer)
 * is kept in the sink so that it reaches the caller unchanged.
 */
typedef struct hs__mp_sink {
    hs_buf *b;
    int rc;
} hs__mp_sink;

static int hs__mp_write(void *data, const char *buf, size_t len)
{
    hs__mp_sink *s = data;
    s->rc = hs_buf_append(s->b, buf, len);
    return s->rc == HS_OK ? 0 : -1;
}

/*
 * Runs one packer call against b. A failed append would leave a partial
 * value: the length is restored so that the buffer stays well-formed.
 */
#define HS__PACK(b, call)                                                                          \
    do {                                                                                           \
        msgpack_packer pk;                                                                         \
        hs__mp_sink sink = {(b), HS_OK};                                                           \
        size_t hs__len0 = (b)->len;                                                                \
        msgpack_packer_init(&pk, &sink, hs__mp_write);                                             \
        if ((call) != 0) {                                                                         \
            (b)->len = hs__len0;                                                                   \
            return sink.rc != HS_OK ? sink.rc : HS_ERR_NOMEM;                                      \
        }                                                                                          \
        return HS_OK;                                                                              \
    } while (0)

int hs_mp_put_nil(hs_buf *b)
{
    HS__PACK(b, msgpack_pack_nil(&pk));
}

int hs_mp_put_bool(hs_buf *b, bool v)
{
    HS__PACK(b, v ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
}

int hs_mp_put_int(hs_buf *b, int64_t v)
{
    HS__PACK(b, msgpack_pack_int64(&pk, v));
}

int hs_mp_put_uint(hs_buf *b, uint64_t v)
{
    HS__PACK(b, msgpack_pack_uint64(&pk, v));
}

int hs_mp_put_double(hs_buf *b, double v)
{
    HS__PACK(b, msgpack_pack_double(&pk, v));
}

int hs_mp_put_str(hs_buf *b, const char *s, size_t len)
{
    if (len > UINT32_MAX)
        return HS_ERR_LIMIT;
    HS__PACK(b, msgpack_pack_str_with_body(&pk, s, len));
}

int hs_mp_put_cstr(hs_buf *b, const char *s)
{
    return hs_mp_put_str(b, s, strlen(s));
}

int hs_mp_put_bin(hs_buf *b, const void *p, size_t len)
{
    if (len > UINT32_MAX)
        return HS_ERR_LIMIT;
    HS__PACK(b, msgpack_pack_bin_with_body(&pk, p, len));
}

int hs_mp_put_array(hs_buf *b, uint32_t n)
{
    HS__PACK(b, msgpack_pack_array(&pk, n));
}

int hs_mp_put_map(hs_buf *b, uint32_t n)
{
    HS__PACK(b, msgpack_pack_map(&pk, n));
}

int hs_mp_put_raw(hs_buf *b, const void *p, size_t len)
{
    return hs_buf_append(b, p, len);
}

void hs_mp_reader_init(hs_mp_reader *r, const void *data, size_t len)
{
    static const uint8_t empty[1];
    r->p = data != NULL ? data : empty;
    r->end = r->p + (data != NULL ? len : 0);
}

bool hs_mp_at_end(const hs_mp_reader *r)
{
    return r->p >= r->end;
}

size_t hs_mp_remaining(const hs_mp_reader *r)
{
    return (size_t)(r->end - r->p);
}

static uint64_t hs__be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/*
 * Decoded header of the next value: its type, the size of the header in
 * bytes, and a payload: the integer, the byte length of str/bin/ext bodies,
 * or the element count of containers.
 */
typedef struct hs__mp_head {
    hs_mp_type type;
    size_t hlen; /* header bytes */
    uint64_t u;  /* unsigned payload: uint value, length or count */
    int64_t i;   /* signed integer value (HS_MP_INT) */
    double f;    /* float value */
    bool b;      /* bool value */
} hs__mp_head;

static int hs__mp_trunc(void)
{
    return hs_err_set(HS_ERR_PARSE, "msgpack: truncated value");
}

static int hs__mp_head_read(const uint8_t *p, const uint8_t *end, hs__mp_head *h)
{
    if (p >= end)
        return hs__mp_trunc();
    size_t avail = (size_t)(end - p);
    uint8_t c = p[0];
    memset(h, 0, sizeof *h);
    h->hlen = 1;
    if (c <= 0x7f) {
        h->type = HS_MP_INT;
        h->i = c;
        return HS_OK;
    }
    if (c >= 0xe0) {
        h->type = HS_MP_INT;
        h->i = (int8_t)c;
        return HS_OK;
    }
    if ((c & 0xf0) == 0x80) {
        h->type = HS_MP_MAP;
        h->u = c & 0x0f;
        return HS_OK;
    }
    if ((c & 0xf0) == 0x90) {
        h->type = HS_MP_ARRAY;
        h->u = c & 0x0f;
        return HS_OK;
    }
    if ((c & 0xe0) == 0xa0) {
        h->type = HS_MP_STR;
        h->u = c & 0x1f;
        return HS_OK;
    }
    /* Width of the bytes that follow the type byte. */
    unsigned w;
    switch (c) {
    case 0xc0:
        h->type = HS_MP_NIL;
        return HS_OK;
    case 0xc2:
        h->type = HS_MP_BOOL;
        h->b = false;
        return HS_OK;
    case 0xc3:
        h->type = HS_MP_BOOL;
        h->b = true;
        return HS_OK;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        h->type = HS_MP_BIN;
        w = 1u << (c - 0xc4);
        break;
    case 0xc7:
    case 0xc8:
    case 0xc9:
        h->type = HS_MP_EXT;
        w = 1u << (c - 0xc7);
        break;
    case 0xca:
        h->type = HS_MP_FLOAT;
        w = 4;
        break;
    case 0xcb:
        h->type = HS_MP_FLOAT;
        w = 8;
        break;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        h->type = HS_MP_INT;
        w = 1u << (c - 0xcc);
        break;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        h->type = HS_MP_INT;
        w = 1u << (c - 0xd0);
        break;
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        /* fixext: one type byte plus 1..16 data bytes */
        h->type = HS_MP_EXT;
        h->hlen = 2;
        h->u = 1u << (c - 0xd4);
        if (avail < 2)
            return hs__mp_trunc();
        return HS_OK;
    case 0xd9:
    case 0xda:
    case 0xdb:
        h->type = HS_MP_STR;
        w = 1u << (c - 0xd9);
        break;
    case 0xdc:
    case 0xdd:
        h->type = HS_MP_ARRAY;
        w = c == 0xdc ? 2 : 4;
        break;
    case 0xde:
    case 0xdf:
        h->type = HS_MP_MAP;
        w = c == 0xde ? 2 : 4;
        break;
    default:
        return hs_err_set(HS_ERR_PARSE, "msgpack: invalid type byte 0x%02x", c);
    }
    if (avail < 1 + w)
        return hs__mp_trunc();
    uint64_t v = hs__be(p + 1, w);
    h->hlen = 1 + w;
    switch (h->type) {
    case HS_MP_FLOAT:
        if (w == 4) {
            uint32_t u32 = (uint32_t)v;
            float f;
            memcpy(&f, &u32, 4);
            h->f = f;
        } else {
            memcpy(&h->f, &v, 8);
        }
        break;
    case HS_MP_INT:
        if (c >= 0xd0) {
            /* signed: sign-extend from w bytes */
            unsigned shift = 64 - 8 * w;
            h->i = (int64_t)(v << shift) >> shift;
        } else if (v > INT64_MAX) {
            h->type = HS_MP_UINT;
            h->u = v;
        } else {
            h->i = (int64_t)v;
        }
        break;
    case HS_MP_EXT:
        /* ext 8/16/32: length then a type byte */
        if (avail < 1 + w + 1)
            return hs__mp_trunc();
        h->u = v;
        h->hlen = 1 + w + 1;
        break;
    default:
        h->u = v;
        break;
    }
    return HS_OK;
}

/* Checks that a header's body or element count fits in what is left. */
static int hs__mp_body_fits(const hs__mp_head *h, size_t avail_after_head)
{
    switch (h->type) {
    case HS_MP_STR:
    case HS_MP_BIN:
    case HS_MP_EXT:
    case HS_MP_ARRAY: /* every element takes at least one byte */
        return h->u <= avail_after_head ? HS_OK : hs__mp_trunc();
    case HS_MP_MAP:
        return h->u <= avail_after_head / 2 ? HS_OK : hs__mp_trunc();
    default:
        return HS_OK;
    }
}

int hs_mp_peek(const hs_mp_reader *r, hs_mp_type *type)
{
    hs__mp_head h;
    int rc = hs__mp_head_read(r->p, r->end, &h);
    if (rc == HS_OK)
        *type = h.type;
    return rc;
}

static int hs__mp_get_head(hs_mp_reader *r, hs_mp_type want, hs__mp_head *h)
{
    int rc = hs__mp_head_read(r->p, r->end, h);
    if (rc != HS_OK)
        return rc;
    if (h->type != want)
        return hs_err_set(HS_ERR_PARSE, "msgpack: unexpected type %d, wanted %d", (int)h->type,
                          (int)want);
    rc = hs__mp_body_fits(h, (size_t)(r->end - r->p) - h->hlen);
    if (rc != HS_OK)
        return rc;
    return HS_OK;
}

int hs_mp_get_nil(hs_mp_reader *r)
{
    hs__mp_head h;
    int rc = hs__mp_get_head(r, HS_MP_NIL, &h);
    if (rc == HS_OK)
        r->p += h.hlen;
    return rc;
}

int hs_mp_get_bool(hs_mp_reader *r, bool *v)
{
    hs__mp_head h;
    int rc = hs__mp_get_head(r, HS_MP_BOOL, &h);
    if (rc == HS_OK) {
        *v = h.b;
        r->p += h.hlen;
    }
    return rc;
}

int hs_mp_get_int(hs_mp_reader *r, int64_t *v)
{
    hs__mp_head h;
    int rc = hs__mp_head_read(r->p, r->end, &h);
    if (rc != HS_OK)
        return rc;
    if (h.type == HS_MP_UINT)
        return hs_err_set(HS_ERR_RANGE, "msgpack: integer does not fit int64");
    if (h.type != HS_MP_INT)
        return hs_err_set(HS_ERR_PARSE, "msgpack: expected an integer");
    *v = h.i;
    r->p += h.hlen;
    return HS_OK;
}

int hs_mp_get_uint(hs_mp_reader *r, uint64_t *v)
{
    hs__mp_head h;
    int rc = hs__mp_head_read(r->p, r->end, &h);
    if (rc != HS_OK)
        return rc;
    if (h.type == HS_MP_UINT)
        *v = h.u;
    else if (h.type == HS_MP_INT && h.i >= 0)
        *v = (uint64_t)h.i;
    else
        return hs_err_set(HS_ERR_PARSE, "msgpack: expected a non-negative integer");
    r->p += h.hlen;
    return HS_OK;
}

int hs_mp_get_number(hs_mp_reader *r, double *v)
{
    hs__mp_head h;
    int rc = hs__mp_head_read(r->p, r->end, &h);
    if (rc != HS_OK)
        return rc;
    switch (h.type) {
    case HS_MP_INT:
        *v = (double)h.i;
        break;
    case HS_MP_UINT:
        *v = (double)h.u;
        break;
    case HS_MP_FLOAT:
        *v = h.f;
        break;
    default:
        return hs_err_set(HS_ERR_PARSE, "msgpack: expected a number");
    }
    r->p += h.hlen;
    return HS_OK;
}

int hs_mp_get_str(hs_mp_reader *r, const char **s, uint32_t *len)
{
    hs__mp_head h;
    int rc = hs__mp_get_head(r, HS_MP_STR, &h);
    if (rc != HS_OK)
        return rc;
    *s = (const char *)(r->p + h.hlen);
    *len = (uint32_t)h.u;
    r->p += h.hlen + h.u;
    return HS_OK;
}

int hs_mp_get_bin(hs_mp_reader *r, const uint8_t **p, uint32_t *len)
{
    hs__mp_head h;
    int rc = hs__mp_get_head(r, HS_MP_BIN, &h);
    if (rc != HS_OK)
        return rc;
    *p = r->p + h.hlen;
    *len = (uint32_t)h.u;
    r->p += h.hlen + h.u;
    return HS_OK;
}

int hs_mp_get_array(hs_mp_reader *r, uint32_t *n)
{
    hs__mp_head h;
    int rc = hs__mp_get_head(r, HS_MP_ARRAY, &h);
    if (rc != HS_OK)
        return rc;
    *n = (uint32_t)h.u;
    r->p += h.hlen;
    return HS_OK;
}

int hs_mp_get_map(hs_mp_reader *r, uint32_t *n)
{
    hs__mp_head h;
    int rc = hs__mp_get_head(r, HS_MP_MAP, &h);
    if (rc != HS_OK)
        return rc;
    *n = (uint32_t)h.u;
    r->p += h.hlen;
    return HS_OK;
}

int hs_mp_skip(hs_mp_reader *r)
{
    const uint8_t *p = r->p;
    /* Values still to skip; containers add their elements. */
    uint64_t pending = 1;
    while (pending > 0) {
        hs__mp_head h;
        int rc = hs__mp_head_read(p, r->end, &h);
        if (rc != HS_OK)
            return rc;
        size_t avail = (size_t)(r->end - p) - h.hlen;
        rc = hs__mp_body_fits(&h, avail);
        if (rc != HS_OK)
            return rc;
        p += h.hlen;
        pending--;
        switch (h.type) {
        case HS_MP_STR:
        case HS_MP_BIN:
        case HS_MP_EXT:
            p += h.u;
            break;
        case HS_MP_ARRAY:
            pending += h.u;
            break;
        case HS_MP_MAP:
            pending += 2 * h.u;
            break;
        default:
            break;
        }
        /* Each pending value needs at least one byte. */
        if (pending > (uint64_t)(r->end - p))
            return hs__mp_trunc();
    }
    r->p = p;
    return HS_OK;
}

/* A map key seen by hs_mp_check_unique_keys. */
typedef struct hs__mp_key {
    const char *s;
    uint32_t n;
} hs__mp_key;

static int hs__mp_key_cmp(const void *a, const void *b)
{
    const hs__mp_key *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

/* Whether keys[0..n) has a repeated key; *dup receives it. Sorts keys. */
static bool hs__mp_keys_repeat(hs__mp_key *keys, size_t n, hs__mp_key *dup)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (hs__mp_key_cmp(&keys[i], &keys[j]) == 0) {
                    *dup = keys[i];
                    return true;
                }
        return false;
    }
    qsort(keys, n, sizeof *keys, hs__mp_key_cmp);
    for (size_t i = 1; i < n; i++)
        if (hs__mp_key_cmp(&keys[i], &keys[i - 1]) == 0) {
            *dup = keys[i];
            return true;
        }
    return false;
}

int hs_mp_check_unique_keys(const uint8_t *v, size_t len)
{
    struct {
        uint64_t left; /* elements still to read; a map counts keys and values */
        size_t base;   /* the map's first key in keys */
        bool map;
    } st[HS_MP_MAX_DEPTH];
    hs__mp_key local[64];
    hs__mp_key *keys = local;
    size_t nkeys = 0, cap = sizeof local / sizeof local[0];
    int depth = 0, rc = HS_OK;
    hs_mp_reader r;
    hs_mp_reader_init(&r, v, len);
    for (;;) {
        hs_mp_type t;
        rc = hs_mp_peek(&r, &t);
        if (rc != HS_OK)
            break;
        if (depth > 0 && st[depth - 1].map && st[depth - 1].left % 2 == 0) {
            hs__mp_key k;
            rc = hs_mp_get_str(&r, &k.s, &k.n);
            if (rc != HS_OK)
                break;
            if (nkeys == cap) {
                hs__mp_key *grown = hs_malloc(2 * cap * sizeof *grown);
                if (grown == NULL) {
                    rc = hs_err_set(HS_ERR_NOMEM, "out of memory");
                    break;
                }
                memcpy(grown, keys, nkeys * sizeof *keys);
                if (keys != local)
                    hs_free(keys);
                keys = grown;
                cap *= 2;
            }
            keys[nkeys++] = k;
        } else if (t == HS_MP_ARRAY || t == HS_MP_MAP) {
            uint32_t n;
            rc = t == HS_MP_MAP ? hs_mp_get_map(&r, &n) : hs_mp_get_array(&r, &n);
            if (rc != HS_OK)
                break;
            if (n > 0) {
                if (depth == HS_MP_MAX_DEPTH) {
                    rc = hs_err_set(HS_ERR_PARSE, "nested deeper than %d", HS_MP_MAX_DEPTH);
                    break;
                }
                st[depth].left = t == HS_MP_MAP ? 2 * (uint64_t)n : n;
                st[depth].base = nkeys;
                st[depth].map = t == HS_MP_MAP;
                depth++;
                continue;
            }
        } else {
            rc = hs_mp_skip(&r);
            if (rc != HS_OK)
                break;
        }
        /* A value is complete: count it in every container it completes. */
        while (depth > 0 && --st[depth - 1].left == 0) {
            depth--;
            hs__mp_key dup;
            if (st[depth].map &&
                hs__mp_keys_repeat(keys + st[depth].base, nkeys - st[depth].base, &dup)) {
                rc = hs_err_set(HS_ERR_PARSE, "duplicate map key \"%.*s\"",
                                (int)(dup.n < 64 ? dup.n : 64), dup.s);
                goto out;
            }
            nkeys = st[depth].base;
        }
        if (depth == 0)
            break;
    }
out:
    if (keys != local)
        hs_free(keys);
    return rc;
}

int hs_mp_get_raw(hs_mp_reader *r, const uint8_t **p, size_t *len)
{
    const uint8_t *start = r->p;
    int rc = hs_mp_skip(r);
    if (rc != HS_OK)
        return rc;
    *p = start;
    *len = (size_t)(r->p - start);
    return HS_OK;
}

int hs_mp_map_index(const uint8_t *data, size_t len, hs_mp_field *fields, size_t max, size_t *n,
                    size_t *used)
{
    hs_mp_reader r;
    hs_mp_reader_init(&r, data, len);
    uint32_t count;
    *n = 0;
    int rc = hs_mp_get_map(&r, &count);
    if (rc != HS_OK)
        return hs_err_set(HS_ERR_PARSE, "message is not a msgpack map");
    if (count > max)
        return hs_err_set(HS_ERR_LIMIT, "message has %u fields, at most %zu allowed", count, max);
    for (uint32_t i = 0; i < count; i++) {
        hs_mp_field *f = &fields[i];
        rc = hs_mp_get_str(&r, &f->key, &f->klen);
        if (rc != HS_OK)
            return hs_err_set(HS_ERR_PARSE, "message field %u has no string key", i);
        rc = hs_mp_get_raw(&r, &f->val, &f->vlen);
        if (rc != HS_OK)
            return hs_err_set(HS_ERR_PARSE, "message field '%.*s' is truncated", (int)f->klen,
                              f->key);
    }
    *n = count;
    if (used != NULL)
        *used = (size_t)(r.p - (const uint8_t *)data);
    return HS_OK;
}

const hs_mp_field *hs_mp_field_find(const hs_mp_field *f, size_t n, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < n; i++) {
        if (f[i].klen == kl && memcmp(f[i].key, key, kl) == 0)
            return &f[i];
    }
    return NULL;
}

/* Positions a reader on field key; HS_ERR_NOTFOUND when absent. */
static int hs__mp_field_reader(const hs_mp_field *f, size_t n, const char *key, hs_mp_reader *r)
{
    const hs_mp_field *x = hs_mp_field_find(f, n, key);
    if (x == NULL)
        return hs_err_set(HS_ERR_NOTFOUND, "message has no field '%s'", key);
    hs_mp_reader_init(r, x->val, x->vlen);
    return HS_OK;
}

static int hs__mp_field_type(int rc, const char *key, const char *want)
{
    if (rc == HS_OK || rc == HS_ERR_NOTFOUND)
        return rc;
    return hs_err_set(HS_ERR_PARSE, "message field '%s' is not %s", key, want);
}

int hs_mp_field_str(const hs_mp_field *f, size_t n, const char *key, const char **s, uint32_t *len)
{
    hs_mp_reader r;
    int rc = hs__mp_field_reader(f, n, key, &r);
    if (rc == HS_OK)
        rc = hs_mp_get_str(&r, s, len);
    return hs__mp_field_type(rc, key, "a string");
}

int hs_mp_field_int(const hs_mp_field *f, size_t n, const char *key, int64_t *v)
{
    hs_mp_reader r;
    int rc = hs__mp_field_reader(f, n, key, &r);
    if (rc == HS_OK)
        rc = hs_mp_get_int(&r, v);
    return hs__mp_field_type(rc, key, "an integer");
}

int hs_mp_field_uint(const hs_mp_field *f, size_t n, const char *key, uint64_t *v)
{
    hs_mp_reader r;
    int rc = hs__mp_field_reader(f, n, key, &r);
    if (rc == HS_OK)
        rc = hs_mp_get_uint(&r, v);
    return hs__mp_field_type(rc, key, "a non-negative integer");
}

int hs_mp_field_bool(const hs_mp_field *f, size_t n, const char *key, bool *v)
{
    hs_mp_reader r;
    int rc = hs__mp_field_reader(f, n, key, &r);
    if (rc == HS_OK)
        rc = hs_mp_get_bool(&r, v);
    return hs__mp_field_type(rc, key, "a boolean");
}
