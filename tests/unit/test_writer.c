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
#include "hs_time.h"
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
    size_t data_n[MAXOUT];   /* instances in each hs/s message (0 for hs/c) */
    hs_buf data_raw[MAXOUT]; /* each data message as published */
    size_t ndata;
    hs_buf notice[MAXOUT];
    char notice_topic[MAXOUT][256];
    size_t nnotices;
    char dead_reason[MAXOUT][700];
    char dead_topic[MAXOUT][256];
    char dead_stream[MAXOUT][256];
    char dead_json[MAXOUT][700]; /* the dead letter as the service publishes it */
    size_t ndeads;
    char mon_name[MAXOUT][64];
    char mon_text[MAXOUT][700];
    size_t nmons;
} fx;

static char g_dir[256];
static int g_counter;

static void fx_clear_outputs(fx *f)
{
    for (size_t i = 0; i < f->nacks; i++)
        hs_proto_ack_msg_free(&f->acks[i]);
    for (size_t i = 0; i < f->nnotices; i++)
        hs_buf_free(&f->notice[i]);
    for (size_t i = 0; i < f->ndata; i++)
        hs_buf_free(&f->data_raw[i]);
    f->nacks = f->ndata = f->nnotices = f->ndeads = f->nmons = 0;
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
            hs_buf_init(&f->data_raw[f->ndata], 0);
            CU_ASSERT_EQUAL(hs_buf_append(&f->data_raw[f->ndata], o.payload, o.len), HS_OK);
            f->data_n[f->ndata] = 0;
            /* Corrections (c/<sid>) are decoded by the tests that expect them. */
            if (strncmp(o.topic, "c/", 2) != 0) {
                CU_ASSERT_EQUAL(hs_codec_decode_mpack(o.payload, o.len, false, &b), HS_OK);
                f->data_n[f->ndata] = b.n;
            }
            f->ndata++;
        } else if (o.kind == WCORE_OUT_NOTICE && f->nnotices < MAXOUT) {
            snprintf(f->notice_topic[f->nnotices], sizeof f->notice_topic[0], "%s", o.topic);
            hs_buf_init(&f->notice[f->nnotices], 0);
            CU_ASSERT_EQUAL(hs_buf_append(&f->notice[f->nnotices], o.payload, o.len), HS_OK);
            f->nnotices++;
        } else if (o.kind == WCORE_OUT_DEAD && f->ndeads < MAXOUT) {
            snprintf(f->dead_reason[f->ndeads], sizeof f->dead_reason[0], "%s", o.reason);
            snprintf(f->dead_topic[f->ndeads], sizeof f->dead_topic[0], "%s", o.topic);
            snprintf(f->dead_stream[f->ndeads], sizeof f->dead_stream[0], "%s", o.stream);
            hs_proto_dead_letter d = {.service = "writer",
                                      .reason = o.reason,
                                      .topic = o.topic,
                                      .payload = o.payload,
                                      .len = o.len,
                                      .stream = o.stream,
                                      .kind = HS_PAYLOAD_MSGPACK};
            hs_buf j;
            hs_buf_init(&j, 0);
            CU_ASSERT_EQUAL(hs_proto_dead_letter_encode(&j, &d), HS_OK);
            snprintf(f->dead_json[f->ndeads], sizeof f->dead_json[0], "%s", hs_buf_cstr(&j));
            hs_buf_free(&j);
            f->ndeads++;
        } else if (o.kind == WCORE_OUT_MON && f->nmons < MAXOUT) {
            snprintf(f->mon_name[f->nmons], sizeof f->mon_name[0], "%s", o.topic);
            snprintf(f->mon_text[f->nmons], sizeof f->mon_text[0], "%s", o.reason);
            f->nmons++;
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
    hs_proto_trigger trigger;
    hs_proto_wseq wseq;       /* the newest commit the job's reads saw ({0, 0}: unknown) */
    const uint8_t *raw_batch; /* instead of t and v: the output batch as it is sent */
    size_t raw_batch_len;
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
                .trigger = js->trigger,
                .wseq = js->wseq,
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
    } else if (js->raw_batch != NULL) {
        out.batch = js->raw_batch;
        out.batch_len = js->raw_batch_len;
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
    /* The request's MQTT topic, the stream in its own field, the value readable. */
    CU_ASSERT_STRING_EQUAL(f.dead_topic[0], "hs/w/ingest");
    CU_ASSERT_STRING_EQUAL(f.dead_stream[0], a);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.dead_json[0], "\"payload_json\":9.0}"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(f.dead_json[0], "\"topic\":\"hs/w/ingest\",\"stream\":\"temp/room=a\""));
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

/*
 * append_many: several streams in one request, each written as an append of
 * its own; a refused item (computed stream, id not canonical) is a dead
 * letter with its data and reason, and the others are stored.
 */
static void test_append_many(void)
{
    fx f;
    fx_open(&f);
    send_define(&f, 1, "calc/k=x", HS_STREAM_COMPUTED, "{\"tool\":\"clock\"}");
    fx_commit(&f);
    int64_t t1[] = {1000, 2000}, t2[] = {1500};
    double v1[] = {1.0, 2.0}, v2[] = {7.5};
    hs_buf d1, d2, fields;
    hs_buf_init(&d1, 0);
    hs_buf_init(&d2, 0);
    hs_buf_init(&fields, 0);
    enc_batch(&d1, t1, v1, 2);
    enc_batch(&d2, t2, v2, 1);
    hs_proto_append items[] = {
        {"temp/dev=1", d1.data, d1.len},
        {"calc/k=x", d2.data, d2.len},
        {"t/b=2/a=1", d2.data, d2.len},
        {"temp/dev=2", d2.data, d2.len},
    };
    hs_proto_append_many many = {items, 4};
    uint32_t nf = 0;
    CU_ASSERT_EQUAL(hs_proto_append_many_encode_fields(&fields, &many, &nf), HS_OK);
    send_req(&f, "ingest", 1, HS_OP_APPEND_MANY, &fields, nf);
    fx_commit(&f);
    const hs_proto_ack_item *it = fx_ack(&f, "ingest", 1);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(it->inserted, 3);
    CU_ASSERT_EQUAL(fx_count(&f, "temp/dev=1"), 2);
    CU_ASSERT_EQUAL(fx_count(&f, "temp/dev=2"), 1);
    CU_ASSERT_EQUAL(fx_count(&f, "calc/k=x"), 0);
    CU_ASSERT_EQUAL(fx_count(&f, "t/a=1/b=2"), 0);
    char iv[64];
    fx_intervals(&f, "temp/dev=1", iv, sizeof iv);
    CU_ASSERT_STRING_EQUAL(iv, "(999,2000]");
    /* Both refused items are dead letters, each with its reason, stream and data. */
    CU_ASSERT_EQUAL_FATAL(f.ndeads, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.dead_reason[0], "computed by a workflow"));
    CU_ASSERT_STRING_EQUAL(f.dead_stream[0], "calc/k=x");
    CU_ASSERT_STRING_EQUAL(f.dead_topic[0], "hs/w/ingest");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.dead_json[0], "\"payload_json\":[[1500,7.5]]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(f.dead_reason[1], "not canonical (expected 't/a=1/b=2')"));
    CU_ASSERT_STRING_EQUAL(f.dead_stream[1], "t/b=2/a=1");
    /* Both new streams' data is published, each on its own topic. */
    size_t published = 0;
    for (size_t i = 0; i < f.ndata; i++)
        published += f.data_n[i];
    CU_ASSERT_EQUAL(published, 3);
    hs_buf_free(&d1);
    hs_buf_free(&d2);
    hs_buf_free(&fields);
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

/* ------------------------------------------------------------------ late data */

#define SEC 1000000LL
#define MIN (60 * SEC)

static const char *const BK = "{\"tool\":\"sliding_apply\",\"fn\":\"mean\"}";

static void send_define_deps(fx *f, uint64_t seq, const char *sid, const char *const *sources,
                             size_t n, int64_t lookback_us, int64_t max_lateness_us)
{
    hs_buf fields;
    hs_buf_init(&fields, 0);
    hs_proto_define_item it = {.sid = sid,
                               .kind = HS_STREAM_COMPUTED,
                               .binding = BK,
                               .has_deps = true,
                               .sources = sources,
                               .nsources = n,
                               .lookback_us = lookback_us,
                               .max_lateness_us = max_lateness_us};
    hs_proto_define d = {.items = &it, .n = 1};
    uint32_t nf = 0;
    CU_ASSERT_EQUAL(hs_proto_define_encode_fields(&fields, &d, &nf), HS_OK);
    send_req(f, "sched", seq, HS_OP_DEFINE, &fields, nf);
    hs_buf_free(&fields);
}

static void send_invalidate(fx *f, uint64_t seq, const char *sid, hs_interval iv)
{
    hs_buf fields;
    hs_buf_init(&fields, 0);
    hs_proto_invalidate v = {.stream = sid, .interval = iv};
    uint32_t nf = 0;
    CU_ASSERT_EQUAL(hs_proto_invalidate_encode_fields(&fields, &v, &nf), HS_OK);
    send_req(f, "ctl", seq, HS_OP_INVALIDATE, &fields, nf);
    hs_buf_free(&fields);
}

/* The writer's newest commit. */
static hs_proto_wseq fx_wseq(const fx *f)
{
    hs_proto_wseq w;
    wcore_wseq(f->c, &w.epoch, &w.seq);
    return w;
}

/* Intervals as text "(a,b] (c,d]", as fx_intervals writes them. */
static void ivs_text(const hs_interval *v, size_t n, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s(%lld,%lld]", i ? " " : "",
                                 (long long)v[i].start, (long long)v[i].end);
}

/*
 * The reopened notices of the last commit as "stream reason intervals",
 * joined by "; " in publication order; each must name the commit that held
 * it (the newest).
 */
