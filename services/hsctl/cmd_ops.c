/* hsctl ctl / top: the control channel and the live view of the circuit. */
#include "hsctl.h"

#include "hs_ctl.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_map.h"
#include "hs_metrics.h"
#include "hs_proto.h"
#include "hs_time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_ctl(hsctl *h, int argc, char **argv)
{
    const char *args[4] = {0};
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl ctl SERVICE-ID COMMAND [NAME [VALUE]]\n"
                 "Commands on a service's control channel <prefix>/ctl/<id> (schemas/ctl.json):\n"
                 "  ping | stats | get [NAME] | set NAME VALUE | pause | resume | drain | "
                 "shutdown\n"
                 "Prints the service's JSON answer and the round-trip time; exit 1 when the\n"
                 "service refused the command, 2 when it did not answer.");
            return 0;
        }
        if (hsctl_opt(argc, argv, &i, "--data", &v))
            continue;
        if (n < 4)
            args[n++] = argv[i];
        else
            return hsctl_fail(HSCTL_USER, "too many arguments for ctl");
    }
    if (n < 2)
        return hsctl_fail(HSCTL_USER, "usage: hsctl ctl SERVICE-ID COMMAND [NAME [VALUE]]");
    hs_ctl_request q;
    memset(&q, 0, sizeof q);
    if (strlen(args[1]) >= sizeof q.cmd || (n >= 3 && strlen(args[2]) >= sizeof q.name) ||
        (n >= 4 && strlen(args[3]) >= sizeof q.value))
        return hsctl_fail(HSCTL_USER,
                          "ctl: the command, the name or the value is too long (under %zu, %zu "
                          "and %zu bytes)",
                          sizeof q.cmd, sizeof q.name, sizeof q.value);
    snprintf(q.cmd, sizeof q.cmd, "%s", args[1]);
    snprintf(q.name, sizeof q.name, "%s", n >= 3 ? args[2] : "");
    snprintf(q.value, sizeof q.value, "%s", n >= 4 ? args[3] : "");
    hs_buf req, reply, t;
    hs_buf_init(&req, 0);
    hs_buf_init(&reply, 0);
    hs_buf_init(&t, 0);
    int rc = hs_ctl_request_encode(&req, &q);
    if (rc != HS_OK) {
        rc = hsctl_fail(rc == HS_ERR_INVAL ? HSCTL_USER : HSCTL_SYSTEM, "ctl: %s", hs_err_detail());
    } else if (hsctl_mqtt(h) == NULL) {
        rc = HSCTL_SYSTEM;
    } else {
        rc = hsctl_request(h, hsctl_topic(h, &t, "ctl/%s", args[0]), hs_buf_cstr(&req), &reply,
                           strcmp(args[1], "drain") == 0 ? 35000 : 5000);
        double ms = (double)h->last_rtt_us / 1000.0;
        hs_ctl_reply r;
        if (rc != HSCTL_OK) {
            rc = hsctl_fail(HSCTL_SYSTEM,
                            "service '%s' did not answer (hsctl status lists services)", args[0]);
        } else if (hs_ctl_reply_decode(reply.data, reply.len, &r) != HS_OK) {
            /* The answer is printed as is, also when it is not a reply. */
            printf("%s\n", hs_buf_cstr(&reply));
            rc = hsctl_fail(HSCTL_SYSTEM, "unreadable answer from '%s': %s", args[0],
                            hs_err_detail());
        } else {
            printf("%s\n", hs_buf_cstr(&reply));
            fprintf(stderr, "(answered in %.1f ms from the request)\n", ms);
            if (!r.ok)
                rc = HSCTL_USER;
        }
    }
    hs_buf_free(&req);
    hs_buf_free(&reply);
    hs_buf_free(&t);
    return rc;
}

/* ------------------------------------------------------------------ top */

typedef struct top_row {
    char id[128];
    char service[32];
    char state[16];
    bool have_metrics;     /* m holds the last metrics */
    hs_metrics_snapshot m; /* numbers only: its strings are NULL */
    int64_t seen_us;
} top_row;

