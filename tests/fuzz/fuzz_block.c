/*
 * Fuzz target: the block codec (hs_block). Every input is used twice.
 *
 * As a block, as it is and with a valid checksum in its last four bytes
 * (blocks end with a CRC-32): hs_block_peek, hs_block_decode over the full
 * window and a few others (a failure is HS_ERR_STORE and leaves the batch
 * as it was; what decodes agrees with the header, in increasing time,
 * canonical values; a window is the filter of the full decode), then
 * hs_block_enc_load, one append and hs_block_enc_bytes: when the load
 * succeeds, the grown block decodes to the old instances plus the new one.
 *
 * As a recipe for a series (timestamps and values taken from the bytes):
 * the series is cut into blocks where hs_block_enc_fits says so, and must
 * decode back exactly (timestamps and value bytes), windows must equal a
 * filter of the input, and a block loaded from a prefix and grown must be
 * the bytes of one encoder fed everything.
 *
 * Any broken rule aborts.
 */
#include "hs_block.h"
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Most instances one recipe makes. */
#define RECIPE_MAX_N 5000

#define TWO53 (1LL << 53)

/* Aborts naming the line of the broken rule. */
static void fail(int line)
{
    fprintf(stderr, "fuzz_block.c:%d: rule broken\n", line);
    abort();
}
#define check(ok) ((ok) ? (void)0 : fail(__LINE__))

static bool same_inst(const hs_batch *a, size_t i, const hs_batch *b, size_t j)
{
    return a->items[i].t_us == b->items[j].t_us && a->items[i].len == b->items[j].len &&
           memcmp(hs_batch_value(a, i), hs_batch_value(b, j), a->items[i].len) == 0;
}

/* Instances [from, n) of a equal b's [bfrom, ...) and both have as many. */
static bool same_tail(const hs_batch *a, size_t from, const hs_batch *b, size_t bfrom)
{
    if (a->n - from != b->n - bfrom)
        return false;
    for (size_t i = 0; from + i < a->n; i++)
        if (!same_inst(a, from + i, b, bfrom + i))
            return false;
    return true;
}

/* Appends to out the instances of in[from..] with after < t <= end, at most max. */
static void filter(const hs_batch *in, size_t from, int64_t after, int64_t end, size_t max,
                   hs_batch *out)
{
    size_t added = 0;
    for (size_t i = from; i < in->n && added < max; i++) {
        if (in->items[i].t_us > after && in->items[i].t_us <= end) {
            check(hs_batch_push(out, in->items[i].t_us, hs_batch_value(in, i), in->items[i].len) ==
                  HS_OK);
            added++;
        }
    }
}

static const uint8_t SENTINEL[] = {0xa3, 's', 'e', 'n'};

static void with_sentinel(hs_batch *b)
{
    hs_batch_reset(b);
    check(hs_batch_push(b, INT64_MIN, SENTINEL, sizeof SENTINEL) == HS_OK);
}

static bool only_sentinel(const hs_batch *b)
{
    return b->n == 1 && b->items[0].t_us == INT64_MIN && b->items[0].len == sizeof SENTINEL &&
           memcmp(hs_batch_value(b, 0), SENTINEL, sizeof SENTINEL) == 0;
}

/* ---------------------------------------------------------------------------
 * (a) the input as a block
 */

