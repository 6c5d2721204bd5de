#include "hs_promql.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_fmt.h"
#include "hs_json.h"
#include "hs_time.h"
#include "hs_utf8.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Regex limits (see pm_regex_check). */
#define PM_RE_MAX_DEPTH  100
#define PM_RE_MAX_REPEAT 1000
#define PM_RE_MAX_SIZE   100000
/* Longest number literal, in bytes. */
#define PM_NUM_MAX 100
/* Room for a piece of input shown in a detail (pm_show): 40 bytes, escaped, and "...". */
#define PM_SHOW_BYTES 40
#define PM_SHOW_MAX   (4 * PM_SHOW_BYTES + 8)

/* The end of every detail about valid PromQL this module does not evaluate. */
#define PM_ONLY                                                                                    \
    "; only plain selectors such as name{label=\"value\"} and number literals are supported"

struct hs_pm_regex {
    regex_t rx;
};

/* A query being parsed. */
typedef struct pm_parser {
    const char *s; /* the query (borrowed), len bytes */
    size_t len;
    size_t p;         /* offset of the next byte */
    hs_pm_query *q;   /* the result being built (borrowed) */
    size_t cap;       /* room in q->m */
    uint64_t re_size; /* expanded size of the regexes so far (pm_regex_check) */
    hs_buf str;       /* owned: the last string literal read, unescaped */
} pm_parser;

/* The metric-name keywords of PromQL that cannot be metric names (see pm_word_kind). */
static const char *const pm_not_names[] = {"bool",       "on",          "ignoring",
                                           "group_left", "group_right", "atan2"};
static const char *const pm_aggregators[] = {
    "sum",    "avg",  "count",   "min",          "max",      "group",  "stddev",
    "stdvar", "topk", "bottomk", "count_values", "quantile", "limitk", "limit_ratio"};

static bool pm_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool pm_is_alpha(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool pm_is_alnum(char c)
{
    return pm_is_alpha(c) || pm_is_digit(c);
}

static int pm_hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Whether the len bytes at s spell word, ignoring ASCII case. */
static bool pm_word_is(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

static bool pm_word_in(const char *s, size_t len, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pm_word_is(s, len, words[i]))
            return true;
    return false;
}

/*
 * Writes up to PM_SHOW_BYTES bytes of s for a detail into out: printable
 * ASCII and valid UTF-8 as they are, '\\' and every other byte as \xNN,
 * then "..." when s was longer.
 */
static void pm_show(char out[PM_SHOW_MAX], const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = len < PM_SHOW_BYTES ? len : PM_SHOW_BYTES;
    size_t o = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = hs_utf8_decode(u + i, len - i, &cp);
        if (k == 1 && u[i] >= 0x20 && u[i] < 0x7f && u[i] != '\\') {
            out[o++] = (char)u[i++];
        } else if (k > 1 && cp > 0x9f && i + k <= n) {
            memcpy(out + o, u + i, k);
            o += k;
            i += k;
        } else if (k > 1 && i + k > n) {
            break; /* do not cut a character at the end of what is shown */
        } else {
            o += (size_t)snprintf(out + o, PM_SHOW_MAX - o, "\\x%02x", u[i]);
            i++;
        }
    }
    if (i < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Records a parse failure at offset at: "query at offset N: <detail>". */
static int pm_fail(size_t at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pm_fail(size_t at, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return hs_err_set(HS_ERR_PARSE, "query at offset %zu: %s", at, why);
}

/*
 * Length of the token at offset at, for showing it: a word, a number, a
 * quoted string, a two-byte operator or one character (a whole UTF-8
 * sequence when there is one).
 */
static size_t pm_token_len(const pm_parser *ps, size_t at)
{
    const char *s = ps->s + at;
    size_t avail = ps->len - at;
    if (avail == 0)
        return 0;
    size_t i = 1;
    if (pm_is_alpha(s[0]) || s[0] == ':') {
        while (i < avail && (pm_is_alnum(s[i]) || s[i] == ':'))
            i++;
    } else if (pm_is_digit(s[0]) || s[0] == '.') {
        while (i < avail && (pm_is_alnum(s[i]) || s[i] == '.'))
            i++;
    } else if (s[0] == '"' || s[0] == '\'' || s[0] == '`') {
        while (i < avail && s[i] != s[0] && s[i] != '\n')
            i += s[i] == '\\' && s[0] != '`' && i + 1 < avail ? 2 : 1;
        i = i < avail ? i + 1 : avail;
    } else if (avail >= 2 && strchr("=!<>", s[0]) != NULL && strchr("=~", s[1]) != NULL) {
        i = 2;
    } else {
        size_t k = hs_utf8_decode(s, avail, NULL);
        i = k > 0 ? k : 1;
    }
    return i;
}

/* Shows the token at offset at into out ("end of input" at the end). */
static const char *pm_token(const pm_parser *ps, size_t at, char out[PM_SHOW_MAX])
{
    size_t n = pm_token_len(ps, at);
    if (n == 0) {
        snprintf(out, PM_SHOW_MAX, "end of input");
        return out;
    }
    char shown[PM_SHOW_MAX];
    pm_show(shown, ps->s + at, n);
    snprintf(out, PM_SHOW_MAX, "'%.*s'", PM_SHOW_MAX - 3, shown);
    return out;
}

/* Skips whitespace and # comments (to the end of the line). */
static void pm_skip(pm_parser *ps)
{
    while (ps->p < ps->len) {
        char c = ps->s[ps->p];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            ps->p++;
        } else if (c == '#') {
            while (ps->p < ps->len && ps->s[ps->p] != '\n' && ps->s[ps->p] != '\r')
                ps->p++;
        } else {
            break;
        }
    }
}

static bool pm_at_end(const pm_parser *ps)
{
    return ps->p >= ps->len;
}

static char pm_peek(const pm_parser *ps, size_t ahead)
{
    return ps->p + ahead < ps->len ? ps->s[ps->p + ahead] : '\0';
}

/* Length of the metric identifier ([a-zA-Z_:][a-zA-Z0-9_:]*) at offset at, 0 if none. */
static size_t pm_word_len(const pm_parser *ps, size_t at)
{
    size_t i = at;
    if (i >= ps->len || !(pm_is_alpha(ps->s[i]) || ps->s[i] == ':'))
        return 0;
    while (i < ps->len && (pm_is_alnum(ps->s[i]) || ps->s[i] == ':'))
        i++;
    return i - at;
}

/* ---- Strings ---- */

/* Appends code point cp as UTF-8 (cp is a valid scalar value). */
static void pm_put_utf8(hs_buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | (cp >> 6));
        u[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | (cp >> 12));
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | (cp >> 18));
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    hs_buf_append(b, u, n);
}

