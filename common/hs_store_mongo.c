/*
 * The MongoDB store backend, through libmongoc (1.23).
 *
 * Collections of the database named in the URL path (default "hyperstream"):
 *   streams    {_id: <canonical stream id>, kind: int32, binding: string|null,
 *               calculated: [{s: int64, e: int64}, ...], created_us, updated_us}
 *   blocks     {s: <stream id>, t0: int64, t1: int64 (the first and last
 *               timestamp in microseconds), n: int64 (instances), d: BinData
 *               (the encoded block, common/hs_block.h), d0, d1: t0 and t1 as
 *               dates in milliseconds (for people browsing the data)};
 *               unique index {s: 1, t0: 1}
 *   docs       {_id: <coll> "\x1f" <key>, c: <coll>, k: <key>, json: <text>,
 *               updated_us}; index {c: 1, k: 1}
 *   meta       {_id: "schema", version: <int>}
 * Schema version 1 kept one document per instance in a collection
 * `instances` ({s, t: int64, v: BinData msgpack, d: date}); a writer opening
 * such a store moves them into blocks (hs__mg_migrate_blocks).
 *
 * Transactions: a standalone MongoDB server has no multi-document
 * transactions. hs_store_begin and hs_store_commit are no-ops here, and
 * hs_store_rollback returns HS_OK but cannot undo anything: every write is
 * final when its call returns. The writer therefore orders its writes so that
 * a crash (or a rollback) at any point leaves a state that re-running the same
 * job repairs: instances first, calculated intervals last. A purge empties the
 * calculated intervals before it deletes any block, and deletes the
 * definition last. The block layer (common/hs_store_block.c) orders the block
 * writes of one rewrite so that a crash leaves every instance readable: new
 * blocks first, then replacements of blocks with the same t0, then deletions;
 * two blocks left overlapping hold the same values where they overlap, and
 * readers return each timestamp once (docs/ARCHITECTURE.md, "Compressed
 * blocks").
 *
 * Only a writer (HS_STORE_WRITE) creates indexes and the schema document; it
 * ensures the indexes at every open, since a dropped collection loses its
 * unique index and would then accept duplicates silently. A reader creates
 * nothing and sees a missing database as empty (schema version 0).
 *
 * Every libmongoc failure becomes HS_ERR_STORE with the detail
 * "mongodb: <what>: <libmongoc's message>". Unless the URL says otherwise,
 * server selection and connecting time out after a few seconds, so that a
 * dead server is reported instead of waited for. libmongoc's own log output
 * is switched off for the process (library code does not print).
 */
#include "hs_alloc.h"
#include "hs_block.h"
#include "hs_error.h"
#include "hs_map.h"
#include "hs_store_impl.h"
#include "hs_time.h"
#include "hs_utf8.h"

#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HS__MG_DEFAULT_DB     "hyperstream"
#define HS__MG_SCHEMA_VERSION 2
/* Default server-selection and connect timeouts when the URL sets none. */
#define HS__MG_TIMEOUT_MS 5000
/* Largest batch asked of the server in one reply (it caps at 16 MB anyway). */
#define HS__MG_MAX_BATCH 65536
/* Blocks in the first reply of a scan and in each further one (at most
 * 32 KiB each): most scans stop after one or two blocks (the writer's look at
 * a stream's last block, a read of a few instances at one end of a range). */
#define HS__MG_SCAN_FIRST_BATCH 2
#define HS__MG_SCAN_BATCH       32
/* Version-1 instance documents per reply while upgrading. */
#define HS__MG_MIGRATE_BATCH 4096
/* The server's error code for a collection that does not exist. */
#define HS__MG_NS_NOT_FOUND 26

typedef struct hs_store_mongo {
    hs_store base;
    mongoc_client_t *client;        /* owned; one per handle (not thread-safe) */
    mongoc_collection_t *streams;   /* owned */
    mongoc_collection_t *blocks;    /* owned */
    mongoc_collection_t *docs;      /* owned */
    mongoc_collection_t *meta;      /* owned */
    mongoc_collection_t *instances; /* owned; schema version 1's, read by the upgrade only */
    hs_map known;                   /* writer only: ids of streams known to exist */
    bool old_schema;                /* reader of a store its writer has not upgraded yet */
} hs_store_mongo;

static pthread_once_t hs__mg_once = PTHREAD_ONCE_INIT;

static void hs__mg_global_init(void)
{
    mongoc_init();
    mongoc_log_set_handler(NULL, NULL);
}

static int hs__mg_err(const char *what, const bson_error_t *e)
{
    return hs_err_set(HS_ERR_STORE, "mongodb: %s: %s", what, e->message);
}

static int hs__mg_cursor_err(const char *what, mongoc_cursor_t *cur)
{
    bson_error_t e;
    if (mongoc_cursor_error(cur, &e))
        return hs__mg_err(what, &e);
    return HS_OK;
}

static int hs__mg_malformed(const char *what, const char *field)
{
    return hs_err_set(HS_ERR_STORE, "mongodb: %s: stored document has a malformed '%s'", what,
                      field);
}

/* --- small BSON helpers --------------------------------------------------- */

/*
 * BSON strings are UTF-8: text that is not can neither be stored nor match
 * anything stored. Writes of such text fail with HS_ERR_INVAL; lookups find
 * nothing.
 */
static bool hs__mg_utf8(const char *s)
{
    return s == NULL || hs_utf8_valid(s, strlen(s));
}

static int hs__mg_bad_utf8(const char *what)
{
    return hs_err_set(HS_ERR_INVAL, "mongodb: %s: text is not valid UTF-8", what);
}

static int hs__mg_no_stream(const char *id)
{
    return hs_err_set(HS_ERR_NOTFOUND, "stream '%s' is not defined", id);
}

/* An integer field of doc (any BSON number type) into *out; false when absent or not numeric. */
static bool hs__mg_get_int(const bson_t *doc, const char *key, int64_t *out)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key))
        return false;
    if (!BSON_ITER_HOLDS_INT32(&it) && !BSON_ITER_HOLDS_INT64(&it) && !BSON_ITER_HOLDS_DOUBLE(&it))
        return false;
    *out = bson_iter_as_int64(&it);
    return true;
}

/* Appends calculated intervals as [{s, e}, ...] under key. */
static bool hs__mg_append_intervals(bson_t *b, const char *key, const hs_intervals *iv)
{
    bson_t arr, item;
    bool ok = BSON_APPEND_ARRAY_BEGIN(b, key, &arr);
    for (size_t i = 0; ok && i < iv->n; i++) {
        char idx[16];
        const char *k;
        size_t klen = bson_uint32_to_string((uint32_t)i, &k, idx, sizeof idx);
        ok = bson_append_document_begin(&arr, k, (int)klen, &item) &&
             BSON_APPEND_INT64(&item, "s", iv->v[i].start) &&
             BSON_APPEND_INT64(&item, "e", iv->v[i].end) && bson_append_document_end(&arr, &item);
    }
    return ok && bson_append_array_end(b, &arr);
}

