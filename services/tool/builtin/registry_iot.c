/* Registration of the built-in tools of part "iot". */
#include "tools.h"

#include "hs_error.h"

int hs_builtin_register_iot(hs_tool_registry *r)
{
    (void)r;
    return HS_OK;
}
