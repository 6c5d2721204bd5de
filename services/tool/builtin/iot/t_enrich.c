/*
 * The enrich tool: a stream-to-table join. Source 0 is the data stream,
 * source 1 an asset stream whose values are lookup tables (key -> map of
 * fields). Each data instance is joined with the table that was current at
 * its timestamp, so a table refresh applies from its own timestamp on and
 * recomputing an interval gives the same result as running it live.
 *
 * The current table is decoded once per version and indexed by key (a
 * sorted array, binary search), so a lookup costs O(log rows).
 */
#include "iot.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_hash.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef enum hs__miss { HS__M_DROP, HS__M_KEEP, HS__M_NULL } hs__miss;

typedef struct hs__row {
    const char *k; /* the table key (borrowed from the decoded table) */
    uint32_t klen;
    uint32_t order;      /* position in the table: the first of equal keys wins */
    const hs_value *row; /* its fields */
} hs__row;

typedef struct hs__name {
    const char *s;
    uint32_t len;
    uint32_t order;
} hs__name;

typedef struct hs__enrich {
    const char *key; /* the data field holding the join key */
    size_t klen;
    const char *prefix;
    size_t plen;
    int64_t partitions, partition;
    hs__miss miss;
    hs_buf tbuf;           /* the current table's bytes */
    hs_arena tarena;       /* its decoded tree and index */
    const hs_value *table; /* in tarena: the current table (a map), or NULL */
    hs__row *rows;         /* in tarena, sorted by key */
    size_t nrows;
    hs__name *names; /* in tarena: every field name of the table (null mode), or NULL */
    size_t nnames;
    bool names_done;
    hs_buf out;
    hs_buf name; /* a prefixed field name */
} hs__enrich;

static void hs__enrich_fini(void *state)
{
    hs__enrich *s = state;
    if (s == NULL)
        return;
    hs_buf_free(&s->tbuf);
    hs_arena_free(&s->tarena);
    hs_buf_free(&s->out);
    hs_buf_free(&s->name);
    hs_free(s);
}

static int hs__enrich_partition_meta(hs_tool_ctx *ctx, hs__enrich *s, const char *meta)
{
    const hs_streamid *sink = hs_tool_sink(ctx, 0);
    const char *pv = sink != NULL ? hs_streamid_get(sink, meta) : NULL;
    if (pv == NULL)
        return hs_tool_fail(ctx,
                            "enrich: partition_meta '%s' is not a meta-data key of the "
                            "sink",
                            meta);
    char *end;
    errno = 0;
    long long k = strtoll(pv, &end, 10);
    if (*end != '\0' || end == pv || errno != 0)
        return hs_tool_fail(ctx, "enrich: the sink's %s=%s is not a partition number", meta, pv);
    s->partition = k;
    return HS_OK;
}

