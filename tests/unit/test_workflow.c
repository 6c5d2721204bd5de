/*
 * Tests of hs_workflow: parsing, validation messages with file and line,
 * plates and units, bindings (tool version, parameters, cascading through
 * sources), lookback, dynamic plate values, and the Graphviz output.
 */
#include "test_suites.h"

#include "tools.h"

#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_time.h"
#include "hs_workflow.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

static hs_tool_registry *g_tools;

static hs_tool_registry *tools(void)
{
    if (g_tools == NULL) {
        hs_tool_registry_create(&g_tools);
        hs_builtin_tools_register(g_tools);
    }
    return g_tools;
}

/* Parses text; returns the workflow or NULL with the errors in err. */
static hs_workflow *parse(const char *text, hs_buf *err)
{
    hs_workflow *wf = NULL;
    hs_buf_reset(err);
    int rc = hs_workflow_parse(text, strlen(text), "wf.yaml", tools(), &wf, err);
    if (rc != HS_OK)
        return NULL;
    return wf;
}

static const char *CLIMATE = "id: climate\n"
                             "plates:\n"
                             "  H:   {meta: house, values: [\"1\", \"2\"]}\n"
                             "  H.R: {meta: room, parent: H, values: [kitchen, lounge]}\n"
                             "factors:\n"
                             "  - tool: sliding_window\n"
                             "    params: {width: 60s}\n"
                             "    sink: windows\n"
                             "  - tool: sliding_apply\n"
                             "    params: {func: mean}\n"
                             "    sources: [windows, temperature]\n"
                             "    sink: room_temp\n"
                             "    plates: [H.R]\n"
                             "  - tool: aggregate\n"
                             "    params: {func: mean}\n"
                             "    over: room\n"
                             "    sources: [room_temp]\n"
                             "    sink: house_temp\n"
                             "    plates: [H]\n";

static void test_design_example_parses(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = parse(CLIMATE, &err);
    HS_REQUIRE(wf);
    CU_ASSERT_STRING_EQUAL(wf->id, "climate");
    CU_ASSERT_EQUAL(wf->nplates, 2);
    CU_ASSERT_EQUAL(wf->nfactors, 3);
    /* Dependency order: the window factor first, the aggregate last. */
    CU_ASSERT_EQUAL(wf->order[0], 0);
    CU_ASSERT_EQUAL(wf->order[2], 2);
    /* sliding_apply reads 60 s before its jobs: the window width. */
    CU_ASSERT_EQUAL(wf->factors[1].lookback_us, 60LL * 1000000);
    CU_ASSERT_EQUAL(wf->factors[0].lookback_us, 0);
    hs_workflow_destroy(wf);
    hs_buf_free(&err);
}

/*
 * An aggregate over many parents: 2,000 houses of 10 rooms. Each house's
 * unit reads exactly its own 10 rooms, in plate order (the children are
 * indexed by parent; a scan of every room per house is 20 million checks).
 */
static void test_aggregate_many_parents(void)
{
    hs_buf y, err;
    hs_buf_init(&y, 0);
    hs_buf_init(&err, 0);
    CU_ASSERT_EQUAL(hs_buf_puts(&y, "id: many\nplates:\n  H: {meta: house, values: ["), HS_OK);
    for (int h = 0; h < 2000; h++)
        CU_ASSERT_EQUAL(hs_buf_printf(&y, "%s\"%d\"", h ? ", " : "", h), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_puts(&y, "]}\n  H.R: {meta: room, parent: H, values: ["), HS_OK);
    for (int r = 0; r < 10; r++)
        CU_ASSERT_EQUAL(hs_buf_printf(&y, "%sr%d", r ? ", " : "", r), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_puts(&y, "]}\n"
                                    "factors:\n"
                                    "  - tool: aggregate\n"
                                    "    params: {func: mean}\n"
                                    "    over: room\n"
                                    "    sources: [temp]\n"
                                    "    sink: house_temp\n"
                                    "    plates: [H]\n"),
                    HS_OK);
    hs_workflow *wf = parse(hs_buf_cstr(&y), &err);
    HS_REQUIRE(wf);
    hs_wf_unit *u;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2000);
    size_t bad = 0;
    for (size_t h = 0; h < n; h++) {
        bad += u[h].nsources != 10;
        for (size_t r = 0; r < u[h].nsources && r < 10; r++) {
            char want[64];
            snprintf(want, sizeof want, "temp/house=%zu/room=r%zu", h, r);
            bad += strcmp(u[h].sources[r]->canon, want) != 0;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_STRING_EQUAL(u[1999].sinks[0]->canon, "house_temp/house=1999");
    hs_wf_units_free(u, n);
    hs_workflow_destroy(wf);
    hs_buf_free(&y);
    hs_buf_free(&err);
}

static void test_units_of_every_kind(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = parse(CLIMATE, &err);
    HS_REQUIRE(wf);
    hs_wf_unit *u;
    size_t n;
    /* The global window factor: one unit. */
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(u[0].nsources, 0);
    CU_ASSERT_STRING_EQUAL(u[0].sinks[0]->canon, "windows");
    hs_wf_units_free(u, n);
    /* Per room: the global windows and the room's raw stream. */
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 1, &u, &n), HS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_STRING_EQUAL(u[0].pv.text, "house=1/room=kitchen");
    CU_ASSERT_STRING_EQUAL(u[0].sources[0]->canon, "windows");
    CU_ASSERT_STRING_EQUAL(u[0].sources[1]->canon, "temperature/house=1/room=kitchen");
    CU_ASSERT_STRING_EQUAL(u[3].sinks[0]->canon, "room_temp/house=2/room=lounge");
    hs_wf_units_free(u, n);
    /* Per house: every room of the house. */
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 2, &u, &n), HS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL_FATAL(u[1].nsources, 2);
    CU_ASSERT_STRING_EQUAL(u[1].sources[0]->canon, "room_temp/house=2/room=kitchen");
    CU_ASSERT_STRING_EQUAL(u[1].sources[1]->canon, "room_temp/house=2/room=lounge");
    CU_ASSERT_STRING_EQUAL(u[1].sinks[0]->canon, "house_temp/house=2");
    CU_ASSERT_STRING_EQUAL(u[1].output_meta, "room");
    hs_wf_units_free(u, n);
    hs_workflow_destroy(wf);
    hs_buf_free(&err);
}

