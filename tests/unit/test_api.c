/*
 * Tests of the scheduler's API module (services/scheduler/api.c) with fake
 * callbacks: the reply of each op (encoded and read back through
 * hs_proto), each error path and its message (missing fields, a bad request
 * id, from >= to, an unknown workflow, a callback failing with and without a
 * message), an unknown op named in the reply, and that a refused request
 * calls no callback; cancel (its reply through the codec, its errors) and
 * compute's dry run.
 */
#include "test_suites.h"

#include "api.h"

#include "hs_error.h"
#include "hs_proto.h"

#include <CUnit/CUnit.h>
#include <string.h>

/* The fake scheduler: what the callbacks answer and what they were asked. */
typedef struct fake {
    int rc;          /* what a callback returns */
    const char *why; /* the message a failing callback writes, or NULL */
    int calls;       /* callbacks other than has_workflow */
    char last_def[64], last_file[64], last_wf[64], last_req[80];
    hs_interval last_iv;
    bool req_null;
    char made_id[80]; /* what compute names its request */
    bool dry_run;     /* compute was asked for a dry run */
    bool meta_add;    /* meta: insert (else delete) */
    size_t meta_n;    /* meta: paths given */
} fake;

static bool f_has(void *ud, const char *id)
{
    (void)ud;
    return strcmp(id, "wf1") == 0;
}

static int f_fail(fake *f, hs_buf *why)
{
    if (f->why != NULL && hs_buf_puts(why, f->why) != HS_OK)
        return HS_ERR_NOMEM;
    return f->rc;
}

static int f_add(void *ud, const char *def, const char *file, api_added *out, hs_buf *why)
{
    fake *f = ud;
    f->calls++;
    snprintf(f->last_def, sizeof f->last_def, "%s", def);
    snprintf(f->last_file, sizeof f->last_file, "%s", file);
    if (f->rc != HS_OK)
        return f_fail(f, why);
    /* The id lives in the fake; the module must copy it. */
    snprintf(f->made_id, sizeof f->made_id, "added-wf");
    *out = (api_added){f->made_id, 3, true};
    return HS_OK;
}

static int f_rm(void *ud, const char *id, hs_buf *why)
{
    fake *f = ud;
    f->calls++;
    snprintf(f->last_wf, sizeof f->last_wf, "%s", id);
    return f->rc != HS_OK ? f_fail(f, why) : HS_OK;
}

static int f_compute(void *ud, const char *wf, hs_interval iv, const char *request, bool dry_run,
                     api_computed *out, hs_buf *why)
{
    fake *f = ud;
    f->calls++;
    f->dry_run = dry_run;
    snprintf(f->last_wf, sizeof f->last_wf, "%s", wf);
    f->last_iv = iv;
    f->req_null = request == NULL;
    snprintf(f->last_req, sizeof f->last_req, "%s", request != NULL ? request : "");
    if (f->rc != HS_OK)
        return f_fail(f, why);
    if (f->made_id[0] == '\0')
        snprintf(f->made_id, sizeof f->made_id, "%s", request != NULL ? request : "r-1-1");
    *out = (api_computed){f->made_id, 42, 3, 7};
    return HS_OK;
}

static int f_cancel(void *ud, const char *id, api_cancelled *out, hs_buf *why)
{
    fake *f = ud;
    f->calls++;
    snprintf(f->last_req, sizeof f->last_req, "%s", id);
    if (f->rc != HS_OK)
        return f_fail(f, why);
    *out = (api_cancelled){11, 2};
    return HS_OK;
}

static void f_ping(void *ud, api_stats *out)
{
    fake *f = ud;
    f->calls++;
    *out = (api_stats){2, 17, 5};
}

static int f_meta(void *ud, bool add, const char *const *paths, size_t npaths, uint64_t *nodes,
                  uint64_t *workflows, hs_buf *why)
{
    fake *f = ud;
    f->calls++;
    f->meta_add = add;
    f->meta_n = npaths;
    snprintf(f->last_req, sizeof f->last_req, "%s", paths[0]);
    if (f->rc != HS_OK) {
        if (f->why != NULL)
            hs_buf_puts(why, f->why);
        return f->rc;
    }
    *nodes = 3 * npaths;
    *workflows = 1;
    return HS_OK;
}

