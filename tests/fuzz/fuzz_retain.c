/*
 * Fuzz target: the writer's retention setting (hs_retain_parse).
 * - Whatever the input, parsing returns HS_OK or HS_ERR_PARSE (or
 *   HS_ERR_NOMEM) and leaves no rules on error.
 * - Every parsed rule has a positive keep and a pattern that
 *   hs_retain_pattern_valid accepts and that matches itself when it has no
 *   wildcard.
 * - The rules written back as "PATTERN KEEP; ..." parse to the same rules.
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_retain.h"
#include "hs_time.h"

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
    hs_retain r;
    hs_retain_init(&r);
    int rc = hs_retain_parse((const char *)data, size, &r);
    check(rc == HS_OK || rc == HS_ERR_PARSE || rc == HS_ERR_NOMEM);
    if (rc != HS_OK) {
        check(r.n == 0 && r.v == NULL);
        return 0;
    }
    hs_buf text;
    hs_buf_init(&text, 0);
    for (size_t i = 0; i < r.n; i++) {
        const char *p = r.v[i].pattern;
        size_t pl = strlen(p);
        check(r.v[i].keep_us > 0);
        check(hs_retain_pattern_valid(p, pl));
        if (strchr(p, '+') == NULL && strchr(p, '#') == NULL)
            check(hs_retain_pattern_matches(p, p));
        char d[HS_DURATION_MAX];
        hs_duration_format(r.v[i].keep_us, d);
        if (hs_buf_printf(&text, "%s %s;", p, d) != HS_OK) {
            hs_buf_free(&text);
            hs_retain_free(&r);
            return 0;
        }
    }
    hs_retain back;
    hs_retain_init(&back);
    rc = hs_retain_parse((const char *)text.data, text.len, &back);
    check(rc == HS_OK || rc == HS_ERR_NOMEM);
    if (rc == HS_OK) {
        check(back.n == r.n);
        for (size_t i = 0; i < r.n; i++)
            check(strcmp(back.v[i].pattern, r.v[i].pattern) == 0 &&
                  back.v[i].keep_us == r.v[i].keep_us);
    }
    hs_retain_free(&back);
    hs_retain_free(&r);
    hs_buf_free(&text);
    return 0;
}
