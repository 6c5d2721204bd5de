#include "hs_config.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_time.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Largest config file read; anything bigger is a mistake, not a config. */
#define HS__CFG_FILE_MAX (1024 * 1024)
/* Longest setting name or value echoed in an error detail. */
#define HS__CFG_ECHO_MAX 64

/* Access to a field of the config struct. */
#define HS__CFG_FIELD(cfg, it, type) ((type *)(void *)((char *)(cfg) + (it)->offset))
#define HS__CFG_CFIELD(cfg, it, type)                                                              \
    ((const type *)(const void *)((const char *)(cfg) + (it)->offset))

static bool hs__cfg_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static char hs__cfg_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char hs__cfg_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Case-insensitive comparison of s[0..len) with the NUL-terminated word. */
static bool hs__cfg_word_eq(const char *s, size_t len, const char *word)
{
    size_t i = 0;
    for (; i < len && word[i] != '\0'; i++) {
        if (hs__cfg_lower(s[i]) != word[i])
            return false;
    }
    return i == len && word[i] == '\0';
}

static const hs_cfg_item *hs__cfg_find(const hs_cfg_item *table, const char *name, size_t len)
{
    for (const hs_cfg_item *it = table; it->name != NULL; it++) {
        if (strlen(it->name) == len && memcmp(it->name, name, len) == 0)
            return it;
    }
    return NULL;
}

/* Parses an optional sign and decimal digits into an int64. */
static int hs__cfg_parse_int(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (i == len)
        return HS_ERR_PARSE;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    bool overflow = false;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return HS_ERR_PARSE;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    if (overflow)
        return HS_ERR_RANGE;
    /* The negation runs in uint64 so that INT64_MIN needs no special case. */
    *out = neg ? (int64_t)(0u - v) : (int64_t)v;
    return HS_OK;
}

static int hs__cfg_parse_bool(const char *s, size_t len, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (hs__cfg_word_eq(s, len, yes[i])) {
            *out = true;
            return HS_OK;
        }
        if (hs__cfg_word_eq(s, len, no[i])) {
            *out = false;
            return HS_OK;
        }
    }
    return HS_ERR_PARSE;
}

static int hs__cfg_parse_size_n(const char *s, size_t len, int64_t *out)
{
    int64_t mult = 1;
    if (len > 0) {
        switch (hs__cfg_lower(s[len - 1])) {
        case 'k':
            mult = 1024;
            len--;
            break;
        case 'm':
            mult = 1024 * 1024;
            len--;
            break;
        case 'g':
            mult = 1024 * 1024 * 1024;
            len--;
            break;
        default:
            break;
        }
    }
    if (len == 0)
        return HS_ERR_PARSE;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return HS_ERR_PARSE;
    }
    int64_t v;
    int rc = hs__cfg_parse_int(s, len, &v);
    if (rc != HS_OK)
        return rc;
    if (v > INT64_MAX / mult)
        return HS_ERR_RANGE;
    *out = v * mult;
    return HS_OK;
}

int hs_config_parse_size(const char *s, int64_t *out)
{
    if (s == NULL || out == NULL)
        return HS_ERR_INVAL;
    return hs__cfg_parse_size_n(s, strlen(s), out);
}

/* Writes the text of an error detail's value: the value, shortened, or "***" for a secret. */
static const char *hs__cfg_echo(const hs_cfg_item *it, const char *value, char *buf, size_t cap)
{
    if (it->secret)
        return "***";
    size_t len = strlen(value);
    if (len <= HS__CFG_ECHO_MAX)
        snprintf(buf, cap, "'%s'", value);
    else
        snprintf(buf, cap, "'%.*s...'", HS__CFG_ECHO_MAX, value);
    return buf;
}

/*
 * Validates value for item it and, when store is set, writes it into cfg.
 * With store unset only the validation runs, which cannot fail for strings.
 * On failure cfg is unchanged and the detail names the setting.
 */