static void fx_reopened(fx *f, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    hs_proto_wseq now = fx_wseq(f);
    for (size_t i = 0; i < f->nnotices && used < len; i++) {
        if (strcmp(f->notice_topic[i], "reopened") != 0)
            continue;
        hs_proto_reopened_msg m;
        CU_ASSERT_EQUAL_FATAL(hs_proto_reopened_decode(&m, f->notice[i].data, f->notice[i].len),
                              HS_OK);
        CU_ASSERT_EQUAL(m.r.wseq.epoch, now.epoch);
        CU_ASSERT_EQUAL(m.r.wseq.seq, now.seq);
        char iv[512];
        ivs_text(m.r.intervals, m.r.n, iv, sizeof iv);
        used += (size_t)snprintf(out + used, len - used, "%s%s %s %s", used ? "; " : "", m.r.stream,
                                 m.r.reason, iv);
        hs_proto_reopened_msg_free(&m);
    }
}

/* docs/reopened/<sid> as text, "none" when there is none. */
static void fx_reopened_doc(fx *f, const char *sid, char *out, size_t len)
{
    hs_buf json;
    hs_buf_init(&json, 0);
    int rc = hs_store_doc_get(f->rs, "reopened", sid, &json);
    if (rc == HS_ERR_NOTFOUND) {
        snprintf(out, len, "none");
    } else {
        CU_ASSERT_EQUAL(rc, HS_OK);
        hs_intervals s;
        hs_intervals_init(&s);
        CU_ASSERT_EQUAL(hs_proto_reopened_doc_decode((const char *)json.data, json.len, &s), HS_OK);
        ivs_text(s.v, s.n, out, len);
        hs_intervals_free(&s);
    }
    hs_buf_free(&json);
}

/* The history records of one job. */
typedef struct hist {
    const char *job;
    int found;
    hs_proto_trigger trigger;
    bool recompute;
    uint64_t count;
} hist;

static int hist_find(void *ud, const char *key, const char *json)
{
    hist *h = ud;
    size_t kl = strlen(key), jl = strlen(h->job);
    if (kl <= jl || key[kl - jl - 1] != '/' || strcmp(key + kl - jl, h->job) != 0)
        return 0;
    hs_proto_history_msg m;
    int rc = hs_proto_history_decode(&m, json, strlen(json));
    CU_ASSERT_EQUAL(rc, HS_OK);
    if (rc == HS_OK) {
        h->found++;
        h->trigger = m.h.trigger;
        h->recompute = m.h.recompute;
        h->count = m.h.count;
    }
    hs_proto_history_msg_free(&m);
    return 0;
}

static hist fx_history(fx *f, const char *job)
{
    hist h = {.job = job};
    CU_ASSERT_EQUAL(hs_store_doc_list(f->rs, "history", "wf1/", false, 0, hist_find, &h), HS_OK);
    return h;
}

/* The commit notice of job among the last outputs: 1 and *recompute when found. */
static int fx_committed(fx *f, const char *job, bool *recompute, uint64_t *count)
{
    int found = 0;
    for (size_t i = 0; i < f->nnotices; i++) {
        if (strcmp(f->notice_topic[i], "committed/wf1") != 0)
            continue;
        hs_proto_committed_msg cm;
        CU_ASSERT_EQUAL_FATAL(hs_proto_committed_decode(&cm, f->notice[i].data, f->notice[i].len),
                              HS_OK);
        if (strcmp(cm.c.job, job) == 0) {
            found++;
            *recompute = cm.c.recompute;
            *count = cm.c.count;
            CU_ASSERT_EQUAL(cm.c.outcome, HS_OUTCOME_OK);
        }
        hs_proto_committed_msg_free(&cm);
    }
    return found;
}

/* Data messages of the last commit on topic. */
static size_t fx_ndata(const fx *f, const char *topic)
{
    size_t n = 0;
    for (size_t i = 0; i < f->ndata; i++)
        n += strcmp(f->data_topic[i], topic) == 0;
    return n;
}

/* Decodes the first correction on topic c/<sid>: its interval and data (into b). */
static bool fx_correction(fx *f, const char *sid, hs_interval *iv, hs_batch *b)
{
    char topic[300];
    snprintf(topic, sizeof topic, "c/%s", sid);
    for (size_t i = 0; i < f->ndata; i++) {
        if (strcmp(f->data_topic[i], topic) != 0)
            continue;
        hs_proto_correction c;
        if (hs_proto_correction_decode(&c, f->data_raw[i].data, f->data_raw[i].len) != HS_OK)
            return false;
        *iv = c.interval;
        return hs_codec_decode_mpack(c.data, c.data_len, false, b) == HS_OK;
    }
    return false;
}

/* The number in value i of b, or -1. */
static double batch_num(const hs_batch *b, size_t i)
{
    hs_mp_reader r;
    double d = -1;
    hs_mp_reader_init(&r, hs_batch_value(b, i), b->items[i].len);
    CU_ASSERT_EQUAL(hs_mp_get_number(&r, &d), HS_OK);
    return d;
}

/* Readings of raw stream r every 10 s over (0, 10 min], value 10. */
static void send_raw_10min(fx *f, uint64_t seq, const char *r)
{
    int64_t t[60];
    double v[60];
    for (int i = 0; i < 60; i++) {
        t[i] = (i + 1) * 10 * SEC;
        v[i] = 10;
    }
    send_append(f, seq, r, t, v, 60);
}

/* A job of sink over iv with one output per whole minute in it, all of value val. */
static void send_job_minutes(fx *f, uint64_t seq, const char *job, const char *sink, hs_interval iv,
                             double val, hs_proto_wseq wseq)
{
    int64_t t[64];
    double v[64];
    size_t n = 0;
    for (int64_t m = iv.start / MIN; m * MIN <= iv.end && n < 64; m++) {
        if (m * MIN <= iv.start)
            continue;
        t[n] = m * MIN;
        v[n++] = val;
    }
    jobspec js = {.job = job,
                  .sink = sink,
                  .binding = BK,
                  .interval = iv,
                  .parts = 1,
                  .t = t,
                  .v = v,
                  .n = n,
                  .wseq = wseq};
    send_job(f, seq, &js);
}

static uint64_t late_reopened(const fx *f)
{
    uint64_t reopened = 0, ignored = 0;
    wcore_late_counts(f->c, &reopened, &ignored);
    return reopened;
}

static uint64_t late_ignored(const fx *f)
{
    uint64_t reopened = 0, ignored = 0;
    wcore_late_counts(f->c, &reopened, &ignored);
    return ignored;
}

static const char *const LR = "lt/dev=a", *const LK = "lt_mean/dev=a";
static const int64_t LATE = 2 * MIN + 35 * SEC;

/*
 * Raw stream LR, its mean LK (lookback 60 s) computed over (0, 10 min]
 * with a value 10 per minute, an on-time reading at 11 min, then a late one
 * at 2:35: checks what each step did.
 */
