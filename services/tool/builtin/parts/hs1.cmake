# Built-in tools of part "hs1" (see builtin/registry.c): sources of this part.
target_sources(hstools PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/../registry_hs1.c
    ${CMAKE_CURRENT_LIST_DIR}/../hs1_util.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_aligned_merge.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_aligning_window.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_component.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_component_filter.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_component_set.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_copy.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_dict_argmax.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_dict_values_to_const.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_histogram_from_list.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_jsonify.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_list_dict_mean.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_list_dict_sum.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_list_length.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_list_mean.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_list_sum.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_percentiles_from_list.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_product.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_relative_apply2.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_relative_window.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_sink.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_slice.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_sliding_listify.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_sliding_sink.c
)
