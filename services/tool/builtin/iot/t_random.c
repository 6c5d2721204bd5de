/*
 * The data generators: one pseudo-random value (or one value of a function
 * of time) per timestamp of the alignment stream.
 *
 * Reproducibility does not rest on a generator's state carried from value
 * to value: the value at instant t comes from a splitmix64 sequence whose
 * start is a hash of (seed, plate values, t) alone. So the same instant
 * always gets the same value, whatever the job cut, the order of jobs or
 * the replica that runs them, and two generators on different plate values
 * do not repeat each other.
 *
 * Samplers follow the parameterisation of Python's `random` module (which
 * HyperStream's plugins called): gamma(alpha, beta) has shape alpha and
 * scale beta, weibull(alpha, beta) scale alpha and shape beta, pareto's
 * minimum is 1, vonmises returns angles in [0, 2*pi).
 */
#include "functions.h"
#include "iot.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_hash.h"

#include <math.h>
#include <string.h>

#define HS__PI 3.14159265358979323846

/* ------------------------------------------------------------------ the bit source */

/* The splitmix64 output function: a bijective 64-bit mixer. */
static uint64_t hs__mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define HS__GOLDEN 0x9e3779b97f4a7c15ULL

typedef struct hs__rng {
    uint64_t s;
} hs__rng;

static void hs__rng_start(hs__rng *r, uint64_t key, int64_t t)
{
    r->s = hs__mix64(key ^ hs__mix64((uint64_t)t + HS__GOLDEN));
}

static uint64_t hs__rng_next(hs__rng *r)
{
    r->s += HS__GOLDEN;
    return hs__mix64(r->s);
}

/* Uniform in [0, 1): 53 random bits. */
static double hs__u01(hs__rng *r)
{
    return (double)(hs__rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in (0, 1): never 0, so logarithms and powers are finite. */
static double hs__u01_open(hs__rng *r)
{
    return ((double)(hs__rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

/* Uniform integer in [0, n) without modulo bias; n == 0 means the whole 2^64 range. */
static uint64_t hs__below(hs__rng *r, uint64_t n)
{
    uint64_t x = hs__rng_next(r);
    if (n == 0)
        return x;
    /* 2^64 mod n: values below it would make the low residues more likely. */
    uint64_t threshold = (0 - n) % n;
    while (x < threshold)
        x = hs__rng_next(r);
    return x % n;
}

/* ------------------------------------------------------------------ samplers */

/* Standard normal by Marsaglia's polar method. */
static double hs__std_normal(hs__rng *r)
{
    for (;;) {
        double u = 2.0 * hs__u01(r) - 1.0, v = 2.0 * hs__u01(r) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0)
            return u * sqrt(-2.0 * log(s) / s);
    }
}

/* Gamma with shape a > 0 and scale 1: Marsaglia and Tsang (2000), boosted below shape 1. */
static double hs__std_gamma(hs__rng *r, double a)
{
    if (a < 1.0) {
        /* X ~ Gamma(a + 1) times U^(1/a) is Gamma(a). */
        double g = hs__std_gamma(r, a + 1.0);
        return g * pow(hs__u01_open(r), 1.0 / a);
    }
    double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = hs__std_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = hs__u01_open(r), x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2 || log(u) < 0.5 * x2 + d * (1.0 - v + log(v)))
            return d * v;
    }
}

/* Von Mises on the circle with mean mu and concentration kappa: Best and Fisher (1979). */
static double hs__vonmises(hs__rng *r, double mu, double kappa)
{
    double theta;
    if (kappa < 1e-6) {
        theta = 2.0 * HS__PI * hs__u01(r); /* uniform on the circle in the limit */
    } else {
        double tau = 1.0 + sqrt(1.0 + 4.0 * kappa * kappa);
        double rho = (tau - sqrt(2.0 * tau)) / (2.0 * kappa);
        double rr = (1.0 + rho * rho) / (2.0 * rho);
        double f;
        for (;;) {
            double z = cos(HS__PI * hs__u01(r));
            f = (1.0 + rr * z) / (rr + z);
            double c = kappa * (rr - f);
            double u2 = hs__u01_open(r);
            if (c * (2.0 - c) - u2 > 0.0 || log(c / u2) + 1.0 - c >= 0.0)
                break;
        }
        if (f > 1.0)
            f = 1.0; /* rounding */
        if (f < -1.0)
            f = -1.0;
        double a = acos(f);
        theta = hs__u01(r) < 0.5 ? mu - a : mu + a;
    }
    theta = fmod(theta, 2.0 * HS__PI);
    if (theta < 0.0)
        theta += 2.0 * HS__PI;
    if (theta >= 2.0 * HS__PI)
        theta = 0.0;
    return theta;
}

/* ------------------------------------------------------------------ the tools */

typedef enum hs__gkind {
    HS__G_RANDOM,
    HS__G_UNIFORM,
    HS__G_GAUSS,
    HS__G_NORMAL,
    HS__G_LOGNORMAL,
    HS__G_EXPONENTIAL,
    HS__G_GAMMA,
    HS__G_BETA,
    HS__G_PARETO,
    HS__G_WEIBULL,
    HS__G_TRIANGULAR,
    HS__G_VONMISES,
    HS__G_RANDINT,
    HS__G_RANDRANGE,
    HS__G_CUSTOM,
} hs__gkind;

typedef struct hs__gen {
    hs__gkind kind;
    uint64_t key; /* seed mixed with the sink's plate values */
    double a, b, c;
    int64_t lo;    /* RANDINT, RANDRANGE: the first value */
    int64_t step;  /* RANDRANGE */
    uint64_t span; /* RANDINT, RANDRANGE: the number of values (0: 2^64) */
    hs_func f;     /* CUSTOM */
} hs__gen;

static void hs__gen_fini(void *state)
{
    hs__gen *g = state;
    if (g != NULL)
        hs_func_release(&g->f);
}

/* A number parameter (with a default in the table unless required); must be finite. */
static int hs__gnum(hs_tool_ctx *ctx, const char *name, double *out)
{
    int rc = hs_tool_param_double(ctx, name, out);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "parameter '%s' is required", name);
    if (rc != HS_OK)
        return rc;
    if (!isfinite(*out))
        return hs_tool_fail(ctx, "parameter '%s' must be a finite number", name);
    return HS_OK;
}

static int hs__gint(hs_tool_ctx *ctx, const char *name, int64_t *out)
{
    int rc = hs_tool_param_int(ctx, name, out);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "parameter '%s' is required", name);
    return rc;
}

