/* application/x-www-form-urlencoded text (hs_form.h). */
#include "hs_form.h"

#include "hs_error.h"

#include <string.h>

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Appends the decoded text of s[0, n) and a NUL (%00 stays as it is: NUL ends the text). */
static int put_decoded(hs_buf *out, const char *s, size_t n)
{
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            rc = hs_buf_putc(out, ' ');
        } else if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
                   (lo = hexval((unsigned char)s[i + 2])) >= 0 && hi * 16 + lo != 0) {
            rc = hs_buf_putc(out, (uint8_t)(hi * 16 + lo));
            i += 2;
        } else {
            rc = hs_buf_putc(out, (uint8_t)s[i]);
        }
    }
    return rc == HS_OK ? hs_buf_putc(out, '\0') : rc;
}

int hs_form_parse(const char *s, size_t len, hs_buf *out, size_t *n)
{
    hs_buf_reset(out);
    *n = 0;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && s[end] != '&')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && s[eq] != '=')
                eq++;
            int rc = put_decoded(out, s + i, eq - i);
            if (rc == HS_OK)
                rc = eq < end ? put_decoded(out, s + eq + 1, end - eq - 1) : hs_buf_putc(out, '\0');
            if (rc != HS_OK)
                return rc;
            (*n)++;
        }
        i = end + 1;
    }
    return HS_OK;
}

const char *hs_form_pair(const hs_buf *pairs, size_t n, size_t i, const char **value)
{
    const char *p = (const char *)pairs->data;
    for (size_t k = 0; k < n; k++) {
        const char *v = p + strlen(p) + 1;
        if (k == i) {
            *value = v;
            return p;
        }
        p = v + strlen(v) + 1;
    }
    *value = NULL;
    return NULL;
}

const char *hs_form_get(const hs_buf *pairs, size_t n, const char *key)
{
    const char *p = (const char *)pairs->data;
    for (size_t k = 0; k < n; k++) {
        const char *v = p + strlen(p) + 1;
        if (strcmp(p, key) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}