static void late_setup(fx *f)
{
    const char *src[1] = {LR};
    send_define_deps(f, 1, LK, src, 1, MIN, 0);
    send_raw_10min(f, 1, LR);
    fx_commit(f);
    const hs_proto_ack_item *it = fx_ack(f, "sched", 1);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    send_job_minutes(f, 1, "j0000000000000l01", LK, (hs_interval){0, 10 * MIN}, 10, fx_wseq(f));
    fx_commit(f);
    char text[512];
    fx_intervals(f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");
    CU_ASSERT_EQUAL(fx_count(f, LK), 10);
    size_t published = 0;
    for (size_t i = 0; i < f->ndata; i++)
        if (strcmp(f->data_topic[i], "s/lt_mean/dev=a") == 0)
            published += f->data_n[i];
    CU_ASSERT_EQUAL(published, 10);
    fx_reopened(f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    bool recompute = true;
    uint64_t count = 0;
    CU_ASSERT_EQUAL(fx_committed(f, "j0000000000000l01", &recompute, &count), 1);
    CU_ASSERT_FALSE(recompute);
    CU_ASSERT_EQUAL(count, 10);

    /* On time: after everything calculated, it reopens nothing. */
    int64_t t11 = 11 * MIN;
    double v = 10;
    send_append(f, 2, LR, &t11, &v, 1);
    fx_commit(f);
    fx_reopened(f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    fx_intervals(f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");
    fx_reopened_doc(f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "none");
    CU_ASSERT_EQUAL(late_reopened(f), 0);
    hist h = fx_history(f, "j0000000000000l01");
    CU_ASSERT_EQUAL(h.found, 1);
    CU_ASSERT_FALSE(h.recompute);
    CU_ASSERT_EQUAL(h.trigger, HS_TRIGGER_REQUEST);

    /* Late: (2:35 − 1 µs, 3:35] of LK read it. */
    double lv = 1000;
    int64_t late = LATE;
    send_append(f, 3, LR, &late, &lv, 1);
    fx_commit(f);
    CU_ASSERT_EQUAL(fx_ack(f, "ingest", 3)->inserted, 1);
    char want[512];
    snprintf(want, sizeof want, "(0,%lld] (%lld,%lld]", (long long)(LATE - 1),
             (long long)(LATE + MIN), (long long)(10 * MIN));
    fx_intervals(f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    snprintf(want, sizeof want, "(%lld,%lld]", (long long)(LATE - 1), (long long)(LATE + MIN));
    fx_reopened_doc(f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    char wantn[600];
    snprintf(wantn, sizeof wantn, "%s late %s", LK, want);
    fx_reopened(f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, wantn);
    CU_ASSERT_EQUAL(late_reopened(f), 1);
    CU_ASSERT_EQUAL(late_ignored(f), 0);
    /* Nothing of LK changes until it is computed again. */
    CU_ASSERT_EQUAL(fx_count(f, LK), 10);
    CU_ASSERT_EQUAL(fx_ndata(f, "s/lt_mean/dev=a") + fx_ndata(f, "c/lt_mean/dev=a"), 0);
}

static void test_late_reopens(void)
{
    fx f;
    fx_open(&f);
    late_setup(&f);
    /* The same late reading again is a duplicate: nothing more is reopened. */
    double lv = 1000;
    int64_t late = LATE;
    send_append(&f, 4, LR, &late, &lv, 1);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "ingest", 4)->duplicates, 1);
    char text[512];
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    CU_ASSERT_EQUAL(late_reopened(&f), 1);
    fx_close(&f);
}

/*
 * A sink defined to read a source it did not read (a new plate value under
 * an aggregate) is reopened over all it computed; fewer sources, or the
 * same ones again, reopen nothing.
 */
static void test_new_sources_reopen(void)
{
    fx f;
    fx_open(&f);
    late_setup(&f);
    char text[512];
    /* The same sources again: nothing. */
    const char *same[1] = {LR};
    send_define_deps(&f, 5, LK, same, 1, MIN, 0);
    fx_commit(&f);
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    /* One more source: all it computed is reopened. */
    hs_proto_wseq before = fx_wseq(&f);
    const char *more[2] = {LR, "s/lt/dev=b"};
    send_define_deps(&f, 6, LK, more, 2, MIN, 0);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "sched", 6)->status, HS_ACK_OK);
    fx_intervals(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    fx_reopened_doc(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "new sources (plate values)"));
    /* A job that read the old sources (dispatched before the new definition) commits: its
     * interval is reopened again, not calculated without the new source's data. */
    send_job_minutes(&f, 7, "j0000000000000l06", LK, (hs_interval){0, 10 * MIN}, 10, before);
    fx_commit(&f);
    fx_intervals(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    /* Computed again, then one source fewer: what it computed stays. */
    send_job_minutes(&f, 7, "j0000000000000l07", LK, (hs_interval){0, 10 * MIN}, 10, fx_wseq(&f));
    fx_commit(&f);
    fx_intervals(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");
    send_define_deps(&f, 8, LK, same, 1, MIN, 0);
    fx_commit(&f);
    fx_intervals(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");
    fx_close(&f);
}

/* docs: several documents stored and deleted in one request, all or none. */
static void test_docs_op(void)
{
    fx f;
    fx_open(&f);
    hs_buf fields, json;
    hs_buf_init(&fields, 0);
    hs_buf_init(&json, 0);
    hs_proto_doc put[] = {{"meta", "site=a", "{\"tag\":\"site\",\"value\":\"a\"}"},
                          {"meta", "site=b", "{\"tag\":\"site\",\"value\":\"b\"}"}};
    hs_proto_docs d = {put, 2};
    uint32_t nf = 0;
    CU_ASSERT_EQUAL(hs_proto_docs_encode_fields(&fields, &d, &nf), HS_OK);
    send_req(&f, "sched", 1, HS_OP_DOCS, &fields, nf);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "sched", 1)->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(hs_store_doc_get(f.rs, "meta", "site=b", &json), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&json), "{\"tag\":\"site\",\"value\":\"b\"}");
    /* A delete and a document that is not JSON: refused whole, nothing changes. */
    hs_proto_doc bad[] = {{"meta", "site=a", NULL}, {"meta", "site=c", "{not json"}};
    hs_proto_docs db = {bad, 2};
    hs_buf_reset(&fields);
    CU_ASSERT_EQUAL(hs_proto_docs_encode_fields(&fields, &db, &nf), HS_OK);
    send_req(&f, "sched", 2, HS_OP_DOCS, &fields, nf);
    fx_commit(&f);
    const hs_proto_ack_item *a = fx_ack(&f, "sched", 2);
    HS_REQUIRE(a);
    CU_ASSERT_EQUAL(a->status, HS_ACK_REJECTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(a->reason, "meta/site=c (item 1) is not JSON"));
    CU_ASSERT_EQUAL(hs_store_doc_get(f.rs, "meta", "site=a", &json), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_get(f.rs, "meta", "site=c", &json), HS_ERR_NOTFOUND);
    /* Deletes, one of a document that is not there. */
    hs_proto_doc del[] = {{"meta", "site=a", NULL}, {"meta", "site=z", NULL}};
    hs_proto_docs dd = {del, 2};
    hs_buf_reset(&fields);
    CU_ASSERT_EQUAL(hs_proto_docs_encode_fields(&fields, &dd, &nf), HS_OK);
    send_req(&f, "sched", 3, HS_OP_DOCS, &fields, nf);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "sched", 3)->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(hs_store_doc_get(f.rs, "meta", "site=a", &json), HS_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hs_store_doc_get(f.rs, "meta", "site=b", &json), HS_OK);
    hs_buf_free(&fields);
    hs_buf_free(&json);
    fx_close(&f);
}

static void test_late_recompute(void)
{
    fx f;
    fx_open(&f);
    late_setup(&f);
    /* The reopened interval computed again with other instances: they replace the old ones. */
    hs_interval ro = {LATE - 1, LATE + MIN};
    int64_t nt[2] = {2 * MIN + 40 * SEC, 3 * MIN + 20 * SEC};
    double nv[2] = {1060.0 / 7, 11};
    jobspec js = {.job = "j0000000000000l02",
                  .sink = LK,
                  .binding = BK,
                  .interval = ro,
                  .parts = 1,
                  .t = nt,
                  .v = nv,
                  .n = 2,
                  .trigger = HS_TRIGGER_LATE,
                  .wseq = fx_wseq(&f)};
    send_job(&f, 2, &js);
    fx_commit(&f);
    const hs_proto_ack_item *it = fx_ack(&f, "tool-1", 2);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(it->inserted, 2);
    CU_ASSERT_EQUAL(fx_value(&f, LK, 3 * MIN), -1);
    CU_ASSERT_EQUAL(fx_value(&f, LK, nt[0]), 1060.0 / 7);
    CU_ASSERT_EQUAL(fx_value(&f, LK, nt[1]), 11);
    CU_ASSERT_EQUAL(fx_value(&f, LK, 2 * MIN), 10);
    CU_ASSERT_EQUAL(fx_value(&f, LK, 4 * MIN), 10);
    CU_ASSERT_EQUAL(fx_count(&f, LK), 11);
    char text[512];
    fx_intervals(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");
    fx_reopened_doc(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "none");
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    /* Published as a correction of exactly the interval, not as new instances. */
    CU_ASSERT_EQUAL(fx_ndata(&f, "s/lt_mean/dev=a"), 0);
    CU_ASSERT_EQUAL(fx_ndata(&f, "c/lt_mean/dev=a"), 1);
    hs_interval civ = {0, 0};
    hs_batch b;
    hs_batch_init(&b);
    CU_ASSERT_TRUE(fx_correction(&f, LK, &civ, &b));
    CU_ASSERT_EQUAL(civ.start, ro.start);
    CU_ASSERT_EQUAL(civ.end, ro.end);
    CU_ASSERT_EQUAL_FATAL(b.n, 2);
    CU_ASSERT_EQUAL(b.items[0].t_us, nt[0]);
    CU_ASSERT_EQUAL(batch_num(&b, 0), 1060.0 / 7);
    CU_ASSERT_EQUAL(b.items[1].t_us, nt[1]);
    CU_ASSERT_EQUAL(batch_num(&b, 1), 11);
    bool recompute = false;
    uint64_t count = 0;
    CU_ASSERT_EQUAL(fx_committed(&f, "j0000000000000l02", &recompute, &count), 1);
    CU_ASSERT_TRUE(recompute);
    CU_ASSERT_EQUAL(count, 2);
    hist h = fx_history(&f, "j0000000000000l02");
    CU_ASSERT_EQUAL(h.found, 1);
    CU_ASSERT_TRUE(h.recompute);
    CU_ASSERT_EQUAL(h.trigger, HS_TRIGGER_LATE);

    /* A window that became empty disappears: the 8 min instance goes, the correction is empty. */
    int64_t late2 = 7 * MIN + 15 * SEC;
    double lv = 0;
    send_append(&f, 10, LR, &late2, &lv, 1);
    fx_commit(&f);
    char want[512];
    snprintf(want, sizeof want, "%s late (%lld,%lld]", LK, (long long)(late2 - 1),
             (long long)(late2 + MIN));
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    hs_interval ro2 = {late2 - 1, late2 + MIN};
    jobspec je = {.job = "j0000000000000l03",
                  .sink = LK,
                  .binding = BK,
                  .interval = ro2,
                  .parts = 1,
                  .trigger = HS_TRIGGER_LATE,
                  .wseq = fx_wseq(&f)};
    send_job(&f, 3, &je);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "tool-1", 3)->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(fx_value(&f, LK, 8 * MIN), -1);
    CU_ASSERT_EQUAL(fx_value(&f, LK, 7 * MIN), 10);
    CU_ASSERT_EQUAL(fx_count(&f, LK), 10);
    CU_ASSERT_EQUAL(fx_ndata(&f, "c/lt_mean/dev=a"), 1);
    civ = (hs_interval){0, 0};
    CU_ASSERT_TRUE(fx_correction(&f, LK, &civ, &b));
    CU_ASSERT_EQUAL(civ.start, ro2.start);
    CU_ASSERT_EQUAL(civ.end, ro2.end);
    CU_ASSERT_EQUAL(b.n, 0);
    CU_ASSERT_EQUAL(fx_committed(&f, "j0000000000000l03", &recompute, &count), 1);
    CU_ASSERT_TRUE(recompute);
    CU_ASSERT_EQUAL(count, 0);
    fx_intervals(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");
    fx_reopened_doc(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "none");
    hs_batch_free(&b);
    fx_close(&f);
}

static void test_job_again(void)
{
    fx f;
    fx_open(&f);
    const char *src[1] = {LR};
    send_define_deps(&f, 1, LK, src, 1, MIN, 0);
    send_raw_10min(&f, 1, LR);
    fx_commit(&f);
    send_job_minutes(&f, 1, "j0000000000000a01", LK, (hs_interval){0, 10 * MIN}, 10, fx_wseq(&f));
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ndata(&f, "s/lt_mean/dev=a"), 1);
    /* The same job again (a redelivery, another runtime): nothing to publish. */
    send_job_minutes(&f, 2, "j0000000000000a02", LK, (hs_interval){0, 10 * MIN}, 10, fx_wseq(&f));
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "tool-1", 2)->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(fx_ndata(&f, "s/lt_mean/dev=a"), 0);
    CU_ASSERT_EQUAL(fx_ndata(&f, "c/lt_mean/dev=a"), 0);
    CU_ASSERT_EQUAL(fx_count(&f, LK), 10);
    for (int m = 1; m <= 10; m++)
        CU_ASSERT_EQUAL(fx_value(&f, LK, m * MIN), 10);
    char text[256];
    fx_intervals(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    bool recompute = true;
    uint64_t count = 0;
    CU_ASSERT_EQUAL(fx_committed(&f, "j0000000000000a02", &recompute, &count), 1);
    CU_ASSERT_FALSE(recompute);
    CU_ASSERT_EQUAL(count, 10);
    hist h = fx_history(&f, "j0000000000000a02");
    CU_ASSERT_EQUAL(h.found, 1);
    CU_ASSERT_FALSE(h.recompute);
    fx_close(&f);
}

static void test_late_transitive(void)
{
    fx f;
    fx_open(&f);
    const char *k2 = "lt_k2/dev=a", *k3 = "lt_k3/dev=a", *k4 = "lt_k4/dev=a";
    const char *s1[1] = {LR}, *s2[1] = {LK}, *s3[1] = {k2};
    send_define_deps(&f, 1, LK, s1, 1, MIN, 0);
    send_define_deps(&f, 2, k2, s2, 1, 0, 0);
    send_define_deps(&f, 3, k3, s3, 1, 0, 0);
    send_define_deps(&f, 4, k4, s2, 1, 30 * SEC, 0);
    send_raw_10min(&f, 1, LR);
    fx_commit(&f);
    const char *sinks[4] = {LK, k2, k3, k4};
    for (int i = 0; i < 4; i++) {
        char job[20];
        snprintf(job, sizeof job, "j0000000000000t0%d", i);
        send_job_minutes(&f, (uint64_t)i + 1, job, sinks[i], (hs_interval){0, 10 * MIN}, 10,
                         fx_wseq(&f));
        fx_commit(&f);
        char text[256];
        fx_reopened(&f, text, sizeof text);
        CU_ASSERT_STRING_EQUAL(text, "");
    }
    double lv = 1000;
    int64_t late = LATE;
    send_append(&f, 2, LR, &late, &lv, 1);
    fx_commit(&f);
    /* LK, what reads it (k2 with lookback 0, k4 with 30 s) and what reads k2. */
    char text[1024], want[256];
    fx_reopened(&f, text, sizeof text);
    size_t nre = 0;
    for (size_t i = 0; i < f.nnotices; i++)
        nre += strcmp(f.notice_topic[i], "reopened") == 0;
    CU_ASSERT_EQUAL(nre, 4);
    for (int i = 0; i < 4; i++) {
        int64_t end = (i == 3 ? LATE + MIN + 30 * SEC : LATE + MIN);
        snprintf(want, sizeof want, "%s late (%lld,%lld]", sinks[i], (long long)(LATE - 1),
                 (long long)end);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
        snprintf(want, sizeof want, "(0,%lld] (%lld,%lld]", (long long)(LATE - 1), (long long)end,
                 (long long)(10 * MIN));
        char iv[256];
        fx_intervals(&f, sinks[i], iv, sizeof iv);
        CU_ASSERT_STRING_EQUAL(iv, want);
        snprintf(want, sizeof want, "(%lld,%lld]", (long long)(LATE - 1), (long long)end);
        fx_reopened_doc(&f, sinks[i], iv, sizeof iv);
        CU_ASSERT_STRING_EQUAL(iv, want);
    }
    CU_ASSERT_EQUAL(late_reopened(&f), 4);
    fx_close(&f);
}

/* A job whose outputs are malformed is rejected and leaves its sink as it was. */
static void test_malformed_job_keeps_data(void)
{
    fx f;
    fx_open(&f);
    late_setup(&f);
    /* An array, but not of [t, v] pairs. */
    static const uint8_t bad[2] = {0x91, 0x01};
    jobspec js = {.job = "j0000000000000x01",
                  .sink = LK,
                  .binding = BK,
                  .interval = {0, 10 * MIN},
                  .parts = 1,
                  .raw_batch = bad,
                  .raw_batch_len = sizeof bad,
                  .wseq = fx_wseq(&f)};
    send_job(&f, 1, &js);
    fx_commit(&f);
    const hs_proto_ack_item *it = fx_ack(&f, "tool-1", 1);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_REJECTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(it->reason, "malformed outputs"));
    CU_ASSERT_EQUAL(fx_count(&f, LK), 10);
    for (int m = 1; m <= 10; m++)
        CU_ASSERT_EQUAL(fx_value(&f, LK, m * MIN), 10);
    CU_ASSERT_EQUAL(f.ndata, 0);
    char text[256], want[256];
    snprintf(want, sizeof want, "(0,%lld] (%lld,%lld]", (long long)(LATE - 1),
             (long long)(LATE + MIN), (long long)(10 * MIN));
    fx_intervals(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    snprintf(want, sizeof want, "(%lld,%lld]", (long long)(LATE - 1), (long long)(LATE + MIN));
    fx_reopened_doc(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    /* Over a calculated interval only: the same. */
    js.job = "j0000000000000x02";
    js.interval = (hs_interval){5 * MIN, 10 * MIN};
    send_job(&f, 2, &js);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "tool-1", 2)->status, HS_ACK_REJECTED);
    CU_ASSERT_EQUAL(fx_count(&f, LK), 10);
    CU_ASSERT_EQUAL(f.ndata, 0);
    fx_close(&f);
}

/*
 * A correction of more instances than one message holds is split: each
 * message covers its own part of the interval, together exactly the
 * interval, each part exactly its instances.
 */
static void test_correction_split(void)
{
    fx f;
    fx_open(&f);
    wcore_destroy(f.c);
    f.cfg.publish_max_instances = 2;
    CU_ASSERT_EQUAL_FATAL(wcore_create(&f.c, f.ws, &f.cfg, f.log, &f.counters), HS_OK);
    late_setup(&f);
    hs_interval ro = {LATE - 1, LATE + MIN};
    int64_t nt[5];
    double nv[5];
    for (int i = 0; i < 5; i++) {
        nt[i] = LATE + (i + 1) * 10 * SEC;
        nv[i] = 100 + i;
    }
    jobspec js = {.job = "j0000000000000s01",
                  .sink = LK,
                  .binding = BK,
                  .interval = ro,
                  .parts = 1,
                  .t = nt,
                  .v = nv,
                  .n = 5,
                  .wseq = fx_wseq(&f)};
    send_job(&f, 1, &js);
    fx_commit(&f);
    CU_ASSERT_EQUAL_FATAL(fx_ndata(&f, "c/lt_mean/dev=a"), 3);
    /* Parts (s, t1], (t1, t3], (t3, e]: each from the end of the one before. */
    int64_t want_end[3] = {nt[1], nt[3], ro.end};
    size_t want_n[3] = {2, 2, 1};
    int64_t from = ro.start;
    size_t seen = 0, part = 0;
    hs_batch b;
    hs_batch_init(&b);
    for (size_t i = 0; i < f.ndata && part < 3; i++) {
        if (strcmp(f.data_topic[i], "c/lt_mean/dev=a") != 0)
            continue;
        hs_proto_correction c;
        CU_ASSERT_EQUAL_FATAL(hs_proto_correction_decode(&c, f.data_raw[i].data, f.data_raw[i].len),
                              HS_OK);
        CU_ASSERT_EQUAL(c.interval.start, from);
        CU_ASSERT_EQUAL(c.interval.end, want_end[part]);
        CU_ASSERT_EQUAL_FATAL(hs_codec_decode_mpack(c.data, c.data_len, false, &b), HS_OK);
        CU_ASSERT_EQUAL_FATAL(b.n, want_n[part]);
        for (size_t k = 0; k < b.n; k++) {
            CU_ASSERT_EQUAL(b.items[k].t_us, nt[seen]);
            CU_ASSERT_EQUAL(batch_num(&b, k), nv[seen]);
            CU_ASSERT_TRUE(b.items[k].t_us > c.interval.start && b.items[k].t_us <= c.interval.end);
            seen++;
        }
        from = c.interval.end;
        part++;
    }
    CU_ASSERT_EQUAL(seen, 5);
    CU_ASSERT_EQUAL(part, 3);
    hs_batch_free(&b);
    fx_close(&f);
}

/* Defines sinks[0..n) reading LR with lookback 60 s and writes LR's readings. */
static void race_setup(fx *f, const char *const *sinks, size_t n)
{
    const char *src[1] = {LR};
    for (size_t i = 0; i < n; i++)
        send_define_deps(f, i + 1, sinks[i], src, 1, MIN, 0);
    send_raw_10min(f, 1, LR);
    fx_commit(f);
}

static void test_late_race(void)
{
    fx f;
    fx_open(&f);
    const char *ka = "rc_a/dev=a", *kb = "rc_b/dev=a", *kc = "rc_c/dev=a", *kd = "rc_d/dev=a";
    const char *sinks[4] = {ka, kb, kc, kd};
    race_setup(&f, sinks, 4);
    hs_proto_wseq w0 = fx_wseq(&f);
    CU_ASSERT_TRUE(w0.epoch > 0);
    /* Late data while the jobs run: nothing of their sinks is calculated yet. */
    double lv = 1000;
    int64_t late = LATE;
    send_append(&f, 2, LR, &late, &lv, 1);
    fx_commit(&f);
    char text[512], want[512];
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    hs_proto_wseq w1 = fx_wseq(&f);
    CU_ASSERT_EQUAL(w1.epoch, w0.epoch);
    CU_ASSERT_EQUAL(w1.seq, w0.seq + 1);
    hs_interval all = {0, 10 * MIN};

    /* Dispatched before the late reading: reopened over what it touches at once. */
    send_job_minutes(&f, 1, "j0000000000000r01", ka, all, 10, w0);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "tool-1", 1)->status, HS_ACK_OK);
    snprintf(want, sizeof want, "%s race (%lld,%lld]", ka, (long long)(LATE - 1),
             (long long)(LATE + MIN));
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    snprintf(want, sizeof want, "(0,%lld] (%lld,600000000]", (long long)(LATE - 1),
             (long long)(LATE + MIN));
    fx_intervals(&f, ka, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    snprintf(want, sizeof want, "(%lld,%lld]", (long long)(LATE - 1), (long long)(LATE + MIN));
    fx_reopened_doc(&f, ka, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    CU_ASSERT_EQUAL(fx_count(&f, ka), 10);

    /* Dispatched after it: nothing to reopen. */
    send_job_minutes(&f, 2, "j0000000000000r02", kb, all, 10, w1);
    fx_commit(&f);
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    fx_intervals(&f, kb, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");

    /* From another incarnation of the writer, or unknown: reopened whole. */
    hs_proto_wseq other = {w1.epoch + 1, w1.seq};
    send_job_minutes(&f, 3, "j0000000000000r03", kc, all, 10, other);
    fx_commit(&f);
    snprintf(want, sizeof want, "%s race (0,600000000]", kc);
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    fx_intervals(&f, kc, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    send_job_minutes(&f, 4, "j0000000000000r04", kd, all, 10, (hs_proto_wseq){0, 0});
    fx_commit(&f);
    snprintf(want, sizeof want, "%s race (0,600000000]", kd);
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    fx_intervals(&f, kd, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    fx_reopened_doc(&f, kd, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");
    /* The jobs' results are stored all the same. */
    CU_ASSERT_EQUAL(fx_count(&f, kd), 10);
    fx_close(&f);
}

/*
 * A job that missed a change is reopened over the part of its own interval
 * the change touches: intervals of the sink computed by jobs that saw the
 * change stay calculated.
 */
static void test_late_race_own_interval(void)
{
    fx f;
    fx_open(&f);
    const char *ke = "rc_e/dev=a";
    race_setup(&f, &ke, 1);
    hs_proto_wseq w0 = fx_wseq(&f);
    /* One change [2:55, 7:55] (a batch of two late readings). */
    int64_t t[2] = {2 * MIN + 55 * SEC, 7 * MIN + 55 * SEC};
    double v[2] = {1, 2};
    send_append(&f, 2, LR, t, v, 2);
    fx_commit(&f);
    hs_proto_wseq w1 = fx_wseq(&f);
    /* (6 min, 10 min] dispatched after the change, (0, 5 min] before it. */
    send_job_minutes(&f, 1, "j0000000000000e01", ke, (hs_interval){6 * MIN, 10 * MIN}, 10, w1);
    fx_commit(&f);
    char text[512], want[512];
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    send_job_minutes(&f, 2, "j0000000000000e02", ke, (hs_interval){0, 5 * MIN}, 10, w0);
    fx_commit(&f);
    /*
     * The ring keeps the change's span: (2:55 − 1 µs, 7:55 + 60 s] within this job's
     * interval, (2:55 − 1 µs, 5 min]. (6 min, 10 min] saw the change and stays.
     */
    snprintf(want, sizeof want, "%s race (%lld,%lld]", ke, (long long)(t[0] - 1),
             (long long)(5 * MIN));
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    snprintf(want, sizeof want, "(0,%lld] (%lld,%lld]", (long long)(t[0] - 1), (long long)(6 * MIN),
             (long long)(10 * MIN));
    fx_intervals(&f, ke, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    fx_close(&f);
}

/*
 * Sends a job over interval iv of two sinks (a unit of two plate values), one
 * instance 10 at every minute of iv for each, whose reads saw commit wseq.
 */
static void send_job_two(fx *f, uint64_t seq, const char *job, const char *const sinks[2],
                         hs_interval iv, hs_proto_wseq wseq)
{
    int64_t t[64];
    double v[64];
    size_t n = 0;
    for (int64_t m = iv.start / MIN + 1; m * MIN <= iv.end && n < 64; m++) {
        t[n] = m * MIN;
        v[n++] = 10;
    }
    hs_buf data, fields;
    hs_buf_init(&data, 0);
    hs_buf_init(&fields, 0);
    enc_batch(&data, t, v, n);
    char hash[17];
    hs_binding_hash(BK, hash);
    hs_proto_output out[2] = {{.sid = sinks[0], .batch = data.data, .batch_len = data.len},
                              {.sid = sinks[1], .batch = data.data, .batch_len = data.len}};
    hs_proto_jobout o = {
        .hdr = {.job = job,
                .workflow = "wf1",
                .factor = 2,
                .pv = "dev=a",
                .tool = "clock",
                .version = "1.0",
                .binding = hash,
                .interval = iv,
                .sinks = sinks,
                .nsinks = 2,
                .wseq = wseq},
        .parts = 1,
        .started_us = 1,
        .duration_us = 5,
        .runtime = "tool-1",
        .outputs = out,
        .noutputs = 2,
    };
    uint32_t nf = 0;
    CU_ASSERT_EQUAL(hs_proto_jobout_encode_fields(&fields, &o, &nf), HS_OK);
    send_req(f, "tool-1", seq, HS_OP_JOB, &fields, nf);
    hs_buf_free(&data);
    hs_buf_free(&fields);
}

/*
 * A job over several plate values has sinks that read different sources: a
 * change it missed to one plate value's source reopens that plate value's
 * sink, and only it (not what the first sink reads decides for all).
 */
static void test_late_race_units(void)
{
    fx f;
    fx_open(&f);
    const char *ra = "ru/dev=a", *rb = "ru/dev=b";
    const char *sinks[2] = {"ru_mean/dev=a", "ru_mean/dev=b"};
    send_define_deps(&f, 1, sinks[0], &ra, 1, MIN, 0);
    send_define_deps(&f, 2, sinks[1], &rb, 1, MIN, 0);
    send_raw_10min(&f, 1, ra);
    send_raw_10min(&f, 2, rb);
    fx_commit(&f);
    hs_proto_wseq w0 = fx_wseq(&f);
    hs_interval all = {0, 10 * MIN};
    char text[512], want[512];

    /* A late reading of the second plate value's source while the job runs. */
    double lv = 1000;
    int64_t late = LATE;
    send_append(&f, 3, rb, &late, &lv, 1);
    fx_commit(&f);
    send_job_two(&f, 1, "j0000000000000u01", sinks, all, w0);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "tool-1", 1)->status, HS_ACK_OK);
    snprintf(want, sizeof want, "%s race (%lld,%lld]", sinks[1], (long long)(LATE - 1),
             (long long)(LATE + MIN));
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    fx_intervals(&f, sinks[0], text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");
    snprintf(want, sizeof want, "(0,%lld] (%lld,600000000]", (long long)(LATE - 1),
             (long long)(LATE + MIN));
    fx_intervals(&f, sinks[1], text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);

    /* A late reading of the first plate value's source: its sink alone. */
    hs_proto_wseq w1 = fx_wseq(&f);
    int64_t late2 = 7 * MIN + 35 * SEC;
    send_append(&f, 4, ra, &late2, &lv, 1);
    fx_commit(&f);
    send_job_two(&f, 2, "j0000000000000u02", sinks, (hs_interval){5 * MIN, 10 * MIN}, w1);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "tool-1", 2)->status, HS_ACK_OK);
    snprintf(want, sizeof want, "%s race (%lld,%lld]", sinks[0], (long long)(late2 - 1),
             (long long)(late2 + MIN));
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    fx_close(&f);
}

static void test_late_max_lateness(void)
{
    fx f;
    fx_open(&f);
    const char *r = "ml/dev=a", *k = "ml_mean/dev=a";
    const char *src[1] = {r};
    const int64_t hour = 60 * MIN;
    send_define_deps(&f, 1, k, src, 1, MIN, hour);
    fx_commit(&f);
    /* Calculated over the last 3 h but 10 min. */
    int64_t base = hs_time_now_us() / MIN * MIN - 3 * hour;
    hs_interval iv = {base, base + 170 * MIN};
    send_job_minutes(&f, 1, "j0000000000000m01", k, iv, 10, fx_wseq(&f));
    fx_commit(&f);
    /* Two hours old: stored, counted, announced, reopens nothing. */
    int64_t old = base + hour;
    double v = 5;
    send_append(&f, 1, r, &old, &v, 1);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "ingest", 1)->inserted, 1);
    CU_ASSERT_EQUAL(fx_count(&f, r), 1);
    char text[512], want[512];
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
    snprintf(want, sizeof want, "(%lld,%lld]", (long long)iv.start, (long long)iv.end);
    fx_intervals(&f, k, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    CU_ASSERT_EQUAL_FATAL(f.nmons, 1);
    CU_ASSERT_STRING_EQUAL(f.mon_name[0], "late_ignored");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.mon_text[0], r));
    CU_ASSERT_PTR_NOT_NULL(strstr(f.mon_text[0], k));
    CU_ASSERT_EQUAL(late_ignored(&f), 1);
    CU_ASSERT_EQUAL(late_reopened(&f), 0);
    CU_ASSERT_EQUAL(f.counters.late_ignored, 1);
    /* Twenty minutes old: within max_lateness, it reopens. */
    int64_t young = base + 160 * MIN;
    send_append(&f, 2, r, &young, &v, 1);
    fx_commit(&f);
    snprintf(want, sizeof want, "%s late (%lld,%lld]", k, (long long)(young - 1),
             (long long)(young + MIN));
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    CU_ASSERT_EQUAL(f.nmons, 0);
    CU_ASSERT_EQUAL(late_ignored(&f), 1);
    CU_ASSERT_EQUAL(late_reopened(&f), 1);
    CU_ASSERT_EQUAL(f.counters.late_ignored, 1);
    CU_ASSERT_EQUAL(f.counters.late_reopened, 1);
    fx_close(&f);
}

