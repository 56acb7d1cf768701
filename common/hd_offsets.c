/* hd_offsets: see hd_offsets.h (the argument parsers are in hd_offsets_parse.c). */
#include "hd_offsets.h"
#include "hd_util.h"

#include <stdio.h>
#include <string.h>

#define HD_OFFSETS_PROBE_MS 10000

int hd_offsets_read(rd_kafka_t *rk, const char *topic, hd_offsets_part_t *parts, size_t n,
                    int timeout_ms, char *errstr, size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
        rd_kafka_resp_err_t e;
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                e = rd_kafka_query_watermark_offsets(rk, topic, parts[i].partition, &parts[i].lo,
                                                     &parts[i].hi, timeout_ms);
                if (e) {
                        r = hd_seterr(errstr, errstr_size, "%s [%d]: watermarks: %s", topic,
                                      (int)parts[i].partition, rd_kafka_err2str(e));
                        goto out;
                }
                rd_kafka_topic_partition_list_add(l, topic, parts[i].partition);
        }
        if ((e = rd_kafka_committed(rk, l, timeout_ms))) {
                r = hd_seterr(errstr, errstr_size, "%s: committed offsets: %s", topic,
                              rd_kafka_err2str(e));
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                const rd_kafka_topic_partition_t *tp = &l->elems[i];
                if (tp->err) {
                        r = hd_seterr(errstr, errstr_size, "%s [%d]: committed offset: %s", topic,
                                      (int)tp->partition, rd_kafka_err2str(tp->err));
                        goto out;
                }
                parts[i].committed = tp->offset >= 0 ? tp->offset : RD_KAFKA_OFFSET_INVALID;
                parts[i].has_metadata = tp->metadata && tp->metadata_size > 0;
        }
out:
        rd_kafka_topic_partition_list_destroy(l);
        return r;
}

const char *hd_offsets_how_name(hd_offsets_how_t how)
{
        return how == HD_OFFSETS_BROKER ? "broker" : how == HD_OFFSETS_SEARCH ? "search" : "empty";
}

/*
 * Reads the first record at or after off: its offset in *atp (hi when there is
 * none before the end) and its timestamp in *tsp.
 */
