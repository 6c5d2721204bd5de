/* hsctl: the command-line interface of HyperStream-C. */
#include "hsctl.h"

#include "hs_alloc.h"
#include "hs_config.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"
#include "hs_wclient.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static const hs_cfg_item hsctl_cfg_table[] = {
    {"broker_url", HS_CFG_STR, "tcp://127.0.0.1:1883", offsetof(hsctl_cfg, broker_url), false,
     "MQTT broker URL"},
    {"store_url", HS_CFG_STR, "sqlite://./hs-data/hs.db", offsetof(hsctl_cfg, store_url), false,
     "store URL"},
    {"prefix", HS_CFG_STR, "hs", offsetof(hsctl_cfg, prefix), false, "topic prefix"},
    {"mqtt_username", HS_CFG_STR, NULL, offsetof(hsctl_cfg, mqtt_username), false, "broker user"},
    {"mqtt_password", HS_CFG_STR, NULL, offsetof(hsctl_cfg, mqtt_password), true,
     "broker password"},
    {"mqtt_ca_file", HS_CFG_STR, NULL, offsetof(hsctl_cfg, mqtt_ca_file), false, "CA file"},
    {"writer_id", HS_CFG_STR, "writer", offsetof(hsctl_cfg, writer_id), false, "writer id"},
    {"scheduler_id", HS_CFG_STR, "scheduler", offsetof(hsctl_cfg, scheduler_id), false,
     "scheduler id"},
    {"plugin_dir", HS_CFG_STR, "", offsetof(hsctl_cfg, plugin_dir), false, "tool plugins"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

int hsctl_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hsctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

bool hsctl_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *value = a + n + 1;
        return true;
    }
    if (a[n] != '\0')
        return false;
    if (*i + 1 >= argc) {
        *value = NULL;
        return true;
    }
    *value = argv[++*i];
    return true;
}

bool hsctl_count(const char *v, long long *out)
{
    char *end = NULL;
    long long n = v != NULL ? strtoll(v, &end, 10) : -1;
    if (v == NULL || end == v || *end != '\0' || n < 0)
        return false;
    *out = n;
    return true;
}

bool hsctl_time(const char *s, int64_t *out)
{
    if (s == NULL) {
        hsctl_fail(HSCTL_USER, "a time value is missing");
        return false;
    }
    if (hs_time_parse_user(s, strlen(s), hs_time_now_us(), out) != HS_OK) {
        hsctl_fail(HSCTL_USER,
                   "'%s' is not a time: use ISO-8601 (2016-04-28T20:00:00Z), epoch seconds, "
                   "'now' or a signed duration such as -1h",
                   s);
        return false;
    }
    return true;
}

const char *hsctl_topic(hsctl *h, hs_buf *out, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    hs_buf_reset(out);
    hs_buf_printf(out, "%s/%s", h->cfg.prefix, tmp);
    return hs_buf_cstr(out);
}

bool hsctl_have_stack(hsctl *h)
{
    if (!h->data_explicit)
        return true;
    char conf[HSCTL_PATH];
    snprintf(conf, sizeof conf, "%s/hs.conf", h->data_dir);
    struct stat st;
    if (stat(conf, &st) == 0)
        return true;
    h->no_stack = true;
    hs_buf q;
    hs_buf_init(&q, 0);
    int rc = hsctl_shell_quote(&q, h->data_dir);
    hsctl_fail(HSCTL_USER,
               "no stack in %s (it has no hs.conf): start one with 'hsctl --data %s up', or "
               "name the directory 'hsctl up' used",
               h->data_dir, rc == HS_OK ? hs_buf_cstr(&q) : h->data_dir);
    hs_buf_free(&q);
    return false;
}

int hsctl_write_buf(const hs_buf *b, FILE *f)
{
    /* An empty buffer has no data pointer, which fwrite must not be given. */
    if (b->len > 0 && fwrite(b->data, 1, b->len, f) != b->len)
        return HSCTL_SYSTEM;
    return HSCTL_OK;
}

int hsctl_listing_end(int rc, bool json, hs_buf *j, hsctl_table *t)
{
    int out = rc == HS_OK ? HSCTL_OK : hsctl_fail(HSCTL_SYSTEM, "out of memory");
    if (out == HSCTL_OK && json)
        out = hsctl_write_buf(j, stdout);
    else if (out == HSCTL_OK)
        out = hsctl_table_print(t);
    hs_buf_free(j);
    if (!json)
        hsctl_table_free(t);
    return out;
}

int hsctl_table_print(hsctl_table *t)
{
    hs_buf out;
    hs_buf_init(&out, 0);
    int rc = hsctl_table_flush(t, &out);
    if (rc == HS_OK)
        (void)hsctl_write_buf(&out, stdout);
    hs_buf_free(&out);
    return rc == HS_OK ? HSCTL_OK : hsctl_fail(HSCTL_SYSTEM, "out of memory");
}

