#include "hs_json.h"

#include "hs_base64.h"
#include "hs_error.h"
#include "hs_fmt.h"
#include "hs_mpack.h"
#include "hs_utf8.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest number text the reader accepts; longer ones are almost surely garbage. */
#define HS__JSON_NUM_MAX 100

/* ---------------------------------------------------------------------------
 * Errors
 */

/* Records "json: <message> at byte <offset of at>" and returns HS_ERR_PARSE. */
__attribute__((format(printf, 3, 4))) static int hs__jerr(const hs_json_reader *r, const char *at,
                                                          const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return hs_err_set(HS_ERR_PARSE, "json: %s at byte %zu", msg, (size_t)(at - r->start));
}

/* Names the byte at `at` for an "unexpected ..." message. */
static int hs__jerr_unexpected(const hs_json_reader *r, const char *at, const char *expected)
{
    if (at >= r->end)
        return hs__jerr(r, at, "unexpected end of input, expected %s", expected);
    unsigned char c = (unsigned char)*at;
    if (c > 0x20 && c < 0x7f)
        return hs__jerr(r, at, "unexpected character '%c', expected %s", c, expected);
    return hs__jerr(r, at, "unexpected byte 0x%02x, expected %s", c, expected);
}

/* Gives output-buffer failures (which carry no detail) one. */
static int hs__buf_fail(int rc)
{
    if (rc == HS_ERR_NOMEM)
        return hs_err_set(rc, "json: out of memory");
    if (rc == HS_ERR_LIMIT)
        return hs_err_set(rc, "json: output exceeds its size bound");
    return rc;
}

#define HS__TRY_BUF(call)                                                                          \
    do {                                                                                           \
        int hs__rc = (call);                                                                       \
        if (hs__rc != HS_OK)                                                                       \
            return hs__buf_fail(hs__rc);                                                           \
    } while (0)

/* ---------------------------------------------------------------------------
 * UTF-8
 */

/* Appends code point cp (at most U+10FFFF, not a surrogate) as UTF-8. */
static int hs__utf8_put(hs_buf *out, uint32_t cp)
{
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xc0 | (cp >> 6));
        b[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xe0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xf0 | (cp >> 18));
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return hs_buf_append(out, b, n);
}

/* ---------------------------------------------------------------------------
 * msgpack headers, written directly so that the transcoder can patch them
 * in place. The forms are the smallest ones, exactly as msgpack-c writes.
 */

static size_t hs__be_put(uint8_t *p, uint32_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
    return width;
}

/* Size of an array or map header for n elements. */
static size_t hs__cont_hdr_len(uint32_t n)
{
    return n < 16 ? 1 : n < 65536 ? 3 : 5;
}

static void hs__cont_hdr_write(uint8_t *p, uint32_t n, bool map)
{
    if (n < 16) {
        p[0] = (uint8_t)((map ? 0x80 : 0x90) | n);
    } else if (n < 65536) {
        p[0] = map ? 0xde : 0xdc;
        hs__be_put(p + 1, n, 2);
    } else {
        p[0] = map ? 0xdf : 0xdd;
        hs__be_put(p + 1, n, 4);
    }
}

