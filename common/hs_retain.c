#include "hs_retain.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_time.h"

#include <string.h>

void hs_retain_init(hs_retain *r)
{
    r->v = NULL;
    r->n = 0;
}

void hs_retain_free(hs_retain *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        hs_free(r->v[i].pattern);
    hs_free(r->v);
    hs_retain_init(r);
}

static bool hs__retain_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool hs_retain_pattern_valid(const char *p, size_t len)
{
    if (len == 0)
        return false;
    size_t level = 0; /* start of the current level */
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '/') {
            unsigned char c = (unsigned char)p[i];
            if (c < 0x20 || c == 0x7f)
                return false;
            continue;
        }
        size_t n = i - level;
        if (n == 0)
            return false;
        bool wild = memchr(p + level, '+', n) != NULL || memchr(p + level, '#', n) != NULL;
        if (wild && n != 1)
            return false;
        if (p[level] == '#' && i != len)
            return false;
        level = i + 1;
    }
    return true;
}

bool hs_retain_pattern_matches(const char *pattern, const char *id)
{
    const char *p = pattern, *t = id;
    for (;;) {
        if (p[0] == '#' && p[1] == '\0')
            return true;
        const char *pe = strchr(p, '/'), *te = strchr(t, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t tl = te ? (size_t)(te - t) : strlen(t);
        if (!(pl == 1 && p[0] == '+') && (pl != tl || memcmp(p, t, pl) != 0))
            return false;
        if (pe == NULL || te == NULL) {
            /* "a/#" matches "a" as MQTT does. */
            return pe == NULL ? te == NULL : strcmp(pe + 1, "#") == 0;
        }
        p = pe + 1;
        t = te + 1;
    }
}

bool hs_retain_match(const hs_retain *r, const char *id, int64_t *keep_us)
{
    for (size_t i = 0; i < r->n; i++) {
        if (hs_retain_pattern_matches(r->v[i].pattern, id)) {
            *keep_us = r->v[i].keep_us;
            return true;
        }
    }
    return false;
}

/* Parses one rule text[0, len) (trimmed, non-empty) into rule (pattern owned). */
static int hs__retain_rule(const char *text, size_t len, size_t no, hs_retain_rule *rule)
{
    size_t sp = len;
    while (sp > 0 && !hs__retain_blank(text[sp - 1]))
        sp--;
    if (sp == 0)
        return hs_err_set(HS_ERR_PARSE, "retention rule %zu: 'PATTERN DURATION' expected", no);
    int64_t keep = 0;
    int rc = hs_duration_parse(text + sp, len - sp, &keep);
    if (rc != HS_OK || keep <= 0)
        return hs_err_set(HS_ERR_PARSE, "retention rule %zu: '%.*s' is not a positive duration", no,
                          (int)(len - sp > 64 ? 64 : len - sp), text + sp);
    size_t pl = sp;
    while (pl > 0 && hs__retain_blank(text[pl - 1]))
        pl--;
    if (!hs_retain_pattern_valid(text, pl))
        return hs_err_set(HS_ERR_PARSE,
                          "retention rule %zu: '%.*s' is not a stream pattern (a stream id, '+' "
                          "for one whole level, '#' for the whole last one)",
                          no, (int)(pl > 64 ? 64 : pl), text);
    rule->pattern = hs_strndup(text, pl);
    if (rule->pattern == NULL)
        return HS_ERR_NOMEM;
    rule->keep_us = keep;
    return HS_OK;
}

int hs_retain_parse(const char *text, size_t len, hs_retain *out)
{
    hs_retain_free(out);
    hs_retain r;
    hs_retain_init(&r);
    size_t cap = 0, no = 0;
    int rc = HS_OK;
    for (size_t pos = 0; rc == HS_OK && pos <= len;) {
        /* An empty text may come without a buffer: nothing to search then. */
        const char *semi = pos < len ? memchr(text + pos, ';', len - pos) : NULL;
        size_t end = semi ? (size_t)(semi - text) : len;
        size_t a = pos, b = end;
        while (a < b && hs__retain_blank(text[a]))
            a++;
        while (b > a && hs__retain_blank(text[b - 1]))
            b--;
        no++;
        if (b > a) {
            if (r.n == HS_RETAIN_MAX_RULES)
                rc = hs_err_set(HS_ERR_PARSE, "retention: more than %d rules", HS_RETAIN_MAX_RULES);
            else if (hs_grow(&r.v, &cap, r.n + 1, sizeof *r.v, 8) != HS_OK)
                rc = HS_ERR_NOMEM;
            else if ((rc = hs__retain_rule(text + a, b - a, no, &r.v[r.n])) == HS_OK)
                r.n++;
        }
        pos = end + 1;
    }
    if (rc != HS_OK) {
        hs_retain_free(&r);
        return rc;
    }
    *out = r;
    return HS_OK;
}
