/* Base64 encoding and strict decoding (see hs_base64.h). */
#include "hs_base64.h"

#include "hs_error.h"

#include <stdint.h>

static const char hs__b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of base64 character c, or -1 when c is not in the alphabet ('=' included). */
static int hs__b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

size_t hs_base64_encoded_len(size_t len)
{
    size_t groups = len / 3 + (len % 3 != 0);
    if (groups > SIZE_MAX / 4)
        return 0;
    return groups * 4;
}

int hs_base64_encode(hs_buf *out, const void *p, size_t len)
{
    size_t need = hs_base64_encoded_len(len);
    if (need == 0 && len > 0)
        return hs_err_set(HS_ERR_LIMIT, "base64: %zu bytes are too many to encode", len);
    if (len == 0)
        return HS_OK;
    int rc = hs_buf_reserve(out, need);
    if (rc != HS_OK)
        return rc;
    const uint8_t *s = p;
    uint8_t *o = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *o++ = (uint8_t)hs__b64_alphabet[v >> 18];
        *o++ = (uint8_t)hs__b64_alphabet[(v >> 12) & 63];
        *o++ = (uint8_t)hs__b64_alphabet[(v >> 6) & 63];
        *o++ = (uint8_t)hs__b64_alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)s[i + 1] << 8;
        *o++ = (uint8_t)hs__b64_alphabet[v >> 18];
        *o++ = (uint8_t)hs__b64_alphabet[(v >> 12) & 63];
        *o++ = i + 1 < len ? (uint8_t)hs__b64_alphabet[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    out->len += need;
    return HS_OK;
}

int hs_base64_decode(hs_buf *out, const char *s, size_t len)
{
    if (len % 4 != 0)
        return hs_err_set(HS_ERR_PARSE, "base64: length %zu is not a multiple of 4", len);
    const unsigned char *u = (const unsigned char *)s;
    /* Up to two '=' close the last group; none may appear anywhere else. */
    size_t pad = 0;
    if (len > 0 && u[len - 1] == '=')
        pad = len > 1 && u[len - 2] == '=' ? 2 : 1;
    size_t nbytes = len / 4 * 3 - pad;
    for (size_t i = 0; i < len - pad; i++)
        if (hs__b64_value(u[i]) < 0)
            return hs_err_set(HS_ERR_PARSE, "base64: invalid character 0x%02x at byte %zu", u[i],
                              i);
    /* The bits of the last character that padding leaves unused must be zero. */
    if (pad > 0) {
        int last = hs__b64_value(u[len - pad - 1]);
        if ((pad == 1 && (last & 0x03) != 0) || (pad == 2 && (last & 0x0f) != 0))
            return hs_err_set(HS_ERR_PARSE, "base64: nonzero padding bits at byte %zu",
                              len - pad - 1);
    }
    if (nbytes == 0)
        return HS_OK;
    int rc = hs_buf_reserve(out, nbytes);
    if (rc != HS_OK)
        return rc;
    uint8_t *o = out->data + out->len;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        for (size_t k = 0; k < 4; k++) {
            int c = i + k < len - pad ? hs__b64_value(u[i + k]) : 0;
            v = v << 6 | (uint32_t)c;
        }
        size_t take = i + 4 < len ? 3 : 3 - pad;
        *o++ = (uint8_t)(v >> 16);
        if (take > 1)
            *o++ = (uint8_t)(v >> 8);
        if (take > 2)
            *o++ = (uint8_t)v;
    }
    out->len += nbytes;
    return HS_OK;
}
