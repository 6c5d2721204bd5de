/*
 * Tests of the tools of part "hs2" (aggregate, multi-output, selector and
 * plate-creation tools), run through hs_tool_run with the in-memory sources
 * of tool_harness: the documented semantics and HyperStream's examples,
 * routing onto the right sinks, unknown plate values dropped with a
 * warning, bad parameters and bad input, split invariance; and the
 * expansion of small workflows (hs_workflow_units) for each kind, fed back
 * into the tools.
 */
#include "test_suites.h"
#include "tool_harness.h"

#include "hs2.h"
#include "tools.h"

#include "hs_buf.h"
#include "hs_error.h"
#include "hs_streamid.h"
#include "hs_time.h"
#include "hs_workflow.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#define S(x) ((int64_t)(x)*HS_US_PER_S)
/* 2016-04-28T20:00:00Z. */
#define T0 S(1461873600)

/* ------------------------------------------------------------------ helpers */

/*
 * A batch as text: "<seconds after T0>:<json>" per instance, space separated
 * (static buffer: compare it before the next call).
 */
static const char *dump(const hs_batch *b)
{
    static char out[32768];
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < b->n && used < sizeof out; i++) {
        int64_t rel = b->items[i].t_us - T0;
        int w;
        if (rel % HS_US_PER_S == 0)
            w = snprintf(out + used, sizeof out - used, "%s%lld:%s", i ? " " : "",
                         (long long)(rel / HS_US_PER_S), th_json(b, i));
        else
            w = snprintf(out + used, sizeof out - used, "%s%lldus:%s", i ? " " : "", (long long)rel,
                         th_json(b, i));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return out;
}

/* The plate values of an output, comma separated, in the order announced (static buffer). */
static const char *plates(const hs_tool_output *o)
{
    static char out[4096];
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < o->nplate_values && used < sizeof out; i++) {
        int w = snprintf(out + used, sizeof out - used, "%s%s", i ? "," : "", o->plate_values[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return out;
}

/* A job of def over (T0, T0 + 60 s]. */
static void job(th_job *j, const hs_tool_def *def, const char *params)
{
    th_init(j, def, params, T0, T0 + S(60));
}

/* Sets the sinks of a multi-output job: ids "out/room=<value>" of the given values. */
static void room_sinks(th_job *j, const char *const *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        j->sink_ids[i] = ids[i];
    j->nsinks = n;
    j->output_meta = "room";
}

static const char *const ROOMS2[] = {"out/house=1/room=kitchen", "out/house=1/room=lounge"};

/* Runs a job that must succeed; prints the error when it does not. */
static void run_ok(th_job *j, hs_tool_output *o)
{
    int rc = th_run(j, o);
    if (rc != HS_OK)
        fprintf(stderr, "\n%s failed: %s\n", j->def->name, o->error);
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
}

/* Runs a job that must fail with an error containing what. */
static void run_fails(th_job *j, const char *what)
{
    hs_tool_output o;
    int rc = th_run(j, &o);
    CU_ASSERT_EQUAL(rc, HS_ERR_TOOL);
    if (strstr(o.error, what) == NULL)
        fprintf(stderr, "\n%s: error '%s' lacks '%s'\n", j->def->name, o.error, what);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.error, what));
    hs_tool_output_free(&o);
}

/* Appends batch b to acc. */
static void append(hs_batch *acc, const hs_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        hs_batch_push(acc, b->items[i].t_us, hs_batch_value(b, i), b->items[i].len);
}

/*
 * Runs j over its interval once, then as consecutive jobs cut at the given
 * points, and checks that every sink gets the same instances either way.
 */
static void check_split(th_job *j, const int64_t *cuts, size_t ncuts)
{
    int64_t start = j->start, end = j->end;
    hs_tool_output whole;
    run_ok(j, &whole);
    size_t ns = whole.nsinks;
    hs_batch joined[TH_MAX_SRC];
    for (size_t s = 0; s < ns; s++)
        hs_batch_init(&joined[s]);
    int64_t a = start;
    for (size_t k = 0; k <= ncuts; k++) {
        j->start = a;
        j->end = k < ncuts ? cuts[k] : end;
        hs_tool_output part;
        run_ok(j, &part);
        for (size_t s = 0; s < ns; s++)
            append(&joined[s], &part.per_sink[s]);
        hs_tool_output_free(&part);
        a = j->end;
    }
    j->start = start;
    j->end = end;
    size_t total = 0;
    for (size_t s = 0; s < ns; s++) {
        bool same = whole.per_sink[s].n == joined[s].n;
        for (size_t i = 0; same && i < joined[s].n; i++)
            same = whole.per_sink[s].items[i].t_us == joined[s].items[i].t_us &&
                   whole.per_sink[s].items[i].len == joined[s].items[i].len &&
                   memcmp(hs_batch_value(&whole.per_sink[s], i), hs_batch_value(&joined[s], i),
                          joined[s].items[i].len) == 0;
        if (!same) {
            fprintf(stderr, "\nsplit %s sink %zu: whole %zu instances:\n %.400s\n", j->def->name, s,
                    whole.per_sink[s].n, dump(&whole.per_sink[s]));
            fprintf(stderr, " joined %zu:\n %.400s\n", joined[s].n, dump(&joined[s]));
        }
        CU_ASSERT_TRUE(same);
        total += whole.per_sink[s].n;
        hs_batch_free(&joined[s]);
    }
    CU_ASSERT_TRUE(total > 0);
    hs_tool_output_free(&whole);
}

/* ------------------------------------------------------------------ definitions */

static const hs_tool_def *const ALL[] = {
    &hs_tool_aggregate_into_dict_and_apply,
    &hs_tool_aggregate_plate,
    &hs_tool_asset_plate_generator,
    &hs_tool_asset_splitter,
    &hs_tool_index_of,
    &hs_tool_index_of_by_stream,
    &hs_tool_meta_instance,
    &hs_tool_meta_instance_from_list,
    &hs_tool_plate_sink,
    &hs_tool_splitter_from_stream,
    &hs_tool_splitter_of_dict,
    &hs_tool_splitter_of_list,
    &hs_tool_splitter_time_aware,
    &hs_tool_splitter_time_aware_from_stream,
    &hs_tool_splitter_with_unlist,
    &hs_tool_stream_broadcaster,
    &hs_tool_stream_broadcaster_from_stream,
};
#define NALL (sizeof ALL / sizeof ALL[0])

/* Every definition is complete, its defaults parse, and the library registers it. */
static void test_definitions(void)
{
    hs_tool_registry *r = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_tool_registry_create(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_builtin_tools_register(r), HS_OK);
    for (size_t i = 0; i < NALL; i++) {
        const hs_tool_def *d = ALL[i];
        int a, b, c;
        CU_ASSERT_EQUAL(hs_tool_version_parse(d->version, &a, &b, &c), HS_OK);
        CU_ASSERT_PTR_NOT_NULL(d->summary);
        CU_ASSERT_PTR_NOT_NULL(d->doc);
        CU_ASSERT_TRUE(d->run != NULL || d->map != NULL);
        CU_ASSERT_PTR_EQUAL(hs_tool_registry_find(r, d->name), d);
        /* Only required parameters may be reported missing: defaults are valid. */
        hs_buf err;
        hs_buf_init(&err, 0);
        bool required = false;
        for (const hs_tool_param *p = d->params; p && p->name; p++)
            required = required || p->def == NULL;
        int rc = hs_tool_check_params(d, NULL, 0, &err);
        CU_ASSERT_EQUAL(rc, required ? HS_ERR_SCHEMA : HS_OK);
        if (required)
            CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "needs parameter"));
        hs_buf_free(&err);
    }
    CU_ASSERT_EQUAL(hs_tool_aggregate_plate.kind, HS_TOOL_AGGREGATE);
    CU_ASSERT_EQUAL(hs_tool_aggregate_into_dict_and_apply.kind, HS_TOOL_AGGREGATE);
    CU_ASSERT_EQUAL(hs_tool_splitter_of_list.kind, HS_TOOL_MULTI);
    CU_ASSERT_EQUAL(hs_tool_index_of.kind, HS_TOOL_SELECTOR);
    CU_ASSERT_EQUAL(hs_tool_plate_sink.kind, HS_TOOL_SELECTOR);
    CU_ASSERT_EQUAL(hs_tool_meta_instance.kind, HS_TOOL_PLATE);
    CU_ASSERT_STRING_EQUAL(hs_tool_index_of.version, "0.2.0");
    CU_ASSERT_STRING_EQUAL(hs_tool_splitter_from_stream.version, "0.0.3");
    CU_ASSERT_TRUE(hs_tool_splitter_from_stream.splitting);
    CU_ASSERT_TRUE(hs_tool_stream_broadcaster_from_stream.splitting);
    CU_ASSERT_TRUE(hs_tool_splitter_time_aware_from_stream.splitting);
    CU_ASSERT_FALSE(hs_tool_splitter_time_aware.splitting);
    hs_tool_registry_destroy(r);
}

