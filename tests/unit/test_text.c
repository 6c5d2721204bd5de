/*
 * Tests of the small text helpers of common/: FNV-1a hashes (hs_hash),
 * UTF-8 validation (hs_utf8), base64 (hs_base64) and round-trip text of
 * doubles (hs_fmt). Expected values come from the published test vectors
 * (FNV, RFC 3629, RFC 4648) or are computed here by other means.
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_base64.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_fmt.h"
#include "hs_hash.h"
#include "hs_proto.h"
#include "hs_tool.h"
#include "hs_utf8.h"

#include <CUnit/CUnit.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) (x), (sizeof(x) - 1) /* a literal with its length, embedded NULs included */

/* ------------------------------------------------------------------ FNV-1a */

static void test_fnv_known_vectors(void)
{
    /* The vectors of the FNV reference (draft-eastlake-fnv, isthe.com/chongo/tech/comp/fnv). */
    CU_ASSERT_EQUAL(hs_fnv1a64("", 0), 0xcbf29ce484222325ULL);
    CU_ASSERT_EQUAL(hs_fnv1a64(NULL, 0), 0xcbf29ce484222325ULL);
    CU_ASSERT_EQUAL(hs_fnv1a64(S("a")), 0xaf63dc4c8601ec8cULL);
    CU_ASSERT_EQUAL(hs_fnv1a64(S("foobar")), 0x85944171f73967e8ULL);
    CU_ASSERT_EQUAL(hs_fnv1a32("", 0), 0x811c9dc5U);
    CU_ASSERT_EQUAL(hs_fnv1a32(S("a")), 0xe40c292cU);
    CU_ASSERT_EQUAL(hs_fnv1a32(S("foobar")), 0xbf9cf968U);
    /* Bytes above 0x7f are hashed unsigned, a NUL like any byte. */
    CU_ASSERT_NOT_EQUAL(hs_fnv1a64(S("\xff")), hs_fnv1a64(S("\x7f")));
    CU_ASSERT_NOT_EQUAL(hs_fnv1a64(S("a\0")), hs_fnv1a64(S("a")));
}

static void test_fnv_forms_agree(void)
{
    static const char *const texts[] = {"", "a", "foobar", "temp/site=\xc3\xa9", "k1"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *t = texts[i];
        size_t n = strlen(t);
        uint64_t whole = hs_fnv1a64(t, n);
        CU_ASSERT_EQUAL(hs_fnv1a64_str(t), whole);
        /* Hashing in two pieces gives the hash of the whole, wherever the cut. */
        for (size_t cut = 0; cut <= n; cut++)
            CU_ASSERT_EQUAL(
                hs_fnv1a64_update(hs_fnv1a64_update(HS_FNV1A64_INIT, t, cut), t + cut, n - cut),
                whole);
        char hex[HS_FNV1A64_HEX_MAX], want[32];
        hs_fnv1a64_hex(t, hex);
        snprintf(want, sizeof want, "%016llx", (unsigned long long)whole);
        CU_ASSERT_STRING_EQUAL(hex, want);
    }
    char hex[HS_FNV1A64_HEX_MAX];
    hs_fnv1a64_hex("", hex);
    CU_ASSERT_STRING_EQUAL(hex, "cbf29ce484222325");
    hs_fnv1a64_hex("a", hex);
    CU_ASSERT_STRING_EQUAL(hex, "af63dc4c8601ec8c");
}

/* ------------------------------------------------------------------ UTF-8 */

/* Encodes cp (any value up to 0x1FFFFF, surrogates too) the way the bits say; returns the length.
 */
