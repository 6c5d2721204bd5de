/*
 * hsctl workflow / compute / jobs / tool: workflows, their computation, the
 * job history and the tool library.
 */
#include "hsctl.h"
#include "tools.h"
#include "wfplan.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_time.h"
#include "hs_value.h"
#include "hs_workflow.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static hs_tool_registry *g_tools;

/*
 * The tools hsctl knows: the built-in ones and the plugins of plugin_dir,
 * which for a local stack is the one 'hsctl up' wrote into its hs.conf (the
 * stack's plugins), else HS_PLUGIN_DIR.
 */
static hs_tool_registry *tools(hsctl *h)
{
    if (g_tools == NULL && hs_tool_registry_create(&g_tools) == HS_OK) {
        hs_builtin_tools_register(g_tools);
        const char *dir = h->cfg.plugin_dir;
        if (dir != NULL && dir[0] != '\0') {
            hs_buf err;
            hs_buf_init(&err, 0);
            hs_tool_registry_load_plugins(g_tools, dir, &err);
            if (err.len > 0)
                fprintf(stderr, "hsctl: plugins: %s", hs_buf_cstr(&err));
            hs_buf_free(&err);
        }
    }
    return g_tools;
}

static int read_file(const char *path, hs_buf *out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return -1;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        hs_buf_append(out, buf, n);
    if (f != stdin)
        fclose(f);
    return 0;
}

/*
 * Sends a request to the scheduler's API and waits for its reply (schemas/
 * api.json). A reply that is not ok prints its error ("what failed: ...")
 * and gives HSCTL_USER. The caller frees *reply with
 * hs_proto_api_reply_msg_free, also on failure.
 */
int hsctl_api_call(hsctl *h, const hs_proto_api_req *q, const char *what,
                   hs_proto_api_reply_msg *reply, int timeout_ms)
{
    memset(reply, 0, sizeof *reply);
    hs_buf t, req, raw;
    hs_buf_init(&t, 0);
    hs_buf_init(&req, 0);
    hs_buf_init(&raw, 0);
    int rc = HSCTL_OK;
    if (hs_proto_api_req_encode(&req, q) != HS_OK) {
        rc = hsctl_fail(HSCTL_SYSTEM, "cannot encode the request: %s", hs_err_detail());
        goto out;
    }
    hsctl_topic(h, &t, "api/%s", h->cfg.scheduler_id);
    rc = hsctl_request(h, hs_buf_cstr(&t), hs_buf_cstr(&req), &raw, timeout_ms);
    if (rc == HSCTL_SYSTEM) {
        hsctl_fail(HSCTL_SYSTEM,
                   "the scheduler '%s' did not answer within %d s; is it running? (hsctl status)",
                   h->cfg.scheduler_id, timeout_ms / 1000);
        goto out;
    }
    if (rc != HSCTL_OK)
        goto out;
    if (hs_proto_api_reply_decode(reply, (const char *)raw.data, raw.len) != HS_OK) {
        rc = hsctl_fail(HSCTL_SYSTEM, "%s: the scheduler's reply is unreadable: %s", what,
                        hs_err_detail());
    } else if (!reply->reply.ok) {
        /* A list of errors (one per line) under the heading; a single one beside it. */
        bool lines = strchr(reply->reply.error, '\n') != NULL;
        fprintf(stderr, "hsctl: %s failed:%s%s\n", what, lines ? "\n" : " ", reply->reply.error);
        rc = HSCTL_USER;
    }
out:
    hs_buf_free(&t);
    hs_buf_free(&req);
    hs_buf_free(&raw);
    return rc;
}

/* A stored stream that replacing a workflow purges, with its instance count. */
typedef struct plan_stream {
    char *sid; /* owned */
    int64_t count;
} plan_stream;

/* The stored streams of the changed factors of a plan. */
typedef struct plan_streams {
    hs_store *s;      /* borrowed */
    const char *node; /* borrowed: the node being listed */
    const char *hash; /* borrowed: its new binding hash */
    plan_stream *v;   /* owned */
    size_t n, cap;
    int rc; /* HS_OK, or the first failure of the listing */
} plan_streams;

static void plan_streams_free(plan_streams *p)
{
    for (size_t i = 0; i < p->n; i++)
        hs_free(p->v[i].sid);
    hs_free(p->v);
    p->v = NULL;
    p->n = p->cap = 0;
}

/* hs_store_stream_list callback: keeps the streams of node whose binding is not the new one. */
static int plan_stream_one(void *ud, const hs_stream_info *info)
{
    plan_streams *p = ud;
    size_t nl = strlen(p->node);
    if (strncmp(info->id, p->node, nl) != 0 || (info->id[nl] != '\0' && info->id[nl] != '/'))
        return 0;
    if (info->binding != NULL) {
        char hash[17];
        hs_binding_hash(info->binding, hash);
        if (strcmp(hash, p->hash) == 0)
            return 0; /* the writer keeps a stream whose binding is the same */
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        plan_stream *v = hs_realloc(p->v, cap * sizeof *v);
        if (v == NULL) {
            p->rc = HS_ERR_NOMEM;
            return -1;
        }
        p->v = v;
        p->cap = cap;
    }
    int64_t n = 0;
    int rc = hs_store_count(p->s, info->id, hs_store_all_time(), &n);
    char *sid = hs_strdup(info->id);
    if (rc != HS_OK || sid == NULL) {
        hs_free(sid);
        p->rc = rc != HS_OK ? rc : HS_ERR_NOMEM;
        return -1;
    }
    p->v[p->n++] = (plan_stream){sid, n};
    return 0;
}

/*
 * Lists into out the stored streams that replacing the workflow purges: those
 * of each changed factor whose stored binding differs from the new one.
 * HSCTL_OK, or HSCTL_SYSTEM after printing the store's error.
 */
static int plan_streams_list(hs_store *s, const hsctl_wfplan *plan, plan_streams *out)
{
    for (size_t i = 0; i < plan->n; i++) {
        const hsctl_wfplan_item *it = &plan->items[i];
        if (it->what != HSCTL_WFPLAN_CHANGED || it->plate_creation)
            continue;
        out->s = s;
        out->node = it->node;
        out->hash = it->hash;
        int rc = hs_store_stream_list(s, it->node, plan_stream_one, out);
        if (out->rc != HS_OK)
            rc = out->rc;
        if (rc != HS_OK) {
            char msg[600];
            return hsctl_fail(HSCTL_SYSTEM, "listing the streams of %s failed: %s", it->node,
                              hs_err_describe(rc, msg, sizeof msg));
        }
    }
    return HSCTL_OK;
}

