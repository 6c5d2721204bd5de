/*
 * Fuzz target: the message contract (hs_proto). Any input is given to every
 * decoder: job, write request (the envelope, then the decoder of its op),
 * acknowledgement, commit notice, reopened notice, correction, writer commit
 * (hs/wseq), service status and the JSON messages and documents. Whatever
 * decodes is encoded again and decoded again, and the second decode must give
 * the same fields as the first; decoded jobs and commit notices also go
 * through the history encoder, whose output must be one JSON value. abort()
 * on any mismatch.
 *
 * Where the encoder writes a canonical form of what the decoder accepts,
 * the comparison expects that form: a job output part sends either its error,
 * its plate values or its outputs (in that order of preference), a commit
 * notice of a failure no plate values, and an ok acknowledgement no reason.
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_proto: %s:%d: %s (%s)\n", __FILE__, __LINE__, #c,                \
                    hs_err_detail());                                                              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Both NULL, or equal strings. */
static bool str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool strs_eq(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!str_eq(a[i], b[i]))
            return false;
    return true;
}

/* The header fields that jobs and job outputs share. */
static void check_header(const hs_proto_job *a, const hs_proto_job *b)
{
    CHECK(str_eq(a->job, b->job));
    CHECK(a->attempt == b->attempt);
    CHECK(str_eq(a->workflow, b->workflow));
    CHECK(a->factor == b->factor);
    CHECK(str_eq(a->pv, b->pv));
    CHECK(str_eq(a->tool, b->tool));
    CHECK(str_eq(a->version, b->version));
    CHECK(bytes_eq(a->params, a->params_len, b->params, b->params_len));
    CHECK(str_eq(a->binding, b->binding));
    CHECK(a->interval.start == b->interval.start && a->interval.end == b->interval.end);
    CHECK(strs_eq(a->sinks, a->nsinks, b->sinks, b->nsinks));
    CHECK(str_eq(a->request, b->request));
    CHECK(str_eq(a->output_plate, b->output_plate));
    CHECK(a->trigger == b->trigger);
    CHECK(a->wseq.epoch == b->wseq.epoch && a->wseq.seq == b->wseq.seq);
}

static bool intervals_eq(const hs_interval *a, size_t na, const hs_interval *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (a[i].start != b[i].start || a[i].end != b[i].end)
            return false;
    return true;
}

/* The dependencies of a define item or a deps document. */
static void check_deps(const hs_proto_define_item *a, const hs_proto_define_item *b)
{
    CHECK(a->has_deps == b->has_deps);
    CHECK(strs_eq(a->sources, a->nsources, b->sources, b->nsources));
    CHECK(a->lookback_us == b->lookback_us && a->max_lateness_us == b->max_lateness_us);
    CHECK(!a->has_deps || (a->lookback_us >= 0 && a->max_lateness_us >= 0));
}

/* The history encoder's output must be one JSON value (duplicate keys aside). */
static void check_history(const hs_proto_history *h)
{
    hs_buf out;
    hs_buf_init(&out, 0);
    int rc = hs_proto_history_encode(&out, h);
    /* Params the JSON writer cannot render (ext, too deep) fail the encoder. */
    CHECK(rc == HS_OK || (rc == HS_ERR_PARSE && h->params != NULL));
    if (rc == HS_OK) {
        hs_json_reader r;
        hs_json_reader_init(&r, (const char *)out.data, out.len);
        CHECK(hs_json_skip(&r) == HS_OK);
        CHECK(hs_json_expect_end(&r) == HS_OK);
    }
    hs_buf_free(&out);
}

