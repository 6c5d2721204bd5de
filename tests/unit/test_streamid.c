/*
 * Tests of hs_streamid: canonical ordering, round trips, derived ids, and
 * every validation rule with the detail message it gives, at and just past
 * each limit.
 */
#include "test_suites.h"

#include "hs_alloc.h"
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_streamid.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

/* Stops the test when p is NULL (the explicit return also tells the compiler). */
#define REQUIRE(p)                                                                                 \
    do {                                                                                           \
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);                                                           \
        if ((p) == NULL)                                                                           \
            return;                                                                                \
    } while (0)

/* Parses a C string; returns the id or NULL (then *rc holds the error). */
static hs_streamid *parse(const char *s, int *rc)
{
    hs_streamid *sid = NULL;
    *rc = hs_streamid_parse(s, strlen(s), &sid);
    return *rc == HS_OK ? sid : NULL;
}

/* Asserts that s of len bytes is rejected with HS_ERR_PARSE and a detail holding want. */
static void expect_reject_n(const char *s, size_t len, const char *want)
{
    static hs_streamid sentinel;
    hs_streamid *sid = &sentinel; /* must stay untouched on failure */
    hs_err_clear();
    int rc = hs_streamid_parse(s, len, &sid);
    CU_ASSERT_EQUAL(rc, HS_ERR_PARSE);
    CU_ASSERT_PTR_EQUAL(sid, &sentinel);
    const char *detail = hs_err_detail();
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, want));
    if (strstr(detail, want) == NULL)
        fprintf(stderr, "\n  detail \"%s\" lacks \"%s\"\n", detail, want);
    /* hs_streamid_canonical rejects the same input and leaves the buffer alone. */
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "hs/s/"), HS_OK);
    CU_ASSERT_EQUAL(hs_streamid_canonical(s, len, &b), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(b.len, 5);
    hs_buf_free(&b);
}

static void expect_reject(const char *s, const char *want)
{
    expect_reject_n(s, strlen(s), want);
}

/* Returns a string of n copies of c in buf (of at least n + 1 bytes). */
static char *repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void test_parse_sorts_pairs(void)
{
    int rc;
    hs_streamid *sid = parse("temperature/room=kitchen/house=1", &rc);
    REQUIRE(sid);
    CU_ASSERT_STRING_EQUAL(sid->canon, "temperature/house=1/room=kitchen");
    CU_ASSERT_STRING_EQUAL(sid->name, "temperature");
    CU_ASSERT_EQUAL(sid->n_meta, 2);
    CU_ASSERT_STRING_EQUAL(sid->meta[0].key, "house");
    CU_ASSERT_STRING_EQUAL(sid->meta[0].value, "1");
    CU_ASSERT_STRING_EQUAL(sid->meta[1].key, "room");
    CU_ASSERT_STRING_EQUAL(sid->meta[1].value, "kitchen");
    hs_streamid_destroy(sid);

    /* Bytewise order: uppercase before lowercase, a prefix before longer keys. */
    sid = parse("s/b=1/ab=2/a=3/B=4/a0=5", &rc);
    REQUIRE(sid);
    CU_ASSERT_STRING_EQUAL(sid->canon, "s/B=4/a=3/a0=5/ab=2/b=1");
    hs_streamid_destroy(sid);

    sid = parse("temperature", &rc);
    REQUIRE(sid);
    CU_ASSERT_STRING_EQUAL(sid->canon, "temperature");
    CU_ASSERT_EQUAL(sid->n_meta, 0);
    hs_streamid_destroy(sid);
}

static void test_parse_uses_len_not_nul(void)
{
    hs_streamid *sid = NULL;
    /* Only the first 8 bytes are the id. */
    CU_ASSERT_EQUAL_FATAL(hs_streamid_parse("temp/a=1/b=2", 8, &sid), HS_OK);
    CU_ASSERT_STRING_EQUAL(sid->canon, "temp/a=1");
    hs_streamid_destroy(sid);
}

