/* Tests of lua (being written). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(lua)
{
    HS_TEST_SUITE_BEGIN("lua");
    return 0;
}
