/*
 * Tests of hs_yaml: the workflow example of DESIGN.md in YAML and JSON,
 * scalar typing, styles, multi-line strings, comments, error positions,
 * limits, truncated input, allocation failures and the msgpack/JSON output.
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_yaml.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The workflow example of DESIGN.md section 3, comments included. */
static const char design_yaml[] =
    "id: house_climate               # unique workflow id\n"
    "name: Climate per house          # optional\n"
    "owner: demo                      # optional\n"
    "online: {every: 10s, window: [-60s, -10s]}   # optional; omit for offline only\n"
    "plates:                          # HyperStream plates: sets of meta-data values\n"
    "  H:   {meta: house, values: [\"1\", \"2\", \"3\"]}\n"
    "  H.R: {meta: room, parent: H, values: [kitchen, lounge]}\n"
    "factors:                         # executed in dependency order\n"
    "  - tool: sliding_window         # name, or {name: sliding_window, version: \"1.0\"}\n"
    "    params: {width: 10s, increment: 10s}\n"
    "    sink: windows                # stream name; plates: [] = a global stream\n"
    "  - tool: sliding_apply\n"
    "    params: {func: mean}         # built-in function name, or Lua source: \"lua: return "
    "...\"\n"
    "    sources: [windows, temperature]\n"
    "    sink: temp_10s\n"
    "    plates: [H.R]                # the factor runs once per plate value\n"
    "  - tool: aggregate\n"
    "    params: {func: mean}\n"
    "    over: room                   # aggregation meta-data: H.R -> H\n"
    "    sources: [temp_10s]\n"
    "    sink: house_temp_10s\n"
    "    plates: [H]\n";

/* The same workflow as JSON, indented with tabs, with tabs around it too. */
static const char design_json[] =
    "\t\n"
    "\t{\n"
    "\t\"id\": \"house_climate\",\n"
    "\t\"name\": \"Climate per house\",\n"
    "\t\"owner\": \"demo\",\n"
    "\t\"online\": {\"every\": \"10s\", \"window\": [\"-60s\", \"-10s\"]},\n"
    "\t\"plates\": {\n"
    "\t\t\"H\": {\"meta\": \"house\", \"values\": [\"1\", \"2\", \"3\"]},\n"
    "\t\t\"H.R\": {\"meta\": \"room\", \"parent\": \"H\", \"values\": [\"kitchen\", "
    "\"lounge\"]}\n"
    "\t},\n"
    "\t\"factors\": [\n"
    "\t\t{\"tool\": \"sliding_window\", \"params\": {\"width\": \"10s\", \"increment\": "
    "\"10s\"},\n"
    "\t\t\t\"sink\": \"windows\"},\n"
    "\t\t{\"tool\": \"sliding_apply\", \"params\": {\"func\": \"mean\"},\n"
    "\t\t\t\"sources\": [\"windows\", \"temperature\"], \"sink\": \"temp_10s\", \"plates\": "
    "[\"H.R\"]},\n"
    "\t\t{\"tool\": \"aggregate\", \"params\": {\"func\": \"mean\"}, \"over\": \"room\",\n"
    "\t\t\t\"sources\": [\"temp_10s\"], \"sink\": \"house_temp_10s\", \"plates\": [\"H\"]}\n"
    "\t]\n"
    "}\t\n"
    "\t\n";

/* Parses a NUL-terminated text as "t.yaml"; on failure err holds the message. */
static int parse(const char *text, hs_ynode **out, hs_buf *err)
{
    return hs_yaml_parse(text, strlen(text), "t.yaml", out, err);
}

/* Parses text that must be valid; NULL (and a failed assertion) otherwise. */
static hs_ynode *parse_ok(const char *text)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_ynode *root = NULL;
    int rc = parse(text, &root, &err);
    if (rc != HS_OK)
        fprintf(stderr, "\nunexpected error: %s\n", hs_buf_cstr(&err));
    CU_ASSERT_EQUAL(rc, HS_OK);
    hs_buf_free(&err);
    return root;
}

/* Text of the scalar at path under n: keys of mappings, "#i" items of sequences. */
static const hs_ynode *at(const hs_ynode *n, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "/"); tok != NULL && n != NULL; tok = strtok(NULL, "/"))
        n = tok[0] == '#' ? hs_ynode_item(n, (size_t)atoi(tok + 1)) : hs_ynode_get(n, tok);
    return n;
}

static bool text_is(const hs_ynode *n, const char *want)
{
    const char *t = hs_ynode_text(n, NULL);
    return t != NULL && strcmp(t, want) == 0;
}

static bool pos_is(const hs_ynode *n, unsigned line, unsigned col)
{
    return hs_ynode_line(n) == line && hs_ynode_col(n) == col;
}

/* The subtree at n as JSON text (reset first). */
static const char *json_of(const hs_ynode *n, hs_buf *out)
{
    hs_buf_reset(out);
    if (hs_ynode_to_json(n, out) != HS_OK)
        return "(error)";
    return hs_buf_cstr(out);
}

