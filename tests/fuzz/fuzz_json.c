/*
 * Fuzz target: the JSON reader and writer.
 * - Any input is transcoded to msgpack; when that succeeds, the msgpack is
 *   written back as JSON and transcoded again, and both msgpack encodings
 *   must be byte-identical. Skipping the input must succeed exactly when
 *   transcoding does, but for objects giving a key twice (which only
 *   transcoding looks for).
 * - The input is also read as msgpack and written as JSON; when that
 *   succeeds, the JSON written must itself be valid JSON and transcode back
 *   unless a map gave a key twice (keys that are not strings are written as
 *   their text, so {1: x, "1": y} gives one too).
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether rc is the error of a map or object that gives a key twice. */
static bool duplicate_key(int rc)
{
    return rc == HS_ERR_PARSE && strstr(hs_err_detail(), "duplicate map key") != NULL;
}

/* Whether text is one JSON value, duplicates aside. */
static bool json_valid(const uint8_t *text, size_t len)
{
    hs_json_reader r;
    hs_json_reader_init(&r, (const char *)text, len);
    return hs_json_skip(&r) == HS_OK && hs_json_expect_end(&r) == HS_OK;
}

static void json_round_trip(const char *text, size_t size)
{
    hs_buf m1, json, m2;
    hs_buf_init(&m1, 0);
    hs_buf_init(&json, 0);
    hs_buf_init(&m2, 0);
    int rc = hs_json_to_mpack(text, size, &m1);

    hs_json_reader r;
    hs_json_reader_init(&r, text, size);
    int skip_rc = hs_json_skip(&r);
    if (skip_rc == HS_OK)
        skip_rc = hs_json_expect_end(&r);
    if ((rc == HS_OK) != (skip_rc == HS_OK) && !(skip_rc == HS_OK && duplicate_key(rc)))
        abort();

    if (rc == HS_OK) {
        hs_mp_reader mr;
        hs_mp_reader_init(&mr, m1.data, m1.len);
        if (hs_json_from_mpack(&mr, &json) != HS_OK || !hs_mp_at_end(&mr))
            abort();
        if (hs_json_to_mpack((const char *)json.data, json.len, &m2) != HS_OK)
            abort();
        if (m1.len != m2.len || memcmp(m1.data, m2.data, m1.len) != 0)
            abort();
    } else if (rc != HS_ERR_PARSE) {
        abort();
    }
    hs_buf_free(&m1);
    hs_buf_free(&json);
    hs_buf_free(&m2);
}

static void mpack_to_json(const uint8_t *data, size_t size)
{
    hs_buf json, m;
    hs_buf_init(&json, 0);
    hs_buf_init(&m, 0);
    hs_mp_reader r;
    hs_mp_reader_init(&r, data, size);
    if (hs_json_from_mpack(&r, &json) == HS_OK) {
        if (!json_valid(json.data, json.len))
            abort();
        int rc = hs_json_to_mpack((const char *)json.data, json.len, &m);
        if (rc != HS_OK && !duplicate_key(rc))
            abort();
    } else if (json.len != 0 || r.p != data) {
        abort();
    }
    hs_buf_free(&json);
    hs_buf_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_round_trip((const char *)data, size);
    mpack_to_json(data, size);
    return 0;
}