static size_t enc_utf8(uint32_t cp, uint8_t b[4])
{
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (uint8_t)(0xc0 | (cp >> 6));
        b[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (uint8_t)(0xe0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    b[0] = (uint8_t)(0xf0 | (cp >> 18));
    b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static void test_utf8_valid_sequences(void)
{
    static const struct {
        const char *s;
        size_t len;
        uint32_t cp;
    } ok[] = {
        {S("A"), 0x41},
        {S("\0"), 0},
        {S("\x7f"), 0x7f},
        {S("\xc2\x80"), 0x80},
        {S("\xc3\xa9"), 0xe9},
        {S("\xdf\xbf"), 0x7ff},
        {S("\xe0\xa0\x80"), 0x800},
        {S("\xed\x9f\xbf"), 0xd7ff},
        {S("\xee\x80\x80"), 0xe000},
        {S("\xef\xbf\xbf"), 0xffff},
        {S("\xf0\x90\x80\x80"), 0x10000},
        {S("\xf4\x8f\xbf\xbf"), 0x10ffff},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint32_t cp = 0xdeadbeef;
        CU_ASSERT_EQUAL(hs_utf8_decode(ok[i].s, ok[i].len, &cp), ok[i].len);
        CU_ASSERT_EQUAL(cp, ok[i].cp);
        CU_ASSERT_EQUAL(hs_utf8_decode(ok[i].s, ok[i].len, NULL), ok[i].len);
        CU_ASSERT_TRUE(hs_utf8_valid(ok[i].s, ok[i].len));
    }
    CU_ASSERT_TRUE(hs_utf8_valid("", 0));
    CU_ASSERT_TRUE(hs_utf8_valid(NULL, 0));
    CU_ASSERT_TRUE(hs_utf8_valid(S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")));
    CU_ASSERT_EQUAL(hs_utf8_check(S("a\0b\xc3\xa9")), 5);
    /* Only the first sequence is decoded. */
    uint32_t cp = 0;
    CU_ASSERT_EQUAL(hs_utf8_decode(S("\xc3\xa9x"), &cp), 2);
    CU_ASSERT_EQUAL(cp, 0xe9);
}

static void test_utf8_invalid_sequences(void)
{
    static const struct {
        const char *s;
        size_t len;
        size_t bad; /* offset hs_utf8_check reports */
    } bad[] = {
        {S("\x80"), 0},                     /* lone continuation byte */
        {S("\xbf"), 0},                     /* lone continuation byte */
        {S("\xc0\x80"), 0},                 /* overlong NUL */
        {S("\xc1\xbf"), 0},                 /* overlong U+7F */
        {S("\xe0\x80\x80"), 0},             /* overlong three-byte NUL */
        {S("\xe0\x9f\xbf"), 0},             /* overlong U+7FF */
        {S("\xf0\x80\x80\x80"), 0},         /* overlong four-byte NUL */
        {S("\xf0\x8f\xbf\xbf"), 0},         /* overlong U+FFFF */
        {S("\xed\xa0\x80"), 0},             /* U+D800, high surrogate */
        {S("\xed\xbf\xbf"), 0},             /* U+DFFF, low surrogate */
        {S("\xed\xa0\xbd\xed\xb8\x80"), 0}, /* a surrogate pair (CESU-8) */
        {S("\xf4\x90\x80\x80"), 0},         /* U+110000 */
        {S("\xf5\x80\x80\x80"), 0},         /* lead byte past F4 */
        {S("\xf8\x88\x80\x80\x80"), 0},     /* five-byte form */
        {S("\xfe"), 0},
        {S("\xff"), 0},
        {S("\xc3"), 0},             /* truncated two-byte */
        {S("\xe2\x82"), 0},         /* truncated three-byte */
        {S("\xf0\x9f\x98"), 0},     /* truncated four-byte */
        {S("\xc3\x28"), 0},         /* bad continuation */
        {S("\xe2\x28\xa1"), 0},     /* bad second byte */
        {S("\xe2\x82\x28"), 0},     /* bad third byte */
        {S("\xf0\x9f\x98\x28"), 0}, /* bad fourth byte */
        {S("ab\xc3"), 2},
        {S("ok \xc3\xa9 \xed\xa0\x80"), 6},
        {S("\xf0\x9f\x98\x80\xc0\xaf"), 4},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (hs_utf8_check(bad[i].s, bad[i].len) != bad[i].bad)
            fprintf(stderr, "\n  case %zu: check gives %zu\n", i,
                    hs_utf8_check(bad[i].s, bad[i].len));
        CU_ASSERT_EQUAL(hs_utf8_check(bad[i].s, bad[i].len), bad[i].bad);
        CU_ASSERT_FALSE(hs_utf8_valid(bad[i].s, bad[i].len));
        uint32_t cp = 7;
        const char *at = bad[i].s + bad[i].bad;
        CU_ASSERT_EQUAL(hs_utf8_decode(at, bad[i].len - bad[i].bad, &cp), 0);
        CU_ASSERT_EQUAL(cp, 7);
    }
    /* Nothing past avail is read: a valid sequence with avail cut short is rejected. */
    CU_ASSERT_EQUAL(hs_utf8_decode("\xe2\x82\xac", 2, NULL), 0);
    CU_ASSERT_EQUAL(hs_utf8_decode("A", 0, NULL), 0);
}

/* Every code point decodes from its encoding, and exactly the rules of RFC 3629 hold. */
static void test_utf8_every_code_point(void)
{
    size_t wrong = 0;
    for (uint32_t cp = 0; cp <= 0x10ffff + 0x100; cp++) {
        uint8_t b[4];
        size_t n = enc_utf8(cp, b);
        uint32_t got = UINT32_MAX;
        size_t k = hs_utf8_decode(b, n, &got);
        bool want = cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
        if (want ? (k != n || got != cp) : k != 0)
            wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    /* Of all 2- and 3-byte strings, exactly the shortest forms of the allowed code points pass. */
    size_t valid2 = 0, valid3 = 0;
    for (uint32_t a = 0; a < 256; a++) {
        for (uint32_t b = 0; b < 256; b++) {
            uint8_t s[3] = {(uint8_t)a, (uint8_t)b, 0};
            if (a >= 0x80 && hs_utf8_decode(s, 2, NULL) == 2)
                valid2++;
            if (a < 0xe0 || a > 0xef)
                continue;
            for (uint32_t c = 0; c < 256; c++) {
                s[2] = (uint8_t)c;
                if (hs_utf8_decode(s, 3, NULL) == 3)
                    valid3++;
            }
        }
    }
    CU_ASSERT_EQUAL(valid2, 0x800 - 0x80);
    CU_ASSERT_EQUAL(valid3, 0x10000 - 0x800 - 0x800);
}

/* ------------------------------------------------------------------ base64 */

static void test_base64_rfc4648_vectors(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    hs_buf b;
    hs_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        size_t n = strlen(plain[i]);
        hs_buf_reset(&b);
        CU_ASSERT_EQUAL(hs_base64_encode(&b, plain[i], n), HS_OK);
        CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), coded[i]);
        CU_ASSERT_EQUAL(hs_base64_encoded_len(n), strlen(coded[i]));
        hs_buf_reset(&b);
        CU_ASSERT_EQUAL(hs_base64_decode(&b, coded[i], strlen(coded[i])), HS_OK);
        CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), plain[i]);
    }
    /* Both directions append to what the buffer holds. */
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "x:"), HS_OK);
    CU_ASSERT_EQUAL(hs_base64_encode(&b, S("\xff\xfe\x00")), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "x://4A");
    CU_ASSERT_EQUAL(hs_base64_decode(&b, S("QUJD")), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "x://4AABC");
    hs_buf_free(&b);
}

