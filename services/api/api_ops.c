/*
 * Changing things under /api/v1/: workflows (add, remove, check), compute
 * and cancel, the meta-data tree (through the scheduler's API), and stream
 * invalidation (a write request to the writer).
 */
#include "api.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_proto.h"
#include "hs_streamid.h"
#include "hs_time.h"
#include "hs_tool.h"
#include "hs_workflow.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

/*
 * Sends q to the scheduler and answers with its reply: 200 (ok_status) with
 * the reply's JSON, 400 with it when the scheduler refused (404 when it names
 * an unknown workflow or request), 504 when no reply came.
 */
static void scheduler_call(api_req *r, const hs_proto_api_req *q, unsigned ok_status)
{
    hs_buf req, reply;
    hs_buf_init(&req, 0);
    hs_buf_init(&reply, 0);
    int rc = hs_proto_api_req_encode(&req, q);
    if (rc != HS_OK) {
        api_error(r, 400, "%s", hs_err_detail());
        goto out;
    }
    rc = api_bus_scheduler(r->a, hs_buf_cstr(&req), &reply);
    if (rc == HS_ERR_CLOSED && r->a->stopping) {
        api_error(r, 503, "hs-api is stopping; try again");
        goto out;
    }
    if (rc != HS_OK) {
        api_error(r, 504, "the scheduler (%s) did not answer in %lld ms: is it running?",
                  r->a->cfg->scheduler_id, (long long)(r->a->cfg->request_timeout_us / 1000));
        goto out;
    }
    hs_proto_api_reply_msg m;
    rc = hs_proto_api_reply_decode(&m, (const char *)reply.data, reply.len);
    if (rc != HS_OK) {
        api_error(r, 502, "the scheduler's reply is not readable: %s", hs_err_detail());
        goto out;
    }
    unsigned status = ok_status;
    /* The scheduler says "no workflow ..." or "no request ..." for what does not exist. */
    if (!m.reply.ok)
        status = strncmp(m.reply.error, "no workflow", 11) == 0 ||
                         strncmp(m.reply.error, "no request", 10) == 0
                     ? 404
                     : 400;
    hs_proto_api_reply_msg_free(&m);
    (void)hs_buf_putc(&reply, '\n');
    api_send_json(r, status, &reply);
out:
    hs_buf_free(&req);
    hs_buf_free(&reply);
}

static bool body_text(api_req *r, const char *what)
{
    if (r->body.len == 0) {
        api_error(r, 400, "the body must hold %s", what);
        return false;
    }
    (void)hs_buf_cstr(&r->body);
    return true;
}

static void workflow_add(api_req *r)
{
    if (!body_text(r, "the workflow file (YAML or JSON)"))
        return;
    const char *fn = api_param(r, "filename");
    hs_proto_api_req q = {.op = HS_API_WORKFLOW_ADD,
                          .definition = hs_buf_cstr(&r->body),
                          .filename = fn != NULL && fn[0] != '\0' ? fn : NULL};
    scheduler_call(r, &q, 200);
}

