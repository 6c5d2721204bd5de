/*
 * Tests of hs_proto, the message contract: for every message a fully
 * populated and a minimal struct go through the encoder and the decoder and
 * come back field by field; every optional field is tried absent and present;
 * and the decoders refuse missing, unknown, duplicate and mistyped fields,
 * bad values, truncated input at every byte and bytes after the message,
 * with a detail that names the field.
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_proto.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A msgpack value written as bytes, with its length: V(0x92, 0x01, 0x02). */
#define V(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

/* ------------------------------------------------------------------ helpers */

/* Both NULL, or equal strings. */
static bool str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Whether the last error detail contains part (printed when it does not). */
static bool detail_has(const char *part)
{
    const char *d = hs_err_detail();
    if (strstr(d, part) != NULL)
        return true;
    fprintf(stderr, "\n    detail \"%s\" lacks \"%s\"\n", d, part);
    return false;
}

typedef enum edit_kind {
    ED_DROP, /* remove the key */
    ED_SET,  /* replace its value */
    ED_DUP,  /* repeat it, same value, at the end */
    ED_ADD,  /* append a new key with a value */
} edit_kind;

#define MAX_FIELDS 40

/*
 * Writes into out (reset first) the msgpack map msg with one edit of key.
 * Returns false when msg is not one map with string keys, or when key is
 * absent (ED_ADD: present).
 */
static bool map_edit(const uint8_t *msg, size_t len, edit_kind kind, const char *key,
                     const uint8_t *val, size_t vlen, hs_buf *out)
{
    hs_mp_field f[MAX_FIELDS];
    size_t n, used;
    if (hs_mp_map_index(msg, len, f, MAX_FIELDS, &n, &used) != HS_OK || used != len)
        return false;
    const hs_mp_field *hit = hs_mp_field_find(f, n, key);
    if ((hit == NULL) != (kind == ED_ADD))
        return false;
    size_t count = n;
    if (kind == ED_DROP)
        count--;
    else if (kind == ED_DUP || kind == ED_ADD)
        count++;
    hs_buf_reset(out);
    int rc = hs_mp_put_map(out, (uint32_t)count);
    for (size_t i = 0; i < n && rc == HS_OK; i++) {
        if (&f[i] == hit && kind == ED_DROP)
            continue;
        rc = hs_mp_put_str(out, f[i].key, f[i].klen);
        if (rc == HS_OK && &f[i] == hit && kind == ED_SET)
            rc = hs_mp_put_raw(out, val, vlen);
        else if (rc == HS_OK)
            rc = hs_mp_put_raw(out, f[i].val, f[i].vlen);
    }
    if (rc == HS_OK && kind == ED_DUP) {
        rc = hs_mp_put_str(out, hit->key, hit->klen);
        if (rc == HS_OK)
            rc = hs_mp_put_raw(out, hit->val, hit->vlen);
    }
    if (rc == HS_OK && kind == ED_ADD) {
        rc = hs_mp_put_cstr(out, key);
        if (rc == HS_OK)
            rc = hs_mp_put_raw(out, val, vlen);
    }
    return rc == HS_OK;
}

/* A decoder run from bytes to a return code, its message freed. */
typedef int (*decode_fn)(const uint8_t *data, size_t len);

static int dec_job(const uint8_t *data, size_t len)
{
    hs_proto_job_msg m;
    int rc = hs_proto_job_decode(&m, data, len);
    hs_proto_job_msg_free(&m);
    return rc;
}

/* The envelope, then the op's decoder (jobout for op job). */
static int dec_wreq(const uint8_t *data, size_t len)
{
    hs_proto_envelope env;
    int rc = hs_proto_wreq_envelope(data, len, &env);
    if (rc != HS_OK)
        return rc;
    if (env.op == HS_OP_JOB) {
        hs_proto_jobout_msg m;
        rc = hs_proto_jobout_decode(&m, &env);
        hs_proto_jobout_msg_free(&m);
        return rc;
    }
    hs_proto_wreq_msg m;
    rc = hs_proto_wreq_decode(&m, &env);
    hs_proto_wreq_msg_free(&m);
    return rc;
}

static int dec_ack(const uint8_t *data, size_t len)
{
    hs_proto_ack_msg m;
    int rc = hs_proto_ack_decode(&m, data, len);
    hs_proto_ack_msg_free(&m);
    return rc;
}

static int dec_committed(const uint8_t *data, size_t len)
{
    hs_proto_committed_msg m;
    int rc = hs_proto_committed_decode(&m, data, len);
    hs_proto_committed_msg_free(&m);
    return rc;
}

/*
 * Whether the decoder refuses msg after one edit with HS_ERR_PARSE and a
 * detail containing want (printed when not).
 */
static bool refuses(decode_fn dec, const hs_buf *msg, edit_kind kind, const char *key,
                    const uint8_t *val, size_t vlen, const char *want)
{
    hs_buf e;
    hs_buf_init(&e, 0);
    bool ok = map_edit(msg->data, msg->len, kind, key, val, vlen, &e);
    if (!ok) {
        fprintf(stderr, "\n    cannot edit '%s'\n", key);
    } else {
        hs_err_clear();
        int rc = dec(e.data, e.len);
        if (rc != HS_ERR_PARSE) {
            fprintf(stderr, "\n    edit %d of '%s': rc %d, not HS_ERR_PARSE\n", (int)kind, key, rc);
            ok = false;
        } else {
            ok = detail_has(want);
        }
    }
    hs_buf_free(&e);
    return ok;
}

/* Whether the decoder accepts msg after one edit. */
static bool accepts(decode_fn dec, const hs_buf *msg, edit_kind kind, const char *key,
                    const uint8_t *val, size_t vlen)
{
    hs_buf e;
    hs_buf_init(&e, 0);
    bool ok =
        map_edit(msg->data, msg->len, kind, key, val, vlen, &e) && dec(e.data, e.len) == HS_OK;
    if (!ok)
        fprintf(stderr, "\n    edit %d of '%s' refused: %s\n", (int)kind, key, hs_err_detail());
    hs_buf_free(&e);
    return ok;
}

/*
 * Whether the decoder accepts msg whole and refuses every shorter prefix of
 * it, and msg with one byte after it. Each prefix is a heap copy of exactly
 * its length, so that a read past it shows under a sanitizer.
 */
static bool refuses_cut_and_trailing(decode_fn dec, const hs_buf *msg)
{
    if (dec(msg->data, msg->len) != HS_OK) {
        fprintf(stderr, "\n    the whole message is refused: %s\n", hs_err_detail());
        return false;
    }
    for (size_t k = 0; k <= msg->len; k++) {
        size_t len = k < msg->len ? k : msg->len + 1; /* the last round: one byte more */
        uint8_t *cut = hs_malloc(len > 0 ? len : 1);
        if (cut == NULL)
            return false;
        memcpy(cut, msg->data, k < msg->len ? k : msg->len);
        if (k == msg->len)
            cut[msg->len] = 0xc0; /* nil */
        int rc = dec(cut, len);
        hs_free(cut);
        if (rc == HS_OK) {
            fprintf(stderr, "\n    %zu of %zu bytes accepted\n", len, msg->len);
            return false;
        }
    }
    return true;
}

/*
 * Whether decoding msg with every allocation failing in turn (after 0, 1,
 * 2, ... successful ones) returns HS_ERR_NOMEM until it succeeds.
 */
static bool survives_nomem(decode_fn dec, const hs_buf *msg)
{
    for (long n = 0; n < 1000; n++) {
        hs_alloc_fail_after(n);
        int rc = dec(msg->data, msg->len);
        hs_alloc_fail_after(-1);
        if (rc == HS_OK)
            return true;
        if (rc != HS_ERR_NOMEM) {
            fprintf(stderr, "\n    allocation %ld failing gave rc %d: %s\n", n, rc,
                    hs_err_detail());
            return false;
        }
    }
    return false;
}

/* A msgpack string value of len bytes (NULs allowed) into out (reset first). */
static const uint8_t *mp_str(hs_buf *out, const char *s, size_t len)
{
    hs_buf_reset(out);
    CU_ASSERT_EQUAL(hs_mp_put_str(out, s, len), HS_OK);
    return out->data;
}

/* ------------------------------------------------------------------ fixtures */

static const hs_proto_source full_sources[] = {
    {"temp/house=1/room=kitchen", 1699999940000000, 1700000060000000},
    {"humidity/house=1", 1700000000000000, 1700000060000000},
};
static const char *const full_sinks[] = {"avg/house=1", "max/house=1"};

/* {"gain": 2, "label": "a\"b", "w": [1, -2]} into b (reset first). */
static void make_params(hs_buf *b)
{
    hs_buf_reset(b);
    CU_ASSERT_EQUAL(hs_mp_put_map(b, 3), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(b, "gain"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_int(b, 2), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(b, "label"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(b, "a\"b"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(b, "w"), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_array(b, 2), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_int(b, 1), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_int(b, -2), HS_OK);
}

/* Every field of a job set, params borrowed from params. */
static hs_proto_job full_job(const hs_buf *params)
{
    hs_proto_job j = {
        .job = "j0123456789abcdef",
        .attempt = 3,
        .workflow = "wf-houses",
        .factor = 12,
        .pv = "house=1/room=kitchen",
        .tool = "window_mean",
        .version = "1.2",
        .params = params->data,
        .params_len = params->len,
        .binding = "fedcba9876543210",
        .interval = {1700000000000000, 1700000060000000},
        .sources = full_sources,
        .nsources = 2,
        .alignment = "clock/period=60s",
        .splitting = "rooms/house=1",
        .sinks = full_sinks,
        .nsinks = 2,
        .output_meta = "room",
        .request = "c-42",
        .output_plate = "rooms",
    };
    return j;
}

/* Only what a job must have. */
static hs_proto_job minimal_job(void)
{
    hs_proto_job j = {
        .job = "j0000000000000001",
        .workflow = "w",
        .pv = "",
        .tool = "t",
        .version = "1.0",
        .binding = "0000000000000000",
        .interval = {-1, 0},
    };
    return j;
}

/*
 * Checks the job header fields that both the job message and job outputs
 * carry; params NULL on the encoding side reads back as an empty map.
 */
static void check_job_header(const hs_proto_job *want, const hs_proto_job *got)
{
    CU_ASSERT(str_eq(want->job, got->job));
    CU_ASSERT_EQUAL(want->attempt, got->attempt);
    CU_ASSERT(str_eq(want->workflow, got->workflow));
    CU_ASSERT_EQUAL(want->factor, got->factor);
    CU_ASSERT(str_eq(want->pv, got->pv));
    CU_ASSERT(str_eq(want->tool, got->tool));
    CU_ASSERT(str_eq(want->version, got->version));
    const uint8_t *params = want->params != NULL ? want->params : (const uint8_t *)"\x80";
    size_t params_len = want->params != NULL ? want->params_len : 1;
    CU_ASSERT(bytes_eq(params, params_len, got->params, got->params_len));
    CU_ASSERT(str_eq(want->binding, got->binding));
    CU_ASSERT_EQUAL(want->interval.start, got->interval.start);
    CU_ASSERT_EQUAL(want->interval.end, got->interval.end);
    CU_ASSERT_EQUAL_FATAL(want->nsinks, got->nsinks);
    for (size_t i = 0; i < want->nsinks; i++)
        CU_ASSERT(str_eq(want->sinks[i], got->sinks[i]));
    CU_ASSERT(str_eq(want->request, got->request));
    CU_ASSERT(str_eq(want->output_plate, got->output_plate));
    CU_ASSERT_EQUAL(want->trigger, got->trigger);
    CU_ASSERT_EQUAL(want->wseq.epoch, got->wseq.epoch);
    CU_ASSERT_EQUAL(want->wseq.seq, got->wseq.seq);
}

/* Checks every field of a decoded job message against what was encoded. */
static void check_job(const hs_proto_job *want, const hs_proto_job *got)
{
    check_job_header(want, got);
    CU_ASSERT_EQUAL_FATAL(want->nsources, got->nsources);
    for (size_t i = 0; i < want->nsources; i++) {
        CU_ASSERT(str_eq(want->sources[i].sid, got->sources[i].sid));
        CU_ASSERT_EQUAL(want->sources[i].from_us, got->sources[i].from_us);
        CU_ASSERT_EQUAL(want->sources[i].to_us, got->sources[i].to_us);
    }
    CU_ASSERT(str_eq(want->alignment, got->alignment));
    CU_ASSERT(str_eq(want->splitting, got->splitting));
    CU_ASSERT(str_eq(want->output_meta, got->output_meta));
    CU_ASSERT_EQUAL_FATAL(want->nunits, got->nunits);
    for (size_t i = 0; i < want->nunits; i++) {
        CU_ASSERT(str_eq(want->units[i].pv, got->units[i].pv));
        CU_ASSERT_EQUAL(want->units[i].nsources, got->units[i].nsources);
        CU_ASSERT_EQUAL(want->units[i].nsinks, got->units[i].nsinks);
    }
}

/* Encodes j into out (reset first); returns the encoder's code. */
static int enc_job(hs_buf *out, const hs_proto_job *j)
{
    hs_buf_reset(out);
    return hs_proto_job_encode(out, j);
}

/* Encodes, decodes and compares j. */
static void job_roundtrip(const hs_proto_job *j)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(enc_job(&b, j), HS_OK);
    hs_proto_job_msg m;
    int rc = hs_proto_job_decode(&m, b.data, b.len);
    CU_ASSERT_EQUAL(rc, HS_OK);
    if (rc == HS_OK)
        check_job(j, &m.job);
    hs_proto_job_msg_free(&m);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ job */

static void test_job_full(void)
{
    hs_buf params;
    hs_buf_init(&params, 0);
    make_params(&params);
    hs_proto_job j = full_job(&params);
    job_roundtrip(&j);

    /* Decoded strings are copies: they outlive the encoded bytes. */
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(enc_job(&b, &j), HS_OK);
    hs_proto_job_msg m;
    CU_ASSERT_EQUAL_FATAL(hs_proto_job_decode(&m, b.data, b.len), HS_OK);
    memset(b.data, 0, b.len);
    CU_ASSERT_STRING_EQUAL(m.job.workflow, "wf-houses");
    CU_ASSERT_STRING_EQUAL(m.job.sinks[1], "max/house=1");
    CU_ASSERT_STRING_EQUAL(m.job.sources[0].sid, "temp/house=1/room=kitchen");
    CU_ASSERT_EQUAL(hs_proto_job_sink_index(&m.job, "max/house=1"), 1);
    CU_ASSERT_EQUAL(hs_proto_job_sink_index(&m.job, "avg/house=1"), 0);
    CU_ASSERT_EQUAL(hs_proto_job_sink_index(&m.job, "min/house=1"), -1);
    hs_proto_job_msg_free(&m);
    hs_proto_job_msg_free(&m); /* twice is fine */
    hs_proto_job_msg_free(NULL);
    hs_buf_free(&b);
    hs_buf_free(&params);
}

/* A job over several plate values: its units share out the sources and sinks. */
static void test_job_units(void)
{
    static const hs_proto_source src[] = {
        {"minutes", 0, 60000000},
        {"temp/dev=1", 0, 60000000},
        {"minutes", 0, 60000000},
        {"temp/dev=2", 0, 60000000},
    };
    static const char *const sinks[] = {"mean/dev=1", "mean/dev=2"};
    hs_proto_unit units[] = {{"dev=1", 2, 1}, {"dev=2", 2, 1}};
    hs_proto_job j = minimal_job();
    j.pv = "dev=1";
    j.sources = src;
    j.nsources = 4;
    j.sinks = sinks;
    j.nsinks = 2;
    j.units = units;
    j.nunits = 2;
    job_roundtrip(&j);

    /* The units must share out exactly the job's sources and sinks. */
    hs_buf b;
    hs_buf_init(&b, 0);
    units[1].nsources = 1;
    CU_ASSERT_EQUAL(enc_job(&b, &j), HS_ERR_PARSE);
    CU_ASSERT(strstr(hs_err_detail(), "units have 3 sources") != NULL);
    units[1].nsources = 2;
    units[1].nsinks = 0;
    CU_ASSERT_EQUAL(enc_job(&b, &j), HS_ERR_PARSE);
    units[1].nsinks = 1;
    j.pv = "dev=2";
    CU_ASSERT_EQUAL(enc_job(&b, &j), HS_ERR_PARSE);
    j.pv = "dev=1";
    j.output_meta = "room";
    CU_ASSERT_EQUAL(enc_job(&b, &j), HS_ERR_PARSE);
    j.output_meta = NULL;

    /* A decoder checks the same: a message whose counts do not add up is refused. */
    CU_ASSERT_EQUAL_FATAL(enc_job(&b, &j), HS_OK);
    uint8_t *two = memmem(b.data, b.len,
                          "\x93\xa5"
                          "dev=2\x02\x01",
                          9);
    CU_ASSERT_PTR_NOT_NULL_FATAL(two);
    two[7] = 0x03; /* dev=2 claims three sources */
    hs_proto_job_msg m;
    CU_ASSERT_EQUAL(hs_proto_job_decode(&m, b.data, b.len), HS_ERR_PARSE);
    hs_proto_job_msg_free(&m);
    hs_buf_free(&b);
}

static void test_job_minimal(void)
{
    hs_proto_job j = minimal_job();
    job_roundtrip(&j);

    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(enc_job(&b, &j), HS_OK);
    hs_proto_job_msg m;
    CU_ASSERT_EQUAL_FATAL(hs_proto_job_decode(&m, b.data, b.len), HS_OK);
    CU_ASSERT_PTR_NULL(m.job.alignment);
    CU_ASSERT_PTR_NULL(m.job.splitting);
    CU_ASSERT_PTR_NULL(m.job.output_meta);
    CU_ASSERT_PTR_NULL(m.job.request);
    CU_ASSERT_PTR_NULL(m.job.output_plate);
    CU_ASSERT_EQUAL(m.job.nsources, 0);
    CU_ASSERT_EQUAL(m.job.nsinks, 0);
    CU_ASSERT_STRING_EQUAL(m.job.pv, "");
    CU_ASSERT_EQUAL(m.job.factor, 0);
    hs_proto_job_msg_free(&m);

    /* On the wire: 14 fields, the three nil-able ones nil, no request or output_plate. */
    hs_mp_field f[MAX_FIELDS];
    size_t n;
    CU_ASSERT_EQUAL_FATAL(hs_mp_map_index(b.data, b.len, f, MAX_FIELDS, &n, NULL), HS_OK);
    CU_ASSERT_EQUAL(n, 14);
    const hs_mp_field *al = hs_mp_field_find(f, n, "alignment");
    HS_REQUIRE(al);
    CU_ASSERT(bytes_eq(al->val, al->vlen, (const uint8_t *)"\xc0", 1));
    CU_ASSERT_PTR_NULL(hs_mp_field_find(f, n, "request"));
    CU_ASSERT_PTR_NULL(hs_mp_field_find(f, n, "output_plate"));
    const hs_mp_field *fa = hs_mp_field_find(f, n, "factor");
    HS_REQUIRE(fa);
    CU_ASSERT(bytes_eq(fa->val, fa->vlen, V(0xa1, '0')));
    hs_buf_free(&b);
}

/* Each optional field alone present, the others absent. */
static void test_job_optional_fields(void)
{
    for (int k = 0; k < 5; k++) {
        hs_proto_job j = minimal_job();
        if (k == 0)
            j.alignment = "a";
        else if (k == 1)
            j.splitting = "s";
        else if (k == 2)
            j.output_meta = "m";
        else if (k == 3)
            j.request = "r-1";
        else
            j.output_plate = "p";
        job_roundtrip(&j);
    }
    /* Empty lists, and lists with one item. */
    hs_proto_job j = minimal_job();
    j.sources = full_sources;
    j.nsources = 1;
    j.sinks = full_sinks;
    j.nsinks = 1;
    job_roundtrip(&j);
}

/* A bare stream id as a source reads over the job's interval. */
static void test_job_bare_source(void)
{
    hs_proto_job j = minimal_job();
    j.interval = (hs_interval){100, 200};
    hs_buf b, e;
    hs_buf_init(&b, 0);
    hs_buf_init(&e, 0);
    CU_ASSERT_EQUAL_FATAL(enc_job(&b, &j), HS_OK);
    /* ["x", ["y", 5, 7]] */
    CU_ASSERT_FATAL(map_edit(b.data, b.len, ED_SET, "sources",
                             V(0x92, 0xa1, 'x', 0x93, 0xa1, 'y', 0x05, 0x07), &e));
    hs_proto_job_msg m;
    CU_ASSERT_EQUAL_FATAL(hs_proto_job_decode(&m, e.data, e.len), HS_OK);
    CU_ASSERT_EQUAL_FATAL(m.job.nsources, 2);
    CU_ASSERT_STRING_EQUAL(m.job.sources[0].sid, "x");
    CU_ASSERT_EQUAL(m.job.sources[0].from_us, 100);
    CU_ASSERT_EQUAL(m.job.sources[0].to_us, 200);
    CU_ASSERT_STRING_EQUAL(m.job.sources[1].sid, "y");
    CU_ASSERT_EQUAL(m.job.sources[1].from_us, 5);
    CU_ASSERT_EQUAL(m.job.sources[1].to_us, 7);
    hs_proto_job_msg_free(&m);
    /* A source whose range is empty, or of the wrong shape. */
    CU_ASSERT(
        refuses(dec_job, &b, ED_SET, "sources", V(0x91, 0x93, 0xa1, 'y', 0x07, 0x07), "sources"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "sources", V(0x91, 0x92, 0xa1, 'y', 0x07), "sources"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "sources", V(0x91, 0xa0), "sources"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "sources", V(0x91, 0x05), "sources"));
    hs_buf_free(&b);
    hs_buf_free(&e);
}

static void test_job_required(void)
{
    hs_buf params, b;
    hs_buf_init(&params, 0);
    hs_buf_init(&b, 0);
    make_params(&params);
    hs_proto_job j = full_job(&params);
    CU_ASSERT_EQUAL_FATAL(enc_job(&b, &j), HS_OK);
    static const char *const required[] = {"job",     "workflow", "factor",  "pv",   "tool",
                                           "binding", "interval", "sources", "sinks"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        CU_ASSERT(refuses(dec_job, &b, ED_DROP, required[i], NULL, 0, required[i]));
    /* The optional ones may go. */
    static const char *const optional[] = {"alignment", "splitting", "output_meta", "request",
                                           "output_plate"};
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++)
        CU_ASSERT(accepts(dec_job, &b, ED_DROP, optional[i], NULL, 0));
    /* The tool map's own fields. */
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "tool",
                      V(0x82, 0xa4, 'n', 'a', 'm', 'e', 0xa1, 't', 0xa7, 'v', 'e', 'r', 's', 'i',
                        'o', 'n', 0xa1, '1'),
                      "params"));
    CU_ASSERT(refuses(
        dec_job, &b, ED_SET, "tool",
        V(0x82, 0xa4, 'n', 'a', 'm', 'e', 0xa1, 't', 0xa6, 'p', 'a', 'r', 'a', 'm', 's', 0x80),
        "version"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "tool",
                      V(0x82, 0xa7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0xa1, '1', 0xa6, 'p', 'a',
                        'r', 'a', 'm', 's', 0x80),
                      "name"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "tool",
                      V(0x84, 0xa4, 'n', 'a', 'm', 'e', 0xa1, 't', 0xa7, 'v', 'e', 'r', 's', 'i',
                        'o', 'n', 0xa1, '1', 0xa6, 'p', 'a', 'r', 'a', 'm', 's', 0x80, 0xa4, 'n',
                        'a', 'm', 'e', 0xa1, 'u'),
                      "name"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "tool",
                      V(0x84, 0xa4, 'n', 'a', 'm', 'e', 0xa1, 't', 0xa7, 'v', 'e', 'r', 's', 'i',
                        'o', 'n', 0xa1, '1', 0xa6, 'p', 'a', 'r', 'a', 'm', 's', 0x80, 0xa3, 'x',
                        'y', 'z', 0xa1, 'u'),
                      "xyz"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "tool",
                      V(0x83, 0xa4, 'n', 'a', 'm', 'e', 0xa1, 't', 0xa7, 'v', 'e', 'r', 's', 'i',
                        'o', 'n', 0xa1, '1', 0xa6, 'p', 'a', 'r', 'a', 'm', 's', 0x90),
                      "params"));
    hs_buf_free(&b);
    hs_buf_free(&params);
}

static void test_job_unknown_duplicate(void)
{
    hs_buf params, b;
    hs_buf_init(&params, 0);
    hs_buf_init(&b, 0);
    make_params(&params);
    hs_proto_job j = full_job(&params);
    CU_ASSERT_EQUAL_FATAL(enc_job(&b, &j), HS_OK);
    CU_ASSERT(refuses(dec_job, &b, ED_ADD, "colour", V(0xa3, 'r', 'e', 'd'), "colour"));
    /* A key that is not a string. */
    hs_buf e;
    hs_buf_init(&e, 0);
    CU_ASSERT_FATAL(map_edit(b.data, b.len, ED_DROP, "output_plate", NULL, 0, &e));
    CU_ASSERT_EQUAL_FATAL(hs_buf_append(&e, "\x05\x05", 2), HS_OK);
    e.data[0]++; /* one more pair: fixmap with n < 15 */
    CU_ASSERT_EQUAL(dec_job(e.data, e.len), HS_ERR_PARSE);
    hs_buf_free(&e);
    static const char *const keys[] = {"v",        "job",         "attempt",   "workflow",
                                       "factor",   "pv",          "tool",      "binding",
                                       "interval", "sources",     "alignment", "splitting",
                                       "sinks",    "output_meta", "request",   "output_plate"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CU_ASSERT(refuses(dec_job, &b, ED_DUP, keys[i], NULL, 0, keys[i]));
    hs_buf_free(&b);
    hs_buf_free(&params);
}

static void test_job_wrong_types(void)
{
    hs_buf params, b;
    hs_buf_init(&params, 0);
    hs_buf_init(&b, 0);
    make_params(&params);
    hs_proto_job j = full_job(&params);
    CU_ASSERT_EQUAL_FATAL(enc_job(&b, &j), HS_OK);
    /* An integer where a string is due, a string where a number or list is due. */
    static const char *const strs[] = {"job",     "workflow",    "factor",    "pv",
                                       "binding", "alignment",   "splitting", "output_meta",
                                       "request", "output_plate"};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        CU_ASSERT(refuses(dec_job, &b, ED_SET, strs[i], V(0x07), strs[i]));
    static const char *const others[] = {"attempt", "tool", "interval", "sources", "sinks", "v"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        CU_ASSERT(refuses(dec_job, &b, ED_SET, others[i], V(0xa1, '1'), others[i]));
    /* Nil is only for alignment, splitting and output_meta. */
    static const char *const nonnil[] = {"job",     "workflow",     "pv",   "binding",
                                         "request", "output_plate", "sinks"};
    for (size_t i = 0; i < sizeof nonnil / sizeof nonnil[0]; i++)
        CU_ASSERT(refuses(dec_job, &b, ED_SET, nonnil[i], V(0xc0), nonnil[i]));
    /* Required strings that must not be empty; pv may be. */
    static const char *const nonempty[] = {"job", "workflow", "binding", "request", "output_plate"};
    for (size_t i = 0; i < sizeof nonempty / sizeof nonempty[0]; i++)
        CU_ASSERT(refuses(dec_job, &b, ED_SET, nonempty[i], V(0xa0), nonempty[i]));
    CU_ASSERT(accepts(dec_job, &b, ED_SET, "pv", V(0xa0)));
    /* Negative attempt, a float, a list of non-strings. */
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "attempt", V(0xff), "attempt"));
    CU_ASSERT(
        refuses(dec_job, &b, ED_SET, "attempt", V(0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), "attempt"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "sinks", V(0x92, 0xa1, 'a', 0x01), "sinks"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "interval", V(0x93, 0x01, 0x02, 0x03), "interval"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "interval", V(0x92, 0x01, 0xa1, '2'), "interval"));
    /* A value above INT64_MAX for the interval. */
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "interval",
                      V(0x92, 0x01, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
                      "interval"));
    hs_buf_free(&b);
    hs_buf_free(&params);
}

