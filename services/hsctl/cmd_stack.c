/*
 * hsctl up / down / status: the local stack as background processes.
 *
 * Layout of the data directory:
 *   hs.conf            settings every service and hsctl read (broker, store, prefix)
 *   hs.db              the embedded store
 *   broker/            the private broker's config and persistence
 *   inbox/             files dropped here are ingested (done/, failed/ beside them)
 *   logs/<name>.log    each process's output
 *   run/<name>.pid     each process's PID (what 'down' stops)
 */
#include "hsctl.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_time.h"

#include <arpa/inet.h>
#include <limits.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HSCTL_DEFAULT_PORT 1884

/* The processes of the local stack, in start order (stopped in reverse). */
typedef struct svc_def {
    const char *name;   /* pid/log file name and service id */
    const char *binary; /* executable beside hsctl */
    bool inbox;         /* gets watch_dir=<data>/inbox */
    bool http;          /* gets http_port and web_dir (hs-api) */
} svc_def;

/*
 * With HS_METRICS_PORT set, 'hsctl up' gives each service its own metrics
 * port: the base plus the service's place in hs_stack (writer +0, ingest
 * +1, scheduler +2, the tool runtime "tools" +3, api +4), so that they do not all
 * try the same one. The services say where they serve in their status
 * ("metrics"), which 'hsctl status' prints.
 */
static const svc_def hs_stack[] = {
    {"writer", "hs-writer", false, false},
    {"ingest", "hs-ingest", true, false},
    {"scheduler", "hs-scheduler", false, false},
    {"tools", "hs-tool", false, false},
    {"api", "hs-api", false, true},
};

