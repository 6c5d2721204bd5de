/*
 * Tests of the built-in tools, run through hs_tool_run over an in-memory
 * reader that honours after/end/max like a store: the acceptance examples,
 * empty and off-grid intervals, times before 1970, split invariance,
 * reducers against brute force on random data, the k-way aggregate,
 * splitting onto plate values, unary functions, bad parameters and
 * hs_tool_check_params on every definition.
 */
#include "test_suites.h"

#include "functions.h"
#include "tool_util.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_streamid.h"
#include "hs_time.h"
#include "hs_value.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((int64_t)(x)*HS_US_PER_S)
/* 2016-04-28T20:00:00Z, a whole minute. */
#define T0 S(1461873600)

#define MAX_SRC 48

/* ------------------------------------------------------------------ in-memory sources */

typedef struct mem {
    hs_batch src[MAX_SRC]; /* sorted by time */
    size_t n;
    size_t reads;
} mem;

static void mem_init(mem *m, size_t n)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    for (size_t i = 0; i < MAX_SRC; i++)
        hs_batch_init(&m->src[i]);
}

static void mem_free(mem *m)
{
    for (size_t i = 0; i < MAX_SRC; i++)
        hs_batch_free(&m->src[i]);
}

/* Reads like a store: up to max instances with after < t <= end, ascending, appended to out. */
static int mem_read(void *ud, size_t source, int64_t after, int64_t end, size_t max, hs_batch *out)
{
    mem *m = ud;
    if (source >= m->n)
        return hs_err_set(HS_ERR_NOTFOUND, "no source %zu", source);
    const hs_batch *b = &m->src[source];
    int rc = hs_batch_read_range(b, after, end, max, out);
    if (rc != HS_OK)
        return rc;
    m->reads++;
    return HS_OK;
}

static void push_double(hs_batch *b, int64_t t, double d)
{
    hs_buf *v = hs_batch_push_begin(b);
    hs_mp_put_double(v, d);
    hs_batch_push_end(b, t);
}

static void push_int(hs_batch *b, int64_t t, int64_t i)
{
    hs_buf *v = hs_batch_push_begin(b);
    hs_mp_put_int(v, i);
    hs_batch_push_end(b, t);
}

static void push_json(hs_batch *b, int64_t t, const char *json)
{
    hs_buf v;
    hs_buf_init(&v, 0);
    CU_ASSERT_EQUAL_FATAL(hs_json_to_mpack(json, strlen(json), &v), HS_OK);
    hs_batch_push(b, t, v.data, v.len);
    hs_buf_free(&v);
}

static void push_window(hs_batch *b, int64_t t, int64_t lo, int64_t up)
{
    hs_buf *v = hs_batch_push_begin(b);
    hs_mp_put_array(v, 2);
    hs_mp_put_int(v, lo);
    hs_mp_put_int(v, up);
    hs_batch_push_end(b, t);
}

/* ------------------------------------------------------------------ running jobs */

/*
 * Runs def over (start, end] with params given as JSON (NULL: none) and the
 * first nsrc sources of m, onto nsinks sinks (ids from sink_ids, or one
 * anonymous sink). The caller frees out.
 */
static int run_sinks(const hs_tool_def *def, const char *params, int64_t start, int64_t end, mem *m,
                     size_t nsrc, const char *const *sink_ids, size_t nsinks,
                     const char *output_meta, hs_tool_output *out)
{
    hs_buf p;
    hs_buf_init(&p, 0);
    if (params != NULL && hs_json_to_mpack(params, strlen(params), &p) != HS_OK) {
        hs_buf_free(&p);
        hs_tool_output_init(out);
        return HS_ERR_PARSE;
    }
    hs_streamid *sources[MAX_SRC] = {0};
    hs_streamid *sinks[8] = {0};
    if (sink_ids == NULL)
        nsinks = 1;
    for (size_t i = 0; sink_ids != NULL && i < nsinks; i++)
        CU_ASSERT_EQUAL(hs_streamid_parse(sink_ids[i], strlen(sink_ids[i]), &sinks[i]), HS_OK);
    hs_tool_job job = {
        .def = def,
        .interval = {start, end},
        .params = p.data,
        .params_len = p.len,
        .sources = sources,
        .nsources = nsrc,
        .sinks = sinks,
        .nsinks = nsinks,
        .output_meta = output_meta,
        .read = mem_read,
        .read_ud = m,
    };
    int rc = hs_tool_run(&job, out);
    for (size_t i = 0; i < nsinks; i++)
        hs_streamid_destroy(sinks[i]);
    hs_buf_free(&p);
    return rc;
}

static int run(const hs_tool_def *def, const char *params, int64_t start, int64_t end, mem *m,
               size_t nsrc, hs_tool_output *out)
{
    return run_sinks(def, params, start, end, m, nsrc, NULL, 1, NULL, out);
}

/* The number of instance i of a batch (int or float). */
static double num_at(const hs_batch *b, size_t i)
{
    double d = NAN;
    CU_ASSERT_TRUE(hs_func_number(hs_batch_value(b, i), b->items[i].len, &d));
    return d;
}

static bool is_int_at(const hs_batch *b, size_t i)
{
    hs_mp_reader r;
    hs_mp_type type;
    hs_mp_reader_init(&r, hs_batch_value(b, i), b->items[i].len);
    return hs_mp_peek(&r, &type) == HS_OK && type == HS_MP_INT;
}

/* The value of instance i as JSON text (static buffer). */
static const char *json_at(const hs_batch *b, size_t i)
{
    static char text[512];
    hs_buf j;
    hs_buf_init(&j, 0);
    text[0] = '\0';
    hs_mp_reader r;
    hs_mp_reader_init(&r, hs_batch_value(b, i), b->items[i].len);
    if (hs_json_from_mpack(&r, &j) == HS_OK)
        snprintf(text, sizeof text, "%.*s", (int)j.len, (const char *)j.data);
    hs_buf_free(&j);
    return text;
}

