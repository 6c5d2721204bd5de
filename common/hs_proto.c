#include "hs_proto.h"

#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_time.h"

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
    return HS_OK;
}

int hs_proto_job_encode(hs_buf *out, const hs_proto_job *j)
{
    int rc = pe_check_job(j, true);
    if (rc != HS_OK)
        return rc;
    if (j->nsources > UINT32_MAX)
        return hs_err_set(HS_ERR_LIMIT, "job message: too many sources");
    uint32_t n = 14u + (j->request != NULL) + (j->output_plate != NULL);
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
    return e.rc;
}

/* ------------------------------------------------------------------ decoding */

/*
 * A decoder over one msgpack map: the message's name for errors, the arena
 * the copies go to, and the keys seen so far (for duplicates).
 */
typedef struct pd {
    hs_mp_reader r;
    hs_arena *arena;  /* borrowed */
    const char *what; /* message name, for errors */
    const char *key;  /* the field being read, for errors */
    uint64_t seen;    /* bit i: keys[i] was read */
} pd;

static int pd_bad(const pd *d, const char *expect)
{
    return hs_err_set(HS_ERR_PARSE, "%s: field '%s' is not %s", d->what, d->key, expect);
}

static int pd_nomem(void)
{
    return hs_err_set(HS_ERR_NOMEM, "out of memory decoding a message");
}

/*
 * Reads the next key and finds it in keys[]: HS_ERR_PARSE for a key that is
 * not a string, unknown, or seen before. Sets d->key to the table's name.
 */
static int pd_key(pd *d, const char *const *keys, size_t nkeys, size_t *idx)
{
    const char *k;
    uint32_t kl;
    if (hs_mp_get_str(&d->r, &k, &kl) != HS_OK)
        return hs_err_set(HS_ERR_PARSE, "%s: a map key is not a string", d->what);
    for (size_t i = 0; i < nkeys; i++) {
        if (strlen(keys[i]) == kl && memcmp(keys[i], k, kl) == 0) {
            if (d->seen & (UINT64_C(1) << i))
                return hs_err_set(HS_ERR_PARSE, "%s: field '%s' appears twice", d->what, keys[i]);
            d->seen |= UINT64_C(1) << i;
            d->key = keys[i];
            *idx = i;
            return HS_OK;
        }
    }
    return hs_err_set(HS_ERR_PARSE, "%s: unknown field '%.*s'", d->what, (int)(kl > 64 ? 64 : kl),
                      k);
}

