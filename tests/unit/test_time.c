/* Tests of hs_time: ISO-8601, epoch seconds, durations, user input, clocks. */
#include "test_suites.h"

#include "hs_error.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define S(x) (x), (sizeof(x) - 1) /* a literal with its length, embedded NULs included */

/* 2016-04-28T20:00:00Z, the instant used in HyperStream's examples. */
#define T2016 (1461873600LL * HS_US_PER_S)

static int parse_iso(const char *s, int64_t *out)
{
    return hs_time_parse_iso(s, strlen(s), out);
}

static void test_iso_known_instants(void)
{
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01", 0},
        {"2016-04-28T20:00:00Z", T2016},
        {"2016-04-28", 1461801600LL * HS_US_PER_S},
        {"2016-04-28T20:00", T2016},
        {"2016-04-28T20:00Z", T2016},
        {"2016-04-28 20:00:00Z", T2016},
        {"2016-04-28t20:00:00z", T2016},
        {"2016-04-28T21:00:00+01:00", T2016},
        {"2016-04-28T21:00:00+0100", T2016},
        {"2016-04-28T14:30:00-0530", T2016},
        {"2016-04-28T14:30:00-05:30", T2016},
        {"2016-04-28T20:00:00-00:00", T2016},
        {"2016-04-29T00:00+04:00", T2016},
        {"1969-12-31T23:59:59Z", -HS_US_PER_S},
        {"1969-12-31T23:59:59.5Z", -500000},
        {"1969-12-31T23:59:59.999999Z", -1},
        {"1900-03-01T00:00:00Z", -2203891200LL * HS_US_PER_S},
        {"1600-01-01", -11676096000LL * HS_US_PER_S},
        {"2000-02-29T12:00:00Z", 951825600LL * HS_US_PER_S},
        {"2400-02-29", 13574563200LL * HS_US_PER_S},
        {"0001-01-01T00:00:00Z", HS_TIME_MIN},
        {"0001-01-01", HS_TIME_MIN},
        {"0000-12-31T23:30-01:00", HS_TIME_MIN + 30 * HS_US_PER_MIN},
        {"9999-12-31T23:59:59.999999Z", HS_TIME_MAX},
        {"9999-12-31T23:59:59.999999999Z", HS_TIME_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = 42;
        int rc = parse_iso(cases[i].text, &t);
        if (rc != HS_OK || t != cases[i].us)
            fprintf(stderr, "\n%s: rc %d (%s) t %lld\n", cases[i].text, rc, hs_err_detail(),
                    (long long)t);
        CU_ASSERT_EQUAL(rc, HS_OK);
        CU_ASSERT_EQUAL(t, cases[i].us);
    }
}

static void test_iso_fraction_digits(void)
{
    static const char *fractions[] = {"1",      "12",      "123",      "1234",     "12345",
                                      "123456", "1234567", "12345678", "123456789"};
    static const int64_t expect[] = {100000, 120000, 123000, 123400, 123450,
                                     123456, 123456, 123456, 123456};
    for (size_t i = 0; i < 9; i++) {
        char text[64];
        snprintf(text, sizeof text, "2016-04-28T20:00:00.%sZ", fractions[i]);
        int64_t t = 0;
        CU_ASSERT_EQUAL(parse_iso(text, &t), HS_OK);
        CU_ASSERT_EQUAL(t, T2016 + expect[i]);
        /* Before 1970 the fraction still counts forward from the second. */
        snprintf(text, sizeof text, "1969-12-31T23:59:59.%s", fractions[i]);
        CU_ASSERT_EQUAL(parse_iso(text, &t), HS_OK);
        CU_ASSERT_EQUAL(t, -HS_US_PER_S + expect[i]);
    }
}

