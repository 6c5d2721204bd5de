/*
 * Tests of hs_lineproto: every value type and its msgpack bytes, escapes in
 * every position, the stream id of each field (canonical order, the
 * "value" field), precisions and timestamps, skipped lines and line ends,
 * and each error with its line number. Expected ids, times and values are
 * worked out by hand from the line protocol and docs/HTTP.md §2.
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_fmt.h"
#include "hs_lineproto.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2023-11-14T22:13:20Z, the arrival time of every parse below. */
#define ARRIVAL_US 1700000000000000LL

/* What the callback saw: one text line per instance, and the raw value bytes of the last. */
typedef struct collect {
    hs_buf out;
    size_t calls;
    size_t stop_at; /* return HS_ERR_FULL on this call (1-based); 0: never */
    uint8_t last[64];
    size_t last_len;
} collect;

/* Appends the value v as text: 1.5 (float, always with a '.' or 'e'), 2i, true, "str". */
static void put_value(hs_buf *out, const uint8_t *v, size_t vlen)
{
    hs_mp_reader r;
    hs_mp_reader_init(&r, v, vlen);
    hs_mp_type t;
    CU_ASSERT_EQUAL_FATAL(hs_mp_peek(&r, &t), HS_OK);
    if (t == HS_MP_BOOL) {
        bool b = false;
        CU_ASSERT_EQUAL(hs_mp_get_bool(&r, &b), HS_OK);
        hs_buf_puts(out, b ? "true" : "false");
    } else if (t == HS_MP_INT) {
        int64_t i = 0;
        CU_ASSERT_EQUAL(hs_mp_get_int(&r, &i), HS_OK);
        hs_buf_printf(out, "%lldi", (long long)i);
    } else if (t == HS_MP_FLOAT) {
        double d = 0;
        char txt[HS_FMT_DOUBLE_MAX];
        CU_ASSERT_EQUAL(hs_mp_get_number(&r, &d), HS_OK);
        hs_fmt_double(d, HS_FMT_SHORTEST, txt);
        hs_buf_puts(out, txt);
    } else if (t == HS_MP_STR) {
        const char *s = NULL;
        uint32_t n = 0;
        CU_ASSERT_EQUAL(hs_mp_get_str(&r, &s, &n), HS_OK);
        hs_buf_printf(out, "\"%.*s\"", (int)n, s);
    } else {
        CU_FAIL("unexpected value type");
    }
    CU_ASSERT_TRUE(hs_mp_at_end(&r));
}

static int on_instance(void *ud, const char *sid, int64_t t_us, const uint8_t *v, size_t vlen,
                       size_t line)
{
    collect *c = ud;
    c->calls++;
    /* Every value is one canonical msgpack value. */
    CU_ASSERT_EQUAL(hs_value_check(v, vlen), HS_OK);
    hs_buf_printf(&c->out, "%s %lld ", sid, (long long)t_us);
    put_value(&c->out, v, vlen);
    hs_buf_printf(&c->out, " @%zu\n", line);
    if (vlen <= sizeof c->last) {
        memcpy(c->last, v, vlen);
        c->last_len = vlen;
    }
    return c->stop_at != 0 && c->calls == c->stop_at ? HS_ERR_FULL : HS_OK;
}

/*
 * Parses the C string body with precision p and returns what the callback
 * saw (static buffer), or "ERR <detail>" when the parse fails with
 * HS_ERR_PARSE. *npoints receives the point count when npoints is not NULL.
 */
static const char *parse_p(const char *body, hs_lp_precision p, size_t *npoints)
{
    static char result[8192];
    collect c;
    memset(&c, 0, sizeof c);
    hs_buf_init(&c.out, 0);
    hs_err_clear();
    size_t n = 12345;
    int rc = hs_lp_parse(body, strlen(body), p, ARRIVAL_US, on_instance, &c, &n);
    if (rc == HS_OK)
        snprintf(result, sizeof result, "%s", hs_buf_cstr(&c.out));
    else if (rc == HS_ERR_PARSE)
        snprintf(result, sizeof result, "ERR %s", hs_err_detail());
    else
        snprintf(result, sizeof result, "rc %d", rc);
    if (npoints != NULL)
        *npoints = n;
    hs_buf_free(&c.out);
    return result;
}

static const char *parse(const char *body)
{
    return parse_p(body, HS_LP_NS, NULL);
}

