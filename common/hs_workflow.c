#include "hs_workflow.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_fmt.h"
#include "hs_hash.h"
#include "hs_json.h"
#include "hs_map.h"
#include "hs_mpack.h"
#include "hs_schemaset.h"
#include "hs_time.h"
#include "hs_utf8.h"
#include "hs_yaml.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values of a dynamic plate below one parent value. */
struct hs_wf_dyn {
    int plate;
    char *parent; /* parent value text, "" at the top */
    char **values;
    size_t n;
};

void hs_binding_hash(const char *text, char out[17])
{
    hs_fnv1a64_hex(text, out);
}

/* ------------------------------------------------------------------ parse context */

typedef struct wfp {
    const char *file;
    hs_buf *errors;
    int nerrors;
    const hs_tool_registry *tools;
    hs_workflow *wf;
} wfp;

/*
 * Appends one error line to errors: the formatted message with control
 * characters escaped (names and values come from the user's file, and one
 * error must stay one line), then a newline.
 */
static void wf_line(hs_buf *errors, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wf_line(hs_buf *errors, const char *fmt, ...)
{
    char msg[1024], tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    hs_utf8_cut(msg, sizeof msg, tmp); /* on a character boundary, with an ellipsis */
    for (const unsigned char *c = (const unsigned char *)msg; *c != '\0'; c++) {
        if (*c == '\n')
            hs_buf_puts(errors, "\\n");
        else if (*c < 0x20 || *c == 0x7f)
            hs_buf_printf(errors, "\\x%02x", *c);
        else
            hs_buf_putc(errors, (char)*c);
    }
    hs_buf_putc(errors, '\n');
}

static void wf_err(wfp *p, const hs_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void wf_err(wfp *p, const hs_ynode *n, const char *fmt, ...)
{
    char msg[1024], tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    hs_utf8_cut(msg, sizeof msg, tmp); /* on a character boundary, with an ellipsis */
    if (n != NULL)
        wf_line(p->errors, "%s:%u: %s", p->file, hs_ynode_line(n), msg);
    else
        wf_line(p->errors, "%s: %s", p->file, msg);
    p->nerrors++;
}

/* A scalar as an owned string, or NULL (with an error) when n is not a usable scalar. */
static char *wf_str(wfp *p, const hs_ynode *n, const char *what)
{
    if (hs_ynode_kind(n) != HS_YNODE_SCALAR || hs_ynode_is_null(n)) {
        wf_err(p, n, "%s must be a text value", what);
        return NULL;
    }
    /* .nan and .inf are numbers without a JSON form: the workflow's JSON form would lose them. */
    double d;
    if (hs_ynode_type(n) == HS_YTYPE_FLOAT && hs_ynode_float(n, &d) == HS_OK && !isfinite(d)) {
        wf_err(p, n, "%s must be a text value: quote '%s' to use it as text", what,
               hs_ynode_text(n, NULL));
        return NULL;
    }
    /* A number stands for its value (01 is 1), and a boolean for true or false (FALSE is
     * false), as in the workflow's JSON form. */
    char num[HS_FMT_DOUBLE_MAX > 24 ? HS_FMT_DOUBLE_MAX : 24];
    const char *text = hs_ynode_text(n, NULL);
    int64_t i;
    bool b;
    if (hs_ynode_type(n) == HS_YTYPE_BOOL && hs_ynode_bool(n, &b) == HS_OK) {
        text = b ? "true" : "false";
    } else if (hs_ynode_type(n) == HS_YTYPE_INT && hs_ynode_int(n, &i) == HS_OK) {
        snprintf(num, sizeof num, "%" PRId64, i);
        text = num;
    } else if (hs_ynode_type(n) == HS_YTYPE_FLOAT && hs_ynode_float(n, &d) == HS_OK) {
        (void)hs_fmt_double(d, 15, num);
        text = num;
    }
    char *s = hs_strdup(text);
    if (s == NULL)
        wf_err(p, n, "out of memory");
    return s;
}

/* A name usable as a stream name, key or value. */
static char *wf_name(wfp *p, const hs_ynode *n, const char *what, const char *part)
{
    char *s = wf_str(p, n, what);
    if (s != NULL && hs_streamid_check_part(s, strlen(s), part) != HS_OK) {
        wf_err(p, n, "%s '%s' cannot be used in stream ids: %s", what, s, hs_err_detail());
        hs_free(s);
        return NULL;
    }
    return s;
}

static bool wf_duration(wfp *p, const hs_ynode *n, const char *what, int64_t *out)
{
    if (hs_ynode_kind(n) == HS_YNODE_SCALAR) {
        size_t len;
        const char *t = hs_ynode_text(n, &len);
        if (t != NULL && hs_duration_parse(t, len, out) == HS_OK)
            return true;
    }
    wf_err(p, n, "%s must be a duration such as 10s, -1h30m or 2d", what);
    return false;
}

/* Names from a scalar or a sequence of scalars. */
static int wf_names(wfp *p, const hs_ynode *n, const char *what, char ***out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (n == NULL)
        return HS_OK;
    size_t cnt = hs_ynode_kind(n) == HS_YNODE_SEQ ? hs_ynode_len(n) : 1;
    *out = hs_calloc(cnt ? cnt : 1, sizeof **out);
    if (*out == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; i < cnt; i++) {
        const hs_ynode *it = hs_ynode_kind(n) == HS_YNODE_SEQ ? hs_ynode_item(n, i) : n;
        char *s = wf_name(p, it, what, "name");
        if (s == NULL)
            continue;
        (*out)[(*nout)++] = s;
    }
    return HS_OK;
}

static void wf_free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hs_free(v[i]);
    hs_free(v);
}

/* A declared plate by id (product plates are not declared), or -1. */
static int wf_plate_index(const hs_workflow *wf, const char *id)
{
    for (size_t i = 0; i < wf->nplates; i++)
        if (wf->plates[i].nmembers == 0 && strcmp(wf->plates[i].id, id) == 0)
            return (int)i;
    return -1;
}

/*
 * Whether plate a is b or an ancestor of b, or of one of b's members when b
 * is a product plate (-1, the global plate, is everyone's ancestor).
 */
static bool wf_plate_ancestor(const hs_workflow *wf, int a, int b)
{
    if (a < 0 || a == b)
        return true;
    if (b >= 0 && wf->plates[b].nmembers > 0) {
        for (size_t m = 0; m < wf->plates[b].nmembers; m++)
            if (wf_plate_ancestor(wf, a, wf->plates[b].members[m]))
                return true;
        return false;
    }
    for (int x = b; x >= 0; x = wf->plates[x].parent_idx)
        if (x == a)
            return true;
    return false;
}

/* ------------------------------------------------------------------ plate keys */

#define WF_KEYS_MAX (2 * HS_SID_MAX_PAIRS)

/* The meta-data keys of a plate, each once (borrowed). */
typedef struct wf_keyset {
    const char *k[WF_KEYS_MAX];
    size_t n;
} wf_keyset;

static bool wf_keys_has(const wf_keyset *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->k[i], key) == 0)
            return true;
    return false;
}

static void wf_keys_add(wf_keyset *s, const char *key)
{
    if (key != NULL && !wf_keys_has(s, key) && s->n < WF_KEYS_MAX)
        s->k[s->n++] = key;
}

/* Adds the keys of plate (its chain's, or its members' for a product plate) to s. */
static void wf_keys_of(const hs_workflow *wf, int plate, wf_keyset *s)
{
    if (plate < 0 || (size_t)plate >= wf->nplates)
        return;
    const hs_wf_plate *pl = &wf->plates[plate];
    for (size_t m = 0; m < pl->nmembers; m++)
        wf_keys_of(wf, pl->members[m], s);
    for (int x = pl->nmembers > 0 ? -1 : plate; x >= 0; x = wf->plates[x].parent_idx)
        wf_keys_add(s, wf->plates[x].meta);
}

/* Whether every key of a is a key of b. */
static bool wf_keys_subset(const wf_keyset *a, const wf_keyset *b)
{
    for (size_t i = 0; i < a->n; i++)
        if (!wf_keys_has(b, a->k[i]))
            return false;
    return true;
}

/* The keys of a plate as text, "house, room" ("none" for the global plate), into out. */
static const char *wf_keys_text(const hs_workflow *wf, int plate, char *out, size_t cap)
{
    wf_keyset s = {{0}, 0};
    wf_keys_of(wf, plate, &s);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s.n && len < cap; i++) {
        int w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", s.k[i]);
        len += w > 0 ? (size_t)w : 0;
    }
    if (s.n == 0)
        snprintf(out, cap, "none");
    return out;
}

void hs_workflow_plate_keys(const hs_workflow *wf, int plate, const char **keys, size_t *n)
{
    wf_keyset s = {{0}, 0};
    wf_keys_of(wf, plate, &s);
    memcpy(keys, s.k, s.n * sizeof *keys);
    *n = s.n;
}

/* The product plate of plates ids[0..n) (found or added; its id "[T, V]"), or -1 (errors reported).
 */
static int wf_product_plate(wfp *p, const hs_ynode *at, const int *ids, size_t n)
{
    hs_workflow *wf = p->wf;
    hs_buf id;
    hs_buf_init(&id, 0);
    hs_buf_putc(&id, '[');
    for (size_t i = 0; i < n; i++)
        hs_buf_printf(&id, "%s%s", i ? ", " : "", wf->plates[ids[i]].id);
    hs_buf_putc(&id, ']');
    if (hs_buf_error(&id) != HS_OK) {
        hs_buf_free(&id);
        wf_err(p, at, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < wf->nplates; i++)
        if (wf->plates[i].nmembers > 0 && strcmp(wf->plates[i].id, hs_buf_cstr(&id)) == 0) {
            hs_buf_free(&id);
            return (int)i;
        }
    hs_wf_plate *np = hs_realloc(wf->plates, (wf->nplates + 1) * sizeof *np);
    if (np == NULL) {
        hs_buf_free(&id);
        wf_err(p, at, "out of memory");
        return -1;
    }
    wf->plates = np;
    hs_wf_plate *pl = &wf->plates[wf->nplates];
    memset(pl, 0, sizeof *pl);
    pl->parent_idx = -1;
    pl->line = (int)hs_ynode_line(at);
    pl->id = hs_strdup(hs_buf_cstr(&id));
    hs_buf_free(&id);
    pl->members = hs_calloc(n, sizeof *pl->members);
    if (pl->id == NULL || pl->members == NULL) {
        hs_free(pl->id);
        hs_free(pl->members);
        wf_err(p, at, "out of memory");
        return -1;
    }
    memcpy(pl->members, ids, n * sizeof *ids);
    pl->nmembers = n;
    return (int)wf->nplates++;
}

/*
 * The plate of a `plates:` list (a node on several plates is on their
 * product), -1 for [] (global); what is wrong is reported with its line.
 * *bad is set when the list is refused.
 */
static int wf_plates_list(wfp *p, const hs_ynode *pls, const char *who, bool *bad)
{
    *bad = false;
    if (hs_ynode_kind(pls) != HS_YNODE_SEQ) {
        wf_err(p, pls, "%s: plates must be a list of plate ids ([] for a global stream)", who);
        *bad = true;
        return -1;
    }
    size_t n = hs_ynode_len(pls);
    if (n > HS_SID_MAX_PAIRS) {
        wf_err(p, pls, "%s: at most %d plates", who, HS_SID_MAX_PAIRS);
        *bad = true;
        return -1;
    }
    int ids[HS_SID_MAX_PAIRS];
    for (size_t i = 0; i < n; i++) {
        const hs_ynode *it = hs_ynode_item(pls, i);
        const char *pid = hs_ynode_kind(it) == HS_YNODE_SCALAR ? hs_ynode_text(it, NULL) : NULL;
        ids[i] = pid != NULL ? wf_plate_index(p->wf, pid) : -1;
        if (ids[i] < 0) {
            wf_err(p, it, "%s: unknown plate '%s'", who, pid != NULL ? pid : "?");
            *bad = true;
        }
        for (size_t k = 0; k < i && !*bad; k++)
            if (ids[k] == ids[i]) {
                wf_err(p, it, "%s: plate %s is listed twice", who, pid);
                *bad = true;
            }
    }
    if (*bad || n == 0)
        return -1;
    if (n == 1)
        return ids[0];
    /* A product of a plate with its own ancestor is the plate itself. */
    int keep[HS_SID_MAX_PAIRS];
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        bool below_other = false;
        for (size_t k = 0; k < n && !below_other; k++)
            below_other = k != i && wf_plate_ancestor(p->wf, ids[i], ids[k]);
        if (!below_other)
            keep[nk++] = ids[i];
    }
    return nk == 1 ? keep[0] : wf_product_plate(p, pls, keep, nk);
}

