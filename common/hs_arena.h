/*
 * A bump allocator: many small allocations, freed all at once. Used for
 * decoded value trees and per-job scratch memory.
 */
#ifndef HS_ARENA_H
#define HS_ARENA_H

#include <stddef.h>

typedef struct hs_arena_chunk hs_arena_chunk;

typedef struct hs_arena {
    hs_arena_chunk *head; /* owned list of chunks, newest first */
    size_t chunk_size;    /* default size of new chunks */
    size_t used;          /* bytes handed out since the last reset */
    size_t limit;         /* largest total allowed, 0 = no bound */
} hs_arena;

/* chunk_size 0 picks a default (64 KiB); limit 0 means no bound. */
void hs_arena_init(hs_arena *a, size_t chunk_size, size_t limit);

/* Returns size bytes aligned for any type, or NULL (out of memory or over the limit). */
void *hs_arena_alloc(hs_arena *a, size_t size);

/* A NUL-terminated copy of len bytes of s, or NULL. */
char *hs_arena_strndup(hs_arena *a, const char *s, size_t len);

/* Frees everything allocated; keeps the first chunk for reuse. */
void hs_arena_reset(hs_arena *a);

void hs_arena_free(hs_arena *a);

#endif