/* Prints the plan, one line per purged stream and per factor, to f. */
static void plan_print(FILE *f, const char *id, const hsctl_wfplan *plan, const plan_streams *ps)
{
    fprintf(f, "plan for workflow %s:\n", id);
    for (size_t i = 0; i < ps->n; i++)
        fprintf(f, "  purge and recompute  %s (%lld instances)\n", ps->v[i].sid,
                (long long)ps->v[i].count);
    for (size_t i = 0; i < plan->n; i++) {
        const hsctl_wfplan_item *it = &plan->items[i];
        if (it->what == HSCTL_WFPLAN_CHANGED) {
            bool stored = false;
            size_t nl = strlen(it->node);
            for (size_t k = 0; k < ps->n && !stored; k++)
                stored = strncmp(ps->v[k].sid, it->node, nl) == 0 &&
                         (ps->v[k].sid[nl] == '\0' || ps->v[k].sid[nl] == '/');
            if (it->plate_creation)
                fprintf(f, "  changed              plate %s (%s): its values are created again\n",
                        it->node, it->tool);
            else if (!stored)
                fprintf(f, "  changed              %s (%s): nothing stored yet\n", it->node,
                        it->tool);
        } else if (it->what == HSCTL_WFPLAN_REMOVED) {
            fprintf(f, "  no longer computed   %s%s (%s): its streams are kept\n",
                    it->plate_creation ? "plate " : "", it->node, it->tool);
        } else {
            fprintf(f, "  new factor           %s%s (%s)\n", it->plate_creation ? "plate " : "",
                    it->node, it->tool);
        }
    }
}

/* The refusal of a changed definition without --replace: what would change, on one line. */
static void plan_refuse(const char *id, const hsctl_wfplan *plan, const plan_streams *ps)
{
    hs_buf m;
    hs_buf_init(&m, 0);
    int rc = hs_buf_printf(&m, "workflow %s exists with a different definition", id);
    const size_t shown = 10;
    if (rc == HS_OK && ps->n > 0) {
        rc = hs_buf_puts(&m, "; these streams would be purged and recomputed: ");
        for (size_t i = 0; rc == HS_OK && i < ps->n && i < shown; i++)
            rc = hs_buf_printf(&m, "%s%s (%lld instances)", i > 0 ? ", " : "", ps->v[i].sid,
                               (long long)ps->v[i].count);
        if (rc == HS_OK && ps->n > shown)
            rc = hs_buf_printf(&m, " and %zu more", ps->n - shown);
    }
    const hsctl_wfplan_what kinds[3] = {HSCTL_WFPLAN_CHANGED, HSCTL_WFPLAN_REMOVED,
                                        HSCTL_WFPLAN_ADDED};
    const char *heads[3] = {
        "; changed factors with nothing stored yet: ",
        "; factors no longer computed (their streams are kept): ", "; new factors: "};
    for (size_t k = 0; rc == HS_OK && k < 3; k++) {
        size_t listed = 0;
        for (size_t i = 0; rc == HS_OK && i < plan->n; i++) {
            const hsctl_wfplan_item *it = &plan->items[i];
            if (it->what != kinds[k])
                continue;
            if (kinds[k] == HSCTL_WFPLAN_CHANGED && !it->plate_creation) {
                /* Changed factors with stored streams are listed above. */
                size_t nl = strlen(it->node);
                bool stored = false;
                for (size_t j = 0; j < ps->n && !stored; j++)
                    stored = strncmp(ps->v[j].sid, it->node, nl) == 0 &&
                             (ps->v[j].sid[nl] == '\0' || ps->v[j].sid[nl] == '/');
                if (stored)
                    continue;
            }
            rc = hs_buf_printf(&m, "%s%s", listed == 0 ? heads[k] : ", ", it->node);
            listed++;
        }
    }
    if (rc == HS_OK)
        rc = hs_buf_puts(&m, "; add --replace to do it, --dry-run to see the plan only");
    hsctl_fail(HSCTL_SYSTEM, "%s",
               rc == HS_OK ? hs_buf_cstr(&m)
                           : "the workflow exists with a different definition; add --replace");
    hs_buf_free(&m);
}

/* Number of sink streams of wf's declared plate values (dynamic ones are not known yet). */
static size_t sink_streams(const hs_workflow *wf)
{
    size_t total = 0;
    for (size_t f = 0; f < wf->nfactors; f++) {
        hs_wf_unit *u = NULL;
        size_t n = 0;
        if (hs_workflow_units(wf, f, &u, &n) != HS_OK)
            continue;
        for (size_t i = 0; i < n; i++)
            total += u[i].nsinks;
        hs_wf_units_free(u, n);
    }
    return total;
}

/*
 * The stored workflow id into *out (NULL when there is none). When the
 * stored definition does not load any more, *out is NULL and why holds the
 * errors. HSCTL_OK, or HSCTL_SYSTEM after printing the error.
 */
static int wf_stored(hsctl *h, const char *id, hs_workflow **out, hs_buf *why)
{
    *out = NULL;
    hs_store *s = hsctl_store(h);
    if (s == NULL)
        return HSCTL_SYSTEM;
    hs_buf doc;
    hs_buf_init(&doc, 0);
    hs_proto_workflow_doc_msg dm;
    memset(&dm, 0, sizeof dm);
    int rc = HSCTL_OK;
    int grc = hs_store_doc_get(s, "workflows", id, &doc);
    if (grc == HS_ERR_NOTFOUND) {
        rc = HSCTL_OK;
    } else if (grc != HS_OK) {
        char msg[600];
        rc = hsctl_fail(HSCTL_SYSTEM, "reading the stored workflow %s failed: %s", id,
                        hs_err_describe(grc, msg, sizeof msg));
    } else if (hs_proto_workflow_doc_decode(&dm, (const char *)doc.data, doc.len) != HS_OK) {
        /* why is never empty here: it tells the caller the workflow exists. */
        if (hs_buf_printf(why, "its document is unreadable: %s", hs_err_detail()) != HS_OK)
            rc = hsctl_fail(HSCTL_SYSTEM, "out of memory");
    } else if (hs_workflow_parse(dm.d.text, strlen(dm.d.text), id, tools(h), out, why) != HS_OK) {
        *out = NULL;
        if (why->len == 0 && hs_buf_printf(why, "%s", hs_err_detail()) != HS_OK)
            rc = hsctl_fail(HSCTL_SYSTEM, "out of memory");
        if (rc == HSCTL_OK && why->len == 0 && hs_buf_puts(why, "it does not parse") != HS_OK)
            rc = hsctl_fail(HSCTL_SYSTEM, "out of memory");
    }
    hs_proto_workflow_doc_msg_free(&dm);
    hs_buf_free(&doc);
    return rc;
}

/*
 * workflow add FILE [--replace] [--dry-run]: validates the definition and,
 * when a workflow of its id exists with another definition, lists what
 * replacing it does (streams purged and recomputed, factors removed and
 * added); that needs --replace, and --dry-run only prints the plan.
 */
