/*
 * Sessions (docs/MODEL.md, section 6): one compute request or one online
 * activation of a workflow, with the intervals it covered, its job counts,
 * its first error and how it ended. Pure: the scheduler opens, updates and
 * closes them and stores their documents (docs/sessions/<id>) through the
 * writer; this module keeps the record and writes and reads the document.
 *
 * Rules:
 * - A request's session has the request's id; its counts are the request's
 *   (session_set_jobs); it covers the request's interval.
 * - An online session adds each run's interval (merged) and counts
 *   (session_add_run) and stays active until the workflow is removed or
 *   replaced.
 * - A closed session does not change any more.
 */
#ifndef HS_SCHED_SESSION_H
#define HS_SCHED_SESSION_H

#include "hs_buf.h"
#include "hs_interval.h"
#include "hs_proto.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct session {
    char id[64];
    char *workflow; /* owned */
    hs_proto_session_kind kind;
    hs_proto_session_outcome outcome; /* NONE while active */
    int64_t started_us, ended_us;     /* wall clock; ended_us 0 while active */
    hs_intervals covered;             /* merged (owned) */
    uint64_t planned, done, failed;
    char error[300]; /* the first error ("" none) */
} session;

/*
 * Opens s (active) for workflow at started_us with id. HS_ERR_INVAL for an
 * empty or too long id or an empty workflow, HS_ERR_NOMEM; s is then left
 * empty (session_free is safe).
 */
int session_open(session *s, const char *id, const char *workflow, hs_proto_session_kind kind,
                 int64_t started_us);

/*
 * Reopens s from its stored document d, active (an active request session
 * resumed after a restart keeps its id, start, intervals, counts and first
 * error; a session left active by a crash is reopened to be closed).
 * Errors as session_open.
 */
int session_from_doc(session *s, const hs_proto_session_doc *d);

/* Frees what s owns (s may be zeroed or half-opened). */
void session_free(session *s);

/* Whether s is still active. */
bool session_active(const session *s);

/*
 * A request session: its counts are now planned, done and failed, and iv is
 * covered. HS_ERR_STATE when closed, HS_ERR_NOMEM.
 */
int session_set_jobs(session *s, hs_interval iv, uint64_t planned, uint64_t done, uint64_t failed);

/*
 * An online session: one run over iv ended with these counts (added) and
 * error (NULL or "": none; kept when it is the first). HS_ERR_STATE when
 * closed, HS_ERR_NOMEM.
 */
int session_add_run(session *s, hs_interval iv, uint64_t planned, uint64_t done, uint64_t failed,
                    const char *error);

/* Keeps error as the first error unless one is kept already (cut to fit). */
void session_note_error(session *s, const char *error);

/*
 * Closes s at ended_us (not before its start) with outcome (not NONE).
 * HS_ERR_STATE when closed already, HS_ERR_INVAL for NONE.
 */
int session_close(session *s, hs_proto_session_outcome outcome, int64_t ended_us);

/* The outcome of a finished run of jobs: cancelled, failed (some job failed) or ok. */
hs_proto_session_outcome session_outcome_of(bool cancelled, uint64_t failed);

/* Writes s's document into out (reset first). HS_OK or the encoder's error. */
int session_encode(const session *s, hs_buf *out);

#endif