/* Reads window [lo, up] of instance i. */
static void window_at(const hs_batch *b, size_t i, int64_t *lo, int64_t *up)
{
    hs_mp_reader r;
    uint32_t n = 0;
    hs_mp_reader_init(&r, hs_batch_value(b, i), b->items[i].len);
    CU_ASSERT_EQUAL(hs_mp_get_array(&r, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(hs_mp_get_int(&r, lo), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_get_int(&r, up), HS_OK);
}

/* Whether two batches hold the same instances, bytewise. */
static bool same_batches(const hs_batch *a, const hs_batch *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        if (a->items[i].t_us != b->items[i].t_us || a->items[i].len != b->items[i].len ||
            memcmp(hs_batch_value(a, i), hs_batch_value(b, i), a->items[i].len) != 0)
            return false;
    }
    return true;
}

/*
 * Runs def over (start, end] once, then as consecutive jobs cut at the given
 * points, and checks that the outputs joined are the same instances.
 */
static void check_split(const hs_tool_def *def, const char *params, int64_t start, int64_t end,
                        mem *m, size_t nsrc, const int64_t *cuts, size_t ncuts)
{
    hs_tool_output whole;
    CU_ASSERT_EQUAL_FATAL(run(def, params, start, end, m, nsrc, &whole), HS_OK);
    hs_batch joined;
    hs_batch_init(&joined);
    int64_t a = start;
    for (size_t k = 0; k <= ncuts; k++) {
        int64_t b = k < ncuts ? cuts[k] : end;
        hs_tool_output part;
        CU_ASSERT_EQUAL(run(def, params, a, b, m, nsrc, &part), HS_OK);
        for (size_t i = 0; i < part.per_sink[0].n; i++)
            hs_batch_push(&joined, part.per_sink[0].items[i].t_us,
                          hs_batch_value(&part.per_sink[0], i), part.per_sink[0].items[i].len);
        hs_tool_output_free(&part);
        a = b;
    }
    CU_ASSERT_TRUE(whole.per_sink[0].n > 0);
    if (!same_batches(&whole.per_sink[0], &joined))
        fprintf(stderr, "\nsplit %s %s: %zu vs %zu\n", def->name, params ? params : "",
                whole.per_sink[0].n, joined.n);
    CU_ASSERT_TRUE(same_batches(&whole.per_sink[0], &joined));
    hs_batch_free(&joined);
    hs_tool_output_free(&whole);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(uint64_t bound)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (rng * 0x2545F4914F6CDD1DULL >> 11) % bound;
}

static double rnd_value(void)
{
    return (double)rnd(2000001) / 10000.0 - 100.0;
}

/* ------------------------------------------------------------------ clock */

static void test_clock_acceptance(void)
{
    mem m;
    mem_init(&m, 0);
    hs_tool_output out;
    CU_ASSERT_EQUAL(run(&hs_tool_clock, "{\"stride\": \"1s\"}", T0, T0 + S(60), &m, 0, &out),
                    HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 60);
    for (size_t i = 0; i < out.per_sink[0].n; i++) {
        CU_ASSERT_EQUAL(out.per_sink[0].items[i].t_us, T0 + S(i + 1));
        CU_ASSERT_TRUE(is_int_at(&out.per_sink[0], i));
        CU_ASSERT_EQUAL(num_at(&out.per_sink[0], i), (double)(T0 + S(i + 1)));
    }
    hs_tool_output_free(&out);

    CU_ASSERT_EQUAL(run(&hs_tool_clock, "{\"stride\": 10}", T0, T0 + S(60), &m, 0, &out), HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 6);
    for (size_t i = 0; i < out.per_sink[0].n; i++)
        CU_ASSERT_EQUAL(out.per_sink[0].items[i].t_us, T0 + S(10 * (i + 1)));
    hs_tool_output_free(&out);

    /* The defaults: 1 s from 0001-01-01. */
    CU_ASSERT_EQUAL(run(&hs_tool_clock, NULL, T0, T0 + S(60), &m, 0, &out), HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 60);
    hs_tool_output_free(&out);
    mem_free(&m);
}

/* Checks the ticks of (start, end] for first/stride against the definition. */
static void check_ticks(const hs_batch *b, int64_t first, int64_t stride, int64_t start,
                        int64_t end)
{
    /* Brute force: the smallest k with first + k*stride > start, then every tick to end. */
    int64_t t = first;
    if (t <= start)
        t = first + ((start - first) / stride + 1) * stride;
    size_t i = 0;
    for (; t <= end; t += stride, i++) {
        CU_ASSERT_TRUE_FATAL(i < b->n);
        CU_ASSERT_EQUAL(b->items[i].t_us, t);
    }
    CU_ASSERT_EQUAL(b->n, i);
}

static void test_clock_grid(void)
{
    mem m;
    mem_init(&m, 0);
    hs_tool_output out;
    /* Empty interval, and an interval between two ticks. */
    CU_ASSERT_EQUAL(run(&hs_tool_clock, "{\"stride\": \"10s\"}", T0, T0, &m, 0, &out), HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 0);
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_clock, "{\"stride\": \"10s\"}", T0 + S(1), T0 + S(9), &m, 0, &out),
                    HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 0);
    hs_tool_output_free(&out);

    /* A first off the second grid, and an interval neither on its grid. */
    CU_ASSERT_EQUAL(run(&hs_tool_clock,
                        "{\"first\": \"2016-04-28T20:00:00.5Z\", \"stride\": \"1s\"}", T0 + 300000,
                        T0 + S(3), &m, 0, &out),
                    HS_OK);
    check_ticks(&out.per_sink[0], T0 + 500000, S(1), T0 + 300000, T0 + S(3));
    CU_ASSERT_EQUAL(out.per_sink[0].n, 3);
    hs_tool_output_free(&out);

    /* Before 1970, with a stride that does not divide the distance to 0001-01-01. */
    CU_ASSERT_EQUAL(run(&hs_tool_clock, "{\"stride\": \"7s\"}", -S(100) - 1, S(100), &m, 0, &out),
                    HS_OK);
    check_ticks(&out.per_sink[0], HS_TIME_MIN, S(7), -S(100) - 1, S(100));
    CU_ASSERT_TRUE(out.per_sink[0].n >= 28);
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(
        run(&hs_tool_clock, "{\"first\": -10, \"stride\": \"1500ms\"}", -S(30), -S(1), &m, 0, &out),
        HS_OK);
    check_ticks(&out.per_sink[0], -S(10), 1500000, -S(30), -S(1));
    CU_ASSERT_EQUAL(out.per_sink[0].items[0].t_us, -S(10));
    hs_tool_output_free(&out);

    /* first inside the interval: nothing before it; the interval is not moved. */
    CU_ASSERT_EQUAL(run(&hs_tool_clock, "{\"first\": \"2016-04-28T20:00:30Z\", \"stride\": 1}", T0,
                        T0 + S(60), &m, 0, &out),
                    HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 31);
    CU_ASSERT_EQUAL(out.per_sink[0].items[0].t_us, T0 + S(30));
    hs_tool_output_free(&out);

    /* Extreme ends of int64 do not overflow. */
    CU_ASSERT_EQUAL(
        run(&hs_tool_clock, "{\"stride\": \"1000d\"}", INT64_MIN, INT64_MAX, &m, 0, &out), HS_OK);
    const hs_batch *b = &out.per_sink[0];
    CU_ASSERT_TRUE_FATAL(b->n > 3000);
    CU_ASSERT_EQUAL(b->items[0].t_us, HS_TIME_MIN);
    for (size_t i = 1; i < b->n; i++)
        CU_ASSERT_EQUAL(b->items[i].t_us - b->items[i - 1].t_us, 1000 * HS_US_PER_DAY);
    CU_ASSERT_TRUE(b->items[b->n - 1].t_us > INT64_MAX - 1000 * HS_US_PER_DAY);
    hs_tool_output_free(&out);
    mem_free(&m);
}

static void test_clock_split_and_errors(void)
{
    mem m;
    mem_init(&m, 0);
    int64_t cuts[] = {T0 + 1, T0 + S(7) + 3, T0 + S(7) + 4, T0 + S(30), T0 + S(59)};
    check_split(&hs_tool_clock, "{\"stride\": \"3s\"}", T0 - S(5), T0 + S(60), &m, 0, cuts, 5);
    int64_t ncuts[] = {-S(50), -S(49) + 7, -S(3)};
    check_split(&hs_tool_clock, "{\"stride\": \"2500ms\"}", -S(61), S(2), &m, 0, ncuts, 3);

    hs_tool_output out;
    CU_ASSERT_EQUAL(run(&hs_tool_clock, "{\"stride\": 0}", T0, T0 + S(60), &m, 0, &out),
                    HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "stride"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_clock, "{\"stride\": \"-1s\"}", T0, T0 + S(60), &m, 0, &out),
                    HS_ERR_TOOL);
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_clock, "{\"first\": \"yesterday\"}", T0, T0 + S(60), &m, 0, &out),
                    HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "first"));
    hs_tool_output_free(&out);
    mem_free(&m);
}

/* ------------------------------------------------------------------ sliding_window */

/* Checks that b holds windows ending at first_up, first_up + inc, ... (count of them). */
static void check_windows(const hs_batch *b, size_t count, int64_t first_up, int64_t inc,
                          int64_t width)
{
    if (b->n != count)
        fprintf(stderr, "\nwindows: %zu, want %zu\n", b->n, count);
    CU_ASSERT_EQUAL_FATAL(b->n, count);
    for (size_t i = 0; i < count; i++) {
        int64_t lo = 0, up = 0, want = first_up + (int64_t)i * inc;
        window_at(b, i, &lo, &up);
        CU_ASSERT_EQUAL(b->items[i].t_us, want);
        CU_ASSERT_EQUAL(up, want);
        CU_ASSERT_EQUAL(lo, want - width);
    }
}

static void test_sliding_window_acceptance(void)
{
    mem m;
    mem_init(&m, 0);
    hs_tool_output out;
    /* The examples with the grid through t0 itself: windows start at t0 at the earliest. */
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window,
                        "{\"first\": \"2016-04-28T20:00:00Z\", \"width\": \"10s\", "
                        "\"increment\": \"5s\"}",
                        T0, T0 + S(60), &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 11, T0 + S(10), S(5), S(10));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window,
                        "{\"first\": \"2016-04-28T20:00:00Z\", \"width\": \"10s\", "
                        "\"increment\": \"20s\"}",
                        T0, T0 + S(60), &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 3, T0 + S(10), S(20), S(10));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window,
                        "{\"first\": \"2016-04-28T20:00:00Z\", \"width\": \"10s\", "
                        "\"increment\": \"10s\"}",
                        T0, T0 + S(60), &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 6, T0 + S(10), S(10), S(10));
    hs_tool_output_free(&out);

    /*
     * With the default first (0001-01-01) the grid of window ends runs through
     * every 5 s, so overlapping windows also include (t0-5s, t0+5s], which
     * straddles the job start: HyperStream leaves it out, which is what makes
     * its output depend on where jobs start. Hopping and tumbling windows
     * (increment >= width) are HyperStream's.
     */
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window, "{\"width\": \"10s\", \"increment\": \"5s\"}", T0,
                        T0 + S(60), &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 12, T0 + S(5), S(5), S(10));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window, "{\"width\": \"10s\", \"increment\": \"20s\"}", T0,
                        T0 + S(60), &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 3, T0 + S(10), S(20), S(10));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window, "{\"width\": \"10s\", \"increment\": \"10s\"}", T0,
                        T0 + S(60), &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 6, T0 + S(10), S(10), S(10));
    hs_tool_output_free(&out);

    /* increment defaults to the width. */
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window, "{\"width\": 10}", T0, T0 + S(60), &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 6, T0 + S(10), S(10), S(10));
    hs_tool_output_free(&out);

    /* HyperStream's lower/upper: only the width matters. */
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window,
                        "{\"lower\": \"-10s\", \"upper\": 0, \"increment\": \"5s\"}", T0,
                        T0 + S(60), &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 12, T0 + S(5), S(5), S(10));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window,
                        "{\"lower\": \"-15s\", \"upper\": \"-5s\", \"increment\": \"5s\"}", T0,
                        T0 + S(60), &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 12, T0 + S(5), S(5), S(10));
    hs_tool_output_free(&out);

    /* All defaults: width 1 s (lower -1 s, upper 0), increment 1 s. */
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window, NULL, T0, T0 + S(5), &m, 0, &out), HS_OK);
    check_windows(&out.per_sink[0], 5, T0 + S(1), S(1), S(1));
    hs_tool_output_free(&out);
    mem_free(&m);
}

