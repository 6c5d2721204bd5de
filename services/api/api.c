/*
 * hs-api's HTTP side: settings, accounts, the daemon, request bodies, the
 * router, the answers every handler uses, the store pool and the
 * dashboard's static files.
 */
#include "api.h"

#include "apicore.h"
#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_form.h"
#include "hs_json.h"
#include "hs_log.h"
#include "hs_time.h"
#include "hs_tool.h"
#include "tools.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const hs_cfg_item api_cfg_table[] = {
    {"http_port", HS_CFG_INT, "8180", offsetof(api_cfg, http_port), false,
     "HTTP port of the API and the dashboard"},
    {"http_bind", HS_CFG_STR, "127.0.0.1", offsetof(api_cfg, http_bind), false,
     "address the HTTP port listens on (another than loopback needs accounts_file)"},
    {"accounts_file", HS_CFG_STR, "", offsetof(api_cfg, accounts_file), false,
     "accounts, lines name:role:sha256-hex-of-secret (role device, reader or admin); \"\": "
     "every request is admin (loopback only)"},
    {"tls_cert_file", HS_CFG_STR, "", offsetof(api_cfg, tls_cert_file), false,
     "PEM certificate: HTTPS (with tls_key_file)"},
    {"tls_key_file", HS_CFG_STR, "", offsetof(api_cfg, tls_key_file), false, "PEM private key"},
    {"max_body_bytes", HS_CFG_SIZE, "32M", offsetof(api_cfg, max_body_bytes), false,
     "largest request body (413 beyond)"},
    {"max_connections", HS_CFG_INT, "256", offsetof(api_cfg, max_connections), false,
     "connections served at once"},
    {"store_handles", HS_CFG_INT, "8", offsetof(api_cfg, store_handles), false,
     "read-only store handles (requests reading the store at once)"},
    {"write_timeout", HS_CFG_DURATION, "30s", offsetof(api_cfg, write_timeout_us), false,
     "how long a write waits for the writer to commit (503 beyond)"},
    {"request_timeout", HS_CFG_DURATION, "15s", offsetof(api_cfg, request_timeout_us), false,
     "how long a request to the scheduler waits for its reply"},
    {"scheduler_id", HS_CFG_STR, "scheduler", offsetof(api_cfg, scheduler_id), false,
     "service id of the scheduler"},
    {"prom_lookback", HS_CFG_DURATION, "5m", offsetof(api_cfg, prom_lookback_us), false,
     "Prometheus API: how long a sample stays the current value"},
    {"prom_max_points", HS_CFG_INT, "11000", offsetof(api_cfg, prom_max_points), false,
     "Prometheus API: most points of one series in one query_range"},
    {"web_dir", HS_CFG_STR, "", offsetof(api_cfg, web_dir), false,
     "directory of the dashboard's files (\"\": none; hsctl up sets it)"},
    {"dead_keep", HS_CFG_INT, "1000", offsetof(api_cfg, dead_keep), false,
     "dead letters kept for GET /api/v1/dead"},
    {"schemas", HS_CFG_STR, "", offsetof(api_cfg, schemas), false,
     "input schemas file checked against every reading written over HTTP, as ingest's "
     "(docs/SCHEMAS.md; the workflows' schemas apply too)"},
    {NULL, HS_CFG_STR, NULL, 0, false, NULL},
};

/* ------------------------------------------------------------------ accounts */

static void sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 32;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
        memset(out, 0, 32);
}

