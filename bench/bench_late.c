/*
 * Load generator and meter for late data (bench/bench_late.sh drives it).
 *
 * Devices are the raw streams <base>/dev=<i> (i from 0), published to
 * hs/raw/<base>/dev=<i> as msgpack batches of [t_us, 1.0] at QoS 1. The
 * online workflow under test computes <sink>/dev=<i> from them. On-time and
 * history readings have even timestamps, late readings odd ones, so that a
 * late reading is never a duplicate of another reading and is recognised
 * where the writer publishes it.
 *
 *   bench_late history --url U --base B --devices N --from-s A --to-s Z [--step-ms 100]
 *       Publishes readings every step of (A, Z] to every device and waits
 *       until the writer committed all of them (seen on hs/s/B/#).
 *
 *   bench_late delay --url U --base B --sink S --devices N --rate R --late K
 *                    [--spacing-ms 500] [--warmup-s 6] [--width-s 1] [--min-age-s 60]
 *                    [--max-age-s 600] [--timeout-s 30]
 *       Live readings (R per second per device, stamped now) and, after the
 *       warm-up, K late readings one by one, every spacing on average
 *       (jittered so that they meet every phase of the workflow's period), each 1 to 10
 *       minutes old. For each late reading: its commit time (when it arrives
 *       on hs/s/B/dev=<i>) and the arrival of the first correction on
 *       hs/c/S/dev=<i> whose interval contains it. Prints the delay from
 *       commit to correction (p50, p99, max) and from publish to commit.
 *
 *   bench_late load --url U --base B --sink S --workflow W --devices N --rate R
 *                   --seconds D [--late-pct P] [--tick-ms 100] [--label L]
 *                   [--min-age-s 60] [--max-age-s 600]
 *       Paced load: N devices at R readings per second each for D seconds,
 *       a fraction P % of them late (1 to 10 minutes old). Counts readings
 *       committed (hs/s/B/#), jobs committed (hs/committed/W), results
 *       (hs/s/S/#) and corrections (hs/c/S/#) during the run; at the end,
 *       the lag of the workflow (now minus the oldest of the devices' latest
 *       result times; also its largest value sampled every 0.25 s over the
 *       second half of the run) and how long committing the rest took. Prints one
 *       line of key=value figures.
 *
 * Times are wall clock microseconds (timestamps) and monotonic
 * microseconds (measurements).
 */
#include "hs_alloc.h"
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

#define MAX_DEVICES 10000

typedef struct opts {
    const char *mode;
    const char *url;
    const char *base;     /* raw streams <base>/dev=<i> */
    const char *sink;     /* sink streams <sink>/dev=<i> */
    const char *workflow; /* for hs/committed/<workflow> */
    const char *label;
    long devices;
    double rate;     /* readings per second per device */
    long late;       /* delay: number of late readings */
    double late_pct; /* load: percentage of late readings */
    long spacing_ms; /* delay: between late readings */
    long warmup_s;   /* delay: live data before the first late reading */
    long width_s;    /* delay: the workflow's window width */
    long min_age_s;  /* age of a late reading: at least */
    long max_age_s;  /* and at most */
    long timeout_s;  /* how long results are waited for after the last publish */
    long seconds;    /* load: duration */
    long tick_ms;    /* load: publishing period */
    long step_ms;    /* history: between readings of a device */
    int64_t from_us; /* history: (from, to] */
    int64_t to_us;
} opts;

/* The bench's two connections and its scratch buffers. */
typedef struct bench {
    hs_mqtt *tx; /* owned */
    hs_mqtt *rx; /* owned */
    hs_buf pay;  /* owned: payload being built */
    hs_batch in; /* owned: decoded arrivals */
    uint64_t rng;
} bench;

static uint64_t rng_next(bench *b)
{
    /* xorshift64*: reproducible, good enough to pick ages and late readings. */
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return b->rng * 2685821657736338717ULL;
}