static void test_base64_round_trips(void)
{
    uint8_t data[300];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    hs_buf enc, dec;
    hs_buf_init(&enc, 0);
    hs_buf_init(&dec, 0);
    size_t failures = 0;
    for (size_t n = 0; n <= sizeof data; n++) {
        hs_buf_reset(&enc);
        hs_buf_reset(&dec);
        if (hs_base64_encode(&enc, data, n) != HS_OK || enc.len != (n + 2) / 3 * 4 ||
            hs_base64_decode(&dec, (const char *)enc.data, enc.len) != HS_OK || dec.len != n ||
            (n > 0 && memcmp(dec.data, data, n) != 0))
            failures++;
    }
    CU_ASSERT_EQUAL(failures, 0);
    /* Every byte value, and the whole alphabet in order. */
    uint8_t all[256];
    for (size_t i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    hs_buf_reset(&enc);
    CU_ASSERT_EQUAL(hs_base64_encode(&enc, all, 48), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&enc),
                           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v");
    hs_buf_reset(&dec);
    CU_ASSERT_EQUAL(hs_base64_decode(&dec, S("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0"
                                             "123456789+/")),
                    HS_OK);
    CU_ASSERT_EQUAL(dec.len, 48);
    CU_ASSERT_EQUAL(dec.data[0], 0x00);
    CU_ASSERT_EQUAL(dec.data[1], 0x10);
    CU_ASSERT_EQUAL(dec.data[2], 0x83);
    CU_ASSERT_EQUAL(dec.data[47], 0xbf);
    hs_buf_free(&enc);
    hs_buf_free(&dec);
}

static void test_base64_rejects_bad_input(void)
{
    static const struct {
        const char *s;
        size_t len;
        const char *detail;
    } bad[] = {
        {S("Zg="), "length 3 is not a multiple of 4"},
        {S("Zm9vY"), "length 5 is not a multiple of 4"},
        {S("Zg==Zg=="), "invalid character 0x3d at byte 2"},
        {S("Z==="), "invalid character 0x3d at byte 1"},
        {S("===="), "invalid character 0x3d at byte 0"},
        {S("=Zg="), "invalid character 0x3d at byte 0"},
        {S("Zh=="), "nonzero padding bits at byte 1"},
        {S("Zm9="), "nonzero padding bits at byte 2"},
        {S("Zm9v\nZm8="), "length 9 is not a multiple of 4"},
        {S("Zm9v Zm8"), "invalid character 0x20 at byte 4"},
        {S("Zm-_"), "invalid character 0x2d at byte 2"},
        {S("Zm9\xff"), "invalid character 0xff at byte 3"},
        {S("Zm\0v"), "invalid character 0x00 at byte 2"},
    };
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "kept"), HS_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hs_err_clear();
        CU_ASSERT_EQUAL(hs_base64_decode(&b, bad[i].s, bad[i].len), HS_ERR_PARSE);
        char want[96];
        snprintf(want, sizeof want, "base64: %s", bad[i].detail);
        if (strcmp(hs_err_detail(), want) != 0)
            fprintf(stderr, "\n  case %zu: %s\n", i, hs_err_detail());
        CU_ASSERT_STRING_EQUAL(hs_err_detail(), want);
        CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "kept");
    }
    hs_buf_free(&b);
}

