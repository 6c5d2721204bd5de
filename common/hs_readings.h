/*
 * The readings of one HTTP write request (hs-api, docs/HTTP.md §2), by
 * stream, and the parsers of /api/v1/write's bodies: an MQTT payload of one
 * stream (docs/INPUT.md §1), JSON lines (payloads of one stream, or records
 * {"stream", "t", "v"}), and CSV with a header naming stream (unless the
 * stream is given), t (optional) and v. A body is parsed whole before
 * anything of it is sent, so a bad reading refuses all of it.
 */
#ifndef HS_READINGS_H
#define HS_READINGS_H

#include "hs_codec.h"
#include "hs_map.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hs_readings {
    hs_map streams; /* canonical sid -> hs_batch * */
    char **order;   /* sids in first-seen order (owned copies) */
    size_t n, cap;
    uint64_t count; /* readings in all */
} hs_readings;

void hs_readings_init(hs_readings *w);
void hs_readings_free(hs_readings *w);

/* Adds one reading of stream sid (canonical). HS_OK or HS_ERR_NOMEM. */
int hs_readings_add(hs_readings *w, const char *sid, int64_t t, const uint8_t *v, size_t vlen);
/* Adds every instance of b to stream sid (canonical). */
int hs_readings_add_batch(hs_readings *w, const char *sid, const hs_batch *b);
/* The instances of the i-th stream (i < w->n), in the order added. */
hs_batch *hs_readings_batch(const hs_readings *w, size_t i);

typedef enum hs_readings_form {
    HS_READINGS_PAYLOAD, /* one MQTT payload of stream sid */
    HS_READINGS_LINES,   /* JSON lines: payloads of sid, or records when sid is NULL */
    HS_READINGS_CSV,     /* CSV with a header */
} hs_readings_form;

/*
 * Parses body (len bytes) of the given form into w. sid is the canonical
 * stream of every reading, or NULL when the body names them (lines: records
 * {"stream": ID, "t": T, "v": V}; CSV: a stream column). Readings without a
 * time are stamped arrival_us. HS_OK; HS_ERR_PARSE (or the codec's error)
 * with a detail, *line (may be NULL) then being the 1-based line at fault
 * (0 for a payload); HS_ERR_NOMEM. After an error w holds what came before:
 * the caller discards it.
 */
int hs_readings_parse(hs_readings *w, hs_readings_form form, const char *sid, const char *body,
                      size_t len, int64_t arrival_us, size_t *line);

#endif