/* HS_ERR_PARSE naming the first key of keys[] in the mask required that was not read. */
static int pd_required(const pd *d, const char *const *keys, size_t nkeys, uint64_t required)
{
    for (size_t i = 0; i < nkeys; i++)
        if ((required & (UINT64_C(1) << i)) && !(d->seen & (UINT64_C(1) << i)))
            return hs_err_set(HS_ERR_PARSE, "%s: field '%s' is missing", d->what, keys[i]);
    return HS_OK;
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

/* The factor index, as decimal text without sign or leading zeros. */
static int pd_factor(pd *d, uint32_t *factor)
{
    const char *s;
    uint32_t len;
    if (hs_mp_get_str(&d->r, &s, &len) != HS_OK || len == 0 || len > 9 || (len > 1 && s[0] == '0'))
        return pd_bad(d, "a factor index as decimal text");
    uint32_t v = 0;
    for (uint32_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return pd_bad(d, "a factor index as decimal text");
        v = v * 10u + (uint32_t)(s[i] - '0');
    }
    *factor = v;
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

/* The tool map {name, version, params}. */
static int pd_tool(pd *d, hs_proto_job *j)
{
    static const char *const keys[] = {"name", "version", "params"};
    uint32_t n;
    if (hs_mp_get_map(&d->r, &n) != HS_OK)
        return pd_bad(d, "a map");
    pd sub = {d->r, d->arena, "job tool", NULL, 0};
    int rc = HS_OK;
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        size_t k;
        rc = pd_key(&sub, keys, 3, &k);
        if (rc != HS_OK)
            break;
        if (k == 0)
            rc = pd_nonempty(&sub, &j->tool);
        else if (k == 1)
            rc = pd_nonempty(&sub, &j->version);
        else
            rc = pd_raw(&sub, HS_MP_MAP, "a map", &j->params, &j->params_len);
    }
    if (rc == HS_OK)
        rc = pd_required(&sub, keys, 3, 0x7);
    d->r = sub.r;
    return rc;
}

/* The job's sources: [[sid, from_us, to_us], ...] (a bare sid reads the job's interval). */
static int pd_sources(pd *d, hs_proto_job *j)
{
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) != HS_OK)
        return pd_bad(d, "an array of sources");
    hs_proto_source *v = hs_arena_alloc(d->arena, (n ? n : 1) * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    for (uint32_t i = 0; i < n; i++) {
        hs_mp_type t;
        if (hs_mp_peek(&d->r, &t) != HS_OK)
            return pd_bad(d, "an array of sources");
        if (t == HS_MP_STR) {
            int rc = pd_nonempty(d, &v[i].sid);
            if (rc != HS_OK)
                return rc;
            v[i].from_us = INT64_MIN; /* filled in once the interval is known */
            v[i].to_us = INT64_MIN;
            continue;
        }
        uint32_t three;
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

static void pd_init(pd *d, hs_arena *a, const uint8_t *data, size_t len, const char *what)
{
    memset(d, 0, sizeof *d);
    hs_mp_reader_init(&d->r, data, len);
    d->arena = a;
    d->what = what;
}

/* The fields a job header shares between the job message and job output parts. */
enum {
    JK_V,
    JK_JOB,
    JK_ATTEMPT,
    JK_WORKFLOW,
    JK_FACTOR,
    JK_PV,
    JK_TOOL,
    JK_BINDING,
    JK_INTERVAL,
    JK_SOURCES,
    JK_ALIGNMENT,
    JK_SPLITTING,
    JK_SINKS,
    JK_OUTPUT_META,
    JK_REQUEST,
    JK_OUTPUT_PLATE,
    JK_N,
};

static const char *const job_keys[] = {
    "v",     "job",         "attempt",  "workflow",     "factor",    "pv",
    "tool",  "binding",     "interval", "sources",      "alignment", "splitting",
    "sinks", "output_meta", "request",  "output_plate",
};

/* Decodes the value of job header field k into j. */
static int pd_job_field(pd *d, size_t k, hs_proto_job *j)
{
    uint64_t v;
    int rc;
    switch (k) {
    case JK_V:
        rc = pd_uint(d, &v);
        if (rc == HS_OK && v != HS_PROTO_VERSION)
            return hs_err_set(HS_ERR_PARSE, "%s: protocol version %" PRIu64 " is not %d", d->what,
                              v, HS_PROTO_VERSION);
        return rc;
    case JK_JOB:
        return pd_nonempty(d, &j->job);
    case JK_ATTEMPT:
        return pd_uint(d, &j->attempt);
    case JK_WORKFLOW:
        return pd_nonempty(d, &j->workflow);
    case JK_FACTOR:
        return pd_factor(d, &j->factor);
    case JK_PV:
        return pd_str(d, &j->pv);
    case JK_TOOL:
        return pd_tool(d, j);
    case JK_BINDING:
        return pd_nonempty(d, &j->binding);
    case JK_INTERVAL:
        return pd_interval(d, &j->interval);
    case JK_SOURCES:
        return pd_sources(d, j);
    case JK_ALIGNMENT:
        return pd_str_nil(d, &j->alignment);
    case JK_SPLITTING:
        return pd_str_nil(d, &j->splitting);
    case JK_SINKS:
        return pd_strs(d, &j->sinks, &j->nsinks);
    case JK_OUTPUT_META:
        return pd_str_nil(d, &j->output_meta);
    case JK_REQUEST:
        return pd_nonempty(d, &j->request);
    case JK_OUTPUT_PLATE:
        return pd_nonempty(d, &j->output_plate);
    default:
        return hs_err_set(HS_ERR_PARSE, "%s: unexpected field", d->what);
    }
}

#define BIT(i) (UINT64_C(1) << (i))

int hs_proto_job_decode(hs_proto_job_msg *m, const uint8_t *data, size_t len)
{
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    hs_proto_job *j = &m->job;
    pd d;
    pd_init(&d, &m->arena, data, len, "job");
    uint32_t n;
    if (hs_mp_get_map(&d.r, &n) != HS_OK)
        return hs_err_set(HS_ERR_PARSE, "job: not a msgpack map");
    for (uint32_t i = 0; i < n; i++) {
        size_t k;
        int rc = pd_key(&d, job_keys, JK_N, &k);
        if (rc == HS_OK)
            rc = pd_job_field(&d, k, j);
        if (rc != HS_OK)
            return rc;
    }
    if (!hs_mp_at_end(&d.r))
        return hs_err_set(HS_ERR_PARSE, "job: bytes after the map");
    uint64_t required = BIT(JK_JOB) | BIT(JK_WORKFLOW) | BIT(JK_FACTOR) | BIT(JK_PV) |
                        BIT(JK_TOOL) | BIT(JK_BINDING) | BIT(JK_INTERVAL) | BIT(JK_SOURCES) |
                        BIT(JK_SINKS);
    int rc = pd_required(&d, job_keys, JK_N, required);
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
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->job, 0, sizeof m->job);
}

long hs_proto_job_sink_index(const hs_proto_job *j, const char *sid)
{
    for (size_t k = 0; k < j->nsinks; k++)
        if (strcmp(j->sinks[k], sid) == 0)
            return (long)k;
    return -1;
}

/* ------------------------------------------------------------------ write requests */

static const char *const op_names[] = {"append", "job", "define", "purge", "doc_put", "doc_del"};

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

/* Whether the key of klen bytes is one of the envelope's. */
static bool envelope_key(const char *k, uint32_t klen)
{
    return (klen == 1 && k[0] == 'v') || (klen == 3 && memcmp(k, "inc", 3) == 0) ||
           (klen == 3 && memcmp(k, "seq", 3) == 0) || (klen == 2 && memcmp(k, "op", 2) == 0);
}

int hs_proto_wreq_envelope(const uint8_t *data, size_t len, hs_proto_envelope *env)
{
    memset(env, 0, sizeof *env);
    hs_mp_reader r;
    hs_mp_reader_init(&r, data, len);
    uint32_t n;
    if (hs_mp_get_map(&r, &n) != HS_OK)
        return hs_err_set(HS_ERR_PARSE, "write request: not a msgpack map");
    env->fields = r.p;
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
    env->fields_len = (size_t)(r.p - env->fields);
    env->nfields = n;
    return HS_OK;
}

/* Fields of a job output part beyond the job header (indexes continue job_keys). */
enum {
    OK_PART = JK_N,
    OK_PARTS,
    OK_STARTED,
    OK_DURATION,
    OK_RUNTIME,
    OK_ERROR,
    OK_PLATE_VALUES,
    OK_OUTPUTS,
    OK_N,
};

static const char *const jobout_keys[] = {
    "v",          "job",         "attempt",  "workflow",     "factor",       "pv",
    "tool",       "binding",     "interval", "sources",      "alignment",    "splitting",
    "sinks",      "output_meta", "request",  "output_plate", "part",         "parts",
    "started_us", "duration_us", "runtime",  "error",        "plate_values", "outputs",
};

int hs_proto_jobout_encode_fields(hs_buf *out, const hs_proto_jobout *o, uint32_t *nfields)
{
    const hs_proto_job *j = &o->hdr;
    int rc = pe_check_job(j, false);
    if (rc != HS_OK)
        return rc;
    if (o->parts == 0 || o->part >= o->parts || o->runtime == NULL ||
        (o->noutputs > 0 && o->outputs == NULL) ||
        (o->nplate_values > 0 && o->plate_values == NULL))
        return hs_err_set(HS_ERR_INVAL, "job output: bad part, runtime or lists");
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
    if (o->error != NULL) {
        pe_kstr(&e, "error", o->error);
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

/* outputs: [[sid, batch], ...], every sid one of the job's sinks. */
static int pd_outputs(pd *d, hs_proto_jobout *o)
{
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

int hs_proto_jobout_decode(hs_proto_jobout_msg *m, const hs_proto_envelope *env)
{
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    hs_proto_jobout *o = &m->out;
    pd d;
    pd_init(&d, &m->arena, env->fields, env->fields_len, "job output");
    int rc = HS_OK;
    for (uint32_t i = 0; rc == HS_OK && i < env->nfields; i++) {
        const char *k;
        uint32_t kl;
        hs_mp_reader peek = d.r;
        if (hs_mp_get_str(&peek, &k, &kl) == HS_OK && envelope_key(k, kl) &&
            !(kl == 1 && k[0] == 'v')) {
            /* inc, seq and op were read with the envelope. */
            d.r = peek;
            if (hs_mp_skip(&d.r) != HS_OK)
                return hs_err_set(HS_ERR_PARSE, "job output: truncated field value");
            continue;
        }
        size_t key;
        rc = pd_key(&d, jobout_keys, OK_N, &key);
        if (rc != HS_OK)
            break;
        uint64_t u;
        switch (key) {
        case OK_PART:
        case OK_PARTS:
            rc = pd_uint(&d, &u);
            if (rc == HS_OK && u > 100000)
                rc = pd_bad(&d, "at most 100000");
            if (rc == HS_OK && key == OK_PART)
                o->part = (uint32_t)u;
            else if (rc == HS_OK)
                o->parts = (uint32_t)u;
            break;
        case OK_STARTED:
            rc = pd_int(&d, &o->started_us);
            break;
        case OK_DURATION:
            rc = pd_int(&d, &o->duration_us);
            break;
        case OK_RUNTIME:
            rc = pd_str(&d, &o->runtime);
            break;
        case OK_ERROR:
            rc = pd_str(&d, &o->error);
            /* An empty error is no error (senders before this module wrote none). */
            if (rc == HS_OK && o->error[0] == '\0')
                o->error = NULL;
            break;
        case OK_PLATE_VALUES:
            rc = pd_strs(&d, &o->plate_values, &o->nplate_values);
            o->has_plate_values = rc == HS_OK;
            break;
        case OK_OUTPUTS:
            rc = pd_outputs(&d, o);
            break;
        case JK_SOURCES:
        case JK_ALIGNMENT:
        case JK_SPLITTING:
        case JK_OUTPUT_META:
            rc = hs_mp_skip(&d.r) == HS_OK ? HS_OK : pd_bad(&d, "a value");
            break;
        default:
            rc = pd_job_field(&d, key, &o->hdr);
            break;
        }
    }
    if (rc != HS_OK)
        return rc;
    if (!(d.seen & BIT(OK_PARTS)))
        o->parts = 1;
    if (o->runtime == NULL)
        o->runtime = "";
    rc = pd_required(&d, jobout_keys, OK_N,
                     BIT(JK_JOB) | BIT(JK_WORKFLOW) | BIT(JK_BINDING) | BIT(JK_INTERVAL) |
                         BIT(JK_SINKS));
    if (rc != HS_OK)
        return rc;
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
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->out, 0, sizeof m->out);
}

/* ------------------------------------------------------------------ other write requests */

int hs_proto_append_encode_fields(hs_buf *out, const hs_proto_append *a, uint32_t *nfields)
{
    if (a->stream == NULL || a->data == NULL)
        return hs_err_set(HS_ERR_INVAL, "append: stream and data are required");
    pe e = {out, HS_OK};
    pe_kstr(&e, "stream", a->stream);
    pe_s(&e, "data");
    pe_raw(&e, a->data, a->data_len);
    if (e.rc == HS_OK)
        *nfields = 2;
    return e.rc;
}

int hs_proto_define_encode_fields(hs_buf *out, const hs_proto_define *d, uint32_t *nfields)
{
    if ((d->n > 0 && d->items == NULL) || d->n > UINT32_MAX)
        return hs_err_set(HS_ERR_INVAL, "define: bad list of streams");
    pe e = {out, HS_OK};
    pe_s(&e, "streams");
    pe_array(&e, (uint32_t)d->n);
    for (size_t i = 0; i < d->n; i++) {
        pe_array(&e, 3);
        pe_s(&e, d->items[i].sid);
        pe_int(&e, d->items[i].kind);
        if (d->items[i].binding != NULL)
            pe_s(&e, d->items[i].binding);
        else
            pe_nil(&e);
    }
    if (e.rc == HS_OK)
        *nfields = 1;
    return e.rc;
}

int hs_proto_purge_encode_fields(hs_buf *out, const hs_proto_purge *p, uint32_t *nfields)
{
    if (p->stream == NULL)
        return hs_err_set(HS_ERR_INVAL, "purge: stream is required");
    pe e = {out, HS_OK};
    pe_kstr(&e, "stream", p->stream);
    pe_s(&e, "remove");
    if (e.rc == HS_OK)
        e.rc = hs_mp_put_bool(out, p->remove);
    if (e.rc == HS_OK)
        *nfields = 2;
    return e.rc;
}

int hs_proto_doc_encode_fields(hs_buf *out, const hs_proto_doc *d, uint32_t *nfields)
{
    if (d->coll == NULL || d->key == NULL)
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

/* define's streams: [[id, kind, binding or nil], ...]. */
static int pd_define(pd *d, hs_proto_define *def)
{
    uint32_t n;
    if (hs_mp_get_array(&d->r, &n) != HS_OK)
        return pd_bad(d, "an array of [id, kind, binding]");
    hs_proto_define_item *v = hs_arena_alloc(d->arena, (n ? n : 1) * sizeof *v);
    if (v == NULL)
        return pd_nomem();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t three;
        int64_t kind;
        if (hs_mp_get_array(&d->r, &three) != HS_OK || three != 3)
            return hs_err_set(HS_ERR_PARSE, "stream definition %u is not [id, kind, binding]", i);
        int rc = pd_nonempty(d, &v[i].sid);
        if (rc != HS_OK)
            return rc;
        if (hs_mp_get_int(&d->r, &kind) != HS_OK || kind < 0 || kind > 16)
            return hs_err_set(HS_ERR_PARSE, "stream definition %u is not [id, kind, binding]", i);
        v[i].kind = (int)kind;
        if (hs_mp_get_nil(&d->r) == HS_OK)
            v[i].binding = NULL;
        else if (pd_str(d, &v[i].binding) != HS_OK)
            return hs_err_set(HS_ERR_PARSE, "stream definition %u: binding is not a string", i);
    }
    def->items = v;
    def->n = n;
    return HS_OK;
}

int hs_proto_wreq_decode(hs_proto_wreq_msg *m, const hs_proto_envelope *env)
{
    static const char *const keys[] = {"v",      "inc",     "seq",  "op",  "stream", "data",
                                       "remove", "streams", "coll", "key", "json"};
    enum { K_STREAM = 4, K_DATA, K_REMOVE, K_STREAMS, K_COLL, K_KEY, K_JSON, K_N };
    static const uint64_t allowed[] = {
        [HS_OP_APPEND] = BIT(K_STREAM) | BIT(K_DATA),
        [HS_OP_JOB] = 0,
        [HS_OP_DEFINE] = BIT(K_STREAMS),
        [HS_OP_PURGE] = BIT(K_STREAM) | BIT(K_REMOVE),
        [HS_OP_DOC_PUT] = BIT(K_COLL) | BIT(K_KEY) | BIT(K_JSON),
        [HS_OP_DOC_DEL] = BIT(K_COLL) | BIT(K_KEY),
        [HS_OP_UNKNOWN] = 0,
    };
    static const uint64_t required[] = {
        [HS_OP_APPEND] = BIT(K_STREAM) | BIT(K_DATA),
        [HS_OP_JOB] = 0,
        [HS_OP_DEFINE] = BIT(K_STREAMS),
        [HS_OP_PURGE] = BIT(K_STREAM),
        [HS_OP_DOC_PUT] = BIT(K_COLL) | BIT(K_KEY) | BIT(K_JSON),
        [HS_OP_DOC_DEL] = BIT(K_COLL) | BIT(K_KEY),
        [HS_OP_UNKNOWN] = 0,
    };
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    m->op = env->op;
    if (env->op == HS_OP_JOB || env->op == HS_OP_UNKNOWN)
        return hs_err_set(HS_ERR_INVAL, "write request: op '%s' has no decoder here", env->op_text);
    pd d;
    pd_init(&d, &m->arena, env->fields, env->fields_len, hs_proto_op_name(env->op));
    for (uint32_t i = 0; i < env->nfields; i++) {
        size_t k;
        int rc = pd_key(&d, keys, K_N, &k);
        if (rc != HS_OK)
            return rc;
        if (k < K_STREAM) { /* the envelope's, read already */
            if (hs_mp_skip(&d.r) != HS_OK)
                return pd_bad(&d, "a value");
            continue;
        }
        if (!(allowed[env->op] & BIT(k)))
            return hs_err_set(HS_ERR_PARSE, "%s: unknown field '%s'", d.what, keys[k]);
        switch (k) {
        case K_STREAM:
            rc = pd_nonempty(&d, m->op == HS_OP_APPEND ? &m->u.append.stream : &m->u.purge.stream);
            break;
        case K_DATA:
            rc = pd_raw(&d, HS_MP_ARRAY, "an array of instances", &m->u.append.data,
                        &m->u.append.data_len);
            break;
        case K_REMOVE:
            rc =
                hs_mp_get_bool(&d.r, &m->u.purge.remove) == HS_OK ? HS_OK : pd_bad(&d, "a boolean");
            break;
        case K_STREAMS:
            rc = pd_define(&d, &m->u.define);
            break;
        case K_COLL:
            rc = pd_nonempty(&d, &m->u.doc.coll);
            break;
        case K_KEY:
            rc = pd_nonempty(&d, &m->u.doc.key);
            break;
        default:
            rc = pd_str(&d, &m->u.doc.json);
            break;
        }
        if (rc != HS_OK)
            return rc;
    }
    return pd_required(&d, keys, K_N, required[env->op]);
}

void hs_proto_wreq_msg_free(hs_proto_wreq_msg *m)
{
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->u, 0, sizeof m->u);
}

/* ------------------------------------------------------------------ acknowledgements */

int hs_proto_ack_item_encode(hs_buf *items, const hs_proto_ack_item *it)
{
    bool ok = it->status == HS_ACK_OK;
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

static int pd_ack_items(pd *d, hs_proto_ack *a)
{
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

int hs_proto_ack_decode(hs_proto_ack_msg *m, const uint8_t *data, size_t len)
{
    static const char *const keys[] = {"v", "inc", "acks"};
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    pd d;
    pd_init(&d, &m->arena, data, len, "acknowledgement");
    uint32_t n;
    if (hs_mp_get_map(&d.r, &n) != HS_OK)
        return hs_err_set(HS_ERR_PARSE, "acknowledgement: not a msgpack map");
    for (uint32_t i = 0; i < n; i++) {
        size_t k;
        uint64_t v;
        int rc = pd_key(&d, keys, 3, &k);
        if (rc == HS_OK && k == 0) {
            rc = pd_uint(&d, &v);
            if (rc == HS_OK && v != HS_PROTO_VERSION)
                rc = pd_bad(&d, "1");
        } else if (rc == HS_OK && k == 1) {
            rc = pd_uint(&d, &m->ack.inc);
        } else if (rc == HS_OK) {
            rc = pd_ack_items(&d, &m->ack);
        }
        if (rc != HS_OK)
            return rc;
    }
    if (!hs_mp_at_end(&d.r))
        return hs_err_set(HS_ERR_PARSE, "acknowledgement: bytes after the map");
    return pd_required(&d, keys, 3, 0x6);
}

void hs_proto_ack_msg_free(hs_proto_ack_msg *m)
{
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->ack, 0, sizeof m->ack);
}

/* ------------------------------------------------------------------ commit notices */

static const char *const outcome_names[] = {"ok", "failed", "stale"};

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
    pe_map(&e, 8u + (c->request != NULL) + pvs);
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
    return e.rc;
}

int hs_proto_committed_decode(hs_proto_committed_msg *m, const uint8_t *data, size_t len)
{
    static const char *const keys[] = {"job",     "workflow", "factor", "pv",      "interval",
                                       "outcome", "count",    "error",  "request", "plate_values"};
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    hs_proto_committed *c = &m->c;
    pd d;
    pd_init(&d, &m->arena, data, len, "commit notice");
    uint32_t n;
    if (hs_mp_get_map(&d.r, &n) != HS_OK)
        return hs_err_set(HS_ERR_PARSE, "commit notice: not a msgpack map");
    for (uint32_t i = 0; i < n; i++) {
        size_t k;
        int rc = pd_key(&d, keys, 10, &k);
        if (rc != HS_OK)
            return rc;
        const char *o;
        switch (k) {
        case 0:
            rc = pd_nonempty(&d, &c->job);
            break;
        case 1:
            rc = pd_nonempty(&d, &c->workflow);
            break;
        case 2:
            rc = pd_factor(&d, &c->factor);
            break;
        case 3:
            rc = pd_str(&d, &c->pv);
            break;
        case 4:
            rc = pd_interval(&d, &c->interval);
            break;
        case 5:
            rc = pd_str(&d, &o);
            if (rc == HS_OK) {
                size_t x = 0;
                while (x < 3 && strcmp(outcome_names[x], o) != 0)
                    x++;
                if (x == 3)
                    rc = pd_bad(&d, "ok, failed or stale");
                c->outcome = (hs_proto_outcome)x;
            }
            break;
        case 6:
            rc = pd_uint(&d, &c->count);
            break;
        case 7:
            rc = pd_str(&d, &c->error);
            break;
        case 8:
            rc = pd_nonempty(&d, &c->request);
            break;
        default:
            rc = pd_strs(&d, &c->plate_values, &c->nplate_values);
            c->has_plate_values = rc == HS_OK;
            break;
        }
        if (rc != HS_OK)
            return rc;
    }
    if (!hs_mp_at_end(&d.r))
        return hs_err_set(HS_ERR_PARSE, "commit notice: bytes after the map");
    int rc = pd_required(&d, keys, 10, 0xff);
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
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->c, 0, sizeof m->c);
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
    if (h->job == NULL || h->workflow == NULL || h->pv == NULL || (size_t)h->outcome > 2)
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

/*
 * Starts decoding a JSON object: converts it to msgpack in tmp (the caller
 * frees tmp after the decode) and positions d on the map. *n receives the
 * member count.
 */
static int pd_json(pd *d, hs_arena *a, hs_buf *tmp, const char *json, size_t len, const char *what,
                   uint32_t *n)
{
    pd_init(d, a, NULL, 0, what);
    if (hs_json_to_mpack(json, len, tmp) != HS_OK)
        return hs_err_set(HS_ERR_PARSE, "%s: not JSON: %s", what, hs_err_detail());
    hs_mp_reader_init(&d->r, tmp->data, tmp->len);
    if (hs_mp_get_map(&d->r, n) != HS_OK)
        return hs_err_set(HS_ERR_PARSE, "%s: not a JSON object", what);
    return HS_OK;
}

static int pd_bool(pd *d, bool *v)
{
    return hs_mp_get_bool(&d->r, v) == HS_OK ? HS_OK : pd_bad(d, "true or false");
}

static int pd_double(pd *d, double *v)
{
    return hs_mp_get_number(&d->r, v) == HS_OK ? HS_OK : pd_bad(d, "a number");
}

/* Reads an ISO-8601 time text into *t_us. */
static int pd_iso(pd *d, int64_t *t_us)
{
    const char *s;
    uint32_t len;
    if (hs_mp_get_str(&d->r, &s, &len) != HS_OK || hs_time_parse_iso(s, len, t_us) != HS_OK)
        return pd_bad(d, "an ISO-8601 time");
    return HS_OK;
}

static const char *const req_state_names[] = {"running", "done", "failed"};

const char *hs_proto_req_state_name(hs_proto_req_state st)
{
    return (size_t)st < 3 ? req_state_names[st] : "?";
}

static int pd_req_state(pd *d, hs_proto_req_state *st)
{
    const char *s;
    int rc = pd_str(d, &s);
    for (size_t i = 0; rc == HS_OK && i < 3; i++) {
        if (strcmp(s, req_state_names[i]) == 0) {
            *st = (hs_proto_req_state)i;
            return HS_OK;
        }
    }
    return rc == HS_OK ? pd_bad(d, "running, done or failed") : rc;
}

/* ------------------------------------------------------------------ service status */

static const char *const state_names[] = {"offline", "online", "paused"};
static const char *const reason_names[] = {"", "stopped", "connection lost"};
static const char *const service_kinds[] = {"writer", "ingest", "scheduler", "tool"};

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

int hs_proto_status_encode(hs_buf *out, const hs_proto_status *st)
{
    const char *tools = st->tools != NULL ? st->tools : "";
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
    je_raw(&e, "}");
    return e.rc;
}

/* Reads a name of names[] into *idx; expect describes them for the error. */
static int pd_enum(pd *d, const char *const *names, size_t n, const char *expect, size_t *idx)
{
    const char *s;
    int rc = pd_str(d, &s);
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        if (names[i][0] != '\0' && strcmp(s, names[i]) == 0) {
            *idx = i;
            return HS_OK;
        }
    }
    return rc == HS_OK ? pd_bad(d, expect) : rc;
}

enum {
    SK_STATE,
    SK_ID,
    SK_SERVICE,
    SK_VERSION,
    SK_PID,
    SK_HOST,
    SK_STARTED,
    SK_INCARNATION,
    SK_REASON,
    SK_TOOLS,
    SK_N,
};

static const char *const status_keys[] = {"state", "id",      "service",     "version", "pid",
                                          "host",  "started", "incarnation", "reason",  "tools"};

static int pd_status_field(pd *d, size_t k, hs_proto_status *st)
{
    size_t idx = 0;
    int rc;
    switch (k) {
    case SK_STATE:
        rc = pd_enum(d, state_names, 3, "online, paused or offline", &idx);
        st->state = (hs_proto_state)idx;
        return rc;
    case SK_ID:
        return pd_nonempty(d, &st->id);
    case SK_SERVICE:
        rc = pd_str(d, &st->service);
        if (rc == HS_OK && !name_in(st->service, service_kinds, 4))
            return pd_bad(d, "writer, ingest, scheduler or tool");
        return rc;
    case SK_VERSION:
        return pd_nonempty(d, &st->version);
    case SK_PID:
        rc = pd_int(d, &st->pid);
        return rc == HS_OK && st->pid < 1 ? pd_bad(d, "a process id >= 1") : rc;
    case SK_HOST:
        return pd_str(d, &st->host);
    case SK_STARTED:
        return pd_iso(d, &st->started_us);
    case SK_INCARNATION:
        return pd_uint(d, &st->incarnation);
    case SK_REASON:
        rc = pd_enum(d, reason_names, 3, "stopped or connection lost", &idx);
        st->reason = (hs_proto_reason)idx;
        return rc;
    default:
        rc = pd_str(d, &st->tools);
        if (rc == HS_OK && !status_tools_ok(st->tools))
            return pd_bad(d, "a tool name or all");
        return rc;
    }
}

int hs_proto_status_decode(hs_proto_status_msg *m, const char *json, size_t len)
{
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    hs_proto_status *st = &m->st;
    st->tools = "";
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    pd d;
    uint32_t n;
    int rc = pd_json(&d, &m->arena, &tmp, json, len, "status", &n);
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        size_t k;
        rc = pd_key(&d, status_keys, SK_N, &k);
        if (rc == HS_OK)
            rc = pd_status_field(&d, k, st);
    }
    if (rc == HS_OK)
        rc = pd_required(&d, status_keys, SK_N, BIT(SK_N - 2) - 1);
    bool offline = st->state == HS_PROTO_OFFLINE,
         tool = rc == HS_OK && strcmp(st->service, "tool") == 0;
    if (rc == HS_OK && offline && st->reason == HS_PROTO_REASON_NONE)
        rc = hs_err_set(HS_ERR_PARSE, "status: field 'reason' is missing (state offline)");
    else if (rc == HS_OK && !offline && st->reason != HS_PROTO_REASON_NONE)
        rc = hs_err_set(HS_ERR_PARSE, "status: field 'reason' is only for state offline");
    else if (rc == HS_OK && !tool && st->tools[0] != '\0')
        rc = hs_err_set(HS_ERR_PARSE, "status: field 'tools' is only for service tool");
    else if (rc == HS_OK && tool && !offline && st->tools[0] == '\0')
        rc = hs_err_set(HS_ERR_PARSE, "status: field 'tools' is missing (a tool runtime %s)",
                        state_names[st->state]);
    hs_buf_free(&tmp);
    return rc;
}