hs_mqtt *hsctl_mqtt(hsctl *h)
{
    if (h->mqtt != NULL)
        return h->mqtt;
    if (!hsctl_have_stack(h))
        return NULL;
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.url = h->cfg.broker_url;
    o.client_id = h->client_id;
    o.username = h->cfg.mqtt_username;
    o.password = h->cfg.mqtt_password;
    o.ca_file = h->cfg.mqtt_ca_file;
    o.connect_timeout_ms = 3000;
    int rc = hs_mqtt_create(&h->mqtt, &o);
    if (rc == HS_OK)
        rc = hs_mqtt_connect(h->mqtt);
    if (rc != HS_OK) {
        char msg[600];
        hsctl_fail(HSCTL_SYSTEM, "cannot reach the broker at %s (%s); is the stack up? (hsctl up)",
                   h->cfg.broker_url, hs_err_describe(rc, msg, sizeof msg));
        hs_mqtt_destroy(h->mqtt);
        h->mqtt = NULL;
    }
    return h->mqtt;
}

hs_store *hsctl_store(hsctl *h)
{
    if (h->store != NULL)
        return h->store;
    if (!hsctl_have_stack(h))
        return NULL;
    int rc = hs_store_open(&h->store, h->cfg.store_url, HS_STORE_READ);
    if (rc != HS_OK) {
        char msg[600];
        hsctl_fail(HSCTL_SYSTEM, "cannot open the store %s: %s", h->cfg.store_url,
                   hs_err_describe(rc, msg, sizeof msg));
        h->store = NULL;
    }
    return h->store;
}

int hsctl_request(hsctl *h, const char *topic, const char *json, hs_buf *reply, int timeout_ms)
{
    h->last_rtt_us = 0;
    hs_mqtt *m = hsctl_mqtt(h);
    if (m == NULL)
        return HSCTL_SYSTEM;
    hs_buf rt;
    hs_buf_init(&rt, 0);
    hsctl_topic(h, &rt, "reply/%s", h->client_id);
    int rc = hs_mqtt_subscribe(m, hs_buf_cstr(&rt), 1);
    char corr[40];
    snprintf(corr, sizeof corr, "%lld", (long long)hs_time_now_us());
    hs_mqtt_pub_props p = {hs_buf_cstr(&rt), corr, strlen(corr)};
    int64_t sent = hs_time_mono_us();
    if (rc == HS_OK)
        rc = hs_mqtt_publish_props(m, topic, json, strlen(json), 1, false, 5000, &p);
    int out = HSCTL_SYSTEM;
    int64_t end = hs_time_mono_us() + timeout_ms * 1000LL;
    while (rc == HS_OK && hs_time_mono_us() < end) {
        hs_mqtt_msg *msg;
        if (hs_mqtt_recv(m, &msg, 50) != HS_OK)
            continue;
        bool mine = msg->correlation_len == strlen(corr) &&
                    memcmp(msg->correlation, corr, msg->correlation_len) == 0;
        if (mine) {
            h->last_rtt_us = hs_time_mono_us() - sent;
            hs_buf_reset(reply);
            hs_buf_append(reply, msg->payload, msg->len);
            out = HSCTL_OK;
        }
        hs_mqtt_msg_free(msg);
        if (mine)
            break;
    }
    (void)hs_mqtt_unsubscribe(m, hs_buf_cstr(&rt));
    hs_buf_free(&rt);
    return out;
}

typedef struct hsctl_ack {
    int status;
    char err[512];
    uint64_t count;
} hsctl_ack;

static void hsctl_on_ack(void *ud, const hs_wack *a)
{
    hsctl_ack *x = ud;
    x->status = a->status;
    snprintf(x->err, sizeof x->err, "%s", a->error ? a->error : "");
    x->count = a->inserted + a->duplicates;
}

