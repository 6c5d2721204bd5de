#include "hs_wclient.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_log.h"
#include "hs_mpack.h"
#include "hs_mqtt.h"
#include "hs_time.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct hs__wpending {
    uint64_t seq;
    uint8_t *msg; /* owned encoded request */
    size_t len;
    int64_t sent_us; /* monotonic time of the last (re)send */
    bool acked;
} hs__wpending;

struct hs_wclient {
    hs_wclient_opts o;
    char *prefix, *sender_id, *writer_id; /* owned copies */
    char *topic_w, *topic_ack, *topic_status;
    hs_mqtt *mqtt;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when pending shrinks */
    bool stop;
    uint64_t incarnation;
    uint64_t next_seq;
    hs__wpending *p; /* pending requests, ordered by seq; acked ones compacted away */
    size_t np, capp;
    size_t pending_bytes;
    int64_t writer_incarnation; /* last seen on the writer's status; 0 unknown */
    uint64_t reconnects_seen;
    bool resend_all;
    hs_wclient_stats st;
};

void hs_wclient_opts_init(hs_wclient_opts *o)
{
    memset(o, 0, sizeof *o);
    o->prefix = "hs";
    o->writer_id = "writer";
    o->max_pending_bytes = 64u << 20;
    o->resend_after_us = 30 * HS_US_PER_S;
}

static char *hs__wc_topic(const char *prefix, const char *kind, const char *id)
{
    size_t n = strlen(prefix) + strlen(kind) + strlen(id) + 3;
    char *t = hs_malloc(n);
    if (t != NULL)
        snprintf(t, n, "%s/%s/%s", prefix, kind, id);
    return t;
}

/* Removes acknowledged entries from the front of the pending array. */
static void hs__wc_compact(hs_wclient *wc)
{
    size_t k = 0;
    for (size_t i = 0; i < wc->np; i++) {
        if (wc->p[i].acked)
            continue;
        wc->p[k++] = wc->p[i];
    }
    wc->np = k;
}