/*
 * YAML limits an implicit key to 1024 characters, counted as written: a
 * longer key (possible as an explicit key, or once escaped as JSON) would
 * make the workflow's JSON form unreadable. Keys are measured as JSON text.
 */
#define WF_KEY_MAX 1000

static bool wf_keys_short(wfp *p, const hs_ynode *n, hs_buf *scratch)
{
    bool ok = true;
    if (hs_ynode_kind(n) == HS_YNODE_MAP) {
        for (size_t i = 0; i < hs_ynode_len(n); i++) {
            size_t len = 0;
            const hs_ynode *k = hs_ynode_key(n, i);
            const char *text = hs_ynode_text(k, &len);
            hs_buf_reset(scratch);
            if (hs_ynode_kind(k) != HS_YNODE_SCALAR || text == NULL ||
                hs_json_put_string(scratch, text, len) != HS_OK || scratch->len > WF_KEY_MAX) {
                wf_err(p, k, "a key is not text of at most %d characters (as JSON)", WF_KEY_MAX);
                ok = false;
            }
            ok = wf_keys_short(p, hs_ynode_value(n, i), scratch) && ok;
        }
    } else if (hs_ynode_kind(n) == HS_YNODE_SEQ) {
        for (size_t i = 0; i < hs_ynode_len(n); i++)
            ok = wf_keys_short(p, hs_ynode_item(n, i), scratch) && ok;
    }
    return ok;
}

/* ------------------------------------------------------------------ sections */

static void wf_parse_online(wfp *p, const hs_ynode *n)
{
    hs_workflow *wf = p->wf;
    if (hs_ynode_kind(n) != HS_YNODE_MAP) {
        wf_err(p, n, "online must be a mapping {every: 10s, window: [-60s, -10s]}");
        return;
    }
    const hs_ynode *every = hs_ynode_get(n, "every");
    const hs_ynode *win = hs_ynode_get(n, "window");
    for (size_t i = 0; i < hs_ynode_len(n); i++) {
        const char *k = hs_ynode_text(hs_ynode_key(n, i), NULL);
        if (strcmp(k, "every") != 0 && strcmp(k, "window") != 0 && strcmp(k, "lateness") != 0 &&
            strcmp(k, "max_lateness") != 0)
            wf_err(p, hs_ynode_key(n, i),
                   "unknown key '%s' in online (every, window, lateness, max_lateness)", k);
    }
    const hs_ynode *lat = hs_ynode_get(n, "lateness");
    const hs_ynode *maxlat = hs_ynode_get(n, "max_lateness");
    if (lat != NULL && wf_duration(p, lat, "online.lateness", &wf->lateness_us) &&
        wf->lateness_us < 0)
        wf_err(p, lat, "online.lateness cannot be negative");
    if (maxlat != NULL && wf_duration(p, maxlat, "online.max_lateness", &wf->max_lateness_us) &&
        wf->max_lateness_us <= 0)
        wf_err(p, maxlat, "online.max_lateness must be positive (omit it for no bound)");
    wf->online = true;
    if (every == NULL)
        wf_err(p, n, "online needs every (how often it runs, e.g. 10s)");
    else if (wf_duration(p, every, "online.every", &wf->every_us) && wf->every_us <= 0)
        wf_err(p, every, "online.every must be positive");
    wf->window.start_us = -60 * HS_US_PER_S;
    wf->window.end_us = -10 * HS_US_PER_S;
    if (win != NULL) {
        if (hs_ynode_kind(win) != HS_YNODE_SEQ || hs_ynode_len(win) != 2) {
            wf_err(p, win, "online.window must be [start, end], e.g. [-60s, -10s]");
        } else if (wf_duration(p, hs_ynode_item(win, 0), "online.window start",
                               &wf->window.start_us) &&
                   wf_duration(p, hs_ynode_item(win, 1), "online.window end", &wf->window.end_us)) {
            if (wf->window.start_us >= wf->window.end_us)
                wf_err(p, win, "online.window start must be before its end");
            if (wf->window.end_us > 0)
                wf_err(p, win, "online.window cannot reach into the future (end <= 0)");
        }
    }
}

static void wf_parse_plates(wfp *p, const hs_ynode *n)
{
    hs_workflow *wf = p->wf;
    if (hs_ynode_kind(n) != HS_YNODE_MAP) {
        wf_err(p, n, "plates must be a mapping of plate ids to {meta, values, parent}");
        return;
    }
    size_t cnt = hs_ynode_len(n);
    wf->plates = hs_calloc(cnt ? cnt : 1, sizeof *wf->plates);
    if (wf->plates == NULL)
        return;
    for (size_t i = 0; i < cnt; i++) {
        const hs_ynode *k = hs_ynode_key(n, i), *v = hs_ynode_value(n, i);
        hs_wf_plate *pl = &wf->plates[wf->nplates];
        memset(pl, 0, sizeof *pl);
        pl->line = (int)hs_ynode_line(k);
        pl->parent_idx = -1;
        pl->id = wf_str(p, k, "a plate id");
        if (pl->id == NULL)
            continue;
        wf->nplates++;
        if (hs_ynode_kind(v) != HS_YNODE_MAP) {
            wf_err(p, v, "plate %s must be a mapping {meta: key, values: [...], parent: id}",
                   pl->id);
            continue;
        }
        for (size_t j = 0; j < hs_ynode_len(v); j++) {
            const char *key = hs_ynode_text(hs_ynode_key(v, j), NULL);
            if (strcmp(key, "meta") && strcmp(key, "values") && strcmp(key, "parent") &&
                strcmp(key, "description") && strcmp(key, "match") && strcmp(key, "grow"))
                wf_err(p, hs_ynode_key(v, j),
                       "unknown key '%s' in plate %s (meta, values, match, grow, parent, "
                       "description)",
                       key, pl->id);
        }
        const hs_ynode *grow = hs_ynode_get(v, "grow");
        if (grow != NULL) {
            const char *g =
                hs_ynode_kind(grow) == HS_YNODE_SCALAR ? hs_ynode_text(grow, NULL) : NULL;
            if (g == NULL || strcmp(g, "from_data") != 0)
                wf_err(p, grow,
                       "plate %s: grow must be from_data (raw data adds the plate's values)",
                       pl->id);
            else if (hs_ynode_get(v, "values") != NULL)
                wf_err(p, grow,
                       "plate %s: grow adds values to the meta-data tree; a plate that lists its "
                       "values does not read the tree",
                       pl->id);
            else
                pl->grow = true;
        }
        const hs_ynode *match = hs_ynode_get(v, "match");
        if (match != NULL)
            pl->match = wf_str(p, match, "plate match (a pattern such as sensor-*)");
        const hs_ynode *meta = hs_ynode_get(v, "meta");
        if (meta == NULL)
            wf_err(p, v, "plate %s needs meta (the meta-data key, e.g. house)", pl->id);
        else
            pl->meta = wf_name(p, meta, "plate meta", "key");
        const hs_ynode *par = hs_ynode_get(v, "parent");
        if (par != NULL)
            pl->parent = wf_str(p, par, "plate parent");
        const hs_ynode *vals = hs_ynode_get(v, "values");
        if (vals == NULL) {
            pl->dynamic = true;
            continue;
        }
        pl->listed = true;
        if (hs_ynode_kind(vals) != HS_YNODE_SEQ) {
            wf_err(p, vals, "values of plate %s must be a list", pl->id);
            continue;
        }
        pl->values = hs_calloc(hs_ynode_len(vals) + 1, sizeof *pl->values);
        hs_map seen; /* the values so far: a fleet's plate lists 100,000 */
        hs_map_init(&seen);
        for (size_t j = 0; pl->values != NULL && j < hs_ynode_len(vals); j++) {
            const hs_ynode *it = hs_ynode_item(vals, j);
            char *s = wf_name(p, it, "a plate value", "value");
            if (s == NULL)
                continue;
            bool dup = hs_map_get(&seen, s) != NULL;
            if (!dup && hs_map_put(&seen, s, s, NULL) != HS_OK) {
                /* Out of memory: compare the slow way. */
                for (size_t x = 0; x < pl->nvalues && !dup; x++)
                    dup = strcmp(pl->values[x], s) == 0;
            }
            if (dup) {
                wf_err(p, it, "plate %s lists value '%s' twice", pl->id, s);
                hs_free(s);
                continue;
            }
            pl->values[pl->nvalues++] = s;
        }
        hs_map_free(&seen);
    }
    /* Parents, and no cycles among them. */
    for (size_t i = 0; i < wf->nplates; i++) {
        hs_wf_plate *pl = &wf->plates[i];
        if (pl->parent == NULL)
            continue;
        pl->parent_idx = wf_plate_index(wf, pl->parent);
        if (pl->parent_idx < 0)
            wf_line(p->errors, "%s:%d: plate %s has an unknown parent '%s'", p->file, pl->line,
                    pl->id, pl->parent),
                p->nerrors++;
    }
    for (size_t i = 0; i < wf->nplates; i++) {
        int x = (int)i;
        size_t steps = 0;
        while (x >= 0 && steps <= wf->nplates) {
            x = wf->plates[x].parent_idx;
            steps++;
        }
        if (x >= 0) {
            wf_line(p->errors, "%s:%d: plate %s is its own ancestor", p->file, wf->plates[i].line,
                    wf->plates[i].id);
            p->nerrors++;
            wf->plates[i].parent_idx = -1;
        }
    }
    /* Meta-data keys along a chain must differ (a stream id has each key once). */
    for (size_t i = 0; i < wf->nplates; i++) {
        if (wf->plates[i].meta == NULL)
            continue;
        for (int x = wf->plates[i].parent_idx; x >= 0; x = wf->plates[x].parent_idx) {
            if (wf->plates[x].meta && strcmp(wf->plates[x].meta, wf->plates[i].meta) == 0) {
                wf_line(p->errors, "%s:%d: plate %s repeats the meta-data key '%s' of %s", p->file,
                        wf->plates[i].line, wf->plates[i].id, wf->plates[i].meta, wf->plates[x].id);
                p->nerrors++;
                break;
            }
        }
    }
}

/* Adds one node below prefix ("" at the root) to the workflow's tree; reported with n's line. */
static void wf_meta_node(wfp *p, const hs_ynode *n, const char *prefix, const char *part)
{
    char path[HS_META_PATH_MAX + 2];
    int w = snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "/" : "", part);
    if (w < 0 || (size_t)w >= sizeof path) {
        wf_err(p, n, "meta: %s%s%.40s...: longer than %d bytes", prefix, prefix[0] ? "/" : "", part,
               HS_META_PATH_MAX);
        return;
    }
    int rc = hs_meta_path_check(path);
    if (rc == HS_OK)
        rc = hs_meta_add(p->wf->meta, path, NULL);
    if (rc != HS_OK)
        wf_err(p, n, "meta: %s: %s", path, rc == HS_ERR_NOMEM ? "out of memory" : hs_err_detail());
}

/*
 * The `meta:` block (docs/MODEL.md section 1): a list of paths
 * ["house=1/room=kitchen", ...], or a mapping whose keys are nodes
 * ("house=1": what is below it, a mapping or nothing) or tags ("room": the
 * list of values below the enclosing node).
 */
static void wf_parse_meta(wfp *p, const hs_ynode *n, const char *prefix)
{
    if (hs_ynode_kind(n) == HS_YNODE_SEQ && prefix[0] == '\0') {
        for (size_t i = 0; i < hs_ynode_len(n); i++) {
            char *path = wf_str(p, hs_ynode_item(n, i), "a meta-data path (tag=value/...)");
            if (path != NULL)
                wf_meta_node(p, hs_ynode_item(n, i), "", path);
            hs_free(path);
        }
        return;
    }
    if (hs_ynode_kind(n) != HS_YNODE_MAP) {
        wf_err(p, n,
               "meta must be a list of paths (house=1/room=kitchen) or a mapping such as "
               "{house=1: {room: [kitchen, lounge]}}");
        return;
    }
    for (size_t i = 0; i < hs_ynode_len(n); i++) {
        const hs_ynode *k = hs_ynode_key(n, i), *v = hs_ynode_value(n, i);
        char *key = wf_str(p, k, "a meta-data node (tag=value) or tag");
        if (key == NULL)
            continue;
        if (strchr(key, '=') != NULL) {
            if (strchr(key, '/') != NULL) {
                wf_err(p, k, "meta: '%s' is one node, tag=value, without '/'", key);
                hs_free(key);
                continue;
            }
            wf_meta_node(p, k, prefix, key);
            char below[HS_META_PATH_MAX + 2];
            int w = snprintf(below, sizeof below, "%s%s%s", prefix, prefix[0] ? "/" : "", key);
            if (w > 0 && (size_t)w < sizeof below && v != NULL && !hs_ynode_is_null(v) &&
                !(hs_ynode_kind(v) == HS_YNODE_MAP && hs_ynode_len(v) == 0))
                wf_parse_meta(p, v, below);
        } else {
            /* A tag: its values below prefix. */
            size_t cnt = hs_ynode_kind(v) == HS_YNODE_SEQ ? hs_ynode_len(v) : 1;
            for (size_t j = 0; j < cnt; j++) {
                const hs_ynode *it = hs_ynode_kind(v) == HS_YNODE_SEQ ? hs_ynode_item(v, j) : v;
                char *val = wf_name(p, it, "a meta-data value", "value");
                if (val == NULL)
                    continue;
                char part[HS_META_PATH_MAX + 2];
                int w = snprintf(part, sizeof part, "%s=%s", key, val);
                if (w > 0 && (size_t)w < sizeof part)
                    wf_meta_node(p, it, prefix, part);
                else
                    wf_err(p, it, "meta: %s=%.40s...: longer than %d bytes", key, val,
                           HS_META_PATH_MAX);
                hs_free(val);
            }
        }
        hs_free(key);
    }
}

