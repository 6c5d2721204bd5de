#include "planner.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_time.h"

#include <string.h>

int planner_busy_push(planner_busy_list *l, hs_interval iv, void *job)
{
    if (hs_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v, 16) != HS_OK)
        return HS_ERR_NOMEM;
    l->v[l->n].iv = iv;
    l->v[l->n].job = job;
    l->n++;
    return HS_OK;
}

void planner_out_init(planner_out *o)
{
    o->v = NULL;
    o->n = o->cap = 0;
}

void planner_out_free(planner_out *o)
{
    hs_free(o->v);
    planner_out_init(o);
}

static int planner__emit(planner_out *o, size_t f, size_t u, hs_interval iv, bool join, void *job)
{
    if (hs_grow(&o->v, &o->cap, o->n + 1, sizeof *o->v, 64) != HS_OK)
        return HS_ERR_NOMEM;
    planner_job *j = &o->v[o->n++];
    j->factor = f;
    j->unit = u;
    j->iv = iv;
    j->join = join;
    j->job = job;
    return HS_OK;
}

hs_interval planner_read_range(const hs_workflow *wf, size_t f, hs_interval iv)
{
    int64_t back = wf->factors[f].lookback_us;
    hs_interval r = {iv.start - back, iv.end};
    if (iv.start < HS_TIME_MIN - 1 + back)
        r.start = HS_TIME_MIN - 1;
    return r;
}

/* Whether stream sid is produced by a unit of the workflow. */
static bool planner__produced(const planner_wf *w, const char *sid)
{
    return hs_map_get(w->producer, sid) != NULL;
}

/* Source k of a unit: its sources, then alignment, then splitting (either may be NULL). */
static const hs_streamid *planner__source(const hs_wf_unit *un, size_t k)
{
    return k < un->nsources ? un->sources[k] : k == un->nsources ? un->alignment : un->splitting;
}

/* Adds (a - back, b] of every interval of in to out. */
static int planner__widen(const hs_intervals *in, int64_t back, hs_intervals *out)
{
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < in->n; i++) {
        hs_interval iv = in->v[i];
        iv.start = iv.start < HS_TIME_MIN - 1 + back ? HS_TIME_MIN - 1 : iv.start - back;
        rc = hs_intervals_add(out, iv);
    }
    return rc;
}

/* need: map of stream id -> hs_intervals*; returns (creating) the entry, NULL without memory. */
static hs_intervals *planner__need(hs_map *need, const char *sid)
{
    hs_intervals *n = hs_map_get(need, sid);
    if (n != NULL)
        return n;
    n = hs_malloc(sizeof *n);
    if (n == NULL)
        return NULL;
    hs_intervals_init(n);
    if (hs_map_put(need, sid, n, NULL) != HS_OK) {
        hs_free(n);
        return NULL;
    }
    return n;
}

static void planner__need_free(hs_map *need)
{
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(need, &pos)) != NULL) {
        hs_intervals_free(e->value);
        hs_free(e->value);
    }
    hs_map_free(need);
}

/* *dst = *dst U add. */
static int planner__union_into(hs_intervals *dst, const hs_intervals *add)
{
    hs_intervals tmp;
    hs_intervals_init(&tmp);
    int rc = hs_intervals_union(dst, add, &tmp);
    hs_intervals_free(dst);
    *dst = tmp;
    return rc;
}