/* The key texts of scalars follow Python's str where it matters. */
static void test_key_text(void)
{
    hs_value v;
    char buf[HS_TU_KEY_BUF];
    const char *s;
    size_t len;
    memset(&v, 0, sizeof v);
    v.type = HS_V_INT;
    v.u.i = -42;
    CU_ASSERT_TRUE(hs_tu_key_text(&v, buf, &s, &len));
    CU_ASSERT_EQUAL(len, 3);
    CU_ASSERT_NSTRING_EQUAL(s, "-42", 3);
    v.type = HS_V_FLOAT;
    v.u.f = 2.0;
    CU_ASSERT_TRUE(hs_tu_key_text(&v, buf, &s, &len));
    CU_ASSERT_NSTRING_EQUAL(s, "2.0", len);
    v.u.f = 0.1;
    CU_ASSERT_TRUE(hs_tu_key_text(&v, buf, &s, &len));
    CU_ASSERT_EQUAL(len, 3);
    CU_ASSERT_NSTRING_EQUAL(s, "0.1", 3);
    v.type = HS_V_BOOL;
    v.u.b = true;
    CU_ASSERT_TRUE(hs_tu_key_text(&v, buf, &s, &len));
    CU_ASSERT_NSTRING_EQUAL(s, "true", 4);
    v.type = HS_V_NIL;
    CU_ASSERT_FALSE(hs_tu_key_text(&v, buf, &s, &len));
    v.type = HS_V_ARRAY;
    v.len = 0;
    CU_ASSERT_FALSE(hs_tu_key_text(&v, buf, &s, &len));
}

/* ------------------------------------------------------------------ aggregate */

static void aid_sources(th_job *j)
{
    j->src_ids[0] = "temp/house=1/room=lounge";
    j->src_ids[1] = "temp/house=1/room=kitchen";
    j->nsrc = 2;
    j->sink_ids[0] = "temps/house=1";
    j->nsinks = 1;
    th_push_int(&j->src[0], T0 + S(2), 19);
    th_push_int(&j->src[0], T0 + S(3), 18);
    th_push_int(&j->src[1], T0 + S(1), 21);
    th_push_int(&j->src[1], T0 + S(2), 22);
}

/* The reference's semantics: per timestamp {plate value: func(value)}, keys sorted. */
static void test_aid_basic(void)
{
    th_job j;
    job(&j, &hs_tool_aggregate_into_dict_and_apply, "{\"func\": \"identity\"}");
    aid_sources(&j);
    th_push_int(&j.src[1], T0 + S(61), 99); /* after the job: not read */
    hs_tool_output o;
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.nsinks, 1);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]),
                           "1:{\"kitchen\":21} 2:{\"kitchen\":22,\"lounge\":19} 3:{\"lounge\":18}");
    CU_ASSERT_EQUAL(o.warnings, 0);
    hs_tool_output_free(&o);
    th_free(&j);

    /* The key given explicitly, and a function. */
    job(&j, &hs_tool_aggregate_into_dict_and_apply,
        "{\"func\": \"c_to_f\", \"aggregation_meta_data\": \"room\"}");
    aid_sources(&j);
    th_push_json(&j.src[0], T0 + S(4), "\"warm\"");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]),
                           "1:{\"kitchen\":69.8} 2:{\"kitchen\":71.6,\"lounge\":66.2} "
                           "3:{\"lounge\":64.4}");
    /* A value the function cannot take is skipped with a warning. */
    CU_ASSERT_EQUAL(o.warnings, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.warning, "skipped"));
    hs_tool_output_free(&o);
    th_free(&j);
}

/* Structured values survive (they are copied before their chunk moves on). */
static void test_aid_values(void)
{
    th_job j;
    job(&j, &hs_tool_aggregate_into_dict_and_apply, "{\"func\": \"identity\"}");
    j.src_ids[0] = "m/room=a";
    j.src_ids[1] = "m/room=b";
    j.src_ids[2] = "m/room=c";
    j.nsrc = 3;
    th_push_json(&j.src[0], T0 + S(5), "{\"x\": [1, \"s\"]}");
    th_push_json(&j.src[1], T0 + S(5), "\"text\"");
    th_push_json(&j.src[2], T0 + S(5), "null");
    hs_tool_output o;
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]),
                           "5:{\"a\":{\"x\":[1,\"s\"]},\"b\":\"text\",\"c\":null}");
    hs_tool_output_free(&o);
    th_free(&j);
}

/* The key: given, inferred, ambiguous, missing from a source. */
static void test_aid_keys(void)
{
    th_job j;
    /* Two keys the sink lacks: cannot be inferred. */
    job(&j, &hs_tool_aggregate_into_dict_and_apply, "{\"func\": \"identity\"}");
    j.src_ids[0] = "t/house=1/room=a";
    j.src_ids[1] = "t/house=2/room=b";
    j.nsrc = 2;
    j.sink_ids[0] = "s";
    j.nsinks = 1;
    run_fails(&j, "give parameter 'aggregation_meta_data'");
    th_free(&j);
    /* No key at all. */
    job(&j, &hs_tool_aggregate_into_dict_and_apply, "{\"func\": \"identity\"}");
    j.nsrc = 1;
    run_fails(&j, "cannot be inferred");
    th_free(&j);
    /* A source without the given key. */
    job(&j, &hs_tool_aggregate_into_dict_and_apply,
        "{\"func\": \"identity\", \"aggregation_meta_data\": \"room\"}");
    j.src_ids[0] = "t/room=a";
    j.src_ids[1] = "t/house=1";
    j.nsrc = 2;
    run_fails(&j, "source t/house=1 has no meta-data key 'room'");
    th_free(&j);
    /* Bad parameters. */
    job(&j, &hs_tool_aggregate_into_dict_and_apply, "{\"aggregation_meta_data\": \"room\"}");
    j.src_ids[0] = "t/room=a";
    j.nsrc = 1;
    run_fails(&j, "'func' is required");
    th_free(&j);
    job(&j, &hs_tool_aggregate_into_dict_and_apply, "{\"func\": \"mean\"}");
    j.src_ids[0] = "t/room=a";
    j.nsrc = 1;
    run_fails(&j, "unknown function 'mean'");
    th_free(&j);
    job(&j, &hs_tool_aggregate_into_dict_and_apply,
        "{\"func\": \"identity\", \"aggregation_meta_data\": 3}");
    j.src_ids[0] = "t/room=a";
    j.nsrc = 1;
    run_fails(&j, "must be a string");
    th_free(&j);
    job(&j, &hs_tool_aggregate_into_dict_and_apply, "{\"func\": \"identity\"}");
    run_fails(&j, "at least one source");
    th_free(&j);
}

/* Many sources, more than a read chunk each, and any cut of the interval. */
static void test_aid_split_and_paging(void)
{
    th_job j;
    th_init(&j, &hs_tool_aggregate_into_dict_and_apply, "{\"func\": \"identity\"}", T0,
            T0 + S(10000));
    static char ids[8][32];
    for (size_t s = 0; s < 8; s++) {
        snprintf(ids[s], sizeof ids[s], "t/house=1/room=r%zu", s);
        j.src_ids[s] = ids[s];
        /* Source s has an instance every (s + 1) seconds. */
        for (int64_t k = 1; k * (int64_t)(s + 1) <= 10000; k++)
            th_push_int(&j.src[s], T0 + S(k * (int64_t)(s + 1)), (int64_t)s * 100000 + k);
    }
    j.nsrc = 8;
    j.sink_ids[0] = "all/house=1";
    j.nsinks = 1;
    hs_tool_output o;
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.per_sink[0].n, 10000);
    /* At 12 s: sources with (s + 1) dividing 12: r0, r1, r2, r3, r5. */
    CU_ASSERT_STRING_EQUAL(th_json(&o.per_sink[0], 11),
                           "{\"r0\":12,\"r1\":100006,\"r2\":200004,\"r3\":300003,\"r5\":500002}");
    hs_tool_output_free(&o);
    const int64_t cuts[] = {T0 + S(1), T0 + S(4095), T0 + S(4097), T0 + S(7777)};
    check_split(&j, cuts, 4);
    th_free(&j);
}

