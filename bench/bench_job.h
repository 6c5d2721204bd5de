/*
 * What the tool benchmarks share: a fixed random sequence of values and the
 * run of one tool job over in-memory sources, timed.
 */
#ifndef HS_BENCH_JOB_H
#define HS_BENCH_JOB_H

#include "hs_codec.h"
#include "hs_tool.h"

#include <stddef.h>
#include <stdint.h>

/* Most sources and runs bench_job_run takes. */
#define BENCH_JOB_MAX_SOURCES 16
#define BENCH_JOB_MAX_RUNS    32

/* The next float of a fixed xorshift sequence, in [-10, 30): the same data every run. */
double bench_rnd_value(void);

/* Sorts times and returns the median, in seconds (times in microseconds). */
double bench_median_s(int64_t *times, int runs);

/*
 * Runs tool def with params (JSON) over (start, end] `runs` times on nsrc
 * sorted in-memory batches (read as a store would: in chunks copied out).
 * Returns the median time in seconds and sets *produced to the first sink's
 * instance count; returns -1 after printing prog's error when a run fails.
 */
double bench_job_run(const char *prog, const char *what, const hs_tool_def *def, const char *params,
                     int64_t start, int64_t end, hs_batch *src, size_t nsrc, int runs,
                     long *produced);

#endif
