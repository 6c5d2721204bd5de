#include "hs_yaml.h"

#include "hs_alloc.h"
#include "hs_arena.h"
#include "hs_error.h"
#include "hs_hash.h"
#include "hs_json.h"
#include "hs_utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Bits of hs_ynode.flags. */
#define HS__Y_ROOT 0x01u /* the node is the root embedded in its hs__ydoc */

/* The prefix of the standard tags after libyaml has expanded "!!". */
#define HS__Y_TAG_PREFIX "tag:yaml.org,2002:"

struct hs_ynode {
    union {
        char *text;       /* SCALAR: NUL-terminated, owned by the arena */
        hs_ynode **items; /* SEQ: len items; MAP: 2*len, key then value; arena */
    } u;
    hs_yscalar val;   /* SCALAR: the typed value */
    const char *file; /* the document's file name (in its hs__ydoc) */
    uint32_t len;     /* SCALAR: text bytes; SEQ: items; MAP: pairs */
    uint32_t line;    /* 1-based */
    uint32_t col;     /* 1-based, in characters */
    uint8_t kind;     /* hs_ykind */
    uint8_t style;    /* hs_ystyle */
    uint8_t flags;    /* HS__Y_* */
};

/* What hs_yaml_parse returns: the root, inside the block that owns everything. */
typedef struct hs__ydoc {
    hs_arena arena; /* every node, text and item array */
    hs_ynode root;  /* a copy of the root node */
    char file[];    /* the file name */
} hs__ydoc;

/* A collection being filled. */
typedef struct hs__yframe {
    hs_ynode *node; /* in the arena */
    size_t base;    /* index in the parser's stack where its items start */
} hs__yframe;

typedef struct hs__yparser {
    hs__ydoc *doc;
    const char *text; /* what libyaml reads (after the BOM; maybe the rewritten copy) */
    size_t len;       /* bytes at text */
    bool joined;      /* surrogate-pair escapes were rewritten (see hs__y_rewrite) */
    hs_ynode **stack; /* owned: the items of every open collection, in order */
    size_t n, cap;    /* stack use and size */
    hs__yframe frames[HS_MP_MAX_DEPTH];
    int depth;       /* open collections */
    size_t nodes;    /* nodes made so far */
    hs_ynode *root;  /* the document's node once it is made */
    uint32_t *slots; /* owned hash table of the duplicate-key check (index + 1, 0 = empty) */
    size_t slot_cap; /* its size, a power of two, or 0 */
    hs_buf *err;     /* borrowed; may be NULL */
} hs__yparser;

/* ---------------------------------------------------------------------------
 * Errors
 */

/*
 * Records "file:line:col: message" (or "file: message" when line is 0) in
 * p->err and as the thread's detail, and returns code.
 */
__attribute__((format(printf, 5, 6))) static int hs__y_fail(hs__yparser *p, int code, uint32_t line,
                                                            uint32_t col, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = p->doc->file;
    if (p->err != NULL) {
        hs_buf_reset(p->err);
        if (line > 0)
            (void)hs_buf_printf(p->err, "%s:%u:%u: %s", file, line, col, msg);
        else
            (void)hs_buf_printf(p->err, "%s: %s", file, msg);
    }
    if (line > 0)
        return hs_err_set(code, "%s:%u:%u: %s", file, line, col, msg);
    return hs_err_set(code, "%s: %s", file, msg);
}

/* Writes s as a short JSON-quoted string for a message, cut after about 40 bytes. */
static void hs__y_quote(const char *s, size_t len, char *dst, size_t dst_len)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    size_t cut = len > 40 ? 40 : len;
    /* Cut at a character boundary so that the quoted text stays readable. */
    while (cut > 0 && cut < len && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    if (hs_json_put_string(&b, s, cut) != HS_OK || (cut < len && hs_buf_puts(&b, "...") != HS_OK))
        snprintf(dst, dst_len, "(key)");
    else
        snprintf(dst, dst_len, "%s", hs_buf_cstr(&b));
    hs_buf_free(&b);
}

static int hs__y_nomem(hs__yparser *p)
{
    return hs__y_fail(p, HS_ERR_NOMEM, 0, 0, "out of memory");
}

/* ---------------------------------------------------------------------------
 * Scalar typing (YAML 1.2 core schema)
 */

static bool hs__y_is_digit(char c, int base)
{
    if (base == 16)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (base == 8)
        return c >= '0' && c <= '7';
    return c >= '0' && c <= '9';
}

static int hs__y_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

/* True when s holds one or more digits of base and nothing else. */
static bool hs__y_all_digits(const char *s, size_t len, int base)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!hs__y_is_digit(s[i], base))
            return false;
    return true;
}

static bool hs__y_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

static bool hs__y_is_any(const char *s, size_t len, const char *const *words)
{
    for (; *words != NULL; words++)
        if (hs__y_is(s, len, *words))
            return true;
    return false;
}

/* True when s matches [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?. */
static bool hs__y_is_float_form(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < len && hs__y_is_digit(s[i], 10)) {
        i++;
        digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        size_t frac = 0;
        while (i < len && hs__y_is_digit(s[i], 10)) {
            i++;
            frac++;
        }
        /* ".5" and "1." are floats, "." is not. */
        if (digits == 0 && frac == 0)
            return false;
    } else if (digits == 0) {
        return false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t exp = 0;
        while (i < len && hs__y_is_digit(s[i], 10)) {
            i++;
            exp++;
        }
        if (exp == 0)
            return false;
    }
    return i == len;
}

