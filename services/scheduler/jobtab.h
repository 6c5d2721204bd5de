/*
 * The job table: the scheduler's jobs, their states and the order they are
 * dispatched in, indexed so that no operation walks every job.
 *
 * A job record (jobtab_job) is allocated by the caller, usually as the
 * first member of its own job struct, and linked into the table by
 * jobtab_add; jobtab_remove unlinks it and the caller frees it. Indexes:
 * - by id: a hash map (jobtab_find);
 * - by unit (group, factor, unit): one list per unit (jobtab_unit_first);
 * - live jobs (queued and dispatched) in one list in creation order, so
 *   that a dispatched job queued again after a timeout keeps its place;
 *   queued jobs come out in that order (jobtab_queue_next), skipping the
 *   dispatched ones (at most max_inflight); done and failed jobs in one
 *   list each; a count per state;
 * - dispatched jobs by deadline: a min-heap (jobtab_expired).
 * Costs: add, remove and lookups O(1) on average; state changes O(1) plus
 * O(log n) for the heap. Only a job that ended and is queued again (a new
 * request retries a failed job) is put back at its place by a walk from
 * the newest live job (at once when it is older than every live job).
 *
 * Rules kept here: a job's last attempt runs alone (jobtab_admit), and
 * nothing else is dispatched while it runs (jobtab_may_dispatch).
 */
#ifndef HS_SCHED_JOBTAB_H
#define HS_SCHED_JOBTAB_H

#include "hs_interval.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jobtab_state {
    JOBTAB_QUEUED,     /* planned, waiting for its inputs or a free slot */
    JOBTAB_DISPATCHED, /* sent to the tools; not committed yet */
    JOBTAB_DONE,       /* committed */
    JOBTAB_FAILED,     /* given up on */
    JOBTAB_NSTATES
};

typedef struct jobtab jobtab;
typedef struct jobtab_unit jobtab_unit;

/* A job; the fields above the line are read-only outside the table. */
typedef struct jobtab_job {
    char id[48];
    size_t factor, unit;
    hs_interval iv;
    int state;           /* enum jobtab_state */
    int64_t deadline_us; /* dispatched: when it is due (monotonic) */
    bool alone;          /* dispatched alone (its last attempt) */
    uint64_t seq;        /* creation order: the dispatch order */
    /* ---- private to the table */
    struct jobtab_job *prev, *next;   /* its state list */
    struct jobtab_job *uprev, *unext; /* its unit's list */
    jobtab_unit *ulist;               /* its unit's list head */
    size_t heap_pos;                  /* position in the deadline heap + 1; 0 outside */
} jobtab_job;

/* Creates an empty table; HS_OK or HS_ERR_NOMEM. Destroy it with jobtab_destroy. */
int jobtab_create(jobtab **out);

/* Frees the table (NULL-safe); the jobs still linked are the caller's to free. */
void jobtab_destroy(jobtab *jt);

/*
 * Links j as a queued job with id, unit (group, factor, unit) and interval
 * iv; j stays the caller's memory and must stay put until jobtab_remove.
 * HS_ERR_EXISTS when a job with that id is in the table, HS_ERR_NOMEM.
 */
int jobtab_add(jobtab *jt, jobtab_job *j, const char *id, const char *group, size_t factor,
               size_t unit, hs_interval iv);

/*
 * Moves j to the list of another unit of its group and factor (a workflow
 * expanded again: its plate value's unit has another index now), keeping
 * its state and place in the dispatch order. HS_OK, HS_ERR_NOMEM (j is
 * unchanged) or HS_ERR_INVAL.
 */
int jobtab_set_unit(jobtab *jt, jobtab_job *j, const char *group, size_t unit);

/* Unlinks j from every index (the caller frees it). */
void jobtab_remove(jobtab *jt, jobtab_job *j);

/* The job with id, or NULL. */
jobtab_job *jobtab_find(const jobtab *jt, const char *id);

/*
 * Moves j to state. Dispatching needs deadline_us (when it times out);
 * leaving the dispatched state ends its running alone. A job queued again
 * takes its original place in the dispatch order.
 */
void jobtab_set_state(jobtab *jt, jobtab_job *j, int state, int64_t deadline_us);

/* Marks the dispatched job j as running alone (its last attempt). */
void jobtab_set_alone(jobtab *jt, jobtab_job *j);

/* Jobs in state, or in the table when state is -1. */
size_t jobtab_count(const jobtab *jt, int state);

/* The dispatched job with the earliest deadline if it is due at now_us, else NULL. */
jobtab_job *jobtab_expired(const jobtab *jt, int64_t now_us);

/* Whether another job may be dispatched: nothing runs alone and fewer than max_inflight run. */
bool jobtab_may_dispatch(const jobtab *jt, int64_t max_inflight);

enum jobtab_verdict {
    JOBTAB_GO,       /* dispatch it and go on */
    JOBTAB_GO_ALONE, /* dispatch it alone (jobtab_set_alone), then stop */
    JOBTAB_STOP      /* dispatch nothing more now */
};

/*
 * The last-attempt rule for a ready queued job dispatched attempt times
 * before: its last attempt (attempt > 0 and attempt + 1 >= max_attempts)
 * goes alone when nothing runs, and waits (STOP) otherwise.
 */
enum jobtab_verdict jobtab_admit(const jobtab *jt, int attempt, int64_t max_attempts);

/*
 * Queued jobs in dispatch order: start with jobtab_queue_first, go on with
 * jobtab_queue_next. The job returned may change state before the next
 * call; other jobs may not be removed during the walk.
 */
typedef struct jobtab_iter {
    jobtab_job *next; /* the next live job to look at */
} jobtab_iter;

jobtab_job *jobtab_queue_first(const jobtab *jt, jobtab_iter *it);
jobtab_job *jobtab_queue_next(jobtab_iter *it);

/*
 * Walks: jobtab_live_first gives the live jobs (queued and dispatched) in
 * creation order, jobtab_state_first the done or failed ones (NULL for a
 * live state) oldest state change first; jobtab_next goes on within the
 * same list and is NULL at the end. Take the next job before changing the
 * state of the current one.
 */
jobtab_job *jobtab_live_first(const jobtab *jt);
jobtab_job *jobtab_state_first(const jobtab *jt, int state);
jobtab_job *jobtab_next(const jobtab_job *j);

/* Jobs of unit (group, factor, unit) in creation order; next is NULL at the end. */
jobtab_job *jobtab_unit_first(const jobtab *jt, const char *group, size_t factor, size_t unit);
jobtab_job *jobtab_unit_next(const jobtab_job *j);

/*
 * Steps the table took walking lists and the heap since it was created (a
 * cost counter for tests: operations on n jobs should take O(log n) steps).
 */
uint64_t jobtab_steps(const jobtab *jt);

#endif
