/*
 * Tests of hs_jschema: every keyword passing and failing with its message,
 * schema errors at compile time (unknown keywords, wrong types, bad
 * patterns, unresolved $refs), limits, and YAML schemas.
 */
#include "test_suites.h"

#include "hs_arena.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_jschema.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_value.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

/*
 * Validates the JSON value text against the JSON schema text; returns the
 * message ("" when valid) in a static buffer, or "COMPILE: <error>" when the
 * schema does not compile.
 */
static const char *check(const char *schema, const char *value)
{
    static char out[1024];
    hs_buf err, mp;
    hs_buf_init(&err, 0);
    hs_buf_init(&mp, 0);
    hs_jschema *s = NULL;
    int rc = hs_jschema_compile_text(&s, schema, strlen(schema), "s", &err);
    if (rc != HS_OK) {
        snprintf(out, sizeof out, "COMPILE: %s", hs_buf_cstr(&err));
    } else {
        CU_ASSERT_EQUAL_FATAL(hs_json_to_mpack(value, strlen(value), &mp), HS_OK);
        hs_arena a;
        hs_arena_init(&a, 0, 0);
        rc = hs_jschema_validate_mpack(s, mp.data, mp.len, "/v", &a, &err);
        CU_ASSERT(rc == HS_OK || rc == HS_ERR_SCHEMA);
        CU_ASSERT_EQUAL(rc == HS_OK, err.len == 0 || rc == HS_OK);
        snprintf(out, sizeof out, "%s", rc == HS_OK ? "" : hs_buf_cstr(&err));
        if (rc != HS_OK)
            CU_ASSERT_STRING_EQUAL(hs_err_detail(), out);
        hs_arena_free(&a);
    }
    hs_jschema_destroy(s);
    hs_buf_free(&err);
    hs_buf_free(&mp);
    return out;
}

#define OK(schema, value)         CU_ASSERT_STRING_EQUAL(check(schema, value), "")
#define FAILS(schema, value, msg) CU_ASSERT_STRING_EQUAL(check(schema, value), msg)

static void test_jschema_type(void)
{
    OK("{\"type\":\"number\"}", "1.5");
    OK("{\"type\":\"number\"}", "3");
    OK("{\"type\":\"integer\"}", "3");
    OK("{\"type\":\"integer\"}", "3.0"); /* an integral float is an integer */
    FAILS("{\"type\":\"integer\"}", "3.5", "/v: 3.5 is not of type integer");
    FAILS("{\"type\":\"number\"}", "\"3\"", "/v: \"3\" is not of type number");
    FAILS("{\"type\":\"number\"}", "true", "/v: true is not of type number");
    OK("{\"type\":\"string\"}", "\"a\"");
    OK("{\"type\":\"boolean\"}", "false");
    OK("{\"type\":\"null\"}", "null");
    OK("{\"type\":\"object\"}", "{}");
    OK("{\"type\":\"array\"}", "[]");
    FAILS("{\"type\":\"array\"}", "{}", "/v: {} is not of type array");
    OK("{\"type\":[\"number\",\"null\"]}", "null");
    FAILS("{\"type\":[\"null\",\"number\"]}", "\"x\"", "/v: \"x\" is not of type null or number");
    OK("true", "[1,2]");
    FAILS("false", "1", "/v: 1 is not allowed here (schema false)");
    OK("{}", "{\"a\":[1]}");
}

static void test_jschema_enum_const(void)
{
    OK("{\"enum\":[\"on\",\"off\",1]}", "\"off\"");
    OK("{\"enum\":[\"on\",\"off\",1]}", "1.0"); /* numbers compare by value */
    FAILS("{\"enum\":[\"on\",\"off\"]}", "\"of\"", "/v: \"of\" is not one of the values of enum");
    OK("{\"const\":{\"a\":1,\"b\":[true]}}", "{\"b\":[true],\"a\":1}");
    FAILS("{\"const\":3}", "4", "/v: 4 is not equal to const 3");
    FAILS("{\"const\":{\"a\":1}}", "{\"a\":1,\"b\":2}",
          "/v: {\"a\":1,\"b\":2} is not equal to const {\"a\":1}");
}

