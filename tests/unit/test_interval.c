/* Tests of hs_interval: HyperStream's cases, set operations, a bitmap model. */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_interval.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* 2016-01-01T00:00:00Z, the origin of HyperStream's interval test. */
#define T0  (1451606400LL * HS_US_PER_S)
#define H   HS_US_PER_H
#define MIN HS_US_PER_MIN

/* Builds a set from n (start, end] pairs given as a flat array. */
static void build(hs_intervals *s, const int64_t *pairs, size_t n)
{
    hs_intervals_init(s);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL_FATAL(hs_intervals_push(s, (hs_interval){pairs[2 * i], pairs[2 * i + 1]}),
                              HS_OK);
}

/* Whether s holds exactly the n pairs. */
static bool holds(const hs_intervals *s, const int64_t *pairs, size_t n)
{
    if (s->n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s->v[i].start != pairs[2 * i] || s->v[i].end != pairs[2 * i + 1])
            return false;
    return true;
}

/* Whether s is sorted, valid and compressed (no overlap, no touching). */
static bool is_compressed(const hs_intervals *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].start >= s->v[i].end)
            return false;
        if (i > 0 && s->v[i].start <= s->v[i - 1].end)
            return false;
    }
    return true;
}

static void test_interval_basics(void)
{
    hs_interval iv = {0, 0};
    CU_ASSERT_EQUAL(hs_interval_make(10, 20, &iv), HS_OK);
    CU_ASSERT_EQUAL(iv.start, 10);
    CU_ASSERT_EQUAL(iv.end, 20);
    hs_err_clear();
    CU_ASSERT_EQUAL(hs_interval_make(20, 20, &iv), HS_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "empty"));
    CU_ASSERT_EQUAL(hs_interval_make(21, 20, &iv), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(iv.start, 10); /* untouched on failure */

    /* Open at the start, closed at the end. */
    CU_ASSERT_FALSE(hs_interval_contains_point(iv, 10));
    CU_ASSERT_TRUE(hs_interval_contains_point(iv, 11));
    CU_ASSERT_TRUE(hs_interval_contains_point(iv, 20));
    CU_ASSERT_FALSE(hs_interval_contains_point(iv, 21));

    CU_ASSERT_TRUE(hs_interval_contains(iv, (hs_interval){10, 20}));
    CU_ASSERT_TRUE(hs_interval_contains(iv, (hs_interval){10, 15}));
    CU_ASSERT_TRUE(hs_interval_contains(iv, (hs_interval){15, 20}));
    CU_ASSERT_FALSE(hs_interval_contains(iv, (hs_interval){9, 15}));
    CU_ASSERT_FALSE(hs_interval_contains(iv, (hs_interval){15, 21}));
    CU_ASSERT_FALSE(hs_interval_contains(iv, (hs_interval){0, 30}));

    CU_ASSERT_EQUAL(hs_interval_width(iv), 10);
    CU_ASSERT_EQUAL(hs_interval_width((hs_interval){INT64_MIN, INT64_MAX}), INT64_MAX);
    CU_ASSERT_EQUAL(hs_interval_width((hs_interval){5, 5}), 0);
}

/* HyperStream's test: (0h,1h] U (2h,3h] plus (0h30,2h30] is (0h,3h]. */
static void test_hyperstream_union(void)
{
    const int64_t a_pairs[] = {T0, T0 + H, T0 + 2 * H, T0 + 3 * H};
    const int64_t b_pairs[] = {T0 + 30 * MIN, T0 + 2 * H + 30 * MIN};
    const int64_t expect[] = {T0, T0 + 3 * H};
    hs_intervals a, b, out;
    build(&a, a_pairs, 2);
    build(&b, b_pairs, 1);
    hs_intervals_init(&out);
    CU_ASSERT_EQUAL(hs_intervals_union(&a, &b, &out), HS_OK);
    CU_ASSERT_TRUE(holds(&out, expect, 1));
    CU_ASSERT_EQUAL(hs_intervals_union(&b, &a, &out), HS_OK);
    CU_ASSERT_TRUE(holds(&out, expect, 1));
    /* The same through hs_intervals_add. */
    CU_ASSERT_EQUAL(hs_intervals_add(&a, b.v[0]), HS_OK);
    CU_ASSERT_TRUE(holds(&a, expect, 1));
    hs_intervals_free(&a);
    hs_intervals_free(&b);
    hs_intervals_free(&out);
}

