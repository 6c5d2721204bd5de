/*
 * Fuzz target: the line protocol parser. The first byte picks the precision
 * (its low two bits), the rest is the body. Every instance reported must
 * have a stream id that hs_streamid_canonical leaves as it is, a time within
 * [HS_TIME_MIN, HS_TIME_MAX], a value hs_value_check accepts and a line
 * number within the body that never goes back; the points counted must be
 * the lines reported. A failure must be HS_ERR_PARSE with a detail
 * "line N: ..." where N is within the body and after every line reported
 * (a bad line gets no call). Then, with another arrival time: the same
 * instances, except that those stamped with the first arrival time carry
 * the second; when the body has no '\r', writing its line ends as "\r\n"
 * changes nothing, the error detail included; a callback that stops the
 * parse at some instance gets exactly the instances before it; and every
 * instance, written back as a line of its own (its id's name as the
 * measurement, its pairs as tags, a field "value", its time in us), reads
 * back to the same id, time and value bytes.
 */
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_fmt.h"
#include "hs_lineproto.h"
#include "hs_mpack.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2023-11-14T22:13:20Z and a minute later. */
#define ARRIVAL_A 1700000000000000LL
#define ARRIVAL_B 1700000060000000LL

static void check(bool ok)
{
    if (!ok)
        abort();
}

typedef struct rec {
    size_t line;
    int64_t t_us;
    size_t sid_off, sid_len; /* in run.bytes */
    size_t v_off, v_len;
} rec;

/* One parse: what the callback saw. */
typedef struct run {
    size_t nlines;  /* lines of the body */
    size_t stop_at; /* return HS_ERR_FULL on this call (1-based); 0: never */
    rec *recs;
    size_t n, cap;
    hs_buf bytes; /* ids and values of recs */
    hs_buf canon; /* scratch */
    size_t distinct_lines;
} run;

static int on_instance(void *ud, const char *sid, int64_t t_us, const uint8_t *v, size_t vlen,
                       size_t line)
{
    run *r = ud;
    size_t sid_len = strlen(sid);
    /* The id is canonical already. */
    hs_buf_reset(&r->canon);
    check(hs_streamid_canonical(sid, sid_len, &r->canon) == HS_OK);
    check(r->canon.len == sid_len && memcmp(r->canon.data, sid, sid_len) == 0);
    check(t_us >= HS_TIME_MIN && t_us <= HS_TIME_MAX);
    check(hs_value_check(v, vlen) == HS_OK);
    check(line >= 1 && line <= r->nlines);
    if (r->n > 0) {
        check(line >= r->recs[r->n - 1].line);
        r->distinct_lines += line > r->recs[r->n - 1].line;
    } else {
        r->distinct_lines = 1;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        rec *nr = realloc(r->recs, cap * sizeof *nr);
        check(nr != NULL);
        r->recs = nr;
        r->cap = cap;
    }
    rec *x = &r->recs[r->n++];
    x->line = line;
    x->t_us = t_us;
    x->sid_off = r->bytes.len;
    x->sid_len = sid_len;
    check(hs_buf_append(&r->bytes, sid, sid_len) == HS_OK);
    x->v_off = r->bytes.len;
    x->v_len = vlen;
    check(hs_buf_append(&r->bytes, v, vlen) == HS_OK);
    return r->stop_at != 0 && r->n == r->stop_at ? HS_ERR_FULL : HS_OK;
}

static size_t count_lines(const char *s, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    return n;
}

/* Parses body into r (initialised here; the caller frees it) and checks the outcome. */
static int parse(run *r, const char *body, size_t len, hs_lp_precision p, int64_t arrival,
                 size_t stop_at, char *detail, size_t detail_cap)
{
    memset(r, 0, sizeof *r);
    hs_buf_init(&r->bytes, 0);
    hs_buf_init(&r->canon, 0);
    r->nlines = count_lines(body, len);
    r->stop_at = stop_at;
    size_t points = 99;
    hs_err_clear();
    int rc = hs_lp_parse(len > 0 ? body : NULL, len, p, arrival, on_instance, r, &points);
    detail[0] = '\0';
    if (rc == HS_ERR_FULL) {
        check(stop_at != 0 && r->n == stop_at);
        return rc;
    }
    check(rc == HS_OK || rc == HS_ERR_PARSE);
    /* Every point has a field: the points are the lines reported. */
    check(points == (r->n > 0 ? r->distinct_lines : 0));
    if (rc == HS_ERR_PARSE) {
        const char *d = hs_err_detail();
        snprintf(detail, detail_cap, "%s", d);
        char *end = NULL;
        check(strncmp(d, "line ", 5) == 0);
        unsigned long long line = strtoull(d + 5, &end, 10);
        check(end != NULL && end != d + 5 && strncmp(end, ": ", 2) == 0);
        check(line >= 1 && line <= r->nlines);
        check(r->n == 0 || line > r->recs[r->n - 1].line);
    }
    return rc;
}

