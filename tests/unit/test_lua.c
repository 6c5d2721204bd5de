/*
 * Tests of Lua user functions: the sandbox, the limits, value conversions
 * both ways, reducers, timestamps, error messages, and the tools that take
 * a `func` parameter running Lua.
 */
#include "test_suites.h"
#include "tool_harness.h"

#include "functions.h"
#include "lua_func.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_value.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0   (1451606400LL * 1000000LL) /* 2016-01-01T00:00:00Z */
#define S(n) ((int64_t)(n)*1000000LL)

/* Small limits keep runaway tests quick. */
static const hs_lua_limits small = {2000000, (size_t)8 << 20};

/* Result of the last call: the value as JSON, or the error detail. */
static char g_text[2048];

/*
 * Creates a unary function from src, calls it once on the JSON value in
 * (NULL: nil) at time T0 + 1.5 s, and leaves the result's JSON or the error
 * detail in g_text. Returns the code of whichever step failed.
 */
static int call_mode(const char *src, hs_lua_mode mode, const char *in, const hs_lua_limits *lim)
{
    g_text[0] = '\0';
    hs_lua_fn *f = NULL;
    if (strncmp(src, "lua:", 4) == 0)
        src += 4;
    int rc = hs_lua_fn_create(&f, src, mode, lim);
    if (rc != HS_OK) {
        snprintf(g_text, sizeof g_text, "%s", hs_err_detail());
        return rc;
    }
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_buf mp;
    hs_buf_init(&mp, 0);
    hs_value nil = {.type = HS_V_NIL}, *v = &nil, out;
    if (in != NULL) {
        CU_ASSERT_EQUAL_FATAL(hs_json_to_mpack(in, strlen(in), &mp), HS_OK);
        CU_ASSERT_EQUAL_FATAL(hs_value_decode(&a, mp.data, mp.len, &v), HS_OK);
    }
    int64_t t = T0 + 1500000;
    rc = hs_lua_fn_map(f, &a, &t, v, 1, &out);
    if (rc == HS_OK) {
        hs_buf j;
        hs_buf_init(&j, 0);
        CU_ASSERT_EQUAL(hs_value_to_json(&out, &j), HS_OK);
        snprintf(g_text, sizeof g_text, "%s", hs_buf_cstr(&j));
        hs_buf_free(&j);
    } else {
        snprintf(g_text, sizeof g_text, "%s", hs_err_detail());
    }
    hs_buf_free(&mp);
    hs_arena_free(&a);
    hs_lua_fn_destroy(f);
    return rc;
}

static int call(const char *src, const char *in)
{
    return call_mode(src, HS_LUA_UNARY, in, &small);
}

/* The call succeeds with the JSON result want. */
static void expect(const char *src, const char *in, const char *want)
{
    int rc = call(src, in);
    if (rc != HS_OK || strcmp(g_text, want) != 0)
        fprintf(stderr, "\n%s on %s: rc %d, got %s, want %s\n", src, in ? in : "nil", rc, g_text,
                want);
    CU_ASSERT_EQUAL(rc, HS_OK);
    CU_ASSERT_STRING_EQUAL(g_text, want);
}

/* The call (or the creation) fails with code want_rc and a detail containing needle. */
static void expect_err(const char *src, const char *in, int want_rc, const char *needle)
{
    int rc = call(src, in);
    if (rc != want_rc || strstr(g_text, needle) == NULL)
        fprintf(stderr, "\n%s: rc %d (want %d), detail '%s' (want '%s')\n", src, rc, want_rc,
                g_text, needle);
    CU_ASSERT_EQUAL(rc, want_rc);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_text, needle));
}

/* ------------------------------------------------------------------ conversions */

static void test_lua_values_in(void)
{
    const char *ty = "lua: return function(v) return type(v) end";
    expect(ty, NULL, "\"nil\"");
    expect(ty, "true", "\"boolean\"");
    expect(ty, "3", "\"number\"");
    expect(ty, "2.5", "\"number\"");
    expect(ty, "\"x\"", "\"string\"");
    expect(ty, "[1, 2]", "\"table\"");
    expect(ty, "{\"a\": 1}", "\"table\"");
    expect("lua: return function(v) return v == false end", "false", "true");
    expect("lua: return function(v) return v + 0.5 end", "-7", "-6.5");
    expect("lua: return function(v) return #v .. ':' .. v end", "\"h\\u00e9\"", "\"3:h\xc3\xa9\"");
    expect("lua: return function(v) return #v .. v[1] .. v[3] end", "[10, 20, 30]", "\"31030\"");
    expect("lua: return function(v) return v.a.b[2] end", "{\"a\": {\"b\": [1, 7]}}", "7.0");
    /* nil inside containers arrives as null and keeps positions and keys. */
    expect("lua: return function(v) return #v .. tostring(v[2] == null) end", "[1, null, 3]",
           "\"3true\"");
    expect("lua: return function(v) return v.k == null end", "{\"k\": null}", "true");
    expect("lua: return function(v) return v.missing == nil end", "{\"k\": 1}", "true");
    /* Integers are exact up to 2^53. */
    expect("lua: return function(v) return v == 2^53 end", "9007199254740992", "true");
}

