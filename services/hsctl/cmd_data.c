/* hsctl pub / sub / stream: publishing, subscribing, querying and purging streams. */
#include "hsctl.h"

#include "hs_alloc.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Canonicalises a user-given stream id into out; prints the reason on failure. */
static bool canonical_id(const char *s, hs_buf *out)
{
    hs_buf_reset(out);
    if (hs_streamid_canonical(s, strlen(s), out) != HS_OK) {
        hsctl_fail(HSCTL_USER, "invalid stream id: %s", hs_err_detail());
        return false;
    }
    return true;
}

int cmd_pub(hsctl *h, int argc, char **argv)
{
    const char *id = NULL, *value = NULL, *t = NULL;
    int qos = 1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl pub ID [--t TIME] [--qos 0|1] VALUE\n"
                 "Publishes one reading to <prefix>/raw/ID. VALUE is a payload as devices send\n"
                 "it: JSON (21.5, {\"temp\":21.5}, \"living room\", {\"t\":...,\"v\":...}) or a\n"
                 "bare word (on, OFF, heating_2), which is a string; other text is refused\n"
                 "(quote it as a JSON string). Without --t a bare value is stamped with its\n"
                 "arrival time. VALUE '-' reads payloads from standard input, one a line.\n"
                 "Input formats and stream id rules: docs/INPUT.md.");
            return 0;
        } else if (hsctl_opt(argc, argv, &i, "--t", &v)) {
            t = v;
        } else if (hsctl_opt(argc, argv, &i, "--qos", &v)) {
            qos = v ? atoi(v) : -1;
            if (qos != 0 && qos != 1)
                return hsctl_fail(HSCTL_USER, "--qos must be 0 or 1");
        } else if (hsctl_opt(argc, argv, &i, "--data", &v)) {
            continue;
        } else if (id == NULL) {
            id = argv[i];
        } else if (value == NULL) {
            value = argv[i];
        } else {
            return hsctl_fail(HSCTL_USER, "too many arguments for pub (quote the VALUE)");
        }
    }
    if (id == NULL || value == NULL)
        return hsctl_fail(HSCTL_USER, "usage: hsctl pub ID [--t TIME] VALUE");
    hs_buf sid, topic, payload, tmp;
    hs_buf_init(&sid, 0);
    hs_buf_init(&topic, 0);
    hs_buf_init(&payload, 0);
    hs_buf_init(&tmp, 0);
    int rc = HSCTL_OK;
    if (!canonical_id(id, &sid)) {
        rc = HSCTL_USER;
        goto out;
    }
    hs_mqtt *m = hsctl_mqtt(h);
    if (m == NULL) {
        rc = HSCTL_SYSTEM;
        goto out;
    }
    hsctl_topic(h, &topic, "raw/%s", hs_buf_cstr(&sid));
    if (strcmp(value, "-") == 0) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        size_t count = 0;
        while ((n = getline(&line, &cap, stdin)) > 0) {
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
            if (n == 0)
                continue;
            if (hs_mqtt_publish(m, hs_buf_cstr(&topic), line, (size_t)n, qos, false, 30000) !=
                HS_OK) {
                rc = hsctl_fail(HSCTL_SYSTEM, "publish failed after %zu lines", count);
                break;
            }
            count++;
        }
        free(line);
        if (rc == HSCTL_OK && hs_mqtt_flush(m, 30000) != HS_OK)
            rc = hsctl_fail(HSCTL_SYSTEM, "the broker did not acknowledge every message");
        goto out;
    }
    /*
     * VALUE is checked by the rule ingest applies to a raw payload (hs_codec_decode_text), so
     * what this refuses would be dead-lettered and what it sends is stored as it reads here.
     */
    int64_t ts = 0;
    if (t != NULL && !hsctl_time(t, &ts)) {
        rc = HSCTL_USER;
        goto out;
    }
    hs_batch b;
    hs_batch_init(&b);
    int erc = hs_codec_decode_text(value, strlen(value), ts, &b);
    if (erc != HS_OK) {
        rc = hsctl_fail(HSCTL_USER, "VALUE is not a reading: %s", hs_err_detail());
    } else if (t == NULL) {
        erc = hs_buf_append(&payload, value, strlen(value));
    } else if (b.n != 1 || b.items[0].t_us != ts) {
        rc = hsctl_fail(HSCTL_USER, "with --t, VALUE is one bare value, not an instance or a "
                                    "batch with times of its own");
    } else {
        erc = hs_codec_encode_json_line(ts, hs_batch_value(&b, 0), b.items[0].len, &payload);
        if (erc == HS_OK)
            payload.len--; /* one message, not a line: no newline */
    }
    hs_batch_free(&b);
    if (rc != HSCTL_OK)
        goto out;
    if (erc != HS_OK) {
        rc = hsctl_fail(HSCTL_SYSTEM, "cannot encode the reading: %s", hs_err_detail());
        goto out;
    }
    if (hs_mqtt_publish(m, hs_buf_cstr(&topic), payload.data, payload.len, qos, false, 10000) !=
            HS_OK ||
        hs_mqtt_flush(m, 10000) != HS_OK)
        rc = hsctl_fail(HSCTL_SYSTEM, "the broker did not accept the message");
out:
    hs_buf_free(&sid);
    hs_buf_free(&topic);
    hs_buf_free(&payload);
    hs_buf_free(&tmp);
    return rc;
}

