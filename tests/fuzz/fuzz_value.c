/*
 * Fuzz target: decoding msgpack into value trees. Any input is either
 * rejected or decoded within the arena's limit; a decoded tree must encode,
 * the encoding must decode to an equal tree and re-encode to the same bytes,
 * and a clone must be equal. Any disagreement aborts.
 */
#include "hs_arena.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_arena a;
    hs_arena_init(&a, 4096, 256 * 1024);
    hs_value *v = NULL;
    int rc = hs_value_decode(&a, data, size, &v);
    check(rc == HS_OK || rc == HS_ERR_PARSE || rc == HS_ERR_RANGE || rc == HS_ERR_LIMIT);
    check(a.used <= a.limit);
    if (rc != HS_OK) {
        hs_arena_free(&a);
        return 0;
    }

    hs_buf enc, enc2;
    hs_buf_init(&enc, 0);
    hs_buf_init(&enc2, 0);
    check(hs_value_encode(v, &enc) == HS_OK);

    hs_arena a2;
    hs_arena_init(&a2, 0, 0);
    hs_value *v2 = NULL;
    check(hs_value_decode(&a2, enc.data, enc.len, &v2) == HS_OK);
    check(hs_value_equal(v, v2) && hs_value_cmp(v, v2) == 0 && hs_value_cmp(v2, v) == 0);
    check(hs_value_encode(v2, &enc2) == HS_OK);
    check(enc2.len == enc.len && memcmp(enc.data, enc2.data, enc.len) == 0);

    hs_value *c = hs_value_clone(&a2, v);
    check(c != NULL && hs_value_equal(c, v));

    /* JSON output is total for decoded trees (ext is the only refusal, and it is not decoded). */
    hs_buf json;
    hs_buf_init(&json, 0);
    check(hs_value_to_json(v, &json) == HS_OK);
    hs_buf_free(&json);

    hs_buf_free(&enc);
    hs_buf_free(&enc2);
    hs_arena_free(&a2);
    hs_arena_free(&a);
    return 0;
}
