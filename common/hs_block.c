/*
 * The block codec (hs_block.h; format in docs/ARCHITECTURE.md, "Compressed
 * blocks").
 *
 * Encoded block:
 *   version (1) | kind | n | t0 (zigzag) | t1 - t0 | bits of the time
 *   section | bits (FLOAT, INT, NUMBER) or bytes (ANY) of the value section
 *   | time section | value section | CRC-32 of all before it (4 bytes,
 *   big-endian)
 * (integers as LEB128 varints). Loading a block for appending decodes it:
 * the decoder ends in the state the encoder needs (the last delta of time,
 * the last value, the XOR window), and a block that does not decode exactly
 * (every bit of both sections used, nothing after them) is refused.
 */
#include "hs_block.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <math.h>
#include <string.h>
#include <zlib.h>

#define HS__BLK_VERSION 1
#define HS__BLK_REPEAT  0xc1 /* ANY: the previous value again (never valid msgpack) */

/* Classes of values, by what a block kind can hold. */
enum { C_FLOAT = 1, C_INT53 = 2, C_INTBIG = 4, C_OTHER = 8 };

#define HS__INT53 (1LL << 53)

static int hs__blk_corrupt(const char *what)
{
    return hs_err_set(HS_ERR_STORE, "corrupt block: %s", what);
}

/* ---- integers ---- */

