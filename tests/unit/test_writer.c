/*
 * Tests of the writer's commit logic (services/writer/wcore.h) against a
 * real SQLite file in a temporary directory, without a broker. Requests are
 * encoded with hs_proto as the write client does; what the commit stored is
 * read back through a second, read-only store handle, as other services
 * read it, and its outputs are decoded with hs_proto.
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_arena.h"
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_log.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_store.h"
#include "hs_store_impl.h"
#include "hs_value.h"
#include "hs_workflow.h"
#include "wcore.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXOUT 64

/* One test's store, core and the outputs of its last commit. */
typedef struct fx {
    char url[512];
    hs_store *ws; /* owned: the writer's handle */
    hs_store *rs; /* owned: a reader's handle */
    wcore *c;     /* owned */
    wcore_cfg cfg;
    hs_metrics_counters counters;
    hs_log *log; /* owned */
    hs_proto_ack_msg acks[MAXOUT];
    char ack_topic[MAXOUT][128];
    size_t nacks;
    char data_topic[MAXOUT][256];
    size_t data_n[MAXOUT]; /* instances in each hs/s message */
    size_t ndata;
    hs_buf notice[MAXOUT];
    char notice_topic[MAXOUT][256];
    size_t nnotices;
    char dead_reason[MAXOUT][700];
    char dead_topic[MAXOUT][256];
    size_t ndeads;
} fx;

static char g_dir[256];
static int g_counter;

static void fx_clear_outputs(fx *f)
{
    for (size_t i = 0; i < f->nacks; i++)
        hs_proto_ack_msg_free(&f->acks[i]);
    for (size_t i = 0; i < f->nnotices; i++)
        hs_buf_free(&f->notice[i]);
    f->nacks = f->ndata = f->nnotices = f->ndeads = 0;
}

static void fx_open(fx *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->url, sizeof f->url, "sqlite://%s/w%d.db", g_dir, ++g_counter);
    f->cfg = (wcore_cfg){
        .batch_max_instances = 100000,
        .batch_max_requests = 2000,
        .publish_max_instances = 1024,
        .job_parts_max_bytes = 1 << 20,
        .job_parts_ttl_us = 600000000,
    };
    CU_ASSERT_EQUAL_FATAL(hs_log_create(&f->log, "writer", HS_LOG_OFF), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&f->ws, f->url, HS_STORE_WRITE), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_store_open(&f->rs, f->url, HS_STORE_READ), HS_OK);
    CU_ASSERT_EQUAL_FATAL(wcore_create(&f->c, f->ws, &f->cfg, f->log, &f->counters), HS_OK);
}

static void fx_close(fx *f)
{
    fx_clear_outputs(f);
    wcore_destroy(f->c);
    hs_store_close(f->rs);
    hs_store_close(f->ws);
    hs_log_destroy(f->log);
}

/* Takes every pending output of the core into f (replacing the last ones). */
static void fx_drain(fx *f)
{
    fx_clear_outputs(f);
    wcore_out o;
    hs_batch b;
    hs_batch_init(&b);
    while (wcore_next(f->c, &o)) {
        if (o.kind == WCORE_OUT_ACK && f->nacks < MAXOUT) {
            snprintf(f->ack_topic[f->nacks], sizeof f->ack_topic[0], "%s", o.topic);
            CU_ASSERT_EQUAL(hs_proto_ack_decode(&f->acks[f->nacks], o.payload, o.len), HS_OK);
            f->nacks++;
        } else if (o.kind == WCORE_OUT_DATA && f->ndata < MAXOUT) {
            snprintf(f->data_topic[f->ndata], sizeof f->data_topic[0], "%s", o.topic);
            CU_ASSERT_EQUAL(hs_codec_decode_mpack(o.payload, o.len, false, &b), HS_OK);
            f->data_n[f->ndata++] = b.n;
        } else if (o.kind == WCORE_OUT_NOTICE && f->nnotices < MAXOUT) {
            snprintf(f->notice_topic[f->nnotices], sizeof f->notice_topic[0], "%s", o.topic);
            hs_buf_init(&f->notice[f->nnotices], 0);
            CU_ASSERT_EQUAL(hs_buf_append(&f->notice[f->nnotices], o.payload, o.len), HS_OK);
            f->nnotices++;
        } else if (o.kind == WCORE_OUT_DEAD && f->ndeads < MAXOUT) {
            snprintf(f->dead_reason[f->ndeads], sizeof f->dead_reason[0], "%s", o.reason);
            snprintf(f->dead_topic[f->ndeads], sizeof f->dead_topic[0], "%s", o.topic);
            f->ndeads++;
        } else {
            CU_FAIL("more outputs than the test expects");
        }
    }
    hs_batch_free(&b);
}

static void fx_commit(fx *f)
{
    CU_ASSERT_EQUAL(wcore_commit(f->c), HS_OK);
    fx_drain(f);
}

