/*
 * The embedded store backend: one SQLite database file in WAL mode.
 *
 * Schema (version in PRAGMA user_version; migrations below run in order):
 *   streams(sid INTEGER PRIMARY KEY, id TEXT UNIQUE, kind, binding TEXT,
 *           calculated BLOB (msgpack [[start, end], ...]), created_us, updated_us)
 *   blocks(sid, t0, t1, n, data BLOB, UNIQUE (sid, t0)): compressed blocks of
 *           instances (hs_block.h), a rowid table so that a block of a few
 *           kilobytes stays on its page
 *   docs(coll, key, json, updated_us, PRIMARY KEY (coll, key)) WITHOUT ROWID
 *
 * synchronous=NORMAL in WAL mode: a committed transaction survives the
 * writer process being killed (it is in the WAL, in the OS page cache); only
 * an operating-system crash or power loss can lose the last commits.
 * HS_SQLITE_SYNC=full (environment) makes every commit durable against that
 * too, at a cost in throughput.
 */
#include "hs_alloc.h"
#include "hs_block.h"
#include "hs_error.h"
#include "hs_map.h"
#include "hs_store_impl.h"
#include "hs_time.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* How long a statement waits for another process's lock before it fails. */
#define HS__SQ_BUSY_MS 10000

/* The statements of one handle, prepared on first use. */
enum {
    Q_SID,
    Q_STREAM_INSERT,
    Q_STREAM_BINDING,
    Q_BLK_ASC,
    Q_BLK_DESC,
    Q_BLK_PUT,
    Q_BLK_DEL,
    Q_BLK_SUM,
    Q_STREAM_GET,
    Q_STREAM_LIST,
    Q_CALC_GET,
    Q_CALC_SET,
    Q_PURGE,
    Q_STREAM_DELETE,
    Q_DOC_PUT,
    Q_DOC_GET,
    Q_DOC_DELETE,
    Q_DOC_LIST,
    Q_DOC_LIST_DESC,
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q__COUNT
};

static const char *const hs__sql[Q__COUNT] = {
    [Q_SID] = "SELECT sid FROM streams WHERE id = ?1",
    [Q_STREAM_INSERT] = "INSERT INTO streams(id, kind, binding, calculated, created_us, updated_us)"
                        " VALUES (?1, ?2, ?3, NULL, ?4, ?4)",
    [Q_STREAM_BINDING] =
        "UPDATE streams SET kind = ?2, binding = ?3, updated_us = ?4 WHERE sid = ?1",
    /* From the block with the largest t0 <= ?2 on (hs_store_impl.h, blk_scan). */
    [Q_BLK_ASC] = "SELECT t0, t1, n, data FROM blocks WHERE sid = ?1 AND t0 >= ifnull("
                  "(SELECT max(t0) FROM blocks WHERE sid = ?1 AND t0 <= ?2), ?2)"
                  " AND t0 <= ?3 AND t1 > ?2 ORDER BY t0",
    [Q_BLK_DESC] = "SELECT t0, t1, n, data FROM blocks WHERE sid = ?1 AND t0 >= ifnull("
                   "(SELECT max(t0) FROM blocks WHERE sid = ?1 AND t0 <= ?2), ?2)"
                   " AND t0 <= ?3 AND t1 > ?2 ORDER BY t0 DESC",
    [Q_BLK_PUT] = "INSERT INTO blocks(sid, t0, t1, n, data) VALUES (?1, ?2, ?3, ?4, ?5)"
                  " ON CONFLICT(sid, t0) DO UPDATE SET t1 = excluded.t1, n = excluded.n,"
                  " data = excluded.data",
    [Q_BLK_DEL] = "DELETE FROM blocks WHERE sid = ?1 AND t0 = ?2",
    [Q_BLK_SUM] = "SELECT ifnull(sum(n), 0) FROM blocks WHERE sid = ?1",
    [Q_STREAM_GET] = "SELECT id, kind, binding, calculated, updated_us FROM streams WHERE id = ?1",
    [Q_STREAM_LIST] = "SELECT id, kind, binding, calculated, updated_us FROM streams"
                      " WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id",
    [Q_CALC_GET] = "SELECT calculated FROM streams WHERE sid = ?1",
    [Q_CALC_SET] = "UPDATE streams SET calculated = ?2, updated_us = ?3 WHERE sid = ?1",
    [Q_PURGE] = "DELETE FROM blocks WHERE sid = ?1",
    [Q_STREAM_DELETE] = "DELETE FROM streams WHERE sid = ?1",
    [Q_DOC_PUT] =
        "INSERT OR REPLACE INTO docs(coll, key, json, updated_us) VALUES (?1, ?2, ?3, ?4)",
    [Q_DOC_GET] = "SELECT json FROM docs WHERE coll = ?1 AND key = ?2",
    [Q_DOC_DELETE] = "DELETE FROM docs WHERE coll = ?1 AND key = ?2",
    [Q_DOC_LIST] = "SELECT key, json FROM docs WHERE coll = ?1 AND substr(key, 1, length(?2)) = ?2"
                   " ORDER BY key LIMIT ?3",
    [Q_DOC_LIST_DESC] = "SELECT key, json FROM docs WHERE coll = ?1"
                        " AND substr(key, 1, length(?2)) = ?2 ORDER BY key DESC LIMIT ?3",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
};