/* strtod over len bytes that are known to be a float form (C locale). */
static int hs__y_strtod(const char *s, size_t len, double *out)
{
    char small[128];
    char *buf = small;
    if (len >= sizeof small) {
        buf = hs_malloc(len + 1);
        if (buf == NULL)
            return hs_err_set(HS_ERR_NOMEM, "yaml: out of memory");
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    *out = strtod(buf, NULL);
    if (buf != small)
        hs_free(buf);
    return HS_OK;
}

/* Reads len digits of base into *out; false when the value passes UINT64_MAX. */
static bool hs__y_parse_uint(const char *s, size_t len, int base, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)hs__y_digit_value(s[i]);
        if (v > (UINT64_MAX - d) / (unsigned)base)
            return false;
        v = v * (unsigned)base + d;
    }
    *out = v;
    return true;
}

int hs_yaml_resolve_plain(const char *s, size_t len, hs_yscalar *out)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const infs[] = {".inf", ".Inf", ".INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    if (out == NULL || (s == NULL && len > 0))
        return hs_err_set(HS_ERR_INVAL, "yaml: NULL argument");
    memset(out, 0, sizeof *out);
    if (len == 0 || hs__y_is_any(s, len, nulls)) {
        out->type = HS_YTYPE_NULL;
        return HS_OK;
    }
    if (hs__y_is_any(s, len, trues) || hs__y_is_any(s, len, falses)) {
        out->type = HS_YTYPE_BOOL;
        out->u.b = s[0] == 't' || s[0] == 'T';
        return HS_OK;
    }
    /* Hexadecimal and octal integers: no sign in the core schema. */
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        int base = s[1] == 'x' ? 16 : 8;
        if (hs__y_all_digits(s + 2, len - 2, base)) {
            out->type = HS_YTYPE_INT;
            uint64_t v;
            if (!hs__y_parse_uint(s + 2, len - 2, base, &v) || v > INT64_MAX)
                return hs_err_set(HS_ERR_RANGE, "yaml: integer does not fit 64 bits");
            out->u.i = (int64_t)v;
            return HS_OK;
        }
    }
    size_t sign = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (hs__y_all_digits(s + sign, len - sign, 10)) {
        uint64_t mag;
        bool neg = s[0] == '-';
        if (hs__y_parse_uint(s + sign, len - sign, 10, &mag) &&
            mag <= (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
            out->type = HS_YTYPE_INT;
            out->u.i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
            return HS_OK;
        }
        /* Beyond int64: a float form too, read below as the nearest double (as
         * hs_codec reads such JSON integers). */
    }
    if (hs__y_is_any(s + sign, len - sign, infs)) {
        out->type = HS_YTYPE_FLOAT;
        out->u.f = s[0] == '-' ? -INFINITY : INFINITY;
        return HS_OK;
    }
    if (hs__y_is_any(s, len, nans)) {
        out->type = HS_YTYPE_FLOAT;
        out->u.f = NAN;
        return HS_OK;
    }
    if (hs__y_is_float_form(s, len)) {
        out->type = HS_YTYPE_FLOAT;
        int rc = hs__y_strtod(s, len, &out->u.f);
        if (rc != HS_OK)
            return rc;
        if (isinf(out->u.f))
            return hs_err_set(HS_ERR_RANGE, "yaml: number does not fit a double");
        return HS_OK;
    }
    out->type = HS_YTYPE_STR;
    return HS_OK;
}

/* ---------------------------------------------------------------------------
 * Input preparation: the two libyaml restrictions worked around for JSON
 */

static bool hs__y_is_hex(char c)
{
    return hs__y_is_digit(c, 16);
}

/*
 * True when s[i..] starts a surrogate-pair escape, "\uD8xx\uDCxx": a high
 * surrogate (D800-DBFF) then a low one (DC00-DFFF), any hex case.
 */
static bool hs__y_is_pair_at(const char *s, size_t len, size_t i)
{
    if (len - i < 12 || s[i] != '\\' || s[i + 1] != 'u' || s[i + 6] != '\\' || s[i + 7] != 'u')
        return false;
    for (size_t k = 2; k < 6; k++)
        if (!hs__y_is_hex(s[i + k]) || !hs__y_is_hex(s[i + k + 6]))
            return false;
    char h1 = s[i + 3], h2 = s[i + 9];
    return (s[i + 2] == 'D' || s[i + 2] == 'd') && (s[i + 8] == 'D' || s[i + 8] == 'd') &&
           strchr("89abAB", h1) != NULL && strchr("cdefCDEF", h2) != NULL;
}

/*
 * Whether the input may borrow U+E800..U+EFFF to carry surrogate pairs
 * through libyaml: it must hold none of them, neither raw (EE A0..BF) nor
 * as "\uE..." or "\U0000E..." escapes, nor the text "\uE" anywhere (so that
 * a rewritten escape found in an unquoted scalar can only be ours).
 */
static bool hs__y_may_join(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0xee && i + 1 < len && (unsigned char)s[i + 1] >= 0xa0 &&
            (unsigned char)s[i + 1] <= 0xbf)
            return false;
        if (c == '\\' && i + 2 < len && s[i + 1] == 'u' && (s[i + 2] == 'e' || s[i + 2] == 'E'))
            return false;
        if (c == '\\' && i + 6 < len && s[i + 1] == 'U' && memcmp(s + i + 2, "0000", 4) == 0 &&
            (s[i + 6] == 'e' || s[i + 6] == 'E'))
            return false;
    }
    return true;
}