static uint64_t hs__zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t hs__unzz(uint64_t z)
{
    return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

static void hs__put_varint(uint8_t **p, uint64_t v)
{
    while (v >= 0x80) {
        *(*p)++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *(*p)++ = (uint8_t)v;
}

static bool hs__get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t c = *(*p)++;
        r |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

static uint64_t hs__be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void hs__put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* The canonical msgpack encoding of an integer (what msgpack-c's packer
 * writes) into p; returns its length. */
static size_t hs__mp_int(uint8_t *p, int64_t v)
{
    if (v >= -32 && v < 128) { /* fixint */
        p[0] = (uint8_t)v;
        return 1;
    }
    uint8_t code;
    if (v < 0)
        code = v >= INT8_MIN ? 0xd0 : v >= INT16_MIN ? 0xd1 : v >= INT32_MIN ? 0xd2 : 0xd3;
    else
        code = v <= UINT8_MAX ? 0xcc : v <= UINT16_MAX ? 0xcd : v <= UINT32_MAX ? 0xce : 0xcf;
    /* 0xcc..0xcf and 0xd0..0xd3: 1, 2, 4 and 8 bytes */
    int w = 1 << ((code - 0xcc) & 3);
    p[0] = code;
    hs__put_be(p + 1, (uint64_t)v, w);
    return (size_t)w + 1;
}

/* Reads a msgpack integer in any width; false when v is not one. */
static bool hs__mp_get_int(const uint8_t *v, size_t len, int64_t *out)
{
    uint8_t c = v[0];
    if (c <= 0x7f || c >= 0xe0) {
        *out = (int8_t)c;
        return len == 1;
    }
    static const uint8_t width[] = {1, 2, 4, 8};
    if (c >= 0xcc && c <= 0xd3) {
        int w = width[(c - 0xcc) & 3];
        if (len != (size_t)w + 1)
            return false;
        uint64_t u = 0;
        for (int i = 1; i <= w; i++)
            u = u << 8 | v[i];
        if (c <= 0xcf) { /* unsigned */
            if (u > INT64_MAX)
                return false;
            *out = (int64_t)u;
        } else if (w == 8) {
            *out = (int64_t)u;
        } else { /* sign-extend */
            int shift = 64 - 8 * w;
            *out = (int64_t)(u << shift) >> shift;
        }
        return true;
    }
    return false;
}

/*
 * The class of a value and its number: C_FLOAT with the double's bits,
 * C_INT53 or C_INTBIG with the integer (canonical encodings only), or
 * C_OTHER after checking that it is one canonical value.
 */
static int hs__classify(const uint8_t *v, size_t len, uint64_t *num, int *cls)
{
    if (len == 0)
        return hs_err_set(HS_ERR_PARSE, "value: empty");
    if (v[0] == 0xcb && len == 9) {
        *num = hs__be64(v + 1);
        *cls = C_FLOAT;
        return HS_OK;
    }
    int64_t i;
    if (hs__mp_get_int(v, len, &i)) {
        uint8_t canon[9];
        if (hs__mp_int(canon, i) != len || memcmp(canon, v, len) != 0)
            return hs_err_set(HS_ERR_PARSE, "value: integer not in its smallest encoding");
        *num = (uint64_t)i;
        *cls = i >= -HS__INT53 && i <= HS__INT53 ? C_INT53 : C_INTBIG;
        return HS_OK;
    }
    int rc = hs_value_check(v, len);
    if (rc != HS_OK)
        return rc;
    *cls = C_OTHER;
    return HS_OK;
}

/* The narrowest kind that holds every class in mask. */
static int hs__kind_of(int mask)
{
    if (mask & C_OTHER)
        return HS_BLOCK_ANY;
    if ((mask & C_INTBIG) && (mask & C_FLOAT))
        return HS_BLOCK_ANY;
    if (mask & C_FLOAT)
        return (mask & (C_INT53 | C_INTBIG)) ? HS_BLOCK_NUMBER : HS_BLOCK_FLOAT;
    return HS_BLOCK_INT;
}

/* Whether kind holds class cls. */
static bool hs__kind_holds(int kind, int cls)
{
    switch (kind) {
    case HS_BLOCK_FLOAT:
        return cls == C_FLOAT;
    case HS_BLOCK_INT:
        return cls == C_INT53 || cls == C_INTBIG;
    case HS_BLOCK_NUMBER:
        return cls == C_FLOAT || cls == C_INT53;
    default:
        return true;
    }
}

/* ---- bits ---- */

static void hs__bits_init(hs_bits *b)
{
    hs_buf_init(&b->bytes, 0);
    b->acc = 0;
    b->nacc = 0;
}

static void hs__bits_reset(hs_bits *b)
{
    hs_buf_reset(&b->bytes);
    b->acc = 0;
    b->nacc = 0;
}

static uint64_t hs__bits_count(const hs_bits *b)
{
    return (uint64_t)b->bytes.len * 8 + b->nacc;
}

/* Appends the low n bits of v (n <= 56); room for 8 bytes must be reserved. */
static void hs__bits_put56(hs_bits *b, uint64_t v, unsigned n)
{
    if (n == 0)
        return;
    b->acc = (b->acc << n) | (v & ((1ULL << n) - 1));
    b->nacc += n;
    while (b->nacc >= 8) {
        b->nacc -= 8;
        b->bytes.data[b->bytes.len++] = (uint8_t)(b->acc >> b->nacc);
    }
    b->acc &= (1ULL << b->nacc) - 1;
}

static void hs__bits_put(hs_bits *b, uint64_t v, unsigned n)
{
    if (n > 32) {
        hs__bits_put56(b, v >> 32, n - 32);
        n = 32;
    }
    hs__bits_put56(b, v, n);
}

/* A bit reader over a section of nbits bits at p; the buffer holds nbytes
 * bytes from p (the section and what follows it), so that reads near the
 * section's end can still load whole words. */
typedef struct hs__rd {
    const uint8_t *p;
    uint64_t pos, nbits;
    size_t nbytes;
} hs__rd;

/* The 64 bits from pos on (zeros past the buffer); the first 57 are whole. */
static inline uint64_t hs__rd_peek(const hs__rd *r)
{
    uint64_t byte = r->pos >> 3, w = 0;
    if (byte + 8 <= r->nbytes) {
        memcpy(&w, r->p + byte, 8);
        w = __builtin_bswap64(w);
    } else {
        for (unsigned i = 0; byte + i < r->nbytes && i < 8; i++)
            w |= (uint64_t)r->p[byte + i] << (56 - 8 * i);
    }
    return w << (r->pos & 7);
}

/* Reads n bits (0 < n <= 64). */
static inline bool hs__rd_get(hs__rd *r, unsigned n, uint64_t *v)
{
    if (n > r->nbits - r->pos)
        return false;
    if (n > 56) {
        uint64_t hi = hs__rd_peek(r) >> 32;
        r->pos += 32;
        *v = hi << (n - 32) | hs__rd_peek(r) >> (64 - (n - 32));
        r->pos += n - 32;
        return true;
    }
    *v = hs__rd_peek(r) >> (64 - n);
    r->pos += n;
    return true;
}

static inline bool hs__rd_bit(hs__rd *r, unsigned *bit)
{
    if (r->pos >= r->nbits)
        return false;
    *bit = (r->p[r->pos >> 3] >> (7 - (r->pos & 7))) & 1;
    r->pos++;
    return true;
}

/* ---- the prefix code of deltas of deltas ---- */

/* Widths of the buckets after the prefixes 10, 110, 1110, 11110, 11111. */
static const unsigned hs__dod_width[] = {8, 14, 20, 32, 64};

static void hs__put_dod(hs_bits *b, uint64_t dod)
{
    uint64_t z = hs__zz((int64_t)dod);
    if (z == 0) {
        hs__bits_put56(b, 0, 1);
        return;
    }
    for (unsigned k = 0; k < 4; k++) {
        if (z < (1ULL << hs__dod_width[k])) {
            /* prefix: k + 1 ones, then a zero */
            hs__bits_put56(b, ((1ULL << (k + 1)) - 1) << 1, k + 2);
            hs__bits_put(b, z, hs__dod_width[k]);
            return;
        }
    }
    hs__bits_put56(b, 0x1f, 5);
    hs__bits_put(b, z, 64);
}

static inline bool hs__get_dod(hs__rd *r, uint64_t *dod)
{
    if (r->pos >= r->nbits)
        return false;
    uint64_t w = hs__rd_peek(r);
    if (!(w >> 63)) {
        r->pos++;
        *dod = 0;
        return true;
    }
    unsigned ones = (unsigned)__builtin_clzll(~w | (1ULL << 58)); /* 1 to 5 */
    unsigned prefix = ones < 5 ? ones + 1 : 5;
    if (prefix > r->nbits - r->pos)
        return false;
    r->pos += prefix;
    uint64_t z;
    if (!hs__rd_get(r, hs__dod_width[ones - 1], &z))
        return false;
    *dod = (uint64_t)hs__unzz(z);
    return true;
}

/* ---- the XOR code of doubles ---- */

static void hs__put_xor(hs_block_enc *e, uint64_t bits)
{
    uint64_t x = bits ^ e->v_prev;
    e->v_prev = bits;
    if (x == 0) {
        hs__bits_put56(&e->vbits, 0, 1);
        return;
    }
    unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
    if (e->window && lead >= e->lead && trail >= e->trail) {
        hs__bits_put56(&e->vbits, 2, 2);
        hs__bits_put(&e->vbits, x >> e->trail, 64 - e->lead - e->trail);
        return;
    }
    unsigned len = 64 - lead - trail;
    hs__bits_put56(&e->vbits, 3, 2);
    hs__bits_put56(&e->vbits, lead, 6);
    hs__bits_put56(&e->vbits, len - 1, 6);
    hs__bits_put(&e->vbits, x >> trail, len);
    e->lead = lead;
    e->trail = trail;
    e->window = true;
}

/* The decoder's state of the value section. */
typedef struct hs__vst {
    uint64_t prev; /* bits of the last double, or the last integer */
    int64_t dprev; /* INT: last delta */
    unsigned lead, trail;
    bool window;
    const uint8_t *last; /* ANY: last value */
    size_t last_len;
} hs__vst;

static inline bool hs__get_xor(hs__rd *r, hs__vst *s, uint64_t *bits)
{
    if (r->pos >= r->nbits)
        return false;
    uint64_t w = hs__rd_peek(r);
    if (!(w >> 63)) {
        r->pos++;
        *bits = s->prev;
        return true;
    }
    uint64_t x;
    if (!((w >> 62) & 1)) {
        if (!s->window || r->nbits - r->pos < 2)
            return false;
        r->pos += 2;
        if (!hs__rd_get(r, 64 - s->lead - s->trail, &x))
            return false;
        x <<= s->trail;
    } else {
        if (r->nbits - r->pos < 14)
            return false;
        unsigned lead = (unsigned)(w >> 56) & 63, len = ((unsigned)(w >> 50) & 63) + 1;
        r->pos += 14;
        if (lead + len > 64 || !hs__rd_get(r, len, &x))
            return false;
        unsigned trail = 64 - lead - len;
        x <<= trail;
        /* The writer chose lead and trail from x itself: anything else is corrupt. */
        if (x == 0 || (unsigned)__builtin_clzll(x) != lead || (unsigned)__builtin_ctzll(x) != trail)
            return false;
        s->lead = lead;
        s->trail = trail;
        s->window = true;
    }
    s->prev ^= x;
    *bits = s->prev;
    return true;
}

/* ---- the encoder ---- */

void hs_block_enc_init(hs_block_enc *e)
{
    memset(e, 0, sizeof *e);
    hs__bits_init(&e->ts);
    hs__bits_init(&e->vbits);
    hs_buf_init(&e->vany, 0);
    hs_buf_init(&e->last, 0);
    hs_buf_init(&e->out, 0);
    hs_batch_init(&e->tmp);
}

void hs_block_enc_free(hs_block_enc *e)
{
    hs_buf_free(&e->ts.bytes);
    hs_buf_free(&e->vbits.bytes);
    hs_buf_free(&e->vany);
    hs_buf_free(&e->last);
    hs_buf_free(&e->out);
    hs_batch_free(&e->tmp);
    hs_block_enc_init(e);
}

void hs_block_enc_reset(hs_block_enc *e)
{
    e->n = 0;
    e->t_first = e->t_last = 0;
    e->kind = HS_BLOCK_FLOAT;
    hs__bits_reset(&e->ts);
    e->dt_prev = 0;
    hs__bits_reset(&e->vbits);
    hs_buf_reset(&e->vany);
    e->v_prev = 0;
    e->dv_prev = 0;
    e->lead = e->trail = 0;
    e->window = false;
    hs_buf_reset(&e->last);
    hs_buf_reset(&e->out);
    e->vraw = 0;
}

/* Largest header, in bytes. */
#define HS__BLK_OVERHEAD 52

static size_t hs__enc_size(const hs_block_enc *e)
{
    return HS__BLK_OVERHEAD + e->ts.bytes.len + 1 + e->vbits.bytes.len + 1 + e->vany.len;
}

bool hs_block_enc_fits(const hs_block_enc *e, int64_t t, size_t vlen)
{
    if (e->n == 0)
        return true;
    if (e->n >= HS_BLOCK_MAX_N)
        return false;
    if (t > e->t_first && (uint64_t)t - (uint64_t)e->t_first > (uint64_t)HS_BLOCK_MAX_SPAN_US)
        return false;
    /* Worst case of one more instance: 69 bits of time, the value in full;
     * and a value that widens the block to ANY writes every value in full. */
    size_t size = hs__enc_size(e);
    if (e->kind != HS_BLOCK_ANY && HS__BLK_OVERHEAD + e->ts.bytes.len + 1 + e->vraw > size)
        size = HS__BLK_OVERHEAD + e->ts.bytes.len + 1 + e->vraw;
    return size + 10 + vlen + 3 <= HS_BLOCK_MAX_BYTES;
}

/* Appends a value of class cls (num: its number) to the value section of
 * kind e->kind, which holds it. Room must be reserved. */
static void hs__enc_value(hs_block_enc *e, const uint8_t *v, size_t vlen, uint64_t num, int cls)
{
    bool first = e->n == 0;
    switch (e->kind) {
    case HS_BLOCK_FLOAT:
        if (first) {
            hs__bits_put(&e->vbits, num, 64);
            e->v_prev = num;
        } else {
            hs__put_xor(e, num);
        }
        break;
    case HS_BLOCK_NUMBER: {
        uint64_t bits = num;
        if (cls != C_FLOAT) {
            double d = (double)(int64_t)num;
            memcpy(&bits, &d, sizeof bits);
        }
        hs__bits_put56(&e->vbits, cls == C_FLOAT ? 0 : 1, 1);
        if (first) {
            hs__bits_put(&e->vbits, bits, 64);
            e->v_prev = bits;
        } else {
            hs__put_xor(e, bits);
        }
        break;
    }
    case HS_BLOCK_INT:
        if (first) {
            hs__bits_put(&e->vbits, num, 64);
        } else {
            uint64_t delta = num - e->v_prev;
            hs__put_dod(&e->vbits, delta - (uint64_t)e->dv_prev);
            e->dv_prev = (int64_t)delta;
        }
        e->v_prev = num;
        break;
    default:
        if (!first && e->last.len == vlen && memcmp(e->last.data, v, vlen) == 0) {
            e->vany.data[e->vany.len++] = HS__BLK_REPEAT;
        } else {
            /* The last value written in full starts here (for loading). */
            e->v_prev = e->vany.len;
            memcpy(e->vany.data + e->vany.len, v, vlen);
            e->vany.len += vlen;
            hs_buf_reset(&e->last);
            (void)hs_buf_append(&e->last, v, vlen); /* reserved */
        }
        break;
    }
}

/* Reserves room for one more instance whose value has vlen bytes. */
static int hs__enc_reserve(hs_block_enc *e, size_t vlen)
{
    if (hs_buf_reserve(&e->ts.bytes, 16) != HS_OK || hs_buf_reserve(&e->vbits.bytes, 24) != HS_OK ||
        hs_buf_reserve(&e->vany, vlen + 1) != HS_OK || hs_buf_reserve(&e->last, vlen) != HS_OK)
        return hs_err_set(HS_ERR_NOMEM, "block: out of memory");
    return HS_OK;
}

/* Appends an instance that e's kind holds (checked by the caller). */
static int hs__enc_push(hs_block_enc *e, int64_t t, const uint8_t *v, size_t vlen, uint64_t num,
                        int cls)
{
    int rc = hs__enc_reserve(e, vlen);
    if (rc != HS_OK)
        return rc;
    if (e->n == 0) {
        e->t_first = t;
    } else {
        uint64_t dt = (uint64_t)t - (uint64_t)e->t_last;
        hs__put_dod(&e->ts, dt - (uint64_t)e->dt_prev);
        e->dt_prev = (int64_t)dt;
    }
    hs__enc_value(e, v, vlen, num, cls);
    e->vraw += vlen;
    e->t_last = t;
    e->n++;
    return HS_OK;
}

/* The classes of the values of a batch. */
static int hs__batch_classes(const hs_batch *b, int *mask)
{
    for (size_t i = 0; i < b->n; i++) {
        uint64_t num;
        int cls;
        int rc = hs__classify(hs_batch_value(b, i), b->items[i].len, &num, &cls);
        if (rc != HS_OK)
            return rc;
        *mask |= cls;
    }
    return HS_OK;
}

/*
 * Re-encodes what e holds plus (t, v) in the narrowest kind that holds them
 * all. e is replaced only on success.
 */
static int hs__enc_widen(hs_block_enc *e, int64_t t, const uint8_t *v, size_t vlen, int cls)
{
    const uint8_t *data;
    size_t len;
    int rc = hs_block_enc_bytes(e, &data, &len);
    hs_batch_reset(&e->tmp);
    if (rc == HS_OK)
        rc = hs_block_decode(data, len, HS_TIME_MIN - 1, HS_TIME_MAX, SIZE_MAX, &e->tmp);
    int mask = cls;
    if (rc == HS_OK)
        rc = hs__batch_classes(&e->tmp, &mask);
    if (rc != HS_OK)
        return rc;
    hs_block_enc w;
    hs_block_enc_init(&w);
    hs_block_enc_reset(&w);
    w.kind = hs__kind_of(mask);
    for (size_t i = 0; rc == HS_OK && i <= e->tmp.n; i++) {
        const uint8_t *vi = i < e->tmp.n ? hs_batch_value(&e->tmp, i) : v;
        size_t li = i < e->tmp.n ? e->tmp.items[i].len : vlen;
        int64_t ti = i < e->tmp.n ? e->tmp.items[i].t_us : t;
        uint64_t num;
        int c;
        rc = hs__classify(vi, li, &num, &c);
        if (rc == HS_OK)
            rc = hs__enc_push(&w, ti, vi, li, num, c);
    }
    if (rc != HS_OK) {
        hs_block_enc_free(&w);
        return rc;
    }
    /* e takes everything from w but its own scratch batch. */
    hs_batch keep = e->tmp;
    hs_batch_free(&w.tmp);
    e->tmp.n = 0;
    hs_buf_free(&e->ts.bytes);
    hs_buf_free(&e->vbits.bytes);
    hs_buf_free(&e->vany);
    hs_buf_free(&e->last);
    hs_buf_free(&e->out);
    *e = w;
    e->tmp = keep;
    hs_batch_reset(&e->tmp);
    return HS_OK;
}

int hs_block_enc_append(hs_block_enc *e, int64_t t, const uint8_t *v, size_t vlen)
{
    if (e->n > 0 && t <= e->t_last)
        return hs_err_set(HS_ERR_INVAL, "block: instance at %lld is not later than the last",
                          (long long)t);
    if (t < HS_TIME_MIN || t > HS_TIME_MAX)
        return hs_err_set(HS_ERR_RANGE, "block: timestamp %lld out of range", (long long)t);
    if (v == NULL || vlen == 0 || vlen > UINT32_MAX)
        return hs_err_set(HS_ERR_PARSE, "value: empty or too large");
    uint64_t num = 0;
    int cls;
    int rc = hs__classify(v, vlen, &num, &cls);
    if (rc != HS_OK)
        return rc;
    if (e->n == 0)
        e->kind = hs__kind_of(cls);
    else if (!hs__kind_holds(e->kind, cls))
        return hs__enc_widen(e, t, v, vlen, cls);
    return hs__enc_push(e, t, v, vlen, num, cls);
}

static void hs__bits_flush_to(const hs_bits *b, uint8_t **p)
{
    if (b->bytes.len > 0)
        memcpy(*p, b->bytes.data, b->bytes.len);
    *p += b->bytes.len;
    if (b->nacc > 0)
        *(*p)++ = (uint8_t)(b->acc << (8 - b->nacc));
}

int hs_block_enc_bytes(hs_block_enc *e, const uint8_t **data, size_t *len)
{
    if (e->n == 0)
        return hs_err_set(HS_ERR_STATE, "block: no instance");
    hs_buf_reset(&e->out);
    if (hs_buf_reserve(&e->out, hs__enc_size(e)) != HS_OK)
        return hs_err_set(HS_ERR_NOMEM, "block: out of memory");
    uint8_t *p = e->out.data;
    *p++ = HS__BLK_VERSION;
    *p++ = (uint8_t)e->kind;
    hs__put_varint(&p, e->n);
    hs__put_varint(&p, hs__zz(e->t_first));
    hs__put_varint(&p, (uint64_t)e->t_last - (uint64_t)e->t_first);
    hs__put_varint(&p, hs__bits_count(&e->ts));
    hs__put_varint(&p, e->kind == HS_BLOCK_ANY ? e->vany.len : hs__bits_count(&e->vbits));
    hs__bits_flush_to(&e->ts, &p);
    if (e->kind == HS_BLOCK_ANY) {
        memcpy(p, e->vany.data, e->vany.len);
        p += e->vany.len;
    } else {
        hs__bits_flush_to(&e->vbits, &p);
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, e->out.data, (uInt)(p - e->out.data));
    hs__put_be(p, crc, 4);
    p += 4;
    e->out.len = (size_t)(p - e->out.data);
    *data = e->out.data;
    *len = e->out.len;
    return HS_OK;
}

/* ---- parsing ---- */

typedef struct hs__parsed {
    hs_block_info info;
    uint64_t ts_nbits, v_size; /* v_size: bits, or bytes for ANY */
    const uint8_t *ts, *vs;    /* sections */
    const uint8_t *tail, *end; /* end of the sections, end of the block */
} hs__parsed;

static int hs__parse(const uint8_t *data, size_t len, hs__parsed *out)
{
    if (data == NULL || len < 6 || len - 4 > UINT32_MAX)
        return hs__blk_corrupt("too short");
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, data, (uInt)(len - 4));
    const uint8_t *c = data + len - 4;
    if (((uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3]) != (uint32_t)crc)
        return hs__blk_corrupt("checksum mismatch");
    len -= 4;
    const uint8_t *p = data + 2, *end = data + len;
    if (data[0] != HS__BLK_VERSION)
        return hs__blk_corrupt("unknown version");
    if (data[1] > HS_BLOCK_ANY)
        return hs__blk_corrupt("unknown kind");
    uint64_t n, zt0, span, tsb, vsz;
    if (!hs__get_varint(&p, end, &n) || !hs__get_varint(&p, end, &zt0) ||
        !hs__get_varint(&p, end, &span) || !hs__get_varint(&p, end, &tsb) ||
        !hs__get_varint(&p, end, &vsz))
        return hs__blk_corrupt("cut header");
    int64_t t0 = hs__unzz(zt0);
    /* Every instance after the first takes at least one bit of time (and of
     * value, or a byte for ANY): a count the sections cannot hold is corrupt
     * before anything is reserved for it. */
    if (n == 0 || n > HS_BLOCK_DECODE_MAX_N || n - 1 > tsb || n - 1 > vsz)
        return hs__blk_corrupt("bad count");
    if (t0 < HS_TIME_MIN || t0 > HS_TIME_MAX || span > (uint64_t)(HS_TIME_MAX - t0) ||
        (n == 1) != (span == 0))
        return hs__blk_corrupt("bad time range");
    uint64_t ts_bytes = tsb / 8 + (tsb % 8 != 0);
    uint64_t v_bytes = data[1] == HS_BLOCK_ANY ? vsz : vsz / 8 + (vsz % 8 != 0);
    if (ts_bytes > (uint64_t)(end - p) || v_bytes > (uint64_t)(end - p) - ts_bytes)
        return hs__blk_corrupt("cut sections");
    out->info.n = (size_t)n;
    out->info.t_first = t0;
    out->info.t_last = (int64_t)((uint64_t)t0 + span);
    out->info.kind = data[1];
    out->ts_nbits = tsb;
    out->v_size = vsz;
    out->ts = p;
    out->vs = p + ts_bytes;
    out->tail = out->vs + v_bytes;
    out->end = end;
    return HS_OK;
}

int hs_block_peek(const uint8_t *data, size_t len, hs_block_info *info)
{
    hs__parsed ps;
    int rc = hs__parse(data, len, &ps);
    if (rc == HS_OK)
        *info = ps.info;
    return rc;
}

/* Bytes of the canonical value at p (at most avail bytes); 0 when corrupt. */
static size_t hs__any_len(const uint8_t *p, size_t avail)
{
    hs_mp_reader r;
    hs_mp_reader_init(&r, p, avail);
    if (hs_mp_skip(&r) != HS_OK)
        return 0;
    size_t vl = avail - hs_mp_remaining(&r);
    if (vl == 0 || hs_value_check(p, vl) != HS_OK)
        return 0;
    return vl;
}

/* Decodes the next value into s (and for the output, into buf/len). */
static bool hs__dec_value(int kind, hs__rd *vr, const uint8_t *vs, size_t vbytes, size_t *vpos,
                          hs__vst *s, bool first, uint8_t *buf, const uint8_t **val, size_t *vlen)
{
    uint64_t bits;
    switch (kind) {
    case HS_BLOCK_FLOAT:
        if (first) {
            if (!hs__rd_get(vr, 64, &bits))
                return false;
            s->prev = bits;
        } else if (!hs__get_xor(vr, s, &bits)) {
            return false;
        }
        buf[0] = 0xcb;
        hs__put_be(buf + 1, bits, 8);
        *val = buf;
        *vlen = 9;
        return true;
    case HS_BLOCK_NUMBER: {
        unsigned is_int;
        if (!hs__rd_bit(vr, &is_int))
            return false;
        if (first) {
            if (!hs__rd_get(vr, 64, &bits))
                return false;
            s->prev = bits;
        } else if (!hs__get_xor(vr, s, &bits)) {
            return false;
        }
        if (!is_int) {
            buf[0] = 0xcb;
            hs__put_be(buf + 1, bits, 8);
            *val = buf;
            *vlen = 9;
            return true;
        }
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!(d >= -(double)HS__INT53 && d <= (double)HS__INT53) || d != floor(d))
            return false;
        int64_t i = (int64_t)d;
        /* -0.0 is not an integer the writer converted. */
        double back = (double)i;
        uint64_t bb;
        memcpy(&bb, &back, sizeof bb);
        if (bb != bits)
            return false;
        *vlen = hs__mp_int(buf, i);
        *val = buf;
        return true;
    }
    case HS_BLOCK_INT:
        if (first) {
            if (!hs__rd_get(vr, 64, &bits))
                return false;
        } else {
            uint64_t dod;
            if (!hs__get_dod(vr, &dod))
                return false;
            uint64_t delta = (uint64_t)s->dprev + dod;
            s->dprev = (int64_t)delta;
            bits = s->prev + delta;
        }
        s->prev = bits;
        *vlen = hs__mp_int(buf, (int64_t)bits);
        *val = buf;
        return true;
    default:
        if (*vpos >= vbytes)
            return false;
        if (vs[*vpos] == HS__BLK_REPEAT) {
            if (first)
                return false;
            (*vpos)++;
        } else {
            size_t l = hs__any_len(vs + *vpos, vbytes - *vpos);
            if (l == 0)
                return false;
            s->last = vs + *vpos;
            s->last_len = l;
            *vpos += l;
        }
        *val = s->last;
        *vlen = s->last_len;
        return true;
    }
}

