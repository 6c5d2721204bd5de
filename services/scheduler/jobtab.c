#include "jobtab.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_map.h"

#include <stdio.h>
#include <string.h>

/* A doubly linked list of jobs through prev/next. */
typedef struct jobtab_list {
    jobtab_job *head, *tail;
    size_t n;
} jobtab_list;

/* The jobs of one unit, through uprev/unext; owned by the table's unit map. */
struct jobtab_unit {
    jobtab_job *head, *tail;
    size_t n;
    char *key; /* owned: the map key, to remove the entry when the list empties */
};

struct jobtab {
    hs_map ids;                        /* id -> jobtab_job* (borrowed) */
    hs_map units;                      /* "group|factor|unit" -> jobtab_unit* (owned) */
    jobtab_list live;                  /* queued and dispatched jobs in creation (seq) order */
    jobtab_list lists[JOBTAB_NSTATES]; /* done and failed jobs (the others are in live) */
    size_t count[JOBTAB_NSTATES];      /* jobs per state */
    jobtab_job **heap;                 /* owned: dispatched jobs, min-heap by deadline */
    size_t nheap, capheap;
    size_t alone; /* dispatched jobs running alone */
    uint64_t seq; /* the last sequence number given */
    uint64_t steps;
};

int jobtab_create(jobtab **out)
{
    *out = NULL;
    jobtab *jt = hs_calloc(1, sizeof *jt);
    if (jt == NULL)
        return HS_ERR_NOMEM;
    hs_map_init(&jt->ids);
    hs_map_init(&jt->units);
    *out = jt;
    return HS_OK;
}

void jobtab_destroy(jobtab *jt)
{
    if (jt == NULL)
        return;
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&jt->units, &pos)) != NULL) {
        jobtab_unit *ul = e->value;
        hs_free(ul->key);
        hs_free(ul);
    }
    hs_map_free(&jt->units);
    hs_map_free(&jt->ids);
    hs_free(jt->heap);
    hs_free(jt);
}

/* ------------------------------------------------------------------ lists */

static void jobtab__append(jobtab_list *l, jobtab_job *j)
{
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->n++;
}

static void jobtab__unlink(jobtab_list *l, jobtab_job *j)
{
    if (j->prev != NULL)
        j->prev->next = j->next;
    else
        l->head = j->next;
    if (j->next != NULL)
        j->next->prev = j->prev;
    else
        l->tail = j->prev;
    j->prev = j->next = NULL;
    l->n--;
}

/*
 * Inserts j into the list at its place by seq: at either end at once, else
 * walking from the tail. Only a job that ended and is queued again (a new
 * request retries a failed job) takes this path.
 */
static void jobtab__insert_sorted(jobtab *jt, jobtab_list *l, jobtab_job *j)
{
    jobtab_job *after = l->tail;
    if (l->head != NULL && j->seq < l->head->seq)
        after = NULL;
    while (after != NULL && after->seq > j->seq) {
        jt->steps++;
        after = after->prev;
    }
    j->prev = after;
    j->next = after != NULL ? after->next : l->head;
    if (j->next != NULL)
        j->next->prev = j;
    else
        l->tail = j;
    if (after != NULL)
        after->next = j;
    else
        l->head = j;
    l->n++;
}

static bool jobtab__is_live(int state)
{
    return state == JOBTAB_QUEUED || state == JOBTAB_DISPATCHED;
}

static jobtab_list *jobtab__list_of(jobtab *jt, int state)
{
    return jobtab__is_live(state) ? &jt->live : &jt->lists[state];
}

/* ------------------------------------------------------------------ deadline heap */

static bool jobtab__before(const jobtab_job *a, const jobtab_job *b)
{
    return a->deadline_us < b->deadline_us || (a->deadline_us == b->deadline_us && a->seq < b->seq);
}

static void jobtab__heap_set(jobtab *jt, size_t i, jobtab_job *j)
{
    jt->heap[i] = j;
    j->heap_pos = i + 1;
}

static void jobtab__sift_up(jobtab *jt, size_t i)
{
    jobtab_job *j = jt->heap[i];
    while (i > 0) {
        jt->steps++;
        size_t parent = (i - 1) / 2;
        if (!jobtab__before(j, jt->heap[parent]))
            break;
        jobtab__heap_set(jt, i, jt->heap[parent]);
        i = parent;
    }
    jobtab__heap_set(jt, i, j);
}

static void jobtab__sift_down(jobtab *jt, size_t i)
{
    jobtab_job *j = jt->heap[i];
    for (;;) {
        jt->steps++;
        size_t c = 2 * i + 1;
        if (c >= jt->nheap)
            break;
        if (c + 1 < jt->nheap && jobtab__before(jt->heap[c + 1], jt->heap[c]))
            c++;
        if (!jobtab__before(jt->heap[c], j))
            break;
        jobtab__heap_set(jt, i, jt->heap[c]);
        i = c;
    }
    jobtab__heap_set(jt, i, j);
}

