/*
 * Tests of hs_mqtt against a private Mosquitto broker per test: round trips,
 * shared subscriptions, v5 request/response properties, the last will of a
 * killed process, persistent sessions, reconnection after a broker restart,
 * back-pressure of a full receive queue, the publish window, connect
 * failures and topic matching.
 *
 * Some tests need a second process that uses MQTT on its own. A forked
 * child cannot use Paho once the parent has (Paho's threads do not survive
 * fork), so the child re-executes this binary with HS_TEST_MQTT_CHILD set;
 * hs__test_mqtt_child, a constructor, then plays its role before main runs.
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mqtt.h"
#include "hs_proto.h"
#include "hs_wclient.h"
#include "hs_test_broker.h"

#include <CUnit/CUnit.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long a test waits for something that should happen (a hang guard). */
#define WAIT_MS 10000

/* A pointer the rest of the test needs (the return tells the compiler so). */
#define REQUIRE(p)                                                                                 \
    do {                                                                                           \
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);                                                           \
        if ((p) == NULL)                                                                           \
            return;                                                                                \
    } while (0)

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Creates a client of url with the given id, or NULL. */
static hs_mqtt *client_new(const char *url, const char *id, const hs_mqtt_opts *base)
{
    hs_mqtt_opts o;
    if (base != NULL)
        o = *base;
    else
        hs_mqtt_opts_init(&o);
    o.url = url;
    o.client_id = id;
    hs_mqtt *m = NULL;
    if (hs_mqtt_create(&m, &o) != HS_OK)
        return NULL;
    return m;
}

/* A connected publisher. */
static hs_mqtt *publisher_new(const char *url, const char *id)
{
    hs_mqtt *m = client_new(url, id, NULL);
    if (m != NULL && hs_mqtt_connect(m) != HS_OK) {
        hs_mqtt_destroy(m);
        return NULL;
    }
    return m;
}

/* ---- Child processes ---------------------------------------------------- */

/* Publishes HS_TEST_MQTT_N QoS 1 messages "0".."N-1" to HS_TEST_MQTT_TOPIC. */
static int child_publish(const char *url)
{
    const char *topic = getenv("HS_TEST_MQTT_TOPIC");
    const char *n_text = getenv("HS_TEST_MQTT_N");
    if (topic == NULL || n_text == NULL)
        return 2;
    int n = atoi(n_text);
    hs_mqtt *m = publisher_new(url, "child-pub");
    if (m == NULL)
        return 3;
    int rc = HS_OK;
    for (int i = 0; i < n && rc == HS_OK; i++) {
        char payload[16];
        int len = snprintf(payload, sizeof payload, "%d", i);
        rc = hs_mqtt_publish(m, topic, payload, (size_t)len, 1, false, WAIT_MS);
    }
    if (rc == HS_OK)
        rc = hs_mqtt_flush(m, WAIT_MS);
    hs_mqtt_stats st;
    hs_mqtt_get_stats(m, &st);
    hs_mqtt_destroy(m);
    return rc == HS_OK && st.publish_failures == 0 ? 0 : 4;
}

/*
 * Connects with a will on HS_TEST_MQTT_TOPIC, publishes "online" there
 * (retained), reports 'R' on the pipe HS_TEST_MQTT_FD and waits to be killed.
 */
static int child_will(const char *url)
{
    const char *topic = getenv("HS_TEST_MQTT_TOPIC");
    const char *fd_text = getenv("HS_TEST_MQTT_FD");
    if (topic == NULL || fd_text == NULL)
        return 2;
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.url = url;
    o.client_id = "child-will";
    o.will_topic = topic;
    o.will_payload = "offline";
    o.will_len = 7;
    o.will_retain = true;
    o.will_qos = 1;
    hs_mqtt *m = NULL;
    if (hs_mqtt_create(&m, &o) != HS_OK || hs_mqtt_connect(m) != HS_OK)
        return 3;
    if (hs_mqtt_publish(m, topic, "online", 6, 1, true, WAIT_MS) != HS_OK ||
        hs_mqtt_flush(m, WAIT_MS) != HS_OK)
        return 4;
    int fd = atoi(fd_text);
    if (write(fd, "R", 1) != 1)
        return 5;
    for (;;)
        pause();
}

__attribute__((constructor)) static void hs__test_mqtt_child(void)
{
    const char *role = getenv("HS_TEST_MQTT_CHILD");
    const char *url = getenv("HS_TEST_MQTT_URL");
    if (role == NULL || url == NULL)
        return;
    alarm(60); /* a child that hangs (or is forgotten) dies on its own */
    int status = 2;
    if (strcmp(role, "pub") == 0)
        status = child_publish(url);
    else if (strcmp(role, "will") == 0)
        status = child_will(url);
    _exit(status);
}

/*
 * Starts this binary again as a child in the given role; fd_keep, if >= 0,
 * stays open in the child. Returns its PID or -1.
 */
static pid_t child_start(const char *role, const char *url, const char *topic, int n, int fd_keep)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    char nbuf[16], fdbuf[16];
    snprintf(nbuf, sizeof nbuf, "%d", n);
    snprintf(fdbuf, sizeof fdbuf, "%d", fd_keep);
    setenv("HS_TEST_MQTT_CHILD", role, 1);
    setenv("HS_TEST_MQTT_URL", url, 1);
    setenv("HS_TEST_MQTT_TOPIC", topic, 1);
    setenv("HS_TEST_MQTT_N", nbuf, 1);
    setenv("HS_TEST_MQTT_FD", fdbuf, 1);
    execl("/proc/self/exe", "hs_unit_tests", (char *)NULL);
    _exit(127);
}

/* ---- Tests -------------------------------------------------------------- */

