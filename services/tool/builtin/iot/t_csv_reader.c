/*
 * The CSV importers: csv_reader (one file onto one stream) and
 * csv_multi_reader (one file per output plate value).
 *
 * Files are named relative to the tool service's working directory, which
 * is the root of what a workflow may read: absolute paths and ".."
 * components are refused, so a workflow cannot read files elsewhere on the
 * machine. Each job reads its file(s) whole and keeps the rows whose time
 * lies in the job interval, so the output does not depend on how an
 * interval is cut into jobs.
 */
#include "iot.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_csv.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"
#include "hs_utf8.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest file read (bytes). */
#define HS__CSV_MAX_FILE (1024u * 1024u * 1024u)

/* ------------------------------------------------------------------ files */

/*
 * Checks that path names a file under the working directory: not empty,
 * not absolute, no ".." component. Fails the job with a message otherwise.
 */
static int hs__csv_path_check(hs_tool_ctx *ctx, const char *what, const char *path)
{
    if (path[0] == '\0')
        return hs_tool_fail(ctx, "%s is empty", what);
    if (path[0] == '/')
        return hs_tool_fail(ctx,
                            "%s '%s' is absolute; name files relative to the tool's working "
                            "directory",
                            what, path);
    for (const char *p = path; *p != '\0';) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return hs_tool_fail(ctx,
                                "%s '%s' has a '..' component; files outside the tool's "
                                "working directory cannot be read",
                                what, path);
        p += n;
        while (*p == '/')
            p++;
    }
    return HS_OK;
}