static void test_job_interval_factor_version(void)
{
    hs_proto_job j = minimal_job();
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(enc_job(&b, &j), HS_OK);
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "interval", V(0x92, 0x05, 0x05), "interval"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "interval", V(0x92, 0x06, 0x05), "interval"));
    CU_ASSERT(accepts(dec_job, &b, ED_SET, "interval", V(0x92, 0xff, 0x00)));

    hs_buf s;
    hs_buf_init(&s, 0);
    static const char *const bad[] = {"01", "00", "+1", "-1",  "1a",  "a",
                                      " 1", "1 ", "",   "1.0", "1e3", "4294967296"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mp_str(&s, bad[i], strlen(bad[i]));
        CU_ASSERT(refuses(dec_job, &b, ED_SET, "factor", s.data, s.len, "factor"));
    }
    mp_str(&s, "1\0", 2);
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "factor", s.data, s.len, "factor"));
    static const char *const good[] = {"0", "7", "10", "123456789", "4294967295"};
    static const uint32_t values[] = {0, 7, 10, 123456789, 4294967295u};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        hs_buf e;
        hs_buf_init(&e, 0);
        mp_str(&s, good[i], strlen(good[i]));
        CU_ASSERT_FATAL(map_edit(b.data, b.len, ED_SET, "factor", s.data, s.len, &e));
        hs_proto_job_msg m;
        CU_ASSERT_EQUAL(hs_proto_job_decode(&m, e.data, e.len), HS_OK);
        CU_ASSERT_EQUAL(m.job.factor, values[i]);
        hs_proto_job_msg_free(&m);
        hs_buf_free(&e);
    }
    /* The largest factor the decoder reads comes back from the encoder. */
    j.factor = 999999999;
    job_roundtrip(&j);
    j.factor = 0;

    CU_ASSERT(refuses(dec_job, &b, ED_SET, "v", V(0x02), "version"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "v", V(0x00), "version"));
    CU_ASSERT(accepts(dec_job, &b, ED_SET, "v", V(0x01)));
    hs_buf_free(&s);
    hs_buf_free(&b);
}

static void test_job_cut_nul_nomem(void)
{
    hs_buf params, b, s;
    hs_buf_init(&params, 0);
    hs_buf_init(&b, 0);
    hs_buf_init(&s, 0);
    make_params(&params);
    hs_proto_job j = full_job(&params);
    CU_ASSERT_EQUAL_FATAL(enc_job(&b, &j), HS_OK);
    CU_ASSERT(refuses_cut_and_trailing(dec_job, &b));
    CU_ASSERT(survives_nomem(dec_job, &b));
    /* NUL bytes inside strings, wherever strings are read. */
    mp_str(&s, "a\0b", 3);
    static const char *const strs[] = {"job",         "workflow",  "pv",
                                       "binding",     "alignment", "splitting",
                                       "output_meta", "request",   "output_plate"};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        CU_ASSERT(refuses(dec_job, &b, ED_SET, strs[i], s.data, s.len, strs[i]));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "sinks", V(0x91, 0xa3, 'a', 0, 'b'), "sinks"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "sources", V(0x91, 0xa3, 'a', 0, 'b'), "sources"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "tool",
                      V(0x83, 0xa4, 'n', 'a', 'm', 'e', 0xa3, 'a', 0, 'b', 0xa7, 'v', 'e', 'r', 's',
                        'i', 'o', 'n', 0xa1, '1', 0xa6, 'p', 'a', 'r', 'a', 'm', 's', 0x80),
                      "name"));
    /* Not a map at all; an array header that promises more than there is. */
    CU_ASSERT_EQUAL(dec_job(V(0x90)), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(dec_job(NULL, 0), HS_ERR_PARSE);
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "sinks", V(0xdd, 0xff, 0xff, 0xff, 0xff), "sinks"));
    hs_buf_free(&s);
    hs_buf_free(&b);
    hs_buf_free(&params);
}

static void test_job_encode_refuses(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_proto_job j = minimal_job();
    j.interval = (hs_interval){5, 5};
    CU_ASSERT_EQUAL(enc_job(&b, &j), HS_ERR_INVAL);
    j.interval = (hs_interval){6, 5};
    CU_ASSERT_EQUAL(enc_job(&b, &j), HS_ERR_INVAL);
    j = minimal_job();
    j.binding = NULL;
    CU_ASSERT_EQUAL(enc_job(&b, &j), HS_ERR_INVAL);
    j = minimal_job();
    j.nsinks = 1;
    CU_ASSERT_EQUAL(enc_job(&b, &j), HS_ERR_INVAL);
    j = minimal_job();
    j.nsources = 1;
    CU_ASSERT_EQUAL(enc_job(&b, &j), HS_ERR_INVAL);
    /* A bounded buffer that is too small: the writer's error comes back. */
    hs_buf small;
    hs_buf_init(&small, 16);
    j = minimal_job();
    CU_ASSERT_EQUAL(hs_proto_job_encode(&small, &j), HS_ERR_LIMIT);
    hs_buf_free(&small);
    hs_buf_free(&b);
}

/* Whether field key of the map msg holds exactly the bytes want (absent: false). */
static bool field_bytes_are(const hs_buf *msg, const char *key, const uint8_t *want, size_t wlen)
{
    hs_mp_field f[MAX_FIELDS];
    size_t n;
    if (hs_mp_map_index(msg->data, msg->len, f, MAX_FIELDS, &n, NULL) != HS_OK)
        return false;
    const hs_mp_field *hit = hs_mp_field_find(f, n, key);
    return hit != NULL && bytes_eq(hit->val, hit->vlen, want, wlen);
}

/* Whether the map msg has key. */
static bool has_field(const hs_buf *msg, const char *key)
{
    hs_mp_field f[MAX_FIELDS];
    size_t n;
    return hs_mp_map_index(msg->data, msg->len, f, MAX_FIELDS, &n, NULL) == HS_OK &&
           hs_mp_field_find(f, n, key) != NULL;
}

static void test_job_trigger_wseq(void)
{
    hs_buf params, b;
    hs_buf_init(&params, 0);
    hs_buf_init(&b, 0);
    make_params(&params);
    CU_ASSERT_STRING_EQUAL(hs_proto_trigger_name(HS_TRIGGER_REQUEST), "request");
    CU_ASSERT_STRING_EQUAL(hs_proto_trigger_name(HS_TRIGGER_ONLINE), "online");
    CU_ASSERT_STRING_EQUAL(hs_proto_trigger_name(HS_TRIGGER_LATE), "late");
    CU_ASSERT_STRING_EQUAL(hs_proto_trigger_name(HS_TRIGGER_INVALIDATE), "invalidate");
    CU_ASSERT_STRING_EQUAL(hs_proto_trigger_name((hs_proto_trigger)4), "?");
    /* Every trigger, with and without a wseq, in a full and a minimal job. */
    static const hs_proto_wseq wseqs[] = {{0, 0}, {1, 0}, {1700000000000000, UINT64_MAX}};
    for (int t = HS_TRIGGER_REQUEST; t <= HS_TRIGGER_INVALIDATE; t++) {
        for (size_t w = 0; w < sizeof wseqs / sizeof wseqs[0]; w++) {
            hs_proto_job j = full_job(&params);
            j.trigger = (hs_proto_trigger)t;
            j.wseq = wseqs[w];
            job_roundtrip(&j);
            j = minimal_job();
            j.trigger = (hs_proto_trigger)t;
            j.wseq = wseqs[w];
            job_roundtrip(&j);
        }
    }
    /* On the wire: trigger only when not request, wseq only when known, as [epoch, seq]. */
    hs_proto_job j = minimal_job();
    j.trigger = HS_TRIGGER_LATE;
    j.wseq = (hs_proto_wseq){1, 2};
    CU_ASSERT_EQUAL_FATAL(enc_job(&b, &j), HS_OK);
    CU_ASSERT(field_bytes_are(&b, "trigger", V(0xa4, 'l', 'a', 't', 'e')));
    CU_ASSERT(field_bytes_are(&b, "wseq", V(0x92, 0x01, 0x02)));
    hs_buf plain;
    hs_buf_init(&plain, 0);
    hs_proto_job min = minimal_job();
    CU_ASSERT_EQUAL_FATAL(enc_job(&plain, &min), HS_OK);
    CU_ASSERT_FALSE(has_field(&plain, "trigger"));
    CU_ASSERT_FALSE(has_field(&plain, "wseq"));
    /* An explicit "request" reads as the default. */
    hs_buf e;
    hs_buf_init(&e, 0);
    CU_ASSERT_FATAL(map_edit(plain.data, plain.len, ED_ADD, "trigger",
                             V(0xa7, 'r', 'e', 'q', 'u', 'e', 's', 't'), &e));
    hs_proto_job_msg m;
    CU_ASSERT_EQUAL_FATAL(hs_proto_job_decode(&m, e.data, e.len), HS_OK);
    CU_ASSERT_EQUAL(m.job.trigger, HS_TRIGGER_REQUEST);
    CU_ASSERT_EQUAL(m.job.wseq.epoch, 0);
    hs_proto_job_msg_free(&m);
    CU_ASSERT(accepts(dec_job, &plain, ED_ADD, "wseq", V(0x92, 0x01, 0x00)));
    /* Unknown trigger names (also by case, with a NUL, or not a string). */
    CU_ASSERT(
        refuses(dec_job, &b, ED_SET, "trigger", V(0xa6, 'r', 'e', 'p', 'l', 'a', 'y'), "trigger"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "trigger", V(0xa4, 'L', 'a', 't', 'e'), "trigger"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "trigger", V(0xa5, 'l', 'a', 't', 'e', 0), "trigger"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "trigger", V(0xa3, 'l', 'a', 't'), "trigger"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "trigger", V(0xa0), "trigger"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "trigger", V(0x02), "trigger"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "trigger", V(0xc0), "trigger"));
    CU_ASSERT(refuses(dec_job, &b, ED_DUP, "trigger", NULL, 0, "trigger"));
    /* wseq: [epoch, seq] of unsigned integers, epoch > 0. */
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "wseq", V(0x92, 0x00, 0x05), "wseq"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "wseq", V(0x92, 0xff, 0x05), "wseq"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "wseq", V(0x92, 0x01, 0xff), "wseq"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "wseq", V(0x91, 0x01), "wseq"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "wseq", V(0x93, 0x01, 0x02, 0x03), "wseq"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "wseq", V(0x92, 0xa1, '1', 0x02), "wseq"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "wseq", V(0x01), "wseq"));
    CU_ASSERT(refuses(dec_job, &b, ED_SET, "wseq", V(0xc0), "wseq"));
    CU_ASSERT(refuses(dec_job, &b, ED_DUP, "wseq", NULL, 0, "wseq"));
    CU_ASSERT(refuses_cut_and_trailing(dec_job, &b));
    CU_ASSERT(survives_nomem(dec_job, &b));
    /* The encoder refuses a trigger it has no name for. */
    j.trigger = (hs_proto_trigger)4;
    CU_ASSERT_EQUAL(enc_job(&b, &j), HS_ERR_INVAL);
    hs_buf_free(&e);
    hs_buf_free(&plain);
    hs_buf_free(&b);
    hs_buf_free(&params);
}

/* ------------------------------------------------------------------ write requests */

/* A write request: the envelope in front of the fields in fields (nfields pairs). */
static void wreq(hs_buf *out, uint64_t inc, uint64_t seq, hs_proto_op op, const hs_buf *fields,
                 uint32_t nfields)
{
    hs_buf_reset(out);
    CU_ASSERT_EQUAL(hs_proto_wreq_begin(out, inc, seq, op, nfields), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_append(out, fields->data, fields->len), HS_OK);
}

/* Decodes the envelope and the op's fields of a write request that is not a job. */
static int wreq_decode(const hs_buf *b, hs_proto_envelope *env, hs_proto_wreq_msg *m)
{
    int rc = hs_proto_wreq_envelope(b->data, b->len, env);
    if (rc != HS_OK) {
        memset(m, 0, sizeof *m);
        return rc;
    }
    return hs_proto_wreq_decode(m, env);
}