static void test_aggregate_plate(void)
{
    th_job j;
    job(&j, &hs_tool_aggregate_plate, NULL);
    j.src_ids[0] = "d/house=1/room=kitchen";
    j.src_ids[1] = "d/house=1/room=lounge";
    j.nsrc = 2;
    j.sink_ids[0] = "d_all/house=1";
    j.nsinks = 1;
    th_push_json(&j.src[0], T0 + S(1), "{\"t\": 21}");
    th_push_json(&j.src[0], T0 + S(3), "{\"t\": 23}");
    th_push_json(&j.src[0], T0 + S(4), "[1]");
    th_push_json(&j.src[1], T0 + S(2), "{\"room\": \"x\", \"t\": 19}");
    th_push_json(&j.src[1], T0 + S(3), "{\"t\": 18}");
    hs_tool_output o;
    run_ok(&j, &o);
    /*
     * Sorted by time; room replaced in place or added last; at 3 s the first
     * source's value is kept; the list at 4 s is skipped.
     */
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]),
                           "1:{\"t\":21,\"room\":\"kitchen\"} 2:{\"room\":\"lounge\",\"t\":19} "
                           "3:{\"t\":23,\"room\":\"kitchen\"}");
    CU_ASSERT_EQUAL(o.warnings, 2);
    hs_tool_output_free(&o);
    const int64_t cuts[] = {T0 + S(2), T0 + S(3)};
    check_split(&j, cuts, 2);
    th_free(&j);

    /* The key given; a source without it fails the job. */
    job(&j, &hs_tool_aggregate_plate, "{\"aggregation_meta_data\": \"room\"}");
    j.src_ids[0] = "d/room=kitchen";
    j.src_ids[1] = "d/zone=2";
    j.nsrc = 2;
    run_fails(&j, "no meta-data key 'room'");
    th_free(&j);
    job(&j, &hs_tool_aggregate_plate, "{\"aggregation_meta_data\": [\"room\"]}");
    j.src_ids[0] = "d/room=kitchen";
    j.nsrc = 1;
    run_fails(&j, "must be a string");
    th_free(&j);
}

/* ------------------------------------------------------------------ multi-output */

static void test_asset_splitter(void)
{
    th_job j;
    job(&j, &hs_tool_asset_splitter, NULL);
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    th_push_json(&j.src[0], T0 + S(1),
                 "{\"kitchen\": {\"sensor\": 3}, \"lounge\": {\"sensor\": 5}, \"attic\": 1}");
    th_push_json(&j.src[0], T0 + S(2), "[\"kitchen\"]");
    th_push_json(&j.src[0], T0 + S(3), "{\"lounge\": 7}");
    hs_tool_output o;
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.nsinks, 2);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:{\"sensor\":3}");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "1:{\"sensor\":5} 3:7");
    /* attic is not on the output plate; the list is not a map. */
    CU_ASSERT_EQUAL(o.warnings, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.warning, "'attic'"));
    hs_tool_output_free(&o);
    th_free(&j);

    /* element and a whitelist. */
    job(&j, &hs_tool_asset_splitter, "{\"element\": \"rooms\", \"filters\": [\"kitchen\"]}");
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    th_push_json(&j.src[0], T0 + S(1), "{\"rooms\": {\"kitchen\": 1, \"lounge\": 2}}");
    th_push_json(&j.src[0], T0 + S(2), "{\"other\": {\"kitchen\": 1}}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:1");
    CU_ASSERT_EQUAL(o.per_sink[1].n, 0);
    CU_ASSERT_EQUAL(o.warnings, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.warning, "no 'rooms'"));
    hs_tool_output_free(&o);
    th_free(&j);

    job(&j, &hs_tool_asset_splitter, "{\"filters\": \"kitchen\"}");
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    run_fails(&j, "'filters' must be a list");
    th_free(&j);
    job(&j, &hs_tool_asset_splitter, "{\"filters\": [{}]}");
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    run_fails(&j, "item 0 of parameter 'filters'");
    th_free(&j);
}

static void sfs_job(th_job *j, const char *params, const char *mapping)
{
    job(j, &hs_tool_splitter_from_stream, params);
    j->nsrc = 1;
    room_sinks(j, ROOMS2, 2);
    j->has_splitting = true;
    if (mapping != NULL)
        th_push_json(&j->splitting, T0 - S(100), mapping);
}

static void test_splitter_from_stream(void)
{
    th_job j;
    hs_tool_output o;
    /* No element: each field by its key; the mapping is read from before the job. */
    sfs_job(&j, NULL, "{\"k\": \"kitchen\", \"l\": \"lounge\", \"b\": \"bathroom\"}");
    th_push_json(&j.splitting, T0 + S(61), "{\"k\": \"lounge\"}"); /* after the job */
    th_push_json(&j.src[0], T0 + S(1), "{\"k\": 1, \"l\": {\"a\": 2}, \"x\": 3, \"b\": 4}");
    th_push_json(&j.src[0], T0 + S(2), "{\"k\": null, \"l\": 5}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:1");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "1:{\"a\":2} 2:5");
    /* x is not in the mapping, bathroom is not on the plate. */
    CU_ASSERT_EQUAL(o.warnings, 2);
    hs_tool_output_free(&o);
    const int64_t cuts[] = {T0 + S(1)};
    check_split(&j, cuts, 1);
    th_free(&j);

    /* element, with a list mapping (each value to itself); the last mapping wins. */
    sfs_job(&j, "{\"element\": \"room\"}", "{\"kitchen\": \"lounge\"}");
    th_push_json(&j.splitting, T0 + S(30), "[\"kitchen\", \"lounge\"]");
    th_push_json(&j.src[0], T0 + S(1), "{\"room\": \"kitchen\", \"temp\": 21}");
    th_push_json(&j.src[0], T0 + S(2), "{\"temp\": 21}");
    th_push_json(&j.src[0], T0 + S(3), "{\"room\": \"attic\", \"temp\": 1}");
    th_push_json(&j.src[0], T0 + S(4), "{\"temp\": 19, \"room\": \"lounge\", \"hum\": 50}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:{\"temp\":21}");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "4:{\"temp\":19,\"hum\":50}");
    CU_ASSERT_EQUAL(o.warnings, 2);
    hs_tool_output_free(&o);
    th_free(&j);

    /* use_mapping_keys_only; numbers as keys. */
    sfs_job(&j, "{\"element\": \"id\", \"use_mapping_keys_only\": true}",
            "{\"kitchen\": \"zzz\", \"lounge\": 0}");
    th_push_json(&j.src[0], T0 + S(1), "{\"id\": \"kitchen\", \"v\": 1}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:{\"v\":1}");
    hs_tool_output_free(&o);
    th_free(&j);

    /* No mapping yet: nothing, with a warning. */
    sfs_job(&j, NULL, NULL);
    th_push_json(&j.src[0], T0 + S(1), "{\"kitchen\": 1}");
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.per_sink[0].n + o.per_sink[1].n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.warning, "no value"));
    hs_tool_output_free(&o);
    th_free(&j);

    /* Bad mappings fail the job. */
    sfs_job(&j, NULL, "42");
    run_fails(&j, "must be a map");
    th_free(&j);
    sfs_job(&j, NULL, "{\"k\": [\"kitchen\"]}");
    run_fails(&j, "must be a plate value");
    th_free(&j);
    /* No splitting stream at all. */
    sfs_job(&j, NULL, "{}");
    j.has_splitting = false;
    run_fails(&j, "reads a source the factor does not give");
    th_free(&j);
}