/* The acknowledgement of (sender, seq) among the drained ones, or NULL. */
static const hs_proto_ack_item *fx_ack(const fx *f, const char *sender, uint64_t seq)
{
    char topic[128];
    snprintf(topic, sizeof topic, "ack/%s", sender);
    const hs_proto_ack_item *found = NULL;
    for (size_t i = 0; i < f->nacks; i++) {
        if (strcmp(f->ack_topic[i], topic) != 0)
            continue;
        for (size_t k = 0; k < f->acks[i].ack.nitems; k++) {
            if (f->acks[i].ack.items[k].seq != seq)
                continue;
            CU_ASSERT_PTR_NULL(found); /* acknowledged once */
            found = &f->acks[i].ack.items[k];
        }
    }
    return found;
}

static size_t fx_nack_items(const fx *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nacks; i++)
        n += f->acks[i].ack.nitems;
    return n;
}

static int64_t fx_count(fx *f, const char *sid)
{
    int64_t n = -1;
    int rc = hs_store_count(f->rs, sid, hs_store_all_time(), &n);
    return rc == HS_OK ? n : (rc == HS_ERR_NOTFOUND ? 0 : -1);
}

/* The calculated intervals of sid as text "(a,b] (c,d]", "" when none, "undefined". */
static void fx_intervals(fx *f, const char *sid, char *out, size_t len)
{
    hs_stream_info info;
    out[0] = '\0';
    if (hs_store_stream_get(f->rs, sid, &info) != HS_OK) {
        snprintf(out, len, "undefined");
        return;
    }
    size_t used = 0;
    for (size_t i = 0; i < info.calculated.n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s(%lld,%lld]", i ? " " : "",
                                 (long long)info.calculated.v[i].start,
                                 (long long)info.calculated.v[i].end);
    hs_stream_info_free(&info);
}

/* ------------------------------------------------------------------ requests */

/* Adds a request with the envelope (inc 7, seq) and the given op fields, from sender. */
static void send_req(fx *f, const char *sender, uint64_t seq, hs_proto_op op, const hs_buf *fields,
                     uint32_t nfields)
{
    hs_buf m;
    hs_buf_init(&m, 0);
    CU_ASSERT_EQUAL(hs_proto_wreq_begin(&m, 7, seq, op, nfields), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_raw(&m, fields->data, fields->len), HS_OK);
    char topic[160];
    snprintf(topic, sizeof topic, "hs/w/%s", sender);
    CU_ASSERT_EQUAL(wcore_add(f->c, topic, m.data, m.len), HS_OK);
    hs_buf_free(&m);
}

/* Encodes the batch [[t[i], v[i]], ...] into out (reset first). */
static void enc_batch(hs_buf *out, const int64_t *t, const double *v, size_t n)
{
    hs_buf_reset(out);
    CU_ASSERT_EQUAL(hs_mp_put_array(out, (uint32_t)n), HS_OK);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(hs_mp_put_array(out, 2), HS_OK);
        CU_ASSERT_EQUAL(hs_mp_put_int(out, t[i]), HS_OK);
        CU_ASSERT_EQUAL(hs_mp_put_double(out, v[i]), HS_OK);
    }
}

static void send_append(fx *f, uint64_t seq, const char *sid, const int64_t *t, const double *v,
                        size_t n)
{
    hs_buf data, fields;
    hs_buf_init(&data, 0);
    hs_buf_init(&fields, 0);
    enc_batch(&data, t, v, n);
    hs_proto_append a = {.stream = sid, .data = data.data, .data_len = data.len};
    uint32_t nf = 0;
    CU_ASSERT_EQUAL(hs_proto_append_encode_fields(&fields, &a, &nf), HS_OK);
    send_req(f, "ingest", seq, HS_OP_APPEND, &fields, nf);
    hs_buf_free(&data);
    hs_buf_free(&fields);
}

static void send_define(fx *f, uint64_t seq, const char *sid, int kind, const char *binding)
{
    hs_buf fields;
    hs_buf_init(&fields, 0);
    hs_proto_define_item it = {.sid = sid, .kind = kind, .binding = binding};
    hs_proto_define d = {.items = &it, .n = 1};
    uint32_t nf = 0;
    CU_ASSERT_EQUAL(hs_proto_define_encode_fields(&fields, &d, &nf), HS_OK);
    send_req(f, "sched", seq, HS_OP_DEFINE, &fields, nf);
    hs_buf_free(&fields);
}

static void send_purge(fx *f, uint64_t seq, const char *sid, bool remove)
{
    hs_buf fields;
    hs_buf_init(&fields, 0);
    hs_proto_purge p = {.stream = sid, .remove = remove};
    uint32_t nf = 0;
    CU_ASSERT_EQUAL(hs_proto_purge_encode_fields(&fields, &p, &nf), HS_OK);
    send_req(f, "ctl", seq, HS_OP_PURGE, &fields, nf);
    hs_buf_free(&fields);
}

