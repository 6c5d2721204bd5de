/*
 * The operations messages: service status (hs_proto_status), control
 * requests and replies (hs_ctl), metrics (hs_metrics). Each is encoded and
 * decoded back, and malformed ones are refused with a detail naming the
 * field.
 */
#include "hs_config.h"
#include "hs_ctl.h"
#include "hs_error.h"
#include "hs_metrics.h"
#include "hs_proto.h"
#include "hs_service.h"
#include "hs_time.h"
#include "test_suites.h"

#include <CUnit/CUnit.h>
#include <string.h>

/* ------------------------------------------------------------------ status */

/* 2016-04-28T20:00:00.000123Z */
#define T0_US (1461873600LL * 1000000LL + 123)

static hs_proto_status status_base(hs_proto_state state, const char *service)
{
    hs_proto_status st = {
        .state = state,
        .id = "w-1",
        .service = service,
        .version = "1.2.3",
        .pid = 4242,
        .host = "box",
        .started_us = T0_US,
        .incarnation = (uint64_t)T0_US,
        .reason = HS_PROTO_REASON_NONE,
        .tools = NULL,
    };
    return st;
}

/* Encodes st, decodes the text and checks every field came back. */
static void status_round_trip(const hs_proto_status *st)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(hs_proto_status_encode(&b, st), HS_OK);
    hs_proto_status_msg m;
    int rc = hs_proto_status_decode(&m, (const char *)b.data, b.len);
    CU_ASSERT_EQUAL(rc, HS_OK);
    if (rc == HS_OK) {
        CU_ASSERT_EQUAL(m.st.state, st->state);
        CU_ASSERT_STRING_EQUAL(m.st.id, st->id);
        CU_ASSERT_STRING_EQUAL(m.st.service, st->service);
        CU_ASSERT_STRING_EQUAL(m.st.version, st->version);
        CU_ASSERT_EQUAL(m.st.pid, st->pid);
        CU_ASSERT_STRING_EQUAL(m.st.host, st->host);
        CU_ASSERT_EQUAL(m.st.started_us, st->started_us);
        CU_ASSERT_EQUAL(m.st.incarnation, st->incarnation);
        CU_ASSERT_EQUAL(m.st.reason, st->reason);
        CU_ASSERT_STRING_EQUAL(m.st.tools, st->tools != NULL ? st->tools : "");
        CU_ASSERT_STRING_EQUAL(m.st.metrics, st->metrics != NULL ? st->metrics : "");
    }
    hs_proto_status_msg_free(&m);
    hs_buf_free(&b);
}

static void test_status_online_text(void)
{
    /* The exact text services publish (member order and forms as before the codec). */
    hs_proto_status st = status_base(HS_PROTO_ONLINE, "writer");
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(hs_proto_status_encode(&b, &st), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b),
                           "{\"state\":\"online\",\"id\":\"w-1\",\"service\":\"writer\","
                           "\"version\":\"1.2.3\",\"pid\":4242,\"host\":\"box\","
                           "\"started\":\"2016-04-28T20:00:00.000123Z\","
                           "\"incarnation\":1461873600000123}");
    hs_buf_free(&b);
    status_round_trip(&st);
}

static void test_status_round_trips(void)
{
    hs_proto_status st = status_base(HS_PROTO_PAUSED, "scheduler");
    status_round_trip(&st);

    st = status_base(HS_PROTO_OFFLINE, "ingest");
    st.reason = HS_PROTO_REASON_STOPPED;
    status_round_trip(&st);

    st = status_base(HS_PROTO_OFFLINE, "writer");
    st.reason = HS_PROTO_REASON_CONNECTION_LOST;
    st.host = "";
    status_round_trip(&st);

    /* Tool runtimes: online with the tool, stopped with it, the last will without. */
    st = status_base(HS_PROTO_ONLINE, "tool");
    st.id = "tool-clock-1";
    st.tools = "clock";
    status_round_trip(&st);
    st.state = HS_PROTO_PAUSED;
    st.tools = "all";
    status_round_trip(&st);
    st.state = HS_PROTO_OFFLINE;
    st.reason = HS_PROTO_REASON_STOPPED;
    status_round_trip(&st);
    st.reason = HS_PROTO_REASON_CONNECTION_LOST;
    st.tools = NULL;
    status_round_trip(&st);

    /* A service serving metrics says where. */
    st = status_base(HS_PROTO_ONLINE, "writer");
    st.metrics = "http://127.0.0.1:9464/metrics";
    status_round_trip(&st);
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(hs_proto_status_encode(&b, &st), HS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&b),
                                  ",\"incarnation\":1461873600000123,"
                                  "\"metrics\":\"http://127.0.0.1:9464/metrics\"}"));
    st.metrics = "ftp://x";
    CU_ASSERT_EQUAL(hs_proto_status_encode(&b, &st), HS_ERR_INVAL);
    hs_buf_free(&b);
    static const char bad[] = "{\"state\":\"online\",\"id\":\"w\",\"service\":\"writer\","
                              "\"version\":\"1\",\"pid\":1,\"host\":\"\",\"started\":"
                              "\"1970-01-01T00:00:00Z\",\"incarnation\":0,\"metrics\":\"9464\"}";
    hs_proto_status_msg m;
    CU_ASSERT_NOT_EQUAL(hs_proto_status_decode(&m, bad, strlen(bad)), HS_OK);
    hs_proto_status_msg_free(&m);
}