/*
 * Appends one JSON line for instance i of b: {"t":...,"v":...}, or with sid
 * {"stream":sid,"t":...,"v":...}; with newline false, without its '\n'.
 */
static int sub_instance(const hs_batch *b, size_t i, const char *sid, bool newline, hs_buf *line)
{
    size_t mark = line->len;
    if (sid != NULL) {
        int rc = hs_buf_puts(line, "{\"stream\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(line, sid, strlen(sid));
        if (rc == HS_OK)
            rc = hs_buf_putc(line, ',');
        if (rc != HS_OK)
            return rc;
    }
    size_t at = line->len;
    int rc =
        hs_codec_encode_json_line(b->items[i].t_us, hs_batch_value(b, i), b->items[i].len, line);
    if (rc != HS_OK) {
        line->len = mark;
        return rc;
    }
    if (sid != NULL) {
        /* Drop the '{' of the encoded line: it follows the stream's field. */
        memmove(line->data + at, line->data + at + 1, line->len - at - 1);
        line->len--;
    }
    if (!newline)
        line->len--;
    return HS_OK;
}

/*
 * Appends a correction as one JSON line {"correction":{"interval":[FROM,TO],
 * "data":[{"t":...,"v":...},...]}} (with "stream" first when sid is given):
 * the stream over (FROM, TO] is now exactly data.
 */
static int sub_correction(const hs_proto_correction *c, const hs_batch *b, const char *sid,
                          hs_buf *line)
{
    char a[HS_TIME_ISO_MAX], z[HS_TIME_ISO_MAX];
    hs_time_format_iso(c->interval.start, a);
    hs_time_format_iso(c->interval.end, z);
    int rc = hs_buf_putc(line, '{');
    if (rc == HS_OK && sid != NULL) {
        rc = hs_buf_puts(line, "\"stream\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(line, sid, strlen(sid));
        if (rc == HS_OK)
            rc = hs_buf_putc(line, ',');
    }
    if (rc == HS_OK)
        rc = hs_buf_printf(line, "\"correction\":{\"interval\":[\"%s\",\"%s\"],\"data\":[", a, z);
    for (size_t i = 0; rc == HS_OK && i < b->n; i++) {
        if (i > 0)
            rc = hs_buf_putc(line, ',');
        if (rc == HS_OK)
            rc = sub_instance(b, i, NULL, false, line);
    }
    if (rc == HS_OK)
        rc = hs_buf_puts(line, "]}}\n");
    return rc;
}

/*
 * Checks a wildcard PATTERN of hsctl sub: after the name (or +), every part
 * is a key=value pair, + or a final #, as in a stream id. A topic such as
 * hs/dead/# would otherwise be subscribed to under hs/s/ and print nothing.
 */
static bool sub_pattern_ok(const hsctl *h, const char *pattern)
{
    const char *slash = strchr(pattern, '/');
    while (slash != NULL) {
        const char *part = slash + 1, *end = strchr(part, '/');
        size_t len = end ? (size_t)(end - part) : strlen(part);
        bool wild = (len == 1 && part[0] == '+') || (len == 1 && part[0] == '#' && end == NULL);
        if (!wild && memchr(part, '=', len) == NULL) {
            hsctl_fail(HSCTL_USER,
                       "PATTERN '%s': part '%.*s' is not a key=value pair, + or a final #: "
                       "PATTERN is a stream id pattern such as 'temperature/#' (hsctl sub "
                       "reads %s/s/PATTERN); to watch dead letters: mosquitto_sub -p PORT -t "
                       "'%s/dead/#' -v",
                       pattern, (int)len, part, h->cfg.prefix, h->cfg.prefix);
            return false;
        }
        slash = end;
    }
    return true;
}

int cmd_sub(hsctl *h, int argc, char **argv)
{
    const char *pattern = NULL;
    long count = -1;
    double timeout_s = -1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl sub PATTERN [--count N] [--timeout SECONDS]\n"
                 "Prints newly committed instances of the streams matching PATTERN (a stream id,\n"
                 "MQTT wildcards + and # allowed, e.g. 'temperature/#') as JSON lines\n"
                 "{\"t\":\"<ISO-8601>\",\"v\":<value>} (with \"stream\" when PATTERN has a\n"
                 "wildcard). A recomputation (late data, an invalidation) prints a correction\n"
                 "line "
                 "{\"correction\":{\"interval\":[FROM,TO],\"data\":[{\"t\":...,\"v\":...},...]}}:\n"
                 "the stream over (FROM, TO] is now exactly data; what was printed before in\n"
                 "that interval and is not in data was removed. Stops after N lines, after\n"
                 "SECONDS without one, or on Ctrl-C.");
            return 0;
        } else if (hsctl_opt(argc, argv, &i, "--count", &v)) {
            count = v ? atol(v) : -1;
            if (count <= 0)
                return hsctl_fail(HSCTL_USER, "--count needs a positive number");
        } else if (hsctl_opt(argc, argv, &i, "--timeout", &v)) {
            timeout_s = v ? atof(v) : -1;
            if (timeout_s <= 0)
                return hsctl_fail(HSCTL_USER, "--timeout needs a positive number of seconds");
        } else if (hsctl_opt(argc, argv, &i, "--data", &v)) {
            continue;
        } else if (pattern == NULL) {
            pattern = argv[i];
        } else {
            return hsctl_fail(HSCTL_USER, "too many arguments for sub");
        }
    }
    if (pattern == NULL)
        return hsctl_fail(HSCTL_USER, "usage: hsctl sub PATTERN");
    bool wild = strchr(pattern, '+') != NULL || strchr(pattern, '#') != NULL;
    /* One stream: its canonical id (pairs sorted), as results are published under it. */
    hs_buf canon; /* owned */
    hs_buf_init(&canon, 0);
    if (wild ? !sub_pattern_ok(h, pattern) : !canonical_id(pattern, &canon)) {
        hs_buf_free(&canon);
        return HSCTL_USER;
    }
    if (!wild)
        pattern = hs_buf_cstr(&canon);
    hs_mqtt *m = hsctl_mqtt(h);
    if (m == NULL) {
        hs_buf_free(&canon);
        return HSCTL_SYSTEM;
    }
    hs_buf topic, line;
    hs_buf_init(&topic, 0);
    hs_buf_init(&line, 0);
    /* New results on s/, corrections of recomputed intervals on c/. */
    const char *kinds[2] = {"s", "c"};
    for (size_t k = 0; k < 2; k++) {
        hsctl_topic(h, &topic, "%s/%s", kinds[k], pattern);
        if (hs_mqtt_subscribe(m, hs_buf_cstr(&topic), 1) != HS_OK) {
            int rc = hsctl_fail(HSCTL_USER, "cannot subscribe to %s: %s", hs_buf_cstr(&topic),
                                hs_err_detail());
            hs_buf_free(&topic);
            hs_buf_free(&line);
            hs_buf_free(&canon);
            return rc;
        }
    }
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    setvbuf(stdout, NULL, _IOLBF, 0);
    size_t plen = strlen(h->cfg.prefix) + 3;
    hs_batch b;
    hs_batch_init(&b);
    long seen = 0;
    int64_t last = hs_time_mono_us();
    while (!g_stop && (count < 0 || seen < count)) {
        hs_mqtt_msg *msg;
        int rc = hs_mqtt_recv(m, &msg, 200);
        if (rc != HS_OK) {
            if (timeout_s > 0 && (double)(hs_time_mono_us() - last) / 1e6 >= timeout_s)
                break;
            continue;
        }
        last = hs_time_mono_us();
        const char *sid = strlen(msg->topic) > plen ? msg->topic + plen : msg->topic;
        bool correction = strlen(msg->topic) > plen && msg->topic[plen - 2] == 'c';
        hs_proto_correction c;
        if (correction) {
            if (hs_proto_correction_decode(&c, msg->payload, msg->len) == HS_OK &&
                hs_codec_decode_mpack(c.data, c.data_len, false, &b) == HS_OK) {
                hs_buf_reset(&line);
                if (sub_correction(&c, &b, wild ? sid : NULL, &line) == HS_OK) {
                    (void)hsctl_write_buf(&line, stdout);
                    seen++;
                }
            } else {
                fprintf(stderr, "hsctl: unreadable correction on %s: %s\n", msg->topic,
                        hs_err_detail());
            }
        } else if (hs_codec_decode_mpack(msg->payload, msg->len, false, &b) == HS_OK) {
            for (size_t i = 0; i < b.n && (count < 0 || seen < count); i++) {
                hs_buf_reset(&line);
                if (sub_instance(&b, i, wild ? sid : NULL, true, &line) != HS_OK)
                    continue;
                (void)hsctl_write_buf(&line, stdout);
                seen++;
            }
        }
        hs_mqtt_msg_free(msg);
    }
    hs_batch_free(&b);
    hs_buf_free(&topic);
    hs_buf_free(&line);
    hs_buf_free(&canon);
    return HSCTL_OK;
}

