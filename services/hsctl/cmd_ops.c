/* hsctl ctl / top: the control channel and the live view of the circuit. */
#include "hsctl.h"

#include "hs_error.h"
#include "hs_json.h"
#include "hs_map.h"
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
    hs_buf req, reply, t;
    hs_buf_init(&req, 0);
    hs_buf_init(&reply, 0);
    hs_buf_init(&t, 0);
    hs_buf_puts(&req, "{\"cmd\":");
    hs_json_put_string(&req, args[1], strlen(args[1]));
    if (n >= 3) {
        hs_buf_puts(&req, ",\"name\":");
        hs_json_put_string(&req, args[2], strlen(args[2]));
    }
    if (n >= 4) {
        hs_buf_puts(&req, ",\"value\":");
        hs_json_put_string(&req, args[3], strlen(args[3]));
    }
    hs_buf_putc(&req, '}');
    if (hsctl_mqtt(h) == NULL)
        return HSCTL_SYSTEM;
    int rc = hsctl_request(h, hsctl_topic(h, &t, "ctl/%s", args[0]), hs_buf_cstr(&req), &reply,
                           strcmp(args[1], "drain") == 0 ? 35000 : 5000);
    double ms = (double)h->last_rtt_us / 1000.0;
    if (rc != HSCTL_OK) {
        rc = hsctl_fail(HSCTL_SYSTEM, "service '%s' did not answer (hsctl status lists services)",
                        args[0]);
    } else {
        printf("%s\n", hs_buf_cstr(&reply));
        fprintf(stderr, "(answered in %.1f ms from the request)\n", ms);
        if (strstr(hs_buf_cstr(&reply), "\"ok\":true") == NULL)
            rc = HSCTL_USER;
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
    char metrics[2048]; /* last metrics JSON */
    int64_t seen_us;
} top_row;

static volatile sig_atomic_t g_top_stop;

static void top_sig(int sig)
{
    (void)sig;
    g_top_stop = 1;
}

static double jnum(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? atof(p + strlen(pat)) : 0;
}

static void jstr(const char *json, const char *key, char *out, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    size_t i = 0;
    if (p != NULL)
        for (p += strlen(pat); *p && *p != '"' && i + 1 < len; p++)
            out[i++] = *p;
    out[i] = '\0';
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
    printf("%-22s %-9s %-8s %9s %10s %10s %8s %8s %8s %6s %6s %7s %6s\n", "ID", "SERVICE", "STATE",
           "MSG IN/s", "INST IN/s", "INST OUT/s", "BACKLOG", "p50 ms", "p99 ms", "ERR", "DEAD",
           "RSS MB", "CPU s");
    for (size_t i = 0; i < n; i++) {
        const char *m = rows[i].metrics;
        char state[16];
        snprintf(state, sizeof state, "%s", rows[i].state);
        if (m[0] != '\0' && strcmp(state, "online") == 0) {
            char ms[16];
            jstr(m, "state", ms, sizeof ms);
            if (ms[0] != '\0')
                snprintf(state, sizeof state, "%s", ms);
        }
        if (m[0] == '\0') {
            printf("%-22s %-9s %-8s %9s\n", rows[i].id, rows[i].service, state, "-");
            continue;
        }
        printf("%-22s %-9s %-8s %9.0f %10.0f %10.0f %8.0f %8.2f %8.2f %6.0f %6.0f %7.1f %6.1f\n",
               rows[i].id, rows[i].service, state, jnum(m, "msgs_in_per_s"),
               jnum(m, "instances_in_per_s"), jnum(m, "instances_out_per_s"), jnum(m, "backlog"),
               jnum(m, "p50"), jnum(m, "p99"), jnum(m, "errors"), jnum(m, "dead_lettered"),
               jnum(m, "rss_kb") / 1024.0, jnum(m, "cpu_s"));
    }
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
                char json[2048];
                snprintf(json, sizeof json, "%.*s", (int)msg->len, (const char *)msg->payload);
                if (status) {
                    jstr(json, "state", rows[k].state, sizeof rows[k].state);
                    jstr(json, "service", rows[k].service, sizeof rows[k].service);
                    if (strcmp(rows[k].state, "offline") == 0)
                        rows[k].metrics[0] = '\0';
                } else {
                    snprintf(rows[k].metrics, sizeof rows[k].metrics, "%s", json);
                    if (rows[k].service[0] == '\0')
                        jstr(json, "service", rows[k].service, sizeof rows[k].service);
                }
                rows[k].seen_us = hs_time_mono_us();
            }
            hs_mqtt_msg_free(msg);
        }
        int64_t now = hs_time_mono_us();
        if (once) {
            /* Done when every online service has sent metrics, or after 12 s. */
            bool all = n > 0;
            for (size_t k = 0; k < n; k++)
                if (strcmp(rows[k].state, "offline") != 0 && rows[k].metrics[0] == '\0')
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