static void test_status_offline_text(void)
{
    hs_proto_status st = status_base(HS_PROTO_OFFLINE, "tool");
    st.reason = HS_PROTO_REASON_CONNECTION_LOST;
    st.tools = "clock";
    st.started_us = 0;
    st.incarnation = 0;
    st.host = "a\"b";
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(hs_proto_status_encode(&b, &st), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b),
                           "{\"state\":\"offline\",\"id\":\"w-1\",\"service\":\"tool\","
                           "\"version\":\"1.2.3\",\"pid\":4242,\"host\":\"a\\\"b\","
                           "\"started\":\"1970-01-01T00:00:00Z\",\"incarnation\":0,"
                           "\"reason\":\"connection lost\",\"tools\":\"clock\"}");
    hs_buf_free(&b);
}

static void test_status_encode_refuses(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_proto_status st = status_base(HS_PROTO_OFFLINE, "writer");
    CU_ASSERT_EQUAL(hs_proto_status_encode(&b, &st), HS_ERR_INVAL); /* offline without reason */
    st = status_base(HS_PROTO_ONLINE, "writer");
    st.reason = HS_PROTO_REASON_STOPPED;
    CU_ASSERT_EQUAL(hs_proto_status_encode(&b, &st), HS_ERR_INVAL); /* reason while online */
    st = status_base(HS_PROTO_ONLINE, "writer");
    st.tools = "clock";
    CU_ASSERT_EQUAL(hs_proto_status_encode(&b, &st), HS_ERR_INVAL); /* tools on a writer */
    st = status_base(HS_PROTO_ONLINE, "tool");
    st.tools = "a/b";
    CU_ASSERT_EQUAL(hs_proto_status_encode(&b, &st), HS_ERR_INVAL);
    st = status_base(HS_PROTO_ONLINE, "writer");
    st.id = "";
    CU_ASSERT_EQUAL(hs_proto_status_encode(&b, &st), HS_ERR_INVAL);
    st = status_base(HS_PROTO_ONLINE, "writer");
    st.pid = 0;
    CU_ASSERT_EQUAL(hs_proto_status_encode(&b, &st), HS_ERR_INVAL);
    hs_buf_free(&b);
}

/* A valid status's members, to which each refusal case adds or changes one. */
#define ST_HEAD "\"id\":\"w\",\"service\":\"writer\",\"version\":\"1.0.0\",\"pid\":7,\"host\":\"h\""
#define ST_TAIL "\"started\":\"2020-01-01T00:00:00Z\",\"incarnation\":5"

/* Decoding json must fail with HS_ERR_PARSE and a detail that contains needle. */
static void status_refused(const char *json, const char *needle)
{
    hs_proto_status_msg m;
    int rc = hs_proto_status_decode(&m, json, strlen(json));
    CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
    if (rc == HS_ERR_PARSE && strstr(hs_err_detail(), needle) == NULL) {
        fprintf(stderr, "\n%s: detail '%s' lacks '%s'\n", json, hs_err_detail(), needle);
        CU_FAIL("the detail does not name the field");
    }
    hs_proto_status_msg_free(&m);
}

