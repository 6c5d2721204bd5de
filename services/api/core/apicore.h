/*
 * hs-api's pure helpers: no HTTP library, no MQTT, no store. Linked by
 * hs-api and by the unit tests (tests/unit/test_apicore.c).
 */
#ifndef HS_APICORE_H
#define HS_APICORE_H

#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Reads an application/x-www-form-urlencoded body of len bytes into out as
 * key\0value\0 pairs, decoded ('+' is a space, %XX a byte; an escape that is
 * malformed or would give a NUL stays as written); *npairs counts them. The
 * body itself is left as it is: a handler that reads it as data (a write, a
 * workflow definition) must see what the client sent.
 */
int apic_form_parse(const char *body, size_t len, hs_buf *out, size_t *npairs);

/*
 * Whether path (a request's URL path, as libmicrohttpd hands it, unescaped)
 * may name a file under the dashboard's directory when appended to it: it
 * starts with '/' (a request target such as "-private/key" would name a
 * sibling of the directory) and has no "." or ".." segment.
 */
bool apic_static_path_ok(const char *path);

#endif
