/*
 * The store test suite. The same tests run against every backend:
 *   store_sqlite  a fresh SQLite file in a temporary directory
 *   store_mongo   the MongoDB wire-protocol emulator (tests/support/mongo_emulator.py),
 *                 or a real server when HS_TEST_MONGO_URL is set
 */
#include "test_suites.h"

#include "hs_block.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_store.h"
#include "hs_store_impl.h"
#include "hs_test_broker.h"
#include "hs_test_mongo.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static hs_store *open_writer_url(const char *url)
{
    hs_store *s = NULL;
    int rc = hs_store_open(&s, url, HS_STORE_WRITE);
    if (rc != HS_OK)
        fprintf(stderr, "open %s: %s: %s\n", url, hs_strerror(rc), hs_err_detail());
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    return s;
}

static hs_store *open_writer(void)
{
    return open_writer_url(g_url);
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

/* --- more tests of the interface, for every backend --- */

/* Pushes one msgpack value built by the caller's bytes (already canonical). */
static void push_raw(hs_batch *b, int64_t t, const void *v, size_t len)
{
    CU_ASSERT_EQUAL_FATAL(hs_batch_push(b, t, v, len), HS_OK);
}

static void write_batch(hs_store *s, const char *id, const hs_batch *b, uint8_t *status,
                        hs_write_result *res)
{
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, id, b, status, res), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
}

