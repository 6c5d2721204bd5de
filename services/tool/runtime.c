#include "runtime.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_store.h"
#include "hs_streamid.h"
#include "hs_time.h"
#include "hs_wclient.h"

#include <stdio.h>
#include <string.h>

const hs_cfg_item runtime_cfg_table[] = {
    {"tool", HS_CFG_STR, "all", offsetof(runtime_cfg, tool), false,
     "the tool whose jobs this runtime takes, or 'all'"},
    {"part_max_instances", HS_CFG_INT, "2048", offsetof(runtime_cfg, part_max_instances), false,
     "most output instances per write request"},
    {"max_pending_bytes", HS_CFG_SIZE, "64M", offsetof(runtime_cfg, max_pending_bytes), false,
     "output bytes awaiting the writer's acknowledgement before jobs pause"},
    {"max_job_streams", HS_CFG_INT, "1000000", offsetof(runtime_cfg, max_job_streams), false,
     "most sources, or sinks, one job may name: a job with more is refused and fails at once"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

struct runtime {
    hs_service *svc;
    const runtime_cfg *cfg;
    hs_log *log;
    hs_mqtt *mqtt;
    hs_store *store;
    hs_wclient *wc;
    hs_tool_registry *tools;
    hs_buf fields, batches, topic;
    hs_proto_output *outs; /* outputs of the part being sent (owned array) */
    size_t capouts;
    uint64_t jobs_ok, jobs_failed;
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
    runtime *rt;
    const rt_job *j;
    size_t first, n; /* the plate value's sources: j->sources[first, first + n) */
} rt_reader;

/* Reads a source for a tool from the store: the first max instances after `after`. */
static int rt_read(void *ud, size_t source, int64_t after, int64_t end, size_t max, hs_batch *out)
{
    const rt_reader *r = ud;
    runtime *rt = r->rt;
    const rt_job *j = r->j;
    const hs_streamid *sid = source == HS_TOOL_ALIGNMENT   ? j->alignment
                             : source == HS_TOOL_SPLITTING ? j->splitting
                             : source < r->n               ? j->sources[r->first + source]
                                                           : NULL;
    if (sid == NULL)
        return hs_err_set(HS_ERR_INVAL, "no such source");
    hs_interval range = {after, end};
    return hs_store_head(rt->store, sid->canon, range, max, out);
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
static int rt_part_outputs(runtime *rt, const rt_job *j, const hs_tool_output *o, size_t per,
                           size_t *sink, size_t *idx, size_t *nouts)
{
    hs_buf_reset(&rt->batches);
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
        if (hs_grow(&rt->outs, &rt->capouts, n + 1, sizeof *rt->outs, 16) != HS_OK)
            return HS_ERR_NOMEM;
        size_t take = avail < left ? avail : left;
        size_t at = rt->batches.len;
        rc = hs_codec_encode_mpack(&o->per_sink[*sink], *idx, take, &rt->batches);
        rt->outs[n].sid = j->sinks[*sink]->canon;
        rt->outs[n].batch_len = rt->batches.len - at;
        n++;
        left -= take;
        *idx += take;
        if (*idx == o->per_sink[*sink].n) {
            (*sink)++;
            *idx = 0;
        }
    }
    /*
     * The batches lie end to end in rt->batches, each batch_len long:
     * pointers now that the buffer stops moving.
     */
    size_t off = 0;
    for (size_t k = 0; k < n; k++) {
        rt->outs[k].batch = rt->batches.data + off;
        off += rt->outs[k].batch_len;
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
static int rt_send(runtime *rt, const rt_job *j, const hs_tool_output *o, const char *error,
                   int64_t started_us, int64_t duration_us)
{
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
            rc = rt_part_outputs(rt, j, o, per, &sink, &idx, &out.noutputs);
            out.outputs = rt->outs;
        }
        uint32_t n = 0;
        hs_buf_reset(&rt->fields);
        if (rc == HS_OK)
            rc = hs_proto_jobout_encode_fields(&rt->fields, &out, &n);
        if (rc == HS_OK)
            rc = hs_wclient_send(rt->wc, HS_OP_JOB, rt->fields.data, rt->fields.len, n, -1, NULL);
    }
    if (rc == HS_OK)
        hs_service_counters_get(rt->svc)->instances_out += total;
    return rc;
}

/* Runs the tool for plate value u of j (the whole job when it has no units) into out. */
static int rt_run_one(runtime *rt, const rt_job *j, const hs_tool_def *def, size_t u,
                      size_t first_src, size_t first_sink, hs_tool_output *out)
{
    const hs_proto_job *pj = &j->msg.job;
    size_t nsrc = pj->nunits > 0 ? pj->units[u].nsources : j->nsources;
    size_t nsnk = pj->nunits > 0 ? pj->units[u].nsinks : j->nsinks;
    rt_reader r = {rt, j, first_src, nsrc};
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
static void rt_run(runtime *rt, const rt_job *j, const hs_tool_def *def, hs_tool_output *out,
                   char *error, size_t errlen)
{
    const hs_proto_job *pj = &j->msg.job;
    if (pj->nunits == 0) {
        if (rt_run_one(rt, j, def, 0, 0, 0, out) != HS_OK)
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
        int rc = rt_run_one(rt, j, def, u, src, snk, &one);
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

static void rt_on_job(runtime *rt, hs_mqtt_msg *m)
{
    hs_service_counters *c = hs_service_counters_get(rt->svc);
    c->msgs_in++;
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
    const hs_tool_def *def = hs_tool_registry_find(rt->tools, pj->tool);
    int maj = 0, min = 0, pat = 0, wmaj = 0, wmin = 0, wpat = 0;
    if (rc != HS_OK) {
        /*
         * A job this runtime refuses (too many streams, a stream id it cannot
         * read): every replica would refuse it too, so it is answered as the
         * job's error, which fails it at once instead of after its timeouts.
         */
        snprintf(error, sizeof error, "the tool runtime refused the job: %s", hs_err_detail());
    } else if (def == NULL) {
        snprintf(error, sizeof error, "this runtime has no tool '%s'", pj->tool);
    } else if ((hs_tool_version_parse(pj->version, &wmaj, &wmin, &wpat) != HS_OK ||
                hs_tool_version_parse(def->version, &maj, &min, &pat) != HS_OK || maj != wmaj ||
                min != wmin)) {
        snprintf(error, sizeof error, "tool %s version %s was asked for; this runtime has %s",
                 pj->tool, pj->version, def->version);
    }
    hs_tool_output out;
    hs_tool_output_init(&out);
    if (error[0] == '\0')
        rt_run(rt, &j, def, &out, error, sizeof error);
    int64_t dur = hs_time_mono_us() - t0;
    hs_service_observe_us(rt->svc, dur);
    if (error[0] == '\0' && rt_parts(rt, &out, NULL) != HS_OK) /* too big: before any part */
        snprintf(error, sizeof error, "the tool runtime refused the job's output: %s",
                 hs_err_detail());
    if (error[0] != '\0') {
        rt->jobs_failed++;
        c->errors++;
        hs_warn(rt->log, "job %s (%s) failed: %s", pj->job, pj->tool, error);
    } else {
        rt->jobs_ok++;
        hs_debug(rt->log, "job %s (%s) done in %lld us", pj->job, pj->tool, (long long)dur);
    }
    rc = rt_send(rt, &j, error[0] ? NULL : &out, error[0] ? error : NULL, started, dur);
    if (rc != HS_OK) {
        c->errors++;
        hs_error(rt->log, "cannot send the result of job %s: %s", pj->job, hs_err_detail());
    }
    hs_tool_output_free(&out);
    rt_job_free(&j);
}

static int rt_subscribe_all(runtime *rt, bool on);

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
        if (rc == HS_ERR_TIMEOUT) {
            hs_wclient_stats ws;
            hs_wclient_get_stats(rt->wc, &ws);
            hs_service_set_idle(rt->svc, ws.pending == 0);
            continue;
        }
        if (rc != HS_OK)
            break;
        hs_service_set_idle(rt->svc, false);
        rt_on_job(rt, m);
        hs_mqtt_msg_free(m);
    }
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
        for (size_t i = 0; rc == HS_OK && i < hs_tool_registry_count(rt->tools); i++)
            rc = rt_subscribe(rt, hs_tool_registry_at(rt->tools, i)->name, on);
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
    hs_buf_init(&rt->fields, 0);
    hs_buf_init(&rt->batches, 0);
    hs_buf_init(&rt->topic, 0);
    int rc = hs_store_open(&rt->store, cfg->common.store_url, HS_STORE_READ);
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
    hs_info(rt->log, "serving %s (%zu tools known)", cfg->tool, hs_tool_registry_count(tools));
    *out = rt;
    return HS_OK;
}

void runtime_destroy(runtime *rt)
{
    if (rt == NULL)
        return;
    hs_wclient_destroy(rt->wc);
    hs_store_close(rt->store);
    hs_buf_free(&rt->fields);
    hs_buf_free(&rt->batches);
    hs_free(rt->outs);
    hs_buf_free(&rt->topic);
    hs_free(rt);
}
