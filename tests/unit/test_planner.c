/*
 * Tests of the scheduler's planner (services/scheduler/planner.c): lookback
 * widening, nested plates, aggregates, selectors, multi-output and plate
 * creation, partly calculated sinks, work under way, and the aggregate over
 * a plate whose values come from data. No broker, no store: calculated
 * intervals and jobs under way are answered from the test's own tables.
 */
#include "test_suites.h"

#include "planner.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_map.h"
#include "hs_workflow.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#define S(x) ((int64_t)(x)*1000000)
#define HOUR S(3600)
#define T0   (S(1700002800)) /* a whole hour */

/* A workflow expanded as the scheduler expands it, with fake answers. */
typedef struct pt {
    hs_tool_registry *reg;
    hs_workflow *wf;
    hs_wf_unit **units;
    size_t *nunits;
    hs_map producer;
    hs_map calc;               /* sid -> hs_intervals* */
    planner_busy_list busy[8]; /* under way, for unit (f, 0) only */
    hs_intervals empty;
} pt;

static const hs_intervals *pt_calculated(void *ud, const char *sid)
{
    pt *p = ud;
    hs_intervals *c = hs_map_get(&p->calc, sid);
    return c != NULL ? c : &p->empty;
}

static int pt_under_way(void *ud, size_t f, size_t u, planner_busy_list *out)
{
    pt *p = ud;
    if (u != 0 || f >= 8)
        return HS_OK;
    for (size_t i = 0; i < p->busy[f].n; i++) {
        int rc = planner_busy_push(out, p->busy[f].v[i].iv, p->busy[f].v[i].job);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static void pt_units_free(pt *p)
{
    for (size_t f = 0; p->units != NULL && f < p->wf->nfactors; f++)
        hs_wf_units_free(p->units[f], p->nunits[f]);
    hs_free(p->units);
    hs_free(p->nunits);
    p->units = NULL;
    p->nunits = NULL;
    hs_map_free(&p->producer);
}

static int pt_expand(pt *p)
{
    pt_units_free(p);
    hs_map_init(&p->producer);
    size_t nf = p->wf->nfactors;
    p->units = hs_calloc(nf, sizeof *p->units);
    p->nunits = hs_calloc(nf, sizeof *p->nunits);
    if (p->units == NULL || p->nunits == NULL)
        return HS_ERR_NOMEM;
    for (size_t f = 0; f < nf; f++) {
        int rc = hs_workflow_units(p->wf, f, &p->units[f], &p->nunits[f]);
        if (rc != HS_OK)
            return rc;
        for (size_t u = 0; u < p->nunits[f]; u++)
            for (size_t k = 0; k < p->units[f][u].nsinks; k++) {
                uintptr_t code = (((uintptr_t)f << 32) | u) + 1;
                rc = hs_map_put(&p->producer, p->units[f][u].sinks[k]->canon, (void *)code, NULL);
                if (rc != HS_OK)
                    return rc;
            }
    }
    return HS_OK;
}

static bool pt_init(pt *p, const char *text)
{
    memset(p, 0, sizeof *p);
    hs_map_init(&p->calc);
    hs_map_init(&p->producer);
    hs_intervals_init(&p->empty);
    if (hs_tool_registry_create(&p->reg) != HS_OK || hs_builtin_tools_register(p->reg) != HS_OK)
        return false;
    hs_buf err;
    hs_buf_init(&err, 0);
    int rc = hs_workflow_parse(text, strlen(text), "wf.yaml", p->reg, &p->wf, &err);
    if (rc != HS_OK)
        fprintf(stderr, "\nworkflow errors:\n%s\n", hs_buf_cstr(&err));
    hs_buf_free(&err);
    return rc == HS_OK && pt_expand(p) == HS_OK;
}

static void pt_free(pt *p)
{
    pt_units_free(p);
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&p->calc, &pos)) != NULL) {
        hs_intervals_free(e->value);
        hs_free(e->value);
    }
    hs_map_free(&p->calc);
    for (size_t f = 0; f < 8; f++)
        hs_free(p->busy[f].v);
    hs_workflow_destroy(p->wf);
    hs_tool_registry_destroy(p->reg);
}

