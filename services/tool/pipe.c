/* Pipe mode of the tool runtime: one tool as a UNIX filter (see pipe.h). */
#include "pipe.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIPE_READ_BLOCK  ((size_t)1 << 20)  /* bytes asked from read() at once */
#define PIPE_MAX_ITEM    ((size_t)64 << 20) /* longest line or msgpack object */
#define PIPE_OUT_FLUSH   ((size_t)1 << 20)  /* output is written in pieces of about this */
#define PIPE_MAX_REPORTS 100                /* bad input reported one by one */

/* Exit codes. */
#define PIPE_OK      0
#define PIPE_EUSER   1
#define PIPE_ESYSTEM 2

/* Results of the readers besides exit codes. */
#define PIPE_ITEM 100 /* got an item */
#define PIPE_END  101 /* no more input */

/* One instance read from the input. */
typedef struct pipe_inst {
    int64_t t_us;
    uint64_t seq;  /* arrival order, breaks ties when sorting */
    uint64_t item; /* input line (or msgpack object) number */
    size_t off;    /* value bytes at store.data + off */
    uint32_t len;
} pipe_inst;

typedef struct pipe_ctx {
    const tool_pipe_opts *o; /* borrowed */
    const hs_tool_def *def;  /* borrowed */
    FILE *err;
    int in_fd, out_fd;
    bool streaming; /* per-instance tool run chunk by chunk */
    bool reads;     /* the tool reads stdin as source 0 */

    uint8_t *ib;  /* owned input buffer */
    size_t ilen;  /* bytes in ib */
    size_t ipos;  /* next unread byte */
    size_t icap;  /* bytes allocated */
    size_t iscan; /* bytes after ipos known to hold no newline */
    bool eof;
    uint64_t item;   /* number of the current line or object */
    uint64_t offset; /* input bytes dropped from the front of ib */

    pipe_inst *v; /* owned; n used, cap allocated */
    size_t n, cap;
    hs_buf store; /* value bytes of v */
    uint64_t seq;
    hs_batch tmp;         /* decoding one payload */
    int64_t read_us;      /* when the last block of input was read */
    int64_t last_arrival; /* the last arrival time given to a bare value */

    hs_buf params;        /* msgpack map, or empty */
    hs_streamid *src_id;  /* owned: "stdin" */
    hs_streamid *sink_id; /* owned: "stdout" */
    bool have_prev;       /* a job ran already */
    int64_t prev_end;     /* its end */

    hs_buf out; /* output not yet written */
    uint64_t bad;
} pipe_ctx;

/* ------------------------------------------------------------------ options */

static void pipe_usage(FILE *f)
{
    fputs("usage: hs-tool --pipe TOOL [--params JSON] [--msgpack] [--strict]\n"
          "               [--from T] [--to T] [--whole] [--chunk N] [--plugin-dir DIR]\n"
          "       hs-tool-TOOL --pipe [options]\n"
          "Runs TOOL as a filter: instances on stdin, the tool's output on stdout.\n"
          "  --params JSON    the tool's parameters, a JSON object\n"
          "  --msgpack        msgpack [t_us, v] arrays in and out (default: JSON lines\n"
          "                   {\"t\": ISO-8601 or epoch seconds, \"v\": ...})\n"
          "  --strict         stop at the first bad input line (default: report, skip)\n"
          "  --from T, --to T the interval (T, T] (ISO-8601 or epoch seconds); needed by\n"
          "                   tools without sources; input outside it is ignored\n"
          "  --whole          read all input before running (default for window tools)\n"
          "  --chunk N        instances per job of per-instance tools (default 65536)\n"
          "  --plugin-dir DIR load tool plugins from DIR (default: $HS_PLUGIN_DIR)\n",
          f);
}

static int pipe_time_arg(const char *s, int64_t *out)
{
    size_t len = strlen(s);
    return hs_time_parse_iso(s, len, out) == HS_OK || hs_time_parse_epoch(s, len, out) == HS_OK
               ? 0
               : -1;
}

