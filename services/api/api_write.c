/*
 * HTTP ingest: POST /api/v1/write (the MQTT payload forms, JSON lines, CSV)
 * and POST /api/v2/write (InfluxDB line protocol, with InfluxDB's answers).
 *
 * A body is checked whole before anything is sent: one bad reading refuses
 * the request (400, dead letter on <prefix>/dead/api with the reason) and
 * nothing of it is stored. A good body goes to the writer as append_many
 * requests through the acknowledged write client, and the answer waits for
 * the writer's acknowledgements: 2xx means committed.
 */
#include "api.h"

#include "hs_alloc.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_lineproto.h"
#include "hs_readings.h"
#include "hs_log.h"
#include "hs_proto.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <inttypes.h>
#include <zlib.h>
#include <stdio.h>
#include <string.h>

/* Instances of one stream in one write request at most. */
#define W_SLICE 8192

/* What the writer said about all requests of one HTTP request. */
typedef struct wresult {
    uint64_t inserted, duplicates, conflicts;
    bool refused, timeout;
    char error[512];
} wresult;

/* Milliseconds from now to the monotonic time until_us (at least 0). */
static int ms_left(int64_t until_us)
{
    int64_t left = until_us - hs_time_mono_us();
    return left > 0 ? (int)(left / 1000) : 0;
}

/* Sends one append_many (or append) of items and notes its seq. */
static int send_group(api *a, hs_proto_append *items, size_t n, hs_buf *fields, int64_t until_us,
                      uint64_t *seq)
{
    hs_buf_reset(fields);
    uint32_t nf = 0;
    int rc;
    hs_proto_op op;
    if (n == 1) {
        rc = hs_proto_append_encode_fields(fields, &items[0], &nf);
        op = HS_OP_APPEND;
    } else {
        hs_proto_append_many many = {items, n};
        rc = hs_proto_append_many_encode_fields(fields, &many, &nf);
        op = HS_OP_APPEND_MANY;
    }
    if (rc == HS_OK)
        rc = hs_wclient_send(a->wc, op, fields->data, fields->len, nf, ms_left(until_us), seq);
    return rc;
}

/*
 * Sends every reading of w to the writer and waits for its acknowledgements:
 * all of it within one write_timeout, however many requests it takes.
 */