static void test_jschema_numbers(void)
{
    const char *s = "{\"minimum\":-10,\"maximum\":100}";
    OK(s, "100");
    OK(s, "-10");
    OK(s, "\"not a number\""); /* numeric keywords ignore other types */
    FAILS(s, "120", "/v: 120 is greater than maximum 100");
    FAILS(s, "100.5", "/v: 100.5 is greater than maximum 100");
    FAILS(s, "-11", "/v: -11 is less than minimum -10");
    const char *x = "{\"exclusiveMinimum\":0,\"exclusiveMaximum\":1.5}";
    OK(x, "0.1");
    FAILS(x, "0", "/v: 0 is less than or equal to exclusiveMinimum 0");
    FAILS(x, "1.5", "/v: 1.5 is greater than or equal to exclusiveMaximum 1.5");
    OK("{\"multipleOf\":2}", "8");
    FAILS("{\"multipleOf\":2}", "7", "/v: 7 is not a multiple of 2 (multipleOf)");
    OK("{\"multipleOf\":0.1}", "0.3"); /* floats with a tolerance */
    FAILS("{\"multipleOf\":0.1}", "0.35", "/v: 0.35 is not a multiple of 0.1 (multipleOf)");
    /* Exact comparison of large integers with floats. */
    FAILS("{\"maximum\":9007199254740992}", "9007199254740993",
          "/v: 9007199254740993 is greater than maximum 9007199254740992");
}

static void test_jschema_strings(void)
{
    const char *s = "{\"minLength\":2,\"maxLength\":3}";
    OK(s, "\"ab\"");
    OK(s, "\"\\u00e9t\\u00e9\""); /* 3 code points, 5 bytes */
    FAILS(s, "\"a\"", "/v: \"a\" has 1 characters, fewer than minLength 2");
    FAILS(s, "\"abcd\"", "/v: \"abcd\" has 4 characters, more than maxLength 3");
    const char *p = "{\"pattern\":\"^[A-Z]{2}[0-9]+$\"}";
    OK(p, "\"AB12\"");
    FAILS(p, "\"Ab12\"", "/v: \"Ab12\" does not match pattern \"^[A-Z]{2}[0-9]+$\"");
    OK("{\"pattern\":\"b\"}", "\"abc\"");        /* searched, not anchored */
    OK("{\"pattern\":\"c$\"}", "\"a\\u0000c\""); /* the string is searched past a NUL */
}

static void test_jschema_objects(void)
{
    const char *s = "{\"type\":\"object\",\"required\":[\"t\",\"unit\"],"
                    "\"properties\":{\"t\":{\"type\":\"number\",\"maximum\":50},"
                    "\"unit\":{\"enum\":[\"C\",\"F\"]}},\"additionalProperties\":false}";
    OK(s, "{\"t\":20,\"unit\":\"C\"}");
    FAILS(s, "{\"t\":20}", "/v: required property \"unit\" is missing");
    FAILS(s, "{\"t\":60,\"unit\":\"C\"}", "/v/t: 60 is greater than maximum 50");
    FAILS(s, "{\"t\":1,\"unit\":\"K\"}", "/v/unit: \"K\" is not one of the values of enum");
    FAILS(s, "{\"t\":1,\"unit\":\"C\",\"x\":0}",
          "/v: property \"x\" is not allowed by additionalProperties");
    const char *a = "{\"additionalProperties\":{\"type\":\"integer\"}}";
    OK(a, "{\"a\":1,\"b\":2}");
    FAILS(a, "{\"a/b\":1.5}", "/v/a~1b: 1.5 is not of type integer");
    const char *m = "{\"minProperties\":1,\"maxProperties\":2}";
    OK(m, "{\"a\":1}");
    FAILS(m, "{}", "/v: has 0 properties, fewer than minProperties 1");
    FAILS(m, "{\"a\":1,\"b\":2,\"c\":3}", "/v: has 3 properties, more than maxProperties 2");
}

