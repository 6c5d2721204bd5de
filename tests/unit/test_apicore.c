/*
 * Tests of hs-api's pure helpers (services/api/core/apicore.c): form bodies
 * are decoded into parameters without touching the body; the dashboard's
 * paths stay inside its directory; the broker's extra copies of a live
 * message are told from new messages.
 */
#include "test_suites.h"

#include "apicore.h"
#include "hs_buf.h"
#include "hs_error.h"

#include <CUnit/CUnit.h>
#include <string.h>

/* The pair i (key, value) of a parsed form. */
static void form_pair(const hs_buf *f, size_t i, const char **k, const char **v)
{
    const char *p = (const char *)f->data;
    for (size_t j = 0; j < i; j++) {
        p += strlen(p) + 1;
        p += strlen(p) + 1;
    }
    *k = p;
    *v = p + strlen(p) + 1;
}

static void test_form_parse(void)
{
    /* curl's default Content-Type on a body that is data, not a form: it must stay as sent. */
    char body[] = "query=up%7Ba%3D%221+2%22%7D&step=15&empty=&bare&bad=%4&nul=%00x&end=%41";
    const char *copy = "query=up%7Ba%3D%221+2%22%7D&step=15&empty=&bare&bad=%4&nul=%00x&end=%41";
    hs_buf f;
    hs_buf_init(&f, 0);
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(apic_form_parse(body, strlen(body), &f, &n), HS_OK);
    CU_ASSERT_STRING_EQUAL(body, copy);
    CU_ASSERT_EQUAL_FATAL(n, 7);
    static const char *const want[][2] = {{"query", "up{a=\"1 2\"}"},
                                          {"step", "15"},
                                          {"empty", ""},
                                          {"bare", ""},
                                          {"bad", "%4"},
                                          {"nul", "%00x"},
                                          {"end", "A"}};
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        form_pair(&f, i, &k, &v);
        CU_ASSERT_STRING_EQUAL(k, want[i][0]);
        CU_ASSERT_STRING_EQUAL(v, want[i][1]);
    }
    /* An escape cut by the end of the body is kept, and no byte past the end is read. */
    char cut[4] = {'a', '=', '%', '4'};
    hs_buf_reset(&f);
    CU_ASSERT_EQUAL(apic_form_parse(cut, sizeof cut, &f, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL_FATAL(f.len, 5);
    CU_ASSERT_EQUAL(memcmp(f.data, "a\0%4\0", 5), 0);
    /* An empty body has no pairs. */
    hs_buf_reset(&f);
    CU_ASSERT_EQUAL(apic_form_parse("", 0, &f, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 0);
    hs_buf_free(&f);
}

static void test_static_path(void)
{
    CU_ASSERT_TRUE(apic_static_path_ok("/"));
    CU_ASSERT_TRUE(apic_static_path_ok("/index.html"));
    CU_ASSERT_TRUE(apic_static_path_ok("/assets/app.1a2b.js"));
    CU_ASSERT_TRUE(apic_static_path_ok("/a..b/c.js")); /* dots inside a name are a name */
    CU_ASSERT_TRUE(apic_static_path_ok("/.well-known/x"));
    /* Appended to web_dir, these leave it: a sibling with the same start, or a parent. */
    CU_ASSERT_FALSE(apic_static_path_ok("-private/key"));
    CU_ASSERT_FALSE(apic_static_path_ok("file.txt"));
    CU_ASSERT_FALSE(apic_static_path_ok(""));
    CU_ASSERT_FALSE(apic_static_path_ok("/.."));
    CU_ASSERT_FALSE(apic_static_path_ok("/../x"));
    CU_ASSERT_FALSE(apic_static_path_ok("/a/../../x"));
    CU_ASSERT_FALSE(apic_static_path_ok("//..//x"));
    CU_ASSERT_FALSE(apic_static_path_ok("/a/.."));
    CU_ASSERT_FALSE(apic_static_path_ok("/./x"));
    CU_ASSERT_FALSE(apic_static_path_ok("/a/."));
}

static void test_copies(void)
{
    apic_copies c;
    apic_copies_init(&c);
    /* One matching subscription: every message is new, also the same one again. */
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 1));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 1));
    /* Three: the two copies that follow are not, the next one is. */
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 3));
    CU_ASSERT_FALSE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 3));
    CU_ASSERT_FALSE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 3));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 3));
    /* Another payload or topic is a new message, not a copy (a copy came short). */
    CU_ASSERT_FALSE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 3));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=1", "ac", 2, 2));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=2", "ac", 2, 2));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=2", "a", 1, 2));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=2x", "a", 1, 2));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=2", "", 0, 2));
    CU_ASSERT_FALSE(apic_copies_first(&c, "hs/s/t/k=2", "", 0, 2));
    /* The topic and the payload are told apart where they meet. */
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/a", "bc", 2, 2));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/ab", "c", 1, 2));
    apic_copies_free(&c);
}

HS_TEST_INIT(apicore)
{
    HS_TEST_SUITE_BEGIN("apicore");
    HS_TEST(test_form_parse);
    HS_TEST(test_static_path);
    HS_TEST(test_copies);
    return 0;
}
