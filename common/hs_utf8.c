/* UTF-8 validation (see hs_utf8.h). */
#include "hs_utf8.h"

#include <stdio.h>
#include <string.h>

size_t hs_utf8_decode(const void *p, size_t avail, uint32_t *cp)
{
    const uint8_t *s = p;
    if (avail == 0)
        return 0;
    uint8_t c = s[0];
    if (c < 0x80) {
        if (cp != NULL)
            *cp = c;
        return 1;
    }
    /* The allowed range of the second byte narrows after E0, ED, F0 and F4. */
    uint8_t lo = 0x80, hi = 0xbf;
    size_t n;
    uint32_t v;
    if (c < 0xc2) {
        return 0; /* a continuation byte, or the lead of an overlong two-byte form */
    } else if (c < 0xe0) {
        n = 2;
        v = c & 0x1fu;
    } else if (c < 0xf0) {
        n = 3;
        v = c & 0x0fu;
        if (c == 0xe0)
            lo = 0xa0; /* below: overlong */
        else if (c == 0xed)
            hi = 0x9f; /* above: surrogates */
    } else if (c < 0xf5) {
        n = 4;
        v = c & 0x07u;
        if (c == 0xf0)
            lo = 0x90; /* below: overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above: beyond U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    v = (v << 6) | (s[1] & 0x3fu);
    for (size_t i = 2; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3fu);
    }
    if (cp != NULL)
        *cp = v;
    return n;
}

size_t hs_utf8_check(const void *s, size_t len)
{
    const uint8_t *p = s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = hs_utf8_decode(p + i, len - i, NULL);
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}

bool hs_utf8_valid(const void *s, size_t len)
{
    return hs_utf8_check(s, len) == len;
}

/* Whether the backslash at src[i] starts an escape: it is preceded by an even run of them. */
static bool hs__utf8_escapes(const char *src, size_t i)
{
    size_t run = 0;
    while (run < i && src[i - 1 - run] == '\\')
        run++;
    return run % 2 == 0;
}

/*
 * A message may quote text escaped for JSON (\" \\ \n \u00e9): the length
 * of the first keep bytes of src, shortened so that it does not end inside
 * such an escape.
 */
static size_t hs__utf8_escape_start(const char *src, size_t keep)
{
    /* \uXXXX is the longest: its backslash is at most 5 bytes before the end. */
    for (size_t back = 1; back <= 6 && back <= keep; back++) {
        size_t i = keep - back;
        if (src[i] != '\\' || !hs__utf8_escapes(src, i))
            continue;
        size_t need = i + 1 < keep && src[i + 1] == 'u' ? 6 : 2;
        return back < need ? i : keep;
    }
    return keep;
}

bool hs_utf8_cut(char *dst, size_t size, const char *src)
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    size_t len = strlen(src);
    if (len < size) {
        memmove(dst, src, len + 1);
        return false;
    }
    /* Keep whole characters within size - 1 - 3 bytes; a malformed byte counts as one. */
    size_t room = size - 1 - (sizeof ellipsis - 1), keep = 0;
    while (keep < room) {
        size_t n = hs_utf8_decode(src + keep, len - keep, NULL);
        if (n == 0)
            n = 1;
        if (keep + n > room)
            break;
        keep += n;
    }
    keep = hs__utf8_escape_start(src, keep);
    memmove(dst, src, keep);
    memcpy(dst + keep, ellipsis, sizeof ellipsis);
    return true;
}

size_t hs_text_distance(const char *a, size_t na, const char *b, size_t nb, size_t limit)
{
    enum { MAXW = 64 };
    if (na > MAXW || nb > MAXW || (na > nb ? na - nb : nb - na) > limit)
        return limit + 1;
    size_t prev2[MAXW + 1], prev[MAXW + 1], row[MAXW + 1];
    for (size_t j = 0; j <= nb; j++)
        prev[j] = prev2[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t best = i;
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t v = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            row[j] = v;
            if (v < best)
                best = v;
        }
        if (best > limit)
            return limit + 1;
        memcpy(prev2, prev, (nb + 1) * sizeof prev[0]);
        memcpy(prev, row, (nb + 1) * sizeof row[0]);
    }
    return prev[nb];
}

void hs_utf8_show(char *out, size_t cap, const char *s, size_t len, size_t show, const char *also)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = len < show ? len : show;
    size_t o = 0, i = 0;
    while (i < n && o + 8 < cap) {
        uint32_t cp;
        size_t k = p[i] < 0x80 ? 1 : hs_utf8_decode(p + i, len - i, &cp);
        if (k == 1 && p[i] >= 0x20 && p[i] < 0x7f && strchr(also, p[i]) == NULL) {
            out[o++] = (char)p[i++];
        } else if (k > 1 && cp > 0x9f && i + k <= n && o + k + 8 < cap) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else if (k > 1 && i + k > n) {
            break; /* do not cut a character at the end of what is shown */
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
            i++;
        }
    }
    if (i < len && o + 4 <= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}
