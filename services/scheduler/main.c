/* hs-scheduler: workflows, planning, dispatch, retries, online engine. */
#include "scheduler.h"
#include "tools.h"

#include "hs_error.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
    scheduler_cfg cfg;
    hs_service *svc;
    int rc = hs_service_init(&svc, "scheduler", scheduler_cfg_table, &cfg, argc, argv);
    if (rc != HS_OK)
        return hs_service_exit_code(rc);
    hs_tool_registry *tools = NULL;
    scheduler *s = NULL;
    rc = hs_tool_registry_create(&tools);
    if (rc == HS_OK)
        rc = hs_builtin_tools_register(tools);
    const char *plugin_dir = cfg.common.plugin_dir;
    if (rc == HS_OK && plugin_dir != NULL && plugin_dir[0] != '\0') {
        hs_buf err;
        hs_buf_init(&err, 0);
        hs_tool_registry_load_plugins(tools, plugin_dir, &err);
        if (err.len > 0)
            hs_warn(hs_service_log(svc), "plugins: %s", hs_buf_cstr(&err));
        hs_buf_free(&err);
    }
    if (rc == HS_OK)
        rc = hs_service_connect(svc, false);
    if (rc == HS_OK)
        rc = scheduler_create(&s, svc, &cfg, tools);
    if (rc == HS_OK)
        rc = hs_service_ctl_start(svc);
    if (rc == HS_OK)
        rc = hs_service_ready(svc);
    if (rc == HS_OK)
        rc = scheduler_run(s);
    scheduler_destroy(s);
    hs_service_destroy(svc);
    hs_tool_registry_destroy(tools);
    return hs_service_exit_code(rc);
}