static bool hs__y_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Prepares what libyaml reads. Makes a copy (*copy, caller frees) only when
 * something must change:
 *   - a document that starts with '{' or '[' gets the tabs of its leading
 *     and trailing whitespace turned into spaces (one byte each, so every
 *     line and column stays where it was);
 *   - surrogate-pair escapes "\uD83D\uDE00" become "\uE83D\uEE00" (the
 *     'D' of each half becomes 'E', same length), which libyaml decodes to
 *     two private-use characters that hs__y_unjoin turns back, when
 *     hs__y_may_join allows it.
 */
static int hs__y_rewrite(hs__yparser *p, char **copy)
{
    const char *s = p->text;
    size_t len = p->len;
    *copy = NULL;
    size_t lead = 0;
    while (lead < len && hs__y_is_ws(s[lead]))
        lead++;
    size_t trail = len;
    while (trail > lead && hs__y_is_ws(s[trail - 1]))
        trail--;
    bool flow = lead < len && (s[lead] == '{' || s[lead] == '[');
    bool tabs = false;
    if (flow) {
        tabs = memchr(s, '\t', lead) != NULL || memchr(s + trail, '\t', len - trail) != NULL;
    }
    bool pairs = false;
    for (const char *q = memchr(s, '\\', len); q != NULL;
         q = memchr(q + 1, '\\', len - (size_t)(q + 1 - s))) {
        if (hs__y_is_pair_at(s, len, (size_t)(q - s))) {
            pairs = true;
            break;
        }
    }
    if (pairs && !hs__y_may_join(s, len))
        pairs = false;
    if (!tabs && !pairs)
        return HS_OK;
    char *c = hs_malloc(len + 1);
    if (c == NULL)
        return hs__y_nomem(p);
    memcpy(c, s, len);
    c[len] = '\0';
    if (tabs) {
        for (size_t i = 0; i < lead; i++)
            if (c[i] == '\t')
                c[i] = ' ';
        for (size_t i = trail; i < len; i++)
            if (c[i] == '\t')
                c[i] = ' ';
    }
    if (pairs) {
        for (size_t i = 0; i + 12 <= len; i++) {
            if (c[i] == '\\' && hs__y_is_pair_at(c, len, i)) {
                c[i + 2] = c[i + 2] == 'D' ? 'E' : 'e';
                c[i + 8] = c[i + 8] == 'D' ? 'E' : 'e';
                i += 11;
            }
        }
        p->joined = true;
    }
    *copy = c;
    p->text = c;
    return HS_OK;
}

/*
 * Undoes the surrogate-pair rewrite in one scalar's text, in place (the
 * text only shrinks). Double-quoted text holds the decoded stand-ins: a
 * U+E800..EBFF followed by a U+EC00..EFFF becomes the character of the
 * pair; any other stand-in was half of a pair that was not an escape pair
 * after all, so it is an unpaired surrogate (false). Other styles hold the
 * rewritten escape text itself, which gets its 'D' back.
 */
static bool hs__y_unjoin(char *s, size_t *len, bool double_quoted)
{
    size_t n = *len, w = 0;
    for (size_t r = 0; r < n;) {
        unsigned char c = (unsigned char)s[r];
        if (double_quoted && c == 0xee && r + 2 < n && (unsigned char)s[r + 1] >= 0xa0 &&
            (unsigned char)s[r + 1] <= 0xbf) {
            /* U+E000 | (s[r+1] & 0x3f) << 6 | (s[r+2] & 0x3f): E800..EFFF here. */
            unsigned hi =
                0xe000u | (((unsigned)s[r + 1] & 0x3fu) << 6) | ((unsigned)s[r + 2] & 0x3fu);
            if (hi > 0xebffu || r + 5 >= n || (unsigned char)s[r + 3] != 0xee ||
                (unsigned char)s[r + 4] < 0xb0 || (unsigned char)s[r + 4] > 0xbf)
                return false;
            unsigned lo =
                0xe000u | (((unsigned)s[r + 4] & 0x3fu) << 6) | ((unsigned)s[r + 5] & 0x3fu);
            unsigned cp = 0x10000u + ((hi - 0xe800u) << 10) + (lo - 0xec00u);
            s[w++] = (char)(0xf0u | (cp >> 18));
            s[w++] = (char)(0x80u | ((cp >> 12) & 0x3fu));
            s[w++] = (char)(0x80u | ((cp >> 6) & 0x3fu));
            s[w++] = (char)(0x80u | (cp & 0x3fu));
            r += 6;
            continue;
        }
        if (!double_quoted && c == '\\' && r + 2 < n && s[r + 1] == 'u' &&
            (s[r + 2] == 'E' || s[r + 2] == 'e')) {
            s[w++] = '\\';
            s[w++] = 'u';
            s[w++] = s[r + 2] == 'E' ? 'D' : 'd';
            r += 3;
            continue;
        }
        s[w++] = s[r++];
    }
    s[w] = '\0';
    *len = w;
    return true;
}

/* ---------------------------------------------------------------------------
 * Tree building
 */

/* A node of kind at the mark, counted against the limit; extra bytes follow it for text. */
static int hs__y_new(hs__yparser *p, hs_ykind kind, const yaml_mark_t *m, size_t extra,
                     hs_ynode **out)
{
    uint32_t line = (uint32_t)m->line + 1, col = (uint32_t)m->column + 1;
    if (p->nodes >= HS_YAML_MAX_NODES)
        return hs__y_fail(p, HS_ERR_LIMIT, line, col, "more than %u nodes in the document",
                          HS_YAML_MAX_NODES);
    hs_ynode *n = hs_arena_alloc(&p->doc->arena, sizeof *n + extra);
    if (n == NULL)
        return hs__y_nomem(p);
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)kind;
    n->line = line;
    n->col = col;
    n->file = p->doc->file;
    p->nodes++;
    *out = n;
    return HS_OK;
}