/*
 * Reads the escape sequence after the backslash at offset at (inside a
 * string quoted with quote) into ps->str; moves ps->p past it.
 */
static int pm_escape(pm_parser *ps, size_t at, char quote)
{
    static const char simple_in[] = "abfnrtv\\";
    static const char simple_out[] = "\a\b\f\n\r\t\v\\";
    size_t i = at + 1;
    if (i >= ps->len)
        return pm_fail(at, "escape sequence not terminated");
    char c = ps->s[i];
    const char *hit = c != '\0' ? strchr(simple_in, c) : NULL;
    if (hit != NULL || c == quote) {
        hs_buf_putc(&ps->str, (uint8_t)(c == quote ? quote : simple_out[hit - simple_in]));
        ps->p = i + 1;
        return HS_OK;
    }
    int digits, base;
    uint32_t max;
    if (c >= '0' && c <= '7') {
        digits = 3, base = 8, max = 255;
    } else if (c == 'x') {
        digits = 2, base = 16, max = 255, i++;
    } else if (c == 'u') {
        digits = 4, base = 16, max = 0x10ffff, i++;
    } else if (c == 'U') {
        digits = 8, base = 16, max = 0x10ffff, i++;
    } else {
        char shown[PM_SHOW_MAX];
        size_t k = hs_utf8_decode(ps->s + i, ps->len - i, NULL);
        pm_show(shown, ps->s + i, k > 0 ? k : 1);
        return pm_fail(at,
                       "unknown escape sequence '\\%s' (Go's escapes are \\a \\b \\f \\n \\r \\t "
                       "\\v \\\\, the quote, \\xHH, \\ooo, \\uHHHH and \\UHHHHHHHH)",
                       shown);
    }
    uint32_t v = 0;
    for (int k = 0; k < digits; k++, i++) {
        int d = i < ps->len ? pm_hex_val(ps->s[i]) : -1;
        if (base == 8 && (d < 0 || d >= 8))
            return pm_fail(at, "an octal escape needs 3 octal digits (\\000 to \\377)");
        if (d < 0)
            return pm_fail(at, "the escape '\\%c' needs %d hex digits", c, digits);
        v = v * (uint32_t)base + (uint32_t)d;
    }
    if (v > max || (v >= 0xd800 && v < 0xe000))
        return pm_fail(at, "escape sequence is an invalid Unicode code point");
    if (c == 'u' || c == 'U')
        pm_put_utf8(&ps->str, v);
    else
        hs_buf_putc(&ps->str, (uint8_t)v); /* \x and octal give one byte, as in Go */
    ps->p = i;
    return HS_OK;
}

/*
 * Reads the string literal at ps->p (which is at its opening quote) into
 * ps->str, unescaped and NUL-terminated; moves ps->p past it.
 */
static int pm_string(pm_parser *ps)
{
    size_t at = ps->p;
    char quote = ps->s[at];
    hs_buf_reset(&ps->str);
    ps->p++;
    for (;;) {
        if (pm_at_end(ps))
            return pm_fail(at,
                           quote == '`' ? "unterminated raw string" : "unterminated quoted string");
        char c = ps->s[ps->p];
        if (c == quote) {
            ps->p++;
            break;
        }
        if (c == '\n' && quote != '`')
            return pm_fail(at, "unterminated quoted string (a line break must be written \\n)");
        if (c == '\\' && quote != '`') {
            int rc = pm_escape(ps, ps->p, quote);
            if (rc != HS_OK)
                return rc;
            continue;
        }
        size_t k = hs_utf8_decode(ps->s + ps->p, ps->len - ps->p, NULL);
        if (k == 0)
            return pm_fail(ps->p, "invalid UTF-8 in a string");
        hs_buf_append(&ps->str, ps->s + ps->p, k);
        ps->p += k;
    }
    const char *text = hs_buf_cstr(&ps->str);
    if (hs_buf_error(&ps->str) != HS_OK)
        return hs_err_set(HS_ERR_NOMEM, "query: out of memory");
    if (strlen(text) != ps->str.len)
        return pm_fail(at, "strings cannot contain NUL");
    if (!hs_utf8_valid(text, ps->str.len))
        return pm_fail(at, "the string is not valid UTF-8 once unescaped (\\x and octal escapes "
                           "give single bytes)");
    return HS_OK;
}

/* ---- Regexes ---- */

/* Offset just past the bracket expression that starts at re[i] == '[' (len when unclosed). */
static size_t pm_bracket_end(const char *re, size_t len, size_t i)
{
    size_t k = i + 1;
    if (k < len && re[k] == '^')
        k++;
    if (k < len && re[k] == ']')
        k++; /* a leading ']' is a member */
    while (k < len && re[k] != ']') {
        if (re[k] == '[' && k + 1 < len && strchr(":.=", re[k + 1]) != NULL) {
            char kind = re[k + 1];
            size_t e = k + 2;
            while (e + 1 < len && !(re[e] == kind && re[e + 1] == ']'))
                e++;
            if (e + 1 >= len)
                return len;
            k = e + 2;
        } else {
            k++;
        }
    }
    return k < len ? k + 1 : len;
}

/*
 * Reads a bound {m}, {m,}, {,n} or {m,n} at re[i] == '{': stores the offset
 * of its '}' and the larger count (m for {m,}). False when it is not a
 * bound (regcomp then decides what the '{' is).
 */
static bool pm_interval(const char *re, size_t len, size_t i, size_t *end, uint32_t *bound)
{
    uint32_t v[2] = {0, 0};
    int part = 0;
    bool digits = false;
    size_t k = i + 1;
    for (; k < len && re[k] != '}'; k++) {
        if (re[k] == ',' && part == 0) {
            part = 1;
        } else if (pm_is_digit(re[k])) {
            digits = true;
            if (v[part] <= PM_RE_MAX_REPEAT)
                v[part] = v[part] * 10 + (uint32_t)(re[k] - '0');
        } else {
            return false;
        }
    }
    if (k >= len || !digits)
        return false;
    *end = k;
    *bound = v[1] > v[0] ? v[1] : v[0];
    return true;
}

/* An open group of a regex being checked (pm_regex_check). */
typedef struct pm_re_group {
    uint64_t size;   /* expanded size of what the group holds so far */
    uint32_t factor; /* largest product of nested repetition counts inside it */
} pm_re_group;

/*
 * Refuses what RE2 (Prometheus's regex engine) refuses and what would make
 * regcomp build a huge automaton. glibc copies the repeated part for '+'
 * (counted 2) and for each bound {m,n} (the larger count), so the size of
 * a regex is estimated as its elements with every repeated part counted
 * once per copy. Checked: back-references, letter escapes glibc does not
 * know (RE2's \d would silently mean 'd'), a repetition right after a
 * repetition ("a+*", "1++++???": RE2 refuses them too, and glibc takes
 * seconds on such stacks; RE2's lazy "a*?" would mean something else
 * here), an unmatched ')', groups nested
 * more than PM_RE_MAX_DEPTH deep, nested repetition counts multiplying to
 * more than PM_RE_MAX_REPEAT (RE2's rule), and the size of all regexes of
 * the query together (*size, added to) above PM_RE_MAX_SIZE.
 */
