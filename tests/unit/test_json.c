/*
 * Tests of hs_json: the JSON -> msgpack transcoder (strict RFC 8259, UTF-8,
 * depth, numbers), the reader API, and the msgpack -> JSON writer.
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) (x), (sizeof(x) - 1) /* a literal with its length, embedded NULs included */

/* Transcodes text into out (reset first). */
static int j2m(const char *text, size_t len, hs_buf *out)
{
    hs_buf_reset(out);
    return hs_json_to_mpack(text, len, out);
}

static int j2m_s(const char *text, hs_buf *out)
{
    return j2m(text, strlen(text), out);
}

/* True when out holds exactly the bytes of want. */
static bool same(const hs_buf *out, const hs_buf *want)
{
    return out->len == want->len &&
           (want->len == 0 || memcmp(out->data, want->data, want->len) == 0);
}

/* Writes the msgpack in m as JSON text into out (reset first). */
static int m2j(const uint8_t *m, size_t len, hs_buf *out)
{
    hs_mp_reader r;
    hs_mp_reader_init(&r, m, len);
    hs_buf_reset(out);
    int rc = hs_json_from_mpack(&r, out);
    if (rc == HS_OK && !hs_mp_at_end(&r))
        return HS_ERR_PARSE;
    return rc;
}

/* JSON text -> msgpack -> JSON text equals want. */
static void check_text(const char *in, const char *want)
{
    hs_buf m, j;
    hs_buf_init(&m, 0);
    hs_buf_init(&j, 0);
    int rc = j2m_s(in, &m);
    CU_ASSERT_EQUAL(rc, HS_OK);
    if (rc == HS_OK) {
        CU_ASSERT_EQUAL(m2j(m.data, m.len, &j), HS_OK);
        if (strcmp(hs_buf_cstr(&j), want) != 0)
            fprintf(stderr, "\n  %s -> %s, wanted %s\n", in, hs_buf_cstr(&j), want);
        CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j), want);
    } else {
        fprintf(stderr, "\n  %s rejected: %s\n", in, hs_err_detail());
    }
    hs_buf_free(&m);
    hs_buf_free(&j);
}

/* The text is rejected with HS_ERR_PARSE, out is unchanged, and the detail names a byte offset. */
static void check_rejected_n(const char *in, size_t len)
{
    hs_buf m;
    hs_buf_init(&m, 0);
    hs_buf_puts(&m, "keep");
    hs_err_clear();
    int rc = hs_json_to_mpack(in, len, &m);
    if (rc != HS_ERR_PARSE)
        fprintf(stderr, "\n  accepted: %.*s\n", (int)len, in);
    CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
    CU_ASSERT_EQUAL(m.len, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "at byte "));
    hs_buf_free(&m);
}

static void check_rejected(const char *in)
{
    check_rejected_n(in, strlen(in));
}

static void test_scalars(void)
{
    hs_buf out, want;
    hs_buf_init(&out, 0);
    hs_buf_init(&want, 0);

    CU_ASSERT_EQUAL(j2m_s("null", &out), HS_OK);
    hs_mp_put_nil(&want);
    CU_ASSERT_TRUE(same(&out, &want));

    hs_buf_reset(&want);
    CU_ASSERT_EQUAL(j2m_s(" true ", &out), HS_OK);
    hs_mp_put_bool(&want, true);
    CU_ASSERT_TRUE(same(&out, &want));

    hs_buf_reset(&want);
    CU_ASSERT_EQUAL(j2m_s("\t\r\nfalse\n", &out), HS_OK);
    hs_mp_put_bool(&want, false);
    CU_ASSERT_TRUE(same(&out, &want));

    hs_buf_reset(&want);
    CU_ASSERT_EQUAL(j2m_s("\"kitchen\"", &out), HS_OK);
    hs_mp_put_cstr(&want, "kitchen");
    CU_ASSERT_TRUE(same(&out, &want));

    hs_buf_reset(&want);
    CU_ASSERT_EQUAL(j2m_s("\"\"", &out), HS_OK);
    hs_mp_put_str(&want, "", 0);
    CU_ASSERT_TRUE(same(&out, &want));
    hs_buf_free(&out);
    hs_buf_free(&want);
}

static void test_integers(void)
{
    static const struct {
        const char *text;
        int64_t v;
    } ints[] = {
        {"0", 0},
        {"-0", 0},
        {"1", 1},
        {"-1", -1},
        {"-32", -32},
        {"-33", -33},
        {"127", 127},
        {"128", 128},
        {"255", 255},
        {"256", 256},
        {"-128", -128},
        {"-129", -129},
        {"65535", 65535},
        {"65536", 65536},
        {"-32768", -32768},
        {"-32769", -32769},
        {"4294967295", 4294967295LL},
        {"4294967296", 4294967296LL},
        {"-2147483648", -2147483648LL},
        {"-2147483649", -2147483649LL},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
    };
    hs_buf out, want;
    hs_buf_init(&out, 0);
    hs_buf_init(&want, 0);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        hs_buf_reset(&want);
        hs_mp_put_int(&want, ints[i].v);
        CU_ASSERT_EQUAL(j2m_s(ints[i].text, &out), HS_OK);
        CU_ASSERT_TRUE(same(&out, &want));
    }
    /* Above INT64_MAX but within uint64: uint. */
    hs_buf_reset(&want);
    hs_mp_put_uint(&want, UINT64_MAX);
    CU_ASSERT_EQUAL(j2m_s("18446744073709551615", &out), HS_OK);
    CU_ASSERT_TRUE(same(&out, &want));
    hs_buf_reset(&want);
    hs_mp_put_uint(&want, 9223372036854775808ULL);
    CU_ASSERT_EQUAL(j2m_s("9223372036854775808", &out), HS_OK);
    CU_ASSERT_TRUE(same(&out, &want));
    /* Beyond uint64, or below INT64_MIN: double. */
    hs_buf_reset(&want);
    hs_mp_put_double(&want, 18446744073709551616.0);
    CU_ASSERT_EQUAL(j2m_s("18446744073709551616", &out), HS_OK);
    CU_ASSERT_TRUE(same(&out, &want));
    hs_buf_reset(&want);
    hs_mp_put_double(&want, -9223372036854775809.0);
    CU_ASSERT_EQUAL(j2m_s("-9223372036854775809", &out), HS_OK);
    CU_ASSERT_TRUE(same(&out, &want));
    hs_buf_reset(&want);
    hs_mp_put_double(&want, 1e30);
    CU_ASSERT_EQUAL(j2m_s("1000000000000000000000000000000", &out), HS_OK);
    CU_ASSERT_TRUE(same(&out, &want));
    hs_buf_free(&out);
    hs_buf_free(&want);
}

