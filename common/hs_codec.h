/*
 * Instances and their wire forms.
 *
 * An instance is a timestamp (int64 microseconds, UTC) and a value, which is
 * any msgpack value in the project's canonical form: nil, bool, int64, float64,
 * UTF-8 string, binary, array, or map with string keys, nested at most
 * HS_MP_MAX_DEPTH deep, with the smallest integer encodings (what msgpack-c's
 * packer writes). Canonical values make "same value" a byte comparison.
 *
 * A batch holds instances whose values are byte ranges of one base buffer:
 * either a borrowed payload (zero-copy decoding) or the batch's own storage.
 *
 * Wire forms:
 *   msgpack: [t_us, v] or an array of [t_us, v]
 *   JSON:    {"t": T, "v": V}, an array of those, {"v": V} (t = arrival), or
 *            a bare JSON value (t = arrival); T is an ISO-8601 string or
 *            epoch seconds (number or numeric string)
 */
#ifndef HS_CODEC_H
#define HS_CODEC_H

#include "hs_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest number of instances one decoded payload may hold. */
#define HS_BATCH_MAX_INSTANCES 1000000

typedef struct hs_inst {
    int64_t t_us; /* timestamp */
    uint32_t off; /* value bytes start at base + off */
    uint32_t len; /* value length in bytes */
} hs_inst;

typedef struct hs_batch {
    hs_inst *items;      /* owned array */
    size_t n;            /* instances in use */
    size_t cap;          /* instances allocated */
    const uint8_t *base; /* borrowed payload, or store.data when owned */
    hs_buf store;        /* owned value bytes when the batch copies values */
    bool owned;          /* values live in store */
} hs_batch;

void hs_batch_init(hs_batch *b);
void hs_batch_free(hs_batch *b);
/* Empties the batch and keeps its memory; the batch becomes owning. */
void hs_batch_reset(hs_batch *b);

/* Pointer to the value bytes of instance i. */
static inline const uint8_t *hs_batch_value(const hs_batch *b, size_t i)
{
    return b->base + b->items[i].off;
}

/*
 * Appends an instance, copying the (already canonical) value bytes into the
 * batch's store. Only for owning batches (HS_ERR_STATE otherwise).
 */
int hs_batch_push(hs_batch *b, int64_t t_us, const uint8_t *v, size_t vlen);

/*
 * Appends an instance whose value the caller encodes: returns the store
 * buffer to append exactly one canonical value to, then call
 * hs_batch_push_end. NULL when the batch does not own its values or memory
 * runs out. Nothing checks that the value is canonical.
 */
hs_buf *hs_batch_push_begin(hs_batch *b);
int hs_batch_push_end(hs_batch *b, int64_t t_us);

/*
 * Makes room for n more instances and bytes more value bytes in an owning
 * batch, so that a decoder can fill items and store directly.
 */
int hs_batch_reserve(hs_batch *b, size_t n, size_t bytes);

/* Sorts instances by timestamp (stable). */
void hs_batch_sort(hs_batch *b);

/*
 * Appends to out (copied) the instances of b, which is sorted by time, with
 * after < t <= end, at most max of them: a store's read over a batch.
 */
int hs_batch_read_range(const hs_batch *b, int64_t after, int64_t end, size_t max, hs_batch *out);

/*
 * Checks that v (len bytes) is one canonical value and nothing else.
 * HS_ERR_PARSE with a detail otherwise.
 */
int hs_value_check(const uint8_t *v, size_t len);

/*
 * Re-encodes one msgpack value in canonical form into out: float32 becomes
 * float64, integers take their smallest encoding, unsigned integers above
 * INT64_MAX become float64; strings must be valid UTF-8 and map keys
 * strings; ext types and nesting deeper than HS_MP_MAX_DEPTH are rejected.
 */
int hs_value_canonicalize(const uint8_t *v, size_t len, hs_buf *out);

/*
 * Decodes a msgpack payload ([t, v] or an array of them) into b (reset
 * first). An array whose first element is an array is a batch; an empty
 * array is an empty batch. With copy == false the batch borrows payload,
 * which must outlive it, and values are only checked to be canonical
 * (HS_ERR_PARSE if not); with copy == true values are canonicalised into the
 * batch's store. Timestamps are integers in [HS_TIME_MIN, HS_TIME_MAX]
 * (HS_ERR_RANGE otherwise). HS_ERR_LIMIT above HS_BATCH_MAX_INSTANCES.
 * On any error b holds no instance.
 */
int hs_codec_decode_mpack(const uint8_t *payload, size_t len, bool copy, hs_batch *b);

/*
 * Decodes a JSON payload in any of the forms above into b (reset first,
 * owning). Instances without a timestamp get arrival_us. Which form a
 * payload has:
 *   - an object with a "t" or a "v" key is an instance object; any other
 *     key, a duplicate key or "t" without "v" is an error;
 *   - any other object is a bare value;
 *   - an array whose first element is an instance object is a batch, and
 *     then every element must be one; an empty array is an empty batch;
 *   - any other array, and any scalar, is a bare value.
 * Values are canonical (integers above INT64_MAX become float64). Errors
 * in a batch element start with "instance <i>: " (i counted from 0).
 */
int hs_codec_decode_json(const char *payload, size_t len, int64_t arrival_us, hs_batch *b);

/* Longest bare word accepted by hs_codec_decode_text, in bytes. */
#define HS_CODEC_MAX_WORD 64

/*
 * Decodes a text payload: the JSON forms of hs_codec_decode_json, or else a
 * bare word, which is a string value stamped arrival_us. A bare word is an
 * ASCII letter followed by up to HS_CODEC_MAX_WORD - 1 ASCII letters,
 * digits, '_', '-', '.' or ':' (on, OFF, open, heating_2), with optional
 * ASCII whitespace around it (not part of the value); NaN, Inf, Infinity,
 * True, False and Null in any case are not words. Anything else that is
 * not JSON (text with spaces, "21,5", a cut object) is HS_ERR_PARSE with the
 * JSON error and a hint to quote text as a JSON string. This is the one rule
 * for bare values: ingest applies it to every raw MQTT payload and every
 * JSON-lines line, hsctl pub to its VALUE.
 */
int hs_codec_decode_text(const char *payload, size_t len, int64_t arrival_us, hs_batch *b);

/*
 * Decodes a payload of either kind: msgpack when the first byte is an array
 * header (0x90-0x9f, 0xdc, 0xdd), text (hs_codec_decode_text) otherwise.
 * Always copies values.
 */
int hs_codec_decode_payload(const uint8_t *payload, size_t len, int64_t arrival_us, hs_batch *b);

/* Appends instances [from, from + count) of b as a msgpack array of [t_us, v]. */
int hs_codec_encode_mpack(const hs_batch *b, size_t from, size_t count, hs_buf *out);

/*
 * Appends one JSON line {"t":"<ISO-8601>","v":<value>} plus '\n', the value
 * written by hs_json_from_mpack. v must hold exactly one value. On failure
 * out is left as it was.
 */
int hs_codec_encode_json_line(int64_t t_us, const uint8_t *v, size_t vlen, hs_buf *out);

#endif
