/*
 * hd_rt_records: records in, per assigned partition: completion tracking,
 * fan-out to the matching subscriptions, commits of what is final, back-pressure
 * by pausing, and rebalances (eager: finish or abandon within a bound, commit,
 * release).
 */
#include "hd_rt_internal.h"
#include "hd_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hd_part_t *hd_rt_part(hd_rt_t *w, const char *topic, int32_t partition)
{
        for (hd_part_t *p = w->parts; p; p = p->next)
                if (!p->revoked && p->partition == partition && !strcmp(p->topic, topic))
                        return p;
        return NULL;
}

/* A record of an assigned partition: counted open, then prepared on the intake
 * thread (hd_rt_intake.c) unless it was delivered before a restart. */
static void hd_rt_record(hd_rt_t *w, const rd_kafka_message_t *m)
{
        hd_part_t *part = hd_rt_part(w, rd_kafka_topic_name(m->rkt), m->partition);
        hd_rec_t *rec;

        if (!part)
                return;
        hd_tracker_add(part->tracker, m->offset);
        if (hd_tracker_is_done(part->tracker, m->offset))
                return; /* delivered before a restart (commit metadata) */
        rec = hd_calloc(1, sizeof(*rec));
        rec->part = part;
        rec->offset = m->offset;
        rec->key = m->key ? hd_strndup(m->key, m->key_len) : NULL;
        rec->raw = hd_malloc(m->len ? m->len : 1);
        if (m->len) /* a record without a value (tombstone) has no payload at all */
                memcpy(rec->raw, m->payload, m->len);
        rec->rawlen = m->len;
        hd_rt_intake_put(w, rec);
}

static void hd_rt_message_done(hd_rt_t *w, rd_kafka_message_t *m)
{
        if (!m->err)
                hd_rt_record(w, m);
        else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                hd_logkv(HD_LOG_WARN, w->ch->name, rd_kafka_message_errstr(m), NULL);
        rd_kafka_message_destroy(m);
}

void hd_rt_take(hd_rt_t *w, rd_kafka_message_t *m)
{
        hd_part_t *p = m->err ? NULL : hd_rt_part(w, rd_kafka_topic_name(m->rkt), m->partition);

        if (!p) {
                hd_rt_message_done(w, m);
                return;
        }
        if (p->in_head + p->in_len == p->in_cap) {
                if (p->in_head) { /* room at the front: slide down */
                        memmove(p->inbox, p->inbox + p->in_head, p->in_len * sizeof(*p->inbox));
                        p->in_head = 0;
                } else {
                        p->in_cap = p->in_cap ? p->in_cap * 2 : 64;
                        p->inbox = hd_realloc(p->inbox, p->in_cap * sizeof(*p->inbox));
                }
        }
        p->inbox[p->in_head + p->in_len++] = m;
}

/* Up to budget records (the intake's room) from the inboxes to the intake, a few per
 * partition in turn, each while its partition has fewer than webhook.window records
 * open. The turn goes on from round to round: a small budget would otherwise go to
 * the same first partitions every time and leave the others' keys unstarted (first
 * records of the last of six partitions looked at ~30 ms after they came in,
 * tests/bench/README.md). */
size_t hd_rt_process_inboxes(hd_rt_t *w, size_t budget)
{
        size_t done = 0, took, window = (size_t)w->rc.window, n = 0, at;
        hd_part_t *p;

        for (p = w->parts; p; p = p->next)
                n++;
        if (!n)
                return 0;
        at = w->inbox_turn % n;
        do {
                took = 0;
                p = w->parts;
                for (size_t i = 0; i < at; i++)
                        p = p->next;
                for (size_t i = 0; i < n && done < budget; i++) {
                        size_t k = 0;
                        if (!p->in_len || hd_tracker_open(p->tracker) < window)
                                for (; k < 8 && p->in_len && done < budget; k++, done++) {
                                        rd_kafka_message_t *m = p->inbox[p->in_head++];
                                        if (!--p->in_len)
                                                p->in_head = 0;
                                        hd_rt_message_done(w, m);
                                }
                        took += k;
                        at = (at + 1) % n;
                        p = p->next ? p->next : w->parts;
                        if (k) /* the next round starts after the last one served */
                                w->inbox_turn = at;
                }
        } while (took && done < budget);
        hd_rt_intake_flush(w);
        return done;
}

void hd_rt_inbox_clear(hd_part_t *p)
{
        while (p->in_len) {
                rd_kafka_message_destroy(p->inbox[p->in_head++]);
                p->in_len--;
        }
        p->in_head = 0;
}

