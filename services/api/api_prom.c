/*
 * The Prometheus query API (docs/HTTP.md §3), for Grafana's Prometheus data
 * source and promtool: a stream is a series whose metric name is the stream
 * name and whose labels are its meta-data pairs. Queries are plain selectors
 * and number literals (common/hs_promql.c); values are the latest instance
 * within prom_lookback before each evaluation time, as Prometheus does.
 */
#include "api.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_promql.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Prometheus's envelope for an error: {"status":"error","errorType":T,"error":E}. */
static void prom_error(api_req *r, unsigned status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void prom_error(api_req *r, unsigned status, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hs_strvfmt(fmt, ap);
    va_end(ap);
    char members[96];
    snprintf(members, sizeof members, "\"status\":\"error\",\"errorType\":\"%s\",", type);
    api_error_obj(r, status, members, "error", msg != NULL ? msg : "out of memory");
    hs_free(msg);
}

/* The value of an instance as a sample: numbers, booleans 1/0; false for anything else. */
static bool sample_value(const uint8_t *v, size_t len, double *out)
{
    hs_mp_reader rd;
    hs_mp_reader_init(&rd, v, len);
    hs_mp_type t;
    if (hs_mp_peek(&rd, &t) != HS_OK)
        return false;
    if (t == HS_MP_BOOL) {
        bool b;
        if (hs_mp_get_bool(&rd, &b) != HS_OK)
            return false;
        *out = b ? 1 : 0;
        return true;
    }
    return hs_mp_get_number(&rd, out) == HS_OK;
}

/* ------------------------------------------------------------------ the series of a query */

typedef struct series_list {
    const hs_pm_query *q;
    hs_streamid **ids;
    size_t n, cap;
    int rc;
} series_list;

static int series_one(void *ud, const hs_stream_info *info)
{
    series_list *l = ud;
    hs_streamid *id = NULL;
    if (hs_streamid_parse(info->id, strlen(info->id), &id) != HS_OK)
        return 0;
    const char *name = hs_pm_name(l->q);
    if ((name != NULL && strcmp(id->name, name) != 0) || !hs_pm_match_sid(l->q, id)) {
        hs_streamid_destroy(id);
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        hs_streamid **ids = hs_realloc(l->ids, cap * sizeof *ids);
        if (ids == NULL) {
            hs_streamid_destroy(id);
            l->rc = HS_ERR_NOMEM;
            return -1;
        }
        l->ids = ids;
        l->cap = cap;
    }
    l->ids[l->n++] = id;
    return 0;
}

static void series_free(series_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        hs_streamid_destroy(l->ids[i]);
    hs_free(l->ids);
}

/* Every stream q selects, into l (the caller frees it). */
static int series_find(hs_store *s, const hs_pm_query *q, series_list *l)
{
    memset(l, 0, sizeof *l);
    l->q = q;
    const char *name = hs_pm_name(q);
    int rc = hs_store_stream_list(s, name != NULL ? name : "", series_one, l);
    return l->rc != HS_OK ? l->rc : rc;
}

/* ------------------------------------------------------------------ evaluation */

/*
 * Appends the points of series id at times start, start+step, ... <= end
 * into b as [[t,"v"],...] (instant: one [t,"v"]); *npoints counts them.
 * The value at t is the latest sample in (t - lookback, t].
 */
static int eval_series(api *a, hs_store *s, const char *sid, int64_t start, int64_t end,
                       int64_t step, bool instant, hs_buf *b, size_t *npoints)
{
    *npoints = 0;
    int64_t lookback = a->cfg->prom_lookback_us;
    hs_store_cursor *cur = NULL;
    int64_t from = start - lookback;
    int rc = hs_store_read(s, sid, (hs_interval){from, end}, 4096, &cur);
    if (rc != HS_OK)
        return rc;
    hs_batch batch;
    hs_batch_init(&batch);
    size_t i = 0;
    bool have = false, more = true;
    int64_t last_t = 0;
    double last_v = 0;
    for (int64_t t = start; rc == HS_OK && t <= end; t += step) {
        /* Take every sample up to t. */
        for (;;) {
            if (i == batch.n) {
                if (!more)
                    break;
                rc = hs_store_cursor_next(cur, &batch);
                i = 0;
                if (rc != HS_OK || batch.n == 0) {
                    more = false;
                    break;
                }
            }
            if (batch.items[i].t_us > t)
                break;
            double v;
            if (sample_value(hs_batch_value(&batch, i), batch.items[i].len, &v)) {
                have = true;
                last_t = batch.items[i].t_us;
                last_v = v;
            }
            i++;
        }
        if (rc == HS_OK && have && last_t > t - lookback) {
            if (!instant)
                rc = hs_buf_puts(b, *npoints > 0 ? ",[" : "[");
            else
                rc = hs_buf_putc(b, '[');
            if (rc == HS_OK)
                rc = hs_pm_fmt_time(t, b);
            if (rc == HS_OK)
                rc = hs_buf_puts(b, ",\"");
            if (rc == HS_OK)
                rc = hs_pm_fmt_value(last_v, b);
            if (rc == HS_OK)
                rc = hs_buf_puts(b, "\"]");
            (*npoints)++;
        }
        if (end - t < step)
            break;
    }
    hs_batch_free(&batch);
    hs_store_cursor_close(cur);
    return rc;
}

static bool time_arg(api_req *r, const char *name, int64_t dflt, bool required, int64_t *out)
{
    const char *v = api_param(r, name);
    if (v == NULL || v[0] == '\0') {
        if (required) {
            prom_error(r, 400, "bad_data", "invalid parameter \"%s\": missing", name);
            return false;
        }
        *out = dflt;
        return true;
    }
    if (hs_pm_time_parse(v, out) != HS_OK) {
        prom_error(r, 400, "bad_data", "invalid parameter \"%s\": %s", name, hs_err_detail());
        return false;
    }
    return true;
}

static bool query_arg(api_req *r, hs_pm_query *q)
{
    const char *text = api_param(r, "query");
    if (text == NULL || text[0] == '\0') {
        prom_error(r, 400, "bad_data", "invalid parameter \"query\": missing");
        return false;
    }
    if (hs_pm_parse(text, strlen(text), q) != HS_OK) {
        prom_error(r, 400, "bad_data", "invalid parameter \"query\": %s", hs_err_detail());
        return false;
    }
    return true;
}

/* query_range and query: a matrix (range) or a vector (instant); scalars for numbers. */
static void query(api_req *r, bool range)
{
    int64_t now = hs_time_now_us(), start, end, step = 0;
    if (range) {
        if (!time_arg(r, "start", 0, true, &start) || !time_arg(r, "end", 0, true, &end))
            return;
        const char *st = api_param(r, "step");
        if (st == NULL || st[0] == '\0') {
            prom_error(r, 400, "bad_data", "invalid parameter \"step\": missing");
            return;
        }
        if (hs_pm_duration_parse(st, &step) != HS_OK) {
            prom_error(r, 400, "bad_data", "invalid parameter \"step\": %s", hs_err_detail());
            return;
        }
        if (end < start) {
            prom_error(r, 400, "bad_data",
                       "invalid parameter \"end\": end timestamp must not be before start time");
            return;
        }
        if ((end - start) / step + 1 > r->a->cfg->prom_max_points) {
            prom_error(r, 400, "bad_data",
                       "exceeded maximum resolution of %lld points per timeseries. Try "
                       "decreasing the query resolution (?step=XX)",
                       (long long)r->a->cfg->prom_max_points);
            return;
        }
    } else {
        if (!time_arg(r, "time", now, false, &start))
            return;
        end = start;
        step = 1;
    }
    hs_pm_query q;
    if (!query_arg(r, &q))
        return;
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc;
    if (q.is_number) {
        if (range) {
            rc = hs_buf_puts(&b, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
                                 "\"result\":[{\"metric\":{},\"values\":[");
            for (int64_t t = start; rc == HS_OK && t <= end; t += step) {
                rc = hs_buf_puts(&b, t > start ? ",[" : "[");
                if (rc == HS_OK)
                    rc = hs_pm_fmt_time(t, &b);
                if (rc == HS_OK)
                    rc = hs_buf_puts(&b, ",\"");
                if (rc == HS_OK)
                    rc = hs_pm_fmt_value(q.number, &b);
                if (rc == HS_OK)
                    rc = hs_buf_puts(&b, "\"]");
                if (end - t < step)
                    break;
            }
            if (rc == HS_OK)
                rc = hs_buf_puts(&b, "]}]}}\n");
        } else {
            rc = hs_buf_puts(&b, "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
                                 "\"result\":[");
            if (rc == HS_OK)
                rc = hs_pm_fmt_time(start, &b);
            if (rc == HS_OK)
                rc = hs_buf_puts(&b, ",\"");
            if (rc == HS_OK)
                rc = hs_pm_fmt_value(q.number, &b);
            if (rc == HS_OK)
                rc = hs_buf_puts(&b, "\"]}}\n");
        }
        if (rc == HS_OK)
            api_send_json(r, 200, &b);
        else
            prom_error(r, 500, "internal", "out of memory");
        hs_buf_free(&b);
        hs_pm_query_free(&q);
        return;
    }
    hs_store *s = api_store_get(r);
    if (s == NULL) {
        hs_buf_free(&b);
        hs_pm_query_free(&q);
        return;
    }
    series_list l;
    rc = series_find(s, &q, &l);
    if (rc == HS_OK)
        rc = hs_buf_printf(&b,
                           "{\"status\":\"success\",\"data\":{\"resultType\":\"%s\",\"result\":[",
                           range ? "matrix" : "vector");
    size_t nseries = 0;
    hs_buf pts;
    hs_buf_init(&pts, 0);
    for (size_t i = 0; rc == HS_OK && i < l.n; i++) {
        hs_buf_reset(&pts);
        size_t np = 0;
        rc = eval_series(r->a, s, l.ids[i]->canon, start, end, step, !range, &pts, &np);
        if (rc != HS_OK || np == 0)
            continue;
        rc = hs_buf_puts(&b, nseries++ > 0 ? ",{\"metric\":" : "{\"metric\":");
        if (rc == HS_OK)
            rc = hs_pm_labels_json(l.ids[i], &b);
        if (rc == HS_OK)
            rc = hs_buf_puts(&b, range ? ",\"values\":[" : ",\"value\":");
        if (rc == HS_OK)
            rc = hs_buf_append(&b, pts.data, pts.len);
        if (rc == HS_OK)
            rc = hs_buf_puts(&b, range ? "]}" : "}");
    }
    api_store_put(r->a, s);
    if (rc == HS_OK)
        rc = hs_buf_puts(&b, "]}}\n");
    if (rc == HS_OK)
        api_send_json(r, 200, &b);
    else
        prom_error(r, 422, "execution", "%s", hs_err_detail()[0] ? hs_err_detail() : "failed");
    hs_buf_free(&pts);
    hs_buf_free(&b);
    series_free(&l);
    hs_pm_query_free(&q);
}

/* ------------------------------------------------------------------ metadata: series, labels */

typedef struct match_ctx {
    hs_pm_query qs[16];
    size_t n;
    bool failed;
    api_req *r;
} match_ctx;

static void match_add(void *ud, const char *v)
{
    match_ctx *m = ud;
    if (m->failed)
        return;
    if (m->n == 16) {
        prom_error(m->r, 400, "bad_data", "at most 16 match[] parameters");
        m->failed = true;
        return;
    }
    if (hs_pm_parse(v, strlen(v), &m->qs[m->n]) != HS_OK) {
        prom_error(m->r, 400, "bad_data", "invalid parameter \"match[]\": %s", hs_err_detail());
        m->failed = true;
        return;
    }
    if (m->qs[m->n].is_number) {
        hs_pm_query_free(&m->qs[m->n]);
        prom_error(m->r, 400, "bad_data", "invalid parameter \"match[]\": not a series selector");
        m->failed = true;
        return;
    }
    m->n++;
}

static void match_free(match_ctx *m)
{
    for (size_t i = 0; i < m->n; i++)
        hs_pm_query_free(&m->qs[i]);
}

typedef struct meta_ctx {
    match_ctx *m;
    int what; /* 0 series, 1 label names, 2 label values */
    const char *label;
    hs_map seen;
    hs_buf *out;
    size_t n;
    int rc;
} meta_ctx;

static int meta_emit(meta_ctx *c, const char *s)
{
    if (hs_map_get(&c->seen, s) != NULL)
        return HS_OK;
    int rc = hs_map_put(&c->seen, s, (void *)1, NULL);
    if (rc == HS_OK)
        rc = hs_buf_puts(c->out, c->n++ > 0 ? "," : "");
    if (rc == HS_OK)
        rc = hs_json_put_string(c->out, s, strlen(s));
    return rc;
}

static int meta_one(void *ud, const hs_stream_info *info)
{
    meta_ctx *c = ud;
    hs_streamid *id = NULL;
    if (hs_streamid_parse(info->id, strlen(info->id), &id) != HS_OK)
        return 0;
    bool ok = c->m->n == 0;
    for (size_t i = 0; !ok && i < c->m->n; i++)
        ok = hs_pm_match_sid(&c->m->qs[i], id);
    int rc = HS_OK;
    if (ok && c->what == 0) {
        rc = hs_buf_puts(c->out, c->n++ > 0 ? "," : "");
        if (rc == HS_OK)
            rc = hs_pm_labels_json(id, c->out);
    } else if (ok && c->what == 1) {
        rc = meta_emit(c, "__name__");
        for (size_t i = 0; rc == HS_OK && i < id->n_meta; i++)
            rc = meta_emit(c, id->meta[i].key);
    } else if (ok && c->what == 2) {
        const char *v =
            strcmp(c->label, "__name__") == 0 ? id->name : hs_streamid_get(id, c->label);
        if (v != NULL)
            rc = meta_emit(c, v);
    }
    hs_streamid_destroy(id);
    c->rc = rc;
    return rc == HS_OK ? 0 : -1;
}

static int str_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x, y);
}