/* Version 1: one row per instance. */
static const char hs__schema_v1[] = "CREATE TABLE streams ("
                                    "  sid INTEGER PRIMARY KEY,"
                                    "  id TEXT NOT NULL UNIQUE,"
                                    "  kind INTEGER NOT NULL,"
                                    "  binding TEXT,"
                                    "  calculated BLOB,"
                                    "  created_us INTEGER NOT NULL,"
                                    "  updated_us INTEGER NOT NULL);"
                                    "CREATE TABLE instances ("
                                    "  sid INTEGER NOT NULL,"
                                    "  t INTEGER NOT NULL,"
                                    "  v BLOB NOT NULL,"
                                    "  PRIMARY KEY (sid, t)) WITHOUT ROWID;"
                                    "CREATE TABLE docs ("
                                    "  coll TEXT NOT NULL,"
                                    "  key TEXT NOT NULL,"
                                    "  json TEXT NOT NULL,"
                                    "  updated_us INTEGER NOT NULL,"
                                    "  PRIMARY KEY (coll, key)) WITHOUT ROWID;";

/* Version 2: compressed blocks. */
static const char hs__schema_v2[] = "CREATE TABLE blocks ("
                                    "  sid INTEGER NOT NULL,"
                                    "  t0 INTEGER NOT NULL,"
                                    "  t1 INTEGER NOT NULL,"
                                    "  n INTEGER NOT NULL,"
                                    "  data BLOB NOT NULL,"
                                    "  UNIQUE (sid, t0));";

#define HS__SCHEMA_VERSION 2

typedef struct hs_store_sqlite {
    hs_store base;
    sqlite3 *db;
    sqlite3_stmt *q[Q__COUNT]; /* owned; prepared lazily */
    hs_map sids;               /* writer only: stream id -> sid (as intptr_t) */
    hs_buf scratch;            /* encoding of calculated intervals */
} hs_store_sqlite;

/*
 * Maps the connection's last error: conditions that may pass (disk full,
 * I/O errors, locks held too long, out of memory) become HS_ERR_IO, which
 * tells the writer to retry later; everything else is HS_ERR_STORE.
 */
static int hs__sq_err(hs_store_sqlite *st, const char *what)
{
    int code = sqlite3_errcode(st->db) & 0xff;
    bool transient = code == SQLITE_FULL || code == SQLITE_IOERR || code == SQLITE_BUSY ||
                     code == SQLITE_LOCKED || code == SQLITE_NOMEM || code == SQLITE_CANTOPEN ||
                     code == SQLITE_PROTOCOL;
    return hs_err_set(transient ? HS_ERR_IO : HS_ERR_STORE, "sqlite: %s: %s", what,
                      sqlite3_errmsg(st->db));
}

/* Returns the prepared (and reset) statement k. */
static int hs__sq_stmt(hs_store_sqlite *st, int k, sqlite3_stmt **out)
{
    if (st->q[k] == NULL) {
        if (sqlite3_prepare_v3(st->db, hs__sql[k], -1, SQLITE_PREPARE_PERSISTENT, &st->q[k],
                               NULL) != SQLITE_OK) {
            /* A reader of a store whose writer has not created the schema yet. */
            if (strstr(sqlite3_errmsg(st->db), "no such table") != NULL)
                return hs_err_set(HS_ERR_NOTFOUND, "store has no schema yet");
            return hs__sq_err(st, "prepare");
        }
    } else {
        sqlite3_reset(st->q[k]);
        sqlite3_clear_bindings(st->q[k]);
    }
    *out = st->q[k];
    return HS_OK;
}