static void test_base64_buffer_failures_leave_output(void)
{
    hs_buf b;
    hs_buf_init(&b, 8);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "ab"), HS_OK);
    CU_ASSERT_EQUAL(hs_base64_encode(&b, S("12345")), HS_ERR_LIMIT);
    CU_ASSERT_EQUAL(b.len, 2);
    CU_ASSERT_EQUAL(hs_base64_decode(&b, S("MTIzNDU2Nzg=")), HS_ERR_LIMIT);
    CU_ASSERT_EQUAL(b.len, 2);
    CU_ASSERT_EQUAL(hs_base64_encode(&b, S("1")), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "abMQ==");
    hs_buf_free(&b);

    hs_buf_init(&b, 0);
    hs_alloc_fail_after(0);
    int rc = hs_base64_encode(&b, S("abc"));
    hs_alloc_fail_after(-1);
    CU_ASSERT_EQUAL(rc, HS_ERR_NOMEM);
    CU_ASSERT_EQUAL(b.len, 0);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ doubles */

/* Whether text reads back (strtod) as exactly the bits of d, the sign of zero included. */
static bool reads_back(const char *text, double d)
{
    char *end = NULL;
    double back = strtod(text, &end);
    return *end == '\0' && memcmp(&back, &d, sizeof d) == 0;
}

