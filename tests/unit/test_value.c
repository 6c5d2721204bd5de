/*
 * Tests of hs_arena (alignment, limits, large requests, reset) and hs_value
 * (byte-identical round trips of canonical msgpack, normalisation of other
 * encodings, nesting limits, ordering, lookup, cloning, arena exhaustion).
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_arena.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_value.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Stops the test when p is NULL (the explicit return also tells the compiler). */
#define REQUIRE(p)                                                                                 \
    do {                                                                                           \
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);                                                           \
        if ((p) == NULL)                                                                           \
            return;                                                                                \
    } while (0)

/* A byte string literal with its length (the literal's NUL excluded). */
typedef struct bytes {
    const char *p;
    size_t len;
} bytes;
#define B(lit)                                                                                     \
    {                                                                                              \
        (lit), sizeof(lit) - 1                                                                     \
    }

/* ---- arena ---- */

static void test_arena_alignment(void)
{
    hs_arena a;
    hs_arena_init(&a, 256, 0);
    static const size_t sizes[] = {1, 3, 7, 8, 15, 16, 17, 31, 33, 100, 127, 0, 200, 5};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = hs_arena_alloc(&a, sizes[i]);
        REQUIRE(p);
        CU_ASSERT_EQUAL((uintptr_t)p % alignof(max_align_t), 0);
        CU_ASSERT_EQUAL((uintptr_t)p % 16, 0);
        memset(p, 0xab, sizes[i]); /* the whole request is writable */
    }
    /* Two zero-size requests still get distinct pointers. */
    void *z1 = hs_arena_alloc(&a, 0);
    void *z2 = hs_arena_alloc(&a, 0);
    CU_ASSERT_PTR_NOT_NULL(z1);
    CU_ASSERT_PTR_NOT_EQUAL(z1, z2);
    hs_arena_free(&a);
}

static void test_arena_limit(void)
{
    hs_arena a;
    hs_arena_init(&a, 256, 1024);
    for (int i = 0; i < 64; i++)
        CU_ASSERT_PTR_NOT_NULL(hs_arena_alloc(&a, 16));
    CU_ASSERT_EQUAL(a.used, 1024);
    CU_ASSERT_PTR_NULL(hs_arena_alloc(&a, 1));
    CU_ASSERT_EQUAL(a.used, 1024);
    hs_arena_reset(&a);
    CU_ASSERT_EQUAL(a.used, 0);
    /* Rounding to the alignment counts: 1-byte requests take 16 bytes each. */
    for (int i = 0; i < 64; i++)
        CU_ASSERT_PTR_NOT_NULL(hs_arena_alloc(&a, 1));
    CU_ASSERT_PTR_NULL(hs_arena_alloc(&a, 1));
    hs_arena_reset(&a);
    CU_ASSERT_PTR_NOT_NULL(hs_arena_alloc(&a, 1024));
    hs_arena_reset(&a);
    CU_ASSERT_PTR_NULL(hs_arena_alloc(&a, 1025));
    CU_ASSERT_PTR_NULL(hs_arena_alloc(&a, SIZE_MAX));
    CU_ASSERT_PTR_NULL(hs_arena_alloc(&a, SIZE_MAX - 8));
    CU_ASSERT_EQUAL(a.used, 0);
    hs_arena_free(&a);

    /* Without a limit, absurd sizes fail cleanly too. */
    hs_arena_init(&a, 0, 0);
    CU_ASSERT_PTR_NULL(hs_arena_alloc(&a, SIZE_MAX));
    CU_ASSERT_PTR_NULL(hs_arena_alloc(&a, SIZE_MAX - 64));
    CU_ASSERT_PTR_NULL(hs_arena_alloc(&a, (size_t)PTRDIFF_MAX));
    CU_ASSERT_PTR_NULL(hs_arena_strndup(&a, "x", SIZE_MAX));
    CU_ASSERT_PTR_NULL(hs_arena_strndup(&a, "x", (size_t)PTRDIFF_MAX));
    hs_arena_free(&a);
}

static void test_arena_large_request_own_chunk(void)
{
    hs_arena a;
    hs_arena_init(&a, 1024, 0);
    unsigned char *p1 = hs_arena_alloc(&a, 16);
    REQUIRE(p1);
    unsigned char *big = hs_arena_alloc(&a, 100000);
    REQUIRE(big);
    memset(big, 1, 100000);
    /* The space left in the first chunk still serves small requests. */
    unsigned char *p2 = hs_arena_alloc(&a, 16);
    CU_ASSERT_PTR_EQUAL(p2, p1 + 16);
    /* A request that fits in the current chunk is served from it. */
    unsigned char *p3 = hs_arena_alloc(&a, 500);
    CU_ASSERT_PTR_EQUAL(p3, p2 + 16);
    CU_ASSERT_EQUAL(a.used, 16 + 100000 + 16 + 512);
    /* Many allocations across many chunks are all usable. */
    for (int i = 0; i < 1000; i++) {
        unsigned char *p = hs_arena_alloc(&a, (size_t)(i % 300) + 1);
        REQUIRE(p);
        memset(p, 2, (size_t)(i % 300) + 1);
    }
    hs_arena_free(&a);
}