static api_ops ops_of(fake *f)
{
    api_ops o = {f_has, f_add, f_rm, f_compute, f_ping, f_cancel, f_meta, f};
    return o;
}

/* Encodes the reply and reads it back, as the client would. */
static void read_back(const api_result *res, hs_proto_api_reply_msg *m)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(hs_proto_api_reply_encode(&b, &res->reply), HS_OK);
    CU_ASSERT_EQUAL(hs_proto_api_reply_decode(m, (const char *)b.data, b.len), HS_OK);
    hs_buf_free(&b);
}

/* Runs req and checks it is refused with err and exactly message msg, also once read back. */
static void expect_error(fake *f, const hs_proto_api_req *req, int err, const char *msg)
{
    api_ops o = ops_of(f);
    api_result res;
    CU_ASSERT_EQUAL(api_handle(req, &o, &res), err);
    CU_ASSERT_FALSE(res.reply.ok);
    HS_REQUIRE(res.reply.error);
    CU_ASSERT_STRING_EQUAL(res.reply.error, msg);
    hs_proto_api_reply_msg m;
    read_back(&res, &m);
    CU_ASSERT_FALSE(m.reply.ok);
    CU_ASSERT_PTR_NOT_NULL(m.reply.error);
    if (m.reply.error != NULL)
        CU_ASSERT_STRING_EQUAL(m.reply.error, msg);
    hs_proto_api_reply_msg_free(&m);
    api_result_free(&res);
    CU_ASSERT_PTR_NULL(res.text);
}

static void test_workflow_add(void)
{
    fake f = {0};
    api_ops o = ops_of(&f);
    hs_proto_api_req q = {
        .op = HS_API_WORKFLOW_ADD, .op_text = "workflow_add", .definition = "id: x"};
    api_result res;
    CU_ASSERT_EQUAL(api_handle(&q, &o, &res), HS_OK);
    CU_ASSERT_EQUAL(f.calls, 1);
    CU_ASSERT_STRING_EQUAL(f.last_def, "id: x");
    CU_ASSERT_STRING_EQUAL(f.last_file, "workflow"); /* the default name */
    /* The module keeps its own copy of the id. */
    memset(f.made_id, 0, sizeof f.made_id);
    hs_proto_api_reply_msg m;
    read_back(&res, &m);
    CU_ASSERT_TRUE(m.reply.ok);
    HS_REQUIRE(m.reply.workflow);
    CU_ASSERT_STRING_EQUAL(m.reply.workflow, "added-wf");
    CU_ASSERT_EQUAL(m.reply.factors, 3);
    CU_ASSERT_TRUE(m.reply.unchanged);
    hs_proto_api_reply_msg_free(&m);
    api_result_free(&res);

    q.filename = "pipe.yaml";
    CU_ASSERT_EQUAL(api_handle(&q, &o, &res), HS_OK);
    CU_ASSERT_STRING_EQUAL(f.last_file, "pipe.yaml");
    api_result_free(&res);
}

static void test_workflow_add_errors(void)
{
    fake f = {0};
    hs_proto_api_req q = {.op = HS_API_WORKFLOW_ADD, .op_text = "workflow_add"};
    expect_error(&f, &q, HS_ERR_INVAL, "workflow_add needs a definition");
    q.definition = "";
    expect_error(&f, &q, HS_ERR_INVAL, "workflow_add needs a definition");
    CU_ASSERT_EQUAL(f.calls, 0);
    /* The callback's own message (every problem of the definition). */
    q.definition = "id: [";
    f.rc = HS_ERR_PARSE;
    f.why = "workflow:1: unclosed '['\nworkflow:1: no factors";
    expect_error(&f, &q, HS_ERR_PARSE, "workflow:1: unclosed '['\nworkflow:1: no factors");
    CU_ASSERT_EQUAL(f.calls, 1);
    /* No message: the code's name. */
    f.why = NULL;
    f.rc = HS_ERR_TIMEOUT;
    expect_error(&f, &q, HS_ERR_TIMEOUT, hs_strerror(HS_ERR_TIMEOUT));
}