static void test_topic_matches(void)
{
    static const struct {
        const char *filter, *topic;
        bool match;
    } cases[] = {
        {"a/b", "a/b", true},
        {"a/b", "a/c", false},
        {"a/b", "a/b/c", false},
        {"a/b/c", "a/b", false},
        {"a/+", "a/b", true},
        {"a/+", "a/", true}, /* an empty level is a level */
        {"a/+", "a", false},
        {"a/+", "a/b/c", false},
        {"+/+", "/finance", true},
        {"/+", "/finance", true},
        {"+", "/finance", false},
        {"a/+/c", "a/b/c", true},
        {"a/+/c", "a/b/d", false},
        {"#", "a/b/c", true},
        {"#", "a", true},
        {"a/#", "a", true}, /* the parent level */
        {"a/#", "a/b/c", true},
        {"a/#", "ab", false},
        {"a/b/#", "a/b", true},
        {"a/b/#", "a/c", false},
        {"+/b/#", "x/b/y/z", true},
        {"#", "$SYS/broker", false},
        {"+/broker", "$SYS/broker", false},
        {"$SYS/#", "$SYS/broker", true},
        {"$SYS/+", "$SYS/broker", true},
        {"$share/g/a/+", "a/b", true},
        {"$share/g/#", "x", true},
        {"$share/g", "g", false},
        {"$share//a", "a", false},
        {"a/#/b", "a/x/b", false}, /* malformed filters match nothing */
        {"a#", "a#", false},
        {"a/b+", "a/b+", false},
        {"", "a", false},
        {"a", "", false},
        {"a/+", "a/+", false}, /* topics carry no wildcards */
        {"a//b", "a//b", true},
        {"a/+/b", "a//b", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool got = hs_mqtt_topic_matches(cases[i].filter, cases[i].topic);
        if (got != cases[i].match)
            fprintf(stderr, "filter \"%s\" topic \"%s\": got %d\n", cases[i].filter, cases[i].topic,
                    got);
        CU_ASSERT_EQUAL(got, cases[i].match);
    }
    CU_ASSERT_FALSE(hs_mqtt_topic_matches(NULL, "a"));
    CU_ASSERT_FALSE(hs_mqtt_topic_matches("a", NULL));
}

static void test_bad_arguments(void)
{
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    hs_mqtt *m = NULL;
    CU_ASSERT_EQUAL(hs_mqtt_create(&m, NULL), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_mqtt_create(&m, &o), HS_ERR_INVAL); /* no URL */
    o.url = "http://127.0.0.1:1";
    o.client_id = "x";
    CU_ASSERT_EQUAL(hs_mqtt_create(&m, &o), HS_ERR_INVAL);
    CU_ASSERT_PTR_NULL(m);
    o.url = "mqtt://";
    CU_ASSERT_EQUAL(hs_mqtt_create(&m, &o), HS_ERR_INVAL);
    o.url = "mqtt://127.0.0.1:1";
    o.client_id = "";
    CU_ASSERT_EQUAL(hs_mqtt_create(&m, &o), HS_ERR_INVAL);
    o.client_id = "x";
    o.max_inflight = -1;
    CU_ASSERT_EQUAL(hs_mqtt_create(&m, &o), HS_ERR_INVAL);
    o.max_inflight = 100;
    o.will_topic = "status/+";
    CU_ASSERT_EQUAL(hs_mqtt_create(&m, &o), HS_ERR_INVAL);
    o.will_topic = "status/x";
    o.will_qos = 3;
    CU_ASSERT_EQUAL(hs_mqtt_create(&m, &o), HS_ERR_INVAL);
    o.will_qos = 1;

    CU_ASSERT_EQUAL_FATAL(hs_mqtt_create(&m, &o), HS_OK);
    CU_ASSERT_FALSE(hs_mqtt_is_connected(m));
    /* Publishing before connecting, and bad topics, QoS and payloads. */
    CU_ASSERT_EQUAL(hs_mqtt_publish(m, "a", "x", 1, 1, false, 0), HS_ERR_CLOSED);
    CU_ASSERT_EQUAL(hs_mqtt_publish(m, "a/+", "x", 1, 0, false, 0), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_mqtt_publish(m, "a/#", "x", 1, 0, false, 0), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_mqtt_publish(m, "", "x", 1, 0, false, 0), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_mqtt_publish(m, NULL, "x", 1, 0, false, 0), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_mqtt_publish(m, "a", "x", 1, 2, false, 0), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_mqtt_publish(m, "a", NULL, 5, 0, false, 0), HS_ERR_INVAL);
    hs_mqtt_pub_props pp = {"reply/#", NULL, 0};
    CU_ASSERT_EQUAL(hs_mqtt_publish_props(m, "a", "x", 1, 0, false, 0, &pp), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_mqtt_subscribe(m, "a/#/b", 1), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_mqtt_subscribe(m, "a+", 1), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_mqtt_subscribe(m, "$share/g", 1), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_mqtt_subscribe(m, "a", 3), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_mqtt_unsubscribe(m, "never/subscribed"), HS_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hs_mqtt_flush(m, 0), HS_OK); /* nothing pending */

    /* recv: poll, then wake makes it (and every later call) return CLOSED. */
    hs_mqtt_msg *msg = (hs_mqtt_msg *)&o;
    CU_ASSERT_EQUAL(hs_mqtt_recv(m, &msg, 0), HS_ERR_TIMEOUT);
    CU_ASSERT_PTR_NULL(msg);
    CU_ASSERT_EQUAL(hs_mqtt_recv(m, NULL, 0), HS_ERR_INVAL);
    hs_mqtt_wake(m);
    CU_ASSERT_EQUAL(hs_mqtt_recv(m, &msg, -1), HS_ERR_CLOSED);
    CU_ASSERT_EQUAL(hs_mqtt_recv(m, &msg, 0), HS_ERR_CLOSED);

    hs_mqtt_stats st;
    hs_mqtt_get_stats(m, &st);
    CU_ASSERT_EQUAL(st.msgs_out, 0);
    hs_mqtt_destroy(m);
    hs_mqtt_destroy(NULL);
    hs_mqtt_msg_free(NULL);
    CU_ASSERT_FALSE(hs_mqtt_is_connected(NULL));
}

/* Every allocation failure while creating a client ends in HS_ERR_NOMEM, leaking nothing. */
static void test_create_out_of_memory(void)
{
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.url = "mqtt://127.0.0.1:1";
    o.client_id = "oom";
    o.username = "u";
    o.password = "p";
    o.will_topic = "status/oom";
    o.will_payload = "offline";
    o.will_len = 7;
    o.ca_file = "ca";
    bool created = false;
    for (long n = 0; n < 100 && !created; n++) {
        hs_mqtt *m = NULL;
        hs_alloc_fail_after(n);
        int rc = hs_mqtt_create(&m, &o);
        hs_alloc_fail_after(-1);
        if (rc == HS_OK) {
            created = true;
            hs_mqtt_destroy(m);
        } else {
            CU_ASSERT_EQUAL(rc, HS_ERR_NOMEM);
            CU_ASSERT_PTR_NULL(m);
        }
    }
    CU_ASSERT_TRUE(created);
}

static void test_connect_no_broker_times_out(void)
{
    int port = hs_test_free_port();
    CU_ASSERT_FATAL(port > 0);
    char url[64];
    snprintf(url, sizeof url, "mqtt://127.0.0.1:%d", port);
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.connect_timeout_ms = 600;
    hs_mqtt *m = client_new(url, "nobody", &o);
    REQUIRE(m);
    CU_ASSERT_EQUAL(hs_mqtt_connect(m), HS_ERR_TIMEOUT);
    CU_ASSERT_TRUE(strlen(hs_err_detail()) > 0);
    CU_ASSERT_FALSE(hs_mqtt_is_connected(m));
    /* The client gave up: publishing reports a closed connection. */
    CU_ASSERT_EQUAL(hs_mqtt_publish(m, "a", "x", 1, 0, false, 0), HS_ERR_CLOSED);
    CU_ASSERT_EQUAL(hs_mqtt_subscribe(m, "a", 0), HS_ERR_TIMEOUT);
    hs_mqtt_destroy(m);
}

static atomic_int g_cancel;

static void *cancel_later(void *arg)
{
    (void)arg;
    usleep(300 * 1000);
    atomic_store(&g_cancel, SIGTERM);
    return NULL;
}

/* A client told to wait forever for an absent broker stops waiting when its cancel flag is
 * set (a service's stop signal) and says why. */
static void test_connect_forever_cancelled(void)
{
    int port = hs_test_free_port();
    CU_ASSERT_FATAL(port > 0);
    char url[64];
    snprintf(url, sizeof url, "mqtt://127.0.0.1:%d", port);
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.connect_timeout_ms = 0;
    atomic_store(&g_cancel, 0);
    o.cancel = &g_cancel;
    hs_mqtt *m = client_new(url, "cancelled", &o);
    REQUIRE(m);
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, cancel_later, NULL), 0);
    CU_ASSERT_EQUAL(hs_mqtt_connect(m), HS_ERR_CLOSED);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "stopped while connecting"));
    CU_ASSERT_FALSE(hs_mqtt_is_connected(m));
    pthread_join(th, NULL);
    hs_mqtt_destroy(m);
}