static api_role role_parse(const char *s)
{
    if (strcmp(s, "device") == 0)
        return API_ROLE_DEVICE;
    if (strcmp(s, "reader") == 0)
        return API_ROLE_READER;
    if (strcmp(s, "admin") == 0)
        return API_ROLE_ADMIN;
    return API_ROLE_NONE;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Reads the accounts file: lines name:role:sha256hex; # comments and blank lines skipped. */
static int accounts_load(api *a, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return hs_err_set(HS_ERR_CONFIG, "accounts_file %s: %s", path, strerror(errno));
    char line[1024];
    int lineno = 0, rc = HS_OK;
    while (rc == HS_OK && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char *c1 = strchr(line, ':');
        char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        api_role role = API_ROLE_NONE;
        if (c2 != NULL) {
            *c1 = *c2 = '\0';
            role = role_parse(c1 + 1);
        }
        const char *hex = c2 != NULL ? c2 + 1 : "";
        bool ok = c1 != NULL && c1 != line && role != API_ROLE_NONE && strlen(hex) == 64;
        uint8_t h[32];
        for (size_t i = 0; ok && i < 32; i++) {
            int hi = hexval((unsigned char)hex[2 * i]), lo = hexval((unsigned char)hex[2 * i + 1]);
            ok = hi >= 0 && lo >= 0;
            h[i] = (uint8_t)(hi * 16 + lo);
        }
        if (!ok) {
            rc = hs_err_set(HS_ERR_CONFIG,
                            "accounts_file %s line %d: want name:role:sha256-hex (role device, "
                            "reader or admin; hex of 64 digits: printf %%s SECRET | sha256sum)",
                            path, lineno);
            break;
        }
        api_account *na = hs_realloc(a->accounts, (a->naccounts + 1) * sizeof *na);
        if (na == NULL) {
            rc = HS_ERR_NOMEM;
            break;
        }
        a->accounts = na;
        api_account *ac = &a->accounts[a->naccounts];
        ac->name = hs_strdup(line);
        ac->role = role;
        memcpy(ac->sha256, h, 32);
        if (ac->name == NULL)
            rc = HS_ERR_NOMEM;
        else
            a->naccounts++;
    }
    fclose(f);
    if (rc == HS_OK && a->naccounts == 0)
        rc = hs_err_set(HS_ERR_CONFIG, "accounts_file %s holds no account", path);
    return rc;
}

/* The account whose secret is secret (and, when name is not NULL, whose name is name). */
static const api_account *account_find(const api *a, const char *name, const char *secret)
{
    uint8_t h[32];
    sha256(secret, strlen(secret), h);
    const api_account *found = NULL;
    for (size_t i = 0; i < a->naccounts; i++)
        if (CRYPTO_memcmp(h, a->accounts[i].sha256, 32) == 0 &&
            (name == NULL || strcmp(name, a->accounts[i].name) == 0))
            found = &a->accounts[i];
    return found;
}

/*
 * The role of a request: admin without accounts; otherwise from
 * "Authorization: Bearer|Token SECRET" or basic auth (name, secret).
 */
static api_role request_role(api *a, struct MHD_Connection *conn)
{
    if (a->naccounts == 0)
        return API_ROLE_ADMIN;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (h != NULL) {
        const char *secret = NULL;
        if (strncasecmp(h, "Bearer ", 7) == 0)
            secret = h + 7;
        else if (strncasecmp(h, "Token ", 6) == 0)
            secret = h + 6;
        if (secret != NULL) {
            while (*secret == ' ')
                secret++;
            const api_account *ac = account_find(a, NULL, secret);
            return ac != NULL ? ac->role : API_ROLE_NONE;
        }
    }
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &pass);
    api_role role = API_ROLE_NONE;
    if (user != NULL && pass != NULL) {
        const api_account *ac = account_find(a, user, pass);
        role = ac != NULL ? ac->role : API_ROLE_NONE;
    }
    MHD_free(user);
    MHD_free(pass);
    return role;
}

/* ------------------------------------------------------------------ answers */

void api_send(api_req *r, unsigned status, const char *type, const void *body, size_t len)
{
    if (r->queued)
        return;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    r->queued = true;
    r->mhd_rc = MHD_NO;
    if (resp == NULL)
        return;
    if (type != NULL)
        (void)MHD_add_response_header(resp, "Content-Type", type);
    (void)MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (status == MHD_HTTP_UNAUTHORIZED)
        (void)MHD_add_response_header(resp, "WWW-Authenticate", "Basic realm=\"hyperstream\"");
    r->mhd_rc = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
}

void api_send_json(api_req *r, unsigned status, const hs_buf *json)
{
    api_send(r, status, "application/json", json->data, json->len);
}

void api_answer_json(api_req *r, int rc, const hs_buf *json)
{
    if (rc == HS_OK)
        api_send_json(r, 200, json);
    else
        api_error(r, 500, "out of memory");
}

