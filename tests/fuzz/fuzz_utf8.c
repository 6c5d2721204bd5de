/*
 * Fuzz target: UTF-8 validation (hs_utf8) against a reference written
 * here from the definition: decode the bits of each sequence, then refuse
 * overlong forms, surrogates and code points above U+10FFFF.
 * - hs_utf8_check gives the offset of the first byte the reference refuses.
 * - hs_utf8_decode agrees with the reference on every position: the same
 *   length and code point, or 0 for both; nothing past avail is read.
 * - Re-encoding the decoded code points gives the valid prefix back.
 */
#include "hs_utf8.h"

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

/* The reference: length of the sequence at p (0 when invalid) and its code point. */
static size_t ref_decode(const uint8_t *p, size_t avail, uint32_t *cp)
{
    if (avail == 0)
        return 0;
    uint8_t c = p[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1fu, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0fu, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

static size_t encode(uint32_t cp, uint8_t *b)
{
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (uint8_t)(0xc0 | (cp >> 6));
        b[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (uint8_t)(0xe0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    b[0] = (uint8_t)(0xf0 | (cp >> 18));
    b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Every position, decoded from a copy that ends there so reads past avail are caught. */
    for (size_t i = 0; i < size; i++) {
        size_t avail = size - i < 4 ? size - i : 4;
        uint8_t *tail = malloc(avail);
        check(tail != NULL);
        memcpy(tail, data + i, avail);
        uint32_t want = 0, got = 0xffffffffu;
        size_t rn = ref_decode(tail, avail, &want);
        size_t n = hs_utf8_decode(tail, avail, &got);
        check(n == rn && (n == 0 ? got == 0xffffffffu : got == want));
        free(tail);
    }
    /* The walk: valid sequences one after the other up to the first invalid one. */
    uint8_t *again = malloc(size + 1);
    check(again != NULL);
    size_t i = 0, o = 0;
    while (i < size) {
        uint32_t cp = 0;
        size_t n = ref_decode(data + i, size - i, &cp);
        if (n == 0)
            break;
        size_t k = encode(cp, again + o);
        check(k == n);
        o += k;
        i += n;
    }
    check(hs_utf8_check(data, size) == i);
    check(hs_utf8_valid(data, size) == (i == size));
    check(hs_utf8_valid(data, i));
    check(o == i && (i == 0 || memcmp(again, data, i) == 0));
    free(again);
    return 0;
}