static int hs__sq_exec(hs_store_sqlite *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = hs_err_set(HS_ERR_STORE, "sqlite: %s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return rc;
    }
    return HS_OK;
}

static int hs__sq_user_version(hs_store_sqlite *st, int *v)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
        return hs__sq_err(st, "user_version");
    int rc = sqlite3_step(q) == SQLITE_ROW ? HS_OK : hs__sq_err(st, "user_version");
    if (rc == HS_OK)
        *v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return rc;
}

/* Inserts the block e holds for stream sid. */
static int hs__sq_put_enc(hs_store_sqlite *st, sqlite3_stmt *put, sqlite3_int64 sid,
                          hs_block_enc *e)
{
    const uint8_t *data;
    size_t len;
    int rc = hs_block_enc_bytes(e, &data, &len);
    if (rc != HS_OK)
        return rc;
    sqlite3_reset(put);
    sqlite3_bind_int64(put, 1, sid);
    sqlite3_bind_int64(put, 2, e->t_first);
    sqlite3_bind_int64(put, 3, e->t_last);
    sqlite3_bind_int64(put, 4, (sqlite3_int64)e->n);
    sqlite3_bind_blob(put, 5, data, (int)len, SQLITE_STATIC);
    if (sqlite3_step(put) != SQLITE_DONE)
        return hs__sq_err(st, "migrate: insert block");
    hs_block_enc_reset(e);
    return HS_OK;
}

/* Version 1 to 2: every stream's rows, in time order, into blocks. */
static int hs__sq_to_blocks(hs_store_sqlite *st)
{
    int rc = hs__sq_exec(st, hs__schema_v2);
    if (rc != HS_OK)
        return rc;
    sqlite3_stmt *rd = NULL, *put = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT sid, t, v FROM instances ORDER BY sid, t", -1, &rd,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, hs__sql[Q_BLK_PUT], -1, &put, NULL) != SQLITE_OK) {
        rc = hs__sq_err(st, "migrate");
        goto out;
    }
    hs_block_enc e;
    hs_block_enc_init(&e);
    sqlite3_int64 cur = 0;
    int step;
    while (rc == HS_OK && (step = sqlite3_step(rd)) == SQLITE_ROW) {
        sqlite3_int64 sid = sqlite3_column_int64(rd, 0);
        int64_t t = sqlite3_column_int64(rd, 1);
        const uint8_t *v = sqlite3_column_blob(rd, 2);
        size_t vlen = (size_t)sqlite3_column_bytes(rd, 2);
        if (e.n > 0 && (sid != cur || !hs_block_enc_fits(&e, t, vlen)))
            rc = hs__sq_put_enc(st, put, cur, &e);
        cur = sid;
        if (rc == HS_OK)
            rc = hs_block_enc_append(&e, t, v, vlen);
        if (rc != HS_OK)
            rc = hs_err_set(rc, "migrate: stream %lld at %lld: %s", (long long)sid, (long long)t,
                            hs_err_detail());
    }
    if (rc == HS_OK && step != SQLITE_DONE)
        rc = hs__sq_err(st, "migrate: read instances");
    if (rc == HS_OK && e.n > 0)
        rc = hs__sq_put_enc(st, put, cur, &e);
    hs_block_enc_free(&e);
out:
    sqlite3_finalize(rd);
    sqlite3_finalize(put);
    return rc == HS_OK ? hs__sq_exec(st, "DROP TABLE instances") : rc;
}

/* Brings the schema from version v to v + 1. */
static int hs__sq_migration(hs_store_sqlite *st, int v)
{
    return v == 0 ? hs__sq_exec(st, hs__schema_v1) : hs__sq_to_blocks(st);
}

