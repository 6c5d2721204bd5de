#include "hs_streamid.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_utf8.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* How many bytes of an id or a part an error message shows before "...". */
#define HS__SID_SHOW_ID   64
#define HS__SID_SHOW_PART 40

typedef struct hs__span {
    const char *p; /* borrowed */
    size_t len;
} hs__span;

typedef struct hs__pair {
    hs__span key;
    hs__span value;
} hs__pair;

/*
 * The parts of an id while it is checked, before it is copied into an
 * hs_streamid. All spans borrow from the caller's input.
 */
typedef struct hs__sid_parts {
    hs__span name;
    hs__pair pairs[HS_SID_MAX_PAIRS];
    size_t n;
    hs__span src; /* the text being parsed; p is NULL when built from parts */
} hs__sid_parts;

/* Renders the id of ps for an error message: its source text, or its parts joined. */
static void hs__sid_render(const hs__sid_parts *ps, char *out, size_t cap)
{
    if (ps->src.p != NULL) {
        hs_utf8_show(out, cap, ps->src.p, ps->src.len, HS__SID_SHOW_ID, "\\'");
        return;
    }
    /* Join the parts (shortened) first, then escape the joined text once. */
    char raw[HS__SID_SHOW_ID + 1];
    size_t r = 0;
    bool more = false;
#define HS__SID_RAW_ADD(ptr, l)                                                                    \
    do {                                                                                           \
        size_t hs__l = (l);                                                                        \
        if (hs__l > sizeof raw - r) {                                                              \
            hs__l = sizeof raw - r;                                                                \
            more = true;                                                                           \
        }                                                                                          \
        memcpy(raw + r, (ptr), hs__l);                                                             \
        r += hs__l;                                                                                \
    } while (0)
    HS__SID_RAW_ADD(ps->name.p, ps->name.len);
    for (size_t i = 0; i < ps->n; i++) {
        HS__SID_RAW_ADD("/", 1);
        HS__SID_RAW_ADD(ps->pairs[i].key.p, ps->pairs[i].key.len);
        HS__SID_RAW_ADD("=", 1);
        HS__SID_RAW_ADD(ps->pairs[i].value.p, ps->pairs[i].value.len);
    }
#undef HS__SID_RAW_ADD
    /* raw holds one byte more than is shown, so escape sees that more follows. */
    hs_utf8_show(out, cap, raw, r, more ? HS__SID_SHOW_ID : r, "\\'");
}

/* Records "stream id '<id>': <reason>" and returns HS_ERR_PARSE. */
static int hs__sid_err(const hs__sid_parts *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int hs__sid_err(const hs__sid_parts *ps, const char *fmt, ...)
{
    char id[HS__SID_SHOW_ID * 4 + 8];
    char why[384];
    hs__sid_render(ps, id, sizeof id);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return hs_err_set(HS_ERR_PARSE, "stream id '%s': %s", id, why);
}

/*
 * Whether cp is a Unicode space (category Zs, and the line and paragraph
 * separators) or a zero-width character: ids that look alike must be alike.
 */
static bool hs__sid_is_space(uint32_t cp)
{
    return cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200d) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x2060 || cp == 0x3000 ||
           cp == 0xfeff;
}

/*
 * Checks one part. On failure writes the reason ("contains '#'") into why
 * and returns HS_ERR_PARSE.
 */
