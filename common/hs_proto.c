#include "hs_proto.h"

#include "hs_base64.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_store.h"
#include "hs_time.h"
#include "hs_utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decoded messages are small: their arenas start with chunks of this size. */
#define HS_PROTO_ARENA_CHUNK 4096

/* ------------------------------------------------------------------ encoding */

/*
 * An encoder that remembers its first error: every write after a failure is
 * a no-op, and the caller checks e.rc once at the end.
 */
typedef struct pe {
    hs_buf *b; /* borrowed */
    int rc;
} pe;

static void pe_map(pe *e, uint32_t n)
{
    if (e->rc == HS_OK)
        e->rc = hs_mp_put_map(e->b, n);
}

static void pe_array(pe *e, uint32_t n)
{
    if (e->rc == HS_OK)
        e->rc = hs_mp_put_array(e->b, n);
}

static void pe_s(pe *e, const char *s)
{
    if (e->rc == HS_OK)
        e->rc = hs_mp_put_cstr(e->b, s);
}

static void pe_int(pe *e, int64_t v)
{
    if (e->rc == HS_OK)
        e->rc = hs_mp_put_int(e->b, v);
}

static void pe_uint(pe *e, uint64_t v)
{
    if (e->rc == HS_OK)
        e->rc = hs_mp_put_uint(e->b, v);
}

static void pe_raw(pe *e, const uint8_t *p, size_t len)
{
    if (e->rc == HS_OK)
        e->rc = hs_mp_put_raw(e->b, p, len);
}

static void pe_nil(pe *e)
{
    if (e->rc == HS_OK)
        e->rc = hs_mp_put_nil(e->b);
}

/* key: string value */
static void pe_kstr(pe *e, const char *k, const char *v)
{
    pe_s(e, k);
    pe_s(e, v);
}

/* key: string value or nil */
static void pe_kstr_nil(pe *e, const char *k, const char *v)
{
    pe_s(e, k);
    if (v != NULL)
        pe_s(e, v);
    else
        pe_nil(e);
}

static void pe_kinterval(pe *e, const char *k, hs_interval iv)
{
    pe_s(e, k);
    pe_array(e, 2);
    pe_int(e, iv.start);
    pe_int(e, iv.end);
}

static void pe_kwseq(pe *e, const char *k, hs_proto_wseq w)
{
    pe_s(e, k);
    pe_array(e, 2);
    pe_uint(e, w.epoch);
    pe_uint(e, w.seq);
}

static const char *const trigger_names[] = {"request", "online", "late", "invalidate"};

const char *hs_proto_trigger_name(hs_proto_trigger t)
{
    return (size_t)t < sizeof trigger_names / sizeof trigger_names[0] ? trigger_names[t] : "?";
}

/* The optional job fields trigger (when not request) and wseq (when known); adds their count. */
static void pe_job_extras(pe *e, const hs_proto_job *j, uint32_t *n)
{
    if (j->trigger != HS_TRIGGER_REQUEST) {
        pe_kstr(e, "trigger", hs_proto_trigger_name(j->trigger));
        (*n)++;
    }
    if (j->wseq.epoch != 0) {
        pe_kwseq(e, "wseq", j->wseq);
        (*n)++;
    }
}

static uint32_t job_extras_count(const hs_proto_job *j)
{
    return (j->trigger != HS_TRIGGER_REQUEST) + (j->wseq.epoch != 0);
}

/*
 * Checks a job's units: every one has a plate value and a sink, and together
 * they share out exactly the job's sources and sinks.
 */
static int job_units_check(const hs_proto_job *j)
{
    if (j->nunits == 0)
        return HS_OK;
    if (j->units == NULL)
        return hs_err_set(HS_ERR_INVAL, "job message: units is NULL");
    if (j->output_plate != NULL || j->output_meta != NULL || j->splitting != NULL)
        return hs_err_set(HS_ERR_PARSE,
                          "job: units are for plain and aggregate tools (no output_plate, "
                          "output_meta or splitting)");
    uint64_t src = 0, snk = 0;
    for (size_t i = 0; i < j->nunits; i++) {
        if (j->units[i].pv == NULL || j->units[i].nsinks == 0)
            return hs_err_set(HS_ERR_PARSE, "job: unit %zu has no plate value or no sink", i);
        src += j->units[i].nsources;
        snk += j->units[i].nsinks;
    }
    if (src != j->nsources || snk != j->nsinks)
        return hs_err_set(HS_ERR_PARSE,
                          "job: its units have %" PRIu64 " sources and %" PRIu64
                          " sinks; the job has %zu and %zu",
                          src, snk, j->nsources, j->nsinks);
    if (strcmp(j->units[0].pv, j->pv) != 0)
        return hs_err_set(HS_ERR_PARSE, "job: pv is not the first unit's plate value");
    return HS_OK;
}

static void pe_kfactor(pe *e, uint32_t factor)
{
    char text[16];
    snprintf(text, sizeof text, "%" PRIu32, factor);
    pe_kstr(e, "factor", text);
}

static void pe_kstrs(pe *e, const char *k, const char *const *v, size_t n)
{
    if (n > UINT32_MAX && e->rc == HS_OK)
        e->rc = hs_err_set(HS_ERR_LIMIT, "%s: too many items", k);
    pe_s(e, k);
    pe_array(e, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        pe_s(e, v[i]);
}

/* The tool map {name, version, params}; params default to an empty map. */
static void pe_ktool(pe *e, const hs_proto_job *j)
{
    static const uint8_t empty_map = 0x80;
    pe_s(e, "tool");
    pe_map(e, 3);
    pe_kstr(e, "name", j->tool);
    pe_kstr(e, "version", j->version);
    pe_s(e, "params");
    if (j->params != NULL)
        pe_raw(e, j->params, j->params_len);
    else
        pe_raw(e, &empty_map, 1);
}

/* Checks what every encoder needs of a job header. */
static int pe_check_job(const hs_proto_job *j, bool with_sources)
{
    if (j->job == NULL || j->workflow == NULL || j->pv == NULL || j->tool == NULL ||
        j->version == NULL || j->binding == NULL || (j->nsinks > 0 && j->sinks == NULL) ||
        (with_sources && j->nsources > 0 && j->sources == NULL))
        return hs_err_set(HS_ERR_INVAL, "job message: a required field is NULL");
    if (j->interval.start >= j->interval.end)
        return hs_err_set(HS_ERR_INVAL, "job message: the interval is empty");
    if ((size_t)j->trigger >= sizeof trigger_names / sizeof trigger_names[0])
        return hs_err_set(HS_ERR_INVAL, "job message: unknown trigger");
    return HS_OK;
}

int hs_proto_job_encode(hs_buf *out, const hs_proto_job *j)
{
    int rc = pe_check_job(j, true);
    if (rc != HS_OK)
        return rc;
    if (j->nsources > UINT32_MAX || j->nunits > UINT32_MAX)
        return hs_err_set(HS_ERR_LIMIT, "job message: too many sources or units");
    if ((rc = job_units_check(j)) != HS_OK)
        return rc;
    uint32_t n = 14u + (j->request != NULL) + (j->output_plate != NULL) + job_extras_count(j) +
                 (j->nunits > 0);
    pe e = {out, HS_OK};
    pe_map(&e, n);
    pe_s(&e, "v");
    pe_uint(&e, HS_PROTO_VERSION);
    pe_kstr(&e, "job", j->job);
    pe_s(&e, "attempt");
    pe_uint(&e, j->attempt);
    pe_kstr(&e, "workflow", j->workflow);
    pe_kfactor(&e, j->factor);
    pe_kstr(&e, "pv", j->pv);
    pe_ktool(&e, j);
    pe_kstr(&e, "binding", j->binding);
    pe_kinterval(&e, "interval", j->interval);
    pe_s(&e, "sources");
    pe_array(&e, (uint32_t)j->nsources);
    for (size_t k = 0; k < j->nsources; k++) {
        pe_array(&e, 3);
        pe_s(&e, j->sources[k].sid);
        pe_int(&e, j->sources[k].from_us);
        pe_int(&e, j->sources[k].to_us);
    }
    pe_kstr_nil(&e, "alignment", j->alignment);
    pe_kstr_nil(&e, "splitting", j->splitting);
    pe_kstrs(&e, "sinks", j->sinks, j->nsinks);
    pe_kstr_nil(&e, "output_meta", j->output_meta);
    if (j->request != NULL)
        pe_kstr(&e, "request", j->request);
    if (j->output_plate != NULL)
        pe_kstr(&e, "output_plate", j->output_plate);
    uint32_t extras = 0;
    pe_job_extras(&e, j, &extras);
    if (j->nunits > 0) {
        pe_s(&e, "units");
        pe_array(&e, (uint32_t)j->nunits);
        for (size_t i = 0; i < j->nunits; i++) {
            pe_array(&e, 3);
            pe_s(&e, j->units[i].pv);
            pe_uint(&e, j->units[i].nsources);
            pe_uint(&e, j->units[i].nsinks);
        }
    }
    return e.rc;
}

/* ------------------------------------------------------------------ decoding */

/* A decoder over one msgpack value: the arena the copies go to, and names for errors. */
typedef struct pd {
    hs_mp_reader r;
    hs_arena *arena;  /* borrowed */
    const char *what; /* message name, for errors */
    const char *key;  /* the field being read, for errors */
} pd;

static int pd_bad(const pd *d, const char *expect)
{
    return hs_err_set(HS_ERR_PARSE, "%s: field '%s' is not %s", d->what, d->key, expect);
}

static int pd_nomem(void)
{
    return hs_err_set(HS_ERR_NOMEM, "out of memory decoding a message");
}

/* A string without NUL bytes, copied into the arena. */
static int pd_str(pd *d, const char **out)
{
    const char *s;
    uint32_t len;
    if (hs_mp_get_str(&d->r, &s, &len) != HS_OK)
        return pd_bad(d, "a string");
    if (memchr(s, '\0', len) != NULL)
        return pd_bad(d, "a string without NUL bytes");
    char *c = hs_arena_strndup(d->arena, s, len);
    if (c == NULL)
        return pd_nomem();
    *out = c;
    return HS_OK;
}

static int pd_nonempty(pd *d, const char **out)
{
    int rc = pd_str(d, out);
    if (rc == HS_OK && (*out)[0] == '\0')
        return pd_bad(d, "a non-empty string");
    return rc;
}

/* A string or nil (NULL). */
static int pd_str_nil(pd *d, const char **out)
{
    if (hs_mp_get_nil(&d->r) == HS_OK) {
        *out = NULL;
        return HS_OK;
    }
    return pd_str(d, out);
}

static int pd_uint(pd *d, uint64_t *v)
{
    return hs_mp_get_uint(&d->r, v) == HS_OK ? HS_OK : pd_bad(d, "a non-negative integer");
}

static int pd_int(pd *d, int64_t *v)
{
    return hs_mp_get_int(&d->r, v) == HS_OK ? HS_OK : pd_bad(d, "an integer");
}

static int pd_interval(pd *d, hs_interval *iv)
{
    uint32_t two;
    if (hs_mp_get_array(&d->r, &two) != HS_OK || two != 2 ||
        hs_mp_get_int(&d->r, &iv->start) != HS_OK || hs_mp_get_int(&d->r, &iv->end) != HS_OK ||
        iv->start >= iv->end)
        return pd_bad(d, "[start, end] with start < end");
    return HS_OK;
}

/* A writer commit [epoch, seq] with epoch > 0. */
static int pd_wseq(pd *d, hs_proto_wseq *w)
{
    uint32_t two;
    if (hs_mp_get_array(&d->r, &two) != HS_OK || two != 2 ||
        hs_mp_get_uint(&d->r, &w->epoch) != HS_OK || hs_mp_get_uint(&d->r, &w->seq) != HS_OK ||
        w->epoch == 0)
        return pd_bad(d, "[epoch, seq] with epoch > 0");
    return HS_OK;
}

/* The factor index, as decimal text without sign or leading zeros. */
static int pd_factor(pd *d, uint32_t *factor)
{
    const char *s;
    uint32_t len;
    if (hs_mp_get_str(&d->r, &s, &len) != HS_OK || len == 0 || len > 10 || (len > 1 && s[0] == '0'))
        return pd_bad(d, "a factor index as decimal text");
    uint64_t v = 0;
    for (uint32_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return pd_bad(d, "a factor index as decimal text");
        v = v * 10u + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return pd_bad(d, "a factor index below 2^32");
    *factor = (uint32_t)v;
    return HS_OK;
}

/* An array of strings, copied into the arena. */
static int pd_strs(pd *d, const char *const **out, size_t *n)
{
    uint32_t cnt;
    if (hs_mp_get_array(&d->r, &cnt) != HS_OK)
        return pd_bad(d, "an array of strings");
    const char **v = hs_arena_alloc(d->arena, (cnt ? cnt : 1) * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    for (uint32_t i = 0; i < cnt; i++) {
        int rc = pd_str(d, &v[i]);
        if (rc != HS_OK)
            return rc;
    }
    *out = v;
    *n = cnt;
    return HS_OK;
}

/* A raw value of the given type, borrowed. */
static int pd_raw(pd *d, hs_mp_type want, const char *expect, const uint8_t **p, size_t *len)
{
    hs_mp_type t;
    if (hs_mp_peek(&d->r, &t) != HS_OK || t != want || hs_mp_get_raw(&d->r, p, len) != HS_OK)
        return pd_bad(d, expect);
    return HS_OK;
}

static void pd_init(pd *d, hs_arena *a, const uint8_t *data, size_t len, const char *what)
{
    memset(d, 0, sizeof *d);
    hs_mp_reader_init(&d->r, data, len);
    d->arena = a;
    d->what = what;
}

/* ------------------------------------------------------------------ decoding by table */

/*
 * Every decoder is a table of its fields: the key, how its value is read,
 * and where in the decoded struct it goes. pd_map reads one map against one
 * or more tables, refusing unknown and duplicate keys and missing required
 * ones; what a table cannot say (cross-field rules) the decoder checks after.
 */
typedef enum pf_type {
    PF_STR,      /* const char *: a string, possibly empty */
    PF_NONEMPTY, /* const char *: a non-empty string */
    PF_STR_NIL,  /* const char *: a string, or nil for NULL */
    PF_UINT,     /* uint64_t */
    PF_INT,      /* int64_t */
    PF_BOOL,     /* bool */
    PF_DOUBLE,   /* double */
    PF_FACTOR,   /* uint32_t: a factor index as decimal text */
    PF_INTERVAL, /* hs_interval: [start, end] with start < end */
    PF_ISO,      /* int64_t: ISO-8601 time text */
    PF_OUTCOME,  /* hs_proto_outcome: ok, failed or stale */
    PF_STATE,    /* hs_proto_req_state: running, done, failed or cancelled */
    PF_SKIP,     /* any value, read elsewhere (the envelope) */
    PF_FN,       /* the field's own reader, fn */
} pf_type;

typedef struct pf {
    const char *key;
    pf_type type;
    size_t off;                  /* offset of the member in the struct */
    int (*fn)(pd *d, void *obj); /* PF_FN: reads the value into obj */
} pf;

/* One table, the struct its values go to, and what must be present. */
typedef struct pf_set {
    const pf *f;       /* borrowed */
    size_t n;          /* fields in f, at most 64 */
    void *obj;         /* borrowed */
    uint64_t required; /* bit i: f[i] must be present */
    uint64_t seen;     /* bit i: f[i] was read */
} pf_set;

#define BIT(i)        (UINT64_C(1) << (i))
#define PF_N(table)   (sizeof(table) / sizeof((table)[0]))
#define PF_ALL(table) (PF_N(table) == 64 ? ~UINT64_C(0) : BIT(PF_N(table)) - 1)

static const char *const outcome_names[] = {"ok", "failed", "stale"};
static const char *const req_state_names[] = {"running", "done", "failed", "cancelled"};

/* One of n names, as its index. */
static int pd_enum(pd *d, const char *const *names, size_t n, const char *expect, int *out)
{
    const char *s;
    uint32_t len;
    if (hs_mp_get_str(&d->r, &s, &len) != HS_OK)
        return pd_bad(d, expect);
    for (size_t i = 0; i < n; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
            *out = (int)i;
            return HS_OK;
        }
    }
    return pd_bad(d, expect);
}

/* An ISO-8601 time text as microseconds. */
static int pd_iso(pd *d, int64_t *t_us)
{
    const char *s;
    uint32_t len;
    if (hs_mp_get_str(&d->r, &s, &len) != HS_OK || hs_time_parse_iso(s, len, t_us) != HS_OK)
        return pd_bad(d, "an ISO-8601 time");
    return HS_OK;
}

/* Reads the value of field f into obj. */
static int pf_read(pd *d, const pf *f, void *obj)
{
    /* Tables of fields read elsewhere (PF_SKIP) have no struct. */
    void *p = obj != NULL ? (char *)obj + f->off : NULL;
    switch (f->type) {
    case PF_STR:
        return pd_str(d, p);
    case PF_NONEMPTY:
        return pd_nonempty(d, p);
    case PF_STR_NIL:
        return pd_str_nil(d, p);
    case PF_UINT:
        return pd_uint(d, p);
    case PF_INT:
        return pd_int(d, p);
    case PF_BOOL:
        return hs_mp_get_bool(&d->r, p) == HS_OK ? HS_OK : pd_bad(d, "true or false");
    case PF_DOUBLE:
        return hs_mp_get_number(&d->r, p) == HS_OK ? HS_OK : pd_bad(d, "a number");
    case PF_FACTOR:
        return pd_factor(d, p);
    case PF_INTERVAL:
        return pd_interval(d, p);
    case PF_ISO:
        return pd_iso(d, p);
    case PF_OUTCOME:
        return pd_enum(d, outcome_names, 3, "ok, failed or stale", p);
    case PF_STATE:
        return pd_enum(d, req_state_names, 4, "running, done, failed or cancelled", p);
    case PF_SKIP:
        return hs_mp_skip(&d->r) == HS_OK ? HS_OK : pd_bad(d, "a value");
    default:
        return f->fn(d, obj);
    }
}

/*
 * Reads a map at the reader against the tables of sets: every key must be in
 * one table, once; then every required field must have been read. d->what
 * names the map in errors.
 */
static int pd_map(pd *d, pf_set *sets, size_t nsets)
{
    uint32_t n;
    if (hs_mp_get_map(&d->r, &n) != HS_OK)
        return hs_err_set(HS_ERR_PARSE, "%s: not a map", d->what);
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        uint32_t kl;
        if (hs_mp_get_str(&d->r, &k, &kl) != HS_OK)
            return hs_err_set(HS_ERR_PARSE, "%s: a map key is not a string", d->what);
        const pf *f = NULL;
        pf_set *set = NULL;
        for (size_t s = 0; s < nsets && f == NULL; s++) {
            for (size_t x = 0; x < sets[s].n; x++) {
                if (strlen(sets[s].f[x].key) == kl && memcmp(sets[s].f[x].key, k, kl) == 0) {
                    f = &sets[s].f[x];
                    set = &sets[s];
                    break;
                }
            }
        }
        if (f == NULL)
            return hs_err_set(HS_ERR_PARSE, "%s: unknown field '%.*s'", d->what,
                              (int)(kl > 64 ? 64 : kl), k);
        uint64_t bit = BIT(f - set->f);
        if (set->seen & bit)
            return hs_err_set(HS_ERR_PARSE, "%s: field '%s' appears twice", d->what, f->key);
        set->seen |= bit;
        d->key = f->key;
        int rc = pf_read(d, f, set->obj);
        if (rc != HS_OK)
            return rc;
    }
    for (size_t s = 0; s < nsets; s++)
        for (size_t x = 0; x < sets[s].n; x++)
            if ((sets[s].required & BIT(x)) && !(sets[s].seen & BIT(x)))
                return hs_err_set(HS_ERR_PARSE, "%s: field '%s' is missing", d->what,
                                  sets[s].f[x].key);
    return HS_OK;
}

/* A whole message: one map and nothing after it. */
static int pd_message(pd *d, pf_set *sets, size_t nsets)
{
    int rc = pd_map(d, sets, nsets);
    if (rc == HS_OK && !hs_mp_at_end(&d->r))
        rc = hs_err_set(HS_ERR_PARSE, "%s: bytes after the map", d->what);
    return rc;
}

/* A nested map read as the value of the current field, against one table. */
static int pd_submap(pd *d, const pf *f, size_t n, void *obj, uint64_t required, const char *what)
{
    pf_set set = {f, n, obj, required, 0};
    const char *outer = d->what, *key = d->key;
    d->what = what;
    int rc = pd_map(d, &set, 1);
    d->what = outer;
    d->key = key;
    return rc;
}

/* A JSON object as a message (JSON is read through its msgpack form). */
static int pd_json_message(hs_arena *a, const char *json, size_t len, const char *what,
                           pf_set *sets, size_t nsets)
{
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    pd d;
    pd_init(&d, a, NULL, 0, what);
    int rc = hs_json_to_mpack(json, len, &tmp);
    if (rc == HS_ERR_NOMEM) {
        /* Not a fault of the document: a caller that keeps what does not decode must know. */
        rc = hs_err_set(HS_ERR_NOMEM, "%s: %s", what, hs_err_detail());
    } else if (rc != HS_OK) {
        rc = hs_err_set(HS_ERR_PARSE, "%s: not JSON: %s", what, hs_err_detail());
    } else {
        hs_mp_reader_init(&d.r, tmp.data, tmp.len);
        rc = pd_message(&d, sets, nsets);
    }
    hs_buf_free(&tmp);
    return rc;
}

/* A decoded message starts empty with its own arena, and ends the same way. */
static void pm_init(void *payload, size_t size, hs_arena *a)
{
    memset(payload, 0, size);
    hs_arena_init(a, HS_PROTO_ARENA_CHUNK, 0);
}

static void pm_free(void *payload, size_t size, hs_arena *a)
{
    hs_arena_free(a);
    memset(payload, 0, size);
}

/* "v": the protocol version, which must be this one. */
static int pd_version(pd *d, void *obj)
{
    (void)obj;
    uint64_t v;
    int rc = pd_uint(d, &v);
    if (rc == HS_OK && v != HS_PROTO_VERSION)
        return hs_err_set(HS_ERR_PARSE, "%s: protocol version %" PRIu64 " is not %d", d->what, v,
                          HS_PROTO_VERSION);
    return rc;
}

/* ------------------------------------------------------------------ job decoding */

/* Deepest nesting of a job's params: their JSON in the history record stays readable. */
#define HS_PROTO_PARAMS_DEPTH 32

/* Whether the encoded value at r nests at most depth levels of arrays and maps. */
static bool pd_depth_ok(hs_mp_reader *r, int depth)
{
    hs_mp_type t;
    uint32_t n;
    if (hs_mp_peek(r, &t) != HS_OK)
        return false;
    if (t != HS_MP_ARRAY && t != HS_MP_MAP)
        return hs_mp_skip(r) == HS_OK;
    if (depth == 0)
        return false;
    if (t == HS_MP_ARRAY ? hs_mp_get_array(r, &n) != HS_OK : hs_mp_get_map(r, &n) != HS_OK)
        return false;
    uint64_t items = t == HS_MP_MAP ? 2 * (uint64_t)n : n;
    for (uint64_t i = 0; i < items; i++)
        if (!pd_depth_ok(r, depth - 1))
            return false;
    return true;
}

/* The tool's params: a map (borrowed), nested at most HS_PROTO_PARAMS_DEPTH levels. */
static int pd_params(pd *d, void *obj)
{
    hs_proto_job *j = obj;
    int rc = pd_raw(d, HS_MP_MAP, "a map", &j->params, &j->params_len);
    hs_mp_reader pr;
    hs_mp_reader_init(&pr, j->params, j->params_len);
    if (rc == HS_OK && !pd_depth_ok(&pr, HS_PROTO_PARAMS_DEPTH))
        rc = pd_bad(d, "a map nested at most 32 levels deep");
    return rc;
}

static const pf tool_fields[] = {
    {"name", PF_NONEMPTY, offsetof(hs_proto_job, tool), NULL},
    {"version", PF_NONEMPTY, offsetof(hs_proto_job, version), NULL},
    {"params", PF_FN, 0, pd_params},
};

/* The tool map {name, version, params}. */
static int pd_tool(pd *d, void *obj)
{
    return pd_submap(d, tool_fields, PF_N(tool_fields), obj, PF_ALL(tool_fields), "job tool");
}

/* The job's sources: [[sid, from_us, to_us], ...] (a bare sid reads the job's interval). */
static int pd_sources(pd *d, void *obj)
{
    hs_proto_job *j = obj;
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) != HS_OK)
        return pd_bad(d, "an array of sources");
    hs_proto_source *v = hs_arena_alloc(d->arena, (n ? n : 1) * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    for (uint32_t i = 0; i < n; i++) {
        hs_mp_type t;
        uint32_t three;
        if (hs_mp_peek(&d->r, &t) != HS_OK)
            return pd_bad(d, "an array of sources");
        if (t == HS_MP_STR) {
            v[i].from_us = INT64_MIN; /* filled in once the interval is known */
            v[i].to_us = INT64_MIN;
            int rc = pd_nonempty(d, &v[i].sid);
            if (rc != HS_OK)
                return rc;
            continue;
        }
        if (hs_mp_get_array(&d->r, &three) != HS_OK || three != 3)
            return pd_bad(d, "[stream id, from_us, to_us] items");
        int rc = pd_nonempty(d, &v[i].sid);
        if (rc == HS_OK)
            rc = pd_int(d, &v[i].from_us);
        if (rc == HS_OK)
            rc = pd_int(d, &v[i].to_us);
        if (rc != HS_OK)
            return rc;
        if (v[i].from_us >= v[i].to_us)
            return pd_bad(d, "a list of sources with from_us < to_us");
    }
    j->sources = v;
    j->nsources = n;
    return HS_OK;
}

