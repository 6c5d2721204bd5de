/*
 * Fuzz target: the YAML reader.
 * - Any input is parsed; a failure must name a position in the file
 *   ("fuzz.yaml:") or the whole input and leave no tree.
 * - On success the tree is walked through every accessor, converted to
 *   msgpack, which must be one canonical value, and to JSON, which must be
 *   valid JSON; that JSON, parsed as YAML again, must give the same msgpack
 *   apart from NaN and infinities (which JSON writes as null), characters
 *   that libyaml refuses or reads as line breaks, and long keys.
 * - When the input is also valid JSON to hs_json_to_mpack, both readers
 *   must agree on the value (after canonicalisation), except where YAML 1.1
 *   line breaks (U+0085, U+2028, U+2029) inside strings make them differ.
 */
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_utf8.h"
#include "hs_yaml.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Keys that libyaml cannot read back from JSON: an implicit key ("k": v)
 * must end within 1024 characters of its start, and an escaped byte takes
 * up to 6 characters.
 */
#define LONG_KEY 160

/*
 * Visits every node through the accessors (depth: collections around n);
 * returns whether a float is NaN or infinite, or a key is longer than
 * LONG_KEY bytes (either prevents reading the JSON back).
 */
static bool walk(const hs_ynode *n, int depth)
{
    if (hs_ynode_line(n) == 0 || hs_ynode_col(n) == 0)
        abort();
    if (hs_ynode_kind(n) != HS_YNODE_SCALAR && depth >= HS_MP_MAX_DEPTH)
        abort();
    bool special = false;
    size_t len = 0;
    switch (hs_ynode_kind(n)) {
    case HS_YNODE_SCALAR: {
        const char *t = hs_ynode_text(n, &len);
        if (t == NULL || strlen(t) != len || !hs_utf8_valid(t, len))
            abort();
        double f;
        if (hs_ynode_type(n) == HS_YTYPE_FLOAT && hs_ynode_float(n, &f) == HS_OK)
            special = !isfinite(f);
        break;
    }
    case HS_YNODE_SEQ:
        for (size_t i = 0; i < hs_ynode_len(n); i++)
            special |= walk(hs_ynode_item(n, i), depth + 1);
        if (hs_ynode_item(n, hs_ynode_len(n)) != NULL)
            abort();
        break;
    case HS_YNODE_MAP:
        for (size_t i = 0; i < hs_ynode_len(n); i++) {
            const hs_ynode *k = hs_ynode_key(n, i);
            if (hs_ynode_kind(k) != HS_YNODE_SCALAR)
                abort();
            hs_ynode_text(k, &len);
            special |= len > LONG_KEY;
            /* Keys are unique, so lookup finds this very pair. */
            if (hs_ynode_get(n, hs_ynode_text(k, NULL)) != hs_ynode_value(n, i))
                abort();
            special |= walk(hs_ynode_value(n, i), depth + 1);
        }
        break;
    case HS_YNODE_NONE:
    default:
        abort();
    }
    return special;
}

static bool has_yaml11_breaks(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (d[i] == 0xc2 && d[i + 1] == 0x85)
            return true;
        if (i + 2 < n && d[i] == 0xe2 && d[i + 1] == 0x80 && (d[i + 2] == 0xa8 || d[i + 2] == 0xa9))
            return true;
    }
    return false;
}

/*
 * Whether libyaml reads back the characters of a JSON text: it refuses raw
 * DEL, C1 controls, U+FFFE and U+FFFF, which hs_json_put_string copies.
 */
static bool yaml_reads_back(const uint8_t *d, size_t n)
{
    if (has_yaml11_breaks(d, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (d[i] == 0x7f)
            return false;
        if (i + 1 < n && d[i] == 0xc2 && d[i + 1] >= 0x80 && d[i + 1] <= 0x9f)
            return false;
        if (i + 2 < n && d[i] == 0xef && d[i + 1] == 0xbf && d[i + 2] >= 0xbe)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_buf err, m, json, m2, jm, jc;
    hs_buf_init(&err, 0);
    hs_buf_init(&m, 0);
    hs_buf_init(&json, 0);
    hs_buf_init(&m2, 0);
    hs_buf_init(&jm, 0);
    hs_buf_init(&jc, 0);
    hs_ynode *root = NULL;
    int rc = hs_yaml_parse((const char *)data, size, "fuzz.yaml", &root, &err);
    if (rc != HS_OK) {
        if (root != NULL || strncmp(hs_buf_cstr(&err), "fuzz.yaml:", 10) != 0)
            abort();
        if (rc != HS_ERR_PARSE && rc != HS_ERR_UNSUPPORTED && rc != HS_ERR_RANGE &&
            rc != HS_ERR_LIMIT)
            abort();
        goto out;
    }
    bool special = walk(root, 0);
    if (hs_ynode_to_mpack(root, &m, &err) != HS_OK)
        abort();
    if (hs_value_check(m.data, m.len) != HS_OK)
        abort();
    if (hs_ynode_to_json(root, &json) != HS_OK)
        abort();
    if (hs_json_to_mpack((const char *)json.data, json.len, &jm) != HS_OK)
        abort();
    if (!special && yaml_reads_back(json.data, json.len)) {
        hs_ynode *again = NULL;
        if (hs_yaml_parse((const char *)json.data, json.len, "json", &again, NULL) != HS_OK)
            abort();
        if (hs_ynode_to_mpack(again, &m2, NULL) != HS_OK)
            abort();
        hs_yaml_destroy(again);
        if (m.len != m2.len || memcmp(m.data, m2.data, m.len) != 0)
            abort();
    }
    /* Differential check against the JSON reader. */
    hs_buf_reset(&jm);
    if (!has_yaml11_breaks(data, size) &&
        hs_json_to_mpack((const char *)data, size, &jm) == HS_OK &&
        hs_value_canonicalize(jm.data, jm.len, &jc) == HS_OK) {
        if (jc.len != m.len || memcmp(jc.data, m.data, m.len) != 0)
            abort();
    }
out:
    hs_yaml_destroy(root);
    hs_buf_free(&err);
    hs_buf_free(&m);
    hs_buf_free(&json);
    hs_buf_free(&m2);
    hs_buf_free(&jm);
    hs_buf_free(&jc);
    return 0;
}
