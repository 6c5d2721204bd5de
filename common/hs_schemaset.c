#include "hs_schemaset.h"

#include "hs_alloc.h"
#include "hs_arena.h"
#include "hs_error.h"
#include "hs_mqtt.h"
#include "hs_proto.h"
#include "hs_streamid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest schema file read, in bytes. */
#define SS_FILE_MAX (1024u * 1024u)

typedef struct ss_entry {
    char *origin;       /* owned */
    char *pattern;      /* owned */
    hs_jschema *schema; /* owned */
} ss_entry;

struct hs_schemaset {
    ss_entry *e; /* owned array */
    size_t n, cap;
    hs_arena scratch; /* decoded values during a check */
    hs_buf msg;       /* a check's message */
};

int hs_schemaset_create(hs_schemaset **out)
{
    *out = hs_calloc(1, sizeof **out);
    if (*out == NULL)
        return HS_ERR_NOMEM;
    hs_arena_init(&(*out)->scratch, 0, 0);
    hs_buf_init(&(*out)->msg, 0);
    return HS_OK;
}

static void entry_free(ss_entry *e)
{
    hs_free(e->origin);
    hs_free(e->pattern);
    hs_jschema_destroy(e->schema);
}

void hs_schemaset_destroy(hs_schemaset *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        entry_free(&set->e[i]);
    hs_free(set->e);
    hs_arena_free(&set->scratch);
    hs_buf_free(&set->msg);
    hs_free(set);
}

bool hs_schemaset_pattern_valid(const char *p)
{
    size_t n = p != NULL ? strlen(p) : 0;
    if (n == 0 || n > HS_SID_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool starts = i == 0 || p[i - 1] == '/';
        bool ends = i + 1 == n || p[i + 1] == '/';
        if (p[i] == '+' && !(starts && ends))
            return false;
        if (p[i] == '#' && !(starts && i + 1 == n))
            return false;
    }
    return true;
}

int hs_schemaset_add(hs_schemaset *set, const char *origin, const char *pattern, hs_jschema *schema)
{
    if (set == NULL || origin == NULL || schema == NULL || !hs_schemaset_pattern_valid(pattern)) {
        hs_jschema_destroy(schema);
        return HS_ERR_INVAL;
    }
    if (set->n >= HS_SCHEMASET_MAX) {
        hs_jschema_destroy(schema);
        return hs_err_set(HS_ERR_LIMIT, "more than %d input schemas", HS_SCHEMASET_MAX);
    }
    if (hs_grow(&set->e, &set->cap, set->n + 1, sizeof *set->e, 8) != HS_OK) {
        hs_jschema_destroy(schema);
        return HS_ERR_NOMEM;
    }
    ss_entry e = {hs_strdup(origin), hs_strdup(pattern), schema};
    if (e.origin == NULL || e.pattern == NULL) {
        entry_free(&e);
        return HS_ERR_NOMEM;
    }
    set->e[set->n++] = e;
    return HS_OK;
}

size_t hs_schemaset_remove(hs_schemaset *set, const char *origin)
{
    size_t k = 0, removed = 0;
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->e[i].origin, origin) == 0) {
            entry_free(&set->e[i]);
            removed++;
        } else {
            set->e[k++] = set->e[i];
        }
    }
    set->n = k;
    return removed;
}

/* Fails with "entry N (stream 'P'): text", N counted from 1. */
static int replace_fail(hs_buf *err, int rc, size_t i, const char *pattern, const char *text)
{
    char msg[1400];
    snprintf(msg, sizeof msg, "entry %zu (stream '%.300s'): %s", i + 1, pattern, text);
    if (err != NULL) {
        hs_buf_reset(err);
        (void)hs_buf_puts(err, msg);
    }
    return hs_err_set(rc, "%s", msg);
}

