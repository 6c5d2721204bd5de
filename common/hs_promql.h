/*
 * The Prometheus query API's side of hs-api (docs/HTTP.md §3): the selectors
 * it accepts, its time and duration parameters, and the text of values and
 * timestamps in its JSON replies. Pure functions: no HTTP and no store.
 *
 * A stream is a series: the stream name is the metric name (the label
 * __name__) and the meta-data pairs are the labels, so
 * "temp/house=1/room=k" is temp{house="1",room="k"}.
 *
 * Queries are a small part of PromQL:
 *   - instant-vector selectors: name, name{}, name{l="v", l!="v", l=~"re",
 *     l!~"re"}, {__name__="power.w", house="1"}; a trailing comma and
 *     whitespace (and # comments) between tokens are allowed. Metric names
 *     are [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*. As in
 *     Prometheus 3, inside the braces a name may also be quoted, for names
 *     that are not identifiers: {"power.w", "room.id"="3"} (a quoted string
 *     alone is the metric name). Keywords such as sum or offset are metric
 *     names when used alone, as Prometheus reads them.
 *   - strings in double or single quotes with Go's escapes (\a \b \f \n \r
 *     \t \v \\, the enclosing quote, \xHH, \ooo octal, \uHHHH, \UHHHHHHHH)
 *     or in backticks, raw; every string must be valid UTF-8 without NUL,
 *     also after unescaping.
 *   - regexes (=~, !~) match the whole value, as Prometheus anchors them,
 *     but their syntax is POSIX extended (regcomp with REG_EXTENDED, as the C
 *     library reads it, bytewise in the C locale), not RE2: write [0-9]
 *     rather than \d; there are no (?i) flags nor lazy quantifiers.
 *     Back-references, letter escapes glibc does not know (\d), a
 *     repetition right after another ("a+*", RE2's lazy "a*?"), nesting
 *     deeper than 100 groups, repetition counts over 1000 (also multiplied
 *     through nesting), and regexes that would expand to more than 100000
 *     elements over a query (a repeated part counted once per copy) are
 *     refused, so that regcomp stays small and fast.
 *   - number literals as PromQL reads them (1, -2.5, 1e3, .5, 0x1f, 010 is
 *     octal 8, 1_000, Inf and NaN in any case) and + - * / between them, with
 *     the usual precedence and unary signs, so 1+1 is the scalar 2.
 * A selector needs at least one matcher that does not match the empty
 * string, as Prometheus requires. Anything else (functions, aggregations,
 * ranges, offsets, @, other operators, parentheses, string literals) is
 * refused with a detail naming what was found.
 */
#ifndef HS_PROMQL_H
#define HS_PROMQL_H

#include "hs_buf.h"
#include "hs_streamid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The label that holds the metric name (the stream name). */
#define HS_PM_NAME_LABEL "__name__"

/* Longest query hs_pm_parse reads, in bytes, and most matchers in one selector. */
#define HS_PM_MAX_QUERY    65536
#define HS_PM_MAX_MATCHERS 256

typedef enum hs_pm_op {
    HS_PM_EQ,  /* =  */
    HS_PM_NE,  /* != */
    HS_PM_RE,  /* =~ */
    HS_PM_NRE, /* !~ */
} hs_pm_op;

struct hs_pm_regex;

typedef struct hs_pm_matcher {
    char *name;             /* owned: label name, HS_PM_NAME_LABEL for the metric name */
    char *value;            /* owned: the unescaped value, or the regex text */
    hs_pm_op op;            /* how value is compared */
    struct hs_pm_regex *re; /* owned, private: the compiled regex for RE and NRE, else NULL */
} hs_pm_matcher;

typedef struct hs_pm_query {
    bool is_number;   /* the query is a number (literals and arithmetic): see number */
    double number;    /* its value when is_number */
    hs_pm_matcher *m; /* owned array of n matchers when !is_number (n >= 1), else NULL */
    size_t n;
} hs_pm_query;

/*
 * Parses the query q of len bytes (no NUL needed) into *out, which the
 * caller releases with hs_pm_query_free. A bare metric name becomes the
 * first matcher, __name__="name". Returns HS_ERR_PARSE with a detail
 * naming the offset and what was found (for what is valid PromQL but not
 * supported here, the detail says that only plain selectors and number
 * literals are), HS_ERR_INVAL for NULL arguments, HS_ERR_NOMEM. On failure
 * *out is an empty query (freeing it is allowed and does nothing).
 */
