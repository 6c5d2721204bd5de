/*
 * Tests of hs_schemaset: which entries apply to a stream (topic filters with
 * '+' and '#' over canonical stream ids), that a reading must pass every
 * matching entry, replacing one origin's entries all or nothing (a
 * workflow's), and the file:line errors of lists, in text and in files.
 */
#include "test_suites.h"

#include "hs_arena.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_schemaset.h"
#include "hs_yaml.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Adds the YAML list text to set from origin; returns the error text ("" on success). */
static const char *add_text(hs_schemaset *set, const char *text, const char *origin)
{
    static char out[1024];
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_ynode *root = NULL;
    int rc = hs_yaml_parse(text, strlen(text), "list.yaml", &root, &err);
    if (rc == HS_OK)
        rc = hs_schemaset_add_ynode(set, root, origin, NULL, &err);
    snprintf(out, sizeof out, "%s", rc == HS_OK ? "" : hs_buf_cstr(&err));
    hs_yaml_destroy(root);
    hs_buf_free(&err);
    return out;
}

/* Checks the JSON value text for stream sid; returns the message ("" when it passes). */
static const char *check(hs_schemaset *set, const char *sid, const char *json)
{
    static char out[1024];
    hs_buf mp, why;
    hs_buf_init(&mp, 0);
    hs_buf_init(&why, 0);
    CU_ASSERT_EQUAL_FATAL(hs_json_to_mpack(json, strlen(json), &mp), HS_OK);
    int rc = hs_schemaset_check(set, sid, mp.data, mp.len, &why);
    CU_ASSERT(rc == HS_OK || rc == HS_ERR_SCHEMA);
    snprintf(out, sizeof out, "%s", rc == HS_OK ? "" : hs_buf_cstr(&why));
    hs_buf_free(&mp);
    hs_buf_free(&why);
    return out;
}

static void test_schemaset_patterns(void)
{
    hs_schemaset *set = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_schemaset_create(&set), HS_OK);
    CU_ASSERT_STRING_EQUAL(add_text(set,
                                    "- {stream: temperature/#, schema: {type: number}}\n"
                                    "- {stream: +/house=1, schema: {type: integer}}\n"
                                    "- {stream: door/+/room=hall, schema: {type: string}}\n",
                                    "config"),
                           "");
    CU_ASSERT_EQUAL(hs_schemaset_count(set), 3);
    /* '#' matches the name alone and every meta-data after it. */
    CU_ASSERT(hs_schemaset_applies(set, "temperature"));
    CU_ASSERT(hs_schemaset_applies(set, "temperature/house=2/room=kitchen"));
    CU_ASSERT_FALSE(hs_schemaset_applies(set, "temperatures/house=2"));
    /* '+' is one level exactly. */
    CU_ASSERT(hs_schemaset_applies(set, "humidity/house=1"));
    CU_ASSERT_FALSE(hs_schemaset_applies(set, "humidity/house=1/room=hall"));
    CU_ASSERT_FALSE(hs_schemaset_applies(set, "humidity/house=2"));
    CU_ASSERT(hs_schemaset_applies(set, "door/house=3/room=hall"));
    CU_ASSERT_FALSE(hs_schemaset_applies(set, "door/room=hall"));
    CU_ASSERT_STRING_EQUAL(check(set, "humidity/house=2", "\"anything\""), "");
    CU_ASSERT_STRING_EQUAL(check(set, "door/house=3/room=hall", "7"),
                           "schema 'door/+/room=hall' (config): /v: 7 is not of type string");
    /* Invalid filters are refused. */
    CU_ASSERT_FALSE(hs_schemaset_pattern_valid("a/b#"));
    CU_ASSERT_FALSE(hs_schemaset_pattern_valid("a/#/b"));
    CU_ASSERT_FALSE(hs_schemaset_pattern_valid("a+/b"));
    CU_ASSERT_FALSE(hs_schemaset_pattern_valid(""));
    CU_ASSERT(hs_schemaset_pattern_valid("+/+/#"));
    hs_schemaset_destroy(set);
}

