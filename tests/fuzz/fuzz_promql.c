/*
 * Fuzz target: hs_promql. The input is parsed as a query; a parsed query
 * must be a number or a selector whose matchers all have a non-empty label
 * name and value text of valid UTF-8 without NUL, a compiled regex exactly
 * for =~ and !~, and match no series with an empty name and no labels
 * (the non-empty matcher rule). Matching a fixed few series must agree
 * between hs_pm_match and hs_pm_match_sid and with hs_pm_name. Written
 * back as text (every string double-quoted and escaped), the query must
 * parse to the same matchers or number. A refused query leaves an empty
 * query and a detail.
 *
 * The same input, as a NUL-terminated text, goes through hs_pm_time_parse
 * and hs_pm_duration_parse: results are whole milliseconds in range, and
 * their text (hs_pm_fmt_time, hs_pm_fmt_value of the seconds) reads back
 * to the same value. The first 8 bytes, as a double and as an int64, go
 * through hs_pm_fmt_value and hs_pm_fmt_time, whose text must read back.
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_promql.h"
#include "hs_streamid.h"
#include "hs_time.h"
#include "hs_utf8.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* The fixed series: name, then up to two label pairs (NULL key: none). */
typedef struct series {
    const char *name;
    const char *keys[2];
    const char *values[2];
    size_t n;
    const char *sid; /* the same as a stream id, or NULL when it is not a valid one */
} series;

static const series fixed[] = {
    {"temp", {"house", "room"}, {"1", "k"}, 2, "temp/house=1/room=k"},
    {"power.w", {NULL, NULL}, {NULL, NULL}, 0, "power.w"},
    {"a", {"__name__", "l"}, {"x", "b"}, 2, "a/__name__=x/l=b"},
    {"k\xc3\xbc", {"l", "m"}, {"a\nb", ""}, 2, NULL},
    {"", {NULL, NULL}, {NULL, NULL}, 0, NULL},
};
#define N_FIXED (sizeof fixed / sizeof fixed[0])

static bool is_label_ident(const char *s)
{
    if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (size_t i = 1; s[i] != '\0'; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* Appends s as a double-quoted PromQL string. */
static void put_string(hs_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    hs_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            hs_buf_putc(b, '\\');
            hs_buf_putc(b, *p);
        } else if (*p < 0x20 || *p == 0x7f) {
            char e[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
            hs_buf_append(b, e, 4);
        } else {
            hs_buf_putc(b, *p);
        }
    }
    hs_buf_putc(b, '"');
}

/* Writes a selector back as text: bare names where they are identifiers, else quoted. */
static void put_selector(hs_buf *b, const hs_pm_query *q)
{
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    hs_buf_puts(b, "{ ");
    for (size_t i = 0; i < q->n; i++) {
        if (is_label_ident(q->m[i].name))
            hs_buf_puts(b, q->m[i].name);
        else
            put_string(b, q->m[i].name);
        hs_buf_puts(b, ops[q->m[i].op]);
        put_string(b, q->m[i].value);
        hs_buf_puts(b, i + 1 < q->n ? ", " : ",}");
    }
}

static bool same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static void check_selector(const hs_pm_query *q)
{
    check(q->n >= 1 && q->n <= HS_PM_MAX_MATCHERS && q->m != NULL);
    for (size_t i = 0; i < q->n; i++) {
        const hs_pm_matcher *m = &q->m[i];
        check(m->name != NULL && m->value != NULL && m->name[0] != '\0');
        check(hs_utf8_valid(m->name, strlen(m->name)));
        check(hs_utf8_valid(m->value, strlen(m->value)));
        check(m->op >= HS_PM_EQ && m->op <= HS_PM_NRE);
        check((m->re != NULL) == (m->op == HS_PM_RE || m->op == HS_PM_NRE));
    }
    /* Some matcher does not match "", so the empty series is never selected. */
    check(!hs_pm_match(q, "", NULL, NULL, 0));
    const char *name = hs_pm_name(q);
    for (size_t s = 0; s < N_FIXED; s++) {
        const series *f = &fixed[s];
        bool hit = hs_pm_match(q, f->name, f->keys, f->values, f->n);
        if (hit && name != NULL)
            check(strcmp(name, f->name) == 0);
        if (f->sid != NULL) {
            hs_streamid *sid = NULL;
            check(hs_streamid_parse(f->sid, strlen(f->sid), &sid) == HS_OK);
            check(hs_pm_match_sid(q, sid) == hit);
            hs_streamid_destroy(sid);
        }
    }
}

/* The query written back as text parses to the same matchers and the same matches. */
static void check_round_trip(const hs_pm_query *q)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    if (q->is_number) {
        if (isnan(q->number))
            hs_buf_puts(&b, "NaN");
        else if (isinf(q->number))
            hs_buf_puts(&b, q->number > 0 ? "Inf" : "-Inf");
        else
            hs_buf_printf(&b, "%.17g", q->number);
    } else {
        put_selector(&b, q);
    }
    check(hs_buf_error(&b) == HS_OK);
    hs_pm_query q2;
    check(hs_pm_parse((const char *)b.data, b.len, &q2) == HS_OK);
    check(q2.is_number == q->is_number && q2.n == q->n);
    if (q->is_number)
        check(same_double(q->number, q2.number));
    for (size_t i = 0; i < q->n; i++) {
        check(strcmp(q->m[i].name, q2.m[i].name) == 0);
        check(strcmp(q->m[i].value, q2.m[i].value) == 0);
        check(q->m[i].op == q2.m[i].op);
    }
    for (size_t s = 0; s < N_FIXED; s++) {
        const series *f = &fixed[s];
        check(hs_pm_match(q, f->name, f->keys, f->values, f->n) ==
              hs_pm_match(&q2, f->name, f->keys, f->values, f->n));
    }
    hs_pm_query_free(&q2);
    hs_buf_free(&b);
}

