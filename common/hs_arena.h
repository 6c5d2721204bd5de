/*
 * A bump allocator: many small allocations, freed all at once. Used for
 * decoded value trees and per-job scratch memory.
 *
 * Memory comes in chunks of chunk_size bytes; a request larger than half a
 * chunk gets a chunk of its own, so big requests do not waste the space left
 * in the current chunk. Every allocation is aligned for any type
 * (alignof(max_align_t), 16 bytes on x86-64). An arena is not thread-safe.
 */
#ifndef HS_ARENA_H
#define HS_ARENA_H

#include <stddef.h>

typedef struct hs_arena_chunk hs_arena_chunk;

typedef struct hs_arena {
    hs_arena_chunk *head; /* owned list of chunks, newest first */
    size_t chunk_size;    /* default size of new chunks (usable bytes) */
    size_t used;          /* bytes handed out since the last reset, alignment padding included */
    size_t limit;         /* largest total of used allowed, 0 = no bound */
} hs_arena;

/*
 * chunk_size 0 picks a default (64 KiB); limit 0 means no bound. No memory is
 * allocated until the first hs_arena_alloc.
 */
void hs_arena_init(hs_arena *a, size_t chunk_size, size_t limit);

/*
 * Returns size bytes aligned for any type, or NULL when the allocation fails
 * or would take used past limit. Sizes are rounded up to the alignment, and
 * that rounding counts towards the limit. size 0 is treated as 1; sizes near
 * PTRDIFF_MAX fail without trying to allocate. The memory is not zeroed and
 * stays valid until hs_arena_reset or hs_arena_free.
 */
void *hs_arena_alloc(hs_arena *a, size_t size);

/* A NUL-terminated copy of exactly len bytes of s (which may hold NULs), or NULL. */
char *hs_arena_strndup(hs_arena *a, const char *s, size_t len);

/*
 * Frees everything allocated: every pointer handed out becomes invalid. Keeps
 * the first (oldest) chunk of the default size, if there is one, for reuse, so
 * an arena that is reset per job does not go back to malloc for small jobs.
 */
void hs_arena_reset(hs_arena *a);

/* Releases all memory; the arena stays initialised and can be used again. */
void hs_arena_free(hs_arena *a);

#endif