/* HyperStream's test: (0h,1h] U (2h,3h] minus (0h30,2h30] is (0h,0h30] U (2h30,3h]. */
static void test_hyperstream_difference(void)
{
    const int64_t a_pairs[] = {T0, T0 + H, T0 + 2 * H, T0 + 3 * H};
    const int64_t b_pairs[] = {T0 + 30 * MIN, T0 + 2 * H + 30 * MIN};
    const int64_t expect[] = {T0, T0 + 30 * MIN, T0 + 2 * H + 30 * MIN, T0 + 3 * H};
    const int64_t b_minus_a[] = {T0 + H, T0 + 2 * H};
    hs_intervals a, b, out;
    build(&a, a_pairs, 2);
    build(&b, b_pairs, 1);
    hs_intervals_init(&out);
    CU_ASSERT_EQUAL(hs_intervals_difference(&a, &b, &out), HS_OK);
    CU_ASSERT_TRUE(holds(&out, expect, 2));
    CU_ASSERT_EQUAL(hs_intervals_difference(&b, &a, &out), HS_OK);
    CU_ASSERT_TRUE(holds(&out, b_minus_a, 1));
    hs_intervals_free(&a);
    hs_intervals_free(&b);
    hs_intervals_free(&out);
}

/* Two month-long intervals, each split once, give four intervals. */
static void test_hyperstream_split(void)
{
    int64_t jan1, feb1, mar1, apr1, jan15, mar15;
    CU_ASSERT_EQUAL_FATAL(hs_time_parse_iso("2016-01-01", 10, &jan1), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_time_parse_iso("2016-02-01", 10, &feb1), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_time_parse_iso("2016-03-01", 10, &mar1), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_time_parse_iso("2016-04-01", 10, &apr1), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_time_parse_iso("2016-01-15", 10, &jan15), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_time_parse_iso("2016-03-15", 10, &mar15), HS_OK);
    const int64_t pairs[] = {jan1, feb1, mar1, apr1};
    const int64_t expect[] = {jan1, jan15, jan15, feb1, mar1, mar15, mar15, apr1};
    hs_intervals s, out;
    build(&s, pairs, 2);
    hs_intervals_init(&out);
    const int64_t points[] = {mar15, jan15}; /* unsorted on purpose */
    CU_ASSERT_EQUAL(hs_intervals_split(&s, points, 2, &out), HS_OK);
    CU_ASSERT_EQUAL(out.n, 4);
    CU_ASSERT_TRUE(holds(&out, expect, 4));
    /* The pieces cover the same instants; compressing gives the input back. */
    CU_ASSERT_TRUE(hs_intervals_contains(&out, (hs_interval){jan1, feb1}));
    CU_ASSERT_FALSE(hs_intervals_equal(&out, &s));
    hs_intervals_compress(&out);
    CU_ASSERT_TRUE(hs_intervals_equal(&out, &s));

    /* Points on boundaries, outside, or repeated split nothing more. */
    const int64_t more[] = {jan1, feb1, mar1 - 1, apr1 + 1, jan15, jan15, INT64_MIN, INT64_MAX};
    CU_ASSERT_EQUAL(hs_intervals_split(&s, more, 8, &out), HS_OK);
    const int64_t expect2[] = {jan1, jan15, jan15, feb1, mar1, apr1};
    CU_ASSERT_TRUE(holds(&out, expect2, 3));
    /* No points: a copy. */
    CU_ASSERT_EQUAL(hs_intervals_split(&s, NULL, 0, &out), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_equal(&out, &s));
    /* One interval split at many points. */
    hs_intervals one;
    const int64_t one_pair[] = {0, 10};
    build(&one, one_pair, 1);
    const int64_t pts[] = {9, 1, 5, 3, 7, 5, 0, 10};
    CU_ASSERT_EQUAL(hs_intervals_split(&one, pts, 8, &out), HS_OK);
    const int64_t expect3[] = {0, 1, 1, 3, 3, 5, 5, 7, 7, 9, 9, 10};
    CU_ASSERT_TRUE(holds(&out, expect3, 6));
    CU_ASSERT_EQUAL(hs_intervals_split(&one, pts, 1, &out), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_split(&s, pts, 1, &s), HS_ERR_INVAL);
    hs_intervals_free(&one);
    hs_intervals_free(&s);
    hs_intervals_free(&out);
}

