/*
 * A harness for tool tests: in-memory sources that read like a store
 * (after < t <= end, ascending, at most max), and a runner that builds an
 * hs_tool_job from JSON parameters and stream ids and runs it.
 */
#ifndef HS_TOOL_HARNESS_H
#define HS_TOOL_HARNESS_H

#include "hs_codec.h"
#include "hs_tool.h"

#include <stddef.h>
#include <stdint.h>

#define TH_MAX_SRC 64

typedef struct th_job {
    const hs_tool_def *def;
    const char *params;              /* JSON object or NULL */
    int64_t start, end;              /* the job interval (start, end] */
    hs_batch src[TH_MAX_SRC];        /* source data, sorted by time (fill with th_push_*) */
    const char *src_ids[TH_MAX_SRC]; /* stream ids of the sources (default "src<i>") */
    size_t nsrc;
    hs_batch alignment, splitting; /* used when has_alignment / has_splitting */
    bool has_alignment, has_splitting;
    const char *sink_ids[TH_MAX_SRC]; /* sinks (default one sink "sink") */
    size_t nsinks;
    const char *output_meta; /* output plate key for multi-output/selector jobs */
    size_t reads;            /* reads served (for tests of streaming behaviour) */
} th_job;

/* Initialises j for def over (start, end]; set the rest of the fields, then th_run. */
void th_init(th_job *j, const hs_tool_def *def, const char *params, int64_t start, int64_t end);
void th_free(th_job *j);

/* Appends instances to a batch (value from a double, an int, or JSON text). */
void th_push_double(hs_batch *b, int64_t t, double d);
void th_push_int(hs_batch *b, int64_t t, int64_t i);
void th_push_json(hs_batch *b, int64_t t, const char *json);

/* Runs the job; returns hs_tool_run's code. The caller frees out with hs_tool_output_free. */
int th_run(th_job *j, hs_tool_output *out);

/* The value of instance i of a batch as JSON text (in a static buffer: copy it to keep it). */
const char *th_json(const hs_batch *b, size_t i);

/* The value of instance i as a double (NaN when not a number). */
double th_double(const hs_batch *b, size_t i);

#endif
