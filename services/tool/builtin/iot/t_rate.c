/*
 * The rate and derivative tools (one implementation, two names): the change
 * per unit of time between consecutive numeric instances. The instance
 * before the first one of a job is read back, however far before the job
 * it lies, so output does not depend on job cuts.
 */
#include "iot.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_time.h"

#include <string.h>

typedef struct hs__rate {
    int64_t unit; /* microseconds per unit of the result's denominator */
    bool counter;
    const char *key;
    size_t klen;
} hs__rate;

static int hs__rate_init(hs_tool_ctx *ctx, void **state)
{
    hs__rate *s = hs_arena_alloc(hs_tool_arena(ctx), sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    *state = s;
    s->unit = HS_US_PER_S;
    int rc = hs_tool_param_duration(ctx, "unit", &s->unit);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if (s->unit <= 0)
        return hs_tool_fail(ctx, "parameter 'unit' must be a positive duration");
    rc = hs_tool_param_bool(ctx, "counter", &s->counter);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    return hs_iot_param_key(ctx, "key", &s->key, &s->klen);
}

/* The run of a job: the tool's state and the last numeric instance so far. */
typedef struct hs__rate_job {
    hs_tool_ctx *ctx;
    const hs__rate *s;
    bool have; /* (tp, vp) holds the last numeric instance */
    int64_t tp;
    double vp;
} hs__rate_job;

static int hs__rate_step(void *ud, int64_t t, const uint8_t *p, size_t len)
{
    hs__rate_job *c = ud;
    const hs__rate *s = c->s;
    double v;
    if (!hs_iot_number(p, len, s->key, s->klen, &v)) {
        hs_tool_warn(c->ctx, "the value at %lld is not a number%s; skipped", (long long)t,
                     s->key ? " (or lacks the key)" : "");
        return HS_OK;
    }
    if (c->have) {
        double dv = v - c->vp;
        if (s->counter && dv < 0)
            dv = v; /* a reset: the counter restarted from 0 */
        int rc = hs_tool_emit_double(c->ctx, t, dv * ((double)s->unit / (double)(t - c->tp)));
        if (rc != HS_OK)
            return rc;
    }
    c->have = true;
    c->tp = t;
    c->vp = v;
    return HS_OK;
}

static int hs__rate_run(hs_tool_ctx *ctx, void *state)
{
    const hs__rate *s = state;
    hs_interval iv = hs_tool_interval(ctx);
    hs__rate_job c = {ctx, s, false, 0, 0};
    int have = hs_iot_find_last_number(ctx, 0, iv.start, HS_TIME_MIN - 1, s->key, s->klen, NULL,
                                       NULL, &c.tp, &c.vp);
    if (have < 0)
        return have;
    c.have = have == 1;
    return hs_tu_each(ctx, 0, iv, hs__rate_step, &c);
}

static const hs_tool_param hs__rate_params[] = {
    {"unit", HS_P_DURATION, "\"1s\"", "the time unit of the result (per second by default)"},
    {"counter", HS_P_BOOL, "false",
     "the values are a counter: a drop is a reset (the increase is the new value)"},
    {"key", HS_P_STRING, "null", "use value[key] of map values"},
    {NULL, HS_P_ANY, NULL, NULL},
};

#define HS__RATE_DOC                                                                               \
    "For each numeric instance (t_i, v_i) in the job interval that has a numeric "                 \
    "predecessor (t_{i-1}, v_{i-1}), emits (t_i, (v_i - v_{i-1}) / ((t_i - t_{i-1}) / unit)) "     \
    "as a float64: the change per second by default, per minute with unit 1m. The "                \
    "predecessor is read back before the job however far it lies, so results do not "              \
    "depend on job cuts; the first numeric instance of the stream has no output. With "            \
    "counter: true the values are a monotonic counter (as Prometheus' rate): a drop means "        \
    "the counter was reset to 0, so the increase is v_i itself, never negative. Values "           \
    "that are not numbers (or lack key) are skipped with a warning and do not break the "          \
    "sequence. Parameters: unit (default 1s), counter (default false), key. Example: an "          \
    "energy meter in kWh every 15 minutes with {unit: 1h, counter: true} gives the power "         \
    "in kW. Not a HyperStream tool."

const hs_tool_def hs_tool_rate = {
    .name = "rate",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Change per unit of time between consecutive numeric values (counter resets "
               "optional)",
    .doc = HS__RATE_DOC " rate and derivative are the same tool under two names.",
    .params = hs__rate_params,
    .init = hs__rate_init,
    .run = hs__rate_run,
};

const hs_tool_def hs_tool_derivative = {
    .name = "derivative",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Derivative: change per unit of time between consecutive numeric values",
    .doc = HS__RATE_DOC " derivative and rate are the same tool under two names.",
    .params = hs__rate_params,
    .init = hs__rate_init,
    .run = hs__rate_run,
};
