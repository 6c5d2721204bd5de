/*
 * Time: parsing and formatting of instants (int64 microseconds since the
 * Unix epoch, UTC) and durations. Calendar arithmetic is done here on the
 * proleptic Gregorian calendar, so nothing depends on the process time zone
 * or on timegm/mktime. Every text is given with its length and need not be
 * NUL-terminated; a NUL inside the text is an ordinary bad character.
 */
#include "hs_time.h"

#include "hs_error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t hs_time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * HS_US_PER_S + ts.tv_nsec / 1000;
}

int64_t hs_time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * HS_US_PER_S + ts.tv_nsec / 1000;
}

/* ---- Calendar ---------------------------------------------------------- */

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/*
 * Days from 1970-01-01 to y-m-d. The year is shifted to start in March, so
 * that the leap day is the last day of its year, and counted in 400-year
 * cycles of 146097 days; day-of-year from March uses the fact that month
 * lengths from March repeat in a 153-day pattern of five months.
 */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t cycle = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_cycle = y - cycle * 400;                               /* 0..399 */
    int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
    int64_t day_of_cycle =
        year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;
    return cycle * 146097 + day_of_cycle - 719468; /* 719468: 0000-03-01 to 1970-01-01 */
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t cycle = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_cycle = days - cycle * 146097; /* 0..146096 */
    int64_t year_of_cycle =
        (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36524 - day_of_cycle / 146096) / 365;
    int64_t day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    int64_t mp = (5 * day_of_year + 2) / 153; /* month from March, 0..11 */
    *d = (int)(day_of_year - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = year_of_cycle + cycle * 400 + (*m <= 2);
}

/* ---- Error details ----------------------------------------------------- */

/*
 * Copies at most 40 bytes of s into out for an error message, with bytes
 * that are not printable ASCII shown as '?' and "..." marking a cut.
 */
