/* hs-api: parse configuration, connect, serve HTTP until SIGTERM. */
#include "api.h"

#include "hs_error.h"

int main(int argc, char **argv)
{
    api_cfg cfg;
    hs_service *svc;
    int rc = hs_service_init(&svc, "api", api_cfg_table, &cfg, argc, argv);
    if (rc != HS_OK)
        return hs_service_exit_code(rc);
    api *a = NULL;
    rc = hs_service_connect(svc, false);
    if (rc == HS_OK)
        rc = api_create(&a, svc, &cfg);
    if (rc == HS_OK)
        rc = hs_service_ctl_start(svc);
    if (rc == HS_OK)
        rc = hs_service_ready(svc);
    if (rc == HS_OK)
        rc = api_run(a);
    else
        hs_error(hs_service_log(svc), "%s", hs_err_detail());
    api_destroy(a);
    hs_service_destroy(svc);
    return hs_service_exit_code(rc);
}
