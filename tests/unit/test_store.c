/*
 * The store test suite. The same tests run against every backend:
 *   store_sqlite  a fresh SQLite file in a temporary directory
 *   store_mongo   the MongoDB wire-protocol emulator (tests/support/mongo_emulator.py),
 *                 or a real server when HS_TEST_MONGO_URL is set
 */
#include "test_suites.h"

#include "hs_codec.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_store.h"
#include "hs_test_mongo.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The backend under test, set up by the suite's init function. */
static char g_url[512];
static char g_dir[256];
static hs_test_mongo g_mongo;
static int g_counter;

/* A fresh, unique stream id per test so that tests do not see each other's data. */
static void fresh_id(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/run=%d/test=%d", name, (int)getpid(), ++g_counter);
}

static hs_store *open_writer(void)
{
    hs_store *s = NULL;
    int rc = hs_store_open(&s, g_url, HS_STORE_WRITE);
    if (rc != HS_OK)
        fprintf(stderr, "open %s: %s: %s\n", g_url, hs_strerror(rc), hs_err_detail());
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    return s;
}

static void push_double(hs_batch *b, int64_t t, double v)
{
    hs_buf *vb = hs_batch_push_begin(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vb);
    CU_ASSERT_EQUAL_FATAL(hs_mp_put_double(vb, v), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_batch_push_end(b, t), HS_OK);
}

static double value_double(const hs_batch *b, size_t i)
{
    hs_mp_reader r;
    double d = -1;
    hs_mp_reader_init(&r, hs_batch_value(b, i), b->items[i].len);
    CU_ASSERT_EQUAL(hs_mp_get_number(&r, &d), HS_OK);
    return d;
}

static void test_schema_and_define(void)
{
    hs_store *s = open_writer();
    int v = 0;
    CU_ASSERT_EQUAL(hs_store_schema_version(s, &v), HS_OK);
    CU_ASSERT_TRUE(v >= 1);
    char id[128];
    fresh_id(id, sizeof id, "defined");
    CU_ASSERT_EQUAL(hs_store_stream_define(s, id, HS_STREAM_COMPUTED, "{\"tool\":\"clock\"}"),
                    HS_OK);
    hs_stream_info info;
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_STRING_EQUAL(info.id, id);
    CU_ASSERT_EQUAL(info.kind, HS_STREAM_COMPUTED);
    CU_ASSERT_STRING_EQUAL(info.binding, "{\"tool\":\"clock\"}");
    CU_ASSERT_TRUE(hs_intervals_is_empty(&info.calculated));
    hs_stream_info_free(&info);
    /* Re-defining updates the binding. */
    CU_ASSERT_EQUAL(hs_store_stream_define(s, id, HS_STREAM_COMPUTED, "{\"tool\":\"clock2\"}"),
                    HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_STRING_EQUAL(info.binding, "{\"tool\":\"clock2\"}");
    hs_stream_info_free(&info);
    CU_ASSERT_EQUAL(hs_store_stream_get(s, "no/such=stream", &info), HS_ERR_NOTFOUND);
    hs_store_close(s);
}

static void test_write_duplicate_conflict(void)
{
    hs_store *s = open_writer();
    char id[128];
    fresh_id(id, sizeof id, "dup");
    hs_batch b;
    hs_batch_init(&b);
    push_double(&b, 1000001, 1.5);
    push_double(&b, 1000002, 2.5);
    push_double(&b, 1000003, 3.5);
    hs_write_result res;
    uint8_t status[4];
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, id, &b, status, &res), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    CU_ASSERT_EQUAL(res.inserted, 3);
    CU_ASSERT_EQUAL(status[0], HS_WRITE_INSERTED);

    /* The same batch again changes nothing. */
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, id, &b, status, &res), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    CU_ASSERT_EQUAL(res.inserted, 0);
    CU_ASSERT_EQUAL(res.duplicates, 3);
    CU_ASSERT_EQUAL(status[2], HS_WRITE_DUPLICATE);

    /* A different value at an existing timestamp is a conflict and is not written. */
    hs_batch_reset(&b);
    push_double(&b, 1000002, 99.0);
    push_double(&b, 1000004, 4.5);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, id, &b, status, &res), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    CU_ASSERT_EQUAL(res.inserted, 1);
    CU_ASSERT_EQUAL(res.conflicts, 1);
    CU_ASSERT_EQUAL(status[0], HS_WRITE_CONFLICT);
    CU_ASSERT_EQUAL(status[1], HS_WRITE_INSERTED);

    hs_batch out;
    hs_batch_init(&out);
    CU_ASSERT_EQUAL(hs_store_head(s, id, hs_store_all_time(), 10, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 4);
    CU_ASSERT_DOUBLE_EQUAL(value_double(&out, 1), 2.5, 0.0);
    CU_ASSERT_EQUAL(out.items[3].t_us, 1000004);
    hs_batch_free(&out);
    hs_batch_free(&b);
    hs_store_close(s);
}

