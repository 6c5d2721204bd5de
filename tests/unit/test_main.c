/*
 * Runs the CUnit suites of the common library. With no argument every suite
 * runs; with arguments only the named suites do (ctest registers one entry
 * per suite). Exit status: 0 when all tests pass.
 */
#include "test_suites.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < hs_test_suite_count; i++) {
        if (hs_test_suites[i].init() != 0) {
            fprintf(stderr, "cannot register suite %s: %s\n", hs_test_suites[i].name,
                    CU_get_error_msg());
            CU_cleanup_registry();
            return 2;
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    int failed = 0;
    if (argc < 2) {
        CU_basic_run_tests();
        failed = (int)CU_get_number_of_failures();
    }
    for (int a = 1; a < argc; a++) {
        CU_pSuite suite = CU_get_suite(argv[a]);
        if (suite == NULL) {
            fprintf(stderr, "no suite named %s\n", argv[a]);
            CU_cleanup_registry();
            return 2;
        }
        CU_basic_run_suite(suite);
        failed += (int)CU_get_number_of_failures();
        if (CU_get_run_summary()->nSuitesFailed > 0)
            failed++;
    }
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