/* The key: seed (an integer or a string) and, with per_plate, the sink's meta-data. */
static int hs__gen_key(hs_tool_ctx *ctx, hs__gen *g)
{
    uint64_t seed = 0;
    const hs_value *s = hs_tool_param_value(ctx, "seed");
    if (s != NULL && s->type == HS_V_INT)
        seed = (uint64_t)s->u.i;
    else if (s != NULL && s->type == HS_V_STR)
        seed = hs_fnv1a64(s->u.s, s->len);
    else if (s != NULL)
        return hs_tool_fail(ctx, "parameter 'seed' must be an integer or a string");
    bool per_plate = true;
    int rc = hs_tool_param_bool(ctx, "per_plate", &per_plate);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    uint64_t plate = 0;
    const hs_streamid *sink = hs_tool_sink(ctx, 0);
    if (per_plate && sink != NULL && sink->n_meta > 0) {
        plate = HS_FNV1A64_INIT;
        for (size_t i = 0; i < sink->n_meta; i++) {
            /* Pairs are sorted by key; NUL separators keep ("ab","c") apart from ("a","bc"). */
            plate = hs_fnv1a64_update(plate, sink->meta[i].key, strlen(sink->meta[i].key) + 1);
            plate = hs_fnv1a64_update(plate, sink->meta[i].value, strlen(sink->meta[i].value) + 1);
        }
    }
    g->key = hs__mix64(seed + HS__GOLDEN) ^ hs__mix64(plate ^ 0x5851f42d4c957f2dULL);
    return HS_OK;
}

