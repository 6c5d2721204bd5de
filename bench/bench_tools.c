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
#include "bench_job.h"
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

static long bench(const char *what, const hs_tool_def *def, const char *params, int64_t start,
                  int64_t end, hs_batch *src, size_t nsrc, double count, int runs)
{
    long produced = 0;
    double sec =
        bench_job_run("bench_tools", what, def, params, start, end, src, nsrc, runs, &produced);
    if (sec < 0)
        return -1;
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
        rc = v == NULL ? HS_ERR_NOMEM : hs_mp_put_double(v, bench_rnd_value());
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
            rc = v == NULL ? HS_ERR_NOMEM : hs_mp_put_double(v, bench_rnd_value());
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