static void test_sliding_window_grid(void)
{
    mem m;
    mem_init(&m, 0);
    hs_tool_output out;
    /* Empty interval. */
    CU_ASSERT_EQUAL(
        run(&hs_tool_sliding_window, "{\"width\": 10}", T0 + S(5), T0 + S(5), &m, 0, &out), HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 0);
    hs_tool_output_free(&out);

    /* A job starting off the grid: windows stay on the grid of first (HyperStream would give
     * (t0+10, t0+20] first, aligned to the width from the job start). */
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window, "{\"width\": \"10s\", \"increment\": \"5s\"}",
                        T0 + S(12), T0 + S(60), &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 10, T0 + S(15), S(5), S(10));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window, "{\"width\": \"10s\", \"increment\": \"5s\"}",
                        T0 + S(12) + 1, T0 + S(20) - 1, &m, 0, &out),
                    HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 1);
    CU_ASSERT_EQUAL(out.per_sink[0].items[0].t_us, T0 + S(15));
    hs_tool_output_free(&out);

    /* A first of our own: the first window ends at first + width. */
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window,
                        "{\"first\": \"2016-04-28T20:00:03Z\", \"width\": \"10s\", "
                        "\"increment\": \"4s\"}",
                        T0, T0 + S(30), &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 5, T0 + S(13), S(4), S(10));
    hs_tool_output_free(&out);

    /* Before 1970. */
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window, "{\"width\": \"10s\"}", -S(60), 0, &m, 0, &out),
                    HS_OK);
    check_windows(&out.per_sink[0], 6, -S(50), S(10), S(10));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_window, "{\"width\": \"7s\", \"increment\": \"3s\"}",
                        -S(3600) - 1, -S(3500), &m, 0, &out),
                    HS_OK);
    for (size_t i = 0; i < out.per_sink[0].n; i++)
        CU_ASSERT_EQUAL(((out.per_sink[0].items[i].t_us - HS_TIME_MIN) - S(7)) % S(3), 0);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 34);
    hs_tool_output_free(&out);

    int64_t cuts[] = {T0 + S(3), T0 + S(12), T0 + S(12) + 1, T0 + S(41)};
    check_split(&hs_tool_sliding_window, "{\"width\": \"10s\", \"increment\": \"5s\"}", T0,
                T0 + S(120), &m, 0, cuts, 4);
    int64_t ncuts[] = {-S(3599), -S(3000) + 11, -S(1)};
    check_split(&hs_tool_sliding_window, "{\"width\": \"1m\", \"increment\": \"7s\"}", -S(3600),
                S(5), &m, 0, ncuts, 3);
    mem_free(&m);
}

static void test_sliding_window_errors(void)
{
    mem m;
    mem_init(&m, 0);
    hs_tool_output out;
    static const char *const bad[] = {
        "{\"width\": 0}",
        "{\"width\": \"-10s\"}",
        "{\"width\": \"10s\", \"increment\": 0}",
        "{\"width\": \"10s\", \"lower\": \"-10s\"}",
        "{\"lower\": 0, \"upper\": \"-1s\"}",
        "{\"width\": \"ten seconds\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(run(&hs_tool_sliding_window, bad[i], T0, T0 + S(60), &m, 0, &out),
                        HS_ERR_TOOL);
        CU_ASSERT_TRUE(out.error[0] != '\0');
        CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "sliding_window"));
        hs_tool_output_free(&out);
    }
    mem_free(&m);
}

/* ------------------------------------------------------------------ reducers, brute force */

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The reference result of func over v[0..n) (n >= 1), written the obvious way. */
static double brute(const char *func, const double *v, size_t n)
{
    double sum = 0, mn = v[0], mx = v[0];
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        mn = v[i] < mn ? v[i] : mn;
        mx = v[i] > mx ? v[i] : mx;
    }
    double mean = sum / (double)n;
    if (strcmp(func, "mean") == 0)
        return mean;
    if (strcmp(func, "sum") == 0)
        return sum;
    if (strcmp(func, "count") == 0)
        return (double)n;
    if (strcmp(func, "min") == 0)
        return mn;
    if (strcmp(func, "max") == 0)
        return mx;
    if (strcmp(func, "range") == 0)
        return mx - mn;
    if (strcmp(func, "first") == 0)
        return v[0];
    if (strcmp(func, "last") == 0)
        return v[n - 1];
    if (strcmp(func, "std") == 0) {
        double ss = 0;
        for (size_t i = 0; i < n; i++)
            ss += (v[i] - mean) * (v[i] - mean);
        return sqrt(ss / (double)n);
    }
    /* median */
    double *c = malloc(n * sizeof *c);
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, dcmp);
    double r = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return r;
}

static bool close_to(double got, double want)
{
    return fabs(got - want) <= 1e-9 * (1 + fabs(want));
}

static const char *const all_reducers[] = {"mean",   "sum", "count", "min",  "max",
                                           "median", "std", "first", "last", "range"};
#define N_REDUCERS (sizeof all_reducers / sizeof all_reducers[0])

