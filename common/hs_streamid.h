/*
 * Stream ids: a name plus meta-data pairs, e.g. temperature with house=1 and
 * room=kitchen. The canonical text form, which is also the MQTT topic suffix
 * and the store key, is the name followed by the pairs sorted by key:
 * "temperature/house=1/room=kitchen".
 *
 * Validation: the name, every key and every value is non-empty, at most
 * HS_SID_MAX_PART bytes of valid UTF-8 without control characters (C0, DEL
 * and C1: U+0000..U+001F, U+007F..U+009F), spaces (U+0020 and the other
 * Unicode spaces U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F,
 * U+205F, U+3000), zero-width characters (U+200B..U+200D, U+2060, U+FEFF)
 * or noncharacters (U+FDD0..U+FDEF,
 * U+xFFFE and U+xFFFF of every plane), and contains none of '/', '+',
 * '#', '=' or NUL; no part is "." or ".."; the name does not start with '$'
 * (MQTT reserves such topics); keys are unique; at most HS_SID_MAX_PAIRS
 * pairs; the canonical form is at most HS_SID_MAX_LEN bytes. Keys are sorted
 * bytewise (shorter first on a common prefix). Sorting the pairs is the only
 * canonicalisation: nothing is trimmed, case-folded or Unicode-normalised,
 * so every other difference is either refused or a different id. Every
 * service and hsctl check ids with these functions only (docs/INPUT.md).
 *
 * Every failure records a detail naming the id, the offending part and the
 * reason, e.g. "stream id 'temp/house': meta-data part 'house' has no '='";
 * bytes that are not printable are shown as \xNN and long ids are shortened.
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

/*
 * A validated id. It and all its strings live in one allocation made by the
 * functions below: treat every field as read-only and release the id with
 * hs_streamid_destroy only.
 */
typedef struct hs_streamid {
    char *name;         /* owned by the id, NUL-terminated */
    hs_meta_pair *meta; /* owned array of n_meta pairs, sorted by key */
    size_t n_meta;
    char *canon; /* owned canonical text form, NUL-terminated */
} hs_streamid;

/*
 * Parses "name/k=v/k2=v2" (pairs in any order) of len bytes into a new id.
 * Returns HS_ERR_PARSE with a detail saying which part is wrong and why,
 * HS_ERR_INVAL for NULL arguments, HS_ERR_NOMEM. The caller destroys *out,
 * which is left untouched on failure.
 */
int hs_streamid_parse(const char *s, size_t len, hs_streamid **out);

/*
 * Builds an id from a name and n pairs (any order; the strings are copied).
 * Errors as hs_streamid_parse (HS_ERR_PARSE for an invalid part, a duplicate
 * key, too many pairs or too long a result).
 */
int hs_streamid_create(hs_streamid **out, const char *name, const hs_meta_pair *pairs, size_t n);

/* A deep copy; HS_ERR_NOMEM or HS_ERR_INVAL. The caller destroys *out. */
int hs_streamid_clone(const hs_streamid *sid, hs_streamid **out);

/* Value of key (borrowed from sid), or NULL when absent. */
const char *hs_streamid_get(const hs_streamid *sid, const char *key);

/*
 * A new id with key set to value (added or replaced); sid is unchanged.
 * HS_ERR_PARSE when key or value is invalid or the result breaks a limit.
 */
int hs_streamid_with(const hs_streamid *sid, const char *key, const char *value, hs_streamid **out);

/* A new id without key (HS_ERR_NOTFOUND when absent); sid is unchanged. */
int hs_streamid_without(const hs_streamid *sid, const char *key, hs_streamid **out);

/*
 * Canonicalises the text s of len bytes into out (appended), e.g.
 * "t/room=k/house=1" -> "t/house=1/room=k". Errors as hs_streamid_parse.
 */
int hs_streamid_canonical(const char *s, size_t len, hs_buf *out);

/*
 * Checks one part (what = "name", "key" or "value", used in the detail, e.g.
 * "key 'a#' contains '#'"). The rule against a leading '$' applies when what
 * is "name". HS_OK or HS_ERR_PARSE.
 */
int hs_streamid_check_part(const char *s, size_t len, const char *what);

/* Orders by canonical form, bytewise (<0, 0, >0 like strcmp). */
int hs_streamid_cmp(const hs_streamid *a, const hs_streamid *b);

/* Frees sid; NULL is allowed. */
void hs_streamid_destroy(hs_streamid *sid);

#endif