static int pm_regex_check(size_t at, const char *re, size_t len, uint64_t *size)
{
    static const char pm_glibc_escapes[] = "wWsSbB";
    pm_re_group g[PM_RE_MAX_DEPTH + 1];
    int depth = 0;
    uint64_t last_size = 0;   /* expanded size of what a repetition here would repeat */
    uint32_t last_factor = 1; /* the repetition counts multiplied inside it */
    uint64_t total = *size;
    bool after_rep = false; /* the previous element was a repetition operator */
    g[0].size = 0;
    g[0].factor = 1;
    for (size_t i = 0; i < len; i++) {
        char c = re[i];
        uint32_t rep = 0;
        bool atom = false;
        if (c == '\\' && i + 1 < len) {
            char e = re[++i];
            if (pm_is_digit(e))
                return pm_fail(at, "regex: back-references such as '\\%c' are not supported", e);
            if (pm_is_alpha(e) && e != '_' && strchr(pm_glibc_escapes, e) == NULL)
                return pm_fail(at,
                               "regex: '\\%c' is not POSIX extended syntax (write [0-9] for "
                               "RE2's \\d, [[:space:]] for \\s, a literal character for \\n)",
                               e);
            atom = true;
        } else if (c == '[') {
            i = pm_bracket_end(re, len, i) - 1;
            atom = true;
        } else if (c == '(') {
            if (depth == PM_RE_MAX_DEPTH)
                return pm_fail(at, "regex: groups nest more than %d deep", PM_RE_MAX_DEPTH);
            depth++;
            g[depth].size = 0;
            g[depth].factor = 1;
            last_size = 0;
            last_factor = 1;
        } else if (c == ')') {
            if (depth == 0)
                return pm_fail(at, "regex: unmatched ')'");
            last_size = g[depth].size + 1;
            last_factor = g[depth].factor;
            depth--;
            g[depth].size += last_size;
            if (last_factor > g[depth].factor)
                g[depth].factor = last_factor;
            total++;
        } else if (c == '|') {
            g[depth].size++;
            total++;
            last_size = 0;
            last_factor = 1;
        } else if (c == '+') {
            rep = 2;
        } else if (c == '{' && pm_interval(re, len, i, &i, &rep)) {
            if (rep == 0)
                rep = 1;
        } else if (c == '*' || c == '?') {
            rep = 1;
        } else {
            atom = true; /* also '.', anchors and a '{' that is no bound */
        }
        if (rep > 0 && after_rep)
            return pm_fail(at, "regex: a repetition cannot follow a repetition ('a+*', 'a{2}+', "
                               "RE2's lazy 'a*?'); use a group: '(a+)*'");
        after_rep = rep > 0;
        if (atom) {
            g[depth].size++;
            total++;
            last_size = 1;
            last_factor = 1;
        }
        if (rep > 1) {
            uint64_t f = (uint64_t)last_factor * rep;
            if (f > PM_RE_MAX_REPEAT)
                return pm_fail(at,
                               "regex: nested repetition counts multiply to more than %d ('+' "
                               "counts 2, {m,n} the larger count)",
                               PM_RE_MAX_REPEAT);
            uint64_t extra = last_size * (rep - 1);
            g[depth].size += extra;
            total += extra;
            last_size *= rep;
            last_factor = (uint32_t)f;
            if (last_factor > g[depth].factor)
                g[depth].factor = last_factor;
        }
        if (total > PM_RE_MAX_SIZE)
            return pm_fail(at,
                           "regex: the query's regexes would expand to more than %d elements "
                           "(a repeated part counts once per copy)",
                           PM_RE_MAX_SIZE);
    }
    if (depth > 0)
        return pm_fail(at, "regex: unclosed '('");
    *size = total;
    return HS_OK;
}

/* Compiles the regex text for a matcher (the text read at offset at). */
static int pm_regex_compile(pm_parser *ps, size_t at, const char *label, const char *text,
                            struct hs_pm_regex **out)
{
    int rc = pm_regex_check(at, text, strlen(text), &ps->re_size);
    if (rc != HS_OK)
        return rc;
    struct hs_pm_regex *re = hs_malloc(sizeof *re);
    if (re == NULL)
        return hs_err_set(HS_ERR_NOMEM, "query: out of memory");
    int e = regcomp(&re->rx, text, REG_EXTENDED);
    if (e != 0) {
        char why[160], shown[PM_SHOW_MAX], lshown[PM_SHOW_MAX];
        regerror(e, &re->rx, why, sizeof why);
        hs_free(re);
        if (e == REG_ESPACE)
            return hs_err_set(HS_ERR_NOMEM, "query: out of memory compiling a regex");
        pm_show(shown, text, strlen(text));
        pm_show(lshown, label, strlen(label));
        return pm_fail(at, "invalid regex '%s' for label '%s': %s (POSIX extended syntax)", shown,
                       lshown, why);
    }
    *out = re;
    return HS_OK;
}

/*
 * Whether re matches all of s. The pattern is not wrapped in ^( )$: glibc
 * reads an unmatched ')' as a literal, so "a)|(b" would escape such a
 * wrapper. POSIX matching is leftmost-longest, so when any match covers
 * the whole text, the one regexec reports does.
 */
static bool pm_regex_full(const struct hs_pm_regex *re, const char *s)
{
    regmatch_t m[1];
    if (regexec(&re->rx, s, 1, m, 0) != 0)
        return false;
    return m[0].rm_so == 0 && (size_t)m[0].rm_eo == strlen(s);
}

static bool pm_matcher_ok(const hs_pm_matcher *m, const char *v)
{
    switch (m->op) {
    case HS_PM_EQ:
        return strcmp(v, m->value) == 0;
    case HS_PM_NE:
        return strcmp(v, m->value) != 0;
    case HS_PM_RE:
        return pm_regex_full(m->re, v);
    case HS_PM_NRE:
        return !pm_regex_full(m->re, v);
    }
    return false;
}

/* ---- Selectors ---- */

static bool pm_is_name_label(const char *name)
{
    return strcmp(name, HS_PM_NAME_LABEL) == 0;
}