static int wf_add(hsctl *h, const char *file, bool replace, bool dry_run)
{
    hs_buf text, errors, why;
    hs_proto_api_reply_msg reply;
    memset(&reply, 0, sizeof reply);
    hs_buf_init(&text, 0);
    hs_buf_init(&errors, 0);
    hs_buf_init(&why, 0);
    hs_workflow *wf = NULL, *stored = NULL;
    hsctl_wfplan plan;
    memset(&plan, 0, sizeof plan);
    plan_streams ps;
    memset(&ps, 0, sizeof ps);
    int rc = HSCTL_OK;
    if (read_file(file, &text) != 0) {
        rc = hsctl_fail(HSCTL_USER, "cannot read %s", file);
        goto out;
    }
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    /* Validate here first: every problem with file and line. */
    if (hs_workflow_parse((const char *)text.data, text.len, file, tools(h), &wf, &errors) !=
        HS_OK) {
        fprintf(stderr, "%s", hs_buf_cstr(&errors));
        rc = hsctl_fail(HSCTL_USER, "%s is not a valid workflow", file);
        goto out;
    }
    rc = wf_stored(h, wf->id, &stored, &why);
    if (rc != HSCTL_OK)
        goto out;
    bool exists = stored != NULL || why.len > 0;
    if (!exists) {
        if (dry_run) {
            printf("new workflow %s: %zu factors, %zu sink streams\n", wf->id, wf->nfactors,
                   sink_streams(wf));
            goto out;
        }
    } else if (stored == NULL) {
        /* The stored definition does not load (a tool gone?): no plan, the whole is replaced. */
        fprintf(dry_run || !replace ? stderr : stdout,
                "the stored workflow %s does not load any more:\n%s\n", wf->id, hs_buf_cstr(&why));
        if (dry_run)
            goto out;
        if (!replace) {
            rc = hsctl_fail(HSCTL_SYSTEM,
                            "workflow %s exists with a definition that does not load; add "
                            "--replace to replace it, --dry-run to see the plan only",
                            wf->id);
            goto out;
        }
    } else {
        if (hsctl_wfplan_compute(stored, wf, &plan) != HS_OK) {
            rc = hsctl_fail(HSCTL_SYSTEM, "cannot compute the plan: %s", hs_err_detail());
            goto out;
        }
        if (plan.same_text && dry_run) {
            printf("workflow %s unchanged: the stored definition is the same (%zu factors)\n",
                   wf->id, wf->nfactors);
            goto out;
        }
        if (!plan.same_text && plan.n == 0) {
            printf("workflow %s: the definition changed, no factor's binding did: nothing is "
                   "purged\n",
                   wf->id);
            if (dry_run)
                goto out;
        }
        if (plan.n > 0) {
            rc = plan_streams_list(hsctl_store(h), &plan, &ps);
            if (rc != HSCTL_OK)
                goto out;
            if (dry_run || replace)
                plan_print(stdout, wf->id, &plan, &ps);
            if (dry_run) {
                printf("dry run: nothing was changed (--replace does it)\n");
                goto out;
            }
            if (!replace) {
                plan_print(stderr, wf->id, &plan, &ps);
                plan_refuse(wf->id, &plan, &ps);
                rc = HSCTL_SYSTEM;
                goto out;
            }
        }
    }
    hs_proto_api_req q = {
        .op = HS_API_WORKFLOW_ADD, .definition = hs_buf_cstr(&text), .filename = base};
    rc = hsctl_api_call(h, &q, "adding the workflow", &reply, 60000);
    if (rc == HSCTL_OK) {
        if (reply.reply.unchanged)
            printf("workflow %s unchanged: the stored definition is the same (%zu factors)\n",
                   wf->id, wf->nfactors);
        else if (exists && stored == NULL)
            printf("workflow %s replaced (%zu factors)\n", wf->id, wf->nfactors);
        else if (exists)
            printf("workflow %s replaced (%zu factors): %zu stream%s purged, computed again by "
                   "the next compute (or online run)\n",
                   wf->id, wf->nfactors, ps.n, ps.n == 1 ? "" : "s");
        else
            printf("workflow %s added (%zu factors)\n", wf->id, wf->nfactors);
    }
out:
    hs_proto_api_reply_msg_free(&reply);
    plan_streams_free(&ps);
    hsctl_wfplan_free(&plan);
    hs_workflow_destroy(stored);
    hs_workflow_destroy(wf);
    hs_buf_free(&text);
    hs_buf_free(&errors);
    hs_buf_free(&why);
    return rc;
}

/* Loads a stored workflow from the store. */
static int wf_load(hsctl *h, const char *id, hs_workflow **out)
{
    *out = NULL;
    hs_store *s = hsctl_store(h);
    if (s == NULL)
        return HSCTL_SYSTEM;
    hs_buf doc, errors;
    hs_buf_init(&doc, 0);
    hs_buf_init(&errors, 0);
    hs_proto_workflow_doc_msg dm;
    memset(&dm, 0, sizeof dm);
    int rc = HSCTL_OK;
    if (hs_store_doc_get(s, "workflows", id, &doc) != HS_OK) {
        rc = hsctl_fail(HSCTL_USER, "no workflow '%s' (hsctl workflow ls lists them)", id);
    } else if (hs_proto_workflow_doc_decode(&dm, (const char *)doc.data, doc.len) != HS_OK) {
        rc = hsctl_fail(HSCTL_SYSTEM, "stored workflow %s is unreadable: %s", id, hs_err_detail());
    } else if (hs_workflow_parse(dm.d.text, strlen(dm.d.text), id, tools(h), out, &errors) !=
               HS_OK) {
        rc = hsctl_fail(HSCTL_SYSTEM, "stored workflow %s no longer loads:\n%s", id,
                        hs_buf_cstr(&errors));
    }
    hs_proto_workflow_doc_msg_free(&dm);
    hs_buf_free(&doc);
    hs_buf_free(&errors);
    return rc;
}

/* workflow ls: the listing's context. */
typedef struct wf_ls {
    hsctl *h;          /* borrowed */
    bool json;         /* JSON lines instead of a table */
    hsctl_table table; /* the rows without json */
    int rc;            /* HS_OK, or the first failure to add a row */
} wf_ls;

