/* hs-ingest: parse configuration, connect, ingest until SIGTERM. */
#include "ingest.h"

#include "hs_error.h"

int main(int argc, char **argv)
{
    ingest_cfg cfg;
    hs_service *svc;
    int rc = hs_service_init(&svc, "ingest", ingest_cfg_table, &cfg, argc, argv);
    if (rc != HS_OK)
        return hs_service_exit_code(rc);
    ingest *in = NULL;
    rc = hs_service_connect(svc, true);
    if (rc == HS_OK)
        rc = ingest_create(&in, svc, &cfg);
    if (rc == HS_OK)
        rc = hs_service_ctl_start(svc);
    if (rc == HS_OK)
        rc = hs_service_ready(svc);
    if (rc == HS_OK)
        rc = ingest_run(in);
    ingest_destroy(in);
    hs_service_destroy(svc);
    return hs_service_exit_code(rc);
}
