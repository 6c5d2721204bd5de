# Lua user functions (LuaJIT): sources of this part.