static size_t hs__str_hdr_len(size_t n)
{
    return n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

static void hs__str_hdr_write(uint8_t *p, uint32_t n)
{
    if (n < 32) {
        p[0] = (uint8_t)(0xa0 | n);
    } else if (n < 256) {
        p[0] = 0xd9;
        p[1] = (uint8_t)n;
    } else if (n < 65536) {
        p[0] = 0xda;
        hs__be_put(p + 1, n, 2);
    } else {
        p[0] = 0xdb;
        hs__be_put(p + 1, n, 4);
    }
}

/*
 * The transcoder writes a one-byte placeholder before a string or container
 * body whose size is not known yet. Once it is known, this widens the
 * placeholder to the real header size (moving the body) and writes it.
 */
static int hs__hdr_patch(hs_buf *out, size_t at, size_t hlen)
{
    if (hlen > 1) {
        size_t extra = hlen - 1;
        HS__TRY_BUF(hs_buf_reserve(out, extra));
        memmove(out->data + at + hlen, out->data + at + 1, out->len - at - 1);
        out->len += extra;
    }
    return HS_OK;
}

/* ---------------------------------------------------------------------------
 * Reader primitives
 */

void hs_json_reader_init(hs_json_reader *r, const char *s, size_t len)
{
    if (s == NULL) {
        s = "";
        len = 0;
    }
    r->start = s;
    r->p = s;
    r->end = s + len;
    r->depth = 0;
    r->first = false;
    r->canonical = false;
}

static inline void hs__ws(hs_json_reader *r)
{
    const char *p = r->p, *e = r->end;
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    r->p = p;
}

static inline bool hs__is_digit(char c)
{
    return c >= '0' && c <= '9';
}

hs_json_type hs_json_peek(hs_json_reader *r)
{
    hs__ws(r);
    if (r->p >= r->end)
        return HS_JSON_END;
    char c = *r->p;
    switch (c) {
    case '{':
        return HS_JSON_OBJECT;
    case '[':
        return HS_JSON_ARRAY;
    case '"':
        return HS_JSON_STRING;
    case 't':
    case 'f':
        return HS_JSON_BOOL;
    case 'n':
        return HS_JSON_NULL;
    default:
        return c == '-' || hs__is_digit(c) ? HS_JSON_NUMBER : HS_JSON_INVALID;
    }
}

size_t hs_json_offset(const hs_json_reader *r)
{
    return (size_t)(r->p - r->start);
}

static int hs__hex4(const hs_json_reader *r, const char *p, uint32_t *out)
{
    uint32_t v = 0;
    if (r->end - p < 4)
        return hs__jerr(r, p - 2, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return hs__jerr(r, p - 2, "invalid hex digit in \\u escape");
        v = (v << 4) | d;
    }
    *out = v;
    return HS_OK;
}

/*
 * Decodes the escape at p (p[0] == '\\'), appending its UTF-8 bytes to out
 * when out is not NULL, and returns in *used how many input bytes it took.
 */
static int hs__escape(const hs_json_reader *r, const char *p, hs_buf *out, size_t *used)
{
    if (r->end - p < 2)
        return hs__jerr(r, p, "unterminated string");
    uint32_t cp;
    *used = 2;
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
        cp = (uint8_t)p[1];
        break;
    case 'b':
        cp = '\b';
        break;
    case 'f':
        cp = '\f';
        break;
    case 'n':
        cp = '\n';
        break;
    case 'r':
        cp = '\r';
        break;
    case 't':
        cp = '\t';
        break;
    case 'u': {
        int rc = hs__hex4(r, p + 2, &cp);
        if (rc != HS_OK)
            return rc;
        *used = 6;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return hs__jerr(r, p, "lone low surrogate \\u%04X", (unsigned)cp);
        if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t lo;
            if (r->end - p < 12 || p[6] != '\\' || p[7] != 'u')
                return hs__jerr(r, p, "high surrogate \\u%04X not followed by a low surrogate",
                                (unsigned)cp);
            rc = hs__hex4(r, p + 8, &lo);
            if (rc != HS_OK)
                return rc;
            if (lo < 0xdc00 || lo > 0xdfff)
                return hs__jerr(r, p, "high surrogate \\u%04X not followed by a low surrogate",
                                (unsigned)cp);
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            *used = 12;
        }
        break;
    }
    default:
        if ((unsigned char)p[1] > 0x20 && (unsigned char)p[1] < 0x7f)
            return hs__jerr(r, p, "invalid escape '\\%c'", p[1]);
        return hs__jerr(r, p, "invalid escape (byte 0x%02x after '\\')", (unsigned char)p[1]);
    }
    if (out != NULL)
        HS__TRY_BUF(hs__utf8_put(out, cp));
    return HS_OK;
}