static void test_canonical_reader_makes_big_uints_floats(void)
{
    hs_buf out, want;
    hs_buf_init(&out, 0);
    hs_buf_init(&want, 0);
    hs_json_reader r;
    hs_json_reader_init(&r, S("[18446744073709551615, 9223372036854775807]"));
    r.canonical = true;
    CU_ASSERT_EQUAL(hs_json_value_to_mpack(&r, &out), HS_OK);
    hs_mp_put_array(&want, 2);
    hs_mp_put_double(&want, 18446744073709551615.0);
    hs_mp_put_int(&want, INT64_MAX);
    CU_ASSERT_TRUE(same(&out, &want));
    hs_buf_free(&out);
    hs_buf_free(&want);
}

static void test_doubles(void)
{
    static const struct {
        const char *text;
        double v;
    } dbl[] = {
        {"1.5", 1.5},         {"-0.0", -0.0},
        {"21.5", 21.5},       {"1e10", 1e10},
        {"1E-3", 1e-3},       {"0.1", 0.1},
        {"-2.5e+3", -2500.0}, {"1.0", 1.0},
        {"0e0", 0.0},         {"123456789.123456789", 123456789.123456789},
        {"1e-400", 0.0}, /* underflow gives zero */
    };
    hs_buf out, want;
    hs_buf_init(&out, 0);
    hs_buf_init(&want, 0);
    for (size_t i = 0; i < sizeof dbl / sizeof dbl[0]; i++) {
        hs_buf_reset(&want);
        hs_mp_put_double(&want, dbl[i].v);
        CU_ASSERT_EQUAL(j2m_s(dbl[i].text, &out), HS_OK);
        CU_ASSERT_TRUE(same(&out, &want));
    }
    /* The sign of -0.0 survives. */
    CU_ASSERT_EQUAL(j2m_s("-0.0", &out), HS_OK);
    hs_mp_reader r;
    double d = 1;
    hs_mp_reader_init(&r, out.data, out.len);
    CU_ASSERT_EQUAL(hs_mp_get_number(&r, &d), HS_OK);
    CU_ASSERT_TRUE(d == 0.0 && signbit(d));
    hs_buf_free(&out);
    hs_buf_free(&want);
}

static void test_number_limits(void)
{
    char num[160];
    hs_buf out;
    hs_buf_init(&out, 0);
    /* 100 characters: accepted (as a double, being far above uint64). */
    memset(num, '9', 100);
    num[100] = '\0';
    CU_ASSERT_EQUAL(j2m_s(num, &out), HS_OK);
    /* 101 characters: rejected with a clear message. */
    memset(num, '9', 101);
    num[101] = '\0';
    CU_ASSERT_EQUAL(j2m_s(num, &out), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "longer than 100"));
    /* Overflowing a double is rejected. */
    CU_ASSERT_EQUAL(j2m_s("1e400", &out), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "out of the range"));
    CU_ASSERT_EQUAL(j2m_s("-1e309", &out), HS_ERR_PARSE);
    hs_buf_free(&out);
}

static void test_rfc_strictness(void)
{
    static const char *bad[] = {
        "",
        "   ",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "+1",
        "01",
        "-01",
        "00",
        "1.",
        ".5",
        "1.e5",
        "1e",
        "1e+",
        "-",
        "- 1",
        "0x10",
        "[1,]",
        "[1,2,]",
        "{\"a\":1,}",
        "[,1]",
        "[1 2]",
        "{\"a\" 1}",
        "{a:1}",
        "{'a':1}",
        "'str'",
        "[1] x",
        "1 2",
        "tru",
        "truex",
        "nul",
        "falsy",
        "True",
        "[",
        "{",
        "]",
        "}",
        "{\"a\"}",
        "{\"a\":}",
        "{,}",
        "[1,,2]",
        "// c\n1",
        "/* c */ 1",
        "1 // c",
        "\"abc",
        "\"\\\"",
        "[\"a\"",
        "{\"a\":1",
        "\xef\xbb\xbf"
        "1",
        "\"\\x41\"",
        "\"\\u12\"",
        "\"\\u12G4\"",
        "\"\\U0041\"",
        "{1:2}",
        "{\"a\":1 \"b\":2}",
        "[1]]",
        "{}}",
        "\v1",
        "\f1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_rejected(bad[i]);
    /* An embedded NUL is not whitespace. */
    check_rejected_n(S("1\0"));
    check_rejected_n(S("[1,\0 2]"));
    check_rejected("[1,]");
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "trailing comma"));
}

