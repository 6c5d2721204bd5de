/* hs-scheduler: workflows, planning, dispatch, retries, online engine. */
#include "scheduler.h"
#include "tools.h"

#include "hs_error.h"

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