static int hd_offsets_probe(rd_kafka_t *rk, const char *topic, int32_t p, int64_t off,
                            int64_t hi, int64_t *atp, int64_t *tsp, char *errstr,
                            size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        int64_t deadline = hd_mono_us() + (int64_t)HD_OFFSETS_PROBE_MS * 1000;
        int r = 1;

        rd_kafka_topic_partition_list_add(l, topic, p)->offset = off;
        if (rd_kafka_assign(rk, l))
                r = hd_seterr(errstr, errstr_size, "%s [%d]: cannot assign", topic, (int)p);
        rd_kafka_topic_partition_list_destroy(l);
        while (r == 1 && hd_mono_us() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                rd_kafka_timestamp_type_t type;
                if (!m)
                        continue;
                if (m->partition != p || strcmp(rd_kafka_topic_name(m->rkt), topic)) {
                        /* another partition's leftovers: not ours to judge */
                } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        *atp = hi;
                        r = 0;
                } else if (m->err) {
                        r = hd_seterr(errstr, errstr_size, "%s [%d] @%lld: %s", topic, (int)p,
                                      (long long)off, rd_kafka_message_errstr(m));
                } else if (m->offset >= off) {
                        *atp = m->offset < hi ? m->offset : hi;
                        *tsp = rd_kafka_message_timestamp(m, &type);
                        r = *tsp < 0 && *atp < hi
                                    ? hd_seterr(errstr, errstr_size,
                                                "%s [%d] @%lld: record has no timestamp", topic,
                                                (int)p, (long long)m->offset)
                                    : 0;
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_assign(rk, NULL);
        if (r == 1)
                r = hd_seterr(errstr, errstr_size, "%s [%d] @%lld: no record within %d ms", topic,
                              (int)p, (long long)off, HD_OFFSETS_PROBE_MS);
        return r;
}

/* 1 when cand is the first offset at ts or later (per the records around it). */
static int hd_offsets_check(rd_kafka_t *rk, const char *topic, int32_t p, int64_t lo, int64_t hi,
                            int64_t ts, int64_t cand, char *errstr, size_t errstr_size)
{
        int64_t at = 0, t = 0;

        if (cand < lo || cand > hi)
                return 0;
        if (cand < hi) {
                if (hd_offsets_probe(rk, topic, p, cand, hi, &at, &t, errstr, errstr_size))
                        return -1;
                if (at < hi && t < ts)
                        return 0;
        }
        if (cand > lo) {
                if (hd_offsets_probe(rk, topic, p, cand - 1, hi, &at, &t, errstr, errstr_size))
                        return -1;
                if (at == cand - 1 && t >= ts)
                        return 0;
        }
        return 1;
}

/* Binary search for the first record with a timestamp >= ts in [lo, hi). */
static int hd_offsets_search(rd_kafka_t *rk, const char *topic, int32_t p, int64_t lo,
                             int64_t hi, int64_t ts, int64_t *offsetp, char *errstr,
                             size_t errstr_size)
{
        int64_t a = lo, b = hi;

        while (a < b) {
                int64_t mid = a + (b - a) / 2, at = 0, t = 0;
                if (hd_offsets_probe(rk, topic, p, mid, hi, &at, &t, errstr, errstr_size))
                        return -1;
                if (at >= b || t >= ts)
                        b = mid; /* nothing stored between mid and at */
                else
                        a = at + 1;
        }
        *offsetp = a;
        return 0;
}

int hd_offsets_for_time(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t lo,
                        int64_t hi, int64_t ts_ms, int64_t *offsetp, hd_offsets_how_t *howp,
                        char *errstr, size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *l;
        rd_kafka_resp_err_t e;
        int64_t cand = -1;
        int ok = 0;

        if (lo >= hi) {
                *offsetp = lo;
                *howp = HD_OFFSETS_EMPTY;
                return 0;
        }
        l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, topic, partition)->offset = ts_ms;
        e = rd_kafka_offsets_for_times(rk, l, HD_OFFSETS_PROBE_MS);
        if (!e && !l->elems[0].err) {
                /* -1 means "no record that late" on Kafka; the mock says it always. */
                cand = l->elems[0].offset >= 0 ? l->elems[0].offset : hi;
                ok = hd_offsets_check(rk, topic, partition, lo, hi, ts_ms, cand, errstr,
                                      errstr_size);
        }
        rd_kafka_topic_partition_list_destroy(l);
        if (ok < 0)
                return -1;
        if (ok) {
                *offsetp = cand;
                *howp = HD_OFFSETS_BROKER;
                return 0;
        }
        *howp = HD_OFFSETS_SEARCH;
        return hd_offsets_search(rk, topic, partition, lo, hi, ts_ms, offsetp, errstr,
                                 errstr_size);
}

static void hd_offsets_name_member(const struct rd_kafka_group_member_info *m, char *names,
                                   size_t names_size)
{
        size_t len = strlen(names);

        if (len + 1 < names_size)
                snprintf(names + len, names_size - len, "%s%s@%s (%s)", len ? ", " : "",
                         m->client_id, m->client_host, m->member_id);
}

int hd_offsets_group_members(rd_kafka_t *rk, const char *group, int *countp, char *names,
                             size_t names_size, char *errstr, size_t errstr_size)
{
        const struct rd_kafka_group_list *gl = NULL;
        rd_kafka_resp_err_t e = rd_kafka_list_groups(rk, group, &gl, HD_OFFSETS_PROBE_MS);
        int r = 0;

        *countp = 0;
        if (names_size)
                names[0] = '\0';
        if (e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE)
                return 1;
        if (e)
                return hd_seterr(errstr, errstr_size, "describing group %s: %s", group,
                                 rd_kafka_err2str(e));
        for (int i = 0; i < gl->group_cnt && !r; i++) {
                const struct rd_kafka_group_info *g = &gl->groups[i];
                if (strcmp(g->group, group))
                        continue;
                if (g->err && g->err != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
                        r = hd_seterr(errstr, errstr_size, "describing group %s: %s", group,
                                      rd_kafka_err2str(g->err));
                        break;
                }
                *countp = g->err ? 0 : g->member_cnt;
                for (int k = 0; k < *countp; k++)
                        hd_offsets_name_member(&g->members[k], names, names_size);
        }
        rd_kafka_group_list_destroy(gl);
        return r;
}