static void pt_set_calc(pt *p, const char *sid, hs_interval iv)
{
    hs_intervals *c = hs_malloc(sizeof *c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    hs_intervals_init(c);
    CU_ASSERT_EQUAL(hs_intervals_add(c, iv), HS_OK);
    CU_ASSERT_EQUAL(hs_map_put(&p->calc, sid, c, NULL), HS_OK);
}

/* Plans (from, to] with span; returns how many lines (or -1). */
static long pt_plan(pt *p, int64_t from, int64_t to, int64_t span, planner_out *out)
{
    planner_wf w = {p->wf, p->units, p->nunits, &p->producer};
    planner_ops ops = {pt_calculated, pt_under_way, p};
    hs_interval req = {from, to};
    planner_out_init(out);
    if (planner_plan(&w, req, span, &ops, out) != HS_OK)
        return -1;
    return (long)out->n;
}

/* The planned lines of factor f as "pv:(a,b] ..." in seconds relative to T0 (static buffer). */
static const char *pt_lines(const pt *p, const planner_out *o, size_t f)
{
    static char buf[4096];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < o->n && used < sizeof buf; i++) {
        const planner_job *j = &o->v[i];
        if (j->factor != f)
            continue;
        int w =
            snprintf(buf + used, sizeof buf - used, "%s%s%s:(%lld,%lld]", used ? " " : "",
                     j->join ? "join " : "", p->units[f][j->unit].pv.text,
                     (long long)((j->iv.start - T0) / S(1)), (long long)((j->iv.end - T0) / S(1)));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

static const char CLIMATE[] = "id: climate\n"
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

/* The reader's lookback (60 s) widens what its producer must compute; pieces cut at the span. */
static void test_lookback_and_nesting(void)
{
    pt p;
    CU_ASSERT_TRUE_FATAL(pt_init(&p, CLIMATE));
    planner_out o;
    CU_ASSERT_EQUAL(pt_plan(&p, T0, T0 + 2 * HOUR, HOUR, &o), 1 + 2 + 4 * 2 + 2 * 2);
    /* windows: (T0 - 60s, T0] widened, then two span pieces. */
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 0), ":(-60,0] :(0,3600] :(3600,7200]");
    /* room_temp on H.R: 4 units, not widened (the aggregate has no lookback). */
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 1),
                           "house=1/room=kitchen:(0,3600] house=1/room=kitchen:(3600,7200] "
                           "house=1/room=lounge:(0,3600] house=1/room=lounge:(3600,7200] "
                           "house=2/room=kitchen:(0,3600] house=2/room=kitchen:(3600,7200] "
                           "house=2/room=lounge:(0,3600] house=2/room=lounge:(3600,7200]");
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 2),
                           "house=1:(0,3600] house=1:(3600,7200] house=2:(0,3600] "
                           "house=2:(3600,7200]");
    /* Dependency order: producers first. */
    CU_ASSERT_EQUAL(o.v[0].factor, 0);
    CU_ASSERT_EQUAL(o.v[o.n - 1].factor, 2);
    planner_out_free(&o);
    pt_free(&p);
}

/* Only what is not calculated is planned, cut at multiples of the span; all calculated: nothing. */
static void test_partly_calculated(void)
{
    pt p;
    CU_ASSERT_TRUE_FATAL(pt_init(&p, CLIMATE));
    pt_set_calc(&p, "room_temp/house=1/room=kitchen", (hs_interval){T0 - HOUR, T0 + S(1800)});
    pt_set_calc(&p, "house_temp/house=1", (hs_interval){T0, T0 + 2 * HOUR});
    planner_out o;
    CU_ASSERT_TRUE(pt_plan(&p, T0, T0 + 2 * HOUR, HOUR, &o) > 0);
    const char *rooms = pt_lines(&p, &o, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(rooms, "house=1/room=kitchen:(1800,3600] "
                                         "house=1/room=kitchen:(3600,7200] "));
    CU_ASSERT_PTR_NULL(strstr(rooms, "house=1/room=kitchen:(0,"));
    /* house=1 is calculated: no job, although one of its rooms is not (needs flow down only). */
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 2), "house=2:(0,3600] house=2:(3600,7200]");
    planner_out_free(&o);
    /* A request inside what is calculated plans nothing for those units. */
    CU_ASSERT_EQUAL(pt_plan(&p, T0 + S(10), T0 + S(20), HOUR, &o), 1 + 1 + 3 + 1);
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 2), "house=2:(10,20]");
    planner_out_free(&o);
    pt_free(&p);
}