static int pd_sinks(pd *d, void *obj)
{
    hs_proto_job *j = obj;
    return pd_strs(d, &j->sinks, &j->nsinks);
}

static int pd_trigger(pd *d, void *obj)
{
    hs_proto_job *j = obj;
    const char *s;
    uint32_t len;
    if (hs_mp_get_str(&d->r, &s, &len) == HS_OK) {
        for (size_t i = 0; i < sizeof trigger_names / sizeof trigger_names[0]; i++) {
            if (strlen(trigger_names[i]) == len && memcmp(trigger_names[i], s, len) == 0) {
                j->trigger = (hs_proto_trigger)i;
                return HS_OK;
            }
        }
    }
    return pd_bad(d, "request, online, late or invalidate");
}

/* The job's units: [[pv, nsources, nsinks], ...], at least one. */
static int pd_units(pd *d, void *obj)
{
    hs_proto_job *j = obj;
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) != HS_OK || n == 0)
        return pd_bad(d, "a non-empty array of units");
    hs_proto_unit *v = hs_arena_alloc(d->arena, n * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t three;
        uint64_t ns, nk;
        if (hs_mp_get_array(&d->r, &three) != HS_OK || three != 3)
            return pd_bad(d, "[pv, nsources, nsinks] items");
        int rc = pd_str(d, &v[i].pv);
        if (rc == HS_OK)
            rc = pd_uint(d, &ns);
        if (rc == HS_OK)
            rc = pd_uint(d, &nk);
        if (rc != HS_OK)
            return rc;
        if (ns > UINT32_MAX || nk > UINT32_MAX)
            return pd_bad(d, "units with counts below 2^32");
        v[i].nsources = (uint32_t)ns;
        v[i].nsinks = (uint32_t)nk;
    }
    j->units = v;
    j->nunits = n;
    return HS_OK;
}

static int pd_job_wseq(pd *d, void *obj)
{
    hs_proto_job *j = obj;
    return pd_wseq(d, &j->wseq);
}

/* The job header, shared by job messages and job output parts. */
enum {
    JF_V,
    JF_JOB,
    JF_ATTEMPT,
    JF_WORKFLOW,
    JF_FACTOR,
    JF_PV,
    JF_TOOL,
    JF_BINDING,
    JF_INTERVAL,
    JF_SOURCES,
    JF_ALIGNMENT,
    JF_SPLITTING,
    JF_SINKS,
    JF_OUTPUT_META,
    JF_REQUEST,
    JF_OUTPUT_PLATE,
    JF_TRIGGER,
    JF_WSEQ,
    JF_UNITS,
};

static const pf job_fields[] = {
    [JF_V] = {"v", PF_FN, 0, pd_version},
    [JF_JOB] = {"job", PF_NONEMPTY, offsetof(hs_proto_job, job), NULL},
    [JF_ATTEMPT] = {"attempt", PF_UINT, offsetof(hs_proto_job, attempt), NULL},
    [JF_WORKFLOW] = {"workflow", PF_NONEMPTY, offsetof(hs_proto_job, workflow), NULL},
    [JF_FACTOR] = {"factor", PF_FACTOR, offsetof(hs_proto_job, factor), NULL},
    [JF_PV] = {"pv", PF_STR, offsetof(hs_proto_job, pv), NULL},
    [JF_TOOL] = {"tool", PF_FN, 0, pd_tool},
    [JF_BINDING] = {"binding", PF_NONEMPTY, offsetof(hs_proto_job, binding), NULL},
    [JF_INTERVAL] = {"interval", PF_INTERVAL, offsetof(hs_proto_job, interval), NULL},
    [JF_SOURCES] = {"sources", PF_FN, 0, pd_sources},
    [JF_ALIGNMENT] = {"alignment", PF_STR_NIL, offsetof(hs_proto_job, alignment), NULL},
    [JF_SPLITTING] = {"splitting", PF_STR_NIL, offsetof(hs_proto_job, splitting), NULL},
    [JF_SINKS] = {"sinks", PF_FN, 0, pd_sinks},
    [JF_OUTPUT_META] = {"output_meta", PF_STR_NIL, offsetof(hs_proto_job, output_meta), NULL},
    [JF_REQUEST] = {"request", PF_NONEMPTY, offsetof(hs_proto_job, request), NULL},
    [JF_OUTPUT_PLATE] = {"output_plate", PF_NONEMPTY, offsetof(hs_proto_job, output_plate), NULL},
    [JF_TRIGGER] = {"trigger", PF_FN, 0, pd_trigger},
    [JF_WSEQ] = {"wseq", PF_FN, 0, pd_job_wseq},
    [JF_UNITS] = {"units", PF_FN, 0, pd_units},
};

int hs_proto_job_decode(hs_proto_job_msg *m, const uint8_t *data, size_t len)
{
    pm_init(&m->job, sizeof m->job, &m->arena);
    hs_proto_job *j = &m->job;
    pf_set set = {job_fields, PF_N(job_fields), j,
                  BIT(JF_JOB) | BIT(JF_WORKFLOW) | BIT(JF_FACTOR) | BIT(JF_PV) | BIT(JF_TOOL) |
                      BIT(JF_BINDING) | BIT(JF_INTERVAL) | BIT(JF_SOURCES) | BIT(JF_SINKS),
                  0};
    pd d;
    pd_init(&d, &m->arena, data, len, "job");
    int rc = pd_message(&d, &set, 1);
    if (rc == HS_OK)
        rc = job_units_check(j);
    if (rc != HS_OK)
        return rc;
    /* Bare source ids are read over the job's interval. */
    hs_proto_source *src = (hs_proto_source *)j->sources;
    for (size_t k = 0; k < j->nsources; k++) {
        if (src[k].from_us == INT64_MIN && src[k].to_us == INT64_MIN) {
            src[k].from_us = j->interval.start;
            src[k].to_us = j->interval.end;
        }
    }
    return HS_OK;
}

void hs_proto_job_msg_free(hs_proto_job_msg *m)
{
    if (m != NULL)
        pm_free(&m->job, sizeof m->job, &m->arena);
}

long hs_proto_job_sink_index(const hs_proto_job *j, const char *sid)
{
    for (size_t k = 0; k < j->nsinks; k++)
        if (strcmp(j->sinks[k], sid) == 0)
            return (long)k;
    return -1;
}

/* ------------------------------------------------------------------ write requests */

static const char *const op_names[] = {"append",  "job",        "define",      "purge", "doc_put",
                                       "doc_del", "invalidate", "append_many", "docs"};

const char *hs_proto_op_name(hs_proto_op op)
{
    return (size_t)op < sizeof op_names / sizeof op_names[0] ? op_names[op] : "?";
}

int hs_proto_op_parse(const char *s, size_t len, hs_proto_op *op)
{
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++) {
        if (strlen(op_names[i]) == len && memcmp(op_names[i], s, len) == 0) {
            *op = (hs_proto_op)i;
            return HS_OK;
        }
    }
    return hs_err_set(HS_ERR_PARSE, "write request: unknown op '%.*s'", (int)(len > 32 ? 32 : len),
                      s);
}

int hs_proto_wreq_begin(hs_buf *out, uint64_t inc, uint64_t seq, hs_proto_op op, uint32_t nfields)
{
    if (nfields > UINT32_MAX - 4)
        return hs_err_set(HS_ERR_LIMIT, "write request: too many fields");
    pe e = {out, HS_OK};
    pe_map(&e, 4 + nfields);
    pe_s(&e, "v");
    pe_uint(&e, HS_PROTO_VERSION);
    pe_s(&e, "inc");
    pe_uint(&e, inc);
    pe_s(&e, "seq");
    pe_uint(&e, seq);
    pe_kstr(&e, "op", hs_proto_op_name(op));
    return e.rc;
}

int hs_proto_wreq_envelope(const uint8_t *data, size_t len, hs_proto_envelope *env)
{
    memset(env, 0, sizeof *env);
    hs_mp_reader r;
    hs_mp_reader_init(&r, data, len);
    uint32_t n;
    if (hs_mp_get_map(&r, &n) != HS_OK)
        return hs_err_set(HS_ERR_PARSE, "write request: not a msgpack map");
    bool have_v = false, have_inc = false, have_seq = false, have_op = false;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        uint32_t kl;
        if (hs_mp_get_str(&r, &k, &kl) != HS_OK)
            return hs_err_set(HS_ERR_PARSE, "write request: a map key is not a string");
        bool *have = NULL;
        int rc = HS_OK;
        if (kl == 1 && k[0] == 'v') {
            uint64_t v;
            have = &have_v;
            if (hs_mp_get_uint(&r, &v) != HS_OK || v != HS_PROTO_VERSION)
                rc = hs_err_set(HS_ERR_PARSE, "write request: 'v' is not %d", HS_PROTO_VERSION);
        } else if (kl == 3 && memcmp(k, "inc", 3) == 0) {
            have = &have_inc;
            if (hs_mp_get_uint(&r, &env->inc) != HS_OK)
                rc = hs_err_set(HS_ERR_PARSE, "write request: 'inc' is not a non-negative integer");
        } else if (kl == 3 && memcmp(k, "seq", 3) == 0) {
            have = &have_seq;
            if (hs_mp_get_uint(&r, &env->seq) != HS_OK || env->seq == 0)
                rc = hs_err_set(HS_ERR_PARSE, "write request: 'seq' is not a positive integer");
        } else if (kl == 2 && memcmp(k, "op", 2) == 0) {
            const char *s;
            uint32_t sl;
            have = &have_op;
            if (hs_mp_get_str(&r, &s, &sl) != HS_OK) {
                rc = hs_err_set(HS_ERR_PARSE, "write request: 'op' is not a string");
            } else {
                snprintf(env->op_text, sizeof env->op_text, "%.*s", (int)sl, s);
                if (hs_proto_op_parse(s, sl, &env->op) != HS_OK)
                    env->op = HS_OP_UNKNOWN;
            }
        } else if (hs_mp_skip(&r) != HS_OK) {
            rc = hs_err_set(HS_ERR_PARSE, "write request: truncated field value");
        }
        if (rc != HS_OK)
            return rc;
        if (have != NULL) {
            if (*have)
                return hs_err_set(HS_ERR_PARSE, "write request: field '%.*s' appears twice",
                                  (int)kl, k);
            *have = true;
        }
    }
    if (!hs_mp_at_end(&r))
        return hs_err_set(HS_ERR_PARSE, "write request: bytes after the map");
    if (!have_inc || !have_seq || !have_op)
        return hs_err_set(HS_ERR_PARSE, "request lacks inc, seq or op");
    env->data = data;
    env->len = len;
    return HS_OK;
}

