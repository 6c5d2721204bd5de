/*
 * Tests of the scheduler's job table (services/scheduler/jobtab.c): state
 * changes and counts, dispatch order (re-queued jobs at their place), the
 * deadline heap and retries up to max attempts, the last attempt running
 * alone, lookups by id and unit, and 200,000 jobs through every operation
 * with the table's step counter showing that no operation walks them all.
 */
#include "test_suites.h"

#include "jobtab.h"

#include "hs_alloc.h"
#include "hs_error.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

static jobtab_job *make(jobtab *jt, jobtab_job *j, const char *group, size_t f, size_t u, int64_t a,
                        int64_t b)
{
    char id[48];
    snprintf(id, sizeof id, "%s-%zu-%zu-%lld", group, f, u, (long long)a);
    hs_interval iv = {a, b};
    CU_ASSERT_EQUAL(jobtab_add(jt, j, id, group, f, u, iv), HS_OK);
    return j;
}

/* The queued jobs' sequence numbers in dispatch order, as "1 2 3". */
static const char *queue_text(jobtab *jt, const jobtab_job *base)
{
    static char buf[512];
    size_t used = 0;
    buf[0] = '\0';
    jobtab_iter it;
    for (jobtab_job *j = jobtab_queue_first(jt, &it); j != NULL && used < sizeof buf;
         j = jobtab_queue_next(&it)) {
        int w = snprintf(buf + used, sizeof buf - used, "%s%ld", used ? " " : "", (long)(j - base));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

static void test_states_and_order(void)
{
    jobtab *jt;
    CU_ASSERT_EQUAL_FATAL(jobtab_create(&jt), HS_OK);
    jobtab_job j[5];
    for (int i = 0; i < 5; i++)
        make(jt, &j[i], "wf", 0, (size_t)i % 2, i * 10, i * 10 + 10);
    CU_ASSERT_EQUAL(jobtab_count(jt, -1), 5);
    CU_ASSERT_EQUAL(jobtab_count(jt, JOBTAB_QUEUED), 5);
    CU_ASSERT_STRING_EQUAL(queue_text(jt, j), "0 1 2 3 4");
    /* A duplicate id is refused. */
    jobtab_job dup;
    CU_ASSERT_EQUAL(jobtab_add(jt, &dup, j[2].id, "wf", 0, 0, j[2].iv), HS_ERR_EXISTS);
    /* Dispatch 0, 1, 3; 0 done, 1 fails; 3 times out and is queued again at its place. */
    jobtab_set_state(jt, &j[0], JOBTAB_DISPATCHED, 100);
    jobtab_set_state(jt, &j[1], JOBTAB_DISPATCHED, 50);
    jobtab_set_state(jt, &j[3], JOBTAB_DISPATCHED, 70);
    CU_ASSERT_STRING_EQUAL(queue_text(jt, j), "2 4");
    CU_ASSERT_EQUAL(jobtab_count(jt, JOBTAB_DISPATCHED), 3);
    CU_ASSERT_PTR_NULL(jobtab_expired(jt, 49));
    CU_ASSERT_PTR_EQUAL(jobtab_expired(jt, 50), &j[1]);
    jobtab_set_state(jt, &j[1], JOBTAB_FAILED, 0);
    CU_ASSERT_PTR_EQUAL(jobtab_expired(jt, 80), &j[3]);
    jobtab_set_state(jt, &j[3], JOBTAB_QUEUED, 0);
    CU_ASSERT_PTR_NULL(jobtab_expired(jt, 80));
    CU_ASSERT_STRING_EQUAL(queue_text(jt, j), "2 3 4");
    jobtab_set_state(jt, &j[0], JOBTAB_DONE, 0);
    /* A failed job retried by a new request also takes its original place. */
    jobtab_set_state(jt, &j[1], JOBTAB_QUEUED, 0);
    CU_ASSERT_STRING_EQUAL(queue_text(jt, j), "1 2 3 4");
    CU_ASSERT_EQUAL(jobtab_count(jt, JOBTAB_DONE), 1);
    CU_ASSERT_EQUAL(jobtab_count(jt, JOBTAB_FAILED), 0);
    CU_ASSERT_EQUAL(jobtab_count(jt, JOBTAB_QUEUED), 4);
    CU_ASSERT_PTR_EQUAL(jobtab_state_first(jt, JOBTAB_DONE), &j[0]);
    CU_ASSERT_PTR_NULL(jobtab_next(&j[0]));
    /* Lookups. */
    CU_ASSERT_PTR_EQUAL(jobtab_find(jt, j[4].id), &j[4]);
    CU_ASSERT_PTR_NULL(jobtab_find(jt, "nope"));
    jobtab_job *u = jobtab_unit_first(jt, "wf", 0, 1);
    CU_ASSERT_PTR_EQUAL(u, &j[1]);
    CU_ASSERT_PTR_EQUAL(jobtab_unit_next(u), &j[3]);
    CU_ASSERT_PTR_NULL(jobtab_unit_next(jobtab_unit_next(u)));
    CU_ASSERT_PTR_NULL(jobtab_unit_first(jt, "other", 0, 1));
    /* Removal unlinks it everywhere. */
    jobtab_remove(jt, &j[1]);
    CU_ASSERT_PTR_NULL(jobtab_find(jt, j[1].id));
    CU_ASSERT_PTR_EQUAL(jobtab_unit_first(jt, "wf", 0, 1), &j[3]);
    CU_ASSERT_STRING_EQUAL(queue_text(jt, j), "2 3 4");
    CU_ASSERT_EQUAL(jobtab_count(jt, -1), 4);
    jobtab_destroy(jt);
}

/* Retries: a job times out, is queued again, and its last attempt runs alone. */
static void test_retries_and_alone(void)
{
    jobtab *jt;
    CU_ASSERT_EQUAL_FATAL(jobtab_create(&jt), HS_OK);
    jobtab_job a, b;
    make(jt, &a, "wf", 0, 0, 0, 10);
    make(jt, &b, "wf", 0, 1, 0, 10);
    const int64_t max_attempts = 3;
    int attempts = 0;
    /* First attempts go with others. */
    CU_ASSERT_EQUAL(jobtab_admit(jt, attempts, max_attempts), JOBTAB_GO);
    jobtab_set_state(jt, &a, JOBTAB_DISPATCHED, 10);
    attempts++;
    CU_ASSERT_EQUAL(jobtab_admit(jt, 0, max_attempts), JOBTAB_GO);
    jobtab_set_state(jt, &b, JOBTAB_DISPATCHED, 1000);
    CU_ASSERT_TRUE(jobtab_may_dispatch(jt, 3));
    CU_ASSERT_FALSE(jobtab_may_dispatch(jt, 2));
    /* a times out: attempt 2 is not the last one yet. */
    CU_ASSERT_PTR_EQUAL(jobtab_expired(jt, 10), &a);
    jobtab_set_state(jt, &a, JOBTAB_QUEUED, 0);
    CU_ASSERT_EQUAL(jobtab_admit(jt, attempts, max_attempts), JOBTAB_GO);
    jobtab_set_state(jt, &a, JOBTAB_DISPATCHED, 20);
    attempts++;
    CU_ASSERT_PTR_EQUAL(jobtab_expired(jt, 25), &a);
    jobtab_set_state(jt, &a, JOBTAB_QUEUED, 0);
    /* The last attempt: not while b runs; alone once nothing runs. */
    CU_ASSERT_EQUAL(jobtab_admit(jt, attempts, max_attempts), JOBTAB_STOP);
    jobtab_set_state(jt, &b, JOBTAB_DONE, 0);
    CU_ASSERT_EQUAL(jobtab_admit(jt, attempts, max_attempts), JOBTAB_GO_ALONE);
    jobtab_set_state(jt, &a, JOBTAB_DISPATCHED, 40);
    jobtab_set_alone(jt, &a);
    CU_ASSERT_TRUE(a.alone);
    /* While it runs alone nothing else goes. */
    CU_ASSERT_FALSE(jobtab_may_dispatch(jt, 16));
    CU_ASSERT_EQUAL(jobtab_admit(jt, 0, max_attempts), JOBTAB_STOP);
    /* It fails: the others may go again. */
    jobtab_set_state(jt, &a, JOBTAB_FAILED, 0);
    CU_ASSERT_FALSE(a.alone);
    CU_ASSERT_TRUE(jobtab_may_dispatch(jt, 16));
    CU_ASSERT_EQUAL(jobtab_admit(jt, 0, max_attempts), JOBTAB_GO);
    jobtab_destroy(jt);
}

/*
 * 200,000 jobs through every operation. The step counter counts list and
 * heap steps: each operation below stays within a small multiple of
 * log2(200,000) ~ 18 steps, so none walks the jobs.
 */
static void test_many_jobs(void)
{
    enum { N = 200000 };
    jobtab *jt;
    CU_ASSERT_EQUAL_FATAL(jobtab_create(&jt), HS_OK);
    jobtab_job *j = hs_calloc(N, sizeof *j);
    HS_REQUIRE(j);
    for (size_t i = 0; i < N; i++)
        make(jt, &j[i], "wf", i % 7, i % 1000, (int64_t)i * 10, (int64_t)i * 10 + 10);
    CU_ASSERT_EQUAL(jobtab_count(jt, -1), N);
    uint64_t before = jobtab_steps(jt);
    /* Dispatch the first 20,000 with deadlines in reverse order. */
    jobtab_iter it;
    jobtab_job *q = jobtab_queue_first(jt, &it);
    for (size_t i = 0; i < N / 10 && q != NULL; i++) {
        jobtab_job *next = jobtab_queue_next(&it);
        jobtab_set_state(jt, q, JOBTAB_DISPATCHED, (int64_t)(N - i));
        q = next;
    }
    CU_ASSERT_EQUAL(jobtab_count(jt, JOBTAB_DISPATCHED), N / 10);
    CU_ASSERT_TRUE((jobtab_steps(jt) - before) / (N / 10) <= 40);
    /* Every expired one comes out in deadline order; half are re-queued, half done. */
    before = jobtab_steps(jt);
    int64_t last = 0;
    size_t n = 0;
    bool ordered = true;
    jobtab_job *e;
    while ((e = jobtab_expired(jt, N)) != NULL) {
        ordered = ordered && e->deadline_us >= last;
        last = e->deadline_us;
        jobtab_set_state(jt, e, n % 2 ? JOBTAB_DONE : JOBTAB_QUEUED, 0);
        n++;
    }
    CU_ASSERT_TRUE(ordered);
    CU_ASSERT_EQUAL(n, N / 10);
    CU_ASSERT_EQUAL(jobtab_count(jt, JOBTAB_DONE), N / 20);
    CU_ASSERT_EQUAL(jobtab_count(jt, JOBTAB_QUEUED), N - N / 20);
    /*
     * A timed-out job queued again keeps its place: a heap removal
     * (~2 log n) and no walk.
     */
    CU_ASSERT_TRUE((jobtab_steps(jt) - before) / n <= 40);
    /* The dispatch order is the creation order again. */
    size_t k = 0;
    bool in_order = true;
    const jobtab_job *prev = NULL;
    for (q = jobtab_queue_first(jt, &it); q != NULL; q = jobtab_queue_next(&it), k++) {
        in_order = in_order && (prev == NULL || q->seq > prev->seq);
        prev = q;
    }
    CU_ASSERT_TRUE(in_order);
    CU_ASSERT_EQUAL(k, N - N / 20);
    /* Lookups by id and unit, and removal of every job, take no walk. */
    before = jobtab_steps(jt);
    CU_ASSERT_PTR_EQUAL(jobtab_find(jt, j[N - 1].id), &j[N - 1]);
    /* The jobs of unit (3, 10), counted independently. */
    size_t expect = 0;
    for (size_t i = 0; i < N; i++)
        expect += i % 7 == 3 && i % 1000 == 10;
    size_t in_unit = 0;
    for (q = jobtab_unit_first(jt, "wf", 3, 10); q != NULL; q = jobtab_unit_next(q)) {
        CU_ASSERT_TRUE(q->factor == 3 && q->unit == 10);
        in_unit++;
    }
    CU_ASSERT_EQUAL(in_unit, expect);
    CU_ASSERT_TRUE(expect > 0);
    for (size_t i = 0; i < N; i++)
        jobtab_remove(jt, &j[i]);
    CU_ASSERT_EQUAL(jobtab_count(jt, -1), 0);
    CU_ASSERT_TRUE(jobtab_steps(jt) - before <= (uint64_t)N / 10 * 40);
    hs_free(j);
    jobtab_destroy(jt);
}

HS_TEST_INIT(jobtab)
{
    HS_TEST_SUITE_BEGIN("jobtab");
    HS_TEST(test_states_and_order);
    HS_TEST(test_retries_and_alone);
    HS_TEST(test_many_jobs);
    return 0;
}