static void test_splitter_of_dict(void)
{
    th_job j;
    hs_tool_output o;
    job(&j, &hs_tool_splitter_of_dict, "{\"mapping\": {\"a\": \"kitchen\", \"b\": \"lounge\"}}");
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    th_push_json(&j.src[0], T0 + S(1), "{\"a\": 1, \"b\": {\"x\": 2}, \"c\": 3}");
    th_push_json(&j.src[0], T0 + S(2), "7");
    th_push_json(&j.src[0], T0 + S(3), "{\"b\": null}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:1");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "1:{\"x\":2} 3:null");
    CU_ASSERT_EQUAL(o.warnings, 2); /* c unknown, 7 not a map */
    hs_tool_output_free(&o);
    th_free(&j);

    /* Numbers as plate values; a value mapped to a plate value not on the plate. */
    job(&j, &hs_tool_splitter_of_dict, "{\"mapping\": {\"a\": 1, \"b\": 2.5}}");
    j.nsrc = 1;
    const char *ids[] = {"o/n=1", "o/n=2.5"};
    j.sink_ids[0] = ids[0];
    j.sink_ids[1] = ids[1];
    j.nsinks = 2;
    j.output_meta = "n";
    th_push_json(&j.src[0], T0 + S(1), "{\"a\": \"x\", \"b\": \"y\"}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:\"x\"");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "1:\"y\"");
    hs_tool_output_free(&o);
    th_free(&j);

    job(&j, &hs_tool_splitter_of_dict, NULL);
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    run_fails(&j, "'mapping' must be a map");
    th_free(&j);
    job(&j, &hs_tool_splitter_of_dict, "{\"mapping\": {\"a\": [1]}}");
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    run_fails(&j, "mapping['a'] must be a plate value");
    th_free(&j);
}

static void test_splitter_of_list(void)
{
    th_job j;
    hs_tool_output o;
    job(&j, &hs_tool_splitter_of_list, "{\"mapping\": [\"kitchen\", \"lounge\", \"attic\"]}");
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    th_push_json(&j.src[0], T0 + S(1), "[1, 2, 3, 4]");
    th_push_json(&j.src[0], T0 + S(2), "[5]");
    th_push_json(&j.src[0], T0 + S(3), "{\"a\": 1}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:1 2:5");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "1:2");
    /* attic not on the plate (1 s), the short list (2 s), the map (3 s). */
    CU_ASSERT_EQUAL(o.warnings, 3);
    hs_tool_output_free(&o);
    th_free(&j);

    job(&j, &hs_tool_splitter_of_list, NULL);
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    run_fails(&j, "'mapping'");
    th_free(&j);
    job(&j, &hs_tool_splitter_of_list, "{\"mapping\": [\"kitchen\", null]}");
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    run_fails(&j, "item 1 of parameter 'mapping'");
    th_free(&j);
}

static const char *const TRIALS[] = {"x/trial=1", "x/trial=2", "x/trial=a"};

static void sta_job(th_job *j, const char *params)
{
    job(j, &hs_tool_splitter_time_aware, params);
    j->nsrc = 1;
    for (size_t i = 0; i < 3; i++)
        j->sink_ids[i] = TRIALS[i];
    j->nsinks = 3;
    j->output_meta = "trial";
    for (int k = 1; k <= 70; k++)
        th_push_int(&j->src[0], T0 + S(k), k);
}

static void test_splitter_time_aware(void)
{
    th_job j;
    hs_tool_output o;
    char params[512];
    /* [start, end] pairs in epoch seconds: plate values "1" and "2". */
    snprintf(params, sizeof params, "{\"time_intervals\": [[%lld, %lld], [%lld, %lld]]}",
             (long long)(T0 / HS_US_PER_S + 0), (long long)(T0 / HS_US_PER_S + 3),
             (long long)(T0 / HS_US_PER_S + 20), (long long)(T0 / HS_US_PER_S + 22));
    sta_job(&j, params);
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:1 2:2 3:3");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "21:21 22:22");
    CU_ASSERT_EQUAL(o.per_sink[2].n, 0);
    CU_ASSERT_EQUAL(o.warnings, 0);
    hs_tool_output_free(&o);
    /* Intervals that stick out of the job are cut to it, so any cut gives the same. */
    const int64_t cuts[] = {T0 + S(2), T0 + S(21)};
    check_split(&j, cuts, 2);
    th_free(&j);

    /* Named intervals in ISO-8601, overlapping, reaching past the job end; unknown plate value. */
    sta_job(&j, "{\"time_intervals\": ["
                "[\"a\", [\"2016-04-28T20:00:58Z\", \"2016-04-28T20:02:00Z\"]],"
                "[2, [\"2016-04-28T20:00:59Z\", \"1461873660.5\"]],"
                "[\"zz\", [\"2016-04-28T20:00:00Z\", \"2016-04-28T20:00:10Z\"]]]}");
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.per_sink[0].n, 0);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "60:60");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[2]), "59:59 60:60");
    CU_ASSERT_EQUAL(o.warnings, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.warning, "'zz'"));
    hs_tool_output_free(&o);
    th_free(&j);

    /* Intervals outside the job: nothing, no failure. */
    sta_job(&j, "{\"time_intervals\": [[0, 10]]}");
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.per_sink[0].n, 0);
    hs_tool_output_free(&o);
    th_free(&j);

    /* Bad parameters. */
    sta_job(&j, NULL);
    run_fails(&j, "'time_intervals' is required");
    th_free(&j);
    sta_job(&j, "{\"time_intervals\": {\"a\": 1}}");
    run_fails(&j, "must be a list");
    th_free(&j);
    sta_job(&j, "{\"time_intervals\": [[10, 5]]}");
    run_fails(&j, "starts at or after its end");
    th_free(&j);
    sta_job(&j, "{\"time_intervals\": [[\"a\", [1, 2]], [\"a\", [3, 4]]]}");
    run_fails(&j, "plate value 'a' has more than one interval");
    th_free(&j);
    sta_job(&j, "{\"time_intervals\": [[\"yesterday\", \"today\"]]}");
    run_fails(&j, "item 0");
    th_free(&j);
    sta_job(&j, "{\"time_intervals\": [[1, 2, 3]]}");
    run_fails(&j, "item 0");
    th_free(&j);
    sta_job(&j, "{\"time_intervals\": [[{}, [1, 2]]]}");
    run_fails(&j, "plate value of item 0");
    th_free(&j);
}

static void test_splitter_time_aware_from_stream(void)
{
    th_job j;
    hs_tool_output o;
    char v[256];
    job(&j, &hs_tool_splitter_time_aware_from_stream, NULL);
    j.nsrc = 1;
    for (size_t i = 0; i < 3; i++)
        j.sink_ids[i] = TRIALS[i];
    j.nsinks = 3;
    j.output_meta = "trial";
    j.has_splitting = true;
    for (int k = 1; k <= 60; k++)
        th_push_int(&j.src[0], T0 + S(k), k);
    /* Microseconds in the stream, like sliding_window's windows; the last value counts. */
    th_push_json(&j.splitting, T0 - S(10), "[[0, 1]]");
    snprintf(v, sizeof v, "[[%lld, %lld], [\"a\", [\"2016-04-28T20:00:30Z\", %lld]]]",
             (long long)(T0 + S(5)), (long long)(T0 + S(7)), (long long)(T0 + S(31)));
    th_push_json(&j.splitting, T0 + S(10), v);
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "6:6 7:7");
    CU_ASSERT_EQUAL(o.per_sink[1].n, 0);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[2]), "31:31");
    hs_tool_output_free(&o);
    th_free(&j);

    /* No value yet: nothing, warned; floats in the stream are refused. */
    job(&j, &hs_tool_splitter_time_aware_from_stream, NULL);
    j.nsrc = 1;
    j.sink_ids[0] = TRIALS[0];
    j.nsinks = 1;
    j.output_meta = "trial";
    j.has_splitting = true;
    th_push_int(&j.src[0], T0 + S(1), 1);
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.per_sink[0].n, 0);
    CU_ASSERT_EQUAL(o.warnings, 1);
    hs_tool_output_free(&o);
    th_push_json(&j.splitting, T0, "[[1.5, 2.5]]");
    run_fails(&j, "integer microseconds");
    th_free(&j);
}

