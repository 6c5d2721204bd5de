/*
 * The writer's commit logic (wcore.h): batches of write requests applied in
 * one store transaction, and what each commit produced, as outputs.
 */
#include "wcore.h"

#include "hs_alloc.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_map.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_store.h"
#include "hs_streamid.h"
#include "hs_time.h"
#include "hs_value.h"
#include "hs_workflow.h"
#include "wdeps.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Request status in acknowledgements. */
enum {
    WS_OK = HS_ACK_OK,
    WS_REJECTED = HS_ACK_REJECTED, /* malformed or not allowed: not re-sent */
    WS_STALE = HS_ACK_STALE,       /* a job for a stream definition that has changed since */
};

/* A received request: its topic and payload, one allocation. */
typedef struct wmsg {
    char *topic;      /* NUL-terminated, inside this allocation */
    uint8_t *payload; /* len bytes and a NUL, inside this allocation */
    size_t len;
} wmsg;

static void wmsg_free(wmsg *m)
{
    hs_free(m);
}

/* A write request taken from the broker, decoded lazily. */
typedef struct wreq {
    wmsg *msg; /* owned (NULL once handed to a job's parts) */
    char sender[128];
    uint64_t inc, seq;
    hs_proto_envelope env; /* the envelope, borrowing msg */
    int status;
    char err[256];
    uint64_t inserted, duplicates, conflicts;
    size_t instances; /* size estimate for batching */
    bool held;        /* a job part kept until its job is complete */
} wreq;

/* What the writer knows of a stream (cache; cleared on rollback). */
typedef struct wstream {
    bool defined;
    int kind;
    char *binding;         /* owned JSON or NULL */
    char hash[17];         /* hash of binding, "" for none */
    hs_intervals calc;     /* calculated/covered intervals */
    hs_intervals reopened; /* computed streams: reopened, not computed again yet */
    bool reopened_loaded;  /* reopened was read from docs/reopened/<id> */
} wstream;

/* How a job's new instances of a sink are published. */
typedef enum wpub {
    WPUB_NEW,        /* on s/<sid>, as new instances */
    WPUB_NONE,       /* not at all: a job computed again over a calculated interval */
    WPUB_CORRECTION, /* on c/<sid>, as the whole content of the job's interval */
} wpub;

/* A correction to publish after the commit: the sink's content over iv. */
typedef struct wcorr {
    char *sid; /* owned */
    hs_interval iv;
    hs_batch b;
} wcorr;

/* Parts of one job output still arriving. */
typedef struct wjob {
    uint32_t parts;
    uint32_t have;
    wmsg **msgs; /* owned, by part index */
    wreq *reqs;  /* header info of each part (sender, inc, seq) */
    size_t bytes;
    int64_t first_us;
    char *key;  /* owned key in writer.jobs */
    bool ready; /* all parts arrived; listed in writer.ready */
} wjob;

/* A committed batch published as it arrived (borrows the request message). */
typedef struct wraw {
    char *sid; /* owned */
    const uint8_t *p;
    size_t len;
} wraw;

/* Per-sender acknowledgements of one commit. */
typedef struct wacks {
    uint64_t inc;
    hs_buf items; /* msgpack ack arrays */
    uint32_t n;
    char sender[128];
} wacks;

struct wcore {
    hs_store *store;               /* borrowed */
    const wcore_cfg *cfg;          /* borrowed */
    hs_log *log;                   /* borrowed; NULL: stderr */
    hs_metrics_counters *counters; /* borrowed; points at own_counters when not given */
    hs_metrics_counters own_counters;
    wcore_wait_fn wait; /* NULL: no retry */
    void *wait_ud;      /* borrowed, passed to wait */
    hs_map streams;     /* id -> wstream* */
    hs_map jobs;        /* "<sender>:<inc>:<job>" -> wjob* */
    size_t jobs_bytes;
    wjob **ready; /* complete jobs to commit with the next transaction */
    size_t nready, capready;
    wreq *reqs; /* the batch */
    size_t nreqs, capreqs;
    size_t instances; /* estimated instances of the batch */
    /* Results of the open transaction, queued as outputs after commit. */
    hs_map pubs; /* stream id -> hs_batch* of newly inserted instances */
    wraw *raws;  /* whole batches to publish as they are */
    size_t nraw, capraw;
    hs_map acks;    /* "<sender>:<inc>" -> wacks* */
    hs_buf notices; /* sequence of [topic suffix string, payload bin] msgpack pairs */
    size_t nnotices;
    hs_buf deads; /* dead letters: sequence of [reason str, topic str, stream str, payload bin] */
    size_t ndeads;
    wcorr *corrs; /* corrections of the open transaction */
    size_t ncorrs, capcorrs;
    hs_buf mons; /* monitoring events: sequence of [name str, text str] */
    size_t nmons;
    /* Late data (docs/ARCHITECTURE.md): what computations read, recent changes, commits. */
    wdeps *deps;
    bool deps_loaded;
    uint64_t epoch; /* this core's incarnation: its creation time in µs */
    uint64_t seq;   /* sequence number of the last commit */
    uint64_t late_reopened, late_ignored;
    uint64_t purged; /* instances deleted by purges and retention */
    /* Outputs: a sequence of [kind uint, topic bin, reason bin, payload bin], strings
     * with their NUL; read from out_pos by wcore_next. */
    hs_buf out;
    size_t out_pos;
    hs_batch decoded;
    hs_buf scratch, topic, json;
    uint8_t *status;
    size_t status_cap;
};

/* ------------------------------------------------------------------ helpers */

static void wstream_free(wstream *s)
{
    if (s == NULL)
        return;
    hs_free(s->binding);
    hs_intervals_free(&s->calc);
    hs_intervals_free(&s->reopened);
    hs_free(s);
}

static void w_streams_clear(wcore *w)
{
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&w->streams, &pos)) != NULL)
        wstream_free(e->value);
    hs_map_free(&w->streams);
}

/* The cached state of stream id, loading it from the store on first use. */
static int w_stream(wcore *w, const char *id, wstream **out)
{
    wstream *s = hs_map_get(&w->streams, id);
    if (s != NULL) {
        *out = s;
        return HS_OK;
    }
    s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_intervals_init(&s->calc);
    hs_intervals_init(&s->reopened);
    hs_stream_info info;
    int rc = hs_store_stream_get(w->store, id, &info);
    if (rc == HS_OK) {
        s->defined = true;
        s->kind = info.kind;
        s->binding = info.binding;
        info.binding = NULL;
        hs_intervals_free(&s->calc);
        s->calc = info.calculated;
        hs_intervals_init(&info.calculated);
        if (s->binding != NULL)
            hs_binding_hash(s->binding, s->hash);
        hs_stream_info_free(&info);
    } else if (rc != HS_ERR_NOTFOUND) {
        wstream_free(s);
        return rc;
    }
    rc = hs_map_put(&w->streams, id, s, NULL);
    if (rc != HS_OK) {
        wstream_free(s);
        return rc;
    }
    *out = s;
    return HS_OK;
}