void hs_proto_status_msg_free(hs_proto_status_msg *m)
{
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->st, 0, sizeof m->st);
}

static const char *const api_op_names[] = {"workflow_add", "workflow_rm", "compute", "ping"};

int hs_proto_api_req_encode(hs_buf *out, const hs_proto_api_req *r)
{
    if ((size_t)r->op >= 4)
        return hs_err_set(HS_ERR_INVAL, "API request: unknown op");
    if ((r->op == HS_API_WORKFLOW_ADD && r->definition == NULL) ||
        ((r->op == HS_API_WORKFLOW_RM || r->op == HS_API_COMPUTE) && r->workflow == NULL))
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
    }
    je_raw(&e, "}");
    return e.rc;
}

int hs_proto_api_req_decode(hs_proto_api_req_msg *m, const char *json, size_t len)
{
    static const char *const keys[] = {"op",   "definition", "filename", "workflow",
                                       "from", "to",         "request"};
    /* The members each op may have, by bit of keys[]. */
    static const uint64_t allowed[] = {0x7, 0x9, 0x79, 0x1, 0x7f};
    static const uint64_t required[] = {0x3, 0x9, 0x39, 0x1, 0x1};
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    hs_proto_api_req *r = &m->req;
    r->op = HS_API_UNKNOWN;
    r->op_text = "";
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    pd d;
    uint32_t n;
    int rc = pd_json(&d, &m->arena, &tmp, json, len, "API request", &n);
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        size_t k;
        rc = pd_key(&d, keys, 7, &k);
        if (rc != HS_OK)
            break;
        switch (k) {
        case 0:
            rc = pd_str(&d, &r->op_text);
            break;
        case 1:
            rc = pd_nonempty(&d, &r->definition);
            break;
        case 2:
            rc = pd_nonempty(&d, &r->filename);
            break;
        case 3:
            rc = pd_nonempty(&d, &r->workflow);
            break;
        case 4:
            rc = pd_int(&d, &r->iv.start);
            break;
        case 5:
            rc = pd_int(&d, &r->iv.end);
            break;
        default:
            rc = pd_nonempty(&d, &r->request);
            if (rc == HS_OK && (strlen(r->request) > 63 || strpbrk(r->request, "/+#") != NULL))
                rc = pd_bad(&d, "at most 63 bytes without '/', '+' or '#'");
            break;
        }
    }
    for (size_t i = 0; rc == HS_OK && i < 4; i++)
        if (strcmp(r->op_text, api_op_names[i]) == 0)
            r->op = (hs_api_op)i;
    if (rc == HS_OK && (d.seen & ~allowed[r->op]) != 0) {
        for (size_t i = 0; i < 7; i++)
            if ((d.seen & ~allowed[r->op]) & BIT(i)) {
                rc = hs_err_set(HS_ERR_PARSE, "API request: '%s' does not take '%s'", r->op_text,
                                keys[i]);
                break;
            }
    }
    if (rc == HS_OK)
        rc = pd_required(&d, keys, 7, required[r->op]);
    if (rc == HS_OK && r->op == HS_API_COMPUTE && r->iv.start >= r->iv.end)
        rc = hs_err_set(HS_ERR_PARSE, "API request: compute needs from < to (microseconds)");
    hs_buf_free(&tmp);
    return rc;
}