static void test_round_trips(void)
{
    static const char *const ids[] = {
        "temperature/house=1/room=kitchen",
        "t",
        "température/pièce=séjour/étage=2",
        "x/$k=$v/a_b=c-d/k.1=v..2/unicode=日本語",
        "s/k=...",
        "emoji/v=\xf0\x9f\x98\x80",
        "a.b-c_d/~=!",
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int rc;
        hs_streamid *a = parse(ids[i], &rc);
        REQUIRE(a);
        CU_ASSERT_EQUAL(strlen(a->canon), strlen(ids[i]));
        hs_streamid *b = parse(a->canon, &rc);
        REQUIRE(b);
        CU_ASSERT_STRING_EQUAL(a->canon, b->canon);
        CU_ASSERT_EQUAL(hs_streamid_cmp(a, b), 0);
        hs_buf buf;
        hs_buf_init(&buf, 0);
        CU_ASSERT_EQUAL(hs_streamid_canonical(ids[i], strlen(ids[i]), &buf), HS_OK);
        CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&buf), a->canon);
        hs_buf_free(&buf);
        hs_streamid_destroy(a);
        hs_streamid_destroy(b);
    }
}

static void test_canonical_appends(void)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_buf_puts(&b, "hs/s/"), HS_OK);
    const char *s = "t/room=k/house=1";
    CU_ASSERT_EQUAL(hs_streamid_canonical(s, strlen(s), &b), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "hs/s/t/house=1/room=k");
    hs_buf_free(&b);

    /* A bounded buffer that is too small reports its limit. */
    hs_buf_init(&b, 8);
    CU_ASSERT_EQUAL(hs_streamid_canonical(s, strlen(s), &b), HS_ERR_LIMIT);
    CU_ASSERT_EQUAL(b.len, 0);
    hs_buf_free(&b);
}

static void test_create_any_order(void)
{
    hs_meta_pair pairs[] = {{"room", "kitchen"}, {"house", "1"}};
    hs_streamid *sid = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_streamid_create(&sid, "temperature", pairs, 2), HS_OK);
    CU_ASSERT_STRING_EQUAL(sid->canon, "temperature/house=1/room=kitchen");
    /* The strings were copied. */
    CU_ASSERT_PTR_NOT_EQUAL(sid->meta[0].key, pairs[1].key);
    hs_streamid_destroy(sid);

    CU_ASSERT_EQUAL_FATAL(hs_streamid_create(&sid, "t", NULL, 0), HS_OK);
    CU_ASSERT_STRING_EQUAL(sid->canon, "t");
    hs_streamid_destroy(sid);

    hs_meta_pair dup[] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
    CU_ASSERT_EQUAL(hs_streamid_create(&sid, "t", dup, 3), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "key 'a' appears more than once"));

    hs_meta_pair bad[] = {{"a", "1"}, {"b/c", "2"}};
    CU_ASSERT_EQUAL(hs_streamid_create(&sid, "t", bad, 2), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "stream id 't/a=1': key 'b/c' contains '/'");
    hs_meta_pair badv[] = {{"a", "x=y"}};
    CU_ASSERT_EQUAL(hs_streamid_create(&sid, "t", badv, 1), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "stream id 't': value 'x=y' contains '='");
    CU_ASSERT_EQUAL(hs_streamid_create(&sid, "$SYS", NULL, 0), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_streamid_create(&sid, "", NULL, 0), HS_ERR_PARSE);
    hs_meta_pair nul[] = {{"a", NULL}};
    CU_ASSERT_EQUAL(hs_streamid_create(&sid, "t", nul, 1), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_streamid_create(&sid, NULL, NULL, 0), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_streamid_create(NULL, "t", NULL, 0), HS_ERR_INVAL);
}

