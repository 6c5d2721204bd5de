/*
 * Retention rules: how long the streams matching a pattern keep their data
 * (docs/DEPLOY.md, "Retention"). The writer's setting `retention` holds
 * them as text:
 *
 *   retention = "temperature/# 30d; humidity/+/room=kitchen 7d"
 *
 * Rules are separated by ';'; each is a stream pattern (a stream id with
 * the MQTT wildcards '+' for one level and a final '#' for any number,
 * as `hsctl sub` takes them) and a duration (hs_duration_parse, positive)
 * after its last blank. Blank rules are skipped. The first rule whose
 * pattern matches a stream applies to it; a stream no rule matches keeps
 * everything.
 */
#ifndef HS_RETAIN_H
#define HS_RETAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One rule. */
typedef struct hs_retain_rule {
    char *pattern;   /* owned stream pattern */
    int64_t keep_us; /* > 0: instances at or before now - keep_us are purged */
} hs_retain_rule;

/* A list of rules, in the order given. */
typedef struct hs_retain {
    hs_retain_rule *v; /* owned array of n rules */
    size_t n;
} hs_retain;

/* Most rules in one setting. */
#define HS_RETAIN_MAX_RULES 256

/* Empties r (no rules). */
void hs_retain_init(hs_retain *r);

/* Frees the rules of r and empties it. NULL-safe. */
void hs_retain_free(hs_retain *r);

/*
 * Parses len bytes of text (borrowed, no NUL needed) into out, which is
 * reset first. HS_ERR_PARSE (detail naming the rule) for a rule without a
 * duration, a duration that is not positive, a malformed pattern (a '#'
 * that is not a whole last level, a '+' that is not a whole level, an
 * empty level, control characters), or more than HS_RETAIN_MAX_RULES
 * rules; HS_ERR_NOMEM. On error out holds no rules.
 */
int hs_retain_parse(const char *text, size_t len, hs_retain *out);

/*
 * The rule that applies to stream id: the first whose pattern matches. Its
 * keep in *keep_us; false (and *keep_us untouched) when none matches.
 */
bool hs_retain_match(const hs_retain *r, const char *id, int64_t *keep_us);

/* Whether pattern matches stream id by the rules above. */
bool hs_retain_pattern_matches(const char *pattern, const char *id);

/*
 * Whether pattern is a well-formed stream pattern (see hs_retain_parse).
 * A pattern without wildcards is a stream id.
 */
bool hs_retain_pattern_valid(const char *pattern, size_t len);

#endif