void hs_proto_api_req_msg_free(hs_proto_api_req_msg *m)
{
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->req, 0, sizeof m->req);
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
        break;
    case HS_API_PING:
        je_kuint(&e, "workflows", r->workflows);
        je_kuint(&e, "jobs", r->jobs);
        je_kuint(&e, "inflight", r->inflight);
        break;
    default:
        break;
    }
    je_raw(&e, "}");
    return e.rc;
}

int hs_proto_api_reply_decode(hs_proto_api_reply_msg *m, const char *json, size_t len)
{
    static const char *const keys[] = {"ok",      "error", "workflow",  "factors", "unchanged",
                                       "request", "jobs",  "workflows", "inflight"};
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    hs_proto_api_reply *r = &m->reply;
    r->op = HS_API_UNKNOWN;
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    pd d;
    uint32_t n;
    int rc = pd_json(&d, &m->arena, &tmp, json, len, "API reply", &n);
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        size_t k;
        rc = pd_key(&d, keys, 9, &k);
        if (rc != HS_OK)
            break;
        switch (k) {
        case 0:
            rc = pd_bool(&d, &r->ok);
            break;
        case 1:
            rc = pd_nonempty(&d, &r->error);
            break;
        case 2:
            rc = pd_nonempty(&d, &r->workflow);
            break;
        case 3:
            rc = pd_uint(&d, &r->factors);
            break;
        case 4:
            rc = pd_bool(&d, &r->unchanged);
            break;
        case 5:
            rc = pd_nonempty(&d, &r->request);
            break;
        case 6:
            rc = pd_uint(&d, &r->jobs);
            break;
        case 7:
            rc = pd_uint(&d, &r->workflows);
            break;
        default:
            rc = pd_uint(&d, &r->inflight);
            break;
        }
    }
    if (rc == HS_OK)
        rc = pd_required(&d, keys, 9, r->ok ? 0x1 : 0x3);
    hs_buf_free(&tmp);
    return rc;
}

