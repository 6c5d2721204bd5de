/*
 * Tests of hs-api's pure helpers (services/api/core/apicore.c) and of the
 * form decoding it uses (common/hs_form.c): form bodies are decoded into
 * parameters without touching the body; the dashboard's
 * paths stay inside its directory; the broker's extra copies of a live
 * message are told from new messages; a CSV field of stream data reads back
 * as the same value; without accounts, only this machine's own clients are
 * answered.
 */
#include "test_suites.h"

#include "apicore.h"
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_csv.h"
#include "hs_error.h"
#include "hs_form.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

/* The pair i (key, value) of a parsed form. */
static void form_pair(const hs_buf *f, size_t i, const char **k, const char **v)
{
    const char *p = (const char *)f->data;
    for (size_t j = 0; j < i; j++) {
        p += strlen(p) + 1;
        p += strlen(p) + 1;
    }
    *k = p;
    *v = p + strlen(p) + 1;
}

static void test_form_parse(void)
{
    /* curl's default Content-Type on a body that is data, not a form: it must stay as sent. */
    char body[] = "query=up%7Ba%3D%221+2%22%7D&step=15&empty=&bare&bad=%4&nul=%00x&end=%41";
    const char *copy = "query=up%7Ba%3D%221+2%22%7D&step=15&empty=&bare&bad=%4&nul=%00x&end=%41";
    hs_buf f;
    hs_buf_init(&f, 0);
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(hs_form_parse(body, strlen(body), &f, &n), HS_OK);
    CU_ASSERT_STRING_EQUAL(body, copy);
    CU_ASSERT_EQUAL_FATAL(n, 7);
    static const char *const want[][2] = {{"query", "up{a=\"1 2\"}"},
                                          {"step", "15"},
                                          {"empty", ""},
                                          {"bare", ""},
                                          {"bad", "%4"},
                                          {"nul", "%00x"},
                                          {"end", "A"}};
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        form_pair(&f, i, &k, &v);
        CU_ASSERT_STRING_EQUAL(k, want[i][0]);
        CU_ASSERT_STRING_EQUAL(v, want[i][1]);
    }
    /* An escape cut by the end of the body is kept, and no byte past the end is read. */
    char cut[4] = {'a', '=', '%', '4'};
    hs_buf_reset(&f);
    CU_ASSERT_EQUAL(hs_form_parse(cut, sizeof cut, &f, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL_FATAL(f.len, 5);
    CU_ASSERT_EQUAL(memcmp(f.data, "a\0%4\0", 5), 0);
    /* An empty body has no pairs. */
    hs_buf_reset(&f);
    CU_ASSERT_EQUAL(hs_form_parse("", 0, &f, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 0);
    hs_buf_free(&f);
}

static void test_static_path(void)
{
    CU_ASSERT_TRUE(apic_static_path_ok("/"));
    CU_ASSERT_TRUE(apic_static_path_ok("/index.html"));
    CU_ASSERT_TRUE(apic_static_path_ok("/assets/app.1a2b.js"));
    CU_ASSERT_TRUE(apic_static_path_ok("/a..b/c.js")); /* dots inside a name are a name */
    CU_ASSERT_TRUE(apic_static_path_ok("/.well-known/x"));
    /* Appended to web_dir, these leave it: a sibling with the same start, or a parent. */
    CU_ASSERT_FALSE(apic_static_path_ok("-private/key"));
    CU_ASSERT_FALSE(apic_static_path_ok("file.txt"));
    CU_ASSERT_FALSE(apic_static_path_ok(""));
    CU_ASSERT_FALSE(apic_static_path_ok("/.."));
    CU_ASSERT_FALSE(apic_static_path_ok("/../x"));
    CU_ASSERT_FALSE(apic_static_path_ok("/a/../../x"));
    CU_ASSERT_FALSE(apic_static_path_ok("//..//x"));
    CU_ASSERT_FALSE(apic_static_path_ok("/a/.."));
    CU_ASSERT_FALSE(apic_static_path_ok("/./x"));
    CU_ASSERT_FALSE(apic_static_path_ok("/a/."));
}

static void test_copies(void)
{
    apic_copies c;
    apic_copies_init(&c);
    /* One matching subscription: every message is new, also the same one again. */
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 1));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 1));
    /* Three: the two copies that follow are not, the next one is. */
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 3));
    CU_ASSERT_FALSE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 3));
    CU_ASSERT_FALSE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 3));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 3));
    /* Another payload or topic is a new message, not a copy (a copy came short). */
    CU_ASSERT_FALSE(apic_copies_first(&c, "hs/s/t/k=1", "ab", 2, 3));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=1", "ac", 2, 2));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=2", "ac", 2, 2));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=2", "a", 1, 2));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=2x", "a", 1, 2));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/t/k=2", "", 0, 2));
    CU_ASSERT_FALSE(apic_copies_first(&c, "hs/s/t/k=2", "", 0, 2));
    /* The topic and the payload are told apart where they meet. */
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/a", "bc", 2, 2));
    CU_ASSERT_TRUE(apic_copies_first(&c, "hs/s/ab", "c", 1, 2));
    apic_copies_free(&c);
}

