#include "hs_jschema.h"

#include "hs_alloc.h"
#include "hs_arena.h"
#include "hs_error.h"
#include "hs_mpack.h"
#include "hs_yaml.h"

#include <math.h>
#include <stdarg.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Longest pattern accepted, in bytes, and the product of its repetition bounds. */
#define JS_PATTERN_MAX 256
#define JS_REPEAT_MAX  1000

/* Type bits of the "type" keyword. */
enum {
    JT_NULL = 1u << 0,
    JT_BOOL = 1u << 1,
    JT_INT = 1u << 2,
    JT_NUM = 1u << 3,
    JT_STR = 1u << 4,
    JT_ARR = 1u << 5,
    JT_OBJ = 1u << 6,
};

static const struct {
    const char *name;
    unsigned bit;
} js_types[] = {
    {"null", JT_NULL},  {"boolean", JT_BOOL}, {"integer", JT_INT}, {"number", JT_NUM},
    {"string", JT_STR}, {"array", JT_ARR},    {"object", JT_OBJ},
};

typedef struct js_node js_node;

/* One property of "properties". */
typedef struct js_prop {
    const char *name; /* borrowed from the schema's copy, not NUL-terminated */
    uint32_t len;
    js_node *schema;
} js_prop;

/* A list of subschemas (allOf, anyOf, oneOf). */
typedef struct js_list {
    js_node **n; /* arena array */
    uint32_t len;
} js_list;

/* One compiled subschema; every pointer points into the schema's arena. */
struct js_node {
    bool is_bool;   /* the schema is true or false */
    bool bool_val;  /* its value when is_bool */
    unsigned types; /* JT_ bits; 0: any type */
    const hs_value *enumv, *constv;
    const hs_value *min, *max, *xmin, *xmax, *mult;                       /* numbers, or NULL */
    int64_t min_len, max_len, min_items, max_items, min_props, max_props; /* -1: none */
    regex_t *re;              /* compiled pattern or NULL (freed by hs_jschema_destroy) */
    const hs_value *pat;      /* its text, for messages */
    const hs_value *required; /* array of strings or NULL */
    js_prop *props;
    uint32_t nprops;
    js_node *addl, *items, *not_, *ref;
    js_list all, any, one;
    js_node *next; /* every node of a schema, for destroy */
};

struct hs_jschema {
    hs_arena arena; /* owns the nodes and the copy of the schema */
    js_node *root;
    js_node *nodes; /* list through next */
    size_t n_nodes;
};

/* ---------------------------------------------------------------------------
 * Compiling
 */

typedef struct jc {
    hs_jschema *s;
    hs_buf ptr;           /* JSON pointer of the subschema being compiled */
    hs_buf *err;          /* borrowed, may be NULL */
    const hs_value *defs; /* the root's $defs or NULL */
    js_node **def_nodes;  /* one per pair of defs */
} jc;

/*
 * Records a compile error at the current schema pointer, in err and as the
 * error detail, and returns rc.
 */
static int jc_fail(jc *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int jc_fail(jc *c, int rc, const char *fmt, ...)
{
    char msg[700];
    snprintf(msg, sizeof msg, "%s: ", c->ptr.len ? hs_buf_cstr(&c->ptr) : "(root)");
    size_t l = strlen(msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + l, sizeof msg - l, fmt, ap);
    va_end(ap);
    if (c->err != NULL) {
        hs_buf_reset(c->err);
        (void)hs_buf_puts(c->err, msg);
    }
    return hs_err_set(rc, "%s", msg);
}

/* Appends "/token" to a JSON pointer, escaping '~' and '/'. Errors are sticky in p. */
static void ptr_push(hs_buf *p, const char *s, size_t len)
{
    (void)hs_buf_putc(p, '/');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '~')
            (void)hs_buf_puts(p, "~0");
        else if (s[i] == '/')
            (void)hs_buf_puts(p, "~1");
        else
            (void)hs_buf_putc(p, (uint8_t)s[i]);
    }
}

static void ptr_push_index(hs_buf *p, uint32_t i)
{
    (void)hs_buf_printf(p, "/%u", (unsigned)i);
}

static bool key_is(const hs_value *k, const char *name)
{
    size_t n = strlen(name);
    return k->len == n && memcmp(k->u.s, name, n) == 0;
}

static bool is_number(const hs_value *v)
{
    return v->type == HS_V_INT || (v->type == HS_V_FLOAT && isfinite(v->u.f));
}

/* A non-negative integer keyword (integral floats allowed). */
static int get_count(jc *c, const hs_value *v, int64_t *out)
{
    if (v->type == HS_V_INT && v->u.i >= 0) {
        *out = v->u.i;
        return HS_OK;
    }
    if (v->type == HS_V_FLOAT && v->u.f >= 0 && v->u.f <= 9.2e18 && floor(v->u.f) == v->u.f) {
        *out = (int64_t)v->u.f;
        return HS_OK;
    }
    return jc_fail(c, HS_ERR_SCHEMA, "must be a non-negative integer");
}

static int jc_node(jc *c, const hs_value *sv, int depth, js_node **out);