static void test_invalidate(void)
{
    fx f;
    fx_open(&f);
    const char *k2 = "lt_k2/dev=a";
    const char *s1[1] = {LR}, *s2[1] = {LK};
    send_define_deps(&f, 1, LK, s1, 1, MIN, 0);
    send_define_deps(&f, 2, k2, s2, 1, 0, 0);
    send_raw_10min(&f, 1, LR);
    fx_commit(&f);
    send_job_minutes(&f, 1, "j0000000000000i01", LK, (hs_interval){0, 10 * MIN}, 10, fx_wseq(&f));
    fx_commit(&f);
    send_job_minutes(&f, 2, "j0000000000000i02", k2, (hs_interval){0, 10 * MIN}, 10, fx_wseq(&f));
    fx_commit(&f);
    /* A computed stream: itself and what reads it. */
    send_invalidate(&f, 1, LK, (hs_interval){2 * MIN, 4 * MIN});
    fx_commit(&f);
    const hs_proto_ack_item *it = fx_ack(&f, "ctl", 1);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    char text[512];
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "lt_mean/dev=a invalidate (120000000,240000000]; "
                                 "lt_k2/dev=a invalidate (120000000,240000000]");
    fx_intervals(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,120000000] (240000000,600000000]");
    fx_reopened_doc(&f, k2, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(120000000,240000000]");
    /* A raw stream: what reads it, over what read the interval. */
    send_invalidate(&f, 2, LR, (hs_interval){5 * MIN, 6 * MIN});
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_ack(&f, "ctl", 2)->status, HS_ACK_OK);
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "lt_mean/dev=a invalidate (300000000,420000000]; "
                                 "lt_k2/dev=a invalidate (300000000,420000000]");
    fx_intervals(&f, k2, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,120000000] (240000000,300000000] (420000000,600000000]");
    /* An unknown stream is refused with the reason. */
    send_invalidate(&f, 3, "nope/k=x", (hs_interval){0, MIN});
    fx_commit(&f);
    it = fx_ack(&f, "ctl", 3);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_REJECTED);
    CU_ASSERT_STRING_EQUAL(it->reason, "no stream nope/k=x");
    CU_ASSERT_EQUAL(f.nnotices, 0);
    fx_close(&f);
}