static void test_with_without_get(void)
{
    int rc;
    hs_streamid *sid = parse("temp/room=kitchen/house=1", &rc);
    REQUIRE(sid);
    CU_ASSERT_STRING_EQUAL(hs_streamid_get(sid, "house"), "1");
    CU_ASSERT_STRING_EQUAL(hs_streamid_get(sid, "room"), "kitchen");
    CU_ASSERT_PTR_NULL(hs_streamid_get(sid, "floor"));
    CU_ASSERT_PTR_NULL(hs_streamid_get(sid, "hous"));
    CU_ASSERT_PTR_NULL(hs_streamid_get(sid, NULL));
    CU_ASSERT_PTR_NULL(hs_streamid_get(NULL, "house"));

    hs_streamid *added = NULL, *replaced = NULL, *removed = NULL, *all = NULL;
    CU_ASSERT_EQUAL(hs_streamid_with(sid, "floor", "2", &added), HS_OK);
    CU_ASSERT_STRING_EQUAL(added->canon, "temp/floor=2/house=1/room=kitchen");
    CU_ASSERT_EQUAL(hs_streamid_with(sid, "house", "7", &replaced), HS_OK);
    CU_ASSERT_STRING_EQUAL(replaced->canon, "temp/house=7/room=kitchen");
    CU_ASSERT_EQUAL(hs_streamid_without(sid, "house", &removed), HS_OK);
    CU_ASSERT_STRING_EQUAL(removed->canon, "temp/room=kitchen");
    CU_ASSERT_EQUAL(removed->n_meta, 1);
    /* The original is unchanged. */
    CU_ASSERT_STRING_EQUAL(sid->canon, "temp/house=1/room=kitchen");

    hs_streamid *tmp = NULL;
    CU_ASSERT_EQUAL(hs_streamid_without(removed, "room", &all), HS_OK);
    CU_ASSERT_STRING_EQUAL(all->canon, "temp");
    CU_ASSERT_EQUAL(hs_streamid_without(all, "room", &tmp), HS_ERR_NOTFOUND);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "stream id 'temp' has no key 'room'");
    CU_ASSERT_PTR_NULL(tmp);

    CU_ASSERT_EQUAL(hs_streamid_with(sid, "a+", "1", &tmp), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "key 'a+' contains '+'"));
    CU_ASSERT_EQUAL(hs_streamid_with(sid, "a", "", &tmp), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "value is empty"));
    CU_ASSERT_EQUAL(hs_streamid_with(sid, "a", "#", &tmp), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_streamid_with(sid, NULL, "1", &tmp), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_streamid_without(sid, NULL, &tmp), HS_ERR_INVAL);
    CU_ASSERT_PTR_NULL(tmp);

    hs_streamid_destroy(sid);
    hs_streamid_destroy(added);
    hs_streamid_destroy(replaced);
    hs_streamid_destroy(removed);
    hs_streamid_destroy(all);
    hs_streamid_destroy(NULL);
}

static void test_clone_and_cmp(void)
{
    int rc;
    hs_streamid *a = parse("temp/house=1/room=kitchen", &rc);
    REQUIRE(a);
    hs_streamid *c = NULL;
    CU_ASSERT_EQUAL_FATAL(hs_streamid_clone(a, &c), HS_OK);
    CU_ASSERT_PTR_NOT_EQUAL(a, c);
    CU_ASSERT_PTR_NOT_EQUAL(a->canon, c->canon);
    CU_ASSERT_STRING_EQUAL(a->canon, c->canon);
    CU_ASSERT_STRING_EQUAL(c->name, "temp");
    CU_ASSERT_STRING_EQUAL(c->meta[1].value, "kitchen");
    CU_ASSERT_EQUAL(hs_streamid_cmp(a, c), 0);
    hs_streamid_destroy(a);
    /* The clone does not depend on the original. */
    CU_ASSERT_STRING_EQUAL(c->canon, "temp/house=1/room=kitchen");

    hs_streamid *b = parse("temp/house=2", &rc);
    hs_streamid *d = parse("temp", &rc);
    hs_streamid *e = parse("temp/house=1", &rc);
    REQUIRE(b);
    REQUIRE(d);
    REQUIRE(e);
    CU_ASSERT_TRUE(hs_streamid_cmp(c, b) < 0);
    CU_ASSERT_TRUE(hs_streamid_cmp(b, c) > 0);
    CU_ASSERT_TRUE(hs_streamid_cmp(d, e) < 0);
    CU_ASSERT_TRUE(hs_streamid_cmp(e, c) < 0);
    CU_ASSERT_EQUAL(hs_streamid_clone(NULL, &a), HS_ERR_INVAL);
    hs_streamid_destroy(b);
    hs_streamid_destroy(c);
    hs_streamid_destroy(d);
    hs_streamid_destroy(e);
}

static void test_rejects_structure(void)
{
    expect_reject("temp/house", "stream id 'temp/house': meta-data part 'house' has no '='");
    expect_reject("", "stream id '': name is empty");
    expect_reject("/a=1", "stream id '/a=1': name is empty");
    expect_reject("temp//a=1", "meta-data part 1 is empty");
    expect_reject("temp/a=1/", "meta-data part 2 is empty");
    expect_reject("temp/", "meta-data part 1 is empty");
    expect_reject("temp/=1", "meta-data part '=1' has an empty key");
    expect_reject("temp/a=", "meta-data part 'a=' has an empty value");
    expect_reject("temp/a=1=2", "meta-data part 'a=1=2' has more than one '='");
    expect_reject("temp/a==", "meta-data part 'a==' has more than one '='");
    expect_reject("temp/a=1/b=2/a=3",
                  "stream id 'temp/a=1/b=2/a=3': key 'a' appears more than once");
    expect_reject("temp/a=1/a=1", "key 'a' appears more than once");
    expect_reject("te=mp/a=1", "name 'te=mp' contains '='");
}

