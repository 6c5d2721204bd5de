/*
 * Fuzz target: the time parsers. The input is given to every parser as
 * text of exactly its length. Nothing may crash or read out of bounds, and
 * whatever parses must come back unchanged through the formatters: an ISO
 * instant formatted and parsed again, a duration formatted and parsed again.
 */
#include "hs_time.h"

#include "hs_error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An instant formatted as ISO-8601 must parse back to itself. */
static void check_iso_round_trip(int64_t t)
{
    char buf[HS_TIME_ISO_MAX];
    size_t n = hs_time_format_iso(t, buf);
    int64_t back;
    if (n >= HS_TIME_ISO_MAX || hs_time_parse_iso(buf, n, &back) != HS_OK || back != t)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int64_t t;

    if (hs_time_parse_iso(s, size, &t) == HS_OK) {
        if (t < HS_TIME_MIN || t > HS_TIME_MAX)
            abort();
        check_iso_round_trip(t);
    }
    if (hs_time_parse_epoch(s, size, &t) == HS_OK) {
        if (t < HS_TIME_MIN || t > HS_TIME_MAX)
            abort();
        check_iso_round_trip(t);
    }
    if (hs_duration_parse(s, size, &t) == HS_OK) {
        char buf[HS_DURATION_MAX];
        size_t n = hs_duration_format(t, buf);
        int64_t back;
        if (n >= HS_DURATION_MAX || hs_duration_parse(buf, n, &back) != HS_OK || back != t)
            abort();
    }
    /* 2016-04-28T20:00:00Z as "now". */
    if (hs_time_parse_user(s, size, 1461873600LL * HS_US_PER_S, &t) == HS_OK) {
        if (t < HS_TIME_MIN || t > HS_TIME_MAX)
            abort();
    }
    return 0;
}