/* Work under way is joined where it overlaps, and not planned again. */
static void test_under_way_joined(void)
{
    pt p;
    CU_ASSERT_TRUE_FATAL(pt_init(&p, CLIMATE));
    int marker = 1;
    CU_ASSERT_EQUAL(planner_busy_push(&p.busy[0], (hs_interval){T0, T0 + HOUR}, &marker), HS_OK);
    CU_ASSERT_EQUAL(
        planner_busy_push(&p.busy[0], (hs_interval){T0 + 5 * HOUR, T0 + 6 * HOUR}, &marker), HS_OK);
    planner_out o;
    CU_ASSERT_TRUE(pt_plan(&p, T0, T0 + 2 * HOUR, HOUR, &o) > 0);
    /* The far job does not overlap: it is not joined. */
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 0), "join :(0,3600] :(-60,0] :(3600,7200]");
    CU_ASSERT_PTR_EQUAL(o.v[0].job, &marker);
    planner_out_free(&o);
    pt_free(&p);
}

/* Selectors, multi-output and plate creation: units of every kind get their jobs. */
static void test_kinds(void)
{
    pt p;
    CU_ASSERT_TRUE_FATAL(pt_init(&p, "id: kinds\n"
                                     "plates:\n"
                                     "  H:   {meta: house, values: [\"1\", \"2\"]}\n"
                                     "  H.R: {meta: room, parent: H, values: [kitchen, lounge]}\n"
                                     "  H.D: {meta: device, parent: H}\n"
                                     "inputs:\n"
                                     "  temp: {plates: [H.R]}\n"
                                     "  reading: {plates: [H]}\n"
                                     "  devices: {plates: [H]}\n"
                                     "  readings: {plates: [H]}\n"
                                     "factors:\n"
                                     "  - tool: index_of\n"
                                     "    params: {index: kitchen, selector_meta_data: room}\n"
                                     "    sources: [temp]\n"
                                     "    sink: temp_kitchen\n"
                                     "    plates: [H]\n"
                                     "    over: room\n"
                                     "  - tool: splitter_of_dict\n"
                                     "    params: {mapping: {k: kitchen, l: lounge}}\n"
                                     "    sources: [reading]\n"
                                     "    sink: per_room\n"
                                     "    plates: [H.R]\n"
                                     "  - tool: asset_plate_generator\n"
                                     "    sources: [devices]\n"
                                     "    output_plate: H.D\n"
                                     "  - tool: asset_splitter\n"
                                     "    sources: [readings]\n"
                                     "    sink: per_device\n"
                                     "    plates: [H.D]\n"));
    planner_out o;
    CU_ASSERT_TRUE(pt_plan(&p, T0, T0 + HOUR, HOUR, &o) > 0);
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 0), "house=1:(0,3600] house=2:(0,3600]");
    /* Multi-output runs per house, for both rooms' sinks. */
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 1), "house=1:(0,3600] house=2:(0,3600]");
    /* Plate creation has no sinks: always planned over the request. */
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 2), "house=1:(0,3600] house=2:(0,3600]");
    /* A split onto a plate with no values yet: nothing. */
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 3), "");
    planner_out_free(&o);
    /* Per-room sinks calculated for house=1 only: house=1's split is not planned again. */
    pt_set_calc(&p, "per_room/house=1/room=kitchen", (hs_interval){T0, T0 + HOUR});
    pt_set_calc(&p, "per_room/house=1/room=lounge", (hs_interval){T0, T0 + S(600)});
    CU_ASSERT_TRUE(pt_plan(&p, T0, T0 + HOUR, HOUR, &o) > 0);
    /* The intersection over its sinks counts: (600, 3600] is missing for house=1. */
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 1), "house=1:(600,3600] house=2:(0,3600]");
    planner_out_free(&o);
    pt_free(&p);
}

static const char DYN[] = "id: dyn\n"
                          "plates:\n"
                          "  H:   {meta: house, values: [\"1\", \"2\"]}\n"
                          "  H.R: {meta: room, parent: H}\n"
                          "factors:\n"
                          "  - tool: asset_plate_generator\n"
                          "    sources: [rooms]\n"
                          "    output_plate: H.R\n"
                          "  - tool: aggregate\n"
                          "    params: {func: mean}\n"
                          "    over: room\n"
                          "    sources: [temperature]\n"
                          "    sink: house_temp\n"
                          "    plates: [H]\n";

/*
 * A plate filled from data: before its values exist the aggregate has no
 * source, so it must wait for the plate-creation unit of its own house
 * (and not of the other house); once values are added, it reads them.
 */