static void fuzz_job(const uint8_t *data, size_t size)
{
    hs_proto_job_msg a, b;
    if (hs_proto_job_decode(&a, data, size) == HS_OK) {
        hs_buf enc;
        hs_buf_init(&enc, 0);
        CHECK(hs_proto_job_encode(&enc, &a.job) == HS_OK);
        CHECK(hs_proto_job_decode(&b, enc.data, enc.len) == HS_OK);
        check_header(&a.job, &b.job);
        CHECK(a.job.nsources == b.job.nsources);
        for (size_t i = 0; i < a.job.nsources; i++) {
            CHECK(str_eq(a.job.sources[i].sid, b.job.sources[i].sid));
            CHECK(a.job.sources[i].from_us == b.job.sources[i].from_us);
            CHECK(a.job.sources[i].to_us == b.job.sources[i].to_us);
        }
        CHECK(str_eq(a.job.alignment, b.job.alignment));
        CHECK(str_eq(a.job.splitting, b.job.splitting));
        CHECK(str_eq(a.job.output_meta, b.job.output_meta));
        CHECK(a.job.nunits == b.job.nunits);
        for (size_t i = 0; i < a.job.nunits; i++) {
            CHECK(str_eq(a.job.units[i].pv, b.job.units[i].pv));
            CHECK(a.job.units[i].nsources == b.job.units[i].nsources);
            CHECK(a.job.units[i].nsinks == b.job.units[i].nsinks);
        }
        hs_proto_job_msg_free(&b);
        hs_buf_free(&enc);

        const hs_proto_job *j = &a.job;
        hs_proto_history h = {
            .job = j->job,
            .workflow = j->workflow,
            .factor = j->factor,
            .pv = j->pv,
            .tool = j->tool,
            .version = j->version,
            .params = j->params,
            .params_len = j->params_len,
            .interval = j->interval,
            .attempt = j->attempt,
            .committed_us = j->interval.end,
            .duration_us = j->interval.start,
            .runtime = j->binding,
            .error = j->request,
            .outcome = HS_OUTCOME_FAILED,
            .trigger = j->trigger,
            .recompute = j->wseq.epoch != 0,
        };
        check_history(&h);
    }
    hs_proto_job_msg_free(&a);
}

/* Encodes a write request of op with the fields in f (nfields pairs) into out. */
static void wreq(hs_buf *out, const hs_proto_envelope *env, const hs_buf *f, uint32_t nfields)
{
    CHECK(hs_proto_wreq_begin(out, env->inc, env->seq, env->op, nfields) == HS_OK);
    CHECK(hs_buf_append(out, f->data, f->len) == HS_OK);
}

static void check_envelope(const hs_proto_envelope *a, const uint8_t *data, size_t len,
                           hs_proto_envelope *b)
{
    CHECK(hs_proto_wreq_envelope(data, len, b) == HS_OK);
    CHECK(a->inc == b->inc && a->seq == b->seq && a->op == b->op);
    CHECK(strcmp(a->op_text, b->op_text) == 0);
}

static void fuzz_jobout(const hs_proto_envelope *env)
{
    hs_proto_jobout_msg a, b;
    if (hs_proto_jobout_decode(&a, env) == HS_OK) {
        const hs_proto_jobout *o = &a.out;
        hs_buf f, enc;
        hs_buf_init(&f, 0);
        hs_buf_init(&enc, 0);
        uint32_t n = 0;
        int rc = hs_proto_jobout_encode_fields(&f, o, &n);
        /* The decoder reads parts without a tool (senders before the tool object), without a
         * runtime and with a negative duration, which the encoder refuses to send. */
        if (o->hdr.tool == NULL || o->runtime[0] == '\0' || o->duration_us < 0) {
            CHECK(rc == HS_ERR_INVAL);
        } else {
            CHECK(rc == HS_OK);
            wreq(&enc, env, &f, n);
            hs_proto_envelope env2;
            check_envelope(env, enc.data, enc.len, &env2);
            CHECK(hs_proto_jobout_decode(&b, &env2) == HS_OK);
            const hs_proto_jobout *p = &b.out;
            check_header(&o->hdr, &p->hdr);
            CHECK(p->hdr.nsources == 0 && p->hdr.alignment == NULL && p->hdr.splitting == NULL &&
                  p->hdr.output_meta == NULL);
            CHECK(o->part == p->part && o->parts == p->parts);
            CHECK(o->started_us == p->started_us && o->duration_us == p->duration_us);
            CHECK(str_eq(o->runtime, p->runtime));
            CHECK(str_eq(o->error, p->error));
            bool pvs = o->error == NULL && o->has_plate_values;
            CHECK(p->has_plate_values == pvs);
            if (pvs)
                CHECK(
                    strs_eq(o->plate_values, o->nplate_values, p->plate_values, p->nplate_values));
            else
                CHECK(p->nplate_values == 0);
            size_t nout = o->error == NULL && !o->has_plate_values ? o->noutputs : 0;
            CHECK(p->noutputs == nout);
            for (size_t i = 0; i < nout; i++) {
                CHECK(str_eq(o->outputs[i].sid, p->outputs[i].sid));
                CHECK(bytes_eq(o->outputs[i].batch, o->outputs[i].batch_len, p->outputs[i].batch,
                               p->outputs[i].batch_len));
            }
            hs_proto_jobout_msg_free(&b);
        }
        hs_buf_free(&f);
        hs_buf_free(&enc);
    }
    hs_proto_jobout_msg_free(&a);
}