static void test_wreq_envelope(void)
{
    hs_buf f, b;
    hs_buf_init(&f, 0);
    hs_buf_init(&b, 0);
    hs_proto_purge p = {.stream = "temp/house=1", .remove = true};
    uint32_t n = 0;
    CU_ASSERT_EQUAL_FATAL(hs_proto_purge_encode_fields(&f, &p, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 2);
    wreq(&b, UINT64_MAX, 1, HS_OP_PURGE, &f, n);
    hs_proto_envelope env;
    CU_ASSERT_EQUAL_FATAL(hs_proto_wreq_envelope(b.data, b.len, &env), HS_OK);
    CU_ASSERT_EQUAL(env.inc, UINT64_MAX);
    CU_ASSERT_EQUAL(env.seq, 1);
    CU_ASSERT_EQUAL(env.op, HS_OP_PURGE);
    CU_ASSERT_STRING_EQUAL(env.op_text, "purge");
    CU_ASSERT_PTR_EQUAL(env.data, b.data);
    CU_ASSERT_EQUAL(env.len, b.len);

    /* Every op's name goes both ways. */
    for (int op = HS_OP_APPEND; op < HS_OP_UNKNOWN; op++) {
        const char *name = hs_proto_op_name((hs_proto_op)op);
        hs_proto_op back = HS_OP_UNKNOWN;
        CU_ASSERT_EQUAL(hs_proto_op_parse(name, strlen(name), &back), HS_OK);
        CU_ASSERT_EQUAL((int)back, op);
    }
    hs_proto_op back;
    CU_ASSERT_EQUAL(hs_proto_op_parse("appendx", 6, &back), HS_OK); /* length counts */
    CU_ASSERT_EQUAL(back, HS_OP_APPEND);
    CU_ASSERT_EQUAL(hs_proto_op_parse("appen", 5, &back), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_proto_op_parse("", 0, &back), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_proto_op_name(HS_OP_DOC_DEL), "doc_del");

    /* Missing, duplicate and bad envelope fields. */
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "inc", NULL, 0, "inc"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "seq", NULL, 0, "seq"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "op", NULL, 0, "op"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "inc", NULL, 0, "inc"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "seq", NULL, 0, "seq"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "op", NULL, 0, "op"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "v", NULL, 0, "v"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "v", V(0x02), "v"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "seq", V(0x00), "seq"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "seq", V(0xff), "seq"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "inc", V(0xa1, '1'), "inc"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "op", V(0x01), "op"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "op", V(0xc0), "op"));
    CU_ASSERT(refuses_cut_and_trailing(dec_wreq, &b));
    CU_ASSERT_EQUAL(dec_wreq(V(0x91, 0x01)), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(dec_wreq(V(0x81, 0x01, 0x01)), HS_ERR_PARSE);

    /* The largest field count is refused by the envelope writer. */
    CU_ASSERT_EQUAL(hs_proto_wreq_begin(&b, 1, 1, HS_OP_APPEND, UINT32_MAX), HS_ERR_LIMIT);
    hs_buf_free(&f);
    hs_buf_free(&b);
}

static void test_wreq_unknown_op(void)
{
    hs_buf f, b, e;
    hs_buf_init(&f, 0);
    hs_buf_init(&b, 0);
    hs_buf_init(&e, 0);
    hs_proto_purge p = {.stream = "s"};
    uint32_t n = 0;
    CU_ASSERT_EQUAL_FATAL(hs_proto_purge_encode_fields(&f, &p, &n), HS_OK);
    wreq(&b, 7, 9, HS_OP_PURGE, &f, n);
    CU_ASSERT_FATAL(map_edit(b.data, b.len, ED_SET, "op", V(0xa4, 'z', 'a', 'p', '!'), &e));
    hs_proto_envelope env;
    CU_ASSERT_EQUAL_FATAL(hs_proto_wreq_envelope(e.data, e.len, &env), HS_OK);
    CU_ASSERT_EQUAL(env.op, HS_OP_UNKNOWN);
    CU_ASSERT_STRING_EQUAL(env.op_text, "zap!");
    CU_ASSERT_EQUAL(env.inc, 7);
    CU_ASSERT_EQUAL(env.seq, 9);
    hs_proto_wreq_msg m;
    CU_ASSERT_NOT_EQUAL(hs_proto_wreq_decode(&m, &env), HS_OK);
    CU_ASSERT(detail_has("zap!"));
    hs_proto_wreq_msg_free(&m);
    /* A long unknown op is cut to fit op_text. */
    hs_buf s;
    hs_buf_init(&s, 0);
    static const char longop[] = "an_operation_with_a_very_long_name";
    mp_str(&s, longop, sizeof longop - 1);
    CU_ASSERT_FATAL(map_edit(b.data, b.len, ED_SET, "op", s.data, s.len, &e));
    CU_ASSERT_EQUAL_FATAL(hs_proto_wreq_envelope(e.data, e.len, &env), HS_OK);
    CU_ASSERT_EQUAL(env.op, HS_OP_UNKNOWN);
    CU_ASSERT_EQUAL(strlen(env.op_text), sizeof env.op_text - 1);
    CU_ASSERT_EQUAL(strncmp(env.op_text, longop, sizeof env.op_text - 1), 0);
    /* Op "job" has its own decoder. */
    CU_ASSERT_FATAL(map_edit(b.data, b.len, ED_SET, "op", V(0xa3, 'j', 'o', 'b'), &e));
    CU_ASSERT_EQUAL_FATAL(hs_proto_wreq_envelope(e.data, e.len, &env), HS_OK);
    CU_ASSERT_EQUAL(env.op, HS_OP_JOB);
    CU_ASSERT_NOT_EQUAL(hs_proto_wreq_decode(&m, &env), HS_OK);
    hs_proto_wreq_msg_free(&m);
    hs_buf_free(&s);
    hs_buf_free(&f);
    hs_buf_free(&b);
    hs_buf_free(&e);
}

/* [[1700000000000000, 21.5], [1700000001000000, "x"]] into out (reset first). */
static void make_batch(hs_buf *out)
{
    hs_buf_reset(out);
    CU_ASSERT_EQUAL(hs_mp_put_array(out, 2), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_array(out, 2), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_int(out, 1700000000000000), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_double(out, 21.5), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_array(out, 2), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_int(out, 1700000001000000), HS_OK);
    CU_ASSERT_EQUAL(hs_mp_put_cstr(out, "x"), HS_OK);
}

static void test_wreq_append(void)
{
    hs_buf batch, f, b;
    hs_buf_init(&batch, 0);
    hs_buf_init(&f, 0);
    hs_buf_init(&b, 0);
    make_batch(&batch);
    hs_proto_append a = {"temp/house=1", batch.data, batch.len};
    uint32_t n = 0;
    CU_ASSERT_EQUAL_FATAL(hs_proto_append_encode_fields(&f, &a, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 2);
    wreq(&b, 1, 2, HS_OP_APPEND, &f, n);
    hs_proto_envelope env;
    hs_proto_wreq_msg m;
    CU_ASSERT_EQUAL_FATAL(wreq_decode(&b, &env, &m), HS_OK);
    CU_ASSERT_EQUAL(m.op, HS_OP_APPEND);
    CU_ASSERT_STRING_EQUAL(m.u.append.stream, "temp/house=1");
    CU_ASSERT(bytes_eq(m.u.append.data, m.u.append.data_len, batch.data, batch.len));
    hs_proto_wreq_msg_free(&m);
    CU_ASSERT(refuses_cut_and_trailing(dec_wreq, &b));
    CU_ASSERT(survives_nomem(dec_wreq, &b));

    /* One instance instead of a batch. */
    hs_buf_reset(&f);
    hs_mp_reader r;
    hs_mp_reader_init(&r, batch.data + 1, batch.len - 1);
    CU_ASSERT_EQUAL_FATAL(hs_mp_get_raw(&r, &a.data, &a.data_len), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_proto_append_encode_fields(&f, &a, &n), HS_OK);
    wreq(&b, 1, 3, HS_OP_APPEND, &f, n);
    CU_ASSERT_EQUAL_FATAL(wreq_decode(&b, &env, &m), HS_OK);
    CU_ASSERT(bytes_eq(m.u.append.data, m.u.append.data_len, a.data, a.data_len));
    hs_proto_wreq_msg_free(&m);

    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "stream", NULL, 0, "stream"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "data", NULL, 0, "data"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "stream", NULL, 0, "stream"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "data", NULL, 0, "data"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "data", V(0x80), "data"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "stream", V(0x01), "stream"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "stream", V(0xa0), "stream"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "stream", V(0xa3, 'a', 0, 'b'), "stream"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "remove", V(0xc3), "remove"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "colour", V(0xc3), "colour"));
    hs_proto_append none = {NULL, batch.data, batch.len};
    CU_ASSERT_EQUAL(hs_proto_append_encode_fields(&f, &none, &n), HS_ERR_INVAL);
    hs_buf_free(&batch);
    hs_buf_free(&f);
    hs_buf_free(&b);
}

static void test_wreq_append_many(void)
{
    hs_buf batch, f, b;
    hs_buf_init(&batch, 0);
    hs_buf_init(&f, 0);
    hs_buf_init(&b, 0);
    make_batch(&batch);
    hs_proto_append items[] = {{"temp/house=1", batch.data, batch.len},
                               {"temp/house=2", batch.data, batch.len}};
    hs_proto_append_many a = {items, 2};
    uint32_t n = 0;
    CU_ASSERT_EQUAL_FATAL(hs_proto_append_many_encode_fields(&f, &a, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    wreq(&b, 1, 2, HS_OP_APPEND_MANY, &f, n);
    hs_proto_envelope env;
    hs_proto_wreq_msg m;
    CU_ASSERT_EQUAL_FATAL(wreq_decode(&b, &env, &m), HS_OK);
    CU_ASSERT_EQUAL(m.op, HS_OP_APPEND_MANY);
    CU_ASSERT_STRING_EQUAL(env.op_text, "append_many");
    CU_ASSERT_EQUAL_FATAL(m.u.append_many.n, 2);
    CU_ASSERT_STRING_EQUAL(m.u.append_many.items[1].stream, "temp/house=2");
    CU_ASSERT(bytes_eq(m.u.append_many.items[1].data, m.u.append_many.items[1].data_len, batch.data,
                       batch.len));
    hs_proto_wreq_msg_free(&m);
    CU_ASSERT(refuses_cut_and_trailing(dec_wreq, &b));
    CU_ASSERT(survives_nomem(dec_wreq, &b));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "streams", NULL, 0, "streams"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams", V(0x90), "streams"));       /* [] */
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams", V(0x91, 0x90), "streams")); /* [[]] */
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams", V(0x91, 0x92, 0xa0, 0x90), "streams"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams", V(0x91, 0x92, 0xa1, 'x', 0x80), "streams"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "stream", V(0xa1, 'x'), "stream"));
    /* Nothing to send, or an item without data, is refused by the encoder. */
    hs_proto_append_many none = {items, 0};
    CU_ASSERT_EQUAL(hs_proto_append_many_encode_fields(&f, &none, &n), HS_ERR_INVAL);
    items[1].data = NULL;
    CU_ASSERT_EQUAL(hs_proto_append_many_encode_fields(&f, &a, &n), HS_ERR_INVAL);
    hs_buf_free(&batch);
    hs_buf_free(&f);
    hs_buf_free(&b);
}

static void test_wreq_docs_many(void)
{
    hs_buf f, b;
    hs_buf_init(&f, 0);
    hs_buf_init(&b, 0);
    hs_proto_doc items[] = {{"meta", "site=a", "{\"tag\":\"site\"}"}, {"meta", "site=b", NULL}};
    hs_proto_docs d = {items, 2};
    uint32_t n = 0;
    CU_ASSERT_EQUAL_FATAL(hs_proto_docs_encode_fields(&f, &d, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 1);
    wreq(&b, 1, 2, HS_OP_DOCS, &f, n);
    hs_proto_envelope env;
    hs_proto_wreq_msg m;
    CU_ASSERT_EQUAL_FATAL(wreq_decode(&b, &env, &m), HS_OK);
    CU_ASSERT_EQUAL(m.op, HS_OP_DOCS);
    CU_ASSERT_STRING_EQUAL(env.op_text, "docs");
    CU_ASSERT_EQUAL_FATAL(m.u.docs.n, 2);
    CU_ASSERT_STRING_EQUAL(m.u.docs.items[0].coll, "meta");
    CU_ASSERT_STRING_EQUAL(m.u.docs.items[0].json, "{\"tag\":\"site\"}");
    CU_ASSERT_STRING_EQUAL(m.u.docs.items[1].key, "site=b");
    CU_ASSERT_PTR_NULL(m.u.docs.items[1].json);
    hs_proto_wreq_msg_free(&m);
    CU_ASSERT(refuses_cut_and_trailing(dec_wreq, &b));
    CU_ASSERT(survives_nomem(dec_wreq, &b));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "docs", NULL, 0, "docs"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "docs", V(0x90), "docs")); /* [] */
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "docs", V(0x91, 0x92, 0xa1, 'm', 0xa1, 'k'), "docs"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "docs", V(0x91, 0x93, 0xa0, 0xa1, 'k', 0xc0), "docs"));
    CU_ASSERT(
        refuses(dec_wreq, &b, ED_SET, "docs", V(0x91, 0x93, 0xa1, 'm', 0xa1, 'k', 0x01), "docs"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "coll", V(0xa1, 'x'), "coll"));
    /* Nothing to send, or an item without a key, is refused by the encoder. */
    hs_proto_docs none = {items, 0};
    CU_ASSERT_EQUAL(hs_proto_docs_encode_fields(&f, &none, &n), HS_ERR_INVAL);
    items[1].key = "";
    CU_ASSERT_EQUAL(hs_proto_docs_encode_fields(&f, &d, &n), HS_ERR_INVAL);
    hs_buf_free(&f);
    hs_buf_free(&b);
}

static void test_wreq_define(void)
{
    static const char *const deps[] = {"temp/house=1", "windows"};
    static const hs_proto_define_item items[] = {
        {.sid = "avg/house=1",
         .kind = 1,
         .binding = "{\"tool\":\"window_mean\"}",
         .has_deps = true,
         .sources = deps,
         .nsources = 2,
         .lookback_us = 60000000,
         .max_lateness_us = 3600000000},
        {.sid = "temp/house=1", .kind = 0},
        {.sid = "asset/name=x", .kind = 2, .binding = ""},
    };
    hs_buf f, b;
    hs_buf_init(&f, 0);
    hs_buf_init(&b, 0);
    hs_proto_define none = {NULL, 0};
    CU_ASSERT_EQUAL(hs_proto_define_encode_fields(&f, &none, &(uint32_t){0}), HS_ERR_INVAL);
    hs_proto_define_item bad_kind = {.sid = "x", .kind = 3};
    hs_proto_define bad0 = {&bad_kind, 1};
    CU_ASSERT_EQUAL(hs_proto_define_encode_fields(&f, &bad0, &(uint32_t){0}), HS_ERR_INVAL);
    for (size_t count = 1; count <= 3; count++) {
        hs_proto_define d = {items, count};
        uint32_t n = 0;
        hs_buf_reset(&f);
        CU_ASSERT_EQUAL_FATAL(hs_proto_define_encode_fields(&f, &d, &n), HS_OK);
        CU_ASSERT_EQUAL(n, 1);
        wreq(&b, 5, 6, HS_OP_DEFINE, &f, n);
        hs_proto_envelope env;
        hs_proto_wreq_msg m;
        CU_ASSERT_EQUAL_FATAL(wreq_decode(&b, &env, &m), HS_OK);
        CU_ASSERT_EQUAL(m.op, HS_OP_DEFINE);
        CU_ASSERT_EQUAL_FATAL(m.u.define.n, count);
        for (size_t i = 0; i < count; i++) {
            CU_ASSERT_STRING_EQUAL(m.u.define.items[i].sid, items[i].sid);
            CU_ASSERT_EQUAL(m.u.define.items[i].kind, items[i].kind);
            CU_ASSERT(str_eq(m.u.define.items[i].binding, items[i].binding));
            const hs_proto_define_item *got = &m.u.define.items[i];
            CU_ASSERT_EQUAL(got->has_deps, items[i].has_deps);
            CU_ASSERT_EQUAL(got->lookback_us, items[i].lookback_us);
            CU_ASSERT_EQUAL(got->max_lateness_us, items[i].max_lateness_us);
            CU_ASSERT_EQUAL_FATAL(got->nsources, items[i].nsources);
            for (size_t k = 0; k < got->nsources; k++)
                CU_ASSERT_STRING_EQUAL(got->sources[k], items[i].sources[k]);
        }
        hs_proto_wreq_msg_free(&m);
    }
    CU_ASSERT(refuses_cut_and_trailing(dec_wreq, &b));
    CU_ASSERT(survives_nomem(dec_wreq, &b));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "streams", NULL, 0, "streams"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "streams", NULL, 0, "streams"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams", V(0x80), "streams"));
    /* Items of the wrong shape, kind or binding. */
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams", V(0x91, 0x92, 0xa1, 's', 0x01),
                      "stream definition 0"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams", V(0x91, 0x93, 0xa1, 's', 0x11, 0xc0),
                      "stream definition 0"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams", V(0x91, 0x93, 0xa1, 's', 0xff, 0xc0),
                      "stream definition 0"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams",
                      V(0x92, 0x93, 0xa1, 's', 0x00, 0xc0, 0x93, 0xa1, 't', 0x01, 0x05),
                      "stream definition 1"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams", V(0x91, 0x93, 0xa0, 0x00, 0xc0), "streams"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams", V(0x91, 0x93, 0xa1, 's', 0x00, 0xa1, 0),
                      "binding"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "stream", V(0xa1, 's'), "stream"));
    /* Dependencies: a map of exactly sources, lookback_us, max_lateness_us; no negative figures. */
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "streams", V(0x91, 0x94, 0xa1, 's', 0x01, 0xc0, 0x80),
                      "sources"));
    CU_ASSERT(
        refuses(dec_wreq, &b, ED_SET, "streams",
                V(0x91, 0x94, 0xa1, 's', 0x01, 0xc0, 0x83, 0xa7, 's', 'o', 'u', 'r', 'c', 'e', 's',
                  0x90, 0xab, 'l', 'o', 'o', 'k', 'b', 'a', 'c', 'k', '_', 'u', 's', 0xff, 0xaf,
                  'm', 'a', 'x', '_', 'l', 'a', 't', 'e', 'n', 'e', 's', 's', '_', 'u', 's', 0x00),
                "lookback_us"));
    hs_proto_define_item neg = {.sid = "x", .kind = 1, .has_deps = true, .lookback_us = -1};
    hs_proto_define negd = {&neg, 1};
    CU_ASSERT_EQUAL(hs_proto_define_encode_fields(&f, &negd, &(uint32_t){0}), HS_ERR_INVAL);
    hs_proto_define bad = {NULL, 1};
    uint32_t n;
    CU_ASSERT_EQUAL(hs_proto_define_encode_fields(&f, &bad, &n), HS_ERR_INVAL);
    hs_buf_free(&f);
    hs_buf_free(&b);
}

static void test_wreq_purge(void)
{
    hs_buf f, b, e;
    hs_buf_init(&f, 0);
    hs_buf_init(&b, 0);
    hs_buf_init(&e, 0);
    for (int remove = 0; remove <= 1; remove++) {
        hs_proto_purge p = {.stream = "temp/house=1", .remove = remove == 1};
        uint32_t n = 0;
        hs_buf_reset(&f);
        CU_ASSERT_EQUAL_FATAL(hs_proto_purge_encode_fields(&f, &p, &n), HS_OK);
        CU_ASSERT_EQUAL(n, 2);
        wreq(&b, 1, 1, HS_OP_PURGE, &f, n);
        hs_proto_envelope env;
        hs_proto_wreq_msg m;
        CU_ASSERT_EQUAL_FATAL(wreq_decode(&b, &env, &m), HS_OK);
        CU_ASSERT_EQUAL(m.op, HS_OP_PURGE);
        CU_ASSERT_STRING_EQUAL(m.u.purge.stream, "temp/house=1");
        CU_ASSERT_EQUAL(m.u.purge.remove, remove == 1);
        hs_proto_wreq_msg_free(&m);
    }
    /* remove is optional and defaults to false. */
    CU_ASSERT_FATAL(map_edit(b.data, b.len, ED_DROP, "remove", NULL, 0, &e));
    hs_proto_envelope env;
    hs_proto_wreq_msg m;
    CU_ASSERT_EQUAL_FATAL(wreq_decode(&e, &env, &m), HS_OK);
    CU_ASSERT_FALSE(m.u.purge.remove);
    hs_proto_wreq_msg_free(&m);
    CU_ASSERT(refuses_cut_and_trailing(dec_wreq, &b));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "stream", NULL, 0, "stream"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "remove", V(0x01), "remove"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "remove", NULL, 0, "remove"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "data", V(0x90), "data"));
    hs_proto_purge none = {.stream = NULL};
    uint32_t n;
    CU_ASSERT_EQUAL(hs_proto_purge_encode_fields(&f, &none, &n), HS_ERR_INVAL);
    hs_buf_free(&f);
    hs_buf_free(&b);
    hs_buf_free(&e);
}