/* POST /api/v1/workflows/check: validates a definition as the scheduler would, adds nothing. */
static void workflow_check(api_req *r)
{
    if (!body_text(r, "the workflow file (YAML or JSON)"))
        return;
    const char *fn = api_param(r, "filename");
    hs_buf errs, b;
    hs_buf_init(&errs, 0);
    hs_buf_init(&b, 0);
    hs_workflow *wf = NULL;
    int rc = hs_workflow_parse((const char *)r->body.data, r->body.len,
                               fn != NULL && fn[0] ? fn : "workflow", r->a->tools, &wf, &errs);
    if (rc == HS_OK) {
        rc = hs_buf_puts(&b, "{\"ok\":true,\"workflow\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(&b, wf->id, strlen(wf->id));
        if (rc == HS_OK)
            rc = hs_buf_printf(&b, ",\"factors\":%zu}\n", wf->nfactors);
        api_answer_json(r, rc, &b);
    } else {
        const char *e = errs.len > 0 ? hs_buf_cstr(&errs) : hs_err_detail();
        size_t n = strlen(e);
        while (n > 0 && e[n - 1] == '\n')
            n--;
        rc = hs_buf_puts(&b, "{\"ok\":false,\"error\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(&b, e, n);
        if (rc == HS_OK)
            rc = hs_buf_puts(&b, "}\n");
        if (rc == HS_OK)
            api_send_json(r, 400, &b);
        else
            api_error(r, 500, "out of memory");
    }
    hs_workflow_destroy(wf);
    hs_buf_free(&errs);
    hs_buf_free(&b);
}

static void compute(api_req *r, const char *wf)
{
    int64_t now = hs_time_now_us(), from, to;
    if (!api_time_param(r, "from", INT64_MIN, &from) || !api_time_param(r, "to", now, &to))
        return;
    if (from == INT64_MIN) {
        api_error(r, 400, "from is required (ISO-8601, epoch seconds, now, -1h)");
        return;
    }
    if (from >= to) {
        api_error(r, 400, "from must be before to");
        return;
    }
    const char *dry = api_param(r, "dry_run");
    const char *req = api_param(r, "request");
    hs_proto_api_req q = {.op = HS_API_COMPUTE,
                          .workflow = wf,
                          .iv = {from, to},
                          .request = req != NULL && req[0] != '\0' ? req : NULL,
                          .dry_run =
                              dry != NULL && (strcmp(dry, "true") == 0 || strcmp(dry, "1") == 0)};
    scheduler_call(r, &q, 202);
}

/* Reads the body's "paths" (a JSON array of tree paths) for meta_add / meta_rm. */
static void meta(api_req *r, hs_api_op op)
{
    if (!body_text(r, "{\"paths\": [\"site=a/device=1\", ...]}"))
        return;
    hs_json_reader jr;
    hs_json_reader_init(&jr, (const char *)r->body.data, r->body.len);
    hs_buf key, val, all;
    hs_buf_init(&key, 0);
    hs_buf_init(&val, 0);
    hs_buf_init(&all, 0);
    size_t n = 0;
    bool done = false, seen = false;
    int rc = hs_json_object_begin(&jr);
    while (rc == HS_OK && (rc = hs_json_object_next_key(&jr, &key, &done)) == HS_OK && !done) {
        if (strcmp(hs_buf_cstr(&key), "paths") != 0) {
            rc = hs_err_set(HS_ERR_PARSE, "unknown member %s", hs_buf_cstr(&key));
            break;
        }
        seen = true;
        bool end = false;
        rc = hs_json_array_begin(&jr);
        while (rc == HS_OK && (rc = hs_json_array_next_item(&jr, &end)) == HS_OK && !end) {
            hs_buf_reset(&val);
            rc = hs_json_get_string(&jr, &val);
            if (rc == HS_OK)
                rc = hs_buf_append(&all, val.data, val.len);
            if (rc == HS_OK)
                rc = hs_buf_putc(&all, '\0');
            n++;
        }
    }
    if (rc == HS_OK)
        rc = hs_json_expect_end(&jr);
    if (rc != HS_OK || !seen || n == 0) {
        api_error(r, 400, "the body must be {\"paths\": [\"site=a/device=1\", ...]}%s%s",
                  rc != HS_OK ? ": " : "", rc != HS_OK ? hs_err_detail() : "");
    } else {
        const char **paths = hs_calloc(n, sizeof *paths);
        if (paths == NULL) {
            api_error(r, 500, "out of memory");
        } else {
            const char *p = (const char *)all.data;
            for (size_t i = 0; i < n; i++) {
                paths[i] = p;
                p += strlen(p) + 1;
            }
            hs_proto_api_req q = {.op = op, .paths = paths, .npaths = n};
            scheduler_call(r, &q, 200);
            hs_free(paths);
        }
    }
    hs_buf_free(&key);
    hs_buf_free(&val);
    hs_buf_free(&all);
}

/* POST /api/v1/streams/{id}/invalidate?from=&to=: reopens (from, to] of a computed stream. */
bool api_stream_route(api_req *r, const char *sid, const char *action);
bool api_stream_route(api_req *r, const char *sid, const char *action)
{
    if (strcmp(action, "invalidate") != 0)
        return false;
    if (strcmp(r->method, "POST") != 0) {
        api_error(r, 405, "invalidate takes POST");
        return true;
    }
    int64_t from, to;
    if (!api_time_param(r, "from", INT64_MIN, &from) ||
        !api_time_param(r, "to", hs_time_now_us(), &to))
        return true;
    if (from == INT64_MIN || from >= to) {
        api_error(r, 400, "from is required and must be before to");
        return true;
    }
    hs_buf f;
    hs_buf_init(&f, 0);
    uint32_t nf = 0;
    hs_proto_invalidate v = {sid, {from, to}};
    uint64_t seq = 0;
    int64_t until = hs_time_mono_us() + r->a->cfg->write_timeout_us;
    int rc = hs_proto_invalidate_encode_fields(&f, &v, &nf);
    if (rc == HS_OK)
        rc = hs_wclient_send(r->a->wc, HS_OP_INVALIDATE, f.data, f.len, nf,
                             (int)(r->a->cfg->write_timeout_us / 1000), &seq);
    hs_buf_free(&f);
    api_ack ack = {0};
    if (rc == HS_OK)
        rc = api_bus_wait_ack(r->a, seq, until, &ack);
    if (rc != HS_OK) {
        api_error(r, 503, "the writer did not confirm in time: %s", hs_strerror(rc));
    } else if (ack.status != 0) {
        api_error(r, 400, "%s", ack.error != NULL ? ack.error : "the writer refused");
    } else {
        hs_buf b;
        hs_buf_init(&b, 0);
        if (hs_buf_puts(&b, "{\"ok\":true,\"stream\":") == HS_OK &&
            hs_json_put_string(&b, sid, strlen(sid)) == HS_OK && hs_buf_puts(&b, "}\n") == HS_OK)
            api_send_json(r, 200, &b);
        hs_buf_free(&b);
    }
    hs_free(ack.error);
    return true;
}

bool api_ops_route(api_req *r)
{
    const char *p = r->path;
    if (strncmp(p, "/api/v1/", 8) != 0)
        return false;
    p += 8;
    bool post = strcmp(r->method, "POST") == 0;
    if (strcmp(p, "workflows") == 0 && (post || strcmp(r->method, "PUT") == 0)) {
        workflow_add(r);
    } else if (strcmp(p, "workflows/check") == 0 && post) {
        workflow_check(r);
    } else if (strncmp(p, "workflows/", 10) == 0 && strcmp(r->method, "DELETE") == 0 &&
               strchr(p + 10, '/') == NULL && p[10] != '\0') {
        hs_proto_api_req q = {.op = HS_API_WORKFLOW_RM, .workflow = p + 10};
        scheduler_call(r, &q, 200);
    } else if (strncmp(p, "workflows/", 10) == 0 && post) {
        const char *slash = strchr(p + 10, '/');
        if (slash == NULL || strcmp(slash, "/compute") != 0)
            return false;
        char *wf = hs_strndup(p + 10, (size_t)(slash - (p + 10)));
        if (wf != NULL)
            compute(r, wf);
        else
            api_error(r, 500, "out of memory");
        hs_free(wf);
    } else if (strncmp(p, "requests/", 9) == 0 && post) {
        const char *slash = strchr(p + 9, '/');
        if (slash == NULL || strcmp(slash, "/cancel") != 0)
            return false;
        char *id = hs_strndup(p + 9, (size_t)(slash - (p + 9)));
        hs_proto_api_req q = {.op = HS_API_CANCEL, .request = id};
        if (id != NULL)
            scheduler_call(r, &q, 200);
        else
            api_error(r, 500, "out of memory");
        hs_free(id);
    } else if (strcmp(p, "meta") == 0 && post) {
        meta(r, HS_API_META_ADD);
    } else if (strcmp(p, "meta") == 0 && strcmp(r->method, "DELETE") == 0) {
        meta(r, HS_API_META_RM);
    } else {
        return false;
    }
    return true;
}