static void test_arena_reset_keeps_first_chunk(void)
{
    hs_arena a;
    hs_arena_init(&a, 512, 0);
    void *first = hs_arena_alloc(&a, 16);
    REQUIRE(first);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_PTR_NOT_NULL(hs_arena_alloc(&a, 100));
    CU_ASSERT_PTR_NOT_NULL(hs_arena_alloc(&a, 5000));
    hs_arena_reset(&a);
    CU_ASSERT_EQUAL(a.used, 0);
    /* The kept chunk serves the next requests without any allocation. */
    hs_alloc_fail_after(0);
    void *again = hs_arena_alloc(&a, 16);
    void *more = hs_arena_alloc(&a, 400);
    void *over = hs_arena_alloc(&a, 200); /* does not fit in the kept chunk */
    hs_alloc_fail_after(-1);
    CU_ASSERT_PTR_EQUAL(again, first);
    CU_ASSERT_PTR_NOT_NULL(more);
    CU_ASSERT_PTR_NULL(over);
    hs_arena_free(&a);
    CU_ASSERT_PTR_NULL(a.head);
    /* A freed arena can be used again. */
    CU_ASSERT_PTR_NOT_NULL(hs_arena_alloc(&a, 8));
    hs_arena_free(&a);
    hs_arena_reset(&a); /* reset of an empty arena is harmless */
}

static void test_arena_strndup_and_nomem(void)
{
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    char *s = hs_arena_strndup(&a, "ab\0cd", 5);
    REQUIRE(s);
    CU_ASSERT_EQUAL(memcmp(s, "ab\0cd", 6), 0);
    char *e = hs_arena_strndup(&a, NULL, 0);
    REQUIRE(e);
    CU_ASSERT_STRING_EQUAL(e, "");
    hs_arena_free(&a);

    hs_arena_init(&a, 0, 0);
    hs_alloc_fail_after(0);
    CU_ASSERT_PTR_NULL(hs_arena_alloc(&a, 1));
    CU_ASSERT_PTR_NULL(hs_arena_strndup(&a, "x", 1));
    hs_alloc_fail_after(-1);
    CU_ASSERT_EQUAL(a.used, 0);
    hs_arena_free(&a);
}

/* ---- value: decoding and encoding ---- */

/* Decodes in into a and re-encodes; returns the decode error or checks want. */
static int roundtrip(hs_arena *a, const void *in, size_t inlen, const void *want, size_t wantlen)
{
    hs_value *v = NULL;
    int rc = hs_value_decode(a, in, inlen, &v);
    if (rc != HS_OK)
        return rc;
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_value_encode(v, &b), HS_OK);
    CU_ASSERT_EQUAL(b.len, wantlen);
    bool same = b.len == wantlen && memcmp(b.data, want, wantlen) == 0;
    CU_ASSERT_TRUE(same);
    if (!same) {
        fprintf(stderr, "\n  encoding of %zu bytes starting 0x%02x differs\n", inlen,
                ((const uint8_t *)in)[0]);
    }
    hs_buf_free(&b);
    return HS_OK;
}

