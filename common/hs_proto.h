/*
 * The message contract between the services: one typed struct, one encoder
 * and one decoder for each internal message (docs/ARCHITECTURE.md, "The
 * protocol module"; the wire forms are described in schemas/).
 *
 * Encoders append one complete msgpack value to an hs_buf and return HS_OK or
 * the first error of the underlying writes (the buffer then holds a partial
 * value: reset it). Decoders read one value, check every field's type and
 * range, reject unknown and duplicate keys and missing required ones with
 * HS_ERR_PARSE and a detail that names the field (hs_err_detail), and never
 * read out of bounds. A decoded message owns NUL-terminated copies of its
 * strings in its own arena: lengths come from the data, there are no fixed
 * buffers; release it with its _free function (NULL-safe, also after a failed
 * decode). Raw msgpack spans (params, instance batches) are borrowed from the
 * decoded bytes and valid as long as those are.
 */
#ifndef HS_PROTO_H
#define HS_PROTO_H

#include "hs_arena.h"
#include "hs_buf.h"
#include "hs_interval.h"
#include "hs_value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The protocol version carried as "v" by jobs, write requests and acknowledgements. */
#define HS_PROTO_VERSION 1

/* ------------------------------------------------------------------ job (hs/exec/<tool>) */

/* One source of a job and the range it is read over: (from_us, to_us]. */
typedef struct hs_proto_source {
    const char *sid; /* canonical stream id */
    int64_t from_us;
    int64_t to_us;
} hs_proto_source;

/*
 * One plate value of a job over several (schemas/job.json "units"): its plate
 * value text and how many of the job's sources and sinks, in order, are its.
 */
typedef struct hs_proto_unit {
    const char *pv;
    uint32_t nsources;
    uint32_t nsinks;
} hs_proto_unit;

/*
 * What made a job: a compute request, an online tick, late data that
 * reopened its interval, or an explicit invalidation. On the wire the name
 * ("request", "online", "late", "invalidate"); absent means request.
 */
typedef enum hs_proto_trigger {
    HS_TRIGGER_REQUEST,
    HS_TRIGGER_ONLINE,
    HS_TRIGGER_LATE,
    HS_TRIGGER_INVALIDATE,
} hs_proto_trigger;

const char *hs_proto_trigger_name(hs_proto_trigger t);

/*
 * A writer commit: the writer's incarnation (epoch, its start time in µs)
 * and the commit's sequence number within it. {0, 0}: none. On the wire
 * [epoch, seq].
 */
typedef struct hs_proto_wseq {
    uint64_t epoch;
    uint64_t seq;
} hs_proto_wseq;

/* The writer's newest commit, hs/wseq (retained): msgpack [epoch, seq], epoch > 0. */
int hs_proto_wseq_encode(hs_buf *out, hs_proto_wseq w);
int hs_proto_wseq_decode(const uint8_t *data, size_t len, hs_proto_wseq *w);

/*
 * What every job message and every part of a job's output carry
 * (schemas/job.json). Strings are NUL-terminated; optional ones are NULL when
 * absent (nil on the wire for alignment, splitting and output_meta). When
 * decoded, every pointer points into the message's arena or, for params, into
 * the decoded bytes; when encoding, they are the caller's.
 */
typedef struct hs_proto_job {
    const char *job;       /* "j" and 16 hex digits */
    uint64_t attempt;      /* earlier dispatches */
    const char *workflow;  /* workflow id */
    uint32_t factor;       /* index of the factor in the workflow (decimal text on the wire) */
    const char *pv;        /* plate value as text, "" for the global value */
    const char *tool;      /* tool name */
    const char *version;   /* major.minor asked for, or the registry's version */
    const uint8_t *params; /* canonical msgpack map */
    size_t params_len;
    const char *binding; /* 16 hex digits */
    hs_interval interval;
    const hs_proto_source *sources;
    size_t nsources;
    const char *alignment; /* NULL: none */
    const char *splitting; /* NULL: none */
    const char *const *sinks;
    size_t nsinks;
    const char *output_meta;  /* NULL: none */
    const char *request;      /* NULL: none */
    const char *output_plate; /* plate-creation jobs; NULL otherwise */
    hs_proto_trigger trigger;
    hs_proto_wseq wseq; /* the newest writer commit the scheduler knew at dispatch: all of it
                           is visible to the job's reads ({0, 0}: unknown) */
    /*
     * A job over several plate values of one factor: each runs as a job of
     * its own over its slice of sources and sinks (the alignment is shared);
     * pv is the first one's. nunits 0: one plate value, pv. Job messages
     * only (not carried by output parts).
     */
    const hs_proto_unit *units;
    size_t nunits;
} hs_proto_job;

/* A decoded job message: the job and the memory its strings live in. */
typedef struct hs_proto_job_msg {
    hs_proto_job job;
    hs_arena arena; /* owns the copies */
} hs_proto_job_msg;

int hs_proto_job_encode(hs_buf *out, const hs_proto_job *j);
int hs_proto_job_decode(hs_proto_job_msg *m, const uint8_t *data, size_t len);
void hs_proto_job_msg_free(hs_proto_job_msg *m);

