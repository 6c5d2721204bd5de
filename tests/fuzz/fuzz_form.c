/*
 * Fuzz target: form text (hs_form). No crash; the input is not changed; the
 * pairs are within the output; and the pairs written back with every byte
 * percent-encoded read back to the same pairs.
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_form.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void put_encoded(hs_buf *b, const char *s)
{
    for (; *s; s++)
        check(hs_buf_printf(b, "%%%02X", (unsigned char)*s) == HS_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    check(copy != NULL);
    memcpy(copy, data, size);
    hs_buf out, again, text;
    hs_buf_init(&out, 0);
    hs_buf_init(&again, 0);
    hs_buf_init(&text, 0);
    size_t n = 0, m = 0;
    check(hs_form_parse(copy, size, &out, &n) == HS_OK);
    check(memcmp(copy, data, size) == 0);
    for (size_t i = 0; i < n; i++) {
        const char *v;
        const char *k = hs_form_pair(&out, n, i, &v);
        check(k != NULL && v != NULL);
        check((const uint8_t *)v + strlen(v) < out.data + out.len);
        if (i > 0)
            check(hs_buf_putc(&text, '&') == HS_OK);
        put_encoded(&text, k);
        check(hs_buf_putc(&text, '=') == HS_OK);
        put_encoded(&text, v);
    }
    check(hs_form_parse((const char *)text.data, text.len, &again, &m) == HS_OK);
    /* Pairs with an empty key and value write back as "=" and read back as one pair. */
    check(m == n);
    for (size_t i = 0; i < n; i++) {
        const char *v1, *v2;
        const char *k1 = hs_form_pair(&out, n, i, &v1);
        const char *k2 = hs_form_pair(&again, m, i, &v2);
        check(strcmp(k1, k2) == 0 && strcmp(v1, v2) == 0);
    }
    hs_buf_free(&out);
    hs_buf_free(&again);
    hs_buf_free(&text);
    free(copy);
    return 0;
}
