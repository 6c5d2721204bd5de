/*
 * A hash map from strings to pointers (open addressing, linear probing,
 * FNV-1a). Keys are copied; values are borrowed unless the caller says
 * otherwise by freeing them itself before removal.
 */
#ifndef HS_MAP_H
#define HS_MAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hs_map_entry {
    char *key;   /* owned; NULL for an empty slot */
    void *value; /* borrowed */
    size_t hash;
    bool tomb; /* a removed entry (probe chains continue past it) */
} hs_map_entry;

typedef struct hs_map {
    hs_map_entry *slots; /* owned array of cap slots */
    size_t cap;          /* a power of two, or 0 */
    size_t n;            /* live entries */
    size_t used;         /* live entries plus tombstones */
} hs_map;

void hs_map_init(hs_map *m);
/* Frees the keys and slots (not the values). */
void hs_map_free(hs_map *m);

/* The value stored under key, or NULL. */
void *hs_map_get(const hs_map *m, const char *key);
/* Same, for a key of len bytes that need not be NUL-terminated. */
void *hs_map_getn(const hs_map *m, const char *key, size_t len);

/*
 * Stores value under key (copied), replacing any previous value; *old
 * (may be NULL) receives the replaced value or NULL. HS_ERR_NOMEM.
 */
int hs_map_put(hs_map *m, const char *key, void *value, void **old);

/* Removes key and returns its value, or NULL when absent. */
void *hs_map_remove(hs_map *m, const char *key);

/*
 * Iteration: start with *pos = 0; each call returns the next live entry or
 * NULL at the end. The map must not change during an iteration except by
 * removing the entry just returned.
 */
hs_map_entry *hs_map_next(const hs_map *m, size_t *pos);

#endif
