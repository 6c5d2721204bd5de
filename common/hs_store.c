#include "hs_store.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_store_block.h"
#include "hs_store_impl.h"
#include "hs_time.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest chunk a cursor returns at once. */
#define HS__STORE_MAX_CHUNK 65536

struct hs_store_cursor {
    hs_store *store; /* borrowed */
    char *id;        /* owned */
    int64_t after;   /* last timestamp returned (keyset paging) */
    int64_t end;
    size_t chunk;
    bool done;
};

hs_interval hs_store_all_time(void)
{
    hs_interval iv = {HS_TIME_MIN - 1, HS_TIME_MAX};
    return iv;
}

void hs_stream_info_free(hs_stream_info *info)
{
    if (info == NULL)
        return;
    hs_free(info->id);
    hs_free(info->binding);
    hs_intervals_free(&info->calculated);
    memset(info, 0, sizeof *info);
}

/* ---- The MongoDB backend module ---------------------------------------- */

static pthread_mutex_t hs__mongo_lock = PTHREAD_MUTEX_INITIALIZER;
static hs__store_open_fn hs__mongo_open; /* once loaded; the module stays loaded */

/* Where the module is: HS_STORE_MONGO_MODULE, else <program dir>/../HS_MODULE_DIR/. */
static void hs__mongo_module_path(char *path, size_t cap)
{
    const char *env = getenv("HS_STORE_MONGO_MODULE");
    if (env != NULL && env[0] != '\0') {
        snprintf(path, cap, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(path, cap, "%s", HS_STORE_MONGO_MODULE_NAME);
        return;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(path, cap, "%s/../%s/%s", exe, HS_MODULE_DIR, HS_STORE_MONGO_MODULE_NAME);
}

int hs__store_mongo_module(hs__store_open_fn *fn)
{
    pthread_mutex_lock(&hs__mongo_lock);
    int rc = HS_OK;
    if (hs__mongo_open == NULL) {
        char path[PATH_MAX + 64];
        hs__mongo_module_path(path, sizeof path);
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
            rc = hs_err_set(HS_ERR_CONFIG,
                            "MongoDB support is not available: %s (set HS_STORE_MONGO_MODULE to "
                            "the module's path)",
                            dlerror());
        } else {
            *(void **)&hs__mongo_open = dlsym(h, "hs__store_mongo_open");
            if (hs__mongo_open == NULL)
                rc = hs_err_set(HS_ERR_CONFIG, "%s is not the MongoDB store module", path);
        }
    }
    *fn = hs__mongo_open;
    pthread_mutex_unlock(&hs__mongo_lock);
    return rc;
}

int hs_store_open(hs_store **out, const char *url, int mode)
{
    *out = NULL;
    if (url == NULL || url[0] == '\0')
        return hs_err_set(HS_ERR_CONFIG, "no store URL given (set HS_STORE_URL)");
    if (mode != HS_STORE_READ && mode != HS_STORE_WRITE)
        return hs_err_set(HS_ERR_INVAL, "bad store mode %d", mode);
    if (strncmp(url, "sqlite://", 9) == 0)
        return hs__store_sqlite_open(out, url + 9, mode);
    if (strncmp(url, "sqlite:", 7) == 0)
        return hs__store_sqlite_open(out, url + 7, mode);
    if (strncmp(url, "mongodb://", 10) == 0 || strncmp(url, "mongodb+srv://", 14) == 0) {
        hs__store_open_fn open_fn;
        int rc = hs__store_mongo_module(&open_fn);
        return rc == HS_OK ? open_fn(out, url, mode) : rc;
    }
    return hs_err_set(HS_ERR_CONFIG,
                      "store URL '%s' has an unknown scheme (use sqlite:///path or mongodb://...)",
                      url);
}

void hs_store_close(hs_store *s)
{
    if (s == NULL)
        return;
    hs__blk_state_free(s->blk);
    s->blk = NULL;
    s->ops->close(s);
}

const char *hs_store_backend(const hs_store *s)
{
    return s->ops->name;
}

int hs_store_schema_version(hs_store *s, int *version)
{
    return s->ops->schema_version(s, version);
}

void hs_store_release_memory(hs_store *s)
{
    hs__blk_forget(s->blk, NULL);
    if (s->ops->release_memory != NULL)
        s->ops->release_memory(s);
}

static int hs__store_need_write(hs_store *s)
{
    if (s->mode != HS_STORE_WRITE)
        return hs_err_set(HS_ERR_STATE, "store opened read-only");
    return HS_OK;
}

static int hs__store_need_id(const char *id)
{
    if (id == NULL || id[0] == '\0')
        return hs_err_set(HS_ERR_INVAL, "empty stream id");
    return HS_OK;
}

int hs_store_begin(hs_store *s)
{
    int rc = hs__store_need_write(s);
    if (rc != HS_OK)
        return rc;
    if (s->in_tx)
        return hs_err_set(HS_ERR_STATE, "transaction already open");
    rc = s->ops->begin(s);
    if (rc == HS_OK)
        s->in_tx = true;
    return rc;
}

int hs_store_commit(hs_store *s)
{
    if (!s->in_tx)
        return hs_err_set(HS_ERR_STATE, "no transaction open");
    int rc = s->ops->commit(s);
    if (rc == HS_OK)
        s->in_tx = false;
    else
        hs__blk_forget(s->blk, NULL);
    return rc;
}

int hs_store_rollback(hs_store *s)
{
    if (!s->in_tx)
        return HS_OK;
    s->in_tx = false;
    hs__blk_forget(s->blk, NULL);
    return s->ops->rollback(s);
}

int hs_store_stream_define(hs_store *s, const char *id, int kind, const char *binding)
{
    int rc = hs__store_need_write(s);
    if (rc == HS_OK)
        rc = hs__store_need_id(id);
    if (rc != HS_OK)
        return rc;
    if (kind < HS_STREAM_RAW || kind > HS_STREAM_ASSET)
        return hs_err_set(HS_ERR_INVAL, "bad stream kind %d", kind);
    return s->ops->stream_define(s, id, kind, binding);
}

int hs_store_write(hs_store *s, const char *id, const hs_batch *b, uint8_t *status,
                   hs_write_result *res)
{
    hs_write_result local;
    if (res == NULL)
        res = &local;
    memset(res, 0, sizeof *res);
    int rc = hs__store_need_write(s);
    if (rc == HS_OK)
        rc = hs__store_need_id(id);
    if (rc != HS_OK || b->n == 0)
        return rc;
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].t_us < HS_TIME_MIN || b->items[i].t_us > HS_TIME_MAX)
            return hs_err_set(HS_ERR_RANGE, "instance %zu: timestamp %lld out of range", i,
                              (long long)b->items[i].t_us);
    return hs__blk_write(s, id, b, status, res);
}