static void test_splitter_with_unlist(void)
{
    th_job j;
    hs_tool_output o;
    job(&j, &hs_tool_splitter_with_unlist,
        "{\"element\": \"readings\", \"subelement\": \"room\", "
        "\"mapping\": {\"k\": \"kitchen\", \"l\": \"lounge\", \"z\": \"attic\"}}");
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    th_push_json(&j.src[0], T0 + S(1),
                 "{\"house\": \"1\", \"readings\": [{\"room\": \"k\", \"temp\": 21}, "
                 "{\"house\": \"9\", \"room\": \"l\", \"temp\": 19}, {\"temp\": 0}, "
                 "{\"room\": \"q\", \"temp\": 1}, {\"room\": \"z\"}, 5]}");
    th_push_json(&j.src[0], T0 + S(2), "{\"readings\": 3}");
    th_push_json(&j.src[0], T0 + S(3), "[1]");
    run_ok(&j, &o);
    /* The rest of the value updates each item (its house wins). */
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:{\"temp\":21,\"house\":\"1\"}");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "1:{\"house\":\"1\",\"temp\":19}");
    /* No room, q unmapped, attic not on the plate, 5 not a map, then the two bad values. */
    CU_ASSERT_EQUAL(o.warnings, 6);
    hs_tool_output_free(&o);
    th_free(&j);

    /* Without a mapping the subelement names the plate value; numbers too. */
    job(&j, &hs_tool_splitter_with_unlist, "{\"element\": \"r\", \"subelement\": \"id\"}");
    j.nsrc = 1;
    const char *ids[] = {"o/room=kitchen", "o/room=7"};
    room_sinks(&j, ids, 2);
    th_push_json(&j.src[0], T0 + S(1),
                 "{\"r\": [{\"id\": \"kitchen\", \"v\": 1}, {\"id\": 7, \"v\": 2, \"id2\": 3}], "
                 "\"id\": \"top\"}");
    run_ok(&j, &o);
    /* A field of the value named like the subelement is added back by the update. */
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:{\"v\":1,\"id\":\"top\"}");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "1:{\"v\":2,\"id2\":3,\"id\":\"top\"}");
    hs_tool_output_free(&o);
    th_free(&j);

    job(&j, &hs_tool_splitter_with_unlist, "{\"element\": \"r\"}");
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    run_fails(&j, "'subelement'");
    th_free(&j);
    job(&j, &hs_tool_splitter_with_unlist, "{\"subelement\": \"r\"}");
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    run_fails(&j, "'element'");
    th_free(&j);
    job(&j, &hs_tool_splitter_with_unlist,
        "{\"element\": \"r\", \"subelement\": \"id\", \"mapping\": [1]}");
    j.nsrc = 1;
    room_sinks(&j, ROOMS2, 2);
    run_fails(&j, "'mapping' must be a map");
    th_free(&j);
}

static void test_stream_broadcaster(void)
{
    th_job j;
    hs_tool_output o;
    job(&j, &hs_tool_stream_broadcaster, "{\"func\": \"abs\"}");
    j.nsrc = 1;
    const char *ids[] = {"o/room=kitchen", "o/room=lounge", "o/room=attic"};
    room_sinks(&j, ids, 3);
    th_push_int(&j.src[0], T0 + S(1), -3);
    th_push_json(&j.src[0], T0 + S(2), "\"x\"");
    th_push_double(&j.src[0], T0 + S(3), -1.5);
    run_ok(&j, &o);
    for (size_t s = 0; s < 3; s++)
        CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[s]), "1:3 3:1.5");
    CU_ASSERT_EQUAL(o.warnings, 1);
    hs_tool_output_free(&o);
    th_free(&j);

    job(&j, &hs_tool_stream_broadcaster, "{\"func\": \"identity\"}");
    j.nsrc = 1;
    room_sinks(&j, ids, 2);
    th_push_json(&j.src[0], T0 + S(4), "{\"a\": [1, 2]}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "4:{\"a\":[1,2]}");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "4:{\"a\":[1,2]}");
    hs_tool_output_free(&o);
    th_free(&j);

    job(&j, &hs_tool_stream_broadcaster, "{\"func\": \"nope\"}");
    j.nsrc = 1;
    room_sinks(&j, ids, 2);
    run_fails(&j, "unknown function 'nope'");
    th_free(&j);
    job(&j, &hs_tool_stream_broadcaster, NULL);
    j.nsrc = 1;
    room_sinks(&j, ids, 2);
    run_fails(&j, "'func' is required");
    th_free(&j);
}

static void sbs_job(th_job *j, const char *params, const char *split)
{
    static const char *const ids[] = {"o/room=kitchen", "o/room=lounge", "o/room=bathroom"};
    job(j, &hs_tool_stream_broadcaster_from_stream, params);
    j->nsrc = 1;
    room_sinks(j, ids, 3);
    j->has_splitting = true;
    if (split != NULL)
        th_push_json(&j->splitting, T0 - S(1000), split);
    th_push_int(&j->src[0], T0 + S(1), 1);
    th_push_int(&j->src[0], T0 + S(2), -2);
}

static void test_stream_broadcaster_from_stream(void)
{
    th_job j;
    hs_tool_output o;
    /* Values: sorted and distinct (attic, kitchen, lounge); attic is not a sink. */
    sbs_job(&j, "{\"func\": \"neg\"}",
            "{\"a\": \"lounge\", \"b\": \"kitchen\", \"c\": \"kitchen\", \"d\": \"attic\"}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:-1 2:2");
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "1:-1 2:2");
    CU_ASSERT_EQUAL(o.per_sink[2].n, 0); /* bathroom: not named */
    CU_ASSERT_EQUAL(o.warnings, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.warning, "'attic'"));
    hs_tool_output_free(&o);
    const int64_t cuts[] = {T0 + S(1), T0 + S(30)};
    check_split(&j, cuts, 2);
    th_free(&j);

    /* Keys. */
    sbs_job(&j, "{\"func\": \"identity\", \"use_keys_not_values\": true}",
            "{\"lounge\": 1, \"x\": {\"deep\": true}}");
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.per_sink[0].n, 0);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "1:1 2:-2");
    hs_tool_output_free(&o);
    th_free(&j);

    /* A list. */
    sbs_job(&j, "{\"func\": \"identity\"}", "[\"bathroom\", \"kitchen\"]");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:1 2:-2");
    CU_ASSERT_EQUAL(o.per_sink[1].n, 0);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[2]), "1:1 2:-2");
    hs_tool_output_free(&o);
    th_free(&j);

    /* Nothing to broadcast to yet. */
    sbs_job(&j, "{\"func\": \"identity\"}", NULL);
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.per_sink[0].n + o.per_sink[1].n + o.per_sink[2].n, 0);
    CU_ASSERT_EQUAL(o.warnings, 1);
    hs_tool_output_free(&o);
    th_free(&j);

    sbs_job(&j, "{\"func\": \"identity\"}", "{\"a\": {\"b\": 1}}");
    run_fails(&j, "must be a plate value");
    th_free(&j);
    sbs_job(&j, "{\"func\": \"identity\"}", "\"kitchen\"");
    run_fails(&j, "must be a map");
    th_free(&j);
}

/* ------------------------------------------------------------------ selectors */

static void io_job(th_job *j, const char *params)
{
    job(j, &hs_tool_index_of, params);
    j->src_ids[0] = "temp/house=1/room=lounge";
    j->src_ids[1] = "temp/house=1/room=kitchen";
    j->nsrc = 2;
    j->sink_ids[0] = "temp_kitchen/house=1";
    j->nsinks = 1;
    th_push_double(&j->src[0], T0 + S(1), 19.5);
    th_push_double(&j->src[1], T0 + S(1), 21.5);
    th_push_json(&j->src[1], T0 + S(2), "{\"deg\": 22}");
}

static void test_index_of(void)
{
    th_job j;
    hs_tool_output o;
    io_job(&j, "{\"index\": \"kitchen\", \"selector_meta_data\": \"room\"}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:21.5 2:{\"deg\":22}");
    hs_tool_output_free(&o);
    const int64_t cuts[] = {T0 + S(1)};
    check_split(&j, cuts, 1);
    th_free(&j);

    /* The key inferred. */
    io_job(&j, "{\"index\": \"lounge\"}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:19.5");
    hs_tool_output_free(&o);
    th_free(&j);

    /* No match fails the job, naming the sources. */
    io_job(&j, "{\"index\": \"bathroom\", \"selector_meta_data\": \"room\"}");
    run_fails(&j, "no source has room=bathroom (sources: temp/house=1/room=lounge");
    th_free(&j);
    io_job(&j, "{\"index\": \"kitchen\", \"selector_meta_data\": \"floor\"}");
    run_fails(&j, "no source has floor=kitchen");
    th_free(&j);
    io_job(&j, NULL);
    run_fails(&j, "'index'");
    th_free(&j);
    io_job(&j, "{\"index\": [\"kitchen\"]}");
    run_fails(&j, "'index'");
    th_free(&j);

    /* Numeric index. */
    job(&j, &hs_tool_index_of, "{\"index\": 2}");
    j.src_ids[0] = "v/floor=1";
    j.src_ids[1] = "v/floor=2";
    j.nsrc = 2;
    th_push_int(&j.src[0], T0 + S(3), 10);
    th_push_int(&j.src[1], T0 + S(3), 20);
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "3:20");
    hs_tool_output_free(&o);
    th_free(&j);
}