static int hs__cfg_assign(const hs_cfg_item *it, void *cfg, const char *value, bool store)
{
    char echo[HS__CFG_ECHO_MAX + 8];
    if (it->type == HS_CFG_STR) {
        if (!store)
            return HS_OK;
        char *dup = hs_strdup(value);
        if (dup == NULL)
            return hs_err_set(HS_ERR_NOMEM, "setting '%s': out of memory", it->name);
        char **field = HS__CFG_FIELD(cfg, it, char *);
        hs_free(*field);
        *field = dup;
        return HS_OK;
    }

    /* Every other type ignores surrounding blanks. */
    const char *s = value;
    size_t len = strlen(s);
    while (len > 0 && hs__cfg_is_blank(*s)) {
        s++;
        len--;
    }
    while (len > 0 && hs__cfg_is_blank(s[len - 1]))
        len--;

    int64_t i64 = 0;
    bool b = false;
    int rc;
    switch (it->type) {
    case HS_CFG_INT:
        rc = hs__cfg_parse_int(s, len, &i64);
        if (rc == HS_ERR_RANGE)
            return hs_err_set(HS_ERR_CONFIG, "setting '%s': %s is out of range of a 64-bit integer",
                              it->name, hs__cfg_echo(it, value, echo, sizeof echo));
        if (rc != HS_OK)
            return hs_err_set(HS_ERR_CONFIG, "setting '%s': %s is not an integer", it->name,
                              hs__cfg_echo(it, value, echo, sizeof echo));
        if (store)
            *HS__CFG_FIELD(cfg, it, int64_t) = i64;
        return HS_OK;
    case HS_CFG_BOOL:
        if (hs__cfg_parse_bool(s, len, &b) != HS_OK)
            return hs_err_set(HS_ERR_CONFIG,
                              "setting '%s': %s is not a boolean (true/false, yes/no, on/off, 1/0)",
                              it->name, hs__cfg_echo(it, value, echo, sizeof echo));
        if (store)
            *HS__CFG_FIELD(cfg, it, bool) = b;
        return HS_OK;
    case HS_CFG_DURATION:
        rc = hs_duration_parse(s, len, &i64);
        if (rc == HS_ERR_RANGE)
            return hs_err_set(HS_ERR_CONFIG, "setting '%s': duration %s is out of range", it->name,
                              hs__cfg_echo(it, value, echo, sizeof echo));
        if (rc != HS_OK)
            return hs_err_set(HS_ERR_CONFIG,
                              "setting '%s': %s is not a duration (e.g. 250ms, 5s, 1h30m)",
                              it->name, hs__cfg_echo(it, value, echo, sizeof echo));
        if (store)
            *HS__CFG_FIELD(cfg, it, int64_t) = i64;
        return HS_OK;
    case HS_CFG_SIZE:
        rc = hs__cfg_parse_size_n(s, len, &i64);
        if (rc == HS_ERR_RANGE)
            return hs_err_set(HS_ERR_CONFIG, "setting '%s': size %s is out of range", it->name,
                              hs__cfg_echo(it, value, echo, sizeof echo));
        if (rc != HS_OK)
            return hs_err_set(HS_ERR_CONFIG,
                              "setting '%s': %s is not a size (bytes with an optional k, M or G "
                              "suffix)",
                              it->name, hs__cfg_echo(it, value, echo, sizeof echo));
        if (store)
            *HS__CFG_FIELD(cfg, it, int64_t) = i64;
        return HS_OK;
    case HS_CFG_STR:
        break;
    }
    return hs_err_set(HS_ERR_INVAL, "setting '%s': unknown type %d", it->name, (int)it->type);
}

int hs_config_defaults(const hs_cfg_item *table, void *cfg)
{
    if (table == NULL || cfg == NULL)
        return HS_ERR_INVAL;
    /* Null every string first so that a failure part-way can free safely. */
    for (const hs_cfg_item *it = table; it->name != NULL; it++) {
        if (it->type == HS_CFG_STR)
            *HS__CFG_FIELD(cfg, it, char *) = NULL;
    }
    for (const hs_cfg_item *it = table; it->name != NULL; it++) {
        int rc;
        if (it->def == NULL && it->type != HS_CFG_STR) {
            if (it->type == HS_CFG_BOOL)
                *HS__CFG_FIELD(cfg, it, bool) = false;
            else
                *HS__CFG_FIELD(cfg, it, int64_t) = 0;
            continue;
        }
        rc = hs__cfg_assign(it, cfg, it->def != NULL ? it->def : "", true);
        if (rc != HS_OK) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s", hs_err_detail());
            hs_config_free(table, cfg);
            return hs_err_set(rc, "default of %s", detail);
        }
    }
    return HS_OK;
}

