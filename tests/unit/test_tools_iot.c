/*
 * Tests of the tools of part "iot": the data generators (moments of 100,000
 * samples, reproducibility, split invariance), the CSV importers (files in
 * a scratch directory under the working directory), filter, resample,
 * rate/derivative, threshold, window, join_window and enrich (semantics,
 * edge cases, bad parameters, and output that does not depend on job cuts).
 */
#include "test_suites.h"
#include "tool_harness.h"

#include "functions.h"
#include "iot.h"
#include "tools.h"

#include "hs_buf.h"
#include "hs_error.h"
#include "hs_hash.h"
#include "hs_json.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S(x)  ((int64_t)(x)*HS_US_PER_S)
#define MS(x) ((int64_t)(x)*HS_US_PER_MS)
/* 2016-04-28T20:00:00Z, a whole minute. */
#define T0 S(1461873600)

/* ------------------------------------------------------------------ helpers */

static bool same_batch(const hs_batch *a, const hs_batch *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->items[i].t_us != b->items[i].t_us || a->items[i].len != b->items[i].len ||
            memcmp(hs_batch_value(a, i), hs_batch_value(b, i), a->items[i].len) != 0)
            return false;
    return true;
}

/* The origin of the times dump prints (seconds from it). */
static int64_t dump_base = T0;

/* t - dump_base in seconds, exactly: "10", "-3570", "20.5", "-0.000001". */
static void fmt_time(int64_t t, char *buf, size_t size)
{
    int64_t d = t - dump_base;
    uint64_t a = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    int n = snprintf(buf, size, "%s%llu", d < 0 ? "-" : "", (unsigned long long)(a / 1000000));
    if (a % 1000000 != 0) {
        snprintf(buf + n, size - (size_t)n, ".%06llu", (unsigned long long)(a % 1000000));
        size_t len = strlen(buf);
        while (buf[len - 1] == '0')
            buf[--len] = '\0';
    }
}

/*
 * The instances of a batch as text: "t=value" with t in seconds from
 * dump_base, separated by spaces.
 */
static const char *dump(const hs_batch *b)
{
    static char out[16384];
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < b->n && used < sizeof out; i++) {
        char t[48];
        fmt_time(b->items[i].t_us, t, sizeof t);
        int w = snprintf(out + used, sizeof out - used, "%s%s=%s", i ? " " : "", t, th_json(b, i));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return out;
}

/* Runs j and checks the dump of sink 0 (and that the job succeeded). */
static void expect(th_job *j, const char *want)
{
    hs_tool_output out;
    int rc = th_run(j, &out);
    if (rc != HS_OK)
        fprintf(stderr, "\n%s failed: %s\n", j->def->name, out.error);
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    const char *got = dump(&out.per_sink[0]);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n%s %s:\n  got  %s\n  want %s\n", j->def->name,
                j->params ? j->params : "", got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
    hs_tool_output_free(&out);
}

/* Runs j, expects failure with a message containing needle. */
static void expect_fail(th_job *j, const char *needle)
{
    hs_tool_output out;
    int rc = th_run(j, &out);
    CU_ASSERT_EQUAL(rc, HS_ERR_TOOL);
    if (rc != HS_ERR_TOOL || strstr(out.error, needle) == NULL)
        fprintf(stderr, "\n%s %s: error '%s', wanted '%s'\n", j->def->name,
                j->params ? j->params : "", out.error, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, needle));
    hs_tool_output_free(&out);
}

/* Runs j and returns the number of warnings (job must succeed). */
static size_t warnings(th_job *j)
{
    hs_tool_output out;
    CU_ASSERT_EQUAL_FATAL(th_run(j, &out), HS_OK);
    size_t w = out.warnings;
    hs_tool_output_free(&out);
    return w;
}

/*
 * Runs j over its interval once, then as consecutive jobs cut at the given
 * points, and checks that the joined outputs of every sink are the whole
 * job's output. Returns the number of instances of sink 0.
 */
static size_t check_split(th_job *j, const int64_t *cuts, size_t ncuts)
{
    int64_t start = j->start, end = j->end;
    hs_tool_output whole;
    int rc = th_run(j, &whole);
    if (rc != HS_OK)
        fprintf(stderr, "\n%s failed: %s\n", j->def->name, whole.error);
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    size_t nsinks = whole.nsinks;
    hs_batch joined[8];
    for (size_t s = 0; s < 8; s++)
        hs_batch_init(&joined[s]);
    int64_t a = start;
    for (size_t k = 0; k <= ncuts; k++) {
        int64_t b = k < ncuts ? cuts[k] : end;
        j->start = a;
        j->end = b;
        hs_tool_output part;
        CU_ASSERT_EQUAL_FATAL(th_run(j, &part), HS_OK);
        for (size_t s = 0; s < nsinks && s < 8; s++)
            for (size_t i = 0; i < part.per_sink[s].n; i++)
                hs_batch_push(&joined[s], part.per_sink[s].items[i].t_us,
                              hs_batch_value(&part.per_sink[s], i), part.per_sink[s].items[i].len);
        hs_tool_output_free(&part);
        a = b;
    }
    j->start = start;
    j->end = end;
    for (size_t s = 0; s < nsinks && s < 8; s++) {
        bool same = same_batch(&whole.per_sink[s], &joined[s]);
        if (!same) {
            fprintf(stderr, "\nsplit %s %s sink %zu:\n  whole  %s\n", j->def->name,
                    j->params ? j->params : "", s, dump(&whole.per_sink[s]));
            fprintf(stderr, "  joined %s\n", dump(&joined[s]));
        }
        CU_ASSERT_TRUE(same);
    }
    size_t n = whole.per_sink[0].n;
    for (size_t s = 0; s < 8; s++)
        hs_batch_free(&joined[s]);
    hs_tool_output_free(&whole);
    return n;
}

/* Cuts the job at every multiple of step after its start (at most 64 cuts). */
static size_t check_split_every(th_job *j, int64_t step)
{
    int64_t cuts[64];
    size_t n = 0;
    for (int64_t c = j->start + step; c < j->end && n < 64; c += step)
        cuts[n++] = c;
    return check_split(j, cuts, n);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(uint64_t bound)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (rng_state * 0x2545F4914F6CDD1DULL >> 11) % bound;
}

/* Random cuts strictly inside (start, end), sorted, distinct. */
static size_t random_cuts(int64_t start, int64_t end, int64_t *cuts, size_t max)
{
    size_t n = 1 + (size_t)rnd(max);
    for (size_t i = 0; i < n; i++)
        cuts[i] = start + 1 + (int64_t)rnd((uint64_t)(end - start - 1));
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && cuts[k - 1] > cuts[k]; k--) {
            int64_t tmp = cuts[k];
            cuts[k] = cuts[k - 1];
            cuts[k - 1] = tmp;
        }
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || cuts[u - 1] != cuts[i])
            cuts[u++] = cuts[i];
    return u;
}

/* ------------------------------------------------------------------ generators */

#define NSAMPLES 100000

typedef struct moments {
    double mean, var, m4; /* var and m4: central, population */
    double min, max;
    size_t n;
} moments;

static moments sample_moments(const hs_batch *b)
{
    moments m = {0, 0, 0, INFINITY, -INFINITY, b->n};
    for (size_t i = 0; i < b->n; i++)
        m.mean += th_double(b, i);
    m.mean /= (double)b->n;
    for (size_t i = 0; i < b->n; i++) {
        double x = th_double(b, i), d = x - m.mean;
        m.var += d * d;
        m.m4 += d * d * d * d;
        if (x < m.min)
            m.min = x;
        if (x > m.max)
            m.max = x;
    }
    m.var /= (double)b->n;
    m.m4 /= (double)b->n;
    return m;
}

/* Runs a generator over NSAMPLES one-second ticks. The caller frees out. */
static void gen_run(const hs_tool_def *def, const char *params, hs_tool_output *out)
{
    th_job j;
    th_init(&j, def, params, T0, T0 + S(NSAMPLES));
    j.has_alignment = true;
    for (int64_t k = 1; k <= NSAMPLES; k++)
        th_push_int(&j.alignment, T0 + S(k), T0 + S(k));
    int rc = th_run(&j, out);
    if (rc != HS_OK)
        fprintf(stderr, "\n%s %s: %s\n", def->name, params, out->error);
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    CU_ASSERT_EQUAL_FATAL(out->per_sink[0].n, NSAMPLES);
    th_free(&j);
}

/*
 * Checks the sample mean and variance against the distribution's, each
 * within 5 standard errors (the variance's from the sample's fourth
 * moment), and the sample range against [lo, hi].
 */
static void check_dist(const hs_tool_def *def, const char *params, double mean, double var,
                       double lo, double hi)
{
    hs_tool_output out;
    gen_run(def, params, &out);
    moments m = sample_moments(&out.per_sink[0]);
    double n = (double)m.n;
    double se_mean = sqrt(var / n), se_var = sqrt(fmax(m.m4 - m.var * m.var, 0) / n);
    bool ok = fabs(m.mean - mean) <= 5 * se_mean && fabs(m.var - var) <= 5 * se_var &&
              m.min >= lo && m.max <= hi;
    if (!ok)
        fprintf(stderr,
                "\n%s %s: mean %.6g (want %.6g +- %.3g), var %.6g (want %.6g +- %.3g), "
                "range [%g, %g] (want [%g, %g])\n",
                def->name, params, m.mean, mean, 5 * se_mean, m.var, var, 5 * se_var, m.min, m.max,
                lo, hi);
    CU_ASSERT_TRUE(ok);
    hs_tool_output_free(&out);
}

