/* Tests of hs_config (to be written with the module). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(config)
{
    HS_TEST_SUITE_BEGIN("config");
    return 0;
}