/* purge with before: the end travels as given, is optional, and excludes remove. */
static void test_wreq_purge_before(void)
{
    hs_buf f, b;
    hs_buf_init(&f, 0);
    hs_buf_init(&b, 0);
    const int64_t ends[] = {INT64_MIN, -1, 0, 1700000000123456LL, INT64_MAX};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        hs_proto_purge p = {.stream = "temp/house=1", .has_before = true, .before_us = ends[i]};
        uint32_t n = 0;
        hs_buf_reset(&f);
        CU_ASSERT_EQUAL_FATAL(hs_proto_purge_encode_fields(&f, &p, &n), HS_OK);
        CU_ASSERT_EQUAL(n, 3);
        wreq(&b, 1, 1, HS_OP_PURGE, &f, n);
        hs_proto_envelope env;
        hs_proto_wreq_msg m;
        CU_ASSERT_EQUAL_FATAL(wreq_decode(&b, &env, &m), HS_OK);
        CU_ASSERT_STRING_EQUAL(m.u.purge.stream, "temp/house=1");
        CU_ASSERT_TRUE(m.u.purge.has_before);
        CU_ASSERT_EQUAL(m.u.purge.before_us, ends[i]);
        CU_ASSERT_FALSE(m.u.purge.remove);
        hs_proto_wreq_msg_free(&m);
    }
    /* Without before, has_before is false whatever the struct held before. */
    hs_proto_purge whole = {.stream = "s"};
    uint32_t n = 0;
    hs_buf_reset(&f);
    CU_ASSERT_EQUAL_FATAL(hs_proto_purge_encode_fields(&f, &whole, &n), HS_OK);
    hs_buf w;
    hs_buf_init(&w, 0);
    wreq(&w, 1, 2, HS_OP_PURGE, &f, n);
    hs_proto_envelope env;
    hs_proto_wreq_msg m;
    CU_ASSERT_EQUAL_FATAL(wreq_decode(&w, &env, &m), HS_OK);
    CU_ASSERT_FALSE(m.u.purge.has_before);
    hs_proto_wreq_msg_free(&m);
    hs_buf_free(&w);
    /* b holds the last encoding with before: its value must be an integer, once. */
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "before", V(0xa1, 'x'), "before"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "before", NULL, 0, "before"));
    /* before and remove exclude each other, in the encoder and in the decoder. */
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "remove", V(0xc3), "remove"));
    hs_proto_purge both = {.stream = "s", .remove = true, .has_before = true, .before_us = 5};
    CU_ASSERT_EQUAL(hs_proto_purge_encode_fields(&f, &both, &n), HS_ERR_INVAL);
    hs_buf_free(&f);
    hs_buf_free(&b);
}

static void test_wreq_invalidate(void)
{
    hs_buf f, b;
    hs_buf_init(&f, 0);
    hs_buf_init(&b, 0);
    CU_ASSERT_STRING_EQUAL(hs_proto_op_name(HS_OP_INVALIDATE), "invalidate");
    hs_proto_invalidate v = {"avg/house=1", {-1, INT64_MAX}};
    uint32_t n = 0;
    CU_ASSERT_EQUAL_FATAL(hs_proto_invalidate_encode_fields(&f, &v, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 2);
    wreq(&b, 3, 9, HS_OP_INVALIDATE, &f, n);
    hs_proto_envelope env;
    hs_proto_wreq_msg m;
    CU_ASSERT_EQUAL_FATAL(wreq_decode(&b, &env, &m), HS_OK);
    CU_ASSERT_EQUAL(env.op, HS_OP_INVALIDATE);
    CU_ASSERT_STRING_EQUAL(env.op_text, "invalidate");
    CU_ASSERT_EQUAL(m.op, HS_OP_INVALIDATE);
    CU_ASSERT_STRING_EQUAL(m.u.invalidate.stream, "avg/house=1");
    CU_ASSERT_EQUAL(m.u.invalidate.interval.start, -1);
    CU_ASSERT_EQUAL(m.u.invalidate.interval.end, INT64_MAX);
    hs_proto_wreq_msg_free(&m);
    CU_ASSERT(field_bytes_are(&b, "op", V(0xaa, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 'a', 't', 'e')));
    CU_ASSERT(refuses_cut_and_trailing(dec_wreq, &b));
    CU_ASSERT(survives_nomem(dec_wreq, &b));
    /* Both fields are required; the interval is not empty; nothing else is read. */
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "stream", NULL, 0, "stream"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "interval", NULL, 0, "interval"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "interval", NULL, 0, "interval"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "interval", V(0x92, 0x05, 0x05), "interval"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "interval", V(0x92, 0x06, 0x05), "interval"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "interval", V(0x91, 0x05), "interval"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "stream", V(0xa0), "stream"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "stream", V(0xa3, 'a', 0, 'b'), "stream"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "remove", V(0xc3), "remove"));
    CU_ASSERT(accepts(dec_wreq, &b, ED_SET, "interval", V(0x92, 0x05, 0x06)));
    /* The encoder refuses what the decoder would. */
    hs_proto_invalidate bad[] = {{"s", {5, 5}}, {"s", {6, 5}}, {"", {0, 1}}, {NULL, {0, 1}}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hs_buf_reset(&f);
        CU_ASSERT_EQUAL(hs_proto_invalidate_encode_fields(&f, &bad[i], &n), HS_ERR_INVAL);
    }
    hs_buf_free(&f);
    hs_buf_free(&b);
}

static void test_wreq_docs(void)
{
    hs_buf f, b;
    hs_buf_init(&f, 0);
    hs_buf_init(&b, 0);
    /* doc_put with a document, doc_del without. */
    hs_proto_doc put = {"workflows", "wf-houses", "{\"id\":\"wf-houses\",\"n\":[1,2]}"};
    uint32_t n = 0;
    CU_ASSERT_EQUAL_FATAL(hs_proto_doc_encode_fields(&f, &put, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 3);
    wreq(&b, 3, 4, HS_OP_DOC_PUT, &f, n);
    hs_proto_envelope env;
    hs_proto_wreq_msg m;
    CU_ASSERT_EQUAL_FATAL(wreq_decode(&b, &env, &m), HS_OK);
    CU_ASSERT_EQUAL(m.op, HS_OP_DOC_PUT);
    CU_ASSERT_STRING_EQUAL(m.u.doc.coll, put.coll);
    CU_ASSERT_STRING_EQUAL(m.u.doc.key, put.key);
    CU_ASSERT_STRING_EQUAL(m.u.doc.json, put.json);
    hs_proto_wreq_msg_free(&m);
    CU_ASSERT(refuses_cut_and_trailing(dec_wreq, &b));
    CU_ASSERT(survives_nomem(dec_wreq, &b));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "coll", NULL, 0, "coll"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "key", NULL, 0, "key"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "json", NULL, 0, "json"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "json", NULL, 0, "json"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "json", V(0xc0), "json"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "coll", V(0xa0), "coll"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "key", V(0xa3, 'a', 0, 'b'), "key"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "stream", V(0xa1, 's'), "stream"));

    hs_proto_doc del = {"online", "wf-houses", NULL};
    hs_buf_reset(&f);
    CU_ASSERT_EQUAL_FATAL(hs_proto_doc_encode_fields(&f, &del, &n), HS_OK);
    CU_ASSERT_EQUAL(n, 2);
    wreq(&b, 3, 5, HS_OP_DOC_DEL, &f, n);
    CU_ASSERT_EQUAL_FATAL(wreq_decode(&b, &env, &m), HS_OK);
    CU_ASSERT_EQUAL(m.op, HS_OP_DOC_DEL);
    CU_ASSERT_STRING_EQUAL(m.u.doc.coll, "online");
    CU_ASSERT_STRING_EQUAL(m.u.doc.key, "wf-houses");
    CU_ASSERT_PTR_NULL(m.u.doc.json);
    hs_proto_wreq_msg_free(&m);
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "json", V(0xa2, '{', '}'), "json"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, "key", NULL, 0, "key"));
    hs_proto_doc none = {"c", NULL, NULL};
    CU_ASSERT_EQUAL(hs_proto_doc_encode_fields(&f, &none, &n), HS_ERR_INVAL);
    hs_buf_free(&f);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ job output */

/* Encodes o as a whole write request into out (reset first). */
static int enc_jobout(hs_buf *out, const hs_proto_jobout *o, uint64_t inc, uint64_t seq)
{
    hs_buf f;
    hs_buf_init(&f, 0);
    uint32_t n = 0;
    int rc = hs_proto_jobout_encode_fields(&f, o, &n);
    hs_buf_reset(out);
    if (rc == HS_OK)
        rc = hs_proto_wreq_begin(out, inc, seq, HS_OP_JOB, n);
    if (rc == HS_OK)
        rc = hs_buf_append(out, f.data, f.len);
    hs_buf_free(&f);
    return rc;
}

/* Encodes, decodes and compares o field by field. */
static void jobout_roundtrip(const hs_proto_jobout *o)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(enc_jobout(&b, o, 11, 12), HS_OK);
    hs_proto_envelope env;
    CU_ASSERT_EQUAL_FATAL(hs_proto_wreq_envelope(b.data, b.len, &env), HS_OK);
    CU_ASSERT_EQUAL(env.op, HS_OP_JOB);
    CU_ASSERT_EQUAL(env.inc, 11);
    CU_ASSERT_EQUAL(env.seq, 12);
    hs_proto_jobout_msg m;
    int rc = hs_proto_jobout_decode(&m, &env);
    CU_ASSERT_EQUAL(rc, HS_OK);
    if (rc == HS_OK) {
        const hs_proto_jobout *g = &m.out;
        check_job_header(&o->hdr, &g->hdr);
        /* Not carried by job outputs. */
        CU_ASSERT_EQUAL(g->hdr.nsources, 0);
        CU_ASSERT_PTR_NULL(g->hdr.alignment);
        CU_ASSERT_PTR_NULL(g->hdr.splitting);
        CU_ASSERT_PTR_NULL(g->hdr.output_meta);
        CU_ASSERT_EQUAL(g->part, o->part);
        CU_ASSERT_EQUAL(g->parts, o->parts);
        CU_ASSERT_EQUAL(g->started_us, o->started_us);
        CU_ASSERT_EQUAL(g->duration_us, o->duration_us);
        CU_ASSERT(str_eq(g->runtime, o->runtime));
        CU_ASSERT(str_eq(g->error, o->error));
        bool pvs = o->error == NULL && o->has_plate_values;
        CU_ASSERT_EQUAL(g->has_plate_values, pvs);
        CU_ASSERT_EQUAL_FATAL(g->nplate_values, pvs ? o->nplate_values : 0);
        for (size_t i = 0; i < g->nplate_values; i++)
            CU_ASSERT(str_eq(g->plate_values[i], o->plate_values[i]));
        bool outs = o->error == NULL && !o->has_plate_values;
        CU_ASSERT_EQUAL_FATAL(g->noutputs, outs ? o->noutputs : 0);
        for (size_t i = 0; i < g->noutputs; i++) {
            CU_ASSERT(str_eq(g->outputs[i].sid, o->outputs[i].sid));
            CU_ASSERT(bytes_eq(g->outputs[i].batch, g->outputs[i].batch_len, o->outputs[i].batch,
                               o->outputs[i].batch_len));
        }
    }
    hs_proto_jobout_msg_free(&m);
    hs_buf_free(&b);
}

static hs_proto_jobout full_jobout(const hs_buf *params, const hs_proto_output *outputs,
                                   size_t noutputs)
{
    hs_proto_jobout o = {
        .hdr = full_job(params),
        .part = 1,
        .parts = 3,
        .started_us = 1700000123456789,
        .duration_us = 4321,
        .runtime = "tool-window_mean-1",
        .outputs = outputs,
        .noutputs = noutputs,
    };
    return o;
}

static void test_jobout_outputs(void)
{
    hs_buf params, batch, b;
    hs_buf_init(&params, 0);
    hs_buf_init(&batch, 0);
    hs_buf_init(&b, 0);
    make_params(&params);
    make_batch(&batch);
    hs_proto_output outs[] = {{"avg/house=1", batch.data, batch.len},
                              {"max/house=1", batch.data, batch.len}};
    hs_proto_jobout o = full_jobout(&params, outs, 2);
    jobout_roundtrip(&o);
    /* A job that produced nothing sends no outputs. */
    hs_proto_jobout none = full_jobout(&params, NULL, 0);
    jobout_roundtrip(&none);
    CU_ASSERT_EQUAL_FATAL(enc_jobout(&b, &none, 1, 1), HS_OK);
    hs_mp_field f[MAX_FIELDS];
    size_t n;
    CU_ASSERT_EQUAL_FATAL(hs_mp_map_index(b.data, b.len, f, MAX_FIELDS, &n, NULL), HS_OK);
    CU_ASSERT_PTR_NULL(hs_mp_field_find(f, n, "outputs"));
    CU_ASSERT_EQUAL(n, 4 + 14 + 2);
    /* The sources, alignment... of the header are not sent. */
    CU_ASSERT_EQUAL_FATAL(enc_jobout(&b, &o, 1, 1), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_mp_map_index(b.data, b.len, f, MAX_FIELDS, &n, NULL), HS_OK);
    CU_ASSERT_PTR_NULL(hs_mp_field_find(f, n, "sources"));
    CU_ASSERT_PTR_NULL(hs_mp_field_find(f, n, "alignment"));
    CU_ASSERT_PTR_NULL(hs_mp_field_find(f, n, "error"));
    CU_ASSERT_PTR_NULL(hs_mp_field_find(f, n, "plate_values"));
    CU_ASSERT_EQUAL(n, 4 + 14 + 3); /* envelope, header and part, request, output_plate, outputs */
    CU_ASSERT(refuses_cut_and_trailing(dec_wreq, &b));
    CU_ASSERT(survives_nomem(dec_wreq, &b));
    /* Each part of an output of the wrong shape, or for a stream that is not a sink. */
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "outputs", V(0x91, 0x92, 0xa1, 's', 0x90), "sink"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "outputs", V(0x91, 0x91, 0xa1, 's'), "outputs"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "outputs", V(0x91, 0x92, 0xa0, 0x90), "outputs"));
    CU_ASSERT(
        refuses(dec_wreq, &b, ED_SET, "outputs",
                V(0x91, 0x92, 0xab, 'a', 'v', 'g', '/', 'h', 'o', 'u', 's', 'e', '=', '1', 0x80),
                "outputs"));
    CU_ASSERT(
        accepts(dec_wreq, &b, ED_SET, "outputs",
                V(0x91, 0x92, 0xab, 'a', 'v', 'g', '/', 'h', 'o', 'u', 's', 'e', '=', '1', 0x90)));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "outputs", V(0x80), "outputs"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "outputs", NULL, 0, "outputs"));
    /* Job outputs of an older sender may carry the job's sources etc.: read and dropped. */
    CU_ASSERT(accepts(dec_wreq, &b, ED_ADD, "sources", V(0x91, 0xa1, 's')));
    CU_ASSERT(accepts(dec_wreq, &b, ED_ADD, "alignment", V(0xc0)));
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "stream", V(0xa1, 's'), "stream"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "colour", V(0xa1, 's'), "colour"));
    hs_buf_free(&params);
    hs_buf_free(&batch);
    hs_buf_free(&b);
}

static void test_jobout_error_and_plate_values(void)
{
    hs_buf params;
    hs_buf_init(&params, 0);
    make_params(&params);
    hs_proto_jobout o = full_jobout(&params, NULL, 0);
    o.error = "division by zero";
    jobout_roundtrip(&o);
    o.error = NULL;
    static const char *const pvs[] = {"house=1/room=kitchen", "house=1/room=hall"};
    o.has_plate_values = true;
    o.plate_values = pvs;
    o.nplate_values = 2;
    jobout_roundtrip(&o);
    o.nplate_values = 0; /* plate creation that found nothing */
    o.plate_values = NULL;
    jobout_roundtrip(&o);
    /* The error wins over plate values. */
    o.error = "gone";
    jobout_roundtrip(&o);

    /* An empty error reads as none. */
    hs_buf b, e;
    hs_buf_init(&b, 0);
    hs_buf_init(&e, 0);
    o.error = "x";
    CU_ASSERT_EQUAL_FATAL(enc_jobout(&b, &o, 1, 1), HS_OK);
    CU_ASSERT_FATAL(map_edit(b.data, b.len, ED_SET, "error", V(0xa0), &e));
    hs_proto_envelope env;
    CU_ASSERT_EQUAL_FATAL(hs_proto_wreq_envelope(e.data, e.len, &env), HS_OK);
    hs_proto_jobout_msg m;
    CU_ASSERT_EQUAL(hs_proto_jobout_decode(&m, &env), HS_OK);
    CU_ASSERT_PTR_NULL(m.out.error);
    hs_proto_jobout_msg_free(&m);
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "error", V(0xa3, 'a', 0, 'b'), "error"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "error", V(0xc0), "error"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "error", NULL, 0, "error"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_ADD, "plate_values", V(0x91, 0x05), "plate_values"));
    hs_buf_free(&b);
    hs_buf_free(&e);
    hs_buf_free(&params);
}

static void test_jobout_minimal(void)
{
    hs_proto_jobout o = {.hdr = minimal_job(), .parts = 1, .runtime = "rt"};
    jobout_roundtrip(&o);

    /* Defaults: one part, no runtime, the global plate value. */
    hs_buf b, e, e2;
    hs_buf_init(&b, 0);
    hs_buf_init(&e, 0);
    hs_buf_init(&e2, 0);
    CU_ASSERT_EQUAL_FATAL(enc_jobout(&b, &o, 1, 1), HS_OK);
    CU_ASSERT_FATAL(map_edit(b.data, b.len, ED_DROP, "parts", NULL, 0, &e));
    CU_ASSERT_FATAL(map_edit(e.data, e.len, ED_DROP, "runtime", NULL, 0, &e2));
    CU_ASSERT_FATAL(map_edit(e2.data, e2.len, ED_DROP, "pv", NULL, 0, &e));
    hs_proto_envelope env;
    CU_ASSERT_EQUAL_FATAL(hs_proto_wreq_envelope(e.data, e.len, &env), HS_OK);
    hs_proto_jobout_msg m;
    CU_ASSERT_EQUAL(hs_proto_jobout_decode(&m, &env), HS_OK);
    CU_ASSERT_EQUAL(m.out.parts, 1);
    CU_ASSERT_EQUAL(m.out.part, 0);
    CU_ASSERT_STRING_EQUAL(m.out.runtime, "");
    CU_ASSERT_STRING_EQUAL(m.out.hdr.pv, "");
    hs_proto_jobout_msg_free(&m);
    hs_buf_free(&b);
    hs_buf_free(&e);
    hs_buf_free(&e2);
}