static int ls_one(void *ud, const char *key, const char *json)
{
    wf_ls *c = ud;
    hs_workflow *wf = NULL;
    (void)json;
    hs_buf j;
    hs_buf_init(&j, 0);
    int rc = HS_OK;
    if (wf_load(c->h, key, &wf) != HSCTL_OK) {
        if (c->json) {
            rc = hs_buf_puts(&j, "{\"id\":");
            if (rc == HS_OK)
                rc = hs_json_put_string(&j, key, strlen(key));
            if (rc == HS_OK)
                rc = hs_buf_puts(&j, ",\"loads\":false}\n");
        } else {
            const char *row[5] = {key, "-", "-", "-", "(does not load)"};
            rc = hsctl_table_add(&c->table, row);
        }
    } else {
        char every[HS_DURATION_MAX] = "-";
        if (wf->online)
            hs_duration_format(wf->every_us, every);
        if (c->json) {
            rc = hs_buf_puts(&j, "{\"id\":");
            if (rc == HS_OK)
                rc = hs_json_put_string(&j, wf->id, strlen(wf->id));
            if (rc == HS_OK)
                rc = hs_buf_printf(&j, ",\"loads\":true,\"factors\":%zu,\"plates\":%zu,\"online\":",
                                   wf->nfactors, hs_workflow_declared_plates(wf));
            if (rc == HS_OK && wf->online)
                rc = hs_json_put_string(&j, every, strlen(every));
            else if (rc == HS_OK)
                rc = hs_buf_puts(&j, "null");
            if (rc == HS_OK)
                rc = hs_buf_puts(&j, ",\"name\":");
            if (rc == HS_OK && wf->name != NULL)
                rc = hs_json_put_string(&j, wf->name, strlen(wf->name));
            else if (rc == HS_OK)
                rc = hs_buf_puts(&j, "null");
            if (rc == HS_OK)
                rc = hs_buf_puts(&j, "}\n");
        } else {
            char nf[24], np[24];
            snprintf(nf, sizeof nf, "%zu", wf->nfactors);
            snprintf(np, sizeof np, "%zu", hs_workflow_declared_plates(wf));
            const char *row[5] = {wf->id, nf, np, every, wf->name ? wf->name : ""};
            rc = hsctl_table_add(&c->table, row);
        }
        hs_workflow_destroy(wf);
    }
    if (rc == HS_OK && c->json)
        (void)hsctl_write_buf(&j, stdout);
    hs_buf_free(&j);
    if (rc != HS_OK) {
        c->rc = rc;
        return -1;
    }
    return 0;
}

/* workflow ls [--json]: the stored workflows, as a table or as JSON lines. */
static int wf_list(hsctl *h, bool json)
{
    hs_store *s = hsctl_store(h);
    if (s == NULL)
        return HSCTL_SYSTEM;
    wf_ls c;
    memset(&c, 0, sizeof c);
    c.h = h;
    c.json = json;
    const char *heads[5] = {"ID", "FACTORS", "PLATES", "ONLINE", "NAME"};
    if (!json && hsctl_table_init(&c.table, 5, heads, "lrrll") != HS_OK)
        return hsctl_fail(HSCTL_SYSTEM, "out of memory");
    int rc = hs_store_doc_list(s, "workflows", "", false, 0, ls_one, &c);
    int out = HSCTL_OK;
    if (c.rc != HS_OK)
        out = hsctl_fail(HSCTL_SYSTEM, "out of memory");
    else if (rc != HS_OK)
        out = hsctl_fail(HSCTL_SYSTEM, "%s", hs_err_detail());
    else if (!json)
        out = hsctl_table_print(&c.table);
    hsctl_table_free(&c.table);
    return out;
}

/* Plate values workflow show prints as text (--json prints them all). */
#define WF_SHOW_VALUES 10

static int wf_show(hsctl *h, const char *id, bool dot, const char *svg, bool json)
{
    hs_workflow *wf;
    int rc = wf_load(h, id, &wf);
    if (rc != HSCTL_OK)
        return rc;
    hs_buf b;
    hs_buf_init(&b, 0);
    if (json) {
        hs_workflow_to_json(wf, &b);
        printf("%s\n", hs_buf_cstr(&b));
    } else if (dot || svg != NULL) {
        hs_workflow_to_dot(wf, &b);
        if (svg == NULL) {
            fputs(hs_buf_cstr(&b), stdout);
        } else {
            /* Render with Graphviz. */
            char cmd[2048];
            snprintf(cmd, sizeof cmd, "dot -Tsvg -o '%s'", svg);
            FILE *p = popen(cmd, "w");
            if (p == NULL) {
                rc = hsctl_fail(HSCTL_SYSTEM, "cannot run Graphviz dot (apt-get install graphviz)");
            } else {
                (void)hsctl_write_buf(&b, p);
                int st = pclose(p);
                if (st != 0)
                    rc = hsctl_fail(HSCTL_SYSTEM, "Graphviz dot failed (is graphviz installed?)");
                else
                    printf("wrote %s\n", svg);
            }
        }
    } else {
        printf("workflow %s%s%s\n", wf->id, wf->name ? ": " : "", wf->name ? wf->name : "");
        if (wf->owner)
            printf("owner: %s\n", wf->owner);
        if (wf->online) {
            char e[HS_DURATION_MAX], a[HS_DURATION_MAX], z[HS_DURATION_MAX];
            hs_duration_format(wf->every_us, e);
            hs_duration_format(wf->window.start_us, a);
            hs_duration_format(wf->window.end_us, z);
            printf("online: every %s over [%s, %s]\n", e, a, z);
        }
        printf("plates:\n");
        for (size_t i = 0; i < wf->nplates; i++) {
            const hs_wf_plate *p = &wf->plates[i];
            if (p->nmembers > 0) {
                /* A node on several plates: their product, joined on shared keys. */
                const char *keys[32];
                size_t nk = 0;
                hs_workflow_plate_keys(wf, (int)i, keys, &nk);
                printf("  %-10s keys", p->id);
                for (size_t k = 0; k < nk; k++)
                    printf("%s%s", k ? ", " : " ", keys[k]);
                printf(" (product of its plates)\n");
                continue;
            }
            printf("  %-10s meta %-10s parent %-8s values", p->id, p->meta ? p->meta : "?",
                   p->parent ? p->parent : "-");
            /* A fleet's plate lists 100,000 values: the text shows the first few. */
            for (size_t k = 0; k < p->nvalues && k < WF_SHOW_VALUES; k++)
                printf(" %s", p->values[k]);
            if (p->nvalues > WF_SHOW_VALUES) {
                char more[HSCTL_COUNT_MAX], all[HSCTL_COUNT_MAX];
                printf(" \u2026 and %s more (%s values; --json lists them all)",
                       hsctl_fmt_count(p->nvalues - WF_SHOW_VALUES, more),
                       hsctl_fmt_count(p->nvalues, all));
            }
            if (p->dynamic)
                printf(" (created from data)");
            else if (p->nvalues == 0)
                printf(" (the meta-data tree's%s%s%s)", p->match ? ", matching " : "",
                       p->match ? p->match : "", p->grow ? ", growing from raw data" : "");
            else if (p->match != NULL)
                printf(" (matching %s)", p->match);
            printf("\n");
        }
        printf("factors (in dependency order):\n");
        for (size_t oi = 0; oi < wf->nfactors; oi++) {
            const hs_wf_factor *f = &wf->factors[wf->order[oi]];
            printf("  %-18s v%-7s ", f->tool, f->def->version);
            for (size_t k = 0; k < f->nsources; k++)
                printf("%s%s", k ? ", " : "", f->sources[k]);
            printf(" -> %s", f->sink ? f->sink : f->output_plate ? f->output_plate : "?");
            if (f->sink_plate >= 0)
                printf(" on %s", wf->plates[f->sink_plate].id);
            if (f->over)
                printf(" over %s", f->over);
            printf("  params %s  binding %s\n", f->params_json ? f->params_json : "{}", f->hash);
        }
    }
    hs_buf_free(&b);
    hs_workflow_destroy(wf);
    return rc;
}

