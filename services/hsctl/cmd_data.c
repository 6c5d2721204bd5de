/* hsctl pub / sub / stream: publishing, subscribing, querying and purging streams. */
#include "hsctl.h"

#include "hs_alloc.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_streamid.h"
#include "hs_time.h"

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
                 "Publishes one reading to <prefix>/raw/ID. VALUE is JSON (21.5, \"on\",\n"
                 "{\"temp\":21.5}); text that is not JSON is sent as a string. Without --t the\n"
                 "reading is stamped with its arrival time. VALUE '-' reads JSON lines from\n"
                 "standard input, each a payload as devices send them.");
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
    /* The value as JSON, or as a JSON string when it is not JSON; the payload as ingest reads it.
     */
    int erc = HS_OK;
    if (hs_json_to_mpack(value, strlen(value), &tmp) != HS_OK) {
        hs_buf_reset(&tmp);
        erc = hs_mp_put_cstr(&tmp, value);
    }
    if (t != NULL) {
        int64_t ts;
        if (!hsctl_time(t, &ts)) {
            rc = HSCTL_USER;
            goto out;
        }
        if (erc == HS_OK)
            erc = hs_codec_encode_json_line(ts, tmp.data, tmp.len, &payload);
        if (erc == HS_OK)
            payload.len--; /* one message, not a line: no newline */
    } else if (erc == HS_OK) {
        hs_mp_reader r;
        hs_mp_reader_init(&r, tmp.data, tmp.len);
        erc = hs_json_from_mpack(&r, &payload);
    }
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
                 "wildcard). Stops after N instances, after SECONDS without one, or on Ctrl-C.");
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
    hs_mqtt *m = hsctl_mqtt(h);
    if (m == NULL)
        return HSCTL_SYSTEM;
    hs_buf topic, line;
    hs_buf_init(&topic, 0);
    hs_buf_init(&line, 0);
    hsctl_topic(h, &topic, "s/%s", pattern);
    if (hs_mqtt_subscribe(m, hs_buf_cstr(&topic), 1) != HS_OK) {
        hs_buf_free(&topic);
        return hsctl_fail(HSCTL_USER, "cannot subscribe to %s: %s", hs_buf_cstr(&topic),
                          hs_err_detail());
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
        if (hs_codec_decode_mpack(msg->payload, msg->len, false, &b) == HS_OK) {
            const char *sid = strlen(msg->topic) > plen ? msg->topic + plen : msg->topic;
            for (size_t i = 0; i < b.n && (count < 0 || seen < count); i++) {
                hs_buf_reset(&line);
                if (wild) {
                    /* {"stream":...,"t":...,"v":...} */
                    hs_buf_puts(&line, "{\"stream\":");
                    hs_json_put_string(&line, sid, strlen(sid));
                    hs_buf_putc(&line, ',');
                    size_t mark = line.len;
                    hs_codec_encode_json_line(b.items[i].t_us, hs_batch_value(&b, i),
                                              b.items[i].len, &line);
                    /* Drop the '{' of the encoded line. */
                    memmove(line.data + mark, line.data + mark + 1, line.len - mark - 1);
                    line.len--;
                } else {
                    hs_codec_encode_json_line(b.items[i].t_us, hs_batch_value(&b, i),
                                              b.items[i].len, &line);
                }
                fwrite(line.data, 1, line.len, stdout);
                seen++;
            }
        }
        hs_mqtt_msg_free(msg);
    }
    hs_batch_free(&b);
    hs_buf_free(&topic);
    hs_buf_free(&line);
    return HSCTL_OK;
}

/* ---- stream ---- */

typedef enum { FMT_JSON, FMT_CSV, FMT_TABLE } out_fmt;

static void print_instance(out_fmt fmt, const hs_batch *b, size_t i, hs_buf *line)
{
    hs_buf_reset(line);
    if (fmt == FMT_JSON) {
        hs_codec_encode_json_line(b->items[i].t_us, hs_batch_value(b, i), b->items[i].len, line);
    } else {
        char iso[HS_TIME_ISO_MAX];
        hs_time_format_iso(b->items[i].t_us, iso);
        hs_buf tmp;
        hs_buf_init(&tmp, 0);
        hs_mp_reader r;
        hs_mp_reader_init(&r, hs_batch_value(b, i), b->items[i].len);
        hs_json_from_mpack(&r, &tmp);
        const char *v = hs_buf_cstr(&tmp);
        if (fmt == FMT_CSV) {
            /* Quote values holding commas or quotes. */
            bool q = strpbrk(v, ",\"\n") != NULL;
            hs_buf_printf(line, "%s,", iso);
            if (q) {
                hs_buf_putc(line, '"');
                for (const char *p = v; *p; p++) {
                    if (*p == '"')
                        hs_buf_putc(line, '"');
                    hs_buf_putc(line, (uint8_t)*p);
                }
                hs_buf_putc(line, '"');
            } else {
                hs_buf_puts(line, v);
            }
            hs_buf_putc(line, '\n');
        } else {
            /* Tables are for reading: floats with four decimals. */
            double d;
            hs_mp_reader fr;
            hs_mp_reader_init(&fr, hs_batch_value(b, i), b->items[i].len);
            hs_mp_type ty;
            if (hs_mp_peek(&fr, &ty) == HS_OK && ty == HS_MP_FLOAT &&
                hs_mp_get_number(&fr, &d) == HS_OK)
                hs_buf_printf(line, "%-28s %.4f\n", iso, d);
            else
                hs_buf_printf(line, "%-28s %s\n", iso, v);
        }
        hs_buf_free(&tmp);
    }
    fwrite(line->data, 1, line->len, stdout);
}

