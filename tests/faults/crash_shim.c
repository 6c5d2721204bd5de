/*
 * An LD_PRELOAD shim for fault 7 (f_tool_crash.sh): the process it is loaded
 * into aborts when it binds a text containing $HS_CRASH_MATCH to an SQLite
 * statement. Loaded into a tool runtime with HS_CRASH_MATCH set to a stream
 * id of one plate value, the runtime dies as soon as a job of that plate
 * value reads its source, like a tool that crashes on one plate value's data.
 * Everything else goes to the real sqlite3_bind_text.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef struct sqlite3_stmt sqlite3_stmt;
typedef int (*bind_text_fn)(sqlite3_stmt *, int, const char *, int, void (*)(void *));

int sqlite3_bind_text(sqlite3_stmt *stmt, int i, const char *text, int n, void (*del)(void *));

int sqlite3_bind_text(sqlite3_stmt *stmt, int i, const char *text, int n, void (*del)(void *))
{
    static bind_text_fn real;
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "sqlite3_bind_text");
    const char *match = getenv("HS_CRASH_MATCH");
    if (match != NULL && match[0] != '\0' && text != NULL && n < 0 && strstr(text, match) != NULL)
        abort();
    return real(stmt, i, text, n, del);
}
