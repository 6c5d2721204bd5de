/* Tests of hs_time (to be written with the module). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(time)
{
    HS_TEST_SUITE_BEGIN("time");
    return 0;
}