void api_error_obj(api_req *r, unsigned status, const char *members, const char *key,
                   const char *msg)
{
    hs_buf b;
    hs_buf_init(&b, 0);
    if (hs_buf_printf(&b, "{%s\"%s\":", members, key) == HS_OK &&
        hs_json_put_string(&b, msg, strlen(msg)) == HS_OK && hs_buf_puts(&b, "}\n") == HS_OK)
        api_send_json(r, status, &b);
    else
        api_send(r, 500, "text/plain", "out of memory\n", 14);
    hs_buf_free(&b);
}

void api_error(api_req *r, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hs_strvfmt(fmt, ap);
    va_end(ap);
    api_error_obj(r, status, "", "error", msg != NULL ? msg : "out of memory");
    hs_free(msg);
}

typedef struct stream_ctx {
    api_fill_fn fill;
    void (*done)(void *ud);
    void *ud;
} stream_ctx;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_ctx *c = cls;
    return c->fill(c->ud, pos, buf, max);
}

static void stream_free(void *cls)
{
    stream_ctx *c = cls;
    if (c->done != NULL)
        c->done(c->ud);
    hs_free(c);
}

void api_send_stream(api_req *r, unsigned status, const char *type, api_fill_fn fill,
                     void (*done)(void *ud), void *ud)
{
    stream_ctx *c = r->queued ? NULL : hs_malloc(sizeof *c);
    if (c == NULL) {
        if (done != NULL)
            done(ud);
        api_error(r, 500, "out of memory");
        return;
    }
    *c = (stream_ctx){fill, done, ud};
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                                  stream_reader, c, stream_free);
    r->queued = true;
    r->mhd_rc = MHD_NO;
    if (resp == NULL) {
        stream_free(c);
        return;
    }
    (void)MHD_add_response_header(resp, "Content-Type", type);
    (void)MHD_add_response_header(resp, "Cache-Control", "no-store");
    r->mhd_rc = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
}

/* ------------------------------------------------------------------ parameters */

/* The pairs of a form body (application/x-www-form-urlencoded), decoded beside the body. */
int api_form_parse(api_req *r)
{
    const char *type = api_header(r, "Content-Type");
    if (r->nform > 0 || type == NULL ||
        strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0)
        return HS_OK;
    return hs_form_parse((const char *)r->body.data, r->body.len, &r->form, &r->nform);
}

const char *api_header(api_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *api_param(api_req *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    if (v != NULL)
        return v;
    return hs_form_get(&r->form, r->nform, name);
}

typedef struct each_ctx {
    const char *name;
    void (*fn)(void *ud, const char *v);
    void *ud;
} each_ctx;

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    each_ctx *c = cls;
    if (key != NULL && strcmp(key, c->name) == 0)
        c->fn(c->ud, value != NULL ? value : "");
    return MHD_YES;
}

void api_params_each(api_req *r, const char *name, void (*fn)(void *ud, const char *v), void *ud)
{
    each_ctx c = {name, fn, ud};
    (void)MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, &c);
    for (size_t i = 0; i < r->nform; i++) {
        const char *val;
        if (strcmp(hs_form_pair(&r->form, r->nform, i, &val), name) == 0)
            fn(ud, val);
    }
}

