/* Tests of hs_log: line format, level filtering, sinks, escaping, cutting and threads. */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_log.h"
#include "hs_time.h"

#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A logger writing into memory; text() returns everything written so far. */
typedef struct capture {
    hs_log *log;
    FILE *f;
    char *data;
    size_t len;
} capture;

static void capture_open(capture *c, const char *name, int level)
{
    memset(c, 0, sizeof *c);
    CU_ASSERT_EQUAL_FATAL(hs_log_create(&c->log, name, level), HS_OK);
    c->f = open_memstream(&c->data, &c->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->f);
    hs_log_set_stream(c->log, c->f);
}

static const char *capture_text(capture *c)
{
    fflush(c->f);
    return c->data != NULL ? c->data : "";
}

static void capture_close(capture *c)
{
    hs_log_destroy(c->log);
    fclose(c->f);
    free(c->data);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

/*
 * Checks that line (up to its newline or end) is "<ts> <LEVEL> <rest>" with a
 * 27-character timestamp of six fraction digits, and returns a pointer to
 * the level name, or NULL when the shape is wrong.
 */
static const char *check_timestamp(const char *line)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ ";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        char want = shape[i];
        char got = line[i];
        if (want == 'd' ? (got < '0' || got > '9') : got != want)
            return NULL;
    }
    int64_t t;
    if (hs_time_parse_iso(line, 27, &t) != HS_OK)
        return NULL;
    return line + 28;
}

static void test_create_and_levels(void)
{
    hs_log *log = NULL;
    CU_ASSERT_EQUAL(hs_log_create(NULL, "x", HS_LOG_INFO), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_log_create(&log, NULL, HS_LOG_INFO), HS_ERR_INVAL);
    CU_ASSERT_EQUAL_FATAL(hs_log_create(&log, "svc", HS_LOG_WARN), HS_OK);
    CU_ASSERT_EQUAL(hs_log_get_level(log), HS_LOG_WARN);
    hs_log_set_level(log, HS_LOG_DEBUG);
    CU_ASSERT_EQUAL(hs_log_get_level(log), HS_LOG_DEBUG);
    hs_log_destroy(log);
    hs_log_destroy(NULL);

    for (long n = 0; n < 3; n++) {
        hs_alloc_fail_after(n);
        int rc = hs_log_create(&log, "svc", HS_LOG_INFO);
        hs_alloc_fail_after(-1);
        if (rc == HS_OK)
            hs_log_destroy(log);
        else
            CU_ASSERT_EQUAL(rc, HS_ERR_NOMEM);
        CU_ASSERT_EQUAL(rc, n < 2 ? HS_ERR_NOMEM : HS_OK);
    }
}

