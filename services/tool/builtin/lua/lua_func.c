/*
 * User functions in Lua: one sandboxed LuaJIT state per function.
 *
 * How a call runs. Values cross through a C struct that the trusted Lua
 * code of the state reads and writes through a private FFI binding (user
 * code never sees the FFI): numbers go in and come out as plain doubles in
 * arrays of HS__LUA_BATCH, other values through two Lua tables. One
 * lua_cpcall then runs a Lua loop over a whole batch, which LuaJIT compiles
 * together with the user function; this is what makes a simple function
 * cost a few nanoseconds per value instead of a protected call per value.
 *
 * How the limits work: see lua_func.h. The step checks are calls of a local
 * function (__hs_tick) that the instrumenter inserts into the user's text;
 * the name is reserved, and without the debug library nothing can reach a
 * local except by its name, so user code cannot skip or replace them.
 */
#include "lua_func.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_utf8.h"

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values per trip into Lua. */
#define HS__LUA_BATCH 256
/* The count hook runs every this many interpreted instructions ... */
#define HS__LUA_HOOK_INSNS 1000
/* ... and charges this many steps. */
#define HS__LUA_HOOK_STEPS 100
/* Longest error message kept from Lua. */
#define HS__LUA_MSG_MAX 400
/* LuaJIT's type tag of FFI cdata (lua.h does not name it). */
#define HS__LUA_TCDATA 10

#define HS__LUA_TIME_MSG "lua: time limit exceeded"
#define HS__LUA_TICK     "__hs_tick"

#define HS__STR2(x) #x
#define HS__STR(x)  HS__STR2(x)

/*
 * The struct shared with the trusted Lua code. HS__LUA_IO_CDEF declares the
 * same layout to the FFI; the bootstrap checks that the sizes agree.
 */
typedef struct hs__lua_io {
    double budget;             /* steps left in the running call */
    double limit;              /* steps per call */
    const double *rv;          /* reducer input, borrowed during a call */
    int64_t i64;               /* an int64 result being converted */
    uint64_t u64;              /* a uint64 result being converted */
    double x[HS__LUA_BATCH];   /* numeric inputs */
    double y[HS__LUA_BATCH];   /* numeric results */
    double ts[HS__LUA_BATCH];  /* timestamps in epoch seconds */
    uint8_t k[HS__LUA_BATCH];  /* input kind: 0 a number in x, 1 another value in sin[i + 1] */
    uint8_t ko[HS__LUA_BATCH]; /* result kind: 0 a number in y, 1 another value in sout[i + 1] */
} hs__lua_io;

#define HS__B HS__STR(HS__LUA_BATCH)
#define HS__LUA_IO_CDEF                                                                            \
    "typedef struct hs_lua_io { double budget; double limit; const double *rv; int64_t i64; "      \
    "uint64_t u64; double x[" HS__B "]; double y[" HS__B "]; double ts[" HS__B "]; "               \
    "uint8_t k[" HS__B "]; uint8_t ko[" HS__B "]; } hs_lua_io;"

struct hs_lua_fn {
    lua_State *L;     /* owned */
    hs_lua_mode mode; /* what the driver does */
    size_t mem_used;  /* bytes the state holds */
    size_t mem_limit; /* most bytes it may hold */
    bool mem_refused; /* the allocator refused a request during the current call */
    bool starting;    /* the state is being built (see hs__lua_alloc) */
    int ref_call;     /* registry: the driver of the mode */
    int ref_cdint;    /* registry: converts int64/uint64 cdata through io */
    int ref_sin;      /* registry: table of non-numeric inputs */
    int ref_sout;     /* registry: table of non-numeric results */
    hs__lua_io io;    /* shared with Lua (its address must not change) */
};

/*
 * The trusted part of every state, run before any user code. Arguments:
 * the ffi module, table.new, the io struct, the mode and sizeof(hs__lua_io).
 * Declares the io struct to the FFI, builds the sandbox environment and
 * returns `finish`, which takes the user's compiled chunk, runs it under the
 * limits and returns the driver, the cdata converter, the two value tables
 * and nil; or nil and the type of what the chunk returned instead of a
 * function.
 */
