#include "session.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_utf8.h"

#include <string.h>

int session_open(session *s, const char *id, const char *workflow, hs_proto_session_kind kind,
                 int64_t started_us)
{
    memset(s, 0, sizeof *s);
    hs_intervals_init(&s->covered);
    if (id == NULL || id[0] == '\0' || strlen(id) >= sizeof s->id || workflow == NULL ||
        workflow[0] == '\0')
        return hs_err_set(HS_ERR_INVAL, "session: bad id or workflow");
    s->workflow = hs_strdup(workflow);
    if (s->workflow == NULL)
        return HS_ERR_NOMEM;
    memcpy(s->id, id, strlen(id) + 1);
    s->kind = kind;
    s->started_us = started_us;
    return HS_OK;
}

int session_from_doc(session *s, const hs_proto_session_doc *d)
{
    int rc = session_open(s, d->session, d->workflow, d->kind, d->started_us);
    for (size_t i = 0; rc == HS_OK && i < d->ncovered; i++)
        rc = hs_intervals_add(&s->covered, d->covered[i]);
    if (rc == HS_OK && d->error != NULL)
        session_note_error(s, d->error);
    s->planned = d->planned;
    s->done = d->done;
    s->failed = d->failed;
    if (rc != HS_OK)
        session_free(s);
    return rc;
}

void session_free(session *s)
{
    if (s == NULL)
        return;
    hs_free(s->workflow);
    s->workflow = NULL;
    hs_intervals_free(&s->covered);
}

bool session_active(const session *s)
{
    return s->outcome == HS_SESSION_NONE;
}

int session_set_jobs(session *s, hs_interval iv, uint64_t planned, uint64_t done, uint64_t failed)
{
    if (!session_active(s))
        return HS_ERR_STATE;
    int rc = hs_intervals_add(&s->covered, iv);
    if (rc != HS_OK)
        return rc;
    s->planned = planned;
    s->done = done;
    s->failed = failed;
    return HS_OK;
}

int session_add_run(session *s, hs_interval iv, uint64_t planned, uint64_t done, uint64_t failed,
                    const char *error)
{
    if (!session_active(s))
        return HS_ERR_STATE;
    int rc = hs_intervals_add(&s->covered, iv);
    if (rc != HS_OK)
        return rc;
    s->planned += planned;
    s->done += done;
    s->failed += failed;
    session_note_error(s, error);
    return HS_OK;
}

void session_note_error(session *s, const char *error)
{
    if (error != NULL && error[0] != '\0' && s->error[0] == '\0')
        (void)hs_utf8_cut(s->error, sizeof s->error, error); /* cut on a character */
}

int session_close(session *s, hs_proto_session_outcome outcome, int64_t ended_us)
{
    if (!session_active(s))
        return HS_ERR_STATE;
    if (outcome == HS_SESSION_NONE)
        return HS_ERR_INVAL;
    s->outcome = outcome;
    s->ended_us = ended_us < s->started_us ? s->started_us : ended_us;
    return HS_OK;
}

hs_proto_session_outcome session_outcome_of(bool cancelled, uint64_t failed)
{
    return cancelled ? HS_SESSION_CANCELLED : failed > 0 ? HS_SESSION_FAILED : HS_SESSION_OK;
}

int session_encode(const session *s, hs_buf *out)
{
    hs_proto_session_doc d = {
        .session = s->id,
        .workflow = s->workflow,
        .kind = s->kind,
        .active = session_active(s),
        .outcome = s->outcome,
        .started_us = s->started_us,
        .ended_us = s->ended_us,
        .covered = s->covered.v,
        .ncovered = s->covered.n,
        .planned = s->planned,
        .done = s->done,
        .failed = s->failed,
        .error = s->error,
    };
    return hs_proto_session_doc_encode(out, &d);
}