int tool_pipe_parse(int argc, char **argv, const char *alias, tool_pipe_opts *o, FILE *out,
                    FILE *err)
{
    memset(o, 0, sizeof *o);
    o->tool = alias;
    o->chunk = TOOL_PIPE_CHUNK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        /* Options with a value, as "--opt VALUE" or "--opt=VALUE". */
        static const char *const with_value[] = {"--params", "--from",       "--to",
                                                 "--chunk",  "--plugin-dir", NULL};
        for (const char *const *w = with_value; *w != NULL; w++) {
            size_t wl = strlen(*w);
            if (strncmp(a, *w, wl) == 0 && (a[wl] == '\0' || a[wl] == '=')) {
                if (a[wl] == '=') {
                    val = a + wl + 1;
                } else if (i + 1 < argc) {
                    val = argv[++i];
                } else {
                    fprintf(err, "hs-tool: %s needs a value (hs-tool --pipe --help)\n", *w);
                    return 1;
                }
                a = *w;
                break;
            }
        }
        if (strcmp(a, "--pipe") == 0) {
            continue;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            pipe_usage(out);
            return -1;
        } else if (strcmp(a, "--msgpack") == 0) {
            o->msgpack = true;
        } else if (strcmp(a, "--strict") == 0) {
            o->strict = true;
        } else if (strcmp(a, "--whole") == 0) {
            o->whole = true;
        } else if (strcmp(a, "--params") == 0) {
            o->params_json = val;
        } else if (strcmp(a, "--plugin-dir") == 0) {
            o->plugin_dir = val;
        } else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) {
            bool from = a[2] == 'f';
            if (pipe_time_arg(val, from ? &o->from_us : &o->to_us) != 0) {
                fprintf(err, "hs-tool: %s '%s' is not a time (ISO-8601 or epoch seconds)\n", a,
                        val);
                return 1;
            }
            if (from)
                o->has_from = true;
            else
                o->has_to = true;
        } else if (strcmp(a, "--chunk") == 0) {
            char *end = NULL;
            long long n = strtoll(val, &end, 10);
            if (end == val || *end != '\0' || n < 1 || n > 100000000) {
                fprintf(err, "hs-tool: --chunk '%s' is not a number from 1 to 100000000\n", val);
                return 1;
            }
            o->chunk = (size_t)n;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(err, "hs-tool: unknown option '%s' in pipe mode (hs-tool --pipe --help)\n", a);
            return 1;
        } else if (o->tool == NULL) {
            o->tool = a;
        } else {
            fprintf(err, "hs-tool: unexpected argument '%s' (the tool is %s)\n", a, o->tool);
            return 1;
        }
    }
    if (o->tool == NULL) {
        fputs("hs-tool: --pipe needs the name of a tool\n", err);
        pipe_usage(err);
        return 1;
    }
    if (o->has_from && o->has_to && o->to_us <= o->from_us) {
        fputs("hs-tool: --to must be later than --from\n", err);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ input */

/* Reads more input into ib. PIPE_OK or PIPE_ESYSTEM. */
static int pipe_fill(pipe_ctx *c)
{
    if (c->ipos > 0) {
        memmove(c->ib, c->ib + c->ipos, c->ilen - c->ipos);
        c->ilen -= c->ipos;
        c->offset += c->ipos;
        c->ipos = 0;
    }
    if (c->icap - c->ilen < PIPE_READ_BLOCK / 2) {
        size_t cap = c->ilen + PIPE_READ_BLOCK;
        uint8_t *nb = hs_realloc(c->ib, cap);
        if (nb == NULL) {
            fputs("hs-tool: out of memory\n", c->err);
            return PIPE_ESYSTEM;
        }
        c->ib = nb;
        c->icap = cap;
    }
    ssize_t r;
    do {
        r = read(c->in_fd, c->ib + c->ilen, c->icap - c->ilen);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        fprintf(c->err, "hs-tool: reading the input failed: %s\n", strerror(errno));
        return PIPE_ESYSTEM;
    }
    if (r == 0)
        c->eof = true;
    c->ilen += (size_t)r;
    c->read_us = hs_time_now_us();
    return PIPE_OK;
}

/* The next line (without its end of line) in *p, *n: PIPE_ITEM, PIPE_END or an exit code. */
static int pipe_next_line(pipe_ctx *c, const char **p, size_t *n)
{
    for (;;) {
        const uint8_t *s = c->ib + c->ipos;
        size_t avail = c->ilen - c->ipos;
        const uint8_t *nl = avail > c->iscan ? memchr(s + c->iscan, '\n', avail - c->iscan) : NULL;
        if (nl != NULL || (c->eof && avail > 0)) {
            size_t len = nl != NULL ? (size_t)(nl - s) : avail;
            c->ipos += nl != NULL ? len + 1 : len;
            c->iscan = 0;
            c->item++;
            if (len > 0 && s[len - 1] == '\r')
                len--;
            *p = (const char *)s;
            *n = len;
            return PIPE_ITEM;
        }
        if (c->eof)
            return PIPE_END;
        c->iscan = avail;
        if (avail > PIPE_MAX_ITEM) {
            fprintf(c->err, "hs-tool: input line %llu is longer than %zu MiB\n",
                    (unsigned long long)c->item + 1, PIPE_MAX_ITEM >> 20);
            return PIPE_EUSER;
        }
        int rc = pipe_fill(c);
        if (rc != PIPE_OK)
            return rc;
    }
}

/* The next msgpack object in *p, *n: PIPE_ITEM, PIPE_END or an exit code. */
static int pipe_next_object(pipe_ctx *c, const uint8_t **p, size_t *n)
{
    for (;;) {
        size_t avail = c->ilen - c->ipos;
        if (avail > 0) {
            hs_mp_reader r;
            hs_mp_reader_init(&r, c->ib + c->ipos, avail);
            if (hs_mp_skip(&r) == HS_OK) {
                *p = c->ib + c->ipos;
                *n = avail - hs_mp_remaining(&r);
                c->ipos += *n;
                c->item++;
                return PIPE_ITEM;
            }
            /* 0xc1 is never msgpack; anything else may just be incomplete. */
            if (c->ib[c->ipos] == 0xc1 || c->eof || avail > PIPE_MAX_ITEM) {
                fprintf(c->err,
                        "hs-tool: input object %llu (byte %llu): %s msgpack; the rest of the "
                        "input cannot be read\n",
                        (unsigned long long)c->item + 1, (unsigned long long)(c->offset + c->ipos),
                        c->ib[c->ipos] == 0xc1 ? "not"
                        : c->eof               ? "truncated or malformed"
                                               : "an object larger than 64 MiB, or malformed");
                return PIPE_EUSER;
            }
        } else if (c->eof) {
            return PIPE_END;
        }
        int rc = pipe_fill(c);
        if (rc != PIPE_OK)
            return rc;
    }
}

/* Notes bad input; PIPE_OK to go on, PIPE_EUSER with --strict. */
static int pipe_bad(pipe_ctx *c, uint64_t item, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int pipe_bad(pipe_ctx *c, uint64_t item, const char *fmt, ...)
{
    c->bad++;
    if (c->bad <= PIPE_MAX_REPORTS || c->o->strict) {
        char msg[600];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        fprintf(c->err, "hs-tool: input %s %llu: %s%s\n", c->o->msgpack ? "object" : "line",
                (unsigned long long)item, msg, c->o->strict ? "" : "; skipped");
    } else if (c->bad == PIPE_MAX_REPORTS + 1) {
        fputs("hs-tool: more bad input follows; only the count is reported\n", c->err);
    }
    return c->o->strict ? PIPE_EUSER : PIPE_OK;
}

/* Keeps one instance of the current item (dropped when outside --from/--to). */
static int pipe_add(pipe_ctx *c, int64_t t, const uint8_t *v, size_t len)
{
    if ((c->o->has_from && t <= c->o->from_us) || (c->o->has_to && t > c->o->to_us))
        return PIPE_OK;
    if (hs_grow(&c->v, &c->cap, c->n + 1, sizeof *c->v, 4096) != HS_OK) {
        fputs("hs-tool: out of memory\n", c->err);
        return PIPE_ESYSTEM;
    }
    size_t off = c->store.len;
    if (len > UINT32_MAX || hs_buf_append(&c->store, v, len) != HS_OK) {
        fputs("hs-tool: out of memory\n", c->err);
        return PIPE_ESYSTEM;
    }
    c->v[c->n++] = (pipe_inst){t, c->seq++, c->item, off, (uint32_t)len};
    return PIPE_OK;
}

/* Every instance of a decoded payload. */
static int pipe_add_batch(pipe_ctx *c, const hs_batch *b)
{
    int rc = PIPE_OK;
    for (size_t i = 0; i < b->n && rc == PIPE_OK; i++)
        rc = pipe_add(c, b->items[i].t_us, hs_batch_value(b, i), b->items[i].len);
    return rc;
}

static int pipe_json_item(pipe_ctx *c, const char *p, size_t n)
{
    size_t k = 0;
    while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
        k++;
    if (k == n)
        return PIPE_OK; /* blank line */
    /*
     * Arrival times for bare values: the time the block was read, made
     * strictly increasing so that no two collide.
     */
    int64_t now = c->read_us;
    if (now <= c->last_arrival)
        now = c->last_arrival + 1;
    c->last_arrival = now;
    if (hs_codec_decode_json(p, n, now, &c->tmp) != HS_OK)
        return pipe_bad(c, c->item, "%s", hs_err_detail());
    return pipe_add_batch(c, &c->tmp);
}

static int pipe_mpack_item(pipe_ctx *c, const uint8_t *p, size_t n)
{
    /* The usual case [t_us, v] with a canonical v, without a copy into a batch. */
    hs_mp_reader r;
    hs_mp_reader_init(&r, p, n);
    uint32_t len = 0;
    hs_mp_type ty;
    int64_t t;
    const uint8_t *v;
    size_t vlen;
    if (hs_mp_get_array(&r, &len) == HS_OK && len == 2 && hs_mp_peek(&r, &ty) == HS_OK &&
        ty == HS_MP_INT && hs_mp_get_int(&r, &t) == HS_OK && t >= HS_TIME_MIN && t <= HS_TIME_MAX &&
        hs_mp_get_raw(&r, &v, &vlen) == HS_OK && hs_mp_at_end(&r) &&
        hs_value_check(v, vlen) == HS_OK)
        return pipe_add(c, t, v, vlen);
    if (hs_codec_decode_mpack(p, n, true, &c->tmp) != HS_OK)
        return pipe_bad(c, c->item, "%s", hs_err_detail());
    return pipe_add_batch(c, &c->tmp);
}

/* ------------------------------------------------------------------ jobs */

static int pipe_read(void *ud, size_t source, int64_t after, int64_t end, size_t max, hs_batch *out)
{
    pipe_ctx *c = ud;
    if (source != 0)
        return hs_err_set(HS_ERR_NOTFOUND, "pipe mode gives a tool one source only");
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->v[mid].t_us <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo, k = 0; i < c->n && k < max && c->v[i].t_us <= end; i++, k++) {
        int rc = hs_batch_push(out, c->v[i].t_us, c->store.data + c->v[i].off, c->v[i].len);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

/* Writes out the pending output. PIPE_OK or PIPE_ESYSTEM. */
static int pipe_flush_out(pipe_ctx *c)
{
    size_t done = 0;
    while (done < c->out.len) {
        ssize_t w = write(c->out_fd, c->out.data + done, c->out.len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(c->err, "hs-tool: writing the output failed: %s\n",
                    w < 0 ? strerror(errno) : "nothing written");
            return PIPE_ESYSTEM;
        }
        done += (size_t)w;
    }
    hs_buf_reset(&c->out);
    return PIPE_OK;
}

static int pipe_emit(pipe_ctx *c, const hs_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const uint8_t *v = hs_batch_value(b, i);
        size_t len = b->items[i].len;
        int rc;
        if (c->o->msgpack) {
            rc = hs_buf_putc(&c->out, 0x92);
            if (rc == HS_OK)
                rc = hs_mp_put_int(&c->out, b->items[i].t_us);
            if (rc == HS_OK)
                rc = hs_buf_append(&c->out, v, len);
        } else {
            rc = hs_codec_encode_json_line(b->items[i].t_us, v, len, &c->out);
        }
        if (rc != HS_OK) {
            fprintf(c->err, "hs-tool: %s: an output cannot be written: %s\n", c->def->name,
                    hs_err_detail());
            return rc == HS_ERR_NOMEM ? PIPE_ESYSTEM : PIPE_EUSER;
        }
        if (c->out.len >= PIPE_OUT_FLUSH && (rc = pipe_flush_out(c)) != PIPE_OK)
            return rc;
    }
    return PIPE_OK;
}

static int pipe_inst_cmp(const void *a, const void *b)
{
    const pipe_inst *x = a, *y = b;
    if (x->t_us != y->t_us)
        return x->t_us < y->t_us ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Runs one job over the instances collected so far: sorts them, drops (and
 * reports) the ones out of order and repeated timestamps, then runs the tool
 * over (start, end] and writes its output.
 */
static int pipe_job(pipe_ctx *c, bool last)
{
    bool sorted = true;
    for (size_t i = 1; i < c->n && sorted; i++)
        sorted = pipe_inst_cmp(&c->v[i - 1], &c->v[i]) < 0;
    if (!sorted)
        qsort(c->v, c->n, sizeof *c->v, pipe_inst_cmp);
    size_t k = 0;
    int rc = PIPE_OK;
    char iso[HS_TIME_ISO_MAX];
    for (size_t i = 0; i < c->n && rc == PIPE_OK; i++) {
        if (c->have_prev && c->v[i].t_us <= c->prev_end) {
            hs_time_format_iso(c->v[i].t_us, iso);
            rc = pipe_bad(c, c->v[i].item,
                          "%s is not later than input already processed (keep input in time "
                          "order)",
                          iso);
        } else if (k > 0 && c->v[k - 1].t_us == c->v[i].t_us) {
            hs_time_format_iso(c->v[i].t_us, iso);
            rc = pipe_bad(c, c->v[i].item, "a second value at %s (input %s %llu has one)", iso,
                          c->o->msgpack ? "object" : "line", (unsigned long long)c->v[k - 1].item);
        } else {
            c->v[k++] = c->v[i];
        }
    }
    if (rc != PIPE_OK)
        return rc;
    c->n = k;

    hs_interval iv;
    if (c->streaming) {
        if (c->n == 0)
            return PIPE_OK;
        iv.start = c->have_prev ? c->prev_end : c->o->has_from ? c->o->from_us : c->v[0].t_us - 1;
        iv.end = c->v[c->n - 1].t_us;
        if (last && c->o->has_to && c->o->to_us > iv.end)
            iv.end = c->o->to_us;
    } else {
        if (c->n == 0 && !(c->o->has_from && c->o->has_to))
            return PIPE_OK; /* nothing to run over */
        iv.start = c->o->has_from ? c->o->from_us : c->v[0].t_us - 1;
        iv.end = c->o->has_to ? c->o->to_us : c->v[c->n - 1].t_us;
    }
    if (iv.end <= iv.start)
        return PIPE_OK;

    hs_tool_job job = {
        .def = c->def,
        .interval = iv,
        .params = c->params.len > 0 ? c->params.data : NULL,
        .params_len = c->params.len,
        .sources = &c->src_id,
        .nsources = c->reads ? 1 : 0,
        .sinks = &c->sink_id,
        .nsinks = 1,
        .read = pipe_read,
        .read_ud = c,
    };
    hs_tool_output out;
    int trc = hs_tool_run(&job, &out);
    if (trc != HS_OK) {
        fprintf(c->err, "hs-tool: %s: %s\n", c->def->name, out.error);
        hs_tool_output_free(&out);
        return PIPE_EUSER;
    }
    if (out.warnings > 0)
        fprintf(c->err, "hs-tool: %s: warning: %s%s\n", c->def->name, out.warning,
                out.warnings > 1 ? " (and more like it)" : "");
    rc = out.nsinks > 0 ? pipe_emit(c, &out.per_sink[0]) : PIPE_OK;
    hs_tool_output_free(&out);
    c->have_prev = true;
    c->prev_end = iv.end;
    c->n = 0;
    hs_buf_reset(&c->store);
    return rc;
}

/* Per-instance tools can run over any cut of their input into jobs. */
static bool pipe_per_instance(const hs_tool_def *def)
{
    return def->map != NULL || strcmp(def->name, "apply") == 0;
}

static int pipe_check_tool(pipe_ctx *c)
{
    const hs_tool_def *d = c->def;
    const char *why = NULL;
    if (d->kind != HS_TOOL_PLAIN)
        why = "it is not a plain tool (aggregates, multi-output, selector and plate tools need "
              "a workflow)";
    else if (d->alignment || d->splitting)
        why = "it needs an alignment or a splitting stream";
    else if (d->min_sources > 1)
        why = "it needs more than one source";
    if (why != NULL) {
        fprintf(c->err, "hs-tool: %s cannot run in pipe mode: %s\n", d->name, why);
        return PIPE_EUSER;
    }
    c->reads = d->max_sources != 0;
    if (!c->reads && !(c->o->has_from && c->o->has_to)) {
        fprintf(c->err, "hs-tool: %s reads no input; give the interval with --from and --to\n",
                d->name);
        return PIPE_EUSER;
    }
    c->streaming = c->reads && !c->o->whole && pipe_per_instance(d);
    return PIPE_OK;
}

int tool_pipe_run(const tool_pipe_opts *o, const hs_tool_registry *tools, int in_fd, int out_fd,
                  FILE *err)
{
    pipe_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.err = err;
    c.in_fd = in_fd;
    c.out_fd = out_fd;
    c.last_arrival = INT64_MIN;
    hs_buf_init(&c.store, 0);
    hs_buf_init(&c.params, 0);
    hs_buf_init(&c.out, 0);
    hs_batch_init(&c.tmp);
    int rc = PIPE_OK;
    c.def = hs_tool_registry_find(tools, o->tool);
    if (c.def == NULL) {
        const char *dir = o->plugin_dir != NULL ? o->plugin_dir : getenv("HS_PLUGIN_DIR");
        fprintf(err,
                "hs-tool: unknown tool '%s': not built in, and no plugin of that name in %s%s\n",
                o->tool, dir != NULL && dir[0] != '\0' ? "the plugin directory " : "",
                dir != NULL && dir[0] != '\0' ? dir : "(no --plugin-dir, HS_PLUGIN_DIR unset)");
        rc = PIPE_EUSER;
    }
    if (rc == PIPE_OK)
        rc = pipe_check_tool(&c);
    if (rc == PIPE_OK && o->params_json != NULL &&
        hs_json_to_mpack(o->params_json, strlen(o->params_json), &c.params) != HS_OK) {
        fprintf(err, "hs-tool: --params is not a JSON object: %s\n", hs_err_detail());
        rc = PIPE_EUSER;
    }
    if (rc == PIPE_OK) {
        hs_buf msg;
        hs_buf_init(&msg, 0);
        if (hs_tool_check_params(c.def, c.params.data, c.params.len, &msg) != HS_OK) {
            fprintf(err, "hs-tool: %s\n", hs_buf_cstr(&msg));
            rc = PIPE_EUSER;
        }
        hs_buf_free(&msg);
    }
    if (rc == PIPE_OK && (hs_streamid_parse("stdin", 5, &c.src_id) != HS_OK ||
                          hs_streamid_parse("stdout", 6, &c.sink_id) != HS_OK))
        rc = PIPE_ESYSTEM;

    /* Read, run a job whenever a chunk is full (streaming), run the last one. */
    while (rc == PIPE_OK && c.reads) {
        int r;
        if (o->msgpack) {
            const uint8_t *p = NULL;
            size_t n = 0;
            r = pipe_next_object(&c, &p, &n);
            if (r == PIPE_ITEM)
                r = pipe_mpack_item(&c, p, n);
        } else {
            const char *p = NULL;
            size_t n = 0;
            r = pipe_next_line(&c, &p, &n);
            if (r == PIPE_ITEM)
                r = pipe_json_item(&c, p, n);
        }
        if (r == PIPE_END)
            break;
        rc = r;
        if (rc == PIPE_OK && c.streaming && c.n >= o->chunk)
            rc = pipe_job(&c, false);
    }
    if (rc == PIPE_OK)
        rc = pipe_job(&c, true);
    int frc = pipe_flush_out(&c);
    if (rc == PIPE_OK)
        rc = frc;
    if (rc == PIPE_OK && c.bad > 0)
        fprintf(err, "hs-tool: %llu bad input %s skipped\n", (unsigned long long)c.bad,
                o->msgpack ? (c.bad == 1 ? "object" : "objects") : (c.bad == 1 ? "line" : "lines"));
    hs_streamid_destroy(c.src_id);
    hs_streamid_destroy(c.sink_id);
    hs_free(c.ib);
    hs_free(c.v);
    hs_buf_free(&c.store);
    hs_buf_free(&c.params);
    hs_buf_free(&c.out);
    hs_batch_free(&c.tmp);
    return rc;
}

int tool_pipe_main(int argc, char **argv, const char *alias)
{
    tool_pipe_opts o;
    int rc = tool_pipe_parse(argc, argv, alias, &o, stdout, stderr);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    hs_tool_registry *tools = NULL;
    if (hs_tool_registry_create(&tools) != HS_OK || hs_builtin_tools_register(tools) != HS_OK) {
        fprintf(stderr, "hs-tool: cannot build the tool registry: %s\n", hs_err_detail());
        hs_tool_registry_destroy(tools);
        return PIPE_ESYSTEM;
    }
    const char *dir = o.plugin_dir != NULL ? o.plugin_dir : getenv("HS_PLUGIN_DIR");
    if (dir != NULL && dir[0] != '\0') {
        hs_buf msg;
        hs_buf_init(&msg, 0);
        hs_tool_registry_load_plugins(tools, dir, &msg);
        if (msg.len > 0)
            fprintf(stderr, "hs-tool: plugins: %s", hs_buf_cstr(&msg));
        hs_buf_free(&msg);
    }
    rc = tool_pipe_run(&o, tools, 0, 1, stderr);
    hs_tool_registry_destroy(tools);
    return rc;
}
