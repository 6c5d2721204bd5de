/*
 * hsctl meta add|rm|ls|tree: the stack's meta-data tree (docs/MODEL.md,
 * section 1). Changes go to the scheduler, which owns the tree and expands
 * the workflows whose plates select from it; ls and tree read the store
 * (docs meta/<path>) as hsctl jobs reads the job history.
 */
#include "hsctl.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_meta.h"
#include "hs_proto.h"
#include "hs_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int meta_change(hsctl *h, bool add, char **paths, size_t n)
{
    if (n == 0)
        return hsctl_fail(HSCTL_USER, "usage: hsctl meta %s PATH... (e.g. site=a/device=1)",
                          add ? "add" : "rm");
    for (size_t i = 0; i < n; i++)
        if (hs_meta_path_check(paths[i]) != HS_OK)
            return hsctl_fail(HSCTL_USER, "'%s' is not a meta-data path: %s", paths[i],
                              hs_err_detail());
    hs_proto_api_req q = {.op = add ? HS_API_META_ADD : HS_API_META_RM,
                          .paths = (const char *const *)paths,
                          .npaths = n};
    hs_proto_api_reply_msg reply;
    int rc = hsctl_api_call(h, &q, add ? "meta add" : "meta rm", &reply, 60000);
    if (rc == HSCTL_OK)
        printf("%llu nodes %s; %llu workflows expanded again\n",
               (unsigned long long)reply.reply.nodes, add ? "inserted" : "deleted",
               (unsigned long long)reply.reply.workflows_changed);
    hs_proto_api_reply_msg_free(&reply);
    return rc;
}

/* The stored tree (and, for --json, the documents by path). */
typedef struct meta_ctx {
    hs_meta_tree *t;
    hs_buf *json; /* NULL: not wanted */
    size_t n;
    int rc;
} meta_ctx;

