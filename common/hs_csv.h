/*
 * CSV records (RFC 4180): comma-separated fields, optionally double-quoted,
 * "" inside quotes for a quote, quoted fields may hold commas and line
 * breaks; LF or CRLF ends a record. The reader works on a byte range and is
 * total: any input is split into records or rejected with HS_ERR_PARSE
 * (unterminated quote, text after a closing quote, a field or record over
 * its limit).
 */
#ifndef HS_CSV_H
#define HS_CSV_H

#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>

#define HS_CSV_MAX_FIELDS 1024
#define HS_CSV_MAX_FIELD  65536

typedef struct hs_csv_field {
    const char *s; /* borrowed from the reader's buffer, NUL-terminated */
    size_t len;
} hs_csv_field;

typedef struct hs_csv_reader {
    const char *p, *end; /* unread input (borrowed) */
    size_t line;         /* 1-based line number of the next record */
    size_t last_line;    /* line where the record last returned (or rejected) started */
    hs_buf unq;          /* owned: unquoted field text of the current record */
    hs_csv_field f[HS_CSV_MAX_FIELDS];
} hs_csv_reader;

void hs_csv_init(hs_csv_reader *r, const char *data, size_t len);
void hs_csv_free(hs_csv_reader *r);

/*
 * Reads the next record. *n receives the field count (0 and *done = true at
 * the end of input). Blank lines are skipped. Fields are valid until the
 * next call. On HS_ERR_PARSE the reader skips to the next line, so the
 * caller may report the bad record and go on.
 */
int hs_csv_next(hs_csv_reader *r, hs_csv_field **fields, size_t *n, bool *done);

/* Line number where the record last returned started. */
size_t hs_csv_line(const hs_csv_reader *r);

#endif
