/*
 * Fuzz target: a service's metrics (hs/metrics/<id>), read by
 * hs_metrics_decode as hsctl top reads them. Metrics that decode must render
 * again (hs_metrics_render_json) into text that decodes with the same
 * counters and strings. Nothing may crash.
 */
#include "hs_buf.h"
#include "hs_error.h"
#include "hs_metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_metrics_msg m;
    int rc = hs_metrics_decode(&m, (const char *)data, size);
    if (rc != HS_OK) {
        check(rc == HS_ERR_PARSE || rc == HS_ERR_NOMEM);
        hs_metrics_msg_free(&m);
        return 0;
    }
    const hs_metrics_snapshot *s = &m.s;
    check(s->kind != NULL && s->id != NULL && s->version != NULL);
    check(s->p50_ms <= s->p95_ms && s->p95_ms <= s->p99_ms && s->cpu_s >= 0);
    hs_buf b;
    hs_buf_init(&b, 0);
    check(hs_metrics_render_json(s, &b) == HS_OK);
    /*
     * Rendering rounds numbers (1 or 3 decimals), which may reorder close
     * percentiles; counters and strings come back exactly when it decodes.
     */
    hs_metrics_msg again;
    if (hs_metrics_decode(&again, (const char *)b.data, b.len) == HS_OK) {
        const hs_metrics_snapshot *t = &again.s;
        check(strcmp(t->id, s->id) == 0 && strcmp(t->kind, s->kind) == 0 &&
              strcmp(t->version, s->version) == 0 && t->t_us == s->t_us &&
              t->msgs_in == s->msgs_in && t->instances_out == s->instances_out &&
              t->backlog == s->backlog && t->window_count == s->window_count &&
              t->rx_queued == s->rx_queued && t->inflight == s->inflight &&
              t->rss_kb == s->rss_kb && t->paused == s->paused);
    }
    hs_metrics_msg_free(&again);
    hs_buf_free(&b);
    hs_metrics_msg_free(&m);
    return 0;
}