static void test_multi_output_units(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = parse("id: split\n"
                            "plates:\n"
                            "  H:   {meta: house, values: [\"1\"]}\n"
                            "  H.R: {meta: room, parent: H, values: [kitchen, lounge]}\n"
                            "factors:\n"
                            "  - tool: splitter\n"
                            "    params: {element: room}\n"
                            "    sources: [readings]\n"
                            "    sink: by_room\n"
                            "    plates: [H.R]\n",
                            &err);
    HS_REQUIRE(wf);
    hs_wf_unit *u;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
    /* One unit per house: its readings split onto the rooms. */
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(u[0].sources[0]->canon, "readings/house=1");
    CU_ASSERT_EQUAL_FATAL(u[0].nsinks, 2);
    CU_ASSERT_STRING_EQUAL(u[0].sinks[0]->canon, "by_room/house=1/room=kitchen");
    CU_ASSERT_STRING_EQUAL(u[0].output_meta, "room");
    hs_wf_units_free(u, n);
    hs_workflow_destroy(wf);
    hs_buf_free(&err);
}

/* The cities of tutorial 5: a country plate and a city plate below it. */
#define SPLIT_HEAD                                                                                 \
    "id: split\n"                                                                                  \
    "plates:\n"                                                                                    \
    "  C:   {meta: country, values: [NZ, USA]}\n"                                                  \
    "  C.Y: {meta: city, parent: C, values: [Auckland, NY]}\n"                                     \
    "  S:   {meta: site, values: [a]}\n"

/* The splitting stream of each unit of factor f of wf, as canonical texts "x|y|...". */
static void split_units(const hs_workflow *wf, size_t f, char *out, size_t len)
{
    hs_wf_unit *u = NULL;
    size_t n = 0;
    out[0] = '\0';
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, f, &u, &n), HS_OK);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = u[i].splitting ? u[i].splitting->canon : "-";
        int w = snprintf(out + used, len - used, "%s%s", i ? "|" : "", c);
        CU_ASSERT_FATAL(w >= 0 && (size_t)w < len - used);
        used += (size_t)w;
    }
    hs_wf_units_free(u, n);
}

