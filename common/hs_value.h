/*
 * Decoded values: a tree form of canonical msgpack values for tools that
 * need to look inside them (dict components, lists, splitting). All memory
 * of a tree comes from one hs_arena; strings may point into the msgpack
 * input they were decoded from, which must then outlive the tree.
 *
 * The value model is that of the payloads: nil, bool, int64, float64, str,
 * bin, arrays, and maps whose keys are strings (kept in their order).
 * Containers nest at most HS_MP_MAX_DEPTH deep (a top-level array is depth 1).
 */
#ifndef HS_VALUE_H
#define HS_VALUE_H

#include "hs_arena.h"
#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hs_vtype {
    HS_V_NIL,
    HS_V_BOOL,
    HS_V_INT,
    HS_V_FLOAT,
    HS_V_STR,
    HS_V_BIN,
    HS_V_ARRAY,
    HS_V_MAP,
} hs_vtype;

typedef struct hs_value hs_value;
struct hs_value {
    hs_vtype type;
    uint32_t len; /* STR/BIN: bytes; ARRAY: items; MAP: pairs */
    union {
        bool b;
        int64_t i;
        double f;
        const char *s;      /* STR, not NUL-terminated */
        const uint8_t *bin; /* BIN */
        hs_value *items;    /* ARRAY: len items; MAP: 2*len items, key then value */
    } u;
};

/*
 * Decodes len bytes holding exactly one msgpack value into a tree allocated
 * in a; STR and BIN point into data. Float32 becomes a double. Errors:
 * HS_ERR_PARSE for malformed or truncated input, bytes after the value, ext
 * types or a map key that is not a string; HS_ERR_RANGE for an integer above
 * INT64_MAX; HS_ERR_LIMIT for nesting deeper than HS_MP_MAX_DEPTH or when the
 * arena's limit is reached; HS_ERR_NOMEM. On failure *out is untouched and
 * what was already allocated stays in the arena until it is reset.
 */
int hs_value_decode(hs_arena *a, const uint8_t *data, size_t len, hs_value **out);

/*
 * Appends the canonical msgpack encoding of v: integers in their smallest
 * form (non-negative ones as msgpack-c writes them, in the unsigned forms),
 * floats as float64, str/bin/array/map headers in their smallest form.
 * HS_ERR_INVAL when a map key is not a STR or a type is unknown, HS_ERR_LIMIT
 * when nesting is deeper than HS_MP_MAX_DEPTH, or an hs_buf error; on
 * failure out is restored to its length before the call.
 */
int hs_value_encode(const hs_value *v, hs_buf *out);

/* Constructors; NULL when the arena is exhausted. */
hs_value *hs_value_nil(hs_arena *a);
hs_value *hs_value_bool(hs_arena *a, bool b);
hs_value *hs_value_int(hs_arena *a, int64_t i);
hs_value *hs_value_float(hs_arena *a, double f);
hs_value *hs_value_str(hs_arena *a, const char *s, size_t len); /* copies s */
hs_value *hs_value_array(hs_arena *a, uint32_t n);              /* n nil items */
/* n pairs with nil keys and values: set every key to a STR before encoding. */
hs_value *hs_value_map(hs_arena *a, uint32_t n);

/* Map lookup by string key (the first match); NULL when absent or v is not a map. */
const hs_value *hs_value_map_get(const hs_value *v, const char *key, size_t klen);

/* Numeric view of INT, FLOAT and BOOL (0 or 1); HS_ERR_INVAL for other types. */
int hs_value_to_double(const hs_value *v, double *out);

/*
 * Deep equality (INT 1 and FLOAT 1.0 are different values). Floats are
 * equal when they are the same number with the same sign (0.0 and -0.0
 * differ); every NaN equals every NaN. Equal exactly when hs_value_cmp is 0.
 */
bool hs_value_equal(const hs_value *a, const hs_value *b);

/*
 * Total order for sorting: by type rank (nil < bool < numbers < str < bin <
 * array < map), false < true, numbers by exact numeric value (INT and FLOAT
 * compared without rounding; on a tie the INT comes first; -0.0 < 0.0; NaN
 * after every number), strings and bin bytewise (a prefix first),
 * containers element-wise (maps as their key, value sequence) and then the
 * shorter first. Returns <0, 0 or >0.
 */
int hs_value_cmp(const hs_value *a, const hs_value *b);

/*
 * Deep copy into another arena, strings and bin included (the copy does not
 * depend on the original's input). NULL when the arena is exhausted or v is
 * nested deeper than HS_MP_MAX_DEPTH.
 */
hs_value *hs_value_clone(hs_arena *a, const hs_value *v);

/*
 * Appends v as JSON text (same rules as hs_json_from_mpack, through which it
 * goes). Errors as hs_value_encode and hs_json_from_mpack.
 */
int hs_value_to_json(const hs_value *v, hs_buf *out);

#endif
