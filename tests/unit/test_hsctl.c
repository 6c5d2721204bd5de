/*
 * Tests of hsctl's logic that needs no stack (services/hsctl/wfplan.c): the
 * plan of replacing a stored workflow by a new definition. Both workflows
 * are parsed from text as hsctl parses them; the expected plan is written
 * out by hand from what each edit changes.
 */
#include "test_suites.h"

#include "tools.h"
#include "wfplan.h"

#include "hs_error.h"
#include "hs_workflow.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

/* The climate workflow of the integration tests: windows -> room_temp -> house_temp. */
#define CLIMATE_HEAD                                                                               \
    "id: climate\n"                                                                                \
    "job_span: 10m\n"                                                                              \
    "plates:\n"                                                                                    \
    "  H:   {meta: house, values: [\"1\", \"2\"]}\n"                                               \
    "  H.R: {meta: room, parent: H, values: [kitchen, lounge]}\n"                                  \
    "factors:\n"                                                                                   \
    "  - tool: sliding_window\n"                                                                   \
    "    params: {width: 60s, increment: 60s}\n"                                                   \
    "    sink: windows\n"

static const char *climate(const char *func)
{
    static char buf[2048];
    snprintf(buf, sizeof buf,
             CLIMATE_HEAD "  - tool: sliding_apply\n"
                          "    params: {func: %s}\n"
                          "    sources: [windows, temperature]\n"
                          "    sink: room_temp\n"
                          "    plates: [H.R]\n"
                          "  - tool: aggregate\n"
                          "    params: {func: mean}\n"
                          "    over: room\n"
                          "    sources: [room_temp]\n"
                          "    sink: house_temp\n"
                          "    plates: [H]\n",
             func);
    return buf;
}

static hs_tool_registry *g_reg;

/* Parses text (fatal on failure); the caller destroys the workflow. */
static hs_workflow *parse(const char *text)
{
    if (g_reg == NULL) {
        CU_ASSERT_EQUAL_FATAL(hs_tool_registry_create(&g_reg), HS_OK);
        CU_ASSERT_EQUAL_FATAL(hs_builtin_tools_register(g_reg), HS_OK);
    }
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_workflow *wf = NULL;
    int rc = hs_workflow_parse(text, strlen(text), "wf.yaml", g_reg, &wf, &err);
    if (rc != HS_OK)
        fprintf(stderr, "\nworkflow errors:\n%s\n", hs_buf_cstr(&err));
    hs_buf_free(&err);
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    return wf;
}

/* Plans stored -> next from their texts into *p (fatal on failure). */
static void plan(const char *stored, const char *next, hsctl_wfplan *p)
{
    hs_workflow *a = parse(stored), *b = parse(next);
    HS_REQUIRE(a);
    HS_REQUIRE(b);
    CU_ASSERT_EQUAL_FATAL(hsctl_wfplan_compute(a, b, p), HS_OK);
    /* Items borrow from the workflows: keep copies of what the tests read. */
    static char nodes[16][64];
    for (size_t i = 0; i < p->n && i < 16; i++) {
        snprintf(nodes[i], sizeof nodes[i], "%s", p->items[i].node);
        p->items[i].node = nodes[i];
        p->items[i].tool = "";
        p->items[i].hash = "";
    }
    CU_ASSERT_TRUE_FATAL(p->n <= 16);
    hs_workflow_destroy(a);
    hs_workflow_destroy(b);
}

/* The same text again: nothing to do. */
static void test_same(void)
{
    hsctl_wfplan p;
    char text[2048];
    snprintf(text, sizeof text, "%s", climate("mean"));
    plan(text, climate("mean"), &p);
    CU_ASSERT_TRUE(p.same_text);
    CU_ASSERT_EQUAL(p.n, 0);
    CU_ASSERT_EQUAL(p.nchanged + p.nremoved + p.nadded, 0);
    hsctl_wfplan_free(&p);
}

/* Another text with the same bindings (a comment): changed text, nothing purged. */
static void test_comment_only(void)
{
    hsctl_wfplan p;
    char text[2100];
    snprintf(text, sizeof text, "# the climate of two houses\n%s", climate("mean"));
    plan(text, climate("mean"), &p);
    CU_ASSERT_FALSE(p.same_text);
    CU_ASSERT_EQUAL(p.n, 0);
    hsctl_wfplan_free(&p);
}