static hs__wpending *hs__wc_find(hs_wclient *wc, uint64_t seq)
{
    size_t lo = 0, hi = wc->np;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (wc->p[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < wc->np && wc->p[lo].seq == seq)
        return &wc->p[lo];
    return NULL;
}

/* Handles an acknowledgement message (schemas/ack.json); unreadable ones are logged. */
static void hs__wc_on_ack(hs_wclient *wc, const uint8_t *data, size_t len)
{
    hs_proto_ack_msg am;
    if (hs_proto_ack_decode(&am, data, len) != HS_OK) {
        if (wc->o.log != NULL)
            hs_warn(wc->o.log, "unreadable acknowledgement: %s", hs_err_detail());
        hs_proto_ack_msg_free(&am);
        return;
    }
    if (am.ack.inc != wc->incarnation) {
        hs_proto_ack_msg_free(&am); /* for an earlier run of this sender */
        return;
    }
    for (size_t i = 0; i < am.ack.nitems; i++) {
        const hs_proto_ack_item *it = &am.ack.items[i];
        hs_wack a = {
            .seq = it->seq,
            .status = (int)it->status,
            .error = it->reason,
            .inserted = it->inserted,
            .duplicates = it->duplicates,
            .conflicts = it->conflicts,
        };
        pthread_mutex_lock(&wc->mu);
        hs__wpending *p = hs__wc_find(wc, a.seq);
        bool fresh = p != NULL && !p->acked;
        if (fresh) {
            p->acked = true;
            wc->pending_bytes -= p->len;
            hs_free(p->msg);
            p->msg = NULL;
            wc->st.acked++;
            if (a.status != 0)
                wc->st.rejected++;
        }
        pthread_mutex_unlock(&wc->mu);
        if (fresh && wc->o.on_ack != NULL)
            wc->o.on_ack(wc->o.ud, &a);
    }
    pthread_mutex_lock(&wc->mu);
    hs__wc_compact(wc);
    pthread_cond_broadcast(&wc->cv);
    pthread_mutex_unlock(&wc->mu);
    hs_proto_ack_msg_free(&am);
}

/* The writer's retained status carries its incarnation; a new one means it restarted. */
static void hs__wc_on_status(hs_wclient *wc, const uint8_t *data, size_t len)
{
    hs_proto_status_msg sm;
    int rc = hs_proto_status_decode(&sm, (const char *)data, len);
    if (rc != HS_OK || sm.st.state != HS_PROTO_ONLINE) {
        if (rc != HS_OK && len > 0 && wc->o.log != NULL)
            hs_warn(wc->o.log, "unreadable status of the writer: %s", hs_err_detail());
        hs_proto_status_msg_free(&sm);
        return;
    }
    int64_t inc = (int64_t)sm.st.incarnation;
    hs_proto_status_msg_free(&sm);
    pthread_mutex_lock(&wc->mu);
    if (wc->writer_incarnation != 0 && inc != wc->writer_incarnation)
        wc->resend_all = true;
    wc->writer_incarnation = inc;
    pthread_mutex_unlock(&wc->mu);
}

/* Re-sends what is due. Called on the client's thread. */
static void hs__wc_resend(hs_wclient *wc)
{
    hs_mqtt_stats ms;
    hs_mqtt_get_stats(wc->mqtt, &ms);
    int64_t now = hs_time_mono_us();
    pthread_mutex_lock(&wc->mu);
    bool all = wc->resend_all || ms.reconnects != wc->reconnects_seen;
    if (all && wc->np > 0 && wc->o.log != NULL)
        hs_info(wc->o.log, "%s: re-sending %zu unacknowledged write requests",
                wc->resend_all ? "the writer restarted" : "reconnected to the broker", wc->np);
    wc->resend_all = false;
    wc->reconnects_seen = ms.reconnects;
    for (size_t i = 0; i < wc->np && !wc->stop; i++) {
        hs__wpending *p = &wc->p[i];
        if (p->acked || (!all && now - p->sent_us < wc->o.resend_after_us))
            continue;
        /* Copy so that the lock is not held while publishing. */
        size_t len = p->len;
        uint8_t *copy = hs_malloc(len);
        if (copy == NULL)
            break;
        memcpy(copy, p->msg, len);
        p->sent_us = now;
        wc->st.resent++;
        pthread_mutex_unlock(&wc->mu);
        (void)hs_mqtt_publish(wc->mqtt, wc->topic_w, copy, len, 1, false, 1000);
        hs_free(copy);
        pthread_mutex_lock(&wc->mu);
    }
    pthread_mutex_unlock(&wc->mu);
}

static void *hs__wc_thread(void *arg)
{
    hs_wclient *wc = arg;
    int64_t next_check = 0;
    for (;;) {
        pthread_mutex_lock(&wc->mu);
        bool stop = wc->stop;
        pthread_mutex_unlock(&wc->mu);
        if (stop)
            break;
        hs_mqtt_msg *m = NULL;
        int rc = hs_mqtt_recv(wc->mqtt, &m, 200);
        if (rc == HS_OK) {
            if (strcmp(m->topic, wc->topic_ack) == 0)
                hs__wc_on_ack(wc, m->payload, m->len);
            else if (strcmp(m->topic, wc->topic_status) == 0)
                hs__wc_on_status(wc, m->payload, m->len);
            hs_mqtt_msg_free(m);
        } else if (rc == HS_ERR_CLOSED) {
            break;
        }
        int64_t now = hs_time_mono_us();
        if (now >= next_check) {
            hs__wc_resend(wc);
            next_check = now + 200 * HS_US_PER_MS;
        }
    }
    return NULL;
}

int hs_wclient_create(hs_wclient **out, const hs_wclient_opts *opts)
{
    *out = NULL;
    if (opts->sender_id == NULL || opts->sender_id[0] == '\0' || opts->url == NULL)
        return hs_err_set(HS_ERR_INVAL, "write client needs a broker URL and a sender id");
    hs_wclient *wc = hs_calloc(1, sizeof *wc);
    if (wc == NULL)
        return HS_ERR_NOMEM;
    wc->o = *opts;
    wc->prefix = hs_strdup(opts->prefix ? opts->prefix : "hs");
    wc->sender_id = hs_strdup(opts->sender_id);
    wc->writer_id = hs_strdup(opts->writer_id ? opts->writer_id : "writer");
    pthread_mutex_init(&wc->mu, NULL);
    pthread_cond_init(&wc->cv, NULL);
    wc->incarnation = (uint64_t)hs_time_now_us();
    int rc = HS_OK;
    if (wc->prefix == NULL || wc->sender_id == NULL || wc->writer_id == NULL) {
        rc = HS_ERR_NOMEM;
        goto fail;
    }
    wc->topic_w = hs__wc_topic(wc->prefix, "w", wc->sender_id);
    wc->topic_ack = hs__wc_topic(wc->prefix, "ack", wc->sender_id);
    wc->topic_status = hs__wc_topic(wc->prefix, "status", wc->writer_id);
    if (wc->topic_w == NULL || wc->topic_ack == NULL || wc->topic_status == NULL) {
        rc = HS_ERR_NOMEM;
        goto fail;
    }
    char cid[256];
    snprintf(cid, sizeof cid, "%s-w", wc->sender_id);
    hs_mqtt_opts mo;
    hs_mqtt_opts_init(&mo);
    mo.url = opts->url;
    mo.client_id = cid;
    mo.username = opts->username;
    mo.password = opts->password;
    mo.ca_file = opts->ca_file;
    mo.connect_timeout_ms = opts->connect_timeout_ms;
    rc = hs_mqtt_create(&wc->mqtt, &mo);
    if (rc == HS_OK)
        rc = hs_mqtt_connect(wc->mqtt);
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(wc->mqtt, wc->topic_ack, 1);
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(wc->mqtt, wc->topic_status, 1);
    if (rc != HS_OK)
        goto fail;
    hs_mqtt_stats ms;
    hs_mqtt_get_stats(wc->mqtt, &ms);
    wc->reconnects_seen = ms.reconnects;
    if (pthread_create(&wc->thread, NULL, hs__wc_thread, wc) != 0) {
        rc = hs_err_set(HS_ERR_IO, "cannot start the write client thread");
        goto fail;
    }
    wc->thread_started = true;
    *out = wc;
    return HS_OK;
fail:
    hs_wclient_destroy(wc);
    return rc;
}

int hs_wclient_send(hs_wclient *wc, hs_proto_op op, const uint8_t *fields, size_t fields_len,
                    uint32_t nfields, int timeout_ms, uint64_t *seq_out)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : hs_time_mono_us() + timeout_ms * HS_US_PER_MS;
    pthread_mutex_lock(&wc->mu);
    while (wc->pending_bytes > 0 && wc->pending_bytes + fields_len > wc->o.max_pending_bytes &&
           !wc->stop) {
        int64_t now = hs_time_mono_us();
        if (now >= deadline) {
            pthread_mutex_unlock(&wc->mu);
            return hs_err_set(HS_ERR_FULL, "%zu bytes await the writer's acknowledgement",
                              wc->pending_bytes);
        }
        int64_t until = deadline - now < 100 * HS_US_PER_MS ? deadline : now + 100 * HS_US_PER_MS;
        struct timespec ts = hs_time_deadline_after(until - now);
        pthread_cond_timedwait(&wc->cv, &wc->mu, &ts);
    }
    /*
     * The seq is taken and the request appended in one critical section: the
     * pending requests stay in seq order (hs__wc_find searches them), also
     * when several threads send at once.
     */
    uint64_t seq = wc->next_seq + 1;
    int rc = hs_proto_wreq_begin(&b, wc->incarnation, seq, op, nfields);
    if (rc == HS_OK)
        rc = hs_mp_put_raw(&b, fields, fields_len);
    if (rc == HS_OK && hs_grow(&wc->p, &wc->capp, wc->np + 1, sizeof *wc->p, 64) != HS_OK)
        rc = HS_ERR_NOMEM;
    if (rc != HS_OK) {
        pthread_mutex_unlock(&wc->mu);
        hs_buf_free(&b);
        return rc;
    }
    wc->next_seq = seq;
    size_t len = b.len;
    uint8_t *msg = hs_buf_take(&b, NULL);
    hs__wpending *p = &wc->p[wc->np++];
    p->seq = seq;
    p->msg = msg;
    p->len = len;
    p->sent_us = hs_time_mono_us();
    p->acked = false;
    wc->pending_bytes += len;
    wc->st.sent++;
    pthread_mutex_unlock(&wc->mu);
    if (seq_out != NULL)
        *seq_out = seq;
    /*
     * The message stays pending whatever happens to this publish: a failed
     * publish is re-sent by the client's thread after a reconnect or timeout.
     */
    int prc = hs_mqtt_publish(wc->mqtt, wc->topic_w, msg, len, 1, false,
                              timeout_ms < 0 ? 60000 : timeout_ms);
    (void)prc;
    return HS_OK;
}