/*
 * Reads the string starting at r->p (which is '"'), validating it, and
 * appends its decoded bytes to out unless out is NULL.
 */
static int hs__str(hs_json_reader *r, hs_buf *out)
{
    const char *open = r->p;
    const uint8_t *p = (const uint8_t *)r->p + 1;
    const uint8_t *e = (const uint8_t *)r->end;
    const uint8_t *run = p; /* start of bytes not yet copied to out */
    for (;;) {
        /* Plain printable ASCII is by far the most common: scan it fast. */
        while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p >= e)
            return hs__jerr(r, open, "unterminated string");
        uint8_t c = *p;
        if (c == '"')
            break;
        if (c == '\\') {
            if (out != NULL && p > run)
                HS__TRY_BUF(hs_buf_append(out, run, (size_t)(p - run)));
            size_t used = 0;
            int rc = hs__escape(r, (const char *)p, out, &used);
            if (rc != HS_OK)
                return rc;
            p += used;
            run = p;
            continue;
        }
        if (c < 0x20)
            return hs__jerr(r, (const char *)p,
                            "control character 0x%02x in string (must be escaped)", c);
        size_t n = hs_utf8_decode(p, (size_t)(e - p), NULL);
        if (n == 0)
            return hs__jerr(r, (const char *)p, "invalid UTF-8 in string");
        p += n;
    }
    if (out != NULL && p > run)
        HS__TRY_BUF(hs_buf_append(out, run, (size_t)(p - run)));
    r->p = (const char *)p + 1;
    return HS_OK;
}

/* Transcodes the string at r->p into a msgpack str (or skips it when out is NULL). */
static int hs__str_to_mpack(hs_json_reader *r, hs_buf *out)
{
    if (out == NULL)
        return hs__str(r, NULL);
    size_t at = out->len;
    HS__TRY_BUF(hs_buf_putc(out, 0));
    int rc = hs__str(r, out);
    if (rc != HS_OK)
        return rc;
    size_t n = out->len - at - 1;
    if (n > UINT32_MAX)
        return hs_err_set(HS_ERR_LIMIT, "json: string longer than 4 GiB");
    size_t hlen = hs__str_hdr_len(n);
    rc = hs__hdr_patch(out, at, hlen);
    if (rc != HS_OK)
        return rc;
    hs__str_hdr_write(out->data + at, (uint32_t)n);
    return HS_OK;
}

/*
 * Checks the number grammar at r->p and moves past it. *is_int tells that
 * it has neither fraction nor exponent.
 */
static int hs__num_scan(hs_json_reader *r, const char **s, size_t *len, bool *is_int)
{
    const char *s0 = r->p, *p = r->p, *e = r->end;
    if (p < e && *p == '-')
        p++;
    if (p >= e || !hs__is_digit(*p))
        return hs__jerr_unexpected(r, p, "a digit");
    if (*p == '0') {
        p++;
        if (p < e && hs__is_digit(*p))
            return hs__jerr(r, s0, "number with a leading zero");
    } else {
        while (p < e && hs__is_digit(*p))
            p++;
    }
    *is_int = true;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !hs__is_digit(*p))
            return hs__jerr_unexpected(r, p, "a digit after '.'");
        while (p < e && hs__is_digit(*p))
            p++;
        *is_int = false;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !hs__is_digit(*p))
            return hs__jerr_unexpected(r, p, "a digit in the exponent");
        while (p < e && hs__is_digit(*p))
            p++;
        *is_int = false;
    }
    if (p - s0 > HS__JSON_NUM_MAX)
        return hs__jerr(r, s0, "number longer than %d characters", HS__JSON_NUM_MAX);
    *s = s0;
    *len = (size_t)(p - s0);
    r->p = p;
    return HS_OK;
}

