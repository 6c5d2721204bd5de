/*
 * Tests of the tools of part "hs1" (list, dict, merge and window tools),
 * run through hs_tool_run over the in-memory sources of tool_harness.h:
 * the documented semantics with HyperStream's examples, the bugs that are
 * not reproduced, edge cases (empty intervals and lists, missing keys,
 * values of the wrong kind, windows before the interval), split invariance
 * and bad parameters.
 */
#include "test_suites.h"

#include "functions.h"
#include "hs1.h"
#include "tool_harness.h"
#include "tools.h"

#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define S(x) ((int64_t)(x)*HS_US_PER_S)
/* 2016-04-28T20:00:00Z. */
#define T0 S(1461873600)

/* ------------------------------------------------------------------ helpers */

/* Asserts two strings are equal, printing both when they are not. */
#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (strcmp(g_, w_) != 0)                                                                   \
            fprintf(stderr, "\n%s:%d:\n  got  %s\n  want %s\n", __FILE__, __LINE__, g_, w_);       \
        CU_ASSERT_STRING_EQUAL(g_, w_);                                                            \
    } while (0)

static size_t g_warnings;     /* warnings of the last run */
static char g_warning[512];   /* its first warning */
static char g_bufs[4][65536]; /* rotating result buffers */
static int g_next;