static void test_intersection(void)
{
    const int64_t a_pairs[] = {0, 10, 20, 30, 40, 50};
    const int64_t b_pairs[] = {5, 25, 28, 45, 50, 60};
    const int64_t expect[] = {5, 10, 20, 25, 28, 30, 40, 45};
    hs_intervals a, b, out;
    build(&a, a_pairs, 3);
    build(&b, b_pairs, 3);
    hs_intervals_init(&out);
    CU_ASSERT_EQUAL(hs_intervals_intersection(&a, &b, &out), HS_OK);
    CU_ASSERT_TRUE(holds(&out, expect, 4));
    CU_ASSERT_EQUAL(hs_intervals_intersection(&b, &a, &out), HS_OK);
    CU_ASSERT_TRUE(holds(&out, expect, 4));
    /* (40, 50] and (50, 60] only touch: they share no instant. */
    hs_intervals c, d;
    const int64_t c_pair[] = {0, 1}, d_pair[] = {1, 2};
    build(&c, c_pair, 1);
    build(&d, d_pair, 1);
    CU_ASSERT_EQUAL(hs_intervals_intersection(&c, &d, &out), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&out));
    /* With itself and with the empty set. */
    CU_ASSERT_EQUAL(hs_intervals_intersection(&a, &a, &out), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_equal(&out, &a));
    hs_intervals empty;
    hs_intervals_init(&empty);
    CU_ASSERT_EQUAL(hs_intervals_intersection(&a, &empty, &out), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&out));
    /* Split pieces intersected come out compressed. */
    hs_intervals split;
    hs_intervals_init(&split);
    const int64_t pts[] = {3, 6};
    CU_ASSERT_EQUAL(hs_intervals_split(&a, pts, 2, &split), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_intersection(&split, &a, &out), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_equal(&out, &a));
    hs_intervals_free(&split);
    hs_intervals_free(&a);
    hs_intervals_free(&b);
    hs_intervals_free(&c);
    hs_intervals_free(&d);
    hs_intervals_free(&out);
}

static void test_compress_touching(void)
{
    const int64_t pairs[] = {0, 1, 1, 2, 3, 4, 4, 5, 5, 6, 8, 9};
    const int64_t expect[] = {0, 2, 3, 6, 8, 9};
    hs_intervals s;
    build(&s, pairs, 6);
    hs_intervals_compress(&s);
    CU_ASSERT_TRUE(holds(&s, expect, 3));
    hs_intervals_compress(&s); /* idempotent */
    CU_ASSERT_TRUE(holds(&s, expect, 3));
    hs_intervals_clear(&s);
    hs_intervals_compress(&s);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&s));
    hs_intervals_free(&s);
    hs_intervals_free(&s); /* free leaves a reusable empty set */
    hs_intervals_free(NULL);
}

static void test_difference_leaves_nothing(void)
{
    const int64_t a_pairs[] = {0, 10, 20, 30};
    const int64_t cover[] = {-5, 40};
    const int64_t pieces[] = {0, 5, 5, 10, 20, 30};
    hs_intervals a, b, p, empty, out;
    build(&a, a_pairs, 2);
    build(&b, cover, 1);
    build(&p, pieces, 3);
    hs_intervals_init(&empty);
    hs_intervals_init(&out);
    CU_ASSERT_EQUAL(hs_intervals_difference(&a, &a, &out), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&out));
    CU_ASSERT_EQUAL(hs_intervals_difference(&a, &b, &out), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&out));
    CU_ASSERT_EQUAL(hs_intervals_difference(&a, &p, &out), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&out));
    CU_ASSERT_EQUAL(hs_intervals_difference(&empty, &a, &out), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&out));
    /* Minus nothing: the set itself, compressed. */
    CU_ASSERT_EQUAL(hs_intervals_difference(&p, &empty, &out), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_equal(&out, &a));
    /* A hole in the middle of one interval. */
    const int64_t hole[] = {3, 4};
    const int64_t expect[] = {0, 3, 4, 10, 20, 30};
    hs_intervals h;
    build(&h, hole, 1);
    CU_ASSERT_EQUAL(hs_intervals_difference(&a, &h, &out), HS_OK);
    CU_ASSERT_TRUE(holds(&out, expect, 3));
    CU_ASSERT_EQUAL(hs_intervals_difference(&a, &a, &a), HS_ERR_INVAL);
    hs_intervals_free(&a);
    hs_intervals_free(&b);
    hs_intervals_free(&p);
    hs_intervals_free(&h);
    hs_intervals_free(&out);
}

