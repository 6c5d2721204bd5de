/*
 * The store: streams of instances with their calculated intervals, and small
 * JSON documents (workflows, plates, meta-data, job history, status).
 *
 * One interface, two backends chosen by URL:
 *   sqlite:///path/to/hs.db     embedded (default): WAL mode, one writer
 *                               process, any number of readers
 *   mongodb://host:port/db      MongoDB through libmongoc
 *
 * Only the writer service opens a store with HS_STORE_WRITE; every other
 * service reads. Writes happen between hs_store_begin and hs_store_commit:
 * on SQLite that is one transaction; on MongoDB (no multi-document
 * transactions on a standalone server) the writer orders its writes so that
 * a crash leaves nothing that re-running the same writes would not repair:
 * instances first, calculated intervals last (docs/ARCHITECTURE.md).
 *
 * Instances are unique per (stream, timestamp). Writing an instance that
 * exists with the same value (byte-equal canonical msgpack) is a no-op; with
 * a different value it is a conflict, reported and never overwritten.
 *
 * Reads return instances in time order in bounded chunks (keyset paging), so
 * a stream is never loaded into memory whole.
 *
 * Handles are not thread-safe: one handle per thread.
 *
 * Errors: HS_ERR_IO means a condition that may pass (disk full, I/O error,
 * database locked, server unreachable): the writer retries later.
 * HS_ERR_STORE means the request itself cannot succeed.
 */
#ifndef HS_STORE_H
#define HS_STORE_H

#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_interval.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_store hs_store;

enum {
    HS_STORE_READ = 0,  /* read-only use */
    HS_STORE_WRITE = 1, /* the writer: creates and migrates the schema */
};

typedef enum hs_stream_kind {
    HS_STREAM_RAW = 0,      /* data published by users or devices */
    HS_STREAM_COMPUTED = 1, /* the sink of a workflow factor */
    HS_STREAM_ASSET = 2,    /* static assets and workflow parameters */
} hs_stream_kind;

/* A stream definition. */
typedef struct hs_stream_info {
    char *id;                /* owned canonical stream id */
    int kind;                /* hs_stream_kind */
    char *binding;           /* owned JSON text of the tool binding, NULL for raw streams */
    hs_intervals calculated; /* owned calculated (for raw streams: covered) intervals */
    int64_t updated_us;      /* last change of the definition or its intervals */
} hs_stream_info;

void hs_stream_info_free(hs_stream_info *info);

/* What happened to each instance of a write. */
enum {
    HS_WRITE_INSERTED = 0,
    HS_WRITE_DUPLICATE = 1, /* same value existed: nothing changed */
    HS_WRITE_CONFLICT = 2,  /* a different value existed: not written */
};

typedef struct hs_write_result {
    size_t inserted;
    size_t duplicates;
    size_t conflicts;
} hs_write_result;

/*
 * Opens the store named by url. mode is HS_STORE_READ or HS_STORE_WRITE.
 * HS_ERR_CONFIG for an unknown scheme, HS_ERR_STORE (with detail) when the
 * backend cannot open it. A writer creates the schema and applies
 * migrations; a reader of a store that has no schema yet waits for none and
 * sees empty results.
 */
int hs_store_open(hs_store **out, const char *url, int mode);
void hs_store_close(hs_store *s);

/* "sqlite" or "mongodb". */
const char *hs_store_backend(const hs_store *s);

/* Schema version of the open store (for migrations and diagnostics). */
int hs_store_schema_version(hs_store *s, int *version);

/* Gives back the memory of caches the handle does not need now (the writer
 * calls it when a burst of input is over); they fill again on use. */
void hs_store_release_memory(hs_store *s);

/* --- writing (HS_STORE_WRITE handles only) --- */

int hs_store_begin(hs_store *s);
int hs_store_commit(hs_store *s);
int hs_store_rollback(hs_store *s);

/*
 * Creates the stream definition if it does not exist (with kind and
 * binding), or updates its binding. Does not touch data or intervals.
 */
int hs_store_stream_define(hs_store *s, const char *id, int kind, const char *binding);

/*
 * Writes instances [0, b->n) of b to stream id (defined as raw if it does
 * not exist). status, when not NULL, receives one HS_WRITE_* per instance.
 * Instances with the same timestamp inside b: the first wins, later ones
 * are duplicates or conflicts of it.
 */
int hs_store_write(hs_store *s, const char *id, const hs_batch *b, uint8_t *status,
                   hs_write_result *res);