/* ---- stream ---- */

typedef enum { FMT_JSON, FMT_CSV, FMT_TABLE } out_fmt;

/*
 * Writes instance i of b: a JSON line, a CSV row (RFC 4180) or a row of
 * table (printed in blocks by the caller). HS_OK or the encoder's error.
 */
static int print_instance(out_fmt fmt, const hs_batch *b, size_t i, hs_buf *line,
                          hsctl_table *table)
{
    hs_buf_reset(line);
    int rc;
    if (fmt == FMT_JSON) {
        rc = hs_codec_encode_json_line(b->items[i].t_us, hs_batch_value(b, i), b->items[i].len,
                                       line);
    } else {
        char iso[HS_TIME_ISO_MAX];
        hs_time_format_iso(b->items[i].t_us, iso);
        if (fmt == FMT_CSV) {
            rc = hs_buf_printf(line, "%s,", iso);
            if (rc == HS_OK)
                rc = hsctl_value_text(line, hs_batch_value(b, i), b->items[i].len, true);
            if (rc == HS_OK)
                rc = hs_buf_putc(line, '\n');
        } else {
            rc = hsctl_value_text(line, hs_batch_value(b, i), b->items[i].len, false);
            const char *row[2] = {iso, hs_buf_cstr(line)};
            if (rc == HS_OK)
                rc = hsctl_table_add(table, row);
            return rc;
        }
    }
    if (rc == HS_OK)
        (void)hsctl_write_buf(line, stdout);
    return rc;
}

