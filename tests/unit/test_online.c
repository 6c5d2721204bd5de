/*
 * Tests of the scheduler's online engine (services/scheduler/online.c): the
 * first run, contiguous runs, a restart from a stored last_end, the wall
 * clock stepping back and forward, a stall of many periods, windows ending
 * in the past and in the future, a failed request, and 1,000 runs at
 * every=1s with an irregular loop, checked for contiguity, no overlap, no
 * missed run and no drift.
 */
#include "test_suites.h"

#include "online.h"

#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <stdint.h>

#define S (HS_US_PER_S)
/* A wall clock in 2023 and a monotonic clock some time after boot. */
#define WALL0 (1700000000LL * S)
#define MONO0 (12345LL * S)

static const online_cfg CFG_10S = {10 * S, -60 * S, -10 * S};

static void test_first_run(void)
{
    online_state st = {0};
    hs_interval iv = {0, 0};
    CU_ASSERT_EQUAL(online_tick(&st, &CFG_10S, WALL0, MONO0, &iv), ONLINE_RUN);
    CU_ASSERT_EQUAL(iv.start, WALL0 - 60 * S);
    CU_ASSERT_EQUAL(iv.end, WALL0 - 10 * S);
    CU_ASSERT_EQUAL(st.next_run_mono_us, MONO0 + 10 * S);
    /* Nothing is recorded before the caller reports the run. */
    CU_ASSERT_EQUAL(st.last_end_us, 0);
    online_ran(&st, iv);
    CU_ASSERT_EQUAL(st.last_end_us, WALL0 - 10 * S);
    /* Not due again before a period. */
    hs_interval untouched = {-1, -1};
    CU_ASSERT_EQUAL(online_tick(&st, &CFG_10S, WALL0 + 9 * S, MONO0 + 10 * S - 1, &untouched),
                    ONLINE_WAIT);
    CU_ASSERT_EQUAL(untouched.start, -1);
    CU_ASSERT_EQUAL(st.next_run_mono_us, MONO0 + 10 * S);
    /* A period of <= 0 is never due. */
    online_state z = {0};
    online_cfg never = {0, -60 * S, -10 * S};
    CU_ASSERT_EQUAL(online_tick(&z, &never, WALL0, MONO0, &iv), ONLINE_WAIT);
}

static void test_contiguous_runs(void)
{
    online_state st = {0};
    hs_interval iv, prev = {0, 0};
    for (int k = 0; k < 5; k++) {
        /* Each run comes 30 ms after it is due (loop latency). */
        int64_t mono = MONO0 + k * 10 * S + 30000;
        int64_t wall = WALL0 + k * 10 * S + 30000;
        CU_ASSERT_EQUAL_FATAL(online_tick(&st, &CFG_10S, wall, mono, &iv), ONLINE_RUN);
        if (k > 0)
            CU_ASSERT_EQUAL(iv.start, prev.end);
        CU_ASSERT_EQUAL(iv.end, wall - 10 * S);
        online_ran(&st, iv);
        prev = iv;
        /*
         * The next run is due on the grid of the wall clock where now - 10 s
         * (the window's end) is a multiple of 10 s: not 10 s after this late one.
         */
        CU_ASSERT_EQUAL(st.next_run_mono_us, MONO0 + (k + 1) * 10 * S);
    }
}

static void test_restart_with_last_end(void)
{
    /* A scheduler restarts 25 s after its last interval ended; state loaded, next run at once. */
    int64_t stored = WALL0 - 10 * S - 25 * S;
    online_state st = {stored, 0};
    hs_interval iv;
    CU_ASSERT_EQUAL(online_tick(&st, &CFG_10S, WALL0, 1000, &iv), ONLINE_RUN);
    CU_ASSERT_EQUAL(iv.start, stored);
    CU_ASSERT_EQUAL(iv.end, WALL0 - 10 * S);
    /* A restart before a period has passed requests only what is new (no overlap). */
    online_state again = {iv.end, 0};
    hs_interval iv2;
    CU_ASSERT_EQUAL(online_tick(&again, &CFG_10S, WALL0 + 2 * S, 50, &iv2), ONLINE_RUN);
    CU_ASSERT_EQUAL(iv2.start, iv.end);
    CU_ASSERT_EQUAL(iv2.end, WALL0 - 8 * S);
}

