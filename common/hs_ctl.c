#include "hs_ctl.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_proto.h"
#include "hs_time.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define HS__CTL_MAX_SETTABLE 32

struct hs_ctl {
    char kind[32];
    char *id; /* owned */
    int64_t started_us;
    const hs_cfg_item *table; /* borrowed */
    void *cfg;                /* borrowed; read and written under mu */
    hs_log *log;              /* borrowed */
    hs_ctl_hooks hooks;
    int64_t set_timeout_us, drain_timeout_us;
    char *settable[HS__CTL_MAX_SETTABLE]; /* owned names `set` may change */
    size_t nsettable;
    atomic_bool paused;
    atomic_bool status_paused; /* the retained status says "paused" */
    atomic_bool idle;
    atomic_bool stopping; /* hs_ctl_destroy asks the thread to end */
    /* A `set` handed to the service thread: guarded by mu, signalled by cv. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *set_name, *set_value; /* owned */
    int set_rc;
    bool set_pending, set_done;
    char set_err[300];
    /* The connection, once started. */
    hs_mqtt *mqtt;      /* owned, or NULL */
    char *status_topic; /* owned, or NULL */
    pthread_t thread;
    bool thread_started;
};

int hs_ctl_create(hs_ctl **out, const hs_ctl_opts *o)
{
    *out = NULL;
    if (o == NULL || o->kind == NULL || o->id == NULL || o->table == NULL || o->cfg == NULL)
        return HS_ERR_INVAL;
    hs_ctl *c = hs_calloc(1, sizeof *c);
    if (c == NULL)
        return HS_ERR_NOMEM;
    c->id = hs_strdup(o->id);
    if (c->id == NULL) {
        hs_free(c);
        return HS_ERR_NOMEM;
    }
    snprintf(c->kind, sizeof c->kind, "%s", o->kind);
    c->started_us = o->started_us;
    c->table = o->table;
    c->cfg = o->cfg;
    c->log = o->log;
    c->hooks = o->hooks;
    c->set_timeout_us = o->set_timeout_us > 0 ? o->set_timeout_us : 5 * HS_US_PER_S;
    c->drain_timeout_us = o->drain_timeout_us > 0 ? o->drain_timeout_us : 30 * HS_US_PER_S;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    int rc = hs_ctl_allow_set(c, "log_level");
    if (rc == HS_OK)
        rc = hs_ctl_allow_set(c, "metrics_interval");
    if (rc != HS_OK) {
        hs_ctl_destroy(c);
        return rc;
    }
    *out = c;
    return HS_OK;
}

void hs_ctl_stop(hs_ctl *c)
{
    if (c == NULL)
        return;
    atomic_store(&c->stopping, true);
    if (c->thread_started) {
        hs_mqtt_wake(c->mqtt);
        pthread_join(c->thread, NULL);
        c->thread_started = false;
    }
    hs_mqtt_destroy(c->mqtt);
    c->mqtt = NULL;
}

void hs_ctl_destroy(hs_ctl *c)
{
    if (c == NULL)
        return;
    hs_ctl_stop(c);
    for (size_t i = 0; i < c->nsettable; i++)
        hs_free(c->settable[i]);
    hs_free(c->set_name);
    hs_free(c->set_value);
    hs_free(c->status_topic);
    hs_free(c->id);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    hs_free(c);
}

int hs_ctl_allow_set(hs_ctl *c, const char *name)
{
    if (c->nsettable == HS__CTL_MAX_SETTABLE)
        return hs_err_set(HS_ERR_LIMIT, "more than %d run-time settings", HS__CTL_MAX_SETTABLE);
    c->settable[c->nsettable] = hs_strdup(name);
    if (c->settable[c->nsettable] == NULL)
        return HS_ERR_NOMEM;
    c->nsettable++;
    return HS_OK;
}

bool hs_ctl_paused(const hs_ctl *c)
{
    return atomic_load(&((hs_ctl *)c)->paused);
}

void hs_ctl_set_idle(hs_ctl *c, bool idle)
{
    atomic_store(&c->idle, idle);
}

bool hs_ctl_status_paused(const hs_ctl *c)
{
    return atomic_load(&((hs_ctl *)c)->status_paused);
}

void hs_ctl_status_shown_online(hs_ctl *c)
{
    atomic_store(&c->status_paused, false);
}

/* ------------------------------------------------------------------ requests */