static void run_free(run *r)
{
    free(r->recs);
    hs_buf_free(&r->bytes);
    hs_buf_free(&r->canon);
}

/*
 * Whether instance i of a and of b are the same, times compared as they
 * are, or with a's ta standing for b's tb.
 */
static bool same_rec(const run *a, size_t i, const run *b, size_t j, int64_t ta, int64_t tb)
{
    const rec *x = &a->recs[i], *y = &b->recs[j];
    bool time_ok = x->t_us == y->t_us || (x->t_us == ta && y->t_us == tb);
    return x->line == y->line && time_ok && x->sid_len == y->sid_len && x->v_len == y->v_len &&
           memcmp(a->bytes.data + x->sid_off, b->bytes.data + y->sid_off, x->sid_len) == 0 &&
           memcmp(a->bytes.data + x->v_off, b->bytes.data + y->v_off, x->v_len) == 0;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/*
 * Appends a name, tag key or tag value of a stream id as line protocol: its
 * %HH read back into the byte (the parser writes the bytes a stream id
 * cannot hold so), then commas and spaces escaped, and '=' too outside the
 * measurement. Returns false when it cannot be written: a control byte, a
 * measurement starting with '#' (a comment line), or a backslash before an escaped byte or at the
 * end (it would pair with the escape or the separator after it).
 */
static bool put_name(hs_buf *b, const char *s, bool measurement)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    check(d != NULL);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            d[m++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            d[m++] = s[i];
        }
    }
    bool ok = true;
    for (size_t i = 0; ok && i < m; i++) {
        unsigned char c = (unsigned char)d[i];
        bool esc = c == ',' || c == ' ' || (!measurement && c == '=');
        if (c < 0x20 || c == 0x7f || (measurement && i == 0 && c == '#'))
            ok = false; /* no escape makes them line protocol ('#' first: a comment) */
        else if (c == '\\' && (i + 1 == m || d[i + 1] == ',' || d[i + 1] == ' ' ||
                               (!measurement && d[i + 1] == '=')))
            ok = false;
        else if (esc)
            check(hs_buf_putc(b, '\\') == HS_OK);
        if (ok)
            check(hs_buf_putc(b, c) == HS_OK);
    }
    free(d);
    return ok;
}

/* Appends the msgpack value v as a line protocol field value. */
static void put_value(hs_buf *b, const uint8_t *v, size_t vlen)
{
    hs_mp_reader r;
    hs_mp_type t;
    hs_mp_reader_init(&r, v, vlen);
    check(hs_mp_peek(&r, &t) == HS_OK);
    if (t == HS_MP_BOOL) {
        bool x = false;
        check(hs_mp_get_bool(&r, &x) == HS_OK);
        check(hs_buf_puts(b, x ? "true" : "false") == HS_OK);
    } else if (t == HS_MP_INT) {
        int64_t x = 0;
        check(hs_mp_get_int(&r, &x) == HS_OK);
        check(hs_buf_printf(b, "%lldi", (long long)x) == HS_OK);
    } else if (t == HS_MP_FLOAT) {
        double x = 0;
        char txt[HS_FMT_DOUBLE_MAX];
        check(hs_mp_get_number(&r, &x) == HS_OK);
        hs_fmt_double(x, HS_FMT_SHORTEST, txt);
        check(hs_buf_puts(b, txt) == HS_OK);
    } else {
        const char *s = NULL;
        uint32_t n = 0;
        check(t == HS_MP_STR);
        check(hs_mp_get_str(&r, &s, &n) == HS_OK);
        check(hs_buf_putc(b, '"') == HS_OK);
        for (uint32_t i = 0; i < n; i++) {
            if (s[i] == '"' || s[i] == '\\')
                check(hs_buf_putc(b, '\\') == HS_OK);
            check(hs_buf_putc(b, (uint8_t)s[i]) == HS_OK);
        }
        check(hs_buf_putc(b, '"') == HS_OK);
    }
    check(hs_mp_at_end(&r));
}