static void test_lua_values_out(void)
{
    expect("lua: return function(v) return 3 end", NULL, "3.0");
    expect("lua: return function(v) return int(3.9) end", NULL, "3");
    expect("lua: return function(v) return int(-3.9) end", NULL, "-3");
    expect("lua: return function(v) return int(v) end", "9007199254740993", "9007199254740992");
    expect("lua: return function(v) return -5LL end", NULL, "-5");
    expect("lua: return function(v) return 9223372036854775807LL end", NULL, "9223372036854775807");
    expect("lua: return function(v) return 18446744073709551615ULL end", NULL,
           "1.8446744073709552e+19");
    expect("lua: return function(v) return 'ok' end", NULL, "\"ok\"");
    /* Bytes that are not UTF-8 become binary data (base64 in JSON). */
    expect("lua: return function(v) return '\\255\\0' end", NULL, "\"/wA=\"");
    expect("lua: return function(v) return true end", NULL, "true");
    expect("lua: return function(v) return nil end", "1", "null");
    expect("lua: return function(v) end", "1", "null");
    expect("lua: return function(v) return null end", "1", "null");
    expect("lua: return function(v) return {1, 'a', {true}} end", NULL, "[1.0,\"a\",[true]]");
    expect("lua: return function(v) return {b = 1, a = {c = null}, aa = 2} end", NULL,
           "{\"a\":{\"c\":null},\"aa\":2.0,\"b\":1.0}");
    expect("lua: return function(v) return {} end", NULL, "{}");
    expect("lua: return function(v) return {1, null, 3} end", NULL, "[1.0,null,3.0]");
    expect("lua: return function(v) return 0/0 end", NULL, "null"); /* NaN prints as null */
    expect("lua: return function(v) return v end", "{\"x\": [1, {\"y\": null}], \"e\": []}",
           "{\"e\":{},\"x\":[1.0,{\"y\":null}]}");
    /* Results that cannot be values. */
    expect_err("lua: return function(v) return {1, nil, 3} end", NULL, HS_ERR_TOOL,
               "neither 1..n nor all strings");
    expect_err("lua: return function(v) return {1, a = 2} end", NULL, HS_ERR_TOOL,
               "neither 1..n nor all strings");
    expect_err("lua: return function(v) return {[1.5] = 1} end", NULL, HS_ERR_TOOL, "1..n");
    expect_err("lua: return function(v) return function() end end", NULL, HS_ERR_TOOL,
               "a function value cannot be a result");
    expect_err("lua: return function(v) local t = {} t.self = t return t end", NULL, HS_ERR_TOOL,
               "nested more than 64 deep");
    expect_err("lua: return function(v) local t = {} for i = 1, 70 do t = {t} end return t end",
               NULL, HS_ERR_TOOL, "nested more than 64 deep");
    expect_err("lua: return function(v) return {['\\255'] = 1} end", NULL, HS_ERR_TOOL,
               "not valid UTF-8");
    expect_err("lua: return function(v) return int('x') end", NULL, HS_ERR_TOOL,
               "int: needs a number");
    expect_err("lua: return function(v) return int(2^63) end", NULL, HS_ERR_TOOL,
               "out of the int64 range");
    expect_err("lua: return function(v) return int(0/0) end", NULL, HS_ERR_TOOL,
               "out of the int64 range");
}

/* ------------------------------------------------------------------ sandbox */