/* Appends the instances of b as "t=json;" with t in seconds after T0. */
static void render(const hs_batch *b, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < b->n && used < size; i++) {
        int64_t d = b->items[i].t_us - T0;
        int w;
        if (d % HS_US_PER_S == 0)
            w = snprintf(out + used, size - used, "%lld=%s;", (long long)(d / HS_US_PER_S),
                         th_json(b, i));
        else
            w = snprintf(out + used, size - used, "%.6f=%s;", (double)d / 1e6, th_json(b, i));
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/*
 * Runs j: the output of sink 0 rendered ("" when empty), or "FAIL: <error>".
 * The result stays valid for the next three runs.
 */
static const char *run_j(th_job *j)
{
    char *buf = g_bufs[g_next];
    g_next = (g_next + 1) % 4;
    hs_tool_output out;
    int rc = th_run(j, &out);
    g_warnings = out.warnings;
    snprintf(g_warning, sizeof g_warning, "%s", out.warning);
    if (rc != HS_OK)
        snprintf(buf, sizeof g_bufs[0], "FAIL: %s", out.error);
    else
        render(&out.per_sink[0], buf, sizeof g_bufs[0]);
    hs_tool_output_free(&out);
    return buf;
}

/* Adds an instance at T0 + t_s seconds to source i. */
static void src(th_job *j, size_t i, int64_t t_s, const char *json)
{
    th_push_json(&j->src[i], T0 + S(t_s), json);
    if (j->nsrc <= i)
        j->nsrc = i + 1;
}

/* Adds a window [T0 + lo_s, T0 + up_s] at T0 + t_s to source i. */
static void src_window(th_job *j, size_t i, int64_t t_s, int64_t lo_s, int64_t up_s)
{
    char w[64];
    snprintf(w, sizeof w, "[%lld, %lld]", (long long)(T0 + S(lo_s)), (long long)(T0 + S(up_s)));
    src(j, i, t_s, w);
}

/* Runs a one-source tool over values at T0+1, T0+2, ... (NULL-ended list). */
static const char *run_values(const hs_tool_def *def, const char *params, const char *const *v)
{
    th_job j;
    th_init(&j, def, params, T0, T0 + S(1000));
    j.nsrc = 1;
    for (int64_t i = 0; v[i] != NULL; i++)
        src(&j, 0, i + 1, v[i]);
    const char *r = run_j(&j);
    th_free(&j);
    return r;
}

/* Runs a one-source tool over one value at T0+1. */
static const char *run1(const hs_tool_def *def, const char *params, const char *v)
{
    const char *vs[] = {v, NULL};
    return run_values(def, params, vs);
}

/* Whether s starts with prefix. */
static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Runs j over (start, end] as one job and as jobs cut at cuts, and checks
 * that the outputs joined are the same (and not empty).
 */
static void check_split(th_job *j, const int64_t *cuts, size_t ncuts)
{
    int64_t start = j->start, end = j->end;
    char whole[65536];
    snprintf(whole, sizeof whole, "%s", run_j(j));
    CU_ASSERT_FALSE(starts(whole, "FAIL"));
    CU_ASSERT_TRUE(whole[0] != '\0');
    char joined[65536];
    joined[0] = '\0';
    int64_t a = start;
    for (size_t k = 0; k <= ncuts; k++) {
        j->start = a;
        j->end = k < ncuts ? cuts[k] : end;
        const char *part = run_j(j);
        CU_ASSERT_FALSE(starts(part, "FAIL"));
        strncat(joined, part, sizeof joined - strlen(joined) - 1);
        a = j->end;
    }
    j->start = start;
    j->end = end;
    if (strcmp(whole, joined) != 0)
        fprintf(stderr, "\nsplit %s:\n  whole  %s\n  joined %s\n", j->def->name, whole, joined);
    CHECK_STR(whole, joined);
}

/* hs_tool_check_params on JSON parameters. */
static int check_json(const hs_tool_def *def, const char *json)
{
    hs_buf p, err;
    hs_buf_init(&p, 0);
    hs_buf_init(&err, 0);
    int rc = hs_json_to_mpack(json, strlen(json), &p);
    if (rc == HS_OK)
        rc = hs_tool_check_params(def, p.data, p.len, &err);
    hs_buf_free(&p);
    hs_buf_free(&err);
    return rc;
}

/* ------------------------------------------------------------------ registry */

static const hs_tool_def *const all_hs1[] = {
    &hs_tool_aligned_merge,
    &hs_tool_aligning_window,
    &hs_tool_component,
    &hs_tool_component_filter,
    &hs_tool_component_set,
    &hs_tool_copy,
    &hs_tool_dict_argmax,
    &hs_tool_dict_values_to_const,
    &hs_tool_histogram_from_list,
    &hs_tool_jsonify,
    &hs_tool_list_dict_mean,
    &hs_tool_list_dict_sum,
    &hs_tool_list_length,
    &hs_tool_list_mean,
    &hs_tool_list_sum,
    &hs_tool_percentiles_from_list,
    &hs_tool_percentiles_from_list_0_0,
    &hs_tool_product,
    &hs_tool_relative_apply2,
    &hs_tool_relative_window,
    &hs_tool_sink_tool,
    &hs_tool_slice,
    &hs_tool_sliding_listify,
    &hs_tool_sliding_sink,
};
#define N_HS1 (sizeof all_hs1 / sizeof all_hs1[0])

static void test_registry(void)
{
    hs_tool_registry *r;
    CU_ASSERT_EQUAL_FATAL(hs_tool_registry_create(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_builtin_register_hs1(r), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_count(r), N_HS1);
    for (size_t i = 0; i < N_HS1; i++) {
        const hs_tool_def *d = all_hs1[i];
        CU_ASSERT_PTR_EQUAL(hs_tool_registry_find_version(r, d->name, d->version), d);
        CU_ASSERT_EQUAL(d->kind, HS_TOOL_PLAIN);
        CU_ASSERT_TRUE(d->summary != NULL && d->summary[0] != '\0');
        CU_ASSERT_TRUE(d->doc != NULL && strstr(d->doc, "xample") != NULL);
        CU_ASSERT_TRUE(d->run != NULL || d->map != NULL);
        /* Every default is JSON that the runtime can read. */
        for (const hs_tool_param *p = d->params; p && p->name; p++) {
            if (p->def == NULL)
                continue;
            hs_buf b;
            hs_buf_init(&b, 0);
            CU_ASSERT_EQUAL(hs_json_to_mpack(p->def, strlen(p->def), &b), HS_OK);
            hs_buf_free(&b);
        }
    }
    /* The versions HyperStream gives are kept; the others are 1.0.0. */
    CHECK_STR(hs_tool_aligned_merge.version, "0.1.2");
    CHECK_STR(hs_tool_sliding_listify.version, "0.0.4");
    CHECK_STR(hs_tool_copy.version, "1.0.0");
    /* Two versions of percentiles_from_list: the name alone finds the newest. */
    CU_ASSERT_PTR_EQUAL(hs_tool_registry_find(r, "percentiles_from_list"),
                        &hs_tool_percentiles_from_list);
    CU_ASSERT_PTR_EQUAL(hs_tool_registry_find_version(r, "percentiles_from_list", "0.0"),
                        &hs_tool_percentiles_from_list_0_0);
    CU_ASSERT_EQUAL(hs_builtin_register_hs1(r), HS_ERR_EXISTS);
    hs_tool_registry_destroy(r);

    /* Parameter checks: unknown names, missing required ones, types. */
    CU_ASSERT_EQUAL(check_json(&hs_tool_component, "{\"key\": \"a\"}"), HS_OK);
    CU_ASSERT_EQUAL(check_json(&hs_tool_component, "{}"), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(check_json(&hs_tool_component, "{\"key\": 1}"), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(check_json(&hs_tool_component, "{\"key\": \"a\", \"kee\": 1}"), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(check_json(&hs_tool_aligned_merge, "{\"names\": 1}"), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(check_json(&hs_tool_aligned_merge, "{}"), HS_OK);
    CU_ASSERT_EQUAL(check_json(&hs_tool_component_filter, "{\"key\": \"a\", \"values\": [1]}"),
                    HS_OK);
    CU_ASSERT_EQUAL(check_json(&hs_tool_component_filter, "{\"key\": \"a\"}"), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(
        check_json(&hs_tool_relative_window, "{\"relative_start\": \"-1m\", \"relative_end\": 0}"),
        HS_OK);
    CU_ASSERT_EQUAL(check_json(&hs_tool_relative_window, "{\"relative_start\": \"-1m\"}"),
                    HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(
        check_json(&hs_tool_relative_window, "{\"relative_start\": \"soon\", \"relative_end\": 0}"),
        HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(check_json(&hs_tool_histogram_from_list, "{\"n_breaks\": 1.5}"), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(check_json(&hs_tool_relative_apply2, "{}"), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(check_json(&hs_tool_slice, "{\"index\": [1, null, -1]}"), HS_OK);
    CU_ASSERT_EQUAL(check_json(&hs_tool_list_dict_sum, "{\"start_dict\": [1]}"), HS_ERR_SCHEMA);
}

/* ------------------------------------------------------------------ aligned_merge */

static void test_aligned_merge(void)
{
    th_job j;
    th_init(&j, &hs_tool_aligned_merge, NULL, T0, T0 + S(10));
    src(&j, 0, 1, "1");
    src(&j, 0, 2, "2");
    src(&j, 0, 3, "3");
    src(&j, 1, 1, "10");
    src(&j, 1, 3, "30");
    CHECK_STR(run_j(&j), "1=[1,10];3=[3,30];");
    j.params = "{\"names\": [\"x\", \"y\"]}";
    CHECK_STR(run_j(&j), "1={\"x\":1,\"y\":10};3={\"x\":3,\"y\":30};");
    /* An empty list of names means none. */
    j.params = "{\"names\": []}";
    CHECK_STR(run_j(&j), "1=[1,10];3=[3,30];");
    /* Bad names. */
    j.params = "{\"names\": [\"x\"]}";
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL: aligned_merge: 1 names for 2 sources"));
    j.params = "{\"names\": [\"x\", \"x\"]}";
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL: aligned_merge: the name 'x' is given twice"));
    j.params = "{\"names\": [\"x\", 2]}";
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL"));
    j.params = "{\"names\": \"xy\"}";
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL"));
    /* Empty interval, and only part of it. */
    j.params = NULL;
    j.end = T0;
    CHECK_STR(run_j(&j), "");
    j.start = T0 + S(1);
    j.end = T0 + S(3);
    CHECK_STR(run_j(&j), "3=[3,30];");
    th_free(&j);

    /* Three sources, values of any kind, and one source that ends early. */
    th_init(&j, &hs_tool_aligned_merge, NULL, T0, T0 + S(100));
    for (int64_t t = 1; t <= 30; t++) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)t);
        src(&j, 0, t, v);
        if (t % 2 == 0)
            src(&j, 1, t, "{\"a\": [1, 2]}");
        if (t % 3 == 0 && t <= 18)
            src(&j, 2, t, "\"s\"");
    }
    CHECK_STR(run_j(&j), "6=[6,{\"a\":[1,2]},\"s\"];12=[12,{\"a\":[1,2]},\"s\"];"
                         "18=[18,{\"a\":[1,2]},\"s\"];");
    int64_t cuts[] = {T0 + S(5), T0 + S(6), T0 + S(13)};
    check_split(&j, cuts, 3);
    th_free(&j);

    /* A value nested as deep as values may be cannot go into a list: skipped, warned. */
    char deep[160];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    deep[128] = '\0';
    th_init(&j, &hs_tool_aligned_merge, NULL, T0, T0 + S(100));
    src(&j, 0, 1, deep);
    src(&j, 0, 2, "[1]");
    CHECK_STR(run_j(&j), "2=[[1]];");
    CU_ASSERT_EQUAL(g_warnings, 1);
    CU_ASSERT_TRUE(strstr(g_warning, "nests too deep") != NULL);
    th_free(&j);
    th_init(&j, &hs_tool_relative_window, "{\"relative_start\": -1, \"relative_end\": 0}", T0,
            T0 + S(100));
    j.has_alignment = true;
    th_push_int(&j.alignment, T0 + S(1), 0);
    th_push_int(&j.alignment, T0 + S(2), 0);
    src(&j, 0, 1, deep);
    src(&j, 0, 2, "[1]");
    CHECK_STR(run_j(&j), "2=[[1]];");
    CU_ASSERT_EQUAL(g_warnings, 1);
    th_free(&j);

    /* One source empty: nothing. */
    th_init(&j, &hs_tool_aligned_merge, NULL, T0, T0 + S(100));
    src(&j, 0, 1, "1");
    j.nsrc = 2;
    CHECK_STR(run_j(&j), "");
    th_free(&j);
}

/* Joins and merges over more instances than one read returns (several chunks per source). */
static void test_merges_many(void)
{
    th_job j;
    th_init(&j, &hs_tool_aligned_merge, NULL, T0, T0 + S(20000));
    for (int64_t t = 1; t <= 9000; t++) {
        th_push_int(&j.src[0], T0 + S(t), t);
        if (t % 3 == 0)
            th_push_int(&j.src[1], T0 + S(t), -t);
    }
    j.nsrc = 2;
    hs_tool_output out;
    CU_ASSERT_EQUAL_FATAL(th_run(&j, &out), HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 3000);
    for (size_t k = 0; k < out.per_sink[0].n; k++) {
        int64_t t = 3 * ((int64_t)k + 1);
        char want[64];
        snprintf(want, sizeof want, "[%lld,%lld]", (long long)t, (long long)-t);
        CU_ASSERT_EQUAL(out.per_sink[0].items[k].t_us, T0 + S(t));
        CU_ASSERT_STRING_EQUAL(th_json(&out.per_sink[0], k), want);
    }
    hs_tool_output_free(&out);

    /* copy: every instance once, in time order, source 0 winning the shared times. */
    j.def = &hs_tool_copy;
    CU_ASSERT_EQUAL_FATAL(th_run(&j, &out), HS_OK);
    CU_ASSERT_EQUAL(out.per_sink[0].n, 9000);
    CU_ASSERT_EQUAL(out.warnings, 3000);
    for (size_t k = 0; k < out.per_sink[0].n; k++) {
        CU_ASSERT_EQUAL(out.per_sink[0].items[k].t_us, T0 + S(k + 1));
        CU_ASSERT_EQUAL(th_double(&out.per_sink[0], k), (double)(k + 1));
    }
    hs_tool_output_free(&out);
    th_free(&j);
}

/* ------------------------------------------------------------------ aligning_window */

static void test_aligning_window(void)
{
    th_job j;
    th_init(&j, &hs_tool_aligning_window, NULL, T0, T0 + S(100));
    src(&j, 0, 10, "\"anything\"");
    src(&j, 0, 20, "null");
    char want[256];
    snprintf(want, sizeof want, "10=[%lld,%lld];20=[%lld,%lld];", (long long)(T0 + S(9)),
             (long long)(T0 + S(10)), (long long)(T0 + S(19)), (long long)(T0 + S(20)));
    CHECK_STR(run_j(&j), want);
    j.params = "{\"lower\": \"-10s\", \"upper\": \"5s\"}";
    snprintf(want, sizeof want, "10=[%lld,%lld];20=[%lld,%lld];", (long long)(T0),
             (long long)(T0 + S(15)), (long long)(T0 + S(10)), (long long)(T0 + S(25)));
    CHECK_STR(run_j(&j), want);
    j.params = "{\"lower\": 0.5, \"upper\": 1.5}";
    snprintf(want, sizeof want, "10=[%lld,%lld];", (long long)(T0 + S(10) + 500000),
             (long long)(T0 + S(11) + 500000));
    CU_ASSERT_TRUE(starts(run_j(&j), want));
    /* lower must be below upper; durations must parse. */
    j.params = "{\"lower\": 0, \"upper\": 0}";
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL: aligning_window needs lower < upper"));
    j.params = "{\"lower\": \"-1x\"}";
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL"));
    /* A window that overflows int64 is skipped with a warning. */
    j.params = "{\"lower\": \"-1s\", \"upper\": \"106751991d\"}";
    CHECK_STR(run_j(&j), "");
    CU_ASSERT_EQUAL(g_warnings, 2);
    th_free(&j);

    /* Its windows drive sliding_listify. */
    th_init(&j, &hs_tool_sliding_listify, NULL, T0, T0 + S(100));
    src_window(&j, 0, 10, 5, 10);
    src(&j, 1, 4, "4");
    src(&j, 1, 6, "6");
    src(&j, 1, 10, "10");
    CHECK_STR(run_j(&j), "10=[6,10];");
    th_free(&j);
}

/* ------------------------------------------------------------------ component tools */

static void test_component(void)
{
    const char *vs[] = {"{\"temp\": 21.5, \"hum\": 40}",
                        "{\"hum\": 41}",
                        "{\"temp\": null}",
                        "[1, 2]",
                        "\"temp\"",
                        "{\"temp\": {\"a\": 1}}",
                        NULL};
    CHECK_STR(run_values(&hs_tool_component, "{\"key\": \"temp\"}", vs),
              "1=21.5;3=null;6={\"a\":1};");
    /* The map without the key is left out silently; the two non-maps are warned. */
    CU_ASSERT_EQUAL(g_warnings, 2);
    CU_ASSERT_TRUE(strstr(g_warning, "not a map") != NULL);
    CU_ASSERT_TRUE(starts(run1(&hs_tool_component, NULL, "{}"), "FAIL: component needs"));
    CU_ASSERT_TRUE(starts(run1(&hs_tool_component, "{\"key\": 3}", "{}"), "FAIL"));
}

static void test_component_filter(void)
{
    const char *vs[] = {"{\"room\": \"kitchen\", \"t\": 21}",
                        "{\"room\": \"hall\", \"t\": 19}",
                        "{\"t\": 18}",
                        "{\"room\": 1.0}",
                        "{\"room\": null}",
                        "{\"room\": [1, {\"a\": 2.0}]}",
                        "{\"room\": true}",
                        "7",
                        NULL};
    CHECK_STR(run_values(&hs_tool_component_filter,
                         "{\"key\": \"room\", \"values\": [\"kitchen\", 1]}", vs),
              "1={\"room\":\"kitchen\",\"t\":21};4={\"room\":1.0};");
    /* Without complement the map without the key goes silently; the non-map is warned. */
    CU_ASSERT_EQUAL(g_warnings, 1);
    /* Python's ==: lists item by item, maps in any key order; true is not 1 here. */
    CHECK_STR(run_values(&hs_tool_component_filter,
                         "{\"key\": \"room\", \"values\": [[1.0, {\"a\": 2}], false]}", vs),
              "6={\"room\":[1,{\"a\":2.0}]};");
    /* With complement: the rest, and the map without the key skipped with a warning. */
    CHECK_STR(run_values(&hs_tool_component_filter,
                         "{\"key\": \"room\", \"values\": [\"kitchen\", 1, null], "
                         "\"complement\": true}",
                         vs),
              "2={\"room\":\"hall\",\"t\":19};6={\"room\":[1,{\"a\":2.0}]};"
              "7={\"room\":true};");
    CU_ASSERT_EQUAL(g_warnings, 2);
    CU_ASSERT_TRUE(strstr(g_warning, "has no 'room'") != NULL);
    /* Bad parameters. */
    CU_ASSERT_TRUE(starts(run1(&hs_tool_component_filter, "{\"key\": \"a\"}", "{}"),
                          "FAIL: component_filter"));
    CU_ASSERT_TRUE(starts(
        run1(&hs_tool_component_filter, "{\"key\": \"a\", \"values\": \"abc\"}", "{}"), "FAIL"));
    CU_ASSERT_TRUE(starts(run1(&hs_tool_component_filter,
                               "{\"key\": \"a\", \"values\": [], \"complement\": 1}", "{}"),
                          "FAIL"));
}

static void test_component_set(void)
{
    const char *vs[] = {"{\"a\": 1, \"b\": 2, \"c\": 3}", "{\"b\": 2}", "{\"c\": [1], \"a\": null}",
                        "[\"a\"]", NULL};
    CHECK_STR(run_values(&hs_tool_component_set, "{\"keys\": [\"a\", \"c\"]}", vs),
              "1={\"a\":1,\"c\":3};2={};3={\"c\":[1],\"a\":null};");
    CU_ASSERT_EQUAL(g_warnings, 1);
    CHECK_STR(run_values(&hs_tool_component_set, "{\"keys\": []}", vs), "1={};2={};3={};");
    CU_ASSERT_TRUE(starts(run1(&hs_tool_component_set, "{\"keys\": [\"a\", 1]}", "{}"),
                          "FAIL: component_set: keys[1] is not a string"));
    CU_ASSERT_TRUE(starts(run1(&hs_tool_component_set, NULL, "{}"), "FAIL"));
}

/* ------------------------------------------------------------------ copy */

static void test_copy(void)
{
    th_job j;
    th_init(&j, &hs_tool_copy, NULL, T0, T0 + S(10));
    src(&j, 0, 1, "1");
    src(&j, 0, 3, "3");
    src(&j, 1, 2, "20");
    src(&j, 1, 3, "30");
    src(&j, 1, 4, "{\"x\": [1]}");
    CHECK_STR(run_j(&j), "1=1;2=20;3=3;4={\"x\":[1]};");
    /* The duplicate at 3: the first source wins, with a warning. */
    CU_ASSERT_EQUAL(g_warnings, 1);
    CU_ASSERT_TRUE(strstr(g_warning, "both have an instance") != NULL);
    int64_t cuts[] = {T0 + S(2), T0 + S(3)};
    check_split(&j, cuts, 2);
    j.start = T0 + S(4);
    CHECK_STR(run_j(&j), "");
    th_free(&j);

    /* One source: a plain copy. */
    th_init(&j, &hs_tool_copy, NULL, T0 - S(10), T0 + S(10));
    src(&j, 0, -5, "\"a\"");
    src(&j, 0, 5, "\"b\"");
    CHECK_STR(run_j(&j), "-5=\"a\";5=\"b\";");
    CU_ASSERT_EQUAL(g_warnings, 0);
    th_free(&j);
}

/* ------------------------------------------------------------------ dict tools */

static void test_dict_argmax(void)
{
    const char *vs[] = {"{\"a\": 1, \"b\": 3, \"c\": 3}",
                        "{\"a\": -1.5, \"b\": -2}",
                        "{\"uid\": \"zzz\", \"a\": 2, \"b\": true}",
                        "{}",
                        "{\"x\": \"y\"}",
                        "[3, 1]",
                        NULL};
    CHECK_STR(run_values(&hs_tool_dict_argmax, NULL, vs), "1=\"b\";2=\"a\";3=\"a\";4=null;5=null;");
    CU_ASSERT_EQUAL(g_warnings, 1);
}

static void test_dict_values_to_const(void)
{
    const char *vs[] = {"{\"a\": 5, \"b\": \"x\"}", "{}", "5", NULL};
    CHECK_STR(run_values(&hs_tool_dict_values_to_const, NULL, vs), "1={\"a\":1,\"b\":1};2={};");
    CU_ASSERT_EQUAL(g_warnings, 1);
    CHECK_STR(run_values(&hs_tool_dict_values_to_const, "{\"const\": [true]}", vs),
              "1={\"a\":[true],\"b\":[true]};2={};");
    CHECK_STR(run_values(&hs_tool_dict_values_to_const, "{\"const\": null}", vs),
              "1={\"a\":null,\"b\":null};2={};");
}

/* ------------------------------------------------------------------ histogram */

static void test_histogram(void)
{
    /*
     * HyperStream's example: breaks [0, 1, 2, 3] give the bins x <= 0, (0, 1],
     * (1, 2], (2, 3], x > 3. HyperStream gives [2, 2, 2, 1, 0] for the first
     * data: its last bin is #{x >= 0} - #{x <= 3} = 6 - 6. The correct count of
     * x > 3 is 1 (3.5).
     */
    const char *p = "{\"breaks\": [0, 1, 2, 3]}";
    CHECK_STR(run1(&hs_tool_histogram_from_list, p, "[-1, 0, 0.5, 1, 1.5, 1.7, 2.5, 3.5]"),
              "1=[2,2,2,1,1];");
    CHECK_STR(run1(&hs_tool_histogram_from_list, p, "[0.5, 1.5, 2.5]"), "1=[0,1,1,1,0];");
    /* Empty list, one number, bools as 0/1, and the edges themselves. */
    const char *vs[] = {"[]", "2", "[true, false]", "[3, 3.0000001, -1e300, 1e300]", NULL};
    CHECK_STR(run_values(&hs_tool_histogram_from_list, p, vs),
              "1=[0,0,0,0,0];2=[0,0,1,0,0];3=[1,1,0,0,0];4=[1,0,0,1,2];");
    /* Generated breaks: first_break + i * break_width, i < n_breaks. */
    CHECK_STR(run1(&hs_tool_histogram_from_list,
                   "{\"first_break\": 10, \"break_width\": 5, \"n_breaks\": 3}",
                   "[9, 10, 11, 15, 19, 20, 21, 100]"),
              "1=[2,2,2,2];");
    CHECK_STR(run1(&hs_tool_histogram_from_list, "{\"n_breaks\": 0}", "[1, 2, 3]"), "1=[3];");
    /* The default: 101 breaks 0..100, 102 bins. */
    const char *d = run1(&hs_tool_histogram_from_list, NULL, "[0, 0.5, 50, 1000]");
    CU_ASSERT_TRUE(starts(d, "1=[1,1,0,"));
    size_t commas = 0;
    for (const char *c = d; *c; c++)
        commas += *c == ',';
    CU_ASSERT_EQUAL(commas, 101);
    CU_ASSERT_TRUE(strstr(d, ",0,1];") != NULL);
    /* Items that are not numbers skip the instance; NaN falls in no bin. */
    CHECK_STR(run1(&hs_tool_histogram_from_list, p, "[1, \"2\"]"), "");
    CU_ASSERT_EQUAL(g_warnings, 1);
    th_job j;
    th_init(&j, &hs_tool_histogram_from_list, p, T0, T0 + S(10));
    th_push_double(&j.src[0], T0 + S(1), NAN);
    j.nsrc = 1;
    CHECK_STR(run_j(&j), "1=[0,0,0,0,0];");
    th_free(&j);
    /* Bad parameters. */
    CU_ASSERT_TRUE(starts(run1(&hs_tool_histogram_from_list, "{\"breaks\": [1, 0]}", "[]"),
                          "FAIL: histogram_from_list: the breaks must increase"));
    CU_ASSERT_TRUE(starts(run1(&hs_tool_histogram_from_list, "{\"break_width\": -1}", "[]"),
                          "FAIL: histogram_from_list: the breaks must increase"));
    CU_ASSERT_TRUE(
        starts(run1(&hs_tool_histogram_from_list, "{\"breaks\": [1, \"a\"]}", "[]"), "FAIL"));
    CU_ASSERT_TRUE(starts(run1(&hs_tool_histogram_from_list, "{\"n_breaks\": -1}", "[]"), "FAIL"));
    CU_ASSERT_TRUE(
        starts(run1(&hs_tool_histogram_from_list, "{\"n_breaks\": 1000001}", "[]"), "FAIL"));
    /* Equal breaks are allowed (an empty bin between them). */
    CHECK_STR(run1(&hs_tool_histogram_from_list, "{\"breaks\": [1, 1]}", "[1, 2]"), "1=[1,0,1];");
}

static void test_histogram_categorical(void)
{
    const char *p = "{\"categorical\": true}";
    CHECK_STR(run1(&hs_tool_histogram_from_list, p,
                   "[\"a.b\", \"x\", \"x\", 1, \"$p\", 1.5, 1.0, true, null, 1]"),
              "1={\"1\":2,\"1__dot__0\":1,\"1__dot__5\":1,\"__dollar__p\":1,\"a__dot__b\":1,"
              "\"null\":1,\"true\":1,\"x\":2};");
    /* The reference example of the doc. */
    CHECK_STR(run1(&hs_tool_histogram_from_list, p, "[\"a.b\", \"x\", \"x\", 1]"),
              "1={\"1\":1,\"a__dot__b\":1,\"x\":2};");
    /* Keys that meet after the rewrite are counted together; floats print as Python's repr
     * (and their points are rewritten too, as in HyperStream). */
    CHECK_STR(
        run1(&hs_tool_histogram_from_list, p, "[\"a.b\", \"a__dot__b\", 1e16, 1e-5, 0.1, 1e15]"),
        "1={\"0__dot__1\":1,\"1000000000000000__dot__0\":1,\"1e+16\":1,\"1e-05\":1,"
        "\"a__dot__b\":2};");
    /* Containers are not counted (warned); non-lists are skipped; [] gives {}. */
    const char *vs[] = {"[\"a\", [1], {\"b\": 1}]", "\"abc\"", "[]", NULL};
    CHECK_STR(run_values(&hs_tool_histogram_from_list, p, vs), "1={\"a\":1};3={};");
    CU_ASSERT_EQUAL(g_warnings, 3);
}

/* ------------------------------------------------------------------ jsonify */

static void test_jsonify(void)
{
    th_job j;
    th_init(&j, &hs_tool_jsonify, NULL, T0 - S(10), T0 + S(10));
    src(&j, 0, 0, "{\"b\": 1, \"a\": [true, null, {\"z\": 1.5, \"y\": \"é\\\"\"}]}");
    th_push_json(&j.src[0], T0 + 1500000, "2.0");
    src(&j, 0, 5, "\"text\"");
    CHECK_STR(
        run_j(&j),
        "0=\"[\\\"2016-04-28T20:00:00Z\\\",{\\\"a\\\":[true,null,{\\\"y\\\":\\\"é\\\\\\\"\\\","
        "\\\"z\\\":1.5}],\\\"b\\\":1}]\";"
        "1.500000=\"[\\\"2016-04-28T20:00:01.500000Z\\\",2.0]\";"
        "5=\"[\\\"2016-04-28T20:00:05Z\\\",\\\"text\\\"]\";");
    th_free(&j);
    /* NaN becomes null, so the text stays JSON. */
    th_init(&j, &hs_tool_jsonify, NULL, T0, T0 + S(10));
    th_push_double(&j.src[0], T0 + S(1), NAN);
    j.nsrc = 1;
    CHECK_STR(run_j(&j), "1=\"[\\\"2016-04-28T20:00:01Z\\\",null]\";");
    th_free(&j);
}

/* ------------------------------------------------------------------ list tools */

static void test_list_length_sum_mean(void)
{
    const char *vs[] = {"[3, 1, 2]", "{}", "\"héllo\"", "[]", "5", "null", NULL};
    CHECK_STR(run_values(&hs_tool_list_length, NULL, vs), "1=3;2=0;3=5;4=0;");
    CU_ASSERT_EQUAL(g_warnings, 2);

    const char *sums[] = {"[1, 2, 3]",
                          "[1, 2.5]",
                          "[]",
                          "[true, true, 1]",
                          "[9223372036854775807, 1]",
                          "[1, \"2\"]",
                          "{\"a\": 1}",
                          "[0.5, 1, 2]",
                          NULL};
    CHECK_STR(run_values(&hs_tool_list_sum, NULL, sums),
              "1=6;2=3.5;3=0;4=3;5=9.223372036854776e+18;8=3.5;");
    CU_ASSERT_EQUAL(g_warnings, 2);

    CHECK_STR(run_values(&hs_tool_list_mean, NULL, sums),
              "1=2.0;2=1.75;4=1.0;5=4.611686018427388e+18;8=1.1666666666666667;");
    CU_ASSERT_EQUAL(g_warnings, 3); /* the empty list, the string, the map */
    CHECK_STR(run1(&hs_tool_list_mean, NULL, "[1, 2]"), "1=1.5;");
}

static void test_list_dict_mean(void)
{
    const char *vs[] = {"[{\"a\": 1, \"b\": 4}, {\"a\": 3}]",
                        "[{\"a\": 1}, {\"a\": 2}, {\"a\": 3}]",
                        "[]",
                        "[{\"a\": \"x\"}]",
                        "[1, 2]",
                        "{\"a\": 1}",
                        "[{}]",
                        "[{\"a\": true}, {\"a\": 0.5}]",
                        NULL};
    CHECK_STR(run_values(&hs_tool_list_dict_mean, NULL, vs),
              "1={\"a\":2.0,\"b\":2.0};2={\"a\":2.0};7={};8={\"a\":0.75};");
    CU_ASSERT_EQUAL(g_warnings, 4);
    CHECK_STR(run1(&hs_tool_list_dict_mean, NULL, "[]"), "");
    CU_ASSERT_TRUE(strstr(g_warning, "is empty") != NULL);
}

static void test_list_dict_sum(void)
{
    const char *vs[] = {"[{\"a\": 1, \"b\": 2}, {\"a\": 3}]",
                        "[{\"b\": 0.5}, {\"c\": 1}]",
                        "[]",
                        "[{\"a\": \"x\"}]",
                        "7",
                        NULL};
    CHECK_STR(run_values(&hs_tool_list_dict_sum, "{\"log_new_keys\": false}", vs),
              "1={\"a\":4,\"b\":2};2={\"b\":0.5,\"c\":1};3={};");
    CU_ASSERT_EQUAL(g_warnings, 2);
    /* Each instance starts from its own copy of start_dict: nothing carries over. */
    CHECK_STR(run_values(&hs_tool_list_dict_sum, "{\"start_dict\": {\"c\": 0, \"a\": 10}}", vs),
              "1={\"c\":0,\"a\":14,\"b\":2};2={\"c\":1,\"a\":10,\"b\":0.5};3={\"c\":0,\"a\":10};");
    /* New keys: b twice (instances 1 and 2), logged; the two bad values warned. */
    CU_ASSERT_EQUAL(g_warnings, 4);
    CU_ASSERT_TRUE(strstr(g_warning, "new key 'b'") != NULL);
    /* New keys left out. */
    CHECK_STR(run_values(&hs_tool_list_dict_sum,
                         "{\"start_dict\": {\"a\": 0.0}, \"insert_new_keys\": false, "
                         "\"log_new_keys\": false}",
                         vs),
              "1={\"a\":4.0};2={\"a\":0.0};3={\"a\":0.0};");
    CU_ASSERT_EQUAL(g_warnings, 2);
    /* Bad start_dict. */
    CU_ASSERT_TRUE(starts(run1(&hs_tool_list_dict_sum, "{\"start_dict\": {\"a\": \"x\"}}", "[]"),
                          "FAIL: list_dict_sum: start_dict['a'] is not a number"));
    CU_ASSERT_TRUE(
        starts(run1(&hs_tool_list_dict_sum, "{\"start_dict\": [1]}", "[]"), "FAIL: list_dict_sum"));
    CU_ASSERT_TRUE(starts(run1(&hs_tool_list_dict_sum, "{\"log_new_keys\": 1}", "[]"), "FAIL"));
    /* Split invariance (no state between instances). */
    th_job j;
    th_init(&j, &hs_tool_list_dict_sum, "{\"start_dict\": {\"n\": 1}}", T0, T0 + S(10));
    for (int64_t t = 1; t <= 10; t++)
        src(&j, 0, t, "[{\"n\": 1}, {\"n\": 2, \"m\": 1}]");
    int64_t cuts[] = {T0 + S(3), T0 + S(4)};
    check_split(&j, cuts, 2);
    CU_ASSERT_TRUE(strstr(run_j(&j), "10={\"n\":4,\"m\":1};") != NULL);
    th_free(&j);
}

/* ------------------------------------------------------------------ percentiles */

static void test_percentiles(void)
{
    /* HyperStream's check: range(40) with [25, 50, 75], on two consecutive instances. */
    char r40[256];
    size_t n = 0;
    n += (size_t)snprintf(r40 + n, sizeof r40 - n, "[");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(r40 + n, sizeof r40 - n, "%s%d", i ? ", " : "", i);
    snprintf(r40 + n, sizeof r40 - n, "]");
    const char *two[] = {r40, r40, NULL};
    CHECK_STR(run_values(&hs_tool_percentiles_from_list, "{\"percentiles\": [25, 50, 75]}", two),
              "1=[9.75,19.5,29.25];2=[9.75,19.5,29.25];");
    /* One percentile, as a number or a list of one: a scalar. */
    CHECK_STR(run1(&hs_tool_percentiles_from_list, "{\"percentiles\": 25}", r40), "1=9.75;");
    CHECK_STR(run1(&hs_tool_percentiles_from_list, "{\"percentiles\": [50]}", r40), "1=19.5;");
    /* The examples of HyperStream's percentile(): nested lists are flattened. */
    const char *a = "[[10, 7, 4], [3, 2, 1]]";
    CHECK_STR(run1(&hs_tool_percentiles_from_list, "{\"percentiles\": 20}", a), "1=2.0;");
    CHECK_STR(run1(&hs_tool_percentiles_from_list, "{\"percentiles\": 50}", a), "1=3.5;");
    CHECK_STR(run1(&hs_tool_percentiles_from_list, "{\"percentiles\": [20, 80]}", a),
              "1=[2.0,7.0];");
    /* n_segments: the percentiles i * 100 / n_segments. */
    CHECK_STR(run1(&hs_tool_percentiles_from_list, "{\"n_segments\": 4}", "[5, 1, 4, 2, 3]"),
              "1=[1.0,2.0,3.0,4.0,5.0];");
    const char *d = run1(&hs_tool_percentiles_from_list, NULL, "[1, 2]");
    CU_ASSERT_TRUE(starts(d, "1=[1.0,1.01,1.02,"));
    CU_ASSERT_TRUE(strstr(d, ",1.99,2.0];") != NULL);
    /* The empty list gives null; one number is a list of one; others are skipped. */
    const char *vs[] = {"[]", "7", "[1, \"x\"]", "{\"a\": 1}", "[[]]", NULL};
    CHECK_STR(run_values(&hs_tool_percentiles_from_list, "{\"percentiles\": [0, 100]}", vs),
              "1=null;2=[7.0,7.0];5=null;");
    CU_ASSERT_EQUAL(g_warnings, 2);
    /*
     * Version 0.0 (HyperStream v0.0.1, numpy.percentile): the result has the
     * shape of the percentiles, so a list of one gives a list of one where
     * 1.0 gives a number; the values are those of 1.0.
     */
    const hs_tool_def *v0 = &hs_tool_percentiles_from_list_0_0;
    CHECK_STR(run1(v0, "{\"percentiles\": [50]}", r40), "1=[19.5];");
    CHECK_STR(run1(v0, "{\"percentiles\": 25}", r40), "1=9.75;");
    CHECK_STR(run_values(v0, "{\"percentiles\": [25, 50, 75]}", two),
              "1=[9.75,19.5,29.25];2=[9.75,19.5,29.25];");
    CHECK_STR(run1(v0, "{\"percentiles\": [20]}", a), "1=[2.0];");
    CHECK_STR(run1(v0, "{\"n_segments\": 4}", "[5, 1, 4, 2, 3]"), "1=[1.0,2.0,3.0,4.0,5.0];");
    CHECK_STR(run1(v0, "{\"percentiles\": [50]}", "[]"), "1=null;");
    CU_ASSERT_TRUE(starts(run1(v0, "{\"percentiles\": [101]}", "[1]"),
                          "FAIL: percentiles_from_list: percentiles must be in the range"));
    /* Bad parameters fail at the start. */
    CU_ASSERT_TRUE(starts(run1(&hs_tool_percentiles_from_list, "{\"percentiles\": [101]}", "[1]"),
                          "FAIL: percentiles_from_list: percentiles must be in the range"));
    CU_ASSERT_TRUE(
        starts(run1(&hs_tool_percentiles_from_list, "{\"percentiles\": -1}", "[1]"), "FAIL"));
    CU_ASSERT_TRUE(
        starts(run1(&hs_tool_percentiles_from_list, "{\"percentiles\": []}", "[1]"), "FAIL"));
    CU_ASSERT_TRUE(
        starts(run1(&hs_tool_percentiles_from_list, "{\"percentiles\": [\"a\"]}", "[1]"), "FAIL"));
    CU_ASSERT_TRUE(
        starts(run1(&hs_tool_percentiles_from_list, "{\"n_segments\": 0}", "[1]"), "FAIL"));
}

/* ------------------------------------------------------------------ product */

static void test_product(void)
{
    th_job j;
    th_init(&j, &hs_tool_product, NULL, T0, T0 + S(10));
    src(&j, 0, 1, "2");
    src(&j, 0, 2, "3");
    src(&j, 0, 3, "4611686018427387904");
    src(&j, 0, 4, "true");
    src(&j, 0, 5, "\"x\"");
    src(&j, 1, 1, "10");
    src(&j, 1, 2, "0.5");
    src(&j, 1, 3, "4");
    src(&j, 1, 4, "7");
    src(&j, 1, 5, "2");
    CHECK_STR(run_j(&j), "1=20;2=1.5;3=1.8446744073709552e+19;4=7;");
    CU_ASSERT_EQUAL(g_warnings, 1);
    j.end = T0;
    CHECK_STR(run_j(&j), "");
    th_free(&j);

    /* Unequal timestamps fail the job, naming the unmatched instance. */
    th_init(&j, &hs_tool_product, NULL, T0, T0 + S(10));
    src(&j, 0, 1, "2");
    src(&j, 0, 3, "2");
    src(&j, 1, 1, "2");
    src(&j, 1, 2, "2");
    const char *r = run_j(&j);
    CU_ASSERT_TRUE(starts(r, "FAIL: product: the sources are not aligned: source 1 has an "
                             "instance at 2016-04-28T20:00:02Z"));
    /* Before the mismatch the interval is fine. */
    j.end = T0 + S(1);
    CHECK_STR(run_j(&j), "1=4;");
    th_free(&j);

    /* One source longer than the other. */
    th_init(&j, &hs_tool_product, NULL, T0, T0 + S(10));
    src(&j, 0, 1, "2");
    src(&j, 0, 2, "2");
    src(&j, 1, 1, "2");
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL: product: the sources are not aligned: source 0 has"));
    j.nsrc = 1;
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL: product needs 2 sources"));
    th_free(&j);
}

/* ------------------------------------------------------------------ relative_apply2 */

static void test_relative_apply2(void)
{
    const char *vs[] = {"[{\"a\": 1, \"b\": 5}, {\"a\": 3, \"id\": \"x\"}]",
                        "[{\"id\": \"x\"}]",
                        "[]",
                        "[{\"a\": true}, 7, {\"a\": 2.5}]",
                        "{\"a\": 1}",
                        NULL};
    CHECK_STR(run_values(&hs_tool_relative_apply2, "{\"func\": \"max\"}", vs),
              "1={\"a\":3.0,\"b\":5.0};4={\"a\":2.5};");
    CU_ASSERT_EQUAL(g_warnings, 2); /* the item 7 and the map instead of a list */
    CHECK_STR(run_values(&hs_tool_relative_apply2, "{\"func\": \"count\"}", vs),
              "1={\"a\":2,\"b\":1};4={\"a\":2};");
    CHECK_STR(run_values(&hs_tool_relative_apply2, "{\"func\": \"median\"}", vs),
              "1={\"a\":2.0,\"b\":5.0};4={\"a\":1.75};");
    /* Many keys and values, grouped correctly. */
    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof big, "[");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s{\"k%d\": %d, \"all\": %d}", i ? "," : "",
                              i % 7, i, i);
    snprintf(big + n, sizeof big - n, "]");
    const char *r = run1(&hs_tool_relative_apply2, "{\"func\": \"sum\"}", big);
    /* k0: 0 + 7 + ... + 98 = 735; all: 0 + ... + 99 = 4950. */
    CU_ASSERT_TRUE(starts(r, "1={\"k0\":735.0,\"all\":4950.0,\"k1\":"));
    /* User reducers go through the same lookup, when the build has them. */
    hs_func f;
    if (hs_func_find("lua: return function(v) return #v end", HS_FUNC_REDUCER, &f) == HS_OK) {
        hs_func_release(&f);
        CHECK_STR(run_values(&hs_tool_relative_apply2,
                             "{\"func\": \"lua: return function(v) return #v * 10 end\"}", vs),
                  "1={\"a\":20.0,\"b\":10.0};4={\"a\":20.0};");
    }
    /* The function is looked up in the shared functions. */
    CU_ASSERT_TRUE(starts(run1(&hs_tool_relative_apply2, "{\"func\": \"nope\"}", "[]"),
                          "FAIL: parameter 'func': unknown function 'nope'"));
    CU_ASSERT_TRUE(
        starts(run1(&hs_tool_relative_apply2, NULL, "[]"), "FAIL: parameter 'func' is required"));
}

/* ------------------------------------------------------------------ relative_window */

static void test_relative_window(void)
{
    th_job j;
    const char *p = "{\"relative_start\": \"-10s\", \"relative_end\": 0}";
    th_init(&j, &hs_tool_relative_window, p, T0 + S(9), T0 + S(30));
    j.has_alignment = true;
    src(&j, 0, -86400, "\"a day before\"");
    src(&j, 0, 5, "1");
    src(&j, 0, 10, "2");
    src(&j, 0, 15, "3");
    src(&j, 0, 31, "4");
    for (int64_t t = 10; t <= 40; t += 5)
        th_push_int(&j.alignment, T0 + S(t), 0);
    /* The window at 10 reaches back before the job start and sees 1; 30 sees nothing new. */
    CHECK_STR(run_j(&j), "10=[1,2];15=[2,3];20=[3];25=[];30=[];");
    int64_t cuts[] = {T0 + S(12), T0 + S(15), T0 + S(24)};
    check_split(&j, cuts, 3);
    /* Pairs with their times. */
    j.params = "{\"relative_start\": -10, \"relative_end\": -5, \"values_only\": false}";
    char want[256];
    snprintf(want, sizeof want, "10=[[%lld,1]];15=[[%lld,2]];20=[[%lld,3]];25=[];30=[];",
             (long long)(T0 + S(5)), (long long)(T0 + S(10)), (long long)(T0 + S(15)));
    CHECK_STR(run_j(&j), want);
    /* Offsets are seconds, not days: a 2-day window does reach the day-old value. */
    j.params = "{\"relative_start\": \"-2d\", \"relative_end\": 0}";
    j.end = T0 + S(10);
    CHECK_STR(run_j(&j), "10=[\"a day before\",1,2];");
    /* Bad parameters. */
    j.params = "{\"relative_start\": 0, \"relative_end\": -10}";
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL: relative_window needs relative_start < relative_end"));
    j.params = "{\"relative_start\": -10, \"relative_end\": 5}";
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL: relative_window: relative_end must not be after"));
    j.params = "{\"relative_start\": -10}";
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL: relative_window needs parameters"));
    j.params = "{\"relative_start\": -10, \"relative_end\": 0, \"values_only\": \"no\"}";
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL"));
    /* Without an alignment stream the job fails. */
    j.params = p;
    j.has_alignment = false;
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL"));
    /* An empty interval gives nothing. */
    j.has_alignment = true;
    j.start = j.end = T0 + S(20);
    CHECK_STR(run_j(&j), "");
    th_free(&j);
}

/*
 * Checks that instance k of b is the list of the integers u in (lo, up]
 * with u % 3 != 0 (the dense data below).
 */
static void check_dense_window(const hs_batch *b, size_t k, int64_t lo, int64_t up)
{
    hs_mp_reader r;
    uint32_t n = 0;
    hs_mp_reader_init(&r, hs_batch_value(b, k), b->items[k].len);
    CU_ASSERT_EQUAL_FATAL(hs_mp_get_array(&r, &n), HS_OK);
    uint32_t want = 0;
    for (int64_t u = lo + 1; u <= up; u++) {
        if (u % 3 == 0 || u < -10)
            continue;
        int64_t got = 0;
        CU_ASSERT_TRUE_FATAL(want < n);
        CU_ASSERT_EQUAL(hs_mp_get_int(&r, &got), HS_OK);
        CU_ASSERT_EQUAL(got, u);
        want++;
    }
    CU_ASSERT_EQUAL(n, want);
}

/*
 * Many alignment times over dense data, with small and large windows (the
 * buffer slides, and grows while it holds dropped instances), against brute
 * force.
 */
static void test_relative_window_dense(void)
{
    static const int64_t offsets[][2] = {{-7, -2}, {-2000, -1000}, {-600, 0}, {-1, 0}};
    for (size_t c = 0; c < sizeof offsets / sizeof offsets[0]; c++) {
        char params[128];
        snprintf(params, sizeof params, "{\"relative_start\": %lld, \"relative_end\": %lld}",
                 (long long)offsets[c][0], (long long)offsets[c][1]);
        th_job j;
        th_init(&j, &hs_tool_relative_window, params, T0, T0 + S(3000));
        j.has_alignment = true;
        for (int64_t t = -10; t <= 3000; t++)
            if (t % 3 != 0)
                th_push_int(&j.src[0], T0 + S(t), t);
        j.nsrc = 1;
        for (int64_t t = 1; t <= 3000; t += (t % 5) + 1)
            th_push_int(&j.alignment, T0 + S(t), 0);
        hs_tool_output out;
        CU_ASSERT_EQUAL_FATAL(th_run(&j, &out), HS_OK);
        size_t k = 0;
        for (int64_t t = 1; t <= 3000; t += (t % 5) + 1, k++) {
            CU_ASSERT_TRUE_FATAL(k < out.per_sink[0].n);
            CU_ASSERT_EQUAL(out.per_sink[0].items[k].t_us, T0 + S(t));
            check_dense_window(&out.per_sink[0], k, t + offsets[c][0], t + offsets[c][1]);
        }
        CU_ASSERT_EQUAL(out.per_sink[0].n, k);
        hs_tool_output_free(&out);
        th_free(&j);
    }
}

/* ------------------------------------------------------------------ sinks */

static void test_sinks(void)
{
    th_job j;
    th_init(&j, &hs_tool_sink_tool, NULL, T0, T0 + S(10));
    src(&j, 0, 1, "1");
    src(&j, 1, 2, "2");
    src(&j, 2, 20, "2");
    CHECK_STR(run_j(&j), "");
    CU_ASSERT_EQUAL(g_warnings, 0);
    CU_ASSERT_TRUE(j.reads >= 3); /* every source was read */
    th_free(&j);

    th_init(&j, &hs_tool_sliding_sink, NULL, T0, T0 + S(10));
    src(&j, 1, 1, "1");
    j.nsrc = 2;
    CHECK_STR(run_j(&j), "");
    CU_ASSERT_EQUAL(j.reads, 1); /* no window: the data is not read */
    src_window(&j, 0, 5, -60, 5);
    src(&j, 0, 6, "\"bad\"");
    src_window(&j, 0, 10, 5, 10);
    j.reads = 0;
    CHECK_STR(run_j(&j), "");
    CU_ASSERT_EQUAL(j.reads, 2); /* the windows, then the data */
    CU_ASSERT_EQUAL(g_warnings, 1);
    j.nsrc = 1;
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL: sliding_sink needs 2 sources"));
    th_free(&j);
}

/* ------------------------------------------------------------------ slice */

static void test_slice(void)
{
    const char *l = "[0, 1, 2, 3, 4, 5]";
    struct {
        const char *index, *value, *want;
    } cases[] = {
        {"0", l, "1=0;"},
        {"-1", l, "1=5;"},
        {"-6", l, "1=0;"},
        {"6", l, ""},
        {"-7", l, ""},
        {"[1, null]", l, "1=[1,2,3,4,5];"},
        {"[-2, null]", l, "1=[4,5];"},
        {"[null, null, -1]", l, "1=[5,4,3,2,1,0];"},
        {"[5, 1, -2]", l, "1=[5,3];"},
        {"[-100, 100]", l, "1=[0,1,2,3,4,5];"},
        {"[10, null]", l, "1=[];"},
        {"[null, null, 2]", l, "1=[0,2,4];"},
        {"[4, 1]", l, "1=[];"},
        {"[3]", l, "1=[0,1,2];"},
        {"[-1, -100, -9223372036854775808]", l, "1=[5];"},
        {"[9223372036854775807, null, -1]", l, "1=[5,4,3,2,1,0];"},
        {"[null, null, 2]", "\"abcdef\"", "1=\"ace\";"},
        {"[0, 2]", "\"héllo\"", "1=\"hé\";"},
        {"1", "\"héllo\"", "1=\"é\";"},
        {"[null, null, -1]", "\"héllo\"", "1=\"olléh\";"},
        {"0", "[]", ""},
        {"[0, 1]", "[]", "1=[];"},
        {"0", "{\"a\": 1}", ""},
        {"0", "5", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char params[128];
        snprintf(params, sizeof params, "{\"index\": %s}", cases[i].index);
        const char *r = run1(&hs_tool_slice, params, cases[i].value);
        if (strcmp(r, cases[i].want) != 0)
            fprintf(stderr, "\nslice %s of %s: %s\n", cases[i].index, cases[i].value, r);
        CHECK_STR(r, cases[i].want);
        CU_ASSERT_EQUAL(g_warnings, cases[i].want[0] == '\0' ? 1u : 0u);
    }
    CU_ASSERT_TRUE(starts(run1(&hs_tool_slice, "{\"index\": [0, 5, 0]}", l),
                          "FAIL: slice: the step must not be zero"));
    CU_ASSERT_TRUE(starts(run1(&hs_tool_slice, "{\"index\": \"a\"}", l), "FAIL"));
    CU_ASSERT_TRUE(starts(run1(&hs_tool_slice, "{\"index\": [1, 2, 3, 4]}", l), "FAIL"));
    CU_ASSERT_TRUE(starts(run1(&hs_tool_slice, "{\"index\": [1.5]}", l), "FAIL"));
    CU_ASSERT_TRUE(starts(run1(&hs_tool_slice, NULL, l), "FAIL"));
}

/* ------------------------------------------------------------------ sliding_listify */

static void test_sliding_listify(void)
{
    th_job j;
    th_init(&j, &hs_tool_sliding_listify, NULL, T0, T0 + S(30));
    src(&j, 1, -5, "0");
    src(&j, 1, 5, "1");
    src(&j, 1, 10, "2");
    src(&j, 1, 15, "{\"x\": 3}");
    src(&j, 1, 35, "5");
    src_window(&j, 0, 10, 0, 10);
    src_window(&j, 0, 20, 10, 20);
    src_window(&j, 0, 30, 20, 30); /* empty: no output */
    CHECK_STR(run_j(&j), "10=[1,2];20=[{\"x\":3}];");
    j.params = "{\"include_time\": true}";
    char want[256];
    snprintf(want, sizeof want, "10=[[%lld,1],[%lld,2]];20=[[%lld,{\"x\":3}]];",
             (long long)(T0 + S(5)), (long long)(T0 + S(10)), (long long)(T0 + S(15)));
    CHECK_STR(run_j(&j), want);
    th_free(&j);

    /* A window reaching back before the job, overlapping and out-of-order windows, a window
     * reaching past the job end, and a malformed one. */
    th_init(&j, &hs_tool_sliding_listify, NULL, T0 + S(10), T0 + S(40));
    for (int64_t t = -20; t <= 50; t += 5) {
        char v[16];
        snprintf(v, sizeof v, "%lld", (long long)t);
        src(&j, 1, t, v);
    }
    src_window(&j, 0, 15, -20, 15);
    src_window(&j, 0, 20, 5, 20);
    src(&j, 0, 22, "[1, 2, 3]");
    src_window(&j, 0, 25, -10, 0);
    src_window(&j, 0, 30, 20, 35);
    src_window(&j, 0, 40, 30, 60);
    CHECK_STR(run_j(&j), "15=[-15,-10,-5,0,5,10,15];20=[10,15,20];25=[-5,0];"
                         "30=[25,30,35];40=[35,40];");
    CU_ASSERT_EQUAL(g_warnings, 1);
    /* Sources must be [windows, data]. */
    j.nsrc = 1;
    CU_ASSERT_TRUE(starts(run_j(&j), "FAIL: sliding_listify needs 2 sources"));
    th_free(&j);
}

/* Windows as sliding_window makes them, listified, as one job or cut into several. */
static void test_sliding_listify_split(void)
{
    th_job j;
    th_init(&j, &hs_tool_sliding_listify, NULL, T0, T0 + S(600));
    for (int64_t t = -100; t <= 700; t += 7) {
        char v[16];
        snprintf(v, sizeof v, "%lld", (long long)t);
        src(&j, 1, t, v);
    }
    /* 60 s windows every 20 s. */
    for (int64_t up = 20; up <= 600; up += 20)
        src_window(&j, 0, up, up - 60, up);
    int64_t cuts[] = {T0 + S(20), T0 + S(45), T0 + S(300), T0 + S(301)};
    check_split(&j, cuts, 4);
    j.params = "{\"include_time\": true}";
    check_split(&j, cuts, 4);
    /* No windows in the interval: nothing, and the data is not read. */
    j.start = T0 + S(601);
    j.end = T0 + S(700);
    j.reads = 0;
    CHECK_STR(run_j(&j), "");
    CU_ASSERT_EQUAL(j.reads, 1);
    th_free(&j);
}

HS_TEST_INIT(tools_hs1)
{
    HS_TEST_SUITE_BEGIN("tools_hs1");
    HS_TEST(test_registry);
    HS_TEST(test_aligned_merge);
    HS_TEST(test_merges_many);
    HS_TEST(test_aligning_window);
    HS_TEST(test_component);
    HS_TEST(test_component_filter);
    HS_TEST(test_component_set);
    HS_TEST(test_copy);
    HS_TEST(test_dict_argmax);
    HS_TEST(test_dict_values_to_const);
    HS_TEST(test_histogram);
    HS_TEST(test_histogram_categorical);
    HS_TEST(test_jsonify);
    HS_TEST(test_list_length_sum_mean);
    HS_TEST(test_list_dict_mean);
    HS_TEST(test_list_dict_sum);
    HS_TEST(test_percentiles);
    HS_TEST(test_product);
    HS_TEST(test_relative_apply2);
    HS_TEST(test_relative_window);
    HS_TEST(test_relative_window_dense);
    HS_TEST(test_sinks);
    HS_TEST(test_slice);
    HS_TEST(test_sliding_listify);
    HS_TEST(test_sliding_listify_split);
    return 0;
}