static void w_reject(wreq *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void w_reject(wreq *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->status = status;
}

/* Checks that id is a canonical stream id. */
static bool w_canonical(wcore *w, const char *id, char *why, size_t whylen)
{
    hs_buf_reset(&w->scratch);
    int rc = hs_streamid_canonical(id, strlen(id), &w->scratch);
    if (rc != HS_OK) {
        snprintf(why, whylen, "%s", hs_err_detail());
        return false;
    }
    if (strcmp(hs_buf_cstr(&w->scratch), id) != 0) {
        snprintf(why, whylen, "stream id '%s' is not canonical (expected '%s')", id,
                 hs_buf_cstr(&w->scratch));
        return false;
    }
    return true;
}

/*
 * Appends the dead letter [reason, topic, stream, payload] to buf (the open
 * transaction's w->deads, whose count the caller keeps): topic is the MQTT
 * topic of the request, stream the stream id it concerns.
 */
static int w_add_dead(wcore *w, hs_buf *buf, const char *reason, const char *topic,
                      const char *stream, const void *payload, size_t len)
{
    (void)w;
    int rc = hs_mp_put_cstr(buf, reason);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(buf, topic);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(buf, stream);
    if (rc == HS_OK)
        rc = hs_mp_put_bin(buf, payload, len);
    return rc;
}

static int w_out_add(wcore *w, wcore_out_kind kind, const char *topic, size_t topic_len,
                     const char *reason, size_t reason_len, const void *p, size_t len);
static int w_out_put(wcore *w, wcore_out_kind kind, const char *topic, size_t topic_len,
                     const char *reason, size_t reason_len, const char *stream, size_t stream_len,
                     const void *p, size_t len);

/* Remembers a whole batch, already encoded, for publication after commit. */
static int w_collect_raw(wcore *w, const char *id, const uint8_t *raw, size_t len)
{
    if (hs_grow(&w->raws, &w->capraw, w->nraw + 1, sizeof *w->raws, 64) != HS_OK)
        return HS_ERR_NOMEM;
    char *sid = hs_strdup(id);
    if (sid == NULL)
        return HS_ERR_NOMEM;
    w->raws[w->nraw].sid = sid;
    w->raws[w->nraw].p = raw;
    w->raws[w->nraw].len = len;
    w->nraw++;
    return HS_OK;
}

/* Remembers newly inserted instances of stream id for publication after commit. */
static int w_collect_pub(wcore *w, const char *id, const hs_batch *b, const uint8_t *status)
{
    hs_batch *pb = hs_map_get(&w->pubs, id);
    if (pb == NULL) {
        pb = hs_malloc(sizeof *pb);
        if (pb == NULL)
            return HS_ERR_NOMEM;
        hs_batch_init(pb);
        int rc = hs_map_put(&w->pubs, id, pb, NULL);
        if (rc != HS_OK) {
            hs_free(pb);
            return rc;
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        if (status[i] != HS_WRITE_INSERTED)
            continue;
        int rc = hs_batch_push(pb, b->items[i].t_us, hs_batch_value(b, i), b->items[i].len);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

/*
 * Writes a decoded batch to stream id, counting into r and collecting what
 * to publish as pub says (WPUB_CORRECTION: into corr). raw (may be NULL),
 * the batch's own msgpack encoding inside the request message, is
 * published as it is when every instance was new, which spares copying and
 * encoding the common case.
 */
static int w_write(wcore *w, wreq *r, const char *id, const hs_batch *b, const uint8_t *raw,
                   size_t rawlen, wpub pub, hs_batch *corr)
{
    if (w->status_cap < b->n) {
        uint8_t *st = hs_realloc(w->status, b->n);
        if (st == NULL)
            return HS_ERR_NOMEM;
        w->status = st;
        w->status_cap = b->n;
    }
    hs_write_result res;
    int rc = hs_store_write(w->store, id, b, w->status, &res);
    if (rc != HS_OK)
        return rc;
    r->inserted += res.inserted;
    r->duplicates += res.duplicates;
    r->conflicts += res.conflicts;
    if (res.conflicts > 0) {
        for (size_t i = 0; i < b->n; i++) {
            if (w->status[i] != HS_WRITE_CONFLICT)
                continue;
            char t[HS_TIME_ISO_MAX];
            hs_time_format_iso(b->items[i].t_us, t);
            hs_buf_reset(&w->json);
            hs_mp_reader vr;
            hs_mp_reader_init(&vr, hs_batch_value(b, i), b->items[i].len);
            (void)hs_json_from_mpack(&vr, &w->json);
            char reason[512];
            snprintf(reason, sizeof reason,
                     "conflict: stream %s already holds a different value at %s; kept the stored "
                     "value, rejected %s",
                     id, t, hs_buf_cstr(&w->json));
            rc = w_add_dead(w, &w->deads, reason, r->msg != NULL ? r->msg->topic : "", id,
                            hs_batch_value(b, i), b->items[i].len);
            if (rc != HS_OK)
                return rc;
            w->ndeads++;
        }
    }
    if (pub == WPUB_NONE)
        return HS_OK;
    if (pub == WPUB_CORRECTION) {
        for (size_t i = 0; i < b->n; i++) {
            if (w->status[i] != HS_WRITE_INSERTED)
                continue;
            rc = hs_batch_push(corr, b->items[i].t_us, hs_batch_value(b, i), b->items[i].len);
            if (rc != HS_OK)
                return rc;
        }
        return HS_OK;
    }
    if (raw != NULL && res.inserted == b->n && b->n > 0 &&
        (int64_t)b->n <= w->cfg->publish_max_instances)
        return w_collect_raw(w, id, raw, rawlen);
    return w_collect_pub(w, id, b, w->status);
}

/* ------------------------------------------------------------------ late data */

/* The next commit's sequence number: that of the open transaction. */
static hs_proto_wseq w_wseq_open(const wcore *w)
{
    return (hs_proto_wseq){w->epoch, w->seq + 1};
}

static int w_deps_load_one(void *ud, const char *key, const char *json)
{
    wcore *w = ud;
    hs_proto_deps_msg m;
    int rc = hs_proto_deps_doc_decode(&m, json, strlen(json));
    if (rc == HS_OK)
        rc = wdeps_set(w->deps, key, m.it.sources, m.it.nsources, m.it.lookback_us,
                       m.it.max_lateness_us);
    else
        hs_warn(w->log, "ignoring dependencies document of %s: %s", key, hs_err_detail());
    hs_proto_deps_msg_free(&m);
    return rc == HS_ERR_NOMEM ? rc : HS_OK;
}

/* Reads docs/deps once: what every computed stream reads (the writer alone writes them). */
static int w_deps_load(wcore *w)
{
    if (w->deps_loaded)
        return HS_OK;
    wdeps_clear_sinks(w->deps);
    int rc = hs_store_doc_list(w->store, "deps", "", false, 0, w_deps_load_one, w);
    if (rc == HS_ERR_NOTFOUND)
        rc = HS_OK;
    if (rc == HS_OK)
        w->deps_loaded = true;
    return rc;
}

/* Reads the reopened intervals of a computed stream once. */
static int w_reopened_load(wcore *w, const char *id, wstream *st)
{
    if (st->reopened_loaded)
        return HS_OK;
    int rc = hs_proto_reopened_doc_read(w->store, id, &w->json, &st->reopened);
    if (rc == HS_OK)
        st->reopened_loaded = true;
    return rc;
}

/* Stores the reopened intervals of stream id (none: the document goes). */
static int w_reopened_store(wcore *w, const char *id, const wstream *st)
{
    if (hs_intervals_is_empty(&st->reopened)) {
        int rc = hs_store_doc_delete(w->store, "reopened", id);
        return rc == HS_ERR_NOTFOUND ? HS_OK : rc;
    }
    int rc = hs_proto_reopened_doc_encode(&w->json, &st->reopened);
    return rc == HS_OK ? hs_store_doc_put(w->store, "reopened", id, hs_buf_cstr(&w->json)) : rc;
}

static int w_mon(wcore *w, const char *name, const char *text)
{
    int rc = hs_mp_put_cstr(&w->mons, name);
    if (rc == HS_OK)
        rc = hs_mp_put_cstr(&w->mons, text);
    if (rc == HS_OK)
        w->nmons++;
    return rc;
}

/* The last instant a job reading t with lookback_us computes: t + lookback_us, held to the axis. */
static int64_t w_reach(int64_t t, int64_t lookback_us)
{
    return t > HS_TIME_MAX - lookback_us ? HS_TIME_MAX : t + lookback_us;
}

/* affected widened by lookback: every (a, b] becomes (a, b + lookback]. */
static int w_widen(const hs_intervals *affected, int64_t lookback_us, hs_intervals *out)
{
    hs_intervals_clear(out);
    for (size_t i = 0; i < affected->n; i++) {
        hs_interval iv = affected->v[i];
        iv.end = w_reach(iv.end, lookback_us);
        int rc = hs_intervals_add(out, iv);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static int w_changed(wcore *w, const char *id, const hs_intervals *changed, const char *reason,
                     int depth);
static int w_add_notice(wcore *w, const char *topic, const hs_buf *payload);

/*
 * Reopens computed stream sid over calculated ∩ affected: those intervals
 * stop counting as calculated, join its reopened intervals, are announced
 * on reopened, and what reads sid is reopened in turn.
 */
static int w_reopen(wcore *w, const char *sid, const hs_intervals *affected, const char *reason,
                    int depth)
{
    wstream *st;
    int rc = w_stream(w, sid, &st);
    if (rc != HS_OK || !st->defined || st->kind != HS_STREAM_COMPUTED ||
        hs_intervals_is_empty(&st->calc))
        return rc;
    hs_intervals cut, rest, merged;
    hs_intervals_init(&cut);
    hs_intervals_init(&rest);
    hs_intervals_init(&merged);
    rc = hs_intervals_intersection(&st->calc, affected, &cut);
    if (rc != HS_OK || hs_intervals_is_empty(&cut))
        goto out;
    rc = hs_intervals_difference(&st->calc, &cut, &rest);
    if (rc == HS_OK)
        rc = hs_store_intervals_set(w->store, sid, &rest);
    if (rc == HS_OK)
        rc = w_reopened_load(w, sid, st);
    if (rc == HS_OK)
        rc = hs_intervals_union(&st->reopened, &cut, &merged);
    if (rc != HS_OK)
        goto out;
    hs_intervals_free(&st->calc);
    st->calc = rest;
    hs_intervals_init(&rest);
    hs_intervals_free(&st->reopened);
    st->reopened = merged;
    hs_intervals_init(&merged);
    hs_intervals_compress(&st->reopened);
    rc = w_reopened_store(w, sid, st);
    hs_buf p;
    hs_buf_init(&p, 0);
    hs_proto_reopened n = {sid, cut.v, cut.n, reason, w_wseq_open(w)};
    if (rc == HS_OK)
        rc = hs_proto_reopened_encode(&p, &n);
    if (rc == HS_OK)
        rc = w_add_notice(w, "reopened", &p);
    hs_buf_free(&p);
    if (rc != HS_OK)
        goto out;
    w->late_reopened += cut.n;
    if (depth < 64)
        rc = w_changed(w, sid, &cut, reason, depth + 1);
out:
    hs_intervals_free(&cut);
    hs_intervals_free(&rest);
    hs_intervals_free(&merged);
    return rc;
}

/*
 * Stream id changed over changed: every sink reading it is reopened over
 * what its jobs computed from the change, changed widened by its lookback.
 */
static int w_changed(wcore *w, const char *id, const hs_intervals *changed, const char *reason,
                     int depth)
{
    size_t n;
    const wdeps_reader *rd = wdeps_readers(w->deps, id, &n);
    if (n == 0)
        return HS_OK;
    /* Reopening does not change the index: rd stays valid. */
    hs_intervals wide;
    hs_intervals_init(&wide);
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        rc = w_widen(changed, rd[i].lookback_us, &wide);
        if (rc == HS_OK)
            rc = w_reopen(w, rd[i].sink, &wide, reason, depth);
    }
    hs_intervals_free(&wide);
    return rc;
}

/*
 * Raw instances b[i] with status[i] inserted were committed to stream id:
 * remembers the change for jobs in flight, and reopens what sinks computed
 * from the range of the late ones. On-time data costs one comparison per
 * reader: it lies after everything calculated.
 */
static int w_late_append(wcore *w, const char *id, const hs_batch *b, const uint8_t *status)
{
    size_t n;
    const wdeps_reader *rd = wdeps_readers(w->deps, id, &n);
    if (n == 0)
        return HS_OK;
    int64_t lo = HS_TIME_MAX, hi = HS_TIME_MIN;
    for (size_t i = 0; i < b->n; i++) {
        if (status[i] != HS_WRITE_INSERTED)
            continue;
        lo = b->items[i].t_us < lo ? b->items[i].t_us : lo;
        hi = b->items[i].t_us > hi ? b->items[i].t_us : hi;
    }
    if (lo > hi)
        return HS_OK;
    int rc = wdeps_change(w->deps, id, lo, hi, w->seq + 1);
    int64_t now = hs_time_now_us();
    hs_intervals affected;
    hs_intervals_init(&affected);
    for (size_t k = 0; rc == HS_OK && k < n; k++) {
        wdeps_reader r = rd[k];
        wstream *sk;
        hs_interval span;
        rc = w_stream(w, r.sink, &sk);
        if (rc != HS_OK || !hs_intervals_span(&sk->calc, &span) || lo > span.end)
            continue;
        hs_intervals_clear(&affected);
        uint64_t ignored = 0;
        for (size_t i = 0; rc == HS_OK && i < b->n; i++) {
            int64_t t = b->items[i].t_us;
            if (status[i] != HS_WRITE_INSERTED || t > span.end)
                continue;
            if (r.max_lateness_us > 0 && t < now - r.max_lateness_us) {
                ignored++;
                continue;
            }
            rc = hs_intervals_add(&affected, (hs_interval){t - 1, w_reach(t, r.lookback_us)});
        }
        if (rc == HS_OK && ignored > 0) {
            w->late_ignored += ignored;
            char text[600];
            snprintf(text, sizeof text,
                     "%llu instances of %.200s older than max_lateness (%lld s) were stored but "
                     "reopen nothing of %.200s",
                     (unsigned long long)ignored, id, (long long)(r.max_lateness_us / 1000000),
                     r.sink);
            rc = w_mon(w, "late_ignored", text);
        }
        if (rc == HS_OK && !hs_intervals_is_empty(&affected))
            rc = w_reopen(w, r.sink, &affected, "late", 0);
    }
    hs_intervals_free(&affected);
    return rc;
}

/* ------------------------------------------------------------------ ops */

/*
 * Queues the notice <prefix>/purged {"stream": id}: readers that cache
 * calculated intervals (the scheduler) forget them once the purge commits.
 */
static int w_notice_purged(wcore *w, const char *id)
{
    hs_buf p;
    hs_buf_init(&p, 0);
    int rc = hs_proto_purged_encode(&p, id);
    if (rc == HS_OK)
        rc = w_add_notice(w, "purged", &p);
    hs_buf_free(&p);
    return rc;
}

/*
 * Refuses an append: the whole request when it is the request's only one;
 * an item of append_many alone, as a dead letter with its data.
 */
static int w_refuse_item(wcore *w, wreq *r, const hs_proto_append *a, bool many, const char *why)
{
    if (!many) {
        w_reject(r, WS_REJECTED, "%s", why);
        return HS_OK;
    }
    int rc = w_add_dead(w, &w->deads, why, r->msg != NULL ? r->msg->topic : "", a->stream, a->data,
                        a->data_len);
    if (rc == HS_OK)
        w->ndeads++;
    return rc;
}

/* Writes the raw instances of one stream (an append, or an item of append_many). */
static int w_append_one(wcore *w, wreq *r, const hs_proto_append *a, bool many)
{
    char why[400];
    const char *id = a->stream;
    if (!w_canonical(w, id, why, sizeof why))
        return w_refuse_item(w, r, a, many, why);
    int rc = hs_codec_decode_mpack(a->data, a->data_len, false, &w->decoded);
    if (rc != HS_OK) {
        snprintf(why, sizeof why, "bad data: %s", hs_err_detail());
        return w_refuse_item(w, r, a, many, why);
    }
    wstream *st;
    rc = w_stream(w, id, &st);
    if (rc != HS_OK)
        return rc;
    if (st->defined && st->kind != HS_STREAM_RAW) {
        snprintf(why, sizeof why,
                 "stream %s is computed by a workflow; raw data must use another stream name", id);
        return w_refuse_item(w, r, a, many, why);
    }
    if (w->decoded.n == 0)
        return HS_OK;
    uint64_t before = r->inserted;
    rc = w_write(w, r, id, &w->decoded, a->data, a->data_len, WPUB_NEW, NULL);
    if (rc == HS_OK && r->inserted > before)
        rc = w_late_append(w, id, &w->decoded, w->status);
    if (rc != HS_OK)
        return rc;
    st->defined = true;
    st->kind = HS_STREAM_RAW;
    /* The covered interval of a raw stream: (first - 1us, last] over everything received. */
    int64_t lo = w->decoded.items[0].t_us, hi = lo;
    for (size_t i = 1; i < w->decoded.n; i++) {
        int64_t t = w->decoded.items[i].t_us;
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    hs_interval cover = {lo - 1, hi}, span;
    if (hs_intervals_span(&st->calc, &span)) {
        cover.start = span.start < cover.start ? span.start : cover.start;
        cover.end = span.end > cover.end ? span.end : cover.end;
    }
    if (st->calc.n != 1 || st->calc.v[0].start != cover.start || st->calc.v[0].end != cover.end) {
        hs_intervals_clear(&st->calc);
        rc = hs_intervals_add(&st->calc, cover);
        if (rc == HS_OK)
            rc = hs_store_intervals_set(w->store, id, &st->calc);
    }
    return rc;
}

static int w_op_append(wcore *w, wreq *r, const hs_proto_append *a)
{
    return w_append_one(w, r, a, false);
}

/*
 * Which sources a sink that read something before did not read (a new
 * plate value under an aggregate): is_new[i] for sources[i]; how many.
 * What the sink computed lacks their data. A sink new to the index: none.
 */
static size_t w_deps_added(const wcore *w, const char *sink, const char *const *sources, size_t n,
                           bool *is_new)
{
    const char *const *old;
    size_t nold;
    int64_t lookback_us;
    if (!wdeps_of(w->deps, sink, &old, &nold, &lookback_us))
        return 0;
    hs_map seen;
    hs_map_init(&seen);
    bool ok = true;
    size_t added = 0;
    for (size_t i = 0; ok && i < nold; i++)
        ok = hs_map_put(&seen, old[i], (void *)1, NULL) == HS_OK;
    for (size_t i = 0; i < n; i++) {
        bool fresh = true;
        if (ok)
            fresh = hs_map_get(&seen, sources[i]) == NULL;
        else /* out of memory: compare the slow way */
            for (size_t k = 0; fresh && k < nold; k++)
                fresh = strcmp(old[k], sources[i]) != 0;
        is_new[i] = fresh;
        added += fresh;
    }
    hs_map_free(&seen);
    return added;
}

/* Every item as an append of its own; refused items are dead letters, the others stored. */
static int w_op_append_many(wcore *w, wreq *r, const hs_proto_append_many *a)
{
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < a->n; i++)
        rc = w_append_one(w, r, &a->items[i], true);
    return rc;
}

static int w_op_define(wcore *w, wreq *r, const hs_proto_define *d)
{
    for (size_t i = 0; i < d->n; i++) {
        const char *id = d->items[i].sid;
        int kind = d->items[i].kind;
        char why[300];
        if (kind < HS_STREAM_RAW || kind > HS_STREAM_ASSET) {
            w_reject(r, WS_REJECTED, "stream definition %zu: kind %d is unknown", i, kind);
            return HS_OK;
        }
        if (!w_canonical(w, id, why, sizeof why)) {
            w_reject(r, WS_REJECTED, "%s", why);
            return HS_OK;
        }
        char *binding = NULL;
        if (d->items[i].binding != NULL) {
            binding = hs_strdup(d->items[i].binding);
            if (binding == NULL)
                return HS_ERR_NOMEM;
        }
        wstream *st;
        int rc = w_stream(w, id, &st);
        bool changed = st != NULL && st->defined &&
                       (st->kind != kind || (st->binding == NULL) != (binding == NULL) ||
                        (binding != NULL && strcmp(st->binding, binding) != 0));
        if (rc == HS_OK && changed && (!hs_intervals_is_empty(&st->calc) || st->kind != kind)) {
            int64_t deleted = 0;
            rc = hs_store_purge(w->store, id, false, &deleted);
            if (rc == HS_OK)
                rc = w_notice_purged(w, id);
            if (rc == HS_OK) {
                rc = hs_store_doc_delete(w->store, "reopened", id);
                rc = rc == HS_ERR_NOTFOUND ? HS_OK : rc;
            }
            if (rc == HS_OK) {
                hs_intervals_clear(&st->calc);
                hs_intervals_clear(&st->reopened);
                st->reopened_loaded = true;
                hs_info(w->log,
                        "stream %s: its definition changed; purged %lld instances and its "
                        "calculated intervals, which will be recomputed",
                        id, (long long)deleted);
            }
        }
        if (rc == HS_OK && (!st->defined || changed))
            rc = hs_store_stream_define(w->store, id, (int)kind, binding);
        if (rc != HS_OK) {
            hs_free(binding);
            return rc;
        }
        st->defined = true;
        st->kind = (int)kind;
        hs_free(st->binding);
        st->binding = binding;
        if (binding != NULL)
            hs_binding_hash(binding, st->hash);
        else
            st->hash[0] = '\0';
        const hs_proto_define_item *it = &d->items[i];
        if (it->has_deps && kind == HS_STREAM_COMPUTED &&
            !wdeps_same(w->deps, id, it->sources, it->nsources, it->lookback_us,
                        it->max_lateness_us)) {
            bool *is_new = hs_calloc(it->nsources ? it->nsources : 1, sizeof *is_new);
            if (is_new == NULL)
                return HS_ERR_NOMEM;
            size_t added = w_deps_added(w, id, it->sources, it->nsources, is_new);
            rc = wdeps_set(w->deps, id, it->sources, it->nsources, it->lookback_us,
                           it->max_lateness_us);
            if (rc == HS_OK)
                rc = hs_proto_deps_doc_encode(&w->json, it);
            if (rc == HS_OK)
                rc = hs_store_doc_put(w->store, "deps", id, hs_buf_cstr(&w->json));
            /*
             * What it computed lacks the new sources' data: computed again (and downstream).
             * A job of it under way read the old sources: the new ones count as changed in
             * this commit, so its race check reopens what it commits (w_race_sinks).
             */
            hs_interval all = {HS_TIME_MIN - 1, HS_TIME_MAX};
            hs_intervals every = {&all, 1, 1}; /* borrowed view, never freed */
            if (rc == HS_OK && added > 0)
                rc = w_reopen(w, id, &every, "new sources (plate values)", 0);
            for (size_t k = 0; rc == HS_OK && added > 0 && k < it->nsources; k++)
                if (is_new[k])
                    rc = wdeps_change(w->deps, it->sources[k], HS_TIME_MIN, HS_TIME_MAX,
                                      w_wseq_open(w).seq);
            hs_free(is_new);
            if (rc != HS_OK)
                return rc;
        }
    }
    return HS_OK;
}

/*
 * Purges stream id before before_us (hs_store_purge_before, at most
 * max_instances when > 0) and removes (-inf, through] from its reopened
 * intervals too, where through is where the purge stopped (*through_us).
 * Nothing downstream is reopened: results computed from purged data stay
 * valid records of the past. When anything changed, the purged notice
 * tells the scheduler to read the stream's intervals again.
 */
static int w_purge_before(wcore *w, const char *id, int64_t before_us, int64_t max_instances,
                          int64_t *deleted, int64_t *through_us)
{
    *deleted = 0;
    *through_us = before_us;
    wstream *st;
    int rc = w_stream(w, id, &st);
    if (rc != HS_OK)
        return rc;
    if (!st->defined)
        return hs_err_set(HS_ERR_NOTFOUND, "no stream %s", id);
    rc = hs_store_purge_before(w->store, id, before_us, max_instances, deleted, through_us);
    if (rc != HS_OK)
        return rc;
    hs_intervals drop, rest;
    hs_intervals_init(&drop);
    hs_intervals_init(&rest);
    hs_interval all = hs_store_all_time();
    bool changed = *deleted > 0;
    if (*through_us > all.start) {
        rc = hs_intervals_add(&drop, (hs_interval){all.start, *through_us});
        hs_intervals calc;
        hs_intervals_init(&calc);
        if (rc == HS_OK)
            rc = hs_intervals_difference(&st->calc, &drop, &calc);
        if (rc == HS_OK) {
            changed = changed || !hs_intervals_equal(&st->calc, &calc);
            hs_intervals_free(&st->calc);
            st->calc = calc;
        } else {
            hs_intervals_free(&calc);
        }
        if (rc == HS_OK && st->kind == HS_STREAM_COMPUTED)
            rc = w_reopened_load(w, id, st);
        if (rc == HS_OK && st->kind == HS_STREAM_COMPUTED)
            rc = hs_intervals_difference(&st->reopened, &drop, &rest);
        if (rc == HS_OK && st->kind == HS_STREAM_COMPUTED &&
            !hs_intervals_equal(&st->reopened, &rest)) {
            hs_intervals_free(&st->reopened);
            st->reopened = rest;
            hs_intervals_init(&rest);
            changed = true;
            rc = w_reopened_store(w, id, st);
        }
    }
    if (rc == HS_OK && changed)
        rc = w_notice_purged(w, id);
    hs_intervals_free(&drop);
    hs_intervals_free(&rest);
    return rc;
}

static int w_op_purge(wcore *w, wreq *r, const hs_proto_purge *p)
{
    const char *id = p->stream;
    bool remove = p->remove;
    if (p->has_before) {
        int64_t deleted = 0, through = 0;
        int rc = w_purge_before(w, id, p->before_us, 0, &deleted, &through);
        if (rc == HS_ERR_NOTFOUND) {
            w_reject(r, WS_REJECTED, "no stream %s", id);
            return HS_OK;
        }
        if (rc != HS_OK)
            return rc;
        r->duplicates = (uint64_t)deleted; /* reported as the count of removed instances */
        w->purged += (uint64_t)deleted;
        char iso[HS_TIME_ISO_MAX];
        hs_time_format_iso(p->before_us, iso);
        hs_info(w->log, "purged stream %s up to %s (%lld instances)", id, iso, (long long)deleted);
        return HS_OK;
    }
    int64_t deleted = 0;
    int rc = hs_store_purge(w->store, id, remove, &deleted);
    if (rc == HS_ERR_NOTFOUND) {
        w_reject(r, WS_REJECTED, "no stream %s", id);
        return HS_OK;
    }
    if (rc != HS_OK)
        return rc;
    wstream *st = hs_map_remove(&w->streams, id);
    wstream_free(st);
    rc = hs_store_doc_delete(w->store, "reopened", id);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    r->duplicates = (uint64_t)deleted; /* reported as the count of removed instances */
    w->purged += (uint64_t)deleted;
    rc = w_notice_purged(w, id);
    if (rc != HS_OK)
        return rc;
    hs_info(w->log, "purged stream %s (%lld instances%s)", id, (long long)deleted,
            remove ? ", definition removed" : "");
    return HS_OK;
}

/*
 * invalidate: a computed stream is reopened over the interval, then what
 * reads it; a raw stream counts as changed over it (what reads it is
 * reopened).
 */
static int w_op_invalidate(wcore *w, wreq *r, const hs_proto_invalidate *v)
{
    wstream *st;
    int rc = w_stream(w, v->stream, &st);
    if (rc != HS_OK)
        return rc;
    if (!st->defined) {
        w_reject(r, WS_REJECTED, "no stream %s", v->stream);
        return HS_OK;
    }
    hs_intervals iv;
    hs_intervals_init(&iv);
    rc = hs_intervals_add(&iv, v->interval);
    if (rc == HS_OK && st->kind == HS_STREAM_COMPUTED)
        rc = w_reopen(w, v->stream, &iv, "invalidate", 0);
    else if (rc == HS_OK)
        rc = w_changed(w, v->stream, &iv, "invalidate", 0);
    hs_intervals_free(&iv);
    if (rc == HS_OK) {
        char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
        hs_time_format_iso(v->interval.start, a);
        hs_time_format_iso(v->interval.end, b);
        hs_info(w->log, "invalidated %s over (%s, %s]", v->stream, a, b);
    }
    return rc;
}

static int w_op_doc(wcore *w, wreq *r, const hs_proto_doc *d)
{
    const char *coll = d->coll, *key = d->key;
    if (d->json == NULL) {
        int rc = hs_store_doc_delete(w->store, coll, key);
        if (rc == HS_ERR_NOTFOUND)
            return HS_OK; /* deleting twice is fine */
        return rc;
    }
    /* The document must be valid JSON. */
    hs_buf_reset(&w->scratch);
    if (hs_json_to_mpack(d->json, strlen(d->json), &w->scratch) != HS_OK) {
        w_reject(r, WS_REJECTED, "document %s/%s is not JSON: %s", coll, key, hs_err_detail());
        return HS_OK;
    }
    return hs_store_doc_put(w->store, coll, key, d->json);
}

/*
 * Every document of a docs request in order, all or none: a document that
 * is not JSON refuses the request before anything is written.
 */
static int w_op_docs(wcore *w, wreq *r, const hs_proto_docs *d)
{
    for (size_t i = 0; i < d->n; i++) {
        const hs_proto_doc *it = &d->items[i];
        hs_buf_reset(&w->scratch);
        if (it->json != NULL &&
            hs_json_to_mpack(it->json, strlen(it->json), &w->scratch) != HS_OK) {
            w_reject(r, WS_REJECTED, "document %s/%s (item %zu) is not JSON: %s", it->coll, it->key,
                     i, hs_err_detail());
            return HS_OK;
        }
    }
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < d->n; i++)
        rc = w_op_doc(w, r, &d->items[i]);
    return rc;
}

/* ------------------------------------------------------------------ jobs */

/* Appends a notice [topic below the prefix, payload] to publish after the commit. */
static int w_add_notice(wcore *w, const char *topic, const hs_buf *payload)
{
    int rc = hs_mp_put_cstr(&w->notices, topic);
    if (rc == HS_OK)
        rc = hs_mp_put_bin(&w->notices, payload->data, payload->len);
    if (rc == HS_OK)
        w->nnotices++;
    return rc;
}

/* Records a job's history: docs/history/<workflow>/<now>/<job>. */
static int w_put_history(wcore *w, const hs_proto_jobout *o, hs_proto_outcome outcome,
                         const char *error, uint64_t count, uint64_t inserted, uint64_t conflicts,
                         bool recompute)
{
    const hs_proto_job *j = &o->hdr;
    hs_proto_history h = {
        .job = j->job,
        .workflow = j->workflow,
        .factor = j->factor,
        .pv = j->pv,
        .tool = j->tool,
        .version = j->version,
        .params = j->params,
        .params_len = j->params_len,
        .interval = j->interval,
        .count = count,
        .inserted = inserted,
        .conflicts = conflicts,
        .duration_us = o->duration_us,
        .attempt = j->attempt,
        .committed_us = hs_time_now_us(),
        .outcome = outcome,
        .runtime = o->runtime,
        .error = error,
        .trigger = j->trigger,
        .recompute = recompute,
    };
    int rc = hs_proto_history_encode(&w->json, &h);
    if (rc != HS_OK)
        return rc;
    hs_buf_reset(&w->scratch);
    rc =
        hs_buf_printf(&w->scratch, "%s/%020lld/%s", j->workflow, (long long)h.committed_us, j->job);
    if (rc == HS_OK)
        rc = hs_store_doc_put(w->store, "history", hs_buf_cstr(&w->scratch), hs_buf_cstr(&w->json));
    return rc;
}

/* Queues the commit notice of a job on <prefix>/committed/<workflow>. */
static int w_job_notice(wcore *w, const hs_proto_jobout *o, hs_proto_outcome outcome,
                        const char *error, uint64_t count, bool recompute)
{
    const hs_proto_job *j = &o->hdr;
    hs_proto_committed c = {
        .job = j->job,
        .workflow = j->workflow,
        .factor = j->factor,
        .pv = j->pv,
        .interval = j->interval,
        .outcome = outcome,
        .count = count,
        .error = error,
        .request = j->request,
        .plate_values = o->plate_values,
        .nplate_values = o->nplate_values,
        .has_plate_values = o->has_plate_values,
        .wseq = w_wseq_open(w),
        .recompute = recompute,
    };
    hs_buf p;
    hs_buf_init(&p, 0);
    int rc = hs_proto_committed_encode(&p, &c);
    hs_buf_reset(&w->topic);
    if (rc == HS_OK)
        rc = hs_buf_printf(&w->topic, "committed/%s", j->workflow);
    if (rc == HS_OK)
        rc = w_add_notice(w, hs_buf_cstr(&w->topic), &p);
    hs_buf_free(&p);
    return rc;
}

/* History and notice of a job that failed or is stale. */
static int w_job_refused(wcore *w, const hs_proto_jobout *o, hs_proto_outcome outcome,
                         const char *why)
{
    int rc = w_put_history(w, o, outcome, why, 0, 0, 0, false);
    return rc == HS_OK ? w_job_notice(w, o, outcome, why, 0, false) : rc;
}

/*
 * Commits a plate-creation job: merges its plate values into the document
 * plate_values/<workflow>/<plate> ({"values": {"<parent value>": [...]}}),
 * records history and announces the values to the scheduler.
 */
static int w_commit_plate_job(wcore *w, const hs_proto_jobout *o)
{
    const hs_proto_job *ji = &o->hdr;
    if (o->error != NULL)
        return w_job_refused(w, o, HS_OUTCOME_FAILED, o->error);
    hs_buf keyb;
    hs_buf_init(&keyb, 0);
    if (hs_buf_printf(&keyb, "%s/%s", ji->workflow, ji->output_plate) != HS_OK) {
        hs_buf_free(&keyb);
        return HS_ERR_NOMEM;
    }
    const char *key = hs_buf_cstr(&keyb);
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_buf doc, mp;
    hs_buf_init(&doc, 0);
    hs_buf_init(&mp, 0);
    uint64_t added = 0;
    int rc = HS_OK;
    hs_value *old = NULL, *newv = NULL;
    if (hs_store_doc_get(w->store, "plate_values", key, &doc) == HS_OK &&
        hs_json_to_mpack((const char *)doc.data, doc.len, &mp) == HS_OK)
        (void)hs_value_decode(&a, mp.data, mp.len, &old);
    const hs_value *oldvals = old ? hs_value_map_get(old, "values", 6) : NULL;
    newv = hs_value_array(&a, (uint32_t)o->nplate_values);
    for (size_t i = 0; newv != NULL && i < o->nplate_values; i++) {
        hs_value *v = hs_value_str(&a, o->plate_values[i], strlen(o->plate_values[i]));
        if (v == NULL)
            newv = NULL;
        else
            newv->u.items[i] = *v;
    }
    /* The merged map: every parent value of the old document, this one's list extended. */
    uint32_t nold = oldvals && oldvals->type == HS_V_MAP ? oldvals->len : 0;
    hs_value *vals = hs_value_map(&a, nold + 1);
    uint32_t nv = 0;
    const hs_value *mine = NULL;
    for (uint32_t i = 0; vals && i < nold; i++) {
        const hs_value *k = &oldvals->u.items[2 * i];
        if (k->type == HS_V_STR && k->len == strlen(ji->pv) && memcmp(k->u.s, ji->pv, k->len) == 0)
            mine = &oldvals->u.items[2 * i + 1];
        else {
            vals->u.items[2 * nv] = *k;
            vals->u.items[2 * nv + 1] = oldvals->u.items[2 * i + 1];
            nv++;
        }
    }
    uint32_t nmine = mine && mine->type == HS_V_ARRAY ? mine->len : 0;
    uint32_t nnew = newv != NULL ? newv->len : 0;
    hs_value *list = hs_value_array(&a, nmine + nnew);
    uint32_t nl = 0;
    for (uint32_t i = 0; list && i < nmine; i++)
        list->u.items[nl++] = mine->u.items[i];
    for (uint32_t i = 0; list && i < nnew; i++) {
        bool dup = false;
        for (uint32_t k = 0; k < nl && !dup; k++)
            dup = hs_value_equal(&list->u.items[k], &newv->u.items[i]);
        if (!dup && newv->u.items[i].type == HS_V_STR) {
            list->u.items[nl++] = newv->u.items[i];
            added++;
        }
    }
    hs_value *pk = hs_value_str(&a, ji->pv, strlen(ji->pv));
    hs_value *root = hs_value_map(&a, 1);
    hs_value *rk = hs_value_str(&a, "values", 6);
    if (vals == NULL || list == NULL || pk == NULL || root == NULL || rk == NULL || newv == NULL) {
        rc = HS_ERR_NOMEM;
    } else {
        list->len = nl;
        vals->u.items[2 * nv] = *pk;
        vals->u.items[2 * nv + 1] = *list;
        vals->len = nv + 1;
        root->u.items[0] = *rk;
        root->u.items[1] = *vals;
        hs_buf_reset(&doc);
        rc = hs_value_to_json(root, &doc);
        if (rc == HS_OK && added > 0)
            rc = hs_store_doc_put(w->store, "plate_values", key, hs_buf_cstr(&doc));
    }
    if (rc == HS_OK)
        rc = w_put_history(w, o, HS_OUTCOME_OK, NULL, added, added, 0, false);
    if (rc == HS_OK)
        rc = w_job_notice(w, o, HS_OUTCOME_OK, NULL, added, false);
    hs_arena_free(&a);
    hs_buf_free(&keyb);
    hs_buf_free(&doc);
    hs_buf_free(&mp);
    return rc;
}

/* Whether iv overlaps some interval of s. */
static bool w_overlaps(const hs_intervals *s, hs_interval iv)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].start < iv.end && iv.start < s->v[i].end)
            return true;
    return false;
}

/*
 * Sink k of job j: deletes its instances in the job's interval (the job's
 * results replace them) and decides how the new ones are published: as a
 * correction when the job replaces a reopened interval or instances of an
 * interval not calculated (*recompute then set, and the change remembered
 * for jobs in flight); not at all when the interval was calculated (the
 * same job again); else as new instances.
 */
static int w_job_replace(wcore *w, const hs_proto_job *j, size_t k, wpub *pub, size_t *corr,
                         bool *recompute)
{
    const char *sid = j->sinks[k];
    wstream *st;
    int rc = w_stream(w, sid, &st);
    if (rc == HS_OK)
        rc = w_reopened_load(w, sid, st);
    if (rc != HS_OK)
        return rc;
    bool was_calc = hs_intervals_contains(&st->calc, j->interval);
    bool reopened = w_overlaps(&st->reopened, j->interval);
    int64_t deleted = 0;
    rc = hs_store_delete_range(w->store, sid, j->interval, &deleted);
    if (rc != HS_OK)
        return rc;
    if (!reopened && (was_calc || deleted == 0)) {
        *pub = was_calc ? WPUB_NONE : WPUB_NEW;
        return HS_OK;
    }
    *pub = WPUB_CORRECTION;
    *recompute = true;
    if (hs_grow(&w->corrs, &w->capcorrs, w->ncorrs + 1, sizeof *w->corrs, 8) != HS_OK)
        return HS_ERR_NOMEM;
    wcorr *c = &w->corrs[w->ncorrs];
    c->sid = hs_strdup(sid);
    if (c->sid == NULL)
        return HS_ERR_NOMEM;
    c->iv = j->interval;
    hs_batch_init(&c->b);
    *corr = w->ncorrs++;
    rc = wdeps_change(w->deps, sid, j->interval.start + 1, j->interval.end, w->seq + 1);
    if (rc != HS_OK)
        return rc;
    /*
     * Its readers computed from the replaced values: what they calculated
     * from this interval since it was reopened (a job that read the old
     * values and committed before this one) is reopened now.
     */
    hs_intervals changed;
    hs_intervals_init(&changed);
    rc = hs_intervals_add(&changed, j->interval);
    if (rc == HS_OK)
        rc = w_changed(w, sid, &changed, "late", 0);
    hs_intervals_free(&changed);
    return rc;
}

/* Reopens sink sid of a job over iv (reason race). */
static int w_reopen_race(wcore *w, const char *sid, hs_interval iv)
{
    hs_intervals a;
    hs_intervals_init(&a);
    int rc = hs_intervals_add(&a, iv);
    if (rc == HS_OK)
        rc = w_reopen(w, sid, &a, "race", 0);
    hs_intervals_free(&a);
    return rc;
}

/* A change a job may have missed: its sink sid is reopened over what it touches. */
typedef struct wrace {
    wcore *w;
    const hs_proto_job *j;
    const char *sid; /* borrowed */
    int64_t lookback_us;
} wrace;

static int w_race_one(void *ud, const char *id, int64_t lo_us, int64_t hi_us)
{
    (void)id;
    wrace *x = ud;
    int64_t end = w_reach(hi_us, x->lookback_us);
    /*
     * Only the job's own interval: the sink's other calculated intervals
     * were either calculated when the change committed (the rule reopened
     * them then) or by jobs that check their own races.
     */
    hs_interval iv = {lo_us - 1, end};
    iv.start = iv.start > x->j->interval.start ? iv.start : x->j->interval.start;
    iv.end = iv.end < x->j->interval.end ? iv.end : x->j->interval.end;
    return iv.start < iv.end ? w_reopen_race(x->w, x->sid, iv) : HS_OK;
}

/* A change, for a job of several sinks: each of its sinks reading the stream, by its lookback. */
static int w_race_sinks(void *ud, const char *id, int64_t lo_us, int64_t hi_us)
{
    const wrace *x = ud;
    size_t n;
    const wdeps_reader *r = wdeps_readers(x->w->deps, id, &n);
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        if (hs_proto_job_sink_index(x->j, r[i].sink) < 0)
            continue;
        wrace one = {x->w, x->j, r[i].sink, r[i].lookback_us};
        rc = w_race_one(&one, id, lo_us, hi_us);
    }
    return rc;
}