static int hs__gen_params(hs_tool_ctx *ctx, hs__gen *g)
{
    int rc = HS_OK;
    switch (g->kind) {
    case HS__G_RANDOM:
        return HS_OK;
    case HS__G_UNIFORM:
        if ((rc = hs__gnum(ctx, "a", &g->a)) != HS_OK || (rc = hs__gnum(ctx, "b", &g->b)) != HS_OK)
            return rc;
        return HS_OK;
    case HS__G_GAUSS:
    case HS__G_NORMAL:
    case HS__G_LOGNORMAL:
        if ((rc = hs__gnum(ctx, "mu", &g->a)) != HS_OK ||
            (rc = hs__gnum(ctx, "sigma", &g->b)) != HS_OK)
            return rc;
        if (g->b < 0)
            return hs_tool_fail(ctx, "parameter 'sigma' must not be negative");
        return HS_OK;
    case HS__G_EXPONENTIAL:
        if ((rc = hs__gnum(ctx, "lambd", &g->a)) != HS_OK)
            return rc;
        if (g->a == 0)
            return hs_tool_fail(ctx, "parameter 'lambd' (1 / mean) must not be 0");
        return HS_OK;
    case HS__G_GAMMA:
    case HS__G_BETA:
    case HS__G_WEIBULL:
        if ((rc = hs__gnum(ctx, "alpha", &g->a)) != HS_OK ||
            (rc = hs__gnum(ctx, "beta", &g->b)) != HS_OK)
            return rc;
        if (g->a <= 0 || g->b <= 0)
            return hs_tool_fail(ctx, "parameters 'alpha' and 'beta' must be positive");
        return HS_OK;
    case HS__G_PARETO:
        if ((rc = hs__gnum(ctx, "alpha", &g->a)) != HS_OK)
            return rc;
        if (g->a <= 0)
            return hs_tool_fail(ctx, "parameter 'alpha' must be positive");
        return HS_OK;
    case HS__G_TRIANGULAR:
        if ((rc = hs__gnum(ctx, "low", &g->a)) != HS_OK ||
            (rc = hs__gnum(ctx, "high", &g->b)) != HS_OK)
            return rc;
        if (hs_tool_param_value(ctx, "mode") == NULL) {
            g->c = g->a + (g->b - g->a) / 2;
        } else {
            if ((rc = hs__gnum(ctx, "mode", &g->c)) != HS_OK)
                return rc;
            if (g->c < fmin(g->a, g->b) || g->c > fmax(g->a, g->b))
                return hs_tool_fail(ctx, "parameter 'mode' (%g) must lie between low and high",
                                    g->c);
        }
        return HS_OK;
    case HS__G_VONMISES:
        if ((rc = hs__gnum(ctx, "mu", &g->a)) != HS_OK ||
            (rc = hs__gnum(ctx, "kappa", &g->b)) != HS_OK)
            return rc;
        if (g->b < 0)
            return hs_tool_fail(ctx, "parameter 'kappa' must not be negative");
        return HS_OK;
    case HS__G_RANDINT: {
        int64_t a, b;
        if ((rc = hs__gint(ctx, "a", &a)) != HS_OK || (rc = hs__gint(ctx, "b", &b)) != HS_OK)
            return rc;
        if (b < a)
            return hs_tool_fail(ctx, "randint needs a <= b (got a=%lld, b=%lld)", (long long)a,
                                (long long)b);
        g->lo = a;
        g->step = 1;
        g->span = (uint64_t)b - (uint64_t)a + 1; /* wraps to 0 for the whole int64 range */
        return HS_OK;
    }
    case HS__G_RANDRANGE: {
        int64_t start, stop, step;
        if ((rc = hs__gint(ctx, "start", &start)) != HS_OK ||
            (rc = hs__gint(ctx, "step", &step)) != HS_OK)
            return rc;
        rc = hs_tool_param_int(ctx, "stop", &stop);
        if (rc == HS_ERR_NOTFOUND) {
            /* randrange(n) is randrange(0, n). */
            stop = start;
            start = 0;
        } else if (rc != HS_OK) {
            return rc;
        }
        if (step == 0)
            return hs_tool_fail(ctx, "parameter 'step' of randrange must not be 0");
        uint64_t width, ustep;
        if (step > 0 && stop > start) {
            width = (uint64_t)stop - (uint64_t)start;
            ustep = (uint64_t)step;
        } else if (step < 0 && stop < start) {
            width = (uint64_t)start - (uint64_t)stop;
            ustep = 0 - (uint64_t)step;
        } else {
            return hs_tool_fail(ctx, "randrange(%lld, %lld, %lld) is an empty range",
                                (long long)start, (long long)stop, (long long)step);
        }
        g->lo = start;
        g->step = step;
        g->span = (width - 1) / ustep + 1;
        return HS_OK;
    }
    case HS__G_CUSTOM:
        return hs_func_lookup(ctx, "func", HS_FUNC_UNARY, &g->f);
    }
    return hs_tool_fail(ctx, "unknown generator");
}

