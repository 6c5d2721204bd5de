/*
 * The writer's dependency index and change ring (wdeps.h).
 */
#include "wdeps.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_map.h"

#include <string.h>

/* A stream that sinks read: who reads it. Kept until the index is destroyed. */
typedef struct wsrc {
    char *id;        /* owned */
    wdeps_reader *v; /* owned, each sink owned */
    size_t n, cap;
    /*
     * Sink -> its index in v + 1, kept once more than WSRC_INDEX_MIN sinks
     * read the stream (a fleet's clock is read by every device's sink), so
     * that dropping a reader does not walk them all.
     */
    hs_map at;
    bool indexed;
} wsrc;

#define WSRC_INDEX_MIN 32
/* Lists longer than this are checked for repeats with a hash map. */
#define WDEPS_LINEAR_MAX 16

/* What a sink reads. */
typedef struct wsink {
    char **sources; /* owned */
    size_t n;
    int64_t lookback_us, max_lateness_us;
} wsink;

/* One change of a stream that sinks read. */
typedef struct wchange {
    const wsrc *src; /* borrowed from the index */
    int64_t lo, hi;
    uint64_t seq;
} wchange;

struct wdeps {
    hs_map srcs;  /* stream id -> wsrc* */
    hs_map sinks; /* sink id -> wsink* */
    wchange *ring;
    size_t cap, head, n, max;
    uint64_t dropped_seq; /* sequence number of the newest change dropped from the ring */
};

static void wsink_free(wsink *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++)
        hs_free(k->sources[i]);
    hs_free(k->sources);
    hs_free(k);
}

int wdeps_create(wdeps **out, size_t ring_max)
{
    *out = NULL;
    wdeps *d = hs_calloc(1, sizeof *d);
    if (d == NULL)
        return HS_ERR_NOMEM;
    hs_map_init(&d->srcs);
    hs_map_init(&d->sinks);
    d->max = ring_max > 0 ? ring_max : 1;
    *out = d;
    return HS_OK;
}

void wdeps_destroy(wdeps *d)
{
    if (d == NULL)
        return;
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&d->srcs, &pos)) != NULL) {
        wsrc *s = e->value;
        for (size_t i = 0; i < s->n; i++)
            hs_free((char *)s->v[i].sink);
        hs_free(s->v);
        hs_free(s->id);
        hs_map_free(&s->at);
        hs_free(s);
    }
    hs_map_free(&d->srcs);
    pos = 0;
    while ((e = hs_map_next(&d->sinks, &pos)) != NULL)
        wsink_free(e->value);
    hs_map_free(&d->sinks);
    hs_free(d->ring);
    hs_free(d);
}

/* Forgets the index of s's readers (it is built again when needed). */
static void wsrc_unindex(wsrc *s)
{
    if (s->indexed)
        hs_map_free(&s->at);
    hs_map_init(&s->at);
    s->indexed = false;
}

/* Indexes s's readers once there are many; false when memory ran out (then unindexed). */
static void wsrc_index(wsrc *s)
{
    if (s->indexed || s->n <= WSRC_INDEX_MIN)
        return;
    hs_map_init(&s->at);
    s->indexed = true;
    for (size_t i = 0; i < s->n; i++) {
        if (hs_map_put(&s->at, s->v[i].sink, (void *)(uintptr_t)(i + 1), NULL) != HS_OK) {
            wsrc_unindex(s);
            return;
        }
    }
}

/* Appends reader r (its sink owned from now on) to s. HS_ERR_NOMEM: s unchanged. */
static int wsrc_add_reader(wsrc *s, wdeps_reader r)
{
    if (hs_grow(&s->v, &s->cap, s->n + 1, sizeof *s->v, 4) != HS_OK)
        return HS_ERR_NOMEM;
    s->v[s->n++] = r;
    if (s->indexed && hs_map_put(&s->at, r.sink, (void *)(uintptr_t)s->n, NULL) != HS_OK)
        wsrc_unindex(s);
    wsrc_index(s);
    return HS_OK;
}

