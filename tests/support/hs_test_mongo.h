/*
 * The MongoDB wire-protocol emulator for tests (tests/support/mongo_emulator.py,
 * built on Debian's python3-mockupdb and python3-mongomock): an in-memory
 * server that speaks the wire protocol to libmongoc. It is an emulator, not
 * MongoDB; tests that use it also run against a real server when
 * HS_TEST_MONGO_URL is set.
 */
#ifndef HS_TEST_MONGO_H
#define HS_TEST_MONGO_H

#include <sys/types.h>

typedef struct hs_test_mongo {
    pid_t pid; /* the emulator process */
    int port;
    char url[128]; /* "mongodb://127.0.0.1:<port>/hs_test" */
} hs_test_mongo;

/* Starts the emulator on a free loopback port and waits until it is ready. 0 or -1. */
int hs_test_mongo_start(hs_test_mongo *m);

/* Stops it by PID. */
void hs_test_mongo_stop(hs_test_mongo *m);

#endif