static int hs__sq_migrate(hs_store_sqlite *st)
{
    int v = 0;
    int rc = hs__sq_exec(st, "BEGIN IMMEDIATE");
    if (rc != HS_OK)
        return rc;
    rc = hs__sq_user_version(st, &v);
    /* A store of rows made into blocks keeps the rows' pages as free pages:
     * give them back to the file system afterwards. */
    bool shrink = v == 1;
    if (rc == HS_OK && v > HS__SCHEMA_VERSION)
        rc = hs_err_set(HS_ERR_STORE,
                        "store schema version %d is newer than this program's %d; upgrade it", v,
                        HS__SCHEMA_VERSION);
    for (; rc == HS_OK && v < HS__SCHEMA_VERSION; v++) {
        rc = hs__sq_migration(st, v);
        if (rc == HS_OK) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
            rc = hs__sq_exec(st, sql);
        }
    }
    if (rc == HS_OK)
        rc = hs__sq_exec(st, "COMMIT");
    else
        hs__sq_exec(st, "ROLLBACK");
    /* VACUUM rewrites the file, a tenth of its size now; a failure (such as a
     * full disk) leaves the upgraded store as it is, only larger. */
    if (rc == HS_OK && shrink && hs__sq_exec(st, "VACUUM") != HS_OK)
        hs_err_clear();
    return rc;
}

static void hs__sq_close(hs_store *s)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    for (int k = 0; k < Q__COUNT; k++)
        sqlite3_finalize(st->q[k]);
    sqlite3_close(st->db);
    hs_map_free(&st->sids);
    hs_buf_free(&st->scratch);
    hs_free(st);
}

static int hs__sq_schema_version(hs_store *s, int *version)
{
    return hs__sq_user_version((hs_store_sqlite *)s, version);
}

static int hs__sq_simple(hs_store_sqlite *st, int k, const char *what)
{
    sqlite3_stmt *q = NULL;
    int rc = hs__sq_stmt(st, k, &q);
    if (rc != HS_OK)
        return rc;
    if (sqlite3_step(q) != SQLITE_DONE)
        return hs__sq_err(st, what);
    return HS_OK;
}

static int hs__sq_begin(hs_store *s)
{
    return hs__sq_simple((hs_store_sqlite *)s, Q_BEGIN, "begin");
}

static int hs__sq_commit(hs_store *s)
{
    return hs__sq_simple((hs_store_sqlite *)s, Q_COMMIT, "commit");
}

static int hs__sq_rollback(hs_store *s)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    /* Cached sids of streams created in the rolled-back transaction are void. */
    hs_map_free(&st->sids);
    /* After some errors (disk full, I/O error) SQLite has already rolled the
     * transaction back: keep that error's detail rather than report "no
     * transaction is active". */
    if (sqlite3_get_autocommit(st->db))
        return HS_OK;
    return hs__sq_simple(st, Q_ROLLBACK, "rollback");
}

/* Looks up the sid of a stream; HS_ERR_NOTFOUND when undefined. */
static int hs__sq_sid(hs_store_sqlite *st, const char *id, sqlite3_int64 *sid)
{
    void *cached = hs_map_get(&st->sids, id);
    if (cached != NULL) {
        *sid = (sqlite3_int64)(intptr_t)cached;
        return HS_OK;
    }
    sqlite3_stmt *q = NULL;
    int rc = hs__sq_stmt(st, Q_SID, &q);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE)
        return hs_err_set(HS_ERR_NOTFOUND, "stream '%s' is not defined", id);
    if (step != SQLITE_ROW)
        return hs__sq_err(st, "stream lookup");
    *sid = sqlite3_column_int64(q, 0);
    /* Reset at once: a statement left on its row keeps the read transaction
     * open, which pins the WAL (it then grows without bound) and, in readers,
     * the snapshot. */
    sqlite3_reset(q);
    /* Only the writer caches: it alone creates and deletes streams. */
    if (st->base.mode == HS_STORE_WRITE)
        (void)hs_map_put(&st->sids, id, (void *)(intptr_t)*sid, NULL);
    return HS_OK;
}

/* Finds or creates the stream. created (may be NULL) tells which. */
static int hs__sq_ensure(hs_store_sqlite *st, const char *id, int kind, const char *binding,
                         sqlite3_int64 *sid, bool *created)
{
    if (created != NULL)
        *created = false;
    int rc = hs__sq_sid(st, id, sid);
    if (rc != HS_ERR_NOTFOUND)
        return rc;
    sqlite3_stmt *q = NULL;
    rc = hs__sq_stmt(st, Q_STREAM_INSERT, &q);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, kind);
    if (binding != NULL)
        sqlite3_bind_text(q, 3, binding, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, hs_time_now_us());
    if (sqlite3_step(q) != SQLITE_DONE)
        return hs__sq_err(st, "define stream");
    *sid = sqlite3_last_insert_rowid(st->db);
    if (created != NULL)
        *created = true;
    (void)hs_map_put(&st->sids, id, (void *)(intptr_t)*sid, NULL);
    return HS_OK;
}