/* Converts checked number text (at most HS__JSON_NUM_MAX bytes) with strtod. */
static int hs__num_double(const hs_json_reader *r, const char *s, size_t len, double *out)
{
    char buf[HS__JSON_NUM_MAX + 1];
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    double d = strtod(buf, NULL);
    if (isinf(d))
        return hs__jerr(r, s, "number %s is out of the range of a double", buf);
    *out = d;
    return HS_OK;
}

/* Transcodes the number at r->p (or only checks it when out is NULL). */
static int hs__num_to_mpack(hs_json_reader *r, hs_buf *out)
{
    const char *s;
    size_t len;
    bool is_int;
    int rc = hs__num_scan(r, &s, &len, &is_int);
    if (rc != HS_OK)
        return rc;
    if (out == NULL) {
        /* Skipping accepts exactly what transcoding accepts: no double overflow. */
        double d;
        return is_int ? HS_OK : hs__num_double(r, s, len, &d);
    }
    if (is_int) {
        bool neg = s[0] == '-';
        uint64_t v = 0;
        bool overflow = false;
        for (size_t i = neg ? 1 : 0; i < len; i++) {
            uint64_t d = (uint64_t)(s[i] - '0');
            if (v > (UINT64_MAX - d) / 10) {
                overflow = true;
                break;
            }
            v = v * 10 + d;
        }
        if (!overflow) {
            if (!neg && v <= INT64_MAX) {
                HS__TRY_BUF(hs_mp_put_int(out, (int64_t)v));
                return HS_OK;
            }
            if (!neg && !r->canonical) {
                HS__TRY_BUF(hs_mp_put_uint(out, v));
                return HS_OK;
            }
            if (neg && v <= (uint64_t)INT64_MAX + 1) {
                /* -(v - 1) - 1 reaches INT64_MIN without overflow. */
                HS__TRY_BUF(hs_mp_put_int(out, -(int64_t)(v - 1) - 1));
                return HS_OK;
            }
        }
    }
    double d = 0;
    rc = hs__num_double(r, s, len, &d);
    if (rc != HS_OK)
        return rc;
    HS__TRY_BUF(hs_mp_put_double(out, d));
    return HS_OK;
}

/* Matches the literal word at r->p. */
static int hs__literal(hs_json_reader *r, const char *word, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return hs__jerr_unexpected(r, r->p, "a value");
    r->p += n;
    return HS_OK;
}

/* One open container of the transcoder. */
typedef struct hs__jframe {
    size_t hdr;     /* offset of the header placeholder in out */
    uint32_t count; /* elements (pairs for objects) read so far */
    bool obj;       /* object rather than array */
} hs__jframe;

/* Reads an object key and the ':' after it. */
static int hs__key_to_mpack(hs_json_reader *r, hs_buf *out)
{
    hs__ws(r);
    if (r->p >= r->end || *r->p != '"')
        return hs__jerr_unexpected(r, r->p, "a string key");
    int rc = hs__str_to_mpack(r, out);
    if (rc != HS_OK)
        return rc;
    hs__ws(r);
    if (r->p >= r->end || *r->p != ':')
        return hs__jerr_unexpected(r, r->p, "':'");
    r->p++;
    return HS_OK;
}

/* Writes the header of a finished container. */
static int hs__cont_close(hs_buf *out, const hs__jframe *f)
{
    if (out == NULL)
        return HS_OK;
    int rc = hs__hdr_patch(out, f->hdr, hs__cont_hdr_len(f->count));
    if (rc != HS_OK)
        return rc;
    hs__cont_hdr_write(out->data + f->hdr, f->count, f->obj);
    return HS_OK;
}

/*
 * Transcodes (out != NULL) or validates and skips (out == NULL) one value.
 * Iterative, with an explicit stack bounded by HS_MP_MAX_DEPTH.
 */