int hs_proto_jobout_encode_fields(hs_buf *out, const hs_proto_jobout *o, uint32_t *nfields)
{
    const hs_proto_job *j = &o->hdr;
    int rc = pe_check_job(j, false);
    if (rc != HS_OK)
        return rc;
    if (o->parts == 0 || o->parts > 100000 || o->part >= o->parts || o->runtime == NULL ||
        o->runtime[0] == '\0' || o->duration_us < 0 || (o->noutputs > 0 && o->outputs == NULL) ||
        (o->nplate_values > 0 && o->plate_values == NULL))
        return hs_err_set(HS_ERR_INVAL, "job output: bad part, runtime, duration or lists");
    for (size_t k = 0; k < o->noutputs; k++)
        if (o->outputs[k].batch_len < 2 || o->outputs[k].batch[0] == 0x90)
            return hs_err_set(HS_ERR_INVAL, "job output: an empty batch for %s", o->outputs[k].sid);
    const char *error = o->error != NULL && o->error[0] != '\0' ? o->error : NULL;
    if (o->noutputs > UINT32_MAX)
        return hs_err_set(HS_ERR_LIMIT, "job output: too many outputs");
    pe e = {out, HS_OK};
    uint32_t n = 0;
    pe_kstr(&e, "job", j->job);
    pe_kstr(&e, "workflow", j->workflow);
    pe_kfactor(&e, j->factor);
    pe_kstr(&e, "pv", j->pv);
    pe_ktool(&e, j);
    pe_kstr(&e, "binding", j->binding);
    pe_kinterval(&e, "interval", j->interval);
    pe_kstrs(&e, "sinks", j->sinks, j->nsinks);
    pe_s(&e, "attempt");
    pe_uint(&e, j->attempt);
    pe_s(&e, "part");
    pe_uint(&e, o->part);
    pe_s(&e, "parts");
    pe_uint(&e, o->parts);
    pe_s(&e, "started_us");
    pe_int(&e, o->started_us);
    pe_s(&e, "duration_us");
    pe_int(&e, o->duration_us);
    pe_kstr(&e, "runtime", o->runtime);
    n = 14;
    if (j->request != NULL) {
        pe_kstr(&e, "request", j->request);
        n++;
    }
    if (j->output_plate != NULL) {
        pe_kstr(&e, "output_plate", j->output_plate);
        n++;
    }
    pe_job_extras(&e, j, &n);
    if (error != NULL) {
        pe_kstr(&e, "error", error);
        n++;
    } else if (o->has_plate_values) {
        pe_kstrs(&e, "plate_values", o->plate_values, o->nplate_values);
        n++;
    } else if (o->noutputs > 0) { /* a job that produced nothing has no outputs */
        pe_s(&e, "outputs");
        pe_array(&e, (uint32_t)o->noutputs);
        for (size_t k = 0; k < o->noutputs; k++) {
            pe_array(&e, 2);
            pe_s(&e, o->outputs[k].sid);
            pe_raw(&e, o->outputs[k].batch, o->outputs[k].batch_len);
        }
        n++;
    }
    if (e.rc == HS_OK)
        *nfields = n;
    return e.rc;
}

/*
 * The envelope's fields inside a request: read by hs_proto_wreq_envelope
 * already (a job output reads "v" with the job header first).
 */
static const pf envelope_fields[] = {
    {"v", PF_SKIP, 0, NULL},
    {"inc", PF_SKIP, 0, NULL},
    {"seq", PF_SKIP, 0, NULL},
    {"op", PF_SKIP, 0, NULL},
};

/* A part number or part count: at most 100000. */
static int pd_part(pd *d, uint32_t *out)
{
    uint64_t u;
    int rc = pd_uint(d, &u);
    if (rc == HS_OK && u > 100000)
        return pd_bad(d, "at most 100000");
    *out = (uint32_t)u;
    return rc;
}

static int pd_part_index(pd *d, void *obj)
{
    return pd_part(d, &((hs_proto_jobout *)obj)->part);
}

static int pd_part_count(pd *d, void *obj)
{
    return pd_part(d, &((hs_proto_jobout *)obj)->parts);
}

/* The tool's error; an empty one is no error (senders before this module wrote none). */
static int pd_job_error(pd *d, void *obj)
{
    hs_proto_jobout *o = obj;
    int rc = pd_str(d, &o->error);
    if (rc == HS_OK && o->error[0] == '\0')
        o->error = NULL;
    return rc;
}

static int pd_plate_values(pd *d, void *obj)
{
    hs_proto_jobout *o = obj;
    int rc = pd_strs(d, &o->plate_values, &o->nplate_values);
    o->has_plate_values = rc == HS_OK;
    return rc;
}

/* outputs: [[sid, batch], ...]. */
static int pd_outputs(pd *d, void *obj)
{
    hs_proto_jobout *o = obj;
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) != HS_OK)
        return pd_bad(d, "an array of [stream id, batch]");
    hs_proto_output *v = hs_arena_alloc(d->arena, (n ? n : 1) * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t two;
        if (hs_mp_get_array(&d->r, &two) != HS_OK || two != 2)
            return pd_bad(d, "an array of [stream id, batch]");
        int rc = pd_nonempty(d, &v[i].sid);
        if (rc == HS_OK)
            rc = pd_raw(d, HS_MP_ARRAY, "an array of [stream id, batch]", &v[i].batch,
                        &v[i].batch_len);
        if (rc != HS_OK)
            return rc;
    }
    o->outputs = v;
    o->noutputs = n;
    return HS_OK;
}

enum { OF_PART, OF_PARTS };

static const pf jobout_fields[] = {
    [OF_PART] = {"part", PF_FN, 0, pd_part_index},
    [OF_PARTS] = {"parts", PF_FN, 0, pd_part_count},
    {"started_us", PF_INT, offsetof(hs_proto_jobout, started_us), NULL},
    {"duration_us", PF_INT, offsetof(hs_proto_jobout, duration_us), NULL},
    {"runtime", PF_STR, offsetof(hs_proto_jobout, runtime), NULL},
    {"error", PF_FN, 0, pd_job_error},
    {"plate_values", PF_FN, 0, pd_plate_values},
    {"outputs", PF_FN, 0, pd_outputs},
};

int hs_proto_jobout_decode(hs_proto_jobout_msg *m, const hs_proto_envelope *env)
{
    pm_init(&m->out, sizeof m->out, &m->arena);
    hs_proto_jobout *o = &m->out;
    pf_set sets[] = {
        {job_fields, PF_N(job_fields), &o->hdr,
         BIT(JF_JOB) | BIT(JF_WORKFLOW) | BIT(JF_BINDING) | BIT(JF_INTERVAL) | BIT(JF_SINKS), 0},
        {jobout_fields, PF_N(jobout_fields), o, 0, 0},
        {envelope_fields, PF_N(envelope_fields), NULL, 0, 0},
    };
    pd d;
    pd_init(&d, &m->arena, env->data, env->len, "job output");
    int rc = pd_message(&d, sets, PF_N(sets));
    if (rc != HS_OK)
        return rc;
    if (sets[0].seen & BIT(JF_UNITS))
        return hs_err_set(HS_ERR_PARSE, "job output: units are not carried by output parts");
    if (!(sets[1].seen & BIT(OF_PARTS)))
        o->parts = 1;
    if (o->runtime == NULL)
        o->runtime = "";
    if (o->hdr.pv == NULL)
        o->hdr.pv = "";
    if (o->part >= o->parts)
        return hs_err_set(HS_ERR_PARSE,
                          "job output: part %" PRIu32 " of %" PRIu32 " is out of range", o->part,
                          o->parts);
    for (size_t k = 0; k < o->noutputs; k++)
        if (hs_proto_job_sink_index(&o->hdr, o->outputs[k].sid) < 0)
            return hs_err_set(HS_ERR_PARSE, "job output: output stream %s is not a sink of job %s",
                              o->outputs[k].sid, o->hdr.job);
    return HS_OK;
}

void hs_proto_jobout_msg_free(hs_proto_jobout_msg *m)
{
    if (m != NULL)
        pm_free(&m->out, sizeof m->out, &m->arena);
}

/* ------------------------------------------------------------------ other write requests */

int hs_proto_append_encode_fields(hs_buf *out, const hs_proto_append *a, uint32_t *nfields)
{
    if (a->stream == NULL || a->stream[0] == '\0' || a->data == NULL || a->data_len == 0)
        return hs_err_set(HS_ERR_INVAL, "append: stream and data are required");
    pe e = {out, HS_OK};
    pe_kstr(&e, "stream", a->stream);
    pe_s(&e, "data");
    pe_raw(&e, a->data, a->data_len);
    if (e.rc == HS_OK)
        *nfields = 2;
    return e.rc;
}

int hs_proto_append_many_encode_fields(hs_buf *out, const hs_proto_append_many *a,
                                       uint32_t *nfields)
{
    if (a->n == 0 || a->items == NULL || a->n > UINT32_MAX)
        return hs_err_set(HS_ERR_INVAL, "append_many: no list of streams");
    for (size_t i = 0; i < a->n; i++) {
        const hs_proto_append *it = &a->items[i];
        if (it->stream == NULL || it->stream[0] == '\0' || it->data == NULL || it->data_len == 0)
            return hs_err_set(HS_ERR_INVAL, "append_many: item %zu needs a stream and data", i);
    }
    pe e = {out, HS_OK};
    pe_s(&e, "streams");
    pe_array(&e, (uint32_t)a->n);
    for (size_t i = 0; i < a->n; i++) {
        pe_array(&e, 2);
        pe_s(&e, a->items[i].stream);
        pe_raw(&e, a->items[i].data, a->items[i].data_len);
    }
    if (e.rc == HS_OK)
        *nfields = 1;
    return e.rc;
}

int hs_proto_define_encode_fields(hs_buf *out, const hs_proto_define *d, uint32_t *nfields)
{
    if (d->n == 0 || d->items == NULL || d->n > UINT32_MAX)
        return hs_err_set(HS_ERR_INVAL, "define: no list of streams");
    for (size_t i = 0; i < d->n; i++) {
        const hs_proto_define_item *it = &d->items[i];
        if (it->sid == NULL || it->sid[0] == '\0' || it->kind < HS_STREAM_RAW ||
            it->kind > HS_STREAM_ASSET)
            return hs_err_set(HS_ERR_INVAL, "define: stream %zu has no id or an unknown kind", i);
        if (it->has_deps && ((it->nsources > 0 && it->sources == NULL) || it->lookback_us < 0 ||
                             it->max_lateness_us < 0 || it->nsources > UINT32_MAX))
            return hs_err_set(HS_ERR_INVAL, "define: stream %zu has bad dependencies", i);
        for (size_t k = 0; it->has_deps && k < it->nsources; k++)
            if (it->sources[k] == NULL || it->sources[k][0] == '\0')
                return hs_err_set(HS_ERR_INVAL, "define: stream %zu has an empty source", i);
    }
    pe e = {out, HS_OK};
    pe_s(&e, "streams");
    pe_array(&e, (uint32_t)d->n);
    for (size_t i = 0; i < d->n; i++) {
        const hs_proto_define_item *it = &d->items[i];
        pe_array(&e, it->has_deps ? 4 : 3);
        pe_s(&e, it->sid);
        pe_int(&e, it->kind);
        if (it->binding != NULL)
            pe_s(&e, it->binding);
        else
            pe_nil(&e);
        if (it->has_deps) {
            pe_map(&e, 3);
            pe_kstrs(&e, "sources", it->sources, it->nsources);
            pe_s(&e, "lookback_us");
            pe_int(&e, it->lookback_us);
            pe_s(&e, "max_lateness_us");
            pe_int(&e, it->max_lateness_us);
        }
    }
    if (e.rc == HS_OK)
        *nfields = 1;
    return e.rc;
}

int hs_proto_purge_encode_fields(hs_buf *out, const hs_proto_purge *p, uint32_t *nfields)
{
    if (p->stream == NULL || p->stream[0] == '\0')
        return hs_err_set(HS_ERR_INVAL, "purge: stream is required");
    if (p->has_before && p->remove)
        return hs_err_set(HS_ERR_INVAL, "purge: before and remove exclude each other");
    pe e = {out, HS_OK};
    pe_kstr(&e, "stream", p->stream);
    pe_s(&e, "remove");
    if (e.rc == HS_OK)
        e.rc = hs_mp_put_bool(out, p->remove);
    if (p->has_before) {
        pe_s(&e, "before");
        pe_int(&e, p->before_us);
    }
    if (e.rc == HS_OK)
        *nfields = p->has_before ? 3 : 2;
    return e.rc;
}

int hs_proto_invalidate_encode_fields(hs_buf *out, const hs_proto_invalidate *v, uint32_t *nfields)
{
    if (v->stream == NULL || v->stream[0] == '\0' || v->interval.start >= v->interval.end)
        return hs_err_set(HS_ERR_INVAL,
                          "invalidate: a stream and a non-empty interval are required");
    pe e = {out, HS_OK};
    pe_kstr(&e, "stream", v->stream);
    pe_kinterval(&e, "interval", v->interval);
    if (e.rc == HS_OK)
        *nfields = 2;
    return e.rc;
}

int hs_proto_doc_encode_fields(hs_buf *out, const hs_proto_doc *d, uint32_t *nfields)
{
    if (d->coll == NULL || d->key == NULL || d->coll[0] == '\0' || d->key[0] == '\0')
        return hs_err_set(HS_ERR_INVAL, "document: coll and key are required");
    pe e = {out, HS_OK};
    pe_kstr(&e, "coll", d->coll);
    pe_kstr(&e, "key", d->key);
    if (d->json != NULL)
        pe_kstr(&e, "json", d->json);
    if (e.rc == HS_OK)
        *nfields = d->json != NULL ? 3 : 2;
    return e.rc;
}

int hs_proto_docs_encode_fields(hs_buf *out, const hs_proto_docs *d, uint32_t *nfields)
{
    if (d->n == 0 || d->items == NULL || d->n > UINT32_MAX)
        return hs_err_set(HS_ERR_INVAL, "docs: no list of documents");
    for (size_t i = 0; i < d->n; i++) {
        const hs_proto_doc *it = &d->items[i];
        if (it->coll == NULL || it->key == NULL || it->coll[0] == '\0' || it->key[0] == '\0')
            return hs_err_set(HS_ERR_INVAL, "docs: item %zu needs coll and key", i);
    }
    pe e = {out, HS_OK};
    pe_s(&e, "docs");
    pe_array(&e, (uint32_t)d->n);
    for (size_t i = 0; i < d->n; i++) {
        pe_array(&e, 3);
        pe_s(&e, d->items[i].coll);
        pe_s(&e, d->items[i].key);
        if (d->items[i].json != NULL)
            pe_s(&e, d->items[i].json);
        else
            pe_nil(&e);
    }
    if (e.rc == HS_OK)
        *nfields = 1;
    return e.rc;
}

static int pd_dep_sources(pd *d, void *obj)
{
    hs_proto_define_item *it = obj;
    return pd_strs(d, &it->sources, &it->nsources);
}

static int pd_nonneg(pd *d, int64_t *v)
{
    int rc = pd_int(d, v);
    return rc == HS_OK && *v < 0 ? pd_bad(d, "a non-negative integer") : rc;
}

static int pd_dep_lookback(pd *d, void *obj)
{
    return pd_nonneg(d, &((hs_proto_define_item *)obj)->lookback_us);
}

static int pd_dep_max_lateness(pd *d, void *obj)
{
    return pd_nonneg(d, &((hs_proto_define_item *)obj)->max_lateness_us);
}

static const pf dep_fields[] = {
    {"sources", PF_FN, 0, pd_dep_sources},
    {"lookback_us", PF_FN, 0, pd_dep_lookback},
    {"max_lateness_us", PF_FN, 0, pd_dep_max_lateness},
};

/* define's streams: [[id, kind, binding or nil, deps?], ...]. */
static int pd_define(pd *d, void *obj)
{
    hs_proto_define *def = obj;
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) != HS_OK)
        return pd_bad(d, "an array of [id, kind, binding]");
    hs_proto_define_item *v = hs_arena_alloc(d->arena, (n ? n : 1) * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t three;
        int64_t kind;
        memset(&v[i], 0, sizeof v[i]);
        if (hs_mp_get_array(&d->r, &three) != HS_OK || (three != 3 && three != 4))
            return hs_err_set(HS_ERR_PARSE, "stream definition %u is not [id, kind, binding]", i);
        int rc = pd_nonempty(d, &v[i].sid);
        if (rc != HS_OK)
            return rc;
        if (hs_mp_get_int(&d->r, &kind) != HS_OK || kind < HS_STREAM_RAW || kind > HS_STREAM_ASSET)
            return hs_err_set(HS_ERR_PARSE, "stream definition %u is not [id, kind, binding]", i);
        v[i].kind = (int)kind;
        if (pd_str_nil(d, &v[i].binding) != HS_OK)
            return hs_err_set(HS_ERR_PARSE, "stream definition %u: binding is not a string", i);
        if (three == 4) {
            rc = pd_submap(d, dep_fields, PF_N(dep_fields), &v[i], PF_ALL(dep_fields),
                           "stream dependencies");
            if (rc != HS_OK)
                return rc;
            v[i].has_deps = true;
        }
    }
    def->items = v;
    def->n = n;
    return HS_OK;
}

