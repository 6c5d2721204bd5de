/* Tests of hs_codec (to be written with the module). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(codec)
{
    HS_TEST_SUITE_BEGIN("codec");
    return 0;
}
