/*
 * Tests of HyperStream's model (docs/MODEL.md): the meta-data tree
 * (hs_meta), plates that select from it (no phantom streams), nodes on
 * several plates (product plates), aggregation and selection over any level
 * of the sink's ancestry, and the errors for incompatible plates.
 */
#include "test_suites.h"

#include "tools.h"

#include "hs_error.h"
#include "hs_meta.h"
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

static int clean_suite(void)
{
    hs_tool_registry_destroy(g_tools);
    g_tools = NULL;
    return 0;
}

static hs_workflow *parse(const char *text, hs_buf *err)
{
    hs_workflow *wf = NULL;
    hs_buf_reset(err);
    if (hs_workflow_parse(text, strlen(text), "wf.yaml", tools(), &wf, err) != HS_OK)
        return NULL;
    return wf;
}

/* The canonical ids of a list of stream ids joined by spaces, into out. */
static const char *sids(hs_streamid *const *v, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        int w = snprintf(out + len, cap - len, "%s%s", i ? " " : "", v[i]->canon);
        len += w > 0 ? (size_t)w : 0;
    }
    return out;
}

/* The sinks of every unit of factor f, in order, joined by spaces. */
static const char *unit_sinks(const hs_workflow *wf, size_t f, char *out, size_t cap)
{
    hs_wf_unit *u;
    size_t n;
    out[0] = '\0';
    if (hs_workflow_units(wf, f, &u, &n) != HS_OK)
        return "(error)";
    size_t len = 0;
    for (size_t i = 0; i < n && len < cap; i++) {
        char one[1024];
        int w = snprintf(out + len, cap - len, "%s%s", i ? " " : "",
                         sids(u[i].sinks, u[i].nsinks, one, sizeof one));
        len += w > 0 ? (size_t)w : 0;
    }
    hs_wf_units_free(u, n);
    return out;
}