static void test_jschema_arrays(void)
{
    const char *s = "{\"items\":{\"type\":\"number\"},\"minItems\":1,\"maxItems\":3}";
    OK(s, "[1,2.5]");
    FAILS(s, "[1,\"x\"]", "/v/1: \"x\" is not of type number");
    FAILS(s, "[]", "/v: has 0 items, fewer than minItems 1");
    FAILS(s, "[1,2,3,4]", "/v: has 4 items, more than maxItems 3");
}

static void test_jschema_combinators(void)
{
    const char *all = "{\"allOf\":[{\"minimum\":0},{\"maximum\":10}]}";
    OK(all, "5");
    FAILS(all, "11", "/v: 11 is greater than maximum 10");
    const char *any = "{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":0}]}";
    OK(any, "\"x\"");
    OK(any, "3");
    FAILS(any, "-1", "/v: -1 matches none of the 2 schemas of anyOf");
    const char *one = "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}";
    OK(one, "-1");
    OK(one, "0.5");
    FAILS(one, "2", "/v: 2 matches more than one schema of oneOf");
    FAILS(one, "-0.5", "/v: -0.5 matches none of the 2 schemas of oneOf");
    OK("{\"not\":{\"type\":\"null\"}}", "0");
    FAILS("{\"not\":{\"type\":\"null\"}}", "null", "/v: null matches the schema of not");
}

static void test_jschema_refs(void)
{
    const char *s = "{\"$defs\":{\"pct\":{\"type\":\"number\",\"minimum\":0,\"maximum\":100}},"
                    "\"properties\":{\"a\":{\"$ref\":\"#/$defs/pct\"}}}";
    OK(s, "{\"a\":50}");
    FAILS(s, "{\"a\":150}", "/v/a: 150 is greater than maximum 100");
    /* A recursive schema: nested lists of numbers. */
    const char *r =
        "{\"anyOf\":[{\"type\":\"number\"},{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}]}";
    OK(r, "[1,[2,[3]]]");
    FAILS(r, "[1,[2,[\"x\"]]]", "/v: [1,[2,[\"x\"]]] matches none of the 2 schemas of anyOf");
    /* A $ref cycle that never descends into the value stops at the budget. */
    const char *loop = "{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}";
    CU_ASSERT_EQUAL(strncmp(check(loop, "1"), "/v: validation stopped", 22), 0);
    const char *exp =
        "{\"$defs\":{\"a\":{\"anyOf\":[{\"$ref\":\"#/$defs/a\"},{\"$ref\":\"#/$defs/a\"}]}},"
        "\"$ref\":\"#/$defs/a\"}";
    CU_ASSERT_PTR_NOT_NULL(strstr(check(exp, "1"), "validation stopped"));
}