/* What one job output part carries, for send_job. */
typedef struct jobspec {
    const char *job;
    const char *sink;    /* NULL: a plate-creation job */
    const char *binding; /* the sink's binding text the job was computed for */
    hs_interval interval;
    uint32_t part, parts;
    const int64_t *t; /* instances of sink, n of them (0: no outputs) */
    const double *v;
    size_t n;
    const char *error;
    const char *plate;               /* plate-creation: the output plate */
    const char *const *plate_values; /* plate-creation: values found */
    size_t nplate_values;
} jobspec;

static void send_job(fx *f, uint64_t seq, const jobspec *js)
{
    hs_buf data, fields;
    hs_buf_init(&data, 0);
    hs_buf_init(&fields, 0);
    char hash[17];
    hs_binding_hash(js->binding, hash);
    const char *sinks[1] = {js->sink};
    hs_proto_output out = {.sid = js->sink};
    hs_proto_jobout o = {
        .hdr =
            {
                .job = js->job,
                .workflow = "wf1",
                .factor = 2,
                .pv = "",
                .tool = "clock",
                .version = "1.0",
                .binding = hash,
                .interval = js->interval,
                .sinks = sinks,
                .nsinks = js->sink != NULL ? 1 : 0,
                .output_plate = js->plate,
            },
        .part = js->part,
        .parts = js->parts,
        .started_us = 1,
        .duration_us = 5,
        .runtime = "tool-1",
        .error = js->error,
        .plate_values = js->plate_values,
        .nplate_values = js->nplate_values,
        .has_plate_values = js->plate != NULL,
    };
    if (js->n > 0) {
        enc_batch(&data, js->t, js->v, js->n);
        out.batch = data.data;
        out.batch_len = data.len;
        o.outputs = &out;
        o.noutputs = 1;
    }
    uint32_t nf = 0;
    CU_ASSERT_EQUAL(hs_proto_jobout_encode_fields(&fields, &o, &nf), HS_OK);
    send_req(f, "tool-1", seq, HS_OP_JOB, &fields, nf);
    hs_buf_free(&data);
    hs_buf_free(&fields);
}

/* The value at t of sid, or -1. */
static double fx_value(fx *f, const char *sid, int64_t t)
{
    hs_batch b;
    hs_batch_init(&b);
    double d = -1;
    if (hs_store_head(f->rs, sid, (hs_interval){t - 1, t}, 1, &b) == HS_OK && b.n == 1) {
        hs_mp_reader r;
        hs_mp_reader_init(&r, hs_batch_value(&b, 0), b.items[0].len);
        CU_ASSERT_EQUAL(hs_mp_get_number(&r, &d), HS_OK);
    }
    hs_batch_free(&b);
    return d;
}

/* ------------------------------------------------------------------ JSON documents */

typedef struct docs {
    char key[4][256];
    hs_buf json[4];
    size_t n;
} docs;

static int docs_add(void *ud, const char *key, const char *json)
{
    docs *d = ud;
    if (d->n == 4)
        return 1;
    snprintf(d->key[d->n], sizeof d->key[0], "%s", key);
    hs_buf_init(&d->json[d->n], 0);
    if (hs_buf_puts(&d->json[d->n], json) != HS_OK)
        return 1;
    d->n++;
    return 0;
}

static void docs_free(docs *d)
{
    for (size_t i = 0; i < d->n; i++)
        hs_buf_free(&d->json[i]);
    d->n = 0;
}

/* Parses JSON text into a value tree in a (the msgpack stays in mp). */
static const hs_value *parse_json(hs_arena *a, hs_buf *mp, const char *json)
{
    hs_value *v = NULL;
    if (hs_json_to_mpack(json, strlen(json), mp) != HS_OK ||
        hs_value_decode(a, mp->data, mp->len, &v) != HS_OK)
        return NULL;
    return v;
}

static bool v_str_is(const hs_value *m, const char *key, const char *want)
{
    const hs_value *v = hs_value_map_get(m, key, strlen(key));
    return v != NULL && v->type == HS_V_STR && v->len == strlen(want) &&
           memcmp(v->u.s, want, v->len) == 0;
}

static int64_t v_int(const hs_value *m, const char *key)
{
    const hs_value *v = hs_value_map_get(m, key, strlen(key));
    return v != NULL && v->type == HS_V_INT ? v->u.i : -999;
}

/* ------------------------------------------------------------------ tests */

