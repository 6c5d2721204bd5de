/*
 * Fuzz target: the msgpack reader. Any input is skipped value by value and
 * walked with typed reads; nothing may crash or read out of bounds.
 */
#include "hs_mpack.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_mp_reader r;
    hs_mp_reader_init(&r, data, size);
    while (!hs_mp_at_end(&r)) {
        hs_mp_type t;
        if (hs_mp_peek(&r, &t) != 0)
            break;
        hs_mp_reader probe = r;
        const char *s;
        const uint8_t *p;
        uint32_t n;
        double d;
        switch (t) {
        case HS_MP_STR:
            (void)hs_mp_get_str(&probe, &s, &n);
            break;
        case HS_MP_BIN:
            (void)hs_mp_get_bin(&probe, &p, &n);
            break;
        case HS_MP_ARRAY:
            (void)hs_mp_get_array(&probe, &n);
            break;
        case HS_MP_MAP:
            (void)hs_mp_get_map(&probe, &n);
            break;
        default:
            (void)hs_mp_get_number(&probe, &d);
            break;
        }
        if (hs_mp_skip(&r) != 0)
            break;
    }
    return 0;
}