/*
 * The CSV field of the value that ingest reads from the JSON text json, and
 * whether that field, read back as POST /api/v1/write reads CSV, is the same
 * value (same msgpack).
 */
static bool csv_field(const char *json, const char *want_field)
{
    hs_batch in, back;
    hs_batch_init(&in);
    hs_batch_init(&back);
    hs_buf doc;
    hs_buf_init(&doc, 0);
    bool ok = hs_codec_decode_text(json, strlen(json), 0, &in) == HS_OK && in.n == 1 &&
              hs_buf_puts(&doc, "v\n") == HS_OK &&
              apic_csv_value(&doc, hs_batch_value(&in, 0), in.items[0].len) == HS_OK &&
              hs_buf_puts(&doc, "\n") == HS_OK;
    const char *text = hs_buf_cstr(&doc);
    if (ok && strcmp(text + 2, want_field) != 0) {
        fprintf(stderr, "\nvalue %s: CSV field %s, want %s", json, text + 2, want_field);
        ok = false;
    }
    hs_csv_reader cr;
    hs_csv_init(&cr, text, doc.len);
    hs_csv_field *f = NULL;
    size_t n = 0;
    bool done = false;
    ok = ok && hs_csv_next(&cr, &f, &n, &done) == HS_OK && !done &&
         hs_csv_next(&cr, &f, &n, &done) == HS_OK && !done && n == 1 &&
         hs_codec_decode_text(f[0].s, f[0].len, 0, &back) == HS_OK && back.n == 1 &&
         back.items[0].len == in.items[0].len &&
         memcmp(hs_batch_value(&back, 0), hs_batch_value(&in, 0), in.items[0].len) == 0;
    if (!ok)
        fprintf(stderr, "\nvalue %s: CSV field %s does not read back", json, text + 2);
    hs_csv_free(&cr);
    hs_buf_free(&doc);
    hs_batch_free(&in);
    hs_batch_free(&back);
    return ok;
}

static void test_csv_value(void)
{
    /* Bare when the text alone reads back as the same value. */
    CU_ASSERT_TRUE(csv_field("\"on\"", "on\n"));
    CU_ASSERT_TRUE(csv_field("\"heating_2\"", "heating_2\n"));
    CU_ASSERT_TRUE(csv_field("12", "12\n"));
    CU_ASSERT_TRUE(csv_field("-2.5", "-2.5\n"));
    CU_ASSERT_TRUE(csv_field("true", "true\n"));
    CU_ASSERT_TRUE(csv_field("null", "null\n"));
    CU_ASSERT_TRUE(csv_field("[1]", "[1]\n"));
    /* Strings that would read back as something else, or not at all, keep their quotes. */
    CU_ASSERT_TRUE(csv_field("\"12\"", "\"\"\"12\"\"\"\n"));
    CU_ASSERT_TRUE(csv_field("\"true\"", "\"\"\"true\"\"\"\n"));
    CU_ASSERT_TRUE(csv_field("\"null\"", "\"\"\"null\"\"\"\n"));
    CU_ASSERT_TRUE(csv_field("\"[1]\"", "\"\"\"[1]\"\"\"\n"));
    CU_ASSERT_TRUE(csv_field("\"living room\"", "\"\"\"living room\"\"\"\n"));
    CU_ASSERT_TRUE(csv_field("\" x\"", "\"\"\" x\"\"\"\n"));
    CU_ASSERT_TRUE(csv_field("\"a,b\"", "\"\"\"a,b\"\"\"\n"));
    CU_ASSERT_TRUE(csv_field("\"say \\\"hi\\\"\"", "\"\"\"say \\\"\"hi\\\"\"\"\"\"\n"));
    CU_ASSERT_TRUE(csv_field("\"line\\nbreak\"", "\"\"\"line\\nbreak\"\"\"\n"));
    CU_ASSERT_TRUE(csv_field("\"\xc3\xa9t\xc3\xa9\"", "\"\"\"\xc3\xa9t\xc3\xa9\"\"\"\n"));
    CU_ASSERT_TRUE(csv_field("\"\"", "\"\"\"\"\"\"\n"));
    CU_ASSERT_TRUE(csv_field("{\"a\":1,\"b\":\"x\"}", "\"{\"\"a\"\":1,\"\"b\"\":\"\"x\"\"}\"\n"));
}