static void iobs_job(th_job *j, const char *params)
{
    job(j, &hs_tool_index_of_by_stream, params);
    j->src_ids[0] = "selector";
    j->src_ids[1] = "temp/house=1/room=kitchen";
    j->src_ids[2] = "temp/house=1/room=lounge";
    j->nsrc = 3;
    j->sink_ids[0] = "temp_sel/house=1";
    j->nsinks = 1;
    th_push_int(&j->src[1], T0 + S(1), 21);
    th_push_int(&j->src[2], T0 + S(1), 19);
    th_push_int(&j->src[2], T0 + S(2), 18);
}

static void test_index_of_by_stream(void)
{
    th_job j;
    hs_tool_output o;
    /* The selector's last value up to the job end names the room. */
    iobs_job(&j, NULL);
    th_push_json(&j.src[0], T0 - S(100), "\"kitchen\"");
    th_push_json(&j.src[0], T0 - S(50), "\"lounge\"");
    th_push_json(&j.src[0], T0 + S(61), "\"kitchen\""); /* after the job */
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:19 2:18");
    hs_tool_output_free(&o);
    th_free(&j);

    /* HyperStream's form: the selector names the key, index the value. */
    iobs_job(&j, "{\"index\": \"kitchen\"}");
    th_push_json(&j.src[0], T0 - S(5), "\"room\"");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:21");
    hs_tool_output_free(&o);
    th_free(&j);

    /* The key given. */
    iobs_job(&j, "{\"selector_meta_data\": \"room\"}");
    th_push_json(&j.src[0], T0 + S(30), "\"kitchen\"");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:21");
    hs_tool_output_free(&o);
    th_free(&j);

    iobs_job(&j, NULL);
    run_fails(&j, "selector stream selector has no value");
    th_free(&j);
    iobs_job(&j, NULL);
    th_push_json(&j.src[0], T0, "{\"room\": \"kitchen\"}");
    run_fails(&j, "must be a string or number");
    th_free(&j);
    iobs_job(&j, NULL);
    th_push_json(&j.src[0], T0, "\"attic\"");
    run_fails(&j, "no source has room=attic");
    th_free(&j);
    iobs_job(&j, NULL);
    j.nsrc = 1;
    run_fails(&j, "at least one candidate");
    th_free(&j);
}

static void test_plate_sink(void)
{
    th_job j;
    hs_tool_output o;
    job(&j, &hs_tool_plate_sink, NULL);
    j.src_ids[0] = "a/room=kitchen";
    j.src_ids[1] = "a/room=lounge";
    j.nsrc = 2;
    th_push_int(&j.src[0], T0 + S(1), 1);
    th_push_int(&j.src[1], T0 + S(2), 2);
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.nsinks, 1);
    CU_ASSERT_EQUAL(o.per_sink[0].n, 0);
    CU_ASSERT_TRUE(j.reads >= 2); /* every source was read */
    hs_tool_output_free(&o);
    th_free(&j);
}

/* ------------------------------------------------------------------ plate creation */

static void apg_job(th_job *j, const char *params)
{
    job(j, &hs_tool_asset_plate_generator, params);
    j->nsrc = 1;
}

static void test_asset_plate_generator(void)
{
    th_job j;
    hs_tool_output o;
    /* Keys of the last value in the interval. */
    apg_job(&j, NULL);
    th_push_json(&j.src[0], T0 + S(1), "{\"old\": 1}");
    th_push_json(&j.src[0], T0 + S(2), "{\"1\": {\"a\": 1}, \"2\": {\"a\": 2}}");
    th_push_json(&j.src[0], T0 + S(61), "{\"future\": 1}");
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.nsinks, 0);
    CU_ASSERT_STRING_EQUAL(plates(&o), "1,2");
    hs_tool_output_free(&o);
    th_free(&j);

    /* Values, with a whitelist; repeated values once. */
    apg_job(&j, "{\"use_value_instead_of_key\": true, \"filters\": [\"x\", \"y\", 3]}");
    th_push_json(&j.src[0], T0 + S(2),
                 "{\"a\": \"x\", \"b\": \"y\", \"c\": \"x\", \"d\": \"z\", "
                 "\"e\": 3, \"f\": [1]}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(plates(&o), "x,y,3");
    CU_ASSERT_EQUAL(o.warnings, 1); /* the list */
    hs_tool_output_free(&o);
    th_free(&j);

    /* A list under element; a text that cannot be a stream-id value is skipped. */
    apg_job(&j, "{\"element\": \"rooms\"}");
    th_push_json(&j.src[0], T0 + S(2), "{\"rooms\": [\"kitchen\", \"a/b\", 7, 1.5, true]}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(plates(&o), "kitchen,7,1.5,true");
    CU_ASSERT_EQUAL(o.warnings, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.warning, "'a/b'"));
    hs_tool_output_free(&o);
    th_free(&j);

    /* Missing element, a scalar, no data: nothing. */
    apg_job(&j, "{\"element\": \"rooms\"}");
    th_push_json(&j.src[0], T0 + S(2), "{\"other\": [1]}");
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.nplate_values, 0);
    CU_ASSERT_EQUAL(o.warnings, 1);
    hs_tool_output_free(&o);
    th_free(&j);
    apg_job(&j, NULL);
    th_push_json(&j.src[0], T0 + S(2), "\"kitchen\"");
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.nplate_values, 0);
    CU_ASSERT_EQUAL(o.warnings, 1);
    hs_tool_output_free(&o);
    th_free(&j);
    apg_job(&j, NULL);
    th_push_json(&j.src[0], T0 - S(2), "[\"before\"]");
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.nplate_values, 0);
    hs_tool_output_free(&o);
    th_free(&j);

    apg_job(&j, "{\"filters\": 3}");
    run_fails(&j, "'filters' must be a list");
    th_free(&j);
    apg_job(&j, "{\"use_value_instead_of_key\": \"yes\"}");
    run_fails(&j, "true or false");
    th_free(&j);
}

static void test_meta_instance(void)
{
    th_job j;
    hs_tool_output o;
    job(&j, &hs_tool_meta_instance, "{\"func\": \"identity\"}");
    j.nsrc = 1;
    th_push_json(&j.src[0], T0 + S(1), "\"a\"");
    th_push_json(&j.src[0], T0 + S(2), "\"b\"");
    th_push_json(&j.src[0], T0 + S(3), "\"a\"");
    th_push_int(&j.src[0], T0 + S(4), 3);
    th_push_double(&j.src[0], T0 + S(5), 2.5);
    th_push_json(&j.src[0], T0 + S(6), "{\"x\": 1}");
    th_push_json(&j.src[0], T0 + S(7), "\"#\"");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(plates(&o), "a,b,3,2.5");
    CU_ASSERT_EQUAL(o.warnings, 2);
    hs_tool_output_free(&o);
    th_free(&j);

    job(&j, &hs_tool_meta_instance, "{\"func\": \"floor\"}");
    j.nsrc = 1;
    th_push_double(&j.src[0], T0 + S(1), -4.5);
    th_push_json(&j.src[0], T0 + S(2), "\"x\"");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(plates(&o), "-5.0");
    CU_ASSERT_EQUAL(o.warnings, 1);
    hs_tool_output_free(&o);
    th_free(&j);

    job(&j, &hs_tool_meta_instance, NULL);
    j.nsrc = 1;
    run_fails(&j, "'func' is required");
    th_free(&j);
}

static void test_meta_instance_from_list(void)
{
    th_job j;
    hs_tool_output o;
    job(&j, &hs_tool_meta_instance_from_list, "{\"values\": [\"x\", \"y\", 1, \"x\"]}");
    run_ok(&j, &o);
    CU_ASSERT_STRING_EQUAL(plates(&o), "x,y,1");
    CU_ASSERT_EQUAL(j.reads, 0);
    hs_tool_output_free(&o);
    th_free(&j);

    /* With a source: ignored. Default: nothing. */
    job(&j, &hs_tool_meta_instance_from_list, NULL);
    j.nsrc = 1;
    th_push_int(&j.src[0], T0 + S(1), 1);
    run_ok(&j, &o);
    CU_ASSERT_EQUAL(o.nplate_values, 0);
    CU_ASSERT_EQUAL(j.reads, 0);
    hs_tool_output_free(&o);
    th_free(&j);

    job(&j, &hs_tool_meta_instance_from_list, "{\"values\": [\"x\", {\"y\": 1}]}");
    run_fails(&j, "item 1 of parameter 'values'");
    th_free(&j);
    job(&j, &hs_tool_meta_instance_from_list, "{\"values\": \"x\"}");
    run_fails(&j, "must be a list");
    th_free(&j);
}