/* Receives one message, waiting up to WAIT_MS; NULL when none came. */
static hs_mqtt_msg *recv_one(hs_mqtt *m)
{
    hs_mqtt_msg *msg = NULL;
    if (hs_mqtt_recv(m, &msg, WAIT_MS) != HS_OK)
        return NULL;
    return msg;
}

static void test_roundtrip_qos0_qos1(void)
{
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    hs_mqtt *sub = client_new(b.url, "rt-sub", NULL);
    hs_mqtt *pub = publisher_new(b.url, "rt-pub");
    REQUIRE(sub);
    REQUIRE(pub);
    CU_ASSERT_TRUE(hs_mqtt_is_connected(pub));
    CU_ASSERT_EQUAL(hs_mqtt_connect(pub), HS_OK); /* already connected */
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "rt/#", 1), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_subscribe(sub, "rt/#", 1), HS_OK); /* again: harmless */
    CU_ASSERT_TRUE(hs_mqtt_is_connected(sub));

    CU_ASSERT_EQUAL(hs_mqtt_publish(pub, "rt/a", "hello", 5, 0, false, WAIT_MS), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_publish(pub, "rt/b/c", "\0\1\2", 3, 1, false, WAIT_MS), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_publish(pub, "rt/empty", NULL, 0, 1, false, WAIT_MS), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_flush(pub, WAIT_MS), HS_OK);

    hs_mqtt_msg *a = recv_one(sub), *c = recv_one(sub), *e = recv_one(sub);
    REQUIRE(a);
    REQUIRE(c);
    REQUIRE(e);
    CU_ASSERT_STRING_EQUAL(a->topic, "rt/a");
    CU_ASSERT_EQUAL(a->len, 5);
    CU_ASSERT_STRING_EQUAL((char *)a->payload, "hello"); /* NUL after the payload */
    CU_ASSERT_EQUAL(a->qos, 0);
    CU_ASSERT_FALSE(a->retained);
    CU_ASSERT_PTR_NULL(a->response_topic);
    CU_ASSERT_PTR_NULL(a->correlation);
    CU_ASSERT_STRING_EQUAL(c->topic, "rt/b/c");
    CU_ASSERT_EQUAL(c->len, 3);
    CU_ASSERT_EQUAL(memcmp(c->payload, "\0\1\2", 3), 0);
    CU_ASSERT_EQUAL(c->qos, 1);
    CU_ASSERT_STRING_EQUAL(e->topic, "rt/empty");
    CU_ASSERT_EQUAL(e->len, 0);
    CU_ASSERT_EQUAL(e->payload[0], 0);
    hs_mqtt_msg_free(a);
    hs_mqtt_msg_free(c);
    hs_mqtt_msg_free(e);

    /* A QoS 0 subscription downgrades QoS 1 publishes. */
    CU_ASSERT_EQUAL(hs_mqtt_subscribe(sub, "other/x", 0), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_publish(pub, "other/x", "y", 1, 1, false, WAIT_MS), HS_OK);
    hs_mqtt_msg *o = recv_one(sub);
    REQUIRE(o);
    CU_ASSERT_EQUAL(o->qos, 0);
    hs_mqtt_msg_free(o);
    CU_ASSERT_EQUAL(hs_mqtt_flush(pub, WAIT_MS), HS_OK); /* the PUBACK may trail the delivery */

    hs_mqtt_stats ps, ss;
    hs_mqtt_get_stats(pub, &ps);
    hs_mqtt_get_stats(sub, &ss);
    CU_ASSERT_EQUAL(ps.msgs_out, 4);
    CU_ASSERT_EQUAL(ps.bytes_out, 9);
    CU_ASSERT_EQUAL(ps.publish_failures, 0);
    CU_ASSERT_EQUAL(ps.inflight, 0);
    CU_ASSERT_EQUAL(ss.msgs_in, 4);
    CU_ASSERT_EQUAL(ss.rx_queued, 0);
    CU_ASSERT_EQUAL(ss.reconnects, 0);
    hs_mqtt_destroy(pub);
    hs_mqtt_destroy(sub);
    hs_test_broker_stop(&b);
}

