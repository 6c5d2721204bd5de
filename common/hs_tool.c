#include "hs_tool.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_time.h"
#include "hs_utf8.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Instances read from a source per chunk. */
#define HS__TOOL_CHUNK 4096
/*
 * Instances all of a job's open iterators hold at most, in chunks of at
 * least HS__TOOL_CHUNK_MIN: a tool merging many sources (an aggregate over
 * a fleet) reads each in smaller chunks instead of holding them whole.
 */
#define HS__TOOL_BUDGET    (1u << 20)
#define HS__TOOL_CHUNK_MIN 16

struct hs_tool_ctx {
    const hs_tool_job *job; /* borrowed */
    hs_arena arena;         /* job lifetime */
    hs_arena scratch;       /* map-loop values, reset often */
    hs_value *params;       /* map in arena */
    hs_tool_output *out;    /* borrowed */
    hs_buf vbuf;
    bool failed;
    size_t open_iters; /* iterators open: they share HS__TOOL_BUDGET */
};

/* ------------------------------------------------------------------ job */

hs_interval hs_tool_interval(const hs_tool_ctx *ctx)
{
    return ctx->job->interval;
}

size_t hs_tool_nsources(const hs_tool_ctx *ctx)
{
    return ctx->job->nsources;
}

const hs_streamid *hs_tool_source(const hs_tool_ctx *ctx, size_t i)
{
    return i < ctx->job->nsources ? ctx->job->sources[i] : NULL;
}

hs_arena *hs_tool_arena(hs_tool_ctx *ctx)
{
    return &ctx->arena;
}

hs_arena *hs_tool_scratch(hs_tool_ctx *ctx)
{
    return &ctx->scratch;
}

const hs_value *hs_tool_params(const hs_tool_ctx *ctx)
{
    return ctx->params;
}

const hs_value *hs_tool_param_value(const hs_tool_ctx *ctx, const char *name)
{
    const hs_value *v = hs_value_map_get(ctx->params, name, strlen(name));
    return v != NULL && v->type != HS_V_NIL ? v : NULL;
}

static int hs__param_bad(hs_tool_ctx *ctx, const char *name, const char *want)
{
    return hs_tool_fail(ctx, "parameter '%s' of %s must be %s", name, ctx->job->def->name, want);
}

int hs_tool_param_double(hs_tool_ctx *ctx, const char *name, double *out)
{
    const hs_value *v = hs_tool_param_value(ctx, name);
    if (v == NULL)
        return HS_ERR_NOTFOUND;
    if ((v->type != HS_V_INT && v->type != HS_V_FLOAT) || hs_value_to_double(v, out) != HS_OK)
        return hs__param_bad(ctx, name, "a number");
    return HS_OK;
}

int hs_tool_param_int(hs_tool_ctx *ctx, const char *name, int64_t *out)
{
    const hs_value *v = hs_tool_param_value(ctx, name);
    if (v == NULL)
        return HS_ERR_NOTFOUND;
    if (v->type == HS_V_FLOAT && v->u.f == (double)(int64_t)v->u.f) {
        *out = (int64_t)v->u.f;
        return HS_OK;
    }
    if (v->type != HS_V_INT)
        return hs__param_bad(ctx, name, "an integer");
    *out = v->u.i;
    return HS_OK;
}

int hs_tool_param_bool(hs_tool_ctx *ctx, const char *name, bool *out)
{
    const hs_value *v = hs_tool_param_value(ctx, name);
    if (v == NULL)
        return HS_ERR_NOTFOUND;
    if (v->type != HS_V_BOOL)
        return hs__param_bad(ctx, name, "true or false");
    *out = v->u.b;
    return HS_OK;
}

int hs_tool_param_string(hs_tool_ctx *ctx, const char *name, const char **out)
{
    const hs_value *v = hs_tool_param_value(ctx, name);
    if (v == NULL)
        return HS_ERR_NOTFOUND;
    if (v->type != HS_V_STR)
        return hs__param_bad(ctx, name, "a string");
    char *s = hs_arena_strndup(&ctx->arena, v->u.s, v->len);
    if (s == NULL)
        return HS_ERR_NOMEM;
    *out = s;
    return HS_OK;
}

int hs_tool_param_duration(hs_tool_ctx *ctx, const char *name, int64_t *out_us)
{
    const hs_value *v = hs_tool_param_value(ctx, name);
    if (v == NULL)
        return HS_ERR_NOTFOUND;
    if (v->type == HS_V_INT || v->type == HS_V_FLOAT) {
        double d;
        hs_value_to_double(v, &d);
        if (d * 1e6 > 9e18 || d * 1e6 < -9e18)
            return hs__param_bad(ctx, name, "a duration");
        *out_us = (int64_t)(d * 1e6 + (d >= 0 ? 0.5 : -0.5));
        return HS_OK;
    }
    if (v->type != HS_V_STR || hs_duration_parse(v->u.s, v->len, out_us) != HS_OK)
        return hs__param_bad(ctx, name, "a duration such as \"10s\" or \"1h30m\"");
    return HS_OK;
}