static void test_line_format(void)
{
    capture c;
    capture_open(&c, "writer", HS_LOG_DEBUG);
    int64_t before = hs_time_now_us();
    hs_warn(c.log, "disk %d%% full", 91);
    int64_t after = hs_time_now_us();
    const char *text = capture_text(&c);
    CU_ASSERT_EQUAL(strlen(text), 28 + strlen("WARN  writer: disk 91% full\n"));
    const char *rest = check_timestamp(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rest);
    CU_ASSERT_STRING_EQUAL(rest, "WARN  writer: disk 91% full\n");
    /* The time is the wall clock at the call, to the microsecond. */
    int64_t t;
    CU_ASSERT_EQUAL(hs_time_parse_iso(text, 27, &t), HS_OK);
    CU_ASSERT(t >= before - before % HS_US_PER_S);
    CU_ASSERT(t <= after);
    capture_close(&c);

    capture_open(&c, "n", HS_LOG_DEBUG);
    hs_debug(c.log, "d");
    hs_info(c.log, "i");
    hs_error(c.log, "e");
    hs_mon(c.log, "m");
    hs_logf(c.log, 25, "between");
    text = capture_text(&c);
    CU_ASSERT_EQUAL(count_lines(text), 5);
    const char *want[] = {"DEBUG n: d\n", "INFO  n: i\n", "ERROR n: e\n", "MON   n: m\n",
                          "INFO  n: between\n"};
    const char *p = text;
    for (size_t i = 0; i < 5; i++) {
        const char *r = check_timestamp(p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_EQUAL(strncmp(r, want[i], strlen(want[i])), 0);
        p = strchr(p, '\n') + 1;
    }
    capture_close(&c);
}

static void test_level_filtering(void)
{
    capture c;
    capture_open(&c, "f", HS_LOG_WARN);
    hs_debug(c.log, "no");
    hs_info(c.log, "no");
    hs_warn(c.log, "yes");
    hs_error(c.log, "yes");
    hs_mon(c.log, "yes");
    CU_ASSERT_EQUAL(count_lines(capture_text(&c)), 3);
    CU_ASSERT_PTR_NULL(strstr(capture_text(&c), "no"));

    /* MON ranks above ERROR: still shown at ERROR. */
    hs_log_set_level(c.log, HS_LOG_ERROR);
    hs_warn(c.log, "no");
    hs_mon(c.log, "monitor");
    CU_ASSERT_EQUAL(count_lines(capture_text(&c)), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(capture_text(&c), "MON   f: monitor\n"));

    /* OFF shows nothing, even MON and messages logged at OFF itself. */
    hs_log_set_level(c.log, HS_LOG_OFF);
    hs_mon(c.log, "no");
    hs_logf(c.log, HS_LOG_OFF, "no");
    hs_logf(c.log, 1000, "no");
    CU_ASSERT_EQUAL(count_lines(capture_text(&c)), 4);

    /* A NULL stream turns the text output off. */
    hs_log_set_level(c.log, HS_LOG_DEBUG);
    hs_log_set_stream(c.log, NULL);
    hs_error(c.log, "no");
    hs_log_set_stream(c.log, c.f);
    hs_error(c.log, "back");
    CU_ASSERT_EQUAL(count_lines(capture_text(&c)), 5);
    CU_ASSERT_PTR_NULL(strstr(capture_text(&c), ": no"));
    capture_close(&c);
}

static void test_message_escaping(void)
{
    capture c;
    capture_open(&c, "esc", HS_LOG_DEBUG);
    hs_info(c.log, "a\nb\r\nc\x01\x7f\td\\e%c", '\0');
    const char *r = check_timestamp(capture_text(&c));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r, "INFO  esc: a\\nb\\r\\nc\\x01\\x7f\td\\e\\x00\n");
    capture_close(&c);
}

/* Checks a cut line: HS_LOG_LINE_MAX bytes with the newline, ending in "...\n". */
static void check_cut_line(const char *text)
{
    CU_ASSERT_EQUAL(strlen(text), HS_LOG_LINE_MAX);
    CU_ASSERT_EQUAL(count_lines(text), 1);
    CU_ASSERT_EQUAL(strcmp(text + HS_LOG_LINE_MAX - 4, "...\n"), 0);
}

static void test_long_lines_are_cut(void)
{
    capture c;
    capture_open(&c, "long", HS_LOG_DEBUG);
    char *big = malloc(10001);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'x', 10000);
    big[10000] = '\0';
    hs_info(c.log, "%s", big);
    check_cut_line(capture_text(&c));
    capture_close(&c);

    /* Exactly at the bound: not cut. */
    capture_open(&c, "long", HS_LOG_DEBUG);
    size_t room = HS_LOG_LINE_MAX - 1 - 28 - strlen("INFO  long: ");
    big[room] = '\0';
    hs_info(c.log, "%s", big);
    const char *text = capture_text(&c);
    CU_ASSERT_EQUAL(strlen(text), HS_LOG_LINE_MAX);
    CU_ASSERT_EQUAL(text[HS_LOG_LINE_MAX - 2], 'x');
    capture_close(&c);

    /* One byte over: cut. */
    capture_open(&c, "long", HS_LOG_DEBUG);
    big[room] = 'x';
    big[room + 1] = '\0';
    hs_info(c.log, "%s", big);
    check_cut_line(capture_text(&c));
    capture_close(&c);

    /* Escapes are never split: the line ends in whole "\n" pairs before the mark. */
    for (size_t shift = 0; shift < 2; shift++) {
        capture_open(&c, "long", HS_LOG_DEBUG);
        memset(big, '\n', 3000);
        big[3000] = '\0';
        hs_info(c.log, "%s%s", shift ? "y" : "", big);
        text = capture_text(&c);
        CU_ASSERT(strlen(text) <= HS_LOG_LINE_MAX);
        CU_ASSERT_EQUAL(count_lines(text), 1);
        const char *msg = strstr(text, "long: ") + 6 + shift;
        const char *mark = strstr(msg, "...");
        CU_ASSERT_PTR_NOT_NULL_FATAL(mark);
        CU_ASSERT_EQUAL((mark - msg) % 2, 0);
        for (const char *q = msg; q < mark; q += 2)
            CU_ASSERT(q[0] == '\\' && q[1] == 'n');
        capture_close(&c);
    }

    /* UTF-8 characters are never split. */
    for (size_t shift = 0; shift < 3; shift++) {
        capture_open(&c, "long", HS_LOG_DEBUG);
        size_t n = 0;
        for (; n < shift; n++)
            big[n] = 'a';
        while (n + 3 <= 9000) {
            memcpy(big + n, "\xE2\x82\xAC", 3); /* the euro sign */
            n += 3;
        }
        big[n] = '\0';
        hs_info(c.log, "%s", big);
        text = capture_text(&c);
        CU_ASSERT(strlen(text) <= HS_LOG_LINE_MAX);
        const char *mark = strstr(text, "...\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(mark);
        const char *msg = strstr(text, "long: ") + 6 + shift;
        CU_ASSERT_EQUAL((mark - msg) % 3, 0);
        CU_ASSERT_EQUAL(memcmp(mark - 3, "\xE2\x82\xAC", 3), 0);
        capture_close(&c);
    }
    free(big);

    /* A very long logger name still gives a bounded line. */
    char name[6000];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    capture_open(&c, name, HS_LOG_DEBUG);
    hs_info(c.log, "hello");
    check_cut_line(capture_text(&c));
    capture_close(&c);
}

