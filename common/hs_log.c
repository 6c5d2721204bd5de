#include "hs_log.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_time.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct hs_log {
    char *name;            /* owned */
    atomic_int level;      /* lines below it are not written to the stream */
    atomic_int sink_level; /* lines below it do not reach the sink; OFF without a sink */
    pthread_mutex_t mu;    /* held while a line is written and while the sink runs */
    FILE *stream;          /* borrowed; NULL = no text output; guarded by mu */
    hs_log_sink_fn sink;   /* guarded by mu; NULL = none */
    void *sink_ud;         /* borrowed, passed to sink; guarded by mu */
    char *file;            /* owned: the file behind stdout/stderr, or NULL; guarded by mu */
    long long file_max;    /* rotate when the file reaches this size (0: never) */
    int file_keep;         /* rotated files kept: file.1 ... file.<keep> */
};

/* Serialises the lines of hs_logf(NULL, ...) on stderr. */
static pthread_mutex_t hs__log_stderr_mu = PTHREAD_MUTEX_INITIALIZER;

/*
 * The logger whose sink this thread is running, so that a sink that logs to
 * its own logger has its message dropped instead of deadlocking on mu.
 */
static _Thread_local const hs_log *hs__log_in_sink;

/* Room kept at the end of a cut line for the "..." marker. */
#define HS__LOG_CUT_MARK     "..."
#define HS__LOG_CUT_MARK_LEN 3

static bool hs__log_passes(int level, int threshold)
{
    return threshold < HS_LOG_OFF && level >= threshold;
}

int hs_log_create(hs_log **out, const char *name, int level)
{
    if (out == NULL || name == NULL)
        return HS_ERR_INVAL;
    *out = NULL;
    hs_log *log = hs_calloc(1, sizeof *log);
    if (log == NULL)
        return HS_ERR_NOMEM;
    log->name = hs_strdup(name);
    if (log->name == NULL)
        goto fail_log;
    if (pthread_mutex_init(&log->mu, NULL) != 0)
        goto fail_name;
    atomic_init(&log->level, level);
    atomic_init(&log->sink_level, HS_LOG_OFF);
    log->stream = stderr;
    *out = log;
    return HS_OK;

fail_name:
    hs_free(log->name);
fail_log:
    hs_free(log);
    return HS_ERR_NOMEM;
}

void hs_log_destroy(hs_log *log)
{
    if (log == NULL)
        return;
    pthread_mutex_destroy(&log->mu);
    hs_free(log->file);
    hs_free(log->name);
    hs_free(log);
}

void hs_log_set_level(hs_log *log, int level)
{
    if (log != NULL)
        atomic_store(&log->level, level);
}

int hs_log_get_level(const hs_log *log)
{
    if (log == NULL)
        return HS_LOG_INFO;
    /* atomic_load takes a non-const pointer in C11; the object is not modified. */
    return atomic_load((atomic_int *)&log->level);
}

void hs_log_set_stream(hs_log *log, FILE *stream)
{
    if (log == NULL)
        return;
    pthread_mutex_lock(&log->mu);
    log->stream = stream;
    pthread_mutex_unlock(&log->mu);
}

/* Opens path for appending and makes it descriptors 1 and 2; false (errno set) if it cannot. */
static bool hs__log_redirect(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    fflush(stdout);
    fflush(stderr);
    bool ok = dup2(fd, STDOUT_FILENO) >= 0 && dup2(fd, STDERR_FILENO) >= 0;
    int saved = errno;
    if (fd > STDERR_FILENO) /* opened as 1 or 2 (they were closed), it is one of them now */
        close(fd);
    errno = saved;
    return ok;
}

int hs_log_set_file(hs_log *log, const char *path, long long max_bytes, int keep)
{
    if (log == NULL || path == NULL || path[0] == '\0' || keep < 1 || max_bytes < 0)
        return HS_ERR_INVAL;
    char *copy = hs_strdup(path);
    if (copy == NULL)
        return HS_ERR_NOMEM;
    pthread_mutex_lock(&log->mu);
    if (!hs__log_redirect(path)) {
        int e = errno;
        pthread_mutex_unlock(&log->mu);
        hs_free(copy);
        return hs_err_set(HS_ERR_IO, "cannot open log file %s: %s", path, strerror(e));
    }
    hs_free(log->file);
    log->file = copy;
    log->file_max = max_bytes;
    log->file_keep = keep;
    log->stream = stderr;
    pthread_mutex_unlock(&log->mu);
    return HS_OK;
}