static int hs__value(hs_json_reader *r, hs_buf *out, bool *objects)
{
    hs__jframe st[HS_MP_MAX_DEPTH];
    int depth = 0;
    int rc;
    for (;;) {
        /* A value is expected here. */
        hs__ws(r);
        if (r->p >= r->end)
            return hs__jerr_unexpected(r, r->p, "a value");
        char c = *r->p;
        bool closed = false; /* an empty container was opened and closed */
        if (c == '{' || c == '[') {
            if (depth == HS_MP_MAX_DEPTH)
                return hs__jerr(r, r->p, "nesting deeper than %d", HS_MP_MAX_DEPTH);
            hs__jframe *f = &st[depth++];
            f->obj = c == '{';
            f->count = 0;
            f->hdr = out != NULL ? out->len : 0;
            if (out != NULL)
                HS__TRY_BUF(hs_buf_putc(out, 0));
            r->p++;
            hs__ws(r);
            if (r->p < r->end && *r->p == (f->obj ? '}' : ']')) {
                r->p++;
                rc = hs__cont_close(out, f);
                if (rc != HS_OK)
                    return rc;
                depth--;
                closed = true;
            } else if (f->obj) {
                rc = hs__key_to_mpack(r, out);
                if (rc != HS_OK)
                    return rc;
                continue;
            } else {
                continue;
            }
        }
        if (!closed) {
            switch (c) {
            case '"':
                rc = hs__str_to_mpack(r, out);
                break;
            case 't':
                rc = hs__literal(r, "true", 4);
                if (rc == HS_OK && out != NULL)
                    rc = hs__buf_fail(hs_mp_put_bool(out, true));
                break;
            case 'f':
                rc = hs__literal(r, "false", 5);
                if (rc == HS_OK && out != NULL)
                    rc = hs__buf_fail(hs_mp_put_bool(out, false));
                break;
            case 'n':
                rc = hs__literal(r, "null", 4);
                if (rc == HS_OK && out != NULL)
                    rc = hs__buf_fail(hs_mp_put_nil(out));
                break;
            default:
                if (c == '-' || hs__is_digit(c))
                    rc = hs__num_to_mpack(r, out);
                else
                    rc = hs__jerr_unexpected(r, r->p, "a value");
                break;
            }
            if (rc != HS_OK)
                return rc;
        }
        /* A value is complete: close every container it completes. */
        for (;;) {
            if (depth == 0)
                return HS_OK;
            hs__jframe *f = &st[depth - 1];
            if (f->count == UINT32_MAX)
                return hs__jerr(r, r->p, "more than %u elements in one container",
                                (unsigned)UINT32_MAX);
            f->count++;
            hs__ws(r);
            char close = f->obj ? '}' : ']';
            if (r->p < r->end && *r->p == ',') {
                r->p++;
                hs__ws(r);
                if (r->p < r->end && (*r->p == '}' || *r->p == ']'))
                    return hs__jerr(r, r->p, "trailing comma before '%c'", *r->p);
                if (f->obj) {
                    rc = hs__key_to_mpack(r, out);
                    if (rc != HS_OK)
                        return rc;
                }
                break;
            }
            if (r->p < r->end && *r->p == close) {
                r->p++;
                *objects = *objects || (f->obj && f->count > 1);
                rc = hs__cont_close(out, f);
                if (rc != HS_OK)
                    return rc;
                depth--;
                continue;
            }
            return hs__jerr_unexpected(r, r->p, f->obj ? "',' or '}'" : "',' or ']'");
        }
    }
}

int hs_json_value_to_mpack(hs_json_reader *r, hs_buf *out)
{
    size_t len0 = out->len;
    bool objects = false;
    int rc = hs__value(r, out, &objects);
    /* One map per object: a key given twice would make two values one. */
    if (rc == HS_OK && objects &&
        hs_mp_check_unique_keys(out->data + len0, out->len - len0) != HS_OK) {
        char detail[128];
        snprintf(detail, sizeof detail, "%s", hs_err_detail());
        rc = hs_err_set(HS_ERR_PARSE, "JSON: an object has a %s", detail);
    }
    if (rc != HS_OK)
        out->len = len0;
    return rc;
}

