#include "hs_metrics.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_time.h"

#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct hs_metrics {
    char kind[32];
    char *id; /* owned */
    int64_t started_us;
    hs_metrics_probe_fn probe; /* may be NULL */
    void *probe_ctx;           /* borrowed */
    hs_metrics_counters counters;
    _Atomic uint64_t lat[HS_METRICS_BUCKETS];
    _Atomic uint64_t lat_count, lat_sum_us; /* since the start */
    /* The last interval, written by hs_metrics_update; all guarded by mu. */
    pthread_mutex_t mu;
    uint64_t lat_prev[HS_METRICS_BUCKETS]; /* bucket counts at the last update */
    double rate[4];                        /* msgs in, out, instances in, out per second */
    uint64_t last_cnt[4];                  /* the same counters at the last rate update */
    int64_t last_rate_mono_us;
    double p50_ms, p95_ms, p99_ms;
    uint64_t window_count;
    hs_buf json;             /* the last JSON object */
    struct MHD_Daemon *http; /* the endpoint, or NULL */
};

/* ------------------------------------------------------------------ histogram */

unsigned hs_metrics_bucket(int64_t us)
{
    if (us < 4)
        return us < 0 ? 0 : (unsigned)us;
    unsigned lg = 63u - (unsigned)__builtin_clzll((unsigned long long)us);
    unsigned sub = (unsigned)((us >> (lg - 2)) & 3);
    unsigned b = 4 * (lg - 1) + sub;
    return b < HS_METRICS_BUCKETS ? b : HS_METRICS_BUCKETS - 1;
}

double hs_metrics_bucket_mid_us(unsigned bucket)
{
    if (bucket < 4)
        return bucket;
    /* [2^k (1 + s/4), 2^k (1 + (s+1)/4)): a quarter of 2^k wide. */
    unsigned lg = bucket / 4 + 1, sub = bucket % 4;
    double lo = (double)(1ULL << lg) * (1.0 + sub / 4.0);
    return lo + (double)(1ULL << lg) / 8.0;
}

double hs_metrics_quantile_us(const uint64_t *counts, size_t n, double q)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += counts[i];
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total + 0.5), acc = 0;
    if (want == 0)
        want = 1;
    for (size_t i = 0; i < n; i++) {
        acc += counts[i];
        if (acc >= want)
            return hs_metrics_bucket_mid_us((unsigned)i);
    }
    return hs_metrics_bucket_mid_us((unsigned)(n - 1));
}

/* ------------------------------------------------------------------ rendering */