static void send_purge_before(fx *f, uint64_t seq, const char *sid, int64_t before_us)
{
    hs_buf fields;
    hs_buf_init(&fields, 0);
    hs_proto_purge p = {.stream = sid, .has_before = true, .before_us = before_us};
    uint32_t nf = 0;
    CU_ASSERT_EQUAL(hs_proto_purge_encode_fields(&fields, &p, &nf), HS_OK);
    send_req(f, "ctl", seq, HS_OP_PURGE, &fields, nf);
    hs_buf_free(&fields);
}

/* Instances of sid with t <= before_us, read through the reader's handle. */
static int64_t fx_count_upto(fx *f, const char *sid, int64_t before_us)
{
    int64_t n = -1;
    hs_interval r = {hs_store_all_time().start, before_us};
    CU_ASSERT_EQUAL(hs_store_count(f->rs, sid, r, &n), HS_OK);
    return n;
}

/* The number of notices on topic among the last outputs. */
static size_t fx_nnotices(const fx *f, const char *topic)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nnotices; i++)
        n += strcmp(f->notice_topic[i], topic) == 0;
    return n;
}

/*
 * purge before T: a computed stream loses (-inf, T] of its calculated and
 * reopened intervals and its instances there; a raw stream under a
 * calculated one loses its data there and reopens nothing downstream.
 */