/* A recomputation's output parts carry its trigger and wseq, checked like the job's. */
static void test_jobout_trigger_wseq(void)
{
    hs_buf params, batch, b;
    hs_buf_init(&params, 0);
    hs_buf_init(&batch, 0);
    hs_buf_init(&b, 0);
    make_params(&params);
    make_batch(&batch);
    hs_proto_output outs[] = {{"avg/house=1", batch.data, batch.len}};
    hs_proto_jobout o = full_jobout(&params, outs, 1);
    for (int t = HS_TRIGGER_REQUEST; t <= HS_TRIGGER_INVALIDATE; t++) {
        o.hdr.trigger = (hs_proto_trigger)t;
        o.hdr.wseq = (hs_proto_wseq){0, 0};
        jobout_roundtrip(&o);
        o.hdr.wseq = (hs_proto_wseq){1700000000000000, (uint64_t)t};
        jobout_roundtrip(&o);
    }
    o.hdr.trigger = HS_TRIGGER_INVALIDATE;
    o.hdr.wseq = (hs_proto_wseq){7, 8};
    CU_ASSERT_EQUAL_FATAL(enc_jobout(&b, &o, 1, 1), HS_OK);
    hs_mp_field f[MAX_FIELDS];
    size_t n;
    CU_ASSERT_EQUAL_FATAL(hs_mp_map_index(b.data, b.len, f, MAX_FIELDS, &n, NULL), HS_OK);
    CU_ASSERT_EQUAL(n, 4 + 14 + 3 + 2);
    CU_ASSERT(field_bytes_are(&b, "wseq", V(0x92, 0x07, 0x08)));
    CU_ASSERT(
        field_bytes_are(&b, "trigger", V(0xaa, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 'a', 't', 'e')));
    CU_ASSERT(refuses_cut_and_trailing(dec_wreq, &b));
    CU_ASSERT(survives_nomem(dec_wreq, &b));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "trigger", V(0xa4, 'h', 'e', 'a', 'l'), "trigger"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "wseq", V(0x92, 0x00, 0x08), "wseq"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, "wseq", NULL, 0, "wseq"));
    CU_ASSERT(accepts(dec_wreq, &b, ED_DROP, "trigger", NULL, 0));
    CU_ASSERT(accepts(dec_wreq, &b, ED_DROP, "wseq", NULL, 0));
    o.hdr.trigger = (hs_proto_trigger)4;
    CU_ASSERT_NOT_EQUAL(enc_jobout(&b, &o, 1, 1), HS_OK);
    hs_buf_free(&params);
    hs_buf_free(&batch);
    hs_buf_free(&b);
}

static void test_jobout_errors(void)
{
    hs_buf params, b;
    hs_buf_init(&params, 0);
    hs_buf_init(&b, 0);
    make_params(&params);
    hs_proto_jobout o = full_jobout(&params, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(enc_jobout(&b, &o, 1, 1), HS_OK);
    static const char *const required[] = {"job", "workflow", "binding", "interval", "sinks"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        CU_ASSERT(refuses(dec_wreq, &b, ED_DROP, required[i], NULL, 0, required[i]));
    static const char *const keys[] = {"job",         "workflow", "factor",   "pv",
                                       "tool",        "binding",  "interval", "sinks",
                                       "attempt",     "part",     "parts",    "started_us",
                                       "duration_us", "runtime",  "request",  "output_plate"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CU_ASSERT(refuses(dec_wreq, &b, ED_DUP, keys[i], NULL, 0, keys[i]));
    /* Parts out of range, bad types. */
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "part", V(0x03), "part"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "parts", V(0x00), "part"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "parts", V(0xce, 0x00, 0x01, 0x86, 0xa1), "parts"));
    CU_ASSERT(accepts(dec_wreq, &b, ED_SET, "parts", V(0xce, 0x00, 0x01, 0x86, 0xa0)));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "part", V(0xff), "part"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "started_us", V(0xa1, '1'), "started_us"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "duration_us", V(0xc0), "duration_us"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "runtime", V(0x01), "runtime"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "interval", V(0x92, 0x05, 0x05), "interval"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "factor", V(0xa2, '0', '1'), "factor"));
    CU_ASSERT(refuses(dec_wreq, &b, ED_SET, "v", V(0x02), "v"));

    /* The encoder refuses parts it could not describe. */
    hs_buf f;
    hs_buf_init(&f, 0);
    uint32_t n;
    hs_proto_jobout bad = o;
    bad.parts = 0;
    bad.part = 0;
    CU_ASSERT_EQUAL(hs_proto_jobout_encode_fields(&f, &bad, &n), HS_ERR_INVAL);
    bad = o;
    bad.part = 3;
    CU_ASSERT_EQUAL(hs_proto_jobout_encode_fields(&f, &bad, &n), HS_ERR_INVAL);
    bad = o;
    bad.runtime = NULL;
    CU_ASSERT_EQUAL(hs_proto_jobout_encode_fields(&f, &bad, &n), HS_ERR_INVAL);
    bad = o;
    bad.noutputs = 1;
    CU_ASSERT_EQUAL(hs_proto_jobout_encode_fields(&f, &bad, &n), HS_ERR_INVAL);
    bad = o;
    bad.hdr.interval = (hs_interval){9, 9};
    CU_ASSERT_EQUAL(hs_proto_jobout_encode_fields(&f, &bad, &n), HS_ERR_INVAL);
    hs_buf_free(&f);
    hs_buf_free(&params);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ acknowledgements */

/* Encodes an acknowledgement of the n items into out (reset first). */
static int enc_ack(hs_buf *out, uint64_t inc, const hs_proto_ack_item *items, size_t n)
{
    hs_buf it;
    hs_buf_init(&it, 0);
    int rc = HS_OK;
    for (size_t i = 0; i < n && rc == HS_OK; i++)
        rc = hs_proto_ack_item_encode(&it, &items[i]);
    hs_buf_reset(out);
    if (rc == HS_OK)
        rc = hs_proto_ack_encode(out, inc, it.data, it.len, (uint32_t)n);
    hs_buf_free(&it);
    return rc;
}

static void test_ack_roundtrip(void)
{
    static const hs_proto_ack_item items[] = {
        {1, HS_ACK_OK, 10, 2, 1, NULL},
        {2, HS_ACK_REJECTED, 0, 0, 0, "stream id is not canonical"},
        {UINT64_MAX, HS_ACK_STALE, UINT64_MAX, UINT64_MAX - 1, 5, "binding changed"},
    };
    hs_buf b;
    hs_buf_init(&b, 0);
    for (size_t count = 1; count <= 3; count++) {
        CU_ASSERT_EQUAL_FATAL(enc_ack(&b, count == 1 ? 0 : 1700000000000000, items, count), HS_OK);
        hs_proto_ack_msg m;
        CU_ASSERT_EQUAL_FATAL(hs_proto_ack_decode(&m, b.data, b.len), HS_OK);
        CU_ASSERT_EQUAL(m.ack.inc, count == 1 ? 0 : 1700000000000000);
        CU_ASSERT_EQUAL_FATAL(m.ack.nitems, count);
        for (size_t i = 0; i < count; i++) {
            CU_ASSERT_EQUAL(m.ack.items[i].seq, items[i].seq);
            CU_ASSERT_EQUAL(m.ack.items[i].status, items[i].status);
            CU_ASSERT_EQUAL(m.ack.items[i].inserted, items[i].inserted);
            CU_ASSERT_EQUAL(m.ack.items[i].duplicates, items[i].duplicates);
            CU_ASSERT_EQUAL(m.ack.items[i].conflicts, items[i].conflicts);
            CU_ASSERT(str_eq(m.ack.items[i].reason, items[i].reason));
        }
        hs_proto_ack_msg_free(&m);
    }
    CU_ASSERT(refuses_cut_and_trailing(dec_ack, &b));
    CU_ASSERT(survives_nomem(dec_ack, &b));

    /* Status 0 with a reason: the reason is not sent. */
    hs_proto_ack_item ok_why = {4, HS_ACK_OK, 1, 0, 0, "ignored"};
    CU_ASSERT_EQUAL_FATAL(enc_ack(&b, 1, &ok_why, 1), HS_OK);
    hs_proto_ack_msg m;
    CU_ASSERT_EQUAL_FATAL(hs_proto_ack_decode(&m, b.data, b.len), HS_OK);
    CU_ASSERT_PTR_NULL(m.ack.items[0].reason);
    hs_proto_ack_msg_free(&m);
    hs_buf_free(&b);
}

static void test_ack_errors(void)
{
    hs_buf b, it;
    hs_buf_init(&b, 0);
    hs_buf_init(&it, 0);
    /* The encoder: a refusal needs a reason, seq 0 and no items are refused. */
    hs_proto_ack_item no_why = {4, HS_ACK_REJECTED, 0, 0, 0, NULL};
    CU_ASSERT_EQUAL(hs_proto_ack_item_encode(&it, &no_why), HS_ERR_INVAL);
    no_why.reason = "";
    CU_ASSERT_EQUAL(hs_proto_ack_item_encode(&it, &no_why), HS_ERR_INVAL);
    hs_proto_ack_item seq0 = {0, HS_ACK_OK, 0, 0, 0, NULL};
    CU_ASSERT_EQUAL(hs_proto_ack_item_encode(&it, &seq0), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_proto_ack_encode(&b, 1, NULL, 0, 0), HS_ERR_INVAL);

    static const hs_proto_ack_item item = {3, HS_ACK_OK, 1, 2, 3, NULL};
    CU_ASSERT_EQUAL_FATAL(enc_ack(&b, 9, &item, 1), HS_OK);
    CU_ASSERT(refuses(dec_ack, &b, ED_DROP, "inc", NULL, 0, "inc"));
    CU_ASSERT(refuses(dec_ack, &b, ED_DROP, "acks", NULL, 0, "acks"));
    CU_ASSERT(accepts(dec_ack, &b, ED_DROP, "v", NULL, 0));
    CU_ASSERT(refuses(dec_ack, &b, ED_DUP, "v", NULL, 0, "v"));
    CU_ASSERT(refuses(dec_ack, &b, ED_DUP, "inc", NULL, 0, "inc"));
    CU_ASSERT(refuses(dec_ack, &b, ED_DUP, "acks", NULL, 0, "acks"));
    CU_ASSERT(refuses(dec_ack, &b, ED_ADD, "colour", V(0x01), "colour"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "v", V(0x02), "v"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "inc", V(0xff), "inc"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "inc", V(0xa1, '1'), "inc"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "acks", V(0x90), "acks"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "acks", V(0x80), "acks"));
    /* Items: status 0 with a reason, status 1 without, status 3, seq 0, short, negative. */
    CU_ASSERT(
        refuses(dec_ack, &b, ED_SET, "acks", V(0x91, 0x96, 1, 0, 0, 0, 0, 0xa1, 'x'), "acks"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "acks", V(0x91, 0x95, 1, 1, 0, 0, 0), "acks"));
    CU_ASSERT(
        refuses(dec_ack, &b, ED_SET, "acks", V(0x91, 0x96, 1, 3, 0, 0, 0, 0xa1, 'x'), "acks"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "acks", V(0x91, 0x95, 0, 0, 0, 0, 0), "acks"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "acks", V(0x91, 0x94, 1, 0, 0, 0), "acks"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "acks", V(0x91, 0x95, 1, 0, 0xff, 0, 0), "acks"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "acks", V(0x91, 0x96, 1, 1, 0, 0, 0, 0xa0), "acks"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "acks", V(0x91, 0x96, 1, 2, 0, 0, 0, 0xa1, 0), "acks"));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "acks", V(0x91, 0x96, 1, 2, 0, 0, 0, 0x07), "acks"));
    CU_ASSERT(accepts(dec_ack, &b, ED_SET, "acks", V(0x91, 0x96, 1, 2, 0, 0, 0, 0xa1, 'x')));
    CU_ASSERT(refuses(dec_ack, &b, ED_SET, "acks", V(0xdd, 0xff, 0xff, 0xff, 0xff), "acks"));
    CU_ASSERT_EQUAL(dec_ack(V(0x93, 0x01, 0x01, 0x01)), HS_ERR_PARSE);
    hs_buf_free(&b);
    hs_buf_free(&it);
}

/* ------------------------------------------------------------------ commit notices */

static int enc_committed(hs_buf *out, const hs_proto_committed *c)
{
    hs_buf_reset(out);
    return hs_proto_committed_encode(out, c);
}

static void committed_roundtrip(const hs_proto_committed *c)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(enc_committed(&b, c), HS_OK);
    hs_proto_committed_msg m;
    int rc = hs_proto_committed_decode(&m, b.data, b.len);
    CU_ASSERT_EQUAL(rc, HS_OK);
    if (rc == HS_OK) {
        const hs_proto_committed *g = &m.c;
        CU_ASSERT(str_eq(g->job, c->job));
        CU_ASSERT(str_eq(g->workflow, c->workflow));
        CU_ASSERT_EQUAL(g->factor, c->factor);
        CU_ASSERT(str_eq(g->pv, c->pv));
        CU_ASSERT_EQUAL(g->interval.start, c->interval.start);
        CU_ASSERT_EQUAL(g->interval.end, c->interval.end);
        CU_ASSERT_EQUAL(g->outcome, c->outcome);
        CU_ASSERT_EQUAL(g->count, c->count);
        CU_ASSERT(str_eq(g->error, c->error != NULL ? c->error : ""));
        CU_ASSERT(str_eq(g->request, c->request));
        bool pvs = c->has_plate_values && c->outcome == HS_OUTCOME_OK;
        CU_ASSERT_EQUAL(g->has_plate_values, pvs);
        CU_ASSERT_EQUAL_FATAL(g->nplate_values, pvs ? c->nplate_values : 0);
        for (size_t i = 0; i < g->nplate_values; i++)
            CU_ASSERT(str_eq(g->plate_values[i], c->plate_values[i]));
        CU_ASSERT_EQUAL(g->wseq.epoch, c->wseq.epoch);
        CU_ASSERT_EQUAL(g->wseq.seq, c->wseq.seq);
        CU_ASSERT_EQUAL(g->recompute, c->recompute);
    }
    hs_proto_committed_msg_free(&m);
    hs_buf_free(&b);
}

static const char *const found_pvs[] = {"house=1/room=kitchen", "house=1/room=hall", ""};

static hs_proto_committed full_committed(void)
{
    hs_proto_committed c = {
        .job = "j0123456789abcdef",
        .workflow = "wf-houses",
        .factor = 4,
        .pv = "house=1",
        .interval = {1700000000000000, 1700000060000000},
        .outcome = HS_OUTCOME_OK,
        .count = 1234,
        .error = "",
        .request = "r-7",
        .plate_values = found_pvs,
        .nplate_values = 3,
        .has_plate_values = true,
    };
    return c;
}

static void test_committed_roundtrip(void)
{
    hs_proto_committed c = full_committed();
    committed_roundtrip(&c);
    c.nplate_values = 0;
    c.plate_values = NULL;
    committed_roundtrip(&c);
    hs_proto_committed min = {
        .job = "j0000000000000001", .workflow = "w", .pv = "", .interval = {-1, 0}};
    committed_roundtrip(&min);
    min.outcome = HS_OUTCOME_FAILED;
    min.error = "tool failed: x";
    committed_roundtrip(&min);
    min.outcome = HS_OUTCOME_STALE;
    min.error = "binding changed";
    min.count = UINT64_MAX;
    committed_roundtrip(&min);
    /* Plate values of a failed job are not sent. */
    c = full_committed();
    c.outcome = HS_OUTCOME_FAILED;
    c.error = "e";
    committed_roundtrip(&c);
    CU_ASSERT_STRING_EQUAL(hs_proto_outcome_name(HS_OUTCOME_STALE), "stale");

    hs_buf b;
    hs_buf_init(&b, 0);
    c = full_committed();
    CU_ASSERT_EQUAL_FATAL(enc_committed(&b, &c), HS_OK);
    CU_ASSERT(refuses_cut_and_trailing(dec_committed, &b));
    CU_ASSERT(survives_nomem(dec_committed, &b));
    hs_buf_free(&b);
}

static void test_committed_errors(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    /* The encoder: an error goes with a failure only, and a failure needs one. */
    hs_proto_committed c = full_committed();
    c.error = "boom";
    CU_ASSERT_EQUAL(enc_committed(&b, &c), HS_ERR_INVAL);
    c = full_committed();
    c.outcome = HS_OUTCOME_FAILED;
    CU_ASSERT_EQUAL(enc_committed(&b, &c), HS_ERR_INVAL);
    c.error = NULL;
    CU_ASSERT_EQUAL(enc_committed(&b, &c), HS_ERR_INVAL);
    c = full_committed();
    c.job = NULL;
    CU_ASSERT_EQUAL(enc_committed(&b, &c), HS_ERR_INVAL);

    c = full_committed();
    CU_ASSERT_EQUAL_FATAL(enc_committed(&b, &c), HS_OK);
    static const char *const required[] = {"job",      "workflow", "factor", "pv",
                                           "interval", "outcome",  "count",  "error"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        CU_ASSERT(refuses(dec_committed, &b, ED_DROP, required[i], NULL, 0, required[i]));
        CU_ASSERT(refuses(dec_committed, &b, ED_DUP, required[i], NULL, 0, required[i]));
    }
    CU_ASSERT(accepts(dec_committed, &b, ED_DROP, "request", NULL, 0));
    CU_ASSERT(accepts(dec_committed, &b, ED_DROP, "plate_values", NULL, 0));
    CU_ASSERT(refuses(dec_committed, &b, ED_DUP, "request", NULL, 0, "request"));
    CU_ASSERT(refuses(dec_committed, &b, ED_DUP, "plate_values", NULL, 0, "plate_values"));
    CU_ASSERT(refuses(dec_committed, &b, ED_ADD, "colour", V(0x01), "colour"));
    CU_ASSERT(refuses(dec_committed, &b, ED_ADD, "v", V(0x01), "v"));
    /* Values: an ok notice with an error, a failed one without, plate values of a failure. */
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "error", V(0xa1, 'x'), "error"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "outcome", V(0xa6, 'f', 'a', 'i', 'l', 'e', 'd'),
                      "error"));
    hs_buf e;
    hs_buf_init(&e, 0);
    CU_ASSERT_FATAL(
        map_edit(b.data, b.len, ED_SET, "outcome", V(0xa6, 'f', 'a', 'i', 'l', 'e', 'd'), &e));
    hs_buf e2;
    hs_buf_init(&e2, 0);
    CU_ASSERT_FATAL(map_edit(e.data, e.len, ED_SET, "error", V(0xa1, 'x'), &e2));
    CU_ASSERT_EQUAL(dec_committed(e2.data, e2.len), HS_ERR_PARSE);
    CU_ASSERT(detail_has("plate values"));
    CU_ASSERT(accepts(dec_committed, &e2, ED_DROP, "plate_values", NULL, 0));
    /* Bad values and types. */
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "outcome", V(0xa3, 'o', 'k', 0), "outcome"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "outcome", V(0xa2, 'O', 'K'), "outcome"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "outcome", V(0x00), "outcome"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "count", V(0xff), "count"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "interval", V(0x92, 0x07, 0x07), "interval"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "factor", V(0xa2, '-', '1'), "factor"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "factor", V(0x01), "factor"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "job", V(0xa0), "job"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "pv", V(0xa3, 'a', 0, 'b'), "pv"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "error", V(0xc0), "error"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "request", V(0xa0), "request"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "plate_values", V(0x91, 0xc0), "plate_values"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "plate_values", V(0xa1, 'x'), "plate_values"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "plate_values", V(0x91, 0xa3, 'a', 0, 'b'),
                      "plate_values"));
    hs_buf_free(&e);
    hs_buf_free(&e2);
    hs_buf_free(&b);
}