/* The state a whole decode ends in: what an encoder appending to the block
 * needs. */
typedef struct hs__final {
    hs__vst v;
    int64_t dt;
    size_t vraw; /* bytes of the values as msgpack */
} hs__final;

/*
 * Decodes the block up to end; out receives the instances in (after, end],
 * at most max, and has room for one more instance. A decode of the whole
 * block checks that it used every bit of both sections and that nothing
 * follows them, and leaves its state in fin (may be NULL).
 */
static int hs__decode(const hs__parsed *ps, int64_t after, int64_t end, size_t max, hs_batch *out,
                      hs__final *fin)
{
    hs__vst st;
    hs__vst *s = &st;
    hs__rd tr = {ps->ts, 0, ps->ts_nbits, (size_t)(ps->end - ps->ts)};
    hs__rd vr = {ps->vs, 0, ps->info.kind == HS_BLOCK_ANY ? 0 : ps->v_size,
                 (size_t)(ps->end - ps->vs)};
    size_t vpos = 0, vbytes = ps->info.kind == HS_BLOCK_ANY ? (size_t)ps->v_size : 0;
    memset(s, 0, sizeof *s);
    int64_t t = ps->info.t_first, dt = 0;
    uint8_t buf[9];
    size_t taken = 0, vraw = 0;
    for (size_t i = 0; i < ps->info.n; i++) {
        if (i > 0) {
            uint64_t dod;
            if (!hs__get_dod(&tr, &dod))
                return hs__blk_corrupt("cut time section");
            uint64_t ndt = (uint64_t)dt + dod;
            if ((int64_t)ndt <= 0 || ndt > (uint64_t)(HS_TIME_MAX - t))
                return hs__blk_corrupt("time not increasing");
            dt = (int64_t)ndt;
            t += dt;
        }
        if (t > end)
            return HS_OK;
        const uint8_t *val;
        size_t vlen;
        if (!hs__dec_value(ps->info.kind, &vr, ps->vs, vbytes, &vpos, s, i == 0, buf, &val, &vlen))
            return hs__blk_corrupt("cut or invalid value section");
        vraw += vlen;
        if (t > after) {
            if (taken == max)
                return HS_OK;
            if (out->n == out->cap || out->store.cap - out->store.len < vlen) {
                int rc = hs_batch_reserve(out, ps->info.n - i, (ps->info.n - i) * vlen);
                if (rc != HS_OK)
                    return rc;
            }
            hs_inst *it = &out->items[out->n++];
            it->t_us = t;
            it->off = (uint32_t)out->store.len;
            it->len = (uint32_t)vlen;
            if (vlen == 9) /* a float64: a copy of known size */
                memcpy(out->store.data + out->store.len, val, 9);
            else
                memcpy(out->store.data + out->store.len, val, vlen);
            out->store.len += vlen;
            taken++;
        }
    }
    if (t != ps->info.t_last)
        return hs__blk_corrupt("last time differs from the header");
    if (tr.pos != tr.nbits ||
        (ps->info.kind == HS_BLOCK_ANY ? vpos != vbytes : vr.pos != vr.nbits) ||
        ps->tail != ps->end)
        return hs__blk_corrupt("bytes left over");
    if (fin != NULL) {
        fin->v = st;
        fin->dt = dt;
        fin->vraw = vraw;
    }
    return HS_OK;
}

