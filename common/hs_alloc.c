#include "hs_alloc.h"

#include "hs_error.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Remaining successful allocations before failures start; -1 disables. */
static atomic_long hs__alloc_budget = -1;

static int hs__alloc_should_fail(void)
{
    long b = atomic_load_explicit(&hs__alloc_budget, memory_order_relaxed);
    if (b < 0)
        return 0;
    if (b == 0)
        return 1;
    return atomic_fetch_sub(&hs__alloc_budget, 1) <= 0;
}

void hs_alloc_fail_after(long n)
{
    atomic_store(&hs__alloc_budget, n < 0 ? -1 : n);
}

void *hs_malloc(size_t size)
{
    if (hs__alloc_should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *hs_calloc(size_t count, size_t size)
{
    if (hs__alloc_should_fail())
        return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *hs_realloc(void *ptr, size_t size)
{
    if (hs__alloc_should_fail())
        return NULL;
    return realloc(ptr, size ? size : 1);
}

void hs_free(void *ptr)
{
    free(ptr);
}

char *hs_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = hs_malloc(len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *hs_strdup(const char *s)
{
    return hs_strndup(s, strlen(s));
}

int hs_grow(void *pv, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap)
        return HS_OK;
    size_t n = *cap ? *cap : (first ? first : 1);
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    if (size != 0 && n > SIZE_MAX / size)
        return HS_ERR_NOMEM;
    void *old;
    memcpy(&old, pv, sizeof old); /* pv is a T **: its pointer is read and written as bytes */
    void *nv = hs_realloc(old, n * size);
    if (nv == NULL)
        return HS_ERR_NOMEM;
    memcpy(pv, &nv, sizeof nv);
    *cap = n;
    return HS_OK;
}

char *hs_strvfmt(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *s = n >= 0 ? hs_malloc((size_t)n + 1) : NULL;
    if (s != NULL && vsnprintf(s, (size_t)n + 1, fmt, ap) != n) {
        hs_free(s);
        s = NULL;
    }
    return s;
}