int hs_metrics_render_json(const hs_metrics_snapshot *s, hs_buf *out)
{
    int rc = hs_buf_puts(out, "{\"id\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(out, s->id, strlen(s->id));
    if (rc == HS_OK)
        rc = hs_buf_printf(
            out,
            ",\"service\":\"%s\",\"version\":\"%s\",\"t\":%lld,\"uptime_s\":%.1f,\"state\":\"%s\","
            "\"msgs_in\":%llu,\"msgs_out\":%llu,\"instances_in\":%llu,\"instances_out\":%llu,"
            "\"msgs_in_per_s\":%.1f,\"msgs_out_per_s\":%.1f,\"instances_in_per_s\":%.1f,"
            "\"instances_out_per_s\":%.1f,\"errors\":%llu,\"dead_lettered\":%llu,\"backlog\":%llu,"
            "\"late_reopened\":%llu,\"late_ignored\":%llu,\"purged\":%llu,"
            "\"schema_rejected\":%llu,"
            "\"latency_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"count\":%llu},"
            "\"rx_queued\":%zu,\"inflight\":%d,\"reconnects\":%llu,\"rss_kb\":%lld,\"cpu_s\":%.3f}",
            s->kind, s->version, (long long)s->t_us, s->uptime_s, s->paused ? "paused" : "online",
            (unsigned long long)s->msgs_in, (unsigned long long)s->msgs_out,
            (unsigned long long)s->instances_in, (unsigned long long)s->instances_out,
            s->msgs_in_per_s, s->msgs_out_per_s, s->instances_in_per_s, s->instances_out_per_s,
            (unsigned long long)s->errors, (unsigned long long)s->dead_lettered,
            (unsigned long long)s->backlog, (unsigned long long)s->late_reopened,
            (unsigned long long)s->late_ignored, (unsigned long long)s->purged,
            (unsigned long long)s->schema_rejected, s->p50_ms, s->p95_ms, s->p99_ms,
            (unsigned long long)s->window_count, s->rx_queued, s->inflight,
            (unsigned long long)s->reconnects, (long long)s->rss_kb, s->cpu_s);
    return rc;
}

/* ------------------------------------------------------------------ decoding */

/* How a member of the metrics object is read. */
typedef enum hs__mk_type {
    HS__MK_STR,   /* non-empty text into a const char * */
    HS__MK_STATE, /* online | paused into bool paused */
    HS__MK_I64,   /* integer */
    HS__MK_U64,   /* non-negative integer */
    HS__MK_SIZE,  /* non-negative integer into size_t */
    HS__MK_INT,   /* non-negative integer into int */
    HS__MK_NUM,   /* non-negative number */
    HS__MK_LAT,   /* the latency_ms object */
} hs__mk_type;

typedef struct hs__mkey {
    const char *name;
    hs__mk_type type;
    size_t off; /* in hs_metrics_snapshot */
} hs__mkey;

#define HS__MK(name, type, field)                                                                  \
    {                                                                                              \
        name, type, offsetof(hs_metrics_snapshot, field)                                           \
    }

static const hs__mkey hs__metrics_keys[] = {
    HS__MK("id", HS__MK_STR, id),
    HS__MK("service", HS__MK_STR, kind),
    HS__MK("version", HS__MK_STR, version),
    HS__MK("t", HS__MK_I64, t_us),
    HS__MK("uptime_s", HS__MK_NUM, uptime_s),
    HS__MK("state", HS__MK_STATE, paused),
    HS__MK("msgs_in", HS__MK_U64, msgs_in),
    HS__MK("msgs_out", HS__MK_U64, msgs_out),
    HS__MK("instances_in", HS__MK_U64, instances_in),
    HS__MK("instances_out", HS__MK_U64, instances_out),
    HS__MK("msgs_in_per_s", HS__MK_NUM, msgs_in_per_s),
    HS__MK("msgs_out_per_s", HS__MK_NUM, msgs_out_per_s),
    HS__MK("instances_in_per_s", HS__MK_NUM, instances_in_per_s),
    HS__MK("instances_out_per_s", HS__MK_NUM, instances_out_per_s),
    HS__MK("errors", HS__MK_U64, errors),
    HS__MK("dead_lettered", HS__MK_U64, dead_lettered),
    HS__MK("backlog", HS__MK_U64, backlog),
    HS__MK("late_reopened", HS__MK_U64, late_reopened),
    HS__MK("late_ignored", HS__MK_U64, late_ignored),
    HS__MK("purged", HS__MK_U64, purged),
    HS__MK("schema_rejected", HS__MK_U64, schema_rejected),
    HS__MK("latency_ms", HS__MK_LAT, p50_ms),
    HS__MK("rx_queued", HS__MK_SIZE, rx_queued),
    HS__MK("inflight", HS__MK_INT, inflight),
    HS__MK("reconnects", HS__MK_U64, reconnects),
    HS__MK("rss_kb", HS__MK_I64, rss_kb),
    HS__MK("cpu_s", HS__MK_NUM, cpu_s),
};

#define HS__METRICS_NKEYS (sizeof hs__metrics_keys / sizeof hs__metrics_keys[0])

static const hs__mkey hs__latency_keys[] = {
    HS__MK("p50", HS__MK_NUM, p50_ms),
    HS__MK("p95", HS__MK_NUM, p95_ms),
    HS__MK("p99", HS__MK_NUM, p99_ms),
    HS__MK("count", HS__MK_U64, window_count),
};

static int hs__metrics_bad(const char *key, const char *expect)
{
    return hs_err_set(HS_ERR_PARSE, "metrics: field '%s' is not %s", key, expect);
}

static int hs__metrics_map(hs_mp_reader *rd, hs_metrics_msg *m, const hs__mkey *keys, size_t nkeys,
                           const char *what);

/* Reads the value of one member into the snapshot. */
static int hs__metrics_member(hs_mp_reader *rd, hs_metrics_msg *m, const hs__mkey *k)
{
    char *field = (char *)&m->s + k->off;
    const char *str;
    uint32_t sl;
    uint64_t u;
    int64_t i;
    double d;
    switch (k->type) {
    case HS__MK_STR: {
        if (hs_mp_get_str(rd, &str, &sl) != HS_OK || sl == 0 || memchr(str, '\0', sl) != NULL)
            return hs__metrics_bad(k->name, "a non-empty string");
        char *c = hs_arena_strndup(&m->arena, str, sl);
        if (c == NULL)
            return hs_err_set(HS_ERR_NOMEM, "out of memory decoding metrics");
        memcpy(field, &c, sizeof c);
        return HS_OK;
    }
    case HS__MK_STATE:
        if (hs_mp_get_str(rd, &str, &sl) != HS_OK || !((sl == 6 && memcmp(str, "online", 6) == 0) ||
                                                       (sl == 6 && memcmp(str, "paused", 6) == 0)))
            return hs__metrics_bad(k->name, "online or paused");
        m->s.paused = str[0] == 'p';
        return HS_OK;
    case HS__MK_I64:
        if (hs_mp_get_int(rd, &i) != HS_OK ||
            (k->off == offsetof(hs_metrics_snapshot, rss_kb) && i < 0))
            return hs__metrics_bad(k->name, "an integer in range");
        memcpy(field, &i, sizeof i);
        return HS_OK;
    case HS__MK_U64:
        if (hs_mp_get_uint(rd, &u) != HS_OK)
            return hs__metrics_bad(k->name, "a non-negative integer");
        memcpy(field, &u, sizeof u);
        return HS_OK;
    case HS__MK_SIZE: {
        if (hs_mp_get_uint(rd, &u) != HS_OK || u > SIZE_MAX)
            return hs__metrics_bad(k->name, "a non-negative integer");
        size_t z = (size_t)u;
        memcpy(field, &z, sizeof z);
        return HS_OK;
    }
    case HS__MK_INT: {
        if (hs_mp_get_uint(rd, &u) != HS_OK || u > INT32_MAX)
            return hs__metrics_bad(k->name, "a non-negative integer");
        int v = (int)u;
        memcpy(field, &v, sizeof v);
        return HS_OK;
    }
    case HS__MK_NUM:
        if (hs_mp_get_number(rd, &d) != HS_OK || !(d >= 0) || d == HUGE_VAL)
            return hs__metrics_bad(k->name, "a non-negative number");
        memcpy(field, &d, sizeof d);
        return HS_OK;
    default:
        return hs__metrics_map(rd, m, hs__latency_keys, 4, "latency_ms");
    }
}

/* Reads a map whose members are exactly keys[] (what names it in errors). */
static int hs__metrics_map(hs_mp_reader *rd, hs_metrics_msg *m, const hs__mkey *keys, size_t nkeys,
                           const char *what)
{
    uint32_t n;
    uint64_t seen = 0;
    if (hs_mp_get_map(rd, &n) != HS_OK)
        return what != NULL ? hs__metrics_bad(what, "an object")
                            : hs_err_set(HS_ERR_PARSE, "metrics: not a JSON object");
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        uint32_t kl;
        if (hs_mp_get_str(rd, &k, &kl) != HS_OK)
            return hs_err_set(HS_ERR_PARSE, "metrics: a member name is not a string");
        size_t idx = nkeys;
        for (size_t j = 0; j < nkeys && idx == nkeys; j++)
            if (strlen(keys[j].name) == kl && memcmp(keys[j].name, k, kl) == 0)
                idx = j;
        if (idx == nkeys)
            return hs_err_set(HS_ERR_PARSE, "metrics: unknown field '%.*s'",
                              (int)(kl > 64 ? 64 : kl), k);
        if (seen & (UINT64_C(1) << idx))
            return hs_err_set(HS_ERR_PARSE, "metrics: field '%s' appears twice", keys[idx].name);
        seen |= UINT64_C(1) << idx;
        int rc = hs__metrics_member(rd, m, &keys[idx]);
        if (rc != HS_OK)
            return rc;
    }
    for (size_t j = 0; j < nkeys; j++)
        if (!(seen & (UINT64_C(1) << j)))
            return hs_err_set(HS_ERR_PARSE, "metrics: field '%s' is missing", keys[j].name);
    return HS_OK;
}