static void test_roundtrip_canonical_scalars(void)
{
    static const bytes in[] = {
        B("\xc0"),
        B("\xc2"),
        B("\xc3"),
        B("\x00"),
        B("\x7f"),
        B("\xcc\x80"),
        B("\xcc\xff"),
        B("\xcd\x01\x00"),
        B("\xcd\xff\xff"),
        B("\xce\x00\x01\x00\x00"),
        B("\xce\xff\xff\xff\xff"),
        B("\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
        B("\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"),
        B("\xff"),
        B("\xe0"),
        B("\xd0\xdf"),
        B("\xd0\x80"),
        B("\xd1\xff\x7f"),
        B("\xd1\x80\x00"),
        B("\xd2\xff\xff\x7f\xff"),
        B("\xd2\x80\x00\x00\x00"),
        B("\xd3\xff\xff\xff\xff\x7f\xff\xff\xff"),
        B("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
        B("\xcb\x40\x35\x80\x00\x00\x00\x00\x00"),
        B("\xcb\x80\x00\x00\x00\x00\x00\x00\x00"),
        B("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"),
        B("\xcb\xff\xf0\x00\x00\x00\x00\x00\x00"),
        B("\xcb\x00\x00\x00\x00\x00\x00\x00\x01"),
        B("\xa0"),
        B("\xa3"
          "abc"),
        B("\xa5\xc3\xa9t\xc3\xa9"),
        B("\xa3\x00\xff\x01"), /* str bytes are kept as they are */
        B("\xc4\x00"),
        B("\xc4\x03\x01\x00\x03"),
        B("\x90"),
        B("\x80"),
    };
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        CU_ASSERT_EQUAL(roundtrip(&a, in[i].p, in[i].len, in[i].p, in[i].len), HS_OK);
    hs_arena_free(&a);
}

/* Appends a header of the given bytes and then n copies of fill. */
static void put_sized(hs_buf *b, const char *head, size_t hlen, uint8_t fill, size_t n)
{
    CU_ASSERT_EQUAL(hs_buf_append(b, head, hlen), HS_OK);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(hs_buf_putc(b, fill), HS_OK);
}

static void test_roundtrip_canonical_sizes(void)
{
    /* Every header width of str, bin, array and map at the width boundaries. */
    static const struct {
        const char *head;
        size_t hlen;
        uint8_t fill; /* a byte that is a complete value for containers */
        size_t n;
    } cases[] = {
        {"\xbf", 1, 'x', 31},
        {"\xd9\x20", 2, 'x', 32},
        {"\xd9\xff", 2, 'x', 255},
        {"\xda\x01\x00", 3, 'x', 256},
        {"\xda\xff\xff", 3, 'x', 65535},
        {"\xdb\x00\x01\x00\x00", 5, 'x', 65536},
        {"\xc4\xff", 2, 0, 255},
        {"\xc5\x01\x00", 3, 0, 256},
        {"\xc6\x00\x01\x00\x00", 5, 0, 65536},
        {"\x9f", 1, 0xc0, 15},
        {"\xdc\x00\x10", 3, 0xc0, 16},
        {"\xdc\xff\xff", 3, 0x01, 65535},
        {"\xdd\x00\x01\x00\x00", 5, 0xc0, 65536},
    };
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hs_buf b;
        hs_buf_init(&b, 0);
        put_sized(&b, cases[i].head, cases[i].hlen, cases[i].fill, cases[i].n);
        CU_ASSERT_EQUAL(roundtrip(&a, b.data, b.len, b.data, b.len), HS_OK);
        hs_buf_free(&b);
        hs_arena_reset(&a);
    }
    /* Maps of 15, 16 and 65536 pairs ("" : nil). */
    static const size_t pairs[] = {15, 16, 65536};
    for (size_t i = 0; i < 3; i++) {
        hs_buf b;
        hs_buf_init(&b, 0);
        CU_ASSERT_EQUAL(hs_mp_put_map(&b, (uint32_t)pairs[i]), HS_OK);
        for (size_t k = 0; k < pairs[i]; k++)
            CU_ASSERT_EQUAL(hs_buf_append(&b, "\xa0\xc0", 2), HS_OK);
        CU_ASSERT_EQUAL(b.data[0], pairs[i] == 15 ? 0x8f : pairs[i] == 16 ? 0xde : 0xdf);
        CU_ASSERT_EQUAL(roundtrip(&a, b.data, b.len, b.data, b.len), HS_OK);
        hs_buf_free(&b);
        hs_arena_reset(&a);
    }
    hs_arena_free(&a);
}

static void test_roundtrip_nested_document(void)
{
    /* {"t": 1461873600000000, "v": {"temp": 21.5, "tags": ["a", "b"], "ok": true}} */
    static const char doc[] = "\x82\xa1t\xcf\x00\x05\x31\x90\xf8\xa2\x70\x00"
                              "\xa1v\x83\xa4temp\xcb\x40\x35\x80\x00\x00\x00\x00\x00"
                              "\xa4tags\x92\xa1"
                              "a\xa1"
                              "b\xa2ok\xc3";
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value *v = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_value_decode(&a, (const uint8_t *)doc, sizeof doc - 1, &v), HS_OK);
    CU_ASSERT_EQUAL(v->type, HS_V_MAP);
    CU_ASSERT_EQUAL(v->len, 2);
    const hs_value *t = hs_value_map_get(v, "t", 1);
    REQUIRE(t);
    CU_ASSERT_EQUAL(t->type, HS_V_INT);
    CU_ASSERT_EQUAL(t->u.i, INT64_C(1461873600000000));
    const hs_value *inner = hs_value_map_get(v, "v", 1);
    REQUIRE(inner);
    const hs_value *temp = hs_value_map_get(inner, "temp", 4);
    REQUIRE(temp);
    CU_ASSERT_EQUAL(temp->type, HS_V_FLOAT);
    CU_ASSERT_DOUBLE_EQUAL(temp->u.f, 21.5, 0.0);
    const hs_value *tags = hs_value_map_get(inner, "tags", 4);
    REQUIRE(tags);
    CU_ASSERT_EQUAL(tags->type, HS_V_ARRAY);
    CU_ASSERT_EQUAL(tags->len, 2);
    CU_ASSERT_EQUAL(tags->u.items[1].type, HS_V_STR);
    CU_ASSERT_EQUAL(tags->u.items[1].len, 1);
    CU_ASSERT_EQUAL(tags->u.items[1].u.s[0], 'b');
    /* Strings point into the input. */
    CU_ASSERT_TRUE(tags->u.items[1].u.s > doc && tags->u.items[1].u.s < doc + sizeof doc);
    CU_ASSERT_PTR_NULL(hs_value_map_get(inner, "tag", 3));
    CU_ASSERT_PTR_NULL(hs_value_map_get(inner, "tagsx", 5));
    CU_ASSERT_PTR_NULL(hs_value_map_get(tags, "a", 1));
    CU_ASSERT_PTR_NULL(hs_value_map_get(NULL, "a", 1));
    CU_ASSERT_EQUAL(roundtrip(&a, doc, sizeof doc - 1, doc, sizeof doc - 1), HS_OK);
    hs_arena_free(&a);
}

