/*
 * JSON Schema: a compact validator for a subset of draft 2020-12, over the
 * project's value trees (hs_value.h). Used by ingest to check raw readings
 * against the schemas of docs/SCHEMAS.md.
 *
 * Keywords understood:
 *   type (a name or an array of names: null, boolean, integer, number,
 *   string, array, object; an integer is an INT or an integral FLOAT),
 *   enum, const (numbers compare by value: 1 equals 1.0; objects without
 *   regard to key order), minimum, maximum, exclusiveMinimum,
 *   exclusiveMaximum, multipleOf (floats with a relative tolerance of 1e-9),
 *   minLength, maxLength (in Unicode code points), pattern, required,
 *   properties, additionalProperties (a boolean or a schema),
 *   minProperties, maxProperties, items (one schema for every item),
 *   minItems, maxItems, allOf, anyOf, oneOf, not, $defs (at the root only)
 *   and $ref to "#" or "#/$defs/<name>".
 * Annotations accepted and ignored: $schema, $id, title, description,
 * default, examples, $comment. Any other keyword is an error when the
 * schema is compiled, so that a misspelt keyword cannot pass every value.
 *
 * pattern is a POSIX extended regular expression (regcomp REG_EXTENDED), not
 * ECMA-262: it is searched for anywhere in the string (anchor it with ^ and
 * $), matches bytes in the C locale (. is one byte, not one character),
 * knows no \d, \w, \s or lookaround (use [0-9], [[:alnum:]_], [[:space:]]),
 * and back-references are refused. A pattern is at most 256 bytes, a
 * repetition cannot be repeated ("a+*"), and its repetitions multiply to at
 * most 1000 ('+' counts 2, {n,m} its larger bound, nested or not): glibc
 * copies what they repeat.
 *
 * Limits: a schema has at most HS_JSCHEMA_MAX_NODES subschemas and nests at
 * most HS_MP_MAX_DEPTH deep; one validation visits at most
 * HS_JSCHEMA_MAX_STEPS subschemas (recursive $refs that do not descend into
 * the value end there, with an error).
 *
 * A compiled schema is immutable: several threads may validate with it at
 * once, each with its own buffers.
 */
#ifndef HS_JSCHEMA_H
#define HS_JSCHEMA_H

#include "hs_buf.h"
#include "hs_value.h"

#include <stddef.h>
#include <stdint.h>

#define HS_JSCHEMA_MAX_NODES 4096
#define HS_JSCHEMA_MAX_STEPS 100000

typedef struct hs_jschema hs_jschema; /* opaque */

/*
 * Compiles the schema sv (an object or a boolean; borrowed, copied into the
 * result). On success *out is a new schema the caller destroys. On failure
 * *out is NULL and err (reset first; may be NULL) says where and why, with a
 * JSON pointer into the schema ("/properties/v/maximum: must be a number");
 * the same text is the hs_err_detail(). Errors: HS_ERR_SCHEMA for an invalid
 * schema (unknown keyword, wrong type, bad pattern, unresolved $ref),
 * HS_ERR_LIMIT beyond the limits, HS_ERR_NOMEM.
 */
int hs_jschema_compile(hs_jschema **out, const hs_value *sv, hs_buf *err);

/*
 * Compiles a schema given as JSON or YAML text of len bytes (borrowed; name,
 * which may be NULL, is used in messages: "name:line:col: ..." for syntax
 * errors, "name: /pointer: ..." for schema errors). Errors as
 * hs_jschema_compile, and HS_ERR_PARSE for text that does not parse.
 */
int hs_jschema_compile_text(hs_jschema **out, const char *text, size_t len, const char *name,
                            hs_buf *err);

/*
 * Checks value v against s. HS_OK when it is valid; HS_ERR_SCHEMA when it
 * is not, with err (reset first; may be NULL) naming the JSON pointer of the
 * first failing value, prefixed by where (e.g. "/v"; may be NULL for ""),
 * and the keyword: "/v: 120 is greater than maximum 100". HS_ERR_NOMEM or
 * HS_ERR_LIMIT when err cannot hold the message (the value is then still
 * invalid). The detail is also the hs_err_detail().
 */
int hs_jschema_validate(const hs_jschema *s, const hs_value *v, const char *where, hs_buf *err);

/*
 * As hs_jschema_validate for a value given as len bytes of msgpack, decoded
 * into scratch (reset by the call; the caller owns it). A value that does
 * not decode is invalid (HS_ERR_SCHEMA with the decoding error).
 */
int hs_jschema_validate_mpack(const hs_jschema *s, const uint8_t *mp, size_t len, const char *where,
                              hs_arena *scratch, hs_buf *err);

/* Frees s; NULL-safe. */
void hs_jschema_destroy(hs_jschema *s);

#endif
