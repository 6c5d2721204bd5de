#include "online.h"

#include <stddef.h>

/* a + b, held within int64_t (settings are parsed durations, but a clock may be anything). */
static int64_t add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* The next due time after a run due at due_mono_us that happens at mono_us. */
static int64_t next_due(int64_t due_mono_us, int64_t every_us, int64_t mono_us)
{
    int64_t next = add_sat(due_mono_us, every_us);
    /* Late by a period or more (a stall, or the first run): restart the grid from now. */
    if (next <= mono_us)
        next = add_sat(mono_us, every_us);
    return next;
}

online_verdict online_tick(online_state *st, const online_cfg *cfg, int64_t now_us, int64_t mono_us,
                           hs_interval *iv)
{
    if (cfg->every_us <= 0 || mono_us < st->next_run_mono_us)
        return ONLINE_WAIT;
    st->next_run_mono_us = next_due(st->next_run_mono_us, cfg->every_us, mono_us);
    hs_interval want = {st->last_end_us != 0 ? st->last_end_us
                                             : add_sat(now_us, cfg->window_start_us),
                        add_sat(now_us, cfg->window_end_us)};
    if (want.start >= want.end)
        return ONLINE_SKIP;
    *iv = want;
    return ONLINE_RUN;
}

void online_ran(online_state *st, hs_interval iv)
{
    if (iv.end > st->last_end_us)
        st->last_end_us = iv.end;
}