int hs_tool_param_time(hs_tool_ctx *ctx, const char *name, int64_t *out_us)
{
    const hs_value *v = hs_tool_param_value(ctx, name);
    if (v == NULL)
        return HS_ERR_NOTFOUND;
    if (v->type == HS_V_INT) {
        if (v->u.i > HS_TIME_MAX / HS_US_PER_S || v->u.i < HS_TIME_MIN / HS_US_PER_S)
            return hs__param_bad(ctx, name, "a time");
        *out_us = v->u.i * HS_US_PER_S;
        return HS_OK;
    }
    if (v->type == HS_V_STR && (hs_time_parse_iso(v->u.s, v->len, out_us) == HS_OK ||
                                hs_time_parse_epoch(v->u.s, v->len, out_us) == HS_OK))
        return HS_OK;
    return hs__param_bad(ctx, name, "a time (ISO-8601 or epoch seconds)");
}

/* ------------------------------------------------------------------ reading */

int hs_tool_iter_open(hs_tool_ctx *ctx, size_t source, hs_interval range, hs_tool_iter *it)
{
    memset(it, 0, sizeof *it);
    it->ctx = ctx;
    it->source = source;
    it->after = range.start;
    it->end = range.end;
    hs_batch_init(&it->chunk);
    ctx->open_iters++;
    bool ok = source < ctx->job->nsources ||
              (source == HS_TOOL_ALIGNMENT && ctx->job->has_alignment) ||
              (source == HS_TOOL_SPLITTING && ctx->job->has_splitting);
    if (!ok) {
        it->exhausted = true;
        it->err =
            hs_tool_fail(ctx, "%s reads a source the factor does not give", ctx->job->def->name);
        return it->err;
    }
    it->exhausted = range.start >= range.end;
    return HS_OK;
}

int hs_tool_iter_next(hs_tool_iter *it, int64_t *t, const uint8_t **v, size_t *len)
{
    if (it->err != HS_OK)
        return it->err;
    if (it->pos >= it->chunk.n) {
        if (it->exhausted)
            return 0;
        hs_batch_reset(&it->chunk);
        it->pos = 0;
        size_t open = it->ctx->open_iters ? it->ctx->open_iters : 1;
        size_t max = HS__TOOL_BUDGET / open;
        max = max < HS__TOOL_CHUNK_MIN ? HS__TOOL_CHUNK_MIN
              : max > HS__TOOL_CHUNK   ? HS__TOOL_CHUNK
                                       : max;
        int rc = it->ctx->job->read(it->ctx->job->read_ud, it->source, it->after, it->end, max,
                                    &it->chunk);
        if (rc != HS_OK) {
            char msg[400];
            it->err = hs_tool_fail(it->ctx, "reading a source failed: %s",
                                   hs_err_describe(rc, msg, sizeof msg));
            return it->err;
        }
        if (it->chunk.n < max)
            it->exhausted = true;
        if (it->chunk.n == 0)
            return 0;
        it->after = it->chunk.items[it->chunk.n - 1].t_us;
    }
    *t = it->chunk.items[it->pos].t_us;
    *v = hs_batch_value(&it->chunk, it->pos);
    *len = it->chunk.items[it->pos].len;
    it->pos++;
    return 1;
}

int hs_tool_iter_next_value(hs_tool_iter *it, int64_t *t, hs_value **v)
{
    const uint8_t *p;
    size_t len;
    int rc = hs_tool_iter_next(it, t, &p, &len);
    if (rc != 1)
        return rc;
    int d = hs_value_decode(&it->ctx->arena, p, len, v);
    if (d != HS_OK)
        return it->err =
                   hs_tool_fail(it->ctx, "a stored value cannot be decoded: %s", hs_err_detail());
    return 1;
}

void hs_tool_iter_close(hs_tool_iter *it)
{
    if (it->ctx != NULL && it->ctx->open_iters > 0)
        it->ctx->open_iters--;
    it->ctx = NULL;
    hs_batch_free(&it->chunk);
}

