/*
 * Tests of hs_promql: selectors and number literals, matching series,
 * label-set JSON, time and duration parameters, and the value and
 * timestamp text of Prometheus's JSON. Expected values are worked out by
 * hand from the PromQL and Prometheus API rules (noted beside them).
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_promql.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int parse(const char *q, hs_pm_query *out)
{
    return hs_pm_parse(q, strlen(q), out);
}

/*
 * Whether q is refused with HS_ERR_PARSE and a detail containing each of
 * the (up to two) phrases; prints the detail when it is not.
 */
static bool fails_with(const char *q, const char *phrase, const char *phrase2)
{
    hs_pm_query pq;
    int rc = parse(q, &pq);
    const char *d = hs_err_detail();
    bool ok = rc == HS_ERR_PARSE && strstr(d, phrase) != NULL &&
              (phrase2 == NULL || strstr(d, phrase2) != NULL);
    if (!ok)
        fprintf(stderr, "\nquery %s: rc %d, detail \"%s\"\n", q, rc, d);
    /* A failed parse leaves an empty query, which may be freed. */
    if (rc != HS_OK && (pq.n != 0 || pq.m != NULL || pq.is_number))
        ok = false;
    hs_pm_query_free(&pq);
    return ok;
}

/* The same for valid PromQL that is not supported here. */
static bool unsupported(const char *q, const char *phrase)
{
    return fails_with(q, phrase,
                      "only plain selectors such as name{label=\"value\"} and number "
                      "literals are supported");
}

/* Whether query q parses and selects the stream id sid. */
static bool selects(const char *q, const char *sid_text)
{
    hs_pm_query pq;
    hs_streamid *sid = NULL;
    if (parse(q, &pq) != HS_OK) {
        fprintf(stderr, "\nquery %s: %s\n", q, hs_err_detail());
        return false;
    }
    bool r = false;
    if (hs_streamid_parse(sid_text, strlen(sid_text), &sid) == HS_OK)
        r = hs_pm_match_sid(&pq, sid);
    hs_streamid_destroy(sid);
    hs_pm_query_free(&pq);
    return r;
}

/* The number query q evaluates to, or -12345 when it does not parse as one. */
static double number(const char *q)
{
    hs_pm_query pq;
    if (parse(q, &pq) != HS_OK || !pq.is_number) {
        fprintf(stderr, "\nquery %s: %s\n", q, hs_err_detail());
        hs_pm_query_free(&pq);
        return -12345;
    }
    double v = pq.number;
    CU_ASSERT_EQUAL(pq.n, 0);
    CU_ASSERT_PTR_NULL(pq.m);
    CU_ASSERT_PTR_NULL(hs_pm_name(&pq));
    CU_ASSERT_FALSE(hs_pm_match(&pq, "x", NULL, NULL, 0));
    hs_pm_query_free(&pq);
    return v;
}

static void test_bare_name(void)
{
    static const char *const forms[] = {"temp", "temp{}", "  temp { }\n", "temp{} # comment",
                                        "# first\ntemp"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        hs_pm_query q;
        CU_ASSERT_EQUAL_FATAL(parse(forms[i], &q), HS_OK);
        CU_ASSERT_FALSE(q.is_number);
        CU_ASSERT_EQUAL_FATAL(q.n, 1);
        CU_ASSERT_STRING_EQUAL(q.m[0].name, "__name__");
        CU_ASSERT_STRING_EQUAL(q.m[0].value, "temp");
        CU_ASSERT_EQUAL(q.m[0].op, HS_PM_EQ);
        CU_ASSERT_PTR_NULL(q.m[0].re);
        CU_ASSERT_STRING_EQUAL(hs_pm_name(&q), "temp");
        hs_pm_query_free(&q);
        CU_ASSERT_EQUAL(q.n, 0);
        CU_ASSERT_PTR_NULL(q.m);
    }
    /* Colons belong to metric names; keywords alone are names, as PromQL reads them. */
    CU_ASSERT(selects("job:rate_5m", "job:rate_5m"));
    CU_ASSERT(selects("sum", "sum/a=1"));
    CU_ASSERT(selects("offset", "offset"));
    CU_ASSERT(selects("by{a=\"1\"}", "by/a=1"));
    CU_ASSERT_FALSE(selects("temp", "temperature"));
    hs_pm_query_free(NULL);
}

static void test_matcher_ops(void)
{
    hs_pm_query q;
    const char *text = "temp{house=\"1\", room!=\"k\",zone=~\"a|b\" , floor!~\"[0-9]+\",}";
    CU_ASSERT_EQUAL_FATAL(parse(text, &q), HS_OK);
    CU_ASSERT_EQUAL_FATAL(q.n, 5);
    static const char *const names[] = {"__name__", "house", "room", "zone", "floor"};
    static const char *const values[] = {"temp", "1", "k", "a|b", "[0-9]+"};
    static const hs_pm_op ops[] = {HS_PM_EQ, HS_PM_EQ, HS_PM_NE, HS_PM_RE, HS_PM_NRE};
    for (size_t i = 0; i < 5; i++) {
        CU_ASSERT_STRING_EQUAL(q.m[i].name, names[i]);
        CU_ASSERT_STRING_EQUAL(q.m[i].value, values[i]);
        CU_ASSERT_EQUAL(q.m[i].op, ops[i]);
        CU_ASSERT_EQUAL(q.m[i].re != NULL, ops[i] == HS_PM_RE || ops[i] == HS_PM_NRE);
    }
    CU_ASSERT_STRING_EQUAL(hs_pm_name(&q), "temp");

    const char *keys[] = {"floor", "house", "room", "zone"};
    const char *vals[] = {"top", "1", "x", "a"};
    CU_ASSERT(hs_pm_match(&q, "temp", keys, vals, 4));
    CU_ASSERT_FALSE(hs_pm_match(&q, "temp2", keys, vals, 4)); /* __name__ = */
    vals[1] = "2";
    CU_ASSERT_FALSE(hs_pm_match(&q, "temp", keys, vals, 4)); /* house = */
    vals[1] = "1";
    vals[2] = "k";
    CU_ASSERT_FALSE(hs_pm_match(&q, "temp", keys, vals, 4)); /* room != */
    vals[2] = "x";
    vals[3] = "b";
    CU_ASSERT(hs_pm_match(&q, "temp", keys, vals, 4)); /* zone =~ a|b */
    vals[3] = "c";
    CU_ASSERT_FALSE(hs_pm_match(&q, "temp", keys, vals, 4));
    vals[3] = "a";
    vals[0] = "12";
    CU_ASSERT_FALSE(hs_pm_match(&q, "temp", keys, vals, 4)); /* floor !~ [0-9]+ */
    /* Without floor, it reads "", which [0-9]+ does not match: selected. */
    CU_ASSERT(hs_pm_match(&q, "temp", keys + 1, vals + 1, 3));
    /* Without zone it is "", which a|b does not match. */
    CU_ASSERT_FALSE(hs_pm_match(&q, "temp", keys, vals, 3));
    hs_pm_query_free(&q);

    /* All four quote and spacing forms read the same. */
    CU_ASSERT(selects("temp{ house = '1' }", "temp/house=1"));
    CU_ASSERT(selects("temp{house=`1`}", "temp/house=1"));
    CU_ASSERT(selects("temp{house!=\"2\"}", "temp/house=1"));
    /* Several matchers on one label must all hold. */
    CU_ASSERT(selects("temp{h=~\"[0-9]+\",h!=\"2\"}", "temp/h=1"));
    CU_ASSERT_FALSE(selects("temp{h=~\"[0-9]+\",h!=\"1\"}", "temp/h=1"));
}