static int wb_commit(api *a, hs_readings *w, wresult *res)
{
    memset(res, 0, sizeof *res);
    int64_t until = hs_time_mono_us() + a->cfg->write_timeout_us;
    hs_buf enc, fields;
    hs_buf_init(&enc, 0);
    hs_buf_init(&fields, 0);
    hs_proto_append *items = hs_calloc(HS_PROTO_MANY_STREAMS, sizeof *items);
    size_t *offs = hs_calloc(HS_PROTO_MANY_STREAMS + 1, sizeof *offs);
    const char **sids = hs_calloc(HS_PROTO_MANY_STREAMS, sizeof *sids);
    uint64_t *seqs = NULL;
    size_t nseqs = 0, capseqs = 0;
    int rc = items != NULL && offs != NULL && sids != NULL ? HS_OK : HS_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; rc == HS_OK && i <= w->n; i++) {
        hs_batch *b = i < w->n ? hs_readings_batch(w, i) : NULL;
        if (b != NULL)
            hs_batch_sort(b);
        for (size_t from = 0; rc == HS_OK && (b == NULL ? from == 0 : from < b->n);) {
            size_t count = b == NULL ? 0 : (b->n - from < W_SLICE ? b->n - from : W_SLICE);
            bool flush = b == NULL || n == HS_PROTO_MANY_STREAMS || enc.len >= HS_PROTO_MANY_BYTES;
            if (flush && n > 0) {
                offs[n] = enc.len;
                for (size_t k = 0; k < n; k++)
                    items[k] =
                        (hs_proto_append){sids[k], enc.data + offs[k], offs[k + 1] - offs[k]};
                if (nseqs == capseqs) {
                    capseqs = capseqs ? 2 * capseqs : 16;
                    uint64_t *ns = hs_realloc(seqs, capseqs * sizeof *ns);
                    if (ns == NULL) {
                        rc = HS_ERR_NOMEM;
                        break;
                    }
                    seqs = ns;
                }
                rc = send_group(a, items, n, &fields, until, &seqs[nseqs]);
                if (rc == HS_OK)
                    nseqs++;
                n = 0;
                hs_buf_reset(&enc);
            }
            if (b == NULL)
                break;
            offs[n] = enc.len;
            sids[n] = w->order[i];
            if (rc == HS_OK)
                rc = hs_codec_encode_mpack(b, from, count, &enc);
            n++;
            from += count;
        }
    }
    if (rc == HS_ERR_FULL || rc == HS_ERR_TIMEOUT || rc == HS_ERR_CLOSED) {
        /* The writer is behind (pending requests full) or away: part may be stored, and sending
           again is safe, as for an acknowledgement that did not come in time. */
        res->timeout = true;
    } else if (rc != HS_OK) {
        snprintf(res->error, sizeof res->error, "cannot send to the writer: %s",
                 hs_err_detail()[0] ? hs_err_detail() : hs_strerror(rc));
        res->refused = true;
    }
    /* Every request sent is waited for, also after a failure, so none is left behind. */
    for (size_t i = 0; i < nseqs; i++) {
        api_ack ack = {0};
        int wrc = api_bus_wait_ack(a, seqs[i], until, &ack);
        if (wrc != HS_OK) {
            res->timeout = true;
            continue;
        }
        res->inserted += ack.inserted;
        res->duplicates += ack.duplicates;
        res->conflicts += ack.conflicts;
        if (ack.status != 0 && !res->refused) {
            res->refused = true;
            snprintf(res->error, sizeof res->error, "the writer refused: %s",
                     ack.error != NULL ? ack.error : "no reason given");
        }
        hs_free(ack.error);
    }
    hs_service_counters *c = hs_service_counters_get(a->svc);
    c->instances_in += w->count;
    c->msgs_out += nseqs;
    hs_free(seqs);
    hs_free(items);
    hs_free(offs);
    hs_free(sids);
    hs_buf_free(&enc);
    hs_buf_free(&fields);
    return rc;
}

/* ------------------------------------------------------------------ answers */

/* Refuses a body: dead letter (the start of the body) and the answer. */
static void refuse(api_req *r, bool influx, const char *reason)
{
    size_t kept = r->body.len < 4096 ? r->body.len : 4096;
    char topic[300];
    snprintf(topic, sizeof topic, "http:%s %s", r->method, r->path);
    /* Handlers refuse at once on their own threads; the service's dead-letter publisher is not
       thread-safe (one scratch buffer, the log's rate limit). */
    pthread_mutex_lock(&r->a->dead_mu);
    hs_service_dead_letter(r->a->svc, reason, topic, r->body.data, kept);
    pthread_mutex_unlock(&r->a->dead_mu);
    hs_service_counters_get(r->a->svc)->errors++;
    if (!influx) {
        api_error(r, 400, "%s", reason);
        return;
    }
    api_error_obj(r, 400, "\"code\":\"invalid\",", "message", reason);
}

static void influx_error(api_req *r, unsigned status, const char *code, const char *msg)
{
    char members[96];
    snprintf(members, sizeof members, "\"code\":\"%s\",", code);
    api_error_obj(r, status, members, "message", msg);
}

/*
 * Checks every reading of w against the input schemas (ingest's rule,
 * docs/SCHEMAS.md); false with the reason of the first that fails.
 */
static bool wb_schemas_ok(api *a, hs_readings *w, char *reason, size_t cap)
{
    bool ok = true;
    hs_buf why;
    hs_buf_init(&why, 0);
    pthread_mutex_lock(&a->schemas_mu);
    for (size_t i = 0; ok && i < w->n; i++) {
        if (!hs_schemaset_applies(a->schemas, w->order[i]))
            continue;
        hs_batch *b = hs_readings_batch(w, i);
        for (size_t k = 0; ok && k < b->n; k++) {
            if (hs_schemaset_check(a->schemas, w->order[i], hs_batch_value(b, k), b->items[k].len,
                                   &why) == HS_OK)
                continue;
            ok = false;
            char iso[HS_TIME_ISO_MAX];
            hs_time_format_iso(b->items[k].t_us, iso);
            snprintf(reason, cap, "stream %s at %s: %s", w->order[i], iso, hs_buf_cstr(&why));
            hs_service_counters_get(a->svc)->schema_rejected++;
        }
    }
    pthread_mutex_unlock(&a->schemas_mu);
    hs_buf_free(&why);
    return ok;
}

