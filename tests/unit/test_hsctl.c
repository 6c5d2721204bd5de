/*
 * Tests of hsctl's logic that needs no stack (services/hsctl/wfplan.c): the
 * plan of replacing a stored workflow by a new definition. Both workflows
 * are parsed from text as hsctl parses them; the expected plan is written
 * out by hand from what each edit changes.
 */
#include "test_suites.h"

#include "cli.h"
#include "tools.h"
#include "wfplan.h"

#include "hs_json.h"
#include "hs_mpack.h"

#include "hs_error.h"
#include "hs_workflow.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ---- cli.c: the command table, tables, CSV, durations ---- */

/* Every verb hsctl runs is in the table, in hsctl --help, and has a help of its own. */
static void test_cli_help_lists_every_verb(void)
{
    const char *expected[] = {"up",       "down",    "status", "pub",       "sub",  "stream",
                              "workflow", "compute", "jobs",   "session",   "meta", "tool",
                              "ctl",      "top",     "help",   "completion"};
    size_t n = 0;
    const hsctl_cli_verb *v = hsctl_cli_verbs(&n);
    CU_ASSERT_EQUAL(n, sizeof expected / sizeof expected[0]);
    hs_buf help;
    hs_buf_init(&help, 0);
    CU_ASSERT_EQUAL_FATAL(hsctl_cli_help(&help), HS_OK);
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const hsctl_cli_verb *f = hsctl_cli_verb_find(expected[i]);
        CU_ASSERT_PTR_NOT_NULL(f);
        char line[64];
        snprintf(line, sizeof line, "\n  %s", expected[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&help), line));
        if (f == NULL)
            continue;
        hs_buf vh;
        hs_buf_init(&vh, 0);
        CU_ASSERT_EQUAL(hsctl_cli_verb_help(f, &vh), HS_OK);
        /* Each command's usage line and options are in the verb's help. */
        for (const hsctl_cli_cmd *c = f->cmds; c->summary != NULL; c++) {
            char use[128];
            snprintf(use, sizeof use, "hsctl %s%s%s", f->name, c->name ? " " : "",
                     c->name ? c->name : "");
            CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&vh), use));
            if (c->opts[0] != '\0')
                CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&vh), c->opts));
        }
        hs_buf_free(&vh);
    }
    CU_ASSERT_PTR_NULL(hsctl_cli_verb_find("strem"));
    CU_ASSERT_PTR_NOT_NULL(hsctl_cli_cmd_find(&v[5], "intervals"));
    CU_ASSERT_PTR_NULL(hsctl_cli_cmd_find(&v[5], "gett"));
    /* The listing commands take --json. */
    const char *listing[][2] = {{"stream", "ls"}, {"stream", "intervals"}, {"workflow", "ls"},
                                {"tool", "ls"},   {"jobs", NULL},          {"status", NULL}};
    for (size_t i = 0; i < sizeof listing / sizeof listing[0]; i++) {
        const hsctl_cli_verb *f = hsctl_cli_verb_find(listing[i][0]);
        HS_REQUIRE(f);
        const hsctl_cli_cmd *c = listing[i][1] ? hsctl_cli_cmd_find(f, listing[i][1]) : f->cmds;
        HS_REQUIRE(c);
        CU_ASSERT_PTR_NOT_NULL(strstr(c->opts, "--json"));
    }
    hs_buf_free(&help);
}

