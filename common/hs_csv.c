#include "hs_csv.h"

#include "hs_error.h"

#include <string.h>

void hs_csv_init(hs_csv_reader *r, const char *data, size_t len)
{
    r->p = data;
    r->end = data + len;
    r->line = 1;
    r->last_line = 0;
    hs_buf_init(&r->unq, 0);
}

void hs_csv_free(hs_csv_reader *r)
{
    hs_buf_free(&r->unq);
}

size_t hs_csv_line(const hs_csv_reader *r)
{
    return r->last_line;
}

/* Skips past the end of the current line after an error. */
static void hs__csv_skip_line(hs_csv_reader *r)
{
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    r->p = nl ? nl + 1 : r->end;
    r->line++;
}

int hs_csv_next(hs_csv_reader *r, hs_csv_field **fields, size_t *n, bool *done)
{
    *n = 0;
    *done = false;
    /* Skip blank lines. */
    while (r->p < r->end && (*r->p == '\n' || *r->p == '\r')) {
        if (*r->p == '\n')
            r->line++;
        r->p++;
    }
    if (r->p >= r->end) {
        *done = true;
        return HS_OK;
    }
    size_t start_line = r->line;
    r->last_line = start_line;
    hs_buf_reset(&r->unq);
    /* Offsets of the fields in unq; pointers are set at the end since unq may move. */
    size_t offs[HS_CSV_MAX_FIELDS];
    size_t nf = 0;
    const char *p = r->p;
    for (;;) {
        if (nf == HS_CSV_MAX_FIELDS) {
            r->p = p;
            hs__csv_skip_line(r);
            return hs_err_set(HS_ERR_PARSE, "line %zu: more than %d fields", start_line,
                              HS_CSV_MAX_FIELDS);
        }
        offs[nf] = r->unq.len;
        size_t flen = 0;
        if (p < r->end && *p == '"') {
            p++;
            for (;;) {
                if (p >= r->end) {
                    r->p = r->end;
                    return hs_err_set(HS_ERR_PARSE, "line %zu: unterminated quoted field",
                                      start_line);
                }
                if (*p == '"') {
                    if (p + 1 < r->end && p[1] == '"') {
                        p += 2;
                    } else {
                        p++;
                        break;
                    }
                    if (hs_buf_putc(&r->unq, '"') != HS_OK)
                        return HS_ERR_NOMEM;
                    flen++;
                } else {
                    if (*p == '\n')
                        r->line++;
                    if (hs_buf_putc(&r->unq, (uint8_t)*p) != HS_OK)
                        return HS_ERR_NOMEM;
                    p++;
                    flen++;
                }
                if (flen > HS_CSV_MAX_FIELD) {
                    r->p = p;
                    hs__csv_skip_line(r);
                    return hs_err_set(HS_ERR_PARSE, "line %zu: field longer than %d bytes",
                                      start_line, HS_CSV_MAX_FIELD);
                }
            }
            if (p < r->end && *p != ',' && *p != '\n' && *p != '\r') {
                r->p = p;
                hs__csv_skip_line(r);
                return hs_err_set(HS_ERR_PARSE, "line %zu: text after a closing quote", start_line);
            }
        } else {
            const char *q = p;
            while (q < r->end && *q != ',' && *q != '\n' && *q != '\r') {
                if (*q == '"') {
                    r->p = q;
                    hs__csv_skip_line(r);
                    return hs_err_set(HS_ERR_PARSE, "line %zu: quote inside an unquoted field",
                                      start_line);
                }
                q++;
            }
            flen = (size_t)(q - p);
            if (flen > HS_CSV_MAX_FIELD) {
                r->p = q;
                hs__csv_skip_line(r);
                return hs_err_set(HS_ERR_PARSE, "line %zu: field longer than %d bytes", start_line,
                                  HS_CSV_MAX_FIELD);
            }
            if (hs_buf_append(&r->unq, p, flen) != HS_OK)
                return HS_ERR_NOMEM;
            p = q;
        }
        if (hs_buf_putc(&r->unq, '\0') != HS_OK)
            return HS_ERR_NOMEM;
        nf++;
        if (p < r->end && *p == ',') {
            p++;
            continue;
        }
        /* End of record: CRLF, LF, lone CR, or end of input. */
        if (p < r->end && *p == '\r')
            p++;
        if (p < r->end && *p == '\n') {
            p++;
            r->line++;
        }
        break;
    }
    r->p = p;
    for (size_t i = 0; i < nf; i++) {
        r->f[i].s = (const char *)r->unq.data + offs[i];
        /* Up to the NUL after it: a quoted field may hold NUL bytes itself. */
        size_t end = i + 1 < nf ? offs[i + 1] : r->unq.len;
        r->f[i].len = end - offs[i] - 1;
    }
    *fields = r->f;
    *n = nf;
    (void)start_line;
    return HS_OK;
}