static int hs__sq_stream_define(hs_store *s, const char *id, int kind, const char *binding)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_int64 sid = 0;
    bool created;
    int rc = hs__sq_ensure(st, id, kind, binding, &sid, &created);
    if (rc != HS_OK || created)
        return rc;
    sqlite3_stmt *q = NULL;
    rc = hs__sq_stmt(st, Q_STREAM_BINDING, &q);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_int64(q, 1, sid);
    sqlite3_bind_int(q, 2, kind);
    if (binding != NULL)
        sqlite3_bind_text(q, 3, binding, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, hs_time_now_us());
    if (sqlite3_step(q) != SQLITE_DONE)
        return hs__sq_err(st, "update stream");
    return HS_OK;
}

typedef struct hs__sq_scan_args {
    sqlite3_int64 sid;
    int64_t after, end;
    bool desc;
} hs__sq_scan_args;

static int hs__sq_blk_scan(hs_store *s, const char *id, int64_t after, int64_t end, bool desc,
                           hs__blk_fn fn, void *ud)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_int64 sid = 0;
    int rc = hs__sq_sid(st, id, &sid);
    if (rc == HS_ERR_NOTFOUND) {
        hs_err_clear();
        return HS_OK;
    }
    sqlite3_stmt *q = NULL;
    if (rc == HS_OK)
        rc = hs__sq_stmt(st, desc ? Q_BLK_DESC : Q_BLK_ASC, &q);
    if (rc == HS_ERR_NOTFOUND) {
        /* A store of schema version 1 has streams but no blocks until the
         * writer has upgraded it: its data is not empty, only not readable
         * yet. */
        int v = 0;
        if (hs__sq_user_version(st, &v) == HS_OK && v >= 1)
            return hs_err_set(HS_ERR_IO,
                              "sqlite: the store (schema version %d) waits for the writer to "
                              "upgrade it",
                              v);
        hs_err_clear();
        return HS_OK;
    }
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_int64(q, 1, sid);
    sqlite3_bind_int64(q, 2, after);
    sqlite3_bind_int64(q, 3, end);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hs__blk b = {sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1),
                     sqlite3_column_int64(q, 2), sqlite3_column_blob(q, 3),
                     (size_t)sqlite3_column_bytes(q, 3)};
        rc = fn(ud, &b);
        if (rc != 0)
            break;
    }
    if (rc == HS_OK && step != SQLITE_DONE)
        rc = hs__sq_err(st, "read blocks");
    /* Do not hold the read transaction open (as in hs__sq_sid). */
    sqlite3_reset(q);
    return rc;
}

static int hs__sq_blk_put(hs_store *s, const char *id, const hs__blk *b)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_int64 sid = 0;
    int rc = hs__sq_ensure(st, id, HS_STREAM_RAW, NULL, &sid, NULL);
    sqlite3_stmt *q = NULL;
    if (rc == HS_OK)
        rc = hs__sq_stmt(st, Q_BLK_PUT, &q);
    if (rc != HS_OK)
        return rc;
    if (b->len > INT32_MAX)
        return hs_err_set(HS_ERR_LIMIT, "sqlite: block of %zu bytes", b->len);
    sqlite3_bind_int64(q, 1, sid);
    sqlite3_bind_int64(q, 2, b->t0);
    sqlite3_bind_int64(q, 3, b->t1);
    sqlite3_bind_int64(q, 4, b->n);
    sqlite3_bind_blob(q, 5, b->data, (int)b->len, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        return hs__sq_err(st, "write block");
    return HS_OK;
}

static int hs__sq_blk_del(hs_store *s, const char *id, int64_t t0)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_int64 sid = 0;
    int rc = hs__sq_sid(st, id, &sid);
    if (rc == HS_ERR_NOTFOUND) {
        hs_err_clear();
        return HS_OK;
    }
    sqlite3_stmt *q = NULL;
    if (rc == HS_OK)
        rc = hs__sq_stmt(st, Q_BLK_DEL, &q);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_int64(q, 1, sid);
    sqlite3_bind_int64(q, 2, t0);
    if (sqlite3_step(q) != SQLITE_DONE)
        return hs__sq_err(st, "delete block");
    return HS_OK;
}

