/*
 * Load generator and end-to-end meter for the data path.
 *
 *   bench_publish --url tcp://127.0.0.1:1884 --stream load/run=1 --count 1000000
 *                 [--batch 256] [--qos 0|1] [--json] [--watch s|raw] [--t0 SECONDS]
 *
 * Publishes --count instances to <prefix>/raw/<stream> (msgpack batches of
 * --batch [t_us, v], or one JSON {"t":..,"v":..} per message with --json),
 * while a second connection subscribes to <prefix>/s/<stream> (--watch s:
 * what the writer committed) or to the raw topic itself (--watch raw: the
 * broker alone, a baseline). Prints the publish rate, the end-to-end rate
 * (first publish to last instance seen) and the latency percentiles of
 * instances from publish to arrival. Instance i has timestamp t0 + i ms and
 * value i, so arrivals identify their publish time.
 */
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_mqtt.h"
#include "hs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *url = "tcp://127.0.0.1:1884", *stream = "load/run=1", *watch = "s";
    long count = 100000, batch = 256;
    int qos = 1;
    bool json = false;
    int64_t t0 = 1600000000LL * HS_US_PER_S;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--stream") && i + 1 < argc)
            stream = argv[++i];
        else if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atol(argv[++i]);
        else if (!strcmp(argv[i], "--qos") && i + 1 < argc)
            qos = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--watch") && i + 1 < argc)
            watch = argv[++i];
        else if (!strcmp(argv[i], "--t0") && i + 1 < argc)
            t0 = atoll(argv[++i]) * HS_US_PER_S;
        else {
            fprintf(stderr, "usage: see the comment at the top of bench_publish.c\n");
            return 2;
        }
    }
    if (json)
        batch = 1;
    char raw[512], sub[512], cid[64];
    snprintf(raw, sizeof raw, "hs/raw/%s", stream);
    snprintf(sub, sizeof sub, "%s", strcmp(watch, "raw") == 0 ? raw : "");
    if (sub[0] == '\0')
        snprintf(sub, sizeof sub, "hs/s/%s", stream);
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.url = url;
    o.connect_timeout_ms = 5000;
    o.rx_queue_max = 1000000;
    o.rx_queue_max_bytes = (size_t)1 << 30;
    snprintf(cid, sizeof cid, "bench-sub-%d", (int)getpid());
    o.client_id = cid;
    hs_mqtt *rx, *tx;
    if (hs_mqtt_create(&rx, &o) != HS_OK || hs_mqtt_connect(rx) != HS_OK ||
        hs_mqtt_subscribe(rx, sub, 1) != HS_OK) {
        fprintf(stderr, "cannot subscribe to %s at %s: %s\n", sub, url, hs_err_detail());
        return 2;
    }
    snprintf(cid, sizeof cid, "bench-pub-%d", (int)getpid());
    o.client_id = cid;
    if (hs_mqtt_create(&tx, &o) != HS_OK || hs_mqtt_connect(tx) != HS_OK) {
        fprintf(stderr, "cannot connect to %s\n", url);
        return 2;
    }
    long nbatches = (count + batch - 1) / batch;
    int64_t *sent_at = calloc((size_t)nbatches, sizeof *sent_at);
    int64_t *lat = calloc((size_t)count, sizeof *lat);
    long seen = 0;
    hs_buf p;
    hs_buf_init(&p, 0);
    hs_batch in;
    hs_batch_init(&in);
    int64_t start = hs_time_mono_us();
    long i = 0;
    for (long b = 0; b < nbatches; b++) {
        hs_buf_reset(&p);
        long n = count - i < batch ? count - i : batch;
        if (json) {
            char iso[HS_TIME_ISO_MAX];
            hs_time_format_iso(t0 + i * 1000, iso);
            hs_buf_printf(&p, "{\"t\":\"%s\",\"v\":%ld}", iso, i);
        } else {
            hs_mp_put_array(&p, (uint32_t)n);
            for (long k = 0; k < n; k++) {
                hs_mp_put_array(&p, 2);
                hs_mp_put_int(&p, t0 + (i + k) * 1000);
                hs_mp_put_double(&p, (double)(i + k));
            }
        }
        sent_at[b] = hs_time_mono_us();
        if (hs_mqtt_publish(tx, raw, p.data, p.len, qos, false, -1) != HS_OK) {
            fprintf(stderr, "publish failed: %s\n", hs_err_detail());
            return 2;
        }
        i += n;
        /* Drain arrivals as we go so that the subscriber's queue stays small. */
        hs_mqtt_msg *m;
        while (hs_mqtt_recv(rx, &m, 0) == HS_OK) {
            int64_t now = hs_time_mono_us();
            if (hs_codec_decode_payload(m->payload, m->len, 0, &in) == HS_OK)
                for (size_t k = 0; k < in.n && seen < count; k++) {
                    long idx = (long)((in.items[k].t_us - t0) / 1000);
                    if (idx >= 0 && idx < count)
                        lat[seen++] = now - sent_at[idx / batch];
                }
            hs_mqtt_msg_free(m);
        }
    }
    (void)hs_mqtt_flush(tx, 60000);
    int64_t published = hs_time_mono_us();
    int64_t last = published;
    while (seen < count) {
        hs_mqtt_msg *m;
        if (hs_mqtt_recv(rx, &m, 20000) != HS_OK)
            break;
        int64_t now = hs_time_mono_us();
        if (hs_codec_decode_payload(m->payload, m->len, 0, &in) == HS_OK)
            for (size_t k = 0; k < in.n && seen < count; k++) {
                long idx = (long)((in.items[k].t_us - t0) / 1000);
                if (idx >= 0 && idx < count)
                    lat[seen++] = now - sent_at[idx / batch];
            }
        last = now;
        hs_mqtt_msg_free(m);
    }
    double pub_s = (double)(published - start) / 1e6, e2e_s = (double)(last - start) / 1e6;
    qsort(lat, (size_t)seen, sizeof *lat, cmp_i64);
    printf("%-10s %s%s batch %-4ld qos %d: published %ld in %.2fs (%.0f inst/s, %.0f msg/s); "
           "seen %ld end to end in %.2fs = %.0f inst/s; latency p50 %.1f ms p99 %.1f ms max "
           "%.1f ms\n",
           watch, json ? "json" : "msgpack", "", batch, qos, count, pub_s, (double)count / pub_s,
           (double)nbatches / pub_s, seen, e2e_s, (double)seen / e2e_s,
           seen ? (double)lat[seen / 2] / 1000 : 0, seen ? (double)lat[seen * 99 / 100] / 1000 : 0,
           seen ? (double)lat[seen - 1] / 1000 : 0);
    hs_mqtt_destroy(tx);
    hs_mqtt_destroy(rx);
    hs_buf_free(&p);
    hs_batch_free(&in);
    free(sent_at);
    free(lat);
    return seen == count ? 0 : 1;
}