static void test_same_timestamp_in_one_batch(void)
{
    hs_store *s = open_writer();
    char id[128];
    fresh_id(id, sizeof id, "samebatch");
    hs_batch b;
    hs_batch_init(&b);
    push_double(&b, 500, 1.0);
    push_double(&b, 500, 1.0); /* same value: a duplicate of the first */
    push_double(&b, 500, 2.0); /* different value: a conflict with the first */
    push_double(&b, 600, 3.0);
    push_double(&b, 600, 4.0);
    uint8_t status[5];
    hs_write_result res;
    write_batch(s, id, &b, status, &res);
    CU_ASSERT_EQUAL(res.inserted, 2);
    CU_ASSERT_EQUAL(res.duplicates, 1);
    CU_ASSERT_EQUAL(res.conflicts, 2);
    CU_ASSERT_EQUAL(status[0], HS_WRITE_INSERTED);
    CU_ASSERT_EQUAL(status[1], HS_WRITE_DUPLICATE);
    CU_ASSERT_EQUAL(status[2], HS_WRITE_CONFLICT);
    CU_ASSERT_EQUAL(status[3], HS_WRITE_INSERTED);
    CU_ASSERT_EQUAL(status[4], HS_WRITE_CONFLICT);
    hs_batch out;
    hs_batch_init(&out);
    CU_ASSERT_EQUAL(hs_store_head(s, id, hs_store_all_time(), 10, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    CU_ASSERT_DOUBLE_EQUAL(value_double(&out, 0), 1.0, 0.0); /* the first one won */
    CU_ASSERT_DOUBLE_EQUAL(value_double(&out, 1), 3.0, 0.0);
    /* Without status and result pointers the write still works. */
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, id, &b, NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    /* An empty batch writes nothing. */
    hs_batch_reset(&b);
    write_batch(s, id, &b, NULL, &res);
    CU_ASSERT_EQUAL(res.inserted + res.duplicates + res.conflicts, 0);
    hs_batch_free(&out);
    hs_batch_free(&b);
    hs_store_close(s);
}

static void test_rewrite_many_with_some_conflicts(void)
{
    hs_store *s = open_writer();
    char id[128];
    fresh_id(id, sizeof id, "rewrite");
    enum { N = 3000 };
    hs_batch b;
    hs_batch_init(&b);
    for (int i = 0; i < N; i++)
        push_double(&b, (int64_t)i * 10, (double)i);
    hs_write_result res;
    write_batch(s, id, &b, NULL, &res);
    CU_ASSERT_EQUAL(res.inserted, N);

    /* Again, with every 100th value changed and N new instances after them. */
    hs_batch_reset(&b);
    for (int i = 0; i < 2 * N; i++)
        push_double(&b, (int64_t)i * 10, i % 100 == 7 && i < N ? -1.0 : (double)i);
    uint8_t *status = calloc(2 * N, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(status);
    write_batch(s, id, &b, status, &res);
    CU_ASSERT_EQUAL(res.inserted, N);
    CU_ASSERT_EQUAL(res.conflicts, N / 100);
    CU_ASSERT_EQUAL(res.duplicates, N - N / 100);
    CU_ASSERT_EQUAL(status[7], HS_WRITE_CONFLICT);
    CU_ASSERT_EQUAL(status[8], HS_WRITE_DUPLICATE);
    CU_ASSERT_EQUAL(status[N], HS_WRITE_INSERTED);
    free(status);

    int64_t n = 0;
    CU_ASSERT_EQUAL(hs_store_count(s, id, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 2 * N);
    hs_batch out;
    hs_batch_init(&out);
    hs_interval r = {60, 70};
    CU_ASSERT_EQUAL(hs_store_head(s, id, r, 5, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_DOUBLE_EQUAL(value_double(&out, 0), 7.0, 0.0); /* conflicts never overwrite */
    hs_batch_free(&out);
    hs_batch_free(&b);
    hs_store_close(s);
}

static void test_values_keep_their_bytes(void)
{
    hs_store *s = open_writer();
    char id[128];
    fresh_id(id, sizeof id, "bytes");
    hs_buf v[7];
    for (int i = 0; i < 7; i++)
        hs_buf_init(&v[i], 0);
    CU_ASSERT_EQUAL(hs_mp_put_nil(&v[0]), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_bool(&v[1], true), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_int(&v[2], INT64_MIN), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_str(&v[3], "a\0b\xc3\xa9", 5), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_bin(&v[4], "\0\0\xff", 3), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_map(&v[5], 1), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&v[5], "k"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_array(&v[5], 2), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_int(&v[5], 1), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_double(&v[5], 0.5), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_str(&v[6], "", 0), HS_OK);
    hs_batch b;
    hs_batch_init(&b);
    for (int i = 0; i < 7; i++)
        push_raw(&b, -3 + i, v[i].data, v[i].len);
    write_batch(s, id, &b, NULL, NULL);
    hs_batch out;
    hs_batch_init(&out);
    CU_ASSERT_EQUAL(hs_store_head(s, id, hs_store_all_time(), 100, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 7);
    for (size_t i = 0; i < 7; i++) {
        CU_ASSERT_EQUAL(out.items[i].t_us, -3 + (int64_t)i);
        CU_ASSERT_EQUAL_FATAL(out.items[i].len, v[i].len);
        CU_ASSERT_EQUAL(memcmp(hs_batch_value(&out, i), v[i].data, v[i].len), 0);
    }
    /* Writing them again: all duplicates, byte for byte. */
    hs_write_result res;
    write_batch(s, id, &b, NULL, &res);
    CU_ASSERT_EQUAL(res.duplicates, 7);
    /* The same number in another encoding is a different value. */
    hs_batch_reset(&b);
    uint8_t one_as_float[9] = {0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
    push_raw(&b, -1, one_as_float, sizeof one_as_float);
    write_batch(s, id, &b, NULL, &res);
    CU_ASSERT_EQUAL(res.conflicts, 1);
    for (int i = 0; i < 7; i++)
        hs_buf_free(&v[i]);
    hs_batch_free(&out);
    hs_batch_free(&b);
    hs_store_close(s);
}

static void test_write_defines_raw_stream(void)
{
    hs_store *s = open_writer();
    char id[128];
    fresh_id(id, sizeof id, "implicit");
    hs_batch b;
    hs_batch_init(&b);
    push_double(&b, 1, 1.0);
    write_batch(s, id, &b, NULL, NULL);
    hs_stream_info info;
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_EQUAL(info.kind, HS_STREAM_RAW);
    CU_ASSERT_PTR_NULL(info.binding);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&info.calculated));
    CU_ASSERT_TRUE(info.updated_us > 0);
    hs_stream_info_free(&info);

    /* Defining it afterwards changes kind and binding; further writes keep them. */
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_stream_define(s, id, HS_STREAM_ASSET, "{\"a\":1}"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    hs_batch_reset(&b);
    push_double(&b, 2, 2.0);
    write_batch(s, id, &b, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_EQUAL(info.kind, HS_STREAM_ASSET);
    CU_ASSERT_STRING_EQUAL(info.binding, "{\"a\":1}");
    hs_stream_info_free(&info);

    /* A new handle (no cached knowledge of the stream) does not reset it either. */
    hs_store *s2 = open_writer();
    push_double(&b, 3, 3.0);
    write_batch(s2, id, &b, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s2, id, &info), HS_OK);
    CU_ASSERT_EQUAL(info.kind, HS_STREAM_ASSET);
    hs_stream_info_free(&info);
    hs_store_close(s2);

    /* Re-defining with no binding clears it. */
    CU_ASSERT_EQUAL(hs_store_stream_define(s, id, HS_STREAM_RAW, NULL), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_EQUAL(info.kind, HS_STREAM_RAW);
    CU_ASSERT_PTR_NULL(info.binding);
    hs_stream_info_free(&info);
    CU_ASSERT_EQUAL(hs_store_stream_define(s, id, 7, NULL), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_store_stream_define(s, "", HS_STREAM_RAW, NULL), HS_ERR_INVAL);
    hs_batch_free(&b);
    hs_store_close(s);
}

static void test_intervals_set_and_unknown_streams(void)
{
    hs_store *s = open_writer();
    char id[128];
    fresh_id(id, sizeof id, "ivset");
    hs_intervals a;
    hs_intervals_init(&a);
    hs_interval i1 = {HS_TIME_MIN - 1, -5}, i2 = {10, HS_TIME_MAX};
    CU_ASSERT_EQUAL(hs_intervals_add(&a, i1), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_add(&a, i2), HS_OK);
    CU_ASSERT_EQUAL(hs_store_intervals_set(s, id, &a), HS_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hs_store_intervals_add(s, id, &a), HS_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hs_store_purge(s, id, false, NULL), HS_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hs_store_stream_define(s, id, HS_STREAM_COMPUTED, "{}"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_intervals_set(s, id, &a), HS_OK);
    hs_stream_info info;
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_equal(&info.calculated, &a));
    hs_stream_info_free(&info);
    /* Adding what is covered already changes nothing. */
    hs_intervals sub;
    hs_intervals_init(&sub);
    hs_interval inner = {20, 30};
    CU_ASSERT_EQUAL(hs_intervals_add(&sub, inner), HS_OK);
    CU_ASSERT_EQUAL(hs_store_intervals_add(s, id, &sub), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_equal(&info.calculated, &a));
    hs_stream_info_free(&info);
    /* Setting replaces, also with fewer intervals or none. */
    CU_ASSERT_EQUAL(hs_store_intervals_set(s, id, &sub), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_equal(&info.calculated, &sub));
    hs_stream_info_free(&info);
    hs_intervals_clear(&sub);
    CU_ASSERT_EQUAL(hs_store_intervals_set(s, id, &sub), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_TRUE(hs_intervals_is_empty(&info.calculated));
    hs_stream_info_free(&info);
    hs_intervals_free(&sub);
    hs_intervals_free(&a);
    hs_store_close(s);
}

typedef struct stream_seen {
    char ids[8][128];
    int kinds[8];
    size_t n_calc[8];
    int n;
    int stop_at; /* return 7 when the n-th stream is seen (0: never) */
} stream_seen;

static int collect_stream(void *ud, const hs_stream_info *info)
{
    stream_seen *d = ud;
    if (d->n < 8) {
        snprintf(d->ids[d->n], sizeof d->ids[0], "%s", info->id);
        d->kinds[d->n] = info->kind;
        d->n_calc[d->n] = info->calculated.n;
    }
    d->n++;
    return d->n == d->stop_at ? 7 : 0;
}

static void test_stream_list_order_content_and_stop(void)
{
    hs_store *s = open_writer();
    char prefix[64], id[160];
    snprintf(prefix, sizeof prefix, "ordered%d_%d", (int)getpid(), ++g_counter);
    const char *tails[] = {"/z=1", "/a=1", "/m=1"};
    hs_intervals a;
    hs_intervals_init(&a);
    hs_interval iv = {0, 10};
    CU_ASSERT_EQUAL(hs_intervals_add(&a, iv), HS_OK);
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "%s%s", prefix, tails[i]);
        CU_ASSERT_EQUAL(hs_store_stream_define(s, id, i == 1 ? HS_STREAM_COMPUTED : HS_STREAM_RAW,
                                               i == 1 ? "{}" : NULL),
                        HS_OK);
        if (i == 1)
            CU_ASSERT_EQUAL(hs_store_intervals_add(s, id, &a), HS_OK);
    }
    /* A stream whose id extends the prefix without a separator is listed too. */
    snprintf(id, sizeof id, "%sx", prefix);
    CU_ASSERT_EQUAL(hs_store_stream_define(s, id, HS_STREAM_RAW, NULL), HS_OK);
    stream_seen d;
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(hs_store_stream_list(s, prefix, collect_stream, &d), HS_OK);
    CU_ASSERT_EQUAL_FATAL(d.n, 4);
    snprintf(id, sizeof id, "%s/a=1", prefix);
    CU_ASSERT_STRING_EQUAL(d.ids[0], id);
    CU_ASSERT_EQUAL(d.kinds[0], HS_STREAM_COMPUTED);
    CU_ASSERT_EQUAL(d.n_calc[0], 1);
    snprintf(id, sizeof id, "%s/m=1", prefix);
    CU_ASSERT_STRING_EQUAL(d.ids[1], id);
    snprintf(id, sizeof id, "%sx", prefix);
    CU_ASSERT_STRING_EQUAL(d.ids[3], id);
    /* The callback's non-zero return stops the listing and is returned. */
    memset(&d, 0, sizeof d);
    d.stop_at = 2;
    CU_ASSERT_EQUAL(hs_store_stream_list(s, prefix, collect_stream, &d), 7);
    CU_ASSERT_EQUAL(d.n, 2);
    /* No match, and the empty prefix (all streams, at least ours). */
    memset(&d, 0, sizeof d);
    snprintf(id, sizeof id, "%s/zz", prefix);
    CU_ASSERT_EQUAL(hs_store_stream_list(s, id, collect_stream, &d), HS_OK);
    CU_ASSERT_EQUAL(d.n, 0);
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(hs_store_stream_list(s, "", collect_stream, &d), HS_OK);
    CU_ASSERT_TRUE(d.n >= 4);
    hs_intervals_free(&a);
    hs_store_close(s);
}

typedef struct doc_all {
    char keys[16][64];
    int n;
} doc_all;

static int collect_doc_all(void *ud, const char *key, const char *json)
{
    doc_all *d = ud;
    (void)json;
    if (d->n < 16)
        snprintf(d->keys[d->n], sizeof d->keys[0], "%s", key);
    d->n++;
    return 0;
}

static int stop_doc(void *ud, const char *key, const char *json)
{
    (void)key;
    (void)json;
    return ++*(int *)ud == 2 ? -42 : 0;
}

static void test_document_prefix_edges(void)
{
    hs_store *s = open_writer();
    char coll[64], other[80];
    snprintf(coll, sizeof coll, "edges%d_%d", (int)getpid(), ++g_counter);
    snprintf(other, sizeof other, "%s_other", coll);
    /* In byte order. U+10FFFF is the largest code point; 0x7f the largest ASCII. */
    const char *keys[] = {"p",
                          "p/",
                          "p/a",
                          "p0",
                          "p\x7f",
                          "p\x7fz",
                          "p\xc3\xa9",
                          "p\xc3\xa9/x",
                          "p\xf4\x8f\xbf\xbf",
                          "p\xf4\x8f\xbf\xbf"
                          "a",
                          "q"};
    enum { NK = sizeof keys / sizeof keys[0] };
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    for (int i = NK - 1; i >= 0; i--)
        CU_ASSERT_EQUAL(hs_store_doc_put(s, coll, keys[i], "{}"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_put(s, other, "p", "{\"other\":true}"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);

    doc_all d;
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(hs_store_doc_list(s, coll, "", false, 0, collect_doc_all, &d), HS_OK);
    CU_ASSERT_EQUAL_FATAL(d.n, NK);
    for (int i = 0; i < NK; i++)
        CU_ASSERT_STRING_EQUAL(d.keys[i], keys[i]);

    struct {
        const char *prefix;
        int first, count; /* the expected keys: keys[first .. first + count) */
    } cases[] = {
        {"p", 0, 10},
        {"p/", 1, 2},
        {"p\x7f", 4, 2},
        {"p\xc3\xa9", 6, 2},
        {"p\xf4\x8f\xbf\xbf", 8, 2},
        {"q", 10, 1},
        {"r", 0, 0},
        {"p/a/", 0, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memset(&d, 0, sizeof d);
        CU_ASSERT_EQUAL(hs_store_doc_list(s, coll, cases[c].prefix, false, 0, collect_doc_all, &d),
                        HS_OK);
        CU_ASSERT_EQUAL(d.n, cases[c].count);
        for (int i = 0; i < d.n && i < cases[c].count; i++)
            CU_ASSERT_STRING_EQUAL(d.keys[i], keys[cases[c].first + i]);
    }
    /* Reverse with a limit: the last keys under the prefix. */
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(hs_store_doc_list(s, coll, "p", true, 2, collect_doc_all, &d), HS_OK);
    CU_ASSERT_EQUAL_FATAL(d.n, 2);
    CU_ASSERT_STRING_EQUAL(d.keys[0], keys[9]);
    CU_ASSERT_STRING_EQUAL(d.keys[1], keys[8]);
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(hs_store_doc_list(s, coll, "p\xc3\xa9", true, 1, collect_doc_all, &d), HS_OK);
    CU_ASSERT_EQUAL_FATAL(d.n, 1);
    CU_ASSERT_STRING_EQUAL(d.keys[0], "p\xc3\xa9/x");
    /* The callback's return stops the listing. */
    int calls = 0;
    CU_ASSERT_EQUAL(hs_store_doc_list(s, coll, "", false, 0, stop_doc, &calls), -42);
    CU_ASSERT_EQUAL(calls, 2);
    /* Another collection is separate; an unknown one is empty. */
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(hs_store_doc_list(s, other, "", false, 0, collect_doc_all, &d), HS_OK);
    CU_ASSERT_EQUAL(d.n, 1);
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(hs_store_doc_list(s, "no_such_coll", "", false, 0, collect_doc_all, &d), HS_OK);
    CU_ASSERT_EQUAL(d.n, 0);
    CU_ASSERT_EQUAL(hs_store_doc_list(s, "", "", false, 0, collect_doc_all, &d), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_store_doc_put(s, coll, "", "{}"), HS_ERR_INVAL);
    hs_store_close(s);
}

static void test_document_text_kept_exactly(void)
{
    hs_store *s = open_writer();
    char coll[64];
    snprintf(coll, sizeof coll, "text%d_%d", (int)getpid(), ++g_counter);
    /* A large document with non-ASCII text, spacing and escapes kept as given. */
    hs_buf big;
    hs_buf_init(&big, 0);
    CU_ASSERT_EQUAL(hs_buf_puts(&big, "{ \"name\": \"caf\xc3\xa9 \\u00e9\\n\",\n  \"xs\": ["),
                    HS_OK);
    for (int i = 0; i < 20000; i++)
        CU_ASSERT_EQUAL(hs_buf_printf(&big, "%s%d", i ? ", " : "", i), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_puts(&big, "] }"), HS_OK);
    const char *text = hs_buf_cstr(&big);
    CU_ASSERT_EQUAL(hs_store_doc_put(s, coll, "big", text), HS_OK);
    hs_buf j;
    hs_buf_init(&j, 0);
    CU_ASSERT_EQUAL(hs_store_doc_get(s, coll, "big", &j), HS_OK);
    CU_ASSERT_EQUAL_FATAL(j.len, big.len);
    CU_ASSERT_EQUAL(memcmp(j.data, big.data, big.len), 0);
    /* Replacing with a small one; doc_get resets its output first. */
    CU_ASSERT_EQUAL(hs_store_doc_put(s, coll, "big", "[]"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_get(s, coll, "big", &j), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j), "[]");
    /* Keys with separators and odd characters are just text. */
    CU_ASSERT_EQUAL(hs_store_doc_put(s, coll,
                                     "a\x1f"
                                     "b",
                                     "1"),
                    HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_get(s, coll,
                                     "a\x1f"
                                     "b",
                                     &j),
                    HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j), "1");
    CU_ASSERT_EQUAL(hs_store_doc_get(s, coll, "a", &j), HS_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(j.len, 0);
    hs_buf_free(&j);
    hs_buf_free(&big);
    hs_store_close(s);
}

/* A URL of the backend under test naming a store that does not exist yet. */
static void fresh_store_url(char *buf, size_t len)
{
    if (strncmp(g_url, "sqlite:", 7) == 0) {
        snprintf(buf, len, "sqlite://%s/fresh%d.db", g_dir, ++g_counter);
        return;
    }
    /* mongodb://[user@]host[:port][,...]/<db>[?options]: replace <db>. */
    const char *hosts = strstr(g_url, "://");
    hosts = hosts != NULL ? hosts + 3 : g_url;
    const char *query = strchr(hosts, '?');
    const char *path = strchr(hosts, '/');
    if (query == NULL)
        query = g_url + strlen(g_url);
    if (path == NULL || path > query)
        path = query;
    snprintf(buf, len, "%.*s/hs_fresh_%d_%d%s", (int)(path - g_url), g_url, (int)getpid(),
             ++g_counter, query);
}

static void test_reader_of_empty_store(void)
{
    char url[600];
    fresh_store_url(url, sizeof url);
    hs_store *r = NULL;
    int rc = hs_store_open(&r, url, HS_STORE_READ);
    if (rc != HS_OK)
        fprintf(stderr, "open %s: %s\n", url, hs_err_detail());
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    int v = -1;
    CU_ASSERT_EQUAL(hs_store_schema_version(r, &v), HS_OK);
    CU_ASSERT_EQUAL(v, 0);
    hs_stream_info info;
    CU_ASSERT_EQUAL(hs_store_stream_get(r, "a/b=1", &info), HS_ERR_NOTFOUND);
    int64_t n = -1;
    CU_ASSERT_EQUAL(hs_store_count(r, "a/b=1", hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 0);
    hs_batch out;
    hs_batch_init(&out);
    CU_ASSERT_EQUAL(hs_store_tail(r, "a/b=1", hs_store_all_time(), 5, &out), HS_OK);
    CU_ASSERT_EQUAL(out.n, 0);
    hs_batch_free(&out);
    stream_seen d;
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(hs_store_stream_list(r, "", collect_stream, &d), HS_OK);
    CU_ASSERT_EQUAL(d.n, 0);
    hs_buf j;
    hs_buf_init(&j, 0);
    CU_ASSERT_EQUAL(hs_store_doc_get(r, "c", "k", &j), HS_ERR_NOTFOUND);
    hs_buf_free(&j);
    doc_all docs;
    memset(&docs, 0, sizeof docs);
    CU_ASSERT_EQUAL(hs_store_doc_list(r, "c", "", false, 0, collect_doc_all, &docs), HS_OK);
    CU_ASSERT_EQUAL(docs.n, 0);
    CU_ASSERT_EQUAL(hs_store_doc_put(r, "c", "k", "{}"), HS_ERR_STATE);
    hs_store_close(r);

    /* A writer then creates the schema there. */
    hs_store *w = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&w, url, HS_STORE_WRITE), HS_OK);
    CU_ASSERT_EQUAL(hs_store_schema_version(w, &v), HS_OK);
    CU_ASSERT_TRUE(v >= 1);
    hs_store_close(w);
}

/* One writer and several readers (a local stack starting) open a store that does not exist
 * yet at the same moment: every one of them opens it. */
static void test_concurrent_first_open(void)
{
    enum { ROUNDS = 8, PROCS = 6 };
    for (int round = 0; round < ROUNDS; round++) {
        char url[600];
        fresh_store_url(url, sizeof url);
        int gate[2];
        CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
        pid_t pids[PROCS];
        for (int k = 0; k < PROCS; k++) {
            pids[k] = fork();
            CU_ASSERT_TRUE_FATAL(pids[k] >= 0);
            if (pids[k] == 0) {
                char c;
                close(gate[1]);
                if (read(gate[0], &c, 1) != 0)
                    _exit(3);
                hs_store *s = NULL;
                int rc = hs_store_open(&s, url, k == 0 ? HS_STORE_WRITE : HS_STORE_READ);
                if (rc != HS_OK) {
                    fprintf(stderr, "process %d: %s\n", k, hs_err_detail());
                    _exit(1);
                }
                hs_store_close(s);
                _exit(0);
            }
        }
        close(gate[0]);
        close(gate[1]); /* every child starts now */
        for (int k = 0; k < PROCS; k++) {
            int status = 0;
            CU_ASSERT_EQUAL(waitpid(pids[k], &status, 0), pids[k]);
            CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
    }
}

static void test_unreachable_mongodb(void)
{
    /* Nothing listens on a port just found free: the open fails, it does not hang. */
    int port = hs_test_free_port();
    CU_ASSERT_TRUE_FATAL(port > 0);
    char url[128];
    snprintf(url, sizeof url, "mongodb://127.0.0.1:%d/hs_none", port);
    hs_store *s = NULL;
    CU_ASSERT_EQUAL(hs_store_open(&s, url, HS_STORE_READ), HS_ERR_STORE);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(strncmp(hs_err_detail(), "mongodb: ", 9), 0);
    CU_ASSERT_EQUAL(hs_store_open(&s, url, HS_STORE_WRITE), HS_ERR_STORE);
    CU_ASSERT_EQUAL(hs_store_open(&s, "mongodb://", HS_STORE_READ), HS_ERR_CONFIG);
    CU_ASSERT_EQUAL(hs_store_open(&s, "mongodb://host/db?badoption=x&w=-7", HS_STORE_READ),
                    HS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(s);
}

static void test_read_edges(void)
{
    hs_store *s = open_writer();
    char id[128];
    fresh_id(id, sizeof id, "edges");
    hs_batch b;
    hs_batch_init(&b);
    push_double(&b, -20, 1);
    push_double(&b, -10, 2);
    push_double(&b, 0, 3);
    write_batch(s, id, &b, NULL, NULL);
    hs_batch out;
    hs_batch_init(&out);
    /* More asked than there is. */
    CU_ASSERT_EQUAL(hs_store_tail(s, id, hs_store_all_time(), 100, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 3);
    CU_ASSERT_EQUAL(out.items[0].t_us, -20);
    CU_ASSERT_EQUAL(out.items[2].t_us, 0);
    /* Empty and inverted ranges, and n == 0. */
    hs_interval empty = {-10, -10}, inverted = {0, -20}, excl = {-20, -10};
    CU_ASSERT_EQUAL(hs_store_head(s, id, empty, 5, &out), HS_OK);
    CU_ASSERT_EQUAL(out.n, 0);
    CU_ASSERT_EQUAL(hs_store_tail(s, id, inverted, 5, &out), HS_OK);
    CU_ASSERT_EQUAL(out.n, 0);
    CU_ASSERT_EQUAL(hs_store_head(s, id, hs_store_all_time(), 0, &out), HS_OK);
    CU_ASSERT_EQUAL(out.n, 0);
    int64_t n = -1;
    CU_ASSERT_EQUAL(hs_store_count(s, id, inverted, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 0);
    /* (-20, -10] holds exactly the instance at -10. */
    CU_ASSERT_EQUAL(hs_store_count(s, id, excl, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(hs_store_head(s, id, excl, 5, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_EQUAL(out.items[0].t_us, -10);
    /* A cursor of one instance per chunk. */
    hs_store_cursor *c;
    CU_ASSERT_EQUAL_FATAL(hs_store_read(s, id, hs_store_all_time(), 1, &c), HS_OK);
    int64_t seen[4];
    int k = 0;
    for (;;) {
        CU_ASSERT_EQUAL_FATAL(hs_store_cursor_next(c, &out), HS_OK);
        if (out.n == 0)
            break;
        CU_ASSERT_EQUAL_FATAL(out.n, 1);
        if (k < 4)
            seen[k] = out.items[0].t_us;
        k++;
    }
    CU_ASSERT_EQUAL_FATAL(k, 3);
    CU_ASSERT_EQUAL(seen[0], -20);
    CU_ASSERT_EQUAL(seen[1], -10);
    CU_ASSERT_EQUAL(seen[2], 0);
    hs_store_cursor_close(c);
    hs_batch_free(&out);
    hs_batch_free(&b);
    hs_store_close(s);
}

/* Instances of id in (start, end] as times, into t (at most cap); their number. */
static size_t times_in(hs_store *s, const char *id, hs_interval range, int64_t *t, size_t cap)
{
    hs_batch b;
    hs_batch_init(&b);
    CU_ASSERT_EQUAL(hs_store_head(s, id, range, cap, &b), HS_OK);
    for (size_t i = 0; i < b.n; i++)
        t[i] = b.items[i].t_us;
    size_t n = b.n;
    hs_batch_free(&b);
    return n;
}

/*
 * Purging before T: instances with t <= T go, (-inf, T] leaves the calculated
 * intervals; a bounded purge stops at its last deleted instance, consistently.
 */
static void test_purge_before(void)
{
    hs_store *s = open_writer();
    char id[128], other[128];
    fresh_id(id, sizeof id, "purge_before");
    fresh_id(other, sizeof other, "purge_before_other");
    /* Instances at 1..10 and 21..30, calculated over (0, 10] and (20, 30]. */
    hs_batch b;
    hs_batch_init(&b);
    int64_t written[20];
    size_t nw = 0;
    for (int64_t t = 1; t <= 30; t++) {
        if (t > 10 && t <= 20)
            continue;
        push_double(&b, t, (double)t * 0.5);
        written[nw++] = t;
    }
    CU_ASSERT_EQUAL(hs_store_stream_define(s, id, HS_STREAM_COMPUTED, "{\"tool\":\"x\"}"), HS_OK);
    write_batch(s, id, &b, NULL, NULL);
    write_batch(s, other, &b, NULL, NULL);
    hs_intervals calc;
    hs_intervals_init(&calc);
    CU_ASSERT_EQUAL(hs_intervals_add(&calc, (hs_interval){0, 10}), HS_OK);
    CU_ASSERT_EQUAL(hs_intervals_add(&calc, (hs_interval){20, 30}), HS_OK);
    CU_ASSERT_EQUAL(hs_store_intervals_set(s, id, &calc), HS_OK);

    /* Unlimited, T = 5: the instance at 5 goes, the one at 6 stays. */
    int64_t deleted = -1, through = -1;
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_purge_before(s, id, 5, 0, &deleted, &through), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    size_t want = 0;
    for (size_t i = 0; i < nw; i++)
        want += written[i] <= 5;
    CU_ASSERT_EQUAL(deleted, (int64_t)want);
    CU_ASSERT_EQUAL(through, 5);
    int64_t t[32];
    size_t n = times_in(s, id, hs_store_all_time(), t, 32);
    CU_ASSERT_EQUAL(n, nw - want);
    CU_ASSERT_EQUAL(t[0], 6);
    hs_stream_info info;
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_EQUAL_FATAL(info.calculated.n, 2);
    CU_ASSERT_EQUAL(info.calculated.v[0].start, 5);
    CU_ASSERT_EQUAL(info.calculated.v[0].end, 10);
    CU_ASSERT_EQUAL(info.calculated.v[1].start, 20);
    hs_stream_info_free(&info);

    /* Bounded to 3 instances, T = 25: stops after the third (8), consistently. */
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_purge_before(s, id, 25, 3, &deleted, &through), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    CU_ASSERT_EQUAL(deleted, 3);
    CU_ASSERT_EQUAL(through, 8);
    CU_ASSERT_EQUAL(times_in(s, id, hs_store_all_time(), t, 32), n - 3);
    CU_ASSERT_EQUAL(t[0], 9);
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_EQUAL(info.calculated.v[0].start, 8);
    hs_stream_info_free(&info);
    /* Going on: the rest up to 25 (9, 10, 21..25) and the calculated gap goes too. */
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_purge_before(s, id, 25, 100, &deleted, &through), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    CU_ASSERT_EQUAL(deleted, 7);
    CU_ASSERT_EQUAL(through, 25);
    CU_ASSERT_EQUAL(times_in(s, id, hs_store_all_time(), t, 32), 5);
    CU_ASSERT_EQUAL(t[0], 26);
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, id, &info), HS_OK);
    CU_ASSERT_EQUAL_FATAL(info.calculated.n, 1);
    CU_ASSERT_EQUAL(info.calculated.v[0].start, 25);
    CU_ASSERT_EQUAL(info.calculated.v[0].end, 30);
    hs_stream_info_free(&info);

    /* The other stream with the same data is untouched. */
    CU_ASSERT_EQUAL(times_in(s, other, hs_store_all_time(), t, 32), nw);
    /* Nothing before the start of time; an unknown stream is not found. */
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_purge_before(s, id, HS_TIME_MIN - 1, 0, &deleted, NULL), HS_OK);
    CU_ASSERT_EQUAL(deleted, 0);
    CU_ASSERT_EQUAL(hs_store_purge_before(s, "no/such=stream", 5, 0, &deleted, NULL),
                    HS_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    hs_intervals_free(&calc);
    hs_batch_free(&b);
    hs_store_close(s);
}

static void test_purge_leaves_other_streams(void)
{
    hs_store *s = open_writer();
    char a[128], bb[128];
    fresh_id(a, sizeof a, "purge_a");
    fresh_id(bb, sizeof bb, "purge_b");
    hs_batch b;
    hs_batch_init(&b);
    push_double(&b, 1, 1);
    push_double(&b, 2, 2);
    write_batch(s, a, &b, NULL, NULL);
    write_batch(s, bb, &b, NULL, NULL);
    int64_t deleted = -1, n = -1;
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_purge(s, a, true, &deleted), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    CU_ASSERT_EQUAL(deleted, 2);
    CU_ASSERT_EQUAL(hs_store_count(s, bb, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 2);
    /* Writing to the removed stream defines it afresh, without the old data. */
    hs_batch_reset(&b);
    push_double(&b, 3, 3);
    hs_write_result res;
    write_batch(s, a, &b, NULL, &res);
    CU_ASSERT_EQUAL(res.inserted, 1);
    CU_ASSERT_EQUAL(hs_store_count(s, a, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    hs_stream_info info;
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, a, &info), HS_OK);
    CU_ASSERT_EQUAL(info.kind, HS_STREAM_RAW);
    hs_stream_info_free(&info);
    /* Purging an empty stream deletes nothing. */
    char e[128];
    fresh_id(e, sizeof e, "purge_empty");
    CU_ASSERT_EQUAL(hs_store_stream_define(s, e, HS_STREAM_RAW, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_purge(s, e, false, &deleted), HS_OK);
    CU_ASSERT_EQUAL(deleted, 0);
    hs_batch_free(&b);
    hs_store_close(s);
}

/* SQLite only: between transactions a connection holds no read transaction, so a checkpoint
 * can reset the write-ahead log (a pinned log grows without bound). Checked with the sqlite3
 * shell, a process of its own, while the writer and a reader stay open. */
static void test_wal_not_pinned(void)
{
    hs_store *s = open_writer();
    hs_store *r = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&r, g_url, HS_STORE_READ), HS_OK);
    char id[128];
    fresh_id(id, sizeof id, "wal");
    hs_batch b;
    hs_batch_init(&b);
    for (int k = 1; k <= 100; k++)
        push_double(&b, k, k);
    hs_write_result res;
    memset(&res, 0, sizeof res);
    write_batch(s, id, &b, NULL, &res);
    write_batch(s, id, &b, NULL, &res); /* duplicates: the existing rows are read */
    /* A writer that has not seen the stream yet looks it up. */
    hs_store_close(s);
    s = open_writer();
    hs_intervals a;
    hs_intervals_init(&a);
    CU_ASSERT_EQUAL(hs_intervals_add(&a, (hs_interval){0, 100}), HS_OK);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_intervals_add(s, id, &a), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    hs_stream_info info;
    CU_ASSERT_EQUAL(hs_store_stream_get(s, id, &info), HS_OK);
    hs_stream_info_free(&info);
    CU_ASSERT_EQUAL(hs_store_stream_get(r, id, &info), HS_OK);
    hs_stream_info_free(&info);
    int64_t n = 0;
    CU_ASSERT_EQUAL(hs_store_count(r, id, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 100);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'PRAGMA wal_checkpoint(TRUNCATE)' 2>&1", g_url + 9);
    FILE *p = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char line[128] = "";
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, p));
    pclose(p);
    /* busy|log frames|checkpointed frames: not busy, nothing left in the log. */
    CU_ASSERT_STRING_EQUAL(line, "0|0|0\n");
    hs_intervals_free(&a);
    hs_batch_free(&b);
    hs_store_close(r);
    hs_store_close(s);
}

/* --- the store against an in-memory model (a property test) --- */

/*
 * A seeded random sequence of writes (appends, late data into the middle and
 * before the first instance, re-sent batches, conflicts, duplicates inside a
 * batch), range deletions and purges is applied both to the store and to a
 * model (a sorted array of (t, value bytes) per stream); after every step
 * reads, heads, tails and counts over random ranges, and the status of every
 * written instance, must equal the model's. HS_TEST_STORE_SEED replays a seed
 * and HS_TEST_STORE_STEPS sets the number of steps.
 */

typedef struct pm_inst {
    int64_t t;
    uint8_t *v;
    size_t len;
} pm_inst;

typedef struct pm_stream {
    char id[128];
    pm_inst *a;
    size_t n, cap;
    hs_interval calc; /* the stream's calculated intervals: one interval, or empty */
    bool has_calc;
} pm_stream;

typedef struct pm_ctx {
    uint64_t rng;
    uint64_t seed;
    int step;
    char op[256]; /* the operation of the current step, for failure messages */
    bool failed;
    hs_buf prev_any; /* the last value of kind any, repeated sometimes */
    double prev_f;
    int64_t prev_i;
    size_t max_n, inserted, duplicates, conflicts; /* what the run did, for its summary */
    bool hold;                /* a transaction spans several steps: they neither begin nor commit */
    size_t held, rolled_back; /* transactions over several steps, and those rolled back */
} pm_ctx;

static int pm_begin(pm_ctx *c, hs_store *s)
{
    return c->hold ? HS_OK : hs_store_begin(s);
}

static int pm_commit(pm_ctx *c, hs_store *s)
{
    return c->hold ? HS_OK : hs_store_commit(s);
}

static uint64_t pm_next(pm_ctx *c)
{
    /* splitmix64 */
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int64_t pm_range(pm_ctx *c, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(pm_next(c) % (uint64_t)(hi - lo + 1));
}

static bool pm_chance(pm_ctx *c, int percent)
{
    return (int)(pm_next(c) % 100) < percent;
}

static void pm_fail(pm_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pm_fail(pm_ctx *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\nstore model test (%s): seed %llu, step %d, after %s: ", g_url,
            (unsigned long long)c->seed, c->step, c->op);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    CU_FAIL("the store differs from the model (details on stderr)");
}

/* Index of the first instance with t >= t (the model's lower bound). */
static size_t pm_lower(const pm_stream *m, int64_t t)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->a[mid].t < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* [*from, *to): the model's instances in (range.start, range.end]. */
static void pm_span(const pm_stream *m, hs_interval r, size_t *from, size_t *to)
{
    if (r.end <= r.start) {
        *from = *to = 0;
        return;
    }
    *from = r.start == INT64_MAX ? m->n : pm_lower(m, r.start + 1);
    *to = r.end == INT64_MAX ? m->n : pm_lower(m, r.end + 1);
    if (*to < *from)
        *to = *from;
}

static void pm_insert(pm_stream *m, size_t at, int64_t t, const uint8_t *v, size_t len)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 256;
        m->a = realloc(m->a, m->cap * sizeof *m->a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m->a);
    }
    memmove(m->a + at + 1, m->a + at, (m->n - at) * sizeof *m->a);
    m->a[at].t = t;
    m->a[at].v = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m->a[at].v);
    memcpy(m->a[at].v, v, len);
    m->a[at].len = len;
    m->n++;
}

/* Removes [from, to) from the model. */
static void pm_remove(pm_stream *m, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        free(m->a[i].v);
    if (to < m->n)
        memmove(m->a + from, m->a + to, (m->n - to) * sizeof *m->a);
    m->n -= to - from;
}

static void pm_stream_free(pm_stream *m)
{
    pm_remove(m, 0, m->n);
    free(m->a);
    memset(m, 0, sizeof *m);
}

/* dst (empty) becomes a copy of src. */
static void pm_copy(pm_stream *dst, const pm_stream *src)
{
    memcpy(dst->id, src->id, sizeof dst->id);
    dst->calc = src->calc;
    dst->has_calc = src->has_calc;
    for (size_t i = 0; i < src->n; i++)
        pm_insert(dst, dst->n, src->a[i].t, src->a[i].v, src->a[i].len);
}

/* --- values: canonical msgpack of every kind the block codec tells apart --- */

static void pm_put_float_bits(hs_buf *b, uint64_t bits)
{
    uint8_t v[9] = {0xcb};
    for (int k = 0; k < 8; k++)
        v[1 + k] = (uint8_t)(bits >> (56 - 8 * k));
    CU_ASSERT_EQUAL(hs_buf_append(b, v, sizeof v), HS_OK);
}

static uint64_t pm_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static void pm_value_float(pm_ctx *c, hs_buf *b)
{
    static const uint64_t special[] = {
        0x7ff8000000000000ULL, /* NaN */
        0xfff8000000000000ULL, /* -NaN */
        0x7ff0000000000001ULL, /* a signalling NaN with a payload */
        0x7ff4dead0000beefULL, /* another payload */
        0x8000000000000000ULL, /* -0.0 */
        0x0000000000000000ULL, /* 0.0 */
        0x7ff0000000000000ULL, /* +Inf */
        0xfff0000000000000ULL, /* -Inf */
        0x0000000000000001ULL, /* the smallest subnormal */
        0x7fefffffffffffffULL, /* DBL_MAX */
    };
    int k = (int)pm_range(c, 0, 99);
    if (k < 25) {
        /* the same value again */
    } else if (k < 60) {
        c->prev_f += (double)pm_range(c, -1000, 1000) / 64.0; /* a slowly moving reading */
    } else if (k < 75) {
        c->prev_f = (double)pm_range(c, -100000, 100000) / 7.0;
    } else if (k < 88) {
        uint64_t u = pm_next(c);
        memcpy(&c->prev_f, &u, sizeof u); /* any bits: NaN payloads and subnormals too */
    } else {
        uint64_t u = special[pm_range(c, 0, sizeof special / sizeof special[0] - 1)];
        memcpy(&c->prev_f, &u, sizeof u);
    }
    pm_put_float_bits(b, pm_bits(c->prev_f));
    if (c->prev_f != c->prev_f || c->prev_f - c->prev_f != 0)
        c->prev_f = 0; /* go on from a finite value */
}

static void pm_value_int(pm_ctx *c, hs_buf *b, bool small)
{
    static const int64_t special[] = {INT64_MIN,
                                      INT64_MAX,
                                      (1LL << 53),
                                      (1LL << 53) + 1,
                                      -(1LL << 53) - 1,
                                      (1LL << 62) + 12345,
                                      -1,
                                      0,
                                      127,
                                      128,
                                      -32,
                                      -33,
                                      255,
                                      256,
                                      65535,
                                      65536,
                                      4294967295LL,
                                      4294967296LL};
    int k = (int)pm_range(c, 0, 99);
    if (k < 20) {
        /* the same value again */
    } else if (k < 65) {
        /* a counter (wrapping at the ends of int64, as the block codec's arithmetic does) */
        c->prev_i = (int64_t)((uint64_t)c->prev_i + (uint64_t)pm_range(c, -3, 10));
    } else if (k < 80 || small) {
        c->prev_i = pm_range(c, -1000000, 1000000);
    } else if (k < 90) {
        c->prev_i = (int64_t)pm_next(c); /* any int64, far beyond 2^53 */
    } else {
        c->prev_i = special[pm_range(c, 0, sizeof special / sizeof special[0] - 1)];
    }
    if (small && (c->prev_i > (1LL << 53) || c->prev_i < -(1LL << 53)))
        c->prev_i = 0;
    CU_ASSERT_EQUAL(hs_mp_put_int(b, c->prev_i), HS_OK);
}

static void pm_value_any(pm_ctx *c, hs_buf *b)
{
    int k = (int)pm_range(c, 0, 99);
    if (k < 20 && c->prev_any.len > 0) {
        CU_ASSERT_EQUAL(hs_buf_append(b, c->prev_any.data, c->prev_any.len), HS_OK);
        return;
    }
    size_t at = b->len;
    char text[64];
    if (k < 40) {
        int n = snprintf(text, sizeof text, "s%lld", (long long)pm_range(c, 0, 50));
        CU_ASSERT_EQUAL(hs_mp_put_str(b, text, (size_t)n), HS_OK);
    } else if (k < 45) {
        CU_ASSERT_EQUAL(hs_mp_put_str(b, "", 0), HS_OK);
    } else if (k < 52) {
        /* a longer string: 32..3000 bytes */
        size_t n = (size_t)pm_range(c, 32, 3000);
        char *s = malloc(n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)('a' + (pm_next(c) % 26));
        CU_ASSERT_EQUAL(hs_mp_put_str(b, s, n), HS_OK);
        free(s);
    } else if (k < 72) {
        CU_ASSERT_EQUAL(hs_mp_put_map(b, 2), HS_OK);
        CU_ASSERT_EQUAL(hs_mp_put_cstr(b, "n"), HS_OK);
        CU_ASSERT_EQUAL(hs_mp_put_int(b, pm_range(c, -5, 5)), HS_OK);
        CU_ASSERT_EQUAL(hs_mp_put_cstr(b, "x"), HS_OK);
        CU_ASSERT_EQUAL(hs_mp_put_array(b, 2), HS_OK);
        CU_ASSERT_EQUAL(hs_mp_put_double(b, (double)pm_range(c, 0, 9) / 4), HS_OK);
        CU_ASSERT_EQUAL(hs_mp_put_bool(b, pm_chance(c, 50)), HS_OK);
    } else if (k < 78) {
        CU_ASSERT_EQUAL(hs_mp_put_nil(b), HS_OK);
    } else if (k < 84) {
        CU_ASSERT_EQUAL(hs_mp_put_bool(b, pm_chance(c, 50)), HS_OK);
    } else if (k < 90) {
        uint8_t raw[5] = {0, 0xc1, 0xff, 0xcb, (uint8_t)pm_next(c)};
        CU_ASSERT_EQUAL(hs_mp_put_bin(b, raw, (size_t)pm_range(c, 0, 5)), HS_OK);
    } else if (k < 99) {
        CU_ASSERT_EQUAL(hs_mp_put_array(b, 0), HS_OK);
    } else {
        /* larger than a block's 32 KiB bound: a block of its own */
        size_t n = 40000;
        char *s = malloc(n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)('A' + (pm_next(c) % 26));
        CU_ASSERT_EQUAL(hs_mp_put_str(b, s, n), HS_OK);
        free(s);
    }
    hs_buf_reset(&c->prev_any);
    CU_ASSERT_EQUAL(hs_buf_append(&c->prev_any, b->data + at, b->len - at), HS_OK);
}

enum { PM_FLOAT, PM_INT, PM_NUMBER, PM_ANY };

/* Appends one value of the batch's kind to b (now and then another kind). */
static void pm_value(pm_ctx *c, int kind, hs_buf *b)
{
    if (pm_chance(c, 4))
        kind = (int)pm_range(c, 0, 3); /* widens the block it lands in */
    switch (kind) {
    case PM_FLOAT:
        pm_value_float(c, b);
        break;
    case PM_INT:
        pm_value_int(c, b, false);
        break;
    case PM_NUMBER:
        if (pm_chance(c, 50))
            pm_value_int(c, b, true);
        else
            pm_value_float(c, b);
        break;
    default:
        pm_value_any(c, b);
    }
}

static void pm_push(pm_ctx *c, hs_batch *b, int64_t t, int kind)
{
    hs_buf *vb = hs_batch_push_begin(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vb);
    pm_value(c, kind, vb);
    CU_ASSERT_EQUAL_FATAL(hs_batch_push_end(b, t), HS_OK);
}

/* Pushes a copy of model instance i, or (changed) another value at its time. */
static void pm_push_existing(pm_ctx *c, hs_batch *b, const pm_inst *in, bool changed, int kind)
{
    if (!changed) {
        CU_ASSERT_EQUAL_FATAL(hs_batch_push(b, in->t, in->v, in->len), HS_OK);
        return;
    }
    for (;;) {
        hs_buf *vb = hs_batch_push_begin(b);
        CU_ASSERT_PTR_NOT_NULL_FATAL(vb);
        pm_value(c, kind, vb);
        bool same = vb->len == in->len && memcmp(vb->data, in->v, in->len) == 0;
        if (!same) {
            CU_ASSERT_EQUAL_FATAL(hs_batch_push_end(b, in->t), HS_OK);
            return;
        }
        hs_buf_reset(vb); /* drawn the same value: draw again */
    }
}

static void pm_shuffle(pm_ctx *c, hs_batch *b)
{
    for (size_t i = b->n; i > 1; i--) {
        size_t j = (size_t)(pm_next(c) % i);
        hs_inst tmp = b->items[i - 1];
        b->items[i - 1] = b->items[j];
        b->items[j] = tmp;
    }
}

/* --- comparing the store with the model --- */

static const char *pm_hex(const uint8_t *v, size_t len, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 3 < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%02x", v[i]);
    if (len * 2 + 1 > cap && cap > 4)
        memcpy(buf + cap - 4, "..", 3);
    return buf;
}

/* Compares got (instances of the store, in order) with model[from, from + got->n). */
static bool pm_same(pm_ctx *c, const pm_stream *m, size_t from, const hs_batch *got,
                    const char *what)
{
    for (size_t i = 0; i < got->n; i++) {
        const pm_inst *e = &m->a[from + i];
        const hs_inst *g = &got->items[i];
        if (g->t_us != e->t || g->len != e->len ||
            memcmp(hs_batch_value(got, i), e->v, e->len) != 0) {
            char h1[64], h2[64];
            pm_fail(c, "%s of %s: instance %zu is (%lld, %s), expected (%lld, %s)", what, m->id,
                    from + i, (long long)g->t_us,
                    pm_hex(hs_batch_value(got, i), g->len, h1, sizeof h1), (long long)e->t,
                    pm_hex(e->v, e->len, h2, sizeof h2));
            return false;
        }
    }
    return true;
}

static void pm_check_read(pm_ctx *c, hs_store *s, const pm_stream *m, hs_interval r, size_t chunk)
{
    size_t from, to;
    pm_span(m, r, &from, &to);
    hs_store_cursor *cur = NULL;
    int rc = hs_store_read(s, m->id, r, chunk, &cur);
    if (rc != HS_OK) {
        pm_fail(c, "hs_store_read (%lld, %lld]: %s %s", (long long)r.start, (long long)r.end,
                hs_strerror(rc), hs_err_detail());
        return;
    }
    hs_batch out;
    hs_batch_init(&out);
    size_t at = from;
    char what[128];
    for (;;) {
        rc = hs_store_cursor_next(cur, &out);
        if (rc != HS_OK) {
            pm_fail(c, "cursor_next: %s %s", hs_strerror(rc), hs_err_detail());
            break;
        }
        if (out.n == 0)
            break;
        if (out.n > chunk) {
            pm_fail(c, "a cursor of chunk %zu returned %zu instances", chunk, out.n);
            break;
        }
        if (at + out.n > to) {
            pm_fail(c, "read (%lld, %lld] chunk %zu of %s: %zu instances or more, expected %zu",
                    (long long)r.start, (long long)r.end, chunk, m->id, at + out.n - from,
                    to - from);
            break;
        }
        snprintf(what, sizeof what, "read (%lld, %lld] chunk %zu", (long long)r.start,
                 (long long)r.end, chunk);
        if (!pm_same(c, m, at, &out, what))
            break;
        at += out.n;
    }
    if (!c->failed && at != to)
        pm_fail(c, "read (%lld, %lld] chunk %zu of %s: %zu instances, expected %zu",
                (long long)r.start, (long long)r.end, chunk, m->id, at - from, to - from);
    hs_store_cursor_close(cur);
    hs_batch_free(&out);
}

static void pm_check_head_tail_count(pm_ctx *c, hs_store *s, const pm_stream *m, hs_interval r,
                                     size_t n)
{
    size_t from, to;
    pm_span(m, r, &from, &to);
    size_t want = to - from < n ? to - from : n;
    hs_batch out;
    hs_batch_init(&out);
    char what[128];
    int rc = hs_store_head(s, m->id, r, n, &out);
    snprintf(what, sizeof what, "head %zu of (%lld, %lld]", n, (long long)r.start,
             (long long)r.end);
    if (rc != HS_OK)
        pm_fail(c, "%s: %s %s", what, hs_strerror(rc), hs_err_detail());
    else if (out.n != want)
        pm_fail(c, "%s of %s: %zu instances, expected %zu", what, m->id, out.n, want);
    else
        pm_same(c, m, from, &out, what);
    rc = hs_store_tail(s, m->id, r, n, &out);
    snprintf(what, sizeof what, "tail %zu of (%lld, %lld]", n, (long long)r.start,
             (long long)r.end);
    if (rc != HS_OK)
        pm_fail(c, "%s: %s %s", what, hs_strerror(rc), hs_err_detail());
    else if (out.n != want)
        pm_fail(c, "%s of %s: %zu instances, expected %zu", what, m->id, out.n, want);
    else
        pm_same(c, m, to - want, &out, what);
    int64_t cnt = -1;
    rc = hs_store_count(s, m->id, r, &cnt);
    if (rc != HS_OK)
        pm_fail(c, "count (%lld, %lld]: %s %s", (long long)r.start, (long long)r.end,
                hs_strerror(rc), hs_err_detail());
    else if (cnt != (int64_t)(to - from))
        pm_fail(c, "count (%lld, %lld] of %s: %lld, expected %zu", (long long)r.start,
                (long long)r.end, m->id, (long long)cnt, to - from);
    hs_batch_free(&out);
}

/* A time for a range bound: at, just before or after an instance, or anywhere near. */
static int64_t pm_bound(pm_ctx *c, const pm_stream *m)
{
    if (m->n == 0 || pm_chance(c, 15)) {
        int k = (int)pm_range(c, 0, 3);
        if (k == 0)
            return HS_TIME_MIN - 1;
        if (k == 1)
            return HS_TIME_MAX;
        return 1600000000LL * 1000000 + pm_range(c, -86400LL * 1000000, 86400LL * 1000000 * 30);
    }
    int64_t t = m->a[pm_next(c) % m->n].t;
    return t + pm_range(c, -1, 1);
}

static hs_interval pm_random_range(pm_ctx *c, const pm_stream *m)
{
    int64_t a = pm_bound(c, m), b = pm_bound(c, m);
    if (a > b && !pm_chance(c, 5)) { /* now and then an inverted range */
        int64_t x = a;
        a = b;
        b = x;
    }
    return (hs_interval){a, b};
}

static void pm_check_calc(pm_ctx *c, hs_store *s, const pm_stream *m)
{
    hs_stream_info info;
    int rc = hs_store_stream_get(s, m->id, &info);
    if (rc != HS_OK) {
        pm_fail(c, "stream_get %s: %s %s", m->id, hs_strerror(rc), hs_err_detail());
        return;
    }
    if (!m->has_calc && info.calculated.n != 0)
        pm_fail(c, "%s: %zu calculated intervals, expected none", m->id, info.calculated.n);
    if (m->has_calc && (info.calculated.n != 1 || info.calculated.v[0].start != m->calc.start ||
                        info.calculated.v[0].end != m->calc.end))
        pm_fail(c, "%s: calculated intervals (%zu; first (%lld, %lld]), expected (%lld, %lld]",
                m->id, info.calculated.n,
                (long long)(info.calculated.n ? info.calculated.v[0].start : 0),
                (long long)(info.calculated.n ? info.calculated.v[0].end : 0),
                (long long)m->calc.start, (long long)m->calc.end);
    hs_stream_info_free(&info);
}

/* Every check of one stream: the whole stream and random ranges. */
static void pm_check(pm_ctx *c, hs_store *s, const pm_stream *m, bool small)
{
    static const size_t chunks[] = {1, 7, 100, 1024, 1025, 5000};
    size_t chunk = chunks[pm_range(c, small ? 1 : 0, sizeof chunks / sizeof chunks[0] - 1)];
    pm_check_read(c, s, m, hs_store_all_time(), chunk);
    int ranges = small ? 2 : 4;
    for (int k = 0; k < ranges && !c->failed; k++) {
        hs_interval r = pm_random_range(c, m);
        size_t n = (size_t)(pm_chance(c, 30) ? pm_range(c, 0, 3) : pm_range(c, 1, 2500));
        pm_check_head_tail_count(c, s, m, r, n);
        if (!c->failed && k < 2)
            pm_check_read(c, s, m, r, 7);
    }
    if (!c->failed)
        pm_check_head_tail_count(c, s, m, hs_store_all_time(), m->n + 1);
    if (!c->failed)
        pm_check_calc(c, s, m);
}

/* --- operations --- */

/* Writes b to the store in one transaction and to the model; compares the outcome. */
static void pm_write(pm_ctx *c, hs_store *s, pm_stream *m, const hs_batch *b)
{
    uint8_t *want = malloc(b->n + 1), *got = malloc(b->n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    memset(got, 0xee, b->n + 1);
    hs_write_result wres = {0, 0, 0}, res;
    memset(&res, 0x5a, sizeof res);
    for (size_t i = 0; i < b->n; i++) {
        const hs_inst *in = &b->items[i];
        const uint8_t *v = hs_batch_value(b, i);
        size_t at = pm_lower(m, in->t_us);
        if (at < m->n && m->a[at].t == in->t_us) {
            bool same = m->a[at].len == in->len && memcmp(m->a[at].v, v, in->len) == 0;
            want[i] = same ? HS_WRITE_DUPLICATE : HS_WRITE_CONFLICT;
            if (same)
                wres.duplicates++;
            else
                wres.conflicts++;
        } else {
            pm_insert(m, at, in->t_us, v, in->len);
            want[i] = HS_WRITE_INSERTED;
            wres.inserted++;
        }
    }
    int rc = pm_begin(c, s);
    if (rc == HS_OK)
        rc = hs_store_write(s, m->id, b, got, &res);
    if (rc == HS_OK)
        rc = pm_commit(c, s);
    else
        (void)hs_store_rollback(s);
    if (rc != HS_OK) {
        pm_fail(c, "write of %zu instances to %s: %s %s", b->n, m->id, hs_strerror(rc),
                hs_err_detail());
    } else if (res.inserted != wres.inserted || res.duplicates != wres.duplicates ||
               res.conflicts != wres.conflicts) {
        pm_fail(c,
                "write result %zu inserted, %zu duplicates, %zu conflicts; expected %zu, %zu, %zu",
                res.inserted, res.duplicates, res.conflicts, wres.inserted, wres.duplicates,
                wres.conflicts);
    } else {
        c->inserted += res.inserted;
        c->duplicates += res.duplicates;
        c->conflicts += res.conflicts;
        if (m->n > c->max_n)
            c->max_n = m->n;
        for (size_t i = 0; i < b->n; i++) {
            if (got[i] != want[i]) {
                pm_fail(c, "status of instance %zu (t %lld) is %d, expected %d", i,
                        (long long)b->items[i].t_us, got[i], want[i]);
                break;
            }
        }
    }
    free(want);
    free(got);
}

static int64_t pm_last(const pm_stream *m, int64_t dflt)
{
    return m->n ? m->a[m->n - 1].t : dflt;
}

#define PM_T0  (1600000000LL * 1000000)
#define PM_SEC 1000000LL

/* Instances after the stream's last one: a regular series, with jitter and gaps. */
static void pm_gen_append(pm_ctx *c, const pm_stream *m, hs_batch *b, size_t n, int kind)
{
    int64_t t = pm_last(m, PM_T0);
    int64_t step = pm_chance(c, 70) ? PM_SEC : pm_range(c, 1, 3 * PM_SEC);
    for (size_t i = 0; i < n; i++) {
        int k = (int)pm_range(c, 0, 999);
        if (k < 3)
            t += pm_range(c, 86400LL * PM_SEC, 3 * 86400LL * PM_SEC); /* beyond a block's day */
        else if (k < 20)
            t += pm_range(c, 1, 600 * PM_SEC);
        else if (k < 60)
            t += step + pm_range(c, -step / 2, step / 2) + 1;
        else
            t += step;
        pm_push(c, b, t, kind);
    }
}

/* A time in (lo, hi) that no instance of the model has, or lo when there is none. */
static int64_t pm_free_time(pm_ctx *c, const pm_stream *m, int64_t lo, int64_t hi)
{
    for (int tries = 0; tries < 20 && hi - lo > 1; tries++) {
        int64_t t = pm_range(c, lo + 1, hi - 1);
        size_t at = pm_lower(m, t);
        if (at >= m->n || m->a[at].t != t)
            return t;
    }
    return lo;
}

static void pm_step(pm_ctx *c, hs_store *s, pm_stream *m, bool small)
{
    hs_batch b;
    hs_batch_init(&b);
    int kind = (int)pm_range(c, 0, 3);
    static const char *const kinds[] = {"float", "int", "number", "any"};
    int k = (int)pm_range(c, 0, 99);
    size_t maxn = small ? 150 : 400;
    if (m->n == 0 || k < 28) {
        /* in order after the last instance; now and then more than a block */
        size_t n = (size_t)(pm_chance(c, 8) ? pm_range(c, 1000, small ? 1100 : 2600)
                                            : pm_range(c, 1, (int64_t)maxn));
        pm_gen_append(c, m, &b, n, kind);
        /* now and then re-sending the last few before them */
        size_t resend = m->n && pm_chance(c, 20) ? (size_t)pm_range(c, 1, 5) : 0;
        for (size_t i = 0; i < resend && i < m->n; i++)
            pm_push_existing(c, &b, &m->a[m->n - 1 - i], false, kind);
        snprintf(c->op, sizeof c->op, "append of %zu %s instances (+%zu re-sent) to %s", n,
                 kinds[kind], resend, m->id);
    } else if (k < 46) {
        /* late: new instances between existing ones, some existing ones, in random order */
        size_t n = (size_t)pm_range(c, 1, small ? 40 : 120);
        int64_t lo = m->a[0].t, hi = m->a[m->n - 1].t;
        if (pm_chance(c, 50) && m->n > 10) {
            /* crowded into a narrow stretch: one block's worth */
            size_t i = (size_t)pm_range(c, 0, (int64_t)m->n - 2);
            size_t j = i + (size_t)pm_range(c, 1, 300);
            lo = m->a[i].t;
            hi = m->a[j < m->n ? j : m->n - 1].t;
        }
        size_t old = 0;
        for (size_t i = 0; i < n; i++) {
            if (pm_chance(c, 15)) {
                pm_push_existing(c, &b, &m->a[pm_next(c) % m->n], pm_chance(c, 40), kind);
                old++;
            } else {
                int64_t t = pm_free_time(c, m, lo, hi);
                if (t == lo)
                    continue;
                pm_push(c, &b, t, kind);
            }
        }
        pm_shuffle(c, &b);
        snprintf(c->op, sizeof c->op,
                 "late write of %zu %s instances (%zu at existing times) into (%lld, %lld] of %s",
                 b.n, kinds[kind], old, (long long)lo, (long long)hi, m->id);
    } else if (k < 53) {
        /* before the first instance */
        size_t n = (size_t)pm_range(c, 1, small ? 60 : 300);
        int64_t t = m->a[0].t - (int64_t)n * PM_SEC - pm_range(c, 1, 86400LL * 2 * PM_SEC);
        for (size_t i = 0; i < n; i++) {
            t += pm_range(c, 1, PM_SEC);
            if (t >= m->a[0].t)
                break;
            pm_push(c, &b, t, kind);
        }
        if (pm_chance(c, 50))
            pm_push_existing(c, &b, &m->a[0], pm_chance(c, 50), kind);
        if (pm_chance(c, 50))
            pm_shuffle(c, &b);
        snprintf(c->op, sizeof c->op, "write of %zu %s instances before the first (%lld) of %s",
                 b.n, kinds[kind], (long long)m->a[0].t, m->id);
    } else if (k < 63) {
        /* a re-sent run of stored instances: duplicates, some changed (conflicts) */
        size_t i = (size_t)pm_range(c, 0, (int64_t)m->n - 1);
        size_t n = (size_t)pm_range(c, 1, small ? 200 : 1500);
        int changed = pm_chance(c, 50) ? (int)pm_range(c, 1, 20) : 0;
        for (size_t j = i; j < m->n && j < i + n; j++)
            pm_push_existing(c, &b, &m->a[j], pm_chance(c, changed), kind);
        if (pm_chance(c, 30))
            pm_shuffle(c, &b);
        snprintf(c->op, sizeof c->op, "re-send of %zu instances from %zu (%d%% changed) of %s", b.n,
                 i, changed, m->id);
    } else if (k < 71) {
        /* the same timestamps more than once in one batch: equal and different values */
        size_t n = (size_t)pm_range(c, 2, 40);
        for (size_t i = 0; i < n; i++) {
            if (b.n > 0 && pm_chance(c, 50)) {
                const hs_inst *p = &b.items[pm_next(c) % b.n];
                int64_t t = p->t_us;
                if (pm_chance(c, 50)) {
                    hs_buf copy;
                    hs_buf_init(&copy, 0);
                    CU_ASSERT_EQUAL(
                        hs_buf_append(&copy, hs_batch_value(&b, (size_t)(p - b.items)), p->len),
                        HS_OK);
                    CU_ASSERT_EQUAL_FATAL(hs_batch_push(&b, t, copy.data, copy.len), HS_OK);
                    hs_buf_free(&copy);
                } else {
                    pm_push(c, &b, t, kind);
                }
            } else if (pm_chance(c, 30)) {
                pm_push_existing(c, &b, &m->a[pm_next(c) % m->n], pm_chance(c, 50), kind);
            } else if (pm_chance(c, 50)) {
                pm_push(c, &b, pm_last(m, PM_T0) + pm_range(c, 1, 50 * PM_SEC), kind);
            } else {
                int64_t t = pm_free_time(c, m, m->a[0].t - PM_SEC, pm_last(m, PM_T0));
                pm_push(c, &b, t, kind);
            }
        }
        snprintf(c->op, sizeof c->op, "write of %zu %s instances with repeated timestamps to %s",
                 b.n, kinds[kind], m->id);
    } else if (k < 83) {
        /* delete_range over a random range, now and then the whole stream or a wide one */
        hs_interval r = pm_random_range(c, m);
        if (pm_chance(c, 75)) {
            /* a narrow one, as a job's range: a few blocks at most */
            size_t i = (size_t)pm_range(c, 0, (int64_t)m->n - 1);
            size_t j = i + (size_t)pm_range(c, 0, 1500);
            r.start = m->a[i].t + pm_range(c, -1, 0);
            r.end = m->a[j < m->n ? j : m->n - 1].t + pm_range(c, -1, 0);
        } else if (pm_chance(c, 5)) {
            r = hs_store_all_time();
        }
        size_t from, to;
        pm_span(m, r, &from, &to);
        snprintf(c->op, sizeof c->op, "delete_range (%lld, %lld] of %s (%zu instances)",
                 (long long)r.start, (long long)r.end, m->id, to - from);
        int64_t deleted = -1;
        int rc = pm_begin(c, s);
        if (rc == HS_OK)
            rc = hs_store_delete_range(s, m->id, r, &deleted);
        if (rc == HS_OK)
            rc = pm_commit(c, s);
        else
            (void)hs_store_rollback(s);
        if (rc != HS_OK)
            pm_fail(c, "delete_range: %s %s", hs_strerror(rc), hs_err_detail());
        else if (deleted != (int64_t)(to - from))
            pm_fail(c, "delete_range deleted %lld, expected %zu", (long long)deleted, to - from);
        pm_remove(m, from, to);
    } else if (k < 92) {
        /* purge_before, unbounded or bounded */
        size_t i = pm_chance(c, 80) ? (size_t)pm_range(c, 0, (int64_t)(m->n / 8))
                                    : (size_t)(pm_next(c) % m->n);
        int64_t before = m->a[i].t + pm_range(c, -1, 1);
        if (pm_chance(c, 10))
            before = m->a[0].t - 1;
        int64_t max = pm_chance(c, 50) ? 0 : pm_range(c, 1, small ? 200 : 1500);
        size_t from, to;
        pm_span(m, (hs_interval){HS_TIME_MIN - 1, before}, &from, &to);
        int64_t through = before;
        if (max > 0 && (int64_t)(to - from) >= max) {
            to = from + (size_t)max;
            through = m->a[to - 1].t;
        }
        snprintf(c->op, sizeof c->op, "purge_before %lld max %lld of %s (%zu instances)",
                 (long long)before, (long long)max, m->id, to - from);
        int64_t deleted = -1, got_through = 0;
        int rc = pm_begin(c, s);
        if (rc == HS_OK)
            rc = hs_store_purge_before(s, m->id, before, max, &deleted, &got_through);
        if (rc == HS_OK)
            rc = pm_commit(c, s);
        else
            (void)hs_store_rollback(s);
        if (rc != HS_OK)
            pm_fail(c, "purge_before: %s %s", hs_strerror(rc), hs_err_detail());
        else if (deleted != (int64_t)(to - from) || got_through != through)
            pm_fail(c, "purge_before deleted %lld through %lld, expected %zu through %lld",
                    (long long)deleted, (long long)got_through, to - from, (long long)through);
        pm_remove(m, from, to);
        if (m->has_calc && through >= m->calc.end)
            m->has_calc = false;
        else if (m->has_calc && through > m->calc.start)
            m->calc.start = through;
    } else if (k < 94) {
        /* purge of the whole stream (its definition stays) */
        snprintf(c->op, sizeof c->op, "purge of %s (%zu instances)", m->id, m->n);
        int64_t deleted = -1;
        int rc = pm_begin(c, s);
        if (rc == HS_OK)
            rc = hs_store_purge(s, m->id, false, &deleted);
        if (rc == HS_OK)
            rc = pm_commit(c, s);
        else
            (void)hs_store_rollback(s);
        if (rc != HS_OK)
            pm_fail(c, "purge: %s %s", hs_strerror(rc), hs_err_detail());
        else if (deleted != (int64_t)m->n)
            pm_fail(c, "purge deleted %lld, expected %zu", (long long)deleted, m->n);
        pm_remove(m, 0, m->n);
        m->has_calc = false;
    } else {
        /* a large write in order that overlaps the end: re-sent tail and new instances */
        size_t keep = m->n < 50 ? m->n : 50;
        for (size_t i = m->n - keep; i < m->n; i++)
            pm_push_existing(c, &b, &m->a[i], pm_chance(c, 5), kind);
        size_t n = (size_t)pm_range(c, 1, small ? 300 : 1200);
        pm_gen_append(c, m, &b, n, kind);
        snprintf(c->op, sizeof c->op, "overlapping append of %zu + %zu %s instances to %s", keep, n,
                 kinds[kind], m->id);
    }
    if (b.n > 0)
        pm_write(c, s, m, &b);
    hs_batch_free(&b);
}

/*
 * One chunk of a cursor over the whole stream, compared with the model as it
 * is now: keyset paging returns the instances after the last one returned
 * (*last, when *started); a chunk shorter than the cursor's is its last.
 * Returns the number of instances read, or -1 when they differ.
 */
static long pm_cursor_step(pm_ctx *c, hs_store_cursor *cur, const pm_stream *m, size_t chunk,
                           int64_t *last, bool *started)
{
    hs_batch out;
    hs_batch_init(&out);
    long got = -1;
    size_t from = *started ? (*last == INT64_MAX ? m->n : pm_lower(m, *last + 1)) : 0;
    int rc = hs_store_cursor_next(cur, &out);
    if (rc != HS_OK) {
        pm_fail(c, "cursor_next across a change: %s %s", hs_strerror(rc), hs_err_detail());
    } else if (out.n > chunk) {
        pm_fail(c, "a cursor of chunk %zu returned %zu instances", chunk, out.n);
    } else if (out.n < chunk && from + out.n < m->n) {
        pm_fail(c,
                "a cursor across a change of %s ended with %zu instances after %lld, there are %zu",
                m->id, out.n, (long long)*last, m->n - from);
    } else if (from + out.n > m->n) {
        pm_fail(c,
                "a cursor across a change of %s returned %zu instances after %lld, there are %zu",
                m->id, out.n, (long long)*last, m->n - from);
    } else if (pm_same(c, m, from, &out, "a cursor read across a change")) {
        got = (long)out.n;
        if (out.n > 0) {
            *last = out.items[out.n - 1].t_us;
            *started = true;
        }
    }
    hs_batch_free(&out);
    return got;
}

/*
 * SQLite: the blocks of a stream as stored (sqlite3, a connection of its own)
 * partition the model's instances in time order (t0, t1 and n of each
 * match the instances it must hold) within a block's bounds: at most 1,024
 * instances, one day from the first to the last, 32 KiB unless it holds
 * one value.
 */
static void pm_check_blocks(pm_ctx *c, sqlite3 *db, const pm_stream *m)
{
    sqlite3_stmt *q = NULL;
    CU_ASSERT_EQUAL_FATAL(
        sqlite3_prepare_v2(db,
                           "SELECT t0, t1, n, length(data) FROM blocks WHERE sid ="
                           " (SELECT sid FROM streams WHERE id = ?1) ORDER BY t0",
                           -1, &q, NULL),
        SQLITE_OK);
    sqlite3_bind_text(q, 1, m->id, -1, SQLITE_STATIC);
    size_t at = 0;
    int k = 0;
    while (!c->failed && sqlite3_step(q) == SQLITE_ROW) {
        int64_t t0 = sqlite3_column_int64(q, 0), t1 = sqlite3_column_int64(q, 1);
        int64_t n = sqlite3_column_int64(q, 2), len = sqlite3_column_int64(q, 3);
        if (n < 1 || n > 1024 || at + (size_t)n > m->n || m->a[at].t != t0 ||
            m->a[at + (size_t)n - 1].t != t1)
            pm_fail(c, "block %d of %s (t0 %lld, t1 %lld, n %lld) after %zu of %zu instances", k,
                    m->id, (long long)t0, (long long)t1, (long long)n, at, m->n);
        else if (t1 - t0 > 86400LL * 1000000 || (len > 32 * 1024 && n > 1))
            pm_fail(c, "block %d of %s (t0 %lld, t1 %lld, n %lld) of %lld bytes is over the bounds",
                    k, m->id, (long long)t0, (long long)t1, (long long)n, (long long)len);
        at += (size_t)n;
        k++;
    }
    sqlite3_finalize(q);
    if (!c->failed && at != m->n)
        pm_fail(c, "the blocks of %s hold %zu instances, expected %zu", m->id, at, m->n);
}

static void pm_run(uint64_t seed, int steps, bool small)
{
    pm_ctx c;
    memset(&c, 0, sizeof c);
    c.seed = c.rng = seed;
    hs_buf_init(&c.prev_any, 0);
    const char *env_seed = getenv("HS_TEST_STORE_SEED");
    const char *env_steps = getenv("HS_TEST_STORE_STEPS");
    if (env_seed != NULL && env_seed[0] != '\0')
        c.seed = c.rng = strtoull(env_seed, NULL, 10);
    if (env_steps != NULL && env_steps[0] != '\0')
        steps = atoi(env_steps);
    hs_store *s = open_writer();
    hs_store *r = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&r, g_url, HS_STORE_READ), HS_OK);
    pm_stream m[2];
    memset(m, 0, sizeof m);
    for (int i = 0; i < 2; i++) {
        fresh_id(m[i].id, sizeof m[i].id, i == 0 ? "model/s=a" : "model/s=b");
        /* calculated (for a raw stream: covered) over a wide interval, cut by purge_before */
        m[i].calc = (hs_interval){PM_T0 - 86400LL * 365 * PM_SEC, PM_T0 + 86400LL * 365 * PM_SEC};
        m[i].has_calc = true;
        hs_intervals iv;
        hs_intervals_init(&iv);
        CU_ASSERT_EQUAL(hs_intervals_add(&iv, m[i].calc), HS_OK);
        CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
        CU_ASSERT_EQUAL(hs_store_stream_define(s, m[i].id, HS_STREAM_RAW, NULL), HS_OK);
        CU_ASSERT_EQUAL(hs_store_intervals_set(s, m[i].id, &iv), HS_OK);
        CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
        hs_intervals_free(&iv);
    }
    /* First more than a block's worth of instances in stream a, in one write. */
    hs_batch b;
    hs_batch_init(&b);
    snprintf(c.op, sizeof c.op, "the first write");
    pm_gen_append(&c, &m[0], &b, small ? 1100 : 3000, PM_FLOAT);
    pm_write(&c, s, &m[0], &b);
    hs_batch_free(&b);
    bool sqlite = strcmp(hs_store_backend(s), "sqlite") == 0;
    sqlite3 *db = NULL;
    if (sqlite)
        CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(g_url + 9, &db, SQLITE_OPEN_READONLY, NULL),
                              SQLITE_OK);
    pm_stream snap[2];
    memset(snap, 0, sizeof snap);
    int hold_left = 0;
    for (c.step = 1; c.step <= steps && !c.failed; c.step++) {
        pm_stream *ms = &m[pm_chance(&c, 80) ? 0 : 1];
        if (!c.hold && pm_chance(&c, 8)) {
            /* The next 2 to 5 steps in one transaction (SQLite: checked through the writer, which
             * sees them, and now and then rolled back). */
            CU_ASSERT_EQUAL_FATAL(hs_store_begin(s), HS_OK);
            c.hold = true;
            c.held++;
            hold_left = (int)pm_range(&c, 2, 5);
            for (int i = 0; sqlite && i < 2; i++)
                pm_copy(&snap[i], &m[i]);
        }
        if (!c.hold && pm_chance(&c, 3)) {
            /* a new writer handle: nothing cached from before */
            hs_store_close(s);
            s = open_writer();
        }
        /* Now and then a cursor of the stream is opened and read in part before the step, and
         * read on after it. */
        hs_store_cursor *cur = NULL;
        size_t chunk = 0;
        int64_t last = 0;
        bool started = false;
        if (ms->n > 0 && pm_chance(&c, 10)) {
            static const size_t chunks[] = {7, 100, 1024};
            chunk = chunks[pm_range(&c, 0, 2)];
            CU_ASSERT_EQUAL_FATAL(hs_store_read(!c.hold && pm_chance(&c, 50) ? r : s, ms->id,
                                                hs_store_all_time(), chunk, &cur),
                                  HS_OK);
            for (int k = (int)pm_range(&c, 1, 3); k > 0; k--) {
                if (pm_cursor_step(&c, cur, ms, chunk, &last, &started) != (long)chunk) {
                    hs_store_cursor_close(cur); /* at its end (or failed) already */
                    cur = NULL;
                    break;
                }
            }
        }
        pm_step(&c, s, ms, small);
        if (cur != NULL) {
            while (!c.failed && pm_cursor_step(&c, cur, ms, chunk, &last, &started) == (long)chunk)
                ;
            hs_store_cursor_close(cur);
        }
        if (c.hold && --hold_left == 0) {
            c.hold = false;
            if (sqlite && pm_chance(&c, 30)) {
                snprintf(c.op, sizeof c.op, "the rollback of a transaction over several steps");
                CU_ASSERT_EQUAL(hs_store_rollback(s), HS_OK);
                c.rolled_back++;
                for (int i = 0; i < 2; i++) {
                    pm_stream_free(&m[i]);
                    pm_copy(&m[i], &snap[i]);
                }
            } else {
                CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
            }
            for (int i = 0; i < 2; i++)
                pm_stream_free(&snap[i]);
        }
        /* Both streams, through the writer and now and then through a reader (not while a
         * transaction is open: a reader sees what was committed). */
        for (int i = 0; i < 2 && !c.failed; i++)
            pm_check(&c, !c.hold && pm_chance(&c, 25) ? r : s, &m[i], small);
        for (int i = 0; db != NULL && !c.hold && i < 2 && !c.failed; i++)
            pm_check_blocks(&c, db, &m[i]);
    }
    sqlite3_close(db);
    if (c.hold) {
        CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
        c.hold = false;
    }
    for (int i = 0; i < 2; i++)
        pm_stream_free(&snap[i]);
    if (!c.failed)
        fprintf(stderr,
                "[model: seed %llu, %d steps: %zu inserted, %zu duplicates, %zu conflicts; "
                "%zu transactions over several steps, %zu rolled back; largest stream %zu, at "
                "the end %zu + %zu] ",
                (unsigned long long)c.seed, steps, c.inserted, c.duplicates, c.conflicts, c.held,
                c.rolled_back, c.max_n, m[0].n, m[1].n);
    for (int i = 0; i < 2; i++)
        pm_stream_free(&m[i]);
    hs_buf_free(&c.prev_any);
    hs_store_close(r);
    hs_store_close(s);
}

static void test_store_against_model(void)
{
    if (strncmp(g_url, "sqlite:", 7) == 0)
        pm_run(20261207, 400, false);
    else
        pm_run(20261207, 60, true); /* the emulator is slow: fewer and smaller steps */
}

/* Writes b into model m (the first value per timestamp wins). */
static void pm_apply_batch(pm_stream *m, const hs_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        size_t at = pm_lower(m, b->items[i].t_us);
        if (at >= m->n || m->a[at].t != b->items[i].t_us)
            pm_insert(m, at, b->items[i].t_us, hs_batch_value(b, i), b->items[i].len);
    }
}

/* Deletes (range.start, range.end] from the store and the model; compares the counts. */
static void pm_delete(pm_ctx *c, hs_store *s, pm_stream *m, hs_interval r)
{
    size_t from, to;
    pm_span(m, r, &from, &to);
    snprintf(c->op, sizeof c->op, "delete_range (%lld, %lld] of %s", (long long)r.start,
             (long long)r.end, m->id);
    int64_t deleted = -1;
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_delete_range(s, m->id, r, &deleted), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    if (deleted != (int64_t)(to - from))
        pm_fail(c, "delete_range deleted %lld, expected %zu", (long long)deleted, to - from);
    pm_remove(m, from, to);
}

/*
 * Blocks at the ends of time: instances at HS_TIME_MIN and HS_TIME_MAX and
 * next to them (deltas of times that need the 64-bit code), late data
 * between them, deletions and purges at the ends.
 */
static void test_blocks_at_the_ends_of_time(void)
{
    hs_store *s = open_writer();
    pm_ctx c;
    memset(&c, 0, sizeof c);
    c.seed = c.rng = 99;
    hs_buf_init(&c.prev_any, 0);
    pm_stream m;
    memset(&m, 0, sizeof m);
    fresh_id(m.id, sizeof m.id, "ends_of_time");
    hs_batch b;
    hs_batch_init(&b);
    int64_t ts[] = {HS_TIME_MIN, HS_TIME_MIN + 1, HS_TIME_MIN + 2, -1, 0,
                    1,           HS_TIME_MAX - 2, HS_TIME_MAX - 1};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        pm_push(&c, &b, ts[i], (int)(i % 4));
    snprintf(c.op, sizeof c.op, "the first write");
    pm_write(&c, s, &m, &b);
    pm_check(&c, s, &m, false);
    /* The last possible instance, appended; late ones between the ends and zero. */
    hs_batch_reset(&b);
    pm_push(&c, &b, HS_TIME_MAX, PM_FLOAT);
    snprintf(c.op, sizeof c.op, "an append at HS_TIME_MAX");
    pm_write(&c, s, &m, &b);
    pm_check(&c, s, &m, false);
    hs_batch_reset(&b);
    for (int i = 0; i < 300; i++)
        pm_push(&c, &b, HS_TIME_MIN + 3 + (int64_t)i * 977, PM_INT);
    for (int i = 0; i < 300; i++)
        pm_push(&c, &b, HS_TIME_MAX - 3 - (int64_t)i * 1013, PM_NUMBER);
    for (int i = 0; i < 600; i++)
        pm_push(&c, &b, 2 + (int64_t)i * 3, PM_ANY);
    pm_push(&c, &b, HS_TIME_MIN, PM_FLOAT); /* a conflict or a duplicate of the first */
    pm_shuffle(&c, &b);
    snprintf(c.op, sizeof c.op, "late writes between the ends of time");
    pm_write(&c, s, &m, &b);
    pm_check(&c, s, &m, false);
    pm_delete(&c, s, &m, (hs_interval){HS_TIME_MIN, HS_TIME_MIN + 2000});
    pm_check(&c, s, &m, false);
    pm_delete(&c, s, &m, (hs_interval){HS_TIME_MAX - 5000, HS_TIME_MAX - 1});
    pm_check(&c, s, &m, false);
    /* Purging before HS_TIME_MIN deletes the first instance only. */
    int64_t deleted = -1, through = 0;
    snprintf(c.op, sizeof c.op, "purge_before HS_TIME_MIN");
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_purge_before(s, m.id, HS_TIME_MIN, 0, &deleted, &through), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(s), HS_OK);
    CU_ASSERT_EQUAL(deleted, 1);
    CU_ASSERT_EQUAL(through, HS_TIME_MIN);
    pm_remove(&m, 0, 1);
    pm_check(&c, s, &m, false);
    /* Reading from a new handle (no cached block). */
    hs_store_close(s);
    s = open_writer();
    pm_check(&c, s, &m, false);
    pm_delete(&c, s, &m, hs_store_all_time());
    pm_check(&c, s, &m, false);
    pm_stream_free(&m);
    hs_buf_free(&c.prev_any);
    hs_batch_free(&b);
    hs_store_close(s);
}

/*
 * SQLite: a transaction that appends, writes late data, deletes a range and
 * purges, then rolls back, leaves the store as it was; the writer's cached
 * last block does not keep what was rolled back, so the same timestamps
 * written afterwards with other values are inserted, not conflicts.
 */
static void test_rollback_leaves_blocks_as_they_were(void)
{
    hs_store *s = open_writer();
    if (strcmp(hs_store_backend(s), "sqlite") != 0) {
        hs_store_close(s); /* MongoDB writes are not transactional (documented) */
        return;
    }
    hs_store *r = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&r, g_url, HS_STORE_READ), HS_OK);
    pm_ctx c;
    memset(&c, 0, sizeof c);
    c.seed = c.rng = 4242;
    hs_buf_init(&c.prev_any, 0);
    pm_stream m, fresh;
    memset(&m, 0, sizeof m);
    memset(&fresh, 0, sizeof fresh);
    fresh_id(m.id, sizeof m.id, "rollback_blocks");
    fresh_id(fresh.id, sizeof fresh.id, "rollback_new");
    hs_batch b, late, again;
    hs_batch_init(&b);
    hs_batch_init(&late);
    hs_batch_init(&again);
    snprintf(c.op, sizeof c.op, "the first write");
    pm_gen_append(&c, &m, &b, 1500, PM_FLOAT);
    pm_write(&c, s, &m, &b);
    pm_check(&c, s, &m, false);

    /* All of it in one transaction, then rolled back. */
    snprintf(c.op, sizeof c.op, "a rolled back transaction");
    hs_batch_reset(&b);
    pm_gen_append(&c, &m, &b, 100, PM_FLOAT); /* not applied to the model */
    for (int i = 0; i < 20; i++)
        pm_push(&c, &late, m.a[i * 50].t + 1 + i, PM_NUMBER);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, m.id, &b, NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, m.id, &late, NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_delete_range(s, m.id, (hs_interval){m.a[100].t, m.a[1200].t}, NULL),
                    HS_OK);
    CU_ASSERT_EQUAL(hs_store_purge_before(s, m.id, m.a[10].t, 0, NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_write(s, fresh.id, &b, NULL, NULL), HS_OK);
    /* Inside the transaction the writer sees its changes, a reader does not. */
    pm_stream inside;
    memset(&inside, 0, sizeof inside);
    pm_copy(&inside, &m);
    pm_apply_batch(&inside, &b);
    pm_apply_batch(&inside, &late);
    size_t from, to;
    pm_span(&inside, (hs_interval){m.a[100].t, m.a[1200].t}, &from, &to);
    pm_remove(&inside, from, to);
    pm_span(&inside, (hs_interval){HS_TIME_MIN - 1, m.a[10].t}, &from, &to);
    pm_remove(&inside, from, to);
    snprintf(c.op, sizeof c.op, "a transaction not committed yet");
    pm_check(&c, s, &inside, false);
    pm_check(&c, r, &m, false);
    pm_stream_free(&inside);
    snprintf(c.op, sizeof c.op, "a rolled back transaction");
    CU_ASSERT_EQUAL(hs_store_rollback(s), HS_OK);
    pm_check(&c, s, &m, false);
    pm_check(&c, r, &m, false);
    hs_stream_info info;
    CU_ASSERT_EQUAL(hs_store_stream_get(s, fresh.id, &info), HS_ERR_NOTFOUND);

    /* The same timestamps with other values: inserted, and read back as written now. */
    snprintf(c.op, sizeof c.op, "the write after the rollback");
    for (size_t i = 0; i < b.n; i++) {
        hs_buf *vb = hs_batch_push_begin(&again);
        CU_ASSERT_PTR_NOT_NULL_FATAL(vb);
        CU_ASSERT_EQUAL(hs_mp_put_int(vb, 1000 + (int64_t)i), HS_OK);
        CU_ASSERT_EQUAL_FATAL(hs_batch_push_end(&again, b.items[i].t_us), HS_OK);
    }
    pm_write(&c, s, &m, &again);
    pm_write(&c, s, &m, &late);
    pm_write(&c, s, &fresh, &again);
    pm_check(&c, s, &m, false);
    pm_check(&c, r, &m, false);
    pm_check(&c, r, &fresh, false);

    /* Appending goes on after the rolled-back and re-written end, also in a new handle. */
    snprintf(c.op, sizeof c.op, "appends after the rollback");
    hs_batch_reset(&b);
    pm_gen_append(&c, &m, &b, 700, PM_INT);
    pm_write(&c, s, &m, &b);
    hs_store_close(s);
    s = open_writer();
    hs_batch_reset(&b);
    pm_gen_append(&c, &m, &b, 30, PM_ANY);
    pm_write(&c, s, &m, &b);
    pm_check(&c, r, &m, false);
    pm_check(&c, s, &m, false);

    /* A rollback right after a commit that appended: the committed block stays. */
    snprintf(c.op, sizeof c.op, "a rollback after an append");
    hs_batch_reset(&b);
    pm_gen_append(&c, &m, &b, 3, PM_FLOAT);
    pm_write(&c, s, &m, &b);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    hs_batch_reset(&again);
    pm_gen_append(&c, &m, &again, 5, PM_FLOAT); /* not applied to the model */
    CU_ASSERT_EQUAL(hs_store_write(s, m.id, &again, NULL, NULL), HS_OK);
    CU_ASSERT_EQUAL(hs_store_rollback(s), HS_OK);
    hs_batch_reset(&b);
    pm_gen_append(&c, &m, &b, 2, PM_FLOAT);
    pm_write(&c, s, &m, &b);
    pm_check(&c, s, &m, false);
    pm_check(&c, r, &m, false);

    pm_stream_free(&m);
    pm_stream_free(&fresh);
    hs_buf_free(&c.prev_any);
    hs_batch_free(&b);
    hs_batch_free(&late);
    hs_batch_free(&again);
    hs_store_close(r);
    hs_store_close(s);
}

/*
 * SQLite: a write that fails (the database cannot grow, as on a full disk)
 * and is rolled back leaves the store as it was, and the same write
 * succeeds once there is room. A store of its own, so that no free page
 * left by other tests takes the write.
 */
static void test_failed_write_rolled_back(void)
{
    if (strncmp(g_url, "sqlite:", 7) != 0)
        return;
    char url[600];
    fresh_store_url(url, sizeof url);
    hs_store *s = open_writer_url(url);
    hs_store *r = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&r, url, HS_STORE_READ), HS_OK);
    pm_ctx c;
    memset(&c, 0, sizeof c);
    c.seed = c.rng = 4343;
    hs_buf_init(&c.prev_any, 0);
    pm_stream m;
    memset(&m, 0, sizeof m);
    fresh_id(m.id, sizeof m.id, "failed_write");
    hs_batch b;
    hs_batch_init(&b);
    snprintf(c.op, sizeof c.op, "the first write");
    pm_gen_append(&c, &m, &b, 1500, PM_FLOAT);
    pm_write(&c, s, &m, &b);
    snprintf(c.op, sizeof c.op, "a write that failed for want of space");
    hs_batch_reset(&b);
    pm_gen_append(&c, &m, &b, 5000, PM_ANY); /* not applied to the model yet */
    for (int i = 0; i < 40; i++)
        pm_push(&c, &b, m.a[i * 30].t + 3, PM_ANY);
    CU_ASSERT_EQUAL_FATAL(hs__store_sqlite_max_pages(s, 1), HS_OK);
    CU_ASSERT_EQUAL(hs_store_begin(s), HS_OK);
    int rc = hs_store_write(s, m.id, &b, NULL, NULL);
    if (rc == HS_OK)
        rc = hs_store_commit(s);
    CU_ASSERT_EQUAL_FATAL(rc, HS_ERR_IO);
    CU_ASSERT_EQUAL(hs_store_rollback(s), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs__store_sqlite_max_pages(s, 0), HS_OK);
    pm_check(&c, s, &m, false);
    pm_check(&c, r, &m, false);
    snprintf(c.op, sizeof c.op, "the same write with room");
    pm_write(&c, s, &m, &b);
    pm_check(&c, s, &m, false);
    pm_check(&c, r, &m, false);
    pm_stream_free(&m);
    hs_buf_free(&c.prev_any);
    hs_batch_free(&b);
    hs_store_close(r);
    hs_store_close(s);
}

/* --- the upgrade of a version-1 SQLite store (one row per instance) --- */

/* The schema version 1 created, exactly. */
static const char *const v1_schema = "CREATE TABLE streams ("
                                     "  sid INTEGER PRIMARY KEY,"
                                     "  id TEXT NOT NULL UNIQUE,"
                                     "  kind INTEGER NOT NULL,"
                                     "  binding TEXT,"
                                     "  calculated BLOB,"
                                     "  created_us INTEGER NOT NULL,"
                                     "  updated_us INTEGER NOT NULL);"
                                     "CREATE TABLE instances ("
                                     "  sid INTEGER NOT NULL,"
                                     "  t INTEGER NOT NULL,"
                                     "  v BLOB NOT NULL,"
                                     "  PRIMARY KEY (sid, t)) WITHOUT ROWID;"
                                     "CREATE TABLE docs ("
                                     "  coll TEXT NOT NULL,"
                                     "  key TEXT NOT NULL,"
                                     "  json TEXT NOT NULL,"
                                     "  updated_us INTEGER NOT NULL,"
                                     "  PRIMARY KEY (coll, key)) WITHOUT ROWID;"
                                     "PRAGMA user_version = 1;";

static void sq_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "sqlite3: %s: %s\n", sql, msg ? msg : "?");
    sqlite3_free(msg);
    CU_ASSERT_EQUAL_FATAL(rc, SQLITE_OK);
}

static int64_t sq_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    int64_t v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_finalize(q);
    return v;
}

/* Calculated intervals as version 1 stored them: msgpack [[start, end], ...]. */
static void v1_intervals(hs_buf *out, const hs_interval *iv, size_t n)
{
    hs_buf_reset(out);
    CU_ASSERT_EQUAL(hs_mp_put_array(out, (uint32_t)n), HS_OK);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(hs_mp_put_array(out, 2), HS_OK);
        CU_ASSERT_EQUAL(hs_mp_put_int(out, iv[i].start), HS_OK);
        CU_ASSERT_EQUAL(hs_mp_put_int(out, iv[i].end), HS_OK);
    }
}