static void test_functions_lookup(void)
{
    size_t n;
    const char *const *names = hs_func_names(HS_FUNC_REDUCER, &n);
    CU_ASSERT_EQUAL(n, N_REDUCERS);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_STRING_EQUAL(names[i], all_reducers[i]);
    names = hs_func_names(HS_FUNC_UNARY, &n);
    CU_ASSERT_EQUAL(n, 14);
    hs_func f;
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(hs_func_find(names[i], HS_FUNC_UNARY, &f), HS_OK);
        CU_ASSERT_PTR_NOT_NULL(f.unary);
        CU_ASSERT_FALSE(f.takes_time);
        hs_func_release(&f);
        /* A unary name is not a reducer. */
        CU_ASSERT_EQUAL(hs_func_find(names[i], HS_FUNC_REDUCER, &f), HS_ERR_NOTFOUND);
    }
    CU_ASSERT_EQUAL(hs_func_find("average", HS_FUNC_REDUCER, &f), HS_ERR_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "'average'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "mean, sum, count"));
    /* A Lua source that does not return a function. */
    CU_ASSERT_EQUAL(hs_func_find("lua: return 1", HS_FUNC_REDUCER, &f), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_func_find(NULL, HS_FUNC_REDUCER, &f), HS_ERR_INVAL);

    /* Direct calls: median of odd, even, repeated and larger inputs against sorting. */
    double scratch[4096], out;
    double odd[] = {5, 1, 4, 2, 3};
    double even[] = {7, 1, 3, 5};
    CU_ASSERT_EQUAL(hs_func_find("median", HS_FUNC_REDUCER, &f), HS_OK);
    CU_ASSERT_TRUE(f.needs_scratch);
    f.reduce(f.ud, odd, 5, scratch, &out);
    CU_ASSERT_DOUBLE_EQUAL(out, 3, 0);
    CU_ASSERT_DOUBLE_EQUAL(odd[0], 5, 0); /* the input is left as it was */
    f.reduce(f.ud, even, 4, scratch, &out);
    CU_ASSERT_DOUBLE_EQUAL(out, 4, 0);
    f.reduce(f.ud, even, 1, scratch, &out);
    CU_ASSERT_DOUBLE_EQUAL(out, 7, 0);
    static double big[4096];
    for (size_t trial = 0; trial < 40; trial++) {
        size_t len = 1 + rnd(4096);
        for (size_t i = 0; i < len; i++)
            big[i] = trial % 3 == 0 ? (double)rnd(4) : trial % 3 == 1 ? (double)i : rnd_value();
        f.reduce(f.ud, big, len, scratch, &out);
        CU_ASSERT_DOUBLE_EQUAL(out, brute("median", big, len), 0);
    }
    CU_ASSERT_EQUAL(hs_func_find("std", HS_FUNC_REDUCER, &f), HS_OK);
    double sd[] = {2, 4, 4, 4, 5, 5, 7, 9};
    f.reduce(f.ud, sd, 8, NULL, &out);
    CU_ASSERT_DOUBLE_EQUAL(out, 2, 1e-12);
    CU_ASSERT_EQUAL(hs_func_find("count", HS_FUNC_REDUCER, &f), HS_OK);
    CU_ASSERT_TRUE(f.int_result);

    /* Numbers from raw msgpack. */
    hs_buf b;
    hs_buf_init(&b, 0);
    double d;
    hs_mp_put_int(&b, -300);
    CU_ASSERT_TRUE(hs_func_number(b.data, b.len, &d));
    CU_ASSERT_DOUBLE_EQUAL(d, -300, 0);
    hs_buf_reset(&b);
    hs_mp_put_bool(&b, true);
    CU_ASSERT_TRUE(hs_func_number(b.data, b.len, &d));
    CU_ASSERT_DOUBLE_EQUAL(d, 1, 0);
    hs_buf_reset(&b);
    hs_mp_put_cstr(&b, "12");
    CU_ASSERT_FALSE(hs_func_number(b.data, b.len, &d));
    hs_buf_reset(&b);
    hs_mp_put_nil(&b);
    CU_ASSERT_FALSE(hs_func_number(b.data, b.len, &d));
    CU_ASSERT_FALSE(hs_func_number(b.data, 0, &d));
    static const uint8_t truncated[] = {0xcb, 0x40, 0x09};
    CU_ASSERT_FALSE(hs_func_number(truncated, sizeof truncated, &d));
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ sliding_apply */

/* Data at T0 + 1 s, + 2 s, ..., + n s with the value i at T0 + i s. */
static void fill_ramp(hs_batch *b, int n)
{
    for (int i = 1; i <= n; i++)
        push_double(b, T0 + S(i), (double)i);
}

static void test_sliding_apply_basic(void)
{
    mem m;
    mem_init(&m, 2);
    fill_ramp(&m.src[1], 120);
    for (int k = 1; k <= 12; k++)
        push_window(&m.src[0], T0 + S(10 * k), T0 + S(10 * (k - 1)), T0 + S(10 * k));
    hs_tool_output out;
    CU_ASSERT_EQUAL(
        run(&hs_tool_sliding_apply, "{\"func\": \"mean\"}", T0, T0 + S(60), &m, 2, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 6);
    for (size_t i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(out.per_sink[0].items[i].t_us, T0 + S(10 * (i + 1)));
        CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], i), 10.0 * (double)i + 5.5, 1e-12);
        CU_ASSERT_FALSE(is_int_at(&out.per_sink[0], i));
    }
    hs_tool_output_free(&out);

    CU_ASSERT_EQUAL(
        run(&hs_tool_sliding_apply, "{\"func\": \"count\"}", T0, T0 + S(60), &m, 2, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 6);
    CU_ASSERT_TRUE(is_int_at(&out.per_sink[0], 0));
    CU_ASSERT_EQUAL(num_at(&out.per_sink[0], 0), 10);
    hs_tool_output_free(&out);

    /* Lookback: windows of 60 s in a job over (t0+60, t0+90] see data from before the job. */
    mem_free(&m);
    mem_init(&m, 2);
    fill_ramp(&m.src[1], 120);
    for (int k = 70; k <= 90; k += 10)
        push_window(&m.src[0], T0 + S(k), T0 + S(k - 60), T0 + S(k));
    CU_ASSERT_EQUAL(
        run(&hs_tool_sliding_apply, "{\"func\": \"sum\"}", T0 + S(60), T0 + S(90), &m, 2, &out),
        HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 3);
    /* Sum of k-59 .. k. */
    CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], 0), 60.0 * (70 - 29.5), 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], 2), 60.0 * (90 - 29.5), 1e-9);
    hs_tool_output_free(&out);

    /* A window reaching past the job end sees data up to the job end only. */
    mem_free(&m);
    mem_init(&m, 2);
    fill_ramp(&m.src[1], 120);
    push_window(&m.src[0], T0 + S(50), T0 + S(40), T0 + S(70));
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_apply, "{\"func\": \"max\"}", T0, T0 + S(60), &m, 2, &out),
                    HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 1);
    CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], 0), 60, 0);
    hs_tool_output_free(&out);
    mem_free(&m);
}

static void test_sliding_apply_skips(void)
{
    mem m;
    mem_init(&m, 2);
    /* Data: numbers, a string, a map, a bool and nil between them; a gap of 30 s. */
    push_double(&m.src[1], T0 + S(1), 1.5);
    push_json(&m.src[1], T0 + S(2), "\"x\"");
    push_int(&m.src[1], T0 + S(3), 4);
    push_json(&m.src[1], T0 + S(4), "{\"a\": 1}");
    push_json(&m.src[1], T0 + S(5), "true");
    push_json(&m.src[1], T0 + S(6), "null");
    push_json(&m.src[1], T0 + S(12), "\"only text\"");
    push_double(&m.src[1], T0 + S(45), -2);
    push_window(&m.src[0], T0 + S(10), T0, T0 + S(10));
    push_window(&m.src[0], T0 + S(20), T0 + S(10), T0 + S(20)); /* text only: skipped */
    push_window(&m.src[0], T0 + S(30), T0 + S(20), T0 + S(30)); /* empty: skipped */
    push_json(&m.src[0], T0 + S(35), "\"not a window\"");       /* warned, skipped */
    push_json(&m.src[0], T0 + S(36), "[1, 2, 3]");              /* warned, skipped */
    push_window(&m.src[0], T0 + S(50), T0 + S(40), T0 + S(50));
    hs_tool_output out;
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_apply, "{\"func\": \"sum\"}", T0, T0 + S(60), &m, 2, &out),
                    HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 2);
    CU_ASSERT_EQUAL(out.per_sink[0].items[0].t_us, T0 + S(10));
    CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], 0), 1.5 + 4 + 1, 0);
    CU_ASSERT_EQUAL(out.per_sink[0].items[1].t_us, T0 + S(50));
    CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], 1), -2, 0);
    CU_ASSERT_EQUAL(out.warnings, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.warning, "not [lo, up]"));
    hs_tool_output_free(&out);

    /* No windows, and an empty interval. */
    CU_ASSERT_EQUAL(
        run(&hs_tool_sliding_apply, "{\"func\": \"sum\"}", T0 + S(100), T0 + S(200), &m, 2, &out),
        HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 0);
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(
        run(&hs_tool_sliding_apply, "{\"func\": \"sum\"}", T0 + S(10), T0 + S(10), &m, 2, &out),
        HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 0);
    hs_tool_output_free(&out);
    mem_free(&m);
}

/*
 * Random data (numbers with gaps and some text) and windows of the given
 * kind; checks every reducer over (start, end] against brute force.
 * Window kinds: 0 regular sliding windows, 1 random widths (starts that go
 * back and forth), 2 aligning windows reaching past their time.
 */
static void check_sliding_random(int kind, int64_t base)
{
    mem m;
    mem_init(&m, 2);
    int64_t t = base;
    for (int i = 0; i < 12000; i++) {
        t += 1 + (int64_t)rnd(S(2));
        if (rnd(50) == 0)
            t += S(40); /* a gap */
        if (rnd(20) == 0)
            push_json(&m.src[1], t, "\"text\"");
        else if (rnd(10) == 0)
            push_int(&m.src[1], t, (int64_t)rnd(100) - 50);
        else
            push_double(&m.src[1], t, rnd_value());
    }
    int64_t data_end = t;
    int64_t start = base + S(600), end = data_end - S(300);
    for (int64_t w = base + S(30); w < data_end; w += S(13)) {
        int64_t lo = w - S(37), up = w;
        if (kind == 1)
            lo = w - (int64_t)rnd(S(120)) - 1;
        if (kind == 2) {
            lo = w - S(20);
            up = w + S(20);
        }
        push_window(&m.src[0], w, lo, up);
    }
    for (size_t f = 0; f < N_REDUCERS; f++) {
        char params[64];
        snprintf(params, sizeof params, "{\"func\": \"%s\"}", all_reducers[f]);
        hs_tool_output out;
        CU_ASSERT_EQUAL_FATAL(run(&hs_tool_sliding_apply, params, start, end, &m, 2, &out), HS_OK);
        /* Brute force: every window in the job, every data point of (lo, min(up, end)]. */
        const hs_batch *wb = &m.src[0], *db = &m.src[1];
        double *vals = malloc(db->n * sizeof *vals);
        size_t k = 0;
        bool ok = true;
        for (size_t w = 0; w < wb->n; w++) {
            int64_t wt = wb->items[w].t_us, lo, up;
            if (wt <= start || wt > end)
                continue;
            window_at(wb, w, &lo, &up);
            if (up > end)
                up = end;
            size_t n = 0;
            for (size_t i = 0; i < db->n; i++) {
                int64_t dt = db->items[i].t_us;
                double d;
                if (dt > lo && dt <= up &&
                    hs_func_number(hs_batch_value(db, i), db->items[i].len, &d))
                    vals[n++] = d;
            }
            if (n == 0)
                continue;
            double want = brute(all_reducers[f], vals, n);
            if (k >= out.per_sink[0].n || out.per_sink[0].items[k].t_us != wt ||
                !close_to(num_at(&out.per_sink[0], k), want)) {
                ok = false;
                break;
            }
            k++;
        }
        CU_ASSERT_TRUE(ok);
        CU_ASSERT_EQUAL(k, out.per_sink[0].n);
        CU_ASSERT_TRUE(k > 100);
        free(vals);
        hs_tool_output_free(&out);
    }
    /*
     * The same data cut into jobs gives the same instances, as long as no
     * window reaches past its own time (data after a job's end is not read).
     */
    if (kind != 2) {
        int64_t cuts[] = {start + S(100) + 7, start + S(101), start + S(5000), end - S(2000)};
        check_split(&hs_tool_sliding_apply, "{\"func\": \"median\"}", start, end, &m, 2, cuts, 4);
        check_split(&hs_tool_sliding_apply, "{\"func\": \"mean\"}", start, end, &m, 2, cuts, 4);
    }
    mem_free(&m);
}