/* Asserts that got equals want, printing both when not. */
#define EXPECT(got, want)                                                                          \
    do {                                                                                           \
        const char *g__ = (got);                                                                   \
        CU_ASSERT_STRING_EQUAL(g__, (want));                                                       \
        if (strcmp(g__, (want)) != 0)                                                              \
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", g__, (want));                            \
    } while (0)

/* Asserts that body fails with a detail that starts with prefix and holds want. */
static void expect_error(const char *body, hs_lp_precision p, const char *prefix, const char *want)
{
    const char *got = parse_p(body, p, NULL);
    bool ok = strncmp(got, "ERR ", 4) == 0 && strncmp(got + 4, prefix, strlen(prefix)) == 0 &&
              strstr(got, want) != NULL;
    CU_ASSERT_TRUE(ok);
    if (!ok)
        fprintf(stderr, "\n  body %s\n  got  %s\n  want %s... %s\n", body, got, prefix, want);
}

/* Parses one line and returns the value bytes of its (last) instance in c. */
static void value_bytes(const char *body, collect *c)
{
    memset(c, 0, sizeof *c);
    hs_buf_init(&c->out, 0);
    CU_ASSERT_EQUAL(hs_lp_parse(body, strlen(body), HS_LP_NS, 0, on_instance, c, NULL), HS_OK);
    hs_buf_free(&c->out);
}

#define EXPECT_BYTES(body, ...)                                                                    \
    do {                                                                                           \
        static const uint8_t want__[] = {__VA_ARGS__};                                             \
        collect c__;                                                                               \
        value_bytes((body), &c__);                                                                 \
        CU_ASSERT_EQUAL(c__.last_len, sizeof want__);                                              \
        CU_ASSERT_TRUE(c__.last_len == sizeof want__ &&                                            \
                       memcmp(c__.last, want__, sizeof want__) == 0);                              \
    } while (0)

static void test_value_types(void)
{
    EXPECT(parse("m f=1.5,i=2i,u=3u,b=t,s=\"hi\" 1000"), "m.f 1 1.5 @1\n"
                                                         "m.i 1 2i @1\n"
                                                         "m.u 1 3i @1\n"
                                                         "m.b 1 true @1\n"
                                                         "m.s 1 \"hi\" @1\n");
    /* The msgpack bytes, worked out from the msgpack spec. */
    EXPECT_BYTES("m f=1.5", 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0);
    EXPECT_BYTES("m f=1", 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0); /* a bare 1 is a float */
    EXPECT_BYTES("m f=-2.0", 0xcb, 0xc0, 0x00, 0, 0, 0, 0, 0, 0);
    EXPECT_BYTES("m f=2i", 0x02);
    EXPECT_BYTES("m f=-2i", 0xfe);
    EXPECT_BYTES("m f=300i", 0xcd, 0x01, 0x2c);
    EXPECT_BYTES("m f=-200i", 0xd1, 0xff, 0x38);
    EXPECT_BYTES("m f=70000u", 0xce, 0x00, 0x01, 0x11, 0x70);
    EXPECT_BYTES("m f=true", 0xc3);
    EXPECT_BYTES("m f=F", 0xc2);
    EXPECT_BYTES("m f=\"hi\"", 0xa2, 'h', 'i');
    EXPECT_BYTES("m f=\"\"", 0xa0);
}

static void test_floats(void)
{
    EXPECT(parse("m a=1,b=-1.5,c=1e3,d=1.5E-3,e=.5,f=1.,g=-0,h=1E+2,k=-.25e1 5000"),
           "m.a 5 1.0 @1\nm.b 5 -1.5 @1\nm.c 5 1e+03 @1\nm.d 5 0.0015 @1\nm.e 5 0.5 @1\n"
           "m.f 5 1.0 @1\nm.g 5 -0.0 @1\nm.h 5 1e+02 @1\nm.k 5 -2.5 @1\n");
    /* Beyond the exact fast path: many digits, large and tiny exponents, the extremes. */
    EXPECT(parse("m a=0.1,b=12345678901234567890,c=1.7976931348623157e308,d=5e-324,"
                 "e=123456789012345678901234567890e-10,f=0.000000000000000000000000001,"
                 "g=1e-400,h=9007199254740993"),
           "m.a 1700000000000000 0.1 @1\n"
           "m.b 1700000000000000 1.2345678901234567e+19 @1\n"
           "m.c 1700000000000000 1.7976931348623157e+308 @1\n"
           "m.d 1700000000000000 5e-324 @1\n"
           "m.e 1700000000000000 1.2345678901234567e+19 @1\n"
           "m.f 1700000000000000 1e-27 @1\n"
           "m.g 1700000000000000 0.0 @1\n"
           "m.h 1700000000000000 9007199254740992.0 @1\n");
}

static void test_integers_and_booleans(void)
{
    EXPECT(parse("m a=-9223372036854775808i,b=9223372036854775807i,c=0i,d=-0i,e=007i"),
           "m.a 1700000000000000 -9223372036854775808i @1\n"
           "m.b 1700000000000000 9223372036854775807i @1\n"
           "m.c 1700000000000000 0i @1\n"
           "m.d 1700000000000000 0i @1\n"
           "m.e 1700000000000000 7i @1\n");
    /* Unsigned: an int64 while it fits, a float64 above INT64_MAX. */
    EXPECT(parse("m a=0u,b=9223372036854775807u,c=9223372036854775808u,"
                 "d=18446744073709551615u"),
           "m.a 1700000000000000 0i @1\n"
           "m.b 1700000000000000 9223372036854775807i @1\n"
           "m.c 1700000000000000 9.223372036854776e+18 @1\n"
           "m.d 1700000000000000 1.8446744073709552e+19 @1\n");
    EXPECT(parse("m a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,k=False,l=FALSE 0"),
           "m.a 0 true @1\nm.b 0 true @1\nm.c 0 true @1\nm.d 0 true @1\nm.e 0 true @1\n"
           "m.f 0 false @1\nm.g 0 false @1\nm.h 0 false @1\nm.k 0 false @1\nm.l 0 false @1\n");
}

static void test_strings(void)
{
    /* \" and \\ are escapes; any other pair stays as it is; , = and spaces are plain text. */
    EXPECT(parse("m a=\"say \\\"hi\\\"\",b=\"C:\\\\dir\",c=\"a\\nb\",d=\"x, y=z \",e=\"\" 0"),
           "m.a 0 \"say \"hi\"\" @1\n"
           "m.b 0 \"C:\\dir\" @1\n"
           "m.c 0 \"a\\nb\" @1\n"
           "m.d 0 \"x, y=z \" @1\n"
           "m.e 0 \"\" @1\n");
    EXPECT(parse("m s=\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x9a\x80\" 0"),
           "m.s 0 \"\xc3\xa9t\xc3\xa9 \xf0\x9f\x9a\x80\" @1\n");
    EXPECT(parse("m s=\"ends with \\\\\" 0"), "m.s 0 \"ends with \\\" @1\n");
}

static void test_escapes(void)
{
    /* "\," in every position gives a comma, which a stream id may hold. */
    EXPECT(parse("m\\,1,k\\,1=v\\,1 f\\,1=1 0"), "m,1.f,1/k,1=v,1 0 1.0 @1\n");
    /* Other pairs are kept as both bytes, and a pair never separates. */
    EXPECT(parse("m,k=C:\\\\x,j=a\\b f=1 0"), "m.f/j=a\\b/k=C:\\\\x 0 1.0 @1\n");
    EXPECT(parse("m,k=a\\\\,j=b f=1 0"), "m.f/j=b/k=a\\\\ 0 1.0 @1\n");
    EXPECT(parse("m\\\\ f=1 0"), "m\\\\.f 0 1.0 @1\n");
    /* "\ " and "\=" are read; the space and the '=', which a stream id cannot hold, are
     * written %20 and %3D in it (docs/HTTP.md §2). */
    EXPECT(parse("m,k=v\\ x f=1 0"), "m.f/k=v%20x 0 1.0 @1\n");
    EXPECT(parse("m\\ x f=1 0"), "m%20x.f 0 1.0 @1\n");
    EXPECT(parse("m,a\\=b=c f=1 0"), "m.f/a%3Db=c 0 1.0 @1\n");
    EXPECT(parse("m,k=a\\=b f=1 0"), "m.f/k=a%3Db 0 1.0 @1\n");
    EXPECT(parse("m,k\\ x=a f=1 0"), "m.f/k%20x=a 0 1.0 @1\n");
    EXPECT(parse("m f\\ x=1 0"), "m.f%20x 0 1.0 @1\n");
    EXPECT(parse("m f\\=x=1 0"), "m.f%3Dx 0 1.0 @1\n");
    /* A backslash that ends the line is kept. */
    expect_error("m,k=v\\", HS_LP_NS, "line 1: no fields", "(line: 'm,k=v\\')");
    /* In the measurement "\=" is no escape: both bytes stay (the '=' written %3D). */
    EXPECT(parse("m\\=x f=1 0"), "m\\%3Dx.f 0 1.0 @1\n");
}

static void test_stream_ids(void)
{
    /* Tags are sorted into the canonical order, bytewise. */
    EXPECT(parse("m,z=1,a=2,m=3,B=4 f=1 0"), "m.f/B=4/a=2/m=3/z=1 0 1.0 @1\n");
    /* The field "value" gives the measurement alone; any other name is joined with '.'. */
    EXPECT(parse("m,h=1 value=1,other=2i,values=3i,Value=4i 0"),
           "m/h=1 0 1.0 @1\nm.other/h=1 0 2i @1\nm.values/h=1 0 3i @1\nm.Value/h=1 0 4i @1\n");
    EXPECT(parse("temp value=21.5 0"), "temp 0 21.5 @1\n");
    /* UTF-8 in names. */
    EXPECT(parse("t\xc3\xa9,pi\xc3\xa8\x63\x65=cuisine v=1 0"),
           "t\xc3\xa9.v/pi\xc3\xa8\x63\x65=cuisine 0 1.0 @1\n");
}

static void test_precisions(void)
{
    const char *want = "m.f 1700000000123456 1.0 @1\n";
    EXPECT(parse_p("m f=1 1700000000123456789", HS_LP_NS, NULL), want);
    EXPECT(parse_p("m f=1 1700000000123456", HS_LP_US, NULL), want);
    EXPECT(parse_p("m f=1 1700000000123", HS_LP_MS, NULL), "m.f 1700000000123000 1.0 @1\n");
    EXPECT(parse_p("m f=1 1700000000", HS_LP_S, NULL), "m.f 1700000000000000 1.0 @1\n");
    /* The extremes of hs_time in each unit. */
    EXPECT(parse_p("m f=1 253402300799999999", HS_LP_US, NULL), "m.f 253402300799999999 1.0 @1\n");
    EXPECT(parse_p("m f=1 -62135596800000", HS_LP_MS, NULL), "m.f -62135596800000000 1.0 @1\n");
    EXPECT(parse_p("m f=1 253402300799", HS_LP_S, NULL), "m.f 253402300799000000 1.0 @1\n");
    /* Every int64 of nanoseconds is within range. */
    EXPECT(parse_p("m f=1 -9223372036854775808", HS_LP_NS, NULL), "m.f -9223372036854776 1.0 @1\n");

    hs_lp_precision p = HS_LP_S;
    CU_ASSERT_EQUAL(hs_lp_precision_parse(NULL, &p), HS_OK);
    CU_ASSERT_EQUAL(p, HS_LP_NS);
    p = HS_LP_S;
    CU_ASSERT_EQUAL(hs_lp_precision_parse("", &p), HS_OK);
    CU_ASSERT_EQUAL(p, HS_LP_NS);
    CU_ASSERT_EQUAL(hs_lp_precision_parse("ns", &p), HS_OK);
    CU_ASSERT_EQUAL(p, HS_LP_NS);
    CU_ASSERT_EQUAL(hs_lp_precision_parse("us", &p), HS_OK);
    CU_ASSERT_EQUAL(p, HS_LP_US);
    CU_ASSERT_EQUAL(hs_lp_precision_parse("ms", &p), HS_OK);
    CU_ASSERT_EQUAL(p, HS_LP_MS);
    CU_ASSERT_EQUAL(hs_lp_precision_parse("s", &p), HS_OK);
    CU_ASSERT_EQUAL(p, HS_LP_S);
    const char *bad[] = {"n", "NS", "h", "m", "sec", "us ", "\x01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = HS_LP_US;
        CU_ASSERT_EQUAL(hs_lp_precision_parse(bad[i], &p), HS_ERR_INVAL);
        CU_ASSERT_EQUAL(p, HS_LP_US);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "is not one of ns, us, ms, s"));
    }
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "precision '\\x01' is not one of ns, us, ms, s");
    CU_ASSERT_EQUAL(hs_lp_precision_parse("ns", NULL), HS_ERR_INVAL);
}