int hs_tool_last(hs_tool_ctx *ctx, size_t source, hs_interval range, int64_t *t, hs_value **v)
{
    hs_tool_iter it;
    int rc = hs_tool_iter_open(ctx, source, range, &it);
    if (rc != HS_OK) {
        hs_tool_iter_close(&it);
        return rc;
    }
    const uint8_t *lp = NULL;
    size_t llen = 0;
    int64_t lt = 0;
    /* Keep a copy of the last value: chunks are replaced while iterating. */
    hs_buf last;
    hs_buf_init(&last, 0);
    const uint8_t *p = NULL;
    size_t len = 0;
    int64_t tt = 0;
    while ((rc = hs_tool_iter_next(&it, &tt, &p, &len)) == 1) {
        hs_buf_reset(&last);
        if (hs_buf_append(&last, p, len) != HS_OK) {
            rc = HS_ERR_NOMEM;
            break;
        }
        lt = tt;
        lp = last.data;
        llen = len;
    }
    hs_tool_iter_close(&it);
    if (rc == 0 && lp != NULL) {
        rc = hs_value_decode(&ctx->arena, lp, llen, v);
        if (rc == HS_OK) {
            /* The decoded strings point into `last`: clone into the arena. */
            *v = hs_value_clone(&ctx->arena, *v);
            rc = *v != NULL ? 1 : HS_ERR_NOMEM;
            *t = lt;
        }
    }
    hs_buf_free(&last);
    return rc;
}

/* ------------------------------------------------------------------ writing */

size_t hs_tool_nsinks(const hs_tool_ctx *ctx)
{
    return ctx->job->nsinks;
}

const hs_streamid *hs_tool_sink(const hs_tool_ctx *ctx, size_t i)
{
    return i < ctx->job->nsinks ? ctx->job->sinks[i] : NULL;
}

const char *hs_tool_output_meta(const hs_tool_ctx *ctx)
{
    return ctx->job->output_meta;
}

const char *hs_tool_sink_value(const hs_tool_ctx *ctx, size_t i)
{
    if (i >= ctx->job->nsinks || ctx->job->output_meta == NULL)
        return NULL;
    return hs_streamid_get(ctx->job->sinks[i], ctx->job->output_meta);
}

long hs_tool_sink_for(const hs_tool_ctx *ctx, const char *value, size_t len)
{
    for (size_t i = 0; i < ctx->job->nsinks; i++) {
        const char *v = hs_tool_sink_value(ctx, i);
        if (v != NULL && strlen(v) == len && memcmp(v, value, len) == 0)
            return (long)i;
    }
    return -1;
}

int hs_tool_emit_to(hs_tool_ctx *ctx, size_t sink, int64_t t, const uint8_t *v, size_t len)
{
    if (sink >= ctx->out->nsinks)
        return hs_tool_fail(ctx, "%s emitted to sink %zu of %zu", ctx->job->def->name, sink,
                            ctx->out->nsinks);
    if (!hs_interval_contains_point(ctx->job->interval, t)) {
        hs_tool_warn(ctx, "an output at %lld lies outside the job interval and was dropped",
                     (long long)t);
        return HS_OK;
    }
    return hs_batch_push(&ctx->out->per_sink[sink], t, v, len);
}

int hs_tool_emit(hs_tool_ctx *ctx, int64_t t, const uint8_t *v, size_t len)
{
    return hs_tool_emit_to(ctx, 0, t, v, len);
}

int hs_tool_emit_value_to(hs_tool_ctx *ctx, size_t sink, int64_t t, const hs_value *v)
{
    hs_buf_reset(&ctx->vbuf);
    int rc = hs_value_encode(v, &ctx->vbuf);
    if (rc != HS_OK)
        return hs_tool_fail(ctx, "%s produced a value that cannot be encoded", ctx->job->def->name);
    return hs_tool_emit_to(ctx, sink, t, ctx->vbuf.data, ctx->vbuf.len);
}

int hs_tool_emit_value(hs_tool_ctx *ctx, int64_t t, const hs_value *v)
{
    return hs_tool_emit_value_to(ctx, 0, t, v);
}

int hs_tool_emit_double(hs_tool_ctx *ctx, int64_t t, double d)
{
    hs_buf_reset(&ctx->vbuf);
    int rc = hs_mp_put_double(&ctx->vbuf, d);
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, ctx->vbuf.data, ctx->vbuf.len);
}

int hs_tool_emit_int(hs_tool_ctx *ctx, int64_t t, int64_t i)
{
    hs_buf_reset(&ctx->vbuf);
    int rc = hs_mp_put_int(&ctx->vbuf, i);
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, ctx->vbuf.data, ctx->vbuf.len);
}