static void test_sliding_apply_random(void)
{
    check_sliding_random(0, T0);
    check_sliding_random(1, T0);
    check_sliding_random(2, T0);
    /* Before 1970. */
    check_sliding_random(0, -S(100000));
}

/* Windows of sliding_window feed sliding_apply; splitting the pipeline's jobs changes nothing. */
static void test_sliding_pipeline_split(void)
{
    mem m;
    mem_init(&m, 2);
    for (int i = 1; i <= 7200; i++)
        push_double(&m.src[1], T0 + S(i), rnd_value());
    hs_tool_output w;
    CU_ASSERT_EQUAL_FATAL(run(&hs_tool_sliding_window, "{\"width\": \"5m\", \"increment\": \"1m\"}",
                              T0, T0 + S(7200), &m, 0, &w),
                          HS_OK);
    CU_ASSERT_EQUAL(w.per_sink[0].n, 120);
    for (size_t i = 0; i < w.per_sink[0].n; i++)
        hs_batch_push(&m.src[0], w.per_sink[0].items[i].t_us, hs_batch_value(&w.per_sink[0], i),
                      w.per_sink[0].items[i].len);
    hs_tool_output_free(&w);
    int64_t cuts[] = {T0 + S(301), T0 + S(599), T0 + S(600), T0 + S(3333)};
    check_split(&hs_tool_sliding_apply, "{\"func\": \"std\"}", T0, T0 + S(7200), &m, 2, cuts, 4);

    /* Overlapping windows with non-decreasing starts read the data once, in chunks. */
    hs_tool_output out;
    m.reads = 0;
    CU_ASSERT_EQUAL(
        run(&hs_tool_sliding_apply, "{\"func\": \"mean\"}", T0, T0 + S(7200), &m, 2, &out), HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 120);
    /* Windows: one read; data: 7200 instances in chunks of 4096, at most 2 reads. */
    CU_ASSERT_TRUE(m.reads <= 3);
    hs_tool_output_free(&out);
    mem_free(&m);
}

static void test_sliding_apply_errors(void)
{
    mem m;
    mem_init(&m, 2);
    push_window(&m.src[0], T0 + S(10), T0, T0 + S(10));
    hs_tool_output out;
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_apply, NULL, T0, T0 + S(60), &m, 2, &out), HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "'func'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "median"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_apply, "{\"func\": \"avg\"}", T0, T0 + S(60), &m, 2, &out),
                    HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "unknown function 'avg'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "mean, sum, count, min, max, median, std"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_sliding_apply, "{\"func\": 3}", T0, T0 + S(60), &m, 2, &out),
                    HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "func"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(
        run(&hs_tool_sliding_apply, "{\"func\": \"mean\"}", T0, T0 + S(60), &m, 1, &out),
        HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "2 sources"));
    hs_tool_output_free(&out);
    mem_free(&m);
}

/* ------------------------------------------------------------------ aggregate */

static void test_aggregate_merge(void)
{
    mem m;
    mem_init(&m, 3);
    push_double(&m.src[0], T0 + S(1), 1);
    push_double(&m.src[0], T0 + S(2), 2);
    push_double(&m.src[0], T0 + S(3), 3);
    push_int(&m.src[1], T0 + S(2), 20);
    push_int(&m.src[1], T0 + S(3), 30);
    push_int(&m.src[1], T0 + S(4), 40);
    push_json(&m.src[2], T0 + S(3), "\"warm\"");
    push_double(&m.src[2], T0 + S(5), 500);
    push_double(&m.src[2], T0 + S(61), 9); /* after the job */
    hs_tool_output out;
    CU_ASSERT_EQUAL(run(&hs_tool_aggregate, "{\"func\": \"sum\"}", T0, T0 + S(60), &m, 3, &out),
                    HS_OK);
    static const double sums[] = {1, 22, 33, 40, 500};
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 5);
    for (size_t i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(out.per_sink[0].items[i].t_us, T0 + S(i + 1));
        CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], i), sums[i], 0);
    }
    hs_tool_output_free(&out);

    /* first/last follow the source order; count is an integer. */
    CU_ASSERT_EQUAL(run(&hs_tool_aggregate, "{\"func\": \"last\"}", T0, T0 + S(60), &m, 3, &out),
                    HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], 1), 20, 0);
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_aggregate, "{\"func\": \"first\"}", T0, T0 + S(60), &m, 3, &out),
                    HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], 1), 2, 0);
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_aggregate, "{\"func\": \"count\"}", T0, T0 + S(60), &m, 3, &out),
                    HS_OK);
    CU_ASSERT_TRUE(is_int_at(&out.per_sink[0], 2));
    CU_ASSERT_EQUAL(num_at(&out.per_sink[0], 2), 2);
    hs_tool_output_free(&out);

    /* A job in the middle only sees its own timestamps. */
    CU_ASSERT_EQUAL(
        run(&hs_tool_aggregate, "{\"func\": \"mean\"}", T0 + S(2), T0 + S(4), &m, 3, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 2);
    CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], 0), 16.5, 0);
    CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], 1), 40, 0);
    hs_tool_output_free(&out);

    /* Errors. */
    CU_ASSERT_EQUAL(run(&hs_tool_aggregate, "{}", T0, T0 + S(60), &m, 3, &out), HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "'func'"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_aggregate, "{\"func\": \"abs\"}", T0, T0 + S(60), &m, 3, &out),
                    HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "unknown function 'abs'"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_aggregate, "{\"func\": \"sum\"}", T0, T0 + S(60), &m, 0, &out),
                    HS_ERR_TOOL);
    hs_tool_output_free(&out);
    mem_free(&m);
}

/* nsrc sources of random, partly shared timestamps; every reducer against brute force. */
static void check_aggregate_random(size_t nsrc)
{
    mem m;
    mem_init(&m, nsrc);
    for (size_t s = 0; s < nsrc; s++) {
        int64_t t = T0 - S(100);
        for (int i = 0; i < 6000; i++) {
            t += S(1 + (int64_t)rnd(3)); /* on the second grid: many shared timestamps */
            if (rnd(30) == 0)
                push_json(&m.src[s], t, "[1]");
            else
                push_double(&m.src[s], t, rnd_value());
        }
    }
    int64_t start = T0, end = T0 + S(10000);
    for (size_t f = 0; f < N_REDUCERS; f++) {
        char params[64];
        snprintf(params, sizeof params, "{\"func\": \"%s\"}", all_reducers[f]);
        hs_tool_output out;
        CU_ASSERT_EQUAL_FATAL(run(&hs_tool_aggregate, params, start, end, &m, nsrc, &out), HS_OK);
        /* Brute force over every second of the job (all timestamps are whole seconds). */
        size_t k = 0, pos[MAX_SRC] = {0};
        bool ok = true;
        for (int64_t t = start + S(1); t <= end && ok; t += S(1)) {
            double vals[MAX_SRC];
            size_t n = 0;
            for (size_t s = 0; s < nsrc; s++) {
                const hs_batch *b = &m.src[s];
                while (pos[s] < b->n && b->items[pos[s]].t_us < t)
                    pos[s]++;
                double d;
                if (pos[s] < b->n && b->items[pos[s]].t_us == t &&
                    hs_func_number(hs_batch_value(b, pos[s]), b->items[pos[s]].len, &d))
                    vals[n++] = d;
            }
            if (n == 0)
                continue;
            double want = brute(all_reducers[f], vals, n);
            if (k >= out.per_sink[0].n || out.per_sink[0].items[k].t_us != t ||
                !close_to(num_at(&out.per_sink[0], k), want))
                ok = false;
            k++;
        }
        CU_ASSERT_TRUE(ok);
        CU_ASSERT_EQUAL(k, out.per_sink[0].n);
        CU_ASSERT_TRUE(k > 1000);
        hs_tool_output_free(&out);
    }
    mem_free(&m);
}

static void test_aggregate_random(void)
{
    check_aggregate_random(1);
    check_aggregate_random(4);
    check_aggregate_random(MAX_SRC);
}