/* ------------------------------------------------------------------ write requests (hs/w/<sender>)
 */

/* The operations of a write request. */
typedef enum hs_proto_op {
    HS_OP_APPEND,
    HS_OP_JOB,
    HS_OP_DEFINE,
    HS_OP_PURGE,
    HS_OP_DOC_PUT,
    HS_OP_DOC_DEL,
    HS_OP_INVALIDATE,
    HS_OP_APPEND_MANY,
    HS_OP_DOCS,
    HS_OP_UNKNOWN, /* an op this version does not know: refused, with the reason, not dropped */
} hs_proto_op;

/* The op's name on the wire, and back: HS_ERR_PARSE for an unknown name. */
const char *hs_proto_op_name(hs_proto_op op);
int hs_proto_op_parse(const char *s, size_t len, hs_proto_op *op);

/*
 * The envelope of a write request, {v, inc, seq, op, <op fields>...}: it is
 * written by the write client (hs_proto_wreq_begin) in front of the fields an
 * op encoder wrote (nfields counts the op's key/value pairs), and read by the
 * writer (hs_proto_wreq_envelope), which then decodes the op's fields from
 * the same map.
 */
typedef struct hs_proto_envelope {
    uint64_t inc;
    uint64_t seq;
    hs_proto_op op;
    char op_text[24];    /* the op as sent (cut short), for errors about an unknown op */
    const uint8_t *data; /* the whole request map, envelope included (borrowed) */
    size_t len;
} hs_proto_envelope;

int hs_proto_wreq_begin(hs_buf *out, uint64_t inc, uint64_t seq, hs_proto_op op, uint32_t nfields);
int hs_proto_wreq_envelope(const uint8_t *data, size_t len, hs_proto_envelope *env);

/* One sink's instances in a job output part: a msgpack batch [[t_us, v], ...]. */
typedef struct hs_proto_output {
    const char *sid;
    const uint8_t *batch; /* encoded batch (borrowed) */
    size_t batch_len;
} hs_proto_output;

/*
 * One part of a job's output (op "job"): the job's header, the part's place,
 * the runtime's timing, and either the tool's error, the plate values found
 * (plate creation), or the instances of some sinks.
 */
typedef struct hs_proto_jobout {
    hs_proto_job hdr; /* sources, alignment, splitting and output_meta are not carried */
    uint32_t part;    /* 0-based */
    uint32_t parts;   /* >= 1 */
    int64_t started_us;
    int64_t duration_us;
    const char *runtime; /* the runtime's service id */
    const char *error;   /* NULL: the tool succeeded */
    const char *const *plate_values;
    size_t nplate_values;
    bool has_plate_values; /* plate creation: the list is present, possibly empty */
    const hs_proto_output *outputs;
    size_t noutputs;
} hs_proto_jobout;

typedef struct hs_proto_jobout_msg {
    hs_proto_jobout out;
    hs_arena arena;
} hs_proto_jobout_msg;

/* Appends the op's fields (no map header) and sets *nfields to how many pairs it wrote. */
int hs_proto_jobout_encode_fields(hs_buf *out, const hs_proto_jobout *o, uint32_t *nfields);
/* Decodes the fields of an envelope whose op is HS_OP_JOB. */
int hs_proto_jobout_decode(hs_proto_jobout_msg *m, const hs_proto_envelope *env);
void hs_proto_jobout_msg_free(hs_proto_jobout_msg *m);

/* Index of sid among the job's sinks, or -1. */
long hs_proto_job_sink_index(const hs_proto_job *j, const char *sid);

/* The other operations' fields. Encoders append the op's fields and set *nfields. */

/* append: raw instances of one stream. */
typedef struct hs_proto_append {
    const char *stream;  /* canonical stream id */
    const uint8_t *data; /* encoded batch [[t_us, v], ...] or one [t_us, v] (borrowed) */
    size_t data_len;
} hs_proto_append;

/*
 * append_many: raw instances of several streams in one request (what ingest
 * sends when many streams have a few instances each: a fleet). Each item is
 * written as an append of its own; an item the writer refuses is dead-lettered
 * alone, the others are stored. On the wire {"streams": [[stream, data], ...]}.
 */
typedef struct hs_proto_append_many {
    const hs_proto_append *items;
    size_t n;
} hs_proto_append_many;

/* Most streams, and about most bytes, senders put in one append_many request. */
#define HS_PROTO_MANY_STREAMS 4096
#define HS_PROTO_MANY_BYTES   (1u << 20)

/* define: stream definitions [id, kind, binding or nil]. */
typedef struct hs_proto_define_item {
    const char *sid;
    int kind;            /* HS_STREAM_RAW .. HS_STREAM_ASSET (hs_store.h) */
    const char *binding; /* JSON text, NULL for none */
    /* What the sink's jobs read, for a computed stream (has_deps): the streams
     * (sources, alignment, splitting), the lookback, and the workflow's
     * max_lateness (0: unbounded). On the wire a fourth item
     * {"sources", "lookback_us", "max_lateness_us"}. */
    bool has_deps;
    const char *const *sources;
    size_t nsources;
    int64_t lookback_us;
    int64_t max_lateness_us;
} hs_proto_define_item;

