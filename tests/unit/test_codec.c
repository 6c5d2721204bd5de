/*
 * Tests of hs_codec: batches, canonical values, every JSON and msgpack
 * payload form, JSON lines, round trips and rejection of bad payloads.
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) (x), (sizeof(x) - 1) /* a literal with its length, embedded NULs included */

/* 2016-04-28T20:00:00Z, the instant used in HyperStream's examples. */
#define T2016   (1461873600LL * HS_US_PER_S)
#define ARRIVAL (1700000000LL * HS_US_PER_S)

/* Decodes a JSON literal into b. */
static int dj(const char *text, hs_batch *b)
{
    return hs_codec_decode_json(text, strlen(text), ARRIVAL, b);
}

/* True when value i of b has exactly the bytes of want. */
static bool value_is(const hs_batch *b, size_t i, const hs_buf *want)
{
    return i < b->n && b->items[i].len == want->len &&
           memcmp(hs_batch_value(b, i), want->data, want->len) == 0;
}

/* JSON text of value i of b, into out (reset first). */
static const char *value_json(const hs_batch *b, size_t i, hs_buf *out)
{
    hs_mp_reader r;
    hs_mp_reader_init(&r, hs_batch_value(b, i), b->items[i].len);
    hs_buf_reset(out);
    if (hs_json_from_mpack(&r, out) != HS_OK)
        return "<error>";
    return hs_buf_cstr(out);
}

/* The payload is rejected with rc, the batch is empty and the detail contains want. */
static void check_json_rejected(const char *text, int rc, const char *want)
{
    hs_batch b;
    hs_batch_init(&b);
    int got = dj(text, &b);
    if (got != rc || strstr(hs_err_detail(), want) == NULL)
        fprintf(stderr, "\n  %s -> %d '%s'\n", text, got, hs_err_detail());
    CU_ASSERT_EQUAL(got, rc);
    CU_ASSERT_EQUAL(b.n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), want));
    hs_batch_free(&b);
}

static void test_batch_push_and_sort(void)
{
    hs_batch b;
    hs_batch_init(&b);
    CU_ASSERT_EQUAL(b.n, 0);
    CU_ASSERT_TRUE(b.owned);
    /* Values 0..99 (positive fixints) at times that repeat every 10 instances. */
    for (int i = 0; i < 100; i++) {
        uint8_t v = (uint8_t)i;
        CU_ASSERT_EQUAL(hs_batch_push(&b, (int64_t)(9 - i % 10) * 1000, &v, 1), HS_OK);
    }
    CU_ASSERT_EQUAL(b.n, 100);
    CU_ASSERT_EQUAL(*hs_batch_value(&b, 42), 42);
    hs_batch_sort(&b);
    for (size_t i = 0; i < 100; i++) {
        /* Sorted by time, and stable: equal times keep their order. */
        CU_ASSERT_EQUAL(b.items[i].t_us, (int64_t)(i / 10) * 1000);
        if (i % 10 > 0)
            CU_ASSERT_TRUE(*hs_batch_value(&b, i) > *hs_batch_value(&b, i - 1));
    }
    /* push_begin / push_end */
    hs_buf *vb = hs_batch_push_begin(&b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vb);
    hs_mp_put_cstr(vb, "kitchen");
    CU_ASSERT_EQUAL(hs_batch_push_end(&b, 5), HS_OK);
    CU_ASSERT_EQUAL(b.n, 101);
    CU_ASSERT_EQUAL(b.items[100].len, 8);
    CU_ASSERT_EQUAL(memcmp(hs_batch_value(&b, 100), "\xa7kitchen", 8), 0);
    /* push_end with nothing written is refused. */
    CU_ASSERT_PTR_NOT_NULL(hs_batch_push_begin(&b));
    CU_ASSERT_EQUAL(hs_batch_push_end(&b, 5), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_batch_push(&b, 1, (const uint8_t *)"", 0), HS_ERR_INVAL);
    /* reset keeps memory */
    size_t cap = b.cap;
    hs_batch_reset(&b);
    CU_ASSERT_EQUAL(b.n, 0);
    CU_ASSERT_EQUAL(b.cap, cap);
    hs_batch_free(&b);
    hs_batch_free(NULL);
}

static void test_batch_sort_large_reverse(void)
{
    hs_batch b;
    hs_batch_init(&b);
    for (int i = 0; i < 5000; i++) {
        uint8_t v = (uint8_t)(i % 100);
        hs_batch_push(&b, (int64_t)(5000 - i / 2), &v, 1);
    }
    hs_batch_sort(&b);
    for (size_t i = 1; i < b.n; i++) {
        CU_ASSERT_TRUE(b.items[i - 1].t_us <= b.items[i].t_us);
        if (b.items[i - 1].t_us == b.items[i].t_us)
            CU_ASSERT_TRUE(b.items[i - 1].off < b.items[i].off);
    }
    /* The fallback without memory sorts the same way. */
    hs_batch_reset(&b);
    for (int i = 0; i < 5000; i++) {
        uint8_t v = (uint8_t)(i % 100);
        hs_batch_push(&b, (int64_t)(5000 - i) / 3, &v, 1);
    }
    hs_alloc_fail_after(0);
    hs_batch_sort(&b);
    hs_alloc_fail_after(-1);
    for (size_t i = 1; i < b.n; i++) {
        CU_ASSERT_TRUE(b.items[i - 1].t_us <= b.items[i].t_us);
        if (b.items[i - 1].t_us == b.items[i].t_us)
            CU_ASSERT_TRUE(b.items[i - 1].off < b.items[i].off);
    }
    hs_batch_free(&b);
}

static void test_batch_read_range(void)
{
    hs_batch b, out;
    hs_batch_init(&b);
    hs_batch_init(&out);
    static const uint8_t one[] = {0x01};
    for (int64_t t = 10; t <= 100; t += 10)
        CU_ASSERT_EQUAL(hs_batch_push(&b, t, one, 1), HS_OK);
    /* (20, 60]: 30, 40, 50, 60. */
    CU_ASSERT_EQUAL(hs_batch_read_range(&b, 20, 60, 100, &out), HS_OK);
    CU_ASSERT_EQUAL(out.n, 4);
    CU_ASSERT_TRUE(out.n == 4 && out.items[0].t_us == 30 && out.items[3].t_us == 60);
    /* At most max, appended after what out holds. */
    CU_ASSERT_EQUAL(hs_batch_read_range(&b, 0, 1000, 3, &out), HS_OK);
    CU_ASSERT_EQUAL(out.n, 7);
    CU_ASSERT_TRUE(out.n == 7 && out.items[4].t_us == 10 && out.items[6].t_us == 30);
    /* Between instances, before the first, after the last: nothing. */
    hs_batch_reset(&out);
    CU_ASSERT_EQUAL(hs_batch_read_range(&b, 21, 29, 100, &out), HS_OK);
    CU_ASSERT_EQUAL(hs_batch_read_range(&b, -50, 9, 100, &out), HS_OK);
    CU_ASSERT_EQUAL(hs_batch_read_range(&b, 100, 1000, 100, &out), HS_OK);
    CU_ASSERT_EQUAL(out.n, 0);
    hs_batch_free(&b);
    hs_batch_free(&out);
}