/* ------------------------------------------------------------------ splitter */

static const char *const rooms[] = {"temp/house=1/room=kitchen", "temp/house=1/room=lounge",
                                    "temp/house=1/room=7", "temp/house=1/room=true"};

static int run_split(const char *params, mem *m, hs_tool_output *out)
{
    return run_sinks(&hs_tool_splitter, params, T0, T0 + S(60), m, 1, rooms, 4, "room", out);
}

static void test_splitter(void)
{
    mem m;
    mem_init(&m, 1);
    push_json(&m.src[0], T0 + S(1), "{\"room\": \"kitchen\", \"temp\": 21.5, \"hum\": 40}");
    push_json(&m.src[0], T0 + S(2), "{\"temp\": 19, \"room\": \"lounge\"}");
    push_json(&m.src[0], T0 + S(3), "{\"room\": \"attic\", \"temp\": 12}"); /* no such sink */
    push_json(&m.src[0], T0 + S(4), "[\"kitchen\", 22]");                   /* not a map */
    push_json(&m.src[0], T0 + S(5), "{\"temp\": 23}");                      /* no element */
    push_json(&m.src[0], T0 + S(6), "{\"room\": 7, \"temp\": 24}");         /* integer key */
    push_json(&m.src[0], T0 + S(7), "{\"room\": true}");                    /* bool key */
    push_json(&m.src[0], T0 + S(8), "{\"room\": [1], \"temp\": 25}");       /* unusable key */
    push_json(&m.src[0], T0 + S(9), "{\"room\": \"kitchen\", \"temp\": {\"c\": 20}}");
    hs_tool_output out;
    CU_ASSERT_EQUAL_FATAL(run_split("{\"element\": \"room\"}", &m, &out), HS_OK);
    CU_ASSERT_EQUAL(out.nsinks, 4);
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 2);
    CU_ASSERT_EQUAL(out.per_sink[0].items[0].t_us, T0 + S(1));
    CU_ASSERT_STRING_EQUAL(json_at(&out.per_sink[0], 0), "{\"temp\":21.5,\"hum\":40}");
    CU_ASSERT_STRING_EQUAL(json_at(&out.per_sink[0], 1), "{\"temp\":{\"c\":20}}");
    CU_ASSERT_EQUAL_FATAL(out.per_sink[1].n, 1);
    CU_ASSERT_STRING_EQUAL(json_at(&out.per_sink[1], 0), "{\"temp\":19}");
    CU_ASSERT_EQUAL_FATAL(out.per_sink[2].n, 1);
    CU_ASSERT_EQUAL(out.per_sink[2].items[0].t_us, T0 + S(6));
    CU_ASSERT_STRING_EQUAL(json_at(&out.per_sink[2], 0), "{\"temp\":24}");
    CU_ASSERT_EQUAL_FATAL(out.per_sink[3].n, 1);
    CU_ASSERT_STRING_EQUAL(json_at(&out.per_sink[3], 0), "{}");
    CU_ASSERT_EQUAL(out.warnings, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.warning, "attic"));
    hs_tool_output_free(&out);

    /* With a mapping: keys are translated; a key missing from the mapping is dropped. */
    mem_free(&m);
    mem_init(&m, 1);
    push_json(&m.src[0], T0 + S(1), "{\"r\": \"k\", \"v\": 1}");
    push_json(&m.src[0], T0 + S(2), "{\"r\": \"l\", \"v\": 2}");
    push_json(&m.src[0], T0 + S(3), "{\"r\": \"kitchen\", \"v\": 3}"); /* not a mapping key */
    push_json(&m.src[0], T0 + S(4), "{\"r\": 2, \"v\": 4}");
    push_json(&m.src[0], T0 + S(5), "{\"v\": 5, \"r\": \"x\"}"); /* maps to an unknown value */
    CU_ASSERT_EQUAL_FATAL(
        run_split("{\"element\": \"r\", \"mapping\": {\"k\": \"kitchen\", \"l\": \"lounge\", "
                  "\"2\": 7, \"x\": \"cellar\"}}",
                  &m, &out),
        HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 1);
    CU_ASSERT_STRING_EQUAL(json_at(&out.per_sink[0], 0), "{\"v\":1}");
    CU_ASSERT_EQUAL(out.per_sink[1].n, 1);
    CU_ASSERT_EQUAL(out.per_sink[2].n, 1);
    CU_ASSERT_STRING_EQUAL(json_at(&out.per_sink[2], 0), "{\"v\":4}");
    CU_ASSERT_EQUAL(out.per_sink[3].n, 0);
    CU_ASSERT_EQUAL(out.warnings, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.warning, "not in the mapping"));
    hs_tool_output_free(&out);

    /* Bad parameters. */
    CU_ASSERT_EQUAL(run_split("{}", &m, &out), HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "element"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run_split("{\"element\": \"r\", \"mapping\": [1]}", &m, &out), HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "mapping"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run_split("{\"element\": \"r\", \"mapping\": {\"k\": [1]}}", &m, &out),
                    HS_ERR_TOOL);
    hs_tool_output_free(&out);
    mem_free(&m);
}

static void test_splitter_float_keys(void)
{
    static const char *const sinks[] = {"t/k=1.0", "t/k=2.5", "t/k=0.1", "t/k=-3.0"};
    mem m;
    mem_init(&m, 1);
    push_json(&m.src[0], T0 + S(1), "{\"k\": 1.0}");
    push_json(&m.src[0], T0 + S(2), "{\"k\": 2.5}");
    push_json(&m.src[0], T0 + S(3), "{\"k\": 0.1}");
    push_json(&m.src[0], T0 + S(4), "{\"k\": -3.0}");
    hs_tool_output out;
    CU_ASSERT_EQUAL_FATAL(run_sinks(&hs_tool_splitter, "{\"element\": \"k\"}", T0, T0 + S(60), &m,
                                    1, sinks, 4, "k", &out),
                          HS_OK);
    for (size_t i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(out.per_sink[i].n, 1);
    CU_ASSERT_EQUAL(out.warnings, 0);
    hs_tool_output_free(&out);
    mem_free(&m);
}

/* ------------------------------------------------------------------ apply */

/* Runs apply with func over the JSON values given, one per second, into out. */
static int run_apply(const char *func, const char *const *values, size_t n, hs_tool_output *out)
{
    mem m;
    mem_init(&m, 1);
    for (size_t i = 0; i < n; i++)
        push_json(&m.src[0], T0 + S(i + 1), values[i]);
    char params[96];
    snprintf(params, sizeof params, "{\"func\": \"%s\"}", func);
    int rc = run(&hs_tool_apply, params, T0, T0 + S(60), &m, 1, out);
    mem_free(&m);
    return rc;
}

/* Checks func over values: the outputs as JSON, in order (NULL: skipped with a warning). */
static void check_apply(const char *func, const char *const *values, const char *const *want,
                        size_t n)
{
    hs_tool_output out;
    CU_ASSERT_EQUAL_FATAL(run_apply(func, values, n, &out), HS_OK);
    size_t k = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        if (want[i] == NULL) {
            skipped++;
            continue;
        }
        CU_ASSERT_TRUE_FATAL(k < out.per_sink[0].n);
        CU_ASSERT_EQUAL(out.per_sink[0].items[k].t_us, T0 + S(i + 1));
        if (strcmp(json_at(&out.per_sink[0], k), want[i]) != 0)
            fprintf(stderr, "\n%s(%s) = %s, want %s\n", func, values[i],
                    json_at(&out.per_sink[0], k), want[i]);
        CU_ASSERT_STRING_EQUAL(json_at(&out.per_sink[0], k), want[i]);
        k++;
    }
    CU_ASSERT_EQUAL(out.per_sink[0].n, k);
    CU_ASSERT_EQUAL(out.warnings, skipped);
    hs_tool_output_free(&out);
}

#define CHECK_APPLY(func, values, want)                                                            \
    do {                                                                                           \
        CU_ASSERT_EQUAL(sizeof(values) / sizeof(values)[0], sizeof(want) / sizeof(want)[0]);       \
        check_apply(func, values, want, sizeof(values) / sizeof(values)[0]);                       \
    } while (0)

