/* The readings of one HTTP write request and the parsers of its bodies (hs_readings.h). */
#include "hs_readings.h"

#include "hs_alloc.h"
#include "hs_csv.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void hs_readings_init(hs_readings *w)
{
    memset(w, 0, sizeof *w);
    hs_map_init(&w->streams);
}

void hs_readings_free(hs_readings *w)
{
    for (size_t i = 0; i < w->n; i++) {
        hs_batch *b = hs_map_get(&w->streams, w->order[i]);
        hs_batch_free(b);
        hs_free(b);
        hs_free(w->order[i]);
    }
    hs_free(w->order);
    hs_map_free(&w->streams);
}

static hs_batch *rd_stream(hs_readings *w, const char *sid)
{
    hs_batch *b = hs_map_get(&w->streams, sid);
    if (b != NULL)
        return b;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        char **o = hs_realloc(w->order, cap * sizeof *o);
        if (o == NULL)
            return NULL;
        w->order = o;
        w->cap = cap;
    }
    b = hs_malloc(sizeof *b);
    char *key = hs_strdup(sid);
    if (b == NULL || key == NULL || hs_map_put(&w->streams, sid, b, NULL) != HS_OK) {
        hs_free(b);
        hs_free(key);
        return NULL;
    }
    hs_batch_init(b);
    w->order[w->n++] = key;
    return b;
}

int hs_readings_add(hs_readings *w, const char *sid, int64_t t, const uint8_t *v, size_t vlen)
{
    hs_batch *b = rd_stream(w, sid);
    if (b == NULL)
        return HS_ERR_NOMEM;
    int rc = hs_batch_push(b, t, v, vlen);
    if (rc == HS_OK)
        w->count++;
    return rc;
}

int hs_readings_add_batch(hs_readings *w, const char *sid, const hs_batch *src)
{
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < src->n; i++)
        rc = hs_readings_add(w, sid, src->items[i].t_us, hs_batch_value(src, i), src->items[i].len);
    return rc;
}

static int parse_time_text(const char *s, size_t len, int64_t *t)
{
    if (hs_time_parse_iso(s, len, t) == HS_OK)
        return HS_OK;
    if (hs_time_parse_epoch(s, len, t) == HS_OK)
        return HS_OK;
    return hs_err_set(HS_ERR_PARSE, "time '%.*s' is not ISO-8601 or epoch seconds",
                      (int)(len > 60 ? 60 : len), s);
}

/* One JSON line {"stream": ID, "t": T, "v": V} (t optional: arrival time). */
static int ndjson_record(hs_readings *w, const char *line, size_t len, int64_t arrival, hs_buf *sid,
                         hs_buf *scratch)
{
    hs_json_reader jr;
    hs_json_reader_init(&jr, line, len);
    hs_buf key, value;
    hs_buf_init(&key, 0);
    hs_buf_init(&value, 0);
    bool done = false, have_v = false;
    int64_t t = arrival;
    hs_buf_reset(sid);
    int rc = hs_json_object_begin(&jr);
    while (rc == HS_OK && (rc = hs_json_object_next_key(&jr, &key, &done)) == HS_OK && !done) {
        const char *k = hs_buf_cstr(&key);
        if (strcmp(k, "stream") == 0) {
            hs_buf_reset(scratch);
            rc = hs_json_get_string(&jr, scratch);
            if (rc == HS_OK)
                rc = hs_streamid_canonical((const char *)scratch->data, scratch->len, sid);
        } else if (strcmp(k, "t") == 0) {
            if (hs_json_peek(&jr) == HS_JSON_STRING) {
                hs_buf_reset(scratch);
                rc = hs_json_get_string(&jr, scratch);
                if (rc == HS_OK)
                    rc = parse_time_text((const char *)scratch->data, scratch->len, &t);
            } else {
                const char *num;
                size_t nl;
                rc = hs_json_get_number_text(&jr, &num, &nl);
                if (rc == HS_OK)
                    rc = parse_time_text(num, nl, &t);
            }
        } else if (strcmp(k, "v") == 0) {
            hs_buf_reset(&value);
            rc = hs_json_value_to_mpack(&jr, &value);
            have_v = rc == HS_OK;
        } else {
            rc = hs_err_set(HS_ERR_PARSE, "unknown member \"%s\" (want stream, t, v)", k);
        }
    }
    if (rc == HS_OK)
        rc = hs_json_expect_end(&jr);
    if (rc == HS_OK && (sid->len == 0 || !have_v))
        rc = hs_err_set(HS_ERR_PARSE, "a line needs \"stream\" and \"v\"");
    if (rc == HS_OK)
        rc = hs_readings_add(w, hs_buf_cstr(sid), t, value.data, value.len);
    hs_buf_free(&key);
    hs_buf_free(&value);
    return rc;
}

/* Whether a header field is name, in any case. */
static bool col_is(const hs_csv_field *f, const char *name)
{
    return f->len == strlen(name) && strncasecmp(f->s, name, f->len) == 0;
}

