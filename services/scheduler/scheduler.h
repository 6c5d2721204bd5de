/*
 * The scheduler: owns workflows, plans and dispatches jobs, retries them,
 * follows commit notices, and runs online workflows periodically.
 *
 * Planning a request over (s, e] for a workflow: needs flow from the leaf
 * factors (whose sinks nothing in the workflow reads) to the factors that
 * produce their sources, widened by each reader's lookback; each unit (a
 * factor at a plate value) then gets required = need - calculated(sinks) -
 * intervals of jobs already under way, cut at multiples of the job span.
 * A job is dispatched when every source produced in the workflow is
 * calculated over the job's read range. See docs/ARCHITECTURE.md.
 */
#ifndef HS_SCHEDULER_H
#define HS_SCHEDULER_H

#include "hs_service.h"
#include "hs_tool.h"

#include <stdint.h>

typedef struct scheduler_cfg {
    hs_service_cfg common;
    int64_t job_span_us;    /* default longest job interval */
    int64_t job_timeout_us; /* a dispatched job not committed by then is sent again */
    int64_t max_attempts;
    int64_t max_inflight;     /* jobs dispatched and not yet committed */
    int64_t max_jobs;         /* jobs planned at once (pending + dispatched) */
    int64_t job_plate_values; /* most plate values of one factor one job covers */
    int64_t job_group_min;    /* fewest plate values of a factor whose jobs cover several */
    char *workflows_dir;      /* workflow files added at start ("" = none) */
} scheduler_cfg;

extern const hs_cfg_item scheduler_cfg_table[];

typedef struct scheduler scheduler;

int scheduler_create(scheduler **out, hs_service *svc, const scheduler_cfg *cfg,
                     hs_tool_registry *tools);
int scheduler_run(scheduler *s);
void scheduler_destroy(scheduler *s);

#endif