typedef struct sink_rec {
    int calls;
    int last_level;
    char last[HS_LOG_LINE_MAX];
    hs_log *log; /* when set, the sink logs to it (which must be dropped) */
} sink_rec;

static void record_sink(void *ud, int level, const char *line)
{
    sink_rec *r = ud;
    r->calls++;
    r->last_level = level;
    snprintf(r->last, sizeof r->last, "%s", line);
    if (r->log != NULL)
        hs_error(r->log, "from inside the sink");
}

static void test_sink(void)
{
    capture c;
    capture_open(&c, "s", HS_LOG_ERROR);
    sink_rec rec;
    memset(&rec, 0, sizeof rec);
    hs_log_set_sink(c.log, record_sink, &rec, HS_LOG_INFO);

    hs_debug(c.log, "below both");
    CU_ASSERT_EQUAL(rec.calls, 0);
    /* The sink has its own level, here below the logger's. */
    hs_info(c.log, "sink only");
    CU_ASSERT_EQUAL(rec.calls, 1);
    CU_ASSERT_EQUAL(rec.last_level, HS_LOG_INFO);
    const char *r = check_timestamp(rec.last);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r, "INFO  s: sink only"); /* no newline */
    CU_ASSERT_EQUAL(count_lines(capture_text(&c)), 0);

    hs_mon(c.log, "both");
    CU_ASSERT_EQUAL(rec.calls, 2);
    CU_ASSERT_EQUAL(rec.last_level, HS_LOG_MON);
    CU_ASSERT_EQUAL(count_lines(capture_text(&c)), 1);
    /* The sink gets the same text as the stream. */
    CU_ASSERT_EQUAL(strncmp(capture_text(&c), rec.last, strlen(rec.last)), 0);

    /* The sink works with the text output off. */
    hs_log_set_stream(c.log, NULL);
    hs_warn(c.log, "x\ny");
    CU_ASSERT_EQUAL(rec.calls, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(rec.last, "WARN  s: x\\ny"));
    hs_log_set_stream(c.log, c.f);

    /* A sink at a level above the logger's gets fewer lines. */
    hs_log_set_level(c.log, HS_LOG_DEBUG);
    hs_log_set_sink(c.log, record_sink, &rec, HS_LOG_MON);
    hs_error(c.log, "stream only");
    CU_ASSERT_EQUAL(rec.calls, 3);
    hs_mon(c.log, "both again");
    CU_ASSERT_EQUAL(rec.calls, 4);

    /* A sink that logs to its own logger does not deadlock; its message is dropped. */
    size_t lines = count_lines(capture_text(&c));
    rec.log = c.log;
    hs_mon(c.log, "outer");
    CU_ASSERT_EQUAL(rec.calls, 5);
    CU_ASSERT_EQUAL(count_lines(capture_text(&c)), lines + 1);
    CU_ASSERT_PTR_NULL(strstr(capture_text(&c), "from inside the sink"));
    rec.log = NULL;

    /* Removed sinks get nothing more. */
    hs_log_set_sink(c.log, NULL, &rec, HS_LOG_DEBUG);
    hs_mon(c.log, "after removal");
    CU_ASSERT_EQUAL(rec.calls, 5);
    /* A sink at OFF gets nothing. */
    hs_log_set_sink(c.log, record_sink, &rec, HS_LOG_OFF);
    hs_mon(c.log, "off");
    CU_ASSERT_EQUAL(rec.calls, 5);
    capture_close(&c);
}