static void test_value_check_accepts_packer_output(void)
{
    /* Every integer width boundary, as msgpack-c writes it, is canonical. */
    static const int64_t ints[] = {0,
                                   1,
                                   -1,
                                   -32,
                                   -33,
                                   127,
                                   128,
                                   -128,
                                   -129,
                                   255,
                                   256,
                                   -32768,
                                   -32769,
                                   65535,
                                   65536,
                                   INT32_MIN,
                                   (int64_t)INT32_MIN - 1,
                                   UINT32_MAX,
                                   (int64_t)UINT32_MAX + 1,
                                   INT64_MAX,
                                   INT64_MIN};
    hs_buf m, c;
    hs_buf_init(&m, 0);
    hs_buf_init(&c, 0);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        hs_buf_reset(&m);
        hs_mp_put_int(&m, ints[i]);
        CU_ASSERT_EQUAL(hs_value_check(m.data, m.len), HS_OK);
    }
    /* Strings, bins, arrays and maps at every header boundary. */
    static const uint32_t sizes[] = {0, 15, 16, 31, 32, 255, 256, 65535, 65536};
    char *big = calloc(1, 65536);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'a', 65536);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint32_t n = sizes[k];
        hs_buf_reset(&m);
        hs_mp_put_array(&m, 4);
        hs_mp_put_str(&m, big, n);
        hs_mp_put_bin(&m, big, n);
        hs_mp_put_array(&m, n);
        for (uint32_t i = 0; i < n; i++)
            hs_mp_put_nil(&m);
        hs_mp_put_map(&m, n);
        for (uint32_t i = 0; i < n; i++) {
            char key[16];
            hs_mp_put_str(&m, key, (size_t)snprintf(key, sizeof key, "%u", i));
            hs_mp_put_double(&m, 0.5);
        }
        CU_ASSERT_EQUAL(hs_value_check(m.data, m.len), HS_OK);
        /* canonicalize copies a canonical value unchanged */
        hs_buf_reset(&c);
        CU_ASSERT_EQUAL(hs_value_canonicalize(m.data, m.len, &c), HS_OK);
        CU_ASSERT_EQUAL(c.len, m.len);
        CU_ASSERT_EQUAL(memcmp(c.data, m.data, m.len), 0);
    }
    free(big);
    hs_buf_free(&m);
    hs_buf_free(&c);
}

/* v (n bytes) is rejected by check, and canonicalize turns it into want (or rejects it). */
static void check_noncanonical(const uint8_t *v, size_t n, const uint8_t *want, size_t wn)
{
    hs_buf c;
    hs_buf_init(&c, 0);
    CU_ASSERT_EQUAL(hs_value_check(v, n), HS_ERR_PARSE);
    int rc = hs_value_canonicalize(v, n, &c);
    if (want == NULL) {
        CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
        CU_ASSERT_EQUAL(c.len, 0);
    } else {
        CU_ASSERT_EQUAL(rc, HS_OK);
        CU_ASSERT_EQUAL(c.len, wn);
        CU_ASSERT_TRUE(c.len == wn && memcmp(c.data, want, wn) == 0);
        CU_ASSERT_EQUAL(hs_value_check(c.data, c.len), HS_OK);
    }
    hs_buf_free(&c);
}

static void test_canonicalize(void)
{
    /* Integers in wider encodings than needed. */
    static const uint8_t i8_5[] = {0xd0, 0x05}, u16_5[] = {0xcd, 0x00, 0x05},
                         i64_big[] = {0xd3, 0, 0, 0, 1, 0, 0, 0, 0},
                         u64_big[] = {0xcf, 0, 0, 0, 1, 0, 0, 0, 0},
                         i16_m100[] = {0xd1, 0xff, 0x9c}, i8_m100[] = {0xd0, 0x9c},
                         u8_5[] = {0xcc, 0x05}, fix5[] = {0x05};
    check_noncanonical(i8_5, sizeof i8_5, fix5, 1);
    check_noncanonical(u16_5, sizeof u16_5, fix5, 1);
    check_noncanonical(u8_5, sizeof u8_5, fix5, 1);
    check_noncanonical(i64_big, sizeof i64_big, u64_big, sizeof u64_big);
    check_noncanonical(i16_m100, sizeof i16_m100, i8_m100, sizeof i8_m100);
    /* float32 becomes float64. */
    static const uint8_t f32[] = {0xca, 0x40, 0x20, 0x00, 0x00};
    static const uint8_t f64[] = {0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0};
    check_noncanonical(f32, sizeof f32, f64, sizeof f64);
    /* Unsigned above INT64_MAX becomes float64. */
    static const uint8_t umax[] = {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t umax_f[] = {0xcb, 0x43, 0xf0, 0, 0, 0, 0, 0, 0}; /* 2^64 */
    check_noncanonical(umax, sizeof umax, umax_f, sizeof umax_f);
    /* Strings, bins and containers with wide headers. */
    static const uint8_t str8_ab[] = {0xd9, 0x02, 'a', 'b'}, fix_ab[] = {0xa2, 'a', 'b'};
    static const uint8_t bin16[] = {0xc5, 0x00, 0x01, 0x07}, bin8[] = {0xc4, 0x01, 0x07};
    static const uint8_t arr16[] = {0xdc, 0x00, 0x02, 0xc0, 0xc3}, fixarr[] = {0x92, 0xc0, 0xc3};
    static const uint8_t map32[] = {0xdf, 0, 0, 0, 1, 0xa1, 'k', 0xd0, 0x01},
                         fixmap[] = {0x81, 0xa1, 'k', 0x01};
    check_noncanonical(str8_ab, sizeof str8_ab, fix_ab, sizeof fix_ab);
    check_noncanonical(bin16, sizeof bin16, bin8, sizeof bin8);
    check_noncanonical(arr16, sizeof arr16, fixarr, sizeof fixarr);
    check_noncanonical(map32, sizeof map32, fixmap, sizeof fixmap);
    /* Nested: [{"a": float32 2.5}] */
    static const uint8_t nest[] = {0x91, 0x81, 0xa1, 'a', 0xca, 0x40, 0x20, 0x00, 0x00};
    static const uint8_t nest_c[] = {0x91, 0x81, 0xa1, 'a', 0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0};
    check_noncanonical(nest, sizeof nest, nest_c, sizeof nest_c);

    /* Rejected outright. */
    static const uint8_t intkey[] = {0x81, 0x01, 0x02};
    static const uint8_t nilkey[] = {0x81, 0xc0, 0x02};
    static const uint8_t badutf8[] = {0xa2, 0xc0, 0x80};
    static const uint8_t surrogate[] = {0xa3, 0xed, 0xa0, 0x80};
    static const uint8_t badkey[] = {0x81, 0xa1, 0xff, 0x01};
    static const uint8_t fixext[] = {0xd4, 0x01, 0x00};
    static const uint8_t ext8[] = {0x91, 0xc7, 0x01, 0x05, 0xaa};
    static const uint8_t trunc[] = {0x92, 0x01};
    static const uint8_t trailing[] = {0x01, 0x02};
    static const uint8_t never[] = {0xc1};
    check_noncanonical(intkey, sizeof intkey, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "map key is not a string"));
    check_noncanonical(nilkey, sizeof nilkey, NULL, 0);
    check_noncanonical(badutf8, sizeof badutf8, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "UTF-8"));
    check_noncanonical(surrogate, sizeof surrogate, NULL, 0);
    check_noncanonical(badkey, sizeof badkey, NULL, 0);
    check_noncanonical(fixext, sizeof fixext, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "ext"));
    check_noncanonical(ext8, sizeof ext8, NULL, 0);
    check_noncanonical(trunc, sizeof trunc, NULL, 0);
    check_noncanonical(trailing, sizeof trailing, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "trailing"));
    check_noncanonical(never, sizeof never, NULL, 0);
    CU_ASSERT_EQUAL(hs_value_check(NULL, 0), HS_ERR_PARSE);
}

/* A map of n keys "k0".."k<n-1>" (key dup_of again as the last one when >= 0). */
static void put_keys_map(hs_buf *m, int n, int dup_of)
{
    hs_mp_put_map(m, (uint32_t)(n + (dup_of >= 0)));
    char key[16];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k%d", i);
        hs_mp_put_cstr(m, key);
        hs_mp_put_int(m, i);
    }
    if (dup_of >= 0) {
        snprintf(key, sizeof key, "k%d", dup_of);
        hs_mp_put_cstr(m, key);
        hs_mp_put_nil(m);
    }
}