int hs_tool_emit_plate_value(hs_tool_ctx *ctx, const char *value, size_t len)
{
    hs_tool_output *o = ctx->out;
    if (hs_streamid_check_part(value, len, "value") != HS_OK)
        return hs_tool_fail(ctx, "plate value is not usable in stream ids: %s", hs_err_detail());
    for (size_t i = 0; i < o->nplate_values; i++)
        if (strlen(o->plate_values[i]) == len && memcmp(o->plate_values[i], value, len) == 0)
            return HS_OK;
    char **nv = hs_realloc(o->plate_values, (o->nplate_values + 1) * sizeof *nv);
    if (nv == NULL)
        return HS_ERR_NOMEM;
    o->plate_values = nv;
    nv[o->nplate_values] = hs_strndup(value, len);
    if (nv[o->nplate_values] == NULL)
        return HS_ERR_NOMEM;
    o->nplate_values++;
    return HS_OK;
}

int hs_tool_fail(hs_tool_ctx *ctx, const char *fmt, ...)
{
    if (!ctx->failed) {
        char tmp[4 * sizeof ctx->out->error];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(tmp, sizeof tmp, fmt, ap);
        va_end(ap);
        /* Cut on a character boundary, with an ellipsis: it travels as JSON and msgpack text. */
        hs_utf8_cut(ctx->out->error, sizeof ctx->out->error, tmp);
        ctx->failed = true;
    }
    return HS_ERR_TOOL;
}

void hs_tool_warn(hs_tool_ctx *ctx, const char *fmt, ...)
{
    if (ctx->out->warnings++ == 0) {
        char tmp[4 * sizeof ctx->out->warning];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(tmp, sizeof tmp, fmt, ap);
        va_end(ap);
        hs_utf8_cut(ctx->out->warning, sizeof ctx->out->warning, tmp);
    }
}

/* ------------------------------------------------------------------ running */

void hs_tool_output_init(hs_tool_output *o)
{
    memset(o, 0, sizeof *o);
}

void hs_tool_output_free(hs_tool_output *o)
{
    for (size_t i = 0; i < o->nsinks; i++)
        hs_batch_free(&o->per_sink[i]);
    hs_free(o->per_sink);
    for (size_t i = 0; i < o->nplate_values; i++)
        hs_free(o->plate_values[i]);
    hs_free(o->plate_values);
    memset(o, 0, sizeof *o);
}

/* Builds ctx->params: the given map plus the defaults of missing parameters. */
static int hs__tool_params(hs_tool_ctx *ctx)
{
    const hs_tool_job *job = ctx->job;
    hs_value *given = NULL;
    if (job->params != NULL && job->params_len > 0) {
        int rc = hs_value_decode(&ctx->arena, job->params, job->params_len, &given);
        if (rc != HS_OK || given->type != HS_V_MAP)
            return hs_tool_fail(ctx, "the parameters of %s are not a map", job->def->name);
    }
    uint32_t ngiven = given ? given->len : 0, ndef = 0;
    for (const hs_tool_param *p = job->def->params; p && p->name; p++)
        ndef++;
    hs_value *m = hs_value_map(&ctx->arena, ngiven + ndef);
    if (m == NULL)
        return HS_ERR_NOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < ngiven; i++) {
        m->u.items[2 * n] = given->u.items[2 * i];
        m->u.items[2 * n + 1] = given->u.items[2 * i + 1];
        n++;
    }
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    for (const hs_tool_param *p = job->def->params; p && p->name; p++) {
        if (given != NULL && hs_value_map_get(given, p->name, strlen(p->name)) != NULL)
            continue;
        if (p->def == NULL)
            continue; /* required: checked by hs_tool_check_params */
        hs_buf_reset(&tmp);
        hs_value *dv;
        if (hs_json_to_mpack(p->def, strlen(p->def), &tmp) != HS_OK ||
            hs_value_decode(&ctx->arena, tmp.data, tmp.len, &dv) != HS_OK) {
            hs_buf_free(&tmp);
            return hs_tool_fail(ctx, "tool %s has a bad default for '%s'", job->def->name, p->name);
        }
        /* Decoded strings point into tmp: clone into the arena. */
        dv = hs_value_clone(&ctx->arena, dv);
        hs_value *key = hs_value_str(&ctx->arena, p->name, strlen(p->name));
        if (dv == NULL || key == NULL) {
            hs_buf_free(&tmp);
            return HS_ERR_NOMEM;
        }
        m->u.items[2 * n] = *key;
        m->u.items[2 * n + 1] = *dv;
        n++;
    }
    hs_buf_free(&tmp);
    m->len = n;
    ctx->params = m;
    return HS_OK;
}

static int hs__inst_cmp(const void *a, const void *b)
{
    const hs_inst *x = a, *y = b;
    return x->t_us < y->t_us ? -1 : x->t_us > y->t_us;
}