/* What unit (f, u) must compute: the union of its sinks' needs (req for plate creation). */
static int planner__unit_need(const planner_wf *w, hs_map *need, size_t f, size_t u,
                              hs_interval req, hs_intervals *out)
{
    const hs_wf_unit *un = &w->units[f][u];
    hs_intervals_clear(out);
    if (un->nsinks == 0)
        return w->wf->factors[f].sink == NULL ? hs_intervals_add(out, req) : HS_OK;
    for (size_t k = 0; k < un->nsinks; k++) {
        hs_intervals *n = hs_map_get(need, un->sinks[k]->canon);
        if (n == NULL)
            continue;
        int rc = planner__union_into(out, n);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

/* Pieces of iv cut at multiples of span from the epoch, appended to out. */
static int planner__cut(planner_out *out, size_t f, size_t u, hs_interval iv, int64_t span)
{
    int64_t a = iv.start;
    while (a < iv.end) {
        /* The next multiple of span strictly after a (floor division for negatives). */
        int64_t q = a / span;
        if (a % span != 0 && a < 0)
            q--;
        int64_t next = q + 1 > INT64_MAX / span ? INT64_MAX : (q + 1) * span;
        int64_t b = next < iv.end ? next : iv.end;
        hs_interval piece = {a, b};
        int rc = planner__emit(out, f, u, piece, false, NULL);
        if (rc != HS_OK)
            return rc;
        a = b;
    }
    return HS_OK;
}

/* The leaves: sinks that no unit reads need the requested interval. */
static int planner__leaves(const planner_wf *w, hs_interval req, hs_map *need)
{
    const hs_workflow *wf = w->wf;
    hs_map read;
    hs_map_init(&read);
    int rc = HS_OK;
    for (size_t f = 0; rc == HS_OK && f < wf->nfactors; f++)
        for (size_t u = 0; rc == HS_OK && u < w->nunits[f]; u++) {
            const hs_wf_unit *un = &w->units[f][u];
            for (size_t k = 0; rc == HS_OK && k < un->nsources + 2; k++) {
                const hs_streamid *src = planner__source(un, k);
                if (src != NULL)
                    rc = hs_map_put(&read, src->canon, (void *)1, NULL);
            }
        }
    for (size_t f = 0; rc == HS_OK && f < wf->nfactors; f++)
        for (size_t u = 0; rc == HS_OK && u < w->nunits[f]; u++) {
            const hs_wf_unit *un = &w->units[f][u];
            for (size_t k = 0; rc == HS_OK && k < un->nsinks; k++) {
                if (hs_map_get(&read, un->sinks[k]->canon) != NULL)
                    continue;
                hs_intervals *n = planner__need(need, un->sinks[k]->canon);
                rc = n ? hs_intervals_add(n, req) : HS_ERR_NOMEM;
            }
        }
    hs_map_free(&read);
    return rc;
}

/* Needs flow from readers to producers, in reverse dependency order, widened by lookback. */
static int planner__flow(const planner_wf *w, hs_interval req, hs_map *need)
{
    const hs_workflow *wf = w->wf;
    hs_intervals un_need, widened;
    hs_intervals_init(&un_need);
    hs_intervals_init(&widened);
    int rc = HS_OK;
    for (size_t oi = wf->nfactors; rc == HS_OK && oi-- > 0;) {
        size_t f = wf->order[oi];
        for (size_t u = 0; rc == HS_OK && u < w->nunits[f]; u++) {
            const hs_wf_unit *un = &w->units[f][u];
            rc = planner__unit_need(w, need, f, u, req, &un_need);
            if (rc != HS_OK || hs_intervals_is_empty(&un_need))
                continue;
            hs_intervals_clear(&widened);
            rc = planner__widen(&un_need, wf->factors[f].lookback_us, &widened);
            for (size_t k = 0; rc == HS_OK && k < un->nsources + 2; k++) {
                const hs_streamid *src = planner__source(un, k);
                if (src == NULL || !planner__produced(w, src->canon))
                    continue;
                hs_intervals *n = planner__need(need, src->canon);
                rc = n ? planner__union_into(n, &widened) : HS_ERR_NOMEM;
            }
        }
    }
    hs_intervals_free(&un_need);
    hs_intervals_free(&widened);
    return rc;
}

/* Calculated over all sinks of a unit (their intersection) into out. */
static int planner__calculated(const planner_wf *w, const planner_ops *ops, const hs_wf_unit *un,
                               hs_intervals *out)
{
    (void)w;
    hs_intervals_clear(out);
    int rc = HS_OK;
    for (size_t k = 0; rc == HS_OK && k < un->nsinks; k++) {
        const hs_intervals *c = ops->calculated(ops->ud, un->sinks[k]->canon);
        if (c == NULL)
            return HS_ERR_NOMEM;
        if (k == 0) {
            rc = hs_intervals_copy(out, c);
        } else {
            hs_intervals tmp;
            hs_intervals_init(&tmp);
            rc = hs_intervals_intersection(out, c, &tmp);
            hs_intervals_free(out);
            *out = tmp;
        }
    }
    return rc;
}

/* Jobs of one unit: need minus calculated minus work under way (joined when it overlaps). */
static int planner__unit_jobs(const planner_wf *w, const planner_ops *ops, size_t f, size_t u,
                              const hs_intervals *un_need, int64_t span, planner_out *out)
{
    const hs_wf_unit *un = &w->units[f][u];
    bool plate_creation = w->wf->factors[f].sink == NULL;
    hs_intervals missing, calc, busy, todo;
    hs_intervals_init(&missing);
    hs_intervals_init(&calc);
    hs_intervals_init(&busy);
    hs_intervals_init(&todo);
    planner_busy_list bl = {NULL, 0, 0};
    int rc;
    if (plate_creation) {
        rc = hs_intervals_copy(&missing, un_need);
    } else {
        rc = planner__calculated(w, ops, un, &calc);
        if (rc == HS_OK)
            rc = hs_intervals_difference(un_need, &calc, &missing);
    }
    if (rc == HS_OK)
        rc = ops->under_way(ops->ud, f, u, &bl);
    for (size_t i = 0; rc == HS_OK && i < bl.n; i++) {
        hs_interval iv = bl.v[i].iv;
        if (iv.start >= iv.end)
            continue;
        hs_intervals one = {&iv, 1, 1}; /* borrowed view, never freed */
        hs_intervals over;
        hs_intervals_init(&over);
        rc = hs_intervals_intersection(&missing, &one, &over);
        if (rc == HS_OK && !hs_intervals_is_empty(&over))
            rc = planner__emit(out, f, u, iv, true, bl.v[i].job);
        hs_intervals_free(&over);
        if (rc == HS_OK)
            rc = hs_intervals_add(&busy, iv);
    }
    if (rc == HS_OK)
        rc = hs_intervals_difference(&missing, &busy, &todo);
    for (size_t i = 0; rc == HS_OK && i < todo.n; i++)
        rc = planner__cut(out, f, u, todo.v[i], span);
    hs_free(bl.v);
    hs_intervals_free(&missing);
    hs_intervals_free(&calc);
    hs_intervals_free(&busy);
    hs_intervals_free(&todo);
    return rc;
}

int planner_plan(const planner_wf *w, hs_interval req, int64_t job_span_us, const planner_ops *ops,
                 planner_out *out)
{
    if (w == NULL || ops == NULL || out == NULL || job_span_us <= 0 || req.start >= req.end)
        return hs_err_set(HS_ERR_INVAL, "planner_plan: bad arguments");
    const hs_workflow *wf = w->wf;
    hs_map need;
    hs_map_init(&need);
    int rc = planner__leaves(w, req, &need);
    if (rc == HS_OK)
        rc = planner__flow(w, req, &need);
    hs_intervals un_need;
    hs_intervals_init(&un_need);
    for (size_t oi = 0; rc == HS_OK && oi < wf->nfactors; oi++) {
        size_t f = wf->order[oi];
        bool plate_creation = wf->factors[f].sink == NULL;
        for (size_t u = 0; rc == HS_OK && u < w->nunits[f]; u++) {
            /* A split onto a plate that has no values below this one yet: nothing to do. */
            if (w->units[f][u].nsinks == 0 && !plate_creation)
                continue;
            rc = planner__unit_need(w, &need, f, u, req, &un_need);
            if (rc == HS_OK && !hs_intervals_is_empty(&un_need))
                rc = planner__unit_jobs(w, ops, f, u, &un_need, job_span_us, out);
        }
    }
    hs_intervals_free(&un_need);
    planner__need_free(&need);
    return rc;
}

/* Whether plate a is plate b or one of its ancestors. */
static bool planner__plate_at_or_above(const hs_workflow *wf, int a, int b)
{
    for (int p = b; p >= 0; p = wf->plates[p].parent_idx)
        if (p == a)
            return true;
    return false;
}

bool planner_waits_for_plate(const planner_wf *w, size_t f, size_t u, size_t g, size_t v)
{
    const hs_workflow *wf = w->wf;
    if (f == g || f >= wf->nfactors || g >= wf->nfactors || u >= w->nunits[f] || v >= w->nunits[g])
        return false;
    const hs_wf_factor *fa = &wf->factors[f], *ga = &wf->factors[g];
    if (ga->sink != NULL || ga->output_plate_idx < 0 || fa->def == NULL)
        return false;
    if (fa->def->kind != HS_TOOL_AGGREGATE && fa->def->kind != HS_TOOL_SELECTOR)
        return false;
    int over = fa->in_plate; /* the plate aggregated over */
    /* g creates values of the plate aggregated over, or of one between it and f's sink plate. */
    if (over < 0 || !planner__plate_at_or_above(wf, ga->output_plate_idx, over) ||
        planner__plate_at_or_above(wf, ga->output_plate_idx, fa->sink_plate))
        return false;
    return hs_pv_compatible(&w->units[f][u].pv, &w->units[g][v].pv);
}

void planner_group(const hs_wf_unit *members, size_t n, size_t per, size_t max_sources,
                   size_t *first, size_t *nunits)
{
    size_t nu = 0, in = 0, nsrc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t ms = members[i].nsources;
        if (in > 0 && (in >= per || nsrc + ms > max_sources)) {
            in = 0;
            nsrc = 0;
        }
        if (in == 0)
            first[nu++] = i;
        in++;
        nsrc += ms;
    }
    first[nu] = n;
    *nunits = nu;
}