typedef struct v1_stream {
    int64_t sid;
    int kind;
    const char *binding;
    hs_interval calc[2];
    size_t n_calc;
    bool calc_null; /* never set: NULL */
    int64_t updated_us;
    pm_stream m;
} v1_stream;

/* Checks a stream of an upgraded store against what version 1 held. */
static void v1_check_stream(pm_ctx *c, hs_store *s, const v1_stream *v)
{
    hs_stream_info info;
    int rc = hs_store_stream_get(s, v->m.id, &info);
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    CU_ASSERT_EQUAL(info.kind, v->kind);
    if (v->binding == NULL) {
        CU_ASSERT_PTR_NULL(info.binding);
    } else {
        CU_ASSERT_PTR_NOT_NULL_FATAL(info.binding);
        CU_ASSERT_STRING_EQUAL(info.binding, v->binding);
    }
    CU_ASSERT_EQUAL(info.updated_us, v->updated_us);
    CU_ASSERT_EQUAL_FATAL(info.calculated.n, v->n_calc);
    for (size_t i = 0; i < v->n_calc; i++) {
        CU_ASSERT_EQUAL(info.calculated.v[i].start, v->calc[i].start);
        CU_ASSERT_EQUAL(info.calculated.v[i].end, v->calc[i].end);
    }
    hs_stream_info_free(&info);
    pm_check_read(c, s, &v->m, hs_store_all_time(), 1000);
    pm_check_read(c, s, &v->m, hs_store_all_time(), 7);
    for (int k = 0; k < 6 && !c->failed; k++) {
        hs_interval r = pm_random_range(c, &v->m);
        pm_check_head_tail_count(c, s, &v->m, r, (size_t)pm_range(c, 1, 1500));
        pm_check_read(c, s, &v->m, r, 64);
    }
    pm_check_head_tail_count(c, s, &v->m, hs_store_all_time(), v->m.n + 1);
}

