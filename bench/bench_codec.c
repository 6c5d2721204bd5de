/*
 * Benchmark of the instance codec. Prints the median of several runs of:
 *  - msgpack batch encode + decode of 256 [t_us, float] and of 256
 *    [t_us, {"temp": 21.5, "hum": 40}] (decode zero-copy and copying);
 *  - JSON payload decode of single instances {"t": "<ISO>", "v": 21.5} and
 *    {"t": "<ISO>", "v": {"temp": 21.5, "hum": 40}}, in instances/s and MB/s;
 *  - JSON line encode of the same two values.
 * There are no thresholds.
 *   bench_codec [runs]
 */
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH    256
#define T_START  (1461873600LL * HS_US_PER_S)
#define MAX_RUNS 21

/* One measured scenario: runs `iters` rounds, returns bytes processed (0 if n/a). */
typedef struct scenario {
    const char *name;
    size_t iters;    /* rounds per run */
    size_t inst_per; /* instances per round */
    int (*fn)(void *ctx, size_t iters, size_t *bytes);
    void *ctx;
} scenario;

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs s `runs` times and prints the median rates. */
static int run(const scenario *s, int runs)
{
    double rate[MAX_RUNS], mbps[MAX_RUNS];
    for (int k = 0; k < runs; k++) {
        size_t bytes = 0;
        int64_t t0 = hs_time_mono_us();
        int rc = s->fn(s->ctx, s->iters, &bytes);
        int64_t us = hs_time_mono_us() - t0;
        if (rc != HS_OK) {
            fprintf(stderr, "%s: %s: %s\n", s->name, hs_strerror(rc), hs_err_detail());
            return rc;
        }
        double sec = us > 0 ? (double)us / 1e6 : 1e-6;
        rate[k] = (double)(s->iters * s->inst_per) / sec;
        mbps[k] = (double)bytes / sec / 1e6;
    }
    qsort(rate, (size_t)runs, sizeof rate[0], cmp_dbl);
    qsort(mbps, (size_t)runs, sizeof mbps[0], cmp_dbl);
    double r = rate[runs / 2], m = mbps[runs / 2];
    printf("%-44s %8.2f M inst/s  %7.1f ns/inst", s->name, r / 1e6, 1e9 / r);
    if (m > 0)
        printf("  %8.1f MB/s", m);
    printf("\n");
    return HS_OK;
}

/* ---- msgpack batches ---- */

typedef struct mp_ctx {
    hs_batch src; /* owned batch of BATCH instances */
    hs_buf wire;  /* encoded payload, reused */
    hs_batch dst; /* decoded batch, reused */
    bool copy;    /* decode copying values */
} mp_ctx;

static int mp_round_trip(void *vctx, size_t iters, size_t *bytes)
{
    mp_ctx *c = vctx;
    for (size_t i = 0; i < iters; i++) {
        hs_buf_reset(&c->wire);
        int rc = hs_codec_encode_mpack(&c->src, 0, c->src.n, &c->wire);
        if (rc == HS_OK)
            rc = hs_codec_decode_mpack(c->wire.data, c->wire.len, c->copy, &c->dst);
        if (rc != HS_OK)
            return rc;
        if (c->dst.n != BATCH)
            return HS_ERR_STATE;
        *bytes += c->wire.len;
    }
    return HS_OK;
}

static int put_value(hs_buf *b, bool map, size_t i)
{
    if (!map)
        return hs_mp_put_double(b, 20.0 + (double)(i % 100) * 0.125);
    int rc = hs_mp_put_map(b, 2);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(b, "temp");
    if (rc == HS_OK)
        rc = hs_mp_put_double(b, 21.5);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(b, "hum");
    if (rc == HS_OK)
        rc = hs_mp_put_int(b, 40);
    return rc;
}

