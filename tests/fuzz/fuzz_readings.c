/*
 * Fuzz target: the bodies of /api/v1/write (hs_readings). The first byte
 * picks the form (payload, JSON lines, CSV) and whether the request names
 * the stream; the rest is the body. Whatever the input: no crash, and on
 * success every stream id is canonical, every value passes hs_value_check,
 * and the count is the sum of the streams' readings; an error carries a
 * detail, and a line-based error a line within the body.
 */
#include "hs_buf.h"
#include "hs_codec.h"
#include "hs_error.h"
#include "hs_readings.h"
#include "hs_streamid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    hs_readings_form form = (hs_readings_form)(data[0] % 3);
    const char *sid = (data[0] & 4) || form == HS_READINGS_PAYLOAD ? "fz/k=v" : NULL;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    hs_readings w;
    hs_readings_init(&w);
    size_t line = 0;
    int rc = hs_readings_parse(&w, form, sid, body, len, 1767225600000000LL, &line);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += body[i] == '\n';
    if (rc == HS_OK) {
        uint64_t total = 0;
        hs_buf canon;
        hs_buf_init(&canon, 0);
        for (size_t i = 0; i < w.n; i++) {
            hs_buf_reset(&canon);
            check(hs_streamid_canonical(w.order[i], strlen(w.order[i]), &canon) == HS_OK);
            check(strcmp(hs_buf_cstr(&canon), w.order[i]) == 0);
            hs_batch *b = hs_readings_batch(&w, i);
            check(b != NULL && b->n > 0);
            for (size_t k = 0; k < b->n; k++)
                check(hs_value_check(hs_batch_value(b, k), b->items[k].len) == HS_OK);
            total += b->n;
        }
        check(total == w.count);
        hs_buf_free(&canon);
    } else if (rc != HS_ERR_NOMEM) {
        check(hs_err_detail()[0] != '\0');
        check(line <= lines);
    }
    hs_readings_free(&w);
    return 0;
}