static void test_jschema_compile_errors(void)
{
    FAILS("{\"maximun\":100}", "1",
          "COMPILE: s: /maximun: unknown keyword 'maximun' (see docs/SCHEMAS.md)");
    FAILS("{\"properties\":{\"a\":{\"typ\":\"number\"}}}", "1",
          "COMPILE: s: /properties/a/typ: unknown keyword 'typ' (see docs/SCHEMAS.md)");
    FAILS("{\"maximum\":\"100\"}", "1", "COMPILE: s: /maximum: must be a number");
    FAILS("{\"type\":\"float\"}", "1",
          "COMPILE: s: /type: unknown type (one of null, boolean, integer, number, string, "
          "array, object)");
    FAILS("{\"multipleOf\":0}", "1", "COMPILE: s: /multipleOf: must be greater than 0");
    FAILS("{\"minLength\":-1}", "1", "COMPILE: s: /minLength: must be a non-negative integer");
    FAILS("{\"required\":[\"a\",\"a\"]}", "1", "COMPILE: s: /required: a name is given twice");
    FAILS("{\"anyOf\":[]}", "1", "COMPILE: s: /anyOf: must be a non-empty array of schemas");
    FAILS("{\"allOf\":[{},3]}", "1",
          "COMPILE: s: /allOf/1: a schema must be an object or a boolean");
    FAILS("{\"$ref\":\"#/$defs/x\"}", "1",
          "COMPILE: s: /$ref: $ref '#/$defs/x' is not \"#\" or \"#/$defs/<name>\" of a name in "
          "the root's $defs");
    FAILS("{\"items\":{\"$defs\":{}}}", "1",
          "COMPILE: s: /items/$defs: $defs is allowed at the root only");
    FAILS("{\"pattern\":\"(a)\\\\1\"}", "1",
          "COMPILE: s: /pattern: back-references are not supported");
    FAILS("{\"pattern\":\"((a{20}){20}){20}\"}", "1",
          "COMPILE: s: /pattern: the repetitions of a pattern multiply to more than 1000 ('+' "
          "counts 2, {n,m} the larger bound)");
    FAILS("{\"pattern\":\"a+*\"}", "1",
          "COMPILE: s: /pattern: a repetition cannot be repeated ('a+*', 'a{2}+'); use a group");
    OK("{\"pattern\":\"^[+*]+[[:digit:]]{2}$\"}", "\"+*12\"");
    /* A keyword given twice is ambiguous: msgpack (a workflow's schemas on hs/schemas) can
       carry it, and the first compiled pattern leaked when the second replaced it. */
    hs_buf mp, err;
    hs_buf_init(&mp, 0);
    hs_buf_init(&err, 0);
    CU_ASSERT_EQUAL(hs_mp_put_map(&mp, 2), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&mp, "pattern"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&mp, "a"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&mp, "pattern"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&mp, "b"), HS_OK);
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value *v = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_value_decode(&a, mp.data, mp.len, &v), HS_OK);
    hs_jschema *dup = NULL;
    CU_ASSERT_EQUAL(hs_jschema_compile(&dup, v, &err), HS_ERR_SCHEMA);
    CU_ASSERT_PTR_NULL(dup);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "/pattern: the keyword is given twice"));
    hs_jschema_destroy(dup);
    hs_arena_free(&a);
    hs_buf_free(&mp);
    hs_buf_free(&err);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(check("{\"pattern\":\"a[\"}", "1"),
               "COMPILE: s: /pattern: invalid POSIX extended regular expression"));
    FAILS("3", "1", "COMPILE: s: (root): a schema must be an object or a boolean");
    /* Annotations are accepted. */
    OK("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$id\":\"x\","
       "\"title\":\"t\",\"description\":\"d\",\"default\":1,\"examples\":[1],\"$comment\":\"c\"}",
       "1");
    /* Syntax errors name the line. */
    CU_ASSERT_PTR_NOT_NULL(strstr(check("{\"type\": ", "1"), "COMPILE: s:2:1: did not find"));
}

static void test_jschema_yaml_and_limits(void)
{
    const char *y = "type: object\n"
                    "required: [v]\n"
                    "properties:\n"
                    "  v: {type: number, maximum: 5}\n";
    OK(y, "{\"v\":5}");
    FAILS(y, "{\"v\":6}", "/v/v: 6 is greater than maximum 5");
    /* More than HS_JSCHEMA_MAX_NODES subschemas. */
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "{\"anyOf\":["), HS_OK);
    for (int i = 0; i < HS_JSCHEMA_MAX_NODES + 1; i++)
        CU_ASSERT_EQUAL(hs_buf_puts(&b, i ? ",{}" : "{}"), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "]}"), HS_OK);
    hs_jschema *s = NULL;
    hs_buf err;
    hs_buf_init(&err, 0);
    CU_ASSERT_EQUAL(hs_jschema_compile_text(&s, hs_buf_cstr(&b), b.len, "big", &err), HS_ERR_LIMIT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&err), "more than 4096 subschemas"));
    hs_buf_free(&err);
    hs_buf_free(&b);
}

HS_TEST_INIT(jschema)
{
    HS_TEST_SUITE_BEGIN("jschema")
    HS_TEST(test_jschema_type)
    HS_TEST(test_jschema_enum_const)
    HS_TEST(test_jschema_numbers)
    HS_TEST(test_jschema_strings)
    HS_TEST(test_jschema_objects)
    HS_TEST(test_jschema_arrays)
    HS_TEST(test_jschema_combinators)
    HS_TEST(test_jschema_refs)
    HS_TEST(test_jschema_compile_errors)
    HS_TEST(test_jschema_yaml_and_limits)
    return 0;
}
