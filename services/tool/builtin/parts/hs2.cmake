# Built-in tools of part "hs2" (see builtin/registry.c): sources of this part.
target_sources(hstools PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/../registry_hs2.c
    ${CMAKE_CURRENT_LIST_DIR}/../hs2_util.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_aggregate_into_dict_and_apply.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_aggregate_plate.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_asset_plate_generator.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_asset_splitter.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_index_of.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_index_of_by_stream.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_meta_instance.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_meta_instance_from_list.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_plate_sink.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_splitter_from_stream.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_splitter_of_dict.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_splitter_of_list.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_splitter_time_aware.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_splitter_time_aware_from_stream.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_splitter_with_unlist.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_stream_broadcaster.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_stream_broadcaster_from_stream.c
)
