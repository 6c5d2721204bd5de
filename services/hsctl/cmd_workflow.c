/*
 * hsctl workflow / compute / jobs / tool: workflows, their computation, the
 * job history and the tool library.
 */
#include "hsctl.h"
#include "tools.h"

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

static hs_tool_registry *tools(void)
{
    if (g_tools == NULL && hs_tool_registry_create(&g_tools) == HS_OK) {
        hs_builtin_tools_register(g_tools);
        const char *dir = getenv("HS_PLUGIN_DIR");
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
static int api_call(hsctl *h, const hs_proto_api_req *q, const char *what,
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
        fprintf(stderr, "hsctl: %s failed:\n%s\n", what, reply->reply.error);
        rc = HSCTL_USER;
    }
out:
    hs_buf_free(&t);
    hs_buf_free(&req);
    hs_buf_free(&raw);
    return rc;
}

static int wf_add(hsctl *h, const char *file)
{
    hs_buf text, errors;
    hs_proto_api_reply_msg reply;
    hs_buf_init(&text, 0);
    hs_buf_init(&errors, 0);
    int rc = HSCTL_OK;
    if (read_file(file, &text) != 0) {
        rc = hsctl_fail(HSCTL_USER, "cannot read %s", file);
        goto out;
    }
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    hs_workflow *wf;
    /* Validate here first: every problem with file and line. */
    if (hs_workflow_parse((const char *)text.data, text.len, base, tools(), &wf, &errors) !=
        HS_OK) {
        fprintf(stderr, "%s", hs_buf_cstr(&errors));
        rc = hsctl_fail(HSCTL_USER, "%s is not a valid workflow", file);
        goto out;
    }
    char id[256];
    snprintf(id, sizeof id, "%s", wf->id);
    size_t nfactors = wf->nfactors;
    hs_workflow_destroy(wf);
    hs_proto_api_req q = {
        .op = HS_API_WORKFLOW_ADD, .definition = hs_buf_cstr(&text), .filename = base};
    rc = api_call(h, &q, "adding the workflow", &reply, 60000);
    if (rc == HSCTL_OK)
        printf("workflow %s %s (%zu factors)\n", id,
               reply.reply.unchanged ? "unchanged: the stored definition is the same" : "added",
               nfactors);
    hs_proto_api_reply_msg_free(&reply);
out:
    hs_buf_free(&text);
    hs_buf_free(&errors);
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
    } else if (hs_workflow_parse(dm.d.text, strlen(dm.d.text), id, tools(), out, &errors) !=
               HS_OK) {
        rc = hsctl_fail(HSCTL_SYSTEM, "stored workflow %s no longer loads:\n%s", id,
                        hs_buf_cstr(&errors));
    }
    hs_proto_workflow_doc_msg_free(&dm);
    hs_buf_free(&doc);
    hs_buf_free(&errors);
    return rc;
}