/*
 * Copies a quoted value that starts after the opening quote at s[0..len)
 * into out, undoing escapes. *used receives the bytes consumed including the
 * closing quote. The error detail has no location; the caller adds it.
 */
static int hs__cfg_unquote(const hs_cfg_item *it, const char *s, size_t len, hs_buf *out,
                           size_t *used)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '"') {
            *used = i + 1;
            return HS_OK;
        }
        if (c == '\\') {
            if (i + 1 == len)
                break;
            char e = s[++i];
            switch (e) {
            case '"':
            case '\\':
                c = e;
                break;
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            default:
                if (e >= 0x20 && e < 0x7f)
                    return hs_err_set(HS_ERR_CONFIG,
                                      "setting '%s': unknown escape '\\%c' in quoted value",
                                      it->name, e);
                return hs_err_set(HS_ERR_CONFIG, "setting '%s': unknown escape in quoted value",
                                  it->name);
            }
        }
        if (hs_buf_putc(out, (uint8_t)c) != HS_OK)
            return hs_err_set(HS_ERR_NOMEM, "setting '%s': out of memory", it->name);
    }
    return hs_err_set(HS_ERR_CONFIG, "setting '%s': quoted value has no closing quote", it->name);
}

/*
 * Parses one line (without its line end) and, when it is a setting,
 * validates it and with store set applies it. Details have no location.
 */
static int hs__cfg_line(const hs_cfg_item *table, void *cfg, const char *line, size_t len,
                        bool store, hs_buf *scratch)
{
    if (memchr(line, '\0', len) != NULL)
        return hs_err_set(HS_ERR_CONFIG, "contains a NUL byte");
    const char *p = line;
    const char *end = line + len;
    while (p < end && hs__cfg_is_blank(*p))
        p++;
    if (p == end || *p == '#')
        return HS_OK;

    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (eq == NULL) {
        const char *e = end;
        while (e > p && hs__cfg_is_blank(e[-1]))
            e--;
        size_t n = (size_t)(e - p);
        return hs_err_set(HS_ERR_CONFIG, "'%.*s%s' has no '=' (expected name = value)",
                          (int)(n > HS__CFG_ECHO_MAX ? HS__CFG_ECHO_MAX : n), p,
                          n > HS__CFG_ECHO_MAX ? "..." : "");
    }
    const char *name_end = eq;
    while (name_end > p && hs__cfg_is_blank(name_end[-1]))
        name_end--;
    size_t name_len = (size_t)(name_end - p);
    if (name_len == 0)
        return hs_err_set(HS_ERR_CONFIG, "missing setting name before '='");
    const hs_cfg_item *it = hs__cfg_find(table, p, name_len);
    if (it == NULL)
        return hs_err_set(HS_ERR_CONFIG, "unknown setting '%.*s%s'",
                          (int)(name_len > HS__CFG_ECHO_MAX ? HS__CFG_ECHO_MAX : name_len), p,
                          name_len > HS__CFG_ECHO_MAX ? "..." : "");

    const char *v = eq + 1;
    while (v < end && hs__cfg_is_blank(*v))
        v++;
    hs_buf_reset(scratch);
    if (v < end && *v == '"') {
        size_t used = 0;
        int rc = hs__cfg_unquote(it, v + 1, (size_t)(end - v - 1), scratch, &used);
        if (rc != HS_OK)
            return rc;
        const char *rest = v + 1 + used;
        while (rest < end && hs__cfg_is_blank(*rest))
            rest++;
        if (rest < end && *rest != '#')
            return hs_err_set(HS_ERR_CONFIG, "setting '%s': text after the closing quote",
                              it->name);
    } else {
        /* A '#' at the start of the value or after a blank starts a comment. */
        const char *ve = v;
        while (ve < end && !(*ve == '#' && (ve == v || hs__cfg_is_blank(ve[-1]))))
            ve++;
        while (ve > v && hs__cfg_is_blank(ve[-1]))
            ve--;
        if (hs_buf_append(scratch, v, (size_t)(ve - v)) != HS_OK)
            return hs_err_set(HS_ERR_NOMEM, "setting '%s': out of memory", it->name);
    }
    const char *value = hs_buf_cstr(scratch);
    if (scratch->data == NULL)
        return hs_err_set(HS_ERR_NOMEM, "setting '%s': out of memory", it->name);
    return hs__cfg_assign(it, cfg, value, store);
}