static void test_gen_moments(void)
{
    check_dist(&hs_tool_random, "{\"seed\": 1}", 0.5, 1.0 / 12, 0, 1);
    check_dist(&hs_tool_uniform, "{\"a\": -2, \"b\": 6, \"seed\": 2}", 2, 64.0 / 12, -2, 6);
    check_dist(&hs_tool_uniform, "{\"a\": 6, \"b\": -2}", 2, 64.0 / 12, -2, 6);
    check_dist(&hs_tool_gauss, "{\"mu\": 3, \"sigma\": 2, \"seed\": 3}", 3, 4, -INFINITY, INFINITY);
    check_dist(&hs_tool_gauss, "{}", 0, 1, -INFINITY, INFINITY);
    check_dist(&hs_tool_normal, "{\"mu\": -1, \"sigma\": 0.5, \"seed\": \"x\"}", -1, 0.25,
               -INFINITY, INFINITY);
    check_dist(&hs_tool_lognormal, "{\"mu\": 0, \"sigma\": 0.5}", exp(0.125),
               (exp(0.25) - 1) * exp(0.25), 0, INFINITY);
    check_dist(&hs_tool_exponential, "{\"lambd\": 0.5, \"seed\": 4}", 2, 4, 0, INFINITY);
    check_dist(&hs_tool_exponential, "{\"lambd\": -2}", -0.5, 0.25, -INFINITY, 0);
    check_dist(&hs_tool_gamma, "{\"alpha\": 2.5, \"beta\": 3}", 7.5, 22.5, 0, INFINITY);
    check_dist(&hs_tool_gamma, "{\"alpha\": 0.4, \"beta\": 1, \"seed\": 5}", 0.4, 0.4, 0, INFINITY);
    check_dist(&hs_tool_gamma, "{\"alpha\": 1, \"beta\": 2}", 2, 4, 0, INFINITY);
    check_dist(&hs_tool_beta, "{\"alpha\": 2, \"beta\": 5}", 2.0 / 7, 10.0 / (49 * 8), 0, 1);
    check_dist(&hs_tool_beta, "{\"alpha\": 0.5, \"beta\": 0.5, \"seed\": 6}", 0.5, 0.125, 0, 1);
    check_dist(&hs_tool_pareto, "{\"alpha\": 5}", 1.25, 5.0 / 48, 1, INFINITY);
    double g1 = tgamma(1 + 1 / 1.5), g2 = tgamma(1 + 2 / 1.5);
    check_dist(&hs_tool_weibull, "{\"alpha\": 2, \"beta\": 1.5, \"seed\": 7}", 2 * g1,
               4 * (g2 - g1 * g1), 0, INFINITY);
    check_dist(&hs_tool_triangular, "{\"low\": 1, \"high\": 4, \"mode\": 2}", 7.0 / 3, 7.0 / 18, 1,
               4);
    check_dist(&hs_tool_triangular, "{}", 0.5, 0.25 / 6, 0, 1);
    check_dist(&hs_tool_triangular, "{\"low\": 4, \"high\": 1, \"mode\": 4, \"seed\": 8}", 3, 0.5,
               1, 4);
    check_dist(&hs_tool_randint, "{\"a\": -3, \"b\": 3}", 0, 4, -3, 3);
    check_dist(&hs_tool_randrange, "{\"start\": 10, \"stop\": -10, \"step\": -3}", 1, 36, -8, 10);
    check_dist(&hs_tool_randrange, "{\"start\": 5, \"seed\": 9}", 2, 2, 0, 4);
}

/* Modified Bessel function of the first kind, by its series. */
static double bessel_i(int order, double x)
{
    double sum = 0, term = pow(x / 2, order) / tgamma(order + 1);
    for (int k = 0; k < 200 && term > 1e-300; k++) {
        sum += term;
        term *= (x / 2) * (x / 2) / ((k + 1.0) * (k + 1.0 + order));
    }
    return sum;
}

static void check_vonmises(double mu, double kappa)
{
    char params[128];
    snprintf(params, sizeof params, "{\"mu\": %.17g, \"kappa\": %.17g}", mu, kappa);
    hs_tool_output out;
    gen_run(&hs_tool_vonmises, params, &out);
    const hs_batch *b = &out.per_sink[0];
    double c = 0, s = 0, c2 = 0, s2 = 0;
    bool in_range = true;
    for (size_t i = 0; i < b->n; i++) {
        double th = th_double(b, i);
        in_range = in_range && th >= 0 && th < 2 * M_PI;
        c += cos(th - mu);
        s += sin(th - mu);
        c2 += cos(2 * (th - mu));
        s2 += sin(2 * (th - mu));
    }
    double n = (double)b->n;
    CU_ASSERT_TRUE(in_range);
    /* E[cos(th - mu)] = I1/I0, E[sin(th - mu)] = 0, E[cos 2(th - mu)] = I2/I0. */
    double r1 = bessel_i(1, kappa) / bessel_i(0, kappa),
           r2 = bessel_i(2, kappa) / bessel_i(0, kappa);
    double se1 = sqrt((1 + r2) / 2 - r1 * r1) / sqrt(n) + 1e-9;
    bool ok = fabs(c / n - r1) < 5 * se1 && fabs(s / n) < 5 * sqrt((1 - r2) / 2 / n) + 1e-9 &&
              fabs(c2 / n - r2) < 5 * sqrt(0.5 / n) && fabs(s2 / n) < 5 * sqrt(0.5 / n);
    if (!ok)
        fprintf(stderr, "\nvonmises %g %g: E cos %g (want %g), E sin %g, E cos2 %g (want %g)\n", mu,
                kappa, c / n, r1, s / n, c2 / n, r2);
    CU_ASSERT_TRUE(ok);
    hs_tool_output_free(&out);
}

static void test_gen_vonmises(void)
{
    check_vonmises(1, 2);
    check_vonmises(5.5, 0.3);
    check_vonmises(-1, 40);
    check_vonmises(0, 0); /* uniform on the circle */
}

/* Every value of randint appears, no other. */
static void test_gen_integers(void)
{
    hs_tool_output out;
    gen_run(&hs_tool_randint, "{\"a\": 7, \"b\": 12, \"seed\": 11}", &out);
    size_t count[6] = {0};
    bool ok = true;
    for (size_t i = 0; i < out.per_sink[0].n; i++) {
        const char *j = th_json(&out.per_sink[0], i);
        long v = strtol(j, NULL, 10);
        ok = ok && strchr(j, '.') == NULL && v >= 7 && v <= 12;
        if (v >= 7 && v <= 12)
            count[v - 7]++;
    }
    CU_ASSERT_TRUE(ok);
    for (int k = 0; k < 6; k++)
        CU_ASSERT_TRUE(count[k] > NSAMPLES / 6 - 600 && count[k] < NSAMPLES / 6 + 600);
    hs_tool_output_free(&out);

    /* The whole int64 range and a one-value range. */
    th_job j;
    th_init(&j, &hs_tool_randint, "{\"a\": -9223372036854775808, \"b\": 9223372036854775807}", T0,
            T0 + S(10));
    j.has_alignment = true;
    for (int k = 1; k <= 10; k++)
        th_push_int(&j.alignment, T0 + S(k), 0);
    CU_ASSERT_EQUAL(warnings(&j), 0);
    j.params = "{\"a\": 5, \"b\": 5}";
    expect(&j, "1=5 2=5 3=5 4=5 5=5 6=5 7=5 8=5 9=5 10=5");
    j.params = "{\"start\": 3, \"stop\": 4}";
    j.def = &hs_tool_randrange;
    expect(&j, "1=3 2=3 3=3 4=3 5=3 6=3 7=3 8=3 9=3 10=3");
    j.params = "{\"start\": -9223372036854775808, \"stop\": 9223372036854775807, \"step\": "
               "4611686018427387904}";
    hs_tool_output o;
    CU_ASSERT_EQUAL_FATAL(th_run(&j, &o), HS_OK);
    for (size_t i = 0; i < o.per_sink[0].n; i++) {
        const char *v = th_json(&o.per_sink[0], i);
        CU_ASSERT_TRUE(strcmp(v, "-9223372036854775808") == 0 ||
                       strcmp(v, "-4611686018427387904") == 0 || strcmp(v, "0") == 0 ||
                       strcmp(v, "4611686018427387904") == 0);
    }
    hs_tool_output_free(&o);
    th_free(&j);
}

static const hs_tool_def *const gen_defs[] = {
    &hs_tool_random,    &hs_tool_uniform,     &hs_tool_gauss,      &hs_tool_normal,
    &hs_tool_lognormal, &hs_tool_exponential, &hs_tool_gamma,      &hs_tool_beta,
    &hs_tool_pareto,    &hs_tool_weibull,     &hs_tool_triangular, &hs_tool_vonmises,
    &hs_tool_randint,   &hs_tool_randrange,
};
static const char *const gen_params[] = {
    "{}",
    "{\"a\": 0, \"b\": 1}",
    "{}",
    "{}",
    "{\"mu\": 0, \"sigma\": 1}",
    "{}",
    "{\"alpha\": 0.3, \"beta\": 1}",
    "{\"alpha\": 0.2, \"beta\": 3}",
    "{\"alpha\": 2}",
    "{\"alpha\": 1, \"beta\": 2}",
    "{}",
    "{\"mu\": 0, \"kappa\": 1}",
    "{\"a\": 0, \"b\": 1000000}",
    "{\"start\": 1000000}",
};
#define N_GENS (sizeof gen_defs / sizeof gen_defs[0])

/*
 * Same value at the same instant whatever the job: a run over the whole
 * interval equals runs over pieces, and a run over a sub-interval gives the
 * same values at its instants. Times before 1970 and sub-second ticks too.
 */