static int hs__sq_blk_purge(hs_store *s, const char *id, int64_t *deleted)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_int64 sid = 0;
    int rc = hs__sq_sid(st, id, &sid);
    sqlite3_stmt *q = NULL;
    if (rc == HS_OK)
        rc = hs__sq_stmt(st, Q_BLK_SUM, &q);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_int64(q, 1, sid);
    if (sqlite3_step(q) != SQLITE_ROW)
        return hs__sq_err(st, "count blocks");
    *deleted += sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    rc = hs__sq_stmt(st, Q_PURGE, &q);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_int64(q, 1, sid);
    if (sqlite3_step(q) != SQLITE_DONE)
        return hs__sq_err(st, "purge");
    return HS_OK;
}

static int hs__sq_calc_get(hs_store_sqlite *st, sqlite3_int64 sid, hs_intervals *out)
{
    sqlite3_stmt *q = NULL;
    int rc = hs__sq_stmt(st, Q_CALC_GET, &q);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_int64(q, 1, sid);
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = hs__sq_err(st, "read intervals");
        sqlite3_reset(q);
        return rc;
    }
    rc = hs__store_intervals_decode(sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
                                    out);
    /* As in hs__sq_sid: do not hold the read transaction open. */
    sqlite3_reset(q);
    return rc;
}

static int hs__sq_calc_set(hs_store_sqlite *st, sqlite3_int64 sid, const hs_intervals *iv)
{
    hs_buf_reset(&st->scratch);
    int rc = hs__store_intervals_encode(iv, &st->scratch);
    if (rc != HS_OK)
        return rc;
    sqlite3_stmt *q = NULL;
    rc = hs__sq_stmt(st, Q_CALC_SET, &q);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_int64(q, 1, sid);
    sqlite3_bind_blob(q, 2, st->scratch.data, (int)st->scratch.len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, hs_time_now_us());
    if (sqlite3_step(q) != SQLITE_DONE)
        return hs__sq_err(st, "write intervals");
    return HS_OK;
}

static int hs__sq_intervals_add(hs_store *s, const char *id, const hs_intervals *add)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_int64 sid = 0;
    int rc = hs__sq_sid(st, id, &sid);
    if (rc != HS_OK)
        return rc;
    hs_intervals cur, sum;
    hs_intervals_init(&cur);
    hs_intervals_init(&sum);
    rc = hs__sq_calc_get(st, sid, &cur);
    if (rc == HS_OK)
        rc = hs_intervals_union(&cur, add, &sum);
    if (rc == HS_OK && !hs_intervals_equal(&cur, &sum))
        rc = hs__sq_calc_set(st, sid, &sum);
    hs_intervals_free(&cur);
    hs_intervals_free(&sum);
    return rc;
}

static int hs__sq_intervals_set(hs_store *s, const char *id, const hs_intervals *set)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_int64 sid = 0;
    int rc = hs__sq_sid(st, id, &sid);
    if (rc != HS_OK)
        return rc;
    return hs__sq_calc_set(st, sid, set);
}

static int hs__sq_purge(hs_store *s, const char *id, bool remove_definition)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_int64 sid = 0;
    int rc = hs__sq_sid(st, id, &sid);
    if (rc != HS_OK)
        return rc;
    if (!remove_definition) {
        hs_intervals none;
        hs_intervals_init(&none);
        return hs__sq_calc_set(st, sid, &none);
    }
    sqlite3_stmt *q = NULL;
    rc = hs__sq_stmt(st, Q_STREAM_DELETE, &q);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_int64(q, 1, sid);
    if (sqlite3_step(q) != SQLITE_DONE)
        return hs__sq_err(st, "delete stream");
    hs_map_remove(&st->sids, id);
    return HS_OK;
}

static int hs__sq_doc_put(hs_store *s, const char *coll, const char *key, const char *json)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_stmt *q = NULL;
    int rc = hs__sq_stmt(st, Q_DOC_PUT, &q);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_text(q, 1, coll, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, hs_time_now_us());
    if (sqlite3_step(q) != SQLITE_DONE)
        return hs__sq_err(st, "put document");
    return HS_OK;
}