/*
 * The blocks of each stream, read with sqlite3: they partition the stream's
 * instances in time order (t0, t1 and n of each block match the instances it
 * must hold), within the bounds of a block.
 */
static void v1_check_blocks(sqlite3 *db, const v1_stream *v)
{
    sqlite3_stmt *q = NULL;
    CU_ASSERT_EQUAL_FATAL(
        sqlite3_prepare_v2(db,
                           "SELECT t0, t1, n, length(data) FROM blocks WHERE sid = ?1 ORDER BY t0",
                           -1, &q, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(q, 1, v->sid);
    size_t at = 0;
    int blocks = 0;
    bool ok = true;
    while (sqlite3_step(q) == SQLITE_ROW) {
        int64_t t0 = sqlite3_column_int64(q, 0), t1 = sqlite3_column_int64(q, 1);
        int64_t n = sqlite3_column_int64(q, 2);
        blocks++;
        if (n < 1 || n > 1024 || at + (size_t)n > v->m.n || v->m.a[at].t != t0 ||
            v->m.a[at + (size_t)n - 1].t != t1 || sqlite3_column_int64(q, 3) <= 0) {
            fprintf(stderr, "\n%s: block %d (t0 %lld, t1 %lld, n %lld) after %zu instances\n",
                    v->m.id, blocks, (long long)t0, (long long)t1, (long long)n, at);
            ok = false;
            break;
        }
        /* one day at most from the first to the last instance */
        if (t1 - t0 > 86400LL * 1000000) {
            fprintf(stderr, "\n%s: block %d spans %lld us\n", v->m.id, blocks,
                    (long long)(t1 - t0));
            ok = false;
        }
        at += (size_t)n;
    }
    sqlite3_finalize(q);
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(at, v->m.n);
    if (v->m.n > 1024)
        CU_ASSERT_TRUE(blocks >= 2);
}

static void test_sqlite_upgrade_from_version_1(void)
{
    if (strncmp(g_url, "sqlite:", 7) != 0)
        return;
    char path[400], url[420];
    snprintf(path, sizeof path, "%s/v1-%d.db", g_dir, ++g_counter);
    snprintf(url, sizeof url, "sqlite://%s", path);
    pm_ctx c;
    memset(&c, 0, sizeof c);
    c.seed = c.rng = 77;
    hs_buf_init(&c.prev_any, 0);
    snprintf(c.op, sizeof c.op, "the upgrade of a version-1 store");

    enum { NS = 6 };
    v1_stream v[NS];
    memset(v, 0, sizeof v);
    const int64_t t0 = PM_T0;
    /* A raw float series of 3,000 (three blocks at least), covered over two intervals. */
    v[0] = (v1_stream){
        .sid = 3,
        .kind = HS_STREAM_RAW,
        .n_calc = 2,
        .calc = {{t0 - 10 * PM_SEC, t0 + 1000 * PM_SEC}, {t0 + 2000 * PM_SEC, t0 + 4000 * PM_SEC}},
        .updated_us = 1700000000123456LL};
    snprintf(v[0].m.id, sizeof v[0].m.id, "temperature/house=1/room=kitchen");
    /* Mixed kinds, gaps over a day, a value above a block's 32 KiB; never calculated. */
    v[1] = (v1_stream){
        .sid = 7, .kind = HS_STREAM_RAW, .calc_null = true, .updated_us = 1700000000000001LL};
    snprintf(v[1].m.id, sizeof v[1].m.id, "mixed/dev=1");
    /* A computed stream with a binding and intervals at the ends of time. */
    v[2] = (v1_stream){.sid = 8,
                       .kind = HS_STREAM_COMPUTED,
                       .binding = "{\"tool\":\"sliding_apply\",\"params\":{\"func\":\"mean\"}}",
                       .n_calc = 2,
                       .calc = {{HS_TIME_MIN - 1, -5}, {10, HS_TIME_MAX}},
                       .updated_us = 1700000000000002LL};
    snprintf(v[2].m.id, sizeof v[2].m.id, "room_temp/house=1/room=kitchen");
    /* An asset without instances, calculated: the empty list. */
    v[3] = (v1_stream){.sid = 20,
                       .kind = HS_STREAM_ASSET,
                       .binding = "{\"a\":[1,2]}",
                       .updated_us = 1700000000000003LL};
    snprintf(v[3].m.id, sizeof v[3].m.id, "asset/site=x");
    /* Instances at the ends of time. */
    v[4] = (v1_stream){
        .sid = 21, .kind = HS_STREAM_RAW, .calc_null = true, .updated_us = 1700000000000004LL};
    snprintf(v[4].m.id, sizeof v[4].m.id, "extreme");
    /* Integers beyond 2^53 and counters, 1,025 of them (one over a block). */
    v[5] = (v1_stream){.sid = 22,
                       .kind = HS_STREAM_RAW,
                       .n_calc = 1,
                       .calc = {{t0, t0 + 2000 * PM_SEC}},
                       .updated_us = 1700000000000005LL};
    snprintf(v[5].m.id, sizeof v[5].m.id, "counter/dev=2");

    hs_batch b;
    hs_batch_init(&b);
    for (int i = 0; i < 3000; i++)
        pm_push(&c, &b, t0 + (int64_t)i * PM_SEC + (i % 7 == 0 ? 13 : 0), PM_FLOAT);
    pm_apply_batch(&v[0].m, &b);
    hs_batch_reset(&b);
    int64_t t = t0;
    for (int i = 0; i < 400; i++) {
        t += i % 97 == 50 ? 2 * 86400LL * PM_SEC : (int64_t)pm_range(&c, 1, 5 * PM_SEC);
        pm_push(&c, &b, t, (i / 50) % 4);
    }
    hs_buf big;
    hs_buf_init(&big, 0);
    char *text = malloc(40000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    memset(text, 'z', 40000);
    CU_ASSERT_EQUAL(hs_mp_put_str(&big, text, 40000), HS_OK);
    free(text);
    CU_ASSERT_EQUAL(hs_batch_push(&b, t + 1, big.data, big.len), HS_OK);
    hs_buf_free(&big);
    pm_apply_batch(&v[1].m, &b);
    hs_batch_reset(&b);
    for (int i = 0; i < 50; i++)
        pm_push(&c, &b, t0 + (int64_t)i * 10 * PM_SEC, PM_NUMBER);
    pm_apply_batch(&v[2].m, &b);
    hs_batch_reset(&b);
    pm_push(&c, &b, HS_TIME_MIN, PM_ANY);
    pm_push(&c, &b, -1, PM_FLOAT);
    pm_push(&c, &b, 0, PM_INT);
    pm_push(&c, &b, HS_TIME_MAX, PM_ANY);
    pm_apply_batch(&v[4].m, &b);
    hs_batch_reset(&b);
    for (int i = 0; i < 1025; i++)
        pm_push(&c, &b, t0 + (int64_t)i * PM_SEC, PM_INT);
    pm_apply_batch(&v[5].m, &b);
    hs_batch_free(&b);

    /* The version-1 file, written as version 1 did. */
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    sq_exec(db, "PRAGMA journal_mode=WAL");
    sq_exec(db, v1_schema);
    sq_exec(db, "BEGIN");
    sqlite3_stmt *qs = NULL, *qi = NULL, *qd = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db,
                                             "INSERT INTO streams(sid, id, kind, binding, "
                                             "calculated, created_us, updated_us) VALUES "
                                             "(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                             -1, &qs, NULL),
                          SQLITE_OK);
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db,
                                             "INSERT INTO instances(sid, t, v) VALUES (?1, ?2, ?3)",
                                             -1, &qi, NULL),
                          SQLITE_OK);
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db,
                                             "INSERT INTO docs(coll, key, json, updated_us) "
                                             "VALUES (?1, ?2, ?3, ?4)",
                                             -1, &qd, NULL),
                          SQLITE_OK);
    hs_buf calc;
    hs_buf_init(&calc, 0);
    for (int i = 0; i < NS; i++) {
        sqlite3_bind_int64(qs, 1, v[i].sid);
        sqlite3_bind_text(qs, 2, v[i].m.id, -1, SQLITE_STATIC);
        sqlite3_bind_int(qs, 3, v[i].kind);
        if (v[i].binding != NULL)
            sqlite3_bind_text(qs, 4, v[i].binding, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(qs, 4);
        if (v[i].calc_null) {
            sqlite3_bind_null(qs, 5);
        } else {
            v1_intervals(&calc, v[i].calc, v[i].n_calc);
            sqlite3_bind_blob(qs, 5, calc.data, (int)calc.len, SQLITE_TRANSIENT);
        }
        sqlite3_bind_int64(qs, 6, 1690000000000000LL + i);
        sqlite3_bind_int64(qs, 7, v[i].updated_us);
        CU_ASSERT_EQUAL(sqlite3_step(qs), SQLITE_DONE);
        sqlite3_reset(qs);
        /* Instances in descending time order: the table orders them. */
        for (size_t k = v[i].m.n; k-- > 0;) {
            sqlite3_bind_int64(qi, 1, v[i].sid);
            sqlite3_bind_int64(qi, 2, v[i].m.a[k].t);
            sqlite3_bind_blob(qi, 3, v[i].m.a[k].v, (int)v[i].m.a[k].len, SQLITE_STATIC);
            CU_ASSERT_EQUAL(sqlite3_step(qi), SQLITE_DONE);
            sqlite3_reset(qi);
        }
    }
    hs_buf_free(&calc);
    static const char *const docs[][3] = {
        {"workflows", "wf/a", "{ \"id\": \"a\",\n \"factors\": [] }"},
        {"reopened", "room_temp/house=1/room=kitchen", "{\"intervals\":[[1,2]]}"},
        {"deps", "8", "[3]"},
        {"history", "0001700000000000000", "{\"caf\xc3\xa9\":true}"},
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        for (int k = 0; k < 3; k++)
            sqlite3_bind_text(qd, k + 1, docs[i][k], -1, SQLITE_STATIC);
        sqlite3_bind_int64(qd, 4, 1700000000000000LL);
        CU_ASSERT_EQUAL(sqlite3_step(qd), SQLITE_DONE);
        sqlite3_reset(qd);
    }
    sqlite3_finalize(qs);
    sqlite3_finalize(qi);
    sqlite3_finalize(qd);
    sq_exec(db, "COMMIT");
    CU_ASSERT_EQUAL(sq_int(db, "PRAGMA user_version"), 1);
    sqlite3_close(db);

    /* A reader started before the writer: the definitions are there, the data is not readable
     * yet (a transient error, not empty data); a stream that does not exist reads as empty. */
    hs_store *early = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&early, url, HS_STORE_READ), HS_OK);
    int version = -1;
    CU_ASSERT_EQUAL(hs_store_schema_version(early, &version), HS_OK);
    CU_ASSERT_EQUAL(version, 1);
    hs_stream_info info;
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(early, v[2].m.id, &info), HS_OK);
    CU_ASSERT_EQUAL(info.kind, HS_STREAM_COMPUTED);
    hs_stream_info_free(&info);
    int64_t count = -1;
    CU_ASSERT_EQUAL(hs_store_count(early, v[0].m.id, hs_store_all_time(), &count), HS_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "upgrade"));
    hs_batch early_out;
    hs_batch_init(&early_out);
    CU_ASSERT_EQUAL(hs_store_tail(early, v[5].m.id, hs_store_all_time(), 3, &early_out), HS_ERR_IO);
    CU_ASSERT_EQUAL(hs_store_head(early, "no/such=stream", hs_store_all_time(), 3, &early_out),
                    HS_OK);
    CU_ASSERT_EQUAL(early_out.n, 0);
    hs_batch_free(&early_out);

    /* The writer upgrades it. */
    hs_store *s = NULL;
    int rc = hs_store_open(&s, url, HS_STORE_WRITE);
    if (rc != HS_OK)
        fprintf(stderr, "open %s: %s\n", url, hs_err_detail());
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    CU_ASSERT_EQUAL(hs_store_schema_version(s, &version), HS_OK);
    CU_ASSERT_EQUAL(version, 2);
    for (int i = 0; i < NS; i++)
        v1_check_stream(&c, s, &v[i]);
    /* The reader started before reads the upgraded store with the same handle. */
    CU_ASSERT_EQUAL(hs_store_schema_version(early, &version), HS_OK);
    CU_ASSERT_EQUAL(version, 2);
    for (int i = 0; i < NS; i++)
        v1_check_stream(&c, early, &v[i]);
    hs_store_close(early);
    stream_seen seen;
    memset(&seen, 0, sizeof seen);
    CU_ASSERT_EQUAL(hs_store_stream_list(s, "", collect_stream, &seen), HS_OK);
    CU_ASSERT_EQUAL(seen.n, NS);
    hs_buf j;
    hs_buf_init(&j, 0);
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        CU_ASSERT_EQUAL(hs_store_doc_get(s, docs[i][0], docs[i][1], &j), HS_OK);
        CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j), docs[i][2]);
    }
    hs_store_close(s);

    /* What the file holds now: version 2, blocks, no table of instances. */
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(sq_int(db, "PRAGMA user_version"), 2);
    CU_ASSERT_EQUAL(
        sq_int(db,
               "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'instances'"),
        0);
    CU_ASSERT_EQUAL(
        sq_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'blocks'"),
        1);
    for (int i = 0; i < NS; i++)
        v1_check_blocks(db, &v[i]);
    sqlite3_close(db);

    /* A reader of the upgraded file. */
    hs_store *r = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&r, url, HS_STORE_READ), HS_OK);
    CU_ASSERT_EQUAL(hs_store_schema_version(r, &version), HS_OK);
    CU_ASSERT_EQUAL(version, 2);
    for (int i = 0; i < NS; i++)
        v1_check_stream(&c, r, &v[i]);
    CU_ASSERT_EQUAL(hs_store_doc_get(r, "workflows", "wf/a", &j), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j), docs[0][2]);
    hs_store_close(r);

    /* A writer again: nothing migrated twice; the upgraded streams take appends and late data. */
    s = open_writer_url(url);
    CU_ASSERT_EQUAL(hs_store_schema_version(s, &version), HS_OK);
    CU_ASSERT_EQUAL(version, 2);
    for (int i = 0; i < NS; i++)
        v1_check_stream(&c, s, &v[i]);
    hs_batch_init(&b);
    snprintf(c.op, sizeof c.op, "writes after the upgrade");
    pm_gen_append(&c, &v[0].m, &b, 50, PM_FLOAT);
    for (int i = 0; i < 30; i++)
        pm_push(&c, &b, t0 + (int64_t)i * 97 * PM_SEC + 500000, PM_FLOAT);
    pm_push_existing(&c, &b, &v[0].m.a[5], false, PM_FLOAT);
    pm_push_existing(&c, &b, &v[0].m.a[2500], true, PM_FLOAT);
    pm_write(&c, s, &v[0].m, &b);
    hs_batch_reset(&b);
    pm_push_existing(&c, &b, &v[5].m.a[1024], false, PM_INT);
    pm_push(&c, &b, v[5].m.a[1024].t + 1, PM_INT);
    pm_push(&c, &b, v[5].m.a[0].t - 1, PM_INT);
    pm_write(&c, s, &v[5].m, &b);
    hs_batch_free(&b);
    v1_check_stream(&c, s, &v[0]);
    v1_check_stream(&c, s, &v[5]);
    hs_store_close(s);

    hs_buf_free(&j);
    hs_buf_free(&c.prev_any);
    for (int i = 0; i < NS; i++)
        pm_stream_free(&v[i].m);
}