static int hs__gen_init(hs_tool_ctx *ctx, void **state, hs__gkind kind)
{
    hs__gen *g = hs_arena_alloc(hs_tool_arena(ctx), sizeof *g);
    if (g == NULL)
        return HS_ERR_NOMEM;
    memset(g, 0, sizeof *g);
    g->kind = kind;
    *state = g;
    int rc = kind == HS__G_CUSTOM ? HS_OK : hs__gen_key(ctx, g);
    return rc != HS_OK ? rc : hs__gen_params(ctx, g);
}

/* The float value of a continuous generator at t. */
static double hs__sample(const hs__gen *g, int64_t t)
{
    hs__rng r;
    hs__rng_start(&r, g->key, t);
    switch (g->kind) {
    case HS__G_RANDOM:
        return hs__u01(&r);
    case HS__G_UNIFORM:
        return g->a + (g->b - g->a) * hs__u01(&r);
    case HS__G_GAUSS:
    case HS__G_NORMAL:
        return g->a + g->b * hs__std_normal(&r);
    case HS__G_LOGNORMAL:
        return exp(g->a + g->b * hs__std_normal(&r));
    case HS__G_EXPONENTIAL:
        return -log(hs__u01_open(&r)) / g->a;
    case HS__G_GAMMA:
        return hs__std_gamma(&r, g->a) * g->b;
    case HS__G_BETA: {
        double x = hs__std_gamma(&r, g->a), y = hs__std_gamma(&r, g->b);
        if (x + y > 0)
            return x / (x + y);
        /*
         * Both underflowed (tiny alpha and beta): the distribution is then all
         * but a coin flip between 0 and 1 with these odds.
         */
        return hs__u01(&r) < g->a / (g->a + g->b) ? 1.0 : 0.0;
    }
    case HS__G_PARETO:
        return pow(hs__u01_open(&r), -1.0 / g->a);
    case HS__G_WEIBULL:
        return g->a * pow(-log(hs__u01_open(&r)), 1.0 / g->b);
    case HS__G_TRIANGULAR: {
        double low = g->a, high = g->b;
        if (high == low)
            return low;
        double u = hs__u01(&r), c = (g->c - low) / (high - low);
        if (u > c) {
            u = 1.0 - u;
            c = 1.0 - c;
            double tmp = low;
            low = high;
            high = tmp;
        }
        return low + (high - low) * sqrt(u * c);
    }
    case HS__G_VONMISES:
        return hs__vonmises(&r, g->a, g->b);
    default:
        return 0.0;
    }
}

/* Integer generators: lo + step * k for k uniform below span. */
static int64_t hs__sample_int(const hs__gen *g, int64_t t)
{
    hs__rng r;
    hs__rng_start(&r, g->key, t);
    uint64_t k = hs__below(&r, g->span);
    /* The true result lies between start and stop, so the wrapped arithmetic is exact. */
    return (int64_t)((uint64_t)g->lo + (uint64_t)g->step * k);
}

