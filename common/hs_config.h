/*
 * Configuration: a declarative table of settings (name, type, default,
 * offset into a config struct, help), filled in layers:
 *   1. the defaults of the table,
 *   2. a config file of "name = value" lines ('#' starts a comment; values
 *      may be double-quoted),
 *   3. environment variables HS_<NAME> (upper case, e.g. HS_BROKER_URL),
 *   4. explicit overrides (command-line "--set name=value").
 * Each layer validates its values; an unknown name in a file or override is
 * an error (HS_ERR_CONFIG with a detail naming file, line and setting).
 *
 * Value syntax, whatever the layer:
 *   HS_CFG_STR       any text (empty allowed)
 *   HS_CFG_INT       optional sign and decimal digits, within int64
 *   HS_CFG_BOOL      true/false, yes/no, on/off, 1/0 (any case)
 *   HS_CFG_DURATION  what hs_duration_parse accepts ("250ms", "5s", "1h30m")
 *   HS_CFG_SIZE      what hs_config_parse_size accepts ("1000", "64k", "8M")
 * Spaces and tabs around a value of a non-string type are ignored; string
 * values are taken as given (the file layer trims unquoted values).
 *
 * Error details never repeat the value of a secret setting.
 * A config struct is not thread-safe: fill it before sharing it.
 */
#ifndef HS_CONFIG_H
#define HS_CONFIG_H

#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hs_cfg_type {
    HS_CFG_STR,      /* char * (owned by the config struct) */
    HS_CFG_INT,      /* int64_t */
    HS_CFG_BOOL,     /* bool: true/false/yes/no/on/off/1/0 */
    HS_CFG_DURATION, /* int64_t microseconds, written as a duration ("5s") */
    HS_CFG_SIZE,     /* int64_t bytes, written with an optional k/M/G suffix */
} hs_cfg_type;

typedef struct hs_cfg_item {
    const char *name; /* lower case with underscores: "broker_url" */
    hs_cfg_type type;
    const char *def;  /* default as text; NULL for an empty string/zero */
    size_t offset;    /* offsetof(the config struct, field) */
    bool secret;      /* printed as "***" by hs_config_print */
    const char *help; /* one line */
} hs_cfg_item;

/* A table is an array of items ended by an item with name == NULL. */

/*
 * Sets every field of cfg to its default. Call before any other layer, on a
 * struct that holds no strings yet (its string fields are overwritten, not
 * freed). Afterwards every string field is non-NULL (an owned "" when the
 * default is NULL) until hs_config_free. HS_ERR_CONFIG when a default does
 * not parse (a bug in the table), HS_ERR_NOMEM; on failure cfg holds no
 * strings.
 */
int hs_config_defaults(const hs_cfg_item *table, void *cfg);

/*
 * Applies a config file of "name = value" lines. Blank lines and lines whose
 * first non-blank character is '#' are skipped; in an unquoted value a '#'
 * at its start or after a space or tab starts a comment, and the value is
 * trimmed. A double-quoted value keeps its text exactly, with the escapes
 * \" \\ \n \t \r, and may be followed only by blanks and a comment. CRLF
 * line ends and a UTF-8 byte-order mark are accepted; a later line for the
 * same setting wins. The file is validated completely before anything is
 * applied, so on HS_ERR_CONFIG cfg is unchanged. Errors: HS_ERR_IO when it
 * cannot be read; HS_ERR_CONFIG ("path:line: ...") for an unknown setting, a
 * line without '=', a bad value or quoting, a NUL byte, or a file over 1 MiB.
 */
int hs_config_load_file(const hs_cfg_item *table, void *cfg, const char *path);

/*
 * Applies config text of len bytes (borrowed; no NUL needed) exactly as
 * hs_config_load_file applies a file's contents, naming it name in error
 * details ("name:line: ..."). Errors as for a file, without HS_ERR_IO
 * (HS_ERR_CONFIG when len is over 1 MiB); on error cfg is unchanged.
 */
int hs_config_load_text(const hs_cfg_item *table, void *cfg, const char *text, size_t len,
                        const char *name);

/*
 * Applies HS_<NAME> variables from envp (a NULL-terminated array like
 * environ; NULL means none). Only variables whose name is exactly "HS_"
 * followed by the upper-cased name of a table item are used; every other
 * variable, including other HS_ ones, is ignored. A later entry for the same
 * variable wins. All values are validated before any is applied; on
 * HS_ERR_CONFIG (detail "HS_NAME: ...") cfg is unchanged.
 */
int hs_config_load_env(const hs_cfg_item *table, void *cfg, char *const *envp);

/*
 * Sets one setting from text, validating it; a string setting frees its
 * previous value. HS_ERR_CONFIG for an unknown name or bad value (cfg is then
 * unchanged), HS_ERR_NOMEM.
 */
int hs_config_set(const hs_cfg_item *table, void *cfg, const char *name, const char *value);

/*
 * Applies "name=value": the name is the text before the first '=' with
 * surrounding blanks removed, the value everything after it. HS_ERR_CONFIG
 * when there is no '=', otherwise as hs_config_set.
 */
int hs_config_set_pair(const hs_cfg_item *table, void *cfg, const char *pair);

/*
 * Appends the current value of one setting as text (secrets included), in a
 * form hs_config_set accepts: strings as they are, bools as true/false,
 * durations by hs_duration_format, sizes with the largest exact suffix
 * ("64k"). HS_ERR_NOTFOUND for an unknown name, HS_ERR_NOMEM / HS_ERR_LIMIT
 * from the buffer.
 */
int hs_config_get(const hs_cfg_item *table, const void *cfg, const char *name, hs_buf *out);

/*
 * Appends every setting as "name = value" lines, secrets masked as ***, in
 * table order. Strings are double-quoted (with the file escapes) when they
 * would not read back unchanged otherwise, so the output is a valid config
 * file.
 */
int hs_config_print(const hs_cfg_item *table, const void *cfg, hs_buf *out);

/*
 * Builds one table from two, so that settings shared by several programs
 * can be declared once: the items of first, whose struct sits first_offset
 * bytes into the config struct (their offsets are moved by it), followed by
 * the items of second (offsets into the config struct as they are). Every
 * hs_config function then takes *out as the table of the whole struct. The
 * strings of the items stay borrowed from both tables; the caller frees *out
 * with hs_free. HS_ERR_CONFIG when a name is in both tables, HS_ERR_NOMEM.
 */
int hs_config_join(hs_cfg_item **out, const hs_cfg_item *first, size_t first_offset,
                   const hs_cfg_item *second);

/* Frees the strings the config owns and sets those fields to NULL. NULL-safe. */
void hs_config_free(const hs_cfg_item *table, void *cfg);

/*
 * Parses a size ("64k", "8M", "1G", "1000") into bytes: decimal digits with
 * an optional suffix k, M or G (any case; powers of 1024). HS_ERR_PARSE for
 * anything else (signs, blanks, fractions, empty), HS_ERR_RANGE above
 * INT64_MAX.
 */
int hs_config_parse_size(const char *s, int64_t *out);

#endif
