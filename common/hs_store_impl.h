/*
 * Private to the store: the backend vtable. Each backend defines a struct
 * whose first member is `hs_store base` and an ops table.
 */
#ifndef HS_STORE_IMPL_H
#define HS_STORE_IMPL_H

#include "hs_store.h"

typedef struct hs_store_ops {
    const char *name;
    void (*close)(hs_store *s);
    int (*schema_version)(hs_store *s, int *version);
    int (*begin)(hs_store *s);
    int (*commit)(hs_store *s);
    int (*rollback)(hs_store *s);
    int (*stream_define)(hs_store *s, const char *id, int kind, const char *binding);
    int (*write)(hs_store *s, const char *id, const hs_batch *b, uint8_t *status,
                 hs_write_result *res);
    int (*intervals_add)(hs_store *s, const char *id, const hs_intervals *add);
    int (*intervals_set)(hs_store *s, const char *id, const hs_intervals *set);
    int (*purge)(hs_store *s, const char *id, bool remove_definition, int64_t *deleted);
    int (*delete_range)(hs_store *s, const char *id, hs_interval range, int64_t *deleted);
    int (*doc_put)(hs_store *s, const char *coll, const char *key, const char *json);
    int (*doc_delete)(hs_store *s, const char *coll, const char *key);
    int (*stream_get)(hs_store *s, const char *id, hs_stream_info *out);
    int (*stream_list)(hs_store *s, const char *prefix, hs_store_stream_fn fn, void *ud);
    /*
     * Reads up to n instances of id with start < t <= end, ascending, or the
     * last n descending when desc; appends them to out.
     */
    int (*read_range)(hs_store *s, const char *id, int64_t start, int64_t end, size_t n, bool desc,
                      hs_batch *out);
    int (*count)(hs_store *s, const char *id, hs_interval range, int64_t *n);
    int (*doc_get)(hs_store *s, const char *coll, const char *key, hs_buf *json);
    int (*doc_list)(hs_store *s, const char *coll, const char *prefix, bool reverse, size_t limit,
                    hs_store_doc_fn fn, void *ud);
    void (*release_memory)(hs_store *s); /* optional */
} hs_store_ops;

struct hs_store {
    const hs_store_ops *ops;
    int mode;   /* HS_STORE_READ or HS_STORE_WRITE */
    bool in_tx; /* between begin and commit/rollback */
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