static void expect_fmt(double d, int min_prec, const char *want)
{
    char out[HS_FMT_DOUBLE_MAX];
    memset(out, 'x', sizeof out);
    size_t n = hs_fmt_double(d, min_prec, out);
    if (strcmp(out, want) != 0)
        fprintf(stderr, "\n  %.17g (min %d) -> %s, wanted %s\n", d, min_prec, out, want);
    CU_ASSERT_STRING_EQUAL(out, want);
    CU_ASSERT_EQUAL(n, strlen(want));
    if (isfinite(d))
        CU_ASSERT_TRUE(reads_back(out, d));
}

static void test_fmt_known_texts(void)
{
    expect_fmt(0.1, HS_FMT_SHORTEST, "0.1");
    expect_fmt(0.1 + 0.2, HS_FMT_SHORTEST, "0.30000000000000004");
    expect_fmt(1.0 / 3.0, HS_FMT_SHORTEST, "0.3333333333333333");
    expect_fmt(2.0, HS_FMT_SHORTEST, "2.0");
    expect_fmt(-3.0, HS_FMT_SHORTEST, "-3.0");
    expect_fmt(0.0, HS_FMT_SHORTEST, "0.0");
    expect_fmt(-0.0, HS_FMT_SHORTEST, "-0.0");
    expect_fmt(100.0, HS_FMT_SHORTEST, "1e+02");
    expect_fmt(123456.0, HS_FMT_SHORTEST, "123456.0");
    expect_fmt(1e21, HS_FMT_SHORTEST, "1e+21");
    expect_fmt(1e300, HS_FMT_SHORTEST, "1e+300");
    expect_fmt(9007199254740993.0, HS_FMT_SHORTEST, "9007199254740992.0");
    expect_fmt(DBL_MAX, HS_FMT_SHORTEST, "1.7976931348623157e+308");
    expect_fmt(-DBL_MAX, HS_FMT_SHORTEST, "-1.7976931348623157e+308");
    expect_fmt(DBL_MIN, HS_FMT_SHORTEST, "2.2250738585072014e-308");
    expect_fmt(5e-324, HS_FMT_SHORTEST, "5e-324");
    expect_fmt(-5e-324, HS_FMT_SHORTEST, "-5e-324");
    expect_fmt(2.225073858507201e-308, HS_FMT_SHORTEST, "2.225073858507201e-308");
    /* With 15 digits at least (the JSON encoder), fixed notation lasts up to 1e15. */
    expect_fmt(0.1, 15, "0.1");
    expect_fmt(100.0, 15, "100.0");
    expect_fmt(123000.0, 15, "123000.0");
    expect_fmt(1e14, 15, "100000000000000.0");
    expect_fmt(1e15, 15, "1e+15");
    expect_fmt(1e21, 15, "1e+21");
    expect_fmt(0.1 + 0.2, 15, "0.30000000000000004");
    expect_fmt(-0.0, 15, "-0.0");
    expect_fmt(5e-324, 15, "4.94065645841247e-324");
    /* The precision is clamped to 1..17. */
    expect_fmt(100.0, 0, "1e+02");
    expect_fmt(0.5, 40, "0.5");
    /* Non-finite values as printf writes them. */
    expect_fmt(INFINITY, HS_FMT_SHORTEST, "inf");
    expect_fmt(-INFINITY, 15, "-inf");
    expect_fmt(NAN, HS_FMT_SHORTEST, "nan");
}

/* A deterministic spread of bit patterns: every exponent, subnormals, random mantissas. */
static void test_fmt_round_trips(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    size_t failures = 0, longest = 0;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t bits = x;
        if (i % 4 == 0)
            bits &= 0x800fffffffffffffULL; /* subnormal or zero */
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d))
            continue;
        for (int prec = 1; prec <= 17; prec += 14) {
            char out[HS_FMT_DOUBLE_MAX];
            size_t n = hs_fmt_double(d, prec, out);
            if (n != strlen(out) || !reads_back(out, d) || strpbrk(out, ".e") == NULL)
                failures++;
            if (n > longest)
                longest = n;
        }
    }
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_TRUE(longest < HS_FMT_DOUBLE_MAX);
}