static void test_gen_reproducible(void)
{
    for (size_t g = 0; g < N_GENS; g++) {
        char params[160];
        snprintf(params, sizeof params, "%.*s%s\"seed\": 42}", (int)(strlen(gen_params[g]) - 1),
                 gen_params[g], strlen(gen_params[g]) > 2 ? ", " : "");
        th_job j;
        th_init(&j, gen_defs[g], params, -S(100), S(100));
        j.has_alignment = true;
        for (int64_t t = -S(100) + MS(250); t <= S(100); t += MS(750))
            th_push_int(&j.alignment, t, t);
        int64_t cuts[] = {-S(50), -1, 0, MS(1), S(3), S(99)};
        CU_ASSERT_EQUAL(check_split(&j, cuts, 6), j.alignment.n);
        for (int k = 0; k < 5; k++) {
            int64_t rc[8];
            check_split(&j, rc, random_cuts(j.start, j.end, rc, 8));
        }
        /* Values are not all the same and differ for another seed. */
        hs_tool_output a, b;
        CU_ASSERT_EQUAL_FATAL(th_run(&j, &a), HS_OK);
        j.params = gen_params[g];
        CU_ASSERT_EQUAL_FATAL(th_run(&j, &b), HS_OK);
        size_t same = 0, distinct = 0;
        for (size_t i = 0; i < a.per_sink[0].n; i++) {
            char va[64];
            snprintf(va, sizeof va, "%s", th_json(&a.per_sink[0], i));
            same += strcmp(va, th_json(&b.per_sink[0], i)) == 0;
            if (i > 0) {
                char prev[64];
                snprintf(prev, sizeof prev, "%s", th_json(&a.per_sink[0], i - 1));
                distinct += strcmp(prev, th_json(&a.per_sink[0], i)) != 0;
            }
        }
        CU_ASSERT_TRUE(same < a.per_sink[0].n / 10);
        CU_ASSERT_TRUE(distinct > a.per_sink[0].n * 9 / 10);
        hs_tool_output_free(&a);
        hs_tool_output_free(&b);
        th_free(&j);
    }
}

/*
 * Fixed values, computed independently from the definition (splitmix64 of
 * the key and the instant): a change of the algorithm, which would change
 * every stored generated stream, shows here.
 */
static void test_gen_golden(void)
{
    th_job j;
    th_init(&j, &hs_tool_random, "{\"seed\": 1}", T0, T0 + S(3));
    j.has_alignment = true;
    for (int k = 1; k <= 3; k++)
        th_push_int(&j.alignment, T0 + S(k), 0);
    expect(&j, "1=0.8182440052671678 2=0.1894668176231704 3=0.1311922929219368");
    /* Any job holding an instant gives it the same value. */
    j.start = T0 + S(2);
    expect(&j, "3=0.1311922929219368");
    th_free(&j);
    th_init(&j, &hs_tool_randint, "{\"a\": 1, \"b\": 6}", T0, T0 + S(10));
    j.has_alignment = true;
    for (int k = 1; k <= 10; k++)
        th_push_int(&j.alignment, T0 + S(k), 0);
    expect(&j, "1=6 2=4 3=5 4=1 5=6 6=1 7=1 8=3 9=4 10=3");
    th_free(&j);
}

/* per_plate: plate values get their own values unless per_plate is false. */
static void test_gen_plates(void)
{
    const char *ids[] = {"temp/room=kitchen", "temp/room=lounge", "temp/house=1/room=kitchen"};
    hs_batch got[3];
    for (int pp = 0; pp < 2; pp++) {
        for (int i = 0; i < 3; i++) {
            th_job j;
            th_init(&j, &hs_tool_normal,
                    pp ? "{\"seed\": 5, \"per_plate\": false}" : "{\"seed\": 5}", T0, T0 + S(20));
            j.has_alignment = true;
            for (int k = 1; k <= 20; k++)
                th_push_int(&j.alignment, T0 + S(k), 0);
            j.sink_ids[0] = ids[i];
            j.nsinks = 1;
            hs_tool_output out;
            CU_ASSERT_EQUAL_FATAL(th_run(&j, &out), HS_OK);
            hs_batch_init(&got[i]);
            for (size_t k = 0; k < out.per_sink[0].n; k++)
                hs_batch_push(&got[i], out.per_sink[0].items[k].t_us,
                              hs_batch_value(&out.per_sink[0], k), out.per_sink[0].items[k].len);
            hs_tool_output_free(&out);
            th_free(&j);
        }
        CU_ASSERT_EQUAL(got[0].n, 20);
        if (pp) {
            CU_ASSERT_TRUE(same_batch(&got[0], &got[1]));
            CU_ASSERT_TRUE(same_batch(&got[0], &got[2]));
        } else {
            CU_ASSERT_FALSE(same_batch(&got[0], &got[1]));
            CU_ASSERT_FALSE(same_batch(&got[0], &got[2]));
            CU_ASSERT_FALSE(same_batch(&got[1], &got[2]));
        }
        for (int i = 0; i < 3; i++)
            hs_batch_free(&got[i]);
    }
}

static void gen_fail(const hs_tool_def *def, const char *params, const char *needle)
{
    th_job j;
    th_init(&j, def, params, T0, T0 + S(10));
    j.has_alignment = true;
    th_push_int(&j.alignment, T0 + S(1), 0);
    expect_fail(&j, needle);
    th_free(&j);
}

static void test_gen_errors(void)
{
    gen_fail(&hs_tool_uniform, "{\"a\": 1}", "'b'");
    gen_fail(&hs_tool_gauss, "{\"sigma\": -1}", "sigma");
    gen_fail(&hs_tool_lognormal, "{\"mu\": 0}", "sigma");
    gen_fail(&hs_tool_exponential, "{\"lambd\": 0}", "lambd");
    gen_fail(&hs_tool_gamma, "{\"alpha\": 0, \"beta\": 1}", "positive");
    gen_fail(&hs_tool_beta, "{\"alpha\": 1, \"beta\": -1}", "positive");
    gen_fail(&hs_tool_pareto, "{\"alpha\": -2}", "positive");
    gen_fail(&hs_tool_weibull, "{\"alpha\": 1}", "beta");
    gen_fail(&hs_tool_triangular, "{\"low\": 0, \"high\": 1, \"mode\": 2}", "mode");
    gen_fail(&hs_tool_vonmises, "{\"mu\": 0, \"kappa\": -1}", "kappa");
    gen_fail(&hs_tool_randint, "{\"a\": 3, \"b\": 2}", "a <= b");
    gen_fail(&hs_tool_randint, "{\"a\": 1.5, \"b\": 2}", "integer");
    gen_fail(&hs_tool_randrange, "{\"start\": 0}", "empty range");
    gen_fail(&hs_tool_randrange, "{\"start\": 0, \"stop\": 10, \"step\": -1}", "empty range");
    gen_fail(&hs_tool_randrange, "{\"start\": 0, \"stop\": 10, \"step\": 0}", "step");
    gen_fail(&hs_tool_random, "{\"seed\": [1]}", "seed");
    gen_fail(&hs_tool_random, "{\"per_plate\": 1}", "per_plate");
    gen_fail(&hs_tool_custom, "{\"func\": \"nope\"}", "nope");
    gen_fail(&hs_tool_custom, "{\"func\": \"mean\"}", "mean");
    /* Without an alignment stream. */
    th_job j;
    th_init(&j, &hs_tool_random, "{}", T0, T0 + S(10));
    expect_fail(&j, "source");
    th_free(&j);
}

static void test_gen_custom(void)
{
    th_job j;
    th_init(&j, &hs_tool_custom, "{\"func\": \"floor\"}", -S(2), S(2));
    j.has_alignment = true;
    th_push_int(&j.alignment, -MS(1500), 0);
    th_push_int(&j.alignment, MS(500), 0);
    th_push_int(&j.alignment, S(2), 0);
    int64_t base = T0;
    (void)base;
    hs_tool_output out;
    CU_ASSERT_EQUAL_FATAL(th_run(&j, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 3);
    CU_ASSERT_STRING_EQUAL(th_json(&out.per_sink[0], 0), "-2.0");
    CU_ASSERT_STRING_EQUAL(th_json(&out.per_sink[0], 1), "0.0");
    CU_ASSERT_STRING_EQUAL(th_json(&out.per_sink[0], 2), "2.0");
    hs_tool_output_free(&out);
    /* A function that does not apply is warned about and skipped (sqrt before 1970). */
    j.params = "{\"func\": \"sqrt\"}";
    CU_ASSERT_EQUAL_FATAL(th_run(&j, &out), HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 2);
    CU_ASSERT_EQUAL(out.warnings, 1);
    CU_ASSERT_TRUE(fabs(th_double(&out.per_sink[0], 0) - sqrt(0.5)) < 1e-12);
    hs_tool_output_free(&out);
    /* Lua functions (when the build has them): f(seconds). */
    hs_func f;
    int rc = hs_func_find("lua: return function(s) return s * 2 end", HS_FUNC_UNARY, &f);
    hs_func_release(&f);
    j.params = "{\"func\": \"lua: return function(s) return s * 2 end\"}";
    if (rc == HS_OK) {
        dump_base = 0;
        expect(&j, "-1.5=-3.0 0.5=1.0 2=4.0");
        dump_base = T0;
        j.params = "{\"func\": \"lua: return function(s) error('boom') end\"}";
        expect_fail(&j, "boom");
    } else {
        expect_fail(&j, "func");
    }
    th_free(&j);
}

/* ------------------------------------------------------------------ csv */

static char csv_dir[64];

static void csv_write(const char *name, const char *text)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", csv_dir, name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

static void csv_remove(const char *name)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", csv_dir, name);
    remove(path);
}

static void csv_setup(void)
{
    snprintf(csv_dir, sizeof csv_dir, "hs_iot_test_%ld", (long)getpid());
    mkdir(csv_dir, 0700);
}

