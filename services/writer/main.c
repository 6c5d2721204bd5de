/* hs-writer: parse configuration, connect, run the commit loop until SIGTERM. */
#include "writer.h"

#include "hs_error.h"

int main(int argc, char **argv)
{
    writer_cfg cfg;
    hs_service *svc;
    int rc = hs_service_init(&svc, "writer", writer_cfg_table, &cfg, argc, argv);
    if (rc != HS_OK)
        return hs_service_exit_code(rc);
    writer *w = NULL;
    rc = hs_service_connect(svc, true);
    if (rc == HS_OK)
        rc = writer_create(&w, svc, &cfg);
    if (rc == HS_OK)
        rc = hs_service_ctl_start(svc);
    if (rc == HS_OK)
        rc = hs_service_ready(svc);
    if (rc == HS_OK)
        rc = writer_run(w);
    writer_destroy(w);
    hs_service_destroy(svc);
    return hs_service_exit_code(rc);
}