static int hs__y_push(hs__yparser *p, hs_ynode *n)
{
    if (hs_grow(&p->stack, &p->cap, p->n + 1, sizeof *p->stack, 64) != HS_OK)
        return hs__y_nomem(p);
    p->stack[p->n++] = n;
    return HS_OK;
}

/*
 * Looks for two equal keys among the npairs (key, value) pairs on the stack
 * from index base. Returns HS_OK and sets *dup to the first key (in
 * document order) that repeats an earlier one and *first to that earlier
 * one, or *dup to NULL.
 */
static int hs__y_find_dup(hs__yparser *p, size_t base, size_t npairs, hs_ynode **dup,
                          hs_ynode **first)
{
    *dup = NULL;
    if (npairs < 2)
        return HS_OK;
    hs_ynode *const *items = p->stack + base;
    size_t cap = 16;
    while (cap < 2 * npairs)
        cap *= 2;
    if (cap > p->slot_cap) {
        uint32_t *s = hs_realloc(p->slots, cap * sizeof *s);
        if (s == NULL)
            return hs__y_nomem(p);
        p->slots = s;
        p->slot_cap = cap;
    }
    memset(p->slots, 0, cap * sizeof *p->slots);
    for (size_t i = 0; i < npairs; i++) {
        const hs_ynode *k = items[2 * i];
        size_t h = hs_fnv1a32(k->u.text, k->len) & (cap - 1);
        for (;;) {
            uint32_t slot = p->slots[h];
            if (slot == 0) {
                p->slots[h] = (uint32_t)i + 1;
                break;
            }
            const hs_ynode *o = items[2 * (slot - 1)];
            if (o->len == k->len && memcmp(o->u.text, k->u.text, k->len) == 0) {
                *dup = items[2 * i];
                *first = items[2 * (slot - 1)];
                return HS_OK;
            }
            h = (h + 1) & (cap - 1);
        }
    }
    return HS_OK;
}

static int hs__y_dup_error(hs__yparser *p, const hs_ynode *dup, const hs_ynode *first)
{
    char q[128];
    hs__y_quote(dup->u.text, dup->len, q, sizeof q);
    return hs__y_fail(p, HS_ERR_PARSE, dup->line, dup->col,
                      "duplicate key %s (first at line %u, column %u)", q, first->line, first->col);
}

/*
 * Reports an error found at line:col, unless an open mapping already holds
 * a duplicate key before that place: errors are reported in document
 * order, and duplicates are otherwise only looked for when a mapping ends.
 */
__attribute__((format(printf, 5, 6))) static int
hs__y_fail_at(hs__yparser *p, int code, uint32_t line, uint32_t col, const char *fmt, ...)
{
    if (code != HS_ERR_NOMEM) {
        for (int d = 0; d < p->depth; d++) {
            const hs__yframe *f = &p->frames[d];
            if (f->node->kind != HS_YNODE_MAP)
                continue;
            /* Its own items end where those of the collection open inside it begin. */
            size_t end = d + 1 < p->depth ? p->frames[d + 1].base : p->n;
            hs_ynode *dup, *first;
            if (hs__y_find_dup(p, f->base, (end - f->base) / 2, &dup, &first) != HS_OK)
                return HS_ERR_NOMEM;
            if (dup != NULL && (dup->line < line || (dup->line == line && dup->col < col)))
                return hs__y_dup_error(p, dup, first);
        }
    }
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return hs__y_fail(p, code, line, col, "%s", msg);
}

/* "!!int" for a standard tag, the tag itself otherwise, for messages. */
static void hs__y_tag_name(const char *tag, char *dst, size_t dst_len)
{
    size_t plen = strlen(HS__Y_TAG_PREFIX);
    if (strncmp(tag, HS__Y_TAG_PREFIX, plen) == 0)
        snprintf(dst, dst_len, "!!%.60s", tag + plen);
    else
        snprintf(dst, dst_len, "%.60s", tag);
}

/* The part of a standard tag after the prefix, or NULL. */
static const char *hs__y_std_tag(const char *tag)
{
    size_t plen = strlen(HS__Y_TAG_PREFIX);
    return strncmp(tag, HS__Y_TAG_PREFIX, plen) == 0 ? tag + plen : NULL;
}

/* Adds a new node to the open collection, or makes it the root. */
static int hs__y_attach(hs__yparser *p, hs_ynode *n)
{
    if (p->depth == 0) {
        p->root = n;
        return HS_OK;
    }
    const hs__yframe *f = &p->frames[p->depth - 1];
    if (f->node->kind == HS_YNODE_MAP && (p->n - f->base) % 2 == 0 && n->kind != HS_YNODE_SCALAR)
        return hs__y_fail_at(p, HS_ERR_PARSE, n->line, n->col,
                             "a mapping key must be a scalar, not a %s",
                             n->kind == HS_YNODE_MAP ? "mapping" : "sequence");
    return hs__y_push(p, n);
}

/* Rejects anchors on any node (aliases are rejected where they appear). */
static int hs__y_check_anchor(hs__yparser *p, const yaml_char_t *anchor, const yaml_mark_t *m)
{
    if (anchor == NULL)
        return HS_OK;
    return hs__y_fail_at(p, HS_ERR_UNSUPPORTED, (uint32_t)m->line + 1, (uint32_t)m->column + 1,
                         "anchors (&%.60s) are not supported: write the value out", anchor);
}

