/*
 * hs-api's MQTT side. The service thread receives; handler threads wait on
 * the condition variable for what they asked for: a scheduler reply (by
 * correlation id), a write acknowledgement (by seq), or live data of their
 * Server-Sent Events subscription. Retained statuses and the latest dead
 * letters are kept for GET /api/v1/services and /api/v1/dead.
 */
#include "api.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_log.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Largest SSE text queued for one slow client before it is cut off. */
#define SUB_QUEUE_MAX (8u << 20)

static const char *prefix(const api *a)
{
    return a->cfg->common.prefix;
}

int api_bus_start(api *a)
{
    snprintf(a->reply_topic, sizeof a->reply_topic, "%s/reply/%s-%ld-%" PRId64, prefix(a),
             hs_service_id(a->svc), (long)getpid(), hs_service_started_us(a->svc));
    char f[300];
    snprintf(f, sizeof f, "%s/status/+", prefix(a));
    int rc = hs_mqtt_subscribe(a->mqtt, f, 1);
    if (rc == HS_OK) {
        snprintf(f, sizeof f, "%s/dead/#", prefix(a));
        rc = hs_mqtt_subscribe(a->mqtt, f, 0);
    }
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(a->mqtt, a->reply_topic, 1);
    if (rc == HS_OK) {
        snprintf(f, sizeof f, "%s/schemas/+", prefix(a));
        rc = hs_mqtt_subscribe(a->mqtt, f, 1);
    }
    return rc;
}

/* ------------------------------------------------------------------ JSON of live data */

/* [[t_us, v], ...] of a msgpack batch into out. */
static int batch_json(const uint8_t *data, size_t len, hs_buf *out)
{
    hs_batch b;
    hs_batch_init(&b);
    int rc = hs_codec_decode_mpack(data, len, false, &b);
    if (rc == HS_OK)
        rc = hs_buf_putc(out, '[');
    for (size_t i = 0; rc == HS_OK && i < b.n; i++) {
        rc = hs_buf_printf(out, "%s[%" PRId64 ",", i > 0 ? "," : "", b.items[i].t_us);
        hs_mp_reader r;
        hs_mp_reader_init(&r, hs_batch_value(&b, i), b.items[i].len);
        if (rc == HS_OK)
            rc = hs_json_from_mpack(&r, out);
        if (rc == HS_OK)
            rc = hs_buf_putc(out, ']');
    }
    if (rc == HS_OK)
        rc = hs_buf_putc(out, ']');
    hs_batch_free(&b);
    return rc;
}

