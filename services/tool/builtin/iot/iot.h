/*
 * The "iot" part of the tool library: HyperStream's data generators and CSV
 * importers, and the stream-processing tools an IoT user expects (filters,
 * resampling, rates, thresholds, windows, joins, enrichment), plus the
 * small helpers they share (t_iot_util.c).
 */
#ifndef HS_BUILTIN_IOT_H
#define HS_BUILTIN_IOT_H

#include "hs_buf.h"
#include "hs_tool.h"
#include "tool_util.h"
#include "hs_value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Data generators (t_random.c). */
extern const hs_tool_def hs_tool_random;
extern const hs_tool_def hs_tool_uniform;
extern const hs_tool_def hs_tool_gauss;
extern const hs_tool_def hs_tool_normal;
extern const hs_tool_def hs_tool_lognormal;
extern const hs_tool_def hs_tool_exponential;
extern const hs_tool_def hs_tool_gamma;
extern const hs_tool_def hs_tool_beta;
extern const hs_tool_def hs_tool_pareto;
extern const hs_tool_def hs_tool_weibull;
extern const hs_tool_def hs_tool_triangular;
extern const hs_tool_def hs_tool_vonmises;
extern const hs_tool_def hs_tool_randint;
extern const hs_tool_def hs_tool_randrange;
extern const hs_tool_def hs_tool_custom;

/* Importers (t_csv_reader.c). */
extern const hs_tool_def hs_tool_csv_reader;
extern const hs_tool_def hs_tool_csv_multi_reader;

/* Stream processing. */
extern const hs_tool_def hs_tool_filter;      /* t_filter.c */
extern const hs_tool_def hs_tool_resample;    /* t_resample.c */
extern const hs_tool_def hs_tool_rate;        /* t_rate.c */
extern const hs_tool_def hs_tool_derivative;  /* t_rate.c */
extern const hs_tool_def hs_tool_threshold;   /* t_threshold.c */
extern const hs_tool_def hs_tool_window;      /* t_window.c */
extern const hs_tool_def hs_tool_join_window; /* t_join_window.c */
extern const hs_tool_def hs_tool_enrich;      /* t_enrich.c */

/* ---- helpers (t_iot_util.c) ---- */

/*
 * The bytes of field key (klen bytes) of the msgpack map v: true with *fv
 * and *flen set (borrowed from v), false when v is not a map or has no such
 * field. With key == NULL the field is v itself.
 */
bool hs_iot_field(const uint8_t *v, size_t len, const char *key, size_t klen, const uint8_t **fv,
                  size_t *flen);

/*
 * The numeric view (INT, FLOAT, BOOL as 0/1) of v, or of its field key when
 * key != NULL. False for anything else.
 */
bool hs_iot_number(const uint8_t *v, size_t len, const char *key, size_t klen, double *out);

/*
 * Reads the optional string parameter name (e.g. "key") into *key (job
 * arena) and *klen; *key = NULL when absent. A mistyped or empty parameter
 * fails the job.
 */
int hs_iot_param_key(hs_tool_ctx *ctx, const char *name, const char **key, size_t *klen);

/*
 * A predicate on raw values for hs_iot_find_last; NULL accepts every value.
 * (t is the instance's time.)
 */
typedef bool (*hs_iot_pred)(void *ud, int64_t t, const uint8_t *v, size_t len);

/*
 * Finds the last instance of source with floor < t <= at whose value
 * satisfies pred, reading backwards from at in disjoint windows that double
 * in width (1 s, 2 s, 4 s, ...), each read forwards, so that the cost is the
 * instances between the match and at (plus at most as many before it) and
 * about 60 reads when nothing matches back to HS_TIME_MIN. Use floor =
 * HS_TIME_MIN - 1 for no bound. Returns 1 with *t and the value bytes copied
 * into out (reset first), 0 when there is none, or a negative error (the
 * job has failed).
 */
int hs_iot_find_last(hs_tool_ctx *ctx, size_t source, int64_t at, int64_t floor, hs_iot_pred pred,
                     void *ud, int64_t *t, hs_buf *out);

/*
 * hs_iot_find_last for a number: finds the last instance of source with
 * floor < t <= at whose value (or its field key, when key != NULL) is a
 * number and that pred accepts (pred == NULL: every number). Returns 1 with
 * *t and the number in *d, 0 when there is none (*t and *d unchanged), or a
 * negative error (the job has failed).
 */
int hs_iot_find_last_number(hs_tool_ctx *ctx, size_t source, int64_t at, int64_t floor,
                            const char *key, size_t klen, hs_iot_pred pred, void *ud, int64_t *t,
                            double *d);

/*
 * Reads it on to the next instance whose value (or its field key, when key
 * != NULL) is a number, passing over the others. Returns 1 with *t and the
 * number in *d, 0 at the end, or a negative read error.
 */
int hs_iot_next_number(hs_tool_iter *it, const char *key, size_t klen, int64_t *t, double *d);

/* a + b saturated at HS_TIME_MIN - 1 and HS_TIME_MAX (instants and durations in microseconds). */
int64_t hs_iot_time_add(int64_t a, int64_t b);

/*
 * Whether a value is "truthy" as in Python: nil and false are false, numbers
 * are true when non-zero (NaN is true), strings, binary data, arrays and
 * maps when non-empty.
 */
bool hs_iot_truthy(const hs_value *v);

#endif