/* Types a scalar by its tag (or, untagged, by its style and the core schema). */
static int hs__y_type_scalar(hs__yparser *p, hs_ynode *n, const yaml_event_t *e)
{
    const char *tag = (const char *)e->data.scalar.tag;
    const char *std = tag != NULL ? hs__y_std_tag(tag) : NULL;
    if (tag == NULL || strcmp(tag, "!") == 0 || (std != NULL && strcmp(std, "str") == 0)) {
        if (tag == NULL && n->style == HS_YSTYLE_PLAIN) {
            int rc = hs_yaml_resolve_plain(n->u.text, n->len, &n->val);
            if (rc == HS_ERR_NOMEM)
                return hs__y_nomem(p);
            if (rc != HS_OK) {
                char q[128];
                hs__y_quote(n->u.text, n->len, q, sizeof q);
                return hs__y_fail_at(p, rc, n->line, n->col,
                                     "number %s is out of range (quote it to make it a string)", q);
            }
        } else {
            n->val.type = HS_YTYPE_STR;
        }
        return HS_OK;
    }
    char name[80];
    hs__y_tag_name(tag, name, sizeof name);
    hs_ytype want;
    if (std != NULL && strcmp(std, "null") == 0)
        want = HS_YTYPE_NULL;
    else if (std != NULL && strcmp(std, "bool") == 0)
        want = HS_YTYPE_BOOL;
    else if (std != NULL && strcmp(std, "int") == 0)
        want = HS_YTYPE_INT;
    else if (std != NULL && strcmp(std, "float") == 0)
        want = HS_YTYPE_FLOAT;
    else
        return hs__y_fail_at(p, HS_ERR_UNSUPPORTED, n->line, n->col,
                             "tag %s is not supported on a scalar (use !!str, !!int, !!float, "
                             "!!bool or !!null)",
                             name);
    int rc = hs_yaml_resolve_plain(n->u.text, n->len, &n->val);
    if (rc == HS_ERR_NOMEM)
        return hs__y_nomem(p);
    hs_ytype got = n->val.type;
    if (rc == HS_OK && want == HS_YTYPE_FLOAT && got == HS_YTYPE_INT) {
        n->val.type = HS_YTYPE_FLOAT;
        n->val.u.f = (double)n->val.u.i;
        return HS_OK;
    }
    if (rc == HS_OK && got == want)
        return HS_OK;
    char q[128];
    hs__y_quote(n->u.text, n->len, q, sizeof q);
    if (rc == HS_ERR_RANGE && got == want)
        return hs__y_fail_at(p, rc, n->line, n->col, "%s value %s is out of range", name, q);
    return hs__y_fail_at(p, HS_ERR_PARSE, n->line, n->col, "%s is not a valid %s value", q, name);
}

static int hs__y_on_scalar(hs__yparser *p, const yaml_event_t *e)
{
    const yaml_mark_t *m = &e->start_mark;
    int rc = hs__y_check_anchor(p, e->data.scalar.anchor, m);
    if (rc != HS_OK)
        return rc;
    size_t len = e->data.scalar.length;
    hs_ynode *n;
    rc = hs__y_new(p, HS_YNODE_SCALAR, m, len + 1, &n);
    if (rc != HS_OK)
        return rc;
    switch (e->data.scalar.style) {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE:
        n->style = HS_YSTYLE_SINGLE;
        break;
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
        n->style = HS_YSTYLE_DOUBLE;
        break;
    case YAML_LITERAL_SCALAR_STYLE:
        n->style = HS_YSTYLE_LITERAL;
        break;
    case YAML_FOLDED_SCALAR_STYLE:
        n->style = HS_YSTYLE_FOLDED;
        break;
    case YAML_ANY_SCALAR_STYLE:
    case YAML_PLAIN_SCALAR_STYLE:
    default:
        n->style = HS_YSTYLE_PLAIN;
        break;
    }
    n->u.text = (char *)(n + 1);
    if (len > 0)
        memcpy(n->u.text, e->data.scalar.value, len);
    n->u.text[len] = '\0';
    if (p->joined && !hs__y_unjoin(n->u.text, &len, n->style == HS_YSTYLE_DOUBLE))
        return hs__y_fail_at(p, HS_ERR_PARSE, n->line, n->col,
                             "found an unpaired surrogate escape in a quoted scalar");
    n->len = (uint32_t)len;
    if (memchr(n->u.text, '\0', len) != NULL)
        return hs__y_fail_at(p, HS_ERR_PARSE, n->line, n->col,
                             "strings may not contain NUL characters");
    /* libyaml checks the input and its escapes; this keeps the promise independent of it. */
    if (!hs_utf8_valid(n->u.text, len))
        return hs__y_fail_at(p, HS_ERR_PARSE, n->line, n->col, "scalar is not valid UTF-8");
    rc = hs__y_type_scalar(p, n, e);
    if (rc != HS_OK)
        return rc;
    return hs__y_attach(p, n);
}