/* append's data: a batch [[t_us, v], ...] or one [t_us, v], borrowed. */
static int pd_append_data(pd *d, void *obj)
{
    hs_proto_append *a = obj;
    return pd_raw(d, HS_MP_ARRAY, "an array of instances", &a->data, &a->data_len);
}

static const pf append_fields[] = {
    {"stream", PF_NONEMPTY, offsetof(hs_proto_append, stream), NULL},
    {"data", PF_FN, 0, pd_append_data},
};

/* append_many's streams: [[stream, data], ...], at least one. */
static int pd_append_many(pd *d, void *obj)
{
    hs_proto_append_many *a = obj;
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) != HS_OK || n == 0)
        return pd_bad(d, "a non-empty array of [stream, data]");
    hs_proto_append *v = hs_arena_alloc(d->arena, n * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t two;
        if (hs_mp_get_array(&d->r, &two) != HS_OK || two != 2)
            return pd_bad(d, "[stream, data] items");
        int rc = pd_nonempty(d, &v[i].stream);
        if (rc == HS_OK)
            rc = pd_append_data(d, &v[i]);
        if (rc != HS_OK)
            return rc;
    }
    a->items = v;
    a->n = n;
    return HS_OK;
}

/* docs: [[coll, key, json or nil], ...], at least one. */
static int pd_docs(pd *d, void *obj)
{
    hs_proto_docs *a = obj;
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) != HS_OK || n == 0 || n > hs_mp_remaining(&d->r))
        return pd_bad(d, "a non-empty array of [coll, key, json or nil]");
    hs_proto_doc *v = hs_arena_alloc(d->arena, n * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t three;
        if (hs_mp_get_array(&d->r, &three) != HS_OK || three != 3)
            return pd_bad(d, "[coll, key, json or nil] items");
        int rc = pd_nonempty(d, &v[i].coll);
        if (rc == HS_OK)
            rc = pd_nonempty(d, &v[i].key);
        if (rc != HS_OK)
            return rc;
        hs_mp_type t;
        if (hs_mp_peek(&d->r, &t) == HS_OK && t == HS_MP_NIL) {
            (void)hs_mp_get_nil(&d->r);
            v[i].json = NULL;
        } else if ((rc = pd_str(d, &v[i].json)) != HS_OK) {
            return rc;
        }
    }
    a->items = v;
    a->n = n;
    return HS_OK;
}

static const pf docs_fields[] = {
    {"docs", PF_FN, 0, pd_docs},
};

static const pf append_many_fields[] = {
    {"streams", PF_FN, 0, pd_append_many},
};

static const pf define_fields[] = {
    {"streams", PF_FN, 0, pd_define},
};

static const pf purge_fields[] = {
    {"stream", PF_NONEMPTY, offsetof(hs_proto_purge, stream), NULL},
    {"remove", PF_BOOL, offsetof(hs_proto_purge, remove), NULL},
    {"before", PF_INT, offsetof(hs_proto_purge, before_us), NULL},
};

static const pf invalidate_fields[] = {
    {"stream", PF_NONEMPTY, offsetof(hs_proto_invalidate, stream), NULL},
    {"interval", PF_INTERVAL, offsetof(hs_proto_invalidate, interval), NULL},
};

/* doc_put's fields; doc_del has the first two. */
static const pf doc_fields[] = {
    {"coll", PF_NONEMPTY, offsetof(hs_proto_doc, coll), NULL},
    {"key", PF_NONEMPTY, offsetof(hs_proto_doc, key), NULL},
    {"json", PF_STR, offsetof(hs_proto_doc, json), NULL},
};

int hs_proto_wreq_decode(hs_proto_wreq_msg *m, const hs_proto_envelope *env)
{
    pm_init(&m->u, sizeof m->u, &m->arena);
    m->op = env->op;
    pf_set sets[2] = {{envelope_fields, PF_N(envelope_fields), NULL, 0, 0}};
    switch (env->op) {
    case HS_OP_APPEND:
        sets[1] =
            (pf_set){append_fields, PF_N(append_fields), &m->u.append, PF_ALL(append_fields), 0};
        break;
    case HS_OP_APPEND_MANY:
        sets[1] = (pf_set){append_many_fields, PF_N(append_many_fields), &m->u.append_many,
                           PF_ALL(append_many_fields), 0};
        break;
    case HS_OP_DEFINE:
        sets[1] =
            (pf_set){define_fields, PF_N(define_fields), &m->u.define, PF_ALL(define_fields), 0};
        break;
    case HS_OP_PURGE:
        sets[1] = (pf_set){purge_fields, PF_N(purge_fields), &m->u.purge, BIT(0), 0};
        break;
    case HS_OP_INVALIDATE:
        sets[1] = (pf_set){invalidate_fields, PF_N(invalidate_fields), &m->u.invalidate,
                           PF_ALL(invalidate_fields), 0};
        break;
    case HS_OP_DOCS:
        sets[1] = (pf_set){docs_fields, PF_N(docs_fields), &m->u.docs, PF_ALL(docs_fields), 0};
        break;
    case HS_OP_DOC_PUT:
    case HS_OP_DOC_DEL: {
        size_t n = env->op == HS_OP_DOC_PUT ? 3 : 2;
        sets[1] = (pf_set){doc_fields, n, &m->u.doc, BIT(n) - 1, 0};
        break;
    }
    default:
        return hs_err_set(HS_ERR_INVAL, "write request: op '%s' has no decoder here", env->op_text);
    }
    pd d;
    pd_init(&d, &m->arena, env->data, env->len, hs_proto_op_name(env->op));
    int rc = pd_message(&d, sets, 2);
    if (rc == HS_OK && env->op == HS_OP_PURGE) {
        m->u.purge.has_before = (sets[1].seen & BIT(2)) != 0;
        if (m->u.purge.has_before && m->u.purge.remove)
            rc = hs_err_set(HS_ERR_PARSE, "purge: before and remove exclude each other");
    }
    return rc;
}

void hs_proto_wreq_msg_free(hs_proto_wreq_msg *m)
{
    if (m != NULL)
        pm_free(&m->u, sizeof m->u, &m->arena);
}

/* ------------------------------------------------------------------ acknowledgements */

int hs_proto_ack_item_encode(hs_buf *items, const hs_proto_ack_item *it)
{
    bool ok = it->status == HS_ACK_OK;
    if ((unsigned)it->status > HS_ACK_STALE)
        return hs_err_set(HS_ERR_INVAL, "acknowledgement: unknown status %d", (int)it->status);
    if (!ok && (it->reason == NULL || it->reason[0] == '\0'))
        return hs_err_set(HS_ERR_INVAL, "acknowledgement: a refusal needs a reason");
    if (it->seq == 0)
        return hs_err_set(HS_ERR_INVAL, "acknowledgement: seq 0");
    pe e = {items, HS_OK};
    pe_array(&e, ok ? 5 : 6);
    pe_uint(&e, it->seq);
    pe_uint(&e, (uint64_t)it->status);
    pe_uint(&e, it->inserted);
    pe_uint(&e, it->duplicates);
    pe_uint(&e, it->conflicts);
    if (!ok)
        pe_s(&e, it->reason);
    return e.rc;
}

int hs_proto_ack_encode(hs_buf *out, uint64_t inc, const uint8_t *items, size_t items_len,
                        uint32_t nitems)
{
    if (nitems == 0)
        return hs_err_set(HS_ERR_INVAL, "acknowledgement: no items");
    pe e = {out, HS_OK};
    pe_map(&e, 3);
    pe_s(&e, "v");
    pe_uint(&e, HS_PROTO_VERSION);
    pe_s(&e, "inc");
    pe_uint(&e, inc);
    pe_s(&e, "acks");
    pe_array(&e, nitems);
    pe_raw(&e, items, items_len);
    return e.rc;
}

static int pd_ack_items(pd *d, void *obj)
{
    hs_proto_ack *a = obj;
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) != HS_OK || n == 0)
        return pd_bad(d, "a non-empty array");
    hs_proto_ack_item *v = hs_arena_alloc(d->arena, n * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        uint64_t status;
        memset(&v[i], 0, sizeof v[i]);
        if (hs_mp_get_array(&d->r, &len) != HS_OK || (len != 5 && len != 6) ||
            hs_mp_get_uint(&d->r, &v[i].seq) != HS_OK || v[i].seq == 0 ||
            hs_mp_get_uint(&d->r, &status) != HS_OK || status > HS_ACK_STALE ||
            (status == HS_ACK_OK) != (len == 5) || hs_mp_get_uint(&d->r, &v[i].inserted) != HS_OK ||
            hs_mp_get_uint(&d->r, &v[i].duplicates) != HS_OK ||
            hs_mp_get_uint(&d->r, &v[i].conflicts) != HS_OK)
            return pd_bad(d, "[seq, 0, inserted, duplicates, conflicts] or [seq, status, "
                             "inserted, duplicates, conflicts, reason] items");
        v[i].status = (hs_proto_ack_status)status;
        if (len == 6) {
            int rc = pd_nonempty(d, &v[i].reason);
            if (rc != HS_OK)
                return rc;
        }
    }
    a->items = v;
    a->nitems = n;
    return HS_OK;
}

static const pf ack_fields[] = {
    {"v", PF_FN, 0, pd_version},
    {"inc", PF_UINT, offsetof(hs_proto_ack, inc), NULL},
    {"acks", PF_FN, 0, pd_ack_items},
};

int hs_proto_ack_decode(hs_proto_ack_msg *m, const uint8_t *data, size_t len)
{
    pm_init(&m->ack, sizeof m->ack, &m->arena);
    pf_set set = {ack_fields, PF_N(ack_fields), &m->ack, BIT(1) | BIT(2), 0};
    pd d;
    pd_init(&d, &m->arena, data, len, "acknowledgement");
    return pd_message(&d, &set, 1);
}

void hs_proto_ack_msg_free(hs_proto_ack_msg *m)
{
    if (m != NULL)
        pm_free(&m->ack, sizeof m->ack, &m->arena);
}

/* ------------------------------------------------------------------ commit notices */

const char *hs_proto_outcome_name(hs_proto_outcome o)
{
    return (size_t)o < 3 ? outcome_names[o] : "?";
}

int hs_proto_committed_encode(hs_buf *out, const hs_proto_committed *c)
{
    if (c->job == NULL || c->workflow == NULL || c->pv == NULL || (size_t)c->outcome > 2)
        return hs_err_set(HS_ERR_INVAL, "commit notice: a required field is NULL");
    const char *error = c->error != NULL ? c->error : "";
    if ((c->outcome == HS_OUTCOME_OK) != (error[0] == '\0'))
        return hs_err_set(HS_ERR_INVAL, "commit notice: an error goes with a failure only");
    bool pvs = c->has_plate_values && c->outcome == HS_OUTCOME_OK;
    pe e = {out, HS_OK};
    pe_map(&e, 8u + (c->request != NULL) + pvs + (c->wseq.epoch != 0) + c->recompute);
    pe_kstr(&e, "job", c->job);
    pe_kstr(&e, "workflow", c->workflow);
    pe_kfactor(&e, c->factor);
    pe_kstr(&e, "pv", c->pv);
    pe_kinterval(&e, "interval", c->interval);
    pe_kstr(&e, "outcome", hs_proto_outcome_name(c->outcome));
    pe_s(&e, "count");
    pe_uint(&e, c->count);
    pe_kstr(&e, "error", error);
    if (c->request != NULL)
        pe_kstr(&e, "request", c->request);
    if (pvs)
        pe_kstrs(&e, "plate_values", c->plate_values, c->nplate_values);
    if (c->wseq.epoch != 0)
        pe_kwseq(&e, "wseq", c->wseq);
    if (c->recompute) {
        pe_s(&e, "recompute");
        if (e.rc == HS_OK)
            e.rc = hs_mp_put_bool(e.b, true);
    }
    return e.rc;
}

static int pd_committed_wseq(pd *d, void *obj)
{
    return pd_wseq(d, &((hs_proto_committed *)obj)->wseq);
}

static int pd_committed_plate_values(pd *d, void *obj)
{
    hs_proto_committed *c = obj;
    int rc = pd_strs(d, &c->plate_values, &c->nplate_values);
    c->has_plate_values = rc == HS_OK;
    return rc;
}

static const pf committed_fields[] = {
    {"job", PF_NONEMPTY, offsetof(hs_proto_committed, job), NULL},
    {"workflow", PF_NONEMPTY, offsetof(hs_proto_committed, workflow), NULL},
    {"factor", PF_FACTOR, offsetof(hs_proto_committed, factor), NULL},
    {"pv", PF_STR, offsetof(hs_proto_committed, pv), NULL},
    {"interval", PF_INTERVAL, offsetof(hs_proto_committed, interval), NULL},
    {"outcome", PF_OUTCOME, offsetof(hs_proto_committed, outcome), NULL},
    {"count", PF_UINT, offsetof(hs_proto_committed, count), NULL},
    {"error", PF_STR, offsetof(hs_proto_committed, error), NULL},
    {"request", PF_NONEMPTY, offsetof(hs_proto_committed, request), NULL},
    {"plate_values", PF_FN, 0, pd_committed_plate_values},
    {"wseq", PF_FN, 0, pd_committed_wseq},
    {"recompute", PF_BOOL, offsetof(hs_proto_committed, recompute), NULL},
};

int hs_proto_committed_decode(hs_proto_committed_msg *m, const uint8_t *data, size_t len)
{
    pm_init(&m->c, sizeof m->c, &m->arena);
    hs_proto_committed *c = &m->c;
    pf_set set = {committed_fields, PF_N(committed_fields), c, BIT(8) - 1, 0};
    pd d;
    pd_init(&d, &m->arena, data, len, "commit notice");
    int rc = pd_message(&d, &set, 1);
    if (rc != HS_OK)
        return rc;
    if ((c->outcome == HS_OUTCOME_OK) != (c->error[0] == '\0'))
        return hs_err_set(HS_ERR_PARSE, "commit notice: 'error' must be empty exactly when "
                                        "'outcome' is ok");
    if (c->has_plate_values && c->outcome != HS_OUTCOME_OK)
        return hs_err_set(HS_ERR_PARSE, "commit notice: plate values of a failed job");
    return HS_OK;
}

void hs_proto_committed_msg_free(hs_proto_committed_msg *m)
{
    if (m != NULL)
        pm_free(&m->c, sizeof m->c, &m->arena);
}

/* ------------------------------------------------------------------ history records */

/* A JSON encoder that remembers its first error, like pe. */
typedef struct je {
    hs_buf *b;
    int rc;
} je;

static void je_raw(je *e, const char *s)
{
    if (e->rc == HS_OK)
        e->rc = hs_buf_puts(e->b, s);
}

/* ,"key":"value" (first: no comma) */
static void je_kstr(je *e, const char *k, const char *v, bool first)
{
    if (e->rc != HS_OK)
        return;
    e->rc = hs_buf_printf(e->b, "%s\"%s\":", first ? "" : ",", k);
    if (e->rc == HS_OK)
        e->rc = hs_json_put_string(e->b, v, strlen(v));
}

/* "value" as an array item (first: no comma) */
static void je_str(je *e, const char *v, bool first)
{
    if (e->rc == HS_OK && !first)
        e->rc = hs_buf_putc(e->b, ',');
    if (e->rc == HS_OK)
        e->rc = hs_json_put_string(e->b, v, strlen(v));
}

static void je_kint(je *e, const char *k, int64_t v)
{
    if (e->rc == HS_OK)
        e->rc = hs_buf_printf(e->b, ",\"%s\":%" PRId64, k, v);
}

static void je_kuint(je *e, const char *k, uint64_t v)
{
    if (e->rc == HS_OK)
        e->rc = hs_buf_printf(e->b, ",\"%s\":%" PRIu64, k, v);
}

int hs_proto_history_encode(hs_buf *out, const hs_proto_history *h)
{
    if (h->job == NULL || h->workflow == NULL || h->pv == NULL || (size_t)h->outcome > 2 ||
        (size_t)h->trigger >= sizeof trigger_names / sizeof trigger_names[0])
        return hs_err_set(HS_ERR_INVAL, "history record: a required field is NULL");
    char s[HS_TIME_ISO_MAX], en[HS_TIME_ISO_MAX], c[HS_TIME_ISO_MAX], factor[16];
    hs_time_format_iso(h->interval.start, s);
    hs_time_format_iso(h->interval.end, en);
    hs_time_format_iso(h->committed_us, c);
    snprintf(factor, sizeof factor, "%" PRIu32, h->factor);
    hs_buf_reset(out);
    je e = {out, HS_OK};
    je_raw(&e, "{");
    je_kstr(&e, "job", h->job, true);
    je_kstr(&e, "workflow", h->workflow, false);
    je_kstr(&e, "factor", factor, false);
    je_kstr(&e, "plate_value", h->pv, false);
    if (h->tool != NULL) {
        je_raw(&e, ",\"tool\":{");
        je_kstr(&e, "name", h->tool, true);
        je_kstr(&e, "version", h->version != NULL ? h->version : "", false);
        je_raw(&e, ",\"params\":");
        if (h->params != NULL && e.rc == HS_OK) {
            hs_mp_reader pr;
            hs_mp_reader_init(&pr, h->params, h->params_len);
            e.rc = hs_json_from_mpack(&pr, out);
        } else {
            je_raw(&e, "{}");
        }
        je_raw(&e, "}");
    }
    je_raw(&e, ",\"interval\":[");
    if (e.rc == HS_OK)
        e.rc = hs_json_put_string(out, s, strlen(s));
    je_raw(&e, ",");
    if (e.rc == HS_OK)
        e.rc = hs_json_put_string(out, en, strlen(en));
    je_raw(&e, "]");
    je_kint(&e, "start_us", h->interval.start);
    je_kint(&e, "end_us", h->interval.end);
    je_kuint(&e, "count", h->count);
    je_kuint(&e, "inserted", h->inserted);
    je_kuint(&e, "conflicts", h->conflicts);
    je_kint(&e, "duration_us", h->duration_us);
    je_kuint(&e, "attempt", h->attempt);
    je_kstr(&e, "committed", c, false);
    je_kstr(&e, "outcome", hs_proto_outcome_name(h->outcome), false);
    je_kstr(&e, "runtime", h->runtime != NULL ? h->runtime : "", false);
    if (h->error != NULL && h->error[0] != '\0')
        je_kstr(&e, "error", h->error, false);
    je_kstr(&e, "trigger", hs_proto_trigger_name(h->trigger), false);
    je_raw(&e, h->recompute ? ",\"recompute\":true" : ",\"recompute\":false");
    je_raw(&e, "}");
    return e.rc;
}