int hsctl_write(hsctl *h, hs_proto_op op, const uint8_t *fields, size_t len, uint32_t nfields,
                char *err, size_t errlen, uint64_t *count)
{
    hsctl_ack ack = {-1, "", 0};
    if (!hsctl_have_stack(h)) {
        snprintf(err, errlen, "no stack in %s", h->data_dir);
        return HSCTL_USER;
    }
    hs_wclient_opts o;
    hs_wclient_opts_init(&o);
    o.url = h->cfg.broker_url;
    o.username = h->cfg.mqtt_username;
    o.password = h->cfg.mqtt_password;
    o.ca_file = h->cfg.mqtt_ca_file;
    o.prefix = h->cfg.prefix;
    o.sender_id = h->client_id;
    o.writer_id = h->cfg.writer_id;
    o.connect_timeout_ms = 3000;
    o.resend_after_us = 3 * HS_US_PER_S;
    o.on_ack = hsctl_on_ack;
    o.ud = &ack;
    hs_wclient *wc;
    int rc = hs_wclient_create(&wc, &o);
    if (rc != HS_OK) {
        snprintf(err, errlen, "cannot reach the broker at %s; is the stack up? (hsctl up)",
                 h->cfg.broker_url);
        return HSCTL_SYSTEM;
    }
    rc = hs_wclient_send(wc, op, fields, len, nfields, 10000, NULL);
    if (rc == HS_OK)
        rc = hs_wclient_flush(wc, 30000);
    hs_wclient_destroy(wc);
    if (rc != HS_OK) {
        snprintf(err, errlen,
                 "the writer did not confirm the request within 30 s; is it running? "
                 "(hsctl status)");
        return HSCTL_SYSTEM;
    }
    if (ack.status != 0) {
        snprintf(err, errlen, "%s", ack.err);
        return HSCTL_USER;
    }
    if (count != NULL)
        *count = ack.count;
    return HSCTL_OK;
}

/* Finds the stack: --data DIR, HS_DATA, ./hs-data with its hs.conf, else environment. */
static int hsctl_setup(hsctl *h, const char *data_opt)
{
    const char *d = data_opt ? data_opt : getenv("HS_DATA");
    h->data_explicit = d != NULL && d[0] != '\0';
    if (!h->data_explicit)
        d = "./hs-data";
    char abs[PATH_MAX];
    if (realpath(d, abs) != NULL)
        d = abs;
    if (strlen(d) >= sizeof h->data_dir)
        return hsctl_fail(HSCTL_USER, "the data directory path is too long");
    memcpy(h->data_dir, d, strlen(d) + 1);
    int rc = hs_config_defaults(hsctl_cfg_table, &h->cfg);
    char conf[HSCTL_PATH];
    snprintf(conf, sizeof conf, "%s/hs.conf", h->data_dir);
    struct stat st;
    if (rc == HS_OK && stat(conf, &st) == 0) {
        rc = hs_config_load_file(hsctl_cfg_table, &h->cfg, conf);
        h->have_data_conf = true;
    }
    if (rc == HS_OK && !h->have_data_conf)
        rc = hs_config_load_env(hsctl_cfg_table, &h->cfg, environ);
    if (rc != HS_OK) {
        char msg[600];
        return hsctl_fail(HSCTL_USER, "%s", hs_err_describe(rc, msg, sizeof msg));
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL)
            *slash = '\0';
        if (strlen(self) < sizeof h->bindir)
            memcpy(h->bindir, self, strlen(self) + 1);
    }
    snprintf(h->client_id, sizeof h->client_id, "hsctl-%d-%lld", (int)getpid(),
             (long long)(hs_time_now_us() % 1000000000LL));
    return HSCTL_OK;
}

/* Prints hsctl --help to f. */
static int usage(FILE *f)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hsctl_cli_help(&b);
    if (rc == HS_OK)
        fputs(hs_buf_cstr(&b), f);
    hs_buf_free(&b);
    return rc == HS_OK ? HSCTL_OK : hsctl_fail(HSCTL_SYSTEM, "out of memory");
}

/* Prints the message of an unknown verb (v NULL) or command of v to stderr; HSCTL_USAGE. */
static int unknown(const hsctl_cli_verb *v, const char *word)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    if (hsctl_cli_unknown(v, word, &b) == HS_OK)
        fputs(hs_buf_cstr(&b), stderr);
    else
        fprintf(stderr, "hsctl: unknown %s '%s'\n", v ? "command" : "verb", word);
    hs_buf_free(&b);
    return HSCTL_USAGE;
}

/* The verbs and the functions that run them (the table of cli.c names them all). */
static const struct {
    const char *name;
    int (*run)(hsctl *h, int argc, char **argv);
} g_run[] = {
    {"up", cmd_up},
    {"down", cmd_down},
    {"status", cmd_status},
    {"pub", cmd_pub},
    {"sub", cmd_sub},
    {"stream", cmd_stream},
    {"workflow", cmd_workflow},
    {"compute", cmd_compute},
    {"jobs", cmd_jobs},
    {"session", cmd_session},
    {"meta", cmd_meta},
    {"tool", cmd_tool},
    {"ctl", cmd_ctl},
    {"top", cmd_top},
};

/*
 * hsctl help [VERB] and hsctl VERB --help: for a verb without commands that
 * has its own detailed help, that help (it starts with the usage line, so
 * the table's usage line is not printed again) and the line on --data;
 * otherwise the table's help of the verb.
 */