static void as_block(const uint8_t *data, size_t size)
{
    hs_batch full, win, want, grown;
    hs_batch_init(&full);
    hs_batch_init(&win);
    hs_batch_init(&want);
    hs_batch_init(&grown);
    hs_block_info info;
    int prc = hs_block_peek(data, size, &info);
    check(prc == HS_OK || prc == HS_ERR_STORE);

    with_sentinel(&full);
    int drc = hs_block_decode(data, size, INT64_MIN, INT64_MAX, SIZE_MAX, &full);
    check(drc == HS_OK || drc == HS_ERR_STORE);
    if (drc != HS_OK) {
        check(only_sentinel(&full));
    } else {
        check(prc == HS_OK && full.n - 1 == info.n);
        check(full.items[1].t_us == info.t_first && full.items[full.n - 1].t_us == info.t_last);
        for (size_t i = 1; i < full.n; i++) {
            check(i == 1 || full.items[i].t_us > full.items[i - 1].t_us);
            check(hs_value_check(hs_batch_value(&full, i), full.items[i].len) == HS_OK);
        }
    }

    /* Windows around the header's range: each the filter of the full decode. */
    if (prc == HS_OK && info.t_first > INT64_MIN + 4 && info.t_last < INT64_MAX - 4) {
        const int64_t afters[] = {info.t_first - 1, info.t_first, info.t_first + 1, INT64_MIN,
                                  info.t_last - 1};
        const int64_t ends[] = {info.t_last, info.t_last - 1, info.t_first + 2, INT64_MAX,
                                info.t_first};
        const size_t maxes[] = {SIZE_MAX, 1, 2, 3, 0};
        for (size_t w = 0; w < 5; w++) {
            with_sentinel(&win);
            int wrc = hs_block_decode(data, size, afters[w], ends[w], maxes[w], &win);
            check(wrc == HS_OK || wrc == HS_ERR_STORE);
            if (wrc != HS_OK)
                check(only_sentinel(&win) && drc != HS_OK);
            if (drc == HS_OK) {
                check(wrc == HS_OK);
                with_sentinel(&want);
                filter(&full, 1, afters[w], ends[w], maxes[w], &want);
                check(same_tail(&want, 0, &win, 0));
            }
        }
    }

    /* Load, append one instance, decode again. */
    hs_block_enc e;
    hs_block_enc_init(&e);
    int lrc = hs_block_enc_load(&e, data, size);
    check(lrc == HS_OK || lrc == HS_ERR_STORE);
    if (lrc == HS_OK) {
        check(drc == HS_OK); /* nothing loads that does not decode */
        check(e.n == info.n && e.t_first == info.t_first && e.t_last == info.t_last &&
              e.kind == info.kind);
        hs_buf v;
        hs_buf_init(&v, 0);
        uint8_t pick = size > 0 ? data[size - 1] : 0;
        switch (pick % 5) {
        case 0:
            hs_mp_put_double(&v, 21.5);
            break;
        case 1:
            hs_mp_put_int(&v, (int64_t)pick - 100);
            break;
        case 2:
            hs_mp_put_int(&v, INT64_MIN);
            break;
        case 3:
            hs_mp_put_cstr(&v, "on");
            break;
        default:
            hs_mp_put_nil(&v);
            break;
        }
        if (e.t_last < HS_TIME_MAX) {
            int64_t t = e.t_last + 1 + (int64_t)(pick % 16) * HS_US_PER_S;
            if (t > HS_TIME_MAX)
                t = HS_TIME_MAX;
            check(hs_block_enc_append(&e, t, v.data, v.len) == HS_OK);
            const uint8_t *d2;
            size_t len2;
            check(hs_block_enc_bytes(&e, &d2, &len2) == HS_OK);
            with_sentinel(&grown);
            check(hs_block_decode(d2, len2, INT64_MIN, INT64_MAX, SIZE_MAX, &grown) == HS_OK);
            check(hs_batch_push(&full, t, v.data, v.len) == HS_OK);
            check(same_tail(&full, 0, &grown, 0));
        }
        hs_buf_free(&v);
    }
    hs_block_enc_free(&e);
    hs_batch_free(&full);
    hs_batch_free(&win);
    hs_batch_free(&want);
    hs_batch_free(&grown);
}

/* ---------------------------------------------------------------------------
 * (b) the input as a recipe
 */

typedef struct recipe {
    const uint8_t *p, *end;
} recipe;

static uint8_t next8(recipe *r)
{
    return r->p < r->end ? *r->p++ : 0;
}

/* n bytes (at most 8), big-endian; zeros past the end. */
static uint64_t next_bytes(recipe *r, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | next8(r);
    return v;
}

