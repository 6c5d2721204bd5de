/*
 * The tool API: how a tool is declared and how it reads its inputs and
 * writes its outputs during a job. A tool is one small file:
 *
 *   static int my_map(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v)
 *   {
 *       double d;
 *       if (hs_value_to_double(v, &d) != HS_OK)
 *           return HS_OK;                       // skip non-numbers
 *       return hs_tool_emit_double(ctx, t, d * 1.8 + 32);
 *   }
 *   const hs_tool_def hs_tool_c_to_f = {
 *       .name = "c_to_f", .version = "1.0.0", .kind = HS_TOOL_PLAIN,
 *       .min_sources = 1, .max_sources = 1,
 *       .summary = "Celsius to Fahrenheit", .map = my_map,
 *   };
 *
 * Kinds follow HyperStream (hyperstream-semantics.md section 1): a plain
 * tool computes one sink from its sources; an aggregate tool computes a sink
 * on a parent plate from the sources of every child plate value; a
 * multi-output tool splits its source onto the values of an output plate; a
 * selector tool routes each source onto the sink with the same meta-data
 * (minus the selector key); a plate-creation tool discovers plate values.
 *
 * A job covers an interval (start, end]. Tools read any range of their
 * sources (the runtime reads the store in chunks) and emit instances with
 * timestamps in the job interval; the runtime sends them to the writer,
 * which commits them with the interval. A tool must be deterministic: the
 * same job run twice gives the same output (random generators seed from
 * their parameters and the job interval).
 */
#ifndef HS_TOOL_H
#define HS_TOOL_H

#include "hs_arena.h"
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_interval.h"
#include "hs_streamid.h"
#include "hs_value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Version of this API; plugins built against another version are refused.
 * Version 2 added the planner fields at the end of hs_tool_def (lookback_us,
 * lookback_from_windows, window_width_us): a definition built against
 * version 1 is shorter, so it cannot be read as a version 2 one. Version 3
 * added check_param at the end.
 */
#define HS_TOOL_API_VERSION 3

typedef enum hs_tool_kind {
    HS_TOOL_PLAIN = 'T',
    HS_TOOL_AGGREGATE = 'A',
    HS_TOOL_MULTI = 'M',
    HS_TOOL_SELECTOR = 'S',
    HS_TOOL_PLATE = 'P',
} hs_tool_kind;

typedef enum hs_param_type {
    HS_P_ANY,
    HS_P_NUMBER,
    HS_P_INT,
    HS_P_BOOL,
    HS_P_STRING,
    HS_P_DURATION, /* "10s", "-1h30m", or a number of seconds */
    HS_P_TIME,     /* ISO-8601 or epoch seconds */
    HS_P_FUNC,     /* a built-in function name or "lua: ..." source */
    HS_P_LIST,
    HS_P_MAP,
} hs_param_type;

typedef struct hs_tool_param {
    const char *name;
    hs_param_type type;
    const char *def;  /* default as JSON text; NULL: required */
    const char *help; /* one line */
} hs_tool_param;

typedef struct hs_tool_ctx hs_tool_ctx;