static void test_noncanonical_inputs_normalise(void)
{
    static const struct {
        bytes in, out;
    } cases[] = {
        {B("\xcc\x01"), B("\x01")},
        {B("\xcd\x00\x01"), B("\x01")},
        {B("\xcf\x00\x00\x00\x00\x00\x00\x00\x80"), B("\xcc\x80")},
        {B("\xd0\x05"), B("\x05")},
        {B("\xd0\xff"), B("\xff")},
        {B("\xd3\xff\xff\xff\xff\xff\xff\xff\x80"), B("\xd0\x80")},
        {B("\xd1\x00\xc8"), B("\xcc\xc8")},
        {B("\xca\x40\x20\x00\x00"), B("\xcb\x40\x04\x00\x00\x00\x00\x00\x00")},
        {B("\xd9\x03"
           "abc"),
         B("\xa3"
           "abc")},
        {B("\xdb\x00\x00\x00\x01z"), B("\xa1z")},
        {B("\xc5\x00\x01\x07"), B("\xc4\x01\x07")},
        {B("\xdc\x00\x01\xc0"), B("\x91\xc0")},
        {B("\xdd\x00\x00\x00\x00"), B("\x90")},
        {B("\xde\x00\x00"), B("\x80")},
        {B("\xdf\x00\x00\x00\x01\xa1k\xd0\x01"), B("\x81\xa1k\x01")},
    };
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(
            roundtrip(&a, cases[i].in.p, cases[i].in.len, cases[i].out.p, cases[i].out.len), HS_OK);
    }
    hs_arena_free(&a);
}

static void test_decode_rejects(void)
{
    static const struct {
        bytes in;
        int rc;
    } cases[] = {
        {B(""), HS_ERR_PARSE},
        {B("\xc1"), HS_ERR_PARSE},
        {B("\x92\x01"), HS_ERR_PARSE},
        {B("\x01\x01"), HS_ERR_PARSE},
        {B("\x91\x01\x02"), HS_ERR_PARSE},
        {B("\xa3"
           "ab"),
         HS_ERR_PARSE},
        {B("\xcd\x01"), HS_ERR_PARSE},
        {B("\xd4\x01\x00"), HS_ERR_PARSE},
        {B("\x91\xc7\x01\x05\x00"), HS_ERR_PARSE},
        {B("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), HS_ERR_RANGE},
        {B("\xcf\x80\x00\x00\x00\x00\x00\x00\x00"), HS_ERR_RANGE},
        {B("\x81\x01\x02"), HS_ERR_PARSE},
        {B("\x82\xa1k\x01\xc0\x02"), HS_ERR_PARSE},
        {B("\x81\x90\x01"), HS_ERR_PARSE},
        {B("\xdd\xff\xff\xff\xff\xc0"), HS_ERR_PARSE},
        {B("\xdf\xff\xff\xff\xff\xa0\xc0"), HS_ERR_PARSE},
        {B("\xdb\xff\xff\xff\xff"), HS_ERR_PARSE},
    };
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static hs_value sentinel;
        hs_value *v = &sentinel; /* must stay untouched */
        int rc = hs_value_decode(&a, (const uint8_t *)cases[i].in.p, cases[i].in.len, &v);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT_PTR_EQUAL(v, &sentinel);
        if (rc != cases[i].rc)
            fprintf(stderr, "\n  case %zu: got %d (%s)\n", i, rc, hs_err_detail());
    }
    /* A huge header with no body allocates nothing big. */
    CU_ASSERT_TRUE(a.used < 4096);
    hs_value *v;
    CU_ASSERT_EQUAL(hs_value_decode(&a, (const uint8_t *)"\x92\x01\x02\x03", 4, &v), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "1 bytes after the value"));
    CU_ASSERT_EQUAL(hs_value_decode(&a, (const uint8_t *)"\x81\x01\x02", 3, &v), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "map key 0 is not a string"));
    CU_ASSERT_EQUAL(hs_value_decode(&a, NULL, 1, &v), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_value_decode(NULL, (const uint8_t *)"\xc0", 1, &v), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_value_decode(&a, (const uint8_t *)"\xc0", 1, NULL), HS_ERR_INVAL);
    hs_arena_free(&a);
}

