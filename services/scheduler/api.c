#include "api.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_meta.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Longest request id: the progress topic's last level and a stored document's key. */
enum { API_REQUEST_ID_MAX = 63 };

bool api_request_id_ok(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    return n > 0 && n <= API_REQUEST_ID_MAX && strpbrk(id, "/+#") == NULL;
}

/* Makes out an error reply with a formatted message; returns err. */
static int fail(api_result *out, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(api_result *out, int err, const char *fmt, ...)
{
    hs_free(out->text);
    out->text = NULL;
    va_list ap;
    va_start(ap, fmt);
    char *msg = hs_strvfmt(fmt, ap);
    va_end(ap);
    out->text = msg;
    out->reply.ok = false;
    out->reply.error = msg != NULL && msg[0] != '\0' ? msg : "out of memory";
    return err;
}

/* The error reply of a failed callback: its message, or else its code's name. */
static int fail_cb(api_result *out, int rc, hs_buf *why)
{
    if (rc >= 0)
        rc = HS_ERR_STATE; /* a callback that failed without a code */
    if (why->len > 0)
        return fail(out, rc, "%s", hs_buf_cstr(why));
    return fail(out, rc, "%s", hs_strerror(rc));
}

/* Copies s into out->text (what the reply points to); false when out of memory. */
static bool keep(api_result *out, const char *s)
{
    out->text = hs_strdup(s);
    return out->text != NULL;
}

static int do_workflow_add(const hs_proto_api_req *req, const api_ops *ops, api_result *out,
                           hs_buf *why)
{
    if (req->definition == NULL || req->definition[0] == '\0')
        return fail(out, HS_ERR_INVAL, "workflow_add needs a definition");
    const char *filename =
        req->filename != NULL && req->filename[0] != '\0' ? req->filename : "workflow";
    api_added a = {0};
    int rc = ops->workflow_add(ops->ud, req->definition, filename, &a, why);
    if (rc != HS_OK)
        return fail_cb(out, rc, why);
    if (a.workflow == NULL || a.workflow[0] == '\0')
        return fail(out, HS_ERR_STATE, "the workflow was added but its id is unknown");
    if (!keep(out, a.workflow))
        return fail(out, HS_ERR_NOMEM, "out of memory");
    out->reply.ok = true;
    out->reply.workflow = out->text;
    out->reply.factors = a.factors;
    out->reply.unchanged = a.unchanged;
    return HS_OK;
}

/* Checks that req names a workflow that exists; else an error reply. */
static int check_workflow(const hs_proto_api_req *req, const api_ops *ops, api_result *out)
{
    if (req->workflow == NULL || req->workflow[0] == '\0')
        return fail(out, HS_ERR_INVAL, "%s needs a workflow",
                    req->op == HS_API_COMPUTE ? "compute" : "workflow_rm");
    if (!ops->has_workflow(ops->ud, req->workflow))
        return fail(out, HS_ERR_NOTFOUND, "no workflow '%s' (hsctl workflow ls lists them)",
                    req->workflow);
    return HS_OK;
}

static int do_workflow_rm(const hs_proto_api_req *req, const api_ops *ops, api_result *out,
                          hs_buf *why)
{
    int rc = check_workflow(req, ops, out);
    if (rc != HS_OK)
        return rc;
    rc = ops->workflow_rm(ops->ud, req->workflow, why);
    if (rc != HS_OK)
        return fail_cb(out, rc, why);
    out->reply.ok = true;
    return HS_OK;
}

static int do_compute(const hs_proto_api_req *req, const api_ops *ops, api_result *out, hs_buf *why)
{
    if (req->request != NULL && !api_request_id_ok(req->request))
        return fail(out, HS_ERR_INVAL,
                    "request id '%.80s' must be 1 to 63 bytes without '/', '+' or '#'",
                    req->request);
    if (req->iv.start >= req->iv.end)
        return fail(out, HS_ERR_INVAL, "compute needs from < to (microseconds); from %lld, to %lld",
                    (long long)req->iv.start, (long long)req->iv.end);
    int rc = check_workflow(req, ops, out);
    if (rc != HS_OK)
        return rc;
    api_computed c = {0};
    rc = ops->compute(ops->ud, req->workflow, req->iv, req->request, req->dry_run, &c, why);
    if (rc != HS_OK)
        return fail_cb(out, rc, why);
    if (req->dry_run && c.request == NULL)
        c.request = req->request != NULL ? req->request : "dry-run";
    if (!api_request_id_ok(c.request))
        return fail(out, HS_ERR_STATE, "the request was made but its id is not valid");
    if (!keep(out, c.request))
        return fail(out, HS_ERR_NOMEM, "out of memory");
    out->reply.ok = true;
    out->reply.request = out->text;
    out->reply.jobs = c.jobs;
    out->reply.reopened = c.reopened;
    out->reply.unplanned = c.unplanned;
    return HS_OK;
}

static int do_cancel(const hs_proto_api_req *req, const api_ops *ops, api_result *out, hs_buf *why)
{
    if (req->request == NULL)
        return fail(out, HS_ERR_INVAL, "cancel needs a request id");
    if (!api_request_id_ok(req->request))
        return fail(out, HS_ERR_INVAL,
                    "request id '%.80s' must be 1 to 63 bytes without '/', '+' or '#'",
                    req->request);
    if (ops->cancel == NULL)
        return fail(out, HS_ERR_UNSUPPORTED, "this scheduler cannot cancel requests");
    api_cancelled c = {0};
    int rc = ops->cancel(ops->ud, req->request, &c, why);
    if (rc != HS_OK)
        return fail_cb(out, rc, why);
    if (!keep(out, req->request))
        return fail(out, HS_ERR_NOMEM, "out of memory");
    out->reply.ok = true;
    out->reply.request = out->text;
    out->reply.dropped = c.dropped;
    out->reply.running = c.running;
    return HS_OK;
}

static int do_meta(const hs_proto_api_req *req, const api_ops *ops, api_result *out, hs_buf *why)
{
    const char *op = req->op == HS_API_META_ADD ? "meta_add" : "meta_rm";
    if (req->npaths == 0 || req->paths == NULL)
        return fail(out, HS_ERR_INVAL, "%s needs paths (tag=value/...)", op);
    for (size_t i = 0; i < req->npaths; i++)
        if (hs_meta_path_check(req->paths[i]) != HS_OK)
            return fail(out, HS_ERR_INVAL, "%s: path '%.200s': %s", op, req->paths[i],
                        hs_err_detail());
    if (ops->meta == NULL)
        return fail(out, HS_ERR_UNSUPPORTED, "this scheduler has no meta-data tree");
    uint64_t nodes = 0, wfs = 0;
    int rc =
        ops->meta(ops->ud, req->op == HS_API_META_ADD, req->paths, req->npaths, &nodes, &wfs, why);
    if (rc != HS_OK)
        return fail_cb(out, rc, why);
    out->reply.ok = true;
    out->reply.nodes = nodes;
    out->reply.workflows_changed = wfs;
    return HS_OK;
}

int api_handle(const hs_proto_api_req *req, const api_ops *ops, api_result *out)
{
    memset(out, 0, sizeof *out);
    out->reply.op = req->op;
    hs_buf why;
    hs_buf_init(&why, 0);
    int rc;
    switch (req->op) {
    case HS_API_WORKFLOW_ADD:
        rc = do_workflow_add(req, ops, out, &why);
        break;
    case HS_API_WORKFLOW_RM:
        rc = do_workflow_rm(req, ops, out, &why);
        break;
    case HS_API_COMPUTE:
        rc = do_compute(req, ops, out, &why);
        break;
    case HS_API_CANCEL:
        rc = do_cancel(req, ops, out, &why);
        break;
    case HS_API_META_ADD:
    case HS_API_META_RM:
        rc = do_meta(req, ops, out, &why);
        break;
    case HS_API_PING: {
        api_stats st = {0};
        ops->ping(ops->ud, &st);
        out->reply.ok = true;
        out->reply.workflows = st.workflows;
        out->reply.jobs = st.jobs;
        out->reply.inflight = st.inflight;
        rc = HS_OK;
        break;
    }
    default:
        rc = fail(out, HS_ERR_UNSUPPORTED,
                  "unknown op '%s' (workflow_add, workflow_rm, compute, cancel, ping, meta_add, "
                  "meta_rm)",
                  req->op_text != NULL ? req->op_text : "");
        break;
    }
    hs_buf_free(&why);
    return rc;
}

void api_result_free(api_result *r)
{
    if (r == NULL)
        return;
    hs_free(r->text);
    memset(r, 0, sizeof *r);
}
