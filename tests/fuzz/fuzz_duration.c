/*
 * Fuzz target: durations and the times users type.
 * - The first 8 bytes, as an int64 of microseconds, must format to text of
 *   units d..us only that parses back to the same value (INT64_MIN too).
 * - The whole input, as a duration: what parses formats and parses back to
 *   the same value; a leading '+' changes nothing and a leading '-'
 *   negates (the sign applies to the whole, truncation is toward zero).
 * - The input after the first 8 bytes, as a user time with "now" taken
 *   from those bytes (mapped into the valid range): a result is always in
 *   range and agrees with the parser the text's form selects (ISO-8601,
 *   epoch seconds, "now", or now plus a signed duration).
 */
#include "hs_error.h"
#include "hs_time.h"

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

/* Longest input tried with a sign put in front. */
#define SIGNED_MAX 256

static void check_format(int64_t us)
{
    char buf[HS_DURATION_MAX];
    memset(buf, 'x', sizeof buf);
    size_t n = hs_duration_format(us, buf);
    check(n > 0 && n < HS_DURATION_MAX && buf[n] == '\0' && strlen(buf) == n);
    for (size_t i = 0; i < n; i++)
        check((buf[i] >= '0' && buf[i] <= '9') || strchr("dhmsu", buf[i]) != NULL ||
              (i == 0 && buf[i] == '-'));
    int64_t back = 0;
    check(hs_duration_parse(buf, n, &back) == HS_OK && back == us);
    /* The format is canonical: formatting the value read back gives the same text. */
    char again[HS_DURATION_MAX];
    check(hs_duration_format(back, again) == n && memcmp(buf, again, n) == 0);
}

static void check_duration_text(const char *s, size_t len)
{
    int64_t d = 0;
    int rc = hs_duration_parse(s, len, &d);
    check(rc == HS_OK || rc == HS_ERR_PARSE || rc == HS_ERR_RANGE);
    if (rc == HS_OK)
        check_format(d);
    if (len == 0 || len > SIGNED_MAX || s[0] == '+' || s[0] == '-')
        return;
    char buf[SIGNED_MAX + 1];
    memcpy(buf + 1, s, len);
    int64_t pd = 0, nd = 0;
    buf[0] = '+';
    int prc = hs_duration_parse(buf, len + 1, &pd);
    buf[0] = '-';
    int nrc = hs_duration_parse(buf, len + 1, &nd);
    check(prc == rc && (rc != HS_OK || pd == d));
    if (rc == HS_OK) {
        check(nrc == HS_OK && nd == -d);
    } else if (rc == HS_ERR_RANGE) {
        /* Only the magnitude of INT64_MIN fits with a minus and not without. */
        check(nrc == HS_ERR_RANGE || (nrc == HS_OK && nd == INT64_MIN));
    } else {
        check(nrc == HS_ERR_PARSE);
    }
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Text that hs_time_parse_user reads as epoch seconds: signed digits, '.', exponents. */
static bool numeric(const char *s, size_t len)
{
    size_t p = (len > 0 && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
    if (p == len)
        return false;
    for (; p < len; p++)
        if (!is_digit(s[p]) && strchr(".eE+-", s[p]) == NULL)
            return false;
    return true;
}

static void check_user_time(const char *s, size_t len, int64_t now)
{
    int64_t t = 0;
    int rc = hs_time_parse_user(s, len, now, &t);
    check(rc == HS_OK || rc == HS_ERR_PARSE || rc == HS_ERR_RANGE);
    if (rc == HS_OK)
        check(t >= HS_TIME_MIN && t <= HS_TIME_MAX);

    int64_t u = 0;
    if (len == 3 && memcmp(s, "now", 3) == 0) {
        check(rc == HS_OK && t == now);
    } else if (len >= 5 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
               s[4] == '-') {
        int irc = hs_time_parse_iso(s, len, &u);
        check(irc == rc && (rc != HS_OK || u == t));
    } else if (numeric(s, len)) {
        int erc = hs_time_parse_epoch(s, len, &u);
        check(erc == rc && (rc != HS_OK || u == t));
    } else if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        int drc = hs_duration_parse(s, len, &u);
        if (drc != HS_OK) {
            check(rc == drc);
        } else {
            int64_t want;
            bool in = !__builtin_add_overflow(now, u, &want) && want >= HS_TIME_MIN &&
                      want <= HS_TIME_MAX;
            check(in ? (rc == HS_OK && t == want) : rc == HS_ERR_RANGE);
        }
    } else {
        /* Unsigned durations are ambiguous; anything else is garbage. */
        check(rc == HS_ERR_PARSE);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t now = 1461873600LL * HS_US_PER_S;
    if (size >= 8) {
        uint64_t raw = 0;
        memcpy(&raw, data, 8);
        check_format((int64_t)raw);
        /* Instants of the valid range as they are, others folded into it. */
        uint64_t span = (uint64_t)HS_TIME_MAX - (uint64_t)HS_TIME_MIN + 1;
        now = (int64_t)raw;
        if (now < HS_TIME_MIN || now > HS_TIME_MAX)
            now = (int64_t)((uint64_t)HS_TIME_MIN + raw % span);
    }
    check_duration_text((const char *)data, size);
    if (size >= 8)
        check_user_time((const char *)data + 8, size - 8, now);
    else
        check_user_time((const char *)data, size, now);
    return 0;
}