static void wf_parse_inputs(wfp *p, const hs_ynode *n)
{
    hs_workflow *wf = p->wf;
    if (hs_ynode_kind(n) != HS_YNODE_MAP) {
        wf_err(p, n, "inputs must be a mapping of stream names to {plates: [...]}");
        return;
    }
    size_t cnt = hs_ynode_len(n);
    wf->input_names = hs_calloc(cnt + 1, sizeof *wf->input_names);
    wf->input_plates = hs_calloc(cnt + 1, sizeof *wf->input_plates);
    if (wf->input_names == NULL || wf->input_plates == NULL)
        return;
    for (size_t i = 0; i < cnt; i++) {
        const hs_ynode *k = hs_ynode_key(n, i), *v = hs_ynode_value(n, i);
        char *name = wf_name(p, k, "an input name", "name");
        if (name == NULL)
            continue;
        int plate = -1;
        const hs_ynode *pls = hs_ynode_kind(v) == HS_YNODE_MAP ? hs_ynode_get(v, "plates") : NULL;
        if (pls != NULL) {
            char who[300];
            bool bad;
            snprintf(who, sizeof who, "input %s", name);
            plate = wf_plates_list(p, pls, who, &bad);
        }
        wf->input_names[wf->ninputs] = name;
        wf->input_plates[wf->ninputs] = plate;
        wf->ninputs++;
    }
}

static const char *const wf_factor_keys[] = {
    "tool",      "version",   "params",       "sources",  "sink", "plates", "over",
    "alignment", "splitting", "output_plate", "lookback", "name", NULL};

/*
 * Checks a factor's parameters against its tool's definition, one by one,
 * so that each error gives the line of the parameter at fault: names, types
 * and the tool's own checks (words from a set, functions, Lua that must
 * compile), then the required ones (on the line of params, or of tool when
 * there is none).
 */
static void wf_check_params(wfp *p, const hs_wf_factor *f, const hs_ynode *params,
                            const hs_ynode *tool)
{
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value *m = NULL;
    hs_buf msg;
    hs_buf_init(&msg, 0);
    char who[300];
    if (f->sink != NULL)
        snprintf(who, sizeof who, "node %s", f->sink);
    else
        snprintf(who, sizeof who, "factor of tool %s", f->tool);
    if (f->params_len > 0 &&
        (hs_value_decode(&a, f->params, f->params_len, &m) != HS_OK || m->type != HS_V_MAP))
        m = NULL; /* reported above (params must be a mapping) */
    for (uint32_t i = 0; m != NULL && i < m->len; i++) {
        const hs_value *k = &m->u.items[2 * i];
        hs_buf_reset(&msg);
        if (hs_tool_check_param(f->def, k->u.s, k->len, &m->u.items[2 * i + 1], &msg) == HS_OK)
            continue;
        /* The parameter's own line: its value's, found by its key. */
        const hs_ynode *at = params;
        char *key = hs_strndup(k->u.s, k->len);
        if (key != NULL && params != NULL && hs_ynode_kind(params) == HS_YNODE_MAP) {
            const hs_ynode *v = hs_ynode_get(params, key);
            if (v != NULL)
                at = v;
        }
        hs_free(key);
        wf_err(p, at != NULL ? at : tool, "%s: %s", who, hs_buf_cstr(&msg));
    }
    hs_buf_reset(&msg);
    if (hs_tool_check_required(f->def, m, &msg) != HS_OK)
        wf_err(p, params != NULL ? params : tool, "%s: %s", who, hs_buf_cstr(&msg));
    hs_buf_free(&msg);
    hs_arena_free(&a);
}

static void wf_parse_factor(wfp *p, const hs_ynode *n, hs_wf_factor *f)
{
    hs_workflow *wf = p->wf;
    f->line = (int)hs_ynode_line(n);
    f->sink_plate = -1;
    f->output_plate_idx = -1;
    f->in_plate = -1;
    if (hs_ynode_kind(n) != HS_YNODE_MAP) {
        wf_err(p, n, "a factor must be a mapping with tool, sources, sink...");
        return;
    }
    for (size_t i = 0; i < hs_ynode_len(n); i++) {
        const char *k = hs_ynode_text(hs_ynode_key(n, i), NULL);
        bool known = false;
        for (const char *const *x = wf_factor_keys; *x && !known; x++)
            known = strcmp(*x, k) == 0;
        if (!known)
            wf_err(p, hs_ynode_key(n, i),
                   "unknown key '%s' in a factor (tool, version, params, sources, sink, plates, "
                   "over, alignment, splitting, output_plate, lookback)",
                   k);
    }
    const hs_ynode *tool = hs_ynode_get(n, "tool");
    const hs_ynode *version = hs_ynode_get(n, "version");
    if (tool == NULL) {
        wf_err(p, n, "factor has no tool");
        return;
    }
    if (hs_ynode_kind(tool) == HS_YNODE_MAP) {
        const hs_ynode *tn = hs_ynode_get(tool, "name");
        if (tn == NULL) {
            wf_err(p, tool, "tool needs a name");
            return;
        }
        f->tool = wf_str(p, tn, "tool name");
        if (hs_ynode_get(tool, "version") != NULL)
            version = hs_ynode_get(tool, "version");
    } else {
        f->tool = wf_str(p, tool, "tool");
    }
    if (f->tool == NULL)
        return;
    f->def = hs_tool_registry_find(p->tools, f->tool);
    if (f->def == NULL) {
        /* The tools of the process reading the workflow: built-ins and the
           plugins of the plugin directory it was started with. */
        wf_err(p, tool,
               "unknown tool '%s': not built in, and not a plugin loaded from the "
               "plugin directory (plugin_dir) of the service that read this workflow",
               f->tool);
        return;
    }
    /* A pinned version takes that version's definition; a bare name the newest. */
    if (version != NULL) {
        int maj, min, pat;
        size_t vl;
        const char *vt = hs_ynode_text(version, &vl);
        const hs_tool_def *pinned = NULL;
        if (vt == NULL || hs_tool_version_parse(vt, &maj, &min, &pat) != HS_OK) {
            wf_err(p, version, "version '%s' is not major.minor or major.minor.patch",
                   vt ? vt : "?");
        } else if ((pinned = hs_tool_registry_find_version(p->tools, f->tool, vt)) == NULL) {
            hs_buf avail;
            hs_buf_init(&avail, 0);
            if (hs_tool_registry_versions(p->tools, f->tool, &avail) != HS_OK)
                hs_buf_reset(&avail);
            wf_err(p, version,
                   "tool %s has no version %d.%d; versions available: %s (patch versions may "
                   "differ, major.minor must match)",
                   f->tool, maj, min, avail.len > 0 ? hs_buf_cstr(&avail) : "?");
            hs_buf_free(&avail);
        } else {
            char buf[32];
            snprintf(buf, sizeof buf, "%d.%d", maj, min);
            f->def = pinned;
            f->version = hs_strdup(buf);
        }
    }
    /* Parameters: canonical msgpack, checked against the tool's table. */
    const hs_ynode *params = hs_ynode_get(n, "params");
    hs_buf mp, err;
    hs_buf_init(&mp, 0);
    hs_buf_init(&err, 0);
    if (params == NULL || hs_ynode_is_null(params)) {
        if (hs_mp_put_map(&mp, 0) != HS_OK)
            wf_err(p, tool, "out of memory");
    } else if (hs_ynode_kind(params) != HS_YNODE_MAP) {
        wf_err(p, params, "params must be a mapping");
        (void)hs_mp_put_map(&mp, 0); /* checked below as the parameters of the tool */
    } else if (hs_ynode_to_mpack(params, &mp, &err) != HS_OK) {
        wf_err(p, params, "params: %s", hs_buf_cstr(&err));
    }
    f->params_len = mp.len;
    f->params = hs_buf_take(&mp, NULL);
    hs_buf reader;
    hs_buf_init(&reader, 0);
    hs_mp_reader r;
    hs_mp_reader_init(&r, f->params, f->params_len);
    if (hs_json_from_mpack(&r, &reader) == HS_OK)
        f->params_json = hs_strdup(hs_buf_cstr(&reader));
    hs_buf_free(&reader);
    hs_buf_free(&err);

    const hs_ynode *srcs = hs_ynode_get(n, "sources");
    wf_names(p, srcs, "a source", &f->sources, &f->nsources);
    /* The count check counts the sources given, so that a source refused
     * above (not a name) is reported once, not also as a missing source. */
    size_t nsrc_given = srcs == NULL                          ? 0
                        : hs_ynode_kind(srcs) == HS_YNODE_SEQ ? hs_ynode_len(srcs)
                                                              : 1;
    const hs_ynode *sink = hs_ynode_get(n, "sink");
    if (sink != NULL)
        f->sink = wf_name(p, sink, "sink", "name");
    wf_check_params(p, f, params, tool);
    const hs_ynode *pls = hs_ynode_get(n, "plates");
    if (pls != NULL) {
        char who[300];
        bool bad;
        snprintf(who, sizeof who, "node %s", f->sink != NULL ? f->sink : "(plate creation)");
        f->sink_plate = wf_plates_list(p, pls, who, &bad);
    }
    const hs_ynode *x;
    if ((x = hs_ynode_get(n, "over")) != NULL)
        f->over = wf_name(p, x, "over", "key");
    if ((x = hs_ynode_get(n, "alignment")) != NULL)
        f->alignment = wf_name(p, x, "alignment", "name");
    if ((x = hs_ynode_get(n, "splitting")) != NULL)
        f->splitting = wf_name(p, x, "splitting", "name");
    if ((x = hs_ynode_get(n, "output_plate")) != NULL) {
        f->output_plate = wf_str(p, x, "output_plate");
        if (f->output_plate != NULL) {
            f->output_plate_idx = wf_plate_index(wf, f->output_plate);
            if (f->output_plate_idx < 0)
                wf_err(p, x, "unknown output_plate '%s'", f->output_plate);
        }
    }
    if ((x = hs_ynode_get(n, "lookback")) != NULL) {
        if (wf_duration(p, x, "lookback", &f->lookback_us) && f->lookback_us < 0)
            wf_err(p, x, "lookback must not be negative");
    }
    /* Shape by kind. */
    const hs_tool_def *d = f->def;
    int ns = (int)nsrc_given;
    if (ns < d->min_sources || (d->max_sources >= 0 && ns > d->max_sources)) {
        if (d->max_sources < 0)
            wf_err(p, n, "tool %s takes at least %d sources, %d given", f->tool, d->min_sources,
                   ns);
        else if (d->min_sources == d->max_sources)
            wf_err(p, n, "tool %s takes %d source%s, %d given", f->tool, d->min_sources,
                   d->min_sources == 1 ? "" : "s", ns);
        else
            wf_err(p, n, "tool %s takes %d to %d sources, %d given", f->tool, d->min_sources,
                   d->max_sources, ns);
    }
    /* A "needs" error only when the key is absent: a value refused above
     * (not a name) is reported once. */
    if (d->splitting && hs_ynode_get(n, "splitting") == NULL)
        wf_err(p, n, "tool %s needs a splitting stream (splitting: node)", f->tool);
    if (!d->splitting && f->splitting != NULL)
        wf_err(p, n, "tool %s takes no splitting stream", f->tool);
    if (d->alignment && hs_ynode_get(n, "alignment") == NULL)
        wf_err(p, n, "tool %s needs an alignment stream (alignment: node)", f->tool);
    if (!d->alignment && f->alignment != NULL)
        wf_err(p, n, "tool %s takes no alignment stream", f->tool);
    if (d->kind == HS_TOOL_PLATE) {
        if (f->output_plate == NULL)
            wf_err(p, n,
                   "plate-creation tool %s needs output_plate (the plate it creates "
                   "values of)",
                   f->tool);
        if (f->sink != NULL)
            wf_err(p, sink, "plate-creation tool %s has no sink", f->tool);
    } else {
        if (sink == NULL)
            wf_err(p, n, "factor with tool %s needs a sink", f->tool);
        if (f->output_plate != NULL)
            wf_err(p, n, "only plate-creation tools take output_plate");
    }
    if (d->kind == HS_TOOL_AGGREGATE && hs_ynode_get(n, "over") == NULL)
        wf_err(p, n, "aggregate tool %s needs over (the meta-data key to aggregate over)", f->tool);
    if (d->kind == HS_TOOL_SELECTOR && hs_ynode_get(n, "over") == NULL)
        wf_err(p, n, "selector tool %s needs over (the meta-data key it selects by)", f->tool);
    if (d->kind != HS_TOOL_AGGREGATE && d->kind != HS_TOOL_SELECTOR && f->over != NULL)
        wf_err(p, hs_ynode_get(n, "over"), "tool %s is not an aggregate tool; over is not allowed",
               f->tool);
    if (d->kind == HS_TOOL_MULTI && f->sink_plate < 0)
        wf_err(p, n, "multi-output tool %s needs its sink on a plate (the output plate)", f->tool);
    else if (d->kind == HS_TOOL_MULTI && wf->plates[f->sink_plate].nmembers > 0)
        wf_err(p, pls, "multi-output tool %s: its sink is on one plate, the output plate (not %s)",
               f->tool, wf->plates[f->sink_plate].id);
}

