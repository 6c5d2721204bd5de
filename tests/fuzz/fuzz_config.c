/*
 * Fuzz target: the config file parser. Any input is applied as a config
 * file to a table with one setting of every type (and two secrets):
 * - a rejected file leaves every setting as it was, names the file and a
 *   line that exists, and never echoes the value of a secret setting;
 * - an accepted file gives settings that survive hs_config_print read back
 *   as a file (secrets, printed as ***, left out), and hs_config_get read
 *   back with hs_config_set.
 *
 * The input reaches the parser through hs_config_load_text, the function
 * hs_config_load_file applies a file's contents with.
 */
#include "hs_buf.h"
#include "hs_config.h"
#include "hs_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_cfg {
    char *url;
    char *label;
    char *password;
    int64_t count;
    int64_t pin;
    bool verbose;
    int64_t interval_us;
    int64_t max_bytes;
} fz_cfg;

static const hs_cfg_item table[] = {
    {"broker_url", HS_CFG_STR, "mqtt://127.0.0.1:1883", offsetof(fz_cfg, url), false, "url"},
    {"label", HS_CFG_STR, NULL, offsetof(fz_cfg, label), false, "a label"},
    {"password", HS_CFG_STR, "hunter2", offsetof(fz_cfg, password), true, "a secret text"},
    {"count", HS_CFG_INT, "-12", offsetof(fz_cfg, count), false, "an integer"},
    {"pin", HS_CFG_INT, "1234", offsetof(fz_cfg, pin), true, "a secret integer"},
    {"verbose", HS_CFG_BOOL, "no", offsetof(fz_cfg, verbose), false, "a boolean"},
    {"interval", HS_CFG_DURATION, "1h30m", offsetof(fz_cfg, interval_us), false, "a duration"},
    {"max_bytes", HS_CFG_SIZE, "64k", offsetof(fz_cfg, max_bytes), false, "a size"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* Applies text as a config file named *name (set here). */
static int load(fz_cfg *c, const char *text, size_t len, const char **name)
{
    *name = "fuzz.conf";
    return hs_config_load_text(table, c, text, len, *name);
}

/* Every setting's text (secrets included), one per line, into out. */
static void snapshot(const fz_cfg *c, hs_buf *out)
{
    hs_buf_reset(out);
    for (const hs_cfg_item *it = table; it->name != NULL; it++) {
        check(hs_config_get(table, c, it->name, out) == HS_OK);
        check(hs_buf_putc(out, '\0') == HS_OK);
    }
}

static bool same(const hs_buf *a, const hs_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Whether a detail quotes text of more than two characters (an echoed value). */
static bool quotes_text(const char *s)
{
    const char *open = strchr(s, '\'');
    while (open != NULL) {
        const char *close = strchr(open + 1, '\'');
        if (close == NULL)
            return false;
        if (close - open - 1 > 2)
            return true;
        open = strchr(close + 1, '\'');
    }
    return false;
}

static void check_rejected(const char *name, const char *text, size_t len)
{
    const char *d = hs_err_detail();
    size_t nlen = strlen(name);
    check(strncmp(d, name, nlen) == 0 && d[nlen] == ':');
    if (len > 1024 * 1024 && strncmp(d + nlen + 1, " larger than", 12) == 0)
        return;
    /* The line named exists. */
    char *end = NULL;
    unsigned long line = strtoul(d + nlen + 1, &end, 10);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    check(end != d + nlen + 1 && *end == ':' && line >= 1 && line <= lines);
    /* A message about a secret setting starts "setting 'name':" after the location. */
    const char *msg = end + 1;
    while (*msg == ' ')
        msg++;
    static const char *const secrets[] = {"setting 'password':", "setting 'pin':"};
    for (size_t i = 0; i < 2; i++) {
        if (strncmp(msg, secrets[i], strlen(secrets[i])) == 0)
            check(!quotes_text(msg + strlen(secrets[i])));
    }
}

/* Drops the lines of secrets (printed as ***) from a printed config. */
static void drop_secret_lines(const hs_buf *in, hs_buf *out)
{
    const char *p = (const char *)in->data;
    const char *end = p + in->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        if (strncmp(p, "password = ", 11) != 0 && strncmp(p, "pin = ", 6) != 0)
            check(hs_buf_append(out, p, n) == HS_OK);
        p += n;
    }
}

static void check_accepted(const fz_cfg *c)
{
    hs_buf printed, text, s1, s2, one;
    hs_buf_init(&printed, 0);
    hs_buf_init(&text, 0);
    hs_buf_init(&s1, 0);
    hs_buf_init(&s2, 0);
    hs_buf_init(&one, 0);

    /* Printed, read back over the defaults: same settings apart from the secrets. */
    check(hs_config_print(table, c, &printed) == HS_OK);
    drop_secret_lines(&printed, &text);
    fz_cfg c2;
    check(hs_config_defaults(table, &c2) == HS_OK);
    const char *name;
    const char *t = text.len > 0 ? (const char *)text.data : "";
    check(load(&c2, t, text.len, &name) == HS_OK);
    hs_buf printed2;
    hs_buf_init(&printed2, 0);
    check(hs_config_print(table, &c2, &printed2) == HS_OK);
    check(same(&printed, &printed2));
    hs_buf_free(&printed2);
    hs_config_free(table, &c2);

    /* Every setting's text set again gives the same settings. */
    fz_cfg c3;
    check(hs_config_defaults(table, &c3) == HS_OK);
    for (const hs_cfg_item *it = table; it->name != NULL; it++) {
        hs_buf_reset(&one);
        check(hs_config_get(table, c, it->name, &one) == HS_OK);
        check(hs_config_set(table, &c3, it->name, hs_buf_cstr(&one)) == HS_OK);
    }
    snapshot(c, &s1);
    snapshot(&c3, &s2);
    check(same(&s1, &s2));
    hs_config_free(table, &c3);

    hs_buf_free(&printed);
    hs_buf_free(&text);
    hs_buf_free(&s1);
    hs_buf_free(&s2);
    hs_buf_free(&one);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_cfg c;
    check(hs_config_defaults(table, &c) == HS_OK);
    hs_buf before, after;
    hs_buf_init(&before, 0);
    hs_buf_init(&after, 0);
    snapshot(&c, &before);

    const char *name;
    int rc = load(&c, (const char *)data, size, &name);
    check(rc == HS_OK || rc == HS_ERR_CONFIG);
    if (rc != HS_OK) {
        check_rejected(name, (const char *)data, size);
        snapshot(&c, &after);
        check(same(&before, &after));
    } else {
        check(c.url != NULL && c.label != NULL && c.password != NULL);
        check(c.max_bytes >= 0);
        check_accepted(&c);
    }
    hs_config_free(table, &c);
    check(c.url == NULL && c.label == NULL && c.password == NULL);
    hs_buf_free(&before);
    hs_buf_free(&after);
    return 0;
}