typedef struct hs_tool_def {
    const char *name;    /* snake_case, unique */
    const char *version; /* "major.minor.patch"; major.minor binds computed streams */
    hs_tool_kind kind;
    int min_sources;             /* sources the factor must name */
    int max_sources;             /* -1: any number */
    bool alignment;              /* takes an alignment stream */
    bool splitting;              /* takes a splitting stream (multi-output) */
    const char *summary;         /* one line for `hsctl tool ls` */
    const char *doc;             /* semantics and examples for `hsctl tool show` */
    const hs_tool_param *params; /* ended by an entry with name == NULL; NULL: none */
    /*
     * Called once per job before run/map with the parameters in place; may
     * parse them into *state (freed by fini). Returns HS_OK or an error
     * through hs_tool_fail.
     */
    int (*init)(hs_tool_ctx *ctx, void **state);
    /* Runs one job: reads sources, emits outputs. */
    int (*run)(hs_tool_ctx *ctx, void *state);
    /*
     * For per-instance tools instead of run: called for every instance of
     * source 0 in the job interval, in time order (v decoded in the job's arena).
     */
    int (*map)(hs_tool_ctx *ctx, void *state, int64_t t, const hs_value *v);
    void (*fini)(void *state);

    /*
     * ---- what the planner needs (API version 2) ----
     * The scheduler and `hsctl` plan a factor's jobs from these fields alone;
     * they never look at a tool's name. A factor's own `lookback` setting
     * takes precedence over both ways of declaring one below.
     */
    /*
     * The data before a job's interval that a job of this tool reads, in
     * microseconds, from the factor's parameters (a decoded msgpack map as
     * the workflow gives them, defaults not applied). NULL: none, unless
     * lookback_from_windows says otherwise. A result <= 0 means none.
     */
    int64_t (*lookback_us)(const hs_value *params);
    /*
     * The tool reads windows [lo_us, up_us] from source 0 and the data of
     * each window from its other sources: a job reads back as far as one
     * window is wide, so its lookback is the window width that the producer
     * of source 0 declares (window_width_us), or none when source 0 is an
     * input or its tool declares no width. Ignored when lookback_us is set.
     */
    bool lookback_from_windows;
    /*
     * For tools that write windows: the width of every window, in
     * microseconds, from the factor's parameters (as for lookback_us).
     * NULL: the tool does not write windows. A result <= 0 means unknown.
     */
    int64_t (*window_width_us)(const hs_value *params);

    /*
     * ---- what `workflow check` needs (API version 3) ----
     * Checks the value of one parameter beyond its type, without running
     * anything: a word from a fixed set (hs_tool_check_choice), a function
     * name that exists, Lua source that compiles. Called with name (one of
     * params) and a non-null value of the declared type. Returns HS_OK, or
     * an error (HS_ERR_SCHEMA) with the reason appended to err, worded to
     * follow "parameter NAME: " ("\"maxx\" is not one of ..."). NULL: the
     * types are all that is checked.
     */
    int (*check_param)(const char *name, const hs_value *v, hs_buf *err);
} hs_tool_def;

/* ---- the job ---- */

hs_interval hs_tool_interval(const hs_tool_ctx *ctx);
size_t hs_tool_nsources(const hs_tool_ctx *ctx);
/* Stream id of source i (NULL out of range). */
const hs_streamid *hs_tool_source(const hs_tool_ctx *ctx, size_t i);
/* Memory for the job, freed when it ends. */
hs_arena *hs_tool_arena(hs_tool_ctx *ctx);
/*
 * Short-lived memory: in map tools it is reset every few hundred calls, so
 * it suits per-instance temporaries (never keep pointers into it across
 * calls).
 */
hs_arena *hs_tool_scratch(hs_tool_ctx *ctx);

/* The parameters as a map (defaults of the definition applied). */
const hs_value *hs_tool_params(const hs_tool_ctx *ctx);
/* One parameter, or NULL when absent (and without default). */
const hs_value *hs_tool_param_value(const hs_tool_ctx *ctx, const char *name);
/* Typed parameters; HS_ERR_NOTFOUND when absent, HS_ERR_TOOL (with message) when mistyped. */
int hs_tool_param_double(hs_tool_ctx *ctx, const char *name, double *out);
int hs_tool_param_int(hs_tool_ctx *ctx, const char *name, int64_t *out);
int hs_tool_param_bool(hs_tool_ctx *ctx, const char *name, bool *out);
/* NUL-terminated copy in the job arena. */
int hs_tool_param_string(hs_tool_ctx *ctx, const char *name, const char **out);
/* Durations: "10s", "-1h", or a number of seconds; microseconds. */
int hs_tool_param_duration(hs_tool_ctx *ctx, const char *name, int64_t *out_us);
/* Instants: ISO-8601 or epoch seconds; microseconds. */
int hs_tool_param_time(hs_tool_ctx *ctx, const char *name, int64_t *out_us);

/* ---- reading ---- */

/* Pseudo source indexes. */
#define HS_TOOL_ALIGNMENT ((size_t)-1)
#define HS_TOOL_SPLITTING ((size_t)-2)

/* An iterator over the instances of one source in a range, in time order. */
typedef struct hs_tool_iter {
    hs_tool_ctx *ctx; /* borrowed */
    size_t source;
    int64_t after; /* last timestamp returned (keyset paging) */
    int64_t end;
    hs_batch chunk; /* owned current chunk */
    size_t pos;
    bool exhausted; /* the source has nothing after the chunk */
    int err;
} hs_tool_iter;

/*
 * Opens an iterator over source (an index, HS_TOOL_ALIGNMENT or
 * HS_TOOL_SPLITTING) for range.start < t <= range.end.
 */
