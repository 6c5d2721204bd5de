/* Tests of hs_json (to be written with the module). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(json)
{
    HS_TEST_SUITE_BEGIN("json");
    return 0;
}
