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
#include "hs_csv.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_lineproto.h"
#include "hs_log.h"
#include "hs_proto.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Bounds of one write request to the writer, as ingest sends them. */
#define W_MANY_STREAMS 4096
#define W_MANY_BYTES   (1u << 20)
#define W_SLICE        8192 /* instances of one stream in one request at most */

/* The readings of one HTTP request, by stream. */
typedef struct wbatch {
    hs_map streams; /* sid -> hs_batch * */
    char **order;   /* sids in first-seen order (keys of streams) */
    size_t n, cap;
    uint64_t readings;
} wbatch;

static void wb_init(wbatch *w)
{
    memset(w, 0, sizeof *w);
    hs_map_init(&w->streams);
}

static void wb_free(wbatch *w)
{
    for (size_t i = 0; i < w->n; i++) {
        hs_batch *b = hs_map_get(&w->streams, w->order[i]);
        hs_batch_free(b);
        hs_free(b);
        hs_free(w->order[i]);
    }
    hs_free(w->order);
    hs_map_free(&w->streams);
}

static hs_batch *wb_stream(wbatch *w, const char *sid)
{
    hs_batch *b = hs_map_get(&w->streams, sid);
    if (b != NULL)
        return b;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        char **o = hs_realloc(w->order, cap * sizeof *o);
        if (o == NULL)
            return NULL;
        w->order = o;
        w->cap = cap;
    }
    b = hs_malloc(sizeof *b);
    char *key = hs_strdup(sid);
    if (b == NULL || key == NULL || hs_map_put(&w->streams, sid, b, NULL) != HS_OK) {
        hs_free(b);
        hs_free(key);
        return NULL;
    }
    hs_batch_init(b);
    w->order[w->n++] = key;
    return b;
}

static int wb_add(wbatch *w, const char *sid, int64_t t, const uint8_t *v, size_t vlen)
{
    hs_batch *b = wb_stream(w, sid);
    if (b == NULL)
        return HS_ERR_NOMEM;
    int rc = hs_batch_push(b, t, v, vlen);
    if (rc == HS_OK)
        w->readings++;
    return rc;
}

static int wb_add_batch(wbatch *w, const char *sid, const hs_batch *src)
{
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < src->n; i++)
        rc = wb_add(w, sid, src->items[i].t_us, hs_batch_value(src, i), src->items[i].len);
    return rc;
}

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
static int wb_commit(api *a, wbatch *w, wresult *res)
{
    memset(res, 0, sizeof *res);
    int64_t until = hs_time_mono_us() + a->cfg->write_timeout_us;
    hs_buf enc, fields;
    hs_buf_init(&enc, 0);
    hs_buf_init(&fields, 0);
    hs_proto_append *items = hs_calloc(W_MANY_STREAMS, sizeof *items);
    size_t *offs = hs_calloc(W_MANY_STREAMS + 1, sizeof *offs);
    const char **sids = hs_calloc(W_MANY_STREAMS, sizeof *sids);
    uint64_t *seqs = NULL;
    size_t nseqs = 0, capseqs = 0;
    int rc = items != NULL && offs != NULL && sids != NULL ? HS_OK : HS_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; rc == HS_OK && i <= w->n; i++) {
        hs_batch *b = i < w->n ? hs_map_get(&w->streams, w->order[i]) : NULL;
        if (b != NULL)
            hs_batch_sort(b);
        for (size_t from = 0; rc == HS_OK && (b == NULL ? from == 0 : from < b->n);) {
            size_t count = b == NULL ? 0 : (b->n - from < W_SLICE ? b->n - from : W_SLICE);
            bool flush = b == NULL || n == W_MANY_STREAMS || enc.len >= W_MANY_BYTES;
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
    c->instances_in += w->readings;
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
    hs_buf b;
    hs_buf_init(&b, 0);
    if (hs_buf_puts(&b, "{\"code\":\"invalid\",\"message\":") == HS_OK &&
        hs_json_put_string(&b, reason, strlen(reason)) == HS_OK && hs_buf_puts(&b, "}\n") == HS_OK)
        api_send_json(r, 400, &b);
    hs_buf_free(&b);
}

static void influx_error(api_req *r, unsigned status, const char *code, const char *msg)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    if (hs_buf_printf(&b, "{\"code\":\"%s\",\"message\":", code) == HS_OK &&
        hs_json_put_string(&b, msg, strlen(msg)) == HS_OK && hs_buf_puts(&b, "}\n") == HS_OK)
        api_send_json(r, status, &b);
    hs_buf_free(&b);
}

/* Commits w and answers: 204 (influx) or 200 with the counts; 409, 400, 503. */
static void commit_answer(api_req *r, wbatch *w, bool influx)
{
    if (w->readings == 0) {
        if (influx)
            api_send(r, 204, NULL, "", 0);
        else
            api_error(r, 400, "the body holds no reading");
        return;
    }
    wresult res;
    (void)wb_commit(r->a, w, &res);
    char msg[700];
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
                          w->readings, w->n, res.inserted, res.duplicates) == HS_OK)
            api_send_json(r, 200, &b);
        hs_buf_free(&b);
    }
}