static void test_timestamps(void)
{
    /* Without a timestamp a point gets the arrival time. */
    EXPECT(parse("m f=1\nm g=2 5000\n"), "m.f 1700000000000000 1.0 @1\nm.g 5 2.0 @2\n");
    /* Negative nanoseconds are divided rounding down: -1500 ns is in the microsecond -2. */
    EXPECT(parse("m a=1 -1500\nm a=1 -1000\nm a=1 -1\nm a=1 999\nm a=1 1000\nm a=1 -0"),
           "m.a -2 1.0 @1\nm.a -1 1.0 @2\nm.a -1 1.0 @3\nm.a 0 1.0 @4\nm.a 1 1.0 @5\n"
           "m.a 0 1.0 @6\n");
    EXPECT(parse_p("m a=1 -5", HS_LP_US, NULL), "m.a -5 1.0 @1\n");
    EXPECT(parse_p("m a=1 -1", HS_LP_S, NULL), "m.a -1000000 1.0 @1\n");
    /* Several spaces between the parts, and blanks at the ends of the line. */
    EXPECT(parse("  m,k=v   f=1    7000  \t"), "m.f/k=v 7 1.0 @1\n");
}

static void test_lines(void)
{
    size_t n = 0;
    /* Comments, blank lines, CRLF, a last line without a line end. */
    EXPECT(parse_p("# a comment\r\n\r\n   \n\tm f=1 1000\r\n  # another, f=1\nm g=2i 2000  \r\n"
                   "m h=t 3000",
                   HS_LP_NS, &n),
           "m.f 1 1.0 @4\nm.g 2 2i @6\nm.h 3 true @7\n");
    CU_ASSERT_EQUAL(n, 3);
    EXPECT(parse_p("", HS_LP_NS, &n), "");
    CU_ASSERT_EQUAL(n, 0);
    EXPECT(parse_p("\n\n# only comments\n", HS_LP_NS, &n), "");
    CU_ASSERT_EQUAL(n, 0);
    /* A lone CR inside a line is not a line end. */
    expect_error("m f=1\r 5\n", HS_LP_NS, "line 1: ", "invalid float '1\\x0d'");
}

