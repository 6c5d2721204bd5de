#include "tool_harness.h"

#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_streamid.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void th_init(th_job *j, const hs_tool_def *def, const char *params, int64_t start, int64_t end)
{
    memset(j, 0, sizeof *j);
    j->def = def;
    j->params = params;
    j->start = start;
    j->end = end;
    for (size_t i = 0; i < TH_MAX_SRC; i++)
        hs_batch_init(&j->src[i]);
    hs_batch_init(&j->alignment);
    hs_batch_init(&j->splitting);
}

void th_free(th_job *j)
{
    for (size_t i = 0; i < TH_MAX_SRC; i++)
        hs_batch_free(&j->src[i]);
    hs_batch_free(&j->alignment);
    hs_batch_free(&j->splitting);
}

void th_push_double(hs_batch *b, int64_t t, double d)
{
    hs_buf *v = hs_batch_push_begin(b);
    hs_mp_put_double(v, d);
    hs_batch_push_end(b, t);
}

void th_push_int(hs_batch *b, int64_t t, int64_t i)
{
    hs_buf *v = hs_batch_push_begin(b);
    hs_mp_put_int(v, i);
    hs_batch_push_end(b, t);
}

void th_push_json(hs_batch *b, int64_t t, const char *json)
{
    hs_buf v;
    hs_buf_init(&v, 0);
    if (hs_json_to_mpack(json, strlen(json), &v) == HS_OK) {
        hs_buf canon;
        hs_buf_init(&canon, 0);
        if (hs_value_canonicalize(v.data, v.len, &canon) == HS_OK)
            hs_batch_push(b, t, canon.data, canon.len);
        hs_buf_free(&canon);
    }
    hs_buf_free(&v);
}

static int th_read(void *ud, size_t source, int64_t after, int64_t end, size_t max, hs_batch *out)
{
    th_job *j = ud;
    const hs_batch *b = source == HS_TOOL_ALIGNMENT   ? &j->alignment
                        : source == HS_TOOL_SPLITTING ? &j->splitting
                        : source < j->nsrc            ? &j->src[source]
                                                      : NULL;
    if (b == NULL)
        return hs_err_set(HS_ERR_NOTFOUND, "no source %zu", source);
    int rc = hs_batch_read_range(b, after, end, max, out);
    if (rc != HS_OK)
        return rc;
    j->reads++;
    return HS_OK;
}

int th_run(th_job *j, hs_tool_output *out)
{
    hs_buf p;
    hs_buf_init(&p, 0);
    hs_tool_output_init(out);
    if (j->params != NULL && hs_json_to_mpack(j->params, strlen(j->params), &p) != HS_OK) {
        hs_buf_free(&p);
        return HS_ERR_PARSE;
    }
    hs_streamid *sources[TH_MAX_SRC] = {0}, *sinks[TH_MAX_SRC] = {0};
    char name[32];
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < j->nsrc; i++) {
        snprintf(name, sizeof name, "src%zu", i);
        const char *id = j->src_ids[i] ? j->src_ids[i] : name;
        rc = hs_streamid_parse(id, strlen(id), &sources[i]);
    }
    size_t nsinks = j->nsinks ? j->nsinks : (j->def->kind == HS_TOOL_PLATE ? 0 : 1);
    for (size_t i = 0; rc == HS_OK && i < nsinks; i++) {
        const char *id = j->nsinks ? j->sink_ids[i] : "sink";
        rc = hs_streamid_parse(id, strlen(id), &sinks[i]);
    }
    if (rc == HS_OK) {
        hs_tool_job job = {
            .def = j->def,
            .interval = {j->start, j->end},
            .params = p.len ? p.data : NULL,
            .params_len = p.len,
            .sources = sources,
            .nsources = j->nsrc,
            .sinks = sinks,
            .nsinks = nsinks,
            .output_meta = j->output_meta,
            .has_alignment = j->has_alignment,
            .has_splitting = j->has_splitting,
            .read = th_read,
            .read_ud = j,
        };
        rc = hs_tool_run(&job, out);
    }
    for (size_t i = 0; i < TH_MAX_SRC; i++) {
        hs_streamid_destroy(sources[i]);
        hs_streamid_destroy(sinks[i]);
    }
    hs_buf_free(&p);
    return rc;
}

const char *th_json(const hs_batch *b, size_t i)
{
    static char out[8192];
    hs_buf j;
    hs_buf_init(&j, 0);
    hs_mp_reader r;
    hs_mp_reader_init(&r, hs_batch_value(b, i), b->items[i].len);
    if (hs_json_from_mpack(&r, &j) != HS_OK)
        snprintf(out, sizeof out, "<undecodable>");
    else
        snprintf(out, sizeof out, "%s", hs_buf_cstr(&j));
    hs_buf_free(&j);
    return out;
}

double th_double(const hs_batch *b, size_t i)
{
    hs_mp_reader r;
    double d;
    hs_mp_reader_init(&r, hs_batch_value(b, i), b->items[i].len);
    return hs_mp_get_number(&r, &d) == HS_OK ? d : NAN;
}