static void fuzz_wreq_op(const hs_proto_envelope *env)
{
    hs_proto_wreq_msg a, b;
    if (hs_proto_wreq_decode(&a, env) == HS_OK) {
        hs_buf f, enc;
        hs_buf_init(&f, 0);
        hs_buf_init(&enc, 0);
        uint32_t n = 0;
        switch (a.op) {
        case HS_OP_APPEND:
            CHECK(hs_proto_append_encode_fields(&f, &a.u.append, &n) == HS_OK);
            break;
        case HS_OP_APPEND_MANY:
            CHECK(hs_proto_append_many_encode_fields(&f, &a.u.append_many, &n) == HS_OK);
            break;
        case HS_OP_DEFINE:
            CHECK(hs_proto_define_encode_fields(&f, &a.u.define, &n) == HS_OK);
            break;
        case HS_OP_PURGE:
            CHECK(hs_proto_purge_encode_fields(&f, &a.u.purge, &n) == HS_OK);
            break;
        case HS_OP_DOC_PUT:
            CHECK(a.u.doc.json != NULL);
            CHECK(hs_proto_doc_encode_fields(&f, &a.u.doc, &n) == HS_OK);
            break;
        case HS_OP_DOC_DEL:
            CHECK(a.u.doc.json == NULL);
            CHECK(hs_proto_doc_encode_fields(&f, &a.u.doc, &n) == HS_OK);
            break;
        case HS_OP_INVALIDATE:
            CHECK(hs_proto_invalidate_encode_fields(&f, &a.u.invalidate, &n) == HS_OK);
            break;
        case HS_OP_DOCS:
            CHECK(hs_proto_docs_encode_fields(&f, &a.u.docs, &n) == HS_OK);
            break;
        default:
            fprintf(stderr, "fuzz_proto: op %d has no decoder but decoded\n", (int)a.op);
            abort();
        }
        wreq(&enc, env, &f, n);
        hs_proto_envelope env2;
        check_envelope(env, enc.data, enc.len, &env2);
        CHECK(hs_proto_wreq_decode(&b, &env2) == HS_OK);
        CHECK(a.op == b.op);
        switch (a.op) {
        case HS_OP_APPEND:
            CHECK(str_eq(a.u.append.stream, b.u.append.stream));
            CHECK(bytes_eq(a.u.append.data, a.u.append.data_len, b.u.append.data,
                           b.u.append.data_len));
            break;
        case HS_OP_DOCS:
            CHECK(a.u.docs.n == b.u.docs.n);
            for (size_t i = 0; i < a.u.docs.n; i++) {
                CHECK(str_eq(a.u.docs.items[i].coll, b.u.docs.items[i].coll));
                CHECK(str_eq(a.u.docs.items[i].key, b.u.docs.items[i].key));
                CHECK(str_eq(a.u.docs.items[i].json, b.u.docs.items[i].json));
            }
            break;
        case HS_OP_APPEND_MANY:
            CHECK(a.u.append_many.n == b.u.append_many.n);
            for (size_t i = 0; i < a.u.append_many.n; i++) {
                const hs_proto_append *x = &a.u.append_many.items[i],
                                      *y = &b.u.append_many.items[i];
                CHECK(str_eq(x->stream, y->stream));
                CHECK(bytes_eq(x->data, x->data_len, y->data, y->data_len));
            }
            break;
        case HS_OP_DEFINE:
            CHECK(a.u.define.n == b.u.define.n);
            for (size_t i = 0; i < a.u.define.n; i++) {
                CHECK(str_eq(a.u.define.items[i].sid, b.u.define.items[i].sid));
                CHECK(a.u.define.items[i].kind == b.u.define.items[i].kind);
                CHECK(str_eq(a.u.define.items[i].binding, b.u.define.items[i].binding));
                check_deps(&a.u.define.items[i], &b.u.define.items[i]);
            }
            break;
        case HS_OP_PURGE:
            CHECK(str_eq(a.u.purge.stream, b.u.purge.stream));
            CHECK(a.u.purge.remove == b.u.purge.remove);
            break;
        case HS_OP_INVALIDATE:
            CHECK(str_eq(a.u.invalidate.stream, b.u.invalidate.stream));
            CHECK(a.u.invalidate.interval.start == b.u.invalidate.interval.start &&
                  a.u.invalidate.interval.end == b.u.invalidate.interval.end);
            CHECK(a.u.invalidate.interval.start < a.u.invalidate.interval.end);
            break;
        default:
            CHECK(str_eq(a.u.doc.coll, b.u.doc.coll));
            CHECK(str_eq(a.u.doc.key, b.u.doc.key));
            CHECK(str_eq(a.u.doc.json, b.u.doc.json));
            break;
        }
        hs_proto_wreq_msg_free(&b);
        hs_buf_free(&f);
        hs_buf_free(&enc);
    }
    hs_proto_wreq_msg_free(&a);
}