static void test_workflow_rm(void)
{
    fake f = {0};
    api_ops o = ops_of(&f);
    hs_proto_api_req q = {.op = HS_API_WORKFLOW_RM, .op_text = "workflow_rm", .workflow = "wf1"};
    api_result res;
    CU_ASSERT_EQUAL(api_handle(&q, &o, &res), HS_OK);
    CU_ASSERT_TRUE(res.reply.ok);
    CU_ASSERT_EQUAL(res.reply.op, HS_API_WORKFLOW_RM);
    CU_ASSERT_STRING_EQUAL(f.last_wf, "wf1");
    CU_ASSERT_EQUAL(f.calls, 1);
    api_result_free(&res);

    q.workflow = "nope";
    expect_error(&f, &q, HS_ERR_NOTFOUND, "no workflow 'nope' (hsctl workflow ls lists them)");
    q.workflow = NULL;
    expect_error(&f, &q, HS_ERR_INVAL, "workflow_rm needs a workflow");
    CU_ASSERT_EQUAL(f.calls, 1);
    q.workflow = "wf1";
    f.rc = HS_ERR_TIMEOUT;
    f.why = "the writer did not confirm: no acknowledgement in 30 s";
    expect_error(&f, &q, HS_ERR_TIMEOUT, "the writer did not confirm: no acknowledgement in 30 s");
    CU_ASSERT_EQUAL(f.calls, 2);
}

static void test_compute(void)
{
    fake f = {0};
    api_ops o = ops_of(&f);
    hs_proto_api_req q = {
        .op = HS_API_COMPUTE, .op_text = "compute", .workflow = "wf1", .iv = {100, 200}};
    api_result res;
    /* No request id: the callback makes one. */
    CU_ASSERT_EQUAL(api_handle(&q, &o, &res), HS_OK);
    CU_ASSERT_TRUE(f.req_null);
    CU_ASSERT_EQUAL(f.last_iv.start, 100);
    CU_ASSERT_EQUAL(f.last_iv.end, 200);
    hs_proto_api_reply_msg m;
    read_back(&res, &m);
    CU_ASSERT_TRUE(m.reply.ok);
    HS_REQUIRE(m.reply.request);
    CU_ASSERT_STRING_EQUAL(m.reply.request, "r-1-1");
    CU_ASSERT_EQUAL(m.reply.jobs, 42);
    CU_ASSERT_EQUAL(m.reply.reopened, 3);
    CU_ASSERT_EQUAL(m.reply.unplanned, 7);
    CU_ASSERT_FALSE(f.dry_run);
    hs_proto_api_reply_msg_free(&m);
    api_result_free(&res);

    /* The client's id, 63 bytes (the longest). */
    fake g = {0};
    o = ops_of(&g);
    char id63[64];
    memset(id63, 'c', 63);
    id63[63] = '\0';
    q.request = id63;
    CU_ASSERT_EQUAL(api_handle(&q, &o, &res), HS_OK);
    CU_ASSERT_FALSE(g.req_null);
    CU_ASSERT_STRING_EQUAL(g.last_req, id63);
    CU_ASSERT_STRING_EQUAL(res.reply.request, id63);
    api_result_free(&res);
}