static void test_read_bounds_and_chunks(void)
{
    hs_store *s = open_writer();
    char id[128];
    fresh_id(id, sizeof id, "chunks");
    enum { N = 10000 };
    hs_batch b;
    hs_batch_init(&b);
    /* Written in reverse order; read back sorted. */
    for (int i = N; i >= 1; i--)
        push_double(&b, (int64_t)i * 1000, (double)i);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, id, &b, NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);

    /* (1000, 5000]: the start is excluded, the end included. */
    int64_t n = 0;
    hs_interval r = {1000, 5000};
    CU_ASSERT_EQUAL(hs_store_count(s, id, r, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(hs_store_count(s, id, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, N);

    hs_store_cursor *c;
    CU_ASSERT_EQUAL_FATAL(hs_store_read(s, id, hs_store_all_time(), 999, &c), HS_OK);
    hs_batch out;
    hs_batch_init(&out);
    int64_t expect = 1000;
    size_t total = 0, chunks = 0;
    for (;;) {
        CU_ASSERT_EQUAL_FATAL(hs_store_cursor_next(c, &out), HS_OK);
        if (out.n == 0)
            break;
        CU_ASSERT_TRUE(out.n <= 999);
        chunks++;
        for (size_t i = 0; i < out.n; i++) {
            CU_ASSERT_EQUAL(out.items[i].t_us, expect);
            expect += 1000;
        }
        total += out.n;
    }
    CU_ASSERT_EQUAL(total, N);
    CU_ASSERT_EQUAL(chunks, (N + 998) / 999);
    hs_store_cursor_close(c);

    CU_ASSERT_EQUAL(hs_store_head(s, id, r, 2, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    CU_ASSERT_EQUAL(out.items[0].t_us, 2000);
    CU_ASSERT_EQUAL(hs_store_tail(s, id, r, 2, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    CU_ASSERT_EQUAL(out.items[0].t_us, 4000);
    CU_ASSERT_EQUAL(out.items[1].t_us, 5000);
    CU_ASSERT_DOUBLE_EQUAL(value_double(&out, 1), 5.0, 0.0);

    /* An unknown stream reads as empty. */
    CU_ASSERT_EQUAL(hs_store_head(s, "unknown/x=1", r, 2, &out), HS_OK);
    CU_ASSERT_EQUAL(out.n, 0);
    hs_batch_free(&out);
    hs_batch_free(&b);
    hs_store_close(s);
}

static void test_extreme_timestamps(void)
{
    hs_store *s = open_writer();
    char id[128];
    fresh_id(id, sizeof id, "extreme");
    hs_batch b;
    hs_batch_init(&b);
    push_double(&b, HS_TIME_MIN, 1);
    push_double(&b, -1, 2);
    push_double(&b, 1461873600123456LL, 3);
    push_double(&b, HS_TIME_MAX, 4);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, id, &b, NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    hs_batch out;
    hs_batch_init(&out);
    CU_ASSERT_EQUAL(hs_store_head(s, id, hs_store_all_time(), 10, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 4);
    CU_ASSERT_EQUAL(out.items[0].t_us, HS_TIME_MIN);
    CU_ASSERT_EQUAL(out.items[1].t_us, -1);
    CU_ASSERT_EQUAL(out.items[2].t_us, 1461873600123456LL);
    CU_ASSERT_EQUAL(out.items[3].t_us, HS_TIME_MAX);
    hs_batch_free(&out);
    hs_batch_free(&b);
    hs_store_close(s);
}

static void test_intervals_and_purge(void)
{
    hs_store *s = open_writer();
    char id[128];
    fresh_id(id, sizeof id, "calc");
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_stream_define(s, id, HS_STREAM_COMPUTED, "{}"), HS_OK);
    hs_intervals a;
    hs_intervals_init(&a);
    hs_interval i1 = {0, 100}, i2 = {200, 300}, i3 = {100, 200};
    CU_ASSERT_EQUAL(hs_intervals_add(&a, i1), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_add(&a, i2), HS_OK);
    CU_ASSERT_EQUAL(hs_store_intervals_add(s, id, &a), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    hs_stream_info info;
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_EQUAL(info.calculated.n, 2);
    hs_stream_info_free(&info);

    /* Adding the gap merges everything into (0, 300]. */
    hs_intervals_clear(&a);
    CU_ASSERT_EQUAL(hs_intervals_add(&a, i3), HS_OK);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_intervals_add(s, id, &a), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_EQUAL_FATAL(info.calculated.n, 1);
    CU_ASSERT_EQUAL(info.calculated.v[0].start, 0);
    CU_ASSERT_EQUAL(info.calculated.v[0].end, 300);
    hs_stream_info_free(&info);

    hs_batch b;
    hs_batch_init(&b);
    push_double(&b, 50, 1);
    push_double(&b, 150, 2);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, id, &b, NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);

    int64_t deleted = 0;
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_purge(s, id, false, &deleted), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    CU_ASSERT_EQUAL(deleted, 2);
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&info.calculated));
    hs_stream_info_free(&info);
    int64_t n = -1;
    CU_ASSERT_EQUAL(hs_store_count(s, id, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 0);

    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_purge(s, id, true, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_stream_get(s, id, &info), HS_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_purge(s, id, true, NULL), HS_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hs_store_rollback(s), HS_OK);
    hs_intervals_free(&a);
    hs_batch_free(&b);
    hs_store_close(s);
}

static int count_streams(void *ud, const hs_stream_info *info)
{
    (void)info;
    (*(int *)ud)++;
    return 0;
}

static void test_stream_list_prefix(void)
{
    hs_store *s = open_writer();
    char prefix[64], id[128];
    snprintf(prefix, sizeof prefix, "listed%d", (int)getpid());
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "%s/i=%d", prefix, i);
        CU_ASSERT_EQUAL(hs_store_stream_define(s, id, HS_STREAM_RAW, NULL), HS_OK);
    }
    snprintf(id, sizeof id, "other%d", (int)getpid());
    CU_ASSERT_EQUAL(hs_store_stream_define(s, id, HS_STREAM_RAW, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    int n = 0;
    CU_ASSERT_EQUAL(hs_store_stream_list(s, prefix, count_streams, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 5);
    hs_store_close(s);
}

typedef struct doc_seen {
    char keys[8][32];
    int n;
} doc_seen;

static int collect_doc(void *ud, const char *key, const char *json)
{
    doc_seen *d = ud;
    (void)json;
    if (d->n < 8)
        snprintf(d->keys[d->n++], 32, "%s", key);
    return 0;
}

static void test_documents(void)
{
    hs_store *s = open_writer();
    char coll[64];
    snprintf(coll, sizeof coll, "testdocs%d_%d", (int)getpid(), ++g_counter);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_put(s, coll, "wf/b", "{\"n\":2}"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_put(s, coll, "wf/a", "{\"n\":1}"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_put(s, coll, "wf/c", "{\"n\":3}"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_put(s, coll, "zz", "{\"n\":4}"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_put(s, coll, "wf/a", "{\"n\":10}"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    hs_buf j;
    hs_buf_init(&j, 0);
    CU_ASSERT_EQUAL(hs_store_doc_get(s, coll, "wf/a", &j), HS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&j), "10"));
    CU_ASSERT_EQUAL(hs_store_doc_get(s, coll, "nope", &j), HS_ERR_NOTFOUND);

    doc_seen d = {0};
    CU_ASSERT_EQUAL(hs_store_doc_list(s, coll, "wf/", false, 0, collect_doc, &d), HS_OK);
    CU_ASSERT_EQUAL_FATAL(d.n, 3);
    CU_ASSERT_STRING_EQUAL(d.keys[0], "wf/a");
    CU_ASSERT_STRING_EQUAL(d.keys[2], "wf/c");
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(hs_store_doc_list(s, coll, "", true, 2, collect_doc, &d), HS_OK);
    CU_ASSERT_EQUAL_FATAL(d.n, 2);
    CU_ASSERT_STRING_EQUAL(d.keys[0], "zz");
    CU_ASSERT_STRING_EQUAL(d.keys[1], "wf/c");

    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_delete(s, coll, "wf/b"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_delete(s, coll, "wf/b"), HS_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_get(s, coll, "wf/b", &j), HS_ERR_NOTFOUND);
    hs_buf_free(&j);
    hs_store_close(s);
}

static void test_reader_sees_commits_and_cannot_write(void)
{
    hs_store *w = open_writer();
    hs_store *r = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&r, g_url, HS_STORE_READ), HS_OK);
    char id[128];
    fresh_id(id, sizeof id, "shared");
    hs_batch b;
    hs_batch_init(&b);
    push_double(&b, 10, 1);
    CU_ASSERT_EQUAL(hs_store_begin(w), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(w, id, &b, NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(w), HS_OK);
    int64_t n = 0;
    CU_ASSERT_EQUAL(hs_store_count(r, id, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(hs_store_begin(r), HS_ERR_STATE);
    CU_ASSERT_EQUAL(hs_store_write(r, id, &b, NULL, NULL), HS_ERR_STATE);
    hs_batch_free(&b);
    hs_store_close(r);
    hs_store_close(w);
}

static void test_rollback_undoes_writes(void)
{
    hs_store *s = open_writer();
    if (strcmp(hs_store_backend(s), "sqlite") != 0) {
        /* MongoDB writes are not transactional on a standalone server (documented). */
        hs_store_close(s);
        return;
    }
    char id[128];
    fresh_id(id, sizeof id, "rollback");
    hs_batch b;
    hs_batch_init(&b);
    push_double(&b, 10, 1);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, id, &b, NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_rollback(s), HS_OK);
    hs_stream_info info;
    CU_ASSERT_EQUAL(hs_store_stream_get(s, id, &info), HS_ERR_NOTFOUND);
    /* The stream can be created again after the rollback. */
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, id, &b, NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    int64_t n = 0;
    CU_ASSERT_EQUAL(hs_store_count(s, id, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    hs_batch_free(&b);
    hs_store_close(s);
}

static void test_bad_urls(void)
{
    hs_store *s = NULL;
    CU_ASSERT_EQUAL(hs_store_open(&s, "postgres://x", HS_STORE_READ), HS_ERR_CONFIG);
    CU_ASSERT_EQUAL(hs_store_open(&s, "", HS_STORE_READ), HS_ERR_CONFIG);
    CU_ASSERT_EQUAL(hs_store_open(&s, "sqlite://", HS_STORE_READ), HS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(s);
}

static int init_sqlite(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/hs-test-store-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_url, sizeof g_url, "sqlite://%s/hs.db", g_dir);
    return 0;
}

static int clean_sqlite(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int init_mongo(void)
{
    const char *real = getenv("HS_TEST_MONGO_URL");
    if (real != NULL && real[0] != '\0') {
        snprintf(g_url, sizeof g_url, "%s", real);
        return 0;
    }
    if (hs_test_mongo_start(&g_mongo) != 0)
        return -1;
    snprintf(g_url, sizeof g_url, "%s", g_mongo.url);
    return 0;
}

static int clean_mongo(void)
{
    hs_test_mongo_stop(&g_mongo);
    return 0;
}

#define STORE_TESTS(suite)                                                                         \
    HS_TEST(test_bad_urls);                                                                        \
    HS_TEST(test_schema_and_define);                                                               \
    HS_TEST(test_write_duplicate_conflict);                                                        \
    HS_TEST(test_read_bounds_and_chunks);                                                          \
    HS_TEST(test_extreme_timestamps);                                                              \
    HS_TEST(test_intervals_and_purge);                                                             \
    HS_TEST(test_stream_list_prefix);                                                              \
    HS_TEST(test_documents);                                                                       \
    HS_TEST(test_reader_sees_commits_and_cannot_write);                                            \
    HS_TEST(test_rollback_undoes_writes);

HS_TEST_INIT(store_sqlite)
{
    CU_pSuite hs__suite = CU_add_suite("store_sqlite", init_sqlite, clean_sqlite);
    if (hs__suite == NULL)
        return -1;
    STORE_TESTS(hs__suite)
    return 0;
}

HS_TEST_INIT(store_mongo)
{
    CU_pSuite hs__suite = CU_add_suite("store_mongo", init_mongo, clean_mongo);
    if (hs__suite == NULL)
        return -1;
    STORE_TESTS(hs__suite)
    return 0;
}
