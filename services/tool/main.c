/* hs-tool: the tool runtime; runs jobs of one tool (--set tool=NAME) or of all tools. */
#include "runtime.h"
#include "tools.h"

#include "hs_error.h"

#include <stdio.h>

int main(int argc, char **argv)
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
    if (rc == HS_OK && cfg.plugin_dir[0] != '\0') {
        hs_buf err;
        hs_buf_init(&err, 0);
        hs_tool_registry_load_plugins(tools, cfg.plugin_dir, &err);
        if (err.len > 0)
            hs_warn(hs_service_log(svc), "plugins: %s", hs_buf_cstr(&err));
        hs_buf_free(&err);
    }
    if (rc == HS_OK)
        rc = hs_service_connect(svc, false);
    if (rc == HS_OK)
        rc = runtime_create(&rt, svc, &cfg, tools);
    if (rc == HS_OK)
        rc = hs_service_ready(svc);
    if (rc == HS_OK)
        rc = runtime_run(rt);
    runtime_destroy(rt);
    hs_service_destroy(svc);
    hs_tool_registry_destroy(tools);
    return hs_service_exit_code(rc);
}