static void test_appends(void)
{
    fx f;
    fx_open(&f);
    const char *a = "temp/room=a";
    int64_t t[3] = {1000, 2000, 3000};
    double v[3] = {1.0, 2.0, 3.0};
    send_append(&f, 1, a, t, v, 3);
    fx_commit(&f);
    const hs_proto_ack_item *it = fx_ack(&f, "ingest", 1);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(it->inserted, 3);
    CU_ASSERT_EQUAL(f.acks[0].ack.inc, 7);
    CU_ASSERT_EQUAL(fx_count(&f, a), 3);
    CU_ASSERT_EQUAL(f.ndata, 1);
    CU_ASSERT_STRING_EQUAL(f.data_topic[0], "s/temp/room=a");
    CU_ASSERT_EQUAL(f.data_n[0], 3);
    char iv[128];
    fx_intervals(&f, a, iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "(999,3000]");

    /* Equal values again are duplicates; a different value at 3000 is a conflict. */
    send_append(&f, 2, a, t, v, 2);
    int64_t t3 = 3000;
    double v3 = 9.0;
    send_append(&f, 3, a, &t3, &v3, 1);
    int64_t t0 = 500;
    double v0 = 0.5;
    send_append(&f, 4, a, &t0, &v0, 1);
    fx_commit(&f);
    it = fx_ack(&f, "ingest", 2);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(it->inserted, 0);
    CU_ASSERT_EQUAL(it->duplicates, 2);
    it = fx_ack(&f, "ingest", 3);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(it->conflicts, 1);
    CU_ASSERT_EQUAL(it->inserted, 0);
    CU_ASSERT_EQUAL(fx_value(&f, a, 3000), 3.0);
    CU_ASSERT_EQUAL(f.ndeads, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.dead_reason[0], "conflict: stream temp/room=a"));
    CU_ASSERT_PTR_NOT_NULL(strstr(f.dead_reason[0], "rejected 9"));
    CU_ASSERT_STRING_EQUAL(f.dead_topic[0], a);
    CU_ASSERT_EQUAL(fx_count(&f, a), 4);
    fx_intervals(&f, a, iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "(499,3000]");
    /* Only the new instance is published. */
    size_t published = 0;
    for (size_t i = 0; i < f.ndata; i++)
        published += f.data_n[i];
    CU_ASSERT_EQUAL(published, 1);

    /* A stream id that is not canonical, and raw data for a computed stream. */
    send_append(&f, 5, "t/b=2/a=1", t, v, 1);
    send_define(&f, 1, "calc/k=x", HS_STREAM_COMPUTED, "{\"tool\":\"clock\"}");
    send_append(&f, 6, "calc/k=x", t, v, 1);
    fx_commit(&f);
    it = fx_ack(&f, "ingest", 5);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_REJECTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(it->reason, "not canonical (expected 't/a=1/b=2')"));
    it = fx_ack(&f, "ingest", 6);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_REJECTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(it->reason, "computed by a workflow"));
    CU_ASSERT_EQUAL(fx_count(&f, "t/a=1/b=2"), 0);
    CU_ASSERT_EQUAL(fx_count(&f, "calc/k=x"), 0);
    CU_ASSERT_EQUAL(f.counters.errors, 2);
    fx_close(&f);
}

static void test_define_and_job(void)
{
    fx f;
    fx_open(&f);
    const char *binding = "{\"tool\":\"clock\",\"v\":1}";
    send_define(&f, 1, "out/f=1", HS_STREAM_COMPUTED, binding);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "sched", 1)->status, HS_ACK_OK);
    int64_t t[2] = {1000, 2000};
    double v[2] = {1.5, 2.5};
    jobspec js = {.job = "j0000000000000001",
                  .sink = "out/f=1",
                  .binding = binding,
                  .interval = {0, 10000},
                  .parts = 1,
                  .t = t,
                  .v = v,
                  .n = 2};
    send_job(&f, 1, &js);
    fx_commit(&f);
    const hs_proto_ack_item *it = fx_ack(&f, "tool-1", 1);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(it->inserted, 2);
    CU_ASSERT_EQUAL(fx_count(&f, "out/f=1"), 2);
    CU_ASSERT_EQUAL(fx_value(&f, "out/f=1", 2000), 2.5);
    char iv[128];
    fx_intervals(&f, "out/f=1", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "(0,10000]");
    /* The commit notice. */
    CU_ASSERT_EQUAL_FATAL(f.nnotices, 1);
    CU_ASSERT_STRING_EQUAL(f.notice_topic[0], "committed/wf1");
    hs_proto_committed_msg cm;
    CU_ASSERT_EQUAL_FATAL(hs_proto_committed_decode(&cm, f.notice[0].data, f.notice[0].len), HS_OK);
    CU_ASSERT_STRING_EQUAL(cm.c.job, "j0000000000000001");
    CU_ASSERT_STRING_EQUAL(cm.c.workflow, "wf1");
    CU_ASSERT_EQUAL(cm.c.factor, 2);
    CU_ASSERT_EQUAL(cm.c.outcome, HS_OUTCOME_OK);
    CU_ASSERT_EQUAL(cm.c.count, 2);
    CU_ASSERT_EQUAL(cm.c.interval.start, 0);
    CU_ASSERT_EQUAL(cm.c.interval.end, 10000);
    CU_ASSERT_FALSE(cm.c.has_plate_values);
    hs_proto_committed_msg_free(&cm);
    /* The history record. */
    docs d = {0};
    CU_ASSERT_EQUAL(hs_store_doc_list(f.rs, "history", "wf1/", false, 0, docs_add, &d), HS_OK);
    CU_ASSERT_EQUAL_FATAL(d.n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.key[0], "/j0000000000000001"));
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_buf mp;
    hs_buf_init(&mp, 0);
    const hs_value *h = parse_json(&a, &mp, hs_buf_cstr(&d.json[0]));
    HS_REQUIRE(h);
    CU_ASSERT_TRUE(v_str_is(h, "job", "j0000000000000001"));
    CU_ASSERT_TRUE(v_str_is(h, "workflow", "wf1"));
    CU_ASSERT_TRUE(v_str_is(h, "outcome", "ok"));
    CU_ASSERT_TRUE(v_str_is(h, "runtime", "tool-1"));
    CU_ASSERT_EQUAL(v_int(h, "count"), 2);
    CU_ASSERT_EQUAL(v_int(h, "inserted"), 2);
    CU_ASSERT_EQUAL(v_int(h, "start_us"), 0);
    CU_ASSERT_EQUAL(v_int(h, "end_us"), 10000);
    hs_arena_free(&a);
    hs_buf_free(&mp);
    docs_free(&d);

    /* A job with no output still adds its interval. */
    jobspec empty = {.job = "j0000000000000002",
                     .sink = "out/f=1",
                     .binding = binding,
                     .interval = {10000, 20000},
                     .parts = 1};
    send_job(&f, 2, &empty);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "tool-1", 2)->status, HS_ACK_OK);
    fx_intervals(&f, "out/f=1", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "(0,20000]");
    CU_ASSERT_EQUAL(fx_count(&f, "out/f=1"), 2);
    CU_ASSERT_EQUAL(f.nnotices, 1);
    fx_close(&f);
}