/* Adds a matcher (copies name and value; compiles a regex) read at offset at. */
static int pm_add(pm_parser *ps, size_t at, const char *name, size_t name_len, const char *value,
                  hs_pm_op op)
{
    hs_pm_query *q = ps->q;
    if (q->n == HS_PM_MAX_MATCHERS)
        return pm_fail(at, "more than %d label matchers", HS_PM_MAX_MATCHERS);
    if (hs_grow(&q->m, &ps->cap, q->n + 1, sizeof *q->m, 4) != HS_OK)
        return hs_err_set(HS_ERR_NOMEM, "query: out of memory");
    hs_pm_matcher *m = &q->m[q->n];
    memset(m, 0, sizeof *m);
    m->name = hs_strndup(name, name_len);
    m->value = hs_strdup(value);
    m->op = op;
    q->n++; /* from here hs_pm_query_free releases it */
    if (m->name == NULL || m->value == NULL)
        return hs_err_set(HS_ERR_NOMEM, "query: out of memory");
    if (op == HS_PM_RE || op == HS_PM_NRE)
        return pm_regex_compile(ps, at, m->name, m->value, &m->re);
    return HS_OK;
}

/* Reads a matching operator at ps->p; false when there is none. */
static bool pm_match_op(pm_parser *ps, hs_pm_op *op)
{
    char a = pm_peek(ps, 0), b = pm_peek(ps, 1);
    if (a == '=' && b == '~')
        *op = HS_PM_RE;
    else if (a == '!' && b == '=')
        *op = HS_PM_NE;
    else if (a == '!' && b == '~')
        *op = HS_PM_NRE;
    else if (a == '=')
        *op = HS_PM_EQ;
    else
        return false;
    ps->p += *op == HS_PM_EQ ? 1 : 2;
    return true;
}

/*
 * Reads one item inside the braces: label op "value", "quoted label" op
 * "value", or "quoted metric name". name_at is the offset of a bare metric
 * name before the braces, or SIZE_MAX when there is none.
 */
static int pm_matcher(pm_parser *ps, size_t name_at)
{
    char tok[PM_SHOW_MAX];
    size_t at = ps->p;
    char c = pm_peek(ps, 0);
    char *quoted = NULL;
    size_t name_len;
    const char *name;
    int rc;
    if (pm_is_alpha(c)) {
        name = ps->s + at;
        name_len = 1;
        while (at + name_len < ps->len && pm_is_alnum(ps->s[at + name_len]))
            name_len++;
        ps->p += name_len;
        if (pm_peek(ps, 0) == ':')
            return pm_fail(ps->p, "a label name cannot contain ':' (quote it: {\"a:b\"=\"v\"})");
    } else if (c == '"' || c == '\'' || c == '`') {
        if ((rc = pm_string(ps)) != HS_OK)
            return rc;
        name_len = ps->str.len;
        quoted = hs_strdup(hs_buf_cstr(&ps->str));
        if (quoted == NULL)
            return hs_err_set(HS_ERR_NOMEM, "query: out of memory");
        name = quoted;
    } else {
        return pm_fail(at, "expected a label name or '}' in the label matchers, found %s",
                       pm_token(ps, at, tok));
    }
    pm_skip(ps);
    size_t op_at = ps->p;
    hs_pm_op op;
    if (!pm_match_op(ps, &op)) {
        if (quoted == NULL) {
            return pm_fail(op_at,
                           "expected '=', '!=', '=~' or '!~' after the label name '%.*s', "
                           "found %s",
                           (int)name_len, name, pm_token(ps, op_at, tok));
        }
        /* A quoted string alone is the metric name (Prometheus 3). */
        if (name_at != SIZE_MAX) {
            char a[PM_SHOW_MAX], b[PM_SHOW_MAX];
            pm_show(a, ps->s + name_at, pm_word_len(ps, name_at));
            pm_show(b, quoted, name_len);
            hs_free(quoted);
            return pm_fail(at, "metric name must not be set twice: '%s' or '%s'", a, b);
        }
        rc = pm_add(ps, at, HS_PM_NAME_LABEL, strlen(HS_PM_NAME_LABEL), quoted, HS_PM_EQ);
        hs_free(quoted);
        return rc;
    }
    if (name_len == 0) {
        hs_free(quoted);
        return pm_fail(at, "a label name cannot be empty");
    }
    bool is_name_matcher =
        name_len == strlen(HS_PM_NAME_LABEL) && memcmp(name, HS_PM_NAME_LABEL, name_len) == 0;
    if (is_name_matcher && name_at != SIZE_MAX) {
        char a[PM_SHOW_MAX];
        pm_show(a, ps->s + name_at, pm_word_len(ps, name_at));
        hs_free(quoted);
        return pm_fail(at, "metric name must not be set twice: '%s' and a %s matcher", a,
                       HS_PM_NAME_LABEL);
    }
    pm_skip(ps);
    size_t value_at = ps->p;
    c = pm_peek(ps, 0);
    if (c != '"' && c != '\'' && c != '`') {
        rc = pm_fail(value_at,
                     "expected a quoted string after the operator of label '%.*s', found %s",
                     (int)name_len, name, pm_token(ps, value_at, tok));
        hs_free(quoted);
        return rc;
    }
    rc = pm_string(ps);
    if (rc == HS_OK)
        rc = pm_add(ps, value_at, name, name_len, hs_buf_cstr(&ps->str), op);
    hs_free(quoted);
    return rc;
}

/* Reads '{' matchers '}' at ps->p. name_at as for pm_matcher. */
static int pm_braces(pm_parser *ps, size_t name_at)
{
    char tok[PM_SHOW_MAX];
    size_t open = ps->p++;
    for (;;) {
        pm_skip(ps);
        if (pm_peek(ps, 0) == '}' && !pm_at_end(ps)) {
            ps->p++;
            return HS_OK;
        }
        if (pm_at_end(ps))
            return pm_fail(open, "unclosed '{' (end of input inside the label matchers)");
        int rc = pm_matcher(ps, name_at);
        if (rc != HS_OK)
            return rc;
        pm_skip(ps);
        char c = pm_peek(ps, 0);
        if (c == ',' && !pm_at_end(ps)) {
            ps->p++;
        } else if (!(c == '}' && !pm_at_end(ps))) {
            if (pm_at_end(ps))
                return pm_fail(open, "unclosed '{' (end of input inside the label matchers)");
            return pm_fail(ps->p, "expected ',' or '}' after a label matcher, found %s",
                           pm_token(ps, ps->p, tok));
        }
    }
}

/*
 * Reads a selector at ps->p: a metric name, optionally followed by
 * braces, or braces alone. The word at ps->p, if any, is known to be a
 * metric name.
 */