static void test_schemaset_all_must_pass(void)
{
    hs_schemaset *set = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_schemaset_create(&set), HS_OK);
    CU_ASSERT_STRING_EQUAL(
        add_text(set,
                 "- {stream: temperature/#, schema: {type: number, maximum: 100}}\n"
                 "- {stream: +/house=1, schema: {type: integer}}\n",
                 "config"),
        "");
    const char *sid = "temperature/house=1";
    CU_ASSERT_STRING_EQUAL(check(set, sid, "42"), "");
    /* Passes the first, fails the second: the second is reported. */
    CU_ASSERT_STRING_EQUAL(check(set, sid, "21.5"),
                           "schema '+/house=1' (config): /v: 21.5 is not of type integer");
    /* Fails both: the first is reported. */
    CU_ASSERT_STRING_EQUAL(
        check(set, sid, "120.5"),
        "schema 'temperature/#' (config): /v: 120.5 is greater than maximum 100");
    /* Only the first applies to house 2. */
    CU_ASSERT_STRING_EQUAL(check(set, "temperature/house=2", "21.5"), "");
    hs_schemaset_destroy(set);
}

/* Replaces origin's entries by the msgpack list of the JSON text; returns the error text. */
static const char *replace_json(hs_schemaset *set, const char *origin, const char *json)
{
    static char out[1024];
    hs_buf mp, err;
    hs_buf_init(&mp, 0);
    hs_buf_init(&err, 0);
    CU_ASSERT_EQUAL_FATAL(hs_json_to_mpack(json, strlen(json), &mp), HS_OK);
    hs_proto_schemas_msg m;
    int rc = hs_proto_schemas_from_list(&m, "w", mp.data, mp.len);
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    const char *pat[8];
    const hs_value *sch[8];
    CU_ASSERT_FATAL(m.s.n <= 8);
    for (size_t i = 0; i < m.s.n; i++) {
        pat[i] = m.s.entries[i].stream;
        sch[i] = m.s.entries[i].schema;
    }
    rc = hs_schemaset_replace(set, origin, pat, sch, m.s.n, &err);
    snprintf(out, sizeof out, "%s", rc == HS_OK ? "" : hs_buf_cstr(&err));
    hs_proto_schemas_msg_free(&m);
    hs_buf_free(&mp);
    hs_buf_free(&err);
    return out;
}

static void test_schemaset_replace(void)
{
    hs_schemaset *set = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_schemaset_create(&set), HS_OK);
    CU_ASSERT_STRING_EQUAL(add_text(set, "- {stream: a/#, schema: {type: number}}\n", "config"),
                           "");
    CU_ASSERT_STRING_EQUAL(
        replace_json(set, "workflow w",
                     "[{\"stream\": \"a/#\", \"schema\": {\"minimum\": 0}},"
                     " {\"stream\": \"b/#\", \"schema\": {\"type\": \"string\"}}]"),
        "");
    CU_ASSERT_EQUAL(hs_schemaset_count(set), 3);
    CU_ASSERT_STRING_EQUAL(check(set, "a/x=1", "-1"),
                           "schema 'a/#' (workflow w): /v: -1 is less than minimum 0");
    CU_ASSERT_STRING_EQUAL(check(set, "b", "1"),
                           "schema 'b/#' (workflow w): /v: 1 is not of type string");
    /* A new list replaces the old one entirely. */
    CU_ASSERT_STRING_EQUAL(
        replace_json(set, "workflow w", "[{\"stream\": \"c/#\", \"schema\": false}]"), "");
    CU_ASSERT_EQUAL(hs_schemaset_count(set), 2);
    CU_ASSERT_STRING_EQUAL(check(set, "a/x=1", "-1"), "");
    CU_ASSERT_STRING_EQUAL(check(set, "b", "1"), "");
    CU_ASSERT_STRING_NOT_EQUAL(check(set, "c", "1"), "");
    /* An invalid list changes nothing and says which entry is wrong. */
    CU_ASSERT_STRING_EQUAL(replace_json(set, "workflow w",
                                        "[{\"stream\": \"d/#\", \"schema\": true},"
                                        " {\"stream\": \"e/#\", \"schema\": {\"maximun\": 3}}]"),
                           "entry 2 (stream 'e/#'): schema: /maximun: unknown keyword 'maximun' "
                           "(see docs/SCHEMAS.md)");
    CU_ASSERT_STRING_EQUAL(
        replace_json(set, "workflow w", "[{\"stream\": \"d#\", \"schema\": true}]"),
        "entry 1 (stream 'd#'): stream must be a stream id pattern ('temperature/#', "
        "'+/house=1'; '+' and '#' only as whole levels, '#' last)");
    CU_ASSERT_EQUAL(hs_schemaset_count(set), 2);
    CU_ASSERT_STRING_NOT_EQUAL(check(set, "c", "1"), "");
    CU_ASSERT_FALSE(hs_schemaset_applies(set, "d"));
    /* Nothing: the origin's entries go, the others stay. */
    CU_ASSERT_EQUAL(hs_schemaset_replace(set, "workflow w", NULL, NULL, 0, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_schemaset_count(set), 1);
    CU_ASSERT_STRING_EQUAL(check(set, "a", "\"x\""),
                           "schema 'a/#' (config): /v: \"x\" is not of type number");
    hs_schemaset_destroy(set);
}