void hs_proto_api_reply_msg_free(hs_proto_api_reply_msg *m)
{
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->reply, 0, sizeof m->reply);
}

int hs_proto_progress_encode(hs_buf *out, const hs_proto_progress *p)
{
    if (p->request == NULL || p->workflow == NULL || (size_t)p->state > 2)
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
    je_raw(&e, "}");
    return e.rc;
}

int hs_proto_progress_decode(hs_proto_progress_msg *m, const char *json, size_t len)
{
    static const char *const keys[] = {"request",    "workflow",  "state",
                                       "jobs_total", "jobs_done", "jobs_failed",
                                       "instances",  "elapsed_s", "error"};
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    hs_proto_progress *p = &m->p;
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    pd d;
    uint32_t n;
    int rc = pd_json(&d, &m->arena, &tmp, json, len, "progress", &n);
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        size_t k;
        rc = pd_key(&d, keys, 9, &k);
        if (rc != HS_OK)
            break;
        uint64_t *u[] = {NULL,         NULL, NULL, &p->jobs_total, &p->jobs_done, &p->jobs_failed,
                         &p->instances};
        if (k == 0)
            rc = pd_nonempty(&d, &p->request);
        else if (k == 1)
            rc = pd_nonempty(&d, &p->workflow);
        else if (k == 2)
            rc = pd_req_state(&d, &p->state);
        else if (k <= 6)
            rc = pd_uint(&d, u[k]);
        else if (k == 7)
            rc = pd_double(&d, &p->elapsed_s);
        else
            rc = pd_str(&d, &p->error);
    }
    if (rc == HS_OK)
        rc = pd_required(&d, keys, 9, 0xff);
    hs_buf_free(&tmp);
    return rc;
}

