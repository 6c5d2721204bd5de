/* Tests of tools_hs2 (being written). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(tools_hs2)
{
    HS_TEST_SUITE_BEGIN("tools_hs2");
    return 0;
}
