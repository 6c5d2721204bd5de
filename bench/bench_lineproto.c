/*
 * Benchmark of the line protocol parser. Parses bodies shaped like what
 * Telegraf's influxdb_v2 output sends and prints the median of several
 * runs in fields (instances) per second, points per second and MB/s:
 *  - cpu: 2 tags, 10 float fields per point;
 *  - mem: 1 tag, 6 integer and float fields per point;
 *  - sensor: 3 tags, one "value" field per point (one instance per line).
 * The callback only touches its arguments. There are no thresholds.
 *   bench_lineproto [runs]
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_lineproto.h"
#include "hs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINES    4096
#define MAX_RUNS 21
#define ROUNDS   20

typedef struct sink {
    size_t fields;
    uint64_t sum; /* of id and value lengths, so that the calls are not optimised away */
} sink;

static int on_instance(void *ud, const char *sid, int64_t t_us, const uint8_t *v, size_t vlen,
                       size_t line)
{
    sink *s = ud;
    s->fields++;
    s->sum += (uint64_t)(unsigned char)sid[0] + v[0] + vlen + (uint64_t)t_us + line;
    return HS_OK;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Builds LINES points of one shape into body. */
static int make_body(hs_buf *body, const char *shape)
{
    for (int i = 0; i < LINES; i++) {
        long long t = 1700000000000000000LL + (long long)i * 10000000000LL;
        if (strcmp(shape, "cpu") == 0)
            hs_buf_printf(body,
                          "cpu,cpu=cpu%d,host=server-%02d usage_guest=0,usage_guest_nice=0,"
                          "usage_idle=97.%03d,usage_iowait=0.1%d,usage_irq=0,usage_nice=0,"
                          "usage_softirq=0.0%d,usage_steal=0,usage_system=0.8%d,"
                          "usage_user=1.9%d %lld\n",
                          i % 8, i % 50, i % 1000, i % 10, i % 7, i % 9, i % 10, t);
        else if (strcmp(shape, "mem") == 0)
            hs_buf_printf(body,
                          "mem,host=server-%02d available=%di,available_percent=%d.25,"
                          "buffered=%di,cached=%di,free=%di,used_percent=%d.75 %lld\n",
                          i % 50, 8123456 + i, 40 + i % 50, 1024 * i, 77777 + i, 99 * i, i % 100,
                          t);
        else
            hs_buf_printf(body, "temperature,house=h%d,room=r%d,floor=%d value=%d.%d %lld\n",
                          i % 100, i % 10, i % 3, 15 + i % 10, i % 10, t);
    }
    return hs_buf_error(body);
}

static int bench(const char *shape, int runs)
{
    hs_buf body;
    hs_buf_init(&body, 0);
    int rc = make_body(&body, shape);
    if (rc != HS_OK)
        return rc;
    double fps[MAX_RUNS], pps[MAX_RUNS], mbps[MAX_RUNS];
    sink s = {0, 0};
    for (int k = 0; k < runs && rc == HS_OK; k++) {
        s.fields = 0;
        size_t points = 0, total = 0;
        int64_t t0 = hs_time_mono_us();
        for (int r = 0; r < ROUNDS && rc == HS_OK; r++) {
            rc = hs_lp_parse((const char *)body.data, body.len, HS_LP_NS, 0, on_instance, &s,
                             &points);
            total += points;
        }
        double sec = (double)(hs_time_mono_us() - t0) / 1e6;
        if (sec <= 0)
            sec = 1e-6;
        fps[k] = (double)s.fields / sec;
        pps[k] = (double)total / sec;
        mbps[k] = (double)body.len * ROUNDS / sec / 1e6;
    }
    if (rc != HS_OK) {
        fprintf(stderr, "%s: %s: %s\n", shape, hs_strerror(rc), hs_err_detail());
        hs_buf_free(&body);
        return rc;
    }
    qsort(fps, (size_t)runs, sizeof fps[0], cmp_dbl);
    qsort(pps, (size_t)runs, sizeof pps[0], cmp_dbl);
    qsort(mbps, (size_t)runs, sizeof mbps[0], cmp_dbl);
    printf("lineproto %-8s %8.2f M fields/s  %7.1f ns/field  %6.2f M points/s  %7.1f MB/s"
           "  (check %llu)\n",
           shape, fps[runs / 2] / 1e6, 1e9 / fps[runs / 2], pps[runs / 2] / 1e6, mbps[runs / 2],
           (unsigned long long)(s.sum % 1000));
    hs_buf_free(&body);
    return HS_OK;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 7;
    if (runs < 1 || runs > MAX_RUNS)
        runs = 7;
    const char *shapes[] = {"cpu", "mem", "sensor"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        if (bench(shapes[i], runs) != HS_OK)
            return 1;
    }
    return 0;
}
