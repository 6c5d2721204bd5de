/*
 * Tests of hs_form: form bodies and query strings into pairs ('+' a space,
 * %HH a byte, a broken escape kept as it is, empty parts skipped), and the
 * input left unchanged.
 */
#include "test_suites.h"

#include "hs_buf.h"
#include "hs_error.h"
#include "hs_form.h"

#include <CUnit/CUnit.h>
#include <string.h>

static void test_pairs(void)
{
    const char body[] = "query=temp%7Bhouse%3D%221%22%7D&start=1700000000&&step=60s&flag&e=a+b%2";
    char copy[sizeof body];
    memcpy(copy, body, sizeof body);
    hs_buf out;
    hs_buf_init(&out, 0);
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(hs_form_parse(copy, strlen(copy), &out, &n), HS_OK);
    CU_ASSERT_EQUAL(memcmp(copy, body, sizeof body), 0); /* the input is not changed */
    CU_ASSERT_EQUAL_FATAL(n, 5);
    CU_ASSERT_STRING_EQUAL(hs_form_get(&out, n, "query"), "temp{house=\"1\"}");
    CU_ASSERT_STRING_EQUAL(hs_form_get(&out, n, "start"), "1700000000");
    CU_ASSERT_STRING_EQUAL(hs_form_get(&out, n, "step"), "60s");
    CU_ASSERT_STRING_EQUAL(hs_form_get(&out, n, "flag"), "");
    CU_ASSERT_STRING_EQUAL(hs_form_get(&out, n, "e"), "a b%2");
    CU_ASSERT_PTR_NULL(hs_form_get(&out, n, "nope"));
    const char *v;
    CU_ASSERT_STRING_EQUAL(hs_form_pair(&out, n, 3, &v), "flag");
    CU_ASSERT_STRING_EQUAL(v, "");
    CU_ASSERT_PTR_NULL(hs_form_pair(&out, n, 5, &v));
    /* Repeated keys (match[]) keep their order; %00 stays as it is. */
    CU_ASSERT_EQUAL(hs_form_parse("match%5B%5D=a&match%5B%5D=b", 27, &out, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_STRING_EQUAL(hs_form_pair(&out, n, 1, &v), "match[]");
    CU_ASSERT_STRING_EQUAL(v, "b");
    CU_ASSERT_EQUAL(hs_form_parse("a%00b=c%00", 10, &out, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_STRING_EQUAL(hs_form_get(&out, n, "a%00b"), "c%00");
    CU_ASSERT_EQUAL(hs_form_parse("", 0, &out, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 0);
    hs_buf_free(&out);
}

HS_TEST_INIT(form)
{
    HS_TEST_SUITE_BEGIN("form");
    HS_TEST(test_pairs);
    return 0;
}