/* ------------------------------------------------------------------ JSON messages and documents */

/* JSON helpers in the manner of je_kstr: numbers, booleans, optional strings. */
static void je_kbool(je *e, const char *k, bool v)
{
    if (e->rc == HS_OK)
        e->rc = hs_buf_printf(e->b, ",\"%s\":%s", k, v ? "true" : "false");
}

static void je_kopt(je *e, const char *k, const char *v)
{
    if (v != NULL)
        je_kstr(e, k, v, false);
}

const char *hs_proto_req_state_name(hs_proto_req_state st)
{
    return (size_t)st < 4 ? req_state_names[st] : "?";
}

/* ------------------------------------------------------------------ service status */

static const char *const state_names[] = {"offline", "online", "paused"};
static const char *const reason_names[] = {"", "stopped", "connection lost"};
static const char *const service_kinds[] = {"writer", "ingest", "scheduler", "tool", "api"};

const char *hs_proto_state_name(hs_proto_state st)
{
    return (size_t)st < 3 ? state_names[st] : "?";
}

/* Whether s is one of the n names. */
static bool name_in(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return true;
    return false;
}

/* A tool runtime's "tools": non-empty, without '/', '+', '#', '"' or '\\'. */
static bool status_tools_ok(const char *t)
{
    return t[0] != '\0' && strpbrk(t, "/+#\"\\") == NULL;
}

/* A status's "metrics": an http:// URL without quotes, backslashes or spaces. */
static bool status_metrics_ok(const char *m)
{
    return strncmp(m, "http://", 7) == 0 && m[7] != '\0' && strpbrk(m, "\"\\ ") == NULL;
}

int hs_proto_status_encode(hs_buf *out, const hs_proto_status *st)
{
    const char *tools = st->tools != NULL ? st->tools : "";
    const char *metrics = st->metrics != NULL ? st->metrics : "";
    if (metrics[0] != '\0' && !status_metrics_ok(metrics))
        return hs_err_set(HS_ERR_INVAL, "status: metrics is not an http:// URL");
    bool offline = st->state == HS_PROTO_OFFLINE;
    if ((size_t)st->state > 2 || (size_t)st->reason > 2 || st->id == NULL || st->id[0] == '\0' ||
        st->service == NULL || st->service[0] == '\0' || st->version == NULL ||
        st->version[0] == '\0' || st->pid < 1)
        return hs_err_set(HS_ERR_INVAL, "status: a required field is missing or out of range");
    if (offline != (st->reason != HS_PROTO_REASON_NONE))
        return hs_err_set(HS_ERR_INVAL, "status: a reason goes with offline, and only with it");
    if (tools[0] != '\0' && (strcmp(st->service, "tool") != 0 || !status_tools_ok(tools)))
        return hs_err_set(HS_ERR_INVAL, "status: tools only on tool runtimes, without /+#\"\\");
    char started[HS_TIME_ISO_MAX];
    hs_time_format_iso(st->started_us, started);
    hs_buf_reset(out);
    je e = {out, HS_OK};
    je_raw(&e, "{");
    je_kstr(&e, "state", state_names[st->state], true);
    je_kstr(&e, "id", st->id, false);
    je_kstr(&e, "service", st->service, false);
    je_kstr(&e, "version", st->version, false);
    je_kint(&e, "pid", st->pid);
    je_kstr(&e, "host", st->host != NULL ? st->host : "", false);
    je_kstr(&e, "started", started, false);
    je_kuint(&e, "incarnation", st->incarnation);
    if (offline)
        je_kstr(&e, "reason", reason_names[st->reason], false);
    if (tools[0] != '\0')
        je_kstr(&e, "tools", tools, false);
    if (metrics[0] != '\0')
        je_kstr(&e, "metrics", metrics, false);
    je_raw(&e, "}");
    return e.rc;
}

static int pd_status_state(pd *d, void *obj)
{
    hs_proto_status *st = obj;
    int i = 0;
    int rc = pd_enum(d, state_names, 3, "online, paused or offline", &i);
    st->state = (hs_proto_state)i;
    return rc;
}

static int pd_status_service(pd *d, void *obj)
{
    hs_proto_status *st = obj;
    int rc = pd_str(d, &st->service);
    if (rc == HS_OK && !name_in(st->service, service_kinds, 5))
        return pd_bad(d, "writer, ingest, scheduler, tool or api");
    return rc;
}

static int pd_status_pid(pd *d, void *obj)
{
    hs_proto_status *st = obj;
    int rc = pd_int(d, &st->pid);
    return rc == HS_OK && st->pid < 1 ? pd_bad(d, "a process id >= 1") : rc;
}

static int pd_status_reason(pd *d, void *obj)
{
    hs_proto_status *st = obj;
    int i = 0;
    /* reason_names[0] is "no reason", never on the wire. */
    int rc = pd_enum(d, reason_names + 1, 2, "stopped or connection lost", &i);
    st->reason = (hs_proto_reason)(i + 1);
    return rc;
}

static int pd_status_tools(pd *d, void *obj)
{
    hs_proto_status *st = obj;
    int rc = pd_str(d, &st->tools);
    if (rc == HS_OK && !status_tools_ok(st->tools))
        return pd_bad(d, "a tool name or all");
    return rc;
}

static int pd_status_metrics(pd *d, void *obj)
{
    hs_proto_status *st = obj;
    int rc = pd_str(d, &st->metrics);
    if (rc == HS_OK && !status_metrics_ok(st->metrics))
        return pd_bad(d, "an http:// URL");
    return rc;
}

static const pf status_fields[] = {
    {"state", PF_FN, 0, pd_status_state},
    {"id", PF_NONEMPTY, offsetof(hs_proto_status, id), NULL},
    {"service", PF_FN, 0, pd_status_service},
    {"version", PF_NONEMPTY, offsetof(hs_proto_status, version), NULL},
    {"pid", PF_FN, 0, pd_status_pid},
    {"host", PF_STR, offsetof(hs_proto_status, host), NULL},
    {"started", PF_ISO, offsetof(hs_proto_status, started_us), NULL},
    {"incarnation", PF_UINT, offsetof(hs_proto_status, incarnation), NULL},
    {"reason", PF_FN, 0, pd_status_reason},
    {"tools", PF_FN, 0, pd_status_tools},
    {"metrics", PF_FN, 0, pd_status_metrics},
};

int hs_proto_status_decode(hs_proto_status_msg *m, const char *json, size_t len)
{
    pm_init(&m->st, sizeof m->st, &m->arena);
    hs_proto_status *st = &m->st;
    st->tools = "";
    st->metrics = "";
    /* Everything but reason and tools is required; those two follow the state and service. */
    pf_set set = {status_fields, PF_N(status_fields), st, BIT(8) - 1, 0};
    int rc = pd_json_message(&m->arena, json, len, "status", &set, 1);
    if (rc != HS_OK)
        return rc;
    bool offline = st->state == HS_PROTO_OFFLINE, tool = strcmp(st->service, "tool") == 0;
    if (offline && st->reason == HS_PROTO_REASON_NONE)
        return hs_err_set(HS_ERR_PARSE, "status: field 'reason' is missing (state offline)");
    if (!offline && st->reason != HS_PROTO_REASON_NONE)
        return hs_err_set(HS_ERR_PARSE, "status: field 'reason' is only for state offline");
    if (!tool && st->tools[0] != '\0')
        return hs_err_set(HS_ERR_PARSE, "status: field 'tools' is only for service tool");
    if (tool && !offline && st->tools[0] == '\0')
        return hs_err_set(HS_ERR_PARSE, "status: field 'tools' is missing (a tool runtime %s)",
                          state_names[st->state]);
    return HS_OK;
}

void hs_proto_status_msg_free(hs_proto_status_msg *m)
{
    if (m != NULL)
        pm_free(&m->st, sizeof m->st, &m->arena);
}

static const char *const api_op_names[] = {"workflow_add", "workflow_rm", "compute", "ping",
                                           "cancel",       "meta_add",    "meta_rm"};
#define API_NOPS (sizeof api_op_names / sizeof api_op_names[0])

int hs_proto_api_req_encode(hs_buf *out, const hs_proto_api_req *r)
{
    if ((size_t)r->op >= API_NOPS)
        return hs_err_set(HS_ERR_INVAL, "API request: unknown op");
    bool meta = r->op == HS_API_META_ADD || r->op == HS_API_META_RM;
    if (meta && (r->npaths == 0 || r->paths == NULL))
        return hs_err_set(HS_ERR_INVAL, "API request: %s needs paths", api_op_names[r->op]);
    for (size_t i = 0; meta && i < r->npaths; i++)
        if (r->paths[i] == NULL || r->paths[i][0] == '\0')
            return hs_err_set(HS_ERR_INVAL, "API request: an empty path");
    if ((r->op == HS_API_WORKFLOW_ADD && r->definition == NULL) ||
        ((r->op == HS_API_WORKFLOW_RM || r->op == HS_API_COMPUTE) && r->workflow == NULL) ||
        (r->op == HS_API_CANCEL && r->request == NULL))
        return hs_err_set(HS_ERR_INVAL, "API request: a required field is NULL");
    hs_buf_reset(out);
    je e = {out, HS_OK};
    je_raw(&e, "{");
    je_kstr(&e, "op", api_op_names[r->op], true);
    if (r->op == HS_API_WORKFLOW_ADD) {
        je_kstr(&e, "definition", r->definition, false);
        je_kopt(&e, "filename", r->filename);
    } else if (r->op == HS_API_WORKFLOW_RM) {
        je_kstr(&e, "workflow", r->workflow, false);
    } else if (r->op == HS_API_COMPUTE) {
        je_kstr(&e, "workflow", r->workflow, false);
        je_kint(&e, "from", r->iv.start);
        je_kint(&e, "to", r->iv.end);
        je_kopt(&e, "request", r->request);
        if (r->dry_run)
            je_kbool(&e, "dry_run", true);
    } else if (r->op == HS_API_CANCEL) {
        je_kstr(&e, "request", r->request, false);
    } else if (meta) {
        je_raw(&e, ",\"paths\":[");
        for (size_t i = 0; i < r->npaths; i++)
            je_str(&e, r->paths[i], i == 0);
        je_raw(&e, "]");
    }
    je_raw(&e, "}");
    return e.rc;
}

/* meta_add/meta_rm's paths: a non-empty array of non-empty strings. */
static int pd_api_paths(pd *d, void *obj)
{
    hs_proto_api_req *r = obj;
    int rc = pd_strs(d, &r->paths, &r->npaths);
    if (rc == HS_OK && r->npaths == 0)
        rc = pd_bad(d, "at least one path");
    for (size_t i = 0; rc == HS_OK && i < r->npaths; i++)
        if (r->paths[i][0] == '\0')
            rc = pd_bad(d, "non-empty paths");
    return rc;
}

/* compute's request id: it names a topic, so no separators or wildcards. */
static int pd_request_id(pd *d, void *obj)
{
    hs_proto_api_req *r = obj;
    int rc = pd_nonempty(d, &r->request);
    if (rc == HS_OK && (strlen(r->request) > 63 || strpbrk(r->request, "/+#") != NULL))
        rc = pd_bad(d, "at most 63 bytes without '/', '+' or '#'");
    return rc;
}

static const pf api_req_fields[] = {
    {"op", PF_STR, offsetof(hs_proto_api_req, op_text), NULL},
    {"definition", PF_NONEMPTY, offsetof(hs_proto_api_req, definition), NULL},
    {"filename", PF_NONEMPTY, offsetof(hs_proto_api_req, filename), NULL},
    {"workflow", PF_NONEMPTY, offsetof(hs_proto_api_req, workflow), NULL},
    {"from", PF_INT, offsetof(hs_proto_api_req, iv.start), NULL},
    {"to", PF_INT, offsetof(hs_proto_api_req, iv.end), NULL},
    {"request", PF_FN, 0, pd_request_id},
    {"dry_run", PF_BOOL, offsetof(hs_proto_api_req, dry_run), NULL},
    {"paths", PF_FN, 0, pd_api_paths},
};

int hs_proto_api_req_decode(hs_proto_api_req_msg *m, const char *json, size_t len)
{
    /* The members each op may have and must have, by bit of api_req_fields (unknown op last). */
    static const uint64_t allowed[] = {0x7, 0x9, 0xf9, 0x1, 0x41, 0x101, 0x101, 0x1ff};
    static const uint64_t required[] = {0x3, 0x9, 0x39, 0x1, 0x41, 0x101, 0x101, 0x1};
    pm_init(&m->req, sizeof m->req, &m->arena);
    hs_proto_api_req *r = &m->req;
    r->op = HS_API_UNKNOWN;
    pf_set set = {api_req_fields, PF_N(api_req_fields), r, BIT(0), 0};
    int rc = pd_json_message(&m->arena, json, len, "API request", &set, 1);
    if (rc != HS_OK)
        return rc;
    for (size_t i = 0; i < API_NOPS; i++)
        if (strcmp(r->op_text, api_op_names[i]) == 0)
            r->op = (hs_api_op)i;
    for (size_t i = 0; i < PF_N(api_req_fields); i++) {
        if ((set.seen & ~allowed[r->op]) & BIT(i))
            return hs_err_set(HS_ERR_PARSE, "API request: '%s' does not take '%s'", r->op_text,
                              api_req_fields[i].key);
        if ((required[r->op] & ~set.seen) & BIT(i))
            return hs_err_set(HS_ERR_PARSE, "API request: field '%s' is missing",
                              api_req_fields[i].key);
    }
    if (r->op == HS_API_COMPUTE && r->iv.start >= r->iv.end)
        return hs_err_set(HS_ERR_PARSE, "API request: compute needs from < to (microseconds)");
    return HS_OK;
}

void hs_proto_api_req_msg_free(hs_proto_api_req_msg *m)
{
    if (m != NULL)
        pm_free(&m->req, sizeof m->req, &m->arena);
}

int hs_proto_api_reply_encode(hs_buf *out, const hs_proto_api_reply *r)
{
    hs_buf_reset(out);
    je e = {out, HS_OK};
    if (!r->ok) {
        je_raw(&e, "{\"ok\":false");
        je_kstr(&e, "error", r->error != NULL && r->error[0] ? r->error : "failed", false);
        je_raw(&e, "}");
        return e.rc;
    }
    je_raw(&e, "{\"ok\":true");
    switch (r->op) {
    case HS_API_WORKFLOW_ADD:
        if (r->workflow == NULL)
            return hs_err_set(HS_ERR_INVAL, "API reply: workflow is NULL");
        je_kstr(&e, "workflow", r->workflow, false);
        je_kuint(&e, "factors", r->factors);
        je_kbool(&e, "unchanged", r->unchanged);
        break;
    case HS_API_COMPUTE:
        if (r->request == NULL)
            return hs_err_set(HS_ERR_INVAL, "API reply: request is NULL");
        je_kstr(&e, "request", r->request, false);
        je_kuint(&e, "jobs", r->jobs);
        je_kuint(&e, "reopened", r->reopened);
        if (r->unplanned > 0)
            je_kuint(&e, "unplanned", r->unplanned);
        break;
    case HS_API_CANCEL:
        if (r->request == NULL)
            return hs_err_set(HS_ERR_INVAL, "API reply: request is NULL");
        je_kstr(&e, "request", r->request, false);
        je_kuint(&e, "dropped", r->dropped);
        je_kuint(&e, "running", r->running);
        break;
    case HS_API_PING:
        je_kuint(&e, "workflows", r->workflows);
        je_kuint(&e, "jobs", r->jobs);
        je_kuint(&e, "inflight", r->inflight);
        break;
    case HS_API_META_ADD:
    case HS_API_META_RM:
        je_kuint(&e, "nodes", r->nodes);
        je_kuint(&e, "workflows_changed", r->workflows_changed);
        break;
    default:
        break;
    }
    je_raw(&e, "}");
    return e.rc;
}

static const pf api_reply_fields[] = {
    {"ok", PF_BOOL, offsetof(hs_proto_api_reply, ok), NULL},
    {"error", PF_NONEMPTY, offsetof(hs_proto_api_reply, error), NULL},
    {"workflow", PF_NONEMPTY, offsetof(hs_proto_api_reply, workflow), NULL},
    {"factors", PF_UINT, offsetof(hs_proto_api_reply, factors), NULL},
    {"unchanged", PF_BOOL, offsetof(hs_proto_api_reply, unchanged), NULL},
    {"request", PF_NONEMPTY, offsetof(hs_proto_api_reply, request), NULL},
    {"jobs", PF_UINT, offsetof(hs_proto_api_reply, jobs), NULL},
    {"workflows", PF_UINT, offsetof(hs_proto_api_reply, workflows), NULL},
    {"inflight", PF_UINT, offsetof(hs_proto_api_reply, inflight), NULL},
    {"reopened", PF_UINT, offsetof(hs_proto_api_reply, reopened), NULL},
    {"unplanned", PF_UINT, offsetof(hs_proto_api_reply, unplanned), NULL},
    {"dropped", PF_UINT, offsetof(hs_proto_api_reply, dropped), NULL},
    {"running", PF_UINT, offsetof(hs_proto_api_reply, running), NULL},
    {"nodes", PF_UINT, offsetof(hs_proto_api_reply, nodes), NULL},
    {"workflows_changed", PF_UINT, offsetof(hs_proto_api_reply, workflows_changed), NULL},
};