int hs_schemaset_replace(hs_schemaset *set, const char *origin, const char *const *patterns,
                         const hs_value *const *schemas, size_t n, hs_buf *err)
{
    if (set == NULL || origin == NULL || (n > 0 && (patterns == NULL || schemas == NULL)))
        return hs_err_set(HS_ERR_INVAL, "input schemas: no set, origin or entries");
    size_t mine = 0;
    for (size_t i = 0; i < set->n; i++)
        mine += strcmp(set->e[i].origin, origin) == 0;
    if (n > HS_SCHEMASET_MAX || set->n - mine + n > HS_SCHEMASET_MAX)
        return replace_fail(err, HS_ERR_LIMIT, n > 0 ? n - 1 : 0, n > 0 ? patterns[n - 1] : "",
                            "more than 1000 input schemas");
    /* Everything that can fail happens before the set changes. */
    ss_entry *ne = hs_calloc(n > 0 ? n : 1, sizeof *ne);
    if (ne == NULL)
        return HS_ERR_NOMEM;
    hs_buf msg;
    hs_buf_init(&msg, 0);
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        if (patterns[i] == NULL || !hs_schemaset_pattern_valid(patterns[i])) {
            rc = replace_fail(err, HS_ERR_SCHEMA, i, patterns[i] ? patterns[i] : "",
                              "stream must be a stream id pattern ('temperature/#', "
                              "'+/house=1'; '+' and '#' only as whole levels, '#' last)");
            break;
        }
        rc = hs_jschema_compile(&ne[i].schema, schemas[i], &msg);
        if (rc == HS_ERR_NOMEM)
            break;
        if (rc != HS_OK) {
            char text[900];
            snprintf(text, sizeof text, "schema: %s", hs_buf_cstr(&msg));
            rc = replace_fail(err, rc, i, patterns[i], text);
            break;
        }
        ne[i].origin = hs_strdup(origin);
        ne[i].pattern = hs_strdup(patterns[i]);
        if (ne[i].origin == NULL || ne[i].pattern == NULL)
            rc = HS_ERR_NOMEM;
    }
    if (rc == HS_OK && n > 0)
        rc = hs_grow(&set->e, &set->cap, set->n + n, sizeof *set->e, 8);
    if (rc != HS_OK) {
        for (size_t i = 0; i < n; i++)
            entry_free(&ne[i]);
    } else {
        (void)hs_schemaset_remove(set, origin);
        for (size_t i = 0; i < n; i++)
            set->e[set->n++] = ne[i];
    }
    hs_free(ne);
    hs_buf_free(&msg);
    return rc;
}

size_t hs_schemaset_count(const hs_schemaset *set)
{
    return set->n;
}

bool hs_schemaset_applies(const hs_schemaset *set, const char *sid)
{
    for (size_t i = 0; i < set->n; i++)
        if (hs_mqtt_topic_matches(set->e[i].pattern, sid))
            return true;
    return false;
}

int hs_schemaset_check(hs_schemaset *set, const char *sid, const uint8_t *v, size_t len,
                       hs_buf *why)
{
    for (size_t i = 0; i < set->n; i++) {
        const ss_entry *e = &set->e[i];
        if (!hs_mqtt_topic_matches(e->pattern, sid))
            continue;
        int rc = hs_jschema_validate_mpack(e->schema, v, len, "/v", &set->scratch, &set->msg);
        if (rc == HS_OK)
            continue;
        char text[900];
        snprintf(text, sizeof text, "schema '%s' (%s): %s", e->pattern, e->origin,
                 hs_buf_cstr(&set->msg));
        if (why != NULL) {
            hs_buf_reset(why);
            (void)hs_buf_puts(why, text);
        }
        return hs_err_set(HS_ERR_SCHEMA, "%s", text);
    }
    return HS_OK;
}

/* ---------------------------------------------------------------------------
 * Loading lists
 */