void hs_proto_progress_msg_free(hs_proto_progress_msg *m)
{
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->p, 0, sizeof m->p);
}

int hs_proto_request_doc_encode(hs_buf *out, const hs_proto_request_doc *d)
{
    if (d->request == NULL || d->workflow == NULL || (size_t)d->state > 2)
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

int hs_proto_request_doc_decode(hs_proto_request_doc_msg *m, const char *json, size_t len)
{
    static const char *const keys[] = {"request", "workflow", "from",      "to",
                                       "from_us", "to_us",    "state",     "jobs",
                                       "done",    "failed",   "instances", "error"};
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    hs_proto_request_doc *r = &m->d;
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    pd d;
    uint32_t n;
    int rc = pd_json(&d, &m->arena, &tmp, json, len, "request document", &n);
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        size_t k;
        rc = pd_key(&d, keys, 12, &k);
        if (rc != HS_OK)
            break;
        uint64_t *u[] = {&r->jobs, &r->done, &r->failed, &r->instances};
        int64_t ignored;
        if (k == 0)
            rc = pd_nonempty(&d, &r->request);
        else if (k == 1)
            rc = pd_nonempty(&d, &r->workflow);
        else if (k == 2 || k == 3)
            rc = pd_iso(&d, &ignored); /* for people; the _us members are exact */
        else if (k == 4)
            rc = pd_int(&d, &r->iv.start);
        else if (k == 5)
            rc = pd_int(&d, &r->iv.end);
        else if (k == 6)
            rc = pd_req_state(&d, &r->state);
        else if (k <= 10)
            rc = pd_uint(&d, u[k - 7]);
        else
            rc = pd_str(&d, &r->error);
    }
    if (rc == HS_OK)
        rc = pd_required(&d, keys, 12, BIT(0) | BIT(1) | BIT(4) | BIT(5) | BIT(6));
    if (rc == HS_OK && r->iv.start >= r->iv.end)
        rc = hs_err_set(HS_ERR_PARSE, "request document: from_us is not before to_us");
    hs_buf_free(&tmp);
    return rc;
}