static int hs__y_on_start(hs__yparser *p, const yaml_event_t *e, hs_ykind kind)
{
    const yaml_mark_t *m = &e->start_mark;
    bool map = kind == HS_YNODE_MAP;
    const yaml_char_t *anchor = map ? e->data.mapping_start.anchor : e->data.sequence_start.anchor;
    const char *tag = (const char *)(map ? e->data.mapping_start.tag : e->data.sequence_start.tag);
    bool flow = map ? e->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                    : e->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
    int rc = hs__y_check_anchor(p, anchor, m);
    if (rc != HS_OK)
        return rc;
    uint32_t line = (uint32_t)m->line + 1, col = (uint32_t)m->column + 1;
    if (tag != NULL && strcmp(tag, "!") != 0) {
        const char *std = hs__y_std_tag(tag);
        if (std == NULL || strcmp(std, map ? "map" : "seq") != 0) {
            char name[80];
            hs__y_tag_name(tag, name, sizeof name);
            return hs__y_fail_at(p, HS_ERR_UNSUPPORTED, line, col,
                                 "tag %s is not supported on a %s (use %s)", name,
                                 map ? "mapping" : "sequence", map ? "!!map" : "!!seq");
        }
    }
    if (p->depth >= HS_MP_MAX_DEPTH)
        return hs__y_fail_at(p, HS_ERR_LIMIT, line, col, "collections nested deeper than %d",
                             HS_MP_MAX_DEPTH);
    hs_ynode *n;
    rc = hs__y_new(p, kind, m, 0, &n);
    if (rc != HS_OK)
        return rc;
    n->style = flow ? HS_YSTYLE_FLOW : HS_YSTYLE_BLOCK;
    rc = hs__y_attach(p, n);
    if (rc != HS_OK)
        return rc;
    p->frames[p->depth].node = n;
    p->frames[p->depth].base = p->n;
    p->depth++;
    return HS_OK;
}

static int hs__y_on_end(hs__yparser *p)
{
    hs__yframe *f = &p->frames[p->depth - 1];
    hs_ynode *n = f->node;
    size_t count = p->n - f->base;
    if (count > 0) {
        hs_ynode **items = hs_arena_alloc(&p->doc->arena, count * sizeof *items);
        if (items == NULL)
            return hs__y_nomem(p);
        memcpy(items, p->stack + f->base, count * sizeof *items);
        n->u.items = items;
    }
    if (n->kind == HS_YNODE_MAP) {
        /* libyaml always pairs keys with values (an absent value is an empty scalar). */
        n->len = (uint32_t)(count / 2);
        hs_ynode *dup, *first;
        int rc = hs__y_find_dup(p, f->base, count / 2, &dup, &first);
        if (rc != HS_OK)
            return rc;
        if (dup != NULL)
            return hs__y_dup_error(p, dup, first);
    } else {
        n->len = (uint32_t)count;
    }
    p->n = f->base;
    p->depth--;
    return HS_OK;
}

/* Line and column (1-based) of byte offset off of the text libyaml read, for reader errors. */
static void hs__y_locate(const hs__yparser *p, size_t off, uint32_t *line, uint32_t *col)
{
    const unsigned char *s = (const unsigned char *)p->text;
    uint32_t l = 1, c = 1;
    if (off > p->len)
        off = p->len;
    for (size_t i = 0; i < off; i++) {
        unsigned char b = s[i];
        bool brk = b == '\n' || (b == '\r' && (i + 1 >= p->len || s[i + 1] != '\n'));
        /* NEL, LS and PS break lines for libyaml too; the break is their last byte. */
        if (b == 0x85 && i >= 1 && s[i - 1] == 0xc2)
            brk = true;
        if ((b == 0xa8 || b == 0xa9) && i >= 2 && s[i - 1] == 0x80 && s[i - 2] == 0xe2)
            brk = true;
        if (brk) {
            l++;
            c = 1;
        } else if ((b & 0xc0) != 0x80) {
            /* A lead byte: the next character would be here. */
            c++;
        }
    }
    /* Continuation bytes before off belong to a character already counted. */
    *line = l;
    *col = c;
}

/* The first byte of the character at 0-based line and column of a libyaml mark, or 0. */
static unsigned char hs__y_byte_at(const hs__yparser *p, const yaml_mark_t *m)
{
    const unsigned char *s = (const unsigned char *)p->text;
    size_t line = 0, col = 0;
    for (size_t i = 0; i < p->len; i++) {
        unsigned char b = s[i];
        if ((b & 0xc0) == 0x80)
            continue;
        if (line == m->line && col == m->column)
            return b;
        if (b == '\n' || (b == '\r' && (i + 1 >= p->len || s[i + 1] != '\n'))) {
            line++;
            col = 0;
        } else if (b != '\r') {
            col++;
        }
    }
    return 0;
}

/* Turns libyaml's error into ours. */
static int hs__y_libyaml_error(hs__yparser *p, const yaml_parser_t *yp)
{
    const char *problem = yp->problem != NULL ? yp->problem : "unknown error";
    switch (yp->error) {
    case YAML_MEMORY_ERROR:
        return hs__y_nomem(p);
    case YAML_READER_ERROR: {
        uint32_t line, col;
        hs__y_locate(p, yp->problem_offset, &line, &col);
        if (yp->problem_value >= 0)
            return hs__y_fail_at(p, HS_ERR_PARSE, line, col, "%s (0x%X)", problem,
                                 (unsigned)yp->problem_value);
        return hs__y_fail_at(p, HS_ERR_PARSE, line, col, "%s", problem);
    }
    default:
        break;
    }
    uint32_t line = (uint32_t)yp->problem_mark.line + 1,
             col = (uint32_t)yp->problem_mark.column + 1;
    const char *hint = "";
    if (strstr(problem, "Unicode character escape") != NULL)
        hint = " (surrogate escapes must come in pairs)";
    else if (strstr(problem, "tab") != NULL || (strstr(problem, "cannot start any token") != NULL &&
                                                hs__y_byte_at(p, &yp->problem_mark) == '\t'))
        hint = " (YAML is indented with spaces, not tabs)";
    if (yp->context == NULL)
        return hs__y_fail_at(p, HS_ERR_PARSE, line, col, "%s%s", problem, hint);
    uint32_t cline = (uint32_t)yp->context_mark.line + 1;
    uint32_t ccol = (uint32_t)yp->context_mark.column + 1;
    if (strstr(problem, "end of stream") != NULL)
        /* An unclosed quote or bracket: point at where it opened. */
        return hs__y_fail_at(p, HS_ERR_PARSE, cline, ccol,
                             "unexpected end of input %s that starts here", yp->context);
    return hs__y_fail_at(p, HS_ERR_PARSE, line, col, "%s%s (%s that starts at line %u, column %u)",
                         problem, hint, yp->context, cline, ccol);
}