static js_node *node_new(jc *c)
{
    if (c->s->n_nodes >= HS_JSCHEMA_MAX_NODES)
        return NULL;
    js_node *n = hs_arena_alloc(&c->s->arena, sizeof *n);
    if (n == NULL)
        return NULL;
    memset(n, 0, sizeof *n);
    n->min_len = n->max_len = n->min_items = n->max_items = n->min_props = n->max_props = -1;
    n->next = c->s->nodes;
    c->s->nodes = n;
    c->s->n_nodes++;
    return n;
}

static int node_fail_alloc(jc *c)
{
    if (c->s->n_nodes >= HS_JSCHEMA_MAX_NODES)
        return jc_fail(c, HS_ERR_LIMIT, "the schema has more than %s subschemas", "4096");
    return jc_fail(c, HS_ERR_NOMEM, "out of memory");
}

/* Compiles the subschema under key (already pushed on the pointer). */
static int jc_sub(jc *c, const hs_value *sv, int depth, js_node **out)
{
    return jc_node(c, sv, depth + 1, out);
}

static int jc_list(jc *c, const hs_value *v, int depth, js_list *l)
{
    if (v->type != HS_V_ARRAY || v->len == 0)
        return jc_fail(c, HS_ERR_SCHEMA, "must be a non-empty array of schemas");
    l->n = hs_arena_alloc(&c->s->arena, v->len * sizeof *l->n);
    if (l->n == NULL)
        return node_fail_alloc(c);
    l->len = v->len;
    size_t mark = c->ptr.len;
    for (uint32_t i = 0; i < v->len; i++) {
        ptr_push_index(&c->ptr, i);
        int rc = jc_sub(c, &v->u.items[i], depth, &l->n[i]);
        if (rc != HS_OK)
            return rc;
        c->ptr.len = mark;
    }
    return HS_OK;
}

static int jc_type(jc *c, const hs_value *v, unsigned *bits)
{
    uint32_t n = v->type == HS_V_ARRAY ? v->len : 1;
    if ((v->type != HS_V_STR && v->type != HS_V_ARRAY) || n == 0)
        return jc_fail(c, HS_ERR_SCHEMA, "must be a type name or a non-empty array of them");
    for (uint32_t i = 0; i < n; i++) {
        const hs_value *t = v->type == HS_V_ARRAY ? &v->u.items[i] : v;
        unsigned bit = 0;
        for (size_t k = 0; t->type == HS_V_STR && k < sizeof js_types / sizeof js_types[0]; k++)
            if (key_is(t, js_types[k].name))
                bit = js_types[k].bit;
        if (bit == 0)
            return jc_fail(c, HS_ERR_SCHEMA,
                           "unknown type (one of null, boolean, integer, number, string, "
                           "array, object)");
        if (*bits & bit)
            return jc_fail(c, HS_ERR_SCHEMA, "a type is given twice");
        *bits |= bit;
    }
    return HS_OK;
}

/* Index just past the bracket expression starting at p[i] == '[' (len when unclosed). */
static size_t bracket_end(const char *p, size_t len, size_t i)
{
    size_t k = i + 1;
    if (k < len && p[k] == '^')
        k++;
    if (k < len && p[k] == ']')
        k++; /* a ']' first is a literal */
    while (k < len && p[k] != ']') {
        if (p[k] == '[' && k + 1 < len && (p[k + 1] == ':' || p[k + 1] == '.' || p[k + 1] == '=')) {
            char close = p[k + 1];
            k += 2;
            while (k + 1 < len && !(p[k] == close && p[k + 1] == ']'))
                k++;
            k += 2;
        } else {
            k++;
        }
    }
    return k < len ? k + 1 : len;
}

/*
 * Refuses patterns that regcomp could turn into huge automata (glibc copies
 * the repeated part for '+' and for bounds, so nested repetitions
 * multiply): back-references, a repetition of a repetition ("a+*"), and
 * patterns whose repetition factors ('+' counts 2, {n,m} the larger bound)
 * multiply to more than JS_REPEAT_MAX, nested or not.
 */
static int jc_pattern_check(jc *c, const char *p, size_t len)
{
    if (len > JS_PATTERN_MAX)
        return jc_fail(c, HS_ERR_LIMIT, "a pattern is at most %s bytes", "256");
    if (memchr(p, '\0', len) != NULL)
        return jc_fail(c, HS_ERR_SCHEMA, "a pattern cannot contain NUL");
    double product = 1;
    bool after_repeat = false;
    for (size_t i = 0; i < len; i++) {
        bool repeat = p[i] == '*' || p[i] == '+' || p[i] == '?' || p[i] == '{';
        if (repeat && after_repeat)
            return jc_fail(c, HS_ERR_SCHEMA,
                           "a repetition cannot be repeated ('a+*', 'a{2}+'); use a group");
        after_repeat = repeat;
        if (p[i] == '\\' && i + 1 < len) {
            if (p[i + 1] >= '1' && p[i + 1] <= '9')
                return jc_fail(c, HS_ERR_SCHEMA, "back-references are not supported");
            i++;
        } else if (p[i] == '[') {
            i = bracket_end(p, len, i) - 1;
        } else if (p[i] == '+') {
            product *= 2;
        } else if (p[i] == '{') {
            double lo = 0, hi = 0;
            bool second = false;
            size_t k = i + 1;
            for (; k < len && p[k] != '}'; k++) {
                if (p[k] == ',')
                    second = true;
                else if (p[k] >= '0' && p[k] <= '9') {
                    double *d = second ? &hi : &lo;
                    *d = *d * 10 + (p[k] - '0');
                    if (*d > JS_REPEAT_MAX)
                        *d = JS_REPEAT_MAX + 1;
                }
            }
            i = k < len ? k : len - 1; /* the bound is one repetition: on to its '}' */
            double b = hi > lo ? hi : lo;
            product *= b < 1 ? 1 : b;
        }
        if (product > JS_REPEAT_MAX)
            return jc_fail(c, HS_ERR_LIMIT,
                           "the repetitions of a pattern multiply to more than %s ('+' counts "
                           "2, {n,m} the larger bound)",
                           "1000");
    }
    return HS_OK;
}