int hs_metrics_decode(hs_metrics_msg *m, const char *json, size_t len)
{
    memset(m, 0, sizeof *m);
    hs_arena_init(&m->arena, 1024, 0);
    hs_buf mp;
    hs_buf_init(&mp, 0);
    int rc = hs_json_to_mpack(json, len, &mp);
    if (rc != HS_OK)
        rc = hs_err_set(HS_ERR_PARSE, "metrics: not JSON: %s", hs_err_detail());
    if (rc == HS_OK) {
        hs_mp_reader rd;
        hs_mp_reader_init(&rd, mp.data, mp.len);
        rc = hs__metrics_map(&rd, m, hs__metrics_keys, HS__METRICS_NKEYS, NULL);
    }
    if (rc == HS_OK && !(m->s.p50_ms <= m->s.p95_ms && m->s.p95_ms <= m->s.p99_ms))
        rc = hs__metrics_bad("latency_ms", "ordered (p50 <= p95 <= p99)");
    hs_buf_free(&mp);
    return rc;
}

void hs_metrics_msg_free(hs_metrics_msg *m)
{
    if (m == NULL)
        return;
    hs_arena_free(&m->arena);
    memset(&m->s, 0, sizeof m->s);
}

/* Appends a label value with '\\', '"' and newlines escaped (exposition format 0.0.4). */
static int hs__metrics_put_label(hs_buf *out, const char *v)
{
    int rc = HS_OK;
    for (; rc == HS_OK && *v != '\0'; v++) {
        if (*v == '\\')
            rc = hs_buf_puts(out, "\\\\");
        else if (*v == '"')
            rc = hs_buf_puts(out, "\\\"");
        else if (*v == '\n')
            rc = hs_buf_puts(out, "\\n");
        else
            rc = hs_buf_putc(out, (uint8_t)*v);
    }
    return rc;
}

