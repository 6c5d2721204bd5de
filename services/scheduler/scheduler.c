#include "scheduler.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_map.h"
#include "hs_meta.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_store.h"
#include "hs_time.h"
#include "hs_utf8.h"
#include "hs_value.h"
#include "hs_wclient.h"
#include "hs_workflow.h"
#include "api.h"
#include "jobtab.h"
#include "online.h"
#include "planner.h"
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const hs_cfg_item scheduler_cfg_table[] = {
    {"job_span", HS_CFG_DURATION, "1d", offsetof(scheduler_cfg, job_span_us), false,
     "longest interval of one job (workflows may set job_span)"},
    {"job_timeout", HS_CFG_DURATION, "60s", offsetof(scheduler_cfg, job_timeout_us), false,
     "a dispatched job not committed by then is dispatched again"},
    {"max_attempts", HS_CFG_INT, "3", offsetof(scheduler_cfg, max_attempts), false,
     "dispatches of one job before it is declared failed"},
    {"max_inflight", HS_CFG_INT, "16", offsetof(scheduler_cfg, max_inflight), false,
     "jobs dispatched and not yet committed"},
    {"max_jobs", HS_CFG_INT, "200000", offsetof(scheduler_cfg, max_jobs), false,
     "jobs queued or dispatched at once (a larger request is planned in parts)"},
    {"job_plate_values", HS_CFG_INT, "256", offsetof(scheduler_cfg, job_plate_values), false,
     "most plate values of one factor one job covers (1: a job per plate value)"},
    {"job_group_min", HS_CFG_INT, "1000", offsetof(scheduler_cfg, job_group_min), false,
     "a factor over fewer plate values has a job per plate value (a failure stays its own)"},
    {"workflows_dir", HS_CFG_STR, "", offsetof(scheduler_cfg, workflows_dir), false,
     "directory of workflow files (*.yaml, *.yml, *.json) added at start"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

enum {
    J_PENDING = JOBTAB_QUEUED,
    J_DISPATCHED = JOBTAB_DISPATCHED,
    J_DONE = JOBTAB_DONE,
    J_FAILED = JOBTAB_FAILED
};

typedef struct sreq sreq;
typedef struct swf swf;

/* A job: its record in the job table (state, deadline, indexes) first, then the scheduler's. */
typedef struct sjob {
    jobtab_job t; /* first: a jobtab_job* of the table is an sjob* */
    char id[48];
    swf *w; /* borrowed */
    size_t factor, unit;
    hs_interval iv;
    int attempt;
    int64_t deadline;   /* monotonic; given to the table when dispatched */
    int64_t dispatched; /* monotonic time of the last dispatch */
    uint64_t count;
    sreq **reqs; /* requests waiting for this job (borrowed) */
    size_t nreqs;
    int64_t created;
    bool forget; /* in the scheduler's list of jobs to forget when their requests end */
    bool gone;   /* s_reexpand: its plate value left its unit; dropped */
    /* Its reads [0, ready_k) were calculated over its read range at calc_epoch ready_epoch. */
    size_t ready_k;
    uint64_t ready_epoch;
} sjob;

struct sreq {
    char id[64];
    int replans; /* offline: times it was planned again when its jobs were done (reopened parts) */
    swf *w;
    hs_interval iv;
    bool online;
    hs_proto_trigger trigger; /* what made it: request, online tick, late data */
    size_t total, done, failed;
    size_t dropped;   /* cancelled: jobs it waited for that will not run for it */
    size_t unplanned; /* jobs its last planning could not add (job table full: max_jobs) */
    uint64_t instances;
    int64_t started_mono;
    int64_t last_progress;
    int64_t refill_mono; /* when it was last planned again for its unplanned jobs */
    bool finished;
    bool cancelled;       /* by cancel or by removing its workflow: final, never resumed */
    char cancel_why[120]; /* cancelled: why (its progress error when no job failed) */
    char first_error[300];
    session sess;         /* offline: its session (same id), opened when it is accepted */
    char online_sess[64]; /* online: the id of its workflow's session when it started */
    sjob **jobs;          /* owned array of borrowed jobs attached to it, until it is released */
    size_t njobs, capjobs;
    size_t refs;   /* jobs that still refer to it */
    bool released; /* finished, and its jobs were offered to be forgotten */
    bool touched;  /* s_reexpand: some of its jobs are gone */
};

/*
 * A workflow. Its factors expand into members, one per plate value
 * (hs_workflow_units), and the members into units, what a job runs for:
 * consecutive members of a plain or aggregate factor grouped by up to
 * group_max (docs/ARCHITECTURE.md, "Jobs over many plate values"), else one
 * member each. A unit's sources and sinks are its members' in order (the
 * arrays are the unit's, the stream ids the members'); its pv, alignment
 * and output_meta are its first member's.
 */
struct swf {
    hs_workflow *wf;
    hs_wf_unit **members; /* per factor: one per plate value (owned) */
    size_t *nmembers;
    hs_wf_unit **units; /* per factor: the job units */
    size_t *nunits;
    size_t **first;      /* per factor: unit u's members are [first[u], first[u + 1]) */
    size_t group_max;    /* the scheduler's job_plate_values */
    size_t group_min;    /* the scheduler's job_group_min */
    hs_map producer;     /* sink stream id -> (factor << 32 | unit) + 1 */
    online_state online; /* online: the last interval's end and the next run (online.c) */
    hs_intervals heal;   /* online: reopened intervals of its sinks to compute again */
    bool behind;         /* online: the clock is behind the last interval's end (logged once) */
    bool removed;
    session *sess; /* online: its active session (owned; NULL: none) */
    /* The meta-data tree's generation it was expanded at (s_tree_apply). */
    unsigned long tree_gen;
};

/* A tool runtime as its retained status describes it. */
typedef struct srt {
    bool online; /* online and not paused */
    char *tools; /* owned: "all" or one tool name */
} srt;

struct scheduler {
    hs_service *svc;
    hs_map runtimes;   /* service id -> srt* (tool runtimes only) */
    bool seen_runtime; /* some runtime announced itself (else dispatch blindly) */
    const scheduler_cfg *cfg;
    hs_log *log;
    hs_mqtt *mqtt;
    hs_store *store;
    hs_wclient *wc;
    hs_tool_registry *tools;
    hs_meta_tree *tree; /* the stack's meta-data tree (docs meta/<path>), owned */
    /* Tree documents waiting to be sent in one docs request (s_meta_flush): owned texts. */
    hs_proto_doc *mdocs;
    size_t nmdocs, capmdocs;
    hs_map wfs;  /* id -> swf* */
    hs_map calc; /* sink stream id -> hs_intervals* */
    /*
     * Counts events that may take calculated intervals away (reopened,
     * purged, redefined streams): a job's readiness found so far (ready_k)
     * holds while it is unchanged, since commits only add to them.
     */
    uint64_t calc_epoch;
    jobtab *jt;    /* every job (owned records: sjob) */
    sjob **forget; /* jobs that may be forgotten (borrowed) */
    size_t nforget, capforget;
    hs_map reqs; /* request id -> sreq* */
    size_t inflight;
    uint64_t req_counter;
    hs_buf scratch, topic, msg;
    /* A job message's sources and sinks as it is encoded (owned, reused). */
    hs_proto_source *msg_src;
    size_t cap_msg_src;
    const char **msg_sinks;
    size_t cap_msg_sinks;
    hs_proto_unit *msg_units;
    size_t cap_msg_units;
    hs_proto_wseq wseq; /* the writer's newest commit we know of ({0, 0}: none yet) */
    sjob **blocked;     /* jobs this round of dispatch found blocked (borrowed) */
    size_t nblocked, capblocked;
    sreq **replan; /* scratch: their requests, each once (borrowed) */
    size_t capreplan;
    bool replanning;        /* planning a request again: failed jobs stay failed */
    int64_t heal_scan_mono; /* when docs/reopened was last read (s_heal_scan) */
    int64_t started_mono;
};

/* ------------------------------------------------------------------ helpers */

static void s_progress(scheduler *s, sreq *r, bool force);
static void s_set_state(scheduler *s, sjob *j, int state);

/* Sends a write request and logs failures (the write client re-sends on its own). */
static int s_write(scheduler *s, hs_proto_op op, hs_buf *fields, uint32_t n)
{
    int rc = hs_wclient_send(s->wc, op, fields->data, fields->len, n, 30000, NULL);
    if (rc != HS_OK)
        hs_error(s->log, "cannot send %s to the writer: %s", hs_proto_op_name(op), hs_err_detail());
    return rc;
}

/* Stores (json) or deletes (json NULL) a document through the writer. */
static int s_doc(scheduler *s, const char *coll, const char *key, const char *json)
{
    hs_proto_doc d = {coll, key, json};
    hs_buf f;
    hs_buf_init(&f, 0);
    uint32_t n = 0;
    int rc = hs_proto_doc_encode_fields(&f, &d, &n);
    if (rc == HS_OK)
        rc = s_write(s, json != NULL ? HS_OP_DOC_PUT : HS_OP_DOC_DEL, &f, n);
    else
        hs_error(s->log, "cannot encode document %s/%s: %s", coll, key, hs_err_detail());
    hs_buf_free(&f);
    return rc;
}

static int s_doc_put(scheduler *s, const char *coll, const char *key, const char *json)
{
    return s_doc(s, coll, key, json);
}

static int s_doc_del(scheduler *s, const char *coll, const char *key)
{
    return s_doc(s, coll, key, NULL);
}

/* Stores session x (docs/sessions/<id>) through the writer; failures are logged. */
static void s_session_put(scheduler *s, const session *x)
{
    if (session_encode(x, &s->scratch) == HS_OK)
        (void)s_doc_put(s, "sessions", x->id, hs_buf_cstr(&s->scratch));
    else
        hs_error(s->log, "cannot encode session %s: %s", x->id, hs_err_detail());
}

/* The calculated intervals of a stream, cached; loaded from the store on first use. */
static hs_intervals *s_calc(scheduler *s, const char *sid)
{
    hs_intervals *c = hs_map_get(&s->calc, sid);
    if (c != NULL)
        return c;
    c = hs_malloc(sizeof *c);
    if (c == NULL)
        return NULL;
    hs_intervals_init(c);
    hs_stream_info info;
    if (hs_store_stream_get(s->store, sid, &info) == HS_OK) {
        hs_intervals_copy(c, &info.calculated);
        hs_stream_info_free(&info);
    }
    if (hs_map_put(&s->calc, sid, c, NULL) != HS_OK) {
        hs_intervals_free(c);
        hs_free(c);
        return NULL;
    }
    return c;
}

static void s_calc_forget(scheduler *s, const char *sid)
{
    hs_intervals *c = hs_map_remove(&s->calc, sid);
    if (c != NULL) {
        hs_intervals_free(c);
        hs_free(c);
    }
}

/* ------------------------------------------------------------------ workflows */

static void swf_units_free(swf *w)
{
    for (size_t f = 0; w->units != NULL && f < w->wf->nfactors; f++) {
        for (size_t u = 0; w->units[f] != NULL && u < w->nunits[f]; u++) {
            hs_free(w->units[f][u].sources);
            hs_free(w->units[f][u].sinks);
        }
        hs_free(w->units[f]);
    }
    for (size_t f = 0; w->members != NULL && f < w->wf->nfactors; f++)
        hs_wf_units_free(w->members[f], w->nmembers[f]);
    for (size_t f = 0; w->first != NULL && f < w->wf->nfactors; f++)
        hs_free(w->first[f]);
    hs_free(w->members);
    hs_free(w->nmembers);
    hs_free(w->units);
    hs_free(w->nunits);
    hs_free(w->first);
    w->members = NULL;
    w->nmembers = NULL;
    w->units = NULL;
    w->nunits = NULL;
    w->first = NULL;
    hs_map_free(&w->producer);
}

/* Most sources of a unit of several plate values (one plate value may have more). */
#define SWF_GROUP_STREAMS 4096

/* Whether the plate values of factor f may share jobs: see swf_group. */
static bool swf_groupable(const swf *w, size_t f)
{
    const hs_wf_factor *fa = &w->wf->factors[f];
    if (w->group_max < 2 || w->nmembers[f] < 2 || w->nmembers[f] < w->group_min ||
        fa->output_plate != NULL)
        return false;
    /* Dynamic plates add values to the end: grouping would change jobs' members. */
    for (size_t p = 0; p < w->wf->nplates; p++)
        if (w->wf->plates[p].dynamic)
            return false;
    const hs_wf_unit *m0 = &w->members[f][0];
    for (size_t i = 0; i < w->nmembers[f]; i++) {
        const hs_wf_unit *m = &w->members[f][i];
        if (m->nsinks != 1 || m->output_meta != NULL || m->splitting != NULL ||
            (m->alignment == NULL) != (m0->alignment == NULL) ||
            (m->alignment != NULL && strcmp(m->alignment->canon, m0->alignment->canon) != 0))
            return false;
    }
    return true;
}

/*
 * Groups the members of factor f into units: up to group_max consecutive
 * plate values of a plain or aggregate factor whose members each have one
 * sink, no splitting and the same alignment share a unit, as long as they
 * read at most SWF_GROUP_STREAMS sources together; other factors have one
 * unit per member.
 */
static int swf_group(swf *w, size_t f)
{
    size_t nm = w->nmembers[f];
    size_t per = swf_groupable(w, f) ? w->group_max : 1;
    w->first[f] = hs_calloc(nm + 1, sizeof *w->first[f]);
    if (w->first[f] == NULL)
        return HS_ERR_NOMEM;
    size_t nu;
    planner_group(w->members[f], nm, per, SWF_GROUP_STREAMS, w->first[f], &nu);
    w->units[f] = hs_calloc(nu ? nu : 1, sizeof *w->units[f]);
    if (w->units[f] == NULL)
        return HS_ERR_NOMEM;
    w->nunits[f] = nu;
    for (size_t u = 0; u < nu; u++) {
        size_t a = w->first[f][u], b = w->first[f][u + 1];
        size_t ns = 0, nk = 0;
        for (size_t i = a; i < b; i++) {
            ns += w->members[f][i].nsources;
            nk += w->members[f][i].nsinks;
        }
        hs_wf_unit *un = &w->units[f][u];
        *un = w->members[f][a]; /* pv, alignment, splitting, output_meta: the first's */
        un->sources = hs_calloc(ns ? ns : 1, sizeof *un->sources);
        un->sinks = hs_calloc(nk ? nk : 1, sizeof *un->sinks);
        un->nsources = 0;
        un->nsinks = 0;
        if (un->sources == NULL || un->sinks == NULL)
            return HS_ERR_NOMEM;
        for (size_t i = a; i < b; i++) {
            const hs_wf_unit *m = &w->members[f][i];
            if (m->nsources > 0)
                memcpy(un->sources + un->nsources, m->sources, m->nsources * sizeof *m->sources);
            un->nsources += m->nsources;
            if (m->nsinks > 0)
                memcpy(un->sinks + un->nsinks, m->sinks, m->nsinks * sizeof *m->sinks);
            un->nsinks += m->nsinks;
        }
    }
    return HS_OK;
}

/* How many plate values unit u of factor f covers. */
static size_t swf_unit_size(const swf *w, size_t f, size_t u)
{
    return w->first[f][u + 1] - w->first[f][u];
}

static void swf_free(swf *w)
{
    if (w == NULL)
        return;
    swf_units_free(w);
    hs_intervals_free(&w->heal);
    session_free(w->sess);
    hs_free(w->sess);
    hs_workflow_destroy(w->wf);
    hs_free(w);
}

/* Expands every factor into units and indexes who produces which stream. */
static int swf_expand(swf *w)
{
    swf_units_free(w);
    hs_map_init(&w->producer);
    size_t nf = w->wf->nfactors;
    w->members = hs_calloc(nf ? nf : 1, sizeof *w->members);
    w->nmembers = hs_calloc(nf ? nf : 1, sizeof *w->nmembers);
    w->units = hs_calloc(nf ? nf : 1, sizeof *w->units);
    w->nunits = hs_calloc(nf ? nf : 1, sizeof *w->nunits);
    w->first = hs_calloc(nf ? nf : 1, sizeof *w->first);
    if (w->members == NULL || w->nmembers == NULL || w->units == NULL || w->nunits == NULL ||
        w->first == NULL)
        return HS_ERR_NOMEM;
    for (size_t f = 0; f < nf; f++) {
        int rc = hs_workflow_units(w->wf, f, &w->members[f], &w->nmembers[f]);
        if (rc == HS_OK)
            rc = swf_group(w, f);
        if (rc != HS_OK)
            return rc;
        for (size_t u = 0; u < w->nunits[f]; u++) {
            hs_wf_unit *un = &w->units[f][u];
            for (size_t k = 0; k < un->nsinks; k++) {
                uintptr_t code = (((uintptr_t)f << 32) | u) + 1;
                rc = hs_map_put(&w->producer, un->sinks[k]->canon, (void *)code, NULL);
                if (rc != HS_OK)
                    return rc;
            }
        }
    }
    return HS_OK;
}

/* The unit producing stream sid in w, or false. */
static bool swf_producer(const swf *w, const char *sid, size_t *f, size_t *u)
{
    uintptr_t code = (uintptr_t)hs_map_get(&w->producer, sid);
    if (code == 0)
        return false;
    code--;
    *f = (size_t)(code >> 32);
    *u = (size_t)(code & 0xffffffffu);
    return true;
}

/* Sends n stream definitions in one define request (f is scratch). */
static int s_send_defines(scheduler *s, const hs_proto_define_item *items, size_t n, hs_buf *f)
{
    hs_proto_define d = {items, n};
    uint32_t nf = 0;
    hs_buf_reset(f);
    int rc = hs_proto_define_encode_fields(f, &d, &nf);
    return rc == HS_OK ? s_write(s, HS_OP_DEFINE, f, nf) : rc;
}

/* The streams a unit's jobs read (sources, alignment, splitting) into out[0..*n), borrowed. */
static void s_unit_reads(const hs_wf_unit *un, const char **out, size_t *n)
{
    *n = 0;
    for (size_t k = 0; k < un->nsources; k++)
        out[(*n)++] = un->sources[k]->canon;
    if (un->alignment != NULL)
        out[(*n)++] = un->alignment->canon;
    if (un->splitting != NULL)
        out[(*n)++] = un->splitting->canon;
}

/*
 * Sends the definition of every sink of w to the writer (need: only those
 * of the members need[f][i] marks; NULL: all): kind computed, the binding,
 * and what its jobs read (the writer reopens its calculated intervals when
 * late data arrives there: docs/ARCHITECTURE.md).
 */
static int s_define_sinks(scheduler *s, swf *w, bool *const *need)
{
    /* In requests of at most 500 definitions. */
    enum { BATCH = 500 };
    hs_proto_define_item items[BATCH];
    const char **reads[BATCH];
    hs_buf f;
    hs_buf_init(&f, 0);
    int rc = HS_OK;
    size_t n = 0;
    memset(reads, 0, sizeof reads);
    for (size_t fi = 0; rc == HS_OK && fi < w->wf->nfactors; fi++) {
        const hs_wf_factor *fa = &w->wf->factors[fi];
        /* Per plate value: a sink depends on what its own plate value reads. */
        for (size_t u = 0; rc == HS_OK && u < w->nmembers[fi]; u++) {
            if (need != NULL && !need[fi][u])
                continue;
            const hs_wf_unit *un = &w->members[fi][u];
            for (size_t k = 0; rc == HS_OK && k < un->nsinks; k++) {
                const char *sid = un->sinks[k]->canon;
                hs_free(reads[n]);
                reads[n] = hs_malloc((un->nsources + 2) * sizeof *reads[n]);
                if (reads[n] == NULL) {
                    rc = HS_ERR_NOMEM;
                    break;
                }
                size_t nr;
                s_unit_reads(un, reads[n], &nr);
                items[n] = (hs_proto_define_item){
                    .sid = sid,
                    .kind = HS_STREAM_COMPUTED,
                    .binding = fa->binding,
                    .has_deps = true,
                    .sources = reads[n],
                    .nsources = nr,
                    .lookback_us = fa->lookback_us,
                    .max_lateness_us = w->wf->online ? w->wf->max_lateness_us : 0,
                };
                n++;
                /* The writer may purge it: forget what we knew. */
                s_calc_forget(s, sid);
                s->calc_epoch++;
                if (n == BATCH) {
                    rc = s_send_defines(s, items, n, &f);
                    n = 0;
                }
            }
        }
    }
    if (rc == HS_OK && n > 0)
        rc = s_send_defines(s, items, n, &f);
    for (size_t i = 0; i < BATCH; i++)
        hs_free(reads[i]);
    hs_buf_free(&f);
    return rc;
}

/* ------------------------------------------------------------------ jobs */

static sjob *s_job_of(jobtab_job *t)
{
    return (sjob *)(void *)t;
}

static int s_job_state(const sjob *j)
{
    return j->t.state;
}

static bool s_job_live(const sjob *j)
{
    return s_job_state(j) == J_PENDING || s_job_state(j) == J_DISPATCHED;
}

static sjob *s_job_find(scheduler *s, const char *id)
{
    jobtab_job *t = jobtab_find(s->jt, id);
    return t != NULL ? s_job_of(t) : NULL;
}

/* Offers j to be forgotten once it and its requests have ended (checked in s_pump). */
static void s_forget_later(scheduler *s, sjob *j)
{
    if (j->forget)
        return;
    if (hs_grow(&s->forget, &s->capforget, s->nforget + 1, sizeof *s->forget, 256) != HS_OK)
        return; /* kept until the scheduler stops: only memory is lost */
    j->forget = true;
    s->forget[s->nforget++] = j;
}

/*
 * A job id that is the same for the same work: workflow, factor, plate
 * value (a unit of several: the first, the last and how many), interval.
 */
static void s_job_id(const swf *w, size_t f, size_t u, hs_interval iv, char out[48])
{
    char text[4096];
    size_t n = swf_unit_size(w, f, u);
    const char *pv = w->units[f][u].pv.text;
    if (n == 1)
        snprintf(text, sizeof text, "%s|%zu|%s|%" PRId64 "|%" PRId64 "|%s", w->wf->id, f, pv,
                 iv.start, iv.end, w->wf->factors[f].hash);
    else
        snprintf(text, sizeof text, "%s|%zu|%s..%s+%zu|%" PRId64 "|%" PRId64 "|%s", w->wf->id, f,
                 pv, w->members[f][w->first[f][u + 1] - 1].pv.text, n, iv.start, iv.end,
                 w->wf->factors[f].hash);
    char h[17];
    hs_binding_hash(text, h);
    snprintf(out, 48, "j%s", h);
}

static void s_attach(sjob *j, sreq *r)
{
    for (size_t i = 0; i < j->nreqs; i++)
        if (j->reqs[i] == r)
            return;
    if (hs_grow(&r->jobs, &r->capjobs, r->njobs + 1, sizeof *r->jobs, 16) != HS_OK)
        return;
    sreq **nr = hs_realloc(j->reqs, (j->nreqs + 1) * sizeof *nr);
    if (nr == NULL)
        return;
    j->reqs = nr;
    j->reqs[j->nreqs++] = r;
    r->jobs[r->njobs++] = j;
    r->refs++;
    r->total++;
    if (s_job_state(j) == J_DONE)
        r->done++;
    else if (s_job_state(j) == J_FAILED)
        r->failed++;
}

/* Jobs queued or dispatched: what max_jobs bounds. */
static size_t s_live_jobs(const scheduler *s)
{
    return jobtab_count(s->jt, J_PENDING) + jobtab_count(s->jt, J_DISPATCHED);
}

/* Whether the job table has room for one more job. */
static bool s_has_room(const scheduler *s)
{
    return (int64_t)s_live_jobs(s) < s->cfg->max_jobs;
}

/* Adds (or joins) the job for unit (f, u) over iv on behalf of r. */
static void s_add_job(scheduler *s, sreq *r, swf *w, size_t f, size_t u, hs_interval iv)
{
    char id[48];
    s_job_id(w, f, u, iv, id);
    sjob *j = s_job_find(s, id);
    if (j != NULL && j->unit != u) {
        /* The same work under another index (the workflow was expanded again). */
        if (jobtab_set_unit(s->jt, &j->t, w->wf->id, u) != HS_OK) {
            r->unplanned++; /* planned again when jobs end (s_refill) */
            return;
        }
        j->unit = u;
    }
    if (j != NULL) {
        if (s_job_state(j) == J_FAILED && !s->replanning) {
            /* A new request retries a job that failed before (not a request planned again). */
            jobtab_set_state(s->jt, &j->t, J_PENDING, 0);
            j->attempt = 0;
        } else if (s_job_state(j) == J_DONE && w->units[f][u].nsinks > 0) {
            /* Planned although done: its interval was reopened since (late data). Plate
             * creation (no sinks) is always planned: done is done. */
            s_set_state(s, j, J_PENDING);
            j->attempt = 0;
        }
        s_attach(j, r);
        return;
    }
    if (!s_has_room(s)) {
        r->unplanned++; /* planned again when jobs end (s_refill) */
        return;
    }
    j = hs_calloc(1, sizeof *j);
    if (j == NULL)
        return;
    if (jobtab_add(s->jt, &j->t, id, w->wf->id, f, u, iv) != HS_OK) {
        hs_free(j);
        return;
    }
    snprintf(j->id, sizeof j->id, "%s", id);
    j->w = w;
    j->factor = f;
    j->unit = u;
    j->iv = iv;
    j->created = hs_time_mono_us();
    s_attach(j, r);
}

/* The planner's view of w. */
static planner_wf s_planner_wf(const swf *w)
{
    planner_wf pw = {w->wf, w->units, w->nunits, &w->producer};
    return pw;
}

typedef struct s_planctx {
    scheduler *s;
    swf *w;
} s_planctx;

static const hs_intervals *s_plan_calculated(void *ud, const char *sid)
{
    s_planctx *c = ud;
    return s_calc(c->s, sid);
}

static int s_plan_under_way(void *ud, size_t f, size_t u, planner_busy_list *out)
{
    s_planctx *c = ud;
    for (jobtab_job *t = jobtab_unit_first(c->s->jt, c->w->wf->id, f, u); t != NULL;
         t = jobtab_unit_next(t)) {
        sjob *j = s_job_of(t);
        if (j->w != c->w || !s_job_live(j))
            continue;
        int rc = planner_busy_push(out, j->iv, j);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

/*
 * Plans request r: works out what every unit needs and adds jobs for the
 * parts not calculated and not already under way (planner.c). Safe to call again.
 */
static int s_plan(scheduler *s, sreq *r)
{
    swf *w = r->w;
    planner_wf pw = s_planner_wf(w);
    s_planctx ctx = {s, w};
    planner_ops ops = {s_plan_calculated, s_plan_under_way, &ctx};
    planner_out out;
    planner_out_init(&out);
    int64_t span = w->wf->job_span_us > 0 ? w->wf->job_span_us : s->cfg->job_span_us;
    int rc = planner_plan(&pw, r->iv, span, &ops, &out);
    r->unplanned = 0; /* counted again by s_add_job */
    for (size_t i = 0; i < out.n; i++) {
        const planner_job *pj = &out.v[i];
        if (pj->join)
            s_attach(pj->job, r);
        else
            s_add_job(s, r, w, pj->factor, pj->unit, pj->iv);
    }
    planner_out_free(&out);
    return rc;
}

/*
 * The jobs a request of w over iv would wait for (new ones and jobs under
 * way it would join) into *n, planning nothing. HS_OK or the planner's error.
 */
static int s_plan_count(scheduler *s, swf *w, hs_interval iv, size_t *n)
{
    planner_wf pw = s_planner_wf(w);
    s_planctx ctx = {s, w};
    planner_ops ops = {s_plan_calculated, s_plan_under_way, &ctx};
    planner_out out;
    planner_out_init(&out);
    int64_t span = w->wf->job_span_us > 0 ? w->wf->job_span_us : s->cfg->job_span_us;
    int rc = planner_plan(&pw, iv, span, &ops, &out);
    *n = out.n;
    planner_out_free(&out);
    return rc;
}

/* Whether a job of unit (f, u) of w is under way over part of range. */
static bool s_unit_busy(scheduler *s, const swf *w, size_t f, size_t u, hs_interval range)
{
    for (jobtab_job *t = jobtab_unit_first(s->jt, w->wf->id, f, u); t != NULL;
         t = jobtab_unit_next(t)) {
        sjob *p = s_job_of(t);
        if (p->w == w && s_job_live(p) && p->iv.start < range.end && range.start < p->iv.end)
            return true;
    }
    return false;
}

/* A failed job of unit (f, u) of w over part of range, or NULL. */
static const sjob *s_unit_failed(scheduler *s, const swf *w, size_t f, size_t u, hs_interval range)
{
    for (jobtab_job *t = jobtab_unit_first(s->jt, w->wf->id, f, u); t != NULL;
         t = jobtab_unit_next(t)) {
        const sjob *p = s_job_of(t);
        if (p->w == w && s_job_state(p) == J_FAILED && p->iv.start < range.end &&
            range.start < p->iv.end)
            return p;
    }
    return NULL;
}

/*
 * Whether job j waits for a plate-creation job under way: an aggregate over
 * a plate filled from data knows its sources only once the values created
 * over its read range are committed.
 */
static bool s_waits_for_plate(scheduler *s, sjob *j, hs_interval range)
{
    swf *w = j->w;
    planner_wf pw = s_planner_wf(w);
    for (size_t g = 0; g < w->wf->nfactors; g++) {
        if (w->wf->factors[g].sink != NULL)
            continue;
        for (size_t v = 0; v < w->nunits[g]; v++)
            if (planner_waits_for_plate(&pw, j->factor, j->unit, g, v) &&
                s_unit_busy(s, w, g, v, range))
                return true;
    }
    return false;
}

/* Whether job j's inputs are ready; sets *blocked when they never can be. */
static bool s_ready(scheduler *s, sjob *j, char *why, size_t whylen, bool *blocked)
{
    swf *w = j->w;
    const hs_wf_unit *un = &w->units[j->factor][j->unit];
    hs_interval need = planner_read_range(w->wf, j->factor, j->iv);
    *blocked = false;
    if (s_waits_for_plate(s, j, need))
        return false;
    /* Reads found calculated before are not looked at again (a fleet aggregate has 100,000). */
    size_t k = j->ready_epoch == s->calc_epoch + 1 ? j->ready_k : 0;
    for (; k < un->nsources + 2; k++) {
        const hs_streamid *src = k < un->nsources    ? un->sources[k]
                                 : k == un->nsources ? un->alignment
                                                     : un->splitting;
        size_t pf, pu;
        if (src == NULL || !swf_producer(w, src->canon, &pf, &pu))
            continue; /* an input: read whatever exists */
        hs_intervals *c = s_calc(s, src->canon);
        if (c != NULL && hs_intervals_contains(c, need))
            continue;
        j->ready_k = k;
        j->ready_epoch = s->calc_epoch + 1; /* + 1: a new job's 0 is never current */
        /* Not yet: is a job of the producer under way over the gap? */
        if (s_unit_busy(s, w, pf, pu, need))
            return false;
        *blocked = true;
        const sjob *up = s_unit_failed(s, w, pf, pu, need);
        if (up != NULL)
            snprintf(why, whylen, "upstream job %s failed (input %s is not calculated)", up->id,
                     src->canon);
        else
            snprintf(why, whylen,
                     "input %s is not calculated over the job's range (its job failed?)",
                     src->canon);
        return false;
    }
    j->ready_k = k;
    j->ready_epoch = s->calc_epoch + 1;
    return true;
}

static void s_req_update(scheduler *s, sjob *j, int old_state)
{
    for (size_t i = 0; i < j->nreqs; i++) {
        sreq *r = j->reqs[i];
        if (old_state == J_DONE && r->done > 0)
            r->done--;
        if (old_state == J_FAILED && r->failed > 0)
            r->failed--;
        if (s_job_state(j) == J_DONE) {
            r->done++;
            r->instances += j->count;
        } else if (s_job_state(j) == J_FAILED) {
            r->failed++;
        }
        s_progress(s, r, false);
    }
}

static void s_set_state(scheduler *s, sjob *j, int state)
{
    int old = s_job_state(j);
    if (old == J_DISPATCHED && s->inflight > 0)
        s->inflight--;
    /* Leaving the dispatched state ends running alone (the table clears it). */
    jobtab_set_state(s->jt, &j->t, state, j->deadline);
    if (state == J_DISPATCHED)
        s->inflight++;
    if (state == J_DONE || state == J_FAILED)
        s_forget_later(s, j);
    if (state == J_DONE || state == J_FAILED || old == J_DONE || old == J_FAILED)
        s_req_update(s, j, old);
}

/*
 * The job message of j. Strings are borrowed from the workflow; the sources
 * and sinks arrays are the scheduler's, valid until the next call.
 */
static int s_job_msg(scheduler *s, const sjob *j, hs_proto_job *m)
{
    const swf *w = j->w;
    const hs_wf_factor *fa = &w->wf->factors[j->factor];
    const hs_wf_unit *un = &w->units[j->factor][j->unit];
    int64_t back = fa->lookback_us;
    int64_t from = j->iv.start - back < HS_TIME_MIN - 1 ? HS_TIME_MIN - 1 : j->iv.start - back;
    if (hs_grow(&s->msg_src, &s->cap_msg_src, un->nsources + 1, sizeof *s->msg_src, 8) != HS_OK ||
        hs_grow(&s->msg_sinks, &s->cap_msg_sinks, un->nsinks + 1, sizeof *s->msg_sinks, 8) != HS_OK)
        return HS_ERR_NOMEM;
    for (size_t k = 0; k < un->nsources; k++)
        s->msg_src[k] = (hs_proto_source){un->sources[k]->canon, from, j->iv.end};
    for (size_t k = 0; k < un->nsinks; k++)
        s->msg_sinks[k] = un->sinks[k]->canon;
    size_t nm = swf_unit_size(w, j->factor, j->unit);
    if (nm > 1) {
        if (hs_grow(&s->msg_units, &s->cap_msg_units, nm, sizeof *s->msg_units, 8) != HS_OK)
            return HS_ERR_NOMEM;
        const hs_wf_unit *mem = &w->members[j->factor][w->first[j->factor][j->unit]];
        for (size_t i = 0; i < nm; i++)
            s->msg_units[i] =
                (hs_proto_unit){mem[i].pv.text, (uint32_t)mem[i].nsources, (uint32_t)mem[i].nsinks};
    }
    *m = (hs_proto_job){
        .job = j->id,
        .attempt = (uint64_t)j->attempt,
        .workflow = w->wf->id,
        .factor = (uint32_t)j->factor,
        .pv = un->pv.text,
        .tool = fa->tool,
        .version = fa->version ? fa->version : fa->def->version,
        .params = fa->params,
        .params_len = fa->params_len,
        .binding = fa->hash,
        .interval = j->iv,
        .sources = s->msg_src,
        .nsources = un->nsources,
        .alignment = un->alignment ? un->alignment->canon : NULL,
        .splitting = un->splitting ? un->splitting->canon : NULL,
        .sinks = s->msg_sinks,
        .nsinks = un->nsinks,
        .output_meta = un->output_meta,
        .request = j->nreqs > 0 ? j->reqs[0]->id : NULL,
        .output_plate = fa->output_plate,
        .trigger = j->nreqs > 0 ? j->reqs[0]->trigger : HS_TRIGGER_REQUEST,
        .wseq = s->wseq,
        .units = nm > 1 ? s->msg_units : NULL,
        .nunits = nm > 1 ? nm : 0,
    };
    return HS_OK;
}

static int s_dispatch(scheduler *s, sjob *j)
{
    const hs_wf_factor *fa = &j->w->wf->factors[j->factor];
    hs_proto_job m;
    hs_buf_reset(&s->msg);
    int rc = s_job_msg(s, j, &m);
    if (rc == HS_OK)
        rc = hs_proto_job_encode(&s->msg, &m);
    if (rc != HS_OK) {
        hs_error(s->log, "cannot encode job %s: %s", j->id, hs_err_detail());
        return rc;
    }
    hs_service_topic(s->svc, &s->topic, "exec/%s", fa->tool);
    rc = hs_mqtt_publish(s->mqtt, hs_buf_cstr(&s->topic), s->msg.data, s->msg.len, 1, false, 5000);
    if (rc != HS_OK) {
        hs_warn(s->log, "cannot dispatch job %s: %s", j->id, hs_strerror(rc));
        return rc;
    }
    j->attempt++;
    j->dispatched = hs_time_mono_us();
    j->deadline = j->dispatched + s->cfg->job_timeout_us;
    s_set_state(s, j, J_DISPATCHED);
    hs_service_counters_get(s->svc)->msgs_out++;
    return HS_OK;
}

/* Records a job the scheduler gave up on in the history, through the writer. */
static void s_record_failure(scheduler *s, sjob *j, const char *why)
{
    const hs_wf_unit *un = &j->w->units[j->factor][j->unit];
    if (un->nsinks == 0)
        return;
    hs_proto_jobout o = {.parts = 1, .runtime = hs_service_id(s->svc), .error = why};
    hs_buf f;
    hs_buf_init(&f, 0);
    uint32_t n = 0;
    int rc = s_job_msg(s, j, &o.hdr);
    if (rc == HS_OK) {
        o.hdr.output_plate = NULL; /* a plate-creation failure has no sinks: never here */
        o.hdr.request = NULL;
        rc = hs_proto_jobout_encode_fields(&f, &o, &n);
    }
    if (rc == HS_OK)
        (void)s_write(s, HS_OP_JOB, &f, n);
    else
        hs_error(s->log, "cannot record the failure of job %s: %s", j->id, hs_err_detail());
    hs_buf_free(&f);
}

static void s_fail_job(scheduler *s, sjob *j, const char *why, bool record)
{
    char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
    hs_time_format_iso(j->iv.start, a);
    hs_time_format_iso(j->iv.end, b);
    size_t nm = swf_unit_size(j->w, j->factor, j->unit);
    char more[48] = "";
    if (nm > 1)
        snprintf(more, sizeof more, " and %zu more plate values", nm - 1);
    hs_service_mon_at(s->svc, HS_MON_ERROR, &j->iv, "job_failed",
                      "%s job %s (factor %zu %s%s, (%s, %s]): %s", j->w->wf->id, j->id, j->factor,
                      j->w->units[j->factor][j->unit].pv.text, more, a, b, why);
    for (size_t i = 0; i < j->nreqs; i++)
        if (j->reqs[i]->first_error[0] == '\0') /* cut on a character, with an ellipsis */
            hs_utf8_cut(j->reqs[i]->first_error, sizeof j->reqs[i]->first_error, why);
    if (record)
        s_record_failure(s, j, why);
    s_set_state(s, j, J_FAILED);
}

/* Whether some runtime online takes jobs of tool (always true before any runtime was seen). */
static bool s_tool_available(scheduler *s, const char *tool)
{
    if (!s->seen_runtime)
        return true;
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&s->runtimes, &pos)) != NULL) {
        srt *r = e->value;
        if (r->online && (strcmp(r->tools, "all") == 0 || strcmp(r->tools, tool) == 0))
            return true;
    }
    return false;
}

/* The retained status of a service: tool runtimes are tracked. */
static void s_on_status(scheduler *s, const hs_mqtt_msg *m)
{
    const char *id = strrchr(m->topic, '/');
    if (id == NULL || m->len == 0)
        return;
    id++;
    hs_proto_status_msg sm;
    if (hs_proto_status_decode(&sm, (const char *)m->payload, m->len) != HS_OK) {
        hs_warn(s->log, "unreadable status of %s: %s", id, hs_err_detail());
        hs_proto_status_msg_free(&sm);
        return;
    }
    if (strcmp(sm.st.service, "tool") != 0) {
        hs_proto_status_msg_free(&sm);
        return;
    }
    const char *tools = sm.st.tools[0] != '\0' ? sm.st.tools : "all";
    srt *r = hs_map_get(&s->runtimes, id);
    if (r == NULL) {
        r = hs_calloc(1, sizeof *r);
        if (r == NULL || hs_map_put(&s->runtimes, id, r, NULL) != HS_OK) {
            hs_free(r);
            hs_proto_status_msg_free(&sm);
            return;
        }
    }
    hs_free(r->tools);
    r->tools = hs_strdup(tools);
    bool online = sm.st.state == HS_PROTO_ONLINE;
    if (online != r->online || !s->seen_runtime)
        hs_info(s->log, "tool runtime %s (%s) is %s", id, tools,
                online ? "taking jobs" : "not taking jobs");
    r->online = online;
    s->seen_runtime = true;
    hs_proto_status_msg_free(&sm);
}

/* r no longer waits for job j (and drops its reference). */
static void s_detach(sjob *j, sreq *r)
{
    for (size_t i = 0; i < j->nreqs; i++) {
        if (j->reqs[i] != r)
            continue;
        memmove(&j->reqs[i], &j->reqs[i + 1], (j->nreqs - i - 1) * sizeof *j->reqs);
        j->nreqs--;
        if (r->refs > 0)
            r->refs--;
        return;
    }
}

/*
 * Detaches from j the requests that have ended and been released (their own
 * job lists are gone): they hold j only for its counts and no longer wait
 * for it.
 */
static void s_detach_ended(sjob *j)
{
    for (size_t i = j->nreqs; i-- > 0;)
        if (j->reqs[i]->finished && j->reqs[i]->released)
            s_detach(j, j->reqs[i]);
}

/*
 * Removes job j, which no request waits for, from the table and frees it:
 * it is neither done nor failed, and it is not recorded anywhere.
 */
static void s_drop_job(scheduler *s, sjob *j)
{
    if (s_job_state(j) == J_DISPATCHED && s->inflight > 0)
        s->inflight--;
    if (j->forget) {
        for (size_t i = 0; i < s->nforget; i++) {
            if (s->forget[i] == j) {
                s->forget[i] = s->forget[--s->nforget];
                break;
            }
        }
    }
    jobtab_remove(s->jt, &j->t);
    hs_free(j->reqs);
    hs_free(j);
}

/*
 * Cancels request r (why says by what, for its progress and event): it
 * stops waiting for its live jobs; a queued job that no other request waits
 * for is dropped, a dispatched one finishes (its result is true data) and
 * is not dispatched again. Dropped jobs are not failures. r ends in state
 * cancelled (published and stored: it is not resumed after a restart).
 * Adds the jobs dropped, kept for other requests and let finish to the
 * counters given (each may be NULL).
 */
static void s_cancel(scheduler *s, sreq *r, const char *why, size_t *dropped, size_t *shared,
                     size_t *running)
{
    size_t keep = 0, nd = 0, ns = 0, nr = 0;
    for (size_t i = 0; i < r->njobs; i++) {
        sjob *j = r->jobs[i];
        if (!s_job_live(j)) {
            r->jobs[keep++] = j; /* done or failed: kept for its counts */
            continue;
        }
        s_detach(j, r);
        s_detach_ended(j);
        if (s_job_state(j) == J_DISPATCHED) {
            nr++;
        } else if (j->nreqs == 0) {
            s_drop_job(s, j);
            nd++;
        } else {
            ns++;
        }
    }
    r->njobs = keep;
    size_t ended = r->done + r->failed;
    r->dropped = r->total > ended ? r->total - ended : 0;
    r->unplanned = 0;
    r->cancelled = true;
    hs_utf8_cut(r->cancel_why, sizeof r->cancel_why, why);
    if (dropped != NULL)
        *dropped += nd;
    if (shared != NULL)
        *shared += ns;
    if (running != NULL)
        *running += nr;
    s_progress(s, r, true);
}

/*
 * Removing workflow w: its requests under way are cancelled (one event
 * each), the queued jobs nobody else waits for dropped, the dispatched
 * ones let finish; one log line says how many.
 */
static void s_cancel_wf(scheduler *s, swf *w)
{
    size_t nreq = 0, dropped = 0, running = 0;
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&s->reqs, &pos)) != NULL) {
        sreq *r = e->value;
        if (r->w != w || r->finished)
            continue;
        s_cancel(s, r, "the workflow was removed", &dropped, NULL, NULL);
        nreq++;
    }
    /* Jobs of w that no request waits for any more. */
    jobtab_job *t = jobtab_live_first(s->jt);
    while (t != NULL) {
        jobtab_job *next = jobtab_next(t);
        sjob *j = s_job_of(t);
        if (j->w == w && s_job_state(j) == J_DISPATCHED) {
            running++;
        } else if (j->w == w && (s_detach_ended(j), j->nreqs == 0)) {
            s_drop_job(s, j);
            dropped++;
        }
        t = next;
    }
    hs_info(s->log,
            "workflow %s removed: %zu requests cancelled, %zu queued jobs dropped, %zu running "
            "jobs let finish (its streams are kept)",
            w->wf->id, nreq, dropped, running);
}