static int pm_selector(pm_parser *ps)
{
    size_t start = ps->p;
    size_t name_at = SIZE_MAX;
    size_t wl = pm_word_len(ps, ps->p);
    if (wl > 0) {
        name_at = ps->p;
        char *v = hs_strndup(ps->s + name_at, wl);
        if (v == NULL)
            return hs_err_set(HS_ERR_NOMEM, "query: out of memory");
        int rc = pm_add(ps, name_at, HS_PM_NAME_LABEL, strlen(HS_PM_NAME_LABEL), v, HS_PM_EQ);
        hs_free(v);
        if (rc != HS_OK)
            return rc;
        ps->p += wl;
        pm_skip(ps);
    }
    if (pm_peek(ps, 0) == '{' && !pm_at_end(ps)) {
        int rc = pm_braces(ps, name_at);
        if (rc != HS_OK)
            return rc;
    }
    for (size_t i = 0; i < ps->q->n; i++)
        if (!pm_matcher_ok(&ps->q->m[i], ""))
            return HS_OK;
    return pm_fail(start, "vector selector must contain at least one non-empty matcher");
}

/* ---- Numbers ---- */

/*
 * Reads a run of digits (hex or decimal) in which single underscores may
 * separate digits. Returns the offset after it; *n counts the digits; *bad
 * is set when an underscore is not followed by a digit.
 */
static size_t pm_digit_run(const pm_parser *ps, size_t i, bool hex, size_t *n, bool *under,
                           bool *bad)
{
    *n = 0;
    while (i < ps->len) {
        char c = ps->s[i];
        if (hex ? pm_hex_val(c) >= 0 : pm_is_digit(c)) {
            (*n)++;
            i++;
        } else if (c == '_' && *n > 0) {
            char d = i + 1 < ps->len ? ps->s[i + 1] : '\0';
            if (!(hex ? pm_hex_val(d) >= 0 : pm_is_digit(d))) {
                *bad = true;
                return i;
            }
            *under = true;
            i++;
        } else {
            break;
        }
    }
    return i;
}

/* Converts integer text (no sign, no underscores) in base; false when above INT64_MAX. */
static bool pm_int_value(const char *t, int base, double *v)
{
    errno = 0;
    unsigned long long u = strtoull(t, NULL, base);
    if (errno == ERANGE || u > (unsigned long long)INT64_MAX)
        return false;
    *v = (double)(int64_t)u;
    return true;
}

/*
 * Reads a number literal at ps->p (a digit, or '.' and a digit) as PromQL
 * does: Go's ParseInt with base prefixes first (0x hex, a leading 0 octal,
 * underscores between digits), then ParseFloat for what is not an int64.
 */
static int pm_number(pm_parser *ps, double *v)
{
    char tok[PM_SHOW_MAX];
    size_t at = ps->p, i = at, n;
    bool hex = false, dot = false, exp = false, under = false, bad = false;
    if (pm_peek(ps, 0) == '0' && (pm_peek(ps, 1) == 'x' || pm_peek(ps, 1) == 'X')) {
        hex = true;
        i += 2;
        if (i < ps->len && ps->s[i] == '_')
            under = true, i++;
        i = pm_digit_run(ps, i, true, &n, &under, &bad);
        if (n == 0)
            bad = true;
    } else {
        size_t n_int, n_frac = 0;
        i = pm_digit_run(ps, i, false, &n_int, &under, &bad);
        if (!bad && i < ps->len && ps->s[i] == '.') {
            dot = true;
            i = pm_digit_run(ps, i + 1, false, &n_frac, &under, &bad);
        }
        if (!bad && n_int + n_frac > 0 && i < ps->len && (ps->s[i] == 'e' || ps->s[i] == 'E')) {
            exp = true;
            i++;
            if (i < ps->len && (ps->s[i] == '+' || ps->s[i] == '-'))
                i++;
            i = pm_digit_run(ps, i, false, &n, &under, &bad);
            if (n == 0)
                bad = true;
        }
        if (n_int + n_frac == 0)
            bad = true;
    }
    if (!bad && i < ps->len && (pm_is_alnum(ps->s[i]) || ps->s[i] == '.')) {
        if (!hex && !dot && !exp && strchr("smhdwy", ps->s[i]) != NULL)
            return pm_fail(at, "a duration literal such as %s is not supported" PM_ONLY,
                           pm_token(ps, at, tok));
        bad = true;
    }
    ps->p = i;
    if (bad)
        return pm_fail(at, "bad number syntax: %s", pm_token(ps, at, tok));
    if (i - at > PM_NUM_MAX)
        return pm_fail(at, "a number literal is at most %d characters", PM_NUM_MAX);

    char t[PM_NUM_MAX + 1];
    size_t k = 0;
    for (size_t j = at; j < i; j++)
        if (ps->s[j] != '_')
            t[k++] = ps->s[j];
    t[k] = '\0';
    if (hex) {
        if (!pm_int_value(t + 2, 16, v))
            return pm_fail(at, "number %s is out of range", pm_token(ps, at, tok));
        return HS_OK;
    }
    if (!dot && !exp) {
        /*
         * A leading 0 makes it octal; "09" is no octal number, and what
         * ParseInt refuses (that, or above INT64_MAX) ParseFloat reads.
         */
        bool lead0 = t[0] == '0' && t[1] != '\0';
        bool octal = lead0 && t[strspn(t, "01234567")] == '\0';
        if ((octal || !lead0) && pm_int_value(t, octal ? 8 : 10, v))
            return HS_OK;
    }
    if (under)
        return pm_fail(at, "underscores are allowed only in integer literals (%s)",
                       pm_token(ps, at, tok));
    errno = 0;
    *v = strtod(t, NULL);
    if (isinf(*v))
        return pm_fail(at, "number %s is out of range", pm_token(ps, at, tok));
    return HS_OK;
}

/* ---- Arithmetic between numbers ---- */

/* What a word at the top level is. */
typedef enum pm_word {
    PM_WORD_NAME,   /* a metric name */
    PM_WORD_NUMBER, /* Inf or NaN */
    PM_WORD_CALL,   /* a function call or an aggregation */
    PM_WORD_KEYWORD /* a keyword that cannot be a metric name */
} pm_word;

static pm_word pm_word_kind(const pm_parser *ps, size_t at, size_t wl)
{
    const char *w = ps->s + at;
    if (pm_word_is(w, wl, "inf") || pm_word_is(w, wl, "nan"))
        return PM_WORD_NUMBER;
    if (pm_word_in(w, wl, pm_not_names, sizeof pm_not_names / sizeof pm_not_names[0]))
        return PM_WORD_KEYWORD;
    /* Look past spaces for '(' or (after an aggregation) by/without. */
    pm_parser look = *ps;
    look.p = at + wl;
    pm_skip(&look);
    if (pm_peek(&look, 0) == '(' && !pm_at_end(&look))
        return PM_WORD_CALL;
    if (pm_word_in(w, wl, pm_aggregators, sizeof pm_aggregators / sizeof pm_aggregators[0])) {
        size_t nl = pm_word_len(&look, look.p);
        if (pm_word_is(look.s + look.p, nl, "by") || pm_word_is(look.s + look.p, nl, "without"))
            return PM_WORD_CALL;
    }
    return PM_WORD_NAME;
}