static const char hs__lua_boot[] =
    "local ffi, tnew, iop, mode, iosize, NULL = ...\n"
    "ffi.cdef[[" HS__LUA_IO_CDEF "]]\n"
    "if ffi.sizeof('hs_lua_io') ~= iosize then error('hs_lua_io layout differs') end\n"
    "local IO = ffi.cast('hs_lua_io *', iop)\n"
    "local istype, i64, u64 = ffi.istype, ffi.typeof('int64_t'), ffi.typeof('uint64_t')\n"
    "local error, type, tostring = error, type, tostring\n"
    "tnew = tnew or function() return {} end\n"
    "local function tick()\n"
    "  local b = IO.budget - 1\n"
    "  IO.budget = b\n"
    "  if b < 0 then error('" HS__LUA_TIME_MSG "', 0) end\n"
    "end\n"
    "local function pick(src, names)\n"
    "  local t = {}\n"
    "  for n in names:gmatch('%S+') do t[n] = src[n] end\n"
    "  return t\n"
    "end\n"
    "local env = pick(_G, 'assert error ipairs next pairs pcall select tonumber tostring type '\n"
    "  .. 'unpack xpcall rawequal rawget setmetatable getmetatable _VERSION')\n"
    "env.string = pick(string, 'byte char find format gmatch gsub len lower match rep reverse '\n"
    "  .. 'sub upper')\n"
    "env.math = pick(math, 'abs acos asin atan atan2 ceil cos cosh deg exp floor fmod frexp '\n"
    "  .. 'huge ldexp log log10 max min modf pi pow rad random randomseed sin sinh sqrt tan "
    "tanh')\n"
    "env.table = pick(table, 'concat insert maxn remove sort foreach foreachi getn')\n"
    "env.bit = pick(bit, 'tobit tohex bnot band bor bxor lshift rshift arshift rol ror bswap')\n"
    "env._G = env\n"
    "env.null = NULL\n"
    "env.int = function(x)\n"
    "  if type(x) ~= 'number' then error('int: needs a number, not ' .. type(x), 2) end\n"
    "  if not (x >= -2^63 and x < 2^63) then\n"
    "    error('int: ' .. tostring(x) .. ' is out of the int64 range', 2)\n"
    "  end\n"
    "  return i64(x)\n"
    "end\n"
    /* Strings share one metatable whose __index is this table. */
    "string.dump = nil\n"
    "getmetatable('').__metatable = false\n"
    "return function(chunk)\n"
    "setfenv(chunk, env)\n"
    "IO.budget = IO.limit\n"
    "local f = chunk(tick)\n"
    "if type(f) ~= 'function' then return nil, nil, nil, nil, type(f) end\n"
    "local sin, sout = tnew(" HS__B ", 0), tnew(" HS__B ", 0)\n"
    "local call\n"
    "if mode == 1 then\n"
    "  call = function(n)\n"
    "    for i = 0, n - 1 do\n"
    "      IO.budget = IO.limit\n"
    "      local r\n"
    "      if IO.k[i] == 0 then r = f(IO.x[i]) else r = f(sin[i + 1]) end\n"
    "      if type(r) == 'number' then IO.y[i] = r; IO.ko[i] = 0\n"
    "      else IO.ko[i] = 1; sout[i + 1] = r end\n"
    "    end\n"
    "  end\n"
    "elseif mode == 2 then\n"
    "  call = function(n)\n"
    "    for i = 0, n - 1 do\n"
    "      IO.budget = IO.limit\n"
    "      local r\n"
    "      if IO.k[i] == 0 then r = f(IO.ts[i], IO.x[i]) else r = f(IO.ts[i], sin[i + 1]) end\n"
    "      if type(r) == 'number' then IO.y[i] = r; IO.ko[i] = 0\n"
    "      else IO.ko[i] = 1; sout[i + 1] = r end\n"
    "    end\n"
    "  end\n"
    "else\n"
    "  call = function(n)\n"
    "    IO.budget = IO.limit\n"
    "    local t, p = tnew(n, 0), IO.rv\n"
    "    for i = 1, n do t[i] = p[i - 1] end\n"
    "    return (f(t))\n"
    "  end\n"
    "end\n"
    "local function cdint(r)\n"
    "  if istype(i64, r) then IO.i64 = r; return 1 end\n"
    "  if istype(u64, r) then IO.u64 = r; return 2 end\n"
    "  return 0\n"
    "end\n"
    "return call, cdint, sin, sout, nil\n"
    "end\n";

/* ------------------------------------------------------------------ instrumenting */

/* Character classes of LuaJIT's lexer (bytes from 0x80 up belong to names). */
static bool hs__lx_ident(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c >= 0x80;
}

static bool hs__lx_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool hs__lx_space(unsigned char c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d);
}