/*
 * After job j's interval became calculated: what changed in a sink's read
 * range after the commit its reads saw (j->wseq) may be missing from its
 * results, so the part it touches is reopened at once. Each sink by what it
 * reads itself: the sinks of a job over several plate values read
 * different sources, so their sources are looked up together in one pass
 * over the changes, and a change reopens the sinks that read it. A job that
 * cannot tell (its wseq is from another writer incarnation, or older than
 * the changes remembered) is reopened over its whole interval.
 */
static int w_race_check(wcore *w, const hs_proto_job *j)
{
    /* What the job's sinks read, each stream once, and their longest lookback. */
    const char **src = NULL;
    size_t nsrc = 0, cap = 0;
    int64_t lookback = 0;
    bool any = false;
    hs_map seen;
    hs_map_init(&seen);
    int rc = HS_OK;
    for (size_t k = 0; rc == HS_OK && k < j->nsinks; k++) {
        const char *const *s;
        size_t n;
        int64_t lb;
        if (!wdeps_of(w->deps, j->sinks[k], &s, &n, &lb))
            continue;
        any = true;
        lookback = lb > lookback ? lb : lookback;
        for (size_t i = 0; rc == HS_OK && i < n; i++) {
            if (hs_map_get(&seen, s[i]) != NULL)
                continue;
            rc = hs_map_put(&seen, s[i], (void *)1, NULL);
            if (rc == HS_OK)
                rc = hs_grow(&src, &cap, nsrc + 1, sizeof *src, 16);
            if (rc == HS_OK)
                src[nsrc++] = s[i];
        }
    }
    bool complete = false;
    if (rc == HS_OK && any && j->wseq.epoch == w->epoch) {
        wrace x = {w, j, NULL, 0};
        hs_interval range = {j->interval.start - lookback, j->interval.end};
        rc = wdeps_changes_since(w->deps, j->wseq.seq, src, nsrc, range, w_race_sinks, &x,
                                 &complete);
    }
    for (size_t k = 0; rc == HS_OK && any && !complete && k < j->nsinks; k++) {
        const char *const *s;
        size_t n;
        int64_t lb;
        if (wdeps_of(w->deps, j->sinks[k], &s, &n, &lb))
            rc = w_reopen_race(w, j->sinks[k], j->interval);
    }
    hs_map_free(&seen);
    hs_free(src);
    return rc;
}

