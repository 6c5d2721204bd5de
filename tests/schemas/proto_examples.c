/*
 * Writes one encoded example of every internal msgpack message (hs_proto) to
 * a directory, as <schema>__<name>.msgpack, where <schema> is the file in
 * schemas/ that describes it: full and minimal jobs, a recomputation (trigger
 * and wseq), every write-request op (job output parts with outputs, an error,
 * plate values, nothing, and a recomputation's), acknowledgements, commit
 * notices of every outcome and of a recomputation, reopened notices,
 * corrections (with instances and empty), the writer's newest commit
 * (hs/wseq) and a workflow's input schemas (hs/schemas/<workflow>). Each example is
 * decoded again before it is written, so a file exists only for a message
 * the decoders accept. check_proto_roundtrip.py validates the files against
 * the schemas.
 *   proto_examples DIR
 * Exit status: 0 when every example was encoded, decoded and written.
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_proto.h"

#include <stdio.h>
#include <string.h>

static const char *out_dir;

/* Writes b to <out_dir>/<schema>__<name>.msgpack; HS_ERR_IO on failure. */
static int put(const char *schema, const char *name, const hs_buf *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s__%s.msgpack", out_dir, schema, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return hs_err_set(HS_ERR_IO, "cannot create %s", path);
    bool ok = fwrite(b->data, 1, b->len, f) == b->len;
    if (fclose(f) != 0 || !ok)
        return hs_err_set(HS_ERR_IO, "cannot write %s", path);
    return HS_OK;
}

static int write_job(const char *name, const hs_proto_job *j)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_proto_job_msg m;
    memset(&m, 0, sizeof m);
    int rc = hs_proto_job_encode(&b, j);
    if (rc == HS_OK)
        rc = hs_proto_job_decode(&m, b.data, b.len);
    if (rc == HS_OK)
        rc = put("job", name, &b);
    hs_proto_job_msg_free(&m);
    hs_buf_free(&b);
    return rc;
}

/* The envelope then fields, decoded again with the op's decoder, then written. */
static int write_wreq(const char *name, hs_proto_op op, const hs_buf *f, uint32_t n)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hs_proto_wreq_begin(&b, 1700000000000000, 42, op, n);
    if (rc == HS_OK)
        rc = hs_buf_append(&b, f->data, f->len);
    hs_proto_envelope env;
    if (rc == HS_OK)
        rc = hs_proto_wreq_envelope(b.data, b.len, &env);
    if (rc == HS_OK && op == HS_OP_JOB) {
        hs_proto_jobout_msg m;
        rc = hs_proto_jobout_decode(&m, &env);
        hs_proto_jobout_msg_free(&m);
    } else if (rc == HS_OK) {
        hs_proto_wreq_msg m;
        rc = hs_proto_wreq_decode(&m, &env);
        hs_proto_wreq_msg_free(&m);
    }
    if (rc == HS_OK)
        rc = put("write-request", name, &b);
    hs_buf_free(&b);
    return rc;
}

static int write_jobout(const char *name, const hs_proto_jobout *o)
{
    hs_buf f;
    hs_buf_init(&f, 0);
    uint32_t n = 0;
    int rc = hs_proto_jobout_encode_fields(&f, o, &n);
    if (rc == HS_OK)
        rc = write_wreq(name, HS_OP_JOB, &f, n);
    hs_buf_free(&f);
    return rc;
}

static int write_ack(const char *name, uint64_t inc, const hs_proto_ack_item *items, size_t n)
{
    hs_buf it, b;
    hs_buf_init(&it, 0);
    hs_buf_init(&b, 0);
    int rc = HS_OK;
    for (size_t i = 0; i < n && rc == HS_OK; i++)
        rc = hs_proto_ack_item_encode(&it, &items[i]);
    if (rc == HS_OK)
        rc = hs_proto_ack_encode(&b, inc, it.data, it.len, (uint32_t)n);
    hs_proto_ack_msg m;
    memset(&m, 0, sizeof m);
    if (rc == HS_OK)
        rc = hs_proto_ack_decode(&m, b.data, b.len);
    if (rc == HS_OK)
        rc = put("ack", name, &b);
    hs_proto_ack_msg_free(&m);
    hs_buf_free(&it);
    hs_buf_free(&b);
    return rc;
}

