/*
 * Benchmark of Lua user functions (LuaJIT), side by side with the built-in
 * functions they replace, and where the time goes:
 *   - apply over 10^7 float instances through hs_tool_run (a reader that
 *     copies each chunk out, as a store does): the built-in c_to_f, then
 *     "lua: return function(v) return v * 1.8 + 32 end", then the same with
 *     include_timestamps;
 *   - the Lua function alone over 10^7 values in memory: in batches (what
 *     apply does) and one call per value (what a tool without the batch form
 *     pays), to show the cost of the calls into Lua;
 *   - sliding_apply over 60 s windows of 10^7 instances with the built-in
 *     mean and with a Lua mean;
 *   - creating and closing one Lua function (once per job).
 * Prints the median of several runs as instances per second; no thresholds.
 *   bench_lua [runs]
 */
#include "bench_job.h"
#include "functions.h"
#include "lua_func.h"
#include "tools.h"

#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_DATA 10000000

/* 2016-01-01T00:00:00Z. */
#define T_BASE (1451606400LL * HS_US_PER_S)

#define LUA_C_TO_F   "lua: return function(v) return v * 1.8 + 32 end"
#define LUA_C_TO_F_T "lua: return function(t, v) return v * 1.8 + 32 end"
#define LUA_MEAN                                                                                   \
    "lua: return function(xs) local s = 0 for i = 1, #xs do s = s + xs[i] end return s / #xs end"

static void report(const char *what, double sec, double count)
{
    printf("%-62s %8.1f ms %7.2f M/s %6.1f ns each\n", what, sec * 1e3, count / sec / 1e6,
           sec * 1e9 / count);
}

/* Runs def over (start, end] `runs` times; prints the median. Returns the outputs or -1. */
static long bench_tool(const char *what, const hs_tool_def *def, const char *params, int64_t start,
                       int64_t end, hs_batch *src, size_t nsrc, double count, int runs)
{
    long produced = 0;
    double sec =
        bench_job_run("bench_lua", what, def, params, start, end, src, nsrc, runs, &produced);
    if (sec < 0)
        return -1;
    report(what, sec, count);
    return produced;
}

/* The Lua function alone over values in memory, in batches or one call each. */
static int bench_direct(const hs_value *in, const int64_t *ts, hs_value *out, size_t n, int runs)
{
    hs_func f;
    if (hs_func_find(LUA_C_TO_F, HS_FUNC_UNARY, &f) != HS_OK) {
        fprintf(stderr, "bench_lua: %s\n", hs_err_detail());
        return -1;
    }
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    int64_t times[32];
    int rc = HS_OK;
    for (int r = 0; r < runs && rc == HS_OK; r++) {
        int64_t t0 = hs_time_mono_us();
        rc = f.unary_batch(f.ud, &a, ts, in, n, out);
        times[r] = hs_time_mono_us() - t0;
    }
    if (rc == HS_OK)
        report("Lua c_to_f alone, batches of 256 (1e7 values)", bench_median_s(times, runs),
               (double)n);
    size_t n1 = n / 10;
    for (int r = 0; r < runs && rc == HS_OK; r++) {
        int64_t t0 = hs_time_mono_us();
        for (size_t i = 0; i < n1 && rc == HS_OK; i++)
            rc = f.unary(f.ud, &a, ts[i], &in[i], &out[i]);
        times[r] = hs_time_mono_us() - t0;
    }
    if (rc == HS_OK)
        report("Lua c_to_f alone, one protected call per value (1e6)", bench_median_s(times, runs),
               (double)n1);
    if (rc != HS_OK)
        fprintf(stderr, "bench_lua: %s\n", hs_err_detail());
    hs_arena_free(&a);
    hs_func_release(&f);
    return rc;
}

/* Creating and closing one Lua function. */
static int bench_create(int runs)
{
    int64_t times[32];
    const int reps = 200;
    for (int r = 0; r < runs; r++) {
        int64_t t0 = hs_time_mono_us();
        for (int i = 0; i < reps; i++) {
            hs_func f;
            if (hs_func_find(LUA_C_TO_F, HS_FUNC_UNARY, &f) != HS_OK) {
                fprintf(stderr, "bench_lua: %s\n", hs_err_detail());
                return -1;
            }
            hs_func_release(&f);
        }
        times[r] = hs_time_mono_us() - t0;
    }
    double sec = bench_median_s(times, runs);
    printf("%-62s %8.1f us each\n", "creating and closing a Lua function", sec * 1e6 / reps);
    return 0;
}