/* A parameter change changes that factor and what reads it, not what it reads. */
static void test_param_change_goes_downstream(void)
{
    hsctl_wfplan p;
    char text[2048];
    snprintf(text, sizeof text, "%s", climate("mean"));
    plan(text, climate("max"), &p);
    CU_ASSERT_FALSE(p.same_text);
    CU_ASSERT_EQUAL_FATAL(p.n, 2);
    CU_ASSERT_EQUAL(p.nchanged, 2);
    CU_ASSERT_EQUAL(p.nremoved, 0);
    CU_ASSERT_EQUAL(p.nadded, 0);
    /* Upstream first. */
    CU_ASSERT_STRING_EQUAL(p.items[0].node, "room_temp");
    CU_ASSERT_STRING_EQUAL(p.items[1].node, "house_temp");
    CU_ASSERT_EQUAL(p.items[0].what, HSCTL_WFPLAN_CHANGED);
    CU_ASSERT_EQUAL(p.items[1].what, HSCTL_WFPLAN_CHANGED);
    CU_ASSERT_FALSE(p.items[0].plate_creation);
    hsctl_wfplan_free(&p);
}

/* A factor dropped and another added: one removed, one added, the rest untouched. */
static void test_removed_and_added(void)
{
    hsctl_wfplan p;
    char stored[2048];
    snprintf(stored, sizeof stored, "%s", climate("mean"));
    const char *next = CLIMATE_HEAD "  - tool: sliding_apply\n"
                                    "    params: {func: mean}\n"
                                    "    sources: [windows, temperature]\n"
                                    "    sink: room_temp\n"
                                    "    plates: [H.R]\n"
                                    "  - tool: sliding_apply\n"
                                    "    params: {func: max}\n"
                                    "    sources: [windows, temperature]\n"
                                    "    sink: room_max\n"
                                    "    plates: [H.R]\n";
    plan(stored, next, &p);
    CU_ASSERT_EQUAL_FATAL(p.n, 2);
    CU_ASSERT_EQUAL(p.nchanged, 0);
    CU_ASSERT_EQUAL(p.nremoved, 1);
    CU_ASSERT_EQUAL(p.nadded, 1);
    CU_ASSERT_EQUAL(p.items[0].what, HSCTL_WFPLAN_REMOVED);
    CU_ASSERT_STRING_EQUAL(p.items[0].node, "house_temp");
    CU_ASSERT_EQUAL(p.items[1].what, HSCTL_WFPLAN_ADDED);
    CU_ASSERT_STRING_EQUAL(p.items[1].node, "room_max");
    hsctl_wfplan_free(&p);
}

/* The same factor on another plate writes other streams: changed. */
static void test_plate_change(void)
{
    const char *a = "id: w\n"
                    "plates:\n"
                    "  H: {meta: house, values: [\"1\"]}\n"
                    "  D: {meta: dev, values: [\"1\"]}\n"
                    "factors:\n"
                    "  - tool: apply\n"
                    "    params: {func: neg}\n"
                    "    sources: [vals]\n"
                    "    sink: negated\n"
                    "    plates: [H]\n";
    char b[1024];
    snprintf(b, sizeof b, "%s", a);
    char *at = strstr(b, "plates: [H]");
    HS_REQUIRE(at);
    at[9] = 'D';
    hsctl_wfplan p;
    plan(a, b, &p);
    CU_ASSERT_EQUAL_FATAL(p.n, 1);
    CU_ASSERT_EQUAL(p.items[0].what, HSCTL_WFPLAN_CHANGED);
    CU_ASSERT_STRING_EQUAL(p.items[0].node, "negated");
    hsctl_wfplan_free(&p);
}

/* NULL arguments are refused and leave an empty plan; freeing twice is harmless. */
static void test_null(void)
{
    hsctl_wfplan p;
    hs_workflow *wf = parse(climate("mean"));
    CU_ASSERT_EQUAL(hsctl_wfplan_compute(NULL, wf, &p), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(p.n, 0);
    CU_ASSERT_PTR_NULL(p.items);
    CU_ASSERT_EQUAL(hsctl_wfplan_compute(wf, NULL, &p), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hsctl_wfplan_compute(wf, wf, NULL), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hsctl_wfplan_compute(wf, wf, &p), HS_OK);
    CU_ASSERT_TRUE(p.same_text);
    hsctl_wfplan_free(&p);
    hsctl_wfplan_free(&p);
    hsctl_wfplan_free(NULL);
    CU_ASSERT_STRING_EQUAL(hsctl_wfplan_what_name(HSCTL_WFPLAN_REMOVED), "removed");
    hs_workflow_destroy(wf);
    hs_tool_registry_destroy(g_reg);
    g_reg = NULL;
}

HS_TEST_INIT(hsctl)
{
    HS_TEST_SUITE_BEGIN("hsctl");
    HS_TEST(test_same);
    HS_TEST(test_comment_only);
    HS_TEST(test_param_change_goes_downstream);
    HS_TEST(test_removed_and_added);
    HS_TEST(test_plate_change);
    HS_TEST(test_null);
    return 0;
}