/* ------------------------------------------------------------------ structure */

int hs_workflow_producer(const hs_workflow *wf, const char *node)
{
    for (size_t i = 0; i < wf->nfactors; i++) {
        const hs_wf_factor *f = &wf->factors[i];
        if (f->sink != NULL && strcmp(f->sink, node) == 0)
            return (int)i;
    }
    return -1;
}

static int wf_input_plate(const hs_workflow *wf, const char *node, bool *declared)
{
    for (size_t i = 0; i < wf->ninputs; i++)
        if (strcmp(wf->input_names[i], node) == 0) {
            *declared = true;
            return wf->input_plates[i];
        }
    *declared = false;
    return -1;
}

/* The tool's kind as the errors name it. */
static const char *wf_kind_name(const hs_tool_def *d)
{
    switch (d->kind) {
    case HS_TOOL_AGGREGATE:
        return "aggregate";
    case HS_TOOL_SELECTOR:
        return "selector";
    case HS_TOOL_MULTI:
        return "multi-output";
    case HS_TOOL_PLATE:
        return "plate-creation";
    default:
        return "plain";
    }
}

/* Whether plate a's keys are exactly the keys of want. */
static bool wf_plate_keys_are(const hs_workflow *wf, int a, const wf_keyset *want)
{
    wf_keyset k = {{0}, 0};
    wf_keys_of(wf, a, &k);
    return k.n == want->n && wf_keys_subset(&k, want);
}

/*
 * The plate an aggregate or selector reads its main (last) source on: the
 * plate whose keys are the sink plate's and `over`, at any level of the
 * sink's ancestry. A computed or declared source gives it; for an input
 * read from data, the child plate of the sink plate keyed by `over`, else
 * any plate with those keys. -2 when there is none.
 */
static int wf_agg_in_plate(const hs_workflow *wf, const hs_wf_factor *f)
{
    if (f->over == NULL || f->nsources == 0)
        return -2;
    wf_keyset want = {{0}, 0};
    wf_keys_of(wf, f->sink_plate, &want);
    if (wf_keys_has(&want, f->over))
        return -2;
    wf_keys_add(&want, f->over);
    const char *main = f->sources[f->nsources - 1];
    int prod = hs_workflow_producer(wf, main);
    bool declared;
    int pl = prod >= 0 ? wf->factors[prod].sink_plate : wf_input_plate(wf, main, &declared);
    if (prod >= 0 || declared)
        return wf_plate_keys_are(wf, pl, &want) ? pl : -2;
    for (size_t i = 0; i < wf->nplates; i++)
        if (wf->plates[i].nmembers == 0 && wf->plates[i].parent_idx == f->sink_plate &&
            wf->plates[i].meta != NULL && strcmp(wf->plates[i].meta, f->over) == 0)
            return (int)i;
    for (size_t i = 0; i < wf->nplates; i++)
        if (wf_plate_keys_are(wf, (int)i, &want))
            return (int)i;
    return -2;
}

/* Sets in_plate of a factor; false (reported) when an aggregate or selector has none. */
static bool wf_set_in_plate(wfp *p, hs_wf_factor *f)
{
    hs_workflow *wf = p->wf;
    switch (f->def->kind) {
    case HS_TOOL_MULTI:
        f->in_plate = f->sink_plate >= 0 ? wf->plates[f->sink_plate].parent_idx : -1;
        return true;
    case HS_TOOL_PLATE:
        f->in_plate = f->output_plate_idx >= 0 ? wf->plates[f->output_plate_idx].parent_idx : -1;
        return true;
    case HS_TOOL_AGGREGATE:
    case HS_TOOL_SELECTOR:
        break;
    default:
        f->in_plate = f->sink_plate;
        return true;
    }
    f->in_plate = wf_agg_in_plate(wf, f);
    if (f->in_plate != -2)
        return true;
    char sk[300];
    const char *verb = f->def->kind == HS_TOOL_AGGREGATE ? "aggregates over" : "selects by";
    wf_keys_text(wf, f->sink_plate, sk, sizeof sk);
    const char *sp = f->sink_plate >= 0 ? wf->plates[f->sink_plate].id : "[] (global)";
    wf_keyset sink = {{0}, 0};
    wf_keys_of(wf, f->sink_plate, &sink);
    if (f->over != NULL && wf_keys_has(&sink, f->over)) {
        wf_line(p->errors,
                "%s:%d: %s tool %s %s '%s', but the sink's plate %s has that key already "
                "(the sink's plate is the source's without '%s')",
                p->file, f->line, wf_kind_name(f->def), f->tool, verb, f->over, sp, f->over);
    } else {
        wf_line(p->errors,
                "%s:%d: %s tool %s %s '%s': its source %s must be on a plate whose keys are the "
                "sink plate %s's (%s) and %s; declare it under inputs with such a plate, or add a "
                "plate {meta: %s, parent: %s}",
                p->file, f->line, wf_kind_name(f->def), f->tool, verb, f->over ? f->over : "?",
                f->nsources > 0 ? f->sources[f->nsources - 1] : "?", sp, sk,
                f->over ? f->over : "?", f->over ? f->over : "?",
                f->sink_plate >= 0 ? wf->plates[f->sink_plate].id : "(none)");
    }
    p->nerrors++;
    return false;
}

/* The plate of node as read by factor f: its producer's, its declaration's, or the factor's. */
static int wf_node_plate(const hs_workflow *wf, const hs_wf_factor *f, const char *node)
{
    int prod = hs_workflow_producer(wf, node);
    if (prod >= 0)
        return wf->factors[prod].sink_plate;
    bool declared;
    int pl = wf_input_plate(wf, node, &declared);
    if (declared)
        return pl;
    /* HyperStream: the first of several aggregate/selector sources is unplated. */
    if ((f->def->kind == HS_TOOL_AGGREGATE || f->def->kind == HS_TOOL_SELECTOR) &&
        f->nsources > 1 && strcmp(f->sources[0], node) == 0)
        return -1;
    return f->in_plate; /* set by wf_check_plates */
}

/*
 * The plate of an alignment or splitting node as its units read it: its
 * producer's sink plate, or the plate it is declared on under inputs; an
 * undeclared raw node is global (-1).
 */
static int wf_aux_plate(const hs_workflow *wf, const hs_wf_factor *f, const char *node)
{
    bool declared = false;
    if (hs_workflow_producer(wf, node) < 0 && (wf_input_plate(wf, node, &declared), !declared))
        return -1;
    return wf_node_plate(wf, f, node);
}

/*
 * Which sources a factor can read (HyperStream's IncompatiblePlatesError
 * cases, by keys): a source is read at the unit's plate value, so every
 * key of its plate must be a key of the factor's plate (the sink's for a
 * plain tool, the input plate for multi-output and plate creation); an
 * aggregate or selector also reads, below each sink value, the sources on
 * its input plate.
 */
static void wf_check_plates(wfp *p)
{
    hs_workflow *wf = p->wf;
    for (size_t i = 0; i < wf->nfactors; i++) {
        hs_wf_factor *f = &wf->factors[i];
        if (f->def == NULL || !wf_set_in_plate(p, f))
            continue;
        int in = f->in_plate;
        wf_keyset inkeys = {{0}, 0};
        wf_keys_of(wf, in, &inkeys);
        bool over_kind = f->def->kind == HS_TOOL_AGGREGATE || f->def->kind == HS_TOOL_SELECTOR;
        for (size_t k = 0; k < f->nsources; k++) {
            int sp = wf_node_plate(wf, f, f->sources[k]);
            wf_keyset sk = {{0}, 0};
            wf_keys_of(wf, sp, &sk);
            bool ok;
            int reads_at = in;
            if (over_kind) {
                /* Its input plate's streams, or streams at the sink's value. */
                reads_at = f->sink_plate;
                wf_keyset sink = {{0}, 0};
                wf_keys_of(wf, f->sink_plate, &sink);
                ok = sp == in || wf_plate_keys_are(wf, sp, &inkeys) || wf_keys_subset(&sk, &sink);
            } else {
                ok = wf_keys_subset(&sk, &inkeys);
            }
            if (!ok) {
                char a[300], b[300];
                wf_line(p->errors,
                        "%s:%d: source %s is on plate %s (keys: %s), which the %s tool %s cannot "
                        "read for plate %s (keys: %s): every key of a source's plate must be a "
                        "key of the factor's plate",
                        p->file, f->line, f->sources[k], sp >= 0 ? wf->plates[sp].id : "[]",
                        wf_keys_text(wf, sp, a, sizeof a), wf_kind_name(f->def), f->tool,
                        reads_at >= 0 ? wf->plates[reads_at].id : "[] (global)",
                        wf_keys_text(wf, reads_at, b, sizeof b));
                p->nerrors++;
            }
        }
        /* An alignment stream is global (HyperStream's rule). A splitting stream may live
         * on the factor's input plate or an ancestor: each unit reads its own value's. */
        if (f->alignment != NULL && wf_aux_plate(wf, f, f->alignment) >= 0) {
            wf_line(p->errors, "%s:%d: alignment stream %s must be global (plates: [])", p->file,
                    f->line, f->alignment);
            p->nerrors++;
        }
        int sp = f->splitting != NULL ? wf_aux_plate(wf, f, f->splitting) : -1;
        if (sp >= 0 && !wf_plate_ancestor(wf, sp, in)) {
            wf_line(p->errors,
                    "%s:%d: splitting stream %s is on plate %s: it must be global or on the "
                    "factor's input plate %s or an ancestor of it",
                    p->file, f->line, f->splitting, wf->plates[sp].id,
                    in >= 0 ? wf->plates[in].id : "[] (global)");
            p->nerrors++;
        }
    }
}

/* Dependency order (Kahn); reports cycles. */
static void wf_order(wfp *p)
{
    hs_workflow *wf = p->wf;
    size_t n = wf->nfactors;
    wf->order = hs_calloc(n ? n : 1, sizeof *wf->order);
    int *indeg = hs_calloc(n ? n : 1, sizeof *indeg);
    bool *adj = hs_calloc(n > 0 ? n * n : 1, sizeof *adj);
    if (wf->order == NULL || indeg == NULL || adj == NULL) {
        hs_free(indeg);
        hs_free(adj);
        return;
    }
    for (size_t g = 0; g < n; g++) {
        const hs_wf_factor *fg = &wf->factors[g];
        for (size_t k = 0; k < fg->nsources + 2; k++) {
            const char *src = k < fg->nsources    ? fg->sources[k]
                              : k == fg->nsources ? fg->alignment
                                                  : fg->splitting;
            if (src == NULL)
                continue;
            int f = hs_workflow_producer(wf, src);
            if (f >= 0 && !adj[(size_t)f * n + g]) {
                adj[(size_t)f * n + g] = true;
                indeg[g]++;
            }
        }
        /* Factors on a dynamic plate wait for the factor creating its values. */
        for (size_t f = 0; f < n; f++) {
            const hs_wf_factor *ff = &wf->factors[f];
            if (f == g || ff->output_plate_idx < 0)
                continue;
            int pl = fg->sink_plate;
            if (pl >= 0 && wf_plate_ancestor(wf, ff->output_plate_idx, pl) && !adj[f * n + g]) {
                adj[f * n + g] = true;
                indeg[g]++;
            }
        }
    }
    size_t done = 0;
    bool *used = hs_calloc(n ? n : 1, sizeof *used);
    while (used != NULL && done < n) {
        size_t pick = n;
        for (size_t i = 0; i < n && pick == n; i++)
            if (!used[i] && indeg[i] == 0)
                pick = i;
        if (pick == n)
            break;
        used[pick] = true;
        wf->order[done++] = pick;
        for (size_t g = 0; g < n; g++)
            if (adj[pick * n + g])
                indeg[g]--;
    }
    if (done < n) {
        for (size_t i = 0; i < n; i++)
            if (used == NULL || !used[i]) {
                wf_line(p->errors,
                        "%s:%d: factor computing %s is part of a cycle (a stream computed "
                        "from itself)",
                        p->file, wf->factors[i].line,
                        wf->factors[i].sink ? wf->factors[i].sink : "plate values");
                p->nerrors++;
            }
    }
    hs_free(used);
    hs_free(indeg);
    hs_free(adj);
}

