/* What the tool benchmarks share (bench_job.h). */
#include "bench_job.h"

#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

double bench_rnd_value(void)
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

double bench_median_s(int64_t *times, int runs)
{
    qsort(times, (size_t)runs, sizeof times[0], cmp_i64);
    return (double)times[runs / 2] / 1e6;
}

typedef struct mem {
    hs_batch *src; /* borrowed, nsrc sorted batches */
    size_t nsrc;
} mem;

static int mem_read(void *ud, size_t source, int64_t after, int64_t end, size_t max, hs_batch *out)
{
    mem *m = ud;
    if (source >= m->nsrc)
        return hs_err_set(HS_ERR_NOTFOUND, "no source %zu", source);
    return hs_batch_read_range(&m->src[source], after, end, max, out);
}

double bench_job_run(const char *prog, const char *what, const hs_tool_def *def, const char *params,
                     int64_t start, int64_t end, hs_batch *src, size_t nsrc, int runs,
                     long *produced)
{
    if (nsrc > BENCH_JOB_MAX_SOURCES || runs < 1 || runs > BENCH_JOB_MAX_RUNS) {
        fprintf(stderr, "%s: %s: too many sources or runs\n", prog, what);
        return -1;
    }
    hs_buf p;
    hs_buf_init(&p, 0);
    if (hs_json_to_mpack(params, strlen(params), &p) != HS_OK) {
        fprintf(stderr, "%s: %s: bad parameters %s\n", prog, what, params);
        hs_buf_free(&p);
        return -1;
    }
    mem m = {src, nsrc};
    hs_streamid *sids[BENCH_JOB_MAX_SOURCES] = {0};
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
    int64_t times[BENCH_JOB_MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        hs_tool_output out;
        int64_t t0 = hs_time_mono_us();
        int rc = hs_tool_run(&job, &out);
        times[r] = hs_time_mono_us() - t0;
        if (rc != HS_OK) {
            fprintf(stderr, "%s: %s failed: %s\n", prog, what, out.error);
            hs_tool_output_free(&out);
            hs_buf_free(&p);
            return -1;
        }
        *produced = (long)out.per_sink[0].n;
        hs_tool_output_free(&out);
    }
    hs_buf_free(&p);
    return bench_median_s(times, runs);
}