/* Sorts a sink's output and drops repeated timestamps (the first wins). */
static void hs__tool_finish_sink(hs_tool_ctx *ctx, hs_batch *b)
{
    bool sorted = true;
    for (size_t i = 1; i < b->n && sorted; i++)
        sorted = b->items[i - 1].t_us <= b->items[i].t_us;
    if (!sorted)
        hs_batch_sort(b);
    (void)hs__inst_cmp;
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (k > 0 && b->items[k - 1].t_us == b->items[i].t_us) {
            hs_tool_warn(ctx, "%s emitted two values at one timestamp; the first is kept",
                         ctx->job->def->name);
            continue;
        }
        b->items[k++] = b->items[i];
    }
    b->n = k;
}

int hs_tool_run(const hs_tool_job *job, hs_tool_output *out)
{
    hs_tool_output_init(out);
    hs_tool_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.job = job;
    ctx.out = out;
    hs_arena_init(&ctx.arena, 0, 0);
    hs_arena_init(&ctx.scratch, 0, 0);
    hs_buf_init(&ctx.vbuf, 0);
    int rc = HS_OK;
    if (job->nsinks == 0 && job->def->kind != HS_TOOL_PLATE)
        rc = hs_tool_fail(&ctx, "job of %s has no sink", job->def->name);
    if (rc == HS_OK && job->nsinks > 0) {
        out->per_sink = hs_calloc(job->nsinks, sizeof *out->per_sink);
        if (out->per_sink == NULL)
            rc = HS_ERR_NOMEM;
        else
            out->nsinks = job->nsinks;
        for (size_t i = 0; i < out->nsinks; i++)
            hs_batch_init(&out->per_sink[i]);
    }
    if (rc == HS_OK)
        rc = hs__tool_params(&ctx);
    void *state = NULL;
    bool inited = false;
    if (rc == HS_OK && job->def->init != NULL) {
        rc = job->def->init(&ctx, &state);
        inited = true;
    }
    if (rc == HS_OK && job->def->run != NULL) {
        rc = job->def->run(&ctx, state);
    } else if (rc == HS_OK && job->def->map != NULL) {
        hs_tool_iter it;
        rc = hs_tool_iter_open(&ctx, 0, job->interval, &it);
        const uint8_t *p;
        size_t len;
        int64_t t;
        size_t since_reset = 0;
        int r;
        while (rc == HS_OK && (r = hs_tool_iter_next(&it, &t, &p, &len)) == 1) {
            if (++since_reset == 256) {
                hs_arena_reset(&ctx.scratch);
                since_reset = 0;
            }
            hs_value *v;
            rc = hs_value_decode(&ctx.scratch, p, len, &v);
            if (rc != HS_OK) {
                rc = hs_tool_fail(&ctx, "a stored value cannot be decoded: %s", hs_err_detail());
                break;
            }
            rc = job->def->map(&ctx, state, t, v);
        }
        if (rc == HS_OK && r < 0)
            rc = r;
        hs_tool_iter_close(&it);
    } else if (rc == HS_OK) {
        rc = hs_tool_fail(&ctx, "tool %s has neither run nor map", job->def->name);
    }
    if (inited && job->def->fini != NULL)
        job->def->fini(state);
    if (rc == HS_OK && !ctx.failed) {
        for (size_t i = 0; i < out->nsinks; i++)
            hs__tool_finish_sink(&ctx, &out->per_sink[i]);
    } else {
        if (!ctx.failed) {
            char msg[400];
            hs_tool_fail(&ctx, "%s failed: %s", job->def->name,
                         hs_err_describe(rc, msg, sizeof msg));
        }
        rc = HS_ERR_TOOL;
    }
    hs_arena_free(&ctx.arena);
    hs_arena_free(&ctx.scratch);
    hs_buf_free(&ctx.vbuf);
    return rc;
}

/* ------------------------------------------------------------------ checks */

static const char *hs__ptype_name(hs_param_type t)
{
    switch (t) {
    case HS_P_ANY:
        return "any value";
    case HS_P_NUMBER:
        return "a number";
    case HS_P_INT:
        return "an integer";
    case HS_P_BOOL:
        return "true or false";
    case HS_P_STRING:
        return "a string";
    case HS_P_DURATION:
        return "a duration (\"10s\", \"1h30m\" or seconds)";
    case HS_P_TIME:
        return "a time (ISO-8601 or epoch seconds)";
    case HS_P_FUNC:
        return "a function name or \"lua: ...\"";
    case HS_P_LIST:
        return "a list";
    case HS_P_MAP:
        return "a map";
    }
    return "?";
}