static int stream_get(hsctl *h, int argc, char **argv)
{
    const char *id = NULL;
    int64_t from = HS_TIME_MIN - 1, to = HS_TIME_MAX;
    long head = -1, tail = -1;
    out_fmt fmt = FMT_JSON;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (hsctl_opt(argc, argv, &i, "--from", &v)) {
            if (!hsctl_time(v, &from))
                return HSCTL_USER;
        } else if (hsctl_opt(argc, argv, &i, "--to", &v)) {
            if (!hsctl_time(v, &to))
                return HSCTL_USER;
        } else if (hsctl_opt(argc, argv, &i, "--head", &v)) {
            head = v ? atol(v) : 0;
            if (head <= 0)
                return hsctl_fail(HSCTL_USER, "--head needs a positive number");
        } else if (hsctl_opt(argc, argv, &i, "--tail", &v)) {
            tail = v ? atol(v) : 0;
            if (tail <= 0)
                return hsctl_fail(HSCTL_USER, "--tail needs a positive number");
        } else if (hsctl_opt(argc, argv, &i, "--format", &v)) {
            if (v != NULL && strcmp(v, "json") == 0)
                fmt = FMT_JSON;
            else if (v != NULL && strcmp(v, "csv") == 0)
                fmt = FMT_CSV;
            else if (v != NULL && strcmp(v, "table") == 0)
                fmt = FMT_TABLE;
            else
                return hsctl_fail(HSCTL_USER, "--format must be json, csv or table");
        } else if (hsctl_opt(argc, argv, &i, "--data", &v)) {
            continue;
        } else if (id == NULL) {
            id = argv[i];
        } else {
            return hsctl_fail(HSCTL_USER, "unexpected argument '%s'", argv[i]);
        }
    }
    if (id == NULL)
        return hsctl_fail(HSCTL_USER, "usage: hsctl stream get ID [--from T] [--to T]");
    if (head > 0 && tail > 0)
        return hsctl_fail(HSCTL_USER, "use --head or --tail, not both");
    if (from >= to)
        return hsctl_fail(HSCTL_USER, "--from must be before --to");
    hs_buf sid, line;
    hs_buf_init(&sid, 0);
    hs_buf_init(&line, 0);
    if (!canonical_id(id, &sid)) {
        hs_buf_free(&sid);
        return HSCTL_USER;
    }
    hs_store *s = hsctl_store(h);
    if (s == NULL) {
        hs_buf_free(&sid);
        return HSCTL_SYSTEM;
    }
    hs_stream_info info;
    int rc = hs_store_stream_get(s, hs_buf_cstr(&sid), &info);
    if (rc == HS_ERR_NOTFOUND) {
        hsctl_fail(HSCTL_USER, "no stream %s (hsctl stream ls lists them)", hs_buf_cstr(&sid));
        hs_buf_free(&sid);
        return HSCTL_USER;
    }
    hs_stream_info_free(&info);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (fmt == FMT_CSV)
        puts("t,v");
    /* A table is printed in blocks: its columns are as wide as the widest cell so far. */
    hsctl_table table;
    const char *heads[2] = {"T", "V"};
    memset(&table, 0, sizeof table);
    rc = fmt == FMT_TABLE ? hsctl_table_init(&table, 2, heads, "ll") : HS_OK;
    hs_interval range = {from, to};
    hs_batch b;
    hs_batch_init(&b);
    if (rc != HS_OK) {
        /* reported below */
    } else if (head > 0 || tail > 0) {
        rc = head > 0 ? hs_store_head(s, hs_buf_cstr(&sid), range, (size_t)head, &b)
                      : hs_store_tail(s, hs_buf_cstr(&sid), range, (size_t)tail, &b);
        for (size_t i = 0; rc == HS_OK && i < b.n; i++)
            rc = print_instance(fmt, &b, i, &line, &table);
    } else {
        hs_store_cursor *c;
        rc = hs_store_read(s, hs_buf_cstr(&sid), range, 8192, &c);
        while (rc == HS_OK) {
            rc = hs_store_cursor_next(c, &b);
            if (rc != HS_OK || b.n == 0)
                break;
            for (size_t i = 0; rc == HS_OK && i < b.n; i++)
                rc = print_instance(fmt, &b, i, &line, &table);
            if (rc == HS_OK && fmt == FMT_TABLE && hsctl_table_print(&table) != HSCTL_OK)
                rc = HS_ERR_NOMEM;
        }
        if (c != NULL)
            hs_store_cursor_close(c);
    }
    if (rc == HS_OK && fmt == FMT_TABLE && hsctl_table_print(&table) != HSCTL_OK)
        rc = HS_ERR_NOMEM;
    hsctl_table_free(&table);
    fflush(stdout);
    hs_batch_free(&b);
    hs_buf_free(&line);
    hs_buf_free(&sid);
    if (rc != HS_OK) {
        char msg[600];
        return hsctl_fail(HSCTL_SYSTEM, "reading the store failed: %s",
                          hs_err_describe(rc, msg, sizeof msg));
    }
    return HSCTL_OK;
}

/* The default --limit of the stream ls table (JSON lines have none unless given). */
#define LS_TABLE_LIMIT 1000

/* Table rows kept before they are printed (widths stay those of the first block or wider). */
#define LS_BLOCK_ROWS 8192

