/*
 * Benchmark of the built-in tools, run through hs_tool_run over in-memory
 * sources (a reader that copies each chunk out, as a store does):
 *   - sliding_apply mean over 60 s windows on 10^7 instances at 1 Hz
 *     (tumbling windows, and windows every 10 s);
 *   - aggregate mean over 4 sources of 2.5 * 10^6 instances each;
 *   - apply abs on 10^7 instances.
 * Prints the median of several runs of each as instances read per second;
 * there are no thresholds.
 *   bench_tools [runs]
 */
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
#define N_AGG  4

/* 2016-01-01T00:00:00Z. */
#define T_BASE (1451606400LL * HS_US_PER_S)

typedef struct mem {
    hs_batch *src; /* borrowed, nsrc sorted batches */
    size_t nsrc;
} mem;

/* Up to max instances with after < t <= end, appended to out (copied, as a store does). */
static int mem_read(void *ud, size_t source, int64_t after, int64_t end, size_t max, hs_batch *out)
{
    mem *m = ud;
    if (source >= m->nsrc)
        return hs_err_set(HS_ERR_NOTFOUND, "no source %zu", source);
    const hs_batch *b = &m->src[source];
    return hs_batch_read_range(b, after, end, max, out);
}

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static double rnd_value(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0 * 40.0 - 10.0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/*
 * Runs def over (start, end] on the sources `runs` times and prints the
 * median as `count` instances per second. Returns the output count or -1.
 */
static long bench(const char *what, const hs_tool_def *def, const char *params, int64_t start,
                  int64_t end, hs_batch *src, size_t nsrc, double count, int runs)
{
    hs_buf p;
    hs_buf_init(&p, 0);
    if (hs_json_to_mpack(params, strlen(params), &p) != HS_OK) {
        hs_buf_free(&p);
        return -1;
    }
    mem m = {src, nsrc};
    hs_streamid *sids[N_AGG + 2] = {0};
    hs_streamid *sink = NULL;
    hs_tool_job job = {
        .def = def,
        .interval = {start, end},
        .params = p.data,
        .params_len = p.len,
        .sources = sids,
        .nsources = nsrc,
        .sinks = &sink,
        .nsinks = 1,
        .read = mem_read,
        .read_ud = &m,
    };
    int64_t times[32];
    long produced = 0;
    for (int r = 0; r < runs; r++) {
        hs_tool_output out;
        int64_t t0 = hs_time_mono_us();
        int rc = hs_tool_run(&job, &out);
        times[r] = hs_time_mono_us() - t0;
        if (rc != HS_OK) {
            fprintf(stderr, "bench_tools: %s failed: %s\n", what, out.error);
            hs_tool_output_free(&out);
            hs_buf_free(&p);
            return -1;
        }
        produced = (long)out.per_sink[0].n;
        hs_tool_output_free(&out);
    }
    hs_buf_free(&p);
    qsort(times, (size_t)runs, sizeof times[0], cmp_i64);
    double sec = (double)times[runs / 2] / 1e6;
    printf("%s: %.1f ms, %.2f M instances/s (%.1f ns per instance), %ld outputs\n", what, sec * 1e3,
           count / sec / 1e6, sec * 1e9 / count, produced);
    return produced;
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
    hs_batch src[N_AGG + 2];
    for (size_t i = 0; i < N_AGG + 2; i++)
        hs_batch_init(&src[i]);

    /* Source 1: 10^7 float instances at 1 Hz. */
    int64_t end = T_BASE + (int64_t)N_DATA * HS_US_PER_S;
    for (int64_t i = 1; i <= N_DATA && rc == HS_OK; i++) {
        hs_buf *v = hs_batch_push_begin(&src[1]);
        rc = v == NULL ? HS_ERR_NOMEM : hs_mp_put_double(v, rnd_value());
        if (rc == HS_OK)
            rc = hs_batch_push_end(&src[1], T_BASE + i * HS_US_PER_S);
    }
    if (rc != HS_OK)
        goto fail;

    /* sliding_apply: source 0 holds the windows. */
    if ((rc = make_windows(&src[0], T_BASE, end, 60 * HS_US_PER_S, 60 * HS_US_PER_S)) != HS_OK ||
        bench("sliding_apply mean, 60 s windows every 60 s, 1e7 instances", &hs_tool_sliding_apply,
              "{\"func\": \"mean\"}", T_BASE, end, src, 2, N_DATA, runs) < 0)
        goto fail;
    if ((rc = make_windows(&src[0], T_BASE, end, 60 * HS_US_PER_S, 10 * HS_US_PER_S)) != HS_OK ||
        bench("sliding_apply mean, 60 s windows every 10 s, 1e7 instances", &hs_tool_sliding_apply,
              "{\"func\": \"mean\"}", T_BASE, end, src, 2, N_DATA, runs) < 0)
        goto fail;
    hs_batch_free(&src[0]);

    /* apply abs reads source 0: move the data there. */
    hs_batch tmp = src[0];
    src[0] = src[1];
    src[1] = tmp;
    if (bench("apply abs, 1e7 instances", &hs_tool_apply, "{\"func\": \"abs\"}", T_BASE, end, src,
              1, N_DATA, runs) < 0)
        goto fail;
    hs_batch_free(&src[0]);

    /* aggregate: 4 sources at the same 1 Hz timestamps, 2.5 * 10^6 each. */
    int64_t agg_end = T_BASE + (int64_t)(N_DATA / N_AGG) * HS_US_PER_S;
    for (size_t s = 0; s < N_AGG && rc == HS_OK; s++) {
        for (int64_t i = 1; i <= N_DATA / N_AGG && rc == HS_OK; i++) {
            hs_buf *v = hs_batch_push_begin(&src[s]);
            rc = v == NULL ? HS_ERR_NOMEM : hs_mp_put_double(v, rnd_value());
            if (rc == HS_OK)
                rc = hs_batch_push_end(&src[s], T_BASE + i * HS_US_PER_S);
        }
    }
    if (rc != HS_OK || bench("aggregate mean, 4 sources x 2.5e6 instances", &hs_tool_aggregate,
                             "{\"func\": \"mean\"}", T_BASE, agg_end, src, N_AGG, N_DATA, runs) < 0)
        goto fail;

    printf("(median of %d runs; instances/s counts the instances read)\n", runs);
    for (size_t i = 0; i < N_AGG + 2; i++)
        hs_batch_free(&src[i]);
    return 0;
fail:
    if (rc != HS_OK)
        fprintf(stderr, "bench_tools: %s\n", hs_strerror(rc));
    for (size_t i = 0; i < N_AGG + 2; i++)
        hs_batch_free(&src[i]);
    return 1;
}
