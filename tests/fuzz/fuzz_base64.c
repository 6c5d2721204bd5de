/*
 * Fuzz target: base64 (hs_base64).
 * - The input as base64 text: the decoder either accepts it, and then
 *   encoding the bytes gives the input back exactly (only canonical text is
 *   accepted) with 3 bytes per 4 characters less the padding, or rejects it
 *   with HS_ERR_PARSE, a "base64:" detail and the output untouched.
 * - The input as bytes: the encoding has the announced length, uses only
 *   the alphabet and '=' at the end, and decodes back to the input.
 */
#include "hs_base64.h"
#include "hs_buf.h"
#include "hs_error.h"

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

static bool in_alphabet(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static void check_decode(const uint8_t *data, size_t size)
{
    hs_buf dec, enc;
    hs_buf_init(&dec, 0);
    hs_buf_init(&enc, 0);
    check(hs_buf_puts(&dec, "pre") == HS_OK);
    int rc = hs_base64_decode(&dec, (const char *)data, size);
    if (rc == HS_OK) {
        size_t pad = 0;
        while (pad < size && data[size - 1 - pad] == '=')
            pad++;
        check(size % 4 == 0 && pad <= 2 && dec.len == 3 + size / 4 * 3 - pad);
        check(memcmp(dec.data, "pre", 3) == 0);
        check(hs_base64_encode(&enc, dec.data + 3, dec.len - 3) == HS_OK);
        check(enc.len == size && (size == 0 || memcmp(enc.data, data, size) == 0));
    } else {
        check(rc == HS_ERR_PARSE && strncmp(hs_err_detail(), "base64: ", 8) == 0);
        check(dec.len == 3 && memcmp(dec.data, "pre", 3) == 0);
    }
    hs_buf_free(&dec);
    hs_buf_free(&enc);
}

static void check_encode(const uint8_t *data, size_t size)
{
    hs_buf enc, dec;
    hs_buf_init(&enc, 0);
    hs_buf_init(&dec, 0);
    check(hs_base64_encode(&enc, data, size) == HS_OK);
    check(enc.len == hs_base64_encoded_len(size) && enc.len == (size + 2) / 3 * 4);
    size_t pad = (3 - size % 3) % 3;
    for (size_t i = 0; i < enc.len; i++)
        check(i < enc.len - pad ? in_alphabet(enc.data[i]) : enc.data[i] == '=');
    check(hs_base64_decode(&dec, (const char *)enc.data, enc.len) == HS_OK);
    check(dec.len == size && (size == 0 || memcmp(dec.data, data, size) == 0));
    hs_buf_free(&enc);
    hs_buf_free(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decode(data, size);
    check_encode(data, size);
    return 0;
}
