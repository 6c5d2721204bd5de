/*
 * Fuzz target: control requests, the JSON a service receives on
 * <prefix>/ctl/<service-id>, read by hs_ctl_request_read as the service's
 * handler reads them. A refused request gets one JSON error object; an
 * accepted one has NUL-terminated fields whose cmd and name hold only name
 * characters (the handler echoes them in JSON replies without escaping).
 * An accepted request with a command encodes again (hs_ctl_request_encode)
 * into one that reads back the same. The same input is also read as a reply
 * (hs_ctl_reply_decode, as hsctl ctl reads answers): a reply that decodes
 * has NUL-terminated texts and a state exactly for the kinds that carry
 * one. Nothing may crash.
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_json.h"
#include "hs_mpack.h"
#include "hs_ctl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* A reply must be one JSON object with "ok": false and a string "error". */
static void check_error_reply(hs_buf *reply)
{
    hs_buf mp;
    hs_buf_init(&mp, 0);
    check(hs_json_to_mpack((const char *)reply->data, reply->len, &mp) == HS_OK);
    hs_mp_field f[4];
    size_t nf = 0;
    check(hs_mp_map_index(mp.data, mp.len, f, 4, &nf, NULL) == HS_OK);
    bool ok = true;
    const char *s;
    uint32_t sl;
    check(hs_mp_field_bool(f, nf, "ok", &ok) == HS_OK && !ok);
    check(hs_mp_field_str(f, nf, "error", &s, &sl) == HS_OK && sl > 0);
    hs_buf_free(&mp);
    hs_buf_reset(reply);
}

/* The input read as a control reply. */
static void check_reply(const uint8_t *data, size_t size)
{
    hs_ctl_reply r;
    memset(&r, 'x', sizeof r);
    int rc = hs_ctl_reply_decode(data, size, &r);
    if (rc != HS_OK) {
        check(rc == HS_ERR_PARSE || rc == HS_ERR_NOMEM);
        return;
    }
    check(memchr(r.state, '\0', sizeof r.state) != NULL &&
          memchr(r.error, '\0', sizeof r.error) != NULL);
    bool has_state = r.kind == HS_CTL_REPLY_PING || r.kind == HS_CTL_REPLY_STATE;
    check(has_state == (r.state[0] != '\0'));
    check(r.kind != HS_CTL_REPLY_ERROR || (!r.ok && r.error[0] != '\0'));
    check(r.ok || r.kind == HS_CTL_REPLY_ERROR ||
          (r.kind == HS_CTL_REPLY_STATE && strcmp(r.state, "draining") == 0));
}

/* An accepted request encodes into one that reads back the same. */
static void check_request_round_trip(const hs_ctl_request *q)
{
    if (q->cmd[0] == '\0')
        return; /* read (and refused by the service), but not a request hsctl can send */
    hs_buf b, reply;
    hs_buf_init(&b, 0);
    hs_buf_init(&reply, 0);
    check(hs_ctl_request_encode(&b, q) == HS_OK);
    hs_ctl_request back;
    check(hs_ctl_request_read(b.data, b.len, &back, &reply) == HS_OK);
    check(strcmp(back.cmd, q->cmd) == 0 && strcmp(back.name, q->name) == 0 &&
          strcmp(back.value, q->value) == 0);
    hs_buf_free(&b);
    hs_buf_free(&reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_reply(data, size);
    hs_ctl_request q;
    memset(&q, 'x', sizeof q);
    hs_buf reply;
    hs_buf_init(&reply, 0);
    int rc = hs_ctl_request_read(data, size, &q, &reply);
    if (rc != HS_OK) {
        check(rc == HS_ERR_PARSE);
        check_error_reply(&reply);
        hs_buf_free(&reply);
        return 0;
    }
    check(reply.len == 0);
    check(memchr(q.cmd, '\0', sizeof q.cmd) != NULL &&
          memchr(q.name, '\0', sizeof q.name) != NULL &&
          memchr(q.value, '\0', sizeof q.value) != NULL);
    static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
    check(strspn(q.cmd, plain) == strlen(q.cmd) && strspn(q.name, plain) == strlen(q.name));
    check(strlen(q.cmd) < sizeof q.cmd && strlen(q.name) < sizeof q.name &&
          strlen(q.value) < sizeof q.value);
    check_request_round_trip(&q);

    hs_buf_free(&reply);
    return 0;
}