static void test_lua_sandbox(void)
{
    /* Everything dangerous is simply absent. */
    static const char *const absent[] = {
        "io",      "os",       "debug",  "package", "require",   "load",           "loadstring",
        "dofile",  "loadfile", "ffi",    "jit",     "coroutine", "collectgarbage", "newproxy",
        "setfenv", "getfenv",  "rawset", "print",   "module",    "gcinfo",         "NULL",
    };
    char src[256];
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        snprintf(src, sizeof src, "lua: return function(v) return %s == nil end", absent[i]);
        expect(src, NULL, "true");
    }
    expect_err("lua: return function(v) return io.open('/etc/passwd') end", NULL, HS_ERR_TOOL,
               "attempt to index global 'io' (a nil value)");
    expect_err("lua: return function(v) return os.execute('true') end", NULL, HS_ERR_TOOL,
               "attempt to index global 'os'");
    expect_err("lua: return function(v) return require('ffi') end", NULL, HS_ERR_TOOL,
               "attempt to call global 'require'");
    expect_err("lua: return function(v) return load('return 1')() end", NULL, HS_ERR_TOOL,
               "attempt to call global 'load'");
    expect_err("lua: return function(v) return loadstring('return 1')() end", NULL, HS_ERR_TOOL,
               "attempt to call global 'loadstring'");
    expect_err("lua: return function(v) return debug.getinfo(1) end", NULL, HS_ERR_TOOL,
               "attempt to index global 'debug'");
    expect_err("lua: return function(v) setfenv(1, {}) end", NULL, HS_ERR_TOOL,
               "attempt to call global 'setfenv'");
    expect_err("lua: return function(v) return getfenv(0) end", NULL, HS_ERR_TOOL,
               "attempt to call global 'getfenv'");
    expect_err("lua: return function(v) rawset(_G, 'x', 1) end", NULL, HS_ERR_TOOL,
               "attempt to call global 'rawset'");
    /* string.dump is gone, from the library and from string methods. */
    expect("lua: return function(v) return string.dump == nil and ('').dump == nil end", NULL,
           "true");
    expect_err("lua: return function(v) return string.dump(function() end) end", NULL, HS_ERR_TOOL,
               "attempt to call field 'dump'");
    /* The string metatable cannot be reached, so its __index cannot be changed. */
    expect("lua: return function(v) return getmetatable('') end", NULL, "false");
    expect_err("lua: return function(v) getmetatable('').__index = {} end", NULL, HS_ERR_TOOL,
               "attempt to index a boolean value");
    expect_err("lua: return function(v) return setmetatable('', {}) end", NULL, HS_ERR_TOOL,
               "bad argument");
    /* The libraries user code sees are its own copies. */
    expect("lua: return function(v) string.rep = nil return ('ab'):rep(2) end", NULL, "\"abab\"");
    expect("lua: return function(v) return _G.string == string and _G._G == _G end", NULL, "true");
    expect("lua: return function(v) local n = 0 for k in pairs(_G) do n = n + 1 end return n "
           "end",
           NULL, "24.0");
    /* Bytecode is refused, whether given as the source or smuggled in. */
    expect_err("lua: \033LJ\002\nbytecode", NULL, HS_ERR_INVAL, "bytecode is not accepted");
    expect_err("lua: \033Lua\x51\0", NULL, HS_ERR_INVAL, "bytecode is not accepted");
    expect_err("lua: return \033LJ", NULL, HS_ERR_PARSE, "Lua syntax error");
    /* The name of the inserted checks is reserved. */
    expect_err("lua: local __hs_tick = function() end return function(v) return v end", NULL,
               HS_ERR_INVAL, "reserved");
    /* Closing the wrapper early gains nothing: the text is checked all the same. */
    expect_err("lua: end)(), (function() while true do end end)(), (function(...)", NULL,
               HS_ERR_LIMIT, "lua: time limit exceeded");
    /* Numbers in, safe library functions out. */
    expect("lua: return function(v) return math.floor(v) + bit.band(7, 3) + #string.format('%d', "
           "42) end",
           "2.5", "7.0");
    expect("lua: return function(v) local t = {3, 1, 2} table.sort(t) return table.concat(t, ',') "
           "end",
           NULL, "\"1,2,3\"");
}

/* ------------------------------------------------------------------ limits */

static void test_lua_time_limit(void)
{
    static const char *const loops[] = {
        "lua: return function(v) while true do end end",
        "lua: return function(v) local s = 0 while true do s = s + 1 end end",
        "lua: return function(v) for i = 1, math.huge do end end",
        "lua: return function(v) repeat until false end",
        "lua: return function(v) ::top:: goto top end",
        "lua: return function(v) for k, x in pairs({1}) do while true do end end end",
        "lua: local function f(n) return f(n + 1) end return function(v) return f(0) end",
        "lua: return function(v) while true do pcall(function() while true do end end) end end",
        "lua: return function(v) local ok = pcall(error) while true do ok = pcall(error) end end",
        "lua: return function(v) return (string.gsub(string.rep('a', 10000), 'a', function(c) "
        "while true do end end)) end",
    };
    for (size_t i = 0; i < sizeof loops / sizeof loops[0]; i++) {
        int rc = call(loops[i], "1");
        if (rc != HS_ERR_LIMIT || strcmp(g_text, "lua: time limit exceeded") != 0)
            fprintf(stderr, "\n%s: rc %d, %s\n", loops[i], rc, g_text);
        CU_ASSERT_EQUAL(rc, HS_ERR_LIMIT);
        CU_ASSERT_STRING_EQUAL(g_text, "lua: time limit exceeded");
    }
    /* A runaway top-level chunk fails the creation. */
    expect_err("lua: while true do end return function(v) return v end", NULL, HS_ERR_LIMIT,
               "lua: time limit exceeded");
    /* A recursion that is not a tail call ends with Lua's stack overflow. */
    expect_err("lua: local function f(n) return 1 + f(n) end return f", "1", HS_ERR_TOOL,
               "stack overflow");

    /* The function stays usable after running out, and every call has its own budget. */
    hs_lua_fn *f = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_lua_fn_create(&f,
                                           "local calls = 0 return function(v) calls = calls + 1 "
                                           "if v > 0 then while true do end end "
                                           "local s = 0 for i = 1, 100000 do s = s + 1 end "
                                           "return calls end",
                                           HS_LUA_UNARY, &small),
                          HS_OK);
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value in[3] = {{.type = HS_V_FLOAT, .u.f = -1},
                      {.type = HS_V_FLOAT, .u.f = 1},
                      {.type = HS_V_FLOAT, .u.f = -1}};
    hs_value out[3];
    CU_ASSERT_EQUAL(hs_lua_fn_map(f, &a, NULL, &in[1], 1, out), HS_ERR_LIMIT);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "lua: time limit exceeded");
    for (int k = 0; k < 3; k++) {
        CU_ASSERT_EQUAL(hs_lua_fn_map(f, &a, NULL, &in[0], 1, out), HS_OK);
        CU_ASSERT_EQUAL(out[0].type, HS_V_FLOAT);
        CU_ASSERT_EQUAL(out[0].u.f, 2 + k);
    }
    /* In one batch: the runaway second value fails the batch. */
    CU_ASSERT_EQUAL(hs_lua_fn_map(f, &a, NULL, in, 3, out), HS_ERR_LIMIT);
    CU_ASSERT_EQUAL(hs_lua_fn_map(f, &a, NULL, &in[2], 1, out), HS_OK);
    hs_lua_fn_destroy(f);
    hs_arena_free(&a);
}

