/*
 * Reading under /api/v1/: streams, their data (streamed from a store
 * cursor), intervals, workflows, compute requests, job history, services,
 * tools, dead letters, and live results as Server-Sent Events.
 */
#include "api.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_streamid.h"
#include "hs_time.h"
#include "hs_tool.h"
#include "hs_workflow.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Most stream definitions in one page of GET /api/v1/streams. */
#define STREAMS_PAGE_MAX 100000

static bool is_get(const api_req *r)
{
    return strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
}

/* Whether a non-negative whole number parameter is valid (absent: dflt). */
static bool count_param(api_req *r, const char *name, long long dflt, long long max, long long *out)
{
    const char *v = api_param(r, name);
    if (v == NULL || v[0] == '\0') {
        *out = dflt;
        return true;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end != '\0' || n < 0 || n > max) {
        api_error(r, 400, "%s=%s must be a whole number from 0 to %lld", name, v, max);
        return false;
    }
    *out = n;
    return true;
}

static int put_intervals(hs_buf *b, const hs_intervals *iv)
{
    int rc = hs_buf_putc(b, '[');
    for (size_t i = 0; rc == HS_OK && i < iv->n; i++)
        rc = hs_buf_printf(b, "%s[%" PRId64 ",%" PRId64 "]", i ? "," : "", iv->v[i].start,
                           iv->v[i].end);
    if (rc == HS_OK)
        rc = hs_buf_putc(b, ']');
    return rc;
}

static const char *kind_name(int k)
{
    return k == HS_STREAM_RAW ? "raw" : k == HS_STREAM_COMPUTED ? "computed" : "asset";
}

