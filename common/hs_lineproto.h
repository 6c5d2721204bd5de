/*
 * The InfluxDB v2 line protocol, the body hs-api takes on
 * POST /api/v2/write (docs/HTTP.md §2). A body is lines ended by '\n' or
 * "\r\n"; each line is one point:
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * and each field of a point is one instance, on the stream
 * "measurement.field/tag=value/..." or, for a field named exactly "value",
 * "measurement/tag=value/...". In the measurement, field and tag texts,
 * the bytes a stream id cannot hold are written %HH: spaces and control
 * bytes, '/', '=', '+', '#', and '%' itself (so the mapping can be undone).
 * The id is canonical (pairs sorted by key, hs_streamid_canonical); an id
 * it still refuses (a part "..", a Unicode space) is an error of the line.
 *
 * What is accepted:
 *   - Lines that are empty or blank, and lines whose first non-blank byte is
 *     '#' (comments), are skipped. Spaces and tabs at the start and the end
 *     of a line are ignored; one or more spaces separate the measurement
 *     and tags, the fields and the timestamp. A '\n' always ends a line,
 *     also inside a string value.
 *   - Escapes: in the measurement "\," and "\ "; in tag keys, tag values and
 *     field keys "\,", "\=" and "\ ". A backslash and the byte after it are
 *     always read together: any other pair (say "\\" or "\n") is kept as
 *     both bytes, and the pair never separates ("a\\,b=1" is the tag key
 *     "a\\" then the tag "b=1"). A backslash that ends a line is kept.
 *   - Tags are optional; a tag key and a tag value may not be empty, a tag
 *     value may not hold an unescaped '=', a key may not appear twice, and
 *     a point has at most HS_SID_MAX_PAIRS tags (the pairs of a stream id).
 *   - At least one field; a field key may not be empty nor appear twice.
 *   - Field values, and the msgpack value each becomes (canonical, as
 *     hs_value_check wants it):
 *       float     [-](digits[.[digits]] | .digits)[(e|E)[+|-]digits]
 *                 ("1", "-1.5", "1e3", "1.5E-3"): float64; NaN, infinities
 *                 and numbers beyond the range of a double are errors
 *       integer   [-]digits "i" ("2i"): int64, range-checked
 *       unsigned  digits "u" ("2u"): an integer; values above INT64_MAX
 *                 (the value model has no uint64) become float64 and may
 *                 lose precision, the project's rule for such integers
 *                 (hs_value_canonicalize); above UINT64_MAX is an error
 *       boolean   t T true True TRUE, f F false False FALSE: bool
 *       string    "...", with \" for a quote and \\ for a backslash (other
 *                 pairs are kept as both bytes): str, valid UTF-8
 *   - The timestamp is optional: [-]digits, an int64 in the unit of the
 *     precision, converted to microseconds: ns by floor division (the
 *     sub-microsecond digits are dropped: -1500 ns is -2 us), us as it is,
 *     ms and s multiplied. A result outside [HS_TIME_MIN, HS_TIME_MAX] is an
 *     error. A point without a timestamp is stamped with the arrival time.
 *   - A line is at most HS_LP_MAX_LINE bytes, its line end not counted.
 */
#ifndef HS_LINEPROTO_H
#define HS_LINEPROTO_H

#include <stddef.h>
#include <stdint.h>

/* Longest line of a point, in bytes, without its "\n" or "\r\n". */
#define HS_LP_MAX_LINE 65536

/* The unit of the timestamps of a body (the "precision" query parameter). */
typedef enum hs_lp_precision {
    HS_LP_NS,
    HS_LP_US,
    HS_LP_MS,
    HS_LP_S,
} hs_lp_precision;

/*
 * Reads a precision name: "ns", "us", "ms" or "s"; NULL or "" is ns.
 * Returns HS_OK, or HS_ERR_INVAL with a detail naming the text and the
 * accepted names (also for a NULL out).
 */
int hs_lp_precision_parse(const char *s, hs_lp_precision *out);

/*
 * Receives one instance: its canonical stream id (NUL-terminated, valid
 * during the call only), its time in microseconds, its canonical msgpack
 * value (vlen bytes, valid during the call only) and the 1-based line of
 * its point. Returns HS_OK to go on; anything else stops the parse, which
 * returns that code as it is.
 */
typedef int (*hs_lp_fn)(void *ud, const char *sid, int64_t t_us, const uint8_t *v, size_t vlen,
                        size_t line);

/*
 * Parses the body (len bytes, not NUL-terminated; NULL when len is 0) in
 * one pass, calling fn(ud, ...) for every field of every point in the
 * order of the body. A point is checked whole before the first call for it,
 * so no call is made for a line that has an error; the calls for the lines
 * before it have been made (a caller that wants all or nothing collects
 * first). Points without a timestamp get arrival_us.
 *
 * Returns HS_OK; HS_ERR_PARSE with the detail "line N: <what> (line:
 * '<the line's first 60 bytes>')", N 1-based, for the first bad line;
 * HS_ERR_INVAL for a NULL fn, a NULL body with len > 0 or an unknown p;
 * HS_ERR_NOMEM; or what fn returned.
 * *npoints (when not NULL) receives the number of points whose instances
 * were all passed to fn, also on failure.
 */
int hs_lp_parse(const char *body, size_t len, hs_lp_precision p, int64_t arrival_us, hs_lp_fn fn,
                void *ud, size_t *npoints);

#endif