static void test_duplicate_map_keys(void)
{
    /* {"a": 1, "a": 2}: two different values would compare equal as one. */
    static const uint8_t dup[] = {0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02};
    check_noncanonical(dup, sizeof dup, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "duplicate map key \"a\""));
    /* The same with a non-canonical header still fails in canonicalize. */
    static const uint8_t dup16[] = {0xde, 0x00, 0x02, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02};
    check_noncanonical(dup16, sizeof dup16, NULL, 0);
    /* Inside an array, inside a map. */
    static const uint8_t nested[] = {0x91, 0x81, 0xa1, 'x', 0x82, 0xa1, 'b', 0xc0, 0xa1, 'b', 0xc3};
    check_noncanonical(nested, sizeof nested, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "\"b\""));

    /* Equal keys in different maps, or at different depths, are fine; so are prefixes. */
    static const uint8_t ok1[] = {0x92, 0x81, 0xa1, 'a', 0x01, 0x81, 0xa1, 'a', 0x02};
    static const uint8_t ok2[] = {0x82, 0xa1, 'a', 0x81, 0xa1, 'a', 0x01, 0xa2, 'a', 'b', 0x02};
    static const uint8_t ok3[] = {0x82, 0xa0, 0x01, 0xa1, 'a', 0x02};
    CU_ASSERT_EQUAL(hs_value_check(ok1, sizeof ok1), HS_OK);
    CU_ASSERT_EQUAL(hs_value_check(ok2, sizeof ok2), HS_OK);
    CU_ASSERT_EQUAL(hs_value_check(ok3, sizeof ok3), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_check_unique_keys(ok2, sizeof ok2), HS_OK);

    /* Large maps (the sorted path, keys spilling over the fixed array). */
    hs_buf m, c;
    hs_buf_init(&m, 0);
    hs_buf_init(&c, 0);
    put_keys_map(&m, 300, -1);
    CU_ASSERT_EQUAL(hs_value_check(m.data, m.len), HS_OK);
    hs_buf_reset(&m);
    put_keys_map(&m, 300, 17);
    CU_ASSERT_EQUAL(hs_value_check(m.data, m.len), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "duplicate map key \"k17\""));
    CU_ASSERT_EQUAL(hs_value_canonicalize(m.data, m.len, &c), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(c.len, 0);
    /* A msgpack batch carrying such a value is rejected as a whole. */
    hs_buf_reset(&m);
    hs_mp_put_array(&m, 2);
    hs_mp_put_int(&m, 1000000);
    put_keys_map(&m, 3, 0);
    hs_batch b;
    hs_batch_init(&b);
    CU_ASSERT_EQUAL(hs_codec_decode_mpack(m.data, m.len, false, &b), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_codec_decode_mpack(m.data, m.len, true, &b), HS_ERR_PARSE);

    /* JSON objects: the same key twice, also when spelled with an escape. */
    hs_buf_reset(&c);
    CU_ASSERT_EQUAL(hs_json_to_mpack(S("{\"a\": 1, \"a\": 2}"), &c), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "duplicate map key \"a\""));
    CU_ASSERT_EQUAL(c.len, 0);
    CU_ASSERT_EQUAL(hs_json_to_mpack(S("{\"a\": 1, \"\\u0061\": 2}"), &c), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_json_to_mpack(S("[{\"a\": 1}, {\"a\": {\"a\": 2, \"b\": 3}}]"), &c), HS_OK);
    check_json_rejected("{\"t\": 1, \"v\": {\"x\": 1, \"y\": 2, \"x\": 3}}", HS_ERR_PARSE,
                        "duplicate map key \"x\"");
    hs_batch_free(&b);
    hs_buf_free(&m);
    hs_buf_free(&c);
}

static void test_value_depth(void)
{
    hs_buf m, c;
    hs_buf_init(&m, 0);
    hs_buf_init(&c, 0);
    for (int i = 0; i < HS_MP_MAX_DEPTH; i++) {
        if (i % 2) {
            hs_mp_put_map(&m, 1);
            hs_mp_put_cstr(&m, "k");
        } else {
            hs_mp_put_array(&m, 1);
        }
    }
    hs_mp_put_int(&m, 1);
    CU_ASSERT_EQUAL(hs_value_check(m.data, m.len), HS_OK);
    CU_ASSERT_EQUAL(hs_value_canonicalize(m.data, m.len, &c), HS_OK);
    hs_buf_reset(&m);
    for (int i = 0; i < HS_MP_MAX_DEPTH + 1; i++)
        hs_mp_put_array(&m, 1);
    hs_mp_put_int(&m, 1);
    CU_ASSERT_EQUAL(hs_value_check(m.data, m.len), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "deeper than 64"));
    hs_buf_reset(&c);
    CU_ASSERT_EQUAL(hs_value_canonicalize(m.data, m.len, &c), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(c.len, 0);
    /* Deep empty arrays count too, and a million levels do not recurse. */
    hs_buf_reset(&m);
    for (int i = 0; i < 1000000; i++)
        hs_mp_put_array(&m, 1);
    hs_mp_put_array(&m, 0);
    CU_ASSERT_EQUAL(hs_value_check(m.data, m.len), HS_ERR_PARSE);
    hs_buf_free(&m);
    hs_buf_free(&c);
}