/* The error for a word that is a call or a keyword, at offset at. */
static int pm_word_fail(const pm_parser *ps, size_t at, size_t wl, pm_word kind)
{
    const char *w = ps->s + at;
    bool aggr = pm_word_in(w, wl, pm_aggregators, sizeof pm_aggregators / sizeof pm_aggregators[0]);
    if (kind == PM_WORD_CALL)
        return pm_fail(at, "%s '%.*s(...)' is not supported" PM_ONLY,
                       aggr ? "the aggregation" : "the function call", (int)wl, w);
    return pm_fail(at, "unexpected keyword '%.*s'" PM_ONLY, (int)wl, w);
}

/*
 * The error for what stands at ps->p where a number was expected in
 * arithmetic (after an operator op, or a sign).
 */
static int pm_operand_fail(const pm_parser *ps, char op)
{
    char tok[PM_SHOW_MAX];
    size_t at = ps->p;
    char c = pm_peek(ps, 0);
    if (pm_at_end(ps))
        return pm_fail(at, "expected a number after '%c', found end of input", op);
    if (c == '{' || pm_word_len(ps, at) > 0) {
        size_t wl = pm_word_len(ps, at);
        pm_word kind = wl > 0 ? pm_word_kind(ps, at, wl) : PM_WORD_NAME;
        if (kind != PM_WORD_NAME)
            return pm_word_fail(ps, at, wl, kind);
        return pm_fail(at, "the operator '%c' on a selector is not supported" PM_ONLY, op);
    }
    if (c == '(')
        return pm_fail(at, "parentheses are not supported" PM_ONLY);
    if (c == '"' || c == '\'' || c == '`')
        return pm_fail(at, "string literals are not supported" PM_ONLY);
    return pm_fail(at, "expected a number after '%c', found %s", op, pm_token(ps, at, tok));
}

/* unary := ('+' | '-')* (number | Inf | NaN) */
static int pm_unary(pm_parser *ps, char op, double *v)
{
    bool neg = false;
    pm_skip(ps);
    while (!pm_at_end(ps) && (pm_peek(ps, 0) == '+' || pm_peek(ps, 0) == '-')) {
        op = pm_peek(ps, 0);
        neg ^= op == '-';
        ps->p++;
        pm_skip(ps);
    }
    char c = pm_peek(ps, 0);
    int rc;
    if (!pm_at_end(ps) && (pm_is_digit(c) || (c == '.' && pm_is_digit(pm_peek(ps, 1))))) {
        rc = pm_number(ps, v);
    } else {
        size_t wl = pm_word_len(ps, ps->p);
        if (wl == 0 || pm_word_kind(ps, ps->p, wl) != PM_WORD_NUMBER)
            return pm_operand_fail(ps, op);
        *v = pm_word_is(ps->s + ps->p, wl, "inf") ? INFINITY : NAN;
        ps->p += wl;
        rc = HS_OK;
    }
    if (rc == HS_OK && neg)
        *v = -*v;
    return rc;
}

/* term := unary (('*' | '/') unary)* */
static int pm_term(pm_parser *ps, char op, double *v)
{
    int rc = pm_unary(ps, op, v);
    while (rc == HS_OK) {
        pm_skip(ps);
        char c = pm_peek(ps, 0);
        if (pm_at_end(ps) || (c != '*' && c != '/'))
            break;
        ps->p++;
        double r;
        rc = pm_unary(ps, c, &r);
        if (rc == HS_OK)
            *v = c == '*' ? *v * r : *v / r;
    }
    return rc;
}

/* arith := term (('+' | '-') term)* */
static int pm_arith(pm_parser *ps, double *v)
{
    int rc = pm_term(ps, ' ', v);
    while (rc == HS_OK) {
        pm_skip(ps);
        char c = pm_peek(ps, 0);
        if (pm_at_end(ps) || (c != '+' && c != '-'))
            break;
        ps->p++;
        double r;
        rc = pm_term(ps, c, &r);
        if (rc == HS_OK)
            *v = c == '+' ? *v + r : *v - r;
    }
    return rc;
}

/* ---- The whole query ---- */

/* The error for what follows a complete selector or number at ps->p. */
static int pm_trailing_fail(const pm_parser *ps, bool after_number)
{
    char tok[PM_SHOW_MAX];
    size_t at = ps->p;
    const char *s = ps->s + at;
    size_t avail = ps->len - at;
    size_t wl = pm_word_len(ps, at);
    const char *after = after_number ? "number" : "selector";
    if (s[0] == '[')
        return pm_fail(at, "range and subquery selectors ('[...]') are not supported" PM_ONLY);
    if (s[0] == '@')
        return pm_fail(at, "the @ modifier is not supported" PM_ONLY);
    if (wl > 0 && pm_word_is(s, wl, "offset"))
        return pm_fail(at, "the offset modifier is not supported" PM_ONLY);
    if (wl > 0 && (pm_word_is(s, wl, "and") || pm_word_is(s, wl, "or") ||
                   pm_word_is(s, wl, "unless") || pm_word_is(s, wl, "atan2")))
        return pm_fail(at, "the binary operator '%.*s' is not supported" PM_ONLY, (int)wl, s);
    if (avail >= 2 && (s[1] == '=' && strchr("=!<>", s[0]) != NULL))
        return pm_fail(at, "the comparison '%.2s' is not supported" PM_ONLY, s);
    if (s[0] == '<' || s[0] == '>')
        return pm_fail(at, "the comparison '%c' is not supported" PM_ONLY, s[0]);
    if (strchr("+-*/%^", s[0]) != NULL)
        return pm_fail(at, "the binary operator '%c' on a %s is not supported" PM_ONLY, s[0],
                       after);
    if (s[0] == '(')
        return pm_fail(at, "parentheses are not supported" PM_ONLY);
    return pm_fail(at, "unexpected %s after the %s", pm_token(ps, at, tok), after);
}

static int pm_query(pm_parser *ps)
{
    char tok[PM_SHOW_MAX];
    pm_skip(ps);
    if (pm_at_end(ps))
        return pm_fail(ps->p, "no expression found in input");
    size_t at = ps->p;
    char c = ps->s[at];
    size_t wl = pm_word_len(ps, at);
    pm_word kind = wl > 0 ? pm_word_kind(ps, at, wl) : PM_WORD_NAME;
    int rc;
    bool number = false;
    if (pm_is_digit(c) || (c == '.' && pm_is_digit(pm_peek(ps, 1))) || c == '+' || c == '-' ||
        (wl > 0 && kind == PM_WORD_NUMBER)) {
        number = true;
        rc = pm_arith(ps, &ps->q->number);
        ps->q->is_number = rc == HS_OK;
    } else if (wl > 0 && kind != PM_WORD_NAME) {
        return pm_word_fail(ps, at, wl, kind);
    } else if (wl > 0 || c == '{') {
        rc = pm_selector(ps);
    } else if (c == '(') {
        return pm_fail(at, "parentheses are not supported" PM_ONLY);
    } else if (c == '"' || c == '\'' || c == '`') {
        return pm_fail(at, "string literals are not supported" PM_ONLY);
    } else {
        return pm_fail(at, "unexpected %s", pm_token(ps, at, tok));
    }
    if (rc != HS_OK)
        return rc;
    pm_skip(ps);
    if (!pm_at_end(ps))
        return pm_trailing_fail(ps, number);
    return HS_OK;
}