static void fuzz_wreq(const uint8_t *data, size_t size)
{
    hs_proto_envelope env;
    if (hs_proto_wreq_envelope(data, size, &env) != HS_OK)
        return;
    CHECK(env.seq > 0);
    CHECK(env.data == data && env.len == size);
    CHECK(strlen(env.op_text) < sizeof env.op_text);
    if (env.op == HS_OP_JOB)
        fuzz_jobout(&env);
    else if (env.op != HS_OP_UNKNOWN)
        fuzz_wreq_op(&env);
}

static void fuzz_ack(const uint8_t *data, size_t size)
{
    hs_proto_ack_msg a, b;
    if (hs_proto_ack_decode(&a, data, size) == HS_OK) {
        hs_buf items, enc;
        hs_buf_init(&items, 0);
        hs_buf_init(&enc, 0);
        CHECK(a.ack.nitems > 0 && a.ack.nitems <= UINT32_MAX);
        for (size_t i = 0; i < a.ack.nitems; i++)
            CHECK(hs_proto_ack_item_encode(&items, &a.ack.items[i]) == HS_OK);
        CHECK(hs_proto_ack_encode(&enc, a.ack.inc, items.data, items.len, (uint32_t)a.ack.nitems) ==
              HS_OK);
        CHECK(hs_proto_ack_decode(&b, enc.data, enc.len) == HS_OK);
        CHECK(a.ack.inc == b.ack.inc && a.ack.nitems == b.ack.nitems);
        for (size_t i = 0; i < a.ack.nitems; i++) {
            const hs_proto_ack_item *x = &a.ack.items[i], *y = &b.ack.items[i];
            CHECK(x->seq == y->seq && x->status == y->status);
            CHECK(x->inserted == y->inserted && x->duplicates == y->duplicates &&
                  x->conflicts == y->conflicts);
            CHECK(str_eq(x->reason, y->reason));
            CHECK((x->status == HS_ACK_OK) == (x->reason == NULL));
        }
        hs_proto_ack_msg_free(&b);
        hs_buf_free(&items);
        hs_buf_free(&enc);
    }
    hs_proto_ack_msg_free(&a);
}

