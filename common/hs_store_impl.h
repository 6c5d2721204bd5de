/*
 * Private to the store: the backend vtable. Each backend defines a struct
 * whose first member is `hs_store base` and an ops table.
 */
#ifndef HS_STORE_IMPL_H
#define HS_STORE_IMPL_H

#include "hs_store.h"

/*
 * A block of one stream's instances as a backend stores it
 * (common/hs_block.h): its first and last timestamp, its count and its
 * encoded bytes (borrowed for the duration of a callback or call).
 */
typedef struct hs__blk {
    int64_t t0, t1;
    int64_t n;
    const uint8_t *data;
    size_t len;
} hs__blk;

/* Called for each block of a scan: 0 goes on, anything else stops the scan
 * and is returned by it. */
typedef int (*hs__blk_fn)(void *ud, const hs__blk *b);

typedef struct hs_store_ops {
    const char *name;
    /* Whether blocks may overlap: a backend without transactions can be left
     * so by a crash in the middle of a rewrite (see hs__replace). */
    bool may_overlap;
    void (*close)(hs_store *s);
    int (*schema_version)(hs_store *s, int *version);
    int (*begin)(hs_store *s);
    int (*commit)(hs_store *s);
    int (*rollback)(hs_store *s);
    int (*stream_define)(hs_store *s, const char *id, int kind, const char *binding);
    /*
     * Block primitives, for the block layer (common/hs_store_block.c), which
     * implements writing, reading, counting and deleting instances on them.
     *
     * blk_scan calls fn for the blocks of stream id that may hold instances
     * in (after, end]: those with t1 > after and t0 <= end, starting from the
     * block with the largest t0 <= after (or the first block when none
     * has). Ascending t0 order, or descending when desc. A stream that is
     * not defined (or a store without schema) has no blocks: HS_OK.
     * blk_put inserts block b of id (defining id as a raw stream when it is
     * not defined), or replaces the block of id with the same t0. blk_del deletes the block of id
     * with t0 (HS_OK when there is none). blk_purge deletes every block of id and adds the
     * instances they held to *deleted.
     */
    int (*blk_scan)(hs_store *s, const char *id, int64_t after, int64_t end, bool desc,
                    hs__blk_fn fn, void *ud);
    int (*blk_put)(hs_store *s, const char *id, const hs__blk *b);
    int (*blk_del)(hs_store *s, const char *id, int64_t t0);
    int (*blk_purge)(hs_store *s, const char *id, int64_t *deleted);
    int (*intervals_add)(hs_store *s, const char *id, const hs_intervals *add);
    int (*intervals_set)(hs_store *s, const char *id, const hs_intervals *set);
    /* Deletes the definition of id (after its blocks were purged) or, without
     * remove_definition, empties its calculated intervals. */
    int (*purge)(hs_store *s, const char *id, bool remove_definition);
    int (*doc_put)(hs_store *s, const char *coll, const char *key, const char *json);
    int (*doc_delete)(hs_store *s, const char *coll, const char *key);
    int (*stream_get)(hs_store *s, const char *id, hs_stream_info *out);
    int (*stream_list)(hs_store *s, const char *prefix, hs_store_stream_fn fn, void *ud);
    int (*doc_get)(hs_store *s, const char *coll, const char *key, hs_buf *json);
    int (*doc_list)(hs_store *s, const char *coll, const char *prefix, bool reverse, size_t limit,
                    hs_store_doc_fn fn, void *ud);
    void (*release_memory)(hs_store *s); /* optional */
} hs_store_ops;

struct hs__blkst;

struct hs_store {
    const hs_store_ops *ops;
    int mode;              /* HS_STORE_READ or HS_STORE_WRITE */
    bool in_tx;            /* between begin and commit/rollback */
    struct hs__blkst *blk; /* the block layer's scratch state, or NULL */
};

typedef int (*hs__store_open_fn)(hs_store **out, const char *url, int mode);

int hs__store_sqlite_open(hs_store **out, const char *path, int mode);

/*
 * The MongoDB backend lives in a loadable module (HS_STORE_MONGO_MODULE_NAME
 * in HS_MODULE_DIR beside the program's bin/ directory, or the path in
 * HS_STORE_MONGO_MODULE), whose hs__store_mongo_open hs__store_mongo_module
 * returns, loading the module on first use. HS_ERR_CONFIG when it cannot be
 * loaded.
 */
#define HS_STORE_MONGO_MODULE_NAME "hs_store_mongo.so"
int hs__store_mongo_open(hs_store **out, const char *url, int mode);
int hs__store_mongo_module(hs__store_open_fn *fn);

/*
 * Test hook (fault injection): caps the SQLite database of handle s at
 * max_pages pages (PRAGMA max_page_count; never below its present size), so
 * that a transaction needing more space fails with SQLITE_FULL, which the
 * store reports as HS_ERR_IO like a full disk. max_pages <= 0 lifts the cap.
 * HS_ERR_INVAL when s is not a SQLite handle.
 */
int hs__store_sqlite_max_pages(hs_store *s, int64_t max_pages);

/* Calculated intervals as a msgpack array of [start, end] pairs. */
int hs__store_intervals_encode(const hs_intervals *iv, hs_buf *out);
int hs__store_intervals_decode(const void *data, size_t len, hs_intervals *out);

#endif