static void test_status_decode_refuses(void)
{
    const char *ok = "{\"state\":\"online\"," ST_HEAD "," ST_TAIL "}";
    hs_proto_status_msg m;
    CU_ASSERT_EQUAL(hs_proto_status_decode(&m, ok, strlen(ok)), HS_OK);
    hs_proto_status_msg_free(&m);

    status_refused("{" ST_HEAD "," ST_TAIL "}", "'state' is missing");
    status_refused("{\"state\":\"sleeping\"," ST_HEAD "," ST_TAIL "}", "'state'");
    status_refused("{\"state\":1," ST_HEAD "," ST_TAIL "}", "'state'");
    status_refused("{\"state\":\"online\"," ST_HEAD ",\"started\":\"2020-01-01T00:00:00Z\"}",
                   "'incarnation' is missing");
    status_refused("{\"state\":\"online\"," ST_HEAD ",\"started\":\"yesterday\","
                   "\"incarnation\":5}",
                   "'started'");
    status_refused("{\"state\":\"online\"," ST_HEAD ",\"started\":\"2020-01-01T00:00:00Z\","
                   "\"incarnation\":-5}",
                   "'incarnation'");
    status_refused("{\"state\":\"online\",\"id\":\"w\",\"service\":\"writer\",\"version\":"
                   "\"1.0.0\",\"pid\":\"7\",\"host\":\"h\"," ST_TAIL "}",
                   "'pid'");
    status_refused("{\"state\":\"online\",\"id\":\"w\",\"service\":\"writer\",\"version\":"
                   "\"1.0.0\",\"pid\":0,\"host\":\"h\"," ST_TAIL "}",
                   "'pid'");
    status_refused("{\"state\":\"online\",\"id\":\"w\",\"service\":\"robot\",\"version\":"
                   "\"1.0.0\",\"pid\":7,\"host\":\"h\"," ST_TAIL "}",
                   "'service'");
    status_refused("{\"state\":\"online\"," ST_HEAD "," ST_TAIL ",\"colour\":\"red\"}",
                   "unknown field 'colour'");
    status_refused("{\"state\":\"online\",\"state\":\"online\"," ST_HEAD "," ST_TAIL "}",
                   "duplicate");
    status_refused("{\"state\":\"offline\"," ST_HEAD "," ST_TAIL "}", "'reason'");
    status_refused("{\"state\":\"online\"," ST_HEAD "," ST_TAIL ",\"reason\":\"stopped\"}",
                   "'reason'");
    status_refused("{\"state\":\"offline\"," ST_HEAD "," ST_TAIL ",\"reason\":\"tired\"}",
                   "'reason'");
    status_refused("{\"state\":\"online\"," ST_HEAD "," ST_TAIL ",\"tools\":\"clock\"}", "'tools'");
    status_refused("{\"state\":\"online\",\"id\":\"t\",\"service\":\"tool\",\"version\":"
                   "\"1.0.0\",\"pid\":7,\"host\":\"h\"," ST_TAIL "}",
                   "'tools' is missing");
    status_refused("[]", "status");
    status_refused("{\"state\":\"online\"", "status");
}

/* ------------------------------------------------------------------ control requests */

static void ctl_round_trip(const char *cmd, const char *name, const char *value)
{
    hs_ctl_request q, back;
    memset(&q, 0, sizeof q);
    snprintf(q.cmd, sizeof q.cmd, "%s", cmd);
    snprintf(q.name, sizeof q.name, "%s", name);
    snprintf(q.value, sizeof q.value, "%s", value);
    hs_buf b, reply;
    hs_buf_init(&b, 0);
    hs_buf_init(&reply, 0);
    CU_ASSERT_EQUAL_FATAL(hs_ctl_request_encode(&b, &q), HS_OK);
    CU_ASSERT_EQUAL(hs_ctl_request_read(b.data, b.len, &back, &reply), HS_OK);
    CU_ASSERT_EQUAL(reply.len, 0);
    CU_ASSERT_STRING_EQUAL(back.cmd, cmd);
    CU_ASSERT_STRING_EQUAL(back.name, name);
    CU_ASSERT_STRING_EQUAL(back.value, value);
    hs_buf_free(&b);
    hs_buf_free(&reply);
}

