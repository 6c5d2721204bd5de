/*
 * Throughput of hs_mqtt between two clients through a private Mosquitto on
 * loopback: messages per second at QoS 0 and 1 for several payload sizes,
 * and whether large payloads stall (Paho 1.3.11 is known to stop for about
 * a second when a socket's send buffer fills).
 *
 * By default the subscriber runs in a child process, as two services would;
 * with --same-process a second table measures publisher and subscriber in
 * one process, where they share Paho's threads. Each figure is the median
 * of several runs (default 3: the machine is shared and noisy).
 *
 *   bench_mqtt [--runs N] [--scale F] [--same-process]
 *
 * Columns: pub/s = messages handed to hs_mqtt per second until the final
 * flush returned; e2e/s = messages received per second from the first
 * publish to the last reception; recv = messages received of those sent;
 * gap = the longest pause between two receptions; call = the longest single
 * hs_mqtt_publish call. A gap or call near 1000 ms is a stall.
 */
#include "hs_error.h"
#include "hs_mqtt.h"
#include "hs_test_broker.h"
#include "hs_time.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define IDLE_MS 3000 /* the receiver gives up after this long without a message */

typedef struct scenario {
    int qos;
    size_t size;
    int count;
} scenario;

static const scenario scenarios[] = {
    {0, 32, 100000},  {1, 32, 50000},   {0, 1024, 20000}, {1, 1024, 20000},
    {0, 2048, 20000}, {1, 2048, 20000}, {0, 4096, 20000}, {1, 4096, 20000},
    {0, 16384, 3000}, {1, 16384, 3000}, {0, 65536, 1000}, {1, 65536, 1000},
};
#define NSCEN (sizeof scenarios / sizeof scenarios[0])

/* What the receiver saw of one run. */
typedef struct rx_result {
    long received;
    int64_t first_us, last_us; /* monotonic (CLOCK_MONOTONIC is shared by processes) */
    int64_t max_gap_us;
    long out_of_order;
} rx_result;

typedef struct run_result {
    double pub_rate, e2e_rate;
    long received;
    double max_gap_ms, max_call_ms;
} run_result;

/* Receives count messages of topic (others are skipped) or until IDLE_MS pass without one. */
static void receive_run(hs_mqtt *sub, const char *topic, long count, rx_result *r)
{
    memset(r, 0, sizeof *r);
    int64_t prev = 0;
    uint64_t expect = 0;
    while (r->received < count) {
        hs_mqtt_msg *msg;
        if (hs_mqtt_recv(sub, &msg, IDLE_MS) != HS_OK)
            break;
        int64_t now = hs_time_mono_us();
        if (strcmp(msg->topic, topic) == 0) {
            if (r->received == 0)
                r->first_us = now;
            else if (now - prev > r->max_gap_us)
                r->max_gap_us = now - prev;
            prev = now;
            r->last_us = now;
            uint64_t seq = 0;
            if (msg->len >= sizeof seq)
                memcpy(&seq, msg->payload, sizeof seq);
            if (seq != expect)
                r->out_of_order++;
            expect = seq + 1;
            r->received++;
        }
        hs_mqtt_msg_free(msg);
    }
}

/* Publishes one scenario; returns the end time of the final flush and the longest call. */
static int publish_run(hs_mqtt *pub, const char *topic, const scenario *sc, int64_t *t0,
                       int64_t *t_end, int64_t *max_call_us)
{
    uint8_t *payload = calloc(1, sc->size);
    if (payload == NULL)
        return HS_ERR_NOMEM;
    *max_call_us = 0;
    *t0 = hs_time_mono_us();
    int rc = HS_OK;
    for (uint64_t i = 0; i < (uint64_t)sc->count && rc == HS_OK; i++) {
        memcpy(payload, &i, sizeof i);
        int64_t a = hs_time_mono_us();
        rc = hs_mqtt_publish(pub, topic, payload, sc->size, sc->qos, false, 30000);
        int64_t d = hs_time_mono_us() - a;
        if (d > *max_call_us)
            *max_call_us = d;
    }
    if (rc == HS_OK)
        rc = hs_mqtt_flush(pub, 60000);
    *t_end = hs_time_mono_us();
    free(payload);
    return rc;
}