/* Fails every job under way of workflow w. */
static void s_fail_wf_jobs(scheduler *s, swf *w, const char *why)
{
    jobtab_job *t = jobtab_live_first(s->jt);
    while (t != NULL) {
        jobtab_job *next = jobtab_next(t);
        if (s_job_of(t)->w == w)
            s_fail_job(s, s_job_of(t), why, false);
        t = next;
    }
}

/* Jobs of workflow old now belong to w (its replacement; same id). */
static void s_repoint_jobs(scheduler *s, const swf *old, swf *w)
{
    for (jobtab_job *t = jobtab_live_first(s->jt); t != NULL; t = jobtab_next(t))
        if (s_job_of(t)->w == old)
            s_job_of(t)->w = w;
    for (int st = J_DONE; st < JOBTAB_NSTATES; st++)
        for (jobtab_job *t = jobtab_state_first(s->jt, st); t != NULL; t = jobtab_next(t))
            if (s_job_of(t)->w == old)
                s_job_of(t)->w = w;
}

/* Frees every job (the scheduler stops). */
static void s_free_jobs(scheduler *s)
{
    if (s->jt == NULL)
        return;
    for (int st = J_DISPATCHED; st < JOBTAB_NSTATES; st++) {
        jobtab_job *t;
        while ((t = st == J_DISPATCHED ? jobtab_live_first(s->jt)
                                       : jobtab_state_first(s->jt, st)) != NULL) {
            sjob *j = s_job_of(t);
            jobtab_remove(s->jt, t);
            hs_free(j->reqs);
            hs_free(j);
        }
    }
}