static void test_ctl_request_round_trip(void)
{
    ctl_round_trip("ping", "", "");
    ctl_round_trip("get", "log_level", "");
    ctl_round_trip("set", "log_level", "debug");
    ctl_round_trip("set", "metrics_interval", "");
    ctl_round_trip("set", "x.y-z_1", "say \"hi\" \\ \xc3\xa9t\xc3\xa9\n");

    hs_ctl_request q;
    memset(&q, 0, sizeof q);
    snprintf(q.cmd, sizeof q.cmd, "set");
    snprintf(q.name, sizeof q.name, "log_level");
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_ctl_request_encode(&b, &q), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b),
                           "{\"cmd\":\"set\",\"name\":\"log_level\",\"value\":\"\"}");
    snprintf(q.cmd, sizeof q.cmd, "pi ng");
    CU_ASSERT_EQUAL(hs_ctl_request_encode(&b, &q), HS_ERR_INVAL);
    q.cmd[0] = '\0';
    CU_ASSERT_EQUAL(hs_ctl_request_encode(&b, &q), HS_ERR_INVAL);
    snprintf(q.cmd, sizeof q.cmd, "get");
    snprintf(q.name, sizeof q.name, "a\"b");
    CU_ASSERT_EQUAL(hs_ctl_request_encode(&b, &q), HS_ERR_INVAL);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ control replies */

static void reply_ok(const char *json, bool ok, hs_ctl_reply_kind kind, const char *state,
                     const char *error)
{
    hs_ctl_reply r;
    int rc = hs_ctl_reply_decode(json, strlen(json), &r);
    CU_ASSERT_EQUAL(rc, HS_OK);
    if (rc != HS_OK) {
        fprintf(stderr, "\n%s: %s\n", json, hs_err_detail());
        return;
    }
    CU_ASSERT_EQUAL(r.ok, ok);
    CU_ASSERT_EQUAL(r.kind, kind);
    CU_ASSERT_STRING_EQUAL(r.state, state);
    CU_ASSERT_STRING_EQUAL(r.error, error);
}

static void reply_refused(const char *json, const char *needle)
{
    hs_ctl_reply r;
    int rc = hs_ctl_reply_decode(json, strlen(json), &r);
    CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
    if (rc == HS_ERR_PARSE && strstr(hs_err_detail(), needle) == NULL) {
        fprintf(stderr, "\n%s: detail '%s' lacks '%s'\n", json, hs_err_detail(), needle);
        CU_FAIL("the detail does not name the field");
    }
}

static void test_ctl_reply_samples(void)
{
    reply_ok("{\"ok\":false,\"error\":\"no setting 'x'\"}", false, HS_CTL_REPLY_ERROR, "",
             "no setting 'x'");
    reply_ok("{\"ok\":true,\"id\":\"w\",\"service\":\"writer\",\"version\":\"1.0.0\","
             "\"uptime_s\":1.5,\"state\":\"paused\"}",
             true, HS_CTL_REPLY_PING, "paused", "");
    reply_ok("{\"ok\":true,\"stats\":{\"x\":1}}", true, HS_CTL_REPLY_STATS, "", "");
    reply_ok("{\"ok\":true,\"settings\":{\"log_level\":\"info\"},\"settable\":[\"log_level\"]}",
             true, HS_CTL_REPLY_SETTINGS, "", "");
    reply_ok("{\"ok\":true,\"name\":\"log_level\",\"value\":\"debug\"}", true, HS_CTL_REPLY_SET, "",
             "");
    reply_ok("{\"ok\":true,\"state\":\"stopping\"}", true, HS_CTL_REPLY_STATE, "stopping", "");
    reply_ok("{\"ok\":false,\"state\":\"draining\"}", false, HS_CTL_REPLY_STATE, "draining", "");
    reply_ok("{\"ok\":false,\"state\":\"draining\",\"error\":\"busy\"}", false, HS_CTL_REPLY_STATE,
             "draining", "busy");

    reply_refused("{\"error\":\"x\"}", "'ok' is missing");
    reply_refused("{\"ok\":false}", "'error' is missing");
    reply_refused("{\"ok\":\"yes\",\"state\":\"paused\"}", "'ok'");
    reply_refused("{\"ok\":true,\"state\":\"asleep\"}", "'state'");
    reply_refused("{\"ok\":true,\"state\":\"draining\"}", "'state'");
    reply_refused("{\"ok\":true,\"stats\":[]}", "'stats'");
    reply_refused("{\"ok\":true,\"stats\":{},\"state\":\"paused\"}", "'state' does not belong");
    reply_refused("{\"ok\":true,\"name\":\"x\"}", "'value' is missing");
    reply_refused("{\"ok\":true,\"settings\":{\"a\":1},\"settable\":[]}", "'settings'");
    reply_refused("{\"ok\":true,\"ok\":true,\"state\":\"paused\"}", "duplicate");
    reply_refused("{\"ok\":true,\"mood\":\"good\"}", "unknown field 'mood'");
    reply_refused("not json", "not a JSON object");
}