int hs_store_intervals_add(hs_store *s, const char *id, const hs_intervals *add)
{
    int rc = hs__store_need_write(s);
    if (rc == HS_OK)
        rc = hs__store_need_id(id);
    if (rc != HS_OK)
        return rc;
    return s->ops->intervals_add(s, id, add);
}

int hs_store_intervals_set(hs_store *s, const char *id, const hs_intervals *set)
{
    int rc = hs__store_need_write(s);
    if (rc == HS_OK)
        rc = hs__store_need_id(id);
    if (rc != HS_OK)
        return rc;
    return s->ops->intervals_set(s, id, set);
}

int hs_store_purge(hs_store *s, const char *id, bool remove_definition, int64_t *deleted)
{
    int64_t dummy;
    int rc = hs__store_need_write(s);
    if (rc == HS_OK)
        rc = hs__store_need_id(id);
    if (rc != HS_OK)
        return rc;
    if (deleted == NULL)
        deleted = &dummy;
    *deleted = 0;
    /* Intervals emptied first, definition deleted last (MongoDB's order). */
    hs__blk_forget(s->blk, id);
    rc = s->ops->purge(s, id, false);
    if (rc == HS_OK)
        rc = s->ops->blk_purge(s, id, deleted);
    if (rc == HS_OK && remove_definition)
        rc = s->ops->purge(s, id, true);
    return rc;
}

int hs_store_delete_range(hs_store *s, const char *id, hs_interval range, int64_t *deleted)
{
    int64_t dummy;
    int rc = hs__store_need_write(s);
    if (rc == HS_OK)
        rc = hs__store_need_id(id);
    if (rc != HS_OK)
        return rc;
    if (deleted == NULL)
        deleted = &dummy;
    *deleted = 0;
    if (range.start >= range.end)
        return HS_OK;
    hs_stream_info info;
    rc = s->ops->stream_get(s, id, &info);
    if (rc != HS_OK)
        return rc;
    hs_stream_info_free(&info);
    return hs__blk_delete_range(s, id, range, deleted);
}