static void test_iso_leap_days(void)
{
    int64_t t;
    CU_ASSERT_EQUAL(parse_iso("2000-02-29", &t), HS_OK);
    CU_ASSERT_EQUAL(parse_iso("2016-02-29T23:59:59Z", &t), HS_OK);
    CU_ASSERT_EQUAL(parse_iso("2400-02-29", &t), HS_OK);
    CU_ASSERT_EQUAL(parse_iso("0004-02-29", &t), HS_OK);
    CU_ASSERT_EQUAL(parse_iso("1900-02-29", &t), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "day 29"));
    CU_ASSERT_EQUAL(parse_iso("2100-02-29", &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(parse_iso("2015-02-29", &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(parse_iso("2016-02-30", &t), HS_ERR_PARSE);
    /* 2000-02-29 and 2000-03-01 are one day apart. */
    int64_t a, b;
    CU_ASSERT_EQUAL(parse_iso("2000-02-29", &a), HS_OK);
    CU_ASSERT_EQUAL(parse_iso("2000-03-01", &b), HS_OK);
    CU_ASSERT_EQUAL(b - a, HS_US_PER_DAY);
}

static void test_iso_rejects_garbage(void)
{
    static const struct {
        const char *text;
        size_t len;
        const char *detail; /* a word the detail must contain */
    } cases[] = {
        {S(""), "empty"},
        {S("2016-13-01"), "month 13"},
        {S("2016-00-10"), "month 00"},
        {S("2016-04-31"), "day 31"},
        {S("2016-04-00"), "day 00"},
        {S("2016-04-28T25:00"), "hour 25"},
        {S("2016-04-28T24:00:00Z"), "hour 24"},
        {S("2016-04-28T20:60Z"), "minute 60"},
        {S("2016-04-28T20:00:60Z"), "leap"},
        {S("2016-04-28T20:00:00Zjunk"), "unexpected 'j'"},
        {S("2016-04-28T20:00:00 "), "unexpected ' '"},
        {S("2016-04-28x"), "'x'"},
        {S("2016-04-28Z"), "'Z'"},
        {S("2016-04-28T"), "hour"},
        {S("2016-4-28"), "month"},
        {S("2016-04-8"), "day"},
        {S("16-04-28"), "year"},
        {S("+2016-04-28"), "year"},
        {S(" 2016-04-28"), "year"},
        {S("2016/04/28"), "'-'"},
        {S("20160428T200000Z"), "'-'"},
        {S("2016-04-28T20"), "':'"},
        {S("2016-04-28T20:0"), "minute"},
        {S("2016-04-28T20:00:0"), "second"},
        {S("2016-04-28T20:00:00."), "fraction"},
        {S("2016-04-28T20:00:00.Z"), "fraction"},
        {S("2016-04-28T20:00:00.1234567890Z"), "9 fraction"},
        {S("2016-04-28T20:00.5Z"), "'.'"},
        {S("2016-04-28T20:00:00+05"), "offset"},
        {S("2016-04-28T20:00:00+5:00"), "offset"},
        {S("2016-04-28T20:00:00+24:00"), "offset"},
        {S("2016-04-28T20:00:00+01:60"), "offset"},
        {S("2016-04-28T20:00:00Z\0"), "byte 0x00"},
        {S("2016-04-28\0T20:00"), "byte 0x00"},
        {S("2016\0-04-28"), "'-'"},
        {S("now"), "year"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = 42;
        hs_err_clear();
        int rc = hs_time_parse_iso(cases[i].text, cases[i].len, &t);
        const char *d = hs_err_detail();
        if (rc != HS_ERR_PARSE || strstr(d, cases[i].detail) == NULL)
            fprintf(stderr, "\ncase %zu: rc %d detail '%s'\n", i, rc, d);
        CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(d, cases[i].detail));
        CU_ASSERT_PTR_NOT_NULL(strstr(d, "ISO-8601"));
        CU_ASSERT_EQUAL(t, 42); /* untouched on failure */
    }
    /* The text is read up to len, not to a NUL. */
    int64_t t;
    CU_ASSERT_EQUAL(hs_time_parse_iso("2016-04-28T20:00:00Zjunk", 20, &t), HS_OK);
    CU_ASSERT_EQUAL(t, T2016);
    CU_ASSERT_EQUAL(hs_time_parse_iso(NULL, 0, &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_time_parse_iso(NULL, 3, &t), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_time_parse_iso("2016-04-28", 10, NULL), HS_ERR_INVAL);
}

static void test_iso_range(void)
{
    static const char *out_of_range[] = {
        "0000-12-31T23:59:59Z",      "0000-01-01",
        "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:30-00:31",
    };
    for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++) {
        int64_t t = 42;
        CU_ASSERT_EQUAL(parse_iso(out_of_range[i], &t), HS_ERR_RANGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "outside"));
        CU_ASSERT_EQUAL(t, 42);
    }
    int64_t t;
    CU_ASSERT_EQUAL(parse_iso("9999-12-31T23:30-00:29", &t), HS_OK);
    CU_ASSERT_EQUAL(t, HS_TIME_MAX - 60 * HS_US_PER_S + 1);
}

static void test_iso_format(void)
{
    static const struct {
        int64_t us;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {T2016, "2016-04-28T20:00:00Z"},
        {T2016 + 123, "2016-04-28T20:00:00.000123Z"},
        {T2016 + 500000, "2016-04-28T20:00:00.500000Z"},
        {-1, "1969-12-31T23:59:59.999999Z"},
        {-HS_US_PER_S, "1969-12-31T23:59:59Z"},
        {-HS_US_PER_DAY, "1969-12-31T00:00:00Z"},
        {951825600LL * HS_US_PER_S, "2000-02-29T12:00:00Z"},
        {HS_TIME_MIN, "0001-01-01T00:00:00Z"},
        {HS_TIME_MAX, "9999-12-31T23:59:59.999999Z"},
        {HS_TIME_MIN - 1, "0001-01-01T00:00:00Z"},
        {INT64_MIN, "0001-01-01T00:00:00Z"},
        {HS_TIME_MAX + 1, "9999-12-31T23:59:59.999999Z"},
        {INT64_MAX, "9999-12-31T23:59:59.999999Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[HS_TIME_ISO_MAX];
        size_t n = hs_time_format_iso(cases[i].us, buf);
        CU_ASSERT_STRING_EQUAL(buf, cases[i].text);
        CU_ASSERT_EQUAL(n, strlen(cases[i].text));
    }
}

/* A small deterministic generator (xorshift64*) for the round-trip sweeps. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void test_iso_round_trips(void)
{
    static const int64_t fixed[] = {
        0,
        1,
        -1,
        999999,
        -999999,
        HS_US_PER_S,
        -HS_US_PER_S,
        T2016,
        T2016 + 1,
        HS_TIME_MIN,
        HS_TIME_MIN + 1,
        HS_TIME_MAX,
        HS_TIME_MAX - 1,
        951782400LL * HS_US_PER_S,    /* 2000-02-29 */
        -2203977600LL * HS_US_PER_S,  /* 1900-02-28 */
        -12219292800LL * HS_US_PER_S, /* 1582-10-15 */
    };
    char buf[HS_TIME_ISO_MAX];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        size_t n = hs_time_format_iso(fixed[i], buf);
        int64_t t = 0;
        CU_ASSERT_EQUAL(hs_time_parse_iso(buf, n, &t), HS_OK);
        CU_ASSERT_EQUAL(t, fixed[i]);
    }
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    uint64_t span = (uint64_t)(HS_TIME_MAX - HS_TIME_MIN) + 1;
    int failures = 0;
    for (int i = 0; i < 200000; i++) {
        int64_t us = HS_TIME_MIN + (int64_t)(rng_next(&state) % span);
        if (i % 2 == 0)
            us -= us % HS_US_PER_S; /* also whole seconds, which format without a fraction */
        if (us < HS_TIME_MIN)
            us += HS_US_PER_S;
        size_t n = hs_time_format_iso(us, buf);
        int64_t t = 0;
        if (hs_time_parse_iso(buf, n, &t) != HS_OK || t != us || n != (us % HS_US_PER_S ? 27 : 20))
            failures++;
    }
    CU_ASSERT_EQUAL(failures, 0);
}

