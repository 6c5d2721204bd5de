/*
 * The built-in tools. Each t_<name>.c defines `const hs_tool_def hs_tool_<name>`;
 * hs_builtin_tools_register adds them all to a registry.
 */
#ifndef HS_BUILTIN_TOOLS_H
#define HS_BUILTIN_TOOLS_H

#include "hs_tool.h"

#include <stdbool.h>
#include <stdint.h>

extern const hs_tool_def hs_tool_aggregate;
extern const hs_tool_def hs_tool_apply;
extern const hs_tool_def hs_tool_asset_writer;
extern const hs_tool_def hs_tool_clock;
extern const hs_tool_def hs_tool_sliding_apply;
extern const hs_tool_def hs_tool_sliding_window;
extern const hs_tool_def hs_tool_splitter;

/*
 * Adds every built-in tool to r. Returns HS_OK, or the first error of
 * hs_tool_registry_add (HS_ERR_EXISTS when a name is already taken).
 */
int hs_builtin_tools_register(hs_tool_registry *r);

/* Registration of the parts of the library (registry_<part>.c). */
int hs_builtin_register_hs1(hs_tool_registry *r);
int hs_builtin_register_hs2(hs_tool_registry *r);
int hs_builtin_register_iot(hs_tool_registry *r);

/*
 * Time grids: the points origin + k * step (k >= 0 an integer, step > 0)
 * that lie in (after, end].
 *
 * hs_grid_first sets *p to the smallest such point and returns true, or
 * returns false when there is none. hs_grid_next moves *p to the next point
 * and returns true, or returns false when that would pass end. Exact for any
 * int64 arguments: the arithmetic runs on unsigned offsets from origin, so
 * it neither overflows nor depends on how C rounds negative division.
 */
static inline bool hs_grid_first(int64_t origin, int64_t step, int64_t after, int64_t end,
                                 int64_t *p)
{
    if (step <= 0 || end < origin || end <= after)
        return false;
    uint64_t span = (uint64_t)end - (uint64_t)origin; /* >= 0 since end >= origin */
    uint64_t off = 0;
    if (after >= origin) {
        uint64_t d = (uint64_t)after - (uint64_t)origin;
        uint64_t q = d / (uint64_t)step;
        off = q * (uint64_t)step; /* <= d <= span */
        if ((uint64_t)step > span - off)
            return false;
        off += (uint64_t)step;
    }
    /* origin + off lies in [origin, end], so the wrapped sum is the true value. */
    *p = (int64_t)((uint64_t)origin + off);
    return true;
}

static inline bool hs_grid_next(int64_t step, int64_t end, int64_t *p)
{
    if (*p > end || (uint64_t)end - (uint64_t)*p < (uint64_t)step)
        return false;
    *p += step;
    return true;
}

#endif
