/*
 * The planner: which jobs a request over (s, e] needs, from the workflow's
 * units and two answers of its caller: the calculated intervals of a stream
 * and the jobs under way for a unit. Pure: no broker, no store, no clock.
 *
 * Needs flow from the leaves (sinks nothing in the workflow reads: need =
 * the requested interval) to the producers of their sources, widened by
 * each reader's lookback. For every unit, required = need - calculated
 * (intersection over its sinks; plate creation has no sinks and is always
 * required) - work under way, cut at multiples of the job span from the
 * epoch. Work under way that overlaps what is missing is reported as a
 * job to join. See docs/ARCHITECTURE.md, "Execution protocol".
 */
#ifndef HS_SCHED_PLANNER_H
#define HS_SCHED_PLANNER_H

#include "hs_interval.h"
#include "hs_map.h"
#include "hs_workflow.h"

#include <stdbool.h>
#include <stddef.h>

/* A workflow as the planner reads it: every borrowed from the caller. */
typedef struct planner_wf {
    const hs_workflow *wf;
    hs_wf_unit *const *units; /* per factor: its units */
    const size_t *nunits;     /* per factor: how many */
    const hs_map *producer;   /* sink stream id -> ((factor << 32) | unit) + 1 */
} planner_wf;

/* One job under way for a unit: its interval and the caller's handle (borrowed). */
typedef struct planner_busy {
    hs_interval iv;
    void *job;
} planner_busy;

/* A growable list of jobs under way, filled by the caller's under_way answer. */
typedef struct planner_busy_list {
    planner_busy *v; /* owned */
    size_t n, cap;
} planner_busy_list;

/* Appends one job under way; HS_OK or HS_ERR_NOMEM. */
int planner_busy_push(planner_busy_list *l, hs_interval iv, void *job);

typedef struct planner_ops {
    /* The calculated intervals of stream sid; NULL when they cannot be had (HS_ERR_NOMEM). */
    const hs_intervals *(*calculated)(void *ud, const char *sid);
    /* Appends to out every job under way (queued or dispatched) of unit (f, u). */
    int (*under_way)(void *ud, size_t f, size_t u, planner_busy_list *out);
    void *ud;
} planner_ops;

/*
 * One line of the plan: a new job of unit (factor, unit) over iv, or, when
 * join is set, the job under way `job` (the caller's handle) whose interval
 * iv overlaps what is missing.
 */
typedef struct planner_job {
    size_t factor, unit;
    hs_interval iv;
    bool join;
    void *job; /* join only: the handle from under_way */
} planner_job;

typedef struct planner_out {
    planner_job *v; /* owned; in dependency order of the factors */
    size_t n, cap;
} planner_out;

void planner_out_init(planner_out *o);
void planner_out_free(planner_out *o);

/*
 * Plans a request over req for w, appending to out. job_span_us > 0 is the
 * longest job (pieces are cut at its multiples from the epoch). Safe to call
 * again: what is calculated or under way is not planned twice. Returns HS_OK,
 * HS_ERR_NOMEM, or the error of ops->under_way; out may then hold a part.
 */
int planner_plan(const planner_wf *w, hs_interval req, int64_t job_span_us, const planner_ops *ops,
                 planner_out *out);

/*
 * Whether unit (f, u) must wait for the plate-creation unit (g, v): f
 * aggregates or selects over a plate whose values g creates from data, at a
 * plate value compatible with (f, u)'s. Its sources are only known once g's
 * job over the interval has committed.
 */
bool planner_waits_for_plate(const planner_wf *w, size_t f, size_t u, size_t g, size_t v);

/*
 * Where the units of a factor begin when its n members (one per plate
 * value, in order) are grouped: consecutive members, at most per of them
 * and at most max_sources sources together (a member with more is a unit
 * alone). first[u] is unit u's first member; first must hold n + 1 entries,
 * and first[*nunits] is n. per 1 gives a unit per member.
 */
void planner_group(const hs_wf_unit *members, size_t n, size_t per, size_t max_sources,
                   size_t *first, size_t *nunits);

/* The read range of a job of factor f over iv: (iv.start - lookback, iv.end]. */
hs_interval planner_read_range(const hs_workflow *wf, size_t f, hs_interval iv);

#endif