static void test_level_parse_and_names(void)
{
    static const int levels[] = {HS_LOG_DEBUG, HS_LOG_INFO, HS_LOG_WARN,
                                 HS_LOG_ERROR, HS_LOG_MON,  HS_LOG_OFF};
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR", "MON", "OFF"};
    for (size_t i = 0; i < 6; i++) {
        CU_ASSERT_STRING_EQUAL(hs_log_level_name(levels[i]), names[i]);
        int l = -1;
        CU_ASSERT_EQUAL(hs_log_level_parse(hs_log_level_name(levels[i]), &l), HS_OK);
        CU_ASSERT_EQUAL(l, levels[i]);
        char num[8];
        snprintf(num, sizeof num, "%d", levels[i]);
        l = -1;
        CU_ASSERT_EQUAL(hs_log_level_parse(num, &l), HS_OK);
        CU_ASSERT_EQUAL(l, levels[i]);
    }
    static const struct {
        const char *text;
        int level;
    } good[] = {
        {"debug", HS_LOG_DEBUG},
        {"Info", HS_LOG_INFO},
        {"warn", HS_LOG_WARN},
        {"WARNING", HS_LOG_WARN},
        {"error", HS_LOG_ERROR},
        {"mon", HS_LOG_MON},
        {"off", HS_LOG_OFF},
        {" info\t", HS_LOG_INFO},
        {"0", 0},
        {"51", HS_LOG_MON},
        {"25", 25},
        {"100", HS_LOG_OFF},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int l = -1;
        CU_ASSERT_EQUAL(hs_log_level_parse(good[i].text, &l), HS_OK);
        CU_ASSERT_EQUAL(l, good[i].level);
    }
    const char *bad[] = {"", "  ", "verbose", "inf", "infos", "101", "-1", "1000", "2x", "+5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int l = 77;
        CU_ASSERT_EQUAL(hs_log_level_parse(bad[i], &l), HS_ERR_PARSE);
        CU_ASSERT_EQUAL(l, 77);
    }
    int l;
    CU_ASSERT_EQUAL(hs_log_level_parse("verbose", &l), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(),
                           "unknown log level 'verbose' (debug, info, warn, error, mon, off or "
                           "0-100)");
    CU_ASSERT_EQUAL(hs_log_level_parse(NULL, &l), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_log_level_parse("info", NULL), HS_ERR_INVAL);

    CU_ASSERT_STRING_EQUAL(hs_log_level_name(25), "INFO");
    CU_ASSERT_STRING_EQUAL(hs_log_level_name(50), "ERROR");
    CU_ASSERT_STRING_EQUAL(hs_log_level_name(5), "DEBUG");
    CU_ASSERT_STRING_EQUAL(hs_log_level_name(-3), "DEBUG");
    CU_ASSERT_STRING_EQUAL(hs_log_level_name(500), "OFF");
}

static void test_null_logger_writes_to_stderr(void)
{
    /* Point fd 2 at a file for the duration of the test. */
    FILE *tmp = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    fflush(stderr);
    int saved = dup(2);
    CU_ASSERT_FATAL(saved >= 0);
    CU_ASSERT_FATAL(dup2(fileno(tmp), 2) >= 0);
    hs_debug(NULL, "hidden");
    hs_info(NULL, "shown %s", "here");
    hs_mon(NULL, "mon\nline");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);

    char buf[512] = {0};
    rewind(tmp);
    size_t n = fread(buf, 1, sizeof buf - 1, tmp);
    fclose(tmp);
    buf[n] = '\0';
    CU_ASSERT_EQUAL(count_lines(buf), 2);
    const char *r = check_timestamp(buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(strncmp(r, "INFO  shown here\n", 17), 0);
    r = check_timestamp(strchr(buf, '\n') + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r, "MON   mon\\nline\n");
}

#define THREADS          4
#define LINES_PER_THREAD 1000

typedef struct worker {
    hs_log *log;
    int id;
} worker;

/* Set while the sink runs; the sink checks that no other call is in progress. */
static atomic_int sink_busy;
static atomic_int sink_overlaps;
static atomic_int sink_calls;

