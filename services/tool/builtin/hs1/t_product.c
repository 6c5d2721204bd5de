/* The product tool: the product of two sources at equal timestamps. */
#include "hs1.h"

#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_time.h"

/* A number read from raw msgpack: an integer (bools as 0/1) or a float. */
typedef struct hs__pnum {
    bool is_int;
    int64_t i;
    double f;
} hs__pnum;

static bool hs__pnum_read(const uint8_t *p, size_t len, hs__pnum *n)
{
    hs_mp_reader r;
    hs_mp_type type;
    hs_mp_reader_init(&r, p, len);
    if (hs_mp_peek(&r, &type) != HS_OK)
        return false;
    n->is_int = type == HS_MP_INT || type == HS_MP_BOOL;
    if (type == HS_MP_INT)
        return hs_mp_get_int(&r, &n->i) == HS_OK;
    if (type == HS_MP_BOOL) {
        bool b;
        if (hs_mp_get_bool(&r, &b) != HS_OK)
            return false;
        n->i = b ? 1 : 0;
        return true;
    }
    if (type == HS_MP_FLOAT || type == HS_MP_UINT)
        return hs_mp_get_number(&r, &n->f) == HS_OK;
    return false;
}

static double hs__pnum_double(const hs__pnum *n)
{
    return n->is_int ? (double)n->i : n->f;
}

/* Fails the job: the two sources do not have the same timestamps. */
static int hs__product_misaligned(hs_tool_ctx *ctx, size_t has, int64_t t)
{
    char iso[HS_TIME_ISO_MAX];
    hs_time_format_iso(t, iso);
    return hs_tool_fail(ctx,
                        "product: the sources are not aligned: source %zu has an instance at %s "
                        "(%lld) that source %zu does not have",
                        has, iso, (long long)t, 1 - has);
}

static int hs__product_run(hs_tool_ctx *ctx, void *state)
{
    (void)state;
    if (hs_tool_nsources(ctx) != 2)
        return hs_tool_fail(ctx, "product needs 2 sources, not %zu", hs_tool_nsources(ctx));
    hs_interval iv = hs_tool_interval(ctx);
    hs_tool_iter a, b;
    int rc = hs_tool_iter_open(ctx, 0, iv, &a);
    if (rc != HS_OK)
        return rc;
    rc = hs_tool_iter_open(ctx, 1, iv, &b);
    if (rc != HS_OK) {
        hs_tool_iter_close(&a);
        return rc;
    }
    for (;;) {
        int64_t ta, tb;
        const uint8_t *pa, *pb;
        size_t la, lb;
        int ra = hs_tool_iter_next(&a, &ta, &pa, &la);
        int rb = ra < 0 ? 0 : hs_tool_iter_next(&b, &tb, &pb, &lb);
        if (ra < 0 || rb < 0) {
            rc = ra < 0 ? ra : rb;
            break;
        }
        if (ra == 0 && rb == 0)
            break;
        if (ra == 0 || rb == 0 || ta != tb) {
            /* Report the earlier of the two unmatched instances. */
            size_t has = ra == 0 ? 1 : rb == 0 ? 0 : (ta < tb ? 0 : 1);
            rc = hs__product_misaligned(ctx, has, has == 0 ? ta : tb);
            break;
        }
        hs__pnum x, y;
        if (!hs__pnum_read(pa, la, &x) || !hs__pnum_read(pb, lb, &y)) {
            hs_tool_warn(ctx, "product: a value at %lld is not a number; skipped", (long long)ta);
            continue;
        }
        int64_t pi;
        if (x.is_int && y.is_int && !__builtin_mul_overflow(x.i, y.i, &pi))
            rc = hs_tool_emit_int(ctx, ta, pi);
        else
            rc = hs_tool_emit_double(ctx, ta, hs__pnum_double(&x) * hs__pnum_double(&y));
        if (rc != HS_OK)
            break;
    }
    hs_tool_iter_close(&a);
    hs_tool_iter_close(&b);
    return rc;
}

const hs_tool_def hs_tool_product = {
    .name = "product",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 2,
    .max_sources = 2,
    .summary = "The product of two sources with the same timestamps",
    .doc = "Pairs the instances of the two sources in order and emits (t, v0 * v1) for each "
           "pair. The sources must have exactly the same timestamps in the job interval: an "
           "instance of one at a time the other does not have fails the job with a message "
           "naming it, as HyperStream raises ValueError on unequal timestamps. Numbers are "
           "integers, floats and bools (0/1); two integers give an integer (a float when the "
           "product leaves int64), anything with a float gives a float. No parameters. "
           "Example: a = {t1: 2, t2: 3} and b = {t1: 10, t2: 0.5} give {t1: 20, t2: 1.5}. "
           "Difference from HyperStream: a pair with a value that is not a number is "
           "skipped with a warning (Python would repeat a string or fail).",
    .run = hs__product_run,
};
