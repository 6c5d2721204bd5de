/* Tests of tools_hs1 (being written). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(tools_hs1)
{
    HS_TEST_SUITE_BEGIN("tools_hs1");
    return 0;
}