static void test_csv_reader(void)
{
    csv_setup();
    csv_write("a.csv", "\xEF\xBB\xBFtime,temp,hum\r\n"
                       "2016-04-28T20:00:00Z,21.5,40\r\n"
                       "1461873610,22,\r\n"
                       "\r\n"
                       "2016-04-28T20:00:20.5Z, 23.25 ,abc\r\n"
                       "not a time,1,2\r\n"
                       "2016-04-28T20:00:30+01:00,\"1e3\",\"5\"\r\n"
                       "2016-04-28T20:00:40Z,7\n"
                       "1461873660,inf,nan,1\n"
                       "2016-04-28T20:00:50Z,\"unterminated\n");
    char params[256];
    snprintf(params, sizeof params, "{\"filename\": \"%s/a.csv\"}", csv_dir);
    th_job j;
    th_init(&j, &hs_tool_csv_reader, params, T0 - S(3600), T0 + S(60));
    expect(&j, "-3570=[1000.0,5.0] 0=[21.5,40.0] 10=[22.0,null] 20.5=[23.25,null] "
               "40=[7.0] 60=[null,null,1.0]");
    CU_ASSERT_EQUAL(warnings(&j), 2); /* the bad time and the unterminated quote */
    /* The job interval selects rows: (0, 20.5]. */
    j.start = T0;
    j.end = T0 + MS(20500);
    expect(&j, "10=[22.0,null] 20.5=[23.25,null]");
    j.start = T0 - S(3600);
    j.end = T0 + S(60);
    int64_t cuts[] = {T0 - S(1), T0, T0 + S(15), T0 + S(40)};
    CU_ASSERT_EQUAL(check_split(&j, cuts, 4), 6);

    /* Without a header the first record is data. */
    csv_write("b.csv", "0,1\n1.5,2\n");
    snprintf(params, sizeof params, "{\"filename\": \"%s/b.csv\", \"header\": false}", csv_dir);
    j.params = params;
    j.start = -S(1);
    j.end = S(10);
    dump_base = 0;
    expect(&j, "0=[1.0] 1.5=[2.0]");
    snprintf(params, sizeof params, "{\"filename\": \"%s/b.csv\"}", csv_dir);
    expect(&j, "1.5=[2.0]");

    /* Paths: relative to the working directory only. */
    snprintf(params, sizeof params, "{\"filename\": \"%s/none.csv\"}", csv_dir);
    expect_fail(&j, "none.csv");
    j.params = "{\"filename\": \"/etc/passwd\"}";
    expect_fail(&j, "absolute");
    snprintf(params, sizeof params, "{\"filename\": \"%s/../%s/a.csv\"}", csv_dir, csv_dir);
    j.params = params;
    expect_fail(&j, "'..'");
    j.params = "{\"filename\": \"..\"}";
    expect_fail(&j, "'..'");
    j.params = "{\"filename\": \"\"}";
    expect_fail(&j, "empty");
    j.params = "{}";
    expect_fail(&j, "filename");
    /* "..." and "x..y" are names, not parent directories. */
    csv_write("x..y", "t,v\n1,2\n");
    snprintf(params, sizeof params, "{\"filename\": \"./%s//x..y\"}", csv_dir);
    j.params = params;
    j.start = 0;
    expect(&j, "1=[2.0]");
    dump_base = T0;
    th_free(&j);
    csv_remove("a.csv");
    csv_remove("b.csv");
    csv_remove("x..y");
    rmdir(csv_dir);
}

static void test_csv_multi_reader(void)
{
    csv_setup();
    csv_write("kitchen.csv", "# exported\n# by a logger\n"
                             "temp,time,,temp,hum\n"
                             "21.5,2016-04-28T20:00:10Z,x,1,40\n"
                             "22,1461873620,,2\n"
                             "23,2016-04-28T20:00:30Z,1,2,3,4\n"
                             "24,bad,1,2,3\n");
    csv_write("lounge.csv", "# one line\n# two\nt,time,v\n1,1461873605,2\n");
    char params[256];
    snprintf(params, sizeof params,
             "{\"filename_template\": \"%s/{}.csv\", \"datetime_column\": 1, \"skip_rows\": 2}",
             csv_dir);
    th_job j;
    th_init(&j, &hs_tool_csv_multi_reader, params, T0, T0 + S(60));
    const char *sinks[] = {"temp/room=kitchen", "temp/room=lounge", "temp/room=attic"};
    for (int i = 0; i < 3; i++)
        j.sink_ids[i] = sinks[i];
    j.nsinks = 3;
    j.output_meta = "room";
    hs_tool_output out;
    CU_ASSERT_EQUAL_FATAL(th_run(&j, &out), HS_OK);
    CU_ASSERT_STRING_EQUAL(dump(&out.per_sink[0]),
                           "10={\"temp\":21.5,\"2\":null,\"temp.1\":1.0,\"hum\":40.0} "
                           "20={\"temp\":22.0,\"2\":null,\"temp.1\":2.0,\"hum\":null} "
                           "30={\"temp\":23.0,\"2\":1.0,\"temp.1\":2.0,\"hum\":3.0}");
    CU_ASSERT_STRING_EQUAL(dump(&out.per_sink[1]), "5={\"t\":1.0,\"v\":2.0}");
    CU_ASSERT_EQUAL(out.per_sink[2].n, 0);
    /* The missing attic file, the extra field at 30 and the bad time. */
    CU_ASSERT_EQUAL(out.warnings, 3);
    hs_tool_output_free(&out);
    int64_t cuts[] = {T0 + S(5), T0 + S(10), T0 + S(25)};
    check_split(&j, cuts, 3);

    /* Without a header: columns by number; the datetime column is left out. */
    csv_write("kitchen.csv", "1461873601,1,2\n1461873602,3\n");
    snprintf(params, sizeof params, "{\"filename_template\": \"%s/{}.csv\", \"header\": false}",
             csv_dir);
    j.params = params;
    CU_ASSERT_EQUAL_FATAL(th_run(&j, &out), HS_OK);
    CU_ASSERT_STRING_EQUAL(dump(&out.per_sink[0]), "1={\"1\":1.0,\"2\":2.0} 2={\"1\":3.0}");
    hs_tool_output_free(&out);

    /* The datetime column must exist in the header. */
    snprintf(params, sizeof params,
             "{\"filename_template\": \"%s/{}.csv\", \"datetime_column\": 5}", csv_dir);
    expect_fail(&j, "datetime_column");
    snprintf(params, sizeof params, "{\"filename_template\": \"../{}.csv\"}");
    expect_fail(&j, "'..'");
    snprintf(params, sizeof params, "{\"filename_template\": \"/tmp/{}.csv\"}");
    expect_fail(&j, "absolute");
    snprintf(params, sizeof params, "{\"filename_template\": \"%s/{}.csv\", \"skip_rows\": -1}",
             csv_dir);
    expect_fail(&j, "skip_rows");
    /* A header that is not UTF-8. */
    csv_write("kitchen.csv", "time,\xff\n1461873601,1\n");
    snprintf(params, sizeof params, "{\"filename_template\": \"%s/{}.csv\"}", csv_dir);
    expect_fail(&j, "UTF-8");
    /* Not a multi-output job. */
    j.output_meta = NULL;
    expect_fail(&j, "output plate");
    th_free(&j);
    csv_remove("kitchen.csv");
    csv_remove("lounge.csv");
    rmdir(csv_dir);
}

/* ------------------------------------------------------------------ filter */

static void filter_data(th_job *j)
{
    j->nsrc = 1;
    th_push_json(&j->src[0], T0 + S(1), "1");
    th_push_json(&j->src[0], T0 + S(2), "1.0");
    th_push_json(&j->src[0], T0 + S(3), "2.5");
    th_push_json(&j->src[0], T0 + S(4), "\"1\"");
    th_push_json(&j->src[0], T0 + S(5), "true");
    th_push_json(&j->src[0], T0 + S(6), "null");
    th_push_json(&j->src[0], T0 + S(7), "{\"temp\": 31, \"room\": \"kitchen\"}");
    th_push_json(&j->src[0], T0 + S(8), "{\"temp\": 20, \"room\": \"lounge\", \"alarm\": null}");
    th_push_json(&j->src[0], T0 + S(9), "{\"room\": \"attic\", \"alarm\": false}");
    th_push_json(&j->src[0], T0 + S(10), "[1, 2]");
    th_push_json(&j->src[0], T0 + S(11), "\"b\"");
    th_push_double(&j->src[0], T0 + S(12), NAN);
    th_push_json(&j->src[0], T0 + S(13), "9007199254740993");
}

static void filter_expect(const char *params, const char *want)
{
    th_job j;
    th_init(&j, &hs_tool_filter, params, T0, T0 + S(60));
    filter_data(&j);
    expect(&j, want);
    th_free(&j);
}

