#include "runtime.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_store.h"
#include "hs_streamid.h"
#include "hs_time.h"
#include "hs_wclient.h"

#include <stdio.h>
#include <string.h>

const hs_cfg_item runtime_cfg_table[] = {
    {"tool", HS_CFG_STR, "all", offsetof(runtime_cfg, tool), false,
     "the tool whose jobs this runtime takes, or 'all'"},
    {"plugin_dir", HS_CFG_STR, "", offsetof(runtime_cfg, plugin_dir), false,
     "directory of tool plugins (*.so)"},
    {"part_max_instances", HS_CFG_INT, "2048", offsetof(runtime_cfg, part_max_instances), false,
     "most output instances per write request"},
    {"max_pending_bytes", HS_CFG_SIZE, "64M", offsetof(runtime_cfg, max_pending_bytes), false,
     "output bytes awaiting the writer's acknowledgement before jobs pause"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

#define RT_MAX_FIELDS  32
#define RT_MAX_STREAMS 4096

struct runtime {
    hs_service *svc;
    const runtime_cfg *cfg;
    hs_log *log;
    hs_mqtt *mqtt;
    hs_store *store;
    hs_wclient *wc;
    hs_tool_registry *tools;
    hs_buf fields, topic;
    uint64_t jobs_ok, jobs_failed;
};

/* A decoded job; strings borrow from the message. */
typedef struct rt_job {
    hs_mp_field f[RT_MAX_FIELDS];
    size_t nf;
    char job[256];
    hs_streamid **sources;
    size_t nsources;
    hs_streamid *alignment, *splitting;
    hs_streamid **sinks;
    size_t nsinks;
    char output_meta[HS_SID_MAX_PART + 1];
    char tool[128], version[32];
    const uint8_t *params;
    size_t params_len;
    const uint8_t *tool_raw;
    size_t tool_raw_len;
    hs_interval interval;
} rt_job;

/* Reads a source for a tool from the store: the first max instances after `after`. */
static int rt_read(void *ud, size_t source, int64_t after, int64_t end, size_t max, hs_batch *out)
{
    void **u = ud;
    runtime *rt = u[0];
    rt_job *j = u[1];
    const hs_streamid *sid = source == HS_TOOL_ALIGNMENT   ? j->alignment
                             : source == HS_TOOL_SPLITTING ? j->splitting
                             : source < j->nsources        ? j->sources[source]
                                                           : NULL;
    if (sid == NULL)
        return hs_err_set(HS_ERR_INVAL, "no such source");
    hs_interval r = {after, end};
    return hs_store_head(rt->store, sid->canon, r, max, out);
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
}

static bool rt_cstr(const rt_job *j, const char *key, char *buf, size_t len)
{
    const char *s;
    uint32_t n;
    if (hs_mp_field_str(j->f, j->nf, key, &s, &n) != HS_OK || n >= len)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

/* Parses [sid, ...] or a bare sid string at the reader into a stream id. */
static int rt_sid(hs_mp_reader *r, hs_streamid **out)
{
    hs_mp_type t;
    int rc = hs_mp_peek(r, &t);
    if (rc != HS_OK)
        return rc;
    uint32_t n = 1;
    if (t == HS_MP_ARRAY && (rc = hs_mp_get_array(r, &n)) != HS_OK)
        return rc;
    const char *s;
    uint32_t sl;
    rc = hs_mp_get_str(r, &s, &sl);
    if (rc != HS_OK)
        return rc;
    rc = hs_streamid_parse(s, sl, out);
    for (uint32_t i = 1; rc == HS_OK && i < n; i++)
        rc = hs_mp_skip(r);
    return rc;
}

static int rt_sid_list(const rt_job *j, const char *key, hs_streamid ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const hs_mp_field *f = hs_mp_field_find(j->f, j->nf, key);
    if (f == NULL)
        return HS_OK;
    hs_mp_reader r;
    uint32_t cnt;
    hs_mp_reader_init(&r, f->val, f->vlen);
    int rc = hs_mp_get_array(&r, &cnt);
    if (rc != HS_OK || cnt > RT_MAX_STREAMS)
        return hs_err_set(HS_ERR_PARSE, "'%s' is not a list of streams", key);
    *out = hs_calloc(cnt ? cnt : 1, sizeof **out);
    if (*out == NULL)
        return HS_ERR_NOMEM;
    for (uint32_t i = 0; i < cnt; i++) {
        rc = rt_sid(&r, &(*out)[i]);
        if (rc != HS_OK)
            return hs_err_set(HS_ERR_PARSE, "'%s' entry %u is not a stream id: %s", key, i,
                              hs_err_detail());
        (*n)++;
    }
    return HS_OK;
}

static int rt_parse(const hs_mqtt_msg *m, rt_job *j)
{
    memset(j, 0, sizeof *j);
    int rc = hs_mp_map_index(m->payload, m->len, j->f, RT_MAX_FIELDS, &j->nf, NULL);
    if (rc != HS_OK)
        return rc;
    if (!rt_cstr(j, "job", j->job, sizeof j->job))
        return hs_err_set(HS_ERR_PARSE, "job message has no 'job'");
    const hs_mp_field *tool = hs_mp_field_find(j->f, j->nf, "tool");
    const hs_mp_field *iv = hs_mp_field_find(j->f, j->nf, "interval");
    if (tool == NULL || iv == NULL)
        return hs_err_set(HS_ERR_PARSE, "job message lacks 'tool' or 'interval'");
    j->tool_raw = tool->val;
    j->tool_raw_len = tool->vlen;
    hs_mp_field tf[8];
    size_t ntf;
    rc = hs_mp_map_index(tool->val, tool->vlen, tf, 8, &ntf, NULL);
    const char *s;
    uint32_t sl;
    if (rc != HS_OK || hs_mp_field_str(tf, ntf, "name", &s, &sl) != HS_OK || sl >= sizeof j->tool)
        return hs_err_set(HS_ERR_PARSE, "job 'tool' lacks a name");
    memcpy(j->tool, s, sl);
    j->tool[sl] = '\0';
    if (hs_mp_field_str(tf, ntf, "version", &s, &sl) == HS_OK && sl < sizeof j->version) {
        memcpy(j->version, s, sl);
        j->version[sl] = '\0';
    }
    const hs_mp_field *p = hs_mp_field_find(tf, ntf, "params");
    if (p != NULL) {
        j->params = p->val;
        j->params_len = p->vlen;
    }
    hs_mp_reader r;
    uint32_t two;
    hs_mp_reader_init(&r, iv->val, iv->vlen);
    if (hs_mp_get_array(&r, &two) != HS_OK || two != 2 ||
        hs_mp_get_int(&r, &j->interval.start) != HS_OK ||
        hs_mp_get_int(&r, &j->interval.end) != HS_OK || j->interval.start >= j->interval.end)
        return hs_err_set(HS_ERR_PARSE, "job 'interval' is not [start, end] with start < end");
    rc = rt_sid_list(j, "sources", &j->sources, &j->nsources);
    if (rc == HS_OK)
        rc = rt_sid_list(j, "sinks", &j->sinks, &j->nsinks);
    const hs_mp_field *a = hs_mp_field_find(j->f, j->nf, "alignment");
    if (rc == HS_OK && a != NULL && a->val[0] != 0xc0) {
        hs_mp_reader_init(&r, a->val, a->vlen);
        rc = rt_sid(&r, &j->alignment);
    }
    const hs_mp_field *sp = hs_mp_field_find(j->f, j->nf, "splitting");
    if (rc == HS_OK && sp != NULL && sp->val[0] != 0xc0) {
        hs_mp_reader_init(&r, sp->val, sp->vlen);
        rc = rt_sid(&r, &j->splitting);
    }
    (void)rt_cstr(j, "output_meta", j->output_meta, sizeof j->output_meta);
    return rc;
}

/* Copies the named field of the job (raw msgpack) into the request fields. */
static int rt_copy_field(hs_buf *f, const rt_job *j, const char *key, uint32_t *n)
{
    const hs_mp_field *x = hs_mp_field_find(j->f, j->nf, key);
    if (x == NULL)
        return HS_OK;
    int rc = hs_mp_put_cstr(f, key);
    if (rc == HS_OK)
        rc = hs_mp_put_raw(f, x->val, x->vlen);
    if (rc == HS_OK)
        (*n)++;
    return rc;
}

/*
 * Sends the job's result to the writer: the output in parts, or the error.
 * Every part repeats the job's header so that each is self-describing.
 */
static int rt_send(runtime *rt, const rt_job *j, const hs_tool_output *o, const char *error,
                   int64_t started_us, int64_t duration_us)
{
    size_t total = 0;
    for (size_t i = 0; o != NULL && i < o->nsinks; i++)
        total += o->per_sink[i].n;
    size_t per = (size_t)rt->cfg->part_max_instances;
    size_t parts = error != NULL || total == 0 ? 1 : (total + per - 1) / per;
    /* Cursor over (sink, instance) across parts. */
    size_t sink = 0, idx = 0;
    int rc = HS_OK;
    for (size_t part = 0; rc == HS_OK && part < parts; part++) {
        hs_buf *f = &rt->fields;
        hs_buf_reset(f);
        uint32_t n = 0;
        const char *copy[] = {"job",     "workflow", "factor",      "pv",
                              "tool",    "binding",  "interval",    "sinks",
                              "attempt", "request",  "output_plate"};
        for (size_t k = 0; rc == HS_OK && k < sizeof copy / sizeof copy[0]; k++)
            rc = rt_copy_field(f, j, copy[k], &n);
        if (rc == HS_OK) {
            hs_mp_put_cstr(f, "part");
            hs_mp_put_uint(f, part);
            hs_mp_put_cstr(f, "parts");
            hs_mp_put_uint(f, parts);
            hs_mp_put_cstr(f, "started_us");
            hs_mp_put_int(f, started_us);
            hs_mp_put_cstr(f, "duration_us");
            hs_mp_put_int(f, duration_us);
            hs_mp_put_cstr(f, "runtime");
            rc = hs_mp_put_cstr(f, hs_service_id(rt->svc));
            n += 5;
        }
        if (rc == HS_OK && error != NULL) {
            hs_mp_put_cstr(f, "error");
            rc = hs_mp_put_cstr(f, error);
            n++;
        }
        if (rc == HS_OK && part == 0 && o != NULL && o->nplate_values > 0) {
            hs_mp_put_cstr(f, "plate_values");
            hs_mp_put_array(f, (uint32_t)o->nplate_values);
            for (size_t k = 0; k < o->nplate_values; k++)
                rc = hs_mp_put_cstr(f, o->plate_values[k]);
            n++;
        }
        if (rc == HS_OK && error == NULL && o != NULL && total > 0) {
            /* Outputs of this part: [[sid, [[t, v], ...]], ...]. */
            size_t left = per;
            size_t s0 = sink, i0 = idx, nsinks_here = 0;
            for (size_t s = sink, i = idx; left > 0 && s < o->nsinks; s++, i = 0) {
                size_t take = o->per_sink[s].n - i;
                if (take == 0)
                    continue;
                take = take < left ? take : left;
                left -= take;
                nsinks_here++;
            }
            hs_mp_put_cstr(f, "outputs");
            rc = hs_mp_put_array(f, (uint32_t)nsinks_here);
            left = per;
            for (sink = s0, idx = i0; rc == HS_OK && left > 0 && sink < o->nsinks;) {
                size_t avail = o->per_sink[sink].n - idx;
                if (avail == 0) {
                    sink++;
                    idx = 0;
                    continue;
                }
                size_t take = avail < left ? avail : left;
                hs_mp_put_array(f, 2);
                hs_mp_put_cstr(f, j->sinks[sink]->canon);
                rc = hs_codec_encode_mpack(&o->per_sink[sink], idx, take, f);
                left -= take;
                idx += take;
                if (idx == o->per_sink[sink].n) {
                    sink++;
                    idx = 0;
                }
            }
            n++;
        }
        if (rc == HS_OK)
            rc = hs_wclient_send(rt->wc, "job", f->data, f->len, n, -1, NULL);
    }
    if (rc == HS_OK)
        hs_service_counters_get(rt->svc)->instances_out += total;
    return rc;
}

static void rt_on_job(runtime *rt, hs_mqtt_msg *m)
{
    hs_service_counters *c = hs_service_counters_get(rt->svc);
    c->msgs_in++;
    rt_job j;
    int rc = rt_parse(m, &j);
    if (rc != HS_OK) {
        char reason[700];
        snprintf(reason, sizeof reason, "unreadable job: %s", hs_err_detail());
        hs_service_dead_letter(rt->svc, reason, m->topic, m->payload, m->len);
        rt_job_free(&j);
        return;
    }
    int64_t started = hs_time_now_us(), t0 = hs_time_mono_us();
    char error[700] = "";
    const hs_tool_def *def = hs_tool_registry_find(rt->tools, j.tool);
    int maj = 0, min = 0, pat = 0, wmaj = 0, wmin = 0, wpat = 0;
    if (def == NULL) {
        snprintf(error, sizeof error, "this runtime has no tool '%s'", j.tool);
    } else if (j.version[0] != '\0' &&
               (hs_tool_version_parse(j.version, &wmaj, &wmin, &wpat) != HS_OK ||
                hs_tool_version_parse(def->version, &maj, &min, &pat) != HS_OK || maj != wmaj ||
                min != wmin)) {
        snprintf(error, sizeof error, "tool %s version %s was asked for; this runtime has %s",
                 j.tool, j.version, def->version);
    }
    hs_tool_output out;
    hs_tool_output_init(&out);
    if (error[0] == '\0') {
        void *ud[2] = {rt, &j};
        hs_tool_job job = {
            .def = def,
            .interval = j.interval,
            .params = j.params,
            .params_len = j.params_len,
            .sources = j.sources,
            .nsources = j.nsources,
            .sinks = j.sinks,
            .nsinks = j.nsinks,
            .output_meta = j.output_meta[0] ? j.output_meta : NULL,
            .has_alignment = j.alignment != NULL,
            .has_splitting = j.splitting != NULL,
            .read = rt_read,
            .read_ud = ud,
        };
        if (hs_tool_run(&job, &out) != HS_OK)
            snprintf(error, sizeof error, "%s", out.error);
        else if (out.warnings > 0)
            hs_warn(rt->log, "job %s (%s): %zu warnings, first: %s", j.job, j.tool, out.warnings,
                    out.warning);
    }
    int64_t dur = hs_time_mono_us() - t0;
    hs_service_observe_us(rt->svc, dur);
    if (error[0] != '\0') {
        rt->jobs_failed++;
        c->errors++;
        hs_warn(rt->log, "job %s (%s) failed: %s", j.job, j.tool, error);
    } else {
        rt->jobs_ok++;
        hs_debug(rt->log, "job %s (%s) done in %lld us", j.job, j.tool, (long long)dur);
    }
    rc = rt_send(rt, &j, error[0] ? NULL : &out, error[0] ? error : NULL, started, dur);
    if (rc != HS_OK) {
        c->errors++;
        hs_error(rt->log, "cannot send the result of job %s: %s", j.job, hs_err_detail());
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
        rc = hs_err_set(HS_ERR_CONFIG, "unknown tool '%s' (hsctl tool ls lists them)", cfg->tool);
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
    hs_buf_free(&rt->topic);
    hs_free(rt);
}