static int mp_ctx_init(mp_ctx *c, bool map, bool copy)
{
    hs_batch_init(&c->src);
    hs_batch_init(&c->dst);
    hs_buf_init(&c->wire, 0);
    c->copy = copy;
    for (size_t i = 0; i < BATCH; i++) {
        hs_buf *vb = hs_batch_push_begin(&c->src);
        if (vb == NULL)
            return HS_ERR_NOMEM;
        int rc = put_value(vb, map, i);
        if (rc == HS_OK)
            rc = hs_batch_push_end(&c->src, T_START + (int64_t)i * HS_US_PER_S);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static void mp_ctx_free(mp_ctx *c)
{
    hs_batch_free(&c->src);
    hs_batch_free(&c->dst);
    hs_buf_free(&c->wire);
}

/* ---- JSON payloads ---- */

#define N_PAYLOADS 1024

typedef struct json_ctx {
    char *text[N_PAYLOADS]; /* distinct payloads (timestamps differ) */
    size_t len[N_PAYLOADS];
    hs_batch dst;
} json_ctx;

static int json_decode(void *vctx, size_t iters, size_t *bytes)
{
    json_ctx *c = vctx;
    for (size_t i = 0; i < iters; i++) {
        size_t k = i % N_PAYLOADS;
        int rc = hs_codec_decode_json(c->text[k], c->len[k], 0, &c->dst);
        if (rc != HS_OK)
            return rc;
        if (c->dst.n != 1)
            return HS_ERR_STATE;
        *bytes += c->len[k];
    }
    return HS_OK;
}

static int json_ctx_init(json_ctx *c, bool map)
{
    hs_batch_init(&c->dst);
    memset(c->text, 0, sizeof c->text);
    for (size_t k = 0; k < N_PAYLOADS; k++) {
        char iso[HS_TIME_ISO_MAX];
        hs_time_format_iso(T_START + (int64_t)k * 1000123, iso);
        char buf[160];
        int n = snprintf(buf, sizeof buf, "{\"t\": \"%s\", \"v\": %s}", iso,
                         map ? "{\"temp\": 21.5, \"hum\": 40}" : "21.5");
        if (n < 0 || (size_t)n >= sizeof buf)
            return HS_ERR_LIMIT;
        c->text[k] = malloc((size_t)n + 1);
        if (c->text[k] == NULL)
            return HS_ERR_NOMEM;
        memcpy(c->text[k], buf, (size_t)n + 1);
        c->len[k] = (size_t)n;
    }
    return HS_OK;
}

static void json_ctx_free(json_ctx *c)
{
    for (size_t k = 0; k < N_PAYLOADS; k++)
        free(c->text[k]);
    hs_batch_free(&c->dst);
}

/* ---- JSON lines ---- */

static int json_lines(void *vctx, size_t iters, size_t *bytes)
{
    mp_ctx *c = vctx;
    hs_batch *b = &c->src;
    for (size_t i = 0; i < iters; i++) {
        hs_buf_reset(&c->wire);
        for (size_t k = 0; k < b->n; k++) {
            int rc = hs_codec_encode_json_line(b->items[k].t_us + (int64_t)k * 7,
                                               hs_batch_value(b, k), b->items[k].len, &c->wire);
            if (rc != HS_OK)
                return rc;
        }
        *bytes += c->wire.len;
    }
    return HS_OK;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: bench_codec [runs 1..%d]\n", MAX_RUNS);
        return 2;
    }
    mp_ctx mf, mm, mfc, mmc;
    json_ctx jf, jm;
    int rc = mp_ctx_init(&mf, false, false);
    if (rc == HS_OK)
        rc = mp_ctx_init(&mm, true, false);
    if (rc == HS_OK)
        rc = mp_ctx_init(&mfc, false, true);
    if (rc == HS_OK)
        rc = mp_ctx_init(&mmc, true, true);
    if (rc == HS_OK)
        rc = json_ctx_init(&jf, false);
    if (rc == HS_OK)
        rc = json_ctx_init(&jm, true);
    if (rc != HS_OK) {
        fprintf(stderr, "setup failed: %s\n", hs_strerror(rc));
        return 1;
    }
    const scenario all[] = {
        {"msgpack 256 x [t, float] enc+dec (zero-copy)", 20000, BATCH, mp_round_trip, &mf},
        {"msgpack 256 x [t, float] enc+dec (copy)", 20000, BATCH, mp_round_trip, &mfc},
        {"msgpack 256 x [t, map2] enc+dec (zero-copy)", 10000, BATCH, mp_round_trip, &mm},
        {"msgpack 256 x [t, map2] enc+dec (copy)", 10000, BATCH, mp_round_trip, &mmc},
        {"json decode {\"t\":ISO,\"v\":21.5}", 500000, 1, json_decode, &jf},
        {"json decode {\"t\":ISO,\"v\":{temp,hum}}", 500000, 1, json_decode, &jm},
        {"json line encode [t, float]", 2000, BATCH, json_lines, &mf},
        {"json line encode [t, map2]", 2000, BATCH, json_lines, &mm},
    };
    printf("bench_codec: median of %d runs\n", runs);
    for (size_t i = 0; i < sizeof all / sizeof all[0] && rc == HS_OK; i++)
        rc = run(&all[i], runs);
    mp_ctx_free(&mf);
    mp_ctx_free(&mm);
    mp_ctx_free(&mfc);
    mp_ctx_free(&mmc);
    json_ctx_free(&jf);
    json_ctx_free(&jm);
    return rc == HS_OK ? 0 : 1;
}
