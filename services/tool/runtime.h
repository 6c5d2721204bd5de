/*
 * The tool runtime: takes jobs of one tool (or of every tool) from shared
 * subscriptions <prefix>/exec/<tool> (group "tool-<tool>"), reads the
 * sources from the store, runs the tool and sends the output to the writer
 * as a "job" write request (in parts of at most part_max_instances). Jobs
 * are described in schemas/job.json and docs/ARCHITECTURE.md.
 *
 * Jobs run on worker threads, each with its own read connection to the
 * store: the service thread takes jobs from MQTT into a bounded queue, starts
 * another worker when a job waits and every worker is busy (up to workers,
 * by default the CPUs the process may use), and a worker idle for
 * worker_idle stops (down to workers_min). The queue's length is the
 * service's backlog metric (docs/DEPLOY.md: scaling replicas on it).
 */
#ifndef HS_TOOL_RUNTIME_H
#define HS_TOOL_RUNTIME_H

#include "hs_service.h"
#include "hs_tool.h"

#include <stdint.h>

typedef struct runtime_cfg {
    hs_service_cfg common;
    char *tool;                 /* tool name, or "all" */
    int64_t part_max_instances; /* instances per write request */
    int64_t max_pending_bytes;  /* output not yet acknowledged by the writer */
    int64_t max_job_streams;    /* most sources, or sinks, one job may name */
    int64_t workers;            /* most worker threads; 0: the CPUs the process may use */
    int64_t workers_min;        /* worker threads kept when idle */
    int64_t worker_idle_us;     /* a worker idle this long stops (above workers_min) */
} runtime_cfg;

/* The most workers of a runtime: workers, or when 0 the CPUs the process may use (>= 1). */
size_t runtime_max_workers(const runtime_cfg *cfg);

extern const hs_cfg_item runtime_cfg_table[];

typedef struct runtime runtime;

int runtime_create(runtime **out, hs_service *svc, const runtime_cfg *cfg, hs_tool_registry *tools);
int runtime_run(runtime *rt);
void runtime_destroy(runtime *rt);

#endif