/* ------------------------------------------------------------------ /api/v1/write */

static int parse_time_text(const char *s, size_t len, int64_t *t)
{
    if (hs_time_parse_iso(s, len, t) == HS_OK)
        return HS_OK;
    if (hs_time_parse_epoch(s, len, t) == HS_OK)
        return HS_OK;
    return hs_err_set(HS_ERR_PARSE, "time '%.*s' is not ISO-8601 or epoch seconds",
                      (int)(len > 60 ? 60 : len), s);
}

/* One JSON line {"stream": ID, "t": T, "v": V} (t optional: arrival time). */
static int ndjson_record(wbatch *w, const char *line, size_t len, int64_t arrival, hs_buf *sid,
                         hs_buf *scratch)
{
    hs_json_reader jr;
    hs_json_reader_init(&jr, line, len);
    hs_buf key, value;
    hs_buf_init(&key, 0);
    hs_buf_init(&value, 0);
    bool done = false, have_v = false;
    int64_t t = arrival;
    hs_buf_reset(sid);
    int rc = hs_json_object_begin(&jr);
    while (rc == HS_OK && (rc = hs_json_object_next_key(&jr, &key, &done)) == HS_OK && !done) {
        const char *k = hs_buf_cstr(&key);
        if (strcmp(k, "stream") == 0) {
            hs_buf_reset(scratch);
            rc = hs_json_get_string(&jr, scratch);
            if (rc == HS_OK)
                rc = hs_streamid_canonical((const char *)scratch->data, scratch->len, sid);
        } else if (strcmp(k, "t") == 0) {
            if (hs_json_peek(&jr) == HS_JSON_STRING) {
                hs_buf_reset(scratch);
                rc = hs_json_get_string(&jr, scratch);
                if (rc == HS_OK)
                    rc = parse_time_text((const char *)scratch->data, scratch->len, &t);
            } else {
                const char *num;
                size_t nl;
                rc = hs_json_get_number_text(&jr, &num, &nl);
                if (rc == HS_OK)
                    rc = parse_time_text(num, nl, &t);
            }
        } else if (strcmp(k, "v") == 0) {
            hs_buf_reset(&value);
            rc = hs_json_value_to_mpack(&jr, &value);
            have_v = rc == HS_OK;
        } else {
            rc = hs_err_set(HS_ERR_PARSE, "unknown member \"%s\" (want stream, t, v)", k);
        }
    }
    if (rc == HS_OK)
        rc = hs_json_expect_end(&jr);
    if (rc == HS_OK && (sid->len == 0 || !have_v))
        rc = hs_err_set(HS_ERR_PARSE, "a line needs \"stream\" and \"v\"");
    if (rc == HS_OK)
        rc = wb_add(w, hs_buf_cstr(sid), t, value.data, value.len);
    hs_buf_free(&key);
    hs_buf_free(&value);
    return rc;
}

/* CSV: header stream,t,v (or t,v with ?stream=); v read like a JSON-lines payload. */
static int csv_body(wbatch *w, const char *body, size_t len, const char *fixed_sid, int64_t arrival,
                    size_t *bad_line)
{
    hs_csv_reader cr;
    hs_csv_init(&cr, body, len);
    hs_csv_field *f;
    size_t n;
    bool done = false, header = true;
    int col_s = -1, col_t = -1, col_v = -1;
    hs_buf sid;
    hs_buf_init(&sid, 0);
    hs_batch one;
    hs_batch_init(&one);
    int rc = HS_OK;
    while (rc == HS_OK && (rc = hs_csv_next(&cr, &f, &n, &done)) == HS_OK && !done) {
        *bad_line = hs_csv_line(&cr);
        if (header) {
            header = false;
            for (size_t i = 0; i < n; i++) {
                if (f[i].len == 6 && memcmp(f[i].s, "stream", 6) == 0)
                    col_s = (int)i;
                else if (f[i].len == 1 && f[i].s[0] == 't')
                    col_t = (int)i;
                else if (f[i].len == 1 && f[i].s[0] == 'v')
                    col_v = (int)i;
                else
                    rc = hs_err_set(HS_ERR_PARSE, "unknown column '%.*s' (want stream, t, v)",
                                    (int)(f[i].len > 40 ? 40 : f[i].len), f[i].s);
            }
            if (rc == HS_OK && (col_v < 0 || (col_s < 0) == (fixed_sid == NULL)))
                rc = hs_err_set(HS_ERR_PARSE, "%s",
                                fixed_sid != NULL
                                    ? "the header must name the columns t (optional) and v"
                                    : "the header must name the columns stream, t (optional) "
                                      "and v, or the request ?stream=ID");
            continue;
        }
        int need = col_s > col_v ? col_s : col_v;
        need = col_t > need ? col_t : need;
        if ((int)n <= need) {
            rc = hs_err_set(HS_ERR_PARSE, "%zu fields, the header has more", n);
            break;
        }
        const char *s = fixed_sid;
        if (col_s >= 0) {
            hs_buf_reset(&sid);
            rc = hs_streamid_canonical(f[col_s].s, f[col_s].len, &sid);
            s = hs_buf_cstr(&sid);
        }
        int64_t t = arrival;
        if (rc == HS_OK && col_t >= 0 && f[col_t].len > 0)
            rc = parse_time_text(f[col_t].s, f[col_t].len, &t);
        if (rc == HS_OK)
            rc = hs_codec_decode_text(f[col_v].s, f[col_v].len, t, &one);
        if (rc == HS_OK && one.n != 1)
            rc = hs_err_set(HS_ERR_PARSE, "v must be one value");
        if (rc == HS_OK)
            rc = wb_add(w, s, t, hs_batch_value(&one, 0), one.items[0].len);
    }
    hs_batch_free(&one);
    hs_buf_free(&sid);
    hs_csv_free(&cr);
    return rc;
}

