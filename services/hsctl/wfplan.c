/* The plan of replacing a stored workflow (see wfplan.h). */
#include "wfplan.h"

#include "hs_alloc.h"
#include "hs_error.h"

#include <string.h>

/* The node a factor produces: its sink, or the plate a plate creation fills. */
static const char *factor_node(const hs_wf_factor *f)
{
    return f->sink != NULL ? f->sink : f->output_plate != NULL ? f->output_plate : "";
}

/* The id of a factor's sink plate, "" when global. */
static const char *sink_plate(const hs_workflow *wf, const hs_wf_factor *f)
{
    return f->sink_plate >= 0 && (size_t)f->sink_plate < wf->nplates ? wf->plates[f->sink_plate].id
                                                                     : "";
}

/* Index of the factor of wf producing node, or -1. */
static long find_factor(const hs_workflow *wf, const char *node)
{
    for (size_t i = 0; i < wf->nfactors; i++)
        if (strcmp(factor_node(&wf->factors[i]), node) == 0)
            return (long)i;
    return -1;
}

static void push(hsctl_wfplan *p, hsctl_wfplan_what what, const hs_workflow *wf, size_t i)
{
    const hs_wf_factor *f = &wf->factors[i];
    p->items[p->n++] = (hsctl_wfplan_item){
        what, factor_node(f), f->sink == NULL, f->tool != NULL ? f->tool : "", f->hash, i};
}

int hsctl_wfplan_compute(const hs_workflow *stored, const hs_workflow *next, hsctl_wfplan *out)
{
    if (out == NULL)
        return hs_err_set(HS_ERR_INVAL, "hsctl_wfplan_compute: NULL out");
    memset(out, 0, sizeof *out);
    if (stored == NULL || next == NULL)
        return hs_err_set(HS_ERR_INVAL, "hsctl_wfplan_compute: NULL workflow");
    size_t cap = stored->nfactors + next->nfactors;
    if (cap > 0) {
        out->items = hs_calloc(cap, sizeof *out->items);
        if (out->items == NULL)
            return hs_err_set(HS_ERR_NOMEM, "hsctl_wfplan_compute: out of memory");
    }
    out->same_text =
        stored->text != NULL && next->text != NULL && strcmp(stored->text, next->text) == 0;
    /* Changed, in the new workflow's dependency order (upstream first). */
    for (size_t oi = 0; oi < next->nfactors; oi++) {
        size_t i = next->order != NULL ? next->order[oi] : oi;
        const hs_wf_factor *f = &next->factors[i];
        long j = find_factor(stored, factor_node(f));
        if (j < 0)
            continue;
        const hs_wf_factor *g = &stored->factors[j];
        if (strcmp(f->hash, g->hash) != 0 ||
            strcmp(sink_plate(next, f), sink_plate(stored, g)) != 0) {
            push(out, HSCTL_WFPLAN_CHANGED, next, i);
            out->nchanged++;
        }
    }
    for (size_t j = 0; j < stored->nfactors; j++)
        if (find_factor(next, factor_node(&stored->factors[j])) < 0) {
            push(out, HSCTL_WFPLAN_REMOVED, stored, j);
            out->nremoved++;
        }
    for (size_t oi = 0; oi < next->nfactors; oi++) {
        size_t i = next->order != NULL ? next->order[oi] : oi;
        if (find_factor(stored, factor_node(&next->factors[i])) < 0) {
            push(out, HSCTL_WFPLAN_ADDED, next, i);
            out->nadded++;
        }
    }
    return HS_OK;
}

void hsctl_wfplan_free(hsctl_wfplan *p)
{
    if (p == NULL)
        return;
    hs_free(p->items);
    memset(p, 0, sizeof *p);
}

const char *hsctl_wfplan_what_name(hsctl_wfplan_what w)
{
    switch (w) {
    case HSCTL_WFPLAN_CHANGED:
        return "changed";
    case HSCTL_WFPLAN_REMOVED:
        return "removed";
    case HSCTL_WFPLAN_ADDED:
        return "added";
    }
    return "?";
}
