# Built-in tools of part "iot" (see builtin/registry.c): sources of this part.
target_sources(hstools PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/../registry_iot.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_iot_util.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_random.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_csv_reader.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_filter.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_resample.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_rate.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_threshold.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_window.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_join_window.c
    ${CMAKE_CURRENT_LIST_DIR}/../t_enrich.c
)