static void test_telegraf_body(void)
{
    size_t n = 0;
    const char *body =
        "cpu,cpu=cpu0,host=h1 usage_idle=98.5,usage_user=1.2 1700000000000000000\n"
        "mem,host=h1 available=8123456789i,used_percent=41.25,active=true 1700000000000000000\n"
        "system,host=h1,os=linux load1=0.35,uptime=86400u,n_users=2i,"
        "uptime_format=\"1 day,  0:00\" 1700000010500000000\n";
    EXPECT(parse_p(body, HS_LP_NS, &n),
           "cpu.usage_idle/cpu=cpu0/host=h1 1700000000000000 98.5 @1\n"
           "cpu.usage_user/cpu=cpu0/host=h1 1700000000000000 1.2 @1\n"
           "mem.available/host=h1 1700000000000000 8123456789i @2\n"
           "mem.used_percent/host=h1 1700000000000000 41.25 @2\n"
           "mem.active/host=h1 1700000000000000 true @2\n"
           "system.load1/host=h1/os=linux 1700000010500000 0.35 @3\n"
           "system.uptime/host=h1/os=linux 1700000010500000 86400i @3\n"
           "system.n_users/host=h1/os=linux 1700000010500000 2i @3\n"
           "system.uptime_format/host=h1/os=linux 1700000010500000 "
           "\"1 day,  0:00\" @3\n");
    CU_ASSERT_EQUAL(n, 3);
}