int hs_pm_parse(const char *q, size_t len, hs_pm_query *out)
{
    if (out == NULL || (q == NULL && len > 0))
        return hs_err_set(HS_ERR_INVAL, "hs_pm_parse: NULL argument");
    memset(out, 0, sizeof *out);
    if (len > HS_PM_MAX_QUERY)
        return hs_err_set(HS_ERR_PARSE, "query: longer than %d bytes", HS_PM_MAX_QUERY);
    pm_parser ps = {.s = q != NULL ? q : "", .len = len, .q = out};
    hs_buf_init(&ps.str, 0);
    int rc = pm_query(&ps);
    hs_buf_free(&ps.str);
    if (rc != HS_OK)
        hs_pm_query_free(out);
    return rc;
}

void hs_pm_query_free(hs_pm_query *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->n; i++) {
        hs_free(q->m[i].name);
        hs_free(q->m[i].value);
        if (q->m[i].re != NULL) {
            regfree(&q->m[i].re->rx);
            hs_free(q->m[i].re);
        }
    }
    hs_free(q->m);
    memset(q, 0, sizeof *q);
}

bool hs_pm_match(const hs_pm_query *q, const char *name, const char *const *keys,
                 const char *const *values, size_t n)
{
    if (q == NULL || q->is_number || q->n == 0)
        return false;
    for (size_t i = 0; i < q->n; i++) {
        const hs_pm_matcher *m = &q->m[i];
        const char *v = "";
        if (pm_is_name_label(m->name)) {
            v = name != NULL ? name : "";
        } else {
            for (size_t k = 0; k < n; k++) {
                if (keys[k] != NULL && strcmp(keys[k], m->name) == 0) {
                    v = values[k] != NULL ? values[k] : "";
                    break;
                }
            }
        }
        if (!pm_matcher_ok(m, v))
            return false;
    }
    return true;
}

bool hs_pm_match_sid(const hs_pm_query *q, const hs_streamid *sid)
{
    if (q == NULL || sid == NULL || q->is_number || q->n == 0)
        return false;
    for (size_t i = 0; i < q->n; i++) {
        const hs_pm_matcher *m = &q->m[i];
        const char *v;
        if (pm_is_name_label(m->name))
            v = sid->name;
        else
            v = hs_streamid_get(sid, m->name);
        if (!pm_matcher_ok(m, v != NULL ? v : ""))
            return false;
    }
    return true;
}

const char *hs_pm_name(const hs_pm_query *q)
{
    if (q == NULL || q->is_number)
        return NULL;
    for (size_t i = 0; i < q->n; i++)
        if (q->m[i].op == HS_PM_EQ && pm_is_name_label(q->m[i].name))
            return q->m[i].value;
    return NULL;
}

int hs_pm_labels_json(const hs_streamid *sid, hs_buf *out)
{
    if (sid == NULL || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_pm_labels_json: NULL argument");
    int rc = hs_buf_puts(out, "{\"" HS_PM_NAME_LABEL "\":");
    if (rc == HS_OK)
        rc = hs_json_put_string(out, sid->name, strlen(sid->name));
    for (size_t i = 0; i < sid->n_meta && rc == HS_OK; i++) {
        const hs_meta_pair *p = &sid->meta[i];
        if (pm_is_name_label(p->key))
            continue;
        rc = hs_buf_putc(out, ',');
        if (rc == HS_OK)
            rc = hs_json_put_string(out, p->key, strlen(p->key));
        if (rc == HS_OK)
            rc = hs_buf_putc(out, ':');
        if (rc == HS_OK)
            rc = hs_json_put_string(out, p->value, strlen(p->value));
    }
    if (rc == HS_OK)
        rc = hs_buf_putc(out, '}');
    return rc;
}

/* ---- Times and durations ---- */

/* Prometheus's formatted MinTime and MaxTime, which clients send for an open bound. */
static const char pm_min_time[] = "-292273086-05-16T16:47:06Z";
static const char pm_max_time[] = "292277025-08-18T07:12:54.999999999Z";

/* Whether s has RFC 3339's shape: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static bool pm_rfc3339_shape(const char *s, size_t len)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t n = sizeof shape - 1;
    if (len < n + 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool ok = shape[i] == 'd'   ? pm_is_digit(s[i])
                  : shape[i] == 'T' ? s[i] == 'T' || s[i] == 't'
                                    : s[i] == shape[i];
        if (!ok)
            return false;
    }
    size_t i = n;
    if (s[i] == '.') {
        size_t f = ++i;
        while (i < len && pm_is_digit(s[i]))
            i++;
        if (i == f)
            return false;
    }
    if (i < len && (s[i] == 'Z' || s[i] == 'z'))
        return i + 1 == len;
    return len - i == 6 && (s[i] == '+' || s[i] == '-') && pm_is_digit(s[i + 1]) &&
           pm_is_digit(s[i + 2]) && s[i + 3] == ':' && pm_is_digit(s[i + 4]) &&
           pm_is_digit(s[i + 5]);
}

/* The whole milliseconds in us, rounded down (toward -infinity). */
static int64_t pm_floor_ms(int64_t us)
{
    return us / 1000 - (us % 1000 < 0);
}

/* us rounded to the nearest millisecond, halves away from zero (in microseconds). */
static int64_t pm_round_ms(int64_t us)
{
    int64_t ms = us / 1000, r = us % 1000;
    if (r >= 500)
        ms++;
    else if (r <= -500)
        ms--;
    return ms * 1000;
}

int hs_pm_time_parse(const char *s, int64_t *t_us)
{
    if (s == NULL || t_us == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_pm_time_parse: NULL argument");
    size_t len = strlen(s);
    char shown[PM_SHOW_MAX];
    pm_show(shown, s, len);
    if (strcmp(s, pm_min_time) == 0) {
        *t_us = HS_TIME_MIN;
        return HS_OK;
    }
    if (strcmp(s, pm_max_time) == 0) {
        *t_us = pm_floor_ms(HS_TIME_MAX) * 1000;
        return HS_OK;
    }
    int64_t us;
    if (pm_rfc3339_shape(s, len)) {
        int rc = hs_time_parse_iso(s, len, &us);
        if (rc != HS_OK) {
            char why[256];
            snprintf(why, sizeof why, "%s", hs_err_detail());
            return hs_err_set(rc, "cannot parse \"%s\" to a valid timestamp: %s", shown, why);
        }
        *t_us = pm_floor_ms(us) * 1000;
        return HS_OK;
    }
    int rc = hs_time_parse_epoch(s, len, &us);
    if (rc == HS_OK) {
        us = pm_round_ms(us);
        if (us <= HS_TIME_MAX) {
            *t_us = us;
            return HS_OK;
        }
        rc = HS_ERR_RANGE;
    }
    if (rc == HS_ERR_RANGE)
        return hs_err_set(HS_ERR_RANGE,
                          "cannot parse \"%s\" to a valid timestamp: outside the years 1 to 9999",
                          shown);
    return hs_err_set(HS_ERR_PARSE,
                      "cannot parse \"%s\" to a valid timestamp: expected RFC 3339 with seconds "
                      "and a zone (2026-01-01T00:00:00Z) or Unix seconds (1700000000.5)",
                      shown);
}

/*
 * Reads Prometheus's duration units (y w d h m s ms, integer counts, each
 * unit at most once, larger units first) into *ms. Returns HS_OK,
 * HS_ERR_PARSE when s is not such a duration, HS_ERR_RANGE on overflow.
 */
static int pm_unit_duration(const char *s, size_t len, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"y", 365 * HS_US_PER_DAY / 1000},
                 {"w", 7 * HS_US_PER_DAY / 1000},
                 {"d", HS_US_PER_DAY / 1000},
                 {"h", HS_US_PER_H / 1000},
                 {"m", HS_US_PER_MIN / 1000},
                 {"s", 1000},
                 {"ms", 1}};
    size_t next = 0, i = 0;
    int64_t total = 0;
    bool overflow = false;
    if (len == 0)
        return HS_ERR_PARSE;
    while (i < len) {
        if (!pm_is_digit(s[i]))
            return HS_ERR_PARSE;
        int64_t n = 0;
        for (; i < len && pm_is_digit(s[i]); i++)
            if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, s[i] - '0', &n))
                overflow = true;
        size_t u = i;
        while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            i++;
        size_t k = next;
        while (k < sizeof units / sizeof units[0] &&
               !(strlen(units[k].unit) == i - u && memcmp(units[k].unit, s + u, i - u) == 0))
            k++;
        if (k == sizeof units / sizeof units[0])
            return HS_ERR_PARSE;
        next = k + 1;
        int64_t part;
        if (__builtin_mul_overflow(n, units[k].ms, &part) ||
            __builtin_add_overflow(total, part, &total))
            overflow = true;
    }
    /* As long as the decimal form can be (hs_time_parse_epoch's bound). */
    if (overflow || total > HS_TIME_MAX / 1000)
        return HS_ERR_RANGE;
    *ms = total;
    return HS_OK;
}