static int fx_stats(void *ctx, hs_buf *out)
{
    (void)ctx;
    return hs_buf_puts(out, "{\"x\":1}");
}

/* The replies a control channel gives decode as the reply to their command. */
static void test_ctl_reply_from_channel(void)
{
    hs_service_cfg cfg;
    CU_ASSERT_EQUAL_FATAL(hs_config_defaults(hs_service_cfg_table, &cfg), HS_OK);
    hs_ctl_opts o;
    memset(&o, 0, sizeof o);
    o.kind = "ingest";
    o.id = "ingest";
    o.started_us = hs_time_now_us();
    o.table = hs_service_cfg_table;
    o.cfg = &cfg;
    o.hooks.stats = fx_stats;
    o.drain_timeout_us = 50 * 1000;
    hs_ctl *c;
    CU_ASSERT_EQUAL_FATAL(hs_ctl_create(&c, &o), HS_OK);
    static const struct {
        const char *cmd, *name;
        bool ok;
        hs_ctl_reply_kind kind;
        const char *state;
    } cases[] = {
        {"ping", "", true, HS_CTL_REPLY_PING, "online"},
        {"stats", "", true, HS_CTL_REPLY_STATS, ""},
        {"get", "", true, HS_CTL_REPLY_SETTINGS, ""},
        {"get", "log_level", true, HS_CTL_REPLY_SETTINGS, ""},
        {"get", "nonesuch", false, HS_CTL_REPLY_ERROR, ""},
        {"set", "prefix", false, HS_CTL_REPLY_ERROR, ""},
        {"pause", "", true, HS_CTL_REPLY_STATE, "paused"},
        {"ping", "", true, HS_CTL_REPLY_PING, "paused"},
        {"resume", "", true, HS_CTL_REPLY_STATE, "online"},
        {"drain", "", false, HS_CTL_REPLY_STATE, "draining"},
        {"fly", "", false, HS_CTL_REPLY_ERROR, ""},
    };
    hs_buf req, reply;
    hs_buf_init(&req, 0);
    hs_buf_init(&reply, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hs_ctl_request q;
        memset(&q, 0, sizeof q);
        snprintf(q.cmd, sizeof q.cmd, "%s", cases[i].cmd);
        snprintf(q.name, sizeof q.name, "%s", cases[i].name);
        if (strcmp(q.cmd, "set") == 0)
            snprintf(q.value, sizeof q.value, "other");
        CU_ASSERT_EQUAL_FATAL(hs_ctl_request_encode(&req, &q), HS_OK);
        hs_buf_reset(&reply);
        CU_ASSERT_EQUAL_FATAL(hs_ctl_execute(c, req.data, req.len, &reply), HS_OK);
        hs_ctl_reply r;
        int rc = hs_ctl_reply_decode(reply.data, reply.len, &r);
        CU_ASSERT_EQUAL(rc, HS_OK);
        if (rc != HS_OK) {
            fprintf(stderr, "\n%s -> %s: %s\n", hs_buf_cstr(&req), hs_buf_cstr(&reply),
                    hs_err_detail());
            continue;
        }
        CU_ASSERT_EQUAL(r.ok, cases[i].ok);
        CU_ASSERT_EQUAL(r.kind, cases[i].kind);
        CU_ASSERT_STRING_EQUAL(r.state, cases[i].state);
        CU_ASSERT_EQUAL(r.error[0] != '\0', cases[i].kind == HS_CTL_REPLY_ERROR ||
                                                (!cases[i].ok && r.kind == HS_CTL_REPLY_STATE));
    }
    hs_buf_free(&req);
    hs_buf_free(&reply);
    hs_ctl_destroy(c);
    hs_config_free(hs_service_cfg_table, &cfg);
}

/* ------------------------------------------------------------------ metrics */

