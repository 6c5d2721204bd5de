/*
 * A growable byte buffer with an optional size bound. Used for building
 * payloads (msgpack, JSON) and for reading files.
 *
 * Every write returns its own result, and the buffer also remembers the
 * first failure (hs_buf_error) until it is reset: code that writes many
 * pieces may check once at the end instead of after each piece.
 */
#ifndef HS_BUF_H
#define HS_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct hs_buf {
    uint8_t *data; /* owned; NULL while empty and never grown */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated */
    size_t max;    /* largest allowed len, 0 = no bound */
    int err;       /* first failed write since init or reset (HS_OK: none) */
} hs_buf;

/* Initialises an empty buffer that may grow up to max bytes (0: no bound). */
void hs_buf_init(hs_buf *b, size_t max);

/*
 * Makes room for extra more bytes. Returns HS_ERR_LIMIT when len + extra
 * would pass the bound, HS_ERR_NOMEM when allocation fails; the buffer is
 * unchanged on failure.
 */
int hs_buf_reserve(hs_buf *b, size_t extra);

int hs_buf_append(hs_buf *b, const void *data, size_t n);
int hs_buf_putc(hs_buf *b, uint8_t c);
int hs_buf_puts(hs_buf *b, const char *s);
int hs_buf_printf(hs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Returns the content as a NUL-terminated string (the NUL is not counted in
 * len), or "" on allocation failure. The pointer is valid until the next
 * change of the buffer.
 */
const char *hs_buf_cstr(hs_buf *b);

/* The first write that failed since init or reset: HS_OK, HS_ERR_LIMIT or HS_ERR_NOMEM. */
int hs_buf_error(const hs_buf *b);

/*
 * Appends the whole file at path, within b's bound. HS_OK; otherwise an
 * error whose detail names the path: HS_ERR_IO ("PATH: cannot open: ..."
 * or "PATH: cannot read: ..."), HS_ERR_LIMIT ("PATH: larger than MAX
 * bytes"), HS_ERR_NOMEM ("PATH: out of memory").
 */
int hs_buf_read_file(hs_buf *b, const char *path);

/* Empties the buffer, forgets a failure and keeps its memory. */
void hs_buf_reset(hs_buf *b);

/* Releases the memory; the buffer is empty and reusable afterwards. */
void hs_buf_free(hs_buf *b);

/* Hands the memory to the caller (who frees it with hs_free) and empties b. */
uint8_t *hs_buf_take(hs_buf *b, size_t *len);

#endif
