/*
 * Logging for services. Lines go to stderr as
 *   2026-11-22T03:21:59.123456Z WARN  writer: message
 * and, when a sink is installed, also to that sink (services publish them to
 * an MQTT topic). Levels follow Python's logging as HyperStream used it, plus
 * MON (HyperStream's level 51) for workflow monitoring events, which ranks
 * above ERROR so that it is shown at every level except OFF.
 *
 * Line format: the UTC time with always six fraction digits, the level name
 * padded to five characters, the logger's name, ": " and the message. In the
 * message a newline is written as \n, a carriage return as \r and any other
 * control byte except tab as \xHH, so that one event is one line. A line is
 * at most HS_LOG_LINE_MAX bytes including its newline; a longer one is cut
 * (at a UTF-8 character boundary) and ends with "...".
 *
 * A logger is thread-safe: each line is written whole under the logger's
 * mutex, and the sink is called under it too, so it is never called by two
 * threads at once for one logger. Library code does not log; it returns errors.
 */
#ifndef HS_LOG_H
#define HS_LOG_H

#include <stdio.h>

typedef enum hs_log_level {
    HS_LOG_DEBUG = 10,
    HS_LOG_INFO = 20,
    HS_LOG_WARN = 30,
    HS_LOG_ERROR = 40,
    HS_LOG_MON = 51,
    HS_LOG_OFF = 100,
} hs_log_level;

/* Longest line written, newline included. */
#define HS_LOG_LINE_MAX 4096

typedef struct hs_log hs_log;

/*
 * The sink receives each formatted line (without a newline); it must not log
 * to the same logger (such a message is dropped) and should return quickly,
 * since it runs under the logger's mutex.
 */
typedef void (*hs_log_sink_fn)(void *ud, int level, const char *line);

/*
 * Creates a logger named name (e.g. the service id; copied) writing to stderr
 * at level. HS_ERR_INVAL for a NULL out or name, HS_ERR_NOMEM. Destroy it
 * with hs_log_destroy (NULL-safe) once no other thread uses it; the stream
 * is not closed.
 */
int hs_log_create(hs_log **out, const char *name, int level);
void hs_log_destroy(hs_log *log);

/* Lines below level are dropped; at HS_LOG_OFF or above nothing is written. */
void hs_log_set_level(hs_log *log, int level);
int hs_log_get_level(const hs_log *log);

/*
 * Redirects the text output (default stderr); NULL turns it off. For tests.
 * The logger borrows the stream; it flushes after each line.
 */
void hs_log_set_stream(hs_log *log, FILE *stream);

/*
 * Sends the process's stdout and stderr to the file path (appended, created
 * 0600): the logger's lines, and whatever else is written there, such as a
 * sanitizer's report. The logger then writes to stderr and, after a line
 * leaves the file at max_bytes or more, rotates it: path.(keep-1) becomes
 * path.keep, ..., path becomes path.1, and a new path is opened. At most
 * keep old files are kept (keep >= 1); max_bytes 0 never rotates. If the new
 * file cannot be opened the old one goes on being written. For a service
 * (one logger per process): it changes descriptors 1 and 2. HS_ERR_INVAL for
 * a NULL log or path, an empty path, keep < 1 or max_bytes < 0; HS_ERR_IO
 * (with a detail) if path cannot be opened; HS_ERR_NOMEM.
 */
int hs_log_set_file(hs_log *log, const char *path, long long max_bytes, int keep);

/*
 * Installs (or with fn == NULL removes) a sink that gets lines at >= min_level,
 * independently of the logger's level. Once this returns the previous sink
 * is never called again, so its ud may be freed.
 */
void hs_log_set_sink(hs_log *log, hs_log_sink_fn fn, void *ud, int min_level);

/*
 * "debug", "info", "warn"/"warning", "error", "mon", "off" (any case, blanks
 * around ignored) or a decimal number from 0 to 100. HS_ERR_PARSE (with a
 * detail) for anything else; *level is then unchanged.
 */
int hs_log_level_parse(const char *s, int *level);

/*
 * The upper-case name of a level ("WARN"). A level between the named ones
 * gets the name of the nearest named level below it (25 → "INFO"; below
 * DEBUG → "DEBUG").
 */
const char *hs_log_level_name(int level);

/*
 * Writes one line if level >= the logger's level, and passes it to the sink
 * if level >= the sink's level. log may be NULL, which writes to stderr at
 * level INFO and above, without a logger name ("<time> INFO  message").
 */
void hs_logf(hs_log *log, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define hs_debug(log, ...) hs_logf((log), HS_LOG_DEBUG, __VA_ARGS__)
#define hs_info(log, ...)  hs_logf((log), HS_LOG_INFO, __VA_ARGS__)
#define hs_warn(log, ...)  hs_logf((log), HS_LOG_WARN, __VA_ARGS__)
#define hs_error(log, ...) hs_logf((log), HS_LOG_ERROR, __VA_ARGS__)
#define hs_mon(log, ...)   hs_logf((log), HS_LOG_MON, __VA_ARGS__)

#endif