/* Forgets the offered jobs that have ended and whose requests have all ended and been released. */
static void s_forget_jobs(scheduler *s)
{
    for (size_t i = 0; i < s->nforget; i++) {
        sjob *j = s->forget[i];
        j->forget = false;
        bool keep = s_job_live(j);
        for (size_t k = 0; !keep && k < j->nreqs; k++)
            keep = !j->reqs[k]->finished || !j->reqs[k]->released;
        if (keep)
            continue; /* offered again when it ends or when its requests are released */
        for (size_t k = 0; k < j->nreqs; k++)
            if (j->reqs[k]->refs > 0)
                j->reqs[k]->refs--;
        jobtab_remove(s->jt, &j->t);
        hs_free(j->reqs);
        hs_free(j);
    }
    s->nforget = 0;
}

/*
 * The jobs this round found blocked: their requests are planned again (each
 * once), then a job still blocked fails with the reason.
 */
static void s_unblock(scheduler *s)
{
    size_t nreq = 0;
    for (size_t i = 0; i < s->nblocked; i++) {
        sjob *j = s->blocked[i];
        for (size_t k = 0; k < j->nreqs; k++) {
            sreq *r = j->reqs[k];
            bool listed = r->finished;
            for (size_t x = 0; x < nreq && !listed; x++)
                listed = s->replan[x] == r;
            if (!listed &&
                hs_grow(&s->replan, &s->capreplan, nreq + 1, sizeof *s->replan, 16) == HS_OK)
                s->replan[nreq++] = r;
        }
    }
    s->replanning = true;
    for (size_t k = 0; k < nreq; k++) {
        size_t before = s->replan[k]->total;
        (void)s_plan(s, s->replan[k]);
        if (s->replan[k]->total > before)
            hs_info(s->log, "request %s planned again (an input was reopened): %zu more jobs",
                    s->replan[k]->id, s->replan[k]->total - before);
    }
    s->replanning = false;
    for (size_t i = 0; i < s->nblocked; i++) {
        sjob *j = s->blocked[i];
        char why[600];
        bool blocked;
        if (s_job_state(j) == J_PENDING && !s_ready(s, j, why, sizeof why, &blocked) && blocked)
            s_fail_job(s, j, why, true); /* in the history too: counted as failed */
    }
    s->nblocked = 0;
}