static const char *excerpt(const char *s, size_t len, char out[48])
{
    size_t n = len > 40 ? 40 : len;
    for (size_t i = 0; i < n; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (len > n) {
        memcpy(out + n, "...", 4);
        return out;
    }
    out[n] = '\0';
    return out;
}

/* Records "<what> '<excerpt of s>': <reason>" for err and returns err. */
static int fail(int err, const char *what, const char *s, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(int err, const char *what, const char *s, size_t len, const char *fmt, ...)
{
    char reason[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    char ex[48];
    return hs_err_set(err, "%s '%s': %s", what, s != NULL ? excerpt(s, len, ex) : "", reason);
}

/* Describes the byte at s[p] (or the end) for "unexpected ..." messages. */
static const char *describe_at(const char *s, size_t len, size_t p, char out[16])
{
    if (p >= len)
        snprintf(out, 16, "end");
    else if (s[p] >= 0x20 && s[p] < 0x7f)
        snprintf(out, 16, "'%c'", s[p]);
    else
        snprintf(out, 16, "byte 0x%02x", (unsigned)(unsigned char)s[p]);
    return out;
}

/* ---- ISO-8601 ---------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly n digits at *p into *out; false when they are not there. */
static bool take_digits(const char *s, size_t len, size_t *p, size_t n, int *out)
{
    if (len - *p < n)
        return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[*p + i];
        if (!is_digit(c))
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool take_char(const char *s, size_t len, size_t *p, char c)
{
    if (*p < len && s[*p] == c) {
        (*p)++;
        return true;
    }
    return false;
}

#define ISO "ISO-8601 time"

int hs_time_parse_iso(const char *s, size_t len, int64_t *out_us)
{
    if ((s == NULL && len > 0) || out_us == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_time_parse_iso: NULL argument");
    if (len == 0)
        return fail(HS_ERR_PARSE, ISO, s, len, "empty text");

    size_t p = 0;
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    int64_t frac_us = 0, offset_s = 0;
    char at[16];

    if (!take_digits(s, len, &p, 4, &year))
        return fail(HS_ERR_PARSE, ISO, s, len, "the year needs 4 digits (YYYY-MM-DD)");
    if (!take_char(s, len, &p, '-'))
        return fail(HS_ERR_PARSE, ISO, s, len, "expected '-' after the year, found %s",
                    describe_at(s, len, p, at));
    if (!take_digits(s, len, &p, 2, &month))
        return fail(HS_ERR_PARSE, ISO, s, len, "the month needs 2 digits");
    if (!take_char(s, len, &p, '-'))
        return fail(HS_ERR_PARSE, ISO, s, len, "expected '-' after the month, found %s",
                    describe_at(s, len, p, at));
    if (!take_digits(s, len, &p, 2, &day))
        return fail(HS_ERR_PARSE, ISO, s, len, "the day needs 2 digits");
    if (month < 1 || month > 12)
        return fail(HS_ERR_PARSE, ISO, s, len, "month %02d is not in 01-12", month);
    if (day < 1 || day > days_in_month(year, month))
        return fail(HS_ERR_PARSE, ISO, s, len, "day %02d is not in 01-%02d for %04d-%02d", day,
                    days_in_month(year, month), year, month);

    if (p < len) {
        if (s[p] != 'T' && s[p] != 't' && s[p] != ' ')
            return fail(HS_ERR_PARSE, ISO, s, len,
                        "expected 'T' or the end after the date, found %s",
                        describe_at(s, len, p, at));
        p++;
        if (!take_digits(s, len, &p, 2, &hour))
            return fail(HS_ERR_PARSE, ISO, s, len, "the hour needs 2 digits");
        if (hour > 23)
            return fail(HS_ERR_PARSE, ISO, s, len, "hour %02d is not in 00-23", hour);
        if (!take_char(s, len, &p, ':'))
            return fail(HS_ERR_PARSE, ISO, s, len, "expected ':' after the hour, found %s",
                        describe_at(s, len, p, at));
        if (!take_digits(s, len, &p, 2, &minute))
            return fail(HS_ERR_PARSE, ISO, s, len, "the minute needs 2 digits");
        if (minute > 59)
            return fail(HS_ERR_PARSE, ISO, s, len, "minute %02d is not in 00-59", minute);
        if (take_char(s, len, &p, ':')) {
            if (!take_digits(s, len, &p, 2, &second))
                return fail(HS_ERR_PARSE, ISO, s, len, "the second needs 2 digits");
            if (second > 59)
                return fail(HS_ERR_PARSE, ISO, s, len,
                            "second %02d is not in 00-59 (leap seconds are not supported)", second);
            if (take_char(s, len, &p, '.')) {
                size_t n = 0;
                int64_t scale = 100000;
                while (p < len && is_digit(s[p])) {
                    if (++n > 9)
                        return fail(HS_ERR_PARSE, ISO, s, len, "more than 9 fraction digits");
                    /* Digits past the sixth are truncated. */
                    frac_us += (s[p] - '0') * scale;
                    scale /= 10;
                    p++;
                }
                if (n == 0)
                    return fail(HS_ERR_PARSE, ISO, s, len, "no fraction digits after '.'");
            }
        }
        if (take_char(s, len, &p, 'Z') || take_char(s, len, &p, 'z')) {
            /* UTC. */
        } else if (p < len && (s[p] == '+' || s[p] == '-')) {
            int sign = s[p] == '-' ? -1 : 1;
            int oh, om;
            p++;
            if (!take_digits(s, len, &p, 2, &oh))
                return fail(HS_ERR_PARSE, ISO, s, len, "the zone offset needs 2 hour digits");
            take_char(s, len, &p, ':');
            if (!take_digits(s, len, &p, 2, &om))
                return fail(HS_ERR_PARSE, ISO, s, len,
                            "the zone offset needs 2 minute digits (+HH:MM or +HHMM)");
            if (oh > 23 || om > 59)
                return fail(HS_ERR_PARSE, ISO, s, len, "zone offset %02d:%02d is out of range", oh,
                            om);
            offset_s = sign * (oh * 3600LL + om * 60LL);
        }
    }
    if (p != len)
        return fail(HS_ERR_PARSE, ISO, s, len, "unexpected %s at offset %zu",
                    describe_at(s, len, p, at), p);

    /* A 4-digit year and an offset under a day cannot overflow int64. */
    int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600LL + minute * 60LL +
                   second - offset_s;
    int64_t us = secs * HS_US_PER_S + frac_us;
    if (us < HS_TIME_MIN || us > HS_TIME_MAX)
        return fail(HS_ERR_RANGE, ISO, s, len,
                    "outside 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z");
    *out_us = us;
    return HS_OK;
}

/* Writes v as exactly n decimal digits ending at p[n-1]. */
static void put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

size_t hs_time_format_iso(int64_t t_us, char buf[HS_TIME_ISO_MAX])
{
    if (t_us < HS_TIME_MIN)
        t_us = HS_TIME_MIN;
    if (t_us > HS_TIME_MAX)
        t_us = HS_TIME_MAX;
    /* Floor division, so that instants before 1970 land in the right day. */
    int64_t days = t_us / HS_US_PER_DAY;
    int64_t rem = t_us % HS_US_PER_DAY;
    if (rem < 0) {
        rem += HS_US_PER_DAY;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t secs = rem / HS_US_PER_S, frac = rem % HS_US_PER_S;

    /* "YYYY-MM-DDTHH:MM:SS" then ".ffffff" and "Z". */
    put_digits(buf, y, 4);
    buf[4] = '-';
    put_digits(buf + 5, m, 2);
    buf[7] = '-';
    put_digits(buf + 8, d, 2);
    buf[10] = 'T';
    put_digits(buf + 11, secs / 3600, 2);
    buf[13] = ':';
    put_digits(buf + 14, secs / 60 % 60, 2);
    buf[16] = ':';
    put_digits(buf + 17, secs % 60, 2);
    size_t n = 19;
    if (frac != 0) {
        buf[n++] = '.';
        put_digits(buf + n, frac, 6);
        n += 6;
    }
    buf[n++] = 'Z';
    buf[n] = '\0';
    return n;
}

/* ---- Epoch seconds ----------------------------------------------------- */

#define EPOCH "epoch seconds"

int hs_time_parse_epoch(const char *s, size_t len, int64_t *out_us)
{
    if ((s == NULL && len > 0) || out_us == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_time_parse_epoch: NULL argument");
    if (len == 0)
        return fail(HS_ERR_PARSE, EPOCH, s, len, "empty text");

    size_t p = 0;
    bool neg = false;
    if (s[p] == '+' || s[p] == '-')
        neg = s[p++] == '-';
    size_t int_start = p;
    while (p < len && is_digit(s[p]))
        p++;
    size_t int_end = p, frac_start = p, frac_end = p;
    if (p < len && s[p] == '.') {
        frac_start = ++p;
        while (p < len && is_digit(s[p]))
            p++;
        frac_end = p;
    }
    if (int_end == int_start && frac_end == frac_start)
        return fail(HS_ERR_PARSE, EPOCH, s, len, "expected a decimal number");
    int64_t exp10 = 0;
    if (p < len && (s[p] == 'e' || s[p] == 'E')) {
        p++;
        bool exp_neg = false;
        if (p < len && (s[p] == '+' || s[p] == '-'))
            exp_neg = s[p++] == '-';
        if (p == len || !is_digit(s[p]))
            return fail(HS_ERR_PARSE, EPOCH, s, len, "no digits in the exponent");
        while (p < len && is_digit(s[p])) {
            /* Past a million the answer is 0 or out of range either way. */
            if (exp10 < 1000000)
                exp10 = exp10 * 10 + (s[p] - '0');
            p++;
        }
        if (exp_neg)
            exp10 = -exp10;
    }
    if (p != len) {
        char at[16];
        return fail(HS_ERR_PARSE, EPOCH, s, len, "unexpected %s at offset %zu",
                    describe_at(s, len, p, at), p);
    }

    /*
     * The value is exact decimal: the mantissa digits (integer then fraction
     * digits) times 10^exp10 seconds. The first `whole` of them, counted
     * with the exponent and the 6 digits of microseconds, form the integer
     * number of microseconds; the rest are truncated toward zero.
     */
    size_t n_int = int_end - int_start, n_frac = frac_end - frac_start;
    int64_t whole = (int64_t)n_int + exp10 + 6;
    const uint64_t limit = (uint64_t)(neg ? -HS_TIME_MIN : HS_TIME_MAX);
    uint64_t mag = 0;
    bool too_big = false;
    int64_t k = 0;
    for (size_t i = 0; i < n_int + n_frac && k < whole && !too_big; i++, k++) {
        char c = i < n_int ? s[int_start + i] : s[frac_start + i - n_int];
        mag = mag * 10 + (uint64_t)(c - '0');
        too_big = mag > limit;
    }
    for (; k < whole && mag != 0 && !too_big; k++) {
        mag *= 10;
        too_big = mag > limit;
    }
    if (too_big)
        return fail(HS_ERR_RANGE, EPOCH, s, len,
                    "outside 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z");
    *out_us = neg ? -(int64_t)mag : (int64_t)mag;
    return HS_OK;
}

/* ---- Durations --------------------------------------------------------- */

#define DURATION "duration"

static const struct {
    const char *name;
    int64_t us;
} units[] = {
    {"d", HS_US_PER_DAY}, {"h", HS_US_PER_H},   {"m", HS_US_PER_MIN},
    {"s", HS_US_PER_S},   {"ms", HS_US_PER_MS}, {"us", 1},
};
#define N_UNITS     (sizeof units / sizeof units[0])
#define UNIT_SECOND 3

/*
 * floor(unit_us * 0.f1f2...fn) for the n decimal digits f, exactly. unit_us
 * is c * 10^e with a small c; the first e digits give an exact integer, and
 * c times the remaining fraction is computed by long multiplication from
 * the last digit, whose final carry is the integer part.
 */
static int64_t fraction_of_unit(const char *f, size_t n, int64_t unit_us)
{
    int64_t c = unit_us;
    size_t e = 0;
    while (c % 10 == 0) {
        c /= 10;
        e++;
    }
    int64_t head = 0;
    for (size_t i = 0; i < e; i++)
        head = head * 10 + (i < n ? f[i] - '0' : 0);
    int64_t carry = 0;
    for (size_t i = n; i > e; i--)
        carry = ((f[i - 1] - '0') * c + carry) / 10;
    return head * c + carry;
}

int hs_duration_parse(const char *s, size_t len, int64_t *out_us)
{
    if ((s == NULL && len > 0) || out_us == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_duration_parse: NULL argument");
    if (len == 0)
        return fail(HS_ERR_PARSE, DURATION, s, len, "empty text");

    size_t p = 0;
    bool neg = false;
    if (s[p] == '+' || s[p] == '-')
        neg = s[p++] == '-';
    if (p < len && (s[p] == '+' || s[p] == '-'))
        return fail(HS_ERR_PARSE, DURATION, s, len, "repeated sign");
    if (p == len)
        return fail(HS_ERR_PARSE, DURATION, s, len, "no number after the sign");

    uint64_t total = 0;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool too_large = false;
    size_t last_unit = N_UNITS; /* units must come in decreasing size */
    bool first = true;
    char at[16];
    while (p < len) {
        size_t int_start = p;
        while (p < len && is_digit(s[p]))
            p++;
        size_t int_end = p, frac_start = p, frac_end = p;
        if (p < len && s[p] == '.') {
            frac_start = ++p;
            while (p < len && is_digit(s[p]))
                p++;
            frac_end = p;
        }
        if (int_end == int_start && frac_end == frac_start)
            return fail(HS_ERR_PARSE, DURATION, s, len, "expected a number at offset %zu, found %s",
                        int_start, describe_at(s, len, int_start, at));

        size_t u;
        if (p == len && first) {
            u = UNIT_SECOND; /* a bare number is seconds */
        } else {
            size_t ulen = 0;
            while (p + ulen < len && s[p + ulen] >= 'a' && s[p + ulen] <= 'z')
                ulen++;
            for (u = 0; u < N_UNITS; u++)
                if (strlen(units[u].name) == ulen && memcmp(units[u].name, s + p, ulen) == 0)
                    break;
            if (ulen == 0)
                return fail(HS_ERR_PARSE, DURATION, s, len,
                            "expected a unit (d, h, m, s, ms, us) at offset %zu, found %s", p,
                            describe_at(s, len, p, at));
            if (u == N_UNITS)
                return fail(HS_ERR_PARSE, DURATION, s, len,
                            "unknown unit '%.*s' (use d, h, m, s, ms, us)", (int)ulen, s + p);
            p += ulen;
        }
        if (!first && u <= last_unit)
            return fail(HS_ERR_PARSE, DURATION, s, len,
                        "unit '%s' is repeated or follows a smaller unit", units[u].name);
        last_unit = u;
        first = false;

        /* Too large a value is reported once the whole text is known to be a duration. */
        uint64_t n = 0, part;
        for (size_t i = int_start; i < int_end && !too_large; i++)
            too_large = __builtin_mul_overflow(n, 10, &n) ||
                        __builtin_add_overflow(n, (uint64_t)(s[i] - '0'), &n);
        too_large = too_large || __builtin_mul_overflow(n, (uint64_t)units[u].us, &part) ||
                    __builtin_add_overflow(part,
                                           (uint64_t)fraction_of_unit(
                                               s + frac_start, frac_end - frac_start, units[u].us),
                                           &part) ||
                    __builtin_add_overflow(total, part, &total) || total > limit;
    }
    if (too_large)
        return fail(HS_ERR_RANGE, DURATION, s, len, "too large");
    /* The magnitude is at most 2^63 when negative, so INT64_MIN parses too. */
    *out_us = neg ? (int64_t)((uint64_t)0 - total) : (int64_t)total;
    return HS_OK;
}

size_t hs_duration_format(int64_t us, char buf[HS_DURATION_MAX])
{
    if (us == 0) {
        memcpy(buf, "0s", 3);
        return 2;
    }
    size_t n = 0;
    /* The magnitude as unsigned, so that INT64_MIN has one too. */
    uint64_t mag = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    if (us < 0)
        buf[n++] = '-';
    for (size_t u = 0; u < N_UNITS; u++) {
        uint64_t q = mag / (uint64_t)units[u].us;
        if (q == 0)
            continue;
        mag %= (uint64_t)units[u].us;
        char digits[24];
        int k = snprintf(digits, sizeof digits, "%llu", (unsigned long long)q);
        memcpy(buf + n, digits, (size_t)k);
        n += (size_t)k;
        size_t ulen = strlen(units[u].name);
        memcpy(buf + n, units[u].name, ulen);
        n += ulen;
    }
    buf[n] = '\0';
    return n;
}

/* ---- User input -------------------------------------------------------- */

/* Whether s starts like an ISO-8601 date ("YYYY-"). */
static bool looks_iso(const char *s, size_t len)
{
    return len >= 5 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
           s[4] == '-';
}

/* Whether s is a plain decimal number, optionally signed (no unit). */
static bool looks_numeric(const char *s, size_t len)
{
    size_t p = 0;
    if (p < len && (s[p] == '+' || s[p] == '-'))
        p++;
    if (p == len)
        return false;
    for (; p < len; p++)
        if (!is_digit(s[p]) && s[p] != '.' && s[p] != 'e' && s[p] != 'E' && s[p] != '+' &&
            s[p] != '-')
            return false;
    return true;
}

int hs_time_parse_user(const char *s, size_t len, int64_t now_us, int64_t *out_us)
{
    if ((s == NULL && len > 0) || out_us == NULL)
        return hs_err_set(HS_ERR_INVAL, "hs_time_parse_user: NULL argument");
    if (len == 0)
        return fail(HS_ERR_PARSE, "time", s, len, "empty text");
    if (len == 3 && memcmp(s, "now", 3) == 0) {
        *out_us = now_us;
        return HS_OK;
    }
    if (looks_iso(s, len))
        return hs_time_parse_iso(s, len, out_us);
    if (looks_numeric(s, len))
        return hs_time_parse_epoch(s, len, out_us);
    if (s[0] == '+' || s[0] == '-') {
        int64_t d, t;
        int rc = hs_duration_parse(s, len, &d);
        if (rc != HS_OK)
            return rc;
        if (__builtin_add_overflow(now_us, d, &t) || t < HS_TIME_MIN || t > HS_TIME_MAX)
            return fail(HS_ERR_RANGE, "time", s, len,
                        "now plus the duration is outside 0001-01-01T00:00:00Z .. "
                        "9999-12-31T23:59:59.999999Z");
        *out_us = t;
        return HS_OK;
    }
    int64_t d;
    if (hs_duration_parse(s, len, &d) == HS_OK)
        return fail(HS_ERR_PARSE, "time", s, len,
                    "a time relative to now needs a sign ('-%.*s' or '+%.*s')", (int)len, s,
                    (int)len, s);
    return fail(HS_ERR_PARSE, "time", s, len,
                "expected an ISO-8601 time, 'now', epoch seconds or a signed duration such as "
                "-1h");
}

struct timespec hs_time_deadline_after(int64_t us)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(us / HS_US_PER_S);
    ts.tv_nsec += (long)(us % HS_US_PER_S) * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}