static void test_error_detail_has_offset(void)
{
    hs_buf out;
    hs_buf_init(&out, 0);
    CU_ASSERT_EQUAL(j2m_s("[1, 2, x]", &out), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(),
                           "json: unexpected character 'x', expected a value at byte 7");
    CU_ASSERT_EQUAL(j2m_s("{\"a\": NaN}", &out), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "at byte 6"));
    CU_ASSERT_EQUAL(j2m_s("\"ab\xff\"", &out), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "json: invalid UTF-8 in string at byte 3");
    CU_ASSERT_EQUAL(j2m_s("[1", &out), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(),
                           "json: unexpected end of input, expected ',' or ']' at byte 2");
    hs_buf_free(&out);
}

static void test_escapes(void)
{
    hs_buf out, want;
    hs_buf_init(&out, 0);
    hs_buf_init(&want, 0);
    CU_ASSERT_EQUAL(j2m_s("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", &out), HS_OK);
    hs_mp_put_cstr(&want, "\"\\/\b\f\n\r\t");
    CU_ASSERT_TRUE(same(&out, &want));

    hs_buf_reset(&want);
    CU_ASSERT_EQUAL(j2m_s("\"a\\u0000b\"", &out), HS_OK);
    hs_mp_put_str(&want, "a\0b", 3);
    CU_ASSERT_TRUE(same(&out, &want));

    hs_buf_reset(&want);
    CU_ASSERT_EQUAL(j2m_s("\"\\u00e9\\u00E9\\u20AC\\uffff\"", &out), HS_OK);
    hs_mp_put_cstr(&want, "\xc3\xa9\xc3\xa9\xe2\x82\xac\xef\xbf\xbf");
    CU_ASSERT_TRUE(same(&out, &want));

    /* A surrogate pair is joined into one 4-byte sequence (U+1F600). */
    hs_buf_reset(&want);
    CU_ASSERT_EQUAL(j2m_s("\"\\uD83D\\uDE00\"", &out), HS_OK);
    hs_mp_put_cstr(&want, "\xf0\x9f\x98\x80");
    CU_ASSERT_TRUE(same(&out, &want));
    hs_buf_reset(&want);
    CU_ASSERT_EQUAL(j2m_s("\"\\udbff\\udfff\"", &out), HS_OK);
    hs_mp_put_cstr(&want, "\xf4\x8f\xbf\xbf");
    CU_ASSERT_TRUE(same(&out, &want));

    /* Lone or misordered surrogates. */
    check_rejected("\"\\uD83D\"");
    check_rejected("\"\\uD83Dx\"");
    check_rejected("\"\\uD83D\\u0041\"");
    check_rejected("\"\\uDE00\"");
    check_rejected("\"\\uDE00\\uD83D\"");
    check_rejected("\"\\uD83D\\uD83D\"");
    check_rejected("\"\\uD83D\\");
    check_rejected("\"\\");
    check_rejected("\"\\u");
    /* Raw control characters must be escaped; DEL need not. */
    check_rejected("\"a\nb\"");
    check_rejected("\"\t\"");
    check_rejected_n(S("\"\0\""));
    CU_ASSERT_EQUAL(j2m_s("\"\x7f\"", &out), HS_OK);
    /* Written: U+2028, U+2029 and U+0085 (line breaks to YAML 1.1 and JavaScript) are escaped. */
    hs_buf_reset(&out);
    CU_ASSERT_EQUAL(hs_json_put_string(&out, S("a\xe2\x80\xa8"
                                               "b\xe2\x80\xa9"
                                               "c\xc2\x85"
                                               "d\xe2\x82\xac")),
                    HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out), "\"a\\u2028b\\u2029c\\u0085d\xe2\x82\xac\"");
    /* So are DEL, the other C1 controls, the byte order mark and U+FFFE/U+FFFF. */
    hs_buf_reset(&out);
    CU_ASSERT_EQUAL(hs_json_put_string(&out, S("\x7f"
                                               "\xc2\x9f"
                                               "\xef\xbb\xbf"
                                               "\xef\xbf\xbe"
                                               "\xc2\xa0")),
                    HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out), "\"\\u007f\\u009f\\ufeff\\ufffe\xc2\xa0\"");
    hs_buf_free(&out);
    hs_buf_free(&want);
}