/*
 * Walks every day from 0001-01-01 to 9999-12-31 with a naive calendar (add
 * one day, carry into month and year) and checks that consecutive dates are
 * exactly one day apart and that formatting gives the date back.
 */
static void test_iso_every_day(void)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 1, m = 1, d = 1, failures = 0;
    int64_t expect = HS_TIME_MIN;
    char text[48], buf[HS_TIME_ISO_MAX];
    for (;;) {
        snprintf(text, sizeof text, "%04d-%02d-%02d", y, m, d);
        int64_t t = 0;
        if (hs_time_parse_iso(text, 10, &t) != HS_OK || t != expect)
            failures++;
        hs_time_format_iso(expect, buf);
        if (memcmp(buf, text, 10) != 0 || strcmp(buf + 10, "T00:00:00Z") != 0)
            failures++;
        if (y == 1970 && m == 1 && d == 1 && t != 0)
            failures++;
        if (y == 9999 && m == 12 && d == 31)
            break;
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        int dim = m == 2 && leap ? 29 : mdays[m - 1];
        if (++d > dim) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
        expect += HS_US_PER_DAY;
    }
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL(expect, HS_TIME_MAX + 1 - HS_US_PER_DAY);
}

static void test_epoch_parse(void)
{
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"1461873600", T2016},
        {"+1461873600", T2016},
        {"0", 0},
        {"-0", 0},
        {"-12.5", -12500000},
        {"1461873600.123456", T2016 + 123456},
        {"1461873600.1234569", T2016 + 123456},
        {"1.000001", 1000001},   /* a double would give 1000000 */
        {"-1.000001", -1000001}, /* likewise */
        {"1.000004", 1000004},
        {"-0.0000019", -1},
        {"0.0000009", 0},
        {".5", 500000},
        {"5.", 5000000},
        {"1.4618736e9", T2016},
        {"1.4618736E+9", T2016},
        {"1461873600123456e-6", T2016 + 123456},
        {"14618736001234567e-7", T2016 + 123456},
        {"5E-1", 500000},
        {"1e-7", 0},
        {"0e999999999999", 0},
        {"0.0000000000000000000001e22", 1000000},
        {"000000000000000000000000001", 1000000},
        {"253402300799.999999", HS_TIME_MAX},
        {"-62135596800", HS_TIME_MIN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = 42;
        int rc = hs_time_parse_epoch(cases[i].text, strlen(cases[i].text), &t);
        if (rc != HS_OK || t != cases[i].us)
            fprintf(stderr, "\n%s: rc %d t %lld\n", cases[i].text, rc, (long long)t);
        CU_ASSERT_EQUAL(rc, HS_OK);
        CU_ASSERT_EQUAL(t, cases[i].us);
    }
    /* Every microsecond of a few seconds, written out, parses exactly. */
    int failures = 0;
    for (int64_t us = -3000000; us <= 3000000; us += 7) {
        char text[40];
        int64_t mag = us < 0 ? -us : us;
        snprintf(text, sizeof text, "%s%lld.%06lld", us < 0 ? "-" : "", (long long)(mag / 1000000),
                 (long long)(mag % 1000000));
        int64_t t;
        if (hs_time_parse_epoch(text, strlen(text), &t) != HS_OK || t != us)
            failures++;
    }
    CU_ASSERT_EQUAL(failures, 0);
}