static void test_data_generated_plate(void)
{
    pt p;
    CU_ASSERT_TRUE_FATAL(pt_init(&p, DYN));
    planner_out o;
    CU_ASSERT_EQUAL(pt_plan(&p, T0, T0 + HOUR, HOUR, &o), 4);
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 0), "house=1:(0,3600] house=2:(0,3600]");
    CU_ASSERT_STRING_EQUAL(pt_lines(&p, &o, 1), "house=1:(0,3600] house=2:(0,3600]");
    planner_out_free(&o);
    CU_ASSERT_EQUAL_FATAL(p.nunits[1], 2);
    CU_ASSERT_EQUAL(p.units[1][0].nsources, 0);
    planner_wf w = {p.wf, p.units, p.nunits, &p.producer};
    CU_ASSERT_TRUE(planner_waits_for_plate(&w, 1, 0, 0, 0));
    CU_ASSERT_FALSE(planner_waits_for_plate(&w, 1, 0, 0, 1));
    CU_ASSERT_TRUE(planner_waits_for_plate(&w, 1, 1, 0, 1));
    /* The plate creation waits for nothing; an aggregate never waits for itself. */
    CU_ASSERT_FALSE(planner_waits_for_plate(&w, 0, 0, 0, 0));
    CU_ASSERT_FALSE(planner_waits_for_plate(&w, 1, 0, 1, 0));
    /* The values arrive: the aggregate of house 1 reads its rooms. */
    char *vals[] = {"kitchen", "lounge"};
    CU_ASSERT_EQUAL(hs_workflow_add_dynamic(p.wf, 1, "house=1", vals, 2), HS_OK);
    CU_ASSERT_EQUAL_FATAL(pt_expand(&p), HS_OK);
    CU_ASSERT_EQUAL(p.units[1][0].nsources, 2);
    CU_ASSERT_EQUAL(p.units[1][1].nsources, 0);
    pt_free(&p);
}

/* Read ranges reach back by the lookback and never below the first instant. */
static void test_read_range(void)
{
    pt p;
    CU_ASSERT_TRUE_FATAL(pt_init(&p, CLIMATE));
    hs_interval r = planner_read_range(p.wf, 1, (hs_interval){T0, T0 + HOUR});
    CU_ASSERT_EQUAL(r.start, T0 - S(60));
    CU_ASSERT_EQUAL(r.end, T0 + HOUR);
    r = planner_read_range(p.wf, 0, (hs_interval){T0, T0 + HOUR});
    CU_ASSERT_EQUAL(r.start, T0);
    planner_out o;
    /* Bad arguments are refused. */
    CU_ASSERT_EQUAL(pt_plan(&p, T0, T0, HOUR, &o), -1);
    CU_ASSERT_EQUAL(pt_plan(&p, T0, T0 + 1, 0, &o), -1);
    pt_free(&p);
}

/* Members grouped into units: by count, by sources, a big member alone. */
static void test_group(void)
{
    hs_wf_unit m[7];
    memset(m, 0, sizeof m);
    size_t srcs[7] = {2, 2, 2, 2, 2, 9, 1};
    for (size_t i = 0; i < 7; i++)
        m[i].nsources = srcs[i];
    size_t first[8], nu;
    /* At most 3 per unit, any number of sources. */
    planner_group(m, 7, 3, 1000, first, &nu);
    CU_ASSERT_EQUAL_FATAL(nu, 3);
    CU_ASSERT_EQUAL(first[0], 0);
    CU_ASSERT_EQUAL(first[1], 3);
    CU_ASSERT_EQUAL(first[2], 6);
    CU_ASSERT_EQUAL(first[3], 7);
    /* At most 5 sources together: pairs of members; the one with 9 alone. */
    planner_group(m, 7, 100, 5, first, &nu);
    CU_ASSERT_EQUAL_FATAL(nu, 5);
    size_t want[] = {0, 2, 4, 5, 6, 7};
    for (size_t u = 0; u <= nu; u++)
        CU_ASSERT_EQUAL(first[u], want[u]);
    /* One per unit. */
    planner_group(m, 7, 1, 1000, first, &nu);
    CU_ASSERT_EQUAL_FATAL(nu, 7);
    for (size_t u = 0; u <= nu; u++)
        CU_ASSERT_EQUAL(first[u], u);
    /* No members, no units. */
    planner_group(m, 0, 3, 1000, first, &nu);
    CU_ASSERT_EQUAL(nu, 0);
    CU_ASSERT_EQUAL(first[0], 0);
}

HS_TEST_INIT(planner)
{
    HS_TEST_SUITE_BEGIN("planner");
    HS_TEST(test_lookback_and_nesting);
    HS_TEST(test_partly_calculated);
    HS_TEST(test_under_way_joined);
    HS_TEST(test_kinds);
    HS_TEST(test_data_generated_plate);
    HS_TEST(test_read_range);
    HS_TEST(test_group);
    return 0;
}