int cmd_workflow(hsctl *h, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        puts("usage: hsctl workflow add FILE [--replace | --dry-run]\n"
             "                                      validate and store a workflow (YAML or JSON);\n"
             "                                      replacing a different definition of it needs\n"
             "                                      --replace (its changed streams are purged and\n"
             "                                      recomputed), --dry-run prints that plan only\n"
             "       hsctl workflow ls              list stored workflows\n"
             "       hsctl workflow show ID [--dot | --svg FILE | --json]\n"
             "       hsctl workflow rm ID           remove a workflow (its streams are kept)\n"
             "       hsctl workflow check FILE      validate only");
        return argc < 2 ? HSCTL_USER : 0;
    }
    const char *verb = argv[1];
    const char *arg = NULL, *svg = NULL;
    bool dot = false, json = false, replace = false, dry_run = false;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--dot") == 0)
            dot = true;
        else if (strcmp(argv[i], "--replace") == 0)
            replace = true;
        else if (strcmp(argv[i], "--dry-run") == 0)
            dry_run = true;
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (hsctl_opt(argc, argv, &i, "--svg", &v))
            svg = v;
        else if (hsctl_opt(argc, argv, &i, "--data", &v))
            continue;
        else if (arg == NULL)
            arg = argv[i];
        else
            return hsctl_fail(HSCTL_USER, "unexpected argument '%s'", argv[i]);
    }
    if (strcmp(verb, "ls") == 0)
        return wf_list(h, json);
    if (arg == NULL)
        return hsctl_fail(HSCTL_USER, "usage: hsctl workflow %s %s", verb,
                          strcmp(verb, "add") == 0 || strcmp(verb, "check") == 0 ? "FILE" : "ID");
    if ((replace || dry_run) && strcmp(verb, "add") != 0)
        return hsctl_fail(HSCTL_USER, "--replace and --dry-run go with workflow add");
    if (strcmp(verb, "add") == 0)
        return wf_add(h, arg, replace, dry_run);
    if (strcmp(verb, "check") == 0) {
        hs_buf text, errors;
        hs_buf_init(&text, 0);
        hs_buf_init(&errors, 0);
        int rc = HSCTL_OK;
        hs_workflow *wf;
        if (read_file(arg, &text) != 0)
            rc = hsctl_fail(HSCTL_USER, "cannot read %s", arg);
        else if (hs_workflow_parse((const char *)text.data, text.len, arg, tools(h), &wf,
                                   &errors) != HS_OK) {
            fprintf(stderr, "%s", hs_buf_cstr(&errors));
            rc = HSCTL_USER;
        } else {
            printf("%s: workflow %s is valid (%zu factors, %zu plates)\n", arg, wf->id,
                   wf->nfactors, hs_workflow_declared_plates(wf));
            hs_workflow_destroy(wf);
        }
        hs_buf_free(&text);
        hs_buf_free(&errors);
        return rc;
    }
    if (strcmp(verb, "show") == 0)
        return wf_show(h, arg, dot, svg, json);
    if (strcmp(verb, "rm") == 0) {
        hs_proto_api_req q = {.op = HS_API_WORKFLOW_RM, .workflow = arg};
        hs_proto_api_reply_msg reply;
        int rc = hsctl_api_call(h, &q, "removing the workflow", &reply, 30000);
        if (rc == HSCTL_OK)
            printf("workflow %s removed; its streams are kept (hsctl stream purge removes them)\n",
                   arg);
        hs_proto_api_reply_msg_free(&reply);
        return rc;
    }
    return hsctl_fail(HSCTL_USER, "unknown workflow verb '%s' (add, ls, show, rm, check)", verb);
}

/* ------------------------------------------------------------------ compute */

static volatile sig_atomic_t g_interrupted;

static void on_int(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

/*
 * One progress line of a request. elapsed_s is hsctl's own time since it
 * sent the request: the same start as --timeout.
 */
static void show_progress(const hs_proto_progress *p, double elapsed_s, bool tty, bool final)
{
    long t = (long)p->jobs_total, d = (long)p->jobs_done, f = (long)p->jobs_failed;
    long x = (long)p->jobs_dropped, u = (long)p->jobs_unplanned;
    double e = elapsed_s, n = (double)p->instances;
    double rate = e > 0 ? n / e : 0;
    double eta = d + f > 0 && t > d + f ? e / (double)(d + f) * (double)(t - d - f) : 0;
    char more[64] = "";
    if (u > 0)
        snprintf(more, sizeof more, ", %ld more to plan", u);
    else if (x > 0)
        snprintf(more, sizeof more, ", %ld dropped", x);
    if (tty) {
        int width = 30, fill = t > 0 ? (int)((d + f) * width / t) : width;
        char bar[64], failed[32] = "";
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        if (f)
            snprintf(failed, sizeof failed, ", failed %ld", f);
        char secs[HSCTL_SECONDS_MAX];
        printf("\r[%s] %ld/%ld jobs%s%s  %.0f inst/s  %s%s ", bar, d + f, t, failed, more, rate,
               final ? "took " : "ETA ", hsctl_fmt_seconds(final ? e : eta, secs));
        if (final)
            printf("\n");
        fflush(stdout);
    } else {
        char secs[HSCTL_SECONDS_MAX];
        printf("%s: %ld/%ld jobs done, %ld failed%s, %.0f instances, %.1f inst/s, %s\n",
               hs_proto_req_state_name(p->state), d, t, f, more, n, rate,
               hsctl_fmt_seconds(e, secs));
        fflush(stdout);
    }
}

/* compute --cancel REQUEST. */
static int compute_cancel(hsctl *h, const char *rid)
{
    hs_proto_api_req q = {.op = HS_API_CANCEL, .request = rid};
    hs_proto_api_reply_msg reply;
    int rc = hsctl_api_call(h, &q, "cancel", &reply, 30000);
    if (rc == HSCTL_OK)
        printf("request %s cancelled: %llu queued jobs dropped, %llu running jobs let finish\n",
               rid, (unsigned long long)reply.reply.dropped,
               (unsigned long long)reply.reply.running);
    hs_proto_api_reply_msg_free(&reply);
    return rc;
}

/*
 * The guard against a mistyped interval: asks the scheduler how many jobs
 * the request would plan (a dry run) and refuses more than confirm_over
 * without --yes, with the count and the command to run.
 */
static int compute_confirm(hsctl *h, const hs_proto_api_req *q, long confirm_over, int argc,
                           char **argv)
{
    hs_proto_api_req dry = *q;
    dry.dry_run = true;
    hs_proto_api_reply_msg reply;
    int rc = hsctl_api_call(h, &dry, "compute", &reply, 30000);
    unsigned long long jobs = (unsigned long long)reply.reply.jobs;
    hs_proto_api_reply_msg_free(&reply);
    if (rc != HSCTL_OK || jobs <= (unsigned long long)confirm_over)
        return rc;
    char secs[HSCTL_SECONDS_MAX];
    fprintf(stderr,
            "hsctl: compute refused: it would plan %llu jobs (more than %ld) over %s; check --from "
            "and --to, or run it with --yes:\n ",
            jobs, confirm_over, hsctl_fmt_seconds((double)(q->iv.end - q->iv.start) / 1e6, secs));
    fprintf(stderr, " hsctl");
    for (int i = 0; i < argc; i++)
        fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, " --yes\n");
    return HSCTL_USER;
}