static void test_epoch_rejects(void)
{
    static const struct {
        const char *text;
        size_t len;
    } bad[] = {
        {S("")},     {S("-")},   {S("+")},          {S(".")},    {S("e5")},
        {S("1e")},   {S("1e+")}, {S("1.2.3")},      {S(" 1")},   {S("1 ")},
        {S("0x10")}, {S("inf")}, {S("nan")},        {S("1,5")},  {S("1\0")},
        {S("--1")},  {S("1s")},  {S("2016-04-28")}, {S("-.e1")}, {S("1e1.5")},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 42;
        hs_err_clear();
        CU_ASSERT_EQUAL(hs_time_parse_epoch(bad[i].text, bad[i].len, &t), HS_ERR_PARSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "epoch seconds"));
        CU_ASSERT_EQUAL(t, 42);
    }
    static const char *too_big[] = {"253402300800", "-62135596800.000001",
                                    "1e20",         "99999999999999999999999",
                                    "-1e300",       "1e999999999999999"};
    for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++) {
        int64_t t = 42;
        CU_ASSERT_EQUAL(hs_time_parse_epoch(too_big[i], strlen(too_big[i]), &t), HS_ERR_RANGE);
        CU_ASSERT_EQUAL(t, 42);
    }
}

static void test_duration_parse(void)
{
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"-60s", -60 * HS_US_PER_S},
        {"-1h30m", -90 * HS_US_PER_MIN},
        {"1h30m", 90 * HS_US_PER_MIN},
        {"+30s", 30 * HS_US_PER_S},
        {"2d", 2 * HS_US_PER_DAY},
        {"1.5s", 1500000},
        {"250ms", 250000},
        {"10us", 10},
        {"60", 60 * HS_US_PER_S},
        {"-0.5", -500000},
        {"0", 0},
        {"0s", 0},
        {"-0s", 0},
        {"1d2h3m4s5ms6us",
         HS_US_PER_DAY + 2 * HS_US_PER_H + 3 * HS_US_PER_MIN + 4 * HS_US_PER_S + 5006},
        {"1.5h", 90 * HS_US_PER_MIN},
        {"0.5d", 12 * HS_US_PER_H},
        {"0.123456789d", 10666666569LL}, /* 10666666569.6 truncated */
        {"1.0000009s", 1000000},
        {"0.5ms", 500},
        {"1.9us", 1},
        {".5s", 500000},
        {"1m0.5s", 60500000},
        {"9223372036854775807us", INT64_MAX},
        {"-9223372036854775807us", -INT64_MAX},
        {"106751991d4h54s775ms807us", INT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t d = 42;
        int rc = hs_duration_parse(cases[i].text, strlen(cases[i].text), &d);
        if (rc != HS_OK || d != cases[i].us)
            fprintf(stderr, "\n%s: rc %d (%s) d %lld\n", cases[i].text, rc, hs_err_detail(),
                    (long long)d);
        CU_ASSERT_EQUAL(rc, HS_OK);
        CU_ASSERT_EQUAL(d, cases[i].us);
    }
}

