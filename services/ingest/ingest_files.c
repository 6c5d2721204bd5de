/*
 * The file inbox of the ingest service.
 *
 * A file is complete when inotify says it was closed after writing
 * (IN_CLOSE_WRITE) or moved in (IN_MOVED_TO), or, on the scan path (every
 * watch_interval; files that came while ingest was down, file systems
 * without inotify, inbox_watch off), once its size and modification time
 * have not changed for file_settle and inotify saw no write to it since it
 * was last closed. Each round claims the complete files present, in name
 * order (up to inbox_files_per_round), by renaming them into
 * .work/<service-id>/ (an atomic claim, so replicas never take the same
 * file). They are read one after the other, at most inbox_round_rows lines
 * and inbox_round_bytes bytes per call so that live MQTT input keeps
 * flowing, and once the writer has acknowledged every request that holds
 * their instances (checked without blocking, so the next files are read
 * meanwhile), moved to done/ or, if some lines were rejected, to failed/
 * beside a <name>.errors report. Files left in .work/ by a crash are read
 * again from the start at the next start (writes are idempotent, so
 * nothing is stored twice).
 *
 * A CSV file has a header line naming its columns, unless its first field
 * is a time (ISO-8601 or epoch seconds): then the file has no header and two
 * columns, time and value (a UTF-8 byte order mark before it is skipped).
 * No line is dropped without a report: every
 * rejected line is in the .errors report and on the dead-letter topic, and
 * the report and the log end with how many instances were stored and how
 * many lines rejected. The formats are described in docs/INPUT.md.
 *
 * File names give the stream: the base name split at ',' is a stream id,
 * e.g. "temperature,house=1,room=kitchen.csv". In file_mode "columns" the
 * k=v parts give the meta-data and each value column is a stream named
 * after its header.
 */
#include "ingest.h"

#include "hs_alloc.h"
#include "hs_csv.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_map.h"
#include "hs_mpack.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest line of a JSON-lines file. */
#define FILES_MAX_LINE (16u << 20)
/* Files read whole but not yet acknowledged, before reading pauses. */
#define FILES_MAX_WAITING 4096
/* Reads of the inotify descriptor per round (each up to a buffer of events). */
#define FILES_INOTIFY_READS 64

/* What is known of a file in the inbox that is not claimed yet. */
typedef struct seen {
    off_t size;
    int64_t mtime_ns;
    int64_t stable_since_us; /* scan path: unchanged since (0: not scanned yet) */
    uint64_t scan_gen;       /* the last scan that listed it */
    bool closed;             /* inotify: closed after writing or moved in, so complete */
    bool writing;            /* inotify: written since it was last closed */
} seen;

/* A file read whole, waiting for the writer to acknowledge its instances. */
typedef struct waiting {
    char name[256];  /* base name */
    char path[1100]; /* path in the work directory */
    size_t instances;
    size_t rejected;
    uint64_t seq; /* the last write request holding some of its instances */
} waiting;

/* The file being read. */
typedef struct current {
    char name[256];  /* base name */
    char path[1100]; /* path in the work directory */
    bool csv;
    bool columns;
    char *data; /* whole CSV content (owned) */
    size_t len;
    hs_csv_reader csv_r;
    FILE *f; /* JSON lines */
    size_t line;
    hs_streamid *sid; /* from the file name (stream mode) or the meta pairs (columns mode) */
    char **headers;   /* CSV column names (owned) */
    size_t nheaders;
    size_t tcol;          /* time column */
    size_t instances;     /* instances handed to the writer */
    size_t rejected;      /* lines with at least one rejection */
    size_t last_rejected; /* line of the last rejection, so a line counts once */
    FILE *errors;         /* report of rejected lines, opened on the first one */
    bool reading_done;
} current;

struct ingest_files {
    ingest *in;
    hs_service *svc;
    const ingest_cfg *cfg;
    hs_log *log;
    char dir[512], work[800], done[600], failed[600];
    hs_map seen; /* name -> seen* (owned) */
    current cur;
    bool busy;
    hs_batch one;
    hs_buf vbuf, sbuf, line;
    int ino_fd;           /* inotify descriptor (owned), or -1: the scan alone */
    int64_t next_scan_us; /* monotonic time of the next scan */
    uint64_t scan_gen;    /* scans done */
    char **queue;         /* claimed files (in .work/) in reading order; owned names */
    size_t qhead, nqueue, capqueue;
    waiting *wait; /* files read whole, in the order they ended (owned array) */
    size_t nwait, capwait;
};

static int mkdir_p(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static bool has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && strcasecmp(name + n - e, ext) == 0;
}

static bool wanted(const char *name)
{
    if (name[0] == '.')
        return false;
    return has_ext(name, ".csv") || has_ext(name, ".jsonl") || has_ext(name, ".ndjson") ||
           has_ext(name, ".json");
}

