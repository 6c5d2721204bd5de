/*
 * hsctl session ls|show: the sessions the scheduler records in
 * docs/sessions (docs/MODEL.md, section 6), read from the store as hsctl
 * jobs reads the job history.
 */
#include "hsctl.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_proto.h"
#include "hs_store.h"
#include "hs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One listed session: its decoded document and its JSON text (both owned). */
typedef struct sess_row {
    hs_proto_session_doc_msg m;
    char *json;
} sess_row;

typedef struct sess_ctx {
    const char *workflow; /* only this workflow's sessions; NULL: all (borrowed) */
    sess_row *rows;       /* owned */
    size_t n, cap;
    int rc; /* HS_OK, or the first failure to keep a row */
} sess_ctx;

static int sess_one(void *ud, const char *key, const char *json)
{
    sess_ctx *c = ud;
    if (hs_grow(&c->rows, &c->cap, c->n + 1, sizeof *c->rows, 16) != HS_OK) {
        c->rc = HS_ERR_NOMEM;
        return -1;
    }
    sess_row *r = &c->rows[c->n];
    if (hs_proto_session_doc_decode(&r->m, json, strlen(json)) != HS_OK) {
        fprintf(stderr, "hsctl: session %s is unreadable: %s\n", key, hs_err_detail());
        hs_proto_session_doc_msg_free(&r->m);
        return 0;
    }
    if (c->workflow != NULL && strcmp(r->m.d.workflow, c->workflow) != 0) {
        hs_proto_session_doc_msg_free(&r->m);
        return 0;
    }
    r->json = hs_strdup(json);
    if (r->json == NULL) {
        hs_proto_session_doc_msg_free(&r->m);
        c->rc = HS_ERR_NOMEM;
        return -1;
    }
    c->n++;
    return 0;
}

/* Newest first; the same start: by id, descending, so the order is stable. */
static int sess_cmp(const void *a, const void *b)
{
    const hs_proto_session_doc *x = &((const sess_row *)a)->m.d;
    const hs_proto_session_doc *y = &((const sess_row *)b)->m.d;
    if (x->started_us != y->started_us)
        return x->started_us < y->started_us ? 1 : -1;
    return -strcmp(x->session, y->session);
}

static void sess_ctx_free(sess_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        hs_proto_session_doc_msg_free(&c->rows[i].m);
        hs_free(c->rows[i].json);
    }
    hs_free(c->rows);
}

/* The covered intervals as "(a, b] (c, d]" ("-" for none). HS_OK or the buffer's error. */
static int sess_intervals(const hs_proto_session_doc *d, hs_buf *out)
{
    hs_buf_reset(out);
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < d->ncovered; i++) {
        char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
        hs_time_format_iso(d->covered[i].start, a);
        hs_time_format_iso(d->covered[i].end, b);
        rc = hs_buf_printf(out, "%s(%s, %s]", i > 0 ? " " : "", a, b);
    }
    if (rc == HS_OK && d->ncovered == 0)
        rc = hs_buf_puts(out, "-");
    return rc;
}

static int sess_list(hsctl *h, const char *workflow, bool json)
{
    hs_store *s = hsctl_store(h);
    if (s == NULL)
        return HSCTL_SYSTEM;
    sess_ctx c = {.workflow = workflow, .rc = HS_OK};
    int rc = hs_store_doc_list(s, "sessions", "", false, 0, sess_one, &c);
    if (rc == HS_ERR_NOTFOUND)
        rc = HS_OK;
    if (c.rc != HS_OK) {
        sess_ctx_free(&c);
        return hsctl_fail(HSCTL_SYSTEM, "out of memory");
    }
    if (rc != HS_OK) {
        sess_ctx_free(&c);
        return hsctl_fail(HSCTL_SYSTEM, "%s", hs_err_detail());
    }
    if (c.n > 1)
        qsort(c.rows, c.n, sizeof *c.rows, sess_cmp);
    const char *heads[11] = {"STARTED", "SESSION", "WORKFLOW", "KIND",      "STATE", "OUTCOME",
                             "PLANNED", "DONE",    "FAILED",   "INTERVALS", "ERROR"};
    hsctl_table t;
    if (!json && hsctl_table_init(&t, 11, heads, "llllllrrrll") != HS_OK) {
        sess_ctx_free(&c);
        return hsctl_fail(HSCTL_SYSTEM, "out of memory");
    }
    hs_buf iv;
    hs_buf_init(&iv, 0);
    int out = HSCTL_OK;
    for (size_t i = 0; i < c.n && out == HSCTL_OK; i++) {
        const hs_proto_session_doc *d = &c.rows[i].m.d;
        if (json) {
            printf("%s\n", c.rows[i].json);
            continue;
        }
        char started[HS_TIME_ISO_MAX], planned[24], done[24], failed[24];
        hs_time_format_iso(d->started_us, started);
        snprintf(planned, sizeof planned, "%llu", (unsigned long long)d->planned);
        snprintf(done, sizeof done, "%llu", (unsigned long long)d->done);
        snprintf(failed, sizeof failed, "%llu", (unsigned long long)d->failed);
        const char *row[11] = {started,
                               d->session,
                               d->workflow,
                               hs_proto_session_kind_name(d->kind),
                               d->active ? "active" : "closed",
                               d->active ? "-" : hs_proto_session_outcome_name(d->outcome),
                               planned,
                               done,
                               failed,
                               "",
                               d->error != NULL ? d->error : ""};
        if (sess_intervals(d, &iv) != HS_OK) {
            out = hsctl_fail(HSCTL_SYSTEM, "out of memory");
            break;
        }
        row[9] = hs_buf_cstr(&iv);
        if (hsctl_table_add(&t, row) != HS_OK)
            out = hsctl_fail(HSCTL_SYSTEM, "out of memory");
    }
    if (!json) {
        if (out == HSCTL_OK)
            out = hsctl_table_print(&t);
        hsctl_table_free(&t);
    }
    hs_buf_free(&iv);
    sess_ctx_free(&c);
    return out;
}