int hs_wclient_flush(hs_wclient *wc, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : hs_time_mono_us() + timeout_ms * HS_US_PER_MS;
    pthread_mutex_lock(&wc->mu);
    while (wc->np > 0 && !wc->stop) {
        int64_t now = hs_time_mono_us();
        if (now >= deadline) {
            size_t n = wc->np;
            pthread_mutex_unlock(&wc->mu);
            return hs_err_set(HS_ERR_TIMEOUT,
                              "%zu write requests not acknowledged by the writer (is it running?)",
                              n);
        }
        struct timespec ts = hs_time_deadline_after(100 * HS_US_PER_MS);
        pthread_cond_timedwait(&wc->cv, &wc->mu, &ts);
    }
    pthread_mutex_unlock(&wc->mu);
    return HS_OK;
}

uint64_t hs_wclient_acked_through(hs_wclient *wc)
{
    pthread_mutex_lock(&wc->mu);
    /* Pending requests are in seq order; acknowledged ones may not be compacted yet. */
    uint64_t through = wc->next_seq;
    for (size_t i = 0; i < wc->np; i++) {
        if (!wc->p[i].acked) {
            through = wc->p[i].seq - 1;
            break;
        }
    }
    pthread_mutex_unlock(&wc->mu);
    return through;
}

void hs_wclient_get_stats(hs_wclient *wc, hs_wclient_stats *st)
{
    pthread_mutex_lock(&wc->mu);
    *st = wc->st;
    st->pending = wc->np;
    st->pending_bytes = wc->pending_bytes;
    pthread_mutex_unlock(&wc->mu);
}

void hs_wclient_destroy(hs_wclient *wc)
{
    if (wc == NULL)
        return;
    pthread_mutex_lock(&wc->mu);
    wc->stop = true;
    pthread_cond_broadcast(&wc->cv);
    pthread_mutex_unlock(&wc->mu);
    if (wc->thread_started)
        pthread_join(wc->thread, NULL);
    hs_mqtt_destroy(wc->mqtt);
    for (size_t i = 0; i < wc->np; i++)
        hs_free(wc->p[i].msg);
    hs_free(wc->p);
    hs_free(wc->prefix);
    hs_free(wc->sender_id);
    hs_free(wc->writer_id);
    hs_free(wc->topic_w);
    hs_free(wc->topic_ack);
    hs_free(wc->topic_status);
    pthread_cond_destroy(&wc->cv);
    pthread_mutex_destroy(&wc->mu);
    hs_free(wc);
}