/* ------------------------------------------------------------------ workflow expansion */

static const char WF_HEAD[] = "id: wf\n"
                              "plates:\n"
                              "  H: {meta: house, values: [\"1\", \"2\"]}\n"
                              "  H.R: {meta: room, parent: H, values: [kitchen, lounge]}\n";

/* Parses WF_HEAD + rest with the built-in tools; NULL (after printing the errors) on failure. */
static hs_workflow *wf_parse(hs_tool_registry **reg, const char *rest)
{
    CU_ASSERT_EQUAL_FATAL(hs_tool_registry_create(reg), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_builtin_tools_register(*reg), HS_OK);
    hs_buf text, err;
    hs_buf_init(&text, 0);
    hs_buf_init(&err, 0);
    hs_buf_puts(&text, WF_HEAD);
    hs_buf_puts(&text, rest);
    hs_workflow *wf = NULL;
    int rc = hs_workflow_parse((const char *)text.data, text.len, "test.yaml", *reg, &wf, &err);
    if (rc != HS_OK)
        fprintf(stderr, "\nworkflow errors:\n%s\n", hs_buf_cstr(&err));
    CU_ASSERT_EQUAL(rc, HS_OK);
    hs_buf_free(&text);
    hs_buf_free(&err);
    return wf;
}

/* A list of stream ids as "a b c" (static buffer). */
static const char *sids(hs_streamid *const *v, size_t n)
{
    static char out[2048];
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < sizeof out; i++) {
        int w = snprintf(out + used, sizeof out - used, "%s%s", i ? " " : "", v[i]->canon);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return out;
}

/* Sets a harness job's sources and sinks to those of a unit. */
static void job_from_unit(th_job *j, const hs_wf_unit *u)
{
    for (size_t i = 0; i < u->nsources; i++)
        j->src_ids[i] = u->sources[i]->canon;
    j->nsrc = u->nsources;
    for (size_t i = 0; i < u->nsinks; i++)
        j->sink_ids[i] = u->sinks[i]->canon;
    j->nsinks = u->nsinks;
    j->output_meta = u->output_meta;
    j->has_splitting = u->splitting != NULL;
}

/* Aggregate: one unit per house, every room of it as sources, the house's sink. */
static void test_wf_aggregate(void)
{
    hs_tool_registry *reg;
    hs_workflow *wf = wf_parse(&reg, "factors:\n"
                                     "  - tool: aggregate_into_dict_and_apply\n"
                                     "    params: {func: identity}\n"
                                     "    sources: [temp]\n"
                                     "    sink: temps\n"
                                     "    plates: [H]\n"
                                     "    over: room\n");
    if (wf != NULL) {
        hs_wf_unit *u;
        size_t n;
        CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
        CU_ASSERT_EQUAL_FATAL(n, 2);
        CU_ASSERT_STRING_EQUAL(sids(u[0].sources, u[0].nsources),
                               "temp/house=1/room=kitchen temp/house=1/room=lounge");
        CU_ASSERT_STRING_EQUAL(sids(u[0].sinks, u[0].nsinks), "temps/house=1");
        CU_ASSERT_STRING_EQUAL(sids(u[1].sources, u[1].nsources),
                               "temp/house=2/room=kitchen temp/house=2/room=lounge");
        CU_ASSERT_STRING_EQUAL(sids(u[1].sinks, u[1].nsinks), "temps/house=2");
        /* The unit runs: the key is inferred from its stream ids. */
        th_job j;
        job(&j, &hs_tool_aggregate_into_dict_and_apply, "{\"func\": \"identity\"}");
        job_from_unit(&j, &u[1]);
        th_push_int(&j.src[0], T0 + S(1), 1);
        th_push_int(&j.src[1], T0 + S(1), 2);
        hs_tool_output o;
        run_ok(&j, &o);
        CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:{\"kitchen\":1,\"lounge\":2}");
        hs_tool_output_free(&o);
        th_free(&j);
        hs_wf_units_free(u, n);
    }
    hs_workflow_destroy(wf);
    hs_tool_registry_destroy(reg);

    /* Over house to a global sink: one unit over every house. */
    wf = wf_parse(&reg, "factors:\n"
                        "  - tool: aggregate_plate\n"
                        "    sources: [load]\n"
                        "    sink: loads\n"
                        "    plates: []\n"
                        "    over: house\n");
    if (wf != NULL) {
        hs_wf_unit *u;
        size_t n;
        CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
        CU_ASSERT_EQUAL_FATAL(n, 1);
        CU_ASSERT_STRING_EQUAL(sids(u[0].sources, u[0].nsources), "load/house=1 load/house=2");
        CU_ASSERT_STRING_EQUAL(sids(u[0].sinks, u[0].nsinks), "loads");
        hs_wf_units_free(u, n);
    }
    hs_workflow_destroy(wf);
    hs_tool_registry_destroy(reg);
}

/* Multi-output: one unit per house, the house's stream in, one sink per room. */
static void test_wf_multi(void)
{
    hs_tool_registry *reg;
    hs_workflow *wf = wf_parse(&reg, "factors:\n"
                                     "  - tool: splitter_of_dict\n"
                                     "    params: {mapping: {k: kitchen, l: lounge}}\n"
                                     "    sources: [reading]\n"
                                     "    sink: per_room\n"
                                     "    plates: [H.R]\n"
                                     "  - tool: splitter_from_stream\n"
                                     "    sources: [reading]\n"
                                     "    splitting: room_map\n"
                                     "    sink: per_room2\n"
                                     "    plates: [H.R]\n");
    if (wf != NULL) {
        hs_wf_unit *u;
        size_t n;
        CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
        CU_ASSERT_EQUAL_FATAL(n, 2);
        CU_ASSERT_STRING_EQUAL(sids(u[0].sources, u[0].nsources), "reading/house=1");
        CU_ASSERT_STRING_EQUAL(sids(u[0].sinks, u[0].nsinks),
                               "per_room/house=1/room=kitchen per_room/house=1/room=lounge");
        CU_ASSERT_STRING_EQUAL(u[0].output_meta, "room");
        CU_ASSERT_STRING_EQUAL(sids(u[1].sinks, u[1].nsinks),
                               "per_room/house=2/room=kitchen per_room/house=2/room=lounge");
        th_job j;
        job(&j, &hs_tool_splitter_of_dict,
            "{\"mapping\": {\"k\": \"kitchen\", \"l\": "
            "\"lounge\"}}");
        job_from_unit(&j, &u[1]);
        th_push_json(&j.src[0], T0 + S(1), "{\"l\": 5, \"k\": 6}");
        hs_tool_output o;
        run_ok(&j, &o);
        CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:6");
        CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[1]), "1:5");
        hs_tool_output_free(&o);
        th_free(&j);
        hs_wf_units_free(u, n);

        /* The splitting input is a global stream. */
        CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 1, &u, &n), HS_OK);
        CU_ASSERT_EQUAL_FATAL(n, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(u[0].splitting);
        CU_ASSERT_STRING_EQUAL(u[0].splitting->canon, "room_map");
        CU_ASSERT_STRING_EQUAL(sids(u[0].sources, u[0].nsources), "reading/house=1");
        CU_ASSERT_EQUAL(u[0].nsinks, 2);
        hs_wf_units_free(u, n);
    }
    hs_workflow_destroy(wf);
    hs_tool_registry_destroy(reg);

    /* Onto a top-level plate: one global unit, one sink per house. */
    wf = wf_parse(&reg, "factors:\n"
                        "  - tool: stream_broadcaster\n"
                        "    params: {func: identity}\n"
                        "    sources: [weather]\n"
                        "    sink: house_weather\n"
                        "    plates: [H]\n");
    if (wf != NULL) {
        hs_wf_unit *u;
        size_t n;
        CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
        CU_ASSERT_EQUAL_FATAL(n, 1);
        CU_ASSERT_STRING_EQUAL(sids(u[0].sources, u[0].nsources), "weather");
        CU_ASSERT_STRING_EQUAL(sids(u[0].sinks, u[0].nsinks),
                               "house_weather/house=1 house_weather/house=2");
        CU_ASSERT_STRING_EQUAL(u[0].output_meta, "house");
        hs_wf_units_free(u, n);
    }
    hs_workflow_destroy(wf);
    hs_tool_registry_destroy(reg);
}