static int hs__sid_part_problem(const char *s, size_t len, bool is_name, char *why, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    if (len == 0) {
        snprintf(why, cap, "is empty");
        return HS_ERR_PARSE;
    }
    if (len > HS_SID_MAX_PART) {
        snprintf(why, cap, "is longer than %d bytes (%zu)", HS_SID_MAX_PART, len);
        return HS_ERR_PARSE;
    }
    if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
        snprintf(why, cap, "may not be '%.*s'", (int)len, s);
        return HS_ERR_PARSE;
    }
    if (is_name && p[0] == '$') {
        snprintf(why, cap, "starts with '$'");
        return HS_ERR_PARSE;
    }
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c == '/' || c == '+' || c == '#' || c == '=') {
            snprintf(why, cap, "contains '%c'", c);
            return HS_ERR_PARSE;
        }
        if (c == 0) {
            snprintf(why, cap, "contains a NUL byte");
            return HS_ERR_PARSE;
        }
        if (c < 0x20 || c == 0x7f) {
            snprintf(why, cap, "contains control character 0x%02x", c);
            return HS_ERR_PARSE;
        }
        if (c == ' ') {
            snprintf(why, cap, "contains a space (use '_' or '-')");
            return HS_ERR_PARSE;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = hs_utf8_decode(p + i, len - i, &cp);
        if (k == 0) {
            snprintf(why, cap, "is not valid UTF-8 (at byte %zu)", i);
            return HS_ERR_PARSE;
        }
        if (cp <= 0x9f) {
            snprintf(why, cap, "contains control character U+%04X", (unsigned)cp);
            return HS_ERR_PARSE;
        }
        if (hs__sid_is_space(cp)) {
            snprintf(why, cap, "contains space or invisible character U+%04X (use '_' or '-')",
                     (unsigned)cp);
            return HS_ERR_PARSE;
        }
        /* Noncharacters: U+FDD0..U+FDEF and the last two code points of every plane. */
        if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe) {
            snprintf(why, cap, "contains noncharacter U+%04X", (unsigned)cp);
            return HS_ERR_PARSE;
        }
        i += k;
    }
    return HS_OK;
}

/* Checks one part of ps and records "stream id '<id>': <what> '<part>' <reason>". */
static int hs__sid_check(const hs__sid_parts *ps, const char *what, const char *s, size_t len,
                         bool is_name)
{
    char why[96];
    if (hs__sid_part_problem(s, len, is_name, why, sizeof why) == HS_OK)
        return HS_OK;
    if (len == 0)
        return hs__sid_err(ps, "%s %s", what, why);
    char part[HS__SID_SHOW_PART * 4 + 8];
    hs_utf8_show(part, sizeof part, s, len, HS__SID_SHOW_PART, "\\'");
    return hs__sid_err(ps, "%s '%s' %s", what, part, why);
}