static double dbl_of(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Writes the value the recipe describes with selector sel into v. */
static void recipe_value(recipe *r, unsigned sel, hs_buf *v)
{
    static const uint64_t nans[] = {0x7ff8000000000000ULL, 0xfff8000000000000ULL,
                                    0x7ff0000000000001ULL, 0xffffffffffffffffULL};
    static const int64_t edges[] = {TWO53,     -TWO53,    TWO53 + 1, -TWO53 - 1,
                                    INT64_MIN, INT64_MAX, 0,         -1};
    switch (sel % 16) {
    case 0:
        hs_mp_put_double(v, dbl_of(next_bytes(r, 8)));
        break;
    case 1: /* a reading: small decimal */
        hs_mp_put_double(v, (double)(int8_t)next8(r) * 0.25 + 20.0);
        break;
    case 2:
        hs_mp_put_double(v, dbl_of(nans[next8(r) % 4]));
        break;
    case 3: {
        uint8_t k = next8(r);
        hs_mp_put_double(v, k % 4 == 0   ? 0.0
                            : k % 4 == 1 ? -0.0
                            : k % 4 == 2 ? dbl_of(0x7ff0000000000000ULL)
                                         : dbl_of(0xfff0000000000000ULL));
        break;
    }
    case 4: /* integer-valued double */
        hs_mp_put_double(v, (double)(int16_t)next_bytes(r, 2));
        break;
    case 5:
        hs_mp_put_int(v, (int8_t)next8(r));
        break;
    case 6:
        hs_mp_put_int(v, (int32_t)(uint32_t)next_bytes(r, 4));
        break;
    case 7:
        hs_mp_put_int(v, (int64_t)next_bytes(r, 8));
        break;
    case 8:
        hs_mp_put_int(v, edges[next8(r) % 8]);
        break;
    case 9:
        hs_mp_put_nil(v);
        break;
    case 10:
        hs_mp_put_bool(v, next8(r) & 1);
        break;
    case 11: { /* printable ASCII, or a UTF-8 string */
        uint8_t n = next8(r) % 40;
        char s[40];
        for (uint8_t i = 0; i < n; i++)
            s[i] = (char)(' ' + next8(r) % 95);
        if (n == 39)
            hs_mp_put_cstr(v, "h\xc3\xa9llo \xe6\xb8\xa9\xe5\xba\xa6");
        else
            hs_mp_put_str(v, s, n);
        break;
    }
    case 12: {
        uint8_t n = next8(r);
        uint8_t b[255];
        for (uint8_t i = 0; i < n; i++)
            b[i] = next8(r);
        hs_mp_put_bin(v, b, n);
        break;
    }
    case 13: {
        uint8_t n = next8(r) % 4;
        hs_mp_put_array(v, n);
        for (uint8_t i = 0; i < n; i++)
            hs_mp_put_int(v, (int8_t)next8(r));
        break;
    }
    case 14: {
        uint8_t n = next8(r) % 3;
        hs_mp_put_map(v, n);
        for (uint8_t i = 0; i < n; i++) {
            char key[2] = {(char)('a' + i), 0};
            hs_mp_put_cstr(v, key);
            hs_mp_put_double(v, (double)(int8_t)next8(r));
        }
        break;
    }
    default: /* an int within the number kind, as a double or as an integer */
        if (next8(r) & 1)
            hs_mp_put_int(v, (int64_t)(next_bytes(r, 7) & ((1ULL << 54) - 1)) - TWO53);
        else
            hs_mp_put_double(v, (double)(int64_t)(next_bytes(r, 2)));
        break;
    }
}

/* The next gap of the recipe's series (> 0), or 0 when the series cannot go on. */
static int64_t recipe_gap(recipe *r, unsigned sel, int64_t *step, int64_t t)
{
    int64_t room = HS_TIME_MAX - t, gap;
    switch (sel % 8) {
    case 0:
        gap = *step;
        break;
    case 1:
        gap = 1;
        break;
    case 2:
        gap = next8(r);
        break;
    case 3:
        gap = (int64_t)next_bytes(r, 2) * 1000;
        break;
    case 4:
        gap = (int64_t)next_bytes(r, 4);
        break;
    case 5:
        gap = room > 0 ? (int64_t)(next_bytes(r, 8) % (uint64_t)room) + 1 : 1;
        break;
    case 6:
        gap = *step + (int8_t)next8(r);
        break;
    default:
        gap = HS_BLOCK_MAX_SPAN_US + (int64_t)(next8(r) % 3) - 1;
        break;
    }
    if (gap < 1)
        gap = 1;
    if (sel % 8 != 0 && sel % 8 != 6)
        *step = gap;
    return gap > room ? 0 : gap;
}

/* Encodes in into blocks, cut where hs_block_enc_fits says so; decodes them over the window
 * (max counted over all blocks) into out. */
typedef struct blocks {
    hs_buf *b;
    size_t *first;
    size_t n;
} blocks;

static void blocks_add(blocks *s, hs_block_enc *e, size_t first)
{
    const uint8_t *d;
    size_t len;
    check(hs_block_enc_bytes(e, &d, &len) == HS_OK);
    hs_buf *nb = realloc(s->b, (s->n + 1) * sizeof *nb);
    size_t *nf = realloc(s->first, (s->n + 2) * sizeof *nf);
    check(nb != NULL && nf != NULL);
    s->b = nb;
    s->first = nf;
    hs_buf_init(&s->b[s->n], 0);
    check(hs_buf_append(&s->b[s->n], d, len) == HS_OK);
    s->first[s->n] = first;
    s->n++;
}

static void blocks_free(blocks *s)
{
    for (size_t i = 0; i < s->n; i++)
        hs_buf_free(&s->b[i]);
    free(s->b);
    free(s->first);
}

/* Encodes in into blocks and checks them; windows and the load split come from the recipe's
 * bytes read again from the start. */
static void check_series(const hs_batch *in, const uint8_t *data, size_t size)
{
    recipe wr = {data, data + size};
    hs_batch out, want;
    hs_batch_init(&out);
    hs_batch_init(&want);

    blocks s = {NULL, NULL, 0};
    hs_block_enc e;
    hs_block_enc_init(&e);
    size_t first = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (!hs_block_enc_fits(&e, in->items[i].t_us, in->items[i].len)) {
            check(e.n > 0);
            blocks_add(&s, &e, first);
            hs_block_enc_reset(&e);
            first = i;
        }
        check(hs_block_enc_append(&e, in->items[i].t_us, hs_batch_value(in, i), in->items[i].len) ==
              HS_OK);
    }
    blocks_add(&s, &e, first);
    s.first[s.n] = in->n;

    /* Bounds and headers. */
    for (size_t b = 0; b < s.n; b++) {
        size_t from = s.first[b], to = s.first[b + 1];
        hs_block_info info;
        check(hs_block_peek(s.b[b].data, s.b[b].len, &info) == HS_OK);
        check(info.n == to - from && info.t_first == in->items[from].t_us &&
              info.t_last == in->items[to - 1].t_us);
        check(info.n <= HS_BLOCK_MAX_N && info.t_last - info.t_first <= HS_BLOCK_MAX_SPAN_US);
        check(info.n == 1 || s.b[b].len <= HS_BLOCK_MAX_BYTES);
    }

    /* Windows from the rest of the recipe (the first one the full range). */
    for (int w = 0; w < 4; w++) {
        int64_t after = INT64_MIN, end = INT64_MAX;
        size_t max = SIZE_MAX;
        if (w > 0) {
            size_t ia = next8(&wr) % in->n;
            after = in->items[ia].t_us - (int64_t)(next8(&wr) % 2);
            size_t ie = next8(&wr) % in->n;
            end = in->items[ie].t_us - (int64_t)(next8(&wr) % 2);
            uint8_t m = next8(&wr);
            max = m == 0 ? SIZE_MAX : (size_t)(m - 1);
        }
        hs_batch_reset(&want);
        hs_batch_reset(&out);
        filter(in, 0, after, end, max, &want);
        size_t got = 0;
        for (size_t b = 0; b < s.n && got < max; b++) {
            size_t n0 = out.n;
            check(hs_block_decode(s.b[b].data, s.b[b].len, after, end, max - got, &out) == HS_OK);
            got += out.n - n0;
        }
        check(same_tail(&want, 0, &out, 0));
    }

    /* Load a prefix of the last block and append the rest: the same bytes. */
    {
        size_t from = s.first[s.n - 1], to = in->n;
        size_t k = from + 1 + (size_t)next8(&wr) % (to - from);
        hs_block_enc a, l;
        hs_block_enc_init(&a);
        hs_block_enc_init(&l);
        for (size_t i = from; i < k; i++)
            check(hs_block_enc_append(&a, in->items[i].t_us, hs_batch_value(in, i),
                                      in->items[i].len) == HS_OK);
        const uint8_t *d;
        size_t len;
        check(hs_block_enc_bytes(&a, &d, &len) == HS_OK);
        check(hs_block_enc_load(&l, d, len) == HS_OK);
        for (size_t i = k; i < to; i++)
            check(hs_block_enc_append(&l, in->items[i].t_us, hs_batch_value(in, i),
                                      in->items[i].len) == HS_OK);
        check(hs_block_enc_bytes(&l, &d, &len) == HS_OK);
        const hs_buf *last = &s.b[s.n - 1];
        check(len == last->len && memcmp(d, last->data, len) == 0);
        hs_block_enc_free(&a);
        hs_block_enc_free(&l);
    }

    hs_block_enc_free(&e);
    blocks_free(&s);
    hs_batch_free(&out);
    hs_batch_free(&want);
}

