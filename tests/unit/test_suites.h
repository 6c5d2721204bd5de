/*
 * The registry of unit-test suites. Each test_<module>.c exports
 * init_<module>_tests(), which adds one CUnit suite named <module>.
 */
#ifndef HS_TEST_SUITES_H
#define HS_TEST_SUITES_H

#include <stddef.h>

typedef struct hs_test_suite {
    const char *name;
    int (*init)(void);
} hs_test_suite;

extern const hs_test_suite hs_test_suites[];
extern const size_t hs_test_suite_count;

/* Defines init_<mod>_tests() with its prototype. */
#define HS_TEST_INIT(mod)                                                                          \
    int init_##mod##_tests(void);                                                                  \
    int init_##mod##_tests(void)

/* Adds a suite and its tests; returns 0 or -1 (CUnit's error is set). */
#define HS_TEST_SUITE_BEGIN(name)                                                                  \
    CU_pSuite hs__suite = CU_add_suite((name), NULL, NULL);                                        \
    if (hs__suite == NULL)                                                                         \
        return -1;
#define HS_TEST(fn)                                                                                \
    if (CU_add_test(hs__suite, #fn, (fn)) == NULL)                                                 \
        return -1;

/*
 * A fatal non-NULL assertion that the compiler understands (CUnit's fatal
 * assertions do not return, but gcc cannot know it and warns about the
 * dereferences that follow).
 */
#define HS_REQUIRE(p)                                                                              \
    do {                                                                                           \
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);                                                           \
        if ((p) == NULL)                                                                           \
            return;                                                                                \
    } while (0)

#endif
