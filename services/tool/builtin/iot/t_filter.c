/* The filter tool: keeps the instances whose value (or one field of it) satisfies a predicate. */
#include "functions.h"
#include "iot.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"

#include <math.h>
#include <string.h>

typedef enum hs__fop {
    HS__F_EQ,
    HS__F_NE,
    HS__F_LT,
    HS__F_LE,
    HS__F_GT,
    HS__F_GE,
    HS__F_BETWEEN,
    HS__F_IN,
    HS__F_EXISTS,
    HS__F_FUNC,
} hs__fop;

static const char *const hs__fop_names[] = {"==", "!=",      "<",  "<=",    ">",
                                            ">=", "between", "in", "exists"};

typedef struct hs__filter {
    hs__fop op;
    const hs_value *value;  /* ==, !=, <, <=, >, >= (params, job arena) */
    const hs_value *values; /* between: [lo, hi]; in: the list */
    const char *key;        /* compare value[key] (NULL: the value) */
    size_t klen;
    bool invert;
    hs_func f; /* HS__F_FUNC */
} hs__filter;

/* ------------------------------------------------------------------ comparisons */

static bool hs__is_num(const hs_value *v)
{
    return v->type == HS_V_INT || v->type == HS_V_FLOAT;
}

/*
 * Exact order of two numbers: -1, 0, 1, or 2 when unordered (NaN). An
 * integer and a float compare by their exact values (2^53 + 1 > 2^53 as a
 * float), so no integer is equal to a float it merely rounds to.
 */
static int hs__num_cmp(const hs_value *a, const hs_value *b)
{
    if (a->type == HS_V_INT && b->type == HS_V_INT)
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    if (a->type == HS_V_FLOAT && b->type == HS_V_FLOAT) {
        if (isnan(a->u.f) || isnan(b->u.f))
            return 2;
        return (a->u.f > b->u.f) - (a->u.f < b->u.f);
    }
    bool swap = a->type == HS_V_FLOAT;
    int64_t i = swap ? b->u.i : a->u.i;
    double f = swap ? a->u.f : b->u.f;
    int r; /* order of i against f */
    if (isnan(f)) {
        return 2;
    } else if (f >= 9223372036854775808.0) {
        r = -1;
    } else if (f < -9223372036854775808.0) {
        r = 1;
    } else {
        /* f is within int64 range: compare the integer part exactly, then the fraction. */
        double fl = floor(f);
        int64_t fi = (int64_t)fl;
        if (i != fi)
            r = i < fi ? -1 : 1;
        else
            r = f > fl ? -1 : 0;
    }
    return swap ? -r : r;
}

static bool hs__equal(const hs_value *a, const hs_value *b)
{
    if (hs__is_num(a) && hs__is_num(b))
        return hs__num_cmp(a, b) == 0;
    return hs_value_equal(a, b);
}

/* Order of a and b for <, <=, >, >=: numbers with numbers, strings with strings; else 2. */
static int hs__order(const hs_value *a, const hs_value *b)
{
    if (hs__is_num(a) && hs__is_num(b))
        return hs__num_cmp(a, b);
    if (a->type == HS_V_STR && b->type == HS_V_STR) {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = n ? memcmp(a->u.s, b->u.s, n) : 0;
        if (c == 0)
            return (a->len > b->len) - (a->len < b->len);
        return c < 0 ? -1 : 1;
    }
    return 2;
}

static bool hs__orderable(const hs_value *v)
{
    return hs__is_num(v) || v->type == HS_V_STR;
}

/* ------------------------------------------------------------------ init */

static void hs__filter_fini(void *state)
{
    hs__filter *s = state;
    if (s != NULL)
        hs_func_release(&s->f);
}

