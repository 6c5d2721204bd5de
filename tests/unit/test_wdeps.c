/*
 * Tests of the writer's dependency index and change ring
 * (services/writer/wdeps.h): what each sink reads and who reads a stream,
 * and the recent changes a committing job may have missed.
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "wdeps.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

/* The reader named sink of stream id, or NULL. */
static const wdeps_reader *reader_of(const wdeps *d, const char *id, const char *sink)
{
    size_t n = 99;
    const wdeps_reader *r = wdeps_readers(d, id, &n);
    const wdeps_reader *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].sink, sink) != 0)
            continue;
        CU_ASSERT_PTR_NULL(found); /* listed once */
        found = &r[i];
    }
    return found;
}

static size_t nreaders(const wdeps *d, const char *id)
{
    size_t n = 99;
    (void)wdeps_readers(d, id, &n);
    return n;
}

static void test_index(void)
{
    wdeps *d = NULL;
    CU_ASSERT_EQUAL_FATAL(wdeps_create(&d, 16), HS_OK);
    HS_REQUIRE(d);
    size_t n = 99;
    CU_ASSERT_PTR_NULL(wdeps_readers(d, "a", &n));
    CU_ASSERT_EQUAL(n, 0);
    const char *const *src = NULL;
    int64_t lb = -1;
    CU_ASSERT_FALSE(wdeps_of(d, "k1", &src, &n, &lb));

    const char *ab[2] = {"a", "b"};
    CU_ASSERT_EQUAL(wdeps_set(d, "k1", ab, 2, 10, 0), HS_OK);
    const wdeps_reader *r = reader_of(d, "a", "k1");
    HS_REQUIRE(r);
    CU_ASSERT_EQUAL(r->lookback_us, 10);
    CU_ASSERT_EQUAL(r->max_lateness_us, 0);
    CU_ASSERT_PTR_NOT_NULL(reader_of(d, "b", "k1"));
    CU_ASSERT_EQUAL(nreaders(d, "a"), 1);
    CU_ASSERT_EQUAL(nreaders(d, "k1"), 0);
    CU_ASSERT_TRUE(wdeps_of(d, "k1", &src, &n, &lb));
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(src[0], "a");
    CU_ASSERT_STRING_EQUAL(src[1], "b");
    CU_ASSERT_EQUAL(lb, 10);

    /* same: the sources as a set, the lookback and max_lateness exactly. */
    const char *ba[2] = {"b", "a"}, *a1[1] = {"a"}, *abc[3] = {"a", "b", "c"};
    const char *aab[3] = {"a", "a", "b"}, *aa[2] = {"a", "a"};
    CU_ASSERT_TRUE(wdeps_same(d, "k1", ab, 2, 10, 0));
    CU_ASSERT_TRUE(wdeps_same(d, "k1", ba, 2, 10, 0));
    CU_ASSERT_TRUE(wdeps_same(d, "k1", aab, 3, 10, 0));
    CU_ASSERT_FALSE(wdeps_same(d, "k1", a1, 1, 10, 0));
    CU_ASSERT_FALSE(wdeps_same(d, "k1", aa, 2, 10, 0));
    CU_ASSERT_FALSE(wdeps_same(d, "k1", abc, 3, 10, 0));
    CU_ASSERT_FALSE(wdeps_same(d, "k1", ab, 2, 11, 0));
    CU_ASSERT_FALSE(wdeps_same(d, "k1", ab, 2, 10, 5));
    CU_ASSERT_FALSE(wdeps_same(d, "k9", ab, 2, 10, 0));

    /* A source given twice is read once. */
    const char *aac[3] = {"a", "a", "c"};
    CU_ASSERT_EQUAL(wdeps_set(d, "k2", aac, 3, 0, 3600000000), HS_OK);
    CU_ASSERT_TRUE(wdeps_of(d, "k2", &src, &n, &lb));
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(nreaders(d, "a"), 2);
    r = reader_of(d, "a", "k2");
    HS_REQUIRE(r);
    CU_ASSERT_EQUAL(r->lookback_us, 0);
    CU_ASSERT_EQUAL(r->max_lateness_us, 3600000000);
    CU_ASSERT_TRUE(wdeps_same(d, "k2", aac, 3, 0, 3600000000));

    /* A sink that changes its sources stops reading the old ones. */
    const char *c1[1] = {"c"};
    CU_ASSERT_EQUAL(wdeps_set(d, "k1", c1, 1, 20, 0), HS_OK);
    CU_ASSERT_PTR_NULL(reader_of(d, "a", "k1"));
    CU_ASSERT_PTR_NOT_NULL(reader_of(d, "a", "k2"));
    CU_ASSERT_EQUAL(nreaders(d, "a"), 1);
    CU_ASSERT_EQUAL(nreaders(d, "b"), 0);
    r = reader_of(d, "c", "k1");
    HS_REQUIRE(r);
    CU_ASSERT_EQUAL(r->lookback_us, 20);
    CU_ASSERT_EQUAL(nreaders(d, "c"), 2);
    CU_ASSERT_FALSE(wdeps_same(d, "k1", ab, 2, 10, 0));
    CU_ASSERT_TRUE(wdeps_same(d, "k1", c1, 1, 20, 0));
    CU_ASSERT_TRUE(wdeps_of(d, "k1", &src, &n, &lb));
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(src[0], "c");

    /* No sources at all: known, read by nobody. */
    CU_ASSERT_EQUAL(wdeps_set(d, "k2", NULL, 0, 0, 0), HS_OK);
    CU_ASSERT_TRUE(wdeps_of(d, "k2", &src, &n, &lb));
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(nreaders(d, "a"), 0);
    CU_ASSERT_EQUAL(nreaders(d, "c"), 1);
    wdeps_destroy(d);
    wdeps_destroy(NULL);
}