bool api_time_param(api_req *r, const char *name, int64_t dflt, int64_t *out)
{
    const char *v = api_param(r, name);
    if (v == NULL || v[0] == '\0') {
        *out = dflt;
        return true;
    }
    if (hs_time_parse_user(v, strlen(v), hs_time_now_us(), out) != HS_OK) {
        api_error(r, 400, "%s=%s is not a time (ISO-8601, epoch seconds, now, -1h): %s", name, v,
                  hs_err_detail());
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ store pool */

hs_store *api_store_get(api_req *r)
{
    api *a = r->a;
    pthread_mutex_lock(&a->pool_mu);
    struct timespec dl = hs_time_deadline_after(a->cfg->request_timeout_us);
    hs_store *s = NULL;
    bool open_new = false;
    for (;;) {
        if (a->stopping)
            break;
        if (a->pool_free > 0) {
            s = a->pool[--a->pool_free];
            break;
        }
        if (a->pool_open < a->npool) {
            a->pool_open++;
            open_new = true;
            break;
        }
        if (pthread_cond_timedwait(&a->pool_cv, &a->pool_mu, &dl) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&a->pool_mu);
    if (open_new) {
        int rc = hs_store_open(&s, a->cfg->common.store_url, HS_STORE_READ);
        if (rc != HS_OK) {
            s = NULL;
            pthread_mutex_lock(&a->pool_mu);
            a->pool_open--;
            pthread_cond_signal(&a->pool_cv);
            pthread_mutex_unlock(&a->pool_mu);
            api_error(r, 503, "cannot open the store: %s", hs_err_detail());
            return NULL;
        }
    }
    if (s == NULL && a->stopping)
        api_error(r, 503, "hs-api is stopping; try again");
    else if (s == NULL)
        api_error(r, 503, "every store handle is busy; try again");
    return s;
}

void api_store_put(api *a, hs_store *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&a->pool_mu);
    a->pool[a->pool_free++] = s;
    pthread_cond_signal(&a->pool_cv);
    pthread_mutex_unlock(&a->pool_mu);
}

/* ------------------------------------------------------------------ static files */

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    static const char *const map[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".json", "application/json"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".map", "application/json"},
    };
    for (size_t i = 0; dot != NULL && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(dot, map[i][0]) == 0)
            return map[i][1];
    return "application/octet-stream";
}

/* GET (or HEAD) of a file of web_dir ("/" is index.html); false when the path is not one. */
static bool serve_static(api_req *r)
{
    const char *dir = r->a->cfg->web_dir;
    if (dir[0] == '\0' || (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) ||
        !apic_static_path_ok(r->path) || strncmp(r->path, "/api/", 5) == 0)
        return false;
    char path[PATH_MAX];
    const char *rel = strcmp(r->path, "/") == 0 ? "/index.html" : r->path;
    if ((size_t)snprintf(path, sizeof path, "%s%s", dir, rel) >= sizeof path)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((size_t)st.st_size, fd);
    r->queued = true;
    r->mhd_rc = MHD_NO;
    if (resp == NULL) {
        close(fd);
        return true;
    }
    (void)MHD_add_response_header(resp, "Content-Type", mime_of(path));
    r->mhd_rc = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return true;
}

/* ------------------------------------------------------------------ routing */

/* What a role may do: device only writes, reader only reads, admin all. */
static bool role_allows(api_role role, const api_req *r)
{
    bool write =
        strncmp(r->path, "/api/v1/write", 13) == 0 || strcmp(r->path, "/api/v2/write") == 0;
    bool read =
        strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0 ||
        (strcmp(r->method, "POST") == 0 &&
         (strcmp(r->path, "/api/v1/query") == 0 || strcmp(r->path, "/api/v1/query_range") == 0 ||
          strcmp(r->path, "/api/v1/series") == 0 || strcmp(r->path, "/api/v1/labels") == 0 ||
          strncmp(r->path, "/api/v1/label/", 14) == 0 ||
          strcmp(r->path, "/api/v1/workflows/check") == 0));
    switch (role) {
    case API_ROLE_ADMIN:
        return true;
    case API_ROLE_READER:
        return read && !write;
    case API_ROLE_DEVICE:
        return write;
    default:
        return false;
    }
}

static bool is_health(const api_req *r)
{
    return strcmp(r->path, "/health") == 0 || strcmp(r->path, "/ping") == 0;
}

/*
 * Refuses a request that has no account (401), whose role may not do it
 * (403), or whose body is too large (413; body_len: its Content-Length, 0
 * when not known); true when answered.
 */
static bool refuse(api_req *r, uint64_t body_len)
{
    if (r->role == API_ROLE_NONE) {
        api_error(r, 401, "an account is needed: Authorization: Bearer SECRET, or basic auth");
        return true;
    }
    if (!role_allows(r->role, r)) {
        api_error(r, 403, "this account's role may not %s %s", r->method, r->path);
        return true;
    }
    if (r->body_too_large || body_len > (uint64_t)r->a->cfg->max_body_bytes) {
        char m[120];
        snprintf(m, sizeof m, "the body is larger than max_body_bytes (%lld); send smaller batches",
                 (long long)r->a->cfg->max_body_bytes);
        /* /api/v2/write answers in InfluxDB's shape, as every answer of that path. */
        if (strcmp(r->path, "/api/v2/write") == 0)
            api_error_obj(r, 413, "\"code\":\"request too large\",", "message", m);
        else
            api_error(r, 413, "%s", m);
        return true;
    }
    return false;
}