static bool hs__lx_keyword(const char *w, size_t n)
{
    static const char *const kw[] = {"and",   "break", "do",       "else", "elseif", "end",
                                     "false", "for",   "function", "goto", "if",     "in",
                                     "local", "nil",   "not",      "or",   "repeat", "return",
                                     "then",  "true",  "until",    "while"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (strlen(kw[i]) == n && memcmp(kw[i], w, n) == 0)
            return true;
    return false;
}

/* At s[i] == '[': the level of a long bracket [=*[ starting there, or -1. */
static long hs__lx_long_open(const char *s, size_t len, size_t i)
{
    size_t j = i + 1;
    while (j < len && s[j] == '=')
        j++;
    return j < len && s[j] == '[' ? (long)(j - i - 1) : -1;
}

/* From i (inside a long bracket of level lv): the position after its end, or len. */
static size_t hs__lx_long_end(const char *s, size_t len, size_t i, long lv)
{
    for (; i < len; i++) {
        if (s[i] != ']')
            continue;
        size_t j = i + 1;
        while (j < len && s[j] == '=')
            j++;
        if ((long)(j - i - 1) == lv && j < len && s[j] == ']')
            return j + 1;
    }
    return len;
}

/* From i (after the opening quote q): the position after the closing quote, or len. */
static size_t hs__lx_string_end(const char *s, size_t len, size_t i, char q)
{
    while (i < len) {
        char c = s[i];
        if (c == q)
            return i + 1;
        if (c == '\n' || c == '\r')
            return len; /* unfinished: LuaJIT reports it */
        if (c != '\\') {
            i++;
            continue;
        }
        i++; /* the escape's letter */
        if (i >= len)
            return len;
        if (s[i] == 'z') {
            i++;
            while (i < len && hs__lx_space((unsigned char)s[i]))
                i++;
        } else if (s[i] == '\n' || s[i] == '\r') {
            char first = s[i++];
            if (i < len && (s[i] == '\n' || s[i] == '\r') && s[i] != first)
                i++;
        } else {
            i++;
        }
    }
    return len;
}

/* From i: the position after a comment starting there ("--..."), or i when there is none. */
static size_t hs__lx_comment_end(const char *s, size_t len, size_t i)
{
    if (i + 1 >= len || s[i] != '-' || s[i + 1] != '-')
        return i;
    i += 2;
    if (i < len && s[i] == '[') {
        long lv = hs__lx_long_open(s, len, i);
        if (lv >= 0)
            return hs__lx_long_end(s, len, i + (size_t)lv + 2, lv);
    }
    while (i < len && s[i] != '\n' && s[i] != '\r')
        i++;
    return i;
}

/* From i: skips white space and comments. */
static size_t hs__lx_skip(const char *s, size_t len, size_t i)
{
    for (;;) {
        while (i < len && hs__lx_space((unsigned char)s[i]))
            i++;
        size_t j = hs__lx_comment_end(s, len, i);
        if (j == i)
            return i;
        i = j;
    }
}

/* From i (a digit): the end of a numeral as LuaJIT's lexer reads it. */
static size_t hs__lx_number_end(const char *s, size_t len, size_t i)
{
    char xp = 'e';
    unsigned char c = (unsigned char)s[i];
    if (c == '0' && i + 1 < len && (s[i + 1] | 0x20) == 'x')
        xp = 'p';
    i++;
    while (i < len) {
        unsigned char d = (unsigned char)s[i];
        if (!(hs__lx_ident(d) || d == '.' || ((d == '-' || d == '+') && (c | 0x20) == xp)))
            break;
        c = d;
        i++;
    }
    return i;
}

int hs_lua_instrument(const char *src, size_t len, hs_buf *out)
{
    static const char tick[] = " " HS__LUA_TICK "();";
    bool want_paren = false; /* after `function`, the `)` that ends the parameters */
    size_t i = 0;
    int rc = HS_OK;
    while (i < len && rc == HS_OK) {
        unsigned char c = (unsigned char)src[i];
        size_t j = i + 1;
        if (c == '-' && i + 1 < len && src[i + 1] == '-') {
            j = hs__lx_comment_end(src, len, i);
        } else if (c == '"' || c == '\'') {
            j = hs__lx_string_end(src, len, i + 1, (char)c);
        } else if (c == '[') {
            long lv = hs__lx_long_open(src, len, i);
            if (lv >= 0)
                j = hs__lx_long_end(src, len, i + (size_t)lv + 2, lv);
        } else if (hs__lx_digit(c) ||
                   (c == '.' && i + 1 < len && hs__lx_digit((unsigned char)src[i + 1]))) {
            j = hs__lx_number_end(src, len, c == '.' ? i + 1 : i);
        } else if (hs__lx_ident(c)) {
            while (j < len && hs__lx_ident((unsigned char)src[j]))
                j++;
            const char *w = src + i;
            size_t n = j - i;
            if (n == 4 && memcmp(w, "goto", 4) == 0) {
                /* A goto statement is `goto` followed by a name. */
                size_t k = hs__lx_skip(src, len, j);
                size_t e = k;
                while (e < len && hs__lx_ident((unsigned char)src[e]))
                    e++;
                if (e > k && !hs__lx_digit((unsigned char)src[k]) &&
                    !hs__lx_keyword(src + k, e - k))
                    rc = hs_buf_puts(out, HS__LUA_TICK "(); ");
            }
            if (rc == HS_OK)
                rc = hs_buf_append(out, w, n);
            if (rc == HS_OK &&
                ((n == 2 && memcmp(w, "do", 2) == 0) || (n == 6 && memcmp(w, "repeat", 6) == 0)))
                rc = hs_buf_append(out, tick, sizeof tick - 1);
            if (n == 8 && memcmp(w, "function", 8) == 0)
                want_paren = true;
            i = j;
            continue;
        } else if (c == ')' && want_paren) {
            want_paren = false;
            rc = hs_buf_putc(out, ')');
            if (rc == HS_OK)
                rc = hs_buf_append(out, tick, sizeof tick - 1);
            i = j;
            continue;
        }
        if (rc == HS_OK)
            rc = hs_buf_append(out, src + i, j - i);
        i = j;
    }
    return rc;
}

/* ------------------------------------------------------------------ the state */

/*
 * The allocator of a state: hs_realloc with an account and a hard cap.
 *
 * While the state is built (lua_newstate, the libraries, the trusted
 * bootstrap), requests neither count against the cap nor go through
 * hs_realloc's fault injection: LuaJIT 2.1 (Debian's 2.1.0-beta3) crashes
 * when an allocation fails inside lua_newstate after its first one, or
 * inside luaopen_ffi (lua_close then frees a half-built state). hs_free is
 * free(), so the blocks mix. The cap is checked once the state is built.
 */
static void *hs__lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    hs_lua_fn *f = ud;
    if (ptr == NULL)
        osize = 0;
    if (nsize == 0) {
        hs_free(ptr);
        f->mem_used -= osize;
        return NULL;
    }
    if (f->starting) {
        void *q = realloc(ptr, nsize);
        if (q != NULL)
            f->mem_used = f->mem_used - osize + nsize;
        return q;
    }
    if (nsize > osize &&
        (f->mem_used > f->mem_limit || nsize - osize > f->mem_limit - f->mem_used)) {
        f->mem_refused = true;
        return NULL;
    }
    void *p = hs_realloc(ptr, nsize);
    if (p == NULL) {
        /* A block that cannot shrink stays as it is (Lua may not see shrinking fail). */
        return nsize <= osize ? ptr : NULL;
    }
    f->mem_used = f->mem_used - osize + nsize;
    return p;
}