/* Reads [{s, e}, ...] at it into out (cleared first). */
static int hs__mg_read_intervals(bson_iter_t *it, hs_intervals *out, const char *what)
{
    hs_intervals_clear(out);
    if (BSON_ITER_HOLDS_NULL(it))
        return HS_OK;
    bson_iter_t arr;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &arr))
        return hs__mg_malformed(what, "calculated");
    while (bson_iter_next(&arr)) {
        bson_iter_t f;
        hs_interval iv = {0, 0};
        bool have_s = false, have_e = false;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &f))
            return hs__mg_malformed(what, "calculated");
        while (bson_iter_next(&f)) {
            if (!BSON_ITER_HOLDS_INT64(&f) && !BSON_ITER_HOLDS_INT32(&f))
                continue;
            if (strcmp(bson_iter_key(&f), "s") == 0) {
                iv.start = bson_iter_as_int64(&f);
                have_s = true;
            } else if (strcmp(bson_iter_key(&f), "e") == 0) {
                iv.end = bson_iter_as_int64(&f);
                have_e = true;
            }
        }
        if (!have_s || !have_e || iv.start >= iv.end)
            return hs__mg_malformed(what, "calculated");
        int rc = hs_intervals_add(out, iv);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

/*
 * Writes into upper (cap bytes) the smallest string greater than every string
 * that starts with prefix (valid UTF-8): prefix with its last character
 * incremented, after dropping trailing U+10FFFF characters. Incrementing a
 * code point rather than a byte keeps the bound valid UTF-8, which BSON
 * requires; the order is the same, since UTF-8 sorts bytewise in code point
 * order. Returns false when there is no such bound (an empty or all-U+10FFFF
 * prefix).
 */
static bool hs__mg_prefix_upper(const char *prefix, char *upper, size_t cap)
{
    size_t len = strlen(prefix);
    if (len + 4 > cap)
        return false;
    memcpy(upper, prefix, len + 1);
    while (len > 0) {
        size_t start = len - 1;
        while (start > 0 && ((uint8_t)upper[start] & 0xC0) == 0x80)
            start--;
        bson_unichar_t c = bson_utf8_get_char(upper + start);
        if (c >= 0x10FFFF) {
            len = start;
            continue;
        }
        c++;
        if (c == 0xD800)
            c = 0xE000; /* surrogates never occur in UTF-8 text */
        char enc[6];
        uint32_t n;
        bson_utf8_from_unichar(c, enc, &n);
        memcpy(upper + start, enc, n);
        upper[start + n] = '\0';
        return true;
    }
    return false;
}

/* Appends {$gte: prefix, $lt: <upper bound>} under key; nothing for "". */
static bool hs__mg_append_prefix(bson_t *b, const char *key, const char *prefix, char *scratch,
                                 size_t cap)
{
    if (prefix[0] == '\0')
        return true;
    bson_t range;
    bool ok =
        BSON_APPEND_DOCUMENT_BEGIN(b, key, &range) && BSON_APPEND_UTF8(&range, "$gte", prefix);
    if (ok && hs__mg_prefix_upper(prefix, scratch, cap))
        ok = BSON_APPEND_UTF8(&range, "$lt", scratch);
    return ok && bson_append_document_end(b, &range);
}

/*
 * Copies the first document matching filter (in the order of sort, and with
 * projection, when not NULL) into *out, which the caller destroys.
 * HS_ERR_NOTFOUND (without a detail) when there is none.
 */
static int hs__mg_find_one(mongoc_collection_t *coll, const bson_t *filter, const bson_t *sort,
                           const bson_t *projection, const char *what, bson_t **out)
{
    *out = NULL;
    bson_t opts = BSON_INITIALIZER;
    bool ok = BSON_APPEND_INT64(&opts, "limit", 1) && BSON_APPEND_BOOL(&opts, "singleBatch", true);
    if (ok && sort != NULL)
        ok = BSON_APPEND_DOCUMENT(&opts, "sort", sort);
    if (ok && projection != NULL)
        ok = BSON_APPEND_DOCUMENT(&opts, "projection", projection);
    if (!ok) {
        bson_destroy(&opts);
        return hs_err_set(HS_ERR_LIMIT, "mongodb: %s: query too large", what);
    }
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, &opts, NULL);
    bson_destroy(&opts);
    const bson_t *doc;
    int rc = HS_ERR_NOTFOUND;
    if (mongoc_cursor_next(cur, &doc)) {
        *out = bson_copy(doc);
        rc = HS_OK;
    } else {
        int err = hs__mg_cursor_err(what, cur);
        if (err != HS_OK)
            rc = err;
    }
    mongoc_cursor_destroy(cur);
    return rc;
}

/* An integer from a command reply (matchedCount, deletedCount, ...), 0 when absent. */
static int64_t hs__mg_reply_count(const bson_t *reply, const char *key)
{
    int64_t n = 0;
    return hs__mg_get_int(reply, key, &n) ? n : 0;
}

/* --- schema --------------------------------------------------------------- */

static int hs__mg_schema_version(hs_store *s, int *version)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    *version = 0;
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", "schema");
    bson_t *doc;
    int rc = hs__mg_find_one(st->meta, &filter, NULL, NULL, "read schema version", &doc);
    bson_destroy(&filter);
    if (rc == HS_ERR_NOTFOUND)
        return HS_OK;
    if (rc != HS_OK)
        return rc;
    int64_t v;
    if (!hs__mg_get_int(doc, "version", &v) || v < 0 || v > INT32_MAX)
        rc = hs__mg_malformed("read schema version", "version");
    else
        *version = (int)v;
    bson_destroy(doc);
    return rc;
}

/* Runs createIndexes for one index on coll. */
static int hs__mg_create_index(mongoc_collection_t *coll, const char *name, const char *f1,
                               const char *f2, bool unique)
{
    bson_t cmd = BSON_INITIALIZER, indexes, index, key;
    bool ok = BSON_APPEND_UTF8(&cmd, "createIndexes", mongoc_collection_get_name(coll)) &&
              BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &indexes) &&
              BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index) &&
              BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &key) && BSON_APPEND_INT32(&key, f1, 1) &&
              BSON_APPEND_INT32(&key, f2, 1) && bson_append_document_end(&index, &key) &&
              BSON_APPEND_UTF8(&index, "name", name) &&
              (!unique || BSON_APPEND_BOOL(&index, "unique", true)) &&
              bson_append_document_end(&indexes, &index) && bson_append_array_end(&cmd, &indexes);
    int rc = HS_OK;
    bson_error_t err;
    if (!ok)
        rc = hs_err_set(HS_ERR_LIMIT, "mongodb: create index %s: command too large", name);
    else if (!mongoc_collection_write_command_with_opts(coll, &cmd, NULL, NULL, &err))
        rc = hs_err_set(HS_ERR_STORE, "mongodb: create index %s on %s: %s", name,
                        mongoc_collection_get_name(coll), err.message);
    bson_destroy(&cmd);
    return rc;
}

