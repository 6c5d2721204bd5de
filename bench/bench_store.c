/*
 * Store throughput: writes N instances of one stream in transactions of
 * --tx instances through hs_store_write, then reads them back in chunks.
 * On SQLite it also prints the size of the store after writing, per
 * instance: the database file plus its write-ahead log after a checkpoint
 * (PRAGMA wal_checkpoint(TRUNCATE) on a connection of its own), divided by
 * the instances written (of a fresh store: the default URL).
 *
 * --values sensor writes what a thermometer sends instead of the default
 * regular series (i * 0.5): a random walk rounded to 0.01.
 *
 *   bench_store [--url sqlite:///tmp/x.db] [--count 1000000] [--tx 100000]
 *               [--values regular|sensor]
 */
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_store.h"
#include "hs_time.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Value i of the series written: regular (i * 0.5), or a sensor's reading (a
 * random walk of 0.01 steps from 20.00, rounded as a JSON sensor sends it;
 * called for i = 0, 1, 2, ... in order, and again from 0). */
static double value_of(bool sensor, long i)
{
    static long centi;
    static uint64_t x;
    if (!sensor)
        return (double)i * 0.5;
    if (i == 0) {
        centi = 2000;
        x = 88172645463325252ULL;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    centi += (long)(x % 5) - 2;
    return (double)centi / 100.0;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Checkpoints the SQLite database at path into its main file and truncates its
 * log; prints the sizes per instance. */
static int print_sqlite_size(const char *path, long count)
{
    sqlite3 *db = NULL;
    int busy = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &q, NULL) == SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW)
            busy = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    if (busy != 0) {
        fprintf(stderr, "checkpoint of %s failed (busy %d)\n", path, busy);
        return -1;
    }
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", path);
    long long main_b = file_size(path), wal_b = file_size(wal);
    printf("sqlite: store after writing %ld instances: %lld bytes (file %lld + WAL %lld after a "
           "checkpoint) = %.2f bytes/instance\n",
           count, main_b + wal_b, main_b, wal_b,
           count > 0 ? (double)(main_b + wal_b) / (double)count : 0.0);
    return 0;
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    long count = 1000000, tx = 100000;
    bool sensor = false;
    char defurl[256];
    snprintf(defurl, sizeof defurl, "sqlite:///tmp/hs-bench-store-%d.db", (int)getpid());
    url = defurl;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--tx") && i + 1 < argc)
            tx = atol(argv[++i]);
        else if (!strcmp(argv[i], "--values") && i + 1 < argc)
            sensor = !strcmp(argv[++i], "sensor");
    }
    hs_store *s;
    if (hs_store_open(&s, url, HS_STORE_WRITE) != HS_OK) {
        fprintf(stderr, "open %s: %s\n", url, hs_err_detail());
        return 2;
    }
    hs_batch b;
    hs_batch_init(&b);
    int64_t t0 = 1600000000LL * HS_US_PER_S;
    int64_t start = hs_time_mono_us();
    for (long i = 0; i < count;) {
        hs_batch_reset(&b);
        for (long k = 0; k < tx && i < count; k++, i++) {
            hs_buf *v = hs_batch_push_begin(&b);
            hs_mp_put_double(v, value_of(sensor, i));
            hs_batch_push_end(&b, t0 + i * HS_US_PER_S);
        }
        if (hs_store_begin(s) != HS_OK || hs_store_write(s, "bench/k=v", &b, NULL, NULL) != HS_OK ||
            hs_store_commit(s) != HS_OK) {
            fprintf(stderr, "write: %s\n", hs_err_detail());
            return 2;
        }
    }
    double w = (double)(hs_time_mono_us() - start) / 1e6;
    if (strncmp(url, "sqlite://", 9) == 0 && print_sqlite_size(url + 9, count) != 0)
        return 2;
    start = hs_time_mono_us();
    hs_store_cursor *c;
    long n = 0;
    hs_store_read(s, "bench/k=v", hs_store_all_time(), 8192, &c);
    do {
        hs_store_cursor_next(c, &b);
        n += (long)b.n;
    } while (b.n > 0);
    hs_store_cursor_close(c);
    double r = (double)(hs_time_mono_us() - start) / 1e6;
    /* The same batch again: every instance a duplicate. */
    start = hs_time_mono_us();
    hs_batch_reset(&b);
    for (long k = 0; k < tx && k < count; k++) {
        hs_buf *v = hs_batch_push_begin(&b);
        hs_mp_put_double(v, value_of(sensor, k));
        hs_batch_push_end(&b, t0 + k * HS_US_PER_S);
    }
    hs_store_begin(s);
    hs_store_write(s, "bench/k=v", &b, NULL, NULL);
    hs_store_commit(s);
    double d = (double)(hs_time_mono_us() - start) / 1e6;
    printf("%s: write %ld in %.2fs = %.0f inst/s (tx %ld); read back %ld in %.2fs = %.0f inst/s; "
           "re-write %ld duplicates = %.0f inst/s\n",
           hs_store_backend(s), count, w, (double)count / w, tx, n, r, (double)n / r,
           tx < count ? tx : count, (double)(tx < count ? tx : count) / d);
    hs_store_close(s);
    hs_batch_free(&b);
    if (strncmp(url, "sqlite:///tmp/hs-bench-store-", 29) == 0) {
        char p[300];
        snprintf(p, sizeof p, "rm -f %s %s-wal %s-shm", url + 9, url + 9, url + 9);
        if (system(p) != 0)
            return 1;
    }
    return 0;
}