static int hs__enrich_init(hs_tool_ctx *ctx, void **state)
{
    hs__enrich *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->tbuf, 0);
    hs_arena_init(&s->tarena, 0, 0);
    hs_buf_init(&s->out, 0);
    hs_buf_init(&s->name, 0);
    *state = s;
    if (hs_tool_nsources(ctx) != 2)
        return hs_tool_fail(ctx, "enrich needs 2 sources (data, table), not %zu",
                            hs_tool_nsources(ctx));
    int rc = hs_iot_param_key(ctx, "key", &s->key, &s->klen);
    if (rc != HS_OK)
        return rc;
    if (s->key == NULL)
        return hs_tool_fail(ctx, "enrich needs parameter 'key' (the data field holding the "
                                 "join key)");
    s->prefix = "";
    if ((rc = hs_tool_param_string(ctx, "prefix", &s->prefix)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    s->plen = strlen(s->prefix);
    s->partitions = 1;
    if ((rc = hs_tool_param_int(ctx, "partitions", &s->partitions)) != HS_OK &&
        rc != HS_ERR_NOTFOUND)
        return rc;
    if ((rc = hs_tool_param_int(ctx, "partition", &s->partition)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    const char *meta = NULL;
    if ((rc = hs_tool_param_string(ctx, "partition_meta", &meta)) == HS_OK) {
        if (hs_tool_param_value(ctx, "partition") != NULL)
            return hs_tool_fail(ctx, "enrich: give 'partition' or 'partition_meta', not both");
        if ((rc = hs__enrich_partition_meta(ctx, s, meta)) != HS_OK)
            return rc;
    } else if (rc != HS_ERR_NOTFOUND) {
        return rc;
    }
    if (s->partitions < 1 || s->partitions > 1000000)
        return hs_tool_fail(ctx, "parameter 'partitions' must be in [1, 1000000]");
    if (s->partition < 0 || s->partition >= s->partitions)
        return hs_tool_fail(ctx, "enrich: partition %lld is not in [0, %lld)",
                            (long long)s->partition, (long long)s->partitions);
    const char *miss = "drop";
    if ((rc = hs_tool_param_string(ctx, "on_missing", &miss)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if (strcmp(miss, "drop") == 0)
        s->miss = HS__M_DROP;
    else if (strcmp(miss, "keep") == 0)
        s->miss = HS__M_KEEP;
    else if (strcmp(miss, "null") == 0)
        s->miss = HS__M_NULL;
    else
        return hs_tool_fail(ctx, "enrich: unknown on_missing '%s' (valid: drop, keep, null)", miss);
    return HS_OK;
}

/* ------------------------------------------------------------------ the table */

static int hs__bytes_cmp(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
    uint32_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int hs__row_cmp(const void *x, const void *y)
{
    const hs__row *a = x, *b = y;
    int c = hs__bytes_cmp(a->k, a->klen, b->k, b->klen);
    return c != 0 ? c : (a->order > b->order) - (a->order < b->order);
}

static int hs__name_cmp(const void *x, const void *y)
{
    const hs__name *a = x, *b = y;
    int c = hs__bytes_cmp(a->s, a->len, b->s, b->len);
    return c != 0 ? c : (a->order > b->order) - (a->order < b->order);
}

static int hs__name_order(const void *x, const void *y)
{
    const hs__name *a = x, *b = y;
    return (a->order > b->order) - (a->order < b->order);
}

/* Decodes and indexes the table held in tbuf (t is its time, for warnings). */
static int hs__enrich_load(hs_tool_ctx *ctx, hs__enrich *s, int64_t t)
{
    hs_arena_reset(&s->tarena);
    s->table = NULL;
    s->rows = NULL;
    s->nrows = 0;
    s->names = NULL;
    s->nnames = 0;
    s->names_done = false;
    hs_value *tv;
    int rc = hs_value_decode(&s->tarena, s->tbuf.data, s->tbuf.len, &tv);
    if (rc != HS_OK)
        return hs_tool_fail(ctx, "enrich: the table at %lld cannot be decoded: %s", (long long)t,
                            hs_err_detail());
    if (tv->type != HS_V_MAP) {
        hs_tool_warn(ctx,
                     "enrich: the table at %lld is not a map (key -> fields); it is taken "
                     "as empty",
                     (long long)t);
        return HS_OK;
    }
    s->rows = hs_arena_alloc(&s->tarena, (tv->len ? tv->len : 1) * sizeof *s->rows);
    if (s->rows == NULL)
        return HS_ERR_NOMEM;
    for (uint32_t i = 0; i < tv->len; i++) {
        const hs_value *k = &tv->u.items[2 * i];
        s->rows[i] = (hs__row){k->u.s, k->len, i, &tv->u.items[2 * i + 1]};
    }
    s->nrows = tv->len;
    s->table = tv;
    qsort(s->rows, s->nrows, sizeof *s->rows, hs__row_cmp);
    return HS_OK;
}

/* The fields of key in the current table, or NULL. */
static const hs_value *hs__enrich_find(const hs__enrich *s, const char *k, size_t klen)
{
    size_t lo = 0, hi = s->nrows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (hs__bytes_cmp(s->rows[mid].k, s->rows[mid].klen, k, (uint32_t)klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->nrows && hs__bytes_cmp(s->rows[lo].k, s->rows[lo].klen, k, (uint32_t)klen) == 0)
        return s->rows[lo].row;
    return NULL;
}

/* Every field name of the table's rows, each once, in the order first seen (null mode). */
static int hs__enrich_names(hs__enrich *s)
{
    if (s->names_done)
        return HS_OK;
    const hs_value *tv = s->table;
    size_t total = 0;
    for (uint32_t i = 0; tv != NULL && i < tv->len; i++)
        if (tv->u.items[2 * i + 1].type == HS_V_MAP)
            total += tv->u.items[2 * i + 1].len;
    hs__name *nm = hs_arena_alloc(&s->tarena, (total ? total : 1) * sizeof *nm);
    if (nm == NULL)
        return HS_ERR_NOMEM;
    /* Table order, so that "first seen" follows the table, not the sorted index. */
    size_t n = 0;
    for (uint32_t i = 0; tv != NULL && i < tv->len; i++) {
        const hs_value *r = &tv->u.items[2 * i + 1];
        for (uint32_t j = 0; r->type == HS_V_MAP && j < r->len; j++, n++)
            nm[n] = (hs__name){r->u.items[2 * j].u.s, r->u.items[2 * j].len, (uint32_t)n};
    }
    /* Sort by name (then order) to keep the first of each name, then restore the order. */
    qsort(nm, n, sizeof *nm, hs__name_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || hs__bytes_cmp(nm[u - 1].s, nm[u - 1].len, nm[i].s, nm[i].len) != 0)
            nm[u++] = nm[i];
    qsort(nm, u, sizeof *nm, hs__name_order);
    s->names = nm;
    s->nnames = u;
    s->names_done = true;
    return HS_OK;
}

/* ------------------------------------------------------------------ output */

/* The prefixed name of a table field in s->name. */
static int hs__enrich_name(hs__enrich *s, const char *f, size_t flen)
{
    hs_buf_reset(&s->name);
    int rc = hs_buf_append(&s->name, s->prefix, s->plen);
    return rc != HS_OK ? rc : hs_buf_append(&s->name, f, flen);
}

static bool hs__enrich_in_data(const hs_value *data, const hs_buf *name)
{
    return hs_value_map_get(data, (const char *)name->data, name->len) != NULL;
}

/*
 * Emits data with the fields of row (or, with row NULL, every table field
 * as null) added under their prefixed names, except names data has.
 */
static int hs__enrich_emit(hs_tool_ctx *ctx, hs__enrich *s, int64_t t, const hs_value *data,
                           const hs_value *row)
{
    uint32_t nf = row != NULL ? row->len : (uint32_t)s->nnames, add = 0;
    int rc = HS_OK;
    for (uint32_t i = 0; rc == HS_OK && i < nf; i++) {
        const char *f = row != NULL ? row->u.items[2 * i].u.s : s->names[i].s;
        uint32_t fl = row != NULL ? row->u.items[2 * i].len : s->names[i].len;
        rc = hs__enrich_name(s, f, fl);
        add += rc == HS_OK && !hs__enrich_in_data(data, &s->name);
    }
    hs_buf_reset(&s->out);
    if (rc == HS_OK)
        rc = hs_mp_put_map(&s->out, data->len + add);
    for (uint32_t i = 0; rc == HS_OK && i < data->len; i++) {
        rc = hs_value_encode(&data->u.items[2 * i], &s->out);
        if (rc == HS_OK)
            rc = hs_value_encode(&data->u.items[2 * i + 1], &s->out);
    }
    for (uint32_t i = 0; rc == HS_OK && i < nf; i++) {
        const char *f = row != NULL ? row->u.items[2 * i].u.s : s->names[i].s;
        uint32_t fl = row != NULL ? row->u.items[2 * i].len : s->names[i].len;
        rc = hs__enrich_name(s, f, fl);
        if (rc != HS_OK || hs__enrich_in_data(data, &s->name))
            continue;
        rc = hs_mp_put_str(&s->out, (const char *)s->name.data, s->name.len);
        if (rc == HS_OK)
            rc = row != NULL ? hs_value_encode(&row->u.items[2 * i + 1], &s->out)
                             : hs_mp_put_nil(&s->out);
    }
    return rc != HS_OK ? rc : hs_tool_emit(ctx, t, s->out.data, s->out.len);
}

/* Joins one data instance. */
static int hs__enrich_one(hs_tool_ctx *ctx, hs__enrich *s, int64_t t, const uint8_t *p, size_t len)
{
    hs_arena *a = hs_tool_scratch(ctx);
    hs_arena_reset(a);
    hs_value *data;
    if (hs_value_decode(a, p, len, &data) != HS_OK)
        return hs_tool_fail(ctx, "enrich: the value at %lld cannot be decoded: %s", (long long)t,
                            hs_err_detail());
    if (data->type != HS_V_MAP) {
        hs_tool_warn(ctx, "enrich: the value at %lld is not a map; dropped", (long long)t);
        return HS_OK;
    }
    const hs_value *kv = hs_value_map_get(data, s->key, s->klen);
    char buf[40];
    const char *k = NULL;
    size_t kl = 0;
    if (kv != NULL && kv->type != HS_V_NIL && !hs_tu_key_text(kv, buf, &k, &kl))
        hs_tool_warn(ctx, "enrich: '%s' at %lld is not a string or number; taken as missing",
                     s->key, (long long)t);
    /* Partitions split by key; instances without a key belong to partition 0. */
    uint64_t part = k != NULL ? hs_fnv1a64(k, kl) % (uint64_t)s->partitions : 0;
    if (part != (uint64_t)s->partition)
        return HS_OK;
    const hs_value *row = k != NULL ? hs__enrich_find(s, k, kl) : NULL;
    if (row != NULL && row->type != HS_V_MAP) {
        hs_tool_warn(ctx,
                     "enrich: the table entry '%.*s' is not a map of fields; taken as "
                     "missing",
                     (int)kl, k);
        row = NULL;
    }
    if (row != NULL)
        return hs__enrich_emit(ctx, s, t, data, row);
    switch (s->miss) {
    case HS__M_DROP:
        return HS_OK;
    case HS__M_KEEP:
        return hs_tool_emit(ctx, t, p, len);
    case HS__M_NULL: {
        int rc = hs__enrich_names(s);
        return rc != HS_OK ? rc : hs__enrich_emit(ctx, s, t, data, NULL);
    }
    }
    return HS_OK;
}

static int hs__enrich_run(hs_tool_ctx *ctx, void *state)
{
    hs__enrich *s = state;
    hs_interval iv = hs_tool_interval(ctx);
    int64_t tt = 0;
    int rc = hs_iot_find_last(ctx, 1, iv.start, HS_TIME_MIN - 1, NULL, NULL, &tt, &s->tbuf);
    if (rc < 0)
        return rc;
    bool dirty = rc == 1;
    hs_tool_iter dit, tit;
    if ((rc = hs_tool_iter_open(ctx, 0, iv, &dit)) != HS_OK)
        return rc;
    if ((rc = hs_tool_iter_open(ctx, 1, iv, &tit)) != HS_OK) {
        hs_tool_iter_close(&dit);
        return rc;
    }
    int64_t t, tn = 0;
    const uint8_t *p, *vn = NULL;
    size_t len, ln = 0;
    int tr = hs_tool_iter_next(&tit, &tn, &vn, &ln);
    int r;
    while ((r = hs_tool_iter_next(&dit, &t, &p, &len)) == 1) {
        /* The table as of t: the last version at or before t. */
        while (tr == 1 && tn <= t) {
            hs_buf_reset(&s->tbuf);
            if ((rc = hs_buf_append(&s->tbuf, vn, ln)) != HS_OK)
                goto done;
            tt = tn;
            dirty = true;
            tr = hs_tool_iter_next(&tit, &tn, &vn, &ln);
        }
        if (tr < 0) {
            rc = tr;
            goto done;
        }
        if (dirty) {
            if ((rc = hs__enrich_load(ctx, s, tt)) != HS_OK)
                goto done;
            dirty = false;
        }
        if ((rc = hs__enrich_one(ctx, s, t, p, len)) != HS_OK)
            goto done;
    }
    if (r < 0)
        rc = r;
done:
    hs_tool_iter_close(&tit);
    hs_tool_iter_close(&dit);
    return rc;
}

static const hs_tool_param hs__enrich_params[] = {
    {"key", HS_P_STRING, NULL, "the field of the data value that holds the join key"},
    {"prefix", HS_P_STRING, "null", "prepended to the names of the fields added"},
    {"on_missing", HS_P_STRING, "\"drop\"",
     "a key not in the table: drop, keep (unchanged) or null (the table's fields as null)"},
    {"partitions", HS_P_INT, "1", "the number of partitions the keys are spread over"},
    {"partition", HS_P_INT, "null", "the partition this factor handles, in [0, partitions)"},
    {"partition_meta", HS_P_STRING, "null",
     "instead of partition: the sink's meta-data key whose value is the partition number"},
    {NULL, HS_P_ANY, NULL, NULL},
};

/* on_missing is drop, keep or null. */
static int hs__enrich_check(const char *name, const hs_value *v, hs_buf *err)
{
    static const char *const miss[] = {"drop", "keep", "null"};
    if (strcmp(name, "on_missing") == 0)
        return hs_tool_check_choice(v, miss, sizeof miss / sizeof miss[0], err);
    return HS_OK;
}

const hs_tool_def hs_tool_enrich = {
    .name = "enrich",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 2,
    .max_sources = 2,
    .summary = "Joins each data instance with the row of a lookup table (an asset stream) "
               "current at its time",
    .doc = "Sources: [data, table]. The table stream's values are maps from a key to a map "
           "of fields, e.g. {\"s1\": {\"room\": \"kitchen\", \"floor\": 0}}. For each data "
           "instance (t, v) in the job interval, v a map, the join key is v[key] (strings "
           "as they are, integers in decimal, bools true/false), looked up in the table "
           "whose timestamp is the latest at or before t: a refresh applies from its own "
           "timestamp on, earlier data keeps the older table, and recomputation gives the "
           "same result. When found, emits v plus the row's fields named prefix + field (a "
           "name v already has keeps v's value). When the key is not in the table (or v has "
           "no key, or there is no table yet): on_missing drop (default) skips the instance, "
           "keep emits v unchanged, null emits v plus every field name of the table set to "
           "null (as a SQL left join). Values that are not maps are dropped with a warning. "
           "Partitioning: with partitions N > 1, a factor emits only the instances whose key "
           "hashes to its partition, FNV-1a 64-bit of the key text modulo N (instances "
           "without a key go to partition 0), so N factors with partition 0..N-1 split the "
           "work with each instance emitted exactly once. Two ways to run them: N factors "
           "with the same sources, partition 0..N-1 and sinks enriched_0..enriched_N-1; or "
           "one factor on a plate P (meta part, values \"0\"..\"N-1\") with partition_meta: "
           "part, which makes the scheduler issue one job per partition that the tool "
           "service replicas (sharing one subscription) run in parallel. Parameters: key "
           "(required), prefix, on_missing, partitions (1), partition (0), partition_meta. "
           "Example: {key: sensor, prefix: \"asset_\"} turns {\"sensor\": \"s1\", \"v\": 3} "
           "into {\"sensor\": \"s1\", \"v\": 3, \"asset_room\": \"kitchen\", "
           "\"asset_floor\": 0}. Not a HyperStream tool.",
    .params = hs__enrich_params,
    .check_param = hs__enrich_check,
    .init = hs__enrich_init,
    .run = hs__enrich_run,
    .fini = hs__enrich_fini,
};