/* The SSE event of a message on a subscribed topic into ev; false when it is not one. */
static bool sse_event(const api *a, const hs_mqtt_msg *m, hs_buf *ev)
{
    size_t pl = strlen(prefix(a));
    const char *rest = m->topic + pl;
    if (strncmp(m->topic, prefix(a), pl) != 0 || rest[0] != '/')
        return false;
    rest++;
    int rc;
    if (strncmp(rest, "s/", 2) == 0) {
        rc = hs_buf_puts(ev, "event: data\ndata: {\"stream\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(ev, rest + 2, strlen(rest + 2));
        if (rc == HS_OK)
            rc = hs_buf_puts(ev, ",\"data\":");
        if (rc == HS_OK)
            rc = batch_json(m->payload, m->len, ev);
    } else if (strncmp(rest, "c/", 2) == 0) {
        hs_proto_correction c;
        rc = hs_proto_correction_decode(&c, m->payload, m->len);
        if (rc == HS_OK)
            rc = hs_buf_puts(ev, "event: correction\ndata: {\"stream\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(ev, rest + 2, strlen(rest + 2));
        if (rc == HS_OK)
            rc = hs_buf_printf(ev, ",\"interval\":[%" PRId64 ",%" PRId64 "],\"data\":",
                               c.interval.start, c.interval.end);
        if (rc == HS_OK)
            rc = batch_json(c.data, c.data_len, ev);
    } else if (strncmp(rest, "progress/", 9) == 0) {
        rc = hs_buf_puts(ev, "event: progress\ndata: ");
        /* The progress text is one JSON line already. */
        for (size_t i = 0; rc == HS_OK && i < m->len; i++)
            if (m->payload[i] != '\n' && m->payload[i] != '\r')
                rc = hs_buf_putc(ev, (char)m->payload[i]);
        if (rc == HS_OK)
            rc = hs_buf_puts(ev, "\n\n");
        return rc == HS_OK;
    } else {
        return false;
    }
    if (rc == HS_OK)
        rc = hs_buf_puts(ev, "}\n\n");
    return rc == HS_OK;
}

bool api_progress_final(const char *json, size_t len)
{
    static const char *const finals[] = {"\"state\":\"done\"", "\"state\":\"failed\"",
                                         "\"state\":\"cancelled\""};
    for (size_t i = 0; i < 3; i++) {
        size_t k = strlen(finals[i]);
        for (size_t j = 0; j + k <= len; j++)
            if (memcmp(json + j, finals[i], k) == 0)
                return true;
    }
    return false;
}

/* ------------------------------------------------------------------ messages */

static void on_status(api *a, const hs_mqtt_msg *m)
{
    const char *id = strrchr(m->topic, '/') + 1;
    if (m->len > 0) {
        /* Only a status that reads as one goes into GET /api/v1/services' JSON. */
        hs_proto_status_msg st;
        int rc = hs_proto_status_decode(&st, (const char *)m->payload, m->len);
        hs_proto_status_msg_free(&st);
        if (rc != HS_OK) {
            hs_warn(hs_service_log(a->svc), "unreadable status on %s: %s", m->topic,
                    hs_err_detail());
            return;
        }
    }
    char *copy = m->len > 0 ? hs_strndup((const char *)m->payload, m->len) : NULL;
    pthread_mutex_lock(&a->mu);
    void *old = NULL;
    if (copy == NULL) {
        old = hs_map_remove(&a->status, id); /* an empty retained message clears it */
    } else if (hs_map_put(&a->status, id, copy, &old) != HS_OK) {
        hs_free(copy);
        old = NULL;
    }
    pthread_mutex_unlock(&a->mu);
    hs_free(old);
}

static void on_dead(api *a, const hs_mqtt_msg *m)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    char now[HS_TIME_ISO_MAX];
    hs_time_format_iso(hs_time_now_us(), now);
    hs_buf tmp;
    hs_buf_init(&tmp, 0);
    bool json = hs_json_to_mpack((const char *)m->payload, m->len, &tmp) == HS_OK;
    hs_buf_free(&tmp);
    int rc = hs_buf_puts(&b, "{\"topic\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(&b, m->topic, strlen(m->topic));
    if (rc == HS_OK)
        rc = hs_buf_printf(&b, ",\"received\":\"%s\",\"letter\":", now);
    if (rc == HS_OK && json)
        rc = hs_buf_append(&b, m->payload, m->len);
    else if (rc == HS_OK)
        rc = hs_json_put_string(&b, (const char *)m->payload, m->len);
    if (rc == HS_OK)
        rc = hs_buf_putc(&b, '}');
    char *text = rc == HS_OK ? hs_strdup(hs_buf_cstr(&b)) : NULL;
    hs_buf_free(&b);
    if (text == NULL)
        return;
    size_t cap = (size_t)a->cfg->dead_keep;
    pthread_mutex_lock(&a->mu);
    size_t slot = (a->dead_head + a->dead_n) % cap;
    if (a->dead_n == cap) {
        slot = a->dead_head;
        a->dead_head = (a->dead_head + 1) % cap;
    } else {
        a->dead_n++;
    }
    char *old = a->dead[slot];
    a->dead[slot] = text;
    pthread_mutex_unlock(&a->mu);
    hs_free(old);
}

/* A workflow's input schemas (retained on <prefix>/schemas/<workflow>), as ingest applies them. */
static void on_schemas(api *a, const hs_mqtt_msg *m, const char *id)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    size_t n = 0;
    pthread_mutex_lock(&a->schemas_mu);
    int rc = hs_schemaset_apply_message(a->schemas, id, m->payload, m->len, &n, &err);
    pthread_mutex_unlock(&a->schemas_mu);
    if (rc == HS_OK && n > 0)
        hs_info(hs_service_log(a->svc), "%zu input schemas of workflow %s %s", n, id,
                m->len == 0 ? "removed" : "applied");
    else if (rc != HS_OK) {
        char reason[1200];
        snprintf(reason, sizeof reason,
                 "input schemas of workflow %s not applied (its previous ones stay): %s", id,
                 hs_buf_cstr(&err));
        hs_service_dead_letter(a->svc, reason, m->topic, m->payload, m->len);
    }
    hs_buf_free(&err);
}

static void on_reply(api *a, const hs_mqtt_msg *m)
{
    uint64_t corr = 0;
    if (m->correlation == NULL || m->correlation_len != sizeof corr)
        return;
    memcpy(&corr, m->correlation, sizeof corr);
    pthread_mutex_lock(&a->mu);
    for (api_waiter *w = a->waiters; w != NULL; w = w->next)
        if (w->corr == corr && !w->done) {
            hs_buf_reset(&w->reply);
            if (hs_buf_append(&w->reply, m->payload, m->len) == HS_OK)
                w->done = true;
            pthread_cond_broadcast(&a->cv);
        }
    pthread_mutex_unlock(&a->mu);
}

void api_bus_on_message(api *a, hs_mqtt_msg *m)
{
    size_t pl = strlen(prefix(a));
    const char *rest =
        strncmp(m->topic, prefix(a), pl) == 0 && m->topic[pl] == '/' ? m->topic + pl + 1 : "";
    if (strcmp(m->topic, a->reply_topic) == 0) {
        on_reply(a, m);
        return;
    }
    if (strncmp(rest, "status/", 7) == 0 && strchr(rest + 7, '/') == NULL) {
        on_status(a, m);
        return;
    }
    if (strncmp(rest, "dead/", 5) == 0) {
        on_dead(a, m);
        return;
    }
    if (strncmp(rest, "schemas/", 8) == 0 && rest[8] != '\0' && strchr(rest + 8, '/') == NULL) {
        on_schemas(a, m, rest + 8);
        return;
    }
    hs_buf ev;
    hs_buf_init(&ev, 0);
    bool made = false;
    pthread_mutex_lock(&a->mu);
    /* One copy per subscribed filter that matches: the first is the message, the others not. */
    unsigned copies = 0;
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&a->subscribed, &pos)) != NULL)
        copies += hs_mqtt_topic_matches(e->key, m->topic);
    if (!apic_copies_first(&a->copies, m->topic, m->payload, m->len, copies > 0 ? copies : 1)) {
        pthread_mutex_unlock(&a->mu);
        return;
    }
    for (api_sub *s = a->subs; s != NULL; s = s->next) {
        bool match = false;
        for (int i = 0; i < s->nfilters && !match; i++)
            match = hs_mqtt_topic_matches(s->filters[i], m->topic);
        if (!match || s->dropped || s->closed)
            continue;
        if (!made) {
            made = true;
            if (!sse_event(a, m, &ev))
                hs_buf_reset(&ev);
        }
        if (ev.len == 0)
            continue;
        if (s->queue.len + ev.len > SUB_QUEUE_MAX || hs_buf_append(&s->queue, ev.data, ev.len)) {
            /* The client reads too slowly: what waits is dropped, it is told so, and closed. */
            s->dropped = true;
            hs_buf_reset(&s->queue);
            (void)hs_buf_puts(&s->queue, "event: overflow\ndata: {\"error\":\"this client read "
                                         "too slowly; events were dropped; reconnect\"}\n\n");
        }
        if (s->progress && api_progress_final((const char *)m->payload, m->len))
            s->closed = true;
    }
    if (made)
        pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    hs_buf_free(&ev);
}