/*
 * Before the body of a request that has one: refuses it at once when it
 * will be refused anyway, so that the body is not read. libmicrohttpd then
 * skips the body (no "100 Continue") and closes the connection after the
 * answer. True when answered.
 */
static bool refuse_early(api_req *r)
{
    const char *cl = api_header(r, "Content-Length");
    const char *te = api_header(r, "Transfer-Encoding");
    uint64_t len = cl != NULL ? strtoull(cl, NULL, 10) : 0;
    if ((len == 0 && te == NULL) || is_health(r) ||
        (strncmp(r->path, "/api/", 5) != 0 &&
         (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)))
        return false;
    return refuse(r, len);
}

/*
 * Without accounts (every request is admin): refuses, with 403, a request
 * that a web page of another site makes through the user's browser (its
 * Origin) or through a name of its own that resolves to this machine (its
 * Host); true when the request may go on.
 */
static bool local_ok(api_req *r)
{
    if (r->a->naccounts > 0 || is_health(r) ||
        apic_local_request_ok(api_header(r, "Host"), api_header(r, "Origin"), r->a->cfg->http_bind))
        return true;
    api_error(r, 403,
              "without accounts, hs-api answers only this machine's own clients: the Host must be "
              "a loopback address and a browser's Origin this hs-api (a page of another site may "
              "not use it); set accounts_file to serve others (docs/HTTP.md §5)");
    return false;
}