static void test_rejects_characters(void)
{
    expect_reject("te+mp", "stream id 'te+mp': name 'te+mp' contains '+'");
    expect_reject("te#mp", "name 'te#mp' contains '#'");
    expect_reject("temp/a#=1", "key 'a#' contains '#'");
    expect_reject("temp/a=b+", "value 'b+' contains '+'");
    expect_reject_n("temp\0x", 6, "name 'temp\\x00x' contains a NUL byte");
    expect_reject_n("temp/a=\0", 8, "value '\\x00' contains a NUL byte");
    expect_reject("te\x01mp", "name 'te\\x01mp' contains control character 0x01");
    expect_reject("temp/a=\x1f", "contains control character 0x1f");
    expect_reject("temp/a\t=1", "key 'a\\x09' contains control character 0x09");
    expect_reject("te\x7fmp", "contains control character 0x7f");
    expect_reject("temp/a=\xc2\x85", "value '\\xc2\\x85' contains control character U+0085");
    expect_reject("temp/a=\xc2\x9f", "contains control character U+009F");
    /* Noncharacters: U+FDD0, U+FDEF, U+FFFE, U+FFFF, U+1FFFE, U+10FFFF. */
    expect_reject("temp/a=\xef\xb7\x90", "contains noncharacter U+FDD0");
    expect_reject("temp/a=\xef\xb7\xaf", "contains noncharacter U+FDEF");
    expect_reject("te\xef\xbf\xbemp", "contains noncharacter U+FFFE");
    expect_reject("temp/\xef\xbf\xbf=1", "contains noncharacter U+FFFF");
    expect_reject("temp/a=\xf0\x9f\xbf\xbe", "contains noncharacter U+1FFFE");
    expect_reject("temp/a=\xf4\x8f\xbf\xbf", "contains noncharacter U+10FFFF");
    /* Their neighbours U+FDCF, U+FDF0 and U+FFFD are fine. */
    int rc;
    hs_streamid *near = parse("temp/a=\xef\xb7\x8f\xef\xb7\xb0\xef\xbf\xbd", &rc);
    CU_ASSERT_EQUAL(rc, HS_OK);
    hs_streamid_destroy(near);
    /* Invalid UTF-8: a stray byte, an overlong '/', a surrogate, a cut sequence, > U+10FFFF. */
    expect_reject("te\xffmp", "name 'te\\xffmp' is not valid UTF-8 (at byte 2)");
    expect_reject("temp/a=\xc0\xaf", "value '\\xc0\\xaf' is not valid UTF-8 (at byte 0)");
    expect_reject("temp/a=x\xed\xa0\x80", "is not valid UTF-8 (at byte 1)");
    expect_reject("temp/a=\xe2\x82", "is not valid UTF-8");
    expect_reject("temp/k\x80=1", "key 'k\\x80' is not valid UTF-8");
    expect_reject("temp/a=\xf4\x90\x80\x80", "is not valid UTF-8");
    expect_reject("temp/a=\xf8\x88\x80\x80\x80", "is not valid UTF-8");
    /* Valid UTF-8 just above the C1 range (U+00A0 is a space: U+00A1) and the last character
     * (U+10FFFD) are accepted. */
    hs_streamid *sid = parse("temp/a=\xc2\xa1/b=\xf4\x8f\xbf\xbd", &rc);
    CU_ASSERT_PTR_NOT_NULL(sid);
    hs_streamid_destroy(sid);
}

static void test_rejects_dots_and_dollar(void)
{
    expect_reject(".", "name '.' may not be '.'");
    expect_reject("..", "name '..' may not be '..'");
    expect_reject("temp/a=.", "value '.' may not be '.'");
    expect_reject("temp/..=1", "key '..' may not be '..'");
    expect_reject("$SYS", "stream id '$SYS': name '$SYS' starts with '$'");
    /* '$' is only special at the start of the name; dots are fine inside parts. */
    int rc;
    hs_streamid *sid = parse("t$/$k=$v/...=.../.a=b./a..=.b", &rc);
    CU_ASSERT_PTR_NOT_NULL(sid);
    hs_streamid_destroy(sid);
}