/*
 * Commits a complete job: parts[0..n) are its requests (all parts, in part
 * order) and pm[0..n) their decoded outputs (borrowed). Writes the outputs of
 * every part, adds the interval to every sink, records history and queues
 * the commit notice. Returns a store error to abort the transaction; problems
 * of the job itself reject all its parts.
 */
static int w_commit_job(wcore *w, wreq **parts, const hs_proto_jobout_msg *pm, uint32_t n)
{
    int rc = HS_OK;
    char why[600] = "";
    const hs_proto_jobout *o = &pm[0].out;
    const hs_proto_job *ji = &o->hdr;
    if (why[0] == '\0' && ji->output_plate == NULL && ji->nsinks == 0)
        snprintf(why, sizeof why, "job %s has no sinks", ji->job);
    if (why[0] != '\0') {
        for (uint32_t i = 0; i < n; i++)
            w_reject(parts[i], WS_REJECTED, "%s", why);
        return HS_OK;
    }
    if (ji->output_plate != NULL)
        return w_commit_plate_job(w, o);
    /* Every sink must still have the definition the job was computed for. */
    for (size_t k = 0; k < ji->nsinks && why[0] == '\0'; k++) {
        wstream *st;
        rc = w_stream(w, ji->sinks[k], &st);
        if (rc != HS_OK)
            return rc;
        if (!st->defined || st->kind != HS_STREAM_COMPUTED || strcmp(st->hash, ji->binding) != 0)
            snprintf(why, sizeof why,
                     "sink %.300s is %s; the job was computed for an older definition",
                     ji->sinks[k], st->defined ? "defined differently now" : "not defined");
    }
    if (why[0] != '\0') {
        for (uint32_t i = 0; i < n; i++)
            w_reject(parts[i], WS_STALE, "%s", why);
        return w_job_refused(w, o, HS_OUTCOME_STALE, why);
    }
    if (o->error != NULL)
        return w_job_refused(w, o, HS_OUTCOME_FAILED, o->error);
    /*
     * Every output is checked before anything is replaced: a malformed one
     * rejects the job and leaves its sinks as they were (the commit goes on
     * with the other requests).
     */
    for (uint32_t i = 0; i < n && why[0] == '\0'; i++) {
        for (size_t k = 0; k < pm[i].out.noutputs && why[0] == '\0'; k++) {
            const hs_proto_output *po = &pm[i].out.outputs[k];
            if (hs_codec_decode_mpack(po->batch, po->batch_len, false, &w->decoded) != HS_OK)
                snprintf(why, sizeof why, "job %s: malformed outputs of %.300s: %s", ji->job,
                         po->sid, hs_err_detail());
        }
    }
    if (why[0] != '\0') {
        for (uint32_t x = 0; x < n; x++)
            w_reject(parts[x], WS_REJECTED, "%s", why);
        return HS_OK;
    }
    size_t ns = ji->nsinks;
    wpub *pub = hs_calloc(ns, sizeof *pub);
    size_t *corr = hs_calloc(ns, sizeof *corr);
    rc = pub != NULL && corr != NULL ? HS_OK : HS_ERR_NOMEM;
    bool recompute = false;
    for (size_t k = 0; rc == HS_OK && k < ns; k++)
        rc = w_job_replace(w, ji, k, &pub[k], &corr[k], &recompute);
    uint64_t count = 0, inserted = 0, conflicts = 0;
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        wreq *r = parts[i];
        for (size_t k = 0; rc == HS_OK && k < pm[i].out.noutputs; k++) {
            const hs_proto_output *po = &pm[i].out.outputs[k];
            /* Checked above: only memory can fail now, and that aborts the transaction. */
            rc = hs_codec_decode_mpack(po->batch, po->batch_len, false, &w->decoded);
            if (rc != HS_OK)
                break;
            count += w->decoded.n;
            uint64_t before_ins = r->inserted, before_conf = r->conflicts;
            long s = hs_proto_job_sink_index(ji, po->sid);
            rc = w_write(w, r, po->sid, &w->decoded, NULL, 0, s >= 0 ? pub[s] : WPUB_NEW,
                         s >= 0 && pub[s] == WPUB_CORRECTION ? &w->corrs[corr[s]].b : NULL);
            inserted += r->inserted - before_ins;
            conflicts += r->conflicts - before_conf;
        }
    }
    hs_free(pub);
    hs_free(corr);
    hs_intervals add;
    hs_intervals_init(&add);
    if (rc == HS_OK)
        rc = hs_intervals_add(&add, ji->interval);
    for (size_t k = 0; rc == HS_OK && k < ji->nsinks; k++) {
        rc = hs_store_intervals_add(w->store, ji->sinks[k], &add);
        wstream *st = hs_map_get(&w->streams, ji->sinks[k]);
        if (rc == HS_OK && st != NULL)
            rc = hs_intervals_add(&st->calc, ji->interval);
        /* Computed again: no longer reopened. */
        if (rc == HS_OK && st != NULL && w_overlaps(&st->reopened, ji->interval)) {
            hs_intervals rest;
            hs_intervals_init(&rest);
            rc = hs_intervals_difference(&st->reopened, &add, &rest);
            if (rc == HS_OK) {
                hs_intervals_free(&st->reopened);
                st->reopened = rest;
                rc = w_reopened_store(w, ji->sinks[k], st);
            } else {
                hs_intervals_free(&rest);
            }
        }
    }
    hs_intervals_free(&add);
    if (rc == HS_OK)
        rc = w_race_check(w, ji);
    if (rc == HS_OK)
        rc = w_put_history(w, o, HS_OUTCOME_OK, NULL, count, inserted, conflicts, recompute);
    if (rc == HS_OK)
        rc = w_job_notice(w, o, HS_OUTCOME_OK, NULL, count, recompute);
    return rc;
}