/* stream ls: the listing's context. */
typedef struct ls_ctx {
    hs_store *s;         /* borrowed */
    bool json;           /* JSON lines instead of a table */
    bool summary;        /* one row per stream name instead of one per stream */
    const char *pattern; /* borrowed: a glob the whole id must match, or NULL */
    uint64_t limit;      /* rows printed at most; 0: all */
    uint64_t matched;    /* streams that matched */
    uint64_t shown;      /* rows printed (or kept to print) */
    hsctl_table table;   /* the rows without json */
    hsctl_summary sum;   /* with summary: the streams by name */
    int rc;              /* HS_OK, or the first failure */
} ls_ctx;

/*
 * The reopened intervals of stream sid (docs/reopened/<sid>) into out
 * (cleared first): none when there is no such document. HS_OK, or the
 * store's or the decoder's error.
 */
static int reopened_get(hs_store *s, const char *sid, hs_intervals *out)
{
    hs_buf doc;
    hs_buf_init(&doc, 0);
    int rc = hs_proto_reopened_doc_read(s, sid, &doc, out);
    hs_buf_free(&doc);
    return rc;
}

static const char *kind_name(int k)
{
    return k == HS_STREAM_RAW ? "raw" : k == HS_STREAM_COMPUTED ? "computed" : "asset";
}

static int ls_one(void *ud, const hs_stream_info *info)
{
    ls_ctx *c = ud;
    if (c->pattern != NULL && fnmatch(c->pattern, info->id, 0) != 0)
        return 0;
    c->matched++;
    int64_t n = 0;
    if (c->summary) {
        (void)hs_store_count(c->s, info->id, hs_store_all_time(), &n);
        c->rc = hsctl_summary_add(&c->sum, info->id, info->kind, n > 0 ? (uint64_t)n : 0,
                                  &info->calculated);
        return c->rc == HS_OK ? 0 : -1;
    }
    /* Beyond the limit a stream is only counted (for the "more" line): no read per stream. */
    if (c->limit > 0 && c->shown >= c->limit)
        return 0;
    c->shown++;
    (void)hs_store_count(c->s, info->id, hs_store_all_time(), &n);
    hs_interval span;
    char a[HS_TIME_ISO_MAX] = "-", b[HS_TIME_ISO_MAX] = "-";
    if (hs_intervals_span(&info->calculated, &span)) {
        hs_time_format_iso(span.start, a);
        hs_time_format_iso(span.end, b);
    }
    /* Only computed streams can have reopened intervals; a document that
     * cannot be read shows as none here (stream intervals reports it). */
    hs_intervals reopened;
    hs_intervals_init(&reopened);
    if (info->kind == HS_STREAM_COMPUTED && reopened_get(c->s, info->id, &reopened) != HS_OK)
        hs_intervals_clear(&reopened);
    char more[48] = "";
    if (reopened.n > 0)
        snprintf(more, sizeof more, "; reopened %zu", reopened.n);
    if (c->json) {
        hs_buf j;
        hs_buf_init(&j, 0);
        int rc = hs_buf_puts(&j, "{\"stream\":");
        if (rc == HS_OK)
            rc = hs_json_put_string(&j, info->id, strlen(info->id));
        if (rc == HS_OK)
            rc = hs_buf_printf(&j,
                               ",\"kind\":\"%s\",\"count\":%lld,\"intervals\":%zu,"
                               "\"reopened\":%zu}\n",
                               kind_name(info->kind), (long long)n, info->calculated.n, reopened.n);
        if (rc == HS_OK)
            (void)hsctl_write_buf(&j, stdout);
        else if (c->rc == HS_OK)
            c->rc = rc;
        hs_buf_free(&j);
    } else {
        char count[32], calc[2 * HS_TIME_ISO_MAX + 80];
        snprintf(count, sizeof count, "%lld", (long long)n);
        snprintf(calc, sizeof calc, "(%s, %s]%s%s", a, b,
                 info->calculated.n > 1 ? " with gaps" : "", more);
        const char *row[4] = {info->id, kind_name(info->kind), count, calc};
        int rc = hsctl_table_add(&c->table, row);
        if (rc != HS_OK && c->rc == HS_OK)
            c->rc = rc;
        /* A long listing is printed in blocks, not kept whole. */
        if (rc == HS_OK && c->table.rows >= LS_BLOCK_ROWS &&
            hsctl_table_print(&c->table) != HSCTL_OK && c->rc == HS_OK)
            c->rc = HS_ERR_NOMEM;
    }
    hs_intervals_free(&reopened);
    return 0;
}

/* The kinds of a summary row: "raw", or "raw 3, computed 2" when they differ. */
static void sum_kinds(const hsctl_sum_row *r, char *out, size_t len)
{
    size_t o = 0;
    int nkinds = (r->kinds[0] > 0) + (r->kinds[1] > 0) + (r->kinds[2] > 0);
    out[0] = '\0';
    for (int k = 0; k < 3; k++) {
        if (r->kinds[k] == 0 || o >= len)
            continue;
        int w = nkinds > 1 ? snprintf(out + o, len - o, "%s%s %llu", o ? ", " : "", kind_name(k),
                                      (unsigned long long)r->kinds[k])
                           : snprintf(out + o, len - o, "%s", kind_name(k));
        if (w > 0)
            o += (size_t)w;
    }
}

/*
 * stream ls --summary: prints the rows of c->sum (sorted), at most c->limit
 * of them, as a table or as JSON lines. HSCTL_OK or HSCTL_SYSTEM.
 */