/*
 * Data migrations: entry i brings the data from schema version i to i + 1
 * (NULL: nothing to move). Indexes are not migrations: the writer ensures
 * them at every open.
 */
typedef int (*hs__mg_migration_fn)(hs_store_mongo *st);
static int hs__mg_migrate_blocks(hs_store_mongo *st);
static const hs__mg_migration_fn hs__mg_migrations[HS__MG_SCHEMA_VERSION] = {
    NULL,                  /* 0 -> 1: the initial schema, created by the indexes alone */
    hs__mg_migrate_blocks, /* 1 -> 2: instances into compressed blocks */
};

static int hs__mg_migrate(hs_store_mongo *st)
{
    int v;
    int rc = hs__mg_schema_version(&st->base, &v);
    if (rc != HS_OK)
        return rc;
    if (v > HS__MG_SCHEMA_VERSION)
        return hs_err_set(HS_ERR_STORE,
                          "store schema version %d is newer than this program's %d; upgrade it", v,
                          HS__MG_SCHEMA_VERSION);
    rc = hs__mg_create_index(st->blocks, "s_1_t0_1", "s", "t0", true);
    if (rc == HS_OK)
        rc = hs__mg_create_index(st->docs, "c_1_k_1", "c", "k", false);
    for (int from = v; rc == HS_OK && from < HS__MG_SCHEMA_VERSION; from++) {
        if (hs__mg_migrations[from] != NULL)
            rc = hs__mg_migrations[from](st);
    }
    if (rc != HS_OK || v == HS__MG_SCHEMA_VERSION)
        return rc;
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set, opts = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", "schema");
    BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    BSON_APPEND_INT32(&set, "version", HS__MG_SCHEMA_VERSION);
    bson_append_document_end(&update, &set);
    BSON_APPEND_BOOL(&opts, "upsert", true);
    bson_error_t err;
    if (!mongoc_collection_update_one(st->meta, &filter, &update, &opts, NULL, &err))
        rc = hs__mg_err("write schema version", &err);
    bson_destroy(&filter);
    bson_destroy(&update);
    bson_destroy(&opts);
    return rc;
}

/* --- transactions (none on a standalone server; see the top comment) ------- */

static int hs__mg_noop(hs_store *s)
{
    (void)s;
    return HS_OK;
}

/* --- stream definitions --------------------------------------------------- */

static void hs__mg_close(hs_store *s)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (st->meta != NULL)
        mongoc_collection_destroy(st->meta);
    if (st->docs != NULL)
        mongoc_collection_destroy(st->docs);
    if (st->blocks != NULL)
        mongoc_collection_destroy(st->blocks);
    if (st->instances != NULL)
        mongoc_collection_destroy(st->instances);
    if (st->streams != NULL)
        mongoc_collection_destroy(st->streams);
    if (st->client != NULL)
        mongoc_client_destroy(st->client);
    hs_map_free(&st->known);
    hs_free(st);
}

/* Remembers (writer only) that stream id exists; a failure only costs a query later. */
static void hs__mg_remember(hs_store_mongo *st, const char *id)
{
    if (st->base.mode == HS_STORE_WRITE)
        (void)hs_map_put(&st->known, id, st, NULL);
}

/*
 * Upserts the definition of id. With define, kind and binding are set on an
 * existing stream too (hs_store_stream_define); without, an existing stream
 * is left as it is and a new one is raw (blk_put).
 */
static int hs__mg_upsert_stream(hs_store_mongo *st, const char *id, int kind, const char *binding,
                                bool define)
{
    int64_t now = hs_time_now_us();
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    bson_t set, on_insert;
    bool ok = BSON_APPEND_UTF8(&filter, "_id", id) && BSON_APPEND_BOOL(&opts, "upsert", true);
    if (ok && define) {
        ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set) &&
             BSON_APPEND_INT32(&set, "kind", kind) &&
             (binding != NULL ? BSON_APPEND_UTF8(&set, "binding", binding)
                              : BSON_APPEND_NULL(&set, "binding")) &&
             BSON_APPEND_INT64(&set, "updated_us", now) && bson_append_document_end(&update, &set);
    }
    if (ok) {
        ok = BSON_APPEND_DOCUMENT_BEGIN(&update, "$setOnInsert", &on_insert) &&
             (define || (BSON_APPEND_INT32(&on_insert, "kind", kind) &&
                         BSON_APPEND_NULL(&on_insert, "binding") &&
                         BSON_APPEND_INT64(&on_insert, "updated_us", now))) &&
             hs__mg_append_intervals(&on_insert, "calculated", &(hs_intervals){0}) &&
             BSON_APPEND_INT64(&on_insert, "created_us", now) &&
             bson_append_document_end(&update, &on_insert);
    }
    int rc = HS_OK;
    bson_error_t err;
    if (!ok)
        rc = hs_err_set(HS_ERR_LIMIT, "mongodb: define stream: definition too large");
    else if (!mongoc_collection_update_one(st->streams, &filter, &update, &opts, NULL, &err))
        rc = hs__mg_err("define stream", &err);
    else
        hs__mg_remember(st, id);
    bson_destroy(&filter);
    bson_destroy(&update);
    bson_destroy(&opts);
    return rc;
}

static int hs__mg_stream_define(hs_store *s, const char *id, int kind, const char *binding)
{
    if (!hs__mg_utf8(id) || !hs__mg_utf8(binding))
        return hs__mg_bad_utf8("define stream");
    return hs__mg_upsert_stream((hs_store_mongo *)s, id, kind, binding, true);
}

/* Fills info from a streams document. */
static int hs__mg_doc_info(const bson_t *doc, hs_stream_info *info, const char *what)
{
    memset(info, 0, sizeof *info);
    hs_intervals_init(&info->calculated);
    bson_iter_t it;
    int64_t kind = 0;
    int rc = HS_OK;
    if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it))
        return hs__mg_malformed(what, "_id");
    info->id = hs_strdup(bson_iter_utf8(&it, NULL));
    if (info->id == NULL)
        return HS_ERR_NOMEM;
    if (!hs__mg_get_int(doc, "kind", &kind) || kind < HS_STREAM_RAW || kind > HS_STREAM_ASSET)
        rc = hs__mg_malformed(what, "kind");
    info->kind = (int)kind;
    if (rc == HS_OK && bson_iter_init_find(&it, doc, "binding") && !BSON_ITER_HOLDS_NULL(&it)) {
        if (!BSON_ITER_HOLDS_UTF8(&it))
            rc = hs__mg_malformed(what, "binding");
        else if ((info->binding = hs_strdup(bson_iter_utf8(&it, NULL))) == NULL)
            rc = HS_ERR_NOMEM;
    }
    if (rc == HS_OK && bson_iter_init_find(&it, doc, "calculated"))
        rc = hs__mg_read_intervals(&it, &info->calculated, what);
    if (rc == HS_OK)
        (void)hs__mg_get_int(doc, "updated_us", &info->updated_us);
    if (rc != HS_OK)
        hs_stream_info_free(info);
    return rc;
}

