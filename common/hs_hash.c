/* FNV-1a hashes (see hs_hash.h). */
#include "hs_hash.h"

#include <inttypes.h>
#include <stdio.h>

/* The FNV primes of the two widths. */
#define HS__FNV64_PRIME 0x100000001b3ULL
#define HS__FNV32_PRIME 0x01000193U

uint64_t hs_fnv1a64_update(uint64_t h, const void *p, size_t len)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= HS__FNV64_PRIME;
    }
    return h;
}

uint64_t hs_fnv1a64(const void *p, size_t len)
{
    return hs_fnv1a64_update(HS_FNV1A64_INIT, p, len);
}

uint64_t hs_fnv1a64_str(const char *s)
{
    uint64_t h = HS_FNV1A64_INIT;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        h ^= *p;
        h *= HS__FNV64_PRIME;
    }
    return h;
}

void hs_fnv1a64_hex(const char *s, char out[HS_FNV1A64_HEX_MAX])
{
    snprintf(out, HS_FNV1A64_HEX_MAX, "%016" PRIx64, hs_fnv1a64_str(s));
}

uint32_t hs_fnv1a32(const void *p, size_t len)
{
    const unsigned char *s = p;
    uint32_t h = HS_FNV1A32_INIT;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= HS__FNV32_PRIME;
    }
    return h;
}
