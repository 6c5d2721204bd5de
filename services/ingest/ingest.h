/*
 * Ingest: turns raw input into canonical instance batches for the writer.
 *
 * MQTT: payloads on <prefix>/raw/<stream-id> in any form of DESIGN.md
 * section 3 are decoded, grouped per stream for up to batch_max_delay or
 * batch_max_instances, and sent to the writer as "append" requests through
 * the acknowledged write client. Bad input (unknown form, invalid stream
 * id, bad timestamp) goes to <prefix>/dead/ingest with the reason.
 *
 * Files: with watch_dir set, files dropped there (*.csv, *.jsonl, *.json)
 * are claimed by renaming them into watch_dir/.work/<service-id>/, ingested,
 * and moved to watch_dir/done/ once the writer has acknowledged every
 * instance, or to watch_dir/failed/ (with a .errors report) when some
 * lines were rejected.
 */
#ifndef HS_INGEST_H
#define HS_INGEST_H

#include "hs_codec.h"
#include "hs_schemaset.h"
#include "hs_service.h"
#include "hs_wclient.h"

#include <stdint.h>

typedef struct ingest_cfg {
    hs_service_cfg common;
    int64_t batch_max_instances;
    int64_t batch_max_delay_us;
    int64_t max_streams;       /* buffered streams before everything is flushed */
    int64_t max_pending_bytes; /* unacknowledged bytes before input is paused */
    int64_t raw_qos;
    int64_t max_payload_bytes; /* larger raw payloads are dead-lettered */
    char *shared_group;        /* share hs/raw/# among replicas in this group ("" = no) */
    char *watch_dir;           /* directory watched for files ("" = off) */
    int64_t watch_interval_us;
    char *file_mode;               /* "stream": one stream per file; "columns": one per column */
    int64_t file_settle_us;        /* a file is taken once unchanged for this long */
    char *schemas;                 /* input schemas file (docs/SCHEMAS.md; "" = none) */
    bool inbox_watch;              /* inotify on watch_dir besides the periodic scan */
    int64_t inbox_files_per_round; /* files claimed per scan or inotify round (0: all) */
    int64_t inbox_round_rows;      /* lines read per loop round before MQTT again */
    int64_t inbox_round_bytes;     /* bytes read per loop round before MQTT again */
} ingest_cfg;

extern const hs_cfg_item ingest_cfg_table[];

typedef struct ingest ingest;

int ingest_create(ingest **out, hs_service *svc, const ingest_cfg *cfg);
int ingest_run(ingest *in);
void ingest_destroy(ingest *in);

/*
 * Adds instances of b to the pending batch of stream sid (canonical),
 * flushing it when full. Used by the MQTT path and the file watcher.
 */
int ingest_add(ingest *in, const char *sid, const hs_batch *b);

/* Sends every pending batch to the writer. */
int ingest_flush_all(ingest *in);

/* Waits until the writer acknowledged everything sent so far. */
int ingest_wait_acked(ingest *in, int timeout_ms);

/* The seq of the last write request sent (0 before the first). */
uint64_t ingest_last_seq(const ingest *in);

/* True when the writer acknowledged request seq and every earlier one. Does not block. */
bool ingest_acked(ingest *in, uint64_t seq);

/* The input schemas of the ingest (borrowed; never NULL once created). */
hs_schemaset *ingest_schemas(ingest *in);

/*
 * Input schemas (ingest_schema.c). ingest_schema_load builds the set of the
 * config's schemas file (an empty set when the setting is empty); on error
 * (HS_ERR_CONFIG, HS_ERR_NOMEM) it is logged and *out is NULL.
 */
int ingest_schema_load(hs_schemaset **out, const ingest_cfg *cfg, hs_log *log);

/*
 * Checks one reading value of stream sid: HS_OK, or HS_ERR_SCHEMA with why
 * set, counted in schema_rejected (the caller dead-letters it).
 */
int ingest_schema_check(hs_schemaset *set, hs_service *svc, const char *sid, const uint8_t *v,
                        size_t len, hs_buf *why);

/*
 * Removes from b the readings of stream sid that fail a schema, each
 * dead-lettered (reason, raw topic, the reading as a JSON line) and counted;
 * the order of the others is kept. Returns how many were removed.
 */
size_t ingest_schema_filter(hs_schemaset *set, hs_service *svc, const char *sid, const char *topic,
                            hs_batch *b);

/*
 * Applies one message of <prefix>/schemas/<workflow> (hs_proto_schemas; an
 * empty payload clears): the workflow's entries in set (origin "workflow
 * <id>") are replaced by the message's, all or nothing. A message that does
 * not decode, names another workflow or does not compile is dead-lettered
 * with the reason and the previous entries stay. id is the topic's last
 * level.
 */
void ingest_schema_on_message(hs_schemaset *set, hs_service *svc, const char *id,
                              const hs_mqtt_msg *m);

/*
 * The file inbox (ingest_files.c). ingest_files_create makes the
 * directories, starts inotify when inbox_watch is set (falling back to the
 * scan alone, with a warning, where inotify is not available) and queues
 * the files an earlier run left in its work directory; HS_ERR_CONFIG,
 * HS_ERR_IO or HS_ERR_NOMEM, and *out is NULL.
 *
 * ingest_files_work does one bounded round: it reads inotify events, scans
 * the directory when watch_interval has passed, claims the files that are
 * complete (up to inbox_files_per_round, in name order), reads at most
 * inbox_round_rows lines and inbox_round_bytes bytes of them, and moves
 * the files the writer has acknowledged whole to done/ or failed/. It
 * returns true when files are waiting to be read (call again soon).
 *
 * ingest_files_reap moves the files whose instances are acknowledged by
 * now (at stop); the others stay in the work directory and are read again
 * at the next start.
 */
typedef struct ingest_files ingest_files;
int ingest_files_create(ingest_files **out, ingest *in, hs_service *svc, const ingest_cfg *cfg);
bool ingest_files_work(ingest_files *f);
void ingest_files_reap(ingest_files *f);
void ingest_files_destroy(ingest_files *f);

#endif