/* The exit codes are distinct where they must be, and all listed in the help's footer. */
static void test_cli_exit_codes(void)
{
    CU_ASSERT_EQUAL(HSCTL_OK, 0);
    CU_ASSERT_EQUAL(HSCTL_USER, 1);
    CU_ASSERT_EQUAL(HSCTL_SYSTEM, 2);
    CU_ASSERT_EQUAL(HSCTL_USAGE, 2);
    CU_ASSERT_EQUAL(HSCTL_TIMEOUT, 3);
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(hsctl_cli_help(&b), HS_OK);
    const char *footer = strstr(hs_buf_cstr(&b), "Exit codes:\n");
    HS_REQUIRE(footer);
    int codes[] = {HSCTL_OK, HSCTL_USER, HSCTL_SYSTEM, HSCTL_TIMEOUT};
    for (size_t i = 0; i < 4; i++) {
        char line[16];
        snprintf(line, sizeof line, "\n  %d  ", codes[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(footer, line));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(footer, "timeout"));
    hs_buf_free(&b);
}

/* A typo gets the nearest name; something far from every name gets none. */
static void test_cli_suggest(void)
{
    const hsctl_cli_verb *s = hsctl_cli_verb_find("stream");
    HS_REQUIRE(s);
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hsctl_cli_unknown(s, "gett", &b), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b),
                           "hsctl stream: unknown command 'gett' (did you mean 'get'?)\n"
                           "commands: ls, get, intervals, invalidate, purge\n"
                           "(hsctl help stream tells more)\n");
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hsctl_cli_unknown(s, "zzzzzzzz", &b), HS_OK);
    CU_ASSERT_PTR_NULL(strstr(hs_buf_cstr(&b), "did you mean"));
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hsctl_cli_unknown(NULL, "wrokflow", &b), HS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&b), "unknown verb 'wrokflow' (did you mean "
                                                   "'workflow'?)"));
    hs_buf_free(&b);
    const char *names[] = {"ls", "get", "intervals", "invalidate", "purge"};
    CU_ASSERT_STRING_EQUAL(hsctl_cli_suggest("interval", names, 5), "intervals");
    CU_ASSERT_STRING_EQUAL(hsctl_cli_suggest("purg", names, 5), "purge");
    CU_ASSERT_STRING_EQUAL(hsctl_cli_suggest("sl", names, 5), "ls");
    CU_ASSERT_PTR_NULL(hsctl_cli_suggest("compute", names, 5));
}

/* Columns are as wide as their widest cell: a long id moves the next column, not the rows. */
static void test_table_sizing(void)
{
    const char *heads[3] = {"ID", "COUNT", "NOTE"};
    hsctl_table t;
    CU_ASSERT_EQUAL_FATAL(hsctl_table_init(&t, 3, heads, "lrl"), HS_OK);
    const char *r1[3] = {"a", "5", "x"};
    const char *r2[3] = {"a/very/long/stream/id=with/many/parts", "12345", NULL};
    CU_ASSERT_EQUAL(hsctl_table_add(&t, r1), HS_OK);
    CU_ASSERT_EQUAL(hsctl_table_add(&t, r2), HS_OK);
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hsctl_table_flush(&t, &b), HS_OK);
    size_t w = strlen(r2[0]);
    char want[512];
    snprintf(want, sizeof want, "%-*s  COUNT  NOTE\n%-*s      5  x\n%s  12345  -\n", (int)w, "ID",
             (int)w, "a", r2[0]);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), want);
    /* Every line has its second column at the same place. */
    const char *line = hs_buf_cstr(&b);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(line[w], ' ');
        CU_ASSERT_EQUAL(line[w + 1], ' ');
        line = strchr(line, '\n') + 1;
    }
    /* A later block keeps the widths; a multi-byte character counts as one. */
    const char *r3[3] = {"b", "1", "\xc3\xa9t\xc3\xa9"};
    CU_ASSERT_EQUAL(hsctl_table_add(&t, r3), HS_OK);
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hsctl_table_flush(&t, &b), HS_OK);
    snprintf(want, sizeof want, "%-*s      1  \xc3\xa9t\xc3\xa9\n", (int)w, "b");
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), want);
    hsctl_table_free(&t);
    hsctl_table_free(&t);
    hs_buf_free(&b);
    CU_ASSERT_EQUAL(hsctl_table_init(&t, 0, heads, NULL), HS_ERR_INVAL);
}

/* Parses one RFC 4180 record (no CR/LF outside quotes) into fields; returns their number. */
static size_t csv_parse(const char *s, char fields[4][256])
{
    size_t n = 0, k = 0;
    bool quoted = false;
    for (const char *p = s;; p++) {
        if (quoted) {
            if (*p == '"' && p[1] == '"') {
                fields[n][k++] = '"';
                p++;
            } else if (*p == '"') {
                quoted = false;
            } else {
                fields[n][k++] = *p;
            }
        } else if (*p == '"') {
            quoted = true;
        } else if (*p == ',' || *p == '\0') {
            fields[n][k] = '\0';
            n++;
            k = 0;
            if (*p == '\0' || n == 4)
                return n;
        } else {
            fields[n][k++] = *p;
        }
    }
}