/* Records a rejected line in the report and on the dead-letter topic. */
static void reject_line(ingest_files *fs, const char *reason, const char *text, size_t len)
{
    current *c = &fs->cur;
    if (c->rejected == 0 || c->last_rejected != c->line)
        c->rejected++;
    c->last_rejected = c->line;
    if (c->errors == NULL) {
        char p[1100];
        snprintf(p, sizeof p, "%s/%s.errors", fs->failed, c->name);
        c->errors = fopen(p, "w");
    }
    if (c->errors != NULL)
        fprintf(c->errors, "line %zu: %s\n", c->line, reason);
    char topic[400], full[700];
    snprintf(topic, sizeof topic, "file:%s:%zu", c->name, c->line);
    snprintf(full, sizeof full, "%s line %zu: %s", c->name, c->line, reason);
    hs_service_dead_letter_as(fs->svc, full, topic, NULL, HS_PAYLOAD_TEXT, text, len);
}

/* The stream id of a file's base name: "name,k=v,k=v" (stream mode) or only pairs (columns). */
static int name_to_sid(const char *base, bool columns, hs_streamid **out)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", base);
    char *dot = strrchr(tmp, '.');
    if (dot != NULL)
        *dot = '\0';
    if (!columns) {
        for (char *p = tmp; *p; p++)
            if (*p == ',')
                *p = '/';
        return hs_streamid_parse(tmp, strlen(tmp), out);
    }
    /* Columns mode: keep only the k=v parts; the stream name is a placeholder. */
    char ids[300] = "columns";
    char *save = NULL;
    for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strchr(tok, '=') != NULL) {
            strncat(ids, "/", sizeof ids - strlen(ids) - 1);
            strncat(ids, tok, sizeof ids - strlen(ids) - 1);
        }
    }
    return hs_streamid_parse(ids, strlen(ids), out);
}