static int sess_show(hsctl *h, const char *id, bool json)
{
    hs_store *s = hsctl_store(h);
    if (s == NULL)
        return HSCTL_SYSTEM;
    hs_buf doc;
    hs_buf_init(&doc, 0);
    int rc = hs_store_doc_get(s, "sessions", id, &doc);
    if (rc == HS_ERR_NOTFOUND) {
        hs_buf_free(&doc);
        return hsctl_fail(HSCTL_USER, "no session %s (hsctl session ls lists them)", id);
    }
    if (rc != HS_OK) {
        hs_buf_free(&doc);
        return hsctl_fail(HSCTL_SYSTEM, "%s", hs_err_detail());
    }
    hs_proto_session_doc_msg m;
    rc = hs_proto_session_doc_decode(&m, (const char *)doc.data, doc.len);
    int out = HSCTL_OK;
    if (rc != HS_OK) {
        out = hsctl_fail(HSCTL_SYSTEM, "session %s is unreadable: %s", id, hs_err_detail());
    } else if (json) {
        printf("%s\n", hs_buf_cstr(&doc));
    } else {
        const hs_proto_session_doc *d = &m.d;
        char started[HS_TIME_ISO_MAX], ended[HS_TIME_ISO_MAX];
        hs_time_format_iso(d->started_us, started);
        hs_time_format_iso(d->ended_us, ended);
        printf("session:   %s\nworkflow:  %s\nkind:      %s\nstate:     %s\n", d->session,
               d->workflow, hs_proto_session_kind_name(d->kind), d->active ? "active" : "closed");
        if (!d->active)
            printf("outcome:   %s\n", hs_proto_session_outcome_name(d->outcome));
        printf("started:   %s\n", started);
        if (!d->active)
            printf("ended:     %s\n", ended);
        printf("jobs:      %llu planned, %llu done, %llu failed\nintervals:",
               (unsigned long long)d->planned, (unsigned long long)d->done,
               (unsigned long long)d->failed);
        for (size_t i = 0; i < d->ncovered; i++) {
            char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
            hs_time_format_iso(d->covered[i].start, a);
            hs_time_format_iso(d->covered[i].end, b);
            printf(" (%s, %s]", a, b);
        }
        printf("%s\n", d->ncovered == 0 ? " -" : "");
        if (d->error != NULL && d->error[0] != '\0')
            printf("error:     %s\n", d->error);
    }
    hs_proto_session_doc_msg_free(&m);
    hs_buf_free(&doc);
    return out;
}

int cmd_session(hsctl *h, int argc, char **argv)
{
    /* main checked the command word: ls (also when none is given) or show. */
    bool show = argc >= 2 && strcmp(argv[1], "show") == 0;
    bool json = false;
    const char *arg = NULL;
    for (int i = argc >= 2 && argv[1][0] != '-' ? 2 : 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (hsctl_opt(argc, argv, &i, "--data", &v))
            continue;
        else if (arg == NULL && argv[i][0] != '-')
            arg = argv[i];
        else
            return hsctl_fail(HSCTL_USER, "unexpected argument '%s' (hsctl help session)", argv[i]);
    }
    if (!show)
        return sess_list(h, arg, json);
    if (arg == NULL)
        return hsctl_fail(HSCTL_USER, "usage: hsctl session show ID");
    return sess_show(h, arg, json);
}