static void test_json_single_instance(void)
{
    hs_batch b;
    hs_batch_init(&b);
    hs_buf want, js;
    hs_buf_init(&want, 0);
    hs_buf_init(&js, 0);
    hs_mp_put_double(&want, 21.5);

    CU_ASSERT_EQUAL(dj("{\"t\": \"2016-04-28T20:00:00Z\", \"v\": 21.5}", &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016);
    CU_ASSERT_TRUE(value_is(&b, 0, &want));

    /* Keys in either order. */
    CU_ASSERT_EQUAL(dj(" {\"v\":21.5,\"t\":\"2016-04-28T20:00:00Z\"} ", &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016);
    CU_ASSERT_TRUE(value_is(&b, 0, &want));

    /* Epoch seconds as number, fractional number, numeric string. */
    CU_ASSERT_EQUAL(dj("{\"t\": 1461873600, \"v\": 21.5}", &b), HS_OK);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016);
    CU_ASSERT_EQUAL(dj("{\"t\": 1461873600.5, \"v\": 21.5}", &b), HS_OK);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016 + 500000);
    CU_ASSERT_EQUAL(dj("{\"t\": \"1461873600.000001\", \"v\": 21.5}", &b), HS_OK);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016 + 1);
    CU_ASSERT_EQUAL(dj("{\"t\": 1461873600.000001, \"v\": 21.5}", &b), HS_OK);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016 + 1);
    CU_ASSERT_EQUAL(dj("{\"t\": 1.4618736e9, \"v\": 21.5}", &b), HS_OK);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016);
    CU_ASSERT_EQUAL(dj("{\"t\": -1.5, \"v\": 21.5}", &b), HS_OK);
    CU_ASSERT_EQUAL(b.items[0].t_us, -1500000);

    /* Microseconds stay intact. */
    CU_ASSERT_EQUAL(dj("{\"t\": \"2016-04-28T20:00:00.123456Z\", \"v\": 1}", &b), HS_OK);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016 + 123456);

    /* {"v": V}: arrival time. */
    CU_ASSERT_EQUAL(dj("{\"v\": {\"temp\": 21.5, \"t\": 3}}", &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    CU_ASSERT_EQUAL(b.items[0].t_us, ARRIVAL);
    CU_ASSERT_STRING_EQUAL(value_json(&b, 0, &js), "{\"temp\":21.5,\"t\":3}");
    hs_batch_free(&b);
    hs_buf_free(&want);
    hs_buf_free(&js);
}

static void test_json_bare_values(void)
{
    static const struct {
        const char *in;
        const char *json;
    } cases[] = {
        {"42", "42"},
        {" -7 ", "-7"},
        {"21.5", "21.5"},
        {"\"on\"", "\"on\""},
        {"null", "null"},
        {"true", "true"},
        {"{}", "{}"},
        {"{\"temp\": 21.5, \"hum\": 40}", "{\"temp\":21.5,\"hum\":40}"},
        {"{\"T\": 1, \"V\": 2}", "{\"T\":1,\"V\":2}"},
        {"{\"tt\": 1}", "{\"tt\":1}"},
        {"[1, 2, 3]", "[1,2,3]"},
        {"[[1, 2]]", "[[1,2]]"},
        {"[{\"a\": 1}, {\"t\": 1}]", "[{\"a\":1},{\"t\":1}]"},
        {"[\"x\", {\"t\": 1, \"v\": 2}]", "[\"x\",{\"t\":1,\"v\":2}]"},
        {"18446744073709551615", "1.8446744073709552e+19"}, /* canonical: float64 */
        {"[9223372036854775807]", "[9223372036854775807]"},
    };
    hs_batch b;
    hs_batch_init(&b);
    hs_buf js;
    hs_buf_init(&js, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = dj(cases[i].in, &b);
        if (rc != HS_OK)
            fprintf(stderr, "\n  %s: %s\n", cases[i].in, hs_err_detail());
        CU_ASSERT_EQUAL(rc, HS_OK);
        CU_ASSERT_EQUAL(b.n, 1);
        if (b.n != 1)
            continue;
        CU_ASSERT_EQUAL(b.items[0].t_us, ARRIVAL);
        CU_ASSERT_STRING_EQUAL(value_json(&b, 0, &js), cases[i].json);
        CU_ASSERT_EQUAL(hs_value_check(hs_batch_value(&b, 0), b.items[0].len), HS_OK);
    }
    hs_batch_free(&b);
    hs_buf_free(&js);
}

static void test_json_batches(void)
{
    hs_batch b;
    hs_batch_init(&b);
    hs_buf js;
    hs_buf_init(&js, 0);
    CU_ASSERT_EQUAL(dj("[{\"t\": \"2016-04-28T20:00:00Z\", \"v\": 1},"
                       " {\"v\": [1, \"a\"], \"t\": 1461873601},"
                       " {\"v\": {\"temp\": 21.5}},"
                       " {\"t\": \"2016-04-28T20:00:00.000001Z\", \"v\": null}]",
                       &b),
                    HS_OK);
    CU_ASSERT_EQUAL_FATAL(b.n, 4);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016);
    CU_ASSERT_EQUAL(b.items[1].t_us, T2016 + HS_US_PER_S);
    CU_ASSERT_EQUAL(b.items[2].t_us, ARRIVAL);
    CU_ASSERT_EQUAL(b.items[3].t_us, T2016 + 1);
    CU_ASSERT_STRING_EQUAL(value_json(&b, 0, &js), "1");
    CU_ASSERT_STRING_EQUAL(value_json(&b, 1, &js), "[1,\"a\"]");
    CU_ASSERT_STRING_EQUAL(value_json(&b, 2, &js), "{\"temp\":21.5}");
    CU_ASSERT_STRING_EQUAL(value_json(&b, 3, &js), "null");
    CU_ASSERT_TRUE(b.owned);

    /* An empty array is an empty batch. */
    CU_ASSERT_EQUAL(dj(" [ ] ", &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 0);

    /* A large batch. */
    hs_buf text;
    hs_buf_init(&text, 0);
    hs_buf_puts(&text, "[");
    for (int i = 0; i < 3000; i++)
        hs_buf_printf(&text, "%s{\"t\":%d,\"v\":%d.25}", i ? "," : "", 1000 + i, i);
    hs_buf_puts(&text, "]");
    CU_ASSERT_EQUAL(hs_codec_decode_json((const char *)text.data, text.len, 0, &b), HS_OK);
    CU_ASSERT_EQUAL_FATAL(b.n, 3000);
    CU_ASSERT_EQUAL(b.items[2999].t_us, 3999 * HS_US_PER_S);
    CU_ASSERT_STRING_EQUAL(value_json(&b, 2999, &js), "2999.25");
    hs_buf_free(&text);
    hs_batch_free(&b);
    hs_buf_free(&js);
}

static void test_json_errors(void)
{
    check_json_rejected("{\"t\": \"abc\", \"v\": 1}", HS_ERR_PARSE,
                        "timestamp 'abc' (at byte 6) is not ISO-8601 or epoch seconds");
    check_json_rejected("[{\"t\": 1, \"v\": 1}, {\"t\": 2, \"v\": 2}, {\"t\": 3, \"v\": 3},"
                        " {\"t\": \"abc\", \"v\": 4}]",
                        HS_ERR_PARSE, "instance 3: timestamp 'abc'");
    check_json_rejected("{\"t\": \"2016-04-28T20:00:00Z\"}", HS_ERR_PARSE,
                        "has \"t\" but no \"v\"");
    check_json_rejected("{\"t\": 1, \"v\": 1, \"x\": 2}", HS_ERR_PARSE,
                        "unexpected key 'x' in instance");
    check_json_rejected("{\"x\": 2, \"v\": 1}", HS_ERR_PARSE, "unexpected key 'x' in instance");
    check_json_rejected("{\"t\": 1, \"t\": 2, \"v\": 1}", HS_ERR_PARSE, "duplicate key 't'");
    check_json_rejected("{\"v\": 1, \"v\": 2}", HS_ERR_PARSE, "duplicate key 'v'");
    check_json_rejected("{\"t\": true, \"v\": 1}", HS_ERR_PARSE,
                        "must be an ISO-8601 string or epoch seconds");
    check_json_rejected("{\"t\": null, \"v\": 1}", HS_ERR_PARSE, "timestamp");
    check_json_rejected("{\"t\": [1], \"v\": 1}", HS_ERR_PARSE, "timestamp");
    check_json_rejected("{\"t\": \"\", \"v\": 1}", HS_ERR_PARSE, "timestamp ''");
    check_json_rejected("{\"t\": \"2016-02-30T00:00:00Z\", \"v\": 1}", HS_ERR_PARSE, "timestamp");
    check_json_rejected("{\"t\": \"10000-01-01T00:00:00Z\", \"v\": 1}", HS_ERR_PARSE, "timestamp");
    check_json_rejected("{\"t\": 1e20, \"v\": 1}", HS_ERR_RANGE, "outside years 0001-9999");
    check_json_rejected("{\"t\": \"-1e20\", \"v\": 1}", HS_ERR_RANGE, "outside years");
    check_json_rejected("[{\"t\": 1, \"v\": 1}, 5]", HS_ERR_PARSE,
                        "instance 1: expected an object with \"t\" and \"v\"");
    check_json_rejected("[{\"t\": 1, \"v\": 1}, {\"a\": 1}]", HS_ERR_PARSE,
                        "instance 1: unexpected key 'a'");
    check_json_rejected("[{\"t\": 1, \"v\": 1}, {}]", HS_ERR_PARSE, "instance 1: instance at byte");
    check_json_rejected("[{\"t\": 1, \"v\": 1},]", HS_ERR_PARSE, "trailing comma");
    check_json_rejected("[{\"t\": 1, \"v\": 1}] x", HS_ERR_PARSE, "at byte 19");
    check_json_rejected("", HS_ERR_PARSE, "empty payload");
    check_json_rejected("  \n", HS_ERR_PARSE, "empty payload");
    check_json_rejected("NaN", HS_ERR_PARSE, "at byte 0");
    check_json_rejected("{\"v\": NaN}", HS_ERR_PARSE, "at byte 6");
    check_json_rejected("{\"v\": [1, 2,]}", HS_ERR_PARSE, "trailing comma");
    check_json_rejected("{\"v\": \"\xc0\x80\"}", HS_ERR_PARSE, "invalid UTF-8");
    check_json_rejected("{\"a\": 1,}", HS_ERR_PARSE, "trailing comma");
    check_json_rejected("[1, 2,]", HS_ERR_PARSE, "trailing comma");
    check_json_rejected("{\"t\": \"2016-04-28T20:00:00Z\", \"v\": 1", HS_ERR_PARSE,
                        "unexpected end of input");
    /* Names with control bytes are quoted safely. */
    check_json_rejected("{\"v\": 1, \"a\\nb\": 1}", HS_ERR_PARSE, "unexpected key 'a?b'");
}

static void test_json_depth(void)
{
    hs_batch b;
    hs_batch_init(&b);
    hs_buf text;
    hs_buf_init(&text, 0);
    /* A value 64 deep inside a batch of instance objects is fine. */
    for (int depth = HS_MP_MAX_DEPTH; depth <= HS_MP_MAX_DEPTH + 1; depth++) {
        hs_buf_reset(&text);
        hs_buf_puts(&text, "[{\"t\": 1, \"v\": ");
        for (int i = 0; i < depth; i++)
            hs_buf_puts(&text, "[");
        for (int i = 0; i < depth; i++)
            hs_buf_puts(&text, "]");
        hs_buf_puts(&text, "}]");
        int rc = hs_codec_decode_json((const char *)text.data, text.len, 0, &b);
        CU_ASSERT_EQUAL(rc, depth <= HS_MP_MAX_DEPTH ? HS_OK : HS_ERR_PARSE);
        if (rc == HS_OK)
            CU_ASSERT_EQUAL(hs_value_check(hs_batch_value(&b, 0), b.items[0].len), HS_OK);
        /* Same as a bare value. */
        rc = hs_codec_decode_json((const char *)text.data + 15, (size_t)(2 * depth), 0, &b);
        CU_ASSERT_EQUAL(rc, depth <= HS_MP_MAX_DEPTH ? HS_OK : HS_ERR_PARSE);
    }
    hs_buf_free(&text);
    hs_batch_free(&b);
}

/* [t, v] as msgpack, v given as encoded bytes. */
static void put_inst(hs_buf *m, int64_t t, const void *v, size_t vlen)
{
    hs_mp_put_array(m, 2);
    hs_mp_put_int(m, t);
    hs_mp_put_raw(m, v, vlen);
}

static void test_mpack_forms(void)
{
    hs_buf m, v;
    hs_buf_init(&m, 0);
    hs_buf_init(&v, 0);
    hs_batch b;
    hs_batch_init(&b);
    hs_mp_put_double(&v, 21.5);

    /* A single [t, v]. */
    put_inst(&m, T2016, v.data, v.len);
    for (int copy = 0; copy < 2; copy++) {
        CU_ASSERT_EQUAL(hs_codec_decode_mpack(m.data, m.len, copy, &b), HS_OK);
        CU_ASSERT_EQUAL(b.n, 1);
        CU_ASSERT_EQUAL(b.items[0].t_us, T2016);
        CU_ASSERT_TRUE(value_is(&b, 0, &v));
        CU_ASSERT_EQUAL(b.owned, copy == 1);
    }
    /* Zero-copy: values point into the payload. */
    CU_ASSERT_EQUAL(hs_codec_decode_mpack(m.data, m.len, false, &b), HS_OK);
    CU_ASSERT_PTR_EQUAL(b.base, m.data);
    CU_ASSERT_PTR_EQUAL(hs_batch_value(&b, 0), m.data + m.len - v.len);
    CU_ASSERT_EQUAL(hs_batch_push(&b, 1, v.data, v.len), HS_ERR_STATE);
    CU_ASSERT_PTR_NULL(hs_batch_push_begin(&b));

    /* A batch of three with a nested value; and the empty batch. */
    hs_buf_reset(&m);
    hs_mp_put_array(&m, 3);
    put_inst(&m, 1, v.data, v.len);
    hs_mp_put_array(&m, 2);
    hs_mp_put_int(&m, -2);
    hs_mp_put_map(&m, 1);
    hs_mp_put_cstr(&m, "temp");
    hs_mp_put_array(&m, 2);
    hs_mp_put_nil(&m);
    hs_mp_put_cstr(&m, "x");
    put_inst(&m, HS_TIME_MAX, "\xc3", 1);
    for (int copy = 0; copy < 2; copy++) {
        CU_ASSERT_EQUAL(hs_codec_decode_mpack(m.data, m.len, copy, &b), HS_OK);
        CU_ASSERT_EQUAL_FATAL(b.n, 3);
        CU_ASSERT_EQUAL(b.items[0].t_us, 1);
        CU_ASSERT_EQUAL(b.items[1].t_us, -2);
        CU_ASSERT_EQUAL(b.items[2].t_us, HS_TIME_MAX);
        CU_ASSERT_TRUE(value_is(&b, 0, &v));
        CU_ASSERT_EQUAL(b.items[1].len, 10);
        CU_ASSERT_EQUAL(*hs_batch_value(&b, 2), 0xc3);
    }
    static const uint8_t empty[] = {0x90};
    CU_ASSERT_EQUAL(hs_codec_decode_mpack(empty, 1, false, &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 0);
    /* array16 / array32 outer headers work too */
    static const uint8_t a16[] = {0xdc, 0x00, 0x01, 0x92, 0x05, 0xc0};
    CU_ASSERT_EQUAL(hs_codec_decode_payload(a16, sizeof a16, 0, &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    CU_ASSERT_EQUAL(b.items[0].t_us, 5);
    static const uint8_t a32[] = {0xdd, 0, 0, 0, 2, 0x05, 0xc2};
    CU_ASSERT_EQUAL(hs_codec_decode_payload(a32, sizeof a32, 0, &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    hs_buf_free(&m);
    hs_buf_free(&v);
    hs_batch_free(&b);
}

/* msgpack payload rejected with rc (both modes), and the detail contains want. */
static void check_mp_rejected(const uint8_t *p, size_t n, int rc, const char *want)
{
    hs_batch b;
    hs_batch_init(&b);
    for (int copy = 0; copy < 2; copy++) {
        int got = hs_codec_decode_mpack(p, n, copy, &b);
        if (got != rc || strstr(hs_err_detail(), want) == NULL)
            fprintf(stderr, "\n  copy=%d -> %d '%s' (wanted '%s')\n", copy, got, hs_err_detail(),
                    want);
        CU_ASSERT_EQUAL(got, rc);
        CU_ASSERT_EQUAL(b.n, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), want));
    }
    hs_batch_free(&b);
}

static void test_mpack_errors(void)
{
    static const uint8_t one[] = {0x91, 0x01};
    static const uint8_t three[] = {0x93, 0x01, 0x02, 0x03};
    static const uint8_t map[] = {0x81, 0xa1, 't', 0x01};
    static const uint8_t tstr[] = {0x92, 0xa1, '1', 0x01};
    static const uint8_t tfloat[] = {0x92, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
    static const uint8_t tbig[] = {0x92, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x01};
    static const uint8_t tlow[] = {0x92, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x01};
    static const uint8_t trailing[] = {0x92, 0x01, 0x02, 0x03};
    static const uint8_t f32[] = {0x92, 0x01, 0xca, 0x40, 0x20, 0x00, 0x00};
    static const uint8_t ext[] = {0x92, 0x01, 0xd4, 0x01, 0x00};
    static const uint8_t intkey[] = {0x92, 0x01, 0x81, 0x01, 0x02};
    static const uint8_t badutf8[] = {0x92, 0x01, 0xa1, 0xff};
    static const uint8_t batch_bad[] = {0x92, 0x92, 0x01, 0x02, 0x92, 0x01, 0xc1};
    static const uint8_t batch_mixed[] = {0x92, 0x92, 0x01, 0x02, 0x05};
    check_mp_rejected(one, sizeof one, HS_ERR_PARSE, "[t_us, v], got an array of 1");
    check_mp_rejected(three, sizeof three, HS_ERR_PARSE, "got an array of 3");
    check_mp_rejected(map, sizeof map, HS_ERR_PARSE, "not [t_us, v] or an array of them");
    check_mp_rejected(tstr, sizeof tstr, HS_ERR_PARSE, "timestamp is not an integer");
    check_mp_rejected(tfloat, sizeof tfloat, HS_ERR_PARSE, "timestamp is not an integer");
    check_mp_rejected(tbig, sizeof tbig, HS_ERR_RANGE, "does not fit int64");
    check_mp_rejected(tlow, sizeof tlow, HS_ERR_RANGE, "outside 0001-01-01..9999-12-31");
    check_mp_rejected(trailing, sizeof trailing, HS_ERR_PARSE, "1 trailing bytes");
    check_mp_rejected(ext, sizeof ext, HS_ERR_PARSE, "ext");
    check_mp_rejected(intkey, sizeof intkey, HS_ERR_PARSE, "map key is not a string");
    check_mp_rejected(badutf8, sizeof badutf8, HS_ERR_PARSE, "UTF-8");
    check_mp_rejected(batch_bad, sizeof batch_bad, HS_ERR_PARSE, "instance 1: ");
    check_mp_rejected(batch_mixed, sizeof batch_mixed, HS_ERR_PARSE,
                      "instance 1: an instance is [t_us, v]");
    check_mp_rejected(NULL, 0, HS_ERR_PARSE, "not [t_us, v]");

    /* A non-canonical value is rejected zero-copy and canonicalised when copying. */
    hs_batch b;
    hs_batch_init(&b);
    CU_ASSERT_EQUAL(hs_codec_decode_mpack(f32, sizeof f32, false, &b), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "float32"));
    CU_ASSERT_EQUAL(hs_codec_decode_mpack(f32, sizeof f32, true, &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    CU_ASSERT_EQUAL(b.items[0].len, 9);
    CU_ASSERT_EQUAL(*hs_batch_value(&b, 0), 0xcb);
    /* Timestamps at the limits. */
    hs_buf m;
    hs_buf_init(&m, 0);
    put_inst(&m, HS_TIME_MIN, "\xc0", 1);
    CU_ASSERT_EQUAL(hs_codec_decode_mpack(m.data, m.len, false, &b), HS_OK);
    hs_buf_reset(&m);
    put_inst(&m, HS_TIME_MIN - 1, "\xc0", 1);
    CU_ASSERT_EQUAL(hs_codec_decode_mpack(m.data, m.len, false, &b), HS_ERR_RANGE);
    hs_buf_reset(&m);
    put_inst(&m, HS_TIME_MAX + 1, "\xc0", 1);
    CU_ASSERT_EQUAL(hs_codec_decode_mpack(m.data, m.len, true, &b), HS_ERR_RANGE);
    hs_buf_free(&m);
    hs_batch_free(&b);
}

static void test_mpack_batch_limit(void)
{
    /* [[0, nil] x n]: n = HS_BATCH_MAX_INSTANCES is fine, one more is not. */
    hs_buf m;
    hs_buf_init(&m, 0);
    hs_batch b;
    hs_batch_init(&b);
    for (uint32_t n = HS_BATCH_MAX_INSTANCES; n <= HS_BATCH_MAX_INSTANCES + 1; n++) {
        hs_buf_reset(&m);
        hs_mp_put_array(&m, n);
        for (uint32_t i = 0; i < n; i++)
            put_inst(&m, i, "\xc0", 1);
        int rc = hs_codec_decode_mpack(m.data, m.len, false, &b);
        CU_ASSERT_EQUAL(rc, n <= HS_BATCH_MAX_INSTANCES ? HS_OK : HS_ERR_LIMIT);
        CU_ASSERT_EQUAL(b.n, n <= HS_BATCH_MAX_INSTANCES ? n : 0);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "exceeds the limit"));
    hs_buf_free(&m);
    hs_batch_free(&b);
}

static void test_payload_dispatch(void)
{
    hs_batch b;
    hs_batch_init(&b);
    hs_buf m;
    hs_buf_init(&m, 0);
    put_inst(&m, T2016, "\x07", 1);
    CU_ASSERT_EQUAL(hs_codec_decode_payload(m.data, m.len, ARRIVAL, &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016);
    CU_ASSERT_TRUE(b.owned); /* decode_payload always copies */
    static const char json[] = " {\"t\": \"2016-04-28T20:00:00Z\", \"v\": 7}";
    CU_ASSERT_EQUAL(hs_codec_decode_payload((const uint8_t *)json, sizeof json - 1, ARRIVAL, &b),
                    HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016);
    CU_ASSERT_EQUAL(*hs_batch_value(&b, 0), 7);
    /* A bare msgpack scalar is neither form: it is read as JSON and rejected. */
    static const uint8_t scalar[] = {0x07};
    CU_ASSERT_EQUAL(hs_codec_decode_payload(scalar, 1, ARRIVAL, &b), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_codec_decode_payload(NULL, 0, ARRIVAL, &b), HS_ERR_PARSE);
    hs_buf_free(&m);
    hs_batch_free(&b);
}

static void test_json_line(void)
{
    hs_buf out, v;
    hs_buf_init(&out, 0);
    hs_buf_init(&v, 0);
    hs_mp_put_double(&v, 21.5);
    CU_ASSERT_EQUAL(hs_codec_encode_json_line(T2016, v.data, v.len, &out), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out), "{\"t\":\"2016-04-28T20:00:00Z\",\"v\":21.5}\n");
    hs_buf_reset(&out);
    hs_buf_reset(&v);
    hs_mp_put_map(&v, 2);
    hs_mp_put_cstr(&v, "temp");
    hs_mp_put_double(&v, 21.5);
    hs_mp_put_cstr(&v, "hum");
    hs_mp_put_int(&v, 40);
    CU_ASSERT_EQUAL(hs_codec_encode_json_line(T2016 + 123456, v.data, v.len, &out), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out),
                           "{\"t\":\"2016-04-28T20:00:00.123456Z\",\"v\":{\"temp\":"
                           "21.5,\"hum\":40}}\n");
    /* Appends; bad values leave out unchanged. */
    size_t keep = out.len;
    CU_ASSERT_EQUAL(hs_codec_encode_json_line(0, (const uint8_t *)"\xd4\x01\x00", 3, &out),
                    HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_codec_encode_json_line(0, (const uint8_t *)"\x01\x02", 2, &out),
                    HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_codec_encode_json_line(0, (const uint8_t *)"\x92\x01", 2, &out),
                    HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_codec_encode_json_line(0, NULL, 0, &out), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(out.len, keep);
    hs_buf_free(&out);
    hs_buf_free(&v);
}

static void test_microsecond_timestamps_round_trip(void)
{
    static const char *times[] = {
        "2016-04-28T20:00:00.123456Z", "2016-04-28T20:00:00.000001Z", "1970-01-01T00:00:00Z",
        "1969-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z",        "9999-12-31T23:59:59.999999Z",
    };
    hs_batch b, b2;
    hs_batch_init(&b);
    hs_batch_init(&b2);
    hs_buf text, line;
    hs_buf_init(&text, 0);
    hs_buf_init(&line, 0);
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        hs_buf_reset(&text);
        hs_buf_printf(&text, "{\"t\": \"%s\", \"v\": 1}", times[i]);
        CU_ASSERT_EQUAL(hs_codec_decode_json((const char *)text.data, text.len, 0, &b), HS_OK);
        CU_ASSERT_EQUAL_FATAL(b.n, 1);
        hs_buf_reset(&line);
        CU_ASSERT_EQUAL(hs_codec_encode_json_line(b.items[0].t_us, hs_batch_value(&b, 0),
                                                  b.items[0].len, &line),
                        HS_OK);
        hs_buf_reset(&text);
        hs_buf_printf(&text, "{\"t\":\"%s\",\"v\":1}\n", times[i]);
        CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&line), hs_buf_cstr(&text));
        /* ... and the line decodes back to the same instant. */
        CU_ASSERT_EQUAL(hs_codec_decode_json((const char *)line.data, line.len, 0, &b2), HS_OK);
        CU_ASSERT_EQUAL(b2.items[0].t_us, b.items[0].t_us);
    }
    hs_batch_free(&b);
    hs_batch_free(&b2);
    hs_buf_free(&text);
    hs_buf_free(&line);
}

static void test_round_trip_mpack_json_mpack(void)
{
    /* A batch with values of every JSON-representable kind. */
    hs_batch b, back, one;
    hs_batch_init(&b);
    hs_batch_init(&back);
    hs_batch_init(&one);
    hs_buf *vb;
    int64_t t = T2016;
    vb = hs_batch_push_begin(&b);
    hs_mp_put_nil(vb);
    hs_batch_push_end(&b, t++);
    vb = hs_batch_push_begin(&b);
    hs_mp_put_bool(vb, false);
    hs_batch_push_end(&b, t++);
    static const int64_t ints[] = {0, -1, 127, 128, -33, 65536, INT64_MIN, INT64_MAX};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        vb = hs_batch_push_begin(&b);
        hs_mp_put_int(vb, ints[i]);
        hs_batch_push_end(&b, t++);
    }
    static const double dbl[] = {0.0, -0.0, 21.5, 0.1, 1e300, -1.5e-7, 5e-324, 100.0, 1e16};
    for (size_t i = 0; i < sizeof dbl / sizeof dbl[0]; i++) {
        vb = hs_batch_push_begin(&b);
        hs_mp_put_double(vb, dbl[i]);
        hs_batch_push_end(&b, t++);
    }
    vb = hs_batch_push_begin(&b);
    hs_mp_put_cstr(vb, "h\xc3\xa9llo \"w\\orld\"\n\x01 \xf0\x9f\x98\x80");
    hs_batch_push_end(&b, t++);
    vb = hs_batch_push_begin(&b);
    hs_mp_put_map(vb, 3);
    hs_mp_put_cstr(vb, "temp");
    hs_mp_put_double(vb, 21.5);
    hs_mp_put_cstr(vb, "tags");
    hs_mp_put_array(vb, 2);
    hs_mp_put_cstr(vb, "a");
    hs_mp_put_map(vb, 0);
    hs_mp_put_cstr(vb, "t");
    hs_mp_put_int(vb, 1);
    hs_batch_push_end(&b, t++);
    for (size_t i = 0; i < b.n; i++)
        CU_ASSERT_EQUAL(hs_value_check(hs_batch_value(&b, i), b.items[i].len), HS_OK);

    /* msgpack -> JSON lines -> msgpack: every instance comes back byte for byte. */
    hs_buf mp, line;
    hs_buf_init(&mp, 0);
    hs_buf_init(&line, 0);
    CU_ASSERT_EQUAL(hs_codec_encode_mpack(&b, 0, b.n, &mp), HS_OK);
    CU_ASSERT_EQUAL(hs_codec_decode_mpack(mp.data, mp.len, false, &back), HS_OK);
    CU_ASSERT_EQUAL_FATAL(back.n, b.n);
    for (size_t i = 0; i < back.n; i++) {
        hs_buf_reset(&line);
        CU_ASSERT_EQUAL(hs_codec_encode_json_line(back.items[i].t_us, hs_batch_value(&back, i),
                                                  back.items[i].len, &line),
                        HS_OK);
        CU_ASSERT_EQUAL(line.data[line.len - 1], '\n');
        CU_ASSERT_EQUAL(hs_codec_decode_json((const char *)line.data, line.len, 0, &one), HS_OK);
        CU_ASSERT_EQUAL_FATAL(one.n, 1);
        CU_ASSERT_EQUAL(one.items[0].t_us, b.items[i].t_us);
        CU_ASSERT_EQUAL(one.items[0].len, b.items[i].len);
        CU_ASSERT_EQUAL(memcmp(hs_batch_value(&one, 0), hs_batch_value(&b, i), b.items[i].len), 0);
    }

    /* encode_mpack of a sub-range. */
    hs_buf_reset(&mp);
    CU_ASSERT_EQUAL(hs_codec_encode_mpack(&b, 2, 3, &mp), HS_OK);
    CU_ASSERT_EQUAL(hs_codec_decode_mpack(mp.data, mp.len, true, &back), HS_OK);
    CU_ASSERT_EQUAL(back.n, 3);
    CU_ASSERT_EQUAL(back.items[0].t_us, b.items[2].t_us);
    hs_buf_reset(&mp);
    CU_ASSERT_EQUAL(hs_codec_encode_mpack(&b, 0, 0, &mp), HS_OK);
    CU_ASSERT_EQUAL(mp.len, 1);
    CU_ASSERT_EQUAL(mp.data[0], 0x90);
    CU_ASSERT_EQUAL(hs_codec_encode_mpack(&b, b.n, 1, &mp), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_codec_encode_mpack(&b, 1, SIZE_MAX, &mp), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(mp.len, 1);

    hs_buf_free(&mp);
    hs_buf_free(&line);
    hs_batch_free(&b);
    hs_batch_free(&back);
    hs_batch_free(&one);
}

static void test_json_to_mpack_payload_round_trip(void)
{
    /* JSON batch -> msgpack payload -> decode -> same instances. */
    static const char json[] =
        "[{\"t\":\"2016-04-28T20:00:00.5Z\",\"v\":{\"temp\":21.5,\"hum\":40}},"
        "{\"t\":1461873601,\"v\":[1,2,[3]]},{\"v\":\"x\"}]";
    hs_batch b, back;
    hs_batch_init(&b);
    hs_batch_init(&back);
    hs_buf mp;
    hs_buf_init(&mp, 0);
    CU_ASSERT_EQUAL(hs_codec_decode_json(S(json), ARRIVAL, &b), HS_OK);
    CU_ASSERT_EQUAL_FATAL(b.n, 3);
    CU_ASSERT_EQUAL(hs_codec_encode_mpack(&b, 0, b.n, &mp), HS_OK);
    CU_ASSERT_EQUAL(hs_codec_decode_payload(mp.data, mp.len, 0, &back), HS_OK);
    CU_ASSERT_EQUAL_FATAL(back.n, 3);
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(back.items[i].t_us, b.items[i].t_us);
        CU_ASSERT_EQUAL(back.items[i].len, b.items[i].len);
        CU_ASSERT_EQUAL(memcmp(hs_batch_value(&back, i), hs_batch_value(&b, i), b.items[i].len), 0);
    }
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016 + 500000);
    CU_ASSERT_EQUAL(b.items[2].t_us, ARRIVAL);
    hs_buf_free(&mp);
    hs_batch_free(&b);
    hs_batch_free(&back);
}