/* A splitting stream may live on the input plate: each unit reads its own value's. */
static void test_splitting_per_plate_value(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    char got[256];
    /* A raw splitting stream declared on the country plate. */
    hs_workflow *wf = parse(SPLIT_HEAD "inputs: {temp: {plates: [C]}, cities: {plates: [C]}}\n"
                                       "factors:\n"
                                       "  - tool: splitter_from_stream\n"
                                       "    sources: [temp]\n"
                                       "    splitting: cities\n"
                                       "    sink: by_city\n"
                                       "    plates: [C.Y]\n",
                            &err);
    if (wf == NULL)
        fprintf(stderr, "%s", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    split_units(wf, 0, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "cities/country=NZ|cities/country=USA");
    hs_workflow_destroy(wf);
    /* An undeclared raw splitting stream stays global. */
    wf = parse(SPLIT_HEAD "factors:\n"
                          "  - tool: splitter_from_stream\n"
                          "    sources: [temp]\n"
                          "    splitting: cities\n"
                          "    sink: by_city\n"
                          "    plates: [C.Y]\n",
               &err);
    HS_REQUIRE(wf);
    split_units(wf, 0, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "cities|cities");
    hs_workflow_destroy(wf);
    /* A computed one on the country plate: computed first, read per country. */
    wf = parse(SPLIT_HEAD "inputs: {temp: {plates: [C]}, city_lists: {plates: [C]}}\n"
                          "factors:\n"
                          "  - tool: splitter_from_stream\n"
                          "    sources: [temp]\n"
                          "    splitting: cities\n"
                          "    sink: by_city\n"
                          "    plates: [C.Y]\n"
                          "  - tool: apply\n"
                          "    params: {func: identity}\n"
                          "    sources: [city_lists]\n"
                          "    sink: cities\n"
                          "    plates: [C]\n",
               &err);
    if (wf == NULL)
        fprintf(stderr, "%s", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    split_units(wf, 0, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "cities/country=NZ|cities/country=USA");
    CU_ASSERT_EQUAL(wf->order[0], 1);
    hs_workflow_destroy(wf);
    hs_buf_free(&err);
}

/* A splitting stream on another plate, or a plated alignment stream, is refused with its line. */
static void test_splitting_elsewhere_refused(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    /* On the output plate (below the input plate). */
    CU_ASSERT_PTR_NULL(parse(SPLIT_HEAD "inputs: {temp: {plates: [C]}, cities: {plates: [C.Y]}}\n"
                                        "factors:\n"
                                        "  - tool: splitter_from_stream\n" /* line 8 */
                                        "    sources: [temp]\n"
                                        "    splitting: cities\n"
                                        "    sink: by_city\n"
                                        "    plates: [C.Y]\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err),
                                  "wf.yaml:8: splitting stream cities is on plate C.Y: it must be "
                                  "global or on the factor's input plate C or an ancestor of it"));
    /* Computed on an unrelated plate. */
    CU_ASSERT_PTR_NULL(parse(SPLIT_HEAD "factors:\n"
                                        "  - tool: apply\n" /* line 7 */
                                        "    params: {func: identity}\n"
                                        "    sources: [lists]\n"
                                        "    sink: cities\n"
                                        "    plates: [S]\n"
                                        "  - tool: splitter_from_stream\n" /* line 12 */
                                        "    sources: [temp]\n"
                                        "    splitting: cities\n"
                                        "    sink: by_city\n"
                                        "    plates: [C.Y]\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err),
                                  "wf.yaml:12: splitting stream cities is on plate S: it must be "
                                  "global or on the factor's input plate C or an ancestor of it"));
    /* An alignment stream stays global, computed or declared. */
    CU_ASSERT_PTR_NULL(parse(SPLIT_HEAD "inputs: {temp: {plates: [C]}, clock: {plates: [C]}}\n"
                                        "factors:\n"
                                        "  - tool: relative_window\n" /* line 8 */
                                        "    params: {relative_start: -1h, relative_end: 0s}\n"
                                        "    sources: [temp]\n"
                                        "    alignment: clock\n"
                                        "    sink: merged\n"
                                        "    plates: [C]\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(hs_buf_cstr(&err), "wf.yaml:8: alignment stream clock must be global (plates: [])"));
    hs_buf_free(&err);
}

/* Every problem is reported, each with the file and its line. */
static void test_validation_errors_have_lines(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    const char *bad = "id: bad\n"                                        /* 1 */
                      "online: {every: soon, window: [-1s, 5s]}\n"       /* 2 */
                      "plates:\n"                                        /* 3 */
                      "  H: {meta: house, parent: X, values: [\"1\"]}\n" /* 4 */
                      "factors:\n"                                       /* 5 */
                      "  - tool: no_such_tool\n"                         /* 6 */
                      "    sink: a\n"                                    /* 7 */
                      "  - tool: sliding_apply\n"                        /* 8 */
                      "    version: \"7.1\"\n"                           /* 9 */
                      "    params: {func: mean, colour: red}\n"          /* 10 */
                      "    sources: [w]\n"                               /* 11 */
                      "    sink: b\n"                                    /* 12 */
                      "  - tool: aggregate\n"                            /* 13 */
                      "    params: {func: mean}\n"                       /* 14 */
                      "    sources: [b]\n"                               /* 15 */
                      "    sink: c\n";                                   /* 16 */
    CU_ASSERT_PTR_NULL(parse(bad, &err));
    const char *e = hs_buf_cstr(&err);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:2: online.every must be a duration"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:2: online.window cannot reach into the future"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:4: plate H has an unknown parent 'X'"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(e, "wf.yaml:6: unknown tool 'no_such_tool': not built in, and not "
                  "a plugin loaded from the plugin directory (plugin_dir) of the service"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:9: tool sliding_apply has no version 7.1; versions "
                                     "available: 1.0.0 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "unknown parameter 'colour' for tool sliding_apply"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:8: tool sliding_apply takes 2 sources, 1 given"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:13: aggregate tool aggregate needs over"));
    hs_buf_free(&err);
}

/* Sink, source and plate names follow the stream id rules of hs_streamid (docs/INPUT.md). */
static void test_stream_names_follow_id_rules(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    const char *bad = "id: names\n"                                            /* 1 */
                      "plates:\n"                                              /* 2 */
                      "  H: {meta: house, values: [\"1\", \"living room\"]}\n" /* 3 */
                      "factors:\n"                                             /* 4 */
                      "  - tool: sliding_window\n"                             /* 5 */
                      "    params: {width: 60s}\n"                             /* 6 */
                      "    sink: \"room temp\"\n";                             /* 7 */
    CU_ASSERT_PTR_NULL(parse(bad, &err));
    const char *e = hs_buf_cstr(&err);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:3:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "value 'living room' contains a space"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:7:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "name 'room temp' contains a space"));
    if (strstr(e, "contains a space") == NULL)
        fprintf(stderr, "\n  errors: %s\n", e);
    hs_buf_free(&err);
}

/*
 * Parameter values are checked against the tool's definition, each on its
 * own line: a word outside a tool's set, an unknown function name (with the
 * near miss suggested), Lua source that does not compile (and is never run:
 * a source that would fail when run passes the check), a misspelt name.
 */
static void test_parameter_values_are_checked(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    const char *bad = "id: v\n"                                                   /* 1 */
                      "factors:\n"                                                /* 2 */
                      "  - tool: window\n"                                        /* 3 */
                      "    params:\n"                                             /* 4 */
                      "      size: 60s\n"                                         /* 5 */
                      "      type: tumblin\n"                                     /* 6 */
                      "      func: maxx\n"                                        /* 7 */
                      "    sources: [t]\n"                                        /* 8 */
                      "    sink: w\n"                                             /* 9 */
                      "  - tool: apply\n"                                         /* 10 */
                      "    params:\n"                                             /* 11 */
                      "      func: 'lua: return function(v) return v +* 1 end'\n" /* 12 */
                      "    sources: [w]\n"                                        /* 13 */
                      "    sink: a\n"                                             /* 14 */
                      "  - tool: aggregate\n"                                     /* 15 */
                      "    params: {fnuc: mean}\n"                                /* 16 */
                      "    over: x\n"                                             /* 17 */
                      "    sources: [a]\n"                                        /* 18 */
                      "    sink: g\n"                                             /* 19 */
                      "  - tool: apply\n"                                         /* 20 */
                      "    params: {func: abs}\n"                                 /* 21 */
                      "    sources: [w]\n"                                        /* 22 */
                      "    sink: ok1\n"                                           /* 23 */
                      "  - tool: apply\n"                                         /* 24 */
                      "    params: {func: 'lua: error(\"only when run\")'}\n"     /* 25 */
                      "    sources: [w]\n"                                        /* 26 */
                      "    sink: ok2\n"                                           /* 27 */
                      "  - tool: window\n"                                        /* 28 */
                      "    params: {size: 60s, func: abs}\n"                      /* 29 */
                      "    sources: [t]\n"                                        /* 30 */
                      "    sink: w2\n";                                           /* 31 */
    CU_ASSERT_PTR_NULL(parse(bad, &err));
    const char *e = hs_buf_cstr(&err);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:6: node w: tool window 1.0.0 parameter type: "
                                     "\"tumblin\" is not one of tumbling, hopping or session; "
                                     "did you mean \"tumbling\"?"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:7: node w: tool window 1.0.0 parameter func: "
                                     "\"maxx\" is not a reducer function (mean, sum,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "did you mean \"max\"?"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:12: node a: tool apply 1.0.0 parameter func: "
                                     "Lua syntax error: lua:1: unexpected symbol near '*'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:16: node g: unknown parameter 'fnuc' for tool "
                                     "aggregate 1.0.0 (known: func); did you mean 'func'?"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:16: node g: tool aggregate needs parameter 'func'"));
    /* A unary function is not a reducer. */
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:29: node w2: tool window 1.0.0 parameter func: "
                                     "\"abs\" is not a reducer function"));
    /* The good ones say nothing: exactly the six errors above. */
    CU_ASSERT_PTR_NULL(strstr(e, "node ok1"));
    CU_ASSERT_PTR_NULL(strstr(e, "node ok2"));
    size_t lines = 0;
    for (const char *c = e; *c; c++)
        lines += *c == '\n';
    CU_ASSERT_EQUAL(lines, 6);
    hs_buf_free(&err);
}

/* The near-miss suggestion: one edit in short words, two in longer, swaps count one. */
static void test_suggest(void)
{
    const char *const w[] = {"tumbling", "hopping", "session", "max", "mean"};
    CU_ASSERT_STRING_EQUAL(hs_tool_suggest("tumblin", 7, w, 5), "tumbling");
    CU_ASSERT_STRING_EQUAL(hs_tool_suggest("hoppnig", 7, w, 5), "hopping");
    CU_ASSERT_STRING_EQUAL(hs_tool_suggest("maxx", 4, w, 5), "max");
    CU_ASSERT_STRING_EQUAL(hs_tool_suggest("maen", 4, w, 5), "mean");
    CU_ASSERT_PTR_NULL(hs_tool_suggest("minimum", 7, w, 5));
    CU_ASSERT_PTR_NULL(hs_tool_suggest("", 0, w, 5));
    CU_ASSERT_PTR_NULL(hs_tool_suggest("xy", 2, w, 5));
}

