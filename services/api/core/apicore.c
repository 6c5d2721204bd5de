/* hs-api's pure helpers (apicore.h). */
#include "apicore.h"

#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"

#include <string.h>

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Appends the decoded form of s[0..n) to out. */
static int form_put(hs_buf *out, const char *s, size_t n)
{
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        int hi = i + 2 < n && s[i] == '%' ? hexval((unsigned char)s[i + 1]) : -1;
        int lo = hi >= 0 ? hexval((unsigned char)s[i + 2]) : -1;
        if (s[i] == '+') {
            rc = hs_buf_putc(out, ' ');
        } else if (lo >= 0 && hi * 16 + lo != 0) {
            rc = hs_buf_putc(out, (uint8_t)(hi * 16 + lo));
            i += 2;
        } else {
            rc = hs_buf_putc(out, (uint8_t)s[i]);
        }
    }
    return rc;
}

int apic_form_parse(const char *body, size_t len, hs_buf *out, size_t *npairs)
{
    *npairs = 0;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        size_t eq = i;
        while (eq < end && body[eq] != '=')
            eq++;
        int rc = form_put(out, body + i, eq - i);
        if (rc == HS_OK)
            rc = hs_buf_putc(out, '\0');
        if (rc == HS_OK && eq < end)
            rc = form_put(out, body + eq + 1, end - eq - 1);
        if (rc == HS_OK)
            rc = hs_buf_putc(out, '\0');
        if (rc != HS_OK)
            return rc;
        (*npairs)++;
        i = end + 1;
    }
    return HS_OK;
}

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
