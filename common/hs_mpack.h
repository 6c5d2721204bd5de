/*
 * msgpack encoding and decoding.
 *
 * Writing goes through msgpack-c's packer into an hs_buf. Reading is a
 * bounds-checked cursor: every function checks that the bytes it needs are
 * there and returns HS_ERR_PARSE otherwise, so any byte string is either
 * read or rejected, never read out of bounds.
 */
#ifndef HS_MPACK_H
#define HS_MPACK_H

#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of arrays and maps that the value readers accept. */
#define HS_MP_MAX_DEPTH 64

int hs_mp_put_nil(hs_buf *b);
int hs_mp_put_bool(hs_buf *b, bool v);
int hs_mp_put_int(hs_buf *b, int64_t v);
int hs_mp_put_uint(hs_buf *b, uint64_t v);
int hs_mp_put_double(hs_buf *b, double v);
int hs_mp_put_str(hs_buf *b, const char *s, size_t len);
int hs_mp_put_cstr(hs_buf *b, const char *s);
int hs_mp_put_bin(hs_buf *b, const void *p, size_t len);
int hs_mp_put_array(hs_buf *b, uint32_t n);
int hs_mp_put_map(hs_buf *b, uint32_t n);
/* Appends len bytes that already hold one encoded value. */
int hs_mp_put_raw(hs_buf *b, const void *p, size_t len);

typedef enum hs_mp_type {
    HS_MP_NIL,
    HS_MP_BOOL,
    HS_MP_INT,   /* any integer that fits int64 */
    HS_MP_UINT,  /* an unsigned integer above INT64_MAX */
    HS_MP_FLOAT, /* float32 or float64 */
    HS_MP_STR,
    HS_MP_BIN,
    HS_MP_ARRAY,
    HS_MP_MAP,
    HS_MP_EXT, /* extension types; not part of the value model */
} hs_mp_type;

typedef struct hs_mp_reader {
    const uint8_t *p;   /* next byte to read (borrowed) */
    const uint8_t *end; /* one past the last byte */
} hs_mp_reader;

void hs_mp_reader_init(hs_mp_reader *r, const void *data, size_t len);
bool hs_mp_at_end(const hs_mp_reader *r);
size_t hs_mp_remaining(const hs_mp_reader *r);

/* Type of the next value without consuming it; HS_ERR_PARSE at end or on an invalid byte. */
int hs_mp_peek(const hs_mp_reader *r, hs_mp_type *type);

/* Each reads one value of the named kind; HS_ERR_PARSE on a type mismatch or truncation (the
 * cursor does not move on failure). */
int hs_mp_get_nil(hs_mp_reader *r);
int hs_mp_get_bool(hs_mp_reader *r, bool *v);
/* Any integer that fits int64. */
int hs_mp_get_int(hs_mp_reader *r, int64_t *v);
/* Any non-negative integer. */
int hs_mp_get_uint(hs_mp_reader *r, uint64_t *v);
/* Any integer or float, as a double. */
int hs_mp_get_number(hs_mp_reader *r, double *v);
/* String bytes, borrowed from the input (not NUL-terminated). */
int hs_mp_get_str(hs_mp_reader *r, const char **s, uint32_t *len);
int hs_mp_get_bin(hs_mp_reader *r, const uint8_t **p, uint32_t *len);
/* Container headers; the n elements (2n for maps) follow. n never exceeds the remaining bytes. */
int hs_mp_get_array(hs_mp_reader *r, uint32_t *n);
int hs_mp_get_map(hs_mp_reader *r, uint32_t *n);

/* Skips one complete value of any kind (iteratively, so nesting depth does not matter). */
int hs_mp_skip(hs_mp_reader *r);

/* Skips one complete value and returns where its bytes are. */
int hs_mp_get_raw(hs_mp_reader *r, const uint8_t **p, size_t *len);

/*
 * Checks that no map inside the value v (len bytes, one well-formed value
 * whose map keys are strings) has the same key twice: HS_ERR_PARSE naming
 * the key otherwise. O(k log k) per map of k keys.
 */
int hs_mp_check_unique_keys(const uint8_t *v, size_t len);

/*
 * Indexed access to the fields of a map whose keys are strings (the shape of
 * every internal message). hs_mp_map_index reads one map value at the start
 * of data and records each field's key and the byte span of its value, up
 * to max fields (HS_ERR_LIMIT beyond, HS_ERR_PARSE on anything but a map
 * with string keys). *used (may be NULL) receives the bytes the map took.
 */
typedef struct hs_mp_field {
    const char *key; /* borrowed, not NUL-terminated */
    uint32_t klen;
    const uint8_t *val; /* borrowed encoded value */
    size_t vlen;
} hs_mp_field;

int hs_mp_map_index(const uint8_t *data, size_t len, hs_mp_field *fields, size_t max, size_t *n,
                    size_t *used);

/* The field named key, or NULL. */
const hs_mp_field *hs_mp_field_find(const hs_mp_field *f, size_t n, const char *key);

/* Typed field reads: HS_ERR_NOTFOUND when absent, HS_ERR_PARSE (detail names the key) on a
 * type mismatch. */
int hs_mp_field_str(const hs_mp_field *f, size_t n, const char *key, const char **s, uint32_t *len);
int hs_mp_field_int(const hs_mp_field *f, size_t n, const char *key, int64_t *v);
int hs_mp_field_uint(const hs_mp_field *f, size_t n, const char *key, uint64_t *v);
int hs_mp_field_bool(const hs_mp_field *f, size_t n, const char *key, bool *v);

#endif