static void test_compute_errors(void)
{
    fake f = {0};
    hs_proto_api_req q = {.op = HS_API_COMPUTE,
                          .op_text = "compute",
                          .workflow = "wf1",
                          .iv = {200, 200},
                          .request = "c-1-2"};
    expect_error(&f, &q, HS_ERR_INVAL, "compute needs from < to (microseconds); from 200, to 200");
    q.iv = (hs_interval){300, 200};
    expect_error(&f, &q, HS_ERR_INVAL, "compute needs from < to (microseconds); from 300, to 200");
    q.iv = (hs_interval){100, 200};
    const char *bad[] = {"a/b", "a+b", "a#b", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q.request = bad[i];
        char msg[200];
        snprintf(msg, sizeof msg, "request id '%s' must be 1 to 63 bytes without '/', '+' or '#'",
                 bad[i]);
        expect_error(&f, &q, HS_ERR_INVAL, msg);
    }
    char id64[65];
    memset(id64, 'c', 64);
    id64[64] = '\0';
    q.request = id64;
    CU_ASSERT_FALSE(api_request_id_ok(id64));
    expect_error(&f, &q, HS_ERR_INVAL,
                 "request id 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc' "
                 "must be 1 to 63 bytes without '/', '+' or '#'");
    q.request = "c-1-2";
    q.workflow = "other";
    expect_error(&f, &q, HS_ERR_NOTFOUND, "no workflow 'other' (hsctl workflow ls lists them)");
    q.workflow = "";
    expect_error(&f, &q, HS_ERR_INVAL, "compute needs a workflow");
    CU_ASSERT_EQUAL(f.calls, 0);
    /* The callback fails. */
    q.workflow = "wf1";
    f.rc = HS_ERR_NOMEM;
    f.why = "out of memory";
    expect_error(&f, &q, HS_ERR_NOMEM, "out of memory");
    CU_ASSERT_EQUAL(f.calls, 1);
    CU_ASSERT_STRING_EQUAL(f.last_req, "c-1-2");
    /* The callback names a request that could not be a progress topic. */
    fake g = {0};
    snprintf(g.made_id, sizeof g.made_id, "bad/id");
    expect_error(&g, &q, HS_ERR_STATE, "the request was made but its id is not valid");
    CU_ASSERT_EQUAL(g.calls, 1);
}

static void test_ping(void)
{
    fake f = {0};
    api_ops o = ops_of(&f);
    hs_proto_api_req q = {.op = HS_API_PING, .op_text = "ping"};
    api_result res;
    CU_ASSERT_EQUAL(api_handle(&q, &o, &res), HS_OK);
    hs_proto_api_reply_msg m;
    read_back(&res, &m);
    CU_ASSERT_TRUE(m.reply.ok);
    CU_ASSERT_EQUAL(m.reply.workflows, 2);
    CU_ASSERT_EQUAL(m.reply.jobs, 17);
    CU_ASSERT_EQUAL(m.reply.inflight, 5);
    hs_proto_api_reply_msg_free(&m);
    api_result_free(&res);
    CU_ASSERT_EQUAL(f.calls, 1);
}

/* Encodes q as the client does and decodes it as the scheduler does. */
static void req_round_trip(const hs_proto_api_req *q, hs_proto_api_req_msg *am)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(hs_proto_api_req_encode(&b, q), HS_OK);
    CU_ASSERT_EQUAL(hs_proto_api_req_decode(am, (const char *)b.data, b.len), HS_OK);
    hs_buf_free(&b);
}