void hs_proto_request_doc_msg_free(hs_proto_request_doc_msg *m)
{
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->d, 0, sizeof m->d);
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

int hs_proto_workflow_doc_decode(hs_proto_workflow_doc_msg *m, const char *json, size_t len)
{
    static const char *const keys[] = {"id", "filename", "added", "text"};
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    pd d;
    uint32_t n;
    int rc = pd_json(&d, &m->arena, &tmp, json, len, "workflow document", &n);
    const char **v[] = {&m->d.id, &m->d.filename, &m->d.added, &m->d.text};
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        size_t k;
        rc = pd_key(&d, keys, 4, &k);
        if (rc == HS_OK)
            rc = k == 3 ? pd_str(&d, v[k]) : pd_nonempty(&d, v[k]);
    }
    if (rc == HS_OK)
        rc = pd_required(&d, keys, 4, 0x9);
    if (rc == HS_OK && m->d.filename == NULL)
        m->d.filename = "workflow";
    if (rc == HS_OK && m->d.added == NULL)
        m->d.added = "";
    hs_buf_free(&tmp);
    return rc;
}

void hs_proto_workflow_doc_msg_free(hs_proto_workflow_doc_msg *m)
{
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->d, 0, sizeof m->d);
}

int hs_proto_online_doc_encode(hs_buf *out, int64_t last_end_us)
{
    hs_buf_reset(out);
    return hs_buf_printf(out, "{\"last_end_us\":%" PRId64 "}", last_end_us);
}