static int hs__span_cmp(hs__span a, hs__span b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n > 0 ? memcmp(a.p, b.p, n) : 0;
    if (c != 0)
        return c;
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

/*
 * Sorts the pairs of ps by key, rejects duplicate keys and checks the length
 * of the canonical form, which it stores in *canon_len.
 */
static int hs__sid_finish(hs__sid_parts *ps, size_t *canon_len)
{
    /* Insertion sort: at most HS_SID_MAX_PAIRS pairs, often already sorted. */
    for (size_t i = 1; i < ps->n; i++) {
        hs__pair x = ps->pairs[i];
        size_t j = i;
        while (j > 0 && hs__span_cmp(ps->pairs[j - 1].key, x.key) > 0) {
            ps->pairs[j] = ps->pairs[j - 1];
            j--;
        }
        ps->pairs[j] = x;
    }
    size_t total = ps->name.len;
    for (size_t i = 0; i < ps->n; i++) {
        if (i > 0 && hs__span_cmp(ps->pairs[i - 1].key, ps->pairs[i].key) == 0) {
            char key[HS__SID_SHOW_PART * 4 + 8];
            hs_utf8_show(key, sizeof key, ps->pairs[i].key.p, ps->pairs[i].key.len,
                         HS__SID_SHOW_PART, "\\'");
            return hs__sid_err(ps, "key '%s' appears more than once", key);
        }
        total += 2 + ps->pairs[i].key.len + ps->pairs[i].value.len;
    }
    if (total > HS_SID_MAX_LEN)
        return hs__sid_err(ps, "canonical form is longer than %d bytes (%zu)", HS_SID_MAX_LEN,
                           total);
    *canon_len = total;
    return HS_OK;
}

/* Writes the canonical form of checked, sorted parts to out (canon_len bytes, no NUL). */
static void hs__sid_write_canon(const hs__sid_parts *ps, char *out)
{
    memcpy(out, ps->name.p, ps->name.len);
    out += ps->name.len;
    for (size_t i = 0; i < ps->n; i++) {
        *out++ = '/';
        memcpy(out, ps->pairs[i].key.p, ps->pairs[i].key.len);
        out += ps->pairs[i].key.len;
        *out++ = '=';
        memcpy(out, ps->pairs[i].value.p, ps->pairs[i].value.len);
        out += ps->pairs[i].value.len;
    }
}

/* Copies s into the string area at *area, NUL-terminates it and advances *area. */
static char *hs__sid_put(char **area, hs__span s)
{
    char *p = *area;
    memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    *area += s.len + 1;
    return p;
}

/*
 * Builds an id from checked, sorted parts in one allocation laid out as:
 * the struct, the pair array, the canonical form, then name, keys and values.
 */
static int hs__sid_build(const hs__sid_parts *ps, size_t canon_len, hs_streamid **out)
{
    size_t strings = canon_len + 1 + ps->name.len + 1;
    for (size_t i = 0; i < ps->n; i++)
        strings += ps->pairs[i].key.len + 1 + ps->pairs[i].value.len + 1;
    size_t head = sizeof(hs_streamid) + ps->n * sizeof(hs_meta_pair);
    hs_streamid *sid = hs_malloc(head + strings);
    if (sid == NULL)
        return hs_err_set(HS_ERR_NOMEM, "stream id: out of memory");
    sid->meta = ps->n > 0 ? (hs_meta_pair *)(sid + 1) : NULL;
    sid->n_meta = ps->n;
    char *area = (char *)sid + head;
    sid->canon = area;
    hs__sid_write_canon(ps, area);
    area[canon_len] = '\0';
    area += canon_len + 1;
    sid->name = hs__sid_put(&area, ps->name);
    for (size_t i = 0; i < ps->n; i++) {
        sid->meta[i].key = hs__sid_put(&area, ps->pairs[i].key);
        sid->meta[i].value = hs__sid_put(&area, ps->pairs[i].value);
    }
    *out = sid;
    return HS_OK;
}

/* Splits and checks the text s of len bytes into ps (unsorted). */
static int hs__sid_split(const char *s, size_t len, hs__sid_parts *ps)
{
    memset(ps, 0, sizeof *ps);
    ps->src.p = s;
    ps->src.len = len;
    if (len > HS_SID_MAX_LEN)
        return hs__sid_err(ps, "longer than %d bytes (%zu)", HS_SID_MAX_LEN, len);
    const char *end = s + len;
    const char *slash = memchr(s, '/', len);
    const char *p = slash != NULL ? slash : end;
    ps->name.p = s;
    ps->name.len = (size_t)(p - s);
    int rc = hs__sid_check(ps, "name", ps->name.p, ps->name.len, true);
    if (rc != HS_OK)
        return rc;
    size_t index = 0;
    while (p < end) {
        const char *seg = p + 1; /* p is at a '/' */
        slash = memchr(seg, '/', (size_t)(end - seg));
        p = slash != NULL ? slash : end;
        size_t seglen = (size_t)(p - seg);
        index++;
        if (seglen == 0)
            return hs__sid_err(ps,
                               "meta-data part %zu is empty (two '/' in a row or a '/' at the "
                               "end)",
                               index);
        if (ps->n == HS_SID_MAX_PAIRS)
            return hs__sid_err(ps, "more than %d meta-data pairs", HS_SID_MAX_PAIRS);
        char part[HS__SID_SHOW_PART * 4 + 8];
        const char *eq = memchr(seg, '=', seglen);
        if (eq == NULL) {
            /* A part without '=' is most likely a wildcard or a path: say what is in it. */
            char why[96];
            hs_utf8_show(part, sizeof part, seg, seglen, HS__SID_SHOW_PART, "\\'");
            if (hs__sid_part_problem(seg, seglen, false, why, sizeof why) != HS_OK)
                return hs__sid_err(ps, "meta-data part '%s' %s", part, why);
            return hs__sid_err(ps,
                               "meta-data part '%s' has no '=' (after the name every '/' "
                               "starts a key=value pair; a name cannot hold '/')",
                               part);
        }
        hs__span key = {seg, (size_t)(eq - seg)};
        hs__span value = {eq + 1, (size_t)(p - eq - 1)};
        if (key.len == 0 || value.len == 0 || memchr(value.p, '=', value.len) != NULL) {
            hs_utf8_show(part, sizeof part, seg, seglen, HS__SID_SHOW_PART, "\\'");
            return hs__sid_err(ps, "meta-data part '%s' %s", part,
                               key.len == 0     ? "has an empty key"
                               : value.len == 0 ? "has an empty value"
                                                : "has more than one '='");
        }
        rc = hs__sid_check(ps, "key", key.p, key.len, false);
        if (rc == HS_OK)
            rc = hs__sid_check(ps, "value", value.p, value.len, false);
        if (rc != HS_OK)
            return rc;
        ps->pairs[ps->n].key = key;
        ps->pairs[ps->n].value = value;
        ps->n++;
    }
    return HS_OK;
}

int hs_streamid_parse(const char *s, size_t len, hs_streamid **out)
{
    if ((s == NULL && len > 0) || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "stream id: NULL argument");
    if (s == NULL)
        s = "";
    hs__sid_parts ps;
    size_t canon_len;
    int rc = hs__sid_split(s, len, &ps);
    if (rc == HS_OK)
        rc = hs__sid_finish(&ps, &canon_len);
    if (rc == HS_OK)
        rc = hs__sid_build(&ps, canon_len, out);
    return rc;
}

int hs_streamid_canonical(const char *s, size_t len, hs_buf *out)
{
    if ((s == NULL && len > 0) || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "stream id: NULL argument");
    if (s == NULL)
        s = "";
    hs__sid_parts ps;
    size_t canon_len;
    int rc = hs__sid_split(s, len, &ps);
    if (rc == HS_OK)
        rc = hs__sid_finish(&ps, &canon_len);
    if (rc != HS_OK)
        return rc;
    rc = hs_buf_reserve(out, canon_len);
    if (rc != HS_OK)
        return rc;
    hs__sid_write_canon(&ps, (char *)out->data + out->len);
    out->len += canon_len;
    return HS_OK;
}

/*
 * Checks name and n C-string pairs into ps (unsorted); the id shown in error
 * messages is made of the parts gathered so far.
 */
static int hs__sid_from_pairs(const char *name, const hs_meta_pair *pairs, size_t n,
                              hs__sid_parts *ps)
{
    memset(ps, 0, sizeof *ps);
    ps->name.p = name;
    ps->name.len = strlen(name);
    int rc = hs__sid_check(ps, "name", ps->name.p, ps->name.len, true);
    if (rc != HS_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (pairs[i].key == NULL || pairs[i].value == NULL)
            return hs_err_set(HS_ERR_INVAL, "stream id: NULL key or value");
        if (ps->n == HS_SID_MAX_PAIRS)
            return hs__sid_err(ps, "more than %d meta-data pairs", HS_SID_MAX_PAIRS);
        hs__span key = {pairs[i].key, strlen(pairs[i].key)};
        hs__span value = {pairs[i].value, strlen(pairs[i].value)};
        rc = hs__sid_check(ps, "key", key.p, key.len, false);
        if (rc == HS_OK)
            rc = hs__sid_check(ps, "value", value.p, value.len, false);
        if (rc != HS_OK)
            return rc;
        ps->pairs[ps->n].key = key;
        ps->pairs[ps->n].value = value;
        ps->n++;
    }
    return HS_OK;
}

int hs_streamid_create(hs_streamid **out, const char *name, const hs_meta_pair *pairs, size_t n)
{
    if (out == NULL || name == NULL || (pairs == NULL && n > 0))
        return hs_err_set(HS_ERR_INVAL, "stream id: NULL argument");
    hs__sid_parts ps;
    size_t canon_len;
    int rc = hs__sid_from_pairs(name, pairs, n, &ps);
    if (rc == HS_OK)
        rc = hs__sid_finish(&ps, &canon_len);
    if (rc == HS_OK)
        rc = hs__sid_build(&ps, canon_len, out);
    return rc;
}

int hs_streamid_clone(const hs_streamid *sid, hs_streamid **out)
{
    if (sid == NULL || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "stream id: NULL argument");
    return hs_streamid_create(out, sid->name, sid->meta, sid->n_meta);
}

const char *hs_streamid_get(const hs_streamid *sid, const char *key)
{
    if (sid == NULL || key == NULL)
        return NULL;
    for (size_t i = 0; i < sid->n_meta; i++) {
        if (strcmp(sid->meta[i].key, key) == 0)
            return sid->meta[i].value;
    }
    return NULL;
}

int hs_streamid_with(const hs_streamid *sid, const char *key, const char *value, hs_streamid **out)
{
    if (sid == NULL || key == NULL || value == NULL || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "stream id: NULL argument");
    hs_meta_pair pairs[HS_SID_MAX_PAIRS + 1];
    size_t n = 0;
    bool replaced = false;
    for (size_t i = 0; i < sid->n_meta; i++) {
        pairs[n] = sid->meta[i];
        if (strcmp(pairs[n].key, key) == 0) {
            pairs[n].value = (char *)value;
            replaced = true;
        }
        n++;
    }
    if (!replaced) {
        pairs[n].key = (char *)key;
        pairs[n].value = (char *)value;
        n++;
    }
    return hs_streamid_create(out, sid->name, pairs, n);
}

int hs_streamid_without(const hs_streamid *sid, const char *key, hs_streamid **out)
{
    if (sid == NULL || key == NULL || out == NULL)
        return hs_err_set(HS_ERR_INVAL, "stream id: NULL argument");
    hs_meta_pair pairs[HS_SID_MAX_PAIRS];
    size_t n = 0;
    for (size_t i = 0; i < sid->n_meta; i++) {
        if (strcmp(sid->meta[i].key, key) != 0)
            pairs[n++] = sid->meta[i];
    }
    if (n == sid->n_meta) {
        char k[HS__SID_SHOW_PART * 4 + 8];
        char id[HS__SID_SHOW_ID * 4 + 8];
        hs_utf8_show(k, sizeof k, key, strlen(key), HS__SID_SHOW_PART, "\\'");
        hs_utf8_show(id, sizeof id, sid->canon, strlen(sid->canon), HS__SID_SHOW_ID, "\\'");
        return hs_err_set(HS_ERR_NOTFOUND, "stream id '%s' has no key '%s'", id, k);
    }
    return hs_streamid_create(out, sid->name, pairs, n);
}

int hs_streamid_check_part(const char *s, size_t len, const char *what)
{
    if (s == NULL && len > 0)
        return hs_err_set(HS_ERR_INVAL, "stream id: NULL argument");
    if (what == NULL)
        what = "part";
    char why[96];
    if (hs__sid_part_problem(s, len, strcmp(what, "name") == 0, why, sizeof why) == HS_OK)
        return HS_OK;
    if (len == 0)
        return hs_err_set(HS_ERR_PARSE, "%s %s", what, why);
    char part[HS__SID_SHOW_PART * 4 + 8];
    hs_utf8_show(part, sizeof part, s, len, HS__SID_SHOW_PART, "\\'");
    return hs_err_set(HS_ERR_PARSE, "%s '%s' %s", what, part, why);
}

int hs_streamid_cmp(const hs_streamid *a, const hs_streamid *b)
{
    return strcmp(a->canon, b->canon);
}

void hs_streamid_destroy(hs_streamid *sid)
{
    /* The strings and the pair array live in the same allocation. */
    hs_free(sid);
}