static hs_lua_fn *hs__lua_of(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

/* The count hook: charges interpreted instructions to the call's budget. */
static void hs__lua_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    hs_lua_fn *f = hs__lua_of(L);
    f->io.budget -= HS__LUA_HOOK_STEPS;
    if (f->io.budget < 0) {
        lua_pushstring(L, HS__LUA_TIME_MSG);
        lua_error(L);
    }
}

/* What a protected call into the state needs and reports. */
typedef struct hs__lua_call {
    hs_lua_fn *f;
    hs_arena *a;         /* for results */
    const int64_t *t_us; /* timestamps (unary with time) */
    const hs_value *in;  /* inputs */
    hs_value *out;       /* results */
    size_t n;            /* values in this batch (reducer: numbers) */
    const double *rv;    /* reducer input */
    double result;       /* reducer result */
    const char *code;    /* setup: instrumented chunk */
    size_t code_len;
    const char *source; /* setup: the user's text */
    size_t source_len;
    int rc; /* an error found on the C side */
    char msg[HS__LUA_MSG_MAX + 64];
} hs__lua_call;

/* Fails the protected call with a C-side error (code and message kept in c). */
static int hs__lua_fail(lua_State *L, hs__lua_call *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int hs__lua_fail(lua_State *L, hs__lua_call *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    c->rc = rc;
    lua_pushlightuserdata(L, c);
    return lua_error(L);
}

/* Pushes the library loader fn and calls it as LuaJIT wants (name as argument). */
static void hs__lua_open(lua_State *L, lua_CFunction fn, const char *name, int nres)
{
    lua_pushcfunction(L, fn);
    lua_pushstring(L, name);
    lua_call(L, 1, nres);
}

/*
 * Protected, first phase (trusted code only): opens the libraries and runs
 * the bootstrap, whose `finish` function it keeps in the registry.
 */
static int hs__lua_setup(lua_State *L)
{
    hs__lua_call *c = lua_touserdata(L, 1);
    hs_lua_fn *f = c->f;
    lua_settop(L, 0);
    hs__lua_open(L, luaopen_base, "", 0);
    hs__lua_open(L, luaopen_table, LUA_TABLIBNAME, 0);
    hs__lua_open(L, luaopen_string, LUA_STRLIBNAME, 0);
    hs__lua_open(L, luaopen_math, LUA_MATHLIBNAME, 0);
    hs__lua_open(L, luaopen_bit, LUA_BITLIBNAME, 0);
    hs__lua_open(L, luaopen_jit, LUA_JITLIBNAME, 0); /* this also turns the JIT compiler on */
    if (luaL_loadbuffer(L, hs__lua_boot, sizeof hs__lua_boot - 1, "=hs_lua_boot") != 0)
        return lua_error(L);
    hs__lua_open(L, luaopen_ffi, LUA_FFILIBNAME, 1);
    /* table.new is preloaded by the table library. */
    lua_getfield(L, LUA_REGISTRYINDEX, "_PRELOAD");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "table.new");
        lua_remove(L, -2);
        if (lua_isfunction(L, -1)) {
            lua_pushstring(L, "table.new");
            lua_call(L, 1, 1);
        }
    }
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
    lua_pushlightuserdata(L, &f->io);
    lua_pushinteger(L, (lua_Integer)f->mode);
    lua_pushinteger(L, (lua_Integer)sizeof(hs__lua_io));
    lua_pushlightuserdata(L, NULL);
    lua_call(L, 6, 1);
    f->ref_call = luaL_ref(L, LUA_REGISTRYINDEX); /* `finish` until the second phase */
    return 0;
}

/* Protected, second phase: compiles the user's chunk and runs it through `finish`. */
static int hs__lua_finish(lua_State *L)
{
    hs__lua_call *c = lua_touserdata(L, 1);
    hs_lua_fn *f = c->f;
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref_call);
    int st = luaL_loadbufferx(L, c->code, c->code_len, "=lua", "t");
    if (st == LUA_ERRSYNTAX) {
        /*
         * Report the error of the user's own text when it has one: the
         * wrapper's `end` would otherwise show up in messages about a
         * source that ends too early. The text is compiled, never run.
         */
        lua_pop(L, 1);
        if (luaL_loadbufferx(L, c->source, c->source_len, "=lua", "t") == 0) {
            lua_pop(L, 1);
            luaL_loadbufferx(L, c->code, c->code_len, "=lua", "t");
        }
        size_t ml = 0;
        const char *m = lua_tolstring(L, -1, &ml);
        return hs__lua_fail(L, c, HS_ERR_PARSE, "Lua syntax error: %.*s",
                            (int)(ml > HS__LUA_MSG_MAX ? HS__LUA_MSG_MAX : ml), m ? m : "?");
    }
    if (st != 0)
        return lua_error(L);
    lua_call(L, 1, 5);
    if (!lua_isnil(L, -1)) {
        const char *t = lua_tostring(L, -1);
        return hs__lua_fail(L, c, HS_ERR_INVAL,
                            "the Lua source must return a function, but it returned %s",
                            t && strcmp(t, "nil") == 0 ? "nothing (nil)"
                            : t                        ? t
                                                       : "?");
    }
    lua_pop(L, 1);
    f->ref_sout = luaL_ref(L, LUA_REGISTRYINDEX);
    f->ref_sin = luaL_ref(L, LUA_REGISTRYINDEX);
    f->ref_cdint = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_rawseti(L, LUA_REGISTRYINDEX, f->ref_call); /* the driver replaces `finish` */
    return 0;
}

/*
 * Turns a failed protected call into an error code and detail. The error
 * value is at the top of the stack.
 */