static void expect_digits(double d, const char *want, int want_exp)
{
    char digits[HS_FMT_DIGITS_MAX];
    int exp10 = 99;
    size_t n = hs_fmt_double_digits(d, digits, &exp10);
    CU_ASSERT_STRING_EQUAL(digits, want);
    CU_ASSERT_EQUAL(n, strlen(want));
    CU_ASSERT_EQUAL(exp10, want_exp);
    /* "D.DDDe<exp10>" with the sign reads back as d. */
    char text[64];
    snprintf(text, sizeof text, "%s%c.%se%d", signbit(d) ? "-" : "", digits[0], digits + 1, exp10);
    CU_ASSERT_TRUE(reads_back(text, d));
}

static void test_fmt_digits(void)
{
    expect_digits(0.1, "1", -1);
    expect_digits(123.45, "12345", 2);
    expect_digits(0.0, "0", 0);
    expect_digits(-0.0, "0", 0);
    expect_digits(-2.5, "25", 0);
    expect_digits(1e300, "1", 300);
    expect_digits(5e-324, "5", -324);
    expect_digits(0.1 + 0.2, "30000000000000004", -1);
    expect_digits(DBL_MAX, "17976931348623157", 308);
    char digits[HS_FMT_DIGITS_MAX];
    int exp10 = 5;
    CU_ASSERT_EQUAL(hs_fmt_double_digits(INFINITY, digits, &exp10), 0);
    CU_ASSERT_STRING_EQUAL(digits, "");
    CU_ASSERT_EQUAL(hs_fmt_double_digits(NAN, digits, &exp10), 0);
}

/*
 * A long error with quotes, backslashes and multi-byte UTF-8, cut to every
 * buffer size: the result is well-formed UTF-8, a prefix of the text made of
 * whole characters, ends with "…" when cut, and goes through the progress
 * message's JSON (escaped after the cut) unchanged.
 */
static void test_utf8_cut_long_error(void)
{
    char text[1200];
    size_t n = 0;
    while (n + 40 < sizeof text)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "or \"lua: <s>\" \\ é€😀 range, \\\"q\\\" \\u00e9 ");
    CU_ASSERT_TRUE(hs_utf8_valid(text, n));
    char cut[300];
    size_t seen_cut = 0;
    for (size_t size = 4; size <= sizeof cut; size++) {
        bool was_cut = hs_utf8_cut(cut, size, text);
        size_t len = strlen(cut);
        CU_ASSERT_TRUE(was_cut);
        CU_ASSERT_TRUE(len < size);
        CU_ASSERT_TRUE(hs_utf8_valid(cut, len));
        CU_ASSERT_TRUE(len >= 3 && memcmp(cut + len - 3, "\xe2\x80\xa6", 3) == 0);
        /* The part before the ellipsis is the start of the text, on a character boundary. */
        CU_ASSERT_EQUAL(memcmp(cut, text, len - 3), 0);
        CU_ASSERT_TRUE(hs_utf8_valid(text, len - 3));
        /* At most one character (4 bytes), or one escape (6), less than would fit. */
        CU_ASSERT_TRUE(len - 3 + 6 > size - 1 - 3);
        /* Never ends inside a backslash escape: the kept text ends on an even run of them. */
        size_t run = 0;
        while (run < len - 3 && cut[len - 4 - run] == '\\')
            run++;
        CU_ASSERT_EQUAL(run % 2, 0);
        hs_proto_progress p = {
            .request = "r", .workflow = "w", .state = HS_REQ_FAILED, .error = cut};
        hs_buf b;
        hs_buf_init(&b, 0);
        CU_ASSERT_EQUAL(hs_proto_progress_encode(&b, &p), HS_OK);
        hs_proto_progress_msg m;
        CU_ASSERT_EQUAL(hs_proto_progress_decode(&m, (const char *)b.data, b.len), HS_OK);
        CU_ASSERT_STRING_EQUAL(m.p.error, cut);
        hs_proto_progress_msg_free(&m);
        hs_buf_free(&b);
        seen_cut++;
    }
    CU_ASSERT_EQUAL(seen_cut, sizeof cut - 3);
    /* A \uXXXX escape is kept whole or not at all. */
    hs_utf8_cut(cut, 12, "abcd\\u00e9xyz");
    CU_ASSERT_STRING_EQUAL(cut, "abcd\xe2\x80\xa6");
    hs_utf8_cut(cut, 14, "abcd\\u00e9xyz...");
    CU_ASSERT_STRING_EQUAL(cut, "abcd\\u00e9\xe2\x80\xa6");
    hs_utf8_cut(cut, 10, "abcd\\\\xyz...");
    CU_ASSERT_STRING_EQUAL(cut, "abcd\\\\\xe2\x80\xa6");
    /* A text that fits is copied as it is. */
    CU_ASSERT_FALSE(hs_utf8_cut(cut, sizeof cut, "short \"x\" \\ é"));
    CU_ASSERT_STRING_EQUAL(cut, "short \"x\" \\ é");
    /* The error detail is cut the same way. */
    hs_err_set(HS_ERR_TOOL, "%s", text);
    const char *d = hs_err_detail();
    CU_ASSERT_TRUE(hs_utf8_valid(d, strlen(d)));
    CU_ASSERT_TRUE(strlen(d) > 400 && memcmp(d + strlen(d) - 3, "\xe2\x80\xa6", 3) == 0);
    CU_ASSERT_EQUAL(memcmp(d, text, strlen(d) - 3), 0);
}