/* Appends windows of width w every inc ending in (start, end]. */
static int make_windows(hs_batch *b, int64_t start, int64_t end, int64_t w, int64_t inc)
{
    hs_batch_reset(b);
    for (int64_t up = start + inc; up <= end; up += inc) {
        hs_buf *v = hs_batch_push_begin(b);
        if (v == NULL || hs_mp_put_array(v, 2) != HS_OK || hs_mp_put_int(v, up - w) != HS_OK ||
            hs_mp_put_int(v, up) != HS_OK || hs_batch_push_end(b, up) != HS_OK)
            return HS_ERR_NOMEM;
    }
    return HS_OK;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 3;
    if (runs < 1 || runs > 32)
        runs = 3;
    int rc = HS_OK;
    hs_batch src[2];
    hs_batch_init(&src[0]);
    hs_batch_init(&src[1]);
    int64_t end = T_BASE + (int64_t)N_DATA * HS_US_PER_S;
    for (int64_t i = 1; i <= N_DATA && rc == HS_OK; i++) {
        hs_buf *v = hs_batch_push_begin(&src[0]);
        rc = v == NULL ? HS_ERR_NOMEM : hs_mp_put_double(v, bench_rnd_value());
        if (rc == HS_OK)
            rc = hs_batch_push_end(&src[0], T_BASE + i * HS_US_PER_S);
    }
    if (rc != HS_OK)
        goto fail;

    printf("apply over 1e7 float instances (hs_tool_run, instances read per second):\n");
    if (bench_tool("apply c_to_f (built-in)", &hs_tool_apply, "{\"func\": \"c_to_f\"}", T_BASE, end,
                   src, 1, N_DATA, runs) < 0 ||
        bench_tool("apply identity (built-in)", &hs_tool_apply, "{\"func\": \"identity\"}", T_BASE,
                   end, src, 1, N_DATA, runs) < 0 ||
        bench_tool("apply lua v * 1.8 + 32", &hs_tool_apply, "{\"func\": \"" LUA_C_TO_F "\"}",
                   T_BASE, end, src, 1, N_DATA, runs) < 0 ||
        bench_tool("apply lua (t, v) -> v * 1.8 + 32, include_timestamps", &hs_tool_apply,
                   "{\"func\": \"" LUA_C_TO_F_T "\", \"include_timestamps\": true}", T_BASE, end,
                   src, 1, N_DATA, runs) < 0)
        goto fail;

    /* The Lua part alone. */
    hs_value *in = calloc(N_DATA, sizeof *in);
    hs_value *out = calloc(N_DATA, sizeof *out);
    int64_t *ts = calloc(N_DATA, sizeof *ts);
    if (in == NULL || out == NULL || ts == NULL) {
        free(in);
        free(out);
        free(ts);
        goto fail;
    }
    for (size_t i = 0; i < N_DATA; i++) {
        in[i].type = HS_V_FLOAT;
        hs_func_number(hs_batch_value(&src[0], i), src[0].items[i].len, &in[i].u.f);
        ts[i] = src[0].items[i].t_us;
    }
    printf("the Lua function alone (values in memory):\n");
    int drc = bench_direct(in, ts, out, N_DATA, runs);
    free(in);
    free(out);
    free(ts);
    if (drc != HS_OK || bench_create(runs) != 0)
        goto fail;

    /* sliding_apply reads the windows from source 0 and the data from source 1. */
    hs_batch tmp = src[0];
    src[0] = src[1];
    src[1] = tmp;
    printf("sliding_apply, 60 s windows every 60 s over 1e7 instances:\n");
    if ((rc = make_windows(&src[0], T_BASE, end, 60 * HS_US_PER_S, 60 * HS_US_PER_S)) != HS_OK ||
        bench_tool("sliding_apply mean (built-in)", &hs_tool_sliding_apply, "{\"func\": \"mean\"}",
                   T_BASE, end, src, 2, N_DATA, runs) < 0 ||
        bench_tool("sliding_apply lua mean", &hs_tool_sliding_apply, "{\"func\": \"" LUA_MEAN "\"}",
                   T_BASE, end, src, 2, N_DATA, runs) < 0)
        goto fail;

    printf("(median of %d runs)\n", runs);
    hs_batch_free(&src[0]);
    hs_batch_free(&src[1]);
    return 0;
fail:
    if (rc != HS_OK)
        fprintf(stderr, "bench_lua: %s\n", hs_strerror(rc));
    hs_batch_free(&src[0]);
    hs_batch_free(&src[1]);
    return 1;
}
