/*
 * Fuzz target: workflow files, parsed against the registry of the built-in
 * tools.
 * - A rejected file yields no workflow, HS_ERR_SCHEMA and error lines that
 *   each name the file ("fuzz.yaml:...").
 * - An accepted workflow is consistent: every factor has its tool, a
 *   binding that is valid JSON and hashes to its hash, parameters that are
 *   one canonical msgpack map equal to its params_json; sinks are produced
 *   by their factor; the order is a permutation in which every produced
 *   source comes before its reader; plates point at their parents.
 * - Plate values and units are expanded when the plates hold few values
 *   (dynamic plates get two values below every parent value first): every
 *   unit has valid stream ids and its sinks are on the factor's sink node.
 * - The JSON and Graphviz forms are written; the JSON form, parsed again as
 *   a workflow, gives the same bindings.
 */
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_streamid.h"
#include "hs_tool.h"
#include "hs_workflow.h"
#include "tools.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Most plate values expanded (per plate, and units per factor). */
#define MAX_VALUES 256

/* A failed check names its line before aborting, so that a crash report says which. */
#define check(ok) check_at((ok), __LINE__)

static void check_at(bool ok, int line)
{
    if (!ok) {
        fprintf(stderr, "fuzz_workflow: check at line %d failed\n", line);
        abort();
    }
}

static const hs_tool_registry *registry(void)
{
    static hs_tool_registry *r = NULL;
    if (r == NULL) {
        check(hs_tool_registry_create(&r) == HS_OK);
        check(hs_builtin_tools_register(r) == HS_OK);
    }
    return r;
}

static bool valid_json(const char *s, size_t len)
{
    hs_buf m;
    hs_buf_init(&m, 0);
    bool ok = hs_json_to_mpack(s, len, &m) == HS_OK;
    hs_buf_free(&m);
    return ok;
}

