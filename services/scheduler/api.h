/*
 * The scheduler's API (schemas/api.json) without MQTT: a decoded request in,
 * the reply out, the work done by the caller's callbacks. Checked here, on
 * top of what the codec checks: the fields each op needs, the request id
 * (1 to 63 bytes, no '/', '+' or '#': it ends the progress topic), from < to,
 * and that the named workflow exists. The shell (scheduler.c, s_on_api)
 * decodes the message, dead-letters what cannot be read and publishes the
 * reply on the response topic with the correlation data.
 */
#ifndef HS_SCHED_API_H
#define HS_SCHED_API_H

#include "hs_buf.h"
#include "hs_interval.h"
#include "hs_proto.h"

#include <stdbool.h>
#include <stdint.h>

/* What workflow_add did; the module copies the strings before it returns. */
typedef struct api_added {
    const char *workflow; /* the workflow's id (borrowed) */
    uint64_t factors;
    bool unchanged; /* the same definition was there already: nothing changed */
} api_added;

/* What compute did; the module copies the strings before it returns. */
typedef struct api_computed {
    const char *request; /* the request's id (borrowed) */
    uint64_t jobs;       /* jobs planned */
    uint64_t reopened;   /* intervals in the request that late data or invalidation reopened */
    uint64_t unplanned;  /* jobs left to plan once the job table has room (max_jobs) */
} api_computed;

/* What cancel did. */
typedef struct api_cancelled {
    uint64_t dropped; /* queued jobs dropped (those shared with live requests stay for them) */
    uint64_t running; /* jobs under way, let finish */
} api_cancelled;

/* What ping reports. */
typedef struct api_stats {
    uint64_t workflows, jobs, inflight;
} api_stats;

/*
 * The caller's work. A failing callback returns a negative HS_ERR_* code
 * and may write the client's message into why (empty: hs_strerror of the
 * code is sent). ud is passed to each.
 */
typedef struct api_ops {
    /* Whether workflow id is installed (and not removed). */
    bool (*has_workflow)(void *ud, const char *id);
    /* Adds or replaces a workflow from its definition text (filename names it in errors). */
    int (*workflow_add)(void *ud, const char *definition, const char *filename, api_added *out,
                        hs_buf *why);
    /* Removes installed workflow id (its streams are kept). */
    int (*workflow_rm)(void *ud, const char *id, hs_buf *why);
    /*
     * Starts a compute request of installed workflow over iv (start < end);
     * request is the client's id or NULL (the callback makes one). With
     * dry_run, only counts the jobs it would plan (out->jobs) and starts nothing.
     */
    int (*compute)(void *ud, const char *workflow, hs_interval iv, const char *request,
                   bool dry_run, api_computed *out, hs_buf *why);
    /* The counts a ping reports. */
    void (*ping)(void *ud, api_stats *out);
    /*
     * Cancels the running compute request id (a valid request id): its queued
     * jobs are dropped, those under way finish. HS_ERR_STATE (why says so)
     * when it has ended already, HS_ERR_NOTFOUND when there is no such
     * request.
     */
    int (*cancel)(void *ud, const char *id, api_cancelled *out, hs_buf *why);
    /*
     * Inserts (add) or deletes (!add) the meta-data tree nodes of paths
     * (each checked with hs_meta_path_check first: none is applied when one
     * is bad). *nodes counts nodes inserted or deleted, *workflows those
     * whose plate values changed. May be NULL (refused as unsupported).
     */
    int (*meta)(void *ud, bool add, const char *const *paths, size_t npaths, uint64_t *nodes,
                uint64_t *workflows, hs_buf *why);
    void *ud;
} api_ops;

/* A reply and the strings it points to. */
typedef struct api_result {
    hs_proto_api_reply reply; /* to encode with hs_proto_api_reply_encode */
    char *text; /* owned: reply.error, reply.workflow or reply.request; NULL: none or static */
} api_result;

/*
 * Answers req (decoded by hs_proto_api_req_decode, or built by the caller)
 * through ops. Always fills *out, also on failure (an error reply; "out of
 * memory" when even its message cannot be allocated); free it with
 * api_result_free. Returns HS_OK when the reply is ok, HS_ERR_UNSUPPORTED
 * for an unknown op, HS_ERR_INVAL for a request missing or misusing a field,
 * HS_ERR_NOTFOUND for an unknown workflow, or the failing callback's code.
 * ops->cancel may be NULL (cancel is then refused as unsupported).
 */
int api_handle(const hs_proto_api_req *req, const api_ops *ops, api_result *out);

/* Frees what r owns and clears it; NULL-safe. */
void api_result_free(api_result *r);

/* Whether id may name a compute request: 1 to 63 bytes, no '/', '+' or '#'. */
bool api_request_id_ok(const char *id);

#endif
