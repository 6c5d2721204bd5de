#include "hs_lineproto.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_streamid.h"
#include "hs_time.h"
#include "hs_utf8.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many bytes of the line an error message quotes, and of a name, value or id in it. */
#define HS__LP_SHOW_LINE 60
#define HS__LP_SHOW_PART 40
#define HS__LP_SHOW_ID   64
/* Room for a shown part: every byte may become \xNN, plus "..." and the NUL. */
#define HS__LP_PART_BUF (HS__LP_SHOW_PART * 4 + 8)
/* Up to this many fields, duplicate keys are looked for pairwise; above, after sorting. */
#define HS__LP_PAIRWISE 16
/* Number text up to this length is converted from a copy on the stack. */
#define HS__LP_NUM_STACK 64

typedef struct hs__lp_span {
    const char *p; /* borrowed: the body, or the line's text buffer */
    size_t len;
} hs__lp_span;

typedef struct hs__lp_field {
    hs__lp_span key;
    size_t voff, vlen; /* the encoded value in vals */
    size_t soff;       /* the canonical stream id in canon, NUL-terminated */
} hs__lp_field;

/* The parser: the current line, and scratch memory reused from line to line. */
typedef struct hs__lp {
    const char *line; /* the current line without the blanks around it (borrowed) */
    size_t llen;
    size_t lineno; /* 1-based */
    hs__lp_span meas;
    hs__lp_span tkey[HS_SID_MAX_PAIRS];
    hs__lp_span tval[HS_SID_MAX_PAIRS];
    size_t ntags;
    hs__lp_field *fields; /* owned array, nfields in use, cap allocated */
    size_t nfields, cap;
    hs__lp_span *sorted; /* owned: field keys sorted for the duplicate check */
    size_t sorted_cap;
    /*
     * Unescaped names and strings of the line. It is reserved to the line's
     * length before the line is read, and unescaping never makes text
     * longer, so it never moves while a line is read: spans point into it.
     */
    hs_buf text;
    hs_buf vals;  /* the encoded values of the line */
    hs_buf tags;  /* the tag set as id text, "/k=v/k2=v2" in the line's order */
    hs_buf sid;   /* the id text of one field, before it is made canonical */
    hs_buf canon; /* the canonical ids of the line's fields */
    hs_buf num;   /* a NUL-terminated copy of a long number for strtod */
} hs__lp;

static const char *const hs__lp_units[] = {"ns", "us", "ms", "s"};

/* Shows a span for an error message (HS__LP_SHOW_PART bytes of it) in out. */
static const char *hs__lp_part(char out[HS__LP_PART_BUF], hs__lp_span s)
{
    hs_utf8_show(out, HS__LP_PART_BUF, s.p, s.len, HS__LP_SHOW_PART, "");
    return out;
}