/* Selector: index_of over room selecting kitchen onto plate H. */
static void test_wf_selector(void)
{
    hs_tool_registry *reg;
    hs_workflow *wf = wf_parse(&reg, "inputs:\n"
                                     "  sel: {plates: []}\n"
                                     "  temp: {plates: [H.R]}\n"
                                     "factors:\n"
                                     "  - tool: index_of\n"
                                     "    params: {index: kitchen, selector_meta_data: room}\n"
                                     "    sources: [temp]\n"
                                     "    sink: temp_kitchen\n"
                                     "    plates: [H]\n"
                                     "    over: room\n"
                                     "  - tool: index_of_by_stream\n"
                                     "    sources: [sel, temp]\n"
                                     "    sink: temp_sel\n"
                                     "    plates: [H]\n"
                                     "    over: room\n");
    if (wf != NULL) {
        hs_wf_unit *u;
        size_t n;
        CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
        CU_ASSERT_EQUAL_FATAL(n, 2);
        CU_ASSERT_STRING_EQUAL(sids(u[0].sources, u[0].nsources),
                               "temp/house=1/room=kitchen temp/house=1/room=lounge");
        CU_ASSERT_STRING_EQUAL(sids(u[0].sinks, u[0].nsinks), "temp_kitchen/house=1");
        CU_ASSERT_STRING_EQUAL(sids(u[1].sinks, u[1].nsinks), "temp_kitchen/house=2");
        th_job j;
        job(&j, &hs_tool_index_of, "{\"index\": \"kitchen\", \"selector_meta_data\": \"room\"}");
        job_from_unit(&j, &u[0]);
        th_push_int(&j.src[0], T0 + S(1), 21);
        th_push_int(&j.src[1], T0 + S(1), 19);
        hs_tool_output o;
        run_ok(&j, &o);
        CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:21");
        hs_tool_output_free(&o);
        th_free(&j);
        hs_wf_units_free(u, n);

        /* The selector stream, declared global, comes first and once. */
        CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 1, &u, &n), HS_OK);
        CU_ASSERT_EQUAL_FATAL(n, 2);
        CU_ASSERT_STRING_EQUAL(sids(u[1].sources, u[1].nsources),
                               "sel temp/house=2/room=kitchen temp/house=2/room=lounge");
        CU_ASSERT_STRING_EQUAL(sids(u[1].sinks, u[1].nsinks), "temp_sel/house=2");
        job(&j, &hs_tool_index_of_by_stream, NULL);
        job_from_unit(&j, &u[1]);
        th_push_json(&j.src[0], T0 - S(1), "\"lounge\"");
        th_push_int(&j.src[1], T0 + S(1), 21);
        th_push_int(&j.src[2], T0 + S(1), 19);
        run_ok(&j, &o);
        CU_ASSERT_STRING_EQUAL(dump(&o.per_sink[0]), "1:19");
        hs_tool_output_free(&o);
        th_free(&j);
        hs_wf_units_free(u, n);
    }
    hs_workflow_destroy(wf);
    hs_tool_registry_destroy(reg);
}

/* Plate creation: per parent value, no sinks; the created values feed later factors. */
static void test_wf_plate_creation(void)
{
    hs_tool_registry *reg;
    hs_workflow *wf = wf_parse(&reg, "  H.D: {meta: device, parent: H}\n"
                                     "  G: {meta: group}\n"
                                     "factors:\n"
                                     "  - tool: asset_plate_generator\n"
                                     "    sources: [devices]\n"
                                     "    output_plate: H.D\n"
                                     "  - tool: asset_splitter\n"
                                     "    sources: [readings]\n"
                                     "    sink: per_device\n"
                                     "    plates: [H.D]\n"
                                     "  - tool: meta_instance_from_list\n"
                                     "    params: {values: [a, b]}\n"
                                     "    output_plate: G\n");
    if (wf != NULL) {
        hs_wf_unit *u;
        size_t n;
        CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
        CU_ASSERT_EQUAL_FATAL(n, 2);
        CU_ASSERT_STRING_EQUAL(sids(u[0].sources, u[0].nsources), "devices/house=1");
        CU_ASSERT_STRING_EQUAL(sids(u[1].sources, u[1].nsources), "devices/house=2");
        CU_ASSERT_EQUAL(u[0].nsinks, 0);
        CU_ASSERT_STRING_EQUAL(u[0].pv.text, "house=1");
        /* Run the unit and record what it creates. */
        th_job j;
        job(&j, &hs_tool_asset_plate_generator, NULL);
        job_from_unit(&j, &u[0]);
        th_push_json(&j.src[0], T0 + S(1), "{\"d1\": {}, \"d2\": {}}");
        hs_tool_output o;
        run_ok(&j, &o);
        CU_ASSERT_EQUAL(o.nsinks, 0);
        CU_ASSERT_STRING_EQUAL(plates(&o), "d1,d2");
        int hd = -1;
        for (size_t i = 0; i < wf->nplates; i++)
            if (strcmp(wf->plates[i].id, "H.D") == 0)
                hd = (int)i;
        CU_ASSERT_TRUE_FATAL(hd >= 0);
        CU_ASSERT_EQUAL(
            hs_workflow_add_dynamic(wf, hd, u[0].pv.text, o.plate_values, o.nplate_values), HS_OK);
        hs_tool_output_free(&o);
        th_free(&j);
        hs_wf_units_free(u, n);

        /* The multi-output factor on the created plate: sinks only where values exist. */
        CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 1, &u, &n), HS_OK);
        CU_ASSERT_EQUAL_FATAL(n, 2);
        CU_ASSERT_STRING_EQUAL(sids(u[0].sources, u[0].nsources), "readings/house=1");
        CU_ASSERT_STRING_EQUAL(sids(u[0].sinks, u[0].nsinks),
                               "per_device/device=d1/house=1 per_device/device=d2/house=1");
        CU_ASSERT_STRING_EQUAL(u[0].output_meta, "device");
        CU_ASSERT_EQUAL(u[1].nsinks, 0);
        hs_wf_units_free(u, n);

        /* A top-level created plate: one global unit without sources. */
        CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 2, &u, &n), HS_OK);
        CU_ASSERT_EQUAL_FATAL(n, 1);
        CU_ASSERT_EQUAL(u[0].nsources, 0);
        CU_ASSERT_EQUAL(u[0].nsinks, 0);
        CU_ASSERT_STRING_EQUAL(u[0].pv.text, "");
        hs_wf_units_free(u, n);
    }
    hs_workflow_destroy(wf);
    hs_tool_registry_destroy(reg);
}

HS_TEST_INIT(tools_hs2)
{
    HS_TEST_SUITE_BEGIN("tools_hs2");
    HS_TEST(test_definitions);
    HS_TEST(test_key_text);
    HS_TEST(test_aid_basic);
    HS_TEST(test_aid_values);
    HS_TEST(test_aid_keys);
    HS_TEST(test_aid_split_and_paging);
    HS_TEST(test_aggregate_plate);
    HS_TEST(test_asset_splitter);
    HS_TEST(test_splitter_from_stream);
    HS_TEST(test_splitter_of_dict);
    HS_TEST(test_splitter_of_list);
    HS_TEST(test_splitter_time_aware);
    HS_TEST(test_splitter_time_aware_from_stream);
    HS_TEST(test_splitter_with_unlist);
    HS_TEST(test_stream_broadcaster);
    HS_TEST(test_stream_broadcaster_from_stream);
    HS_TEST(test_index_of);
    HS_TEST(test_index_of_by_stream);
    HS_TEST(test_plate_sink);
    HS_TEST(test_asset_plate_generator);
    HS_TEST(test_meta_instance);
    HS_TEST(test_meta_instance_from_list);
    HS_TEST(test_wf_aggregate);
    HS_TEST(test_wf_multi);
    HS_TEST(test_wf_selector);
    HS_TEST(test_wf_plate_creation);
    return 0;
}