static void test_name_label(void)
{
    hs_pm_query q;
    CU_ASSERT_EQUAL_FATAL(parse("{__name__=\"power.w\", house=\"1\"}", &q), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_pm_name(&q), "power.w");
    hs_pm_query_free(&q);
    CU_ASSERT(selects("{__name__=\"power.w\", house=\"1\"}", "power.w/house=1"));
    CU_ASSERT_FALSE(selects("{__name__=\"power.w\", house=\"1\"}", "power.w/house=2"));
    CU_ASSERT_FALSE(selects("{__name__=\"power.w\", house=\"1\"}", "power/house=1"));
    /* Prometheus 3's quoted names: a string alone is the metric name. */
    CU_ASSERT(selects("{\"power.w\", \"room.id\"=\"3\"}", "power.w/room.id=3"));
    CU_ASSERT_FALSE(selects("{\"power.w\", \"room.id\"=\"3\"}", "power.w/room.id=4"));

    /* A regex on the name gives no single name to list. */
    CU_ASSERT_EQUAL_FATAL(parse("{__name__=~\"power\\\\..*\"}", &q), HS_OK);
    CU_ASSERT_STRING_EQUAL(q.m[0].value, "power\\..*");
    CU_ASSERT_PTR_NULL(hs_pm_name(&q));
    CU_ASSERT(hs_pm_match(&q, "power.w", NULL, NULL, 0));
    CU_ASSERT(hs_pm_match(&q, "power.", NULL, NULL, 0));
    CU_ASSERT_FALSE(hs_pm_match(&q, "powerxw", NULL, NULL, 0)); /* \. is a literal dot */
    hs_pm_query_free(&q);
    /* Two equalities on the name: the first is what hs_pm_name reports; nothing matches both. */
    CU_ASSERT_EQUAL_FATAL(parse("{__name__=\"a\",__name__=\"b\"}", &q), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_pm_name(&q), "a");
    CU_ASSERT_FALSE(hs_pm_match(&q, "a", NULL, NULL, 0));
    hs_pm_query_free(&q);

    /* A label key "__name__" is not the name: the name stands for it. */
    CU_ASSERT(selects("{__name__=\"x\"}", "x/__name__=y"));
    CU_ASSERT_FALSE(selects("{__name__=\"y\"}", "x/__name__=y"));
    const char *k[] = {"__name__"}, *v[] = {"y"};
    CU_ASSERT_EQUAL_FATAL(parse("x", &q), HS_OK);
    CU_ASSERT(hs_pm_match(&q, "x", k, v, 1));
    hs_pm_query_free(&q);

    CU_ASSERT(fails_with("temp{__name__=\"x\"}", "metric name must not be set twice", NULL));
    CU_ASSERT(fails_with("temp{\"x\"}", "metric name must not be set twice", NULL));
}