static void test_clock_backwards(void)
{
    online_state st = {0};
    hs_interval iv;
    CU_ASSERT_EQUAL(online_tick(&st, &CFG_10S, WALL0, MONO0, &iv), ONLINE_RUN);
    online_ran(&st, iv);
    int64_t end = iv.end;
    /* The wall clock steps back one minute; the monotonic one goes on. */
    int64_t step = 60 * S;
    int skipped = 0, k = 1;
    for (;; k++) {
        int64_t mono = MONO0 + k * 10 * S;
        int64_t wall = WALL0 - step + k * 10 * S;
        hs_interval got = {-1, -1};
        online_verdict v = online_tick(&st, &CFG_10S, wall, mono, &got);
        if (v == ONLINE_SKIP) {
            CU_ASSERT_EQUAL(got.start, -1); /* no interval given */
            CU_ASSERT_EQUAL(st.last_end_us, end);
            CU_ASSERT_EQUAL(st.next_run_mono_us, mono + 10 * S);
            skipped++;
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(v, ONLINE_RUN);
        /* Resumes where it stopped, once now + window end has passed it. */
        CU_ASSERT_EQUAL(got.start, end);
        CU_ASSERT_TRUE(got.end > got.start);
        CU_ASSERT_EQUAL(got.end, wall - 10 * S);
        break;
    }
    /* wall - 10 s > end first at k = 7 (one minute back, 10 s a period). */
    CU_ASSERT_EQUAL(skipped, 6);
    CU_ASSERT_EQUAL(k, 7);
    /* A clock step forward: one interval up to the new now, still contiguous. */
    online_state f = {WALL0 - 10 * S, MONO0};
    CU_ASSERT_EQUAL(online_tick(&f, &CFG_10S, WALL0 + 3600 * S, MONO0, &iv), ONLINE_RUN);
    CU_ASSERT_EQUAL(iv.start, WALL0 - 10 * S);
    CU_ASSERT_EQUAL(iv.end, WALL0 + 3590 * S);
}

static void test_long_stall(void)
{
    online_cfg cfg = {1 * S, -5 * S, -1 * S};
    online_state st = {0};
    hs_interval iv;
    CU_ASSERT_EQUAL(online_tick(&st, &cfg, WALL0, MONO0, &iv), ONLINE_RUN);
    online_ran(&st, iv);
    int64_t end = iv.end;
    /* The loop stalls for 1000 periods and a half. */
    int64_t late = 1000 * S + S / 2;
    CU_ASSERT_EQUAL(online_tick(&st, &cfg, WALL0 + late, MONO0 + late, &iv), ONLINE_RUN);
    /* One catch-up interval over everything missed. */
    CU_ASSERT_EQUAL(iv.start, end);
    CU_ASSERT_EQUAL(iv.end, WALL0 + late - 1 * S);
    online_ran(&st, iv);
    /* The missed runs are not replayed: the next one is the next point of the grid, half a period
     * on. */
    hs_interval none;
    CU_ASSERT_EQUAL(online_tick(&st, &cfg, WALL0 + late + 1, MONO0 + late + 1, &none), ONLINE_WAIT);
    CU_ASSERT_EQUAL(st.next_run_mono_us, MONO0 + late + S / 2);
    hs_interval next;
    CU_ASSERT_EQUAL(online_tick(&st, &cfg, WALL0 + late + S / 2, MONO0 + late + S / 2, &next),
                    ONLINE_RUN);
    CU_ASSERT_EQUAL(next.start, iv.end);
    CU_ASSERT_EQUAL(next.end - next.start, S / 2);
    /* ... and it ends on the grid: a multiple of the period. */
    CU_ASSERT_EQUAL(next.end % S, 0);
    online_ran(&st, next);
    CU_ASSERT_EQUAL(st.next_run_mono_us, MONO0 + late + S / 2 + S);
}

static void test_window_past_and_future(void)
{
    /* Ending an hour in the past. */
    online_cfg past = {60 * S, -2 * 3600 * S, -3600 * S};
    online_state st = {0};
    hs_interval iv;
    CU_ASSERT_EQUAL(online_tick(&st, &past, WALL0, MONO0, &iv), ONLINE_RUN);
    CU_ASSERT_EQUAL(iv.start, WALL0 - 2 * 3600 * S);
    CU_ASSERT_EQUAL(iv.end, WALL0 - 3600 * S);
    online_ran(&st, iv);
    CU_ASSERT_EQUAL(online_tick(&st, &past, WALL0 + 60 * S, MONO0 + 60 * S, &iv), ONLINE_RUN);
    CU_ASSERT_EQUAL(iv.start, WALL0 - 3600 * S);
    CU_ASSERT_EQUAL(iv.end, WALL0 + 60 * S - 3600 * S);

    /* Ending 30 s in the future (the engine allows it; workflows refuse it). */
    online_cfg future = {1 * S, -5 * S, 30 * S};
    online_state f = {0};
    CU_ASSERT_EQUAL(online_tick(&f, &future, WALL0, MONO0, &iv), ONLINE_RUN);
    CU_ASSERT_EQUAL(iv.start, WALL0 - 5 * S);
    CU_ASSERT_EQUAL(iv.end, WALL0 + 30 * S);
    online_ran(&f, iv);
    hs_interval iv2;
    CU_ASSERT_EQUAL(online_tick(&f, &future, WALL0 + S, MONO0 + S, &iv2), ONLINE_RUN);
    CU_ASSERT_EQUAL(iv2.start, WALL0 + 30 * S);
    CU_ASSERT_EQUAL(iv2.end, WALL0 + 31 * S);
    online_ran(&f, iv2);

    /* A replaced definition whose window moved back skips until it catches up. */
    online_cfg back = {1 * S, -60 * S, -20 * S};
    CU_ASSERT_EQUAL(online_tick(&f, &back, WALL0 + 2 * S, MONO0 + 2 * S, &iv), ONLINE_SKIP);
    CU_ASSERT_EQUAL(f.last_end_us, WALL0 + 31 * S);
}

static void test_failed_request(void)
{
    online_state st = {0};
    hs_interval a, b;
    CU_ASSERT_EQUAL(online_tick(&st, &CFG_10S, WALL0, MONO0, &a), ONLINE_RUN);
    online_ran(&st, a);
    /* The next request cannot be made: online_ran is not called. */
    CU_ASSERT_EQUAL(online_tick(&st, &CFG_10S, WALL0 + 10 * S, MONO0 + 10 * S, &b), ONLINE_RUN);
    CU_ASSERT_EQUAL(b.start, a.end);
    /* The one after covers both periods. */
    CU_ASSERT_EQUAL(online_tick(&st, &CFG_10S, WALL0 + 20 * S, MONO0 + 20 * S, &b), ONLINE_RUN);
    CU_ASSERT_EQUAL(b.start, a.end);
    CU_ASSERT_EQUAL(b.end, WALL0 + 10 * S);
    online_ran(&st, b);
    /* Reporting an older run does not move last_end back. */
    online_ran(&st, a);
    CU_ASSERT_EQUAL(st.last_end_us, b.end);
}

/*
 * Runs are placed on the wall clock: whatever the phase of the first run,
 * every later interval ends on a multiple of the period (window end -2 s:
 * runs at 2 s past each 10 s), so a 10-s window ending at T is computed
 * at T + 2 s, not up to 10 s later.
 */
static void test_aligned_to_windows(void)
{
    online_cfg cfg = {10 * S, -20 * S, -2 * S};
    online_state st = {0};
    hs_interval iv;
    int64_t wall = WALL0 + 7 * S + 123456, mono = MONO0; /* an arbitrary phase */
    CU_ASSERT_EQUAL(online_tick(&st, &cfg, wall, mono, &iv), ONLINE_RUN);
    CU_ASSERT_EQUAL(iv.end, wall - 2 * S);
    online_ran(&st, iv);
    /* Next: when now - 2 s reaches WALL0 + 10 s, i.e. 4.876544 s later. */
    CU_ASSERT_EQUAL(st.next_run_mono_us, mono + 10 * S - (5 * S + 123456));
    for (int k = 0; k < 5; k++) {
        int64_t at = st.next_run_mono_us;
        int64_t w = wall + (at - mono);
        CU_ASSERT_EQUAL_FATAL(online_tick(&st, &cfg, w, at, &iv), ONLINE_RUN);
        CU_ASSERT_EQUAL(iv.end % (10 * S), 0);
        CU_ASSERT_EQUAL(iv.end, WALL0 + (k + 1) * 10 * S);
        online_ran(&st, iv);
    }
}

static void test_thousand_runs(void)
{
    online_cfg cfg = {1 * S, -5 * S, -1 * S};
    online_state st = {0};
    /* A loop that wakes up every 1 to 200 ms (a fixed pseudo-random sequence). */
    uint32_t seed = 12345;
    int64_t mono = MONO0, wall = WALL0, max_step = 0;
    hs_interval first = {0, 0}, prev = {0, 0};
    int64_t first_mono = 0;
    size_t runs = 0, overlaps = 0, gaps = 0, empty = 0, off_grid = 0;
    while (runs < 1000) {
        hs_interval iv;
        online_verdict v = online_tick(&st, &cfg, wall, mono, &iv);
        CU_ASSERT_NOT_EQUAL(v, ONLINE_SKIP);
        if (v == ONLINE_RUN) {
            if (runs == 0) {
                first = iv;
                first_mono = mono;
            } else {
                overlaps += iv.start < prev.end;
                gaps += iv.start > prev.end;
            }
            empty += iv.start >= iv.end;
            /* Run k happens after k periods from the first, within one loop step. */
            int64_t due = first_mono + (int64_t)runs * S;
            off_grid += mono < due || mono >= due + 201000;
            online_ran(&st, iv);
            prev = iv;
            runs++;
        }
        seed = seed * 1103515245u + 12345u;
        int64_t step = 1000 + (int64_t)((seed >> 8) % 200000);
        max_step = step > max_step ? step : max_step;
        mono += step;
        wall += step;
    }
    CU_ASSERT_EQUAL(overlaps, 0);
    CU_ASSERT_EQUAL(gaps, 0);
    CU_ASSERT_EQUAL(empty, 0);
    CU_ASSERT_EQUAL(off_grid, 0);
    CU_ASSERT_TRUE(max_step > 150000); /* the loop was irregular */
    /* 1000 contiguous intervals cover (first start, wall clock at the last run - 1 s]. */
    CU_ASSERT_EQUAL(first.start, WALL0 - 5 * S);
    int64_t last_wall = prev.end + S;
    CU_ASSERT_TRUE(last_wall - WALL0 >= 999 * S && last_wall - WALL0 < 999 * S + 201000);
}

HS_TEST_INIT(online)
{
    HS_TEST_SUITE_BEGIN("online");
    HS_TEST(test_first_run);
    HS_TEST(test_contiguous_runs);
    HS_TEST(test_restart_with_last_end);
    HS_TEST(test_clock_backwards);
    HS_TEST(test_long_stall);
    HS_TEST(test_window_past_and_future);
    HS_TEST(test_failed_request);
    HS_TEST(test_thousand_runs);
    HS_TEST(test_aligned_to_windows);
    return 0;
}