static void test_add_merges_several(void)
{
    const int64_t pairs[] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90};
    hs_intervals s;
    build(&s, pairs, 5);
    /* Touches (0,10] at 10 and (60,70] at 60, swallows the two between. */
    CU_ASSERT_EQUAL(hs_intervals_add(&s, (hs_interval){10, 60}), HS_OK);
    const int64_t e1[] = {0, 70, 80, 90};
    CU_ASSERT_TRUE(holds(&s, e1, 2));
    /* Inserted in a gap, before everything, after everything. */
    CU_ASSERT_EQUAL(hs_intervals_add(&s, (hs_interval){72, 75}), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_add(&s, (hs_interval){-20, -10}), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_add(&s, (hs_interval){100, 110}), HS_OK);
    const int64_t e2[] = {-20, -10, 0, 70, 72, 75, 80, 90, 100, 110};
    CU_ASSERT_TRUE(holds(&s, e2, 5));
    /* Inside an existing interval: nothing changes. */
    CU_ASSERT_EQUAL(hs_intervals_add(&s, (hs_interval){1, 2}), HS_OK);
    CU_ASSERT_TRUE(holds(&s, e2, 5));
    /* Covering everything. */
    CU_ASSERT_EQUAL(hs_intervals_add(&s, (hs_interval){-30, 120}), HS_OK);
    const int64_t e3[] = {-30, 120};
    CU_ASSERT_TRUE(holds(&s, e3, 1));
    /* Empty intervals are refused. */
    CU_ASSERT_EQUAL(hs_intervals_add(&s, (hs_interval){5, 5}), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_intervals_add(&s, (hs_interval){6, 5}), HS_ERR_INVAL);
    CU_ASSERT_TRUE(holds(&s, e3, 1));
    /* Into an empty set, many out of order. */
    hs_intervals t;
    hs_intervals_init(&t);
    for (int i = 99; i >= 0; i--)
        CU_ASSERT_EQUAL(hs_intervals_add(&t, (hs_interval){i * 10, i * 10 + 5}), HS_OK);
    CU_ASSERT_EQUAL(t.n, 100);
    CU_ASSERT_TRUE(is_compressed(&t));
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(hs_intervals_add(&t, (hs_interval){i * 10 + 5, i * 10 + 10}), HS_OK);
    const int64_t e4[] = {0, 1000};
    CU_ASSERT_TRUE(holds(&t, e4, 1));
    hs_intervals_free(&t);
    hs_intervals_free(&s);
}

