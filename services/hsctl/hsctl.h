/*
 * hsctl: the command-line interface. Each group of verbs lives in its own
 * file (cmd_*.c) and gets the shared context below.
 *
 * Exit status: the codes of cli.h (0 success, 1 user error, 2 system error
 * or unknown command, 3 timeout). Errors are one line on stderr saying what
 * was wrong and what to do.
 */
#ifndef HSCTL_H
#define HSCTL_H

/* Size of path buffers built from the data directory (which is at most 1023 bytes). */
#define HSCTL_PATH 2048

#include "cli.h"
#include "hs_proto.h"
#include "hs_buf.h"
#include "hs_mqtt.h"
#include "hs_store.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct hsctl_cfg {
    char *broker_url;
    char *store_url;
    char *prefix;
    char *mqtt_username;
    char *mqtt_password;
    char *mqtt_ca_file;
    char *writer_id;
    char *scheduler_id;
    char *plugin_dir; /* tool plugins (the stack's, from its hs.conf; else HS_PLUGIN_DIR) */
} hsctl_cfg;

typedef struct hsctl {
    char data_dir[1024]; /* the stack's directory (--data, HS_DATA, ./hs-data) */
    bool have_data_conf; /* data_dir/hs.conf exists and was loaded */
    bool data_explicit;  /* data_dir was named (--data, HS_DATA): it must hold a stack */
    bool no_stack;       /* hsctl_have_stack found none: hsctl exits with HSCTL_USER */
    hsctl_cfg cfg;
    char bindir[1024]; /* directory of the hsctl binary (services live beside it) */
    hs_mqtt *mqtt;     /* connected lazily by hsctl_mqtt */
    hs_store *store;   /* opened lazily by hsctl_store */
    char client_id[96];
    int64_t last_rtt_us; /* round trip of the last hsctl_request, request sent to reply */
} hsctl;

/* Writes b's bytes (none for an empty b) to f; HSCTL_SYSTEM if they could not all be written. */
int hsctl_write_buf(const hs_buf *b, FILE *f);

/* Prints "hsctl: <message>" to stderr and returns code. */
int hsctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Whether the stack can be used: false, after printing why, when a data
 * directory was named (--data, HS_DATA) that holds no stack (no hs.conf).
 */
bool hsctl_have_stack(hsctl *h);

/* Prints the rows of t added so far to stdout. HSCTL_OK, or HSCTL_SYSTEM after an error. */
int hsctl_table_print(hsctl_table *t);

/*
 * Ends a listing built as JSON lines in j (json) or as table t: prints the
 * one that was built when rc (of building it) is HS_OK, frees both, and
 * returns the exit code.
 */
int hsctl_listing_end(int rc, bool json, hs_buf *j, hsctl_table *t);

/* Connects to the broker (once); NULL after printing an error. */
hs_mqtt *hsctl_mqtt(hsctl *h);
/* Opens the store read-only (once); NULL after printing an error. */
hs_store *hsctl_store(hsctl *h);
/* "<prefix>/<suffix>" into out. */
const char *hsctl_topic(hsctl *h, hs_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parses a user time (ISO, epoch seconds, "now", "-1h"); prints an error and returns false. */
bool hsctl_time(const char *s, int64_t *out);
/* Sends one write request to the writer and waits for its acknowledgement. */
int hsctl_write(hsctl *h, hs_proto_op op, const uint8_t *fields, size_t len, uint32_t nfields,
                char *err, size_t errlen, uint64_t *count);

/*
 * Publishes a JSON request on topic with an MQTT v5 response topic and
 * correlation data, and waits up to timeout_ms for the reply (into reply).
 * HSCTL_OK, or HSCTL_SYSTEM (nothing printed) when no reply came.
 */
int hsctl_request(hsctl *h, const char *topic, const char *json, hs_buf *reply, int timeout_ms);

/* Whether argument a is option name (e.g. "--from"); takes its value from argv. */
bool hsctl_opt(int argc, char **argv, int *i, const char *name, const char **value);

/*
 * Sends a request to the scheduler's API and waits for its reply (schemas/
 * api.json). A reply that is not ok prints its error ("what failed: ...")
 * and gives HSCTL_USER. The caller frees *reply with
 * hs_proto_api_reply_msg_free, also on failure.
 */
struct hs_proto_api_req;
struct hs_proto_api_reply_msg;
int hsctl_api_call(hsctl *h, const struct hs_proto_api_req *q, const char *what,
                   struct hs_proto_api_reply_msg *reply, int timeout_ms);

/* Whether an option's value v (NULL: missing) is a whole decimal number >= 0; into *out. */
bool hsctl_count(const char *v, long long *out);

int cmd_up(hsctl *h, int argc, char **argv);
int cmd_down(hsctl *h, int argc, char **argv);
int cmd_status(hsctl *h, int argc, char **argv);
int cmd_pub(hsctl *h, int argc, char **argv);
int cmd_sub(hsctl *h, int argc, char **argv);
int cmd_stream(hsctl *h, int argc, char **argv);
int cmd_workflow(hsctl *h, int argc, char **argv);
int cmd_compute(hsctl *h, int argc, char **argv);
int cmd_jobs(hsctl *h, int argc, char **argv);
int cmd_tool(hsctl *h, int argc, char **argv);
int cmd_session(hsctl *h, int argc, char **argv);
int cmd_meta(hsctl *h, int argc, char **argv);
int cmd_ctl(hsctl *h, int argc, char **argv);
int cmd_top(hsctl *h, int argc, char **argv);
/* stream purge ID|PATTERN --before T [--dry-run] (cmd_purge.c); argv[1] is "purge". */
int cmd_stream_purge_before(hsctl *h, int argc, char **argv);

#endif