static void test_lua_memory_limit(void)
{
    static const char *const hogs[] = {
        "lua: return function(v) local t = {} for i = 1, 1e9 do t[i] = i end end",
        "lua: return function(v) local s = 'x' while true do s = s .. s end end",
        "lua: return function(v) return string.rep('x', 1e9) end",
        "lua: return function(v) local t = {} for i = 1, 1e9 do t[i] = {} end end",
        "lua: return function(v) local t = {} for i = 1, 1e9 do t[#t + 1] = tostring(i) end end",
        "lua: return function(v) local t = {} while true do t = {t, t} end end",
    };
    for (size_t i = 0; i < sizeof hogs / sizeof hogs[0]; i++) {
        int rc = call(hogs[i], "1");
        if (rc != HS_ERR_LIMIT || strstr(g_text, "lua: memory limit exceeded") == NULL)
            fprintf(stderr, "\n%s: rc %d, %s\n", hogs[i], rc, g_text);
        CU_ASSERT_EQUAL(rc, HS_ERR_LIMIT);
        CU_ASSERT_PTR_NOT_NULL(strstr(g_text, "lua: memory limit exceeded"));
    }
    /* Catching the error does not get around the cap. */
    expect("lua: return function(v) local ok = pcall(string.rep, 'x', 1e9) return ok end", NULL,
           "false");
    /* Garbage is collected: a lot of short-lived memory is fine. */
    expect("lua: return function(v) local n = 0 for i = 1, 200000 do local t = {i, i} n = n + "
           "#t end return n end",
           NULL, "400000.0");

    /* After hitting the cap the function works again and its memory went back down. */
    hs_lua_fn *f = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_lua_fn_create(&f,
                                           "return function(v) if v > 0 then local t = {} "
                                           "for i = 1, 1e9 do t[i] = i end end return v end",
                                           HS_LUA_UNARY, &small),
                          HS_OK);
    size_t base = hs_lua_fn_memory(f);
    CU_ASSERT(base > 0 && base < small.mem_bytes / 4);
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value big = {.type = HS_V_FLOAT, .u.f = 1}, none = {.type = HS_V_FLOAT, .u.f = -1}, out;
    CU_ASSERT_EQUAL(hs_lua_fn_map(f, &a, NULL, &big, 1, &out), HS_ERR_LIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "lua: memory limit exceeded"));
    CU_ASSERT_EQUAL(hs_lua_fn_map(f, &a, NULL, &none, 1, &out), HS_OK);
    CU_ASSERT_EQUAL(out.u.f, -1);
    CU_ASSERT(hs_lua_fn_memory(f) < small.mem_bytes / 2);
    hs_lua_fn_destroy(f);
    hs_arena_free(&a);

    /* A cap below what a state needs fails the creation cleanly. */
    hs_lua_limits tiny = {1000, 4096};
    CU_ASSERT_EQUAL(hs_lua_fn_create(&f, "return function(v) return v end", HS_LUA_UNARY, &tiny),
                    HS_ERR_LIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "lua: memory limit exceeded"));
    CU_ASSERT_PTR_NULL(f);
}

/* ------------------------------------------------------------------ errors */