static void test_unsubscribe(void)
{
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    hs_mqtt *sub = client_new(b.url, "un-sub", NULL);
    hs_mqtt *pub = publisher_new(b.url, "un-pub");
    REQUIRE(sub);
    REQUIRE(pub);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "un/a", 1), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "un/b", 1), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_unsubscribe(sub, "un/a"), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_unsubscribe(sub, "un/a"), HS_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(hs_mqtt_publish(pub, "un/a", "1", 1, 1, false, WAIT_MS), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_publish(pub, "un/b", "2", 1, 1, false, WAIT_MS), HS_OK);
    /* Messages of one publisher arrive in order, so "un/a" would come first. */
    hs_mqtt_msg *msg = recv_one(sub);
    REQUIRE(msg);
    CU_ASSERT_STRING_EQUAL(msg->topic, "un/b");
    hs_mqtt_msg_free(msg);
    hs_mqtt_destroy(pub);
    hs_mqtt_destroy(sub);
    hs_test_broker_stop(&b);
}

static void test_shared_subscription_splits(void)
{
    enum { N = 200 };
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    hs_mqtt *s1 = client_new(b.url, "sh-1", NULL);
    hs_mqtt *s2 = client_new(b.url, "sh-2", NULL);
    hs_mqtt *pub = publisher_new(b.url, "sh-pub");
    REQUIRE(s1);
    REQUIRE(s2);
    REQUIRE(pub);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(s1, "$share/g/work/#", 1), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(s2, "$share/g/work/#", 1), HS_OK);
    for (int i = 0; i < N; i++) {
        char p[16];
        int len = snprintf(p, sizeof p, "%d", i);
        CU_ASSERT_EQUAL_FATAL(hs_mqtt_publish(pub, "work/item", p, (size_t)len, 1, false, WAIT_MS),
                              HS_OK);
    }
    CU_ASSERT_EQUAL(hs_mqtt_flush(pub, WAIT_MS), HS_OK);

    int seen[N] = {0};
    int got[2] = {0, 0}, total = 0, dup = 0, bad = 0;
    hs_mqtt *subs[2] = {s1, s2};
    /* Both queues are drained until every message came or nothing more arrives. */
    for (int idle = 0; total < N && idle < 2;) {
        bool any = false;
        for (int k = 0; k < 2; k++) {
            hs_mqtt_msg *msg;
            while (hs_mqtt_recv(subs[k], &msg, total < N ? 500 : 0) == HS_OK) {
                int v = atoi((char *)msg->payload);
                if (v < 0 || v >= N)
                    bad++;
                else if (seen[v]++)
                    dup++;
                got[k]++;
                total++;
                any = true;
                hs_mqtt_msg_free(msg);
            }
        }
        idle = any ? 0 : idle + 1;
    }
    CU_ASSERT_EQUAL(total, N);
    CU_ASSERT_EQUAL(dup, 0);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_TRUE(got[0] > 0);
    CU_ASSERT_TRUE(got[1] > 0);
    hs_mqtt_destroy(pub);
    hs_mqtt_destroy(s1);
    hs_mqtt_destroy(s2);
    hs_test_broker_stop(&b);
}

static void test_response_topic_and_correlation(void)
{
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    hs_mqtt *sub = client_new(b.url, "rr-sub", NULL);
    hs_mqtt *pub = publisher_new(b.url, "rr-pub");
    REQUIRE(sub);
    REQUIRE(pub);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "req/+", 1), HS_OK);

    /* The property values are copied: the buffers may go right after the call. */
    char rt[32], corr[8];
    snprintf(rt, sizeof rt, "reply/%s", "rr-pub");
    memcpy(corr, "id\0\1\2\3\4\5", 8);
    hs_mqtt_pub_props pp = {rt, corr, sizeof corr};
    CU_ASSERT_EQUAL(hs_mqtt_publish_props(pub, "req/get", "q", 1, 1, false, WAIT_MS, &pp), HS_OK);
    memset(rt, 'x', sizeof rt - 1);
    memset(corr, 0xff, sizeof corr);
    hs_mqtt_pub_props only_corr = {NULL, "c", 1};
    CU_ASSERT_EQUAL(hs_mqtt_publish_props(pub, "req/get", "r", 1, 0, false, WAIT_MS, &only_corr),
                    HS_OK);
    hs_mqtt_pub_props none = {NULL, NULL, 0};
    CU_ASSERT_EQUAL(hs_mqtt_publish_props(pub, "req/get", "s", 1, 1, false, WAIT_MS, &none), HS_OK);

    hs_mqtt_msg *m1 = recv_one(sub), *m2 = recv_one(sub), *m3 = recv_one(sub);
    REQUIRE(m1);
    REQUIRE(m2);
    REQUIRE(m3);
    REQUIRE(m1->response_topic);
    CU_ASSERT_STRING_EQUAL(m1->response_topic, "reply/rr-pub");
    CU_ASSERT_EQUAL(m1->correlation_len, 8);
    REQUIRE(m1->correlation);
    CU_ASSERT_EQUAL(memcmp(m1->correlation, "id\0\1\2\3\4\5", 8), 0);
    CU_ASSERT_EQUAL(m1->len, 1);
    CU_ASSERT_PTR_NULL(m2->response_topic);
    CU_ASSERT_EQUAL(m2->correlation_len, 1);
    REQUIRE(m2->correlation);
    CU_ASSERT_EQUAL(m2->correlation[0], 'c');
    CU_ASSERT_PTR_NULL(m3->response_topic);
    CU_ASSERT_PTR_NULL(m3->correlation);
    CU_ASSERT_EQUAL(m3->correlation_len, 0);
    hs_mqtt_msg_free(m1);
    hs_mqtt_msg_free(m2);
    hs_mqtt_msg_free(m3);
    hs_mqtt_destroy(pub);
    hs_mqtt_destroy(sub);
    hs_test_broker_stop(&b);
}