static void test_regex_anchoring(void)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij"
                                  "klmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz";
    hs_pm_query q;
    CU_ASSERT(selects("t{l=~\"a\"}", "t/l=a"));
    CU_ASSERT_FALSE(selects("t{l=~\"a\"}", "t/l=ab"));
    CU_ASSERT_FALSE(selects("t{l=~\"a\"}", "t/l=ba"));
    CU_ASSERT(selects("t{l=~\"a|b\"}", "t/l=b"));
    CU_ASSERT(selects("t{l=~\"a|b\"}", "t/l=a"));
    CU_ASSERT_FALSE(selects("t{l=~\"a|b\"}", "t/l=ab"));
    /* Alternatives that are prefixes of each other: the whole value must match one. */
    CU_ASSERT(selects("t{l=~\"a|ab\"}", "t/l=ab"));
    CU_ASSERT(selects("t{l=~\"(k|kitchen)\"}", "t/l=kitchen"));
    CU_ASSERT_FALSE(selects("t{l!~\"a\"}", "t/l=a"));
    CU_ASSERT(selects("t{l!~\"a\"}", "t/l=ab"));
    CU_ASSERT(selects("t{l=~\"k.*\"}", "t/l=kitchen"));
    CU_ASSERT(selects("t{l=~\"[[:alpha:]]+\"}", "t/l=kitchen"));
    CU_ASSERT_FALSE(selects("t{l=~\"[[:alpha:]]+\"}", "t/l=k1"));
    /* Explicit anchors are harmless. */
    CU_ASSERT(selects("t{l=~\"^a$\"}", "t/l=a"));

    /* A lone ')' would escape a ^( )$ wrapper in glibc: refused, as RE2 does. */
    CU_ASSERT(fails_with("t{l=~\"a)|(b\"}", "regex: unmatched ')'", NULL));
    CU_ASSERT(fails_with("t{l=~\"(a\"}", "regex: unclosed '('", NULL));
    CU_ASSERT(fails_with("t{l=~\"[0-9\"}", "invalid regex '[0-9' for label 'l'", "POSIX extended"));
    CU_ASSERT(fails_with("t{l=~\"\\\\d+\"}", "'\\d' is not POSIX extended syntax", "[0-9]"));
    CU_ASSERT(fails_with("t{l=~\"(a)\\\\1\"}", "back-references", NULL));
    CU_ASSERT(fails_with("t{l=~\"a+*\"}", "a repetition cannot follow a repetition", NULL));
    CU_ASSERT(fails_with("t{l=~\"k.*?\"}", "a repetition cannot follow a repetition", NULL));
    CU_ASSERT(fails_with("t{l=~\"a{2}+\"}", "a repetition cannot follow a repetition", NULL));
    CU_ASSERT(selects("t{l=~\"(a+)*\"}", "t/l=aaa"));
    CU_ASSERT(fails_with("t{l=~\"a{1001}\"}", "multiply to more than 1000", NULL));
    CU_ASSERT(fails_with("t{l=~\"(a{100}){11}\"}", "multiply to more than 1000", NULL));
    /*
     * Size: a group of n letters is n + 1 elements, repeated 1000 times it adds
     * (n + 1) * 999 more: 99 letters make 100 + 99900 = 100000 (the most), 100
     * letters 101 + 100899 = 101000.
     */
    char big[256];
    snprintf(big, sizeof big, "t{l=~\"(%.99s){1000}\"}", letters);
    CU_ASSERT_EQUAL(parse(big, &q), HS_OK);
    hs_pm_query_free(&q);
    snprintf(big, sizeof big, "t{l=~\"(%.100s){1000}\"}", letters);
    CU_ASSERT(fails_with(big, "would expand to more than 100000 elements", NULL));
    /* The regexes of a query count together: 49 letters make 50000, twice is the most. */
    snprintf(big, sizeof big, "t{a=~\"(%.49s){1000}\",b=~\"(%.49s){1000}\"}", letters, letters);
    CU_ASSERT_EQUAL(parse(big, &q), HS_OK);
    hs_pm_query_free(&q);
    snprintf(big, sizeof big, "t{a=~\"(%.49s){1000}\",b=~\"(%.49s){1000}\",c=~\"x\"}", letters,
             letters);
    CU_ASSERT(fails_with(big, "would expand to more than 100000 elements", NULL));
    /* (a{10}){100} is 1000 copies, the most allowed: exactly 1000 a's match. */
    char a[1002];
    memset(a, 'a', sizeof a);
    a[1000] = '\0';
    CU_ASSERT_EQUAL_FATAL(parse("t{l=~\"(a{10}){100}\"}", &q), HS_OK);
    const char *k[] = {"l"}, *v[] = {a};
    CU_ASSERT(hs_pm_match(&q, "t", k, v, 1));
    a[1000] = 'a';
    a[1001] = '\0';
    CU_ASSERT_FALSE(hs_pm_match(&q, "t", k, v, 1));
    hs_pm_query_free(&q);
}

static void test_missing_label_is_empty(void)
{
    /* l="" selects the series without l; l!="" those with it. */
    CU_ASSERT(selects("t{zone=\"\"}", "t/house=1"));
    CU_ASSERT_FALSE(selects("t{zone=\"\"}", "t/zone=a"));
    CU_ASSERT_FALSE(selects("t{zone!=\"\"}", "t/house=1"));
    CU_ASSERT(selects("t{zone!=\"\"}", "t/zone=a"));
    CU_ASSERT(selects("t{zone=~\"a|\"}", "t"));
    CU_ASSERT(selects("t{zone!~\".+\"}", "t"));
    CU_ASSERT(selects("{zone!=\"\"}", "anything/zone=a"));
    CU_ASSERT(selects("{zone=~\".+\"}", "anything/zone=a"));

    /* Prometheus's rule: at least one matcher must not match "". */
    const char *msg = "vector selector must contain at least one non-empty matcher";
    CU_ASSERT(fails_with("{}", msg, NULL));
    CU_ASSERT(fails_with("{zone=\"\"}", msg, NULL));
    CU_ASSERT(fails_with("{zone=~\".*\"}", msg, NULL));
    CU_ASSERT(fails_with("{zone!~\"a\", x=~\"\"}", msg, NULL));
    CU_ASSERT(fails_with("{__name__=\"\"}", msg, NULL));
    CU_ASSERT(fails_with("{\"\"}", msg, NULL));
}

/* The unescaped value of the single label matcher of "t{l=<lit>}", or NULL. */
static char *value_of(const char *lit)
{
    static char out[256];
    char text[256];
    snprintf(text, sizeof text, "t{l=%s}", lit);
    hs_pm_query q;
    if (parse(text, &q) != HS_OK) {
        fprintf(stderr, "\nquery %s: %s\n", text, hs_err_detail());
        return NULL;
    }
    snprintf(out, sizeof out, "%s", q.n == 2 ? q.m[1].value : "?");
    hs_pm_query_free(&q);
    return out;
}