/* ------------------------------------------------------------------ scheduler requests */

int api_bus_scheduler(api *a, const char *json, hs_buf *reply)
{
    api_waiter w = {0};
    hs_buf_init(&w.reply, 0);
    pthread_mutex_lock(&a->mu);
    w.corr = ++a->next_corr;
    w.next = a->waiters;
    a->waiters = &w;
    pthread_mutex_unlock(&a->mu);
    char topic[300];
    snprintf(topic, sizeof topic, "%s/api/%s", prefix(a), a->cfg->scheduler_id);
    hs_mqtt_pub_props props = {a->reply_topic, &w.corr, sizeof w.corr};
    int rc = hs_mqtt_publish_props(a->mqtt, topic, json, strlen(json), 1, false,
                                   (int)(a->cfg->request_timeout_us / 1000), &props);
    struct timespec dl = hs_time_deadline_after(a->cfg->request_timeout_us);
    pthread_mutex_lock(&a->mu);
    while (rc == HS_OK && !w.done && !a->stopping)
        if (pthread_cond_timedwait(&a->cv, &a->mu, &dl) == ETIMEDOUT)
            rc = HS_ERR_TIMEOUT;
    if (rc == HS_OK && !w.done)
        rc = HS_ERR_CLOSED;
    for (api_waiter **p = &a->waiters; *p != NULL; p = &(*p)->next)
        if (*p == &w) {
            *p = w.next;
            break;
        }
    pthread_mutex_unlock(&a->mu);
    if (rc == HS_OK)
        rc = hs_buf_append(reply, w.reply.data, w.reply.len);
    hs_buf_free(&w.reply);
    return rc;
}

