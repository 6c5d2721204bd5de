/* Tests of hs_mpack: round trips of every type and rejection of bad input. */
#include "test_suites.h"

#include "hs_buf.h"
#include "hs_error.h"
#include "hs_mpack.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <string.h>

static void test_roundtrip_scalars(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_mp_put_nil(&b), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_bool(&b, true), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_int(&b, -5), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_int(&b, INT64_MIN), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_uint(&b, UINT64_MAX), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_double(&b, 21.5), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&b, "kitchen"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_bin(&b, "\0\1\2", 3), HS_OK);

    hs_mp_reader r;
    hs_mp_reader_init(&r, b.data, b.len);
    bool bv = false;
    int64_t i;
    uint64_t u;
    double d;
    const char *s;
    uint32_t n;
    const uint8_t *bin;
    CU_ASSERT_EQUAL(hs_mp_get_nil(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_get_bool(&r, &bv), HS_OK);
    CU_ASSERT_TRUE(bv);
    CU_ASSERT_EQUAL(hs_mp_get_int(&r, &i), HS_OK);
    CU_ASSERT_EQUAL(i, -5);
    CU_ASSERT_EQUAL(hs_mp_get_int(&r, &i), HS_OK);
    CU_ASSERT_EQUAL(i, INT64_MIN);
    CU_ASSERT_EQUAL(hs_mp_get_int(&r, &i), HS_ERR_RANGE);
    CU_ASSERT_EQUAL(hs_mp_get_uint(&r, &u), HS_OK);
    CU_ASSERT_EQUAL(u, UINT64_MAX);
    CU_ASSERT_EQUAL(hs_mp_get_number(&r, &d), HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, 21.5, 0.0);
    CU_ASSERT_EQUAL(hs_mp_get_str(&r, &s, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 7);
    CU_ASSERT_EQUAL(memcmp(s, "kitchen", 7), 0);
    CU_ASSERT_EQUAL(hs_mp_get_bin(&r, &bin, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(bin[2], 2);
    CU_ASSERT_TRUE(hs_mp_at_end(&r));
    CU_ASSERT_EQUAL(hs_mp_get_nil(&r), HS_ERR_PARSE);
    hs_buf_free(&b);
}

static void test_containers_and_skip(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    /* [[1, {"a": [true, nil]}], "x"] */
    hs_mp_put_array(&b, 2);
    hs_mp_put_array(&b, 2);
    hs_mp_put_int(&b, 1);
    hs_mp_put_map(&b, 1);
    hs_mp_put_cstr(&b, "a");
    hs_mp_put_array(&b, 2);
    hs_mp_put_bool(&b, true);
    hs_mp_put_nil(&b);
    hs_mp_put_cstr(&b, "x");

    hs_mp_reader r;
    hs_mp_reader_init(&r, b.data, b.len);
    uint32_t n;
    CU_ASSERT_EQUAL(hs_mp_get_array(&r, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 2);
    const uint8_t *raw;
    size_t rawlen;
    CU_ASSERT_EQUAL(hs_mp_get_raw(&r, &raw, &rawlen), HS_OK);
    CU_ASSERT_EQUAL(rawlen, b.len - 1 - 2);
    const char *s;
    CU_ASSERT_EQUAL(hs_mp_get_str(&r, &s, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_TRUE(hs_mp_at_end(&r));

    /* Every truncation of the document is rejected by skip, never over-read. */
    for (size_t cut = 0; cut < b.len; cut++) {
        hs_mp_reader_init(&r, b.data, cut);
        CU_ASSERT_EQUAL(hs_mp_skip(&r), HS_ERR_PARSE);
    }
    hs_buf_free(&b);
}

static void test_rejects_bad_bytes(void)
{
    /* 0xc1 is never used; a str32 claiming 4 GiB; an array claiming more items than bytes. */
    static const uint8_t never[] = {0xc1};
    static const uint8_t bigstr[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    static const uint8_t bigarr[] = {0xdd, 0x00, 0x10, 0x00, 0x00, 0x01, 0x02};
    hs_mp_reader r;
    hs_mp_type t;
    hs_mp_reader_init(&r, never, sizeof never);
    CU_ASSERT_EQUAL(hs_mp_peek(&r, &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_mp_skip(&r), HS_ERR_PARSE);
    hs_mp_reader_init(&r, bigstr, sizeof bigstr);
    const char *s;
    uint32_t n;
    CU_ASSERT_EQUAL(hs_mp_get_str(&r, &s, &n), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_mp_skip(&r), HS_ERR_PARSE);
    hs_mp_reader_init(&r, bigarr, sizeof bigarr);
    CU_ASSERT_EQUAL(hs_mp_get_array(&r, &n), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_mp_skip(&r), HS_ERR_PARSE);
    CU_ASSERT_PTR_EQUAL(r.p, bigarr);
}

static void test_deep_nesting_skips_without_recursion(void)
{
    /* 100000 nested one-element arrays ending in nil. */
    enum { DEPTH = 100000 };
    static uint8_t deep[DEPTH + 1];
    memset(deep, 0x91, DEPTH);
    deep[DEPTH] = 0xc0;
    hs_mp_reader r;
    hs_mp_reader_init(&r, deep, sizeof deep);
    CU_ASSERT_EQUAL(hs_mp_skip(&r), HS_OK);
    CU_ASSERT_TRUE(hs_mp_at_end(&r));
}

static void test_float32_and_ints_as_number(void)
{
    static const uint8_t f32[] = {0xca, 0x40, 0x20, 0x00, 0x00}; /* 2.5f */
    static const uint8_t i16[] = {0xd1, 0xff, 0x38};             /* -200 */
    hs_mp_reader r;
    double d;
    hs_mp_reader_init(&r, f32, sizeof f32);
    CU_ASSERT_EQUAL(hs_mp_get_number(&r, &d), HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, 2.5, 0.0);
    hs_mp_reader_init(&r, i16, sizeof i16);
    CU_ASSERT_EQUAL(hs_mp_get_number(&r, &d), HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, -200.0, 0.0);
}

HS_TEST_INIT(mpack)
{
    HS_TEST_SUITE_BEGIN("mpack");
    HS_TEST(test_roundtrip_scalars);
    HS_TEST(test_containers_and_skip);
    HS_TEST(test_rejects_bad_bytes);
    HS_TEST(test_deep_nesting_skips_without_recursion);
    HS_TEST(test_float32_and_ints_as_number);
    return 0;
}