/*
 * Renames file.k to file.(k+1) down to file to file.1 and opens a new file;
 * under mu. When file is no longer the one written (deleted or moved away by
 * someone else, or left renamed by a rotation whose reopening failed), it is
 * only opened again: the kept files are not shifted for it.
 */
static void hs__log_rotate(hs_log *log)
{
    struct stat cur, named;
    bool ours = fstat(STDERR_FILENO, &cur) == 0 && stat(log->file, &named) == 0 &&
                cur.st_dev == named.st_dev && cur.st_ino == named.st_ino;
    fflush(stdout);
    fflush(stderr);
    if (!ours) {
        (void)hs__log_redirect(log->file);
        return;
    }
    size_t n = strlen(log->file) + 16;
    char *from = hs_malloc(n), *to = hs_malloc(n);
    if (from != NULL && to != NULL) {
        for (int k = log->file_keep - 1; k >= 1; k--) {
            snprintf(from, n, "%s.%d", log->file, k);
            snprintf(to, n, "%s.%d", log->file, k + 1);
            (void)rename(from, to); /* a missing older file is not an error */
        }
        snprintf(to, n, "%s.1", log->file);
        /* Rename first: if the new file cannot be opened, lines go on to the renamed one
           until a later line finds the name free and opens it. */
        if (rename(log->file, to) == 0)
            (void)hs__log_redirect(log->file);
    }
    hs_free(from);
    hs_free(to);
}

/* Rotates the log file if the last line left it at its maximum size or above; under mu. */
static void hs__log_check_size(hs_log *log)
{
    struct stat st;
    if (log->file != NULL && log->file_max > 0 && log->stream == stderr &&
        fstat(STDERR_FILENO, &st) == 0 && (long long)st.st_size >= log->file_max)
        hs__log_rotate(log);
}

void hs_log_set_sink(hs_log *log, hs_log_sink_fn fn, void *ud, int min_level)
{
    if (log == NULL)
        return;
    pthread_mutex_lock(&log->mu);
    log->sink = fn;
    log->sink_ud = fn != NULL ? ud : NULL;
    atomic_store(&log->sink_level, fn != NULL ? min_level : HS_LOG_OFF);
    pthread_mutex_unlock(&log->mu);
}

static char hs__log_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int hs_log_level_parse(const char *s, int *level)
{
    static const struct {
        const char *word;
        int level;
    } names[] = {
        {"debug", HS_LOG_DEBUG},  {"info", HS_LOG_INFO},   {"warn", HS_LOG_WARN},
        {"warning", HS_LOG_WARN}, {"error", HS_LOG_ERROR}, {"mon", HS_LOG_MON},
        {"off", HS_LOG_OFF},
    };
    if (s == NULL || level == NULL)
        return HS_ERR_INVAL;
    const char *p = s;
    size_t len = strlen(p);
    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *w = names[i].word;
        size_t j = 0;
        while (j < len && w[j] != '\0' && hs__log_lower(p[j]) == w[j])
            j++;
        if (j == len && w[j] == '\0') {
            *level = names[i].level;
            return HS_OK;
        }
    }
    if (len > 0 && len <= 3) {
        int v = 0;
        size_t j = 0;
        for (; j < len && p[j] >= '0' && p[j] <= '9'; j++)
            v = v * 10 + (p[j] - '0');
        if (j == len && v <= HS_LOG_OFF) {
            *level = v;
            return HS_OK;
        }
    }
    return hs_err_set(HS_ERR_PARSE,
                      "unknown log level '%.32s' (debug, info, warn, error, mon, off or 0-100)", s);
}

const char *hs_log_level_name(int level)
{
    if (level >= HS_LOG_OFF)
        return "OFF";
    if (level >= HS_LOG_MON)
        return "MON";
    if (level >= HS_LOG_ERROR)
        return "ERROR";
    if (level >= HS_LOG_WARN)
        return "WARN";
    if (level >= HS_LOG_INFO)
        return "INFO";
    return "DEBUG";
}

/*
 * Writes the current UTC time with exactly six fraction digits
 * ("2026-11-22T03:21:59.123456Z") into buf and returns its length.
 * hs_time_format_iso omits the fraction on whole seconds, so only its
 * seconds part is used and the fraction is written here.
 */
static size_t hs__log_timestamp(char buf[HS_TIME_ISO_MAX + 8])
{
    int64_t now = hs_time_now_us();
    char iso[HS_TIME_ISO_MAX];
    size_t n = hs_time_format_iso(now, iso);
    size_t secs = 0;
    while (secs < n && iso[secs] != '.' && iso[secs] != 'Z')
        secs++;
    int64_t frac = now % HS_US_PER_S;
    if (frac < 0)
        frac += HS_US_PER_S;
    int w = snprintf(buf, HS_TIME_ISO_MAX + 8, "%.*s.%06lldZ", (int)secs, iso, (long long)frac);
    return w > 0 ? (size_t)w : 0;
}

