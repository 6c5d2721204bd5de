/*
 * The block layer: writing, reading, counting and deleting a stream's
 * instances over the backends' block primitives (hs_store_impl.h), once for
 * both backends. The rules are in docs/ARCHITECTURE.md ("Compressed
 * blocks").
 */
#include "hs_store_block.h"

#include "hs_alloc.h"
#include "hs_block.h"
#include "hs_error.h"
#include "hs_map.h"
#include "hs_time.h"

#include <stdlib.h>
#include <string.h>

/* An encoded piece of a rewrite, in st->pieces. */
typedef struct hs__piece {
    int64_t t0, t1, n;
    size_t off, len;
} hs__piece;

/* A block copied out of a scan: its bounds, and its bytes in st->copies. */
typedef struct hs__copy {
    int64_t t0, t1, n;
    size_t off, len;
} hs__copy;

/*
 * The writer's cache of the last block of the streams it appends to: an
 * append that is later than the cached block's end goes straight into its
 * encoder, without reading the block back. At most HS__TAILS encoders; the
 * cache is emptied when full, on rollback, on any failed write and when the
 * writer releases memory, and a stream's entry goes whenever anything but an
 * append changes its blocks.
 */
#define HS__TAILS 16384

struct hs__blkst {
    hs_map tails; /* stream id -> hs_block_enc * */
    hs_block_enc enc;
    hs_batch old;    /* decoded blocks of a rewrite */
    hs_batch merged; /* what a rewrite writes back */
    hs_batch tmp;
    size_t *order; /* a write's instances in time order */
    size_t order_cap;
    hs_buf pieces;
    hs__piece *pv;
    size_t npv, pv_cap;
    hs_buf copies;
    hs__copy *cv;
    size_t ncv, cv_cap;
};

void hs__blk_state_free(hs__blkst *st)
{
    if (st == NULL)
        return;
    hs__blk_forget(st, NULL);
    hs_map_free(&st->tails);
    hs_block_enc_free(&st->enc);
    hs_batch_free(&st->old);
    hs_batch_free(&st->merged);
    hs_batch_free(&st->tmp);
    hs_free(st->order);
    hs_buf_free(&st->pieces);
    hs_free(st->pv);
    hs_buf_free(&st->copies);
    hs_free(st->cv);
    hs_free(st);
}

/* The handle's state, made on first use; NULL when memory runs out. */
static hs__blkst *hs__blk_state(hs_store *s)
{
    if (s->blk == NULL) {
        hs__blkst *st = hs_calloc(1, sizeof *st);
        if (st == NULL) {
            hs_err_set(HS_ERR_NOMEM, "store: out of memory");
            return NULL;
        }
        hs_map_init(&st->tails);
        hs_block_enc_init(&st->enc);
        hs_batch_init(&st->old);
        hs_batch_init(&st->merged);
        hs_batch_init(&st->tmp);
        hs_buf_init(&st->pieces, 0);
        hs_buf_init(&st->copies, 0);
        s->blk = st;
    }
    return s->blk;
}

void hs__blk_forget(hs__blkst *st, const char *id)
{
    if (st == NULL)
        return;
    if (id != NULL) {
        hs_block_enc *e = hs_map_remove(&st->tails, id);
        if (e != NULL) {
            hs_block_enc_free(e);
            hs_free(e);
        }
        return;
    }
    size_t pos = 0;
    hs_map_entry *ent;
    while ((ent = hs_map_next(&st->tails, &pos)) != NULL) {
        hs_block_enc_free(ent->value);
        hs_free(ent->value);
    }
    hs_map_free(&st->tails);
    hs_map_init(&st->tails);
}

/* The cached encoder of id's last block, made empty when new. */
static int hs__tail(hs__blkst *st, const char *id, hs_block_enc **out)
{
    hs_block_enc *e = hs_map_get(&st->tails, id);
    if (e == NULL) {
        if (st->tails.n >= HS__TAILS)
            hs__blk_forget(st, NULL);
        e = hs_malloc(sizeof *e);
        if (e == NULL)
            return hs_err_set(HS_ERR_NOMEM, "store: out of memory");
        hs_block_enc_init(e);
        if (hs_map_put(&st->tails, id, e, NULL) != HS_OK) {
            hs_free(e);
            return hs_err_set(HS_ERR_NOMEM, "store: out of memory");
        }
    }
    *out = e;
    return HS_OK;
}