/* Where compute --wait gave up: the request goes on, and how to stop it. */
static int compute_gave_up(int code, const char *what, const char *rid, bool tty)
{
    if (tty)
        printf("\n");
    return hsctl_fail(code, "%s; request %s goes on (hsctl compute --cancel %s stops it)", what,
                      rid, rid);
}

int cmd_compute(hsctl *h, int argc, char **argv)
{
    const char *id = NULL, *cancel = NULL;
    int64_t from = 0, to = 0;
    bool have_from = false, have_to = false, wait = false, yes = false;
    double timeout_s = 0;
    long confirm_over = 10000;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl compute ID --from T --to T [--wait] [--timeout SECONDS] [--yes]\n"
                 "                        [--confirm-over N]\n"
                 "       hsctl compute --cancel REQUEST\n"
                 "Asks the scheduler to compute workflow ID over (FROM, TO]: only what is not\n"
                 "calculated yet. A request of more than N jobs (--confirm-over, default 10000;\n"
                 "0: no limit) needs --yes. With --wait, shows progress until the last job is\n"
                 "committed; exit 2 when jobs failed, 4 when the request was cancelled, 3 when\n"
                 "--timeout SECONDS passed first and 130 on Ctrl-C (the request goes on: the\n"
                 "message names it). --cancel REQUEST drops the request's queued jobs (jobs\n"
                 "already running finish) and ends it as cancelled.");
            return 0;
        } else if (hsctl_opt(argc, argv, &i, "--from", &v)) {
            if (!hsctl_time(v, &from))
                return HSCTL_USER;
            have_from = true;
        } else if (hsctl_opt(argc, argv, &i, "--to", &v)) {
            if (!hsctl_time(v, &to))
                return HSCTL_USER;
            have_to = true;
        } else if (strcmp(argv[i], "--wait") == 0) {
            wait = true;
        } else if (strcmp(argv[i], "--yes") == 0) {
            yes = true;
        } else if (hsctl_opt(argc, argv, &i, "--cancel", &v)) {
            if (v == NULL || v[0] == '\0')
                return hsctl_fail(HSCTL_USER, "--cancel needs a request id");
            cancel = v;
        } else if (hsctl_opt(argc, argv, &i, "--confirm-over", &v)) {
            long long n;
            if (!hsctl_count(v, &n))
                return hsctl_fail(HSCTL_USER,
                                  "--confirm-over needs a number of jobs (0: no limit)");
            confirm_over = n;
        } else if (hsctl_opt(argc, argv, &i, "--timeout", &v)) {
            timeout_s = v ? atof(v) : 0;
            if (!(timeout_s > 0))
                return hsctl_fail(HSCTL_USER, "--timeout needs a positive number of seconds");
        } else if (hsctl_opt(argc, argv, &i, "--data", &v)) {
            continue;
        } else if (id == NULL) {
            id = argv[i];
        } else {
            return hsctl_fail(HSCTL_USER, "unexpected argument '%s'", argv[i]);
        }
    }
    if (cancel != NULL) {
        if (id != NULL || have_from || have_to || wait)
            return hsctl_fail(HSCTL_USER, "usage: hsctl compute --cancel REQUEST (nothing else)");
        return compute_cancel(h, cancel);
    }
    if (id == NULL || !have_from || !have_to)
        return hsctl_fail(HSCTL_USER, "usage: hsctl compute ID --from T --to T [--wait]");
    if (from >= to)
        return hsctl_fail(HSCTL_USER, "--from must be before --to");
    hs_mqtt *m = hsctl_mqtt(h);
    if (m == NULL)
        return HSCTL_SYSTEM;
    char rid[64];
    snprintf(rid, sizeof rid, "c-%lld-%d", (long long)(hs_time_now_us() / 1000), (int)getpid());
    hs_proto_api_req q = {.op = HS_API_COMPUTE, .workflow = id, .iv = {from, to}, .request = rid};
    if (!yes && confirm_over > 0) {
        int rc = compute_confirm(h, &q, confirm_over, argc, argv);
        if (rc != HSCTL_OK)
            return rc;
    }
    hs_buf t;
    hs_buf_init(&t, 0);
    if (wait)
        (void)hs_mqtt_subscribe(m, hsctl_topic(h, &t, "progress/%s", rid), 1);
    bool tty = isatty(1);
    if (wait)
        signal(SIGINT, on_int);
    /* One start for the progress shown and for --timeout: when the request is sent. */
    int64_t start = hs_time_mono_us();
    int64_t end = timeout_s > 0 ? start + (int64_t)(timeout_s * 1e6) : INT64_MAX;
    hs_proto_api_reply_msg reply;
    int rc = hsctl_api_call(h, &q, "compute", &reply, 30000);
    if (rc == HSCTL_OK) {
        unsigned long long jobs = (unsigned long long)reply.reply.jobs;
        unsigned long long unplanned = (unsigned long long)reply.reply.unplanned;
        if (reply.reply.reopened > 0)
            printf("late data, an invalidation or new plate values reopened %llu intervals here: "
                   "they are computed "
                   "again\n",
                   (unsigned long long)reply.reply.reopened);
        if (!wait)
            printf("request %s: %llu jobs planned (hsctl compute --wait shows progress)\n", rid,
                   jobs);
        else if (!tty)
            printf("request %s: %llu jobs planned\n", rid, jobs);
        if (unplanned > 0)
            printf("%llu more jobs are planned as the scheduler's job table (max_jobs) has room\n",
                   unplanned);
        if (jobs == 0) {
            if (wait)
                printf("nothing to compute: the interval is calculated already\n");
            wait = false;
        }
        fflush(stdout); /* the request id, at once also into a file or a pipe */
    }
    while (rc == HSCTL_OK && wait) {
        char secs[HSCTL_SECONDS_MAX], what[80];
        int64_t now = hs_time_mono_us();
        if (g_interrupted) {
            rc = compute_gave_up(HSCTL_INTERRUPTED, "interrupted", rid, tty);
            break;
        }
        if (now >= end) {
            snprintf(what, sizeof what, "gave up waiting after %s",
                     hsctl_fmt_seconds(timeout_s, secs));
            rc = compute_gave_up(HSCTL_TIMEOUT, what, rid, tty);
            break;
        }
        int64_t left_ms = end == INT64_MAX ? 200 : (end - now) / 1000 + 1;
        hs_mqtt_msg *msg;
        if (hs_mqtt_recv(m, &msg, left_ms < 200 ? (int)left_ms : 200) != HS_OK)
            continue;
        now = hs_time_mono_us();
        if (now >= end) { /* it came after the deadline: the top of the loop gives up */
            hs_mqtt_msg_free(msg);
            continue;
        }
        hs_proto_progress_msg pm;
        if (hs_proto_progress_decode(&pm, (const char *)msg->payload, msg->len) != HS_OK) {
            fprintf(stderr, "hsctl: unreadable progress message: %s\n", hs_err_detail());
            hs_proto_progress_msg_free(&pm);
            hs_mqtt_msg_free(msg);
            continue;
        }
        bool final = pm.p.state != HS_REQ_RUNNING;
        show_progress(&pm.p, (double)(now - start) / 1e6, tty, final);
        if (final && pm.p.state == HS_REQ_FAILED)
            rc = hsctl_fail(HSCTL_SYSTEM, "some jobs failed: %s (hsctl jobs %s --failed)",
                            pm.p.error != NULL ? pm.p.error : "", id);
        else if (final && pm.p.state == HS_REQ_CANCELLED)
            rc =
                hsctl_fail(HSCTL_CANCELLED, "request %s was cancelled (%s): %llu jobs dropped", rid,
                           pm.p.error != NULL && pm.p.error[0] ? pm.p.error : "no reason given",
                           (unsigned long long)pm.p.jobs_dropped);
        hs_proto_progress_msg_free(&pm);
        hs_mqtt_msg_free(msg);
        if (final)
            break;
    }
    if (wait)
        signal(SIGINT, SIG_DFL);
    hs_proto_api_reply_msg_free(&reply);
    hs_buf_free(&t);
    return rc;
}

