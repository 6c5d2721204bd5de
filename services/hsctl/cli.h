/*
 * hsctl's command line as data, and the text helpers of its output.
 *
 * One table holds every verb, its commands and their options: the help
 * (hsctl --help, hsctl help VERB), the dispatcher's check of a verb and a
 * command (with a suggestion for a typo) and the bash completion script are
 * all made from it. The output helpers (tables sized to their content, RFC
 * 4180 CSV fields, values as text, durations, shell quoting) are here too, so
 * that they are tested without a stack.
 */
#ifndef HSCTL_CLI_H
#define HSCTL_CLI_H

#include "hs_buf.h"
#include "hs_interval.h"
#include "hs_map.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* hsctl's exit codes (docs/CLI.md lists them; hsctl --help prints them). */
enum {
    HSCTL_OK = 0,      /* success */
    HSCTL_USER = 1,    /* user error: a bad value, an unknown stream, a refused request, no stack */
    HSCTL_SYSTEM = 2,  /* system error: broker or store unreachable, jobs failed */
    HSCTL_USAGE = 2,   /* an unknown verb or command (shells' usage code) */
    HSCTL_TIMEOUT = 3, /* gave up waiting (compute --wait --timeout): the request goes on */
    HSCTL_CANCELLED = 4,     /* the request compute --wait followed was cancelled */
    HSCTL_INTERRUPTED = 130, /* Ctrl-C (compute --wait): the request goes on */
};

/* What a command's positional argument names, for completion. */
typedef enum hsctl_cli_arg {
    HSCTL_ARG_NONE = 0,
    HSCTL_ARG_FILE,     /* a file name */
    HSCTL_ARG_STREAM,   /* a stream id (completed from hsctl stream ls) */
    HSCTL_ARG_WORKFLOW, /* a workflow id (completed from hsctl workflow ls) */
    HSCTL_ARG_TOOL,     /* a tool name (completed from hsctl tool ls) */
    HSCTL_ARG_VERB,     /* a verb of hsctl (help VERB) */
    HSCTL_ARG_SHELL,    /* a shell name (completion SHELL) */
} hsctl_cli_arg;

/* One command of a verb (stream get), or the verb itself when it has none. */
typedef struct hsctl_cli_cmd {
    const char *name;    /* the command word; NULL for a verb without commands */
    const char *args;    /* its arguments as in a usage line ("ID [--from T] [--to T]") */
    const char *summary; /* one line */
    const char *opts;    /* the options it takes, space-separated ("--from --to"); "" for none */
    hsctl_cli_arg arg;   /* what its first positional argument names */
    const char *detail;  /* more lines for its --help, or NULL */
} hsctl_cli_cmd;

/* One verb of hsctl. */
typedef struct hsctl_cli_verb {
    const char *name;
    const char *group;         /* the heading it is listed under in hsctl --help */
    const hsctl_cli_cmd *cmds; /* borrowed: its commands, ended by a NULL summary */
    const char *dflt;          /* the command run when none is given (tool: ls), or NULL */
} hsctl_cli_verb;

/* The verbs, in the order of hsctl --help; *n gets their number. */
const hsctl_cli_verb *hsctl_cli_verbs(size_t *n);

/* The verb named name, or NULL. */
const hsctl_cli_verb *hsctl_cli_verb_find(const char *name);

/* Whether verb v has commands (stream get) rather than taking arguments directly (up). */
bool hsctl_cli_has_cmds(const hsctl_cli_verb *v);

/* The command named name of verb v, or NULL (also for a verb without commands). */
const hsctl_cli_cmd *hsctl_cli_cmd_find(const hsctl_cli_verb *v, const char *name);

/*
 * The candidate closest to word among n names (by edit distance, a prefix
 * counting as close), or NULL when none is within two edits. The result is
 * one of names.
 */
const char *hsctl_cli_suggest(const char *word, const char *const *names, size_t n);

/*
 * The error of an unknown command word of verb v (v NULL: an unknown verb),
 * with a suggestion and the list of what exists, ending in a newline:
 *   hsctl stream: unknown command 'gett' (did you mean 'get'?)
 *   commands: ls, get, ...
 * HS_OK or the buffer's error.
 */
int hsctl_cli_unknown(const hsctl_cli_verb *v, const char *word, hs_buf *out);

/* Appends hsctl --help: every verb and command, how the stack is found, the exit codes. */
int hsctl_cli_help(hs_buf *out);

/* Appends the help of verb v: a usage line per command with its summary and options. */
int hsctl_cli_verb_help(const hsctl_cli_verb *v, hs_buf *out);

/* Appends the help of command c of verb v: its usage line, summary, options and detail. */
int hsctl_cli_cmd_help(const hsctl_cli_verb *v, const hsctl_cli_cmd *c, hs_buf *out);

/* Appends the exit-code table (one "  N  meaning" line each). */
int hsctl_cli_exit_codes(hs_buf *out);

/*
 * Appends a bash completion script for hsctl: verbs, commands and options
 * from the table; files, stream ids, workflow ids and tool names for the
 * arguments that name them (the ids by running hsctl itself).
 */
int hsctl_cli_completion_bash(hs_buf *out);

/* ---- output helpers ---- */

