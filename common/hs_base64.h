/*
 * Base64 of RFC 4648 section 4: the standard alphabet (A-Z a-z 0-9 + /)
 * with '=' padding to a multiple of four characters. The decoder accepts
 * exactly what the encoder writes: no line breaks or other whitespace, no
 * missing padding, no other alphabet, and the bits that padding leaves
 * unused must be zero, so every byte string has one encoding.
 */
#ifndef HS_BASE64_H
#define HS_BASE64_H

#include "hs_buf.h"

#include <stddef.h>

/* Length of the encoding of len bytes (4 characters per started 3 bytes), or 0 on overflow. */
size_t hs_base64_encoded_len(size_t len);

/*
 * Appends the base64 text of len bytes of p (NULL allowed when len is 0) to
 * out, without a NUL. Returns HS_OK, or HS_ERR_NOMEM / HS_ERR_LIMIT from the
 * buffer (HS_ERR_LIMIT also when the length overflows); out is unchanged on
 * failure.
 */
int hs_base64_encode(hs_buf *out, const void *p, size_t len);

/*
 * Appends the bytes that the len characters of s (no NUL needed) encode to
 * out. Returns HS_OK; HS_ERR_PARSE with a detail naming the first bad byte
 * when s is not canonical base64 as described above; HS_ERR_NOMEM /
 * HS_ERR_LIMIT from the buffer. out is unchanged on failure.
 */
int hs_base64_decode(hs_buf *out, const char *s, size_t len);

#endif