/* Checks the tree of the design example, whichever syntax it came from. */
static void check_design_tree(const hs_ynode *root, bool json)
{
    CU_ASSERT_EQUAL_FATAL(hs_ynode_kind(root), HS_YNODE_MAP);
    CU_ASSERT_EQUAL(hs_ynode_len(root), 6);
    const char *keys[] = {"id", "name", "owner", "online", "plates", "factors"};
    for (size_t i = 0; i < 6; i++)
        CU_ASSERT(text_is(hs_ynode_key(root, i), keys[i]));
    CU_ASSERT_PTR_NULL(hs_ynode_key(root, 6));
    CU_ASSERT(text_is(at(root, "id"), "house_climate"));
    CU_ASSERT(text_is(at(root, "name"), "Climate per house"));
    CU_ASSERT(text_is(at(root, "online/window/#0"), "-60s"));
    CU_ASSERT_EQUAL(hs_ynode_type(at(root, "online/window/#1")), HS_YTYPE_STR);
    CU_ASSERT_EQUAL(hs_ynode_len(at(root, "plates")), 2);
    CU_ASSERT(text_is(hs_ynode_key(at(root, "plates"), 1), "H.R"));
    CU_ASSERT(text_is(at(root, "plates/H/values/#2"), "3"));
    CU_ASSERT_EQUAL(hs_ynode_type(at(root, "plates/H/values/#2")), HS_YTYPE_STR);
    CU_ASSERT_EQUAL(hs_ynode_style(at(root, "plates/H/values/#2")), HS_YSTYLE_DOUBLE);
    CU_ASSERT(text_is(at(root, "plates/H.R/parent"), "H"));
    const hs_ynode *factors = at(root, "factors");
    CU_ASSERT_EQUAL_FATAL(hs_ynode_kind(factors), HS_YNODE_SEQ);
    CU_ASSERT_EQUAL(hs_ynode_len(factors), 3);
    CU_ASSERT(text_is(at(factors, "#0/tool"), "sliding_window"));
    CU_ASSERT(text_is(at(factors, "#0/params/increment"), "10s"));
    CU_ASSERT(text_is(at(factors, "#1/sources/#1"), "temperature"));
    CU_ASSERT(text_is(at(factors, "#1/plates/#0"), "H.R"));
    CU_ASSERT(text_is(at(factors, "#2/over"), "room"));
    CU_ASSERT(text_is(at(factors, "#2/sink"), "house_temp_10s"));
    CU_ASSERT_PTR_NULL(at(factors, "#0/plates"));
    CU_ASSERT_PTR_NULL(at(factors, "#3"));
    if (!json) {
        CU_ASSERT(pos_is(root, 1, 1));
        CU_ASSERT(pos_is(hs_ynode_key(root, 0), 1, 1));
        CU_ASSERT(pos_is(at(root, "id"), 1, 5));
        CU_ASSERT(pos_is(at(root, "online"), 4, 9));
        CU_ASSERT_EQUAL(hs_ynode_style(at(root, "online")), HS_YSTYLE_FLOW);
        CU_ASSERT(pos_is(at(root, "online/window/#1"), 4, 37));
        CU_ASSERT(pos_is(at(root, "plates"), 6, 3));
        CU_ASSERT_EQUAL(hs_ynode_style(at(root, "plates")), HS_YSTYLE_BLOCK);
        CU_ASSERT(pos_is(at(root, "plates/H.R/values/#1"), 7, 50));
        CU_ASSERT(pos_is(factors, 9, 3));
        CU_ASSERT(pos_is(at(factors, "#0"), 9, 5));
        CU_ASSERT(pos_is(at(factors, "#1/sink"), 15, 11));
        CU_ASSERT(pos_is(hs_ynode_key(at(factors, "#2"), 2), 19, 5));
        CU_ASSERT(pos_is(at(factors, "#2/plates/#0"), 22, 14));
        CU_ASSERT_STRING_EQUAL(hs_ynode_file(at(factors, "#2/plates/#0")), "t.yaml");
    } else {
        CU_ASSERT(pos_is(root, 2, 2));
        CU_ASSERT(pos_is(hs_ynode_key(root, 0), 3, 2));
        CU_ASSERT(pos_is(at(root, "id"), 3, 8));
        CU_ASSERT(pos_is(at(root, "plates/H"), 8, 8));
        CU_ASSERT(pos_is(at(factors, "#2/sink"), 17, 37));
        CU_ASSERT_EQUAL(hs_ynode_style(at(root, "id")), HS_YSTYLE_DOUBLE);
    }
}

static void test_design_example(void)
{
    hs_ynode *root = parse_ok(design_yaml);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    check_design_tree(root, false);
    hs_yaml_destroy(root);
}

static void test_design_example_as_json(void)
{
    hs_ynode *y = parse_ok(design_yaml);
    hs_ynode *j = parse_ok(design_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    check_design_tree(j, true);
    hs_buf my, mj, mref;
    hs_buf_init(&my, 0);
    hs_buf_init(&mj, 0);
    hs_buf_init(&mref, 0);
    CU_ASSERT_EQUAL(hs_ynode_to_mpack(y, &my, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_ynode_to_mpack(j, &mj, NULL), HS_OK);
    /* The same bytes as the YAML spelling and as the project's JSON reader. */
    CU_ASSERT_EQUAL(hs_json_to_mpack(design_json, strlen(design_json), &mref), HS_OK);
    CU_ASSERT(my.len == mj.len && memcmp(my.data, mj.data, my.len) == 0);
    CU_ASSERT(mref.len == mj.len && memcmp(mref.data, mj.data, mj.len) == 0);
    hs_buf_free(&my);
    hs_buf_free(&mj);
    hs_buf_free(&mref);
    hs_yaml_destroy(y);
    hs_yaml_destroy(j);
}

/* JSON documents read as YAML give the bytes that hs_json_to_mpack gives. */
static void test_json_documents(void)
{
    static const char *const docs[] = {
        "{}",
        "[]",
        "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":-2.5e3}}",
        "[1, -0, 0.5, 1E+2, -9223372036854775808, 9223372036854775807]",
        "{\"s\": \"tab\\there \\\"q\\\" \\\\ \\/ \\u00e9 \\u20ac \\ud83d\\ude00\"}",
        "{\"nested\": [[[[{\"x\": []}]]]], \"empty\": \"\"}",
        "\"just a string\"",
        "42",
        "{\r\n\t\"crlf\":\t[1,\r\n\t2]\r\n}\r\n",
        "[\n\t1,\n\t{\n\t\t\"k\": \"v\"\n\t}\n]\n\t",
        "{\"k\" : 1 , \"l\":[ ] }",
        "{\"url\": \"http://x/y?a=1#frag\", \"colon\": \"a:b\"}",
    };
    hs_buf m1, m2, err;
    hs_buf_init(&m1, 0);
    hs_buf_init(&m2, 0);
    hs_buf_init(&err, 0);
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        hs_ynode *root = NULL;
        int rc = parse(docs[i], &root, &err);
        if (rc != HS_OK)
            fprintf(stderr, "\n%s: %s\n", docs[i], hs_buf_cstr(&err));
        CU_ASSERT_EQUAL(rc, HS_OK);
        hs_buf_reset(&m1);
        hs_buf_reset(&m2);
        CU_ASSERT_EQUAL(hs_ynode_to_mpack(root, &m1, NULL), HS_OK);
        CU_ASSERT_EQUAL(hs_json_to_mpack(docs[i], strlen(docs[i]), &m2), HS_OK);
        bool same = m1.len == m2.len && memcmp(m1.data, m2.data, m1.len) == 0;
        if (!same)
            fprintf(stderr, "\ndiffers: %s\n", docs[i]);
        CU_ASSERT(same);
        hs_yaml_destroy(root);
    }
    /* A surrogate pair written as two escapes is one character. */
    hs_ynode *root = parse_ok("{\"e\": \"<\\uD83D\\uDE00>\"}");
    CU_ASSERT(text_is(at(root, "e"), "<\xf0\x9f\x98\x80>"));
    hs_yaml_destroy(root);
    /* libyaml's limit on implicit keys: the key, quotes included, fits 1024 characters. */
    hs_buf b;
    hs_buf_init(&b, 0);
    (void)hs_buf_puts(&b, "{\"");
    for (int i = 0; i < 1022; i++)
        (void)hs_buf_putc(&b, 'k');
    (void)hs_buf_puts(&b, "\": 1}");
    root = parse_ok(hs_buf_cstr(&b));
    CU_ASSERT_EQUAL(hs_ynode_len(root), 1);
    hs_yaml_destroy(root);
    b.len -= 5;
    (void)hs_buf_puts(&b, "k\": 1}");
    CU_ASSERT_EQUAL(parse(hs_buf_cstr(&b), &root, &err), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&err), "t.yaml:1:1027: did not find expected ',' or '}' "
                                              "(while parsing a flow mapping that starts at "
                                              "line 1, column 1)");
    hs_buf_free(&b);
    hs_buf_free(&m1);
    hs_buf_free(&m2);
    hs_buf_free(&err);
}

