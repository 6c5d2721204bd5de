/*
 * Tests of hs_readings: the bodies of /api/v1/write (an MQTT payload of one
 * stream, JSON lines of payloads or of records, CSV with a header) turn into
 * readings by stream with the times and values worked out by hand; bad
 * bodies are refused with the line at fault.
 */
#include "test_suites.h"

#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_readings.h"

#include <CUnit/CUnit.h>
#include <string.h>

/* 2026-01-01T00:00:00Z, the arrival time of every parse below. */
#define ARRIVAL_US 1767225600000000LL

/* "sid t_us json-value" lines of every reading, streams in first-seen order. */
static void dump(const hs_readings *w, hs_buf *out)
{
    hs_buf_reset(out);
    for (size_t i = 0; i < w->n; i++) {
        hs_batch *b = hs_readings_batch(w, i);
        for (size_t k = 0; k < b->n; k++) {
            hs_buf line;
            hs_buf_init(&line, 0);
            CU_ASSERT_EQUAL(hs_codec_encode_json_line(b->items[k].t_us, hs_batch_value(b, k),
                                                      b->items[k].len, &line),
                            HS_OK);
            (void)hs_buf_printf(out, "%s %lld %s", w->order[i], (long long)b->items[k].t_us,
                                hs_buf_cstr(&line));
            hs_buf_free(&line);
        }
    }
}

static int parse(hs_readings_form f, const char *sid, const char *body, hs_buf *out, size_t *line)
{
    hs_readings w;
    hs_readings_init(&w);
    int rc = hs_readings_parse(&w, f, sid, body, strlen(body), ARRIVAL_US, line);
    if (rc == HS_OK)
        dump(&w, out);
    hs_readings_free(&w);
    return rc;
}

static void test_payload(void)
{
    hs_buf out;
    hs_buf_init(&out, 0);
    CU_ASSERT_EQUAL(parse(HS_READINGS_PAYLOAD, "p/h=1",
                          "[{\"t\":1767225660,\"v\":1},{\"t\":\"2026-01-01T00:02:00Z\",\"v\":2}]",
                          &out, NULL),
                    HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out),
                           "p/h=1 1767225660000000 {\"t\":\"2026-01-01T00:01:00Z\",\"v\":1}\n"
                           "p/h=1 1767225720000000 {\"t\":\"2026-01-01T00:02:00Z\",\"v\":2}\n");
    /* A bare value is stamped on arrival. */
    CU_ASSERT_EQUAL(parse(HS_READINGS_PAYLOAD, "p/h=1", "21.5", &out, NULL), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out),
                           "p/h=1 1767225600000000 {\"t\":\"2026-01-01T00:00:00Z\",\"v\":21.5}\n");
    CU_ASSERT_EQUAL(parse(HS_READINGS_PAYLOAD, "p/h=1", "{\"t\":1,\"v\":", &out, NULL),
                    HS_ERR_PARSE);
    CU_ASSERT_EQUAL(parse(HS_READINGS_PAYLOAD, "p/h=1", "", &out, NULL), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "empty"));
    hs_buf_free(&out);
}

static void test_lines(void)
{
    hs_buf out;
    hs_buf_init(&out, 0);
    /* Records: streams canonical (pairs sorted), first-seen order, t ISO, epoch or absent. */
    const char *body = "{\"stream\":\"p/z=1/a=2\",\"t\":1767225660,\"v\":5}\r\n"
                       "\n"
                       "  \n"
                       "{\"v\":{\"a\":[1,true]},\"stream\":\"q\"}\n"
                       "{\"stream\":\"p/a=2/z=1\",\"t\":\"1767225720.5\",\"v\":\"on\"}";
    CU_ASSERT_EQUAL(parse(HS_READINGS_LINES, NULL, body, &out, NULL), HS_OK);
    CU_ASSERT_STRING_EQUAL(
        hs_buf_cstr(&out),
        "p/a=2/z=1 1767225660000000 {\"t\":\"2026-01-01T00:01:00Z\",\"v\":5}\n"
        "p/a=2/z=1 1767225720500000 {\"t\":\"2026-01-01T00:02:00.500000Z\",\"v\":\"on\"}\n"
        "q 1767225600000000 {\"t\":\"2026-01-01T00:00:00Z\",\"v\":{\"a\":[1,true]}}\n");
    /* Payloads of one stream: a bare word, an instance object. */
    CU_ASSERT_EQUAL(parse(HS_READINGS_LINES, "s", "on\n{\"t\":1767225660,\"v\":2}\n", &out, NULL),
                    HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out),
                           "s 1767225600000000 {\"t\":\"2026-01-01T00:00:00Z\",\"v\":\"on\"}\n"
                           "s 1767225660000000 {\"t\":\"2026-01-01T00:01:00Z\",\"v\":2}\n");
    hs_buf_free(&out);
}

