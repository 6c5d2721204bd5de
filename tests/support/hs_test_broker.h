/*
 * A private Mosquitto broker for tests: started on a free loopback port with
 * a temporary config (anonymous access, unlimited queues), stopped by its
 * PID. Never uses port 1883.
 */
#ifndef HS_TEST_BROKER_H
#define HS_TEST_BROKER_H

#include <sys/types.h>

typedef struct hs_test_broker {
    pid_t pid;     /* the mosquitto process */
    int port;      /* its loopback port */
    char url[64];  /* "tcp://127.0.0.1:<port>" */
    char dir[256]; /* temporary directory holding config and log */
} hs_test_broker;

/*
 * Starts mosquitto (found on PATH or in /usr/sbin) and waits until it
 * accepts connections. extra_config, if not NULL, is appended to the config
 * file. Returns 0 or -1 (with a message on stderr).
 */
int hs_test_broker_start(hs_test_broker *b, const char *extra_config);

/* Stops the broker started above (SIGTERM, then SIGKILL) and removes its directory. */
void hs_test_broker_stop(hs_test_broker *b);

/* SIGKILLs the broker and restarts it on the same port. Returns 0 or -1. */
int hs_test_broker_restart(hs_test_broker *b);

/* A free TCP port on 127.0.0.1 (bound then released), or -1. */
int hs_test_free_port(void);

#endif
