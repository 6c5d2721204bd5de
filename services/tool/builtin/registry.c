#include "tools.h"

#include "hs_error.h"

#include <stddef.h>

static const hs_tool_def *const hs__builtin_tools[] = {
    &hs_tool_aggregate,     &hs_tool_apply,          &hs_tool_asset_writer, &hs_tool_clock,
    &hs_tool_sliding_apply, &hs_tool_sliding_window, &hs_tool_splitter,
};

int hs_builtin_tools_register(hs_tool_registry *r)
{
    for (size_t i = 0; i < sizeof hs__builtin_tools / sizeof hs__builtin_tools[0]; i++) {
        int rc = hs_tool_registry_add(r, hs__builtin_tools[i]);
        if (rc != HS_OK)
            return rc;
    }
    /* The other parts of the library register their own tools. */
    int rc = hs_builtin_register_hs1(r);
    if (rc == HS_OK)
        rc = hs_builtin_register_hs2(r);
    if (rc == HS_OK)
        rc = hs_builtin_register_iot(r);
    return rc;
}