int hs_config_load_text(const hs_cfg_item *table, void *cfg, const char *text, size_t len,
                        const char *name)
{
    if (table == NULL || cfg == NULL || (text == NULL && len > 0) || name == NULL)
        return HS_ERR_INVAL;
    if (len > HS__CFG_FILE_MAX)
        return hs_err_set(HS_ERR_CONFIG, "%s: larger than %d bytes", name, HS__CFG_FILE_MAX);
    hs_buf scratch;
    hs_buf_init(&scratch, 0);
    int rc = HS_OK;
    const char *data = len > 0 ? text : "";
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    /* Pass 0 validates every line, pass 1 applies them, so a bad file changes nothing. */
    for (int pass = 0; pass < 2 && rc == HS_OK; pass++) {
        size_t pos = 0;
        unsigned line_no = 0;
        while (pos < len) {
            line_no++;
            const char *line = data + pos;
            const char *nl = memchr(line, '\n', len - pos);
            size_t line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
            pos += line_len + (nl != NULL ? 1 : 0);
            if (line_len > 0 && line[line_len - 1] == '\r')
                line_len--;
            rc = hs__cfg_line(table, cfg, line, line_len, pass == 1, &scratch);
            if (rc != HS_OK) {
                char detail[512];
                snprintf(detail, sizeof detail, "%s", hs_err_detail());
                rc = hs_err_set(rc, "%s:%u: %s", name, line_no, detail);
                break;
            }
        }
    }
    hs_buf_free(&scratch);
    return rc;
}

int hs_config_load_file(const hs_cfg_item *table, void *cfg, const char *path)
{
    if (table == NULL || cfg == NULL || path == NULL)
        return HS_ERR_INVAL;
    hs_buf text;
    hs_buf_init(&text, HS__CFG_FILE_MAX);
    int rc = hs_buf_read_file(&text, path);
    if (rc == HS_ERR_LIMIT)
        rc = HS_ERR_CONFIG; /* the detail says which file and its bound */
    if (rc == HS_OK)
        rc = hs_config_load_text(table, cfg, (const char *)text.data, text.len, path);
    hs_buf_free(&text);
    return rc;
}

/* The item named by an environment entry "HS_<NAME>=value", or NULL. */
static const hs_cfg_item *hs__cfg_env_item(const hs_cfg_item *table, const char *entry,
                                           const char **value)
{
    if (strncmp(entry, "HS_", 3) != 0)
        return NULL;
    const char *key = entry + 3;
    const char *eq = strchr(key, '=');
    if (eq == NULL)
        return NULL;
    size_t key_len = (size_t)(eq - key);
    for (const hs_cfg_item *it = table; it->name != NULL; it++) {
        size_t i = 0;
        while (i < key_len && it->name[i] != '\0' && hs__cfg_upper(it->name[i]) == key[i])
            i++;
        if (i == key_len && it->name[i] == '\0') {
            *value = eq + 1;
            return it;
        }
    }
    return NULL;
}