static void fuzz_query(const char *s, size_t len)
{
    hs_pm_query q;
    int rc = hs_pm_parse(s, len, &q);
    if (rc != HS_OK) {
        check(rc == HS_ERR_PARSE);
        check(hs_err_detail()[0] != '\0');
        check(q.n == 0 && q.m == NULL && !q.is_number);
        hs_pm_query_free(&q);
        return;
    }
    if (q.is_number) {
        check(q.n == 0 && q.m == NULL && hs_pm_name(&q) == NULL);
        check(!hs_pm_match(&q, "temp", NULL, NULL, 0));
    } else {
        check_selector(&q);
    }
    check_round_trip(&q);
    hs_pm_query_free(&q);
    check(q.n == 0 && q.m == NULL);
}

static void fuzz_time(const char *text)
{
    int64_t t = 7;
    int rc = hs_pm_time_parse(text, &t);
    if (rc != HS_OK) {
        check((rc == HS_ERR_PARSE || rc == HS_ERR_RANGE) && t == 7);
        check(strncmp(hs_err_detail(), "cannot parse \"", 14) == 0);
        return;
    }
    check(t % 1000 == 0 && t >= HS_TIME_MIN && t <= HS_TIME_MAX);
    hs_buf b;
    hs_buf_init(&b, 0);
    check(hs_pm_fmt_time(t, &b) == HS_OK);
    int64_t t2;
    check(hs_pm_time_parse(hs_buf_cstr(&b), &t2) == HS_OK && t2 == t);
    hs_buf_free(&b);
}

static void fuzz_duration(const char *text)
{
    int64_t d = 7;
    int rc = hs_pm_duration_parse(text, &d);
    if (rc != HS_OK) {
        check((rc == HS_ERR_PARSE || rc == HS_ERR_RANGE) && d == 7);
        check(strncmp(hs_err_detail(), "cannot parse \"", 14) == 0);
        return;
    }
    check(d > 0 && d % 1000 == 0);
    /*
     * Up to 15 significant digits, the seconds' double prints back as the
     * same decimal, which reads back exactly.
     */
    if (d / 1000 >= 1000000000000000LL)
        return;
    hs_buf b;
    hs_buf_init(&b, 0);
    check(hs_pm_fmt_value((double)(d / 1000) / 1000.0, &b) == HS_OK);
    int64_t d2;
    check(hs_pm_duration_parse(hs_buf_cstr(&b), &d2) == HS_OK && d2 == d);
    hs_buf_free(&b);
}

/* The value text reads back with strtod and as a PromQL number literal. */
static void fuzz_value(double v)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    check(hs_pm_fmt_value(v, &b) == HS_OK);
    const char *text = hs_buf_cstr(&b);
    double a = fabs(v);
    if (isfinite(v) && (a == 0 || (a >= 1e-6 && a < 1e21)))
        check(strchr(text, 'e') == NULL);
    if (isnan(v)) {
        check(strcmp(text, "NaN") == 0);
    } else if (isinf(v)) {
        check(strcmp(text, v > 0 ? "+Inf" : "-Inf") == 0);
    } else {
        char *end;
        double r = strtod(text, &end);
        check(*end == '\0' && same_double(r, v));
    }
    hs_pm_query q;
    check(hs_pm_parse(text, b.len, &q) == HS_OK && q.is_number && same_double(q.number, v));
    hs_pm_query_free(&q);
    hs_buf_free(&b);
}

static void fuzz_timestamp(int64_t t)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    check(hs_pm_fmt_time(t, &b) == HS_OK);
    int64_t floor_ms = t / 1000 - (t % 1000 < 0);
    int64_t back;
    if (floor_ms >= HS_TIME_MIN / 1000 && floor_ms <= HS_TIME_MAX / 1000) {
        check(hs_pm_time_parse(hs_buf_cstr(&b), &back) == HS_OK);
        check(back == floor_ms * 1000);
    }
    hs_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    fuzz_query(s, size);

    char *text = malloc(size + 1);
    check(text != NULL);
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
    fuzz_time(text);
    fuzz_duration(text);
    free(text);

    if (size >= 8) {
        double v;
        int64_t t;
        memcpy(&v, data, 8);
        memcpy(&t, data, 8);
        fuzz_value(v);
        fuzz_timestamp(t);
    }
    return 0;
}