int hs_block_decode(const uint8_t *data, size_t len, int64_t after, int64_t end, size_t max,
                    hs_batch *out)
{
    hs__parsed ps;
    int rc = hs__parse(data, len, &ps);
    if (rc != HS_OK)
        return rc;
    if (max == 0 || end <= after || ps.info.t_last <= after || ps.info.t_first > end)
        return HS_OK;
    size_t n0 = out->n, len0 = out->store.len;
    size_t want = ps.info.n < max ? ps.info.n : max;
    rc = hs_batch_reserve(out, want + 1, want * 9);
    if (rc != HS_OK)
        return rc;
    rc = hs__decode(&ps, after, end, max, out, NULL);
    out->base = out->store.data;
    if (rc != HS_OK) {
        out->n = n0;
        out->store.len = len0;
    }
    return rc;
}

/* Splits a bit section into whole bytes and pending bits. */
static int hs__bits_load(hs_bits *b, const uint8_t *p, uint64_t nbits)
{
    size_t whole = (size_t)(nbits / 8);
    unsigned rest = (unsigned)(nbits % 8);
    if (hs_buf_append(&b->bytes, p, whole) != HS_OK)
        return hs_err_set(HS_ERR_NOMEM, "block: out of memory");
    b->nacc = rest;
    b->acc = rest ? (uint64_t)(p[whole] >> (8 - rest)) : 0;
    return HS_OK;
}