typedef struct hs_proto_define {
    const hs_proto_define_item *items;
    size_t n;
} hs_proto_define;

/*
 * purge: a stream's data and intervals (and its definition with remove);
 * with has_before only its instances with t <= before_us and (-inf,
 * before_us] of its calculated and reopened intervals (remove must then be
 * false).
 */
typedef struct hs_proto_purge {
    const char *stream;
    bool remove;
    bool has_before;   /* field "before" present */
    int64_t before_us; /* the purge's end, inclusive */
} hs_proto_purge;

/* doc_put and doc_del: a stored document (json NULL for doc_del). */
typedef struct hs_proto_doc {
    const char *coll;
    const char *key;
    const char *json;
} hs_proto_doc;

/*
 * docs: several documents stored or deleted in one request, in order (what
 * the scheduler sends for a meta-data tree of a fleet). On the wire
 * {"docs": [[coll, key, json or nil], ...]}.
 */
typedef struct hs_proto_docs {
    const hs_proto_doc *items;
    size_t n;
} hs_proto_docs;

/* invalidate: reopen interval of stream and everything downstream. */
typedef struct hs_proto_invalidate {
    const char *stream;
    hs_interval interval;
} hs_proto_invalidate;

int hs_proto_append_encode_fields(hs_buf *out, const hs_proto_append *a, uint32_t *nfields);
int hs_proto_append_many_encode_fields(hs_buf *out, const hs_proto_append_many *a,
                                       uint32_t *nfields);
int hs_proto_define_encode_fields(hs_buf *out, const hs_proto_define *d, uint32_t *nfields);
int hs_proto_purge_encode_fields(hs_buf *out, const hs_proto_purge *p, uint32_t *nfields);
int hs_proto_doc_encode_fields(hs_buf *out, const hs_proto_doc *d, uint32_t *nfields);
int hs_proto_docs_encode_fields(hs_buf *out, const hs_proto_docs *d, uint32_t *nfields);
int hs_proto_invalidate_encode_fields(hs_buf *out, const hs_proto_invalidate *v, uint32_t *nfields);

/* A decoded write request of any op but job (which hs_proto_jobout_decode reads). */
typedef struct hs_proto_wreq_msg {
    hs_proto_op op;
    union {
        hs_proto_append append;
        hs_proto_append_many append_many;
        hs_proto_define define;
        hs_proto_purge purge;
        hs_proto_doc doc; /* doc_put and doc_del */
        hs_proto_docs docs;
        hs_proto_invalidate invalidate;
    } u;
    hs_arena arena;
} hs_proto_wreq_msg;

int hs_proto_wreq_decode(hs_proto_wreq_msg *m, const hs_proto_envelope *env);
void hs_proto_wreq_msg_free(hs_proto_wreq_msg *m);

/* ------------------------------------------------------------------ acknowledgements
 * (hs/ack/<sender>) */

/* Status of an acknowledged request. */
typedef enum hs_proto_ack_status {
    HS_ACK_OK = 0,
    HS_ACK_REJECTED = 1, /* malformed or not allowed: not re-sent */
    HS_ACK_STALE = 2,    /* a job for a stream definition that has changed since */
} hs_proto_ack_status;

typedef struct hs_proto_ack_item {
    uint64_t seq;
    hs_proto_ack_status status;
    uint64_t inserted, duplicates, conflicts;
    const char *reason; /* NULL when status is HS_ACK_OK; otherwise non-empty */
} hs_proto_ack_item;

typedef struct hs_proto_ack {
    uint64_t inc;
    const hs_proto_ack_item *items;
    size_t nitems;
} hs_proto_ack;

typedef struct hs_proto_ack_msg {
    hs_proto_ack ack;
    hs_arena arena;
} hs_proto_ack_msg;

/*
 * Acknowledgements are collected item by item: hs_proto_ack_item_encode
 * appends one item to a buffer of items, hs_proto_ack_encode wraps n such
 * items into the message.
 */
int hs_proto_ack_item_encode(hs_buf *items, const hs_proto_ack_item *it);
int hs_proto_ack_encode(hs_buf *out, uint64_t inc, const uint8_t *items, size_t items_len,
                        uint32_t nitems);
int hs_proto_ack_decode(hs_proto_ack_msg *m, const uint8_t *data, size_t len);
void hs_proto_ack_msg_free(hs_proto_ack_msg *m);

/* ------------------------------------------------------------------ commit notices
 * (hs/committed/<wf>) */

typedef enum hs_proto_outcome {
    HS_OUTCOME_OK,
    HS_OUTCOME_FAILED,
    HS_OUTCOME_STALE,
} hs_proto_outcome;

const char *hs_proto_outcome_name(hs_proto_outcome o);