static void test_cancel(void)
{
    fake f = {0};
    api_ops o = ops_of(&f);
    hs_proto_api_req q = {.op = HS_API_CANCEL, .request = "c-17-42"};
    hs_proto_api_req_msg am;
    req_round_trip(&q, &am);
    CU_ASSERT_EQUAL(am.req.op, HS_API_CANCEL);
    HS_REQUIRE(am.req.request);
    CU_ASSERT_STRING_EQUAL(am.req.request, "c-17-42");
    api_result res;
    CU_ASSERT_EQUAL(api_handle(&am.req, &o, &res), HS_OK);
    hs_proto_api_req_msg_free(&am);
    CU_ASSERT_STRING_EQUAL(f.last_req, "c-17-42");
    hs_proto_api_reply_msg m;
    read_back(&res, &m);
    CU_ASSERT_TRUE(m.reply.ok);
    HS_REQUIRE(m.reply.request);
    CU_ASSERT_STRING_EQUAL(m.reply.request, "c-17-42");
    CU_ASSERT_EQUAL(m.reply.dropped, 11);
    CU_ASSERT_EQUAL(m.reply.running, 2);
    hs_proto_api_reply_msg_free(&m);
    api_result_free(&res);
    CU_ASSERT_EQUAL(f.calls, 1);
    /* The codec refuses a cancel without a request, or with fields of other ops. */
    const char *bad[] = {"{\"op\":\"cancel\"}", "{\"op\":\"cancel\",\"request\":\"a/b\"}",
                         "{\"op\":\"cancel\",\"request\":\"r\",\"workflow\":\"w\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_NOT_EQUAL(hs_proto_api_req_decode(&am, bad[i], strlen(bad[i])), HS_OK);
        hs_proto_api_req_msg_free(&am);
    }
    /* Errors: no id, a bad id (no callback), the scheduler knows no such request. */
    fake g = {0};
    hs_proto_api_req e = {.op = HS_API_CANCEL, .op_text = "cancel"};
    expect_error(&g, &e, HS_ERR_INVAL, "cancel needs a request id");
    e.request = "a+b";
    expect_error(&g, &e, HS_ERR_INVAL,
                 "request id 'a+b' must be 1 to 63 bytes without '/', '+' or '#'");
    CU_ASSERT_EQUAL(g.calls, 0);
    e.request = "c-1-1";
    g.rc = HS_ERR_NOTFOUND;
    g.why = "request c-1-1 has ended (done)";
    expect_error(&g, &e, HS_ERR_NOTFOUND, "request c-1-1 has ended (done)");
    CU_ASSERT_EQUAL(g.calls, 1);
}

static void test_compute_dry_run(void)
{
    fake f = {0};
    api_ops o = ops_of(&f);
    hs_proto_api_req q = {.op = HS_API_COMPUTE,
                          .workflow = "wf1",
                          .iv = {100, 200},
                          .request = "c-5-6",
                          .dry_run = true};
    hs_proto_api_req_msg am;
    req_round_trip(&q, &am);
    CU_ASSERT_TRUE(am.req.dry_run);
    api_result res;
    CU_ASSERT_EQUAL(api_handle(&am.req, &o, &res), HS_OK);
    CU_ASSERT_TRUE(f.dry_run);
    CU_ASSERT_EQUAL(res.reply.jobs, 42);
    api_result_free(&res);
    hs_proto_api_req_msg_free(&am);
    /* Without the flag the codec says false. */
    q.dry_run = false;
    req_round_trip(&q, &am);
    CU_ASSERT_FALSE(am.req.dry_run);
    hs_proto_api_req_msg_free(&am);
}