static void wjob_free(wjob *j)
{
    if (j == NULL)
        return;
    for (uint32_t i = 0; i < j->parts; i++)
        wmsg_free(j->msgs[i]);
    hs_free(j->msgs);
    hs_free(j->reqs);
    hs_free(j->key);
    hs_free(j);
}

/* Parses the header fields of a request held in msg into r. */
static int w_parse(wcore *w, wmsg *msg, wreq *r);

/*
 * A job output part. Single-part jobs commit at once. Parts of multi-part
 * jobs move into w->jobs until all have arrived; a complete job is listed in
 * w->ready and committed with the transaction (and again, should that
 * transaction be retried), and its parts are acknowledged after the commit.
 */
static int w_op_job(wcore *w, wreq *r)
{
    hs_proto_jobout_msg pm;
    if (hs_proto_jobout_decode(&pm, &r->env) != HS_OK) {
        w_reject(r, WS_REJECTED, "%s", hs_err_detail());
        hs_proto_jobout_msg_free(&pm);
        return HS_OK;
    }
    uint32_t part = pm.out.part, parts = pm.out.parts;
    if (parts == 1) {
        wreq *one = r;
        int crc = w_commit_job(w, &one, &pm, 1);
        hs_proto_jobout_msg_free(&pm);
        return crc;
    }
    hs_buf_reset(&w->scratch);
    int rc = hs_buf_printf(&w->scratch, "%s:%llu:%s", r->sender, (unsigned long long)r->inc,
                           pm.out.hdr.job);
    char job[80];
    snprintf(job, sizeof job, "%s", pm.out.hdr.job);
    hs_proto_jobout_msg_free(&pm);
    if (rc != HS_OK)
        return rc;
    const char *key = hs_buf_cstr(&w->scratch);
    wjob *j = hs_map_get(&w->jobs, key);
    if (j == NULL) {
        j = hs_calloc(1, sizeof *j);
        if (j == NULL)
            return HS_ERR_NOMEM;
        j->parts = (uint32_t)parts;
        j->first_us = hs_time_mono_us();
        j->key = hs_strdup(key);
        j->msgs = hs_calloc(parts, sizeof *j->msgs);
        j->reqs = hs_calloc(parts, sizeof *j->reqs);
        if (j->key == NULL || j->msgs == NULL || j->reqs == NULL ||
            hs_map_put(&w->jobs, key, j, NULL) != HS_OK) {
            wjob_free(j);
            return HS_ERR_NOMEM;
        }
    }
    if (j->parts != parts) {
        w_reject(r, WS_REJECTED, "job %s: parts disagree on the part count", job);
        return HS_OK;
    }
    if (j->msgs[part] == NULL &&
        (int64_t)(w->jobs_bytes + r->msg->len) > w->cfg->job_parts_max_bytes) {
        w_reject(r, WS_REJECTED,
                 "job %s: %zu bytes of incomplete job outputs are held already (raise "
                 "job_parts_max_bytes)",
                 job, w->jobs_bytes);
        return HS_OK;
    }
    if (j->msgs[part] != NULL) {
        /* A re-sent part replaces the earlier copy. */
        j->bytes -= j->msgs[part]->len;
        w->jobs_bytes -= j->msgs[part]->len;
        wmsg_free(j->msgs[part]);
    } else {
        j->have++;
    }
    j->msgs[part] = r->msg;
    j->bytes += r->msg->len;
    w->jobs_bytes += r->msg->len;
    r->msg = NULL;
    r->held = true;
    if (j->have == j->parts && !j->ready) {
        if (hs_grow(&w->ready, &w->capready, w->nready + 1, sizeof *w->ready, 16) != HS_OK)
            return HS_ERR_NOMEM;
        w->ready[w->nready++] = j;
        j->ready = true;
    }
    return HS_OK;
}

/* Commits a complete multi-part job inside the open transaction. */
static int w_commit_ready(wcore *w, wjob *j)
{
    wreq **parts = hs_calloc(j->parts, sizeof *parts);
    hs_proto_jobout_msg *pm = hs_calloc(j->parts, sizeof *pm);
    if (parts == NULL || pm == NULL) {
        hs_free(parts);
        hs_free(pm);
        return HS_ERR_NOMEM;
    }
    int rc = HS_OK;
    for (uint32_t i = 0; rc == HS_OK && i < j->parts; i++) {
        memset(&j->reqs[i], 0, sizeof j->reqs[i]);
        rc = w_parse(w, j->msgs[i], &j->reqs[i]);
        parts[i] = &j->reqs[i];
    }
    /* Unreadable parts cannot be: they were parsed and decoded on arrival. */
    char why[600] = "";
    uint32_t ndecoded = 0;
    for (; rc == HS_OK && why[0] == '\0' && ndecoded < j->parts; ndecoded++)
        if (hs_proto_jobout_decode(&pm[ndecoded], &parts[ndecoded]->env) != HS_OK)
            snprintf(why, sizeof why, "%s", hs_err_detail());
    if (rc == HS_OK && why[0] != '\0') {
        for (uint32_t i = 0; i < j->parts; i++)
            w_reject(parts[i], WS_REJECTED, "%s", why);
    } else if (rc == HS_OK) {
        rc = w_commit_job(w, parts, pm, j->parts);
    } else {
        rc = HS_OK;
    }
    for (uint32_t i = 0; i < ndecoded; i++)
        hs_proto_jobout_msg_free(&pm[i]);
    hs_free(pm);
    hs_free(parts);
    return rc;
}

/* ------------------------------------------------------------------ batch */