static void test_purge_before(void)
{
    fx f;
    fx_open(&f);
    late_setup(&f); /* LK calculated (0, 2:35 - 1us] and (3:35, 10m], reopened between */
    int64_t t_k = 3 * MIN;
    int64_t want_k = fx_count_upto(&f, LK, t_k), total_k = fx_count(&f, LK);
    CU_ASSERT_TRUE(want_k > 0);
    send_purge_before(&f, 1, LK, t_k);
    fx_commit(&f);
    const hs_proto_ack_item *it = fx_ack(&f, "ctl", 1);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(it->duplicates, (uint64_t)want_k);
    CU_ASSERT_EQUAL(fx_count_upto(&f, LK, t_k), 0);
    CU_ASSERT_EQUAL(fx_count(&f, LK), total_k - want_k);
    char text[512], want[512];
    fx_intervals(&f, LK, text, sizeof text);
    snprintf(want, sizeof want, "(%lld,%lld]", (long long)(LATE + MIN), (long long)(10 * MIN));
    CU_ASSERT_STRING_EQUAL(text, want);
    fx_reopened_doc(&f, LK, text, sizeof text);
    snprintf(want, sizeof want, "(%lld,%lld]", (long long)t_k, (long long)(LATE + MIN));
    CU_ASSERT_STRING_EQUAL(text, want);
    CU_ASSERT_EQUAL(fx_nnotices(&f, "purged"), 1);
    CU_ASSERT_EQUAL(fx_nnotices(&f, "reopened"), 0);

    /* The raw stream before 5 min: its data goes, LK stays calculated where it was. */
    int64_t t_r = 5 * MIN;
    int64_t want_r = fx_count_upto(&f, LR, t_r);
    CU_ASSERT_TRUE(want_r > 0);
    send_purge_before(&f, 2, LR, t_r);
    fx_commit(&f);
    it = fx_ack(&f, "ctl", 2);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_OK);
    CU_ASSERT_EQUAL(it->duplicates, (uint64_t)want_r);
    CU_ASSERT_EQUAL(fx_count_upto(&f, LR, t_r), 0);
    fx_intervals(&f, LR, text, sizeof text);
    snprintf(want, sizeof want, "(%lld,%lld]", (long long)t_r, (long long)(11 * MIN));
    CU_ASSERT_STRING_EQUAL(text, want);
    fx_intervals(&f, LK, text, sizeof text);
    snprintf(want, sizeof want, "(%lld,%lld]", (long long)(LATE + MIN), (long long)(10 * MIN));
    CU_ASSERT_STRING_EQUAL(text, want);
    CU_ASSERT_EQUAL(fx_nnotices(&f, "reopened"), 0);
    CU_ASSERT_EQUAL(f.counters.purged, (uint64_t)(want_k + want_r));

    /* An unknown stream is refused; before excludes remove in the request too. */
    send_purge_before(&f, 3, "nope/k=x", t_r);
    fx_commit(&f);
    it = fx_ack(&f, "ctl", 3);
    HS_REQUIRE(it);
    CU_ASSERT_EQUAL(it->status, HS_ACK_REJECTED);
    CU_ASSERT_STRING_EQUAL(it->reason, "no stream nope/k=x");
    fx_close(&f);
}

/* Number of history records of workflow wf1. */
static int hist_count(void *ud, const char *key, const char *json)
{
    (void)key;
    (void)json;
    (*(size_t *)ud)++;
    return 0;
}

/* Up to two history keys, in the order listed. */
typedef struct hist_keys {
    char (*keys)[256];
    size_t n;
} hist_keys;

static int hist_keys_put(void *ud, const char *key, const char *json)
{
    (void)json;
    hist_keys *k = ud;
    if (k->n < 2)
        snprintf(k->keys[k->n++], 256, "%s", key);
    return 0;
}

static size_t fx_nhistory(fx *f)
{
    size_t n = 0;
    CU_ASSERT_EQUAL(hs_store_doc_list(f->rs, "history", "wf1/", false, 0, hist_count, &n), HS_OK);
    return n;
}

/*
 * A retention pass purges what its rules match, within its budget, over as
 * many passes as needed; streams no rule matches keep everything; job
 * history older than history_keep goes.
 */
