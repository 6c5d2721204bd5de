# Built-in tools of part "hs2" (see builtin/registry.c): sources of this part.
target_sources(hstools PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../registry_hs2.c)