/* The heap has room for every dispatched job: it grows when a job is added to the table. */
static void jobtab__heap_push(jobtab *jt, jobtab_job *j)
{
    jt->heap[jt->nheap] = j;
    jt->nheap++;
    jobtab__sift_up(jt, jt->nheap - 1);
}

static void jobtab__heap_remove(jobtab *jt, jobtab_job *j)
{
    size_t i = j->heap_pos - 1;
    j->heap_pos = 0;
    jt->nheap--;
    if (i == jt->nheap)
        return;
    jobtab_job *moved = jt->heap[jt->nheap];
    jobtab__heap_set(jt, i, moved);
    jobtab__sift_down(jt, i);
    jobtab__sift_up(jt, moved->heap_pos - 1);
}

/* ------------------------------------------------------------------ units */

static void jobtab__unit_key(char *buf, size_t len, const char *group, size_t factor, size_t unit)
{
    snprintf(buf, len, "%s|%zu|%zu", group, factor, unit);
}

/* The list of unit key, created when new; NULL without memory. */
static jobtab_unit *jobtab__unit_get(jobtab *jt, const char *key)
{
    jobtab_unit *ul = hs_map_get(&jt->units, key);
    if (ul != NULL)
        return ul;
    ul = hs_calloc(1, sizeof *ul);
    if (ul == NULL)
        return NULL;
    ul->key = hs_strdup(key);
    if (ul->key == NULL || hs_map_put(&jt->units, key, ul, NULL) != HS_OK) {
        hs_free(ul->key);
        hs_free(ul);
        return NULL;
    }
    return ul;
}

/* Appends j to the list ul. */
static void jobtab__unit_append(jobtab_unit *ul, jobtab_job *j)
{
    j->ulist = ul;
    j->unext = NULL;
    j->uprev = ul->tail;
    if (ul->tail != NULL)
        ul->tail->unext = j;
    else
        ul->head = j;
    ul->tail = j;
    ul->n++;
}

/* Takes j out of its unit's list (freed when it was the last). */
static void jobtab__unit_unlink(jobtab *jt, jobtab_job *j)
{
    jobtab_unit *ul = j->ulist;
    if (j->uprev != NULL)
        j->uprev->unext = j->unext;
    else
        ul->head = j->unext;
    if (j->unext != NULL)
        j->unext->uprev = j->uprev;
    else
        ul->tail = j->uprev;
    if (--ul->n == 0) {
        hs_map_remove(&jt->units, ul->key);
        hs_free(ul->key);
        hs_free(ul);
    }
    j->ulist = NULL;
}

/* ------------------------------------------------------------------ jobs */

int jobtab_add(jobtab *jt, jobtab_job *j, const char *id, const char *group, size_t factor,
               size_t unit, hs_interval iv)
{
    if (jt == NULL || j == NULL || id == NULL || group == NULL || strlen(id) >= sizeof j->id)
        return hs_err_set(HS_ERR_INVAL, "jobtab_add: bad arguments");
    if (hs_map_get(&jt->ids, id) != NULL)
        return hs_err_set(HS_ERR_EXISTS, "job %s is in the table already", id);
    /* Room in the heap for every job, so that dispatching never fails. */
    size_t total = jt->ids.n + 1;
    if (hs_grow(&jt->heap, &jt->capheap, total, sizeof *jt->heap, 1024) != HS_OK)
        return HS_ERR_NOMEM;
    char key[512];
    jobtab__unit_key(key, sizeof key, group, factor, unit);
    memset(j, 0, sizeof *j);
    snprintf(j->id, sizeof j->id, "%s", id);
    if (hs_map_put(&jt->ids, j->id, j, NULL) != HS_OK)
        return HS_ERR_NOMEM;
    jobtab_unit *ul = jobtab__unit_get(jt, key);
    if (ul == NULL) {
        hs_map_remove(&jt->ids, j->id);
        return HS_ERR_NOMEM;
    }
    jobtab__unit_append(ul, j);
    j->factor = factor;
    j->unit = unit;
    j->iv = iv;
    j->state = JOBTAB_QUEUED;
    j->seq = ++jt->seq;
    jobtab__append(&jt->live, j);
    jt->count[JOBTAB_QUEUED]++;
    return HS_OK;
}

int jobtab_set_unit(jobtab *jt, jobtab_job *j, const char *group, size_t unit)
{
    if (jt == NULL || j == NULL || group == NULL || j->ulist == NULL)
        return hs_err_set(HS_ERR_INVAL, "jobtab_set_unit: bad arguments");
    if (unit == j->unit)
        return HS_OK;
    char key[512];
    jobtab__unit_key(key, sizeof key, group, j->factor, unit);
    /* The new list exists before j leaves the old one: out of memory changes nothing. */
    jobtab_unit *ul = jobtab__unit_get(jt, key);
    if (ul == NULL)
        return HS_ERR_NOMEM;
    jobtab__unit_unlink(jt, j);
    jobtab__unit_append(ul, j);
    j->unit = unit;
    return HS_OK;
}