int hs_proto_api_reply_decode(hs_proto_api_reply_msg *m, const char *json, size_t len)
{
    pm_init(&m->reply, sizeof m->reply, &m->arena);
    hs_proto_api_reply *r = &m->reply;
    r->op = HS_API_UNKNOWN;
    pf_set set = {api_reply_fields, PF_N(api_reply_fields), r, BIT(0), 0};
    int rc = pd_json_message(&m->arena, json, len, "API reply", &set, 1);
    if (rc == HS_OK && !r->ok && r->error == NULL)
        rc = hs_err_set(HS_ERR_PARSE, "API reply: field 'error' is missing");
    return rc;
}

void hs_proto_api_reply_msg_free(hs_proto_api_reply_msg *m)
{
    if (m != NULL)
        pm_free(&m->reply, sizeof m->reply, &m->arena);
}

int hs_proto_progress_encode(hs_buf *out, const hs_proto_progress *p)
{
    if (p->request == NULL || p->workflow == NULL || (size_t)p->state > 3)
        return hs_err_set(HS_ERR_INVAL, "progress: a required field is NULL");
    hs_buf_reset(out);
    je e = {out, HS_OK};
    je_raw(&e, "{");
    je_kstr(&e, "request", p->request, true);
    je_kstr(&e, "workflow", p->workflow, false);
    je_kstr(&e, "state", hs_proto_req_state_name(p->state), false);
    je_kuint(&e, "jobs_total", p->jobs_total);
    je_kuint(&e, "jobs_done", p->jobs_done);
    je_kuint(&e, "jobs_failed", p->jobs_failed);
    je_kuint(&e, "instances", p->instances);
    if (e.rc == HS_OK)
        e.rc = hs_buf_printf(out, ",\"elapsed_s\":%.3f", p->elapsed_s);
    if (p->error != NULL && p->error[0] != '\0')
        je_kstr(&e, "error", p->error, false);
    if (p->jobs_dropped > 0)
        je_kuint(&e, "jobs_dropped", p->jobs_dropped);
    if (p->jobs_unplanned > 0)
        je_kuint(&e, "jobs_unplanned", p->jobs_unplanned);
    je_raw(&e, "}");
    return e.rc;
}

static const pf progress_fields[] = {
    {"request", PF_NONEMPTY, offsetof(hs_proto_progress, request), NULL},
    {"workflow", PF_NONEMPTY, offsetof(hs_proto_progress, workflow), NULL},
    {"state", PF_STATE, offsetof(hs_proto_progress, state), NULL},
    {"jobs_total", PF_UINT, offsetof(hs_proto_progress, jobs_total), NULL},
    {"jobs_done", PF_UINT, offsetof(hs_proto_progress, jobs_done), NULL},
    {"jobs_failed", PF_UINT, offsetof(hs_proto_progress, jobs_failed), NULL},
    {"instances", PF_UINT, offsetof(hs_proto_progress, instances), NULL},
    {"elapsed_s", PF_DOUBLE, offsetof(hs_proto_progress, elapsed_s), NULL},
    {"error", PF_STR, offsetof(hs_proto_progress, error), NULL},
    {"jobs_dropped", PF_UINT, offsetof(hs_proto_progress, jobs_dropped), NULL},
    {"jobs_unplanned", PF_UINT, offsetof(hs_proto_progress, jobs_unplanned), NULL},
};

int hs_proto_progress_decode(hs_proto_progress_msg *m, const char *json, size_t len)
{
    pm_init(&m->p, sizeof m->p, &m->arena);
    pf_set set = {progress_fields, PF_N(progress_fields), &m->p, BIT(8) - 1, 0};
    return pd_json_message(&m->arena, json, len, "progress", &set, 1);
}

void hs_proto_progress_msg_free(hs_proto_progress_msg *m)
{
    if (m != NULL)
        pm_free(&m->p, sizeof m->p, &m->arena);
}

int hs_proto_request_doc_encode(hs_buf *out, const hs_proto_request_doc *d)
{
    if (d->request == NULL || d->workflow == NULL || (size_t)d->state > 3)
        return hs_err_set(HS_ERR_INVAL, "request document: a required field is NULL");
    char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
    hs_time_format_iso(d->iv.start, a);
    hs_time_format_iso(d->iv.end, b);
    hs_buf_reset(out);
    je e = {out, HS_OK};
    je_raw(&e, "{");
    je_kstr(&e, "request", d->request, true);
    je_kstr(&e, "workflow", d->workflow, false);
    je_kstr(&e, "from", a, false);
    je_kstr(&e, "to", b, false);
    je_kint(&e, "from_us", d->iv.start);
    je_kint(&e, "to_us", d->iv.end);
    je_kstr(&e, "state", hs_proto_req_state_name(d->state), false);
    je_kuint(&e, "jobs", d->jobs);
    je_kuint(&e, "done", d->done);
    je_kuint(&e, "failed", d->failed);
    je_kuint(&e, "instances", d->instances);
    if (d->error != NULL && d->error[0] != '\0')
        je_kstr(&e, "error", d->error, false);
    je_raw(&e, "}");
    return e.rc;
}

/* A time text for people beside an exact member: checked, not kept. */
static int pd_iso_text(pd *d, void *obj)
{
    (void)obj;
    int64_t t_us;
    return pd_iso(d, &t_us);
}

static const pf request_doc_fields[] = {
    {"request", PF_NONEMPTY, offsetof(hs_proto_request_doc, request), NULL},
    {"workflow", PF_NONEMPTY, offsetof(hs_proto_request_doc, workflow), NULL},
    {"from", PF_FN, 0, pd_iso_text},
    {"to", PF_FN, 0, pd_iso_text},
    {"from_us", PF_INT, offsetof(hs_proto_request_doc, iv.start), NULL},
    {"to_us", PF_INT, offsetof(hs_proto_request_doc, iv.end), NULL},
    {"state", PF_STATE, offsetof(hs_proto_request_doc, state), NULL},
    {"jobs", PF_UINT, offsetof(hs_proto_request_doc, jobs), NULL},
    {"done", PF_UINT, offsetof(hs_proto_request_doc, done), NULL},
    {"failed", PF_UINT, offsetof(hs_proto_request_doc, failed), NULL},
    {"instances", PF_UINT, offsetof(hs_proto_request_doc, instances), NULL},
    {"error", PF_STR, offsetof(hs_proto_request_doc, error), NULL},
};

int hs_proto_request_doc_decode(hs_proto_request_doc_msg *m, const char *json, size_t len)
{
    pm_init(&m->d, sizeof m->d, &m->arena);
    pf_set set = {request_doc_fields, PF_N(request_doc_fields), &m->d,
                  BIT(0) | BIT(1) | BIT(4) | BIT(5) | BIT(6), 0};
    int rc = pd_json_message(&m->arena, json, len, "request document", &set, 1);
    if (rc == HS_OK && m->d.iv.start >= m->d.iv.end)
        rc = hs_err_set(HS_ERR_PARSE, "request document: from_us is not before to_us");
    return rc;
}

void hs_proto_request_doc_msg_free(hs_proto_request_doc_msg *m)
{
    if (m != NULL)
        pm_free(&m->d, sizeof m->d, &m->arena);
}

int hs_proto_workflow_doc_encode(hs_buf *out, const hs_proto_workflow_doc *d)
{
    if (d->id == NULL || d->filename == NULL || d->added == NULL || d->text == NULL)
        return hs_err_set(HS_ERR_INVAL, "workflow document: a required field is NULL");
    hs_buf_reset(out);
    je e = {out, HS_OK};
    je_raw(&e, "{");
    je_kstr(&e, "id", d->id, true);
    je_kstr(&e, "filename", d->filename, false);
    je_kstr(&e, "added", d->added, false);
    je_kstr(&e, "text", d->text, false);
    je_raw(&e, "}");
    return e.rc;
}

static const pf workflow_doc_fields[] = {
    {"id", PF_NONEMPTY, offsetof(hs_proto_workflow_doc, id), NULL},
    {"filename", PF_NONEMPTY, offsetof(hs_proto_workflow_doc, filename), NULL},
    {"added", PF_NONEMPTY, offsetof(hs_proto_workflow_doc, added), NULL},
    {"text", PF_STR, offsetof(hs_proto_workflow_doc, text), NULL},
};

int hs_proto_workflow_doc_decode(hs_proto_workflow_doc_msg *m, const char *json, size_t len)
{
    pm_init(&m->d, sizeof m->d, &m->arena);
    pf_set set = {workflow_doc_fields, PF_N(workflow_doc_fields), &m->d, BIT(0) | BIT(3), 0};
    int rc = pd_json_message(&m->arena, json, len, "workflow document", &set, 1);
    if (rc == HS_OK && m->d.filename == NULL)
        m->d.filename = "workflow";
    if (rc == HS_OK && m->d.added == NULL)
        m->d.added = "";
    return rc;
}

void hs_proto_workflow_doc_msg_free(hs_proto_workflow_doc_msg *m)
{
    if (m != NULL)
        pm_free(&m->d, sizeof m->d, &m->arena);
}

int hs_proto_online_doc_encode(hs_buf *out, int64_t last_end_us)
{
    hs_buf_reset(out);
    return hs_buf_printf(out, "{\"last_end_us\":%" PRId64 "}", last_end_us);
}

int hs_proto_online_doc_decode(const char *json, size_t len, int64_t *last_end_us)
{
    static const pf fields[] = {{"last_end_us", PF_INT, 0, NULL}};
    hs_arena a;
    hs_arena_init(&a, 256, 0);
    pf_set set = {fields, 1, last_end_us, BIT(0), 0};
    int rc = pd_json_message(&a, json, len, "online document", &set, 1);
    hs_arena_free(&a);
    return rc;
}

/* ------------------------------------------------------------------ sessions */

static bool intervals_ok(const hs_interval *v, size_t n);

static const char *const session_kind_names[] = {"request", "online"};
static const char *const session_outcome_names[] = {"", "ok", "failed", "cancelled", "interrupted"};
static const char *const session_state_names[] = {"closed", "active"};

const char *hs_proto_session_kind_name(hs_proto_session_kind k)
{
    return (size_t)k < 2 ? session_kind_names[k] : "?";
}

/* A list of sorted, disjoint intervals (empty only when allow_empty), in the arena. */
static int pd_interval_list(pd *d, bool allow_empty, const hs_interval **out, size_t *nout)
{
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) != HS_OK || (n == 0 && !allow_empty))
        return pd_bad(d, allow_empty ? "an array of intervals" : "a non-empty array of intervals");
    *out = NULL;
    *nout = 0;
    if (n == 0)
        return HS_OK;
    if (n > hs_mp_remaining(&d->r))
        return pd_bad(d, "an array of intervals");
    hs_interval *v = hs_arena_alloc(d->arena, n * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    for (uint32_t i = 0; i < n; i++) {
        int rc = pd_interval(d, &v[i]);
        if (rc != HS_OK)
            return rc;
    }
    if (!intervals_ok(v, n))
        return pd_bad(d, "a list of sorted, disjoint intervals");
    *out = v;
    *nout = n;
    return HS_OK;
}

const char *hs_proto_session_outcome_name(hs_proto_session_outcome o)
{
    return (size_t)o < 5 ? session_outcome_names[o] : "?";
}

int hs_proto_session_doc_encode(hs_buf *out, const hs_proto_session_doc *d)
{
    if (d->session == NULL || d->session[0] == '\0' || d->workflow == NULL ||
        d->workflow[0] == '\0' || (size_t)d->kind > 1 || (size_t)d->outcome > 4 ||
        d->active != (d->outcome == HS_SESSION_NONE) || (d->ncovered > 0 && d->covered == NULL) ||
        !intervals_ok(d->covered, d->ncovered))
        return hs_err_set(HS_ERR_INVAL, "session document: bad fields");
    char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
    hs_time_format_iso(d->started_us, a);
    hs_time_format_iso(d->ended_us, b);
    hs_buf_reset(out);
    je e = {out, HS_OK};
    je_raw(&e, "{");
    je_kstr(&e, "session", d->session, true);
    je_kstr(&e, "workflow", d->workflow, false);
    je_kstr(&e, "kind", session_kind_names[d->kind], false);
    je_kstr(&e, "state", session_state_names[d->active], false);
    if (!d->active)
        je_kstr(&e, "outcome", session_outcome_names[d->outcome], false);
    je_kstr(&e, "started", a, false);
    je_kint(&e, "started_us", d->started_us);
    if (!d->active) {
        je_kstr(&e, "ended", b, false);
        je_kint(&e, "ended_us", d->ended_us);
    }
    je_raw(&e, ",\"intervals\":[");
    for (size_t i = 0; i < d->ncovered && e.rc == HS_OK; i++)
        e.rc = hs_buf_printf(out, "%s[%" PRId64 ",%" PRId64 "]", i > 0 ? "," : "",
                             d->covered[i].start, d->covered[i].end);
    je_raw(&e, "]");
    je_kuint(&e, "planned", d->planned);
    je_kuint(&e, "done", d->done);
    je_kuint(&e, "failed", d->failed);
    if (d->error != NULL && d->error[0] != '\0')
        je_kstr(&e, "error", d->error, false);
    je_raw(&e, "}");
    return e.rc;
}

static int pd_session_kind(pd *d, void *obj)
{
    int k = 0;
    int rc = pd_enum(d, session_kind_names, 2, "request or online", &k);
    if (rc == HS_OK)
        ((hs_proto_session_doc *)obj)->kind = (hs_proto_session_kind)k;
    return rc;
}

static int pd_session_state(pd *d, void *obj)
{
    int k = 0;
    int rc = pd_enum(d, session_state_names, 2, "active or closed", &k);
    if (rc == HS_OK)
        ((hs_proto_session_doc *)obj)->active = k == 1;
    return rc;
}

static int pd_session_outcome(pd *d, void *obj)
{
    int k = 0;
    /* "" is not an outcome: an active session has none at all. */
    int rc = pd_enum(d, session_outcome_names + 1, 4, "ok, failed, cancelled or interrupted", &k);
    if (rc == HS_OK)
        ((hs_proto_session_doc *)obj)->outcome = (hs_proto_session_outcome)(k + 1);
    return rc;
}

/* The covered intervals: sorted and disjoint, possibly none yet. */
static int pd_session_intervals(pd *d, void *obj)
{
    hs_proto_session_doc *s = obj;
    return pd_interval_list(d, true, &s->covered, &s->ncovered);
}

enum {
    SF_SESSION,
    SF_WORKFLOW,
    SF_KIND,
    SF_STATE,
    SF_OUTCOME,
    SF_STARTED,
    SF_STARTED_US,
    SF_ENDED,
    SF_ENDED_US,
    SF_INTERVALS,
    SF_PLANNED,
    SF_DONE,
    SF_FAILED,
    SF_ERROR
};

static const pf session_doc_fields[] = {
    [SF_SESSION] = {"session", PF_NONEMPTY, offsetof(hs_proto_session_doc, session), NULL},
    [SF_WORKFLOW] = {"workflow", PF_NONEMPTY, offsetof(hs_proto_session_doc, workflow), NULL},
    [SF_KIND] = {"kind", PF_FN, 0, pd_session_kind},
    [SF_STATE] = {"state", PF_FN, 0, pd_session_state},
    [SF_OUTCOME] = {"outcome", PF_FN, 0, pd_session_outcome},
    [SF_STARTED] = {"started", PF_FN, 0, pd_iso_text},
    [SF_STARTED_US] = {"started_us", PF_INT, offsetof(hs_proto_session_doc, started_us), NULL},
    [SF_ENDED] = {"ended", PF_FN, 0, pd_iso_text},
    [SF_ENDED_US] = {"ended_us", PF_INT, offsetof(hs_proto_session_doc, ended_us), NULL},
    [SF_INTERVALS] = {"intervals", PF_FN, 0, pd_session_intervals},
    [SF_PLANNED] = {"planned", PF_UINT, offsetof(hs_proto_session_doc, planned), NULL},
    [SF_DONE] = {"done", PF_UINT, offsetof(hs_proto_session_doc, done), NULL},
    [SF_FAILED] = {"failed", PF_UINT, offsetof(hs_proto_session_doc, failed), NULL},
    [SF_ERROR] = {"error", PF_STR, offsetof(hs_proto_session_doc, error), NULL},
};

int hs_proto_session_doc_decode(hs_proto_session_doc_msg *m, const char *json, size_t len)
{
    pm_init(&m->d, sizeof m->d, &m->arena);
    pf_set set = {session_doc_fields, PF_N(session_doc_fields), &m->d,
                  BIT(SF_SESSION) | BIT(SF_WORKFLOW) | BIT(SF_KIND) | BIT(SF_STATE) |
                      BIT(SF_STARTED_US) | BIT(SF_INTERVALS) | BIT(SF_PLANNED) | BIT(SF_DONE) |
                      BIT(SF_FAILED),
                  0};
    int rc = pd_json_message(&m->arena, json, len, "session document", &set, 1);
    if (rc != HS_OK)
        return rc;
    bool has_outcome = (set.seen & BIT(SF_OUTCOME)) != 0;
    bool has_end = (set.seen & BIT(SF_ENDED_US)) != 0;
    if (m->d.active && (has_outcome || has_end))
        return hs_err_set(HS_ERR_PARSE, "session document: an active session has no outcome "
                                        "and no ended_us");
    if (!m->d.active && (!has_outcome || !has_end))
        return hs_err_set(HS_ERR_PARSE, "session document: a closed session needs outcome and "
                                        "ended_us");
    if (!m->d.active && m->d.ended_us < m->d.started_us)
        return hs_err_set(HS_ERR_PARSE, "session document: ended_us is before started_us");
    return HS_OK;
}

void hs_proto_session_doc_msg_free(hs_proto_session_doc_msg *m)
{
    if (m != NULL)
        pm_free(&m->d, sizeof m->d, &m->arena);
}