static int hs__grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return HS_OK;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = hs_realloc(*p, c * size);
    if (q == NULL)
        return hs_err_set(HS_ERR_NOMEM, "store: out of memory");
    *p = q;
    *cap = c;
    return HS_OK;
}

/* ---- copying blocks out of scans ---- */

static void hs__copies_reset(hs__blkst *st)
{
    hs_buf_reset(&st->copies);
    st->ncv = 0;
}

static int hs__copy_add(hs__blkst *st, const hs__blk *b)
{
    int rc = hs__grow((void **)&st->cv, &st->cv_cap, st->ncv + 1, sizeof *st->cv);
    if (rc != HS_OK)
        return rc;
    st->cv[st->ncv] = (hs__copy){b->t0, b->t1, b->n, st->copies.len, b->len};
    if (hs_buf_append(&st->copies, b->data, b->len) != HS_OK)
        return hs_err_set(HS_ERR_NOMEM, "store: out of memory");
    st->ncv++;
    return HS_OK;
}

static const uint8_t *hs__copy_data(const hs__blkst *st, size_t i)
{
    return st->copies.data + st->cv[i].off;
}

/* A scan that copies the first block only. */
static int hs__take_first(void *ud, const hs__blk *b)
{
    int rc = hs__copy_add(ud, b);
    return rc != HS_OK ? rc : 1;
}

/* Collects the blocks of a rewrite: the first block, and every following
 * block that overlaps what is collected (left by a crash in the middle of a
 * rewrite on MongoDB). */
typedef struct hs__collect {
    hs__blkst *st;
    int64_t end; /* largest t1 collected */
} hs__collect;

static int hs__collect_fn(void *ud, const hs__blk *b)
{
    hs__collect *c = ud;
    if (c->st->ncv > 0 && b->t0 > c->end)
        return 1;
    int rc = hs__copy_add(c->st, b);
    if (rc != HS_OK)
        return rc;
    if (b->t1 > c->end)
        c->end = b->t1;
    return 0;
}

static int hs__scan(hs_store *s, const char *id, int64_t after, int64_t end, bool desc,
                    hs__blk_fn fn, void *ud)
{
    int rc = s->ops->blk_scan(s, id, after, end, desc, fn, ud);
    return rc > 0 ? HS_OK : rc;
}

static int hs__t0_fn(void *ud, const hs__blk *b)
{
    *(int64_t *)ud = b->t0;
    return 1;
}

/*
 * A scan from *after starts at the block with the largest t0 <= *after; a
 * crash in a rewrite on MongoDB can leave an earlier block overlapping that
 * one. Moves *after back so that a scan from it starts at the earliest block
 * of such a chain (a rewrite must take them all, or it changes one copy of
 * the overlap and reads, which take the earliest block's, miss the change).
 */
static int hs__overlap_start(hs_store *s, const char *id, int64_t end, int64_t *after)
{
    if (!s->ops->may_overlap)
        return HS_OK;
    int64_t first = HS_TIME_MIN - 1;
    int rc = hs__scan(s, id, *after, end, false, hs__t0_fn, &first);
    while (rc == HS_OK && first >= HS_TIME_MIN) {
        int64_t prev = HS_TIME_MIN - 1;
        rc = hs__scan(s, id, first - 1, first - 1, true, hs__t0_fn, &prev);
        if (rc != HS_OK || prev < HS_TIME_MIN)
            break;
        *after = prev - 1;
        first = prev;
    }
    return rc;
}

/*
 * Where decoding the next block goes on from: after, or the last instance
 * put into out since it held n0 if that is later (blocks left overlapping by
 * a crash hold the same values where they overlap).
 */
static int64_t hs__from(const hs_batch *out, size_t n0, int64_t after)
{
    return out->n > n0 && out->items[out->n - 1].t_us > after ? out->items[out->n - 1].t_us : after;
}