static int write_reopened(const char *name, const hs_proto_reopened *r)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_proto_reopened_msg m;
    memset(&m, 0, sizeof m);
    int rc = hs_proto_reopened_encode(&b, r);
    if (rc == HS_OK)
        rc = hs_proto_reopened_decode(&m, b.data, b.len);
    if (rc == HS_OK)
        rc = put("reopened", name, &b);
    hs_proto_reopened_msg_free(&m);
    hs_buf_free(&b);
    return rc;
}

static int write_correction(const char *name, const hs_proto_correction *c)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_proto_correction back;
    int rc = hs_proto_correction_encode(&b, c);
    if (rc == HS_OK)
        rc = hs_proto_correction_decode(&back, b.data, b.len);
    if (rc == HS_OK)
        rc = put("correction", name, &b);
    hs_buf_free(&b);
    return rc;
}

static int write_wseq(const char *name, hs_proto_wseq w)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_proto_wseq back;
    int rc = hs_proto_wseq_encode(&b, w);
    if (rc == HS_OK)
        rc = hs_proto_wseq_decode(b.data, b.len, &back);
    if (rc == HS_OK)
        rc = put("wseq", name, &b);
    hs_buf_free(&b);
    return rc;
}

/* A workflow's input schemas, built from its list as the scheduler does, decoded again. */
static int write_schemas(const char *name, const char *list_json)
{
    hs_buf list, b;
    hs_buf_init(&list, 0);
    hs_buf_init(&b, 0);
    hs_proto_schemas_msg m, back;
    memset(&back, 0, sizeof back);
    int rc = hs_json_to_mpack(list_json, strlen(list_json), &list);
    if (rc == HS_OK)
        rc = hs_proto_schemas_from_list(&m, "climate", list.data, list.len);
    else
        memset(&m, 0, sizeof m);
    if (rc == HS_OK)
        rc = hs_proto_schemas_encode(&b, &m.s);
    if (rc == HS_OK)
        rc = hs_proto_schemas_decode(&back, b.data, b.len);
    if (rc == HS_OK)
        rc = put("schemas", name, &b);
    hs_proto_schemas_msg_free(&m);
    hs_proto_schemas_msg_free(&back);
    hs_buf_free(&list);
    hs_buf_free(&b);
    return rc;
}

static int write_committed(const char *name, const hs_proto_committed *c)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_proto_committed_msg m;
    memset(&m, 0, sizeof m);
    int rc = hs_proto_committed_encode(&b, c);
    if (rc == HS_OK)
        rc = hs_proto_committed_decode(&m, b.data, b.len);
    if (rc == HS_OK)
        rc = put("committed", name, &b);
    hs_proto_committed_msg_free(&m);
    hs_buf_free(&b);
    return rc;
}

/* {"gain": 2.5, "label": "kitchen", "w": [1, -2], "raw": bin(0 1 2)} into b. */
static int make_params(hs_buf *b)
{
    int rc = hs_mp_put_map(b, 4);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(b, "gain");
    if (rc == HS_OK)
        rc = hs_mp_put_double(b, 2.5);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(b, "label");
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(b, "kitchen");
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(b, "w");
    if (rc == HS_OK)
        rc = hs_mp_put_array(b, 2);
    if (rc == HS_OK)
        rc = hs_mp_put_int(b, 1);
    if (rc == HS_OK)
        rc = hs_mp_put_int(b, -2);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(b, "raw");
    if (rc == HS_OK)
        rc = hs_mp_put_bin(b, "\0\1\2", 3);
    return rc;
}

/* [[1700000001000000, 21.5], [1700000002000000, bin(0xff)]] into b. */
static int make_batch(hs_buf *b)
{
    int rc = hs_mp_put_array(b, 2);
    if (rc == HS_OK)
        rc = hs_mp_put_array(b, 2);
    if (rc == HS_OK)
        rc = hs_mp_put_int(b, 1700000001000000);
    if (rc == HS_OK)
        rc = hs_mp_put_double(b, 21.5);
    if (rc == HS_OK)
        rc = hs_mp_put_array(b, 2);
    if (rc == HS_OK)
        rc = hs_mp_put_int(b, 1700000002000000);
    if (rc == HS_OK)
        rc = hs_mp_put_bin(b, "\xff", 1);
    return rc;
}

