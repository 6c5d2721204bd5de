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

/*
 * The monotonic time of the next run after one at wall clock now_us and
 * monotonic clock mono_us: the first moment after it at which
 * now + window.end falls on a multiple of every on the wall clock, so that
 * every interval ends on the grid of every-long windows (a window ending at
 * T is computed at T - window.end, not up to a period later). Aligned to
 * the wall clock, runs do not drift; after a stall the next one is the next
 * point of the grid (the missed ones are not replayed).
 */
static int64_t next_due(const online_cfg *cfg, int64_t now_us, int64_t mono_us)
{
    int64_t end = add_sat(now_us, cfg->window_end_us);
    int64_t every = cfg->every_us;
    int64_t rem = end % every;
    if (rem < 0)
        rem += every;
    /* The wait until end + wait is the next multiple of every after end: in (0, every]. */
    return add_sat(mono_us, every - rem);
}

online_verdict online_tick(online_state *st, const online_cfg *cfg, int64_t now_us, int64_t mono_us,
                           hs_interval *iv)
{
    if (cfg->every_us <= 0 || mono_us < st->next_run_mono_us)
        return ONLINE_WAIT;
    st->next_run_mono_us = next_due(cfg, now_us, mono_us);
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