/*
 * Calls one of a tool's planner callbacks (lookback_us, window_width_us)
 * with the factor's parameters decoded; 0 when the parameters do not decode
 * or the result is not positive.
 */
static int64_t wf_param_us(const hs_wf_factor *f, int64_t (*fn)(const hs_value *params))
{
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value *v;
    int64_t us = 0;
    if (hs_value_decode(&a, f->params, f->params_len, &v) == HS_OK)
        us = fn(v);
    hs_arena_free(&a);
    return us > 0 ? us : 0;
}

/*
 * The lookback a factor's tool declares (hs_tool_def): its own, from the
 * parameters, or the width of the windows it reads from source 0. 0: none.
 */
static int64_t wf_tool_lookback(const hs_workflow *wf, const hs_wf_factor *f)
{
    if (f->def->lookback_us != NULL)
        return wf_param_us(f, f->def->lookback_us);
    if (!f->def->lookback_from_windows || f->nsources == 0)
        return 0;
    int wp = hs_workflow_producer(wf, f->sources[0]);
    if (wp < 0)
        return 0;
    const hs_wf_factor *w = &wf->factors[wp];
    if (w->def == NULL || w->def->window_width_us == NULL)
        return 0;
    return wf_param_us(w, w->def->window_width_us);
}

/* Bindings in dependency order: tool, major.minor, params, shape, and the sources' bindings. */
static void wf_bindings(wfp *p)
{
    hs_workflow *wf = p->wf;
    hs_buf b, name;
    hs_buf_init(&b, 0);
    hs_buf_init(&name, 0);
    for (size_t oi = 0; oi < wf->nfactors; oi++) {
        hs_wf_factor *f = &wf->factors[wf->order[oi]];
        if (f->def == NULL)
            continue;
        /* A lookback the factor does not set is the one its tool declares. */
        if (f->lookback_us == 0)
            f->lookback_us = wf_tool_lookback(wf, f);
        int maj = 0, min = 0, pat = 0;
        hs_tool_version_parse(f->def->version, &maj, &min, &pat);
        hs_buf_reset(&b);
        hs_buf_puts(&b, "{\"tool\":");
        hs_json_put_string(&b, f->tool, strlen(f->tool));
        hs_buf_printf(&b, ",\"version\":\"%d.%d\",\"kind\":\"%c\",\"params\":%s", maj, min,
                      (char)f->def->kind, f->params_json ? f->params_json : "{}");
        if (f->over) {
            hs_buf_puts(&b, ",\"over\":");
            hs_json_put_string(&b, f->over, strlen(f->over));
        }
        if (f->sink_plate >= 0 && wf->plates[f->sink_plate].nmembers == 0) {
            hs_buf_puts(&b, ",\"plate\":");
            hs_json_put_string(
                &b, wf->plates[f->sink_plate].meta ? wf->plates[f->sink_plate].meta : "",
                wf->plates[f->sink_plate].meta ? strlen(wf->plates[f->sink_plate].meta) : 0);
        } else if (f->sink_plate >= 0) {
            /* A product plate: its keys. */
            char keys[300];
            wf_keys_text(wf, f->sink_plate, keys, sizeof keys);
            hs_buf_puts(&b, ",\"plates\":");
            hs_json_put_string(&b, keys, strlen(keys));
        }
        hs_buf_puts(&b, ",\"sources\":[");
        for (size_t k = 0; k < f->nsources + 2; k++) {
            const char *src = k < f->nsources    ? f->sources[k]
                              : k == f->nsources ? f->alignment
                                                 : f->splitting;
            if (src == NULL)
                continue;
            if (k > 0)
                hs_buf_putc(&b, ',');
            int pf = hs_workflow_producer(wf, src);
            if (pf >= 0) {
                hs_buf_printf(&b, "\"%s\"", wf->factors[pf].hash);
            } else {
                hs_buf_reset(&name);
                hs_buf_puts(&name, "input:");
                hs_buf_puts(&name, src);
                hs_json_put_string(&b, (const char *)name.data, name.len);
            }
        }
        hs_buf_putc(&b, ']');
        if (f->lookback_us > 0)
            hs_buf_printf(&b, ",\"lookback_us\":%lld", (long long)f->lookback_us);
        hs_buf_putc(&b, '}');
        /* A binding cut short would hash to a wrong identity: no binding at all. */
        if (hs_buf_error(&b) == HS_OK && hs_buf_error(&name) == HS_OK)
            f->binding = hs_strdup(hs_buf_cstr(&b));
        if (f->binding != NULL)
            hs_binding_hash(f->binding, f->hash);
        else
            wf_err(p, NULL, "factor %s: out of memory building its binding", f->tool);
    }
    hs_buf_free(&name);
    hs_buf_free(&b);
}

/*
 * The input schemas section: a list of {stream: PATTERN, schema: SCHEMA}
 * checked as ingest will compile it (every schema inline: a workflow is
 * stored and sent as its text, so a file next to it would not travel with
 * it), kept as msgpack for the scheduler.
 */
static void wf_parse_schemas(wfp *p, const hs_ynode *n)
{
    hs_schemaset *set = NULL;
    hs_buf err;
    hs_buf_init(&err, 0);
    if (hs_schemaset_create(&set) != HS_OK) {
        wf_err(p, n, "out of memory checking the schemas");
        return;
    }
    int rc = hs_schemaset_add_ynode(set, n, "workflow", NULL, &err);
    if (rc != HS_OK) {
        /* err is "file:line:col: message", the form of every error here. */
        wf_line(p->errors, "%s", err.len > 0 ? hs_buf_cstr(&err) : hs_strerror(rc));
        p->nerrors++;
    } else if (hs_ynode_len(n) > 0) {
        hs_buf mp;
        hs_buf_init(&mp, 0);
        if (hs_ynode_to_mpack(n, &mp, &err) != HS_OK) {
            wf_err(p, n, "schemas: %s", hs_buf_cstr(&err));
        } else {
            p->wf->schemas_mp = mp.data; /* taken from the buffer */
            p->wf->schemas_len = mp.len;
            p->wf->nschemas = hs_schemaset_count(set);
            hs_buf_init(&mp, 0);
        }
        hs_buf_free(&mp);
    }
    hs_schemaset_destroy(set);
    hs_buf_free(&err);
}

int hs_workflow_parse(const char *text, size_t len, const char *filename,
                      const hs_tool_registry *tools, hs_workflow **out, hs_buf *errors)
{
    *out = NULL;
    wfp p = {filename ? filename : "workflow", errors, 0, tools, NULL};
    hs_buf yerr;
    hs_buf_init(&yerr, 0);
    hs_ynode *root = NULL;
    int rc = hs_yaml_parse(text, len, p.file, &root, &yerr);
    if (rc != HS_OK) {
        wf_line(errors, "%s", hs_buf_cstr(&yerr));
        hs_buf_free(&yerr);
        return HS_ERR_SCHEMA;
    }
    hs_buf_free(&yerr);
    hs_workflow *wf = hs_calloc(1, sizeof *wf);
    if (wf == NULL) {
        hs_yaml_destroy(root);
        return HS_ERR_NOMEM;
    }
    p.wf = wf;
    wf->text = hs_strndup(text, len);
    if (hs_ynode_kind(root) != HS_YNODE_MAP) {
        wf_err(&p, root, "a workflow is a mapping with id, plates and factors");
        goto done;
    }
    hs_buf keybuf;
    hs_buf_init(&keybuf, 0);
    bool keys_ok = wf_keys_short(&p, root, &keybuf);
    hs_buf_free(&keybuf);
    if (!keys_ok)
        goto done;
    static const char *const top[] = {"id",      "name",   "owner",   "description", "online",
                                      "plates",  "inputs", "factors", "job_span",    "monitor",
                                      "schemas", "meta",   NULL};
    for (size_t i = 0; i < hs_ynode_len(root); i++) {
        const char *k = hs_ynode_text(hs_ynode_key(root, i), NULL);
        bool known = false;
        for (const char *const *x = top; *x && !known; x++)
            known = strcmp(*x, k) == 0;
        if (!known)
            wf_err(&p, hs_ynode_key(root, i),
                   "unknown key '%s' (id, name, owner, description, online, meta, plates, "
                   "inputs, factors, job_span, schemas)",
                   k);
    }
    const hs_ynode *n;
    if ((n = hs_ynode_get(root, "id")) == NULL)
        wf_err(&p, root, "a workflow needs an id");
    else
        wf->id = wf_name(&p, n, "workflow id", "name");
    if ((n = hs_ynode_get(root, "name")) != NULL)
        wf->name = wf_str(&p, n, "name");
    if ((n = hs_ynode_get(root, "owner")) != NULL)
        wf->owner = wf_str(&p, n, "owner");
    if ((n = hs_ynode_get(root, "description")) != NULL)
        wf->description = wf_str(&p, n, "description");
    if ((n = hs_ynode_get(root, "online")) != NULL && !hs_ynode_is_null(n))
        wf_parse_online(&p, n);
    if ((n = hs_ynode_get(root, "job_span")) != NULL &&
        wf_duration(&p, n, "job_span", &wf->job_span_us) && wf->job_span_us <= 0)
        wf_err(&p, n, "job_span must be positive");
    if (hs_meta_create(&wf->meta) != HS_OK) {
        wf_err(&p, root, "out of memory");
        goto done;
    }
    if ((n = hs_ynode_get(root, "meta")) != NULL && !hs_ynode_is_null(n))
        wf_parse_meta(&p, n, "");
    if ((n = hs_ynode_get(root, "plates")) != NULL && !hs_ynode_is_null(n))
        wf_parse_plates(&p, n);
    if ((n = hs_ynode_get(root, "inputs")) != NULL && !hs_ynode_is_null(n))
        wf_parse_inputs(&p, n);
    if ((n = hs_ynode_get(root, "schemas")) != NULL && !hs_ynode_is_null(n))
        wf_parse_schemas(&p, n);
    n = hs_ynode_get(root, "factors");
    if (n == NULL || hs_ynode_kind(n) != HS_YNODE_SEQ || hs_ynode_len(n) == 0) {
        wf_err(&p, n ? n : root, "a workflow needs factors: a list of at least one factor");
        goto done;
    }
    wf->factors = hs_calloc(hs_ynode_len(n), sizeof *wf->factors);
    if (wf->factors == NULL)
        goto done;
    wf->nfactors = hs_ynode_len(n);
    for (size_t i = 0; i < wf->nfactors; i++)
        wf_parse_factor(&p, hs_ynode_item(n, i), &wf->factors[i]);
    /* Every node has one producer; sources are produced or inputs. */
    for (size_t i = 0; i < wf->nfactors; i++) {
        hs_wf_factor *f = &wf->factors[i];
        if (f->sink == NULL)
            continue;
        for (size_t j = 0; j < i; j++)
            if (wf->factors[j].sink && strcmp(wf->factors[j].sink, f->sink) == 0) {
                wf_line(errors,
                        "%s:%d: stream %s is already computed by the factor at line "
                        "%d",
                        p.file, f->line, f->sink, wf->factors[j].line);
                p.nerrors++;
            }
        for (size_t k = 0; k < wf->ninputs; k++)
            if (strcmp(wf->input_names[k], f->sink) == 0) {
                wf_line(errors, "%s:%d: stream %s is declared an input but is computed", p.file,
                        f->line, f->sink);
                p.nerrors++;
            }
    }
    if (wf->ninputs > 0) {
        for (size_t i = 0; i < wf->nfactors; i++) {
            hs_wf_factor *f = &wf->factors[i];
            for (size_t k = 0; k < f->nsources + 2; k++) {
                const char *src = k < f->nsources    ? f->sources[k]
                                  : k == f->nsources ? f->alignment
                                                     : f->splitting;
                bool declared;
                if (src != NULL && hs_workflow_producer(wf, src) < 0 &&
                    (wf_input_plate(wf, src, &declared), !declared)) {
                    wf_line(errors,
                            "%s:%d: unknown source node '%s': no factor computes it and it "
                            "is not under inputs",
                            p.file, f->line, src);
                    p.nerrors++;
                }
            }
        }
    }
    /* A plate without values that no factor creates selects its values from the tree. */
    for (size_t i = 0; i < wf->nplates; i++) {
        bool created = false;
        for (size_t k = 0; k < wf->nfactors; k++)
            created = created || wf->factors[k].output_plate_idx == (int)i;
        if (wf->plates[i].dynamic && !created)
            wf->plates[i].dynamic = false;
        if (wf->plates[i].grow && created) {
            wf_line(errors,
                    "%s:%d: plate %s: grow adds values from raw data, but a plate-creation "
                    "factor makes this plate's values",
                    p.file, wf->plates[i].line, wf->plates[i].id);
            p.nerrors++;
        }
        if (wf->plates[i].match != NULL && created) {
            wf_line(errors,
                    "%s:%d: plate %s: match selects values of the meta-data tree, but a "
                    "plate-creation factor makes this plate's values",
                    p.file, wf->plates[i].line, wf->plates[i].id);
            p.nerrors++;
        }
    }
    if (p.nerrors == 0)
        wf_check_plates(&p);
    if (p.nerrors == 0)
        wf_order(&p);
    if (p.nerrors == 0)
        wf_bindings(&p);
done:
    hs_yaml_destroy(root);
    if (p.nerrors > 0) {
        hs_workflow_destroy(wf);
        return HS_ERR_SCHEMA;
    }
    *out = wf;
    return HS_OK;
}