static void test_multipart_jobs(void)
{
    fx f;
    fx_open(&f);
    const char *binding = "{\"tool\":\"clock\"}";
    send_define(&f, 1, "mp/k=a", HS_STREAM_COMPUTED, binding);
    send_define(&f, 2, "mp/k=b", HS_STREAM_COMPUTED, binding);
    fx_commit(&f);
    int64_t t[6] = {1, 2, 3, 4, 5, 6};
    double v[6] = {10, 20, 30, 40, 50, 60};
    jobspec js = {.job = "j00000000000000a1",
                  .sink = "mp/k=a",
                  .binding = binding,
                  .interval = {0, 100},
                  .parts = 3,
                  .n = 2};
    /* Parts 2 and 0 first: nothing is committed or acknowledged. */
    js.part = 2, js.t = t + 4, js.v = v + 4;
    send_job(&f, 10, &js);
    js.part = 0, js.t = t, js.v = v;
    send_job(&f, 11, &js);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_nack_items(&f), 0);
    CU_ASSERT_EQUAL(fx_count(&f, "mp/k=a"), 0);
    CU_ASSERT_TRUE(wcore_held_bytes(f.c) > 0);
    char iv[64];
    fx_intervals(&f, "mp/k=a", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "");
    /* The last part: all three commit together and are acknowledged then. */
    js.part = 1, js.t = t + 2, js.v = v + 2;
    send_job(&f, 12, &js);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_nack_items(&f), 3);
    for (uint64_t seq = 10; seq <= 12; seq++) {
        const hs_proto_ack_item *it = fx_ack(&f, "tool-1", seq);
        HS_REQUIRE(it);
        CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
        CU_ASSERT_EQUAL(it->inserted, 2);
    }
    CU_ASSERT_EQUAL(fx_count(&f, "mp/k=a"), 6);
    fx_intervals(&f, "mp/k=a", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "(0,100]");
    CU_ASSERT_EQUAL(f.nnotices, 1);
    CU_ASSERT_EQUAL(wcore_held_bytes(f.c), 0);
    docs d = {0};
    CU_ASSERT_EQUAL(hs_store_doc_list(f.rs, "history", "wf1/", false, 0, docs_add, &d), HS_OK);
    CU_ASSERT_EQUAL(d.n, 1);
    docs_free(&d);

    /* A re-sent part replaces the earlier copy; a missing part commits nothing. */
    jobspec jb = {.job = "j00000000000000b1",
                  .sink = "mp/k=b",
                  .binding = binding,
                  .interval = {0, 100},
                  .parts = 2,
                  .n = 1};
    double first = 1.0, again = 2.0, other = 3.0;
    jb.part = 0, jb.t = t, jb.v = &first;
    send_job(&f, 20, &jb);
    fx_commit(&f);
    jb.v = &again;
    send_job(&f, 20, &jb);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_nack_items(&f), 0);
    CU_ASSERT_EQUAL(fx_count(&f, "mp/k=b"), 0);
    jb.part = 1, jb.t = t + 1, jb.v = &other;
    send_job(&f, 21, &jb);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_nack_items(&f), 2);
    CU_ASSERT_PTR_NOT_NULL(fx_ack(&f, "tool-1", 20));
    CU_ASSERT_PTR_NOT_NULL(fx_ack(&f, "tool-1", 21));
    CU_ASSERT_EQUAL(fx_count(&f, "mp/k=b"), 2);
    CU_ASSERT_EQUAL(fx_value(&f, "mp/k=b", 1), 2.0);

    /* An incomplete job expires after its ttl without leaving anything. */
    jobspec jc = jb;
    jc.job = "j00000000000000c1";
    jc.part = 0;
    send_job(&f, 30, &jc);
    fx_commit(&f);
    CU_ASSERT_TRUE(wcore_held_bytes(f.c) > 0);
    wcore_expire_jobs(f.c, INT64_MAX / 2);
    CU_ASSERT_EQUAL(wcore_held_bytes(f.c), 0);
    fx_drain(&f);
    CU_ASSERT_EQUAL(fx_nack_items(&f), 0);
    CU_ASSERT_EQUAL(fx_count(&f, "mp/k=b"), 2);
    fx_close(&f);
}