static bool hs__ptype_ok(hs_param_type t, const hs_value *v)
{
    int64_t tmp;
    switch (t) {
    case HS_P_ANY:
        return true;
    case HS_P_NUMBER:
        return v->type == HS_V_INT || v->type == HS_V_FLOAT;
    case HS_P_INT:
        return v->type == HS_V_INT;
    case HS_P_BOOL:
        return v->type == HS_V_BOOL;
    case HS_P_STRING:
    case HS_P_FUNC:
        return v->type == HS_V_STR;
    case HS_P_DURATION:
        return v->type == HS_V_INT || v->type == HS_V_FLOAT ||
               (v->type == HS_V_STR && hs_duration_parse(v->u.s, v->len, &tmp) == HS_OK);
    case HS_P_TIME:
        return v->type == HS_V_INT ||
               (v->type == HS_V_STR && (hs_time_parse_iso(v->u.s, v->len, &tmp) == HS_OK ||
                                        hs_time_parse_epoch(v->u.s, v->len, &tmp) == HS_OK));
    case HS_P_LIST:
        return v->type == HS_V_ARRAY;
    case HS_P_MAP:
        return v->type == HS_V_MAP;
    }
    return false;
}

const char *hs_tool_suggest(const char *word, size_t len, const char *const *words, size_t n)
{
    /* A near miss: at most one edit in short words, two in longer ones. */
    size_t limit = len <= 4 ? 1 : 2, best = limit + 1;
    const char *found = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t d = hs_text_distance(word, len, words[i], strlen(words[i]), limit);
        if (d < best) {
            best = d;
            found = words[i];
        }
    }
    return found;
}