static void test_scalar_typing(void)
{
    static const struct {
        const char *text;
        hs_ytype type;
        double num; /* int or float value; bool as 0/1 */
    } table[] = {
        {"", HS_YTYPE_NULL, 0},
        {"~", HS_YTYPE_NULL, 0},
        {"null", HS_YTYPE_NULL, 0},
        {"Null", HS_YTYPE_NULL, 0},
        {"NULL", HS_YTYPE_NULL, 0},
        {"nULL", HS_YTYPE_STR, 0},
        {"true", HS_YTYPE_BOOL, 1},
        {"True", HS_YTYPE_BOOL, 1},
        {"TRUE", HS_YTYPE_BOOL, 1},
        {"false", HS_YTYPE_BOOL, 0},
        {"False", HS_YTYPE_BOOL, 0},
        {"FALSE", HS_YTYPE_BOOL, 0},
        {"tRue", HS_YTYPE_STR, 0},
        {"yes", HS_YTYPE_STR, 0},
        {"on", HS_YTYPE_STR, 0},
        {"0", HS_YTYPE_INT, 0},
        {"-0", HS_YTYPE_INT, 0},
        {"+12", HS_YTYPE_INT, 12},
        {"-17", HS_YTYPE_INT, -17},
        {"007", HS_YTYPE_INT, 7},
        {"0x1F", HS_YTYPE_INT, 31},
        {"0xff", HS_YTYPE_INT, 255},
        {"0o17", HS_YTYPE_INT, 15},
        {"0o8", HS_YTYPE_STR, 0},
        {"0x", HS_YTYPE_STR, 0},
        {"-0x1", HS_YTYPE_STR, 0},
        {"0b101", HS_YTYPE_STR, 0},
        {"1_000", HS_YTYPE_STR, 0},
        {"9223372036854775807", HS_YTYPE_INT, 9223372036854775807.0},
        {"-9223372036854775808", HS_YTYPE_INT, -9223372036854775808.0},
        {"9223372036854775808", HS_YTYPE_FLOAT, 9223372036854775808.0},
        {"-99999999999999999999", HS_YTYPE_FLOAT, -1e20},
        {"1.5", HS_YTYPE_FLOAT, 1.5},
        {"-1.5", HS_YTYPE_FLOAT, -1.5},
        {"1.", HS_YTYPE_FLOAT, 1},
        {".5", HS_YTYPE_FLOAT, 0.5},
        {"+.5", HS_YTYPE_FLOAT, 0.5},
        {"1e3", HS_YTYPE_FLOAT, 1000},
        {"1E-2", HS_YTYPE_FLOAT, 0.01},
        {"2.5e+2", HS_YTYPE_FLOAT, 250},
        {"1e-400", HS_YTYPE_FLOAT, 0},
        {".", HS_YTYPE_STR, 0},
        {"1e", HS_YTYPE_STR, 0},
        {"e3", HS_YTYPE_STR, 0},
        {"1.2.3", HS_YTYPE_STR, 0},
        {"+", HS_YTYPE_STR, 0},
        {"- 1", HS_YTYPE_STR, 0},
        {" 1", HS_YTYPE_STR, 0},
        {".inf", HS_YTYPE_FLOAT, INFINITY},
        {"+.Inf", HS_YTYPE_FLOAT, INFINITY},
        {"-.INF", HS_YTYPE_FLOAT, -INFINITY},
        {".iNf", HS_YTYPE_STR, 0},
        {"inf", HS_YTYPE_STR, 0},
        {".nan", HS_YTYPE_FLOAT, NAN},
        {".NaN", HS_YTYPE_FLOAT, NAN},
        {".NAN", HS_YTYPE_FLOAT, NAN},
        {"-.nan", HS_YTYPE_STR, 0},
        {"nan", HS_YTYPE_STR, 0},
        {"10s", HS_YTYPE_STR, 0},
        {"-60s", HS_YTYPE_STR, 0},
        {"2024-01-01", HS_YTYPE_STR, 0},
        {"1:30", HS_YTYPE_STR, 0},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        hs_yscalar v;
        int rc = hs_yaml_resolve_plain(table[i].text, strlen(table[i].text), &v);
        CU_ASSERT_EQUAL(rc, HS_OK);
        if (v.type != table[i].type)
            fprintf(stderr, "\n'%s': type %d, want %d\n", table[i].text, v.type, table[i].type);
        CU_ASSERT_EQUAL(v.type, table[i].type);
        double want = table[i].num;
        if (v.type == HS_YTYPE_INT)
            CU_ASSERT_EQUAL((double)v.u.i, want);
        if (v.type == HS_YTYPE_BOOL)
            CU_ASSERT_EQUAL(v.u.b, want != 0);
        if (v.type == HS_YTYPE_FLOAT && isnan(want)) {
            CU_ASSERT(isnan(v.u.f));
        } else if (v.type == HS_YTYPE_FLOAT) {
            CU_ASSERT_EQUAL(v.u.f, want);
        }
    }
    hs_yscalar v;
    CU_ASSERT_EQUAL(hs_yaml_resolve_plain("-0.0", 4, &v), HS_OK);
    CU_ASSERT(v.type == HS_YTYPE_FLOAT && v.u.f == 0 && signbit(v.u.f));
    CU_ASSERT_EQUAL(hs_yaml_resolve_plain("1e400", 5, &v), HS_ERR_RANGE);
    CU_ASSERT(v.type == HS_YTYPE_FLOAT && isinf(v.u.f));
    char bigint[400];
    memset(bigint, '9', sizeof bigint);
    CU_ASSERT_EQUAL(hs_yaml_resolve_plain(bigint, sizeof bigint, &v), HS_ERR_RANGE);
    CU_ASSERT_EQUAL(hs_yaml_resolve_plain(bigint, 300, &v), HS_OK);
    CU_ASSERT(v.type == HS_YTYPE_FLOAT && v.u.f == 1e300);
    CU_ASSERT_EQUAL(hs_yaml_resolve_plain("0x8000000000000000", 18, &v), HS_ERR_RANGE);
    CU_ASSERT_EQUAL(hs_yaml_resolve_plain("0x7fffffffffffffff", 18, &v), HS_OK);
    CU_ASSERT_EQUAL(v.u.i, INT64_MAX);
    /* Only len bytes count. */
    CU_ASSERT_EQUAL(hs_yaml_resolve_plain("12abc", 2, &v), HS_OK);
    CU_ASSERT(v.type == HS_YTYPE_INT && v.u.i == 12);
    /* A float longer than any stack buffer. */
    char longf[400];
    memset(longf, '1', sizeof longf);
    longf[1] = '.';
    CU_ASSERT_EQUAL(hs_yaml_resolve_plain(longf, sizeof longf, &v), HS_OK);
    CU_ASSERT(v.type == HS_YTYPE_FLOAT && fabs(v.u.f - 1.1111111111) < 1e-9);
    CU_ASSERT_EQUAL(hs_yaml_resolve_plain(NULL, 1, &v), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_yaml_resolve_plain("1", 1, NULL), HS_ERR_INVAL);
}