static int w_parse(wcore *w, wmsg *msg, wreq *r)
{
    (void)w;
    r->msg = msg;
    int rc = hs_proto_wreq_envelope(msg->payload, msg->len, &r->env);
    if (rc != HS_OK)
        return rc;
    r->inc = r->env.inc;
    r->seq = r->env.seq;
    /* The sender is the last level of the topic <prefix>/w/<sender>. */
    const char *slash = strrchr(msg->topic, '/');
    if (slash == NULL || slash[1] == '\0' || strlen(slash + 1) >= sizeof r->sender)
        return hs_err_set(HS_ERR_PARSE, "request topic %s names no sender", msg->topic);
    snprintf(r->sender, sizeof r->sender, "%s", slash + 1);
    return HS_OK;
}

static int w_apply(wcore *w, wreq *r)
{
    r->status = WS_OK;
    r->err[0] = '\0';
    r->inserted = r->duplicates = r->conflicts = 0;
    if (r->env.op == HS_OP_JOB)
        return w_op_job(w, r);
    if (r->env.op == HS_OP_UNKNOWN) {
        w_reject(r, WS_REJECTED, "unknown op '%s'", r->env.op_text);
        return HS_OK;
    }
    hs_proto_wreq_msg m;
    int rc = HS_OK;
    if (hs_proto_wreq_decode(&m, &r->env) != HS_OK)
        w_reject(r, WS_REJECTED, "%s", hs_err_detail());
    else if (m.op == HS_OP_APPEND)
        rc = w_op_append(w, r, &m.u.append);
    else if (m.op == HS_OP_APPEND_MANY)
        rc = w_op_append_many(w, r, &m.u.append_many);
    else if (m.op == HS_OP_DEFINE)
        rc = w_op_define(w, r, &m.u.define);
    else if (m.op == HS_OP_PURGE)
        rc = w_op_purge(w, r, &m.u.purge);
    else if (m.op == HS_OP_INVALIDATE)
        rc = w_op_invalidate(w, r, &m.u.invalidate);
    else if (m.op == HS_OP_DOCS)
        rc = w_op_docs(w, r, &m.u.docs);
    else
        rc = w_op_doc(w, r, &m.u.doc);
    hs_proto_wreq_msg_free(&m);
    return rc;
}

static void w_results_clear(wcore *w)
{
    for (size_t i = 0; i < w->nraw; i++)
        hs_free(w->raws[i].sid);
    w->nraw = 0;
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&w->pubs, &pos)) != NULL) {
        hs_batch_free(e->value);
        hs_free(e->value);
    }
    hs_map_free(&w->pubs);
    pos = 0;
    while ((e = hs_map_next(&w->acks, &pos)) != NULL) {
        wacks *a = e->value;
        hs_buf_free(&a->items);
        hs_free(a);
    }
    hs_map_free(&w->acks);
    hs_buf_reset(&w->notices);
    w->nnotices = 0;
    hs_buf_reset(&w->deads);
    w->ndeads = 0;
    for (size_t i = 0; i < w->ncorrs; i++) {
        hs_free(w->corrs[i].sid);
        hs_batch_free(&w->corrs[i].b);
    }
    w->ncorrs = 0;
    hs_buf_reset(&w->mons);
    w->nmons = 0;
}

/* What late data counted before a transaction, restored should it roll back. */
typedef struct wlate {
    uint64_t reopened, ignored, purged;
} wlate;

/*
 * Rolls the open transaction back with everything the core remembers of
 * it: cached streams, results to publish, changes in the ring, late-data
 * counts, and the dependencies its defines set (loaded again from the
 * store before the next transaction).
 */
static void w_rollback(wcore *w, wlate before)
{
    (void)hs_store_rollback(w->store);
    w_streams_clear(w);
    w_results_clear(w);
    wdeps_forget_from(w->deps, w->seq + 1);
    w->late_reopened = before.reopened;
    w->late_ignored = before.ignored;
    w->purged = before.purged;
    w->deps_loaded = false;
}

/*
 * The open transaction committed: the next one gets the next sequence
 * number, and the metrics count what it reopened and ignored (only now, so
 * that they never hold what a rolled-back transaction counted).
 */
static void w_committed(wcore *w, wlate before)
{
    w->seq++;
    w->counters->late_reopened += w->late_reopened - before.reopened;
    w->counters->late_ignored += w->late_ignored - before.ignored;
    w->counters->purged += w->purged - before.purged;
}

/*
 * Applies reqs[from, to) in one transaction, plus the complete multi-part
 * jobs when with_ready.
 */
static int w_apply_range(wcore *w, size_t from, size_t to, bool with_ready)
{
    int rc = w_deps_load(w);
    if (rc != HS_OK)
        return rc;
    wlate before = {w->late_reopened, w->late_ignored, w->purged};
    rc = hs_store_begin(w->store);
    for (size_t i = from; rc == HS_OK && i < to && i < w->nreqs; i++) {
        if (w->reqs[i].msg == NULL)
            continue; /* a part that moved into w->jobs */
        rc = w_apply(w, &w->reqs[i]);
    }
    for (size_t k = 0; with_ready && rc == HS_OK && k < w->nready; k++)
        rc = w_commit_ready(w, w->ready[k]);
    if (rc == HS_OK)
        rc = hs_store_commit(w->store);
    if (rc != HS_OK) {
        w_rollback(w, before);
        return rc;
    }
    w_committed(w, before);
    return HS_OK;
}

static int w_ack_add(wcore *w, const wreq *r)
{
    char key[200];
    snprintf(key, sizeof key, "%s:%llu", r->sender, (unsigned long long)r->inc);
    wacks *a = hs_map_get(&w->acks, key);
    if (a == NULL) {
        a = hs_calloc(1, sizeof *a);
        if (a == NULL)
            return HS_ERR_NOMEM;
        a->inc = r->inc;
        snprintf(a->sender, sizeof a->sender, "%s", r->sender);
        hs_buf_init(&a->items, 0);
        if (hs_map_put(&w->acks, key, a, NULL) != HS_OK) {
            hs_free(a);
            return HS_ERR_NOMEM;
        }
    }
    hs_proto_ack_item it = {
        .seq = r->seq,
        .status = (hs_proto_ack_status)r->status,
        .inserted = r->inserted,
        .duplicates = r->duplicates,
        .conflicts = r->conflicts,
        .reason = r->err[0] != '\0' ? r->err : "rejected",
    };
    int rc = hs_proto_ack_item_encode(&a->items, &it);
    if (rc == HS_OK)
        a->n++;
    return rc;
}

/*
 * Appends one output [kind, topic, reason, payload] to the queue; the
 * strings are stored with their NUL. On failure the queue is unchanged.
 */
static int w_out_add(wcore *w, wcore_out_kind kind, const char *topic, size_t topic_len,
                     const char *reason, size_t reason_len, const void *p, size_t len)
{
    return w_out_put(w, kind, topic, topic_len, reason, reason_len, "", 0, p, len);
}

/* Queues one output: [kind, topic, reason, stream, payload], texts with their NUL. */
static int w_out_put(wcore *w, wcore_out_kind kind, const char *topic, size_t topic_len,
                     const char *reason, size_t reason_len, const char *stream, size_t stream_len,
                     const void *p, size_t len)
{
    size_t before = w->out.len;
    int rc = hs_mp_put_uint(&w->out, (uint64_t)kind);
    /* A bin of the text and its NUL: the text, then one more byte. */
    if (rc == HS_OK)
        rc = hs_mp_put_bin(&w->out, topic, topic_len + 1);
    if (rc == HS_OK)
        rc = hs_mp_put_bin(&w->out, reason, reason_len + 1);
    if (rc == HS_OK)
        rc = hs_mp_put_bin(&w->out, stream, stream_len + 1);
    if (rc == HS_OK)
        rc = hs_mp_put_bin(&w->out, p, len);
    if (rc != HS_OK)
        w->out.len = before;
    return rc;
}

/* Queues the acknowledgement of every part of a committed (or rejected) job and frees it. */
static void w_ack_job(wcore *w, wjob *j)
{
    for (uint32_t i = 0; i < j->parts; i++) {
        if (w_ack_add(w, &j->reqs[i]) != HS_OK)
            hs_error(w->log, "out of memory building acknowledgements");
        w->counters->instances_out += j->reqs[i].inserted;
    }
    w->jobs_bytes -= j->bytes;
    hs_map_remove(&w->jobs, j->key);
    wjob_free(j);
}

/*
 * Queues the correction c as messages of at most step instances, each
 * covering its own part of the interval: the first from the interval's
 * start, each to its last instance, the last to the interval's end.
 * Returns the number of messages that could not be queued.
 */
static size_t w_publish_correction(wcore *w, const wcorr *c, size_t step, hs_buf *out)
{
    size_t failed = 0;
    hs_buf_reset(&w->topic);
    if (hs_buf_printf(&w->topic, "c/%s", c->sid) != HS_OK)
        return 1;
    int64_t from = c->iv.start;
    size_t i = 0;
    do {
        size_t cnt = c->b.n - i < step ? c->b.n - i : step;
        bool last = i + cnt >= c->b.n;
        hs_interval iv = {from, last ? c->iv.end : c->b.items[i + cnt - 1].t_us};
        hs_buf batch;
        hs_buf_init(&batch, 0);
        hs_buf_reset(out);
        int rc =
            cnt > 0 ? hs_codec_encode_mpack(&c->b, i, cnt, &batch) : hs_mp_put_array(&batch, 0);
        hs_proto_correction pc = {iv, batch.data, batch.len};
        if (rc == HS_OK && iv.start < iv.end)
            rc = hs_proto_correction_encode(out, &pc);
        if (rc == HS_OK && iv.start < iv.end)
            rc = w_out_add(w, WCORE_OUT_DATA, hs_buf_cstr(&w->topic), w->topic.len, "", 0,
                           out->data, out->len);
        if (rc != HS_OK)
            failed++;
        hs_buf_free(&batch);
        from = iv.end;
        i += cnt;
    } while (i < c->b.n);
    return failed;
}

/*
 * Queues what the last commit produced as outputs: conflicts' dead letters,
 * committed data, acknowledgements, notices; then clears the results.
 */