int hs_config_load_env(const hs_cfg_item *table, void *cfg, char *const *envp)
{
    if (table == NULL || cfg == NULL)
        return HS_ERR_INVAL;
    if (envp == NULL)
        return HS_OK;
    /* Pass 0 validates, pass 1 applies, as for files. */
    for (int pass = 0; pass < 2; pass++) {
        for (char *const *e = envp; *e != NULL; e++) {
            const char *value = NULL;
            const hs_cfg_item *it = hs__cfg_env_item(table, *e, &value);
            if (it == NULL)
                continue;
            int rc = hs__cfg_assign(it, cfg, value, pass == 1);
            if (rc != HS_OK) {
                char detail[512];
                snprintf(detail, sizeof detail, "%s", hs_err_detail());
                return hs_err_set(rc, "%.*s: %s", (int)(value - 1 - *e), *e, detail);
            }
        }
    }
    return HS_OK;
}

int hs_config_set(const hs_cfg_item *table, void *cfg, const char *name, const char *value)
{
    if (table == NULL || cfg == NULL || name == NULL || value == NULL)
        return HS_ERR_INVAL;
    const hs_cfg_item *it = hs__cfg_find(table, name, strlen(name));
    if (it == NULL)
        return hs_err_set(HS_ERR_CONFIG, "unknown setting '%.*s'", HS__CFG_ECHO_MAX, name);
    return hs__cfg_assign(it, cfg, value, true);
}

int hs_config_set_pair(const hs_cfg_item *table, void *cfg, const char *pair)
{
    if (table == NULL || cfg == NULL || pair == NULL)
        return HS_ERR_INVAL;
    const char *eq = strchr(pair, '=');
    if (eq == NULL)
        return hs_err_set(HS_ERR_CONFIG, "'%.*s' has no '=' (expected name=value)",
                          HS__CFG_ECHO_MAX, pair);
    const char *p = pair;
    const char *name_end = eq;
    while (p < name_end && hs__cfg_is_blank(*p))
        p++;
    while (name_end > p && hs__cfg_is_blank(name_end[-1]))
        name_end--;
    size_t name_len = (size_t)(name_end - p);
    if (name_len == 0)
        return hs_err_set(HS_ERR_CONFIG, "missing setting name before '='");
    const hs_cfg_item *it = hs__cfg_find(table, p, name_len);
    if (it == NULL)
        return hs_err_set(HS_ERR_CONFIG, "unknown setting '%.*s'",
                          (int)(name_len > HS__CFG_ECHO_MAX ? HS__CFG_ECHO_MAX : name_len), p);
    return hs__cfg_assign(it, cfg, eq + 1, true);
}

/* Appends a size with the largest suffix that represents it exactly. */
static int hs__cfg_format_size(int64_t v, hs_buf *out)
{
    static const struct {
        int64_t mult;
        char suffix;
    } units[] = {{1024LL * 1024 * 1024, 'G'}, {1024LL * 1024, 'M'}, {1024, 'k'}};
    if (v > 0) {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (v % units[i].mult == 0)
                return hs_buf_printf(out, "%lld%c", (long long)(v / units[i].mult),
                                     units[i].suffix);
        }
    }
    return hs_buf_printf(out, "%lld", (long long)v);
}

static int hs__cfg_format(const hs_cfg_item *it, const void *cfg, hs_buf *out)
{
    char dur[HS_DURATION_MAX];
    switch (it->type) {
    case HS_CFG_STR: {
        const char *s = *HS__CFG_CFIELD(cfg, it, char *);
        return hs_buf_puts(out, s != NULL ? s : "");
    }
    case HS_CFG_INT:
        return hs_buf_printf(out, "%lld", (long long)*HS__CFG_CFIELD(cfg, it, int64_t));
    case HS_CFG_BOOL:
        return hs_buf_puts(out, *HS__CFG_CFIELD(cfg, it, bool) ? "true" : "false");
    case HS_CFG_DURATION:
        hs_duration_format(*HS__CFG_CFIELD(cfg, it, int64_t), dur);
        return hs_buf_puts(out, dur);
    case HS_CFG_SIZE:
        return hs__cfg_format_size(*HS__CFG_CFIELD(cfg, it, int64_t), out);
    }
    return HS_ERR_INVAL;
}

