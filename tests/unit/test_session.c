/*
 * Tests of sessions (services/scheduler/session.c and the session document
 * of hs_proto): a request session, an online session merging its runs, the
 * first error kept, closing once, and the document read back field by field;
 * malformed documents are refused with an error.
 */
#include "test_suites.h"

#include "session.h"

#include "hs_buf.h"
#include "hs_error.h"
#include "hs_proto.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <string.h>

#define S  (HS_US_PER_S)
#define T0 (1700000000LL * S)

/* Encodes x and decodes it again into m (freed by the caller). */
static int roundtrip(const session *x, hs_proto_session_doc_msg *m)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = session_encode(x, &b);
    if (rc == HS_OK)
        rc = hs_proto_session_doc_decode(m, (const char *)b.data, b.len);
    else
        memset(m, 0, sizeof *m);
    hs_buf_free(&b);
    return rc;
}

static void test_request_session(void)
{
    session x;
    CU_ASSERT_EQUAL(session_open(&x, "c-1", "neg", HS_SESSION_REQUEST, T0), HS_OK);
    CU_ASSERT_TRUE(session_active(&x));
    hs_interval iv = {T0 - 600 * S, T0};
    CU_ASSERT_EQUAL(session_set_jobs(&x, iv, 11, 0, 0), HS_OK);
    /* Counts are the request's: set, not added. */
    CU_ASSERT_EQUAL(session_set_jobs(&x, iv, 11, 9, 2), HS_OK);
    session_note_error(&x, "first");
    session_note_error(&x, "second");
    CU_ASSERT_EQUAL(session_close(&x, session_outcome_of(false, x.failed), T0 + 5 * S), HS_OK);
    CU_ASSERT_EQUAL(session_close(&x, HS_SESSION_OK, T0 + 6 * S), HS_ERR_STATE);
    CU_ASSERT_EQUAL(session_set_jobs(&x, iv, 1, 1, 0), HS_ERR_STATE);
    hs_proto_session_doc_msg m;
    CU_ASSERT_EQUAL_FATAL(roundtrip(&x, &m), HS_OK);
    CU_ASSERT_STRING_EQUAL(m.d.session, "c-1");
    CU_ASSERT_STRING_EQUAL(m.d.workflow, "neg");
    CU_ASSERT_EQUAL(m.d.kind, HS_SESSION_REQUEST);
    CU_ASSERT_FALSE(m.d.active);
    CU_ASSERT_EQUAL(m.d.outcome, HS_SESSION_FAILED);
    CU_ASSERT_EQUAL(m.d.started_us, T0);
    CU_ASSERT_EQUAL(m.d.ended_us, T0 + 5 * S);
    CU_ASSERT_EQUAL_FATAL(m.d.ncovered, 1);
    CU_ASSERT_EQUAL(m.d.covered[0].start, iv.start);
    CU_ASSERT_EQUAL(m.d.covered[0].end, iv.end);
    CU_ASSERT_EQUAL(m.d.planned, 11);
    CU_ASSERT_EQUAL(m.d.done, 9);
    CU_ASSERT_EQUAL(m.d.failed, 2);
    CU_ASSERT_STRING_EQUAL(m.d.error, "first");
    hs_proto_session_doc_msg_free(&m);
    session_free(&x);
}

static void test_online_session_merges_runs(void)
{
    session x;
    CU_ASSERT_EQUAL_FATAL(session_open(&x, "s-1", "live", HS_SESSION_ONLINE, T0), HS_OK);
    /* Three contiguous runs, one late run inside them, one after a gap. */
    CU_ASSERT_EQUAL(session_add_run(&x, (hs_interval){T0, T0 + S}, 2, 2, 0, NULL), HS_OK);
    CU_ASSERT_EQUAL(session_add_run(&x, (hs_interval){T0 + S, T0 + 2 * S}, 2, 1, 1, "boom"), HS_OK);
    CU_ASSERT_EQUAL(session_add_run(&x, (hs_interval){T0 + 2 * S, T0 + 3 * S}, 2, 2, 0, "later"),
                    HS_OK);
    CU_ASSERT_EQUAL(session_add_run(&x, (hs_interval){T0, T0 + 2 * S}, 1, 1, 0, ""), HS_OK);
    CU_ASSERT_EQUAL(session_add_run(&x, (hs_interval){T0 + 10 * S, T0 + 11 * S}, 2, 2, 0, NULL),
                    HS_OK);
    hs_proto_session_doc_msg m;
    CU_ASSERT_EQUAL_FATAL(roundtrip(&x, &m), HS_OK);
    CU_ASSERT_TRUE(m.d.active);
    CU_ASSERT_EQUAL(m.d.outcome, HS_SESSION_NONE);
    CU_ASSERT_EQUAL_FATAL(m.d.ncovered, 2);
    CU_ASSERT_EQUAL(m.d.covered[0].start, T0);
    CU_ASSERT_EQUAL(m.d.covered[0].end, T0 + 3 * S);
    CU_ASSERT_EQUAL(m.d.covered[1].start, T0 + 10 * S);
    CU_ASSERT_EQUAL(m.d.planned, 2 + 2 + 2 + 1 + 2);
    CU_ASSERT_EQUAL(m.d.done, 2 + 1 + 2 + 1 + 2);
    CU_ASSERT_EQUAL(m.d.failed, 1);
    CU_ASSERT_STRING_EQUAL(m.d.error, "boom");
    /* Reopened from its document (a restart) it is the same session, counts and all. */
    session y;
    CU_ASSERT_EQUAL_FATAL(session_from_doc(&y, &m.d), HS_OK);
    CU_ASSERT_STRING_EQUAL(y.id, "s-1");
    CU_ASSERT_EQUAL(y.started_us, T0);
    CU_ASSERT_EQUAL(y.covered.n, 2);
    CU_ASSERT_EQUAL(y.done, 8);
    CU_ASSERT_EQUAL(session_close(&y, HS_SESSION_INTERRUPTED, T0 - S), HS_OK);
    CU_ASSERT_EQUAL(y.ended_us, T0); /* never before its start */
    hs_proto_session_doc_msg n;
    CU_ASSERT_EQUAL_FATAL(roundtrip(&y, &n), HS_OK);
    CU_ASSERT_EQUAL(n.d.outcome, HS_SESSION_INTERRUPTED);
    hs_proto_session_doc_msg_free(&n);
    hs_proto_session_doc_msg_free(&m);
    session_free(&y);
    session_free(&x);
}