static int hs__gen_custom(hs_tool_ctx *ctx, hs__gen *g, int64_t t)
{
    hs_arena *a = hs_tool_scratch(ctx);
    hs_arena_reset(a);
    hs_value in, out;
    memset(&in, 0, sizeof in);
    in.type = HS_V_FLOAT;
    in.u.f = (double)t / 1e6;
    int rc = g->f.unary(g->f.ud, a, t, &in, &out);
    if (rc == HS_ERR_INVAL) {
        hs_tool_warn(ctx, "custom: %s at %lld: %s; skipped", g->f.name ? g->f.name : "function",
                     (long long)t, hs_err_detail());
        return HS_OK;
    }
    if (rc != HS_OK)
        return hs_tool_fail(ctx, "custom: function %s failed: %s", g->f.name ? g->f.name : "(user)",
                            hs_err_detail());
    return hs_tool_emit_value(ctx, t, &out);
}

/* The run of a job: the generator and its context. */
typedef struct hs__gen_run_ctx {
    hs_tool_ctx *ctx;
    hs__gen *g;
} hs__gen_run_ctx;

static int hs__gen_instant(void *ud, int64_t t, const uint8_t *v, size_t len)
{
    (void)v;
    (void)len;
    hs__gen_run_ctx *c = ud;
    hs__gen *g = c->g;
    if (g->kind == HS__G_CUSTOM)
        return hs__gen_custom(c->ctx, g, t);
    if (g->kind == HS__G_RANDINT || g->kind == HS__G_RANDRANGE)
        return hs_tool_emit_int(c->ctx, t, hs__sample_int(g, t));
    return hs_tool_emit_double(c->ctx, t, hs__sample(g, t));
}

static int hs__gen_run(hs_tool_ctx *ctx, void *state)
{
    hs__gen_run_ctx c = {ctx, state};
    return hs_tu_each(ctx, HS_TOOL_ALIGNMENT, hs_tool_interval(ctx), hs__gen_instant, &c);
}

/* ------------------------------------------------------------------ definitions */

#define HS__SEED_PARAMS                                                                            \
    {"seed", HS_P_ANY, "0",                                                                        \
     "an integer or a string; the same seed gives the same values at the same instants"},          \
    {                                                                                              \
        "per_plate", HS_P_BOOL, "true",                                                            \
            "mix the sink's plate values into the seed (false: every plate value gets the same "   \
            "values)"                                                                              \
    }

#define HS__END_PARAMS                                                                             \
    {                                                                                              \
        NULL, HS_P_ANY, NULL, NULL                                                                 \
    }

/* Common text of the generators' documentation. */
#define HS__GEN_DOC                                                                                \
    " Emits one value per timestamp of the alignment stream (the factor's `alignment`) "           \
    "in the job interval; there are no sources. The value at an instant depends only on "          \
    "the seed, the sink's plate values (unless per_plate is false) and the instant, so "           \
    "recomputing any interval, cut into jobs in any way, gives the same values. "                  \
    "Difference from HyperStream: its generators seeded Python's global generator once "           \
    "(seed=None meant a different run every time), so values depended on the order of "            \
    "execution; here seed defaults to 0 and values are reproducible."

#define HS__GEN_INIT(fn, kind)                                                                     \
    static int fn(hs_tool_ctx *ctx, void **state)                                                  \
    {                                                                                              \
        return hs__gen_init(ctx, state, kind);                                                     \
    }

HS__GEN_INIT(hs__init_random, HS__G_RANDOM)
HS__GEN_INIT(hs__init_uniform, HS__G_UNIFORM)
HS__GEN_INIT(hs__init_gauss, HS__G_GAUSS)
HS__GEN_INIT(hs__init_normal, HS__G_NORMAL)
HS__GEN_INIT(hs__init_lognormal, HS__G_LOGNORMAL)
HS__GEN_INIT(hs__init_exponential, HS__G_EXPONENTIAL)
HS__GEN_INIT(hs__init_gamma, HS__G_GAMMA)
HS__GEN_INIT(hs__init_beta, HS__G_BETA)
HS__GEN_INIT(hs__init_pareto, HS__G_PARETO)
HS__GEN_INIT(hs__init_weibull, HS__G_WEIBULL)
HS__GEN_INIT(hs__init_triangular, HS__G_TRIANGULAR)
HS__GEN_INIT(hs__init_vonmises, HS__G_VONMISES)
HS__GEN_INIT(hs__init_randint, HS__G_RANDINT)
HS__GEN_INIT(hs__init_randrange, HS__G_RANDRANGE)
HS__GEN_INIT(hs__init_custom, HS__G_CUSTOM)