/* SQLite: a store whose schema is newer than the program's is not opened for writing, and is
 * left as it is. */
static void test_sqlite_newer_schema_refused(void)
{
    if (strncmp(g_url, "sqlite:", 7) != 0)
        return;
    char path[400], url[420];
    snprintf(path, sizeof path, "%s/newer-%d.db", g_dir, ++g_counter);
    snprintf(url, sizeof url, "sqlite://%s", path);
    hs_store *s = open_writer_url(url);
    int version = -1;
    CU_ASSERT_EQUAL(hs_store_schema_version(s, &version), HS_OK);
    hs_store_close(s);
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version + 1);
    sq_exec(db, sql);
    sqlite3_close(db);
    s = NULL;
    CU_ASSERT_EQUAL(hs_store_open(&s, url, HS_STORE_WRITE), HS_ERR_STORE);
    CU_ASSERT_PTR_NULL(s);
    char want[96];
    snprintf(want, sizeof want, "store schema version %d is newer than this program's %d",
             version + 1, version);
    if (strstr(hs_err_detail(), want) == NULL)
        fprintf(stderr, "\ndetail: '%s', expected it to say '%s'\n", hs_err_detail(), want);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), want));
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(sq_int(db, "PRAGMA user_version"), version + 1);
    sqlite3_close(db);
}

