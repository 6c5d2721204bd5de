/* Tests of hs_config: every layer and its precedence, every type, every error path. */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_config.h"
#include "hs_error.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct test_cfg {
    char *broker_url; /* owned */
    char *password;   /* owned, secret */
    char *note;       /* owned, default NULL */
    int64_t port;
    int64_t pin; /* secret */
    bool verbose;
    int64_t timeout_us; /* duration */
    int64_t batch_max;  /* size */
} test_cfg;

static const hs_cfg_item test_table[] = {
    {"broker_url", HS_CFG_STR, "tcp://localhost:1883", offsetof(test_cfg, broker_url), false,
     "broker"},
    {"password", HS_CFG_STR, NULL, offsetof(test_cfg, password), true, "password"},
    {"note", HS_CFG_STR, NULL, offsetof(test_cfg, note), false, "free text"},
    {"port", HS_CFG_INT, "1883", offsetof(test_cfg, port), false, "port"},
    {"pin", HS_CFG_INT, "1234", offsetof(test_cfg, pin), true, "pin"},
    {"verbose", HS_CFG_BOOL, "false", offsetof(test_cfg, verbose), false, "chatty"},
    {"timeout", HS_CFG_DURATION, "5s", offsetof(test_cfg, timeout_us), false, "timeout"},
    {"batch_max", HS_CFG_SIZE, "64k", offsetof(test_cfg, batch_max), false, "batch bound"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

/* Path of the last file written by write_temp; removed by remove_temp. */
static char temp_path[64];

static const char *write_temp(const char *text, size_t len)
{
    snprintf(temp_path, sizeof temp_path, "/tmp/hs_test_config_XXXXXX");
    int fd = mkstemp(temp_path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, text, len) == (ssize_t)len);
    close(fd);
    return temp_path;
}

static void remove_temp(void)
{
    unlink(temp_path);
}

/* Loads text as a config file into c; returns the result code. */
static int load_text(test_cfg *c, const char *text)
{
    const char *path = write_temp(text, strlen(text));
    int rc = hs_config_load_file(test_table, c, path);
    remove_temp();
    return rc;
}

/* The detail of the last error with the temp file's path replaced by "F". */
static const char *detail_without_path(void)
{
    static char buf[600];
    const char *d = hs_err_detail();
    size_t n = strlen(temp_path);
    if (strncmp(d, temp_path, n) == 0)
        snprintf(buf, sizeof buf, "F%s", d + n);
    else
        snprintf(buf, sizeof buf, "%s", d);
    return buf;
}

static const char *get_text(const test_cfg *c, const char *name)
{
    static char buf[256];
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hs_config_get(test_table, c, name, &b);
    snprintf(buf, sizeof buf, "%s", rc == HS_OK ? hs_buf_cstr(&b) : "<error>");
    hs_buf_free(&b);
    return buf;
}

static void test_defaults(void)
{
    test_cfg c;
    memset(&c, 0xA5, sizeof c); /* defaults must not read what was there */
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.broker_url, "tcp://localhost:1883");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.password);
    CU_ASSERT_STRING_EQUAL(c.password, "");
    CU_ASSERT_STRING_EQUAL(c.note, "");
    CU_ASSERT_EQUAL(c.port, 1883);
    CU_ASSERT_EQUAL(c.pin, 1234);
    CU_ASSERT_FALSE(c.verbose);
    CU_ASSERT_EQUAL(c.timeout_us, 5 * HS_US_PER_S);
    CU_ASSERT_EQUAL(c.batch_max, 64 * 1024);
    hs_config_free(test_table, &c);
    CU_ASSERT_PTR_NULL(c.broker_url);
    CU_ASSERT_PTR_NULL(c.password);
    hs_config_free(test_table, &c); /* a second free is harmless */
    hs_config_free(NULL, &c);
    hs_config_free(test_table, NULL);
}