/* Converts one CSV cell into a canonical value: empty -> nil, number, bool, else string. */
static int cell_value(const char *s, size_t len, hs_buf *out)
{
    if (len == 0)
        return hs_mp_put_nil(out);
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
        return hs_mp_put_bool(out, s[0] == 't');
    size_t mark = out->len;
    if ((s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && hs_json_to_mpack(s, len, out) == HS_OK)
        return HS_OK;
    out->len = mark;
    return hs_mp_put_str(out, s, len);
}

/* Writes the summary, moves a file read whole to done/ or failed/ and logs it. */
static void finish(ingest_files *fs, const waiting *w, const char *why)
{
    bool ok = w->rejected == 0 && why == NULL;
    char to[1100];
    snprintf(to, sizeof to, "%s/%s", ok ? fs->done : fs->failed, w->name);
    FILE *errors = NULL;
    if (!ok) {
        char p[1100];
        snprintf(p, sizeof p, "%s/%s.errors", fs->failed, w->name);
        errors = fopen(p, "a");
        if (errors == NULL)
            hs_error(fs->log, "cannot write %s: %s", p, strerror(errno));
    }
    if (errors != NULL && why != NULL)
        fprintf(errors, "%s\n", why);
    if (errors != NULL && w->instances == 0) {
        /* Nothing stored (refused whole, or every line rejected): nothing stays behind. */
        fprintf(errors,
                "summary: 0 instances stored, %zu lines rejected%s; nothing of this file is "
                "stored: drop the corrected file again\n",
                w->rejected, why != NULL ? ", the file refused whole" : "");
    } else if (errors != NULL) {
        /* The stored part stays stored: say so, and that a corrected file may come again whole. */
        fprintf(errors,
                "summary: %zu instances stored, %zu lines rejected; the stored instances stay "
                "stored, and dropping the corrected file again whole stores nothing twice\n",
                w->instances, w->rejected);
    }
    if (errors != NULL && fclose(errors) != 0)
        hs_error(fs->log, "cannot write the report of %s: %s", w->name, strerror(errno));
    if (rename(w->path, to) != 0)
        hs_error(fs->log, "cannot move %s to %s: %s", w->path, to, strerror(errno));
    if (ok)
        hs_info(fs->log, "file %s: %zu instances stored, 0 lines rejected; moved to done/", w->name,
                w->instances);
    else
        hs_warn(fs->log,
                "file %s: %zu instances stored, %zu lines rejected%s%s; moved to failed/, see "
                "%s.errors",
                w->name, w->instances, w->rejected, why ? ": " : "", why ? why : "", to);
}

static void cur_reset(ingest_files *fs)
{
    current *c = &fs->cur;
    if (c->f != NULL)
        fclose(c->f);
    if (c->errors != NULL)
        fclose(c->errors);
    if (c->csv)
        hs_csv_free(&c->csv_r);
    hs_free(c->data);
    for (size_t i = 0; i < c->nheaders; i++)
        hs_free(c->headers[i]);
    hs_free(c->headers);
    hs_streamid_destroy(c->sid);
    memset(c, 0, sizeof *c);
    fs->busy = false;
}

/*
 * Ends the reading of the current file (why: it is refused whole, else
 * NULL). A file that handed instances to the writer waits for their
 * acknowledgement in fs->wait; any other is moved at once.
 */
static void cur_done(ingest_files *fs, const char *why)
{
    current *c = &fs->cur;
    if (c->errors != NULL) {
        if (fclose(c->errors) != 0)
            hs_error(fs->log, "cannot write the report of %s: %s", c->name, strerror(errno));
        c->errors = NULL;
    }
    waiting w = {.instances = c->instances, .rejected = c->rejected};
    snprintf(w.name, sizeof w.name, "%s", c->name);
    snprintf(w.path, sizeof w.path, "%s", c->path);
    cur_reset(fs);
    if (why != NULL || w.instances == 0) {
        finish(fs, &w, why);
        return;
    }
    /* Everything is handed over: the file is done once the writer acknowledged it. */
    if (ingest_flush_all(fs->in) != HS_OK) {
        /* A batch could not be handed to the writer (logged): the file is not done. */
        finish(fs, &w,
               "some of its instances could not be handed to the writer (see the ingest log); "
               "the instances counted below may not all be stored: drop the file again");
        return;
    }
    w.seq = ingest_last_seq(fs->in);
    if (fs->nwait == fs->capwait) {
        size_t cap = fs->capwait ? fs->capwait * 2 : 64;
        waiting *nw = hs_realloc(fs->wait, cap * sizeof *nw);
        if (nw == NULL) {
            /* Its writes are idempotent: reading it again at the next start stores nothing twice.
             */
            hs_error(fs->log,
                     "out of memory: file %s stays in %s and is read again at the next start",
                     w.name, fs->work);
            return;
        }
        fs->wait = nw;
        fs->capwait = cap;
    }
    fs->wait[fs->nwait++] = w;
}

/* The UTF-8 byte order mark that spreadsheet programs write at the start of a file. */
static const char UTF8_BOM[] = "\xef\xbb\xbf";

/* True when a file of these first bytes starts with a UTF-8 byte order mark. */
static bool starts_with_bom(const char *s, size_t len)
{
    return len >= 3 && memcmp(s, UTF8_BOM, 3) == 0;
}

/* A time cell: ISO-8601 or epoch seconds. */
static int parse_time(const char *s, size_t len, int64_t *t)
{
    if (hs_time_parse_iso(s, len, t) == HS_OK)
        return HS_OK;
    return hs_time_parse_epoch(s, len, t);
}

/*
 * Reads the first record of a CSV file: a header naming the columns, or,
 * when its first field is a time, the first data line of a file without a
 * header, which then has two columns, time and value ("t" and "v"). In the
 * second case the reader is rewound so that the line is read as data.
 * Returns HS_OK, or HS_ERR_PARSE with why filled (nothing of the file is
 * then stored), or HS_ERR_NOMEM.
 */
static int csv_header(ingest_files *fs, char *why, size_t cap)
{
    current *c = &fs->cur;
    hs_csv_field *hf;
    size_t n;
    bool done;
    int rc = hs_csv_next(&c->csv_r, &hf, &n, &done);
    if (rc != HS_OK || done || n < 2) {
        snprintf(why, cap, "a CSV file needs a time column and a value column (%s)",
                 rc != HS_OK ? hs_err_detail()
                 : done      ? "the file is empty"
                             : "one column only");
        return HS_ERR_PARSE;
    }
    int64_t t;
    bool headerless = parse_time(hf[0].s, hf[0].len, &t) == HS_OK;
    static const char *const tv[] = {"t", "v"};
    if (headerless && (n != 2 || c->columns)) {
        snprintf(why, cap,
                 "line 1 is data (its first field is a time), and a file without a header "
                 "must have two columns, time and value%s; add a header line naming the "
                 "columns",
                 c->columns ? " (and file_mode columns needs column names)" : "");
        return HS_ERR_PARSE;
    }
    c->headers = hs_calloc(n, sizeof *c->headers);
    if (c->headers == NULL)
        return HS_ERR_NOMEM;
    c->nheaders = n;
    c->tcol = 0;
    for (size_t i = 0; i < n; i++) {
        const char *h = headerless ? tv[i] : hf[i].s;
        c->headers[i] = hs_strdup(h);
        if (c->headers[i] == NULL)
            return HS_ERR_NOMEM;
        if (strcasecmp(h, "t") == 0 || strcasecmp(h, "time") == 0 ||
            strcasecmp(h, "timestamp") == 0 || strcasecmp(h, "datetime") == 0)
            c->tcol = i;
    }
    if (c->columns) {
        for (size_t i = 0; i < n; i++) {
            if (i != c->tcol && hs_streamid_check_part(hf[i].s, hf[i].len, "name") != HS_OK) {
                snprintf(why, cap, "column '%s' cannot name a stream: %s", hf[i].s,
                         hs_err_detail());
                return HS_ERR_PARSE;
            }
        }
    }
    if (headerless) {
        hs_csv_free(&c->csv_r);
        hs_csv_init(&c->csv_r, c->data, c->len);
        c->line = 0;
    } else {
        c->line = 1;
    }
    return HS_OK;
}

static int cur_open(ingest_files *fs, const char *name, const char *path)
{
    current *c = &fs->cur;
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->csv = has_ext(name, ".csv");
    c->columns = strcmp(fs->cfg->file_mode, "columns") == 0;
    fs->busy = true;
    int rc = name_to_sid(name, c->columns, &c->sid);
    if (rc != HS_OK) {
        char why[700];
        snprintf(why, sizeof why, "file name does not give a stream id: %s", hs_err_detail());
        cur_done(fs, why);
        return rc;
    }
    if (c->csv) {
        FILE *f = fopen(path, "rb");
        struct stat st;
        if (f == NULL || fstat(fileno(f), &st) != 0) {
            if (f)
                fclose(f);
            cur_done(fs, "cannot read the file");
            return HS_ERR_IO;
        }
        c->len = (size_t)st.st_size;
        c->data = hs_malloc(c->len + 1);
        if (c->data == NULL || fread(c->data, 1, c->len, f) != c->len) {
            fclose(f);
            cur_done(fs, "cannot read the file");
            return HS_ERR_IO;
        }
        fclose(f);
        /* A byte order mark is not part of the first field: with it, a file without a
         * header would have its first line taken for a header (and lost). */
        if (starts_with_bom(c->data, c->len)) {
            memmove(c->data, c->data + 3, c->len - 3);
            c->len -= 3;
        }
        hs_csv_init(&c->csv_r, c->data, c->len);
        char why[800];
        rc = csv_header(fs, why, sizeof why);
        if (rc == HS_ERR_NOMEM) {
            cur_done(fs, "out of memory");
            return rc;
        }
        if (rc != HS_OK) {
            cur_done(fs, why);
            return rc;
        }
    } else {
        c->f = fopen(path, "rb");
        if (c->f == NULL) {
            cur_done(fs, "cannot read the file");
            return HS_ERR_IO;
        }
        /* Skip a byte order mark, as in a CSV file; otherwise start again at byte 0. */
        char head[3];
        if (fread(head, 1, sizeof head, c->f) != sizeof head || !starts_with_bom(head, 3))
            rewind(c->f);
    }
    hs_info(fs->log, "reading file %s", name);
    return HS_OK;
}

/*
 * True when the value fails an input schema of sid: the line is then
 * rejected with the schema's message (the reading as a JSON line).
 */
static bool add_schema_rejects(ingest_files *fs, const char *sid, int64_t t, const uint8_t *v,
                               size_t len)
{
    hs_buf why, line;
    hs_buf_init(&why, 0);
    hs_buf_init(&line, 0);
    bool bad = ingest_schema_check(ingest_schemas(fs->in), fs->svc, sid, v, len, &why) != HS_OK;
    if (bad) {
        if (hs_codec_encode_json_line(t, v, len, &line) != HS_OK)
            hs_buf_reset(&line);
        char reason[1000];
        snprintf(reason, sizeof reason, "stream %s: %s", sid, hs_buf_cstr(&why));
        reject_line(fs, reason, (const char *)line.data, line.len);
    }
    hs_buf_free(&why);
    hs_buf_free(&line);
    return bad;
}

/*
 * Adds one instance of value bytes to stream sid. HS_ERR_SCHEMA when it fails
 * an input schema: the line is rejected and reported already.
 */
static int add_one(ingest_files *fs, const char *sid, int64_t t, const uint8_t *v, size_t len)
{
    if (add_schema_rejects(fs, sid, t, v, len))
        return HS_ERR_SCHEMA;
    hs_batch_reset(&fs->one);
    int rc = hs_batch_push(&fs->one, t, v, len);
    if (rc == HS_OK)
        rc = ingest_add(fs->in, sid, &fs->one);
    if (rc == HS_OK)
        fs->cur.instances++;
    return rc;
}

/* The id of the stream for column `name` in columns mode. */
static const char *column_sid(ingest_files *fs, const char *name)
{
    hs_streamid *sid = fs->cur.sid;
    hs_buf_reset(&fs->sbuf);
    hs_buf_puts(&fs->sbuf, name);
    for (size_t i = 0; i < sid->n_meta; i++)
        hs_buf_printf(&fs->sbuf, "/%s=%s", sid->meta[i].key, sid->meta[i].value);
    return hs_buf_cstr(&fs->sbuf);
}

static void csv_record(ingest_files *fs, hs_csv_field *f, size_t n)
{
    current *c = &fs->cur;
    char why[600];
    if (n != c->nheaders) {
        snprintf(why, sizeof why, "%zu fields, the header has %zu", n, c->nheaders);
        reject_line(fs, why, f[0].s, f[0].len);
        return;
    }
    int64_t t;
    if (parse_time(f[c->tcol].s, f[c->tcol].len, &t) != HS_OK) {
        snprintf(why, sizeof why, "time '%.64s' is not ISO-8601 or epoch seconds", f[c->tcol].s);
        reject_line(fs, why, f[c->tcol].s, f[c->tcol].len);
        return;
    }
    if (c->columns) {
        for (size_t i = 0; i < n; i++) {
            if (i == c->tcol)
                continue;
            hs_buf_reset(&fs->vbuf);
            int rc = cell_value(f[i].s, f[i].len, &fs->vbuf);
            if (rc == HS_OK)
                rc = add_one(fs, column_sid(fs, c->headers[i]), t, fs->vbuf.data, fs->vbuf.len);
            if (rc != HS_OK && rc != HS_ERR_SCHEMA) {
                snprintf(why, sizeof why, "column '%.64s': %s", c->headers[i], hs_strerror(rc));
                reject_line(fs, why, f[i].s, f[i].len);
            }
        }
        return;
    }
    hs_buf_reset(&fs->vbuf);
    int rc = HS_OK;
    if (n == 2) {
        rc = cell_value(f[1 - c->tcol].s, f[1 - c->tcol].len, &fs->vbuf);
    } else {
        rc = hs_mp_put_map(&fs->vbuf, (uint32_t)(n - 1));
        for (size_t i = 0; rc == HS_OK && i < n; i++) {
            if (i == c->tcol)
                continue;
            rc = hs_mp_put_cstr(&fs->vbuf, c->headers[i]);
            if (rc == HS_OK)
                rc = cell_value(f[i].s, f[i].len, &fs->vbuf);
        }
    }
    if (rc == HS_OK)
        rc = add_one(fs, c->sid->canon, t, fs->vbuf.data, fs->vbuf.len);
    if (rc != HS_OK && rc != HS_ERR_SCHEMA) {
        snprintf(why, sizeof why, "cannot store the line: %s", hs_strerror(rc));
        reject_line(fs, why, f[0].s, f[0].len);
    }
}

static void jsonl_record(ingest_files *fs, const char *text, size_t len)
{
    current *c = &fs->cur;
    hs_batch b;
    hs_batch_init(&b);
    int rc = hs_codec_decode_text(text, len, hs_time_now_us(), &b);
    if (rc != HS_OK) {
        reject_line(fs, hs_err_detail(), text, len);
        hs_batch_free(&b);
        return;
    }
    for (size_t i = 0; i < b.n; i++) {
        const uint8_t *v = hs_batch_value(&b, i);
        if (!c->columns) {
            rc = add_one(fs, c->sid->canon, b.items[i].t_us, v, b.items[i].len);
            if (rc != HS_OK && rc != HS_ERR_SCHEMA)
                reject_line(fs, hs_strerror(rc), text, len);
            continue;
        }
        /* Columns mode: every key of a map value is a stream. */
        hs_mp_reader r;
        uint32_t np;
        hs_mp_reader_init(&r, v, b.items[i].len);
        if (hs_mp_get_map(&r, &np) != HS_OK) {
            reject_line(fs, "in columns mode every value must be a JSON object", text, len);
            continue;
        }
        for (uint32_t k = 0; k < np; k++) {
            const char *key;
            uint32_t kl;
            const uint8_t *val;
            size_t vl;
            if (hs_mp_get_str(&r, &key, &kl) != HS_OK || hs_mp_get_raw(&r, &val, &vl) != HS_OK) {
                reject_line(fs, "a key of the object is not a string", text, len);
                break;
            }
            char name[HS_SID_MAX_PART + 1];
            if (kl > HS_SID_MAX_PART || hs_streamid_check_part(key, kl, "name") != HS_OK) {
                reject_line(fs, "a key of the object cannot name a stream", text, len);
                continue;
            }
            memcpy(name, key, kl);
            name[kl] = '\0';
            rc = add_one(fs, column_sid(fs, name), b.items[i].t_us, val, vl);
            if (rc != HS_OK && rc != HS_ERR_SCHEMA)
                reject_line(fs, hs_strerror(rc), text, len);
        }
    }
    hs_batch_free(&b);
}

/*
 * Reads records of the current file until it ends or the round's budget of
 * lines (*rows) or bytes (*bytes) is spent; both are decreased.
 */
static void cur_step(ingest_files *fs, int64_t *rows, int64_t *bytes)
{
    current *c = &fs->cur;
    while (*rows > 0 && *bytes > 0 && !c->reading_done) {
        (*rows)--;
        if (c->csv) {
            hs_csv_field *f;
            size_t n;
            bool done;
            const char *from = c->csv_r.p;
            int rc = hs_csv_next(&c->csv_r, &f, &n, &done);
            *bytes -= (int64_t)(c->csv_r.p - from);
            c->line = hs_csv_line(&c->csv_r);
            if (rc != HS_OK) {
                reject_line(fs, hs_err_detail(), "", 0);
                continue;
            }
            if (done) {
                c->reading_done = true;
                break;
            }
            csv_record(fs, f, n);
        } else {
            hs_buf_reset(&fs->line);
            int ch;
            bool eof = false;
            int64_t nread = 0;
            while ((ch = fgetc(c->f)) != EOF && ch != '\n') {
                nread++;
                if (fs->line.len < FILES_MAX_LINE)
                    hs_buf_putc(&fs->line, (uint8_t)ch);
            }
            *bytes -= nread + 1;
            if (ch == EOF)
                eof = true;
            c->line++;
            size_t len = fs->line.len;
            while (len > 0 && (fs->line.data[len - 1] == '\r' || fs->line.data[len - 1] == ' '))
                len--;
            if (len > 0) {
                if (fs->line.len >= FILES_MAX_LINE)
                    reject_line(fs, "line longer than 16 MiB", "", 0);
                else
                    jsonl_record(fs, (const char *)fs->line.data, len);
            }
            if (eof) {
                c->reading_done = true;
                break;
            }
        }
    }
    if (c->reading_done)
        cur_done(fs, NULL);
}

/* The entry of name in fs->seen, created when absent; NULL when out of memory. */
static seen *seen_get(ingest_files *fs, const char *name)
{
    seen *s = hs_map_get(&fs->seen, name);
    if (s != NULL)
        return s;
    s = hs_calloc(1, sizeof *s);
    if (s == NULL || hs_map_put(&fs->seen, name, s, NULL) != HS_OK) {
        hs_free(s);
        return NULL;
    }
    return s;
}

/*
 * Reads the pending inotify events into fs->seen. Returns true when a file
 * became complete (closed after writing, or moved in).
 */
static bool ino_drain(ingest_files *fs)
{
    char buf[16384];
    bool any = false;
    for (int k = 0; k < FILES_INOTIFY_READS; k++) {
        ssize_t n = read(fs->ino_fd, buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                hs_warn(fs->log, "reading inotify events of %s: %s", fs->dir, strerror(errno));
            break;
        }
        size_t off = 0;
        while (off + sizeof(struct inotify_event) <= (size_t)n) {
            struct inotify_event ev;
            memcpy(&ev, buf + off, sizeof ev);
            const char *name = buf + off + sizeof ev;
            off += sizeof ev + ev.len;
            if (ev.mask & IN_Q_OVERFLOW) {
                /* Events were lost: forget what they said, and let a scan look now. */
                size_t pos = 0;
                hs_map_entry *e;
                while ((e = hs_map_next(&fs->seen, &pos)) != NULL)
                    ((seen *)e->value)->writing = false;
                fs->next_scan_us = 0;
                hs_warn(fs->log, "inotify events of %s were lost; scanning", fs->dir);
                continue;
            }
            if (ev.len == 0 || off > (size_t)n || !wanted(name))
                continue;
            seen *s = seen_get(fs, name);
            if (s == NULL)
                continue; /* the scan finds it later */
            if (ev.mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
                s->closed = true;
                s->writing = false;
                any = true;
            } else if (ev.mask & IN_MODIFY) {
                s->closed = false;
                s->writing = true;
            }
        }
    }
    return any;
}

/* Updates fs->seen from a listing of the directory; forgets files that are gone. */
static void scan(ingest_files *fs, int64_t now)
{
    DIR *d = opendir(fs->dir);
    if (d == NULL) {
        hs_warn(fs->log, "cannot list %s: %s", fs->dir, strerror(errno));
        return;
    }
    fs->scan_gen++;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!wanted(e->d_name))
            continue;
        char p[1100];
        snprintf(p, sizeof p, "%s/%s", fs->dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        seen *s = seen_get(fs, e->d_name);
        if (s == NULL)
            continue;
        s->scan_gen = fs->scan_gen;
        if (s->stable_since_us == 0 || s->size != st.st_size || s->mtime_ns != mt) {
            s->size = st.st_size;
            s->mtime_ns = mt;
            s->stable_since_us = now;
        }
    }
    closedir(d);
    /* Entries of files that are gone (taken by a replica, removed). */
    size_t pos = 0;
    hs_map_entry *me;
    while ((me = hs_map_next(&fs->seen, &pos)) != NULL) {
        seen *s = me->value;
        if (s->scan_gen != fs->scan_gen && !s->closed && !s->writing)
            hs_free(hs_map_remove(&fs->seen, me->key));
    }
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends a claimed file to the reading queue (name copied). HS_ERR_NOMEM. */
static int queue_push(ingest_files *fs, const char *name)
{
    if (fs->nqueue == fs->capqueue) {
        size_t cap = fs->capqueue ? fs->capqueue * 2 : 64;
        char **nq = hs_realloc(fs->queue, cap * sizeof *nq);
        if (nq == NULL)
            return HS_ERR_NOMEM;
        fs->queue = nq;
        fs->capqueue = cap;
    }
    char *copy = hs_strdup(name);
    if (copy == NULL)
        return HS_ERR_NOMEM;
    fs->queue[fs->nqueue++] = copy;
    return HS_OK;
}

/*
 * One round of claims: the complete files (inotify) and the settled ones
 * (scan path) are renamed into the work directory in name order, up to
 * inbox_files_per_round, and queued for reading. The others wait for the
 * next round.
 */
static void claim_round(ingest_files *fs, int64_t now)
{
    size_t n = 0;
    char **names = hs_calloc(fs->seen.n + 1, sizeof *names); /* borrowed keys */
    if (names == NULL)
        return; /* the next round tries again */
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&fs->seen, &pos)) != NULL) {
        const seen *s = e->value;
        bool settled = s->stable_since_us != 0 && !s->writing &&
                       now - s->stable_since_us >= fs->cfg->file_settle_us;
        if ((s->closed || settled) && n < fs->seen.n)
            names[n++] = e->key;
    }
    qsort(names, n, sizeof *names, cmp_name);
    size_t limit = n;
    if (fs->cfg->inbox_files_per_round > 0 && (size_t)fs->cfg->inbox_files_per_round < n)
        limit = (size_t)fs->cfg->inbox_files_per_round;
    /* The keys belong to the map: copy the chosen names before their entries go. */
    char(*take)[256] = hs_calloc(limit + 1, sizeof *take); /* owned */
    if (take == NULL) {
        hs_free(names);
        return;
    }
    for (size_t i = 0; i < limit; i++)
        snprintf(take[i], sizeof take[i], "%s", names[i]);
    hs_free(names);
    for (size_t i = 0; i < limit; i++) {
        hs_free(hs_map_remove(&fs->seen, take[i]));
        char from[1100], to[1100];
        snprintf(from, sizeof from, "%s/%s", fs->dir, take[i]);
        snprintf(to, sizeof to, "%s/%s", fs->work, take[i]);
        struct stat st;
        if (lstat(from, &st) != 0 || !S_ISREG(st.st_mode))
            continue; /* gone (another replica took it), or not a plain file */
        if (rename(from, to) != 0) {
            if (errno != ENOENT)
                hs_warn(fs->log, "cannot claim %s: %s", from, strerror(errno));
            continue;
        }
        if (queue_push(fs, take[i]) != HS_OK && rename(to, from) != 0)
            /* Out of memory: the file goes back; a later round takes it. */
            hs_error(fs->log, "cannot give back %s: %s", to, strerror(errno));
    }
    hs_free(take);
}

