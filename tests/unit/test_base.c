/* Tests of the base modules: errors, allocation wrappers, buffers. */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_mpack.h"
#include "hs_error.h"

#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

static void test_strerror_names_every_code(void)
{
    for (int e = 0; e >= HS_ERR_SCHEMA; e--) {
        const char *s = hs_strerror(e);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_STRING_NOT_EQUAL(s, "unknown error");
    }
    CU_ASSERT_STRING_EQUAL(hs_strerror(-9999), "unknown error");
    CU_ASSERT_STRING_EQUAL(hs_strerror(HS_OK), "success");
}

static void test_err_detail_is_recorded(void)
{
    hs_err_clear();
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "");
    int rc = hs_err_set(HS_ERR_PARSE, "bad byte at %d", 7);
    CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "bad byte at 7");
    char buf[64];
    CU_ASSERT_STRING_EQUAL(hs_err_describe(rc, buf, sizeof buf), "malformed input: bad byte at 7");
    hs_err_clear();
    CU_ASSERT_STRING_EQUAL(hs_err_describe(HS_ERR_IO, buf, sizeof buf), "i/o error");
}

static void test_alloc_fail_after(void)
{
    hs_alloc_fail_after(2);
    void *a = hs_malloc(8);
    void *b = hs_malloc(8);
    void *c = hs_malloc(8);
    hs_alloc_fail_after(-1);
    void *d = hs_malloc(8);
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_PTR_NOT_NULL(b);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(d);
    hs_free(a);
    hs_free(b);
    hs_free(d);
    char *s = hs_strndup("abcdef", 3);
    CU_ASSERT_STRING_EQUAL(s, "abc");
    hs_free(s);
}

static void test_buf_grows_and_formats(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "");
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(hs_buf_putc(&b, (uint8_t)('a' + i % 26)), HS_OK);
    CU_ASSERT_EQUAL(b.len, 1000);
    CU_ASSERT_EQUAL(b.data[27], 'b');
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_buf_printf(&b, "%s=%d", "x", 42), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "!"), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "x=42!");
    size_t len;
    uint8_t *p = hs_buf_take(&b, &len);
    CU_ASSERT_EQUAL(len, 5);
    CU_ASSERT_EQUAL(memcmp(p, "x=42!", 5), 0);
    CU_ASSERT_EQUAL(b.len, 0);
    hs_free(p);
    hs_buf_free(&b);
}

static void test_buf_bound_is_enforced(void)
{
    hs_buf b;
    hs_buf_init(&b, 10);
    CU_ASSERT_EQUAL(hs_buf_append(&b, "0123456789", 10), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_putc(&b, 'x'), HS_ERR_LIMIT);
    CU_ASSERT_EQUAL(hs_buf_printf(&b, "%d", 1), HS_ERR_LIMIT);
    CU_ASSERT_EQUAL(b.len, 10);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "0123456789");
    hs_buf_free(&b);
}

static void test_buf_survives_allocation_failure(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "keep"), HS_OK);
    hs_alloc_fail_after(0);
    char big[4096];
    memset(big, 'z', sizeof big);
    int rc = hs_buf_append(&b, big, sizeof big);
    hs_alloc_fail_after(-1);
    CU_ASSERT_EQUAL(rc, HS_ERR_NOMEM);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "keep");
    hs_buf_free(&b);
}

static void test_buf_remembers_first_failure(void)
{
    hs_buf b;
    hs_buf_init(&b, 6);
    CU_ASSERT_EQUAL(hs_buf_error(&b), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "abcd"), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "efgh"), HS_ERR_LIMIT);
    /* Later writes that fit succeed, but the buffer remembers the first failure. */
    CU_ASSERT_EQUAL(hs_buf_putc(&b, 'e'), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_error(&b), HS_ERR_LIMIT);
    hs_alloc_fail_after(0);
    hs_buf n;
    hs_buf_init(&n, 0);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&n, "a msgpack string"), HS_ERR_NOMEM);
    hs_alloc_fail_after(-1);
    CU_ASSERT_EQUAL(hs_buf_error(&n), HS_ERR_NOMEM);
    CU_ASSERT_EQUAL(hs_buf_error(&b), HS_ERR_LIMIT);
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_buf_error(&b), HS_OK);
    hs_buf_free(&b);
    hs_buf_free(&n);
    CU_ASSERT_EQUAL(hs_buf_error(&n), HS_OK);
}

static void test_grow_doubles_and_keeps_on_failure(void)
{
    int *v = NULL;
    size_t cap = 0;
    CU_ASSERT_EQUAL(hs_grow(&v, &cap, 1, sizeof *v, 4), HS_OK);
    CU_ASSERT_EQUAL(cap, 4);
    for (int i = 0; i < 4; i++)
        v[i] = i;
    CU_ASSERT_EQUAL(hs_grow(&v, &cap, 4, sizeof *v, 4), HS_OK); /* fits: unchanged */
    CU_ASSERT_EQUAL(cap, 4);
    CU_ASSERT_EQUAL(hs_grow(&v, &cap, 9, sizeof *v, 4), HS_OK);
    CU_ASSERT_EQUAL(cap, 16);
    CU_ASSERT_EQUAL(v[3], 3);
    int *before = v;
    hs_alloc_fail_after(0);
    int rc = hs_grow(&v, &cap, 17, sizeof *v, 4);
    hs_alloc_fail_after(-1);
    CU_ASSERT_EQUAL(rc, HS_ERR_NOMEM);
    CU_ASSERT_PTR_EQUAL(v, before);
    CU_ASSERT_EQUAL(cap, 16);
    CU_ASSERT_EQUAL(hs_grow(&v, &cap, SIZE_MAX / 2, sizeof *v, 4), HS_ERR_NOMEM);
    CU_ASSERT_EQUAL(cap, 16);
    hs_free(v);
}

static char *fmt_helper(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_helper(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = hs_strvfmt(fmt, ap);
    va_end(ap);
    return s;
}

static void test_strvfmt(void)
{
    char *s = fmt_helper("%s-%d-%05.1f", "x", 42, 2.25);
    CU_ASSERT_STRING_EQUAL(s, "x-42-002.2");
    hs_free(s);
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s = fmt_helper("%s!", big);
    CU_ASSERT_EQUAL(strlen(s), sizeof big);
    hs_free(s);
    hs_alloc_fail_after(0);
    s = fmt_helper("%d", 1);
    hs_alloc_fail_after(-1);
    CU_ASSERT_PTR_NULL(s);
}

HS_TEST_INIT(base)
{
    HS_TEST_SUITE_BEGIN("base");
    HS_TEST(test_strerror_names_every_code);
    HS_TEST(test_err_detail_is_recorded);
    HS_TEST(test_alloc_fail_after);
    HS_TEST(test_buf_grows_and_formats);
    HS_TEST(test_buf_bound_is_enforced);
    HS_TEST(test_buf_survives_allocation_failure);
    HS_TEST(test_buf_remembers_first_failure);
    HS_TEST(test_grow_doubles_and_keeps_on_failure);
    HS_TEST(test_strvfmt);
    return 0;
}
