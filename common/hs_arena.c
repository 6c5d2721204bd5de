#include "hs_arena.h"

#include "hs_alloc.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#define HS__ARENA_DEFAULT_CHUNK (64u * 1024u)
#define HS__ARENA_ALIGN         alignof(max_align_t)

struct hs_arena_chunk {
    hs_arena_chunk *next; /* older chunk (or, for a large request, the one behind it) */
    unsigned char *data;  /* first usable byte, aligned; points into this allocation */
    size_t size;          /* usable bytes at data */
    size_t used;          /* bytes of data handed out */
};

/* Rounds n up to the alignment; the caller has checked that this cannot overflow. */
static size_t hs__arena_round(size_t n)
{
    return (n + HS__ARENA_ALIGN - 1) & ~(size_t)(HS__ARENA_ALIGN - 1);
}

/*
 * A chunk with size usable bytes. The data area is aligned by hand rather
 * than relying on malloc's alignment, which sanitizer allocators may lower.
 */
static hs_arena_chunk *hs__arena_chunk_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(hs_arena_chunk) - HS__ARENA_ALIGN)
        return NULL;
    hs_arena_chunk *c = hs_malloc(sizeof(hs_arena_chunk) + HS__ARENA_ALIGN - 1 + size);
    if (c == NULL)
        return NULL;
    uintptr_t p = (uintptr_t)(c + 1);
    p = (p + HS__ARENA_ALIGN - 1) & ~(uintptr_t)(HS__ARENA_ALIGN - 1);
    c->data = (unsigned char *)p;
    c->size = size;
    c->used = 0;
    c->next = NULL;
    return c;
}

void hs_arena_init(hs_arena *a, size_t chunk_size, size_t limit)
{
    if (chunk_size == 0)
        chunk_size = HS__ARENA_DEFAULT_CHUNK;
    /* A bounded arena never needs a chunk bigger than its bound. */
    if (limit != 0 && limit < chunk_size)
        chunk_size = limit;
    if (chunk_size > SIZE_MAX / 2)
        chunk_size = SIZE_MAX / 2;
    a->head = NULL;
    a->chunk_size = hs__arena_round(chunk_size);
    a->used = 0;
    a->limit = limit;
}

void *hs_arena_alloc(hs_arena *a, size_t size)
{
    if (size == 0)
        size = 1;
    /* No object may be larger than PTRDIFF_MAX (pointer differences must fit). */
    if (size > (size_t)PTRDIFF_MAX - HS__ARENA_ALIGN)
        return NULL;
    size_t n = hs__arena_round(size);
    if (a->limit != 0 && n > a->limit - a->used)
        return NULL;
    hs_arena_chunk *c = a->head;
    if (c == NULL || c->size - c->used < n) {
        if (n > a->chunk_size / 2) {
            /* A chunk of its own, placed behind the head so that the space
             * left in the head still serves small requests. */
            c = hs__arena_chunk_new(n);
            if (c == NULL)
                return NULL;
            if (a->head != NULL) {
                c->next = a->head->next;
                a->head->next = c;
            } else {
                a->head = c;
            }
        } else {
            c = hs__arena_chunk_new(a->chunk_size);
            if (c == NULL)
                return NULL;
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    a->used += n;
    return p;
}

char *hs_arena_strndup(hs_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = hs_arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    if (len > 0)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void hs_arena_reset(hs_arena *a)
{
    hs_arena_chunk *keep = NULL;
    hs_arena_chunk *c = a->head;
    while (c != NULL) {
        hs_arena_chunk *next = c->next;
        if (c->size != a->chunk_size) {
            hs_free(c);
        } else {
            /* Keep the oldest chunk of the default size: the list is newest first. */
            if (keep != NULL)
                hs_free(keep);
            keep = c;
        }
        c = next;
    }
    if (keep != NULL) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->used = 0;
}

void hs_arena_free(hs_arena *a)
{
    hs_arena_chunk *c = a->head;
    while (c != NULL) {
        hs_arena_chunk *next = c->next;
        hs_free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}