static void test_contains(void)
{
    /* Touching pieces, as split leaves them, then a gap. */
    const int64_t pairs[] = {0, 10, 10, 20, 20, 30, 40, 50};
    hs_intervals s;
    build(&s, pairs, 4);
    CU_ASSERT_TRUE(hs_intervals_contains(&s, (hs_interval){0, 30}));
    CU_ASSERT_TRUE(hs_intervals_contains(&s, (hs_interval){5, 25}));
    CU_ASSERT_TRUE(hs_intervals_contains(&s, (hs_interval){10, 20}));
    CU_ASSERT_TRUE(hs_intervals_contains(&s, (hs_interval){10, 11}));
    CU_ASSERT_TRUE(hs_intervals_contains(&s, (hs_interval){40, 50}));
    CU_ASSERT_FALSE(hs_intervals_contains(&s, (hs_interval){-1, 10}));
    CU_ASSERT_FALSE(hs_intervals_contains(&s, (hs_interval){25, 31}));
    CU_ASSERT_FALSE(hs_intervals_contains(&s, (hs_interval){25, 45}));
    CU_ASSERT_FALSE(hs_intervals_contains(&s, (hs_interval){30, 40}));
    CU_ASSERT_FALSE(hs_intervals_contains(&s, (hs_interval){45, 51}));
    CU_ASSERT_FALSE(hs_intervals_contains(&s, (hs_interval){5, 5}));

    CU_ASSERT_FALSE(hs_intervals_contains_point(&s, 0));
    CU_ASSERT_TRUE(hs_intervals_contains_point(&s, 1));
    CU_ASSERT_TRUE(hs_intervals_contains_point(&s, 10));
    CU_ASSERT_TRUE(hs_intervals_contains_point(&s, 30));
    CU_ASSERT_FALSE(hs_intervals_contains_point(&s, 31));
    CU_ASSERT_FALSE(hs_intervals_contains_point(&s, 40));
    CU_ASSERT_TRUE(hs_intervals_contains_point(&s, 50));
    CU_ASSERT_FALSE(hs_intervals_contains_point(&s, 51));

    hs_intervals empty;
    hs_intervals_init(&empty);
    CU_ASSERT_FALSE(hs_intervals_contains_point(&empty, 0));
    CU_ASSERT_FALSE(hs_intervals_contains(&empty, (hs_interval){0, 1}));
    hs_intervals_free(&s);
}

static void test_span_width_copy_push(void)
{
    const int64_t pairs[] = {0, 10, 20, 30, 40, 55};
    hs_intervals s, c;
    build(&s, pairs, 3);
    hs_interval span = {-1, -1};
    CU_ASSERT_TRUE(hs_intervals_span(&s, &span));
    CU_ASSERT_EQUAL(span.start, 0);
    CU_ASSERT_EQUAL(span.end, 55);
    CU_ASSERT_EQUAL(hs_intervals_total_width(&s), 35);

    hs_intervals_init(&c);
    CU_ASSERT_EQUAL(hs_intervals_copy(&c, &s), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_equal(&c, &s));
    CU_ASSERT_PTR_NOT_EQUAL(c.v, s.v);
    c.v[1].end = 31;
    CU_ASSERT_FALSE(hs_intervals_equal(&c, &s));

    hs_intervals_clear(&c);
    span = (hs_interval){-1, -1};
    CU_ASSERT_FALSE(hs_intervals_span(&c, &span));
    CU_ASSERT_EQUAL(span.start, -1);
    CU_ASSERT_EQUAL(hs_intervals_total_width(&c), 0);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&c));

    /* push: appends in order, touching allowed, overlap and empty refused. */
    CU_ASSERT_EQUAL(hs_intervals_push(&c, (hs_interval){0, 5}), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_push(&c, (hs_interval){5, 7}), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_push(&c, (hs_interval){6, 9}), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_intervals_push(&c, (hs_interval){9, 9}), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_intervals_push(&c, (hs_interval){-5, -1}), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(c.n, 2);

    hs_intervals huge;
    const int64_t hp[] = {INT64_MIN, 0, 0, INT64_MAX};
    build(&huge, hp, 2);
    CU_ASSERT_EQUAL(hs_intervals_total_width(&huge), INT64_MAX);
    hs_intervals_free(&huge);
    hs_intervals_free(&s);
    hs_intervals_free(&c);
}

static void test_format(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_intervals s;
    hs_intervals_init(&s);
    CU_ASSERT_EQUAL(hs_intervals_format(&s, &b), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "[]");
    CU_ASSERT_EQUAL(hs_intervals_push(&s, (hs_interval){T0, T0 + H}), HS_OK);
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_intervals_format(&s, &b), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "(2016-01-01T00:00:00Z, 2016-01-01T01:00:00Z]");
    CU_ASSERT_EQUAL(hs_intervals_push(&s, (hs_interval){T0 + 2 * H, T0 + 3 * H + 5}), HS_OK);
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_intervals_format(&s, &b), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "(2016-01-01T00:00:00Z, 2016-01-01T01:00:00Z] U "
                                            "(2016-01-01T02:00:00Z, 2016-01-01T03:00:00.000005Z]");
    /* A bounded buffer reports the limit. */
    hs_buf small;
    hs_buf_init(&small, 10);
    CU_ASSERT_EQUAL(hs_intervals_format(&s, &small), HS_ERR_LIMIT);
    hs_buf_free(&small);
    hs_buf_free(&b);
    hs_intervals_free(&s);
}