/* depth nested containers: arrays, or maps {"": ...} when maps is true, around a nil. */
static void nested(hs_buf *b, int depth, bool maps)
{
    for (int i = 0; i < depth; i++)
        CU_ASSERT_EQUAL(hs_buf_append(b, maps ? "\x81\xa0" : "\x91", maps ? 2 : 1), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_putc(b, 0xc0), HS_OK);
}

static void test_nesting_limit(void)
{
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    for (int maps = 0; maps < 2; maps++) {
        hs_buf b;
        hs_buf_init(&b, 0);
        nested(&b, HS_MP_MAX_DEPTH, maps);
        CU_ASSERT_EQUAL(roundtrip(&a, b.data, b.len, b.data, b.len), HS_OK);
        hs_buf_reset(&b);
        nested(&b, HS_MP_MAX_DEPTH + 1, maps);
        hs_value *v;
        CU_ASSERT_EQUAL(hs_value_decode(&a, b.data, b.len, &v), HS_ERR_LIMIT);
        CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "nesting deeper than 64"));
        hs_buf_reset(&b);
        /* Far deeper input is rejected the same way, without deep recursion. */
        nested(&b, 100000, maps);
        CU_ASSERT_EQUAL(hs_value_decode(&a, b.data, b.len, &v), HS_ERR_LIMIT);
        hs_buf_free(&b);
    }
    /* An innermost empty container counts as a level too. */
    hs_buf b;
    hs_buf_init(&b, 0);
    for (int i = 0; i < HS_MP_MAX_DEPTH - 1; i++)
        CU_ASSERT_EQUAL(hs_buf_putc(&b, 0x91), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_putc(&b, 0x90), HS_OK);
    CU_ASSERT_EQUAL(roundtrip(&a, b.data, b.len, b.data, b.len), HS_OK);
    hs_buf_reset(&b);
    for (int i = 0; i < HS_MP_MAX_DEPTH; i++)
        CU_ASSERT_EQUAL(hs_buf_putc(&b, 0x91), HS_OK);
    CU_ASSERT_EQUAL(hs_buf_putc(&b, 0x80), HS_OK);
    hs_value *v;
    CU_ASSERT_EQUAL(hs_value_decode(&a, b.data, b.len, &v), HS_ERR_LIMIT);

    /* A built tree that is too deep is refused by encode and clone. */
    hs_value *root = hs_value_array(&a, 1);
    hs_value *cur = root;
    for (int i = 1; i < HS_MP_MAX_DEPTH; i++) {
        hs_value *next = hs_value_array(&a, 1);
        cur->u.items[0] = *next;
        cur = &cur->u.items[0];
    }
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "prefix"), HS_OK);
    CU_ASSERT_EQUAL(hs_value_encode(root, &b), HS_OK);
    CU_ASSERT_EQUAL(b.len, 6 + HS_MP_MAX_DEPTH + 1);
    CU_ASSERT_PTR_NOT_NULL(hs_value_clone(&a, root));
    hs_value *deeper = hs_value_array(&a, 1);
    cur->u.items[0] = *deeper;
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "prefix"), HS_OK);
    CU_ASSERT_EQUAL(hs_value_encode(root, &b), HS_ERR_LIMIT);
    CU_ASSERT_EQUAL(b.len, 6);
    CU_ASSERT_PTR_NULL(hs_value_clone(&a, root));
    hs_buf_free(&b);
    hs_arena_free(&a);
}