/* Commits w and answers: 204 (influx) or 200 with the counts; 409, 400, 503. */
static void commit_answer(api_req *r, hs_readings *w, bool influx)
{
    if (w->count == 0) {
        if (influx)
            api_send(r, 204, NULL, "", 0);
        else
            api_error(r, 400, "the body holds no reading");
        return;
    }
    char msg[1200];
    if (!wb_schemas_ok(r->a, w, msg, sizeof msg)) {
        char reason[1300];
        snprintf(reason, sizeof reason, "%s; nothing of this request was stored", msg);
        refuse(r, influx, reason);
        return;
    }
    wresult res;
    (void)wb_commit(r->a, w, &res);
    if (res.refused) {
        if (influx)
            influx_error(r, 500, "internal error", res.error);
        else
            api_error(r, 500, "%s", res.error);
    } else if (res.timeout) {
        snprintf(msg, sizeof msg,
                 "the writer did not confirm within write_timeout (%lld ms); the readings may "
                 "still be stored: sending them again is safe (writes are idempotent)",
                 (long long)(r->a->cfg->write_timeout_us / 1000));
        if (influx)
            influx_error(r, 503, "unavailable", msg);
        else
            api_error(r, 503, "%s", msg);
    } else if (res.conflicts > 0) {
        snprintf(msg, sizeof msg,
                 "%" PRIu64 " readings conflict with stored ones (same stream and time, another "
                 "value) and were not stored (dead letters on %s/dead/writer); %" PRIu64
                 " stored, %" PRIu64 " were there already",
                 res.conflicts, r->a->cfg->common.prefix, res.inserted, res.duplicates);
        if (influx)
            influx_error(r, 409, "conflict", msg);
        else
            api_error(r, 409, "%s", msg);
    } else if (influx) {
        api_send(r, 204, NULL, "", 0);
    } else {
        hs_buf b;
        hs_buf_init(&b, 0);
        if (hs_buf_printf(&b,
                          "{\"ok\":true,\"readings\":%" PRIu64
                          ",\"streams\":%zu,\"inserted\":%" PRIu64 ",\"duplicates\":%" PRIu64 "}\n",
                          w->count, w->n, res.inserted, res.duplicates) == HS_OK)
            api_send_json(r, 200, &b);
        hs_buf_free(&b);
    }
}

/* ------------------------------------------------------------------ /api/v1/write */

static void write_v1(api_req *r)
{
    const char *type = api_header(r, "Content-Type");
    const char *stream = api_param(r, "stream");
    hs_readings w;
    hs_readings_init(&w);
    hs_buf sid;
    hs_buf_init(&sid, 0);
    int rc = HS_OK;
    size_t line = 0;
    hs_readings_form form = HS_READINGS_PAYLOAD;
    if (type != NULL && strncasecmp(type, "text/csv", 8) == 0)
        form = HS_READINGS_CSV;
    else if (type != NULL && (strncasecmp(type, "application/x-ndjson", 20) == 0 ||
                              strncasecmp(type, "application/jsonl", 17) == 0))
        form = HS_READINGS_LINES;
    else if (stream == NULL)
        form = HS_READINGS_LINES; /* records {"stream", "t", "v"} */
    if (stream != NULL)
        rc = hs_streamid_canonical(stream, strlen(stream), &sid);
    if (rc == HS_OK)
        rc = hs_readings_parse(&w, form, stream != NULL ? hs_buf_cstr(&sid) : NULL,
                               (const char *)r->body.data, r->body.len, hs_time_now_us(), &line);
    if (rc == HS_ERR_NOMEM) {
        api_error(r, 500, "out of memory");
    } else if (rc != HS_OK) {
        char reason[800];
        const char *d = hs_err_detail()[0] ? hs_err_detail() : hs_strerror(rc);
        if (line > 0)
            snprintf(reason, sizeof reason, "line %zu: %s; nothing of this request was stored",
                     line, d);
        else
            snprintf(reason, sizeof reason, "%s; nothing of this request was stored", d);
        refuse(r, false, reason);
    } else {
        commit_answer(r, &w, false);
    }
    hs_buf_free(&sid);
    hs_readings_free(&w);
}

