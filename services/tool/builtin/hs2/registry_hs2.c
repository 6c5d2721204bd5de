/* Registration of the built-in tools of part "hs2" (declared in hs2.h). */
#include "hs2.h"
#include "tools.h"

#include "hs_error.h"

#include <stddef.h>

static const hs_tool_def *const hs__hs2_tools[] = {
    &hs_tool_aggregate_into_dict_and_apply,
    &hs_tool_aggregate_plate,
    &hs_tool_asset_plate_generator,
    &hs_tool_asset_splitter,
    &hs_tool_index_of,
    &hs_tool_index_of_by_stream,
    &hs_tool_meta_instance,
    &hs_tool_meta_instance_from_list,
    &hs_tool_plate_sink,
    &hs_tool_splitter_from_stream,
    &hs_tool_splitter_of_dict,
    &hs_tool_splitter_of_list,
    &hs_tool_splitter_time_aware,
    &hs_tool_splitter_time_aware_from_stream,
    &hs_tool_splitter_with_unlist,
    &hs_tool_stream_broadcaster,
    &hs_tool_stream_broadcaster_from_stream,
};

int hs_builtin_register_hs2(hs_tool_registry *r)
{
    for (size_t i = 0; i < sizeof hs__hs2_tools / sizeof hs__hs2_tools[0]; i++) {
        int rc = hs_tool_registry_add(r, hs__hs2_tools[i]);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}
