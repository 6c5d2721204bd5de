/*
 * hsctl stream purge ID|PATTERN --before T [--dry-run]: purges the streams
 * ID or PATTERN (MQTT wildcards) names before T through the writer (write
 * op purge with before, one request per stream), printing per stream what
 * goes: instances with t <= T and (-inf, T] of the calculated intervals.
 * With --dry-run it only reads the store and prints the same counts.
 */
#include "hsctl.h"

#include "hs_alloc.h"
#include "hs_error.h"
#include "hs_retain.h"
#include "hs_streamid.h"
#include "hs_time.h"

#include <stdio.h>
#include <string.h>

/* The streams a purge names. */
typedef struct purge_set {
    const char *pattern; /* borrowed; NULL: ids holds the one stream named */
    char **ids;          /* owned array of owned ids */
    size_t n, cap;
} purge_set;

static int purge_collect(void *ud, const hs_stream_info *info)
{
    purge_set *p = ud;
    if (!hs_retain_pattern_matches(p->pattern, info->id))
        return 0;
    if (hs_grow(&p->ids, &p->cap, p->n + 1, sizeof *p->ids, 16) != HS_OK)
        return HS_ERR_NOMEM;
    p->ids[p->n] = hs_strdup(info->id);
    if (p->ids[p->n] == NULL)
        return HS_ERR_NOMEM;
    p->n++;
    return 0;
}

static void purge_set_free(purge_set *p)
{
    for (size_t i = 0; i < p->n; i++)
        hs_free(p->ids[i]);
    hs_free(p->ids);
}

/* What purging id before before_us removes: instances, and the calculated part as text. */
static int purge_preview(hs_store *s, const char *id, int64_t before_us, int64_t *count,
                         hs_buf *calc)
{
    hs_interval upto = {hs_store_all_time().start, before_us};
    hs_buf_reset(calc);
    int rc = hs_store_count(s, id, upto, count);
    hs_stream_info info;
    if (rc == HS_OK)
        rc = hs_store_stream_get(s, id, &info);
    if (rc != HS_OK)
        return rc;
    hs_intervals drop, cut;
    hs_intervals_init(&drop);
    hs_intervals_init(&cut);
    rc = hs_intervals_add(&drop, upto);
    if (rc == HS_OK)
        rc = hs_intervals_intersection(&info.calculated, &drop, &cut);
    if (rc == HS_OK && cut.n > 0)
        rc = hs_intervals_format(&cut, calc);
    hs_intervals_free(&drop);
    hs_intervals_free(&cut);
    hs_stream_info_free(&info);
    return rc;
}