static void test_outcome_and_bad_open(void)
{
    CU_ASSERT_EQUAL(session_outcome_of(true, 3), HS_SESSION_CANCELLED);
    CU_ASSERT_EQUAL(session_outcome_of(false, 1), HS_SESSION_FAILED);
    CU_ASSERT_EQUAL(session_outcome_of(false, 0), HS_SESSION_OK);
    session x;
    CU_ASSERT_EQUAL(session_open(&x, "", "w", HS_SESSION_REQUEST, T0), HS_ERR_INVAL);
    session_free(&x);
    CU_ASSERT_EQUAL(session_open(&x, "id", "", HS_SESSION_REQUEST, T0), HS_ERR_INVAL);
    session_free(&x);
    CU_ASSERT_EQUAL_FATAL(session_open(&x, "id", "w", HS_SESSION_REQUEST, T0), HS_OK);
    CU_ASSERT_EQUAL(session_close(&x, HS_SESSION_NONE, T0), HS_ERR_INVAL);
    session_free(&x);
}

static void test_bad_documents(void)
{
    static const char *const bad[] = {
        "",
        "[]",
        /* no intervals */
        "{\"session\":\"a\",\"workflow\":\"w\",\"kind\":\"request\",\"state\":\"active\","
        "\"started_us\":1,\"planned\":0,\"done\":0,\"failed\":0}",
        /* an unknown kind */
        "{\"session\":\"a\",\"workflow\":\"w\",\"kind\":\"batch\",\"state\":\"active\","
        "\"started_us\":1,\"intervals\":[],\"planned\":0,\"done\":0,\"failed\":0}",
        /* active with an outcome */
        "{\"session\":\"a\",\"workflow\":\"w\",\"kind\":\"online\",\"state\":\"active\","
        "\"outcome\":\"ok\",\"started_us\":1,\"intervals\":[],\"planned\":0,\"done\":0,"
        "\"failed\":0}",
        /* closed without ended_us */
        "{\"session\":\"a\",\"workflow\":\"w\",\"kind\":\"online\",\"state\":\"closed\","
        "\"outcome\":\"ok\",\"started_us\":1,\"intervals\":[],\"planned\":0,\"done\":0,"
        "\"failed\":0}",
        /* overlapping intervals */
        "{\"session\":\"a\",\"workflow\":\"w\",\"kind\":\"online\",\"state\":\"active\","
        "\"started_us\":1,\"intervals\":[[1,5],[4,9]],\"planned\":0,\"done\":0,\"failed\":0}",
        /* negative count */
        "{\"session\":\"a\",\"workflow\":\"w\",\"kind\":\"online\",\"state\":\"active\","
        "\"started_us\":1,\"intervals\":[],\"planned\":-1,\"done\":0,\"failed\":0}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hs_proto_session_doc_msg m;
        int rc = hs_proto_session_doc_decode(&m, bad[i], strlen(bad[i]));
        CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "session document"));
        hs_proto_session_doc_msg_free(&m);
    }
}

HS_TEST_INIT(session)
{
    HS_TEST_SUITE_BEGIN("session");
    HS_TEST(test_request_session);
    HS_TEST(test_online_session_merges_runs);
    HS_TEST(test_outcome_and_bad_open);
    HS_TEST(test_bad_documents);
    return 0;
}