static void test_defaults_zero_when_null(void)
{
    typedef struct {
        int64_t n;
        bool b;
        int64_t d;
        int64_t s;
    } zcfg;
    static const hs_cfg_item t[] = {
        {"n", HS_CFG_INT, NULL, offsetof(zcfg, n), false, ""},
        {"b", HS_CFG_BOOL, NULL, offsetof(zcfg, b), false, ""},
        {"d", HS_CFG_DURATION, NULL, offsetof(zcfg, d), false, ""},
        {"s", HS_CFG_SIZE, NULL, offsetof(zcfg, s), false, ""},
        {NULL, HS_CFG_STR, NULL, 0, false, NULL},
    };
    zcfg z;
    memset(&z, 0xFF, sizeof z);
    CU_ASSERT_EQUAL(hs_config_defaults(t, &z), HS_OK);
    CU_ASSERT_EQUAL(z.n, 0);
    CU_ASSERT_FALSE(z.b);
    CU_ASSERT_EQUAL(z.d, 0);
    CU_ASSERT_EQUAL(z.s, 0);
}

static void test_bad_default_is_reported(void)
{
    typedef struct {
        char *a;
        int64_t n;
        char *b;
    } bcfg;
    static const hs_cfg_item t[] = {
        {"a", HS_CFG_STR, "x", offsetof(bcfg, a), false, ""},
        {"n", HS_CFG_INT, "12x", offsetof(bcfg, n), false, ""},
        {"b", HS_CFG_STR, "y", offsetof(bcfg, b), false, ""},
        {NULL, HS_CFG_STR, NULL, 0, false, NULL},
    };
    bcfg c;
    memset(&c, 0x5A, sizeof c);
    CU_ASSERT_EQUAL(hs_config_defaults(t, &c), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "default of setting 'n': '12x' is not an integer");
    CU_ASSERT_PTR_NULL(c.a);
    CU_ASSERT_PTR_NULL(c.b);
}

static void test_int_values(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", "-9223372036854775808"), HS_OK);
    CU_ASSERT_EQUAL(c.port, INT64_MIN);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", "9223372036854775807"), HS_OK);
    CU_ASSERT_EQUAL(c.port, INT64_MAX);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", "+42"), HS_OK);
    CU_ASSERT_EQUAL(c.port, 42);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", " \t7 "), HS_OK);
    CU_ASSERT_EQUAL(c.port, 7);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", "0"), HS_OK);
    CU_ASSERT_EQUAL(c.port, 0);

    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", "9223372036854775808"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "setting 'port': '9223372036854775808' is out of "
                                            "range of a 64-bit integer");
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", "-9223372036854775809"), HS_ERR_CONFIG);
    const char *bad[] = {"", "12a", "0x10", "1.5", "--1", "+", "1 2", "1e3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", bad[i]), HS_ERR_CONFIG);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "is not an integer"));
    }
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", "abc"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "setting 'port': 'abc' is not an integer");
    CU_ASSERT_EQUAL(c.port, 0); /* unchanged by the failures */
    CU_ASSERT_STRING_EQUAL(get_text(&c, "port"), "0");
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", "-17"), HS_OK);
    CU_ASSERT_STRING_EQUAL(get_text(&c, "port"), "-17");
    hs_config_free(test_table, &c);
}

static void test_bool_values(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    const char *yes[] = {"true", "TRUE", "Yes", "on", "1", " on "};
    const char *no[] = {"false", "False", "no", "OFF", "0", "\tno"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        c.verbose = false;
        CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "verbose", yes[i]), HS_OK);
        CU_ASSERT_TRUE(c.verbose);
        CU_ASSERT_STRING_EQUAL(get_text(&c, "verbose"), "true");
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        c.verbose = true;
        CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "verbose", no[i]), HS_OK);
        CU_ASSERT_FALSE(c.verbose);
        CU_ASSERT_STRING_EQUAL(get_text(&c, "verbose"), "false");
    }
    const char *bad[] = {"", "maybe", "2", "tru", "truex", "y", "o"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "verbose", bad[i]), HS_ERR_CONFIG);
        CU_ASSERT_FALSE(c.verbose);
    }
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "verbose", "maybe"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "setting 'verbose': 'maybe' is not a boolean "
                                            "(true/false, yes/no, on/off, 1/0)");
    hs_config_free(test_table, &c);
}