/*
 * A table printed with each column as wide as its widest cell (header
 * included), columns two spaces apart, the last one not padded. Rows are
 * kept until hsctl_table_flush; a flush keeps the widths it used, so that
 * later blocks line up with earlier ones unless a cell is wider.
 */
typedef struct hsctl_table {
    size_t ncols;
    const char *align; /* borrowed: per column 'l' (left) or 'r' (right); NULL: all left */
    char **cells;      /* owned: rows * ncols strings, each owned */
    size_t rows, cap;
    size_t *width;     /* owned: per column, in characters */
    bool header_shown; /* the first row (the header) was flushed */
} hsctl_table;

/*
 * Starts a table of ncols columns whose first row is the header heads
 * (copied). align is borrowed. HS_OK, HS_ERR_INVAL, HS_ERR_NOMEM.
 */
int hsctl_table_init(hsctl_table *t, size_t ncols, const char *const *heads, const char *align);

/* Adds a row of ncols cells (copied; NULL is written "-"). HS_OK or HS_ERR_NOMEM. */
int hsctl_table_add(hsctl_table *t, const char *const *cells);

/* Appends the rows added so far to out and forgets them. HS_OK or the buffer's error. */
int hsctl_table_flush(hsctl_table *t, hs_buf *out);

/* Releases a table (NULL-safe). */
void hsctl_table_free(hsctl_table *t);

/*
 * Appends s (len bytes) as one RFC 4180 CSV field: as is, or in double
 * quotes with quotes doubled when it holds a comma, a quote, CR or LF (or
 * when always_quote). HS_OK or the buffer's error.
 */
int hsctl_csv_field(hs_buf *out, const char *s, size_t len, bool always_quote);

/*
 * Appends the msgpack value mp (len bytes) as text for a person or a CSV
 * reader: a string as its text, a number in its shortest exact form, a
 * boolean as true/false, nil as "" (CSV) or "null", a map or an array as
 * JSON text. With csv, as one CSV field (maps and arrays always quoted).
 * HS_OK, or the decoder's or the buffer's error.
 */
int hsctl_value_text(hs_buf *out, const uint8_t *mp, size_t len, bool csv);

/* Room for hsctl_fmt_seconds, NUL included. */
#define HSCTL_SECONDS_MAX 32

/*
 * Writes a duration of s seconds for a person: "0.42s" and "3.14s" under 10
 * s, "42.1s" under 100 s, "12m05s" under an hour, "3h07m" beyond (negative
 * or non-finite as "0.00s"). Returns out.
 */
const char *hsctl_fmt_seconds(double s, char out[HSCTL_SECONDS_MAX]);

/*
 * Appends s quoted for a POSIX shell: as is when it only holds characters a
 * shell leaves alone (letters, digits, _ - . / = : , + @ %), else in single
 * quotes. HS_OK or the buffer's error.
 */
int hsctl_shell_quote(hs_buf *out, const char *s);

/* Room for hsctl_fmt_count, NUL included. */
#define HSCTL_COUNT_MAX 32

/* Writes n for a person, thousands apart by commas ("299,000"). Returns out. */
const char *hsctl_fmt_count(uint64_t n, char out[HSCTL_COUNT_MAX]);

/*
 * Whether s is a glob pattern (it holds *, ? or [, or a backslash that
 * escapes one): stream ls matches it with fnmatch against the whole id, and
 * takes any other argument as a prefix of ids.
 */
bool hsctl_is_glob(const char *s);

/*
 * The length of the literal start of glob pattern s, before its first *, ?,
 * [ or backslash: every id the pattern matches starts with those bytes, so
 * the store lists only ids under that prefix.
 */
size_t hsctl_glob_literal(const char *s);

/* ---- stream summaries (stream ls --summary) ---- */

/* The streams of one name (the part of their id before the first '/'). */
typedef struct hsctl_sum_row {
    char *name;         /* owned */
    uint64_t streams;   /* how many streams */
    uint64_t instances; /* their instances together */
    uint64_t kinds[3];  /* streams per hs_stream_kind (raw, computed, asset) */
    hs_interval span;   /* the smallest interval covering their calculated intervals */
    bool have_span;     /* some stream of the name has calculated intervals */
} hsctl_sum_row;

/*
 * Streams summed by name: memory grows with the number of names, not of
 * streams.
 */
typedef struct hsctl_summary {
    hsctl_sum_row *rows; /* owned: n rows (after hsctl_summary_sort, by name) */
    size_t n, cap;
    hs_map index; /* name -> row number + 1 (as a pointer-sized integer) */
} hsctl_summary;

/* Starts an empty summary. */
void hsctl_summary_init(hsctl_summary *s);

/*
 * Counts stream id (of kind, with count instances and calculated intervals
 * calculated, borrowed) under its name. HS_OK or HS_ERR_NOMEM.
 */
int hsctl_summary_add(hsctl_summary *s, const char *id, int kind, uint64_t count,
                      const hs_intervals *calculated);

/* Orders the rows by name (byte order); no hsctl_summary_add after it. */
void hsctl_summary_sort(hsctl_summary *s);

/* Releases a summary (NULL-safe). */
void hsctl_summary_free(hsctl_summary *s);

#endif