int hs_metrics_render_prom(const hs_metrics_snapshot *s, hs_buf *out)
{
    hs_buf lb;
    hs_buf_init(&lb, 0);
    int rc = hs_buf_puts(&lb, "service=\"");
    if (rc == HS_OK)
        rc = hs__metrics_put_label(&lb, s->kind);
    if (rc == HS_OK)
        rc = hs_buf_puts(&lb, "\",id=\"");
    if (rc == HS_OK)
        rc = hs__metrics_put_label(&lb, s->id);
    if (rc == HS_OK)
        rc = hs_buf_putc(&lb, '"');
    const char *labels = rc == HS_OK ? hs_buf_cstr(&lb) : "";
    const struct {
        const char *name, *type, *help;
        double v;
    } m[] = {
        {"hs_up", "gauge", "1 while the service runs", 1},
        {"hs_paused", "gauge", "1 while the service is paused", s->paused ? 1 : 0},
        {"hs_messages_in_total", "counter", "Messages received", (double)s->msgs_in},
        {"hs_messages_out_total", "counter", "Messages sent", (double)s->msgs_out},
        {"hs_instances_in_total", "counter", "Instances received", (double)s->instances_in},
        {"hs_instances_out_total", "counter", "Instances sent or stored", (double)s->instances_out},
        {"hs_errors_total", "counter", "Errors", (double)s->errors},
        {"hs_dead_lettered_total", "counter", "Inputs rejected to the dead-letter topic",
         (double)s->dead_lettered},
        {"hs_backlog", "gauge", "Work waiting", (double)s->backlog},
        {"hs_late_reopened_total", "counter",
         "Calculated intervals reopened by late data or invalidation", (double)s->late_reopened},
        {"hs_late_ignored_total", "counter",
         "Instances older than max_lateness: stored, reopening nothing", (double)s->late_ignored},
        {"hs_purged_total", "counter", "Instances deleted by purges and retention",
         (double)s->purged},
        {"hs_schema_rejected_total", "counter",
         "Readings that failed an input schema: dead-lettered, not stored",
         (double)s->schema_rejected},
        {"hs_resident_memory_bytes", "gauge", "Resident set size", (double)s->rss_kb * 1024},
        {"hs_cpu_seconds_total", "counter", "CPU time used", s->cpu_s},
        {"hs_uptime_seconds", "gauge", "Seconds since the start", s->uptime_s},
    };
    for (size_t i = 0; rc == HS_OK && i < sizeof m / sizeof m[0]; i++)
        rc = hs_buf_printf(out, "# HELP %s %s.\n# TYPE %s %s\n%s{%s} %.17g\n", m[i].name, m[i].help,
                           m[i].name, m[i].type, m[i].name, labels, m[i].v);
    if (rc == HS_OK)
        rc = hs_buf_printf(
            out,
            "# HELP hs_latency_seconds Latency of the service's unit of work (quantiles "
            "over the last metrics interval).\n# TYPE hs_latency_seconds summary\n"
            "hs_latency_seconds{%s,quantile=\"0.5\"} %.9g\n"
            "hs_latency_seconds{%s,quantile=\"0.95\"} %.9g\n"
            "hs_latency_seconds{%s,quantile=\"0.99\"} %.9g\n"
            "hs_latency_seconds_sum{%s} %.9g\nhs_latency_seconds_count{%s} %llu\n",
            labels, s->p50_ms / 1000, labels, s->p95_ms / 1000, labels, s->p99_ms / 1000, labels,
            (double)s->lat_sum_us / 1e6, labels, (unsigned long long)s->lat_count);
    if (rc == HS_OK)
        rc = hs_buf_printf(out,
                           "# HELP hs_instances_in_per_second Instances received per second over "
                           "the last metrics interval.\n# TYPE hs_instances_in_per_second gauge\n"
                           "hs_instances_in_per_second{%s} %.6g\n",
                           labels, s->instances_in_per_s);
    hs_buf_free(&lb);
    return rc;
}