static int meta_one(void *ud, const char *key, const char *json)
{
    meta_ctx *c = ud;
    if (hs_meta_add(c->t, key, NULL) != HS_OK) {
        fprintf(stderr, "hsctl: stored node '%s' is not a meta-data path: %s\n", key,
                hs_err_detail());
        return 0;
    }
    if (c->json != NULL) {
        int rc = hs_buf_puts(c->json, c->n > 0 ? ",\n  " : "[\n  ");
        if (rc == HS_OK)
            rc = hs_buf_puts(c->json, "{\"path\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(c->json, key, strlen(key));
        if (rc == HS_OK)
            rc = hs_buf_printf(c->json, ",\"node\":%s}", json);
        if (rc != HS_OK) {
            c->rc = rc;
            return -1;
        }
    }
    c->n++;
    return 0;
}

/* Whether path is top or below it ("" is the root: everything). */
static bool meta_under(const char *path, const char *top)
{
    size_t len = strlen(top);
    return len == 0 || (strncmp(path, top, len) == 0 && (path[len] == '\0' || path[len] == '/'));
}

static int meta_path_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Draws the children of parent (a path, "" for the root) below prefix, sorted by path. */
static void meta_draw(const hs_meta_tree *t, const char *parent, const char *prefix)
{
    size_t n = 0, cap = hs_meta_count(t);
    const char **kids = hs_calloc(cap ? cap : 1, sizeof *kids);
    if (kids == NULL)
        return;
    for (size_t i = 0; i < cap; i++) {
        hs_meta_node m = hs_meta_at(t, i);
        if (strcmp(m.parent, parent) == 0)
            kids[n++] = m.path;
    }
    qsort(kids, n, sizeof *kids, meta_path_cmp);
    for (size_t i = 0; i < n; i++) {
        const char *slash = strrchr(kids[i], '/');
        bool last = i + 1 == n;
        printf("%s%s%s\n", prefix, last ? "└── " : "├── ", slash ? slash + 1 : kids[i]);
        char deeper[1024];
        snprintf(deeper, sizeof deeper, "%s%s", prefix, last ? "    " : "│   ");
        meta_draw(t, kids[i], deeper);
    }
    hs_free(kids);
}

static int meta_read(hsctl *h, const char *top, bool tree, bool json)
{
    if (top != NULL && hs_meta_path_check(top) != HS_OK)
        return hsctl_fail(HSCTL_USER, "'%s' is not a meta-data path: %s", top, hs_err_detail());
    hs_store *s = hsctl_store(h);
    if (s == NULL)
        return HSCTL_SYSTEM;
    hs_buf js;
    hs_buf_init(&js, 0);
    meta_ctx c = {NULL, json ? &js : NULL, 0, HS_OK};
    if (hs_meta_create(&c.t) != HS_OK)
        return hsctl_fail(HSCTL_SYSTEM, "out of memory");
    int rc = hs_store_doc_list(s, "meta", "", false, 0, meta_one, &c);
    int out = HSCTL_OK;
    if (rc != HS_OK || c.rc != HS_OK) {
        out = hsctl_fail(HSCTL_SYSTEM, "cannot read the meta-data tree: %s", hs_err_detail());
    } else if (json) {
        printf("%s\n", c.n > 0 ? hs_buf_cstr(&js) : "[");
        printf("]\n");
    } else if (top != NULL && !hs_meta_has(c.t, top)) {
        out = hsctl_fail(HSCTL_USER, "no node %s in the meta-data tree (hsctl meta ls)", top);
    } else if (tree) {
        if (top != NULL)
            printf("%s\n", top);
        else if (hs_meta_count(c.t) > 0)
            printf(".\n");
        meta_draw(c.t, top != NULL ? top : "", "");
    } else {
        size_t n = hs_meta_count(c.t), k = 0;
        const char **paths = hs_calloc(n ? n : 1, sizeof *paths);
        if (paths == NULL) {
            out = hsctl_fail(HSCTL_SYSTEM, "out of memory");
        } else {
            for (size_t i = 0; i < n; i++) {
                hs_meta_node m = hs_meta_at(c.t, i);
                if (meta_under(m.path, top != NULL ? top : ""))
                    paths[k++] = m.path;
            }
            qsort(paths, k, sizeof *paths, meta_path_cmp);
            for (size_t i = 0; i < k; i++)
                printf("%s\n", paths[i]);
            hs_free(paths);
        }
    }
    hs_meta_destroy(c.t);
    hs_buf_free(&js);
    return out;
}

int cmd_meta(hsctl *h, int argc, char **argv)
{
    /* main checked the command word: add, rm, ls (also when none is given) or tree. */
    const char *cmd = argc >= 2 && argv[1][0] != '-' ? argv[1] : "ls";
    bool json = false;
    char **args = hs_calloc((size_t)argc + 1, sizeof *args);
    if (args == NULL)
        return hsctl_fail(HSCTL_SYSTEM, "out of memory");
    size_t n = 0;
    int rc = HSCTL_OK;
    for (int i = argc >= 2 && argv[1][0] != '-' ? 2 : 1; rc == HSCTL_OK && i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (hsctl_opt(argc, argv, &i, "--data", &v))
            continue;
        else if (argv[i][0] != '-')
            args[n++] = argv[i];
        else
            rc = hsctl_fail(HSCTL_USER, "unexpected argument '%s' (hsctl help meta)", argv[i]);
    }
    if (rc == HSCTL_OK) {
        bool read = strcmp(cmd, "ls") == 0 || strcmp(cmd, "tree") == 0;
        if (read && n > 1)
            rc = hsctl_fail(HSCTL_USER, "usage: hsctl meta %s [PATH]", cmd);
        else if (read)
            rc = meta_read(h, n == 1 ? args[0] : NULL, strcmp(cmd, "tree") == 0, json);
        else
            rc = meta_change(h, strcmp(cmd, "add") == 0, args, n);
    }
    hs_free(args);
    return rc;
}