static void test_duration_rejects(void)
{
    static const struct {
        const char *text;
        size_t len;
        const char *detail;
    } bad[] = {
        {S(""), "empty"},
        {S("-"), "no number"},
        {S("--1s"), "repeated sign"},
        {S("+-1s"), "repeated sign"},
        {S("1x"), "unknown unit 'x'"},
        {S("1hh"), "unknown unit 'hh'"},
        {S("1h30"), "expected a unit"},
        {S("30m1h"), "'h'"},
        {S("1h1h"), "'h'"},
        {S("1s1ms1s"), "'s'"},
        {S("s"), "expected a number"},
        {S("1 s"), "expected a unit"},
        {S("1S"), "expected a unit"},
        {S(".s"), "expected a number"},
        {S("1s "), "expected a number"},
        {S("1s\0"), "byte 0x00"},
        {S("1s-1s"), "expected a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t d = 42;
        hs_err_clear();
        int rc = hs_duration_parse(bad[i].text, bad[i].len, &d);
        const char *detail = hs_err_detail();
        if (rc != HS_ERR_PARSE || strstr(detail, bad[i].detail) == NULL)
            fprintf(stderr, "\ncase %zu: rc %d detail '%s'\n", i, rc, detail);
        CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(detail, bad[i].detail));
        CU_ASSERT_EQUAL(d, 42);
    }
    static const char *too_big[] = {"9223372036854775808us", "106751992d", "99999999999999999999s",
                                    "106751991d4h54s775ms808us", "-9223372036854775809us"};
    for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++) {
        int64_t d = 42;
        CU_ASSERT_EQUAL(hs_duration_parse(too_big[i], strlen(too_big[i]), &d), HS_ERR_RANGE);
        CU_ASSERT_EQUAL(d, 42);
    }
    /* The most negative duration has a magnitude one above the largest positive one. */
    int64_t d = 42;
    CU_ASSERT_EQUAL(hs_duration_parse("-9223372036854775808us", 22, &d), HS_OK);
    CU_ASSERT_EQUAL(d, INT64_MIN);
    char text[HS_DURATION_MAX];
    size_t n = hs_duration_format(INT64_MIN, text);
    CU_ASSERT_EQUAL(hs_duration_parse(text, n, &d), HS_OK);
    CU_ASSERT_EQUAL(d, INT64_MIN);
}