static void test_escapes(void)
{
    const char *v;
    /* Double quotes: \" \\ \n \t, \x41 and octal \101 are 'A', é is C3 A9, 😀 is F0 9F 98 80. */
    v = value_of("\"a\\\"b\\\\c\\n\\t\\x41\\101\\u00e9\\U0001F600\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(v, "a\"b\\c\n\tAA\xc3\xa9\xf0\x9f\x98\x80");
    v = value_of("\"\\a\\b\\f\\r\\v\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(v, "\a\b\f\r\v");
    /* Single quotes: \' is the quote. */
    v = value_of("'it\\'s \\x41'");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(v, "it's A");
    /* The other quote needs no escape. */
    v = value_of("'say \"hi\"'");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(v, "say \"hi\"");
    /* Bytes escaped one by one may form UTF-8. */
    v = value_of("\"\\xc3\\xa9\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(v, "\xc3\xa9");
    /* Backticks are raw: backslashes stay, line breaks are allowed. */
    v = value_of("`a\\n\"\nb`");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(v, "a\\n\"\nb");
    /* UTF-8 in the text is kept. */
    v = value_of("\"K\xc3\xbc"
                 "che\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(v, "K\xc3\xbc"
                              "che");

    /* As in Go, only the enclosing quote may be escaped. */
    CU_ASSERT(fails_with("t{l=\"\\'\"}", "unknown escape sequence '\\''", NULL));
    CU_ASSERT(fails_with("t{l='\\\"'}", "unknown escape sequence '\\\"'", NULL));
    CU_ASSERT(fails_with("t{l=\"\\q\"}", "unknown escape sequence '\\q'", NULL));
    CU_ASSERT(fails_with("t{l=\"\\x4\"}", "the escape '\\x' needs 2 hex digits", NULL));
    CU_ASSERT(fails_with("t{l=\"\\u12\"}", "the escape '\\u' needs 4 hex digits", NULL));
    CU_ASSERT(fails_with("t{l=\"\\18\"}", "an octal escape needs 3 octal digits", NULL));
    CU_ASSERT(fails_with("t{l=\"\\400\"}", "invalid Unicode code point", NULL));
    CU_ASSERT(fails_with("t{l=\"\\ud800\"}", "invalid Unicode code point", NULL));
    CU_ASSERT(fails_with("t{l=\"\\U00110000\"}", "invalid Unicode code point", NULL));
    CU_ASSERT(fails_with("t{l=\"\\x00\"}", "strings cannot contain NUL", NULL));
    CU_ASSERT(fails_with("t{l=\"\\xff\"}", "not valid UTF-8 once unescaped", NULL));
    CU_ASSERT(fails_with("t{l=\"\xff\"}", "invalid UTF-8 in a string", NULL));
    CU_ASSERT(fails_with("t{l=`\xc3`}", "invalid UTF-8 in a string", NULL));
    CU_ASSERT(fails_with("t{l=\"abc}", "query at offset 4: unterminated quoted string", NULL));
    CU_ASSERT(fails_with("t{l=\"a\nb\"}", "a line break must be written \\n", NULL));
    CU_ASSERT(fails_with("t{l=`abc}", "unterminated raw string", NULL));
    CU_ASSERT(fails_with("t{l=\"\\", "escape sequence not terminated", NULL));

    /* An embedded NUL byte in the query text. */
    hs_pm_query q;
    CU_ASSERT_EQUAL(hs_pm_parse("t{l=\"a\0\"}", 9, &q), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "strings cannot contain NUL"));
}

static void test_numbers(void)
{
    CU_ASSERT_EQUAL(number("1"), 1);
    CU_ASSERT_EQUAL(number("-2.5"), -2.5);
    CU_ASSERT_EQUAL(number("1e3"), 1000);
    CU_ASSERT_EQUAL(number("2.5E-1"), 0.25);
    CU_ASSERT_EQUAL(number(".5"), 0.5);
    CU_ASSERT_EQUAL(number("5."), 5);
    CU_ASSERT_EQUAL(number("0x1f"), 31);
    CU_ASSERT_EQUAL(number("0X_1F"), 31);
    CU_ASSERT_EQUAL(number("010"), 8); /* a leading 0 is octal, as Go's ParseInt reads it */
    CU_ASSERT_EQUAL(number("09"), 9);  /* not octal: read as a float */
    CU_ASSERT_EQUAL(number("1_000"), 1000);
    CU_ASSERT_EQUAL(number("+7"), 7);
    /* Above INT64_MAX, ParseFloat reads it. */
    CU_ASSERT_EQUAL(number("100000000000000000000"), 1e20);
    double inf = number("Inf");
    CU_ASSERT(isinf(inf) && inf > 0);
    inf = number("-inf");
    CU_ASSERT(isinf(inf) && inf < 0);
    CU_ASSERT(isnan(number("NaN")));
    CU_ASSERT(isnan(number("nan")));

    /* Grafana's test query, and the usual precedence and associativity. */
    CU_ASSERT_EQUAL(number("1+1"), 2);
    CU_ASSERT_EQUAL(number(" 1 + 1 "), 2);
    CU_ASSERT_EQUAL(number("2*3+4"), 10);
    CU_ASSERT_EQUAL(number("2+3*4"), 14);
    CU_ASSERT_EQUAL(number("10/4"), 2.5);
    CU_ASSERT_EQUAL(number("1-2-3"), -4); /* (1-2)-3 */
    CU_ASSERT_EQUAL(number("8/2/2"), 2);  /* (8/2)/2 */
    CU_ASSERT_EQUAL(number("-2*-3"), 6);
    CU_ASSERT_EQUAL(number("1 - -1"), 2);
    CU_ASSERT_EQUAL(number("--1"), 1);
    double d = number("1/0");
    CU_ASSERT(isinf(d) && d > 0);
    CU_ASSERT(isnan(number("0/0")));
    CU_ASSERT(isnan(number("Inf-Inf")));

    CU_ASSERT(fails_with("1_000.5", "underscores are allowed only in integer literals", NULL));
    CU_ASSERT(fails_with("1__0", "bad number syntax: '1__0'", NULL));
    CU_ASSERT(fails_with("1e", "bad number syntax: '1e'", NULL));
    CU_ASSERT(fails_with("0x", "bad number syntax", NULL));
    CU_ASSERT(fails_with("0x1.8", "bad number syntax", NULL));
    CU_ASSERT(fails_with("1x", "bad number syntax: '1x'", NULL));
    CU_ASSERT(fails_with("1.2.3", "bad number syntax", NULL));
    CU_ASSERT(fails_with("1e400", "number '1e400' is out of range", NULL));
    CU_ASSERT(fails_with("0xffffffffffffffffff", "out of range", NULL));
    CU_ASSERT(fails_with("1 +", "expected a number after '+', found end of input", NULL));
    CU_ASSERT(fails_with("1 * ,", "expected a number after '*', found ','", NULL));
    CU_ASSERT(unsupported("5m", "a duration literal such as '5m' is not supported"));
}

static void test_unsupported(void)
{
    CU_ASSERT(unsupported("rate(x[5m])", "query at offset 0: the function call 'rate(...)'"));
    CU_ASSERT(unsupported("abs (x)", "the function call 'abs(...)'"));
    CU_ASSERT(unsupported("sum(x)", "the aggregation 'sum(...)'"));
    CU_ASSERT(unsupported("sum by (a) (x)", "the aggregation 'sum(...)'"));
    CU_ASSERT(unsupported("topk(3, x)", "the aggregation 'topk(...)'"));
    CU_ASSERT(unsupported("x[5m]", "query at offset 1: range and subquery selectors"));
    CU_ASSERT(unsupported("x{a=\"1\"}[5m:1m]", "range and subquery selectors"));
    CU_ASSERT(unsupported("x offset 5m", "query at offset 2: the offset modifier"));
    CU_ASSERT(unsupported("x @ 100", "the @ modifier"));
    CU_ASSERT(unsupported("x + y", "the binary operator '+' on a selector"));
    CU_ASSERT(unsupported("x / 2", "the binary operator '/' on a selector"));
    CU_ASSERT(unsupported("1 + x", "the operator '+' on a selector"));
    CU_ASSERT(unsupported("2 * {a=\"1\"}", "the operator '*' on a selector"));
    CU_ASSERT(unsupported("-x", "the operator '-' on a selector"));
    CU_ASSERT(unsupported("1 + rate(x[1m])", "the function call 'rate(...)'"));
    CU_ASSERT(unsupported("x and y", "the binary operator 'and'"));
    CU_ASSERT(unsupported("x unless y", "the binary operator 'unless'"));
    CU_ASSERT(unsupported("x > 1", "the comparison '>'"));
    CU_ASSERT(unsupported("x == 1", "the comparison '=='"));
    CU_ASSERT(unsupported("1 != 2", "the comparison '!='"));
    CU_ASSERT(unsupported("1 % 2", "the binary operator '%' on a number"));
    CU_ASSERT(unsupported("2 ^ 2", "the binary operator '^' on a number"));
    CU_ASSERT(unsupported("(x)", "parentheses"));
    CU_ASSERT(unsupported("(1+1)", "parentheses"));
    CU_ASSERT(unsupported("1 + (2)", "parentheses"));
    CU_ASSERT(unsupported("\"str\"", "string literals"));
    CU_ASSERT(unsupported("bool", "unexpected keyword 'bool'"));

    /* Plain syntax errors say where and what. */
    CU_ASSERT(fails_with("", "no expression found in input", NULL));
    CU_ASSERT(fails_with("  # only a comment", "no expression found in input", NULL));
    CU_ASSERT(
        fails_with("x on(a) y", "query at offset 2: unexpected 'on' after the selector", NULL));
    CU_ASSERT(fails_with("x y", "query at offset 2: unexpected 'y' after the selector", NULL));
    CU_ASSERT(fails_with("{", "query at offset 0: unclosed '{'", NULL));
    CU_ASSERT(fails_with("x{a=\"1\"", "unclosed '{'", NULL));
    CU_ASSERT(fails_with("x{a}",
                         "expected '=', '!=', '=~' or '!~' after the label name 'a', "
                         "found '}'",
                         NULL));
    CU_ASSERT(fails_with("x{a=1}",
                         "expected a quoted string after the operator of label 'a', "
                         "found '1'",
                         NULL));
    CU_ASSERT(fails_with("x{a=\"1\" b=\"2\"}",
                         "query at offset 8: expected ',' or '}' after a label matcher, found 'b'",
                         NULL));
    CU_ASSERT(fails_with("x{,}", "expected a label name or '}'", NULL));
    CU_ASSERT(fails_with("x{a=\"1\",,}", "expected a label name or '}'", NULL));
    CU_ASSERT(fails_with("x{a:b=\"1\"}", "a label name cannot contain ':'", NULL));
    CU_ASSERT(fails_with("x{\"\"=\"1\"}", "a label name cannot be empty", NULL));
    CU_ASSERT(fails_with("x{a=!\"1\"}", "expected a quoted string", NULL));
    CU_ASSERT(fails_with("\xe2\x82\xac", "unexpected '\xe2\x82\xac'", NULL));
    CU_ASSERT(fails_with("x}", "unexpected '}' after the selector", NULL));

    hs_pm_query q;
    CU_ASSERT_EQUAL(hs_pm_parse(NULL, 1, &q), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_pm_parse("x", 1, NULL), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_pm_parse(NULL, 0, &q), HS_ERR_PARSE);
}

static void test_limits(void)
{
    /* HS_PM_MAX_MATCHERS matchers pass, one more does not. */
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_buf_puts(&b, "x{");
    for (int i = 0; i < HS_PM_MAX_MATCHERS - 1; i++)
        hs_buf_printf(&b, "l%d=\"v\",", i);
    hs_buf_puts(&b, "}");
    hs_pm_query q;
    CU_ASSERT_EQUAL(hs_pm_parse((const char *)b.data, b.len, &q), HS_OK);
    CU_ASSERT_EQUAL(q.n, HS_PM_MAX_MATCHERS);
    hs_pm_query_free(&q);
    b.len -= 1;
    hs_buf_puts(&b, "y=\"1\"}");
    CU_ASSERT_EQUAL(hs_pm_parse((const char *)b.data, b.len, &q), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "more than 256 label matchers"));
    hs_buf_free(&b);

    char big[HS_PM_MAX_QUERY + 2];
    memset(big, ' ', sizeof big);
    big[0] = 'x';
    CU_ASSERT_EQUAL(hs_pm_parse(big, HS_PM_MAX_QUERY, &q), HS_OK);
    hs_pm_query_free(&q);
    CU_ASSERT_EQUAL(hs_pm_parse(big, HS_PM_MAX_QUERY + 1, &q), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "longer than 65536 bytes"));

    CU_ASSERT(fails_with("1234567890123456789012345678901234567890123456789012345678901234567890"
                         "1234567890123456789012345678901234567890",
                         "a number literal is at most 100 characters", NULL));
}