static void w_publish_results(wcore *w)
{
    size_t failed = 0;
    hs_mp_reader rd;
    hs_mp_reader_init(&rd, w->deads.data, w->deads.len);
    for (size_t i = 0; i < w->ndeads; i++) {
        const char *reason, *topic, *sid;
        uint32_t rl, tl, sl, pl;
        const uint8_t *p;
        if (hs_mp_get_str(&rd, &reason, &rl) != HS_OK || hs_mp_get_str(&rd, &topic, &tl) != HS_OK ||
            hs_mp_get_str(&rd, &sid, &sl) != HS_OK || hs_mp_get_bin(&rd, &p, &pl) != HS_OK)
            break;
        /* The strings are not NUL-terminated in w->deads: copy them first. */
        hs_buf_reset(&w->topic);
        hs_buf_reset(&w->json);
        hs_buf_reset(&w->scratch);
        if (hs_buf_append(&w->topic, topic, tl) != HS_OK ||
            hs_buf_append(&w->json, reason, rl) != HS_OK ||
            hs_buf_append(&w->scratch, sid, sl) != HS_OK ||
            w_out_put(w, WCORE_OUT_DEAD, hs_buf_cstr(&w->topic), tl, hs_buf_cstr(&w->json), rl,
                      hs_buf_cstr(&w->scratch), sl, p, pl) != HS_OK)
            failed++;
    }
    size_t pos = 0;
    hs_map_entry *e;
    hs_buf out;
    hs_buf_init(&out, 0);
    size_t step = w->cfg->publish_max_instances > 0 ? (size_t)w->cfg->publish_max_instances : 1;
    while ((e = hs_map_next(&w->pubs, &pos)) != NULL) {
        hs_batch *b = e->value;
        hs_buf_reset(&w->topic);
        if (hs_buf_printf(&w->topic, "s/%s", e->key) != HS_OK) {
            failed++;
            continue;
        }
        for (size_t from = 0; from < b->n; from += step) {
            size_t cnt = b->n - from < step ? b->n - from : step;
            hs_buf_reset(&out);
            if (hs_codec_encode_mpack(b, from, cnt, &out) != HS_OK ||
                w_out_add(w, WCORE_OUT_DATA, hs_buf_cstr(&w->topic), w->topic.len, "", 0, out.data,
                          out.len) != HS_OK)
                failed++;
        }
    }
    for (size_t i = 0; i < w->nraw; i++) {
        hs_buf_reset(&w->topic);
        if (hs_buf_printf(&w->topic, "s/%s", w->raws[i].sid) != HS_OK ||
            w_out_add(w, WCORE_OUT_DATA, hs_buf_cstr(&w->topic), w->topic.len, "", 0, w->raws[i].p,
                      w->raws[i].len) != HS_OK)
            failed++;
    }
    for (size_t i = 0; i < w->ncorrs; i++)
        failed += w_publish_correction(w, &w->corrs[i], step, &out);
    hs_mp_reader_init(&rd, w->mons.data, w->mons.len);
    for (size_t i = 0; i < w->nmons; i++) {
        const char *name, *text;
        uint32_t nl, tl;
        if (hs_mp_get_str(&rd, &name, &nl) != HS_OK || hs_mp_get_str(&rd, &text, &tl) != HS_OK)
            break;
        hs_buf_reset(&w->topic);
        hs_buf_reset(&w->json);
        if (hs_buf_append(&w->topic, name, nl) != HS_OK ||
            hs_buf_append(&w->json, text, tl) != HS_OK ||
            w_out_add(w, WCORE_OUT_MON, hs_buf_cstr(&w->topic), nl, hs_buf_cstr(&w->json), tl, "",
                      0) != HS_OK)
            failed++;
    }
    pos = 0;
    while ((e = hs_map_next(&w->acks, &pos)) != NULL) {
        wacks *a = e->value;
        hs_buf_reset(&out);
        hs_buf_reset(&w->topic);
        if (hs_proto_ack_encode(&out, a->inc, a->items.data, a->items.len, a->n) != HS_OK ||
            hs_buf_printf(&w->topic, "ack/%s", a->sender) != HS_OK ||
            w_out_add(w, WCORE_OUT_ACK, hs_buf_cstr(&w->topic), w->topic.len, "", 0, out.data,
                      out.len) != HS_OK)
            failed++;
    }
    hs_mp_reader_init(&rd, w->notices.data, w->notices.len);
    for (size_t i = 0; i < w->nnotices; i++) {
        const char *t;
        uint32_t tl;
        const uint8_t *p;
        uint32_t pl;
        if (hs_mp_get_str(&rd, &t, &tl) != HS_OK || hs_mp_get_bin(&rd, &p, &pl) != HS_OK)
            break;
        hs_buf_reset(&w->topic);
        if (hs_buf_append(&w->topic, t, tl) != HS_OK ||
            w_out_add(w, WCORE_OUT_NOTICE, hs_buf_cstr(&w->topic), tl, "", 0, p, pl) != HS_OK)
            failed++;
    }
    hs_buf_free(&out);
    if (failed > 0) {
        w->counters->errors++;
        hs_error(w->log, "out of memory: %zu messages of a commit will not be published", failed);
    }
    w_results_clear(w);
}

/* Queues the acknowledgement of request r (not for parts held by a job). */
static void w_ack_req(wcore *w, wreq *r)
{
    if (r->held)
        return;
    if (r->status != WS_OK) {
        w->counters->errors++;
        hs_warn(w->log, "rejected %s request %llu from %s: %s", r->env.op_text,
                (unsigned long long)r->seq, r->sender, r->err);
    }
    if (w_ack_add(w, r) != HS_OK)
        hs_error(w->log, "out of memory building acknowledgements");
    w->counters->instances_out += r->inserted;
}

/* After the commit of a whole batch. */
static void w_post_commit(wcore *w)
{
    for (size_t i = 0; i < w->nreqs; i++)
        w_ack_req(w, &w->reqs[i]);
    for (size_t k = 0; k < w->nready; k++)
        w_ack_job(w, w->ready[k]);
    w->nready = 0;
    w_publish_results(w);
}

static void w_batch_free(wcore *w)
{
    for (size_t i = 0; i < w->nreqs; i++)
        wmsg_free(w->reqs[i].msg);
    w->nreqs = 0;
    w->instances = 0;
}

/* Waits delay_ms through the wait function; false: do not retry. */
static bool w_wait(wcore *w, int delay_ms)
{
    return w->wait != NULL && w->wait(w->wait_ud, delay_ms);
}

int wcore_commit(wcore *w)
{
    int backoff = 100;
    for (;;) {
        int rc = w_apply_range(w, 0, w->nreqs, true);
        if (rc == HS_OK)
            break;
        char msg[600];
        hs_err_describe(rc, msg, sizeof msg);
        if (rc == HS_ERR_IO || rc == HS_ERR_NOMEM) {
            hs_error(w->log, "store write failed, will retry in %d ms: %s", backoff, msg);
            w->counters->errors++;
            if (!w_wait(w, backoff))
                return rc;
            backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
            continue;
        }
        hs_error(w->log, "store rejected a batch (%s); retrying its requests one by one", msg);
        for (size_t i = 0; i < w->nreqs; i++) {
            wreq *r = &w->reqs[i];
            if (r->msg == NULL)
                continue;
            int r1 = w_apply_range(w, i, i + 1, false);
            while (r1 == HS_ERR_IO && w_wait(w, 1000))
                r1 = w_apply_range(w, i, i + 1, false);
            if (r1 != HS_OK)
                w_reject(r, WS_REJECTED, "store error: %s", hs_err_describe(r1, msg, sizeof msg));
            w_ack_req(w, r);
            w_publish_results(w);
        }
        /* Complete jobs one by one; a job the store refuses is rejected with its parts. */
        for (size_t k = 0; k < w->nready; k++) {
            wjob *j = w->ready[k];
            wlate before = {w->late_reopened, w->late_ignored, w->purged};
            int r1 = w_deps_load(w);
            if (r1 == HS_OK)
                r1 = hs_store_begin(w->store);
            if (r1 == HS_OK)
                r1 = w_commit_ready(w, j);
            if (r1 == HS_OK)
                r1 = hs_store_commit(w->store);
            if (r1 == HS_OK)
                w_committed(w, before);
            if (r1 != HS_OK) {
                w_rollback(w, before);
                for (uint32_t p = 0; p < j->parts; p++)
                    w_reject(&j->reqs[p], WS_REJECTED, "store error: %s",
                             hs_err_describe(r1, msg, sizeof msg));
            }
            w_ack_job(w, j);
            w_publish_results(w);
        }
        w->nready = 0;
        w_batch_free(w);
        return HS_OK;
    }
    w_post_commit(w);
    w_batch_free(w);
    return HS_OK;
}

/* Collects stream ids that a retention rule matches, with their purge ends. */
typedef struct wretain_list {
    const hs_retain *rules; /* borrowed */
    int64_t now_us;
    char **ids;      /* owned array of owned ids */
    int64_t *before; /* purge end of ids[i] */
    size_t n, cap, capb;
} wretain_list;

static int w_retain_collect(void *ud, const hs_stream_info *info)
{
    wretain_list *l = ud;
    int64_t keep = 0;
    if (!hs_retain_match(l->rules, info->id, &keep))
        return 0;
    int64_t before = keep > l->now_us - HS_TIME_MIN ? HS_TIME_MIN - 1 : l->now_us - keep;
    /* A raw stream's covered interval spans all its instances: none is at or before the
     * end when it starts there. (A computed stream may hold instances in reopened
     * intervals, outside its calculated ones: it is always looked at.) */
    if (info->kind == HS_STREAM_RAW &&
        (hs_intervals_is_empty(&info->calculated) || info->calculated.v[0].start >= before))
        return 0;
    if (hs_grow(&l->ids, &l->cap, l->n + 1, sizeof *l->ids, 16) != HS_OK ||
        hs_grow(&l->before, &l->capb, l->n + 1, sizeof *l->before, 16) != HS_OK)
        return HS_ERR_NOMEM;
    l->ids[l->n] = hs_strdup(info->id);
    if (l->ids[l->n] == NULL)
        return HS_ERR_NOMEM;
    l->before[l->n++] = before;
    return 0;
}

/* Collects keys of job history records committed before a time. */
typedef struct whist_list {
    size_t prefix_len; /* "<workflow>/" */
    int64_t before_us;
    char **keys; /* owned array of owned keys */
    size_t n, cap;
} whist_list;

/* Appends a copy of key to l's keys; 0, or HS_ERR_NOMEM. */
static int w_keys_add(whist_list *l, const char *key)
{
    if (hs_grow(&l->keys, &l->cap, l->n + 1, sizeof *l->keys, 64) != HS_OK)
        return HS_ERR_NOMEM;
    l->keys[l->n] = hs_strdup(key);
    if (l->keys[l->n] == NULL)
        return HS_ERR_NOMEM;
    l->n++;
    return 0;
}

static int w_hist_collect(void *ud, const char *key, const char *json)
{
    (void)json;
    whist_list *l = ud;
    /* Keys are <workflow>/<committed_us, 20 digits>/<job> (w_put_history). */
    const char *t = key + l->prefix_len;
    char *end = NULL;
    long long committed = strtoll(t, &end, 10);
    if (end == t || *end != '/')
        return 0; /* not a record of this workflow (a workflow id with a '/' prefix of another) */
    if (committed >= l->before_us)
        return 1; /* in key order, so every later record is newer */
    return w_keys_add(l, key);
}

/* Collects, newest first, the keys of the records beyond the newest max (whist_list.before_us). */
static int w_hist_over(void *ud, const char *key, const char *json)
{
    (void)json;
    whist_list *l = ud;
    if (l->before_us > 0) {
        l->before_us--; /* one of the newest max, kept */
        return 0;
    }
    return w_keys_add(l, key);
}

/* Collects workflow ids (the keys of docs/workflows). */
static int w_wf_collect(void *ud, const char *key, const char *json)
{
    (void)json;
    whist_list *l = ud;
    return w_keys_add(l, key);
}

static void w_strs_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hs_free(v[i]);
    hs_free(v);
}

/*
 * Deletes the job history records of each stored workflow committed before
 * before_us (with before_us > HS_TIME_MIN) and those beyond its newest max
 * (with max > 0), at most budget; the count in *deleted.
 */
static int w_retain_history(wcore *w, int64_t before_us, int64_t max, int64_t budget,
                            uint64_t *deleted, bool *more)
{
    whist_list wfs = {0};
    int rc = hs_store_doc_list(w->store, "workflows", "", false, 0, w_wf_collect, &wfs);
    for (size_t i = 0; rc == HS_OK && i < 2 * wfs.n && (int64_t)*deleted < budget; i++) {
        /* Each workflow twice: records too old, then records too many. */
        bool by_count = i % 2 == 1;
        if (by_count ? max <= 0 : before_us <= HS_TIME_MIN)
            continue;
        hs_buf_reset(&w->scratch);
        rc = hs_buf_printf(&w->scratch, "%s/", wfs.keys[i / 2]);
        whist_list h = {w->scratch.len, by_count ? max : before_us, NULL, 0, 0};
        size_t limit = (size_t)(budget - (int64_t)*deleted);
        if (rc == HS_OK && by_count)
            rc = hs_store_doc_list(w->store, "history", hs_buf_cstr(&w->scratch), true,
                                   (size_t)max + limit, w_hist_over, &h);
        else if (rc == HS_OK)
            rc = hs_store_doc_list(w->store, "history", hs_buf_cstr(&w->scratch), false, limit,
                                   w_hist_collect, &h);
        rc = rc == 1 ? HS_OK : rc;
        for (size_t k = 0; rc == HS_OK && k < h.n; k++) {
            rc = hs_store_doc_delete(w->store, "history", h.keys[k]);
            rc = rc == HS_ERR_NOTFOUND ? HS_OK : rc;
            if (rc == HS_OK)
                (*deleted)++;
        }
        if (rc == HS_OK && h.n == limit)
            *more = true;
        w_strs_free(h.keys, h.n);
    }
    w_strs_free(wfs.keys, wfs.n);
    return rc;
}

/* A closed session, collected by a retention pass. */
typedef struct wsess {
    char *key;      /* owned: its key in docs/sessions */
    char *workflow; /* owned */
    int64_t ended_us;
    bool drop; /* to be deleted */
} wsess;

/* The closed sessions of docs/sessions, and the documents that do not decode. */
typedef struct wsess_list {
    wsess *v; /* owned array */
    size_t n, cap;
    uint64_t unreadable; /* documents that do not decode (kept) */
    char first_bad[400]; /* the first of them: its key and the decoder's detail */
} wsess_list;