static void test_errors(void)
{
    /* Missing fields, with the number of the line (comments and blanks count). */
    expect_error("# c\n\nm f=1\nm\n", HS_LP_NS, "line 4: no fields", "(line: 'm')");
    expect_error("m,t=a", HS_LP_NS, "line 1: no fields", "");
    expect_error("m,t=a   \n", HS_LP_NS, "line 1: no fields", "");
    expect_error("m f=1,", HS_LP_NS, "line 1: empty field key", "");
    expect_error("m f=1, g=2", HS_LP_NS, "line 1: empty field key", "");
    expect_error("m f", HS_LP_NS, "line 1: field 'f' has no '=' and value", "");
    expect_error("m f= 5", HS_LP_NS, "line 1: field 'f' has no value", "");
    expect_error("m f=", HS_LP_NS, "line 1: field 'f' has no value", "");
    expect_error(",t=a f=1", HS_LP_NS, "line 1: empty measurement", "");
    /* Bad numbers. */
    expect_error("m f=1\nm g=1.2.3 5", HS_LP_NS, "line 2: field 'g': invalid float '1.2.3'", "");
    expect_error("m f=1e", HS_LP_NS, "line 1: field 'f': invalid float '1e'", "");
    expect_error("m f=-", HS_LP_NS, "line 1: field 'f': invalid float '-'", "");
    expect_error("m f=.", HS_LP_NS, "line 1: field 'f': invalid float '.'", "");
    expect_error("m f=0x10", HS_LP_NS, "line 1: field 'f': invalid float '0x10'", "");
    expect_error("m f=1e400", HS_LP_NS, "line 1: field 'f': float '1e400' is beyond the range", "");
    expect_error("m f=+1", HS_LP_NS, "line 1: field 'f': invalid value '+1'", "");
    expect_error("m f=NaN", HS_LP_NS, "line 1: field 'f': invalid value 'NaN'", "NaN");
    expect_error("m f=-Inf", HS_LP_NS, "line 1: field 'f': invalid float '-Inf'", "");
    expect_error("m f=abc", HS_LP_NS, "line 1: field 'f': invalid value 'abc'", "double-quoted");
    expect_error("m f=tru", HS_LP_NS, "line 1: field 'f': invalid value 'tru'", "a boolean is");
    expect_error("m f=1.5i", HS_LP_NS, "line 1: field 'f': invalid integer '1.5i'", "");
    expect_error("m f=i", HS_LP_NS, "line 1: field 'f': invalid value 'i'", "");
    expect_error("m f=-i", HS_LP_NS, "line 1: field 'f': invalid integer '-i'", "");
    expect_error("m f=-1u", HS_LP_NS, "line 1: field 'f': invalid unsigned integer '-1u'", "");
    expect_error("m f=9223372036854775808i", HS_LP_NS, "line 1: field 'f': integer", "int64 range");
    expect_error("m f=-9223372036854775809i", HS_LP_NS, "line 1: field 'f': integer",
                 "int64 range");
    expect_error("m f=18446744073709551616u", HS_LP_NS,
                 "line 1: field 'f': unsigned integer '18446744073709551616u' is above "
                 "18446744073709551615",
                 "");
    /* Strings. */
    expect_error("m f=\"abc", HS_LP_NS, "line 1: field 'f': the string has no closing '\"'", "");
    expect_error("m f=\"abc\\\" 5", HS_LP_NS, "line 1: field 'f': the string has no closing", "");
    expect_error("m f=\"two\nlines\"", HS_LP_NS, "line 1: field 'f': the string has no closing",
                 "");
    expect_error("m f=\"x\"y", HS_LP_NS,
                 "line 1: field 'f': unexpected 'y' after the closing quote", "");
    expect_error("m f=\"\xff\"", HS_LP_NS,
                 "line 1: field 'f': the string is not valid UTF-8 (at byte 0)", "");
    /* Duplicates, pairwise and past the sorted threshold. */
    expect_error("m a=1,b=2,a=3", HS_LP_NS, "line 1: field 'a' appears twice", "");
    expect_error("m a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,k=9,l=10,n=11,o=12,p=13,q=14,r=15,s=16,c=17",
                 HS_LP_NS, "line 1: field 'c' appears twice", "");
    expect_error("m,a=1,a=2 f=1", HS_LP_NS, "line 1: tag key 'a' appears twice", "");
    /* Tags. */
    expect_error("m,k= f=1", HS_LP_NS, "line 1: tag 'k' has an empty value", "");
    expect_error("m,k=,j=1 f=1", HS_LP_NS, "line 1: tag 'k' has an empty value", "");
    expect_error("m,=v f=1", HS_LP_NS, "line 1: empty tag key", "");
    expect_error("m, f=1", HS_LP_NS, "line 1: empty tag key", "");
    expect_error("m,k f=1", HS_LP_NS, "line 1: tag key 'k' has no '=' and value", "");
    expect_error("m,k=a=b f=1", HS_LP_NS, "line 1: tag 'k': its value holds an unescaped '='", "");
    expect_error("m,a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1,j=1,k=1,l=1,m=1,n=1,o=1,p=1,q=1 f=1",
                 HS_LP_NS, "line 1: more than 16 tags", "");
    /* Bytes a stream id cannot hold are written %HH ('%' too, so the mapping can be undone):
     * Telegraf's disk tags (path=/boot) and names with '#' or '+'. */
    EXPECT(parse("disk,path=/boot,device=sda1 used_percent=12.5 0"),
           "disk.used_percent/device=sda1/path=%2Fboot 0 12.5 @1\n");
    EXPECT(parse("m f#=1,g+=2,h%=3 0"), "m.f%23 0 1.0 @1\nm.g%2B 0 2.0 @1\nm.h%25 0 3.0 @1\n");
    /* What encoding cannot save is refused, with the reason from hs_streamid. */
    expect_error("m f=1\nm,k=.. f=1", HS_LP_NS, "line 2: stream id 'm.f/k=..': tag value", "");
    expect_error("$SYS f=1", HS_LP_NS, "line 1: stream id '$SYS.f': name '$SYS.f' starts with '$'",
                 "");
    EXPECT(parse("m,k+=1 f=1 0"), "m.f/k%2B=1 0 1.0 @1\n");
    EXPECT(parse("m\tx f=1 0"), "m%09x.f 0 1.0 @1\n");
    expect_error("m,k=a\xc2\xa0"
                 "b f=1",
                 HS_LP_NS, "line 1: stream id", "space");
    /* Trailing garbage and timestamps. */
    expect_error("m f=1 123 junk", HS_LP_NS, "line 1: unexpected 'junk' after the timestamp", "");
    expect_error("m f=1 12a", HS_LP_NS, "line 1: invalid timestamp '12a'", "");
    expect_error("m f=1 -", HS_LP_NS, "line 1: invalid timestamp '-'", "");
    expect_error("m f=1 +5", HS_LP_NS, "line 1: invalid timestamp '+5'", "");
    expect_error("m f=1 1.5", HS_LP_NS, "line 1: invalid timestamp '1.5'", "");
    expect_error("m f=1 99999999999999999999", HS_LP_NS,
                 "line 1: timestamp '99999999999999999999' is outside the int64 range", "");
    expect_error("m f=1 9223372036854775808", HS_LP_NS, "line 1: timestamp", "int64 range");
    expect_error("m f=1 9223372036854775807", HS_LP_S,
                 "line 1: timestamp '9223372036854775807' "
                 "(precision s) is outside 0001-01-01 to 9999-12-31",
                 "");
    expect_error("m f=1 253402300800", HS_LP_S, "line 1: timestamp", "outside 0001-01-01");
    expect_error("m f=1 -62135596801", HS_LP_S, "line 1: timestamp", "outside 0001-01-01");
    expect_error("m f=1 253402300800000", HS_LP_MS, "line 1: timestamp", "(precision ms)");
    expect_error("m f=1 253402300800000000", HS_LP_US, "line 1: timestamp", "(precision us)");
}