static int write_all(const hs_buf *params, const hs_buf *batch)
{
    static const hs_proto_source sources[] = {
        {"temp/house=1/room=kitchen", 1699999940000000, 1700000060000000},
        {"humidity/house=1", 1700000000000000, 1700000060000000},
    };
    static const char *const sinks[] = {"avg/house=1", "max/house=1"};
    static const char *const pvs[] = {"house=1/room=kitchen", "house=1/room=hall"};
    hs_proto_job full = {
        .job = "j0123456789abcdef",
        .attempt = 3,
        .workflow = "wf-houses",
        .factor = 12,
        .pv = "house=1/room=kitchen",
        .tool = "window_mean",
        .version = "1.2",
        .params = params->data,
        .params_len = params->len,
        .binding = "fedcba9876543210",
        .interval = {1700000000000000, 1700000060000000},
        .sources = sources,
        .nsources = 2,
        .alignment = "clock/period=60s",
        .splitting = "rooms/house=1",
        .sinks = sinks,
        .nsinks = 2,
        .output_meta = "room",
        .request = "c-42",
        .output_plate = "rooms",
    };
    hs_proto_job minimal = {
        .job = "j0000000000000001",
        .workflow = "w",
        .pv = "",
        .tool = "t",
        .version = "1.0",
        .binding = "0000000000000000",
        .interval = {-1, 0},
    };
    hs_proto_job late = minimal;
    late.trigger = HS_TRIGGER_LATE;
    late.wseq = (hs_proto_wseq){1700000000000000, 917};
    /* A job over two plate values of a fleet. */
    static const hs_proto_source fleet_src[] = {{"temp/dev=1", -1, 0}, {"temp/dev=2", -1, 0}};
    static const char *const fleet_sinks[] = {"mean/dev=1", "mean/dev=2"};
    static const hs_proto_unit fleet_units[] = {{"dev=1", 1, 1}, {"dev=2", 1, 1}};
    hs_proto_job fleet = minimal;
    fleet.pv = "dev=1";
    fleet.sources = fleet_src;
    fleet.nsources = 2;
    fleet.sinks = fleet_sinks;
    fleet.nsinks = 2;
    fleet.units = fleet_units;
    fleet.nunits = 2;
    int rc = write_job("full", &full);
    if (rc == HS_OK)
        rc = write_job("minimal", &minimal);
    if (rc == HS_OK)
        rc = write_job("recompute", &late);
    if (rc == HS_OK)
        rc = write_job("units", &fleet);

    /* Job output parts. */
    hs_proto_output outs[] = {{"avg/house=1", batch->data, batch->len},
                              {"max/house=1", batch->data, batch->len}};
    hs_proto_jobout o = {
        .hdr = full,
        .part = 1,
        .parts = 3,
        .started_us = 1700000123456789,
        .duration_us = 4321,
        .runtime = "tool-window_mean-1",
        .outputs = outs,
        .noutputs = 2,
    };
    if (rc == HS_OK)
        rc = write_jobout("job_outputs", &o);
    o.noutputs = 0;
    o.outputs = NULL;
    if (rc == HS_OK)
        rc = write_jobout("job_nothing", &o);
    o.has_plate_values = true;
    o.plate_values = pvs;
    o.nplate_values = 2;
    if (rc == HS_OK)
        rc = write_jobout("job_plate_values", &o);
    o.has_plate_values = false;
    o.error = "division by zero";
    if (rc == HS_OK)
        rc = write_jobout("job_error", &o);
    hs_proto_jobout omin = {.hdr = minimal, .parts = 1, .runtime = "scheduler"};
    if (rc == HS_OK)
        rc = write_jobout("job_minimal", &omin);
    hs_proto_jobout olate = {
        .hdr = late, .parts = 1, .runtime = "tools", .outputs = outs, .noutputs = 1};
    olate.hdr.sinks = sinks;
    olate.hdr.nsinks = 1;
    olate.hdr.trigger = HS_TRIGGER_INVALIDATE;
    if (rc == HS_OK)
        rc = write_jobout("job_recompute", &olate);

    /* The other ops. */
    hs_buf f;
    hs_buf_init(&f, 0);
    uint32_t n = 0;
    hs_proto_append a = {"temp/house=1", batch->data, batch->len};
    if (rc == HS_OK)
        rc = hs_proto_append_encode_fields(&f, &a, &n);
    if (rc == HS_OK)
        rc = write_wreq("append", HS_OP_APPEND, &f, n);
    hs_proto_append two[] = {{"temp/house=1", batch->data, batch->len},
                             {"temp/house=2", batch->data, batch->len}};
    hs_proto_append_many many = {two, 2};
    hs_buf_reset(&f);
    if (rc == HS_OK)
        rc = hs_proto_append_many_encode_fields(&f, &many, &n);
    if (rc == HS_OK)
        rc = write_wreq("append_many", HS_OP_APPEND_MANY, &f, n);
    hs_proto_doc docs[] = {{"meta", "site=a", "{\"tag\":\"site\",\"value\":\"a\",\"parent\":\"\"}"},
                           {"meta", "site=b", NULL}};
    hs_proto_docs dm = {docs, 2};
    hs_buf_reset(&f);
    if (rc == HS_OK)
        rc = hs_proto_docs_encode_fields(&f, &dm, &n);
    if (rc == HS_OK)
        rc = write_wreq("docs", HS_OP_DOCS, &f, n);
    hs_mp_reader r;
    hs_mp_reader_init(&r, batch->data + 1, batch->len - 1); /* the first instance */
    hs_buf_reset(&f);
    if (rc == HS_OK)
        rc = hs_mp_get_raw(&r, &a.data, &a.data_len);
    if (rc == HS_OK)
        rc = hs_proto_append_encode_fields(&f, &a, &n);
    if (rc == HS_OK)
        rc = write_wreq("append_one", HS_OP_APPEND, &f, n);
    static const char *const avg_sources[] = {"temp/house=1"};
    static const hs_proto_define_item items[] = {
        {.sid = "avg/house=1",
         .kind = 1,
         .binding = "{\"tool\":\"window_mean\",\"version\":\"1.2\"}",
         .has_deps = true,
         .sources = avg_sources,
         .nsources = 1,
         .lookback_us = 60000000,
         .max_lateness_us = 0},
        {.sid = "temp/house=1", .kind = 0},
        {.sid = "asset/name=x", .kind = 2},
    };
    hs_proto_define d = {items, 3};
    hs_buf_reset(&f);
    if (rc == HS_OK)
        rc = hs_proto_define_encode_fields(&f, &d, &n);
    if (rc == HS_OK)
        rc = write_wreq("define", HS_OP_DEFINE, &f, n);
    hs_proto_purge p = {.stream = "temp/house=1", .remove = true};
    hs_buf_reset(&f);
    if (rc == HS_OK)
        rc = hs_proto_purge_encode_fields(&f, &p, &n);
    if (rc == HS_OK)
        rc = write_wreq("purge", HS_OP_PURGE, &f, n);
    hs_proto_purge pb = {
        .stream = "temp/house=1", .has_before = true, .before_us = 1700000000000000};
    hs_buf_reset(&f);
    if (rc == HS_OK)
        rc = hs_proto_purge_encode_fields(&f, &pb, &n);
    if (rc == HS_OK)
        rc = write_wreq("purge_before", HS_OP_PURGE, &f, n);
    hs_proto_doc put_doc = {"workflows", "wf-houses", "{\"id\":\"wf-houses\"}"};
    hs_buf_reset(&f);
    if (rc == HS_OK)
        rc = hs_proto_doc_encode_fields(&f, &put_doc, &n);
    if (rc == HS_OK)
        rc = write_wreq("doc_put", HS_OP_DOC_PUT, &f, n);
    hs_proto_doc del_doc = {"online", "wf-houses", NULL};
    hs_buf_reset(&f);
    if (rc == HS_OK)
        rc = hs_proto_doc_encode_fields(&f, &del_doc, &n);
    if (rc == HS_OK)
        rc = write_wreq("doc_del", HS_OP_DOC_DEL, &f, n);
    hs_proto_invalidate inv = {"avg/house=1", {1767225600000000, 1767225660000000}};
    hs_buf_reset(&f);
    if (rc == HS_OK)
        rc = hs_proto_invalidate_encode_fields(&f, &inv, &n);
    if (rc == HS_OK)
        rc = write_wreq("invalidate", HS_OP_INVALIDATE, &f, n);
    hs_buf_free(&f);

    /* Acknowledgements. */
    static const hs_proto_ack_item acks[] = {
        {1, HS_ACK_OK, 10, 2, 1, NULL},
        {2, HS_ACK_REJECTED, 0, 0, 0, "stream id is not canonical"},
        {UINT64_MAX, HS_ACK_STALE, UINT64_MAX, 0, 5, "binding changed"},
    };
    if (rc == HS_OK)
        rc = write_ack("full", 1700000000000000, acks, 3);
    if (rc == HS_OK)
        rc = write_ack("minimal", 0, acks, 1);

    /* Commit notices. */
    hs_proto_committed c = {
        .job = "j0123456789abcdef",
        .workflow = "wf-houses",
        .factor = 4,
        .pv = "house=1",
        .interval = {1700000000000000, 1700000060000000},
        .outcome = HS_OUTCOME_OK,
        .count = 1234,
        .request = "r-7",
        .plate_values = pvs,
        .nplate_values = 2,
        .has_plate_values = true,
    };
    if (rc == HS_OK)
        rc = write_committed("plate_values", &c);
    c.has_plate_values = false;
    if (rc == HS_OK)
        rc = write_committed("ok", &c);
    c.outcome = HS_OUTCOME_FAILED;
    c.error = "tool failed: division by zero";
    c.count = 0;
    if (rc == HS_OK)
        rc = write_committed("failed", &c);
    c.outcome = HS_OUTCOME_STALE;
    c.error = "binding of avg/house=1 changed";
    if (rc == HS_OK)
        rc = write_committed("stale", &c);
    hs_proto_committed cmin = {
        .job = "j0000000000000001", .workflow = "w", .pv = "", .interval = {-1, 0}};
    if (rc == HS_OK)
        rc = write_committed("minimal", &cmin);
    c.outcome = HS_OUTCOME_OK;
    c.error = NULL;
    c.count = 2;
    c.wseq = (hs_proto_wseq){1700000000000000, UINT64_MAX};
    c.recompute = true;
    if (rc == HS_OK)
        rc = write_committed("recompute", &c);

    /* Reopened notices and corrections. */
    static const hs_interval reopened_iv[] = {{1700000000000000, 1700000060000000},
                                              {1700000120000000, 1700000180000000}};
    hs_proto_reopened ro = {"avg/house=1", reopened_iv, 2, "late", {1700000000000000, 918}};
    if (rc == HS_OK)
        rc = write_reopened("late", &ro);
    ro.n = 1;
    ro.reason = "invalidate";
    ro.wseq.seq = 0;
    if (rc == HS_OK)
        rc = write_reopened("invalidate", &ro);
    hs_proto_correction corr = {{1700000000000000, 1700000060000000}, batch->data, batch->len};
    if (rc == HS_OK)
        rc = write_correction("data", &corr);
    static const uint8_t empty_batch[] = {0x90};
    corr.data = empty_batch;
    corr.data_len = sizeof empty_batch;
    if (rc == HS_OK)
        rc = write_correction("empty", &corr);
    if (rc == HS_OK)
        rc = write_wseq("newest", (hs_proto_wseq){1700000000000000, 918});
    if (rc == HS_OK)
        rc = write_schemas("two", "[{\"stream\": \"pressure/#\", \"schema\": {\"type\": "
                                  "\"number\", \"minimum\": 900, \"maximum\": 1100.5}}, "
                                  "{\"stream\": \"+/site=a\", \"schema\": true}]");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    hs_buf params, batch;
    hs_buf_init(&params, 0);
    hs_buf_init(&batch, 0);
    int rc = make_params(&params);
    if (rc == HS_OK)
        rc = make_batch(&batch);
    if (rc == HS_OK)
        rc = write_all(&params, &batch);
    hs_buf_free(&params);
    hs_buf_free(&batch);
    if (rc != HS_OK) {
        char msg[600];
        fprintf(stderr, "proto_examples: %s\n", hs_err_describe(rc, msg, sizeof msg));
        return 1;
    }
    return 0;
}