static void test_lua_errors(void)
{
    expect_err("lua: return function(v) error('boom') end", NULL, HS_ERR_TOOL, "lua:1: boom");
    expect_err("lua: return function(v) error('no position', 0) end", NULL, HS_ERR_TOOL,
               "no position");
    expect_err("lua: return function(v)\n  local x = nil\n  return x.y\nend", NULL, HS_ERR_TOOL,
               "lua:3: attempt to index local 'x' (a nil value)");
    expect_err("lua: return function(v) return v * 2 end", "\"text\"", HS_ERR_TOOL,
               "attempt to perform arithmetic on local 'v' (a string value)");
    expect_err("lua: return function(v) error({}) end", NULL, HS_ERR_TOOL,
               "error with a table value as its message");
    expect_err("lua: return function(v) error(42) end", NULL, HS_ERR_TOOL, "lua:1: 42");
    expect_err("lua: return function(v) error(string.rep('x', 5000)) end", NULL, HS_ERR_TOOL,
               "xxx...");
    CU_ASSERT(strlen(g_text) < 512);
    /* Creation errors. */
    expect_err("lua: return function(v", NULL, HS_ERR_PARSE,
               "Lua syntax error: lua:1: ')' expected near '<eof>'");
    expect_err("lua: return function(v) return v end end", NULL, HS_ERR_PARSE,
               "Lua syntax error: lua:1: '<eof>' expected near 'end'");
    expect_err("lua: return 1", NULL, HS_ERR_INVAL,
               "must return a function, but it returned number");
    expect_err("lua: x = 1", NULL, HS_ERR_INVAL, "returned nothing (nil)");
    expect_err("lua: error('at load')", NULL, HS_ERR_TOOL, "lua:1: at load");
    expect_err("lua:", NULL, HS_ERR_INVAL, "must return a function");
}

/* ------------------------------------------------------------------ the instrumenter */

static const char *instr(const char *src)
{
    static hs_buf b;
    hs_buf_free(&b);
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_lua_instrument(src, strlen(src), &b), HS_OK);
    return hs_buf_cstr(&b);
}

static void test_lua_instrument(void)
{
    CU_ASSERT_STRING_EQUAL(instr("while x do end"), "while x do __hs_tick(); end");
    CU_ASSERT_STRING_EQUAL(instr("for i=1,2 do f(i) end"), "for i=1,2 do __hs_tick(); f(i) end");
    CU_ASSERT_STRING_EQUAL(instr("repeat x() until y"), "repeat __hs_tick(); x() until y");
    CU_ASSERT_STRING_EQUAL(instr("local function f(a, b) return a end"),
                           "local function f(a, b) __hs_tick(); return a end");
    CU_ASSERT_STRING_EQUAL(instr("function t.a:b(...) end"),
                           "function t.a:b(...) __hs_tick(); end");
    CU_ASSERT_STRING_EQUAL(instr("::l:: goto l"), "::l:: __hs_tick(); goto l");
    CU_ASSERT_STRING_EQUAL(instr("goto --[[ c ]] l"), "__hs_tick(); goto --[[ c ]] l");
    /* goto is a name when no name follows. */
    CU_ASSERT_STRING_EQUAL(instr("local goto = 1 goto = goto + 1"),
                           "local goto = 1 goto = goto + 1");
    CU_ASSERT_STRING_EQUAL(instr("goto end"), "goto end");
    /* Nothing inside strings, comments and numerals. */
    CU_ASSERT_STRING_EQUAL(instr("s = 'do' .. \"do\\\" do\" -- do\n"),
                           "s = 'do' .. \"do\\\" do\" -- do\n");
    CU_ASSERT_STRING_EQUAL(instr("s = [==[ do ]] do ]=] ]==] do"),
                           "s = [==[ do ]] do ]=] ]==] do __hs_tick();");
    CU_ASSERT_STRING_EQUAL(instr("--[[ do\n do ]] do"), "--[[ do\n do ]] do __hs_tick();");
    CU_ASSERT_STRING_EQUAL(instr("--[= do\ndo"), "--[= do\ndo __hs_tick();");
    CU_ASSERT_STRING_EQUAL(instr("s = 'a\\z\n   do' do"), "s = 'a\\z\n   do' do __hs_tick();");
    CU_ASSERT_STRING_EQUAL(instr("x = 0x1p4 + 1e-5 + 3ULL + .5 do"),
                           "x = 0x1p4 + 1e-5 + 3ULL + .5 do __hs_tick();");
    CU_ASSERT_STRING_EQUAL(instr("x = 2do"), "x = 2do"); /* a malformed numeral, as for Lua */
    CU_ASSERT_STRING_EQUAL(instr("dox = redo; undo()"), "dox = redo; undo()");
    CU_ASSERT_STRING_EQUAL(instr("x = a.b[ [[do]] ]"), "x = a.b[ [[do]] ]");
    /* Names may use bytes above 0x7f, as in LuaJIT. */
    CU_ASSERT_STRING_EQUAL(instr("local \xc3\xa9"
                                 "do = 1"),
                           "local \xc3\xa9"
                           "do = 1");
    /* Lines stay where they were. */
    const char *multi = "while a do\n  repeat\n    b()\n  until c\nend\n";
    const char *got = instr(multi);
    size_t nl = 0;
    for (const char *p = got; *p; p++)
        nl += *p == '\n';
    CU_ASSERT_EQUAL(nl, 5);
    /* The instrumented sources run as the originals do. */
    expect("lua: return function(v) local n = 0 for i = 1, 3 do if i == 2 then goto c end n = n + "
           "i ::c:: end return n end",
           NULL, "4.0");
    expect("lua: local goto = 5 return function(v) return goto end", NULL, "5.0");
    expect("lua: return function(v) local s = [[do]] .. 'repeat' -- function(\n return s end", NULL,
           "\"dorepeat\"");
    expect("lua: return function(v) local x = 1 do x = 2 end ; (function() x = x + 1 end)() "
           "return x end",
           NULL, "3.0");
}