/* Records "line N: <what> (line: '<start of the line>')" and returns HS_ERR_PARSE. */
static int hs__lp_err(const hs__lp *lp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int hs__lp_err(const hs__lp *lp, const char *fmt, ...)
{
    char what[400];
    char quote[HS__LP_SHOW_LINE * 4 + 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    hs_utf8_show(quote, sizeof quote, lp->line, lp->llen, HS__LP_SHOW_LINE, "");
    return hs_err_set(HS_ERR_PARSE, "line %zu: %s (line: '%s')", lp->lineno, what, quote);
}

static int hs__lp_nomem(void)
{
    return hs_err_set(HS_ERR_NOMEM, "line protocol: out of memory");
}

static bool hs__lp_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool hs__lp_span_eq(hs__lp_span a, hs__lp_span b)
{
    return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* qsort order of spans: bytewise, a prefix first. */
static int hs__lp_span_cmp(const void *pa, const void *pb)
{
    const hs__lp_span *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->p, b->p, n);
    if (c != 0)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/*
 * Reads a name at *pp: up to an unescaped ',' or ' ', and also '=' when
 * keys is true (tag keys, tag values, field keys); *pp is left there. The
 * escapes are "\," and "\ ", and "\=" when keys is true; a backslash and the
 * byte after it are always read together, and any other pair is kept as
 * both bytes. Without a backslash the span points into the body; with one,
 * into the line's text buffer.
 */
static hs__lp_span hs__lp_name(hs__lp *lp, const char **pp, const char *end, bool keys)
{
    const char *s = *pp, *p = s;
    while (p < end && *p != ',' && *p != ' ' && *p != '\\' && !(keys && *p == '='))
        p++;
    if (p == end || *p != '\\') {
        *pp = p;
        return (hs__lp_span){s, (size_t)(p - s)};
    }
    char *o0 = (char *)lp->text.data + lp->text.len;
    char *o = o0;
    memcpy(o, s, (size_t)(p - s));
    o += p - s;
    while (p < end && *p != ',' && *p != ' ' && !(keys && *p == '=')) {
        if (*p == '\\' && p + 1 < end) {
            char c = p[1];
            if (c != ',' && c != ' ' && !(keys && c == '='))
                *o++ = '\\';
            *o++ = c;
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    lp->text.len += (size_t)(o - o0);
    *pp = p;
    return (hs__lp_span){o0, (size_t)(o - o0)};
}

/*
 * Reads [-]digits (sign only when neg_ok) of [p, e) into a magnitude *mag
 * and *neg. Returns false when the text is not of that form; *big is set
 * when the magnitude passes UINT64_MAX (then *mag is meaningless).
 */
static bool hs__lp_uint(const char *p, const char *e, bool neg_ok, bool *neg, uint64_t *mag,
                        bool *big)
{
    *neg = false;
    *big = false;
    if (neg_ok && p < e && *p == '-') {
        *neg = true;
        p++;
    }
    if (p == e)
        return false;
    uint64_t v = 0;
    for (; p < e; p++) {
        if (!hs__lp_digit(*p))
            return false;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            *big = true;
        else
            v = v * 10 + d;
    }
    *mag = v;
    return true;
}

/* Powers of ten that a double holds exactly. */
static const double hs__lp_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * Converts a float of the line protocol's grammar,
 * [-](digits[.[digits]] | .digits)[(e|E)[+|-]digits], of n bytes at s.
 * Returns HS_OK, HS_ERR_PARSE when the text is not of that form,
 * HS_ERR_RANGE when it is beyond the range of a double, HS_ERR_NOMEM.
 *
 * Most numbers are read here exactly: when the digits make an integer m of
 * at most 2^53 and the decimal exponent e is within ±22, m and 10^|e| are
 * exact doubles and one multiplication or division rounds correctly. Other
 * numbers, once the grammar is checked, go to strtod.
 */
static int hs__lp_float(hs__lp *lp, const char *s, size_t n, double *out)
{
    const char *p = s, *end = s + n;
    bool neg = false;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    uint64_t m = 0;
    int digits = 0; /* significant digits in m */
    long exp10 = 0;
    bool exact = true, any = false;
    for (; p < end && hs__lp_digit(*p); p++) {
        any = true;
        if (digits < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            digits += m != 0;
        } else {
            exp10++;
            exact = exact && *p == '0';
        }
    }
    if (p < end && *p == '.') {
        for (p++; p < end && hs__lp_digit(*p); p++) {
            any = true;
            if (digits < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                digits += m != 0;
                exp10--;
            } else {
                exact = exact && *p == '0';
            }
        }
    }
    if (!any)
        return HS_ERR_PARSE;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p == end || !hs__lp_digit(*p))
            return HS_ERR_PARSE;
        long ev = 0;
        for (; p < end && hs__lp_digit(*p); p++) {
            if (ev < 1000000)
                ev = ev * 10 + (*p - '0');
        }
        exp10 += eneg ? -ev : ev;
    }
    if (p != end)
        return HS_ERR_PARSE;
#if FLT_EVAL_METHOD == 0
    if (exact && m <= (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)m;
        d = exp10 < 0 ? d / hs__lp_pow10[-exp10] : d * hs__lp_pow10[exp10];
        *out = neg ? -d : d;
        return HS_OK;
    }
#endif
    char small[HS__LP_NUM_STACK + 1];
    char *buf = small;
    if (n > HS__LP_NUM_STACK) {
        hs_buf_reset(&lp->num);
        if (hs_buf_append(&lp->num, s, n) != HS_OK || hs_buf_putc(&lp->num, '\0') != HS_OK)
            return hs__lp_nomem();
        buf = (char *)lp->num.data;
    } else {
        memcpy(small, s, n);
        small[n] = '\0';
    }
    double d = strtod(buf, NULL);
    if (isinf(d))
        return HS_ERR_RANGE;
    *out = d;
    return HS_OK;
}

static bool hs__lp_is(const char *p, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(p, word, n) == 0;
}

/*
 * Reads the string value at *pp (at its opening quote) of the field key
 * and appends it to vals; *pp is left after the closing quote.
 */
static int hs__lp_string(hs__lp *lp, const char **pp, const char *end, hs__lp_span key)
{
    char k[HS__LP_PART_BUF];
    const char *s = *pp + 1, *q = s;
    bool esc = false;
    while (q < end && *q != '"') {
        if (*q == '\\' && q + 1 < end) {
            esc = true;
            q += 2;
        } else {
            q++;
        }
    }
    if (q == end)
        return hs__lp_err(lp, "field '%s': the string has no closing '\"' on its line",
                          hs__lp_part(k, key));
    hs__lp_span v = {s, (size_t)(q - s)};
    if (esc) {
        /* Written after the line's text but not kept: the value is encoded at once. */
        char *o0 = (char *)lp->text.data + lp->text.len;
        char *o = o0;
        for (const char *p = s; p < q;) {
            if (*p == '\\') {
                /* Every backslash here has its pair before q (the scan above paired them). */
                if (p[1] != '"' && p[1] != '\\')
                    *o++ = '\\';
                *o++ = p[1];
                p += 2;
            } else {
                *o++ = *p++;
            }
        }
        v = (hs__lp_span){o0, (size_t)(o - o0)};
    }
    size_t bad = hs_utf8_check(v.p, v.len);
    if (bad < v.len)
        return hs__lp_err(lp, "field '%s': the string is not valid UTF-8 (at byte %zu)",
                          hs__lp_part(k, key), bad);
    if (hs_mp_put_str(&lp->vals, v.p, v.len) != HS_OK)
        return hs__lp_nomem();
    q++;
    if (q < end && *q != ',' && *q != ' ') {
        char rest[HS__LP_PART_BUF];
        return hs__lp_err(lp, "field '%s': unexpected '%s' after the closing quote",
                          hs__lp_part(k, key),
                          hs__lp_part(rest, (hs__lp_span){q, (size_t)(end - q)}));
    }
    *pp = q;
    return HS_OK;
}

/*
 * Reads the value at *pp of the field key and appends its msgpack encoding
 * to vals; *pp is left at the ',' or ' ' after it, or at the end.
 */
static int hs__lp_value(hs__lp *lp, const char **pp, const char *end, hs__lp_span key)
{
    char k[HS__LP_PART_BUF], v[HS__LP_PART_BUF];
    const char *p = *pp;
    if (p == end || *p == ',' || *p == ' ')
        return hs__lp_err(lp, "field '%s' has no value", hs__lp_part(k, key));
    if (*p == '"')
        return hs__lp_string(lp, pp, end, key);
    const char *q = p;
    while (q < end && *q != ',' && *q != ' ')
        q++;
    *pp = q;
    size_t n = (size_t)(q - p);
    hs__lp_span tok = {p, n};
    char first = p[0], last = q[-1];
    bool num = hs__lp_digit(first) || first == '-' || first == '.';
    int rc;
    if (first == 't' || first == 'T' || first == 'f' || first == 'F') {
        bool t = hs__lp_is(p, n, "t") || hs__lp_is(p, n, "T") || hs__lp_is(p, n, "true") ||
                 hs__lp_is(p, n, "True") || hs__lp_is(p, n, "TRUE");
        bool f = hs__lp_is(p, n, "f") || hs__lp_is(p, n, "F") || hs__lp_is(p, n, "false") ||
                 hs__lp_is(p, n, "False") || hs__lp_is(p, n, "FALSE");
        if (!t && !f)
            return hs__lp_err(lp,
                              "field '%s': invalid value '%s' (a boolean is t, T, true, True, "
                              "TRUE, f, F, false, False or FALSE; a string is double-quoted)",
                              hs__lp_part(k, key), hs__lp_part(v, tok));
        rc = hs_mp_put_bool(&lp->vals, t);
    } else if (num && (last == 'i' || last == 'u')) {
        bool neg, big;
        uint64_t mag = 0;
        bool is_int = last == 'i';
        if (!hs__lp_uint(p, q - 1, is_int, &neg, &mag, &big))
            return hs__lp_err(lp, "field '%s': invalid %s '%s'", hs__lp_part(k, key),
                              is_int ? "integer" : "unsigned integer", hs__lp_part(v, tok));
        if (is_int && (big || mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)))
            return hs__lp_err(lp, "field '%s': integer '%s' is outside the int64 range",
                              hs__lp_part(k, key), hs__lp_part(v, tok));
        if (!is_int && big)
            return hs__lp_err(lp, "field '%s': unsigned integer '%s' is above %llu",
                              hs__lp_part(k, key), hs__lp_part(v, tok),
                              (unsigned long long)UINT64_MAX);
        if (mag <= (uint64_t)INT64_MAX)
            rc = hs_mp_put_int(&lp->vals, neg ? -(int64_t)mag : (int64_t)mag);
        else if (neg)
            rc = hs_mp_put_int(&lp->vals, INT64_MIN);
        else
            rc = hs_mp_put_double(&lp->vals, (double)mag); /* above INT64_MAX: see the header */
    } else if (num) {
        double d = 0;
        rc = hs__lp_float(lp, p, n, &d);
        if (rc == HS_ERR_PARSE)
            return hs__lp_err(lp, "field '%s': invalid float '%s'", hs__lp_part(k, key),
                              hs__lp_part(v, tok));
        if (rc == HS_ERR_RANGE)
            return hs__lp_err(lp, "field '%s': float '%s' is beyond the range of a double",
                              hs__lp_part(k, key), hs__lp_part(v, tok));
        if (rc != HS_OK)
            return rc;
        rc = hs_mp_put_double(&lp->vals, d);
    } else {
        return hs__lp_err(lp,
                          "field '%s': invalid value '%s' (a value is a number, a boolean or a "
                          "double-quoted string; NaN and infinities are not accepted)",
                          hs__lp_part(k, key), hs__lp_part(v, tok));
    }
    return rc == HS_OK ? HS_OK : hs__lp_nomem();
}

/*
 * Reads the timestamp of n bytes at s in the unit prec into microseconds.
 * Nanoseconds are divided rounding down, so that every instant within a
 * microsecond maps to that microsecond, before 1970 too.
 */
static int hs__lp_time(const hs__lp *lp, const char *s, size_t n, hs_lp_precision prec,
                       int64_t *out)
{
    char t[HS__LP_PART_BUF];
    hs__lp_span tok = {s, n};
    bool neg, big;
    uint64_t mag = 0;
    if (!hs__lp_uint(s, s + n, true, &neg, &mag, &big))
        return hs__lp_err(lp, "invalid timestamp '%s' (an integer is expected)",
                          hs__lp_part(t, tok));
    if (big || mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return hs__lp_err(lp, "timestamp '%s' is outside the int64 range", hs__lp_part(t, tok));
    int64_t v = mag <= (uint64_t)INT64_MAX ? (neg ? -(int64_t)mag : (int64_t)mag) : INT64_MIN;
    int64_t mult = 1;
    switch (prec) {
    case HS_LP_NS:
        v = v / 1000 - (v % 1000 < 0);
        break;
    case HS_LP_US:
        break;
    case HS_LP_MS:
        mult = HS_US_PER_MS;
        break;
    case HS_LP_S:
        mult = HS_US_PER_S;
        break;
    }
    /* Checked before multiplying: the bounds divided by mult are exact or rounded inward. */
    if (v < HS_TIME_MIN / mult || v > HS_TIME_MAX / mult)
        return hs__lp_err(lp, "timestamp '%s' (precision %s) is outside 0001-01-01 to 9999-12-31",
                          hs__lp_part(t, tok), hs__lp_units[prec]);
    *out = v * mult;
    return HS_OK;
}

/* Rejects a field key given twice in the line. */
static int hs__lp_dup_fields(hs__lp *lp)
{
    char k[HS__LP_PART_BUF];
    size_t n = lp->nfields;
    if (n <= HS__LP_PAIRWISE) {
        for (size_t i = 1; i < n; i++) {
            for (size_t j = 0; j < i; j++) {
                if (hs__lp_span_eq(lp->fields[i].key, lp->fields[j].key))
                    return hs__lp_err(lp, "field '%s' appears twice",
                                      hs__lp_part(k, lp->fields[i].key));
            }
        }
        return HS_OK;
    }
    if (hs_grow(&lp->sorted, &lp->sorted_cap, n, sizeof lp->sorted[0], 64) != HS_OK)
        return hs__lp_nomem();
    for (size_t i = 0; i < n; i++)
        lp->sorted[i] = lp->fields[i].key;
    qsort(lp->sorted, n, sizeof lp->sorted[0], hs__lp_span_cmp);
    for (size_t i = 1; i < n; i++) {
        if (hs__lp_span_eq(lp->sorted[i - 1], lp->sorted[i]))
            return hs__lp_err(lp, "field '%s' appears twice", hs__lp_part(k, lp->sorted[i]));
    }
    return HS_OK;
}

/*
 * Records the error of a stream id that hs_streamid_canonical refused (the
 * id text is in lp->sid, its name the first name_len bytes). The detail of
 * hs_streamid_canonical is about the joined text; when one part (the name,
 * a tag key or a tag value) is bad on its own, its reason is clearer (a
 * tag value "a/b" "contains '/'" rather than making a pair without '=').
 */
static int hs__lp_sid_err(const hs__lp *lp, size_t name_len)
{
    char why[512];
    snprintf(why, sizeof why, "%s", hs_err_detail());
    const char *sid = (const char *)lp->sid.data;
    bool bad = hs_streamid_check_part(sid, name_len, "name") != HS_OK;
    for (size_t i = 0; !bad && i < lp->ntags; i++) {
        bad = hs_streamid_check_part(lp->tkey[i].p, lp->tkey[i].len, "tag key") != HS_OK ||
              hs_streamid_check_part(lp->tval[i].p, lp->tval[i].len, "tag value") != HS_OK;
    }
    if (bad) {
        char id[HS__LP_SHOW_ID * 4 + 8];
        hs_utf8_show(id, sizeof id, sid, lp->sid.len, HS__LP_SHOW_ID, "");
        snprintf(why, sizeof why, "stream id '%s': %s", id, hs_err_detail());
    }
    return hs__lp_err(lp, "%s", why);
}

/*
 * Whether byte c of a name, tag key or tag value is written as %HH in the
 * stream id: the id's separators and reserved bytes ('/', '=', '+', '#'),
 * '%' itself (so that the mapping can be undone), spaces and control bytes.
 */
static bool hs__lp_encoded(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || c == '/' || c == '=' || c == '+' || c == '#' || c == '%';
}

/* Appends a part of the id, with the bytes hs__lp_encoded says as %HH. */
static void hs__lp_put_part(hs_buf *b, const char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!hs__lp_encoded(c))
            continue;
        hs_buf_append(b, p + from, i - from);
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        hs_buf_append(b, e, 3);
        from = i + 1;
    }
    hs_buf_append(b, p + from, n - from);
}

/* Builds the canonical stream id of every field of the line into canon. */
static int hs__lp_ids(hs__lp *lp)
{
    hs_buf_reset(&lp->canon);
    hs_buf_reset(&lp->tags);
    for (size_t j = 0; j < lp->ntags; j++) {
        hs_buf_putc(&lp->tags, '/');
        hs__lp_put_part(&lp->tags, lp->tkey[j].p, lp->tkey[j].len);
        hs_buf_putc(&lp->tags, '=');
        hs__lp_put_part(&lp->tags, lp->tval[j].p, lp->tval[j].len);
    }
    if (hs_buf_error(&lp->tags) != HS_OK)
        return hs__lp_nomem();
    for (size_t i = 0; i < lp->nfields; i++) {
        hs__lp_field *f = &lp->fields[i];
        hs_buf_reset(&lp->sid);
        hs__lp_put_part(&lp->sid, lp->meas.p, lp->meas.len);
        if (!hs__lp_is(f->key.p, f->key.len, "value")) {
            hs_buf_putc(&lp->sid, '.');
            hs__lp_put_part(&lp->sid, f->key.p, f->key.len);
        }
        size_t name_len = lp->sid.len;
        if (lp->tags.len > 0)
            hs_buf_append(&lp->sid, lp->tags.data, lp->tags.len);
        if (hs_buf_error(&lp->sid) != HS_OK)
            return hs__lp_nomem();
        f->soff = lp->canon.len;
        int rc = hs_streamid_canonical((const char *)lp->sid.data, lp->sid.len, &lp->canon);
        if (rc == HS_ERR_PARSE)
            return hs__lp_sid_err(lp, name_len);
        if (rc != HS_OK || hs_buf_putc(&lp->canon, '\0') != HS_OK)
            return hs__lp_nomem();
    }
    return HS_OK;
}

/* Appends a field (key, and its value: the bytes of vals from voff on). */
static int hs__lp_add_field(hs__lp *lp, hs__lp_span key, size_t voff)
{
    if (hs_grow(&lp->fields, &lp->cap, lp->nfields + 1, sizeof lp->fields[0], 16) != HS_OK)
        return hs__lp_nomem();
    hs__lp_field *f = &lp->fields[lp->nfields++];
    f->key = key;
    f->voff = voff;
    f->vlen = lp->vals.len - voff;
    f->soff = 0;
    return HS_OK;
}

/* Reads the tag set after the measurement, *pp at the ',' that starts it. */
static int hs__lp_tags(hs__lp *lp, const char **pp, const char *end)
{
    char k[HS__LP_PART_BUF];
    const char *p = *pp;
    while (p < end && *p == ',') {
        p++;
        hs__lp_span key = hs__lp_name(lp, &p, end, true);
        if (key.len == 0)
            return hs__lp_err(lp, "empty tag key");
        if (p == end || *p != '=')
            return hs__lp_err(lp, "tag key '%s' has no '=' and value", hs__lp_part(k, key));
        p++;
        hs__lp_span val = hs__lp_name(lp, &p, end, true);
        if (val.len == 0)
            return hs__lp_err(lp, "tag '%s' has an empty value (leave the tag out instead)",
                              hs__lp_part(k, key));
        if (p < end && *p == '=')
            return hs__lp_err(lp, "tag '%s': its value holds an unescaped '=' (write '\\=')",
                              hs__lp_part(k, key));
        for (size_t j = 0; j < lp->ntags; j++) {
            if (hs__lp_span_eq(lp->tkey[j], key))
                return hs__lp_err(lp, "tag key '%s' appears twice", hs__lp_part(k, key));
        }
        if (lp->ntags == HS_SID_MAX_PAIRS)
            return hs__lp_err(lp, "more than %d tags (a stream id has at most %d meta-data pairs)",
                              HS_SID_MAX_PAIRS, HS_SID_MAX_PAIRS);
        lp->tkey[lp->ntags] = key;
        lp->tval[lp->ntags] = val;
        lp->ntags++;
    }
    *pp = p;
    return HS_OK;
}

/* Reads the field set, *pp at its first byte; *pp is left after the last value. */
static int hs__lp_fields(hs__lp *lp, const char **pp, const char *end)
{
    char k[HS__LP_PART_BUF];
    const char *p = *pp;
    for (;;) {
        hs__lp_span key = hs__lp_name(lp, &p, end, true);
        if (key.len == 0)
            return hs__lp_err(lp, "empty field key");
        if (p == end || *p != '=')
            return hs__lp_err(lp, "field '%s' has no '=' and value", hs__lp_part(k, key));
        p++;
        size_t voff = lp->vals.len;
        int rc = hs__lp_value(lp, &p, end, key);
        if (rc == HS_OK)
            rc = hs__lp_add_field(lp, key, voff);
        if (rc != HS_OK)
            return rc;
        if (p == end || *p != ',')
            break;
        p++;
    }
    *pp = p;
    return HS_OK;
}

/*
 * Reads and checks the current line (lp->line, trimmed, not empty): its
 * names, values and time into lp and *t_us, the canonical ids into canon.
 */
static int hs__lp_line(hs__lp *lp, hs_lp_precision prec, int64_t arrival_us, int64_t *t_us)
{
    const char *p = lp->line, *end = p + lp->llen;
    hs_buf_reset(&lp->text);
    hs_buf_reset(&lp->vals);
    lp->ntags = 0;
    lp->nfields = 0;
    if (hs_buf_reserve(&lp->text, lp->llen) != HS_OK)
        return hs__lp_nomem();
    lp->meas = hs__lp_name(lp, &p, end, false);
    if (lp->meas.len == 0)
        return hs__lp_err(lp, "empty measurement");
    int rc = hs__lp_tags(lp, &p, end);
    if (rc != HS_OK)
        return rc;
    if (p == end)
        return hs__lp_err(lp, "no fields (a point needs at least one field=value after a space)");
    while (p < end && *p == ' ')
        p++;
    rc = hs__lp_fields(lp, &p, end);
    if (rc != HS_OK)
        return rc;
    *t_us = arrival_us;
    /* The line has no blanks at its end: after spaces there is a timestamp. */
    while (p < end && *p == ' ')
        p++;
    if (p < end) {
        const char *ts = p;
        while (p < end && *p != ' ')
            p++;
        rc = hs__lp_time(lp, ts, (size_t)(p - ts), prec, t_us);
        if (rc != HS_OK)
            return rc;
        while (p < end && *p == ' ')
            p++;
        if (p < end) {
            char rest[HS__LP_PART_BUF];
            return hs__lp_err(lp, "unexpected '%s' after the timestamp",
                              hs__lp_part(rest, (hs__lp_span){p, (size_t)(end - p)}));
        }
    }
    rc = hs__lp_dup_fields(lp);
    if (rc == HS_OK)
        rc = hs__lp_ids(lp);
    return rc;
}

int hs_lp_precision_parse(const char *s, hs_lp_precision *out)
{
    if (out == NULL)
        return hs_err_set(HS_ERR_INVAL, "line protocol: NULL argument");
    if (s == NULL || *s == '\0') {
        *out = HS_LP_NS;
        return HS_OK;
    }
    for (size_t i = 0; i < sizeof hs__lp_units / sizeof hs__lp_units[0]; i++) {
        if (strcmp(s, hs__lp_units[i]) == 0) {
            *out = (hs_lp_precision)i;
            return HS_OK;
        }
    }
    char shown[HS__LP_PART_BUF];
    hs_utf8_show(shown, sizeof shown, s, strlen(s), HS__LP_SHOW_PART, "");
    return hs_err_set(HS_ERR_INVAL, "precision '%s' is not one of ns, us, ms, s", shown);
}

int hs_lp_parse(const char *body, size_t len, hs_lp_precision prec, int64_t arrival_us, hs_lp_fn fn,
                void *ud, size_t *npoints)
{
    if (npoints != NULL)
        *npoints = 0;
    if (fn == NULL || (body == NULL && len > 0))
        return hs_err_set(HS_ERR_INVAL, "line protocol: NULL argument");
    if ((unsigned)prec > (unsigned)HS_LP_S)
        return hs_err_set(HS_ERR_INVAL, "line protocol: unknown precision %d", (int)prec);
    if (len == 0)
        return HS_OK;
    hs__lp lp;
    memset(&lp, 0, sizeof lp);
    hs_buf_init(&lp.text, 0);
    hs_buf_init(&lp.vals, 0);
    hs_buf_init(&lp.tags, 0);
    hs_buf_init(&lp.sid, 0);
    hs_buf_init(&lp.canon, 0);
    hs_buf_init(&lp.num, 0);
    const char *p = body, *end = body + len;
    size_t points = 0;
    int rc = HS_OK;
    for (size_t lineno = 1; p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *s = p, *e = nl != NULL ? nl : end;
        p = nl != NULL ? nl + 1 : end;
        if (e > s && e[-1] == '\r')
            e--;
        size_t raw = (size_t)(e - s);
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (s == e || *s == '#')
            continue;
        lp.line = s;
        lp.llen = (size_t)(e - s);
        lp.lineno = lineno;
        if (raw > HS_LP_MAX_LINE) {
            rc = hs__lp_err(&lp, "the line is longer than %d bytes (%zu)", HS_LP_MAX_LINE, raw);
            break;
        }
        int64_t t_us = arrival_us;
        rc = hs__lp_line(&lp, prec, arrival_us, &t_us);
        for (size_t i = 0; rc == HS_OK && i < lp.nfields; i++) {
            const hs__lp_field *f = &lp.fields[i];
            rc = fn(ud, (const char *)lp.canon.data + f->soff, t_us, lp.vals.data + f->voff,
                    f->vlen, lineno);
        }
        if (rc != HS_OK)
            break;
        points++;
    }
    hs_buf_free(&lp.text);
    hs_buf_free(&lp.vals);
    hs_buf_free(&lp.tags);
    hs_buf_free(&lp.sid);
    hs_buf_free(&lp.canon);
    hs_buf_free(&lp.num);
    hs_free(lp.fields);
    hs_free(lp.sorted);
    if (npoints != NULL)
        *npoints = points;
    return rc;
}