static int hs__mg_stream_get(hs_store *s, const char *id, hs_stream_info *out)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!hs__mg_utf8(id))
        return hs__mg_no_stream(id);
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", id);
    bson_t *doc;
    int rc = hs__mg_find_one(st->streams, &filter, NULL, NULL, "read stream", &doc);
    bson_destroy(&filter);
    if (rc == HS_ERR_NOTFOUND)
        return hs__mg_no_stream(id);
    if (rc != HS_OK)
        return rc;
    rc = hs__mg_doc_info(doc, out, "read stream");
    bson_destroy(doc);
    return rc;
}

static int hs__mg_stream_list(hs_store *s, const char *prefix, hs_store_stream_fn fn, void *ud)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!hs__mg_utf8(prefix))
        return HS_OK;
    size_t cap = strlen(prefix) + 8;
    char *upper = hs_malloc(cap);
    if (upper == NULL)
        return HS_ERR_NOMEM;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
    bool ok = hs__mg_append_prefix(&filter, "_id", prefix, upper, cap) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort) &&
              BSON_APPEND_INT32(&sort, "_id", 1) && bson_append_document_end(&opts, &sort);
    hs_free(upper);
    if (!ok) {
        bson_destroy(&filter);
        bson_destroy(&opts);
        return hs_err_set(HS_ERR_LIMIT, "mongodb: list streams: prefix too long");
    }
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(st->streams, &filter, &opts, NULL);
    bson_destroy(&filter);
    bson_destroy(&opts);
    const bson_t *doc;
    int rc = HS_OK;
    while (rc == HS_OK && mongoc_cursor_next(cur, &doc)) {
        hs_stream_info info;
        rc = hs__mg_doc_info(doc, &info, "list streams");
        if (rc != HS_OK)
            break;
        rc = fn(ud, &info);
        hs_stream_info_free(&info);
    }
    if (rc == HS_OK)
        rc = hs__mg_cursor_err("list streams", cur);
    mongoc_cursor_destroy(cur);
    return rc;
}

/* --- calculated intervals ------------------------------------------------- */

/* Sets the calculated intervals of id; HS_ERR_NOTFOUND when the stream does not exist. */
static int hs__mg_calc_set(hs_store_mongo *st, const char *id, const hs_intervals *iv)
{
    if (!hs__mg_utf8(id))
        return hs__mg_no_stream(id);
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set, reply;
    bool ok = BSON_APPEND_UTF8(&filter, "_id", id) &&
              BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set) &&
              hs__mg_append_intervals(&set, "calculated", iv) &&
              BSON_APPEND_INT64(&set, "updated_us", hs_time_now_us()) &&
              bson_append_document_end(&update, &set);
    int rc = HS_OK;
    bson_error_t err;
    if (!ok) {
        bson_init(&reply);
        rc = hs_err_set(HS_ERR_LIMIT, "mongodb: write intervals: too many intervals (%zu)", iv->n);
    } else if (!mongoc_collection_update_one(st->streams, &filter, &update, NULL, &reply, &err)) {
        rc = hs__mg_err("write intervals", &err);
    } else if (hs__mg_reply_count(&reply, "matchedCount") == 0) {
        rc = hs__mg_no_stream(id);
    }
    bson_destroy(&reply);
    bson_destroy(&filter);
    bson_destroy(&update);
    return rc;
}

static int hs__mg_intervals_add(hs_store *s, const char *id, const hs_intervals *add)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!hs__mg_utf8(id))
        return hs__mg_no_stream(id);
    bson_t filter = BSON_INITIALIZER, projection = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", id);
    BSON_APPEND_INT32(&projection, "calculated", 1);
    bson_t *doc;
    int rc = hs__mg_find_one(st->streams, &filter, NULL, &projection, "read intervals", &doc);
    bson_destroy(&filter);
    bson_destroy(&projection);
    if (rc == HS_ERR_NOTFOUND)
        return hs__mg_no_stream(id);
    if (rc != HS_OK)
        return rc;
    hs_intervals cur, sum;
    hs_intervals_init(&cur);
    hs_intervals_init(&sum);
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "calculated"))
        rc = hs__mg_read_intervals(&it, &cur, "read intervals");
    bson_destroy(doc);
    if (rc == HS_OK)
        rc = hs_intervals_union(&cur, add, &sum);
    /* Single writer: nobody changes the intervals between the read and this write. */
    if (rc == HS_OK && !hs_intervals_equal(&cur, &sum))
        rc = hs__mg_calc_set(st, id, &sum);
    hs_intervals_free(&cur);
    hs_intervals_free(&sum);
    return rc;
}

static int hs__mg_intervals_set(hs_store *s, const char *id, const hs_intervals *set)
{
    return hs__mg_calc_set((hs_store_mongo *)s, id, set);
}

static int hs__mg_purge(hs_store *s, const char *id, bool remove_definition)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!remove_definition) {
        /* The block layer calls this first: a crash from here on leaves "not calculated", never
         * "calculated but gone". */
        hs_intervals none;
        hs_intervals_init(&none);
        return hs__mg_calc_set(st, id, &none);
    }
    if (!hs__mg_utf8(id))
        return hs__mg_no_stream(id);
    bson_t filter = BSON_INITIALIZER, reply;
    BSON_APPEND_UTF8(&filter, "_id", id);
    bson_error_t err;
    int rc = HS_OK;
    if (!mongoc_collection_delete_one(st->streams, &filter, NULL, &reply, &err))
        rc = hs__mg_err("delete stream", &err);
    else if (hs__mg_reply_count(&reply, "deletedCount") == 0)
        rc = hs__mg_no_stream(id);
    hs_map_remove(&st->known, id);
    bson_destroy(&reply);
    bson_destroy(&filter);
    return rc;
}

/* --- blocks --------------------------------------------------------------- */

/* Milliseconds of a time in microseconds, rounded down (also before 1970). */
static int64_t hs__mg_ms(int64_t t_us)
{
    return t_us / 1000 - (t_us % 1000 < 0);
}

/*
 * Reads the fields of a blocks document into b (its data points into doc);
 * false when one is missing, has the wrong type or is out of range.
 * *field names the first bad one.
 */
