#include "hs_error.h"
#include "hs_utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char hs__err_detail[512];

const char *hs_strerror(int err)
{
    switch ((hs_err)err) {
    case HS_OK:
        return "success";
    case HS_ERR_NOMEM:
        return "out of memory";
    case HS_ERR_INVAL:
        return "invalid argument";
    case HS_ERR_PARSE:
        return "malformed input";
    case HS_ERR_RANGE:
        return "value out of range";
    case HS_ERR_LIMIT:
        return "limit exceeded";
    case HS_ERR_NOTFOUND:
        return "not found";
    case HS_ERR_EXISTS:
        return "already exists";
    case HS_ERR_CONFLICT:
        return "conflicting value";
    case HS_ERR_IO:
        return "i/o error";
    case HS_ERR_STORE:
        return "store error";
    case HS_ERR_MQTT:
        return "mqtt error";
    case HS_ERR_TIMEOUT:
        return "timed out";
    case HS_ERR_FULL:
        return "queue full";
    case HS_ERR_CLOSED:
        return "closed";
    case HS_ERR_UNSUPPORTED:
        return "not supported";
    case HS_ERR_TOOL:
        return "tool error";
    case HS_ERR_CONFIG:
        return "invalid configuration";
    case HS_ERR_STATE:
        return "invalid state";
    case HS_ERR_SCHEMA:
        return "schema violation";
    }
    return "unknown error";
}

int hs_err_set(int err, const char *fmt, ...)
{
    /*
     * Formatted aside first: callers may pass hs_err_detail() itself as an
     * argument ("...: %s", hs_err_detail()), which must not be overwritten
     * while it is read.
     */
    char tmp[4 * sizeof hs__err_detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    /* A detail too long is cut on a character boundary, with an ellipsis. */
    hs_utf8_cut(hs__err_detail, sizeof hs__err_detail, tmp);
    return err;
}

const char *hs_err_detail(void)
{
    return hs__err_detail;
}

void hs_err_clear(void)
{
    hs__err_detail[0] = '\0';
}

const char *hs_err_describe(int err, char *buf, unsigned len)
{
    if (hs__err_detail[0] != '\0')
        snprintf(buf, len, "%s: %s", hs_strerror(err), hs__err_detail);
    else
        snprintf(buf, len, "%s", hs_strerror(err));
    return buf;
}
