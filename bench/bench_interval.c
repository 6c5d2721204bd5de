/*
 * Benchmark of interval sets and time text: union, difference, intersection
 * and split of sets of 10^5 intervals, hs_intervals_add of 10^5 random
 * intervals, and ISO-8601 parse and format throughput. Prints the median of
 * several runs of each; there are no thresholds.
 *   bench_interval [runs]
 */
#include "hs_error.h"
#include "hs_interval.h"
#include "hs_time.h"

#include <stdio.h>
#include <stdlib.h>

#define N_SET 100000
#define N_ISO 1000000

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(uint64_t bound)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (rng_state * 0x2545F4914F6CDD1DULL >> 11) % bound;
}

/* n disjoint intervals with random gaps and widths of 1 to 1000 s from 2016. */
static int make_set(hs_intervals *s, size_t n)
{
    int64_t t = 1451606400LL * HS_US_PER_S;
    for (size_t i = 0; i < n; i++) {
        int64_t start = t + (int64_t)(1 + rnd(1000)) * HS_US_PER_S;
        int64_t end = start + (int64_t)(1 + rnd(1000)) * HS_US_PER_S;
        int rc = hs_intervals_push(s, (hs_interval){start, end});
        if (rc != HS_OK)
            return rc;
        t = end;
    }
    return HS_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t median(int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_i64);
    return v[n / 2];
}

/* Prints "<what>: X ms (Y M <units>/s, Z ns per <unit>)" for count items done in us. */
static void report(const char *what, int64_t us, double count, const char *units, const char *unit)
{
    double sec = (double)us / 1e6;
    printf("%s: %.2f ms (%.2f M %s/s, %.1f ns per %s)\n", what, (double)us / 1e3,
           sec > 0 ? count / sec / 1e6 : 0.0, units, sec * 1e9 / count, unit);
}

enum op { OP_UNION, OP_DIFFERENCE, OP_INTERSECTION };