static void test_arena_exhaustion_returns_errors(void)
{
    /* [[1, 2, 3], {"k": "v"}, "str", [], nil] */
    static const char doc[] = "\x95\x93\x01\x02\x03\x81\xa1k\xa1v\xa3str\x90\xc0";
    hs_arena ref_arena;
    hs_arena_init(&ref_arena, 0, 0);
    hs_value *ref;
    CU_ASSERT_EQUAL_FATAL(hs_value_decode(&ref_arena, (const uint8_t *)doc, sizeof doc - 1, &ref),
                          HS_OK);
    size_t need = ref_arena.used;
    CU_ASSERT_TRUE(need > 0);
    /* Every bound below what the tree needs fails with HS_ERR_LIMIT; at it, decoding works. */
    for (size_t limit = 1; limit <= need + 32; limit++) {
        hs_arena a;
        hs_arena_init(&a, 0, limit);
        hs_value *v = NULL;
        int rc = hs_value_decode(&a, (const uint8_t *)doc, sizeof doc - 1, &v);
        if (limit < need) {
            CU_ASSERT_EQUAL(rc, HS_ERR_LIMIT);
            CU_ASSERT_PTR_NULL(v);
        } else {
            CU_ASSERT_EQUAL(rc, HS_OK);
            CU_ASSERT_TRUE(hs_value_equal(v, ref));
        }
        CU_ASSERT_TRUE(a.used <= limit);
        hs_arena_free(&a);
    }
    /* Failing allocations give HS_ERR_NOMEM at every point. */
    for (long n = 0; n < 8; n++) {
        hs_arena a;
        hs_arena_init(&a, 16, 0); /* tiny chunks: many allocations */
        hs_value *v = NULL;
        hs_alloc_fail_after(n);
        int rc = hs_value_decode(&a, (const uint8_t *)doc, sizeof doc - 1, &v);
        hs_alloc_fail_after(-1);
        CU_ASSERT_TRUE(rc == HS_ERR_NOMEM || (rc == HS_OK && hs_value_equal(v, ref)));
        hs_arena_free(&a);
    }
    /* Constructors and clone give NULL in a full arena. */
    hs_arena full;
    hs_arena_init(&full, 0, 32);
    CU_ASSERT_PTR_NOT_NULL(hs_arena_alloc(&full, 32));
    CU_ASSERT_PTR_NULL(hs_value_nil(&full));
    CU_ASSERT_PTR_NULL(hs_value_bool(&full, true));
    CU_ASSERT_PTR_NULL(hs_value_int(&full, 1));
    CU_ASSERT_PTR_NULL(hs_value_float(&full, 1.0));
    CU_ASSERT_PTR_NULL(hs_value_str(&full, "x", 1));
    CU_ASSERT_PTR_NULL(hs_value_array(&full, 2));
    CU_ASSERT_PTR_NULL(hs_value_map(&full, 2));
    CU_ASSERT_PTR_NULL(hs_value_clone(&full, ref));
    hs_arena_reset(&full);
    /* Room for the node but not for its items or its copy of the string. */
    CU_ASSERT_PTR_NULL(hs_value_array(&full, 4));
    hs_arena_reset(&full);
    CU_ASSERT_PTR_NULL(hs_value_str(&full, "0123456789abcdefg", 17));
    hs_arena_free(&full);
    hs_arena_free(&ref_arena);
}

/* ---- value: constructors, comparison, cloning ---- */

static void test_constructors_and_encode(void)
{
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    char src[] = "kitchen";
    hs_value *m = hs_value_map(&a, 3);
    REQUIRE(m);
    CU_ASSERT_EQUAL(m->type, HS_V_MAP);
    CU_ASSERT_EQUAL(m->len, 3);
    CU_ASSERT_EQUAL(m->u.items[0].type, HS_V_NIL);
    CU_ASSERT_EQUAL(m->u.items[5].type, HS_V_NIL);
    m->u.items[0] = *hs_value_str(&a, "room", 4);
    m->u.items[1] = *hs_value_str(&a, src, strlen(src));
    m->u.items[2] = *hs_value_str(&a, "n", 1);
    hs_value *arr = hs_value_array(&a, 4);
    REQUIRE(arr);
    arr->u.items[0] = *hs_value_int(&a, -200);
    arr->u.items[1] = *hs_value_float(&a, 0.5);
    arr->u.items[2] = *hs_value_bool(&a, false);
    /* items[3] stays nil */
    m->u.items[3] = *arr;
    m->u.items[4] = *hs_value_str(&a, "", 0);
    m->u.items[5] = *hs_value_nil(&a);
    src[0] = 'K'; /* the value holds a copy */
    CU_ASSERT_EQUAL(memcmp(hs_value_map_get(m, "room", 4)->u.s, "kitchen", 7), 0);
    CU_ASSERT_EQUAL(hs_value_map_get(m, "", 0)->type, HS_V_NIL);

    static const char want[] = "\x83\xa4room\xa7kitchen\xa1n\x94\xd1\xff\x38"
                               "\xcb\x3f\xe0\x00\x00\x00\x00\x00\x00\xc2\xc0\xa0\xc0";
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_value_encode(m, &b), HS_OK);
    CU_ASSERT_EQUAL(b.len, sizeof want - 1);
    CU_ASSERT_EQUAL(memcmp(b.data, want, sizeof want - 1), 0);

    /* A map key that is not a string is refused and the buffer is restored. */
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "xy"), HS_OK);
    hs_value *bad = hs_value_map(&a, 1);
    CU_ASSERT_EQUAL(hs_value_encode(bad, &b), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(b.len, 2);
    m->u.items[4] = *hs_value_int(&a, 1);
    CU_ASSERT_EQUAL(hs_value_encode(m, &b), HS_ERR_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "map key 2 is not a string"));
    CU_ASSERT_EQUAL(b.len, 2);
    hs_value unknown = {.type = (hs_vtype)99};
    CU_ASSERT_EQUAL(hs_value_encode(&unknown, &b), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_value_encode(NULL, &b), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(b.len, 2);
    hs_buf_free(&b);

    /* A bounded output buffer that is too small fails without partial output. */
    hs_buf_init(&b, 8);
    CU_ASSERT_NOT_EQUAL(hs_value_encode(arr, &b), HS_OK);
    CU_ASSERT_EQUAL(b.len, 0);
    hs_buf_free(&b);

    /* Empty containers have no items. */
    hs_value *e = hs_value_array(&a, 0);
    REQUIRE(e);
    CU_ASSERT_EQUAL(e->len, 0);
    CU_ASSERT_PTR_NULL(hs_value_str(&a, NULL, 1));
    hs_arena_free(&a);
}

