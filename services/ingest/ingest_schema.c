/*
 * Input schemas of ingest (docs/SCHEMAS.md): the schemas of the config's
 * schemas file and those of workflows (hs/schemas/<workflow>, from the
 * scheduler), checked against the value of every raw reading. A reading
 * that fails is dead-lettered with the schema's message and counted in
 * schema_rejected; it is not stored, the other readings of its message or
 * file are.
 */
#include "ingest.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_log.h"
#include "hs_proto.h"

#include <stdio.h>
#include <string.h>

int ingest_schema_load(hs_schemaset **out, const ingest_cfg *cfg, hs_log *log)
{
    *out = NULL;
    hs_schemaset *set = NULL;
    int rc = hs_schemaset_create(&set);
    if (rc != HS_OK)
        return rc;
    if (cfg->schemas[0] != '\0') {
        hs_buf err;
        hs_buf_init(&err, 0);
        rc = hs_schemaset_load_file(set, cfg->schemas, "config", &err);
        if (rc != HS_OK) {
            hs_error(log, "input schemas: %s", hs_buf_cstr(&err));
            rc = hs_err_set(HS_ERR_CONFIG, "input schemas: %s", hs_buf_cstr(&err));
        } else {
            hs_info(log, "%zu input schemas from %s", hs_schemaset_count(set), cfg->schemas);
        }
        hs_buf_free(&err);
    }
    if (rc != HS_OK) {
        hs_schemaset_destroy(set);
        return rc;
    }
    *out = set;
    return HS_OK;
}

int ingest_schema_check(hs_schemaset *set, hs_service *svc, const char *sid, const uint8_t *v,
                        size_t len, hs_buf *why)
{
    int rc = hs_schemaset_check(set, sid, v, len, why);
    if (rc != HS_OK)
        hs_service_counters_get(svc)->schema_rejected++;
    return rc;
}

size_t ingest_schema_filter(hs_schemaset *set, hs_service *svc, const char *sid, const char *topic,
                            hs_batch *b)
{
    if (!hs_schemaset_applies(set, sid))
        return 0;
    hs_buf why, line;
    hs_buf_init(&why, 0);
    hs_buf_init(&line, 0);
    size_t kept = 0;
    for (size_t i = 0; i < b->n; i++) {
        const uint8_t *v = hs_batch_value(b, i);
        if (ingest_schema_check(set, svc, sid, v, b->items[i].len, &why) == HS_OK) {
            b->items[kept++] = b->items[i];
            continue;
        }
        /* The dead letter carries the one reading that failed, as a JSON line. */
        hs_buf_reset(&line);
        if (hs_codec_encode_json_line(b->items[i].t_us, v, b->items[i].len, &line) != HS_OK)
            hs_buf_reset(&line);
        char reason[1000];
        snprintf(reason, sizeof reason, "stream %s: %s", sid, hs_buf_cstr(&why));
        hs_service_dead_letter(svc, reason, topic, line.data, line.len);
    }
    size_t removed = b->n - kept;
    b->n = kept;
    hs_buf_free(&why);
    hs_buf_free(&line);
    return removed;
}

void ingest_schema_on_message(hs_schemaset *set, hs_service *svc, const char *id,
                              const hs_mqtt_msg *m)
{
    hs_buf err;
    hs_buf_init(&err, 0);
    size_t n = 0;
    int rc = hs_schemaset_apply_message(set, id, m->payload, m->len, &n, &err);
    if (rc == HS_OK && m->len == 0 && n > 0) {
        hs_info(hs_service_log(svc), "%zu input schemas of workflow %s removed", n, id);
    } else if (rc == HS_OK && m->len > 0) {
        hs_info(hs_service_log(svc), "%zu input schemas of workflow %s applied", n, id);
    } else if (rc != HS_OK) {
        char reason[1200];
        snprintf(reason, sizeof reason,
                 "input schemas of workflow %s not applied (its previous ones stay): %s", id,
                 hs_buf_cstr(&err));
        hs_service_dead_letter(svc, reason, m->topic, m->payload, m->len);
    }
    hs_buf_free(&err);
}