static void test_tree_insert_delete(void)
{
    hs_meta_tree *t;
    CU_ASSERT_EQUAL_FATAL(hs_meta_create(&t), HS_OK);
    size_t added, removed;
    CU_ASSERT_EQUAL(hs_meta_add(t, "site=b/device=3", &added), HS_OK);
    CU_ASSERT_EQUAL(added, 2);
    /* Idempotent: the same path again adds nothing. */
    CU_ASSERT_EQUAL(hs_meta_add(t, "site=b/device=3", &added), HS_OK);
    CU_ASSERT_EQUAL(added, 0);
    CU_ASSERT_EQUAL(hs_meta_add(t, "site=b/device=4", &added), HS_OK);
    CU_ASSERT_EQUAL(added, 1);
    CU_ASSERT_EQUAL(hs_meta_count(t), 3);
    hs_meta_node m = hs_meta_at(t, 1);
    CU_ASSERT_STRING_EQUAL(m.tag, "device");
    CU_ASSERT_STRING_EQUAL(m.value, "3");
    CU_ASSERT_STRING_EQUAL(m.path, "site=b/device=3");
    CU_ASSERT_STRING_EQUAL(m.pv, "device=3/site=b"); /* sorted by key, as plate values are */
    CU_ASSERT_STRING_EQUAL(m.parent, "site=b");
    CU_ASSERT_EQUAL(m.depth, 2);
    CU_ASSERT(hs_meta_has_tag(t, "device"));
    CU_ASSERT(!hs_meta_has_tag(t, "room"));
    /* Bad paths are refused with the reason. */
    CU_ASSERT_EQUAL(hs_meta_add(t, "site", NULL), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "not tag=value"));
    CU_ASSERT_EQUAL(hs_meta_add(t, "site=a/site=b", NULL), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "twice"));
    CU_ASSERT_EQUAL(hs_meta_add(t, "site=a/dev#=1", NULL), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_meta_count(t), 3);
    /* Deleting a node deletes its subtree; deleting it again is a no-op. */
    unsigned long gen = hs_meta_generation(t);
    CU_ASSERT_EQUAL(hs_meta_rm(t, "site=b", &removed), HS_OK);
    CU_ASSERT_EQUAL(removed, 3);
    CU_ASSERT(hs_meta_generation(t) != gen);
    CU_ASSERT_EQUAL(hs_meta_rm(t, "site=b", &removed), HS_OK);
    CU_ASSERT_EQUAL(removed, 0);
    CU_ASSERT_EQUAL(hs_meta_count(t), 0);
    CU_ASSERT(!hs_meta_has(t, "site=b/device=4"));
    /* A prefix of a name is not a parent: site=b1 stays when site=b goes. */
    CU_ASSERT_EQUAL(hs_meta_add(t, "site=b1/device=9", NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_meta_add(t, "site=b/device=8", NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_meta_rm(t, "site=b", &removed), HS_OK);
    CU_ASSERT_EQUAL(removed, 2);
    CU_ASSERT(hs_meta_has(t, "site=b1/device=9"));
    hs_meta_destroy(t);
}

/* Sites with different devices: nested plates follow the tree, not a cross product. */
static const char *FLEET = "id: fleet\n"
                           "meta:\n"
                           "  site=a: {device: [\"1\", \"2\"]}\n"
                           "  site=b: {device: [\"3\", \"4\", \"5\"]}\n"
                           "plates:\n"
                           "  S:   {meta: site}\n"
                           "  S.D: {meta: device, parent: S}\n"
                           "factors:\n"
                           "  - tool: aggregate\n"
                           "    params: {func: count}\n"
                           "    over: device\n"
                           "    sources: [power]\n"
                           "    sink: site_count\n"
                           "    plates: [S]\n"
                           "  - tool: copy\n"
                           "    sources: [power]\n"
                           "    sink: doubled\n"
                           "    plates: [S.D]\n";

static void test_tree_plates_have_no_phantoms(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = parse(FLEET, &err);
    if (wf == NULL)
        fprintf(stderr, "%s", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    char got[4096];
    CU_ASSERT_STRING_EQUAL(unit_sinks(wf, 1, got, sizeof got),
                           "doubled/device=1/site=a doubled/device=2/site=a "
                           "doubled/device=3/site=b doubled/device=4/site=b "
                           "doubled/device=5/site=b");
    hs_wf_unit *u;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(sids(u[0].sources, u[0].nsources, got, sizeof got),
                           "power/device=1/site=a power/device=2/site=a");
    CU_ASSERT_STRING_EQUAL(sids(u[1].sources, u[1].nsources, got, sizeof got),
                           "power/device=3/site=b power/device=4/site=b power/device=5/site=b");
    hs_wf_units_free(u, n);
    CU_ASSERT(hs_workflow_uses_tree(wf));

    /* The stack's tree replaces the file's: a new device appears, a removed site goes. */
    hs_meta_tree *stack;
    CU_ASSERT_EQUAL_FATAL(hs_meta_create(&stack), HS_OK);
    CU_ASSERT_EQUAL(hs_meta_merge(stack, wf->meta), HS_OK);
    CU_ASSERT_EQUAL(hs_meta_add(stack, "site=a/device=7", NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_meta_rm(stack, "site=b", NULL), HS_OK);
    hs_workflow_set_tree(wf, stack);
    CU_ASSERT_STRING_EQUAL(unit_sinks(wf, 1, got, sizeof got),
                           "doubled/device=1/site=a doubled/device=2/site=a "
                           "doubled/device=7/site=a");
    CU_ASSERT_STRING_EQUAL(unit_sinks(wf, 0, got, sizeof got), "site_count/site=a");
    hs_workflow_destroy(wf);
    hs_meta_destroy(stack);
    hs_buf_free(&err);
}

/* match selects by pattern; listed values stay listed values; the list form of meta. */
static void test_tree_filters(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = parse("id: f\n"
                            "meta: [site=a/device=s-1, site=a/device=s-2, site=a/device=t-1,\n"
                            "       site=b/device=s-9]\n"
                            "plates:\n"
                            "  S: {meta: site, values: [a]}\n"
                            "  D: {meta: device, parent: S, match: \"s-*\"}\n"
                            "  L: {meta: device, parent: S, values: [t-1, u-1]}\n"
                            "factors:\n"
                            "  - {tool: copy, sources: [x], sink: y, plates: [D]}\n"
                            "  - {tool: copy, sources: [x], sink: z, plates: [L]}\n",
                            &err);
    if (wf == NULL)
        fprintf(stderr, "%s", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    char got[1024];
    CU_ASSERT_STRING_EQUAL(unit_sinks(wf, 0, got, sizeof got),
                           "y/device=s-1/site=a y/device=s-2/site=a");
    /* A plate that lists its values does not read the tree (u-1 is not in it). */
    CU_ASSERT_STRING_EQUAL(unit_sinks(wf, 1, got, sizeof got),
                           "z/device=t-1/site=a z/device=u-1/site=a");
    hs_workflow_destroy(wf);
    /* Without a tree for its key, a listed plate is the cross product, as before. */
    wf = parse("id: f\n"
               "plates:\n"
               "  S: {meta: site, values: [a, b]}\n"
               "  D: {meta: device, parent: S, values: [\"1\"]}\n"
               "factors:\n"
               "  - {tool: copy, sources: [x], sink: y, plates: [D]}\n",
               &err);
    HS_REQUIRE(wf);
    CU_ASSERT_STRING_EQUAL(unit_sinks(wf, 0, got, sizeof got),
                           "y/device=1/site=a y/device=1/site=b");
    CU_ASSERT(!hs_workflow_uses_tree(wf));
    hs_workflow_destroy(wf);
    /* Bad meta blocks: each error on its line. */
    CU_ASSERT_PTR_NULL(parse("id: f\n"
                             "meta:\n"
                             "  site=a: {device: [\"x#\"]}\n"
                             "  site: 3\n"
                             "  bad=: {}\n"
                             "factors:\n"
                             "  - {tool: copy, sources: [x], sink: y}\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        hs_buf_cstr(&err), "wf.yaml:3: a meta-data value 'x#' cannot be used in stream ids"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "wf.yaml:5: meta: bad=: 'bad=' is not"));
    /* A value with '/' would add levels: refused, as is a path too long for stream ids. */
    char text[4096];
    char longv[121], lp[1100];
    memset(longv, 'v', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    snprintf(lp, sizeof lp, "k0=%s/k1=%s/k2=%s/k3=%s/k4=%s/k5=%s/k6=%s", longv, longv, longv, longv,
             longv, longv, longv);
    snprintf(text, sizeof text,
             "id: f\n"
             "meta:\n"
             "  site=a: {device: [\"b/evil=x\"]}\n"
             "  \"%s\": {}\n"
             "factors:\n"
             "  - {tool: copy, sources: [x], sink: y}\n",
             lp);
    CU_ASSERT_PTR_NULL(parse(text, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "wf.yaml:3: a meta-data value 'b/evil=x'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "wf.yaml:4: meta: '"));
    hs_meta_tree *t;
    CU_ASSERT_EQUAL_FATAL(hs_meta_create(&t), HS_OK);
    CU_ASSERT_EQUAL(hs_meta_add(t, lp, NULL), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "longer than 768 bytes"));
    CU_ASSERT_EQUAL(hs_meta_count(t), 0);
    hs_meta_destroy(t);
    /* values: [] lists no values: the plate does not read the tree. */
    wf = parse("id: f\n"
               "meta: [site=a/device=1]\n"
               "plates:\n"
               "  S: {meta: site}\n"
               "  D: {meta: device, parent: S, values: []}\n"
               "factors:\n"
               "  - {tool: copy, sources: [x], sink: y, plates: [D]}\n",
               &err);
    HS_REQUIRE(wf);
    CU_ASSERT_STRING_EQUAL(unit_sinks(wf, 0, got, sizeof got), "");
    hs_workflow_destroy(wf);
    hs_buf_free(&err);
}

/* HyperStream's test_new_api_overlapping_plates: a node on T and V is on their product. */
static void test_overlapping_plates(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = parse("id: ov\n"
                            "plates:\n"
                            "  T: {meta: t, values: [\"1\", \"2\"]}\n"
                            "  V: {meta: v, values: [a, b, c]}\n"
                            "inputs:\n"
                            "  x: {plates: [T]}\n"
                            "  y: {plates: [V]}\n"
                            "factors:\n"
                            "  - tool: product\n"
                            "    sources: [x, y]\n"
                            "    sink: xy\n"
                            "    plates: [T, V]\n"
                            "  - tool: aggregate\n"
                            "    params: {func: sum}\n"
                            "    over: v\n"
                            "    sources: [xy]\n"
                            "    sink: by_t\n"
                            "    plates: [T]\n",
                            &err);
    if (wf == NULL)
        fprintf(stderr, "%s", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    hs_wf_unit *u;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 6);
    char got[1024];
    CU_ASSERT_STRING_EQUAL(u[0].pv.text, "t=1/v=a");
    CU_ASSERT_STRING_EQUAL(sids(u[0].sources, u[0].nsources, got, sizeof got), "x/t=1 y/v=a");
    CU_ASSERT_STRING_EQUAL(u[5].sinks[0]->canon, "xy/t=2/v=c");
    hs_wf_units_free(u, n);
    /* The aggregate over v reads the product plate's streams below each t. */
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 1, &u, &n), HS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(sids(u[1].sources, u[1].nsources, got, sizeof got),
                           "xy/t=2/v=a xy/t=2/v=b xy/t=2/v=c");
    CU_ASSERT_STRING_EQUAL(u[1].sinks[0]->canon, "by_t/t=2");
    CU_ASSERT_STRING_EQUAL(wf->plates[wf->factors[0].sink_plate].id, "[T, V]");
    hs_wf_units_free(u, n);
    hs_workflow_destroy(wf);

    /* Plates sharing an ancestor join on it: each house's rooms with its own people. */
    wf = parse("id: join\n"
               "meta:\n"
               "  house=1: {room: [k, l], person: [ann]}\n"
               "  house=2: {room: [k], person: [bob, cy]}\n"
               "plates:\n"
               "  H: {meta: house}\n"
               "  R: {meta: room, parent: H}\n"
               "  P: {meta: person, parent: H}\n"
               "factors:\n"
               "  - {tool: copy, sources: [seen], sink: where, "
               "plates: [R, P]}\n",
               &err);
    if (wf == NULL)
        fprintf(stderr, "%s", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    CU_ASSERT_STRING_EQUAL(unit_sinks(wf, 0, got, sizeof got),
                           "where/house=1/person=ann/room=k where/house=1/person=ann/room=l "
                           "where/house=2/person=bob/room=k where/house=2/person=cy/room=k");
    hs_workflow_destroy(wf);
    hs_buf_free(&err);
}

/* A product of plates sharing an ancestor at fleet size: 20,000 houses, each its own room and
 * person. */
static void test_product_at_fleet_size(void)
{
    enum { N = 20000 };
    hs_buf y, err;
    hs_buf_init(&y, 0);
    hs_buf_init(&err, 0);
    CU_ASSERT_EQUAL(hs_buf_puts(&y, "id: big\nmeta:\n"), HS_OK);
    for (int h = 0; h < N; h++)
        CU_ASSERT_EQUAL(
            hs_buf_printf(&y, "  - house=%d/room=r%d\n  - house=%d/person=p%d\n", h, h, h, h),
            HS_OK);
    CU_ASSERT_EQUAL(hs_buf_puts(&y,
                                "plates:\n"
                                "  H: {meta: house}\n"
                                "  R: {meta: room, parent: H}\n"
                                "  P: {meta: person, parent: H}\n"
                                "factors:\n"
                                "  - {tool: copy, sources: [seen], sink: where, plates: [R, P]}\n"),
                    HS_OK);
    hs_workflow *wf = parse(hs_buf_cstr(&y), &err);
    HS_REQUIRE(wf);
    hs_wf_unit *u;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
    CU_ASSERT_EQUAL_FATAL(n, N);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        char want[96];
        snprintf(want, sizeof want, "where/house=%zu/person=p%zu/room=r%zu", i, i, i);
        bad += strcmp(u[i].sinks[0]->canon, want) != 0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    hs_wf_units_free(u, n);
    hs_workflow_destroy(wf);
    hs_buf_free(&y);
    hs_buf_free(&err);
}

/* HyperStream's test_off_plate_aggregator: from H1.L.W over location to H1.W. */
static const char *OFF_PLATE =
    "id: off\n"
    "plates:\n"
    "  H1:     {meta: house, values: [\"1\"]}\n"
    "  H1.L:   {meta: location, parent: H1, values: [kitchen, hallway]}\n"
    "  H1.L.W: {meta: wearable, parent: H1.L, values: [A, B]}\n"
    "  H1.W:   {meta: wearable, parent: H1, values: [A, B]}\n"
    "inputs:\n"
    "  rss: {plates: [H1.L.W]}\n"
    "factors:\n"
    "  - tool: aggregate\n"
    "    params: {func: mean}\n"
    "    over: location\n"
    "    sources: [rss]\n"
    "    sink: rss_loc_avg\n"
    "    plates: [H1.W]\n"
    "  - tool: aggregate\n"
    "    params: {func: mean}\n"
    "    over: wearable\n"
    "    sources: [rss]\n"
    "    sink: rss_dev_avg\n"
    "    plates: [H1.L]\n";

static void test_off_plate_aggregation(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = parse(OFF_PLATE, &err);
    if (wf == NULL)
        fprintf(stderr, "%s", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    hs_wf_unit *u;
    size_t n;
    char got[1024];
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(u[0].sinks[0]->canon, "rss_loc_avg/house=1/wearable=A");
    CU_ASSERT_STRING_EQUAL(sids(u[0].sources, u[0].nsources, got, sizeof got),
                           "rss/house=1/location=kitchen/wearable=A "
                           "rss/house=1/location=hallway/wearable=A");
    CU_ASSERT_STRING_EQUAL(u[0].output_meta, "location");
    hs_wf_units_free(u, n);
    /* Over the last level, as before. */
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 1, &u, &n), HS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(sids(u[1].sources, u[1].nsources, got, sizeof got),
                           "rss/house=1/location=hallway/wearable=A "
                           "rss/house=1/location=hallway/wearable=B");
    hs_wf_units_free(u, n);
    hs_workflow_destroy(wf);

    /* index_of selects by a key above the last level too. */
    wf = parse("id: sel\n"
               "plates:\n"
               "  H:   {meta: house, values: [\"1\", \"2\"]}\n"
               "  H.W: {meta: wearable, parent: H, values: [A, B]}\n"
               "  W:   {meta: wearable, values: [A, B]}\n"
               "inputs:\n"
               "  rss: {plates: [H.W]}\n"
               "factors:\n"
               "  - {tool: index_of, params: {index: \"2\"}, over: house, sources: [rss],\n"
               "     sink: rss_h2, plates: [W]}\n",
               &err);
    if (wf == NULL)
        fprintf(stderr, "%s", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    CU_ASSERT_EQUAL_FATAL(hs_workflow_units(wf, 0, &u, &n), HS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(sids(u[1].sources, u[1].nsources, got, sizeof got),
                           "rss/house=1/wearable=B rss/house=2/wearable=B");
    CU_ASSERT_STRING_EQUAL(u[1].sinks[0]->canon, "rss_h2/wearable=B");
    hs_wf_units_free(u, n);
    hs_workflow_destroy(wf);
    hs_buf_free(&err);
}

/* Incompatible plates: each case a clear error with the file's line and the tool's kind. */
static void test_incompatible_plates(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    /* A plain tool reading a source on a plate with a key its sink lacks. */
    CU_ASSERT_PTR_NULL(parse("id: e\n"
                             "plates:\n"
                             "  T: {meta: t, values: [\"1\"]}\n"
                             "  V: {meta: v, values: [a]}\n"
                             "inputs:\n"
                             "  y: {plates: [V]}\n"
                             "factors:\n"
                             "  - {tool: copy, sources: [y], sink: z, "
                             "plates: [T]}\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err),
                                  "wf.yaml:8: source y is on plate V (keys: v), which the plain "
                                  "tool copy cannot read for plate T (keys: t)"));
    /* An aggregate whose source's plate is not the sink's plus its key. */
    CU_ASSERT_PTR_NULL(parse("id: e\n"
                             "plates:\n"
                             "  H: {meta: house, values: [\"1\"]}\n"
                             "  W: {meta: wearable, values: [A]}\n"
                             "inputs:\n"
                             "  rss: {plates: [W]}\n"
                             "factors:\n"
                             "  - {tool: aggregate, params: {func: mean}, over: location,\n"
                             "     sources: [rss], sink: a, plates: [H]}\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err),
                                  "wf.yaml:8: aggregate tool aggregate aggregates over 'location': "
                                  "its source rss must be on a plate whose keys are the sink "
                                  "plate H's (house) and location"));
    /* A selector by a key the sink keeps. */
    CU_ASSERT_PTR_NULL(parse("id: e\n"
                             "plates:\n"
                             "  H: {meta: house, values: [\"1\"]}\n"
                             "factors:\n"
                             "  - {tool: index_of, params: {index: \"1\"}, over: house,\n"
                             "     sources: [rss], sink: a, plates: [H]}\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err),
                                  "wf.yaml:5: selector tool index_of selects by 'house', but the "
                                  "sink's plate H has that key already"));
    /* Unknown and repeated plates in a list, each on its item's line. */
    CU_ASSERT_PTR_NULL(parse("id: e\n"
                             "plates:\n"
                             "  T: {meta: t, values: [\"1\"]}\n"
                             "factors:\n"
                             "  - tool: copy\n"
                             "    sources: [x]\n"
                             "    sink: z\n"
                             "    plates:\n"
                             "      - T\n"
                             "      - T\n"
                             "      - Q\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(hs_buf_cstr(&err), "wf.yaml:10: node z: plate T is listed twice"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "wf.yaml:11: node z: unknown plate 'Q'"));
    /* A multi-output sink is on one plate. */
    CU_ASSERT_PTR_NULL(parse("id: e\n"
                             "plates:\n"
                             "  T: {meta: t, values: [\"1\"]}\n"
                             "  V: {meta: v, values: [a]}\n"
                             "factors:\n"
                             "  - {tool: splitter, params: {element: v}, sources: [x], sink: z,\n"
                             "     plates: [T, V]}\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "its sink is on one plate"));
    hs_buf_free(&err);
}

/* Growth from data: which raw streams add which tree paths. */
static void test_grow_from_data(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = parse("id: g\n"
                            "meta: [site=a]\n"
                            "plates:\n"
                            "  R: {meta: region, values: [eu]}\n"
                            "  S: {meta: site, parent: R}\n"
                            "  D: {meta: device, parent: S, grow: from_data, match: \"d-*\"}\n"
                            "factors:\n"
                            "  - {tool: copy, sources: [power], sink: p2, plates: [D]}\n",
                            &err);
    if (wf == NULL)
        fprintf(stderr, "%s", hs_buf_cstr(&err));
    HS_REQUIRE(wf);
    const char *names[4];
    CU_ASSERT_EQUAL_FATAL(hs_workflow_grow_inputs(wf, names, 4), 1);
    CU_ASSERT_STRING_EQUAL(names[0], "power");
    hs_meta_tree *t;
    CU_ASSERT_EQUAL_FATAL(hs_meta_create(&t), HS_OK);
    CU_ASSERT_EQUAL(hs_meta_add(t, "region=eu/site=a", NULL), HS_OK);
    hs_workflow_set_tree(wf, t);
    struct {
        const char *sid, *path; /* path NULL: no growth */
    } cases[] = {
        {"power/device=d-1/region=eu/site=a", "region=eu/site=a/device=d-1"},
        {"power/device=x-1/region=eu/site=a", NULL},  /* match refuses it */
        {"power/device=d-1/region=us/site=a", NULL},  /* region us is not listed */
        {"power/device=d-1/region=eu/site=b", NULL},  /* site b is not in the tree */
        {"power/device=d-1/site=a", NULL},            /* other keys */
        {"energy/device=d-1/region=eu/site=a", NULL}, /* another node */
        {"p2/device=d-1/region=eu/site=a", NULL},     /* computed */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hs_streamid *sid;
        CU_ASSERT_EQUAL_FATAL(hs_streamid_parse(cases[i].sid, strlen(cases[i].sid), &sid), HS_OK);
        char path[256];
        bool grows = hs_workflow_grow_path(wf, sid, path, sizeof path);
        CU_ASSERT_EQUAL(grows, cases[i].path != NULL);
        if (grows && cases[i].path != NULL)
            CU_ASSERT_STRING_EQUAL(path, cases[i].path);
        hs_streamid_destroy(sid);
    }
    hs_workflow_destroy(wf);
    hs_meta_destroy(t);
    /* grow only on a plate that selects from the tree. */
    CU_ASSERT_PTR_NULL(parse("id: g\n"
                             "plates:\n"
                             "  S: {meta: site, values: [a], grow: from_data}\n"
                             "  T: {meta: t, grow: yes}\n"
                             "factors:\n"
                             "  - {tool: copy, sources: [power], sink: p2, plates: [S]}\n",
                             &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "wf.yaml:3: plate S: grow adds values"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "wf.yaml:4: plate T: grow must be from_data"));
    hs_buf_free(&err);
}

HS_TEST_INIT(model)
{
    CU_pSuite hs__suite = CU_add_suite("model", NULL, clean_suite);
    if (hs__suite == NULL)
        return -1;
    HS_TEST(test_tree_insert_delete);
    HS_TEST(test_tree_plates_have_no_phantoms);
    HS_TEST(test_tree_filters);
    HS_TEST(test_overlapping_plates);
    HS_TEST(test_product_at_fleet_size);
    HS_TEST(test_off_plate_aggregation);
    HS_TEST(test_incompatible_plates);
    HS_TEST(test_grow_from_data);
    return 0;
}