static void test_utf8_validation(void)
{
    hs_buf out;
    hs_buf_init(&out, 0);
    static const char *good[] = {
        "\"\xc2\x80\"",
        "\"\xdf\xbf\"",
        "\"\xe0\xa0\x80\"",
        "\"\xed\x9f\xbf\"",
        "\"\xee\x80\x80\"",
        "\"\xef\xbf\xbf\"",
        "\"\xf0\x90\x80\x80\"",
        "\"\xf4\x8f\xbf\xbf\"",
        "\"h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac\"",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CU_ASSERT_EQUAL(j2m_s(good[i], &out), HS_OK);
    static const char *bad[] = {
        "\"\x80\"",                 /* lone continuation byte */
        "\"\xbf\"",                 /* lone continuation byte */
        "\"\xc0\x80\"",             /* overlong NUL */
        "\"\xc1\xbf\"",             /* overlong */
        "\"\xe0\x80\x80\"",         /* overlong 3-byte */
        "\"\xe0\x9f\xbf\"",         /* overlong 3-byte */
        "\"\xf0\x80\x80\x80\"",     /* overlong 4-byte */
        "\"\xf0\x8f\xbf\xbf\"",     /* overlong 4-byte */
        "\"\xed\xa0\x80\"",         /* UTF-8 encoded high surrogate */
        "\"\xed\xbf\xbf\"",         /* UTF-8 encoded low surrogate */
        "\"\xf4\x90\x80\x80\"",     /* above U+10FFFF */
        "\"\xf5\x80\x80\x80\"",     /* lead byte above F4 */
        "\"\xf8\x88\x80\x80\x80\"", /* five-byte form */
        "\"\xff\"",
        "\"\xfe\"",
        "\"\xc3\"",         /* truncated */
        "\"\xe2\x82\"",     /* truncated */
        "\"\xf0\x9f\x98\"", /* truncated */
        "\"\xc3\x28\"",     /* bad continuation */
        "\"\xe2\x28\xa1\"", /* bad continuation */
        "\xc3\xa9",         /* non-ASCII outside a string */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_rejected(bad[i]);
    /* Keys are strings too. */
    check_rejected("{\"\xc0\x80\":1}");

    hs_buf_free(&out);
}

static void test_containers_and_sizes(void)
{
    hs_buf out, want, text;
    hs_buf_init(&out, 0);
    hs_buf_init(&want, 0);
    hs_buf_init(&text, 0);

    CU_ASSERT_EQUAL(j2m_s("{\"a\":[1,{\"b\":null}],\"c\":\"d\",\"e\":{}}", &out), HS_OK);
    hs_mp_put_map(&want, 3);
    hs_mp_put_cstr(&want, "a");
    hs_mp_put_array(&want, 2);
    hs_mp_put_int(&want, 1);
    hs_mp_put_map(&want, 1);
    hs_mp_put_cstr(&want, "b");
    hs_mp_put_nil(&want);
    hs_mp_put_cstr(&want, "c");
    hs_mp_put_cstr(&want, "d");
    hs_mp_put_cstr(&want, "e");
    hs_mp_put_map(&want, 0);
    CU_ASSERT_TRUE(same(&out, &want));

    /* Array and string headers at every size boundary match msgpack-c's. */
    static const uint32_t sizes[] = {0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536, 70000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint32_t n = sizes[k];
        /* [0,0,...] with n items, nested inside [true, <that>, "x"] */
        hs_buf_reset(&text);
        hs_buf_puts(&text, "[true,[");
        for (uint32_t i = 0; i < n; i++)
            hs_buf_puts(&text, i ? ",0" : "0");
        hs_buf_puts(&text, "],\"x\"]");
        hs_buf_reset(&want);
        hs_mp_put_array(&want, 3);
        hs_mp_put_bool(&want, true);
        hs_mp_put_array(&want, n);
        for (uint32_t i = 0; i < n; i++)
            hs_mp_put_int(&want, 0);
        hs_mp_put_cstr(&want, "x");
        CU_ASSERT_EQUAL(j2m((const char *)text.data, text.len, &out), HS_OK);
        CU_ASSERT_TRUE(same(&out, &want));

        /* {"k0":0,...} with n members */
        hs_buf_reset(&text);
        hs_buf_puts(&text, "{");
        hs_buf_reset(&want);
        hs_mp_put_map(&want, n);
        for (uint32_t i = 0; i < n; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%u", (unsigned)i);
            hs_buf_printf(&text, "%s\"%s\":%u", i ? "," : "", key, (unsigned)(i % 200));
            hs_mp_put_cstr(&want, key);
            hs_mp_put_int(&want, i % 200);
        }
        hs_buf_puts(&text, "}");
        CU_ASSERT_EQUAL(j2m((const char *)text.data, text.len, &out), HS_OK);
        CU_ASSERT_TRUE(same(&out, &want));

        /* A string of n bytes, one escape in it to take the slow path. */
        char *s = malloc(n + 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        memset(s, 'a', n);
        hs_buf_reset(&text);
        hs_buf_puts(&text, "\"");
        if (n > 0) {
            hs_buf_append(&text, s, n - 1);
            hs_buf_puts(&text, "\\u0062");
            s[n - 1] = 'b';
        }
        hs_buf_puts(&text, "\"");
        hs_buf_reset(&want);
        hs_mp_put_str(&want, s, n);
        CU_ASSERT_EQUAL(j2m((const char *)text.data, text.len, &out), HS_OK);
        CU_ASSERT_TRUE(same(&out, &want));
        free(s);
    }
    hs_buf_free(&out);
    hs_buf_free(&want);
    hs_buf_free(&text);
}

/* n nested arrays (open) or objects {"a": ...} around 1. */
static void nested(hs_buf *text, int n, bool objects)
{
    hs_buf_reset(text);
    for (int i = 0; i < n; i++)
        hs_buf_puts(text, objects ? "{\"a\":" : "[");
    hs_buf_puts(text, "1");
    for (int i = 0; i < n; i++)
        hs_buf_puts(text, objects ? "}" : "]");
}

static void test_depth_limit(void)
{
    hs_buf text, out, json;
    hs_buf_init(&text, 0);
    hs_buf_init(&out, 0);
    hs_buf_init(&json, 0);
    for (int objects = 0; objects < 2; objects++) {
        nested(&text, HS_MP_MAX_DEPTH, objects);
        CU_ASSERT_EQUAL(j2m((const char *)text.data, text.len, &out), HS_OK);
        /* ... and it writes back the same text */
        CU_ASSERT_EQUAL(m2j(out.data, out.len, &json), HS_OK);
        CU_ASSERT_TRUE(same(&json, &text));
        nested(&text, HS_MP_MAX_DEPTH + 1, objects);
        CU_ASSERT_EQUAL(j2m((const char *)text.data, text.len, &out), HS_ERR_PARSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "nesting deeper than 64"));
    }
    /* An empty container at depth 65 counts too. */
    hs_buf_reset(&text);
    for (int i = 0; i < HS_MP_MAX_DEPTH + 1; i++)
        hs_buf_puts(&text, "[");
    for (int i = 0; i < HS_MP_MAX_DEPTH + 1; i++)
        hs_buf_puts(&text, "]");
    CU_ASSERT_EQUAL(j2m((const char *)text.data, text.len, &out), HS_ERR_PARSE);
    /* Very deep input is rejected without deep recursion. */
    hs_buf_reset(&text);
    for (int i = 0; i < 1000000; i++)
        hs_buf_putc(&text, '[');
    CU_ASSERT_EQUAL(j2m((const char *)text.data, text.len, &out), HS_ERR_PARSE);

    /* The writer enforces the same limit on msgpack input. */
    hs_buf_reset(&out);
    for (int i = 0; i < HS_MP_MAX_DEPTH; i++)
        hs_mp_put_array(&out, 1);
    hs_mp_put_nil(&out);
    CU_ASSERT_EQUAL(m2j(out.data, out.len, &json), HS_OK);
    hs_buf_reset(&out);
    for (int i = 0; i < HS_MP_MAX_DEPTH + 1; i++)
        hs_mp_put_map(&out, 1), hs_mp_put_cstr(&out, "k");
    hs_mp_put_nil(&out);
    hs_buf_puts(&json, "keep");
    size_t keep = json.len;
    hs_mp_reader r;
    hs_mp_reader_init(&r, out.data, out.len);
    CU_ASSERT_EQUAL(hs_json_from_mpack(&r, &json), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(json.len, keep);
    CU_ASSERT_PTR_EQUAL(r.p, out.data);
    hs_buf_free(&text);
    hs_buf_free(&out);
    hs_buf_free(&json);
}

static void test_every_truncation_rejected(void)
{
    static const char doc[] = "{\"t\": \"2016-04-28T20:00:00Z\", \"v\": [1, -2.5e3, true, null, "
                              "\"h\\u00e9\\uD83D\\uDE00\xc3\xa9\", {\"a\": {}}, []]}";
    hs_buf out;
    hs_buf_init(&out, 0);
    CU_ASSERT_EQUAL(j2m(doc, sizeof doc - 1, &out), HS_OK);
    for (size_t cut = 0; cut < sizeof doc - 1; cut++) {
        hs_buf_reset(&out);
        int rc = hs_json_to_mpack(doc, cut, &out);
        CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
        CU_ASSERT_EQUAL(out.len, 0);
    }
    hs_buf_free(&out);
}

static void test_writer_numbers(void)
{
    static const struct {
        double v;
        const char *text;
    } dbl[] = {
        {21.5, "21.5"},
        {100.0, "100.0"},
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {0.1, "0.1"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e300, "1e+300"},
        {1e15, "1e+15"},
        {123456789012.0, "123456789012.0"},
        {-1.5e-7, "-1.5e-07"},
        {5e-324, "4.94065645841247e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
    };
    hs_buf m, j;
    hs_buf_init(&m, 0);
    hs_buf_init(&j, 0);
    for (size_t i = 0; i < sizeof dbl / sizeof dbl[0]; i++) {
        hs_buf_reset(&m);
        hs_mp_put_double(&m, dbl[i].v);
        CU_ASSERT_EQUAL(m2j(m.data, m.len, &j), HS_OK);
        if (strcmp(hs_buf_cstr(&j), dbl[i].text) != 0)
            fprintf(stderr, "\n  %.17g -> %s, wanted %s\n", dbl[i].v, hs_buf_cstr(&j), dbl[i].text);
        CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j), dbl[i].text);
        /* It reads back to the same double. */
        hs_buf back;
        hs_buf_init(&back, 0);
        CU_ASSERT_EQUAL(j2m((const char *)j.data, j.len, &back), HS_OK);
        CU_ASSERT_TRUE(same(&back, &m));
        hs_buf_free(&back);
    }
    /* NaN and infinities have no JSON form. */
    const double nonfinite[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        hs_buf_reset(&m);
        hs_mp_put_double(&m, nonfinite[i]);
        CU_ASSERT_EQUAL(m2j(m.data, m.len, &j), HS_OK);
        CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j), "null");
    }
    /* float32 2.5 */
    static const uint8_t f32[] = {0xca, 0x40, 0x20, 0x00, 0x00};
    CU_ASSERT_EQUAL(m2j(f32, sizeof f32, &j), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j), "2.5");
    /* Integers of every width, including non-smallest encodings. */
    hs_buf_reset(&m);
    hs_mp_put_array(&m, 6);
    hs_mp_put_int(&m, INT64_MIN);
    hs_mp_put_int(&m, INT64_MAX);
    hs_mp_put_uint(&m, UINT64_MAX);
    hs_mp_put_int(&m, -1);
    hs_mp_put_int(&m, 0);
    static const uint8_t i16[] = {0xd1, 0x00, 0x05};
    hs_buf_append(&m, i16, sizeof i16);
    CU_ASSERT_EQUAL(m2j(m.data, m.len, &j), HS_OK);
    CU_ASSERT_STRING_EQUAL(
        hs_buf_cstr(&j), "[-9223372036854775808,9223372036854775807,18446744073709551615,-1,0,5]");
    hs_buf_free(&m);
    hs_buf_free(&j);
}