static void fuzz_committed(const uint8_t *data, size_t size)
{
    hs_proto_committed_msg a, b;
    if (hs_proto_committed_decode(&a, data, size) == HS_OK) {
        const hs_proto_committed *c = &a.c, *d = &b.c;
        hs_buf enc;
        hs_buf_init(&enc, 0);
        CHECK(hs_proto_committed_encode(&enc, c) == HS_OK);
        CHECK(hs_proto_committed_decode(&b, enc.data, enc.len) == HS_OK);
        CHECK(str_eq(c->job, d->job) && str_eq(c->workflow, d->workflow));
        CHECK(c->factor == d->factor && str_eq(c->pv, d->pv));
        CHECK(c->interval.start == d->interval.start && c->interval.end == d->interval.end);
        CHECK(c->outcome == d->outcome && c->count == d->count);
        CHECK(str_eq(c->error, d->error) && str_eq(c->request, d->request));
        CHECK(c->has_plate_values == d->has_plate_values);
        CHECK(strs_eq(c->plate_values, c->nplate_values, d->plate_values, d->nplate_values));
        CHECK(c->wseq.epoch == d->wseq.epoch && c->wseq.seq == d->wseq.seq);
        CHECK(c->recompute == d->recompute);
        hs_proto_committed_msg_free(&b);
        hs_buf_free(&enc);

        hs_proto_history h = {
            .job = c->job,
            .workflow = c->workflow,
            .factor = c->factor,
            .pv = c->pv,
            .interval = c->interval,
            .count = c->count,
            .committed_us = c->interval.start,
            .outcome = c->outcome,
            .runtime = c->request,
            .error = c->error,
            .trigger = (hs_proto_trigger)(c->count % 4),
            .recompute = c->recompute,
        };
        check_history(&h);
    }
    hs_proto_committed_msg_free(&a);
}

static void fuzz_reopened(const uint8_t *data, size_t size)
{
    hs_proto_reopened_msg a, b;
    if (hs_proto_reopened_decode(&a, data, size) == HS_OK) {
        const hs_proto_reopened *r = &a.r, *q = &b.r;
        CHECK(r->n > 0 && r->wseq.epoch != 0);
        for (size_t i = 0; i < r->n; i++)
            CHECK(r->intervals[i].start < r->intervals[i].end &&
                  (i == 0 || r->intervals[i - 1].end <= r->intervals[i].start));
        hs_buf enc;
        hs_buf_init(&enc, 0);
        CHECK(hs_proto_reopened_encode(&enc, r) == HS_OK);
        CHECK(hs_proto_reopened_decode(&b, enc.data, enc.len) == HS_OK);
        CHECK(str_eq(r->stream, q->stream) && str_eq(r->reason, q->reason));
        CHECK(intervals_eq(r->intervals, r->n, q->intervals, q->n));
        CHECK(r->wseq.epoch == q->wseq.epoch && r->wseq.seq == q->wseq.seq);
        hs_proto_reopened_msg_free(&b);
        hs_buf_free(&enc);
    }
    hs_proto_reopened_msg_free(&a);
}

static void fuzz_correction(const uint8_t *data, size_t size)
{
    hs_proto_correction a, b;
    if (hs_proto_correction_decode(&a, data, size) == HS_OK) {
        CHECK(a.interval.start < a.interval.end && a.data != NULL && a.data_len > 0);
        CHECK(a.data >= data && a.data + a.data_len <= data + size);
        hs_buf enc;
        hs_buf_init(&enc, 0);
        CHECK(hs_proto_correction_encode(&enc, &a) == HS_OK);
        CHECK(hs_proto_correction_decode(&b, enc.data, enc.len) == HS_OK);
        CHECK(a.interval.start == b.interval.start && a.interval.end == b.interval.end);
        CHECK(bytes_eq(a.data, a.data_len, b.data, b.data_len));
        hs_buf_free(&enc);
    }
}