static int help(hsctl *h, const char *name)
{
    if (name == NULL)
        return usage(stdout);
    const hsctl_cli_verb *v = hsctl_cli_verb_find(name);
    if (v == NULL)
        return unknown(NULL, name);
    for (size_t i = 0; !hsctl_cli_has_cmds(v) && i < sizeof g_run / sizeof g_run[0]; i++)
        if (strcmp(g_run[i].name, name) == 0) {
            char *args[] = {(char *)name, "--help", NULL};
            int rc = g_run[i].run(h, 2, args);
            if (rc == HSCTL_OK)
                puts("Every verb also takes --data DIR.");
            return rc;
        }
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hsctl_cli_verb_help(v, &b);
    if (rc == HS_OK)
        fputs(hs_buf_cstr(&b), stdout);
    hs_buf_free(&b);
    return rc == HS_OK ? HSCTL_OK : hsctl_fail(HSCTL_SYSTEM, "out of memory");
}

static int completion(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "bash") != 0)
        return argc < 2 ? help(NULL, "completion")
                        : unknown(hsctl_cli_verb_find("completion"), argv[1]);
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hsctl_cli_completion_bash(&b);
    if (rc == HS_OK)
        fputs(hs_buf_cstr(&b), stdout);
    hs_buf_free(&b);
    return rc == HS_OK ? HSCTL_OK : hsctl_fail(HSCTL_SYSTEM, "out of memory");
}

int main(int argc, char **argv)
{
    hsctl h;
    memset(&h, 0, sizeof h);
    const char *data = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *v;
        if (hsctl_opt(argc, argv, &i, "--data", &v)) {
            if (v == NULL)
                return hsctl_fail(HSCTL_USER, "--data needs a directory");
            data = v;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return usage(stdout);
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("hsctl %s\n", HS_VERSION);
            return 0;
        } else {
            break;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return HSCTL_USAGE;
    }
    const char *verb = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    const hsctl_cli_verb *vd = hsctl_cli_verb_find(verb);
    if (vd == NULL)
        return unknown(NULL, verb);
    if (strcmp(verb, "help") == 0)
        return help(&h, sub_argc > 1 ? sub_argv[1] : NULL);
    if (strcmp(verb, "completion") == 0)
        return completion(sub_argc, sub_argv);
    if (sub_argc > 1 && (strcmp(sub_argv[1], "--help") == 0 || strcmp(sub_argv[1], "-h") == 0))
        return help(&h, verb);
    /* A verb with commands: the command must be one of them (a typo gets a suggestion). */
    if (hsctl_cli_has_cmds(vd)) {
        const char *cmd = sub_argc > 1 ? sub_argv[1] : NULL;
        if (cmd == NULL && vd->dflt == NULL) {
            help(&h, verb);
            return HSCTL_USAGE;
        }
        if (cmd != NULL && cmd[0] != '-' && hsctl_cli_cmd_find(vd, cmd) == NULL)
            return unknown(vd, cmd);
        /* hsctl VERB COMMAND ... --help: that command's help from the table. */
        const hsctl_cli_cmd *c = hsctl_cli_cmd_find(vd, cmd);
        for (int k = 2; c != NULL && k < sub_argc; k++)
            if (strcmp(sub_argv[k], "--help") == 0 || strcmp(sub_argv[k], "-h") == 0) {
                hs_buf b;
                hs_buf_init(&b, 0);
                int hrc = hsctl_cli_cmd_help(vd, c, &b);
                if (hrc == HS_OK)
                    fputs(hs_buf_cstr(&b), stdout);
                hs_buf_free(&b);
                return hrc == HS_OK ? HSCTL_OK : hsctl_fail(HSCTL_SYSTEM, "out of memory");
            }
    }
    /* --data may also follow the verb (hsctl up --data DIR). */
    for (int k = 1; k < sub_argc; k++) {
        const char *v;
        int kk = k;
        if (hsctl_opt(sub_argc, sub_argv, &kk, "--data", &v) && v != NULL)
            data = v;
    }
    int rc = hsctl_setup(&h, data);
    if (rc != HSCTL_OK)
        return rc;
    size_t k = 0;
    while (k < sizeof g_run / sizeof g_run[0] && strcmp(g_run[k].name, verb) != 0)
        k++;
    if (k < sizeof g_run / sizeof g_run[0])
        rc = g_run[k].run(&h, sub_argc, sub_argv);
    else
        rc = hsctl_fail(HSCTL_SYSTEM, "verb '%s' has no implementation", verb);
    /* No stack where one was named is the user's error, whichever verb ran into it. */
    if (h.no_stack && rc != HSCTL_OK)
        rc = HSCTL_USER;
    hs_mqtt_destroy(h.mqtt);
    hs_store_close(h.store);
    hs_config_free(hsctl_cfg_table, &h.cfg);
    return rc;
}