static void test_committed_wseq_recompute(void)
{
    hs_buf b, plain;
    hs_buf_init(&b, 0);
    hs_buf_init(&plain, 0);
    for (int rec = 0; rec <= 1; rec++) {
        hs_proto_committed c = full_committed();
        c.recompute = rec == 1;
        c.wseq = (hs_proto_wseq){1700000000000000, UINT64_MAX};
        committed_roundtrip(&c);
        c.wseq = (hs_proto_wseq){0, 0};
        committed_roundtrip(&c);
        c.outcome = HS_OUTCOME_FAILED;
        c.error = "e";
        c.wseq = (hs_proto_wseq){1, 0};
        committed_roundtrip(&c);
    }
    /* Absent when unknown and false; on the wire [epoch, seq] and true. */
    hs_proto_committed c = full_committed();
    CU_ASSERT_EQUAL_FATAL(enc_committed(&plain, &c), HS_OK);
    CU_ASSERT_FALSE(has_field(&plain, "wseq"));
    CU_ASSERT_FALSE(has_field(&plain, "recompute"));
    c.wseq = (hs_proto_wseq){3, 4};
    c.recompute = true;
    CU_ASSERT_EQUAL_FATAL(enc_committed(&b, &c), HS_OK);
    CU_ASSERT(field_bytes_are(&b, "wseq", V(0x92, 0x03, 0x04)));
    CU_ASSERT(field_bytes_are(&b, "recompute", V(0xc3)));
    CU_ASSERT(refuses_cut_and_trailing(dec_committed, &b));
    CU_ASSERT(survives_nomem(dec_committed, &b));
    /* An explicit false reads as false. */
    hs_buf e;
    hs_buf_init(&e, 0);
    CU_ASSERT_FATAL(map_edit(b.data, b.len, ED_SET, "recompute", V(0xc2), &e));
    hs_proto_committed_msg m;
    CU_ASSERT_EQUAL_FATAL(hs_proto_committed_decode(&m, e.data, e.len), HS_OK);
    CU_ASSERT_FALSE(m.c.recompute);
    CU_ASSERT_EQUAL(m.c.wseq.epoch, 3);
    CU_ASSERT_EQUAL(m.c.wseq.seq, 4);
    hs_proto_committed_msg_free(&m);
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "wseq", V(0x92, 0x00, 0x04), "wseq"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "wseq", V(0x91, 0x03), "wseq"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "wseq", V(0xc0), "wseq"));
    CU_ASSERT(refuses(dec_committed, &b, ED_DUP, "wseq", NULL, 0, "wseq"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "recompute", V(0x01), "recompute"));
    CU_ASSERT(refuses(dec_committed, &b, ED_SET, "recompute", V(0xc0), "recompute"));
    CU_ASSERT(refuses(dec_committed, &b, ED_DUP, "recompute", NULL, 0, "recompute"));
    hs_buf_free(&e);
    hs_buf_free(&plain);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ reopened notices */

static int dec_reopened(const uint8_t *data, size_t len)
{
    hs_proto_reopened_msg m;
    int rc = hs_proto_reopened_decode(&m, data, len);
    hs_proto_reopened_msg_free(&m);
    return rc;
}

static int enc_reopened(hs_buf *out, const hs_proto_reopened *r)
{
    hs_buf_reset(out);
    return hs_proto_reopened_encode(out, r);
}

static void reopened_roundtrip(const hs_proto_reopened *r)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL_FATAL(enc_reopened(&b, r), HS_OK);
    hs_proto_reopened_msg m;
    int rc = hs_proto_reopened_decode(&m, b.data, b.len);
    CU_ASSERT_EQUAL(rc, HS_OK);
    if (rc == HS_OK) {
        memset(b.data, 0, b.len); /* decoded strings and intervals are copies */
        CU_ASSERT(str_eq(m.r.stream, r->stream));
        CU_ASSERT(str_eq(m.r.reason, r->reason));
        CU_ASSERT_EQUAL(m.r.wseq.epoch, r->wseq.epoch);
        CU_ASSERT_EQUAL(m.r.wseq.seq, r->wseq.seq);
        CU_ASSERT_EQUAL_FATAL(m.r.n, r->n);
        for (size_t i = 0; i < r->n; i++) {
            CU_ASSERT_EQUAL(m.r.intervals[i].start, r->intervals[i].start);
            CU_ASSERT_EQUAL(m.r.intervals[i].end, r->intervals[i].end);
        }
    }
    hs_proto_reopened_msg_free(&m);
    hs_buf_free(&b);
}

static const hs_interval three_iv[] = {{-1, 0}, {0, 60}, {120, INT64_MAX}};

static void test_reopened_roundtrip(void)
{
    hs_proto_reopened r = {"avg/house=1", three_iv, 3, "late", {1700000000000000, 42}};
    reopened_roundtrip(&r);
    r.n = 1;
    r.reason = "invalidate";
    r.wseq = (hs_proto_wseq){1, 0};
    reopened_roundtrip(&r);
    r.intervals = &three_iv[2];
    r.reason = "race";
    r.wseq = (hs_proto_wseq){UINT64_MAX, UINT64_MAX};
    reopened_roundtrip(&r);

    /* On the wire: {stream, intervals, reason, wseq}. */
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_interval two[] = {{1, 2}, {3, 4}};
    hs_proto_reopened s = {"s", two, 2, "late", {5, 6}};
    CU_ASSERT_EQUAL_FATAL(enc_reopened(&b, &s), HS_OK);
    CU_ASSERT(field_bytes_are(&b, "intervals", V(0x92, 0x92, 0x01, 0x02, 0x92, 0x03, 0x04)));
    CU_ASSERT(field_bytes_are(&b, "wseq", V(0x92, 0x05, 0x06)));
    CU_ASSERT(field_bytes_are(&b, "stream", V(0xa1, 's')));
    CU_ASSERT(field_bytes_are(&b, "reason", V(0xa4, 'l', 'a', 't', 'e')));
    CU_ASSERT(refuses_cut_and_trailing(dec_reopened, &b));
    CU_ASSERT(survives_nomem(dec_reopened, &b));
    hs_proto_reopened_msg m;
    CU_ASSERT_EQUAL_FATAL(hs_proto_reopened_decode(&m, b.data, b.len), HS_OK);
    hs_proto_reopened_msg_free(&m);
    hs_proto_reopened_msg_free(&m); /* twice is fine */
    hs_proto_reopened_msg_free(NULL);
    hs_buf_free(&b);
}