static void test_rejects_topic_injection(void)
{
    expect_reject("temp/#", "stream id 'temp/#': meta-data part '#' contains '#'");
    expect_reject("temp/+/x", "meta-data part '+' contains '+'");
    expect_reject("#", "name '#' contains '#'");
    expect_reject("+", "name '+' contains '+'");
    expect_reject("temp/house=+", "value '+' contains '+'");
    expect_reject("temp/house=#", "value '#' contains '#'");
    expect_reject("../x", "name '..' may not be '..'");
    expect_reject("temp/../x", "meta-data part '..' may not be '..'");
    expect_reject("temp/./x", "meta-data part '.' may not be '.'");
    expect_reject("$SYS/x", "name '$SYS' starts with '$'");
    expect_reject("$SYS/broker=1", "name '$SYS' starts with '$'");
    expect_reject("temp/a=1/#", "meta-data part '#' contains '#'");
    expect_reject("temp/a=1//x=2", "meta-data part 2 is empty");
}

static void test_part_length_limit(void)
{
    char part[HS_SID_MAX_PART + 2];
    char id[2 * HS_SID_MAX_PART + 16];
    int rc;
    hs_streamid *sid;

    repeat(part, 'n', HS_SID_MAX_PART);
    sid = parse(part, &rc);
    CU_ASSERT_PTR_NOT_NULL(sid);
    hs_streamid_destroy(sid);
    repeat(part, 'n', HS_SID_MAX_PART + 1);
    expect_reject(part, "is longer than 128 bytes (129)");

    repeat(part, 'k', HS_SID_MAX_PART);
    snprintf(id, sizeof id, "t/%s=v", part);
    sid = parse(id, &rc);
    CU_ASSERT_PTR_NOT_NULL(sid);
    hs_streamid_destroy(sid);
    repeat(part, 'k', HS_SID_MAX_PART + 1);
    snprintf(id, sizeof id, "t/%s=v", part);
    expect_reject(id, "key 'kkkk");
    expect_reject(id, "is longer than 128 bytes (129)");

    repeat(part, 'v', HS_SID_MAX_PART);
    snprintf(id, sizeof id, "t/k=%s", part);
    sid = parse(id, &rc);
    CU_ASSERT_PTR_NOT_NULL(sid);
    hs_streamid_destroy(sid);
    repeat(part, 'v', HS_SID_MAX_PART + 1);
    snprintf(id, sizeof id, "t/k=%s", part);
    expect_reject(id, "is longer than 128 bytes (129)");

    /* A multi-byte character counts in bytes: 64 two-byte characters fit, 65 do not. */
    char utf[2 * 65 + 1];
    for (int i = 0; i < 65; i++)
        memcpy(utf + 2 * i, "\xc3\xa9", 2);
    utf[128] = '\0';
    sid = parse(utf, &rc);
    CU_ASSERT_PTR_NOT_NULL(sid);
    hs_streamid_destroy(sid);
    memcpy(utf + 128, "\xc3\xa9", 3);
    expect_reject(utf, "is longer than 128 bytes (130)");

    CU_ASSERT_EQUAL(hs_streamid_check_part(part, HS_SID_MAX_PART, "value"), HS_OK);
    CU_ASSERT_EQUAL(hs_streamid_check_part(part, HS_SID_MAX_PART + 1, "value"), HS_ERR_PARSE);
}

/* Writes "t/k00=v/k01=v/..." with n pairs into buf. */
static void pairs_id(char *buf, size_t cap, size_t n)
{
    size_t o = (size_t)snprintf(buf, cap, "t");
    /* Reverse order, so that parsing has to sort. */
    for (size_t i = n; i > 0; i--)
        o += (size_t)snprintf(buf + o, cap - o, "/k%02zu=v", i - 1);
}