int hs_proto_deps_doc_encode(hs_buf *out, const hs_proto_define_item *it)
{
    if (!it->has_deps || (it->nsources > 0 && it->sources == NULL) || it->lookback_us < 0 ||
        it->max_lateness_us < 0)
        return hs_err_set(HS_ERR_INVAL, "dependencies document: bad dependencies");
    hs_buf_reset(out);
    je e = {out, HS_OK};
    je_raw(&e, "{\"sources\":[");
    for (size_t k = 0; k < it->nsources && e.rc == HS_OK; k++) {
        if (k > 0)
            je_raw(&e, ",");
        if (e.rc == HS_OK)
            e.rc = hs_json_put_string(out, it->sources[k], strlen(it->sources[k]));
    }
    je_raw(&e, "]");
    je_kint(&e, "lookback_us", it->lookback_us);
    je_kint(&e, "max_lateness_us", it->max_lateness_us);
    je_raw(&e, "}");
    return e.rc;
}

int hs_proto_deps_doc_decode(hs_proto_deps_msg *m, const char *json, size_t len)
{
    pm_init(&m->it, sizeof m->it, &m->arena);
    pf_set set = {dep_fields, PF_N(dep_fields), &m->it, PF_ALL(dep_fields), 0};
    int rc = pd_json_message(&m->arena, json, len, "dependencies document", &set, 1);
    m->it.has_deps = rc == HS_OK;
    return rc;
}

void hs_proto_deps_msg_free(hs_proto_deps_msg *m)
{
    if (m != NULL)
        pm_free(&m->it, sizeof m->it, &m->arena);
}

/* The history record's params: an object, copied (the JSON's msgpack form is temporary). */
static int pd_history_params(pd *d, void *obj)
{
    hs_proto_history *h = obj;
    const uint8_t *p;
    size_t len;
    int rc = pd_raw(d, HS_MP_MAP, "an object", &p, &len);
    uint8_t *copy = rc == HS_OK ? hs_arena_alloc(d->arena, len) : NULL;
    if (rc == HS_OK && copy == NULL)
        rc = pd_nomem();
    if (rc == HS_OK) {
        memcpy(copy, p, len);
        h->params = copy;
        h->params_len = len;
    }
    return rc;
}

static const pf history_tool_fields[] = {
    {"name", PF_NONEMPTY, offsetof(hs_proto_history, tool), NULL},
    {"version", PF_STR, offsetof(hs_proto_history, version), NULL},
    {"params", PF_FN, 0, pd_history_params},
};

static int pd_history_tool(pd *d, void *obj)
{
    return pd_submap(d, history_tool_fields, PF_N(history_tool_fields), obj, BIT(0),
                     "history tool");
}

static int pd_history_trigger(pd *d, void *obj)
{
    hs_proto_job j = {0};
    int rc = pd_trigger(d, &j);
    if (rc == HS_OK)
        ((hs_proto_history *)obj)->trigger = j.trigger;
    return rc;
}

/* [start, end] as ISO-8601 text, for people: start_us and end_us are exact. */
static int pd_history_interval(pd *d, void *obj)
{
    uint32_t two;
    if (hs_mp_get_array(&d->r, &two) != HS_OK || two != 2)
        return pd_bad(d, "[start, end] as ISO-8601 text");
    int rc = pd_iso_text(d, obj);
    return rc == HS_OK ? pd_iso_text(d, obj) : rc;
}

static const pf history_fields[] = {
    {"job", PF_NONEMPTY, offsetof(hs_proto_history, job), NULL},
    {"workflow", PF_NONEMPTY, offsetof(hs_proto_history, workflow), NULL},
    {"factor", PF_FACTOR, offsetof(hs_proto_history, factor), NULL},
    {"plate_value", PF_STR, offsetof(hs_proto_history, pv), NULL},
    {"start_us", PF_INT, offsetof(hs_proto_history, interval.start), NULL},
    {"end_us", PF_INT, offsetof(hs_proto_history, interval.end), NULL},
    {"committed", PF_ISO, offsetof(hs_proto_history, committed_us), NULL},
    {"outcome", PF_OUTCOME, offsetof(hs_proto_history, outcome), NULL},
    {"tool", PF_FN, 0, pd_history_tool},
    {"interval", PF_FN, 0, pd_history_interval},
    {"count", PF_UINT, offsetof(hs_proto_history, count), NULL},
    {"inserted", PF_UINT, offsetof(hs_proto_history, inserted), NULL},
    {"conflicts", PF_UINT, offsetof(hs_proto_history, conflicts), NULL},
    {"duration_us", PF_INT, offsetof(hs_proto_history, duration_us), NULL},
    {"attempt", PF_UINT, offsetof(hs_proto_history, attempt), NULL},
    {"runtime", PF_STR, offsetof(hs_proto_history, runtime), NULL},
    {"error", PF_STR, offsetof(hs_proto_history, error), NULL},
    {"trigger", PF_FN, 0, pd_history_trigger},
    {"recompute", PF_BOOL, offsetof(hs_proto_history, recompute), NULL},
};

int hs_proto_history_decode(hs_proto_history_msg *m, const char *json, size_t len)
{
    pm_init(&m->h, sizeof m->h, &m->arena);
    pf_set set = {history_fields, PF_N(history_fields), &m->h, BIT(8) - 1, 0};
    int rc = pd_json_message(&m->arena, json, len, "history record", &set, 1);
    if (rc == HS_OK && m->h.runtime == NULL)
        m->h.runtime = "";
    return rc;
}

void hs_proto_history_msg_free(hs_proto_history_msg *m)
{
    if (m != NULL)
        pm_free(&m->h, sizeof m->h, &m->arena);
}

int hs_proto_purged_encode(hs_buf *out, const char *stream)
{
    if (stream == NULL)
        return hs_err_set(HS_ERR_INVAL, "purge notice: stream is NULL");
    pe e = {out, HS_OK};
    pe_map(&e, 1);
    pe_kstr(&e, "stream", stream);
    return e.rc;
}

int hs_proto_purged_decode(const uint8_t *data, size_t len, char *buf, size_t bufsize)
{
    static const pf fields[] = {{"stream", PF_NONEMPTY, 0, NULL}};
    const char *s = NULL;
    hs_arena a;
    hs_arena_init(&a, 256, 0);
    pf_set set = {fields, 1, &s, BIT(0), 0};
    pd d;
    pd_init(&d, &a, data, len, "purge notice");
    int rc = pd_message(&d, &set, 1);
    if (rc == HS_OK && strlen(s) >= bufsize)
        rc = hs_err_set(HS_ERR_LIMIT, "purge notice: stream id longer than %zu bytes", bufsize);
    if (rc == HS_OK)
        memcpy(buf, s, strlen(s) + 1);
    hs_arena_free(&a);
    return rc;
}

/* ------------------------------------------------------------------ reopened intervals,
 * corrections */

/* Whether v[0..n) is a sorted list of disjoint, non-empty intervals. */
static bool intervals_ok(const hs_interval *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].start >= v[i].end || (i > 0 && v[i].start < v[i - 1].end))
            return false;
    return true;
}

int hs_proto_reopened_encode(hs_buf *out, const hs_proto_reopened *r)
{
    if (r->stream == NULL || r->stream[0] == '\0' || r->reason == NULL || r->reason[0] == '\0' ||
        r->n == 0 || r->intervals == NULL || r->n > UINT32_MAX ||
        !intervals_ok(r->intervals, r->n) || r->wseq.epoch == 0)
        return hs_err_set(HS_ERR_INVAL, "reopened notice: stream, reason, intervals (sorted, "
                                        "disjoint) and wseq are required");
    pe e = {out, HS_OK};
    pe_map(&e, 4);
    pe_kstr(&e, "stream", r->stream);
    pe_s(&e, "intervals");
    pe_array(&e, (uint32_t)r->n);
    for (size_t i = 0; i < r->n; i++) {
        pe_array(&e, 2);
        pe_int(&e, r->intervals[i].start);
        pe_int(&e, r->intervals[i].end);
    }
    pe_kstr(&e, "reason", r->reason);
    pe_kwseq(&e, "wseq", r->wseq);
    return e.rc;
}

static int pd_reopened_intervals(pd *d, void *obj)
{
    hs_proto_reopened *r = obj;
    return pd_interval_list(d, false, &r->intervals, &r->n);
}

static int pd_reopened_wseq(pd *d, void *obj)
{
    return pd_wseq(d, &((hs_proto_reopened *)obj)->wseq);
}

static const pf reopened_fields[] = {
    {"stream", PF_NONEMPTY, offsetof(hs_proto_reopened, stream), NULL},
    {"intervals", PF_FN, 0, pd_reopened_intervals},
    {"reason", PF_NONEMPTY, offsetof(hs_proto_reopened, reason), NULL},
    {"wseq", PF_FN, 0, pd_reopened_wseq},
};

int hs_proto_reopened_decode(hs_proto_reopened_msg *m, const uint8_t *data, size_t len)
{
    pm_init(&m->r, sizeof m->r, &m->arena);
    pf_set set = {reopened_fields, PF_N(reopened_fields), &m->r, PF_ALL(reopened_fields), 0};
    pd d;
    pd_init(&d, &m->arena, data, len, "reopened notice");
    return pd_message(&d, &set, 1);
}

void hs_proto_reopened_msg_free(hs_proto_reopened_msg *m)
{
    if (m != NULL)
        pm_free(&m->r, sizeof m->r, &m->arena);
}

int hs_proto_correction_encode(hs_buf *out, const hs_proto_correction *c)
{
    if (c->interval.start >= c->interval.end || c->data == NULL || c->data_len == 0)
        return hs_err_set(HS_ERR_INVAL, "correction: an interval and a batch are required");
    pe e = {out, HS_OK};
    pe_map(&e, 2);
    pe_kinterval(&e, "interval", c->interval);
    pe_s(&e, "data");
    pe_raw(&e, c->data, c->data_len);
    return e.rc;
}

static int pd_correction_data(pd *d, void *obj)
{
    hs_proto_correction *c = obj;
    return pd_raw(d, HS_MP_ARRAY, "an array of instances", &c->data, &c->data_len);
}

int hs_proto_correction_decode(hs_proto_correction *c, const uint8_t *data, size_t len)
{
    static const pf fields[] = {
        {"interval", PF_INTERVAL, offsetof(hs_proto_correction, interval), NULL},
        {"data", PF_FN, 0, pd_correction_data},
    };
    memset(c, 0, sizeof *c);
    hs_arena a;
    hs_arena_init(&a, 256, 0);
    pf_set set = {fields, PF_N(fields), c, PF_ALL(fields), 0};
    pd d;
    pd_init(&d, &a, data, len, "correction");
    int rc = pd_message(&d, &set, 1);
    hs_arena_free(&a);
    return rc;
}

int hs_proto_reopened_doc_encode(hs_buf *out, const hs_intervals *iv)
{
    if (!intervals_ok(iv->v, iv->n))
        return hs_err_set(HS_ERR_INVAL, "reopened document: intervals not sorted and disjoint");
    hs_buf_reset(out);
    je e = {out, HS_OK};
    je_raw(&e, "{\"intervals\":[");
    for (size_t i = 0; i < iv->n && e.rc == HS_OK; i++)
        e.rc = hs_buf_printf(out, "%s[%" PRId64 ",%" PRId64 "]", i > 0 ? "," : "", iv->v[i].start,
                             iv->v[i].end);
    je_raw(&e, "]}");
    return e.rc;
}

/* The document's intervals: as the notice's, but the empty set (all computed again) is one too. */
static int pd_reopened_doc_intervals(pd *d, void *obj)
{
    hs_mp_reader at = d->r;
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) == HS_OK && n == 0)
        return HS_OK;
    d->r = at;
    return pd_reopened_intervals(d, obj);
}

int hs_proto_reopened_doc_decode(const char *json, size_t len, hs_intervals *out)
{
    static const pf fields[] = {{"intervals", PF_FN, 0, pd_reopened_doc_intervals}};
    hs_arena a;
    hs_arena_init(&a, 256, 0);
    hs_proto_reopened r = {0};
    pf_set set = {fields, 1, &r, BIT(0), 0};
    int rc = pd_json_message(&a, json, len, "reopened document", &set, 1);
    hs_intervals_clear(out);
    for (size_t i = 0; rc == HS_OK && i < r.n; i++)
        rc = hs_intervals_add(out, r.intervals[i]);
    hs_arena_free(&a);
    return rc;
}

int hs_proto_reopened_doc_read(hs_store *s, const char *sid, hs_buf *scratch, hs_intervals *out)
{
    hs_intervals_clear(out);
    hs_buf_reset(scratch);
    int rc = hs_store_doc_get(s, "reopened", sid, scratch);
    if (rc == HS_ERR_NOTFOUND)
        return HS_OK;
    return rc == HS_OK
               ? hs_proto_reopened_doc_decode((const char *)scratch->data, scratch->len, out)
               : rc;
}

int hs_proto_wseq_encode(hs_buf *out, hs_proto_wseq w)
{
    if (w.epoch == 0)
        return hs_err_set(HS_ERR_INVAL, "writer commit: epoch 0");
    pe e = {out, HS_OK};
    pe_array(&e, 2);
    pe_uint(&e, w.epoch);
    pe_uint(&e, w.seq);
    return e.rc;
}

int hs_proto_wseq_decode(const uint8_t *data, size_t len, hs_proto_wseq *w)
{
    pd d;
    pd_init(&d, NULL, data, len, "writer commit");
    d.key = "wseq";
    int rc = pd_wseq(&d, w);
    if (rc == HS_OK && !hs_mp_at_end(&d.r))
        rc = hs_err_set(HS_ERR_PARSE, "writer commit: bytes after [epoch, seq]");
    return rc;
}

/* ------------------------------------------------------------------ dead letters and events */

/* True when p is UTF-8 without NUL bytes: printable as a JSON string as it is. */
static bool dl_is_text(const uint8_t *p, size_t len)
{
    return len == 0 || (hs_utf8_valid(p, len) && memchr(p, 0, len) == NULL);
}

/*
 * Appends ,"payload_json":<JSON> when p is exactly one msgpack value that
 * converts to JSON, and ,"payload_b64":"..." too when that JSON does not
 * give back the same bytes (invalid UTF-8 in a string, NaN, bin, integer
 * map keys, wider encodings than needed): nothing of the input is lost.
 * Returns false (out unchanged) when p is not such a value.
 */
static bool dl_put_msgpack(hs_buf *out, const uint8_t *p, size_t len, char *why, size_t whylen)
{
    size_t len0 = out->len;
    hs_mp_reader r;
    hs_mp_reader_init(&r, p, len);
    if (len == 0) {
        snprintf(why, whylen, "not msgpack: empty");
        return false;
    }
    if (hs_buf_puts(out, ",\"payload_json\":") != HS_OK || hs_json_from_mpack(&r, out) != HS_OK) {
        snprintf(why, whylen, "not msgpack: %s",
                 hs_err_detail()[0] ? hs_err_detail() : "unreadable value");
        out->len = len0;
        return false;
    }
    if (!hs_mp_at_end(&r)) {
        snprintf(why, whylen, "not msgpack: %zu bytes after the value", (size_t)(r.end - r.p));
        out->len = len0;
        return false;
    }
    size_t json0 = len0 + strlen(",\"payload_json\":");
    hs_buf back;
    hs_buf_init(&back, 0);
    bool exact =
        hs_json_to_mpack((const char *)out->data + json0, out->len - json0, &back) == HS_OK &&
        back.len == len && memcmp(back.data, p, len) == 0;
    hs_buf_free(&back);
    if (!exact && (hs_buf_puts(out, ",\"payload_b64\":\"") != HS_OK ||
                   hs_base64_encode(out, p, len) != HS_OK || hs_buf_putc(out, '"') != HS_OK)) {
        snprintf(why, whylen, "out of memory");
        out->len = len0;
        return false;
    }
    return true;
}

int hs_proto_dead_letter_encode(hs_buf *out, const hs_proto_dead_letter *d)
{
    if (d->service == NULL || d->reason == NULL || d->reason[0] == '\0' ||
        (d->len > 0 && d->payload == NULL))
        return hs_err_set(HS_ERR_INVAL, "dead letter: a required field is NULL");
    char t[HS_TIME_ISO_MAX];
    hs_time_format_iso(d->t_us, t);
    hs_buf_reset(out);
    je e = {out, HS_OK};
    je_raw(&e, "{");
    je_kstr(&e, "service", d->service, true);
    je_kstr(&e, "reason", d->reason, false);
    je_kstr(&e, "topic", d->topic != NULL ? d->topic : "", false);
    if (d->stream != NULL && d->stream[0] != '\0')
        je_kstr(&e, "stream", d->stream, false);
    je_kstr(&e, "t", t, false);
    if (e.rc != HS_OK)
        return e.rc;
    const uint8_t *p = d->payload;
    size_t len = d->len;
    hs_proto_payload_kind kind = d->kind;
    if (kind == HS_PAYLOAD_AUTO) {
        bool mp_batch = len > 0 && ((p[0] & 0xf0) == 0x90 || p[0] == 0xdc || p[0] == 0xdd);
        kind = !mp_batch && dl_is_text(p, len) ? HS_PAYLOAD_TEXT : HS_PAYLOAD_MSGPACK;
    }
    char why[300] = "";
    if (kind == HS_PAYLOAD_TEXT) {
        if (dl_is_text(p, len)) {
            je_raw(&e, ",\"payload\":");
            if (e.rc == HS_OK)
                e.rc = hs_json_put_string(out, (const char *)p, len);
            je_raw(&e, "}");
            return e.rc;
        }
        snprintf(why, sizeof why, "not UTF-8 text");
    } else if (kind == HS_PAYLOAD_MSGPACK) {
        if (dl_put_msgpack(out, p, len, why, sizeof why)) {
            je_raw(&e, "}");
            return e.rc;
        }
    } else {
        snprintf(why, sizeof why, "%s",
                 d->undecodable != NULL && d->undecodable[0] != '\0' ? d->undecodable : "binary");
    }
    je_raw(&e, ",\"payload_b64\":\"");
    if (e.rc == HS_OK)
        e.rc = hs_base64_encode(out, p, len);
    je_raw(&e, "\"");
    je_kstr(&e, "undecodable", why, false);
    je_raw(&e, "}");
    return e.rc;
}