static void write_v1(api_req *r)
{
    const char *type = api_header(r, "Content-Type");
    const char *stream = api_param(r, "stream");
    int64_t arrival = hs_time_now_us();
    wbatch w;
    wb_init(&w);
    hs_buf sid, scratch;
    hs_buf_init(&sid, 0);
    hs_buf_init(&scratch, 0);
    const char *body = (const char *)r->body.data;
    size_t len = r->body.len;
    int rc = HS_OK;
    size_t line = 0;
    bool csv = type != NULL && strncasecmp(type, "text/csv", 8) == 0;
    bool ndjson = type != NULL && (strncasecmp(type, "application/x-ndjson", 20) == 0 ||
                                   strncasecmp(type, "application/jsonl", 17) == 0);
    char fixed[HS_SID_MAX_LEN + 1] = "";
    if (stream != NULL) {
        rc = hs_streamid_canonical(stream, strlen(stream), &sid);
        if (rc == HS_OK)
            snprintf(fixed, sizeof fixed, "%s", hs_buf_cstr(&sid));
    }
    if (rc != HS_OK) {
        /* reported below */
    } else if (len == 0) {
        rc = hs_err_set(HS_ERR_PARSE, "the body is empty");
    } else if (csv) {
        rc = csv_body(&w, body, len, stream != NULL ? fixed : NULL, arrival, &line);
    } else if (stream != NULL && !ndjson) {
        hs_batch b;
        hs_batch_init(&b);
        rc = hs_codec_decode_payload(r->body.data, len, arrival, &b);
        if (rc == HS_OK)
            rc = wb_add_batch(&w, fixed, &b);
        hs_batch_free(&b);
    } else {
        /* JSON lines: payloads of ?stream=, or records {"stream","t","v"}. */
        hs_batch b;
        hs_batch_init(&b);
        size_t i = 0;
        while (rc == HS_OK && i < len) {
            size_t e = i;
            while (e < len && body[e] != '\n')
                e++;
            line++;
            size_t l = e - i;
            if (l > 0 && body[i + l - 1] == '\r')
                l--;
            bool blank = true;
            for (size_t k = 0; k < l && blank; k++)
                blank = body[i + k] == ' ' || body[i + k] == '\t';
            if (!blank && stream != NULL) {
                rc = hs_codec_decode_text(body + i, l, arrival, &b);
                if (rc == HS_OK)
                    rc = wb_add_batch(&w, fixed, &b);
            } else if (!blank) {
                rc = ndjson_record(&w, body + i, l, arrival, &sid, &scratch);
            }
            i = e + 1;
        }
        hs_batch_free(&b);
    }
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
    hs_buf_free(&scratch);
    wb_free(&w);
}

/* ------------------------------------------------------------------ /api/v2/write */

static int lp_one(void *ud, const char *sid, int64_t t_us, const uint8_t *v, size_t vlen,
                  size_t line)
{
    (void)line;
    return wb_add(ud, sid, t_us, v, vlen);
}

static void write_v2(api_req *r)
{
    hs_lp_precision prec;
    if (hs_lp_precision_parse(api_param(r, "precision"), &prec) != HS_OK) {
        influx_error(r, 400, "invalid", hs_err_detail());
        return;
    }
    const char *enc = api_header(r, "Content-Encoding");
    if (enc != NULL && strcasecmp(enc, "identity") != 0) {
        influx_error(r, 415, "unsupported media type",
                     "Content-Encoding is not supported; send the body uncompressed (Telegraf: "
                     "content_encoding = \"identity\")");
        return;
    }
    wbatch w;
    wb_init(&w);
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
    wb_free(&w);
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
    if (v1)
        write_v1(r);
    else
        write_v2(r);
    return true;
}
