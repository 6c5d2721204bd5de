/*
 * The threshold tool: alerts when a value crosses above `high` and when it
 * comes back below `low` (hysteresis), once per crossing.
 *
 * The state at any instant is decided by the last "decisive" value before
 * it: a value above high sets the state high, a value below low sets it
 * normal, values in [low, high] change nothing. So the state at the start
 * of a job is found by reading back to the last decisive value, and the
 * output does not depend on how an interval is cut into jobs.
 */
#include "iot.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <math.h>
#include <string.h>

typedef struct hs__thr {
    double high, low;
    int64_t lookback; /* < 0: no bound */
    const char *key;
    size_t klen;
    hs_buf out;
} hs__thr;

static void hs__thr_fini(void *state)
{
    hs__thr *s = state;
    if (s != NULL)
        hs_buf_free(&s->out);
}

static int hs__thr_init(hs_tool_ctx *ctx, void **state)
{
    hs__thr *s = hs_arena_alloc(hs_tool_arena(ctx), sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    hs_buf_init(&s->out, 0);
    *state = s;
    int rc = hs_tool_param_double(ctx, "high", &s->high);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "threshold needs parameter 'high'");
    if (rc != HS_OK)
        return rc;
    s->low = s->high;
    if ((rc = hs_tool_param_double(ctx, "low", &s->low)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if (isnan(s->high) || isnan(s->low) || s->low > s->high)
        return hs_tool_fail(ctx, "threshold needs low <= high (got low %g, high %g)", s->low,
                            s->high);
    s->lookback = -1;
    if ((rc = hs_tool_param_duration(ctx, "lookback", &s->lookback)) == HS_OK) {
        if (s->lookback < 0)
            return hs_tool_fail(ctx, "parameter 'lookback' must not be negative");
    } else if (rc != HS_ERR_NOTFOUND) {
        return rc;
    }
    return hs_iot_param_key(ctx, "key", &s->key, &s->klen);
}

/* A value that decides the state: above high or below low. */
static bool hs__thr_decisive(void *ud, int64_t t, const uint8_t *v, size_t len)
{
    (void)t;
    hs__thr *s = ud;
    double d;
    return hs_iot_number(v, len, s->key, s->klen, &d) && (d > s->high || d < s->low);
}

static int hs__thr_emit(hs_tool_ctx *ctx, hs__thr *s, int64_t t, bool high, const uint8_t *fv,
                        size_t fl)
{
    hs_buf_reset(&s->out);
    int rc = hs_mp_put_map(&s->out, 2);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&s->out, "state");
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&s->out, high ? "high" : "normal");
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&s->out, "value");
    if (rc == HS_OK)
        rc = hs_mp_put_raw(&s->out, fv, fl);
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, s->out.data, s->out.len);
}

/* The run of a job: the tool's state and the current state of the stream. */
typedef struct hs__thr_run_ctx {
    hs_tool_ctx *ctx;
    hs__thr *s;
    bool high;
} hs__thr_run_ctx;

static int hs__thr_step(void *ud, int64_t t, const uint8_t *p, size_t len)
{
    hs__thr_run_ctx *c = ud;
    hs__thr *s = c->s;
    const uint8_t *fv;
    size_t fl;
    double v;
    if (!hs_iot_field(p, len, s->key, s->klen, &fv, &fl) || !hs_iot_number(fv, fl, NULL, 0, &v)) {
        hs_tool_warn(c->ctx, "threshold: the value at %lld is not a number%s; skipped",
                     (long long)t, s->key ? " (or lacks the key)" : "");
        return HS_OK;
    }
    bool next = c->high ? !(v < s->low) : v > s->high;
    if (next != c->high) {
        int rc = hs__thr_emit(c->ctx, s, t, next, fv, fl);
        if (rc != HS_OK)
            return rc;
    }
    c->high = next;
    return HS_OK;
}

static int hs__thr_run(hs_tool_ctx *ctx, void *state)
{
    hs__thr *s = state;
    hs_interval iv = hs_tool_interval(ctx);
    int64_t td;
    int64_t floor = s->lookback < 0 ? HS_TIME_MIN - 1 : hs_iot_time_add(iv.start, -s->lookback - 1);
    double d = 0;
    int found = hs_iot_find_last_number(ctx, 0, iv.start, floor, s->key, s->klen, hs__thr_decisive,
                                        s, &td, &d);
    if (found < 0)
        return found;
    hs__thr_run_ctx c = {ctx, s, found == 1 && d > s->high};
    return hs_tu_each(ctx, 0, iv, hs__thr_step, &c);
}

static const hs_tool_param hs__thr_params[] = {
    {"high", HS_P_NUMBER, NULL, "the state turns high when a value is above this"},
    {"low", HS_P_NUMBER, "null",
     "the state turns normal when a value is below this (default high)"},
    {"key", HS_P_STRING, "null", "use value[key] of map values"},
    {"lookback", HS_P_DURATION, "null",
     "how far back to look for the state before a job (default: no bound)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_threshold = {
    .name = "threshold",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Alerts when a value crosses above high and back below low (hysteresis)",
    .doc = "Tracks a state, normal or high, through the numeric values (or value[key]) of "
           "the source: a value above high makes it high, a value below low (default: high) "
           "makes it normal, values in between keep it. At each change, and only then, "
           "emits {\"state\": \"high\" or \"normal\", \"value\": v} at the instant of the "
           "value that changed it (v as stored). The state before the first value of the "
           "stream is normal, so a stream that starts above high alerts at once. The state "
           "at the start of a job comes from the last value above high or below low before "
           "it, read back however far it lies, so the alerts do not depend on job cuts; "
           "lookback bounds that read (the state is taken as normal when no such value lies "
           "within lookback), which trades exactness for bounded reads on streams that stay "
           "between low and high for long. Non-numeric values are skipped with a warning. "
           "Parameters: high (required), low, key, lookback. Example: {high: 30, low: 28, "
           "key: temp} alerts once when the temperature passes 30 and once when it is back "
           "below 28, however long it hovers around 30. Not a HyperStream tool.",
    .params = hs__thr_params,
    .init = hs__thr_init,
    .run = hs__thr_run,
    .fini = hs__thr_fini,
};