/* CSV: a text value is its text (quoted only when needed); maps and arrays are JSON. */
static void test_csv_values(void)
{
    hs_buf mp, out;
    hs_buf_init(&mp, 0);
    hs_buf_init(&out, 0);
    const char *text = "a,b \"quoted\"";
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&mp, text), HS_OK);
    CU_ASSERT_EQUAL(hsctl_value_text(&out, mp.data, mp.len, true), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out), "\"a,b \"\"quoted\"\"\"");
    char f[4][256];
    CU_ASSERT_EQUAL(csv_parse(hs_buf_cstr(&out), f), 1);
    CU_ASSERT_STRING_EQUAL(f[0], text);
    /* Plain text is not quoted; as text for a table, it is the text itself. */
    hs_buf_reset(&mp);
    hs_buf_reset(&out);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&mp, "on"), HS_OK);
    CU_ASSERT_EQUAL(hsctl_value_text(&out, mp.data, mp.len, true), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out), "on");
    /* A map: its JSON text in one quoted field that reads back as the same JSON. */
    hs_buf_reset(&mp);
    hs_buf_reset(&out);
    const char *json = "{\"temp\":21.5,\"tags\":[\"a\",\"b\"]}";
    CU_ASSERT_EQUAL(hs_json_to_mpack(json, strlen(json), &mp), HS_OK);
    CU_ASSERT_EQUAL(hsctl_value_text(&out, mp.data, mp.len, true), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_cstr(&out)[0], '"');
    CU_ASSERT_EQUAL(csv_parse(hs_buf_cstr(&out), f), 1);
    CU_ASSERT_STRING_EQUAL(f[0], json);
    /* An array without a comma is quoted all the same. */
    hs_buf_reset(&mp);
    hs_buf_reset(&out);
    CU_ASSERT_EQUAL(hs_json_to_mpack("[1]", 3, &mp), HS_OK);
    CU_ASSERT_EQUAL(hsctl_value_text(&out, mp.data, mp.len, true), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out), "\"[1]\"");
    /* Numbers in full: the text reads back as the same double. */
    double vals[] = {0.1, 1.0 / 3.0, 21.5, 123456.789012345, -2.5e-300};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        hs_buf_reset(&mp);
        hs_buf_reset(&out);
        CU_ASSERT_EQUAL(hs_mp_put_double(&mp, vals[i]), HS_OK);
        CU_ASSERT_EQUAL(hsctl_value_text(&out, mp.data, mp.len, false), HS_OK);
        CU_ASSERT_EQUAL(strtod(hs_buf_cstr(&out), NULL), vals[i]);
    }
    /* nil: an empty CSV field, "null" as text; booleans as words. */
    hs_buf_reset(&mp);
    hs_buf_reset(&out);
    CU_ASSERT_EQUAL(hs_mp_put_nil(&mp), HS_OK);
    CU_ASSERT_EQUAL(hsctl_value_text(&out, mp.data, mp.len, true), HS_OK);
    CU_ASSERT_EQUAL(out.len, 0);
    CU_ASSERT_EQUAL(hsctl_value_text(&out, mp.data, mp.len, false), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out), "null");
    hs_buf_reset(&mp);
    hs_buf_reset(&out);
    CU_ASSERT_EQUAL(hs_mp_put_bool(&mp, true), HS_OK);
    CU_ASSERT_EQUAL(hsctl_value_text(&out, mp.data, mp.len, true), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out), "true");
    /* A truncated value is an error, not text. */
    hs_buf_reset(&mp);
    hs_buf_reset(&out);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&mp, "hello"), HS_OK);
    CU_ASSERT_NOT_EQUAL(hsctl_value_text(&out, mp.data, mp.len - 2, true), HS_OK);
    /* Fields: CR and LF are quoted too; always_quote quotes anything. */
    hs_buf_reset(&out);
    CU_ASSERT_EQUAL(hsctl_csv_field(&out, "a\nb", 3, false), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out), "\"a\nb\"");
    hs_buf_reset(&out);
    CU_ASSERT_EQUAL(hsctl_csv_field(&out, "x", 1, true), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out), "\"x\"");
    hs_buf_free(&mp);
    hs_buf_free(&out);
}

/* Durations: under a second is not "0s"; larger ones in minutes and hours. */
static void test_fmt_seconds(void)
{
    char b[HSCTL_SECONDS_MAX];
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_seconds(0.42, b), "0.42s");
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_seconds(0.004, b), "0.00s");
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_seconds(3.14159, b), "3.14s");
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_seconds(42.06, b), "42.1s");
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_seconds(725, b), "12m05s");
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_seconds(3 * 3600 + 7 * 60, b), "3h07m");
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_seconds(-1, b), "0.00s");
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_seconds(NAN, b), "0.00s");
}