/* What changes_since reported: the lo of each change and its stream. */
typedef struct seen {
    int64_t lo[4096], hi[4096];
    char id[4096][8];
    size_t n;
    size_t stop_at; /* return 7 at this call (0: never) */
} seen;

static int seen_add(void *ud, const char *id, int64_t lo_us, int64_t hi_us)
{
    seen *s = ud;
    if (s->n == 4096)
        return -1;
    snprintf(s->id[s->n], sizeof s->id[0], "%s", id);
    s->lo[s->n] = lo_us;
    s->hi[s->n] = hi_us;
    s->n++;
    return s->stop_at != 0 && s->n == s->stop_at ? 7 : 0;
}

/* Runs changes_since into a fresh s and returns its result. */
static int since(const wdeps *d, uint64_t after, const char *const *src, size_t n, int64_t start,
                 int64_t end, seen *s, bool *complete)
{
    s->n = 0;
    *complete = !*complete; /* must be set either way */
    return wdeps_changes_since(d, after, src, n, (hs_interval){start, end}, seen_add, s, complete);
}

static void test_ring_filters(void)
{
    static seen s;
    wdeps *d = NULL;
    CU_ASSERT_EQUAL_FATAL(wdeps_create(&d, 16), HS_OK);
    HS_REQUIRE(d);
    const char *ab[2] = {"a", "b"};
    CU_ASSERT_EQUAL(wdeps_set(d, "k", ab, 2, 0, 0), HS_OK);
    /* A stream nobody reads is not remembered. */
    CU_ASSERT_EQUAL(wdeps_change(d, "x", 1, 2, 1), HS_OK);
    CU_ASSERT_EQUAL(wdeps_ring_size(d), 0);
    CU_ASSERT_EQUAL(wdeps_change(d, "a", 10, 20, 1), HS_OK);
    CU_ASSERT_EQUAL(wdeps_change(d, "b", 30, 40, 2), HS_OK);
    CU_ASSERT_EQUAL(wdeps_change(d, "a", 50, 60, 3), HS_OK);
    CU_ASSERT_EQUAL(wdeps_change(d, "b", 70, 70, 3), HS_OK); /* same commit */
    CU_ASSERT_EQUAL(wdeps_ring_size(d), 4);

    const char *a1[1] = {"a"}, *b1[1] = {"b"}, *z1[1] = {"z"};
    bool complete = false;
    /* Every change of a, oldest first. */
    CU_ASSERT_EQUAL(since(d, 0, a1, 1, 0, 100, &s, &complete), HS_OK);
    CU_ASSERT_TRUE(complete);
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(s.id[0], "a");
    CU_ASSERT_EQUAL(s.lo[0], 10);
    CU_ASSERT_EQUAL(s.hi[0], 20);
    CU_ASSERT_EQUAL(s.lo[1], 50);
    CU_ASSERT_EQUAL(s.hi[1], 60);
    /* Only those after the given commit. */
    CU_ASSERT_EQUAL(since(d, 1, a1, 1, 0, 100, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_EQUAL(s.lo[0], 50);
    CU_ASSERT_EQUAL(since(d, 2, ab, 2, 0, 100, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_EQUAL(s.lo[0], 50);
    CU_ASSERT_STRING_EQUAL(s.id[1], "b");
    CU_ASSERT_EQUAL(s.lo[1], 70);
    CU_ASSERT_EQUAL(since(d, 3, ab, 2, 0, 100, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL(s.n, 0);
    CU_ASSERT_TRUE(complete);
    /* Only the given sources. */
    CU_ASSERT_EQUAL(since(d, 0, b1, 1, 0, 100, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_EQUAL(s.lo[0], 30);
    CU_ASSERT_EQUAL(s.lo[1], 70);
    CU_ASSERT_EQUAL(since(d, 0, z1, 1, 0, 100, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL(s.n, 0);
    /* Only changes [lo, hi] that meet (start, end]. */
    CU_ASSERT_EQUAL(since(d, 0, a1, 1, 20, 50, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL_FATAL(s.n, 1); /* [10, 20] ends at the excluded start */
    CU_ASSERT_EQUAL(s.lo[0], 50);  /* [50, 60] starts at the included end */
    CU_ASSERT_EQUAL(since(d, 0, a1, 1, 19, 49, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_EQUAL(s.lo[0], 10);
    CU_ASSERT_EQUAL(since(d, 0, a1, 1, 60, 1000, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL(s.n, 0);
    CU_ASSERT_EQUAL(since(d, 0, a1, 1, 0, 9, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL(s.n, 0);
    CU_ASSERT_EQUAL(since(d, 0, a1, 1, 25, 45, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL(s.n, 0);
    /* The callback's first non-zero result stops the walk. */
    s.stop_at = 1;
    CU_ASSERT_EQUAL(since(d, 0, ab, 2, 0, 100, &s, &complete), 7);
    CU_ASSERT_EQUAL(s.n, 1);
    s.stop_at = 0;

    /* A sink that stops reading a: new changes of a are not remembered. */
    CU_ASSERT_EQUAL(wdeps_set(d, "k", b1, 1, 0, 0), HS_OK);
    CU_ASSERT_EQUAL(wdeps_change(d, "a", 80, 90, 4), HS_OK);
    CU_ASSERT_EQUAL(wdeps_ring_size(d), 4);
    wdeps_destroy(d);
}

static void test_ring_growth_and_drop(void)
{
    static seen s;
    enum { MAX = 3000, PUSHED = 3010 };
    wdeps *d = NULL;
    CU_ASSERT_EQUAL_FATAL(wdeps_create(&d, MAX), HS_OK);
    HS_REQUIRE(d);
    const char *a1[1] = {"a"};
    CU_ASSERT_EQUAL(wdeps_set(d, "k", a1, 1, 0, 0), HS_OK);
    /* Change i at time i, in commit i: the ring grows past its first allocation. */
    for (int64_t i = 1; i <= 2500; i++)
        CU_ASSERT_EQUAL(wdeps_change(d, "a", i, i, (uint64_t)i), HS_OK);
    CU_ASSERT_EQUAL(wdeps_ring_size(d), 2500);
    bool complete = false;
    CU_ASSERT_EQUAL(since(d, 0, a1, 1, 0, 1000000, &s, &complete), HS_OK);
    CU_ASSERT_TRUE(complete);
    CU_ASSERT_EQUAL_FATAL(s.n, 2500);
    bool ordered = true;
    for (size_t i = 0; i < s.n; i++)
        ordered = ordered && s.lo[i] == (int64_t)i + 1;
    CU_ASSERT_TRUE(ordered);
    /* Full at MAX: the oldest go first. */
    for (int64_t i = 2501; i <= PUSHED; i++)
        CU_ASSERT_EQUAL(wdeps_change(d, "a", i, i, (uint64_t)i), HS_OK);
    CU_ASSERT_EQUAL(wdeps_ring_size(d), MAX);
    CU_ASSERT_EQUAL(since(d, 0, a1, 1, 0, 1000000, &s, &complete), HS_OK);
    CU_ASSERT_FALSE(complete);
    CU_ASSERT_EQUAL_FATAL(s.n, MAX);
    CU_ASSERT_EQUAL(s.lo[0], PUSHED - MAX + 1);
    CU_ASSERT_EQUAL(s.lo[MAX - 1], PUSHED);
    /* Commits 1..10 were dropped: a job that saw commit 9 cannot know, one that saw 10 can. */
    CU_ASSERT_EQUAL(since(d, 9, a1, 1, 0, 1000000, &s, &complete), HS_OK);
    CU_ASSERT_FALSE(complete);
    CU_ASSERT_EQUAL(since(d, 10, a1, 1, 0, 1000000, &s, &complete), HS_OK);
    CU_ASSERT_TRUE(complete);
    CU_ASSERT_EQUAL(s.n, MAX);
    CU_ASSERT_EQUAL(since(d, 3000, a1, 1, 0, 1000000, &s, &complete), HS_OK);
    CU_ASSERT_TRUE(complete);
    CU_ASSERT_EQUAL_FATAL(s.n, 10);
    CU_ASSERT_EQUAL(s.lo[0], 3001);
    /* Even a change outside the range makes an older job incomplete. */
    CU_ASSERT_EQUAL(since(d, 0, a1, 1, 5000000, 6000000, &s, &complete), HS_OK);
    CU_ASSERT_FALSE(complete);
    CU_ASSERT_EQUAL(s.n, 0);
    wdeps_destroy(d);
}

static void test_ring_forget(void)
{
    static seen s;
    wdeps *d = NULL;
    CU_ASSERT_EQUAL_FATAL(wdeps_create(&d, 4), HS_OK);
    HS_REQUIRE(d);
    const char *a1[1] = {"a"};
    CU_ASSERT_EQUAL(wdeps_set(d, "k", a1, 1, 0, 0), HS_OK);
    for (int64_t i = 1; i <= 6; i++)
        CU_ASSERT_EQUAL(wdeps_change(d, "a", 10 * i, 10 * i, (uint64_t)i), HS_OK);
    /* Holds commits 3..6 (wrapped); commit 5 and 6 roll back. */
    CU_ASSERT_EQUAL(wdeps_ring_size(d), 4);
    wdeps_forget_from(d, 5);
    CU_ASSERT_EQUAL(wdeps_ring_size(d), 2);
    bool complete = false;
    CU_ASSERT_EQUAL(since(d, 2, a1, 1, 0, 1000, &s, &complete), HS_OK);
    CU_ASSERT_TRUE(complete);
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_EQUAL(s.lo[0], 30);
    CU_ASSERT_EQUAL(s.lo[1], 40);
    /* The retried commit 5 records other changes; nothing of the failed one is left. */
    CU_ASSERT_EQUAL(wdeps_change(d, "a", 500, 500, 5), HS_OK);
    CU_ASSERT_EQUAL(wdeps_change(d, "a", 501, 501, 5), HS_OK);
    CU_ASSERT_EQUAL(since(d, 4, a1, 1, 0, 1000, &s, &complete), HS_OK);
    CU_ASSERT_TRUE(complete);
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_EQUAL(s.lo[0], 500);
    CU_ASSERT_EQUAL(s.lo[1], 501);
    /* Forgetting later commits changes nothing; forgetting from 1 empties the ring. */
    wdeps_forget_from(d, 6);
    CU_ASSERT_EQUAL(wdeps_ring_size(d), 4);
    wdeps_forget_from(d, 1);
    CU_ASSERT_EQUAL(wdeps_ring_size(d), 0);
    CU_ASSERT_EQUAL(since(d, 2, a1, 1, 0, 1000, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL(s.n, 0);
    CU_ASSERT_TRUE(complete);
    /* A ring of at most 0 changes holds one. */
    wdeps *one = NULL;
    CU_ASSERT_EQUAL_FATAL(wdeps_create(&one, 0), HS_OK);
    HS_REQUIRE(one);
    CU_ASSERT_EQUAL(wdeps_set(one, "k", a1, 1, 0, 0), HS_OK);
    CU_ASSERT_EQUAL(wdeps_change(one, "a", 1, 1, 1), HS_OK);
    CU_ASSERT_EQUAL(wdeps_change(one, "a", 2, 2, 2), HS_OK);
    CU_ASSERT_EQUAL(wdeps_ring_size(one), 1);
    CU_ASSERT_EQUAL(since(one, 1, a1, 1, 0, 10, &s, &complete), HS_OK);
    CU_ASSERT_TRUE(complete);
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_EQUAL(s.lo[0], 2);
    CU_ASSERT_EQUAL(since(one, 0, a1, 1, 0, 10, &s, &complete), HS_OK);
    CU_ASSERT_FALSE(complete);
    wdeps_destroy(one);
    wdeps_destroy(d);
}

static void test_clear_sinks(void)
{
    static seen s;
    wdeps *d = NULL;
    CU_ASSERT_EQUAL_FATAL(wdeps_create(&d, 16), HS_OK);
    HS_REQUIRE(d);
    const char *a1[1] = {"a"}, *k1[1] = {"k"};
    CU_ASSERT_EQUAL(wdeps_set(d, "k", a1, 1, 5, 0), HS_OK);
    CU_ASSERT_EQUAL(wdeps_set(d, "k2", k1, 1, 0, 0), HS_OK);
    CU_ASSERT_EQUAL(wdeps_change(d, "a", 10, 20, 1), HS_OK);
    /* Every sink is forgotten; the remembered changes stay. */
    wdeps_clear_sinks(d);
    const char *const *src = NULL;
    size_t n = 99;
    int64_t lb = 0;
    CU_ASSERT_FALSE(wdeps_of(d, "k", &src, &n, &lb));
    CU_ASSERT_FALSE(wdeps_of(d, "k2", &src, &n, &lb));
    CU_ASSERT_EQUAL(nreaders(d, "a"), 0);
    CU_ASSERT_EQUAL(nreaders(d, "k"), 0);
    CU_ASSERT_FALSE(wdeps_same(d, "k", a1, 1, 5, 0));
    CU_ASSERT_EQUAL(wdeps_ring_size(d), 1);
    bool complete = false;
    CU_ASSERT_EQUAL(since(d, 0, a1, 1, 0, 100, &s, &complete), HS_OK);
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_STRING_EQUAL(s.id[0], "a");
    /* Read by nobody now: not remembered, until a sink reads it again. */
    CU_ASSERT_EQUAL(wdeps_change(d, "a", 30, 30, 2), HS_OK);
    CU_ASSERT_EQUAL(wdeps_ring_size(d), 1);
    CU_ASSERT_EQUAL(wdeps_set(d, "k", a1, 1, 5, 0), HS_OK);
    CU_ASSERT_TRUE(wdeps_same(d, "k", a1, 1, 5, 0));
    CU_ASSERT_PTR_NOT_NULL(reader_of(d, "a", "k"));
    CU_ASSERT_EQUAL(wdeps_change(d, "a", 40, 40, 3), HS_OK);
    CU_ASSERT_EQUAL(wdeps_ring_size(d), 2);
    wdeps_destroy(d);
}

/* Out of memory anywhere in wdeps_set: the sink reads what it read before, or nothing. */
static void test_set_nomem(void)
{
    const char *x1[1] = {"x"}, *abc[3] = {"a", "b", "c"};
    const char *all[4] = {"a", "b", "c", "x"};
    bool failed = false, done = false;
    for (long n = 0; n < 200 && !done; n++) {
        wdeps *d = NULL;
        CU_ASSERT_EQUAL_FATAL(wdeps_create(&d, 16), HS_OK);
        HS_REQUIRE(d);
        CU_ASSERT_EQUAL_FATAL(wdeps_set(d, "k", x1, 1, 1, 0), HS_OK);
        hs_alloc_fail_after(n);
        int rc = wdeps_set(d, "k", abc, 3, 2, 0);
        hs_alloc_fail_after(-1);
        if (rc == HS_OK) {
            CU_ASSERT_TRUE(wdeps_same(d, "k", abc, 3, 2, 0));
            done = true;
        } else {
            CU_ASSERT_EQUAL(rc, HS_ERR_NOMEM);
            failed = true;
            const char *const *src = NULL;
            size_t ns = 0;
            int64_t lb = 0;
            if (wdeps_of(d, "k", &src, &ns, &lb)) {
                CU_ASSERT_TRUE(wdeps_same(d, "k", x1, 1, 1, 0));
                CU_ASSERT_PTR_NOT_NULL(reader_of(d, "x", "k"));
                for (int i = 0; i < 3; i++)
                    CU_ASSERT_PTR_NULL(reader_of(d, abc[i], "k"));
            } else {
                for (int i = 0; i < 4; i++)
                    CU_ASSERT_PTR_NULL(reader_of(d, all[i], "k"));
            }
        }
        wdeps_destroy(d);
    }
    CU_ASSERT_TRUE(failed);
    CU_ASSERT_TRUE(done);
}

/*
 * A fleet: 100 sinks read one clock (its readers are indexed past 32) and an
 * aggregate reads 100 streams with repeats. Redefining and dropping sinks
 * keeps every list exact.
 */
static void test_fleet(void)
{
    wdeps *d = NULL;
    CU_ASSERT_EQUAL_FATAL(wdeps_create(&d, 16), HS_OK);
    char sink[100][32], src[100][32];
    const char *agg[200];
    for (int i = 0; i < 100; i++) {
        snprintf(sink[i], sizeof sink[i], "mean/dev=%d", i);
        snprintf(src[i], sizeof src[i], "temp/dev=%d", i);
        const char *reads[] = {"clock", src[i]};
        CU_ASSERT_EQUAL(wdeps_set(d, sink[i], reads, 2, 60, 0), HS_OK);
        agg[i] = sink[i];
        agg[100 + i] = sink[99 - i]; /* every one twice */
    }
    CU_ASSERT_EQUAL(nreaders(d, "clock"), 100);
    CU_ASSERT_EQUAL(wdeps_set(d, "fleet", agg, 200, 0, 0), HS_OK);
    CU_ASSERT_TRUE(wdeps_same(d, "fleet", agg, 200, 0, 0));
    CU_ASSERT_TRUE(wdeps_same(d, "fleet", agg, 100, 0, 0));
    CU_ASSERT_FALSE(wdeps_same(d, "fleet", agg, 99, 0, 0)); /* one missing */
    const char *other[100];
    memcpy(other, agg, sizeof other);
    other[5] = "mean/dev=1000";
    CU_ASSERT_FALSE(wdeps_same(d, "fleet", other, 100, 0, 0));
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(nreaders(d, sink[i]), 1);
    /* Every other device reads something else now: the clock loses them. */
    for (int i = 0; i < 100; i += 2) {
        const char *reads[] = {src[i]};
        CU_ASSERT_EQUAL(wdeps_set(d, sink[i], reads, 1, 60, 0), HS_OK);
    }
    CU_ASSERT_EQUAL(nreaders(d, "clock"), 50);
    for (int i = 0; i < 100; i++) {
        CU_ASSERT((reader_of(d, "clock", sink[i]) != NULL) == (i % 2 == 1));
        CU_ASSERT_PTR_NOT_NULL(reader_of(d, src[i], sink[i]));
    }
    /* Set again as before: back to 100, each once. */
    for (int i = 0; i < 100; i++) {
        const char *reads[] = {"clock", src[i]};
        CU_ASSERT_EQUAL(wdeps_set(d, sink[i], reads, 2, 60, 0), HS_OK);
    }
    CU_ASSERT_EQUAL(nreaders(d, "clock"), 100);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_PTR_NOT_NULL(reader_of(d, "clock", sink[i]));
    wdeps_clear_sinks(d);
    CU_ASSERT_EQUAL(nreaders(d, "clock"), 0);
    CU_ASSERT_EQUAL(wdeps_set(d, sink[0], (const char *[]){"clock"}, 1, 60, 0), HS_OK);
    CU_ASSERT_PTR_NOT_NULL(reader_of(d, "clock", sink[0]));
    wdeps_destroy(d);
}

HS_TEST_INIT(wdeps)
{
    HS_TEST_SUITE_BEGIN("wdeps");
    HS_TEST(test_index);
    HS_TEST(test_ring_filters);
    HS_TEST(test_ring_growth_and_drop);
    HS_TEST(test_ring_forget);
    HS_TEST(test_clear_sinks);
    HS_TEST(test_set_nomem);
    HS_TEST(test_fleet);
    return 0;
}