static int jc_pattern(jc *c, const hs_value *v, js_node *n)
{
    if (v->type != HS_V_STR)
        return jc_fail(c, HS_ERR_SCHEMA, "must be a string");
    int rc = jc_pattern_check(c, v->u.s, v->len);
    if (rc != HS_OK)
        return rc;
    char text[JS_PATTERN_MAX + 1];
    memcpy(text, v->u.s, v->len);
    text[v->len] = '\0';
    regex_t *re = hs_arena_alloc(&c->s->arena, sizeof *re);
    if (re == NULL)
        return node_fail_alloc(c);
    int e = regcomp(re, text, REG_EXTENDED | REG_NOSUB);
    if (e != 0) {
        char why[200];
        regerror(e, re, why, sizeof why);
        return jc_fail(c, HS_ERR_SCHEMA, "invalid POSIX extended regular expression: %s", why);
    }
    n->re = re;
    n->pat = v;
    return HS_OK;
}

static int jc_required(jc *c, const hs_value *v)
{
    if (v->type != HS_V_ARRAY)
        return jc_fail(c, HS_ERR_SCHEMA, "must be an array of strings");
    for (uint32_t i = 0; i < v->len; i++) {
        if (v->u.items[i].type != HS_V_STR)
            return jc_fail(c, HS_ERR_SCHEMA, "must be an array of strings");
        for (uint32_t k = 0; k < i; k++)
            if (hs_value_equal(&v->u.items[k], &v->u.items[i]))
                return jc_fail(c, HS_ERR_SCHEMA, "a name is given twice");
    }
    return HS_OK;
}

static int jc_props(jc *c, const hs_value *v, int depth, js_node *n)
{
    if (v->type != HS_V_MAP)
        return jc_fail(c, HS_ERR_SCHEMA, "must be an object of schemas");
    n->props = hs_arena_alloc(&c->s->arena, (v->len ? v->len : 1) * sizeof *n->props);
    if (n->props == NULL)
        return node_fail_alloc(c);
    n->nprops = v->len;
    size_t mark = c->ptr.len;
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_value *k = &v->u.items[2 * i];
        n->props[i].name = k->u.s;
        n->props[i].len = k->len;
        ptr_push(&c->ptr, k->u.s, k->len);
        int rc = jc_sub(c, &v->u.items[2 * i + 1], depth, &n->props[i].schema);
        if (rc != HS_OK)
            return rc;
        c->ptr.len = mark;
    }
    return HS_OK;
}

static int jc_ref(jc *c, const hs_value *v, js_node *n)
{
    if (v->type != HS_V_STR)
        return jc_fail(c, HS_ERR_SCHEMA, "must be a string");
    if (key_is(v, "#")) {
        n->ref = c->s->root;
        return HS_OK;
    }
    static const char pre[] = "#/$defs/";
    size_t pl = sizeof pre - 1;
    if (v->len > pl && memcmp(v->u.s, pre, pl) == 0 && c->defs != NULL) {
        for (uint32_t i = 0; i < c->defs->len; i++) {
            const hs_value *k = &c->defs->u.items[2 * i];
            if (k->len == v->len - pl && memcmp(k->u.s, v->u.s + pl, k->len) == 0) {
                n->ref = c->def_nodes[i];
                return HS_OK;
            }
        }
    }
    char shown[160];
    snprintf(shown, sizeof shown, "%.*s", v->len > 100 ? 100 : (int)v->len, v->u.s);
    return jc_fail(c, HS_ERR_SCHEMA,
                   "$ref '%s' is not \"#\" or \"#/$defs/<name>\" of a name in the root's $defs",
                   shown);
}