static int hs__filter_init(hs_tool_ctx *ctx, void **state)
{
    hs__filter *s = hs_arena_alloc(hs_tool_arena(ctx), sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    *state = s;
    int rc = hs_iot_param_key(ctx, "key", &s->key, &s->klen);
    if (rc != HS_OK)
        return rc;
    rc = hs_tool_param_bool(ctx, "invert", &s->invert);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    s->value = hs_tool_param_value(ctx, "value");
    s->values = hs_tool_param_value(ctx, "values");
    const char *op = NULL;
    rc = hs_tool_param_string(ctx, "op", &op);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    bool has_func = hs_tool_param_value(ctx, "func") != NULL;
    if ((op == NULL) == !has_func)
        return hs_tool_fail(ctx, "filter needs exactly one of 'op' (==, !=, <, <=, >, >=, "
                                 "between, in, exists) and 'func'");
    if (has_func) {
        s->op = HS__F_FUNC;
        return hs_func_lookup(ctx, "func", HS_FUNC_UNARY, &s->f);
    }
    size_t nops = sizeof hs__fop_names / sizeof hs__fop_names[0];
    size_t k = 0;
    while (k < nops && strcmp(op, hs__fop_names[k]) != 0)
        k++;
    if (k == nops)
        return hs_tool_fail(ctx,
                            "filter: unknown op '%s' (valid: ==, !=, <, <=, >, >=, between, "
                            "in, exists)",
                            op);
    s->op = (hs__fop)k;
    switch (s->op) {
    case HS__F_EQ:
    case HS__F_NE:
        if (s->value == NULL)
            return hs_tool_fail(ctx,
                                "filter op '%s' needs parameter 'value' (use op exists "
                                "to test for null)",
                                op);
        break;
    case HS__F_LT:
    case HS__F_LE:
    case HS__F_GT:
    case HS__F_GE:
        if (s->value == NULL || !hs__orderable(s->value))
            return hs_tool_fail(ctx,
                                "filter op '%s' needs parameter 'value', a number or a "
                                "string",
                                op);
        break;
    case HS__F_BETWEEN:
        if (s->values == NULL || s->values->type != HS_V_ARRAY || s->values->len != 2 ||
            !hs__orderable(&s->values->u.items[0]) || !hs__orderable(&s->values->u.items[1]))
            return hs_tool_fail(ctx, "filter op 'between' needs parameter 'values': [low, high] "
                                     "(numbers or strings)");
        if (hs__order(&s->values->u.items[0], &s->values->u.items[1]) == 2)
            return hs_tool_fail(ctx, "filter op 'between': low and high must both be numbers "
                                     "or both strings");
        if (hs__order(&s->values->u.items[0], &s->values->u.items[1]) > 0)
            return hs_tool_fail(ctx, "filter op 'between': low is above high");
        break;
    case HS__F_IN:
        if (s->values == NULL || s->values->type != HS_V_ARRAY)
            return hs_tool_fail(ctx, "filter op 'in' needs parameter 'values', a list");
        break;
    default:
        break;
    }
    return HS_OK;
}

/* ------------------------------------------------------------------ run */

/*
 * Whether the subject satisfies the predicate: 1 yes, 0 no, or a negative
 * error; *skip is set when a function does not apply (warned, dropped).
 */
static int hs__filter_test(hs_tool_ctx *ctx, hs__filter *s, int64_t t, const hs_value *x,
                           bool *skip)
{
    int c;
    switch (s->op) {
    case HS__F_EQ:
        return hs__equal(x, s->value);
    case HS__F_NE:
        return !hs__equal(x, s->value);
    case HS__F_LT:
        return hs__order(x, s->value) == -1;
    case HS__F_LE:
        c = hs__order(x, s->value);
        return c == -1 || c == 0;
    case HS__F_GT:
        return hs__order(x, s->value) == 1;
    case HS__F_GE:
        c = hs__order(x, s->value);
        return c == 1 || c == 0;
    case HS__F_BETWEEN: {
        int lo = hs__order(x, &s->values->u.items[0]), hi = hs__order(x, &s->values->u.items[1]);
        return (lo == 0 || lo == 1) && (hi == 0 || hi == -1);
    }
    case HS__F_IN:
        for (uint32_t i = 0; i < s->values->len; i++)
            if (hs__equal(x, &s->values->u.items[i]))
                return 1;
        return 0;
    case HS__F_EXISTS:
        return x->type != HS_V_NIL;
    case HS__F_FUNC: {
        hs_value out;
        int rc = s->f.unary(s->f.ud, hs_tool_scratch(ctx), t, x, &out);
        if (rc == HS_ERR_INVAL) {
            hs_tool_warn(ctx, "filter: %s at %lld: %s; dropped", s->f.name ? s->f.name : "func",
                         (long long)t, hs_err_detail());
            *skip = true;
            return 0;
        }
        if (rc != HS_OK)
            return hs_tool_fail(ctx, "filter: function %s failed: %s",
                                s->f.name ? s->f.name : "(user)", hs_err_detail());
        return hs_iot_truthy(&out);
    }
    }
    return 0;
}

static int hs__filter_run(hs_tool_ctx *ctx, void *state)
{
    hs__filter *s = state;
    hs_tool_iter it;
    int rc = hs_tool_iter_open(ctx, 0, hs_tool_interval(ctx), &it);
    if (rc != HS_OK)
        return rc;
    hs_arena *scratch = hs_tool_scratch(ctx);
    int64_t t;
    const uint8_t *p;
    size_t len;
    int r;
    while ((r = hs_tool_iter_next(&it, &t, &p, &len)) == 1) {
        hs_arena_reset(scratch);
        const uint8_t *fv;
        size_t flen;
        int keep = 0;
        bool skip = false;
        if (hs_iot_field(p, len, s->key, s->klen, &fv, &flen)) {
            hs_value *x;
            if (hs_value_decode(scratch, fv, flen, &x) != HS_OK) {
                rc = hs_tool_fail(ctx, "filter: the value at %lld cannot be decoded: %s",
                                  (long long)t, hs_err_detail());
                break;
            }
            keep = hs__filter_test(ctx, s, t, x, &skip);
            if (keep < 0) {
                rc = keep;
                break;
            }
        }
        bool pass = (keep != 0) != s->invert;
        if (skip || !pass)
            continue;
        if ((rc = hs_tool_emit(ctx, t, p, len)) != HS_OK)
            break;
    }
    hs_tool_iter_close(&it);
    return rc != HS_OK ? rc : r < 0 ? r : HS_OK;
}

static const hs_tool_param hs__filter_params[] = {
    {"op", HS_P_STRING, "null", "==, !=, <, <=, >, >=, between, in or exists"},
    {"value", HS_P_ANY, "null", "the operand of ==, !=, <, <=, >, >="},
    {"values", HS_P_LIST, "null", "between: [low, high]; in: the accepted values"},
    {"key", HS_P_STRING, "null", "test value[key] of map values instead of the value"},
    {"func", HS_P_FUNC, "null", "instead of op: keep when func(value) is truthy"},
    {"invert", HS_P_BOOL, "false", "keep the instances that do not satisfy the predicate"},
    {NULL, HS_P_ANY, NULL, NULL},
};

/* op is one of the comparisons; func a unary function. */
static int hs__filter_check(const char *name, const hs_value *v, hs_buf *err)
{
    if (strcmp(name, "op") == 0)
        return hs_tool_check_choice(v, hs__fop_names,
                                    sizeof hs__fop_names / sizeof hs__fop_names[0], err);
    return hs_func_check_unary(name, v, err);
}

const hs_tool_def hs_tool_filter = {
    .name = "filter",
    .version = "1.0.0",
    .kind = HS_TOOL_PLAIN,
    .min_sources = 1,
    .max_sources = 1,
    .summary = "Keeps the instances whose value satisfies a predicate (op or func)",
    .doc = "Emits every instance of the source, unchanged, whose subject satisfies the "
           "predicate; the subject is the value, or value[key] with key (an instance whose "
           "value is not a map or lacks the key does not satisfy any predicate). Predicates "
           "(op): == and != (numbers compare by exact value, so 1 == 1.0; other values "
           "compare deeply and by type, so \"1\" != 1 and true != 1), <, <=, >, >= (numbers "
           "with numbers, strings with strings bytewise; any other pair, and NaN, is never "
           "ordered, so it fails the test), between (values [low, high], both ends "
           "included), in (values: a list; == against each), exists (the subject is present "
           "and not null). Or func: a unary function (built-in or \"lua: ...\"); the "
           "instance is kept when the result is truthy as in Python (non-zero numbers, true, "
           "non-empty strings and containers); when func does not apply to a value the "
           "instance is dropped with a warning. invert keeps the instances that fail "
           "instead (including those without the key). Parameters: op or func (exactly "
           "one), value, values, key, invert. Examples: {op: \">\", value: 30, key: temp} "
           "keeps readings above 30; {op: in, values: [kitchen, lounge], key: room}; {op: "
           "exists, key: alarm}. Each instance is judged alone, so output never depends on "
           "job cuts. Not a HyperStream tool: its component_filter is op 'in' with "
           "invert as its complement.",
    .params = hs__filter_params,
    .check_param = hs__filter_check,
    .init = hs__filter_init,
    .run = hs__filter_run,
    .fini = hs__filter_fini,
};
