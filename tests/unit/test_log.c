/* Tests of hs_log (to be written with the module). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(log)
{
    HS_TEST_SUITE_BEGIN("log");
    return 0;
}