/* ------------------------------------------------------------------ functions and tools */

static void test_lua_find(void)
{
    hs_func f;
    CU_ASSERT_EQUAL(hs_func_find("lua: return function(v) return v end", HS_FUNC_UNARY, &f), HS_OK);
    CU_ASSERT_STRING_EQUAL(f.name, "lua");
    CU_ASSERT_TRUE(f.user);
    CU_ASSERT_TRUE(f.takes_time);
    CU_ASSERT_PTR_NOT_NULL(f.unary);
    CU_ASSERT_PTR_NOT_NULL(f.unary_batch);
    hs_func_release(&f);
    hs_func_release(&f); /* idempotent */
    CU_ASSERT_EQUAL(hs_func_find("lua: return 1", HS_FUNC_REDUCER, &f), HS_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "must return a function"));
    CU_ASSERT_EQUAL(hs_func_find("lua: return function(", HS_FUNC_UNARY, &f), HS_ERR_PARSE);

    /* Reducers get an array of the numbers. */
    CU_ASSERT_EQUAL_FATAL(hs_func_find("lua: return function(xs) local s = 0 for i = 1, #xs do "
                                       "s = s + xs[i] end return s end",
                                       HS_FUNC_REDUCER, &f),
                          HS_OK);
    CU_ASSERT_PTR_NOT_NULL(f.reduce);
    CU_ASSERT_FALSE(f.int_result);
    double v[5] = {1, 2, 3.5, -1, 0.25}, r = 0;
    CU_ASSERT_EQUAL(f.reduce(f.ud, v, 5, NULL, &r), HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(r, 5.75, 1e-12);
    CU_ASSERT_EQUAL(f.reduce(f.ud, v, 1, NULL, &r), HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(r, 1, 1e-12);
    hs_func_release(&f);
    CU_ASSERT_EQUAL_FATAL(
        hs_func_find("lua: return function(xs) return int(#xs) end", HS_FUNC_REDUCER, &f), HS_OK);
    CU_ASSERT_EQUAL(f.reduce(f.ud, v, 4, NULL, &r), HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(r, 4, 0);
    hs_func_release(&f);
    CU_ASSERT_EQUAL_FATAL(
        hs_func_find("lua: return function(xs) return 'x' end", HS_FUNC_REDUCER, &f), HS_OK);
    CU_ASSERT_EQUAL(f.reduce(f.ud, v, 4, NULL, &r), HS_ERR_TOOL);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "lua: a reducer must return a number, not string");
    hs_func_release(&f);
    CU_ASSERT_EQUAL_FATAL(
        hs_func_find("lua: return function(xs) return nil end", HS_FUNC_REDUCER, &f), HS_OK);
    CU_ASSERT_EQUAL(f.reduce(f.ud, v, 4, NULL, &r), HS_ERR_TOOL);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "lua: a reducer must return a number, not nil");
    hs_func_release(&f);

    /* Limits through the options. */
    hs_func_opts o = {.lua_steps = 1000, .lua_mem_bytes = (size_t)4 << 20};
    CU_ASSERT_EQUAL_FATAL(hs_func_find_opts("lua: return function(xs) for i = 1, 2000 do end "
                                            "return 1 end",
                                            HS_FUNC_REDUCER, &o, &f),
                          HS_OK);
    CU_ASSERT_EQUAL(f.reduce(f.ud, v, 4, NULL, &r), HS_ERR_LIMIT);
    hs_func_release(&f);
}

static void expect_job(th_job *j, const char *want)
{
    hs_tool_output out;
    int rc = th_run(j, &out);
    if (rc != HS_OK)
        fprintf(stderr, "\n%s failed: %s\n", j->def->name, out.error);
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    char got[4096] = "";
    size_t used = 0;
    for (size_t i = 0; i < out.per_sink[0].n && used < sizeof got; i++) {
        int w = snprintf(got + used, sizeof got - used, "%s%lld=%s", i ? " " : "",
                         (long long)((out.per_sink[0].items[i].t_us - T0) / 1000000),
                         th_json(&out.per_sink[0], i));
        used += w > 0 ? (size_t)w : 0;
    }
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n%s %s:\n  got  %s\n  want %s\n", j->def->name, j->params, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
    hs_tool_output_free(&out);
}