void ingest_files_reap(ingest_files *fs)
{
    size_t k = 0;
    for (size_t i = 0; i < fs->nwait; i++) {
        if (ingest_acked(fs->in, fs->wait[i].seq))
            finish(fs, &fs->wait[i], NULL);
        else
            fs->wait[k++] = fs->wait[i];
    }
    fs->nwait = k;
}

bool ingest_files_work(ingest_files *fs)
{
    bool round = fs->ino_fd >= 0 && ino_drain(fs);
    int64_t now = hs_time_mono_us();
    if (now >= fs->next_scan_us) {
        scan(fs, now);
        fs->next_scan_us = now + fs->cfg->watch_interval_us;
        round = true;
    }
    if (round)
        claim_round(fs, now);
    ingest_files_reap(fs);
    int64_t rows = fs->cfg->inbox_round_rows > 0 ? fs->cfg->inbox_round_rows : 1;
    int64_t bytes = fs->cfg->inbox_round_bytes > 0 ? fs->cfg->inbox_round_bytes : 1;
    while (rows > 0 && bytes > 0 && fs->nwait < FILES_MAX_WAITING) {
        if (fs->busy) {
            cur_step(fs, &rows, &bytes);
            continue;
        }
        if (fs->qhead == fs->nqueue)
            break;
        char *name = fs->queue[fs->qhead++]; /* owned */
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", fs->work, name);
        (void)cur_open(fs, name, path);
        hs_free(name);
    }
    if (fs->qhead == fs->nqueue)
        fs->qhead = fs->nqueue = 0;
    return (fs->busy || fs->qhead < fs->nqueue) && fs->nwait < FILES_MAX_WAITING;
}