static void test_last_will_on_process_death(void)
{
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    pid_t pid = child_start("will", b.url, "status/child", 0, fds[1]);
    close(fds[1]);
    CU_ASSERT_FATAL(pid > 0);
    struct pollfd pfd = {fds[0], POLLIN, 0};
    char c = 0;
    bool ready = poll(&pfd, 1, WAIT_MS) == 1 && read(fds[0], &c, 1) == 1 && c == 'R';
    close(fds[0]);
    CU_ASSERT_TRUE(ready);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT_TRUE(WIFSIGNALED(status)); /* it died, it did not exit on its own */

    /* A client that closes properly leaves no will behind. */
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.will_topic = "status/clean";
    o.will_payload = "offline";
    o.will_len = 7;
    hs_mqtt *clean = client_new(b.url, "clean", &o);
    REQUIRE(clean);
    CU_ASSERT_EQUAL(hs_mqtt_connect(clean), HS_OK);
    hs_mqtt_destroy(clean);

    hs_mqtt *sub = client_new(b.url, "will-sub", NULL);
    REQUIRE(sub);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "status/#", 1), HS_OK);
    /* The will replaced the retained "online"; it arrives as a retained message. */
    hs_mqtt_msg *msg = recv_one(sub);
    REQUIRE(msg);
    CU_ASSERT_STRING_EQUAL(msg->topic, "status/child");
    CU_ASSERT_STRING_EQUAL((char *)msg->payload, "offline");
    CU_ASSERT_TRUE(msg->retained);
    hs_mqtt_msg_free(msg);
    CU_ASSERT_EQUAL(hs_mqtt_recv(sub, &msg, 300), HS_ERR_TIMEOUT);
    hs_mqtt_destroy(sub);
    hs_test_broker_stop(&b);
}

static void test_persistent_session_keeps_messages(void)
{
    enum { N = 50 };
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.persistent = true;
    o.session_expiry_s = 600;
    hs_mqtt *sub = client_new(b.url, "durable", &o);
    hs_mqtt *once = client_new(b.url, "fleeting", NULL);
    REQUIRE(sub);
    REQUIRE(once);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "ps/#", 1), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(once, "ps/#", 1), HS_OK);
    hs_mqtt_destroy(sub);
    hs_mqtt_destroy(once);

    hs_mqtt *pub = publisher_new(b.url, "ps-pub");
    REQUIRE(pub);
    for (int i = 0; i < N; i++) {
        char p[16];
        int len = snprintf(p, sizeof p, "%d", i);
        CU_ASSERT_EQUAL(hs_mqtt_publish(pub, "ps/x", p, (size_t)len, 1, false, WAIT_MS), HS_OK);
    }
    CU_ASSERT_EQUAL(hs_mqtt_flush(pub, WAIT_MS), HS_OK);

    /* Same client id, persistent: the session kept the messages meanwhile. */
    sub = client_new(b.url, "durable", &o);
    REQUIRE(sub);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "ps/#", 1), HS_OK);
    int next = 0;
    hs_mqtt_msg *msg;
    while (next < N && hs_mqtt_recv(sub, &msg, WAIT_MS) == HS_OK) {
        CU_ASSERT_EQUAL(atoi((char *)msg->payload), next);
        next++;
        hs_mqtt_msg_free(msg);
    }
    CU_ASSERT_EQUAL(next, N);

    /* A clean session lost them. */
    once = client_new(b.url, "fleeting", NULL);
    REQUIRE(once);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(once, "ps/#", 1), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_recv(once, &msg, 300), HS_ERR_TIMEOUT);
    hs_mqtt_destroy(once);
    hs_mqtt_destroy(sub);
    hs_mqtt_destroy(pub);
    hs_test_broker_stop(&b);
}

static void test_broker_restart_reconnects(void)
{
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    hs_mqtt *sub = client_new(b.url, "rs-sub", NULL);
    hs_mqtt *pub = publisher_new(b.url, "rs-pub");
    REQUIRE(sub);
    REQUIRE(pub);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "rs/#", 1), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_publish(pub, "rs/x", "before", 6, 1, false, WAIT_MS), HS_OK);
    hs_mqtt_msg *msg = recv_one(sub);
    REQUIRE(msg);
    hs_mqtt_msg_free(msg);

    /* The restarted broker has no sessions (persistence off): subscriptions are renewed. */
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_restart(&b), 0);
    for (int i = 0; i < WAIT_MS / 50 && !(hs_mqtt_is_connected(sub) && hs_mqtt_is_connected(pub));
         i++)
        sleep_ms(50);
    CU_ASSERT_TRUE(hs_mqtt_is_connected(pub));
    CU_ASSERT_TRUE(hs_mqtt_is_connected(sub));

    /* The renewed subscription may trail the reconnect: publish until one arrives. */
    msg = NULL;
    for (int i = 0; i < 50 && msg == NULL; i++) {
        CU_ASSERT_EQUAL(hs_mqtt_publish(pub, "rs/x", "after", 5, 1, false, WAIT_MS), HS_OK);
        if (hs_mqtt_recv(sub, &msg, 200) != HS_OK)
            msg = NULL;
    }
    REQUIRE(msg);
    CU_ASSERT_STRING_EQUAL((char *)msg->payload, "after");
    hs_mqtt_msg_free(msg);
    hs_mqtt_stats ps, ss;
    hs_mqtt_get_stats(pub, &ps);
    hs_mqtt_get_stats(sub, &ss);
    CU_ASSERT_TRUE(ps.reconnects >= 1);
    CU_ASSERT_TRUE(ss.reconnects >= 1);
    CU_ASSERT_EQUAL(hs_mqtt_flush(pub, WAIT_MS), HS_OK);
    hs_mqtt_destroy(pub);
    hs_mqtt_destroy(sub);
    hs_test_broker_stop(&b);
}