/*
 * Commits each partition's commit point with its metadata. Synchronous, and the
 * "already committed" marks move only on success: a failed commit (say, during a
 * rebalance) is sent again next time instead of being forgotten, which would
 * widen the redelivery window after a crash.
 */
void hd_rt_commit(hd_rt_t *w, int sync)
{
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

        for (hd_part_t *p = w->parts; p; p = p->next) {
                rd_kafka_topic_partition_t *tp;
                int64_t off = hd_tracker_commit_offset(p->tracker);
                char md[256];
                if (p->revoked || off < 0)
                        continue;
                hd_tracker_metadata(p->tracker, md, sizeof(md));
                if (off == p->last_commit && !strcmp(md, p->last_md))
                        continue;
                tp = rd_kafka_topic_partition_list_add(list, p->topic, p->partition);
                tp->offset = off;
                /* librdkafka 2.0.2 keeps metadata only on an explicit commit with a list */
                tp->metadata = hd_strdup(md);
                tp->metadata_size = strlen(md);
        }
        (void)sync;
        if (list->cnt && (err = rd_kafka_commit(w->consumer, list, 0)))
                hd_logkv(HD_LOG_WARN, w->ch->name, "commit failed, will retry", "error",
                         rd_kafka_err2str(err), NULL);
        for (int i = 0; list->cnt && i < list->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &list->elems[i];
                if (err || tp->err)
                        continue;
                for (hd_part_t *p = w->parts; p; p = p->next)
                        if (!p->revoked && p->partition == tp->partition &&
                            !strcmp(p->topic, tp->topic)) {
                                p->last_commit = tp->offset;
                                snprintf(p->last_md, sizeof(p->last_md), "%.*s",
                                         (int)tp->metadata_size, (const char *)tp->metadata);
                        }
        }
        rd_kafka_topic_partition_list_destroy(list);
        w->last_commit_us = hd_mono_us();
}

size_t hd_rt_open_records(hd_rt_t *w, int revoked_only)
{
        size_t n = 0;

        for (hd_part_t *p = w->parts; p; p = p->next)
                if (!revoked_only || p->revoked == 1)
                        n += hd_tracker_open(p->tracker);
        return n;
}

/*
 * Back-pressure: a partition with webhook.window records open is not looked at
 * further (hd_rt_process_inboxes); what is fetched meanwhile waits in its inbox
 * (a fetched message: its bytes, not yet a decoded event and its deliveries).
 * - With HD_RT_INBOX_WINDOWS windows waiting in the inboxes of partitions not
 *   paused, the loop takes nothing more from the consumer queue (librdkafka keeps
 *   what it prefetched, bounded by queued.max.messages.kbytes). The bound is on
 *   the sum, not per partition: the consumer queue holds each partition's fetch in
 *   one run, so a partition that stopped the taking would keep the others' first
 *   records (behind its own in the queue) from being looked at (the last of six
 *   partitions started ~60 ms late in the 100-key benchmark, tests/bench/README.md).
 * - A partition with twice its window waiting for longer than a grace period is
 *   paused (resumed at one window), so that the others go on: its records leave the
 *   consumer queue and its inbox no longer counts. librdkafka drops a paused
 *   partition's prefetched records and, resumed, at times fetches it again only
 *   ~1 s later: pausing at once stalled the benchmarks now and then.
 * Returns 1 while the loop should take nothing.
 */
#define HD_RT_FULL_GRACE_US 250000
#define HD_RT_INBOX_WINDOWS 16

int hd_rt_flow_control(hd_rt_t *w)
{
        size_t window = (size_t)w->rc.window, waiting = 0;
        int64_t now = hd_mono_us();

        for (hd_part_t *p = w->parts; p; p = p->next) {
                size_t held = p->revoked ? 0 : p->in_len;
                int want;
                rd_kafka_topic_partition_list_t *l;

                if (held >= 2 * window && !p->full_since_us)
                        p->full_since_us = now;
                else if (held <= window)
                        p->full_since_us = 0;
                want = p->full_since_us && now - p->full_since_us >= HD_RT_FULL_GRACE_US ? 1
                       : !p->full_since_us                                          ? 0
                                                                                    : p->paused;
                if (!p->revoked && !want)
                        waiting += held;
                if (p->revoked || want == p->paused)
                        continue;
                l = rd_kafka_topic_partition_list_new(1);
                rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
                if (want)
                        rd_kafka_pause_partitions(w->consumer, l);
                else
                        rd_kafka_resume_partitions(w->consumer, l);
                rd_kafka_topic_partition_list_destroy(l);
                p->paused = want;
        }
        return waiting >= HD_RT_INBOX_WINDOWS * window;
}

