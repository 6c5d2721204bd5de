#include "hs_meta.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_map.h"
#include "hs_streamid.h"

#include <stdlib.h>
#include <string.h>

typedef struct meta_node {
    char *tag, *value; /* owned */
    char *path, *pv;   /* owned */
    char *parent;      /* owned: the parent's path, "" at the root */
    char *parent_pv;   /* owned */
    size_t depth;
} meta_node;

struct hs_meta_tree {
    meta_node *v; /* owned, parents before children */
    size_t n, cap;
    hs_map by_path; /* path -> index + 1 */
    unsigned long gen;
};

int hs_meta_create(hs_meta_tree **out)
{
    *out = hs_calloc(1, sizeof **out);
    if (*out == NULL)
        return HS_ERR_NOMEM;
    hs_map_init(&(*out)->by_path);
    return HS_OK;
}

static void meta_node_free(meta_node *m)
{
    hs_free(m->tag);
    hs_free(m->value);
    hs_free(m->path);
    hs_free(m->pv);
    hs_free(m->parent);
    hs_free(m->parent_pv);
}

void hs_meta_destroy(hs_meta_tree *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        meta_node_free(&t->v[i]);
    hs_free(t->v);
    hs_map_free(&t->by_path);
    hs_free(t);
}

/* One "tag=value" part of a path: [s, s + len). */
typedef struct meta_part {
    const char *s;
    size_t len, eq; /* eq: offset of '=' */
} meta_part;

/* Splits path into at most HS_SID_MAX_PAIRS parts; HS_OK or HS_ERR_PARSE with the reason. */
static int meta_split(const char *path, meta_part *parts, size_t *n)
{
    *n = 0;
    if (path == NULL || path[0] == '\0')
        return hs_err_set(HS_ERR_PARSE,
                          "an empty path (give tag=value, e.g. house=1/room=kitchen)");
    if (strlen(path) > HS_META_PATH_MAX)
        return hs_err_set(HS_ERR_PARSE,
                          "longer than %d bytes (its streams' ids would not fit in %d with their "
                          "names)",
                          HS_META_PATH_MAX, HS_SID_MAX_LEN);
    const char *p = path;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq == NULL || eq == p || (size_t)(eq - p) + 1 == len)
            return hs_err_set(HS_ERR_PARSE, "'%.*s' is not tag=value", (int)len, p);
        if (*n == HS_SID_MAX_PAIRS)
            return hs_err_set(HS_ERR_PARSE, "more than %d levels", HS_SID_MAX_PAIRS);
        size_t k = (size_t)(eq - p);
        if (hs_streamid_check_part(p, k, "key") != HS_OK ||
            hs_streamid_check_part(eq + 1, len - k - 1, "value") != HS_OK)
            return HS_ERR_PARSE; /* the detail says which and why */
        for (size_t i = 0; i < *n; i++)
            if (parts[i].eq == k && memcmp(parts[i].s, p, k) == 0)
                return hs_err_set(HS_ERR_PARSE, "tag '%.*s' appears twice", (int)k, p);
        parts[(*n)++] = (meta_part){p, len, k};
        if (end == NULL)
            return HS_OK;
        p = end + 1;
    }
}

int hs_meta_path_check(const char *path)
{
    meta_part parts[HS_SID_MAX_PAIRS];
    size_t n;
    return meta_split(path, parts, &n);
}

static int meta_part_cmp(const void *a, const void *b)
{
    const meta_part *x = a, *y = b;
    size_t k = x->eq < y->eq ? x->eq : y->eq;
    int c = memcmp(x->s, y->s, k);
    return c != 0 ? c : (x->eq > y->eq) - (x->eq < y->eq);
}

/* The first n parts as a path (tree order) or as a plate value (sorted); owned or NULL. */
static char *meta_join(const meta_part *parts, size_t n, bool sorted)
{
    meta_part s[HS_SID_MAX_PAIRS];
    memcpy(s, parts, n * sizeof *s);
    if (sorted)
        qsort(s, n, sizeof *s, meta_part_cmp);
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += s[i].len + 1;
    char *out = hs_malloc(len), *w = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *w++ = '/';
        memcpy(w, s[i].s, s[i].len);
        w += s[i].len;
    }
    *w = '\0';
    return out;
}