static int ls_summary_print(ls_ctx *c)
{
    hsctl_summary_sort(&c->sum);
    const char *heads[5] = {"NAME", "STREAMS", "INSTANCES", "KINDS", "CALCULATED"};
    if (!c->json && hsctl_table_init(&c->table, 5, heads, "lrrll") != HS_OK)
        return hsctl_fail(HSCTL_SYSTEM, "out of memory");
    int rc = HS_OK;
    hs_buf j;
    hs_buf_init(&j, 0);
    for (size_t i = 0; rc == HS_OK && i < c->sum.n && (c->limit == 0 || i < c->limit); i++) {
        const hsctl_sum_row *r = &c->sum.rows[i];
        char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
        if (r->have_span) {
            hs_time_format_iso(r->span.start, a);
            hs_time_format_iso(r->span.end, b);
        }
        c->shown++;
        if (c->json) {
            hs_buf_reset(&j);
            rc = hs_buf_puts(&j, "{\"name\":");
            if (rc == HS_OK)
                rc = hs_json_put_string(&j, r->name, strlen(r->name));
            if (rc == HS_OK)
                rc = hs_buf_printf(&j,
                                   ",\"streams\":%llu,\"instances\":%llu,\"kinds\":{\"raw\":%llu,"
                                   "\"computed\":%llu,\"asset\":%llu},\"calculated\":",
                                   (unsigned long long)r->streams, (unsigned long long)r->instances,
                                   (unsigned long long)r->kinds[0], (unsigned long long)r->kinds[1],
                                   (unsigned long long)r->kinds[2]);
            if (rc == HS_OK && r->have_span)
                rc = hs_buf_printf(&j, "[\"%s\",\"%s\"],\"calculated_us\":[%lld,%lld]}\n", a, b,
                                   (long long)r->span.start, (long long)r->span.end);
            else if (rc == HS_OK)
                rc = hs_buf_puts(&j, "null,\"calculated_us\":null}\n");
            if (rc == HS_OK && hsctl_write_buf(&j, stdout) != HSCTL_OK)
                rc = HS_ERR_IO;
        } else {
            char streams[HSCTL_COUNT_MAX], inst[HSCTL_COUNT_MAX], kinds[96];
            char calc[2 * HS_TIME_ISO_MAX + 8] = "-";
            hsctl_fmt_count(r->streams, streams);
            hsctl_fmt_count(r->instances, inst);
            sum_kinds(r, kinds, sizeof kinds);
            if (r->have_span)
                snprintf(calc, sizeof calc, "(%s, %s]", a, b);
            const char *row[5] = {r->name, streams, inst, kinds, calc};
            rc = hsctl_table_add(&c->table, row);
        }
    }
    hs_buf_free(&j);
    if (rc != HS_OK)
        return hsctl_fail(HSCTL_SYSTEM, "cannot print the summary: %s", hs_strerror(rc));
    return c->json ? HSCTL_OK : hsctl_table_print(&c->table);
}

/*
 * stream ls [PREFIX|PATTERN] [--limit N] [--summary] [--json]: the streams
 * whose id starts with PREFIX or matches the glob PATTERN, one row each, or
 * with --summary one row per stream name. The table shows LS_TABLE_LIMIT
 * rows unless --limit says otherwise and ends with a line counting the rest;
 * JSON lines are limited only by --limit (the count of the rest on stderr).
 */
static int stream_ls(hsctl *h, int argc, char **argv)
{
    ls_ctx c;
    memset(&c, 0, sizeof c);
    hsctl_summary_init(&c.sum);
    const char *arg = "";
    bool have_limit = false;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--json") == 0) {
            c.json = true;
        } else if (strcmp(argv[i], "--summary") == 0) {
            c.summary = true;
        } else if (hsctl_opt(argc, argv, &i, "--limit", &v)) {
            long long n;
            if (!hsctl_count(v, &n))
                return hsctl_fail(HSCTL_USER, "--limit needs a number of rows (0: all of them)");
            c.limit = (uint64_t)n;
            have_limit = true;
        } else if (hsctl_opt(argc, argv, &i, "--data", &v)) {
            continue;
        } else if (arg[0] == '\0') {
            arg = argv[i];
        } else {
            return hsctl_fail(HSCTL_USER, "unexpected argument '%s' (one PREFIX or PATTERN)",
                              argv[i]);
        }
    }
    if (!have_limit && !c.json)
        c.limit = LS_TABLE_LIMIT;
    /* A glob lists the ids under its literal start, and matches each against the whole. */
    char *prefix = hs_strndup(arg, hsctl_is_glob(arg) ? hsctl_glob_literal(arg) : strlen(arg));
    if (prefix == NULL)
        return hsctl_fail(HSCTL_SYSTEM, "out of memory");
    if (hsctl_is_glob(arg))
        c.pattern = arg;
    int out = HSCTL_OK;
    c.s = hsctl_store(h);
    if (c.s == NULL) {
        out = HSCTL_SYSTEM;
        goto done;
    }
    const char *heads[4] = {"STREAM", "KIND", "COUNT", "CALCULATED"};
    if (!c.json && !c.summary && hsctl_table_init(&c.table, 4, heads, "llrl") != HS_OK) {
        out = hsctl_fail(HSCTL_SYSTEM, "out of memory");
        goto done;
    }
    int rc = hs_store_stream_list(c.s, prefix, ls_one, &c);
    if (c.rc != HS_OK)
        out = hsctl_fail(HSCTL_SYSTEM, "out of memory");
    else if (rc != HS_OK)
        out = hsctl_fail(HSCTL_SYSTEM, "%s", hs_err_detail());
    else if (c.pattern != NULL && c.matched == 0)
        out = hsctl_fail(HSCTL_USER,
                         "no stream matches '%s' (hsctl stream ls --summary lists "
                         "the stream names)",
                         c.pattern);
    else if (c.summary)
        out = ls_summary_print(&c);
    else if (!c.json)
        out = hsctl_table_print(&c.table);
    uint64_t total = c.summary ? c.sum.n : c.matched;
    if (out == HSCTL_OK && total > c.shown) {
        char more[HSCTL_COUNT_MAX];
        hsctl_fmt_count(total - c.shown, more);
        bool one = total - c.shown == 1;
        const char *what = c.summary ? (one ? "name" : "names") : (one ? "stream" : "streams");
        /* JSON lines stay JSON: the count of the rest goes to stderr. */
        fprintf(c.json ? stderr : stdout, "%s%s more %s (--limit N, or a PATTERN)\n",
                c.json ? "hsctl: " : "\u2026 ", more, what);
    }