static void exclusive_sink(void *ud, int level, const char *line)
{
    (void)ud;
    (void)level;
    (void)line;
    if (atomic_exchange(&sink_busy, 1) != 0)
        atomic_fetch_add(&sink_overlaps, 1);
    atomic_fetch_add(&sink_calls, 1);
    atomic_store(&sink_busy, 0);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < LINES_PER_THREAD; i++)
        hs_info(w->log, "thread %d line %d %s", w->id, i,
                "padding-padding-padding-padding-padding-padding-padding-padding");
    return NULL;
}

static void test_threads_never_interleave(void)
{
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    hs_log *log;
    CU_ASSERT_EQUAL_FATAL(hs_log_create(&log, "mt", HS_LOG_INFO), HS_OK);
    hs_log_set_stream(log, f);
    atomic_store(&sink_overlaps, 0);
    atomic_store(&sink_calls, 0);
    hs_log_set_sink(log, exclusive_sink, NULL, HS_LOG_INFO);

    pthread_t th[THREADS];
    worker w[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t].log = log;
        w[t].id = t;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    hs_log_destroy(log);

    CU_ASSERT_EQUAL(atomic_load(&sink_overlaps), 0);
    CU_ASSERT_EQUAL(atomic_load(&sink_calls), THREADS * LINES_PER_THREAD);

    /* Every line is complete, and each thread's lines all arrived in order. */
    int next[THREADS] = {0};
    int lines = 0, bad = 0;
    char buf[512];
    rewind(f);
    while (fgets(buf, sizeof buf, f) != NULL) {
        lines++;
        const char *r = check_timestamp(buf);
        int t = -1, i = -1, used = 0;
        if (r == NULL || sscanf(r, "INFO  mt: thread %d line %d %n", &t, &i, &used) != 2 || t < 0 ||
            t >= THREADS || i != next[t] ||
            strcmp(r + used, "padding-padding-padding-padding-padding-padding-padding-padding\n") !=
                0) {
            bad++;
            continue;
        }
        next[t]++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(lines, THREADS * LINES_PER_THREAD);
    CU_ASSERT_EQUAL(bad, 0);
    for (int t = 0; t < THREADS; t++)
        CU_ASSERT_EQUAL(next[t], LINES_PER_THREAD);
}

/* Reads a whole file into a NUL-terminated malloc'd string; NULL if it does not exist. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *data = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&data, &len);
    char buf[4096];
    size_t n;
    while (m != NULL && (n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, m);
    fclose(f);
    if (m != NULL)
        fclose(m);
    return data;
}

/*
 * A log file in a temporary directory, its rotated names (.1 to .3), and the
 * test's own stdout and stderr, kept while the logger has descriptors 1 and 2.
 */
typedef struct logfile {
    char dir[32];
    char path[256];
    char old[4][270]; /* old[k]: path.k, k = 1..3 */
    int out, err;
} logfile;

static void logfile_open(logfile *lf)
{
    memset(lf, 0, sizeof *lf);
    snprintf(lf->dir, sizeof lf->dir, "/tmp/hs_test_log_XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(lf->dir));
    snprintf(lf->path, sizeof lf->path, "%s/svc.log", lf->dir);
    for (int k = 1; k <= 3; k++)
        snprintf(lf->old[k], sizeof lf->old[k], "%s.%d", lf->path, k);
    fflush(stdout);
    fflush(stderr);
    lf->out = dup(STDOUT_FILENO);
    lf->err = dup(STDERR_FILENO);
    CU_ASSERT_FATAL(lf->out >= 0 && lf->err >= 0);
}

/* Gives the test its stdout and stderr back. */
static void logfile_restore(logfile *lf)
{
    fflush(stdout);
    fflush(stderr);
    dup2(lf->out, STDOUT_FILENO);
    dup2(lf->err, STDERR_FILENO);
    close(lf->out);
    close(lf->err);
}

static void logfile_remove(const logfile *lf)
{
    unlink(lf->path);
    for (int k = 1; k <= 3; k++)
        unlink(lf->old[k]);
    rmdir(lf->dir);
}

/*
 * A log file is rotated once a line leaves it at its maximum size: the newest
 * lines are in the file, older ones in .1 and .2, none lost among the files
 * kept, and no file beyond keep. Anything written to stderr goes there too.
 */
static void test_log_file_rotation(void)
{
    /* The logger takes over descriptors 1 and 2: the fixture keeps the test's own. */
    logfile lf;
    logfile_open(&lf);
    hs_log *log = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_log_create(&log, "svc", HS_LOG_INFO), HS_OK);
    CU_ASSERT_EQUAL(hs_log_set_file(log, lf.path, 0, 0), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_log_set_file(log, "", 100, 1), HS_ERR_INVAL);
    int rc = hs_log_set_file(log, lf.path, 1000, 2);
    for (int i = 0; rc == HS_OK && i < 100; i++)
        hs_info(log, "line %03d %s", i, "..................................................");
    fprintf(stderr, "stray text on stderr\n");
    fflush(stderr);
    hs_log_destroy(log);
    logfile_restore(&lf);
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);

    char *cur = slurp(lf.path), *old1 = slurp(lf.old[1]), *old2 = slurp(lf.old[2]),
         *old3 = slurp(lf.old[3]);
    CU_ASSERT_PTR_NOT_NULL(cur);
    CU_ASSERT_PTR_NOT_NULL(old1);
    CU_ASSERT_PTR_NOT_NULL(old2);
    CU_ASSERT_PTR_NULL(old3);
    if (cur != NULL && old1 != NULL && old2 != NULL) {
        /* A full file holds as many lines as fit in 1000 bytes, plus the one that crossed. */
        CU_ASSERT(strlen(old1) >= 1000 && strlen(old1) < 1100);
        CU_ASSERT(strlen(old2) >= 1000 && strlen(old2) < 1100);
        /* The kept files hold one run of lines ending with the last, oldest first. */
        char *all = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&all, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        fputs(old2, m);
        fputs(old1, m);
        fputs(cur, m);
        fclose(m);
        int first = -1, expect = -1, n = 0;
        bool ordered = true;
        for (const char *l = strstr(all, "line "); l != NULL; l = strstr(l + 1, "line ")) {
            int k = atoi(l + 5);
            if (first < 0)
                first = expect = k;
            ordered = ordered && k == expect;
            expect = k + 1;
            n++;
        }
        CU_ASSERT(ordered);
        CU_ASSERT_EQUAL(expect, 100);
        CU_ASSERT(first > 0); /* older lines went with the files beyond keep */
        CU_ASSERT_EQUAL(n, 100 - first);
        CU_ASSERT_PTR_NOT_NULL(strstr(cur, "stray text on stderr"));
        free(all);
    }
    free(cur);
    free(old1);
    free(old2);
    free(old3);
    logfile_remove(&lf);
}