/* ------------------------------------------------------------------ write acknowledgements */

void api_bus_ack(void *ud, const hs_wack *ack)
{
    api *a = ud;
    api_ack *k = hs_calloc(1, sizeof *k);
    if (k == NULL)
        return;
    k->status = ack->status;
    k->inserted = ack->inserted;
    k->duplicates = ack->duplicates;
    k->conflicts = ack->conflicts;
    k->at_us = hs_time_mono_us();
    k->error = ack->error != NULL ? hs_strdup(ack->error) : NULL;
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, ack->seq);
    pthread_mutex_lock(&a->mu);
    void *old = NULL;
    if (hs_map_put(&a->acks, key, k, &old) != HS_OK) {
        old = k;
    } else {
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    if (old != NULL) {
        hs_free(((api_ack *)old)->error);
        hs_free(old);
    }
}

int api_bus_wait_ack(api *a, uint64_t seq, int64_t until_us, api_ack *out)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, seq);
    int64_t left = until_us - hs_time_mono_us();
    struct timespec dl = hs_time_deadline_after(left > 0 ? left : 0);
    int rc = HS_OK;
    api_ack *k = NULL;
    pthread_mutex_lock(&a->mu);
    while ((k = hs_map_remove(&a->acks, key)) == NULL && !a->stopping)
        if (pthread_cond_timedwait(&a->cv, &a->mu, &dl) == ETIMEDOUT) {
            k = hs_map_remove(&a->acks, key);
            break;
        }
    pthread_mutex_unlock(&a->mu);
    if (k == NULL)
        return a->stopping ? HS_ERR_CLOSED : HS_ERR_TIMEOUT;
    *out = *k;
    hs_free(k);
    return rc;
}

void api_bus_tick(api *a)
{
    /* Acknowledgements of requests whose HTTP client gave up are dropped after a while. */
    int64_t old = hs_time_mono_us() - 2 * a->cfg->write_timeout_us;
    pthread_mutex_lock(&a->mu);
    size_t pos = 0;
    hs_map_entry *e;
    char keys[64][24];
    size_t n = 0;
    while (n < 64 && (e = hs_map_next(&a->acks, &pos)) != NULL) {
        api_ack *k = e->value;
        if (k->at_us < old)
            snprintf(keys[n++], sizeof keys[0], "%s", e->key);
    }
    for (size_t i = 0; i < n; i++) {
        api_ack *k = hs_map_remove(&a->acks, keys[i]);
        if (k != NULL) {
            hs_free(k->error);
            hs_free(k);
        }
    }
    pthread_mutex_unlock(&a->mu);
}

/* ------------------------------------------------------------------ SSE subscriptions */

/*
 * Subscribes f at the broker when no subscription uses it yet, unsubscribes
 * it when the last one ends (under sub_mu). The map of subscribed filters
 * holds f only while the broker has it (added after the SUBACK, removed
 * before unsubscribing): api_bus_on_message counts the copies of a message
 * by it, and may count too few (a copy passes) or, for a message queued before a
 * SUBACK, one too many (only a repeat of that same payload is then skipped).
 */
