#include "hs_codec.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_time.h"
#include "hs_utf8.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------------
 * Batches
 */

void hs_batch_init(hs_batch *b)
{
    b->items = NULL;
    b->n = 0;
    b->cap = 0;
    b->base = NULL;
    hs_buf_init(&b->store, 0);
    b->owned = true;
}

void hs_batch_free(hs_batch *b)
{
    if (b == NULL)
        return;
    hs_free(b->items);
    hs_buf_free(&b->store);
    hs_batch_init(b);
}

void hs_batch_reset(hs_batch *b)
{
    b->n = 0;
    hs_buf_reset(&b->store);
    b->base = b->store.data;
    b->owned = true;
}

/* Makes room for at least need instances. */
static int hs__batch_reserve(hs_batch *b, size_t need)
{
    if (need <= b->cap)
        return HS_OK;
    size_t cap = b->cap ? b->cap : 16;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / sizeof(hs_inst))
            return hs_err_set(HS_ERR_LIMIT, "batch: too many instances");
        cap *= 2;
    }
    hs_inst *items = hs_realloc(b->items, cap * sizeof(hs_inst));
    if (items == NULL)
        return hs_err_set(HS_ERR_NOMEM, "batch: out of memory");
    b->items = items;
    b->cap = cap;
    return HS_OK;
}

int hs_batch_reserve(hs_batch *b, size_t n, size_t bytes)
{
    if (!b->owned)
        return hs_err_set(HS_ERR_STATE,
                          "batch: cannot reserve in a batch that borrows its payload");
    if (n > SIZE_MAX - b->n)
        return hs_err_set(HS_ERR_LIMIT, "batch: too many instances");
    int rc = hs__batch_reserve(b, b->n + n);
    if (rc == HS_OK && hs_buf_reserve(&b->store, bytes) != HS_OK)
        rc = hs_err_set(HS_ERR_NOMEM, "batch: out of memory");
    return rc;
}

int hs_batch_push(hs_batch *b, int64_t t_us, const uint8_t *v, size_t vlen)
{
    if (!b->owned)
        return hs_err_set(HS_ERR_STATE, "batch: cannot push to a batch that borrows its payload");
    if (vlen == 0)
        return hs_err_set(HS_ERR_INVAL, "batch: empty value");
    if (vlen > UINT32_MAX || b->store.len > UINT32_MAX - vlen)
        return hs_err_set(HS_ERR_LIMIT, "batch: values exceed 4 GiB");
    int rc = hs__batch_reserve(b, b->n + 1);
    if (rc != HS_OK)
        return rc;
    size_t off = b->store.len;
    rc = hs_buf_append(&b->store, v, vlen);
    if (rc != HS_OK)
        return hs_err_set(rc, "batch: %s", hs_strerror(rc));
    b->items[b->n].t_us = t_us;
    b->items[b->n].off = (uint32_t)off;
    b->items[b->n].len = (uint32_t)vlen;
    b->n++;
    b->base = b->store.data;
    return HS_OK;
}

int hs_batch_read_range(const hs_batch *b, int64_t after, int64_t end, size_t max, hs_batch *out)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->items[mid].t_us <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo, k = 0; i < b->n && k < max && b->items[i].t_us <= end; i++, k++) {
        int rc = hs_batch_push(out, b->items[i].t_us, hs_batch_value(b, i), b->items[i].len);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

hs_buf *hs_batch_push_begin(hs_batch *b)
{
    if (!b->owned || b->store.len > UINT32_MAX || hs__batch_reserve(b, b->n + 1) != HS_OK)
        return NULL;
    /* The slot past the last instance remembers where the value starts. */
    b->items[b->n].off = (uint32_t)b->store.len;
    return &b->store;
}

int hs_batch_push_end(hs_batch *b, int64_t t_us)
{
    if (!b->owned || b->n >= b->cap)
        return hs_err_set(HS_ERR_STATE, "batch: push_end without push_begin");
    hs_inst *it = &b->items[b->n];
    if (b->store.len <= it->off)
        return hs_err_set(HS_ERR_INVAL, "batch: no value was written after push_begin");
    if (b->store.len > UINT32_MAX)
        return hs_err_set(HS_ERR_LIMIT, "batch: values exceed 4 GiB");
    it->t_us = t_us;
    it->len = (uint32_t)(b->store.len - it->off);
    b->n++;
    b->base = b->store.data;
    return HS_OK;
}

/* Stable insertion sort, used when the merge buffer cannot be had. */
static void hs__sort_insertion(hs_inst *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        hs_inst x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1].t_us > x.t_us) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