/*
 * Formats a whole line (without newline) into line[0..HS_LOG_LINE_MAX - 1)
 * and returns its length; name may be NULL. Control bytes of the message are
 * escaped; a line that does not fit is cut and marked.
 */
__attribute__((format(printf, 4, 0))) static size_t
hs__log_format(char line[HS_LOG_LINE_MAX], const char *name, int level, const char *fmt, va_list ap)
{
    const size_t cap = HS_LOG_LINE_MAX - 1;
    char ts[HS_TIME_ISO_MAX + 8];
    hs__log_timestamp(ts);
    /* The prefix (only a huge name makes it long) always leaves room for the mark. */
    const size_t prefix_max = cap - HS__LOG_CUT_MARK_LEN;
    int w;
    if (name != NULL)
        w = snprintf(line, prefix_max + 1, "%s %-5s %s: ", ts, hs_log_level_name(level), name);
    else
        w = snprintf(line, prefix_max + 1, "%s %-5s ", ts, hs_log_level_name(level));
    size_t pos = w < 0 ? 0 : (size_t)w;
    if (pos > prefix_max)
        pos = prefix_max;

    char msg[HS_LOG_LINE_MAX];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    size_t msg_len = 0;
    bool cut = false;
    if (n < 0) {
        memcpy(msg, "(unformattable message)", sizeof "(unformattable message)");
        msg_len = strlen(msg);
    } else if ((size_t)n >= sizeof msg) {
        msg_len = sizeof msg - 1;
        cut = true;
    } else {
        msg_len = (size_t)n;
    }

    /* safe: the last position where the line can be cut and marked cleanly. */
    size_t safe = pos;
    for (size_t i = 0; i < msg_len; i++) {
        unsigned char c = (unsigned char)msg[i];
        char esc[5];
        size_t esc_len;
        if (c == '\n') {
            memcpy(esc, "\\n", 2);
            esc_len = 2;
        } else if (c == '\r') {
            memcpy(esc, "\\r", 2);
            esc_len = 2;
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            esc_len = 4;
        } else {
            esc[0] = (char)c;
            esc_len = 1;
        }
        /* Never cut inside a UTF-8 sequence: continuation bytes are 10xxxxxx. */
        if ((c & 0xC0) != 0x80 && pos <= cap - HS__LOG_CUT_MARK_LEN)
            safe = pos;
        if (pos + esc_len > cap) {
            cut = true;
            break;
        }
        memcpy(line + pos, esc, esc_len);
        pos += esc_len;
    }
    if (cut) {
        pos = safe;
        memcpy(line + pos, HS__LOG_CUT_MARK, HS__LOG_CUT_MARK_LEN);
        pos += HS__LOG_CUT_MARK_LEN;
    }
    line[pos] = '\0';
    return pos;
}

void hs_logf(hs_log *log, int level, const char *fmt, ...)
{
    /* The line, whose NUL becomes the newline when written. */
    char line[HS_LOG_LINE_MAX];
    va_list ap;

    if (log == NULL) {
        if (level < HS_LOG_INFO || fmt == NULL)
            return;
        va_start(ap, fmt);
        size_t len = hs__log_format(line, NULL, level, fmt, ap);
        va_end(ap);
        line[len++] = '\n';
        pthread_mutex_lock(&hs__log_stderr_mu);
        fwrite(line, 1, len, stderr);
        fflush(stderr);
        pthread_mutex_unlock(&hs__log_stderr_mu);
        return;
    }

    bool to_stream = hs__log_passes(level, atomic_load(&log->level));
    bool to_sink = hs__log_passes(level, atomic_load(&log->sink_level));
    if ((!to_stream && !to_sink) || fmt == NULL || hs__log_in_sink == log)
        return;

    va_start(ap, fmt);
    size_t len = hs__log_format(line, log->name, level, fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&log->mu);
    if (to_stream && log->stream != NULL) {
        line[len] = '\n';
        fwrite(line, 1, len + 1, log->stream);
        fflush(log->stream);
        line[len] = '\0';
        hs__log_check_size(log);
    }
    /* The sink may have changed since the unlocked check; decide again under mu. */
    if (log->sink != NULL && hs__log_passes(level, atomic_load(&log->sink_level))) {
        hs__log_in_sink = log;
        log->sink(log->sink_ud, level, line);
        hs__log_in_sink = NULL;
    }
    pthread_mutex_unlock(&log->mu);
}