static int hs__lua_error(hs_lua_fn *f, int st, const hs__lua_call *c)
{
    lua_State *L = f->L;
    if (c->rc != HS_OK)
        return hs_err_set(c->rc, "%s", c->msg);
    size_t ml = 0;
    const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &ml) : NULL;
    /* A memory error may come back as a plain error when C code re-raised it. */
    if (st == LUA_ERRMEM || (m != NULL && strcmp(m, "not enough memory") == 0)) {
        if (f->mem_refused)
            return hs_err_set(HS_ERR_LIMIT, "lua: memory limit exceeded (%zu KiB)",
                              f->mem_limit >> 10);
        return hs_err_set(HS_ERR_NOMEM, "lua: out of memory");
    }
    if (m != NULL && strcmp(m, HS__LUA_TIME_MSG) == 0)
        return hs_err_set(HS_ERR_LIMIT, "%s", HS__LUA_TIME_MSG);
    if (m != NULL)
        return hs_err_set(HS_ERR_TOOL, "%.*s%s", (int)(ml > HS__LUA_MSG_MAX ? HS__LUA_MSG_MAX : ml),
                          m, ml > HS__LUA_MSG_MAX ? "..." : "");
    if (lua_type(L, -1) == LUA_TNUMBER)
        return hs_err_set(HS_ERR_TOOL, "lua: error %.14g", lua_tonumber(L, -1));
    return hs_err_set(HS_ERR_TOOL, "lua: error with a %s value as its message",
                      lua_typename(L, lua_type(L, -1)));
}

/* Protected: a full collection. */
static int hs__lua_collect(lua_State *L)
{
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}

/* Runs fn(c) protected; after it, collects garbage once half the cap is used. */
static int hs__lua_run(hs_lua_fn *f, lua_CFunction fn, hs__lua_call *c)
{
    c->rc = HS_OK;
    c->msg[0] = '\0';
    f->mem_refused = false;
    /*
     * The drivers reset the budget before each value, but the count hook may
     * fire on the first instructions, before they do: a budget left negative
     * by a failed call must not fail this one.
     */
    f->io.budget = f->io.limit;
    int st = lua_cpcall(f->L, fn, c);
    int rc = st == 0 ? HS_OK : hs__lua_error(f, st, c);
    lua_settop(f->L, 0);
    if (f->mem_used > f->mem_limit / 2)
        lua_cpcall(f->L, hs__lua_collect, NULL);
    return rc;
}

/* Refuses what no Lua function may be: bytecode, and sources naming the reserved tick. */
static int hs__lua_source_ok(const char *source)
{
    size_t len = strlen(source);
    size_t lead = 0;
    while (lead < len && hs__lx_space((unsigned char)source[lead]))
        lead++;
    if (lead < len && source[lead] == '\033')
        return hs_err_set(HS_ERR_INVAL, "Lua bytecode is not accepted; give the Lua source text");
    if (strstr(source, HS__LUA_TICK) != NULL)
        return hs_err_set(HS_ERR_INVAL, "the name " HS__LUA_TICK " is reserved in Lua functions");
    return HS_OK;
}

int hs_lua_fn_create(hs_lua_fn **out, const char *source, hs_lua_mode mode,
                     const hs_lua_limits *limits)
{
    *out = NULL;
    if (source == NULL)
        return hs_err_set(HS_ERR_INVAL, "no Lua source given");
    if (mode != HS_LUA_UNARY && mode != HS_LUA_UNARY_TIME && mode != HS_LUA_REDUCER)
        return hs_err_set(HS_ERR_INVAL, "unknown kind of Lua function");
    int rc0 = hs__lua_source_ok(source);
    if (rc0 != HS_OK)
        return rc0;
    size_t len = strlen(source);

    hs_lua_fn *f = hs_calloc(1, sizeof *f);
    if (f == NULL)
        return HS_ERR_NOMEM;
    f->mode = mode;
    f->mem_limit =
        limits != NULL && limits->mem_bytes > 0 ? limits->mem_bytes : HS_LUA_DEFAULT_MEM_BYTES;
    uint64_t steps = limits != NULL && limits->steps > 0 ? limits->steps : HS_LUA_DEFAULT_STEPS;
    f->io.limit = (double)steps;
    f->io.budget = f->io.limit;
    f->ref_call = f->ref_cdint = f->ref_sin = f->ref_sout = LUA_NOREF;

    /*
     * The chunk hides the tick function in a local of an outer function and
     * runs the user's text inside an inner one (the newline keeps a final
     * comment from swallowing the `end`).
     */
    hs_buf code;
    hs_buf_init(&code, 0);
    int rc = hs_buf_puts(&code, "local " HS__LUA_TICK " = ... return (function(...) ");
    if (rc == HS_OK)
        rc = hs_lua_instrument(source, len, &code);
    if (rc == HS_OK)
        rc = hs_buf_puts(&code, "\nend)()");
    if (rc != HS_OK) {
        hs_buf_free(&code);
        hs_free(f);
        return rc;
    }
    /* The first phase runs outside the cap and the fault injection (see hs__lua_alloc). */
    hs__lua_call c;
    memset(&c, 0, sizeof c);
    c.f = f;
    c.code = (const char *)code.data;
    c.code_len = code.len;
    c.source = source;
    c.source_len = len;
    f->starting = true;
    f->L = lua_newstate(hs__lua_alloc, f);
    if (f->L != NULL) {
        lua_sethook(f->L, hs__lua_hook, LUA_MASKCOUNT, HS__LUA_HOOK_INSNS);
        rc = hs__lua_run(f, hs__lua_setup, &c);
    }
    f->starting = false;
    if (rc == HS_OK && (f->L == NULL || f->mem_used > f->mem_limit))
        rc = f->L == NULL ? hs_err_set(HS_ERR_NOMEM, "cannot create a Lua state")
                          : hs_err_set(HS_ERR_LIMIT, "lua: memory limit exceeded (%zu KiB)",
                                       f->mem_limit >> 10);
    if (rc == HS_OK)
        rc = hs__lua_run(f, hs__lua_finish, &c);
    hs_buf_free(&code);
    if (rc != HS_OK) {
        /* Keep the detail: closing the state does not touch it. */
        hs_lua_fn_destroy(f);
        return rc;
    }
    *out = f;
    return HS_OK;
}

