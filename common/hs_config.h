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

/* Sets every field of cfg to its default. Call before any other layer. */
int hs_config_defaults(const hs_cfg_item *table, void *cfg);

/* Applies a config file. HS_ERR_IO when it cannot be read. */
int hs_config_load_file(const hs_cfg_item *table, void *cfg, const char *path);

/* Applies HS_<NAME> variables from envp (a NULL-terminated array like environ). */
int hs_config_load_env(const hs_cfg_item *table, void *cfg, char *const *envp);

/* Sets one setting from text, validating it. HS_ERR_CONFIG for an unknown name or bad value. */
int hs_config_set(const hs_cfg_item *table, void *cfg, const char *name, const char *value);

/* Applies "name=value". */
int hs_config_set_pair(const hs_cfg_item *table, void *cfg, const char *pair);

/* Appends the current value of one setting as text (secrets included). */
int hs_config_get(const hs_cfg_item *table, const void *cfg, const char *name, hs_buf *out);

/* Appends every setting as "name = value" lines, secrets masked, in table order. */
int hs_config_print(const hs_cfg_item *table, const void *cfg, hs_buf *out);

/* Frees the strings the config owns. */
void hs_config_free(const hs_cfg_item *table, void *cfg);

/*
 * Parses a size ("64k", "8M", "1G", "1000") into bytes.
 */
int hs_config_parse_size(const char *s, int64_t *out);

#endif
