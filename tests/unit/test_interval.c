/* Tests of hs_interval (to be written with the module). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(interval)
{
    HS_TEST_SUITE_BEGIN("interval");
    return 0;
}
