/*
 * Decoded values: a tree form of canonical msgpack values for tools that
 * need to look inside them (dict components, lists, splitting). All memory
 * of a tree comes from one hs_arena; strings may point into the msgpack
 * input they were decoded from, which must then outlive the tree.
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

/* Decodes len bytes holding one msgpack value (depth <= HS_MP_MAX_DEPTH). */
int hs_value_decode(hs_arena *a, const uint8_t *data, size_t len, hs_value **out);

/* Appends the canonical msgpack encoding of v. */
int hs_value_encode(const hs_value *v, hs_buf *out);

/* Constructors; NULL when the arena is exhausted. */
hs_value *hs_value_nil(hs_arena *a);
hs_value *hs_value_bool(hs_arena *a, bool b);
hs_value *hs_value_int(hs_arena *a, int64_t i);
hs_value *hs_value_float(hs_arena *a, double f);
hs_value *hs_value_str(hs_arena *a, const char *s, size_t len); /* copies s */
hs_value *hs_value_array(hs_arena *a, uint32_t n);              /* n nil items */
hs_value *hs_value_map(hs_arena *a, uint32_t n);                /* n nil pairs */

/* Map lookup by string key; NULL when absent or v is not a map. */
const hs_value *hs_value_map_get(const hs_value *v, const char *key, size_t klen);

/* Numeric view of INT, FLOAT and BOOL; HS_ERR_INVAL for other types. */
int hs_value_to_double(const hs_value *v, double *out);

/* Deep equality (INT 1 and FLOAT 1.0 are different values). */
bool hs_value_equal(const hs_value *a, const hs_value *b);

/*
 * Total order for sorting: by type rank (nil < bool < numbers < str < bin <
 * array < map), numbers by numeric value, strings bytewise, containers
 * element-wise.
 */
int hs_value_cmp(const hs_value *a, const hs_value *b);

/* Deep copy into another arena. */
hs_value *hs_value_clone(hs_arena *a, const hs_value *v);

/* Appends v as JSON text (same rules as hs_json_from_mpack). */
int hs_value_to_json(const hs_value *v, hs_buf *out);

#endif