static void test_local_request(void)
{
    /* curl, Telegraf, Grafana's server: a loopback Host, no Origin. */
    CU_ASSERT_TRUE(apic_local_request_ok("127.0.0.1:8180", NULL, "127.0.0.1"));
    CU_ASSERT_TRUE(apic_local_request_ok("localhost:8180", NULL, "127.0.0.1"));
    CU_ASSERT_TRUE(apic_local_request_ok("LOCALHOST", NULL, "127.0.0.1"));
    CU_ASSERT_TRUE(apic_local_request_ok("127.1.2.3", NULL, "127.0.0.1"));
    CU_ASSERT_TRUE(apic_local_request_ok("[::1]:8180", NULL, "::1"));
    CU_ASSERT_TRUE(apic_local_request_ok("[::1]", NULL, "127.0.0.1"));
    CU_ASSERT_TRUE(apic_local_request_ok(NULL, NULL, "127.0.0.1")); /* HTTP/1.0 */
    /* The dashboard's own requests: Origin is the hs-api the browser asked. */
    CU_ASSERT_TRUE(apic_local_request_ok("127.0.0.1:8180", "http://127.0.0.1:8180", "127.0.0.1"));
    CU_ASSERT_TRUE(apic_local_request_ok("localhost:8180", "https://localhost:8180", "127.0.0.1"));
    /* A page of another site: its Origin (CSRF), or its name resolving here (DNS rebinding). */
    CU_ASSERT_FALSE(apic_local_request_ok("127.0.0.1:8180", "http://evil.example", "127.0.0.1"));
    CU_ASSERT_FALSE(apic_local_request_ok("127.0.0.1:8180", "http://127.0.0.1:9999", "127.0.0.1"));
    CU_ASSERT_FALSE(apic_local_request_ok("127.0.0.1:8180", "null", "127.0.0.1"));
    CU_ASSERT_FALSE(apic_local_request_ok(NULL, "http://evil.example", "127.0.0.1"));
    CU_ASSERT_FALSE(apic_local_request_ok("evil.example:8180", NULL, "127.0.0.1"));
    CU_ASSERT_FALSE(
        apic_local_request_ok("evil.example:8180", "http://evil.example:8180", "127.0.0.1"));
    CU_ASSERT_FALSE(apic_local_request_ok("127.0.0.1.evil.example", NULL, "127.0.0.1"));
    CU_ASSERT_FALSE(apic_local_request_ok("localhost.evil.example", NULL, "127.0.0.1"));
    CU_ASSERT_FALSE(apic_local_request_ok("127.0.0.1.", NULL, "127.0.0.1"));
    CU_ASSERT_FALSE(apic_local_request_ok("127.0.0.256", NULL, "127.0.0.1"));
    CU_ASSERT_FALSE(apic_local_request_ok("127.0.0", NULL, "127.0.0.1"));
    CU_ASSERT_FALSE(apic_local_request_ok("", NULL, "127.0.0.1"));
}

HS_TEST_INIT(apicore)
{
    HS_TEST_SUITE_BEGIN("apicore");
    HS_TEST(test_form_parse);
    HS_TEST(test_static_path);
    HS_TEST(test_copies);
    HS_TEST(test_csv_value);
    HS_TEST(test_local_request);
    return 0;
}