typedef struct hs_proto_committed {
    const char *job;
    const char *workflow;
    uint32_t factor;
    const char *pv;
    hs_interval interval;
    hs_proto_outcome outcome;
    uint64_t count;      /* instances produced; plate creation: values found */
    const char *error;   /* "" when ok, non-empty otherwise */
    const char *request; /* NULL: none */
    const char *const *plate_values;
    size_t nplate_values;
    bool has_plate_values; /* only with HS_OUTCOME_OK */
    hs_proto_wseq wseq;    /* the writer commit that held it */
    bool recompute;        /* the job replaced results of a reopened interval */
} hs_proto_committed;

typedef struct hs_proto_committed_msg {
    hs_proto_committed c;
    hs_arena arena;
} hs_proto_committed_msg;

int hs_proto_committed_encode(hs_buf *out, const hs_proto_committed *c);
int hs_proto_committed_decode(hs_proto_committed_msg *m, const uint8_t *data, size_t len);
void hs_proto_committed_msg_free(hs_proto_committed_msg *m);

/* ------------------------------------------------------------------ stored documents (JSON) */

/*
 * A job's history record, docs/history/<workflow>/<committed_us>/<job>
 * (written by the writer for every committed, failed or stale job, and by
 * the scheduler for jobs it gave up on).
 */
typedef struct hs_proto_history {
    const char *job;
    const char *workflow;
    uint32_t factor;
    const char *pv;
    const char *tool;      /* tool name, or NULL: no tool object in the record */
    const char *version;   /* with tool */
    const uint8_t *params; /* with tool: canonical msgpack map, or NULL for {} */
    size_t params_len;
    hs_interval interval;
    uint64_t count, inserted, conflicts;
    int64_t duration_us;
    uint64_t attempt;
    int64_t committed_us;
    hs_proto_outcome outcome;
    const char *runtime; /* "" when no runtime ran it */
    const char *error;   /* NULL or "" when ok */
    hs_proto_trigger trigger;
    bool recompute; /* it replaced results of a reopened interval */
} hs_proto_history;

/* Writes the record as one JSON object (out is reset first). */
int hs_proto_history_encode(hs_buf *out, const hs_proto_history *h);

/*
 * A service's retained status, hs/status/<id> (JSON, schemas/status.json):
 * online, paused or offline (with the reason), who the service is and since
 * when. incarnation changes on every restart (write clients re-send their
 * unacknowledged requests to a writer with a new one).
 */
typedef enum hs_proto_state {
    HS_PROTO_OFFLINE,
    HS_PROTO_ONLINE,
    HS_PROTO_PAUSED,
} hs_proto_state;

/* Why a service is offline (only with HS_PROTO_OFFLINE). */
typedef enum hs_proto_reason {
    HS_PROTO_REASON_NONE,            /* online or paused */
    HS_PROTO_REASON_STOPPED,         /* "stopped": a clean stop */
    HS_PROTO_REASON_CONNECTION_LOST, /* "connection lost": the MQTT last will */
} hs_proto_reason;

/* The state's name on the wire ("online", "paused", "offline"; "?" for others). */
const char *hs_proto_state_name(hs_proto_state st);

typedef struct hs_proto_status {
    hs_proto_state state;
    const char *id;         /* the service id, non-empty */
    const char *service;    /* kind: "writer", "ingest", "scheduler" or "tool" */
    const char *version;    /* the program's version (HS_VERSION) */
    int64_t pid;            /* >= 1 */
    const char *host;       /* host name, "" when unknown */
    int64_t started_us;     /* "started", ISO-8601 UTC text on the wire */
    uint64_t incarnation;   /* the start time in microseconds */
    hs_proto_reason reason; /* HS_PROTO_REASON_NONE unless offline, set when offline */
    const char *tools;      /* tool runtimes: the tool name or "all"; "" (or NULL when
                               encoding) when absent */
    const char *metrics;    /* the Prometheus endpoint, "http://ADDR:PORT/metrics"; "" (or
                               NULL when encoding) when it serves none */
} hs_proto_status;

typedef struct hs_proto_status_msg {
    hs_proto_status st;
    hs_arena arena;
} hs_proto_status_msg;

/*
 * Writes the status as one JSON object (out is reset first), members in the
 * order state, id, service, version, pid, host, started, incarnation,
 * reason, tools, metrics. HS_ERR_INVAL when the status breaks the schema: a NULL or
 * empty id, service or version, pid < 1, a reason without offline or
 * offline without one, tools on a service that is not "tool", tools with
 * '/', '+', '#', '"' or '\\', metrics that is not an http:// URL.
 */
int hs_proto_status_encode(hs_buf *out, const hs_proto_status *st);

/*
 * Reads a status and checks it against the schema: every required member,
 * known state, service and reason, reason exactly when offline, tools only
 * on tool runtimes and present while one is online or paused (its last will
 * may lack them). HS_ERR_PARSE with a detail naming the member.
 */
int hs_proto_status_decode(hs_proto_status_msg *m, const char *json, size_t len);
void hs_proto_status_msg_free(hs_proto_status_msg *m);

/* ------------------------------------------------------------------ scheduler API (JSON) */

