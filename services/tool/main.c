/*
 * hs-tool: the tool runtime; runs jobs of one tool (--set tool=NAME) or of
 * all tools. Started through a link named hs-tool-<name>, it takes the jobs
 * of that tool only. With --pipe it runs one tool as a UNIX filter instead
 * (pipe.h).
 */
#include "pipe.h"
#include "runtime.h"
#include "tools.h"

#include "hs_alloc.h"
#include "hs_error.h"

#include <stdio.h>
#include <string.h>

#define TOOL_ALIAS_PREFIX "hs-tool-"

/* The tool named by the program's name (hs-tool-<name>), or NULL. */
static const char *tool_alias(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    base = base != NULL ? base + 1 : argv0;
    size_t pl = strlen(TOOL_ALIAS_PREFIX);
    if (strncmp(base, TOOL_ALIAS_PREFIX, pl) != 0 || base[pl] == '\0')
        return NULL;
    return base + pl;
}

static int tool_service_main(int argc, char **argv)
{
    runtime_cfg cfg;
    hs_service *svc;
    int rc = hs_service_init(&svc, "tool", runtime_cfg_table, &cfg, argc, argv);
    if (rc != HS_OK)
        return hs_service_exit_code(rc);
    hs_tool_registry *tools = NULL;
    runtime *rt = NULL;
    rc = hs_tool_registry_create(&tools);
    if (rc == HS_OK)
        rc = hs_builtin_tools_register(tools);
    if (rc == HS_OK && cfg.common.plugin_dir[0] != '\0') {
        hs_buf err;
        hs_buf_init(&err, 0);
        hs_tool_registry_load_plugins(tools, cfg.common.plugin_dir, &err);
        if (err.len > 0)
            hs_warn(hs_service_log(svc), "plugins: %s", hs_buf_cstr(&err));
        hs_buf_free(&err);
    }
    /* In the status and in the last will: which tools this runtime takes. */
    if (rc == HS_OK)
        rc = hs_service_set_status_tools(svc, cfg.tool);
    if (rc == HS_OK)
        rc = hs_service_connect(svc, false);
    if (rc == HS_OK)
        rc = runtime_create(&rt, svc, &cfg, tools);
    if (rc == HS_OK)
        rc = hs_service_ctl_start(svc);
    if (rc == HS_OK)
        rc = hs_service_ready(svc);
    if (rc == HS_OK)
        rc = runtime_run(rt);
    runtime_destroy(rt);
    hs_service_destroy(svc);
    hs_tool_registry_destroy(tools);
    return hs_service_exit_code(rc);
}

int main(int argc, char **argv)
{
    const char *alias = argc > 0 ? tool_alias(argv[0]) : NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--pipe") == 0)
            return tool_pipe_main(argc, argv, alias);
    if (alias == NULL)
        return tool_service_main(argc, argv);
    /* hs-tool-<name>: the service for one tool, as with --set tool=<name> first. */
    char **args = hs_calloc((size_t)argc + 3, sizeof *args);
    char *set = hs_calloc(1, strlen(alias) + 6);
    if (args == NULL || set == NULL) {
        hs_free(args);
        hs_free(set);
        fputs("hs-tool: out of memory\n", stderr);
        return 2;
    }
    snprintf(set, strlen(alias) + 6, "tool=%s", alias);
    args[0] = argv[0];
    args[1] = "--set";
    args[2] = set;
    for (int i = 1; i < argc; i++)
        args[i + 2] = argv[i];
    int rc = tool_service_main(argc + 2, args);
    hs_free(set);
    hs_free(args);
    return rc;
}
