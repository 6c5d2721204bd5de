/*
 * Logging for services. Lines go to stderr as
 *   2026-11-22T03:21:59.123456Z WARN  writer: message
 * and, when a sink is installed, also to that sink (services publish them to
 * an MQTT topic). Levels follow Python's logging as HyperStream used it, plus
 * MON (HyperStream's level 51) for workflow monitoring events, which ranks
 * above ERROR so that it is shown at every level except OFF.
 *
 * A logger is thread-safe. Library code does not log; it returns errors.
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

typedef struct hs_log hs_log;

/* The sink receives each formatted line (without a newline); it must not log. */
typedef void (*hs_log_sink_fn)(void *ud, int level, const char *line);

/* Creates a logger named name (e.g. the service id) writing to stderr at level. */
int hs_log_create(hs_log **out, const char *name, int level);
void hs_log_destroy(hs_log *log);

void hs_log_set_level(hs_log *log, int level);
int hs_log_get_level(const hs_log *log);

/* Redirects the text output (default stderr); NULL turns it off. For tests. */
void hs_log_set_stream(hs_log *log, FILE *stream);

/* Installs (or with fn == NULL removes) a sink that gets lines at >= min_level. */
void hs_log_set_sink(hs_log *log, hs_log_sink_fn fn, void *ud, int min_level);

/* "debug", "info", "warn"/"warning", "error", "mon", "off" (any case) or a number. */
int hs_log_level_parse(const char *s, int *level);
const char *hs_log_level_name(int level);

/*
 * Writes one line if level >= the logger's level. log may be NULL, which
 * writes to stderr at level INFO and above.
 */
void hs_logf(hs_log *log, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define hs_debug(log, ...) hs_logf((log), HS_LOG_DEBUG, __VA_ARGS__)
#define hs_info(log, ...)  hs_logf((log), HS_LOG_INFO, __VA_ARGS__)
#define hs_warn(log, ...)  hs_logf((log), HS_LOG_WARN, __VA_ARGS__)
#define hs_error(log, ...) hs_logf((log), HS_LOG_ERROR, __VA_ARGS__)

#endif