/* Collects a closed session into a wsess_list, or counts a document that does not decode. */
static int w_sess_collect(void *ud, const char *key, const char *json)
{
    wsess_list *l = ud;
    hs_proto_session_doc_msg m;
    int rc = hs_proto_session_doc_decode(&m, json, strlen(json));
    if (rc == HS_ERR_NOMEM) {
        hs_proto_session_doc_msg_free(&m);
        return rc;
    }
    if (rc != HS_OK) {
        /* Kept: a document the scheduler cannot have written is for an operator to look at. */
        if (l->unreadable++ == 0)
            snprintf(l->first_bad, sizeof l->first_bad, "%s: %s", key, hs_err_detail());
        hs_proto_session_doc_msg_free(&m);
        return 0;
    }
    if (!m.d.active) {
        rc = hs_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v, 64);
        wsess *x = rc == HS_OK ? &l->v[l->n] : NULL;
        if (x != NULL) {
            *x = (wsess){hs_strdup(key), hs_strdup(m.d.workflow), m.d.ended_us, false};
            l->n++; /* counted even when a copy failed, so that it is freed */
            rc = x->key == NULL || x->workflow == NULL ? HS_ERR_NOMEM : HS_OK;
        }
    }
    hs_proto_session_doc_msg_free(&m);
    return rc;
}

/* Orders closed sessions by workflow, then newest end first (key for equal ends). */
static int w_sess_by_workflow(const void *a, const void *b)
{
    const wsess *x = a, *y = b;
    int c = strcmp(x->workflow, y->workflow);
    if (c != 0)
        return c;
    if (x->ended_us != y->ended_us)
        return x->ended_us > y->ended_us ? -1 : 1;
    return -strcmp(x->key, y->key);
}

/* Orders closed sessions oldest end first (key for equal ends). */
static int w_sess_by_end(const void *a, const void *b)
{
    const wsess *x = a, *y = b;
    if (x->ended_us != y->ended_us)
        return x->ended_us < y->ended_us ? -1 : 1;
    return strcmp(x->key, y->key);
}

/*
 * Deletes the closed sessions (docs/sessions) that ended before before_us
 * (with before_us > HS_TIME_MIN) and those beyond the newest max closed
 * sessions of their workflow (with max > 0), the oldest first, at most
 * budget; the count in *deleted. Active sessions are never deleted, and
 * documents that do not decode are kept and logged in one line.
 */
static int w_retain_sessions(wcore *w, int64_t before_us, int64_t max, int64_t budget,
                             uint64_t *deleted, bool *more)
{
    wsess_list l = {0};
    int rc = hs_store_doc_list(w->store, "sessions", "", false, 0, w_sess_collect, &l);
    if (rc == HS_OK && l.unreadable > 0)
        hs_warn(w->log, "retention: %llu session documents do not decode and are kept (%s)",
                (unsigned long long)l.unreadable, l.first_bad);
    if (rc == HS_OK && max > 0 && l.n > 0) {
        qsort(l.v, l.n, sizeof *l.v, w_sess_by_workflow);
        int64_t rank = 0;
        for (size_t i = 0; i < l.n; i++) {
            rank = i > 0 && strcmp(l.v[i].workflow, l.v[i - 1].workflow) == 0 ? rank + 1 : 0;
            if (rank >= max)
                l.v[i].drop = true;
        }
    }
    if (rc == HS_OK && l.n > 0)
        qsort(l.v, l.n, sizeof *l.v, w_sess_by_end);
    for (size_t i = 0; rc == HS_OK && i < l.n; i++) {
        if (!l.v[i].drop && !(before_us > HS_TIME_MIN && l.v[i].ended_us < before_us))
            continue;
        if ((int64_t)*deleted >= budget) {
            *more = true;
            break;
        }
        rc = hs_store_doc_delete(w->store, "sessions", l.v[i].key);
        rc = rc == HS_ERR_NOTFOUND ? HS_OK : rc;
        if (rc == HS_OK)
            (*deleted)++;
    }
    for (size_t i = 0; i < l.n; i++) {
        hs_free(l.v[i].key);
        hs_free(l.v[i].workflow);
    }
    hs_free(l.v);
    return rc;
}

int wcore_retain(wcore *w, const hs_retain *rules, int64_t history_keep_us, int64_t history_max,
                 int64_t now_us, int64_t max_instances, wcore_retain_result *res)
{
    memset(res, 0, sizeof *res);
    int64_t budget = max_instances > 0 ? max_instances : INT64_MAX;
    wretain_list l = {.rules = rules, .now_us = now_us};
    wlate before = {w->late_reopened, w->late_ignored, w->purged};
    int rc = HS_OK;
    if (rules != NULL && rules->n > 0)
        rc = hs_store_stream_list(w->store, "", w_retain_collect, &l);
    if (rc == HS_OK)
        rc = hs_store_begin(w->store);
    else
        goto out;
    for (size_t i = 0; rc == HS_OK && i < l.n; i++) {
        if ((int64_t)res->instances >= budget) {
            res->more = true;
            break;
        }
        int64_t deleted = 0, through = 0;
        size_t notices = w->nnotices;
        rc = w_purge_before(w, l.ids[i], l.before[i], budget - (int64_t)res->instances, &deleted,
                            &through);
        if (rc == HS_ERR_NOTFOUND) {
            rc = HS_OK; /* removed since it was listed */
            continue;
        }
        if (rc != HS_OK)
            break;
        if (through < l.before[i])
            res->more = true;
        res->instances += (uint64_t)deleted;
        w->purged += (uint64_t)deleted;
        if (w->nnotices > notices)
            res->streams++;
    }
    int64_t hist_before = history_keep_us > 0 && history_keep_us < now_us - HS_TIME_MIN
                              ? now_us - history_keep_us
                              : HS_TIME_MIN;
    if (rc == HS_OK && (hist_before > HS_TIME_MIN || history_max > 0))
        rc = w_retain_history(w, hist_before, history_max, budget, &res->history, &res->more);
    if (rc == HS_OK && (hist_before > HS_TIME_MIN || history_max > 0))
        rc = w_retain_sessions(w, hist_before, history_max, budget, &res->sessions, &res->more);
    if (rc == HS_OK)
        rc = hs_store_commit(w->store);
    if (rc != HS_OK) {
        w_rollback(w, before);
        memset(res, 0, sizeof *res);
        goto out;
    }
    w_committed(w, before);
    w_publish_results(w);
out:
    w_strs_free(l.ids, l.n);
    hs_free(l.before);
    return rc;
}

void wcore_expire_jobs(wcore *w, int64_t now_us)
{
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&w->jobs, &pos)) != NULL) {
        wjob *j = e->value;
        if (j->ready || now_us - j->first_us < w->cfg->job_parts_ttl_us)
            continue;
        hs_warn(w->log, "dropping incomplete job output %s (%u of %u parts arrived)", e->key,
                j->have, j->parts);
        w->jobs_bytes -= j->bytes;
        hs_map_remove(&w->jobs, e->key);
        wjob_free(j);
    }
}

int wcore_add(wcore *w, const char *topic, const void *payload, size_t len)
{
    hs_metrics_counters *c = w->counters;
    c->msgs_in++;
    size_t tl = strlen(topic);
    if (len > SIZE_MAX / 2 || tl > SIZE_MAX / 4)
        return HS_ERR_NOMEM;
    if (hs_grow(&w->reqs, &w->capreqs, w->nreqs + 1, sizeof *w->reqs, 256) != HS_OK)
        return HS_ERR_NOMEM;
    wmsg *msg = hs_malloc(sizeof *msg + tl + 1 + len + 1);
    if (msg == NULL)
        return HS_ERR_NOMEM;
    msg->topic = (char *)(msg + 1);
    memcpy(msg->topic, topic, tl + 1);
    msg->payload = (uint8_t *)msg->topic + tl + 1;
    if (len > 0)
        memcpy(msg->payload, payload, len);
    msg->payload[len] = 0;
    msg->len = len;
    wreq *r = &w->reqs[w->nreqs];
    memset(r, 0, sizeof *r);
    int rc = w_parse(w, msg, r);
    if (rc != HS_OK) {
        char reason[600];
        snprintf(reason, sizeof reason, "unreadable write request: %s", hs_err_detail());
        rc = w_out_add(w, WCORE_OUT_DEAD, msg->topic, tl, reason, strlen(reason), msg->payload,
                       msg->len);
        wmsg_free(msg);
        return rc;
    }
    /* Rough size for batching: the payload bytes over ~20 bytes per instance. */
    r->instances = msg->len / 20 + 1;
    c->instances_in += r->instances;
    w->instances += r->instances;
    w->nreqs++;
    return HS_OK;
}

size_t wcore_batch_requests(const wcore *w)
{
    return w->nreqs;
}

bool wcore_batch_full(const wcore *w)
{
    return (int64_t)w->nreqs >= w->cfg->batch_max_requests ||
           (int64_t)w->instances >= w->cfg->batch_max_instances;
}

size_t wcore_held_bytes(const wcore *w)
{
    return w->jobs_bytes;
}

bool wcore_next(wcore *w, wcore_out *o)
{
    if (w->out_pos >= w->out.len) {
        /* Drained: give the memory of a burst back. */
        hs_buf_free(&w->out);
        hs_buf_init(&w->out, 0);
        w->out_pos = 0;
        return false;
    }
    hs_mp_reader rd;
    hs_mp_reader_init(&rd, w->out.data + w->out_pos, w->out.len - w->out_pos);
    uint64_t kind = 0;
    const uint8_t *t = NULL, *why = NULL, *sid = NULL, *p = NULL;
    uint32_t tl = 0, wl = 0, sl = 0, pl = 0;
    if (hs_mp_get_uint(&rd, &kind) != HS_OK || hs_mp_get_bin(&rd, &t, &tl) != HS_OK ||
        hs_mp_get_bin(&rd, &why, &wl) != HS_OK || hs_mp_get_bin(&rd, &sid, &sl) != HS_OK ||
        hs_mp_get_bin(&rd, &p, &pl) != HS_OK) {
        /* Cannot be: the queue is written whole records at a time. */
        w->out_pos = w->out.len;
        return false;
    }
    w->out_pos = (size_t)(rd.p - w->out.data);
    o->kind = (wcore_out_kind)kind;
    o->topic = (const char *)t;
    o->reason = (const char *)why;
    o->stream = (const char *)sid;
    o->payload = p;
    o->len = pl;
    return true;
}

void wcore_wseq(const wcore *w, uint64_t *epoch, uint64_t *seq)
{
    *epoch = w->epoch;
    *seq = w->seq;
}

void wcore_late_counts(const wcore *w, uint64_t *reopened, uint64_t *ignored)
{
    *reopened = w->late_reopened;
    *ignored = w->late_ignored;
}

void wcore_set_wait(wcore *w, wcore_wait_fn fn, void *ud)
{
    w->wait = fn;
    w->wait_ud = ud;
}

int wcore_create(wcore **out, hs_store *store, const wcore_cfg *cfg, hs_log *log,
                 hs_metrics_counters *counters)
{
    *out = NULL;
    wcore *w = hs_calloc(1, sizeof *w);
    if (w == NULL)
        return HS_ERR_NOMEM;
    w->store = store;
    w->cfg = cfg;
    w->log = log;
    w->counters = counters != NULL ? counters : &w->own_counters;
    hs_map_init(&w->streams);
    hs_map_init(&w->jobs);
    hs_map_init(&w->pubs);
    hs_map_init(&w->acks);
    hs_buf_init(&w->notices, 0);
    hs_buf_init(&w->deads, 0);
    hs_buf_init(&w->out, 0);
    hs_buf_init(&w->scratch, 0);
    hs_buf_init(&w->topic, 0);
    hs_buf_init(&w->json, 0);
    hs_buf_init(&w->mons, 0);
    hs_batch_init(&w->decoded);
    /* The incarnation: the creation time, above any earlier one of this store's writer. */
    w->epoch = (uint64_t)hs_time_now_us();
    size_t ring = cfg->change_ring_max > 0 ? (size_t)cfg->change_ring_max : 262144;
    if (wdeps_create(&w->deps, ring) != HS_OK) {
        wcore_destroy(w);
        return HS_ERR_NOMEM;
    }
    *out = w;
    return HS_OK;
}

void wcore_destroy(wcore *w)
{
    if (w == NULL)
        return;
    w_batch_free(w);
    hs_free(w->reqs);
    w_streams_clear(w);
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&w->jobs, &pos)) != NULL)
        wjob_free(e->value);
    hs_map_free(&w->jobs);
    hs_free(w->ready);
    w_results_clear(w);
    hs_free(w->raws);
    hs_free(w->corrs);
    hs_buf_free(&w->mons);
    wdeps_destroy(w->deps);
    hs_buf_free(&w->notices);
    hs_buf_free(&w->deads);
    hs_buf_free(&w->out);
    hs_buf_free(&w->scratch);
    hs_buf_free(&w->topic);
    hs_buf_free(&w->json);
    hs_batch_free(&w->decoded);
    hs_free(w->status);
    hs_free(w);
}