static int hs__sq_doc_delete(hs_store *s, const char *coll, const char *key)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_stmt *q = NULL;
    int rc = hs__sq_stmt(st, Q_DOC_DELETE, &q);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_text(q, 1, coll, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        return hs__sq_err(st, "delete document");
    if (sqlite3_changes(st->db) == 0)
        return hs_err_set(HS_ERR_NOTFOUND, "no document '%s' in '%s'", key, coll);
    return HS_OK;
}

/* Fills info from a row (id, kind, binding, calculated, updated_us). */
static int hs__sq_row_info(sqlite3_stmt *q, hs_stream_info *info)
{
    memset(info, 0, sizeof *info);
    hs_intervals_init(&info->calculated);
    const char *id = (const char *)sqlite3_column_text(q, 0);
    const char *binding = (const char *)sqlite3_column_text(q, 2);
    info->id = hs_strdup(id ? id : "");
    info->kind = sqlite3_column_int(q, 1);
    info->binding = binding ? hs_strdup(binding) : NULL;
    info->updated_us = sqlite3_column_int64(q, 4);
    if (info->id == NULL || (binding != NULL && info->binding == NULL)) {
        hs_stream_info_free(info);
        return HS_ERR_NOMEM;
    }
    int rc = hs__store_intervals_decode(sqlite3_column_blob(q, 3),
                                        (size_t)sqlite3_column_bytes(q, 3), &info->calculated);
    if (rc != HS_OK)
        hs_stream_info_free(info);
    return rc;
}

static int hs__sq_stream_get(hs_store *s, const char *id, hs_stream_info *out)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_stmt *q = NULL;
    int rc = hs__sq_stmt(st, Q_STREAM_GET, &q);
    if (rc == HS_ERR_NOTFOUND)
        return hs_err_set(HS_ERR_NOTFOUND, "stream '%s' is not defined", id);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE)
        return hs_err_set(HS_ERR_NOTFOUND, "stream '%s' is not defined", id);
    if (step != SQLITE_ROW)
        return hs__sq_err(st, "read stream");
    rc = hs__sq_row_info(q, out);
    sqlite3_reset(q);
    return rc;
}

static int hs__sq_stream_list(hs_store *s, const char *prefix, hs_store_stream_fn fn, void *ud)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_stmt *q = NULL;
    int rc = hs__sq_stmt(st, Q_STREAM_LIST, &q);
    if (rc == HS_ERR_NOTFOUND)
        return HS_OK;
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_text(q, 1, prefix, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hs_stream_info info;
        rc = hs__sq_row_info(q, &info);
        if (rc != HS_OK)
            break;
        rc = fn(ud, &info);
        hs_stream_info_free(&info);
        if (rc != 0)
            break;
    }
    if (rc == HS_OK && step != SQLITE_DONE)
        rc = hs__sq_err(st, "list streams");
    sqlite3_reset(q);
    return rc;
}

static int hs__sq_doc_get(hs_store *s, const char *coll, const char *key, hs_buf *json)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_stmt *q = NULL;
    int rc = hs__sq_stmt(st, Q_DOC_GET, &q);
    if (rc == HS_ERR_NOTFOUND)
        return hs_err_set(HS_ERR_NOTFOUND, "no document '%s' in '%s'", key, coll);
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_text(q, 1, coll, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE)
        return hs_err_set(HS_ERR_NOTFOUND, "no document '%s' in '%s'", key, coll);
    if (step != SQLITE_ROW)
        return hs__sq_err(st, "get document");
    rc = hs_buf_append(json, sqlite3_column_text(q, 0), (size_t)sqlite3_column_bytes(q, 0));
    sqlite3_reset(q);
    return rc;
}

static int hs__sq_doc_list(hs_store *s, const char *coll, const char *prefix, bool reverse,
                           size_t limit, hs_store_doc_fn fn, void *ud)
{
    hs_store_sqlite *st = (hs_store_sqlite *)s;
    sqlite3_stmt *q = NULL;
    int rc = hs__sq_stmt(st, reverse ? Q_DOC_LIST_DESC : Q_DOC_LIST, &q);
    if (rc == HS_ERR_NOTFOUND)
        return HS_OK;
    if (rc != HS_OK)
        return rc;
    sqlite3_bind_text(q, 1, coll, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, limit == 0 ? -1 : (sqlite3_int64)limit);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        rc = fn(ud, (const char *)sqlite3_column_text(q, 0),
                (const char *)sqlite3_column_text(q, 1));
        if (rc != 0)
            break;
    }
    if (rc == HS_OK && step != SQLITE_DONE)
        rc = hs__sq_err(st, "list documents");
    sqlite3_reset(q);
    return rc;
}

