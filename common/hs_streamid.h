/*
 * Stream ids: a name plus meta-data pairs, e.g. temperature with house=1 and
 * room=kitchen. The canonical text form, which is also the MQTT topic suffix
 * and the store key, is the name followed by the pairs sorted by key:
 * "temperature/house=1/room=kitchen".
 *
 * Validation: the name, every key and every value is non-empty, at most
 * HS_SID_MAX_PART bytes of valid UTF-8 without control characters, and
 * contains none of '/', '+', '#', '=' or NUL; no part is "." or ".."; the
 * name does not start with '$'; keys are unique; at most HS_SID_MAX_PAIRS
 * pairs; the canonical form is at most HS_SID_MAX_LEN bytes.
 */
#ifndef HS_STREAMID_H
#define HS_STREAMID_H

#include "hs_buf.h"

#include <stddef.h>

#define HS_SID_MAX_PART  128
#define HS_SID_MAX_PAIRS 16
#define HS_SID_MAX_LEN   1024

typedef struct hs_meta_pair {
    char *key;   /* owned */
    char *value; /* owned */
} hs_meta_pair;

typedef struct hs_streamid {
    char *name;         /* owned */
    hs_meta_pair *meta; /* owned array of n_meta pairs, sorted by key */
    size_t n_meta;
    char *canon; /* owned canonical text form, NUL-terminated */
} hs_streamid;

/*
 * Parses "name/k=v/k2=v2" (pairs in any order) of len bytes into a new id.
 * Returns HS_ERR_PARSE with a detail saying which part is wrong and why.
 * The caller destroys *out.
 */
int hs_streamid_parse(const char *s, size_t len, hs_streamid **out);

/* Builds an id from a name and n pairs (any order, copied). */
int hs_streamid_create(hs_streamid **out, const char *name, const hs_meta_pair *pairs, size_t n);

/* A deep copy. */
int hs_streamid_clone(const hs_streamid *sid, hs_streamid **out);

/* Value of key, or NULL. */
const char *hs_streamid_get(const hs_streamid *sid, const char *key);

/* A new id with key set to value (added or replaced). */
int hs_streamid_with(const hs_streamid *sid, const char *key, const char *value, hs_streamid **out);

/* A new id without key (HS_ERR_NOTFOUND when absent). */
int hs_streamid_without(const hs_streamid *sid, const char *key, hs_streamid **out);

/*
 * Canonicalises the text s of len bytes into out (appended), e.g.
 * "t/room=k/house=1" -> "t/house=1/room=k". Errors as hs_streamid_parse.
 */
int hs_streamid_canonical(const char *s, size_t len, hs_buf *out);

/*
 * Checks one part (what = "name", "key" or "value", used in the detail).
 * HS_OK or HS_ERR_PARSE.
 */
int hs_streamid_check_part(const char *s, size_t len, const char *what);

/* Orders by canonical form. */
int hs_streamid_cmp(const hs_streamid *a, const hs_streamid *b);

void hs_streamid_destroy(hs_streamid *sid);

#endif