/* Runs libyaml over the prepared input and builds the tree. */
static int hs__y_run(hs__yparser *p, yaml_parser_t *yp)
{
    int docs = 0;
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(yp, &e))
            return hs__y_libyaml_error(p, yp);
        int rc = HS_OK;
        bool done = false;
        uint32_t line = (uint32_t)e.start_mark.line + 1, col = (uint32_t)e.start_mark.column + 1;
        switch (e.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = hs__y_fail_at(p, HS_ERR_PARSE, line, col,
                                   "a second document starts here; a file holds one document");
            break;
        case YAML_ALIAS_EVENT:
            rc = hs__y_fail_at(p, HS_ERR_UNSUPPORTED, line, col,
                               "aliases (*%.60s) are not supported: write the value out",
                               (const char *)e.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
            rc = hs__y_on_scalar(p, &e);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = hs__y_on_start(p, &e, HS_YNODE_SEQ);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = hs__y_on_start(p, &e, HS_YNODE_MAP);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = hs__y_on_end(p);
            break;
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
        case YAML_NO_EVENT:
        default:
            break;
        }
        yaml_event_delete(&e);
        if (rc != HS_OK)
            return rc;
        if (done)
            return HS_OK;
    }
}

int hs_yaml_parse(const char *text, size_t len, const char *filename, hs_ynode **out, hs_buf *err)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || (text == NULL && len > 0)) {
        if (err != NULL) {
            hs_buf_reset(err);
            (void)hs_buf_puts(err, "yaml: NULL argument");
        }
        return hs_err_set(HS_ERR_INVAL, "yaml: NULL argument");
    }
    if (filename == NULL)
        filename = "<input>";
    size_t flen = strlen(filename);
    hs__ydoc *doc = hs_malloc(sizeof *doc + flen + 1);
    if (doc == NULL) {
        if (err != NULL) {
            hs_buf_reset(err);
            (void)hs_buf_printf(err, "%s: out of memory", filename);
        }
        return hs_err_set(HS_ERR_NOMEM, "%s: out of memory", filename);
    }
    memcpy(doc->file, filename, flen + 1);
    hs_arena_init(&doc->arena, 0, 0);

    hs__yparser p;
    memset(&p, 0, sizeof p);
    p.doc = doc;
    p.err = err;
    p.text = text != NULL ? text : "";
    p.len = len;
    char *copy = NULL;
    int rc;
    if (len > HS_YAML_MAX_INPUT) {
        rc = hs__y_fail(&p, HS_ERR_LIMIT, 0, 0, "input of %zu bytes is larger than %u bytes", len,
                        HS_YAML_MAX_INPUT);
        goto fail_doc;
    }
    if (p.len >= 3 && memcmp(p.text, "\xef\xbb\xbf", 3) == 0) {
        p.text += 3;
        p.len -= 3;
    }
    rc = hs__y_rewrite(&p, &copy);
    if (rc != HS_OK)
        goto fail_doc;

    yaml_parser_t yp;
    if (!yaml_parser_initialize(&yp)) {
        rc = hs__y_nomem(&p);
        goto fail_copy;
    }
    yaml_parser_set_encoding(&yp, YAML_UTF8_ENCODING);
    yaml_parser_set_input_string(&yp, (const unsigned char *)p.text, p.len);
    rc = hs__y_run(&p, &yp);
    yaml_parser_delete(&yp);
    if (rc != HS_OK)
        goto fail_copy;

    if (p.root == NULL) {
        /* No document at all: an empty mapping. */
        yaml_mark_t start = {0, 0, 0};
        rc = hs__y_new(&p, HS_YNODE_MAP, &start, 0, &p.root);
        if (rc != HS_OK)
            goto fail_copy;
        p.root->style = HS_YSTYLE_BLOCK;
    }
    doc->root = *p.root;
    doc->root.flags |= HS__Y_ROOT;
    hs_free(copy);
    hs_free(p.stack);
    hs_free(p.slots);
    *out = &doc->root;
    return HS_OK;

fail_copy:
    hs_free(copy);
fail_doc:
    hs_free(p.stack);
    hs_free(p.slots);
    hs_arena_free(&doc->arena);
    hs_free(doc);
    return rc;
}

void hs_yaml_destroy(hs_ynode *root)
{
    if (root == NULL || !(root->flags & HS__Y_ROOT))
        return;
    hs__ydoc *doc = (hs__ydoc *)(void *)((char *)root - offsetof(hs__ydoc, root));
    hs_arena_free(&doc->arena);
    hs_free(doc);
}

/* ---------------------------------------------------------------------------
 * Accessors
 */

hs_ykind hs_ynode_kind(const hs_ynode *n)
{
    return n != NULL ? (hs_ykind)n->kind : HS_YNODE_NONE;
}

hs_ystyle hs_ynode_style(const hs_ynode *n)
{
    return n != NULL ? (hs_ystyle)n->style : HS_YSTYLE_PLAIN;
}

unsigned hs_ynode_line(const hs_ynode *n)
{
    return n != NULL ? n->line : 0;
}

unsigned hs_ynode_col(const hs_ynode *n)
{
    return n != NULL ? n->col : 0;
}