static void test_allocation_failures(void)
{
    const char *text = "t{a=\"1\", b=~\"x|y\", \"c.d\"!=\"2\"}";
    int rc = HS_ERR_NOMEM;
    for (long n = 0; n < 100 && rc == HS_ERR_NOMEM; n++) {
        hs_pm_query q;
        hs_alloc_fail_after(n);
        rc = parse(text, &q);
        hs_alloc_fail_after(-1);
        CU_ASSERT(rc == HS_OK || rc == HS_ERR_NOMEM);
        if (rc == HS_OK)
            CU_ASSERT_EQUAL(q.n, 4);
        if (rc == HS_ERR_NOMEM)
            CU_ASSERT(q.n == 0 && q.m == NULL);
        hs_pm_query_free(&q);
    }
    CU_ASSERT_EQUAL(rc, HS_OK);
}

/* The label-set JSON of a stream id (static buffer). */
static const char *labels_json(const char *sid_text)
{
    static char out[256];
    hs_streamid *sid = NULL;
    out[0] = '\0';
    if (hs_streamid_parse(sid_text, strlen(sid_text), &sid) != HS_OK)
        return "bad id";
    hs_buf b;
    hs_buf_init(&b, 0);
    if (hs_pm_labels_json(sid, &b) == HS_OK)
        snprintf(out, sizeof out, "%s", hs_buf_cstr(&b));
    hs_buf_free(&b);
    hs_streamid_destroy(sid);
    return out;
}