/* --- MongoDB only: what the backend keeps on the server ------------------- */

/* A client of the database of url (the test's own view, beside the store's). */
static mongoc_client_t *mg_client(const char *url, mongoc_database_t **db)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    (void)pthread_once(&once, mongoc_init);
    mongoc_client_t *c = mongoc_client_new(url);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
    /* The store's default database when the URL names none. */
    const char *name = mongoc_uri_get_database(mongoc_client_get_uri(c));
    *db = mongoc_client_get_database(c, name != NULL && name[0] != '\0' ? name : "hyperstream");
    return c;
}

static void mg_done(mongoc_client_t *c, mongoc_database_t *db, bool drop)
{
    bson_error_t err;
    if (drop)
        CU_ASSERT_TRUE(mongoc_database_drop(db, &err));
    mongoc_database_destroy(db);
    mongoc_client_destroy(c);
}

static void mg_insert(mongoc_database_t *db, const char *coll, const bson_t *doc)
{
    bson_error_t err;
    mongoc_collection_t *c = mongoc_database_get_collection(db, coll);
    bool ok = mongoc_collection_insert_one(c, doc, NULL, NULL, &err);
    if (!ok)
        fprintf(stderr, "insert into %s: %s\n", coll, err.message);
    CU_ASSERT_TRUE(ok);
    mongoc_collection_destroy(c);
}

/*
 * The value of instance i of an upgrade test stream, as canonical msgpack
 * written out by hand (independent of the codec and the store): per stream
 * kind, floats; small and large integers, strings, arrays, nil and booleans;
 * or strings of which one is larger than a block.
 */
static void upgrade_value(int kind, int i, hs_buf *v)
{
    hs_buf_reset(v);
    if (kind == 0) { /* float64 i / 4 - 100 */
        double d = i / 4.0 - 100.0;
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        CU_ASSERT_EQUAL(hs_buf_putc(v, 0xcb), HS_OK);
        for (int k = 7; k >= 0; k--)
            CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)(bits >> (8 * k))), HS_OK);
        return;
    }
    if (kind == 1) {
        switch (i % 6) {
        case 0: /* positive fixint */
            CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)(i % 128)), HS_OK);
            break;
        case 1: /* uint16 300 + i */
            CU_ASSERT_EQUAL(hs_buf_putc(v, 0xcd), HS_OK);
            CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)((300 + i) >> 8)), HS_OK);
            CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)(300 + i)), HS_OK);
            break;
        case 2: /* int16 -1000 - i */
            CU_ASSERT_EQUAL(hs_buf_putc(v, 0xd1), HS_OK);
            CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)((uint16_t)(-1000 - i) >> 8)), HS_OK);
            CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)(uint16_t)(-1000 - i)), HS_OK);
            break;
        case 3: /* fixstr "v<i>" */
        {
            char s[16];
            int n = snprintf(s, sizeof s, "v%d", i);
            CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)(0xa0 | n)), HS_OK);
            CU_ASSERT_EQUAL(hs_buf_append(v, s, (size_t)n), HS_OK);
            break;
        }
        case 4: /* [i % 100, nil, true] */
            CU_ASSERT_EQUAL(hs_buf_append(v, "\x93", 1), HS_OK);
            CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)(i % 100)), HS_OK);
            CU_ASSERT_EQUAL(hs_buf_append(v, "\xc0\xc3", 2), HS_OK);
            break;
        default: /* {"k": -(i % 32) - 1} */
            CU_ASSERT_EQUAL(hs_buf_append(v, "\x81\xa1k", 3), HS_OK);
            CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)(0x100 - (i % 32) - 1)), HS_OK);
            break;
        }
        return;
    }
    /* kind 2: str16 of 40000 bytes for i == 1, else "x" */
    size_t n = i == 1 ? 40000 : 1;
    if (n > 31) {
        CU_ASSERT_EQUAL(hs_buf_putc(v, 0xda), HS_OK);
        CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)(n >> 8)), HS_OK);
        CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)n), HS_OK);
    } else {
        CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)(0xa0 | n)), HS_OK);
    }
    for (size_t k = 0; k < n; k++)
        CU_ASSERT_EQUAL(hs_buf_putc(v, (uint8_t)('a' + (i + (int)k) % 26)), HS_OK);
}

/* The upgrade test's streams: instances, and timestamps per kind. */
enum { UPGRADE_STREAMS = 3 };
static const int upgrade_count[UPGRADE_STREAMS] = {1500, 40, 3};

static int64_t upgrade_t(int kind, int i)
{
    if (kind == 0) /* 1.5 blocks by count, a jitter of a few microseconds */
        return 1700000000000000LL + (int64_t)i * 1000000 + i % 3;
    if (kind == 1) /* one per hour: more than a day, two blocks by span */
        return 1700000000000000LL + (int64_t)i * 3600000000LL;
    return -5000000LL + (int64_t)i * 1500; /* before 1970 */
}

/*
 * Writes what a version-1 writer wrote for the upgrade test's streams ids:
 * the schema document and the definitions (with definitions), and the
 * instances collection with its index.
 */
static void upgrade_write_v1(mongoc_database_t *db, char ids[][128], bool definitions)
{
    bson_error_t err;
    mongoc_collection_t *inst = mongoc_database_get_collection(db, "instances");
    /* Version 1's index, created by its writer at every open. */
    bson_t *cmd = BCON_NEW("createIndexes", BCON_UTF8("instances"), "indexes", "[", "{", "key", "{",
                           "s", BCON_INT32(1), "t", BCON_INT32(1), "}", "name",
                           BCON_UTF8("s_1_t_1"), "unique", BCON_BOOL(true), "}", "]");
    CU_ASSERT_TRUE(mongoc_database_write_command_with_opts(db, cmd, NULL, NULL, &err));
    bson_destroy(cmd);
    if (definitions) {
        bson_t *meta = BCON_NEW("_id", BCON_UTF8("schema"), "version", BCON_INT32(1));
        mg_insert(db, "meta", meta);
        bson_destroy(meta);
    }
    hs_buf v;
    hs_buf_init(&v, 0);
    for (int k = 0; k < UPGRADE_STREAMS; k++) {
        if (definitions) {
            bson_t *def =
                BCON_NEW("_id", BCON_UTF8(ids[k]), "kind", BCON_INT32(HS_STREAM_RAW), "binding",
                         BCON_NULL, "calculated", "[", "{", "s", BCON_INT64(upgrade_t(k, 0) - 1),
                         "e", BCON_INT64(upgrade_t(k, upgrade_count[k] - 1)), "}", "]",
                         "updated_us", BCON_INT64(1), "created_us", BCON_INT64(1));
            mg_insert(db, "streams", def);
            bson_destroy(def);
        }
        /* Inserted out of time order (i = 7j mod count is a permutation), as late data
         * arrives. */
        mongoc_bulk_operation_t *bulk =
            mongoc_collection_create_bulk_operation_with_opts(inst, NULL);
        for (int j = 0; j < upgrade_count[k]; j++) {
            int i = (j * 7) % upgrade_count[k];
            upgrade_value(k, i, &v);
            int64_t t = upgrade_t(k, i);
            bson_t doc = BSON_INITIALIZER;
            BSON_APPEND_UTF8(&doc, "s", ids[k]);
            BSON_APPEND_INT64(&doc, "t", t);
            BSON_APPEND_BINARY(&doc, "v", BSON_SUBTYPE_BINARY, v.data, (uint32_t)v.len);
            BSON_APPEND_DATE_TIME(&doc, "d", t / 1000 - (t % 1000 < 0));
            CU_ASSERT_TRUE(mongoc_bulk_operation_insert_with_opts(bulk, &doc, NULL, &err));
            bson_destroy(&doc);
        }
        bool ok = mongoc_bulk_operation_execute(bulk, NULL, &err) != 0;
        if (!ok)
            fprintf(stderr, "insert v1 instances: %s\n", err.message);
        CU_ASSERT_TRUE(ok);
        mongoc_bulk_operation_destroy(bulk);
    }
    hs_buf_free(&v);
    mongoc_collection_destroy(inst);
}