static bool hs__mg_blk_fields(const bson_t *doc, hs__blk *b, const char **field)
{
    bson_iter_t it;
    bool have_t0 = false, have_t1 = false, have_n = false, have_d = false;
    *field = "t0";
    if (!bson_iter_init(&it, doc))
        return false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool is_int = BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_INT32(&it);
        if (strcmp(k, "t0") == 0) {
            if (!is_int)
                return false;
            b->t0 = bson_iter_as_int64(&it);
            have_t0 = true;
        } else if (strcmp(k, "t1") == 0) {
            *field = "t1";
            if (!is_int)
                return false;
            b->t1 = bson_iter_as_int64(&it);
            have_t1 = true;
        } else if (strcmp(k, "n") == 0) {
            *field = "n";
            if (!is_int)
                return false;
            b->n = bson_iter_as_int64(&it);
            have_n = true;
        } else if (strcmp(k, "d") == 0) {
            *field = "d";
            if (!BSON_ITER_HOLDS_BINARY(&it))
                return false;
            bson_subtype_t sub;
            uint32_t len = 0;
            const uint8_t *data = NULL;
            bson_iter_binary(&it, &sub, &len, &data);
            if (data == NULL || len == 0)
                return false;
            b->data = data;
            b->len = len;
            have_d = true;
        }
    }
    if (!have_t0)
        *field = "t0";
    else if (!have_t1 || b->t1 < b->t0)
        *field = "t1";
    else if (!have_n || b->n < 1 || b->n > HS_BLOCK_DECODE_MAX_N)
        *field = "n";
    else if (!have_d)
        *field = "d";
    else
        return true;
    return false;
}

/*
 * The t0 of the block of id with the largest t0 <= after into *t0;
 * HS_ERR_NOTFOUND (without a detail) when there is none.
 */
static int hs__mg_blk_start(hs_store_mongo *st, const char *id, int64_t after, int64_t *t0)
{
    bson_t filter = BSON_INITIALIZER, sort = BSON_INITIALIZER, proj = BSON_INITIALIZER, range;
    bool ok = BSON_APPEND_UTF8(&filter, "s", id) &&
              BSON_APPEND_DOCUMENT_BEGIN(&filter, "t0", &range) &&
              BSON_APPEND_INT64(&range, "$lte", after) &&
              bson_append_document_end(&filter, &range) && BSON_APPEND_INT32(&sort, "t0", -1) &&
              BSON_APPEND_INT32(&proj, "_id", 0) && BSON_APPEND_INT32(&proj, "t0", 1);
    bson_t *doc = NULL;
    int rc = ok ? hs__mg_find_one(st->blocks, &filter, &sort, &proj, "read blocks", &doc)
                : hs_err_set(HS_ERR_LIMIT, "mongodb: read blocks: stream id too long");
    bson_destroy(&filter);
    bson_destroy(&sort);
    bson_destroy(&proj);
    if (rc != HS_OK)
        return rc;
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "t0") ||
        (!BSON_ITER_HOLDS_INT64(&it) && !BSON_ITER_HOLDS_INT32(&it)))
        rc = hs__mg_malformed("read blocks", "t0");
    else
        *t0 = bson_iter_as_int64(&it);
    bson_destroy(doc);
    return rc;
}

static int hs__mg_blk_scan(hs_store *s, const char *id, int64_t after, int64_t end, bool desc,
                           hs__blk_fn fn, void *ud)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!hs__mg_utf8(id))
        return HS_OK;
    if (st->old_schema) {
        /* Its instances are not empty, only not in blocks yet. */
        int v = 0;
        int rc = hs__mg_schema_version(s, &v);
        if (rc != HS_OK)
            return rc;
        if (v < HS__MG_SCHEMA_VERSION)
            return hs_err_set(HS_ERR_IO,
                              "mongodb: the store (schema version %d) waits for the writer to "
                              "upgrade it",
                              v);
        st->old_schema = false;
    }
    /* No block starts before HS_TIME_MIN (its decoder refuses one): a scan of all time costs
     * one query, not two. */
    int64_t start = 0;
    int rc = after < HS_TIME_MIN ? HS_ERR_NOTFOUND : hs__mg_blk_start(st, id, after, &start);
    bool from_start = rc == HS_OK;
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, t0, t1, sort, proj;
    bool ok =
        BSON_APPEND_UTF8(&filter, "s", id) && BSON_APPEND_DOCUMENT_BEGIN(&filter, "t0", &t0) &&
        (!from_start || BSON_APPEND_INT64(&t0, "$gte", start)) &&
        BSON_APPEND_INT64(&t0, "$lte", end) && bson_append_document_end(&filter, &t0) &&
        BSON_APPEND_DOCUMENT_BEGIN(&filter, "t1", &t1) && BSON_APPEND_INT64(&t1, "$gt", after) &&
        bson_append_document_end(&filter, &t1) &&
        BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort) &&
        BSON_APPEND_INT32(&sort, "t0", desc ? -1 : 1) && bson_append_document_end(&opts, &sort) &&
        BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj) &&
        BSON_APPEND_INT32(&proj, "_id", 0) && BSON_APPEND_INT32(&proj, "t0", 1) &&
        BSON_APPEND_INT32(&proj, "t1", 1) && BSON_APPEND_INT32(&proj, "n", 1) &&
        BSON_APPEND_INT32(&proj, "d", 1) && bson_append_document_end(&opts, &proj) &&
        BSON_APPEND_INT64(&opts, "batchSize", HS__MG_SCAN_FIRST_BATCH);
    if (!ok) {
        bson_destroy(&filter);
        bson_destroy(&opts);
        return hs_err_set(HS_ERR_LIMIT, "mongodb: read blocks: stream id too long");
    }
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(st->blocks, &filter, &opts, NULL);
    bson_destroy(&filter);
    bson_destroy(&opts);
    const bson_t *doc;
    rc = HS_OK;
    while (rc == HS_OK && mongoc_cursor_next(cur, &doc)) {
        hs__blk b;
        const char *field;
        if (!hs__mg_blk_fields(doc, &b, &field)) {
            rc = hs_err_set(HS_ERR_STORE,
                            "mongodb: read blocks: a block of stream '%s' has a malformed '%s'", id,
                            field);
            break;
        }
        rc = fn(ud, &b);
        /* The caller did not stop at the first blocks: larger batches from here on. */
        mongoc_cursor_set_batch_size(cur, HS__MG_SCAN_BATCH);
    }
    if (rc == HS_OK)
        rc = hs__mg_cursor_err("read blocks", cur);
    mongoc_cursor_destroy(cur);
    return rc;
}

/* Appends {s: id, t0: t0} to filter. */
static bool hs__mg_blk_key(bson_t *filter, const char *id, int64_t t0)
{
    return BSON_APPEND_UTF8(filter, "s", id) && BSON_APPEND_INT64(filter, "t0", t0);
}

