/*
 * A fleet's store for timing hsctl stream ls (bench/bench_ls.sh): writes a
 * SQLite store of 3 x N streams through the store API, as the writer would
 * leave them after a backfill: N raw streams temp/g=1/dev=D with three
 * instances each, and N computed streams temp_1m/g=1/dev=D and
 * temp_1m_f/g=1/dev=D with three instances and one calculated interval each.
 *
 *   bench_lsstore --url sqlite:///tmp/x.db [--devices 100000]
 *
 * Prints the streams and instances written and the time it took.
 */
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_interval.h"
#include "hs_mpack.h"
#include "hs_store.h"
#include "hs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes stream id (kind) with three readings from t0_us and, for a computed one, its interval. */
static int put_stream(hs_store *s, const char *id, int kind, int64_t t0_us, hs_batch *b)
{
    int rc = hs_store_stream_define(s, id, kind, kind == HS_STREAM_RAW ? NULL : "{}");
    hs_batch_reset(b);
    for (int k = 0; rc == HS_OK && k < 3; k++) {
        hs_buf *v = hs_batch_push_begin(b);
        rc = v == NULL ? HS_ERR_NOMEM : hs_mp_put_double(v, 20.0 + k);
        if (rc == HS_OK)
            rc = hs_batch_push_end(b, t0_us + (k + 1) * 60 * HS_US_PER_S);
    }
    if (rc == HS_OK)
        rc = hs_store_write(s, id, b, NULL, NULL);
    if (rc == HS_OK && kind == HS_STREAM_COMPUTED) {
        hs_intervals iv;
        hs_intervals_init(&iv);
        rc = hs_intervals_add(&iv, (hs_interval){t0_us, t0_us + 180 * HS_US_PER_S});
        if (rc == HS_OK)
            rc = hs_store_intervals_add(s, id, &iv);
        hs_intervals_free(&iv);
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    long devices = 100000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--devices") && i + 1 < argc)
            devices = atol(argv[++i]);
    }
    if (url == NULL || devices <= 0) {
        fprintf(stderr, "usage: bench_lsstore --url sqlite:///PATH [--devices N]\n");
        return 2;
    }
    hs_store *s;
    if (hs_store_open(&s, url, HS_STORE_WRITE) != HS_OK) {
        fprintf(stderr, "open %s: %s\n", url, hs_err_detail());
        return 2;
    }
    static const char *const names[3] = {"temp", "temp_1m", "temp_1m_f"};
    int64_t t0_us = 1700002800LL * HS_US_PER_S;
    int64_t start = hs_time_mono_us();
    hs_batch b;
    hs_batch_init(&b);
    int rc = hs_store_begin(s);
    for (long d = 0; rc == HS_OK && d < devices; d++) {
        for (int n = 0; rc == HS_OK && n < 3; n++) {
            char id[96];
            snprintf(id, sizeof id, "%s/g=1/dev=%ld", names[n], d);
            rc = put_stream(s, id, n == 0 ? HS_STREAM_RAW : HS_STREAM_COMPUTED, t0_us, &b);
        }
        /* Transactions of 10,000 devices. */
        if (rc == HS_OK && (d + 1) % 10000 == 0) {
            rc = hs_store_commit(s);
            if (rc == HS_OK)
                rc = hs_store_begin(s);
        }
    }
    if (rc == HS_OK)
        rc = hs_store_commit(s);
    hs_batch_free(&b);
    hs_store_close(s);
    if (rc != HS_OK) {
        fprintf(stderr, "write: %s\n", hs_err_detail());
        return 2;
    }
    printf("store: %ld streams, %ld instances written in %.1f s\n", devices * 3, devices * 9,
           (double)(hs_time_mono_us() - start) / 1e6);
    return 0;
}
