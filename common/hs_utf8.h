/*
 * UTF-8 validation by the rules of RFC 3629 (table 3-7 of the Unicode
 * standard): a sequence is well formed only in its shortest form (no
 * overlongs such as C0 80), never encodes a UTF-16 surrogate (U+D800..U+DFFF)
 * nor a code point above U+10FFFF, and is complete. NUL is a valid character
 * here; callers that refuse it say so themselves. Texts are given with their
 * length and need not be NUL-terminated.
 */
#ifndef HS_UTF8_H
#define HS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length (1 to 4) of the well-formed sequence at the start of the avail
 * bytes at p, storing its code point in *cp when cp is not NULL. Returns 0
 * when the bytes there are not a well-formed sequence (also when avail is 0
 * or the sequence is cut by the end); *cp is unchanged then.
 */
size_t hs_utf8_decode(const void *p, size_t avail, uint32_t *cp);

/* Offset of the first byte of s that is not part of well-formed UTF-8, or len when all is. */
size_t hs_utf8_check(const void *s, size_t len);

/* Whether all len bytes of s are well-formed UTF-8 (the empty text is). */
bool hs_utf8_valid(const void *s, size_t len);

/*
 * Copies the NUL-terminated text src into dst (size bytes, size >= 4),
 * always NUL-terminated. A text that does not fit is cut on a character
 * boundary (never inside a UTF-8 sequence, nor inside a backslash escape
 * such as \" or \u00e9 of quoted text in it) and ends with "…" (U+2026), so
 * that the reader sees it was cut; escaping for JSON or a terminal happens
 * later, on the cut text.
 * Returns true when src was cut.
 */
bool hs_utf8_cut(char *dst, size_t size, const char *src);

/*
 * Writes s (len bytes) for an error message into out (cap bytes, always
 * terminated): printable ASCII and valid UTF-8 as they are, the bytes of
 * also (ASCII, may be "") and every other byte as \xNN; at most show bytes
 * of s, then "..." when s is longer. A character is never cut.
 */
void hs_utf8_show(char *out, size_t cap, const char *s, size_t len, size_t show, const char *also);

/*
 * Edit distance of the bytes a[0..na) and b[0..nb) (insertions, deletions,
 * substitutions and swaps of two neighbours, each one edit), or limit + 1
 * once it is sure to exceed limit (and for words over 64 bytes): enough to
 * tell a near miss ("did you mean") from another word.
 */
size_t hs_text_distance(const char *a, size_t na, const char *b, size_t nb, size_t limit);

#endif