/* Appends the node of the first n parts (its parent is there already). */
static int meta_push(hs_meta_tree *t, const meta_part *parts, size_t n)
{
    if (hs_grow(&t->v, &t->cap, t->n + 1, sizeof *t->v, 16) != HS_OK)
        return HS_ERR_NOMEM;
    meta_node *m = &t->v[t->n];
    memset(m, 0, sizeof *m);
    const meta_part *last = &parts[n - 1];
    m->tag = hs_strndup(last->s, last->eq);
    m->value = hs_strndup(last->s + last->eq + 1, last->len - last->eq - 1);
    m->path = meta_join(parts, n, false);
    m->pv = meta_join(parts, n, true);
    m->parent = meta_join(parts, n - 1, false);
    m->parent_pv = meta_join(parts, n - 1, true);
    m->depth = n;
    if (m->tag == NULL || m->value == NULL || m->path == NULL || m->pv == NULL ||
        m->parent == NULL || m->parent_pv == NULL ||
        hs_map_put(&t->by_path, m->path, (void *)(uintptr_t)(t->n + 1), NULL) != HS_OK) {
        meta_node_free(m);
        return HS_ERR_NOMEM;
    }
    t->n++;
    return HS_OK;
}

int hs_meta_add(hs_meta_tree *t, const char *path, size_t *added)
{
    if (added != NULL)
        *added = 0;
    meta_part parts[HS_SID_MAX_PAIRS];
    size_t n;
    int rc = meta_split(path, parts, &n);
    for (size_t k = 1; rc == HS_OK && k <= n; k++) {
        size_t plen = (size_t)(parts[k - 1].s + parts[k - 1].len - path);
        if (hs_map_getn(&t->by_path, path, plen) != NULL)
            continue;
        rc = meta_push(t, parts, k);
        if (rc == HS_OK) {
            t->gen++;
            if (added != NULL)
                (*added)++;
        }
    }
    return rc;
}

/* Whether path p is at or below path top. */
static bool meta_below(const char *p, const char *top, size_t toplen)
{
    return strncmp(p, top, toplen) == 0 && (p[toplen] == '\0' || p[toplen] == '/');
}

int hs_meta_rm(hs_meta_tree *t, const char *path, size_t *removed)
{
    if (removed != NULL)
        *removed = 0;
    int rc = hs_meta_path_check(path);
    if (rc != HS_OK || hs_map_get(&t->by_path, path) == NULL)
        return rc;
    size_t len = strlen(path), keep = 0, gone = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (meta_below(t->v[i].path, path, len)) {
            (void)hs_map_remove(&t->by_path, t->v[i].path);
            meta_node_free(&t->v[i]);
            gone++;
        } else {
            t->v[keep++] = t->v[i];
        }
    }
    t->n = keep;
    /* Indices moved: the index is built again. */
    for (size_t i = 0; i < t->n; i++)
        (void)hs_map_put(&t->by_path, t->v[i].path, (void *)(uintptr_t)(i + 1), NULL);
    t->gen++;
    if (removed != NULL)
        *removed = gone;
    return HS_OK;
}

bool hs_meta_has(const hs_meta_tree *t, const char *path)
{
    return t != NULL && path != NULL && hs_map_get(&t->by_path, path) != NULL;
}

bool hs_meta_has_tag(const hs_meta_tree *t, const char *tag)
{
    for (size_t i = 0; t != NULL && i < t->n; i++)
        if (strcmp(t->v[i].tag, tag) == 0)
            return true;
    return false;
}

size_t hs_meta_count(const hs_meta_tree *t)
{
    return t != NULL ? t->n : 0;
}

hs_meta_node hs_meta_at(const hs_meta_tree *t, size_t i)
{
    const meta_node *m = &t->v[i];
    return (hs_meta_node){m->tag, m->value, m->path, m->parent, m->pv, m->parent_pv, m->depth};
}

int hs_meta_merge(hs_meta_tree *dst, const hs_meta_tree *src)
{
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && src != NULL && i < src->n; i++)
        rc = hs_meta_add(dst, src->v[i].path, NULL);
    return rc;
}

unsigned long hs_meta_generation(const hs_meta_tree *t)
{
    return t != NULL ? t->gen : 0;
}