/* Dispatches what is ready, retries what timed out, fails what cannot run. */
static void s_pump(scheduler *s)
{
    int64_t now = hs_time_mono_us();
    jobtab_job *t;
    while ((t = jobtab_expired(s->jt, now)) != NULL) {
        sjob *j = s_job_of(t);
        if (j->nreqs == 0) {
            /* Its requests were cancelled: it is not dispatched again. */
            s_drop_job(s, j);
            continue;
        }
        if (j->attempt >= s->cfg->max_attempts) {
            char why[200];
            snprintf(why, sizeof why, "no commit after %d dispatches of %llds each", j->attempt,
                     (long long)(s->cfg->job_timeout_us / HS_US_PER_S));
            s_fail_job(s, j, why, true);
        } else {
            hs_warn(s->log, "job %s timed out (attempt %d); dispatching it again", j->id,
                    j->attempt);
            s_set_state(s, j, J_PENDING);
        }
    }
    bool paused = hs_service_paused(s->svc);
    hs_service_set_idle(s->svc, s->inflight == 0);
    /* Jobs carry the writer's newest commit: wait for it (announced retained) a little. */
    if (s->wseq.epoch == 0 && now - s->started_mono < 5 * HS_US_PER_S)
        paused = true;
    /*
     * A job that timed out may have killed or hung its runtime, and with it
     * every job the runtime held, which time out too. So that such a job
     * cannot use up the attempts of the others, a job's last attempt after
     * a timeout runs alone: nothing else is dispatched until what runs has
     * finished, then nothing else while it runs (jobtab_admit and
     * jobtab_may_dispatch).
     */
    jobtab_iter it;
    for (t = paused ? NULL : jobtab_queue_first(s->jt, &it);
         t != NULL && jobtab_may_dispatch(s->jt, s->cfg->max_inflight);
         t = jobtab_queue_next(&it)) {
        sjob *j = s_job_of(t);
        char why[600];
        bool blocked;
        if (!s_tool_available(s, j->w->wf->factors[j->factor].tool))
            continue; /* no runtime takes this tool's jobs now: they wait */
        if (!s_ready(s, j, why, sizeof why, &blocked)) {
            /*
             * An input that is not calculated and that nothing computes:
             * late data may have reopened it. The job's requests are planned
             * again after this round (which adds the input's jobs); the job
             * fails only if that gives its input nothing to compute it.
             */
            if (blocked && hs_grow(&s->blocked, &s->capblocked, s->nblocked + 1, sizeof *s->blocked,
                                   16) == HS_OK)
                s->blocked[s->nblocked++] = j;
            else if (blocked)
                s_fail_job(s, j, why, true); /* in the history too: counted as failed */
            continue;
        }
        enum jobtab_verdict v = jobtab_admit(s->jt, j->attempt, s->cfg->max_attempts);
        if (v == JOBTAB_STOP)
            break;
        if (v == JOBTAB_GO_ALONE) {
            if (s_dispatch(s, j) == HS_OK)
                jobtab_set_alone(s->jt, &j->t);
            break;
        }
        if (s_dispatch(s, j) != HS_OK)
            break;
    }
    s_unblock(s);
    /* Forget finished jobs whose requests are all finished. */
    s_forget_jobs(s);
}

/* ------------------------------------------------------------------ requests */

/*
 * Opens the session of offline request r (same id): the stored one when it
 * is an active request session (r resumes after a restart), else a new one.
 */
static void s_session_open_request(scheduler *s, sreq *r)
{
    hs_buf doc;
    hs_buf_init(&doc, 0);
    hs_proto_session_doc_msg m;
    bool resumed = false;
    if (hs_store_doc_get(s->store, "sessions", r->id, &doc) == HS_OK) {
        if (hs_proto_session_doc_decode(&m, (const char *)doc.data, doc.len) == HS_OK &&
            m.d.active && m.d.kind == HS_SESSION_REQUEST && strcmp(m.d.workflow, r->w->wf->id) == 0)
            resumed = session_from_doc(&r->sess, &m.d) == HS_OK;
        hs_proto_session_doc_msg_free(&m);
    }
    hs_buf_free(&doc);
    if (!resumed &&
        session_open(&r->sess, r->id, r->w->wf->id, HS_SESSION_REQUEST, hs_time_now_us()) != HS_OK)
        hs_error(s->log, "cannot open the session of request %s: %s", r->id, hs_err_detail());
}

/* Opens a new session of online workflow w (closing none: see s_session_close_online). */
static void s_session_open_online(scheduler *s, swf *w)
{
    char id[64];
    int64_t now = hs_time_now_us();
    snprintf(id, sizeof id, "s-%" PRId64 "-%" PRIu64, now / 1000, ++s->req_counter);
    session *x = hs_calloc(1, sizeof *x);
    if (x == NULL || session_open(x, id, w->wf->id, HS_SESSION_ONLINE, now) != HS_OK) {
        hs_error(s->log, "cannot open a session of online workflow %s: %s", w->wf->id,
                 x == NULL ? "out of memory" : hs_err_detail());
        hs_free(x);
        return;
    }
    w->sess = x;
    s_session_put(s, x);
}

/* Closes the session of online workflow w (removed or replaced), if it has one. */
static void s_session_close_online(scheduler *s, swf *w)
{
    if (w->sess == NULL)
        return;
    if (session_close(w->sess, session_outcome_of(false, w->sess->failed), hs_time_now_us()) ==
        HS_OK)
        s_session_put(s, w->sess);
    session_free(w->sess);
    hs_free(w->sess);
    w->sess = NULL;
}

/* Request r has ended: its session closes (offline) or takes in the run (online). */
static void s_session_end(scheduler *s, sreq *r)
{
    const char *error = r->first_error[0] != '\0' ? r->first_error : r->cancel_why;
    if (r->online) {
        session *x = r->w->sess;
        if (x == NULL || r->online_sess[0] == '\0' || strcmp(x->id, r->online_sess) != 0)
            return; /* a run of a session closed since */
        if (session_add_run(x, r->iv, r->total, r->done, r->failed, error) == HS_OK)
            s_session_put(s, x);
        return;
    }
    if (r->sess.workflow == NULL)
        return; /* it could not be opened (logged) */
    session_note_error(&r->sess, error);
    if (session_set_jobs(&r->sess, r->iv, r->total, r->done, r->failed) == HS_OK &&
        session_close(&r->sess, session_outcome_of(r->cancelled, r->failed), hs_time_now_us()) ==
            HS_OK)
        s_session_put(s, &r->sess);
}

/* Frees request r and its session. */
static void s_req_free(sreq *r)
{
    session_free(&r->sess);
    hs_free(r->jobs);
    hs_free(r);
}

static void s_req_persist(scheduler *s, sreq *r, hs_proto_req_state state)
{
    if (r->online)
        return;
    hs_proto_request_doc d = {
        .request = r->id,
        .workflow = r->w->wf->id,
        .iv = r->iv,
        .state = state,
        .jobs = r->total,
        .done = r->done,
        .failed = r->failed,
        .instances = r->instances,
        .error = r->first_error[0] != '\0' ? r->first_error : r->cancel_why,
    };
    if (hs_proto_request_doc_encode(&s->scratch, &d) == HS_OK)
        (void)s_doc_put(s, "requests", r->id, hs_buf_cstr(&s->scratch));
    else
        hs_error(s->log, "cannot encode request %s: %s", r->id, hs_err_detail());
}

static int s_plan(scheduler *s, sreq *r);

static void s_progress(scheduler *s, sreq *r, bool force)
{
    int64_t now = hs_time_mono_us();
    bool complete = r->cancelled || (r->done + r->failed >= r->total && r->unplanned == 0);
    /*
     * An offline request whose jobs are all done may still miss a part that
     * late data reopened while it ran: it is planned again (a few times at
     * most) before it counts as done.
     */
    enum { MAX_REPLANS = 8 };
    if (complete && !r->finished && !r->online && !r->cancelled && r->failed == 0 &&
        r->replans < MAX_REPLANS) {
        size_t before = r->total;
        bool was = s->replanning;
        s->replanning = true;
        (void)s_plan(s, r);
        s->replanning = was;
        if (r->total > before) {
            r->replans++;
            complete = false;
        }
        if (r->unplanned > 0)
            complete = false; /* the job table filled meanwhile: s_refill goes on */
    }
    if (!force && !complete && now - r->last_progress < 200 * HS_US_PER_MS)
        return;
    r->last_progress = now;
    hs_proto_req_state state = r->cancelled ? HS_REQ_CANCELLED
                               : complete   ? (r->failed > 0 ? HS_REQ_FAILED : HS_REQ_DONE)
                                            : HS_REQ_RUNNING;
    double el = (double)(now - r->started_mono) / 1e6;
    hs_proto_progress p = {
        .request = r->id,
        .workflow = r->w->wf->id,
        .state = state,
        .jobs_total = r->total,
        .jobs_done = r->done,
        .jobs_failed = r->failed,
        .instances = r->instances,
        .elapsed_s = el,
        .error = r->first_error[0] != '\0' ? r->first_error : r->cancel_why,
        .jobs_dropped = r->dropped,
        .jobs_unplanned = r->unplanned,
    };
    hs_buf t;
    hs_buf_init(&t, 0);
    if (hs_proto_progress_encode(&s->scratch, &p) == HS_OK)
        (void)hs_mqtt_publish(s->mqtt, hs_service_topic(s->svc, &t, "progress/%s", r->id),
                              s->scratch.data, s->scratch.len, 1, false, 1000);
    hs_buf_free(&t);
    if (complete && !r->finished) {
        r->finished = true;
        /* An online run that went well is routine: debug, not published by default. */
        hs_proto_mon_level level = r->failed > 0 ? HS_MON_WARN
                                   : r->online   ? HS_MON_DEBUG
                                                 : HS_MON_INFO;
        if (r->cancelled)
            hs_service_mon_at(s->svc, level, &r->iv, "workflow_end",
                              "%s request %s cancelled (%s): %zu jobs dropped; %zu jobs, %zu done, "
                              "%zu failed, %" PRIu64 " instances, %.3fs",
                              r->w->wf->id, r->id, r->cancel_why, r->dropped, r->total, r->done,
                              r->failed, r->instances, el);
        else
            hs_service_mon_at(s->svc, level, &r->iv, "workflow_end",
                              "%s request %s %s: %zu jobs, %zu failed, %" PRIu64
                              " instances, %.3fs",
                              r->w->wf->id, r->id, hs_proto_req_state_name(state), r->total,
                              r->failed, r->instances, el);
        s_req_persist(s, r, state);
        s_session_end(s, r);
    }
}

static sreq *s_request_as(scheduler *s, swf *w, hs_interval iv, bool online, const char *id,
                          hs_proto_trigger trigger);

static sreq *s_request(scheduler *s, swf *w, hs_interval iv, bool online, const char *id)
{
    return s_request_as(s, w, iv, online, id, online ? HS_TRIGGER_ONLINE : HS_TRIGGER_REQUEST);
}

/* A request over iv of w (online: made by the scheduler itself), planned at once. */
static sreq *s_request_as(scheduler *s, swf *w, hs_interval iv, bool online, const char *id,
                          hs_proto_trigger trigger)
{
    sreq *r = hs_calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    if (id != NULL)
        snprintf(r->id, sizeof r->id, "%s", id);
    else
        snprintf(r->id, sizeof r->id, "%s-%" PRId64 "-%" PRIu64, online ? "o" : "r",
                 hs_time_now_us() / 1000, ++s->req_counter);
    r->w = w;
    r->iv = iv;
    r->online = online;
    r->trigger = trigger;
    r->started_mono = hs_time_mono_us();
    if (hs_map_put(&s->reqs, r->id, r, NULL) != HS_OK) {
        hs_free(r);
        return NULL;
    }
    if (!online) {
        s_session_open_request(s, r);
        s_req_persist(s, r, HS_REQ_RUNNING);
    } else if (w->sess != NULL) {
        snprintf(r->online_sess, sizeof r->online_sess, "%s", w->sess->id);
    }
    int rc = s_plan(s, r);
    if (rc != HS_OK)
        hs_error(s->log, "planning %s failed: %s", r->id, hs_strerror(rc));
    /* A request that planned nothing because the table is full is refused: no start. */
    bool refused = r->total == 0 && r->unplanned > 0;
    /* Its session with what was planned (unless it ended already, or is refused). */
    if (!online && !refused && !r->finished && r->sess.workflow != NULL &&
        session_set_jobs(&r->sess, iv, r->total, r->done, r->failed) == HS_OK)
        s_session_put(s, &r->sess);
    if ((r->total > 0 || !online) && !refused) {
        char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
        hs_time_format_iso(iv.start, a);
        hs_time_format_iso(iv.end, b);
        hs_service_mon_at(s->svc, online ? HS_MON_DEBUG : HS_MON_INFO, &iv, "workflow_start",
                          "%s request %s over (%s, %s]: %zu jobs", w->wf->id, r->id, a, b,
                          r->total);
    }
    return r;
}

/*
 * Requests that could not plan every job (the job table was full: max_jobs)
 * are planned again as jobs end: when the table is at most half full, or
 * when everything planned for them has ended; each at most every 500 ms.
 * Planning is idempotent, so only the parts not calculated and not under
 * way are added.
 */
static void s_refill(scheduler *s)
{
    if (!s_has_room(s))
        return;
    int64_t now = hs_time_mono_us();
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&s->reqs, &pos)) != NULL && s_has_room(s)) {
        sreq *r = e->value;
        if (r->finished || r->unplanned == 0 || now - r->refill_mono < 500 * HS_US_PER_MS)
            continue;
        bool idle = r->done + r->failed >= r->total;
        if (!idle && (int64_t)s_live_jobs(s) > s->cfg->max_jobs / 2)
            continue;
        r->refill_mono = now;
        size_t before = r->total;
        bool was = s->replanning;
        s->replanning = true; /* its failed jobs stay failed */
        int rc = s_plan(s, r);
        s->replanning = was;
        if (rc != HS_OK)
            hs_error(s->log, "planning the rest of %s failed: %s", r->id, hs_strerror(rc));
        if (r->total > before)
            hs_info(s->log, "request %s: %zu more jobs planned, %zu still to plan (max_jobs=%lld)",
                    r->id, r->total - before, r->unplanned, (long long)s->cfg->max_jobs);
        s_progress(s, r, r->total > before);
    }
}

/* Forgets request r that has no job (a compute refused): not stored, not resumed. */
static void s_request_forget(scheduler *s, sreq *r)
{
    if (!r->online) {
        (void)s_doc_del(s, "requests", r->id);
        (void)s_doc_del(s, "sessions", r->id);
    }
    hs_map_remove(&s->reqs, r->id);
    s_req_free(r);
}

/*
 * Releases finished requests (their jobs are offered to be forgotten) and
 * drops those that no job refers to any more.
 */
