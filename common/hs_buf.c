#include "hs_buf.h"

#include "hs_alloc.h"
#include "hs_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void hs_buf_init(hs_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->err = HS_OK;
}

int hs_buf_error(const hs_buf *b)
{
    return b->err;
}

/* Remembers the first failure and returns rc. */
static int hs__buf_fail(hs_buf *b, int rc)
{
    if (b->err == HS_OK)
        b->err = rc;
    return rc;
}

int hs_buf_reserve(hs_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return hs__buf_fail(b, HS_ERR_LIMIT);
    size_t need = b->len + extra;
    if (b->max != 0 && need > b->max)
        return hs__buf_fail(b, HS_ERR_LIMIT);
    /* One spare byte so that hs_buf_cstr never has to grow. */
    if (need + 1 <= b->cap)
        return HS_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need + 1)
        cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    uint8_t *p = hs_realloc(b->data, cap);
    if (p == NULL)
        return hs__buf_fail(b, HS_ERR_NOMEM);
    b->data = p;
    b->cap = cap;
    return HS_OK;
}

int hs_buf_append(hs_buf *b, const void *data, size_t n)
{
    if (n == 0)
        return HS_OK;
    int rc = hs_buf_reserve(b, n);
    if (rc != HS_OK)
        return rc;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return HS_OK;
}

int hs_buf_putc(hs_buf *b, uint8_t c)
{
    if (b->len + 1 < b->cap && (b->max == 0 || b->len + 1 <= b->max)) {
        b->data[b->len++] = c;
        return HS_OK;
    }
    return hs_buf_append(b, &c, 1);
}

int hs_buf_puts(hs_buf *b, const char *s)
{
    return hs_buf_append(b, s, strlen(s));
}

int hs_buf_printf(hs_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return hs__buf_fail(b, HS_ERR_INVAL);
    int rc = hs_buf_reserve(b, (size_t)n);
    if (rc != HS_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return HS_OK;
}

const char *hs_buf_cstr(hs_buf *b)
{
    if (b->data == NULL && hs_buf_reserve(b, 0) != HS_OK)
        return "";
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

void hs_buf_reset(hs_buf *b)
{
    b->len = 0;
    b->err = HS_OK;
}

void hs_buf_free(hs_buf *b)
{
    hs_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = HS_OK;
}

uint8_t *hs_buf_take(hs_buf *b, size_t *len)
{
    uint8_t *p = b->data;
    if (len != NULL)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = HS_OK;
    return p;
}

int hs_buf_read_file(hs_buf *b, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return hs_err_set(HS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int rc = HS_OK;
    char chunk[4096];
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n > 0) {
            rc = hs_buf_append(b, chunk, n);
            if (rc == HS_ERR_LIMIT) {
                rc = hs_err_set(HS_ERR_LIMIT, "%s: larger than %zu bytes", path, b->max);
                break;
            }
            if (rc != HS_OK) {
                rc = hs_err_set(rc, "%s: out of memory", path);
                break;
            }
        }
        if (n < sizeof chunk) {
            if (ferror(f))
                rc = hs_err_set(HS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    return rc;
}