static void hs__sq_release_memory(hs_store *s)
{
    sqlite3_db_release_memory(((hs_store_sqlite *)s)->db);
}

static const hs_store_ops hs__sqlite_ops = {
    .name = "sqlite",
    .close = hs__sq_close,
    .schema_version = hs__sq_schema_version,
    .begin = hs__sq_begin,
    .commit = hs__sq_commit,
    .rollback = hs__sq_rollback,
    .stream_define = hs__sq_stream_define,
    .blk_scan = hs__sq_blk_scan,
    .blk_put = hs__sq_blk_put,
    .blk_del = hs__sq_blk_del,
    .blk_purge = hs__sq_blk_purge,
    .intervals_add = hs__sq_intervals_add,
    .intervals_set = hs__sq_intervals_set,
    .purge = hs__sq_purge,
    .doc_put = hs__sq_doc_put,
    .doc_delete = hs__sq_doc_delete,
    .stream_get = hs__sq_stream_get,
    .stream_list = hs__sq_stream_list,
    .doc_get = hs__sq_doc_get,
    .doc_list = hs__sq_doc_list,
    .release_memory = hs__sq_release_memory,
};

static bool hs__sq_busy(hs_store_sqlite *st)
{
    int code = sqlite3_errcode(st->db) & 0xff;
    return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

/* The connection's settings, and the schema for the writer. */
static int hs__sq_setup(hs_store_sqlite *st, int mode)
{
    const char *sync = getenv("HS_SQLITE_SYNC");
    bool full = sync != NULL && strcasecmp(sync, "full") == 0;
    int rc = hs__sq_exec(st, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    /*
     * Page cache: 64 MiB for the writer; 16 MiB for readers (the scheduler,
     * tool runtimes, hsctl), which the system's file cache backs.
     */
    if (rc == HS_OK)
        rc = hs__sq_exec(st, mode == HS_STORE_READ ? "PRAGMA cache_size=-16384"
                                                   : "PRAGMA cache_size=-65536");
    if (mode == HS_STORE_READ)
        return rc == HS_OK ? hs__sq_exec(st, "PRAGMA query_only=1") : rc;
    /* WAL lets readers read while the writer commits; the mode stays with the file. */
    if (rc == HS_OK)
        rc = hs__sq_exec(st, "PRAGMA journal_mode=WAL");
    return rc == HS_OK ? hs__sq_migrate(st) : rc;
}

int hs__store_sqlite_max_pages(hs_store *s, int64_t max_pages)
{
    if (s == NULL || s->ops != &hs__sqlite_ops)
        return hs_err_set(HS_ERR_INVAL, "not a sqlite store");
    char sql[64];
    /* 4294967294 is SQLite's largest page count: no cap. */
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld",
             max_pages > 0 ? (long long)max_pages : 4294967294LL);
    return hs__sq_exec((hs_store_sqlite *)s, sql);
}

int hs__store_sqlite_open(hs_store **out, const char *path, int mode)
{
    if (path[0] == '\0')
        return hs_err_set(HS_ERR_CONFIG, "sqlite store URL has no path (sqlite:///path/hs.db)");
    hs_store_sqlite *st = hs_calloc(1, sizeof *st);
    if (st == NULL)
        return HS_ERR_NOMEM;
    st->base.ops = &hs__sqlite_ops;
    st->base.mode = mode;
    hs_map_init(&st->sids);
    hs_buf_init(&st->scratch, 0);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = HS_OK;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        rc = hs_err_set(HS_ERR_STORE, "sqlite: cannot open '%s': %s", path,
                        st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(st->db, HS__SQ_BUSY_MS);
    /* While another process creates the file or switches it to WAL, SQLite can answer
     * "database is locked" without waiting in the busy handler: the setup is retried until
     * the same deadline. */
    int64_t deadline = hs_time_mono_us() + (int64_t)HS__SQ_BUSY_MS * 1000;
    for (;;) {
        rc = hs__sq_setup(st, mode);
        if (rc == HS_OK || !hs__sq_busy(st) || hs_time_mono_us() >= deadline)
            break;
        usleep(20000);
    }
    if (rc != HS_OK)
        goto fail;
    *out = &st->base;
    return HS_OK;
fail:
    hs__sq_close(&st->base);
    return rc;
}
