/*
 * The online engine: when an online workflow runs and over which interval.
 * Pure: no broker, no store; the caller passes both clocks and does the side
 * effects (the request, its progress, storing last_end in docs/online/<id>).
 *
 * Rules (docs/ARCHITECTURE.md, "Execution protocol"):
 * - The first run is at once (next_run_mono_us 0). The others keep to a
 *   grid of every_us on the wall clock, placed so that each interval ends
 *   on a multiple of every_us (now + window.end is one): a window of the
 *   workflow's period ending at T is computed at T - window.end, not up to
 *   a period later, and the loop's latency does not make runs drift. After
 *   a stall of one period or more the missed runs are not replayed one by
 *   one: one run at once, the next at the next point of the grid. The wait
 *   is kept on the monotonic clock (next_run_mono_us).
 * - A run's interval is (last_end, now + window.end], the first one (never
 *   run: last_end 0) from now + window.start. Each starts where the last one
 *   requested ended, also after a restart (the caller loads last_end from
 *   docs/online/<id>) and after a stall: then one catch-up interval covers
 *   everything missed, up to now + window.end (the planner cuts it at the
 *   job span).
 * - No interval is empty or runs backwards: when now + window.end is not
 *   after last_end (the wall clock stepped back, or a replaced definition
 *   moved its window back), the run is skipped (ONLINE_SKIP) and runs
 *   resume, contiguous, once the clock has passed last_end again. Nothing
 *   requested is requested again.
 * - last_end moves only when the caller reports the run made (online_ran):
 *   a run whose request could not be made is covered by the next one.
 */
#ifndef HS_SCHED_ONLINE_H
#define HS_SCHED_ONLINE_H

#include "hs_interval.h"

#include <stdint.h>

/* A workflow's online settings (hs_workflow: every_us, window). */
typedef struct online_cfg {
    int64_t every_us;        /* period; <= 0: never due */
    int64_t window_start_us; /* first interval's start, relative to the wall clock */
    int64_t window_end_us;   /* every interval's end, relative to the wall clock */
} online_cfg;

/* A workflow's online state; all zero: never run, due at once. */
typedef struct online_state {
    int64_t last_end_us;      /* wall clock: end of the last interval requested; 0 never */
    int64_t next_run_mono_us; /* monotonic: when the next run is due; 0 at once */
} online_state;

typedef enum online_verdict {
    ONLINE_WAIT, /* not due yet */
    ONLINE_RUN,  /* due: request *iv, then report it with online_ran */
    ONLINE_SKIP, /* due, but the window's end is not after last_end: nothing to request */
} online_verdict;

/*
 * Decides at wall clock now_us and monotonic clock mono_us whether the
 * workflow runs. When due (ONLINE_RUN or ONLINE_SKIP) the next run is
 * scheduled in st; with ONLINE_RUN, *iv receives a non-empty interval
 * starting at st->last_end_us (or now_us + window_start_us when never run).
 * *iv is left alone otherwise.
 */
online_verdict online_tick(online_state *st, const online_cfg *cfg, int64_t now_us, int64_t mono_us,
                           hs_interval *iv);

/* Records that the interval iv of a run was requested: the next one starts at its end. */
void online_ran(online_state *st, hs_interval iv);

#endif