/* ------------------------------------------------------------------ jobs */

/* What jobs_one returns to stop the listing when the limit is reached. */
#define JOBS_ENOUGH 1

typedef struct jobs_ctx {
    bool failed_only, json;
    long factor; /* only the jobs of this factor (the F column's number); -1: all */
    long limit;  /* rows shown at most; 0: all */
    long shown;
    hsctl_table table; /* the rows without json */
    int rc;            /* HS_OK, or the first failure to add a row */
} jobs_ctx;

static int jobs_one(void *ud, const char *key, const char *json)
{
    jobs_ctx *c = ud;
    hs_proto_history_msg hm;
    if (hs_proto_history_decode(&hm, json, strlen(json)) != HS_OK) {
        fprintf(stderr, "hsctl: history record %s is unreadable: %s\n", key, hs_err_detail());
        hs_proto_history_msg_free(&hm);
        return 0;
    }
    const hs_proto_history *r = &hm.h;
    if ((c->failed_only && r->outcome == HS_OUTCOME_OK) ||
        (c->factor >= 0 && r->factor != (uint32_t)c->factor)) {
        hs_proto_history_msg_free(&hm);
        return 0;
    }
    if (c->json) {
        printf("%s\n", json);
    } else {
        char committed[HS_TIME_ISO_MAX], a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
        hs_time_format_iso(r->committed_us, committed);
        hs_time_format_iso(r->interval.start, a);
        hs_time_format_iso(r->interval.end, b);
        char why[32];
        snprintf(why, sizeof why, "%s%s", hs_proto_trigger_name(r->trigger),
                 r->recompute ? "+recompute" : "");
        char factor[16], iv[2 * HS_TIME_ISO_MAX + 8], count[24], dur[32];
        snprintf(factor, sizeof factor, "f%u", (unsigned)r->factor);
        snprintf(iv, sizeof iv, "(%s, %s]", a, b);
        snprintf(count, sizeof count, "%llu", (unsigned long long)r->count);
        snprintf(dur, sizeof dur, "%.1fms", (double)r->duration_us / 1000.0);
        const char *row[11] = {committed,
                               r->job,
                               r->workflow,
                               factor,
                               r->pv[0] ? r->pv : "-",
                               iv,
                               hs_proto_outcome_name(r->outcome),
                               why,
                               count,
                               dur,
                               r->error != NULL ? r->error : ""};
        int rc = hsctl_table_add(&c->table, row);
        if (rc != HS_OK) {
            c->rc = rc;
            hs_proto_history_msg_free(&hm);
            return -1;
        }
    }
    c->shown++;
    hs_proto_history_msg_free(&hm);
    return c->limit > 0 && c->shown >= c->limit ? JOBS_ENOUGH : 0;
}

int cmd_jobs(hsctl *h, int argc, char **argv)
{
    const char *wf = NULL;
    jobs_ctx c;
    memset(&c, 0, sizeof c);
    c.factor = -1;
    c.limit = 50;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl jobs [WORKFLOW] [--limit N] [--failed] [--factor N] [--json]\n"
                 "The job history, newest first: job id, workflow, factor, plate value,\n"
                 "interval, outcome, why it ran (request, online, late, invalidate; +recompute\n"
                 "when it replaced reopened results), instances, duration (and the error of\n"
                 "failed jobs). The job id is the one errors name (\"upstream job j-...\").\n"
                 "--limit N rows at most (default 50, 0: all), also with --failed and\n"
                 "--factor N (only the jobs of factor N, the F column: 1 or f1).");
            return 0;
        } else if (strcmp(argv[i], "--failed") == 0) {
            c.failed_only = true;
        } else if (strcmp(argv[i], "--json") == 0) {
            c.json = true;
        } else if (hsctl_opt(argc, argv, &i, "--limit", &v)) {
            long long n;
            if (!hsctl_count(v, &n))
                return hsctl_fail(HSCTL_USER, "--limit needs a number of rows (0: all of them)");
            c.limit = n;
        } else if (hsctl_opt(argc, argv, &i, "--factor", &v)) {
            const char *d = v != NULL && v[0] == 'f' ? v + 1 : v;
            long long n;
            if (!hsctl_count(d, &n) || n > UINT32_MAX)
                return hsctl_fail(HSCTL_USER, "--factor needs a factor's number (as in the F "
                                              "column: 1 or f1)");
            c.factor = (long)n;
        } else if (hsctl_opt(argc, argv, &i, "--data", &v)) {
            continue;
        } else {
            wf = argv[i];
        }
    }
    hs_store *s = hsctl_store(h);
    if (s == NULL)
        return HSCTL_SYSTEM;
    char prefix[300] = "";
    if (wf != NULL)
        snprintf(prefix, sizeof prefix, "%s/", wf);
    /* JOB is the id that errors name ("upstream job j-..."). */
    const char *heads[11] = {"COMMITTED", "JOB", "WORKFLOW", "F",        "PLATE VALUE", "INTERVAL",
                             "OUTCOME",   "WHY", "COUNT",    "DURATION", "ERROR"};
    if (!c.json && hsctl_table_init(&c.table, 11, heads, "llllllllrrl") != HS_OK)
        return hsctl_fail(HSCTL_SYSTEM, "out of memory");
    /* With a filter the store cannot know how many records make limit rows: jobs_one stops. */
    bool filtered = c.failed_only || c.factor >= 0;
    int rc =
        hs_store_doc_list(s, "history", prefix, true, filtered ? 0 : (size_t)c.limit, jobs_one, &c);
    if (rc == JOBS_ENOUGH)
        rc = HS_OK;
    int out = HSCTL_OK;
    if (c.rc != HS_OK)
        out = hsctl_fail(HSCTL_SYSTEM, "out of memory");
    else if (rc != HS_OK)
        out = hsctl_fail(HSCTL_SYSTEM, "%s", hs_err_detail());
    else if (!c.json)
        out = hsctl_table_print(&c.table);
    hsctl_table_free(&c.table);
    return out;
}

