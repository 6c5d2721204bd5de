#include "hs_test_broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int hs_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int hs__test_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static const char *hs__test_mosquitto_path(void)
{
    if (access("/usr/sbin/mosquitto", X_OK) == 0)
        return "/usr/sbin/mosquitto";
    return "mosquitto";
}

static int hs__test_broker_spawn(hs_test_broker *b)
{
    char conf[300], log[300];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", b->dir);
    snprintf(log, sizeof log, "%s/mosquitto.log", b->dir);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        FILE *f = freopen(log, "a", stderr);
        (void)f;
        f = freopen("/dev/null", "w", stdout);
        (void)f;
        execlp(hs__test_mosquitto_path(), "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    b->pid = pid;
    for (int i = 0; i < 200; i++) {
        if (hs__test_port_open(b->port))
            return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "mosquitto exited at start; see %s\n", log);
            b->pid = 0;
            return -1;
        }
        struct timespec ts = {0, 25 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "mosquitto did not open port %d\n", b->port);
    return -1;
}

int hs_test_broker_start(hs_test_broker *b, const char *extra_config)
{
    memset(b, 0, sizeof *b);
    snprintf(b->dir, sizeof b->dir, "/tmp/hs-test-broker-XXXXXX");
    if (mkdtemp(b->dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    b->port = hs_test_free_port();
    if (b->port < 0) {
        hs_test_broker_stop(b);
        return -1;
    }
    snprintf(b->url, sizeof b->url, "tcp://127.0.0.1:%d", b->port);
    char conf[300];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", b->dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL) {
        perror(conf);
        hs_test_broker_stop(b);
        return -1;
    }
    fprintf(f,
            "listener %d 127.0.0.1\n"
            "allow_anonymous true\n"
            "max_queued_messages 0\n"
            "max_inflight_messages 100\n"
            "persistence false\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n",
            b->port);
    if (extra_config != NULL)
        fputs(extra_config, f);
    fclose(f);
    /* A broker that did not come up is stopped and its directory removed here
     * (its log shown first): a failing caller (CU_ASSERT_*_FATAL) never gets to
     * call hs_test_broker_stop. */
    if (hs__test_broker_spawn(b) != 0) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "tail -n 5 '%s/mosquitto.log' >&2", b->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "no mosquitto log\n");
        hs_test_broker_stop(b);
        return -1;
    }
    return 0;
}

static void hs__test_broker_kill(hs_test_broker *b, int sig)
{
    if (b->pid <= 0)
        return;
    kill(b->pid, sig);
    for (int i = 0; i < 200; i++) {
        int st;
        if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
            b->pid = 0;
            return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(b->pid, SIGKILL);
    waitpid(b->pid, NULL, 0);
    b->pid = 0;
}

int hs_test_broker_restart(hs_test_broker *b)
{
    hs__test_broker_kill(b, SIGKILL);
    /* The port may linger in TIME_WAIT; mosquitto sets SO_REUSEADDR. */
    return hs__test_broker_spawn(b);
}

void hs_test_broker_stop(hs_test_broker *b)
{
    hs__test_broker_kill(b, SIGTERM);
    if (b->dir[0] != '\0') {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", b->dir);
        b->dir[0] = '\0';
    }
}
