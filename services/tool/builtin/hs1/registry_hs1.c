/* Registration of the built-in tools of part "hs1" (declared in hs1.h). */
#include "hs1.h"
#include "tools.h"

#include "hs_error.h"

#include <stddef.h>

static const hs_tool_def *const hs__hs1_tools[] = {
    &hs_tool_aligned_merge,
    &hs_tool_aligning_window,
    &hs_tool_component,
    &hs_tool_component_filter,
    &hs_tool_component_set,
    &hs_tool_copy,
    &hs_tool_dict_argmax,
    &hs_tool_dict_values_to_const,
    &hs_tool_histogram_from_list,
    &hs_tool_jsonify,
    &hs_tool_list_dict_mean,
    &hs_tool_list_dict_sum,
    &hs_tool_list_length,
    &hs_tool_list_mean,
    &hs_tool_list_sum,
    &hs_tool_percentiles_from_list,
    &hs_tool_percentiles_from_list_0_0,
    &hs_tool_product,
    &hs_tool_relative_apply2,
    &hs_tool_relative_window,
    &hs_tool_sink_tool,
    &hs_tool_slice,
    &hs_tool_sliding_listify,
    &hs_tool_sliding_sink,
};

int hs_builtin_register_hs1(hs_tool_registry *r)
{
    for (size_t i = 0; i < sizeof hs__hs1_tools / sizeof hs__hs1_tools[0]; i++) {
        int rc = hs_tool_registry_add(r, hs__hs1_tools[i]);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}