int hs_store_purge_before(hs_store *s, const char *id, int64_t before_us, int64_t max_instances,
                          int64_t *deleted, int64_t *through_us)
{
    int64_t dummy_n, dummy_t;
    deleted = deleted != NULL ? deleted : &dummy_n;
    through_us = through_us != NULL ? through_us : &dummy_t;
    *deleted = 0;
    *through_us = before_us;
    int rc = hs__store_need_write(s);
    if (rc == HS_OK)
        rc = hs__store_need_id(id);
    if (rc != HS_OK)
        return rc;
    hs_interval all = hs_store_all_time();
    int64_t cut = before_us > all.end ? all.end : before_us;
    hs_stream_info info;
    rc = s->ops->stream_get(s, id, &info);
    if (rc != HS_OK)
        return rc;
    if (cut <= all.start) {
        hs_stream_info_free(&info);
        return HS_OK;
    }
    if (max_instances > 0) {
        hs_batch head;
        hs_batch_init(&head);
        hs_interval range = {all.start, cut};
        rc = hs_store_head(s, id, range, (size_t)max_instances, &head);
        if (rc == HS_OK && head.n > 0 && (int64_t)head.n >= max_instances)
            cut = head.items[head.n - 1].t_us;
        hs_batch_free(&head);
    }
    hs_intervals drop, rest;
    hs_intervals_init(&drop);
    hs_intervals_init(&rest);
    if (rc == HS_OK)
        rc = hs_intervals_add(&drop, (hs_interval){all.start, cut});
    if (rc == HS_OK)
        rc = hs_intervals_difference(&info.calculated, &drop, &rest);
    if (rc == HS_OK && !hs_intervals_equal(&info.calculated, &rest))
        rc = s->ops->intervals_set(s, id, &rest);
    if (rc == HS_OK)
        rc = hs__blk_delete_range(s, id, (hs_interval){all.start, cut}, deleted);
    if (rc == HS_OK)
        *through_us = cut;
    hs_intervals_free(&drop);
    hs_intervals_free(&rest);
    hs_stream_info_free(&info);
    return rc;
}

static int hs__store_need_doc(const char *coll, const char *key)
{
    if (coll == NULL || coll[0] == '\0' || key == NULL || key[0] == '\0')
        return hs_err_set(HS_ERR_INVAL, "document collection and key must be non-empty");
    return HS_OK;
}

int hs_store_doc_put(hs_store *s, const char *coll, const char *key, const char *json)
{
    int rc = hs__store_need_write(s);
    if (rc == HS_OK)
        rc = hs__store_need_doc(coll, key);
    if (rc != HS_OK)
        return rc;
    return s->ops->doc_put(s, coll, key, json);
}

int hs_store_doc_delete(hs_store *s, const char *coll, const char *key)
{
    int rc = hs__store_need_write(s);
    if (rc == HS_OK)
        rc = hs__store_need_doc(coll, key);
    if (rc != HS_OK)
        return rc;
    return s->ops->doc_delete(s, coll, key);
}

int hs_store_stream_get(hs_store *s, const char *id, hs_stream_info *out)
{
    memset(out, 0, sizeof *out);
    int rc = hs__store_need_id(id);
    if (rc != HS_OK)
        return rc;
    return s->ops->stream_get(s, id, out);
}

int hs_store_stream_list(hs_store *s, const char *prefix, hs_store_stream_fn fn, void *ud)
{
    return s->ops->stream_list(s, prefix ? prefix : "", fn, ud);
}

int hs_store_read(hs_store *s, const char *id, hs_interval range, size_t chunk,
                  hs_store_cursor **out)
{
    *out = NULL;
    int rc = hs__store_need_id(id);
    if (rc != HS_OK)
        return rc;
    hs_store_cursor *c = hs_calloc(1, sizeof *c);
    if (c == NULL)
        return HS_ERR_NOMEM;
    c->id = hs_strdup(id);
    if (c->id == NULL) {
        hs_free(c);
        return HS_ERR_NOMEM;
    }
    c->store = s;
    c->after = range.start;
    c->end = range.end;
    c->chunk = chunk == 0 ? 4096 : chunk > HS__STORE_MAX_CHUNK ? HS__STORE_MAX_CHUNK : chunk;
    c->done = range.start >= range.end;
    *out = c;
    return HS_OK;
}