static void test_duration_values(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    CU_ASSERT_STRING_EQUAL(get_text(&c, "timeout"), "5s");
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "timeout", "1h30m"), HS_OK);
    CU_ASSERT_EQUAL(c.timeout_us, 90 * HS_US_PER_MIN);
    CU_ASSERT_STRING_EQUAL(get_text(&c, "timeout"), "1h30m");
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "timeout", " 250ms "), HS_OK);
    CU_ASSERT_EQUAL(c.timeout_us, 250 * HS_US_PER_MS);
    CU_ASSERT_STRING_EQUAL(get_text(&c, "timeout"), "250ms");
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "timeout", "60"), HS_OK);
    CU_ASSERT_EQUAL(c.timeout_us, 60 * HS_US_PER_S);

    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "timeout", "5q"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(),
                           "setting 'timeout': '5q' is not a duration (e.g. 250ms, 5s, 1h30m)");
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "timeout", ""), HS_ERR_CONFIG);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "timeout", "99999999999999999999d"),
                    HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(),
                           "setting 'timeout': duration '99999999999999999999d' is out of range");
    CU_ASSERT_EQUAL(c.timeout_us, 60 * HS_US_PER_S);
    hs_config_free(test_table, &c);
}

static void test_parse_size(void)
{
    static const struct {
        const char *text;
        int64_t bytes;
    } good[] = {
        {"0", 0},
        {"1000", 1000},
        {"64k", 64 * 1024},
        {"64K", 64 * 1024},
        {"8M", 8 * 1024 * 1024},
        {"8m", 8 * 1024 * 1024},
        {"1G", 1024LL * 1024 * 1024},
        {"3g", 3LL * 1024 * 1024 * 1024},
        {"9223372036854775807", INT64_MAX},
        {"8589934591G", 8589934591LL * 1024 * 1024 * 1024},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t v = -1;
        CU_ASSERT_EQUAL(hs_config_parse_size(good[i].text, &v), HS_OK);
        CU_ASSERT_EQUAL(v, good[i].bytes);
    }
    const char *bad[] = {"", "k", "-1", "+1", "1.5M", " 1k", "1k ", "1kb", "1T", "1 k", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 77;
        CU_ASSERT_EQUAL(hs_config_parse_size(bad[i], &v), HS_ERR_PARSE);
        CU_ASSERT_EQUAL(v, 77);
    }
    int64_t v;
    CU_ASSERT_EQUAL(hs_config_parse_size("9223372036854775808", &v), HS_ERR_RANGE);
    CU_ASSERT_EQUAL(hs_config_parse_size("8589934592G", &v), HS_ERR_RANGE);
    CU_ASSERT_EQUAL(hs_config_parse_size("9007199254740992k", &v), HS_ERR_RANGE);
    CU_ASSERT_EQUAL(hs_config_parse_size(NULL, &v), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_config_parse_size("1", NULL), HS_ERR_INVAL);
}

static void test_size_values(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    CU_ASSERT_STRING_EQUAL(get_text(&c, "batch_max"), "64k");
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"1000", "1000"}, {"1024", "1k"}, {"1536", "1536"}, {"3072", "3k"}, {"2048k", "2M"},
        {"1024M", "1G"},  {"5G", "5G"},   {"0", "0"},       {" 8M ", "8M"}, {"1048577", "1048577"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "batch_max", cases[i].in), HS_OK);
        CU_ASSERT_STRING_EQUAL(get_text(&c, "batch_max"), cases[i].out);
    }
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "batch_max", "12 parsecs"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "setting 'batch_max': '12 parsecs' is not a size "
                                            "(bytes with an optional k, M or G suffix)");
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "batch_max", "8589934592G"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(),
                           "setting 'batch_max': size '8589934592G' is out of range");
    CU_ASSERT_EQUAL(c.batch_max, 1048577);
    hs_config_free(test_table, &c);
}

static void test_string_values(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    /* Each set frees the previous string (the leak check under ASan proves it). */
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "broker_url", "tcp://a:1"), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "broker_url", "tcp://b:2"), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.broker_url, "tcp://b:2");
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "note", "  keeps blanks # and hashes "), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.note, "  keeps blanks # and hashes ");
    CU_ASSERT_STRING_EQUAL(get_text(&c, "note"), "  keeps blanks # and hashes ");
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "note", ""), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.note, "");
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "password", "hunter2"), HS_OK);
    CU_ASSERT_STRING_EQUAL(get_text(&c, "password"), "hunter2"); /* get shows secrets */
    hs_config_free(test_table, &c);
}

