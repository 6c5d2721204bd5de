/*
 * Fuzz target: a session document (docs/sessions/<id>), read by
 * hs_proto_session_doc_decode as the scheduler (at start) and hsctl session
 * read it. A document that decodes must encode again and decode to the same
 * fields. Nothing may crash.
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_proto_session_doc_msg m;
    int rc = hs_proto_session_doc_decode(&m, (const char *)data, size);
    if (rc != HS_OK) {
        check(rc == HS_ERR_PARSE || rc == HS_ERR_NOMEM);
        hs_proto_session_doc_msg_free(&m);
        return 0;
    }
    const hs_proto_session_doc *d = &m.d;
    check(d->active == (d->outcome == HS_SESSION_NONE));
    hs_buf b;
    hs_buf_init(&b, 0);
    check(hs_proto_session_doc_encode(&b, d) == HS_OK);
    hs_proto_session_doc_msg again;
    check(hs_proto_session_doc_decode(&again, (const char *)b.data, b.len) == HS_OK);
    const hs_proto_session_doc *e = &again.d;
    check(strcmp(e->session, d->session) == 0 && strcmp(e->workflow, d->workflow) == 0 &&
          e->kind == d->kind && e->active == d->active && e->outcome == d->outcome &&
          e->started_us == d->started_us && e->ended_us == d->ended_us &&
          e->ncovered == d->ncovered && e->planned == d->planned && e->done == d->done &&
          e->failed == d->failed);
    for (size_t i = 0; i < d->ncovered; i++)
        check(e->covered[i].start == d->covered[i].start && e->covered[i].end == d->covered[i].end);
    check((d->error == NULL || d->error[0] == '\0')
              ? (e->error == NULL || e->error[0] == '\0')
              : (e->error != NULL && strcmp(e->error, d->error) == 0));
    hs_proto_session_doc_msg_free(&again);
    hs_buf_free(&b);
    hs_proto_session_doc_msg_free(&m);
    return 0;
}
