/* Tests of hs_streamid (to be written with the module). */
#include "test_suites.h"

#include <CUnit/CUnit.h>

HS_TEST_INIT(streamid)
{
    HS_TEST_SUITE_BEGIN("streamid");
    return 0;
}
