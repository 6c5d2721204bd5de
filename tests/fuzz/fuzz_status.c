/*
 * Fuzz target: a service's retained status (hs/status/<id>), read by
 * hs_proto_status_decode as the scheduler, the write clients and hsctl read
 * it. A status that decodes must encode again (it satisfies the schema's
 * rules) and decode to the same fields. Nothing may crash.
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_proto.h"

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
    hs_proto_status_msg m;
    int rc = hs_proto_status_decode(&m, (const char *)data, size);
    if (rc != HS_OK) {
        check(rc == HS_ERR_PARSE || rc == HS_ERR_NOMEM);
        hs_proto_status_msg_free(&m);
        return 0;
    }
    const hs_proto_status *st = &m.st;
    check(st->id[0] != '\0' && st->pid >= 1 && st->tools != NULL && st->host != NULL);
    check((st->state == HS_PROTO_OFFLINE) == (st->reason != HS_PROTO_REASON_NONE));
    hs_buf b;
    hs_buf_init(&b, 0);
    check(hs_proto_status_encode(&b, st) == HS_OK);
    hs_proto_status_msg again;
    check(hs_proto_status_decode(&again, (const char *)b.data, b.len) == HS_OK);
    const hs_proto_status *s2 = &again.st;
    check(s2->state == st->state && s2->reason == st->reason && s2->pid == st->pid &&
          s2->started_us == st->started_us && s2->incarnation == st->incarnation &&
          strcmp(s2->id, st->id) == 0 && strcmp(s2->service, st->service) == 0 &&
          strcmp(s2->version, st->version) == 0 && strcmp(s2->host, st->host) == 0 &&
          strcmp(s2->tools, st->tools) == 0 && strcmp(s2->metrics, st->metrics) == 0);
    hs_proto_status_msg_free(&again);
    hs_buf_free(&b);
    hs_proto_status_msg_free(&m);
    return 0;
}