int hs_tool_iter_open(hs_tool_ctx *ctx, size_t source, hs_interval range, hs_tool_iter *it);

/*
 * Gets the next instance: returns 1 with *t, *v, *len set (valid until the
 * next call), 0 at the end, or a negative error.
 */
int hs_tool_iter_next(hs_tool_iter *it, int64_t *t, const uint8_t **v, size_t *len);

/* Same, decoding the value into the job arena. */
int hs_tool_iter_next_value(hs_tool_iter *it, int64_t *t, hs_value **v);

void hs_tool_iter_close(hs_tool_iter *it);

/* The last instance of source in range (1), or none (0), or an error. Value in the arena. */
int hs_tool_last(hs_tool_ctx *ctx, size_t source, hs_interval range, int64_t *t, hs_value **v);

/* ---- writing ---- */

/* Emits an instance to the (first) sink. v is one canonical msgpack value. */
int hs_tool_emit(hs_tool_ctx *ctx, int64_t t, const uint8_t *v, size_t len);
int hs_tool_emit_value(hs_tool_ctx *ctx, int64_t t, const hs_value *v);
int hs_tool_emit_double(hs_tool_ctx *ctx, int64_t t, double d);
int hs_tool_emit_int(hs_tool_ctx *ctx, int64_t t, int64_t i);

/*
 * Sinks of multi-output and selector jobs: one per output plate value.
 * hs_tool_sink_value is the value of the output plate's meta-data key for
 * sink i ("kitchen" for room=kitchen); hs_tool_sink_for finds the sink of
 * a value (-1 when the output plate has no such value).
 */
size_t hs_tool_nsinks(const hs_tool_ctx *ctx);
const hs_streamid *hs_tool_sink(const hs_tool_ctx *ctx, size_t i);
const char *hs_tool_sink_value(const hs_tool_ctx *ctx, size_t i);
long hs_tool_sink_for(const hs_tool_ctx *ctx, const char *value, size_t len);
/* The meta-data key of the output plate ("room"), or NULL for plain jobs. */
const char *hs_tool_output_meta(const hs_tool_ctx *ctx);
int hs_tool_emit_to(hs_tool_ctx *ctx, size_t sink, int64_t t, const uint8_t *v, size_t len);
int hs_tool_emit_value_to(hs_tool_ctx *ctx, size_t sink, int64_t t, const hs_value *v);

/* Plate-creation tools: announces a plate value (duplicates are ignored). */
int hs_tool_emit_plate_value(hs_tool_ctx *ctx, const char *value, size_t len);