/* online: lateness and max_lateness are read as durations; negative or zero bounds are refused. */
static void test_online_lateness(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    const char *ok = "id: late\n"
                     "online: {every: 1s, window: [-5s, -1s], lateness: 2s, max_lateness: 1h}\n"
                     "factors:\n"
                     "  - tool: sliding_window\n"
                     "    params: {width: 1s, increment: 1s}\n"
                     "    sink: w\n";
    hs_workflow *wf = parse(ok, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wf);
    CU_ASSERT_TRUE(wf->online);
    CU_ASSERT_EQUAL(wf->lateness_us, 2 * HS_US_PER_S);
    CU_ASSERT_EQUAL(wf->max_lateness_us, 3600 * HS_US_PER_S);
    hs_workflow_destroy(wf);
    wf = parse("id: late\nonline: {every: 1s}\nfactors:\n  - tool: sliding_window\n"
               "    params: {width: 1s, increment: 1s}\n    sink: w\n",
               &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wf);
    CU_ASSERT_EQUAL(wf->lateness_us, 0);     /* default: none */
    CU_ASSERT_EQUAL(wf->max_lateness_us, 0); /* default: unbounded */
    hs_workflow_destroy(wf);
    hs_buf_reset(&err);
    const char *bad = "id: late\n"
                      "online: {every: 1s, lateness: -2s, max_lateness: 0s, colour: red}\n"
                      "factors:\n"
                      "  - tool: sliding_window\n"
                      "    params: {width: 1s, increment: 1s}\n"
                      "    sink: w\n";
    CU_ASSERT_PTR_NULL(parse(bad, &err));
    const char *e = hs_buf_cstr(&err);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "online.lateness cannot be negative"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "online.max_lateness must be positive"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(e, "unknown key 'colour' in online (every, window, lateness, max_lateness)"));
    hs_buf_free(&err);
}

/* .nan and .inf have no JSON form: as text values they must be quoted. */
static void test_text_values_that_are_not_text(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    const char *bad = "id: nan\n"
                      "owner: .NAN\n"
                      "name: -.inf\n"
                      "factors:\n"
                      "  - tool: sliding_window\n"
                      "    params: {width: 5s, increment: 5s}\n"
                      "    sink: w\n";
    CU_ASSERT_PTR_NULL(parse(bad, &err));
    const char *e = hs_buf_cstr(&err);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:2: owner must be a text value: quote '.NAN'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "wf.yaml:3: name must be a text value: quote '-.inf'"));
    hs_buf_free(&err);
    hs_buf_init(&err, 0);
    hs_workflow *wf = parse("id: nan\nowner: \".NAN\"\nfactors:\n  - tool: sliding_window\n"
                            "    params: {width: 5s, increment: 5s}\n    sink: w\n",
                            &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wf);
    CU_ASSERT_STRING_EQUAL(wf->owner, ".NAN");
    hs_workflow_destroy(wf);
    /* A boolean names itself as the JSON form writes it: FALSE is false (found by fuzzing:
     * the file and its JSON form had different bindings). */
    wf = parse("id: b\nplates:\n  H: {meta: FALSE, values: [True]}\nfactors:\n"
               "  - {tool: copy, sources: [x], sink: y, plates: [H]}\n",
               &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wf);
    CU_ASSERT_STRING_EQUAL(wf->plates[0].meta, "false");
    CU_ASSERT_STRING_EQUAL(wf->plates[0].values[0], "true");
    hs_workflow_destroy(wf);
    /* A number names itself by its value, as the JSON form does: 007 is 7, 1.50 is 1.5. */
    wf = parse("id: num\nplates:\n  H: {meta: house, values: [007, 1.50, \"007\"]}\nfactors:\n"
               "  - tool: sliding_window\n    params: {width: 5s, increment: 5s}\n    sink: w\n",
               &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wf);
    CU_ASSERT_EQUAL_FATAL(wf->plates[0].nvalues, 3);
    CU_ASSERT_STRING_EQUAL(wf->plates[0].values[0], "7");
    CU_ASSERT_STRING_EQUAL(wf->plates[0].values[1], "1.5");
    CU_ASSERT_STRING_EQUAL(wf->plates[0].values[2], "007");
    hs_workflow_destroy(wf);
    /* A key longer than YAML's 1024 characters for implicit keys is refused. */
    hs_buf_reset(&err);
    hs_buf longkey;
    hs_buf_init(&longkey, 0);
    CU_ASSERT_EQUAL_FATAL(hs_buf_puts(&longkey, "id: k\nfactors:\n  - tool: sliding_window\n"
                                                "    params: {width: 5s, increment: 5s}\n"
                                                "    sink: w\nmonitor: {? \""),
                          HS_OK);
    for (int i = 0; i < 1100; i++)
        CU_ASSERT_EQUAL_FATAL(hs_buf_putc(&longkey, 'k'), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_buf_puts(&longkey, "\" : 1}\n"), HS_OK);
    CU_ASSERT_PTR_NULL(parse(hs_buf_cstr(&longkey), &err));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(hs_buf_cstr(&err), "a key is not text of at most 1000 characters (as JSON)"));
    hs_buf_free(&longkey);
    hs_buf_free(&err);
}