int hs_json_skip(hs_json_reader *r)
{
    bool objects = false;
    return hs__value(r, NULL, &objects);
}

int hs_json_get_string(hs_json_reader *r, hs_buf *out)
{
    hs__ws(r);
    if (r->p >= r->end || *r->p != '"')
        return hs__jerr_unexpected(r, r->p, "a string");
    size_t len0 = out->len;
    int rc = hs__str(r, out);
    if (rc != HS_OK)
        out->len = len0;
    return rc;
}

int hs_json_get_number_text(hs_json_reader *r, const char **s, size_t *len)
{
    hs__ws(r);
    bool is_int;
    return hs__num_scan(r, s, len, &is_int);
}

/* Shared by the two begin functions. */
static int hs__begin(hs_json_reader *r, char open)
{
    hs__ws(r);
    if (r->p >= r->end || *r->p != open)
        return hs__jerr_unexpected(r, r->p, open == '{' ? "'{'" : "'['");
    if (r->depth >= HS_MP_MAX_DEPTH)
        return hs__jerr(r, r->p, "nesting deeper than %d", HS_MP_MAX_DEPTH);
    r->p++;
    r->depth++;
    r->first = true;
    return HS_OK;
}

int hs_json_object_begin(hs_json_reader *r)
{
    return hs__begin(r, '{');
}

int hs_json_array_begin(hs_json_reader *r)
{
    return hs__begin(r, '[');
}

/*
 * Shared by next_key and next_item: consumes the closing character (done)
 * or the ',' that separates elements (nothing before the first one).
 */
static int hs__next(hs_json_reader *r, char close, bool *done)
{
    hs__ws(r);
    *done = false;
    if (r->p < r->end && *r->p == close) {
        r->p++;
        r->depth--;
        r->first = false;
        *done = true;
        return HS_OK;
    }
    if (!r->first) {
        if (r->p >= r->end || *r->p != ',')
            return hs__jerr_unexpected(r, r->p, close == '}' ? "',' or '}'" : "',' or ']'");
        r->p++;
        hs__ws(r);
        if (r->p < r->end && (*r->p == '}' || *r->p == ']'))
            return hs__jerr(r, r->p, "trailing comma before '%c'", *r->p);
    }
    r->first = false;
    if (r->p >= r->end)
        return hs__jerr_unexpected(r, r->p, close == '}' ? "a key" : "a value");
    return HS_OK;
}

int hs_json_object_next_key(hs_json_reader *r, hs_buf *key, bool *done)
{
    int rc = hs__next(r, '}', done);
    if (rc != HS_OK || *done)
        return rc;
    if (*r->p != '"')
        return hs__jerr_unexpected(r, r->p, "a string key");
    hs_buf_reset(key);
    rc = hs__str(r, key);
    if (rc != HS_OK)
        return rc;
    hs__ws(r);
    if (r->p >= r->end || *r->p != ':')
        return hs__jerr_unexpected(r, r->p, "':'");
    r->p++;
    return HS_OK;
}

int hs_json_array_next_item(hs_json_reader *r, bool *done)
{
    return hs__next(r, ']', done);
}

int hs_json_expect_end(hs_json_reader *r)
{
    hs__ws(r);
    if (r->p < r->end)
        return hs__jerr_unexpected(r, r->p, "end of input after the value");
    return HS_OK;
}

int hs_json_to_mpack(const char *s, size_t len, hs_buf *out)
{
    hs_json_reader r;
    hs_json_reader_init(&r, s, len);
    size_t len0 = out->len;
    int rc = hs_json_value_to_mpack(&r, out);
    if (rc == HS_OK)
        rc = hs_json_expect_end(&r);
    if (rc != HS_OK)
        out->len = len0;
    return rc;
}