static int ls_one(void *ud, const char *key, const char *json)
{
    hsctl *h = ud;
    hs_workflow *wf = NULL;
    (void)json;
    if (wf_load(h, key, &wf) != HSCTL_OK) {
        printf("%-24s (does not load)\n", key);
        return 0;
    }
    char every[HS_DURATION_MAX] = "-";
    if (wf->online)
        hs_duration_format(wf->every_us, every);
    printf("%-24s %-7zu %-7zu %-8s %s\n", wf->id, wf->nfactors, wf->nplates, every,
           wf->name ? wf->name : "");
    hs_workflow_destroy(wf);
    return 0;
}

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
                fwrite(b.data, 1, b.len, p);
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
            printf("  %-10s meta %-10s parent %-8s values", p->id, p->meta ? p->meta : "?",
                   p->parent ? p->parent : "-");
            for (size_t k = 0; k < p->nvalues; k++)
                printf(" %s", p->values[k]);
            printf("%s\n", p->dynamic ? " (created from data)" : "");
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
        puts("usage: hsctl workflow add FILE        validate and store a workflow (YAML or JSON)\n"
             "       hsctl workflow ls              list stored workflows\n"
             "       hsctl workflow show ID [--dot | --svg FILE | --json]\n"
             "       hsctl workflow rm ID           remove a workflow (its streams are kept)\n"
             "       hsctl workflow check FILE      validate only");
        return argc < 2 ? HSCTL_USER : 0;
    }
    const char *verb = argv[1];
    const char *arg = NULL, *svg = NULL;
    bool dot = false, json = false;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--dot") == 0)
            dot = true;
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
    if (strcmp(verb, "ls") == 0) {
        hs_store *s = hsctl_store(h);
        if (s == NULL)
            return HSCTL_SYSTEM;
        printf("%-24s %-7s %-7s %-8s %s\n", "ID", "FACTORS", "PLATES", "ONLINE", "NAME");
        return hs_store_doc_list(s, "workflows", "", false, 0, ls_one, h) == HS_OK
                   ? HSCTL_OK
                   : hsctl_fail(HSCTL_SYSTEM, "%s", hs_err_detail());
    }
    if (arg == NULL)
        return hsctl_fail(HSCTL_USER, "usage: hsctl workflow %s %s", verb,
                          strcmp(verb, "add") == 0 || strcmp(verb, "check") == 0 ? "FILE" : "ID");
    if (strcmp(verb, "add") == 0)
        return wf_add(h, arg);
    if (strcmp(verb, "check") == 0) {
        hs_buf text, errors;
        hs_buf_init(&text, 0);
        hs_buf_init(&errors, 0);
        int rc = HSCTL_OK;
        hs_workflow *wf;
        if (read_file(arg, &text) != 0)
            rc = hsctl_fail(HSCTL_USER, "cannot read %s", arg);
        else if (hs_workflow_parse((const char *)text.data, text.len, arg, tools(), &wf, &errors) !=
                 HS_OK) {
            fprintf(stderr, "%s", hs_buf_cstr(&errors));
            rc = HSCTL_USER;
        } else {
            printf("%s: workflow %s is valid (%zu factors, %zu plates)\n", arg, wf->id,
                   wf->nfactors, wf->nplates);
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
        int rc = api_call(h, &q, "removing the workflow", &reply, 30000);
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

static void show_progress(const hs_proto_progress *p, bool tty, bool final)
{
    long t = (long)p->jobs_total, d = (long)p->jobs_done, f = (long)p->jobs_failed;
    double e = p->elapsed_s, n = (double)p->instances;
    double rate = e > 0 ? n / e : 0;
    double eta = d + f > 0 && t > d + f ? e / (double)(d + f) * (double)(t - d - f) : 0;
    if (tty) {
        int width = 30, fill = t > 0 ? (int)((d + f) * width / t) : width;
        char bar[64], failed[32] = "";
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        if (f)
            snprintf(failed, sizeof failed, ", failed %ld", f);
        printf("\r[%s] %ld/%ld jobs%s  %.0f inst/s  %s%.0fs ", bar, d + f, t, failed, rate,
               final ? "took " : "ETA ", final ? e : eta);
        if (final)
            printf("\n");
        fflush(stdout);
    } else {
        printf("%s: %ld/%ld jobs done, %ld failed, %.0f instances, %.1f inst/s, %.1fs\n",
               hs_proto_req_state_name(p->state), d, t, f, n, rate, e);
    }
}

int cmd_compute(hsctl *h, int argc, char **argv)
{
    const char *id = NULL;
    int64_t from = 0, to = 0;
    bool have_from = false, have_to = false, wait = false;
    double timeout_s = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl compute ID --from T --to T [--wait] [--timeout SECONDS]\n"
                 "Asks the scheduler to compute workflow ID over (FROM, TO]: only what is not\n"
                 "calculated yet. With --wait, shows progress until the last job is committed;\n"
                 "exit 2 when jobs failed.");
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
        } else if (hsctl_opt(argc, argv, &i, "--timeout", &v)) {
            timeout_s = v ? atof(v) : 0;
        } else if (hsctl_opt(argc, argv, &i, "--data", &v)) {
            continue;
        } else if (id == NULL) {
            id = argv[i];
        } else {
            return hsctl_fail(HSCTL_USER, "unexpected argument '%s'", argv[i]);
        }
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
    hs_buf t;
    hs_buf_init(&t, 0);
    if (wait)
        (void)hs_mqtt_subscribe(m, hsctl_topic(h, &t, "progress/%s", rid), 1);
    hs_proto_api_req q = {.op = HS_API_COMPUTE, .workflow = id, .iv = {from, to}, .request = rid};
    hs_proto_api_reply_msg reply;
    int rc = api_call(h, &q, "compute", &reply, 30000);
    if (rc == HSCTL_OK) {
        unsigned long long jobs = (unsigned long long)reply.reply.jobs;
        if (reply.reply.reopened > 0)
            printf("late data or an invalidation reopened %llu intervals here: they are computed "
                   "again\n",
                   (unsigned long long)reply.reply.reopened);
        if (!wait)
            printf("request %s: %llu jobs planned (hsctl compute --wait shows progress)\n", rid,
                   jobs);
        else if (!isatty(1))
            printf("request %s: %llu jobs planned\n", rid, jobs);
        if (jobs == 0) {
            if (wait)
                printf("nothing to compute: the interval is calculated already\n");
            wait = false;
        }
    }
    bool tty = isatty(1);
    signal(SIGINT, on_int);
    int64_t end = timeout_s > 0 ? hs_time_mono_us() + (int64_t)(timeout_s * 1e6) : INT64_MAX;
    while (rc == HSCTL_OK && wait && !g_interrupted) {
        if (hs_time_mono_us() > end) {
            rc = hsctl_fail(HSCTL_SYSTEM, "gave up waiting after %.0f s (the request goes on)",
                            timeout_s);
            break;
        }
        hs_mqtt_msg *msg;
        if (hs_mqtt_recv(m, &msg, 200) != HS_OK)
            continue;
        hs_proto_progress_msg pm;
        if (hs_proto_progress_decode(&pm, (const char *)msg->payload, msg->len) != HS_OK) {
            fprintf(stderr, "hsctl: unreadable progress message: %s\n", hs_err_detail());
            hs_proto_progress_msg_free(&pm);
            hs_mqtt_msg_free(msg);
            continue;
        }
        bool final = pm.p.state != HS_REQ_RUNNING;
        show_progress(&pm.p, tty, final);
        if (final && pm.p.state == HS_REQ_FAILED)
            rc = hsctl_fail(HSCTL_SYSTEM, "some jobs failed: %s (hsctl jobs %s --failed)",
                            pm.p.error != NULL ? pm.p.error : "", id);
        hs_proto_progress_msg_free(&pm);
        hs_mqtt_msg_free(msg);
        if (final)
            break;
    }
    hs_proto_api_reply_msg_free(&reply);
    hs_buf_free(&t);
    return rc;
}