static void test_set_errors(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "nope", "1"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "unknown setting 'nope'");
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "PORT", "1"), HS_ERR_CONFIG);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "", "1"), HS_ERR_CONFIG);
    CU_ASSERT_EQUAL(hs_config_set(NULL, &c, "port", "1"), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_config_set(test_table, NULL, "port", "1"), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, NULL, "1"), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", NULL), HS_ERR_INVAL);

    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_config_get(test_table, &c, "nope", &b), HS_ERR_NOTFOUND);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "unknown setting 'nope'");
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_EQUAL(hs_config_get(test_table, &c, "port", NULL), HS_ERR_INVAL);
    hs_buf_free(&b);
    hs_config_free(test_table, &c);
}

static void test_secret_values_never_echoed(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "pin", "s3cr3t"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "setting 'pin': *** is not an integer");
    CU_ASSERT_EQUAL(load_text(&c, "pin = s3cr3t\n"), HS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(strstr(hs_err_detail(), "s3cr3t"));
    char *env[] = {"HS_PIN=s3cr3t", NULL};
    CU_ASSERT_EQUAL(hs_config_load_env(test_table, &c, env), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "HS_PIN: setting 'pin': *** is not an integer");
    CU_ASSERT_EQUAL(c.pin, 1234);
    hs_config_free(test_table, &c);
}

static void test_long_values_are_shortened_in_errors(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    char big[300];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "port", big), HS_ERR_CONFIG);
    const char *d = hs_err_detail();
    CU_ASSERT(strlen(d) < 150);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "zzz...' is not an integer"));
    hs_config_free(test_table, &c);
}

