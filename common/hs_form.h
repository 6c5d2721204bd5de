/*
 * application/x-www-form-urlencoded text (an HTTP form body or a query
 * string): pairs key=value separated by '&', '+' for a space and %HH for a
 * byte. Used by hs-api for the form bodies of the Prometheus API (Grafana
 * sends its queries as POST forms).
 */
#ifndef HS_FORM_H
#define HS_FORM_H

#include "hs_buf.h"

#include <stddef.h>

/*
 * Decodes the len bytes of s into out (reset first) as n pairs, each the
 * key and the value NUL-terminated one after the other ("k\0v\0k2\0v2\0");
 * a part without '=' has an empty value, empty parts ("a=1&&b=2") are
 * skipped. A '%' not followed by two hex digits stays as it is (as browsers
 * send it), and so does %00 (keys and values are NUL-terminated). The input
 * is not changed. HS_OK or HS_ERR_NOMEM.
 */
int hs_form_parse(const char *s, size_t len, hs_buf *out, size_t *n);

/* The value of the first pair named key among the n pairs of a parse, or NULL. */
const char *hs_form_get(const hs_buf *pairs, size_t n, const char *key);

/* The i-th pair (i < n) of a parse: its key, and its value into *value. */
const char *hs_form_pair(const hs_buf *pairs, size_t n, size_t i, const char **value);

#endif