static void test_quoted_and_tagged_scalars(void)
{
    hs_ynode *root = parse_ok("a: \"1\"\n"
                              "b: 'true'\n"
                              "c: !!str 12\n"
                              "d: !!int \"0x10\"\n"
                              "e: !!float 3\n"
                              "f: !!bool 'False'\n"
                              "g: !!null ''\n"
                              "h: ! 12\n"
                              "i: |\n  7\n"
                              "j: !!seq [1]\n"
                              "k: !!map {x: 1}\n"
                              "l: !<tag:yaml.org,2002:int> 5\n"
                              "m: null\n"
                              "n:\n"
                              "o: \"\"\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_EQUAL(hs_ynode_type(at(root, "a")), HS_YTYPE_STR);
    CU_ASSERT_EQUAL(hs_ynode_style(at(root, "a")), HS_YSTYLE_DOUBLE);
    CU_ASSERT_EQUAL(hs_ynode_type(at(root, "b")), HS_YTYPE_STR);
    CU_ASSERT_EQUAL(hs_ynode_style(at(root, "b")), HS_YSTYLE_SINGLE);
    CU_ASSERT_EQUAL(hs_ynode_type(at(root, "c")), HS_YTYPE_STR);
    int64_t i = 0;
    double f = 0;
    bool b = true;
    CU_ASSERT_EQUAL(hs_ynode_int(at(root, "d"), &i), HS_OK);
    CU_ASSERT_EQUAL(i, 16);
    CU_ASSERT_EQUAL(hs_ynode_type(at(root, "e")), HS_YTYPE_FLOAT);
    CU_ASSERT_EQUAL(hs_ynode_float(at(root, "e"), &f), HS_OK);
    CU_ASSERT_EQUAL(f, 3.0);
    CU_ASSERT_EQUAL(hs_ynode_bool(at(root, "f"), &b), HS_OK);
    CU_ASSERT_FALSE(b);
    CU_ASSERT(hs_ynode_is_null(at(root, "g")));
    CU_ASSERT_EQUAL(hs_ynode_type(at(root, "h")), HS_YTYPE_STR);
    CU_ASSERT_EQUAL(hs_ynode_type(at(root, "i")), HS_YTYPE_STR);
    CU_ASSERT(text_is(at(root, "i"), "7\n"));
    CU_ASSERT_EQUAL(hs_ynode_kind(at(root, "j")), HS_YNODE_SEQ);
    CU_ASSERT_EQUAL(hs_ynode_kind(at(root, "k")), HS_YNODE_MAP);
    CU_ASSERT_EQUAL(hs_ynode_int(at(root, "l"), &i), HS_OK);
    CU_ASSERT_EQUAL(i, 5);
    CU_ASSERT(hs_ynode_is_null(at(root, "m")));
    CU_ASSERT(hs_ynode_is_null(at(root, "n")));
    CU_ASSERT(text_is(at(root, "n"), ""));
    CU_ASSERT_EQUAL(hs_ynode_type(at(root, "o")), HS_YTYPE_STR);
    /* Typed reads of the wrong type. */
    CU_ASSERT_EQUAL(hs_ynode_int(at(root, "a"), &i), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(hs_ynode_bool(at(root, "a"), &b), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(hs_ynode_float(at(root, "j"), &f), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(hs_ynode_int(NULL, &i), HS_ERR_SCHEMA);
    CU_ASSERT_EQUAL(hs_ynode_float(at(root, "d"), &f), HS_OK);
    CU_ASSERT_EQUAL(f, 16.0);
    hs_yaml_destroy(root);
}

static void test_flow_and_block_styles(void)
{
    hs_ynode *root = parse_ok("- [a, [b, c], {d: e}]\n"
                              "- {f: [1, 2], g: {h: i}}\n"
                              "- - x\n"
                              "  - y\n"
                              "- k: v\n"
                              "  l:\n"
                              "  - 1\n"
                              "  - 2\n"
                              "- ? complex key\n"
                              "  : value\n"
                              "- []\n"
                              "- {}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    hs_buf j;
    hs_buf_init(&j, 0);
    CU_ASSERT_STRING_EQUAL(json_of(root, &j),
                           "[[\"a\",[\"b\",\"c\"],{\"d\":\"e\"}],{\"f\":[1,2],\"g\":{\"h\":\"i\"}},"
                           "[\"x\",\"y\"],{\"k\":\"v\",\"l\":[1,2]},{\"complex key\":\"value\"},[],"
                           "{}]");
    CU_ASSERT_EQUAL(hs_ynode_style(root), HS_YSTYLE_BLOCK);
    CU_ASSERT_EQUAL(hs_ynode_style(at(root, "#0")), HS_YSTYLE_FLOW);
    CU_ASSERT_EQUAL(hs_ynode_style(at(root, "#2")), HS_YSTYLE_BLOCK);
    CU_ASSERT(pos_is(at(root, "#0/#1/#1"), 1, 11));
    CU_ASSERT(pos_is(at(root, "#2/#1"), 4, 5));
    CU_ASSERT(pos_is(at(root, "#3/l/#1"), 8, 5));
    CU_ASSERT(pos_is(hs_ynode_key(at(root, "#4"), 0), 9, 5));
    CU_ASSERT_EQUAL(hs_ynode_len(at(root, "#5")), 0);
    CU_ASSERT_PTR_NULL(hs_ynode_item(at(root, "#5"), 0));
    CU_ASSERT_PTR_NULL(hs_ynode_key(at(root, "#6"), 0));
    /* Kind mismatches of the accessors. */
    CU_ASSERT_PTR_NULL(hs_ynode_item(at(root, "#1"), 0));
    CU_ASSERT_PTR_NULL(hs_ynode_get(root, "f"));
    CU_ASSERT_PTR_NULL(hs_ynode_text(root, NULL));
    CU_ASSERT_EQUAL(hs_ynode_type(root), HS_YTYPE_NONE);
    CU_ASSERT_EQUAL(hs_ynode_len(at(root, "#0/#0")), 0);
    CU_ASSERT_EQUAL(hs_ynode_kind(NULL), HS_YNODE_NONE);
    CU_ASSERT_EQUAL(hs_ynode_line(NULL), 0);
    CU_ASSERT_PTR_NULL(hs_ynode_file(NULL));
    hs_buf_free(&j);
    hs_yaml_destroy(root);
}

static void test_multiline_strings(void)
{
    hs_ynode *root = parse_ok("lit: |\n"
                              "  line one\n"
                              "    indented\n"
                              "\n"
                              "  last\n"
                              "strip: |-\n"
                              "  no newline\n"
                              "keep: |+\n"
                              "  kept\n"
                              "\n"
                              "fold: >\n"
                              "  folded\n"
                              "  text\n"
                              "\n"
                              "  para\n"
                              "plain: a plain\n"
                              "  scalar over\n"
                              "  three lines\n"
                              "dq: \"double \\\n"
                              "  quoted\\tand\n"
                              "  folded\"\n"
                              "sq: 'it''s\n"
                              "\n"
                              "  two'\n"
                              "lua: |\n"
                              "  return function(x)\n"
                              "    return x * 2 -- comment # not yaml\n"
                              "  end\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT(text_is(at(root, "lit"), "line one\n  indented\n\nlast\n"));
    CU_ASSERT_EQUAL(hs_ynode_style(at(root, "lit")), HS_YSTYLE_LITERAL);
    CU_ASSERT(text_is(at(root, "strip"), "no newline"));
    CU_ASSERT(text_is(at(root, "keep"), "kept\n\n"));
    CU_ASSERT(text_is(at(root, "fold"), "folded text\npara\n"));
    CU_ASSERT_EQUAL(hs_ynode_style(at(root, "fold")), HS_YSTYLE_FOLDED);
    CU_ASSERT(text_is(at(root, "plain"), "a plain scalar over three lines"));
    CU_ASSERT(text_is(at(root, "dq"), "double quoted\tand folded"));
    CU_ASSERT(text_is(at(root, "sq"), "it's\ntwo"));
    CU_ASSERT(text_is(at(root, "lua"),
                      "return function(x)\n  return x * 2 -- comment # not yaml\nend\n"));
    CU_ASSERT(pos_is(at(root, "plain"), 16, 8));
    CU_ASSERT(pos_is(hs_ynode_key(root, 5), 19, 1));
    CU_ASSERT(pos_is(at(root, "sq"), 22, 5));
    size_t len = 0;
    CU_ASSERT_PTR_NOT_NULL(hs_ynode_text(at(root, "keep"), &len));
    CU_ASSERT_EQUAL(len, 6);
    hs_yaml_destroy(root);
}

static void test_comments_and_layout(void)
{
    hs_ynode *root = parse_ok("# leading comment\n"
                              "\n"
                              "a: 1 # trailing\n"
                              "b: x#y\n"
                              "c: \"# not a comment\"\n"
                              "d: [1, # inside a flow sequence\n"
                              "    2]\n"
                              "e: 2\t# after a tab\n"
                              "f:\t3\n"
                              "   # indented comment\n"
                              "g: 'a # b'\n"
                              "# trailing comment\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    hs_buf j;
    hs_buf_init(&j, 0);
    CU_ASSERT_STRING_EQUAL(json_of(root, &j), "{\"a\":1,\"b\":\"x#y\",\"c\":\"# not a comment\","
                                              "\"d\":[1,2],\"e\":2,\"f\":3,\"g\":\"a # b\"}");
    CU_ASSERT(pos_is(at(root, "a"), 3, 4));
    CU_ASSERT(pos_is(at(root, "d/#1"), 7, 5));
    CU_ASSERT(pos_is(at(root, "g"), 11, 4));
    hs_buf_free(&j);
    hs_yaml_destroy(root);

    /* CRLF line ends, a BOM, and a document between --- and .... */
    root = parse_ok("\xef\xbb\xbf%YAML 1.2\r\n---\r\na: 1\r\nb:\r\n  - x\r\n...\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT(pos_is(root, 3, 1));
    CU_ASSERT(pos_is(at(root, "b/#0"), 5, 5));
    hs_yaml_destroy(root);
}

static void test_empty_documents(void)
{
    static const char *const empties[] = {"", "\n\n", "# only a comment\n", "  \n# c\n"};
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        hs_ynode *root = parse_ok(empties[i]);
        CU_ASSERT_EQUAL(hs_ynode_kind(root), HS_YNODE_MAP);
        CU_ASSERT_EQUAL(hs_ynode_len(root), 0);
        CU_ASSERT(pos_is(root, 1, 1));
        hs_yaml_destroy(root);
    }
    hs_ynode *root = NULL;
    CU_ASSERT_EQUAL(hs_yaml_parse(NULL, 0, NULL, &root, NULL), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_ynode_file(root), "<input>");
    hs_yaml_destroy(root);
    /* An explicit empty document is a null scalar; a bare scalar is a document too. */
    root = parse_ok("---\n");
    CU_ASSERT(hs_ynode_is_null(root));
    hs_yaml_destroy(root);
    root = parse_ok("just text\n");
    CU_ASSERT(text_is(root, "just text"));
    hs_yaml_destroy(root);
    hs_yaml_destroy(NULL);
    CU_ASSERT_EQUAL(hs_yaml_parse("a", 1, "x", NULL, NULL), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_yaml_parse(NULL, 1, "x", &root, NULL), HS_ERR_INVAL);
    CU_ASSERT_PTR_NULL(root);
}

/* Expects text to fail with code and err to be exactly want. */
static void expect_error(const char *text, int code, const char *want)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_ynode *root = (hs_ynode *)&err; /* must be reset to NULL */
    int rc = parse(text, &root, &err);
    if (rc != code || strncmp(hs_buf_cstr(&err), want, strlen(want)) != 0)
        fprintf(stderr, "\ninput %s\n  got %d '%s'\n want %d '%s'\n", text, rc, hs_buf_cstr(&err),
                code, want);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_PTR_NULL(root);
    CU_ASSERT_NSTRING_EQUAL(hs_buf_cstr(&err), want, strlen(want));
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), hs_buf_cstr(&err));
    hs_buf_free(&err);
}

static void test_errors_with_positions(void)
{
    expect_error("a:\n  b: 1\n c: 2\n", HS_ERR_PARSE, "t.yaml:3:2: did not find expected key");
    expect_error("a: 1\n b: 2\n", HS_ERR_PARSE,
                 "t.yaml:2:3: mapping values are not allowed in this context");
    expect_error("a: 1\nb: 2\na: 3\n", HS_ERR_PARSE,
                 "t.yaml:3:1: duplicate key \"a\" (first at line 1, column 1)");
    expect_error("x:\n  k: 1\n  'k': 2\n", HS_ERR_PARSE,
                 "t.yaml:3:3: duplicate key \"k\" (first at line 2, column 3)");
    expect_error("{1: a, \"1\": b}", HS_ERR_PARSE,
                 "t.yaml:1:8: duplicate key \"1\" (first at line 1, column 2)");
    /* A duplicate comes before a later syntax error in the same mapping. */
    expect_error("a: 1\na: 2\nb: [\n", HS_ERR_PARSE, "t.yaml:2:1: duplicate key \"a\"");
    /* Only each mapping's own keys count, not those of collections inside it. */
    expect_error("z: 1\na:\n  - {k: 1}\n  - *x\n", HS_ERR_UNSUPPORTED, "t.yaml:4:5: aliases");
    expect_error("k: 1\nb:\n  k: 2\n  c: [k, k]\n  d: *x\n", HS_ERR_UNSUPPORTED,
                 "t.yaml:5:6: aliases");
    expect_error("a: \"abc\nb: 2\n", HS_ERR_PARSE,
                 "t.yaml:1:4: unexpected end of input while scanning a quoted scalar that "
                 "starts here");
    expect_error("a: [1, 2\n", HS_ERR_PARSE, "t.yaml:");
    expect_error("a: 1\nb: *x\n", HS_ERR_UNSUPPORTED, "t.yaml:2:4: aliases (*x) are not supported");
    expect_error("a: &x 1\nb: 2\n", HS_ERR_UNSUPPORTED,
                 "t.yaml:1:4: anchors (&x) are not supported");
    expect_error("base: &b {x: 1}\nderived:\n  <<: *b\n", HS_ERR_UNSUPPORTED, "t.yaml:1:7: ");
    expect_error("a:\n\tb: 1\n", HS_ERR_PARSE,
                 "t.yaml:2:1: found character that cannot start any token (YAML is indented "
                 "with spaces, not tabs)");
    expect_error("a: 1\n\t\nb: 2\n", HS_ERR_PARSE,
                 "t.yaml:2:1: found a tab character that violates indentation");
    expect_error("a: 1\n---\nb: 2\n", HS_ERR_PARSE, "t.yaml:2:1: a second document starts here");
    expect_error("a: 1\n...\nb: 2\n", HS_ERR_PARSE,
                 "t.yaml:3:1: did not find expected <document start>");
    expect_error("a: 1\n...\n---\nb: 2\n", HS_ERR_PARSE, "t.yaml:3:1: a second document");
    expect_error("? [a]\n: 1\n", HS_ERR_PARSE,
                 "t.yaml:1:3: a mapping key must be a scalar, not a sequence");
    expect_error("{{a: 1}: 2}", HS_ERR_PARSE, "t.yaml:1:2: a mapping key must be a scalar");
    expect_error("a: !foo x\n", HS_ERR_UNSUPPORTED, "t.yaml:1:4: tag !foo is not supported");
    expect_error("a: !!binary aGVsbG8=\n", HS_ERR_UNSUPPORTED,
                 "t.yaml:1:4: tag !!binary is not supported");
    expect_error("a: !!set {x: ~}\n", HS_ERR_UNSUPPORTED, "t.yaml:1:4: tag !!set is not supported");
    expect_error("a: !!seq {x: 1}\n", HS_ERR_UNSUPPORTED, "t.yaml:1:4: tag !!seq");
    expect_error("a:\n  b: !!int abc\n", HS_ERR_PARSE,
                 "t.yaml:2:6: \"abc\" is not a valid !!int value");
    expect_error("a: !!bool yes\n", HS_ERR_PARSE, "t.yaml:1:4: \"yes\" is not a valid !!bool");
    expect_error("a: !!int 0x8000000000000000\n", HS_ERR_RANGE, "t.yaml:1:4: ");
    expect_error("a: 1e400\n", HS_ERR_RANGE,
                 "t.yaml:1:4: number \"1e400\" is out of range (quote it to make it a string)");
    expect_error("a: \"x\\0y\"\n", HS_ERR_PARSE,
                 "t.yaml:1:4: strings may not contain NUL characters");
    expect_error("{\"a\": \"\\u0000\"}", HS_ERR_PARSE, "t.yaml:1:7: strings may not contain NUL");
    expect_error("a: 1\nb: \xff\n", HS_ERR_PARSE, "t.yaml:2:4: invalid leading UTF-8 octet");
    expect_error("a: \xc3\xa9\xc3\xa9\x01\n", HS_ERR_PARSE,
                 "t.yaml:1:6: control characters are not allowed");
    expect_error("\xff\xfe"
                 "a\0",
                 HS_ERR_PARSE, "t.yaml:1:1: invalid leading UTF-8 octet");
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_ynode *root = NULL;
    CU_ASSERT_EQUAL(hs_yaml_parse("a: 1\n\0b: 2\n", 11, "t.yaml", &root, &err), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&err),
                           "t.yaml:2:1: control characters are not allowed (0x0)");
    hs_buf_free(&err);
    expect_error("{\"a\": \"\\ud83d\"}", HS_ERR_PARSE,
                 "t.yaml:1:10: found invalid Unicode character escape code (surrogate escapes "
                 "must come in pairs) (while parsing a quoted scalar that starts at line 1, "
                 "column 7)");
    expect_error("[\"\\ude00\\ud83d\"]", HS_ERR_PARSE, "t.yaml:1:5: found invalid Unicode");
    /* An escaped backslash before the first half: the second half is alone. */
    expect_error("[\"\\\\ud83d\\ude00\"]", HS_ERR_PARSE,
                 "t.yaml:1:2: found an unpaired surrogate escape");
    /* The joining is off when the input holds the characters it borrows. */
    expect_error("[\"\\ue800\", \"\\ud83d\\ude00\"]", HS_ERR_PARSE,
                 "t.yaml:1:15: found invalid Unicode character escape code");
    expect_error("a: b: c\n", HS_ERR_PARSE, "t.yaml:1:5: mapping values are not allowed");
    expect_error("- a\nb: 1\n", HS_ERR_PARSE, "t.yaml:2:1: did not find expected '-' indicator");
    expect_error("[1, 2]]", HS_ERR_PARSE, "t.yaml:1:7: did not find expected <document start>");
}

static void test_surrogates_outside_double_quotes(void)
{
    /* Only double-quoted scalars have escapes: elsewhere the text stays as written. */
    hs_ynode *root = parse_ok("p: \\uD83D\\uDE00 x\n"
                              "s: '\\ud83d\\ude00'\n"
                              "l: |\n  \\uD83D\\uDE00\n"
                              "d: \"\\uD83D\\uDE00\"\n"
                              "# \\uD83D\\uDE00 in a comment\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT(text_is(at(root, "p"), "\\uD83D\\uDE00 x"));
    CU_ASSERT(text_is(at(root, "s"), "\\ud83d\\ude00"));
    CU_ASSERT(text_is(at(root, "l"), "\\uD83D\\uDE00\n"));
    CU_ASSERT(text_is(at(root, "d"), "\xf0\x9f\x98\x80"));
    hs_yaml_destroy(root);
    /* Characters beyond the BMP written directly or as \U escapes need no help. */
    root = parse_ok("a: \"\xf0\x9f\x98\x80 \\U0001F600\"\n");
    CU_ASSERT(text_is(at(root, "a"), "\xf0\x9f\x98\x80 \xf0\x9f\x98\x80"));
    hs_yaml_destroy(root);
}

/* Builds "[[[...]]]" nested depth deep. */
static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 2 + 1);
    for (int i = 0; i < depth; i++) {
        s[i] = '[';
        s[depth * 2 - 1 - i] = ']';
    }
    s[depth * 2] = '\0';
    return s;
}

static void test_limits(void)
{
    char *ok = nested(HS_MP_MAX_DEPTH);
    hs_ynode *root = parse_ok(ok);
    hs_buf j;
    hs_buf_init(&j, 0);
    CU_ASSERT_STRING_EQUAL(json_of(root, &j), ok);
    hs_yaml_destroy(root);
    free(ok);
    char *deep = nested(HS_MP_MAX_DEPTH + 1);
    expect_error(deep, HS_ERR_LIMIT, "t.yaml:1:65: collections nested deeper than 64");
    free(deep);
    /* Block nesting counts the same. */
    hs_buf b;
    hs_buf_init(&b, 0);
    for (int i = 0; i < HS_MP_MAX_DEPTH + 1; i++)
        (void)hs_buf_printf(&b, "%*sk%d:\n", i, "", i);
    expect_error(hs_buf_cstr(&b), HS_ERR_LIMIT, "t.yaml:65:65: collections nested deeper");
    /* A million nodes pass, one more does not. */
    hs_buf_reset(&b);
    (void)hs_buf_putc(&b, '[');
    for (unsigned i = 0; i < HS_YAML_MAX_NODES - 1; i++)
        (void)hs_buf_puts(&b, i == 0 ? "0" : ",0");
    (void)hs_buf_putc(&b, ']');
    root = parse_ok(hs_buf_cstr(&b));
    CU_ASSERT_EQUAL(hs_ynode_len(root), HS_YAML_MAX_NODES - 1);
    hs_yaml_destroy(root);
    b.len--;
    (void)hs_buf_puts(&b, ",0]");
    expect_error(hs_buf_cstr(&b), HS_ERR_LIMIT, "t.yaml:1:2000000: more than 1000000 nodes");
    /* Input size. */
    hs_buf_reset(&b);
    (void)hs_buf_puts(&b, "a: ");
    while (b.len < HS_YAML_MAX_INPUT)
        (void)hs_buf_putc(&b, 'x');
    root = NULL;
    CU_ASSERT_EQUAL(hs_yaml_parse((const char *)b.data, b.len, "t.yaml", &root, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_ynode_kind(root), HS_YNODE_MAP);
    hs_yaml_destroy(root);
    (void)hs_buf_putc(&b, 'x');
    hs_buf err;
    hs_buf_init(&err, 0);
    CU_ASSERT_EQUAL(hs_yaml_parse((const char *)b.data, b.len, "t.yaml", &root, &err),
                    HS_ERR_LIMIT);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&err),
                           "t.yaml: input of 4194305 bytes is larger than 4194304 bytes");
    hs_buf_free(&err);
    hs_buf_free(&b);
    hs_buf_free(&j);
}

/* Every prefix of a valid document either parses or fails cleanly. */
static void check_prefixes(const char *doc)
{
    size_t len = strlen(doc);
    hs_buf err;
    hs_buf_init(&err, 0);
    size_t ok = 0;
    for (size_t n = 0; n <= len; n++) {
        /* A copy of exactly n bytes, so that reading past it is caught by ASan. */
        char *cut = malloc(n > 0 ? n : 1);
        memcpy(cut, doc, n);
        hs_ynode *root = NULL;
        hs_buf_reset(&err);
        int rc = hs_yaml_parse(cut, n, "t.yaml", &root, &err);
        if (rc == HS_OK) {
            ok++;
            hs_buf m;
            hs_buf_init(&m, 0);
            CU_ASSERT_EQUAL(hs_ynode_to_mpack(root, &m, NULL), HS_OK);
            hs_buf_free(&m);
        } else {
            CU_ASSERT(rc == HS_ERR_PARSE);
            CU_ASSERT_NSTRING_EQUAL(hs_buf_cstr(&err), "t.yaml:", 7);
            CU_ASSERT_PTR_NULL(root);
        }
        hs_yaml_destroy(root);
        free(cut);
    }
    CU_ASSERT(ok > 0);
    hs_buf_free(&err);
}

static void test_truncated_documents(void)
{
    check_prefixes(design_yaml);
    check_prefixes(design_json);
    check_prefixes("a: \"x\\u00e9\\ud83d\\ude00\"\nb: |\n  t\nc: [1, {d: 'e''f'}]\n");
}

static void test_to_mpack_and_json(void)
{
    hs_ynode *root = parse_ok("s: text\n"
                              "i: -42\n"
                              "big: 300\n"
                              "f: 1.5\n"
                              "b: true\n"
                              "n: ~\n"
                              "q: \"007\"\n"
                              "1: int key\n"
                              "null: null key\n"
                              "seq: [a, 2]\n"
                              "inf: -.inf\n"
                              "nan: .nan\n"
                              "u: \"\\u00e9\\t\"\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    hs_buf m, err, j;
    hs_buf_init(&m, 0);
    hs_buf_init(&err, 0);
    hs_buf_init(&j, 0);
    (void)hs_buf_puts(&m, "pre");
    CU_ASSERT_EQUAL(hs_ynode_to_mpack(root, &m, &err), HS_OK);
    CU_ASSERT_EQUAL(memcmp(m.data, "pre", 3), 0);
    /* Canonical: a map of 13 string keys, smallest integers, float64. */
    CU_ASSERT_EQUAL(m.data[3], 0x8d);
    hs_mp_reader r;
    hs_mp_reader_init(&r, m.data + 3, m.len - 3);
    hs_mp_field fields[16];
    size_t n = 0;
    CU_ASSERT_EQUAL(hs_mp_map_index(m.data + 3, m.len - 3, fields, 16, &n, NULL), HS_OK);
    CU_ASSERT_EQUAL(n, 13);
    const hs_mp_field *fi = hs_mp_field_find(fields, n, "i");
    CU_ASSERT(fi != NULL && fi->vlen == 2 && fi->val[0] == 0xd0); /* -42 as int8 */
    const hs_mp_field *fb = hs_mp_field_find(fields, n, "big");
    CU_ASSERT(fb != NULL && fb->vlen == 3 && fb->val[0] == 0xcd); /* uint16 */
    const hs_mp_field *ff = hs_mp_field_find(fields, n, "f");
    CU_ASSERT(ff != NULL && ff->vlen == 9 && ff->val[0] == 0xcb); /* float64 */
    const hs_mp_field *fn = hs_mp_field_find(fields, n, "nan");
    CU_ASSERT(fn != NULL && fn->vlen == 9 && fn->val[0] == 0xcb);
    CU_ASSERT_PTR_NOT_NULL(hs_mp_field_find(fields, n, "1"));
    CU_ASSERT_PTR_NOT_NULL(hs_mp_field_find(fields, n, "null"));
    CU_ASSERT_STRING_EQUAL(
        json_of(root, &j),
        "{\"s\":\"text\",\"i\":-42,\"big\":300,\"f\":1.5,\"b\":true,\"n\":null,"
        "\"q\":\"007\",\"1\":\"int key\",\"null\":\"null key\",\"seq\":[\"a\",2],"
        "\"inf\":null,\"nan\":null,\"u\":\"\xc3\xa9\\t\"}");
    /* The JSON written reads back to the same msgpack (NaN and inf aside). */
    hs_ynode *back = parse_ok("{\"s\":\"text\",\"i\":-42,\"seq\":[\"a\",2],\"u\":\"\xc3\xa9\\t\"}");
    CU_ASSERT_STRING_EQUAL(json_of(back, &j),
                           "{\"s\":\"text\",\"i\":-42,\"seq\":[\"a\",2],\"u\":\"\xc3\xa9\\t\"}");
    hs_yaml_destroy(back);
    /* A subtree alone. */
    CU_ASSERT_STRING_EQUAL(json_of(at(root, "seq"), &j), "[\"a\",2]");
    CU_ASSERT_STRING_EQUAL(json_of(at(root, "seq/#1"), &j), "2");
    /* Output failures restore the buffer and name the node. */
    hs_buf small;
    hs_buf_init(&small, 20);
    (void)hs_buf_puts(&small, "ab");
    CU_ASSERT_EQUAL(hs_ynode_to_mpack(root, &small, &err), HS_ERR_LIMIT);
    CU_ASSERT_EQUAL(small.len, 2);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&err), "t.yaml:3:6: output exceeds its size bound");
    hs_buf_reset(&small);
    CU_ASSERT_EQUAL(hs_ynode_to_json(root, &small), HS_ERR_LIMIT);
    CU_ASSERT_EQUAL(small.len, 0);
    CU_ASSERT_EQUAL(hs_ynode_to_mpack(NULL, &m, NULL), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_ynode_to_json(root, NULL), HS_ERR_INVAL);
    hs_buf_free(&small);
    hs_buf_free(&m);
    hs_buf_free(&err);
    hs_buf_free(&j);
    hs_yaml_destroy(root);
}

