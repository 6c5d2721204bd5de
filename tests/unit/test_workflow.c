/* Tests of workflow (being written). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(workflow)
{
    HS_TEST_SUITE_BEGIN("workflow");
    return 0;
}
