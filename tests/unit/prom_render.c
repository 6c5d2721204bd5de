/*
 * Prints the Prometheus text of a known metrics snapshot (one with label
 * values that need escaping), for `promtool check metrics` under ctest.
 * Exit status 0, or 1 when the rendering fails.
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_metrics.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    hs_metrics_snapshot s;
    memset(&s, 0, sizeof s);
    s.kind = "writer";
    s.id = "w\"1\\\nx";
    s.version = "0.0.0";
    s.uptime_s = 12.5;
    s.msgs_in = 10;
    s.instances_in_per_s = 3.5;
    s.p50_ms = 1.5;
    s.p95_ms = 2;
    s.p99_ms = 4;
    s.lat_count = 7;
    s.lat_sum_us = 2500000;
    s.rss_kb = 1000;
    s.cpu_s = 1.25;
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hs_metrics_render_prom(&s, &b);
    if (rc == HS_OK && fwrite(b.data, 1, b.len, stdout) != b.len)
        rc = HS_ERR_IO;
    hs_buf_free(&b);
    return rc == HS_OK ? 0 : 1;
}