/* Reads n messages "0".."n-1"; returns how many came in order before a gap or timeout. */
static int read_in_order(hs_mqtt *m, int n)
{
    int next = 0;
    hs_mqtt_msg *msg;
    while (next < n && hs_mqtt_recv(m, &msg, WAIT_MS) == HS_OK) {
        bool ok = atoi((char *)msg->payload) == next;
        hs_mqtt_msg_free(msg);
        if (!ok)
            break;
        next++;
    }
    return next;
}

static void test_back_pressure_bounded_queue(void)
{
    enum { N = 1000, QMAX = 10 };
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.rx_queue_max = QMAX;
    o.keepalive_s = 60; /* a full queue lets one message past per 15 s: none in this test */
    hs_mqtt *sub = client_new(b.url, "bp-sub", &o);
    REQUIRE(sub);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "bp/#", 1), HS_OK);

    /* Another process publishes everything while this one does not read. */
    pid_t pid = child_start("pub", b.url, "bp/x", N, -1);
    CU_ASSERT_FATAL(pid > 0);
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    hs_mqtt_stats st;
    hs_mqtt_get_stats(sub, &st);
    CU_ASSERT_TRUE(st.rx_queued <= QMAX);
    CU_ASSERT_TRUE(st.msgs_in <= QMAX);
    CU_ASSERT_EQUAL(read_in_order(sub, N), N);
    hs_mqtt_msg *msg;
    CU_ASSERT_EQUAL(hs_mqtt_recv(sub, &msg, 200), HS_ERR_TIMEOUT); /* and no more */
    hs_mqtt_get_stats(sub, &st);
    CU_ASSERT_EQUAL(st.msgs_in, N);
    hs_mqtt_destroy(sub);
    hs_test_broker_stop(&b);
}

/*
 * A full queue must not silence the connections for longer than the
 * broker's keepalive allowance (1.5 keepalive intervals): neither the
 * receive connection nor, sharing Paho's thread, the transmit connection
 * may be dropped while the service does not read for several intervals.
 */
static void test_full_queue_keeps_connections_alive(void)
{
    enum { N = 100, QMAX = 5 };
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.rx_queue_max = QMAX;
    o.keepalive_s = 1;
    o.will_topic = "ka/status";
    o.will_payload = "offline";
    o.will_len = 7;
    hs_mqtt *sub = client_new(b.url, "ka-sub", &o);
    REQUIRE(sub);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_connect(sub), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "ka/x", 1), HS_OK);
    pid_t pid = child_start("pub", b.url, "ka/x", N, -1);
    CU_ASSERT_FATAL(pid > 0);
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Mosquitto 2.0 drops a silent client some seconds late (seen: 6 s at keepalive 1 s). */
    sleep_ms(8000);
    CU_ASSERT_EQUAL(read_in_order(sub, N), N);
    hs_mqtt_stats st;
    hs_mqtt_get_stats(sub, &st);
    CU_ASSERT_EQUAL(st.reconnects, 0);
    CU_ASSERT_TRUE(hs_mqtt_is_connected(sub));
    hs_mqtt_destroy(sub);

    hs_mqtt *watcher = client_new(b.url, "ka-watch", NULL);
    REQUIRE(watcher);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(watcher, "ka/status", 1), HS_OK);
    hs_mqtt_msg *msg;
    CU_ASSERT_EQUAL(hs_mqtt_recv(watcher, &msg, 300), HS_ERR_TIMEOUT); /* no will went out */
    hs_mqtt_destroy(watcher);
    hs_test_broker_stop(&b);
}

/*
 * Publisher and a full subscriber in one process share Paho's callback
 * thread: publishing must still complete (the queue then exceeds its bound).
 */
static void test_back_pressure_same_process(void)
{
    enum { N = 1000, QMAX = 10 };
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.rx_queue_max = QMAX;
    o.max_inflight = 20;
    hs_mqtt *sub = client_new(b.url, "bq-sub", &o);
    hs_mqtt *pub = client_new(b.url, "bq-pub", &o);
    REQUIRE(sub);
    REQUIRE(pub);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_connect(pub), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "bq/#", 1), HS_OK);
    int sent = 0;
    for (int i = 0; i < N; i++) {
        char p[16];
        int len = snprintf(p, sizeof p, "%d", i);
        if (hs_mqtt_publish(pub, "bq/x", p, (size_t)len, 1, false, WAIT_MS) == HS_OK)
            sent++;
    }
    CU_ASSERT_EQUAL(sent, N);
    CU_ASSERT_EQUAL(hs_mqtt_flush(pub, WAIT_MS), HS_OK);
    CU_ASSERT_EQUAL(read_in_order(sub, N), N);
    hs_mqtt_destroy(pub);
    hs_mqtt_destroy(sub);
    hs_test_broker_stop(&b);
}