static void test_apply_numeric(void)
{
    static const char *const in[] = {"-5", "-2.5", "\"x\"", "true", "null", "7", "0"};
    static const char *const abs_w[] = {"5", "2.5", NULL, "1", NULL, "7", "0"};
    CHECK_APPLY("abs", in, abs_w);
    static const char *const neg_w[] = {"5", "2.5", NULL, "-1", NULL, "-7", "0"};
    CHECK_APPLY("neg", in, neg_w);
    static const char *const id_w[] = {"-5", "-2.5", "\"x\"", "true", "null", "7", "0"};
    CHECK_APPLY("identity", in, id_w);

    static const char *const rin[] = {"2.5", "3.5", "-1.5", "4", "-2.7", "1e300"};
    static const char *const floor_w[] = {"2.0", "3.0", "-2.0", "4", "-3.0", "1e+300"};
    CHECK_APPLY("floor", rin, floor_w);
    static const char *const ceil_w[] = {"3.0", "4.0", "-1.0", "4", "-2.0", "1e+300"};
    CHECK_APPLY("ceil", rin, ceil_w);
    static const char *const round_w[] = {"2.0", "4.0", "-2.0", "4", "-3.0", "1e+300"};
    CHECK_APPLY("round", rin, round_w);

    static const char *const sin_[] = {"16", "2.25", "-1", "0", "\"4\""};
    static const char *const sqrt_w[] = {"4.0", "1.5", NULL, "0.0", NULL};
    CHECK_APPLY("sqrt", sin_, sqrt_w);
    static const char *const lin[] = {"1", "100", "0", "-3", "0.001"};
    static const char *const log10_w[] = {"0.0", "2.0", NULL, NULL, "-3.0"};
    CHECK_APPLY("log10", lin, log10_w);
    static const char *const log_w[] = {"0.0", NULL, NULL, NULL, NULL};
    hs_tool_output out;
    CU_ASSERT_EQUAL(run_apply("log", lin, 5, &out), HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 3);
    CU_ASSERT_DOUBLE_EQUAL(num_at(&out.per_sink[0], 1), log(100), 1e-12);
    hs_tool_output_free(&out);
    (void)log_w;
    static const char *const ein[] = {"0", "1000", "-1000"};
    static const char *const exp_w[] = {"1.0", NULL, "0.0"};
    CHECK_APPLY("exp", ein, exp_w);

    static const char *const tin[] = {"100", "0", "-40", "37.5"};
    static const char *const ctof_w[] = {"212.0", "32.0", "-40.0", "99.5"};
    CHECK_APPLY("c_to_f", tin, ctof_w);
    static const char *const fin[] = {"212", "32", "-40", "99.5"};
    static const char *const ftoc_w[] = {"100.0", "0.0", "-40.0", "37.5"};
    CHECK_APPLY("f_to_c", fin, ftoc_w);

    /* INT64_MIN has no integer opposite. */
    static const char *const min_in[] = {"-9223372036854775808", "9223372036854775807"};
    static const char *const abs_min_w[] = {"9.223372036854776e+18", "9223372036854775807"};
    CHECK_APPLY("abs", min_in, abs_min_w);
    static const char *const neg_min_w[] = {"9.223372036854776e+18", "-9223372036854775807"};
    CHECK_APPLY("neg", min_in, neg_min_w);
}

static void test_apply_other(void)
{
    static const char *const lin[] = {
        "\"h\\u00e9llo\"", "[1, 2, 3]", "{\"a\": 1, \"b\": 2}", "\"\"", "5", "null"};
    static const char *const len_w[] = {"5", "3", "2", "0", NULL, NULL};
    CHECK_APPLY("len", lin, len_w);
    static const char *const nin[] = {"true", "false", "1", "\"true\""};
    static const char *const not_w[] = {"false", "true", NULL, NULL};
    CHECK_APPLY("not", nin, not_w);
    static const char *const mapin[] = {"{\"a\": [1, {\"b\": null}]}"};
    static const char *const map_w[] = {"{\"a\":[1,{\"b\":null}]}"};
    CHECK_APPLY("identity", mapin, map_w);

    /* Errors: missing, unknown, reducer names, timestamps with a built-in. */
    mem m;
    mem_init(&m, 1);
    push_json(&m.src[0], T0 + S(1), "1");
    hs_tool_output out;
    CU_ASSERT_EQUAL(run(&hs_tool_apply, NULL, T0, T0 + S(60), &m, 1, &out), HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "'func'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "identity"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_apply, "{\"func\": \"mean\"}", T0, T0 + S(60), &m, 1, &out),
                    HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "unknown function 'mean'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "c_to_f"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_apply, "{\"func\": \"abs\", \"include_timestamps\": true}", T0,
                        T0 + S(60), &m, 1, &out),
                    HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "include_timestamps"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_apply, "{\"func\": \"abs\", \"include_timestamps\": 1}", T0,
                        T0 + S(60), &m, 1, &out),
                    HS_ERR_TOOL);
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(
        run(&hs_tool_apply, "{\"func\": \"lua: return x\"}", T0, T0 + S(60), &m, 1, &out),
        HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "Lua"));
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_apply, "{\"func\": \"abs\", \"include_timestamps\": false}", T0,
                        T0 + S(60), &m, 1, &out),
                    HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 1);
    hs_tool_output_free(&out);
    mem_free(&m);
}

/* ------------------------------------------------------------------ asset_writer */

static void test_asset_writer(void)
{
    mem m;
    mem_init(&m, 0);
    hs_tool_output out;
    CU_ASSERT_EQUAL(run(&hs_tool_asset_writer, "{\"value\": {\"k\": \"kitchen\", \"n\": [1, 2.5]}}",
                        T0, T0 + S(60), &m, 0, &out),
                    HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 1);
    CU_ASSERT_EQUAL(out.per_sink[0].items[0].t_us, T0 + S(60));
    CU_ASSERT_STRING_EQUAL(json_at(&out.per_sink[0], 0), "{\"k\":\"kitchen\",\"n\":[1,2.5]}");
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_asset_writer, "{\"value\": null}", -S(10), -S(5), &m, 0, &out),
                    HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.per_sink[0].n, 1);
    CU_ASSERT_EQUAL(out.per_sink[0].items[0].t_us, -S(5));
    CU_ASSERT_STRING_EQUAL(json_at(&out.per_sink[0], 0), "null");
    hs_tool_output_free(&out);
    CU_ASSERT_EQUAL(run(&hs_tool_asset_writer, "{}", T0, T0 + S(60), &m, 0, &out), HS_ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "'value'"));
    hs_tool_output_free(&out);
    mem_free(&m);
}

/* ------------------------------------------------------------------ definitions */

static const hs_tool_def *const all_defs[] = {
    &hs_tool_aggregate,     &hs_tool_apply,          &hs_tool_asset_writer, &hs_tool_clock,
    &hs_tool_sliding_apply, &hs_tool_sliding_window, &hs_tool_splitter,
};
#define N_DEFS (sizeof all_defs / sizeof all_defs[0])

static int check_json(const hs_tool_def *def, const char *json, hs_buf *err)
{
    hs_buf p;
    hs_buf_init(&p, 0);
    CU_ASSERT_EQUAL(hs_json_to_mpack(json, strlen(json), &p), HS_OK);
    hs_buf_reset(err);
    int rc = hs_tool_check_params(def, p.data, p.len, err);
    hs_buf_free(&p);
    return rc;
}

