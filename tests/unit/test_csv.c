/* Tests of hs_csv: RFC 4180 records, quoting, line numbers, limits, recovery. */
#include "test_suites.h"

#include "hs_csv.h"
#include "hs_error.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) (x), (sizeof(x) - 1) /* a literal with its length, embedded NULs included */

/*
 * Reads every record of text into one line per record, fields joined by
 * '|', bad records as "ERR@<line>"; returns the result (static buffer).
 */
static const char *records(const char *text, size_t len)
{
    static char out[4096];
    size_t o = 0;
    out[0] = '\0';
    hs_csv_reader r;
    hs_csv_init(&r, text, len);
    for (int guard = 0; guard < 100; guard++) {
        hs_csv_field *f = NULL;
        size_t n = 0;
        bool done = false;
        int rc = hs_csv_next(&r, &f, &n, &done);
        if (rc != HS_OK) {
            CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
            o += (size_t)snprintf(out + o, sizeof out - o, "ERR@%zu;", hs_csv_line(&r));
            continue;
        }
        if (done)
            break;
        for (size_t i = 0; i < n; i++) {
            CU_ASSERT_EQUAL(f[i].s[f[i].len], '\0');
            o += (size_t)snprintf(out + o, sizeof out - o, "%s%.*s", i ? "|" : "", (int)f[i].len,
                                  f[i].s);
        }
        o += (size_t)snprintf(out + o, sizeof out - o, "@%zu;", hs_csv_line(&r));
    }
    hs_csv_free(&r);
    return out;
}

static void test_plain_records(void)
{
    CU_ASSERT_STRING_EQUAL(records(S("t,v\n1,2\n")), "t|v@1;1|2@2;");
    /* CRLF, a lone CR, no final newline, blank lines skipped. */
    CU_ASSERT_STRING_EQUAL(records(S("a,b\r\n\r\nc,d\re,f")), "a|b@1;c|d@3;e|f@3;");
    CU_ASSERT_STRING_EQUAL(records(S("\n\nx\n")), "x@3;");
    /* Empty fields. */
    CU_ASSERT_STRING_EQUAL(records(S(",\na,,b\n")), "|@1;a||b@2;");
    CU_ASSERT_STRING_EQUAL(records(S("")), "");
}

static void test_quoted_fields(void)
{
    CU_ASSERT_STRING_EQUAL(records(S("\"a,b\",\"say \"\"hi\"\"\"\n")), "a,b|say \"hi\"@1;");
    /* A quoted line break stays in the field; the next record's line counts it. */
    CU_ASSERT_STRING_EQUAL(records(S("\"two\nlines\",x\ny,z\n")), "two\nlines|x@1;y|z@3;");
    CU_ASSERT_STRING_EQUAL(records(S("\"\",\"\"\n")), "|@1;");
}

static void test_field_lengths_count_nul_bytes(void)
{
    hs_csv_reader r;
    static const char text[] = "\"a\0b\",c\n";
    hs_csv_init(&r, text, sizeof text - 1);
    hs_csv_field *f = NULL;
    size_t n = 0;
    bool done = false;
    CU_ASSERT_EQUAL(hs_csv_next(&r, &f, &n, &done), HS_OK);
    CU_ASSERT_EQUAL(n, 2);
    if (n == 2) {
        CU_ASSERT_EQUAL(f[0].len, 3);
        CU_ASSERT_EQUAL(memcmp(f[0].s, "a\0b", 3), 0);
        CU_ASSERT_EQUAL(f[1].len, 1);
    }
    hs_csv_free(&r);
}

static void test_bad_records_are_skipped(void)
{
    /* Text after a closing quote, a quote inside an unquoted field: the next line reads on. */
    CU_ASSERT_STRING_EQUAL(records(S("\"a\"b,c\nok,1\nx\"y,2\nok,3\n")),
                           "ERR@1;ok|1@2;ERR@3;ok|3@4;");
    /* An unterminated quote takes the rest of the input. */
    CU_ASSERT_STRING_EQUAL(records(S("ok,1\n\"open,2\nmore,3\n")), "ok|1@1;ERR@2;");
}

static void test_limits(void)
{
    size_t big = HS_CSV_MAX_FIELD + 1;
    char *text = malloc(big + 16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    if (text == NULL)
        return;
    memset(text, 'x', big);
    memcpy(text + big, "\nok,1\n", 6);
    CU_ASSERT_STRING_EQUAL(records(text, big + 6), "ERR@1;ok|1@2;");
    hs_csv_reader r;
    hs_csv_init(&r, text, big);
    hs_csv_field *f = NULL;
    size_t n = 0;
    bool done = false;
    CU_ASSERT_EQUAL(hs_csv_next(&r, &f, &n, &done), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "field longer than"));
    hs_csv_free(&r);
    free(text);

    /* One field more than allowed. */
    size_t len = 2 * (HS_CSV_MAX_FIELDS + 1);
    text = malloc(len + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    if (text == NULL)
        return;
    for (size_t i = 0; i < HS_CSV_MAX_FIELDS + 1; i++)
        memcpy(text + 2 * i, "1,", 2);
    text[len - 1] = '\n';
    hs_csv_init(&r, text, len);
    CU_ASSERT_EQUAL(hs_csv_next(&r, &f, &n, &done), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "more than 1024 fields"));
    hs_csv_free(&r);
    /* Exactly the limit is fine. */
    text[len - 3] = '\n';
    hs_csv_init(&r, text, len - 2);
    CU_ASSERT_EQUAL(hs_csv_next(&r, &f, &n, &done), HS_OK);
    CU_ASSERT_EQUAL(n, HS_CSV_MAX_FIELDS);
    hs_csv_free(&r);
    free(text);
}

HS_TEST_INIT(csv)
{
    HS_TEST_SUITE_BEGIN("csv");
    HS_TEST(test_plain_records);
    HS_TEST(test_quoted_fields);
    HS_TEST(test_field_lengths_count_nul_bytes);
    HS_TEST(test_bad_records_are_skipped);
    HS_TEST(test_limits);
    return 0;
}