/* Names from the file may hold any character: each error stays one line. */
static void test_errors_escape_control_characters(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    const char *bad = "id: esc\n"
                      "plates:\n"
                      "  H: {meta: house, parent: \"X\\nwf.yaml:1: forged\", values: [\"1\"]}\n"
                      "factors:\n"
                      "  - tool: \"no\\ttool\\u0007\"\n"
                      "    sink: a\n";
    CU_ASSERT_PTR_NULL(parse(bad, &err));
    const char *e = hs_buf_cstr(&err);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(e, "wf.yaml:3: plate H has an unknown parent 'X\\nwf.yaml:1: forged'\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "unknown tool 'no\\x09tool\\x07'"));
    /* Every line starts with the file name and a line number. */
    for (const char *line = e; *line != '\0'; line = strchr(line, '\n') + 1) {
        CU_ASSERT_EQUAL(strncmp(line, "wf.yaml:", 8), 0);
        CU_ASSERT_FALSE(strncmp(line, "wf.yaml:1: forged", 17) == 0);
        if (strchr(line, '\n') == NULL)
            break;
    }
    hs_buf_free(&err);
}

/* A source name that JSON must escape keeps the binding valid JSON. */
static void test_binding_escapes_input_names(void)
{
    hs_buf err, mp;
    hs_buf_init(&err, 0);
    hs_buf_init(&mp, 0);
    hs_workflow *wf = parse("id: q\n"
                            "factors:\n"
                            "  - tool: sliding_window\n"
                            "    params: {width: 10s}\n"
                            "    sink: w\n"
                            "  - tool: sliding_apply\n"
                            "    params: {func: mean}\n"
                            "    sources: [w, \"te\\\"mp\\\\x\"]\n"
                            "    sink: m\n",
                            &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wf);
    if (wf == NULL)
        return;
    const char *binding = NULL;
    for (size_t i = 0; i < wf->nfactors; i++)
        if (wf->factors[i].sink != NULL && strcmp(wf->factors[i].sink, "m") == 0)
            binding = wf->factors[i].binding;
    CU_ASSERT_PTR_NOT_NULL_FATAL(binding);
    CU_ASSERT_EQUAL(hs_json_to_mpack(binding, strlen(binding), &mp), HS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(binding, "\"input:te\\\"mp\\\\x\""));
    hs_workflow_destroy(wf);
    hs_buf_free(&mp);
    hs_buf_free(&err);
}

static void test_cycle_and_duplicate_sink(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    CU_ASSERT_PTR_NULL(parse("id: cyc\n"
                             "factors:\n"
                             "  - tool: apply\n"
                             "    params: {func: abs}\n"
                             "    sources: [b]\n"
                             "    sink: a\n"
                             "  - tool: apply\n"
                             "    params: {func: abs}\n"
                             "    sources: [a]\n"
                             "    sink: b\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "is part of a cycle"));
    CU_ASSERT_PTR_NULL(parse("id: dup\n"
                             "factors:\n"
                             "  - tool: clock\n"
                             "    sink: a\n"
                             "  - tool: clock\n"
                             "    sink: a\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "wf.yaml:5: stream a is already computed"));
    /* A plate-incompatible source: a room stream read per house by a plain tool. */
    CU_ASSERT_PTR_NULL(parse("id: plates\n"
                             "plates:\n"
                             "  H:   {meta: house, values: [\"1\"]}\n"
                             "  H.R: {meta: room, parent: H, values: [k]}\n"
                             "inputs: {t: {plates: [H.R]}}\n"
                             "factors:\n"
                             "  - tool: apply\n"
                             "    params: {func: abs}\n"
                             "    sources: [t]\n"
                             "    sink: x\n"
                             "    plates: [H]\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "source t is on plate H.R"));
    /* Declared inputs make unknown sources an error. */
    CU_ASSERT_PTR_NULL(parse("id: inputs\n"
                             "inputs: {t: {plates: []}}\n"
                             "factors:\n"
                             "  - tool: apply\n"
                             "    params: {func: abs}\n"
                             "    sources: [tt]\n"
                             "    sink: x\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "unknown source node 'tt'"));
    /* A source that is not a name (a plate-looking id): that error only, not
     * also a wrong count of sources for the factor. */
    CU_ASSERT_PTR_NULL(parse("id: platesrc\n"
                             "factors:\n"
                             "  - tool: apply\n"
                             "    params: {func: abs}\n"
                             "    sources: [hl/house=1]\n"
                             "    sink: x\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(hs_buf_cstr(&err), "wf.yaml:5: a source 'hl/house=1' cannot be used in stream ids"));
    CU_ASSERT_PTR_NULL(strstr(hs_buf_cstr(&err), "given"));
    CU_ASSERT_PTR_NULL(strchr(strchr(hs_buf_cstr(&err), '\n') + 1, '\n'));
    /* The same for a sink that is not a name: no "needs a sink" beside it. */
    CU_ASSERT_PTR_NULL(parse("id: platesink\n"
                             "factors:\n"
                             "  - tool: apply\n"
                             "    params: {func: abs}\n"
                             "    sources: [a]\n"
                             "    sink: x/house=1\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(hs_buf_cstr(&err), "wf.yaml:6: sink 'x/house=1' cannot be used in stream ids"));
    CU_ASSERT_PTR_NULL(strstr(hs_buf_cstr(&err), "needs a sink"));
    /* The count of sources still counts the ones given: two for apply. */
    CU_ASSERT_PTR_NULL(parse("id: twosrc\n"
                             "factors:\n"
                             "  - tool: apply\n"
                             "    params: {func: abs}\n"
                             "    sources: [a, b/c=1]\n"
                             "    sink: x\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "tool apply takes 1 source, 2 given"));
    hs_buf_free(&err);
}

/* The binding of a factor: parameters and sources count; patch versions do not. */
static void test_bindings(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *a = parse(CLIMATE, &err);
    HS_REQUIRE(a);
    /* Same definition, a patch version asked for: identical bindings. */
    char patched[2048];
    snprintf(patched, sizeof patched, "%s", CLIMATE);
    char *p = strstr(patched, "  - tool: sliding_apply\n");
    HS_REQUIRE(p);
    char with_version[2048];
    snprintf(with_version, sizeof with_version,
             "%.*s  - tool: {name: sliding_apply, version: "
             "\"1.0.9\"}\n%s",
             (int)(p - patched), patched, p + strlen("  - tool: sliding_apply\n"));
    hs_workflow *b = parse(with_version, &err);
    HS_REQUIRE(b);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_STRING_EQUAL(a->factors[i].hash, b->factors[i].hash);
    /* Another parameter: that factor and its readers change, the window factor does not. */
    char changed[2048];
    snprintf(changed, sizeof changed, "%s", CLIMATE);
    char *f = strstr(changed, "{func: mean}\n    sources: [windows");
    HS_REQUIRE(f);
    memcpy(f, "{func: max }", 12);
    hs_workflow *c = parse(changed, &err);
    HS_REQUIRE(c);
    CU_ASSERT_STRING_EQUAL(a->factors[0].hash, c->factors[0].hash);
    CU_ASSERT_STRING_NOT_EQUAL(a->factors[1].hash, c->factors[1].hash);
    CU_ASSERT_STRING_NOT_EQUAL(a->factors[2].hash, c->factors[2].hash);
    hs_workflow_destroy(a);
    hs_workflow_destroy(b);
    hs_workflow_destroy(c);
    hs_buf_free(&err);
}

/* A tool whose minor version changes: the binding changes (recompute); a patch: it does not. */
static int nop_run(hs_tool_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    return HS_OK;
}

static void test_tool_version_binding(void)
{
    static hs_tool_def v100 = {.name = "vtool",
                               .version = "1.0.0",
                               .kind = HS_TOOL_PLAIN,
                               .min_sources = 0,
                               .max_sources = 0,
                               .run = nop_run};
    static hs_tool_def v107 = {.name = "vtool",
                               .version = "1.0.7",
                               .kind = HS_TOOL_PLAIN,
                               .min_sources = 0,
                               .max_sources = 0,
                               .run = nop_run};
    static hs_tool_def v110 = {.name = "vtool",
                               .version = "1.1.0",
                               .kind = HS_TOOL_PLAIN,
                               .min_sources = 0,
                               .max_sources = 0,
                               .run = nop_run};
    const hs_tool_def *defs[3] = {&v100, &v107, &v110};
    char hashes[3][17];
    const char *text = "id: v\nfactors:\n  - tool: vtool\n    sink: out\n"
                       "  - tool: apply\n    params: {func: abs}\n    sources: [out]\n"
                       "    sink: down\n";
    char down[3][17];
    for (int i = 0; i < 3; i++) {
        hs_tool_registry *r;
        hs_tool_registry_create(&r);
        hs_builtin_tools_register(r);
        hs_tool_registry_add(r, defs[i]);
        hs_buf err;
        hs_buf_init(&err, 0);
        hs_workflow *wf = NULL;
        CU_ASSERT_EQUAL_FATAL(hs_workflow_parse(text, strlen(text), "v", r, &wf, &err), HS_OK);
        snprintf(hashes[i], 17, "%s", wf->factors[0].hash);
        snprintf(down[i], 17, "%s", wf->factors[1].hash);
        hs_workflow_destroy(wf);
        hs_buf_free(&err);
        hs_tool_registry_destroy(r);
    }
    CU_ASSERT_STRING_EQUAL(hashes[0], hashes[1]);     /* patch: same */
    CU_ASSERT_STRING_NOT_EQUAL(hashes[0], hashes[2]); /* minor: different */
    CU_ASSERT_STRING_EQUAL(down[0], down[1]);
    CU_ASSERT_STRING_NOT_EQUAL(down[0], down[2]); /* ...and downstream too */
}

/*
 * Two versions side by side: a pinned version gets its own definition (its
 * parameters, its binding), a bare name the newest, an unknown version an
 * error with the line and the versions available.
 */
static const hs_tool_param pin_old_params[] = {
    {"scale", HS_P_NUMBER, "1", "old parameter"},
    {NULL, HS_P_ANY, NULL, NULL},
};
static const hs_tool_param pin_new_params[] = {
    {"factor", HS_P_NUMBER, "1", "new parameter"},
    {NULL, HS_P_ANY, NULL, NULL},
};
static const hs_tool_def pin_old = {.name = "ptool",
                                    .version = "1.2.3",
                                    .kind = HS_TOOL_PLAIN,
                                    .min_sources = 1,
                                    .max_sources = 1,
                                    .params = pin_old_params,
                                    .run = nop_run};
static const hs_tool_def pin_new = {.name = "ptool",
                                    .version = "2.0.1",
                                    .kind = HS_TOOL_PLAIN,
                                    .min_sources = 1,
                                    .max_sources = 1,
                                    .params = pin_new_params,
                                    .run = nop_run};

/* Parses text with a registry of the built-ins and both ptool versions. */
static hs_workflow *parse_pinned(const char *text, hs_tool_registry **r, hs_buf *err)
{
    hs_workflow *wf = NULL;
    hs_buf_reset(err);
    CU_ASSERT_EQUAL_FATAL(hs_tool_registry_create(r), HS_OK);
    CU_ASSERT_EQUAL(hs_builtin_tools_register(*r), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_add(*r, &pin_new), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_add(*r, &pin_old), HS_OK);
    if (hs_workflow_parse(text, strlen(text), "pin.yaml", *r, &wf, err) != HS_OK)
        return NULL;
    return wf;
}

static void test_tool_version_pinning(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_tool_registry *r = NULL;
    hs_workflow *wf = parse_pinned("id: pin\n"
                                   "factors:\n"
                                   "  - tool: {name: ptool, version: \"1.2\"}\n"
                                   "    params: {scale: 2}\n"
                                   "    sources: [raw]\n"
                                   "    sink: old\n"
                                   "  - tool: ptool\n"
                                   "    params: {factor: 2}\n"
                                   "    sources: [raw]\n"
                                   "    sink: new\n"
                                   "  - tool: ptool\n"
                                   "    version: \"2.0\"\n"
                                   "    params: {factor: 2}\n"
                                   "    sources: [raw]\n"
                                   "    sink: new2\n",
                                   &r, &err);
    if (wf == NULL)
        fprintf(stderr, "%s", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    CU_ASSERT_PTR_EQUAL(wf->factors[0].def, &pin_old);
    CU_ASSERT_PTR_EQUAL(wf->factors[1].def, &pin_new);
    CU_ASSERT_PTR_EQUAL(wf->factors[2].def, &pin_new);
    /* The bindings name the version: old and newest differ; newest pinned or bare agree. */
    CU_ASSERT_STRING_NOT_EQUAL(wf->factors[0].hash, wf->factors[1].hash);
    CU_ASSERT_STRING_EQUAL(wf->factors[1].hash, wf->factors[2].hash);
    hs_workflow_destroy(wf);
    hs_tool_registry_destroy(r);

    /* Parameters are checked against the pinned version, not the newest. */
    wf = parse_pinned("id: pin\n"
                      "factors:\n"
                      "  - tool: {name: ptool, version: \"1.2.0\"}\n" /* 3 */
                      "    params: {factor: 2}\n"                     /* 4 */
                      "    sources: [raw]\n"
                      "    sink: old\n"
                      "  - tool: ptool\n"        /* 7 */
                      "    params: {scale: 2}\n" /* 8 */
                      "    sources: [raw]\n"
                      "    sink: new\n"
                      "  - tool: ptool\n"
                      "    version: \"3.1\"\n" /* 12 */
                      "    sources: [raw]\n"
                      "    sink: none\n",
                      &r, &err);
    CU_ASSERT_PTR_NULL(wf);
    const char *e = hs_buf_cstr(&err);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "unknown parameter 'factor' for tool ptool"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "unknown parameter 'scale' for tool ptool"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "pin.yaml:12: tool ptool has no version 3.1; versions "
                                     "available: 2.0.1, 1.2.3 "));
    if (strstr(e, "pin.yaml:12:") == NULL)
        fprintf(stderr, "%s", e);
    hs_workflow_destroy(wf);
    hs_tool_registry_destroy(r);
    hs_buf_free(&err);
}

static void test_dynamic_plates(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = parse("id: dyn\n"
                            "plates:\n"
                            "  H: {meta: house, values: [\"1\"]}\n"
                            "  H.D: {meta: device, parent: H}\n"
                            "factors:\n"
                            "  - tool: meta_instance_from_list\n"
                            "    params: {values: [a, b]}\n"
                            "    sources: [announce]\n"
                            "    output_plate: H.D\n"
                            "  - tool: apply\n"
                            "    params: {func: abs}\n"
                            "    sources: [reading]\n"
                            "    sink: clean\n"
                            "    plates: [H.D]\n",
                            &err);
    if (wf == NULL)
        fprintf(stderr, "%s", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    hs_wf_unit *u;
    size_t n;
    CU_ASSERT_EQUAL(hs_workflow_units(wf, 1, &u, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 0); /* no device known yet */
    hs_wf_units_free(u, n);
    char *vals[] = {"d1", "d2", "d1"};
    CU_ASSERT_EQUAL(hs_workflow_add_dynamic(wf, 1, "house=1", vals, 3), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 1, &u, &n), HS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(u[1].sinks[0]->canon, "clean/device=d2/house=1");
    hs_wf_units_free(u, n);
    /* The plate-creation factor itself runs once per house. */
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(u[0].nsinks, 0);
    hs_wf_units_free(u, n);
    hs_workflow_destroy(wf);
    hs_buf_free(&err);
}

static void test_json_and_dot(void)
{
    hs_buf err, out;
    hs_buf_init(&err, 0);
    hs_buf_init(&out, 0);
    /* JSON is accepted as well. */
    hs_workflow *wf = parse("{\"id\": \"j\", \"factors\": [{\"tool\": \"clock\", \"params\": "
                            "{\"stride\": \"10s\"}, \"sink\": \"ticks\"}]}",
                            &err);
    HS_REQUIRE(wf);
    hs_workflow_destroy(wf);
    wf = parse(CLIMATE, &err);
    HS_REQUIRE(wf);
    CU_ASSERT_EQUAL(hs_workflow_to_dot(wf, &out), HS_OK);
    const char *d = hs_buf_cstr(&out);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "digraph \"climate\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "subgraph \"cluster_H\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "subgraph \"cluster_H.R\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "\"room_temp\""));
    hs_buf_reset(&out);
    CU_ASSERT_EQUAL(hs_workflow_to_json(wf, &out), HS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&out), "\"id\":\"climate\""));
    hs_workflow_destroy(wf);
    hs_buf_free(&err);
    hs_buf_free(&out);
}

/* The lookback of factor i, and whether its binding carries it. */
static void check_lookback(const hs_workflow *wf, size_t i, int64_t want_us)
{
    char key[64];
    snprintf(key, sizeof key, "\"lookback_us\":%lld", (long long)want_us);
    CU_ASSERT_EQUAL(wf->factors[i].lookback_us, want_us);
    if (want_us > 0) {
        CU_ASSERT_PTR_NOT_NULL(strstr(wf->factors[i].binding, key));
    } else {
        CU_ASSERT_PTR_NULL(strstr(wf->factors[i].binding, "lookback_us"));
    }
}

/*
 * The window readers (sliding_apply, sliding_listify, sliding_sink) read
 * back one window width of the sliding_window factor that feeds them, in
 * each of its parameter forms; a factor's own lookback wins; other tools,
 * and readers of windows that no window tool writes, read nothing before.
 */
static void test_lookback_of_window_readers(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = parse("id: lb\n"
                            "factors:\n"
                            "  - {tool: sliding_window, params: {width: 10s}, sink: w10}\n"
                            "  - {tool: sliding_window, params: {width: 2.5}, sink: w2}\n"
                            "  - {tool: sliding_window, params: {lower: -30s, upper: 5s}, sink: "
                            "w35}\n"
                            "  - {tool: sliding_window, sink: w1}\n"
                            "  - {tool: sliding_apply, params: {func: mean}, sources: [w10, x], "
                            "sink: a}\n"
                            "  - {tool: sliding_listify, sources: [w2, x], sink: b}\n"
                            "  - {tool: sliding_sink, sources: [w35, x], sink: c}\n"
                            "  - {tool: sliding_apply, params: {func: sum}, sources: [w1, x], "
                            "sink: d}\n"
                            "  - {tool: sliding_apply, params: {func: max}, sources: [w10, x], "
                            "sink: e, lookback: 1m}\n"
                            "  - {tool: sliding_apply, params: {func: min}, sources: [rawwin, x], "
                            "sink: f}\n"
                            "  - {tool: sliding_apply, params: {func: min}, sources: [a, x], "
                            "sink: g}\n"
                            "  - {tool: apply, params: {func: abs}, sources: [w10], sink: h}\n",
                            &err);
    if (wf == NULL)
        fprintf(stderr, "%s\n", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    CU_ASSERT_EQUAL_FATAL(wf->nfactors, 12);
    for (size_t i = 0; i < 4; i++)
        check_lookback(wf, i, 0); /* the window writers read nothing */
    check_lookback(wf, 4, 10 * 1000000LL);
    check_lookback(wf, 5, 2500000LL);
    check_lookback(wf, 6, 35 * 1000000LL);
    check_lookback(wf, 7, 1000000LL); /* lower -1s, upper 0s by default */
    check_lookback(wf, 8, 60 * 1000000LL);
    check_lookback(wf, 9, 0);  /* windows from an input: width unknown */
    check_lookback(wf, 10, 0); /* source 0 is not written by a window tool */
    check_lookback(wf, 11, 0); /* apply does not read windows */
    hs_workflow_destroy(wf);
    hs_buf_free(&err);
}

/* ---- tools the workflow code has never heard of (as a plugin defines them) ---- */

static int64_t span_lookback_us(const hs_value *params)
{
    const hs_value *v = hs_value_map_get(params, "span", 4);
    int64_t s = 0;
    if (v != NULL && v->type == HS_V_INT)
        s = v->u.i;
    return s * 1000000;
}

static int64_t grid_width_us(const hs_value *params)
{
    const hs_value *v = hs_value_map_get(params, "every", 5);
    return v != NULL && v->type == HS_V_INT ? v->u.i * 1000 : 0;
}

static int noop_run(hs_tool_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    return HS_OK;
}

static const hs_tool_param span_params[] = {
    {"span", HS_P_INT, "0", "seconds read before a job"},
    {NULL, HS_P_ANY, NULL, NULL},
};

static const hs_tool_param grid_params[] = {
    {"every", HS_P_INT, "1000", "window width in milliseconds"},
    {NULL, HS_P_ANY, NULL, NULL},
};

static const hs_tool_def plug_span = {
    .name = "zz_span",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "test: declares its own lookback",
    .params = span_params,
    .run = noop_run,
    .lookback_us = span_lookback_us,
};

static const hs_tool_def plug_grid = {
    .name = "zz_grid",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 0,
    .max_sources = 0,
    .summary = "test: writes windows",
    .params = grid_params,
    .run = noop_run,
    .window_width_us = grid_width_us,
};

static const hs_tool_def plug_reader = {
    .name = "zz_reader",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 2,
    .max_sources = 2,
    .summary = "test: reads windows",
    .run = noop_run,
    .lookback_from_windows = true,
};

/* Named like the built-in window readers, but declares nothing. */
static const hs_tool_def plug_sliding = {
    .name = "sliding_lookalike",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 2,
    .max_sources = 2,
    .summary = "test: a window reader's name, no declaration",
    .run = noop_run,
};

/*
 * The planner takes a lookback from what a tool's definition declares, not
 * from its name: tools it cannot know by name get theirs, built-in window
 * writers feed declared readers and the other way round, and a tool that
 * only looks like a window reader gets none.
 */
static void test_lookback_declared_by_unknown_tools(void)
{
    hs_tool_registry *r = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_tool_registry_create(&r), HS_OK);
    CU_ASSERT_EQUAL(hs_builtin_tools_register(r), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &plug_span), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &plug_grid), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &plug_reader), HS_OK);
    CU_ASSERT_EQUAL(hs_tool_registry_add(r, &plug_sliding), HS_OK);
    const char *text = "id: plug\n"
                       "factors:\n"
                       "  - {tool: zz_span, params: {span: 90}, sources: [x], sink: a}\n"
                       "  - {tool: zz_span, sources: [x], sink: b}\n"
                       "  - {tool: zz_span, params: {span: 90}, sources: [x], sink: c, "
                       "lookback: 5s}\n"
                       "  - {tool: zz_grid, params: {every: 1500}, sink: g}\n"
                       "  - {tool: zz_reader, sources: [g, x], sink: d}\n"
                       "  - {tool: sliding_apply, params: {func: mean}, sources: [g, x], "
                       "sink: e}\n"
                       "  - {tool: sliding_window, params: {width: 20s}, sink: w}\n"
                       "  - {tool: zz_reader, sources: [w, x], sink: f}\n"
                       "  - {tool: sliding_lookalike, sources: [w, x], sink: h}\n";
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = NULL;
    CU_ASSERT_EQUAL(hs_workflow_parse(text, strlen(text), "wf.yaml", r, &wf, &err), HS_OK);
    if (wf == NULL)
        fprintf(stderr, "%s\n", hs_buf_cstr(&err));
    if (wf != NULL) {
        check_lookback(wf, 0, 90 * 1000000LL);
        check_lookback(wf, 1, 0); /* span absent: the callback gives 0 */
        check_lookback(wf, 2, 5 * 1000000LL);
        check_lookback(wf, 3, 0);
        check_lookback(wf, 4, 1500000LL);
        check_lookback(wf, 5, 1500000LL);
        check_lookback(wf, 6, 0);
        check_lookback(wf, 7, 20 * 1000000LL);
        check_lookback(wf, 8, 0);
    }
    hs_workflow_destroy(wf);
    hs_buf_free(&err);
    hs_tool_registry_destroy(r);
}

static int clean_suite(void)
{
    hs_tool_registry_destroy(g_tools);
    g_tools = NULL;
    return 0;
}

/* schemas: inline input schemas, checked at parse time with the line of a fault. */
static void test_workflow_schemas(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    const char *base = "id: w\n"
                       "factors:\n"
                       "  - {tool: apply, params: {func: neg}, sources: [p], sink: q}\n";
    char text[1024];
    snprintf(text, sizeof text,
             "%sschemas:\n  - stream: p/#\n    schema: {type: number}\n"
             "  - {stream: +/site=a, schema: true}\n",
             base);
    hs_workflow *wf = parse(text, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wf);
    CU_ASSERT_EQUAL(wf->nschemas, 2);
    /* The list travels as msgpack: its JSON form is the list as written. */
    hs_buf j;
    hs_buf_init(&j, 0);
    hs_mp_reader r;
    hs_mp_reader_init(&r, wf->schemas_mp, wf->schemas_len);
    CU_ASSERT_EQUAL(hs_json_from_mpack(&r, &j), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j),
                           "[{\"stream\":\"p/#\",\"schema\":{\"type\":\"number\"}},"
                           "{\"stream\":\"+/site=a\",\"schema\":true}]");
    hs_buf_free(&j);
    hs_workflow_destroy(wf);
    /* None: nothing to hand to ingest. */
    wf = parse(base, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wf);
    CU_ASSERT_EQUAL(wf->nschemas, 0);
    CU_ASSERT_PTR_NULL(wf->schemas_mp);
    hs_workflow_destroy(wf);
    /* A misspelt keyword, a file name, a bad pattern: refused at their line. */
    snprintf(text, sizeof text,
             "%sschemas:\n  - stream: p/#\n    schema: {minimum: 1, maximun: 3}\n", base);
    CU_ASSERT_PTR_NULL(parse(text, &err));
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&err), "wf.yaml:6:35: schema: /maximun: unknown keyword "
                                              "'maximun' (see docs/SCHEMAS.md)\n");
    snprintf(text, sizeof text, "%sschemas:\n  - {stream: p/#, schema: p.json}\n", base);
    CU_ASSERT_PTR_NULL(parse(text, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "wf.yaml:5:27: schema must be a JSON Schema"));
    snprintf(text, sizeof text, "%sschemas:\n  - {stream: 'p/#/x', schema: true}\n", base);
    CU_ASSERT_PTR_NULL(parse(text, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "wf.yaml:5:14: stream must be"));
    /* A misspelt section is an unknown key. */
    snprintf(text, sizeof text, "%sschema:\n  - {stream: p/#, schema: true}\n", base);
    CU_ASSERT_PTR_NULL(parse(text, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "wf.yaml:4: unknown key 'schema'"));
    hs_buf_free(&err);
}

HS_TEST_INIT(workflow)
{
    CU_pSuite hs__suite = CU_add_suite("workflow", NULL, clean_suite);
    if (hs__suite == NULL)
        return -1;
    HS_TEST(test_design_example_parses);
    HS_TEST(test_units_of_every_kind);
    HS_TEST(test_aggregate_many_parents);
    HS_TEST(test_multi_output_units);
    HS_TEST(test_splitting_per_plate_value);
    HS_TEST(test_splitting_elsewhere_refused);
    HS_TEST(test_validation_errors_have_lines);
    HS_TEST(test_stream_names_follow_id_rules);
    HS_TEST(test_parameter_values_are_checked);
    HS_TEST(test_suggest);
    HS_TEST(test_online_lateness);
    HS_TEST(test_text_values_that_are_not_text);
    HS_TEST(test_errors_escape_control_characters);
    HS_TEST(test_binding_escapes_input_names);
    HS_TEST(test_cycle_and_duplicate_sink);
    HS_TEST(test_bindings);
    HS_TEST(test_tool_version_binding);
    HS_TEST(test_tool_version_pinning);
    HS_TEST(test_dynamic_plates);
    HS_TEST(test_json_and_dot);
    HS_TEST(test_lookback_of_window_readers);
    HS_TEST(test_lookback_declared_by_unknown_tools);
    HS_TEST(test_workflow_schemas);
    return 0;
}