static void test_duration_format(void)
{
    static const struct {
        int64_t us;
        const char *text;
    } cases[] = {
        {0, "0s"},
        {90 * HS_US_PER_MIN, "1h30m"},
        {-90 * HS_US_PER_MIN, "-1h30m"},
        {-60 * HS_US_PER_S, "-1m"},
        {59 * HS_US_PER_S, "59s"},
        {500000, "500ms"},
        {1250000, "1s250ms"},
        {HS_US_PER_DAY + HS_US_PER_S, "1d1s"},
        {2 * HS_US_PER_DAY, "2d"},
        {1, "1us"},
        {1001, "1ms1us"},
        {INT64_MAX, "106751991d4h54s775ms807us"},
        {INT64_MIN, "-106751991d4h54s775ms808us"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[HS_DURATION_MAX];
        size_t n = hs_duration_format(cases[i].us, buf);
        CU_ASSERT_STRING_EQUAL(buf, cases[i].text);
        CU_ASSERT_EQUAL(n, strlen(cases[i].text));
    }
}

static void test_duration_round_trips(void)
{
    uint64_t state = 12345;
    int failures = 0;
    char buf[HS_DURATION_MAX];
    for (int i = 0; i < 100000; i++) {
        uint64_t r = rng_next(&state);
        int64_t us = (int64_t)r;
        /* Mix huge values with small ones and with whole units. */
        switch (i % 4) {
        case 1:
            us %= 10 * HS_US_PER_DAY;
            break;
        case 2:
            us = (us % 1000) * HS_US_PER_MIN;
            break;
        case 3:
            us %= 100000;
            break;
        default:
            break;
        }
        if (us == INT64_MIN)
            continue; /* the only value whose text does not parse back (checked above) */
        size_t n = hs_duration_format(us, buf);
        int64_t back = 0;
        if (n >= HS_DURATION_MAX || hs_duration_parse(buf, n, &back) != HS_OK || back != us)
            failures++;
    }
    CU_ASSERT_EQUAL(failures, 0);
}

static void test_parse_user(void)
{
    const int64_t now = T2016 + 123456;
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"now", T2016 + 123456},
        {"+30s", T2016 + 123456 + 30 * HS_US_PER_S},
        {"-1h", T2016 + 123456 - HS_US_PER_H},
        {"-1h30m", T2016 + 123456 - 90 * HS_US_PER_MIN},
        {"-0s", T2016 + 123456},
        {"2016-04-28T20:00:00Z", T2016},
        {"2016-04-28", 1461801600LL * HS_US_PER_S},
        {"1461873600", T2016},
        {"1461873600.5", T2016 + 500000},
        {"1.4618736e9", T2016},
        {"-60", -60 * HS_US_PER_S}, /* a bare number is epoch seconds, even signed */
        {"+60", 60 * HS_US_PER_S},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = 42;
        int rc = hs_time_parse_user(cases[i].text, strlen(cases[i].text), now, &t);
        if (rc != HS_OK || t != cases[i].us)
            fprintf(stderr, "\n%s: rc %d (%s)\n", cases[i].text, rc, hs_err_detail());
        CU_ASSERT_EQUAL(rc, HS_OK);
        CU_ASSERT_EQUAL(t, cases[i].us);
    }
    int64_t t = 42;
    CU_ASSERT_EQUAL(hs_time_parse_user(S("30s"), now, &t), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "sign"));
    CU_ASSERT_EQUAL(hs_time_parse_user(S("yesterday"), now, &t), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "ISO-8601"));
    CU_ASSERT_EQUAL(hs_time_parse_user(S(""), now, &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_time_parse_user(S("NOW"), now, &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_time_parse_user(S("now "), now, &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_time_parse_user(S("2016-13-01"), now, &t), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "month 13"));
    CU_ASSERT_EQUAL(hs_time_parse_user(S("-1x"), now, &t), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "unknown unit"));
    CU_ASSERT_EQUAL(hs_time_parse_user(S("1e1.5"), now, &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_time_parse_user(S("-1us"), HS_TIME_MIN, &t), HS_ERR_RANGE);
    CU_ASSERT_EQUAL(hs_time_parse_user(S("+1us"), HS_TIME_MAX, &t), HS_ERR_RANGE);
    CU_ASSERT_EQUAL(hs_time_parse_user(S("+1us"), INT64_MAX, &t), HS_ERR_RANGE);
    CU_ASSERT_EQUAL(hs_time_parse_user(S("1e300"), now, &t), HS_ERR_RANGE);
    CU_ASSERT_EQUAL(t, 42);
    CU_ASSERT_EQUAL(hs_time_parse_user(S("-1us"), HS_TIME_MIN + 1, &t), HS_OK);
    CU_ASSERT_EQUAL(t, HS_TIME_MIN);
}

static void test_clocks(void)
{
    int64_t now = hs_time_now_us();
    int64_t y2020, y2200;
    CU_ASSERT_EQUAL(parse_iso("2020-01-01", &y2020), HS_OK);
    CU_ASSERT_EQUAL(parse_iso("2200-01-01", &y2200), HS_OK);
    CU_ASSERT(now > y2020 && now < y2200);
    int64_t m1 = hs_time_mono_us();
    int64_t m2 = hs_time_mono_us();
    CU_ASSERT(m2 >= m1);
    CU_ASSERT(m1 > 0);
}

/* A deadline us from now: later than the clock by about us, nanoseconds normalised. */
static void test_deadline_after(void)
{
    int64_t steps[] = {0, 1, 999999, 1000000, 100000, 2500000, 30 * 1000000LL};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct timespec before;
        clock_gettime(CLOCK_REALTIME, &before);
        struct timespec d = hs_time_deadline_after(steps[i]);
        CU_ASSERT_TRUE(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
        int64_t b_us = (int64_t)before.tv_sec * 1000000 + before.tv_nsec / 1000;
        int64_t d_us = (int64_t)d.tv_sec * 1000000 + d.tv_nsec / 1000;
        CU_ASSERT_TRUE(d_us - b_us >= steps[i]);
        CU_ASSERT_TRUE(d_us - b_us < steps[i] + 1000000); /* the clock moved less than a second */
    }
}

HS_TEST_INIT(time)
{
    HS_TEST_SUITE_BEGIN("time");
    HS_TEST(test_iso_known_instants);
    HS_TEST(test_iso_fraction_digits);
    HS_TEST(test_iso_leap_days);
    HS_TEST(test_iso_rejects_garbage);
    HS_TEST(test_iso_range);
    HS_TEST(test_iso_format);
    HS_TEST(test_iso_round_trips);
    HS_TEST(test_iso_every_day);
    HS_TEST(test_epoch_parse);
    HS_TEST(test_epoch_rejects);
    HS_TEST(test_duration_parse);
    HS_TEST(test_duration_rejects);
    HS_TEST(test_duration_format);
    HS_TEST(test_duration_round_trips);
    HS_TEST(test_parse_user);
    HS_TEST(test_clocks);
    HS_TEST(test_deadline_after);
    return 0;
}