int hs_lua_check(const char *source)
{
    if (source == NULL)
        return hs_err_set(HS_ERR_INVAL, "no Lua source given");
    int rc0 = hs__lua_source_ok(source);
    if (rc0 != HS_OK)
        return rc0;
    size_t len = strlen(source);
    /* The chunk as hs_lua_fn_create compiles it, so that both accept the same sources. */
    hs_buf code;
    hs_buf_init(&code, 0);
    int rc = hs_buf_puts(&code, "local " HS__LUA_TICK " = ... return (function(...) ");
    if (rc == HS_OK)
        rc = hs_lua_instrument(source, len, &code);
    if (rc == HS_OK)
        rc = hs_buf_puts(&code, "\nend)()");
    lua_State *L = rc == HS_OK ? luaL_newstate() : NULL;
    if (rc == HS_OK && L == NULL)
        rc = hs_err_set(HS_ERR_NOMEM, "cannot create a Lua state");
    if (rc == HS_OK) {
        /* Compiled in text mode only; nothing is run. */
        int st = luaL_loadbufferx(L, (const char *)code.data, code.len, "=lua", "t");
        if (st == LUA_ERRSYNTAX) {
            /* The message about the user's own text, as hs_lua_fn_create gives it. */
            lua_pop(L, 1);
            if (luaL_loadbufferx(L, source, len, "=lua", "t") == 0) {
                lua_pop(L, 1);
                luaL_loadbufferx(L, (const char *)code.data, code.len, "=lua", "t");
            }
            size_t ml = 0;
            const char *m = lua_tolstring(L, -1, &ml);
            rc = hs_err_set(HS_ERR_PARSE, "Lua syntax error: %.*s",
                            (int)(ml > HS__LUA_MSG_MAX ? HS__LUA_MSG_MAX : ml), m ? m : "?");
        } else if (st != 0) {
            rc = hs_err_set(HS_ERR_NOMEM, "cannot compile the Lua source: out of memory");
        }
    }
    if (L != NULL)
        lua_close(L);
    hs_buf_free(&code);
    return rc;
}

void hs_lua_fn_destroy(hs_lua_fn *f)
{
    if (f == NULL)
        return;
    if (f->L != NULL)
        lua_close(f->L);
    hs_free(f);
}

size_t hs_lua_fn_memory(const hs_lua_fn *f)
{
    return f->mem_used;
}

/* ------------------------------------------------------------------ values */

/* Pushes v; nil inside containers becomes the null sentinel. Protected context. */
static void hs__lua_push(lua_State *L, hs__lua_call *c, const hs_value *v, bool top)
{
    if (!lua_checkstack(L, 4))
        hs__lua_fail(L, c, HS_ERR_LIMIT, "lua: a value is nested too deeply");
    switch (v->type) {
    case HS_V_NIL:
        if (top)
            lua_pushnil(L);
        else
            lua_pushlightuserdata(L, NULL);
        return;
    case HS_V_BOOL:
        lua_pushboolean(L, v->u.b);
        return;
    case HS_V_INT:
        lua_pushnumber(L, (lua_Number)v->u.i);
        return;
    case HS_V_FLOAT:
        lua_pushnumber(L, v->u.f);
        return;
    case HS_V_STR:
        lua_pushlstring(L, v->u.s, v->len);
        return;
    case HS_V_BIN:
        lua_pushlstring(L, (const char *)v->u.bin, v->len);
        return;
    case HS_V_ARRAY:
        lua_createtable(L, (int)v->len, 0);
        for (uint32_t i = 0; i < v->len; i++) {
            hs__lua_push(L, c, &v->u.items[i], false);
            lua_rawseti(L, -2, (int)i + 1);
        }
        return;
    case HS_V_MAP:
        lua_createtable(L, 0, (int)v->len);
        for (uint32_t i = 0; i < v->len; i++) {
            const hs_value *k = &v->u.items[2 * i];
            if (k->type != HS_V_STR)
                hs__lua_fail(L, c, HS_ERR_TOOL, "lua: a map key is not a string");
            lua_pushlstring(L, k->u.s, k->len);
            hs__lua_push(L, c, &v->u.items[2 * i + 1], false);
            lua_rawset(L, -3);
        }
        return;
    }
    lua_pushnil(L);
}

static void *hs__lua_arena(lua_State *L, hs__lua_call *c, size_t size)
{
    void *p = hs_arena_alloc(c->a, size);
    if (p == NULL)
        hs__lua_fail(L, c, HS_ERR_NOMEM, "no memory for a Lua result");
    return p;
}

static int hs__pair_cmp(const void *a, const void *b)
{
    const hs_value *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int d = memcmp(x->u.s, y->u.s, n);
    if (d != 0)
        return d;
    return (x->len > y->len) - (x->len < y->len);
}