/*
 * A log file deleted by someone else is opened again at the next rotation
 * point, without shifting the kept files for it; lines after that are in it.
 */
static void test_log_file_deleted(void)
{
    logfile lf;
    logfile_open(&lf);
    hs_log *log = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_log_create(&log, "svc", HS_LOG_INFO), HS_OK);
    int rc = hs_log_set_file(log, lf.path, 500, 2);
    hs_info(log, "first line");
    unlink(lf.path);
    /* 95-byte lines: the fifth takes the deleted file past 500 bytes; the rest and the
       last line (about 350 bytes) stay below it in the new file. */
    for (int i = 0; rc == HS_OK && i < 8; i++)
        hs_info(log, "into the deleted file %02d ..............................", i);
    hs_info(log, "after the reopening");
    hs_log_destroy(log);
    logfile_restore(&lf);
    CU_ASSERT_EQUAL_FATAL(rc, HS_OK);
    char *cur = slurp(lf.path), *old1 = slurp(lf.old[1]), *old2 = slurp(lf.old[2]);
    CU_ASSERT_PTR_NOT_NULL(cur);
    CU_ASSERT_PTR_NULL(old1); /* nothing to shift: the deleted file is gone, not rotated */
    CU_ASSERT_PTR_NULL(old2);
    if (cur != NULL) {
        CU_ASSERT_PTR_NOT_NULL(strstr(cur, "after the reopening"));
        CU_ASSERT_PTR_NULL(strstr(cur, "first line"));
    }
    free(cur);
    free(old1);
    free(old2);
    logfile_remove(&lf);
}

HS_TEST_INIT(log)
{
    HS_TEST_SUITE_BEGIN("log");
    HS_TEST(test_create_and_levels);
    HS_TEST(test_line_format);
    HS_TEST(test_level_filtering);
    HS_TEST(test_message_escaping);
    HS_TEST(test_long_lines_are_cut);
    HS_TEST(test_sink);
    HS_TEST(test_level_parse_and_names);
    HS_TEST(test_null_logger_writes_to_stderr);
    HS_TEST(test_threads_never_interleave);
    HS_TEST(test_log_file_rotation);
    HS_TEST(test_log_file_deleted);
    return 0;
}