/* Writes a refusal {ok: false, error} as reply (defined with the reply encoder). */
static int hs__ctl_refuse(hs_buf *reply, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The characters of a control command or setting name. */
#define HS__CTL_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."

int hs_ctl_request_read(const void *payload, size_t len, hs_ctl_request *q, hs_buf *reply)
{
    hs_buf mp;
    hs_buf_init(&mp, 0);
    hs_mp_field f[8];
    size_t nf = 0;
    const char *sv;
    uint32_t sl;
    q->cmd[0] = q->name[0] = q->value[0] = '\0';
    if (hs_json_to_mpack((const char *)payload, len, &mp) != HS_OK ||
        hs_mp_map_index(mp.data, mp.len, f, 8, &nf, NULL) != HS_OK) {
        hs_buf_free(&mp);
        int rc = hs__ctl_refuse(reply, "control requests are JSON objects {\"cmd\": ...} of at "
                                       "most 8 members");
        return rc == HS_OK ? HS_ERR_PARSE : rc;
    }
    /* Names and commands are echoed in replies: only plain name characters. */
    static const struct {
        const char *key;
        size_t off, size;
    } names[] = {{"cmd", offsetof(hs_ctl_request, cmd), sizeof q->cmd},
                 {"name", offsetof(hs_ctl_request, name), sizeof q->name}};
    for (size_t i = 0; i < 2; i++) {
        char *dst = (char *)q + names[i].off;
        if (hs_mp_field_str(f, nf, names[i].key, &sv, &sl) != HS_OK)
            continue;
        bool plain = sl < names[i].size;
        for (uint32_t k = 0; k < sl && plain; k++)
            plain = sv[k] != '\0' && strchr(HS__CTL_NAME_CHARS, sv[k]) != NULL;
        if (!plain) {
            hs_buf_free(&mp);
            int rc = hs__ctl_refuse(reply,
                                    "cmd (under %zu bytes) and name (under %zu bytes) are made "
                                    "of letters, digits, '_', '-' and '.'",
                                    sizeof q->cmd, sizeof q->name);
            return rc == HS_OK ? HS_ERR_PARSE : rc;
        }
        memcpy(dst, sv, sl);
        dst[sl] = '\0';
    }
    const hs_mp_field *vf = hs_mp_field_find(f, nf, "value");
    int rc = HS_OK;
    if (vf != NULL) {
        hs_mp_reader r;
        hs_mp_reader_init(&r, vf->val, vf->vlen);
        hs_buf j;
        hs_buf_init(&j, 0);
        if (hs_mp_get_str(&r, &sv, &sl) != HS_OK) {
            hs_mp_reader_init(&r, vf->val, vf->vlen);
            if (hs_json_from_mpack(&r, &j) != HS_OK)
                hs_buf_reset(&j);
            sv = (const char *)j.data;
            sl = (uint32_t)j.len;
        }
        if (sl == 0) {
            /* value stays "" */
        } else if (sl < sizeof q->value && memchr(sv, '\0', sl) == NULL) {
            memcpy(q->value, sv, sl);
            q->value[sl] = '\0';
        } else {
            rc = hs__ctl_refuse(reply, "value is longer than %zu bytes or holds a NUL byte",
                                sizeof q->value - 1);
            if (rc == HS_OK)
                rc = HS_ERR_PARSE;
        }
        hs_buf_free(&j);
    }
    hs_buf_free(&mp);
    return rc;
}

/* The size of a setting or command name in a request, its NUL included. */
#define HS_CTL_NAME_MAX sizeof(((hs_ctl_request *)NULL)->name)

/* Whether s (NUL-terminated) is a plain name shorter than size ("" counts as plain). */
static bool hs__ctl_plain(const char *s, size_t size)
{
    size_t n = strnlen(s, size);
    return n < size && strspn(s, HS__CTL_NAME_CHARS) == n;
}

int hs_ctl_request_encode(hs_buf *out, const hs_ctl_request *q)
{
    if (!hs__ctl_plain(q->cmd, sizeof q->cmd) || q->cmd[0] == '\0' ||
        !hs__ctl_plain(q->name, sizeof q->name) ||
        strnlen(q->value, sizeof q->value) == sizeof q->value)
        return hs_err_set(HS_ERR_INVAL,
                          "a control command (under %zu bytes) and a setting name "
                          "(under %zu bytes) are made of letters, digits, '_', '-' "
                          "and '.'",
                          sizeof q->cmd, sizeof q->name);
    hs_buf_reset(out);
    int rc = hs_buf_puts(out, "{\"cmd\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(out, q->cmd, strlen(q->cmd));
    if (rc == HS_OK && q->name[0] != '\0') {
        rc = hs_buf_puts(out, ",\"name\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(out, q->name, strlen(q->name));
    }
    if (rc == HS_OK && (q->value[0] != '\0' || strcmp(q->cmd, "set") == 0)) {
        rc = hs_buf_puts(out, ",\"value\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(out, q->value, strlen(q->value));
    }
    if (rc == HS_OK)
        rc = hs_buf_putc(out, '}');
    return rc;
}

/* The members of replies, by bit. */
enum {
    HS__RK_OK,
    HS__RK_ERROR,
    HS__RK_ID,
    HS__RK_SERVICE,
    HS__RK_VERSION,
    HS__RK_UPTIME,
    HS__RK_STATE,
    HS__RK_STATS,
    HS__RK_SETTINGS,
    HS__RK_SETTABLE,
    HS__RK_NAME,
    HS__RK_VALUE,
    HS__RK_N,
};

static const char *const hs__ctl_reply_keys[HS__RK_N] = {"ok",       "error",    "id",    "service",
                                                         "version",  "uptime_s", "state", "stats",
                                                         "settings", "settable", "name",  "value"};

#define HS__RK(k) (1u << (k))

static int hs__ctl_reply_bad(const char *key, const char *expect)
{
    return hs_err_set(HS_ERR_PARSE, "control reply: field '%s' is not %s", key, expect);
}

/* Reads a string into dst (cut short to size) and checks it against the allowed texts. */
static int hs__ctl_reply_str(hs_mp_reader *rd, const char *key, bool nonempty, char *dst,
                             size_t size)
{
    const char *s;
    uint32_t sl;
    if (hs_mp_get_str(rd, &s, &sl) != HS_OK || (nonempty && sl == 0) || memchr(s, '\0', sl))
        return hs__ctl_reply_bad(key, nonempty ? "a non-empty string" : "a string");
    if (dst != NULL)
        snprintf(dst, size, "%.*s", (int)sl, s);
    return HS_OK;
}

/* An array of strings (settable) or a map of strings to strings (settings). */
static int hs__ctl_reply_strs(hs_mp_reader *rd, const char *key, bool map)
{
    uint32_t n;
    if ((map ? hs_mp_get_map(rd, &n) : hs_mp_get_array(rd, &n)) != HS_OK)
        return hs__ctl_reply_bad(key, map ? "an object of texts" : "an array of texts");
    for (uint64_t i = 0; i < (uint64_t)n * (map ? 2u : 1u); i++)
        if (hs__ctl_reply_str(rd, key, map && i % 2 == 0, NULL, 0) != HS_OK)
            return hs__ctl_reply_bad(key, map ? "an object of texts" : "an array of texts");
    return HS_OK;
}

/* Reads the value of member k. */
static int hs__ctl_reply_member(hs_mp_reader *rd, unsigned k, hs_ctl_reply *r)
{
    static const char *const states[] = {"online", "paused", "drained", "draining", "stopping"};
    const char *key = hs__ctl_reply_keys[k];
    hs_mp_type t;
    double v;
    switch (k) {
    case HS__RK_OK:
        return hs_mp_get_bool(rd, &r->ok) == HS_OK ? HS_OK : hs__ctl_reply_bad(key, "a boolean");
    case HS__RK_ERROR:
        return hs__ctl_reply_str(rd, key, true, r->error, sizeof r->error);
    case HS__RK_UPTIME:
        if (hs_mp_get_number(rd, &v) != HS_OK || !(v >= 0))
            return hs__ctl_reply_bad(key, "a number >= 0");
        return HS_OK;
    case HS__RK_STATE: {
        int rc = hs__ctl_reply_str(rd, key, true, r->state, sizeof r->state);
        for (size_t i = 0; rc == HS_OK && i < sizeof states / sizeof states[0]; i++)
            if (strcmp(r->state, states[i]) == 0)
                return HS_OK;
        return rc == HS_OK ? hs__ctl_reply_bad(key, "a known state") : rc;
    }
    case HS__RK_STATS:
        if (hs_mp_peek(rd, &t) != HS_OK || t != HS_MP_MAP || hs_mp_skip(rd) != HS_OK)
            return hs__ctl_reply_bad(key, "an object");
        return HS_OK;
    case HS__RK_SETTINGS:
        return hs__ctl_reply_strs(rd, key, true);
    case HS__RK_SETTABLE:
        return hs__ctl_reply_strs(rd, key, false);
    case HS__RK_VALUE:
        return hs__ctl_reply_str(rd, key, false, NULL, 0);
    default: /* id, service, version, name */
        return hs__ctl_reply_str(rd, key, true, NULL, 0);
    }
}

/* "key":"text" after a comma (the writes' failures are remembered by the buffer). */
static void hs__ctl_kstr(hs_buf *out, const char *key, const char *v)
{
    (void)hs_buf_printf(out, ",\"%s\":", key);
    (void)hs_json_put_string(out, v, strlen(v));
}

int hs_ctl_reply_encode(hs_buf *out, const hs_ctl_reply_out *r)
{
    bool bad = false;
    switch (r->kind) {
    case HS_CTL_REPLY_ERROR:
        bad = r->ok || r->error == NULL || r->error[0] == '\0';
        break;
    case HS_CTL_REPLY_PING:
        bad =
            !r->ok || r->id == NULL || r->service == NULL || r->version == NULL || r->state == NULL;
        break;
    case HS_CTL_REPLY_STATS:
        bad = !r->ok;
        break;
    case HS_CTL_REPLY_SETTINGS:
        bad = !r->ok || (r->nsettings > 0 && r->settings == NULL) ||
              (r->nsettable > 0 && r->settable == NULL);
        for (size_t i = 0; !bad && i < r->nsettable; i++)
            bad = !hs__ctl_plain(r->settable[i], HS_CTL_NAME_MAX);
        for (size_t i = 0; !bad && i < r->nsettings; i++)
            bad = !hs__ctl_plain(r->settings[i].name, HS_CTL_NAME_MAX);
        break;
    case HS_CTL_REPLY_SET:
        bad = !r->ok || r->name == NULL || r->value == NULL ||
              !hs__ctl_plain(r->name, HS_CTL_NAME_MAX);
        break;
    case HS_CTL_REPLY_STATE:
        bad = r->state == NULL || (!r->ok && (r->error == NULL || r->error[0] == '\0'));
        break;
    default:
        bad = true;
    }
    if (bad)
        return hs_err_set(HS_ERR_INVAL, "control reply: a member of its kind is missing");
    hs_buf_reset(out);
    (void)hs_buf_puts(out, r->ok ? "{\"ok\":true" : "{\"ok\":false");
    switch (r->kind) {
    case HS_CTL_REPLY_ERROR:
        hs__ctl_kstr(out, "error", r->error);
        break;
    case HS_CTL_REPLY_PING:
        hs__ctl_kstr(out, "id", r->id);
        hs__ctl_kstr(out, "service", r->service);
        hs__ctl_kstr(out, "version", r->version);
        (void)hs_buf_printf(out, ",\"uptime_s\":%.1f", r->uptime_s);
        hs__ctl_kstr(out, "state", r->state);
        break;
    case HS_CTL_REPLY_STATS:
        (void)hs_buf_puts(out, ",\"stats\":");
        (void)hs_buf_puts(out, r->stats_json != NULL && r->stats_json[0] ? r->stats_json : "{}");
        break;
    case HS_CTL_REPLY_SETTINGS:
        (void)hs_buf_puts(out, ",\"settings\":{");
        for (size_t i = 0; i < r->nsettings; i++) {
            (void)hs_buf_printf(out, "%s\"%s\":", i ? "," : "", r->settings[i].name);
            const char *v = r->settings[i].value != NULL ? r->settings[i].value : "***";
            (void)hs_json_put_string(out, v, strlen(v));
        }
        (void)hs_buf_puts(out, "},\"settable\":[");
        for (size_t i = 0; i < r->nsettable; i++)
            (void)hs_buf_printf(out, "%s\"%s\"", i ? "," : "", r->settable[i]);
        (void)hs_buf_putc(out, ']');
        break;
    case HS_CTL_REPLY_SET:
        hs__ctl_kstr(out, "name", r->name);
        hs__ctl_kstr(out, "value", r->value);
        break;
    default: /* HS_CTL_REPLY_STATE */
        hs__ctl_kstr(out, "state", r->state);
        if (!r->ok)
            hs__ctl_kstr(out, "error", r->error);
        break;
    }
    (void)hs_buf_putc(out, '}');
    return hs_buf_error(out);
}

/* A refusal: {ok: false, error}. */
static int hs__ctl_refuse(hs_buf *reply, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int hs__ctl_refuse(hs_buf *reply, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hs_strvfmt(fmt, ap);
    va_end(ap);
    hs_ctl_reply_out r = {.kind = HS_CTL_REPLY_ERROR, .error = msg != NULL ? msg : "refused"};
    int rc = hs_ctl_reply_encode(reply, &r);
    hs_free(msg);
    return rc;
}

int hs_ctl_reply_decode(const void *payload, size_t len, hs_ctl_reply *r)
{
    memset(r, 0, sizeof *r);
    r->kind = HS_CTL_REPLY_ERROR;
    hs_buf mp;
    hs_buf_init(&mp, 0);
    hs_mp_reader rd;
    uint32_t n = 0;
    unsigned seen = 0;
    int rc = hs_json_to_mpack((const char *)payload, len, &mp);
    if (rc == HS_OK) {
        hs_mp_reader_init(&rd, mp.data, mp.len);
        rc = hs_mp_get_map(&rd, &n);
    }
    if (rc != HS_OK)
        rc = hs_err_set(HS_ERR_PARSE, "control reply: not a JSON object: %s", hs_err_detail());
    for (uint32_t i = 0; rc == HS_OK && i < n; i++) {
        const char *k;
        uint32_t kl;
        unsigned idx = HS__RK_N;
        if (hs_mp_get_str(&rd, &k, &kl) != HS_OK) {
            rc = hs_err_set(HS_ERR_PARSE, "control reply: a member name is not a string");
            break;
        }
        for (unsigned j = 0; j < HS__RK_N && idx == HS__RK_N; j++)
            if (strlen(hs__ctl_reply_keys[j]) == kl && memcmp(hs__ctl_reply_keys[j], k, kl) == 0)
                idx = j;
        if (idx == HS__RK_N)
            rc = hs_err_set(HS_ERR_PARSE, "control reply: unknown field '%.*s'",
                            (int)(kl > 64 ? 64 : kl), k);
        else if (seen & HS__RK(idx))
            rc = hs_err_set(HS_ERR_PARSE, "control reply: field '%s' appears twice",
                            hs__ctl_reply_keys[idx]);
        else
            rc = hs__ctl_reply_member(&rd, idx, r);
        seen |= idx < HS__RK_N ? HS__RK(idx) : 0;
    }
    hs_buf_free(&mp);
    if (rc != HS_OK)
        return rc;
    /* Which reply this is, then whether it has exactly that reply's members. */
    unsigned want;
    if (!r->ok && (seen & HS__RK(HS__RK_STATE))) {
        r->kind = HS_CTL_REPLY_STATE; /* a drain that timed out may say why */
        want = HS__RK(HS__RK_OK) | HS__RK(HS__RK_STATE) | (seen & HS__RK(HS__RK_ERROR));
        if (strcmp(r->state, "draining") != 0)
            return hs__ctl_reply_bad("state", "draining (ok false)");
    } else if (!r->ok) {
        r->kind = HS_CTL_REPLY_ERROR;
        want = HS__RK(HS__RK_OK) | HS__RK(HS__RK_ERROR);
    } else if (seen & HS__RK(HS__RK_ID)) {
        r->kind = HS_CTL_REPLY_PING;
        want = HS__RK(HS__RK_OK) | HS__RK(HS__RK_ID) | HS__RK(HS__RK_SERVICE) |
               HS__RK(HS__RK_VERSION) | HS__RK(HS__RK_UPTIME) | HS__RK(HS__RK_STATE);
    } else if (seen & HS__RK(HS__RK_STATS)) {
        r->kind = HS_CTL_REPLY_STATS;
        want = HS__RK(HS__RK_OK) | HS__RK(HS__RK_STATS);
    } else if (seen & (HS__RK(HS__RK_SETTINGS) | HS__RK(HS__RK_SETTABLE))) {
        r->kind = HS_CTL_REPLY_SETTINGS;
        want = HS__RK(HS__RK_OK) | HS__RK(HS__RK_SETTINGS) | HS__RK(HS__RK_SETTABLE);
    } else if (seen & (HS__RK(HS__RK_NAME) | HS__RK(HS__RK_VALUE))) {
        r->kind = HS_CTL_REPLY_SET;
        want = HS__RK(HS__RK_OK) | HS__RK(HS__RK_NAME) | HS__RK(HS__RK_VALUE);
    } else {
        r->kind = HS_CTL_REPLY_STATE;
        want = HS__RK(HS__RK_OK) | HS__RK(HS__RK_STATE);
    }
    for (unsigned j = 0; j < HS__RK_N; j++) {
        if ((want & HS__RK(j)) && !(seen & HS__RK(j)))
            return hs_err_set(HS_ERR_PARSE, "control reply: field '%s' is missing",
                              hs__ctl_reply_keys[j]);
        if (!(want & HS__RK(j)) && (seen & HS__RK(j)))
            return hs_err_set(HS_ERR_PARSE, "control reply: field '%s' does not belong here",
                              hs__ctl_reply_keys[j]);
    }
    if (r->kind == HS_CTL_REPLY_PING && strcmp(r->state, "online") != 0 &&
        strcmp(r->state, "paused") != 0)
        return hs__ctl_reply_bad("state", "online or paused");
    if (r->kind == HS_CTL_REPLY_STATE && r->ok && strcmp(r->state, "draining") == 0)
        return hs__ctl_reply_bad("state", "draining only with ok false");
    return HS_OK;
}

/* Publishes the retained status for state on the control connection (best effort). */
static void hs__ctl_announce(hs_ctl *c, const char *state)
{
    if (c->mqtt == NULL || c->status_topic == NULL || c->hooks.status == NULL)
        return;
    hs_buf st;
    hs_buf_init(&st, 0);
    if (c->hooks.status(c->hooks.ctx, state, &st) == HS_OK)
        (void)hs_mqtt_publish(c->mqtt, c->status_topic, st.data, st.len, 1, true, 2000);
    hs_buf_free(&st);
}

static int hs__ctl_ping(hs_ctl *c, hs_buf *reply)
{
    hs_ctl_reply_out r = {
        .kind = HS_CTL_REPLY_PING,
        .ok = true,
        .id = c->id,
        .service = c->kind,
        .version = HS_VERSION,
        .uptime_s = (double)(hs_time_now_us() - c->started_us) / 1e6,
        .state = atomic_load(&c->paused) ? "paused" : "online",
    };
    return hs_ctl_reply_encode(reply, &r);
}

static int hs__ctl_stats(hs_ctl *c, hs_buf *reply)
{
    hs_buf m;
    hs_buf_init(&m, 0);
    int rc = c->hooks.stats != NULL ? c->hooks.stats(c->hooks.ctx, &m) : HS_OK;
    hs_ctl_reply_out r = {.kind = HS_CTL_REPLY_STATS, .ok = true, .stats_json = hs_buf_cstr(&m)};
    if (rc == HS_OK)
        rc = hs_ctl_reply_encode(reply, &r);
    hs_buf_free(&m);
    return rc;
}

static int hs__ctl_get(hs_ctl *c, const char *name, hs_buf *reply)
{
    size_t n = 0;
    for (const hs_cfg_item *it = c->table; it->name != NULL; it++)
        n++;
    hs_ctl_setting *v = hs_calloc(n + 1, sizeof *v);
    hs_buf *vals = hs_calloc(n + 1, sizeof *vals);
    int rc = v != NULL && vals != NULL ? HS_OK : HS_ERR_NOMEM;
    size_t k = 0;
    for (const hs_cfg_item *it = c->table; rc == HS_OK && it->name != NULL; it++) {
        if (name[0] != '\0' && strcmp(name, it->name) != 0)
            continue;
        hs_buf_init(&vals[k], 0);
        v[k].name = it->name;
        if (!it->secret) {
            pthread_mutex_lock(&c->mu);
            rc = hs_config_get(c->table, c->cfg, it->name, &vals[k]);
            pthread_mutex_unlock(&c->mu);
            v[k].value = hs_buf_cstr(&vals[k]);
        }
        k++;
    }
    if (rc == HS_OK && k == 0 && name[0] != '\0') {
        rc = hs__ctl_refuse(reply, "no setting '%s'", name);
    } else if (rc == HS_OK) {
        hs_ctl_reply_out r = {.kind = HS_CTL_REPLY_SETTINGS,
                              .ok = true,
                              .settings = v,
                              .nsettings = k,
                              .settable = (const char *const *)c->settable,
                              .nsettable = c->nsettable};
        rc = hs_ctl_reply_encode(reply, &r);
    }
    for (size_t i = 0; vals != NULL && i < k; i++)
        hs_buf_free(&vals[i]);
    hs_free(vals);
    hs_free(v);
    return rc;
}

static int hs__ctl_set(hs_ctl *c, const char *name, const char *value, hs_buf *reply)
{
    bool allowed = false;
    for (size_t i = 0; i < c->nsettable && !allowed; i++)
        allowed = strcmp(c->settable[i], name) == 0;
    if (!allowed) {
        hs_buf list;
        hs_buf_init(&list, 0);
        for (size_t i = 0; i < c->nsettable; i++)
            (void)hs_buf_printf(&list, " %s", c->settable[i]);
        int rc = hs_buf_error(&list);
        if (rc == HS_OK)
            rc = hs__ctl_refuse(reply, "setting '%s' cannot be changed while %s runs (settable:%s)",
                                name, c->kind, hs_buf_cstr(&list));
        hs_buf_free(&list);
        return rc;
    }
    char *n = hs_strdup(name), *v = hs_strdup(value);
    if (n == NULL || v == NULL) {
        hs_free(n);
        hs_free(v);
        return HS_ERR_NOMEM;
    }
    pthread_mutex_lock(&c->mu);
    hs_free(c->set_name);
    hs_free(c->set_value);
    c->set_name = n;
    c->set_value = v;
    c->set_pending = true;
    c->set_done = false;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (c->set_timeout_us % HS_US_PER_S) * 1000;
    ts.tv_sec += (time_t)(c->set_timeout_us / HS_US_PER_S + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    while (!c->set_done && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0)
        ;
    bool done = c->set_done;
    int set_rc = c->set_rc;
    char err[300];
    snprintf(err, sizeof err, "%s", c->set_err);
    c->set_pending = false;
    pthread_mutex_unlock(&c->mu);
    if (!done)
        return hs__ctl_refuse(reply, "the service did not apply the setting within %g s",
                              (double)c->set_timeout_us / 1e6);
    if (set_rc != HS_OK)
        return hs__ctl_refuse(reply, "%s", err[0] ? err : hs_strerror(set_rc));
    hs_ctl_reply_out r = {.kind = HS_CTL_REPLY_SET, .ok = true, .name = name, .value = value};
    return hs_ctl_reply_encode(reply, &r);
}

/* {ok, state}, or {ok: false, state, error} when error is not NULL. */
static int hs__ctl_state(hs_buf *reply, const char *state, const char *error)
{
    hs_ctl_reply_out r = {
        .kind = HS_CTL_REPLY_STATE, .ok = error == NULL, .state = state, .error = error};
    return hs_ctl_reply_encode(reply, &r);
}

static int hs__ctl_pause(hs_ctl *c, bool pause, hs_buf *reply)
{
    atomic_store(&c->paused, pause);
    /*
     * "paused" is announced at once, so that nobody sends more work; "online"
     * only once the service has resumed (on its own thread, after it
     * re-subscribed), so that work sent on seeing it is not lost.
     */
    if (pause) {
        hs__ctl_announce(c, "paused");
        atomic_store(&c->status_paused, true);
    }
    if (c->log != NULL)
        hs_info(c->log, "%s (control channel)", pause ? "paused" : "resumed");
    return hs__ctl_state(reply, pause ? "paused" : "online", NULL);
}

static int hs__ctl_drain(hs_ctl *c, hs_buf *reply)
{
    atomic_store(&c->idle, false);
    atomic_store(&c->paused, true);
    hs__ctl_announce(c, "paused");
    atomic_store(&c->status_paused, true);
    if (c->log != NULL)
        hs_info(c->log, "draining (control channel)");
    int64_t end = hs_time_mono_us() + c->drain_timeout_us;
    while (!atomic_load(&c->idle) && hs_time_mono_us() < end) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&c->idle))
        return hs__ctl_state(reply, "drained", NULL);
    char why[128];
    snprintf(why, sizeof why, "work still in flight after %g s; it stays paused",
             (double)c->drain_timeout_us / 1e6);
    return hs__ctl_state(reply, "draining", why);
}

int hs_ctl_execute(hs_ctl *c, const void *payload, size_t len, hs_buf *reply)
{
    hs_ctl_request q;
    int rc = hs_ctl_request_read(payload, len, &q, reply);
    if (rc == HS_ERR_PARSE)
        return HS_OK; /* the reply is the refusal */
    if (rc != HS_OK)
        return rc;
    const char *cmd = q.cmd;
    if (strcmp(cmd, "ping") == 0)
        return hs__ctl_ping(c, reply);
    if (strcmp(cmd, "stats") == 0)
        return hs__ctl_stats(c, reply);
    if (strcmp(cmd, "get") == 0)
        return hs__ctl_get(c, q.name, reply);
    if (strcmp(cmd, "set") == 0)
        return hs__ctl_set(c, q.name, q.value, reply);
    if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0)
        return hs__ctl_pause(c, cmd[0] == 'p', reply);
    if (strcmp(cmd, "drain") == 0)
        return hs__ctl_drain(c, reply);
    if (strcmp(cmd, "shutdown") == 0) {
        if (c->log != NULL)
            hs_info(c->log, "shutting down (control channel)");
        if (c->hooks.stop != NULL)
            c->hooks.stop(c->hooks.ctx);
        return hs__ctl_state(reply, "stopping", NULL);
    }
    return hs__ctl_refuse(reply,
                          "unknown command '%s' (ping, stats, get, set, pause, resume, drain, "
                          "shutdown)",
                          cmd);
}

void hs_ctl_apply_pending(hs_ctl *c)
{
    pthread_mutex_lock(&c->mu);
    if (!c->set_pending) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->set_err[0] = '\0';
    int rc = HS_OK;
    int level;
    const hs_cfg_item *it = c->table;
    while (it->name != NULL && strcmp(it->name, c->set_name) != 0)
        it++;
    bool is_level = strcmp(c->set_name, "log_level") == 0;
    if (is_level && hs_log_level_parse(c->set_value, &level) != HS_OK)
        rc = hs_err_set(HS_ERR_CONFIG,
                        "'%s' is not a log level (debug, info, warn, error, mon, off)",
                        c->set_value);
    hs_proto_mon_level mon_level;
    if (rc == HS_OK && strcmp(c->set_name, "mon_level") == 0 &&
        hs_proto_mon_level_parse(c->set_value, &mon_level) != HS_OK)
        rc = hs_err_set(HS_ERR_CONFIG, "'%s' is not an event level (debug, info, warn, error)",
                        c->set_value);
    /* Numeric run-time settings are sizes, counts and periods: they must be positive. */
    hs_buf old;
    hs_buf_init(&old, 0);
    if (rc == HS_OK)
        rc = hs_config_get(c->table, c->cfg, c->set_name, &old);
    if (rc == HS_OK)
        rc = hs_config_set(c->table, c->cfg, c->set_name, c->set_value);
    if (rc == HS_OK && it->name != NULL && it->type != HS_CFG_STR && it->type != HS_CFG_BOOL) {
        int64_t v;
        memcpy(&v, (const char *)c->cfg + it->offset, sizeof v);
        if (v <= 0) {
            (void)hs_config_set(c->table, c->cfg, c->set_name, hs_buf_cstr(&old));
            rc = hs_err_set(HS_ERR_CONFIG, "%s must be positive", c->set_name);
        }
    }
    hs_buf_free(&old);
    if (rc != HS_OK)
        snprintf(c->set_err, sizeof c->set_err, "%s", hs_err_detail());
    else if (is_level && c->log != NULL)
        hs_log_set_level(c->log, level);
    c->set_rc = rc;
    c->set_pending = false;
    c->set_done = true;
    pthread_cond_broadcast(&c->cv);
    if (rc == HS_OK && c->log != NULL)
        hs_info(c->log, "setting %s changed to %s (control channel)", c->set_name, c->set_value);
    pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------------ connection */

static bool hs__ctl_running(hs_ctl *c)
{
    return !atomic_load(&c->stopping) &&
           (c->hooks.running == NULL || c->hooks.running(c->hooks.ctx));
}

static void *hs__ctl_thread(void *arg)
{
    hs_ctl *c = arg;
    hs_buf reply;
    hs_buf_init(&reply, 0);
    while (hs__ctl_running(c)) {
        hs_mqtt_msg *m;
        int rc = hs_mqtt_recv(c->mqtt, &m, 200);
        if (rc == HS_ERR_CLOSED)
            break;
        if (rc != HS_OK)
            continue;
        hs_buf_reset(&reply);
        rc = hs_ctl_execute(c, m->payload, m->len, &reply);
        if (rc != HS_OK) {
            hs_buf_reset(&reply);
            rc = hs_buf_puts(&reply, "{\"ok\":false,\"error\":\"out of memory\"}");
        }
        if (rc == HS_OK && m->response_topic != NULL) {
            hs_mqtt_pub_props p = {NULL, m->correlation, m->correlation_len};
            (void)hs_mqtt_publish_props(c->mqtt, m->response_topic, reply.data, reply.len, 1, false,
                                        2000, &p);
        }
        hs_mqtt_msg_free(m);
    }
    hs_buf_free(&reply);
    return NULL;
}

int hs_ctl_start(hs_ctl *c, const hs_mqtt_opts *o, const char *topic, const char *status_topic)
{
    if (c->mqtt != NULL)
        return hs_err_set(HS_ERR_STATE, "the control channel runs already");
    c->status_topic = hs_strdup(status_topic);
    if (c->status_topic == NULL)
        return HS_ERR_NOMEM;
    int rc = hs_mqtt_create(&c->mqtt, o);
    if (rc == HS_OK)
        rc = hs_mqtt_connect(c->mqtt);
    if (rc == HS_OK)
        rc = hs_mqtt_subscribe(c->mqtt, topic, 1);
    if (rc == HS_OK && pthread_create(&c->thread, NULL, hs__ctl_thread, c) == 0)
        c->thread_started = true;
    else if (rc == HS_OK)
        rc = hs_err_set(HS_ERR_IO, "cannot start the control thread");
    return rc;
}