/* Operations of hs/api/<scheduler> (schemas/api.json). */
typedef enum hs_api_op {
    HS_API_WORKFLOW_ADD,
    HS_API_WORKFLOW_RM,
    HS_API_COMPUTE,
    HS_API_PING,
    HS_API_CANCEL,   /* stops a compute request: its queued jobs are dropped */
    HS_API_META_ADD, /* inserts meta-data tree nodes (paths) */
    HS_API_META_RM,  /* deletes meta-data tree nodes and their subtrees (paths) */
    HS_API_UNKNOWN,  /* answered with an error that names it */
} hs_api_op;

typedef struct hs_proto_api_req {
    hs_api_op op;
    const char *op_text;      /* the op as sent ("" when absent) */
    const char *workflow;     /* workflow_rm, compute */
    const char *definition;   /* workflow_add: the file's text */
    const char *filename;     /* workflow_add; NULL: "workflow" */
    hs_interval iv;           /* compute: (from, to] */
    const char *request;      /* compute (NULL: the scheduler makes one); cancel: required */
    bool dry_run;             /* compute: count the jobs it would plan, plan nothing */
    const char *const *paths; /* meta_add, meta_rm: tree paths "house=1/room=kitchen" */
    size_t npaths;
} hs_proto_api_req;

typedef struct hs_proto_api_req_msg {
    hs_proto_api_req req;
    hs_arena arena;
} hs_proto_api_req_msg;

/* out is reset first. */
int hs_proto_api_req_encode(hs_buf *out, const hs_proto_api_req *r);
/* Unknown ops decode (op HS_API_UNKNOWN); fields that do not belong to the op are refused. */
int hs_proto_api_req_decode(hs_proto_api_req_msg *m, const char *json, size_t len);
void hs_proto_api_req_msg_free(hs_proto_api_req_msg *m);

/* A reply; which members are written depends on op (ignored when !ok). */
typedef struct hs_proto_api_reply {
    hs_api_op op;
    bool ok;
    const char *error;    /* !ok: why, non-empty */
    const char *workflow; /* workflow_add */
    uint64_t factors;     /* workflow_add */
    bool unchanged;       /* workflow_add */
    const char *request;  /* compute, cancel */
    uint64_t jobs;        /* compute: jobs planned (dry_run: it would plan); ping: jobs known */
    uint64_t unplanned;   /* compute: jobs left to plan when the job table has room (max_jobs) */
    uint64_t dropped;     /* cancel: queued jobs dropped */
    uint64_t running;     /* cancel: jobs under way, let finish */
    uint64_t reopened;    /* compute: intervals in the request that late data reopened */
    uint64_t workflows;   /* ping */
    uint64_t inflight;    /* ping */
    uint64_t nodes;       /* meta_add: nodes inserted; meta_rm: nodes deleted */
    uint64_t workflows_changed; /* meta_add, meta_rm: workflows whose plates changed */
} hs_proto_api_reply;

typedef struct hs_proto_api_reply_msg {
    hs_proto_api_reply reply;
    hs_arena arena;
} hs_proto_api_reply_msg;

int hs_proto_api_reply_encode(hs_buf *out, const hs_proto_api_reply *r);
/* Reads any reply shape; op stays HS_API_UNKNOWN (the caller knows what it asked). */
int hs_proto_api_reply_decode(hs_proto_api_reply_msg *m, const char *json, size_t len);
void hs_proto_api_reply_msg_free(hs_proto_api_reply_msg *m);

/* The state of a compute request. */
typedef enum hs_proto_req_state {
    HS_REQ_RUNNING,
    HS_REQ_DONE,
    HS_REQ_FAILED,
    HS_REQ_CANCELLED, /* stopped by cancel or by removing its workflow; final */
} hs_proto_req_state;

const char *hs_proto_req_state_name(hs_proto_req_state st);

/* Progress of a request, hs/progress/<request> (JSON, schemas/progress.json). */
typedef struct hs_proto_progress {
    const char *request;
    const char *workflow;
    hs_proto_req_state state;
    uint64_t jobs_total, jobs_done, jobs_failed, instances;
    double elapsed_s;
    const char *error;       /* NULL: none */
    uint64_t jobs_dropped;   /* cancelled: queued jobs that will not run for it */
    uint64_t jobs_unplanned; /* jobs it still needs, planned when the job table has room */
} hs_proto_progress;

typedef struct hs_proto_progress_msg {
    hs_proto_progress p;
    hs_arena arena;
} hs_proto_progress_msg;

int hs_proto_progress_encode(hs_buf *out, const hs_proto_progress *p);
int hs_proto_progress_decode(hs_proto_progress_msg *m, const char *json, size_t len);
void hs_proto_progress_msg_free(hs_proto_progress_msg *m);

/* A compute request as stored, docs/requests/<request> (resumed after a restart while running). */
typedef struct hs_proto_request_doc {
    const char *request;
    const char *workflow;
    hs_interval iv;
    hs_proto_req_state state;
    uint64_t jobs, done, failed, instances;
    const char *error; /* NULL: none */
} hs_proto_request_doc;

typedef struct hs_proto_request_doc_msg {
    hs_proto_request_doc d;
    hs_arena arena;
} hs_proto_request_doc_msg;