static void s_reap_requests(scheduler *s)
{
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&s->reqs, &pos)) != NULL) {
        sreq *r = e->value;
        if (!r->finished)
            continue;
        if (!r->released) {
            r->released = true;
            for (size_t i = 0; i < r->njobs; i++)
                s_forget_later(s, r->jobs[i]);
            hs_free(r->jobs);
            r->jobs = NULL;
            r->njobs = r->capjobs = 0;
        }
        if (r->refs == 0) {
            hs_map_remove(&s->reqs, e->key);
            s_req_free(r);
        }
    }
}

/* ------------------------------------------------------------------ notices */

static swf *s_wf(scheduler *s, const char *id)
{
    swf *w = hs_map_get(&s->wfs, id);
    return w != NULL && !w->removed ? w : NULL;
}

/*
 * Finds the unit of factor f that covers plate value pv (any of its
 * members: a job planned before a restart with another job_plate_values
 * names a plate value that may not be the first of a unit now).
 */
/* The unit of factor f whose members [first[u], first[u + 1]) hold member i. */
static bool s_unit_of_member(const swf *w, size_t f, size_t i, size_t *u)
{
    if (f >= w->wf->nfactors || i >= w->nmembers[f] || w->nunits[f] == 0)
        return false;
    size_t lo = 0, hi = w->nunits[f];
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->first[f][mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    *u = lo;
    return true;
}

static bool s_find_unit(const swf *w, size_t f, const char *pv, size_t *u)
{
    if (f >= w->wf->nfactors)
        return false;
    for (size_t i = 0; i < w->nmembers[f]; i++)
        if (strcmp(w->members[f][i].pv.text, pv) == 0)
            return s_unit_of_member(w, f, i, u);
    return false;
}

static void s_replan_workflow(scheduler *s, swf *w)
{
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&s->reqs, &pos)) != NULL) {
        sreq *r = e->value;
        if (r->w == w && !r->finished)
            (void)s_plan(s, r);
    }
}

/* New values of a dynamic plate: expand the workflow, define new sinks, plan for them. */
static void s_plate_values(scheduler *s, swf *w, size_t f, const char *parent_pv,
                           const char *const *vals, size_t n)
{
    const hs_wf_factor *fa = &w->wf->factors[f];
    if (fa->output_plate == NULL || n == 0)
        return;
    /* Jobs refer to units by index: appending values keeps existing indices valid. */
    int rc =
        hs_workflow_add_dynamic(w->wf, fa->output_plate_idx, parent_pv, (char *const *)vals, n);
    if (rc != HS_OK)
        return;
    rc = swf_expand(w);
    if (rc == HS_OK)
        rc = s_define_sinks(s, w, NULL);
    if (rc == HS_OK)
        s_replan_workflow(s, w);
}

/* Learns of a writer commit: the newest one (of the newest writer incarnation) goes into jobs. */
static void s_learn_wseq(scheduler *s, hs_proto_wseq w)
{
    if (w.epoch > s->wseq.epoch || (w.epoch == s->wseq.epoch && w.seq > s->wseq.seq))
        s->wseq = w;
}

static void s_on_wseq(scheduler *s, const hs_mqtt_msg *m)
{
    hs_proto_wseq w;
    if (hs_proto_wseq_decode(m->payload, m->len, &w) == HS_OK)
        s_learn_wseq(s, w);
    else
        hs_service_dead_letter_as(s->svc, hs_err_detail(), m->topic, NULL, HS_PAYLOAD_MSGPACK,
                                  m->payload, m->len);
}

/* Reopened intervals iv of stream sid join the healing of the online workflows producing it. */
static int s_heal_add(scheduler *s, const char *sid, const hs_intervals *iv)
{
    size_t pos = 0, f, u;
    hs_map_entry *e;
    int rc = HS_OK;
    while (rc == HS_OK && (e = hs_map_next(&s->wfs, &pos)) != NULL) {
        swf *w = e->value;
        if (w->removed || !w->wf->online || !swf_producer(w, sid, &f, &u))
            continue;
        for (size_t i = 0; rc == HS_OK && i < iv->n; i++)
            rc = hs_intervals_add(&w->heal, iv->v[i]);
    }
    return rc;
}

/*
 * Reopened intervals (hs/reopened): they are no longer calculated; an online
 * workflow producing the stream computes them again at its next tick.
 */
static void s_on_reopened(scheduler *s, const hs_mqtt_msg *m)
{
    hs_proto_reopened_msg rm;
    if (hs_proto_reopened_decode(&rm, m->payload, m->len) != HS_OK) {
        char reason[600];
        snprintf(reason, sizeof reason, "unreadable reopened notice: %s", hs_err_detail());
        hs_service_dead_letter_as(s->svc, reason, m->topic, NULL, HS_PAYLOAD_MSGPACK, m->payload,
                                  m->len);
        hs_proto_reopened_msg_free(&rm);
        return;
    }
    const hs_proto_reopened *r = &rm.r;
    s_learn_wseq(s, r->wseq);
    hs_intervals cut, rest;
    hs_intervals_init(&cut);
    hs_intervals_init(&rest);
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < r->n; i++)
        rc = hs_intervals_add(&cut, r->intervals[i]);
    hs_intervals *calc = hs_map_get(&s->calc, r->stream);
    if (rc == HS_OK && calc != NULL && hs_intervals_difference(calc, &cut, &rest) == HS_OK) {
        hs_intervals_free(calc);
        *calc = rest;
        hs_intervals_init(&rest);
    }
    s->calc_epoch++;
    if (rc == HS_OK)
        rc = s_heal_add(s, r->stream, &cut);
    if (rc != HS_OK)
        hs_error(s->log, "out of memory taking reopened intervals of %s", r->stream);
    hs_intervals_free(&cut);
    hs_intervals_free(&rest);
    hs_proto_reopened_msg_free(&rm);
}

/* A commit notice from the writer: hs/committed/<workflow>. */
static void s_on_committed(scheduler *s, const hs_mqtt_msg *m)
{
    hs_proto_committed_msg cm;
    if (hs_proto_committed_decode(&cm, m->payload, m->len) != HS_OK) {
        char reason[600];
        snprintf(reason, sizeof reason, "unreadable commit notice: %s", hs_err_detail());
        hs_service_dead_letter_as(s->svc, reason, m->topic, NULL, HS_PAYLOAD_MSGPACK, m->payload,
                                  m->len);
        hs_proto_committed_msg_free(&cm);
        return;
    }
    const hs_proto_committed *c = &cm.c;
    if (c->wseq.epoch != 0)
        s_learn_wseq(s, c->wseq);
    swf *w = s_wf(s, c->workflow);
    size_t fi = c->factor, ui;
    bool ok = c->outcome == HS_OUTCOME_OK;
    sjob *j = s_job_find(s, c->job);
    bool found = false;
    if (j != NULL && j->w == w && fi < w->wf->nfactors && j->factor == fi &&
        j->unit < w->nunits[fi] && strcmp(w->units[fi][j->unit].pv.text, c->pv) == 0) {
        /* The job knows its unit: no search (unless the workflow was replaced under it). */
        ui = j->unit;
        found = true;
    } else if (w != NULL) {
        found = s_find_unit(w, fi, c->pv, &ui);
    }
    if (w != NULL && fi < w->wf->nfactors && found) {
        const hs_wf_unit *un = &w->units[fi][ui];
        /*
         * What is committed is calculated, whoever asked for it, unless the
         * same commit reopened part of it (late data that raced with the
         * job): the store, committed before this notice, says which.
         */
        for (size_t k = 0; ok && k < un->nsinks; k++)
            s_calc_forget(s, un->sinks[k]->canon);
        if (ok && c->has_plate_values)
            s_plate_values(s, w, fi, c->pv, c->plate_values, c->nplate_values);
    }
    j = s_job_find(s, c->job); /* new plate values may have changed the jobs */
    if (j != NULL && s_job_live(j)) {
        j->count = c->count;
        if (s_job_state(j) == J_DISPATCHED)
            hs_service_observe_us(s->svc, hs_time_mono_us() - j->dispatched);
        if (ok)
            s_set_state(s, j, J_DONE);
        else if (c->outcome == HS_OUTCOME_STALE)
            s_fail_job(s, j, c->error[0] ? c->error : "the stream definition changed", false);
        else
            s_fail_job(s, j, c->error[0] ? c->error : "tool error", false);
    }
    hs_proto_committed_msg_free(&cm);
}

/* ------------------------------------------------------------------ the meta-data tree */

static void s_why(hs_buf *why, const char *text, const char *detail);

/* Most tree documents in one docs request. */
#define S_MDOCS_MAX 500

/* Sends the tree documents waiting (one docs request); HS_OK when there are none. */
static int s_meta_flush(scheduler *s)
{
    if (s->nmdocs == 0)
        return HS_OK;
    hs_proto_docs d = {s->mdocs, s->nmdocs};
    hs_buf f;
    hs_buf_init(&f, 0);
    uint32_t n = 0;
    int rc = hs_proto_docs_encode_fields(&f, &d, &n);
    if (rc == HS_OK)
        rc = s_write(s, HS_OP_DOCS, &f, n);
    else
        hs_error(s->log, "cannot encode %zu tree documents: %s", s->nmdocs, hs_err_detail());
    hs_buf_free(&f);
    for (size_t i = 0; i < s->nmdocs; i++) {
        hs_free((char *)s->mdocs[i].key);
        hs_free((char *)s->mdocs[i].json);
    }
    s->nmdocs = 0;
    return rc;
}

/* Queues the tree document of path: stored (json) or deleted (json NULL); sent by s_meta_flush. */
static int s_meta_queue(scheduler *s, const char *path, const char *json)
{
    if (s->nmdocs == S_MDOCS_MAX) {
        int rc = s_meta_flush(s);
        if (rc != HS_OK)
            return rc;
    }
    if (hs_grow(&s->mdocs, &s->capmdocs, s->nmdocs + 1, sizeof *s->mdocs, 64) != HS_OK)
        return HS_ERR_NOMEM;
    hs_proto_doc *d = &s->mdocs[s->nmdocs];
    d->coll = "meta";
    d->key = hs_strdup(path);
    d->json = json != NULL ? hs_strdup(json) : NULL;
    if (d->key == NULL || (json != NULL && d->json == NULL)) {
        hs_free((char *)d->key);
        hs_free((char *)d->json);
        return HS_ERR_NOMEM;
    }
    s->nmdocs++;
    return HS_OK;
}