static void test_retention_pass(void)
{
    fx f;
    fx_open(&f);
    late_setup(&f);
    hs_retain rules;
    hs_retain_init(&rules);
    const char *text = "nothing/+ 1d; lt/# 7m";
    CU_ASSERT_EQUAL_FATAL(hs_retain_parse(text, strlen(text), &rules), HS_OK);
    int64_t now = 12 * MIN, cut = now - 7 * MIN;
    int64_t want = fx_count_upto(&f, LR, cut), total_k = fx_count(&f, LK);
    CU_ASSERT_TRUE(want > 20);
    char calc_k[512];
    fx_intervals(&f, LK, calc_k, sizeof calc_k);
    /* Passes of at most 10 instances until there is no more. */
    uint64_t purged = 0;
    int passes = 0;
    wcore_retain_result res = {.more = true};
    while (res.more && passes < 100) {
        CU_ASSERT_EQUAL_FATAL(wcore_retain(f.c, &rules, 0, 0, now, 10, &res), HS_OK);
        fx_drain(&f);
        CU_ASSERT_TRUE(res.instances <= 10);
        CU_ASSERT_EQUAL(res.history, 0);
        if (res.instances > 0)
            CU_ASSERT_EQUAL(fx_nnotices(&f, "purged"), 1);
        purged += res.instances;
        passes++;
    }
    CU_ASSERT_EQUAL(purged, (uint64_t)want);
    CU_ASSERT_EQUAL(passes, (int)((want + 9) / 10) + (want % 10 == 0 ? 1 : 0));
    CU_ASSERT_EQUAL(fx_count_upto(&f, LR, cut), 0);
    CU_ASSERT_EQUAL(f.counters.purged, (uint64_t)want);
    char text2[512], w2[512];
    fx_intervals(&f, LR, text2, sizeof text2);
    snprintf(w2, sizeof w2, "(%lld,%lld]", (long long)cut, (long long)(11 * MIN));
    CU_ASSERT_STRING_EQUAL(text2, w2);
    /* LK matches no rule: untouched, and not reopened by the purge of its source. */
    CU_ASSERT_EQUAL(fx_count(&f, LK), total_k);
    fx_intervals(&f, LK, text2, sizeof text2);
    CU_ASSERT_STRING_EQUAL(text2, calc_k);
    /* A pass with nothing left to do changes nothing. */
    CU_ASSERT_EQUAL(wcore_retain(f.c, &rules, 0, 0, now, 10, &res), HS_OK);
    fx_drain(&f);
    CU_ASSERT_EQUAL(res.instances, 0);
    CU_ASSERT_FALSE(res.more);
    CU_ASSERT_EQUAL(f.nnotices, 0);

    /* History: records of workflows stored in docs/workflows older than history_keep go. */
    CU_ASSERT_EQUAL(hs_store_begin(f.ws), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_put(f.ws, "workflows", "wf1", "{}"), HS_OK);
    CU_ASSERT_EQUAL(hs_store_commit(f.ws), HS_OK);
    size_t nh = fx_nhistory(&f);
    CU_ASSERT_TRUE(nh > 0);
    int64_t wall = hs_time_now_us();
    CU_ASSERT_EQUAL(wcore_retain(f.c, NULL, 3600 * SEC, 0, wall, 0, &res), HS_OK);
    CU_ASSERT_EQUAL(res.history, 0);
    CU_ASSERT_EQUAL(fx_nhistory(&f), nh);
    /* history_max: the newest records of each workflow stay, the others go. */
    CU_ASSERT_EQUAL(hs_store_begin(f.ws), HS_OK);
    for (int i = 1; i <= 3; i++) {
        char key[64];
        snprintf(key, sizeof key, "wf1/%020lld/j%d", (long long)(wall - i * SEC), i);
        CU_ASSERT_EQUAL(hs_store_doc_put(f.ws, "history", key, "{}"), HS_OK);
    }
    CU_ASSERT_EQUAL(hs_store_commit(f.ws), HS_OK);
    nh += 3;
    char newest[2][256];
    hist_keys k = {newest, 0};
    CU_ASSERT_EQUAL(hs_store_doc_list(f.rs, "history", "wf1/", true, 2, hist_keys_put, &k), HS_OK);
    CU_ASSERT_EQUAL(wcore_retain(f.c, NULL, 0, 2, wall, 0, &res), HS_OK);
    CU_ASSERT_EQUAL(res.history, nh - 2);
    CU_ASSERT_EQUAL(fx_nhistory(&f), 2);
    char left[2][256];
    hist_keys kl = {left, 0};
    CU_ASSERT_EQUAL(hs_store_doc_list(f.rs, "history", "wf1/", true, 2, hist_keys_put, &kl), HS_OK);
    CU_ASSERT_EQUAL(kl.n, 2);
    CU_ASSERT_STRING_EQUAL(left[0], newest[0]);
    CU_ASSERT_STRING_EQUAL(left[1], newest[1]);
    CU_ASSERT_EQUAL(wcore_retain(f.c, NULL, 0, 2, wall, 0, &res), HS_OK);
    CU_ASSERT_EQUAL(res.history, 0);
    nh = 2;
    CU_ASSERT_EQUAL(wcore_retain(f.c, NULL, 3600 * SEC, 0, wall + 2 * 3600 * SEC, 0, &res), HS_OK);
    CU_ASSERT_EQUAL(res.history, nh);
    CU_ASSERT_EQUAL(fx_nhistory(&f), 0);
    hs_retain_free(&rules);
    fx_close(&f);
}

/* Encodes a request session as the scheduler does into json (reset first). */
static void sess_encode(hs_buf *json, const char *id, const char *workflow, bool active,
                        int64_t started_us, int64_t ended_us)
{
    hs_proto_session_doc d = {
        .session = id,
        .workflow = workflow,
        .kind = HS_SESSION_REQUEST,
        .active = active,
        .outcome = active ? HS_SESSION_NONE : HS_SESSION_OK,
        .started_us = started_us,
        .ended_us = active ? 0 : ended_us,
    };
    CU_ASSERT_EQUAL_FATAL(hs_proto_session_doc_encode(json, &d), HS_OK);
}

/* Stores json as docs/sessions/<key> through the writer's handle, in its own transaction. */
static void sess_store(fx *f, const char *key, const char *json)
{
    CU_ASSERT_EQUAL_FATAL(hs_store_begin(f->ws), HS_OK);
    CU_ASSERT_EQUAL(hs_store_doc_put(f->ws, "sessions", key, json), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_store_commit(f->ws), HS_OK);
}

/* Stores a session document, encoded as the scheduler encodes it. */
static void sess_put(fx *f, const char *id, const char *workflow, bool active, int64_t started_us,
                     int64_t ended_us)
{
    hs_buf json;
    hs_buf_init(&json, 0);
    sess_encode(&json, id, workflow, active, started_us, ended_us);
    sess_store(f, id, hs_buf_cstr(&json));
    hs_buf_free(&json);
}

static int sess_key_append(void *ud, const char *key, const char *json)
{
    (void)json;
    hs_buf *b = ud;
    return hs_buf_printf(b, "%s%s", b->len > 0 ? " " : "", key);
}

/* The keys of docs/sessions as a reader sees them, in key order, blank-separated, into out. */
static void sess_keys(fx *f, char *out, size_t size)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_store_doc_list(f->rs, "sessions", "", false, 0, sess_key_append, &b), HS_OK);
    snprintf(out, size, "%s", b.len > 0 ? hs_buf_cstr(&b) : "");
    hs_buf_free(&b);
}

/* Warnings a log sink received: how many, and the last one. */
typedef struct warn_sink {
    int n;
    char last[512];
} warn_sink;

static void warn_sink_fn(void *ud, int level, const char *line)
{
    warn_sink *w = ud;
    if (level < HS_LOG_WARN)
        return;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", line);
}

/*
 * Sessions under retention: closed sessions that ended longer ago than
 * history_keep go, and those beyond the newest history_max of their
 * workflow, the oldest first and within the pass's budget; active sessions
 * stay however old, and so does a document that does not decode (one
 * warning per pass).
 */
static void test_session_retention(void)
{
    fx f;
    fx_open(&f);
    warn_sink ws = {0};
    hs_log_set_sink(f.log, warn_sink_fn, &ws, HS_LOG_WARN);
    const int64_t DAY = 86400 * SEC, now = 1900000000 * SEC, keep = 7 * DAY;
    /* Workflow wa: two closed long ago, three closed recently, one active for a month. */
    sess_put(&f, "a-old1", "wa", false, now - 11 * DAY, now - 10 * DAY);
    sess_put(&f, "a-old2", "wa", false, now - 9 * DAY, now - 8 * DAY);
    sess_put(&f, "a-new1", "wa", false, now - 2 * DAY, now - DAY);
    sess_put(&f, "a-new2", "wa", false, now - 3 * 3600 * SEC, now - 2 * 3600 * SEC);
    sess_put(&f, "a-new3", "wa", false, now - 4 * DAY, now - 3 * DAY);
    sess_put(&f, "a-act", "wa", true, now - 30 * DAY, 0);
    /* Workflow wb (not stored in docs/workflows): one a second too old, one exactly at the
     * limit (not older than history_keep), one recent, one active. */
    sess_put(&f, "b-old", "wb", false, now - 8 * DAY, now - keep - SEC);
    sess_put(&f, "b-edge", "wb", false, now - 8 * DAY, now - keep);
    sess_put(&f, "b-new1", "wb", false, now - 2 * 3600 * SEC, now - 3600 * SEC);
    sess_put(&f, "b-act", "wb", true, now - 20 * DAY, 0);
    /* Documents that do not decode: not JSON, and an old closed one with an unknown field. */
    sess_store(&f, "bad1", "{not json");
    hs_buf json;
    hs_buf_init(&json, 0);
    sess_encode(&json, "bad2", "wa", false, now - 30 * DAY, now - 29 * DAY);
    CU_ASSERT_EQUAL_FATAL(json.data[json.len - 1], '}');
    json.len--;
    CU_ASSERT_EQUAL_FATAL(hs_buf_printf(&json, ",\"color\":\"red\"}"), HS_OK);
    hs_proto_session_doc_msg m;
    CU_ASSERT_NOT_EQUAL(hs_proto_session_doc_decode(&m, (const char *)json.data, json.len), HS_OK);
    hs_proto_session_doc_msg_free(&m);
    sess_store(&f, "bad2", hs_buf_cstr(&json));
    hs_buf_free(&json);
    char keys[1024];
    wcore_retain_result res;

    /* history_keep: the three closed ones that ended before now - keep go. */
    CU_ASSERT_EQUAL(wcore_retain(f.c, NULL, keep, 0, now, 0, &res), HS_OK);
    CU_ASSERT_EQUAL(res.sessions, 3);
    CU_ASSERT_EQUAL(res.history, 0);
    CU_ASSERT_FALSE(res.more);
    sess_keys(&f, keys, sizeof keys);
    CU_ASSERT_STRING_EQUAL(keys, "a-act a-new1 a-new2 a-new3 b-act b-edge b-new1 bad1 bad2");
    CU_ASSERT_EQUAL(ws.n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(ws.last, "2 session documents"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ws.last, "bad1"));

    /* history_max 2: wa's oldest closed one goes (its active one is not counted); wb has 2. */
    ws.n = 0;
    CU_ASSERT_EQUAL(wcore_retain(f.c, NULL, 0, 2, now, 0, &res), HS_OK);
    CU_ASSERT_EQUAL(res.sessions, 1);
    sess_keys(&f, keys, sizeof keys);
    CU_ASSERT_STRING_EQUAL(keys, "a-act a-new1 a-new2 b-act b-edge b-new1 bad1 bad2");
    CU_ASSERT_EQUAL(ws.n, 1);

    /* history_max 1 with a budget of 1 a pass: the oldest over the limit first (b-edge, ended
     * 7 days ago, then a-new1, a day ago), one per pass. */
    ws.n = 0;
    CU_ASSERT_EQUAL(wcore_retain(f.c, NULL, 0, 1, now, 1, &res), HS_OK);
    CU_ASSERT_EQUAL(res.sessions, 1);
    CU_ASSERT_TRUE(res.more);
    sess_keys(&f, keys, sizeof keys);
    CU_ASSERT_STRING_EQUAL(keys, "a-act a-new1 a-new2 b-act b-new1 bad1 bad2");
    CU_ASSERT_EQUAL(wcore_retain(f.c, NULL, 0, 1, now, 1, &res), HS_OK);
    CU_ASSERT_EQUAL(res.sessions, 1);
    CU_ASSERT_FALSE(res.more);
    sess_keys(&f, keys, sizeof keys);
    CU_ASSERT_STRING_EQUAL(keys, "a-act a-new2 b-act b-new1 bad1 bad2");
    CU_ASSERT_EQUAL(wcore_retain(f.c, NULL, 0, 1, now, 1, &res), HS_OK);
    CU_ASSERT_EQUAL(res.sessions, 0);
    sess_keys(&f, keys, sizeof keys);
    CU_ASSERT_STRING_EQUAL(keys, "a-act a-new2 b-act b-new1 bad1 bad2");
    CU_ASSERT_EQUAL(ws.n, 3);

    /* Everything closed is past history_keep a year later; the active ones and the unreadable
     * ones still stay. A pass whose allocations fail deletes nothing and counts nothing. */
    int rc = HS_ERR_NOMEM, failed = 0;
    for (long n = 0; rc != HS_OK && n < 1000; n++) {
        hs_alloc_fail_after(n);
        rc = wcore_retain(f.c, NULL, keep, 0, now + 365 * DAY, 0, &res);
        hs_alloc_fail_after(-1);
        if (rc == HS_OK)
            break;
        failed++;
        CU_ASSERT_EQUAL(res.sessions, 0);
        sess_keys(&f, keys, sizeof keys);
        CU_ASSERT_STRING_EQUAL(keys, "a-act a-new2 b-act b-new1 bad1 bad2");
    }
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    CU_ASSERT_TRUE(failed > 0);
    CU_ASSERT_EQUAL(res.sessions, 2);
    sess_keys(&f, keys, sizeof keys);
    CU_ASSERT_STRING_EQUAL(keys, "a-act b-act bad1 bad2");
    hs_log_set_sink(f.log, NULL, NULL, HS_LOG_WARN);
    fx_close(&f);
}