/* Every allocation of a parse may fail: the result is HS_ERR_NOMEM or success, never a leak. */
static void test_allocation_failures(void)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    (void)hs_buf_reserve(&err, 1024);
    int failures = 0;
    for (long n = 0; n < 10000; n++) {
        hs_ynode *root = NULL;
        hs_alloc_fail_after(n);
        int rc = hs_yaml_parse(design_json, strlen(design_json), "t.yaml", &root, &err);
        hs_buf j;
        hs_buf_init(&j, 0);
        int jrc = rc == HS_OK ? hs_ynode_to_json(root, &j) : HS_OK;
        hs_alloc_fail_after(-1);
        hs_buf_free(&j);
        hs_yaml_destroy(root);
        if (rc == HS_OK && jrc == HS_OK)
            break;
        CU_ASSERT(rc == HS_ERR_NOMEM || (rc == HS_OK && jrc == HS_ERR_NOMEM));
        failures++;
    }
    CU_ASSERT(failures > 3);
    hs_buf_free(&err);
}

HS_TEST_INIT(yaml)
{
    HS_TEST_SUITE_BEGIN("yaml");
    HS_TEST(test_design_example);
    HS_TEST(test_design_example_as_json);
    HS_TEST(test_json_documents);
    HS_TEST(test_scalar_typing);
    HS_TEST(test_quoted_and_tagged_scalars);
    HS_TEST(test_flow_and_block_styles);
    HS_TEST(test_multiline_strings);
    HS_TEST(test_comments_and_layout);
    HS_TEST(test_empty_documents);
    HS_TEST(test_errors_with_positions);
    HS_TEST(test_surrogates_outside_double_quotes);
    HS_TEST(test_limits);
    HS_TEST(test_truncated_documents);
    HS_TEST(test_to_mpack_and_json);
    HS_TEST(test_allocation_failures);
    return 0;
}