static void test_writer_strings_bin_keys(void)
{
    hs_buf m, j;
    hs_buf_init(&m, 0);
    hs_buf_init(&j, 0);
    /* Escapes, and invalid UTF-8 replaced by U+FFFD. */
    hs_mp_put_str(&m, "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f\xc3\xa9\xff|\xed\xa0\x80", 21);
    CU_ASSERT_EQUAL(m2j(m.data, m.len, &j), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j),
                           "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\xc3\xa9"
                           "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    /* bin as base64 (RFC 4648 test vectors). */
    static const char *b64[] = {"\"\"",         "\"Zg==\"",     "\"Zm8=\"",    "\"Zm9v\"",
                                "\"Zm9vYg==\"", "\"Zm9vYmE=\"", "\"Zm9vYmFy\""};
    for (size_t n = 0; n <= 6; n++) {
        hs_buf_reset(&m);
        hs_mp_put_bin(&m, "foobar", n);
        CU_ASSERT_EQUAL(m2j(m.data, m.len, &j), HS_OK);
        CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j), b64[n]);
    }
    /* Keys that are not strings are written as their JSON text, quoted. */
    hs_buf_reset(&m);
    hs_mp_put_map(&m, 5);
    hs_mp_put_int(&m, 1);
    hs_mp_put_cstr(&m, "one");
    hs_mp_put_bool(&m, true);
    hs_mp_put_nil(&m);
    hs_mp_put_double(&m, 1.5);
    hs_mp_put_int(&m, 2);
    hs_mp_put_bin(&m, "ab", 2);
    hs_mp_put_array(&m, 0);
    hs_mp_put_nil(&m);
    hs_mp_put_int(&m, 3);
    CU_ASSERT_EQUAL(m2j(m.data, m.len, &j), HS_OK);
    CU_ASSERT_STRING_EQUAL(
        hs_buf_cstr(&j), "{\"1\":\"one\",\"true\":null,\"1.5\":2,\"\\\"YWI=\\\"\":[],\"null\":3}");
    /* Container keys are rejected: quoting them level by level would grow exponentially. */
    hs_buf_reset(&m);
    hs_mp_put_map(&m, 1);
    hs_mp_put_array(&m, 1);
    hs_mp_put_int(&m, 1);
    hs_mp_put_nil(&m);
    CU_ASSERT_EQUAL(m2j(m.data, m.len, &j), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "map key is an array"));
    hs_buf_reset(&m);
    for (int i = 0; i < 60; i++)
        hs_mp_put_map(&m, 1);
    hs_mp_put_int(&m, 1);
    for (int i = 0; i < 60; i++)
        hs_mp_put_nil(&m);
    CU_ASSERT_EQUAL(m2j(m.data, m.len, &j), HS_ERR_PARSE);
    /* ext is rejected, at the top and nested. */
    static const uint8_t ext[] = {0xd4, 0x01, 0x00};
    static const uint8_t ext_nested[] = {0x92, 0x01, 0xc7, 0x01, 0x05, 0xaa};
    CU_ASSERT_EQUAL(m2j(ext, sizeof ext, &j), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(m2j(ext_nested, sizeof ext_nested, &j), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "ext"));
    /* Truncated msgpack is rejected at every cut, output unchanged. */
    hs_buf_reset(&m);
    hs_mp_put_map(&m, 2);
    hs_mp_put_cstr(&m, "temp");
    hs_mp_put_double(&m, 21.5);
    hs_mp_put_cstr(&m, "tags");
    hs_mp_put_array(&m, 2);
    hs_mp_put_bin(&m, "ab", 2);
    hs_mp_put_int(&m, 100000);
    CU_ASSERT_EQUAL(m2j(m.data, m.len, &j), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j), "{\"temp\":21.5,\"tags\":[\"YWI=\",100000]}");
    for (size_t cut = 0; cut < m.len; cut++) {
        hs_mp_reader r;
        hs_mp_reader_init(&r, m.data, cut);
        hs_buf_reset(&j);
        CU_ASSERT_EQUAL(hs_json_from_mpack(&r, &j), HS_ERR_PARSE);
        CU_ASSERT_EQUAL(j.len, 0);
    }
    hs_buf_free(&m);
    hs_buf_free(&j);
}