static void test_metrics_round_trip(void)
{
    /* Values the rendering keeps exactly (1 or 3 decimals, binary fractions). */
    hs_metrics_snapshot s = {
        .kind = "tool",
        .id = "tool-\"x\"-1",
        .version = "1.2.3",
        .t_us = T0_US,
        .uptime_s = 12.5,
        .paused = true,
        .msgs_in = 10,
        .msgs_out = 20,
        .instances_in = 30,
        .instances_out = UINT64_MAX,
        .msgs_in_per_s = 1.5,
        .msgs_out_per_s = 2.5,
        .instances_in_per_s = 0.5,
        .instances_out_per_s = 1024.0,
        .errors = 1,
        .dead_lettered = 2,
        .backlog = 3,
        .p50_ms = 0.125,
        .p95_ms = 0.25,
        .p99_ms = 8.5,
        .window_count = 99,
        .lat_count = 7,
        .lat_sum_us = 8,
        .rx_queued = 4,
        .inflight = 5,
        .reconnects = 6,
        .rss_kb = 2048,
        .cpu_s = 0.375,
    };
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(hs_metrics_render_json(&s, &b), HS_OK);
    hs_metrics_msg m;
    int rc = hs_metrics_decode(&m, (const char *)b.data, b.len);
    CU_ASSERT_EQUAL(rc, HS_OK);
    if (rc == HS_OK) {
        const hs_metrics_snapshot *d = &m.s;
        CU_ASSERT_STRING_EQUAL(d->kind, "tool");
        CU_ASSERT_STRING_EQUAL(d->id, "tool-\"x\"-1");
        CU_ASSERT_STRING_EQUAL(d->version, "1.2.3");
        CU_ASSERT_EQUAL(d->t_us, T0_US);
        CU_ASSERT_DOUBLE_EQUAL(d->uptime_s, 12.5, 0);
        CU_ASSERT_TRUE(d->paused);
        CU_ASSERT_EQUAL(d->msgs_in, 10);
        CU_ASSERT_EQUAL(d->msgs_out, 20);
        CU_ASSERT_EQUAL(d->instances_in, 30);
        CU_ASSERT_EQUAL(d->instances_out, UINT64_MAX);
        CU_ASSERT_DOUBLE_EQUAL(d->msgs_in_per_s, 1.5, 0);
        CU_ASSERT_DOUBLE_EQUAL(d->msgs_out_per_s, 2.5, 0);
        CU_ASSERT_DOUBLE_EQUAL(d->instances_in_per_s, 0.5, 0);
        CU_ASSERT_DOUBLE_EQUAL(d->instances_out_per_s, 1024.0, 0);
        CU_ASSERT_EQUAL(d->errors, 1);
        CU_ASSERT_EQUAL(d->dead_lettered, 2);
        CU_ASSERT_EQUAL(d->backlog, 3);
        CU_ASSERT_DOUBLE_EQUAL(d->p50_ms, 0.125, 0);
        CU_ASSERT_DOUBLE_EQUAL(d->p95_ms, 0.25, 0);
        CU_ASSERT_DOUBLE_EQUAL(d->p99_ms, 8.5, 0);
        CU_ASSERT_EQUAL(d->window_count, 99);
        CU_ASSERT_EQUAL(d->lat_count, 0); /* not in the message */
        CU_ASSERT_EQUAL(d->rx_queued, 4);
        CU_ASSERT_EQUAL(d->inflight, 5);
        CU_ASSERT_EQUAL(d->reconnects, 6);
        CU_ASSERT_EQUAL(d->rss_kb, 2048);
        CU_ASSERT_DOUBLE_EQUAL(d->cpu_s, 0.375, 0);
    }
    hs_metrics_msg_free(&m);

    /* Refusals: each one field changed in the rendered text. */
    static const struct {
        const char *from, *to, *needle;
    } bad[] = {
        {"\"state\":\"paused\"", "\"state\":\"asleep\"", "'state'"},
        {"\"errors\":1,", "\"errors\":-1,", "'errors'"},
        {"\"errors\":1,", "", "'errors' is missing"},
        {"\"errors\":1,", "\"errors\":1,\"errors\":1,", "duplicate"},
        {"\"errors\":1,", "\"errors\":1,\"mood\":1,", "unknown field 'mood'"},
        {"\"p50\":0.125", "\"p50\":9.125", "ordered"},
        {"\"count\":99", "\"count\":\"99\"", "'count'"},
        {"\"cpu_s\":0.375", "\"cpu_s\":-0.375", "'cpu_s'"},
        {"\"id\":", "\"id\":1,\"x\":", "'id'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *text = hs_buf_cstr(&b);
        const char *at = strstr(text, bad[i].from);
        CU_ASSERT_PTR_NOT_NULL_FATAL(at);
        char json[2048];
        snprintf(json, sizeof json, "%.*s%s%s", (int)(at - text), text, bad[i].to,
                 at + strlen(bad[i].from));
        rc = hs_metrics_decode(&m, json, strlen(json));
        CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
        if (rc == HS_ERR_PARSE && strstr(hs_err_detail(), bad[i].needle) == NULL) {
            fprintf(stderr, "\n%s: detail '%s' lacks '%s'\n", json, hs_err_detail(), bad[i].needle);
            CU_FAIL("the detail does not name the field");
        }
        hs_metrics_msg_free(&m);
    }
    hs_buf_free(&b);
}

/* Every reply kind the encoder writes decodes as that kind; what the decoder would refuse is
 * refused. */
static void test_ctl_reply_encode(void)
{
    static const hs_ctl_setting settings[] = {{"log_level", "info"}, {"mqtt_password", NULL}};
    static const char *const settable[] = {"log_level"};
    const hs_ctl_reply_out cases[] = {
        {.kind = HS_CTL_REPLY_ERROR, .error = "no \"such\" thing"},
        {.kind = HS_CTL_REPLY_PING,
         .ok = true,
         .id = "ingest",
         .service = "ingest",
         .version = "0.1.0",
         .uptime_s = 1.25,
         .state = "online"},
        {.kind = HS_CTL_REPLY_STATS, .ok = true, .stats_json = "{\"x\":1}"},
        {.kind = HS_CTL_REPLY_STATS, .ok = true},
        {.kind = HS_CTL_REPLY_SETTINGS,
         .ok = true,
         .settings = settings,
         .nsettings = 2,
         .settable = settable,
         .nsettable = 1},
        {.kind = HS_CTL_REPLY_SET, .ok = true, .name = "log_level", .value = "debug"},
        {.kind = HS_CTL_REPLY_STATE, .ok = true, .state = "paused"},
        {.kind = HS_CTL_REPLY_STATE, .state = "draining", .error = "work still in flight"},
    };
    hs_buf b;
    hs_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(hs_ctl_reply_encode(&b, &cases[i]), HS_OK);
        hs_ctl_reply r;
        CU_ASSERT_EQUAL_FATAL(hs_ctl_reply_decode(b.data, b.len, &r), HS_OK);
        CU_ASSERT_EQUAL(r.kind, cases[i].kind);
        CU_ASSERT_EQUAL(r.ok, cases[i].ok);
        if (cases[i].state != NULL)
            CU_ASSERT_STRING_EQUAL(r.state, cases[i].state);
        if (cases[i].error != NULL)
            CU_ASSERT_STRING_EQUAL(r.error, cases[i].error);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&b), "\"error\":\"work still in flight\""));
    CU_ASSERT_EQUAL_FATAL(hs_ctl_reply_encode(&b, &cases[4]), HS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&b), "\"mqtt_password\":\"***\""));
    const hs_ctl_reply_out bad[] = {
        {.kind = HS_CTL_REPLY_ERROR, .error = ""},
        {.kind = HS_CTL_REPLY_ERROR, .ok = true, .error = "x"},
        {.kind = HS_CTL_REPLY_PING, .ok = true, .id = "x"},
        {.kind = HS_CTL_REPLY_SET, .ok = true, .name = "a b", .value = "1"},
        {.kind = HS_CTL_REPLY_STATE, .state = "draining"},
        {.kind = (hs_ctl_reply_kind)99, .ok = true},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(hs_ctl_reply_encode(&b, &bad[i]), HS_ERR_INVAL);
    hs_buf_free(&b);
}

HS_TEST_INIT(opsmsg)
{
    HS_TEST_SUITE_BEGIN("opsmsg")
    HS_TEST(test_status_online_text)
    HS_TEST(test_status_round_trips)
    HS_TEST(test_status_offline_text)
    HS_TEST(test_status_encode_refuses)
    HS_TEST(test_status_decode_refuses)
    HS_TEST(test_ctl_request_round_trip)
    HS_TEST(test_ctl_reply_samples)
    HS_TEST(test_ctl_reply_from_channel)
    HS_TEST(test_ctl_reply_encode)
    HS_TEST(test_metrics_round_trip)
    return 0;
}