static void expect_job_fail(th_job *j, const char *needle)
{
    hs_tool_output out;
    CU_ASSERT_EQUAL(th_run(j, &out), HS_ERR_TOOL);
    if (strstr(out.error, needle) == NULL)
        fprintf(stderr, "\n%s: error '%s' lacks '%s'\n", j->def->name, out.error, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, needle));
    hs_tool_output_free(&out);
}

static void test_lua_apply(void)
{
    th_job *j = calloc(1, sizeof *j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    th_init(j, &hs_tool_apply, "{\"func\": \"lua: return function(v) return v * 1.8 + 32 end\"}",
            T0, T0 + S(60));
    j->nsrc = 1;
    th_push_double(&j->src[0], T0 + S(1), 100);
    th_push_int(&j->src[0], T0 + S(2), -40);
    th_push_double(&j->src[0], T0 + S(61), 0); /* outside the job */
    expect_job(j, "1=212.0 2=-40.0");

    /* include_timestamps: f(t, v) with t in epoch seconds. */
    j->params = "{\"func\": \"lua: return function(t, v) return {t = t - 1451606400, v = v} end\","
                " \"include_timestamps\": true}";
    expect_job(j, "1={\"t\":1.0,\"v\":100.0} 2={\"t\":2.0,\"v\":-40.0}");
    /* Without it the function gets the value only. */
    j->params = "{\"func\": \"lua: return function(a, b) return b == nil end\"}";
    expect_job(j, "1=true 2=true");

    /* Every kind of value, with nil results kept as null. */
    hs_batch_reset(&j->src[0]);
    th_push_json(&j->src[0], T0 + S(1), "\"abc\"");
    th_push_json(&j->src[0], T0 + S(2), "[1, 2, 3]");
    th_push_json(&j->src[0], T0 + S(3), "{\"a\": 1}");
    th_push_json(&j->src[0], T0 + S(4), "null");
    th_push_json(&j->src[0], T0 + S(5), "true");
    th_push_json(&j->src[0], T0 + S(6), "2.5");
    j->params = "{\"func\": \"lua: return function(v) if type(v) == 'table' then return "
                "#v else return v end end\"}";
    expect_job(j, "1=\"abc\" 2=3.0 3=0.0 4=null 5=true 6=2.5");

    /* A stateful function sees every value once, in order, across batches. */
    hs_batch_reset(&j->src[0]);
    for (int i = 1; i <= 1000; i++)
        th_push_double(&j->src[0], T0 + S(i) / 100, i % 7 == 0 ? NAN : (double)i);
    j->end = T0 + S(20);
    j->params = "{\"func\": \"lua: local n = 0 return function(v) n = n + 1 return int(n) end\"}";
    hs_tool_output out;
    CU_ASSERT_EQUAL_FATAL(th_run(j, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 1000);
    for (size_t i = 0; i < 1000; i++)
        CU_ASSERT_STRING_EQUAL(th_json(&out.per_sink[0], i),
                               (snprintf(g_text, sizeof g_text, "%zu", i + 1), g_text));
    hs_tool_output_free(&out);

    /* Errors fail the job with the Lua message. */
    j->params = "{\"func\": \"lua: return function(v) if v > 500 then error('too big: ' .. v) "
                "end return v end\"}";
    expect_job_fail(j, "apply: function lua failed: lua:1: too big: 501");
    j->params = "{\"func\": \"lua: return function(v) while v > 10 do end return v end\"}";
    expect_job_fail(j, "lua: time limit exceeded");
    j->params = "{\"func\": \"lua: return function(v\"}";
    expect_job_fail(j, "parameter 'func': Lua syntax error");
    j->params = "{\"func\": \"lua: return x\"}";
    expect_job_fail(j, "the Lua source must return a function");
    /* Built-ins still refuse timestamps. */
    j->params = "{\"func\": \"abs\", \"include_timestamps\": true}";
    expect_job_fail(j, "include_timestamps");
    th_free(j);
    free(j);
}

static void test_lua_runtime_keeps_serving(void)
{
    /* With the default limits, as the tool runtime runs jobs one after another. */
    th_job *j = calloc(1, sizeof *j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    th_init(j, &hs_tool_apply, NULL, T0, T0 + S(60));
    j->nsrc = 1;
    th_push_double(&j->src[0], T0 + S(1), 1);
    th_push_double(&j->src[0], T0 + S(2), 2);
    j->params = "{\"func\": \"lua: return function(v) while true do end end\"}";
    expect_job_fail(j, "lua: time limit exceeded");
    j->params = "{\"func\": \"lua: return function(v) local t = {} while true do t[#t + 1] = "
                "'xxxxxxxx' .. #t end end\"}";
    expect_job_fail(j, "lua: memory limit exceeded");
    j->params = "{\"func\": \"lua: return function(v) return v + 1 end\"}";
    expect_job(j, "1=2.0 2=3.0");
    th_free(j);
    free(j);
}

static void test_lua_reducer_tools(void)
{
    th_job *j = calloc(1, sizeof *j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    /* sliding_apply: windows in source 0, data in source 1; Lua mean == built-in mean. */
    th_init(j, &hs_tool_sliding_apply, "{\"func\": \"mean\"}", T0, T0 + S(30));
    j->nsrc = 2;
    for (int w = 10; w <= 30; w += 10)
        th_push_json(&j->src[0], T0 + S(w),
                     (snprintf(g_text, sizeof g_text, "[%lld, %lld]", (long long)(T0 + S(w - 10)),
                               (long long)(T0 + S(w))),
                      g_text));
    for (int i = 1; i <= 30; i++)
        th_push_double(&j->src[1], T0 + S(i), i * 0.5);
    expect_job(j, "10=2.75 20=7.75 30=12.75");
    j->params = "{\"func\": \"lua: return function(xs) local s = 0 for _, x in ipairs(xs) do s = "
                "s + x end return s / #xs end\"}";
    expect_job(j, "10=2.75 20=7.75 30=12.75");
    j->params = "{\"func\": \"lua: return function(xs) return 'no' end\"}";
    expect_job_fail(j, "a reducer must return a number, not string");
    th_free(j);

    /* aggregate over three sources. */
    th_init(j, &hs_tool_aggregate,
            "{\"func\": \"lua: return function(xs) table.sort(xs) return xs[#xs] - xs[1] "
            "end\"}",
            T0, T0 + S(10));
    j->nsrc = 3;
    th_push_double(&j->src[0], T0 + S(1), 1);
    th_push_double(&j->src[1], T0 + S(1), 4);
    th_push_double(&j->src[2], T0 + S(1), -2);
    th_push_double(&j->src[0], T0 + S(2), 5);
    expect_job(j, "1=6.0 2=0.0");
    th_free(j);
    free(j);
}

static void test_lua_determinism(void)
{
    /* Two states give the same pseudo-random numbers, and maps come out sorted. */
    const char *src = "lua: return function(v) local t = {} for i = 1, 5 do t['k' .. "
                      "math.random(1000)] = i end return t end";
    CU_ASSERT_EQUAL(call(src, NULL), HS_OK);
    char first[2048];
    snprintf(first, sizeof first, "%s", g_text);
    CU_ASSERT_EQUAL(call(src, NULL), HS_OK);
    CU_ASSERT_STRING_EQUAL(g_text, first);
    CU_ASSERT_EQUAL(call("lua: return function(v) local t = {} for i = 1, 50 do t[tostring(i)] = "
                         "i end return t end",
                         NULL),
                    HS_OK);
    CU_ASSERT(strncmp(g_text, "{\"1\":1.0,\"10\":10.0,\"11\":11.0,", 28) == 0);
}

static void test_lua_alloc_failures(void)
{
    /* Every allocation failure ends in an error, never in a crash or a leak. */
    int ok = 0;
    for (long k = 0; k < 4000; k += 7) {
        hs_alloc_fail_after(k);
        hs_lua_fn *f = NULL;
        int rc =
            hs_lua_fn_create(&f, "return function(v) return {v, 'x'} end", HS_LUA_UNARY, &small);
        if (rc == HS_OK) {
            hs_arena a;
            hs_arena_init(&a, 0, 0);
            hs_value in = {.type = HS_V_FLOAT, .u.f = 1}, out;
            rc = hs_lua_fn_map(f, &a, NULL, &in, 1, &out);
            CU_ASSERT(rc == HS_OK || rc == HS_ERR_NOMEM);
            ok += rc == HS_OK;
            hs_arena_free(&a);
            hs_lua_fn_destroy(f);
        } else {
            if (rc != HS_ERR_NOMEM)
                fprintf(stderr, "\nfailing allocation %ld: %d %s\n", k, rc, hs_err_detail());
            CU_ASSERT_EQUAL(rc, HS_ERR_NOMEM);
        }
        hs_alloc_fail_after(-1);
    }
    CU_ASSERT(ok > 0);
}

HS_TEST_INIT(lua)
{
    HS_TEST_SUITE_BEGIN("lua");
    HS_TEST(test_lua_values_in);
    HS_TEST(test_lua_values_out);
    HS_TEST(test_lua_sandbox);
    HS_TEST(test_lua_time_limit);
    HS_TEST(test_lua_memory_limit);
    HS_TEST(test_lua_errors);
    HS_TEST(test_lua_instrument);
    HS_TEST(test_lua_find);
    HS_TEST(test_lua_apply);
    HS_TEST(test_lua_runtime_keeps_serving);
    HS_TEST(test_lua_reducer_tools);
    HS_TEST(test_lua_determinism);
    HS_TEST(test_lua_alloc_failures);
    return 0;
}