/* Fails the job with a message; returns HS_ERR_TOOL for `return hs_tool_fail(...)`. */
int hs_tool_fail(hs_tool_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Notes a non-fatal problem (counted and logged by the runtime, at most a few per job). */
void hs_tool_warn(hs_tool_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the registry ---- */

typedef struct hs_tool_registry hs_tool_registry;

int hs_tool_registry_create(hs_tool_registry **out);
void hs_tool_registry_destroy(hs_tool_registry *r);
/*
 * The registry is keyed by (name, major.minor): several versions of one tool
 * may be registered side by side (a stream is bound to major.minor, so the
 * results of two versions never mix).
 *
 * Adds a tool version (borrowed; must outlive the registry). HS_ERR_EXISTS
 * when the name already has a version with the same major.minor (the patch
 * does not count); HS_ERR_INVAL for a missing name or a bad version.
 */
int hs_tool_registry_add(hs_tool_registry *r, const hs_tool_def *def);
/* The newest version of the tool name (borrowed), or NULL when there is none. */
const hs_tool_def *hs_tool_registry_find(const hs_tool_registry *r, const char *name);
/*
 * The version of tool name whose major.minor is the one of version
 * ("1.0" or "1.0.3": the patch may differ), borrowed; NULL when the tool
 * has no such version or version is not major.minor[.patch].
 */
const hs_tool_def *hs_tool_registry_find_version(const hs_tool_registry *r, const char *name,
                                                 const char *version);
/*
 * Appends the versions of tool name to out, newest first, separated by ", "
 * ("1.0.0, 0.0.1"; nothing for an unknown name). HS_OK or the buffer's error.
 */
int hs_tool_registry_versions(const hs_tool_registry *r, const char *name, hs_buf *out);
/* Number of tool versions (a tool with two versions counts twice). */
size_t hs_tool_registry_count(const hs_tool_registry *r);
/* Tool versions in name order, the newest version of a name first; NULL out of range. */
const hs_tool_def *hs_tool_registry_at(const hs_tool_registry *r, size_t i);

/*
 * Loads tool plugins: every *.so in dir exporting
 *   const hs_tool_def *const *hs_tool_plugin_tools(int api_version, size_t *n);
 * Problems with one plugin are reported in err (appended) and the others
 * still load. Missing dir is not an error.
 */
int hs_tool_registry_load_plugins(hs_tool_registry *r, const char *dir, hs_buf *err);

/*
 * Version helpers: parses "1.2.3" (or "1.2") into parts; HS_ERR_PARSE
 * otherwise. hs_tool_version_binding gives "major.minor".
 */
int hs_tool_version_parse(const char *v, int *major, int *minor, int *patch);

/* ---- running a job (the runtime side) ---- */

/*
 * Where a job's inputs come from: reads up to max instances of source
 * (index or pseudo index) with after < t <= end, ascending, into out
 * (appending).
 */
typedef int (*hs_tool_read_fn)(void *ud, size_t source, int64_t after, int64_t end, size_t max,
                               hs_batch *out);

/* A job as the runtime describes it to hs_tool_run. */
typedef struct hs_tool_job {
    const hs_tool_def *def;
    hs_interval interval;
    const uint8_t *params; /* msgpack map (may be NULL: no parameters) */
    size_t params_len;
    hs_streamid **sources; /* borrowed, nsources */
    size_t nsources;
    hs_streamid **sinks; /* borrowed, nsinks (>= 1 except plate creation) */
    size_t nsinks;
    const char *output_meta; /* multi-output/selector: the output plate's key; else NULL */
    bool has_alignment, has_splitting;
    hs_tool_read_fn read;
    void *read_ud;
} hs_tool_job;

/* What a job produced. */
typedef struct hs_tool_output {
    hs_batch *per_sink; /* owned array of nsinks batches */
    size_t nsinks;
    char **plate_values; /* owned; plate creation only */
    size_t nplate_values;
    char error[512];   /* set when the job failed */
    char warning[512]; /* first warning, if any */
    size_t warnings;
} hs_tool_output;

void hs_tool_output_init(hs_tool_output *o);
void hs_tool_output_free(hs_tool_output *o);

/*
 * Runs one job. Returns HS_OK with the outputs (each sink's batch sorted by
 * time; instances outside the job interval are dropped with a warning), or
 * HS_ERR_TOOL with out->error set. Never lets a tool error escape as a crash.
 */
int hs_tool_run(const hs_tool_job *job, hs_tool_output *out);

/*
 * Validates params (msgpack map) against def: unknown names, missing
 * required, types and the tool's own check_param. Returns HS_OK, or an error
 * (HS_ERR_SCHEMA) with every problem appended to err ("; " between them).
 */
int hs_tool_check_params(const hs_tool_def *def, const uint8_t *params, size_t len, hs_buf *err);

/*
 * Checks one given parameter (name, name_len; v its value) against def: a
 * known name (with a "did you mean" for a near miss), the declared type
 * (null always passes: it asks for the default) and def->check_param.
 * Returns HS_OK, or HS_ERR_SCHEMA with one message appended to err.
 */
int hs_tool_check_param(const hs_tool_def *def, const char *name, size_t name_len,
                        const hs_value *v, hs_buf *err);

/*
 * Checks that every required parameter of def is in params (a map value, or
 * NULL: none given). Returns HS_OK, or HS_ERR_SCHEMA with the missing ones
 * appended to err.
 */
int hs_tool_check_required(const hs_tool_def *def, const hs_value *params, hs_buf *err);

/*
 * For check_param functions: HS_OK when the string v is one of words[0..n)
 * (other types pass), else HS_ERR_SCHEMA with
 * "\"maxx\" is not one of min, max or mean; did you mean \"max\"?" appended
 * to err.
 */
int hs_tool_check_choice(const hs_value *v, const char *const *words, size_t n, hs_buf *err);

/*
 * The word of words[0..n) closest to word (len bytes), when it is a near
 * miss (one edit for words up to 4 bytes, two for longer ones); else NULL.
 * The result is one of words (borrowed).
 */
const char *hs_tool_suggest(const char *word, size_t len, const char *const *words, size_t n);

#endif