int hs_proto_request_doc_encode(hs_buf *out, const hs_proto_request_doc *d);
int hs_proto_request_doc_decode(hs_proto_request_doc_msg *m, const char *json, size_t len);
void hs_proto_request_doc_msg_free(hs_proto_request_doc_msg *m);

/* A stored workflow, docs/workflows/<id>: the definition as the user gave it. */
typedef struct hs_proto_workflow_doc {
    const char *id;
    const char *filename;
    const char *added; /* ISO-8601 UTC */
    const char *text;
} hs_proto_workflow_doc;

typedef struct hs_proto_workflow_doc_msg {
    hs_proto_workflow_doc d;
    hs_arena arena;
} hs_proto_workflow_doc_msg;

int hs_proto_workflow_doc_encode(hs_buf *out, const hs_proto_workflow_doc *d);
int hs_proto_workflow_doc_decode(hs_proto_workflow_doc_msg *m, const char *json, size_t len);
void hs_proto_workflow_doc_msg_free(hs_proto_workflow_doc_msg *m);

/* An online workflow's state, docs/online/<id>: where its next run starts. */
/*
 * The dependencies of a computed stream, docs/deps/<sink> (JSON
 * {"sources", "lookback_us", "max_lateness_us"}): what its jobs read, as the
 * define op gave it (it->has_deps). Written and read by the writer.
 */
typedef struct hs_proto_deps_msg {
    hs_proto_define_item it; /* sid, kind and binding unused */
    hs_arena arena;
} hs_proto_deps_msg;

int hs_proto_deps_doc_encode(hs_buf *out, const hs_proto_define_item *it);
int hs_proto_deps_doc_decode(hs_proto_deps_msg *m, const char *json, size_t len);
void hs_proto_deps_msg_free(hs_proto_deps_msg *m);

/*
 * The reopened intervals of a computed stream, docs/reopened/<sid> (JSON
 * {"intervals": [[start_us, end_us], ...]}, sorted and disjoint, possibly
 * none once all were computed again): calculated once, reopened by late data
 * or an invalidation, not computed again yet.
 */
int hs_proto_reopened_doc_encode(hs_buf *out, const hs_intervals *iv);
/* Replaces out's content with the document's intervals. */
int hs_proto_reopened_doc_decode(const char *json, size_t len, hs_intervals *out);

/*
 * Reads the reopened intervals of stream sid from store s into out (cleared
 * first; empty when there is no document), scratch holding the document's
 * text. HS_OK, or the store's or the decoder's error.
 */
struct hs_store;
int hs_proto_reopened_doc_read(struct hs_store *s, const char *sid, hs_buf *scratch,
                               hs_intervals *out);

int hs_proto_online_doc_encode(hs_buf *out, int64_t last_end_us);
int hs_proto_online_doc_decode(const char *json, size_t len, int64_t *last_end_us);

/*
 * A session, docs/sessions/<session> (docs/MODEL.md, section 6): one compute
 * request or one online activation of a workflow, written by the scheduler.
 */
typedef enum hs_proto_session_kind {
    HS_SESSION_REQUEST = 0,
    HS_SESSION_ONLINE = 1
} hs_proto_session_kind;

/* How a session ended: NONE while it is active, one of the others once closed. */
typedef enum hs_proto_session_outcome {
    HS_SESSION_NONE = 0,
    HS_SESSION_OK,
    HS_SESSION_FAILED,
    HS_SESSION_CANCELLED,
    HS_SESSION_INTERRUPTED /* left active by a scheduler that stopped without closing it */
} hs_proto_session_outcome;

typedef struct hs_proto_session_doc {
    const char *session;
    const char *workflow;
    hs_proto_session_kind kind;
    bool active;                      /* state: active, else closed */
    hs_proto_session_outcome outcome; /* NONE exactly when active */
    int64_t started_us;
    int64_t ended_us;           /* closed: when; active: 0 */
    const hs_interval *covered; /* sorted, disjoint intervals it covered (borrowed) */
    size_t ncovered;
    uint64_t planned, done, failed; /* its jobs */
    const char *error;              /* the first error; NULL or empty: none */
} hs_proto_session_doc;

typedef struct hs_proto_session_doc_msg {
    hs_proto_session_doc d; /* strings and intervals in the arena */
    hs_arena arena;
} hs_proto_session_doc_msg;

/* The names of kinds and outcomes as documents and hsctl write them ("" for NONE). */
const char *hs_proto_session_kind_name(hs_proto_session_kind k);
const char *hs_proto_session_outcome_name(hs_proto_session_outcome o);

/*
 * Writes d as the JSON document into out (reset first). HS_ERR_INVAL when
 * d breaks the rules above (a NULL id or workflow, an outcome that does not
 * match the state, intervals not sorted and disjoint); else the buffer's
 * error.
 */
int hs_proto_session_doc_encode(hs_buf *out, const hs_proto_session_doc *d);

/*
 * Reads a session document (len bytes of JSON, copied). HS_ERR_PARSE with a
 * detail naming the fault, HS_ERR_NOMEM. Free m with
 * hs_proto_session_doc_msg_free also after a failure.
 */
