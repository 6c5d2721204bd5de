/*
 * Store throughput: writes N instances of one stream in transactions of
 * --tx instances through hs_store_write, then reads them back in chunks.
 *
 *   bench_store [--url sqlite:///tmp/x.db] [--count 1000000] [--tx 100000]
 */
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_store.h"
#include "hs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *url = NULL;
    long count = 1000000, tx = 100000;
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
            hs_mp_put_double(v, (double)i * 0.5);
            hs_batch_push_end(&b, t0 + i * HS_US_PER_S);
        }
        if (hs_store_begin(s) != HS_OK || hs_store_write(s, "bench/k=v", &b, NULL, NULL) != HS_OK ||
            hs_store_commit(s) != HS_OK) {
            fprintf(stderr, "write: %s\n", hs_err_detail());
            return 2;
        }
    }
    double w = (double)(hs_time_mono_us() - start) / 1e6;
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
        hs_mp_put_double(v, (double)k * 0.5);
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
