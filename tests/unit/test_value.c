/* Tests of hs_value (to be written with the module). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(value)
{
    HS_TEST_SUITE_BEGIN("value");
    return 0;
}
