/*
 * The meta-data tree (docs/MODEL.md section 1): nodes (tag, value) under a
 * parent, as HyperStream keeps them (house=1 -> room=kitchen -> sensor=a).
 * A node is named by its path, the "tag=value" parts from the root joined
 * by '/' in tree order ("house=1/room=kitchen"). Its plate value is the
 * same pairs sorted by key (hs_pv text): that is what plates select.
 *
 * Insert and delete are idempotent: inserting a path adds the nodes it
 * lacks; deleting a node deletes its subtree; deleting an absent node is a
 * no-op. Not thread-safe: one owner.
 */
#ifndef HS_META_H
#define HS_META_H

#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct hs_meta_tree hs_meta_tree;

/* One node, read-only (valid until the tree next changes). */
typedef struct hs_meta_node {
    const char *tag, *value;
    const char *path;      /* "house=1/room=kitchen" */
    const char *parent;    /* the parent's path, "" at the root */
    const char *pv;        /* the node's pairs sorted by key: "house=1/room=kitchen" */
    const char *parent_pv; /* the parent's, "" at the root */
    size_t depth;          /* 1 at the root's children */
} hs_meta_node;

int hs_meta_create(hs_meta_tree **out);
void hs_meta_destroy(hs_meta_tree *t);

/*
 * The longest path: a stream id on its plate value, with a name of up to
 * 255 bytes, stays within HS_SID_MAX_LEN.
 */
#define HS_META_PATH_MAX 768

/*
 * Checks a path: "tag=value" parts joined by '/', each tag and value usable
 * in stream ids, no tag twice, at most HS_SID_MAX_PAIRS parts and
 * HS_META_PATH_MAX bytes. HS_OK, or HS_ERR_PARSE with the reason in
 * hs_err_detail().
 */
int hs_meta_path_check(const char *path);

/*
 * Inserts the nodes of path that are missing, appended to the tree's nodes
 * parents first (hs_meta_at(t, count before .. count after)); *added (may be
 * NULL) counts them. On failure the nodes inserted before it stay.
 */
int hs_meta_add(hs_meta_tree *t, const char *path, size_t *added);

/* Deletes the node at path and its subtree; *removed (may be NULL) counts the nodes. */
int hs_meta_rm(hs_meta_tree *t, const char *path, size_t *removed);

/* Whether the tree has the node at path. */
bool hs_meta_has(const hs_meta_tree *t, const char *path);

/* Whether some node has this tag. */
bool hs_meta_has_tag(const hs_meta_tree *t, const char *tag);

/* Nodes, in insertion order (parents before children): 0 <= i < hs_meta_count. */
size_t hs_meta_count(const hs_meta_tree *t);
hs_meta_node hs_meta_at(const hs_meta_tree *t, size_t i);

/* Adds every node of src to dst (dst may already hold some). */
int hs_meta_merge(hs_meta_tree *dst, const hs_meta_tree *src);

/*
 * Incremented by every change that adds or deletes a node: users that cache
 * what they selected compare it.
 */
unsigned long hs_meta_generation(const hs_meta_tree *t);

#endif