static void test_reopened_errors(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_interval two[] = {{1, 2}, {3, 4}};
    hs_proto_reopened r = {"s", two, 2, "late", {5, 6}};
    CU_ASSERT_EQUAL_FATAL(enc_reopened(&b, &r), HS_OK);
    static const char *const required[] = {"stream", "intervals", "reason", "wseq"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        CU_ASSERT(refuses(dec_reopened, &b, ED_DROP, required[i], NULL, 0, required[i]));
        CU_ASSERT(refuses(dec_reopened, &b, ED_DUP, required[i], NULL, 0, required[i]));
    }
    CU_ASSERT(refuses(dec_reopened, &b, ED_ADD, "data", V(0x90), "data"));
    /* Intervals: a non-empty list, each non-empty, sorted and disjoint (touching is fine). */
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "intervals", V(0x90), "intervals"));
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "intervals",
                      V(0x92, 0x92, 0x03, 0x04, 0x92, 0x01, 0x02), "intervals"));
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "intervals",
                      V(0x92, 0x92, 0x01, 0x05, 0x92, 0x04, 0x08), "intervals"));
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "intervals",
                      V(0x92, 0x92, 0x01, 0x05, 0x92, 0x01, 0x05), "intervals"));
    CU_ASSERT(
        refuses(dec_reopened, &b, ED_SET, "intervals", V(0x91, 0x92, 0x05, 0x05), "intervals"));
    CU_ASSERT(
        refuses(dec_reopened, &b, ED_SET, "intervals", V(0x91, 0x92, 0x06, 0x05), "intervals"));
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "intervals", V(0x92, 0x01, 0x02), "intervals"));
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "intervals", V(0x80), "intervals"));
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "intervals", V(0xdd, 0xff, 0xff, 0xff, 0xff),
                      "intervals"));
    CU_ASSERT(accepts(dec_reopened, &b, ED_SET, "intervals",
                      V(0x92, 0x92, 0x01, 0x05, 0x92, 0x05, 0x08)));
    /* Strings and wseq. */
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "stream", V(0xa0), "stream"));
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "reason", V(0xa0), "reason"));
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "reason", V(0xa3, 'a', 0, 'b'), "reason"));
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "stream", V(0xc0), "stream"));
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "wseq", V(0x92, 0x00, 0x06), "wseq"));
    CU_ASSERT(refuses(dec_reopened, &b, ED_SET, "wseq", V(0x92, 0x05), "wseq"));
    CU_ASSERT_EQUAL(dec_reopened(V(0x90)), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(dec_reopened(NULL, 0), HS_ERR_PARSE);

    /* The encoder refuses what the decoder would. */
    hs_interval unsorted[] = {{3, 4}, {1, 2}};
    hs_interval overlapping[] = {{1, 5}, {4, 8}};
    hs_interval empty[] = {{5, 5}};
    hs_proto_reopened bad[] = {
        {"s", two, 0, "late", {5, 6}},      {"s", NULL, 1, "late", {5, 6}},
        {"s", unsorted, 2, "late", {5, 6}}, {"s", overlapping, 2, "late", {5, 6}},
        {"s", empty, 1, "late", {5, 6}},    {"s", two, 2, "late", {0, 6}},
        {"", two, 2, "late", {5, 6}},       {NULL, two, 2, "late", {5, 6}},
        {"s", two, 2, "", {5, 6}},          {"s", two, 2, NULL, {5, 6}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(enc_reopened(&b, &bad[i]), HS_ERR_INVAL);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ corrections */

static int dec_correction(const uint8_t *data, size_t len)
{
    hs_proto_correction c;
    return hs_proto_correction_decode(&c, data, len);
}

static void test_correction(void)
{
    hs_buf batch, b;
    hs_buf_init(&batch, 0);
    hs_buf_init(&b, 0);
    make_batch(&batch);
    static const uint8_t empty_batch[] = {0x90};
    const struct {
        const uint8_t *data;
        size_t len;
    } cases[] = {{batch.data, batch.len}, {empty_batch, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hs_proto_correction c = {{1699999999999999, 1700000060000000}, cases[i].data, cases[i].len};
        hs_buf_reset(&b);
        CU_ASSERT_EQUAL_FATAL(hs_proto_correction_encode(&b, &c), HS_OK);
        hs_proto_correction g;
        CU_ASSERT_EQUAL_FATAL(hs_proto_correction_decode(&g, b.data, b.len), HS_OK);
        CU_ASSERT_EQUAL(g.interval.start, c.interval.start);
        CU_ASSERT_EQUAL(g.interval.end, c.interval.end);
        CU_ASSERT(bytes_eq(g.data, g.data_len, c.data, c.data_len));
        /* The batch is borrowed from the input. */
        CU_ASSERT(g.data >= b.data && g.data + g.data_len <= b.data + b.len);
    }
    /* On the wire: {interval, data}. */
    CU_ASSERT(field_bytes_are(&b, "data", V(0x90)));
    CU_ASSERT(refuses_cut_and_trailing(dec_correction, &b));
    CU_ASSERT(survives_nomem(dec_correction, &b));
    /* Refusals: a correction without data, data that is no batch, an empty interval. */
    CU_ASSERT(refuses(dec_correction, &b, ED_DROP, "data", NULL, 0, "data"));
    CU_ASSERT(refuses(dec_correction, &b, ED_DROP, "interval", NULL, 0, "interval"));
    CU_ASSERT(refuses(dec_correction, &b, ED_DUP, "data", NULL, 0, "data"));
    CU_ASSERT(refuses(dec_correction, &b, ED_SET, "data", V(0xc0), "data"));
    CU_ASSERT(refuses(dec_correction, &b, ED_SET, "data", V(0x80), "data"));
    CU_ASSERT(refuses(dec_correction, &b, ED_SET, "data", V(0xa1, 'x'), "data"));
    CU_ASSERT(refuses(dec_correction, &b, ED_SET, "data", V(0x91), "data"));
    CU_ASSERT(refuses(dec_correction, &b, ED_SET, "interval", V(0x92, 0x05, 0x05), "interval"));
    CU_ASSERT(refuses(dec_correction, &b, ED_SET, "interval", V(0x92, 0x06, 0x05), "interval"));
    CU_ASSERT(refuses(dec_correction, &b, ED_ADD, "stream", V(0xa1, 's'), "stream"));
    CU_ASSERT_EQUAL(dec_correction(V(0x90)), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(dec_correction(NULL, 0), HS_ERR_PARSE);
    /* The encoder: a batch (possibly empty, never absent) and a non-empty interval. */
    hs_proto_correction nodata = {{0, 1}, NULL, 0};
    CU_ASSERT_EQUAL(hs_proto_correction_encode(&b, &nodata), HS_ERR_INVAL);
    hs_proto_correction zero = {{0, 1}, empty_batch, 0};
    CU_ASSERT_EQUAL(hs_proto_correction_encode(&b, &zero), HS_ERR_INVAL);
    hs_proto_correction emptyiv = {{1, 1}, empty_batch, 1};
    CU_ASSERT_EQUAL(hs_proto_correction_encode(&b, &emptyiv), HS_ERR_INVAL);
    hs_buf_free(&batch);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ the newest writer commit */

static int dec_wseq(const uint8_t *data, size_t len)
{
    hs_proto_wseq w;
    return hs_proto_wseq_decode(data, len, &w);
}

static void test_wseq(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    static const hs_proto_wseq cases[] = {
        {1, 0}, {1700000000000000, 918}, {UINT64_MAX, UINT64_MAX}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hs_buf_reset(&b);
        CU_ASSERT_EQUAL_FATAL(hs_proto_wseq_encode(&b, cases[i]), HS_OK);
        hs_proto_wseq w = {0, 0};
        CU_ASSERT_EQUAL_FATAL(hs_proto_wseq_decode(b.data, b.len, &w), HS_OK);
        CU_ASSERT_EQUAL(w.epoch, cases[i].epoch);
        CU_ASSERT_EQUAL(w.seq, cases[i].seq);
        CU_ASSERT(refuses_cut_and_trailing(dec_wseq, &b));
    }
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL_FATAL(hs_proto_wseq_encode(&b, (hs_proto_wseq){5, 6}), HS_OK);
    CU_ASSERT(bytes_eq(b.data, b.len, V(0x92, 0x05, 0x06)));
    /* Refused: epoch 0, signed or missing figures, another shape. */
    CU_ASSERT_EQUAL(dec_wseq(V(0x92, 0x00, 0x06)), HS_ERR_PARSE);
    CU_ASSERT(detail_has("wseq"));
    CU_ASSERT_EQUAL(dec_wseq(V(0x92, 0xff, 0x06)), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(dec_wseq(V(0x92, 0x05, 0xff)), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(dec_wseq(V(0x91, 0x05)), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(dec_wseq(V(0x93, 0x05, 0x06, 0x07)), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(dec_wseq(V(0x82, 0xa1, 'e', 0x05, 0xa1, 's', 0x06)), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(dec_wseq(V(0x92, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x06)), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(dec_wseq(NULL, 0), HS_ERR_PARSE);
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_proto_wseq_encode(&b, (hs_proto_wseq){0, 6}), HS_ERR_INVAL);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ dependencies and reopened
 * documents */

static void test_deps_doc(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    static const char *const srcs[] = {"temp/house=1", "say \"hi\"\n"};
    hs_proto_define_item it = {.sid = "unused",
                               .has_deps = true,
                               .sources = srcs,
                               .nsources = 2,
                               .lookback_us = 60000000,
                               .max_lateness_us = INT64_MAX};
    CU_ASSERT_EQUAL_FATAL(hs_buf_puts(&b, "stale content"), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_proto_deps_doc_encode(&b, &it), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b),
                           "{\"sources\":[\"temp/house=1\",\"say \\\"hi\\\"\\n\"],"
                           "\"lookback_us\":60000000,\"max_lateness_us\":9223372036854775807}");
    hs_proto_deps_msg m;
    CU_ASSERT_EQUAL_FATAL(hs_proto_deps_doc_decode(&m, (const char *)b.data, b.len), HS_OK);
    memset(b.data, 0, b.len);
    CU_ASSERT(m.it.has_deps);
    CU_ASSERT_EQUAL_FATAL(m.it.nsources, 2);
    CU_ASSERT_STRING_EQUAL(m.it.sources[0], "temp/house=1");
    CU_ASSERT_STRING_EQUAL(m.it.sources[1], "say \"hi\"\n");
    CU_ASSERT_EQUAL(m.it.lookback_us, 60000000);
    CU_ASSERT_EQUAL(m.it.max_lateness_us, INT64_MAX);
    hs_proto_deps_msg_free(&m);
    hs_proto_deps_msg_free(&m);
    hs_proto_deps_msg_free(NULL);
    /* No sources (a clock): an empty list. */
    hs_proto_define_item none = {.has_deps = true};
    CU_ASSERT_EQUAL_FATAL(hs_proto_deps_doc_encode(&b, &none), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b),
                           "{\"sources\":[],\"lookback_us\":0,\"max_lateness_us\":0}");
    CU_ASSERT_EQUAL_FATAL(hs_proto_deps_doc_decode(&m, (const char *)b.data, b.len), HS_OK);
    CU_ASSERT(m.it.has_deps);
    CU_ASSERT_EQUAL(m.it.nsources, 0);
    hs_proto_deps_msg_free(&m);
    /* The encoder refuses an item without dependencies and negative figures. */
    hs_proto_define_item bad = it;
    bad.has_deps = false;
    CU_ASSERT_EQUAL(hs_proto_deps_doc_encode(&b, &bad), HS_ERR_INVAL);
    bad = it;
    bad.lookback_us = -1;
    CU_ASSERT_EQUAL(hs_proto_deps_doc_encode(&b, &bad), HS_ERR_INVAL);
    bad = it;
    bad.max_lateness_us = -1;
    CU_ASSERT_EQUAL(hs_proto_deps_doc_encode(&b, &bad), HS_ERR_INVAL);
    bad = it;
    bad.sources = NULL;
    CU_ASSERT_EQUAL(hs_proto_deps_doc_encode(&b, &bad), HS_ERR_INVAL);
    /* The decoder: every field, once, of its type; nothing else. */
    static const struct {
        const char *json;
        const char *field;
    } refused[] = {
        {"{\"sources\":[],\"lookback_us\":0}", "max_lateness_us"},
        {"{\"sources\":[],\"max_lateness_us\":0}", "lookback_us"},
        {"{\"lookback_us\":0,\"max_lateness_us\":0}", "sources"},
        {"{\"sources\":[],\"lookback_us\":-1,\"max_lateness_us\":0}", "lookback_us"},
        {"{\"sources\":[],\"lookback_us\":0,\"max_lateness_us\":-5}", "max_lateness_us"},
        {"{\"sources\":[],\"lookback_us\":1.5,\"max_lateness_us\":0}", "lookback_us"},
        {"{\"sources\":[1],\"lookback_us\":0,\"max_lateness_us\":0}", "sources"},
        {"{\"sources\":\"a\",\"lookback_us\":0,\"max_lateness_us\":0}", "sources"},
        {"{\"sources\":[],\"lookback_us\":0,\"max_lateness_us\":0,\"kind\":1}", "kind"},
        {"{\"sources\":[],\"sources\":[],\"lookback_us\":0,\"max_lateness_us\":0}", "sources"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        hs_err_clear();
        CU_ASSERT_EQUAL(hs_proto_deps_doc_decode(&m, refused[i].json, strlen(refused[i].json)),
                        HS_ERR_PARSE);
        CU_ASSERT(detail_has(refused[i].field));
        hs_proto_deps_msg_free(&m);
    }
    CU_ASSERT_EQUAL(hs_proto_deps_doc_decode(&m, "{", 1), HS_ERR_PARSE);
    hs_proto_deps_msg_free(&m);
    hs_buf_free(&b);
}

static void test_reopened_doc(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    hs_intervals s, got;
    hs_intervals_init(&s);
    hs_intervals_init(&got);
    CU_ASSERT_EQUAL_FATAL(hs_intervals_add(&s, (hs_interval){-1, 0}), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_intervals_add(&s, (hs_interval){60, INT64_MAX}), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_buf_puts(&b, "stale content"), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_proto_reopened_doc_encode(&b, &s), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "{\"intervals\":[[-1,0],[60,9223372036854775807]]}");
    /* Decoding replaces what out held. */
    CU_ASSERT_EQUAL_FATAL(hs_intervals_add(&got, (hs_interval){1000, 2000}), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_proto_reopened_doc_decode((const char *)b.data, b.len, &got), HS_OK);
    CU_ASSERT_EQUAL_FATAL(got.n, 2);
    CU_ASSERT(got.v[0].start == -1 && got.v[0].end == 0);
    CU_ASSERT(got.v[1].start == 60 && got.v[1].end == INT64_MAX);
    /* Touching intervals are one set member once read. */
    static const char touching[] = "{\"intervals\":[[1,5],[5,9]]}";
    CU_ASSERT_EQUAL_FATAL(hs_proto_reopened_doc_decode(touching, strlen(touching), &got), HS_OK);
    CU_ASSERT_EQUAL_FATAL(got.n, 1);
    CU_ASSERT(got.v[0].start == 1 && got.v[0].end == 9);
    /* Everything reopened was computed again: the empty set is a document too. */
    hs_intervals empty;
    hs_intervals_init(&empty);
    CU_ASSERT_EQUAL_FATAL(hs_proto_reopened_doc_encode(&b, &empty), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "{\"intervals\":[]}");
    CU_ASSERT_EQUAL(hs_proto_reopened_doc_decode((const char *)b.data, b.len, &got), HS_OK);
    CU_ASSERT_EQUAL(got.n, 0);
    /* Refused: unsorted, overlapping, empty intervals; other fields; not JSON. */
    static const char *const refused[] = {
        "{\"intervals\":[[5,9],[1,2]]}",
        "{\"intervals\":[[1,5],[4,9]]}",
        "{\"intervals\":[[5,5]]}",
        "{\"intervals\":[[6,5]]}",
        "{\"intervals\":[[1,2,3]]}",
        "{\"intervals\":[1,2]}",
        "{\"intervals\":{}}",
        "{}",
        "{\"intervals\":[],\"n\":0}",
        "{\"intervals\":[[1,2]]",
        "[[1,2]]",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(hs_intervals_add(&got, (hs_interval){1000, 2000}), HS_OK);
        CU_ASSERT_EQUAL(hs_proto_reopened_doc_decode(refused[i], strlen(refused[i]), &got),
                        HS_ERR_PARSE);
        CU_ASSERT_EQUAL(got.n, 0); /* out is emptied on failure too */
    }
    /* The encoder refuses a set that is not sorted and disjoint. */
    hs_interval bad[] = {{3, 4}, {1, 2}};
    hs_intervals unsorted = {bad, 2, 2};
    CU_ASSERT_EQUAL(hs_proto_reopened_doc_encode(&b, &unsorted), HS_ERR_INVAL);
    hs_intervals_free(&s);
    hs_intervals_free(&got);
    hs_buf_free(&b);
}

/* ------------------------------------------------------------------ history records */

/* Reads the history JSON in json back into msgpack fields (mp keeps the bytes). */
static bool history_fields(const hs_buf *json, hs_buf *mp, hs_mp_field *f, size_t *n)
{
    hs_buf_reset(mp);
    if (hs_json_to_mpack((const char *)json->data, json->len, mp) != HS_OK) {
        fprintf(stderr, "\n    history is not JSON: %s\n", hs_err_detail());
        return false;
    }
    size_t used;
    return hs_mp_map_index(mp->data, mp->len, f, MAX_FIELDS, n, &used) == HS_OK && used == mp->len;
}

/* Whether field key is the string want. */
static bool field_str_is(const hs_mp_field *f, size_t n, const char *key, const char *want)
{
    const char *s;
    uint32_t len;
    if (hs_mp_field_str(f, n, key, &s, &len) != HS_OK)
        return false;
    return len == strlen(want) && memcmp(s, want, len) == 0;
}

static bool field_int_is(const hs_mp_field *f, size_t n, const char *key, int64_t want)
{
    int64_t v;
    return hs_mp_field_int(f, n, key, &v) == HS_OK && v == want;
}

static void test_history_full(void)
{
    hs_buf params, out, mp;
    hs_buf_init(&params, 0);
    hs_buf_init(&out, 0);
    hs_buf_init(&mp, 0);
    make_params(&params);
    hs_proto_history h = {
        .job = "j0123456789abcdef",
        .workflow = "wf \"houses\"\n",
        .factor = 12,
        .pv = "house=1/room=kitchen",
        .tool = "window_mean",
        .version = "1.2",
        .params = params.data,
        .params_len = params.len,
        .interval = {1700000000000000, 1700000060000000},
        .count = 60,
        .inserted = 58,
        .conflicts = 2,
        .duration_us = 4321,
        .attempt = 1,
        .committed_us = 1700000123456789,
        .outcome = HS_OUTCOME_FAILED,
        .runtime = "tool-window_mean-1",
        .error = "bad \\ input",
        .trigger = HS_TRIGGER_LATE,
        .recompute = true,
    };
    CU_ASSERT_EQUAL_FATAL(hs_buf_puts(&out, "stale content"), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_proto_history_encode(&out, &h), HS_OK);
    hs_mp_field f[MAX_FIELDS];
    size_t n;
    CU_ASSERT_FATAL(history_fields(&out, &mp, f, &n));
    CU_ASSERT_EQUAL(n, 19);
    CU_ASSERT(field_str_is(f, n, "trigger", "late"));
    bool rec = false;
    CU_ASSERT(hs_mp_field_bool(f, n, "recompute", &rec) == HS_OK && rec);
    CU_ASSERT(field_str_is(f, n, "job", "j0123456789abcdef"));
    CU_ASSERT(field_str_is(f, n, "workflow", "wf \"houses\"\n"));
    CU_ASSERT(field_str_is(f, n, "factor", "12"));
    CU_ASSERT(field_str_is(f, n, "plate_value", "house=1/room=kitchen"));
    CU_ASSERT(field_int_is(f, n, "start_us", 1700000000000000));
    CU_ASSERT(field_int_is(f, n, "end_us", 1700000060000000));
    CU_ASSERT(field_int_is(f, n, "count", 60));
    CU_ASSERT(field_int_is(f, n, "inserted", 58));
    CU_ASSERT(field_int_is(f, n, "conflicts", 2));
    CU_ASSERT(field_int_is(f, n, "duration_us", 4321));
    CU_ASSERT(field_int_is(f, n, "attempt", 1));
    CU_ASSERT(field_str_is(f, n, "committed", "2023-11-14T22:15:23.456789Z"));
    CU_ASSERT(field_str_is(f, n, "outcome", "failed"));
    CU_ASSERT(field_str_is(f, n, "runtime", "tool-window_mean-1"));
    CU_ASSERT(field_str_is(f, n, "error", "bad \\ input"));
    /* The interval as two ISO texts. */
    const hs_mp_field *iv = hs_mp_field_find(f, n, "interval");
    HS_REQUIRE(iv);
    hs_mp_reader r;
    hs_mp_reader_init(&r, iv->val, iv->vlen);
    uint32_t two;
    const char *s;
    uint32_t sl;
    CU_ASSERT_EQUAL_FATAL(hs_mp_get_array(&r, &two), HS_OK);
    CU_ASSERT_EQUAL_FATAL(two, 2);
    CU_ASSERT_EQUAL_FATAL(hs_mp_get_str(&r, &s, &sl), HS_OK);
    CU_ASSERT(sl == 20 && memcmp(s, "2023-11-14T22:13:20Z", 20) == 0);
    CU_ASSERT_EQUAL_FATAL(hs_mp_get_str(&r, &s, &sl), HS_OK);
    CU_ASSERT(sl == 20 && memcmp(s, "2023-11-14T22:14:20Z", 20) == 0);
    /* The tool, its params a JSON object equal to the msgpack given. */
    const hs_mp_field *tool = hs_mp_field_find(f, n, "tool");
    HS_REQUIRE(tool);
    hs_mp_field tf[8];
    size_t tn;
    CU_ASSERT_EQUAL_FATAL(hs_mp_map_index(tool->val, tool->vlen, tf, 8, &tn, NULL), HS_OK);
    CU_ASSERT_EQUAL(tn, 3);
    CU_ASSERT(field_str_is(tf, tn, "name", "window_mean"));
    CU_ASSERT(field_str_is(tf, tn, "version", "1.2"));
    const hs_mp_field *pf = hs_mp_field_find(tf, tn, "params");
    HS_REQUIRE(pf);
    CU_ASSERT(bytes_eq(pf->val, pf->vlen, params.data, params.len));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(hs_buf_cstr(&out), "\"params\":{\"gain\":2,\"label\":\"a\\\"b\",\"w\":[1,-2]}"));
    hs_buf_free(&params);
    hs_buf_free(&out);
    hs_buf_free(&mp);
}

static void test_history_minimal(void)
{
    hs_buf out, mp;
    hs_buf_init(&out, 0);
    hs_buf_init(&mp, 0);
    /* No tool object, no runtime, an empty error: none written. */
    hs_proto_history h = {
        .job = "j0000000000000001",
        .workflow = "w",
        .pv = "",
        .interval = {-1, 0},
        .error = "",
    };
    CU_ASSERT_EQUAL_FATAL(hs_proto_history_encode(&out, &h), HS_OK);
    hs_mp_field f[MAX_FIELDS];
    size_t n;
    CU_ASSERT_FATAL(history_fields(&out, &mp, f, &n));
    CU_ASSERT_EQUAL(n, 17); /* trigger and recompute are always written */
    CU_ASSERT(field_str_is(f, n, "trigger", "request"));
    bool rec = true;
    CU_ASSERT(hs_mp_field_bool(f, n, "recompute", &rec) == HS_OK && !rec);
    CU_ASSERT_PTR_NULL(hs_mp_field_find(f, n, "tool"));
    CU_ASSERT_PTR_NULL(hs_mp_field_find(f, n, "error"));
    CU_ASSERT(field_str_is(f, n, "factor", "0"));
    CU_ASSERT(field_str_is(f, n, "plate_value", ""));
    CU_ASSERT(field_str_is(f, n, "runtime", ""));
    CU_ASSERT(field_str_is(f, n, "outcome", "ok"));
    CU_ASSERT(field_str_is(f, n, "committed", "1970-01-01T00:00:00Z"));
    CU_ASSERT(field_int_is(f, n, "start_us", -1));
    CU_ASSERT(field_int_is(f, n, "end_us", 0));

    /* A tool without params renders {} as its params. */
    h.tool = "t";
    h.outcome = HS_OUTCOME_STALE;
    h.error = "binding changed";
    CU_ASSERT_EQUAL_FATAL(hs_proto_history_encode(&out, &h), HS_OK);
    CU_ASSERT_FATAL(history_fields(&out, &mp, f, &n));
    CU_ASSERT_EQUAL(n, 19);
    CU_ASSERT(field_str_is(f, n, "outcome", "stale"));
    CU_ASSERT(field_str_is(f, n, "error", "binding changed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_buf_cstr(&out), "\"params\":{}"));
    const hs_mp_field *tool = hs_mp_field_find(f, n, "tool");
    HS_REQUIRE(tool);
    hs_mp_field tf[8];
    size_t tn;
    CU_ASSERT_EQUAL_FATAL(hs_mp_map_index(tool->val, tool->vlen, tf, 8, &tn, NULL), HS_OK);
    CU_ASSERT(field_str_is(tf, tn, "version", ""));
    const hs_mp_field *pf = hs_mp_field_find(tf, tn, "params");
    HS_REQUIRE(pf);
    CU_ASSERT(bytes_eq(pf->val, pf->vlen, (const uint8_t *)"\x80", 1));

    h.job = NULL;
    CU_ASSERT_EQUAL(hs_proto_history_encode(&out, &h), HS_ERR_INVAL);
    /* Params that are not msgpack fail the encoder. */
    h.job = "j0000000000000001";
    h.params = (const uint8_t *)"\x81\xa1";
    h.params_len = 2;
    CU_ASSERT_NOT_EQUAL(hs_proto_history_encode(&out, &h), HS_OK);
    hs_buf_free(&out);
    hs_buf_free(&mp);
}

/* The history record read back: trigger and recompute come back; older records lack them. */
static void test_history_trigger_recompute(void)
{
    hs_buf out;
    hs_buf_init(&out, 0);
    hs_proto_history h = {
        .job = "j0000000000000001",
        .workflow = "w",
        .pv = "house=1",
        .interval = {1700000000000000, 1700000060000000},
        .committed_us = 1700000123000000,
        .count = 5,
    };
    for (int t = HS_TRIGGER_REQUEST; t <= HS_TRIGGER_INVALIDATE; t++) {
        for (int rec = 0; rec <= 1; rec++) {
            h.trigger = (hs_proto_trigger)t;
            h.recompute = rec == 1;
            CU_ASSERT_EQUAL_FATAL(hs_proto_history_encode(&out, &h), HS_OK);
            hs_proto_history_msg m;
            CU_ASSERT_EQUAL_FATAL(hs_proto_history_decode(&m, (const char *)out.data, out.len),
                                  HS_OK);
            CU_ASSERT_EQUAL(m.h.trigger, h.trigger);
            CU_ASSERT_EQUAL(m.h.recompute, h.recompute);
            CU_ASSERT_STRING_EQUAL(m.h.job, h.job);
            CU_ASSERT_EQUAL(m.h.interval.start, h.interval.start);
            CU_ASSERT_EQUAL(m.h.interval.end, h.interval.end);
            CU_ASSERT_EQUAL(m.h.committed_us, h.committed_us);
            CU_ASSERT_EQUAL(m.h.count, 5);
            hs_proto_history_msg_free(&m);
        }
    }
    /* A record written before these fields: a first computation on request. */
    static const char old[] =
        "{\"job\":\"j1\",\"workflow\":\"w\",\"factor\":\"0\",\"plate_value\":\"\","
        "\"start_us\":0,\"end_us\":1,\"committed\":\"2023-11-14T22:13:20Z\","
        "\"outcome\":\"ok\"}";
    hs_proto_history_msg m;
    CU_ASSERT_EQUAL_FATAL(hs_proto_history_decode(&m, old, strlen(old)), HS_OK);
    CU_ASSERT_EQUAL(m.h.trigger, HS_TRIGGER_REQUEST);
    CU_ASSERT_FALSE(m.h.recompute);
    hs_proto_history_msg_free(&m);
    /* Refused: an unknown trigger, a recompute that is not a boolean. */
    static const char *const refused[] = {
        "{\"job\":\"j1\",\"workflow\":\"w\",\"factor\":\"0\",\"plate_value\":\"\","
        "\"start_us\":0,\"end_us\":1,\"committed\":\"2023-11-14T22:13:20Z\","
        "\"outcome\":\"ok\",\"trigger\":\"retry\"}",
        "{\"job\":\"j1\",\"workflow\":\"w\",\"factor\":\"0\",\"plate_value\":\"\","
        "\"start_us\":0,\"end_us\":1,\"committed\":\"2023-11-14T22:13:20Z\","
        "\"outcome\":\"ok\",\"recompute\":1}",
    };
    static const char *const field[] = {"trigger", "recompute"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        hs_err_clear();
        CU_ASSERT_EQUAL(hs_proto_history_decode(&m, refused[i], strlen(refused[i])), HS_ERR_PARSE);
        CU_ASSERT(detail_has(field[i]));
        hs_proto_history_msg_free(&m);
    }
    /* The encoder refuses a trigger it has no name for. */
    h.trigger = (hs_proto_trigger)4;
    CU_ASSERT_EQUAL(hs_proto_history_encode(&out, &h), HS_ERR_INVAL);
    hs_buf_free(&out);
}

/* ------------------------------------------------------------------ service status */

/* Decodes the status JSON text s into m, which the caller frees. */
static int status(const char *s, hs_proto_status_msg *m)
{
    return hs_proto_status_decode(m, s, strlen(s));
}

/* A complete status with the given members (extra: more members, "" for none). */
static int status_full(const char *state, const char *service, const char *extra,
                       hs_proto_status_msg *m)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"state\":\"%s\",\"id\":\"x-1\",\"service\":\"%s\",\"version\":\"0.9.0\","
             "\"pid\":42,\"host\":\"h\",\"started\":\"2023-11-14T22:13:20Z\","
             "\"incarnation\":1700000000000000%s}",
             state, service, extra);
    return status(json, m);
}

static void test_status_states(void)
{
    hs_proto_status_msg m;
    CU_ASSERT_EQUAL_FATAL(status_full("online", "writer", "", &m), HS_OK);
    CU_ASSERT_EQUAL(m.st.state, HS_PROTO_ONLINE);
    CU_ASSERT_STRING_EQUAL(m.st.service, "writer");
    CU_ASSERT_STRING_EQUAL(m.st.tools, "");
    CU_ASSERT_EQUAL(m.st.incarnation, 1700000000000000);
    CU_ASSERT_EQUAL(m.st.started_us, 1700000000000000);
    hs_proto_status_msg_free(&m);

    CU_ASSERT_EQUAL_FATAL(status_full("paused", "ingest", "", &m), HS_OK);
    CU_ASSERT_EQUAL(m.st.state, HS_PROTO_PAUSED);
    CU_ASSERT_STRING_EQUAL(m.st.service, "ingest");
    hs_proto_status_msg_free(&m);

    CU_ASSERT_EQUAL_FATAL(
        status_full("offline", "scheduler", ",\"reason\":\"connection lost\"", &m), HS_OK);
    CU_ASSERT_EQUAL(m.st.state, HS_PROTO_OFFLINE);
    CU_ASSERT_EQUAL(m.st.reason, HS_PROTO_REASON_CONNECTION_LOST);
    hs_proto_status_msg_free(&m);
    /* The schema's rules: a reason only when offline, always then; no extra members. */
    CU_ASSERT_NOT_EQUAL(status_full("offline", "writer", "", &m), HS_OK);
    hs_proto_status_msg_free(&m);
    CU_ASSERT_NOT_EQUAL(status_full("online", "writer", ",\"reason\":\"stopped\"", &m), HS_OK);
    hs_proto_status_msg_free(&m);
    CU_ASSERT_NOT_EQUAL(status_full("online", "writer", ",\"extra\":1", &m), HS_OK);
    hs_proto_status_msg_free(&m);
    hs_proto_status_msg_free(NULL);
}

static void test_status_tools(void)
{
    hs_proto_status_msg m;
    CU_ASSERT_EQUAL_FATAL(status_full("online", "tool", ",\"tools\":\"window_mean\"", &m), HS_OK);
    CU_ASSERT_EQUAL(m.st.state, HS_PROTO_ONLINE);
    CU_ASSERT_STRING_EQUAL(m.st.service, "tool");
    CU_ASSERT_STRING_EQUAL(m.st.tools, "window_mean");
    hs_proto_status_msg_free(&m);
    /* Escapes in the texts are decoded. */
    CU_ASSERT_EQUAL_FATAL(status_full("paused", "to\\u006fl", ",\"tools\":\"\\u0061ll\"", &m),
                          HS_OK);
    CU_ASSERT_STRING_EQUAL(m.st.tools, "all");
    CU_ASSERT_STRING_EQUAL(m.st.service, "tool");
    hs_proto_status_msg_free(&m);
    /* A tool runtime taking work names its tools; other services have none. */
    CU_ASSERT_NOT_EQUAL(status_full("online", "tool", "", &m), HS_OK);
    hs_proto_status_msg_free(&m);
    CU_ASSERT_NOT_EQUAL(status_full("online", "writer", ",\"tools\":\"all\"", &m), HS_OK);
    hs_proto_status_msg_free(&m);
}

static void test_status_invalid(void)
{
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "\"online\"",
        "{\"state\":\"online\"",
        "{\"state\":\"online\"} x",
        "{\"state\":\"online\",}",
        "{\"state\":online}",
        "{\"state\":1}",
        "{\"state\":null}",
        "{\"state\":\"sleeping\"}",
        "{\"state\":\"Online\"}",
        "{\"state\":\"online\",\"service\":7}",
        "{\"state\":\"online\",\"tools\":[\"a\"]}",
        "{\"state\":\"online\",\"incarnation\":-1}",
        "{\"state\":\"online\",\"incarnation\":1.5}",
        "{\"state\":\"online\",\"incarnation\":1e3}",
        "{\"state\":\"online\",\"incarnation\":\"7\"}",
        "{\"state\":\"online\",\"incarnation\":01}",
        "{\"state\":\"\\ud800\"}",
    };
    hs_proto_status_msg m;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = status(bad[i], &m);
        if (rc == HS_OK)
            fprintf(stderr, "\n    accepted: %s\n", bad[i]);
        CU_ASSERT_NOT_EQUAL(rc, HS_OK);
        hs_proto_status_msg_free(&m);
    }
    /* No state at all: the detail says so. */
    CU_ASSERT_EQUAL(status("{\"id\":\"writer\",\"service\":\"writer\"}", &m), HS_ERR_PARSE);
    CU_ASSERT(detail_has("state"));
    hs_proto_status_msg_free(&m);
    CU_ASSERT_EQUAL(status("{}", &m), HS_ERR_PARSE);
    CU_ASSERT(detail_has("state"));
    hs_proto_status_msg_free(&m);
    /* A NUL inside the text is not JSON. */
    CU_ASSERT_NOT_EQUAL(hs_proto_status_decode(&m, "{\"state\":\"online\"}\0", 19), HS_OK);
    hs_proto_status_msg_free(&m);
}

static void test_dead_letter_and_mon(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    /*
     * Each payload is shown in the form its kind asks for: text as text,
     * msgpack decoded to JSON, and what cannot be read so as base64 with the
     * reason; the bytes come back (msgpack as the same value).
     */
    static const struct {
        const char *p;
        size_t len;
        hs_proto_payload_kind kind;
        const char *shown; /* the expected JSON after "topic":"hs/raw/t", */
    } cases[] = {
        {"{\"t\":1}", 7, HS_PAYLOAD_TEXT, "\"payload\":\"{\\\"t\\\":1}\"}"},
        {"{\"t\":1}", 7, HS_PAYLOAD_AUTO, "\"payload\":\"{\\\"t\\\":1}\"}"},
        {"", 0, HS_PAYLOAD_TEXT, "\"payload\":\"\"}"},
        /* The writer's conflicting value 99: one msgpack byte, "c" as text. */
        {"c", 1, HS_PAYLOAD_MSGPACK, "\"payload_json\":99}"},
        /* [[1000, 21.5]] as msgpack (starts like an array: read as msgpack). */
        {"\x91\x92\xcd\x03\xe8\xcb\x40\x35\x80\0\0\0\0\0", 14, HS_PAYLOAD_AUTO,
         "\"payload_json\":[[1000,21.5]]}"},
        {"\x82\xa1k\x01\xa1s\xa2hi", 9, HS_PAYLOAD_MSGPACK,
         "\"payload_json\":{\"k\":1,\"s\":\"hi\"}}"},
        {"a\0b", 3, HS_PAYLOAD_TEXT,
         "\"payload_b64\":\"YQBi\",\"undecodable\":\"not UTF-8 text\"}"},
        {"\xff\xfe", 2, HS_PAYLOAD_AUTO,
         "\"payload_b64\":\"//4=\",\"undecodable\":\"not msgpack: "},
        {"\x91\x01\x02", 3, HS_PAYLOAD_MSGPACK,
         "\"payload_b64\":\"kQEC\",\"undecodable\":\"not msgpack: 1 bytes after the value\"}"},
        {"\x92\x01", 2, HS_PAYLOAD_MSGPACK,
         "\"payload_b64\":\"kgE=\",\"undecodable\":\"not msgpack: "},
        {"xy", 2, HS_PAYLOAD_BINARY, "\"payload_b64\":\"eHk=\",\"undecodable\":\"binary\"}"},
        /* msgpack that JSON shows inexactly (a string of invalid UTF-8, a float32):
           the exact bytes go beside it. */
        {"\xa2\xff\xfe", 3, HS_PAYLOAD_MSGPACK,
         "\"payload_json\":\"\xef\xbf\xbd\xef\xbf\xbd\",\"payload_b64\":\"ov/+\"}"},
        {"\xca\x3f\xc0\0\0", 5, HS_PAYLOAD_MSGPACK,
         "\"payload_json\":1.5,\"payload_b64\":\"yj/AAAA=\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hs_proto_dead_letter d = {.service = "ingest",
                                  .reason = "bad JSON: x",
                                  .topic = "hs/raw/t",
                                  .t_us = 1700000000000000,
                                  .payload = (const uint8_t *)cases[i].p,
                                  .len = cases[i].len,
                                  .stream = i == 3 ? "temp/room=a" : NULL,
                                  .kind = cases[i].kind};
        CU_ASSERT_EQUAL_FATAL(hs_proto_dead_letter_encode(&b, &d), HS_OK);
        char want[300];
        snprintf(want, sizeof want,
                 "{\"service\":\"ingest\",\"reason\":\"bad JSON: x\",\"topic\":\"hs/raw/t\",%s"
                 "\"t\":\"2023-11-14T22:13:20Z\",%s",
                 i == 3 ? "\"stream\":\"temp/room=a\"," : "", cases[i].shown);
        CU_ASSERT_EQUAL(strncmp(hs_buf_cstr(&b), want, strlen(want)), 0);
        if (strncmp(hs_buf_cstr(&b), want, strlen(want)) != 0)
            fprintf(stderr, "\ncase %zu: got  %s\n        want %s\n", i, hs_buf_cstr(&b), want);
        hs_proto_dead_letter_msg m;
        CU_ASSERT_EQUAL_FATAL(hs_proto_dead_letter_decode(&m, (const char *)b.data, b.len), HS_OK);
        CU_ASSERT_STRING_EQUAL(m.d.service, "ingest");
        CU_ASSERT_STRING_EQUAL(m.d.reason, "bad JSON: x");
        CU_ASSERT_STRING_EQUAL(m.d.topic, "hs/raw/t");
        CU_ASSERT_STRING_EQUAL(m.d.stream != NULL ? m.d.stream : "", i == 3 ? "temp/room=a" : "");
        CU_ASSERT_EQUAL(m.d.t_us, 1700000000000000);
        CU_ASSERT_EQUAL(m.d.undecodable != NULL, strstr(cases[i].shown, "undecodable") != NULL);
        if (strstr(cases[i].shown, "payload_json") != NULL &&
            strstr(cases[i].shown, "payload_b64") == NULL) {
            /* The same value: its JSON text again is what was shown. */
            hs_buf j;
            hs_buf_init(&j, 0);
            hs_mp_reader r;
            hs_mp_reader_init(&r, m.d.payload, m.d.len);
            CU_ASSERT_EQUAL(hs_json_from_mpack(&r, &j), HS_OK);
            CU_ASSERT(hs_mp_at_end(&r));
            CU_ASSERT_PTR_NOT_NULL(strstr(cases[i].shown, hs_buf_cstr(&j)));
            CU_ASSERT_EQUAL(m.d.kind, HS_PAYLOAD_MSGPACK);
            hs_buf_free(&j);
        } else {
            CU_ASSERT_EQUAL(m.d.kind,
                            strstr(cases[i].shown, "payload_json") != NULL  ? HS_PAYLOAD_MSGPACK
                            : strstr(cases[i].shown, "payload_b64") != NULL ? HS_PAYLOAD_BINARY
                                                                            : HS_PAYLOAD_TEXT);
            CU_ASSERT_EQUAL_FATAL(m.d.len, cases[i].len);
            CU_ASSERT(cases[i].len == 0 || memcmp(m.d.payload, cases[i].p, cases[i].len) == 0);
        }
        hs_proto_dead_letter_msg_free(&m);
    }
    hs_proto_dead_letter_msg m;
    static const char *const bad[] = {
        "{\"service\":\"s\",\"reason\":\"r\",\"topic\":\"\",\"t\":\"2023-11-14T22:13:20Z\"}",
        "{\"service\":\"s\",\"reason\":\"r\",\"topic\":\"\",\"t\":\"2023-11-14T22:13:20Z\","
        "\"payload\":\"\",\"payload_b64\":\"\"}",
        "{\"service\":\"s\",\"reason\":\"r\",\"topic\":\"\",\"t\":\"2023-11-14T22:13:20Z\","
        "\"payload_b64\":\"a\"}",
        "{\"service\":\"s\",\"reason\":\"\",\"topic\":\"\",\"t\":\"2023-11-14T22:13:20Z\","
        "\"payload\":\"\"}",
        /* Two forms at once, base64 without its reason, a reason without base64. */
        "{\"service\":\"s\",\"reason\":\"r\",\"topic\":\"\",\"t\":\"2023-11-14T22:13:20Z\","
        "\"payload\":\"\",\"payload_json\":1}",
        "{\"service\":\"s\",\"reason\":\"r\",\"topic\":\"\",\"t\":\"2023-11-14T22:13:20Z\","
        "\"payload_b64\":\"eA==\"}",
        "{\"service\":\"s\",\"reason\":\"r\",\"topic\":\"\",\"t\":\"2023-11-14T22:13:20Z\","
        "\"payload_json\":1,\"undecodable\":\"x\"}",
        /* exact bytes beside payload_json that are not one msgpack value */
        "{\"service\":\"s\",\"reason\":\"r\",\"topic\":\"\",\"t\":\"2023-11-14T22:13:20Z\","
        "\"payload_json\":1,\"payload_b64\":\"kgE=\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_NOT_EQUAL(hs_proto_dead_letter_decode(&m, bad[i], strlen(bad[i])), HS_OK);
        hs_proto_dead_letter_msg_free(&m);
    }

    /* An error about an interval: the level, and the interval as ISO times and in µs. */
    hs_proto_mon ev = {.service = "scheduler",
                       .t_us = 1700000000000000,
                       .name = "job_failed",
                       .text = "wf job j1: \"boom\"",
                       .level = HS_MON_ERROR,
                       .has_interval = true,
                       .interval = {1700000000000000, 1700000060500000}};
    CU_ASSERT_EQUAL_FATAL(hs_proto_mon_encode(&b, &ev, true), HS_OK);
    CU_ASSERT_STRING_EQUAL(
        hs_buf_cstr(&b),
        "2023-11-14T22:13:20Z MON scheduler error job_failed: wf job j1: \"boom\"");
    CU_ASSERT_EQUAL_FATAL(hs_proto_mon_encode(&b, &ev, false), HS_OK);
    CU_ASSERT_STRING_EQUAL(
        hs_buf_cstr(&b),
        "{\"uid\":\"scheduler\",\"bt\":\"2023-11-14T22:13:20Z\",\"level\":\"error\","
        "\"interval\":[\"2023-11-14T22:13:20Z\",\"2023-11-14T22:14:20.500000Z\"],"
        "\"interval_us\":[1700000000000000,1700000060500000],"
        "\"e\":[{\"n\":\"job_failed\",\"vs\":\"wf job j1: \\\"boom\\\"\"}]}");
    hs_proto_mon_msg mm;
    CU_ASSERT_EQUAL_FATAL(hs_proto_mon_decode(&mm, (const char *)b.data, b.len), HS_OK);
    CU_ASSERT_STRING_EQUAL(mm.e.service, "scheduler");
    CU_ASSERT_STRING_EQUAL(mm.e.name, "job_failed");
    CU_ASSERT_STRING_EQUAL(mm.e.text, "wf job j1: \"boom\"");
    CU_ASSERT_EQUAL(mm.e.t_us, 1700000000000000);
    CU_ASSERT_EQUAL(mm.e.level, HS_MON_ERROR);
    CU_ASSERT(mm.e.has_interval);
    CU_ASSERT_EQUAL(mm.e.interval.start, 1700000000000000);
    CU_ASSERT_EQUAL(mm.e.interval.end, 1700000060500000);
    hs_proto_mon_msg_free(&mm);
    /* Without level (events of earlier versions): info, no interval. */
    static const char old[] =
        "{\"uid\":\"s\",\"bt\":\"2023-11-14T22:13:20Z\",\"e\":[{\"n\":\"a\",\"vs\":\"x\"}]}";
    CU_ASSERT_EQUAL_FATAL(hs_proto_mon_decode(&mm, old, strlen(old)), HS_OK);
    CU_ASSERT_EQUAL(mm.e.level, HS_MON_INFO);
    CU_ASSERT(!mm.e.has_interval);
    hs_proto_mon_msg_free(&mm);
    /* The level names, in order. */
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        hs_proto_mon_level l = HS_MON_INFO;
        CU_ASSERT_EQUAL(hs_proto_mon_level_parse(names[i], &l), HS_OK);
        CU_ASSERT_EQUAL((int)l, i - 1);
        CU_ASSERT_STRING_EQUAL(hs_proto_mon_level_name(l), names[i]);
    }
    hs_proto_mon_level l = HS_MON_INFO;
    CU_ASSERT_NOT_EQUAL(hs_proto_mon_level_parse("fatal", &l), HS_OK);
    ev.interval.end = ev.interval.start;
    CU_ASSERT_NOT_EQUAL(hs_proto_mon_encode(&b, &ev, false), HS_OK);
    static const char *const badmon[] = {
        "{\"uid\":\"s\",\"bt\":\"2023-11-14T22:13:20Z\",\"e\":[]}",
        "{\"uid\":\"s\",\"bt\":\"2023-11-14T22:13:20Z\",\"e\":[{\"n\":\"a\",\"vs\":\"x\"},"
        "{\"n\":\"b\",\"vs\":\"y\"}]}",
        "{\"uid\":\"s\",\"bt\":\"yesterday\",\"e\":[{\"n\":\"a\",\"vs\":\"x\"}]}",
        "{\"uid\":\"s\",\"bt\":\"2023-11-14T22:13:20Z\",\"e\":[{\"n\":\"a\"}]}",
        "{\"uid\":\"s\",\"bt\":\"2023-11-14T22:13:20Z\",\"level\":\"fatal\","
        "\"e\":[{\"n\":\"a\",\"vs\":\"x\"}]}",
        /* interval without interval_us, and the two disagreeing */
        "{\"uid\":\"s\",\"bt\":\"2023-11-14T22:13:20Z\","
        "\"interval\":[\"2023-11-14T22:13:20Z\",\"2023-11-14T22:13:21Z\"],"
        "\"e\":[{\"n\":\"a\",\"vs\":\"x\"}]}",
        "{\"uid\":\"s\",\"bt\":\"2023-11-14T22:13:20Z\","
        "\"interval\":[\"2023-11-14T22:13:20Z\",\"2023-11-14T22:13:21Z\"],"
        "\"interval_us\":[1700000000000000,1700000002000000],"
        "\"e\":[{\"n\":\"a\",\"vs\":\"x\"}]}",
    };
    for (size_t i = 0; i < sizeof badmon / sizeof badmon[0]; i++) {
        CU_ASSERT_NOT_EQUAL(hs_proto_mon_decode(&mm, badmon[i], strlen(badmon[i])), HS_OK);
        hs_proto_mon_msg_free(&mm);
    }
    hs_buf_free(&b);
}

static void test_schemas_message(void)
{
    /* Round trip: the list as a workflow gives it, the message, the decoded message. */
    const char *json =
        "[{\"stream\": \"p/#\", \"schema\": {\"type\": \"number\", \"maximum\": 5}}]";
    hs_buf mp, out;
    hs_buf_init(&mp, 0);
    hs_buf_init(&out, 0);
    CU_ASSERT_EQUAL_FATAL(hs_json_to_mpack(json, strlen(json), &mp), HS_OK);
    hs_proto_schemas_msg a, b;
    CU_ASSERT_EQUAL_FATAL(hs_proto_schemas_from_list(&a, "climate", mp.data, mp.len), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_proto_schemas_encode(&out, &a.s), HS_OK);
    CU_ASSERT_EQUAL_FATAL(hs_proto_schemas_decode(&b, out.data, out.len), HS_OK);
    CU_ASSERT_STRING_EQUAL(b.s.workflow, "climate");
    CU_ASSERT_EQUAL_FATAL(b.s.n, 1);
    CU_ASSERT_STRING_EQUAL(b.s.entries[0].stream, "p/#");
    CU_ASSERT(hs_value_equal(b.s.entries[0].schema, a.s.entries[0].schema));
    hs_buf j;
    hs_buf_init(&j, 0);
    hs_mp_reader r;
    hs_mp_reader_init(&r, out.data, out.len);
    CU_ASSERT_EQUAL(hs_json_from_mpack(&r, &j), HS_OK);
    CU_ASSERT(hs_mp_at_end(&r));
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&j), "{\"workflow\":\"climate\",\"schemas\":[{\"stream\":"
                                            "\"p/#\",\"schema\":{\"type\":\"number\",\"maximum\":"
                                            "5}}]}");
    hs_buf_free(&j);
    hs_proto_schemas_msg_free(&a);
    hs_proto_schemas_msg_free(&b);

    /* Bad messages name what is wrong. */
    static const struct {
        const char *json;
        const char *detail;
    } bad[] = {
        {"[1]", "input schemas: not a map {workflow, schemas}"},
        {"{\"workflow\": \"w\"}", "input schemas: field 'schemas' is missing"},
        {"{\"schemas\": [{\"stream\": \"a\", \"schema\": true}]}",
         "input schemas: field 'workflow' is missing"},
        {"{\"workflow\": \"\", \"schemas\": []}",
         "input schemas: field 'workflow' is not a non-empty text"},
        {"{\"workflow\": \"w\", \"schemas\": []}",
         "input schemas: 'schemas' is not a non-empty list"},
        {"{\"workflow\": \"w\", \"schemas\": [{\"stream\": \"a\"}]}",
         "input schemas: schemas[0] is not a map {stream, schema}"},
        {"{\"workflow\": \"w\", \"schemas\": [{\"stream\": 1, \"schema\": true}]}",
         "input schemas: schemas[0]: 'stream' is not a non-empty text"},
        {"{\"workflow\": \"w\", \"schemas\": [{\"stream\": \"a\", \"schema\": 3}]}",
         "input schemas: schemas[0]: 'schema' is not a map or a boolean"},
        {"{\"workflow\": \"w\", \"x\": 1, \"schemas\": []}",
         "input schemas: unknown or repeated field 'x'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hs_buf_reset(&mp);
        CU_ASSERT_EQUAL_FATAL(hs_json_to_mpack(bad[i].json, strlen(bad[i].json), &mp), HS_OK);
        hs_proto_schemas_msg m;
        CU_ASSERT_EQUAL(hs_proto_schemas_decode(&m, mp.data, mp.len), HS_ERR_PARSE);
        CU_ASSERT_STRING_EQUAL(hs_err_detail(), bad[i].detail);
        hs_proto_schemas_msg_free(&m);
    }
    hs_proto_schemas_msg m;
    CU_ASSERT_NOT_EQUAL(hs_proto_schemas_decode(&m, (const uint8_t *)"\xc1", 1), HS_OK);
    hs_proto_schemas_msg_free(&m);
    /* The encoder refuses what the decoder would. */
    hs_proto_schemas none = {"w", NULL, 0};
    CU_ASSERT_EQUAL(hs_proto_schemas_encode(&out, &none), HS_ERR_INVAL);
    hs_buf_free(&mp);
    hs_buf_free(&out);
}

HS_TEST_INIT(proto)
{
    HS_TEST_SUITE_BEGIN("proto");
    HS_TEST(test_job_full);
    HS_TEST(test_job_minimal);
    HS_TEST(test_job_units);
    HS_TEST(test_job_optional_fields);
    HS_TEST(test_job_bare_source);
    HS_TEST(test_job_required);
    HS_TEST(test_job_unknown_duplicate);
    HS_TEST(test_job_wrong_types);
    HS_TEST(test_job_interval_factor_version);
    HS_TEST(test_job_cut_nul_nomem);
    HS_TEST(test_job_encode_refuses);
    HS_TEST(test_job_trigger_wseq);
    HS_TEST(test_wreq_envelope);
    HS_TEST(test_wreq_unknown_op);
    HS_TEST(test_wreq_append);
    HS_TEST(test_wreq_append_many);
    HS_TEST(test_wreq_docs_many);
    HS_TEST(test_wreq_define);
    HS_TEST(test_wreq_purge);
    HS_TEST(test_wreq_purge_before);
    HS_TEST(test_wreq_docs);
    HS_TEST(test_wreq_invalidate);
    HS_TEST(test_jobout_outputs);
    HS_TEST(test_jobout_error_and_plate_values);
    HS_TEST(test_jobout_minimal);
    HS_TEST(test_jobout_errors);
    HS_TEST(test_jobout_trigger_wseq);
    HS_TEST(test_ack_roundtrip);
    HS_TEST(test_ack_errors);
    HS_TEST(test_committed_roundtrip);
    HS_TEST(test_committed_errors);
    HS_TEST(test_committed_wseq_recompute);
    HS_TEST(test_reopened_roundtrip);
    HS_TEST(test_reopened_errors);
    HS_TEST(test_correction);
    HS_TEST(test_wseq);
    HS_TEST(test_deps_doc);
    HS_TEST(test_reopened_doc);
    HS_TEST(test_history_full);
    HS_TEST(test_history_minimal);
    HS_TEST(test_history_trigger_recompute);
    HS_TEST(test_status_states);
    HS_TEST(test_status_tools);
    HS_TEST(test_status_invalid);
    HS_TEST(test_dead_letter_and_mon);
    HS_TEST(test_schemas_message);
    return 0;
}