/* meta_add and meta_rm: paths checked before the callback, the counts in the reply. */
static void test_meta(void)
{
    fake f = {0};
    const char *json = "{\"op\":\"meta_add\",\"paths\":[\"site=a/device=1\",\"site=b\"]}";
    hs_proto_api_req_msg am;
    CU_ASSERT_EQUAL_FATAL(hs_proto_api_req_decode(&am, json, strlen(json)), HS_OK);
    CU_ASSERT_EQUAL(am.req.op, HS_API_META_ADD);
    CU_ASSERT_EQUAL_FATAL(am.req.npaths, 2);
    api_ops o = ops_of(&f);
    api_result res;
    CU_ASSERT_EQUAL(api_handle(&am.req, &o, &res), HS_OK);
    CU_ASSERT(res.reply.ok);
    CU_ASSERT(f.meta_add);
    CU_ASSERT_EQUAL(f.meta_n, 2);
    CU_ASSERT_STRING_EQUAL(f.last_req, "site=a/device=1");
    hs_proto_api_reply_msg m;
    read_back(&res, &m);
    CU_ASSERT_EQUAL(m.reply.nodes, 6);
    CU_ASSERT_EQUAL(m.reply.workflows_changed, 1);
    hs_proto_api_reply_msg_free(&m);
    api_result_free(&res);
    /* Encoded by the client and read back. */
    hs_buf b;
    hs_buf_init(&b, 0);
    const char *paths[] = {"house=1/room=\"k\""};
    hs_proto_api_req q = {.op = HS_API_META_RM, .paths = paths, .npaths = 1};
    CU_ASSERT_EQUAL(hs_proto_api_req_encode(&b, &q), HS_OK);
    hs_proto_api_req_msg_free(&am);
    CU_ASSERT_EQUAL_FATAL(hs_proto_api_req_decode(&am, (const char *)b.data, b.len), HS_OK);
    CU_ASSERT_EQUAL(am.req.op, HS_API_META_RM);
    CU_ASSERT_STRING_EQUAL(am.req.paths[0], paths[0]);
    hs_proto_api_req_msg_free(&am);
    /* A bad path: refused with the reason, nothing applied. */
    int calls = f.calls;
    const char *bad[] = {"site=a", "site"};
    q = (hs_proto_api_req){.op = HS_API_META_ADD, .paths = bad, .npaths = 2};
    expect_error(&f, &q, HS_ERR_INVAL, "meta_add: path 'site': 'site' is not tag=value");
    CU_ASSERT_EQUAL(f.calls, calls);
    /* The codec refuses what is not a list of paths, and other ops' fields. */
    const char *refused[] = {"{\"op\":\"meta_add\"}",
                             "{\"op\":\"meta_add\",\"paths\":[]}",
                             "{\"op\":\"meta_rm\",\"paths\":\"a=1\"}",
                             "{\"op\":\"meta_rm\",\"paths\":[\"\"]}",
                             "{\"op\":\"meta_rm\",\"paths\":[\"a=1\"],\"workflow\":\"w\"}",
                             "{\"op\":\"compute\",\"workflow\":\"w\",\"from\":1,\"to\":2,"
                             "\"paths\":[\"a=1\"]}"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CU_ASSERT_EQUAL(hs_proto_api_req_decode(&am, refused[i], strlen(refused[i])), HS_ERR_PARSE);
        hs_proto_api_req_msg_free(&am);
    }
    q = (hs_proto_api_req){.op = HS_API_META_ADD, .paths = NULL, .npaths = 0};
    CU_ASSERT_EQUAL(hs_proto_api_req_encode(&b, &q), HS_ERR_INVAL);
    hs_buf_free(&b);
}

static void test_unknown_op(void)
{
    fake f = {0};
    /* As the codec decodes it. */
    const char *json = "{\"op\":\"frobnicate\"}";
    hs_proto_api_req_msg am;
    CU_ASSERT_EQUAL_FATAL(hs_proto_api_req_decode(&am, json, strlen(json)), HS_OK);
    CU_ASSERT_EQUAL(am.req.op, HS_API_UNKNOWN);
    expect_error(&f, &am.req, HS_ERR_UNSUPPORTED,
                 "unknown op 'frobnicate' (workflow_add, workflow_rm, compute, cancel, ping, "
                 "meta_add, meta_rm)");
    hs_proto_api_req_msg_free(&am);
    /* Built without an op name. */
    hs_proto_api_req q = {.op = HS_API_UNKNOWN, .op_text = NULL};
    expect_error(&f, &q, HS_ERR_UNSUPPORTED,
                 "unknown op '' (workflow_add, workflow_rm, compute, cancel, ping, meta_add, "
                 "meta_rm)");
    CU_ASSERT_EQUAL(f.calls, 0);
    api_result_free(NULL);
}

HS_TEST_INIT(api)
{
    HS_TEST_SUITE_BEGIN("api");
    HS_TEST(test_workflow_add);
    HS_TEST(test_workflow_add_errors);
    HS_TEST(test_workflow_rm);
    HS_TEST(test_compute);
    HS_TEST(test_compute_errors);
    HS_TEST(test_ping);
    HS_TEST(test_cancel);
    HS_TEST(test_compute_dry_run);
    HS_TEST(test_unknown_op);
    HS_TEST(test_meta);
    return 0;
}