static void test_stream_ids(void)
{
    /* The id's pairs come in any order; the JSON has __name__ first, then sorted keys. */
    CU_ASSERT_STRING_EQUAL(labels_json("temp/room=k/house=1"),
                           "{\"__name__\":\"temp\",\"house\":\"1\",\"room\":\"k\"}");
    CU_ASSERT_STRING_EQUAL(labels_json("power.w"), "{\"__name__\":\"power.w\"}");
    /* Bytewise order: uppercase before '_' before lowercase. */
    CU_ASSERT_STRING_EQUAL(labels_json("t/b=2/_a=1/A=0"),
                           "{\"__name__\":\"t\",\"A\":\"0\",\"_a\":\"1\",\"b\":\"2\"}");
    CU_ASSERT_STRING_EQUAL(labels_json("we\"ird/k=a\\b"),
                           "{\"__name__\":\"we\\\"ird\",\"k\":\"a\\\\b\"}");
    CU_ASSERT_STRING_EQUAL(labels_json("x/__name__=y/a=1"), "{\"__name__\":\"x\",\"a\":\"1\"}");

    CU_ASSERT(selects("temp{house=\"1\"}", "temp/room=k/house=1"));
    CU_ASSERT_FALSE(selects("temp{house=\"1\"}", "temp/room=k"));
    CU_ASSERT(selects("temp{house=\"1\",room=~\"k|l\"}", "temp/room=k/house=1"));
    CU_ASSERT_FALSE(selects("temp{house=\"1\",room=~\"k|l\"}", "temp/room=kk/house=1"));

    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_pm_labels_json(NULL, &b), HS_ERR_INVAL);
    hs_buf_free(&b);
    /* A bounded buffer that is too small reports its error. */
    hs_streamid *sid = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_streamid_parse("temp/house=1", 12, &sid), HS_OK);
    hs_buf_init(&b, 10);
    CU_ASSERT_EQUAL(hs_pm_labels_json(sid, &b), HS_ERR_LIMIT);
    hs_buf_free(&b);
    hs_streamid_destroy(sid);
    CU_ASSERT_FALSE(hs_pm_match_sid(NULL, NULL));
}

/* hs_pm_time_parse's result, or -1 with the detail printed when it fails. */
static int64_t time_of(const char *s)
{
    int64_t t = 0;
    if (hs_pm_time_parse(s, &t) != HS_OK) {
        fprintf(stderr, "\ntime %s: %s\n", s, hs_err_detail());
        return -1;
    }
    return t;
}