/* Inserts block b of id or replaces the one with the same t0. */
static int hs__mg_blk_upsert(hs_store_mongo *st, const char *id, const hs__blk *b)
{
    if (b->len > INT32_MAX / 2 || b->n < 1 || b->t1 < b->t0)
        return hs_err_set(HS_ERR_INVAL,
                          "mongodb: write block: bad block (%lld instances, %zu bytes)",
                          (long long)b->n, b->len);
    bson_t filter = BSON_INITIALIZER, doc = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    bool ok = hs__mg_blk_key(&filter, id, b->t0) && hs__mg_blk_key(&doc, id, b->t0) &&
              BSON_APPEND_INT64(&doc, "t1", b->t1) && BSON_APPEND_INT64(&doc, "n", b->n) &&
              BSON_APPEND_BINARY(&doc, "d", BSON_SUBTYPE_BINARY, b->data, (uint32_t)b->len) &&
              BSON_APPEND_DATE_TIME(&doc, "d0", hs__mg_ms(b->t0)) &&
              BSON_APPEND_DATE_TIME(&doc, "d1", hs__mg_ms(b->t1)) &&
              BSON_APPEND_BOOL(&opts, "upsert", true);
    int rc = HS_OK;
    bson_error_t err;
    if (!ok)
        rc = hs_err_set(HS_ERR_LIMIT, "mongodb: write block: block of %zu bytes too large", b->len);
    else if (!mongoc_collection_replace_one(st->blocks, &filter, &doc, &opts, NULL, &err))
        rc = hs__mg_err("write block", &err);
    bson_destroy(&filter);
    bson_destroy(&doc);
    bson_destroy(&opts);
    return rc;
}

static int hs__mg_blk_put(hs_store *s, const char *id, const hs__blk *b)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!hs__mg_utf8(id))
        return hs__mg_bad_utf8("write block");
    /* The definition first (a raw stream when there is none): a block is never without one. */
    int rc = HS_OK;
    if (hs_map_get(&st->known, id) == NULL)
        rc = hs__mg_upsert_stream(st, id, HS_STREAM_RAW, NULL, false);
    return rc == HS_OK ? hs__mg_blk_upsert(st, id, b) : rc;
}

static int hs__mg_blk_del(hs_store *s, const char *id, int64_t t0)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!hs__mg_utf8(id))
        return HS_OK;
    bson_t filter = BSON_INITIALIZER;
    int rc = HS_OK;
    bson_error_t err;
    if (!hs__mg_blk_key(&filter, id, t0))
        rc = hs_err_set(HS_ERR_LIMIT, "mongodb: delete block: stream id too long");
    else if (!mongoc_collection_delete_one(st->blocks, &filter, NULL, NULL, &err))
        rc = hs__mg_err("delete block", &err);
    bson_destroy(&filter);
    return rc;
}

static int hs__mg_blk_purge(hs_store *s, const char *id, int64_t *deleted)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!hs__mg_utf8(id))
        return HS_OK;
    /* Count first, then delete: a crash in between leaves blocks that the next purge deletes.
     * A block whose n is malformed counts nothing, so that a damaged stream can be purged. */
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
    bool ok = BSON_APPEND_UTF8(&filter, "s", id) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj) &&
              BSON_APPEND_INT32(&proj, "_id", 0) && BSON_APPEND_INT32(&proj, "n", 1) &&
              bson_append_document_end(&opts, &proj) &&
              BSON_APPEND_INT64(&opts, "batchSize", HS__MG_MAX_BATCH);
    if (!ok) {
        bson_destroy(&filter);
        bson_destroy(&opts);
        return hs_err_set(HS_ERR_LIMIT, "mongodb: purge blocks: stream id too long");
    }
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(st->blocks, &filter, &opts, NULL);
    bson_destroy(&opts);
    const bson_t *doc;
    int64_t n = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        int64_t k;
        if (hs__mg_get_int(doc, "n", &k) && k > 0 && k <= HS_BLOCK_DECODE_MAX_N)
            n += k;
    }
    int rc = hs__mg_cursor_err("purge blocks", cur);
    mongoc_cursor_destroy(cur);
    bson_error_t err;
    if (rc == HS_OK && !mongoc_collection_delete_many(st->blocks, &filter, NULL, NULL, &err))
        rc = hs__mg_err("purge blocks", &err);
    if (rc == HS_OK)
        *deleted += n;
    bson_destroy(&filter);
    return rc;
}

/* --- migration from version 1 (one document per instance) ----------------- */

/* The block being built by the migration: its stream and its encoder. */
typedef struct hs__mg_mig {
    hs_store_mongo *st;
    hs_buf sid; /* stream of the block in enc (NUL-terminated), empty when none */
    hs_block_enc enc;
    int64_t blocks, instances; /* written so far */
} hs__mg_mig;

/* Writes the block in m->enc (if any) and empties the encoder. */
static int hs__mg_mig_flush(hs__mg_mig *m)
{
    if (m->enc.n == 0)
        return HS_OK;
    hs__blk b = {.t0 = m->enc.t_first, .t1 = m->enc.t_last, .n = (int64_t)m->enc.n};
    int rc = hs_block_enc_bytes(&m->enc, &b.data, &b.len);
    if (rc == HS_OK)
        rc = hs__mg_blk_upsert(m->st, (const char *)m->sid.data, &b);
    if (rc == HS_OK) {
        m->blocks++;
        m->instances += b.n;
    }
    hs_block_enc_reset(&m->enc);
    return rc;
}

/* Adds one version-1 instance document to the migration. */
static int hs__mg_mig_add(hs__mg_mig *m, const bson_t *doc)
{
    bson_iter_t it;
    const char *s = NULL;
    uint32_t slen = 0, vlen = 0;
    const uint8_t *v = NULL;
    int64_t t = 0;
    bool have_t = false;
    if (!bson_iter_init(&it, doc))
        return hs__mg_malformed("upgrade instances", "s");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "s") == 0 && BSON_ITER_HOLDS_UTF8(&it)) {
            s = bson_iter_utf8(&it, &slen);
        } else if (strcmp(k, "t") == 0 &&
                   (BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_INT32(&it))) {
            t = bson_iter_as_int64(&it);
            have_t = true;
        } else if (strcmp(k, "v") == 0 && BSON_ITER_HOLDS_BINARY(&it)) {
            bson_subtype_t sub;
            bson_iter_binary(&it, &sub, &vlen, &v);
        }
    }
    if (s == NULL || strlen(s) != slen)
        return hs__mg_malformed("upgrade instances", "s");
    if (!have_t)
        return hs__mg_malformed("upgrade instances", "t");
    if (v == NULL)
        return hs__mg_malformed("upgrade instances", "v");
    bool same = m->sid.len == (size_t)slen + 1 && memcmp(m->sid.data, s, slen) == 0;
    int rc = HS_OK;
    if (!same || !hs_block_enc_fits(&m->enc, t, vlen))
        rc = hs__mg_mig_flush(m);
    if (rc == HS_OK && !same) {
        hs_buf_reset(&m->sid);
        rc = hs_buf_append(&m->sid, s, (size_t)slen + 1);
    }
    if (rc == HS_OK)
        rc = hs_block_enc_append(&m->enc, t, v, vlen);
    if (rc == HS_ERR_INVAL || rc == HS_ERR_PARSE)
        rc = hs_err_set(HS_ERR_STORE, "mongodb: upgrade instances: stream '%s' at t=%lld: %s (%s)",
                        s, (long long)t,
                        rc == HS_ERR_INVAL ? "timestamps out of order"
                                           : "the value is not canonical msgpack",
                        hs_err_detail());
    return rc;
}

