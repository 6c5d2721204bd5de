/*
 * Fuzz target: compiling JSON Schemas and validating values with them. The
 * input is a schema text (JSON or YAML), a NUL byte, and a msgpack value.
 * Compiling either succeeds or fails with a message; validating either
 * passes or fails with a message naming a JSON pointer under "/v"; a value
 * must be judged the same way twice. Any other outcome aborts.
 */
#include "hs_arena.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_jschema.h"

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
    const uint8_t *nul = memchr(data, 0, size);
    size_t slen = nul != NULL ? (size_t)(nul - data) : size;
    const uint8_t *value = nul != NULL ? nul + 1 : data + size;
    size_t vlen = size - slen - (nul != NULL ? 1 : 0);

    hs_buf err;
    hs_buf_init(&err, 0);
    hs_jschema *s = NULL;
    int rc = hs_jschema_compile_text(&s, (const char *)data, slen, "fuzz", &err);
    check(rc == HS_OK || rc == HS_ERR_PARSE || rc == HS_ERR_SCHEMA || rc == HS_ERR_LIMIT ||
          rc == HS_ERR_RANGE || rc == HS_ERR_UNSUPPORTED);
    check((rc == HS_OK) == (s != NULL));
    check(rc == HS_OK || err.len > 0);
    if (rc == HS_OK) {
        hs_arena a;
        hs_arena_init(&a, 4096, 1024 * 1024);
        rc = hs_jschema_validate_mpack(s, value, vlen, "/v", &a, &err);
        check(rc == HS_OK || rc == HS_ERR_SCHEMA);
        check(rc == HS_OK || strncmp(hs_buf_cstr(&err), "/v", 2) == 0);
        int rc2 = hs_jschema_validate_mpack(s, value, vlen, "/v", &a, NULL);
        check(rc2 == rc);
        hs_arena_free(&a);
    }
    hs_jschema_destroy(s);
    hs_buf_free(&err);
    return 0;
}