/* Label names and values are answered sorted, as Prometheus does. */
static int sort_strings(meta_ctx *c, hs_buf *out)
{
    size_t n = c->seen.n, k = 0, pos = 0;
    const char **v = hs_calloc(n + 1, sizeof *v);
    if (v == NULL)
        return HS_ERR_NOMEM;
    hs_map_entry *e;
    while ((e = hs_map_next(&c->seen, &pos)) != NULL && k < n)
        v[k++] = e->key;
    qsort(v, k, sizeof *v, str_cmp);
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < k; i++) {
        rc = hs_buf_puts(out, i > 0 ? "," : "");
        if (rc == HS_OK)
            rc = hs_json_put_string(out, v[i], strlen(v[i]));
    }
    hs_free(v);
    return rc;
}

static void metadata(api_req *r, int what, const char *label)
{
    match_ctx m = {.r = r};
    api_params_each(r, "match[]", match_add, &m);
    if (m.failed) {
        match_free(&m);
        return;
    }
    if (what == 0 && m.n == 0) {
        prom_error(r, 400, "bad_data", "no match[] parameter provided");
        return;
    }
    hs_store *s = api_store_get(r);
    if (s == NULL) {
        match_free(&m);
        return;
    }
    hs_buf items, b;
    hs_buf_init(&items, 0);
    hs_buf_init(&b, 0);
    meta_ctx c = {&m, what, label, {0}, &items, 0, HS_OK};
    hs_map_init(&c.seen);
    /* One name selected by every match[]: only its streams are listed. */
    const char *prefix = m.n == 1 && hs_pm_name(&m.qs[0]) != NULL ? hs_pm_name(&m.qs[0]) : "";
    int rc = hs_store_stream_list(s, prefix, meta_one, &c);
    api_store_put(r->a, s);
    if (rc == HS_OK)
        rc = c.rc;
    if (rc == HS_OK)
        rc = hs_buf_puts(&b, "{\"status\":\"success\",\"data\":[");
    if (rc == HS_OK)
        rc = what == 0 ? hs_buf_append(&b, items.data, items.len) : sort_strings(&c, &b);
    if (rc == HS_OK)
        rc = hs_buf_puts(&b, "]}\n");
    if (rc == HS_OK)
        api_send_json(r, 200, &b);
    else
        prom_error(r, 422, "execution", "%s", hs_err_detail()[0] ? hs_err_detail() : "failed");
    hs_map_free(&c.seen);
    hs_buf_free(&items);
    hs_buf_free(&b);
    match_free(&m);
}