/* ------------------------------------------------------------------ tools */

static const char *kind_name(hs_tool_kind k)
{
    switch (k) {
    case HS_TOOL_PLAIN:
        return "tool";
    case HS_TOOL_AGGREGATE:
        return "aggregate";
    case HS_TOOL_MULTI:
        return "multi-output";
    case HS_TOOL_SELECTOR:
        return "selector";
    case HS_TOOL_PLATE:
        return "plate-creation";
    }
    return "?";
}

/* tool ls --json: one JSON line per tool version. HS_OK or the buffer's error. */
static int tool_json(const hs_tool_def *d, bool newest, hs_buf *j)
{
    int rc = hs_buf_puts(j, "{\"name\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(j, d->name, strlen(d->name));
    if (rc == HS_OK)
        rc = hs_buf_puts(j, ",\"version\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(j, d->version, strlen(d->version));
    if (rc == HS_OK)
        rc = hs_buf_printf(j,
                           ",\"newest\":%s,\"kind\":\"%s\",\"summary\":", newest ? "true" : "false",
                           kind_name(d->kind));
    if (rc == HS_OK)
        rc = hs_json_put_string(j, d->summary ? d->summary : "",
                                d->summary ? strlen(d->summary) : 0);
    if (rc == HS_OK)
        rc = hs_buf_puts(j, "}\n");
    return rc;
}

/*
 * tool ls [--json]: every registered version of every tool, one line each
 * (the registry's order: by name, the newest version first and marked), as a
 * table or as JSON lines.
 */
static int tool_list(hs_tool_registry *r, bool json)
{
    hsctl_table t;
    const char *heads[5] = {"TOOL", "VERSION", "NEWEST", "KIND", "SUMMARY"};
    if (!json && hsctl_table_init(&t, 5, heads, NULL) != HS_OK)
        return hsctl_fail(HSCTL_SYSTEM, "out of memory");
    hs_buf j;
    hs_buf_init(&j, 0);
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < hs_tool_registry_count(r); i++) {
        const hs_tool_def *d = hs_tool_registry_at(r, i);
        bool newest = hs_tool_registry_find(r, d->name) == d;
        if (json) {
            rc = tool_json(d, newest, &j);
        } else {
            const char *row[5] = {d->name, d->version, newest ? "yes" : "no", kind_name(d->kind),
                                  d->summary ? d->summary : ""};
            rc = hsctl_table_add(&t, row);
        }
    }
    int out = hsctl_listing_end(rc, json, &j, &t);
    return out;
}

int cmd_tool(hsctl *h, int argc, char **argv)
{
    (void)h;
    hs_tool_registry *r = tools(h);
    if (r == NULL)
        return HSCTL_SYSTEM;
    /* main checked the command word: ls (also when none is given) or show. */
    bool show = argc >= 2 && strcmp(argv[1], "show") == 0;
    bool json = false;
    const char *name = NULL, *version = NULL;
    for (int i = argc >= 2 && argv[1][0] != '-' ? 2 : 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--json") == 0 && !show)
            json = true;
        else if (hsctl_opt(argc, argv, &i, "--data", &v))
            continue;
        else if (show && name == NULL)
            name = argv[i];
        else if (show && version == NULL)
            version = argv[i];
        else
            return hsctl_fail(HSCTL_USER, "unexpected argument '%s' (hsctl help tool)", argv[i]);
    }
    if (!show)
        return tool_list(r, json);
    if (name == NULL)
        return hsctl_fail(HSCTL_USER, "usage: hsctl tool show NAME [VERSION]");
    const hs_tool_def *d = hs_tool_registry_find(r, name);
    if (d == NULL)
        return hsctl_fail(HSCTL_USER, "unknown tool '%s' (hsctl tool ls lists them)", name);
    hs_buf versions;
    hs_buf_init(&versions, 0);
    if (hs_tool_registry_versions(r, name, &versions) != HS_OK) {
        hs_buf_free(&versions);
        return hsctl_fail(HSCTL_SYSTEM, "out of memory");
    }
    if (version != NULL) {
        int a, b, c;
        if (hs_tool_version_parse(version, &a, &b, &c) != HS_OK) {
            hs_buf_free(&versions);
            return hsctl_fail(HSCTL_USER, "version '%s' is not major.minor or major.minor.patch",
                              version);
        }
        d = hs_tool_registry_find_version(r, name, version);
        if (d == NULL) {
            int out = hsctl_fail(HSCTL_USER, "tool %s has no version %d.%d; versions available: %s",
                                 name, a, b, hs_buf_cstr(&versions));
            hs_buf_free(&versions);
            return out;
        }
    }
    printf("%s %s (%s)\n%s\n\n", d->name, d->version, kind_name(d->kind),
           d->summary ? d->summary : "");
    printf("versions: %s (newest first)\n", hs_buf_cstr(&versions));
    hs_buf_free(&versions);
    if (d->max_sources < 0)
        printf("sources: at least %d\n", d->min_sources);
    else if (d->min_sources == d->max_sources)
        printf("sources: %d\n", d->min_sources);
    else
        printf("sources: %d to %d\n", d->min_sources, d->max_sources);
    if (d->alignment)
        printf("needs an alignment stream\n");
    if (d->splitting)
        printf("takes a splitting stream\n");
    printf("parameters:\n");
    for (const hs_tool_param *p = d->params; p && p->name; p++)
        printf("  %-18s %s%s%s%s\n", p->name, p->help ? p->help : "",
               p->def ? " (default " : " (required)", p->def ? p->def : "", p->def ? ")" : "");
    printf("\n%s\n", d->doc ? d->doc : "");
    return HSCTL_OK;
}
