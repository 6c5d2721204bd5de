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
#include "hs_test_broker.h"
#include "hs_test_mongo.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
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
    HS_TEST(test_purge_before);

HS_TEST_INIT(store_sqlite)
{
    CU_pSuite hs__suite = CU_add_suite("store_sqlite", init_sqlite, clean_sqlite);
    if (hs__suite == NULL)
        return -1;
    STORE_TESTS(hs__suite)
    HS_TEST(test_wal_not_pinned);
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