int hs_store_cursor_next(hs_store_cursor *c, hs_batch *out)
{
    hs_batch_reset(out);
    if (c->done)
        return HS_OK;
    int rc = hs__blk_read(c->store, c->id, c->after, c->end, c->chunk, false, out);
    if (rc != HS_OK)
        return rc;
    if (out->n < c->chunk)
        c->done = true;
    if (out->n > 0)
        c->after = out->items[out->n - 1].t_us;
    return HS_OK;
}

void hs_store_cursor_close(hs_store_cursor *c)
{
    if (c == NULL)
        return;
    hs_free(c->id);
    hs_free(c);
}

int hs_store_head(hs_store *s, const char *id, hs_interval range, size_t n, hs_batch *out)
{
    hs_batch_reset(out);
    int rc = hs__store_need_id(id);
    if (rc != HS_OK || n == 0 || range.start >= range.end)
        return rc;
    return hs__blk_read(s, id, range.start, range.end, n, false, out);
}

int hs_store_tail(hs_store *s, const char *id, hs_interval range, size_t n, hs_batch *out)
{
    hs_batch_reset(out);
    int rc = hs__store_need_id(id);
    if (rc != HS_OK || n == 0 || range.start >= range.end)
        return rc;
    rc = hs__blk_read(s, id, range.start, range.end, n, true, out);
    if (rc != HS_OK)
        return rc;
    /* The backend returns newest first; put them in time order. */
    for (size_t i = 0, j = out->n ? out->n - 1 : 0; i < j; i++, j--) {
        hs_inst tmp = out->items[i];
        out->items[i] = out->items[j];
        out->items[j] = tmp;
    }
    return HS_OK;
}

int hs_store_count(hs_store *s, const char *id, hs_interval range, int64_t *n)
{
    *n = 0;
    int rc = hs__store_need_id(id);
    if (rc != HS_OK || range.start >= range.end)
        return rc;
    return hs__blk_count(s, id, range, n);
}

int hs_store_doc_get(hs_store *s, const char *coll, const char *key, hs_buf *json)
{
    hs_buf_reset(json);
    int rc = hs__store_need_doc(coll, key);
    if (rc != HS_OK)
        return rc;
    return s->ops->doc_get(s, coll, key, json);
}

int hs_store_doc_list(hs_store *s, const char *coll, const char *prefix, bool reverse, size_t limit,
                      hs_store_doc_fn fn, void *ud)
{
    if (coll == NULL || coll[0] == '\0')
        return hs_err_set(HS_ERR_INVAL, "document collection must be non-empty");
    return s->ops->doc_list(s, coll, prefix ? prefix : "", reverse, limit, fn, ud);
}

int hs__store_intervals_encode(const hs_intervals *iv, hs_buf *out)
{
    if (iv->n > UINT32_MAX)
        return HS_ERR_LIMIT;
    int rc = hs_mp_put_array(out, (uint32_t)iv->n);
    for (size_t i = 0; rc == HS_OK && i < iv->n; i++) {
        rc = hs_mp_put_array(out, 2);
        if (rc == HS_OK)
            rc = hs_mp_put_int(out, iv->v[i].start);
        if (rc == HS_OK)
            rc = hs_mp_put_int(out, iv->v[i].end);
    }
    return rc;
}

int hs__store_intervals_decode(const void *data, size_t len, hs_intervals *out)
{
    hs_intervals_clear(out);
    if (len == 0)
        return HS_OK;
    hs_mp_reader r;
    hs_mp_reader_init(&r, data, len);
    uint32_t n;
    int rc = hs_mp_get_array(&r, &n);
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        uint32_t two;
        hs_interval iv;
        rc = hs_mp_get_array(&r, &two);
        if (rc == HS_OK && two != 2)
            rc = hs_err_set(HS_ERR_PARSE, "stored interval is not a pair");
        if (rc == HS_OK)
            rc = hs_mp_get_int(&r, &iv.start);
        if (rc == HS_OK)
            rc = hs_mp_get_int(&r, &iv.end);
        if (rc == HS_OK)
            rc = hs_intervals_add(out, iv);
    }
    if (rc != HS_OK)
        hs_intervals_clear(out);
    return rc;
}