static void as_recipe(const uint8_t *data, size_t size)
{
    recipe r = {data, data + size};
    hs_batch in;
    hs_batch_init(&in);
    hs_buf v, prev;
    hs_buf_init(&v, 0);
    hs_buf_init(&prev, 0);
    int64_t t = HS_TIME_MIN + (int64_t)(next_bytes(&r, 8) % (uint64_t)(HS_TIME_MAX - HS_TIME_MIN));
    if (next8(&r) & 1)
        t = 1461873600LL * HS_US_PER_S + (int64_t)next_bytes(&r, 4);
    int64_t step = HS_US_PER_S;
    while (r.p < r.end && in.n < RECIPE_MAX_N) {
        uint8_t c = next8(&r);
        if (in.n > 0) {
            int64_t gap = recipe_gap(&r, c & 7, &step, t);
            if (gap == 0)
                break;
            t += gap;
        }
        unsigned sel = c >> 3;
        hs_buf_reset(&v);
        if (sel >= 16 && in.n > 0) /* a repeat of the previous value */
            check(hs_buf_append(&v, prev.data, prev.len) == HS_OK);
        else
            recipe_value(&r, sel, &v);
        check(hs_value_check(v.data, v.len) == HS_OK);
        check(hs_batch_push(&in, t, v.data, v.len) == HS_OK);
        hs_buf_reset(&prev);
        check(hs_buf_append(&prev, v.data, v.len) == HS_OK);
    }
    if (in.n > 0)
        check_series(&in, data, size);
    hs_buf_free(&v);
    hs_buf_free(&prev);
    hs_batch_free(&in);
}

/* CRC-32 (the zlib polynomial, reflected), bit by bit. */
static uint32_t crc32_of(const uint8_t *d, size_t len)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        c ^= d[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    as_block(data, size);
    /* The same bytes with a valid checksum in their last four, so that what the checksum
     * would refuse reaches the decoder's own checks. */
    if (size >= 6) {
        uint8_t *sealed = malloc(size);
        check(sealed != NULL);
        memcpy(sealed, data, size - 4);
        uint32_t c = crc32_of(data, size - 4);
        for (int i = 0; i < 4; i++)
            sealed[size - 4 + (size_t)i] = (uint8_t)(c >> (24 - 8 * i));
        as_block(sealed, size);
        free(sealed);
    }
    as_recipe(data, size);
    return 0;
}