/* Reads a whole file of at most SS_FILE_MAX bytes into out. */
static int read_file(const char *path, hs_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return hs_err_set(HS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char chunk[8192];
    size_t got;
    int rc = HS_OK;
    while (rc == HS_OK && (got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (out->len + got > SS_FILE_MAX)
            rc = hs_err_set(HS_ERR_LIMIT, "%s: larger than 1 MiB", path);
        else if (hs_buf_append(out, chunk, got) != HS_OK)
            rc = HS_ERR_NOMEM;
    }
    if (rc == HS_OK && ferror(f))
        rc = hs_err_set(HS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    fclose(f);
    return rc;
}

/* The node a JSON pointer ("/properties/v/maximum") names under root, or root. */
static const hs_ynode *node_at(const hs_ynode *root, const char *ptr)
{
    const hs_ynode *n = root;
    char tok[256];
    while (*ptr == '/') {
        ptr++;
        size_t k = 0;
        while (*ptr != '\0' && *ptr != '/' && k + 1 < sizeof tok) {
            if (ptr[0] == '~' && (ptr[1] == '0' || ptr[1] == '1')) {
                tok[k++] = ptr[1] == '0' ? '~' : '/';
                ptr += 2;
            } else {
                tok[k++] = *ptr++;
            }
        }
        tok[k] = '\0';
        const hs_ynode *next = NULL;
        if (hs_ynode_kind(n) == HS_YNODE_MAP)
            next = hs_ynode_get(n, tok);
        else if (hs_ynode_kind(n) == HS_YNODE_SEQ)
            next = hs_ynode_item(n, strtoul(tok, NULL, 10));
        if (next == NULL)
            break;
        n = next;
    }
    return n;
}

/* Fails with "file:line:col: text" for node n. */
static int at_fail(const hs_ynode *n, hs_buf *err, int rc, const char *text)
{
    char msg[1200];
    snprintf(msg, sizeof msg, "%s:%u:%u: %s", hs_ynode_file(n), hs_ynode_line(n), hs_ynode_col(n),
             text);
    if (err != NULL) {
        hs_buf_reset(err);
        (void)hs_buf_puts(err, msg);
    }
    return hs_err_set(rc, "%s", msg);
}

/* Compiles the schema node sn (a mapping or boolean) of a list. */
static int compile_node(const hs_ynode *sn, hs_jschema **out, hs_buf *err)
{
    hs_buf mp, msg;
    hs_buf_init(&mp, 0);
    hs_buf_init(&msg, 0);
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value *v = NULL;
    int rc = hs_ynode_to_mpack(sn, &mp, err);
    if (rc == HS_OK)
        rc = hs_value_decode(&a, mp.data, mp.len, &v);
    if (rc != HS_OK && rc != HS_ERR_NOMEM)
        rc = at_fail(sn, err, rc, hs_err_detail());
    if (rc == HS_OK) {
        rc = hs_jschema_compile(out, v, &msg);
        if (rc != HS_OK) {
            /* "/pointer: text": report it at the line of the keyword. */
            const char *m = hs_buf_cstr(&msg);
            const char *colon = strstr(m, ": ");
            char ptr[512] = "";
            if (m[0] == '/' && colon != NULL && (size_t)(colon - m) < sizeof ptr) {
                memcpy(ptr, m, (size_t)(colon - m));
                ptr[colon - m] = '\0';
            }
            char text[900];
            snprintf(text, sizeof text, "schema: %s", m);
            rc = at_fail(node_at(sn, ptr), err, rc, text);
        }
    }
    hs_arena_free(&a);
    hs_buf_free(&mp);
    hs_buf_free(&msg);
    return rc;
}

/* Compiles the schema file named by the string node sn. */
static int compile_file(const hs_ynode *sn, const char *base_dir, hs_jschema **out, hs_buf *err)
{
    const char *name = hs_ynode_text(sn, NULL);
    if (base_dir == NULL)
        return at_fail(sn, err, HS_ERR_SCHEMA,
                       "schema must be a JSON Schema (an object or a boolean); files are not "
                       "allowed here");
    char path[2048];
    if (name[0] == '/' || base_dir[0] == '\0')
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%s/%s", base_dir, name);
    hs_buf text;
    hs_buf_init(&text, 0);
    int rc = read_file(path, &text);
    if (rc != HS_OK)
        rc = at_fail(sn, err, rc, hs_err_detail());
    else
        rc = hs_jschema_compile_text(out, hs_buf_cstr(&text), text.len, path, err);
    hs_buf_free(&text);
    return rc;
}

int hs_schemaset_add_ynode(hs_schemaset *set, const hs_ynode *seq, const char *origin,
                           const char *base_dir, hs_buf *err)
{
    if (set == NULL || origin == NULL)
        return HS_ERR_INVAL;
    if (seq == NULL || (hs_ynode_kind(seq) == HS_YNODE_SCALAR && hs_ynode_is_null(seq)))
        return HS_OK;
    if (hs_ynode_kind(seq) != HS_YNODE_SEQ)
        return at_fail(seq, err, HS_ERR_SCHEMA,
                       "schemas must be a list of {stream: PATTERN, schema: SCHEMA}");
    size_t n = hs_ynode_len(seq);
    if (set->n + n > HS_SCHEMASET_MAX)
        return at_fail(seq, err, HS_ERR_LIMIT, "more than 1000 input schemas");
    hs_jschema **compiled = hs_calloc(n ? n : 1, sizeof *compiled);
    if (compiled == NULL)
        return HS_ERR_NOMEM;
    int rc = HS_OK;
    size_t before = set->n;
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        const hs_ynode *it = hs_ynode_item(seq, i);
        const hs_ynode *st = hs_ynode_get(it, "stream");
        const hs_ynode *sc = hs_ynode_get(it, "schema");
        if (hs_ynode_kind(it) != HS_YNODE_MAP || hs_ynode_len(it) != 2 || st == NULL ||
            sc == NULL) {
            rc = at_fail(it, err, HS_ERR_SCHEMA,
                         "an entry is {stream: PATTERN, schema: SCHEMA} and nothing else");
        } else if (hs_ynode_type(st) != HS_YTYPE_STR ||
                   !hs_schemaset_pattern_valid(hs_ynode_text(st, NULL))) {
            rc = at_fail(st, err, HS_ERR_SCHEMA,
                         "stream must be a stream id pattern ('temperature/#', "
                         "'+/house=1'; '+' and '#' only as whole levels, '#' last)");
        } else if (hs_ynode_type(sc) == HS_YTYPE_STR) {
            rc = compile_file(sc, base_dir, &compiled[i], err);
        } else {
            rc = compile_node(sc, &compiled[i], err);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (rc == HS_OK) {
            const hs_ynode *st = hs_ynode_get(hs_ynode_item(seq, i), "stream");
            rc = hs_schemaset_add(set, origin, hs_ynode_text(st, NULL), compiled[i]);
        } else {
            hs_jschema_destroy(compiled[i]);
        }
    }
    hs_free(compiled);
    if (rc != HS_OK) {
        /* Adding failed half-way: the set goes back to what it was. */
        for (size_t i = before; i < set->n; i++)
            entry_free(&set->e[i]);
        set->n = before;
    }
    return rc;
}

int hs_schemaset_load_file(hs_schemaset *set, const char *path, const char *origin, hs_buf *err)
{
    hs_buf text;
    hs_buf_init(&text, 0);
    int rc = read_file(path, &text);
    if (rc != HS_OK && err != NULL) {
        hs_buf_reset(err);
        (void)hs_buf_puts(err, hs_err_detail());
    }
    hs_ynode *root = NULL;
    if (rc == HS_OK)
        rc = hs_yaml_parse(hs_buf_cstr(&text), text.len, path, &root, err);
    if (rc == HS_OK) {
        char dir[2048];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = '\0'; /* a list at the root: its directory is "/" */
        else if (slash != NULL)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        rc = hs_schemaset_add_ynode(set, root, origin, dir, err);
    }
    hs_yaml_destroy(root);
    hs_buf_free(&text);
    return rc;
}

int hs_schemaset_apply_message(hs_schemaset *set, const char *id, const uint8_t *payload,
                               size_t len, size_t *n, hs_buf *err)
{
    hs_buf_reset(err);
    char origin[300];
    snprintf(origin, sizeof origin, "workflow %s", id);
    if (len == 0) {
        size_t gone = hs_schemaset_remove(set, origin);
        if (n != NULL)
            *n = gone;
        return HS_OK;
    }
    hs_proto_schemas_msg msg;
    const char **patterns = NULL;
    const hs_value **schemas = NULL;
    int rc = hs_proto_schemas_decode(&msg, payload, len);
    if (rc != HS_OK) {
        (void)hs_buf_puts(err, hs_err_detail());
    } else if (strcmp(msg.s.workflow, id) != 0) {
        rc = HS_ERR_PARSE;
        (void)hs_buf_printf(err, "the message is of workflow '%.200s'", msg.s.workflow);
    } else {
        patterns = hs_calloc(msg.s.n, sizeof *patterns);
        schemas = hs_calloc(msg.s.n, sizeof *schemas);
        rc = patterns != NULL && schemas != NULL ? HS_OK : HS_ERR_NOMEM;
        for (size_t i = 0; rc == HS_OK && i < msg.s.n; i++) {
            patterns[i] = msg.s.entries[i].stream;
            schemas[i] = msg.s.entries[i].schema;
        }
        if (rc == HS_OK)
            rc = hs_schemaset_replace(set, origin, patterns, schemas, msg.s.n, err);
        else
            (void)hs_buf_puts(err, "out of memory");
        if (rc == HS_OK && n != NULL)
            *n = msg.s.n;
    }
    if (rc != HS_OK && err->len == 0)
        (void)hs_buf_puts(err, hs_strerror(rc));
    hs_free(patterns);
    hs_free(schemas);
    hs_proto_schemas_msg_free(&msg);
    return rc;
}