int hs_config_get(const hs_cfg_item *table, const void *cfg, const char *name, hs_buf *out)
{
    if (table == NULL || cfg == NULL || name == NULL || out == NULL)
        return HS_ERR_INVAL;
    const hs_cfg_item *it = hs__cfg_find(table, name, strlen(name));
    if (it == NULL)
        return hs_err_set(HS_ERR_NOTFOUND, "unknown setting '%.*s'", HS__CFG_ECHO_MAX, name);
    return hs__cfg_format(it, cfg, out);
}

/* True when s must be quoted to read back unchanged from a config file. */
static bool hs__cfg_needs_quotes(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || hs__cfg_is_blank(s[0]) || hs__cfg_is_blank(s[len - 1]) || s[0] == '"')
        return true;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '#' || s[i] == '\n' || s[i] == '\r')
            return true;
    }
    return false;
}

static int hs__cfg_put_quoted(const char *s, hs_buf *out)
{
    int rc = hs_buf_putc(out, '"');
    for (; rc == HS_OK && *s != '\0'; s++) {
        switch (*s) {
        case '"':
            rc = hs_buf_puts(out, "\\\"");
            break;
        case '\\':
            rc = hs_buf_puts(out, "\\\\");
            break;
        case '\n':
            rc = hs_buf_puts(out, "\\n");
            break;
        case '\t':
            rc = hs_buf_puts(out, "\\t");
            break;
        case '\r':
            rc = hs_buf_puts(out, "\\r");
            break;
        default:
            rc = hs_buf_putc(out, (uint8_t)*s);
            break;
        }
    }
    if (rc == HS_OK)
        rc = hs_buf_putc(out, '"');
    return rc;
}

int hs_config_print(const hs_cfg_item *table, const void *cfg, hs_buf *out)
{
    if (table == NULL || cfg == NULL || out == NULL)
        return HS_ERR_INVAL;
    for (const hs_cfg_item *it = table; it->name != NULL; it++) {
        int rc = hs_buf_printf(out, "%s = ", it->name);
        if (rc == HS_OK) {
            if (it->secret) {
                rc = hs_buf_puts(out, "***");
            } else if (it->type == HS_CFG_STR) {
                const char *s = *HS__CFG_CFIELD(cfg, it, char *);
                if (s == NULL)
                    s = "";
                rc = hs__cfg_needs_quotes(s) ? hs__cfg_put_quoted(s, out) : hs_buf_puts(out, s);
            } else {
                rc = hs__cfg_format(it, cfg, out);
            }
        }
        if (rc == HS_OK)
            rc = hs_buf_putc(out, '\n');
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}

void hs_config_free(const hs_cfg_item *table, void *cfg)
{
    if (table == NULL || cfg == NULL)
        return;
    for (const hs_cfg_item *it = table; it->name != NULL; it++) {
        if (it->type == HS_CFG_STR) {
            char **field = HS__CFG_FIELD(cfg, it, char *);
            hs_free(*field);
            *field = NULL;
        }
    }
}

int hs_config_join(hs_cfg_item **out, const hs_cfg_item *first, size_t first_offset,
                   const hs_cfg_item *second)
{
    if (out == NULL || first == NULL || second == NULL)
        return HS_ERR_INVAL;
    *out = NULL;
    size_t n1 = 0, n2 = 0;
    while (first[n1].name != NULL)
        n1++;
    while (second[n2].name != NULL) {
        if (hs__cfg_find(first, second[n2].name, strlen(second[n2].name)) != NULL)
            return hs_err_set(HS_ERR_CONFIG, "setting '%s' is declared twice", second[n2].name);
        n2++;
    }
    hs_cfg_item *t = hs_calloc(n1 + n2 + 1, sizeof *t);
    if (t == NULL)
        return HS_ERR_NOMEM;
    for (size_t i = 0; i < n1; i++) {
        t[i] = first[i];
        t[i].offset += first_offset;
    }
    memcpy(t + n1, second, n2 * sizeof *t);
    /* The terminator: calloc left t[n1 + n2] all zero, name NULL. */
    *out = t;
    return HS_OK;
}