static void test_to_double(void)
{
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    double d = -1;
    CU_ASSERT_EQUAL(hs_value_to_double(hs_value_int(&a, -7), &d), HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, -7.0, 0.0);
    CU_ASSERT_EQUAL(hs_value_to_double(hs_value_float(&a, 2.25), &d), HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, 2.25, 0.0);
    CU_ASSERT_EQUAL(hs_value_to_double(hs_value_bool(&a, true), &d), HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, 1.0, 0.0);
    CU_ASSERT_EQUAL(hs_value_to_double(hs_value_bool(&a, false), &d), HS_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, 0.0, 0.0);
    d = 5;
    CU_ASSERT_EQUAL(hs_value_to_double(hs_value_str(&a, "1", 1), &d), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_value_to_double(hs_value_nil(&a), &d), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_value_to_double(hs_value_array(&a, 1), &d), HS_ERR_INVAL);
    CU_ASSERT_DOUBLE_EQUAL(d, 5.0, 0.0);
    CU_ASSERT_EQUAL(hs_value_to_double(NULL, &d), HS_ERR_INVAL);
    hs_arena_free(&a);
}

/* Decodes a literal into a. */
static hs_value *dec(hs_arena *a, bytes in)
{
    hs_value *v = NULL;
    CU_ASSERT_EQUAL(hs_value_decode(a, (const uint8_t *)in.p, in.len, &v), HS_OK);
    return v;
}

static void test_cmp_total_order(void)
{
    /* Listed in ascending order; no two are equal. */
    static const bytes sorted[] = {
        B("\xc0"),                                 /* nil */
        B("\xc2"),                                 /* false */
        B("\xc3"),                                 /* true */
        B("\xcb\xff\xf0\x00\x00\x00\x00\x00\x00"), /* -inf */
        B("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"), /* INT64_MIN */
        B("\xcb\xc3\xe0\x00\x00\x00\x00\x00\x00"), /* -2^63 as float: after the equal INT */
        B("\xcb\xc3\xdf\xff\xff\xff\xff\xff\xff"), /* just above -2^63 */
        B("\xcb\xbf\xf8\x00\x00\x00\x00\x00\x00"), /* -1.5 */
        B("\xff"),                                 /* -1 */
        B("\xcb\xbf\xf0\x00\x00\x00\x00\x00\x00"), /* -1.0 */
        B("\xcb\xbf\xe0\x00\x00\x00\x00\x00\x00"), /* -0.5 */
        B("\x00"),                                 /* 0 */
        B("\xcb\x80\x00\x00\x00\x00\x00\x00\x00"), /* -0.0 */
        B("\xcb\x00\x00\x00\x00\x00\x00\x00\x00"), /* 0.0 */
        B("\xcb\x00\x00\x00\x00\x00\x00\x00\x01"), /* smallest subnormal */
        B("\xcb\x3f\xe0\x00\x00\x00\x00\x00\x00"), /* 0.5 */
        B("\x01"),                                 /* 1 */
        B("\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"), /* 1.0 */
        B("\xcb\x43\x40\x00\x00\x00\x00\x00\x00"), /* 2^53 as float */
        B("\xcf\x00\x20\x00\x00\x00\x00\x00\x01"), /* 2^53 + 1: not a double */
        B("\xcb\x43\x40\x00\x00\x00\x00\x00\x01"), /* 2^53 + 2 as float */
        B("\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"), /* INT64_MAX */
        B("\xcb\x43\xe0\x00\x00\x00\x00\x00\x00"), /* 2^63 as float */
        B("\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00"), /* inf */
        B("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"), /* NaN */
        B("\xa0"),                                 /* "" */
        B("\xa1"
          "a"),
        B("\xa2"
          "ab"),
        B("\xa1"
          "b"),
        B("\xa1\xff"),
        B("\xc4\x00"),
        B("\xc4\x01\x00"),
        B("\xc4\x02\x00\x00"),
        B("\xc4\x01\x01"),
        B("\x90"),
        B("\x91\xc0"),
        B("\x91\x01"),
        B("\x92\x01\x02"),
        B("\x91\x02"),
        B("\x91\x90"),
        B("\x80"),
        B("\x81\xa1"
          "a\x01"),
        B("\x81\xa1"
          "a\x02"),
        B("\x82\xa1"
          "a\x02\xa1"
          "b\x00"),
        B("\x81\xa1"
          "b\x00"),
    };
    enum { N = sizeof sorted / sizeof sorted[0] };
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value *v[N];
    for (size_t i = 0; i < N; i++) {
        v[i] = dec(&a, sorted[i]);
        REQUIRE(v[i]);
    }
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < N; j++) {
            int c = hs_value_cmp(v[i], v[j]);
            int want = (i > j) - (i < j);
            int got = (c > 0) - (c < 0);
            CU_ASSERT_EQUAL(got, want);
            CU_ASSERT_EQUAL(hs_value_equal(v[i], v[j]), i == j);
            if (got != want)
                fprintf(stderr, "\n  cmp(#%zu, #%zu) = %d\n", i, j, c);
        }
    }
    /* Every NaN is the same value; INT 1 and FLOAT 1.0 are not. */
    hs_value *nan2 = hs_value_float(&a, -NAN);
    CU_ASSERT_TRUE(hs_value_equal(v[24], nan2));
    CU_ASSERT_EQUAL(hs_value_cmp(v[24], nan2), 0);
    CU_ASSERT_FALSE(hs_value_equal(hs_value_int(&a, 1), hs_value_float(&a, 1.0)));
    CU_ASSERT_TRUE(hs_value_equal(hs_value_int(&a, 1), v[16]));
    CU_ASSERT_TRUE(hs_value_equal(NULL, NULL));
    CU_ASSERT_FALSE(hs_value_equal(v[0], NULL));
    CU_ASSERT_TRUE(hs_value_cmp(NULL, v[0]) < 0);
    hs_arena_free(&a);
}

