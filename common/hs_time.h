/*
 * Time: instants are int64 microseconds since the Unix epoch, UTC; durations
 * are int64 microseconds. Text forms are ISO-8601 (always UTC on output) and
 * relative durations such as "-60s", "1h30m", "2d", "500ms".
 */
#ifndef HS_TIME_H
#define HS_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HS_US_PER_MS  1000LL
#define HS_US_PER_S   1000000LL
#define HS_US_PER_MIN (60LL * HS_US_PER_S)
#define HS_US_PER_H   (60LL * HS_US_PER_MIN)
#define HS_US_PER_DAY (24LL * HS_US_PER_H)

/* 0001-01-01T00:00:00Z, HyperStream's MIN_DATE. */
#define HS_TIME_MIN (-62135596800LL * HS_US_PER_S)
/* 9999-12-31T23:59:59.999999Z. */
#define HS_TIME_MAX (253402300799LL * HS_US_PER_S + 999999LL)

/* Longest text hs_time_format_iso writes, NUL included. */
#define HS_TIME_ISO_MAX 32
/* Longest text hs_duration_format writes, NUL included. */
#define HS_DURATION_MAX 48

/* The current wall-clock time (CLOCK_REALTIME) in microseconds. */
int64_t hs_time_now_us(void);

/* A monotonic clock (CLOCK_MONOTONIC) in microseconds, for measuring. */
int64_t hs_time_mono_us(void);

/*
 * The wall-clock (CLOCK_REALTIME) time us microseconds from now (us >= 0):
 * the absolute deadline pthread_cond_timedwait takes.
 */
struct timespec hs_time_deadline_after(int64_t us);

/*
 * Parses an ISO-8601 instant of exactly len bytes (no NUL needed):
 *   YYYY-MM-DD
 *   YYYY-MM-DDTHH:MM[:SS[.fraction]][Z|+HH:MM|-HH:MM|+HHMM]
 * A space or 't' may replace the 'T' and 'z' the 'Z'; a missing zone means
 * UTC. Up to 9 fraction digits are accepted (fraction only after seconds);
 * digits past the sixth are truncated. Every field is range-checked (month
 * 1-12, day within the month with leap years, hour 0-23, minute 0-59, second
 * 0-59, offset up to 23:59; leap seconds and "24:00" are rejected). The
 * calendar is the proleptic Gregorian one and does not depend on the process
 * time zone. Returns HS_OK, or HS_ERR_PARSE (with a detail naming the
 * offending part) for anything else, HS_ERR_RANGE when the instant, after
 * applying the offset, is outside [HS_TIME_MIN, HS_TIME_MAX]. *out_us is
 * written only on success.
 */
int hs_time_parse_iso(const char *s, size_t len, int64_t *out_us);

/*
 * Parses decimal epoch seconds ("1461873600", "-12.5", "1461873600.123456")
 * exactly to the microsecond: the text is read as a decimal, never through a
 * double, also when it has an exponent ("1.4618736e9", "5E-1"). Digits below
 * the microsecond are truncated toward zero ("-0.0000019" is -1 us). Grammar:
 * [+-] digits [. digits] [(e|E) [+-] digits], with at least one mantissa
 * digit. HS_ERR_PARSE or HS_ERR_RANGE as above.
 */
int hs_time_parse_epoch(const char *s, size_t len, int64_t *out_us);

/*
 * Formats t_us as "2016-04-28T20:00:00Z", or with six fraction digits
 * ("2016-04-28T20:00:00.000123Z") when t_us is not a whole second. Instants
 * outside [HS_TIME_MIN, HS_TIME_MAX] are clamped. Returns the length written
 * (excluding the NUL).
 */
size_t hs_time_format_iso(int64_t t_us, char buf[HS_TIME_ISO_MAX]);

/*
 * Parses a duration of len bytes: an optional sign, then one or more
 * <number><unit> parts with units d, h, m, s, ms, us (e.g. "-1h30m",
 * "2d", "1.5s", "250ms"); the sign applies to the whole. Units must appear
 * in decreasing size, each at most once ("30m1h" is rejected). A number may
 * have a fraction ("1.5h" is 90 minutes); parts below a microsecond are
 * truncated toward zero. A bare number, alone, means seconds ("60", "-0.5").
 * Returns HS_ERR_PARSE on garbage (empty, unknown unit, repeated sign, a
 * number without unit after a part), HS_ERR_RANGE on int64 overflow.
 */
int hs_duration_parse(const char *s, size_t len, int64_t *out_us);

/*
 * Formats a duration in the largest units that represent it exactly, each
 * non-zero unit once from d down to us, e.g. "1h30m", "-1m" (for -60 s),
 * "500ms", "1s250ms", "1d1s", "0s". hs_duration_parse reads the text back
 * to the same value (INT64_MIN included). Returns the length written.
 */
size_t hs_duration_format(int64_t us, char buf[HS_DURATION_MAX]);

/*
 * Parses a time as users type it on a command line: an ISO-8601 instant
 * (text starting "YYYY-"), "now", or a signed duration with a unit relative
 * to now_us ("-1h", "+30s", "-1h30m"). Bare numbers, signed or not, are
 * epoch seconds ("-60" is 1969-12-31T23:59:00Z; write "-60s" for a minute
 * ago); a duration without a sign ("30s") is rejected as ambiguous.
 * HS_ERR_PARSE / HS_ERR_RANGE as above (also when now_us plus the duration
 * leaves the range).
 */
int hs_time_parse_user(const char *s, size_t len, int64_t now_us, int64_t *out_us);

#endif
