/*
 * The tool runtime: takes jobs of one tool (or of every tool) from shared
 * subscriptions <prefix>/exec/<tool> (group "tool-<tool>"), reads the
 * sources from the store, runs the tool and sends the output to the writer
 * as a "job" write request (in parts of at most part_max_instances). Jobs
 * are described in schemas/job.json and docs/ARCHITECTURE.md.
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
} runtime_cfg;

extern const hs_cfg_item runtime_cfg_table[];

typedef struct runtime runtime;

int runtime_create(runtime **out, hs_service *svc, const runtime_cfg *cfg, hs_tool_registry *tools);
int runtime_run(runtime *rt);
void runtime_destroy(runtime *rt);

#endif
