/*
 * Fuzz target: stream id parsing. Any input is either rejected or parsed;
 * a parsed id must agree with hs_streamid_canonical, its canonical form must
 * parse back to the same id, and the derived ids (clone, with, without) must
 * be consistent. Any disagreement aborts.
 */
#include "hs_buf.h"
#include "hs_error.h"
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

/* Checks the invariants of one valid id. */
static void check_id(const hs_streamid *sid)
{
    size_t len = strlen(sid->canon);
    check(len <= HS_SID_MAX_LEN && sid->n_meta <= HS_SID_MAX_PAIRS);
    check(hs_streamid_check_part(sid->name, strlen(sid->name), "name") == HS_OK);
    for (size_t i = 0; i < sid->n_meta; i++) {
        check(hs_streamid_check_part(sid->meta[i].key, strlen(sid->meta[i].key), "key") == HS_OK);
        check(hs_streamid_check_part(sid->meta[i].value, strlen(sid->meta[i].value), "value") ==
              HS_OK);
        check(i == 0 || strcmp(sid->meta[i - 1].key, sid->meta[i].key) < 0);
        check(hs_streamid_get(sid, sid->meta[i].key) == sid->meta[i].value);
    }

    /* The canonical form parses to the same id and is its own canonical form. */
    hs_streamid *again = NULL;
    check(hs_streamid_parse(sid->canon, len, &again) == HS_OK);
    check(strcmp(again->canon, sid->canon) == 0 && hs_streamid_cmp(again, sid) == 0);
    check(again->n_meta == sid->n_meta && strcmp(again->name, sid->name) == 0);
    hs_streamid_destroy(again);
    hs_buf b;
    hs_buf_init(&b, 0);
    check(hs_streamid_canonical(sid->canon, len, &b) == HS_OK);
    check(b.len == len && memcmp(b.data, sid->canon, len) == 0);
    hs_buf_free(&b);

    hs_streamid *copy = NULL;
    check(hs_streamid_clone(sid, &copy) == HS_OK);
    check(strcmp(copy->canon, sid->canon) == 0);
    hs_streamid_destroy(copy);

    /* Removing the first pair and putting it back gives the same id. */
    if (sid->n_meta > 0) {
        hs_streamid *less = NULL, *back = NULL;
        check(hs_streamid_without(sid, sid->meta[0].key, &less) == HS_OK);
        check(less->n_meta == sid->n_meta - 1 && hs_streamid_get(less, sid->meta[0].key) == NULL);
        check(hs_streamid_with(less, sid->meta[0].key, sid->meta[0].value, &back) == HS_OK);
        check(strcmp(back->canon, sid->canon) == 0);
        hs_streamid_destroy(less);
        hs_streamid_destroy(back);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    hs_streamid *sid = NULL;
    int rc = hs_streamid_parse(s, size, &sid);
    check(rc == HS_OK || rc == HS_ERR_PARSE);
    check(strlen(hs_err_detail()) < 512);

    hs_buf b;
    hs_buf_init(&b, 0);
    int rc2 = hs_streamid_canonical(s, size, &b);
    check(rc2 == rc);
    if (rc == HS_OK) {
        /* Sorting only moves pairs: the canonical form has the input's length. */
        check(b.len == size && b.len == strlen(sid->canon));
        check(memcmp(b.data, sid->canon, b.len) == 0);
        check_id(sid);
    } else {
        check(b.len == 0);
    }
    hs_buf_free(&b);
    hs_streamid_destroy(sid);

    /* The part checker sees the same bytes as one part. */
    rc = hs_streamid_check_part(s, size, "name");
    check(rc == HS_OK || rc == HS_ERR_PARSE);
    return 0;
}