/*
 * Schema 1 -> 2: the instances of every stream become blocks. One scan of
 * the old collection in (s, t) order (its unique index), each stream's
 * instances encoded into blocks as the block layer grows them (a new block
 * when an instance does not fit), each block upserted by (s, t0). Encoding is
 * deterministic, so a migration cut short is run again from the start and
 * writes the same blocks. The old collection is dropped at the end; the
 * caller sets the schema version after that.
 */
static int hs__mg_migrate_blocks(hs_store_mongo *st)
{
    mongoc_collection_t *old = st->instances;
    hs__mg_mig m = {.st = st};
    hs_buf_init(&m.sid, 0);
    hs_block_enc_init(&m.enc);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort, proj;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort) &&
              BSON_APPEND_INT32(&sort, "s", 1) && BSON_APPEND_INT32(&sort, "t", 1) &&
              bson_append_document_end(&opts, &sort) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj) &&
              BSON_APPEND_INT32(&proj, "_id", 0) && BSON_APPEND_INT32(&proj, "s", 1) &&
              BSON_APPEND_INT32(&proj, "t", 1) && BSON_APPEND_INT32(&proj, "v", 1) &&
              bson_append_document_end(&opts, &proj) &&
              BSON_APPEND_INT64(&opts, "batchSize", HS__MG_MIGRATE_BATCH);
    int rc = ok ? HS_OK : hs_err_set(HS_ERR_LIMIT, "mongodb: upgrade instances: query too large");
    if (rc == HS_OK) {
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(old, &filter, &opts, NULL);
        const bson_t *doc;
        while (rc == HS_OK && mongoc_cursor_next(cur, &doc))
            rc = hs__mg_mig_add(&m, doc);
        if (rc == HS_OK)
            rc = hs__mg_cursor_err("upgrade instances", cur);
        mongoc_cursor_destroy(cur);
    }
    if (rc == HS_OK)
        rc = hs__mg_mig_flush(&m);
    bson_destroy(&filter);
    bson_destroy(&opts);
    bson_error_t err;
    /* A store created empty at version 1 may have no instances collection at all. */
    if (rc == HS_OK && !mongoc_collection_drop(old, &err) && err.code != HS__MG_NS_NOT_FOUND)
        rc = hs__mg_err("upgrade instances: drop the old collection", &err);
    hs_block_enc_free(&m.enc);
    hs_buf_free(&m.sid);
    return rc;
}

/* --- documents ------------------------------------------------------------ */

/* Appends the _id of document (coll, key): coll "\x1f" key. */
static bool hs__mg_append_doc_id(bson_t *b, const char *coll, const char *key)
{
    size_t lc = strlen(coll), lk = strlen(key);
    if (lc + lk + 1 > INT32_MAX - 1)
        return false;
    char *id = hs_malloc(lc + lk + 2);
    if (id == NULL)
        return false;
    memcpy(id, coll, lc);
    id[lc] = '\x1f';
    memcpy(id + lc + 1, key, lk + 1);
    bool ok = BSON_APPEND_UTF8(b, "_id", id);
    hs_free(id);
    return ok;
}

static int hs__mg_doc_put(hs_store *s, const char *coll, const char *key, const char *json)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!hs__mg_utf8(coll) || !hs__mg_utf8(key) || !hs__mg_utf8(json))
        return hs__mg_bad_utf8("put document");
    bson_t filter = BSON_INITIALIZER, doc = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    bool ok = hs__mg_append_doc_id(&filter, coll, key) && hs__mg_append_doc_id(&doc, coll, key) &&
              BSON_APPEND_UTF8(&doc, "c", coll) && BSON_APPEND_UTF8(&doc, "k", key) &&
              BSON_APPEND_UTF8(&doc, "json", json != NULL ? json : "null") &&
              BSON_APPEND_INT64(&doc, "updated_us", hs_time_now_us()) &&
              BSON_APPEND_BOOL(&opts, "upsert", true);
    int rc = HS_OK;
    bson_error_t err;
    if (!ok)
        rc = hs_err_set(HS_ERR_LIMIT, "mongodb: put document: document too large");
    else if (!mongoc_collection_replace_one(st->docs, &filter, &doc, &opts, NULL, &err))
        rc = hs__mg_err("put document", &err);
    bson_destroy(&filter);
    bson_destroy(&doc);
    bson_destroy(&opts);
    return rc;
}

static int hs__mg_doc_delete(hs_store *s, const char *coll, const char *key)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!hs__mg_utf8(coll) || !hs__mg_utf8(key))
        return hs_err_set(HS_ERR_NOTFOUND, "no document '%s' in '%s'", key, coll);
    bson_t filter = BSON_INITIALIZER, reply;
    if (!hs__mg_append_doc_id(&filter, coll, key)) {
        bson_destroy(&filter);
        return HS_ERR_NOMEM;
    }
    bson_error_t err;
    int rc = HS_OK;
    if (!mongoc_collection_delete_one(st->docs, &filter, NULL, &reply, &err))
        rc = hs__mg_err("delete document", &err);
    else if (hs__mg_reply_count(&reply, "deletedCount") == 0)
        rc = hs_err_set(HS_ERR_NOTFOUND, "no document '%s' in '%s'", key, coll);
    bson_destroy(&reply);
    bson_destroy(&filter);
    return rc;
}

/* The json field of a docs document, or NULL when malformed. */
static const char *hs__mg_doc_json(const bson_t *doc, uint32_t *len)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "json") || !BSON_ITER_HOLDS_UTF8(&it))
        return NULL;
    return bson_iter_utf8(&it, len);
}

static int hs__mg_doc_get(hs_store *s, const char *coll, const char *key, hs_buf *json)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!hs__mg_utf8(coll) || !hs__mg_utf8(key))
        return hs_err_set(HS_ERR_NOTFOUND, "no document '%s' in '%s'", key, coll);
    bson_t filter = BSON_INITIALIZER, projection = BSON_INITIALIZER;
    bool ok = hs__mg_append_doc_id(&filter, coll, key) && BSON_APPEND_INT32(&projection, "json", 1);
    bson_t *doc = NULL;
    int rc = ok ? hs__mg_find_one(st->docs, &filter, NULL, &projection, "get document", &doc)
                : HS_ERR_NOMEM;
    bson_destroy(&filter);
    bson_destroy(&projection);
    if (rc == HS_ERR_NOTFOUND)
        return hs_err_set(HS_ERR_NOTFOUND, "no document '%s' in '%s'", key, coll);
    if (rc != HS_OK)
        return rc;
    uint32_t len;
    const char *text = hs__mg_doc_json(doc, &len);
    if (text == NULL)
        rc = hs__mg_malformed("get document", "json");
    else
        rc = hs_buf_append(json, text, len);
    bson_destroy(doc);
    return rc;
}

