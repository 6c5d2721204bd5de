/*
 * Fuzz target: the input schemas loader (hs_schemaset) and the input
 * schemas message of workflows (hs_proto_schemas). The first byte chooses:
 * - even: the rest is a list file's text (YAML or JSON), added to a set
 *   (schema files refused); it is added whole or not at all, and on failure
 *   the message names the file ("fuzz.yaml:...");
 * - odd: the rest is a message of hs/schemas/<workflow>, decoded; when it
 *   decodes, it is encoded again and decodes to the same entries, and the
 *   set replaces a workflow's entries with it all or nothing.
 * A set that took entries checks a few values against a few streams, each
 * passing or failing with a message naming its schema. Any other outcome
 * aborts.
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_schemaset.h"
#include "hs_yaml.h"

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

/* Checks a few values against a few streams: each passes or fails with a message. */
static void probe(hs_schemaset *set)
{
    static const char *const sids[] = {"a", "temperature/house=1", "door/room=hall/site=x"};
    hs_buf v, why;
    hs_buf_init(&v, 0);
    hs_buf_init(&why, 0);
    for (size_t s = 0; s < sizeof sids / sizeof sids[0]; s++) {
        for (int k = 0; k < 3; k++) {
            hs_buf_reset(&v);
            int rc = k == 0   ? hs_mp_put_int(&v, 120)
                     : k == 1 ? hs_mp_put_cstr(&v, "open")
                              : hs_mp_put_map(&v, 0);
            check(rc == HS_OK);
            rc = hs_schemaset_check(set, sids[s], v.data, v.len, &why);
            check(rc == HS_OK || rc == HS_ERR_SCHEMA || rc == HS_ERR_NOMEM || rc == HS_ERR_LIMIT);
            if (rc == HS_ERR_SCHEMA)
                check(strncmp(hs_buf_cstr(&why), "schema '", 8) == 0);
            if (!hs_schemaset_applies(set, sids[s]))
                check(rc == HS_OK);
        }
    }
    hs_buf_free(&v);
    hs_buf_free(&why);
}

static void list_text(hs_schemaset *set, const uint8_t *data, size_t size)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    hs_ynode *root = NULL;
    int rc = hs_yaml_parse((const char *)data, size, "fuzz.yaml", &root, &err);
    if (rc == HS_OK) {
        rc = hs_schemaset_add_ynode(set, root, "config", NULL, &err);
        if (rc != HS_OK && rc != HS_ERR_NOMEM) {
            check(hs_schemaset_count(set) == 0);
            check(strncmp(hs_buf_cstr(&err), "fuzz.yaml:", 10) == 0);
        }
    }
    hs_yaml_destroy(root);
    hs_buf_free(&err);
}

static void message(hs_schemaset *set, const uint8_t *data, size_t size)
{
    hs_proto_schemas_msg m, again;
    hs_buf out, err;
    hs_buf_init(&out, 0);
    hs_buf_init(&err, 0);
    int rc = hs_proto_schemas_decode(&m, data, size);
    if (rc == HS_OK) {
        check(m.s.n >= 1 && m.s.workflow[0] != '\0');
        check(hs_proto_schemas_encode(&out, &m.s) == HS_OK);
        check(hs_proto_schemas_decode(&again, out.data, out.len) == HS_OK);
        check(again.s.n == m.s.n && strcmp(again.s.workflow, m.s.workflow) == 0);
        const char **pat = calloc(m.s.n, sizeof *pat);
        const hs_value **sch = calloc(m.s.n, sizeof *sch);
        check(pat != NULL && sch != NULL);
        for (size_t i = 0; i < m.s.n; i++) {
            check(strcmp(again.s.entries[i].stream, m.s.entries[i].stream) == 0);
            check(hs_value_equal(again.s.entries[i].schema, m.s.entries[i].schema));
            pat[i] = m.s.entries[i].stream;
            sch[i] = m.s.entries[i].schema;
        }
        hs_proto_schemas_msg_free(&again);
        /* A first list of the workflow, then this one: all or nothing. */
        static const char *const one[] = {"x/#"};
        hs_value t = {.type = HS_V_BOOL, .u.b = true};
        const hs_value *tv[] = {&t};
        check(hs_schemaset_replace(set, "workflow w", one, tv, 1, NULL) == HS_OK);
        rc = hs_schemaset_replace(set, "workflow w", pat, sch, m.s.n, &err);
        if (rc == HS_OK)
            check(hs_schemaset_count(set) == m.s.n);
        else if (rc != HS_ERR_NOMEM)
            check(hs_schemaset_count(set) == 1 && strncmp(hs_buf_cstr(&err), "entry ", 6) == 0);
        free(pat);
        free(sch);
    }
    hs_proto_schemas_msg_free(&m);
    hs_buf_free(&out);
    hs_buf_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    hs_schemaset *set = NULL;
    if (hs_schemaset_create(&set) != HS_OK)
        return 0;
    if ((data[0] & 1) == 0)
        list_text(set, data + 1, size - 1);
    else
        message(set, data + 1, size - 1);
    probe(set);
    hs_schemaset_destroy(set);
    return 0;
}