static void test_relative(void)
{
    hs_rel_interval r = {0, 0};
    CU_ASSERT_EQUAL(hs_rel_interval_make(-60 * HS_US_PER_S, -10 * HS_US_PER_S, &r), HS_OK);
    hs_interval iv = hs_rel_interval_absolute(r, T0);
    CU_ASSERT_EQUAL(iv.start, T0 - 60 * HS_US_PER_S);
    CU_ASSERT_EQUAL(iv.end, T0 - 10 * HS_US_PER_S);
    CU_ASSERT_TRUE(hs_interval_contains_point(iv, T0 - 10 * HS_US_PER_S));
    CU_ASSERT_FALSE(hs_interval_contains_point(iv, T0 - 60 * HS_US_PER_S));
    /* Whether the end may be in the future is the caller's rule. */
    CU_ASSERT_EQUAL(hs_rel_interval_make(-30 * HS_US_PER_S, 0, &r), HS_OK);
    CU_ASSERT_EQUAL(hs_rel_interval_make(0, 30 * HS_US_PER_S, &r), HS_OK);
    hs_err_clear();
    CU_ASSERT_EQUAL(hs_rel_interval_make(-10 * HS_US_PER_S, -60 * HS_US_PER_S, &r), HS_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "empty"));
    CU_ASSERT_EQUAL(hs_rel_interval_make(0, 0, &r), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(r.start_us, 0);
    CU_ASSERT_EQUAL(r.end_us, 30 * HS_US_PER_S);
    /* Saturation instead of overflow. */
    iv = hs_rel_interval_absolute((hs_rel_interval){INT64_MIN, -1}, -10);
    CU_ASSERT_EQUAL(iv.start, INT64_MIN);
    CU_ASSERT_EQUAL(iv.end, -11);
    iv = hs_rel_interval_absolute((hs_rel_interval){1, INT64_MAX}, 10);
    CU_ASSERT_EQUAL(iv.end, INT64_MAX);
}

static void test_allocation_failure(void)
{
    const int64_t pairs[] = {0, 10, 20, 30};
    hs_intervals a, out, fresh;
    build(&a, pairs, 2);
    hs_intervals_init(&out);
    hs_intervals_init(&fresh);
    /* Sets start small and double: room for 8 in a and out (cleared sets keep their room). */
    for (int i = 0; i < 8; i++) {
        CU_ASSERT_EQUAL(hs_intervals_push(&out, (hs_interval){10 * i, 10 * i + 1}), HS_OK);
        CU_ASSERT_EQUAL(hs_intervals_add(&a, (hs_interval){1000 + 10 * i, 1001 + 10 * i}), HS_OK);
    }
    CU_ASSERT_EQUAL(a.cap, 16);
    hs_intervals_clear(&a);
    CU_ASSERT_EQUAL(hs_intervals_add(&a, (hs_interval){0, 10}), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_add(&a, (hs_interval){20, 30}), HS_OK);
    hs_intervals_clear(&out);
    CU_ASSERT_EQUAL(hs_intervals_push(&out, (hs_interval){1, 2}), HS_OK);
    hs_alloc_fail_after(0);
    /* out has room for 8 intervals, so the union fits without allocating. */
    CU_ASSERT_EQUAL(hs_intervals_union(&a, &a, &out), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_union(&a, &a, &fresh), HS_ERR_NOMEM);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&fresh));
    CU_ASSERT_EQUAL(hs_intervals_difference(&a, &a, &fresh), HS_ERR_NOMEM);
    CU_ASSERT_EQUAL(hs_intervals_intersection(&a, &a, &fresh), HS_ERR_NOMEM);
    const int64_t pt = 5;
    CU_ASSERT_EQUAL(hs_intervals_split(&a, &pt, 1, &fresh), HS_ERR_NOMEM);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&fresh));
    CU_ASSERT_EQUAL(hs_intervals_copy(&fresh, &a), HS_ERR_NOMEM);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&fresh));
    /* Filling the 16 slots of a, then one more fails and leaves a as it was. */
    for (int i = 0; i < 14; i++)
        CU_ASSERT_EQUAL(hs_intervals_add(&a, (hs_interval){100 + 10 * i, 105 + 10 * i}), HS_OK);
    CU_ASSERT_EQUAL(a.n, 16);
    CU_ASSERT_EQUAL(hs_intervals_add(&a, (hs_interval){-10, -5}), HS_ERR_NOMEM);
    CU_ASSERT_EQUAL(hs_intervals_push(&a, (hs_interval){1000, 1001}), HS_ERR_NOMEM);
    CU_ASSERT_EQUAL(a.n, 16);
    CU_ASSERT_EQUAL(a.v[0].start, 0);
    /* Merging needs no room. */
    CU_ASSERT_EQUAL(hs_intervals_add(&a, (hs_interval){10, 20}), HS_OK);
    hs_alloc_fail_after(-1);
    CU_ASSERT_EQUAL(a.n, 15);
    CU_ASSERT_TRUE(is_compressed(&a));
    hs_intervals_free(&a);
    hs_intervals_free(&out);
    hs_intervals_free(&fresh);
}