void jobtab_remove(jobtab *jt, jobtab_job *j)
{
    if (jt == NULL || j == NULL)
        return;
    if (j->state == JOBTAB_DISPATCHED && j->alone && jt->alone > 0)
        jt->alone--;
    if (j->heap_pos != 0)
        jobtab__heap_remove(jt, j);
    jobtab__unlink(jobtab__list_of(jt, j->state), j);
    jt->count[j->state]--;
    jobtab__unit_unlink(jt, j);
    hs_map_remove(&jt->ids, j->id);
}

jobtab_job *jobtab_find(const jobtab *jt, const char *id)
{
    return jt != NULL && id != NULL ? hs_map_get(&jt->ids, id) : NULL;
}

void jobtab_set_state(jobtab *jt, jobtab_job *j, int state, int64_t deadline_us)
{
    if (jt == NULL || j == NULL || state < 0 || state >= JOBTAB_NSTATES)
        return;
    int old = j->state;
    if (old == JOBTAB_DISPATCHED) {
        if (j->alone && jt->alone > 0)
            jt->alone--;
        j->alone = false;
        if (j->heap_pos != 0)
            jobtab__heap_remove(jt, j);
    }
    /* Live jobs keep their place in the order while they are dispatched and queued again. */
    if (jobtab__is_live(old) != jobtab__is_live(state) || !jobtab__is_live(state)) {
        jobtab__unlink(jobtab__list_of(jt, old), j);
        if (jobtab__is_live(state))
            jobtab__insert_sorted(jt, &jt->live, j);
        else
            jobtab__append(&jt->lists[state], j);
    }
    jt->count[old]--;
    jt->count[state]++;
    j->state = state;
    if (state == JOBTAB_DISPATCHED) {
        j->deadline_us = deadline_us;
        jobtab__heap_push(jt, j);
    }
}

void jobtab_set_alone(jobtab *jt, jobtab_job *j)
{
    if (jt == NULL || j == NULL || j->state != JOBTAB_DISPATCHED || j->alone)
        return;
    j->alone = true;
    jt->alone++;
}

size_t jobtab_count(const jobtab *jt, int state)
{
    if (jt == NULL)
        return 0;
    if (state < 0)
        return jt->ids.n;
    if (state >= JOBTAB_NSTATES)
        return 0;
    return jt->count[state];
}

jobtab_job *jobtab_expired(const jobtab *jt, int64_t now_us)
{
    if (jt == NULL || jt->nheap == 0 || jt->heap[0]->deadline_us > now_us)
        return NULL;
    return jt->heap[0];
}

bool jobtab_may_dispatch(const jobtab *jt, int64_t max_inflight)
{
    return jt->alone == 0 && (int64_t)jt->count[JOBTAB_DISPATCHED] < max_inflight;
}

enum jobtab_verdict jobtab_admit(const jobtab *jt, int attempt, int64_t max_attempts)
{
    if (jt->alone > 0)
        return JOBTAB_STOP;
    if (attempt > 0 && attempt + 1 >= max_attempts)
        return jt->count[JOBTAB_DISPATCHED] == 0 ? JOBTAB_GO_ALONE : JOBTAB_STOP;
    return JOBTAB_GO;
}

jobtab_job *jobtab_queue_first(const jobtab *jt, jobtab_iter *it)
{
    it->next = jt->live.head;
    return jobtab_queue_next(it);
}

jobtab_job *jobtab_queue_next(jobtab_iter *it)
{
    /* Dispatched jobs are skipped: at most max_inflight of them. */
    jobtab_job *j = it->next;
    while (j != NULL && j->state != JOBTAB_QUEUED)
        j = j->next;
    it->next = j != NULL ? j->next : NULL;
    return j;
}

jobtab_job *jobtab_live_first(const jobtab *jt)
{
    return jt != NULL ? jt->live.head : NULL;
}

jobtab_job *jobtab_state_first(const jobtab *jt, int state)
{
    if (jt == NULL || state < 0 || state >= JOBTAB_NSTATES || jobtab__is_live(state))
        return NULL;
    return jt->lists[state].head;
}

jobtab_job *jobtab_next(const jobtab_job *j)
{
    return j->next;
}

jobtab_job *jobtab_unit_first(const jobtab *jt, const char *group, size_t factor, size_t unit)
{
    char key[512];
    jobtab__unit_key(key, sizeof key, group, factor, unit);
    jobtab_unit *ul = hs_map_get(&jt->units, key);
    return ul != NULL ? ul->head : NULL;
}

jobtab_job *jobtab_unit_next(const jobtab_job *j)
{
    return j->unext;
}

uint64_t jobtab_steps(const jobtab *jt)
{
    return jt->steps;
}