/* Shell quoting: what a shell would split or expand is single-quoted. */
static void test_shell_quote(void)
{
    const char *cases[][2] = {{"/tmp/hs-data", "/tmp/hs-data"},
                              {"/tmp/my data", "'/tmp/my data'"},
                              {"it's", "'it'\\''s'"},
                              {"$HOME", "'$HOME'"},
                              {"", "''"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hs_buf b;
        hs_buf_init(&b, 0);
        CU_ASSERT_EQUAL(hsctl_shell_quote(&b, cases[i][0]), HS_OK);
        CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), cases[i][1]);
        hs_buf_free(&b);
    }
}

/* Counts for a person: thousands apart by commas. */
static void test_fmt_count(void)
{
    char b[HSCTL_COUNT_MAX];
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_count(0, b), "0");
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_count(999, b), "999");
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_count(1000, b), "1,000");
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_count(299000, b), "299,000");
    CU_ASSERT_STRING_EQUAL(hsctl_fmt_count(UINT64_MAX, b), "18,446,744,073,709,551,615");
}

/* A glob's literal start narrows the listing; an argument without glob characters is a prefix. */
static void test_glob_literal(void)
{
    CU_ASSERT_FALSE(hsctl_is_glob("temp/dev=1"));
    CU_ASSERT_TRUE(hsctl_is_glob("temp/*"));
    CU_ASSERT_TRUE(hsctl_is_glob("t?mp"));
    CU_ASSERT_TRUE(hsctl_is_glob("temp/dev=[12]"));
    CU_ASSERT_EQUAL(hsctl_glob_literal("temp/*"), 5);
    CU_ASSERT_EQUAL(hsctl_glob_literal("*/dev=12*"), 0);
    CU_ASSERT_EQUAL(hsctl_glob_literal("temp_1m/dev=1?/*"), 13);
    CU_ASSERT_EQUAL(hsctl_glob_literal("a\\*b"), 1);
}

/* Streams summed by name, in any order: counts, kinds and the covering span per name. */
static void test_summary(void)
{
    hsctl_summary s;
    hsctl_summary_init(&s);
    hs_intervals a, b;
    hs_intervals_init(&a);
    hs_intervals_init(&b);
    CU_ASSERT_EQUAL(hs_intervals_add(&a, (hs_interval){100, 200}), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_add(&b, (hs_interval){50, 150}), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_add(&b, (hs_interval){300, 400}), HS_OK);
    CU_ASSERT_EQUAL(hsctl_summary_add(&s, "temp/dev=1", 1, 3, &a), HS_OK);
    CU_ASSERT_EQUAL(hsctl_summary_add(&s, "hum/dev=1", 0, 5, NULL), HS_OK);
    CU_ASSERT_EQUAL(hsctl_summary_add(&s, "temp/dev=2", 0, 4, &b), HS_OK);
    CU_ASSERT_EQUAL(hsctl_summary_add(&s, "temp", 0, 1, NULL), HS_OK);
    hsctl_summary_sort(&s);
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(s.rows[0].name, "hum");
    CU_ASSERT_EQUAL(s.rows[0].streams, 1);
    CU_ASSERT_EQUAL(s.rows[0].instances, 5);
    CU_ASSERT_FALSE(s.rows[0].have_span);
    CU_ASSERT_STRING_EQUAL(s.rows[1].name, "temp");
    CU_ASSERT_EQUAL(s.rows[1].streams, 3);
    CU_ASSERT_EQUAL(s.rows[1].instances, 8);
    CU_ASSERT_EQUAL(s.rows[1].kinds[0], 2);
    CU_ASSERT_EQUAL(s.rows[1].kinds[1], 1);
    CU_ASSERT_TRUE(s.rows[1].have_span);
    CU_ASSERT_EQUAL(s.rows[1].span.start, 50);
    CU_ASSERT_EQUAL(s.rows[1].span.end, 400);
    hs_intervals_free(&a);
    hs_intervals_free(&b);
    hsctl_summary_free(&s);
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
    HS_TEST(test_cli_help_lists_every_verb);
    HS_TEST(test_cli_exit_codes);
    HS_TEST(test_cli_suggest);
    HS_TEST(test_table_sizing);
    HS_TEST(test_csv_values);
    HS_TEST(test_fmt_seconds);
    HS_TEST(test_shell_quote);
    HS_TEST(test_fmt_count);
    HS_TEST(test_glob_literal);
    HS_TEST(test_summary);
    return 0;
}