/* The setting retention: rules, their order, patterns and errors. */
static void test_retain_rules(void)
{
    hs_retain r;
    hs_retain_init(&r);
    const char *ok = " temperature/# 30d ;; humidity/+/room=kitchen 1h30m;raw data/a b 10s ;";
    CU_ASSERT_EQUAL_FATAL(hs_retain_parse(ok, strlen(ok), &r), HS_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 3);
    CU_ASSERT_STRING_EQUAL(r.v[0].pattern, "temperature/#");
    CU_ASSERT_EQUAL(r.v[0].keep_us, 30 * 86400 * SEC);
    CU_ASSERT_STRING_EQUAL(r.v[1].pattern, "humidity/+/room=kitchen");
    CU_ASSERT_EQUAL(r.v[1].keep_us, 90 * MIN);
    CU_ASSERT_STRING_EQUAL(r.v[2].pattern, "raw data/a b"); /* blanks inside a pattern stay */
    int64_t keep = 0;
    CU_ASSERT_TRUE(hs_retain_match(&r, "temperature", &keep)); /* "a/#" matches "a" */
    CU_ASSERT_TRUE(hs_retain_match(&r, "temperature/house=1/room=k", &keep));
    CU_ASSERT_EQUAL(keep, 30 * 86400 * SEC);
    CU_ASSERT_TRUE(hs_retain_match(&r, "humidity/house=2/room=kitchen", &keep));
    CU_ASSERT_EQUAL(keep, 90 * MIN);
    CU_ASSERT_FALSE(hs_retain_match(&r, "humidity/house=2/room=hall", &keep));
    CU_ASSERT_FALSE(hs_retain_match(&r, "humidity/house=2", &keep));
    CU_ASSERT_FALSE(hs_retain_match(&r, "temperature_mean/house=1", &keep));
    CU_ASSERT_FALSE(hs_retain_match(&r, "raw data/a", &keep));
    /* The first matching rule wins. */
    const char *two = "a/# 1d; a/b 1s";
    CU_ASSERT_EQUAL_FATAL(hs_retain_parse(two, strlen(two), &r), HS_OK);
    CU_ASSERT_TRUE(hs_retain_match(&r, "a/b", &keep));
    CU_ASSERT_EQUAL(keep, 86400 * SEC);
    /* Empty text: no rules. */
    CU_ASSERT_EQUAL(hs_retain_parse("", 0, &r), HS_OK);
    CU_ASSERT_EQUAL(r.n, 0);
    const char *bad[] = {"temperature/#", "temperature/# 0s", "temperature/# -1d",
                         "a/#/b 1d",      "a/b+ 1d",          "a//b 1d",
                         "30d",           "a/# 1d; x",        "a/# fortnight"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(hs_retain_parse(bad[i], strlen(bad[i]), &r), HS_ERR_PARSE);
        CU_ASSERT_EQUAL(r.n, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "retention rule"));
    }
    hs_retain_free(&r);
}

static void test_late_rollback(void)
{
    fx f;
    fx_open(&f);
    const char *k2 = "lr_k2/dev=a", *big = "lr_big/dev=a";
    const char *src[1] = {LR};
    send_define_deps(&f, 1, LK, src, 1, MIN, 0);
    send_raw_10min(&f, 1, LR);
    fx_commit(&f);
    send_job_minutes(&f, 1, "j0000000000000b01", LK, (hs_interval){0, 10 * MIN}, 10, fx_wseq(&f));
    fx_commit(&f);
    hs_proto_wseq w0 = fx_wseq(&f);
    /* A transaction that fails: a new sink, a late reading, and more than the disk holds. */
    enum { N = 20000 };
    int64_t *t = hs_malloc(N * sizeof *t);
    double *v = hs_malloc(N * sizeof *v);
    HS_REQUIRE(t);
    HS_REQUIRE(v);
    for (int i = 0; i < N; i++) {
        t[i] = 1000 + i;
        v[i] = i;
    }
    send_define_deps(&f, 2, k2, src, 1, 0, 0);
    double lv = 1000;
    int64_t late = LATE;
    send_append(&f, 2, LR, &late, &lv, 1);
    send_append(&f, 3, big, t, v, N);
    CU_ASSERT_EQUAL_FATAL(hs__store_sqlite_max_pages(f.ws, 1), HS_OK);
    CU_ASSERT_EQUAL(wcore_commit(f.c), HS_ERR_IO);
    fx_drain(&f);
    CU_ASSERT_EQUAL(f.nnotices, 0);
    CU_ASSERT_EQUAL(fx_wseq(&f).seq, w0.seq);
    CU_ASSERT_EQUAL(late_reopened(&f), 0);
    CU_ASSERT_EQUAL(f.counters.late_reopened, 0);
    char text[512], want[512];
    fx_intervals(&f, LK, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "(0,600000000]");
    /* Space is back: the batch commits once, as if the failure had not been. */
    CU_ASSERT_EQUAL_FATAL(hs__store_sqlite_max_pages(f.ws, 0), HS_OK);
    fx_commit(&f);
    CU_ASSERT_EQUAL(fx_wseq(&f).seq, w0.seq + 1);
    snprintf(want, sizeof want, "%s late (%lld,%lld]", LK, (long long)(LATE - 1),
             (long long)(LATE + MIN));
    fx_reopened(&f, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, want);
    CU_ASSERT_EQUAL(late_reopened(&f), 1);
    CU_ASSERT_EQUAL(f.counters.late_reopened, 1);
    /* What k2 reads is stored, so that a writer started later knows it. */
    hs_buf json;
    hs_buf_init(&json, 0);
    CU_ASSERT_EQUAL(hs_store_doc_get(f.rs, "deps", k2, &json), HS_OK);
    hs_buf_free(&json);
    wcore_destroy(f.c);
    f.c = NULL;
    CU_ASSERT_EQUAL_FATAL(wcore_create(&f.c, f.ws, &f.cfg, f.log, &f.counters), HS_OK);
    send_job_minutes(&f, 2, "j0000000000000b02", k2, (hs_interval){0, 10 * MIN}, 10, fx_wseq(&f));
    fx_commit(&f);
    int64_t late2 = 5 * MIN + 35 * SEC;
    send_append(&f, 4, LR, &late2, &lv, 1);
    fx_commit(&f);
    fx_reopened(&f, text, sizeof text);
    snprintf(want, sizeof want, "%s late (%lld,%lld]", k2, (long long)(late2 - 1),
             (long long)late2);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
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
    HS_TEST(test_append_many);
    HS_TEST(test_define_and_job);
    HS_TEST(test_multipart_jobs);
    HS_TEST(test_stale_binding);
    HS_TEST(test_purge);
    HS_TEST(test_plate_job);
    HS_TEST(test_unreadable);
    HS_TEST(test_disk_full_rollback);
    HS_TEST(test_late_reopens);
    HS_TEST(test_new_sources_reopen);
    HS_TEST(test_docs_op);
    HS_TEST(test_late_recompute);
    HS_TEST(test_job_again);
    HS_TEST(test_malformed_job_keeps_data);
    HS_TEST(test_correction_split);
    HS_TEST(test_late_transitive);
    HS_TEST(test_late_race);
    HS_TEST(test_late_race_own_interval);
    HS_TEST(test_late_race_units);
    HS_TEST(test_late_max_lateness);
    HS_TEST(test_invalidate);
    HS_TEST(test_late_rollback);
    HS_TEST(test_purge_before);
    HS_TEST(test_retention_pass);
    HS_TEST(test_session_retention);
    HS_TEST(test_retain_rules);
    return 0;
}
