/*
 * Starts and stops the MongoDB wire-protocol emulator (mongo_emulator.py in
 * this directory) for tests. The script is found through HS_SOURCE_DIR (the
 * root of the source tree) when that is set, else next to this file's own
 * source path. The emulator is asked for any free port (--port 0) and
 * reports the one it bound on stdout ("ready <port>"), so there is no race
 * for a port between choosing and binding it.
 */
#include "hs_test_mongo.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Debian's interpreter: the python3 first on PATH cannot import mockupdb. */
#define HS__TEST_PYTHON "/usr/bin/python3"
/* How long the emulator may take to start (Python imports included). */
#define HS__TEST_MONGO_START_MS 20000

/* Writes the emulator script's path into buf; 0, or -1 when it is not found. */
static int hs__test_mongo_script(char *buf, size_t len)
{
    const char *src = getenv("HS_SOURCE_DIR");
    if (src != NULL && src[0] != '\0') {
        snprintf(buf, len, "%s/tests/support/mongo_emulator.py", src);
    } else {
        const char *here = __FILE__;
        const char *slash = strrchr(here, '/');
        int dirlen = slash != NULL ? (int)(slash - here) : 1;
        snprintf(buf, len, "%.*s/mongo_emulator.py", dirlen, slash != NULL ? here : ".");
    }
    if (access(buf, R_OK) != 0) {
        fprintf(stderr, "mongo emulator script %s: %s (set HS_SOURCE_DIR)\n", buf, strerror(errno));
        return -1;
    }
    return 0;
}

static int64_t hs__test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the child's stdout until "ready <port>\n"; the port, or -1. */
static int hs__test_mongo_wait_ready(int fd, pid_t pid)
{
    char line[128];
    size_t used = 0;
    int64_t deadline = hs__test_now_ms() + HS__TEST_MONGO_START_MS;
    for (;;) {
        int64_t left = deadline - hs__test_now_ms();
        if (left <= 0) {
            fprintf(stderr, "mongo emulator did not get ready in %d ms\n", HS__TEST_MONGO_START_MS);
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            continue;
        ssize_t got = read(fd, line + used, sizeof line - 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid)
                fprintf(stderr, "mongo emulator exited at start (status %d)\n", st);
            else
                fprintf(stderr, "mongo emulator closed its output at start\n");
            return -1;
        }
        used += (size_t)got;
        line[used] = '\0';
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            int port;
            if (sscanf(line, "ready %d", &port) == 1 && port > 0 && port < 65536)
                return port;
            fprintf(stderr, "mongo emulator said '%.*s' instead of ready\n", (int)(nl - line),
                    line);
            return -1;
        }
        if (used == sizeof line - 1) {
            fprintf(stderr, "mongo emulator: unexpected output at start\n");
            return -1;
        }
    }
}

int hs_test_mongo_start(hs_test_mongo *m)
{
    memset(m, 0, sizeof *m);
    char script[1024];
    if (hs__test_mongo_script(script, sizeof script) != 0)
        return -1;
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* The emulator must not outlive a test binary that dies without stopping it. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(HS__TEST_PYTHON, "python3", script, "--port", "0", (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", HS__TEST_PYTHON, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    m->pid = pid;
    int port = hs__test_mongo_wait_ready(fds[0], pid);
    close(fds[0]);
    if (port < 0) {
        hs_test_mongo_stop(m);
        return -1;
    }
    m->port = port;
    snprintf(m->url, sizeof m->url, "mongodb://127.0.0.1:%d/hs_test_%d", port, (int)getpid());
    return 0;
}

void hs_test_mongo_stop(hs_test_mongo *m)
{
    if (m->pid <= 0)
        return;
    kill(m->pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
            m->pid = 0;
            return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(m->pid, SIGKILL);
    waitpid(m->pid, NULL, 0);
    m->pid = 0;
}