static void test_pair_count_limit(void)
{
    char id[512];
    int rc;
    pairs_id(id, sizeof id, HS_SID_MAX_PAIRS);
    hs_streamid *sid = parse(id, &rc);
    REQUIRE(sid);
    CU_ASSERT_EQUAL(sid->n_meta, HS_SID_MAX_PAIRS);
    CU_ASSERT_STRING_EQUAL(sid->meta[0].key, "k00");
    CU_ASSERT_STRING_EQUAL(sid->meta[15].key, "k15");
    hs_streamid *more = NULL;
    CU_ASSERT_EQUAL(hs_streamid_with(sid, "k99", "v", &more), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hs_err_detail(), "more than 16 meta-data pairs"));
    /* Replacing a value keeps the count. */
    CU_ASSERT_EQUAL(hs_streamid_with(sid, "k03", "w", &more), HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_streamid_get(more, "k03"), "w");
    hs_streamid_destroy(more);
    hs_streamid_destroy(sid);

    pairs_id(id, sizeof id, HS_SID_MAX_PAIRS + 1);
    expect_reject(id, "more than 16 meta-data pairs");

    hs_meta_pair pairs[HS_SID_MAX_PAIRS + 1];
    char keys[HS_SID_MAX_PAIRS + 1][8];
    for (int i = 0; i <= HS_SID_MAX_PAIRS; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        pairs[i].key = keys[i];
        pairs[i].value = "v";
    }
    CU_ASSERT_EQUAL(hs_streamid_create(&sid, "t", pairs, HS_SID_MAX_PAIRS), HS_OK);
    hs_streamid_destroy(sid);
    CU_ASSERT_EQUAL(hs_streamid_create(&sid, "t", pairs, HS_SID_MAX_PAIRS + 1), HS_ERR_PARSE);
}

/*
 * Writes an id whose canonical form is exactly len bytes: eight pairs
 * "/kN=" + 110 value bytes (912 bytes) after a name of len - 912 bytes.
 */
static void long_id(char *buf, size_t len)
{
    size_t name = len - 912;
    memset(buf, 'n', name);
    size_t o = name;
    for (int i = 0; i < 8; i++) {
        o += (size_t)sprintf(buf + o, "/k%d=", i);
        memset(buf + o, 'v', 110);
        o += 110;
    }
    buf[o] = '\0';
}

static void test_total_length_limit(void)
{
    char id[HS_SID_MAX_LEN + 64];
    int rc;
    long_id(id, HS_SID_MAX_LEN);
    CU_ASSERT_EQUAL(strlen(id), HS_SID_MAX_LEN);
    hs_streamid *sid = parse(id, &rc);
    REQUIRE(sid);
    CU_ASSERT_EQUAL(strlen(sid->canon), HS_SID_MAX_LEN);
    hs_streamid *tmp = NULL;
    CU_ASSERT_EQUAL(hs_streamid_with(sid, "x", "y", &tmp), HS_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(hs_err_detail(), "canonical form is longer than 1024 bytes (1028)"));
    CU_ASSERT_PTR_NULL(tmp);
    hs_streamid_destroy(sid);

    long_id(id, HS_SID_MAX_LEN + 1);
    expect_reject(id, "': longer than 1024 bytes (1025)");
}

static void test_detail_is_bounded(void)
{
    /* A long id is shortened in the message; the message stays one line. */
    static char big[4096];
    repeat(big, 'a', sizeof big - 1);
    memcpy(big + 10, "\n\x01", 2);
    expect_reject(big, "...': longer than 1024 bytes (4095)");
    const char *d = hs_err_detail();
    CU_ASSERT_TRUE(strlen(d) < 200);
    CU_ASSERT_PTR_NULL(strchr(d, '\n'));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "aaaaaaaaaa\\x0a\\x01"));

    /* Quotes and backslashes are escaped so the detail cannot be misread. */
    expect_reject("it's/a\\b", "stream id 'it\\x27s/a\\x5cb': meta-data part 'a\\x5cb' has no '='");
}