static void hs__lua_to_value(lua_State *L, hs__lua_call *c, int idx, int depth, hs_value *out);

/* The table at idx as an array (keys 1..n) or a map (string keys, sorted). */
static void hs__lua_table(lua_State *L, hs__lua_call *c, int idx, int depth, hs_value *out)
{
    if (depth + 1 > HS_MP_MAX_DEPTH)
        hs__lua_fail(L, c, HS_ERR_TOOL,
                     "lua: a result is nested more than %d deep (or holds a cycle)",
                     HS_MP_MAX_DEPTH);
    if (!lua_checkstack(L, 6))
        hs__lua_fail(L, c, HS_ERR_LIMIT, "lua: a result is nested too deeply");
    size_t total = 0, nnum = 0, nstr = 0;
    double maxk = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        total++;
        int kt = lua_type(L, -2);
        if (kt == LUA_TNUMBER) {
            double k = lua_tonumber(L, -2);
            if (k >= 1 && k == floor(k) && k <= 4294967295.0) {
                nnum++;
                if (k > maxk)
                    maxk = k;
            }
        } else if (kt == LUA_TSTRING) {
            nstr++;
        }
        lua_pop(L, 1);
    }
    memset(out, 0, sizeof *out);
    if (total > 0 && nnum == total && maxk == (double)total) {
        out->type = HS_V_ARRAY;
        out->len = (uint32_t)total;
        out->u.items = hs__lua_arena(L, c, total * sizeof(hs_value));
        for (size_t i = 0; i < total; i++) {
            lua_rawgeti(L, idx, (int)i + 1);
            hs__lua_to_value(L, c, lua_gettop(L), depth + 1, &out->u.items[i]);
            lua_pop(L, 1);
        }
        return;
    }
    if (nstr != total)
        hs__lua_fail(L, c, HS_ERR_TOOL,
                     "lua: a table whose keys are neither 1..n nor all strings cannot be "
                     "converted (it has %zu keys: %zu positive integers up to %.0f, %zu strings)",
                     total, nnum, maxk, nstr);
    out->type = HS_V_MAP;
    out->len = (uint32_t)total;
    out->u.items = total ? hs__lua_arena(L, c, 2 * total * sizeof(hs_value)) : NULL;
    size_t m = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (m == total) { /* cannot happen: nothing changes the table in between */
            lua_pop(L, 2);
            break;
        }
        size_t kl = 0;
        const char *k = lua_tolstring(L, -2, &kl); /* a string: no conversion */
        char *ks = hs__lua_arena(L, c, kl + 1);
        memcpy(ks, k, kl);
        ks[kl] = '\0';
        if (!hs_utf8_valid(ks, kl))
            hs__lua_fail(L, c, HS_ERR_TOOL, "lua: a map key is not valid UTF-8");
        hs_value *kv = &out->u.items[2 * m];
        memset(kv, 0, sizeof *kv);
        kv->type = HS_V_STR;
        kv->len = (uint32_t)kl;
        kv->u.s = ks;
        hs__lua_to_value(L, c, lua_gettop(L), depth + 1, &out->u.items[2 * m + 1]);
        lua_pop(L, 1);
        m++;
    }
    if (total > 1)
        qsort(out->u.items, total, 2 * sizeof(hs_value), hs__pair_cmp);
}

/* The Lua value at idx (absolute) as a value tree in c->a. Protected context. */
static void hs__lua_to_value(lua_State *L, hs__lua_call *c, int idx, int depth, hs_value *out)
{
    memset(out, 0, sizeof *out);
    int t = lua_type(L, idx);
    switch (t) {
    case LUA_TNIL:
        out->type = HS_V_NIL;
        return;
    case LUA_TBOOLEAN:
        out->type = HS_V_BOOL;
        out->u.b = lua_toboolean(L, idx) != 0;
        return;
    case LUA_TNUMBER:
        out->type = HS_V_FLOAT;
        out->u.f = lua_tonumber(L, idx);
        return;
    case LUA_TSTRING: {
        size_t len = 0;
        const char *s = lua_tolstring(L, idx, &len);
        if (len > UINT32_MAX)
            hs__lua_fail(L, c, HS_ERR_TOOL, "lua: a string result is too long");
        char *p = hs__lua_arena(L, c, len + 1);
        memcpy(p, s, len);
        p[len] = '\0';
        bool utf8 = hs_utf8_valid(p, len);
        out->type = utf8 ? HS_V_STR : HS_V_BIN;
        out->len = (uint32_t)len;
        if (utf8)
            out->u.s = p;
        else
            out->u.bin = (const uint8_t *)p;
        return;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            out->type = HS_V_NIL;
            return;
        }
        break;
    case LUA_TTABLE:
        hs__lua_table(L, c, idx, depth, out);
        return;
    case HS__LUA_TCDATA: {
        hs_lua_fn *f = c->f;
        lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref_cdint);
        lua_pushvalue(L, idx);
        lua_call(L, 1, 1);
        lua_Integer kind = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (kind == 1 || (kind == 2 && f->io.u64 <= (uint64_t)INT64_MAX)) {
            out->type = HS_V_INT;
            out->u.i = kind == 1 ? f->io.i64 : (int64_t)f->io.u64;
            return;
        }
        if (kind == 2) {
            out->type = HS_V_FLOAT;
            out->u.f = (double)f->io.u64;
            return;
        }
        hs__lua_fail(L, c, HS_ERR_TOOL,
                     "lua: a cdata result cannot be converted (only int64 and uint64)");
        return;
    }
    default:
        break;
    }
    hs__lua_fail(L, c, HS_ERR_TOOL, "lua: a %s value cannot be a result",
                 t == HS__LUA_TCDATA ? "cdata" : lua_typename(L, t));
}

