/*
 * hs-api's pure helpers: no HTTP library, no MQTT, no store. Linked by
 * hs-api and by the unit tests (tests/unit/test_apicore.c).
 */
#ifndef HS_APICORE_H
#define HS_APICORE_H

#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether path (a request's URL path, as libmicrohttpd hands it, unescaped)
 * may name a file under the dashboard's directory when appended to it: it
 * starts with '/' (a request target such as "-private/key" would name a
 * sibling of the directory) and has no "." or ".." segment.
 */
bool apic_static_path_ok(const char *path);

/*
 * Without accounts every request is admin, and hs-api listens on loopback
 * only; a web page in the user's browser can still reach it: a form or
 * fetch POSTs to http://127.0.0.1:8180 (CSRF: writes, workflows, computes),
 * and a name of the page's site that resolves to 127.0.0.1 (DNS rebinding)
 * also reads. Whether a request is one of the local user's: its Host (NULL:
 * none, HTTP/1.0) names a loopback address ("127.0.0.1:8180", "localhost",
 * "[::1]:8180") or bind, the address hs-api listens on; and its Origin (NULL:
 * none; browsers send it with every POST) is http(s)://<that Host>.
 */
bool apic_local_request_ok(const char *host, const char *origin, const char *bind);

/*
 * Appends the CSV field of a value (msgpack of len bytes) as GET
 * .../data?format=csv writes it and POST /api/v1/write reads it back (its
 * text read as a JSON-lines payload, hs_codec_decode_text): a string is
 * written bare only when its text reads back as the same string (a bare
 * word: on, heating_2); anything else is its JSON text, in CSV quotes when
 * it holds a comma, a quote or a line end. So the string "12" is "12" in
 * quotes, not the number 12.
 */
int apic_csv_value(hs_buf *out, const uint8_t *v, size_t len);

/*
 * The extra copies of a message. A broker sends a client one copy of a
 * message per subscription of that client that matches its topic (Mosquitto
 * 2 does, as MQTT 5 allows), and hs-api subscribes once per live pattern, so
 * live clients with overlapping patterns (temp/# and temp/house=1) got each
 * event once per matching pattern. hs-api counts the patterns that match a
 * message's topic and passes that number (copies); the copies of one message
 * come one after the other, so the copies - 1 messages that follow it with
 * the same topic and payload are its copies.
 */
typedef struct apic_copies {
    hs_buf last; /* topic, NUL, payload of the message whose copies are awaited */
    size_t topic_len;
    unsigned left; /* copies of it still to come */
} apic_copies;

void apic_copies_init(apic_copies *c);
void apic_copies_free(apic_copies *c);
/*
 * Whether the message (topic, payload of len bytes) is new (true) or a copy
 * of the last new one (false); copies is how many of it the broker sends (at
 * least 1). Without memory to keep the message, its copies pass as new.
 */
bool apic_copies_first(apic_copies *c, const char *topic, const void *payload, size_t len,
                       unsigned copies);

#endif