static void check_rejected(int rc, const hs_workflow *wf, hs_buf *errors)
{
    check(wf == NULL && rc == HS_ERR_SCHEMA && errors->len > 0);
    const char *p = hs_buf_cstr(errors);
    while (*p != '\0') {
        check(strncmp(p, "fuzz.yaml:", 10) == 0);
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
}

static void check_factor(const hs_workflow *wf, size_t i)
{
    const hs_wf_factor *f = &wf->factors[i];
    check(f->tool != NULL && f->def != NULL && strcmp(f->def->name, f->tool) == 0);
    check(f->binding != NULL && valid_json(f->binding, strlen(f->binding)));
    char hash[17];
    hs_binding_hash(f->binding, hash);
    check(strcmp(hash, f->hash) == 0);
    check(f->params != NULL && hs_value_check(f->params, f->params_len) == HS_OK);
    hs_mp_reader r;
    hs_mp_reader_init(&r, f->params, f->params_len);
    uint32_t n;
    check(hs_mp_get_map(&r, &n) == HS_OK);
    hs_buf m, c;
    hs_buf_init(&m, 0);
    hs_buf_init(&c, 0);
    check(f->params_json != NULL &&
          hs_json_to_mpack(f->params_json, strlen(f->params_json), &m) == HS_OK);
    check(hs_value_canonicalize(m.data, m.len, &c) == HS_OK);
    check(c.len == f->params_len && memcmp(c.data, f->params, c.len) == 0);
    hs_buf_free(&m);
    hs_buf_free(&c);
    if (f->sink != NULL)
        check(hs_workflow_producer(wf, f->sink) == (int)i);
    check(f->sink_plate >= -1 && f->sink_plate < (int)wf->nplates);
    check(f->lookback_us >= 0);
}

static void check_order(const hs_workflow *wf)
{
    size_t n = wf->nfactors;
    bool *seen = calloc(n, sizeof *seen);
    check(seen != NULL);
    for (size_t oi = 0; oi < n; oi++) {
        size_t i = wf->order[oi];
        check(i < n && !seen[i]);
        const hs_wf_factor *f = &wf->factors[i];
        for (size_t k = 0; k < f->nsources; k++) {
            int p = hs_workflow_producer(wf, f->sources[k]);
            check(p < 0 || seen[p]);
        }
        seen[i] = true;
    }
    free(seen);
}

/* Number of values of a plate with its ancestors, capped above MAX_VALUES. */
static size_t plate_size(const hs_workflow *wf, int plate, size_t dyn_per_parent)
{
    size_t total = 1;
    for (int depth = 0; plate >= 0; depth++) {
        check(depth <= (int)wf->nplates);
        const hs_wf_plate *pl = &wf->plates[plate];
        total *= pl->nvalues + (pl->dynamic ? dyn_per_parent : 0);
        if (total > MAX_VALUES)
            return MAX_VALUES + 1;
        plate = pl->parent_idx;
    }
    return total;
}

static void check_plates(const hs_workflow *wf)
{
    for (size_t i = 0; i < wf->nplates; i++) {
        const hs_wf_plate *pl = &wf->plates[i];
        check(pl->id != NULL);
        check((pl->parent == NULL) == (pl->parent_idx < 0));
        if (pl->parent_idx >= 0)
            check(pl->parent_idx < (int)wf->nplates && pl->parent_idx != (int)i &&
                  strcmp(wf->plates[pl->parent_idx].id, pl->parent) == 0);
        for (size_t k = 0; k < pl->nvalues; k++)
            check(hs_streamid_check_part(pl->values[k], strlen(pl->values[k]), "value") == HS_OK);
    }
}

/* Gives every dynamic plate two values below each of its parent's values. */
static void add_dynamic(hs_workflow *wf)
{
    static char v1[] = "dyn1", v2[] = "dyn2";
    char *const values[] = {v1, v2};
    for (size_t i = 0; i < wf->nplates; i++) {
        if (!wf->plates[i].dynamic || plate_size(wf, (int)i, 2) > MAX_VALUES)
            continue;
        hs_pv *parents = NULL;
        size_t np = 0;
        check(hs_workflow_plate_values(wf, wf->plates[i].parent_idx, &parents, &np) == HS_OK);
        for (size_t k = 0; k < np; k++)
            check(hs_workflow_add_dynamic(wf, (int)i, parents[k].text, values, 2) == HS_OK);
        hs_pv_list_free(parents, np);
    }
}

static void check_units(const hs_workflow *wf)
{
    for (size_t i = 0; i < wf->nplates; i++) {
        if (plate_size(wf, (int)i, 2) > MAX_VALUES)
            return;
    }
    for (size_t i = 0; i < wf->nplates; i++) {
        hs_pv *pvs = NULL;
        size_t n = 0;
        check(hs_workflow_plate_values(wf, (int)i, &pvs, &n) == HS_OK);
        for (size_t k = 0; k < n; k++)
            check(pvs[k].text != NULL && pvs[k].n >= 1);
        hs_pv_list_free(pvs, n);
    }
    for (size_t i = 0; i < wf->nfactors; i++) {
        const hs_wf_factor *f = &wf->factors[i];
        hs_wf_unit *u = NULL;
        size_t n = 0;
        int rc = hs_workflow_units(wf, i, &u, &n);
        /* A stream id over its length limit is the only refusal. */
        check(rc == HS_OK || rc == HS_ERR_PARSE);
        for (size_t k = 0; rc == HS_OK && k < n; k++) {
            check(u[k].factor == i);
            for (size_t s = 0; s < u[k].nsources; s++)
                check(u[k].sources[s] != NULL && u[k].sources[s]->canon != NULL);
            for (size_t s = 0; s < u[k].nsinks; s++)
                check(strcmp(u[k].sinks[s]->name, f->sink) == 0);
        }
        hs_wf_units_free(u, n);
    }
}

/* The JSON form parsed again gives the same bindings. */
static void check_json_form(const hs_workflow *wf)
{
    hs_buf json, errors;
    hs_buf_init(&json, 0);
    hs_buf_init(&errors, 0);
    check(hs_workflow_to_json(wf, &json) == HS_OK);
    check(valid_json((const char *)json.data, json.len));
    hs_workflow *again = NULL;
    if (hs_workflow_parse((const char *)json.data, json.len, "fuzz.json", registry(), &again,
                          &errors) != HS_OK)
        fprintf(stderr, "fuzz_workflow: the JSON form\n%s\ndoes not parse:\n%s\n",
                hs_buf_cstr(&json), hs_buf_cstr(&errors));
    check(again != NULL);
    check(again->nfactors == wf->nfactors);
    for (size_t i = 0; i < wf->nfactors; i++)
        check(strcmp(again->factors[i].binding, wf->factors[i].binding) == 0);
    hs_workflow_destroy(again);
    hs_buf_free(&json);
    hs_buf_free(&errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_buf errors;
    hs_buf_init(&errors, 0);
    hs_workflow *wf = NULL;
    int rc = hs_workflow_parse((const char *)data, size, "fuzz.yaml", registry(), &wf, &errors);
    if (rc != HS_OK) {
        check_rejected(rc, wf, &errors);
        hs_buf_free(&errors);
        return 0;
    }
    check(wf != NULL && wf->id != NULL && wf->nfactors >= 1 && wf->order != NULL);
    for (size_t i = 0; i < wf->nfactors; i++)
        check_factor(wf, i);
    check_order(wf);
    check_plates(wf);
    add_dynamic(wf);
    check_units(wf);
    hs_buf dot;
    hs_buf_init(&dot, 0);
    check(hs_workflow_to_dot(wf, &dot) == HS_OK && dot.len > 0);
    hs_buf_free(&dot);
    check_json_form(wf);
    hs_workflow_destroy(wf);
    hs_buf_free(&errors);
    return 0;
}