/* A uniform double in [0, 1). */
static double rng_unit(bench *b)
{
    return (double)(rng_next(b) >> 11) / 9007199254740992.0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The device index of a topic ending in "/dev=<i>", or -1. */
static long topic_device(const char *topic)
{
    const char *d = strstr(topic, "/dev=");
    if (d == NULL)
        return -1;
    char *end;
    long i = strtol(d + 5, &end, 10);
    return *end == '\0' && i >= 0 ? i : -1;
}

static int bench_open(bench *b, const opts *o)
{
    memset(b, 0, sizeof *b);
    hs_buf_init(&b->pay, 0);
    hs_batch_init(&b->in);
    b->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
    hs_mqtt_opts mo;
    hs_mqtt_opts_init(&mo);
    mo.url = o->url;
    mo.connect_timeout_ms = 5000;
    mo.max_inflight = 1000;
    mo.rx_queue_max = 1000000;
    mo.rx_queue_max_bytes = (size_t)1 << 30;
    char cid[64];
    snprintf(cid, sizeof cid, "bench-late-%d", (int)getpid());
    mo.client_id = cid;
    if (hs_mqtt_create(&b->tx, &mo) != HS_OK || hs_mqtt_connect(b->tx) != HS_OK) {
        fprintf(stderr, "bench_late: cannot connect to %s: %s\n", o->url, hs_err_detail());
        return -1;
    }
    snprintf(cid, sizeof cid, "bench-late-rx-%d", (int)getpid());
    if (hs_mqtt_create(&b->rx, &mo) != HS_OK) {
        fprintf(stderr, "bench_late: %s\n", hs_err_detail());
        return -1;
    }
    return 0;
}

static void bench_close(bench *b)
{
    if (b->tx != NULL)
        (void)hs_mqtt_flush(b->tx, 10000);
    hs_mqtt_destroy(b->tx);
    hs_mqtt_destroy(b->rx);
    hs_buf_free(&b->pay);
    hs_batch_free(&b->in);
}

/* Subscribes to <kind>/<name><tail> (kind "hs/s", tail "/#" or ""). */
static int subscribe(bench *b, const char *kind, const char *name, const char *tail)
{
    char filter[512];
    snprintf(filter, sizeof filter, "%s/%s%s", kind, name, tail);
    if (hs_mqtt_subscribe(b->rx, filter, 1) != HS_OK) {
        fprintf(stderr, "bench_late: cannot subscribe to %s: %s\n", filter, hs_err_detail());
        return -1;
    }
    return 0;
}

/* Publishes the n timestamps t[] of device dev as one msgpack batch of [t_us, 1.0]. */
static int publish_batch(bench *b, const opts *o, long dev, const int64_t *t, long n)
{
    if (n <= 0)
        return 0;
    char topic[512];
    snprintf(topic, sizeof topic, "hs/raw/%s/dev=%ld", o->base, dev);
    hs_buf_reset(&b->pay);
    int rc = hs_mp_put_array(&b->pay, (uint32_t)n);
    for (long k = 0; k < n && rc == HS_OK; k++) {
        rc = hs_mp_put_array(&b->pay, 2);
        if (rc == HS_OK)
            rc = hs_mp_put_int(&b->pay, t[k]);
        if (rc == HS_OK)
            rc = hs_mp_put_double(&b->pay, 1.0);
    }
    if (rc == HS_OK)
        rc = hs_mqtt_publish(b->tx, topic, b->pay.data, b->pay.len, 1, false, 30000);
    if (rc != HS_OK) {
        fprintf(stderr, "bench_late: publish to %s failed: %s\n", topic, hs_err_detail());
        return -1;
    }
    return 0;
}

/* A late timestamp: min_age to max_age seconds before now, odd. */
static int64_t late_time(bench *b, const opts *o, int64_t now_us)
{
    double age_s = (double)o->min_age_s + rng_unit(b) * (double)(o->max_age_s - o->min_age_s);
    int64_t t = now_us - (int64_t)(age_s * 1e6);
    return t | 1;
}

/* ------------------------------------------------------------------ history */

static int run_history(const opts *o)
{
    bench b;
    if (bench_open(&b, o) != 0 || subscribe(&b, "hs/s", o->base, "/#") != 0) {
        bench_close(&b);
        return 2;
    }
    int64_t step_us = o->step_ms * 1000;
    int64_t first = (o->from_us / step_us + 1) * step_us;
    long per_dev = first > o->to_us ? 0 : (long)((o->to_us - first) / step_us + 1);
    long total = per_dev * o->devices, seen = 0;
    int64_t *t = hs_calloc(1000, sizeof *t);
    int64_t start = hs_time_mono_us();
    int rc = t == NULL ? 2 : 0;
    for (long dev = 0; dev < o->devices && rc == 0; dev++)
        for (long k = 0; k < per_dev && rc == 0;) {
            long n = 0;
            for (; n < 1000 && k < per_dev; n++, k++)
                t[n] = first + k * step_us;
            if (publish_batch(&b, o, dev, t, n) != 0)
                rc = 2;
            hs_mqtt_msg *m;
            while (hs_mqtt_recv(b.rx, &m, 0) == HS_OK) {
                if (hs_codec_decode_mpack(m->payload, m->len, false, &b.in) == HS_OK)
                    seen += (long)b.in.n;
                hs_mqtt_msg_free(m);
            }
        }
    while (rc == 0 && seen < total) {
        hs_mqtt_msg *m;
        if (hs_mqtt_recv(b.rx, &m, 60000) != HS_OK)
            break;
        if (hs_codec_decode_mpack(m->payload, m->len, false, &b.in) == HS_OK)
            seen += (long)b.in.n;
        hs_mqtt_msg_free(m);
    }
    double secs = (double)(hs_time_mono_us() - start) / 1e6;
    printf("history: %ld devices x %ld readings = %ld published, %ld committed in %.2f s\n",
           o->devices, per_dev, total, seen, secs);
    free(t);
    bench_close(&b);
    return rc != 0 ? rc : seen >= total ? 0 : 1;
}

/* ------------------------------------------------------------------ delay */

/* One late reading followed from publish to commit to correction (monotonic us, 0: not yet). */
typedef struct late_rd {
    long dev;
    int64_t t_us;
    int64_t pub_mono, commit_mono, corr_mono;
    bool window_in_data; /* the correction holds the window that the reading changed */
} late_rd;

/*
 * Reads a correction {"interval": [s, e], "data": [[t, v], ...]} into *s,
 * *e and b->in (borrowing payload). -1 when it has another shape.
 */
static int read_correction(bench *b, const uint8_t *p, size_t len, int64_t *s, int64_t *e)
{
    hs_mp_field f[8];
    size_t n;
    if (hs_mp_map_index(p, len, f, 8, &n, NULL) != HS_OK)
        return -1;
    const hs_mp_field *iv = hs_mp_field_find(f, n, "interval");
    const hs_mp_field *data = hs_mp_field_find(f, n, "data");
    if (iv == NULL || data == NULL)
        return -1;
    hs_mp_reader r;
    uint32_t k;
    hs_mp_reader_init(&r, iv->val, iv->vlen);
    if (hs_mp_get_array(&r, &k) != HS_OK || k != 2 || hs_mp_get_int(&r, s) != HS_OK ||
        hs_mp_get_int(&r, e) != HS_OK)
        return -1;
    return hs_codec_decode_mpack(data->val, data->vlen, false, &b->in) == HS_OK ? 0 : -1;
}

/* Handles one arrival of the delay run: commits of late readings and corrections. */
static void delay_arrival(bench *b, const opts *o, hs_mqtt_msg *m, late_rd *lr, long nl,
                          int64_t now)
{
    long dev = topic_device(m->topic);
    if (dev < 0)
        return;
    char corr_prefix[300];
    snprintf(corr_prefix, sizeof corr_prefix, "hs/c/%s/", o->sink);
    if (strncmp(m->topic, corr_prefix, strlen(corr_prefix)) == 0) {
        int64_t s, e;
        if (read_correction(b, m->payload, m->len, &s, &e) != 0)
            return;
        int64_t width_us = o->width_s * HS_US_PER_S;
        for (long i = 0; i < nl; i++) {
            late_rd *x = &lr[i];
            if (x->dev != dev || x->commit_mono == 0 || x->corr_mono != 0 || x->t_us <= s ||
                x->t_us > e)
                continue;
            x->corr_mono = now;
            /* The window (E - width, E] holding t ends at E = t rounded up to the width. */
            int64_t win_end = (x->t_us / width_us + 1) * width_us;
            for (size_t k = 0; k < b->in.n; k++)
                if (b->in.items[k].t_us == win_end)
                    x->window_in_data = true;
        }
        return;
    }
    if (hs_codec_decode_mpack(m->payload, m->len, false, &b->in) != HS_OK)
        return;
    for (size_t k = 0; k < b->in.n; k++) {
        int64_t t = b->in.items[k].t_us;
        if ((t & 1) == 0)
            continue;
        for (long i = 0; i < nl; i++)
            if (lr[i].dev == dev && lr[i].t_us == t && lr[i].commit_mono == 0)
                lr[i].commit_mono = now;
    }
}

static double pct_ms(const int64_t *v, long n, long pct)
{
    if (n == 0)
        return 0;
    long i = n * pct / 100;
    return (double)v[i >= n ? n - 1 : i] / 1000.0;
}

static int run_delay(const opts *o)
{
    bench b;
    late_rd *lr = hs_calloc((size_t)o->late, sizeof *lr);
    int64_t *last_t = hs_calloc((size_t)o->devices, sizeof *last_t);
    double *sent = hs_calloc((size_t)o->devices, sizeof *sent);
    int64_t *d = hs_calloc((size_t)o->late + 1, sizeof *d);
    int64_t *t = hs_calloc(1000, sizeof *t);
    if (lr == NULL || last_t == NULL || sent == NULL || d == NULL || t == NULL) {
        fprintf(stderr, "bench_late: out of memory\n");
        return 2;
    }
    if (bench_open(&b, o) != 0 || subscribe(&b, "hs/s", o->base, "/#") != 0 ||
        subscribe(&b, "hs/c", o->sink, "/#") != 0) {
        bench_close(&b);
        return 2;
    }
    const int64_t tick_us = 50000;
    int64_t start = hs_time_mono_us(), next_tick = start;
    int64_t first_late = start + o->warmup_s * HS_US_PER_S, next_late = first_late;
    int64_t stop = 0; /* when the run ends: set once the last late reading is out */
    long nl = 0, resolved = 0;
    int rc = 0;
    while (rc == 0) {
        int64_t now = hs_time_mono_us();
        if (now >= next_tick) {
            /* Live readings, stamped now (even, increasing per device). */
            double due = o->rate * (double)(now - start) / 1e6;
            int64_t wall = hs_time_now_us();
            for (long dev = 0; dev < o->devices && rc == 0; dev++) {
                long n = 0;
                for (; sent[dev] < due && n < 1000; sent[dev] += 1.0, n++) {
                    int64_t ts = wall & ~(int64_t)1;
                    if (ts <= last_t[dev])
                        ts = last_t[dev] + 2;
                    t[n] = last_t[dev] = ts;
                }
                rc = publish_batch(&b, o, dev, t, n);
            }
            next_tick += tick_us;
        }
        if (rc == 0 && nl < o->late && now >= next_late) {
            late_rd *x = &lr[nl];
            x->dev = nl % o->devices;
            x->t_us = late_time(&b, o, hs_time_now_us());
            x->pub_mono = hs_time_mono_us();
            rc = publish_batch(&b, o, x->dev, &x->t_us, 1);
            nl++;
            /* Jittered (0.5 to 1.5 spacings), so that late readings do not keep one phase
             * of the workflow's period. */
            next_late += (int64_t)((double)o->spacing_ms * 1000 * (0.5 + rng_unit(&b)));
            if (nl == o->late)
                stop = now + o->timeout_s * HS_US_PER_S;
        }
        if (stop != 0 && (now >= stop || resolved == o->late))
            break;
        int64_t wait = next_tick - hs_time_mono_us();
        hs_mqtt_msg *m;
        if (hs_mqtt_recv(b.rx, &m, wait > 0 ? (int)(wait / 1000) : 0) == HS_OK) {
            delay_arrival(&b, o, m, lr, nl, hs_time_mono_us());
            hs_mqtt_msg_free(m);
            resolved = 0;
            for (long i = 0; i < nl; i++)
                resolved += lr[i].corr_mono != 0;
        }
    }
    long nd = 0, committed = 0, with_window = 0;
    for (long i = 0; i < nl; i++) {
        committed += lr[i].commit_mono != 0;
        with_window += lr[i].window_in_data;
        if (lr[i].corr_mono != 0)
            d[nd++] = lr[i].corr_mono - lr[i].commit_mono;
    }
    qsort(d, (size_t)nd, sizeof *d, cmp_i64);
    printf("delay: %ld late readings (%ld-%ld s old, one every %ld ms, %ld devices at %.0f/s): "
           "%ld committed, %ld corrected (%ld corrections hold the changed window)\n",
           nl, o->min_age_s, o->max_age_s, o->spacing_ms, o->devices, o->rate, committed, nd,
           with_window);
    if (nd > 0)
        printf("delay commit -> correction: p50 %.0f ms p99 %.0f ms max %.0f ms (over %ld)\n",
               pct_ms(d, nd, 50), pct_ms(d, nd, 99), (double)d[nd - 1] / 1000.0, nd);
    else
        printf("delay commit -> correction: no correction arrived\n");
    long nc = 0;
    for (long i = 0; i < nl; i++)
        if (lr[i].commit_mono != 0)
            d[nc++] = lr[i].commit_mono - lr[i].pub_mono;
    qsort(d, (size_t)nc, sizeof *d, cmp_i64);
    printf("delay publish -> commit: p50 %.0f ms p99 %.0f ms\n", pct_ms(d, nc, 50),
           pct_ms(d, nc, 99));
    bench_close(&b);
    free(lr);
    free(last_t);
    free(sent);
    free(d);
    free(t);
    return rc != 0 ? 2 : nd == nl ? 0 : 1;
}

/* ------------------------------------------------------------------ load */

/* What a load run counts. Counts are of the run's duration unless named _drain. */
typedef struct load_counts {
    long pub_ontime, pub_late;
    long committed_ontime, committed_late; /* readings seen on hs/s/<base> */
    long committed_drain;                  /* after the run's end */
    long jobs, jobs_recompute;             /* job commit notices; those that recomputed */
    long results, corrections, corr_instances;
    int64_t *last_result_us; /* per device: latest result time, owned */
    double lag_max_s;        /* largest lag sampled in the second half of the run */
} load_counts;

/* The workflow's lag: now minus the oldest of the devices' latest results; -1 before any. */
static double load_lag_s(const load_counts *c, long devices)
{
    int64_t oldest = INT64_MAX;
    for (long dev = 0; dev < devices; dev++)
        if (c->last_result_us[dev] < oldest)
            oldest = c->last_result_us[dev];
    return oldest <= 0 ? -1 : (double)(hs_time_now_us() - oldest) / 1e6;
}

/* Counts a job commit notice, and whether it recomputed (its "recompute" field, when present). */
static void count_job(load_counts *c, const hs_mqtt_msg *m)
{
    hs_mp_field f[24];
    size_t n;
    c->jobs++;
    if (hs_mp_map_index(m->payload, m->len, f, 24, &n, NULL) != HS_OK)
        return;
    bool rec;
    if (hs_mp_field_bool(f, n, "recompute", &rec) == HS_OK && rec)
        c->jobs_recompute++;
}

static void load_arrival(bench *b, const opts *o, load_counts *c, hs_mqtt_msg *m, bool in_run,
                         int64_t now_wall)
{
    char pre[300];
    snprintf(pre, sizeof pre, "hs/committed/%s", o->workflow);
    if (strcmp(m->topic, pre) == 0) {
        if (in_run)
            count_job(c, m);
        return;
    }
    long dev = topic_device(m->topic);
    if (dev < 0 || dev >= o->devices)
        return;
    snprintf(pre, sizeof pre, "hs/c/%s/", o->sink);
    if (strncmp(m->topic, pre, strlen(pre)) == 0) {
        int64_t s, e;
        if (read_correction(b, m->payload, m->len, &s, &e) == 0 && in_run) {
            c->corrections++;
            c->corr_instances += (long)b->in.n;
        }
        return;
    }
    if (hs_codec_decode_mpack(m->payload, m->len, false, &b->in) != HS_OK)
        return;
    snprintf(pre, sizeof pre, "hs/s/%s/", o->sink);
    if (strncmp(m->topic, pre, strlen(pre)) == 0) {
        for (size_t k = 0; k < b->in.n; k++)
            if (b->in.items[k].t_us > c->last_result_us[dev])
                c->last_result_us[dev] = b->in.items[k].t_us;
        if (in_run)
            c->results += (long)b->in.n;
        return;
    }
    for (size_t k = 0; k < b->in.n; k++) {
        /* Only readings of this run count: on time (even, recent) or late (odd). */
        int64_t t = b->in.items[k].t_us;
        bool late = (t & 1) != 0;
        if (!late && t < now_wall - 30 * HS_US_PER_S)
            continue;
        if (!in_run)
            c->committed_drain++;
        else if (late)
            c->committed_late++;
        else
            c->committed_ontime++;
    }
}

static int run_load(const opts *o)
{
    bench b;
    load_counts c;
    memset(&c, 0, sizeof c);
    c.last_result_us = hs_calloc((size_t)o->devices, sizeof *c.last_result_us);
    int64_t *last_t = hs_calloc((size_t)o->devices, sizeof *last_t);
    double *sent = hs_calloc((size_t)o->devices, sizeof *sent);
    int64_t *on = hs_calloc(100000, sizeof *on), *lt = hs_calloc(100000, sizeof *lt);
    if (c.last_result_us == NULL || last_t == NULL || sent == NULL || on == NULL || lt == NULL) {
        fprintf(stderr, "bench_late: out of memory\n");
        return 2;
    }
    if (bench_open(&b, o) != 0 || subscribe(&b, "hs/s", o->base, "/#") != 0 ||
        subscribe(&b, "hs/s", o->sink, "/#") != 0 || subscribe(&b, "hs/c", o->sink, "/#") != 0 ||
        subscribe(&b, "hs/committed", o->workflow, "") != 0) {
        bench_close(&b);
        return 2;
    }
    double p_late = o->late_pct / 100.0;
    int64_t tick_us = o->tick_ms * 1000;
    int64_t start = hs_time_mono_us(), next_tick = start;
    int64_t end = start + o->seconds * HS_US_PER_S, next_sample = start + (end - start) / 2;
    int rc = 0;
    hs_mqtt_msg *m;
    while (rc == 0) {
        int64_t now = hs_time_mono_us();
        if (now >= end)
            break;
        if (now >= next_sample) {
            double lag = load_lag_s(&c, o->devices);
            if (lag > c.lag_max_s)
                c.lag_max_s = lag;
            next_sample += HS_US_PER_S / 4;
        }
        if (now >= next_tick) {
            double due = o->rate * (double)(now - start) / 1e6;
            int64_t wall = hs_time_now_us();
            for (long dev = 0; dev < o->devices && rc == 0; dev++) {
                long non = 0, nlt = 0;
                long want = (long)(due - sent[dev]);
                if (want > 100000)
                    want = 100000;
                sent[dev] += (double)want;
                /* Spread the readings of this tick over the time since the last one. */
                int64_t span = (int64_t)(1e6 / o->rate);
                for (long k = 0; k < want; k++) {
                    if (p_late > 0 && rng_unit(&b) < p_late) {
                        lt[nlt++] = late_time(&b, o, wall);
                        continue;
                    }
                    int64_t ts = (wall - (want - 1 - k) * span) & ~(int64_t)1;
                    if (ts <= last_t[dev])
                        ts = last_t[dev] + 2;
                    on[non++] = last_t[dev] = ts;
                }
                c.pub_ontime += non;
                c.pub_late += nlt;
                rc = publish_batch(&b, o, dev, on, non);
                if (rc == 0)
                    rc = publish_batch(&b, o, dev, lt, nlt);
            }
            next_tick += tick_us;
            if (next_tick < now)
                next_tick = now; /* fell behind: no burst to catch up, the rate shows it */
        }
        while (hs_mqtt_recv(b.rx, &m, 0) == HS_OK) {
            load_arrival(&b, o, &c, m, true, hs_time_now_us());
            hs_mqtt_msg_free(m);
        }
        int64_t wait = next_tick - hs_time_mono_us();
        if (wait > 1000 && hs_mqtt_recv(b.rx, &m, (int)(wait / 1000)) == HS_OK) {
            load_arrival(&b, o, &c, m, true, hs_time_now_us());
            hs_mqtt_msg_free(m);
        }
    }
    int64_t run_end = hs_time_mono_us();
    double secs = (double)(run_end - start) / 1e6;
    double lag_s = load_lag_s(&c, o->devices);
    /* Drain: wait until every published reading is committed (up to timeout_s). */
    long published = c.pub_ontime + c.pub_late;
    int64_t drain_stop = run_end + o->timeout_s * HS_US_PER_S;
    while (c.committed_ontime + c.committed_late + c.committed_drain < published &&
           hs_time_mono_us() < drain_stop) {
        if (hs_mqtt_recv(b.rx, &m, 200) == HS_OK) {
            load_arrival(&b, o, &c, m, false, hs_time_now_us());
            hs_mqtt_msg_free(m);
        }
    }
    double drain_s = (double)(hs_time_mono_us() - run_end) / 1e6;
    long committed = c.committed_ontime + c.committed_late;
    printf("load label=%s devices=%ld rate=%.0f seconds=%.2f late_pct=%.2f published=%ld "
           "published_late=%ld published_per_s=%.0f committed_per_s=%.0f committed_late=%ld "
           "committed_after_end=%ld drain_s=%.2f jobs_per_s=%.1f "
           "recompute_jobs_per_s=%.1f results_per_s=%.1f corrections_per_s=%.1f "
           "corrected_instances_per_s=%.1f lag_end_s=%.2f lag_max_s=%.2f\n",
           o->label, o->devices, o->rate, secs, o->late_pct, published, c.pub_late,
           (double)published / secs, (double)committed / secs, c.committed_late, c.committed_drain,
           drain_s, (double)c.jobs / secs, (double)c.jobs_recompute / secs,
           (double)c.results / secs, (double)c.corrections / secs, (double)c.corr_instances / secs,
           lag_s, c.lag_max_s);
    bench_close(&b);
    free(c.last_result_us);
    free(last_t);
    free(sent);
    free(on);
    free(lt);
    if (rc != 0)
        return 2;
    return committed + c.committed_drain >= published ? 0 : 1;
}

/* ------------------------------------------------------------------ main */

static int parse(opts *o, int argc, char **argv)
{
    if (argc < 2)
        return -1;
    o->mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return -1;
        i++;
        if (!strcmp(k, "--url"))
            o->url = v;
        else if (!strcmp(k, "--base"))
            o->base = v;
        else if (!strcmp(k, "--sink"))
            o->sink = v;
        else if (!strcmp(k, "--workflow"))
            o->workflow = v;
        else if (!strcmp(k, "--label"))
            o->label = v;
        else if (!strcmp(k, "--devices"))
            o->devices = atol(v);
        else if (!strcmp(k, "--rate"))
            o->rate = atof(v);
        else if (!strcmp(k, "--late"))
            o->late = atol(v);
        else if (!strcmp(k, "--late-pct"))
            o->late_pct = atof(v);
        else if (!strcmp(k, "--spacing-ms"))
            o->spacing_ms = atol(v);
        else if (!strcmp(k, "--warmup-s"))
            o->warmup_s = atol(v);
        else if (!strcmp(k, "--width-s"))
            o->width_s = atol(v);
        else if (!strcmp(k, "--min-age-s"))
            o->min_age_s = atol(v);
        else if (!strcmp(k, "--max-age-s"))
            o->max_age_s = atol(v);
        else if (!strcmp(k, "--timeout-s"))
            o->timeout_s = atol(v);
        else if (!strcmp(k, "--seconds"))
            o->seconds = atol(v);
        else if (!strcmp(k, "--tick-ms"))
            o->tick_ms = atol(v);
        else if (!strcmp(k, "--step-ms"))
            o->step_ms = atol(v);
        else if (!strcmp(k, "--from-s"))
            o->from_us = atoll(v) * HS_US_PER_S;
        else if (!strcmp(k, "--to-s"))
            o->to_us = atoll(v) * HS_US_PER_S;
        else
            return -1;
    }
    bool ok = o->devices > 0 && o->devices <= MAX_DEVICES && o->rate > 0 && o->min_age_s > 0 &&
              o->max_age_s > o->min_age_s && o->spacing_ms > 0 && o->width_s > 0 &&
              o->tick_ms > 0 && o->step_ms > 0 && o->late >= 0 && o->late_pct >= 0 &&
              o->late_pct <= 100;
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    opts o = {
        .url = "tcp://127.0.0.1:1884",
        .base = "reading",
        .sink = "per_second",
        .workflow = "late",
        .label = "run",
        .devices = 4,
        .rate = 20,
        .late = 50,
        .spacing_ms = 500,
        .warmup_s = 6,
        .width_s = 1,
        .min_age_s = 60,
        .max_age_s = 600,
        .timeout_s = 30,
        .seconds = 20,
        .tick_ms = 100,
        .step_ms = 100,
    };
    if (parse(&o, argc, argv) != 0) {
        fprintf(stderr, "usage: see the comment at the top of bench/bench_late.c\n");
        return 2;
    }
    if (!strcmp(o.mode, "history"))
        return run_history(&o);
    if (!strcmp(o.mode, "delay"))
        return run_delay(&o);
    if (!strcmp(o.mode, "load"))
        return run_load(&o);
    fprintf(stderr, "bench_late: unknown mode %s\n", o.mode);
    return 2;
}