static void test_filter(void)
{
    filter_expect("{\"op\": \"==\", \"value\": 1}", "1=1 2=1.0");
    filter_expect("{\"op\": \"==\", \"value\": \"1\"}", "4=\"1\"");
    filter_expect("{\"op\": \"==\", \"value\": true}", "5=true");
    filter_expect("{\"op\": \"==\", \"value\": [1, 2]}", "10=[1,2]");
    filter_expect("{\"op\": \"==\", \"value\": 9007199254740992}", "");
    filter_expect("{\"op\": \"==\", \"value\": 9007199254740992.0}", "");
    filter_expect("{\"op\": \"!=\", \"value\": 1}",
                  "3=2.5 4=\"1\" 5=true 6=null 7={\"temp\":31,\"room\":\"kitchen\"} "
                  "8={\"temp\":20,\"room\":\"lounge\",\"alarm\":null} "
                  "9={\"room\":\"attic\",\"alarm\":false} 10=[1,2] 11=\"b\" 12=null "
                  "13=9007199254740993");
    filter_expect("{\"op\": \">\", \"value\": 1}", "3=2.5 13=9007199254740993");
    filter_expect("{\"op\": \">=\", \"value\": 1}", "1=1 2=1.0 3=2.5 13=9007199254740993");
    filter_expect("{\"op\": \"<\", \"value\": 2.5}", "1=1 2=1.0");
    filter_expect("{\"op\": \"<=\", \"value\": 2.5}", "1=1 2=1.0 3=2.5");
    filter_expect("{\"op\": \">\", \"value\": 9007199254740992.0}", "13=9007199254740993");
    filter_expect("{\"op\": \">\", \"value\": \"a\"}", "11=\"b\"");
    filter_expect("{\"op\": \"<\", \"value\": \"b\"}", "4=\"1\"");
    filter_expect("{\"op\": \"between\", \"values\": [1, 2.5]}", "1=1 2=1.0 3=2.5");
    filter_expect("{\"op\": \"between\", \"values\": [1.5, 2.5], \"invert\": true}",
                  "1=1 2=1.0 4=\"1\" 5=true 6=null 7={\"temp\":31,\"room\":\"kitchen\"} "
                  "8={\"temp\":20,\"room\":\"lounge\",\"alarm\":null} "
                  "9={\"room\":\"attic\",\"alarm\":false} 10=[1,2] 11=\"b\" 12=null "
                  "13=9007199254740993");
    filter_expect("{\"op\": \"in\", \"values\": [2.5, \"b\", [1, 2]]}", "3=2.5 10=[1,2] 11=\"b\"");
    filter_expect("{\"op\": \"in\", \"values\": []}", "");
    filter_expect("{\"op\": \"exists\"}",
                  "1=1 2=1.0 3=2.5 4=\"1\" 5=true 7={\"temp\":31,\"room\":\"kitchen\"} "
                  "8={\"temp\":20,\"room\":\"lounge\",\"alarm\":null} "
                  "9={\"room\":\"attic\",\"alarm\":false} 10=[1,2] 11=\"b\" 12=null "
                  "13=9007199254740993");
    /* Fields of maps. */
    filter_expect("{\"op\": \">\", \"value\": 30, \"key\": \"temp\"}",
                  "7={\"temp\":31,\"room\":\"kitchen\"}");
    filter_expect("{\"op\": \"in\", \"values\": [\"kitchen\", \"attic\"], \"key\": \"room\"}",
                  "7={\"temp\":31,\"room\":\"kitchen\"} 9={\"room\":\"attic\",\"alarm\":false}");
    filter_expect("{\"op\": \"exists\", \"key\": \"alarm\"}",
                  "9={\"room\":\"attic\",\"alarm\":false}");
    filter_expect("{\"op\": \"exists\", \"key\": \"alarm\", \"invert\": true}",
                  "1=1 2=1.0 3=2.5 4=\"1\" 5=true 6=null 7={\"temp\":31,\"room\":\"kitchen\"} "
                  "8={\"temp\":20,\"room\":\"lounge\",\"alarm\":null} 10=[1,2] 11=\"b\" "
                  "12=null 13=9007199254740993");
    /* NaN is never ordered nor equal. */
    filter_expect("{\"op\": \"<\", \"value\": 1e308}", "1=1 2=1.0 3=2.5 13=9007199254740993");
    /* func: Python truthiness of the result; a function that does not apply drops. */
    th_job j;
    th_init(&j, &hs_tool_filter, "{\"func\": \"len\"}", T0, T0 + S(60));
    filter_data(&j);
    expect(&j, "4=\"1\" 7={\"temp\":31,\"room\":\"kitchen\"} "
               "8={\"temp\":20,\"room\":\"lounge\",\"alarm\":null} "
               "9={\"room\":\"attic\",\"alarm\":false} 10=[1,2] 11=\"b\"");
    CU_ASSERT_EQUAL(warnings(&j), 7);
    j.params = "{\"func\": \"not\", \"key\": \"alarm\"}";
    expect(&j, "9={\"room\":\"attic\",\"alarm\":false}");
    j.params = "{\"func\": \"identity\", \"key\": \"temp\"}";
    check_split_every(&j, S(3));
    hs_func f;
    if (hs_func_find("lua: return function(v) return 1 end", HS_FUNC_UNARY, &f) == HS_OK) {
        j.params = "{\"func\": \"lua: return function(v) return v > 25 end\", \"key\": "
                   "\"temp\"}";
        expect(&j, "7={\"temp\":31,\"room\":\"kitchen\"}");
    }
    hs_func_release(&f);
    th_free(&j);
}

static void test_filter_errors(void)
{
    th_job j;
    th_init(&j, &hs_tool_filter, "{}", T0, T0 + S(60));
    filter_data(&j);
    expect_fail(&j, "exactly one");
    j.params = "{\"op\": \"==\", \"value\": 1, \"func\": \"abs\"}";
    expect_fail(&j, "exactly one");
    j.params = "{\"op\": \"~\", \"value\": 1}";
    expect_fail(&j, "unknown op");
    j.params = "{\"op\": \"==\"}";
    expect_fail(&j, "value");
    j.params = "{\"op\": \"<\", \"value\": [1]}";
    expect_fail(&j, "number or a string");
    j.params = "{\"op\": \"between\", \"values\": [1]}";
    expect_fail(&j, "between");
    j.params = "{\"op\": \"between\", \"values\": [3, 1]}";
    expect_fail(&j, "above");
    j.params = "{\"op\": \"between\", \"values\": [1, \"a\"]}";
    expect_fail(&j, "both");
    j.params = "{\"op\": \"in\"}";
    expect_fail(&j, "values");
    j.params = "{\"op\": \"exists\", \"key\": \"\"}";
    expect_fail(&j, "empty");
    j.params = "{\"func\": \"median\"}";
    expect_fail(&j, "median");
    th_free(&j);
}

/* ------------------------------------------------------------------ resample */

/* Irregular numeric data around T0: a reading long before, then a few with a gap. */
static void resample_data(th_job *j)
{
    j->nsrc = 1;
    th_push_double(&j->src[0], T0 - S(86400), 5);
    th_push_double(&j->src[0], T0 + S(3), 10);
    th_push_json(&j->src[0], T0 + S(7), "\"text\"");
    th_push_double(&j->src[0], T0 + S(13), 20);
    th_push_double(&j->src[0], T0 + S(20), 30);
    th_push_double(&j->src[0], T0 + S(60), 70);
    th_push_double(&j->src[0], T0 + S(95), 100);
}

static void test_resample(void)
{
    th_job j;
    th_init(&j, &hs_tool_resample, "{\"every\": \"10s\"}", T0 - S(10), T0 + S(80));
    resample_data(&j);
    /* last: any value type; the reading a day before carries into the job. */
    expect(&j, "0=5.0 10=\"text\" 20=30.0 30=30.0 40=30.0 50=30.0 60=70.0 70=70.0 80=70.0");
    j.params = "{\"every\": \"10s\", \"max_gap\": \"15s\"}";
    expect(&j, "10=\"text\" 20=30.0 30=30.0 60=70.0 70=70.0");
    j.params = "{\"every\": \"10s\", \"max_gap\": 0}";
    expect(&j, "20=30.0 60=70.0");
    /* linear: neighbours on both sides, the right one after the job end. */
    j.params = "{\"every\": \"10s\", \"method\": \"linear\"}";
    expect(&j, "0=9.999826394916843 10=17.0 20=30.0 30=40.0 40=50.0 50=60.0 60=70.0 "
               "70=78.57142857142857 80=87.14285714285714");
    j.params = "{\"every\": \"10s\", \"method\": \"linear\", \"max_gap\": \"35s\"}";
    expect(&j, "10=17.0 20=30.0 60=70.0 70=78.57142857142857 80=87.14285714285714");
    /* mean of (p - 10s, p]. */
    j.params = "{\"every\": \"10s\", \"method\": \"mean\"}";
    expect(&j, "10=10.0 20=25.0 60=70.0");
    /* A grid through first. */
    j.params = "{\"every\": \"10s\", \"first\": \"2016-04-28T20:00:05Z\", \"method\": \"mean\"}";
    expect(&j, "5=10.0 15=20.0 25=30.0 65=70.0");
    /* Split invariance of each method, with cuts on and off the grid. */
    const char *ps[] = {
        "{\"every\": \"10s\"}",
        "{\"every\": \"10s\", \"max_gap\": \"15s\"}",
        "{\"every\": \"7s\", \"method\": \"linear\"}",
        "{\"every\": \"3s\", \"method\": \"linear\", \"max_gap\": \"35s\"}",
        "{\"every\": \"10s\", \"method\": \"mean\"}",
        "{\"every\": \"4s\", \"method\": \"mean\", \"first\": 1}",
    };
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        j.params = ps[k];
        j.end = T0 + S(120);
        check_split_every(&j, S(10));
        check_split_every(&j, S(7));
        int64_t cuts[8];
        check_split(&j, cuts, random_cuts(j.start, j.end, cuts, 8));
    }
    /* map values with key. */
    th_free(&j);
    th_init(&j, &hs_tool_resample, "{\"every\": \"10s\", \"key\": \"v\"}", T0, T0 + S(30));
    j.nsrc = 1;
    th_push_json(&j.src[0], T0 - S(1), "{\"v\": {\"v\": 1}}");
    th_push_json(&j.src[0], T0 + S(15), "{\"w\": 2}");
    th_push_json(&j.src[0], T0 + S(25), "{\"v\": 3}");
    expect(&j, "10={\"v\":1} 20={\"v\":1} 30=3");
    j.params = "{\"every\": \"10s\", \"key\": \"v\", \"method\": \"linear\"}";
    expect(&j, "");
    /* Nothing to do: an interval without grid points, an empty source. */
    j.params = "{\"every\": \"1h\"}";
    expect(&j, "");
    th_free(&j);
    th_init(&j, &hs_tool_resample, "{\"every\": \"10s\", \"method\": \"linear\"}", T0, T0 + S(30));
    j.nsrc = 1;
    expect(&j, "");
    j.params = "{\"every\": 0}";
    expect_fail(&j, "positive");
    j.params = "{\"every\": \"1s\", \"method\": \"cubic\"}";
    expect_fail(&j, "cubic");
    j.params = "{\"every\": \"1s\", \"max_gap\": \"-1s\"}";
    expect_fail(&j, "max_gap");
    j.params = "{}";
    expect_fail(&j, "every");
    th_free(&j);
}

/* ------------------------------------------------------------------ rate */

static void test_rate(void)
{
    th_job j;
    th_init(&j, &hs_tool_rate, "{}", T0, T0 + S(100));
    j.nsrc = 1;
    th_push_double(&j.src[0], T0 - S(7190), 100);
    th_push_double(&j.src[0], T0 + S(10), 172);
    th_push_json(&j.src[0], T0 + S(15), "\"oops\"");
    th_push_double(&j.src[0], T0 + S(20), 182);
    th_push_double(&j.src[0], T0 + S(30), 12);
    th_push_int(&j.src[0], T0 + S(40), 32);
    expect(&j, "10=0.01 20=1.0 30=-17.0 40=2.0");
    CU_ASSERT_EQUAL(warnings(&j), 1);
    j.params = "{\"counter\": true, \"unit\": \"1m\"}";
    expect(&j, "10=0.6 20=60.0 30=72.0 40=120.0");
    j.def = &hs_tool_derivative;
    expect(&j, "10=0.6 20=60.0 30=72.0 40=120.0");
    /* The first value of the stream has no rate. */
    j.start = T0 - S(86400);
    j.params = "{}";
    expect(&j, "10=0.01 20=1.0 30=-17.0 40=2.0");
    j.start = T0 - S(7300);
    j.end = T0 + S(50);
    check_split_every(&j, S(3));
    int64_t cuts[] = {T0 - S(7190), T0 - 1, T0 + S(10), T0 + S(35)};
    check_split(&j, cuts, 4);
    /* key */
    th_free(&j);
    th_init(&j, &hs_tool_rate, "{\"key\": \"kwh\", \"unit\": \"1h\"}", T0, T0 + S(3600));
    j.nsrc = 1;
    th_push_json(&j.src[0], T0, "{\"kwh\": 10}");
    th_push_json(&j.src[0], T0 + S(900), "{\"kwh\": 10.5}");
    th_push_json(&j.src[0], T0 + S(1800), "{\"w\": 1}");
    th_push_json(&j.src[0], T0 + S(2700), "{\"kwh\": 11.5}");
    expect(&j, "900=2.0 2700=2.0");
    j.params = "{\"unit\": 0}";
    expect_fail(&j, "unit");
    j.params = "{\"counter\": \"yes\"}";
    expect_fail(&j, "counter");
    th_free(&j);
}