void hs_workflow_destroy(hs_workflow *wf)
{
    if (wf == NULL)
        return;
    hs_free(wf->id);
    hs_free(wf->name);
    hs_free(wf->owner);
    hs_free(wf->description);
    for (size_t i = 0; i < wf->nplates; i++) {
        hs_wf_plate *pl = &wf->plates[i];
        hs_free(pl->id);
        hs_free(pl->meta);
        hs_free(pl->parent);
        hs_free(pl->match);
        hs_free(pl->members);
        wf_free_names(pl->values, pl->nvalues);
    }
    hs_free(wf->plates);
    for (size_t i = 0; wf->factors && i < wf->nfactors; i++) {
        hs_wf_factor *f = &wf->factors[i];
        hs_free(f->tool);
        hs_free(f->version);
        hs_free(f->params);
        hs_free(f->params_json);
        wf_free_names(f->sources, f->nsources);
        hs_free(f->sink);
        hs_free(f->over);
        hs_free(f->alignment);
        hs_free(f->splitting);
        hs_free(f->output_plate);
        hs_free(f->binding);
    }
    hs_free(wf->factors);
    hs_free(wf->order);
    wf_free_names(wf->input_names, wf->ninputs);
    hs_free(wf->input_plates);
    for (size_t i = 0; i < wf->ndyn; i++) {
        hs_free(wf->dyn[i].parent);
        wf_free_names(wf->dyn[i].values, wf->dyn[i].n);
    }
    hs_free(wf->dyn);
    hs_free(wf->schemas_mp);
    hs_free(wf->text);
    hs_meta_destroy(wf->meta);
    hs_free(wf);
}

/* The plate an input node is read on (declared, or by the first factor reading it), or -1. */
static int wf_input_node_plate(const hs_workflow *wf, const char *node)
{
    bool declared;
    int pl = wf_input_plate(wf, node, &declared);
    if (declared)
        return pl;
    for (size_t f = 0; f < wf->nfactors; f++)
        for (size_t k = 0; k < wf->factors[f].nsources; k++)
            if (wf->factors[f].def != NULL && strcmp(wf->factors[f].sources[k], node) == 0)
                return wf_node_plate(wf, &wf->factors[f], node);
    return -1;
}

/* Adds input node to names[0..*n) when it is read on a growing plate and not there yet. */
static void wf_grow_input(const hs_workflow *wf, const char *node, const char **names, size_t *n,
                          size_t cap)
{
    if (*n == cap || hs_workflow_producer(wf, node) >= 0)
        return;
    int pl = wf_input_node_plate(wf, node);
    if (pl < 0 || !wf->plates[pl].grow)
        return;
    for (size_t x = 0; x < *n; x++)
        if (strcmp(names[x], node) == 0)
            return;
    names[(*n)++] = node;
}

size_t hs_workflow_grow_inputs(const hs_workflow *wf, const char **names, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < wf->ninputs; i++)
        wf_grow_input(wf, wf->input_names[i], names, &n, cap);
    /* Inputs read from data without a declaration. */
    for (size_t f = 0; f < wf->nfactors; f++)
        for (size_t k = 0; k < wf->factors[f].nsources; k++)
            wf_grow_input(wf, wf->factors[f].sources[k], names, &n, cap);
    return n;
}

bool hs_workflow_grow_path(const hs_workflow *wf, const hs_streamid *sid, char *path, size_t cap)
{
    if (hs_workflow_producer(wf, sid->name) >= 0)
        return false;
    int plate = wf_input_node_plate(wf, sid->name);
    if (plate < 0 || !wf->plates[plate].grow)
        return false;
    /* The chain from the root down to plate; the stream has exactly its keys. */
    int chain[HS_SID_MAX_PAIRS];
    size_t depth = 0;
    for (int x = plate; x >= 0 && depth < HS_SID_MAX_PAIRS; x = wf->plates[x].parent_idx)
        chain[depth++] = x;
    if (depth != sid->n_meta)
        return false;
    const hs_meta_tree *tree = wf->tree != NULL ? wf->tree : wf->meta;
    size_t len = 0;
    path[0] = '\0';
    for (size_t i = depth; i-- > 0;) {
        const hs_wf_plate *pl = &wf->plates[chain[i]];
        const char *value = hs_streamid_get(sid, pl->meta);
        if (value == NULL || (pl->match != NULL && fnmatch(pl->match, value, 0) != 0))
            return false;
        int w = snprintf(path + len, cap - len, "%s%s=%s", len ? "/" : "", pl->meta, value);
        if (w < 0 || (size_t)w >= cap - len)
            return false;
        len += (size_t)w;
        if (i == 0 || pl->grow)
            continue;
        if (pl->listed || pl->dynamic) {
            bool listed = false;
            for (size_t k = 0; k < pl->nvalues && !listed; k++)
                listed = strcmp(pl->values[k], value) == 0;
            if (!listed)
                return false;
        } else if (!hs_meta_has(tree, path)) {
            return false;
        }
    }
    return true;
}

void hs_workflow_set_tree(hs_workflow *wf, const hs_meta_tree *tree)
{
    wf->tree = tree;
}

size_t hs_workflow_declared_plates(const hs_workflow *wf)
{
    size_t n = 0;
    for (size_t i = 0; i < wf->nplates; i++)
        n += wf->plates[i].nmembers == 0;
    return n;
}

bool hs_workflow_uses_tree(const hs_workflow *wf)
{
    for (size_t i = 0; i < wf->nplates; i++) {
        const hs_wf_plate *pl = &wf->plates[i];
        if (pl->nmembers == 0 && !pl->dynamic && !pl->listed)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------ plate values */

void hs_pv_list_free(hs_pv *pvs, size_t n)
{
    for (size_t i = 0; pvs != NULL && i < n; i++) {
        for (size_t k = 0; k < pvs[i].n; k++) {
            hs_free(pvs[i].pairs[k].key);
            hs_free(pvs[i].pairs[k].value);
        }
        hs_free(pvs[i].pairs);
        hs_free(pvs[i].text);
    }
    hs_free(pvs);
}

/* Frees the pairs and text of one value (not the value itself). */
static void hs_pv_list_free_one(hs_pv *pv)
{
    for (size_t k = 0; k < pv->n; k++) {
        hs_free(pv->pairs[k].key);
        hs_free(pv->pairs[k].value);
    }
    hs_free(pv->pairs);
    hs_free(pv->text);
    memset(pv, 0, sizeof *pv);
}

static int pv_cmp(const void *a, const void *b)
{
    return strcmp(((const hs_meta_pair *)a)->key, ((const hs_meta_pair *)b)->key);
}

/* Builds a value: parent pairs plus (key, value), sorted, with its text. */
static int pv_make(const hs_pv *parent, const char *key, const char *value, hs_pv *out)
{
    memset(out, 0, sizeof *out);
    size_t n = (parent ? parent->n : 0) + (key ? 1 : 0);
    out->pairs = hs_calloc(n ? n : 1, sizeof *out->pairs);
    if (out->pairs == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; parent != NULL && i < parent->n; i++) {
        out->pairs[out->n].key = hs_strdup(parent->pairs[i].key);
        out->pairs[out->n].value = hs_strdup(parent->pairs[i].value);
        out->n++;
    }
    if (key != NULL) {
        out->pairs[out->n].key = hs_strdup(key);
        out->pairs[out->n].value = hs_strdup(value);
        out->n++;
    }
    qsort(out->pairs, out->n, sizeof *out->pairs, pv_cmp);
    hs_buf t;
    hs_buf_init(&t, 0);
    for (size_t i = 0; i < out->n; i++) {
        if (out->pairs[i].key == NULL || out->pairs[i].value == NULL) {
            hs_buf_free(&t);
            return HS_ERR_NOMEM;
        }
        hs_buf_printf(&t, "%s%s=%s", i ? "/" : "", out->pairs[i].key, out->pairs[i].value);
    }
    out->text = hs_strdup(hs_buf_cstr(&t));
    hs_buf_free(&t);
    return out->text ? HS_OK : HS_ERR_NOMEM;
}

static const struct hs_wf_dyn *wf_dyn_find(const hs_workflow *wf, int plate, const char *parent)
{
    for (size_t i = 0; i < wf->ndyn; i++)
        if (wf->dyn[i].plate == plate && strcmp(wf->dyn[i].parent, parent) == 0)
            return &wf->dyn[i];
    return NULL;
}

bool hs_pv_compatible(const hs_pv *a, const hs_pv *b)
{
    for (size_t i = 0; i < a->n; i++)
        for (size_t k = 0; k < b->n; k++)
            if (strcmp(a->pairs[i].key, b->pairs[k].key) == 0 &&
                strcmp(a->pairs[i].value, b->pairs[k].value) != 0)
                return false;
    return true;
}

/* The union of the pairs of two compatible values, sorted, with its text. */
static int pv_union(const hs_pv *a, const hs_pv *b, hs_pv *out)
{
    int rc = pv_make(a, NULL, NULL, out);
    for (size_t k = 0; rc == HS_OK && k < b->n; k++) {
        bool have = false;
        for (size_t i = 0; i < a->n && !have; i++)
            have = strcmp(a->pairs[i].key, b->pairs[k].key) == 0;
        if (have)
            continue;
        hs_pv next;
        rc = pv_make(out, b->pairs[k].key, b->pairs[k].value, &next);
        hs_pv_list_free_one(out);
        *out = next;
    }
    return rc;
}

/* A growing list of plate values. */
typedef struct pv_list {
    hs_pv *v; /* owned */
    size_t n, cap;
} pv_list;

/* Appends parent + (key, value); HS_OK or HS_ERR_NOMEM. */
static int pv_list_push(pv_list *l, const hs_pv *parent, const char *key, const char *value)
{
    if (hs_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v, 16) != HS_OK)
        return HS_ERR_NOMEM;
    int rc = pv_make(parent, key, value, &l->v[l->n]);
    l->n++; /* freed with the list even when incomplete */
    return rc;
}

/*
 * The text of a value's pairs ("k=v/k2=v2", as hs_pv text) keeping those
 * whose key is in keep (NULL: every key) and is not drop (NULL: none), into
 * out: what a value is looked up by in a wf_lists index.
 */
static int pv_key_text(const hs_pv *v, const wf_keyset *keep, const char *drop, hs_buf *out)
{
    hs_buf_reset(out);
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < v->n; i++) {
        const char *k = v->pairs[i].key;
        if ((keep != NULL && !wf_keys_has(keep, k)) || (drop != NULL && strcmp(k, drop) == 0))
            continue;
        rc = hs_buf_printf(out, "%s%s=%s", out->len > 0 ? "/" : "", k, v->pairs[i].value);
    }
    return rc == HS_OK ? hs_buf_error(out) : rc;
}

/*
 * Items 0..n-1 in lists by a text key, each list in the order its items
 * were added: wf_lists_first gives a key's first item + 1 (0: none), next[i]
 * the item after item i, + 1 (0 at the end). An index built in one pass
 * instead of a scan of every item per key (a fleet has 100,000 plate
 * values): a parent's children, a tree node's, the values a join matches.
 */
typedef struct wf_lists {
    hs_map by_key; /* key -> first item + 1 */
    size_t *next;  /* owned, one per item */
    size_t *last;  /* owned, scratch: the last item of the list an item starts */
} wf_lists;