/* Removes sink from the readers of stream id. */
static void wsrc_drop_reader(wdeps *d, const char *id, const char *sink)
{
    wsrc *s = hs_map_get(&d->srcs, id);
    if (s == NULL)
        return;
    size_t i = s->n;
    if (s->indexed) {
        uintptr_t at = (uintptr_t)hs_map_remove(&s->at, sink);
        if (at == 0)
            return;
        i = at - 1;
    } else {
        for (i = 0; i < s->n && strcmp(s->v[i].sink, sink) != 0; i++)
            ;
        if (i == s->n)
            return;
    }
    hs_free((char *)s->v[i].sink);
    s->v[i] = s->v[--s->n];
    if (s->indexed && i < s->n &&
        hs_map_put(&s->at, s->v[i].sink, (void *)(uintptr_t)(i + 1), NULL) != HS_OK)
        wsrc_unindex(s);
}

static wsrc *wsrc_get(wdeps *d, const char *id)
{
    wsrc *s = hs_map_get(&d->srcs, id);
    if (s != NULL)
        return s;
    s = hs_calloc(1, sizeof *s);
    if (s != NULL)
        hs_map_init(&s->at);
    if (s == NULL || (s->id = hs_strdup(id)) == NULL ||
        hs_map_put(&d->srcs, id, s, NULL) != HS_OK) {
        if (s != NULL)
            hs_free(s->id);
        hs_free(s);
        return NULL;
    }
    return s;
}

int wdeps_set(wdeps *d, const char *sink, const char *const *sources, size_t n, int64_t lookback_us,
              int64_t max_lateness_us)
{
    wsink *old = hs_map_remove(&d->sinks, sink);
    for (size_t i = 0; old != NULL && i < old->n; i++)
        wsrc_drop_reader(d, old->sources[i], sink);
    wsink_free(old);
    wsink *k = hs_calloc(1, sizeof *k);
    if (k == NULL)
        return HS_ERR_NOMEM;
    k->sources = hs_calloc(n ? n : 1, sizeof *k->sources);
    k->lookback_us = lookback_us;
    k->max_lateness_us = max_lateness_us;
    if (k->sources == NULL || hs_map_put(&d->sinks, sink, k, NULL) != HS_OK) {
        wsink_free(k);
        return HS_ERR_NOMEM;
    }
    /* Repeats are read once; a long list (a fleet aggregate's) is checked with a map. */
    hs_map seen;
    hs_map_init(&seen);
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        bool dup = false;
        if (n > WDEPS_LINEAR_MAX) {
            dup = hs_map_get(&seen, sources[i]) != NULL;
            if (!dup)
                rc = hs_map_put(&seen, sources[i], (void *)1, NULL);
        } else {
            for (size_t j = 0; j < k->n && !dup; j++)
                dup = strcmp(k->sources[j], sources[i]) == 0;
        }
        if (dup || rc != HS_OK)
            continue;
        wsrc *s = wsrc_get(d, sources[i]);
        char *copy = hs_strdup(sources[i]);
        char *who = hs_strdup(sink);
        if (s == NULL || copy == NULL || who == NULL ||
            wsrc_add_reader(s, (wdeps_reader){who, lookback_us, max_lateness_us}) != HS_OK) {
            hs_free(copy);
            hs_free(who);
            rc = HS_ERR_NOMEM;
            continue;
        }
        k->sources[k->n++] = copy;
    }
    hs_map_free(&seen);
    if (rc != HS_OK) {
        /* Without the sink rather than with part of its sources. */
        for (size_t j = 0; j < k->n; j++)
            wsrc_drop_reader(d, k->sources[j], sink);
        wsink_free(hs_map_remove(&d->sinks, sink));
        return HS_ERR_NOMEM;
    }
    return HS_OK;
}

void wdeps_clear_sinks(wdeps *d)
{
    size_t pos = 0;
    hs_map_entry *e;
    /* The streams stay: changes in the ring borrow them. */
    while ((e = hs_map_next(&d->srcs, &pos)) != NULL) {
        wsrc *s = e->value;
        for (size_t i = 0; i < s->n; i++)
            hs_free((char *)s->v[i].sink);
        s->n = 0;
        wsrc_unindex(s);
    }
    pos = 0;
    while ((e = hs_map_next(&d->sinks, &pos)) != NULL)
        wsink_free(e->value);
    hs_map_free(&d->sinks);
    hs_map_init(&d->sinks);
}