static void fill_result(run_result *out, const scenario *sc, int64_t t0, int64_t t_end,
                        int64_t max_call_us, const rx_result *rx)
{
    out->pub_rate = (double)sc->count * 1e6 / (double)(t_end - t0);
    out->e2e_rate = rx->received > 0 && rx->last_us > t0
                        ? (double)rx->received * 1e6 / (double)(rx->last_us - t0)
                        : 0.0;
    out->received = rx->received;
    out->max_gap_ms = (double)rx->max_gap_us / 1000.0;
    out->max_call_ms = (double)max_call_us / 1000.0;
}

/* ---- Subscriber in a child process -------------------------------------- */

/* The child: subscribes, then serves "topic count" requests from in, answering on out. */
static int child_main(const char *url, FILE *in, FILE *out)
{
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.url = url;
    o.client_id = "bench-sub";
    hs_mqtt *sub = NULL;
    if (hs_mqtt_create(&sub, &o) != HS_OK || hs_mqtt_subscribe(sub, "bench/#", 1) != HS_OK) {
        fprintf(out, "error %s\n", hs_err_detail());
        fflush(out);
        return 1;
    }
    fprintf(out, "ready\n");
    fflush(out);
    char line[256], topic[128];
    long count;
    while (fgets(line, sizeof line, in) != NULL) {
        if (sscanf(line, "%127s %ld", topic, &count) != 2)
            break;
        fprintf(out, "go\n");
        fflush(out);
        rx_result r;
        receive_run(sub, topic, count, &r);
        fprintf(out, "%ld %lld %lld %lld %ld\n", r.received, (long long)r.first_us,
                (long long)r.last_us, (long long)r.max_gap_us, r.out_of_order);
        fflush(out);
    }
    hs_mqtt_destroy(sub);
    return 0;
}

typedef struct child {
    pid_t pid;
    FILE *to, *from;
} child;

static int child_start(child *c, const char *url)
{
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0)
        return -1;
    c->pid = fork();
    if (c->pid < 0)
        return -1;
    if (c->pid == 0) {
        close(down[1]);
        close(up[0]);
        FILE *in = fdopen(down[0], "r"), *out = fdopen(up[1], "w");
        _exit(in && out ? child_main(url, in, out) : 2);
    }
    close(down[0]);
    close(up[1]);
    c->to = fdopen(down[1], "w");
    c->from = fdopen(up[0], "r");
    char line[512] = "";
    if (c->to == NULL || c->from == NULL || fgets(line, sizeof line, c->from) == NULL ||
        strcmp(line, "ready\n") != 0) {
        fprintf(stderr, "subscriber process failed: %s\n", line);
        if (c->to != NULL)
            fclose(c->to);
        if (c->from != NULL)
            fclose(c->from);
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        return -1;
    }
    return 0;
}

static int run_two_process(child *c, hs_mqtt *pub, const scenario *sc, int run, run_result *out)
{
    char topic[64], line[256];
    snprintf(topic, sizeof topic, "bench/%d/%zu/%d/%d", sc->qos, sc->size, sc->count, run);
    fprintf(c->to, "%s %d\n", topic, sc->count);
    fflush(c->to);
    if (fgets(line, sizeof line, c->from) == NULL || strcmp(line, "go\n") != 0)
        return -1;
    int64_t t0, t_end, max_call;
    int rc = publish_run(pub, topic, sc, &t0, &t_end, &max_call);
    if (rc != HS_OK)
        fprintf(stderr, "publish: %s: %s\n", hs_strerror(rc), hs_err_detail());
    rx_result rx;
    long long first, last, gap;
    if (fgets(line, sizeof line, c->from) == NULL ||
        sscanf(line, "%ld %lld %lld %lld %ld", &rx.received, &first, &last, &gap,
               &rx.out_of_order) != 5)
        return -1;
    rx.first_us = first;
    rx.last_us = last;
    rx.max_gap_us = gap;
    fill_result(out, sc, t0, t_end, max_call, &rx);
    return rc == HS_OK ? 0 : -1;
}

/* ---- Subscriber in a thread of this process ------------------------------ */

typedef struct thread_job {
    hs_mqtt *sub;
    const char *topic;
    long count;
    rx_result r;
} thread_job;

static void *receiver_thread(void *arg)
{
    thread_job *j = arg;
    receive_run(j->sub, j->topic, j->count, &j->r);
    return NULL;
}

static int run_same_process(hs_mqtt *sub, hs_mqtt *pub, const scenario *sc, int run,
                            run_result *out)
{
    char topic[64];
    snprintf(topic, sizeof topic, "bench/%d/%zu/%d/%d/same", sc->qos, sc->size, sc->count, run);
    thread_job j = {sub, topic, sc->count, {0}};
    pthread_t th;
    if (pthread_create(&th, NULL, receiver_thread, &j) != 0)
        return -1;
    int64_t t0, t_end, max_call;
    int rc = publish_run(pub, topic, sc, &t0, &t_end, &max_call);
    pthread_join(th, NULL);
    fill_result(out, sc, t0, t_end, max_call, &j.r);
    return rc == HS_OK ? 0 : -1;
}

