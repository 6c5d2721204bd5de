/*
 * What replacing a stored workflow by a new definition of the same id does
 * (hsctl workflow add): factors are matched by the node they produce (the
 * sink, or the plate a plate-creation factor fills). A factor in both whose
 * binding hash or sink plate differs is changed: the writer purges its
 * streams and they are computed again (and, the hash including the sources'
 * bindings, everything downstream of a change is changed too). A factor only
 * in the stored definition is removed: its streams stay but are no longer
 * computed. A factor only in the new one is added.
 */
#ifndef HSCTL_WFPLAN_H
#define HSCTL_WFPLAN_H

#include "hs_workflow.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum hsctl_wfplan_what {
    HSCTL_WFPLAN_CHANGED = 0, /* in both, another binding: purged and recomputed */
    HSCTL_WFPLAN_REMOVED = 1, /* only stored: its streams are kept, no longer computed */
    HSCTL_WFPLAN_ADDED = 2,   /* only new */
} hsctl_wfplan_what;

typedef struct hsctl_wfplan_item {
    hsctl_wfplan_what what;
    const char *node;    /* borrowed: the sink, or the output plate of a plate creation */
    bool plate_creation; /* the factor creates plate values (it has no sink streams) */
    const char *tool;    /* borrowed: the tool's name */
    const char *hash;    /* borrowed: the binding hash, new (changed, added) or stored (removed) */
    size_t factor;       /* index of the factor in the new (changed, added) or stored workflow */
} hsctl_wfplan_item;

typedef struct hsctl_wfplan {
    hsctl_wfplan_item *items; /* owned: changed (new dependency order), removed, added */
    size_t n;
    size_t nchanged, nremoved, nadded;
    bool same_text; /* the definitions are the same text: adding it again changes nothing */
} hsctl_wfplan;

/*
 * Computes the plan of replacing stored by next into *out (free it with
 * hsctl_wfplan_free; items borrow from both workflows, which must outlive
 * it). HS_OK, HS_ERR_INVAL for a NULL argument, HS_ERR_NOMEM.
 */
int hsctl_wfplan_compute(const hs_workflow *stored, const hs_workflow *next, hsctl_wfplan *out);

/* Releases a plan (NULL-safe) and leaves it empty. */
void hsctl_wfplan_free(hsctl_wfplan *p);

/* "changed", "removed" or "added". */
const char *hsctl_wfplan_what_name(hsctl_wfplan_what w);

#endif