static void test_schemaset_errors_at_lines(void)
{
    hs_schemaset *set = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_schemaset_create(&set), HS_OK);
    CU_ASSERT_STRING_EQUAL(add_text(set,
                                    "# comment\n"
                                    "- stream: a/#\n"
                                    "  schema:\n"
                                    "    type: object\n"
                                    "    properties:\n"
                                    "      x: {minimum: 1, maxmum: 2}\n",
                                    "config"),
                           "list.yaml:6:31: schema: /properties/x/maxmum: unknown keyword "
                           "'maxmum' (see docs/SCHEMAS.md)");
    CU_ASSERT_STRING_EQUAL(add_text(set, "- {stream: a/#}\n", "config"),
                           "list.yaml:1:3: an entry is {stream: PATTERN, schema: SCHEMA} and "
                           "nothing else");
    CU_ASSERT_STRING_EQUAL(add_text(set,
                                    "- {stream: a/#, schema: true}\n- {stream: 'b/#/c', "
                                    "schema: true}\n",
                                    "config"),
                           "list.yaml:2:12: stream must be a stream id pattern ('temperature/#', "
                           "'+/house=1'; '+' and '#' only as whole levels, '#' last)");
    /* A file name where files are not allowed (a workflow's list). */
    CU_ASSERT_STRING_EQUAL(add_text(set, "- {stream: a/#, schema: a.json}\n", "config"),
                           "list.yaml:1:25: schema must be a JSON Schema (an object or a "
                           "boolean); files are not allowed here");
    /* Nothing was added by the failures. */
    CU_ASSERT_EQUAL(hs_schemaset_count(set), 0);

    /* A list file with a schema file next to it, and an error in that file. */
    char dir[] = "/tmp/hs-test-schemaset-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char list[256], sfile[256];
    snprintf(list, sizeof list, "%s/list.yaml", dir);
    snprintf(sfile, sizeof sfile, "%s/t.json", dir);
    FILE *f = fopen(list, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("- stream: t/#\n  schema: t.json\n", f);
    fclose(f);
    f = fopen(sfile, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"type\": \"number\"}\n", f);
    fclose(f);
    hs_buf err;
    hs_buf_init(&err, 0);
    CU_ASSERT_EQUAL(hs_schemaset_load_file(set, list, "config", &err), HS_OK);
    CU_ASSERT_EQUAL(hs_schemaset_count(set), 1);
    CU_ASSERT_STRING_EQUAL(check(set, "t", "\"x\""),
                           "schema 't/#' (config): /v: \"x\" is not of type number");
    f = fopen(sfile, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"type\": \"number\",\n \"exclusiveMaximun\": 3}\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(hs_schemaset_load_file(set, list, "config", &err), HS_ERR_SCHEMA);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "t.json"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "unknown keyword 'exclusiveMaximun'"));
    CU_ASSERT_EQUAL(hs_schemaset_count(set), 1);
    unlink(sfile);
    CU_ASSERT_EQUAL(hs_schemaset_load_file(set, list, "config", &err), HS_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "list.yaml:2:11: "));
    unlink(list);
    rmdir(dir);
    hs_buf_free(&err);
    hs_schemaset_destroy(set);
}

HS_TEST_INIT(schemaset)
{
    HS_TEST_SUITE_BEGIN("schemaset")
    HS_TEST(test_schemaset_patterns)
    HS_TEST(test_schemaset_all_must_pass)
    HS_TEST(test_schemaset_replace)
    HS_TEST(test_schemaset_errors_at_lines)
    return 0;
}