/* Stable bottom-up merge sort of a (n items) using tmp (n items). */
static void hs__sort_merge(hs_inst *a, hs_inst *tmp, size_t n)
{
    hs_inst *src = a, *dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = src[j].t_us < src[i].t_us ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        hs_inst *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

void hs_batch_sort(hs_batch *b)
{
    size_t i = 1;
    while (i < b->n && b->items[i - 1].t_us <= b->items[i].t_us)
        i++;
    if (i >= b->n)
        return; /* already sorted, the usual case */
    hs_inst *tmp = hs_malloc(b->n * sizeof *tmp);
    if (tmp == NULL) {
        hs__sort_insertion(b->items, b->n);
        return;
    }
    hs__sort_merge(b->items, tmp, b->n);
    hs_free(tmp);
}

/* ---------------------------------------------------------------------------
 * Canonical values
 */

/* The smallest encoding of i, as msgpack-c's packer writes it. */
static size_t hs__int_enc(int64_t i, uint8_t buf[9])
{
    uint64_t u = (uint64_t)i;
    size_t w;
    if (i >= -32 && i < 128) {
        buf[0] = (uint8_t)u;
        return 1;
    }
    if (i >= 0) {
        if (i < 256) {
            buf[0] = 0xcc;
            w = 1;
        } else if (i < 65536) {
            buf[0] = 0xcd;
            w = 2;
        } else if (i <= (int64_t)UINT32_MAX) {
            buf[0] = 0xce;
            w = 4;
        } else {
            buf[0] = 0xcf;
            w = 8;
        }
    } else {
        if (i >= INT8_MIN) {
            buf[0] = 0xd0;
            w = 1;
        } else if (i >= INT16_MIN) {
            buf[0] = 0xd1;
            w = 2;
        } else if (i >= INT32_MIN) {
            buf[0] = 0xd2;
            w = 4;
        } else {
            buf[0] = 0xd3;
            w = 8;
        }
    }
    for (size_t k = 0; k < w; k++)
        buf[1 + k] = (uint8_t)(u >> (8 * (w - 1 - k)));
    return 1 + w;
}

/* Header sizes of the smallest encodings. */
static size_t hs__str_hlen(uint32_t n)
{
    return n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

static size_t hs__bin_hlen(uint32_t n)
{
    return n < 256 ? 2 : n < 65536 ? 3 : 5;
}

static size_t hs__cont_hlen(uint32_t n)
{
    return n < 16 ? 1 : n < 65536 ? 3 : 5;
}

static int hs__noncanon(const char *what)
{
    return hs_err_set(HS_ERR_PARSE, "value: %s", what);
}

/* One open container of the canonical walker. */
typedef struct hs__cframe {
    uint64_t left; /* elements still to read; a map counts keys and values */
    bool map;
} hs__cframe;

/*
 * Walks one value at r. With out == NULL, checks that it is canonical;
 * otherwise re-encodes it canonically into out. Iterative, with an explicit
 * stack bounded by HS_MP_MAX_DEPTH.
 */
static int hs__canon(hs_mp_reader *r, hs_buf *out)
{
    hs__cframe st[HS_MP_MAX_DEPTH];
    int depth = 0;
    int rc;
    const uint8_t *start = r->p;
    bool maps = false; /* a map with two keys or more was seen */
    for (;;) {
        const uint8_t *p0 = r->p;
        hs_mp_type t;
        rc = hs_mp_peek(r, &t);
        if (rc != HS_OK)
            return rc;
        if (depth > 0 && st[depth - 1].map && st[depth - 1].left % 2 == 0 && t != HS_MP_STR)
            return hs__noncanon("map key is not a string");
        bool opened = false;
        switch (t) {
        case HS_MP_NIL:
        case HS_MP_BOOL:
            r->p++;
            if (out != NULL)
                rc = hs_buf_putc(out, *p0);
            break;
        case HS_MP_INT: {
            int64_t i;
            uint8_t enc[9];
            rc = hs_mp_get_int(r, &i);
            if (rc != HS_OK)
                return rc;
            size_t n = hs__int_enc(i, enc);
            if (out != NULL)
                rc = hs_buf_append(out, enc, n);
            else if ((size_t)(r->p - p0) != n || memcmp(p0, enc, n) != 0)
                return hs_err_set(HS_ERR_PARSE,
                                  "value: integer %lld is not in its smallest encoding",
                                  (long long)i);
            break;
        }
        case HS_MP_UINT: {
            uint64_t u;
            rc = hs_mp_get_uint(r, &u);
            if (rc != HS_OK)
                return rc;
            if (out == NULL)
                return hs_err_set(HS_ERR_PARSE,
                                  "value: unsigned integer %llu is above INT64_MAX (its canonical "
                                  "form is a float64)",
                                  (unsigned long long)u);
            rc = hs_mp_put_double(out, (double)u);
            break;
        }
        case HS_MP_FLOAT: {
            double d;
            rc = hs_mp_get_number(r, &d);
            if (rc != HS_OK)
                return rc;
            if (*p0 == 0xca && out == NULL)
                return hs__noncanon("float32 (its canonical form is a float64)");
            if (out != NULL)
                rc = hs_mp_put_double(out, d);
            break;
        }
        case HS_MP_STR: {
            const char *s;
            uint32_t n;
            rc = hs_mp_get_str(r, &s, &n);
            if (rc != HS_OK)
                return rc;
            size_t bad = hs_utf8_check(s, n);
            if (bad != n)
                return hs_err_set(HS_ERR_PARSE, "value: string is not valid UTF-8 (byte %zu of %u)",
                                  bad, (unsigned)n);
            if (out != NULL)
                rc = hs_mp_put_str(out, s, n);
            else if ((size_t)((const uint8_t *)s - p0) != hs__str_hlen(n))
                return hs__noncanon("string length is not in its smallest encoding");
            break;
        }
        case HS_MP_BIN: {
            const uint8_t *b;
            uint32_t n;
            rc = hs_mp_get_bin(r, &b, &n);
            if (rc != HS_OK)
                return rc;
            if (out != NULL)
                rc = hs_mp_put_bin(out, b, n);
            else if ((size_t)(b - p0) != hs__bin_hlen(n))
                return hs__noncanon("binary length is not in its smallest encoding");
            break;
        }
        case HS_MP_ARRAY:
        case HS_MP_MAP: {
            bool map = t == HS_MP_MAP;
            uint32_t n;
            if (depth == HS_MP_MAX_DEPTH)
                return hs_err_set(HS_ERR_PARSE, "value: nested deeper than %d", HS_MP_MAX_DEPTH);
            rc = map ? hs_mp_get_map(r, &n) : hs_mp_get_array(r, &n);
            if (rc != HS_OK)
                return rc;
            if (out != NULL)
                rc = map ? hs_mp_put_map(out, n) : hs_mp_put_array(out, n);
            else if ((size_t)(r->p - p0) != hs__cont_hlen(n))
                return hs__noncanon(map ? "map size is not in its smallest encoding"
                                        : "array size is not in its smallest encoding");
            maps = maps || (map && n > 1);
            if (n > 0) {
                st[depth].left = map ? 2 * (uint64_t)n : n;
                st[depth].map = map;
                depth++;
                opened = true;
            }
            break;
        }
        case HS_MP_EXT:
        default:
            return hs__noncanon("msgpack ext types are not values");
        }
        if (rc != HS_OK)
            return hs_err_set(rc, "value: %s", hs_strerror(rc));
        if (opened)
            continue;
        /* A value is complete: count it in every container it completes. */
        for (;;) {
            if (depth == 0) {
                if (maps &&
                    (rc = hs_mp_check_unique_keys(start, (size_t)(r->p - start))) != HS_OK) {
                    char detail[128];
                    snprintf(detail, sizeof detail, "%s", hs_err_detail());
                    return hs_err_set(rc, "value: %s", detail);
                }
                return HS_OK;
            }
            if (--st[depth - 1].left > 0)
                break;
            depth--;
        }
    }
}

int hs_value_check(const uint8_t *v, size_t len)
{
    hs_mp_reader r;
    hs_mp_reader_init(&r, v, len);
    int rc = hs__canon(&r, NULL);
    if (rc != HS_OK)
        return rc;
    if (!hs_mp_at_end(&r))
        return hs_err_set(HS_ERR_PARSE, "value: %zu trailing bytes after the value",
                          hs_mp_remaining(&r));
    return HS_OK;
}

/*
 * Canonicalises the value at r into out. Most values are canonical already:
 * they are checked and copied; only the others are re-encoded.
 */
static int hs__canon_copy(hs_mp_reader *r, hs_buf *out)
{
    hs_mp_reader probe = *r;
    int rc = hs__canon(&probe, NULL);
    if (rc == HS_OK) {
        rc = hs_buf_append(out, r->p, (size_t)(probe.p - r->p));
        if (rc != HS_OK)
            return hs_err_set(rc, "value: %s", hs_strerror(rc));
        *r = probe;
        return HS_OK;
    }
    size_t len0 = out->len;
    rc = hs__canon(r, out);
    if (rc != HS_OK)
        out->len = len0;
    return rc;
}

int hs_value_canonicalize(const uint8_t *v, size_t len, hs_buf *out)
{
    hs_mp_reader r;
    hs_mp_reader_init(&r, v, len);
    size_t len0 = out->len;
    int rc = hs__canon_copy(&r, out);
    if (rc == HS_OK && !hs_mp_at_end(&r))
        rc = hs_err_set(HS_ERR_PARSE, "value: %zu trailing bytes after the value",
                        hs_mp_remaining(&r));
    if (rc != HS_OK)
        out->len = len0;
    return rc;
}

/* ---------------------------------------------------------------------------
 * Decoding
 */

/* Prefixes the current error detail with the instance index. */
static int hs__inst_err(int rc, size_t i)
{
    char d[400];
    snprintf(d, sizeof d, "%s", rc == HS_ERR_NOMEM ? "out of memory" : hs_err_detail());
    return hs_err_set(rc, "instance %zu: %s", i, d);
}

static int hs__check_time(int64_t t_us)
{
    if (t_us < HS_TIME_MIN || t_us > HS_TIME_MAX)
        return hs_err_set(HS_ERR_RANGE,
                          "timestamp %lld us is outside 0001-01-01..9999-12-31 (microseconds "
                          "since the epoch expected)",
                          (long long)t_us);
    return HS_OK;
}

/* Reads the body [t_us, v] of a msgpack instance whose array header (n) is read. */
static int hs__mp_inst(hs_mp_reader *r, uint32_t n, const uint8_t *payload, bool copy, hs_batch *b)
{
    if (n != 2)
        return hs_err_set(HS_ERR_PARSE, "an instance is [t_us, v], got an array of %u", n);
    int64_t t;
    hs_mp_type tt;
    int rc = hs_mp_peek(r, &tt);
    if (rc != HS_OK)
        return rc;
    if (tt != HS_MP_INT && tt != HS_MP_UINT)
        return hs_err_set(HS_ERR_PARSE, "timestamp is not an integer (microseconds since the "
                                        "epoch)");
    rc = hs_mp_get_int(r, &t);
    if (rc == HS_ERR_RANGE)
        return hs_err_set(HS_ERR_RANGE, "timestamp does not fit int64 microseconds");
    if (rc != HS_OK)
        return rc;
    rc = hs__check_time(t);
    if (rc != HS_OK)
        return rc;
    if (copy) {
        hs_buf *vb = hs_batch_push_begin(b);
        if (vb == NULL)
            return hs_err_set(HS_ERR_NOMEM, "out of memory");
        rc = hs__canon_copy(r, vb);
        if (rc != HS_OK)
            return rc;
        return hs_batch_push_end(b, t);
    }
    const uint8_t *v = r->p;
    rc = hs__canon(r, NULL);
    if (rc != HS_OK)
        return rc;
    rc = hs__batch_reserve(b, b->n + 1);
    if (rc != HS_OK)
        return rc;
    b->items[b->n].t_us = t;
    b->items[b->n].off = (uint32_t)(v - payload);
    b->items[b->n].len = (uint32_t)(r->p - v);
    b->n++;
    return HS_OK;
}

int hs_codec_decode_mpack(const uint8_t *payload, size_t len, bool copy, hs_batch *b)
{
    hs_batch_reset(b);
    if (!copy) {
        b->owned = false;
        b->base = payload;
    }
    if (len > UINT32_MAX)
        return hs_err_set(HS_ERR_LIMIT, "msgpack payload larger than 4 GiB");
    if (payload == NULL) {
        static const uint8_t none[1];
        payload = none;
        len = 0;
    }
    hs_mp_reader r;
    hs_mp_reader_init(&r, payload, len);
    uint32_t n;
    hs_mp_type t;
    int rc = hs_mp_peek(&r, &t);
    if (rc == HS_OK && t != HS_MP_ARRAY)
        rc = HS_ERR_PARSE;
    if (rc == HS_OK)
        rc = hs_mp_get_array(&r, &n);
    if (rc != HS_OK) {
        rc = hs_err_set(HS_ERR_PARSE, "msgpack payload is not [t_us, v] or an array of them");
        goto fail;
    }
    bool batch = n == 0;
    if (n > 0) {
        rc = hs_mp_peek(&r, &t);
        if (rc != HS_OK)
            goto fail;
        batch = t == HS_MP_ARRAY;
    }
    if (!batch) {
        rc = hs__mp_inst(&r, n, payload, copy, b);
        if (rc != HS_OK)
            goto fail;
    } else {
        if (n > HS_BATCH_MAX_INSTANCES) {
            rc = hs_err_set(HS_ERR_LIMIT, "batch of %u instances exceeds the limit of %d", n,
                            HS_BATCH_MAX_INSTANCES);
            goto fail;
        }
        rc = hs__batch_reserve(b, n);
        if (rc != HS_OK)
            goto fail;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t m;
            rc = hs_mp_peek(&r, &t);
            if (rc == HS_OK && t != HS_MP_ARRAY)
                rc = hs_err_set(HS_ERR_PARSE, "an instance is [t_us, v], got another type");
            if (rc == HS_OK)
                rc = hs_mp_get_array(&r, &m);
            if (rc == HS_OK)
                rc = hs__mp_inst(&r, m, payload, copy, b);
            if (rc != HS_OK) {
                rc = hs__inst_err(rc, i);
                goto fail;
            }
        }
    }
    if (!hs_mp_at_end(&r)) {
        rc = hs_err_set(HS_ERR_PARSE, "%zu trailing bytes after the msgpack payload",
                        hs_mp_remaining(&r));
        goto fail;
    }
    return HS_OK;
fail:
    b->n = 0;
    return rc;
}

/* Copies at most 40 bytes of s for an error message, replacing what is not printable ASCII. */
static const char *hs__quote(const char *s, size_t len, char buf[48])
{
    size_t n = len > 40 ? 40 : len;
    for (size_t i = 0; i < n; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (n < len) {
        memcpy(buf + n, "...", 4);
    } else {
        buf[n] = '\0';
    }
    return buf;
}

/* Reads the value of a "t" key: an ISO-8601 string or epoch seconds (number or numeric string). */
static int hs__json_time(hs_json_reader *r, hs_buf *scratch, int64_t *t)
{
    char q[48];
    hs_json_type jt = hs_json_peek(r);
    size_t at = hs_json_offset(r);
    int rc;
    if (jt == HS_JSON_NUMBER) {
        const char *s;
        size_t len;
        rc = hs_json_get_number_text(r, &s, &len);
        if (rc != HS_OK)
            return rc;
        rc = hs_time_parse_epoch(s, len, t);
        if (rc == HS_OK && (*t < HS_TIME_MIN || *t > HS_TIME_MAX))
            rc = HS_ERR_RANGE;
        if (rc == HS_ERR_RANGE)
            return hs_err_set(rc, "timestamp %s (at byte %zu) is outside years 0001-9999",
                              hs__quote(s, len, q), at);
        if (rc != HS_OK)
            return hs_err_set(HS_ERR_PARSE, "timestamp %s (at byte %zu) is not epoch seconds",
                              hs__quote(s, len, q), at);
        return HS_OK;
    }
    if (jt != HS_JSON_STRING)
        return hs_err_set(HS_ERR_PARSE,
                          "timestamp (at byte %zu) must be an ISO-8601 string or epoch seconds",
                          at);
    hs_buf_reset(scratch);
    rc = hs_json_get_string(r, scratch);
    if (rc != HS_OK)
        return rc;
    const char *s = scratch->data != NULL ? (const char *)scratch->data : "";
    size_t len = scratch->len;
    rc = hs_time_parse_iso(s, len, t);
    if (rc != HS_OK && rc != HS_ERR_RANGE)
        rc = hs_time_parse_epoch(s, len, t);
    if (rc == HS_OK && (*t < HS_TIME_MIN || *t > HS_TIME_MAX))
        rc = HS_ERR_RANGE;
    if (rc == HS_ERR_RANGE)
        return hs_err_set(rc, "timestamp '%s' (at byte %zu) is outside years 0001-9999",
                          hs__quote(s, len, q), at);
    if (rc != HS_OK)
        return hs_err_set(HS_ERR_PARSE,
                          "timestamp '%s' (at byte %zu) is not ISO-8601 or epoch seconds",
                          hs__quote(s, len, q), at);
    return HS_OK;
}

static bool hs__key_is(const hs_buf *key, char c)
{
    return key->len == 1 && key->data[0] == (uint8_t)c;
}

/*
 * Tells whether the object at r (not consumed) is an instance object, that
 * is has a "t" or a "v" key at its top level. Usually the first key tells.
 */
static int hs__is_instance_object(const hs_json_reader *r, hs_buf *scratch, bool *yes)
{
    hs_json_reader c = *r;
    *yes = false;
    int rc = hs_json_object_begin(&c);
    for (;;) {
        bool done;
        if (rc == HS_OK)
            rc = hs_json_object_next_key(&c, scratch, &done);
        if (rc != HS_OK || done)
            return rc;
        if (hs__key_is(scratch, 't') || hs__key_is(scratch, 'v')) {
            *yes = true;
            return HS_OK;
        }
        rc = hs_json_skip(&c);
    }
}

/* Reads one instance object {"t": T, "v": V} (keys in any order, "t" optional). */
static int hs__json_inst(hs_json_reader *r, int64_t arrival_us, hs_batch *b, hs_buf *scratch)
{
    size_t at = hs_json_offset(r);
    int rc = hs_json_object_begin(r);
    if (rc != HS_OK)
        return rc;
    bool have_t = false, have_v = false;
    int64_t t = arrival_us;
    for (;;) {
        bool done;
        size_t kat = hs_json_offset(r);
        rc = hs_json_object_next_key(r, scratch, &done);
        if (rc != HS_OK)
            return rc;
        if (done)
            break;
        if (hs__key_is(scratch, 't')) {
            if (have_t)
                return hs_err_set(HS_ERR_PARSE, "duplicate key 't' in instance at byte %zu", kat);
            have_t = true;
            rc = hs__json_time(r, scratch, &t);
        } else if (hs__key_is(scratch, 'v')) {
            if (have_v)
                return hs_err_set(HS_ERR_PARSE, "duplicate key 'v' in instance at byte %zu", kat);
            have_v = true;
            hs_buf *vb = hs_batch_push_begin(b);
            if (vb == NULL)
                return hs_err_set(HS_ERR_NOMEM, "out of memory");
            rc = hs_json_value_to_mpack(r, vb);
        } else {
            char q[48];
            return hs_err_set(HS_ERR_PARSE,
                              "unexpected key '%s' in instance at byte %zu (only \"t\" and \"v\" "
                              "are allowed)",
                              hs__quote((const char *)scratch->data, scratch->len, q), kat);
        }
        if (rc != HS_OK)
            return rc;
    }
    if (!have_v)
        return hs_err_set(HS_ERR_PARSE, "instance at byte %zu has %s", at,
                          have_t ? "\"t\" but no \"v\"" : "no \"v\"");
    return hs_batch_push_end(b, t);
}

/* Reads one bare value (t = arrival). */
static int hs__json_bare(hs_json_reader *r, int64_t arrival_us, hs_batch *b)
{
    hs_buf *vb = hs_batch_push_begin(b);
    if (vb == NULL)
        return hs_err_set(HS_ERR_NOMEM, "out of memory");
    int rc = hs_json_value_to_mpack(r, vb);
    if (rc != HS_OK)
        return rc;
    return hs_batch_push_end(b, arrival_us);
}

static int hs__json_payload(hs_json_reader *r, int64_t arrival_us, hs_batch *b, hs_buf *scratch)
{
    bool inst;
    int rc;
    switch (hs_json_peek(r)) {
    case HS_JSON_END:
        return hs_err_set(HS_ERR_PARSE, "empty payload");
    case HS_JSON_OBJECT:
        rc = hs__is_instance_object(r, scratch, &inst);
        if (rc != HS_OK)
            return rc;
        return inst ? hs__json_inst(r, arrival_us, b, scratch) : hs__json_bare(r, arrival_us, b);
    case HS_JSON_ARRAY:
        break;
    default:
        return hs__json_bare(r, arrival_us, b);
    }
    /* An array: a batch when its first element is an instance object, or empty. */
    hs_json_reader c = *r;
    bool done;
    rc = hs_json_array_begin(&c);
    if (rc == HS_OK)
        rc = hs_json_array_next_item(&c, &done);
    if (rc != HS_OK)
        return rc;
    if (done) {
        *r = c;
        return HS_OK;
    }
    inst = false;
    if (hs_json_peek(&c) == HS_JSON_OBJECT) {
        rc = hs__is_instance_object(&c, scratch, &inst);
        if (rc != HS_OK)
            return rc;
    }
    if (!inst)
        return hs__json_bare(r, arrival_us, b);
    *r = c;
    for (size_t i = 0;; i++) {
        if (i > 0) {
            rc = hs_json_array_next_item(r, &done);
            if (rc != HS_OK)
                return rc;
            if (done)
                return HS_OK;
        }
        if (i >= HS_BATCH_MAX_INSTANCES)
            return hs_err_set(HS_ERR_LIMIT, "batch exceeds the limit of %d instances",
                              HS_BATCH_MAX_INSTANCES);
        if (hs_json_peek(r) != HS_JSON_OBJECT)
            rc = hs_err_set(HS_ERR_PARSE,
                            "expected an object with \"t\" and \"v\" at byte %zu (the array is a "
                            "batch because its first element is one)",
                            hs_json_offset(r));
        else
            rc = hs__json_inst(r, arrival_us, b, scratch);
        if (rc != HS_OK)
            return hs__inst_err(rc, i);
    }
}

int hs_codec_decode_json(const char *payload, size_t len, int64_t arrival_us, hs_batch *b)
{
    hs_batch_reset(b);
    hs_json_reader r;
    hs_json_reader_init(&r, payload, len);
    r.canonical = true;
    hs_buf scratch;
    hs_buf_init(&scratch, 0);
    int rc = hs__json_payload(&r, arrival_us, b, &scratch);
    if (rc == HS_OK)
        rc = hs_json_expect_end(&r);
    hs_buf_free(&scratch);
    if (rc != HS_OK) {
        b->n = 0;
        hs_buf_reset(&b->store);
    }
    return rc;
}

static bool hs__is_ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Finds a bare word in s (see hs_codec_decode_text): true with its start
 * and length, false when s is not one.
 */
static bool hs__bare_word(const char *s, size_t len, size_t *start, size_t *wlen)
{
    size_t a = 0, e = len;
    while (a < e && hs__is_ascii_space(s[a]))
        a++;
    while (e > a && hs__is_ascii_space(s[e - 1]))
        e--;
    if (e == a || e - a > HS_CODEC_MAX_WORD)
        return false;
    char c0 = s[a];
    if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z')))
        return false;
    for (size_t i = a + 1; i < e; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.' || c == ':';
        if (!ok)
            return false;
    }
    /* Other spellings of numbers and JSON literals are not words: a device sending NaN or True
     * means a number or a boolean, not text. */
    static const char *const not_words[] = {"nan", "inf", "infinity", "true", "false", "null"};
    for (size_t k = 0; k < sizeof not_words / sizeof not_words[0]; k++)
        if (strlen(not_words[k]) == e - a && strncasecmp(s + a, not_words[k], e - a) == 0)
            return false;
    *start = a;
    *wlen = e - a;
    return true;
}

int hs_codec_decode_text(const char *payload, size_t len, int64_t arrival_us, hs_batch *b)
{
    int rc = hs_codec_decode_json(payload, len, arrival_us, b);
    if (rc != HS_ERR_PARSE)
        return rc;
    size_t start, wlen;
    if (payload == NULL || !hs__bare_word(payload, len, &start, &wlen)) {
        char why[400];
        snprintf(why, sizeof why, "%s", hs_err_detail());
        return hs_err_set(HS_ERR_PARSE,
                          "%s (a payload is JSON, msgpack or a bare word such as on; send other "
                          "text as a JSON string, e.g. \"living room\")",
                          why);
    }
    hs_buf *vb = hs_batch_push_begin(b);
    if (vb == NULL)
        return hs_err_set(HS_ERR_NOMEM, "out of memory");
    rc = hs_mp_put_str(vb, payload + start, wlen);
    if (rc == HS_OK)
        rc = hs_batch_push_end(b, arrival_us);
    if (rc != HS_OK) {
        b->n = 0;
        hs_buf_reset(&b->store);
    }
    return rc;
}

int hs_codec_decode_payload(const uint8_t *payload, size_t len, int64_t arrival_us, hs_batch *b)
{
    if (len > 0 && ((payload[0] & 0xf0) == 0x90 || payload[0] == 0xdc || payload[0] == 0xdd))
        return hs_codec_decode_mpack(payload, len, true, b);
    return hs_codec_decode_text((const char *)payload, len, arrival_us, b);
}

/* ---------------------------------------------------------------------------
 * Encoding
 */

int hs_codec_encode_mpack(const hs_batch *b, size_t from, size_t count, hs_buf *out)
{
    if (from > b->n || count > b->n - from)
        return hs_err_set(HS_ERR_INVAL, "encode: instances [%zu, %zu) outside a batch of %zu", from,
                          from + count, b->n);
    if (count > UINT32_MAX)
        return hs_err_set(HS_ERR_LIMIT, "encode: more than 2^32 instances");
    size_t len0 = out->len;
    int rc = hs_mp_put_array(out, (uint32_t)count);
    for (size_t i = from; rc == HS_OK && i < from + count; i++) {
        const hs_inst *it = &b->items[i];
        rc = hs_mp_put_array(out, 2);
        if (rc == HS_OK)
            rc = hs_mp_put_int(out, it->t_us);
        if (rc == HS_OK)
            rc = hs_buf_append(out, b->base + it->off, it->len);
    }
    if (rc != HS_OK) {
        out->len = len0;
        return hs_err_set(rc, "encode: %s", hs_strerror(rc));
    }
    return HS_OK;
}

int hs_codec_encode_json_line(int64_t t_us, const uint8_t *v, size_t vlen, hs_buf *out)
{
    size_t len0 = out->len;
    char iso[HS_TIME_ISO_MAX];
    size_t n = hs_time_format_iso(t_us, iso);
    int rc = hs_buf_append(out, "{\"t\":\"", 6);
    if (rc == HS_OK)
        rc = hs_buf_append(out, iso, n);
    if (rc == HS_OK)
        rc = hs_buf_append(out, "\",\"v\":", 6);
    if (rc != HS_OK) {
        rc = hs_err_set(rc, "encode: %s", hs_strerror(rc));
        goto fail;
    }
    hs_mp_reader r;
    hs_mp_reader_init(&r, v, vlen);
    rc = hs_json_from_mpack(&r, out);
    if (rc != HS_OK)
        goto fail;
    if (!hs_mp_at_end(&r)) {
        rc = hs_err_set(HS_ERR_PARSE, "encode: %zu trailing bytes after the value",
                        hs_mp_remaining(&r));
        goto fail;
    }
    rc = hs_buf_append(out, "}\n", 2);
    if (rc != HS_OK) {
        rc = hs_err_set(rc, "encode: %s", hs_strerror(rc));
        goto fail;
    }
    return HS_OK;
fail:
    out->len = len0;
    return rc;
}