int hs_tool_check_choice(const hs_value *v, const char *const *words, size_t n, hs_buf *err)
{
    if (v->type != HS_V_STR)
        return HS_OK; /* the type is checked before */
    for (size_t i = 0; i < n; i++)
        if (strlen(words[i]) == v->len && memcmp(words[i], v->u.s, v->len) == 0)
            return HS_OK;
    int rc = hs_json_put_string(err, v->u.s, v->len);
    if (rc == HS_OK)
        rc = hs_buf_puts(err, " is not one of ");
    for (size_t i = 0; rc == HS_OK && i < n; i++)
        rc = hs_buf_printf(err, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", words[i]);
    const char *near = hs_tool_suggest(v->u.s, v->len, words, n);
    if (rc == HS_OK && near != NULL)
        rc = hs_buf_printf(err, "; did you mean \"%s\"?", near);
    return rc == HS_OK ? HS_ERR_SCHEMA : rc;
}

int hs_tool_check_param(const hs_tool_def *def, const char *name, size_t name_len,
                        const hs_value *v, hs_buf *err)
{
    const hs_tool_param *p = def->params;
    while (p && p->name && (strlen(p->name) != name_len || memcmp(p->name, name, name_len) != 0))
        p++;
    int rc;
    if (p == NULL || p->name == NULL) {
        rc = hs_buf_printf(err, "unknown parameter '%.*s' for tool %s %s (known:", (int)name_len,
                           name, def->name, def->version);
        size_t n = 0;
        for (const hs_tool_param *q = def->params; rc == HS_OK && q && q->name; q++, n++)
            rc = hs_buf_printf(err, " %s", q->name);
        if (rc == HS_OK)
            rc = hs_buf_puts(err, n > 0 ? ")" : " none)");
        /* The names as a list for the suggestion (tools have a few parameters). */
        const char *names[64];
        size_t k = 0;
        for (const hs_tool_param *q = def->params; q && q->name && k < 64; q++)
            names[k++] = q->name;
        const char *near = hs_tool_suggest(name, name_len, names, k);
        if (rc == HS_OK && near != NULL)
            rc = hs_buf_printf(err, "; did you mean '%s'?", near);
        return rc == HS_OK ? HS_ERR_SCHEMA : rc;
    }
    if (v->type == HS_V_NIL)
        return HS_OK; /* null: the default */
    if (!hs__ptype_ok(p->type, v)) {
        rc = hs_buf_printf(err, "parameter '%s' of tool %s %s must be %s", p->name, def->name,
                           def->version, hs__ptype_name(p->type));
        return rc == HS_OK ? HS_ERR_SCHEMA : rc;
    }
    if (def->check_param == NULL)
        return HS_OK;
    hs_buf why;
    hs_buf_init(&why, 0);
    rc = def->check_param(p->name, v, &why);
    if (rc != HS_OK) {
        int w = hs_buf_printf(err, "tool %s %s parameter %s: %s", def->name, def->version, p->name,
                              why.len > 0 ? hs_buf_cstr(&why) : "rejected by the tool");
        if (w != HS_OK)
            rc = w;
    }
    hs_buf_free(&why);
    return rc;
}

int hs_tool_check_required(const hs_tool_def *def, const hs_value *params, hs_buf *err)
{
    int rc = HS_OK;
    for (const hs_tool_param *p = def->params; p && p->name; p++) {
        if (p->def == NULL && (params == NULL || params->type != HS_V_MAP ||
                               hs_value_map_get(params, p->name, strlen(p->name)) == NULL)) {
            int w =
                hs_buf_printf(err, "%stool %s needs parameter '%s' (%s)", err->len > 0 ? "; " : "",
                              def->name, p->name, p->help ? p->help : hs__ptype_name(p->type));
            rc = w == HS_OK ? HS_ERR_SCHEMA : w;
        }
    }
    return rc;
}

int hs_tool_check_params(const hs_tool_def *def, const uint8_t *params, size_t len, hs_buf *err)
{
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value *m = NULL;
    int rc = HS_OK;
    if (params != NULL && len > 0) {
        rc = hs_value_decode(&a, params, len, &m);
        if (rc != HS_OK || m->type != HS_V_MAP) {
            hs_buf_printf(err, "parameters of %s must be a map", def->name);
            hs_arena_free(&a);
            return HS_ERR_SCHEMA;
        }
    }
    hs_buf one;
    hs_buf_init(&one, 0);
    for (uint32_t i = 0; m != NULL && i < m->len; i++) {
        const hs_value *k = &m->u.items[2 * i];
        hs_buf_reset(&one);
        int r = hs_tool_check_param(def, k->u.s, k->len, &m->u.items[2 * i + 1], &one);
        if (r == HS_OK)
            continue;
        rc = r;
        if (hs_buf_printf(err, "%s%s", err->len > 0 ? "; " : "", hs_buf_cstr(&one)) != HS_OK)
            rc = HS_ERR_NOMEM;
    }
    hs_buf_free(&one);
    int r = hs_tool_check_required(def, m, err);
    if (r != HS_OK)
        rc = r;
    hs_arena_free(&a);
    return rc;
}

int hs_tool_version_parse(const char *v, int *major, int *minor, int *patch)
{
    int a = 0, b = 0, c = 0, n = 0;
    char tail;
    if (v == NULL)
        return HS_ERR_PARSE;
    if (v[0] == 'v')
        v++;
    n = sscanf(v, "%d.%d.%d%c", &a, &b, &c, &tail);
    if (n == 2 || n == 3) {
        if (a < 0 || b < 0 || c < 0)
            return hs_err_set(HS_ERR_PARSE, "version '%s' has a negative part", v);
        /* Reject trailing junk after two parts ("1.2x"). */
        char buf[64];
        if (n == 2)
            snprintf(buf, sizeof buf, "%d.%d", a, b);
        else
            snprintf(buf, sizeof buf, "%d.%d.%d", a, b, c);
        if (strcmp(buf, v) != 0)
            return hs_err_set(HS_ERR_PARSE, "version '%s' is not major.minor[.patch]", v);
        *major = a;
        *minor = b;
        *patch = n == 3 ? c : 0;
        return HS_OK;
    }
    return hs_err_set(HS_ERR_PARSE, "version '%s' is not major.minor[.patch]", v);
}

/* ------------------------------------------------------------------ registry */

struct hs_tool_registry {
    const hs_tool_def **defs; /* borrowed; by name, then newest version first */
    size_t n, cap;
    void **handles; /* dlopen handles of plugins */
    size_t nh;
};

int hs_tool_registry_create(hs_tool_registry **out)
{
    *out = hs_calloc(1, sizeof **out);
    return *out ? HS_OK : HS_ERR_NOMEM;
}

void hs_tool_registry_destroy(hs_tool_registry *r)
{
    if (r == NULL)
        return;
    hs_free(r->defs);
    for (size_t i = 0; i < r->nh; i++)
        dlclose(r->handles[i]);
    hs_free(r->handles);
    hs_free(r);
}

/*
 * Order of the registry: name ascending, then version descending (major,
 * minor, patch), so that the first entry of a name is its newest version.
 * Versions of registered definitions were parsed when they were added.
 */
static int hs__reg_cmp(const hs_tool_def *a, const hs_tool_def *b)
{
    int c = strcmp(a->name, b->name);
    if (c != 0)
        return c;
    int am = 0, an = 0, ap = 0, bm = 0, bn = 0, bp = 0;
    (void)hs_tool_version_parse(a->version, &am, &an, &ap);
    (void)hs_tool_version_parse(b->version, &bm, &bn, &bp);
    if (am != bm)
        return am > bm ? -1 : 1;
    if (an != bn)
        return an > bn ? -1 : 1;
    return ap > bp ? -1 : ap < bp ? 1 : 0;
}

/* Index of the first (newest) definition named name, or r->n. */
static size_t hs__reg_first(const hs_tool_registry *r, const char *name)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r->defs[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->n && strcmp(r->defs[lo]->name, name) == 0 ? lo : r->n;
}

int hs_tool_registry_add(hs_tool_registry *r, const hs_tool_def *def)
{
    if (def == NULL || def->name == NULL || def->version == NULL)
        return hs_err_set(HS_ERR_INVAL, "tool definition without name or version");
    int a, b, c;
    if (hs_tool_version_parse(def->version, &a, &b, &c) != HS_OK)
        return hs_err_set(HS_ERR_INVAL, "tool %s: bad version '%s'", def->name, def->version);
    if (hs_streamid_check_part(def->name, strlen(def->name), "name") != HS_OK)
        return hs_err_set(HS_ERR_INVAL, "tool name '%s' is not usable in topics", def->name);
    size_t i = 0;
    while (i < r->n && hs__reg_cmp(r->defs[i], def) < 0)
        i++;
    /* Streams are bound to major.minor: two patches of one binding cannot be told apart. */
    for (size_t k = hs__reg_first(r, def->name);
         k < r->n && strcmp(r->defs[k]->name, def->name) == 0; k++) {
        int km, kn, kp;
        if (hs_tool_version_parse(r->defs[k]->version, &km, &kn, &kp) == HS_OK && km == a &&
            kn == b)
            return hs_err_set(HS_ERR_EXISTS, "tool %s version %d.%d is defined twice (%s and %s)",
                              def->name, a, b, r->defs[k]->version, def->version);
    }
    if (hs_grow(&r->defs, &r->cap, r->n + 1, sizeof *r->defs, 64) != HS_OK)
        return HS_ERR_NOMEM;
    memmove(&r->defs[i + 1], &r->defs[i], (r->n - i) * sizeof *r->defs);
    r->defs[i] = def;
    r->n++;
    return HS_OK;
}

const hs_tool_def *hs_tool_registry_find(const hs_tool_registry *r, const char *name)
{
    size_t i = hs__reg_first(r, name);
    return i < r->n ? r->defs[i] : NULL;
}

const hs_tool_def *hs_tool_registry_find_version(const hs_tool_registry *r, const char *name,
                                                 const char *version)
{
    int a, b, c;
    if (version == NULL || hs_tool_version_parse(version, &a, &b, &c) != HS_OK)
        return NULL;
    for (size_t k = hs__reg_first(r, name); k < r->n && strcmp(r->defs[k]->name, name) == 0; k++) {
        int km, kn, kp;
        if (hs_tool_version_parse(r->defs[k]->version, &km, &kn, &kp) == HS_OK && km == a &&
            kn == b)
            return r->defs[k];
    }
    return NULL;
}

int hs_tool_registry_versions(const hs_tool_registry *r, const char *name, hs_buf *out)
{
    int rc = HS_OK;
    for (size_t k = hs__reg_first(r, name);
         rc == HS_OK && k < r->n && strcmp(r->defs[k]->name, name) == 0; k++)
        rc =
            hs_buf_printf(out, "%s%s", k > 0 && strcmp(r->defs[k - 1]->name, name) == 0 ? ", " : "",
                          r->defs[k]->version);
    return rc;
}

size_t hs_tool_registry_count(const hs_tool_registry *r)
{
    return r->n;
}

const hs_tool_def *hs_tool_registry_at(const hs_tool_registry *r, size_t i)
{
    return i < r->n ? r->defs[i] : NULL;
}

typedef const hs_tool_def *const *(*hs__plugin_fn)(int api_version, size_t *n);

int hs_tool_registry_load_plugins(hs_tool_registry *r, const char *dir, hs_buf *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return HS_OK;
    struct dirent *e;
    int loaded = 0;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl < 4 || strcmp(e->d_name + nl - 3, ".so") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
            hs_buf_printf(err, "plugin %s: %s\n", path, dlerror());
            continue;
        }
        hs__plugin_fn fn;
        *(void **)(&fn) = dlsym(h, "hs_tool_plugin_tools");
        size_t n = 0;
        const hs_tool_def *const *defs = fn ? fn(HS_TOOL_API_VERSION, &n) : NULL;
        if (defs == NULL) {
            hs_buf_printf(err, "plugin %s: no hs_tool_plugin_tools() for API version %d\n", path,
                          HS_TOOL_API_VERSION);
            dlclose(h);
            continue;
        }
        void **nh = hs_realloc(r->handles, (r->nh + 1) * sizeof *nh);
        if (nh == NULL) {
            dlclose(h);
            closedir(d);
            return HS_ERR_NOMEM;
        }
        r->handles = nh;
        r->handles[r->nh++] = h;
        for (size_t i = 0; i < n; i++) {
            if (hs_tool_registry_add(r, defs[i]) != HS_OK)
                hs_buf_printf(err, "plugin %s: %s\n", path, hs_err_detail());
            else
                loaded++;
        }
    }
    closedir(d);
    (void)loaded;
    return HS_OK;
}