/*
 * Reading back is proportional to what lies between the job and the value
 * found, not to the stream's history: a long history before the job is not
 * read when the previous value is close.
 */
static void test_read_back_cost(void)
{
    th_job j;
    th_init(&j, &hs_tool_rate, "{}", T0, T0 + S(10));
    j.nsrc = 1;
    for (int k = 200000; k >= 0; k--)
        th_push_double(&j.src[0], T0 - S(k), (double)k);
    th_push_double(&j.src[0], T0 + S(5), -5);
    expect(&j, "5=-1.0");
    CU_ASSERT_TRUE(j.reads <= 4);
    size_t before = j.reads;
    /* threshold: the decisive value is 2.3 days back, behind 199,990 others: all are read. */
    j.def = &hs_tool_threshold;
    j.params = "{\"high\": 199990, \"low\": -1}";
    expect(&j, "5={\"state\":\"normal\",\"value\":-5.0}");
    CU_ASSERT_TRUE(j.reads - before > 10);
    th_free(&j);
    /* A stream with nothing before the job: about 60 probes back to year 1. */
    th_init(&j, &hs_tool_rate, "{}", T0, T0 + S(10));
    j.nsrc = 1;
    th_push_double(&j.src[0], T0 + S(5), 10);
    th_push_double(&j.src[0], T0 + S(6), 11);
    expect(&j, "6=1.0");
    CU_ASSERT_TRUE(j.reads < 80);
    th_free(&j);
}

/* ------------------------------------------------------------------ threshold */

static void test_threshold(void)
{
    th_job j;
    th_init(&j, &hs_tool_threshold, "{\"high\": 30, \"low\": 28}", T0, T0 + S(100));
    j.nsrc = 1;
    double vs[] = {25, 29, 31, 30, 29, 28, 27.5, 29, 30, 30.5, 35, 20, 28, 31};
    for (int i = 0; i < 14; i++)
        th_push_double(&j.src[0], T0 + S(5 * (i + 1)), vs[i]);
    expect(&j, "15={\"state\":\"high\",\"value\":31.0} 35={\"state\":\"normal\",\"value\":27.5} "
               "50={\"state\":\"high\",\"value\":30.5} 60={\"state\":\"normal\",\"value\":20.0} "
               "70={\"state\":\"high\",\"value\":31.0}");
    /* Without low: low = high, a value equal to high keeps the state. */
    j.params = "{\"high\": 30}";
    expect(&j, "15={\"state\":\"high\",\"value\":31.0} 25={\"state\":\"normal\",\"value\":29.0} "
               "50={\"state\":\"high\",\"value\":30.5} 60={\"state\":\"normal\",\"value\":20.0} "
               "70={\"state\":\"high\",\"value\":31.0}");
    /* The state at the job start is read back: a job starting inside the high phase. */
    j.params = "{\"high\": 30, \"low\": 28}";
    j.start = T0 + S(20);
    expect(&j, "35={\"state\":\"normal\",\"value\":27.5} 50={\"state\":\"high\",\"value\":30.5} "
               "60={\"state\":\"normal\",\"value\":20.0} 70={\"state\":\"high\",\"value\":31.0}");
    j.start = T0;
    check_split_every(&j, S(5));
    check_split_every(&j, S(3));
    int64_t cuts[8];
    for (int k = 0; k < 5; k++)
        check_split(&j, cuts, random_cuts(j.start, j.end, cuts, 8));
    th_free(&j);

    /* A decisive value long before the job; lookback bounds how far back it is looked for. */
    th_init(&j, &hs_tool_threshold, "{\"high\": 10, \"key\": \"t\"}", T0, T0 + S(60));
    j.nsrc = 1;
    th_push_json(&j.src[0], T0 - S(30 * 86400), "{\"t\": 11}");
    th_push_json(&j.src[0], T0 - S(86400), "{\"t\": 10}");
    th_push_json(&j.src[0], T0 + S(10), "{\"t\": 9}");
    th_push_json(&j.src[0], T0 + S(20), "{\"x\": 1}");
    th_push_json(&j.src[0], T0 + S(30), "{\"t\": 12}");
    expect(&j, "10={\"state\":\"normal\",\"value\":9} 30={\"state\":\"high\",\"value\":12}");
    CU_ASSERT_EQUAL(warnings(&j), 1);
    j.params = "{\"high\": 10, \"key\": \"t\", \"lookback\": \"7d\"}";
    expect(&j, "30={\"state\":\"high\",\"value\":12}");
    /* A stream that starts above high alerts at once. */
    j.start = T0 - S(40 * 86400);
    j.params = "{\"high\": 10, \"key\": \"t\"}";
    expect(&j, "-2592000={\"state\":\"high\",\"value\":11} "
               "10={\"state\":\"normal\",\"value\":9} 30={\"state\":\"high\",\"value\":12}");
    j.params = "{\"high\": 10, \"low\": 11}";
    expect_fail(&j, "low <= high");
    j.params = "{\"low\": 1}";
    expect_fail(&j, "high");
    th_free(&j);
}

/* ------------------------------------------------------------------ window */

static void window_data(th_job *j)
{
    j->nsrc = 1;
    th_push_double(&j->src[0], T0 + S(3), 1);
    th_push_double(&j->src[0], T0 + S(8), 2);
    th_push_double(&j->src[0], T0 + S(10), 3);
    th_push_json(&j->src[0], T0 + S(12), "\"x\"");
    th_push_double(&j->src[0], T0 + S(14), 4);
    th_push_double(&j->src[0], T0 + S(41), 5);
    th_push_double(&j->src[0], T0 + S(3600), 6);
}

static void test_window_grid(void)
{
    th_job j;
    th_init(&j, &hs_tool_window, "{\"size\": \"10s\", \"func\": \"sum\"}", T0 + S(5), T0 + S(7200));
    window_data(&j);
    /* The first window (0, 10] lies partly before the job: its data is read. */
    expect(&j, "10=6.0 20=4.0 50=5.0 3600=6.0");
    j.params = "{\"size\": \"10s\", \"func\": \"count\"}";
    expect(&j, "10=3 20=1 50=1 3600=1");
    j.params = "{\"size\": \"10s\", \"func\": \"mean\", \"offset\": \"5s\"}";
    expect(&j, "15=3.0 45=5.0 3605=6.0");
    /* hopping: windows of 10 s every 5 s. */
    j.params = "{\"type\": \"hopping\", \"size\": \"10s\", \"slide\": \"5s\", \"func\": \"max\"}";
    expect(&j, "10=3.0 15=4.0 20=4.0 45=5.0 50=5.0 3600=6.0 3605=6.0");
    /* hopping with gaps: windows of 2 s every 5 s. */
    j.params = "{\"type\": \"hopping\", \"size\": \"2s\", \"slide\": \"5s\", \"func\": \"sum\"}";
    expect(&j, "10=3.0 15=4.0 3600=6.0");
    /* Whole hours from the epoch, whatever the job start. */
    j.params = "{\"size\": \"1h\", \"func\": \"sum\"}";
    j.start = T0 - S(1);
    j.end = T0 + S(86400);
    expect(&j, "3600=21.0");
    j.start = T0 + S(5);
    j.end = T0 + S(7200);
    const char *ps[] = {
        "{\"size\": \"10s\", \"func\": \"median\"}",
        "{\"size\": \"7s\", \"func\": \"first\", \"offset\": \"-3s\"}",
        "{\"type\": \"hopping\", \"size\": \"30s\", \"slide\": \"5s\", \"func\": \"std\"}",
        "{\"type\": \"hopping\", \"size\": \"1s\", \"slide\": \"3s\", \"func\": \"count\"}",
    };
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        j.params = ps[k];
        check_split_every(&j, S(4));
        int64_t cuts[] = {T0 + S(10), T0 + S(11), T0 + S(3599), T0 + S(3600)};
        check_split(&j, cuts, 4);
    }
    /* Before 1970 and on negative grids. */
    th_free(&j);
    th_init(&j, &hs_tool_window, "{\"size\": \"10s\", \"func\": \"sum\"}", -S(40), S(10));
    j.nsrc = 1;
    th_push_double(&j.src[0], -S(35), 1);
    th_push_double(&j.src[0], -S(30), 2);
    th_push_double(&j.src[0], -S(1), 3);
    th_push_double(&j.src[0], 0, 4);
    th_push_double(&j.src[0], 1, 5);
    dump_base = 0;
    expect(&j, "-30=3.0 0=7.0 10=5.0");
    check_split_every(&j, S(3));
    dump_base = T0;
    th_free(&j);
}