/* Queues node m to be stored (docs meta/<path>: {"tag", "value", "parent"}). */
static int s_meta_doc_put(scheduler *s, const hs_meta_node *m)
{
    hs_buf *b = &s->scratch;
    hs_buf_reset(b);
    int rc = hs_buf_puts(b, "{\"tag\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(b, m->tag, strlen(m->tag));
    if (rc == HS_OK)
        rc = hs_buf_puts(b, ",\"value\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(b, m->value, strlen(m->value));
    if (rc == HS_OK)
        rc = hs_buf_puts(b, ",\"parent\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(b, m->parent, strlen(m->parent));
    if (rc == HS_OK)
        rc = hs_buf_puts(b, "}");
    return rc == HS_OK ? s_meta_queue(s, m->path, hs_buf_cstr(b)) : rc;
}

/* Inserts the nodes of path missing from the stack's tree and stores each; *added counts them. */
static int s_meta_insert(scheduler *s, const char *path, size_t *added)
{
    /* The nodes inserted are appended to the tree: its last *added. */
    size_t before = hs_meta_count(s->tree);
    int rc = hs_meta_add(s->tree, path, added);
    for (size_t i = before; rc == HS_OK && i < hs_meta_count(s->tree); i++) {
        hs_meta_node m = hs_meta_at(s->tree, i);
        rc = s_meta_doc_put(s, &m);
    }
    return rc;
}

/* Deletes the node at path and its subtree from the tree and the store; *removed counts them. */
static int s_meta_delete(scheduler *s, const char *path, size_t *removed)
{
    *removed = 0;
    size_t len = strlen(path);
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < hs_meta_count(s->tree); i++) {
        hs_meta_node m = hs_meta_at(s->tree, i);
        if (strncmp(m.path, path, len) == 0 && (m.path[len] == '\0' || m.path[len] == '/'))
            rc = s_meta_queue(s, m.path, NULL);
    }
    return rc == HS_OK ? hs_meta_rm(s->tree, path, removed) : rc;
}

static int s_meta_merge(scheduler *s, const hs_meta_tree *src)
{
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < hs_meta_count(src); i++) {
        size_t added;
        rc = s_meta_insert(s, hs_meta_at(src, i).path, &added);
    }
    int frc = s_meta_flush(s);
    return rc != HS_OK ? rc : frc;
}

static int s_meta_load_one(void *ud, const char *key, const char *json)
{
    scheduler *s = ud;
    (void)json;
    if (hs_meta_add(s->tree, key, NULL) != HS_OK)
        hs_warn(s->log, "stored meta-data node '%s' is not a path (%s): skipped", key,
                hs_err_detail());
    return 0;
}

/*
 * Drops the jobs in gone[0..n) (marked gone): their requests stop waiting
 * for them (the counts of requests under way drop them; each request's
 * list and the forget list are compacted once), and each request touched
 * is appended to *touched (each once, r->touched set). A dispatched job
 * finishes in its runtime; its commit notice is then ignored.
 */
static void s_drop_gone(scheduler *s, sjob **gone, size_t n, sreq ***touched, size_t *ntouched,
                        size_t *cap)
{
    for (size_t k = 0; k < n; k++) {
        sjob *j = gone[k];
        for (size_t i = 0; i < j->nreqs; i++) {
            sreq *r = j->reqs[i];
            if (!r->finished) {
                if (s_job_state(j) == J_DONE && r->done > 0)
                    r->done--;
                else if (s_job_state(j) == J_FAILED && r->failed > 0)
                    r->failed--;
                if (r->total > 0)
                    r->total--;
            }
            if (r->refs > 0)
                r->refs--;
            if (!r->touched &&
                hs_grow(touched, cap, *ntouched + 1, sizeof **touched, 16) == HS_OK) {
                r->touched = true;
                (*touched)[(*ntouched)++] = r;
            }
        }
        j->nreqs = 0;
    }
    /* Each touched request's list once. */
    for (size_t i = 0; i < *ntouched; i++) {
        sreq *r = (*touched)[i];
        size_t keep = 0;
        for (size_t x = 0; x < r->njobs; x++)
            if (!r->jobs[x]->gone)
                r->jobs[keep++] = r->jobs[x];
        r->njobs = keep;
    }
    /* The forget list once. */
    size_t keep = 0;
    for (size_t x = 0; x < s->nforget; x++) {
        if (s->forget[x]->gone)
            s->forget[x]->forget = false;
        else
            s->forget[keep++] = s->forget[x];
    }
    s->nforget = keep;
    for (size_t k = 0; k < n; k++)
        s_drop_job(s, gone[k]);
}

/* Whether two members read the same streams (sources, alignment, splitting) into the same sinks. */
static bool s_member_same(const hs_wf_unit *a, const hs_wf_unit *b)
{
    if (a->nsources != b->nsources || a->nsinks != b->nsinks ||
        (a->alignment == NULL) != (b->alignment == NULL) ||
        (a->splitting == NULL) != (b->splitting == NULL))
        return false;
    for (size_t k = 0; k < a->nsources; k++)
        if (strcmp(a->sources[k]->canon, b->sources[k]->canon) != 0)
            return false;
    for (size_t k = 0; k < a->nsinks; k++)
        if (strcmp(a->sinks[k]->canon, b->sinks[k]->canon) != 0)
            return false;
    return (a->alignment == NULL || strcmp(a->alignment->canon, b->alignment->canon) == 0) &&
           (a->splitting == NULL || strcmp(a->splitting->canon, b->splitting->canon) == 0);
}

static void s_need_free(bool **need, size_t nf)
{
    for (size_t f = 0; need != NULL && f < nf; f++)
        hs_free(need[f]);
    hs_free(need);
}

/*
 * Which members of the new expansion next must be defined to the writer:
 * those of plate values w did not have, or that read other streams than
 * before (an aggregate whose children changed). need[f][i]; NULL without
 * memory. Unchanged ones are not sent again: a fleet of 100,000 that gains
 * one device defines its few new sinks, not 100,000.
 */
static bool **s_members_changed(const swf *w, const swf *next)
{
    size_t nf = w->wf->nfactors;
    bool **need = hs_calloc(nf ? nf : 1, sizeof *need);
    bool ok = need != NULL;
    for (size_t f = 0; ok && f < nf; f++) {
        need[f] = hs_calloc(next->nmembers[f] ? next->nmembers[f] : 1, sizeof **need);
        hs_map old;
        hs_map_init(&old);
        ok = need[f] != NULL;
        for (size_t i = 0; ok && i < w->nmembers[f]; i++)
            ok = hs_map_put(&old, w->members[f][i].pv.text, (void *)(uintptr_t)(i + 1), NULL) ==
                 HS_OK;
        for (size_t i = 0; ok && i < next->nmembers[f]; i++) {
            uintptr_t o = (uintptr_t)hs_map_get(&old, next->members[f][i].pv.text);
            need[f][i] = o == 0 || !s_member_same(&w->members[f][o - 1], &next->members[f][i]);
        }
        hs_map_free(&old);
    }
    if (!ok) {
        s_need_free(need, nf);
        return NULL;
    }
    return need;
}

/* A job of w and its unit's first plate value before w is expanded again. */
typedef struct s_moved {
    sjob *j;
    char *pv; /* owned */
} s_moved;

/*
 * Expands w again after the tree changed its plates. The new expansion is
 * built beside the old one: when it cannot be (out of memory, a value
 * whose stream ids do not fit), w keeps the old one and is tried again at
 * the next change. A job moves to the unit that now has its plate value
 * when that unit is the same work (the same job id: a unit of several
 * plate values whose members shifted is not); the others are dropped (a
 * dispatched one finishes: its commit is ignored, its results are kept).
 * Then new sinks are defined, w's requests are planned again and the
 * requests whose jobs went report their progress (they may be complete).
 */
static int s_reexpand(scheduler *s, swf *w)
{
    swf next;
    memset(&next, 0, sizeof next);
    next.wf = w->wf;
    next.group_max = w->group_max;
    next.group_min = w->group_min;
    hs_map_init(&next.producer);
    int rc = swf_expand(&next);
    if (rc != HS_OK) {
        swf_units_free(&next);
        hs_error(s->log,
                 "workflow %s: cannot expand it for the changed meta-data tree (%s): it "
                 "keeps its plate values until the next change",
                 w->wf->id, hs_err_detail());
        return rc;
    }
    s_moved *mv = NULL;
    size_t nmv = 0, cap = 0;
    for (int st = -1; rc == HS_OK && st < JOBTAB_NSTATES; st++) {
        if (st == J_PENDING || st == J_DISPATCHED)
            continue; /* in the live list (st == -1) */
        jobtab_job *t = st < 0 ? jobtab_live_first(s->jt) : jobtab_state_first(s->jt, st);
        for (; rc == HS_OK && t != NULL; t = jobtab_next(t)) {
            sjob *j = s_job_of(t);
            if (j->w != w)
                continue;
            rc = hs_grow(&mv, &cap, nmv + 1, sizeof *mv, 64);
            if (rc != HS_OK)
                break;
            bool known = j->factor < w->wf->nfactors && j->unit < w->nunits[j->factor];
            mv[nmv].j = j;
            mv[nmv].pv = hs_strdup(known ? w->units[j->factor][j->unit].pv.text : "");
            if (mv[nmv++].pv == NULL)
                rc = HS_ERR_NOMEM;
        }
    }
    /* Where each plate value is now: member index by plate value text, per factor. */
    size_t nf = w->wf->nfactors;
    hs_map *at = rc == HS_OK ? hs_calloc(nf ? nf : 1, sizeof *at) : NULL;
    for (size_t f = 0; at != NULL && f < nf; f++) {
        hs_map_init(&at[f]);
        for (size_t i = 0; rc == HS_OK && i < next.nmembers[f]; i++)
            rc = hs_map_put(&at[f], next.members[f][i].pv.text, (void *)(uintptr_t)(i + 1), NULL);
    }
    /* Room to drop every job: nothing can fail once the expansions are swapped. */
    sjob **gone = rc == HS_OK ? hs_calloc(nmv ? nmv : 1, sizeof *gone) : NULL;
    bool **need = rc == HS_OK && gone != NULL ? s_members_changed(w, &next) : NULL;
    if (rc != HS_OK || at == NULL || gone == NULL || need == NULL) {
        for (size_t f = 0; at != NULL && f < nf; f++)
            hs_map_free(&at[f]);
        hs_free(at);
        for (size_t k = 0; k < nmv; k++)
            hs_free(mv[k].pv);
        hs_free(mv);
        hs_free(gone);
        s_need_free(need, nf);
        swf_units_free(&next);
        hs_error(s->log, "workflow %s: out of memory expanding it for the changed meta-data tree",
                 w->wf->id);
        return HS_ERR_NOMEM;
    }
    /* The new expansion replaces the old one. */
    swf_units_free(w);
    w->members = next.members;
    w->nmembers = next.nmembers;
    w->units = next.units;
    w->nunits = next.nunits;
    w->first = next.first;
    w->producer = next.producer;
    w->tree_gen = hs_meta_generation(s->tree);
    size_t ngone = 0, moved = 0;
    for (size_t k = 0; k < nmv; k++) {
        sjob *j = mv[k].j;
        uintptr_t m = j->factor < nf ? (uintptr_t)hs_map_get(&at[j->factor], mv[k].pv) : 0;
        size_t u;
        char id[48];
        bool same = m != 0 && s_unit_of_member(w, j->factor, m - 1, &u) &&
                    (s_job_id(w, j->factor, u, j->iv, id), strcmp(id, j->id) == 0);
        if (same && jobtab_set_unit(s->jt, &j->t, w->wf->id, u) == HS_OK) {
            moved += u != j->unit;
            j->unit = u;
            j->ready_k = 0;
        } else {
            j->gone = true;
            gone[ngone++] = j;
        }
        hs_free(mv[k].pv);
    }
    for (size_t f = 0; f < nf; f++)
        hs_map_free(&at[f]);
    hs_free(at);
    hs_free(mv);
    sreq **touched = NULL;
    size_t ntouched = 0, captouched = 0;
    s_drop_gone(s, gone, ngone, &touched, &ntouched, &captouched);
    hs_free(gone);
    s->calc_epoch++;
    size_t ndef = 0;
    for (size_t f = 0; f < nf; f++)
        for (size_t i = 0; i < w->nmembers[f]; i++)
            ndef += need[f][i];
    rc = s_define_sinks(s, w, need);
    s_need_free(need, nf);
    hs_info(s->log,
            "workflow %s: plates changed with the meta-data tree (%zu plate values new or reading "
            "other streams; %zu jobs moved, %zu jobs dropped: their plate values left the tree or "
            "their unit)",
            w->wf->id, ndef, moved, ngone);
    if (rc == HS_OK)
        s_replan_workflow(s, w);
    for (size_t i = 0; i < ntouched; i++) {
        touched[i]->touched = false;
        if (!touched[i]->finished)
            s_progress(s, touched[i], true);
    }
    hs_free(touched);
    return rc;
}

/* Expands again every workflow whose plates select from a tree changed since; how many. */
static size_t s_tree_apply(scheduler *s)
{
    unsigned long gen = hs_meta_generation(s->tree);
    size_t n = 0, pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&s->wfs, &pos)) != NULL) {
        swf *w = e->value;
        if (w->removed || w->tree_gen == gen)
            continue;
        if (!hs_workflow_uses_tree(w->wf)) {
            w->tree_gen = gen;
            continue;
        }
        if (s_reexpand(s, w) != HS_OK)
            hs_error(s->log, "workflow %s: cannot expand it again: %s", w->wf->id, hs_err_detail());
        n++;
    }
    return n;
}

/* Growth from data: one stored raw stream of a growing plate's input. */
typedef struct s_growctx {
    scheduler *s;
    const swf *w;
    size_t added;
    int rc;
} s_growctx;

static int s_grow_one(void *ud, const hs_stream_info *info)
{
    s_growctx *c = ud;
    if (info->kind != HS_STREAM_RAW)
        return 0;
    hs_streamid *sid;
    if (hs_streamid_parse(info->id, strlen(info->id), &sid) != HS_OK)
        return 0;
    char path[2048];
    if (hs_workflow_grow_path(c->w->wf, sid, path, sizeof path) && !hs_meta_has(c->s->tree, path)) {
        size_t n;
        c->rc = s_meta_insert(c->s, path, &n);
        c->added += n;
    }
    hs_streamid_destroy(sid);
    return c->rc == HS_OK ? 0 : 1;
}

/*
 * Growth from data (plates with grow: from_data): the raw streams stored
 * for w's inputs on such plates add their plate values to the tree, and the
 * workflows that select from it are expanded again. Called before w plans:
 * when it is added, computed or runs online.
 */
static void s_grow(scheduler *s, swf *w)
{
    const char *names[64];
    size_t n = hs_workflow_grow_inputs(w->wf, names, 64);
    s_growctx c = {s, w, 0, HS_OK};
    hs_buf prefix;
    hs_buf_init(&prefix, 0);
    for (size_t i = 0; i < n && c.rc == HS_OK; i++) {
        hs_buf_reset(&prefix);
        if (hs_buf_printf(&prefix, "%s/", names[i]) == HS_OK)
            (void)hs_store_stream_list(s->store, hs_buf_cstr(&prefix), s_grow_one, &c);
    }
    hs_buf_free(&prefix);
    if (c.rc == HS_OK)
        c.rc = s_meta_flush(s);
    if (c.rc != HS_OK)
        hs_warn(s->log, "workflow %s: growth from data stopped: %s", w->wf->id, hs_err_detail());
    if (c.added == 0)
        return;
    hs_info(s->log, "workflow %s: raw data added %zu meta-data tree nodes", w->wf->id, c.added);
    (void)s_tree_apply(s);
}

static int s_api_meta(void *ud, bool add, const char *const *paths, size_t npaths, uint64_t *nodes,
                      uint64_t *workflows, hs_buf *why)
{
    scheduler *s = ud;
    *nodes = 0;
    *workflows = 0;
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < npaths; i++) {
        size_t n = 0;
        rc = add ? s_meta_insert(s, paths[i], &n) : s_meta_delete(s, paths[i], &n);
        *nodes += n;
    }
    int frc = s_meta_flush(s);
    rc = rc != HS_OK ? rc : frc;
    if (rc == HS_OK)
        rc = hs_wclient_flush(s->wc, 30000);
    if (rc != HS_OK) {
        s_why(why, "the writer did not store the meta-data tree: ", hs_err_detail());
        (void)s_tree_apply(s); /* what changed in memory applies all the same */
        return rc;
    }
    *workflows = s_tree_apply(s);
    hs_info(s->log, "meta-data tree: %" PRIu64 " nodes %s, %" PRIu64 " workflows changed", *nodes,
            add ? "inserted" : "deleted", *workflows);
    return HS_OK;
}

/* ------------------------------------------------------------------ workflows: add/remove */

static int s_meta_merge(scheduler *s, const hs_meta_tree *src);

/*
 * Parses a stored or submitted definition into a scheduler workflow whose
 * plates select from the stack's tree; merge: a definition being added,
 * whose meta: block goes into the tree first.
 */
static int s_load_wf(scheduler *s, const char *text, size_t len, const char *filename, bool merge,
                     swf **out, hs_buf *errors)
{
    *out = NULL;
    swf *w = hs_calloc(1, sizeof *w);
    if (w == NULL)
        return HS_ERR_NOMEM;
    hs_map_init(&w->producer);
    int rc = hs_workflow_parse(text, len, filename, s->tools, &w->wf, errors);
    if (rc != HS_OK) {
        hs_free(w);
        return rc;
    }
    if (merge && s_meta_merge(s, w->wf->meta) != HS_OK)
        hs_warn(s->log, "workflow %s: its meta: block could not all be stored: %s", w->wf->id,
                hs_err_detail());
    hs_workflow_set_tree(w->wf, s->tree);
    w->tree_gen = hs_meta_generation(s->tree);
    /* Dynamic plate values created earlier. */
    for (size_t p = 0; p < w->wf->nplates; p++) {
        if (!w->wf->plates[p].dynamic)
            continue;
        char key[600];
        snprintf(key, sizeof key, "%s/%s", w->wf->id, w->wf->plates[p].id);
        hs_buf doc, mp;
        hs_buf_init(&doc, 0);
        hs_buf_init(&mp, 0);
        if (hs_store_doc_get(s->store, "plate_values", key, &doc) == HS_OK &&
            hs_json_to_mpack((const char *)doc.data, doc.len, &mp) == HS_OK) {
            hs_arena a;
            hs_arena_init(&a, 0, 0);
            hs_value *v;
            if (hs_value_decode(&a, mp.data, mp.len, &v) == HS_OK) {
                const hs_value *vals = hs_value_map_get(v, "values", 6);
                for (uint32_t i = 0; vals && vals->type == HS_V_MAP && i < vals->len; i++) {
                    const hs_value *k = &vals->u.items[2 * i], *l = &vals->u.items[2 * i + 1];
                    if (l->type != HS_V_ARRAY)
                        continue;
                    char parent[1100];
                    snprintf(parent, sizeof parent, "%.*s", (int)k->len, k->u.s);
                    for (uint32_t x = 0; x < l->len; x++) {
                        if (l->u.items[x].type != HS_V_STR)
                            continue;
                        char val[300];
                        snprintf(val, sizeof val, "%.*s", (int)l->u.items[x].len,
                                 l->u.items[x].u.s);
                        char *one = val;
                        (void)hs_workflow_add_dynamic(w->wf, (int)p, parent, &one, 1);
                    }
                }
            }
            hs_arena_free(&a);
        }
        hs_buf_free(&doc);
        hs_buf_free(&mp);
    }
    w->group_max = s->cfg->job_plate_values > 1 ? (size_t)s->cfg->job_plate_values : 1;
    w->group_min = s->cfg->job_group_min > 0 ? (size_t)s->cfg->job_group_min : 0;
    rc = swf_expand(w);
    if (rc != HS_OK) {
        swf_free(w);
        return rc;
    }
    *out = w;
    return HS_OK;
}

/* ------------------------------------------------------------------ input schemas */

/*
 * Publishes the input schemas (docs/SCHEMAS.md) of workflow id for ingest,
 * retained on <prefix>/schemas/<id>: the message of wf's schemas, or, with
 * wf NULL or without schemas, an empty retained payload that clears them.
 * A failure is logged: ingest then keeps what it had.
 */
static void s_schemas_publish(scheduler *s, const char *id, const hs_workflow *wf)
{
    hs_buf topic, msg;
    hs_buf_init(&topic, 0);
    hs_buf_init(&msg, 0);
    int rc = HS_OK;
    if (wf != NULL && wf->nschemas > 0) {
        hs_proto_schemas_msg m;
        rc = hs_proto_schemas_from_list(&m, id, wf->schemas_mp, wf->schemas_len);
        if (rc == HS_OK)
            rc = hs_proto_schemas_encode(&msg, &m.s);
        hs_proto_schemas_msg_free(&m);
    }
    const char *t = hs_service_topic(s->svc, &topic, "schemas/%s", id);
    if (rc == HS_OK)
        rc = t[0] != '\0' ? hs_mqtt_publish(s->mqtt, t, msg.data, msg.len, 1, true, 5000)
                          : HS_ERR_NOMEM;
    if (rc != HS_OK) {
        char why[600];
        hs_error(s->log, "cannot publish the input schemas of workflow %s: %s", id,
                 hs_err_describe(rc, why, sizeof why));
    } else if (msg.len > 0) {
        hs_info(s->log, "workflow %s: %zu input schemas published", id, wf->nschemas);
    }
    hs_buf_free(&topic);
    hs_buf_free(&msg);
}