#define HS__GEN_DEF(var, nm, init_fn, params_tbl, summ, docs)                                      \
    const hs_tool_def var = {                                                                      \
        .name = nm,                                                                                \
        .version = "1.0.0",                                                                        \
        .kind = HS_TOOL_PLAIN,                                                                     \
        .min_sources = 0,                                                                          \
        .max_sources = 0,                                                                          \
        .alignment = true,                                                                         \
        .summary = summ,                                                                           \
        .doc = docs,                                                                               \
        .params = params_tbl,                                                                      \
        .init = init_fn,                                                                           \
        .run = hs__gen_run,                                                                        \
        .fini = hs__gen_fini,                                                                      \
    }

static const hs_tool_param hs__p_random[] = {HS__SEED_PARAMS, HS__END_PARAMS};
HS__GEN_DEF(hs_tool_random, "random", hs__init_random, hs__p_random,
            "Uniform random floats in [0, 1) at the alignment timestamps",
            "A float64 uniform in [0, 1) (53 random bits), like Python's random.random()."
            " Parameters: seed, per_plate. Example: alignment clock {stride: 1s} and "
            "random {seed: 7} gives one value per second." HS__GEN_DOC);

static const hs_tool_param hs__p_uniform[] = {
    {"a", HS_P_NUMBER, NULL, "one end of the range"},
    {"b", HS_P_NUMBER, NULL, "the other end of the range"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_uniform, "uniform", hs__init_uniform, hs__p_uniform,
            "Uniform random floats between a and b at the alignment timestamps",
            "a + (b - a) * U with U uniform in [0, 1), as Python's random.uniform(a, b) (b < a "
            "is allowed). Parameters: a, b (required), seed, per_plate. Example: uniform "
            "{a: 18, b: 24, seed: 1} simulates a room temperature." HS__GEN_DOC);

static const hs_tool_param hs__p_normal[] = {
    {"mu", HS_P_NUMBER, "0", "mean"},
    {"sigma", HS_P_NUMBER, "1", "standard deviation (>= 0)"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_gauss, "gauss", hs__init_gauss, hs__p_normal,
            "Normally distributed floats (mean mu, deviation sigma) at the alignment timestamps",
            "mu + sigma * Z with Z standard normal (Marsaglia's polar method); the same "
            "distribution as normal, as Python's random.gauss(mu, sigma). Parameters: mu "
            "(default 0), sigma (default 1, not negative), seed, per_plate. Example: gauss "
            "{mu: 20, sigma: 0.5}." HS__GEN_DOC);
HS__GEN_DEF(hs_tool_normal, "normal", hs__init_normal, hs__p_normal,
            "Normally distributed floats (mean mu, deviation sigma) at the alignment timestamps",
            "mu + sigma * Z with Z standard normal (Marsaglia's polar method), as Python's "
            "random.normalvariate(mu, sigma) (HyperStream's normalvariate). Parameters: mu "
            "(default 0), sigma (default 1, not negative), seed, per_plate. Example: normal "
            "{mu: 0, sigma: 2, seed: 3}." HS__GEN_DOC);

static const hs_tool_param hs__p_lognormal[] = {
    {"mu", HS_P_NUMBER, NULL, "mean of the logarithm"},
    {"sigma", HS_P_NUMBER, NULL, "standard deviation of the logarithm (>= 0)"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_lognormal, "lognormal", hs__init_lognormal, hs__p_lognormal,
            "Log-normally distributed floats at the alignment timestamps",
            "exp(mu + sigma * Z) with Z standard normal, as Python's "
            "random.lognormvariate(mu, sigma) (HyperStream's lognormvariate). Parameters: mu, "
            "sigma (required; sigma not negative), seed, per_plate. Example: lognormal "
            "{mu: 0, sigma: 0.5}." HS__GEN_DOC);

static const hs_tool_param hs__p_exponential[] = {
    {"lambd", HS_P_NUMBER, "1", "rate: 1 / the mean (not 0; negative gives negative values)"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_exponential, "exponential", hs__init_exponential, hs__p_exponential,
            "Exponentially distributed floats (rate lambd) at the alignment timestamps",
            "-ln(U) / lambd with U uniform in (0, 1), as Python's random.expovariate(lambd) "
            "(HyperStream's expovariate): mean 1/lambd. Parameters: lambd (default 1, not 0), "
            "seed, per_plate. Example: exponential {lambd: 0.1} gives waiting times with mean "
            "10." HS__GEN_DOC);

static const hs_tool_param hs__p_gamma[] = {
    {"alpha", HS_P_NUMBER, NULL, "shape (> 0)"},
    {"beta", HS_P_NUMBER, NULL, "scale (> 0)"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_gamma, "gamma", hs__init_gamma, hs__p_gamma,
            "Gamma-distributed floats (shape alpha, scale beta) at the alignment timestamps",
            "Gamma with shape alpha and scale beta (mean alpha*beta, variance alpha*beta^2), "
            "as Python's random.gammavariate(alpha, beta) (HyperStream's gammavariate), drawn by "
            "Marsaglia and Tsang's method (shapes below 1 by the U^(1/alpha) boost). "
            "Parameters: alpha, beta (required, positive), seed, per_plate. Example: gamma "
            "{alpha: 2, beta: 3}." HS__GEN_DOC);

static const hs_tool_param hs__p_beta[] = {
    {"alpha", HS_P_NUMBER, NULL, "first shape (> 0)"},
    {"beta", HS_P_NUMBER, NULL, "second shape (> 0)"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_beta, "beta", hs__init_beta, hs__p_beta,
            "Beta-distributed floats in [0, 1] at the alignment timestamps",
            "X / (X + Y) with X ~ Gamma(alpha) and Y ~ Gamma(beta), as Python's "
            "random.betavariate(alpha, beta) (HyperStream's betavariate): mean "
            "alpha/(alpha+beta). Parameters: alpha, beta (required, positive), seed, "
            "per_plate. Example: beta {alpha: 2, beta: 5} simulates a fraction such as a "
            "valve opening." HS__GEN_DOC);

static const hs_tool_param hs__p_pareto[] = {
    {"alpha", HS_P_NUMBER, NULL, "shape (> 0)"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_pareto, "pareto", hs__init_pareto, hs__p_pareto,
            "Pareto-distributed floats (minimum 1, shape alpha) at the alignment timestamps",
            "U^(-1/alpha) with U uniform in (0, 1), as Python's random.paretovariate(alpha) "
            "(HyperStream's paretovariate): values >= 1, mean alpha/(alpha-1) for alpha > 1. "
            "Parameters: alpha (required, positive), seed, per_plate. Example: pareto "
            "{alpha: 3}." HS__GEN_DOC);

static const hs_tool_param hs__p_weibull[] = {
    {"alpha", HS_P_NUMBER, NULL, "scale (> 0)"},
    {"beta", HS_P_NUMBER, NULL, "shape (> 0)"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_weibull, "weibull", hs__init_weibull, hs__p_weibull,
            "Weibull-distributed floats (scale alpha, shape beta) at the alignment timestamps",
            "alpha * (-ln U)^(1/beta) with U uniform in (0, 1), as Python's "
            "random.weibullvariate(alpha, beta) (HyperStream's weibullvariate): scale alpha, "
            "shape beta. Parameters: alpha, beta (required, positive), seed, per_plate. "
            "Example: weibull {alpha: 1000, beta: 1.5} simulates times to failure." HS__GEN_DOC);

static const hs_tool_param hs__p_triangular[] = {
    {"low", HS_P_NUMBER, "0", "lower end"},
    {"high", HS_P_NUMBER, "1", "upper end"},
    {"mode", HS_P_NUMBER, "null", "the peak, between low and high (default: the midpoint)"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_triangular, "triangular", hs__init_triangular, hs__p_triangular,
            "Triangular-distributed floats between low and high at the alignment timestamps",
            "The triangular distribution on [low, high] peaking at mode, by inversion as "
            "Python's random.triangular(low, high, mode): mean (low+high+mode)/3. Parameters: "
            "low (default 0), high (default 1), mode (default the midpoint; must lie between "
            "low and high), seed, per_plate. Example: triangular {low: 10, high: 30, mode: "
            "15}." HS__GEN_DOC);

static const hs_tool_param hs__p_vonmises[] = {
    {"mu", HS_P_NUMBER, NULL, "mean angle in radians"},
    {"kappa", HS_P_NUMBER, NULL, "concentration (>= 0; 0 is uniform on the circle)"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_vonmises, "vonmises", hs__init_vonmises, hs__p_vonmises,
            "Von Mises (circular normal) angles in [0, 2*pi) at the alignment timestamps",
            "Angles in radians in [0, 2*pi) from the von Mises distribution with mean angle mu "
            "and concentration kappa, drawn by Best and Fisher's algorithm, as Python's "
            "random.vonmisesvariate(mu, kappa) (HyperStream's vonmisesvariate); kappa below "
            "1e-6 gives uniform angles. Parameters: mu, kappa (required; kappa not "
            "negative), seed, per_plate. Example: vonmises {mu: 3.14, kappa: 4} simulates a "
            "wind direction." HS__GEN_DOC);

static const hs_tool_param hs__p_randint[] = {
    {"a", HS_P_INT, NULL, "smallest value"},
    {"b", HS_P_INT, NULL, "largest value (>= a)"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_randint, "randint", hs__init_randint, hs__p_randint,
            "Uniform random integers in [a, b] at the alignment timestamps",
            "An integer uniform in [a, b], both ends included, without modulo bias, as "
            "Python's random.randint(a, b). Parameters: a, b (required integers, a <= b), "
            "seed, per_plate. Example: randint {a: 1, b: 6} rolls a die." HS__GEN_DOC);

static const hs_tool_param hs__p_randrange[] = {
    {"start", HS_P_INT, NULL, "first value (or, without stop, the end: values in [0, start))"},
    {"stop", HS_P_INT, "null", "end, excluded"},
    {"step", HS_P_INT, "1", "distance between values (not 0; negative counts down)"},
    HS__SEED_PARAMS,
    HS__END_PARAMS,
};
HS__GEN_DEF(hs_tool_randrange, "randrange", hs__init_randrange, hs__p_randrange,
            "Uniform random integers from range(start, stop, step) at the alignment timestamps",
            "An integer chosen uniformly from start, start+step, ... before stop, as Python's "
            "random.randrange(start, stop, step); without stop the range is [0, start). An "
            "empty range or step 0 fails the job. Parameters: start (required), stop "
            "(optional), step (default 1), seed, per_plate. Example: randrange {start: 0, "
            "stop: 100, step: 5} gives multiples of 5 below 100." HS__GEN_DOC);

static const hs_tool_param hs__p_custom[] = {
    {"func", HS_P_FUNC, NULL,
     "a unary function (built-in name or \"lua: ...\") applied to the timestamp in seconds"},
    HS__END_PARAMS,
};
const hs_tool_def hs_tool_custom = {
    .name = "custom",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 0,
    .max_sources = 0,
    .alignment = true,
    .summary = "Emits func(timestamp) at the alignment timestamps",
    .doc = "For each timestamp t of the alignment stream in the job interval, emits "
           "func applied to t as epoch seconds (a float, e.g. 1461873600.5); functions that "
           "take timestamps also receive t itself. func is a unary function: a built-in one "
           "(identity, abs, sqrt, exp, log, floor, round, ...) "
           "or a user function (\"lua: ...\") where available. A function that does not apply "
           "to a value is warned about and that timestamp is skipped. Parameter: func "
           "(required). Example: custom {func: floor} gives the whole epoch second of each "
           "tick. Differences from HyperStream: its custom(func, seed) passed a datetime and "
           "seeded Python's global generator; here func receives epoch seconds and there is "
           "no seed, since a user function must be deterministic for recomputation to give "
           "the same values.",
    .params = hs__p_custom,
    .check_param = hs_func_check_unary,
    .init = hs__init_custom,
    .run = hs__gen_run,
    .fini = hs__gen_fini,
};