/* Decodes the copied blocks (ascending t0) into out (empty): the instances in
 * (after, end], each timestamp once. */
static int hs__decode_copies(hs__blkst *st, int64_t after, int64_t end, hs_batch *out)
{
    for (size_t i = 0; i < st->ncv; i++) {
        int64_t from = hs__from(out, 0, after);
        int rc = hs_block_decode(hs__copy_data(st, i), st->cv[i].len, from, end, SIZE_MAX, out);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

/* ---- writing blocks ---- */

/* Encodes the instances of src (time order, unique) into pieces: as few as
 * the bounds allow, of about equal counts. */
static int hs__encode_pieces(hs__blkst *st, const hs_batch *src)
{
    hs_buf_reset(&st->pieces);
    st->npv = 0;
    size_t k = (src->n + HS_BLOCK_MAX_N - 1) / HS_BLOCK_MAX_N;
    size_t per = k ? (src->n + k - 1) / k : 0;
    hs_block_enc *e = &st->enc;
    hs_block_enc_reset(e);
    for (size_t i = 0; i <= src->n; i++) {
        bool last = i == src->n;
        if (e->n > 0 &&
            (last || e->n >= per || !hs_block_enc_fits(e, src->items[i].t_us, src->items[i].len))) {
            const uint8_t *data;
            size_t len;
            int rc = hs_block_enc_bytes(e, &data, &len);
            if (rc == HS_OK)
                rc = hs__grow((void **)&st->pv, &st->pv_cap, st->npv + 1, sizeof *st->pv);
            if (rc != HS_OK)
                return rc;
            st->pv[st->npv++] =
                (hs__piece){e->t_first, e->t_last, (int64_t)e->n, st->pieces.len, len};
            if (hs_buf_append(&st->pieces, data, len) != HS_OK)
                return hs_err_set(HS_ERR_NOMEM, "store: out of memory");
            hs_block_enc_reset(e);
        }
        if (last)
            break;
        int rc =
            hs_block_enc_append(e, src->items[i].t_us, hs_batch_value(src, i), src->items[i].len);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static int hs__put_piece(hs_store *s, const char *id, const hs__blkst *st, size_t i)
{
    const hs__piece *p = &st->pv[i];
    hs__blk b = {p->t0, p->t1, p->n, st->pieces.data + p->off, p->len};
    return s->ops->blk_put(s, id, &b);
}

static bool hs__piece_has_t0(const hs__blkst *st, int64_t t0)
{
    for (size_t i = 0; i < st->npv; i++)
        if (st->pv[i].t0 == t0)
            return true;
    return false;
}

static bool hs__copy_has_t0(const hs__copy *old, size_t nold, int64_t t0)
{
    for (size_t i = 0; i < nold; i++)
        if (old[i].t0 == t0)
            return true;
    return false;
}

/*
 * Replaces the blocks old[0, nold) by the pieces, in an order that leaves
 * every instance readable at any point (MongoDB has no transactions):
 * pieces with a new t0 first, then those that replace a block with the same
 * t0, then the deletion of the blocks no piece replaced.
 */
static int hs__replace(hs_store *s, const char *id, const hs__blkst *st, const hs__copy *old,
                       size_t nold)
{
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < st->npv; i++)
        if (!hs__copy_has_t0(old, nold, st->pv[i].t0))
            rc = hs__put_piece(s, id, st, i);
    for (size_t i = 0; rc == HS_OK && i < st->npv; i++)
        if (hs__copy_has_t0(old, nold, st->pv[i].t0))
            rc = hs__put_piece(s, id, st, i);
    for (size_t i = 0; rc == HS_OK && i < nold; i++)
        if (!hs__piece_has_t0(st, old[i].t0))
            rc = s->ops->blk_del(s, id, old[i].t0);
    return rc;
}

/* ---- hs_store_write ---- */

typedef struct hs__wctx {
    const hs_batch *b;
    const size_t *order;
    uint8_t *status;
    hs_write_result *res;
} hs__wctx;

static void hs__note(hs__wctx *w, size_t idx, uint8_t what)
{
    if (what == HS_WRITE_INSERTED)
        w->res->inserted++;
    else if (what == HS_WRITE_DUPLICATE)
        w->res->duplicates++;
    else
        w->res->conflicts++;
    if (w->status != NULL)
        w->status[idx] = what;
}

static bool hs__same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

static int hs__cmp_order(const void *a, const void *b, void *ud)
{
    const hs_batch *batch = ud;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int64_t ti = batch->items[i].t_us, tj = batch->items[j].t_us;
    if (ti != tj)
        return ti < tj ? -1 : 1;
    return i < j ? -1 : i > j;
}

/* Fills st->order with the batch's indexes in time order (stable). */
static int hs__sort_order(hs__blkst *st, const hs_batch *b)
{
    int rc = hs__grow((void **)&st->order, &st->order_cap, b->n, sizeof *st->order);
    if (rc != HS_OK)
        return rc;
    bool sorted = true;
    for (size_t i = 0; i < b->n; i++) {
        st->order[i] = i;
        if (i > 0 && b->items[i].t_us < b->items[i - 1].t_us)
            sorted = false;
    }
    if (!sorted)
        qsort_r(st->order, b->n, sizeof *st->order, hs__cmp_order, (void *)b);
    return HS_OK;
}

/*
 * Merges the instances order[from, to) (all at or before the last block's
 * end, all within what one group of blocks covers) into that group.
 */
static int hs__write_group(hs_store *s, const char *id, hs__blkst *st, hs__wctx *w, size_t from,
                           size_t to)
{
    const hs_batch *b = w->b;
    hs_batch_reset(&st->old);
    hs_batch_reset(&st->merged);
    int rc = hs__decode_copies(st, HS_TIME_MIN - 1, HS_TIME_MAX, &st->old);
    if (rc != HS_OK)
        return rc;
    size_t oi = 0, gi = from;
    size_t inserted = 0;
    while (rc == HS_OK && (oi < st->old.n || gi < to)) {
        size_t g = gi < to ? w->order[gi] : 0;
        int64_t gt = gi < to ? b->items[g].t_us : 0;
        if (gi == to || (oi < st->old.n && st->old.items[oi].t_us < gt)) {
            rc = hs_batch_push(&st->merged, st->old.items[oi].t_us, hs_batch_value(&st->old, oi),
                               st->old.items[oi].len);
            oi++;
            continue;
        }
        /* The value at gt that wins: the stored one, else the batch's first. */
        const uint8_t *eff;
        size_t efflen;
        if (oi < st->old.n && st->old.items[oi].t_us == gt) {
            eff = hs_batch_value(&st->old, oi);
            efflen = st->old.items[oi].len;
            oi++;
        } else {
            eff = hs_batch_value(b, g);
            efflen = b->items[g].len;
            hs__note(w, g, HS_WRITE_INSERTED);
            inserted++;
            gi++;
        }
        rc = hs_batch_push(&st->merged, gt, eff, efflen);
        for (; gi < to && b->items[w->order[gi]].t_us == gt; gi++) {
            size_t k = w->order[gi];
            bool same = hs__same(hs_batch_value(b, k), b->items[k].len, eff, efflen);
            hs__note(w, k, same ? HS_WRITE_DUPLICATE : HS_WRITE_CONFLICT);
        }
    }
    if (rc != HS_OK || (inserted == 0 && st->ncv == 1))
        return rc;
    rc = hs__encode_pieces(st, &st->merged);
    return rc == HS_OK ? hs__replace(s, id, st, st->cv, st->ncv) : rc;
}

/* Writes the block that encoder e holds. */
static int hs__put_enc(hs_store *s, const char *id, hs_block_enc *e)
{
    const uint8_t *data;
    size_t len;
    int rc = hs_block_enc_bytes(e, &data, &len);
    hs__blk blk = {e->t_first, e->t_last, (int64_t)e->n, data, len};
    return rc == HS_OK ? s->ops->blk_put(s, id, &blk) : rc;
}

/* Writes order[from, n): instances later than the stream's last, by
 * appending to e, the encoder of its last block (empty when there is
 * none). */
static int hs__write_append(hs_store *s, const char *id, hs_block_enc *e, hs__wctx *w, size_t from)
{
    const hs_batch *b = w->b;
    size_t fresh = 0; /* instances appended to e since it was loaded or written */
    size_t prev = SIZE_MAX;
    for (size_t i = from; i < b->n; i++) {
        size_t k = w->order[i];
        int64_t t = b->items[k].t_us;
        const uint8_t *v = hs_batch_value(b, k);
        if (prev != SIZE_MAX && b->items[prev].t_us == t) {
            bool same = hs__same(v, b->items[k].len, hs_batch_value(b, prev), b->items[prev].len);
            hs__note(w, k, same ? HS_WRITE_DUPLICATE : HS_WRITE_CONFLICT);
            continue;
        }
        if (!hs_block_enc_fits(e, t, b->items[k].len)) {
            if (fresh > 0) {
                int rc = hs__put_enc(s, id, e);
                if (rc != HS_OK)
                    return rc;
            }
            hs_block_enc_reset(e);
            fresh = 0;
        }
        int rc = hs_block_enc_append(e, t, v, b->items[k].len);
        if (rc != HS_OK)
            return rc;
        hs__note(w, k, HS_WRITE_INSERTED);
        fresh++;
        prev = k;
    }
    if (fresh == 0)
        return HS_OK;
    int rc = hs__put_enc(s, id, e);
    /* The encoded copy is made again for the next write: keep the cache small. */
    hs_buf_free(&e->out);
    return rc;
}

static int hs__write(hs__blkst *st, hs_store *s, const char *id, const hs_batch *b, uint8_t *status,
                     hs_write_result *res);

int hs__blk_write(hs_store *s, const char *id, const hs_batch *b, uint8_t *status,
                  hs_write_result *res)
{
    hs__blkst *st = hs__blk_state(s);
    if (st == NULL)
        return HS_ERR_NOMEM;
    int rc = hs__write(st, s, id, b, status, res);
    if (rc != HS_OK)
        hs__blk_forget(st, NULL);
    return rc;
}

static int hs__write(hs__blkst *st, hs_store *s, const char *id, const hs_batch *b, uint8_t *status,
                     hs_write_result *res)
{
    int rc = hs__sort_order(st, b);
    if (rc != HS_OK)
        return rc;
    hs__wctx w = {b, st->order, status, res};
    /* Later than the cached last block: append to it. */
    hs_block_enc *tail = hs_map_get(&st->tails, id);
    if (tail != NULL && tail->n > 0 && b->items[st->order[0]].t_us > tail->t_last)
        return hs__write_append(s, id, tail, &w, 0);
    hs__blk_forget(st, id);
    /* The stream's last block. */
    hs__copies_reset(st);
    rc = hs__scan(s, id, HS_TIME_MIN - 1, HS_TIME_MAX, true, hs__take_first, st);
    if (rc != HS_OK)
        return rc;
    int64_t last = st->ncv > 0 ? st->cv[0].t1 : HS_TIME_MIN - 1;
    /* Instances at or before it go into the blocks that cover them. */
    size_t i = 0;
    bool rewrote = false;
    while (i < b->n && b->items[st->order[i]].t_us <= last) {
        int64_t t = b->items[st->order[i]].t_us;
        int64_t from = t - 1;
        rc = hs__overlap_start(s, id, HS_TIME_MAX, &from);
        if (rc != HS_OK)
            return rc;
        hs__copies_reset(st);
        hs__collect c = {st, HS_TIME_MIN - 1};
        rc = hs__scan(s, id, from, HS_TIME_MAX, false, hs__collect_fn, &c);
        if (rc == HS_OK && st->ncv == 0)
            rc = hs_err_set(HS_ERR_STORE, "store: no block of '%s' covers %lld", id, (long long)t);
        if (rc != HS_OK)
            return rc;
        size_t j = i;
        while (j < b->n && b->items[st->order[j]].t_us <= c.end)
            j++;
        rc = hs__write_group(s, id, st, &w, i, j);
        if (rc != HS_OK)
            return rc;
        rewrote = true;
        i = j;
    }
    if (i == b->n)
        return HS_OK;
    if (rewrote) {
        hs__copies_reset(st);
        rc = hs__scan(s, id, HS_TIME_MIN - 1, HS_TIME_MAX, true, hs__take_first, st);
        if (rc != HS_OK)
            return rc;
    }
    /* st->cv[0] is the last block now, if there is one. */
    hs_block_enc *e = NULL;
    rc = hs__tail(st, id, &e);
    if (rc == HS_OK)
        hs_block_enc_reset(e);
    if (rc == HS_OK && st->ncv > 0)
        rc = hs_block_enc_load(e, hs__copy_data(st, 0), st->cv[0].len);
    return rc == HS_OK ? hs__write_append(s, id, e, &w, i) : rc;
}

/* ---- reading ---- */

typedef struct hs__rctx {
    hs__blkst *st;
    int64_t after, end;
    size_t n;
    hs_batch *out;
    size_t n0;     /* out->n before the read */
    int64_t total; /* desc: instances in range of the blocks copied */
    int64_t low;   /* desc: lowest t0 copied */
} hs__rctx;

static int hs__read_asc_fn(void *ud, const hs__blk *b)
{
    hs__rctx *r = ud;
    size_t have = r->out->n - r->n0;
    int rc = hs_block_decode(b->data, b->len, hs__from(r->out, r->n0, r->after), r->end,
                             r->n - have, r->out);
    if (rc != HS_OK)
        return rc;
    return r->out->n - r->n0 >= r->n ? 1 : 0;
}

static int hs__read_desc_fn(void *ud, const hs__blk *b)
{
    hs__rctx *r = ud;
    int rc = hs__copy_add(r->st, b);
    if (rc != HS_OK)
        return rc;
    /* Its instances in range that no block copied before holds (blocks left
     * overlapping by a crash count once): in (after, min(end, low - 1)]. */
    int64_t hi = r->low - 1 < r->end ? r->low - 1 : r->end;
    int64_t in = 0;
    if (b->t0 > r->after && b->t1 <= hi) {
        in = b->n;
    } else if (hi > r->after) {
        hs_batch_reset(&r->st->tmp);
        rc = hs_block_decode(b->data, b->len, r->after, hi, SIZE_MAX, &r->st->tmp);
        if (rc != HS_OK)
            return rc;
        in = (int64_t)r->st->tmp.n;
    }
    if (b->t0 < r->low)
        r->low = b->t0;
    r->total += in;
    return r->total >= (int64_t)r->n ? 1 : 0;
}

int hs__blk_read(hs_store *s, const char *id, int64_t after, int64_t end, size_t n, bool desc,
                 hs_batch *out)
{
    hs__blkst *st = hs__blk_state(s);
    if (st == NULL)
        return HS_ERR_NOMEM;
    int rc = HS_OK;
    hs__rctx r = {st, after, end, n, out, out->n, 0, HS_TIME_MAX + 1};
    if (!desc)
        return hs__scan(s, id, after, end, false, hs__read_asc_fn, &r);
    /* The last n: copy blocks newest first until they hold n, then decode
     * them oldest first and keep the last n. */
    hs__copies_reset(st);
    rc = hs__scan(s, id, after, end, true, hs__read_desc_fn, &r);
    if (rc != HS_OK || st->ncv == 0)
        return rc;
    for (size_t i = 0, j = st->ncv - 1; i < j; i++, j--) {
        hs__copy tmp = st->cv[i];
        st->cv[i] = st->cv[j];
        st->cv[j] = tmp;
    }
    hs_batch_reset(&st->tmp);
    rc = hs__decode_copies(st, after, end, &st->tmp);
    size_t skip = st->tmp.n > n ? st->tmp.n - n : 0;
    for (size_t i = st->tmp.n; rc == HS_OK && i > skip; i--)
        rc = hs_batch_push(out, st->tmp.items[i - 1].t_us, hs_batch_value(&st->tmp, i - 1),
                           st->tmp.items[i - 1].len);
    return rc;
}

typedef struct hs__cctx {
    hs__blkst *st;
    hs_interval range;
    int64_t last; /* latest time counted */
    int64_t n;
} hs__cctx;

static int hs__count_fn(void *ud, const hs__blk *b)
{
    hs__cctx *c = ud;
    if (b->t0 > c->last && b->t0 > c->range.start && b->t1 <= c->range.end) {
        c->n += b->n;
        c->last = b->t1;
        return 0;
    }
    hs_batch_reset(&c->st->tmp);
    int64_t from = c->last > c->range.start ? c->last : c->range.start;
    int rc = hs_block_decode(b->data, b->len, from, c->range.end, SIZE_MAX, &c->st->tmp);
    if (rc != HS_OK)
        return rc;
    c->n += (int64_t)c->st->tmp.n;
    int64_t seen = b->t1 < c->range.end ? b->t1 : c->range.end;
    if (seen > c->last)
        c->last = seen;
    return 0;
}

int hs__blk_count(hs_store *s, const char *id, hs_interval range, int64_t *n)
{
    hs__blkst *st = hs__blk_state(s);
    if (st == NULL)
        return HS_ERR_NOMEM;
    int rc = HS_OK;
    hs__cctx c = {st, range, range.start, 0};
    rc = hs__scan(s, id, range.start, range.end, false, hs__count_fn, &c);
    if (rc == HS_OK)
        *n = c.n;
    return rc;
}

/* ---- deleting ---- */

static int hs__copy_meta(void *ud, const hs__blk *b)
{
    hs__cctx *c = ud;
    hs__blk meta = *b;
    /* Blocks wholly inside the range are deleted unread: keep their bounds only. */
    if (b->t0 > c->range.start && b->t1 <= c->range.end)
        meta.len = 0;
    return hs__copy_add(c->st, &meta);
}

int hs__blk_delete_range(hs_store *s, const char *id, hs_interval range, int64_t *deleted)
{
    hs__blkst *st = hs__blk_state(s);
    if (st == NULL)
        return HS_ERR_NOMEM;
    int rc = HS_OK;
    hs__blk_forget(st, id);
    /* Collect first, change afterwards: a backend's scan may not see its own
     * changes consistently. */
    int64_t from = range.start;
    rc = hs__overlap_start(s, id, range.end, &from);
    if (rc != HS_OK)
        return rc;
    hs__copies_reset(st);
    hs__cctx c = {st, range, range.start, 0};
    rc = hs__scan(s, id, from, range.end, false, hs__copy_meta, &c);
    if (rc != HS_OK)
        return rc;
    size_t ncv = st->ncv;
    for (size_t i = 0; rc == HS_OK && i < ncv; i++) {
        hs__copy cp = st->cv[i];
        if (cp.len == 0) {
            rc = s->ops->blk_del(s, id, cp.t0);
            if (rc == HS_OK)
                *deleted += cp.n;
            continue;
        }
        /* An edge block: keep what lies outside the range. */
        hs_batch_reset(&st->tmp);
        rc = hs_block_decode(st->copies.data + cp.off, cp.len, HS_TIME_MIN - 1, HS_TIME_MAX,
                             SIZE_MAX, &st->tmp);
        hs_batch_reset(&st->merged);
        for (size_t k = 0; rc == HS_OK && k < st->tmp.n; k++) {
            int64_t t = st->tmp.items[k].t_us;
            if (t > range.start && t <= range.end)
                continue;
            rc = hs_batch_push(&st->merged, t, hs_batch_value(&st->tmp, k), st->tmp.items[k].len);
        }
        if (rc != HS_OK)
            break;
        *deleted += (int64_t)(st->tmp.n - st->merged.n);
        if (st->merged.n == st->tmp.n)
            continue;
        if (st->merged.n == 0) {
            rc = s->ops->blk_del(s, id, cp.t0);
            continue;
        }
        /* Rewrite it through the same ordered replacement as a merge. */
        rc = hs__encode_pieces(st, &st->merged);
        if (rc == HS_OK)
            rc = hs__replace(s, id, st, &cp, 1);
    }
    return rc;
}
