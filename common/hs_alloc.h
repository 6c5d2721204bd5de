/*
 * Allocation wrappers. All project code allocates through these so that tests
 * can make allocations fail (hs_alloc_fail_after) and check that every
 * failure path returns HS_ERR_NOMEM without leaking or crashing.
 */
#ifndef HS_ALLOC_H
#define HS_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *hs_malloc(size_t size);
void *hs_calloc(size_t count, size_t size);
void *hs_realloc(void *ptr, size_t size);
void hs_free(void *ptr);

/* Copies of a NUL-terminated string / of at most n bytes; caller frees. */
char *hs_strdup(const char *s);
char *hs_strndup(const char *s, size_t n);

/*
 * Test hook: after n more successful allocations, every further allocation
 * fails until the hook is reset with n < 0. Process-wide and atomic.
 */
void hs_alloc_fail_after(long n);

/*
 * Makes room in a growable array for need elements of size bytes: *(T **)pv
 * with capacity *cap grows by doubling, from first elements when empty. pv
 * is the address of the array pointer (T **). Returns HS_OK, or HS_ERR_NOMEM
 * with the array and *cap unchanged.
 */
int hs_grow(void *pv, size_t *cap, size_t need, size_t size, size_t first);

/* A new string formatted as vsnprintf would, or NULL (out of memory, bad format); caller frees. */
char *hs_strvfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