/* ------------------------------------------------------------------ jobs */

typedef struct jobs_ctx {
    bool failed_only, json;
    long shown;
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
    if (c->failed_only && r->outcome == HS_OUTCOME_OK) {
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
        printf("%-27s %-16s f%-3u %-26s (%s, %s] %-7s %-18s %8llu %8.1fms %s\n", committed,
               r->workflow, (unsigned)r->factor, r->pv[0] ? r->pv : "-", a, b,
               hs_proto_outcome_name(r->outcome), why, (unsigned long long)r->count,
               (double)r->duration_us / 1000.0, r->error != NULL ? r->error : "");
    }
    c->shown++;
    hs_proto_history_msg_free(&hm);
    return 0;
}

int cmd_jobs(hsctl *h, int argc, char **argv)
{
    const char *wf = NULL;
    jobs_ctx c = {false, false, 0};
    long limit = 50;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl jobs [WORKFLOW] [--limit N] [--failed] [--json]\n"
                 "The job history, newest first: workflow, factor, plate value, interval,\n"
                 "outcome, why it ran (request, online, late, invalidate; +recompute when it\n"
                 "replaced reopened results), instances, duration (and the error of failed jobs).");
            return 0;
        } else if (strcmp(argv[i], "--failed") == 0) {
            c.failed_only = true;
        } else if (strcmp(argv[i], "--json") == 0) {
            c.json = true;
        } else if (hsctl_opt(argc, argv, &i, "--limit", &v)) {
            limit = v ? atol(v) : 0;
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
    if (!c.json)
        printf("%-27s %-16s %-4s %-26s %-46s %-7s %-18s %8s %10s\n", "COMMITTED", "WORKFLOW", "F",
               "PLATE VALUE", "INTERVAL", "OUTCOME", "WHY", "COUNT", "DURATION");
    int rc = hs_store_doc_list(s, "history", prefix, true, c.failed_only ? 0 : (size_t)limit,
                               jobs_one, &c);
    return rc == HS_OK ? HSCTL_OK : hsctl_fail(HSCTL_SYSTEM, "%s", hs_err_detail());
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

int cmd_tool(hsctl *h, int argc, char **argv)
{
    (void)h;
    hs_tool_registry *r = tools();
    if (r == NULL)
        return HSCTL_SYSTEM;
    if (argc < 2 || strcmp(argv[1], "ls") == 0) {
        printf("%-32s %-8s %-15s %s\n", "TOOL", "VERSION", "KIND", "SUMMARY");
        for (size_t i = 0; i < hs_tool_registry_count(r); i++) {
            const hs_tool_def *d = hs_tool_registry_at(r, i);
            printf("%-32s %-8s %-15s %s\n", d->name, d->version, kind_name(d->kind),
                   d->summary ? d->summary : "");
        }
        return HSCTL_OK;
    }
    if (strcmp(argv[1], "--help") == 0) {
        puts("usage: hsctl tool ls | show NAME\nThe tools a workflow factor can use "
             "(HS_PLUGIN_DIR adds plugins).");
        return 0;
    }
    if (strcmp(argv[1], "show") != 0 || argc < 3)
        return hsctl_fail(HSCTL_USER, "usage: hsctl tool ls | show NAME");
    const hs_tool_def *d = hs_tool_registry_find(r, argv[2]);
    if (d == NULL)
        return hsctl_fail(HSCTL_USER, "unknown tool '%s' (hsctl tool ls lists them)", argv[2]);
    printf("%s %s (%s)\n%s\n\n", d->name, d->version, kind_name(d->kind),
           d->summary ? d->summary : "");
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