int hs_proto_online_doc_decode(const char *json, size_t len, int64_t *last_end_us)
{
    static const char *const keys[] = {"last_end_us"};
    hs_arena a;
    hs_arena_init(&a, 256, 0);
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    pd d;
    uint32_t n;
    int rc = pd_json(&d, &a, &tmp, json, len, "online document", &n);
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        size_t k;
        rc = pd_key(&d, keys, 1, &k);
        if (rc == HS_OK)
            rc = pd_int(&d, last_end_us);
    }
    if (rc == HS_OK)
        rc = pd_required(&d, keys, 1, 0x1);
    hs_buf_free(&tmp);
    hs_arena_free(&a);
    return rc;
}

/* The history record's tool object {name, version, params}. */
static int pd_history_tool(pd *d, hs_proto_history *h)
{
    static const char *const keys[] = {"name", "version", "params"};
    uint32_t n;
    if (hs_mp_get_map(&d->r, &n) != HS_OK)
        return pd_bad(d, "an object");
    pd sub = {d->r, d->arena, "history tool", NULL, 0};
    int rc = HS_OK;
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        size_t k;
        rc = pd_key(&sub, keys, 3, &k);
        if (rc != HS_OK)
            break;
        if (k == 0) {
            rc = pd_nonempty(&sub, &h->tool);
        } else if (k == 1) {
            rc = pd_str(&sub, &h->version);
        } else {
            const uint8_t *p;
            size_t pl;
            rc = pd_raw(&sub, HS_MP_MAP, "an object", &p, &pl);
            uint8_t *copy = rc == HS_OK ? hs_arena_alloc(sub.arena, pl) : NULL;
            if (rc == HS_OK && copy == NULL)
                rc = pd_nomem();
            if (rc == HS_OK) {
                memcpy(copy, p, pl);
                h->params = copy;
                h->params_len = pl;
            }
        }
    }
    if (rc == HS_OK)
        rc = pd_required(&sub, keys, 3, 0x1);
    d->r = sub.r;
    return rc;
}

int hs_proto_history_decode(hs_proto_history_msg *m, const char *json, size_t len)
{
    static const char *const keys[] = {
        "job",      "workflow",  "factor",  "plate_value", "tool",      "interval",
        "start_us", "end_us",    "count",   "inserted",    "conflicts", "duration_us",
        "attempt",  "committed", "outcome", "runtime",     "error"};
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, HS_PROTO_ARENA_CHUNK, 0);
    hs_proto_history *h = &m->h;
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    pd d;
    uint32_t n;
    int rc = pd_json(&d, &m->arena, &tmp, json, len, "history record", &n);
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        size_t k;
        rc = pd_key(&d, keys, 17, &k);
        if (rc != HS_OK)
            break;
        const char *o;
        uint32_t two;
        int64_t ignored;
        switch (k) {
        case 0:
            rc = pd_nonempty(&d, &h->job);
            break;
        case 1:
            rc = pd_nonempty(&d, &h->workflow);
            break;
        case 2:
            rc = pd_factor(&d, &h->factor);
            break;
        case 3:
            rc = pd_str(&d, &h->pv);
            break;
        case 4:
            rc = pd_history_tool(&d, h);
            break;
        case 5: /* for people; start_us and end_us are exact */
            if (hs_mp_get_array(&d.r, &two) != HS_OK || two != 2)
                rc = pd_bad(&d, "[start, end] as ISO-8601 text");
            if (rc == HS_OK)
                rc = pd_iso(&d, &ignored);
            if (rc == HS_OK)
                rc = pd_iso(&d, &ignored);
            break;
        case 6:
            rc = pd_int(&d, &h->interval.start);
            break;
        case 7:
            rc = pd_int(&d, &h->interval.end);
            break;
        case 8:
            rc = pd_uint(&d, &h->count);
            break;
        case 9:
            rc = pd_uint(&d, &h->inserted);
            break;
        case 10:
            rc = pd_uint(&d, &h->conflicts);
            break;
        case 11:
            rc = pd_int(&d, &h->duration_us);
            break;
        case 12:
            rc = pd_uint(&d, &h->attempt);
            break;
        case 13:
            rc = pd_iso(&d, &h->committed_us);
            break;
        case 14:
            rc = pd_str(&d, &o);
            if (rc == HS_OK) {
                size_t x = 0;
                while (x < 3 && strcmp(outcome_names[x], o) != 0)
                    x++;
                if (x == 3)
                    rc = pd_bad(&d, "ok, failed or stale");
                h->outcome = (hs_proto_outcome)x;
            }
            break;
        case 15:
            rc = pd_str(&d, &h->runtime);
            break;
        default:
            rc = pd_str(&d, &h->error);
            break;
        }
    }
    if (rc == HS_OK)
        rc = pd_required(&d, keys, 17,
                         BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(6) | BIT(7) | BIT(13) | BIT(14));
    if (rc == HS_OK && h->runtime == NULL)
        h->runtime = "";
    hs_buf_free(&tmp);
    return rc;
}

void hs_proto_history_msg_free(hs_proto_history_msg *m)
{
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->h, 0, sizeof m->h);
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
    static const char *const keys[] = {"stream"};
    hs_arena a;
    hs_arena_init(&a, 256, 0);
    pd d;
    pd_init(&d, &a, data, len, "purge notice");
    uint32_t n;
    const char *s = NULL;
    int rc = hs_mp_get_map(&d.r, &n) == HS_OK
                 ? HS_OK
                 : hs_err_set(HS_ERR_PARSE, "purge notice: not a msgpack map");
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        size_t k;
        rc = pd_key(&d, keys, 1, &k);
        if (rc == HS_OK)
            rc = pd_nonempty(&d, &s);
    }
    if (rc == HS_OK && !hs_mp_at_end(&d.r))
        rc = hs_err_set(HS_ERR_PARSE, "purge notice: bytes after the map");
    if (rc == HS_OK)
        rc = pd_required(&d, keys, 1, 0x1);
    if (rc == HS_OK && strlen(s) >= bufsize)
        rc = hs_err_set(HS_ERR_LIMIT, "purge notice: stream id longer than %zu bytes", bufsize);
    if (rc == HS_OK)
        memcpy(buf, s, strlen(s) + 1);
    hs_arena_free(&a);
    return rc;
}