static void test_round_trips(void)
{
    check_text("  { \"a\" : [ 1 , 2.50 , -0 , 1E2 ] , \"b\" : { } }  ",
               "{\"a\":[1,2.5,0,100.0],\"b\":{}}");
    check_text("[\"\\u00e9\\ud83d\\ude00\\/\"]", "[\"\xc3\xa9\xf0\x9f\x98\x80/\"]");
    check_text("\"\\u0000\\u001F\\u007f\"", "\"\\u0000\\u001f\\u007f\"");
    check_text("18446744073709551615", "18446744073709551615");
    check_text("18446744073709551616", "1.8446744073709552e+19");
    check_text("-9223372036854775808", "-9223372036854775808");
    check_text("[true,false,null]", "[true,false,null]");
    check_text("0.1", "0.1");
    check_text("1e-400", "0.0");
    check_text("{\"\":\"\"}", "{\"\":\"\"}");
    check_text("{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":2}");
    /* A key given twice would make two different objects one value. */
    hs_buf dup;
    hs_buf_init(&dup, 0);
    CU_ASSERT_EQUAL(j2m_s("{\"a\":1,\"a\":2}", &dup), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(dup.len, 0);
    hs_buf_free(&dup);
    check_text("123456789012345678", "123456789012345678");
    check_text("1.5e300", "1.5e+300");
}

static void test_reader_walk(void)
{
    static const char doc[] = " { \"name\" : \"x\\ty\" , \"vals\" : [ 1 , -2.5e1 , [ ] ] , "
                              "\"skip\" : {\"deep\": [1, {\"a\": null}]} , \"n\" : 7 } ";
    hs_json_reader r;
    hs_json_reader_init(&r, S(doc));
    hs_buf key, s;
    hs_buf_init(&key, 0);
    hs_buf_init(&s, 0);
    bool done;
    CU_ASSERT_EQUAL(hs_json_peek(&r), HS_JSON_OBJECT);
    CU_ASSERT_EQUAL(hs_json_offset(&r), 1);
    CU_ASSERT_EQUAL(hs_json_object_begin(&r), HS_OK);
    CU_ASSERT_EQUAL(r.depth, 1);

    CU_ASSERT_EQUAL(hs_json_object_next_key(&r, &key, &done), HS_OK);
    CU_ASSERT_FALSE(done);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&key), "name");
    CU_ASSERT_EQUAL(hs_json_peek(&r), HS_JSON_STRING);
    CU_ASSERT_EQUAL(hs_json_get_string(&r, &s), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&s), "x\ty");

    CU_ASSERT_EQUAL(hs_json_object_next_key(&r, &key, &done), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&key), "vals");
    CU_ASSERT_EQUAL(hs_json_peek(&r), HS_JSON_ARRAY);
    CU_ASSERT_EQUAL(hs_json_array_begin(&r), HS_OK);
    CU_ASSERT_EQUAL(r.depth, 2);
    const char *num;
    size_t nlen;
    CU_ASSERT_EQUAL(hs_json_array_next_item(&r, &done), HS_OK);
    CU_ASSERT_FALSE(done);
    CU_ASSERT_EQUAL(hs_json_peek(&r), HS_JSON_NUMBER);
    CU_ASSERT_EQUAL(hs_json_get_number_text(&r, &num, &nlen), HS_OK);
    CU_ASSERT_EQUAL(nlen, 1);
    CU_ASSERT_EQUAL(num[0], '1');
    CU_ASSERT_EQUAL(hs_json_array_next_item(&r, &done), HS_OK);
    CU_ASSERT_EQUAL(hs_json_get_number_text(&r, &num, &nlen), HS_OK);
    CU_ASSERT_EQUAL(nlen, 6);
    CU_ASSERT_EQUAL(memcmp(num, "-2.5e1", 6), 0);
    CU_ASSERT_EQUAL(hs_json_array_next_item(&r, &done), HS_OK);
    CU_ASSERT_EQUAL(hs_json_array_begin(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_array_next_item(&r, &done), HS_OK);
    CU_ASSERT_TRUE(done); /* the empty inner array */
    CU_ASSERT_EQUAL(hs_json_array_next_item(&r, &done), HS_OK);
    CU_ASSERT_TRUE(done);
    CU_ASSERT_EQUAL(r.depth, 1);

    CU_ASSERT_EQUAL(hs_json_object_next_key(&r, &key, &done), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&key), "skip");
    CU_ASSERT_EQUAL(hs_json_skip(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_object_next_key(&r, &key, &done), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&key), "n");
    CU_ASSERT_EQUAL(hs_json_peek(&r), HS_JSON_NUMBER);
    hs_buf m;
    hs_buf_init(&m, 0);
    CU_ASSERT_EQUAL(hs_json_value_to_mpack(&r, &m), HS_OK);
    CU_ASSERT_EQUAL(m.len, 1);
    CU_ASSERT_EQUAL(m.data[0], 7);
    CU_ASSERT_EQUAL(hs_json_object_next_key(&r, &key, &done), HS_OK);
    CU_ASSERT_TRUE(done);
    CU_ASSERT_EQUAL(r.depth, 0);
    CU_ASSERT_EQUAL(hs_json_peek(&r), HS_JSON_END);
    CU_ASSERT_EQUAL(hs_json_expect_end(&r), HS_OK);
    hs_buf_free(&key);
    hs_buf_free(&s);
    hs_buf_free(&m);
}