static void buildinfo(api_req *r)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    if (hs_buf_printf(
            &b,
            "{\"status\":\"success\",\"data\":{\"version\":\"%s\",\"revision\":\"\","
            "\"branch\":\"\",\"buildUser\":\"\",\"buildDate\":\"\",\"goVersion\":\"\"}}\n",
            HS_VERSION) == HS_OK)
        api_send_json(r, 200, &b);
    hs_buf_free(&b);
}

/* Whether p (the path after /api/v1/) is one of the Prometheus API's. */
static bool prom_path(const char *p)
{
    const char *slash = strncmp(p, "label/", 6) == 0 ? strchr(p + 6, '/') : NULL;
    return strcmp(p, "query_range") == 0 || strcmp(p, "query") == 0 || strcmp(p, "series") == 0 ||
           strcmp(p, "labels") == 0 || (slash != NULL && strcmp(slash, "/values") == 0) ||
           strcmp(p, "status/buildinfo") == 0 || strcmp(p, "metadata") == 0;
}

bool api_prom_route(api_req *r)
{
    const char *p = r->path;
    if (strncmp(p, "/api/v1/", 8) != 0)
        return false;
    p += 8;
    bool post = strcmp(r->method, "POST") == 0;
    if ((!post && strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) || !prom_path(p))
        return false;
    /* Parameters may come as a form body (Grafana's POST), as Prometheus takes them. */
    if (post && api_form_parse(r) != HS_OK) {
        prom_error(r, 500, "internal", "out of memory");
        return true;
    }
    if (strcmp(p, "query_range") == 0)
        query(r, true);
    else if (strcmp(p, "query") == 0)
        query(r, false);
    else if (strcmp(p, "series") == 0)
        metadata(r, 0, NULL);
    else if (strcmp(p, "labels") == 0)
        metadata(r, 1, NULL);
    else if (strncmp(p, "label/", 6) == 0) {
        char *name = hs_strndup(p + 6, (size_t)(strchr(p + 6, '/') - (p + 6)));
        if (name != NULL)
            metadata(r, 2, name);
        else
            prom_error(r, 500, "internal", "out of memory");
        hs_free(name);
    } else if (strcmp(p, "status/buildinfo") == 0)
        buildinfo(r);
    else
        api_send(r, 200, "application/json", "{\"status\":\"success\",\"data\":{}}\n", 32);
    return true;
}
