# Lua user functions (LuaJIT): sources of this part.
target_sources(hstools PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../lua_func.c)
