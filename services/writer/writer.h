/*
 * The writer: the only process that changes the store.
 *
 * It takes write requests (hs/w/<sender>) from its persistent MQTT session,
 * applies a bounded batch of them in one store transaction, commits, and
 * then acknowledges them (hs/ack/<sender>), publishes newly committed
 * instances (hs/s/<stream>) and job commit notices (hs/committed/<workflow>).
 * Requests and their ops are described in schemas/write-request.json and
 * docs/ARCHITECTURE.md.
 */
#ifndef HS_WRITER_H
#define HS_WRITER_H

#include "hs_service.h"
#include "wcore.h"

#include <stdint.h>

typedef struct writer_cfg {
    hs_service_cfg common;
    wcore_cfg core;             /* batch limits, publication size, held job parts */
    int64_t batch_max_delay_us; /* longest wait for a batch to fill */
    int64_t publish_qos;
    /* Retention (docs/DEPLOY.md, "Retention"). */
    char *retention;                 /* owned rules "PATTERN KEEP; ..." (hs_retain.h); "" none */
    int64_t history_keep_us;         /* job history, closed sessions: older ones go; 0 keeps */
    int64_t history_max;             /* per workflow: history records, closed sessions; 0 all */
    int64_t retention_every_us;      /* how often a retention pass runs */
    int64_t retention_max_instances; /* most instances (and history records) one pass deletes */
} writer_cfg;

extern const hs_cfg_item writer_cfg_table[];

typedef struct writer writer;

/* Opens the store for writing and subscribes. */
int writer_create(writer **out, hs_service *svc, const writer_cfg *cfg);

/* Runs until the service is stopped. */
int writer_run(writer *w);

void writer_destroy(writer *w);

#endif