/* CSV: header stream,t,v (or t,v with ?stream=); v read like a JSON-lines payload. */
static int csv_body(hs_readings *w, const char *body, size_t len, const char *fixed_sid,
                    int64_t arrival, size_t *bad_line)
{
    hs_csv_reader cr;
    hs_csv_init(&cr, body, len);
    hs_csv_field *f;
    size_t n;
    bool done = false, header = true;
    int col_s = -1, col_t = -1, col_v = -1;
    hs_buf sid;
    hs_buf_init(&sid, 0);
    hs_batch one;
    hs_batch_init(&one);
    int rc = HS_OK;
    while (rc == HS_OK && (rc = hs_csv_next(&cr, &f, &n, &done)) == HS_OK && !done) {
        *bad_line = hs_csv_line(&cr);
        if (header) {
            header = false;
            for (size_t i = 0; i < n; i++) {
                if (col_is(&f[i], "stream"))
                    col_s = (int)i;
                else if (col_is(&f[i], "t") || col_is(&f[i], "time") ||
                         col_is(&f[i], "timestamp") || col_is(&f[i], "datetime"))
                    col_t = (int)i;
                else if (col_is(&f[i], "v") || col_is(&f[i], "value"))
                    col_v = (int)i;
                else
                    rc = hs_err_set(HS_ERR_PARSE, "unknown column '%.*s' (want %s)",
                                    (int)(f[i].len > 40 ? 40 : f[i].len), f[i].s,
                                    fixed_sid != NULL ? "t and v" : "stream, t and v");
            }
            if (rc == HS_OK && (col_v < 0 || (col_s < 0) == (fixed_sid == NULL)))
                rc = hs_err_set(HS_ERR_PARSE, "%s",
                                fixed_sid != NULL
                                    ? "the header must name the columns t (optional; or time, "
                                      "timestamp, datetime) and v (or value)"
                                    : "the header must name the columns stream, t (optional) "
                                      "and v, or the request ?stream=ID");
            continue;
        }
        int need = col_s > col_v ? col_s : col_v;
        need = col_t > need ? col_t : need;
        if ((int)n <= need) {
            rc = hs_err_set(HS_ERR_PARSE, "%zu fields, the header has more", n);
            break;
        }
        const char *s = fixed_sid;
        if (col_s >= 0) {
            hs_buf_reset(&sid);
            rc = hs_streamid_canonical(f[col_s].s, f[col_s].len, &sid);
            s = hs_buf_cstr(&sid);
        }
        int64_t t = arrival;
        if (rc == HS_OK && col_t >= 0 && f[col_t].len > 0)
            rc = parse_time_text(f[col_t].s, f[col_t].len, &t);
        if (rc == HS_OK)
            rc = hs_codec_decode_text(f[col_v].s, f[col_v].len, t, &one);
        if (rc == HS_OK && one.n != 1)
            rc = hs_err_set(HS_ERR_PARSE, "v must be one value");
        if (rc == HS_OK)
            rc = hs_readings_add(w, s, t, hs_batch_value(&one, 0), one.items[0].len);
    }
    hs_batch_free(&one);
    hs_buf_free(&sid);
    hs_csv_free(&cr);
    return rc;
}

/* JSON lines: payloads of sid, or records when sid is NULL. */
static int lines_body(hs_readings *w, const char *sid, const char *body, size_t len,
                      int64_t arrival, size_t *line)
{
    hs_buf id, scratch;
    hs_buf_init(&id, 0);
    hs_buf_init(&scratch, 0);
    hs_batch b;
    hs_batch_init(&b);
    int rc = HS_OK;
    size_t i = 0;
    while (rc == HS_OK && i < len) {
        size_t e = i;
        while (e < len && body[e] != '\n')
            e++;
        (*line)++;
        size_t l = e - i;
        if (l > 0 && body[i + l - 1] == '\r')
            l--;
        bool blank = true;
        for (size_t k = 0; k < l && blank; k++)
            blank = body[i + k] == ' ' || body[i + k] == '\t';
        if (!blank && sid != NULL) {
            rc = hs_codec_decode_text(body + i, l, arrival, &b);
            if (rc == HS_OK)
                rc = hs_readings_add_batch(w, sid, &b);
        } else if (!blank) {
            rc = ndjson_record(w, body + i, l, arrival, &id, &scratch);
        }
        i = e + 1;
    }
    hs_batch_free(&b);
    hs_buf_free(&id);
    hs_buf_free(&scratch);
    return rc;
}

hs_batch *hs_readings_batch(const hs_readings *w, size_t i)
{
    return hs_map_get(&w->streams, w->order[i]);
}

int hs_readings_parse(hs_readings *w, hs_readings_form form, const char *sid, const char *body,
                      size_t len, int64_t arrival_us, size_t *line)
{
    size_t dummy = 0;
    if (line == NULL)
        line = &dummy;
    *line = 0;
    if (len == 0)
        return hs_err_set(HS_ERR_PARSE, "the body is empty");
    if (form == HS_READINGS_CSV)
        return csv_body(w, body, len, sid, arrival_us, line);
    if (form == HS_READINGS_LINES)
        return lines_body(w, sid, body, len, arrival_us, line);
    if (sid == NULL)
        return hs_err_set(HS_ERR_INVAL, "a payload needs its stream");
    hs_batch b;
    hs_batch_init(&b);
    int rc = hs_codec_decode_payload((const uint8_t *)body, len, arrival_us, &b);
    if (rc == HS_OK)
        rc = hs_readings_add_batch(w, sid, &b);
    hs_batch_free(&b);
    return rc;
}
