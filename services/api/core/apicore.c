/* hs-api's pure helpers (apicore.h). */
#include "apicore.h"

#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool apic_static_path_ok(const char *path)
{
    if (path[0] != '/')
        return false;
    for (const char *seg = path; seg != NULL; seg = strchr(seg + 1, '/')) {
        size_t n = strcspn(seg + 1, "/");
        if ((n == 1 && seg[1] == '.') || (n == 2 && seg[1] == '.' && seg[2] == '.'))
            return false;
    }
    return true;
}

void apic_copies_init(apic_copies *c)
{
    hs_buf_init(&c->last, 0);
    c->topic_len = 0;
    c->left = 0;
}

void apic_copies_free(apic_copies *c)
{
    hs_buf_free(&c->last);
    c->left = 0;
}

bool apic_copies_first(apic_copies *c, const char *topic, const void *payload, size_t len,
                       unsigned copies)
{
    size_t tl = strlen(topic);
    if (c->left > 0 && tl == c->topic_len && c->last.len == tl + 1 + len &&
        memcmp(c->last.data, topic, tl) == 0 &&
        (len == 0 || memcmp(c->last.data + tl + 1, payload, len) == 0)) {
        c->left--;
        return false;
    }
    c->left = 0;
    hs_buf_reset(&c->last);
    if (copies > 1 && hs_buf_append(&c->last, topic, tl + 1) == HS_OK &&
        hs_buf_append(&c->last, payload, len) == HS_OK) {
        c->topic_len = tl;
        c->left = copies - 1;
    }
    return true;
}

/* Whether the text t of tl bytes, read as ingest reads a value, is the value v (msgpack). */
static bool reads_back(const char *t, size_t tl, const uint8_t *v, size_t len)
{
    if (memchr(t, '\\', tl) != NULL) /* a JSON escape: the string is not its text */
        return false;
    hs_batch b;
    hs_batch_init(&b);
    bool same = hs_codec_decode_text(t, tl, 0, &b) == HS_OK && b.n == 1 && b.items[0].len == len &&
                memcmp(hs_batch_value(&b, 0), v, len) == 0;
    hs_batch_free(&b);
    return same;
}

int apic_csv_value(hs_buf *out, const uint8_t *v, size_t len)
{
    hs_buf j;
    hs_buf_init(&j, 0);
    hs_mp_reader rd;
    hs_mp_reader_init(&rd, v, len);
    int rc = hs_json_from_mpack(&rd, &j);
    const char *s = rc == HS_OK ? hs_buf_cstr(&j) : "";
    size_t n = rc == HS_OK ? j.len : 0;
    if (rc != HS_OK) {
        /* nothing written */
    } else if (n >= 2 && s[0] == '"' && reads_back(s + 1, n - 2, v, len)) {
        rc = hs_buf_append(out, s + 1, n - 2);
    } else if (strpbrk(s, ",\"\n\r") == NULL) {
        rc = hs_buf_append(out, s, n);
    } else {
        rc = hs_buf_putc(out, '"');
        for (size_t i = 0; rc == HS_OK && i < n; i++)
            rc = s[i] == '"' ? hs_buf_append(out, "\"\"", 2) : hs_buf_putc(out, (uint8_t)s[i]);
        if (rc == HS_OK)
            rc = hs_buf_putc(out, '"');
    }
    hs_buf_free(&j);
    return rc;
}

/* Whether h (of n bytes, a Host without its port) names a loopback address or bind. */
static bool loopback_host(const char *h, size_t n, const char *bind)
{
    if (n == 0)
        return false;
    if ((n == 9 && strncasecmp(h, "localhost", 9) == 0) || (n == 5 && memcmp(h, "[::1]", 5) == 0))
        return true;
    if (bind != NULL && strlen(bind) == n && strncasecmp(h, bind, n) == 0)
        return true;
    if (bind != NULL && h[0] == '[' && h[n - 1] == ']' && strlen(bind) == n - 2 &&
        strncasecmp(h + 1, bind, n - 2) == 0)
        return true;
    /* 127.0.0.0/8 as a dotted quad */
    if (n < 9 || strncmp(h, "127.", 4) != 0)
        return false;
    int parts = 0;
    for (size_t i = 0; i < n;) {
        size_t d = 0;
        unsigned v = 0;
        while (i < n && h[i] >= '0' && h[i] <= '9' && d < 4) {
            v = v * 10 + (unsigned)(h[i] - '0');
            i++;
            d++;
        }
        if (d == 0 || d > 3 || v > 255)
            return false;
        parts++;
        if (i < n && h[i++] != '.')
            return false;
        if (i == n && h[n - 1] == '.')
            return false;
    }
    return parts == 4;
}

/* The length of host without a ":port" (digits) at its end. */
static size_t host_len(const char *host)
{
    size_t n = strlen(host);
    size_t i = n;
    while (i > 0 && host[i - 1] >= '0' && host[i - 1] <= '9')
        i--;
    if (i > 0 && i < n && host[i - 1] == ':' && (host[0] != '[' || (i > 1 && host[i - 2] == ']')))
        return i - 1;
    return n;
}

bool apic_local_request_ok(const char *host, const char *origin, const char *bind)
{
    if (host != NULL && !loopback_host(host, host_len(host), bind))
        return false;
    if (origin == NULL)
        return true;
    /* The page's origin is this hs-api's, scheme and host:port as the browser asked for it. */
    const char *hp = strncasecmp(origin, "http://", 7) == 0    ? origin + 7
                     : strncasecmp(origin, "https://", 8) == 0 ? origin + 8
                                                               : NULL;
    return hp != NULL && host != NULL && strcasecmp(hp, host) == 0;
}