static volatile sig_atomic_t g_top_stop;

static void top_sig(int sig)
{
    (void)sig;
    g_top_stop = 1;
}

/* Takes a retained status into a row; an unreadable one is reported and leaves the row. */
static void top_take_status(top_row *r, const hs_mqtt_msg *msg)
{
    hs_proto_status_msg sm;
    if (hs_proto_status_decode(&sm, (const char *)msg->payload, msg->len) != HS_OK) {
        fprintf(stderr, "hsctl: unreadable status on %s: %s\n", msg->topic, hs_err_detail());
    } else {
        snprintf(r->state, sizeof r->state, "%s", hs_proto_state_name(sm.st.state));
        snprintf(r->service, sizeof r->service, "%s", sm.st.service);
        if (sm.st.state == HS_PROTO_OFFLINE)
            r->have_metrics = false;
    }
    hs_proto_status_msg_free(&sm);
}

/* Takes a metrics message into a row; an unreadable one is reported and leaves the row. */
static void top_take_metrics(top_row *r, const hs_mqtt_msg *msg)
{
    hs_metrics_msg mm;
    if (hs_metrics_decode(&mm, (const char *)msg->payload, msg->len) != HS_OK) {
        fprintf(stderr, "hsctl: unreadable metrics on %s: %s\n", msg->topic, hs_err_detail());
    } else {
        if (r->service[0] == '\0')
            snprintf(r->service, sizeof r->service, "%s", mm.s.kind);
        r->m = mm.s;
        r->m.kind = r->m.id = r->m.version = NULL;
        r->have_metrics = true;
    }
    hs_metrics_msg_free(&mm);
}

static int top_cmp(const void *a, const void *b)
{
    return strcmp(((const top_row *)a)->id, ((const top_row *)b)->id);
}

static void top_draw(top_row *rows, size_t n, bool tty)
{
    qsort(rows, n, sizeof *rows, top_cmp);
    char now[HS_TIME_ISO_MAX];
    hs_time_format_iso(hs_time_now_us(), now);
    if (tty)
        fputs("\033[H\033[2J", stdout);
    printf("hsctl top  %s  (%zu services; Ctrl-C quits)\n", now, n);
    hsctl_table t;
    const char *heads[13] = {"ID",         "SERVICE", "STATE",  "MSG IN/s", "INST IN/s",
                             "INST OUT/s", "BACKLOG", "p50 ms", "p99 ms",   "ERR",
                             "DEAD",       "RSS MB",  "CPU s"};
    if (hsctl_table_init(&t, 13, heads, "lllrrrrrrrrrr") != HS_OK) {
        fputs("hsctl: out of memory\n", stderr);
        return;
    }
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        const hs_metrics_snapshot *m = &rows[i].m;
        char state[16];
        snprintf(state, sizeof state, "%s", rows[i].state);
        if (rows[i].have_metrics && strcmp(state, "online") == 0 && m->paused)
            snprintf(state, sizeof state, "paused");
        char num[10][32];
        const char *row[13] = {rows[i].id, rows[i].service, state};
        if (!rows[i].have_metrics) {
            for (size_t k = 3; k < 13; k++)
                row[k] = "-";
        } else {
            snprintf(num[0], sizeof num[0], "%.0f", m->msgs_in_per_s);
            snprintf(num[1], sizeof num[1], "%.0f", m->instances_in_per_s);
            snprintf(num[2], sizeof num[2], "%.0f", m->instances_out_per_s);
            snprintf(num[3], sizeof num[3], "%.0f", (double)m->backlog);
            snprintf(num[4], sizeof num[4], "%.2f", m->p50_ms);
            snprintf(num[5], sizeof num[5], "%.2f", m->p99_ms);
            snprintf(num[6], sizeof num[6], "%.0f", (double)m->errors);
            snprintf(num[7], sizeof num[7], "%.0f", (double)m->dead_lettered);
            snprintf(num[8], sizeof num[8], "%.1f", (double)m->rss_kb / 1024.0);
            snprintf(num[9], sizeof num[9], "%.1f", m->cpu_s);
            for (size_t k = 0; k < 10; k++)
                row[3 + k] = num[k];
        }
        rc = hsctl_table_add(&t, row);
    }
    if (rc != HS_OK)
        fputs("hsctl: out of memory\n", stderr);
    else
        (void)hsctl_table_print(&t);
    hsctl_table_free(&t);
    if (!tty)
        printf("\n");
    fflush(stdout);
}