done:
    hsctl_table_free(&c.table);
    hsctl_summary_free(&c.sum);
    hs_free(prefix);
    return out;
}

/*
 * Appends ,"<key>":[[START, END], ...] with ISO times (as jobs --json writes
 * its interval) and ,"<key>_us":[[start_us, end_us], ...] with the same
 * intervals in microseconds. HS_OK or the buffer's error.
 */
static int intervals_json(const char *key, const hs_intervals *iv, hs_buf *out)
{
    int rc = hs_buf_printf(out, ",\"%s\":[", key);
    for (size_t i = 0; rc == HS_OK && i < iv->n; i++) {
        char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
        hs_time_format_iso(iv->v[i].start, a);
        hs_time_format_iso(iv->v[i].end, b);
        rc = hs_buf_printf(out, "%s[\"%s\",\"%s\"]", i > 0 ? "," : "", a, b);
    }
    if (rc == HS_OK)
        rc = hs_buf_printf(out, "],\"%s_us\":[", key);
    for (size_t i = 0; rc == HS_OK && i < iv->n; i++)
        rc = hs_buf_printf(out, "%s[%lld,%lld]", i > 0 ? "," : "", (long long)iv->v[i].start,
                           (long long)iv->v[i].end);
    if (rc == HS_OK)
        rc = hs_buf_putc(out, ']');
    return rc;
}

/*
 * stream intervals: the calculated intervals of stream sid on one line and,
 * when late data or an invalidation reopened some, "reopened: ..." on the
 * next; with json one object {"stream", "calculated", "calculated_us",
 * "reopened", "reopened_us"}.
 */
static int stream_intervals(hsctl *h, const char *sid, bool json)
{
    hs_store *s = hsctl_store(h);
    if (s == NULL)
        return HSCTL_SYSTEM;
    hs_stream_info info;
    if (hs_store_stream_get(s, sid, &info) != HS_OK)
        return hsctl_fail(HSCTL_USER, "no stream %s", sid);
    hs_intervals reopened;
    hs_intervals_init(&reopened);
    hs_buf out;
    hs_buf_init(&out, 0);
    int rc = HSCTL_OK;
    int erc = reopened_get(s, sid, &reopened);
    if (erc != HS_OK) {
        char msg[600];
        rc = hsctl_fail(HSCTL_SYSTEM, "the reopened intervals of %s are unreadable: %s", sid,
                        hs_err_describe(erc, msg, sizeof msg));
        goto out;
    }
    if (json) {
        erc = hs_buf_puts(&out, "{\"stream\":");
        if (erc == HS_OK)
            erc = hs_json_put_string(&out, sid, strlen(sid));
        if (erc == HS_OK)
            erc = intervals_json("calculated", &info.calculated, &out);
        if (erc == HS_OK)
            erc = intervals_json("reopened", &reopened, &out);
        if (erc == HS_OK)
            erc = hs_buf_putc(&out, '}');
    } else {
        erc = hs_intervals_format(&info.calculated, &out);
        if (erc == HS_OK && reopened.n > 0) {
            erc = hs_buf_puts(&out, "\nreopened: ");
            if (erc == HS_OK)
                erc = hs_intervals_format(&reopened, &out);
        }
    }
    if (erc != HS_OK)
        rc = hsctl_fail(HSCTL_SYSTEM, "out of memory");
    else
        printf("%s\n", hs_buf_cstr(&out));
out:
    hs_buf_free(&out);
    hs_intervals_free(&reopened);
    hs_stream_info_free(&info);
    return rc;
}

/*
 * stream invalidate ID --from T --to T: the writer reopens the stream's
 * calculated intervals in (from, to] and everything downstream (for a raw
 * stream: what reads it). Prints what is reopened afterwards.
 */