static int filter_ref(api *a, const char *f, int delta)
{
    intptr_t n = (intptr_t)hs_map_get(&a->subscribed, f);
    int rc = HS_OK;
    if (delta > 0 && n == 0)
        rc = hs_mqtt_subscribe(a->mqtt, f, 1);
    if (rc != HS_OK)
        return rc;
    intptr_t was = n;
    n += delta;
    pthread_mutex_lock(&a->mu);
    if (n <= 0)
        (void)hs_map_remove(&a->subscribed, f);
    else
        rc = hs_map_put(&a->subscribed, f, (void *)n, NULL);
    pthread_mutex_unlock(&a->mu);
    /* Stopping, the connection goes anyway: no round trip (10 s each when the broker is away). */
    if (((n <= 0 && was > 0) || (rc != HS_OK && was == 0)) && !a->stopping)
        (void)hs_mqtt_unsubscribe(a->mqtt, f);
    return rc;
}

api_sub *api_bus_sub(api *a, const char *const *filters, int n)
{
    api_sub *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    hs_buf_init(&s->queue, 0);
    for (int i = 0; i < n && i < 2; i++)
        snprintf(s->filters[s->nfilters++], sizeof s->filters[0], "%s", filters[i]);
    pthread_mutex_lock(&a->mu);
    s->next = a->subs;
    a->subs = s;
    pthread_mutex_unlock(&a->mu);
    pthread_mutex_lock(&a->sub_mu);
    int rc = HS_OK;
    int done = 0;
    for (; rc == HS_OK && done < s->nfilters; done++)
        rc = filter_ref(a, s->filters[done], +1);
    if (rc != HS_OK)
        s->nfilters = done - 1; /* those referenced */
    pthread_mutex_unlock(&a->sub_mu);
    if (rc != HS_OK) {
        api_bus_unsub(a, s);
        return NULL;
    }
    return s;
}

void api_bus_unsub(api *a, api_sub *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&a->mu);
    for (api_sub **p = &a->subs; *p != NULL; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    pthread_mutex_unlock(&a->mu);
    pthread_mutex_lock(&a->sub_mu);
    for (int i = 0; i < s->nfilters; i++)
        (void)filter_ref(a, s->filters[i], -1);
    pthread_mutex_unlock(&a->sub_mu);
    hs_buf_free(&s->queue);
    hs_free(s);
}

ssize_t api_bus_sub_take(api *a, api_sub *s, char *buf, size_t max, int timeout_ms)
{
    struct timespec dl = hs_time_deadline_after((int64_t)timeout_ms * 1000);
    ssize_t n = 0;
    pthread_mutex_lock(&a->mu);
    while (s->queue.len == 0 && !s->dropped && !s->closed && !a->stopping)
        if (pthread_cond_timedwait(&a->cv, &a->mu, &dl) == ETIMEDOUT)
            break;
    if (s->queue.len > 0) {
        size_t k = s->queue.len < max ? s->queue.len : max;
        memcpy(buf, s->queue.data, k);
        memmove(s->queue.data, s->queue.data + k, s->queue.len - k);
        s->queue.len -= k;
        n = (ssize_t)k;
    } else if (s->dropped || s->closed || a->stopping) {
        n = -1;
    }
    pthread_mutex_unlock(&a->mu);
    return n;
}

void api_bus_stop(api *a)
{
    pthread_mutex_lock(&a->mu);
    a->stopping = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_mutex_lock(&a->pool_mu);
    pthread_cond_broadcast(&a->pool_cv);
    pthread_mutex_unlock(&a->pool_mu);
}

void api_bus_free(api *a)
{
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&a->status, &pos)) != NULL)
        hs_free(e->value);
    hs_map_free(&a->status);
    pos = 0;
    while ((e = hs_map_next(&a->acks, &pos)) != NULL) {
        api_ack *k = e->value;
        hs_free(k->error);
        hs_free(k);
    }
    hs_map_free(&a->acks);
    hs_map_free(&a->subscribed);
    apic_copies_free(&a->copies);
    for (size_t i = 0; a->dead != NULL && i < (size_t)a->cfg->dead_keep; i++)
        hs_free(a->dead[i]);
    hs_free(a->dead);
}