static void test_set_pair(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set_pair(test_table, &c, "port=99"), HS_OK);
    CU_ASSERT_EQUAL(c.port, 99);
    CU_ASSERT_EQUAL(hs_config_set_pair(test_table, &c, " port = 100"), HS_OK);
    CU_ASSERT_EQUAL(c.port, 100);
    CU_ASSERT_EQUAL(hs_config_set_pair(test_table, &c, "note= a=b "), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.note, " a=b ");
    CU_ASSERT_EQUAL(hs_config_set_pair(test_table, &c, "note="), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.note, "");

    CU_ASSERT_EQUAL(hs_config_set_pair(test_table, &c, "port"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "'port' has no '=' (expected name=value)");
    CU_ASSERT_EQUAL(hs_config_set_pair(test_table, &c, " =5"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "missing setting name before '='");
    CU_ASSERT_EQUAL(hs_config_set_pair(test_table, &c, "prot=5"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "unknown setting 'prot'");
    CU_ASSERT_EQUAL(hs_config_set_pair(test_table, &c, "port=x"), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "setting 'port': 'x' is not an integer");
    CU_ASSERT_EQUAL(hs_config_set_pair(test_table, &c, NULL), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(c.port, 100);
    hs_config_free(test_table, &c);
}

static void test_file_syntax(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    static const char text[] = "\xEF\xBB\xBF# a comment line\n"
                               "\n"
                               "   \t\n"
                               "  # indented comment\n"
                               "broker_url = tcp://first:1\n"
                               "broker_url=tcp://broker:1883   # trailing comment\n"
                               "port\t=\t8883\r\n"
                               "password = \"p \\\"q\\\" \\\\ # not a comment\"  # comment\n"
                               "note = a#b c\n"
                               "verbose = yes\n"
                               "timeout = 2m\n"
                               "batch_max = 1M\n"
                               "pin = \"42\"\n"
                               "# last line without newline\n"
                               "pin = 43";
    const char *path = write_temp(text, sizeof text - 1);
    CU_ASSERT_EQUAL(hs_config_load_file(test_table, &c, path), HS_OK);
    remove_temp();
    CU_ASSERT_STRING_EQUAL(c.broker_url, "tcp://broker:1883");
    CU_ASSERT_EQUAL(c.port, 8883);
    CU_ASSERT_STRING_EQUAL(c.password, "p \"q\" \\ # not a comment");
    CU_ASSERT_STRING_EQUAL(c.note, "a#b c");
    CU_ASSERT_TRUE(c.verbose);
    CU_ASSERT_EQUAL(c.timeout_us, 2 * HS_US_PER_MIN);
    CU_ASSERT_EQUAL(c.batch_max, 1024 * 1024);
    CU_ASSERT_EQUAL(c.pin, 43);

    CU_ASSERT_EQUAL(load_text(&c, "note = \"tab\\there\\nnewline\\r\"\n"), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.note, "tab\there\nnewline\r");
    CU_ASSERT_EQUAL(load_text(&c, "note = \"\"\n"), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.note, "");
    CU_ASSERT_EQUAL(load_text(&c, "note = x\nnote =\n"), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.note, "");
    CU_ASSERT_EQUAL(load_text(&c, "note = # only a comment\n"), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.note, "");
    CU_ASSERT_EQUAL(load_text(&c, "note = \"  padded  \"\n"), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.note, "  padded  ");
    CU_ASSERT_EQUAL(load_text(&c, "note = x = y\n"), HS_OK);
    CU_ASSERT_STRING_EQUAL(c.note, "x = y");
    CU_ASSERT_EQUAL(load_text(&c, ""), HS_OK); /* an empty file changes nothing */
    CU_ASSERT_STRING_EQUAL(c.note, "x = y");
    hs_config_free(test_table, &c);
}

static void test_file_errors(void)
{
    static const struct {
        const char *text;
        const char *detail;
    } cases[] = {
        {"port = 1\nprot = 2\n", "F:2: unknown setting 'prot'"},
        {"# c\n\nport 2\n", "F:3: 'port 2' has no '=' (expected name = value)"},
        {"  = 2\n", "F:1: missing setting name before '='"},
        {"port = 1\r\nport = 1x\r\n", "F:2: setting 'port': '1x' is not an integer"},
        {"verbose = perhaps\n", "F:1: setting 'verbose': 'perhaps' is not a boolean "
                                "(true/false, yes/no, on/off, 1/0)"},
        {"timeout = soon\n", "F:1: setting 'timeout': 'soon' is not a duration "
                             "(e.g. 250ms, 5s, 1h30m)"},
        {"batch_max = -1\n", "F:1: setting 'batch_max': '-1' is not a size "
                             "(bytes with an optional k, M or G suffix)"},
        {"note = \"open\n", "F:1: setting 'note': quoted value has no closing quote"},
        {"note = \"a\\\"\n", "F:1: setting 'note': quoted value has no closing quote"},
        {"note = \"a\\q\"\n", "F:1: setting 'note': unknown escape '\\q' in quoted value"},
        {"note = \"a\" b\n", "F:1: setting 'note': text after the closing quote"},
        {"port = \"12\"x\n", "F:1: setting 'port': text after the closing quote"},
        {"port = \"1 2\"\n", "F:1: setting 'port': '1 2' is not an integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_cfg c;
        CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
        CU_ASSERT_EQUAL(load_text(&c, cases[i].text), HS_ERR_CONFIG);
        CU_ASSERT_STRING_EQUAL(detail_without_path(), cases[i].detail);
        CU_ASSERT_EQUAL(c.port, 1883); /* a bad file changes nothing */
        hs_config_free(test_table, &c);
    }

    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    static const char nul[] = "note = a\nnote = b\0c\n";
    const char *path = write_temp(nul, sizeof nul - 1);
    CU_ASSERT_EQUAL(hs_config_load_file(test_table, &c, path), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(detail_without_path(), "F:2: contains a NUL byte");
    remove_temp();
    CU_ASSERT_STRING_EQUAL(c.note, "");

    CU_ASSERT_EQUAL(hs_config_load_file(test_table, &c, "/nonexistent/hs.conf"), HS_ERR_IO);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(),
                           "/nonexistent/hs.conf: cannot open: No such file or directory");
    CU_ASSERT_EQUAL(hs_config_load_file(test_table, &c, "/tmp"), HS_ERR_IO);

    /* A file over the bound is refused. */
    size_t big_len = 1024 * 1024 + 10;
    char *big = malloc(big_len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, '\n', big_len);
    path = write_temp(big, big_len);
    free(big);
    CU_ASSERT_EQUAL(hs_config_load_file(test_table, &c, path), HS_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), ": larger than 1048576 bytes"));
    remove_temp();

    CU_ASSERT_EQUAL(hs_config_load_file(NULL, &c, "/tmp/x"), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_config_load_file(test_table, &c, NULL), HS_ERR_INVAL);
    hs_config_free(test_table, &c);
}

static void test_env(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    char *env[] = {
        "PATH=/usr/bin",
        "HS_PORT=1",
        "HS_BROKER_URL=tcp://env:1883",
        "HS_OTHER_SERVICE_SETTING=whatever", /* not ours: ignored */
        "HS_=x",
        "HS_port=5",   /* lower case: not ours */
        "HS_PORTX=6",  /* longer name: not ours */
        "HS_POR=7",    /* shorter name: not ours */
        "HS_NOEQUALS", /* malformed entry: ignored */
        "XHS_PORT=8",  /* wrong prefix */
        "HS_VERBOSE=on",
        "HS_BATCH_MAX=2M",
        "HS_TIMEOUT=1s",
        "HS_NOTE=  spaces kept  ",
        "HS_PORT=2222", /* the later entry wins */
        NULL,
    };
    CU_ASSERT_EQUAL(hs_config_load_env(test_table, &c, env), HS_OK);
    CU_ASSERT_EQUAL(c.port, 2222);
    CU_ASSERT_STRING_EQUAL(c.broker_url, "tcp://env:1883");
    CU_ASSERT_TRUE(c.verbose);
    CU_ASSERT_EQUAL(c.batch_max, 2 * 1024 * 1024);
    CU_ASSERT_EQUAL(c.timeout_us, HS_US_PER_S);
    CU_ASSERT_STRING_EQUAL(c.note, "  spaces kept  ");

    char *bad[] = {"HS_NOTE=changed", "HS_VERBOSE=no", "HS_PORT=eighty", NULL};
    CU_ASSERT_EQUAL(hs_config_load_env(test_table, &c, bad), HS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "HS_PORT: setting 'port': 'eighty' is not an integer");
    /* Nothing of a rejected environment is applied. */
    CU_ASSERT_STRING_EQUAL(c.note, "  spaces kept  ");
    CU_ASSERT_TRUE(c.verbose);

    CU_ASSERT_EQUAL(hs_config_load_env(test_table, &c, NULL), HS_OK);
    char *empty[] = {NULL};
    CU_ASSERT_EQUAL(hs_config_load_env(test_table, &c, empty), HS_OK);
    CU_ASSERT_EQUAL(hs_config_load_env(NULL, &c, empty), HS_ERR_INVAL);
    hs_config_free(test_table, &c);
}

static void test_layer_precedence(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    /* File sets four settings, environment three of them, overrides two, --set one. */
    CU_ASSERT_EQUAL(load_text(&c, "port = 1\nnote = file\nverbose = true\ntimeout = 1s\n"), HS_OK);
    char *env[] = {"HS_PORT=2", "HS_NOTE=env", "HS_VERBOSE=false", NULL};
    CU_ASSERT_EQUAL(hs_config_load_env(test_table, &c, env), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set_pair(test_table, &c, "port=3"), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "note", "override"), HS_OK);

    CU_ASSERT_STRING_EQUAL(c.broker_url, "tcp://localhost:1883"); /* default */
    CU_ASSERT_EQUAL(c.batch_max, 64 * 1024);                      /* default */
    CU_ASSERT_EQUAL(c.timeout_us, HS_US_PER_S);                   /* file */
    CU_ASSERT_FALSE(c.verbose);                                   /* environment */
    CU_ASSERT_EQUAL(c.port, 3);                                   /* override */
    CU_ASSERT_STRING_EQUAL(c.note, "override");                   /* override */
    hs_config_free(test_table, &c);
}

static void test_print_masks_secrets_and_reads_back(void)
{
    test_cfg c;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &c), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "password", "hunter2"), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "note", " a \"b\" \\c\t# d\ne "), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &c, "timeout", "90s"), HS_OK);
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_config_print(test_table, &c, &b), HS_OK);
    const char *text = hs_buf_cstr(&b);
    CU_ASSERT_STRING_EQUAL(text, "broker_url = tcp://localhost:1883\n"
                                 "password = ***\n"
                                 "note = \" a \\\"b\\\" \\\\c\\t# d\\ne \"\n"
                                 "port = 1883\n"
                                 "pin = ***\n"
                                 "verbose = false\n"
                                 "timeout = 1m30s\n"
                                 "batch_max = 64k\n");
    CU_ASSERT_PTR_NULL(strstr(text, "hunter2"));

    /* The output, read back as a file, gives the same values (secrets aside). */
    test_cfg d;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(test_table, &d), HS_OK);
    CU_ASSERT_EQUAL(hs_config_set(test_table, &d, "timeout", "1s"), HS_OK);
    hs_buf_reset(&b);
    hs_config_set(test_table, &c, "password", "");
    CU_ASSERT_EQUAL(hs_config_print(test_table, &c, &b), HS_OK);
    /* Drop the masked lines, which are not meant to read back. */
    hs_buf keep;
    hs_buf_init(&keep, 0);
    const char *p = hs_buf_cstr(&b);
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = (size_t)(nl - p) + 1;
        if (strstr(p, "***") == NULL || strstr(p, "***") > nl)
            hs_buf_append(&keep, p, n);
        p += n;
    }
    CU_ASSERT_EQUAL(load_text(&d, hs_buf_cstr(&keep)), HS_OK);
    CU_ASSERT_STRING_EQUAL(d.note, c.note);
    CU_ASSERT_EQUAL(d.timeout_us, 90 * HS_US_PER_S);
    hs_buf_free(&keep);

    /* An empty string and one with outer blanks are quoted; plain ones are not. */
    hs_buf_reset(&b);
    hs_config_set(test_table, &c, "note", "");
    hs_config_set(test_table, &c, "broker_url", "\"x");
    hs_config_print(test_table, &c, &b);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&b), "note = \"\"\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&b), "broker_url = \"\\\"x\"\n"));

    /* A bounded buffer reports the bound. */
    hs_buf small;
    hs_buf_init(&small, 16);
    CU_ASSERT_EQUAL(hs_config_print(test_table, &c, &small), HS_ERR_LIMIT);
    hs_buf_free(&small);
    CU_ASSERT_EQUAL(hs_config_print(test_table, &c, NULL), HS_ERR_INVAL);

    hs_buf_free(&b);
    hs_config_free(test_table, &d);
    hs_config_free(test_table, &c);
}