static void test_every_truncation_rejected(void)
{
    static const char json[] = "[{\"t\": \"2016-04-28T20:00:00.123456Z\", \"v\": {\"temp\": 21.5, "
                               "\"tags\": [\"a\\u00e9\", null, true]}}, {\"t\": 1461873600.000001, "
                               "\"v\": -12}]";
    hs_batch b;
    hs_batch_init(&b);
    CU_ASSERT_EQUAL(hs_codec_decode_json(S(json), 0, &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 2);
    for (size_t cut = 0; cut < sizeof json - 1; cut++) {
        int rc = hs_codec_decode_json(json, cut, 0, &b);
        CU_ASSERT_NOT_EQUAL(rc, HS_OK);
        CU_ASSERT_EQUAL(b.n, 0);
    }
    hs_buf mp;
    hs_buf_init(&mp, 0);
    hs_buf v;
    hs_buf_init(&v, 0);
    hs_mp_put_map(&v, 2);
    hs_mp_put_cstr(&v, "temp");
    hs_mp_put_double(&v, 21.5);
    hs_mp_put_cstr(&v, "tags");
    hs_mp_put_array(&v, 2);
    hs_mp_put_cstr(&v, "a");
    hs_mp_put_int(&v, 300);
    hs_mp_put_array(&mp, 2);
    put_inst(&mp, T2016, v.data, v.len);
    put_inst(&mp, -T2016, "\xc3", 1);
    for (int copy = 0; copy < 2; copy++) {
        CU_ASSERT_EQUAL(hs_codec_decode_mpack(mp.data, mp.len, copy, &b), HS_OK);
        for (size_t cut = 0; cut < mp.len; cut++) {
            CU_ASSERT_EQUAL(hs_codec_decode_mpack(mp.data, cut, copy, &b), HS_ERR_PARSE);
            CU_ASSERT_EQUAL(b.n, 0);
        }
    }
    hs_buf_free(&mp);
    hs_buf_free(&v);
    hs_batch_free(&b);
}

/* Decodes text as ingest does with a raw payload; expects one string instance at ARRIVAL. */
static void expect_word(const char *text, const char *want)
{
    hs_batch b;
    hs_batch_init(&b);
    CU_ASSERT_EQUAL(hs_codec_decode_payload((const uint8_t *)text, strlen(text), ARRIVAL, &b),
                    HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    if (b.n == 1) {
        CU_ASSERT_EQUAL(b.items[0].t_us, ARRIVAL);
        hs_buf want_mp;
        hs_buf_init(&want_mp, 0);
        CU_ASSERT_EQUAL(hs_mp_put_cstr(&want_mp, want), HS_OK);
        CU_ASSERT_EQUAL(b.items[0].len, want_mp.len);
        CU_ASSERT(b.items[0].len == want_mp.len &&
                  memcmp(hs_batch_value(&b, 0), want_mp.data, want_mp.len) == 0);
        hs_buf_free(&want_mp);
    }
    hs_batch_free(&b);
}

static void expect_text_rejected(const char *text, const char *want)
{
    hs_batch b;
    hs_batch_init(&b);
    CU_ASSERT_EQUAL(hs_codec_decode_text(text, strlen(text), ARRIVAL, &b), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(b.n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), want));
    if (strstr(hs_err_detail(), want) == NULL)
        fprintf(stderr, "\n  detail \"%s\" lacks \"%s\"\n", hs_err_detail(), want);
    hs_batch_free(&b);
}

/* The one rule for bare values: JSON, else a bare word is a string, else refused. */
static void test_text_payload_bare_word(void)
{
    expect_word("on", "on");
    expect_word("OFF", "OFF");
    expect_word("heating_2", "heating_2");
    expect_word("a.b-c:d", "a.b-c:d");
    expect_word(" on\n", "on");
    expect_word("on\r\n", "on");
    expect_word("Truely", "Truely");
    expect_word("nano", "nano");
    char w[HS_CODEC_MAX_WORD + 2];
    memset(w, 'x', HS_CODEC_MAX_WORD);
    w[HS_CODEC_MAX_WORD] = '\0';
    expect_word(w, w);
    /* JSON stays JSON: a number, a literal, a JSON string, an instance. */
    hs_batch b;
    hs_batch_init(&b);
    CU_ASSERT_EQUAL(hs_codec_decode_text(S("21.5"), ARRIVAL, &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    double d = 0;
    hs_mp_reader r;
    hs_mp_reader_init(&r, hs_batch_value(&b, 0), b.items[0].len);
    CU_ASSERT_EQUAL(hs_mp_get_number(&r, &d), HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, 21.5, 0);
    CU_ASSERT_EQUAL(hs_codec_decode_text(S("true"), ARRIVAL, &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    CU_ASSERT_EQUAL(*hs_batch_value(&b, 0), 0xc3);
    CU_ASSERT_EQUAL(hs_codec_decode_text(S("{\"t\":1461873600,\"v\":\"on\"}"), ARRIVAL, &b), HS_OK);
    CU_ASSERT_EQUAL(b.n, 1);
    CU_ASSERT_EQUAL(b.items[0].t_us, T2016);
    hs_batch_free(&b);
    expect_word("\"living room\"", "living room");
    /* Not JSON and not a word: refused with the reason and the hint. */
    w[HS_CODEC_MAX_WORD] = 'x';
    w[HS_CODEC_MAX_WORD + 1] = '\0';
    expect_text_rejected(w, "bare word such as on");
    expect_text_rejected("living room", "send other text as a JSON string");
    expect_text_rejected("not json 5", "bare word such as on");
    expect_text_rejected("21,5", "bare word");
    expect_text_rejected("2on", "bare word");
    expect_text_rejected("_on", "bare word");
    expect_text_rejected("{\"t\":1,\"v\":", "bare word");
    expect_text_rejected("on!", "bare word");
    expect_text_rejected("NaN", "unexpected character");
    expect_text_rejected("-Infinity", "bare word");
    expect_text_rejected("inf", "bare word");
    expect_text_rejected("True", "bare word");
    expect_text_rejected("NULL", "bare word");
    expect_text_rejected("caf\xc3\xa9", "bare word");
    expect_text_rejected("", "empty payload");
    expect_text_rejected("  ", "bare word");
}

static void test_allocation_failures(void)
{
    static const char json[] =
        "[{\"t\": \"2016-04-28T20:00:00Z\", \"v\": {\"temp\": 21.5, \"name\":"
        " \"a string long enough to need its own allocation in a buffer\"}},"
        " {\"v\": [1, 2, 3]}, {\"t\": 5, \"v\": {\"other\": 1}}]";
    bool ok = false;
    for (long n = 0; n < 60 && !ok; n++) {
        hs_batch b;
        hs_batch_init(&b);
        hs_alloc_fail_after(n);
        int rc = hs_codec_decode_json(S(json), 0, &b);
        hs_alloc_fail_after(-1);
        CU_ASSERT_TRUE(rc == HS_OK || rc == HS_ERR_NOMEM);
        if (rc == HS_ERR_NOMEM)
            CU_ASSERT_EQUAL(b.n, 0);
        ok = rc == HS_OK;
        if (ok)
            CU_ASSERT_EQUAL(b.n, 3);
        hs_batch_free(&b);
    }
    CU_ASSERT_TRUE(ok);
}

HS_TEST_INIT(codec)
{
    HS_TEST_SUITE_BEGIN("codec");
    HS_TEST(test_batch_push_and_sort);
    HS_TEST(test_batch_sort_large_reverse);
    HS_TEST(test_batch_read_range);
    HS_TEST(test_value_check_accepts_packer_output);
    HS_TEST(test_canonicalize);
    HS_TEST(test_value_depth);
    HS_TEST(test_duplicate_map_keys);
    HS_TEST(test_json_single_instance);
    HS_TEST(test_json_bare_values);
    HS_TEST(test_json_batches);
    HS_TEST(test_json_errors);
    HS_TEST(test_json_depth);
    HS_TEST(test_mpack_forms);
    HS_TEST(test_mpack_errors);
    HS_TEST(test_mpack_batch_limit);
    HS_TEST(test_payload_dispatch);
    HS_TEST(test_json_line);
    HS_TEST(test_microsecond_timestamps_round_trip);
    HS_TEST(test_round_trip_mpack_json_mpack);
    HS_TEST(test_json_to_mpack_payload_round_trip);
    HS_TEST(test_every_truncation_rejected);
    HS_TEST(test_text_payload_bare_word);
    HS_TEST(test_allocation_failures);
    return 0;
}