/* ------------------------------------------------------------------ the object */

int hs_metrics_create(hs_metrics **out, const char *kind, const char *id, int64_t started_us,
                      hs_metrics_probe_fn probe, void *probe_ctx)
{
    *out = NULL;
    hs_metrics *m = hs_calloc(1, sizeof *m);
    if (m == NULL)
        return HS_ERR_NOMEM;
    m->id = hs_strdup(id);
    if (m->id == NULL) {
        hs_free(m);
        return HS_ERR_NOMEM;
    }
    snprintf(m->kind, sizeof m->kind, "%s", kind);
    m->started_us = started_us;
    m->probe = probe;
    m->probe_ctx = probe_ctx;
    m->last_rate_mono_us = hs_time_mono_us();
    hs_buf_init(&m->json, 0);
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return HS_OK;
}

void hs_metrics_destroy(hs_metrics *m)
{
    if (m == NULL)
        return;
    if (m->http != NULL)
        MHD_stop_daemon(m->http);
    pthread_mutex_destroy(&m->mu);
    hs_buf_free(&m->json);
    hs_free(m->id);
    hs_free(m);
}

hs_metrics_counters *hs_metrics_counters_get(hs_metrics *m)
{
    return &m->counters;
}

void hs_metrics_observe_us(hs_metrics *m, int64_t us)
{
    atomic_fetch_add_explicit(&m->lat[hs_metrics_bucket(us)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->lat_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->lat_sum_us, us > 0 ? (uint64_t)us : 0, memory_order_relaxed);
}

static long hs__metrics_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static double hs__metrics_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Fills the live part of a snapshot; the interval part is the caller's (under mu). */
static void hs__metrics_live(hs_metrics *m, hs_metrics_snapshot *s)
{
    hs_metrics_probe p;
    memset(&p, 0, sizeof p);
    if (m->probe != NULL)
        m->probe(m->probe_ctx, &p);
    hs_metrics_counters *c = &m->counters;
    int64_t now_us = hs_time_now_us();
    s->kind = m->kind;
    s->id = m->id;
    s->version = HS_VERSION;
    s->t_us = now_us;
    s->uptime_s = (double)(now_us - m->started_us) / 1e6;
    s->paused = p.paused;
    s->msgs_in = c->msgs_in;
    s->msgs_out = c->msgs_out;
    s->instances_in = c->instances_in;
    s->instances_out = c->instances_out;
    s->errors = c->errors;
    s->dead_lettered = c->dead_lettered;
    s->backlog = c->backlog;
    s->late_reopened = c->late_reopened;
    s->purged = c->purged;
    s->late_ignored = c->late_ignored;
    s->schema_rejected = c->schema_rejected;
    s->lat_count = atomic_load_explicit(&m->lat_count, memory_order_relaxed);
    s->lat_sum_us = atomic_load_explicit(&m->lat_sum_us, memory_order_relaxed);
    s->rx_queued = p.rx_queued;
    s->inflight = p.inflight;
    s->reconnects = p.reconnects;
    s->rss_kb = hs__metrics_rss_kb();
    s->cpu_s = hs__metrics_cpu_s();
}

/* Copies the values of the last interval into a snapshot; mu is held. */
static void hs__metrics_interval(const hs_metrics *m, hs_metrics_snapshot *s)
{
    s->msgs_in_per_s = m->rate[0];
    s->msgs_out_per_s = m->rate[1];
    s->instances_in_per_s = m->rate[2];
    s->instances_out_per_s = m->rate[3];
    s->p50_ms = m->p50_ms;
    s->p95_ms = m->p95_ms;
    s->p99_ms = m->p99_ms;
    s->window_count = m->window_count;
}

int hs_metrics_update(hs_metrics *m)
{
    /* The service thread (tick) and the control thread (stats) both come here. */
    pthread_mutex_lock(&m->mu);
    hs_metrics_snapshot s;
    hs__metrics_live(m, &s);
    uint64_t window[HS_METRICS_BUCKETS], total = 0;
    for (unsigned i = 0; i < HS_METRICS_BUCKETS; i++) {
        uint64_t v = atomic_load_explicit(&m->lat[i], memory_order_relaxed);
        window[i] = v - m->lat_prev[i];
        m->lat_prev[i] = v;
        total += window[i];
    }
    m->p50_ms = hs_metrics_quantile_us(window, HS_METRICS_BUCKETS, 0.50) / 1000.0;
    m->p95_ms = hs_metrics_quantile_us(window, HS_METRICS_BUCKETS, 0.95) / 1000.0;
    m->p99_ms = hs_metrics_quantile_us(window, HS_METRICS_BUCKETS, 0.99) / 1000.0;
    m->window_count = total;
    int64_t now = hs_time_mono_us();
    double dt = (double)(now - m->last_rate_mono_us) / 1e6;
    if (dt > 0.05) {
        uint64_t cnt[4] = {s.msgs_in, s.msgs_out, s.instances_in, s.instances_out};
        for (int i = 0; i < 4; i++)
            m->rate[i] = (double)(cnt[i] - m->last_cnt[i]) / dt;
        memcpy(m->last_cnt, cnt, sizeof cnt);
        m->last_rate_mono_us = now;
    }
    hs__metrics_interval(m, &s);
    hs_buf_reset(&m->json);
    int rc = hs_metrics_render_json(&s, &m->json);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int hs_metrics_json(hs_metrics *m, hs_buf *out)
{
    pthread_mutex_lock(&m->mu);
    int rc = m->json.len > 0 ? hs_buf_append(out, m->json.data, m->json.len) : HS_OK;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void hs_metrics_snapshot_now(hs_metrics *m, hs_metrics_snapshot *s)
{
    hs__metrics_live(m, s);
    pthread_mutex_lock(&m->mu);
    hs__metrics_interval(m, s);
    pthread_mutex_unlock(&m->mu);
}

/* ------------------------------------------------------------------ HTTP */

static enum MHD_Result hs__metrics_http(void *cls, struct MHD_Connection *conn, const char *url,
                                        const char *method, const char *version, const char *upload,
                                        size_t *upload_len, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)con_cls;
    hs_metrics *m = cls;
    hs_buf b;
    hs_buf_init(&b, 0);
    unsigned status = MHD_HTTP_OK;
    int rc;
    if (strcmp(method, "GET") != 0) {
        rc = hs_buf_puts(&b, "only GET\n");
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics") == 0) {
        hs_metrics_snapshot s;
        hs_metrics_snapshot_now(m, &s);
        rc = hs_metrics_render_prom(&s, &b);
    } else {
        rc = hs_buf_puts(&b, "see /metrics\n");
        status = MHD_HTTP_NOT_FOUND;
    }
    if (rc != HS_OK) {
        hs_buf_free(&b);
        return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
    hs_buf_free(&b);
    if (r == NULL)
        return MHD_NO;
    enum MHD_Result ret = MHD_NO;
    if (MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8") ==
        MHD_YES)
        ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

int hs_metrics_http_start(hs_metrics *m, const char *bind, uint16_t port)
{
    if (m->http != NULL)
        return hs_err_set(HS_ERR_STATE, "the metrics endpoint runs already");
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    const struct sockaddr *addr;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;
    if (bind != NULL && inet_pton(AF_INET, bind, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons(port);
        addr = (const struct sockaddr *)&a4;
    } else if (bind != NULL && inet_pton(AF_INET6, bind, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(port);
        addr = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        return hs_err_set(HS_ERR_INVAL, "metrics address '%s' is not an IPv4 or IPv6 address",
                          bind != NULL ? bind : "");
    }
    m->http = MHD_start_daemon(flags, port, NULL, NULL, hs__metrics_http, m, MHD_OPTION_SOCK_ADDR,
                               addr, MHD_OPTION_END);
    if (m->http == NULL)
        return hs_err_set(HS_ERR_IO, "cannot serve metrics on %s port %u (in use?)", bind,
                          (unsigned)port);
    return HS_OK;
}