static void test_allocation_failures(void)
{
    /* Every allocation of every layer is made to fail in turn: NOMEM, no leak, no crash. */
    for (long n = 0; n < 64; n++) {
        test_cfg c;
        hs_alloc_fail_after(n);
        int rc = hs_config_defaults(test_table, &c);
        hs_alloc_fail_after(-1);
        if (rc != HS_OK) {
            CU_ASSERT_EQUAL(rc, HS_ERR_NOMEM);
            CU_ASSERT_PTR_NULL(c.broker_url);
            continue;
        }
        const char *path = write_temp("note = from file\nport = 5\n", 26);
        hs_alloc_fail_after(n);
        rc = hs_config_load_file(test_table, &c, path);
        hs_alloc_fail_after(-1);
        remove_temp();
        CU_ASSERT(rc == HS_OK || rc == HS_ERR_NOMEM);
        CU_ASSERT_PTR_NOT_NULL(c.note);

        hs_alloc_fail_after(n);
        rc = hs_config_set(test_table, &c, "note", "set");
        hs_alloc_fail_after(-1);
        CU_ASSERT(rc == HS_OK || rc == HS_ERR_NOMEM);
        CU_ASSERT_PTR_NOT_NULL(c.note);
        if (rc == HS_ERR_NOMEM)
            CU_ASSERT_STRING_NOT_EQUAL(c.note, "set");

        hs_buf b;
        hs_buf_init(&b, 0);
        hs_alloc_fail_after(n);
        rc = hs_config_print(test_table, &c, &b);
        hs_alloc_fail_after(-1);
        CU_ASSERT(rc == HS_OK || rc == HS_ERR_NOMEM);
        hs_buf_free(&b);
        hs_config_free(test_table, &c);
    }
}

HS_TEST_INIT(config)
{
    HS_TEST_SUITE_BEGIN("config");
    HS_TEST(test_defaults);
    HS_TEST(test_defaults_zero_when_null);
    HS_TEST(test_bad_default_is_reported);
    HS_TEST(test_int_values);
    HS_TEST(test_bool_values);
    HS_TEST(test_duration_values);
    HS_TEST(test_parse_size);
    HS_TEST(test_size_values);
    HS_TEST(test_string_values);
    HS_TEST(test_set_errors);
    HS_TEST(test_secret_values_never_echoed);
    HS_TEST(test_long_values_are_shortened_in_errors);
    HS_TEST(test_set_pair);
    HS_TEST(test_file_syntax);
    HS_TEST(test_file_errors);
    HS_TEST(test_env);
    HS_TEST(test_layer_precedence);
    HS_TEST(test_print_masks_secrets_and_reads_back);
    HS_TEST(test_allocation_failures);
    return 0;
}
