#include "runtime.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_store.h"
#include "hs_streamid.h"
#include "hs_time.h"
#include "hs_wclient.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const hs_cfg_item runtime_cfg_table[] = {
    {"tool", HS_CFG_STR, "all", offsetof(runtime_cfg, tool), false,
     "the tool whose jobs this runtime takes, or 'all'"},
    {"part_max_instances", HS_CFG_INT, "2048", offsetof(runtime_cfg, part_max_instances), false,
     "most output instances per write request"},
    {"max_pending_bytes", HS_CFG_SIZE, "64M", offsetof(runtime_cfg, max_pending_bytes), false,
     "output bytes awaiting the writer's acknowledgement before jobs pause"},
    {"max_job_streams", HS_CFG_INT, "1000000", offsetof(runtime_cfg, max_job_streams), false,
     "most sources, or sinks, one job may name: a job with more is refused and fails at once"},
    {"workers", HS_CFG_INT, "0", offsetof(runtime_cfg, workers), false,
     "most jobs run at once, each on a worker thread (0: the CPUs this process may use)"},
    {"workers_min", HS_CFG_INT, "1", offsetof(runtime_cfg, workers_min), false,
     "worker threads kept when there is nothing to do"},
    {"worker_idle", HS_CFG_DURATION, "30s", offsetof(runtime_cfg, worker_idle_us), false,
     "a worker thread idle this long stops (down to workers_min)"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

/* Jobs received and not started: at most this many wait in the runtime. */
#define RT_QUEUE_MAX 256

typedef struct runtime runtime;

/* A worker thread: runs one job at a time with its own store connection and buffers. */
typedef struct rt_worker {
    runtime *rt;
    pthread_t thread;
    hs_store *store; /* owned: a read connection of its own */
    hs_buf fields, batches;
    hs_proto_output *outs; /* outputs of the part being sent (owned array) */
    size_t capouts;
    bool done; /* it has left its loop (under rt->mu): to be joined */
    struct rt_worker *next;
} rt_worker;

struct runtime {
    hs_service *svc;
    const runtime_cfg *cfg;
    hs_log *log;
    hs_mqtt *mqtt;
    hs_wclient *wc;
    hs_tool_registry *tools;
    hs_buf topic;
    /* The job queue and the workers, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t work;              /* a job was queued, or stop */
    pthread_cond_t space;             /* a job was taken from a full queue */
    hs_mqtt_msg *queue[RT_QUEUE_MAX]; /* a ring of owned messages */
    size_t qhead, qn;
    rt_worker *workers; /* every started worker not joined yet (owned) */
    size_t nworkers;    /* workers in their loop */
    size_t busy;        /* of them, running a job */
    size_t max_workers;
    bool stop;
};

/* A decoded job with its stream ids parsed. */
typedef struct rt_job {
    hs_proto_job_msg msg;  /* the message as decoded (owned) */
    hs_streamid **sources; /* owned, one per msg.job.sources */
    size_t nsources;
    hs_streamid *alignment, *splitting; /* owned or NULL */
    hs_streamid **sinks;                /* owned, one per msg.job.sinks */
    size_t nsinks;
} rt_job;

/* What a tool's reads go to: the job, and the first source of the plate value it runs for. */
typedef struct rt_reader {
    rt_worker *w;
    const rt_job *j;
    size_t first, n; /* the plate value's sources: j->sources[first, first + n) */
} rt_reader;

/* Reads a source for a tool from the store: the first max instances after `after`. */
static int rt_read(void *ud, size_t source, int64_t after, int64_t end, size_t max, hs_batch *out)
{
    const rt_reader *r = ud;
    const rt_job *j = r->j;
    const hs_streamid *sid = source == HS_TOOL_ALIGNMENT   ? j->alignment
                             : source == HS_TOOL_SPLITTING ? j->splitting
                             : source < r->n               ? j->sources[r->first + source]
                                                           : NULL;
    if (sid == NULL)
        return hs_err_set(HS_ERR_INVAL, "no such source");
    hs_interval range = {after, end};
    return hs_store_head(r->w->store, sid->canon, range, max, out);
}

static void rt_job_free(rt_job *j)
{
    for (size_t i = 0; i < j->nsources; i++)
        hs_streamid_destroy(j->sources[i]);
    hs_free(j->sources);
    for (size_t i = 0; i < j->nsinks; i++)
        hs_streamid_destroy(j->sinks[i]);
    hs_free(j->sinks);
    hs_streamid_destroy(j->alignment);
    hs_streamid_destroy(j->splitting);
    hs_proto_job_msg_free(&j->msg);
}

/*
 * Parses n stream ids into a new array (*out, caller frees through
 * rt_job_free); more than max of them is refused with HS_ERR_LIMIT.
 */
static int rt_sids(const char *what, const char *const *ids, size_t n, int64_t max,
                   hs_streamid ***out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if ((int64_t)n > max)
        return hs_err_set(HS_ERR_LIMIT,
                          "the job names %zu %s; this runtime takes at most %lld "
                          "(max_job_streams)",
                          n, what, (long long)max);
    *out = hs_calloc(n ? n : 1, sizeof **out);
    if (*out == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = hs_streamid_parse(ids[i], strlen(ids[i]), &(*out)[i]);
        if (rc != HS_OK)
            return hs_err_set(HS_ERR_PARSE, "job: %s entry %zu is not a stream id: %s", what, i,
                              hs_err_detail());
        (*nout)++;
    }
    return HS_OK;
}

/*
 * Decodes a job message and parses its stream ids. *decoded tells whether
 * the message itself was read (j->msg holds the job): a failure after it is
 * this runtime refusing a job it knows, which can be answered as the job's
 * error; a failure before it leaves nothing to answer to.
 */
static int rt_parse(const runtime *rt, const hs_mqtt_msg *m, rt_job *j, bool *decoded)
{
    memset(j, 0, sizeof *j);
    *decoded = false;
    int rc = hs_proto_job_decode(&j->msg, m->payload, m->len);
    if (rc != HS_OK)
        return rc;
    *decoded = true;
    int64_t max = rt->cfg->max_job_streams;
    const hs_proto_job *pj = &j->msg.job;
    const char **src = hs_arena_alloc(&j->msg.arena, (pj->nsources + 1) * sizeof *src);
    if (src == NULL)
        return HS_ERR_NOMEM;
    for (size_t k = 0; k < pj->nsources; k++)
        src[k] = pj->sources[k].sid;
    rc = rt_sids("sources", src, pj->nsources, max, &j->sources, &j->nsources);
    if (rc == HS_OK)
        rc = rt_sids("sinks", pj->sinks, pj->nsinks, max, &j->sinks, &j->nsinks);
    if (rc == HS_OK && pj->alignment != NULL)
        rc = hs_streamid_parse(pj->alignment, strlen(pj->alignment), &j->alignment);
    if (rc == HS_OK && pj->splitting != NULL)
        rc = hs_streamid_parse(pj->splitting, strlen(pj->splitting), &j->splitting);
    return rc;
}

/*
 * Encodes the outputs of one part, at most per instances from the cursor
 * (sink, idx) on, into rt->batches and rt->outs; moves the cursor.
 */
static int rt_part_outputs(rt_worker *w, const rt_job *j, const hs_tool_output *o, size_t per,
                           size_t *sink, size_t *idx, size_t *nouts)
{
    hs_buf_reset(&w->batches);
    size_t n = 0, left = per;
    int rc = HS_OK;
    *nouts = 0;
    while (rc == HS_OK && left > 0 && *sink < o->nsinks) {
        size_t avail = o->per_sink[*sink].n - *idx;
        if (avail == 0) {
            (*sink)++;
            *idx = 0;
            continue;
        }
        if (hs_grow(&w->outs, &w->capouts, n + 1, sizeof *w->outs, 16) != HS_OK)
            return HS_ERR_NOMEM;
        size_t take = avail < left ? avail : left;
        size_t at = w->batches.len;
        rc = hs_codec_encode_mpack(&o->per_sink[*sink], *idx, take, &w->batches);
        w->outs[n].sid = j->sinks[*sink]->canon;
        w->outs[n].batch_len = w->batches.len - at;
        n++;
        left -= take;
        *idx += take;
        if (*idx == o->per_sink[*sink].n) {
            (*sink)++;
            *idx = 0;
        }
    }
    /*
     * The batches lie end to end in w->batches, each batch_len long:
     * pointers now that the buffer stops moving.
     */
    size_t off = 0;
    for (size_t k = 0; k < n; k++) {
        w->outs[k].batch = w->batches.data + off;
        off += w->outs[k].batch_len;
    }
    *nouts = n;
    return rc;
}

/*
 * The number of write requests (*parts, may be NULL) that carry output o:
 * HS_ERR_LIMIT, with why, when it needs more than 100000.
 */
static int rt_parts(const runtime *rt, const hs_tool_output *o, size_t *parts)
{
    size_t total = 0;
    for (size_t i = 0; o != NULL && i < o->nsinks; i++)
        total += o->per_sink[i].n;
    size_t per = (size_t)rt->cfg->part_max_instances;
    size_t n = total == 0 ? 1 : (total + per - 1) / per;
    if (n > 100000)
        return hs_err_set(HS_ERR_LIMIT,
                          "%zu instances need more than 100000 parts of %zu "
                          "(part_max_instances)",
                          total, per);
    if (parts != NULL)
        *parts = n;
    return HS_OK;
}

/*
 * Sends the job's result to the writer: the output in parts, or the error.
 * Every part repeats the job's header so that each is self-describing.
 */
static int rt_send(rt_worker *w, const rt_job *j, const hs_tool_output *o, const char *error,
                   int64_t started_us, int64_t duration_us)
{
    runtime *rt = w->rt;
    size_t total = 0, per = (size_t)rt->cfg->part_max_instances;
    size_t parts = 1;
    if (error == NULL) {
        int rc = rt_parts(rt, o, &parts);
        if (rc != HS_OK)
            return rc;
    }
    for (size_t i = 0; o != NULL && i < o->nsinks; i++)
        total += o->per_sink[i].n;
    /* Cursor over (sink, instance) across parts. */
    size_t sink = 0, idx = 0;
    int rc = HS_OK;
    for (size_t part = 0; rc == HS_OK && part < parts; part++) {
        hs_proto_jobout out = {
            .hdr = j->msg.job,
            .part = (uint32_t)part,
            .parts = (uint32_t)parts,
            .started_us = started_us,
            .duration_us = duration_us,
            .runtime = hs_service_id(rt->svc),
            .error = error,
        };
        if (error == NULL && j->msg.job.output_plate != NULL && o != NULL) {
            out.has_plate_values = true;
            out.plate_values = (const char *const *)o->plate_values;
            out.nplate_values = o->nplate_values;
        } else if (error == NULL && o != NULL && total > 0) {
            rc = rt_part_outputs(w, j, o, per, &sink, &idx, &out.noutputs);
            out.outputs = w->outs;
        }
        uint32_t n = 0;
        hs_buf_reset(&w->fields);
        if (rc == HS_OK)
            rc = hs_proto_jobout_encode_fields(&w->fields, &out, &n);
        if (rc == HS_OK)
            rc = hs_wclient_send(rt->wc, HS_OP_JOB, w->fields.data, w->fields.len, n, -1, NULL);
    }
    if (rc == HS_OK)
        hs_service_counters_get(rt->svc)->instances_out += total;
    return rc;
}

/* Runs the tool for plate value u of j (the whole job when it has no units) into out. */
static int rt_run_one(rt_worker *w, const rt_job *j, const hs_tool_def *def, size_t u,
                      size_t first_src, size_t first_sink, hs_tool_output *out)
{
    const hs_proto_job *pj = &j->msg.job;
    size_t nsrc = pj->nunits > 0 ? pj->units[u].nsources : j->nsources;
    size_t nsnk = pj->nunits > 0 ? pj->units[u].nsinks : j->nsinks;
    rt_reader r = {w, j, first_src, nsrc};
    hs_tool_job job = {
        .def = def,
        .interval = pj->interval,
        .params = pj->params,
        .params_len = pj->params_len,
        .sources = j->sources + first_src,
        .nsources = nsrc,
        .sinks = j->sinks + first_sink,
        .nsinks = nsnk,
        .output_meta = pj->output_meta,
        .has_alignment = j->alignment != NULL,
        .has_splitting = j->splitting != NULL,
        .read = rt_read,
        .read_ud = &r,
    };
    return hs_tool_run(&job, out);
}

/*
 * Runs job j into out, or sets error. A job over several plate values
 * (units) runs the tool once per plate value over its own sources and
 * sinks; the outputs are joined in the job's sink order. One plate value
 * failing fails the job, with its plate value in the error.
 */
static void rt_run(rt_worker *w, const rt_job *j, const hs_tool_def *def, hs_tool_output *out,
                   char *error, size_t errlen)
{
    runtime *rt = w->rt;
    const hs_proto_job *pj = &j->msg.job;
    if (pj->nunits == 0) {
        if (rt_run_one(w, j, def, 0, 0, 0, out) != HS_OK)
            snprintf(error, errlen, "%s", out->error);
        else if (out->warnings > 0)
            hs_warn(rt->log, "job %s (%s): %zu warnings, first: %s", pj->job, pj->tool,
                    out->warnings, out->warning);
        return;
    }
    out->per_sink = hs_calloc(j->nsinks ? j->nsinks : 1, sizeof *out->per_sink);
    if (out->per_sink == NULL) {
        snprintf(error, errlen, "out of memory");
        return;
    }
    out->nsinks = j->nsinks;
    for (size_t k = 0; k < j->nsinks; k++)
        hs_batch_init(&out->per_sink[k]);
    size_t src = 0, snk = 0, warnings = 0;
    for (size_t u = 0; u < pj->nunits; u++) {
        hs_tool_output one;
        int rc = rt_run_one(w, j, def, u, src, snk, &one);
        if (rc != HS_OK) {
            snprintf(error, errlen, "plate value %s: %s", pj->units[u].pv, one.error);
            hs_tool_output_free(&one);
            return;
        }
        if (one.warnings > 0 && warnings++ == 0)
            hs_warn(rt->log, "job %s (%s), plate value %s: %zu warnings, first: %s", pj->job,
                    pj->tool, pj->units[u].pv, one.warnings, one.warning);
        /* The plate value's batches move into the job's output. */
        for (size_t k = 0; k < one.nsinks && k < pj->units[u].nsinks; k++) {
            out->per_sink[snk + k] = one.per_sink[k];
            hs_batch_init(&one.per_sink[k]);
        }
        hs_tool_output_free(&one);
        src += pj->units[u].nsources;
        snk += pj->units[u].nsinks;
    }
}

static void rt_on_job(rt_worker *w, hs_mqtt_msg *m)
{
    runtime *rt = w->rt;
    hs_service_counters *c = hs_service_counters_get(rt->svc);
    rt_job j;
    bool decoded;
    int rc = rt_parse(rt, m, &j, &decoded);
    if (rc != HS_OK && !decoded) {
        /* Not even the job's id is known: nobody to answer, the scheduler's timeout decides. */
        char reason[700];
        snprintf(reason, sizeof reason, "unreadable job: %s", hs_err_detail());
        hs_service_dead_letter_as(rt->svc, reason, m->topic, NULL, HS_PAYLOAD_MSGPACK, m->payload,
                                  m->len);
        rt_job_free(&j);
        return;
    }
    const hs_proto_job *pj = &j.msg.job;
    int64_t started = hs_time_now_us(), t0 = hs_time_mono_us();
    char error[700] = "";
    /* The definition of the job's version (major.minor; the patch may differ). */
    const hs_tool_def *def =
        rc == HS_OK ? hs_tool_registry_find_version(rt->tools, pj->tool, pj->version) : NULL;
    if (rc != HS_OK) {
        /*
         * A job this runtime refuses (too many streams, a stream id it cannot
         * read): every replica would refuse it too, so it is answered as the
         * job's error, which fails it at once instead of after its timeouts.
         */
        snprintf(error, sizeof error, "the tool runtime refused the job: %s", hs_err_detail());
    } else if (hs_tool_registry_find(rt->tools, pj->tool) == NULL) {
        snprintf(error, sizeof error, "this runtime has no tool '%s'", pj->tool);
    } else if (def == NULL) {
        hs_buf avail;
        hs_buf_init(&avail, 0);
        if (hs_tool_registry_versions(rt->tools, pj->tool, &avail) != HS_OK)
            hs_buf_reset(&avail);
        snprintf(error, sizeof error,
                 "tool %s version %s was asked for; this runtime has version%s %s", pj->tool,
                 pj->version, strchr(hs_buf_cstr(&avail), ',') ? "s" : "", hs_buf_cstr(&avail));
        hs_buf_free(&avail);
    }
    hs_tool_output out;
    hs_tool_output_init(&out);
    if (error[0] == '\0')
        rt_run(w, &j, def, &out, error, sizeof error);
    int64_t dur = hs_time_mono_us() - t0;
    hs_service_observe_us(rt->svc, dur);
    if (error[0] == '\0' && rt_parts(rt, &out, NULL) != HS_OK) /* too big: before any part */
        snprintf(error, sizeof error, "the tool runtime refused the job's output: %s",
                 hs_err_detail());
    if (error[0] != '\0') {
        c->errors++;
        hs_warn(rt->log, "job %s (%s) failed: %s", pj->job, pj->tool, error);
    } else {
        hs_debug(rt->log, "job %s (%s) done in %lld us", pj->job, pj->tool, (long long)dur);
    }
    rc = rt_send(w, &j, error[0] ? NULL : &out, error[0] ? error : NULL, started, dur);
    if (rc != HS_OK) {
        c->errors++;
        hs_error(rt->log, "cannot send the result of job %s: %s", pj->job, hs_err_detail());
    }
    hs_tool_output_free(&out);
    rt_job_free(&j);
}

static int rt_subscribe_all(runtime *rt, bool on);

size_t runtime_max_workers(const runtime_cfg *cfg)
{
    if (cfg->workers > 0)
        return (size_t)cfg->workers;
    /* The CPUs this process may run on (a container's cpuset, taskset), else the online ones. */
    cpu_set_t set;
    long n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

static void rt_worker_free(rt_worker *w)
{
    hs_store_close(w->store);
    hs_buf_free(&w->fields);
    hs_buf_free(&w->batches);
    hs_free(w->outs);
    hs_free(w);
}

/*
 * A worker: takes jobs from the queue and runs them; leaves when the runtime
 * stops, or after worker_idle without a job while more than workers_min run.
 */
static void *rt_worker_main(void *arg)
{
    rt_worker *w = arg;
    runtime *rt = w->rt;
    pthread_mutex_lock(&rt->mu);
    for (;;) {
        bool timed_out = false;
        while (rt->qn == 0 && !rt->stop && !timed_out) {
            struct timespec ts = hs_time_deadline_after(rt->cfg->worker_idle_us);
            timed_out = pthread_cond_timedwait(&rt->work, &rt->mu, &ts) != 0;
        }
        if (rt->stop || (rt->qn == 0 && rt->nworkers > (size_t)rt->cfg->workers_min))
            break;
        if (rt->qn == 0)
            continue; /* idle, but among the workers kept */
        hs_mqtt_msg *m = rt->queue[rt->qhead];
        rt->qhead = (rt->qhead + 1) % RT_QUEUE_MAX;
        if (rt->qn-- == RT_QUEUE_MAX)
            pthread_cond_signal(&rt->space);
        hs_service_counters_get(rt->svc)->backlog = rt->qn;
        rt->busy++;
        pthread_mutex_unlock(&rt->mu);
        rt_on_job(w, m);
        hs_mqtt_msg_free(m);
        pthread_mutex_lock(&rt->mu);
        rt->busy--;
    }
    rt->nworkers--;
    w->done = true;
    size_t left = rt->nworkers;
    bool stopping = rt->stop;
    pthread_mutex_unlock(&rt->mu);
    if (!stopping)
        hs_info(rt->log, "idle: a worker stopped (%zu left)", left);
    return NULL;
}

/* Starts a worker (under rt->mu). HS_OK, or an error when none could be started. */
static int rt_worker_start(runtime *rt)
{
    rt_worker *w = hs_calloc(1, sizeof *w);
    if (w == NULL)
        return HS_ERR_NOMEM;
    w->rt = rt;
    hs_buf_init(&w->fields, 0);
    hs_buf_init(&w->batches, 0);
    int rc = hs_store_open(&w->store, rt->cfg->common.store_url, HS_STORE_READ);
    if (rc == HS_OK && pthread_create(&w->thread, NULL, rt_worker_main, w) != 0)
        rc = hs_err_set(HS_ERR_IO, "cannot start a worker thread");
    if (rc != HS_OK) {
        rt_worker_free(w);
        return rc;
    }
    w->next = rt->workers;
    rt->workers = w;
    rt->nworkers++;
    return HS_OK;
}

/* Joins the workers that have left (all of them when all is set, after stop). */
static void rt_workers_reap(runtime *rt, bool all)
{
    pthread_mutex_lock(&rt->mu);
    rt_worker **link = &rt->workers;
    while (*link != NULL) {
        rt_worker *w = *link;
        if (!w->done && !all) {
            link = &w->next;
            continue;
        }
        *link = w->next;
        pthread_mutex_unlock(&rt->mu);
        pthread_join(w->thread, NULL);
        rt_worker_free(w);
        pthread_mutex_lock(&rt->mu);
    }
    pthread_mutex_unlock(&rt->mu);
}

/*
 * Queues a job for the workers, waiting while the queue is full; starts a
 * worker when the job would wait behind busy ones and fewer than
 * max_workers run.
 */
static void rt_enqueue(runtime *rt, hs_mqtt_msg *m)
{
    pthread_mutex_lock(&rt->mu);
    while (rt->qn == RT_QUEUE_MAX && !rt->stop)
        pthread_cond_wait(&rt->space, &rt->mu);
    rt->queue[(rt->qhead + rt->qn) % RT_QUEUE_MAX] = m;
    rt->qn++;
    hs_service_counters_get(rt->svc)->backlog = rt->qn;
    if (rt->qn > rt->nworkers - rt->busy && rt->nworkers < rt->max_workers) {
        int rc = rt_worker_start(rt);
        if (rc == HS_OK)
            hs_info(rt->log, "%zu jobs waiting: started worker %zu of at most %zu", rt->qn,
                    rt->nworkers, rt->max_workers);
        else if (rt->nworkers == 0)
            hs_error(rt->log, "cannot start a worker: %s", hs_err_detail());
    }
    pthread_cond_signal(&rt->work);
    pthread_mutex_unlock(&rt->mu);
}

/* Whether nothing waits or runs. */
static bool rt_idle(runtime *rt)
{
    pthread_mutex_lock(&rt->mu);
    bool idle = rt->qn == 0 && rt->busy == 0;
    pthread_mutex_unlock(&rt->mu);
    return idle;
}

int runtime_run(runtime *rt)
{
    bool subscribed = true;
    while (hs_service_running(rt->svc)) {
        bool paused = hs_service_paused(rt->svc);
        if (paused == subscribed) {
            /* Paused runtimes leave the shared subscriptions: jobs go to the other replicas. */
            if (rt_subscribe_all(rt, !paused) == HS_OK) {
                subscribed = !paused;
                hs_info(rt->log, "%s taking jobs", paused ? "stopped" : "resumed");
                /* Only now may the scheduler send jobs again. */
                if (!paused)
                    hs_service_resumed(rt->svc);
            }
        }
        hs_mqtt_msg *m = NULL;
        int rc = hs_mqtt_recv(rt->mqtt, &m, paused ? 50 : 200);
        hs_service_tick(rt->svc);
        rt_workers_reap(rt, false);
        if (rc == HS_ERR_TIMEOUT) {
            hs_wclient_stats ws;
            hs_wclient_get_stats(rt->wc, &ws);
            hs_service_set_idle(rt->svc, ws.pending == 0 && rt_idle(rt));
            continue;
        }
        if (rc != HS_OK)
            break;
        hs_service_set_idle(rt->svc, false);
        hs_service_counters_get(rt->svc)->msgs_in++;
        rt_enqueue(rt, m);
    }
    /* Jobs under way finish; jobs still queued are dispatched again by the scheduler. */
    pthread_mutex_lock(&rt->mu);
    rt->stop = true;
    size_t dropped = rt->qn;
    while (rt->qn > 0) {
        hs_mqtt_msg_free(rt->queue[rt->qhead]);
        rt->qhead = (rt->qhead + 1) % RT_QUEUE_MAX;
        rt->qn--;
    }
    pthread_cond_broadcast(&rt->work);
    pthread_cond_broadcast(&rt->space);
    pthread_mutex_unlock(&rt->mu);
    rt_workers_reap(rt, true);
    if (dropped > 0)
        hs_info(rt->log, "stopping: %zu queued jobs left to the scheduler's retry", dropped);
    if (hs_wclient_flush(rt->wc, 5000) != HS_OK)
        hs_warn(rt->log, "stopping with unacknowledged job outputs (the scheduler will retry)");
    return HS_OK;
}

static int rt_subscribe(runtime *rt, const char *tool, bool on)
{
    char filter[512];
    hs_buf t;
    hs_buf_init(&t, 0);
    snprintf(filter, sizeof filter, "$share/tool-%s/%s", tool,
             hs_service_topic(rt->svc, &t, "exec/%s", tool));
    hs_buf_free(&t);
    return on ? hs_mqtt_subscribe(rt->mqtt, filter, 1) : hs_mqtt_unsubscribe(rt->mqtt, filter);
}

/* Joins (or leaves) the shared subscriptions of every tool this runtime serves. */
static int rt_subscribe_all(runtime *rt, bool on)
{
    int rc = HS_OK;
    if (strcmp(rt->cfg->tool, "all") == 0) {
        /* Once per name: the versions of a tool share its topic (a job names its version). */
        const char *prev = NULL;
        for (size_t i = 0; rc == HS_OK && i < hs_tool_registry_count(rt->tools); i++) {
            const char *name = hs_tool_registry_at(rt->tools, i)->name;
            if (prev == NULL || strcmp(prev, name) != 0)
                rc = rt_subscribe(rt, name, on);
            prev = name;
        }
    } else {
        rc = rt_subscribe(rt, rt->cfg->tool, on);
    }
    return rc;
}

int runtime_create(runtime **out, hs_service *svc, const runtime_cfg *cfg, hs_tool_registry *tools)
{
    *out = NULL;
    runtime *rt = hs_calloc(1, sizeof *rt);
    if (rt == NULL)
        return HS_ERR_NOMEM;
    rt->svc = svc;
    rt->cfg = cfg;
    rt->log = hs_service_log(svc);
    rt->mqtt = hs_service_mqtt(svc);
    rt->tools = tools;
    hs_buf_init(&rt->topic, 0);
    pthread_mutex_init(&rt->mu, NULL);
    pthread_cond_init(&rt->work, NULL);
    pthread_cond_init(&rt->space, NULL);
    rt->max_workers = runtime_max_workers(cfg);
    if (cfg->workers_min < 0 || (size_t)cfg->workers_min > rt->max_workers || cfg->workers < 0 ||
        cfg->worker_idle_us <= 0) {
        hs_error(rt->log,
                 "cannot start: workers_min %lld must be between 0 and workers (%zu), and "
                 "worker_idle positive",
                 (long long)cfg->workers_min, rt->max_workers);
        runtime_destroy(rt);
        return HS_ERR_CONFIG;
    }
    /* The first worker opens the store: a store that cannot be read fails the start. */
    pthread_mutex_lock(&rt->mu);
    int rc = HS_OK;
    for (int64_t i = 0; rc == HS_OK && i < (cfg->workers_min > 0 ? cfg->workers_min : 1); i++)
        rc = rt_worker_start(rt);
    pthread_mutex_unlock(&rt->mu);
    if (rc == HS_OK) {
        hs_wclient_opts wo;
        hs_service_wclient_opts(svc, &wo);
        wo.max_pending_bytes = (size_t)cfg->max_pending_bytes;
        rc = hs_wclient_create(&rt->wc, &wo);
    }
    if (rc == HS_OK && strcmp(cfg->tool, "all") != 0 &&
        hs_tool_registry_find(tools, cfg->tool) == NULL)
        rc = hs_err_set(HS_ERR_CONFIG,
                        "unknown tool '%s': not built in, and no plugin of that name in "
                        "plugin_dir '%s'",
                        cfg->tool, cfg->common.plugin_dir);
    if (rc == HS_OK)
        rc = rt_subscribe_all(rt, true);
    if (rc == HS_OK)
        hs_service_manual_resume(svc);
    if (rc != HS_OK) {
        char msg[600];
        hs_error(rt->log, "cannot start: %s", hs_err_describe(rc, msg, sizeof msg));
        runtime_destroy(rt);
        return rc;
    }
    hs_info(rt->log, "serving %s (%zu tool versions known; up to %zu workers)", cfg->tool,
            hs_tool_registry_count(tools), rt->max_workers);
    *out = rt;
    return HS_OK;
}

void runtime_destroy(runtime *rt)
{
    if (rt == NULL)
        return;
    pthread_mutex_lock(&rt->mu);
    rt->stop = true;
    pthread_cond_broadcast(&rt->work);
    pthread_mutex_unlock(&rt->mu);
    rt_workers_reap(rt, true);
    for (; rt->qn > 0; rt->qn--, rt->qhead = (rt->qhead + 1) % RT_QUEUE_MAX)
        hs_mqtt_msg_free(rt->queue[rt->qhead]);
    hs_wclient_destroy(rt->wc);
    hs_buf_free(&rt->topic);
    pthread_cond_destroy(&rt->space);
    pthread_cond_destroy(&rt->work);
    pthread_mutex_destroy(&rt->mu);
    hs_free(rt);
}
