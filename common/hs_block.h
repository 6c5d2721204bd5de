/*
 * Compressed blocks of instances: the store's unit of storage.
 *
 * A block holds a run of one stream's instances in strictly increasing time
 * order: timestamps as deltas of deltas, values by the kind of the whole
 * block (float64: Gorilla's XOR code; integers: deltas of deltas; a mix of
 * both: a tag bit and the XOR code; anything else: canonical msgpack with
 * repeats of the previous value in one byte). Decoding gives back the exact
 * canonical msgpack bytes of every value. The format is in
 * docs/ARCHITECTURE.md ("Compressed blocks").
 *
 * The encoder appends: a block read back from the store can be loaded into
 * an encoder and grown without re-encoding what it holds.
 */
#ifndef HS_BLOCK_H
#define HS_BLOCK_H

#include "hs_buf.h"
#include "hs_codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of a block grown by appending. */
#define HS_BLOCK_MAX_N       1024
#define HS_BLOCK_MAX_BYTES   (32 * 1024)
#define HS_BLOCK_MAX_SPAN_US (86400LL * 1000000LL)

/* Largest count a decoder accepts (a block written by an older rule may exceed
 * HS_BLOCK_MAX_N; anything above this is corrupt). */
#define HS_BLOCK_DECODE_MAX_N (1 << 20)

typedef enum hs_block_kind {
    HS_BLOCK_FLOAT = 0,  /* every value a msgpack float64 */
    HS_BLOCK_INT = 1,    /* every value a msgpack integer */
    HS_BLOCK_NUMBER = 2, /* floats and integers of magnitude <= 2^53 */
    HS_BLOCK_ANY = 3,    /* canonical msgpack */
} hs_block_kind;

/* A bit stream written most significant bit first. */
typedef struct hs_bits {
    hs_buf bytes;  /* whole bytes written */
    uint64_t acc;  /* pending bits, right-aligned */
    unsigned nacc; /* number of pending bits (< 8 between calls) */
} hs_bits;

/* An encoder. The fields are read-only for callers. */
typedef struct hs_block_enc {
    size_t n;        /* instances */
    int64_t t_first; /* valid when n > 0 */
    int64_t t_last;
    int kind;             /* hs_block_kind of what it holds */
    hs_bits ts;           /* time section */
    int64_t dt_prev;      /* last delta of time */
    hs_bits vbits;        /* value section of FLOAT, INT, NUMBER */
    hs_buf vany;          /* value section of ANY */
    uint64_t v_prev;      /* last value: double bits (FLOAT, NUMBER) or int64 (INT) */
    int64_t dv_prev;      /* INT: last delta of value */
    unsigned lead, trail; /* XOR window of the last value that wrote one */
    bool window;          /* lead/trail are set */
    hs_buf last;          /* ANY: bytes of the last value */
    size_t vraw;          /* bytes of the values as msgpack: what ANY would take */
    hs_buf out;           /* the encoded block, made by hs_block_enc_bytes */
    hs_batch tmp;         /* widening: the instances decoded again */
} hs_block_enc;

void hs_block_enc_init(hs_block_enc *e);
void hs_block_enc_free(hs_block_enc *e);
/* Empties the encoder; keeps its memory. */
void hs_block_enc_reset(hs_block_enc *e);

/*
 * Whether an instance at t with a value of vlen bytes may be appended
 * without breaking a bound (count, span, encoded size). Always true for an
 * empty encoder.
 */
bool hs_block_enc_fits(const hs_block_enc *e, int64_t t, size_t vlen);

/*
 * Appends one instance. t must be later than the last instance's; v must be
 * one canonical value (hs_value_check) of vlen bytes. HS_ERR_INVAL when t is
 * not later, HS_ERR_RANGE when t is outside [HS_TIME_MIN, HS_TIME_MAX],
 * HS_ERR_PARSE when v is not one canonical value. Bounds are the
 * caller's to check with hs_block_enc_fits. On error the encoder is as it
 * was.
 */
int hs_block_enc_append(hs_block_enc *e, int64_t t, const uint8_t *v, size_t vlen);

/*
 * The encoded block of what the encoder holds (n > 0), valid until the next
 * call on e. The encoder can go on appending afterwards.
 */
int hs_block_enc_bytes(hs_block_enc *e, const uint8_t **data, size_t *len);

/* Resets e and loads the block data (len bytes) into it for appending.
 * HS_ERR_STORE when the block is corrupt. */
int hs_block_enc_load(hs_block_enc *e, const uint8_t *data, size_t len);

/* What a block's header says. */
typedef struct hs_block_info {
    size_t n;
    int64_t t_first, t_last;
    int kind;
} hs_block_info;

/* Reads the header of a block. HS_ERR_STORE when it is corrupt. */
int hs_block_peek(const uint8_t *data, size_t len, hs_block_info *info);

/*
 * Appends to out (an owning batch) the instances of the block with
 * after < t <= end, at most max of them, in time order. HS_ERR_STORE when the
 * block is corrupt (out then holds what it held before).
 */
int hs_block_decode(const uint8_t *data, size_t len, int64_t after, int64_t end, size_t max,
                    hs_batch *out);

#endif