static void hd_rt_assign(hd_rt_t *w, rd_kafka_topic_partition_list_t *parts)
{
        rd_kafka_resp_err_t err;

        /* Where each partition stands, and what finished beyond it (metadata). */
        err = rd_kafka_committed(w->consumer, parts, 10000);
        if (err)
                hd_logkv(HD_LOG_WARN, w->ch->name, "could not read committed offsets", "error",
                         rd_kafka_err2str(err), NULL);
        for (int i = 0; i < parts->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                hd_part_t *p = hd_calloc(1, sizeof(*p));
                char md[512] = "";
                p->topic = hd_strdup(tp->topic);
                p->partition = tp->partition;
                p->ordered = !strcmp(tp->topic, w->cfg->topics.ordered);
                p->tracker = hd_tracker_new(tp->offset >= 0 ? tp->offset : -1);
                p->last_commit = -1;
                if (tp->offset >= 0 && tp->metadata && tp->metadata_size < sizeof(md)) {
                        memcpy(md, tp->metadata, tp->metadata_size);
                        hd_tracker_restore(p->tracker, tp->offset, md);
                }
                p->next = w->parts;
                w->parts = p;
        }
        rd_kafka_assign(w->consumer, parts);
}

/* Revoke: no new records for these partitions; in-flight work gets a bounded wait;
 * what is final is committed; the rest is abandoned for the next owner. */
static void hd_rt_revoke(hd_rt_t *w, rd_kafka_topic_partition_list_t *parts)
{
        int64_t deadline = hd_mono_us() + (int64_t)w->rc.revoke_timeout_ms * 1000;

        for (int i = 0; i < parts->cnt; i++)
                for (hd_part_t *p = w->parts; p; p = p->next)
                        if (!p->revoked && p->partition == parts->elems[i].partition &&
                            !strcmp(p->topic, parts->elems[i].topic))
                                p->revoked = 2, /* leaving: finish, no new records */
                                hd_rt_inbox_clear(p); /* not looked at: the next owner's */
        while (hd_mono_us() < deadline) {
                size_t open = 0;
                for (hd_part_t *p = w->parts; p; p = p->next)
                        if (p->revoked == 2)
                                open += hd_tracker_open(p->tracker);
                if (!open)
                        break;
                hd_rt_channel_turn(w);
                hd_rt_drain_results(w);
                hd_rt_intake_collect(w);
                hd_rt_start_ready(w);
                hd_rt_fire_timers(w);
                rd_kafka_poll(w->producer, w->ch->loop_run ? 1 : 10);
        }
        for (hd_part_t *p = w->parts; p; p = p->next)
                if (p->revoked == 2)
                        p->revoked = 0; /* commit them one last time */
        hd_rt_commit(w, 1);
        for (hd_part_t *p = w->parts; p; p = p->next)
                for (int i = 0; i < parts->cnt; i++)
                        if (!p->revoked && p->partition == parts->elems[i].partition &&
                            !strcmp(p->topic, parts->elems[i].topic))
                                p->revoked = 1;
        hd_rt_fire_timers(w); /* abandon waiting retries of revoked partitions */
        rd_kafka_assign(w->consumer, NULL);
}

void hd_rt_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        hd_rt_t *w = opaque;

        (void)rk;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                hd_logkv(HD_LOG_INFO, w->ch->name, "partitions assigned", NULL);
                hd_rt_assign(w, parts);
        } else {
                hd_logkv(HD_LOG_INFO, w->ch->name, "partitions revoked", NULL);
                hd_rt_revoke(w, parts);
        }
}

/* Gauges the loop owns: in flight, paused partitions, lag (cached watermarks). */
void hd_rt_metrics_update(hd_rt_t *w)
{
        hd_rt_metrics_t *m = &w->metrics;
        long paused = 0;
        size_t n = 0;

        pthread_mutex_lock(&m->lock);
        for (hd_part_t *p = w->parts; p; p = p->next) {
                int64_t lo = 0, hi = 0, at = hd_tracker_commit_offset(p->tracker);
                if (p->revoked)
                        continue;
                paused += p->paused;
                if (n < HD_RT_MAX_LAG &&
                    !rd_kafka_get_watermark_offsets(w->consumer, p->topic, p->partition, &lo,
                                                    &hi) && hi >= 0) {
                        hd_strlcpy(m->lag[n].topic, p->topic, sizeof(m->lag[n].topic));
                        m->lag[n].partition = p->partition;
                        m->lag[n].lag = at >= 0 && hi > at ? hi - at : at < 0 ? hi - lo : 0;
                        n++;
                }
        }
        m->nlag = n;
        m->paused_partitions = paused;
        m->in_flight = (long)hd_dispatch_running(w->dispatch);
        pthread_mutex_unlock(&m->lock);
}