int cmd_stream_purge_before(hsctl *h, int argc, char **argv)
{
    const char *target = NULL;
    int64_t before = 0;
    bool have_before = false, dry = false;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--dry-run") == 0) {
            dry = true;
        } else if (hsctl_opt(argc, argv, &i, "--before", &v)) {
            if (!hsctl_time(v, &before))
                return HSCTL_USER;
            have_before = true;
        } else if (hsctl_opt(argc, argv, &i, "--data", &v)) {
            continue;
        } else if (target == NULL) {
            target = argv[i];
        } else {
            return hsctl_fail(HSCTL_USER, "unexpected argument '%s'", argv[i]);
        }
    }
    if (target == NULL || !have_before)
        return hsctl_fail(HSCTL_USER,
                          "usage: hsctl stream purge ID|PATTERN --before T [--dry-run]");
    purge_set set = {0};
    hs_buf sid, calc, f;
    hs_buf_init(&sid, 0);
    hs_buf_init(&calc, 0);
    hs_buf_init(&f, 0);
    int rc = HSCTL_OK;
    bool wild = strchr(target, '+') != NULL || strchr(target, '#') != NULL;
    hs_store *s = hsctl_store(h);
    if (s == NULL) {
        rc = HSCTL_SYSTEM;
        goto out;
    }
    if (wild) {
        if (!hs_retain_pattern_valid(target, strlen(target))) {
            rc = hsctl_fail(HSCTL_USER,
                            "'%s' is not a stream pattern ('+' for one whole level, '#' for the "
                            "whole last one)",
                            target);
            goto out;
        }
        set.pattern = target;
        int lrc = hs_store_stream_list(s, "", purge_collect, &set);
        if (lrc != HS_OK) {
            rc = hsctl_fail(HSCTL_SYSTEM, "cannot list streams: %s", hs_err_detail());
            goto out;
        }
        if (set.n == 0) {
            rc = hsctl_fail(HSCTL_USER, "no stream matches %s", target);
            goto out;
        }
    } else {
        if (hs_streamid_canonical(target, strlen(target), &sid) != HS_OK) {
            rc = hsctl_fail(HSCTL_USER, "invalid stream id: %s", hs_err_detail());
            goto out;
        }
        set.pattern = hs_buf_cstr(&sid);
        hs_stream_info info;
        int grc = hs_store_stream_get(s, hs_buf_cstr(&sid), &info);
        if (grc == HS_ERR_NOTFOUND) {
            rc = hsctl_fail(HSCTL_USER, "no stream %s (hsctl stream ls lists them)",
                            hs_buf_cstr(&sid));
            goto out;
        }
        if (grc == HS_OK) {
            hs_stream_info_free(&info);
            grc = purge_collect(&set, &(hs_stream_info){.id = (char *)hs_buf_cstr(&sid)});
        }
        if (grc != HS_OK) {
            rc = hsctl_fail(HSCTL_SYSTEM, "cannot read the store: %s", hs_err_detail());
            goto out;
        }
    }
    char iso[HS_TIME_ISO_MAX];
    hs_time_format_iso(before, iso);
    printf("%s before %s (instances with t <= %s; what was computed from them is kept):\n",
           dry ? "would purge" : "purging", iso, iso);
    uint64_t total = 0, streams = 0;
    for (size_t i = 0; i < set.n; i++) {
        const char *id = set.ids[i];
        int64_t count = 0;
        int prc = purge_preview(s, id, before, &count, &calc);
        if (prc == HS_ERR_NOTFOUND)
            continue; /* removed since it was listed */
        if (prc != HS_OK) {
            rc = hsctl_fail(HSCTL_SYSTEM, "cannot read %s: %s", id, hs_err_detail());
            goto out;
        }
        uint64_t n = (uint64_t)count;
        if (!dry && (count > 0 || calc.len > 0)) {
            hs_proto_purge p = {.stream = id, .has_before = true, .before_us = before};
            uint32_t nf = 0;
            char err[600] = "";
            hs_buf_reset(&f);
            if (hs_proto_purge_encode_fields(&f, &p, &nf) != HS_OK) {
                rc = hsctl_fail(HSCTL_SYSTEM, "cannot encode the request: %s", hs_err_detail());
                goto out;
            }
            rc = hsctl_write(h, HS_OP_PURGE, f.data, f.len, nf, err, sizeof err, &n);
            if (rc != HSCTL_OK) {
                hsctl_fail(rc, "purge of %s failed: %s", id, err);
                goto out;
            }
        }
        if (n == 0 && calc.len == 0)
            continue;
        printf("  %-48s %10llu instances%s%s\n", id, (unsigned long long)n,
               calc.len > 0 ? "  calculated no longer: " : "", hs_buf_cstr(&calc));
        total += n;
        streams++;
    }
    printf("%s %llu instances of %llu stream%s (%zu matched)\n", dry ? "would delete" : "deleted",
           (unsigned long long)total, (unsigned long long)streams, streams == 1 ? "" : "s", set.n);
out:
    purge_set_free(&set);
    hs_buf_free(&sid);
    hs_buf_free(&calc);
    hs_buf_free(&f);
    return rc;
}