/*
 * Queues the files an earlier run left in the work directory (claimed, not
 * yet moved out), in name order: they are read again from the start.
 */
static int queue_leftovers(ingest_files *fs)
{
    DIR *d = opendir(fs->work);
    if (d == NULL)
        return hs_err_set(HS_ERR_IO, "cannot list %s: %s", fs->work, strerror(errno));
    struct dirent *e;
    int rc = HS_OK;
    while (rc == HS_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        hs_info(fs->log, "resuming file %s left by an earlier run", e->d_name);
        rc = queue_push(fs, e->d_name);
    }
    closedir(d);
    if (rc != HS_OK)
        return hs_err_set(rc, "cannot queue the files of %s", fs->work);
    if (fs->nqueue > 1) /* an empty queue has no array to give qsort */
        qsort(fs->queue, fs->nqueue, sizeof *fs->queue, cmp_name);
    return HS_OK;
}

int ingest_files_create(ingest_files **out, ingest *in, hs_service *svc, const ingest_cfg *cfg)
{
    *out = NULL;
    ingest_files *fs = hs_calloc(1, sizeof *fs);
    if (fs == NULL)
        return HS_ERR_NOMEM;
    fs->in = in;
    fs->svc = svc;
    fs->cfg = cfg;
    fs->log = hs_service_log(svc);
    fs->ino_fd = -1;
    hs_map_init(&fs->seen);
    hs_batch_init(&fs->one);
    hs_buf_init(&fs->vbuf, 0);
    hs_buf_init(&fs->sbuf, 0);
    hs_buf_init(&fs->line, 0);
    if (strcmp(cfg->file_mode, "stream") != 0 && strcmp(cfg->file_mode, "columns") != 0) {
        hs_free(fs);
        return hs_err_set(HS_ERR_CONFIG, "file_mode must be 'stream' or 'columns', not '%s'",
                          cfg->file_mode);
    }
    snprintf(fs->dir, sizeof fs->dir, "%s", cfg->watch_dir);
    snprintf(fs->work, sizeof fs->work, "%s/.work/%s", fs->dir, cfg->common.service_id);
    snprintf(fs->done, sizeof fs->done, "%s/done", fs->dir);
    snprintf(fs->failed, sizeof fs->failed, "%s/failed", fs->dir);
    if (mkdir_p(fs->dir) != 0 || mkdir_p(fs->work) != 0 || mkdir_p(fs->done) != 0 ||
        mkdir_p(fs->failed) != 0) {
        int rc = hs_err_set(HS_ERR_IO, "cannot create the directories under %s: %s", fs->dir,
                            strerror(errno));
        ingest_files_destroy(fs);
        return rc;
    }
    int rc = queue_leftovers(fs);
    if (rc != HS_OK) {
        ingest_files_destroy(fs);
        return rc;
    }
    if (cfg->inbox_watch) {
        fs->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fs->ino_fd < 0 ||
            inotify_add_watch(fs->ino_fd, fs->dir,
                              IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY | IN_ONLYDIR) < 0) {
            hs_warn(fs->log, "no inotify on %s (%s): files are found by the scan every %lld ms",
                    fs->dir, strerror(errno), (long long)(cfg->watch_interval_us / 1000));
            if (fs->ino_fd >= 0)
                close(fs->ino_fd);
            fs->ino_fd = -1;
        }
    }
    *out = fs;
    return HS_OK;
}

void ingest_files_destroy(ingest_files *fs)
{
    if (fs == NULL)
        return;
    if (fs->busy)
        cur_reset(fs);
    if (fs->ino_fd >= 0)
        close(fs->ino_fd);
    for (size_t i = fs->qhead; i < fs->nqueue; i++)
        hs_free(fs->queue[i]);
    hs_free(fs->queue);
    hs_free(fs->wait);
    size_t pos = 0;
    hs_map_entry *e;
    while ((e = hs_map_next(&fs->seen, &pos)) != NULL)
        hs_free(e->value);
    hs_map_free(&fs->seen);
    hs_batch_free(&fs->one);
    hs_buf_free(&fs->vbuf);
    hs_buf_free(&fs->sbuf);
    hs_buf_free(&fs->line);
    hs_free(fs);
}