int hs_proto_session_doc_decode(hs_proto_session_doc_msg *m, const char *json, size_t len);
void hs_proto_session_doc_msg_free(hs_proto_session_doc_msg *m);

/* Decodes a history record (hsctl jobs); committed_us is read from its ISO text. */
typedef struct hs_proto_history_msg {
    hs_proto_history h;
    hs_arena arena;
} hs_proto_history_msg;

int hs_proto_history_decode(hs_proto_history_msg *m, const char *json, size_t len);
void hs_proto_history_msg_free(hs_proto_history_msg *m);

/*
 * The notice of reopened intervals, hs/reopened (msgpack, schemas/reopened.json):
 * intervals of stream that stopped counting as calculated in writer commit
 * wseq, and why ("late": data arrived inside what its jobs read;
 * "invalidate": asked for; "race": data committed while a job over it ran).
 */
typedef struct hs_proto_reopened {
    const char *stream;
    const hs_interval *intervals; /* sorted, disjoint, non-empty list */
    size_t n;
    const char *reason;
    hs_proto_wseq wseq;
} hs_proto_reopened;

typedef struct hs_proto_reopened_msg {
    hs_proto_reopened r;
    hs_arena arena;
} hs_proto_reopened_msg;

int hs_proto_reopened_encode(hs_buf *out, const hs_proto_reopened *r);
int hs_proto_reopened_decode(hs_proto_reopened_msg *m, const uint8_t *data, size_t len);
void hs_proto_reopened_msg_free(hs_proto_reopened_msg *m);

/*
 * A correction, hs/c/<sid> (msgpack, schemas/correction.json): the stream
 * over interval is now exactly data (a batch [[t_us, v], ...], borrowed);
 * what a subscriber held in interval and is not in data was removed.
 */
typedef struct hs_proto_correction {
    hs_interval interval;
    const uint8_t *data;
    size_t data_len;
} hs_proto_correction;

int hs_proto_correction_encode(hs_buf *out, const hs_proto_correction *c);
int hs_proto_correction_decode(hs_proto_correction *c, const uint8_t *data, size_t len);

/* The notice of a purged stream, hs/purged (msgpack {stream}, schemas/purged.json). */
int hs_proto_purged_encode(hs_buf *out, const char *stream);
/* *stream is copied into buf of bufsize bytes; HS_ERR_LIMIT when it does not fit. */
int hs_proto_purged_decode(const uint8_t *data, size_t len, char *buf, size_t bufsize);

/* ------------------------------------------------------------------ dead letters and events */

/* How a dead letter's payload is to be read (hs_proto_dead_letter.kind). */
typedef enum hs_proto_payload_kind {
    /* Read as ingest reads raw input: msgpack when it starts like an msgpack
       array, else text when it is UTF-8 without NUL, else msgpack when it
       decodes as one value. */
    HS_PAYLOAD_AUTO = 0,
    HS_PAYLOAD_TEXT,    /* text (a JSON request, a CSV line) */
    HS_PAYLOAD_MSGPACK, /* one msgpack value (write requests, jobs, notices) */
    HS_PAYLOAD_BINARY,  /* bytes shown as base64 only */
} hs_proto_payload_kind;

/*
 * A dead letter, hs/dead/<service> (JSON, schemas/dead-letter.json): input a
 * service refused, with the reason, the MQTT topic it came on, the stream
 * it concerns and the original bytes in a readable form: "payload" (text),
 * "payload_json" (an msgpack payload decoded to JSON) or "payload_b64"
 * (base64) with "undecodable" saying why it could not be shown readably.
 */
typedef struct hs_proto_dead_letter {
    const char *service; /* the service id */
    const char *reason;
    const char *topic; /* the MQTT topic (or file:NAME:LINE) it came on ("" when unknown) */
    int64_t t_us;      /* when it was refused */
    const uint8_t *payload;
    size_t len;
    const char *stream;         /* the stream id it concerns; NULL or "" for none */
    hs_proto_payload_kind kind; /* how payload is read; decoding sets TEXT, MSGPACK or BINARY */
    const char *undecodable;    /* decoding: why payload_b64 was used; NULL otherwise */
} hs_proto_dead_letter;

typedef struct hs_proto_dead_letter_msg {
    hs_proto_dead_letter d; /* payload from text, base64 or JSON (as msgpack), in the arena */
    hs_arena arena;
} hs_proto_dead_letter_msg;

/*
 * Encodes d as JSON into out (reset first). A payload of kind MSGPACK that
 * is not exactly one msgpack value, or of kind TEXT that is not UTF-8
 * without NUL, is written as base64 with "undecodable" saying so. Returns
 * HS_ERR_INVAL when service or reason is missing.
 */
int hs_proto_dead_letter_encode(hs_buf *out, const hs_proto_dead_letter *d);
/*
 * Decodes a dead letter; a "payload_json" value comes back as its msgpack
 * encoding (the same value, not necessarily the same bytes as were sent).
 * Free m with hs_proto_dead_letter_msg_free, also on failure.
 */