/* Edit distance: each kind of edit counts one, a swap of neighbours too; cut off past limit. */
static void test_text_distance(void)
{
    CU_ASSERT_EQUAL(hs_text_distance("get", 3, "get", 3, 2), 0);
    CU_ASSERT_EQUAL(hs_text_distance("gett", 4, "get", 3, 2), 1); /* insertion */
    CU_ASSERT_EQUAL(hs_text_distance("gt", 2, "get", 3, 2), 1);   /* deletion */
    CU_ASSERT_EQUAL(hs_text_distance("maxx", 4, "max", 3, 2), 1);
    CU_ASSERT_EQUAL(hs_text_distance("mean", 4, "maen", 4, 2), 1); /* swap */
    CU_ASSERT_EQUAL(hs_text_distance("tumblin", 7, "tumbling", 8, 2), 1);
    CU_ASSERT_EQUAL(hs_text_distance("kitten", 6, "sitting", 7, 8), 3); /* the textbook pair */
    CU_ASSERT_EQUAL(hs_text_distance("kitten", 6, "sitting", 7, 2), 3); /* past limit: limit+1 */
    CU_ASSERT_EQUAL(hs_text_distance("", 0, "abc", 3, 8), 3);
    char longw[80];
    memset(longw, 'a', sizeof longw);
    CU_ASSERT_EQUAL(hs_text_distance(longw, 80, longw, 80, 4), 5); /* too long to compare */
    /* The suggestion of tool parameters is made of it. */
    const char *const words[] = {"ls", "get", "intervals", "invalidate", "purge"};
    CU_ASSERT_STRING_EQUAL(hs_tool_suggest("gett", 4, words, 5), "get");
    CU_ASSERT_PTR_NULL(hs_tool_suggest("zzz", 3, words, 5));
}

HS_TEST_INIT(text)
{
    HS_TEST_SUITE_BEGIN("text");
    HS_TEST(test_fnv_known_vectors);
    HS_TEST(test_fnv_forms_agree);
    HS_TEST(test_utf8_valid_sequences);
    HS_TEST(test_utf8_invalid_sequences);
    HS_TEST(test_utf8_every_code_point);
    HS_TEST(test_utf8_cut_long_error);
    HS_TEST(test_text_distance);
    HS_TEST(test_base64_rfc4648_vectors);
    HS_TEST(test_base64_round_trips);
    HS_TEST(test_base64_rejects_bad_input);
    HS_TEST(test_base64_buffer_failures_leave_output);
    HS_TEST(test_fmt_known_texts);
    HS_TEST(test_fmt_round_trips);
    HS_TEST(test_fmt_digits);
    return 0;
}