/*
 * A retained <prefix>/schemas/<id> seen on the broker (at start, or echoed
 * after a publish): schemas of a workflow that is not loaded, or that has
 * none, are stale (a clear that could not be published, a workflow removed
 * while the scheduler was down, one published by hand) and are cleared, so
 * that ingest never enforces the schemas of a workflow that is gone.
 */
static void s_on_schemas(scheduler *s, const hs_mqtt_msg *m, const char *id)
{
    if (m->len == 0)
        return; /* a clear */
    const swf *w = s_wf(s, id);
    if (w != NULL && !w->removed && w->wf->nschemas > 0)
        return;
    hs_warn(s->log, "clearing the input schemas of workflow %s on %s: %s", id, m->topic,
            w == NULL || w->removed ? "no such workflow is loaded" : "it has no schemas");
    s_schemas_publish(s, id, NULL);
}

/*
 * After w was installed (replacing a definition that had_schemas or not):
 * publishes its schemas, or clears those of the old definition.
 */
static void s_schemas_installed(scheduler *s, const swf *w, bool had_schemas)
{
    if (w->wf->nschemas > 0 || had_schemas)
        s_schemas_publish(s, w->wf->id, w->wf);
}

/* Installs w (replacing a workflow of the same id) and defines its sinks. */
static int s_install(scheduler *s, swf *w)
{
    swf *old = NULL;
    int rc = hs_map_put(&s->wfs, w->wf->id, w, (void **)&old);
    if (rc != HS_OK)
        return rc;
    bool had_schemas = old != NULL && old->wf->nschemas > 0;
    if (old != NULL) {
        /* Jobs and requests of the old definition end here. */
        s_fail_wf_jobs(s, old, "the workflow was replaced");
        size_t pos = 0;
        hs_map_entry *e;
        while ((e = hs_map_next(&s->reqs, &pos)) != NULL) {
            sreq *r = e->value;
            if (r->w == old) {
                r->w = w; /* keep the request; it is re-planned for the new definition */
            }
        }
        /* Finished jobs stay for their requests' counts; none of them runs again. */
        s_repoint_jobs(s, old, w);
        w->online.last_end_us = old->online.last_end_us;
        s_session_close_online(s, old);
        swf_free(old);
    }
    if (w->wf->online)
        s_session_open_online(s, w);
    s_schemas_installed(s, w, had_schemas);
    /* An online workflow runs at once when installed (w is new: next_run_mono_us is 0). */
    return s_define_sinks(s, w, NULL);
}

/* ------------------------------------------------------------------ API */

/* Sends a reply to an API request on its response topic (none: nothing to do). */
static void s_reply(scheduler *s, const hs_mqtt_msg *req, const hs_proto_api_reply *reply)
{
    if (req->response_topic == NULL)
        return;
    hs_buf b;
    hs_buf_init(&b, 0);
    if (hs_proto_api_reply_encode(&b, reply) != HS_OK) {
        hs_error(s->log, "cannot encode an API reply: %s", hs_err_detail());
    } else {
        hs_mqtt_pub_props p = {NULL, req->correlation, req->correlation_len};
        (void)hs_mqtt_publish_props(s->mqtt, req->response_topic, b.data, b.len, 1, false, 5000,
                                    &p);
    }
    hs_buf_free(&b);
}

static void s_reply_error(scheduler *s, const hs_mqtt_msg *req, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_reply_error(scheduler *s, const hs_mqtt_msg *req, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hs_strvfmt(fmt, ap);
    va_end(ap);
    hs_proto_api_reply r = {.ok = false, .error = msg != NULL ? msg : "out of memory"};
    s_reply(s, req, &r);
    hs_free(msg);
}

/*
 * Stores a parsed workflow (its definition text as given) through the writer
 * and installs it. Takes w.
 */
static int s_add_workflow(scheduler *s, swf *w, const char *text, size_t len, const char *filename)
{
    char now[HS_TIME_ISO_MAX];
    hs_time_format_iso(hs_time_now_us(), now);
    char *copy = hs_strndup(text, len);
    hs_buf doc;
    hs_buf_init(&doc, 0);
    hs_proto_workflow_doc d = {w->wf->id, filename, now, copy};
    int rc = copy != NULL ? hs_proto_workflow_doc_encode(&doc, &d) : HS_ERR_NOMEM;
    if (rc == HS_OK)
        rc = s_doc_put(s, "workflows", w->wf->id, hs_buf_cstr(&doc));
    if (rc == HS_OK)
        rc = s_install(s, w);
    else
        swf_free(w);
    hs_free(copy);
    hs_buf_free(&doc);
    return rc;
}

/* Reads a whole file into out; false when it cannot be read. */
static bool s_read_file(const char *path, hs_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    char buf[65536];
    size_t n;
    bool ok = true;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (hs_buf_append(out, buf, n) != HS_OK) {
            ok = false;
            break;
        }
    fclose(f);
    return ok;
}

static int s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Adds every workflow file of workflows_dir, in name order: a stored
 * workflow of the same id is replaced only when its definition differs; a
 * file that does not parse is logged and skipped.
 */
static int s_load_dir(scheduler *s, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return hs_err_set(HS_ERR_CONFIG, "workflows_dir %s cannot be read: %s", dir,
                          strerror(errno));
    char *names[1024];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 1024) {
        const char *nm = e->d_name;
        size_t l = strlen(nm);
        bool want = nm[0] != '.' && ((l > 5 && strcmp(nm + l - 5, ".yaml") == 0) ||
                                     (l > 4 && strcmp(nm + l - 4, ".yml") == 0) ||
                                     (l > 5 && strcmp(nm + l - 5, ".json") == 0));
        if (want && (names[n] = hs_strdup(nm)) != NULL)
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], s_name_cmp);
    size_t added = 0, same = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        hs_buf text, errors;
        hs_buf_init(&text, 0);
        hs_buf_init(&errors, 0);
        swf *w = NULL;
        if (!s_read_file(path, &text)) {
            hs_error(s->log, "workflow file %s cannot be read", path);
            bad++;
        } else if (s_load_wf(s, (const char *)text.data, text.len, names[i], true, &w, &errors) !=
                   HS_OK) {
            hs_error(s->log, "workflow file %s is not valid:\n%s", path, hs_buf_cstr(&errors));
            hs_service_mon_at(s->svc, HS_MON_ERROR, NULL, "workflow_invalid", "%s: %s", names[i],
                              hs_buf_cstr(&errors));
            bad++;
        } else {
            swf *old = s_wf(s, w->wf->id);
            if (old != NULL && strcmp(old->wf->text, w->wf->text) == 0) {
                swf_free(w);
                same++;
            } else if (s_add_workflow(s, w, (const char *)text.data, text.len, names[i]) == HS_OK) {
                added++;
            } else {
                bad++;
            }
        }
        hs_buf_free(&text);
        hs_buf_free(&errors);
        hs_free(names[i]);
    }
    hs_info(s->log, "workflows_dir %s: %zu added or replaced, %zu unchanged, %zu with errors", dir,
            added, same, bad);
    (void)s_tree_apply(s);
    return HS_OK;
}

/* Writes text then detail into why, a failed API call's message (left empty if it cannot). */
static void s_why(hs_buf *why, const char *text, const char *detail)
{
    hs_buf_reset(why);
    if (hs_buf_puts(why, text) != HS_OK || hs_buf_puts(why, detail) != HS_OK)
        hs_buf_reset(why);
}

/* api.c callbacks: ud is the scheduler. */

static bool s_api_has_workflow(void *ud, const char *id)
{
    return s_wf(ud, id) != NULL;
}

static int s_api_workflow_add(void *ud, const char *definition, const char *filename,
                              api_added *out, hs_buf *why)
{
    scheduler *s = ud;
    size_t tl = strlen(definition);
    swf *w;
    /* Every problem of the definition goes into why, as the client's message. */
    int rc = s_load_wf(s, definition, tl, filename, true, &w, why);
    if (rc != HS_OK)
        return rc;
    hs_buf_reset(why);
    size_t nfactors = w->wf->nfactors;
    bool online = w->wf->online;
    /* The same definition again changes nothing (and keeps its jobs running). */
    swf *old = s_wf(s, w->wf->id);
    bool unchanged = old != NULL && strcmp(old->wf->text, w->wf->text) == 0;
    if (unchanged) {
        swf_free(w);
        w = old;
    } else {
        /* Store the definition, then define its streams; w is installed or freed. */
        rc = s_add_workflow(s, w, definition, tl, filename);
        if (rc == HS_OK)
            rc = hs_wclient_flush(s->wc, 30000);
        if (rc != HS_OK) {
            s_why(why, "the writer did not store the workflow: ", hs_err_detail());
            return rc;
        }
    }
    hs_info(s->log, "workflow %s %s (%zu factors%s)", w->wf->id, unchanged ? "unchanged" : "added",
            nfactors, online ? ", online" : "");
    /* Its meta: block may have grown the tree that other workflows select from. */
    (void)s_tree_apply(s);
    *out = (api_added){w->wf->id, nfactors, unchanged};
    return HS_OK;
}

static int s_api_workflow_rm(void *ud, const char *id, hs_buf *why)
{
    scheduler *s = ud;
    swf *w = s_wf(s, id);
    if (w == NULL) {
        s_why(why, "no workflow ", id);
        return HS_ERR_NOTFOUND;
    }
    s_cancel_wf(s, w);
    if (w->wf->nschemas > 0)
        s_schemas_publish(s, id, NULL);
    w->removed = true;
    s_session_close_online(s, w);
    (void)s_doc_del(s, "workflows", id);
    (void)s_doc_del(s, "online", id);
    int rc = hs_wclient_flush(s->wc, 30000);
    if (rc != HS_OK) {
        s_why(why, "the writer did not confirm: ", hs_err_detail());
        return rc;
    }
    return HS_OK;
}

typedef struct s_countctx {
    const swf *w;
    hs_interval iv;
    hs_intervals re;
    uint64_t n;
} s_countctx;

static int s_count_one(void *ud, const char *key, const char *json)
{
    s_countctx *c = ud;
    size_t f, u;
    if (!swf_producer(c->w, key, &f, &u) ||
        hs_proto_reopened_doc_decode(json, strlen(json), &c->re) != HS_OK)
        return 0;
    for (size_t i = 0; i < c->re.n; i++)
        c->n += c->re.v[i].start < c->iv.end && c->iv.start < c->re.v[i].end;
    return 0;
}

/*
 * The reopened intervals (docs/reopened) of w's sinks that overlap iv: one
 * pass over the reopened documents (few), not a read per sink (a fleet's
 * workflow has hundreds of thousands).
 */
static uint64_t s_count_reopened(scheduler *s, const swf *w, hs_interval iv)
{
    s_countctx c = {.w = w, .iv = iv};
    hs_intervals_init(&c.re);
    int rc = hs_store_doc_list(s->store, "reopened", "", false, 0, s_count_one, &c);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        hs_warn(s->log, "cannot read the reopened intervals: %s", hs_err_detail());
    hs_intervals_free(&c.re);
    return c.n;
}

static int s_api_compute(void *ud, const char *workflow, hs_interval iv, const char *request,
                         bool dry_run, api_computed *out, hs_buf *why)
{
    scheduler *s = ud;
    swf *w = s_wf(s, workflow);
    if (w == NULL) {
        s_why(why, "no workflow ", workflow);
        return HS_ERR_NOTFOUND;
    }
    s_grow(s, w);
    uint64_t reopened = s_count_reopened(s, w, iv);
    if (dry_run) {
        size_t n = 0;
        int rc = s_plan_count(s, w, iv, &n);
        if (rc != HS_OK) {
            s_why(why, "cannot plan: ", hs_strerror(rc));
            return rc;
        }
        *out = (api_computed){request, n, reopened, 0};
        return HS_OK;
    }
    const sreq *same = request != NULL ? hs_map_get(&s->reqs, request) : NULL;
    if (same != NULL) {
        s_why(why,
              same->finished ? "a request that has just ended has the id "
                             : "a request under way has the id ",
              request);
        if (same->finished)
            (void)hs_buf_puts(why, "; use another id");
        return HS_ERR_EXISTS;
    }
    sreq *r = s_request(s, w, iv, false, request);
    if (r == NULL) {
        s_why(why, "out of memory", "");
        return HS_ERR_NOMEM;
    }
    char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
    hs_time_format_iso(iv.start, a);
    hs_time_format_iso(iv.end, b);
    hs_info(s->log, "request %s: %s over (%s, %s], %zu jobs, %llu reopened intervals", r->id,
            workflow, a, b, r->total, (unsigned long long)reopened);
    if (r->total == 0 && r->unplanned > 0) {
        /* Nothing planned because the job table is full: not "calculated already". */
        hs_buf_reset(why);
        if (hs_buf_printf(why,
                          "no job planned: more than max_jobs=%lld jobs are planned (the jobs of "
                          "requests under way count; try again when they are done)",
                          (long long)s->cfg->max_jobs) != HS_OK)
            hs_buf_reset(why);
        s_request_forget(s, r);
        return HS_ERR_LIMIT;
    }
    *out = (api_computed){r->id, r->total, reopened, r->unplanned};
    return HS_OK;
}

static void s_api_ping(void *ud, api_stats *out)
{
    scheduler *s = ud;
    *out = (api_stats){s->wfs.n, jobtab_count(s->jt, -1), s->inflight};
}

/* The state of a request that is not under way, from the stored document ("" if none). */
static const char *s_stored_state(scheduler *s, const char *id)
{
    const char *state = "";
    hs_buf doc;
    hs_buf_init(&doc, 0);
    hs_proto_request_doc_msg rm;
    if (hs_store_doc_get(s->store, "requests", id, &doc) == HS_OK) {
        if (hs_proto_request_doc_decode(&rm, (const char *)doc.data, doc.len) == HS_OK)
            state = hs_proto_req_state_name(rm.d.state);
        hs_proto_request_doc_msg_free(&rm);
    }
    hs_buf_free(&doc);
    return state; /* a static name */
}

static int s_api_cancel(void *ud, const char *id, api_cancelled *out, hs_buf *why)
{
    scheduler *s = ud;
    sreq *r = hs_map_get(&s->reqs, id);
    hs_buf_reset(why);
    if (r == NULL || r->finished) {
        const char *state = r != NULL ? (r->cancelled    ? "cancelled"
                                         : r->failed > 0 ? "failed"
                                                         : "done")
                                      : s_stored_state(s, id);
        if (state[0] == '\0' || strcmp(state, "running") == 0) {
            if (hs_buf_printf(why, "no request %s under way (hsctl compute prints its id)", id) !=
                HS_OK)
                hs_buf_reset(why);
            return HS_ERR_NOTFOUND;
        }
        if (hs_buf_printf(why, "request %s has ended (%s): nothing to cancel", id, state) != HS_OK)
            hs_buf_reset(why);
        return HS_ERR_STATE;
    }
    if (r->online) {
        if (hs_buf_printf(why,
                          "request %s is a run of online workflow %s: hsctl workflow rm %s stops "
                          "the workflow",
                          id, r->w->wf->id, r->w->wf->id) != HS_OK)
            hs_buf_reset(why);
        return HS_ERR_INVAL;
    }
    size_t dropped = 0, shared = 0, running = 0;
    s_cancel(s, r, "hsctl compute --cancel", &dropped, &shared, &running);
    hs_info(s->log,
            "request %s cancelled: %zu queued jobs dropped, %zu kept for other requests, %zu "
            "running jobs let finish",
            id, dropped, shared, running);
    /* Its state is stored before the reply: a restart does not resume it. */
    int rc = hs_wclient_flush(s->wc, 30000);
    if (rc != HS_OK) {
        s_why(why, "the request is cancelled but the writer did not confirm its state: ",
              hs_err_detail());
        return rc;
    }
    *out = (api_cancelled){dropped, running};
    return HS_OK;
}

