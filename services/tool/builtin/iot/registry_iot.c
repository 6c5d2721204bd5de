/* Registration of the built-in tools of part "iot" (declared in iot.h). */
#include "iot.h"
#include "tools.h"

#include "hs_error.h"

#include <stddef.h>

static const hs_tool_def *const hs__iot_tools[] = {
    /* HyperStream's data generators */
    &hs_tool_random,
    &hs_tool_uniform,
    &hs_tool_gauss,
    &hs_tool_normal,
    &hs_tool_lognormal,
    &hs_tool_exponential,
    &hs_tool_gamma,
    &hs_tool_beta,
    &hs_tool_pareto,
    &hs_tool_weibull,
    &hs_tool_triangular,
    &hs_tool_vonmises,
    &hs_tool_randint,
    &hs_tool_randrange,
    &hs_tool_custom,
    /* HyperStream's importers */
    &hs_tool_csv_reader,
    &hs_tool_csv_multi_reader,
    /* stream processing */
    &hs_tool_filter,
    &hs_tool_resample,
    &hs_tool_rate,
    &hs_tool_derivative,
    &hs_tool_threshold,
    &hs_tool_window,
    &hs_tool_join_window,
    &hs_tool_enrich,
};

int hs_builtin_register_iot(hs_tool_registry *r)
{
    for (size_t i = 0; i < sizeof hs__iot_tools / sizeof hs__iot_tools[0]; i++) {
        int rc = hs_tool_registry_add(r, hs__iot_tools[i]);
        if (rc != HS_OK)
            return rc;
    }
    return HS_OK;
}