static int wf_lists_init(wf_lists *l, size_t n)
{
    hs_map_init(&l->by_key);
    l->next = hs_calloc(n ? n : 1, sizeof *l->next);
    l->last = hs_calloc(n ? n : 1, sizeof *l->last);
    return l->next != NULL && l->last != NULL ? HS_OK : HS_ERR_NOMEM;
}

static void wf_lists_free(wf_lists *l)
{
    hs_map_free(&l->by_key);
    hs_free(l->next);
    hs_free(l->last);
    memset(l, 0, sizeof *l);
}

/* Appends item i (< n, each once) to the list of key. */
static int wf_lists_add(wf_lists *l, const char *key, size_t i)
{
    uintptr_t head = (uintptr_t)hs_map_get(&l->by_key, key);
    if (head == 0) {
        l->last[i] = i;
        return hs_map_put(&l->by_key, key, (void *)(uintptr_t)(i + 1), NULL);
    }
    l->next[l->last[head - 1]] = i + 1;
    l->last[head - 1] = i;
    return HS_OK;
}

/* The first item of key's list + 1, 0 when it has none. */
static size_t wf_lists_first(const wf_lists *l, const char *key)
{
    return (size_t)(uintptr_t)hs_map_get(&l->by_key, key);
}

/*
 * acc joined with vals on the keys they share into out (a hash join: vals
 * indexed by their pairs on the shared keys, then probed with each of acc;
 * no shared keys: the cartesian product).
 */
static int wf_join(const hs_pv *acc, size_t nacc, const wf_keyset *acc_keys, const hs_pv *vals,
                   size_t nv, const wf_keyset *val_keys, pv_list *out)
{
    wf_keyset shared = {{0}, 0};
    for (size_t i = 0; i < acc_keys->n; i++)
        if (wf_keys_has(val_keys, acc_keys->k[i]))
            wf_keys_add(&shared, acc_keys->k[i]);
    wf_lists by;
    hs_buf key;
    hs_buf_init(&key, 0);
    int rc = wf_lists_init(&by, nv);
    for (size_t k = 0; rc == HS_OK && k < nv; k++) {
        rc = pv_key_text(&vals[k], &shared, NULL, &key);
        if (rc == HS_OK)
            rc = wf_lists_add(&by, hs_buf_cstr(&key), k);
    }
    for (size_t i = 0; rc == HS_OK && i < nacc; i++) {
        rc = pv_key_text(&acc[i], &shared, NULL, &key);
        size_t k = rc == HS_OK ? wf_lists_first(&by, hs_buf_cstr(&key)) : 0;
        for (; rc == HS_OK && k != 0; k = by.next[k - 1]) {
            if (hs_grow(&out->v, &out->cap, out->n + 1, sizeof *out->v, 16) != HS_OK) {
                rc = HS_ERR_NOMEM;
                break;
            }
            rc = pv_union(&acc[i], &vals[k - 1], &out->v[out->n]);
            out->n++;
        }
    }
    hs_buf_free(&key);
    wf_lists_free(&by);
    return rc;
}

/* The values of a product plate: its members' values joined on the keys they share. */
static int wf_product_values(const hs_workflow *wf, const hs_wf_plate *pl, pv_list *out)
{
    hs_pv *acc = NULL;
    size_t nacc = 0;
    wf_keyset acc_keys = {{0}, 0};
    wf_keys_of(wf, pl->members[0], &acc_keys);
    int rc = hs_workflow_plate_values(wf, pl->members[0], &acc, &nacc);
    for (size_t m = 1; rc == HS_OK && m < pl->nmembers; m++) {
        hs_pv *vals = NULL;
        size_t nv = 0;
        wf_keyset val_keys = {{0}, 0};
        wf_keys_of(wf, pl->members[m], &val_keys);
        rc = hs_workflow_plate_values(wf, pl->members[m], &vals, &nv);
        pv_list next = {NULL, 0, 0};
        if (rc == HS_OK)
            rc = wf_join(acc, nacc, &acc_keys, vals, nv, &val_keys, &next);
        hs_pv_list_free(vals, nv);
        hs_pv_list_free(acc, nacc);
        acc = next.v;
        nacc = next.n;
        for (size_t i = 0; i < val_keys.n; i++)
            wf_keys_add(&acc_keys, val_keys.k[i]);
    }
    out->v = acc;
    out->n = out->cap = nacc;
    return rc;
}

/* The tree's nodes tagged with tag, in lists by their parent's plate value. */
static int wf_tree_kids_index(wf_lists *k, const hs_meta_tree *t, const char *tag)
{
    size_t n = hs_meta_count(t);
    int rc = wf_lists_init(k, n);
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        hs_meta_node m = hs_meta_at(t, i);
        if (strcmp(m.tag, tag) == 0)
            rc = wf_lists_add(k, m.parent_pv, i);
    }
    return rc;
}

int hs_workflow_plate_values(const hs_workflow *wf, int plate, hs_pv **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (plate < 0) {
        /* The global plate has one empty value. */
        *out = hs_calloc(1, sizeof **out);
        if (*out == NULL)
            return HS_ERR_NOMEM;
        *n = 1;
        return pv_make(NULL, NULL, NULL, &(*out)[0]);
    }
    const hs_wf_plate *pl = &wf->plates[plate];
    pv_list l = {NULL, 0, 0};
    if (pl->nmembers > 0) {
        int rc = wf_product_values(wf, pl, &l);
        if (rc != HS_OK) {
            hs_pv_list_free(l.v, l.n);
            return rc;
        }
        *out = l.v;
        *n = l.n;
        return HS_OK;
    }
    hs_pv *parents = NULL;
    size_t np = 0;
    int rc = hs_workflow_plate_values(wf, pl->parent_idx, &parents, &np);
    if (rc != HS_OK)
        return rc;
    /* From the tree: a plate that lists no values and that no factor creates. */
    const hs_meta_tree *tree = wf->tree != NULL ? wf->tree : wf->meta;
    bool from_tree = !pl->dynamic && !pl->listed;
    wf_lists kids = {0};
    if (rc == HS_OK && from_tree)
        rc = wf_tree_kids_index(&kids, tree, pl->meta);
    for (size_t i = 0; rc == HS_OK && i < np; i++) {
        if (from_tree) {
            size_t first = wf_lists_first(&kids, parents[i].text);
            for (size_t c = first; rc == HS_OK && c != 0; c = kids.next[c - 1]) {
                hs_meta_node m = hs_meta_at(tree, c - 1);
                if (pl->match == NULL || fnmatch(pl->match, m.value, 0) == 0)
                    rc = pv_list_push(&l, &parents[i], pl->meta, m.value);
            }
            continue;
        }
        const struct hs_wf_dyn *d = wf_dyn_find(wf, plate, parents[i].text);
        size_t own = pl->nvalues + (d ? d->n : 0);
        for (size_t k = 0; rc == HS_OK && k < own; k++) {
            const char *val = k < pl->nvalues ? pl->values[k] : d->values[k - pl->nvalues];
            if (pl->match == NULL || fnmatch(pl->match, val, 0) == 0)
                rc = pv_list_push(&l, &parents[i], pl->meta, val);
        }
    }
    if (from_tree)
        wf_lists_free(&kids);
    hs_pv_list_free(parents, np);
    if (rc != HS_OK) {
        hs_pv_list_free(l.v, l.n);
        return rc;
    }
    *out = l.v;
    *n = l.n;
    return HS_OK;
}

int hs_workflow_add_dynamic(hs_workflow *wf, int plate, const char *parent_text,
                            char *const *values, size_t n)
{
    if (plate < 0 || (size_t)plate >= wf->nplates)
        return hs_err_set(HS_ERR_INVAL, "no plate %d", plate);
    struct hs_wf_dyn *d = NULL;
    for (size_t i = 0; i < wf->ndyn; i++)
        if (wf->dyn[i].plate == plate && strcmp(wf->dyn[i].parent, parent_text) == 0)
            d = &wf->dyn[i];
    if (d == NULL) {
        struct hs_wf_dyn *nd = hs_realloc(wf->dyn, (wf->ndyn + 1) * sizeof *nd);
        if (nd == NULL)
            return HS_ERR_NOMEM;
        wf->dyn = nd;
        d = &wf->dyn[wf->ndyn];
        memset(d, 0, sizeof *d);
        d->plate = plate;
        d->parent = hs_strdup(parent_text);
        if (d->parent == NULL)
            return HS_ERR_NOMEM;
        wf->ndyn++;
    }
    const hs_wf_plate *pl = &wf->plates[plate];
    for (size_t i = 0; i < n; i++) {
        if (hs_streamid_check_part(values[i], strlen(values[i]), "value") != HS_OK)
            continue;
        bool have = false;
        for (size_t k = 0; k < pl->nvalues && !have; k++)
            have = strcmp(pl->values[k], values[i]) == 0;
        for (size_t k = 0; k < d->n && !have; k++)
            have = strcmp(d->values[k], values[i]) == 0;
        if (have)
            continue;
        char **nv = hs_realloc(d->values, (d->n + 1) * sizeof *nv);
        if (nv == NULL)
            return HS_ERR_NOMEM;
        d->values = nv;
        d->values[d->n] = hs_strdup(values[i]);
        if (d->values[d->n] == NULL)
            return HS_ERR_NOMEM;
        d->n++;
    }
    return HS_OK;
}

/* ------------------------------------------------------------------ units */

/* The stream of node with the pairs of pv whose keys belong to plate (and its ancestors). */
static int wf_stream(const hs_workflow *wf, const char *node, int plate, const hs_pv *pv,
                     hs_streamid **out)
{
    hs_meta_pair pairs[HS_SID_MAX_PAIRS];
    size_t n = 0;
    wf_keyset keys = {{0}, 0};
    wf_keys_of(wf, plate, &keys);
    for (size_t i = 0; pv != NULL && i < pv->n; i++)
        if (wf_keys_has(&keys, pv->pairs[i].key) && n < HS_SID_MAX_PAIRS)
            pairs[n++] = pv->pairs[i];
    return hs_streamid_create(out, node, pairs, n);
}

/* Whether value a extends value b (every pair of b is in a). */
static bool pv_extends(const hs_pv *a, const hs_pv *b)
{
    for (size_t i = 0; i < b->n; i++) {
        bool found = false;
        for (size_t k = 0; k < a->n && !found; k++)
            found = strcmp(a->pairs[k].key, b->pairs[i].key) == 0 &&
                    strcmp(a->pairs[k].value, b->pairs[i].value) == 0;
        if (!found)
            return false;
    }
    return true;
}

static int pv_copy(const hs_pv *src, hs_pv *dst)
{
    memset(dst, 0, sizeof *dst);
    dst->pairs = hs_calloc(src->n ? src->n : 1, sizeof *dst->pairs);
    dst->text = hs_strdup(src->text);
    if (dst->pairs == NULL || dst->text == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; i < src->n; i++) {
        dst->pairs[i].key = hs_strdup(src->pairs[i].key);
        dst->pairs[i].value = hs_strdup(src->pairs[i].value);
        dst->n++;
        if (dst->pairs[i].key == NULL || dst->pairs[i].value == NULL)
            return HS_ERR_NOMEM;
    }
    return HS_OK;
}

void hs_wf_units_free(hs_wf_unit *u, size_t n)
{
    for (size_t i = 0; u != NULL && i < n; i++) {
        for (size_t k = 0; k < u[i].nsources; k++)
            hs_streamid_destroy(u[i].sources[k]);
        hs_free(u[i].sources);
        for (size_t k = 0; k < u[i].nsinks; k++)
            hs_streamid_destroy(u[i].sinks[k]);
        hs_free(u[i].sinks);
        hs_streamid_destroy(u[i].alignment);
        hs_streamid_destroy(u[i].splitting);
        for (size_t k = 0; k < u[i].pv.n; k++) {
            hs_free(u[i].pv.pairs[k].key);
            hs_free(u[i].pv.pairs[k].value);
        }
        hs_free(u[i].pv.pairs);
        hs_free(u[i].pv.text);
    }
    hs_free(u);
}

/* Adds a stream to a growing list. */
static int wf_push_sid(hs_streamid ***list, size_t *n, hs_streamid *sid)
{
    hs_streamid **nl = hs_realloc(*list, (*n + 1) * sizeof *nl);
    if (nl == NULL) {
        hs_streamid_destroy(sid);
        return HS_ERR_NOMEM;
    }
    *list = nl;
    nl[(*n)++] = sid;
    return HS_OK;
}

static int wf_unit_aux(const hs_workflow *wf, const hs_wf_factor *f, const char *node,
                       const hs_pv *pv, hs_streamid **out)
{
    *out = NULL;
    if (node == NULL)
        return HS_OK;
    return wf_stream(wf, node, wf_aux_plate(wf, f, node), pv, out);
}

/*
 * The children of an aggregate's or selector's input plate in lists by
 * their parent value: the text of a child's pairs without its `over` pair.
 */