/* ---------------------------------------------------------------------------
 * Writer
 */

static const char hs__hex[] = "0123456789abcdef";

int hs_json_put_string(hs_buf *out, const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s, *e = p + len;
    HS__TRY_BUF(hs_buf_reserve(out, len + 2));
    out->data[out->len++] = '"';
    while (p < e) {
        const uint8_t *run = p;
        while (p < e && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            HS__TRY_BUF(hs_buf_append(out, run, (size_t)(p - run)));
        if (p >= e)
            break;
        uint8_t c = *p;
        if (c >= 0x7f) {
            uint32_t cp = c;
            size_t n = c == 0x7f ? 1 : hs_utf8_decode(p, (size_t)(e - p), &cp);
            if (n == 0) {
                HS__TRY_BUF(hs_buf_append(out, "\xef\xbf\xbd", 3));
                p++;
            } else if (cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
                       cp == 0xfeff || cp == 0xfffe || cp == 0xffff) {
                /* DEL, the C1 controls (U+0085 among them), the line and paragraph separators,
                 * the byte order mark and the non-characters: not printable to YAML readers
                 * (or line breaks to them and to JavaScript). Written escaped, the text reads
                 * back the same. */
                char esc[7];
                snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
                HS__TRY_BUF(hs_buf_append(out, esc, 6));
                p += n;
            } else {
                HS__TRY_BUF(hs_buf_append(out, p, n));
                p += n;
            }
            continue;
        }
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hs__hex[c >> 4];
            esc[5] = hs__hex[c & 15];
            n = 6;
            break;
        }
        HS__TRY_BUF(hs_buf_append(out, esc, n));
        p++;
    }
    HS__TRY_BUF(hs_buf_putc(out, '"'));
    return HS_OK;
}

static int hs__put_u64(hs_buf *out, uint64_t v, bool neg)
{
    char buf[24];
    char *p = buf + sizeof buf;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (neg)
        *--p = '-';
    HS__TRY_BUF(hs_buf_append(out, p, (size_t)(buf + sizeof buf - p)));
    return HS_OK;
}

static int hs__put_i64(hs_buf *out, int64_t v)
{
    /* The magnitude of INT64_MIN does not fit int64, so negate in uint64. */
    if (v < 0)
        return hs__put_u64(out, (uint64_t)0 - (uint64_t)v, true);
    return hs__put_u64(out, (uint64_t)v, false);
}

/*
 * Writes d in the shortest text of at least 15 significant digits that reads
 * back to the same double (hs_fmt_double), which keeps fixed notation for
 * magnitudes below 1e15 at least and adds ".0" to integral values so that
 * they read back as floats.
 * NaN and infinities have no JSON form: null.
 */
static int hs__put_double(hs_buf *out, double d)
{
    if (!isfinite(d)) {
        HS__TRY_BUF(hs_buf_append(out, "null", 4));
        return HS_OK;
    }
    char buf[HS_FMT_DOUBLE_MAX];
    size_t n = hs_fmt_double(d, 15, buf);
    HS__TRY_BUF(hs_buf_append(out, buf, n));
    return HS_OK;
}

/* Writes bin data as a JSON string of its base64. */
static int hs__put_base64(hs_buf *out, const uint8_t *p, size_t len)
{
    HS__TRY_BUF(hs_buf_putc(out, '"'));
    HS__TRY_BUF(hs_base64_encode(out, p, len));
    HS__TRY_BUF(hs_buf_putc(out, '"'));
    return HS_OK;
}