/*
 * Writes every instance of a that the line protocol can express as a line
 * "name[,k=v...] value=V T" (T in us), parses that body and checks that
 * the instances come back the same, in order.
 */
static void check_written_back(const run *a)
{
    hs_buf body, line;
    hs_buf_init(&body, 0);
    hs_buf_init(&line, 0);
    size_t *which = malloc((a->n + 1) * sizeof *which);
    check(which != NULL);
    size_t nw = 0;
    for (size_t i = 0; i < a->n; i++) {
        const rec *x = &a->recs[i];
        hs_streamid *sid = NULL;
        check(hs_streamid_parse((const char *)a->bytes.data + x->sid_off, x->sid_len, &sid) ==
              HS_OK);
        hs_buf_reset(&line);
        bool ok = put_name(&line, sid->name, true);
        for (size_t j = 0; ok && j < sid->n_meta; j++) {
            check(hs_buf_putc(&line, ',') == HS_OK);
            ok = put_name(&line, sid->meta[j].key, false);
            check(hs_buf_putc(&line, '=') == HS_OK);
            ok = ok && put_name(&line, sid->meta[j].value, false);
        }
        hs_streamid_destroy(sid);
        check(hs_buf_puts(&line, " value=") == HS_OK);
        put_value(&line, a->bytes.data + x->v_off, x->v_len);
        check(hs_buf_printf(&line, " %lld", (long long)x->t_us) == HS_OK);
        if (!ok || line.len > HS_LP_MAX_LINE)
            continue;
        check(hs_buf_append(&body, line.data, line.len) == HS_OK);
        check(hs_buf_putc(&body, '\n') == HS_OK);
        which[nw++] = i;
    }
    run b;
    char detail[512];
    check(parse(&b, (const char *)body.data, body.len, HS_LP_US, ARRIVAL_B, 0, detail,
                sizeof detail) == HS_OK);
    check(b.n == nw);
    for (size_t k = 0; k < nw; k++) {
        const rec *x = &a->recs[which[k]], *y = &b.recs[k];
        check(y->line == k + 1 && x->t_us == y->t_us && x->sid_len == y->sid_len &&
              x->v_len == y->v_len &&
              memcmp(a->bytes.data + x->sid_off, b.bytes.data + y->sid_off, x->sid_len) == 0 &&
              memcmp(a->bytes.data + x->v_off, b.bytes.data + y->v_off, x->v_len) == 0);
    }
    run_free(&b);
    free(which);
    hs_buf_free(&body);
    hs_buf_free(&line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    hs_lp_precision p = (hs_lp_precision)(data[0] & 3);
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    char d1[512], d2[512];

    run a, b;
    int rc = parse(&a, body, len, p, ARRIVAL_A, 0, d1, sizeof d1);

    /* Another arrival time changes only the instances stamped with the first. */
    int rc2 = parse(&b, body, len, p, ARRIVAL_B, 0, d2, sizeof d2);
    check(rc2 == rc && b.n == a.n && strcmp(d1, d2) == 0);
    for (size_t i = 0; i < a.n; i++)
        check(same_rec(&a, i, &b, i, ARRIVAL_A, ARRIVAL_B));
    run_free(&b);

    /* CRLF line ends read as LF ones. */
    if (memchr(body, '\r', len) == NULL && len < 65536) {
        char *crlf = malloc(2 * len + 1);
        check(crlf != NULL);
        size_t n = 0;
        for (size_t i = 0; i < len; i++) {
            if (body[i] == '\n')
                crlf[n++] = '\r';
            crlf[n++] = body[i];
        }
        rc2 = parse(&b, crlf, n, p, ARRIVAL_A, 0, d2, sizeof d2);
        check(rc2 == rc && b.n == a.n && strcmp(d1, d2) == 0);
        for (size_t i = 0; i < a.n; i++)
            check(same_rec(&a, i, &b, i, 0, 0));
        run_free(&b);
        free(crlf);
    }

    /* A callback that stops the parse gets the instances up to its stop. */
    if (a.n > 0) {
        size_t stop = 1 + (a.n - 1) / 2;
        rc2 = parse(&b, body, len, p, ARRIVAL_A, stop, d2, sizeof d2);
        check(rc2 == HS_ERR_FULL && b.n == stop);
        for (size_t i = 0; i < stop; i++)
            check(same_rec(&a, i, &b, i, 0, 0));
        run_free(&b);
    }
    if (a.n > 0)
        check_written_back(&a);
    run_free(&a);
    return 0;
}