static void test_stale_binding(void)
{
    fx f;
    fx_open(&f);
    const char *b1 = "{\"tool\":\"clock\",\"v\":1}", *b2 = "{\"tool\":\"clock\",\"v\":2}";
    send_define(&f, 1, "st/k=x", HS_STREAM_COMPUTED, b1);
    fx_commit(&f);
    int64_t t[2] = {10, 20};
    double v[2] = {1, 2};
    jobspec js = {.job = "j0000000000000011",
                  .sink = "st/k=x",
                  .binding = b1,
                  .interval = {0, 50},
                  .parts = 1,
                  .t = t,
                  .v = v,
                  .n = 2};
    send_job(&f, 1, &js);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_count(&f, "st/k=x"), 2);
    /* Another binding purges the sink's data and intervals. */
    send_define(&f, 2, "st/k=x", HS_STREAM_COMPUTED, b2);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "sched", 2)->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(fx_count(&f, "st/k=x"), 0);
    char iv[64];
    fx_intervals(&f, "st/k=x", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "");
    CU_ASSERT_EQUAL_FATAL(f.nnotices, 1);
    CU_ASSERT_STRING_EQUAL(f.notice_topic[0], "purged");
    hs_stream_info info;
    CU_ASSERT_EQUAL_FATAL(hs_store_stream_get(f.rs, "st/k=x", &info), HS_OK);
    CU_ASSERT_STRING_EQUAL(info.binding, b2);
    hs_stream_info_free(&info);
    /* A job computed for the old binding is refused as stale. */
    js.job = "j0000000000000012";
    send_job(&f, 2, &js);
    fx_commit(&f);
    const hs_proto_ack_item *it = fx_ack(&f, "tool-1", 2);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_STALE);
    CU_ASSERT_PTR_NOT_NULL(strstr(it->reason, "older definition"));
    CU_ASSERT_EQUAL(fx_count(&f, "st/k=x"), 0);
    fx_intervals(&f, "st/k=x", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "");
    CU_ASSERT_EQUAL_FATAL(f.nnotices, 1);
    hs_proto_committed_msg cm;
    CU_ASSERT_EQUAL_FATAL(hs_proto_committed_decode(&cm, f.notice[0].data, f.notice[0].len), HS_OK);
    CU_ASSERT_EQUAL(cm.c.outcome, HS_OUTCOME_STALE);
    CU_ASSERT_STRING_EQUAL(cm.c.job, "j0000000000000012");
    CU_ASSERT_EQUAL(cm.c.count, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(cm.c.error, "older definition"));
    hs_proto_committed_msg_free(&cm);
    docs d = {0};
    CU_ASSERT_EQUAL(hs_store_doc_list(f.rs, "history", "wf1/", false, 0, docs_add, &d), HS_OK);
    CU_ASSERT_EQUAL_FATAL(d.n, 2);
    bool stale = false;
    for (size_t i = 0; i < d.n; i++)
        if (strstr(d.key[i], "j0000000000000012") != NULL)
            stale = strstr(hs_buf_cstr(&d.json[i]), "\"outcome\":\"stale\"") != NULL;
    CU_ASSERT_TRUE(stale);
    docs_free(&d);
    fx_close(&f);
}

