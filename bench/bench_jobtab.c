/*
 * Benchmark of the scheduler's job table: add, dispatch, timeout and
 * re-queue, next-to-dispatch, lookup by id and by unit, done and remove,
 * with 200,000 jobs and, as the baseline, with 2,000. An indexed table
 * keeps the per-operation rates of both close. Prints ops/s; no thresholds.
 *   bench_jobtab
 */
#include "jobtab.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_time.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Operations per second of n operations that took from_us..now. */
static double rate(size_t n, int64_t from_us)
{
    int64_t el = hs_time_mono_us() - from_us;
    return el > 0 ? (double)n * 1e6 / (double)el : 0.0;
}

static int run(size_t n)
{
    jobtab *jt;
    int rc = jobtab_create(&jt);
    if (rc != HS_OK)
        return rc;
    jobtab_job *j = hs_calloc(n, sizeof *j);
    if (j == NULL) {
        jobtab_destroy(jt);
        return HS_ERR_NOMEM;
    }
    int64_t t = hs_time_mono_us();
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        char id[48];
        snprintf(id, sizeof id, "j%zu", i);
        rc = jobtab_add(jt, &j[i], id, "wf", i % 7, i % 1000,
                        (hs_interval){(int64_t)i * 10, (int64_t)i * 10 + 10});
    }
    if (rc != HS_OK)
        goto out;
    printf("%8zu jobs  add                  %9.0f ops/s\n", n, rate(n, t));
    /*
     * Next-to-dispatch, dispatch and commit of a tenth of the jobs, at most
     * 16 in flight (the scheduler's default max_inflight).
     */
    size_t k = n / 10;
    jobtab_iter it;
    jobtab_job *q, *e;
    t = hs_time_mono_us();
    for (size_t i = 0; i < k && (q = jobtab_queue_first(jt, &it)) != NULL; i++) {
        jobtab_set_state(jt, q, JOBTAB_DISPATCHED, (int64_t)i);
        if (!jobtab_may_dispatch(jt, 16) && (e = jobtab_expired(jt, INT64_MAX)) != NULL)
            jobtab_set_state(jt, e, JOBTAB_DONE, 0);
    }
    printf("%8zu jobs  next+dispatch+commit %9.0f ops/s\n", n, rate(k, t));
    /* Timeouts: each dispatched job times out and is queued again at its place. */
    t = hs_time_mono_us();
    size_t done = 0;
    for (size_t i = 0; i < k && (q = jobtab_queue_first(jt, &it)) != NULL; i++) {
        jobtab_set_state(jt, q, JOBTAB_DISPATCHED, (int64_t)(k + i));
        while ((e = jobtab_expired(jt, (int64_t)(k + i))) != NULL) {
            jobtab_set_state(jt, e, JOBTAB_QUEUED, 0);
            done++;
        }
    }
    printf("%8zu jobs  timeout+requeue      %9.0f ops/s\n", n, rate(done, t));
    t = hs_time_mono_us();
    size_t found = 0;
    for (size_t i = 0; i < n; i++)
        found += jobtab_find(jt, j[(i * 7919) % n].id) != NULL;
    printf("%8zu jobs  find by id           %9.0f ops/s\n", n, rate(n, t));
    t = hs_time_mono_us();
    for (size_t i = 0; i < n; i++)
        found += jobtab_unit_first(jt, "wf", i % 7, i % 1000) != NULL;
    printf("%8zu jobs  find by unit         %9.0f ops/s\n", n, rate(n, t));
    t = hs_time_mono_us();
    for (size_t i = 0; i < n; i++)
        jobtab_remove(jt, &j[i]);
    printf("%8zu jobs  remove               %9.0f ops/s  (%zu found)\n", n, rate(n, t), found);
out:
    hs_free(j);
    jobtab_destroy(jt);
    return rc;
}

int main(void)
{
    if (run(2000) != HS_OK || run(200000) != HS_OK) {
        fprintf(stderr, "bench_jobtab: %s\n", hs_err_detail());
        return 1;
    }
    return 0;
}