/* ---- Randomized comparison with a bitmap model ------------------------- */

/*
 * The model: 64 unit cells, cell i standing for (i, i+1]. A set of
 * intervals with integer ends in [0, 64] covers exactly a union of cells.
 */
static uint64_t cells(int64_t start, int64_t end)
{
    uint64_t w = (uint64_t)(end - start);
    uint64_t ones = w >= 64 ? ~0ULL : (1ULL << w) - 1;
    return ones << start;
}

static uint64_t model_of(const hs_intervals *s)
{
    uint64_t m = 0;
    for (size_t i = 0; i < s->n; i++)
        m |= cells(s->v[i].start, s->v[i].end);
    return m;
}

static uint64_t rng_state = 0x853C49E6748FEA9BULL;

static uint64_t rnd(uint64_t bound)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (rng_state * 0x2545F4914F6CDD1DULL >> 11) % bound;
}

/* A random interval with integer ends in [0, 64]: short ones more often. */
static hs_interval random_interval(void)
{
    int64_t s = (int64_t)rnd(64);
    int64_t max_w = 64 - s;
    int64_t w = 1 + (int64_t)rnd(rnd(4) == 0 ? (uint64_t)max_w : (uint64_t)(max_w < 8 ? max_w : 8));
    return (hs_interval){s, s + w};
}

/* Builds a random set with hs_intervals_add and checks it against the model. */
static int random_set(hs_intervals *s, uint64_t *model)
{
    int bad = 0;
    hs_intervals_clear(s);
    *model = 0;
    int k = (int)rnd(7);
    for (int i = 0; i < k; i++) {
        hs_interval iv = random_interval();
        if (hs_intervals_add(s, iv) != HS_OK)
            bad++;
        *model |= cells(iv.start, iv.end);
    }
    if (!is_compressed(s) || model_of(s) != *model)
        bad++;
    return bad;
}