static int bench_binary(const char *name, enum op op, const hs_intervals *a, const hs_intervals *b,
                        int runs, size_t *checksum)
{
    int64_t times[32];
    hs_intervals out;
    hs_intervals_init(&out);
    for (int r = 0; r < runs; r++) {
        int64_t t0 = hs_time_mono_us();
        int rc = op == OP_UNION        ? hs_intervals_union(a, b, &out)
                 : op == OP_DIFFERENCE ? hs_intervals_difference(a, b, &out)
                                       : hs_intervals_intersection(a, b, &out);
        times[r] = hs_time_mono_us() - t0;
        if (rc != HS_OK) {
            hs_intervals_free(&out);
            return rc;
        }
        *checksum += out.n;
    }
    char what[80];
    snprintf(what, sizeof what, "interval %s 1e5+1e5", name);
    report(what, median(times, runs), (double)(a->n + b->n), "intervals", "interval");
    hs_intervals_free(&out);
    return HS_OK;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > 32)
        runs = 5;
    size_t checksum = 0;
    int64_t times[32];
    hs_intervals a, b, out;
    hs_intervals_init(&a);
    hs_intervals_init(&b);
    hs_intervals_init(&out);
    int rc = make_set(&a, N_SET);
    if (rc == HS_OK)
        rc = make_set(&b, N_SET);
    if (rc != HS_OK)
        goto fail;

    if (bench_binary("union", OP_UNION, &a, &b, runs, &checksum) != HS_OK ||
        bench_binary("difference", OP_DIFFERENCE, &a, &b, runs, &checksum) != HS_OK ||
        bench_binary("intersection", OP_INTERSECTION, &a, &b, runs, &checksum) != HS_OK)
        goto fail;

    /* Split at 10^5 random points across the span of a. */
    int64_t *points = malloc(N_SET * sizeof(int64_t));
    if (points == NULL)
        goto fail;
    hs_interval span;
    hs_intervals_span(&a, &span);
    for (size_t i = 0; i < N_SET; i++)
        points[i] = span.start + (int64_t)rnd((uint64_t)(span.end - span.start));
    for (int r = 0; r < runs; r++) {
        int64_t t0 = hs_time_mono_us();
        rc = hs_intervals_split(&a, points, N_SET, &out);
        times[r] = hs_time_mono_us() - t0;
        checksum += out.n;
        if (rc != HS_OK)
            break;
    }
    free(points);
    if (rc != HS_OK)
        goto fail;
    report("interval split 1e5 at 1e5 points", median(times, runs), 2.0 * N_SET, "elements",
           "element");

    /* hs_intervals_add of 10^5 random intervals into an empty set. */
    hs_interval *adds = malloc(N_SET * sizeof(hs_interval));
    if (adds == NULL)
        goto fail;
    for (size_t i = 0; i < N_SET; i++) {
        int64_t start = span.start + (int64_t)rnd((uint64_t)(span.end - span.start));
        adds[i] = (hs_interval){start, start + (int64_t)(1 + rnd(1000)) * HS_US_PER_S};
    }
    for (int r = 0; r < runs && rc == HS_OK; r++) {
        hs_intervals_clear(&out);
        int64_t t0 = hs_time_mono_us();
        for (size_t i = 0; i < N_SET && rc == HS_OK; i++)
            rc = hs_intervals_add(&out, adds[i]);
        times[r] = hs_time_mono_us() - t0;
        checksum += out.n;
    }
    free(adds);
    if (rc != HS_OK)
        goto fail;
    report("interval add 1e5 random", median(times, runs), (double)N_SET, "intervals", "interval");

    /* ISO-8601: format then parse 10^6 instants, half with a fraction. */
    char(*texts)[HS_TIME_ISO_MAX] = malloc(N_ISO * sizeof *texts);
    size_t *lens = malloc(N_ISO * sizeof *lens);
    int64_t *instants = malloc(N_ISO * sizeof *instants);
    if (texts == NULL || lens == NULL || instants == NULL) {
        free(texts);
        free(lens);
        free(instants);
        goto fail;
    }
    for (size_t i = 0; i < N_ISO; i++) {
        instants[i] = (int64_t)rnd(4102444800ULL * HS_US_PER_S); /* 1970..2100 */
        if (i % 2 == 0)
            instants[i] -= instants[i] % HS_US_PER_S;
    }
    for (int r = 0; r < runs; r++) {
        int64_t t0 = hs_time_mono_us();
        for (size_t i = 0; i < N_ISO; i++)
            lens[i] = hs_time_format_iso(instants[i], texts[i]);
        times[r] = hs_time_mono_us() - t0;
    }
    report("iso format 1e6", median(times, runs), (double)N_ISO, "instants", "instant");
    size_t mismatches = 0;
    for (int r = 0; r < runs; r++) {
        int64_t t0 = hs_time_mono_us();
        for (size_t i = 0; i < N_ISO; i++) {
            int64_t t;
            if (hs_time_parse_iso(texts[i], lens[i], &t) != HS_OK || t != instants[i])
                mismatches++;
        }
        times[r] = hs_time_mono_us() - t0;
    }
    report("iso parse 1e6", median(times, runs), (double)N_ISO, "instants", "instant");
    free(texts);
    free(lens);
    free(instants);
    if (mismatches != 0) {
        fprintf(stderr, "bench_interval: %zu ISO round trips failed\n", mismatches);
        goto fail;
    }

    printf("(median of %d runs; checksum %zu)\n", runs, checksum);
    hs_intervals_free(&a);
    hs_intervals_free(&b);
    hs_intervals_free(&out);
    return 0;

fail:
    fprintf(stderr, "bench_interval: failed: %s\n", hs_err_detail());
    hs_intervals_free(&a);
    hs_intervals_free(&b);
    hs_intervals_free(&out);
    return 1;
}