/* Writes one value; depth counts the containers around it. */
static int hs__from_mp(hs_mp_reader *r, hs_buf *out, int depth)
{
    hs_mp_type t;
    int rc = hs_mp_peek(r, &t);
    if (rc != HS_OK)
        return rc;
    switch (t) {
    case HS_MP_NIL:
        rc = hs_mp_get_nil(r);
        if (rc == HS_OK)
            HS__TRY_BUF(hs_buf_append(out, "null", 4));
        return rc;
    case HS_MP_BOOL: {
        bool b;
        rc = hs_mp_get_bool(r, &b);
        if (rc == HS_OK)
            HS__TRY_BUF(b ? hs_buf_append(out, "true", 4) : hs_buf_append(out, "false", 5));
        return rc;
    }
    case HS_MP_INT: {
        int64_t i;
        rc = hs_mp_get_int(r, &i);
        return rc == HS_OK ? hs__put_i64(out, i) : rc;
    }
    case HS_MP_UINT: {
        uint64_t u;
        rc = hs_mp_get_uint(r, &u);
        return rc == HS_OK ? hs__put_u64(out, u, false) : rc;
    }
    case HS_MP_FLOAT: {
        double d;
        rc = hs_mp_get_number(r, &d);
        return rc == HS_OK ? hs__put_double(out, d) : rc;
    }
    case HS_MP_STR: {
        const char *s;
        uint32_t n;
        rc = hs_mp_get_str(r, &s, &n);
        return rc == HS_OK ? hs_json_put_string(out, s, n) : rc;
    }
    case HS_MP_BIN: {
        const uint8_t *p;
        uint32_t n;
        rc = hs_mp_get_bin(r, &p, &n);
        return rc == HS_OK ? hs__put_base64(out, p, n) : rc;
    }
    case HS_MP_ARRAY:
    case HS_MP_MAP:
        break;
    case HS_MP_EXT:
    default:
        return hs_err_set(HS_ERR_PARSE, "json: msgpack ext values have no JSON form");
    }
    if (depth >= HS_MP_MAX_DEPTH)
        return hs_err_set(HS_ERR_PARSE, "json: msgpack value nested deeper than %d",
                          HS_MP_MAX_DEPTH);
    uint32_t n;
    bool map = t == HS_MP_MAP;
    rc = map ? hs_mp_get_map(r, &n) : hs_mp_get_array(r, &n);
    if (rc != HS_OK)
        return rc;
    HS__TRY_BUF(hs_buf_putc(out, map ? '{' : '['));
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            HS__TRY_BUF(hs_buf_putc(out, ','));
        if (map) {
            hs_mp_type kt;
            rc = hs_mp_peek(r, &kt);
            if (rc != HS_OK)
                return rc;
            if (kt == HS_MP_STR) {
                rc = hs__from_mp(r, out, depth + 1);
            } else if (kt == HS_MP_ARRAY || kt == HS_MP_MAP) {
                /* Quoting container keys inside container keys would double the escapes
                 * at every level: output exponential in the input. */
                return hs_err_set(HS_ERR_PARSE,
                                  "json: msgpack map key is an %s, which has no "
                                  "JSON form",
                                  kt == HS_MP_MAP ? "map" : "array");
            } else {
                /* A scalar key that is not a string is written as its JSON text, quoted. */
                hs_buf key;
                hs_buf_init(&key, 0);
                rc = hs__from_mp(r, &key, depth + 1);
                if (rc == HS_OK)
                    rc = hs_json_put_string(out, (const char *)key.data, key.len);
                hs_buf_free(&key);
            }
            if (rc != HS_OK)
                return rc;
            HS__TRY_BUF(hs_buf_putc(out, ':'));
        }
        rc = hs__from_mp(r, out, depth + 1);
        if (rc != HS_OK)
            return rc;
    }
    HS__TRY_BUF(hs_buf_putc(out, map ? '}' : ']'));
    return HS_OK;
}

int hs_json_from_mpack(struct hs_mp_reader *r, hs_buf *out)
{
    const uint8_t *p0 = r->p;
    size_t len0 = out->len;
    int rc = hs__from_mp(r, out, 0);
    if (rc != HS_OK) {
        r->p = p0;
        out->len = len0;
    }
    return rc;
}