/* ---- Reporting ------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static void report(const scenario *sc, const run_result *r, int runs)
{
    double pub[16], e2e[16], gap[16], call[16];
    long recv_min = sc->count;
    for (int i = 0; i < runs; i++) {
        pub[i] = r[i].pub_rate;
        e2e[i] = r[i].e2e_rate;
        gap[i] = r[i].max_gap_ms;
        call[i] = r[i].max_call_ms;
        if (r[i].received < recv_min)
            recv_min = r[i].received;
    }
    double worst_gap = 0, worst_call = 0;
    for (int i = 0; i < runs; i++) {
        worst_gap = gap[i] > worst_gap ? gap[i] : worst_gap;
        worst_call = call[i] > worst_call ? call[i] : worst_call;
    }
    printf("  QoS %d %6zu B %7d msgs | pub/s %8.0f | e2e/s %8.0f | recv(min) %7ld | gap med/max "
           "%6.1f/%6.1f ms | call med/max %6.1f/%6.1f ms\n",
           sc->qos, sc->size, sc->count, median(pub, runs), median(e2e, runs), recv_min,
           median(gap, runs), worst_gap, median(call, runs), worst_call);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int runs = 3;
    double scale = 1.0;
    bool same = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
            scale = atof(argv[++i]);
        else if (strcmp(argv[i], "--same-process") == 0)
            same = true;
        else {
            fprintf(stderr, "usage: bench_mqtt [--runs N] [--scale F] [--same-process]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 16 || scale <= 0) {
        fprintf(stderr, "runs must be 1..16, scale > 0\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    hs_test_broker b;
    if (hs_test_broker_start(&b, NULL) != 0)
        return 1;
    /* The subscriber process is forked before this process touches Paho. */
    child c;
    int status = 1;
    if (child_start(&c, b.url) != 0)
        goto out_broker;
    hs_mqtt_opts o;
    hs_mqtt_opts_init(&o);
    o.url = b.url;
    o.client_id = "bench-pub";
    hs_mqtt *pub = NULL;
    if (hs_mqtt_create(&pub, &o) != HS_OK || hs_mqtt_connect(pub) != HS_OK) {
        fprintf(stderr, "publisher: %s\n", hs_err_detail());
        goto out_child;
    }
    printf("hs_mqtt over Paho MQTTAsync, Mosquitto on loopback, window %d, median of %d runs\n",
           o.max_inflight, runs);
    printf("publisher and subscriber in two processes:\n");
    for (size_t s = 0; s < NSCEN; s++) {
        scenario sc = scenarios[s];
        sc.count = (int)(sc.count * scale) > 0 ? (int)(sc.count * scale) : 1;
        run_result r[16];
        for (int i = 0; i < runs; i++)
            if (run_two_process(&c, pub, &sc, i, &r[i]) != 0)
                fprintf(stderr, "run failed\n");
        report(&sc, r, runs);
    }
    if (same) {
        o.client_id = "bench-sub-local";
        hs_mqtt *sub = NULL;
        if (hs_mqtt_create(&sub, &o) != HS_OK || hs_mqtt_subscribe(sub, "bench/#", 1) != HS_OK) {
            fprintf(stderr, "subscriber: %s\n", hs_err_detail());
            hs_mqtt_destroy(sub);
            goto out_pub;
        }
        printf("publisher and subscriber in one process:\n");
        for (size_t s = 0; s < NSCEN; s++) {
            scenario sc = scenarios[s];
            sc.count = (int)(sc.count * scale) > 0 ? (int)(sc.count * scale) : 1;
            run_result r[16];
            for (int i = 0; i < runs; i++)
                if (run_same_process(sub, pub, &sc, i, &r[i]) != 0)
                    fprintf(stderr, "run failed\n");
            report(&sc, r, runs);
        }
        hs_mqtt_destroy(sub);
    }
    status = 0;
out_pub:
    hs_mqtt_destroy(pub);
out_child:
    fclose(c.to); /* the child ends on end of input */
    fclose(c.from);
    waitpid(c.pid, NULL, 0);
out_broker:
    hs_test_broker_stop(&b);
    return status;
}