/* ------------------------------------------------------------------ /api/v2/write */

static int lp_one(void *ud, const char *sid, int64_t t_us, const uint8_t *v, size_t vlen,
                  size_t line)
{
    (void)line;
    return hs_readings_add(ud, sid, t_us, v, vlen);
}

static void write_v2(api_req *r)
{
    hs_lp_precision prec;
    if (hs_lp_precision_parse(api_param(r, "precision"), &prec) != HS_OK) {
        influx_error(r, 400, "invalid", hs_err_detail());
        return;
    }
    hs_readings w;
    hs_readings_init(&w);
    int rc = hs_lp_parse((const char *)r->body.data, r->body.len, prec, hs_time_now_us(), lp_one,
                         &w, NULL);
    if (rc == HS_ERR_NOMEM) {
        influx_error(r, 500, "internal error", "out of memory");
    } else if (rc != HS_OK) {
        char reason[800];
        snprintf(reason, sizeof reason, "%s; nothing of this request was stored",
                 hs_err_detail()[0] ? hs_err_detail() : hs_strerror(rc));
        refuse(r, true, reason);
    } else {
        commit_answer(r, &w, true);
    }
    hs_readings_free(&w);
}

/*
 * A body sent with Content-Encoding gzip (Telegraf's default) is inflated in
 * place of the compressed one, at most max_body_bytes; identity is the body
 * as it is. False after answering 415 (another encoding), 413 (too large
 * inflated) or 400 (not gzip).
 */
static bool body_decoded(api_req *r, bool influx)
{
    const char *enc = api_header(r, "Content-Encoding");
    if (enc == NULL || strcasecmp(enc, "identity") == 0)
        return true;
    const char *why = NULL;
    unsigned status = 400;
    if (strcasecmp(enc, "gzip") != 0) {
        status = 415;
        why = "Content-Encoding must be gzip or identity";
    }
    hs_buf out;
    hs_buf_init(&out, 0);
    z_stream z;
    memset(&z, 0, sizeof z);
    bool init = why == NULL && inflateInit2(&z, 16 + MAX_WBITS) == Z_OK;
    if (why == NULL && !init)
        why = "out of memory";
    int zrc = Z_OK;
    z.next_in = r->body.data;
    z.avail_in = (uInt)r->body.len;
    size_t max = (size_t)r->a->cfg->max_body_bytes;
    while (why == NULL && zrc != Z_STREAM_END) {
        if (out.len == max) {
            status = 413;
            why = "the inflated body is larger than max_body_bytes; send smaller batches";
            break;
        }
        size_t room = max - out.len < 65536 ? max - out.len : 65536;
        if (hs_buf_reserve(&out, room) != HS_OK) {
            status = 500;
            why = "out of memory";
            break;
        }
        z.next_out = out.data + out.len;
        z.avail_out = (uInt)room;
        zrc = inflate(&z, Z_NO_FLUSH);
        out.len += room - z.avail_out;
        if (zrc != Z_OK && zrc != Z_STREAM_END)
            why = "the body is not valid gzip";
        else if (zrc == Z_OK && z.avail_in == 0 && z.avail_out != 0)
            why = "the gzip body is cut short";
    }
    if (init)
        inflateEnd(&z);
    if (why != NULL) {
        hs_buf_free(&out);
        if (influx)
            influx_error(r, status,
                         status == 415   ? "unsupported media type"
                         : status == 413 ? "request too large"
                                         : "invalid",
                         why);
        else
            api_error(r, status, "%s", why);
        return false;
    }
    hs_buf_free(&r->body);
    r->body = out;
    return true;
}

bool api_write_route(api_req *r)
{
    bool v1 = strcmp(r->path, "/api/v1/write") == 0;
    bool v2 = strcmp(r->path, "/api/v2/write") == 0;
    if (!v1 && !v2)
        return false;
    if (strcmp(r->method, "POST") != 0) {
        api_error(r, 405, "write takes POST");
        return true;
    }
    if (!body_decoded(r, v2))
        return true;
    if (v1)
        write_v1(r);
    else
        write_v2(r);
    return true;
}