/* Spaces, Unicode spaces and zero-width characters are refused in every part. */
static void test_rejects_spaces(void)
{
    expect_reject("bad id", "stream id 'bad id': name 'bad id' contains a space");
    expect_reject("with space", "contains a space (use '_' or '-')");
    expect_reject("temp/room=living room", "value 'living room' contains a space");
    expect_reject("temp/my key=1", "key 'my key' contains a space");
    expect_reject(" temp", "name ' temp' contains a space");
    expect_reject("temp/a=1 ", "value '1 ' contains a space");
    expect_reject("temp/a=\xc2\xa0x", "contains space or invisible character U+00A0");
    expect_reject("te\xe2\x80\x8bmp", "contains space or invisible character U+200B");
    expect_reject("temp/a=\xe3\x80\x80", "contains space or invisible character U+3000");
    expect_reject("\xef\xbb\xbftemp", "contains space or invisible character U+FEFF");
    CU_ASSERT_EQUAL(hs_streamid_check_part("a b", 3, "value"), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "value 'a b' contains a space (use '_' or '-')");
    /* Their neighbours U+00A1, U+2010 and U+3001 are fine. */
    int rc;
    hs_streamid *ok = parse("temp/a=\xc2\xa1\xe2\x80\x90\xe3\x80\x81_-.:", &rc);
    CU_ASSERT_EQUAL(rc, HS_OK);
    hs_streamid_destroy(ok);
    /* A '/' in a name reads as the start of a pair, and the detail says so. */
    expect_reject("foo/bar", "meta-data part 'bar' has no '=' (after the name every '/' starts a "
                             "key=value pair; a name cannot hold '/')");
}

static void test_check_part(void)
{
    CU_ASSERT_EQUAL(hs_streamid_check_part("kitchen", 7, "value"), HS_OK);
    CU_ASSERT_EQUAL(hs_streamid_check_part("$x", 2, "key"), HS_OK);
    CU_ASSERT_EQUAL(hs_streamid_check_part("$x", 2, "name"), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "name '$x' starts with '$'");
    CU_ASSERT_EQUAL(hs_streamid_check_part("a#", 2, "key"), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "key 'a#' contains '#'");
    CU_ASSERT_EQUAL(hs_streamid_check_part("", 0, "value"), HS_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(hs_err_detail(), "value is empty");
    CU_ASSERT_EQUAL(hs_streamid_check_part("a/b", 3, "name"), HS_ERR_PARSE);
    CU_ASSERT_EQUAL(hs_streamid_check_part("a=b", 3, "value"), HS_ERR_PARSE);
    /* len counts, not the NUL. */
    CU_ASSERT_EQUAL(hs_streamid_check_part("ab#", 2, "key"), HS_OK);
}

static void test_bad_arguments_and_nomem(void)
{
    hs_streamid *sid = NULL;
    CU_ASSERT_EQUAL(hs_streamid_parse(NULL, 3, &sid), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_streamid_parse("t", 1, NULL), HS_ERR_INVAL);
    CU_ASSERT_EQUAL(hs_streamid_canonical("t", 1, NULL), HS_ERR_INVAL);

    hs_alloc_fail_after(0);
    int rc = hs_streamid_parse("t/a=1", 5, &sid);
    hs_alloc_fail_after(-1);
    CU_ASSERT_EQUAL(rc, HS_ERR_NOMEM);
    CU_ASSERT_PTR_NULL(sid);

    /* canonical needs no allocation beyond the output buffer. */
    hs_buf b;
    hs_buf_init(&b, 0);
    CU_ASSERT_EQUAL(hs_buf_reserve(&b, 64), HS_OK);
    hs_alloc_fail_after(0);
    rc = hs_streamid_canonical("t/b=2/a=1", 9, &b);
    hs_alloc_fail_after(-1);
    CU_ASSERT_EQUAL(rc, HS_OK);
    CU_ASSERT_STRING_EQUAL(hs_buf_cstr(&b), "t/a=1/b=2");
    hs_buf_free(&b);
}

HS_TEST_INIT(streamid)
{
    HS_TEST_SUITE_BEGIN("streamid");
    HS_TEST(test_parse_sorts_pairs);
    HS_TEST(test_parse_uses_len_not_nul);
    HS_TEST(test_round_trips);
    HS_TEST(test_canonical_appends);
    HS_TEST(test_create_any_order);
    HS_TEST(test_with_without_get);
    HS_TEST(test_clone_and_cmp);
    HS_TEST(test_rejects_structure);
    HS_TEST(test_rejects_characters);
    HS_TEST(test_rejects_dots_and_dollar);
    HS_TEST(test_rejects_topic_injection);
    HS_TEST(test_part_length_limit);
    HS_TEST(test_pair_count_limit);
    HS_TEST(test_total_length_limit);
    HS_TEST(test_detail_is_bounded);
    HS_TEST(test_rejects_spaces);
    HS_TEST(test_check_part);
    HS_TEST(test_bad_arguments_and_nomem);
    return 0;
}