/* Every instance of the upgrade test's streams reads back exactly. */
static void upgrade_check(hs_store *s, char ids[][128])
{
    hs_buf v;
    hs_buf_init(&v, 0);
    hs_batch out;
    hs_batch_init(&out);
    for (int k = 0; k < UPGRADE_STREAMS; k++) {
        hs_store_cursor *c = NULL;
        CU_ASSERT_EQUAL_FATAL(hs_store_read(s, ids[k], hs_store_all_time(), 500, &c), HS_OK);
        int i = 0;
        bool same = true;
        for (;;) {
            CU_ASSERT_EQUAL_FATAL(hs_store_cursor_next(c, &out), HS_OK);
            if (out.n == 0)
                break;
            for (size_t j = 0; j < out.n && i < upgrade_count[k]; j++, i++) {
                upgrade_value(k, i, &v);
                if (out.items[j].t_us != upgrade_t(k, i) || out.items[j].len != v.len ||
                    memcmp(hs_batch_value(&out, j), v.data, v.len) != 0) {
                    if (same)
                        fprintf(stderr, "%s: instance %d differs\n", ids[k], i);
                    same = false;
                }
            }
        }
        hs_store_cursor_close(c);
        CU_ASSERT_TRUE(same);
        CU_ASSERT_EQUAL(i, upgrade_count[k]);
        int64_t n = -1;
        CU_ASSERT_EQUAL(hs_store_count(s, ids[k], hs_store_all_time(), &n), HS_OK);
        CU_ASSERT_EQUAL(n, upgrade_count[k]);
        /* The definition and its calculated interval are untouched. */
        hs_stream_info info;
        CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(s, ids[k], &info), HS_OK);
        CU_ASSERT_EQUAL(info.kind, HS_STREAM_RAW);
        CU_ASSERT_EQUAL_FATAL(info.calculated.n, 1);
        CU_ASSERT_EQUAL(info.calculated.v[0].start, upgrade_t(k, 0) - 1);
        CU_ASSERT_EQUAL(info.calculated.v[0].end, upgrade_t(k, upgrade_count[k] - 1));
        hs_stream_info_free(&info);
    }
    hs_batch_free(&out);
    hs_buf_free(&v);
}

/* Checks the block documents of stream id; returns how many there are. */
static int64_t check_block_docs(mongoc_database_t *db, const char *id, int64_t *instances)
{
    mongoc_collection_t *blocks = mongoc_database_get_collection(db, "blocks");
    bson_t *filter = BCON_NEW("s", BCON_UTF8(id));
    bson_t *opts = BCON_NEW("sort", "{", "t0", BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(blocks, filter, opts, NULL);
    const bson_t *doc;
    int64_t n = 0, prev_t1 = INT64_MIN;
    *instances = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        n++;
        CU_ASSERT_TRUE_FATAL(bson_iter_init_find(&it, doc, "t0") && BSON_ITER_HOLDS_INT64(&it));
        int64_t t0 = bson_iter_int64(&it);
        CU_ASSERT_TRUE_FATAL(bson_iter_init_find(&it, doc, "t1") && BSON_ITER_HOLDS_INT64(&it));
        int64_t t1 = bson_iter_int64(&it);
        CU_ASSERT_TRUE(t0 <= t1);
        CU_ASSERT_TRUE(t0 > prev_t1); /* blocks do not overlap */
        prev_t1 = t1;
        CU_ASSERT_TRUE_FATAL(bson_iter_init_find(&it, doc, "n") &&
                             (BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_INT32(&it)));
        int64_t k = bson_iter_as_int64(&it);
        CU_ASSERT_TRUE(k >= 1 && k <= HS_BLOCK_MAX_N);
        *instances += k;
        CU_ASSERT_TRUE_FATAL(bson_iter_init_find(&it, doc, "d") && BSON_ITER_HOLDS_BINARY(&it));
        bson_subtype_t sub;
        uint32_t len;
        const uint8_t *data;
        bson_iter_binary(&it, &sub, &len, &data);
        CU_ASSERT_EQUAL(sub, BSON_SUBTYPE_BINARY);
        hs_block_info info;
        CU_ASSERT_EQUAL_FATAL(hs_block_peek(data, len, &info), HS_OK);
        CU_ASSERT_EQUAL(info.n, (size_t)k);
        CU_ASSERT_EQUAL(info.t_first, t0);
        CU_ASSERT_EQUAL(info.t_last, t1);
        CU_ASSERT_TRUE_FATAL(bson_iter_init_find(&it, doc, "d0") && BSON_ITER_HOLDS_DATE_TIME(&it));
        CU_ASSERT_EQUAL(bson_iter_date_time(&it), t0 / 1000 - (t0 % 1000 < 0));
        CU_ASSERT_TRUE_FATAL(bson_iter_init_find(&it, doc, "d1") && BSON_ITER_HOLDS_DATE_TIME(&it));
        CU_ASSERT_EQUAL(bson_iter_date_time(&it), t1 / 1000 - (t1 % 1000 < 0));
    }
    bson_error_t err;
    CU_ASSERT_FALSE(mongoc_cursor_error(cur, &err));
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
    mongoc_collection_destroy(blocks);
    return n;
}

static bool mg_has_collection(mongoc_database_t *db, const char *name)
{
    bson_error_t err;
    char **names = mongoc_database_get_collection_names_with_opts(db, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(names);
    bool found = false;
    for (char **p = names; *p != NULL; p++)
        found = found || strcmp(*p, name) == 0;
    bson_strfreev(names);
    return found;
}

static void mg_set_schema_version(mongoc_database_t *db, int v)
{
    bson_error_t err;
    mongoc_collection_t *meta = mongoc_database_get_collection(db, "meta");
    bson_t *filter = BCON_NEW("_id", BCON_UTF8("schema"));
    bson_t *update = BCON_NEW("$set", "{", "version", BCON_INT32(v), "}");
    CU_ASSERT_TRUE(mongoc_collection_update_one(meta, filter, update, NULL, NULL, &err));
    bson_destroy(filter);
    bson_destroy(update);
    mongoc_collection_destroy(meta);
}

/* A writer moves a version-1 store (one document per instance) into blocks. */
static void test_mongo_upgrade_from_v1(void)
{
    char url[600];
    fresh_store_url(url, sizeof url);
    mongoc_database_t *db;
    mongoc_client_t *client = mg_client(url, &db);
    char ids[UPGRADE_STREAMS][128];
    fresh_id(ids[0], sizeof ids[0], "upgrade/kind=float");
    fresh_id(ids[1], sizeof ids[1], "upgrade/kind=mixed");
    fresh_id(ids[2], sizeof ids[2], "upgrade/kind=big");
    upgrade_write_v1(db, ids, true);

    /* A reader migrates nothing. */
    hs_store *s = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&s, url, HS_STORE_READ), HS_OK);
    int v = -1;
    CU_ASSERT_EQUAL(hs_store_schema_version(s, &v), HS_OK);
    CU_ASSERT_EQUAL(v, 1);
    hs_store_close(s);
    CU_ASSERT_TRUE(mg_has_collection(db, "instances"));

    int rc = hs_store_open(&s, url, HS_STORE_WRITE);
    if (rc != HS_OK)
        fprintf(stderr, "upgrade: %s\n", hs_err_detail());
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    CU_ASSERT_EQUAL(hs_store_schema_version(s, &v), HS_OK);
    CU_ASSERT_EQUAL(v, 2);
    CU_ASSERT_FALSE(mg_has_collection(db, "instances"));
    upgrade_check(s, ids);
    hs_store_close(s);

    /* The blocks: ordered, within bounds, as many as the bounds ask for. */
    int64_t blocks[UPGRADE_STREAMS];
    for (int k = 0; k < UPGRADE_STREAMS; k++) {
        int64_t n = 0;
        blocks[k] = check_block_docs(db, ids[k], &n);
        CU_ASSERT_EQUAL(n, upgrade_count[k]);
    }
    CU_ASSERT_EQUAL(blocks[0], 2); /* 1024 + 476 */
    CU_ASSERT_EQUAL(blocks[1], 2); /* 25 hours of hourly instances */
    CU_ASSERT_EQUAL(blocks[2], 3); /* the large value in a block of its own */

    /* A crash after some blocks were written, before the version was set:
     * the next writer runs the upgrade again from the start and writes the
     * same blocks. */
    mg_set_schema_version(db, 1);
    upgrade_write_v1(db, ids, false);
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&s, url, HS_STORE_WRITE), HS_OK);
    CU_ASSERT_EQUAL(hs_store_schema_version(s, &v), HS_OK);
    CU_ASSERT_EQUAL(v, 2);
    CU_ASSERT_FALSE(mg_has_collection(db, "instances"));
    upgrade_check(s, ids);
    hs_store_close(s);
    for (int k = 0; k < UPGRADE_STREAMS; k++) {
        int64_t n = 0;
        CU_ASSERT_EQUAL(check_block_docs(db, ids[k], &n), blocks[k]);
        CU_ASSERT_EQUAL(n, upgrade_count[k]);
    }
    mg_done(client, db, true);
}

/* Inserts a block document of stream id holding float t / 1000 * 1.5 at t = k * 1000 for k in
 * [from, to]. */
static void put_raw_block(mongoc_database_t *db, const char *id, int from, int to)
{
    hs_block_enc e;
    hs_block_enc_init(&e);
    hs_buf v;
    hs_buf_init(&v, 0);
    for (int k = from; k <= to; k++) {
        hs_buf_reset(&v);
        CU_ASSERT_EQUAL(hs_mp_put_double(&v, k * 1.5), HS_OK);
        CU_ASSERT_EQUAL_FATAL(hs_block_enc_append(&e, (int64_t)k * 1000, v.data, v.len), HS_OK);
    }
    const uint8_t *data;
    size_t len;
    CU_ASSERT_EQUAL_FATAL(hs_block_enc_bytes(&e, &data, &len), HS_OK);
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&doc, "s", id);
    BSON_APPEND_INT64(&doc, "t0", (int64_t)from * 1000);
    BSON_APPEND_INT64(&doc, "t1", (int64_t)to * 1000);
    BSON_APPEND_INT64(&doc, "n", to - from + 1);
    BSON_APPEND_BINARY(&doc, "d", BSON_SUBTYPE_BINARY, data, (uint32_t)len);
    BSON_APPEND_DATE_TIME(&doc, "d0", from);
    BSON_APPEND_DATE_TIME(&doc, "d1", to);
    mg_insert(db, "blocks", &doc);
    bson_destroy(&doc);
    hs_buf_free(&v);
    hs_block_enc_free(&e);
}

/* out holds the instances k = from..to of put_raw_block's series, each once. */
static void check_series(const hs_batch *out, int from, int to)
{
    CU_ASSERT_EQUAL_FATAL(out->n, (size_t)(to - from + 1));
    for (int k = from; k <= to; k++) {
        size_t i = (size_t)(k - from);
        CU_ASSERT_EQUAL(out->items[i].t_us, (int64_t)k * 1000);
        CU_ASSERT_EQUAL(value_double(out, i), k * 1.5);
    }
}

/*
 * Two blocks that overlap, holding the same values where they do: what a
 * crash in the middle of a rewrite leaves on MongoDB (docs/ARCHITECTURE.md,
 * "MongoDB ordering"). Reads return each timestamp once, counts agree, and
 * the store goes on working.
 */
