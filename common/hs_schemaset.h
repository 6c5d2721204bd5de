/*
 * Input schemas per raw stream pattern (docs/SCHEMAS.md): a list of entries
 * (origin, pattern, compiled JSON Schema) against which ingest checks the
 * value of every reading.
 *
 * A pattern is an MQTT topic filter matched against the canonical stream id
 * (meta-data keys sorted): "temperature/#" matches every temperature stream,
 * "+/house=1" every stream of house 1 that has no other meta-data. A
 * reading must pass every entry whose pattern matches its stream.
 *
 * Entries come in lists of {stream: PATTERN, schema: SCHEMA}, where SCHEMA
 * is a JSON Schema written in YAML or JSON, or a string: the path of a file
 * holding one (relative paths start at the list file's directory).
 *
 * A set is not thread-safe: one thread uses it at a time.
 */
#ifndef HS_SCHEMASET_H
#define HS_SCHEMASET_H

#include "hs_buf.h"
#include "hs_jschema.h"
#include "hs_yaml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most entries of one set. */
#define HS_SCHEMASET_MAX 1000

typedef struct hs_schemaset hs_schemaset; /* opaque */

/* A new empty set (HS_OK or HS_ERR_NOMEM); the caller destroys it. */
int hs_schemaset_create(hs_schemaset **out);

/* Frees the set and its schemas; NULL-safe. */
void hs_schemaset_destroy(hs_schemaset *set);

/*
 * True when pattern is a valid MQTT topic filter of at most HS_SID_MAX_LEN
 * bytes ('+' and '#' only as whole levels, '#' only last).
 */
bool hs_schemaset_pattern_valid(const char *pattern);

/*
 * Adds one entry: schema (owned by the set from now on, also on failure)
 * for the streams matching pattern, from origin (copied; e.g. "config" or
 * "workflow house_climate"). HS_ERR_INVAL for an invalid pattern,
 * HS_ERR_LIMIT past HS_SCHEMASET_MAX entries, HS_ERR_NOMEM.
 */
int hs_schemaset_add(hs_schemaset *set, const char *origin, const char *pattern,
                     hs_jschema *schema);

/*
 * Adds the entries of seq, a YAML sequence of {stream, schema} mappings
 * (NULL or an empty sequence adds nothing), from origin. base_dir (may be
 * NULL: schema files are then refused) is where relative schema paths
 * start. All entries are checked before any is added; on failure the set is
 * unchanged and err (reset first; may be NULL) and the error detail say
 * "file:line:col: ..." where the fault is (a schema's own errors at the line
 * of the keyword). Errors: HS_ERR_SCHEMA, HS_ERR_LIMIT, HS_ERR_IO (a schema
 * file cannot be read), HS_ERR_PARSE (a schema file does not parse),
 * HS_ERR_NOMEM.
 */
int hs_schemaset_add_ynode(hs_schemaset *set, const hs_ynode *seq, const char *origin,
                           const char *base_dir, hs_buf *err);

/*
 * Adds the entries of the YAML or JSON file at path (a sequence as
 * hs_schemaset_add_ynode reads, relative schema paths starting at the
 * file's directory), from origin. Errors as hs_schemaset_add_ynode, and
 * HS_ERR_IO when the file cannot be read, HS_ERR_PARSE when it does not
 * parse.
 */
int hs_schemaset_load_file(hs_schemaset *set, const char *path, const char *origin, hs_buf *err);

/*
 * Replaces every entry of origin by n new ones: stream pattern patterns[i]
 * with the JSON Schema schemas[i] (borrowed; compiled into the set). n = 0
 * removes origin's entries. All-or-nothing: on failure the set is as it
 * was, and err (reset first; may be NULL) and the error detail say which
 * entry and why ("entry 2 (stream 'a/#'): schema: /maximun: unknown keyword
 * 'maximun'"). Errors: HS_ERR_SCHEMA (a bad pattern or schema),
 * HS_ERR_LIMIT (past HS_SCHEMASET_MAX entries or a schema's limits),
 * HS_ERR_NOMEM, HS_ERR_INVAL (NULL arguments).
 */
int hs_schemaset_replace(hs_schemaset *set, const char *origin, const char *const *patterns,
                         const hs_value *const *schemas, size_t n, hs_buf *err);

/*
 * Applies one retained message of <prefix>/schemas/<workflow> (payload of
 * len bytes, hs_proto_schemas; an empty payload clears): the entries of
 * origin "workflow <id>" are replaced by the message's, all or nothing.
 * *n (may be NULL) is the number of entries applied, or removed for an
 * empty payload. On failure (a message of another workflow, an unreadable
 * one, a bad schema) the set is as it was and err (reset first) says why.
 */
int hs_schemaset_apply_message(hs_schemaset *set, const char *id, const uint8_t *payload,
                               size_t len, size_t *n, hs_buf *err);

/* Removes every entry of origin; returns how many were removed. */
size_t hs_schemaset_remove(hs_schemaset *set, const char *origin);

/* Number of entries. */
size_t hs_schemaset_count(const hs_schemaset *set);

/* True when some entry's pattern matches the canonical stream id sid. */
bool hs_schemaset_applies(const hs_schemaset *set, const char *sid);

/*
 * Checks the value of one reading of stream sid (canonical), given as len
 * bytes of msgpack, against every entry whose pattern matches. HS_OK when
 * all pass (or none matches); HS_ERR_SCHEMA for the first that fails, with
 * why (reset first; may be NULL) and the error detail saying which and why:
 * "schema 'temperature/#' (config): /v: 120 is greater than maximum 100".
 */
int hs_schemaset_check(hs_schemaset *set, const char *sid, const uint8_t *v, size_t len,
                       hs_buf *why);

#endif