static void test_publish_window(void)
{
    enum { N = 500, WINDOW = 5 };
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.max_inflight = WINDOW;
    hs_mqtt *pub = client_new(b.url, "win-pub", &o);
    hs_mqtt *sub = client_new(b.url, "win-sub", NULL);
    REQUIRE(pub);
    REQUIRE(sub);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_connect(pub), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(sub, "win/#", 1), HS_OK);
    int ok = 0, max_inflight = 0;
    for (int i = 0; i < N; i++) {
        char p[16];
        int len = snprintf(p, sizeof p, "%d", i);
        if (hs_mqtt_publish(pub, "win/x", p, (size_t)len, 1, false, -1) == HS_OK)
            ok++;
        hs_mqtt_stats st;
        hs_mqtt_get_stats(pub, &st);
        if (st.inflight > max_inflight)
            max_inflight = st.inflight;
    }
    CU_ASSERT_EQUAL(ok, N);
    CU_ASSERT_TRUE(max_inflight <= WINDOW);
    CU_ASSERT_EQUAL(hs_mqtt_flush(pub, WAIT_MS), HS_OK);
    hs_mqtt_stats st;
    hs_mqtt_get_stats(pub, &st);
    CU_ASSERT_EQUAL(st.inflight, 0);
    CU_ASSERT_EQUAL(st.msgs_out, N);
    CU_ASSERT_EQUAL(st.publish_failures, 0);
    CU_ASSERT_EQUAL(read_in_order(sub, N), N);

    /* QoS 0 bursts are bounded too and flush until written. */
    for (int i = 0; i < 3 * HS_MQTT_QOS0_QUEUE; i++)
        CU_ASSERT_EQUAL(hs_mqtt_publish(pub, "win/zero", "z", 1, 0, false, -1), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_flush(pub, WAIT_MS), HS_OK);
    hs_mqtt_get_stats(pub, &st);
    CU_ASSERT_EQUAL(st.qos0_queued, 0);
    hs_mqtt_destroy(pub);
    hs_mqtt_destroy(sub);
    hs_test_broker_stop(&b);
}

static void test_bad_credentials_fail_fast(void)
{
    char dir[] = "/tmp/hs-test-mqtt-XXXXXX";
    char *made = mkdtemp(dir);
    REQUIRE(made);
    char pwfile[128], cmd[300], conf[300];
    snprintf(pwfile, sizeof pwfile, "%s/passwd", dir);
    snprintf(cmd, sizeof cmd, "mosquitto_passwd -b -c '%s' alice secret >/dev/null 2>&1", pwfile);
    if (system(cmd) != 0) {
        fprintf(stderr, "mosquitto_passwd unavailable; skipping\n");
        rmdir(dir);
        return;
    }
    /* Mosquitto started as root reads the file as its own user. */
    chmod(dir, 0755);
    chmod(pwfile, 0644);
    snprintf(conf, sizeof conf, "allow_anonymous false\npassword_file %s\n", pwfile);
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, conf), 0);
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.username = "alice";
    o.password = "wrong";
    o.connect_timeout_ms = WAIT_MS;
    hs_mqtt *m = client_new(b.url, "cred", &o);
    REQUIRE(m);
    CU_ASSERT_EQUAL(hs_mqtt_connect(m), HS_ERR_MQTT);
    hs_mqtt_destroy(m);
    o.password = "secret";
    m = client_new(b.url, "cred", &o);
    REQUIRE(m);
    CU_ASSERT_EQUAL(hs_mqtt_connect(m), HS_OK);
    hs_mqtt_destroy(m);
    hs_test_broker_stop(&b);
    unlink(pwfile);
    rmdir(dir);
}

/* Makes a CA and a server certificate for 127.0.0.1 in dir; false when openssl is missing. */
static bool make_certs(const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && printf 'subjectAltName=IP:127.0.0.1\\n' > ext && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout ca.key -out ca.crt -days 2 -subj /CN=hs-test-ca && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout srv.key -out srv.csr -subj /CN=127.0.0.1 && "
             "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out srv.crt -days 2 -extfile ext && chmod 755 . && chmod 644 *",
             dir);
    char quiet[2100];
    snprintf(quiet, sizeof quiet, "(%s) >/dev/null 2>&1", cmd);
    return system(quiet) == 0;
}

static void test_tls(void)
{
    char dir[] = "/tmp/hs-test-mqtt-tls-XXXXXX";
    char *made = mkdtemp(dir);
    REQUIRE(made);
    char cmd[300];
    if (!make_certs(dir)) {
        fprintf(stderr, "openssl unavailable; skipping\n");
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
        return;
    }
    char conf[600], ca[128], url[64];
    snprintf(conf, sizeof conf, "cafile %s/ca.crt\ncertfile %s/srv.crt\nkeyfile %s/srv.key\n", dir,
             dir, dir);
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, conf), 0);
    snprintf(url, sizeof url, "mqtts://127.0.0.1:%d", b.port);

    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.ca_file = ca;
    hs_mqtt *pub = client_new(url, "tls-pub", &o);
    hs_mqtt *sub = client_new(url, "tls-sub", &o);
    REQUIRE(pub);
    REQUIRE(sub);
    CU_ASSERT_EQUAL(hs_mqtt_connect(pub), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_subscribe(sub, "tls/#", 1), HS_OK);
    CU_ASSERT_EQUAL(hs_mqtt_publish(pub, "tls/x", "secret", 6, 1, false, WAIT_MS), HS_OK);
    hs_mqtt_msg *msg = recv_one(sub);
    REQUIRE(msg);
    CU_ASSERT_STRING_EQUAL((char *)msg->payload, "secret");
    hs_mqtt_msg_free(msg);
    hs_mqtt_destroy(pub);
    hs_mqtt_destroy(sub);

    /* Without our CA the server certificate is not trusted. */
    o.ca_file = NULL;
    o.connect_timeout_ms = 500;
    hs_mqtt *untrusting = client_new(url, "tls-untrusting", &o);
    REQUIRE(untrusting);
    CU_ASSERT_NOT_EQUAL(hs_mqtt_connect(untrusting), HS_OK);
    hs_mqtt_destroy(untrusting);
    /* Plain MQTT to a TLS listener fails too. */
    snprintf(url, sizeof url, "mqtt://127.0.0.1:%d", b.port);
    hs_mqtt *plain = client_new(url, "tls-plain", &o);
    REQUIRE(plain);
    CU_ASSERT_NOT_EQUAL(hs_mqtt_connect(plain), HS_OK);
    hs_mqtt_destroy(plain);
    hs_test_broker_stop(&b);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