static int put_stream(hs_buf *b, const hs_stream_info *info)
{
    char upd[HS_TIME_ISO_MAX];
    hs_time_format_iso(info->updated_us, upd);
    int rc = hs_buf_puts(b, "{\"id\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(b, info->id, strlen(info->id));
    if (rc == HS_OK)
        rc = hs_buf_printf(
            b, ",\"kind\":\"%s\",\"updated\":\"%s\",\"intervals\":", kind_name(info->kind), upd);
    if (rc == HS_OK)
        rc = put_intervals(b, &info->calculated);
    if (rc == HS_OK)
        rc = hs_buf_puts(b, ",\"binding\":");
    if (rc == HS_OK)
        rc = info->binding != NULL ? hs_buf_puts(b, info->binding) : hs_buf_puts(b, "null");
    if (rc == HS_OK)
        rc = hs_buf_putc(b, '}');
    return rc;
}

/* ------------------------------------------------------------------ stream list */

typedef struct list_ctx {
    hs_buf *out;
    const char *after;
    int kind; /* -1: any */
    long long limit, n;
    const char *next;
    char *last;
    int rc;
} list_ctx;

static int list_one(void *ud, const hs_stream_info *info)
{
    list_ctx *c = ud;
    if (c->after != NULL && strcmp(info->id, c->after) <= 0)
        return 0;
    if (c->kind >= 0 && info->kind != c->kind)
        return 0;
    if (c->n == c->limit)
        return 1; /* one more exists: the page has a next */
    c->rc = hs_buf_puts(c->out, c->n > 0 ? "," : "");
    if (c->rc == HS_OK)
        c->rc = put_stream(c->out, info);
    if (c->rc != HS_OK)
        return -1;
    c->n++;
    hs_free(c->last);
    c->last = hs_strdup(info->id);
    return 0;
}

static void streams_list(api_req *r)
{
    long long limit;
    if (!count_param(r, "limit", 1000, STREAMS_PAGE_MAX, &limit))
        return;
    const char *kind = api_param(r, "kind");
    int k = -1;
    if (kind != NULL && kind[0] != '\0') {
        k = strcmp(kind, "raw") == 0        ? HS_STREAM_RAW
            : strcmp(kind, "computed") == 0 ? HS_STREAM_COMPUTED
            : strcmp(kind, "asset") == 0    ? HS_STREAM_ASSET
                                            : -2;
        if (k == -2) {
            api_error(r, 400, "kind=%s: want raw, computed or asset", kind);
            return;
        }
    }
    const char *prefix = api_param(r, "prefix");
    hs_store *s = api_store_get(r);
    if (s == NULL)
        return;
    hs_buf b;
    hs_buf_init(&b, 0);
    list_ctx c = {&b, api_param(r, "after"), k, limit, 0, NULL, NULL, HS_OK};
    int rc = hs_buf_puts(&b, "{\"streams\":[");
    int lrc =
        rc == HS_OK ? hs_store_stream_list(s, prefix != NULL ? prefix : "", list_one, &c) : rc;
    api_store_put(r->a, s);
    bool more = lrc == 1;
    if (lrc < 0 || (lrc > 1 && lrc != HS_OK) || c.rc != HS_OK) {
        api_error(r, 500, "cannot list streams: %s", hs_err_detail());
    } else {
        rc = hs_buf_puts(&b, "],\"next\":");
        if (rc == HS_OK && more && c.last != NULL)
            rc = hs_json_put_string(&b, c.last, strlen(c.last));
        else if (rc == HS_OK)
            rc = hs_buf_puts(&b, "null");
        if (rc == HS_OK)
            rc = hs_buf_puts(&b, "}\n");
        api_answer_json(r, rc, &b);
    }
    hs_free(c.last);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ one stream */

/*
 * Reads the definition of stream sid into info (the caller frees it), and
 * its number of instances into *count and its reopened intervals into
 * reopened when they are not NULL. False after answering 404 or 500.
 */
static bool stream_read(api_req *r, const char *sid, hs_stream_info *info, int64_t *count,
                        hs_intervals *reopened)
{
    memset(info, 0, sizeof *info);
    hs_store *s = api_store_get(r);
    if (s == NULL)
        return false;
    int rc = hs_store_stream_get(s, sid, info);
    if (rc == HS_OK && count != NULL)
        rc = hs_store_count(s, sid, hs_store_all_time(), count);
    if (rc == HS_OK && reopened != NULL) {
        hs_buf doc;
        hs_buf_init(&doc, 0);
        rc = hs_proto_reopened_doc_read(s, sid, &doc, reopened);
        hs_buf_free(&doc);
    }
    api_store_put(r->a, s);
    if (rc == HS_ERR_NOTFOUND)
        api_error(r, 404, "no stream %s", sid);
    else if (rc != HS_OK)
        api_error(r, 500, "cannot read stream %s: %s", sid, hs_err_detail());
    if (rc != HS_OK)
        hs_stream_info_free(info);
    return rc == HS_OK;
}

/* GET /api/v1/streams/{id}: the definition and the number of instances. */
static void stream_one(api_req *r, const char *sid)
{
    hs_stream_info info;
    int64_t count = 0;
    if (!stream_read(r, sid, &info, &count, NULL))
        return;
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = put_stream(&b, &info);
    if (rc == HS_OK) {
        b.len--; /* reopen the object */
        rc = hs_buf_printf(&b, ",\"count\":%" PRId64 "}\n", count);
    }
    hs_stream_info_free(&info);
    api_answer_json(r, rc, &b);
    hs_buf_free(&b);
}

/* GET /api/v1/streams/{id}/intervals: calculated and reopened intervals. */
static void stream_intervals(api_req *r, const char *sid)
{
    hs_stream_info info;
    hs_intervals reopened;
    hs_intervals_init(&reopened);
    if (!stream_read(r, sid, &info, NULL, &reopened)) {
        hs_intervals_free(&reopened);
        return;
    }
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hs_buf_puts(&b, "{\"stream\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(&b, sid, strlen(sid));
    if (rc == HS_OK)
        rc = hs_buf_puts(&b, ",\"calculated\":");
    if (rc == HS_OK)
        rc = put_intervals(&b, &info.calculated);
    if (rc == HS_OK)
        rc = hs_buf_puts(&b, ",\"reopened\":");
    if (rc == HS_OK)
        rc = put_intervals(&b, &reopened);
    if (rc == HS_OK)
        rc = hs_buf_puts(&b, "}\n");
    api_answer_json(r, rc, &b);
    hs_buf_free(&b);
    hs_intervals_free(&reopened);
    hs_stream_info_free(&info);
}

/* ------------------------------------------------------------------ stream data, streamed */

typedef enum { FMT_JSON, FMT_NDJSON, FMT_CSV } data_fmt;

typedef struct data_ctx {
    api *a;
    hs_store *store;
    hs_store_cursor *cur;
    hs_batch batch;
    size_t next; /* next instance of batch to format */
    hs_buf out;  /* formatted, not yet handed over */
    size_t off;  /* bytes of out handed over */
    data_fmt fmt;
    long long left; /* instances still allowed (limit) */
    bool started, ended, failed;
    uint64_t count;
} data_ctx;

/* Formats the next chunk into c->out; false at the end (or on an error). */
static bool data_more(data_ctx *c)
{
    hs_buf_reset(&c->out);
    c->off = 0;
    int rc = HS_OK;
    if (!c->started) {
        c->started = true;
        rc = c->fmt == FMT_JSON  ? hs_buf_putc(&c->out, '[')
             : c->fmt == FMT_CSV ? hs_buf_puts(&c->out, "t,v\n")
                                 : HS_OK;
    }
    while (rc == HS_OK && !c->ended && c->out.len < 48 * 1024) {
        if (c->next == c->batch.n) {
            c->next = 0;
            if (c->left == 0 || (rc = hs_store_cursor_next(c->cur, &c->batch)) != HS_OK ||
                c->batch.n == 0) {
                c->ended = true;
                c->batch.n = 0;
                break;
            }
        }
        size_t i = c->next++;
        if (c->left > 0)
            c->left--;
        const uint8_t *v = hs_batch_value(&c->batch, i);
        int64_t t = c->batch.items[i].t_us;
        if (c->fmt == FMT_CSV) {
            char iso[HS_TIME_ISO_MAX];
            size_t n = hs_time_format_iso(t, iso);
            rc = hs_buf_append(&c->out, iso, n);
            if (rc == HS_OK)
                rc = hs_buf_putc(&c->out, ',');
            if (rc == HS_OK)
                rc = apic_csv_value(&c->out, v, c->batch.items[i].len);
            if (rc == HS_OK)
                rc = hs_buf_putc(&c->out, '\n');
        } else {
            if (c->fmt == FMT_JSON && c->count > 0)
                rc = hs_buf_putc(&c->out, ',');
            if (rc == HS_OK)
                rc = hs_codec_encode_json_line(t, v, c->batch.items[i].len, &c->out);
            if (rc == HS_OK && c->fmt == FMT_JSON)
                c->out.len--; /* no line end inside the array */
        }
        c->count++;
        if (c->left == 0)
            c->ended = true;
    }
    if (rc == HS_OK && c->ended && c->fmt == FMT_JSON)
        rc = hs_buf_puts(&c->out, "]\n");
    if (rc != HS_OK) {
        c->failed = true;
        hs_warn(hs_service_log(c->a->svc), "stream data response cut: %s", hs_err_detail());
    }
    return c->out.len > 0 && !c->failed;
}

static ssize_t data_fill(void *ud, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    data_ctx *c = ud;
    if (c->off == c->out.len) {
        if (c->failed || (c->ended && c->started) || !data_more(c))
            return c->failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t k = c->out.len - c->off < max ? c->out.len - c->off : max;
    memcpy(buf, c->out.data + c->off, k);
    c->off += k;
    return (ssize_t)k;
}

static void data_done(void *ud)
{
    data_ctx *c = ud;
    hs_store_cursor_close(c->cur);
    api_store_put(c->a, c->store);
    hs_batch_free(&c->batch);
    hs_buf_free(&c->out);
    hs_free(c);
}

static void stream_data(api_req *r, const char *sid)
{
    int64_t from, to;
    long long limit;
    hs_interval all = hs_store_all_time();
    if (!api_time_param(r, "from", all.start, &from) || !api_time_param(r, "to", all.end, &to) ||
        !count_param(r, "limit", -1, INT64_MAX, &limit))
        return;
    if (api_param(r, "limit") == NULL)
        limit = -1;
    if (from >= to) {
        api_error(r, 400, "from must be before to");
        return;
    }
    const char *f = api_param(r, "format");
    const char *accept = api_header(r, "Accept");
    data_fmt fmt = FMT_JSON;
    if (f != NULL && f[0] != '\0') {
        if (strcmp(f, "ndjson") == 0)
            fmt = FMT_NDJSON;
        else if (strcmp(f, "csv") == 0)
            fmt = FMT_CSV;
        else if (strcmp(f, "json") != 0) {
            api_error(r, 400, "format=%s: want json, ndjson or csv", f);
            return;
        }
    } else if (accept != NULL && strstr(accept, "application/x-ndjson") != NULL) {
        fmt = FMT_NDJSON;
    } else if (accept != NULL && strstr(accept, "text/csv") != NULL) {
        fmt = FMT_CSV;
    }
    hs_store *s = api_store_get(r);
    if (s == NULL)
        return;
    hs_stream_info info;
    memset(&info, 0, sizeof info);
    int rc = hs_store_stream_get(s, sid, &info);
    hs_stream_info_free(&info);
    hs_store_cursor *cur = NULL;
    if (rc == HS_OK)
        rc = hs_store_read(s, sid, (hs_interval){from, to}, 4096, &cur);
    if (rc != HS_OK) {
        api_store_put(r->a, s);
        if (rc == HS_ERR_NOTFOUND)
            api_error(r, 404, "no stream %s", sid);
        else
            api_error(r, 500, "cannot read stream %s: %s", sid, hs_err_detail());
        return;
    }
    data_ctx *c = hs_calloc(1, sizeof *c);
    if (c == NULL) {
        hs_store_cursor_close(cur);
        api_store_put(r->a, s);
        api_error(r, 500, "out of memory");
        return;
    }
    c->a = r->a;
    c->store = s;
    c->cur = cur;
    c->fmt = fmt;
    c->left = limit;
    hs_batch_init(&c->batch);
    hs_buf_init(&c->out, 0);
    const char *type = fmt == FMT_JSON     ? "application/json"
                       : fmt == FMT_NDJSON ? "application/x-ndjson"
                                           : "text/csv; charset=utf-8";
    api_send_stream(r, 200, type, data_fill, data_done, c);
}

/* ------------------------------------------------------------------ documents */

typedef struct doc_ctx {
    hs_buf *out;
    size_t n;
    int rc;
    bool with_key;
} doc_ctx;

static int doc_one(void *ud, const char *key, const char *json)
{
    doc_ctx *c = ud;
    int rc = hs_buf_puts(c->out, c->n > 0 ? "," : "");
    if (rc == HS_OK && c->with_key) {
        rc = hs_buf_puts(c->out, "{\"key\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(c->out, key, strlen(key));
        if (rc == HS_OK)
            rc = hs_buf_puts(c->out, ",\"doc\":");
    }
    if (rc == HS_OK)
        rc = hs_buf_puts(c->out, json);
    if (rc == HS_OK && c->with_key)
        rc = hs_buf_putc(c->out, '}');
    c->n++;
    c->rc = rc;
    return rc == HS_OK ? 0 : -1;
}

/* {"<name>": [docs of coll under prefix]} newest (last key) first when reverse. */
static void docs_list(api_req *r, const char *name, const char *coll, const char *prefix,
                      bool reverse, bool with_key)
{
    long long limit;
    if (!count_param(r, "limit", 100, 100000, &limit))
        return;
    hs_store *s = api_store_get(r);
    if (s == NULL)
        return;
    hs_buf b;
    hs_buf_init(&b, 0);
    doc_ctx c = {&b, 0, HS_OK, with_key};
    int rc = hs_buf_printf(&b, "{\"%s\":[", name);
    if (rc == HS_OK)
        rc = hs_store_doc_list(s, coll, prefix, reverse, (size_t)limit, doc_one, &c);
    api_store_put(r->a, s);
    if (rc == HS_OK && c.rc == HS_OK)
        rc = hs_buf_puts(&b, "]}\n");
    if (rc == HS_OK && c.rc == HS_OK)
        api_send_json(r, 200, &b);
    else
        api_error(r, 500, "cannot list %s: %s", coll, hs_err_detail());
    hs_buf_free(&b);
}

/* The graph of wf as Graphviz text (graph.dot) or, through Graphviz dot, SVG (graph.svg). */
static void workflow_graph(api_req *r, const hs_workflow *wf, bool svg)
{
    hs_buf dot;
    hs_buf_init(&dot, 0);
    if (hs_workflow_to_dot(wf, &dot) != HS_OK) {
        api_error(r, 500, "out of memory");
        hs_buf_free(&dot);
        return;
    }
    if (!svg) {
        api_send(r, 200, "text/vnd.graphviz; charset=utf-8", dot.data, dot.len);
        hs_buf_free(&dot);
        return;
    }
    char path[] = "/tmp/hs-api-graph-XXXXXX";
    int fd = mkstemp(path);
    bool written = fd >= 0 && write(fd, dot.data, dot.len) == (ssize_t)dot.len;
    if (fd >= 0)
        close(fd);
    hs_buf out;
    hs_buf_init(&out, 0);
    int st = -1;
    if (written) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' 2>/dev/null", path);
        FILE *p = popen(cmd, "r");
        if (p != NULL) {
            char chunk[8192];
            size_t n;
            while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
                if (out.len < (16u << 20))
                    (void)hs_buf_append(&out, chunk, n);
            st = pclose(p);
        }
    }
    if (fd >= 0)
        unlink(path);
    if (st == 0 && out.len > 0)
        api_send(r, 200, "image/svg+xml", out.data, out.len);
    else
        api_error(r, 501,
                  "Graphviz dot is not installed here (apt-get install graphviz); graph.dot gives "
                  "the graph as Graphviz text");
    hs_buf_free(&out);
    hs_buf_free(&dot);
}

/*
 * GET /api/v1/workflows/{id}: the stored definition and its parsed form;
 * with action graph.dot or graph.svg, its graph.
 */
static void workflow_one(api_req *r, const char *id, const char *action)
{
    hs_store *s = api_store_get(r);
    if (s == NULL)
        return;
    hs_buf doc;
    hs_buf_init(&doc, 0);
    int rc = hs_store_doc_get(s, "workflows", id, &doc);
    api_store_put(r->a, s);
    if (rc == HS_ERR_NOTFOUND) {
        api_error(r, 404, "no workflow %s", id);
        hs_buf_free(&doc);
        return;
    }
    hs_proto_workflow_doc_msg m;
    if (rc == HS_OK)
        rc = hs_proto_workflow_doc_decode(&m, (const char *)doc.data, doc.len);
    if (rc != HS_OK) {
        api_error(r, 500, "cannot read workflow %s: %s", id, hs_err_detail());
        hs_buf_free(&doc);
        return;
    }
    hs_buf b, errs;
    hs_buf_init(&b, 0);
    hs_buf_init(&errs, 0);
    hs_workflow *wf = NULL;
    rc = hs_buf_puts(&b, "{\"id\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(&b, id, strlen(id));
    if (rc == HS_OK)
        rc = hs_buf_printf(&b, ",\"added\":\"%s\",\"definition\":", m.d.added ? m.d.added : "");
    if (rc == HS_OK)
        rc = hs_json_put_string(&b, m.d.text, strlen(m.d.text));
    if (rc == HS_OK)
        rc = hs_buf_puts(&b, ",\"workflow\":");
    hs_tool_registry *reg = r->a->tools;
    bool parsed = rc == HS_OK && reg != NULL &&
                  hs_workflow_parse(m.d.text, strlen(m.d.text), m.d.filename ? m.d.filename : id,
                                    reg, &wf, &errs) == HS_OK;
    if (action[0] != '\0') {
        if (parsed)
            workflow_graph(r, wf, strcmp(action, "graph.svg") == 0);
        else
            api_error(r, 500, "workflow %s does not load here: %s", id, hs_buf_cstr(&errs));
        rc = HS_OK;
    } else if (parsed)
        rc = hs_workflow_to_json(wf, &b);
    else if (rc == HS_OK)
        rc = hs_buf_puts(&b, "null");
    if (rc == HS_OK && action[0] == '\0')
        rc = hs_buf_puts(&b, "}\n");
    if (rc == HS_OK)
        api_send_json(r, 200, &b); /* nothing when the graph was answered already */
    else
        api_error(r, 500, "out of memory");
    hs_workflow_destroy(wf);
    hs_proto_workflow_doc_msg_free(&m);
    hs_buf_free(&errs);
    hs_buf_free(&b);
    hs_buf_free(&doc);
}

static void tools_list(api_req *r)
{
    hs_tool_registry *reg = r->a->tools;
    if (reg == NULL) {
        api_error(r, 500, "out of memory");
        return;
    }
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hs_buf_puts(&b, "{\"tools\":[");
    for (size_t i = 0; rc == HS_OK && i < hs_tool_registry_count(reg); i++) {
        const hs_tool_def *d = hs_tool_registry_at(reg, i);
        const char *kind = d->kind == HS_TOOL_AGGREGATE ? "aggregate"
                           : d->kind == HS_TOOL_MULTI   ? "multi-output"
                           : d->kind == HS_TOOL_PLAIN   ? "plain"
                                                        : "other";
        rc = hs_buf_printf(&b, "%s{\"name\":", i ? "," : "");
        if (rc == HS_OK)
            rc = hs_json_put_string(&b, d->name, strlen(d->name));
        if (rc == HS_OK)
            rc = hs_buf_printf(
                &b, ",\"version\":\"%s\",\"newest\":%s,\"kind\":\"%s\",\"summary\":", d->version,
                hs_tool_registry_find(reg, d->name) == d ? "true" : "false", kind);
        if (rc == HS_OK)
            rc = hs_json_put_string(&b, d->summary ? d->summary : "",
                                    d->summary ? strlen(d->summary) : 0);
        if (rc == HS_OK)
            rc = hs_buf_putc(&b, '}');
    }
    if (rc == HS_OK)
        rc = hs_buf_puts(&b, "]}\n");
    api_answer_json(r, rc, &b);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ bus state */

static int key_cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void services_list(api_req *r)
{
    api *a = r->a;
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hs_buf_puts(&b, "{\"services\":[");
    pthread_mutex_lock(&a->mu);
    size_t n = a->status.n, k = 0, pos = 0;
    const char **keys = hs_calloc(n + 1, sizeof *keys);
    hs_map_entry *e;
    while (keys != NULL && (e = hs_map_next(&a->status, &pos)) != NULL && k < n)
        keys[k++] = e->key;
    if (keys != NULL)
        qsort(keys, k, sizeof *keys, key_cmp);
    for (size_t i = 0; rc == HS_OK && keys != NULL && i < k; i++) {
        const char *st = hs_map_get(&a->status, keys[i]);
        rc = hs_buf_puts(&b, i ? "," : "");
        if (rc == HS_OK)
            rc = hs_buf_puts(&b, st);
    }
    pthread_mutex_unlock(&a->mu);
    if (keys == NULL)
        rc = HS_ERR_NOMEM;
    hs_free(keys);
    if (rc == HS_OK)
        rc = hs_buf_puts(&b, "]}\n");
    api_answer_json(r, rc, &b);
    hs_buf_free(&b);
}

static void dead_list(api_req *r)
{
    long long limit;
    if (!count_param(r, "limit", 100, 1000000, &limit))
        return;
    api *a = r->a;
    size_t cap = (size_t)a->cfg->dead_keep;
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hs_buf_puts(&b, "{\"dead\":[");
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; rc == HS_OK && i < a->dead_n && (long long)i < limit; i++) {
        size_t slot = (a->dead_head + a->dead_n - 1 - i) % cap; /* newest first */
        rc = hs_buf_puts(&b, i ? "," : "");
        if (rc == HS_OK)
            rc = hs_buf_puts(&b, a->dead[slot]);
    }
    pthread_mutex_unlock(&a->mu);
    if (rc == HS_OK)
        rc = hs_buf_puts(&b, "]}\n");
    api_answer_json(r, rc, &b);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ Server-Sent Events */

typedef struct sse_ctx {
    api *a;
    api_sub *sub;
    bool hello;
} sse_ctx;

static ssize_t sse_fill(void *ud, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse_ctx *c = ud;
    if (!c->hello) {
        c->hello = true;
        static const char hello[] = ": hyperstream live\nretry: 2000\n\n";
        size_t n = sizeof hello - 1 < max ? sizeof hello - 1 : max;
        memcpy(buf, hello, n);
        return (ssize_t)n;
    }
    ssize_t n = api_bus_sub_take(c->a, c->sub, buf, max, 15000);
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n == 0) {
        /* A comment every 15 s keeps proxies from closing an idle stream. */
        static const char ka[] = ": keepalive\n\n";
        if (max < sizeof ka - 1)
            return 0;
        memcpy(buf, ka, sizeof ka - 1);
        return (ssize_t)(sizeof ka - 1);
    }
    return n;
}

static void sse_done(void *ud)
{
    sse_ctx *c = ud;
    api_bus_unsub(c->a, c->sub);
    hs_free(c);
}

/* Answers with the events of sub (taken: freed when the stream ends). */
static void sse_start_sub(api_req *r, api_sub *sub)
{
    sse_ctx *c = hs_calloc(1, sizeof *c);
    if (c == NULL) {
        api_bus_unsub(r->a, sub);
        api_error(r, 500, "out of memory");
        return;
    }
    c->a = r->a;
    c->sub = sub;
    api_send_stream(r, 200, "text/event-stream", sse_fill, sse_done, c);
}

static void sse_start(api_req *r, const char *const *filters, int n)
{
    api_sub *sub = api_bus_sub(r->a, filters, n);
    if (sub == NULL) {
        api_error(r, 503, "cannot subscribe: %s", hs_err_detail());
        return;
    }
    sse_start_sub(r, sub);
}

/* Whether pat is an MQTT filter: '+' and a final '#' only as whole levels. */
static bool filter_ok(const char *pat)
{
    size_t n = strlen(pat);
    if (n == 0 || n > 400)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool starts = i == 0 || pat[i - 1] == '/';
        bool ends = i + 1 == n || pat[i + 1] == '/';
        if (pat[i] == '+' && !(starts && ends))
            return false;
        if (pat[i] == '#' && !(starts && i + 1 == n))
            return false;
    }
    return true;
}

/* GET /api/v1/live?stream=PATTERN: results and corrections of the streams PATTERN matches. */
static void live(api_req *r)
{
    const char *pat = api_param(r, "stream");
    if (pat == NULL || !filter_ok(pat)) {
        api_error(r, 400,
                  "stream=PATTERN is required: a stream id, or an MQTT filter over stream ids "
                  "such as temp/# or temp/+/room=k (in a URL, # is %%23 and + is %%2B)");
        return;
    }
    hs_buf sid;
    hs_buf_init(&sid, 0);
    /* A plain id is made canonical (pairs sorted), as the writer publishes it. */
    if (strpbrk(pat, "+#") == NULL) {
        if (hs_streamid_canonical(pat, strlen(pat), &sid) != HS_OK) {
            api_error(r, 400,
                      "invalid stream id: %s (a filter's # is %%23 and + is %%2B in a URL; a "
                      "space there is a + that was not written %%2B)",
                      hs_err_detail());
            hs_buf_free(&sid);
            return;
        }
        pat = hs_buf_cstr(&sid);
    }
    char f1[512], f2[512];
    const char *pf = r->a->cfg->common.prefix;
    snprintf(f1, sizeof f1, "%s/s/%s", pf, pat);
    snprintf(f2, sizeof f2, "%s/c/%s", pf, pat);
    const char *fs[2] = {f1, f2};
    sse_start(r, fs, 2);
    hs_buf_free(&sid);
}

/* GET /api/v1/requests/{id}/events: the progress of a compute request. */
static void request_events(api_req *r, const char *id)
{
    char f[512];
    if (strpbrk(id, "+#/") != NULL || strlen(id) > 63) {
        api_error(r, 400, "bad request id %s", id);
        return;
    }
    snprintf(f, sizeof f, "%s/progress/%s", r->a->cfg->common.prefix, id);
    const char *fs[1] = {f};
    /* Subscribed before the stored state is read, so that no event falls between them. */
    api_sub *sub = api_bus_sub(r->a, fs, 1);
    if (sub == NULL) {
        api_error(r, 503, "cannot subscribe: %s", hs_err_detail());
        return;
    }
    hs_store *s = api_store_get(r);
    hs_buf doc, ev;
    hs_buf_init(&doc, 0);
    hs_buf_init(&ev, 0);
    int rc = s != NULL ? hs_store_doc_get(s, "requests", id, &doc) : HS_ERR_IO;
    api_store_put(r->a, s);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND) {
        api_bus_unsub(r->a, sub);
        if (s != NULL)
            api_error(r, 500, "cannot read request %s: %s", id, hs_err_detail());
        hs_buf_free(&doc);
        return;
    }
    /*
     * The stored state comes first; a final one ends the stream after it. A
     * request not known yet (an id of the client's own, opened before it posts
     * the compute, as the dashboard does) is said so in a comment.
     */
    bool ok;
    if (rc == HS_ERR_NOTFOUND) {
        ok = hs_buf_printf(&ev, ": no request %s yet: its progress follows once it is posted\n\n",
                           id) == HS_OK;
        hs_buf_reset(&doc);
    } else {
        ok = hs_buf_puts(&ev, "event: progress\ndata: ") == HS_OK;
        for (size_t i = 0; ok && i < doc.len; i++)
            if (doc.data[i] != '\n' && doc.data[i] != '\r')
                ok = hs_buf_putc(&ev, doc.data[i]) == HS_OK;
        ok = ok && hs_buf_puts(&ev, "\n\n") == HS_OK;
    }
    pthread_mutex_lock(&r->a->mu);
    sub->progress = true;
    if (ok && hs_buf_reserve(&sub->queue, ev.len) == HS_OK) {
        memmove(sub->queue.data + ev.len, sub->queue.data, sub->queue.len);
        memcpy(sub->queue.data, ev.data, ev.len);
        sub->queue.len += ev.len;
    }
    if (api_progress_final((const char *)doc.data, doc.len))
        sub->closed = true;
    pthread_mutex_unlock(&r->a->mu);
    hs_buf_free(&doc);
    hs_buf_free(&ev);
    sse_start_sub(r, sub);
}

/* ------------------------------------------------------------------ routing */

/*
 * Splits "/api/v1/streams/<id>[/<action>]": the id is the first segment and
 * every following one that holds '=' (meta-data pairs); a segment without '='
 * after them is the action. Canonicalizes the id into sid.
 */
static bool stream_path(api_req *r, const char *rest, hs_buf *sid, const char **action)
{
    const char *p = strchr(rest, '/');
    while (p != NULL) {
        const char *q = strchr(p + 1, '/');
        size_t seg = q != NULL ? (size_t)(q - p - 1) : strlen(p + 1);
        if (memchr(p + 1, '=', seg) == NULL)
            break;
        p = q;
    }
    size_t idlen = p != NULL ? (size_t)(p - rest) : strlen(rest);
    *action = p != NULL ? p + 1 : "";
    if (hs_streamid_canonical(rest, idlen, sid) != HS_OK) {
        api_error(r, 400, "invalid stream id: %s", hs_err_detail());
        return false;
    }
    return true;
}

bool api_stream_route(api_req *r, const char *rest, const char *method);

bool api_read_route(api_req *r)
{
    const char *p = r->path;
    if (strncmp(p, "/api/v1/", 8) != 0)
        return false;
    p += 8;
    if (strncmp(p, "streams/", 8) == 0 && p[8] != '\0') {
        hs_buf sid;
        hs_buf_init(&sid, 0);
        const char *action;
        if (stream_path(r, p + 8, &sid, &action)) {
            const char *id = hs_buf_cstr(&sid);
            if (!is_get(r) && strcmp(action, "invalidate") != 0)
                api_error(r, 405, "%s is not allowed on %s", r->method, r->path);
            else if (strcmp(action, "") == 0)
                stream_one(r, id);
            else if (strcmp(action, "data") == 0)
                stream_data(r, id);
            else if (strcmp(action, "intervals") == 0)
                stream_intervals(r, id);
            else if (!api_stream_route(r, id, action))
                api_error(r, 404, "streams/{id}/%s: want data, intervals or invalidate", action);
        }
        hs_buf_free(&sid);
        return true;
    }
    if (!is_get(r))
        return false;
    if (strcmp(p, "streams") == 0)
        streams_list(r);
    else if (strcmp(p, "workflows") == 0)
        docs_list(r, "workflows", "workflows", "", false, false);
    else if (strncmp(p, "workflows/", 10) == 0 && strchr(p + 10, '/') == NULL && p[10] != '\0')
        workflow_one(r, p + 10, "");
    else if (strncmp(p, "workflows/", 10) == 0 && p[10] != '\0' && strchr(p + 10, '/') != NULL &&
             (strcmp(strchr(p + 10, '/'), "/graph.svg") == 0 ||
              strcmp(strchr(p + 10, '/'), "/graph.dot") == 0)) {
        char id[256];
        const char *slash = strchr(p + 10, '/');
        if ((size_t)(slash - (p + 10)) >= sizeof id) {
            api_error(r, 400, "workflow id too long");
            return true;
        }
        snprintf(id, sizeof id, "%.*s", (int)(slash - (p + 10)), p + 10);
        workflow_one(r, id, slash + 1);
    } else if (strcmp(p, "requests") == 0)
        docs_list(r, "requests", "requests", "", true, true);
    else if (strncmp(p, "requests/", 9) == 0 && p[9] != '\0') {
        const char *id = p + 9;
        const char *slash = strchr(id, '/');
        if (slash != NULL && strcmp(slash, "/events") == 0) {
            char *rid = hs_strndup(id, (size_t)(slash - id));
            if (rid != NULL)
                request_events(r, rid);
            else
                api_error(r, 500, "out of memory");
            hs_free(rid);
        } else if (slash == NULL) {
            hs_store *s = api_store_get(r);
            if (s == NULL)
                return true;
            hs_buf doc;
            hs_buf_init(&doc, 0);
            int rc = hs_store_doc_get(s, "requests", id, &doc);
            api_store_put(r->a, s);
            if (rc == HS_ERR_NOTFOUND)
                api_error(r, 404, "no compute request %s", id);
            else if (rc != HS_OK)
                api_error(r, 500, "cannot read request %s: %s", id, hs_err_detail());
            else
                api_send_json(r, 200, &doc);
            hs_buf_free(&doc);
        } else {
            return false;
        }
    } else if (strcmp(p, "jobs") == 0) {
        const char *wf = api_param(r, "workflow");
        /* One workflow's jobs: the keys under "<workflow>/". */
        hs_buf prefix;
        hs_buf_init(&prefix, 0);
        if (wf != NULL && wf[0] != '\0')
            (void)hs_buf_printf(&prefix, "%s/", wf);
        if (hs_buf_error(&prefix) == HS_OK)
            docs_list(r, "jobs", "history", hs_buf_cstr(&prefix), true, false);
        else
            api_error(r, 500, "out of memory");
        hs_buf_free(&prefix);
    } else if (strcmp(p, "services") == 0)
        services_list(r);
    else if (strcmp(p, "tools") == 0)
        tools_list(r);
    else if (strcmp(p, "dead") == 0)
        dead_list(r);
    else if (strcmp(p, "live") == 0)
        live(r);
    else
        return false;
    return true;
}