static void test_times(void)
{
    /* 2026-01-01 is 56 years after 1970 with 14 leap days: 20454 days = 1767225600 s. */
    CU_ASSERT_EQUAL(time_of("2026-01-01T00:00:00Z"), 1767225600000000LL);
    CU_ASSERT_EQUAL(time_of("2026-01-01T00:00:00.123Z"), 1767225600123000LL);
    CU_ASSERT_EQUAL(time_of("2026-01-01T02:00:00+02:00"), 1767225600000000LL);
    CU_ASSERT_EQUAL(time_of("2025-12-31T23:30:00-00:30"), 1767225600000000LL);
    /* RFC 3339 fractions are truncated to the millisecond, as Prometheus does. */
    CU_ASSERT_EQUAL(time_of("2026-01-01T00:00:00.123999999Z"), 1767225600123000LL);
    CU_ASSERT_EQUAL(time_of("1969-12-31T23:59:59.9999Z"), -1000LL);
    CU_ASSERT_EQUAL(time_of("1700000000"), 1700000000000000LL);
    CU_ASSERT_EQUAL(time_of("1700000000.5"), 1700000000500000LL);
    CU_ASSERT_EQUAL(time_of("1.7e9"), 1700000000000000LL);
    /* Seconds are rounded to the millisecond, halves away from zero. */
    CU_ASSERT_EQUAL(time_of("1700000000.0005"), 1700000000001000LL);
    CU_ASSERT_EQUAL(time_of("1700000000.0004999"), 1700000000000000LL);
    CU_ASSERT_EQUAL(time_of("-1.5"), -1500000LL);
    CU_ASSERT_EQUAL(time_of("-0.0005"), -1000LL);
    CU_ASSERT_EQUAL(time_of("0"), 0);
    /* Prometheus's open bounds. */
    CU_ASSERT_EQUAL(time_of("-292273086-05-16T16:47:06Z"), HS_TIME_MIN);
    CU_ASSERT_EQUAL(time_of("292277025-08-18T07:12:54.999999999Z"), 253402300799999000LL);

    int64_t t = 42;
    CU_ASSERT_EQUAL(hs_pm_time_parse("abc", &t), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "cannot parse \"abc\" to a valid timestamp"));
    CU_ASSERT_EQUAL(hs_pm_time_parse("", &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_pm_time_parse("now", &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_pm_time_parse("2026-01-01", &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_pm_time_parse("2026-01-01T00:00Z", &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_pm_time_parse("2026-01-01T00:00:00", &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_pm_time_parse(" 1700000000", &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_pm_time_parse("2026-13-01T00:00:00Z", &t), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(hs_err_detail(), "cannot parse \"2026-13-01T00:00:00Z\" to a valid timestamp: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "month"));
    CU_ASSERT_EQUAL(hs_pm_time_parse("2026-02-29T00:00:00Z", &t), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_pm_time_parse("1e20", &t), HS_ERR_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "outside the years 1 to 9999"));
    CU_ASSERT_EQUAL(hs_pm_time_parse("253402300799.9995", &t), HS_ERR_RANGE);
    CU_ASSERT_EQUAL(t, 42);
    CU_ASSERT_EQUAL(hs_pm_time_parse(NULL, &t), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_pm_time_parse("1", NULL), HS_ERR_INVAL);
}

/* hs_pm_duration_parse's result, or -1 with the detail printed when it fails. */
static int64_t duration_of(const char *s)
{
    int64_t d = 0;
    if (hs_pm_duration_parse(s, &d) != HS_OK) {
        fprintf(stderr, "\nduration %s: %s\n", s, hs_err_detail());
        return -1;
    }
    return d;
}

/* Whether s is refused with rc and a detail starting with Prometheus's wording. */
static bool duration_fails(const char *s, int rc)
{
    int64_t d = 42;
    char want[128];
    snprintf(want, sizeof want, "cannot parse \"%s\" to a valid duration", s);
    int got = hs_pm_duration_parse(s, &d);
    bool ok = got == rc && d == 42 && strncmp(hs_err_detail(), want, strlen(want)) == 0;
    if (!ok)
        fprintf(stderr, "\nduration %s: rc %d, detail \"%s\"\n", s, got, hs_err_detail());
    return ok;
}

static void test_durations(void)
{
    CU_ASSERT_EQUAL(duration_of("15s"), 15000000LL);
    CU_ASSERT_EQUAL(duration_of("1m30s"), 90000000LL);
    CU_ASSERT_EQUAL(duration_of("500ms"), 500000LL);
    CU_ASSERT_EQUAL(duration_of("1h"), 3600000000LL);
    CU_ASSERT_EQUAL(duration_of("90m"), 5400000000LL);
    CU_ASSERT_EQUAL(duration_of("1d"), 86400000000LL);
    CU_ASSERT_EQUAL(duration_of("1w"), 604800000000LL);
    CU_ASSERT_EQUAL(duration_of("1y"), 31536000000000LL); /* 365 days */
    /* 31536000 + 1209600 + 259200 + 14400 + 300 + 6 = 33019506 s, and 7 ms. */
    CU_ASSERT_EQUAL(duration_of("1y2w3d4h5m6s7ms"), 33019506007000LL);
    CU_ASSERT_EQUAL(duration_of("1m5ms"), 60005000LL);
    CU_ASSERT_EQUAL(duration_of("15"), 15000000LL);
    CU_ASSERT_EQUAL(duration_of("0.5"), 500000LL);
    CU_ASSERT_EQUAL(duration_of("1e3"), 1000000000LL);
    /* Truncated to whole milliseconds. */
    CU_ASSERT_EQUAL(duration_of("0.0015"), 1000LL);
    CU_ASSERT_EQUAL(duration_of("0.001"), 1000LL);

    CU_ASSERT(duration_fails("", HS_ERR_PARSE));
    CU_ASSERT(duration_fails("x", HS_ERR_PARSE));
    CU_ASSERT(duration_fails("5x", HS_ERR_PARSE));
    CU_ASSERT(duration_fails("s", HS_ERR_PARSE));
    CU_ASSERT(duration_fails("1 s", HS_ERR_PARSE));
    CU_ASSERT(duration_fails("1m1h", HS_ERR_PARSE)); /* units in descending order */
    CU_ASSERT(duration_fails("1s1s", HS_ERR_PARSE)); /* each at most once */
    CU_ASSERT(duration_fails("1.5h", HS_ERR_PARSE)); /* integer counts */
    CU_ASSERT(duration_fails("-1m", HS_ERR_PARSE));
    CU_ASSERT(duration_fails("1us", HS_ERR_PARSE));
    CU_ASSERT(duration_fails("0", HS_ERR_RANGE));
    CU_ASSERT(duration_fails("0s", HS_ERR_RANGE));
    CU_ASSERT(duration_fails("-5", HS_ERR_RANGE));
    CU_ASSERT(duration_fails("-1e30", HS_ERR_RANGE));
    CU_ASSERT(duration_fails("0.0005", HS_ERR_RANGE)); /* under a millisecond */
    CU_ASSERT(strstr(hs_err_detail(), "it must be positive") != NULL);
    CU_ASSERT(duration_fails("10000000y", HS_ERR_RANGE));
    /* Both forms stop at HS_TIME_MAX, 253402300799.999999 s: whole ms up to ...799.999. */
    CU_ASSERT_EQUAL(duration_of("253402300799.999"), 253402300799999000LL);
    CU_ASSERT_EQUAL(duration_of("253402300799s999ms"), 253402300799999000LL);
    CU_ASSERT(duration_fails("253402300800", HS_ERR_RANGE));
    CU_ASSERT(duration_fails("253402300800s", HS_ERR_RANGE));
    CU_ASSERT(duration_fails("8100y", HS_ERR_RANGE));
    CU_ASSERT(duration_fails("99999999999999999999s", HS_ERR_RANGE));
    CU_ASSERT(duration_fails("1e300", HS_ERR_RANGE));
    int64_t d;
    CU_ASSERT_EQUAL(hs_pm_duration_parse(NULL, &d), HS_ERR_INVAL);
}

/* hs_pm_fmt_value's text of v (static buffer). */
static const char *value_text(double v)
{
    static char out[64];
    hs_buf b;
    hs_buf_init(&b, 0);
    out[0] = '\0';
    if (hs_pm_fmt_value(v, &b) == HS_OK)
        snprintf(out, sizeof out, "%s", hs_buf_cstr(&b));
    hs_buf_free(&b);
    return out;
}

static void test_fmt_value(void)
{
    /* Go's FormatFloat(v, 'f', -1, 64) for 1e-6 <= |v| < 1e21, 'e' otherwise. */
    CU_ASSERT_STRING_EQUAL(value_text(0.1), "0.1");
    CU_ASSERT_STRING_EQUAL(value_text(1e21), "1e+21");
    CU_ASSERT_STRING_EQUAL(value_text(1e-7), "1e-07");
    CU_ASSERT_STRING_EQUAL(value_text(-0.0), "-0");
    CU_ASSERT_STRING_EQUAL(value_text(0.0), "0");
    CU_ASSERT_STRING_EQUAL(value_text(123456789.125), "123456789.125");
    CU_ASSERT_STRING_EQUAL(value_text(1e6), "1000000");
    CU_ASSERT_STRING_EQUAL(value_text(1), "1");
    CU_ASSERT_STRING_EQUAL(value_text(-2.5), "-2.5");
    CU_ASSERT_STRING_EQUAL(value_text(1e20), "100000000000000000000");
    CU_ASSERT_STRING_EQUAL(value_text(9.999999999999999e20), "999999999999999900000");
    CU_ASSERT_STRING_EQUAL(value_text(1e-6), "0.000001");
    CU_ASSERT_STRING_EQUAL(value_text(0.000123), "0.000123");
    CU_ASSERT_STRING_EQUAL(value_text(1.5e-7), "1.5e-07");
    CU_ASSERT_STRING_EQUAL(value_text(-1.5e-7), "-1.5e-07");
    CU_ASSERT_STRING_EQUAL(value_text(1e100), "1e+100");
    CU_ASSERT_STRING_EQUAL(value_text(1.7976931348623157e308), "1.7976931348623157e+308");
    CU_ASSERT_STRING_EQUAL(value_text(5e-324), "5e-324");
    CU_ASSERT_STRING_EQUAL(value_text(1.0 / 3), "0.3333333333333333");
    CU_ASSERT_STRING_EQUAL(value_text(9007199254740993.0), "9007199254740992"); /* 2^53 */
    CU_ASSERT_STRING_EQUAL(value_text(123456.7), "123456.7");
    CU_ASSERT_STRING_EQUAL(value_text(NAN), "NaN");
    CU_ASSERT_STRING_EQUAL(value_text(INFINITY), "+Inf");
    CU_ASSERT_STRING_EQUAL(value_text(-INFINITY), "-Inf");
    CU_ASSERT_EQUAL(hs_pm_fmt_value(1, NULL), HS_ERR_INVAL);
}

/* hs_pm_fmt_time's text of t_us (static buffer). */
static const char *time_text(int64_t t_us)
{
    static char out[64];
    hs_buf b;
    hs_buf_init(&b, 0);
    out[0] = '\0';
    if (hs_pm_fmt_time(t_us, &b) == HS_OK)
        snprintf(out, sizeof out, "%s", hs_buf_cstr(&b));
    hs_buf_free(&b);
    return out;
}

static void test_fmt_time(void)
{
    CU_ASSERT_STRING_EQUAL(time_text(1700000000123000LL), "1700000000.123");
    CU_ASSERT_STRING_EQUAL(time_text(1700000000000000LL), "1700000000");
    /* Three fraction digits whenever there is a fraction, as Prometheus writes them. */
    CU_ASSERT_STRING_EQUAL(time_text(1700000000100000LL), "1700000000.100");
    CU_ASSERT_STRING_EQUAL(time_text(1700000000001000LL), "1700000000.001");
    CU_ASSERT_STRING_EQUAL(time_text(1700000000010000LL), "1700000000.010");
    /* Microseconds are rounded down to the millisecond. */
    CU_ASSERT_STRING_EQUAL(time_text(1700000000123999LL), "1700000000.123");
    CU_ASSERT_STRING_EQUAL(time_text(-1500000LL), "-1.500");
    CU_ASSERT_STRING_EQUAL(time_text(-1LL), "-0.001");
    CU_ASSERT_STRING_EQUAL(time_text(-1000000LL), "-1");
    CU_ASSERT_STRING_EQUAL(time_text(0), "0");
    CU_ASSERT_STRING_EQUAL(time_text(999), "0");
    CU_ASSERT_STRING_EQUAL(time_text(HS_TIME_MIN), "-62135596800");
    CU_ASSERT_STRING_EQUAL(time_text(HS_TIME_MAX), "253402300799.999");
    /* The int64 extremes: -9223372036854775808 us is -9223372036854775.808 ms, down to ...776. */
    CU_ASSERT_STRING_EQUAL(time_text(INT64_MIN), "-9223372036854.776");
    CU_ASSERT_STRING_EQUAL(time_text(INT64_MAX), "9223372036854.775");
    CU_ASSERT_EQUAL(hs_pm_fmt_time(1, NULL), HS_ERR_INVAL);
}

HS_TEST_INIT(promql)
{
    HS_TEST_SUITE_BEGIN("promql");
    HS_TEST(test_bare_name);
    HS_TEST(test_matcher_ops);
    HS_TEST(test_name_label);
    HS_TEST(test_regex_anchoring);
    HS_TEST(test_missing_label_is_empty);
    HS_TEST(test_escapes);
    HS_TEST(test_numbers);
    HS_TEST(test_unsupported);
    HS_TEST(test_limits);
    HS_TEST(test_allocation_failures);
    HS_TEST(test_stream_ids);
    HS_TEST(test_times);
    HS_TEST(test_durations);
    HS_TEST(test_fmt_value);
    HS_TEST(test_fmt_time);
    return 0;
}
