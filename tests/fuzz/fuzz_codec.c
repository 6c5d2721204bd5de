/*
 * Fuzz target: payload decoding. Any input is decoded as a payload; when
 * that succeeds, every value must be canonical, the batch must survive a
 * msgpack round trip byte for byte (zero-copy and copying), and every
 * instance must survive a JSON-line round trip: same timestamp, and the
 * same value bytes when the payload was JSON (msgpack values may hold bin
 * or NaN, which JSON cannot keep; their JSON line must then be stable).
 */
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2023-11-14T22:13:20Z */
#define ARRIVAL_US 1700000000000000LL

static bool same_instance(const hs_batch *a, size_t i, const hs_batch *b, size_t j)
{
    return a->items[i].t_us == b->items[j].t_us && a->items[i].len == b->items[j].len &&
           memcmp(hs_batch_value(a, i), hs_batch_value(b, j), a->items[i].len) == 0;
}

static void check_mpack_round_trip(const hs_batch *b)
{
    hs_buf mp;
    hs_buf_init(&mp, 0);
    if (hs_codec_encode_mpack(b, 0, b->n, &mp) != HS_OK)
        abort();
    for (int copy = 0; copy < 2; copy++) {
        hs_batch back;
        hs_batch_init(&back);
        if (hs_codec_decode_mpack(mp.data, mp.len, copy, &back) != HS_OK || back.n != b->n)
            abort();
        for (size_t i = 0; i < b->n; i++)
            if (!same_instance(b, i, &back, i))
                abort();
        hs_batch_free(&back);
    }
    hs_buf_free(&mp);
}

static void check_json_round_trip(const hs_batch *b, bool from_json)
{
    hs_buf line, line2;
    hs_buf_init(&line, 0);
    hs_buf_init(&line2, 0);
    hs_batch one;
    hs_batch_init(&one);
    for (size_t i = 0; i < b->n; i++) {
        hs_buf_reset(&line);
        if (hs_codec_encode_json_line(b->items[i].t_us, hs_batch_value(b, i), b->items[i].len,
                                      &line) != HS_OK)
            abort();
        if (hs_codec_decode_json((const char *)line.data, line.len, 0, &one) != HS_OK ||
            one.n != 1 || one.items[0].t_us != b->items[i].t_us)
            abort();
        if (from_json && !same_instance(b, i, &one, 0))
            abort();
        hs_buf_reset(&line2);
        if (hs_codec_encode_json_line(one.items[0].t_us, hs_batch_value(&one, 0), one.items[0].len,
                                      &line2) != HS_OK)
            abort();
        if (line.len != line2.len || memcmp(line.data, line2.data, line.len) != 0)
            abort();
    }
    hs_batch_free(&one);
    hs_buf_free(&line);
    hs_buf_free(&line2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_batch b;
    hs_batch_init(&b);
    int rc = hs_codec_decode_payload(data, size, ARRIVAL_US, &b);
    if (rc == HS_OK) {
        bool from_json =
            !(size > 0 && ((data[0] & 0xf0) == 0x90 || data[0] == 0xdc || data[0] == 0xdd));
        for (size_t i = 0; i < b.n; i++)
            if (hs_value_check(hs_batch_value(&b, i), b.items[i].len) != HS_OK)
                abort();
        check_mpack_round_trip(&b);
        check_json_round_trip(&b, from_json);
    } else if (b.n != 0) {
        abort();
    }
    hs_batch_free(&b);
    return 0;
}