static void test_lines_errors(void)
{
    hs_buf out;
    hs_buf_init(&out, 0);
    size_t line = 0;
    const char *bad[][2] = {
        {"{\"stream\":\"p\",\"v\":1}\n{\"stream\":\"p\",\"t\":\"yesterday\",\"v\":2}\n", "time"},
        {"{\"stream\":\"p\",\"v\":1}\n{\"stream\":\"p\"}\n", "\"v\""},
        {"{\"stream\":\"p\",\"v\":1}\n{\"stream\":\"bad id\",\"v\":1}\n", "stream id"},
        {"{\"stream\":\"p\",\"v\":1}\n{\"stream\":\"p\",\"v\":1,\"x\":2}\n", "unknown member"},
        {"{\"stream\":\"p\",\"v\":1}\n{\"stream\":\"p\",\"v\":1\n", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_NOT_EQUAL(parse(HS_READINGS_LINES, NULL, bad[i][0], &out, &line), HS_OK);
        CU_ASSERT_EQUAL(line, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), bad[i][1]));
    }
    hs_buf_free(&out);
}

static void test_csv(void)
{
    hs_buf out;
    hs_buf_init(&out, 0);
    const char *body = "stream,t,v\r\n"
                       "p/h=3,2026-01-01T00:01:00Z,7.5\r\n"
                       "p/h=3,1767225720,on\r\n"
                       "\"p/h=4\",,\"{\"\"a\"\":1}\"\r\n";
    CU_ASSERT_EQUAL(parse(HS_READINGS_CSV, NULL, body, &out, NULL), HS_OK);
    CU_ASSERT_STRING_EQUAL(
        hs_buf_cstr(&out),
        "p/h=3 1767225660000000 {\"t\":\"2026-01-01T00:01:00Z\",\"v\":7.5}\n"
        "p/h=3 1767225720000000 {\"t\":\"2026-01-01T00:02:00Z\",\"v\":\"on\"}\n"
        "p/h=4 1767225600000000 {\"t\":\"2026-01-01T00:00:00Z\",\"v\":{\"a\":1}}\n");
    /* The stream given: columns t and v in any order, or their longer names in any case. */
    CU_ASSERT_EQUAL(parse(HS_READINGS_CSV, "s", "Time,Value\n1767225660,2\n", &out, NULL), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out),
                           "s 1767225660000000 {\"t\":\"2026-01-01T00:01:00Z\",\"v\":2}\n");
    CU_ASSERT_EQUAL(parse(HS_READINGS_CSV, "s", "time,temp\n1,2\n", &out, NULL), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "unknown column 'temp' (want t and v)"));
    CU_ASSERT_EQUAL(parse(HS_READINGS_CSV, "s", "v,t\n1,1767225660\n", &out, NULL), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&out),
                           "s 1767225660000000 {\"t\":\"2026-01-01T00:01:00Z\",\"v\":1}\n");
    size_t line = 0;
    CU_ASSERT_EQUAL(parse(HS_READINGS_CSV, NULL, "t,v\n1,2\n", &out, &line), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "stream"));
    CU_ASSERT_EQUAL(parse(HS_READINGS_CSV, "s", "stream,t,v\np,1,2\n", &out, &line), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(parse(HS_READINGS_CSV, NULL, "stream,t,x\n", &out, &line), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "unknown column 'x'"));
    CU_ASSERT_EQUAL(parse(HS_READINGS_CSV, NULL, "stream,t,v\np,1,2\np,nope,3\n", &out, &line),
                    HS_ERR_PARSE);
    CU_ASSERT_EQUAL(line, 3);
    CU_ASSERT_EQUAL(parse(HS_READINGS_CSV, NULL, "stream,t,v\np,1\n", &out, &line), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(line, 2);
    hs_buf_free(&out);
}

HS_TEST_INIT(readings)
{
    HS_TEST_SUITE_BEGIN("readings");
    HS_TEST(test_payload);
    HS_TEST(test_lines);
    HS_TEST(test_lines_errors);
    HS_TEST(test_csv);
    return 0;
}