static bool is_annotation(const hs_value *k)
{
    static const char *const names[] = {"$schema", "$id",      "title",   "description",
                                        "default", "examples", "$comment"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (key_is(k, names[i]))
            return true;
    return false;
}

/* Compiles the keyword k with value v into n; the pointer names the keyword. */
static int jc_keyword(jc *c, const hs_value *k, const hs_value *v, int depth, js_node *n)
{
    const hs_value **num = NULL;
    int64_t *count = NULL;
    if (key_is(k, "type"))
        return jc_type(c, v, &n->types);
    if (key_is(k, "enum")) {
        if (v->type != HS_V_ARRAY || v->len == 0)
            return jc_fail(c, HS_ERR_SCHEMA, "must be a non-empty array");
        n->enumv = v;
        return HS_OK;
    }
    if (key_is(k, "const")) {
        n->constv = v;
        return HS_OK;
    }
    if (key_is(k, "minimum"))
        num = &n->min;
    else if (key_is(k, "maximum"))
        num = &n->max;
    else if (key_is(k, "exclusiveMinimum"))
        num = &n->xmin;
    else if (key_is(k, "exclusiveMaximum"))
        num = &n->xmax;
    else if (key_is(k, "multipleOf"))
        num = &n->mult;
    if (num != NULL) {
        if (!is_number(v))
            return jc_fail(c, HS_ERR_SCHEMA, "must be a number");
        if (num == &n->mult &&
            !((v->type == HS_V_INT && v->u.i > 0) || (v->type == HS_V_FLOAT && v->u.f > 0)))
            return jc_fail(c, HS_ERR_SCHEMA, "must be greater than 0");
        *num = v;
        return HS_OK;
    }
    if (key_is(k, "minLength"))
        count = &n->min_len;
    else if (key_is(k, "maxLength"))
        count = &n->max_len;
    else if (key_is(k, "minItems"))
        count = &n->min_items;
    else if (key_is(k, "maxItems"))
        count = &n->max_items;
    else if (key_is(k, "minProperties"))
        count = &n->min_props;
    else if (key_is(k, "maxProperties"))
        count = &n->max_props;
    if (count != NULL)
        return get_count(c, v, count);
    if (key_is(k, "pattern"))
        return jc_pattern(c, v, n);
    if (key_is(k, "required")) {
        int rc = jc_required(c, v);
        if (rc == HS_OK)
            n->required = v;
        return rc;
    }
    if (key_is(k, "properties"))
        return jc_props(c, v, depth, n);
    if (key_is(k, "additionalProperties"))
        return jc_sub(c, v, depth, &n->addl);
    if (key_is(k, "items"))
        return jc_sub(c, v, depth, &n->items);
    if (key_is(k, "not"))
        return jc_sub(c, v, depth, &n->not_);
    if (key_is(k, "allOf"))
        return jc_list(c, v, depth, &n->all);
    if (key_is(k, "anyOf"))
        return jc_list(c, v, depth, &n->any);
    if (key_is(k, "oneOf"))
        return jc_list(c, v, depth, &n->one);
    if (key_is(k, "$ref"))
        return jc_ref(c, v, n);
    if (key_is(k, "$defs"))
        return jc_fail(c, HS_ERR_SCHEMA, "$defs is allowed at the root only");
    if (is_annotation(k))
        return HS_OK;
    char shown[160];
    snprintf(shown, sizeof shown, "%.*s", k->len > 100 ? 100 : (int)k->len, k->u.s);
    return jc_fail(c, HS_ERR_SCHEMA, "unknown keyword '%s' (see docs/SCHEMAS.md)", shown);
}

/* Fills n from the schema value sv. */
static int jc_fill(jc *c, const hs_value *sv, int depth, js_node *n, bool root)
{
    if (depth > HS_MP_MAX_DEPTH)
        return jc_fail(c, HS_ERR_LIMIT, "the schema nests more than %s deep", "64");
    if (sv->type == HS_V_BOOL) {
        n->is_bool = true;
        n->bool_val = sv->u.b;
        return HS_OK;
    }
    if (sv->type != HS_V_MAP)
        return jc_fail(c, HS_ERR_SCHEMA, "a schema must be an object or a boolean");
    size_t mark = c->ptr.len;
    for (uint32_t i = 0; i < sv->len; i++) {
        const hs_value *k = &sv->u.items[2 * i];
        if (root && key_is(k, "$defs"))
            continue; /* compiled by hs_jschema_compile */
        ptr_push(&c->ptr, k->u.s, k->len);
        /* A keyword given twice (msgpack allows it) is ambiguous: which one holds? */
        for (uint32_t p = 0; p < i; p++) {
            const hs_value *q = &sv->u.items[2 * p];
            if (q->len == k->len && memcmp(q->u.s, k->u.s, k->len) == 0)
                return jc_fail(c, HS_ERR_SCHEMA, "the keyword is given twice");
        }
        int rc = jc_keyword(c, k, &sv->u.items[2 * i + 1], depth, n);
        if (rc != HS_OK)
            return rc;
        c->ptr.len = mark;
    }
    return HS_OK;
}

static int jc_node(jc *c, const hs_value *sv, int depth, js_node **out)
{
    js_node *n = node_new(c);
    if (n == NULL)
        return node_fail_alloc(c);
    *out = n;
    return jc_fill(c, sv, depth, n, false);
}

void hs_jschema_destroy(hs_jschema *s)
{
    if (s == NULL)
        return;
    for (js_node *n = s->nodes; n != NULL; n = n->next)
        if (n->re != NULL)
            regfree(n->re);
    hs_arena_free(&s->arena);
    hs_free(s);
}

int hs_jschema_compile(hs_jschema **out, const hs_value *sv, hs_buf *err)
{
    if (out == NULL || sv == NULL)
        return HS_ERR_INVAL;
    *out = NULL;
    hs_jschema *s = hs_calloc(1, sizeof *s);
    if (s == NULL)
        return HS_ERR_NOMEM;
    hs_arena_init(&s->arena, 16 * 1024, 0);
    jc c = {.s = s, .err = err};
    hs_buf_init(&c.ptr, 4096);
    int rc = HS_OK;
    const hs_value *copy = hs_value_clone(&s->arena, sv);
    if (copy == NULL)
        rc = jc_fail(&c, HS_ERR_NOMEM, "out of memory");
    if (rc == HS_OK && (s->root = node_new(&c)) == NULL)
        rc = node_fail_alloc(&c);
    /* The nodes of $defs exist before anything is compiled, so $refs can point to them. */
    const hs_value *defs = rc == HS_OK ? hs_value_map_get(copy, "$defs", 5) : NULL;
    if (defs != NULL && defs->type != HS_V_MAP) {
        ptr_push(&c.ptr, "$defs", 5);
        rc = jc_fail(&c, HS_ERR_SCHEMA, "must be an object of schemas");
    } else if (defs != NULL) {
        c.defs = defs;
        c.def_nodes = hs_arena_alloc(&s->arena, (defs->len ? defs->len : 1) * sizeof(js_node *));
        if (c.def_nodes == NULL)
            rc = node_fail_alloc(&c);
        for (uint32_t i = 0; rc == HS_OK && i < defs->len; i++)
            if ((c.def_nodes[i] = node_new(&c)) == NULL)
                rc = node_fail_alloc(&c);
        for (uint32_t i = 0; rc == HS_OK && i < defs->len; i++) {
            const hs_value *k = &defs->u.items[2 * i];
            c.ptr.len = 0;
            ptr_push(&c.ptr, "$defs", 5);
            ptr_push(&c.ptr, k->u.s, k->len);
            rc = jc_fill(&c, &defs->u.items[2 * i + 1], 2, c.def_nodes[i], false);
        }
        c.ptr.len = 0;
    }
    if (rc == HS_OK)
        rc = jc_fill(&c, copy, 1, s->root, true);
    hs_buf_free(&c.ptr);
    if (rc != HS_OK) {
        hs_jschema_destroy(s);
        return rc;
    }
    *out = s;
    return HS_OK;
}

int hs_jschema_compile_text(hs_jschema **out, const char *text, size_t len, const char *name,
                            hs_buf *err)
{
    if (out == NULL || text == NULL)
        return HS_ERR_INVAL;
    *out = NULL;
    const char *shown = name != NULL ? name : "<schema>";
    hs_ynode *root = NULL;
    hs_buf mp, msg;
    hs_buf_init(&mp, 0);
    hs_buf_init(&msg, 0);
    hs_arena a;
    hs_arena_init(&a, 0, 0);
    hs_value *v = NULL;
    int rc = hs_yaml_parse(text, len, shown, &root, &msg);
    if (rc == HS_OK)
        rc = hs_ynode_to_mpack(root, &mp, &msg);
    if (rc == HS_OK) {
        rc = hs_value_decode(&a, mp.data, mp.len, &v);
        if (rc != HS_OK)
            (void)hs_buf_printf(&msg, "%s: %s", shown, hs_err_detail());
    }
    if (rc == HS_OK) {
        rc = hs_jschema_compile(out, v, &msg);
        if (rc != HS_OK) {
            /* Prefix the schema's name. */
            hs_buf named;
            hs_buf_init(&named, 0);
            (void)hs_buf_printf(&named, "%s: %s", shown, hs_buf_cstr(&msg));
            hs_buf_reset(&msg);
            (void)hs_buf_append(&msg, named.data, named.len);
            hs_buf_free(&named);
        }
    }
    if (rc != HS_OK) {
        if (err != NULL) {
            hs_buf_reset(err);
            (void)hs_buf_append(err, msg.data, msg.len);
        }
        rc = hs_err_set(rc, "%s", hs_buf_cstr(&msg));
    }
    hs_arena_free(&a);
    hs_buf_free(&mp);
    hs_buf_free(&msg);
    hs_yaml_destroy(root);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Validating
 */

typedef struct jv {
    hs_buf ptr;   /* JSON pointer of the value being checked */
    hs_buf msg;   /* the first failure's message */
    long steps;   /* subschemas visited */
    bool quiet;   /* inside anyOf/oneOf/not: no message needed */
    bool aborted; /* the step budget ran out: the value is invalid whatever happens */
} jv;

/* JSON text of v for messages, shortened. */
static void shown_value(const hs_value *v, char *out, size_t cap)
{
    hs_buf b;
    hs_buf_init(&b, 4096);
    if (hs_value_to_json(v, &b) != HS_OK || hs_buf_error(&b) != HS_OK)
        snprintf(out, cap, "(value)");
    else if (b.len > 60)
        snprintf(out, cap, "%.57s...", hs_buf_cstr(&b));
    else
        snprintf(out, cap, "%s", hs_buf_cstr(&b));
    hs_buf_free(&b);
}

/* Records a failure of value x (unless quiet): "<pointer>: <shown x> <text>". */
static bool jv_fail(jv *j, const hs_value *x, const char *text)
{
    if (j->quiet || j->msg.len > 0)
        return false;
    char shown[80];
    if (x != NULL)
        shown_value(x, shown, sizeof shown);
    (void)hs_buf_printf(&j->msg, "%s: %s%s%s", j->ptr.len ? hs_buf_cstr(&j->ptr) : "(value)",
                        x != NULL ? shown : "", x != NULL ? " " : "", text);
    return false;
}

static unsigned type_of(const hs_value *x)
{
    switch (x->type) {
    case HS_V_NIL:
        return JT_NULL;
    case HS_V_BOOL:
        return JT_BOOL;
    case HS_V_INT:
        return JT_INT | JT_NUM;
    case HS_V_FLOAT:
        return isfinite(x->u.f) && floor(x->u.f) == x->u.f ? JT_INT | JT_NUM : JT_NUM;
    case HS_V_STR:
        return JT_STR;
    case HS_V_ARRAY:
        return JT_ARR;
    case HS_V_MAP:
        return JT_OBJ;
    default:
        return 0; /* bin: no JSON type */
    }
}

/* Numeric value as long double: exact for every int64 and every double. */
static long double num_ld(const hs_value *x)
{
    return x->type == HS_V_INT ? (long double)x->u.i : (long double)x->u.f;
}

/* JSON equality: numbers by value, objects without regard to key order. */
static bool json_equal(const hs_value *a, const hs_value *b)
{
    bool an = a->type == HS_V_INT || a->type == HS_V_FLOAT;
    bool bn = b->type == HS_V_INT || b->type == HS_V_FLOAT;
    if (an && bn)
        return num_ld(a) == num_ld(b);
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case HS_V_ARRAY:
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!json_equal(&a->u.items[i], &b->u.items[i]))
                return false;
        return true;
    case HS_V_MAP:
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++) {
            const hs_value *k = &a->u.items[2 * i];
            const hs_value *o = hs_value_map_get(b, k->u.s, k->len);
            if (o == NULL || !json_equal(&a->u.items[2 * i + 1], o))
                return false;
        }
        return true;
    default:
        return hs_value_equal(a, b);
    }
}

