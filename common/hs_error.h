/*
 * Project-wide error codes.
 *
 * Every function of the project that can fail returns an int: 0 (HS_OK) on
 * success or one of the negative codes below. hs_strerror() names a code.
 * Where a code alone is too little to act on, the failing function also
 * records a detail message for the calling thread with hs_err_set(); callers
 * read it with hs_err_detail() right after the failure.
 */
#ifndef HS_ERROR_H
#define HS_ERROR_H

typedef enum hs_err {
    HS_OK = 0,
    HS_ERR_NOMEM = -1,        /* an allocation failed */
    HS_ERR_INVAL = -2,        /* an argument is invalid (caller's mistake) */
    HS_ERR_PARSE = -3,        /* input is malformed */
    HS_ERR_RANGE = -4,        /* a value is out of its allowed range */
    HS_ERR_LIMIT = -5,        /* a size, length or depth limit was exceeded */
    HS_ERR_NOTFOUND = -6,     /* the named thing does not exist */
    HS_ERR_EXISTS = -7,       /* the named thing exists already */
    HS_ERR_CONFLICT = -8,     /* a different value exists for the same key */
    HS_ERR_IO = -9,           /* an operating-system call failed */
    HS_ERR_STORE = -10,       /* the store reported an error */
    HS_ERR_MQTT = -11,        /* the MQTT client or broker reported an error */
    HS_ERR_TIMEOUT = -12,     /* an operation did not finish in time */
    HS_ERR_FULL = -13,        /* a bounded queue or window is full */
    HS_ERR_CLOSED = -14,      /* the object is shut down or disconnected */
    HS_ERR_UNSUPPORTED = -15, /* the operation is not supported here */
    HS_ERR_TOOL = -16,        /* a tool failed while running a job */
    HS_ERR_CONFIG = -17,      /* the configuration is invalid */
    HS_ERR_STATE = -18,       /* the operation is not valid in this state */
    HS_ERR_SCHEMA = -19,      /* a document does not match its schema */
} hs_err;

/* Returns a short, static, human-readable name of err ("out of memory"). */
const char *hs_strerror(int err);

/*
 * Records a detail message for the calling thread and returns err, so that a
 * failing function can write `return hs_err_set(HS_ERR_PARSE, "...", ...);`.
 * The message is truncated to 511 bytes.
 */
int hs_err_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last detail message recorded on this thread, or "" when there is none. */
const char *hs_err_detail(void);

/* Forgets this thread's detail message. */
void hs_err_clear(void);

/*
 * Formats "<strerror>: <detail>" (or only the strerror when there is no
 * detail) into buf of size len and returns buf.
 */
const char *hs_err_describe(int err, char *buf, unsigned len);

#endif