static int hs__mg_doc_list(hs_store *s, const char *coll, const char *prefix, bool reverse,
                           size_t limit, hs_store_doc_fn fn, void *ud)
{
    hs_store_mongo *st = (hs_store_mongo *)s;
    if (!hs__mg_utf8(coll) || !hs__mg_utf8(prefix))
        return HS_OK;
    size_t cap = strlen(prefix) + 8;
    char *upper = hs_malloc(cap);
    if (upper == NULL)
        return HS_ERR_NOMEM;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort, proj;
    bool ok = BSON_APPEND_UTF8(&filter, "c", coll) &&
              hs__mg_append_prefix(&filter, "k", prefix, upper, cap) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort) &&
              BSON_APPEND_INT32(&sort, "k", reverse ? -1 : 1) &&
              bson_append_document_end(&opts, &sort) &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj) &&
              BSON_APPEND_INT32(&proj, "_id", 0) && BSON_APPEND_INT32(&proj, "k", 1) &&
              BSON_APPEND_INT32(&proj, "json", 1) && bson_append_document_end(&opts, &proj);
    if (ok && limit > 0 && limit <= INT64_MAX)
        ok = BSON_APPEND_INT64(&opts, "limit", (int64_t)limit);
    hs_free(upper);
    if (!ok) {
        bson_destroy(&filter);
        bson_destroy(&opts);
        return hs_err_set(HS_ERR_LIMIT, "mongodb: list documents: query too large");
    }
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(st->docs, &filter, &opts, NULL);
    bson_destroy(&filter);
    bson_destroy(&opts);
    const bson_t *doc;
    int rc = HS_OK;
    while (rc == HS_OK && mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        const char *text = hs__mg_doc_json(doc, NULL);
        if (text == NULL || !bson_iter_init_find(&it, doc, "k") || !BSON_ITER_HOLDS_UTF8(&it)) {
            rc = hs__mg_malformed("list documents", "k or json");
            break;
        }
        rc = fn(ud, bson_iter_utf8(&it, NULL), text);
    }
    if (rc == HS_OK)
        rc = hs__mg_cursor_err("list documents", cur);
    mongoc_cursor_destroy(cur);
    return rc;
}

/* --- opening -------------------------------------------------------------- */

static const hs_store_ops hs__mongo_ops = {
    .name = "mongodb",
    .may_overlap = true,
    .close = hs__mg_close,
    .schema_version = hs__mg_schema_version,
    .begin = hs__mg_noop,
    .commit = hs__mg_noop,
    .rollback = hs__mg_noop,
    .stream_define = hs__mg_stream_define,
    .blk_scan = hs__mg_blk_scan,
    .blk_put = hs__mg_blk_put,
    .blk_del = hs__mg_blk_del,
    .blk_purge = hs__mg_blk_purge,
    .intervals_add = hs__mg_intervals_add,
    .intervals_set = hs__mg_intervals_set,
    .purge = hs__mg_purge,
    .doc_put = hs__mg_doc_put,
    .doc_delete = hs__mg_doc_delete,
    .stream_get = hs__mg_stream_get,
    .stream_list = hs__mg_stream_list,
    .doc_get = hs__mg_doc_get,
    .doc_list = hs__mg_doc_list,
};

/* Sets a timeout option of uri unless the URL gave one. */
static void hs__mg_default_timeout(mongoc_uri_t *uri, const char *option)
{
    if (!mongoc_uri_has_option(uri, option))
        (void)mongoc_uri_set_option_as_int32(uri, option, HS__MG_TIMEOUT_MS);
}

static int hs__mg_connect(hs_store_mongo *st, mongoc_uri_t *uri)
{
    bson_error_t err;
    st->client = mongoc_client_new_from_uri_with_error(uri, &err);
    if (st->client == NULL)
        return hs__mg_err("create client", &err);
    mongoc_client_set_error_api(st->client, MONGOC_ERROR_API_VERSION_2);
    const char *db = mongoc_uri_get_database(uri);
    if (db == NULL || db[0] == '\0')
        db = HS__MG_DEFAULT_DB;
    st->streams = mongoc_client_get_collection(st->client, db, "streams");
    st->blocks = mongoc_client_get_collection(st->client, db, "blocks");
    st->docs = mongoc_client_get_collection(st->client, db, "docs");
    st->meta = mongoc_client_get_collection(st->client, db, "meta");
    st->instances = mongoc_client_get_collection(st->client, db, "instances");
    if (st->streams == NULL || st->blocks == NULL || st->docs == NULL || st->meta == NULL ||
        st->instances == NULL)
        return hs_err_set(HS_ERR_STORE, "mongodb: cannot use database '%s'", db);
    /* Reach the server now, so that a dead or wrong server fails the open. */
    bson_t ping = BSON_INITIALIZER;
    BSON_APPEND_INT32(&ping, "ping", 1);
    bool ok = mongoc_client_command_simple(st->client, "admin", &ping, NULL, NULL, &err);
    bson_destroy(&ping);
    if (!ok)
        return hs__mg_err("cannot reach the server", &err);
    return HS_OK;
}

int hs__store_mongo_open(hs_store **out, const char *url, int mode)
{
    *out = NULL;
    pthread_once(&hs__mg_once, hs__mg_global_init);
    bson_error_t err;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(url, &err);
    if (uri == NULL)
        return hs_err_set(HS_ERR_CONFIG, "mongodb: bad store URL: %s", err.message);
    hs__mg_default_timeout(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS);
    hs__mg_default_timeout(uri, MONGOC_URI_CONNECTTIMEOUTMS);
    if (mongoc_uri_get_appname(uri) == NULL)
        (void)mongoc_uri_set_appname(uri, "hyperstream");
    hs_store_mongo *st = hs_calloc(1, sizeof *st);
    if (st == NULL) {
        mongoc_uri_destroy(uri);
        return HS_ERR_NOMEM;
    }
    st->base.ops = &hs__mongo_ops;
    st->base.mode = mode;
    hs_map_init(&st->known);
    int rc = hs__mg_connect(st, uri);
    mongoc_uri_destroy(uri);
    if (rc == HS_OK && mode == HS_STORE_WRITE)
        rc = hs__mg_migrate(st);
    if (rc == HS_OK && mode != HS_STORE_WRITE) {
        int v = 0;
        rc = hs__mg_schema_version(&st->base, &v);
        st->old_schema = v >= 1 && v < HS__MG_SCHEMA_VERSION;
    }
    if (rc != HS_OK) {
        hs__mg_close(&st->base);
        return rc;
    }
    *out = &st->base;
    return HS_OK;
}