static void test_purge(void)
{
    fx f;
    fx_open(&f);
    int64_t t[3] = {1, 2, 3};
    double v[3] = {1, 2, 3};
    send_append(&f, 1, "pu/k=a", t, v, 3);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_count(&f, "pu/k=a"), 3);
    send_purge(&f, 1, "pu/k=a", false);
    send_purge(&f, 2, "pu/k=none", false);
    fx_commit(&f);
    const hs_proto_ack_item *it = fx_ack(&f, "ctl", 1);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(it->duplicates, 3);
    CU_ASSERT_EQUAL(fx_count(&f, "pu/k=a"), 0);
    char iv[64];
    fx_intervals(&f, "pu/k=a", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "");
    it = fx_ack(&f, "ctl", 2);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_REJECTED);
    CU_ASSERT_STRING_EQUAL(it->reason, "no stream pu/k=none");
    CU_ASSERT_EQUAL_FATAL(f.nnotices, 1);
    CU_ASSERT_STRING_EQUAL(f.notice_topic[0], "purged");
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value *nv = NULL;
    CU_ASSERT_EQUAL(hs_value_decode(&a, f.notice[0].data, f.notice[0].len, &nv), HS_OK);
    CU_ASSERT_TRUE(nv != NULL && v_str_is(nv, "stream", "pu/k=a"));
    hs_arena_free(&a);
    /* With remove, the definition goes too. */
    send_append(&f, 2, "pu/k=a", t, v, 1);
    send_purge(&f, 3, "pu/k=a", true);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "ctl", 3)->duplicates, 1);
    fx_intervals(&f, "pu/k=a", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "undefined");
    fx_close(&f);
}

static void test_plate_job(void)
{
    fx f;
    fx_open(&f);
    const char *vals1[2] = {"a", "b"}, *vals2[2] = {"b", "c"};
    jobspec js = {.job = "j0000000000000021",
                  .binding = "{}",
                  .interval = {0, 10},
                  .parts = 1,
                  .plate = "P",
                  .plate_values = vals1,
                  .nplate_values = 2};
    send_job(&f, 1, &js);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "tool-1", 1)->status, HS_ACK_OK);
    hs_buf doc;
    hs_buf_init(&doc, 0);
    CU_ASSERT_EQUAL(hs_store_doc_get(f.rs, "plate_values", "wf1/P", &doc), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&doc), "{\"values\":{\"\":[\"a\",\"b\"]}}");
    CU_ASSERT_EQUAL_FATAL(f.nnotices, 1);
    hs_proto_committed_msg cm;
    CU_ASSERT_EQUAL_FATAL(hs_proto_committed_decode(&cm, f.notice[0].data, f.notice[0].len), HS_OK);
    CU_ASSERT_TRUE(cm.c.has_plate_values);
    CU_ASSERT_EQUAL_FATAL(cm.c.nplate_values, 2);
    CU_ASSERT_STRING_EQUAL(cm.c.plate_values[1], "b");
    CU_ASSERT_EQUAL(cm.c.count, 2);
    hs_proto_committed_msg_free(&cm);
    /* Values found again are not added twice. */
    js.job = "j0000000000000022";
    js.plate_values = vals2;
    send_job(&f, 2, &js);
    fx_commit(&f);
    CU_ASSERT_EQUAL(hs_store_doc_get(f.rs, "plate_values", "wf1/P", &doc), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&doc), "{\"values\":{\"\":[\"a\",\"b\",\"c\"]}}");
    CU_ASSERT_EQUAL_FATAL(f.nnotices, 1);
    CU_ASSERT_EQUAL_FATAL(hs_proto_committed_decode(&cm, f.notice[0].data, f.notice[0].len), HS_OK);
    CU_ASSERT_EQUAL(cm.c.count, 1);
    CU_ASSERT_EQUAL(cm.c.nplate_values, 2);
    hs_proto_committed_msg_free(&cm);
    hs_buf_free(&doc);
    fx_close(&f);
}

static void test_unreadable(void)
{
    fx f;
    fx_open(&f);
    const char junk[] = "not msgpack at all";
    CU_ASSERT_EQUAL(wcore_add(f.c, "hs/w/ingest", junk, sizeof junk - 1), HS_OK);
    /* {v, inc, op} without seq. */
    hs_buf m;
    hs_buf_init(&m, 0);
    CU_ASSERT_EQUAL(hs_mp_put_map(&m, 3), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&m, "v"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_uint(&m, 1), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&m, "inc"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_uint(&m, 7), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&m, "op"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&m, "append"), HS_OK);
    CU_ASSERT_EQUAL(wcore_add(f.c, "hs/w/ingest", m.data, m.len), HS_OK);
    CU_ASSERT_EQUAL(wcore_batch_requests(f.c), 0);
    fx_drain(&f);
    CU_ASSERT_EQUAL_FATAL(f.ndeads, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.dead_reason[0], "unreadable write request"));
    CU_ASSERT_PTR_NOT_NULL(strstr(f.dead_reason[1], "seq"));
    CU_ASSERT_STRING_EQUAL(f.dead_topic[1], "hs/w/ingest");
    /* An op this version does not know is acknowledged as rejected. */
    hs_buf_reset(&m);
    CU_ASSERT_EQUAL(hs_mp_put_map(&m, 4), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&m, "v"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_uint(&m, 1), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&m, "inc"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_uint(&m, 7), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&m, "seq"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_uint(&m, 5), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&m, "op"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(&m, "frobnicate"), HS_OK);
    CU_ASSERT_EQUAL(wcore_add(f.c, "hs/w/ingest", m.data, m.len), HS_OK);
    CU_ASSERT_EQUAL(wcore_batch_requests(f.c), 1);
    fx_commit(&f);
    CU_ASSERT_EQUAL(f.ndeads, 0);
    CU_ASSERT_EQUAL(fx_nack_items(&f), 1);
    const hs_proto_ack_item *it = fx_ack(&f, "ingest", 5);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_REJECTED);
    CU_ASSERT_STRING_EQUAL(it->reason, "unknown op 'frobnicate'");
    hs_buf_free(&m);
    fx_close(&f);
}