int hs_pm_duration_parse(const char *s, int64_t *us)
{
    if (s == NULL || us == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_pm_duration_parse: NULL argument");
    size_t len = strlen(s);
    char shown[PM_SHOW_MAX];
    pm_show(shown, s, len);
    int64_t v, ms;
    int rc = hs_time_parse_epoch(s, len, &v);
    if (rc == HS_ERR_RANGE && s[0] == '-') {
        v = -1; /* very negative: refused below as not positive */
        rc = HS_OK;
    }
    if (rc == HS_ERR_PARSE) {
        rc = pm_unit_duration(s, len, &ms);
        if (rc == HS_OK)
            v = ms * 1000;
    }
    if (rc == HS_ERR_RANGE)
        return hs_err_set(HS_ERR_RANGE, "cannot parse \"%s\" to a valid duration: it is too long",
                          shown);
    if (rc != HS_OK)
        return hs_err_set(HS_ERR_PARSE,
                          "cannot parse \"%s\" to a valid duration (write seconds such as 15 "
                          "or 0.5, or units such as 1m30s, 500ms, 1h, 1d, 1w, 1y)",
                          shown);
    v -= v % 1000;
    if (v <= 0)
        return hs_err_set(HS_ERR_RANGE,
                          "cannot parse \"%s\" to a valid duration: it must be positive (1ms "
                          "at least)",
                          shown);
    *us = v;
    return HS_OK;
}

/* ---- Output ---- */

int hs_pm_fmt_value(double v, hs_buf *out)
{
    if (out == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_pm_fmt_value: NULL argument");
    if (isnan(v))
        return hs_buf_puts(out, "NaN");
    if (isinf(v))
        return hs_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    if (v == 0)
        return hs_buf_puts(out, signbit(v) ? "-0" : "0");
    char digits[HS_FMT_DIGITS_MAX];
    int e;
    size_t nd = hs_fmt_double_digits(v, digits, &e);
    double a = fabs(v);
    char text[64];
    size_t o = 0;
    if (v < 0)
        text[o++] = '-';
    if (a < 1e-6 || a >= 1e21) {
        /* d[.ddd]e(+|-)XX, as Go's 'e' format with the shortest digits. */
        text[o++] = digits[0];
        if (nd > 1) {
            text[o++] = '.';
            memcpy(text + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        o += (size_t)snprintf(text + o, sizeof text - o, "e%c%02d", e < 0 ? '-' : '+',
                              e < 0 ? -e : e);
    } else if (e < 0) {
        /* 0.000ddd */
        text[o++] = '0';
        text[o++] = '.';
        for (int z = 0; z < -e - 1; z++)
            text[o++] = '0';
        memcpy(text + o, digits, nd);
        o += nd;
    } else {
        /* ddd[000][.ddd]: e + 1 integer digits. */
        size_t n_int = (size_t)e + 1;
        for (size_t k = 0; k < n_int; k++)
            text[o++] = k < nd ? digits[k] : '0';
        if (nd > n_int) {
            text[o++] = '.';
            memcpy(text + o, digits + n_int, nd - n_int);
            o += nd - n_int;
        }
    }
    return hs_buf_append(out, text, o);
}

int hs_pm_fmt_time(int64_t t_us, hs_buf *out)
{
    if (out == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_pm_fmt_time: NULL argument");
    int64_t ms = pm_floor_ms(t_us);
    uint64_t a = ms < 0 ? (uint64_t)(-ms) : (uint64_t)ms;
    unsigned frac = (unsigned)(a % 1000);
    if (frac != 0)
        return hs_buf_printf(out, "%s%llu.%03u", ms < 0 ? "-" : "", (unsigned long long)(a / 1000),
                             frac);
    return hs_buf_printf(out, "%s%llu", ms < 0 ? "-" : "", (unsigned long long)(a / 1000));
}
