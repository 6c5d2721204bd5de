/*
 * JSON, read and written without an intermediate tree: JSON text is
 * transcoded straight to msgpack, and msgpack straight to JSON text.
 *
 * The reader is total: any byte string is either read or rejected with
 * HS_ERR_PARSE and a detail giving the byte offset and the reason. It
 * enforces RFC 8259 (no NaN/Infinity, no trailing commas, no comments, no
 * leading zeros), valid UTF-8 in strings (escapes included, surrogate pairs
 * joined, lone surrogates rejected) and a nesting limit of HS_MP_MAX_DEPTH
 * (a top-level [] has depth 1). Only the output buffer can fail otherwise:
 * HS_ERR_NOMEM, or HS_ERR_LIMIT when it has a size bound.
 *
 * Numbers become msgpack integers when they are written without fraction
 * and exponent and fit int64 (or uint64), and float64 otherwise.
 *
 * Number parsing and formatting assume the C locale for LC_NUMERIC (the
 * default of every program that does not call setlocale).
 */
#ifndef HS_JSON_H
#define HS_JSON_H

#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hs_json_type {
    HS_JSON_END,     /* only whitespace is left */
    HS_JSON_INVALID, /* the next byte cannot start a value */
    HS_JSON_NULL,
    HS_JSON_BOOL,
    HS_JSON_NUMBER,
    HS_JSON_STRING,
    HS_JSON_ARRAY,
    HS_JSON_OBJECT,
} hs_json_type;

typedef struct hs_json_reader {
    const char *start; /* first byte of the input (borrowed) */
    const char *p;     /* next byte */
    const char *end;   /* one past the last byte */
    int depth;         /* current nesting of arrays/objects entered with begin */
    bool first;        /* the container just entered has had no element yet */
    bool canonical;    /* integers above INT64_MAX become float64 (see hs_codec.h) */
} hs_json_reader;

/*
 * Starts reading len bytes at s (borrowed; no NUL needed). After any error
 * the reader's position is unspecified: report the error, do not go on.
 */
void hs_json_reader_init(hs_json_reader *r, const char *s, size_t len);

/* Skips whitespace and tells what comes next, without consuming it. */
hs_json_type hs_json_peek(hs_json_reader *r);

/* Byte offset of the cursor, for error messages. */
size_t hs_json_offset(const hs_json_reader *r);

/*
 * Reads one complete value of any kind and appends it to out as msgpack
 * (smallest encodings, as msgpack-c's packer writes them). The value's own
 * nesting may reach HS_MP_MAX_DEPTH whatever the containers entered with
 * begin. An object giving the same key twice is an error (HS_ERR_PARSE).
 * On failure out is left as it was.
 */
int hs_json_value_to_mpack(hs_json_reader *r, hs_buf *out);

/*
 * Skips one complete value, accepting what hs_json_value_to_mpack accepts
 * except that an object giving a key twice is not looked for.
 */
int hs_json_skip(hs_json_reader *r);

/* Reads a string value; its decoded UTF-8 bytes are appended to out (no NUL). */
int hs_json_get_string(hs_json_reader *r, hs_buf *out);

/*
 * Reads a number value and returns its text (borrowed from the input) after
 * validating the JSON number grammar.
 */
int hs_json_get_number_text(hs_json_reader *r, const char **s, size_t *len);

/*
 * Walking containers: begin consumes '{' or '['. For objects, next_key reads
 * the next key into key (reset first) and the ':' after it, or sets *done and
 * consumes '}'. For arrays, next_item positions before the next element, or
 * sets *done and consumes ']'. The caller reads or skips each value.
 * Containers entered with begin nest at most HS_MP_MAX_DEPTH deep.
 */
int hs_json_object_begin(hs_json_reader *r);
int hs_json_object_next_key(hs_json_reader *r, hs_buf *key, bool *done);
int hs_json_array_begin(hs_json_reader *r);
int hs_json_array_next_item(hs_json_reader *r, bool *done);

/* HS_OK when only whitespace remains, HS_ERR_PARSE otherwise. */
int hs_json_expect_end(hs_json_reader *r);

/*
 * Transcodes a whole JSON document (one value, surrounding whitespace
 * allowed). Numbers of more than 100 characters are rejected; numbers that
 * overflow a double (1e400) are rejected, ones that underflow become 0 or
 * subnormal. On failure out is left as it was.
 */
int hs_json_to_mpack(const char *s, size_t len, hs_buf *out);

/*
 * Appends the JSON text of one msgpack value at the reader's cursor.
 * Floats use the shortest "%.*g" form of at least 15 digits that reads back
 * to the same double (hs_fmt_double), with ".0" added to integral floats so
 * they stay floats; NaN and
 * infinities become null; bin becomes a base64 string; scalar map keys that
 * are not strings are written as their JSON text in a string (1 -> "1");
 * array and map keys, ext and nesting deeper than HS_MP_MAX_DEPTH are
 * rejected (HS_ERR_PARSE), as is truncated msgpack. The reader moves past
 * the value on success; on failure neither it nor out changes.
 */
struct hs_mp_reader;
int hs_json_from_mpack(struct hs_mp_reader *r, hs_buf *out);

/*
 * Appends s as a JSON string literal: '"', '\\' and control characters are
 * escaped (\n, \t, ... or \u00XX), everything else is copied. Each byte
 * that is not part of valid UTF-8 becomes U+FFFD.
 */
int hs_json_put_string(hs_buf *out, const char *s, size_t len);

#endif