/* Protected: one batch of a unary function. */
static int hs__lua_map_batch(lua_State *L)
{
    hs__lua_call *c = lua_touserdata(L, 1);
    hs_lua_fn *f = c->f;
    hs__lua_io *io = &f->io;
    bool slow_in = false;
    for (size_t i = 0; i < c->n; i++) {
        const hs_value *v = &c->in[i];
        if (v->type == HS_V_FLOAT) {
            io->x[i] = v->u.f;
            io->k[i] = 0;
        } else if (v->type == HS_V_INT) {
            io->x[i] = (double)v->u.i;
            io->k[i] = 0;
        } else {
            io->k[i] = 1;
            slow_in = true;
        }
    }
    if (f->mode == HS_LUA_UNARY_TIME)
        for (size_t i = 0; i < c->n; i++)
            io->ts[i] = (double)c->t_us[i] / 1e6;
    if (slow_in) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref_sin);
        int tab = lua_gettop(L);
        for (size_t i = 0; i < c->n; i++) {
            if (io->k[i] == 0)
                continue;
            hs__lua_push(L, c, &c->in[i], true);
            lua_rawseti(L, tab, (int)i + 1);
        }
        lua_settop(L, tab - 1);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref_call);
    lua_pushinteger(L, (lua_Integer)c->n);
    lua_call(L, 1, 0);
    bool slow_out = false;
    for (size_t i = 0; i < c->n; i++) {
        if (io->ko[i] == 0) {
            memset(&c->out[i], 0, sizeof c->out[i]);
            c->out[i].type = HS_V_FLOAT;
            c->out[i].u.f = io->y[i];
        } else {
            slow_out = true;
        }
    }
    if (slow_out) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref_sout);
        int tab = lua_gettop(L);
        for (size_t i = 0; i < c->n; i++) {
            if (io->ko[i] == 0)
                continue;
            lua_rawgeti(L, tab, (int)i + 1);
            hs__lua_to_value(L, c, tab + 1, 0, &c->out[i]);
            lua_pop(L, 1);
            lua_pushnil(L);
            lua_rawseti(L, tab, (int)i + 1);
        }
        lua_settop(L, tab - 1);
    }
    if (slow_in) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref_sin);
        int tab = lua_gettop(L);
        for (size_t i = 0; i < c->n; i++) {
            if (io->k[i] == 0)
                continue;
            lua_pushnil(L);
            lua_rawseti(L, tab, (int)i + 1);
        }
        lua_settop(L, tab - 1);
    }
    return 0;
}

int hs_lua_fn_map(hs_lua_fn *f, hs_arena *a, const int64_t *t_us, const hs_value *in, size_t n,
                  hs_value *out)
{
    if (f->mode != HS_LUA_UNARY && f->mode != HS_LUA_UNARY_TIME)
        return hs_err_set(HS_ERR_STATE, "this Lua function is a reducer");
    if (f->mode == HS_LUA_UNARY_TIME && t_us == NULL && n > 0)
        return hs_err_set(HS_ERR_INVAL, "this Lua function needs timestamps");
    hs__lua_call c;
    memset(&c, 0, sizeof c);
    c.f = f;
    c.a = a;
    for (size_t done = 0; done < n;) {
        size_t m = n - done < HS__LUA_BATCH ? n - done : HS__LUA_BATCH;
        c.t_us = t_us != NULL ? t_us + done : NULL;
        c.in = in + done;
        c.out = out + done;
        c.n = m;
        int rc = hs__lua_run(f, hs__lua_map_batch, &c);
        if (rc != HS_OK)
            return rc;
        done += m;
    }
    return HS_OK;
}

/* Protected: one call of a reducer. */
static int hs__lua_reduce_call(lua_State *L)
{
    hs__lua_call *c = lua_touserdata(L, 1);
    hs_lua_fn *f = c->f;
    f->io.rv = c->rv;
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref_call);
    lua_pushinteger(L, (lua_Integer)c->n);
    lua_call(L, 1, 1);
    f->io.rv = NULL;
    int t = lua_type(L, -1);
    if (t == LUA_TNUMBER) {
        c->result = lua_tonumber(L, -1);
        return 0;
    }
    if (t == HS__LUA_TCDATA) {
        hs_value v;
        hs__lua_to_value(L, c, lua_gettop(L), 0, &v);
        c->result = v.type == HS_V_INT ? (double)v.u.i : v.u.f;
        return 0;
    }
    return hs__lua_fail(L, c, HS_ERR_TOOL, "lua: a reducer must return a number, not %s",
                        t == LUA_TNIL ? "nil" : lua_typename(L, t));
}

int hs_lua_fn_reduce(hs_lua_fn *f, const double *v, size_t n, double *out)
{
    if (f->mode != HS_LUA_REDUCER)
        return hs_err_set(HS_ERR_STATE, "this Lua function is not a reducer");
    if (n > (size_t)INT32_MAX)
        return hs_err_set(HS_ERR_LIMIT, "lua: too many values for one call");
    hs__lua_call c;
    memset(&c, 0, sizeof c);
    c.f = f;
    c.rv = v;
    c.n = n;
    int rc = hs__lua_run(f, hs__lua_reduce_call, &c);
    f->io.rv = NULL;
    if (rc == HS_OK)
        *out = c.result;
    return rc;
}