int hs_pm_parse(const char *q, size_t len, hs_pm_query *out);

/* Releases what q owns and empties it; NULL is allowed. */
void hs_pm_query_free(hs_pm_query *q);

/*
 * Whether the series with metric name `name` and the n labels keys[i] =
 * values[i] matches every matcher of q. A label the series does not have
 * reads as "" (so l!="x" matches it and l="" selects series without l); a
 * key "__name__" among the labels is ignored, the name stands for it. A
 * number query matches nothing.
 */
bool hs_pm_match(const hs_pm_query *q, const char *name, const char *const *keys,
                 const char *const *values, size_t n);

/*
 * hs_pm_match for a stream id (hs_streamid_parse splits the canonical text
 * into the name and the pairs this reads).
 */
bool hs_pm_match_sid(const hs_pm_query *q, const hs_streamid *sid);

/*
 * The metric name q requires by equality (a bare name or __name__="x"), or
 * NULL when it requires none: the caller may then list only that name's
 * streams, and must still call hs_pm_match on each. Borrowed from q.
 */
const char *hs_pm_name(const hs_pm_query *q);

/*
 * Appends the label set of a stream as a Prometheus JSON object:
 * {"__name__":"temp","house":"1","room":"k"}, __name__ first, then the
 * pairs in the id's order (sorted by key, bytewise), strings escaped as
 * JSON (hs_json_put_string). A meta-data key "__name__" is left out (the
 * name stands for it). Returns HS_OK or the buffer's error.
 */
int hs_pm_labels_json(const hs_streamid *sid, hs_buf *out);

/*
 * Parses a time parameter as the Prometheus API takes it (NUL-terminated):
 * RFC 3339 with seconds and a zone ("2026-01-01T00:00:00Z",
 * "2026-01-01T00:00:00.123Z", "2026-01-01T02:00:00+02:00"), or Unix
 * seconds as a decimal number ("1700000000", "1700000000.5", "1.7e9").
 * Prometheus's own open bounds "-292273086-05-16T16:47:06Z" and
 * "292277025-08-18T07:12:54.999999999Z" read as the earliest and latest
 * instants HyperStream stores. The result is in whole milliseconds, the
 * resolution Prometheus evaluates at: seconds are read exactly as decimals
 * and rounded to the millisecond (half away from zero), RFC 3339 fractions
 * truncated. Returns HS_ERR_PARSE ("cannot parse \"x\" to a valid
 * timestamp: ...") or HS_ERR_RANGE (outside years 1 to 9999), HS_ERR_INVAL
 * for NULL arguments; *t_us is written only on success.
 */
int hs_pm_time_parse(const char *s, int64_t *t_us);

/*
 * Parses a duration parameter (step, timeout) as the Prometheus API takes
 * it (NUL-terminated): Prometheus units, each at most once and in this
 * order, y (365 d), w, d, h, m, s, ms, with integer counts ("15s",
 * "1m30s", "500ms", "1d", "1w", "1y"), or seconds as a decimal number
 * ("15", "0.5", "1e3"). The result is truncated to whole milliseconds and
 * must be positive. Returns HS_ERR_PARSE ("cannot parse \"x\" to a valid
 * duration"), HS_ERR_RANGE (zero, negative, or longer than HS_TIME_MAX, some
 * 8000 years, in either form), HS_ERR_INVAL for NULL arguments; *us is
 * written only on success.
 */
int hs_pm_duration_parse(const char *s, int64_t *us);

/*
 * Appends the text Prometheus puts in the JSON string of a sample value:
 * the shortest digits that read back to v, in plain notation ("0.1",
 * "1000000", "123456789.125", "-0") when 1e-6 <= |v| < 1e21 or v is 0,
 * otherwise in exponent notation with at least two exponent digits
 * ("1e+21", "1e-07"); "NaN", "+Inf", "-Inf". No quotes are written.
 * Returns HS_OK or the buffer's error.
 */
int hs_pm_fmt_value(double v, hs_buf *out);

/*
 * Appends a sample timestamp as Prometheus writes it: a JSON number of
 * seconds with millisecond precision, t_us rounded down to the millisecond
 * ("1700000000", "1700000000.123", "1700000000.100", "-1.500"): three
 * fraction digits when the millisecond part is not zero, none otherwise.
 * Returns HS_OK or the buffer's error.
 */
int hs_pm_fmt_time(int64_t t_us, hs_buf *out);

#endif
