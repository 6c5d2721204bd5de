/*
 * User functions in Lua (LuaJIT 2.1): the "lua: <source>" form of a tool's
 * `func` parameter, where the source returns a function.
 *
 *   lua: return function(v) return v * 1.8 + 32 end
 *
 * Every function gets its own Lua state (so its own fresh environment and
 * its own memory account), created by hs_lua_fn_create and closed by
 * hs_lua_fn_destroy. A state is used by one thread at a time.
 *
 * Sandbox. User code sees only: assert, error, ipairs, next, pairs, pcall,
 * select, tonumber, tostring, type, unpack, xpcall, rawequal, rawget,
 * setmetatable, getmetatable, _VERSION, _G (its own environment), the
 * string library without string.dump, math, table (concat, insert, maxn,
 * remove, sort, foreach, foreachi, getn), LuaJIT's bit library, `null`
 * and `int` (below). There is no io, os, debug, package, require, load,
 * loadstring, dofile, loadfile, ffi, jit, coroutine, collectgarbage,
 * newproxy, setfenv, getfenv, rawset or print; the string metatable is
 * protected (getmetatable("") is false); sources are loaded in text mode
 * only (precompiled bytecode is refused).
 *
 * Values cross both ways as Lua values: nil, booleans, numbers (integers
 * become Lua numbers, exact up to 2^53), strings (binary data becomes a
 * string too), arrays as tables 1..n, maps as tables with string keys, nested
 * at most HS_MP_MAX_DEPTH deep. nil inside an array or map arrives as the
 * sentinel `null`. Results: a Lua number becomes a float64; int(x) (an
 * int64 made from a number, truncated toward zero) and LuaJIT's 64-bit
 * literals (5LL, 5ULL) become integers; a string becomes a string when it is
 * valid UTF-8 and binary data otherwise; `null` becomes nil; a table whose
 * keys are exactly 1..n becomes an array, one whose keys are all strings a
 * map (keys sorted bytewise, so output does not depend on Lua's hash order),
 * an empty table an empty map; other tables (mixed or sparse keys), functions
 * and other cdata are errors.
 *
 * Limits. Time: each call has a budget of steps (limits.steps). A step is
 * one loop iteration or one entry into a user function (checks are
 * inserted into the source at every `do`, `repeat`, goto and function body,
 * where LuaJIT compiles them into its traces), plus one step per ten
 * bytecode instructions run by the interpreter (a count hook; LuaJIT never
 * calls hooks from compiled code, which is why the inserted checks exist).
 * A call that runs out fails with "lua: time limit exceeded". Library
 * functions written in C (string.find with a pathological pattern, say)
 * run to their end before the next check. Memory: the state's allocator
 * refuses to hold more than limits.mem_bytes (a hard cap on everything the
 * state allocates, garbage included; a full collection runs between calls
 * once half the cap is used); a call that hits it fails with "lua: memory
 * limit exceeded". LuaJIT's machine code for traces is outside the account
 * (bounded by LuaJIT itself, 512 KiB by default). After any error the
 * function can be called again.
 */
#ifndef HS_BUILTIN_LUA_FUNC_H
#define HS_BUILTIN_LUA_FUNC_H

#include "hs_arena.h"
#include "hs_buf.h"
#include "hs_value.h"

#include <stddef.h>
#include <stdint.h>

/* Steps per call when limits.steps is 0. */
#define HS_LUA_DEFAULT_STEPS 100000000ULL
/* Bytes per function state when limits.mem_bytes is 0. */
#define HS_LUA_DEFAULT_MEM_BYTES ((size_t)64 << 20)

typedef enum hs_lua_mode {
    HS_LUA_UNARY = 1,      /* f(v) -> value */
    HS_LUA_UNARY_TIME = 2, /* f(t, v) -> value, t in epoch seconds (a float) */
    HS_LUA_REDUCER = 3,    /* f({numbers}) -> number */
} hs_lua_mode;

typedef struct hs_lua_limits {
    uint64_t steps;   /* per call; 0: HS_LUA_DEFAULT_STEPS */
    size_t mem_bytes; /* per function; 0: HS_LUA_DEFAULT_MEM_BYTES */
} hs_lua_limits;

typedef struct hs_lua_fn hs_lua_fn;

/*
 * Compiles source (the text after "lua:"), runs it under the limits and
 * keeps the function it returns. limits may be NULL (defaults). Returns
 * HS_OK; HS_ERR_PARSE for a syntax error (detail: the Lua message);
 * HS_ERR_INVAL when the source is bytecode, uses the reserved name
 * __hs_tick or does not return a function; HS_ERR_LIMIT when running it
 * exceeded a limit; HS_ERR_TOOL when it raised an error; HS_ERR_NOMEM.
 * Details start with "Lua" or "lua". On success the caller ends with
 * hs_lua_fn_destroy.
 */
int hs_lua_fn_create(hs_lua_fn **out, const char *source, hs_lua_mode mode,
                     const hs_lua_limits *limits);

/*
 * Compiles source (the text after "lua:") as hs_lua_fn_create would, without
 * running any of it: for checking a workflow. Returns HS_OK; HS_ERR_PARSE for
 * a syntax error (detail "Lua syntax error: ..."); HS_ERR_INVAL for bytecode
 * or the reserved name; HS_ERR_NOMEM. Whether the source returns a function
 * is only known by running it (hs_lua_fn_create).
 */
int hs_lua_check(const char *source);

/* Closes the state and frees f (NULL-safe). */
void hs_lua_fn_destroy(hs_lua_fn *f);

/*
 * Unary modes: out[i] = f(in[i]) (or f(t_us[i] / 1e6, in[i])) for i in
 * [0, n), called in order. in is borrowed; containers and strings of out
 * are allocated in a. t_us may be NULL in HS_LUA_UNARY mode. Returns HS_OK;
 * HS_ERR_LIMIT (time or memory; detail "lua: time limit exceeded" or
 * "lua: memory limit exceeded ..."), HS_ERR_TOOL (a Lua error or a result
 * that cannot be converted; detail: the message), HS_ERR_STATE (wrong
 * mode) or HS_ERR_NOMEM (arena). On error the contents of out are
 * unspecified.
 */
int hs_lua_fn_map(hs_lua_fn *f, hs_arena *a, const int64_t *t_us, const hs_value *in, size_t n,
                  hs_value *out);

/*
 * Reducer mode: *out = f({v[0], ..., v[n-1]}) (v borrowed). The result must
 * be a number (int(x) counts). Errors as hs_lua_fn_map.
 */
int hs_lua_fn_reduce(hs_lua_fn *f, const double *v, size_t n, double *out);

/* Bytes the function's state holds now. */
size_t hs_lua_fn_memory(const hs_lua_fn *f);

/*
 * The source as it is compiled: the step checks inserted (on the same
 * lines, so error positions stay right). Appends to out. Exposed for tests.
 */
int hs_lua_instrument(const char *src, size_t len, hs_buf *out);

#endif