static void test_definitions(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    for (size_t i = 0; i < N_DEFS; i++) {
        const hs_tool_def *d = all_defs[i];
        CU_ASSERT_STRING_EQUAL(d->version, "1.0.0");
        CU_ASSERT_TRUE(d->summary != NULL && strlen(d->summary) > 10 && !strchr(d->summary, '\n'));
        CU_ASSERT_TRUE(d->doc != NULL && strlen(d->doc) > 200);
        CU_ASSERT_PTR_NOT_NULL(strstr(d->doc, "HyperStream"));
        CU_ASSERT_TRUE((d->run != NULL) != (d->map != NULL));
        CU_ASSERT_TRUE(d->max_sources < 0 || d->min_sources <= d->max_sources);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d->params);
        /* Every default is JSON of the declared type, and accepted when given explicitly. */
        bool required = false;
        for (const hs_tool_param *p = d->params; p->name != NULL; p++) {
            CU_ASSERT_PTR_NOT_NULL(p->help);
            if (p->def == NULL) {
                required = true;
                continue;
            }
            char json[256];
            snprintf(json, sizeof json, "{\"%s\": %s}", p->name, p->def);
            int rc = check_json(d, json, &err);
            /* Only the missing required parameters may be reported. */
            CU_ASSERT_TRUE(rc == HS_OK || strstr(hs_buf_cstr(&err), "needs parameter") != NULL);
            CU_ASSERT_PTR_NULL(strstr(hs_buf_cstr(&err), "must be"));
        }
        int rc = check_json(d, "{}", &err);
        CU_ASSERT_EQUAL(rc, required ? HS_ERR_SCHEMA : HS_OK);
        CU_ASSERT_EQUAL(check_json(d, "{\"no_such_param\": 1}", &err), HS_ERR_SCHEMA);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "no_such_param"));
    }
    CU_ASSERT_EQUAL(check_json(&hs_tool_sliding_apply, "{\"func\": \"mean\"}", &err), HS_OK);
    CU_ASSERT_EQUAL(check_json(&hs_tool_sliding_apply, "{\"func\": 1}", &err), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(check_json(&hs_tool_aggregate, "{\"func\": \"median\"}", &err), HS_OK);
    CU_ASSERT_EQUAL(
        check_json(&hs_tool_apply, "{\"func\": \"abs\", \"include_timestamps\": 0}", &err),
        HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(check_json(&hs_tool_clock, "{\"stride\": \"10s\", \"first\": 0}", &err), HS_OK);
    CU_ASSERT_EQUAL(check_json(&hs_tool_clock, "{\"stride\": \"ten\"}", &err), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(check_json(&hs_tool_sliding_window,
                               "{\"width\": \"1m\", \"increment\": \"10s\", \"first\": "
                               "\"2016-01-01T00:00:00Z\"}",
                               &err),
                    HS_OK);
    CU_ASSERT_EQUAL(check_json(&hs_tool_splitter, "{\"element\": \"room\"}", &err), HS_OK);
    CU_ASSERT_EQUAL(
        check_json(&hs_tool_splitter, "{\"element\": \"room\", \"mapping\": [1]}", &err),
        HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(check_json(&hs_tool_asset_writer, "{\"value\": [1, 2]}", &err), HS_OK);
    CU_ASSERT_EQUAL(check_json(&hs_tool_asset_writer, "{\"value\": null}", &err), HS_OK);
    hs_buf_free(&err);

    /* The registry holds each once (with the other parts' tools), in name order. */
    hs_tool_registry *r;
    CU_ASSERT_EQUAL_FATAL(hs_tool_registry_create(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_builtin_tools_register(r), HS_OK);
    CU_ASSERT_TRUE(hs_tool_registry_count(r) >= N_DEFS);
    for (size_t i = 0; i < N_DEFS; i++)
        CU_ASSERT_PTR_EQUAL(hs_tool_registry_find(r, all_defs[i]->name), all_defs[i]);
    for (size_t i = 1; i < hs_tool_registry_count(r); i++)
        CU_ASSERT_TRUE(
            strcmp(hs_tool_registry_at(r, i - 1)->name, hs_tool_registry_at(r, i)->name) <= 0);
    CU_ASSERT_EQUAL(hs_builtin_tools_register(r), HS_ERR_EXISTS);
    hs_tool_registry_destroy(r);
}

/*
 * The shared (t, v) buffer keeps the points not dropped, in order, across
 * growth and across the slides that reuse the room freed at the front.
 */
static void test_tvbuf(void)
{
    hs_tvbuf b;
    hs_tvbuf_init(&b);
    int64_t next_drop = 0;
    for (int64_t t = 1; t <= 5000; t++) {
        CU_ASSERT_EQUAL_FATAL(hs_tvbuf_push(&b, t, (double)t * 0.5), HS_OK);
        if (t % 700 == 0) {
            next_drop = t - 100; /* keep the last 100 points */
            hs_tvbuf_drop_through(&b, next_drop);
        }
    }
    /* Dropped through 4800 (t = 4900): 4801 .. 5000 remain. */
    CU_ASSERT_EQUAL(next_drop, 4800);
    CU_ASSERT_EQUAL_FATAL(b.n - b.head, 200);
    for (size_t i = b.head; i < b.n; i++) {
        CU_ASSERT_EQUAL(b.t[i], 4801 + (int64_t)(i - b.head));
        CU_ASSERT_DOUBLE_EQUAL(b.v[i], (double)b.t[i] * 0.5, 0);
    }
    /* Room freed at the front is reused: the capacity stays that of 1024 live points. */
    CU_ASSERT(b.cap <= 2048);
    hs_tvbuf_drop_through(&b, 10000);
    CU_ASSERT_EQUAL(b.n - b.head, 0);
    CU_ASSERT_EQUAL(hs_tvbuf_push(&b, 7, 1.0), HS_OK);
    hs_tvbuf_clear(&b);
    CU_ASSERT_EQUAL(b.n, 0);
    hs_tvbuf_free(&b);
    CU_ASSERT_PTR_NULL(b.t);
}

/*
 * The registry keyed by (name, major.minor): versions of one tool side by
 * side, the newest found by name, each version by major.minor (any patch),
 * listed newest first; the same major.minor twice is refused.
 */
static int reg_nop(hs_tool_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    return HS_OK;
}

static void test_registry_versions(void)
{
    static const hs_tool_def v0_9 = {.name = "vt", .version = "0.9.4", .run = reg_nop};
    static const hs_tool_def v1_0 = {.name = "vt", .version = "1.0.0", .run = reg_nop};
    static const hs_tool_def v1_10 = {.name = "vt", .version = "1.10.2", .run = reg_nop};
    static const hs_tool_def v1_2 = {.name = "vt", .version = "1.2.0", .run = reg_nop};
    static const hs_tool_def v1_2b = {.name = "vt", .version = "1.2.5", .run = reg_nop};
    static const hs_tool_def other = {.name = "vu", .version = "3.0.0", .run = reg_nop};
    static const hs_tool_def before = {.name = "va", .version = "1.0.0", .run = reg_nop};
    hs_tool_registry *r;
    CU_ASSERT_EQUAL_FATAL(hs_tool_registry_create(&r), HS_OK);
    /* Added out of order: the registry orders them, not the caller. */
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &v1_0), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &other), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &v0_9), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &v1_10), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &before), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &v1_2), HS_OK);
    /* 1.2.5 has the binding of 1.2.0: refused, and the registry is unchanged. */
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &v1_2b), HS_ERR_EXISTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "tool vt version 1.2 is defined twice"));
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &v1_2), HS_ERR_EXISTS);
    CU_ASSERT_EQUAL_FATAL(hs_tool_registry_count(r), 6);

    /* Name order, newest first within a name (1.10 is newer than 1.2). */
    const hs_tool_def *order[6] = {&before, &v1_10, &v1_2, &v1_0, &v0_9, &other};
    for (size_t i = 0; i < 6; i++)
        CU_ASSERT_PTR_EQUAL(hs_tool_registry_at(r, i), order[i]);
    CU_ASSERT_PTR_NULL(hs_tool_registry_at(r, 6));

    CU_ASSERT_PTR_EQUAL(hs_tool_registry_find(r, "vt"), &v1_10);
    CU_ASSERT_PTR_EQUAL(hs_tool_registry_find(r, "vu"), &other);
    CU_ASSERT_PTR_EQUAL(hs_tool_registry_find(r, "va"), &before);
    CU_ASSERT_PTR_NULL(hs_tool_registry_find(r, "v"));

    CU_ASSERT_PTR_EQUAL(hs_tool_registry_find_version(r, "vt", "1.0"), &v1_0);
    CU_ASSERT_PTR_EQUAL(hs_tool_registry_find_version(r, "vt", "1.0.3"), &v1_0); /* patch */
    CU_ASSERT_PTR_EQUAL(hs_tool_registry_find_version(r, "vt", "0.9"), &v0_9);
    CU_ASSERT_PTR_EQUAL(hs_tool_registry_find_version(r, "vt", "1.2.5"), &v1_2);
    CU_ASSERT_PTR_EQUAL(hs_tool_registry_find_version(r, "vt", "1.10"), &v1_10);
    CU_ASSERT_PTR_NULL(hs_tool_registry_find_version(r, "vt", "1.1"));
    CU_ASSERT_PTR_NULL(hs_tool_registry_find_version(r, "vt", "3.0")); /* vu's version */
    CU_ASSERT_PTR_NULL(hs_tool_registry_find_version(r, "vt", "one"));
    CU_ASSERT_PTR_NULL(hs_tool_registry_find_version(r, "vt", NULL));
    CU_ASSERT_PTR_NULL(hs_tool_registry_find_version(r, "nope", "1.0"));

    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_tool_registry_versions(r, "vt", &b), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "1.10.2, 1.2.0, 1.0.0, 0.9.4");
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_tool_registry_versions(r, "vu", &b), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "3.0.0");
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_tool_registry_versions(r, "nope", &b), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "");
    hs_buf_free(&b);
    hs_tool_registry_destroy(r);
}

HS_TEST_INIT(tools)
{
    HS_TEST_SUITE_BEGIN("tools");
    HS_TEST(test_clock_acceptance);
    HS_TEST(test_clock_grid);
    HS_TEST(test_clock_split_and_errors);
    HS_TEST(test_sliding_window_acceptance);
    HS_TEST(test_sliding_window_grid);
    HS_TEST(test_sliding_window_errors);
    HS_TEST(test_functions_lookup);
    HS_TEST(test_sliding_apply_basic);
    HS_TEST(test_sliding_apply_skips);
    HS_TEST(test_sliding_apply_random);
    HS_TEST(test_sliding_pipeline_split);
    HS_TEST(test_sliding_apply_errors);
    HS_TEST(test_aggregate_merge);
    HS_TEST(test_aggregate_random);
    HS_TEST(test_splitter);
    HS_TEST(test_splitter_float_keys);
    HS_TEST(test_apply_numeric);
    HS_TEST(test_apply_other);
    HS_TEST(test_asset_writer);
    HS_TEST(test_definitions);
    HS_TEST(test_tvbuf);
    HS_TEST(test_registry_versions);
    return 0;
}
