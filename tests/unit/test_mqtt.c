/* Tests of hs_mqtt (to be written with the module). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(mqtt)
{
    HS_TEST_SUITE_BEGIN("mqtt");
    return 0;
}