static int wf_children_index(wf_lists *k, const hs_pv *ch, size_t n, const char *over)
{
    hs_buf key;
    hs_buf_init(&key, 0);
    int rc = wf_lists_init(k, n);
    for (size_t c = 0; rc == HS_OK && c < n; c++) {
        rc = pv_key_text(&ch[c], NULL, over, &key);
        if (rc == HS_OK)
            rc = wf_lists_add(k, hs_buf_cstr(&key), c);
    }
    hs_buf_free(&key);
    return rc;
}

int hs_workflow_units(const hs_workflow *wf, size_t factor, hs_wf_unit **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (factor >= wf->nfactors)
        return hs_err_set(HS_ERR_INVAL, "no factor %zu", factor);
    const hs_wf_factor *f = &wf->factors[factor];
    int in_plate = f->in_plate;
    /* The unit runs per value of: the sink plate (plain, aggregate), the input plate
     * (multi-output, plate creation). */
    int unit_plate =
        f->def->kind == HS_TOOL_MULTI || f->def->kind == HS_TOOL_PLATE ? in_plate : f->sink_plate;
    hs_pv *pvs = NULL;
    size_t npv = 0;
    int rc = hs_workflow_plate_values(wf, unit_plate, &pvs, &npv);
    if (rc != HS_OK)
        return rc;
    hs_pv *children = NULL;
    size_t nch = 0;
    if (rc == HS_OK && (f->def->kind == HS_TOOL_AGGREGATE || f->def->kind == HS_TOOL_SELECTOR) &&
        in_plate >= 0)
        rc = hs_workflow_plate_values(wf, in_plate, &children, &nch);
    /* The children of each value: an index, not a scan of every child per value. */
    wf_lists kids = {0};
    if (rc == HS_OK && nch > 0)
        rc = wf_children_index(&kids, children, nch, f->over);
    hs_pv *outs = NULL;
    size_t nouts = 0;
    if (rc == HS_OK && f->def->kind == HS_TOOL_MULTI)
        rc = hs_workflow_plate_values(wf, f->sink_plate, &outs, &nouts);
    hs_wf_unit *u = hs_calloc(npv ? npv : 1, sizeof *u);
    if (u == NULL)
        rc = HS_ERR_NOMEM;
    size_t cnt = 0;
    for (size_t i = 0; rc == HS_OK && i < npv; i++) {
        hs_wf_unit *x = &u[cnt++];
        x->factor = factor;
        rc = pv_copy(&pvs[i], &x->pv);
        for (size_t k = 0; rc == HS_OK && k < f->nsources; k++) {
            const char *src = f->sources[k];
            int sp = wf_node_plate(wf, f, src);
            bool over_children =
                f->def->kind == HS_TOOL_AGGREGATE || f->def->kind == HS_TOOL_SELECTOR;
            if (over_children && sp == in_plate && sp >= 0) {
                /* Every child value below this value (its pairs and one `over` pair). */
                size_t first = nch > 0 ? wf_lists_first(&kids, pvs[i].text) : 0;
                for (size_t c = first; rc == HS_OK && c != 0; c = kids.next[c - 1]) {
                    hs_streamid *sid;
                    rc = wf_stream(wf, src, sp, &children[c - 1], &sid);
                    if (rc == HS_OK)
                        rc = wf_push_sid(&x->sources, &x->nsources, sid);
                }
                continue;
            }
            hs_streamid *sid;
            rc = wf_stream(wf, src, sp, &pvs[i], &sid);
            if (rc == HS_OK)
                rc = wf_push_sid(&x->sources, &x->nsources, sid);
        }
        if (rc == HS_OK)
            rc = wf_unit_aux(wf, f, f->alignment, &pvs[i], &x->alignment);
        if (rc == HS_OK)
            rc = wf_unit_aux(wf, f, f->splitting, &pvs[i], &x->splitting);
        if (rc != HS_OK)
            break;
        if (f->def->kind == HS_TOOL_AGGREGATE || f->def->kind == HS_TOOL_SELECTOR)
            x->output_meta = f->over;
        if (f->def->kind == HS_TOOL_MULTI) {
            x->output_meta = wf->plates[f->sink_plate].meta;
            for (size_t o = 0; rc == HS_OK && o < nouts; o++) {
                if (!pv_extends(&outs[o], &pvs[i]))
                    continue;
                hs_streamid *sid;
                rc = wf_stream(wf, f->sink, f->sink_plate, &outs[o], &sid);
                if (rc == HS_OK)
                    rc = wf_push_sid(&x->sinks, &x->nsinks, sid);
            }
        } else if (f->sink != NULL) {
            hs_streamid *sid;
            rc = wf_stream(wf, f->sink, f->sink_plate, &pvs[i], &sid);
            if (rc == HS_OK)
                rc = wf_push_sid(&x->sinks, &x->nsinks, sid);
        }
    }
    hs_pv_list_free(pvs, npv);
    hs_pv_list_free(children, nch);
    hs_pv_list_free(outs, nouts);
    wf_lists_free(&kids);
    if (rc != HS_OK) {
        hs_wf_units_free(u, cnt);
        return rc;
    }
    *out = u;
    *n = cnt;
    return HS_OK;
}

/* ------------------------------------------------------------------ output */

int hs_workflow_to_json(const hs_workflow *wf, hs_buf *out)
{
    hs_ynode *root = NULL;
    int rc = hs_yaml_parse(wf->text, strlen(wf->text), "workflow", &root, NULL);
    if (rc == HS_OK)
        rc = hs_ynode_to_json(root, out);
    hs_yaml_destroy(root);
    return rc;
}

static void dot_id(hs_buf *b, const char *s)
{
    hs_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            hs_buf_putc(b, '\\');
        hs_buf_putc(b, (uint8_t)*s);
    }
    hs_buf_putc(b, '"');
}

/* The plate of a node as drawn: its producer's sink plate, else the plate it is read on. */
static int dot_node_plate(const hs_workflow *wf, const char *node)
{
    int prod = hs_workflow_producer(wf, node);
    if (prod >= 0)
        return wf->factors[prod].sink_plate;
    for (size_t i = 0; i < wf->nfactors; i++) {
        const hs_wf_factor *f = &wf->factors[i];
        for (size_t k = 0; k < f->nsources; k++)
            if (strcmp(f->sources[k], node) == 0)
                return wf_node_plate(wf, f, node);
    }
    return -1;
}

static void dot_plate_open(const hs_workflow *wf, hs_buf *b, int plate, int depth)
{
    const hs_wf_plate *pl = &wf->plates[plate];
    hs_buf_printf(b, "%*ssubgraph \"cluster_%s\" {\n", depth * 2, "", pl->id);
    hs_buf_printf(b, "%*s  label=", depth * 2, "");
    hs_buf t;
    hs_buf_init(&t, 0);
    hs_buf_printf(&t, "%s: %s", pl->id, pl->meta ? pl->meta : "?");
    if (pl->nvalues > 0) {
        hs_buf_puts(&t, " = ");
        for (size_t i = 0; i < pl->nvalues && i < 6; i++)
            hs_buf_printf(&t, "%s%s", i ? ", " : "", pl->values[i]);
        if (pl->nvalues > 6)
            hs_buf_printf(&t, ", ... (%zu)", pl->nvalues);
    } else if (pl->dynamic) {
        hs_buf_puts(&t, " (from data)");
    }
    dot_id(b, hs_buf_cstr(&t));
    hs_buf_free(&t);
    hs_buf_printf(b, "; style=rounded; color=\"#4a6fa5\"; fontcolor=\"#4a6fa5\";\n");
}

static void dot_nodes_in(const hs_workflow *wf, hs_buf *b, int plate, int depth, char **names,
                         size_t nnames)
{
    for (size_t i = 0; i < nnames; i++) {
        if (dot_node_plate(wf, names[i]) != plate)
            continue;
        bool input = hs_workflow_producer(wf, names[i]) < 0;
        hs_buf_printf(b, "%*s", depth * 2, "");
        dot_id(b, names[i]);
        hs_buf_printf(b, " [shape=%s, style=filled, fillcolor=\"%s\"];\n",
                      input ? "cylinder" : "ellipse", input ? "#e8f0e0" : "#ffffff");
    }
    for (size_t c = 0; c < wf->nplates; c++) {
        if (wf->plates[c].parent_idx != plate)
            continue;
        dot_plate_open(wf, b, (int)c, depth);
        dot_nodes_in(wf, b, (int)c, depth + 1, names, nnames);
        hs_buf_printf(b, "%*s}\n", depth * 2, "");
    }
}

int hs_workflow_to_dot(const hs_workflow *wf, hs_buf *out)
{
    /* Every node name once. */
    char **names = hs_calloc(wf->nfactors * 4 + 1, sizeof *names);
    size_t nn = 0;
    if (names == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; i < wf->nfactors; i++) {
        const hs_wf_factor *f = &wf->factors[i];
        const char *cand[3] = {f->sink, f->alignment, f->splitting};
        for (size_t k = 0; k < f->nsources + 3; k++) {
            const char *c = k < f->nsources ? f->sources[k] : cand[k - f->nsources];
            if (c == NULL)
                continue;
            bool have = false;
            for (size_t x = 0; x < nn && !have; x++)
                have = strcmp(names[x], c) == 0;
            if (!have && nn < wf->nfactors * 4)
                names[nn++] = (char *)c;
        }
    }
    hs_buf_puts(out, "digraph ");
    dot_id(out, wf->id);
    hs_buf_puts(out, " {\n  rankdir=LR;\n  fontname=\"Helvetica\";\n"
                     "  node [fontname=\"Helvetica\", fontsize=11];\n"
                     "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n  label=");
    hs_buf t;
    hs_buf_init(&t, 0);
    hs_buf_printf(&t, "workflow %s%s%s", wf->id, wf->name ? ": " : "", wf->name ? wf->name : "");
    if (wf->online) {
        char e[HS_DURATION_MAX], a[HS_DURATION_MAX], z[HS_DURATION_MAX];
        hs_duration_format(wf->every_us, e);
        hs_duration_format(wf->window.start_us, a);
        hs_duration_format(wf->window.end_us, z);
        hs_buf_printf(&t, " (online every %s over [%s, %s])", e, a, z);
    }
    dot_id(out, hs_buf_cstr(&t));
    hs_buf_puts(out, "; labelloc=t;\n");
    dot_nodes_in(wf, out, -1, 1, names, nn);
    for (size_t i = 0; i < wf->nfactors; i++) {
        const hs_wf_factor *f = &wf->factors[i];
        hs_buf_reset(&t);
        hs_buf_printf(&t, "%s", f->tool);
        if (f->params_json && strcmp(f->params_json, "{}") != 0 && strlen(f->params_json) < 60)
            hs_buf_printf(&t, "\\n%s", f->params_json);
        if (f->over)
            hs_buf_printf(&t, "\\nover %s", f->over);
        /* A factor is a small box between its sources and its sink. */
        char fid[32];
        snprintf(fid, sizeof fid, "factor_%zu", i);
        hs_buf_printf(out, "  %s [shape=box, style=\"filled\", fillcolor=\"#f5d76e\", label=", fid);
        hs_buf_putc(out, '"');
        for (const char *p = hs_buf_cstr(&t); *p; p++) {
            if (*p == '"')
                hs_buf_putc(out, '\\');
            hs_buf_putc(out, (uint8_t)*p);
        }
        hs_buf_puts(out, "\"];\n");
        for (size_t k = 0; k < f->nsources; k++) {
            hs_buf_puts(out, "  ");
            dot_id(out, f->sources[k]);
            hs_buf_printf(out, " -> %s;\n", fid);
        }
        if (f->alignment) {
            hs_buf_puts(out, "  ");
            dot_id(out, f->alignment);
            hs_buf_printf(out, " -> %s [style=dashed, label=\"alignment\"];\n", fid);
        }
        if (f->splitting) {
            hs_buf_puts(out, "  ");
            dot_id(out, f->splitting);
            hs_buf_printf(out, " -> %s [style=dashed, label=\"splitting\"];\n", fid);
        }
        if (f->sink) {
            hs_buf_printf(out, "  %s -> ", fid);
            dot_id(out, f->sink);
            hs_buf_puts(out, ";\n");
        } else if (f->output_plate) {
            hs_buf_printf(out, "  %s -> \"cluster_%s_values\" [style=dotted, label=\"creates\"];\n",
                          fid, f->output_plate);
            hs_buf_printf(out, "  \"cluster_%s_values\" [shape=note, label=\"plate %s\"];\n",
                          f->output_plate, f->output_plate);
        }
    }
    hs_buf_puts(out, "}\n");
    int rc = hs_buf_error(out) != HS_OK ? hs_buf_error(out) : hs_buf_error(&t);
    hs_buf_free(&t);
    hs_free(names);
    return rc;
}