/* payload: the original bytes as text. */
static int pd_dead_text(pd *d, void *obj)
{
    hs_proto_dead_letter *dl = obj;
    const char *s;
    uint32_t len;
    if (hs_mp_get_str(&d->r, &s, &len) != HS_OK)
        return pd_bad(d, "a string");
    char *copy = hs_arena_strndup(d->arena, s, len);
    if (copy == NULL)
        return pd_nomem();
    dl->payload = (const uint8_t *)copy;
    dl->len = len;
    dl->kind = HS_PAYLOAD_TEXT;
    return HS_OK;
}

/* payload_json: an msgpack payload shown as JSON; kept as its msgpack encoding. */
static int pd_dead_json(pd *d, void *obj)
{
    hs_proto_dead_letter *dl = obj;
    const uint8_t *p;
    size_t len;
    if (hs_mp_get_raw(&d->r, &p, &len) != HS_OK)
        return pd_bad(d, "a JSON value");
    if (dl->kind == HS_PAYLOAD_BINARY) {
        /* payload_b64 came first: its bytes are the exact input. */
        dl->kind = HS_PAYLOAD_MSGPACK;
        return HS_OK;
    }
    uint8_t *copy = hs_arena_alloc(d->arena, len + 1);
    if (copy == NULL)
        return pd_nomem();
    memcpy(copy, p, len);
    dl->payload = copy;
    dl->len = len;
    dl->kind = HS_PAYLOAD_MSGPACK;
    return HS_OK;
}

/* payload_b64: the original bytes in base64. */
static int pd_dead_b64(pd *d, void *obj)
{
    hs_proto_dead_letter *dl = obj;
    const char *s;
    uint32_t len;
    if (hs_mp_get_str(&d->r, &s, &len) != HS_OK)
        return pd_bad(d, "a string");
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hs_base64_decode(&b, s, len);
    uint8_t *copy = rc == HS_OK ? hs_arena_alloc(d->arena, b.len + 1) : NULL;
    if (rc != HS_OK)
        rc = pd_bad(d, "base64");
    else if (copy == NULL)
        rc = pd_nomem();
    if (rc == HS_OK) {
        if (b.len > 0)
            memcpy(copy, b.data, b.len);
        dl->payload = copy;
        dl->len = b.len;
        /* Beside payload_json, base64 gives the exact bytes of the msgpack shown. */
        dl->kind = dl->kind == HS_PAYLOAD_MSGPACK ? HS_PAYLOAD_MSGPACK : HS_PAYLOAD_BINARY;
    }
    hs_buf_free(&b);
    return rc;
}

static const pf dead_letter_fields[] = {
    {"service", PF_NONEMPTY, offsetof(hs_proto_dead_letter, service), NULL},
    {"reason", PF_NONEMPTY, offsetof(hs_proto_dead_letter, reason), NULL},
    {"topic", PF_STR, offsetof(hs_proto_dead_letter, topic), NULL},
    {"t", PF_ISO, offsetof(hs_proto_dead_letter, t_us), NULL},
    {"payload", PF_FN, 0, pd_dead_text},
    {"payload_b64", PF_FN, 0, pd_dead_b64},
    {"payload_json", PF_FN, 0, pd_dead_json},
    {"stream", PF_NONEMPTY, offsetof(hs_proto_dead_letter, stream), NULL},
    {"undecodable", PF_NONEMPTY, offsetof(hs_proto_dead_letter, undecodable), NULL},
};

int hs_proto_dead_letter_decode(hs_proto_dead_letter_msg *m, const char *json, size_t len)
{
    pm_init(&m->d, sizeof m->d, &m->arena);
    pf_set set = {dead_letter_fields, PF_N(dead_letter_fields), &m->d, BIT(4) - 1, 0};
    int rc = pd_json_message(&m->arena, json, len, "dead letter", &set, 1);
    bool text = set.seen & BIT(4), b64 = set.seen & BIT(5), shown = set.seen & BIT(6),
         why = set.seen & BIT(8);
    /* The forms: payload; payload_json (with payload_b64 when inexact); payload_b64 and
     * undecodable. */
    if (rc == HS_OK && !(text ? !b64 && !shown && !why : shown ? !why : b64 && why))
        rc = hs_err_set(HS_ERR_PARSE,
                        "dead letter: needs 'payload', or 'payload_json' (and 'payload_b64'), or "
                        "'payload_b64' and 'undecodable'");
    if (rc == HS_OK && shown && b64) {
        /* The exact bytes must be the one msgpack value shown. */
        hs_mp_reader r;
        hs_mp_reader_init(&r, m->d.payload, m->d.len);
        hs_buf tmp;
        hs_buf_init(&tmp, 0);
        if (m->d.len == 0 || hs_json_from_mpack(&r, &tmp) != HS_OK || !hs_mp_at_end(&r))
            rc = hs_err_set(HS_ERR_PARSE, "dead letter: 'payload_b64' beside 'payload_json' is "
                                          "not one msgpack value");
        hs_buf_free(&tmp);
    }
    return rc;
}

void hs_proto_dead_letter_msg_free(hs_proto_dead_letter_msg *m)
{
    if (m != NULL)
        pm_free(&m->d, sizeof m->d, &m->arena);
}

static const char *const mon_level_names[] = {"debug", "info", "warn", "error"};

const char *hs_proto_mon_level_name(hs_proto_mon_level level)
{
    int i = (int)level + 1;
    return i >= 0 && i < 4 ? mon_level_names[i] : "info";
}

int hs_proto_mon_level_parse(const char *s, hs_proto_mon_level *out)
{
    for (int i = 0; s != NULL && i < 4; i++) {
        if (strcmp(s, mon_level_names[i]) == 0) {
            *out = (hs_proto_mon_level)(i - 1);
            return HS_OK;
        }
    }
    return hs_err_set(HS_ERR_INVAL, "event level '%s': expected debug, info, warn or error",
                      s != NULL ? s : "");
}

int hs_proto_mon_encode(hs_buf *out, const hs_proto_mon *ev, bool plain)
{
    if (ev->service == NULL || ev->name == NULL || ev->name[0] == '\0' || ev->text == NULL)
        return hs_err_set(HS_ERR_INVAL, "event: a required field is NULL");
    if (ev->level < HS_MON_DEBUG || ev->level > HS_MON_ERROR)
        return hs_err_set(HS_ERR_INVAL, "event: level %d out of range", (int)ev->level);
    if (ev->has_interval && ev->interval.start >= ev->interval.end)
        return hs_err_set(HS_ERR_INVAL, "event: interval start >= end");
    const char *level = hs_proto_mon_level_name(ev->level);
    char t[HS_TIME_ISO_MAX];
    hs_time_format_iso(ev->t_us, t);
    hs_buf_reset(out);
    if (plain)
        return hs_buf_printf(out, "%s MON %s %s %s: %s", t, ev->service, level, ev->name, ev->text);
    je e = {out, HS_OK};
    je_raw(&e, "{");
    je_kstr(&e, "uid", ev->service, true);
    je_kstr(&e, "bt", t, false);
    je_kstr(&e, "level", level, false);
    if (ev->has_interval) {
        char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
        hs_time_format_iso(ev->interval.start, a);
        hs_time_format_iso(ev->interval.end, b);
        if (e.rc == HS_OK)
            e.rc = hs_buf_printf(
                out, ",\"interval\":[\"%s\",\"%s\"],\"interval_us\":[%" PRId64 ",%" PRId64 "]", a,
                b, ev->interval.start, ev->interval.end);
    }
    je_raw(&e, ",\"e\":[{");
    je_kstr(&e, "n", ev->name, true);
    je_kstr(&e, "vs", ev->text, false);
    je_raw(&e, "}]}");
    return e.rc;
}

static const pf mon_entry_fields[] = {
    {"n", PF_NONEMPTY, offsetof(hs_proto_mon, name), NULL},
    {"vs", PF_STR, offsetof(hs_proto_mon, text), NULL},
};

/* e: exactly one entry {n, vs}. */
static int pd_mon_entries(pd *d, void *obj)
{
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) != HS_OK || n != 1)
        return pd_bad(d, "an array of one entry");
    return pd_submap(d, mon_entry_fields, PF_N(mon_entry_fields), obj, PF_ALL(mon_entry_fields),
                     "event entry");
}

/* level: debug, info, warn or error. */
static int pd_mon_level(pd *d, void *obj)
{
    hs_proto_mon *ev = obj;
    int i = 0;
    int rc = pd_enum(d, mon_level_names, 4, "debug, info, warn or error", &i);
    if (rc == HS_OK)
        ev->level = (hs_proto_mon_level)(i - 1);
    return rc;
}

/* interval_us: [start, end] with start < end. */
static int pd_mon_interval_us(pd *d, void *obj)
{
    hs_proto_mon *ev = obj;
    return pd_interval(d, &ev->interval);
}

/* interval: [start ISO, end ISO]; checked against interval_us once both are read. */
static int pd_mon_interval_iso(pd *d, void *obj)
{
    hs_interval *iso = obj;
    uint32_t two;
    if (hs_mp_get_array(&d->r, &two) != HS_OK || two != 2)
        return pd_bad(d, "[start ISO time, end ISO time]");
    int rc = pd_iso(d, &iso->start);
    return rc == HS_OK ? pd_iso(d, &iso->end) : rc;
}

static const pf mon_fields[] = {
    {"uid", PF_NONEMPTY, offsetof(hs_proto_mon, service), NULL},
    {"bt", PF_ISO, offsetof(hs_proto_mon, t_us), NULL},
    {"e", PF_FN, 0, pd_mon_entries},
    {"level", PF_FN, 0, pd_mon_level},
    {"interval_us", PF_FN, 0, pd_mon_interval_us},
};

static const pf mon_iso_fields[] = {
    {"interval", PF_FN, 0, pd_mon_interval_iso},
};

int hs_proto_mon_decode(hs_proto_mon_msg *m, const char *json, size_t len)
{
    pm_init(&m->e, sizeof m->e, &m->arena);
    hs_interval iso = {0, 0};
    pf_set sets[2] = {{mon_fields, PF_N(mon_fields), &m->e, BIT(3) - 1, 0},
                      {mon_iso_fields, PF_N(mon_iso_fields), &iso, 0, 0}};
    int rc = pd_json_message(&m->arena, json, len, "event", sets, 2);
    bool has_us = sets[0].seen & BIT(4), has_iso = sets[1].seen & BIT(0);
    if (rc == HS_OK && has_us != has_iso)
        rc = hs_err_set(HS_ERR_PARSE, "event: 'interval' and 'interval_us' go together");
    else if (rc == HS_OK && has_us &&
             (iso.start != m->e.interval.start || iso.end != m->e.interval.end))
        rc = hs_err_set(HS_ERR_PARSE, "event: 'interval' and 'interval_us' differ");
    if (rc == HS_OK)
        m->e.has_interval = has_us;
    return rc;
}

void hs_proto_mon_msg_free(hs_proto_mon_msg *m)
{
    if (m != NULL)
        pm_free(&m->e, sizeof m->e, &m->arena);
}

/* ------------------------------------------------------------------ input schemas of workflows */

int hs_proto_schemas_encode(hs_buf *out, const hs_proto_schemas *s)
{
    bool ok = s->workflow != NULL && s->workflow[0] != '\0' && s->entries != NULL && s->n > 0 &&
              s->n <= HS_PROTO_SCHEMAS_MAX;
    for (size_t i = 0; ok && i < s->n; i++) {
        const hs_proto_schema_entry *x = &s->entries[i];
        ok = x->stream != NULL && x->stream[0] != '\0' && x->schema != NULL &&
             (x->schema->type == HS_V_MAP || x->schema->type == HS_V_BOOL);
    }
    if (!ok)
        return hs_err_set(HS_ERR_INVAL,
                          "input schemas: a workflow and 1 to %d entries of a "
                          "stream pattern and a map or boolean schema are required",
                          HS_PROTO_SCHEMAS_MAX);
    pe e = {out, HS_OK};
    pe_map(&e, 2);
    pe_kstr(&e, "workflow", s->workflow);
    pe_s(&e, "schemas");
    pe_array(&e, (uint32_t)s->n);
    for (size_t i = 0; i < s->n; i++) {
        pe_map(&e, 2);
        pe_kstr(&e, "stream", s->entries[i].stream);
        pe_s(&e, "schema");
        if (e.rc == HS_OK)
            e.rc = hs_value_encode(s->entries[i].schema, out);
    }
    return e.rc;
}

/* A STR value without NUL bytes as a NUL-terminated copy in a; NULL when it is not one. */
static const char *schemas_text(hs_arena *a, const hs_value *v, int *rc)
{
    if (v->type != HS_V_STR || v->len == 0 || memchr(v->u.s, '\0', v->len) != NULL)
        return NULL;
    char *s = hs_arena_strndup(a, v->u.s, v->len);
    if (s == NULL)
        *rc = pd_nomem();
    return s;
}

/* Decodes len bytes of data, copied into the arena first, into *out. */
static int schemas_tree(hs_arena *a, const uint8_t *data, size_t len, const hs_value **out)
{
    uint8_t *copy = hs_arena_alloc(a, len > 0 ? len : 1);
    if (copy == NULL)
        return pd_nomem();
    if (len > 0)
        memcpy(copy, data, len);
    hs_value *v = NULL;
    int rc = hs_value_decode(a, copy, len, &v);
    if (rc != HS_OK)
        return hs_err_set(rc, "input schemas: not one msgpack value: %s", hs_err_detail());
    *out = v;
    return HS_OK;
}

/* Reads the list [{stream, schema}, ...] into m->s.entries. */
static int schemas_list(hs_proto_schemas_msg *m, const hs_value *list)
{
    if (list->type != HS_V_ARRAY || list->len == 0)
        return hs_err_set(HS_ERR_PARSE, "input schemas: 'schemas' is not a non-empty list");
    if (list->len > HS_PROTO_SCHEMAS_MAX)
        return hs_err_set(HS_ERR_LIMIT, "input schemas: more than %d entries",
                          HS_PROTO_SCHEMAS_MAX);
    hs_proto_schema_entry *v = hs_arena_alloc(&m->arena, list->len * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    int rc = HS_OK;
    for (uint32_t i = 0; i < list->len; i++) {
        const hs_value *it = &list->u.items[i];
        const hs_value *st = hs_value_map_get(it, "stream", 6);
        const hs_value *sc = hs_value_map_get(it, "schema", 6);
        if (it->type != HS_V_MAP || it->len != 2 || st == NULL || sc == NULL)
            return hs_err_set(HS_ERR_PARSE,
                              "input schemas: schemas[%u] is not a map {stream, schema}", i);
        v[i].stream = schemas_text(&m->arena, st, &rc);
        if (rc != HS_OK)
            return rc;
        if (v[i].stream == NULL)
            return hs_err_set(HS_ERR_PARSE,
                              "input schemas: schemas[%u]: 'stream' is not a non-empty text", i);
        if (sc->type != HS_V_MAP && sc->type != HS_V_BOOL)
            return hs_err_set(HS_ERR_PARSE,
                              "input schemas: schemas[%u]: 'schema' is not a map or a boolean", i);
        v[i].schema = sc;
    }
    m->s.entries = v;
    m->s.n = list->len;
    return HS_OK;
}

int hs_proto_schemas_decode(hs_proto_schemas_msg *m, const uint8_t *data, size_t len)
{
    pm_init(&m->s, sizeof m->s, &m->arena);
    const hs_value *root = NULL;
    int rc = schemas_tree(&m->arena, data, len, &root);
    if (rc != HS_OK)
        return rc;
    if (root->type != HS_V_MAP)
        return hs_err_set(HS_ERR_PARSE, "input schemas: not a map {workflow, schemas}");
    const hs_value *list = NULL;
    for (uint32_t i = 0; i < root->len; i++) {
        const hs_value *k = &root->u.items[2 * i], *v = &root->u.items[2 * i + 1];
        if (k->len == 8 && memcmp(k->u.s, "workflow", 8) == 0 && m->s.workflow == NULL) {
            m->s.workflow = schemas_text(&m->arena, v, &rc);
            if (rc != HS_OK)
                return rc;
            if (m->s.workflow == NULL)
                return hs_err_set(HS_ERR_PARSE,
                                  "input schemas: field 'workflow' is not a non-empty text");
        } else if (k->len == 7 && memcmp(k->u.s, "schemas", 7) == 0 && list == NULL) {
            list = v;
        } else {
            return hs_err_set(HS_ERR_PARSE, "input schemas: unknown or repeated field '%.*s'",
                              (int)(k->len > 64 ? 64 : k->len), k->u.s);
        }
    }
    if (m->s.workflow == NULL || list == NULL)
        return hs_err_set(HS_ERR_PARSE, "input schemas: field '%s' is missing",
                          m->s.workflow == NULL ? "workflow" : "schemas");
    return schemas_list(m, list);
}

int hs_proto_schemas_from_list(hs_proto_schemas_msg *m, const char *workflow, const uint8_t *list,
                               size_t len)
{
    pm_init(&m->s, sizeof m->s, &m->arena);
    if (workflow == NULL || workflow[0] == '\0')
        return hs_err_set(HS_ERR_INVAL, "input schemas: no workflow id");
    m->s.workflow = hs_arena_strndup(&m->arena, workflow, strlen(workflow));
    if (m->s.workflow == NULL)
        return pd_nomem();
    const hs_value *root = NULL;
    int rc = schemas_tree(&m->arena, list, len, &root);
    return rc == HS_OK ? schemas_list(m, root) : rc;
}

void hs_proto_schemas_msg_free(hs_proto_schemas_msg *m)
{
    if (m != NULL)
        pm_free(&m->s, sizeof m->s, &m->arena);
}
