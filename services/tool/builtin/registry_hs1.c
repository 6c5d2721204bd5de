/* Registration of the built-in tools of part "hs1". */
#include "tools.h"

#include "hs_error.h"

int hs_builtin_register_hs1(hs_tool_registry *r)
{
    (void)r;
    return HS_OK;
}