static void test_disk_full_rollback(void)
{
    fx f;
    fx_open(&f);
    int64_t t1 = 1;
    double v1 = 1;
    send_append(&f, 1, "df/k=a", &t1, &v1, 1);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_count(&f, "df/k=a"), 1);
    /* The next batch needs far more pages than the file has: the disk is full. */
    enum { N = 20000 };
    int64_t *t = hs_malloc(N * sizeof *t);
    double *v = hs_malloc(N * sizeof *v);
    HS_REQUIRE(t);
    HS_REQUIRE(v);
    for (int i = 0; i < N; i++) {
        t[i] = 1000 + i;
        v[i] = i * 0.5;
    }
    send_define(&f, 1, "df/k=c", HS_STREAM_COMPUTED, "{\"tool\":\"clock\"}");
    send_append(&f, 2, "df/k=a", t, v, N);
    send_append(&f, 3, "df/k=b", t, v, N / 2);
    CU_ASSERT_EQUAL_FATAL(hs__store_sqlite_max_pages(f.ws, 1), HS_OK);
    CU_ASSERT_EQUAL(wcore_commit(f.c), HS_ERR_IO);
    fx_drain(&f);
    CU_ASSERT_EQUAL(fx_nack_items(&f), 0);
    CU_ASSERT_EQUAL(f.ndata, 0);
    CU_ASSERT_EQUAL(f.nnotices, 0);
    CU_ASSERT_EQUAL(fx_count(&f, "df/k=a"), 1);
    CU_ASSERT_EQUAL(fx_count(&f, "df/k=b"), 0);
    char iv[64];
    fx_intervals(&f, "df/k=c", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "undefined");
    fx_intervals(&f, "df/k=a", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "(0,1]");
    CU_ASSERT_EQUAL(wcore_batch_requests(f.c), 3);
    CU_ASSERT_TRUE(f.counters.errors >= 1);
    /* Still full: the same again. */
    CU_ASSERT_EQUAL(wcore_commit(f.c), HS_ERR_IO);
    fx_drain(&f);
    CU_ASSERT_EQUAL(fx_nack_items(&f), 0);
    /* Space is back: the same batch commits whole. */
    CU_ASSERT_EQUAL_FATAL(hs__store_sqlite_max_pages(f.ws, 0), HS_OK);
    fx_commit(&f);
    CU_ASSERT_EQUAL(wcore_batch_requests(f.c), 0);
    CU_ASSERT_EQUAL(fx_nack_items(&f), 3);
    const hs_proto_ack_item *it = fx_ack(&f, "ingest", 2);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(it->inserted, N);
    CU_ASSERT_EQUAL(fx_ack(&f, "ingest", 3)->inserted, N / 2);
    CU_ASSERT_EQUAL(fx_ack(&f, "sched", 1)->status, HS_ACK_OK);
    /* Published in messages of at most publish_max_instances (1024). */
    size_t published = 0;
    for (size_t i = 0; i < f.ndata; i++) {
        CU_ASSERT_TRUE(f.data_n[i] <= 1024);
        published += f.data_n[i];
    }
    CU_ASSERT_EQUAL(published, N + N / 2);
    CU_ASSERT_EQUAL(f.ndata, 20 + 10);
    CU_ASSERT_EQUAL(fx_count(&f, "df/k=a"), N + 1);
    CU_ASSERT_EQUAL(fx_count(&f, "df/k=b"), N / 2);
    CU_ASSERT_EQUAL(fx_value(&f, "df/k=a", 1000 + N - 1), (N - 1) * 0.5);
    fx_intervals(&f, "df/k=a", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "(0,20999]");
    fx_intervals(&f, "df/k=c", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "");
    hs_free(t);
    hs_free(v);
    fx_close(&f);
}

static int suite_init(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/hs-test-writer-XXXXXX");
    return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int suite_clean(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

HS_TEST_INIT(writer)
{
    CU_pSuite hs__suite = CU_add_suite("writer", suite_init, suite_clean);
    if (hs__suite == NULL)
        return -1;
    HS_TEST(test_appends);
    HS_TEST(test_define_and_job);
    HS_TEST(test_multipart_jobs);
    HS_TEST(test_stale_binding);
    HS_TEST(test_purge);
    HS_TEST(test_plate_job);
    HS_TEST(test_unreadable);
    HS_TEST(test_disk_full_rollback);
    return 0;
}