const char *hs_ynode_file(const hs_ynode *n)
{
    return n != NULL ? n->file : NULL;
}

const char *hs_ynode_text(const hs_ynode *n, size_t *len)
{
    if (n == NULL || n->kind != HS_YNODE_SCALAR) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = n->len;
    return n->u.text;
}

hs_ytype hs_ynode_type(const hs_ynode *n)
{
    return n != NULL && n->kind == HS_YNODE_SCALAR ? n->val.type : HS_YTYPE_NONE;
}

bool hs_ynode_is_null(const hs_ynode *n)
{
    return hs_ynode_type(n) == HS_YTYPE_NULL;
}

int hs_ynode_bool(const hs_ynode *n, bool *v)
{
    if (hs_ynode_type(n) != HS_YTYPE_BOOL || v == NULL)
        return HS_ERR_SCHEMA;
    *v = n->val.u.b;
    return HS_OK;
}

int hs_ynode_int(const hs_ynode *n, int64_t *v)
{
    if (hs_ynode_type(n) != HS_YTYPE_INT || v == NULL)
        return HS_ERR_SCHEMA;
    *v = n->val.u.i;
    return HS_OK;
}

int hs_ynode_float(const hs_ynode *n, double *v)
{
    hs_ytype t = hs_ynode_type(n);
    if ((t != HS_YTYPE_FLOAT && t != HS_YTYPE_INT) || v == NULL)
        return HS_ERR_SCHEMA;
    *v = t == HS_YTYPE_INT ? (double)n->val.u.i : n->val.u.f;
    return HS_OK;
}

size_t hs_ynode_len(const hs_ynode *n)
{
    return n != NULL && n->kind != HS_YNODE_SCALAR ? n->len : 0;
}

const hs_ynode *hs_ynode_item(const hs_ynode *n, size_t i)
{
    if (n == NULL || n->kind != HS_YNODE_SEQ || i >= n->len)
        return NULL;
    return n->u.items[i];
}

const hs_ynode *hs_ynode_key(const hs_ynode *n, size_t i)
{
    if (n == NULL || n->kind != HS_YNODE_MAP || i >= n->len)
        return NULL;
    return n->u.items[2 * i];
}

const hs_ynode *hs_ynode_value(const hs_ynode *n, size_t i)
{
    if (n == NULL || n->kind != HS_YNODE_MAP || i >= n->len)
        return NULL;
    return n->u.items[2 * i + 1];
}

const hs_ynode *hs_ynode_get(const hs_ynode *map, const char *key)
{
    if (map == NULL || key == NULL || map->kind != HS_YNODE_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < map->len; i++) {
        const hs_ynode *k = map->u.items[2 * i];
        if (k->len == klen && memcmp(k->u.text, key, klen) == 0)
            return map->u.items[2 * i + 1];
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Conversion
 */

/* Writes n; on an output failure *at is the node being written. */
static int hs__y_put(const hs_ynode *n, hs_buf *out, const hs_ynode **at)
{
    int rc;
    *at = n;
    switch (n->kind) {
    case HS_YNODE_SCALAR:
        switch (n->val.type) {
        case HS_YTYPE_NULL:
            return hs_mp_put_nil(out);
        case HS_YTYPE_BOOL:
            return hs_mp_put_bool(out, n->val.u.b);
        case HS_YTYPE_INT:
            return hs_mp_put_int(out, n->val.u.i);
        case HS_YTYPE_FLOAT:
            return hs_mp_put_double(out, n->val.u.f);
        case HS_YTYPE_STR:
        case HS_YTYPE_NONE:
        default:
            return hs_mp_put_str(out, n->u.text, n->len);
        }
    case HS_YNODE_SEQ:
        rc = hs_mp_put_array(out, n->len);
        for (size_t i = 0; rc == HS_OK && i < n->len; i++)
            rc = hs__y_put(n->u.items[i], out, at);
        return rc;
    case HS_YNODE_MAP:
    default:
        rc = hs_mp_put_map(out, n->len);
        for (size_t i = 0; rc == HS_OK && i < n->len; i++) {
            const hs_ynode *k = n->u.items[2 * i];
            *at = k;
            rc = hs_mp_put_str(out, k->u.text, k->len);
            if (rc == HS_OK)
                rc = hs__y_put(n->u.items[2 * i + 1], out, at);
        }
        return rc;
    }
}

int hs_ynode_to_mpack(const hs_ynode *n, hs_buf *out, hs_buf *err)
{
    if (n == NULL || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "yaml: NULL argument");
    size_t len0 = out->len;
    const hs_ynode *at = n;
    int rc = hs__y_put(n, out, &at);
    if (rc == HS_OK)
        return HS_OK;
    out->len = len0;
    const char *why = rc == HS_ERR_LIMIT ? "output exceeds its size bound" : "out of memory";
    if (err != NULL) {
        hs_buf_reset(err);
        (void)hs_buf_printf(err, "%s:%u:%u: %s", at->file, at->line, at->col, why);
    }
    return hs_err_set(rc, "%s:%u:%u: %s", at->file, at->line, at->col, why);
}

int hs_ynode_to_json(const hs_ynode *n, hs_buf *out)
{
    if (n == NULL || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "yaml: NULL argument");
    hs_buf m;
    hs_buf_init(&m, 0);
    int rc = hs_ynode_to_mpack(n, &m, NULL);
    if (rc == HS_OK) {
        hs_mp_reader r;
        hs_mp_reader_init(&r, m.data, m.len);
        rc = hs_json_from_mpack(&r, out);
    }
    hs_buf_free(&m);
    return rc;
}