int hs_proto_dead_letter_decode(hs_proto_dead_letter_msg *m, const char *json, size_t len);
void hs_proto_dead_letter_msg_free(hs_proto_dead_letter_msg *m);

/* How much a monitoring event matters; the order is the numeric order. */
typedef enum hs_proto_mon_level {
    HS_MON_DEBUG = -1, /* routine: an online run's start and end */
    HS_MON_INFO = 0,   /* a compute request started or finished */
    HS_MON_WARN = 1,   /* a run finished with failed jobs, late data ignored */
    HS_MON_ERROR = 2,  /* a job failed for good, a workflow file is invalid */
} hs_proto_mon_level;

/* "debug", "info", "warn" or "error". */
const char *hs_proto_mon_level_name(hs_proto_mon_level level);
/* Parses a level name into *out; HS_ERR_INVAL for anything else. */
int hs_proto_mon_level_parse(const char *s, hs_proto_mon_level *out);

/*
 * A monitoring event, hs/mon (schemas/mon.json, docs/OPERATIONS.md): SenML
 * JSON {"uid", "bt", "e": [{"n", "vs"}]} with "level" and, for events about
 * an interval, "interval" (two ISO-8601 times) and "interval_us"; or one
 * plain line of text.
 */
typedef struct hs_proto_mon {
    const char *service; /* the service id */
    int64_t t_us;
    const char *name; /* workflow_start, workflow_end, job_failed, ... */
    const char *text;
    hs_proto_mon_level level; /* 0 (info) unless set */
    bool has_interval;        /* the event is about interval */
    hs_interval interval;     /* (start, end] in microseconds */
} hs_proto_mon;

typedef struct hs_proto_mon_msg {
    hs_proto_mon e;
    hs_arena arena;
} hs_proto_mon_msg;

/*
 * Encodes an event into out (reset first). plain: the one-line form
 * "<time> MON <service> <level> <name>: <text>" instead of SenML.
 * HS_ERR_INVAL when a required field is missing.
 */
int hs_proto_mon_encode(hs_buf *out, const hs_proto_mon *e, bool plain);
/* Reads the SenML form ("interval" must name the same instants as "interval_us"). */
int hs_proto_mon_decode(hs_proto_mon_msg *m, const char *json, size_t len);
void hs_proto_mon_msg_free(hs_proto_mon_msg *m);

/* ------------------------------------------------------------------ input schemas of workflows */

/* Most entries of one input schemas message (as hs_schemaset's HS_SCHEMASET_MAX). */
#define HS_PROTO_SCHEMAS_MAX 1000

/* One input schema of a workflow (docs/SCHEMAS.md). */
typedef struct hs_proto_schema_entry {
    const char *stream;     /* the stream id pattern, an MQTT topic filter; non-empty */
    const hs_value *schema; /* a JSON Schema: a map or a boolean */
} hs_proto_schema_entry;

/*
 * The input schemas of a workflow, hs/schemas/<workflow> (retained, msgpack,
 * schemas/schemas.json): {workflow, schemas: [{stream, schema}, ...]} with 1
 * to HS_PROTO_SCHEMAS_MAX entries. The scheduler publishes it when a
 * workflow with schemas is installed and clears it (an empty retained
 * payload, not this message) when the workflow is removed or loses them;
 * ingest compiles it. Whether a pattern or a schema is valid is for the
 * schema set to say (hs_schemaset_replace): here only the shape is checked.
 */
typedef struct hs_proto_schemas {
    const char *workflow;                 /* the workflow id; non-empty */
    const hs_proto_schema_entry *entries; /* n entries */
    size_t n;
} hs_proto_schemas;

typedef struct hs_proto_schemas_msg {
    hs_proto_schemas s; /* strings, entries and schema trees in the arena */
    hs_arena arena;
} hs_proto_schemas_msg;

/* Appends the message. HS_ERR_INVAL when s breaks the shape above. */
int hs_proto_schemas_encode(hs_buf *out, const hs_proto_schemas *s);

/*
 * Reads a message (len bytes of data, copied: the result does not borrow
 * them). HS_ERR_PARSE with a detail naming the fault ("input schemas:
 * schemas[2]: 'schema' is not a map or a boolean"), HS_ERR_LIMIT past
 * HS_PROTO_SCHEMAS_MAX entries or too deep a schema, HS_ERR_NOMEM. Free m
 * with hs_proto_schemas_msg_free also after a failure.
 */
int hs_proto_schemas_decode(hs_proto_schemas_msg *m, const uint8_t *data, size_t len);

/*
 * Builds the message of workflow from list, len bytes of msgpack holding the
 * list [{stream, schema}, ...] as a workflow file's `schemas:` section gives
 * it (hs_workflow's schemas_mp; copied). Checks and errors as
 * hs_proto_schemas_decode.
 */
int hs_proto_schemas_from_list(hs_proto_schemas_msg *m, const char *workflow, const uint8_t *list,
                               size_t len);
void hs_proto_schemas_msg_free(hs_proto_schemas_msg *m);

#endif