int hs_block_enc_load(hs_block_enc *e, const uint8_t *data, size_t len)
{
    hs_block_enc_reset(e);
    hs__parsed ps;
    int rc = hs__parse(data, len, &ps);
    if (rc != HS_OK)
        return rc;
    /* Decode it all (into the scratch batch) for the state to go on from. */
    hs__final fin;
    hs_batch_reset(&e->tmp);
    rc = hs_batch_reserve(&e->tmp, 1, 0);
    if (rc == HS_OK)
        rc = hs__decode(&ps, HS_TIME_MAX, HS_TIME_MAX, 0, &e->tmp, &fin);
    hs_batch_reset(&e->tmp);
    if (rc != HS_OK)
        return rc;
    e->n = ps.info.n;
    e->t_first = ps.info.t_first;
    e->t_last = ps.info.t_last;
    e->kind = ps.info.kind;
    e->dt_prev = fin.dt;
    e->vraw = fin.vraw;
    e->v_prev = fin.v.prev;
    e->dv_prev = fin.v.dprev;
    e->lead = fin.v.lead;
    e->trail = fin.v.trail;
    e->window = fin.v.window;
    rc = hs__bits_load(&e->ts, ps.ts, ps.ts_nbits);
    if (rc == HS_OK && e->kind == HS_BLOCK_ANY) {
        e->v_prev = (uint64_t)(fin.v.last - ps.vs);
        if (hs_buf_append(&e->vany, ps.vs, (size_t)ps.v_size) != HS_OK ||
            hs_buf_append(&e->last, fin.v.last, fin.v.last_len) != HS_OK)
            rc = hs_err_set(HS_ERR_NOMEM, "block: out of memory");
    } else if (rc == HS_OK) {
        rc = hs__bits_load(&e->vbits, ps.vs, ps.v_size);
    }
    if (rc != HS_OK)
        hs_block_enc_reset(e);
    return rc;
}