static void test_property_against_bitmap(void)
{
    hs_intervals a, b, out, out2, split;
    hs_intervals_init(&a);
    hs_intervals_init(&b);
    hs_intervals_init(&out);
    hs_intervals_init(&out2);
    hs_intervals_init(&split);
    int bad_add = 0, bad_union = 0, bad_diff = 0, bad_inter = 0, bad_split = 0, bad_contains = 0;
    for (int iter = 0; iter < 20000; iter++) {
        uint64_t ma, mb;
        bad_add += random_set(&a, &ma);
        bad_add += random_set(&b, &mb);

        if (hs_intervals_union(&a, &b, &out) != HS_OK || !is_compressed(&out) ||
            model_of(&out) != (ma | mb))
            bad_union++;
        if (hs_intervals_union(&b, &a, &out2) != HS_OK || !hs_intervals_equal(&out, &out2))
            bad_union++;
        if (hs_intervals_difference(&a, &b, &out) != HS_OK || !is_compressed(&out) ||
            model_of(&out) != (ma & ~mb))
            bad_diff++;
        if (hs_intervals_intersection(&a, &b, &out) != HS_OK || !is_compressed(&out) ||
            model_of(&out) != (ma & mb))
            bad_inter++;

        /* Split at random points: same cells, no point strictly inside a piece. */
        int64_t pts[6];
        size_t np = rnd(7);
        for (size_t i = 0; i < np; i++)
            pts[i] = (int64_t)rnd(65);
        if (hs_intervals_split(&a, pts, np, &split) != HS_OK || model_of(&split) != ma)
            bad_split++;
        size_t expect_n = a.n;
        for (size_t i = 0; i < np; i++) {
            bool dup = false;
            for (size_t j = 0; j < i; j++)
                dup = dup || pts[j] == pts[i];
            /* A distinct point strictly inside a cell run adds one piece. */
            if (!dup && pts[i] > 0 && pts[i] < 64 && (ma >> (pts[i] - 1) & 1) && (ma >> pts[i] & 1))
                expect_n++;
        }
        if (split.n != expect_n)
            bad_split++;
        for (size_t i = 0; i < split.n; i++) {
            if (split.v[i].start >= split.v[i].end ||
                (i > 0 && split.v[i].start < split.v[i - 1].end))
                bad_split++;
            for (size_t j = 0; j < np; j++)
                if (split.v[i].start < pts[j] && pts[j] < split.v[i].end)
                    bad_split++;
        }
        /* The split set with touching pieces and a set operation's output agree. */
        if (hs_intervals_union(&split, &b, &out2) != HS_OK || model_of(&out2) != (ma | mb) ||
            !is_compressed(&out2))
            bad_split++;

        /* Containment of points and intervals, on a and on its split form. */
        for (int64_t t = 0; t <= 64; t++) {
            bool expect = t > 0 && (ma >> (t - 1) & 1);
            if (hs_intervals_contains_point(&a, t) != expect ||
                hs_intervals_contains_point(&split, t) != expect)
                bad_contains++;
        }
        for (int i = 0; i < 4; i++) {
            hs_interval iv = random_interval();
            uint64_t need = cells(iv.start, iv.end);
            bool expect = (ma & need) == need;
            if (hs_intervals_contains(&a, iv) != expect ||
                hs_intervals_contains(&split, iv) != expect)
                bad_contains++;
        }
        hs_interval span;
        if (hs_intervals_span(&a, &span) != (ma != 0))
            bad_contains++;
        if (hs_intervals_total_width(&a) != __builtin_popcountll(ma))
            bad_contains++;
    }
    CU_ASSERT_EQUAL(bad_add, 0);
    CU_ASSERT_EQUAL(bad_union, 0);
    CU_ASSERT_EQUAL(bad_diff, 0);
    CU_ASSERT_EQUAL(bad_inter, 0);
    CU_ASSERT_EQUAL(bad_split, 0);
    CU_ASSERT_EQUAL(bad_contains, 0);
    hs_intervals_free(&a);
    hs_intervals_free(&b);
    hs_intervals_free(&out);
    hs_intervals_free(&out2);
    hs_intervals_free(&split);
}

HS_TEST_INIT(interval)
{
    HS_TEST_SUITE_BEGIN("interval");
    HS_TEST(test_interval_basics);
    HS_TEST(test_hyperstream_union);
    HS_TEST(test_hyperstream_difference);
    HS_TEST(test_hyperstream_split);
    HS_TEST(test_intersection);
    HS_TEST(test_compress_touching);
    HS_TEST(test_difference_leaves_nothing);
    HS_TEST(test_add_merges_several);
    HS_TEST(test_contains);
    HS_TEST(test_span_width_copy_push);
    HS_TEST(test_format);
    HS_TEST(test_relative);
    HS_TEST(test_allocation_failure);
    HS_TEST(test_property_against_bitmap);
    return 0;
}