static void test_clone_is_independent(void)
{
    /* {"k": [1, "s", h'0102', 2.5, {"n": nil}]} in a heap buffer that is freed afterwards. */
    static const char doc[] = "\x81\xa1k\x95\x01\xa1s\xc4\x02\x01\x02\xcb\x40\x04\x00\x00\x00"
                              "\x00\x00\x00\x81\xa1n\xc0";
    size_t len = sizeof doc - 1;
    uint8_t *input = hs_malloc(len);
    REQUIRE(input);
    memcpy(input, doc, len);
    hs_arena src, dst;
    hs_arena_init(&src, 0, 0);
    hs_arena_init(&dst, 0, 0);
    hs_value *v;
    CU_ASSERT_EQUAL_FATAL(hs_value_decode(&src, input, len, &v), HS_OK);
    hs_value *c = hs_value_clone(&dst, v);
    REQUIRE(c);
    CU_ASSERT_TRUE(hs_value_equal(v, c));
    CU_ASSERT_PTR_NOT_EQUAL(c->u.items, v->u.items);
    /* The clone survives the input and the source arena. */
    hs_free(input);
    hs_arena_free(&src);
    CU_ASSERT_EQUAL(roundtrip(&dst, doc, len, doc, len), HS_OK);
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_value_encode(c, &b), HS_OK);
    CU_ASSERT_EQUAL(b.len, len);
    CU_ASSERT_EQUAL(memcmp(b.data, doc, len), 0);
    hs_buf_free(&b);
    CU_ASSERT_PTR_NULL(hs_value_clone(&dst, NULL));
    hs_arena_free(&dst);
}

static void test_to_json_simple(void)
{
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value *arr = hs_value_array(&a, 4);
    REQUIRE(arr);
    arr->u.items[0] = *hs_value_int(&a, 42);
    arr->u.items[1] = *hs_value_str(&a, "x", 1);
    arr->u.items[2] = *hs_value_bool(&a, true);
    /* items[3] stays nil */
    hs_value *m = hs_value_map(&a, 1);
    m->u.items[0] = *hs_value_str(&a, "v", 1);
    m->u.items[1] = *arr;
    hs_buf b;
    hs_buf_init(&b, 0);
    int rc = hs_value_to_json(m, &b);
    CU_ASSERT_EQUAL(rc, HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "{\"v\":[42,\"x\",true,null]}");
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, ">"), HS_OK);
    CU_ASSERT_EQUAL(hs_value_to_json(hs_value_int(&a, -3), &b), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), ">-3");
    hs_buf_reset(&b);
    CU_ASSERT_EQUAL(hs_value_to_json(hs_value_map(&a, 1), &b), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_value_to_json(NULL, &b), HS_ERR_INVAL);
    hs_buf_free(&b);
    hs_arena_free(&a);
}

HS_TEST_INIT(value)
{
    HS_TEST_SUITE_BEGIN("value");
    HS_TEST(test_arena_alignment);
    HS_TEST(test_arena_limit);
    HS_TEST(test_arena_large_request_own_chunk);
    HS_TEST(test_arena_reset_keeps_first_chunk);
    HS_TEST(test_arena_strndup_and_nomem);
    HS_TEST(test_roundtrip_canonical_scalars);
    HS_TEST(test_roundtrip_canonical_sizes);
    HS_TEST(test_roundtrip_nested_document);
    HS_TEST(test_noncanonical_inputs_normalise);
    HS_TEST(test_decode_rejects);
    HS_TEST(test_nesting_limit);
    HS_TEST(test_arena_exhaustion_returns_errors);
    HS_TEST(test_constructors_and_encode);
    HS_TEST(test_to_double);
    HS_TEST(test_cmp_total_order);
    HS_TEST(test_clone_is_independent);
    HS_TEST(test_to_json_simple);
    return 0;
}