/* wdeps_same for a long list, with hash maps (false when memory runs out: defined again). */
static bool wdeps_same_long(const wsink *k, const char *const *sources, size_t n)
{
    hs_map stored, given;
    hs_map_init(&stored);
    hs_map_init(&given);
    bool same = true;
    for (size_t j = 0; same && j < k->n; j++)
        same = hs_map_put(&stored, k->sources[j], (void *)1, NULL) == HS_OK;
    size_t distinct = 0;
    for (size_t i = 0; same && i < n; i++) {
        same = hs_map_get(&stored, sources[i]) != NULL;
        if (same && hs_map_get(&given, sources[i]) == NULL) {
            same = hs_map_put(&given, sources[i], (void *)1, NULL) == HS_OK;
            distinct++;
        }
    }
    hs_map_free(&stored);
    hs_map_free(&given);
    return same && distinct == k->n;
}

bool wdeps_same(const wdeps *d, const char *sink, const char *const *sources, size_t n,
                int64_t lookback_us, int64_t max_lateness_us)
{
    const wsink *k = hs_map_get(&d->sinks, sink);
    if (k == NULL || k->lookback_us != lookback_us || k->max_lateness_us != max_lateness_us)
        return false;
    /* The stored list has no repeats: every given source is in it, and as many distinct. */
    if (n > WDEPS_LINEAR_MAX)
        return wdeps_same_long(k, sources, n);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        bool found = false, repeat = false;
        for (size_t j = 0; j < k->n && !found; j++)
            found = strcmp(k->sources[j], sources[i]) == 0;
        for (size_t j = 0; j < i && !repeat; j++)
            repeat = strcmp(sources[j], sources[i]) == 0;
        if (!found)
            return false;
        distinct += !repeat;
    }
    return distinct == k->n;
}

const wdeps_reader *wdeps_readers(const wdeps *d, const char *id, size_t *n)
{
    const wsrc *s = hs_map_get(&d->srcs, id);
    *n = s != NULL ? s->n : 0;
    return s != NULL ? s->v : NULL;
}

bool wdeps_of(const wdeps *d, const char *sink, const char *const **sources, size_t *n,
              int64_t *lookback_us)
{
    const wsink *k = hs_map_get(&d->sinks, sink);
    if (k == NULL)
        return false;
    *sources = (const char *const *)k->sources;
    *n = k->n;
    *lookback_us = k->lookback_us;
    return true;
}

/* The i-th oldest change. */
static wchange *ring_at(const wdeps *d, size_t i)
{
    return &d->ring[(d->head + i) % d->cap];
}

int wdeps_change(wdeps *d, const char *id, int64_t lo_us, int64_t hi_us, uint64_t seq)
{
    const wsrc *s = hs_map_get(&d->srcs, id);
    if (s == NULL || s->n == 0)
        return HS_OK;
    if (d->n == d->cap && d->cap < d->max) {
        size_t cap = d->cap == 0 ? 1024 : d->cap * 2;
        if (cap > d->max)
            cap = d->max;
        wchange *v = hs_malloc(cap * sizeof *v);
        if (v == NULL)
            return HS_ERR_NOMEM;
        for (size_t i = 0; i < d->n; i++)
            v[i] = *ring_at(d, i);
        hs_free(d->ring);
        d->ring = v;
        d->cap = cap;
        d->head = 0;
    }
    if (d->n == d->cap) {
        /* Full: the oldest change goes; jobs older than it are treated as having missed it. */
        d->dropped_seq = ring_at(d, 0)->seq;
        d->head = (d->head + 1) % d->cap;
        d->n--;
    }
    *ring_at(d, d->n) = (wchange){s, lo_us, hi_us, seq};
    d->n++;
    return HS_OK;
}

void wdeps_forget_from(wdeps *d, uint64_t seq)
{
    while (d->n > 0 && ring_at(d, d->n - 1)->seq >= seq)
        d->n--;
}

int wdeps_changes_since(const wdeps *d, uint64_t after, const char *const *sources, size_t n,
                        hs_interval range, wdeps_change_fn fn, void *ud, bool *complete)
{
    *complete = d->dropped_seq <= after;
    /* The first change above after: sequence numbers grow along the ring. */
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring_at(d, mid)->seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < d->n; i++) {
        const wchange *c = ring_at(d, i);
        if (c->hi <= range.start || c->lo > range.end)
            continue;
        bool mine = false;
        for (size_t k = 0; k < n && !mine; k++)
            mine = strcmp(c->src->id, sources[k]) == 0;
        if (!mine)
            continue;
        int rc = fn(ud, c->src->id, c->lo, c->hi);
        if (rc != 0)
            return rc;
    }
    return HS_OK;
}

size_t wdeps_ring_size(const wdeps *d)
{
    return d->n;
}