static void test_window_session(void)
{
    th_job j;
    th_init(&j, &hs_tool_window, "{\"type\": \"session\", \"gap\": \"10s\", \"func\": \"count\"}",
            T0, T0 + S(200));
    j.nsrc = 1;
    /* Sessions: [3, 8, 17] closes at 27; [40] at 50; [60, 69.999] at 79.999; [90 ..] open. */
    th_push_double(&j.src[0], T0 + S(3), 1);
    th_push_double(&j.src[0], T0 + S(8), 1);
    th_push_double(&j.src[0], T0 + S(17), 1);
    th_push_double(&j.src[0], T0 + S(27), 1); /* exactly gap after 17: a new session */
    th_push_double(&j.src[0], T0 + S(60), 1);
    th_push_double(&j.src[0], T0 + S(70) - 1, 1);
    for (int k = 0; k < 30; k++)
        th_push_double(&j.src[0], T0 + S(185 + k), 1);
    expect(&j, "27=3 37=1 79.999999=2");
    j.params = "{\"type\": \"session\", \"gap\": \"10s\", \"func\": \"sum\"}";
    j.end = T0 + S(225);
    expect(&j, "27=3.0 37=1.0 79.999999=2.0 224=30.0");
    check_split_every(&j, S(1));
    check_split_every(&j, S(9));
    int64_t cuts[8];
    for (int k = 0; k < 10; k++)
        check_split(&j, cuts, random_cuts(j.start, j.end, cuts, 8));
    /* A job starting inside a long session reads back to its start. */
    th_free(&j);
    th_init(&j, &hs_tool_window, "{\"type\": \"session\", \"gap\": \"5s\", \"func\": \"count\"}",
            T0 + S(20000), T0 + S(20010));
    j.nsrc = 1;
    th_push_double(&j.src[0], T0 - S(100), 1); /* an earlier session */
    for (int k = 0; k <= 20000; k++)
        th_push_double(&j.src[0], T0 + S(k), 1);
    expect(&j, "20005=20001");
    j.start = T0 + S(19990);
    check_split_every(&j, S(1));
    j.start = T0 - S(200);
    j.end = T0 + S(20010);
    expect(&j, "-95=1 20005=20001");
    j.params = "{\"type\": \"session\", \"func\": \"count\"}";
    expect_fail(&j, "gap");
    j.params = "{\"type\": \"sliding\", \"func\": \"count\"}";
    expect_fail(&j, "sliding");
    j.params = "{\"size\": \"-1s\", \"func\": \"count\"}";
    expect_fail(&j, "positive");
    j.params = "{\"type\": \"hopping\", \"size\": \"1s\", \"func\": \"count\"}";
    expect_fail(&j, "slide");
    j.params = "{\"size\": \"1s\"}";
    expect_fail(&j, "func");
    j.params = "{\"size\": \"1s\", \"func\": \"abs\"}";
    expect_fail(&j, "abs");
    th_free(&j);
}

/* ------------------------------------------------------------------ join_window */

static void test_join_window(void)
{
    th_job j;
    th_init(&j, &hs_tool_join_window, "{\"tolerance\": \"2s\"}", T0, T0 + S(20));
    j.nsrc = 2;
    th_push_int(&j.src[0], T0 + S(1), 1);
    th_push_int(&j.src[0], T0 + S(5), 5);
    th_push_int(&j.src[0], T0 + S(10), 10);
    th_push_int(&j.src[0], T0 + S(20), 20);
    th_push_json(&j.src[1], T0 - S(1), "\"a\"");
    th_push_json(&j.src[1], T0 + S(4), "\"b\"");
    th_push_json(&j.src[1], T0 + S(6), "\"c\"");
    th_push_json(&j.src[1], T0 + S(11), "\"d\"");
    th_push_json(&j.src[1], T0 + S(22), "\"e\"");
    expect(&j, "1={\"left\":1,\"right\":\"a\"} 5={\"left\":5,\"right\":\"b\"} "
               "10={\"left\":10,\"right\":\"d\"} 20={\"left\":20,\"right\":\"e\"}");
    j.params = "{\"tolerance\": \"2s\", \"mode\": \"all\", \"left\": \"x\", \"right\": \"y\"}";
    expect(&j, "1={\"x\":1,\"y\":[\"a\"]} 5={\"x\":5,\"y\":[\"b\",\"c\"]} "
               "10={\"x\":10,\"y\":[\"d\"]} 20={\"x\":20,\"y\":[\"e\"]}");
    j.params = "{\"tolerance\": \"1s\", \"unmatched\": \"keep\"}";
    expect(&j, "1={\"left\":1,\"right\":null} 5={\"left\":5,\"right\":\"b\"} "
               "10={\"left\":10,\"right\":\"d\"} 20={\"left\":20,\"right\":null}");
    j.params = "{\"tolerance\": \"1s\", \"unmatched\": \"keep\", \"mode\": \"all\"}";
    expect(&j, "1={\"left\":1,\"right\":[]} 5={\"left\":5,\"right\":[\"b\",\"c\"]} "
               "10={\"left\":10,\"right\":[\"d\"]} 20={\"left\":20,\"right\":[]}");
    j.params = "{\"tolerance\": 0}";
    expect(&j, "");
    j.params = "{\"tolerance\": \"1h\"}";
    expect(&j, "1={\"left\":1,\"right\":\"a\"} 5={\"left\":5,\"right\":\"b\"} "
               "10={\"left\":10,\"right\":\"d\"} 20={\"left\":20,\"right\":\"e\"}");
    const char *ps[] = {"{\"tolerance\": \"2s\"}", "{\"tolerance\": \"3s\", \"mode\": \"all\"}",
                        "{\"tolerance\": \"1s\", \"unmatched\": \"keep\"}"};
    for (size_t k = 0; k < 3; k++) {
        j.params = ps[k];
        check_split_every(&j, S(1));
        check_split_every(&j, S(3));
    }
    j.params = "{}";
    expect_fail(&j, "tolerance");
    j.params = "{\"tolerance\": \"-1s\"}";
    expect_fail(&j, "negative");
    j.params = "{\"tolerance\": 1, \"left\": \"a\", \"right\": \"a\"}";
    expect_fail(&j, "different");
    j.params = "{\"tolerance\": 1, \"mode\": \"first\"}";
    expect_fail(&j, "first");
    j.params = "{\"tolerance\": 1, \"unmatched\": \"null\"}";
    expect_fail(&j, "null");
    j.nsrc = 1;
    j.params = "{\"tolerance\": 1}";
    expect_fail(&j, "2 sources");
    th_free(&j);

    /* Many right instances: the window slides and compacts. */
    th_init(&j, &hs_tool_join_window, "{\"tolerance\": \"500ms\"}", T0, T0 + S(1000));
    j.nsrc = 2;
    for (int k = 1; k <= 1000; k++)
        th_push_int(&j.src[0], T0 + S(k), k);
    for (int k = 0; k <= 100000; k++)
        th_push_int(&j.src[1], T0 + MS(10 * k + 3), k);
    hs_tool_output out;
    CU_ASSERT_EQUAL_FATAL(th_run(&j, &out), HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 1000);
    /* Nearest to k s: k s + 3 ms (index 100k), not k s - 7 ms. */
    char want[64];
    snprintf(want, sizeof want, "{\"left\":500,\"right\":%d}", 500 * 100);
    CU_ASSERT_STRING_EQUAL(th_json(&out.per_sink[0], 499), want);
    hs_tool_output_free(&out);
    th_free(&j);
}

/* ------------------------------------------------------------------ enrich */

static void enrich_data(th_job *j)
{
    j->nsrc = 2;
    th_push_json(&j->src[1], T0 - S(3600),
                 "{\"s1\": {\"room\": \"kitchen\", \"floor\": 0}, "
                 "\"s2\": {\"room\": \"lounge\"}, \"7\": {\"room\": "
                 "\"attic\", \"v\": 99}, \"bad\": 3}");
    th_push_json(&j->src[1], T0 + S(10), "{\"s1\": {\"room\": \"hall\", \"floor\": 1}}");
    th_push_json(&j->src[0], T0 + S(5), "{\"sensor\": \"s1\", \"v\": 1}");
    th_push_json(&j->src[0], T0 + S(6), "{\"sensor\": \"s2\", \"v\": 2}");
    th_push_json(&j->src[0], T0 + S(7), "{\"sensor\": 7, \"v\": 3}");
    th_push_json(&j->src[0], T0 + S(8), "{\"sensor\": \"s9\", \"v\": 4}");
    th_push_json(&j->src[0], T0 + S(9), "{\"v\": 5}");
    th_push_json(&j->src[0], T0 + MS(9500), "{\"sensor\": \"bad\", \"v\": 8}");
    th_push_json(&j->src[0], T0 + S(10), "{\"sensor\": \"s1\", \"v\": 6}");
    th_push_json(&j->src[0], T0 + S(11), "{\"sensor\": \"s2\", \"v\": 7}");
    th_push_json(&j->src[0], T0 + S(12), "[1]");
}