static void test_reader_errors(void)
{
    hs_json_reader r;
    hs_buf key;
    hs_buf_init(&key, 0);
    bool done;
    /* Trailing comma in an object walked by hand. */
    hs_json_reader_init(&r, S("{\"a\":1,}"));
    CU_ASSERT_EQUAL(hs_json_object_begin(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_object_next_key(&r, &key, &done), HS_OK);
    CU_ASSERT_EQUAL(hs_json_skip(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_object_next_key(&r, &key, &done), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "trailing comma"));
    /* Trailing comma and missing comma in an array. */
    hs_json_reader_init(&r, S("[1,]"));
    CU_ASSERT_EQUAL(hs_json_array_begin(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_array_next_item(&r, &done), HS_OK);
    CU_ASSERT_EQUAL(hs_json_skip(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_array_next_item(&r, &done), HS_ERR_PARSE);
    hs_json_reader_init(&r, S("[1 2]"));
    CU_ASSERT_EQUAL(hs_json_array_begin(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_array_next_item(&r, &done), HS_OK);
    CU_ASSERT_EQUAL(hs_json_skip(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_array_next_item(&r, &done), HS_ERR_PARSE);
    /* A leading comma. */
    hs_json_reader_init(&r, S("[,1]"));
    CU_ASSERT_EQUAL(hs_json_array_begin(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_array_next_item(&r, &done), HS_OK);
    CU_ASSERT_EQUAL(hs_json_skip(&r), HS_ERR_PARSE);
    /* Key without colon; key not a string. */
    hs_json_reader_init(&r, S("{\"a\" 1}"));
    CU_ASSERT_EQUAL(hs_json_object_begin(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_object_next_key(&r, &key, &done), HS_ERR_PARSE);
    hs_json_reader_init(&r, S("{1:1}"));
    CU_ASSERT_EQUAL(hs_json_object_begin(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_object_next_key(&r, &key, &done), HS_ERR_PARSE);
    /* Wrong kinds. */
    hs_json_reader_init(&r, S("[1]"));
    CU_ASSERT_EQUAL(hs_json_object_begin(&r), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_json_get_string(&r, &key), HS_ERR_PARSE);
    const char *num;
    size_t nlen;
    CU_ASSERT_EQUAL(hs_json_get_number_text(&r, &num, &nlen), HS_ERR_PARSE);
    hs_json_reader_init(&r, S("1.x"));
    CU_ASSERT_EQUAL(hs_json_get_number_text(&r, &num, &nlen), HS_ERR_PARSE);
    /* Peek types. */
    hs_json_reader_init(&r, S(" x"));
    CU_ASSERT_EQUAL(hs_json_peek(&r), HS_JSON_INVALID);
    hs_json_reader_init(&r, S(" true"));
    CU_ASSERT_EQUAL(hs_json_peek(&r), HS_JSON_BOOL);
    hs_json_reader_init(&r, S("null"));
    CU_ASSERT_EQUAL(hs_json_peek(&r), HS_JSON_NULL);
    hs_json_reader_init(&r, S("-1"));
    CU_ASSERT_EQUAL(hs_json_peek(&r), HS_JSON_NUMBER);
    hs_json_reader_init(&r, NULL, 0);
    CU_ASSERT_EQUAL(hs_json_peek(&r), HS_JSON_END);
    CU_ASSERT_EQUAL(hs_json_expect_end(&r), HS_OK);
    /* Trailing data. */
    hs_json_reader_init(&r, S("1 ,"));
    CU_ASSERT_EQUAL(hs_json_skip(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_expect_end(&r), HS_ERR_PARSE);
    /* begin is bounded in depth. */
    hs_buf text;
    hs_buf_init(&text, 0);
    for (int i = 0; i < HS_MP_MAX_DEPTH + 1; i++)
        hs_buf_putc(&text, '[');
    hs_json_reader_init(&r, (const char *)text.data, text.len);
    for (int i = 0; i < HS_MP_MAX_DEPTH; i++)
        CU_ASSERT_EQUAL(hs_json_array_begin(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_json_array_begin(&r), HS_ERR_PARSE);
    hs_buf_free(&text);
    hs_buf_free(&key);
}

static void test_allocation_failures(void)
{
    static const char doc[] = "{\"a\":[1,2,3,\"a long string that needs some room to be stored in "
                              "the output buffer, longer than sixty-four bytes\"],\"b\":{\"c\":"
                              "[1.5,2.5,3.5,4.5,5.5,6.5,7.5,8.5,9.5,10.5,11.5,12.5,13.5,14.5,15.5,"
                              "16.5,17.5]}}";
    bool ok = false;
    for (long n = 0; n < 50 && !ok; n++) {
        hs_buf out, json;
        hs_buf_init(&out, 0);
        hs_buf_init(&json, 0);
        hs_alloc_fail_after(n);
        int rc = hs_json_to_mpack(S(doc), &out);
        int rc2 = HS_ERR_NOMEM;
        if (rc == HS_OK) {
            hs_mp_reader r;
            hs_mp_reader_init(&r, out.data, out.len);
            rc2 = hs_json_from_mpack(&r, &json);
        }
        hs_alloc_fail_after(-1);
        CU_ASSERT_TRUE(rc == HS_OK || rc == HS_ERR_NOMEM);
        CU_ASSERT_TRUE(rc2 == HS_OK || rc2 == HS_ERR_NOMEM);
        ok = rc == HS_OK && rc2 == HS_OK;
        hs_buf_free(&out);
        hs_buf_free(&json);
    }
    CU_ASSERT_TRUE(ok);
    /* A bounded output buffer gives HS_ERR_LIMIT and keeps its content. */
    hs_buf small;
    hs_buf_init(&small, 16);
    CU_ASSERT_EQUAL(hs_json_to_mpack(S(doc), &small), HS_ERR_LIMIT);
    CU_ASSERT_EQUAL(small.len, 0);
    hs_buf_free(&small);
}

HS_TEST_INIT(json)
{
    HS_TEST_SUITE_BEGIN("json");
    HS_TEST(test_scalars);
    HS_TEST(test_integers);
    HS_TEST(test_canonical_reader_makes_big_uints_floats);
    HS_TEST(test_doubles);
    HS_TEST(test_number_limits);
    HS_TEST(test_rfc_strictness);
    HS_TEST(test_error_detail_has_offset);
    HS_TEST(test_escapes);
    HS_TEST(test_utf8_validation);
    HS_TEST(test_containers_and_sizes);
    HS_TEST(test_depth_limit);
    HS_TEST(test_every_truncation_rejected);
    HS_TEST(test_writer_numbers);
    HS_TEST(test_writer_strings_bin_keys);
    HS_TEST(test_round_trips);
    HS_TEST(test_reader_walk);
    HS_TEST(test_reader_errors);
    HS_TEST(test_allocation_failures);
    return 0;
}
