/*
 * Fuzz target: the CSV reader. Any input is walked record by record to the
 * end, going on after errors as the file ingester does. Every call must
 * either end the input or move the reader forward (so that no input can
 * make a caller loop forever), keep the reader inside the input, return
 * fields within the limits that are NUL-terminated at their length (NUL
 * bytes inside count in it), and report line numbers that never go back.
 * When the whole input reads without error, the records written back as
 * CSV (every field quoted) must read back to the same fields.
 */
#include "hs_buf.h"
#include "hs_csv.h"
#include "hs_error.h"

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

/* Appends one record as CSV with every field quoted. */
static void put_record(hs_buf *out, const hs_csv_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        check(hs_buf_putc(out, '"') == HS_OK);
        for (size_t j = 0; j < f[i].len; j++) {
            if (f[i].s[j] == '"')
                check(hs_buf_putc(out, '"') == HS_OK);
            check(hs_buf_putc(out, (uint8_t)f[i].s[j]) == HS_OK);
        }
        check(hs_buf_putc(out, '"') == HS_OK);
        check(hs_buf_putc(out, i + 1 < n ? ',' : '\n') == HS_OK);
    }
}

/*
 * Reads all of data, checking every step; appends every record to out
 * (when not NULL) as quoted CSV. Returns the number of records rejected.
 */
static size_t walk(hs_csv_reader *r, const char *data, size_t size, hs_buf *out)
{
    const char *end = data + size;
    size_t newlines = 0;
    for (size_t i = 0; i < size; i++)
        newlines += data[i] == '\n';

    hs_csv_init(r, data, size);
    size_t errors = 0, calls = 0, last_line = 1;
    for (;;) {
        /* Each call consumes at least one byte, so size + 1 calls end any input. */
        check(calls++ <= size);
        const char *before = r->p;
        hs_csv_field *f = NULL;
        size_t n = 99;
        bool done = true;
        int rc = hs_csv_next(r, &f, &n, &done);
        check(r->p >= data && r->p <= end && r->p >= before);
        check(r->line >= 1 && r->line <= newlines + 2);
        if (rc == HS_OK && done) {
            check(n == 0 && r->p == end);
            /* The end is sticky. */
            check(hs_csv_next(r, &f, &n, &done) == HS_OK && done && n == 0);
            break;
        }
        check(!done && r->p > before);
        if (rc != HS_OK) {
            check(rc == HS_ERR_PARSE);
            check(strncmp(hs_err_detail(), "line ", 5) == 0);
            errors++;
            continue;
        }
        check(n >= 1 && n <= HS_CSV_MAX_FIELDS && f != NULL);
        size_t line = hs_csv_line(r);
        check(line >= last_line && line <= newlines + 1);
        last_line = line;
        for (size_t i = 0; i < n; i++) {
            check(f[i].s != NULL && f[i].len <= HS_CSV_MAX_FIELD);
            check(f[i].s[f[i].len] == '\0');
        }
        if (out != NULL)
            put_record(out, f, n);
    }
    return errors;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The reader holds its field table inline (16 KiB): keep it off the stack. */
    hs_csv_reader *r = malloc(sizeof *r);
    hs_csv_reader *r2 = malloc(sizeof *r2);
    check(r != NULL && r2 != NULL);
    hs_buf csv1, csv2;
    hs_buf_init(&csv1, 0);
    hs_buf_init(&csv2, 0);

    const char *s = (const char *)data;
    size_t errors = walk(r, s, size, &csv1);
    hs_csv_free(r);
    if (errors == 0) {
        /* Quoted output reads back to the same records, and writes the same again. */
        const char *again = csv1.len > 0 ? (const char *)csv1.data : "";
        check(walk(r2, again, csv1.len, &csv2) == 0);
        hs_csv_free(r2);
        check(csv1.len == csv2.len &&
              (csv1.len == 0 || memcmp(csv1.data, csv2.data, csv1.len) == 0));
    }
    hs_buf_free(&csv1);
    hs_buf_free(&csv2);
    free(r);
    free(r2);
    return 0;
}
