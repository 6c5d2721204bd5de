/* Tests of tools_iot (being written). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(tools_iot)
{
    HS_TEST_SUITE_BEGIN("tools_iot");
    return 0;
}