/* ---- the write client with several sending threads */

#define WC_THREADS 4
#define WC_EACH    250

typedef struct wc_writer {
    hs_mqtt *m;
    atomic_int stop;
} wc_writer;

/* A stand-in writer: acknowledges every request on hs/w/wc-test at once. */
static void *wc_writer_run(void *arg)
{
    wc_writer *w = arg;
    while (!atomic_load(&w->stop)) {
        hs_mqtt_msg *msg = NULL;
        if (hs_mqtt_recv(w->m, &msg, 100) != HS_OK)
            continue;
        hs_proto_envelope env;
        if (hs_proto_wreq_envelope(msg->payload, msg->len, &env) == HS_OK) {
            hs_buf items, ack;
            hs_buf_init(&items, 0);
            hs_buf_init(&ack, 0);
            hs_proto_ack_item it = {.seq = env.seq, .status = HS_ACK_OK, .inserted = 1};
            if (hs_proto_ack_item_encode(&items, &it) == HS_OK &&
                hs_proto_ack_encode(&ack, env.inc, items.data, items.len, 1) == HS_OK)
                (void)hs_mqtt_publish(w->m, "hs/ack/wc-test", ack.data, ack.len, 1, false, WAIT_MS);
            hs_buf_free(&items);
            hs_buf_free(&ack);
        }
        hs_mqtt_msg_free(msg);
    }
    return NULL;
}

static atomic_int g_wc_acks;

static void wc_on_ack(void *ud, const hs_wack *ack)
{
    (void)ud;
    if (ack->status == 0)
        atomic_fetch_add(&g_wc_acks, 1);
}

/* [[1, "xx...x"]] with a 60000-byte string: encoding takes a while, threads overlap. Filled
   before the senders start (they only read it). */
static uint8_t wc_batch[60006] = {0x91, 0x92, 0x01, 0xda, 60000 >> 8, 60000 & 0xff};

static void *wc_sender(void *arg)
{
    hs_wclient *wc = arg;
    hs_buf f;
    hs_buf_init(&f, 0);
    for (int i = 0; i < WC_EACH; i++) {
        hs_buf_reset(&f);
        hs_proto_append a = {"wc/x=1", wc_batch, sizeof wc_batch};
        uint32_t nf = 0;
        if (hs_proto_append_encode_fields(&f, &a, &nf) != HS_OK ||
            hs_wclient_send(wc, HS_OP_APPEND, f.data, f.len, nf, WAIT_MS, NULL) != HS_OK)
            break;
    }
    hs_buf_free(&f);
    return NULL;
}

/*
 * Requests sent by several threads at once are each acknowledged to the
 * caller (on_ack): the client keeps its pending requests in seq order
 * whatever order the threads reach it in.
 */
static void test_wclient_concurrent_senders(void)
{
    hs_test_broker b;
    CU_ASSERT_EQUAL_FATAL(hs_test_broker_start(&b, NULL), 0);
    wc_writer w = {.m = client_new(b.url, "wc-writer", NULL)};
    REQUIRE(w.m);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_connect(w.m), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_mqtt_subscribe(w.m, "hs/w/wc-test", 1), HS_OK);
    pthread_t wt;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&wt, NULL, wc_writer_run, &w), 0);
    hs_wclient_opts o;
    hs_wclient_opts_init(&o);
    o.url = b.url;
    o.prefix = "hs";
    o.sender_id = "wc-test";
    o.writer_id = "writer";
    o.connect_timeout_ms = WAIT_MS;
    o.on_ack = wc_on_ack;
    atomic_store(&g_wc_acks, 0);
    hs_wclient *wc = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_wclient_create(&wc, &o), HS_OK);
    pthread_t senders[WC_THREADS];
    memset(wc_batch + 6, 'x', 60000);
    for (int i = 0; i < WC_THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&senders[i], NULL, wc_sender, wc), 0);
    for (int i = 0; i < WC_THREADS; i++)
        pthread_join(senders[i], NULL);
    for (int i = 0; i < WAIT_MS / 10 && atomic_load(&g_wc_acks) < WC_THREADS * WC_EACH; i++)
        sleep_ms(10);
    CU_ASSERT_EQUAL(atomic_load(&g_wc_acks), WC_THREADS * WC_EACH);
    CU_ASSERT_EQUAL(hs_wclient_acked_through(wc), (uint64_t)WC_THREADS * WC_EACH);
    hs_wclient_destroy(wc);
    atomic_store(&w.stop, 1);
    pthread_join(wt, NULL);
    hs_mqtt_destroy(w.m);
    hs_test_broker_stop(&b);
}

HS_TEST_INIT(mqtt)
{
    HS_TEST_SUITE_BEGIN("mqtt");
    HS_TEST(test_topic_matches);
    HS_TEST(test_bad_arguments);
    HS_TEST(test_create_out_of_memory);
    HS_TEST(test_connect_no_broker_times_out);
    HS_TEST(test_connect_forever_cancelled);
    HS_TEST(test_roundtrip_qos0_qos1);
    HS_TEST(test_unsubscribe);
    HS_TEST(test_shared_subscription_splits);
    HS_TEST(test_response_topic_and_correlation);
    HS_TEST(test_last_will_on_process_death);
    HS_TEST(test_persistent_session_keeps_messages);
    HS_TEST(test_broker_restart_reconnects);
    HS_TEST(test_back_pressure_bounded_queue);
    HS_TEST(test_back_pressure_same_process);
    HS_TEST(test_full_queue_keeps_connections_alive);
    HS_TEST(test_publish_window);
    HS_TEST(test_bad_credentials_fail_fast);
    HS_TEST(test_tls);
    HS_TEST(test_wclient_concurrent_senders);
    return 0;
}