static int stream_get(hsctl *h, int argc, char **argv)
{
    const char *id = NULL;
    int64_t from = HS_TIME_MIN - 1, to = HS_TIME_MAX;
    long head = -1, tail = -1;
    out_fmt fmt = FMT_JSON;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: hsctl stream get ID [--from T] [--to T] [--head N|--tail N]\n"
                 "                       [--format json|csv|table]\n"
                 "Prints the instances of stream ID with FROM < t <= TO in time order (default:\n"
                 "all of them). Times: ISO-8601, epoch seconds, 'now', or -1h (relative).");
            return 0;
        } else if (hsctl_opt(argc, argv, &i, "--from", &v)) {
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
    hs_interval range = {from, to};
    hs_batch b;
    hs_batch_init(&b);
    if (head > 0 || tail > 0) {
        rc = head > 0 ? hs_store_head(s, hs_buf_cstr(&sid), range, (size_t)head, &b)
                      : hs_store_tail(s, hs_buf_cstr(&sid), range, (size_t)tail, &b);
        for (size_t i = 0; rc == HS_OK && i < b.n; i++)
            print_instance(fmt, &b, i, &line);
    } else {
        hs_store_cursor *c;
        rc = hs_store_read(s, hs_buf_cstr(&sid), range, 8192, &c);
        while (rc == HS_OK) {
            rc = hs_store_cursor_next(c, &b);
            if (rc != HS_OK || b.n == 0)
                break;
            for (size_t i = 0; i < b.n; i++)
                print_instance(fmt, &b, i, &line);
        }
        if (c != NULL)
            hs_store_cursor_close(c);
    }
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

typedef struct ls_ctx {
    hs_store *s;
    bool json;
} ls_ctx;

static const char *kind_name(int k)
{
    return k == HS_STREAM_RAW ? "raw" : k == HS_STREAM_COMPUTED ? "computed" : "asset";
}

static int ls_one(void *ud, const hs_stream_info *info)
{
    ls_ctx *c = ud;
    int64_t n = 0;
    (void)hs_store_count(c->s, info->id, hs_store_all_time(), &n);
    hs_interval span;
    char a[HS_TIME_ISO_MAX] = "-", b[HS_TIME_ISO_MAX] = "-";
    if (hs_intervals_span(&info->calculated, &span)) {
        hs_time_format_iso(span.start, a);
        hs_time_format_iso(span.end, b);
    }
    if (c->json)
        printf("{\"stream\":\"%s\",\"kind\":\"%s\",\"count\":%lld,\"intervals\":%zu}\n", info->id,
               kind_name(info->kind), (long long)n, info->calculated.n);
    else
        printf("%-48s %-9s %10lld  (%s, %s]%s\n", info->id, kind_name(info->kind), (long long)n, a,
               b, info->calculated.n > 1 ? " with gaps" : "");
    return 0;
}

int cmd_stream(hsctl *h, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        puts("usage: hsctl stream ls [PREFIX] [--json]\n"
             "       hsctl stream get ID [--from T] [--to T] [--head N|--tail N] "
             "[--format json|csv|table]\n"
             "       hsctl stream intervals ID\n"
             "       hsctl stream purge ID [--remove]");
        return argc < 2 ? HSCTL_USER : 0;
    }
    const char *what = argv[1];
    if (strcmp(what, "get") == 0)
        return stream_get(h, argc, argv);
    if (strcmp(what, "ls") == 0) {
        ls_ctx c = {NULL, false};
        const char *prefix = "";
        for (int i = 2; i < argc; i++) {
            const char *v;
            if (strcmp(argv[i], "--json") == 0)
                c.json = true;
            else if (hsctl_opt(argc, argv, &i, "--data", &v))
                continue;
            else
                prefix = argv[i];
        }
        c.s = hsctl_store(h);
        if (c.s == NULL)
            return HSCTL_SYSTEM;
        if (!c.json)
            printf("%-48s %-9s %10s  %s\n", "STREAM", "KIND", "COUNT", "CALCULATED");
        int rc = hs_store_stream_list(c.s, prefix, ls_one, &c);
        return rc == HS_OK ? HSCTL_OK : hsctl_fail(HSCTL_SYSTEM, "%s", hs_err_detail());
    }
    const char *id = NULL;
    bool remove = false;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--remove") == 0)
            remove = true;
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
        hs_store *s = hsctl_store(h);
        hs_stream_info info;
        if (s == NULL) {
            rc = HSCTL_SYSTEM;
        } else if (hs_store_stream_get(s, hs_buf_cstr(&sid), &info) != HS_OK) {
            rc = hsctl_fail(HSCTL_USER, "no stream %s", hs_buf_cstr(&sid));
        } else {
            hs_buf out;
            hs_buf_init(&out, 0);
            hs_intervals_format(&info.calculated, &out);
            printf("%s\n", hs_buf_cstr(&out));
            hs_buf_free(&out);
            hs_stream_info_free(&info);
        }
    } else if (strcmp(what, "purge") == 0) {
        hs_buf f;
        hs_buf_init(&f, 0);
        hs_proto_purge p = {hs_buf_cstr(&sid), remove};
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
        rc = hsctl_fail(HSCTL_USER, "unknown stream verb '%s' (ls, get, intervals, purge)", what);
    }
    hs_buf_free(&sid);
    return rc;
}