static void test_enrich(void)
{
    th_job j;
    th_init(&j, &hs_tool_enrich, "{\"key\": \"sensor\"}", T0, T0 + S(20));
    enrich_data(&j);
    /* The refresh at 10 applies from 10 on; s2 is not in the new table. */
    expect(&j, "5={\"sensor\":\"s1\",\"v\":1,\"room\":\"kitchen\",\"floor\":0} "
               "6={\"sensor\":\"s2\",\"v\":2,\"room\":\"lounge\"} "
               "7={\"sensor\":7,\"v\":3,\"room\":\"attic\"} "
               "10={\"sensor\":\"s1\",\"v\":6,\"room\":\"hall\",\"floor\":1}");
    CU_ASSERT_EQUAL(warnings(&j), 2); /* not a map at 12, a table entry that is not a map */
    j.params = "{\"key\": \"sensor\", \"prefix\": \"a_\", \"on_missing\": \"keep\"}";
    expect(&j, "5={\"sensor\":\"s1\",\"v\":1,\"a_room\":\"kitchen\",\"a_floor\":0} "
               "6={\"sensor\":\"s2\",\"v\":2,\"a_room\":\"lounge\"} "
               "7={\"sensor\":7,\"v\":3,\"a_room\":\"attic\",\"a_v\":99} "
               "8={\"sensor\":\"s9\",\"v\":4} 9={\"v\":5} 9.5={\"sensor\":\"bad\",\"v\":8} "
               "10={\"sensor\":\"s1\",\"v\":6,\"a_room\":\"hall\",\"a_floor\":1} "
               "11={\"sensor\":\"s2\",\"v\":7}");
    j.params = "{\"key\": \"sensor\", \"on_missing\": \"null\"}";
    expect(&j, "5={\"sensor\":\"s1\",\"v\":1,\"room\":\"kitchen\",\"floor\":0} "
               "6={\"sensor\":\"s2\",\"v\":2,\"room\":\"lounge\"} "
               "7={\"sensor\":7,\"v\":3,\"room\":\"attic\"} "
               "8={\"sensor\":\"s9\",\"v\":4,\"room\":null,\"floor\":null} "
               "9={\"v\":5,\"room\":null,\"floor\":null} "
               "9.5={\"sensor\":\"bad\",\"v\":8,\"room\":null,\"floor\":null} "
               "10={\"sensor\":\"s1\",\"v\":6,\"room\":\"hall\",\"floor\":1} "
               "11={\"sensor\":\"s2\",\"v\":7,\"room\":null,\"floor\":null}");
    const char *ps[] = {"{\"key\": \"sensor\"}",
                        "{\"key\": \"sensor\", \"on_missing\": \"null\", \"prefix\": \"x\"}"};
    for (int k = 0; k < 2; k++) {
        j.params = ps[k];
        check_split_every(&j, S(1));
        check_split_every(&j, S(4));
    }
    /* Before any table: on_missing applies; the table's own fields never replace data. */
    th_free(&j);
    th_init(&j, &hs_tool_enrich, "{\"key\": \"sensor\", \"on_missing\": \"keep\"}", T0 - S(7200),
            T0);
    j.nsrc = 2;
    th_push_json(&j.src[0], T0 - S(4000), "{\"sensor\": \"s1\"}");
    th_push_json(&j.src[0], T0 - S(3600), "{\"sensor\": \"s1\"}");
    th_push_json(&j.src[1], T0 - S(3600), "{\"s1\": {\"sensor\": \"other\", \"r\": 1}}");
    expect(&j, "-4000={\"sensor\":\"s1\"} -3600={\"sensor\":\"s1\",\"r\":1}");
    th_free(&j);
}

/* Partitions: every instance with a key is emitted by exactly one of N factors. */
static void test_enrich_partitions(void)
{
    th_job j;
    th_init(&j, &hs_tool_enrich, NULL, T0, T0 + S(1000));
    j.nsrc = 2;
    th_push_json(&j.src[1], T0,
                 "{\"k0\": {\"x\": 0}, \"k1\": {\"x\": 1}, \"k2\": {\"x\": 2}, "
                 "\"k3\": {\"x\": 3}, \"k4\": {\"x\": 4}}");
    for (int k = 1; k <= 1000; k++) {
        char v[64];
        snprintf(v, sizeof v, "{\"id\": \"k%d\", \"n\": %d}", k % 7, k);
        th_push_json(&j.src[0], T0 + S(k), v);
    }
    size_t seen[1001] = {0}, total = 0, parts_used = 0;
    for (int p = 0; p < 4; p++) {
        char params[128];
        snprintf(params, sizeof params,
                 "{\"key\": \"id\", \"partitions\": 4, \"partition\": %d, \"on_missing\": "
                 "\"keep\"}",
                 p);
        j.params = params;
        hs_tool_output out;
        CU_ASSERT_EQUAL_FATAL(th_run(&j, &out), HS_OK);
        parts_used += out.per_sink[0].n > 0;
        for (size_t i = 0; i < out.per_sink[0].n; i++) {
            int64_t k = (out.per_sink[0].items[i].t_us - T0) / HS_US_PER_S;
            seen[k]++;
            total++;
        }
        hs_tool_output_free(&out);
    }
    CU_ASSERT_EQUAL(total, 1000);
    for (int k = 1; k <= 1000; k++)
        CU_ASSERT_EQUAL(seen[k], 1);
    CU_ASSERT_TRUE(parts_used >= 2);
    /* The partition from the sink's meta-data: sink enriched/part=2 is partition 2. */
    j.params = "{\"key\": \"id\", \"partitions\": 4, \"partition\": 2}";
    hs_tool_output a, b;
    CU_ASSERT_EQUAL_FATAL(th_run(&j, &a), HS_OK);
    j.params = "{\"key\": \"id\", \"partitions\": 4, \"partition_meta\": \"part\"}";
    j.sink_ids[0] = "enriched/part=2";
    j.nsinks = 1;
    CU_ASSERT_EQUAL_FATAL(th_run(&j, &b), HS_OK);
    CU_ASSERT_TRUE(same_batch(&a.per_sink[0], &b.per_sink[0]));
    hs_tool_output_free(&a);
    hs_tool_output_free(&b);
    /* The hash is FNV-1a 64 of the key text: fixed, so replicas agree across versions. */
    CU_ASSERT_EQUAL(hs_fnv1a64("k1", 2), 0x08be0f07b56224c1ULL);
    j.params = "{\"key\": \"id\", \"partitions\": 4, \"partition_meta\": \"room\"}";
    expect_fail(&j, "room");
    j.sink_ids[0] = "enriched/part=x";
    j.params = "{\"key\": \"id\", \"partitions\": 4, \"partition_meta\": \"part\"}";
    expect_fail(&j, "partition number");
    j.sink_ids[0] = "enriched/part=4";
    expect_fail(&j, "not in [0, 4)");
    j.params = "{\"key\": \"id\", \"partitions\": 4, \"partition_meta\": \"part\", \"partition\": "
               "1}";
    expect_fail(&j, "not both");
    j.params = "{\"key\": \"id\", \"partitions\": 0}";
    expect_fail(&j, "partitions");
    j.params = "{\"key\": \"id\", \"on_missing\": \"fail\"}";
    expect_fail(&j, "fail");
    j.params = "{}";
    expect_fail(&j, "key");
    j.nsrc = 1;
    j.params = "{\"key\": \"id\"}";
    expect_fail(&j, "2 sources");
    th_free(&j);
}

/* ------------------------------------------------------------------ definitions */

static const hs_tool_def *const iot_defs[] = {
    &hs_tool_random,           &hs_tool_uniform,     &hs_tool_gauss,      &hs_tool_normal,
    &hs_tool_lognormal,        &hs_tool_exponential, &hs_tool_gamma,      &hs_tool_beta,
    &hs_tool_pareto,           &hs_tool_weibull,     &hs_tool_triangular, &hs_tool_vonmises,
    &hs_tool_randint,          &hs_tool_randrange,   &hs_tool_custom,     &hs_tool_csv_reader,
    &hs_tool_csv_multi_reader, &hs_tool_filter,      &hs_tool_resample,   &hs_tool_rate,
    &hs_tool_derivative,       &hs_tool_threshold,   &hs_tool_window,     &hs_tool_join_window,
    &hs_tool_enrich,
};
#define N_IOT (sizeof iot_defs / sizeof iot_defs[0])

static void test_definitions(void)
{
    hs_buf err, p;
    hs_buf_init(&err, 0);
    hs_buf_init(&p, 0);
    for (size_t i = 0; i < N_IOT; i++) {
        const hs_tool_def *d = iot_defs[i];
        int major, minor, patch;
        CU_ASSERT_EQUAL(hs_tool_version_parse(d->version, &major, &minor, &patch), HS_OK);
        CU_ASSERT_TRUE(d->summary != NULL && strlen(d->summary) > 10 && !strchr(d->summary, '\n'));
        CU_ASSERT_TRUE(d->doc != NULL && strlen(d->doc) > 200);
        CU_ASSERT_PTR_NOT_NULL(strstr(d->doc, "HyperStream"));
        CU_ASSERT_PTR_NOT_NULL(strstr(d->doc, "xample"));
        CU_ASSERT_TRUE((d->run != NULL) != (d->map != NULL));
        CU_ASSERT_PTR_NOT_NULL_FATAL(d->params);
        for (const hs_tool_param *q = d->params; q->name != NULL; q++) {
            CU_ASSERT_PTR_NOT_NULL(q->help);
            CU_ASSERT_PTR_NOT_NULL(strstr(d->doc, q->name));
            if (q->def == NULL)
                continue;
            char json[256];
            snprintf(json, sizeof json, "{\"%s\": %s}", q->name, q->def);
            hs_buf_reset(&p);
            CU_ASSERT_EQUAL(hs_json_to_mpack(json, strlen(json), &p), HS_OK);
            hs_buf_reset(&err);
            hs_tool_check_params(d, p.data, p.len, &err);
            CU_ASSERT_PTR_NULL(strstr(hs_buf_cstr(&err), "must be"));
        }
    }
    hs_buf_free(&err);
    hs_buf_free(&p);
    /* Every tool is registered by the part's registration, once. */
    hs_tool_registry *r;
    CU_ASSERT_EQUAL_FATAL(hs_tool_registry_create(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_builtin_register_iot(r), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_count(r), N_IOT);
    for (size_t i = 0; i < N_IOT; i++)
        CU_ASSERT_PTR_EQUAL(hs_tool_registry_find(r, iot_defs[i]->name), iot_defs[i]);
    CU_ASSERT_EQUAL(hs_builtin_register_iot(r), HS_ERR_EXISTS);
    hs_tool_registry_destroy(r);
}

HS_TEST_INIT(tools_iot)
{
    HS_TEST_SUITE_BEGIN("tools_iot");
    HS_TEST(test_gen_moments);
    HS_TEST(test_gen_vonmises);
    HS_TEST(test_gen_integers);
    HS_TEST(test_gen_reproducible);
    HS_TEST(test_gen_golden);
    HS_TEST(test_gen_plates);
    HS_TEST(test_gen_errors);
    HS_TEST(test_gen_custom);
    HS_TEST(test_csv_reader);
    HS_TEST(test_csv_multi_reader);
    HS_TEST(test_filter);
    HS_TEST(test_filter_errors);
    HS_TEST(test_resample);
    HS_TEST(test_rate);
    HS_TEST(test_read_back_cost);
    HS_TEST(test_threshold);
    HS_TEST(test_window_grid);
    HS_TEST(test_window_session);
    HS_TEST(test_join_window);
    HS_TEST(test_enrich);
    HS_TEST(test_enrich_partitions);
    HS_TEST(test_definitions);
    return 0;
}