/*
 * Requests on <prefix>/api/<id> (schemas/api.json), answered by api.c;
 * replies on the response topic.
 */
static void s_on_api(scheduler *s, const hs_mqtt_msg *m)
{
    hs_proto_api_req_msg am;
    if (hs_proto_api_req_decode(&am, (const char *)m->payload, m->len) != HS_OK) {
        char reason[600];
        snprintf(reason, sizeof reason, "unreadable API request: %s", hs_err_detail());
        s_reply_error(s, m, "%s", reason);
        hs_service_dead_letter_as(s->svc, reason, m->topic, NULL, HS_PAYLOAD_TEXT, m->payload,
                                  m->len);
        hs_proto_api_req_msg_free(&am);
        return;
    }
    api_ops ops = {s_api_has_workflow, s_api_workflow_add, s_api_workflow_rm, s_api_compute,
                   s_api_ping,         s_api_cancel,       s_api_meta,        s};
    api_result res;
    int rc = api_handle(&am.req, &ops, &res);
    s_reply(s, m, &res.reply);
    if (rc == HS_OK && res.reply.op == HS_API_COMPUTE && !am.req.dry_run) {
        /* After the reply, so that the client knows the request when progress arrives. */
        sreq *r = hs_map_get(&s->reqs, res.reply.request);
        if (r != NULL)
            s_progress(s, r, true);
    }
    api_result_free(&res);
    hs_proto_api_req_msg_free(&am);
}

/* ------------------------------------------------------------------ online engine */

/*
 * Plans the reopened intervals of online workflow w again (trigger late):
 * one request per interval, the last ones merged into one when there are
 * many.
 */
static void s_heal(scheduler *s, swf *w)
{
    enum { MAX_HEAL_REQUESTS = 16 };
    size_t n = w->heal.n;
    /* A job that failed stays failed (its error is in the history; compute retries it). */
    bool was = s->replanning;
    s->replanning = true;
    for (size_t i = 0; i < n && i < MAX_HEAL_REQUESTS; i++) {
        hs_interval iv = w->heal.v[i];
        if (i == MAX_HEAL_REQUESTS - 1)
            iv.end = w->heal.v[n - 1].end;
        sreq *r = s_request_as(s, w, iv, true, NULL, HS_TRIGGER_LATE);
        if (r != NULL)
            s_progress(s, r, true);
    }
    s->replanning = was;
    hs_intervals_clear(&w->heal);
}

typedef struct s_scanctx {
    scheduler *s;
    hs_intervals iv;
} s_scanctx;

static int s_scan_one(void *ud, const char *key, const char *json)
{
    s_scanctx *c = ud;
    if (hs_proto_reopened_doc_decode(json, strlen(json), &c->iv) != HS_OK)
        return 0;
    return s_heal_add(c->s, key, &c->iv);
}

/*
 * Every few seconds, the reopened intervals in the store (docs/reopened)
 * join the healing of the online workflows producing them: a reopened
 * notice is lost when the writer is killed between its commit and the
 * notice, or while the scheduler is down. Nothing reopened: one empty
 * read.
 */
static void s_heal_scan(scheduler *s, int64_t mono)
{
    enum { SCAN_EVERY_US = 3 * HS_US_PER_S };
    if (mono - s->heal_scan_mono < SCAN_EVERY_US)
        return;
    s->heal_scan_mono = mono;
    s_scanctx c;
    c.s = s;
    hs_intervals_init(&c.iv);
    int rc = hs_store_doc_list(s->store, "reopened", "", false, 0, s_scan_one, &c);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        hs_warn(s->log, "cannot read the reopened intervals: %s", hs_err_detail());
    hs_intervals_free(&c.iv);
}

/*
 * Runs the online workflows that are due (online.c decides when and over
 * what); requests, progress and the stored last_end (docs/online/<id>) are
 * done here.
 */
static void s_online(scheduler *s)
{
    int64_t mono = hs_time_mono_us();
    int64_t now = hs_time_now_us();
    s_heal_scan(s, mono);
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&s->wfs, &pos)) != NULL) {
        swf *w = e->value;
        if (w->removed || !w->wf->online)
            continue;
        online_cfg oc = {w->wf->every_us, w->wf->window.start_us - w->wf->lateness_us,
                         w->wf->window.end_us - w->wf->lateness_us};
        hs_interval iv;
        online_verdict v = online_tick(&w->online, &oc, now, mono, &iv);
        if (v == ONLINE_RUN)
            s_heal(s, w);
        if (v == ONLINE_SKIP && !w->behind) {
            char a[HS_TIME_ISO_MAX];
            hs_time_format_iso(w->online.last_end_us, a);
            hs_warn(s->log,
                    "online workflow %s: its last interval ends at %s, after now + window end "
                    "(the clock stepped back?): it waits until the clock passes it",
                    w->wf->id, a);
            w->behind = true;
        }
        if (v != ONLINE_RUN)
            continue;
        w->behind = false;
        s_grow(s, w);
        sreq *r = s_request(s, w, iv, true, NULL);
        if (r == NULL)
            continue;
        s_progress(s, r, true);
        online_ran(&w->online, iv);
        if (hs_proto_online_doc_encode(&s->scratch, iv.end) == HS_OK)
            (void)s_doc_put(s, "online", w->wf->id, hs_buf_cstr(&s->scratch));
        else
            hs_error(s->log, "cannot encode the online state of %s: %s", w->wf->id,
                     hs_err_detail());
    }
}

/* ------------------------------------------------------------------ start, run */

typedef struct s_loadctx {
    scheduler *s;
    size_t loaded, failed;
} s_loadctx;

static int s_load_one(void *ud, const char *key, const char *json)
{
    s_loadctx *c = ud;
    scheduler *s = c->s;
    hs_proto_workflow_doc_msg dm;
    if (hs_proto_workflow_doc_decode(&dm, json, strlen(json)) != HS_OK) {
        hs_error(s->log, "stored workflow %s is unreadable: %s", key, hs_err_detail());
        c->failed++;
        hs_proto_workflow_doc_msg_free(&dm);
        return 0;
    }
    hs_buf errors;
    hs_buf_init(&errors, 0);
    swf *w;
    if (s_load_wf(s, dm.d.text, strlen(dm.d.text), dm.d.filename, false, &w, &errors) != HS_OK) {
        hs_error(s->log, "stored workflow %s no longer loads: %s", key, hs_buf_cstr(&errors));
        c->failed++;
    } else {
        hs_buf st;
        hs_buf_init(&st, 0);
        if (hs_store_doc_get(s->store, "online", key, &st) == HS_OK &&
            hs_proto_online_doc_decode((const char *)st.data, st.len, &w->online.last_end_us) !=
                HS_OK)
            hs_warn(s->log, "online state of %s is unreadable (%s): it starts afresh", key,
                    hs_err_detail());
        hs_buf_free(&st);
        if (s_install(s, w) == HS_OK)
            c->loaded++;
    }
    hs_buf_free(&errors);
    hs_proto_workflow_doc_msg_free(&dm);
    return 0;
}

static int s_resume_one(void *ud, const char *key, const char *json)
{
    s_loadctx *c = ud;
    scheduler *s = c->s;
    hs_proto_request_doc_msg rm;
    if (hs_proto_request_doc_decode(&rm, json, strlen(json)) != HS_OK) {
        hs_error(s->log, "stored request %s is unreadable: %s", key, hs_err_detail());
    } else if (rm.d.state == HS_REQ_RUNNING) {
        swf *w = s_wf(s, rm.d.workflow);
        if (w != NULL) {
            hs_info(s->log, "resuming request %s (%s)", key, rm.d.workflow);
            sreq *r = s_request(s, w, rm.d.iv, false, key);
            if (r != NULL) {
                s_progress(s, r, true);
                c->loaded++;
            }
        }
    }
    hs_proto_request_doc_msg_free(&rm);
    return 0;
}

/*
 * A stored session still active that is not under way (an online session
 * or a request not resumed: the scheduler stopped without closing it) is
 * closed as interrupted.
 */
static int s_interrupted_one(void *ud, const char *key, const char *json)
{
    s_loadctx *c = ud;
    scheduler *s = c->s;
    hs_proto_session_doc_msg m;
    if (hs_proto_session_doc_decode(&m, json, strlen(json)) != HS_OK) {
        hs_warn(s->log, "stored session %s is unreadable: %s", key, hs_err_detail());
    } else if (m.d.active) {
        const sreq *r = hs_map_get(&s->reqs, key);
        const swf *w = s_wf(s, m.d.workflow);
        bool live = m.d.kind == HS_SESSION_REQUEST
                        ? r != NULL && !r->online
                        : w != NULL && w->sess != NULL && strcmp(w->sess->id, key) == 0;
        session x;
        if (!live && session_from_doc(&x, &m.d) == HS_OK) {
            if (session_close(&x, HS_SESSION_INTERRUPTED, hs_time_now_us()) == HS_OK) {
                s_session_put(s, &x);
                c->loaded++;
            }
            session_free(&x);
        }
    }
    hs_proto_session_doc_msg_free(&m);
    return 0;
}

int scheduler_run(scheduler *s)
{
    while (hs_service_running(s->svc)) {
        hs_mqtt_msg *m = NULL;
        int rc = hs_mqtt_recv(s->mqtt, &m, 50);
        if (rc == HS_OK) {
            hs_service_counters_get(s->svc)->msgs_in++;
            const char *t = m->topic + strlen(hs_service_prefix(s->svc)) + 1;
            if (strncmp(t, "committed/", 10) == 0) {
                s_on_committed(s, m);
            } else if (strncmp(t, "status/", 7) == 0) {
                s_on_status(s, m);
            } else if (strcmp(t, "purged") == 0) {
                /* A stream was purged: what we knew of its intervals is void. */
                char sid[HS_SID_MAX_LEN + 1];
                if (hs_proto_purged_decode(m->payload, m->len, sid, sizeof sid) == HS_OK) {
                    s_calc_forget(s, sid);
                    s->calc_epoch++;
                } else {
                    hs_service_dead_letter_as(s->svc, hs_err_detail(), m->topic, NULL,
                                              HS_PAYLOAD_MSGPACK, m->payload, m->len);
                }
            } else if (strcmp(t, "reopened") == 0) {
                s_on_reopened(s, m);
            } else if (strcmp(t, "wseq") == 0) {
                s_on_wseq(s, m);
            } else if (strncmp(t, "api/", 4) == 0) {
                s_on_api(s, m);
            } else if (strncmp(t, "schemas/", 8) == 0) {
                s_on_schemas(s, m, t + 8);
            }
            hs_mqtt_msg_free(m);
        } else if (rc != HS_ERR_TIMEOUT) {
            break;
        }
        s_online(s);
        s_pump(s);
        s_refill(s);
        s_reap_requests(s);
        hs_service_counters_get(s->svc)->backlog = jobtab_count(s->jt, -1);
        hs_service_tick(s->svc);
    }
    return HS_OK;
}

int scheduler_create(scheduler **out, hs_service *svc, const scheduler_cfg *cfg,
                     hs_tool_registry *tools)
{
    *out = NULL;
    scheduler *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    s->svc = svc;
    s->cfg = cfg;
    s->log = hs_service_log(svc);
    s->mqtt = hs_service_mqtt(svc);
    s->tools = tools;
    s->started_mono = hs_time_mono_us();
    hs_service_allow_set(svc, "max_inflight");
    hs_service_allow_set(svc, "job_timeout");
    hs_service_allow_set(svc, "max_attempts");
    hs_map_init(&s->runtimes);
    hs_map_init(&s->wfs);
    hs_map_init(&s->calc);
    hs_map_init(&s->reqs);
    hs_buf_init(&s->scratch, 0);
    hs_buf_init(&s->topic, 0);
    hs_buf_init(&s->msg, 0);
    int rc = jobtab_create(&s->jt);
    if (rc == HS_OK)
        rc = hs_meta_create(&s->tree);
    if (rc == HS_OK)
        rc = hs_store_open(&s->store, cfg->common.store_url, HS_STORE_READ);
    if (rc == HS_OK) {
        hs_wclient_opts wo;
        hs_service_wclient_opts(svc, &wo);
        rc = hs_wclient_create(&s->wc, &wo);
    }
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(s->mqtt, hs_service_topic(svc, &s->topic, "committed/+"), 1);
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(s->mqtt, hs_service_topic(svc, &s->topic, "purged"), 1);
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(s->mqtt, hs_service_topic(svc, &s->topic, "reopened"), 1);
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(s->mqtt, hs_service_topic(svc, &s->topic, "wseq"), 1);
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(s->mqtt, hs_service_topic(svc, &s->topic, "status/+"), 1);
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(
            s->mqtt, hs_service_topic(svc, &s->topic, "api/%s", cfg->common.service_id), 1);
    if (rc == HS_OK) {
        s_loadctx c = {s, 0, 0};
        /* The tree first: the workflows' plates select from it. */
        (void)hs_store_doc_list(s->store, "meta", "", false, 0, s_meta_load_one, s);
        (void)hs_store_doc_list(s->store, "workflows", "", false, 0, s_load_one, &c);
        hs_info(s->log, "%zu workflows loaded%s", c.loaded, c.failed ? " (some failed)" : "");
        if (cfg->workflows_dir[0] != '\0')
            rc = s_load_dir(s, cfg->workflows_dir);
        /* After the workflows are loaded: the retained schemas are checked against them. */
        if (rc == HS_OK)
            rc = hs_mqtt_subscribe(s->mqtt, hs_service_topic(svc, &s->topic, "schemas/+"), 1);
        c.loaded = 0;
        (void)hs_store_doc_list(s->store, "requests", "", false, 0, s_resume_one, &c);
        if (c.loaded > 0)
            hs_info(s->log, "%zu unfinished requests resumed", c.loaded);
        c.loaded = 0;
        (void)hs_store_doc_list(s->store, "sessions", "", false, 0, s_interrupted_one, &c);
        if (c.loaded > 0)
            hs_info(s->log, "%zu sessions left active by the last run closed as interrupted",
                    c.loaded);
    }
    if (rc != HS_OK) {
        char msg[600];
        hs_error(s->log, "cannot start: %s", hs_err_describe(rc, msg, sizeof msg));
        scheduler_destroy(s);
        return rc;
    }
    *out = s;
    return HS_OK;
}

void scheduler_destroy(scheduler *s)
{
    if (s == NULL)
        return;
    hs_wclient_destroy(s->wc);
    s_free_jobs(s);
    jobtab_destroy(s->jt);
    hs_free(s->forget);
    hs_free(s->replan);
    hs_free(s->blocked);
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&s->reqs, &pos)) != NULL)
        s_req_free(e->value);
    hs_map_free(&s->reqs);
    pos = 0;
    while ((e = hs_map_next(&s->wfs, &pos)) != NULL)
        swf_free(e->value);
    hs_map_free(&s->wfs);
    hs_meta_destroy(s->tree); /* after the workflows that select from it */
    for (size_t i = 0; i < s->nmdocs; i++) {
        hs_free((char *)s->mdocs[i].key);
        hs_free((char *)s->mdocs[i].json);
    }
    hs_free(s->mdocs);
    pos = 0;
    while ((e = hs_map_next(&s->calc, &pos)) != NULL) {
        hs_intervals_free(e->value);
        hs_free(e->value);
    }
    hs_map_free(&s->calc);
    pos = 0;
    while ((e = hs_map_next(&s->runtimes, &pos)) != NULL) {
        srt *r = e->value;
        hs_free(r->tools);
        hs_free(r);
    }
    hs_map_free(&s->runtimes);
    hs_store_close(s->store);
    hs_buf_free(&s->scratch);
    hs_buf_free(&s->topic);
    hs_buf_free(&s->msg);
    hs_free(s->msg_src);
    hs_free(s->msg_sinks);
    hs_free(s->msg_units);
    hs_free(s);
}