static void test_error_quotes_the_line(void)
{
    /* The detail quotes the first 60 bytes of the line, then "...". */
    const char *body = "measurement_with_a_long_name,host=server-0001 a=1,b=2,c=3,d=4,e=oops 1";
    const char *got = parse(body);
    EXPECT(got, "ERR line 1: field 'e': invalid value 'oops' (a value is a number, a boolean or "
                "a double-quoted string; NaN and infinities are not accepted) (line: "
                "'measurement_with_a_long_name,host=server-0001 a=1,b=2,c=3,d=...')");
    /* Bytes that are not printable are shown as \xNN. */
    EXPECT(parse("m f=\x01"), "ERR line 1: field 'f': invalid value '\\x01' (a value is a "
                              "number, a boolean or a double-quoted string; NaN and "
                              "infinities are not accepted) (line: 'm f=\\x01')");
}

static void test_line_limit(void)
{
    /* A line of exactly HS_LP_MAX_LINE bytes is read; one byte more is not. */
    size_t len = HS_LP_MAX_LINE;
    char *body = malloc(len + 3);
    HS_REQUIRE(body);
    memcpy(body, "m s=\"", 5);
    memset(body + 5, 'x', len - 6);
    body[len - 1] = '"';
    memcpy(body + len, "\r\n", 3);
    size_t n = 0;
    collect c;
    memset(&c, 0, sizeof c);
    hs_buf_init(&c.out, 0);
    CU_ASSERT_EQUAL(hs_lp_parse(body, len + 2, HS_LP_NS, 0, on_instance, &c, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(c.calls, 1);
    hs_buf_free(&c.out);
    body[len - 1] = 'x';
    body[len] = '"';
    CU_ASSERT_EQUAL(hs_lp_parse(body, len + 1, HS_LP_NS, 0, on_instance, &c, &n), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "line 1: the line is longer than 65536 bytes "
                                                   "(65537)"));
    CU_ASSERT_EQUAL(n, 0);
    free(body);
}

static void test_callback_and_counts(void)
{
    collect c;
    memset(&c, 0, sizeof c);
    hs_buf_init(&c.out, 0);
    size_t n = 99;
    /* The callback's own code stops the parse and is returned as it is. */
    c.stop_at = 3;
    const char *body = "m a=1,b=2\nm c=3,d=4\nm e=5\n";
    CU_ASSERT_EQUAL(hs_lp_parse(body, strlen(body), HS_LP_NS, 0, on_instance, &c, &n), HS_ERR_FULL);
    CU_ASSERT_EQUAL(c.calls, 3);
    CU_ASSERT_EQUAL(n, 1);
    /* An error in a line's last field: no call for that line, the lines before counted. */
    hs_buf_reset(&c.out);
    c.calls = 0;
    c.stop_at = 0;
    body = "m a=1\nm b=2\nm c=3,d=4,e=x\n";
    CU_ASSERT_EQUAL(hs_lp_parse(body, strlen(body), HS_LP_NS, 0, on_instance, &c, &n),
                    HS_ERR_PARSE);
    CU_ASSERT_EQUAL(c.calls, 2);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(strncmp(hs_err_detail(), "line 3: field 'e'", 17), 0);
    /* An id refused on a line's second field: no call for the first one either. */
    c.calls = 0;
    body = "m a=1,b\xc2\xa0=2\n";
    CU_ASSERT_EQUAL(hs_lp_parse(body, strlen(body), HS_LP_NS, 0, on_instance, &c, NULL),
                    HS_ERR_PARSE);
    CU_ASSERT_EQUAL(c.calls, 0);
    /* Arguments. */
    CU_ASSERT_EQUAL(hs_lp_parse(NULL, 0, HS_LP_NS, 0, on_instance, &c, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(hs_lp_parse(NULL, 1, HS_LP_NS, 0, on_instance, &c, &n), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_lp_parse("m f=1", 5, HS_LP_NS, 0, NULL, &c, &n), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_lp_parse("m f=1", 5, (hs_lp_precision)7, 0, on_instance, &c, &n),
                    HS_ERR_INVAL);
    hs_buf_free(&c.out);
}

static void test_out_of_memory(void)
{
    /* Every allocation failing in turn gives HS_ERR_NOMEM and no partial line; no leak. */
    const char *body = "cpu,host=h1,cpu=cpu0 a=1,b=2i,c=\"x\\\"y\",d=t,e=1,f=2,g=3,h=4,i=5,j=6,"
                       "k=7,l=8,m=9,n=10,o=11,p=12,q=13 1700000000000000000\nm value=1\n";
    bool passed = false;
    for (long k = 0; k < 200 && !passed; k++) {
        collect c;
        memset(&c, 0, sizeof c);
        hs_buf_init(&c.out, 0);
        size_t n = 99;
        hs_alloc_fail_after(k);
        int rc = hs_lp_parse(body, strlen(body), HS_LP_NS, 0, on_instance, &c, &n);
        hs_alloc_fail_after(-1);
        CU_ASSERT_TRUE(rc == HS_OK || rc == HS_ERR_NOMEM);
        if (rc == HS_OK) {
            CU_ASSERT_EQUAL(n, 2);
            CU_ASSERT_EQUAL(c.calls, 18);
            passed = true;
        } else {
            CU_ASSERT_TRUE(n <= 1);
            CU_ASSERT_TRUE(c.calls == 0 || c.calls == 17);
        }
        hs_buf_free(&c.out);
    }
    CU_ASSERT_TRUE(passed);
}

HS_TEST_INIT(lineproto)
{
    HS_TEST_SUITE_BEGIN("lineproto");
    HS_TEST(test_value_types);
    HS_TEST(test_floats);
    HS_TEST(test_integers_and_booleans);
    HS_TEST(test_strings);
    HS_TEST(test_escapes);
    HS_TEST(test_stream_ids);
    HS_TEST(test_precisions);
    HS_TEST(test_timestamps);
    HS_TEST(test_lines);
    HS_TEST(test_telegraf_body);
    HS_TEST(test_errors);
    HS_TEST(test_error_quotes_the_line);
    HS_TEST(test_line_limit);
    HS_TEST(test_callback_and_counts);
    HS_TEST(test_out_of_memory);
    return 0;
}