static void route(api_req *r)
{
    /* The dashboard's files and the health check need no account. */
    if (is_health(r)) {
        api_send(r, 200, "text/plain", "ok\n", 3);
        return;
    }
    if (strncmp(r->path, "/api/", 5) != 0 && serve_static(r))
        return;
    if (refuse(r, 0))
        return;
    if (api_write_route(r) || api_prom_route(r) || api_read_route(r) || api_ops_route(r))
        return;
    api_error(r, 404, "no such resource: %s %s (docs/HTTP.md lists them)", r->method, r->path);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    api *a = cls;
    api_req *r = *con_cls;
    if (r == NULL) {
        r = hs_calloc(1, sizeof *r);
        if (r == NULL)
            return MHD_NO;
        r->a = a;
        r->conn = conn;
        r->method = method;
        r->path = url;
        hs_buf_init(&r->body, 0);
        hs_buf_init(&r->form, 0);
        r->role = request_role(a, conn);
        *con_cls = r;
        if (!local_ok(r) || refuse_early(r)) {
            hs_service_counters_get(a->svc)->msgs_in++;
            return r->mhd_rc == MHD_YES ? MHD_YES : MHD_NO;
        }
        return MHD_YES;
    }
    if (r->queued) {
        /* Answered before its body (refused early): whatever comes is not looked at. */
        *upload_size = 0;
        return r->mhd_rc == MHD_YES ? MHD_YES : MHD_NO;
    }
    if (*upload_size > 0) {
        if (!r->body_too_large && r->body.len + *upload_size > (size_t)a->cfg->max_body_bytes)
            r->body_too_large = true;
        /* Without an account nothing is kept: the answer is 401 anyway. */
        if (!r->body_too_large && r->role != API_ROLE_NONE &&
            hs_buf_append(&r->body, upload, *upload_size) != HS_OK)
            r->body_too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    int64_t t0 = hs_time_mono_us();
    route(r);
    hs_service_observe_us(a->svc, hs_time_mono_us() - t0);
    hs_service_counters_get(a->svc)->msgs_in++;
    if (!r->queued)
        api_error(r, 500, "no answer");
    return r->mhd_rc == MHD_YES ? MHD_YES : MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    api_req *r = *con_cls;
    if (r == NULL)
        return;
    hs_buf_free(&r->body);
    hs_buf_free(&r->form);
    hs_free(r);
    *con_cls = NULL;
}

/* ------------------------------------------------------------------ the service */

static bool is_loopback(const char *addr)
{
    return strcmp(addr, "127.0.0.1") == 0 || strncmp(addr, "127.", 4) == 0 ||
           strcmp(addr, "::1") == 0 || strcmp(addr, "localhost") == 0;
}

static int http_start(api *a, hs_buf *cert, hs_buf *key)
{
    const api_cfg *cfg = a->cfg;
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    const struct sockaddr *addr;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    uint16_t port = (uint16_t)cfg->http_port;
    const char *bind = strcmp(cfg->http_bind, "localhost") == 0 ? "127.0.0.1" : cfg->http_bind;
    if (inet_pton(AF_INET, bind, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons(port);
        addr = (const struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, bind, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(port);
        addr = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        return hs_err_set(HS_ERR_CONFIG, "http_bind '%s' is not an IPv4 or IPv6 address", bind);
    }
    bool tls = cfg->tls_cert_file[0] != '\0';
    if (tls)
        flags |= MHD_USE_TLS;
    a->http = MHD_start_daemon(flags, port, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR, addr,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
                               tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
                               tls ? (const char *)cert->data : NULL, MHD_OPTION_HTTPS_MEM_KEY,
                               tls ? (const char *)key->data : NULL, MHD_OPTION_END);
    if (a->http == NULL)
        return hs_err_set(HS_ERR_IO, "cannot serve HTTP%s on %s port %u (in use?)", tls ? "S" : "",
                          bind, (unsigned)port);
    return HS_OK;
}

/* The tool library workflows are read with (GET /api/v1/tools, workflows/check), built once. */
static int tools_load(api *a)
{
    int rc = hs_tool_registry_create(&a->tools);
    if (rc == HS_OK)
        rc = hs_builtin_tools_register(a->tools);
    const char *dir = a->cfg->common.plugin_dir;
    if (rc == HS_OK && dir != NULL && dir[0] != '\0') {
        hs_buf err;
        hs_buf_init(&err, 0);
        (void)hs_tool_registry_load_plugins(a->tools, dir, &err);
        if (err.len > 0)
            hs_warn(hs_service_log(a->svc), "%s", hs_buf_cstr(&err));
        hs_buf_free(&err);
    }
    return rc;
}

int api_create(api **out, hs_service *svc, const api_cfg *cfg)
{
    *out = NULL;
    if (cfg->http_port <= 0 || cfg->http_port > 65535)
        return hs_err_set(HS_ERR_CONFIG, "http_port %lld is not a port", (long long)cfg->http_port);
    if (cfg->store_handles < 1 || cfg->store_handles > 1024 || cfg->max_connections < 1 ||
        cfg->dead_keep < 1 || cfg->prom_max_points < 1)
        return hs_err_set(HS_ERR_CONFIG, "store_handles (1..1024), max_connections, dead_keep and "
                                         "prom_max_points must be positive");
    if ((cfg->tls_cert_file[0] != '\0') != (cfg->tls_key_file[0] != '\0'))
        return hs_err_set(HS_ERR_CONFIG, "HTTPS needs both tls_cert_file and tls_key_file");
    api *a = hs_calloc(1, sizeof *a);
    if (a == NULL)
        return HS_ERR_NOMEM;
    a->svc = svc;
    a->cfg = cfg;
    a->mqtt = hs_service_mqtt(svc);
    pthread_mutex_init(&a->pool_mu, NULL);
    pthread_cond_init(&a->pool_cv, NULL);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    pthread_mutex_init(&a->sub_mu, NULL);
    pthread_mutex_init(&a->schemas_mu, NULL);
    pthread_mutex_init(&a->dead_mu, NULL);
    hs_map_init(&a->status);
    hs_map_init(&a->subscribed);
    apic_copies_init(&a->copies);
    hs_map_init(&a->acks);
    a->npool = (size_t)cfg->store_handles;
    a->pool = hs_calloc(a->npool, sizeof *a->pool);
    a->dead = hs_calloc((size_t)cfg->dead_keep, sizeof *a->dead);
    int rc = a->pool != NULL && a->dead != NULL ? HS_OK : HS_ERR_NOMEM;
    *out = a;
    if (rc == HS_OK && cfg->accounts_file[0] != '\0')
        rc = accounts_load(a, cfg->accounts_file);
    if (rc == HS_OK)
        rc = hs_schemaset_create(&a->schemas);
    if (rc == HS_OK && cfg->schemas[0] != '\0') {
        hs_buf err;
        hs_buf_init(&err, 0);
        rc = hs_schemaset_load_file(a->schemas, cfg->schemas, "config", &err);
        if (rc != HS_OK)
            rc = hs_err_set(HS_ERR_CONFIG, "input schemas: %s", hs_buf_cstr(&err));
        hs_buf_free(&err);
    }
    if (rc == HS_OK && a->naccounts == 0 && !is_loopback(cfg->http_bind))
        rc = hs_err_set(HS_ERR_CONFIG,
                        "http_bind %s is not loopback: set accounts_file (docs/HTTP.md §5)",
                        cfg->http_bind);
    if (rc == HS_OK)
        rc = tools_load(a);
    if (rc != HS_OK)
        return rc;
    /* The write client for HTTP ingest; acknowledgements reach api_bus_ack. */
    hs_wclient_opts wo;
    hs_service_wclient_opts(svc, &wo);
    wo.on_ack = api_bus_ack;
    wo.ud = a;
    rc = hs_wclient_create(&a->wc, &wo);
    if (rc == HS_OK)
        rc = api_bus_start(a);
    hs_buf cert, key;
    hs_buf_init(&cert, 0);
    hs_buf_init(&key, 0);
    if (rc == HS_OK && cfg->tls_cert_file[0] != '\0') {
        /* PEM text, NUL-terminated as libmicrohttpd takes it. */
        rc = hs_buf_read_file(&cert, cfg->tls_cert_file);
        if (rc == HS_OK)
            rc = hs_buf_read_file(&key, cfg->tls_key_file);
        if (rc == HS_OK)
            rc = hs_buf_putc(&cert, '\0');
        if (rc == HS_OK)
            rc = hs_buf_putc(&key, '\0');
        if (rc != HS_OK && rc != HS_ERR_NOMEM)
            rc = HS_ERR_CONFIG; /* the detail names the file */
    }
    if (rc == HS_OK)
        rc = http_start(a, &cert, &key);
    hs_buf_free(&cert);
    hs_buf_free(&key);
    if (rc == HS_OK)
        hs_info(hs_service_log(svc), "HTTP%s on %s:%lld (%s)", cfg->tls_cert_file[0] ? "S" : "",
                cfg->http_bind, (long long)cfg->http_port,
                a->naccounts > 0 ? "accounts required" : "no accounts: every request is admin");
    return rc;
}

int api_run(api *a)
{
    int64_t last_tick = hs_time_mono_us();
    while (hs_service_running(a->svc)) {
        hs_mqtt_msg *m = NULL;
        int rc = hs_mqtt_recv(a->mqtt, &m, 200);
        if (rc == HS_OK) {
            api_bus_on_message(a, m);
            hs_mqtt_msg_free(m);
        } else if (rc == HS_ERR_CLOSED) {
            break;
        }
        int64_t now = hs_time_mono_us();
        if (now - last_tick >= 1000000) {
            api_bus_tick(a);
            last_tick = now;
        }
        hs_service_tick(a->svc);
    }
    return HS_OK;
}

void api_destroy(api *a)
{
    if (a == NULL)
        return;
    /* Handlers waiting (a live stream, a scheduler reply, an acknowledgement) return first:
       MHD_stop_daemon joins their threads. */
    api_bus_stop(a);
    if (a->http != NULL)
        MHD_stop_daemon(a->http);
    hs_wclient_destroy(a->wc);
    api_bus_free(a);
    for (size_t i = 0; i < a->pool_free; i++)
        hs_store_close(a->pool[i]);
    hs_free(a->pool);
    hs_tool_registry_destroy(a->tools);
    for (size_t i = 0; i < a->naccounts; i++)
        hs_free(a->accounts[i].name);
    hs_free(a->accounts);
    pthread_mutex_destroy(&a->pool_mu);
    pthread_cond_destroy(&a->pool_cv);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->sub_mu);
    hs_schemaset_destroy(a->schemas);
    pthread_mutex_destroy(&a->schemas_mu);
    pthread_mutex_destroy(&a->dead_mu);
    hs_free(a);
}