static void fuzz_wseq(const uint8_t *data, size_t size)
{
    hs_proto_wseq a, b;
    if (hs_proto_wseq_decode(data, size, &a) == HS_OK) {
        CHECK(a.epoch != 0);
        hs_buf enc;
        hs_buf_init(&enc, 0);
        CHECK(hs_proto_wseq_encode(&enc, a) == HS_OK);
        CHECK(hs_proto_wseq_decode(enc.data, enc.len, &b) == HS_OK);
        CHECK(a.epoch == b.epoch && a.seq == b.seq);
        hs_buf_free(&enc);
    }
}

static void fuzz_status(const uint8_t *data, size_t size)
{
    hs_proto_status_msg m;
    if (hs_proto_status_decode(&m, (const char *)data, size) == HS_OK) {
        CHECK(m.st.service != NULL && m.st.tools != NULL);
        CHECK(m.st.state == HS_PROTO_OFFLINE || m.st.state == HS_PROTO_ONLINE ||
              m.st.state == HS_PROTO_PAUSED);
    }
    hs_proto_status_msg_free(&m);
}

/* The JSON messages and documents: whatever decodes re-encodes to the same fields. */
static void fuzz_json(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    hs_buf b;
    hs_buf_init(&b, 0);

    hs_proto_dead_letter_msg dl, dl2;
    if (hs_proto_dead_letter_decode(&dl, json, size) == HS_OK) {
        CHECK(hs_proto_dead_letter_encode(&b, &dl.d) == HS_OK);
        CHECK(hs_proto_dead_letter_decode(&dl2, (const char *)b.data, b.len) == HS_OK);
        CHECK(str_eq(dl.d.service, dl2.d.service) && str_eq(dl.d.reason, dl2.d.reason) &&
              str_eq(dl.d.topic, dl2.d.topic) && str_eq(dl.d.stream, dl2.d.stream) &&
              dl.d.kind == dl2.d.kind && str_eq(dl.d.undecodable, dl2.d.undecodable) &&
              bytes_eq(dl.d.payload, dl.d.len, dl2.d.payload, dl2.d.len));
        hs_proto_dead_letter_msg_free(&dl2);
    }
    hs_proto_dead_letter_msg_free(&dl);

    hs_proto_mon_msg mo, mo2;
    if (hs_proto_mon_decode(&mo, json, size) == HS_OK) {
        CHECK(hs_proto_mon_encode(&b, &mo.e, false) == HS_OK);
        CHECK(hs_proto_mon_decode(&mo2, (const char *)b.data, b.len) == HS_OK);
        CHECK(str_eq(mo.e.service, mo2.e.service) && str_eq(mo.e.name, mo2.e.name) &&
              str_eq(mo.e.text, mo2.e.text) && mo.e.level == mo2.e.level &&
              mo.e.has_interval == mo2.e.has_interval &&
              (!mo.e.has_interval || (mo.e.interval.start == mo2.e.interval.start &&
                                      mo.e.interval.end == mo2.e.interval.end)));
        hs_proto_mon_msg_free(&mo2);
    }
    hs_proto_mon_msg_free(&mo);

    hs_proto_api_req_msg q, q2;
    if (hs_proto_api_req_decode(&q, json, size) == HS_OK && q.req.op != HS_API_UNKNOWN) {
        CHECK(hs_proto_api_req_encode(&b, &q.req) == HS_OK);
        CHECK(hs_proto_api_req_decode(&q2, (const char *)b.data, b.len) == HS_OK);
        CHECK(q.req.op == q2.req.op && str_eq(q.req.workflow, q2.req.workflow) &&
              str_eq(q.req.definition, q2.req.definition) && str_eq(q.req.request, q2.req.request));
        CHECK(q.req.npaths == q2.req.npaths);
        for (size_t i = 0; i < q.req.npaths && i < q2.req.npaths; i++)
            CHECK(str_eq(q.req.paths[i], q2.req.paths[i]));
        hs_proto_api_req_msg_free(&q2);
    }
    hs_proto_api_req_msg_free(&q);

    hs_proto_progress_msg pg;
    if (hs_proto_progress_decode(&pg, json, size) == HS_OK)
        CHECK(pg.p.request != NULL && pg.p.workflow != NULL);
    hs_proto_progress_msg_free(&pg);

    hs_proto_api_reply_msg rp;
    if (hs_proto_api_reply_decode(&rp, json, size) == HS_OK)
        CHECK(rp.reply.ok || rp.reply.error != NULL);
    hs_proto_api_reply_msg_free(&rp);

    hs_proto_request_doc_msg rd;
    if (hs_proto_request_doc_decode(&rd, json, size) == HS_OK)
        CHECK(rd.d.iv.start < rd.d.iv.end);
    hs_proto_request_doc_msg_free(&rd);

    hs_proto_workflow_doc_msg wd;
    if (hs_proto_workflow_doc_decode(&wd, json, size) == HS_OK)
        CHECK(wd.d.id != NULL && wd.d.text != NULL);
    hs_proto_workflow_doc_msg_free(&wd);

    int64_t last_end;
    (void)hs_proto_online_doc_decode(json, size, &last_end);

    hs_proto_deps_msg dp, dp2;
    if (hs_proto_deps_doc_decode(&dp, json, size) == HS_OK) {
        CHECK(dp.it.has_deps);
        CHECK(hs_proto_deps_doc_encode(&b, &dp.it) == HS_OK);
        CHECK(hs_proto_deps_doc_decode(&dp2, (const char *)b.data, b.len) == HS_OK);
        check_deps(&dp.it, &dp2.it);
        hs_proto_deps_msg_free(&dp2);
    }
    hs_proto_deps_msg_free(&dp);

    /* The reopened document: adjacent intervals may merge in the set, so the set's own
     * encoding must come back as the same set. */
    hs_intervals iv, iv2;
    hs_intervals_init(&iv);
    hs_intervals_init(&iv2);
    if (hs_proto_reopened_doc_decode(json, size, &iv) == HS_OK) {
        CHECK(hs_proto_reopened_doc_encode(&b, &iv) == HS_OK);
        CHECK(hs_proto_reopened_doc_decode((const char *)b.data, b.len, &iv2) == HS_OK);
        CHECK(intervals_eq(iv.v, iv.n, iv2.v, iv2.n));
    }
    hs_intervals_free(&iv);
    hs_intervals_free(&iv2);

    hs_proto_history_msg hm, hm2;
    if (hs_proto_history_decode(&hm, json, size) == HS_OK) {
        if (hs_proto_history_encode(&b, &hm.h) == HS_OK) {
            CHECK(hs_proto_history_decode(&hm2, (const char *)b.data, b.len) == HS_OK);
            CHECK(str_eq(hm.h.job, hm2.h.job) && hm.h.count == hm2.h.count &&
                  hm.h.interval.start == hm2.h.interval.start);
            CHECK(hm.h.trigger == hm2.h.trigger && hm.h.recompute == hm2.h.recompute);
            hs_proto_history_msg_free(&hm2);
        }
    }
    hs_proto_history_msg_free(&hm);

    char sid[64];
    (void)hs_proto_purged_decode(data, size, sid, sizeof sid);
    hs_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_job(data, size);
    fuzz_wreq(data, size);
    fuzz_ack(data, size);
    fuzz_committed(data, size);
    fuzz_reopened(data, size);
    fuzz_correction(data, size);
    fuzz_wseq(data, size);
    fuzz_status(data, size);
    fuzz_json(data, size);
    return 0;
}