int cmd_top(hsctl *h, int argc, char **argv)
{
    bool once = false;
    double interval = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl top [--once] [--interval SECONDS]\n"
                 "A live view of every service from <prefix>/metrics/+ and <prefix>/status/+:\n"
                 "rates, backlog, latency percentiles, errors, memory. Redraws in place on a\n"
                 "terminal; prints one table per refresh otherwise. --once waits for one round\n"
                 "of metrics and prints it.");
            return 0;
        } else if (strcmp(argv[i], "--once") == 0) {
            once = true;
        } else if (hsctl_opt(argc, argv, &i, "--interval", &v)) {
            interval = v ? atof(v) : 1.0;
        } else if (!hsctl_opt(argc, argv, &i, "--data", &v)) {
            return hsctl_fail(HSCTL_USER, "unknown option '%s' for top", argv[i]);
        }
    }
    hs_mqtt *m = hsctl_mqtt(h);
    if (m == NULL)
        return HSCTL_SYSTEM;
    hs_buf t;
    hs_buf_init(&t, 0);
    size_t plen = strlen(h->cfg.prefix);
    if (hs_mqtt_subscribe(m, hsctl_topic(h, &t, "status/+"), 1) != HS_OK ||
        hs_mqtt_subscribe(m, hsctl_topic(h, &t, "metrics/+"), 0) != HS_OK) {
        hs_buf_free(&t);
        return hsctl_fail(HSCTL_SYSTEM, "cannot subscribe: %s", hs_err_detail());
    }
    hs_buf_free(&t);
    signal(SIGINT, top_sig);
    signal(SIGTERM, top_sig);
    bool tty = isatty(1);
    top_row rows[256];
    size_t n = 0;
    int64_t next = hs_time_mono_us() + (int64_t)(interval * 1e6);
    int64_t start = hs_time_mono_us();
    while (!g_top_stop) {
        hs_mqtt_msg *msg;
        if (hs_mqtt_recv(m, &msg, 100) == HS_OK) {
            const char *topic = msg->topic + plen + 1;
            bool status = strncmp(topic, "status/", 7) == 0;
            const char *id = strchr(topic, '/') + 1;
            size_t k = 0;
            while (k < n && strcmp(rows[k].id, id) != 0)
                k++;
            if (k == n && n < 256 && msg->len > 0) {
                memset(&rows[n], 0, sizeof rows[n]);
                snprintf(rows[n].id, sizeof rows[n].id, "%s", id);
                n++;
            }
            if (k < n && msg->len > 0) {
                if (status)
                    top_take_status(&rows[k], msg);
                else
                    top_take_metrics(&rows[k], msg);
                rows[k].seen_us = hs_time_mono_us();
            }
            hs_mqtt_msg_free(msg);
        }
        int64_t now = hs_time_mono_us();
        if (once) {
            /* Done when every online service has sent metrics, or after 12 s. */
            bool all = n > 0;
            for (size_t k = 0; k < n; k++)
                if (strcmp(rows[k].state, "offline") != 0 && !rows[k].have_metrics)
                    all = false;
            if (all || now - start > 12 * HS_US_PER_S) {
                top_draw(rows, n, false);
                break;
            }
            continue;
        }
        if (now >= next) {
            top_draw(rows, n, tty);
            next = now + (int64_t)(interval * 1e6);
        }
    }
    return HSCTL_OK;
}