static size_t code_points(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

static bool multiple_of(const hs_value *x, const hs_value *m)
{
    if (x->type == HS_V_INT && m->type == HS_V_INT)
        return x->u.i % m->u.i == 0;
    double xv = x->type == HS_V_INT ? (double)x->u.i : x->u.f;
    double mv = m->type == HS_V_INT ? (double)m->u.i : m->u.f;
    double q = xv / mv;
    if (!isfinite(q))
        return false;
    return fabs(q - nearbyint(q)) <= 1e-9 * fmax(1.0, fabs(q));
}

/* 1 when re matches somewhere in s[0..len), 0 when not, -1 out of memory. */
static int regex_search(const regex_t *re, const char *s, size_t len)
{
    char stack[512];
    char *text = len < sizeof stack ? stack : hs_malloc(len + 1);
    if (text == NULL)
        return -1;
    memcpy(text, s, len);
    text[len] = '\0';
    regmatch_t m[1] = {{0, (regoff_t)len}};
#ifdef REG_STARTEND
    int e = regexec(re, text, 1, m, REG_STARTEND);
#else
    int e = regexec(re, text, 0, m, 0);
#endif
    if (text != stack)
        hs_free(text);
    return e == 0 ? 1 : e == REG_ESPACE ? -1 : 0;
}

static bool jv_node(jv *j, const js_node *n, const hs_value *x, int depth);

/* Checks x against a subschema reached through a child of x (key or index pushed). */
static bool jv_child(jv *j, const js_node *n, const hs_value *x, int depth)
{
    return jv_node(j, n, x, depth + 1);
}

static bool jv_numbers(jv *j, const js_node *n, const hs_value *x)
{
    char t[200], lim[80];
    long double v = num_ld(x);
    if (x->type == HS_V_FLOAT && isnan(x->u.f) &&
        (n->min || n->max || n->xmin || n->xmax || n->mult))
        return jv_fail(j, x, "is not a number that can be compared (NaN)");
    if (n->min && v < num_ld(n->min)) {
        shown_value(n->min, lim, sizeof lim);
        snprintf(t, sizeof t, "is less than minimum %s", lim);
        return jv_fail(j, x, t);
    }
    if (n->max && v > num_ld(n->max)) {
        shown_value(n->max, lim, sizeof lim);
        snprintf(t, sizeof t, "is greater than maximum %s", lim);
        return jv_fail(j, x, t);
    }
    if (n->xmin && v <= num_ld(n->xmin)) {
        shown_value(n->xmin, lim, sizeof lim);
        snprintf(t, sizeof t, "is less than or equal to exclusiveMinimum %s", lim);
        return jv_fail(j, x, t);
    }
    if (n->xmax && v >= num_ld(n->xmax)) {
        shown_value(n->xmax, lim, sizeof lim);
        snprintf(t, sizeof t, "is greater than or equal to exclusiveMaximum %s", lim);
        return jv_fail(j, x, t);
    }
    if (n->mult && !multiple_of(x, n->mult)) {
        shown_value(n->mult, lim, sizeof lim);
        snprintf(t, sizeof t, "is not a multiple of %s (multipleOf)", lim);
        return jv_fail(j, x, t);
    }
    return true;
}

static bool jv_string(jv *j, const js_node *n, const hs_value *x)
{
    char t[400];
    if (n->min_len >= 0 || n->max_len >= 0) {
        size_t cp = code_points(x->u.s, x->len);
        if (n->min_len >= 0 && cp < (uint64_t)n->min_len) {
            snprintf(t, sizeof t, "has %zu characters, fewer than minLength %lld", cp,
                     (long long)n->min_len);
            return jv_fail(j, x, t);
        }
        if (n->max_len >= 0 && cp > (uint64_t)n->max_len) {
            snprintf(t, sizeof t, "has %zu characters, more than maxLength %lld", cp,
                     (long long)n->max_len);
            return jv_fail(j, x, t);
        }
    }
    int found = n->re != NULL ? regex_search(n->re, x->u.s, x->len) : 1;
    if (found < 0)
        return jv_fail(j, x, "could not be checked against its pattern: out of memory");
    if (found == 0) {
        char pat[80];
        shown_value(n->pat, pat, sizeof pat);
        snprintf(t, sizeof t, "does not match pattern %s", pat);
        return jv_fail(j, x, t);
    }
    return true;
}

static bool jv_object(jv *j, const js_node *n, const hs_value *x, int depth)
{
    char t[400];
    if (n->min_props >= 0 && x->len < (uint64_t)n->min_props) {
        snprintf(t, sizeof t, "has %u properties, fewer than minProperties %lld", (unsigned)x->len,
                 (long long)n->min_props);
        return jv_fail(j, NULL, t);
    }
    if (n->max_props >= 0 && x->len > (uint64_t)n->max_props) {
        snprintf(t, sizeof t, "has %u properties, more than maxProperties %lld", (unsigned)x->len,
                 (long long)n->max_props);
        return jv_fail(j, NULL, t);
    }
    for (uint32_t i = 0; n->required != NULL && i < n->required->len; i++) {
        const hs_value *r = &n->required->u.items[i];
        if (hs_value_map_get(x, r->u.s, r->len) == NULL) {
            snprintf(t, sizeof t, "required property \"%.*s\" is missing",
                     r->len > 100 ? 100 : (int)r->len, r->u.s);
            return jv_fail(j, NULL, t);
        }
    }
    if (n->nprops == 0 && n->addl == NULL)
        return true;
    size_t mark = j->ptr.len;
    for (uint32_t i = 0; i < x->len; i++) {
        const hs_value *k = &x->u.items[2 * i];
        const js_node *sub = n->addl;
        bool declared = false;
        for (uint32_t p = 0; p < n->nprops; p++)
            if (n->props[p].len == k->len && memcmp(n->props[p].name, k->u.s, k->len) == 0) {
                sub = n->props[p].schema;
                declared = true;
                break;
            }
        if (sub == NULL)
            continue;
        if (!declared && sub->is_bool && !sub->bool_val) {
            snprintf(t, sizeof t, "property \"%.*s\" is not allowed by additionalProperties",
                     k->len > 100 ? 100 : (int)k->len, k->u.s);
            return jv_fail(j, NULL, t);
        }
        ptr_push(&j->ptr, k->u.s, k->len);
        bool ok = jv_child(j, sub, &x->u.items[2 * i + 1], depth);
        j->ptr.len = mark;
        if (!ok)
            return false;
    }
    return true;
}

static bool jv_array(jv *j, const js_node *n, const hs_value *x, int depth)
{
    char t[200];
    if (n->min_items >= 0 && x->len < (uint64_t)n->min_items) {
        snprintf(t, sizeof t, "has %u items, fewer than minItems %lld", (unsigned)x->len,
                 (long long)n->min_items);
        return jv_fail(j, NULL, t);
    }
    if (n->max_items >= 0 && x->len > (uint64_t)n->max_items) {
        snprintf(t, sizeof t, "has %u items, more than maxItems %lld", (unsigned)x->len,
                 (long long)n->max_items);
        return jv_fail(j, NULL, t);
    }
    if (n->items == NULL)
        return true;
    size_t mark = j->ptr.len;
    for (uint32_t i = 0; i < x->len; i++) {
        ptr_push_index(&j->ptr, i);
        bool ok = jv_child(j, n->items, &x->u.items[i], depth);
        j->ptr.len = mark;
        if (!ok)
            return false;
    }
    return true;
}

/* Runs sub quietly (no message); aborted propagates through the caller's check. */
static bool jv_quiet(jv *j, const js_node *sub, const hs_value *x, int depth)
{
    bool was = j->quiet;
    j->quiet = true;
    bool ok = jv_node(j, sub, x, depth + 1);
    j->quiet = was;
    return ok;
}

static bool jv_combinators(jv *j, const js_node *n, const hs_value *x, int depth)
{
    char t[200];
    for (uint32_t i = 0; i < n->all.len; i++)
        if (!jv_node(j, n->all.n[i], x, depth + 1))
            return false;
    if (n->any.len > 0) {
        bool any = false;
        for (uint32_t i = 0; !any && !j->aborted && i < n->any.len; i++)
            any = jv_quiet(j, n->any.n[i], x, depth);
        if (j->aborted)
            return false;
        if (!any) {
            snprintf(t, sizeof t, "matches none of the %u schemas of anyOf", (unsigned)n->any.len);
            return jv_fail(j, x, t);
        }
    }
    if (n->one.len > 0) {
        unsigned hits = 0;
        for (uint32_t i = 0; hits < 2 && !j->aborted && i < n->one.len; i++)
            hits += jv_quiet(j, n->one.n[i], x, depth) ? 1u : 0u;
        if (j->aborted)
            return false;
        if (hits != 1) {
            if (hits == 0)
                snprintf(t, sizeof t, "matches none of the %u schemas of oneOf",
                         (unsigned)n->one.len);
            else
                snprintf(t, sizeof t, "matches more than one schema of oneOf");
            return jv_fail(j, x, t);
        }
    }
    if (n->not_ != NULL) {
        bool hit = jv_quiet(j, n->not_, x, depth);
        if (j->aborted)
            return false;
        if (hit)
            return jv_fail(j, x, "matches the schema of not");
    }
    return true;
}

static bool jv_node(jv *j, const js_node *n, const hs_value *x, int depth)
{
    if (j->aborted)
        return false;
    if (++j->steps > HS_JSCHEMA_MAX_STEPS || depth > 4 * HS_MP_MAX_DEPTH) {
        j->aborted = true;
        hs_buf_reset(&j->msg);
        (void)hs_buf_printf(&j->msg,
                            "%s: validation stopped: the schema needs more than %d steps or "
                            "nests its $refs too deep for this value",
                            j->ptr.len ? hs_buf_cstr(&j->ptr) : "(value)", HS_JSCHEMA_MAX_STEPS);
        return false;
    }
    if (n->is_bool)
        return n->bool_val ? true : jv_fail(j, x, "is not allowed here (schema false)");
    unsigned tx = type_of(x);
    if (n->types != 0 && (n->types & tx) == 0) {
        char t[200] = "is not of type ";
        bool first = true;
        for (size_t k = 0; k < sizeof js_types / sizeof js_types[0]; k++)
            if (n->types & js_types[k].bit) {
                strcat(t, first ? "" : " or ");
                strcat(t, js_types[k].name);
                first = false;
            }
        return jv_fail(j, x, t);
    }
    if (n->constv != NULL && !json_equal(x, n->constv)) {
        char t[200], c[80];
        shown_value(n->constv, c, sizeof c);
        snprintf(t, sizeof t, "is not equal to const %s", c);
        return jv_fail(j, x, t);
    }
    if (n->enumv != NULL) {
        bool found = false;
        for (uint32_t i = 0; !found && i < n->enumv->len; i++)
            found = json_equal(x, &n->enumv->u.items[i]);
        if (!found)
            return jv_fail(j, x, "is not one of the values of enum");
    }
    bool ok = true;
    if (tx & JT_NUM)
        ok = jv_numbers(j, n, x);
    else if (tx & JT_STR)
        ok = jv_string(j, n, x);
    else if (tx & JT_OBJ)
        ok = jv_object(j, n, x, depth);
    else if (tx & JT_ARR)
        ok = jv_array(j, n, x, depth);
    if (!ok)
        return false;
    if (!jv_combinators(j, n, x, depth))
        return false;
    if (n->ref != NULL && !jv_node(j, n->ref, x, depth + 1))
        return false;
    return true;
}

int hs_jschema_validate(const hs_jschema *s, const hs_value *v, const char *where, hs_buf *err)
{
    if (s == NULL || v == NULL)
        return HS_ERR_INVAL;
    jv j = {0};
    hs_buf_init(&j.ptr, 0);
    hs_buf_init(&j.msg, 0);
    if (where != NULL)
        (void)hs_buf_puts(&j.ptr, where);
    bool ok = jv_node(&j, s->root, v, 0);
    int rc = HS_OK;
    if (!ok) {
        rc = hs_buf_error(&j.ptr) != HS_OK ? hs_buf_error(&j.ptr) : hs_buf_error(&j.msg);
        if (rc == HS_OK)
            rc = HS_ERR_SCHEMA;
        if (err != NULL) {
            hs_buf_reset(err);
            if (hs_buf_append(err, j.msg.data, j.msg.len) != HS_OK)
                rc = hs_buf_error(err);
        }
        rc = hs_err_set(rc, "%s", hs_buf_cstr(&j.msg));
    }
    hs_buf_free(&j.ptr);
    hs_buf_free(&j.msg);
    return rc;
}

int hs_jschema_validate_mpack(const hs_jschema *s, const uint8_t *mp, size_t len, const char *where,
                              hs_arena *scratch, hs_buf *err)
{
    if (s == NULL || mp == NULL || scratch == NULL)
        return HS_ERR_INVAL;
    hs_arena_reset(scratch);
    hs_value *v = NULL;
    int rc = hs_value_decode(scratch, mp, len, &v);
    if (rc != HS_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: cannot be checked: %s", where ? where : "(value)",
                 hs_err_detail());
        if (err != NULL) {
            hs_buf_reset(err);
            (void)hs_buf_puts(err, msg);
        }
        return hs_err_set(HS_ERR_SCHEMA, "%s", msg);
    }
    return hs_jschema_validate(s, v, where, err);
}