static int stream_invalidate(hsctl *h, int argc, char **argv)
{
    const char *id = NULL;
    int64_t from = 0, to = 0;
    bool have_from = false, have_to = false;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (hsctl_opt(argc, argv, &i, "--from", &v)) {
            if (!hsctl_time(v, &from))
                return HSCTL_USER;
            have_from = true;
        } else if (hsctl_opt(argc, argv, &i, "--to", &v)) {
            if (!hsctl_time(v, &to))
                return HSCTL_USER;
            have_to = true;
        } else if (hsctl_opt(argc, argv, &i, "--data", &v)) {
            continue;
        } else if (id == NULL) {
            id = argv[i];
        } else {
            return hsctl_fail(HSCTL_USER, "unexpected argument '%s'", argv[i]);
        }
    }
    if (id == NULL || !have_from || !have_to)
        return hsctl_fail(HSCTL_USER, "usage: hsctl stream invalidate ID --from T --to T");
    if (from >= to)
        return hsctl_fail(HSCTL_USER, "--from must be before --to");
    hs_buf sid, f, iv;
    hs_buf_init(&sid, 0);
    hs_buf_init(&f, 0);
    hs_buf_init(&iv, 0);
    hs_intervals reopened;
    hs_intervals_init(&reopened);
    int rc = HSCTL_OK;
    if (!canonical_id(id, &sid)) {
        rc = HSCTL_USER;
        goto out;
    }
    hs_proto_invalidate p = {hs_buf_cstr(&sid), {from, to}};
    uint32_t nf = 0;
    char err[600] = "";
    if (hs_proto_invalidate_encode_fields(&f, &p, &nf) != HS_OK) {
        rc = hsctl_fail(HSCTL_SYSTEM, "cannot encode the request: %s", hs_err_detail());
        goto out;
    }
    rc = hsctl_write(h, HS_OP_INVALIDATE, f.data, f.len, nf, err, sizeof err, NULL);
    if (rc != HSCTL_OK) {
        hsctl_fail(rc, "invalidate refused: %s", err);
        goto out;
    }
    char a[HS_TIME_ISO_MAX], b[HS_TIME_ISO_MAX];
    hs_time_format_iso(from, a);
    hs_time_format_iso(to, b);
    printf("invalidated %s over (%s, %s]\n", hs_buf_cstr(&sid), a, b);
    /* What the stream has reopened now (the writer committed before it acknowledged). */
    hs_store *s = hsctl_store(h);
    if (s == NULL) {
        rc = HSCTL_SYSTEM;
        goto out;
    }
    if (reopened_get(s, hs_buf_cstr(&sid), &reopened) == HS_OK && reopened.n > 0 &&
        hs_intervals_format(&reopened, &iv) == HS_OK)
        printf("reopened: %s (this stream; what is computed from it is reopened too)\n",
               hs_buf_cstr(&iv));
    else
        printf("nothing of %s itself was calculated there; what reads it is reopened\n",
               hs_buf_cstr(&sid));
out:
    hs_intervals_free(&reopened);
    hs_buf_free(&sid);
    hs_buf_free(&f);
    hs_buf_free(&iv);
    return rc;
}

int cmd_stream(hsctl *h, int argc, char **argv)
{
    /* main checked the command word against the table of cli.c. */
    if (argc < 2)
        return hsctl_fail(HSCTL_USAGE, "usage: hsctl stream COMMAND (hsctl help stream)");
    const char *what = argv[1];
    if (strcmp(what, "get") == 0)
        return stream_get(h, argc, argv);
    if (strcmp(what, "ls") == 0)
        return stream_ls(h, argc, argv);
    if (strcmp(what, "invalidate") == 0)
        return stream_invalidate(h, argc, argv);
    for (int i = 2; strcmp(what, "purge") == 0 && i < argc; i++)
        if (strcmp(argv[i], "--before") == 0 || strncmp(argv[i], "--before=", 9) == 0 ||
            strcmp(argv[i], "--dry-run") == 0)
            return cmd_stream_purge_before(h, argc, argv);
    const char *id = NULL;
    bool remove = false, json = false;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--remove") == 0)
            remove = true;
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (hsctl_opt(argc, argv, &i, "--data", &v))
            continue;
        else if (id == NULL)
            id = argv[i];
        else
            return hsctl_fail(HSCTL_USER, "unexpected argument '%s'", argv[i]);
    }
    if (id == NULL)
        return hsctl_fail(HSCTL_USER, "usage: hsctl stream %s ID", what);
    hs_buf sid;
    hs_buf_init(&sid, 0);
    if (!canonical_id(id, &sid)) {
        hs_buf_free(&sid);
        return HSCTL_USER;
    }
    int rc = HSCTL_OK;
    if (strcmp(what, "intervals") == 0) {
        rc = stream_intervals(h, hs_buf_cstr(&sid), json);
    } else if (strcmp(what, "purge") == 0) {
        hs_buf f;
        hs_buf_init(&f, 0);
        hs_proto_purge p = {.stream = hs_buf_cstr(&sid), .remove = remove};
        uint32_t nf = 0;
        char err[600] = "";
        uint64_t n = 0;
        rc = hs_proto_purge_encode_fields(&f, &p, &nf);
        if (rc == HS_OK)
            rc = hsctl_write(h, HS_OP_PURGE, f.data, f.len, nf, err, sizeof err, &n);
        else {
            snprintf(err, sizeof err, "%s", hs_err_detail());
            rc = HSCTL_SYSTEM;
        }
        if (rc != HSCTL_OK)
            hsctl_fail(rc, "purge failed: %s", err);
        else
            printf("purged %s: %llu instances deleted%s\n", hs_buf_cstr(&sid),
                   (unsigned long long)n, remove ? ", definition removed" : "");
        hs_buf_free(&f);
    } else {
        rc = hsctl_fail(HSCTL_USER,
                        "unknown stream verb '%s' (ls, get, intervals, invalidate, purge)", what);
    }
    hs_buf_free(&sid);
    return rc;
}