/* The HTTP port of hs-api when neither --http-port nor HS_HTTP_PORT names one. */
#define HSCTL_DEFAULT_HTTP_PORT 8180
#define HS_STACK_N              (sizeof hs_stack / sizeof hs_stack[0])

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int mkdirs(const char *path)
{
    char tmp[HSCTL_PATH];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static pid_t read_pid(hsctl *h, const char *name)
{
    char p[HSCTL_PATH];
    snprintf(p, sizeof p, "%s/run/%s.pid", h->data_dir, name);
    FILE *f = fopen(p, "r");
    if (f == NULL)
        return 0;
    long pid = 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    return (pid_t)pid;
}

/* Whether pid is alive and runs the expected program (a PID may be reused). */
static bool pid_is(pid_t pid, const char *binary)
{
    if (pid <= 0 || kill(pid, 0) != 0)
        return false;
    char p[64], cmd[4096];
    snprintf(p, sizeof p, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(p, "r");
    if (f == NULL)
        return false;
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    cmd[n] = '\0';
    /* A zombie has an empty command line. */
    return n > 0 && strstr(cmd, binary) != NULL;
}

/* Finds an executable: beside hsctl first, then on PATH. */
static bool find_binary(hsctl *h, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", h->bindir, name);
    if (access(out, X_OK) == 0)
        return true;
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s:/usr/sbin:/usr/local/sbin", path ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, len, "%s/%s", d, name);
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

/*
 * The dashboard's files as "web_dir=<dir>": share/hyperstream/web beside the
 * binaries' directory (the build tree and an installed tree alike).
 */
static bool find_web_dir(hsctl *h, char *out, size_t len)
{
    char dir[HSCTL_PATH];
    snprintf(dir, sizeof dir, "%s/../share/hyperstream/web/index.html", h->bindir);
    char real[PATH_MAX];
    if (realpath(dir, real) == NULL)
        return false;
    char *slash = strrchr(real, '/');
    *slash = '\0';
    return (size_t)snprintf(out, len, "web_dir=%s", real) < len;
}

/* Size at which 'up' sets a log aside as <name>.log.1 (the services' default log_max_bytes). */
#define HSCTL_LOG_ROTATE_BYTES (10LL * 1024 * 1024)

/* Starts argv[0] in its own session with output to the log; writes the pid file. */
static pid_t spawn(hsctl *h, const char *name, char *const argv[])
{
    char log[HSCTL_PATH], pidf[HSCTL_PATH];
    snprintf(log, sizeof log, "%s/logs/%s.log", h->data_dir, name);
    snprintf(pidf, sizeof pidf, "%s/run/%s.pid", h->data_dir, name);
    /* The broker cannot rotate its log itself: a long log is set aside at each start. */
    struct stat st;
    char old[HSCTL_PATH + 4];
    snprintf(old, sizeof old, "%s.1", log);
    if (stat(log, &st) == 0 && st.st_size >= HSCTL_LOG_ROTATE_BYTES && rename(log, old) != 0)
        fprintf(stderr, "hsctl: cannot rotate %s: %s\n", log, strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setsid();
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (nul >= 0)
            dup2(nul, 0);
        char conf[HSCTL_PATH];
        snprintf(conf, sizeof conf, "%s/hs.conf", h->data_dir);
        setenv("HS_CONFIG", conf, 1);
        /* Services append to the same file themselves and rotate it (log_max_bytes). */
        setenv("HS_LOG_FILE", log, 1);
        /* Services work in the data directory: tools that read files (csv_reader) read there. */
        if (chdir(h->data_dir) != 0)
            fprintf(stderr, "cannot enter %s: %s\n", h->data_dir, strerror(errno));
        execv(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    FILE *f = fopen(pidf, "w");
    if (f != NULL) {
        fprintf(f, "%d\n", (int)pid);
        fclose(f);
    }
    return pid;
}

/*
 * Writes the stack's hs.conf. It goes to a temporary file first and is
 * renamed over the old one, so that a service starting meanwhile (a
 * supervisor's restart while 'hsctl up' runs again) reads the old file or
 * the new one, never an empty or half-written one.
 */
static int write_conf(hsctl *h, const char *broker_url)
{
    char p[HSCTL_PATH], tmp[HSCTL_PATH + 16];
    snprintf(p, sizeof p, "%s/hs.conf", h->data_dir);
    snprintf(tmp, sizeof tmp, "%s.%ld", p, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "# Written by 'hsctl up': the local stack's settings, read by every service and by "
            "hsctl.\n"
            "broker_url = \"%s\"\n"
            "store_url = \"sqlite://%s/hs.db\"\n"
            "prefix = \"%s\"\n",
            broker_url, h->data_dir, h->cfg.prefix);
    /* The stack's plugins: every service and hsctl read them from here. */
    const char *plugins = getenv("HS_PLUGIN_DIR");
    char abs[PATH_MAX];
    if (plugins != NULL && plugins[0] != '\0' && realpath(plugins, abs) != NULL)
        fprintf(f, "plugin_dir = \"%s\"\n", abs);
    else if (plugins != NULL && plugins[0] != '\0')
        fprintf(f, "plugin_dir = \"%s\"\n", plugins);
    if (fclose(f) != 0 || rename(tmp, p) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int start_broker(hsctl *h, int port)
{
    char conf[HSCTL_PATH], mosq[HSCTL_PATH];
    if (!find_binary(h, "mosquitto", mosq, sizeof mosq))
        return hsctl_fail(HSCTL_SYSTEM,
                          "mosquitto is not installed (apt-get install mosquitto), or pass "
                          "--broker URL to use another broker");
    if (port_open(port))
        return hsctl_fail(HSCTL_USER, "port %d is already in use; choose another with --port N",
                          port);
    snprintf(conf, sizeof conf, "%s/broker/mosquitto.conf", h->data_dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return hsctl_fail(HSCTL_SYSTEM, "cannot write %s: %s", conf, strerror(errno));
    /*
     * No queue limits: Mosquitto's default of 1000 queued messages per client
     * drops messages for a slow subscriber even at QoS 1. Services bound their
     * own queues and push back instead. Packets above 16 MiB are refused with
     * a disconnect the sender sees (message_size_limit would acknowledge and
     * then drop them).
     */
    fprintf(f,
            "# Written by 'hsctl up'.\n"
            "listener %d 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            "persistence_location %s/broker/\n"
            "autosave_interval 5\n"
            "max_queued_messages 0\n"
            "max_inflight_messages 100\n"
            "max_packet_size 16777216\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\n",
            port, h->data_dir);
    /* Run as the invoking user: mosquitto started by root would switch to its own user and
     * could not write the (private) data directory. */
    struct passwd *pw = getpwuid(getuid());
    if (pw != NULL)
        fprintf(f, "user %s\n", pw->pw_name);
    fclose(f);
    char *argv[] = {mosq, "-c", conf, NULL};
    pid_t pid = spawn(h, "broker", argv);
    if (pid < 0)
        return hsctl_fail(HSCTL_SYSTEM, "cannot start mosquitto");
    for (int i = 0; i < 200; i++) {
        if (port_open(port))
            return HSCTL_OK;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            break;
        sleep_ms(25);
    }
    return hsctl_fail(HSCTL_SYSTEM, "mosquitto did not start; see %s/logs/broker.log", h->data_dir);
}

/* Collects retained status messages for a moment. Returns a JSON-ish list per id. */
typedef struct status_row {
    char id[128];
    char service[32];
    char state[16];
    char version[32];
    char host[64];
    int pid;
    int64_t started_us;
    char metrics[300]; /* the service's Prometheus endpoint, "" when none */
} status_row;

/*
 * A row from a retained status: a status that does not decode shows with
 * state "?" and the reason on stderr.
 */
static void status_row_read(status_row *r, const hs_mqtt_msg *msg)
{
    hs_proto_status_msg sm;
    if (hs_proto_status_decode(&sm, (const char *)msg->payload, msg->len) != HS_OK) {
        fprintf(stderr, "hsctl: unreadable status on %s: %s\n", msg->topic, hs_err_detail());
        snprintf(r->state, sizeof r->state, "?");
        hs_proto_status_msg_free(&sm);
        return;
    }
    const hs_proto_status *st = &sm.st;
    snprintf(r->service, sizeof r->service, "%s", st->service);
    snprintf(r->state, sizeof r->state, "%s", hs_proto_state_name(st->state));
    snprintf(r->version, sizeof r->version, "%s", st->version);
    snprintf(r->host, sizeof r->host, "%s", st->host);
    r->pid = st->pid <= INT32_MAX ? (int)st->pid : 0;
    r->started_us = (int64_t)st->incarnation;
    snprintf(r->metrics, sizeof r->metrics, "%s", st->metrics);
    hs_proto_status_msg_free(&sm);
}

static size_t collect_status(hsctl *h, status_row *rows, size_t max, int wait_ms)
{
    hs_mqtt *m = hsctl_mqtt(h);
    if (m == NULL)
        return 0;
    hs_buf t;
    hs_buf_init(&t, 0);
    if (hs_mqtt_subscribe(m, hsctl_topic(h, &t, "status/+"), 1) != HS_OK) {
        hs_buf_free(&t);
        return 0;
    }
    size_t n = 0;
    int64_t end = hs_time_mono_us() + wait_ms * 1000LL;
    for (;;) {
        int64_t left = end - hs_time_mono_us();
        if (left <= 0)
            break;
        hs_mqtt_msg *msg;
        if (hs_mqtt_recv(m, &msg, (int)(left / 1000) + 1) != HS_OK)
            continue;
        status_row r;
        memset(&r, 0, sizeof r);
        const char *slash = strrchr(msg->topic, '/');
        snprintf(r.id, sizeof r.id, "%s", slash ? slash + 1 : msg->topic);
        if (msg->len > 0) {
            status_row_read(&r, msg);
            size_t k = 0;
            while (k < n && strcmp(rows[k].id, r.id) != 0)
                k++;
            if (k < max) {
                rows[k] = r;
                if (k == n)
                    n++;
            }
        }
        hs_mqtt_msg_free(msg);
    }
    (void)hs_mqtt_unsubscribe(m, hsctl_topic(h, &t, "status/+"));
    hs_buf_free(&t);
    return n;
}

static int cmp_rows(const void *a, const void *b)
{
    return strcmp(((const status_row *)a)->id, ((const status_row *)b)->id);
}

/* Waits until every id in ids is online. */
static bool wait_online(hsctl *h, const char **ids, size_t nids, int timeout_ms)
{
    int64_t end = hs_time_mono_us() + timeout_ms * 1000LL;
    while (hs_time_mono_us() < end) {
        status_row rows[64];
        size_t n = collect_status(h, rows, 64, 300);
        size_t ok = 0;
        for (size_t i = 0; i < nids; i++)
            for (size_t k = 0; k < n; k++)
                if (strcmp(rows[k].id, ids[i]) == 0 && strcmp(rows[k].state, "online") == 0)
                    ok++;
        if (ok == nids)
            return true;
    }
    return false;
}

/*
 * The commands to try next, as they work when pasted: a data directory other
 * than the default (./hs-data here) is named in each, and an export line
 * lets later commands leave it out.
 */
static int up_next_steps(hsctl *h)
{
    char dflt[PATH_MAX];
    bool is_default = realpath("./hs-data", dflt) != NULL && strcmp(dflt, h->data_dir) == 0;
    hs_buf q, data;
    hs_buf_init(&q, 0);
    hs_buf_init(&data, 0);
    int rc = hsctl_shell_quote(&q, h->data_dir);
    if (rc == HS_OK && !is_default)
        rc = hs_buf_printf(&data, "--data %s ", hs_buf_cstr(&q));
    if (rc == HS_OK) {
        if (!is_default)
            printf("to use this stack from any directory: export HS_DATA=%s\n", hs_buf_cstr(&q));
        printf(
            "try: hsctl %spub temperature/house=1 21.5; hsctl %sstream get temperature/house=1\n",
            hs_buf_cstr(&data), hs_buf_cstr(&data));
    }
    hs_buf_free(&q);
    hs_buf_free(&data);
    return rc == HS_OK ? HSCTL_OK : hsctl_fail(HSCTL_SYSTEM, "out of memory");
}

int cmd_up(hsctl *h, int argc, char **argv)
{
    int port = HSCTL_DEFAULT_PORT;
    const char *broker = NULL;
    int http_port = HSCTL_DEFAULT_HTTP_PORT;
    bool http_explicit = false;
    const char *hp = getenv("HS_HTTP_PORT");
    if (hp != NULL && hp[0] != '\0') {
        http_port = atoi(hp);
        http_explicit = true;
        if (http_port <= 0 || http_port > 65535)
            return hsctl_fail(HSCTL_USER, "HS_HTTP_PORT=%s is not a TCP port number", hp);
    }
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl up [--data DIR] [--port N] [--broker URL] [--http-port N]\n"
                 "Starts a private Mosquitto on 127.0.0.1:N (default 1884) unless --broker\n"
                 "names one, and the services (writer, ingest, scheduler, tools, api) in the\n"
                 "background on the embedded store DIR/hs.db. Logs: DIR/logs; PIDs: DIR/run.\n"
                 "The api serves the REST API and the dashboard on 127.0.0.1, port\n"
                 "--http-port, else $HS_HTTP_PORT, else 8180 (docs/HTTP.md); when the default\n"
                 "port is taken it is not started.\n"
                 "With HS_METRICS_PORT=P each service serves Prometheus metrics on its own\n"
                 "port (writer P, ingest P+1, scheduler P+2, tools P+3, api P+4).");
            return 0;
        } else if (hsctl_opt(argc, argv, &i, "--port", &v)) {
            port = v ? atoi(v) : 0;
            if (port <= 0 || port > 65535)
                return hsctl_fail(HSCTL_USER, "--port needs a TCP port number");
        } else if (hsctl_opt(argc, argv, &i, "--broker", &v)) {
            broker = v;
        } else if (hsctl_opt(argc, argv, &i, "--http-port", &v)) {
            http_port = v ? atoi(v) : 0;
            http_explicit = true;
            if (http_port <= 0 || http_port > 65535)
                return hsctl_fail(HSCTL_USER, "--http-port needs a TCP port number");
        } else if (hsctl_opt(argc, argv, &i, "--data", &v)) {
            continue;
        } else {
            return hsctl_fail(HSCTL_USER, "unknown option '%s' for up", argv[i]);
        }
    }
    char sub[HSCTL_PATH];
    const char *dirs[] = {"", "/logs", "/run", "/broker", "/inbox"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(sub, sizeof sub, "%s%s", h->data_dir, dirs[i]);
        if (mkdirs(sub) != 0)
            return hsctl_fail(HSCTL_SYSTEM, "cannot create %s: %s", sub, strerror(errno));
    }
    /* The services work in the data directory (spawn): every path they get must be absolute,
     * also when the directory did not exist before (./hs-data on a first up). */
    char abs[PATH_MAX];
    if (realpath(h->data_dir, abs) != NULL && strlen(abs) < sizeof h->data_dir)
        memcpy(h->data_dir, abs, strlen(abs) + 1);
    char mosq[HSCTL_PATH];
    bool broker_running = find_binary(h, "mosquitto", mosq, sizeof mosq) &&
                          pid_is(read_pid(h, "broker"), "mosquitto");
    char url[256];
    if (broker != NULL) {
        snprintf(url, sizeof url, "%s", broker);
    } else if (broker_running && h->have_data_conf) {
        snprintf(url, sizeof url, "%s", h->cfg.broker_url);
    } else {
        snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
    }
    if (write_conf(h, url) != 0)
        return hsctl_fail(HSCTL_SYSTEM, "cannot write %s/hs.conf", h->data_dir);
    hs_free(h->cfg.broker_url);
    h->cfg.broker_url = hs_strdup(url);
    snprintf(sub, sizeof sub, "sqlite://%s/hs.db", h->data_dir);
    hs_free(h->cfg.store_url);
    h->cfg.store_url = hs_strdup(sub);
    if (broker == NULL && !broker_running) {
        int rc = start_broker(h, port);
        if (rc != HSCTL_OK)
            return rc;
        printf("broker     started   %s (logs: %s/logs/broker.log)\n", url, h->data_dir);
    }
    /* The base of the stack's metrics ports (0: none), checked before anything starts. */
    long metrics_base = 0;
    const char *mp = getenv("HS_METRICS_PORT");
    if (mp != NULL && mp[0] != '\0') {
        char *end;
        metrics_base = strtol(mp, &end, 10);
        if (*end != '\0' || metrics_base < 0 || metrics_base + (long)HS_STACK_N - 1 > 65535)
            return hsctl_fail(HSCTL_USER,
                              "HS_METRICS_PORT=%s: the stack needs %zu ports from it (0: none)", mp,
                              HS_STACK_N);
    }
    const char *ids[HS_STACK_N];
    size_t nids = 0;
    bool api_started = false;
    for (size_t i = 0; i < HS_STACK_N; i++) {
        const svc_def *d = &hs_stack[i];
        char bin[HSCTL_PATH];
        if (!find_binary(h, d->binary, bin, sizeof bin))
            continue;
        if (pid_is(read_pid(h, d->name), d->binary)) {
            ids[nids++] = d->name;
            printf("%-10s running   pid %d\n", d->name, (int)read_pid(h, d->name));
            continue;
        }
        if (d->http && port_open(http_port)) {
            if (http_explicit)
                return hsctl_fail(HSCTL_USER,
                                  "HTTP port %d is already in use; choose another with "
                                  "--http-port N",
                                  http_port);
            printf("%-10s skipped   port %d is in use (choose another with --http-port N)\n",
                   d->name, http_port);
            continue;
        }
        ids[nids++] = d->name;
        char idset[200], extra[HSCTL_PATH], mport[64], hport[64], web[HSCTL_PATH];
        snprintf(idset, sizeof idset, "service_id=%s", d->name);
        snprintf(mport, sizeof mport, "metrics_port=%ld",
                 metrics_base > 0 ? metrics_base + (long)i : 0L);
        char *args[14];
        int n = 0;
        args[n++] = bin;
        args[n++] = "--set";
        args[n++] = idset;
        args[n++] = "--set";
        args[n++] = mport;
        if (d->inbox) {
            snprintf(extra, sizeof extra, "watch_dir=%s/inbox", h->data_dir);
            args[n++] = "--set";
            args[n++] = extra;
        }
        if (d->http) {
            snprintf(hport, sizeof hport, "http_port=%d", http_port);
            args[n++] = "--set";
            args[n++] = hport;
            if (find_web_dir(h, web, sizeof web)) {
                args[n++] = "--set";
                args[n++] = web;
            }
            api_started = true;
        }
        args[n] = NULL;
        pid_t pid = spawn(h, d->name, args);
        if (pid < 0)
            return hsctl_fail(HSCTL_SYSTEM, "cannot start %s", d->binary);
        printf("%-10s started   pid %d (logs: %s/logs/%s.log)\n", d->name, (int)pid, h->data_dir,
               d->name);
    }
    if (!wait_online(h, ids, nids, 20000))
        return hsctl_fail(HSCTL_SYSTEM,
                          "not every service came online within 20 s; see 'hsctl status' and the "
                          "logs in %s/logs",
                          h->data_dir);
    /*
     * Mosquitto saves its persistence only every autosave_interval: until then
     * a crash of the broker loses the services' new persistent sessions, and
     * with them whatever is published before the services subscribe again.
     * SIGUSR1 makes it save at once.
     */
    pid_t bpid = read_pid(h, "broker");
    if (broker == NULL && pid_is(bpid, "mosquitto"))
        kill(bpid, SIGUSR1);
    printf("stack is up: broker %s, store sqlite://%s/hs.db\n", url, h->data_dir);
    if (api_started || pid_is(read_pid(h, "api"), "hs-api"))
        printf("dashboard and REST API: http://127.0.0.1:%d/ (docs/HTTP.md)\n", http_port);
    return up_next_steps(h);
}

/* Stops one process of the stack by its PID file; whether it was running. */
static bool stop_one(hsctl *h, const char *name, const char *binary)
{
    pid_t pid = read_pid(h, name);
    char pidf[HSCTL_PATH];
    snprintf(pidf, sizeof pidf, "%s/run/%s.pid", h->data_dir, name);
    if (pid_is(pid, binary)) {
        kill(pid, SIGTERM);
        int i = 0;
        for (; i < 200 && pid_is(pid, binary); i++)
            sleep_ms(50);
        if (pid_is(pid, binary)) {
            kill(pid, SIGKILL);
            printf("%-10s killed    pid %d (did not stop within 10 s)\n", name, (int)pid);
        } else {
            printf("%-10s stopped   pid %d\n", name, (int)pid);
        }
        unlink(pidf);
        return true;
    }
    unlink(pidf);
    return false;
}

int cmd_down(hsctl *h, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl down [--data DIR]\nStops the processes 'hsctl up' started "
                 "(services first, then the broker), by their PID files.");
            return 0;
        }
        if (!hsctl_opt(argc, argv, &i, "--data", &v))
            return hsctl_fail(HSCTL_USER, "unknown option '%s' for down", argv[i]);
    }
    /* A directory without the stack's settings holds no stack: say so rather than do nothing. */
    char conf[HSCTL_PATH];
    snprintf(conf, sizeof conf, "%s/hs.conf", h->data_dir);
    struct stat st;
    if (stat(conf, &st) != 0)
        return hsctl_fail(HSCTL_USER, "no stack in %s (it has no hs.conf): nothing to stop",
                          h->data_dir);
    bool any = false;
    for (size_t i = HS_STACK_N; i-- > 0;)
        any |= stop_one(h, hs_stack[i].name, hs_stack[i].binary);
    any |= stop_one(h, "broker", "mosquitto");
    if (!any)
        printf("nothing was running in %s\n", h->data_dir);
    return HSCTL_OK;
}

int cmd_status(hsctl *h, int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl status [--json]\nEvery service that announced itself on "
                 "<prefix>/status/<id>, with its state (online, offline), version and uptime.");
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (!hsctl_opt(argc, argv, &i, "--data", &v))
            return hsctl_fail(HSCTL_USER, "unknown option '%s' for status", argv[i]);
    }
    if (hsctl_mqtt(h) == NULL)
        return HSCTL_SYSTEM;
    status_row rows[256];
    size_t n = collect_status(h, rows, 256, 500);
    qsort(rows, n, sizeof rows[0], cmp_rows);
    int64_t now = hs_time_now_us();
    hsctl_table t;
    const char *heads[7] = {"ID", "SERVICE", "STATE", "VERSION", "PID", "UPTIME", "METRICS"};
    if (!json && hsctl_table_init(&t, 7, heads, "llllrll") != HS_OK)
        return hsctl_fail(HSCTL_SYSTEM, "out of memory");
    hs_buf j;
    hs_buf_init(&j, 0);
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        status_row *r = &rows[i];
        char up[32] = "-";
        if (strcmp(r->state, "offline") != 0 && r->started_us > 0) {
            int64_t s = (now - r->started_us) / HS_US_PER_S;
            snprintf(up, sizeof up, "%lldh%02lldm%02llds", (long long)(s / 3600),
                     (long long)(s / 60 % 60), (long long)(s % 60));
        }
        if (json) {
            /* Every text through the JSON writer: a status may carry any characters. */
            const char *keys[6] = {"id", "service", "state", "version", "host", "metrics"};
            const char *vals[6] = {r->id, r->service, r->state, r->version, r->host, r->metrics};
            for (size_t k = 0; rc == HS_OK && k < 6; k++) {
                rc = hs_buf_printf(&j, "%s\"%s\":", k == 0 ? "{" : ",", keys[k]);
                if (rc == HS_OK)
                    rc = hs_json_put_string(&j, vals[k], strlen(vals[k]));
            }
            if (rc == HS_OK)
                rc = hs_buf_printf(&j, ",\"pid\":%d}\n", r->pid);
        } else {
            char pid[16];
            snprintf(pid, sizeof pid, "%d", r->pid);
            const char *row[7] = {r->id,
                                  r->service,
                                  r->state,
                                  r->version,
                                  pid,
                                  up,
                                  r->metrics[0] != '\0' ? r->metrics : "-"};
            rc = hsctl_table_add(&t, row);
        }
    }
    int out = hsctl_listing_end(rc, json, &j, &t);
    if (out != HSCTL_OK)
        return out;
    if (n == 0 && !json)
        printf("(no service has announced itself on %s/status/+)\n", h->cfg.prefix);
    return HSCTL_OK;
}