static void test_mongo_overlapping_blocks(void)
{
    hs_store *s = open_writer();
    mongoc_database_t *db;
    mongoc_client_t *client = mg_client(g_url, &db);
    char id[128];
    fresh_id(id, sizeof id, "overlap");
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_define(s, id, HS_STREAM_RAW, NULL), HS_OK);
    put_raw_block(db, id, 1, 10);
    put_raw_block(db, id, 6, 15);

    hs_batch out;
    hs_batch_init(&out);
    hs_store_cursor *c = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_store_read(s, id, hs_store_all_time(), 100, &c), HS_OK);
    CU_ASSERT_EQUAL(hs_store_cursor_next(c, &out), HS_OK);
    check_series(&out, 1, 15);
    hs_store_cursor_close(c);
    /* Small chunks cross the overlap. */
    CU_ASSERT_EQUAL_FATAL(hs_store_read(s, id, hs_store_all_time(), 4, &c), HS_OK);
    int next = 1;
    for (;;) {
        CU_ASSERT_EQUAL_FATAL(hs_store_cursor_next(c, &out), HS_OK);
        if (out.n == 0)
            break;
        for (size_t i = 0; i < out.n; i++, next++)
            CU_ASSERT_EQUAL(out.items[i].t_us, (int64_t)next * 1000);
    }
    CU_ASSERT_EQUAL(next, 16);
    hs_store_cursor_close(c);
    hs_interval mid = {4000, 12000};
    CU_ASSERT_EQUAL(hs_store_head(s, id, mid, 100, &out), HS_OK);
    check_series(&out, 5, 12);
    CU_ASSERT_EQUAL(hs_store_head(s, id, (hs_interval){6500, 100000}, 3, &out), HS_OK);
    check_series(&out, 7, 9);
    CU_ASSERT_EQUAL(hs_store_tail(s, id, hs_store_all_time(), 12, &out), HS_OK);
    check_series(&out, 4, 15);
    CU_ASSERT_EQUAL(hs_store_tail(s, id, mid, 3, &out), HS_OK);
    check_series(&out, 10, 12);
    int64_t n = -1;
    CU_ASSERT_EQUAL(hs_store_count(s, id, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 15);
    CU_ASSERT_EQUAL(hs_store_count(s, id, mid, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT_EQUAL(hs_store_count(s, id, (hs_interval){7000, 9000}, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 2);
    /* Purging counts the blocks' instances (the overlap twice) and deletes them all. */
    int64_t deleted = -1;
    CU_ASSERT_EQUAL(hs_store_purge(s, id, true, &deleted), HS_OK);
    CU_ASSERT_TRUE(deleted >= 15);
    int64_t left = -1;
    CU_ASSERT_EQUAL(check_block_docs(db, id, &left), 0);
    hs_batch_free(&out);
    mg_done(client, db, false);
    hs_store_close(s);
}

/*
 * Writing into two blocks left overlapping (as above): "the next rewrite of
 * that range merges them" (docs/ARCHITECTURE.md). What is written is read
 * back, and a range deletion across the overlap leaves the rest.
 */
static void test_mongo_write_into_overlap(void)
{
    hs_store *s = open_writer();
    mongoc_database_t *db;
    mongoc_client_t *client = mg_client(g_url, &db);
    char id[128];
    fresh_id(id, sizeof id, "overlap_write");
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_define(s, id, HS_STREAM_RAW, NULL), HS_OK);
    put_raw_block(db, id, 1, 10);
    put_raw_block(db, id, 6, 15);
    hs_batch out;
    hs_batch_init(&out);
    int64_t n = -1;
    /* The same values are duplicates, a new timestamp is inserted, another value conflicts. */
    hs_batch b;
    hs_batch_init(&b);
    push_double(&b, 7000, 7 * 1.5);
    push_double(&b, 7500, 99.0);
    push_double(&b, 8000, -1.0);
    uint8_t status[3];
    hs_write_result res;
    CU_ASSERT_EQUAL(hs_store_write(s, id, &b, status, &res), HS_OK);
    CU_ASSERT_EQUAL(status[0], HS_WRITE_DUPLICATE);
    CU_ASSERT_EQUAL(status[1], HS_WRITE_INSERTED);
    CU_ASSERT_EQUAL(status[2], HS_WRITE_CONFLICT);
    CU_ASSERT_EQUAL(hs_store_head(s, id, hs_store_all_time(), 100, &out), HS_OK);
    if (out.n != 16) {
        fprintf(stderr, "after the write into the overlap:");
        for (size_t i = 0; i < out.n; i++)
            fprintf(stderr, " %lld", (long long)out.items[i].t_us);
        fprintf(stderr, "\n");
    }
    CU_ASSERT_EQUAL_FATAL(out.n, 16);
    for (size_t i = 0, k = 1; i < out.n; i++) {
        if (out.items[i].t_us == 7500) {
            CU_ASSERT_EQUAL(value_double(&out, i), 99.0);
            continue;
        }
        CU_ASSERT_EQUAL(out.items[i].t_us, (int64_t)k * 1000);
        CU_ASSERT_EQUAL(value_double(&out, i), (double)k * 1.5);
        k++;
    }
    CU_ASSERT_EQUAL(hs_store_count(s, id, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 16);
    /* Replacing a range across the overlap. */
    int64_t deleted = -1;
    CU_ASSERT_EQUAL(hs_store_delete_range(s, id, (hs_interval){5000, 11000}, &deleted), HS_OK);
    CU_ASSERT_EQUAL(deleted, 7);
    CU_ASSERT_EQUAL(hs_store_head(s, id, hs_store_all_time(), 100, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 9);
    CU_ASSERT_EQUAL(out.items[4].t_us, 5000);
    CU_ASSERT_EQUAL(out.items[5].t_us, 12000);
    CU_ASSERT_EQUAL(hs_store_count(s, id, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 9);
    CU_ASSERT_EQUAL(hs_store_purge(s, id, true, &deleted), HS_OK);
    CU_ASSERT_EQUAL(deleted, 9);
    int64_t left = -1;
    CU_ASSERT_EQUAL(check_block_docs(db, id, &left), 0);
    hs_batch_free(&b);
    hs_batch_free(&out);
    mg_done(client, db, false);
    hs_store_close(s);
}

/* Deleting a range inside two blocks left overlapping: what was deleted stays deleted (the
 * earlier block holds a copy of it too). */
static void test_mongo_delete_in_overlap(void)
{
    hs_store *s = open_writer();
    mongoc_database_t *db;
    mongoc_client_t *client = mg_client(g_url, &db);
    char id[128];
    fresh_id(id, sizeof id, "overlap_delete");
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_define(s, id, HS_STREAM_RAW, NULL), HS_OK);
    put_raw_block(db, id, 1, 10);
    put_raw_block(db, id, 6, 15);
    int64_t deleted = -1;
    CU_ASSERT_EQUAL(hs_store_delete_range(s, id, (hs_interval){7000, 9000}, &deleted), HS_OK);
    /* Both copies of the overlap may be counted. */
    CU_ASSERT_TRUE(deleted >= 2 && deleted <= 4);
    hs_batch out;
    hs_batch_init(&out);
    CU_ASSERT_EQUAL(hs_store_head(s, id, hs_store_all_time(), 100, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 13);
    for (size_t i = 0; i < out.n; i++) {
        int k = (int)i + 1 + (i >= 7 ? 2 : 0);
        CU_ASSERT_EQUAL(out.items[i].t_us, (int64_t)k * 1000);
        CU_ASSERT_EQUAL(value_double(&out, i), k * 1.5);
    }
    int64_t n = -1;
    CU_ASSERT_EQUAL(hs_store_count(s, id, hs_store_all_time(), &n), HS_OK);
    CU_ASSERT_EQUAL(n, 13);
    CU_ASSERT_EQUAL(hs_store_tail(s, id, (hs_interval){0, 9500}, 3, &out), HS_OK);
    CU_ASSERT_EQUAL_FATAL(out.n, 3);
    CU_ASSERT_EQUAL(out.items[0].t_us, 5000);
    CU_ASSERT_EQUAL(out.items[2].t_us, 7000);
    CU_ASSERT_EQUAL(hs_store_purge(s, id, true, NULL), HS_OK);
    hs_batch_free(&out);
    mg_done(client, db, false);
    hs_store_close(s);
}

/* A block document that is not one (a field missing or of the wrong type, a
 * corrupt block) is an error of the store, never a crash; such a stream can
 * still be purged. */
static void test_mongo_malformed_blocks(void)
{
    hs_store *s = open_writer();
    mongoc_database_t *db;
    mongoc_client_t *client = mg_client(g_url, &db);
    /* (A t0 or t1 that is not a number is not matched by the range query at all, as
     * MongoDB compares numbers only with numbers: such a document is not read.) */
    static const char *const cases[] = {"no d",   "d a string",   "n a string",
                                        "n zero", "t1 before t0", "corrupt d"};
    hs_batch out;
    hs_batch_init(&out);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char id[128];
        fresh_id(id, sizeof id, "malformed");
        CU_ASSERT_EQUAL_FATAL(hs_store_stream_define(s, id, HS_STREAM_RAW, NULL), HS_OK);
        static const uint8_t junk[] = {0xff, 0xfe, 0x01, 0x02, 0x03};
        bson_t doc = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&doc, "s", id);
        BSON_APPEND_INT64(&doc, "t0", 1000);
        BSON_APPEND_INT64(&doc, "t1", k == 4 ? 500 : 2000);
        if (k == 2)
            BSON_APPEND_UTF8(&doc, "n", "two");
        else
            BSON_APPEND_INT64(&doc, "n", k == 3 ? 0 : 2);
        if (k == 1)
            BSON_APPEND_UTF8(&doc, "d", "block");
        else if (k != 0)
            BSON_APPEND_BINARY(&doc, "d", BSON_SUBTYPE_BINARY, junk, sizeof junk);
        mg_insert(db, "blocks", &doc);
        bson_destroy(&doc);
        int rc = hs_store_head(s, id, hs_store_all_time(), 10, &out);
        if (rc != HS_ERR_STORE)
            fprintf(stderr, "%s: %s (%s)\n", cases[k], hs_strerror(rc), hs_err_detail());
        CU_ASSERT_EQUAL(rc, HS_ERR_STORE);
        /* A corrupt block is found where it is decoded; a count may sum its n. */
        int64_t n = 0;
        if (k != 5)
            CU_ASSERT_EQUAL(hs_store_count(s, id, hs_store_all_time(), &n), HS_ERR_STORE);
        int64_t deleted = -1;
        CU_ASSERT_EQUAL(hs_store_purge(s, id, true, &deleted), HS_OK);
        int64_t left = -1;
        CU_ASSERT_EQUAL(check_block_docs(db, id, &left), 0);
    }
    hs_batch_free(&out);
    mg_done(client, db, false);
    hs_store_close(s);
}

/* ---------------------------------------------------------------------------
 * Review: a model-based random test of the block layer (writes with late data,
 * in-batch duplicates, range deletes, purge_before, rollbacks) against an
 * in-memory model of the contract in hs_store.h.
 */

typedef struct minst {
    int64_t t;
    uint8_t *v;
    size_t len;
} minst;

typedef struct mmodel {
    minst *a;
    size_t n, cap;
} mmodel;

static void mm_free(mmodel *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->a[i].v);
    free(m->a);
    memset(m, 0, sizeof *m);
}

static void mm_copy(mmodel *dst, const mmodel *src)
{
    mm_free(dst);
    dst->a = calloc(src->cap ? src->cap : 1, sizeof *dst->a);
    dst->cap = src->cap ? src->cap : 1;
    dst->n = src->n;
    for (size_t i = 0; i < src->n; i++) {
        dst->a[i] = src->a[i];
        dst->a[i].v = malloc(src->a[i].len);
        memcpy(dst->a[i].v, src->a[i].v, src->a[i].len);
    }
}

/* Index of the first instance with t >= t. */
static size_t mm_lower(const mmodel *m, int64_t t)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->a[mid].t < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const minst *mm_find(const mmodel *m, int64_t t)
{
    size_t i = mm_lower(m, t);
    return i < m->n && m->a[i].t == t ? &m->a[i] : NULL;
}

static void mm_insert(mmodel *m, int64_t t, const uint8_t *v, size_t len)
{
    size_t i = mm_lower(m, t);
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->a = realloc(m->a, m->cap * sizeof *m->a);
    }
    if (i < m->n)
        memmove(&m->a[i + 1], &m->a[i], (m->n - i) * sizeof *m->a);
    m->a[i].t = t;
    m->a[i].v = malloc(len);
    memcpy(m->a[i].v, v, len);
    m->a[i].len = len;
    m->n++;
}

/* Deletes (s, e]; returns how many. */
static int64_t mm_delete(mmodel *m, int64_t s, int64_t e)
{
    size_t i = mm_lower(m, s + 1), j = i;
    while (j < m->n && m->a[j].t <= e)
        free(m->a[j++].v);
    if (j > i && j < m->n)
        memmove(&m->a[i], &m->a[j], (m->n - j) * sizeof *m->a);
    m->n -= j - i;
    return (int64_t)(j - i);
}

typedef struct xrng {
    uint64_t s;
} xrng;

static uint64_t xr(xrng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t xr_below(xrng *r, uint64_t n)
{
    return n ? xr(r) % n : 0;
}

/* A random canonical value: floats, small and big integers, strings (some large), nil. */
static void rand_value(xrng *r, hs_buf *v, int mix)
{
    hs_buf_reset(v);
    unsigned k = (unsigned)xr_below(r, 100);
    if (mix == 0 || k < 40) {
        CU_ASSERT_EQUAL(hs_mp_put_double(v, (double)xr_below(r, 8) * 0.5), HS_OK);
    } else if (k < 65) {
        CU_ASSERT_EQUAL(hs_mp_put_int(v, (int64_t)xr_below(r, 300) - 100), HS_OK);
    } else if (k < 75) {
        CU_ASSERT_EQUAL(hs_mp_put_int(v, (int64_t)(1ULL << 60) + (int64_t)xr_below(r, 5)), HS_OK);
    } else if (k < 85) {
        CU_ASSERT_EQUAL(hs_mp_put_nil(v), HS_OK);
    } else {
        size_t len = k < 97 ? (size_t)xr_below(r, 20) : (size_t)xr_below(r, 40000);
        char *s = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            s[i] = (char)('a' + xr_below(r, 3));
        CU_ASSERT_EQUAL(hs_mp_put_str(v, s, len), HS_OK);
        free(s);
    }
}

/* A timestamp near the model's data: fresh, late, in a gap, or far away. */
static int64_t rand_time_raw(xrng *r, const mmodel *m, int64_t base);

static int64_t rand_time(xrng *r, const mmodel *m, int64_t base)
{
    int64_t t = rand_time_raw(r, m, base);
    return t < HS_TIME_MIN ? HS_TIME_MIN : t > HS_TIME_MAX ? HS_TIME_MAX : t;
}

static int64_t rand_time_raw(xrng *r, const mmodel *m, int64_t base)
{
    int64_t lo = m->n ? m->a[0].t : base, hi = m->n ? m->a[m->n - 1].t : base;
    unsigned k = (unsigned)xr_below(r, 100);
    if (k < 30)
        return hi + 1 + (int64_t)xr_below(r, 3) * 1000; /* fresh */
    if (k < 55 && m->n > 0)
        return m->a[xr_below(r, m->n)].t; /* existing */
    if (k < 80)
        return lo - 5000 + (int64_t)xr_below(r, (uint64_t)(hi - lo) + 10000); /* late, gaps */
    if (k < 90)
        return hi + (int64_t)xr_below(r, 3) * HS_BLOCK_MAX_SPAN_US; /* big jumps */
    if (k < 93)
        return HS_TIME_MIN + (int64_t)xr_below(r, 3);
    if (k < 96)
        return HS_TIME_MAX - (int64_t)xr_below(r, 3);
    return lo - (int64_t)xr_below(r, 4) * HS_BLOCK_MAX_SPAN_US; /* far before */
}

/* Compares everything the store says about id with the model. */
static bool model_check(hs_store *s, const char *id, const mmodel *m, xrng *r, const char *when)
{
    bool ok = true;
    hs_batch out;
    hs_batch_init(&out);
    /* Full read in small chunks. */
    hs_store_cursor *c = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_store_read(s, id, hs_store_all_time(), 1 + xr_below(r, 700), &c),
                          HS_OK);
    size_t k = 0;
    for (;;) {
        int rc = hs_store_cursor_next(c, &out);
        if (rc != HS_OK) {
            fprintf(stderr, "\n  %s: read: %s %s", when, hs_strerror(rc), hs_err_detail());
            ok = false;
            break;
        }
        if (out.n == 0)
            break;
        for (size_t i = 0; i < out.n; i++, k++) {
            if (k >= m->n || out.items[i].t_us != m->a[k].t || out.items[i].len != m->a[k].len ||
                memcmp(hs_batch_value(&out, i), m->a[k].v, m->a[k].len) != 0) {
                if (ok)
                    fprintf(stderr, "\n  %s: read differs at %zu (t %lld, want %lld)", when, k,
                            (long long)out.items[i].t_us, k < m->n ? (long long)m->a[k].t : -1LL);
                ok = false;
            }
        }
    }
    hs_store_cursor_close(c);
    if (k != m->n) {
        if (ok)
            fprintf(stderr, "\n  %s: read %zu instances, want %zu", when, k, m->n);
        ok = false;
    }
    /* Ranges: count, head, tail. */
    for (int q = 0; q < 6 && m->n > 0; q++) {
        int64_t a = m->a[xr_below(r, m->n)].t - (int64_t)xr_below(r, 2);
        int64_t b = m->a[xr_below(r, m->n)].t + (int64_t)xr_below(r, 2) - 1;
        if (q == 0) {
            a = HS_TIME_MIN - 1;
            b = HS_TIME_MAX;
        }
        if (a > b) {
            int64_t x = a;
            a = b;
            b = x;
        }
        size_t i0 = mm_lower(m, a + 1), i1 = mm_lower(m, b + 1);
        int64_t n = -1;
        int rc = hs_store_count(s, id, (hs_interval){a, b}, &n);
        if (rc != HS_OK || (a < b && n != (int64_t)(i1 - i0))) {
            fprintf(stderr, "\n  %s: count (%lld, %lld] = %lld (rc %d), want %zu", when,
                    (long long)a, (long long)b, (long long)n, rc, i1 - i0);
            ok = false;
        }
        size_t want = 1 + xr_below(r, 40);
        for (int dir = 0; dir < 2 && a < b; dir++) {
            rc = dir ? hs_store_tail(s, id, (hs_interval){a, b}, want, &out)
                     : hs_store_head(s, id, (hs_interval){a, b}, want, &out);
            size_t have = i1 - i0 < want ? i1 - i0 : want;
            size_t from = dir ? i1 - have : i0;
            bool same = rc == HS_OK && out.n == have;
            for (size_t i = 0; same && i < have; i++)
                same = out.items[i].t_us == m->a[from + i].t &&
                       out.items[i].len == m->a[from + i].len &&
                       memcmp(hs_batch_value(&out, i), m->a[from + i].v, out.items[i].len) == 0;
            if (!same) {
                fprintf(stderr, "\n  %s: %s (%lld, %lld] n=%zu: got %zu (rc %d), want %zu", when,
                        dir ? "tail" : "head", (long long)a, (long long)b, want, out.n, rc, have);
                ok = false;
            }
        }
    }
    hs_batch_free(&out);
    return ok;
}

static void model_run(uint64_t seed, int mix, int steps)
{
    hs_store *s = open_writer();
    char id[128];
    fresh_id(id, sizeof id, "model");
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_define(s, id, HS_STREAM_RAW, NULL), HS_OK);
    xrng r = {seed};
    mmodel m = {0}, saved = {0};
    hs_batch b;
    hs_batch_init(&b);
    hs_buf v;
    hs_buf_init(&v, 0);
    const int64_t base = 1461873600LL * HS_US_PER_S;
    bool in_tx = false, ok = true;
    uint8_t *status = NULL;
    for (int step = 0; step < steps && ok; step++) {
        char when[96];
        snprintf(when, sizeof when, "seed %llu step %d", (unsigned long long)seed, step);
        if (!in_tx && xr_below(&r, 3) != 0) {
            CU_ASSERT_EQUAL_FATAL(hs_store_begin(s), HS_OK);
            mm_copy(&saved, &m);
            in_tx = true;
        }
        unsigned op = (unsigned)xr_below(&r, 100);
        if (op < 70) {
            /* A write. */
            hs_batch_reset(&b);
            size_t n = 1 + xr_below(&r, xr_below(&r, 4) == 0 ? 1500 : 20);
            for (size_t i = 0; i < n; i++) {
                int64_t t;
                if (i > 0 && xr_below(&r, 10) == 0)
                    t = b.items[xr_below(&r, b.n)].t_us; /* an in-batch repeat */
                else
                    t = rand_time(&r, &m, base);
                const minst *old = mm_find(&m, t);
                if (old != NULL && xr_below(&r, 2) == 0) {
                    hs_buf_reset(&v);
                    hs_buf_append(&v, old->v, old->len);
                } else {
                    rand_value(&r, &v, mix);
                }
                CU_ASSERT_EQUAL_FATAL(hs_batch_push(&b, t, v.data, v.len), HS_OK);
            }
            /* Expected statuses, from the contract. */
            uint8_t *want = calloc(b.n, 1);
            mmodel after = {0};
            mm_copy(&after, &m);
            for (size_t i = 0; i < b.n; i++) {
                const minst *old = mm_find(&after, b.items[i].t_us);
                if (old == NULL) {
                    want[i] = HS_WRITE_INSERTED;
                    mm_insert(&after, b.items[i].t_us, hs_batch_value(&b, i), b.items[i].len);
                } else {
                    want[i] = old->len == b.items[i].len &&
                                      memcmp(old->v, hs_batch_value(&b, i), old->len) == 0
                                  ? HS_WRITE_DUPLICATE
                                  : HS_WRITE_CONFLICT;
                }
            }
            status = realloc(status, b.n);
            memset(status, 0xee, b.n);
            hs_write_result res;
            int rc = hs_store_write(s, id, &b, status, &res);
            if (rc != HS_OK) {
                fprintf(stderr, "\n  %s: write of %zu: %s %s", when, b.n, hs_strerror(rc),
                        hs_err_detail());
                ok = false;
            }
            for (size_t i = 0; ok && i < b.n; i++)
                if (status[i] != want[i]) {
                    fprintf(stderr, "\n  %s: status[%zu] (t %lld) = %d, want %d", when, i,
                            (long long)b.items[i].t_us, status[i], want[i]);
                    ok = false;
                }
            free(want);
            mm_free(&m);
            m = after;
        } else if (op < 80) {
            int64_t a = m.n ? m.a[xr_below(&r, m.n)].t - 1 : base;
            int64_t e = m.n ? m.a[xr_below(&r, m.n)].t : base + 1;
            if (a > e) {
                int64_t x = a;
                a = e;
                e = x;
            }
            int64_t deleted = -1;
            int rc = hs_store_delete_range(s, id, (hs_interval){a, e}, &deleted);
            int64_t wd = mm_delete(&m, a, e);
            if (rc != HS_OK) {
                fprintf(stderr, "\n  %s: delete_range: %s", when, hs_strerror(rc));
                ok = false;
            } else if (rc == HS_OK && deleted != wd) {
                fprintf(stderr, "\n  %s: delete_range (%lld, %lld] deleted %lld, want %lld", when,
                        (long long)a, (long long)e, (long long)deleted, (long long)wd);
                ok = false;
            }
        } else if (op < 85 && m.n > 0) {
            int64_t before = m.a[xr_below(&r, m.n)].t;
            int64_t max = (int64_t)xr_below(&r, 50);
            int64_t deleted = -1, through = 0;
            int rc = hs_store_purge_before(s, id, before, max, &deleted, &through);
            if (rc != HS_OK) {
                fprintf(stderr, "\n  %s: purge_before: %s", when, hs_strerror(rc));
                ok = false;
            } else {
                int64_t wd = mm_delete(&m, HS_TIME_MIN - 1, through);
                if (wd != deleted || (max > 0 && deleted > max)) {
                    fprintf(stderr, "\n  %s: purge_before deleted %lld, want %lld", when,
                            (long long)deleted, (long long)wd);
                    ok = false;
                }
            }
        } else if (op < 92 && in_tx && strcmp(hs_store_backend(s), "sqlite") == 0) {
            CU_ASSERT_EQUAL_FATAL(hs_store_rollback(s), HS_OK);
            in_tx = false;
            mm_free(&m);
            mm_copy(&m, &saved);
        } else if (in_tx) {
            CU_ASSERT_EQUAL_FATAL(hs_store_commit(s), HS_OK);
            in_tx = false;
        }
        if (ok && (step % 5 == 0 || op >= 70))
            ok = model_check(s, id, &m, &r, when);
    }
    if (in_tx)
        hs_store_rollback(s);
    CU_ASSERT_TRUE(ok);
    free(status);
    mm_free(&m);
    mm_free(&saved);
    hs_batch_free(&b);
    hs_buf_free(&v);
    hs_store_close(s);
}

static void test_review_model_floats(void)
{
    const char *e = getenv("HS_REVIEW_SEEDS");
    uint64_t k = e != NULL ? strtoull(e, NULL, 10) : 6;
    for (uint64_t seed = 1; seed <= k; seed++)
        model_run(seed, 0, 120);
}

static void test_review_model_mixed(void)
{
    const char *e = getenv("HS_REVIEW_SEEDS");
    uint64_t k = e != NULL ? strtoull(e, NULL, 10) : 7;
    for (uint64_t seed = 100; seed < 100 + k; seed++)
        model_run(seed, 1, 120);
}

/*
 * Review: hs_store_tail over blocks left overlapping (MongoDB). The descending
 * scan stops once the blocks it copied hold n instances in range, counting
 * the overlap twice, so it stops too early and returns fewer than n.
 * Blocks [1..10], [20..30] and [25..30] (a copy of the end of the second):
 * the last 15 are 7..10 and 20..30.
 */
static void test_review_mongo_tail_over_overlap(void)
{
    hs_store *s = open_writer();
    mongoc_database_t *db;
    mongoc_client_t *client = mg_client(g_url, &db);
    char id[128];
    fresh_id(id, sizeof id, "overlap_tail");
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_define(s, id, HS_STREAM_RAW, NULL), HS_OK);
    put_raw_block(db, id, 1, 10);
    put_raw_block(db, id, 20, 30);
    put_raw_block(db, id, 25, 30);
    hs_batch out;
    hs_batch_init(&out);
    CU_ASSERT_EQUAL(hs_store_tail(s, id, hs_store_all_time(), 15, &out), HS_OK);
    if (out.n != 15)
        fprintf(stderr, "\n  tail of 15 over the overlap: got %zu\n", out.n);
    CU_ASSERT_EQUAL(out.n, 15);
    if (out.n == 15) {
        CU_ASSERT_EQUAL(out.items[0].t_us, 7000);
        CU_ASSERT_EQUAL(out.items[14].t_us, 30000);
    }
    CU_ASSERT_EQUAL(hs_store_purge(s, id, true, NULL), HS_OK);
    hs_batch_free(&out);
    mg_done(client, db, false);
    hs_store_close(s);
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
    HS_TEST(test_rollback_undoes_writes);                                                          \
    HS_TEST(test_same_timestamp_in_one_batch);                                                     \
    HS_TEST(test_rewrite_many_with_some_conflicts);                                                \
    HS_TEST(test_values_keep_their_bytes);                                                         \
    HS_TEST(test_write_defines_raw_stream);                                                        \
    HS_TEST(test_intervals_set_and_unknown_streams);                                               \
    HS_TEST(test_stream_list_order_content_and_stop);                                              \
    HS_TEST(test_document_prefix_edges);                                                           \
    HS_TEST(test_document_text_kept_exactly);                                                      \
    HS_TEST(test_reader_of_empty_store);                                                           \
    HS_TEST(test_concurrent_first_open);                                                           \
    HS_TEST(test_unreachable_mongodb);                                                             \
    HS_TEST(test_read_edges);                                                                      \
    HS_TEST(test_purge_leaves_other_streams);                                                      \
    HS_TEST(test_purge_before);                                                                    \
    HS_TEST(test_store_against_model);                                                             \
    HS_TEST(test_blocks_at_the_ends_of_time);

HS_TEST_INIT(store_sqlite)
{
    CU_pSuite hs__suite = CU_add_suite("store_sqlite", init_sqlite, clean_sqlite);
    if (hs__suite == NULL)
        return -1;
    STORE_TESTS(hs__suite)
    HS_TEST(test_wal_not_pinned);
    HS_TEST(test_rollback_leaves_blocks_as_they_were);
    HS_TEST(test_failed_write_rolled_back);
    HS_TEST(test_sqlite_upgrade_from_version_1);
    HS_TEST(test_sqlite_newer_schema_refused);
    HS_TEST(test_review_model_floats);
    HS_TEST(test_review_model_mixed);
    return 0;
}

HS_TEST_INIT(store_mongo)
{
    CU_pSuite hs__suite = CU_add_suite("store_mongo", init_mongo, clean_mongo);
    if (hs__suite == NULL)
        return -1;
    STORE_TESTS(hs__suite)
    HS_TEST(test_mongo_upgrade_from_v1);
    HS_TEST(test_mongo_overlapping_blocks);
    HS_TEST(test_mongo_write_into_overlap);
    HS_TEST(test_mongo_delete_in_overlap);
    HS_TEST(test_mongo_malformed_blocks);
    HS_TEST(test_review_mongo_tail_over_overlap);
    return 0;
}