/* Adds add to the calculated intervals of stream id (which must exist). */
int hs_store_intervals_add(hs_store *s, const char *id, const hs_intervals *add);

/* Replaces the calculated intervals of stream id. */
int hs_store_intervals_set(hs_store *s, const char *id, const hs_intervals *set);

/*
 * Deletes every instance of stream id and empties its calculated intervals;
 * with remove_definition the definition goes too. HS_ERR_NOTFOUND when the
 * stream does not exist. *deleted (may be NULL) receives the number of
 * instances deleted.
 */
int hs_store_purge(hs_store *s, const char *id, bool remove_definition, int64_t *deleted);

/*
 * Deletes the instances of stream id in (range.start, range.end] (a job's
 * results that its recomputation replaces). HS_ERR_NOTFOUND when the stream
 * does not exist. *deleted (may be NULL) receives the number deleted.
 */
int hs_store_delete_range(hs_store *s, const char *id, hs_interval range, int64_t *deleted);

/*
 * Purges stream id before before_us: deletes its instances with
 * t <= before_us and removes (-inf, before_us] from its calculated intervals
 * (the same half-open convention as intervals: an instance at a day's
 * midnight belongs to the day that ends there). The intervals change first,
 * so that a crash between the two steps (MongoDB) leaves data that is not
 * claimed calculated, never a claim without its data. With max_instances
 * > 0 at most that many instances are deleted: the cut then stops at the
 * last of them, so that what is left is consistent and a later call goes
 * on. *deleted (may be NULL) receives the number deleted, *through_us (may
 * be NULL) the time up to which the stream is purged now (before_us when
 * all was done). HS_ERR_NOTFOUND when the stream does not exist. Nothing
 * else is touched: what reads the stream is not reopened.
 */
int hs_store_purge_before(hs_store *s, const char *id, int64_t before_us, int64_t max_instances,
                          int64_t *deleted, int64_t *through_us);

/* Stores (insert or replace) a JSON document under (coll, key). */
int hs_store_doc_put(hs_store *s, const char *coll, const char *key, const char *json);
/* HS_ERR_NOTFOUND when absent. */
int hs_store_doc_delete(hs_store *s, const char *coll, const char *key);

/* --- reading (any handle) --- */

/* HS_ERR_NOTFOUND when the stream is not defined. */
int hs_store_stream_get(hs_store *s, const char *id, hs_stream_info *out);

/*
 * Calls fn for every stream whose id starts with prefix ("" for all), in id
 * order. fn returns 0 to go on, non-zero to stop (returned as is).
 */
typedef int (*hs_store_stream_fn)(void *ud, const hs_stream_info *info);
int hs_store_stream_list(hs_store *s, const char *prefix, hs_store_stream_fn fn, void *ud);

/*
 * Reading a stream over (range.start, range.end] in time order. Each call of
 * hs_store_cursor_next resets out and fills it with up to the cursor's chunk
 * size of instances (owned copies); out->n == 0 means the end. A chunk
 * shorter than the chunk size is the last: instances written after it are
 * not returned. A cursor holds no transaction between calls.
 */
typedef struct hs_store_cursor hs_store_cursor;
int hs_store_read(hs_store *s, const char *id, hs_interval range, size_t chunk,
                  hs_store_cursor **out);
int hs_store_cursor_next(hs_store_cursor *c, hs_batch *out);
void hs_store_cursor_close(hs_store_cursor *c);

/* The first / last n instances in range, in time order, into out (reset first). */
int hs_store_head(hs_store *s, const char *id, hs_interval range, size_t n, hs_batch *out);
int hs_store_tail(hs_store *s, const char *id, hs_interval range, size_t n, hs_batch *out);

/* Number of instances in range. */
int hs_store_count(hs_store *s, const char *id, hs_interval range, int64_t *n);

/* Value of a document into json (reset first); HS_ERR_NOTFOUND when absent. */
int hs_store_doc_get(hs_store *s, const char *coll, const char *key, hs_buf *json);

/*
 * Calls fn for the documents of coll whose key starts with prefix, in key
 * order (descending when reverse), at most limit of them (0: no limit).
 */
typedef int (*hs_store_doc_fn)(void *ud, const char *key, const char *json);
int hs_store_doc_list(hs_store *s, const char *coll, const char *prefix, bool reverse, size_t limit,
                      hs_store_doc_fn fn, void *ud);

/* The whole time axis, (HS_TIME_MIN - 1, HS_TIME_MAX]. */
hs_interval hs_store_all_time(void);

#endif
