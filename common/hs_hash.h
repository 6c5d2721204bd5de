/*
 * Non-cryptographic hashes: FNV-1a in its 64-bit and 32-bit forms. The
 * values are part of what services agree on (binding hashes stored with
 * streams, the partition a key goes to), so they never change between
 * versions or machines: bytes are hashed as they are, with no seed.
 */
#ifndef HS_HASH_H
#define HS_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The 64-bit offset basis: the hash of no bytes, and where hs_fnv1a64_update starts. */
#define HS_FNV1A64_INIT 0xcbf29ce484222325ULL
/* The 32-bit offset basis. */
#define HS_FNV1A32_INIT 0x811c9dc5U
/* Size of the text hs_fnv1a64_hex writes: 16 hex digits and a NUL. */
#define HS_FNV1A64_HEX_MAX 17

/*
 * Continues the 64-bit FNV-1a hash h (HS_FNV1A64_INIT at the start) over len
 * bytes of p, which may be NULL when len is 0. Hashing a text in pieces gives
 * the same value as hashing it at once.
 */
uint64_t hs_fnv1a64_update(uint64_t h, const void *p, size_t len);

/* The 64-bit FNV-1a hash of len bytes of p ("" -> cbf29ce484222325). */
uint64_t hs_fnv1a64(const void *p, size_t len);

/* The 64-bit FNV-1a hash of the NUL-terminated text s, the NUL excluded. */
uint64_t hs_fnv1a64_str(const char *s);

/*
 * Writes the 64-bit FNV-1a hash of the NUL-terminated text s as 16
 * lower-case hex digits and a NUL ("a" -> "af63dc4c8601ec8c").
 */
void hs_fnv1a64_hex(const char *s, char out[HS_FNV1A64_HEX_MAX]);

/* The 32-bit FNV-1a hash of len bytes of p ("" -> 811c9dc5), for hash tables. */
uint32_t hs_fnv1a32(const void *p, size_t len);

#endif