/* Reads a whole file into out: HS_OK, HS_ERR_NOTFOUND (no such file) or HS_ERR_IO / LIMIT. */
static int hs__csv_read_file(const char *path, hs_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT || errno == ENOTDIR
                   ? hs_err_set(HS_ERR_NOTFOUND, "no file '%s'", path)
                   : hs_err_set(HS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    int rc = HS_OK;
    for (;;) {
        rc = hs_buf_reserve(out, 65536);
        if (rc != HS_OK) {
            if (rc == HS_ERR_LIMIT)
                hs_err_set(rc, "'%s' is larger than %u bytes", path, HS__CSV_MAX_FILE);
            break;
        }
        size_t n = fread(out->data + out->len, 1, out->cap - out->len, f);
        out->len += n;
        if (n == 0) {
            if (ferror(f))
                rc = hs_err_set(HS_ERR_IO, "cannot read '%s'", path);
            break;
        }
    }
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ fields */

/* The field without surrounding blanks. */
static void hs__csv_trim(const hs_csv_field *f, const char **s, size_t *len)
{
    const char *p = f->s;
    size_t n = f->len;
    while (n > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
        n--;
    *s = p;
    *len = n;
}

/* A time field: ISO-8601 or epoch seconds. */
static bool hs__csv_time(const hs_csv_field *f, int64_t *t)
{
    const char *s;
    size_t n;
    hs__csv_trim(f, &s, &n);
    return n > 0 && (hs_time_parse_iso(s, n, t) == HS_OK || hs_time_parse_epoch(s, n, t) == HS_OK);
}

/* A number field; false (null) for empty, non-numeric and non-finite text. */
static bool hs__csv_number(const hs_csv_field *f, double *d)
{
    const char *s;
    size_t n;
    hs__csv_trim(f, &s, &n);
    if (n == 0 || n > 64)
        return false;
    char buf[65];
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    *d = strtod(buf, &end);
    return end == buf + n && isfinite(*d) && !(errno == ERANGE && fabs(*d) > 1.0);
}

static int hs__csv_put_number(hs_buf *b, const hs_csv_field *f)
{
    double d;
    return hs__csv_number(f, &d) ? hs_mp_put_double(b, d) : hs_mp_put_nil(b);
}

/* Skips a UTF-8 byte order mark at the start of the data. */
static size_t hs__csv_bom(const hs_buf *b)
{
    return b->len >= 3 && b->data[0] == 0xEF && b->data[1] == 0xBB && b->data[2] == 0xBF ? 3 : 0;
}

/* ------------------------------------------------------------------ csv_reader */

static int hs__csv_reader_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    const char *path;
    bool header = true;
    int rc = hs_tool_param_string(ctx, "filename", &path);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "csv_reader needs parameter 'filename'");
    if (rc != HS_OK)
        return rc;
    const hs_value *pv = hs_tool_param_value(ctx, "filename");
    if (strlen(path) != pv->len)
        return hs_tool_fail(ctx, "parameter 'filename' contains a NUL byte");
    if ((rc = hs__csv_path_check(ctx, "filename", path)) != HS_OK)
        return rc;
    rc = hs_tool_param_bool(ctx, "header", &header);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;

    hs_buf data, out;
    hs_buf_init(&data, HS__CSV_MAX_FILE);
    hs_buf_init(&out, 0);
    hs_csv_reader *r = NULL;
    rc = hs__csv_read_file(path, &data);
    if (rc != HS_OK) {
        rc = hs_tool_fail(ctx, "csv_reader: %s", hs_err_detail());
        goto done;
    }
    r = hs_malloc(sizeof *r);
    if (r == NULL) {
        rc = HS_ERR_NOMEM;
        goto done;
    }
    size_t bom = hs__csv_bom(&data);
    hs_csv_init(r, (const char *)data.data + bom, data.len - bom);
    hs_interval iv = hs_tool_interval(ctx);
    bool first = true;
    for (;;) {
        hs_csv_field *f;
        size_t n;
        bool end;
        int prc = hs_csv_next(r, &f, &n, &end);
        if (prc != HS_OK) {
            hs_tool_warn(ctx, "csv_reader: %s: %s; the record was skipped", path, hs_err_detail());
            first = false;
            continue;
        }
        if (end)
            break;
        if (first && header) {
            first = false;
            continue;
        }
        first = false;
        int64_t t;
        if (!hs__csv_time(&f[0], &t)) {
            hs_tool_warn(ctx, "csv_reader: %s line %zu: '%.40s' is not a time; skipped", path,
                         hs_csv_line(r), f[0].s);
            continue;
        }
        if (!hs_interval_contains_point(iv, t))
            continue;
        hs_buf_reset(&out);
        rc = hs_mp_put_array(&out, (uint32_t)(n - 1));
        for (size_t i = 1; rc == HS_OK && i < n; i++)
            rc = hs__csv_put_number(&out, &f[i]);
        if (rc == HS_OK)
            rc = hs_tool_emit(ctx, t, out.data, out.len);
        if (rc != HS_OK)
            break;
    }
done:
    if (r != NULL) {
        hs_csv_free(r);
        hs_free(r);
    }
    hs_buf_free(&out);
    hs_buf_free(&data);
    return rc;
}

static const hs_tool_param hs__csv_reader_params[] = {
    {"filename", HS_P_STRING, NULL, "the CSV file, relative to the tool's working directory"},
    {"header", HS_P_BOOL, "true", "whether the first record is a header (skipped)"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_csv_reader = {
    .name = "csv_reader",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 0,
    .max_sources = 0,
    .summary = "Reads a CSV file: column 0 is the time, the others become a list of floats",
    .doc = "Reads filename (RFC 4180 CSV: commas, double quotes, LF or CRLF) and, for "
           "every record whose first column is a time (ISO-8601 or epoch seconds) in the "
           "job interval, emits (time, [c1, c2, ...]): the other columns as floats, or null "
           "when a field is empty, not a number or not finite. With header (default true) "
           "the first record is skipped. Records whose time does not parse, and records "
           "the CSV reader rejects, are skipped with a warning; a repeated time keeps the "
           "first record. filename is relative to the tool's working directory; absolute "
           "paths and '..' components are refused, and a missing file fails the job. "
           "Parameters: filename (required), header. Example: a file with the lines "
           "'time,temp,hum' and '2016-04-28T20:00:00Z,21.5,40' gives [21.5, 40.0] at "
           "20:00. Differences from HyperStream's plugin: times are ISO-8601 or epoch "
           "seconds only (no dateutil guessing), and a field that is not a number becomes "
           "null instead of failing the run.",
    .params = hs__csv_reader_params,
    .run = hs__csv_reader_run,
};

/* ------------------------------------------------------------------ csv_multi_reader */

typedef struct hs__cmr {
    const char *tmpl;
    int64_t dt_col;
    int64_t skip_rows;
    bool header;
    hs_buf path;  /* the file name of the current sink */
    hs_buf data;  /* its bytes */
    hs_buf out;   /* the value being emitted */
    hs_buf names; /* column names: NUL-terminated strings, one per column */
    size_t *name_off;
    size_t ncols;
    hs_csv_reader *r; /* owned */
} hs__cmr;

static void hs__cmr_fini(void *state)
{
    hs__cmr *s = state;
    if (s == NULL)
        return;
    hs_buf_free(&s->path);
    hs_buf_free(&s->data);
    hs_buf_free(&s->out);
    hs_buf_free(&s->names);
    hs_free(s->name_off);
    hs_free(s->r);
    hs_free(s);
}

static int hs__cmr_init(hs_tool_ctx *ctx, void **state)
{
    hs__cmr *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_buf_init(&s->path, 4096);
    hs_buf_init(&s->data, HS__CSV_MAX_FILE);
    hs_buf_init(&s->out, 0);
    hs_buf_init(&s->names, 0);
    *state = s;
    s->r = hs_malloc(sizeof *s->r);
    if (s->r == NULL)
        return HS_ERR_NOMEM;
    int rc = hs_tool_param_string(ctx, "filename_template", &s->tmpl);
    if (rc == HS_ERR_NOTFOUND)
        return hs_tool_fail(ctx, "csv_multi_reader needs parameter 'filename_template'");
    if (rc != HS_OK)
        return rc;
    if (strlen(s->tmpl) != hs_tool_param_value(ctx, "filename_template")->len)
        return hs_tool_fail(ctx, "parameter 'filename_template' contains a NUL byte");
    s->header = true;
    if ((rc = hs_tool_param_int(ctx, "datetime_column", &s->dt_col)) != HS_OK &&
        rc != HS_ERR_NOTFOUND)
        return rc;
    if ((rc = hs_tool_param_int(ctx, "skip_rows", &s->skip_rows)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if ((rc = hs_tool_param_bool(ctx, "header", &s->header)) != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    if (s->dt_col < 0 || s->dt_col >= HS_CSV_MAX_FIELDS)
        return hs_tool_fail(ctx, "parameter 'datetime_column' must be in [0, %d)",
                            HS_CSV_MAX_FIELDS);
    if (s->skip_rows < 0)
        return hs_tool_fail(ctx, "parameter 'skip_rows' must not be negative");
    if (hs_tool_output_meta(ctx) == NULL)
        return hs_tool_fail(ctx, "csv_multi_reader runs as a multi-output factor (it needs an "
                                 "output plate)");
    return HS_OK;
}

/* The file name of plate value pv: the template with every "{}" replaced. */
static int hs__cmr_path(hs__cmr *s, const char *pv)
{
    hs_buf_reset(&s->path);
    int rc = HS_OK;
    for (const char *p = s->tmpl; rc == HS_OK && *p != '\0';) {
        if (p[0] == '{' && p[1] == '}') {
            rc = hs_buf_puts(&s->path, pv);
            p += 2;
        } else {
            rc = hs_buf_putc(&s->path, (uint8_t)*p++);
        }
    }
    return rc;
}

/*
 * Sets the column names from a header record (or, without one, leaves them
 * to the column numbers): empty names become the column number, repeated
 * names get ".1", ".2", ... (the first free one).
 */
static int hs__cmr_names(hs_tool_ctx *ctx, hs__cmr *s, const hs_csv_field *f, size_t n)
{
    hs_buf_reset(&s->names);
    s->ncols = 0;
    size_t *off = hs_realloc(s->name_off, (n ? n : 1) * sizeof *off);
    if (off == NULL)
        return HS_ERR_NOMEM;
    s->name_off = off;
    for (size_t i = 0; i < n; i++) {
        char num[24];
        const char *base = f[i].s;
        size_t blen = f[i].len;
        if (blen == 0) {
            blen = (size_t)snprintf(num, sizeof num, "%zu", i);
            base = num;
        }
        if (!hs_utf8_valid(base, blen))
            return hs_tool_fail(ctx, "csv_multi_reader: header column %zu is not valid UTF-8", i);
        /* The first of base, base.1, base.2, ... not taken by an earlier column. */
        size_t at = s->names.len;
        for (unsigned k = 0;; k++) {
            s->names.len = at;
            int rc = hs_buf_append(&s->names, base, blen);
            if (rc == HS_OK && k > 0)
                rc = hs_buf_printf(&s->names, ".%u", k);
            if (rc == HS_OK)
                rc = hs_buf_putc(&s->names, 0);
            if (rc != HS_OK)
                return rc;
            const char *cand = (const char *)s->names.data + at;
            bool taken = false;
            for (size_t j = 0; j < i && !taken; j++)
                taken = strcmp((const char *)s->names.data + s->name_off[j], cand) == 0;
            if (!taken)
                break;
        }
        s->name_off[i] = at;
    }
    s->ncols = n;
    return HS_OK;
}

/* Emits one data record to sink: {column: float or null} without the time column. */
static int hs__cmr_record(hs_tool_ctx *ctx, hs__cmr *s, size_t sink, int64_t t,
                          const hs_csv_field *f, size_t n, bool *warned_extra)
{
    size_t dt = (size_t)s->dt_col;
    size_t ncols = s->header ? s->ncols : n;
    if (s->header && n > ncols && !*warned_extra) {
        hs_tool_warn(ctx,
                     "csv_multi_reader: %s line %zu has more fields than the header; the "
                     "extra fields are ignored",
                     hs_buf_cstr(&s->path), hs_csv_line(s->r));
        *warned_extra = true;
    }
    uint32_t nout = (uint32_t)(ncols - (dt < ncols ? 1 : 0));
    hs_buf_reset(&s->out);
    int rc = hs_mp_put_map(&s->out, nout);
    for (size_t i = 0; rc == HS_OK && i < ncols; i++) {
        if (i == dt)
            continue;
        if (s->header) {
            rc = hs_mp_put_cstr(&s->out, (const char *)s->names.data + s->name_off[i]);
        } else {
            char num[24];
            rc = hs_mp_put_str(&s->out, num, (size_t)snprintf(num, sizeof num, "%zu", i));
        }
        if (rc == HS_OK)
            rc = i < n ? hs__csv_put_number(&s->out, &f[i]) : hs_mp_put_nil(&s->out);
    }
    return rc != HS_OK ? rc : hs_tool_emit_to(ctx, sink, t, s->out.data, s->out.len);
}

/* Reads the file of one sink and emits its records in the job interval. */
static int hs__cmr_sink(hs_tool_ctx *ctx, hs__cmr *s, size_t sink)
{
    const char *pv = hs_tool_sink_value(ctx, sink);
    if (pv == NULL)
        return hs_tool_fail(ctx, "csv_multi_reader: sink %zu has no value of the output plate",
                            sink);
    int rc = hs__cmr_path(s, pv);
    if (rc != HS_OK)
        return rc == HS_ERR_LIMIT ? hs_tool_fail(ctx,
                                                 "csv_multi_reader: the file name of '%s' "
                                                 "is too long",
                                                 pv)
                                  : rc;
    const char *path = hs_buf_cstr(&s->path);
    if ((rc = hs__csv_path_check(ctx, "the file name", path)) != HS_OK)
        return rc;
    hs_buf_reset(&s->data);
    rc = hs__csv_read_file(path, &s->data);
    if (rc == HS_ERR_NOTFOUND) {
        hs_tool_warn(ctx, "csv_multi_reader: no file '%s' for %s=%s; skipped", path,
                     hs_tool_output_meta(ctx), pv);
        return HS_OK;
    }
    if (rc != HS_OK)
        return hs_tool_fail(ctx, "csv_multi_reader: %s", hs_err_detail());
    size_t bom = hs__csv_bom(&s->data);
    hs_csv_init(s->r, (const char *)s->data.data + bom, s->data.len - bom);
    hs_interval iv = hs_tool_interval(ctx);
    int64_t skip = s->skip_rows;
    bool need_header = s->header, warned_extra = false;
    s->ncols = 0;
    for (;;) {
        hs_csv_field *f;
        size_t n;
        bool end;
        int prc = hs_csv_next(s->r, &f, &n, &end);
        if (prc == HS_OK && end)
            break;
        if (skip > 0) {
            skip--;
            continue;
        }
        if (prc != HS_OK) {
            hs_tool_warn(ctx, "csv_multi_reader: %s: %s; the record was skipped", path,
                         hs_err_detail());
            continue;
        }
        if (need_header) {
            need_header = false;
            if ((rc = hs__cmr_names(ctx, s, f, n)) != HS_OK)
                break;
            if ((size_t)s->dt_col >= n) {
                rc = hs_tool_fail(ctx,
                                  "csv_multi_reader: %s has %zu columns; datetime_column %lld "
                                  "is not one of them",
                                  path, n, (long long)s->dt_col);
                break;
            }
            continue;
        }
        int64_t t;
        if ((size_t)s->dt_col >= n || !hs__csv_time(&f[s->dt_col], &t)) {
            hs_tool_warn(ctx, "csv_multi_reader: %s line %zu has no time in column %lld; skipped",
                         path, hs_csv_line(s->r), (long long)s->dt_col);
            continue;
        }
        if (!hs_interval_contains_point(iv, t))
            continue;
        if ((rc = hs__cmr_record(ctx, s, sink, t, f, n, &warned_extra)) != HS_OK)
            break;
    }
    hs_csv_free(s->r);
    return rc;
}

static int hs__cmr_run(hs_tool_ctx *ctx, void *state)
{
    hs__cmr *s = state;
    for (size_t i = 0; i < hs_tool_nsinks(ctx); i++) {
        int rc = hs__cmr_sink(ctx, s, i);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

static const hs_tool_param hs__cmr_params[] = {
    {"filename_template", HS_P_STRING, NULL,
     "file name with {} standing for the output plate value, e.g. \"data/{}.csv\""},
    {"datetime_column", HS_P_INT, "0", "the column (from 0) that holds the time"},
    {"skip_rows", HS_P_INT, "0", "records skipped at the start of the file, before the header"},
    {"header", HS_P_BOOL, "true", "whether a header record names the columns"},
    {NULL, HS_P_ANY, NULL, NULL},
};

const hs_tool_def hs_tool_csv_multi_reader = {
    .name = "csv_multi_reader",
    .version = "1.0.0",
    .kind = HS_TOOL_MULTI,
    .min_sources = 0,
    .max_sources = 0,
    .summary = "Reads one CSV file per output plate value into maps of floats",
    .doc = "A multi-output tool without sources: for each value pv of the output plate, "
           "reads the file filename_template with every \"{}\" replaced by pv, skips "
           "skip_rows records, takes the column names from the header record (with header, "
           "the default; empty names become the column number and repeated names get .1, "
           ".2, ...) or uses the column numbers \"0\", \"1\", ... (without), and for every "
           "record whose datetime_column holds a time (ISO-8601 or epoch seconds) in the "
           "job interval emits {column: float or null} (all columns but the time; null for "
           "an empty, non-numeric or non-finite field, and for columns the record lacks; "
           "fields beyond the header are ignored with a warning) to the sink of pv. Missing "
           "files are skipped with a warning; other read errors fail the job. File names "
           "are relative to the tool's working directory; absolute paths and '..' "
           "components are refused. Parameters: filename_template (required), "
           "datetime_column (0), skip_rows (0), header (true). Example: plate H.R with "
           "values kitchen and lounge, filename_template \"rooms/{}.csv\" reads "
           "rooms/kitchen.csv into the kitchen stream as {\"temp\": 21.5, \"hum\": 40.0}. "
           "Differences from HyperStream: no datetime_parser parameter (times are ISO-8601 "
           "or epoch seconds), skip_rows counts CSV records rather than raw lines, and a "
           "non-numeric field becomes null instead of failing.",
    .params = hs__cmr_params,
    .init = hs__cmr_init,
    .run = hs__cmr_run,
    .fini = hs__cmr_fini,
};
