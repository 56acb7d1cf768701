/*
 * hd_rt: the runtime's life cycle (see hd_rt.h): set-up in dependency order
 * (subscriptions before the group is joined), the loop, and the clean stop.
 */
#include "hd_kafka.h"
#include "hd_log.h"
#include "hd_rt_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void hd_rt_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        (void)rk;
        hd_rt_dlq_report(opaque, m);
}

/* Sets a consumer property unless the operator configured it (kafka.*). */
static int hd_rt_kafka_default(rd_kafka_conf_t *c, const hd_config_t *cfg, const char *name,
                               long value, char *errstr, size_t errstr_size)
{
        char v[32];

        for (size_t i = 0; i < cfg->nkafka; i++)
                if (!strcmp(cfg->kafka[i].name, name))
                        return 0;
        snprintf(v, sizeof(v), "%ld", value);
        return hd_kafka_conf_set(c, name, v, errstr, errstr_size);
}

static int hd_rt_clients(hd_rt_t *w, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *pc = hd_kafka_conf_new(w->cfg, errstr, errstr_size), *cc;
        rd_kafka_topic_partition_list_t *topics;
        char err[512];

        if (!pc)
                return -1;
        if (hd_kafka_conf_set(pc, "enable.idempotence", "true", errstr, errstr_size) ||
            hd_kafka_conf_set(pc, "partitioner", "murmur2_random", errstr, errstr_size)) {
                rd_kafka_conf_destroy(pc);
                return -1;
        }
        rd_kafka_conf_set_opaque(pc, w);
        rd_kafka_conf_set_dr_msg_cb(pc, hd_rt_dr);
        if (!(w->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err)))) {
                rd_kafka_conf_destroy(pc);
                return hd_seterr(errstr, errstr_size, "kafka producer: %s", err);
        }
        if (!(cc = hd_kafka_conf_new(w->cfg, errstr, errstr_size)))
                return -1;
        /* Offsets are ours to commit: only records whose deliveries are all final. */
        if (hd_kafka_conf_set(cc, "group.id", w->rc.group, errstr, errstr_size) ||
            hd_kafka_conf_set(cc, "enable.auto.commit", "false", errstr, errstr_size) ||
            hd_kafka_conf_set(cc, "enable.auto.offset.store", "false", errstr, errstr_size) ||
            hd_kafka_conf_set(cc, "auto.offset.reset", "earliest", errstr, errstr_size) ||
            /* Prefetch at most 16 MiB, not librdkafka's 64 MiB: records queued
             * beyond the window are memory the window exists to bound. (A per-
             * partition queued.min.messages near the window starved the workers:
             * half the deliveries/s, tests/bench/README.md.) */
            hd_rt_kafka_default(cc, w->cfg, "queued.max.messages.kbytes", 16384, errstr,
                                errstr_size) ||
            /* A fetch to a broker whose partitions have nothing new is held there
             * for fetch.wait.max.ms, and a partition that becomes fetchable
             * meanwhile (assigned, resumed after a pause) waits for that fetch to
             * return: 500 ms by default. Unkeyed events come in runs on few
             * partitions, so those pause often (unordered bench row 2.5-2.9 s ->
             * 0.9-1.0 s at 50 ms), and after an assignment the ordered partitions
             * waited behind fetches of the idle unordered ones: the last of six
             * started 40-60 ms after the first at 50 ms, 0-15 ms at 10 ms (100-key
             * row: 1.31-1.57 at 50 ms, 1.30-1.39 at 10 ms, six runs each,
             * tests/bench/README.md). The price: an idle consumer sends each broker
             * ~100 small fetches a second (kafka.fetch_wait_max_ms to change it). */
            hd_rt_kafka_default(cc, w->cfg, "fetch.wait.max.ms", 10, errstr, errstr_size) ||
            /* A fetch answered after its partition was paused is outdated, and
             * librdkafka then backs that partition off for fetch.error.backoff.ms
             * (500 ms by default) even once resumed: deliveries stalled ~0.4 s in
             * 3 of 7 runs of the 10,000-key bench row, in none of 4 with 50 ms. */
            hd_rt_kafka_default(cc, w->cfg, "fetch.error.backoff.ms", 50, errstr, errstr_size)) {
                rd_kafka_conf_destroy(cc);
                return -1;
        }
        rd_kafka_conf_set_opaque(cc, w);
        rd_kafka_conf_set_rebalance_cb(cc, hd_rt_rebalance);
        if (!(w->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof(err)))) {
                rd_kafka_conf_destroy(cc);
                return hd_seterr(errstr, errstr_size, "kafka consumer: %s", err);
        }
        rd_kafka_poll_set_consumer(w->consumer);
        pthread_mutex_lock(&w->wake_lock);
        w->wakeq = rd_kafka_queue_get_consumer(w->consumer);
        pthread_mutex_unlock(&w->wake_lock);
        if ((w->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
                return hd_seterr(errstr, errstr_size, "eventfd: %s", strerror(errno));
        if (w->ch->loop_fd) {
                static const uint64_t one = 1;

                if ((w->kafka_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
                        return hd_seterr(errstr, errstr_size, "eventfd: %s", strerror(errno));
                /* librdkafka writes it when the consumer queue becomes non-empty */
                rd_kafka_queue_io_event_enable(w->wakeq, w->kafka_efd, &one, sizeof(one));
        }
        topics = rd_kafka_topic_partition_list_new(2);
        rd_kafka_topic_partition_list_add(topics, w->cfg->topics.ordered, RD_KAFKA_PARTITION_UA);
        rd_kafka_topic_partition_list_add(topics, w->cfg->topics.unordered, RD_KAFKA_PARTITION_UA);
        rd_kafka_subscribe(w->consumer, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        return 0;
}

static int hd_rt_setup(hd_rt_t *w, char *errstr, size_t errstr_size)
{
        const hd_config_t *c = w->cfg;

        if (hd_retry_parse(w->rc.retry_schedule, &w->sched, errstr, errstr_size))
                return -1;
        w->dlq_topic = hd_config_dlq_topic(w->rc.group);
        w->seed = (unsigned)getpid();
        w->dispatch = hd_dispatch_new((size_t)w->rc.max_in_flight);
        if (!(w->reg = hd_registry_from_config(c, errstr, errstr_size)))
                return -1;
        w->serde = hd_serde_new((size_t)c->serde.max_message_bytes, hd_registry_fetch_cb, w->reg);
        /* Subscriptions first: no record is looked at before they are all known. */
        if (!(w->subs = hd_subs_open(c, errstr, errstr_size)))
                return -1;
        if (w->ch->check) {
                json_t *all = hd_subs_snapshot(w->subs);
                int r = w->ch->check(w->ctx, all, errstr, errstr_size);
                json_decref(all);
                if (r)
                        return -1;
        }
        if (hd_rt_metrics_start(&w->metrics, w->rc.metrics_listen ? w->rc.metrics_listen : "",
                                &w->metrics_port, errstr, errstr_size))
                return -1;
        if (hd_rt_intake_start(w, errstr, errstr_size) ||
            hd_rt_workers_start(w, errstr, errstr_size))
                return -1;
        return hd_rt_clients(w, errstr, errstr_size);
}

hd_rt_t *hd_rt_new(const hd_config_t *cfg, const hd_rt_conf_t *rc, const hd_channel_t *ch,
                   void *ctx, char *errstr, size_t errstr_size)
{
        hd_rt_t *w = hd_calloc(1, sizeof(*w));

        w->kafka_efd = w->wake_efd = -1;
        w->cfg = cfg;
        w->rc = *rc;
        w->ch = ch;
        w->ctx = ctx;
        if (hd_rt_setup(w, errstr, errstr_size)) {
                hd_rt_destroy(w);
                return NULL;
        }
        hd_logkv(HD_LOG_INFO, ch->name, "running", "group", rc->group, NULL);
        return w;
}

int hd_rt_metrics_port(const hd_rt_t *rt)
{
        return rt->metrics_port;
}

/* The channel's turn (loop_run), if it has one: the ms until it needs the next. */
int hd_rt_channel_turn(hd_rt_t *w)
{
        return w->ch->loop_run ? w->ch->loop_run(w->ctx) : 10;
}

static void hd_rt_drain_fd(int fd)
{
        uint64_t n;

        if (fd >= 0 && read(fd, &n, sizeof(n)) < 0)
                (void)0; /* EAGAIN: nothing was signalled */
}

/* Nothing to do: wait for a record, a result, the channel's descriptor or its
 * next deadline (at most 10 ms, the retry timers' resolution). */
static void hd_rt_wait(hd_rt_t *w, int channel_ms)
{
        struct pollfd p[3] = {{w->kafka_efd, POLLIN, 0}, {w->wake_efd, POLLIN, 0},
                              {w->ch->loop_fd(w->ctx), POLLIN, 0}};

        poll(p, p[2].fd >= 0 ? 3 : 2, channel_ms < 10 ? (channel_ms > 0 ? channel_ms : 0) : 10);
        if (p[0].revents) /* a read that finds nothing is a syscall for nothing */
                hd_rt_drain_fd(w->kafka_efd);
        if (p[1].revents)
                hd_rt_drain_fd(w->wake_efd);
}

/* Records taken from the consumer queue per round: cheap (into the partitions'
 * inboxes), and the consumer queue holds each partition's fetch in one run, so a
 * small number would leave the partitions further back in it unstarted for rounds. */
#define HD_RT_TAKE_PER_ROUND 4096

void hd_rt_run(hd_rt_t *w, volatile sig_atomic_t *stop)
{
        int idle = 0, channel_ms = 10, hold = 0;

        w->loop_thread = pthread_self();
        w->loop_running = 1;
        while (!*stop) {
                rd_kafka_message_t *m;
                size_t n = 0;

                /* Wait only once the queue was found empty (its event fires on the
                 * change from empty to non-empty) and nothing is left to hand over. */
                if (w->kafka_efd >= 0 && idle)
                        hd_rt_wait(w, channel_ms);
                else if (hold && idle) { /* taking nothing for a moment (back-pressure):
                                          * wait for a result, not in a busy loop */
                        struct pollfd p = {w->wake_efd, POLLIN, 0};

                        poll(&p, 1, 10);
                        hd_rt_drain_fd(w->wake_efd);
                }
                while (!hold && n < HD_RT_TAKE_PER_ROUND &&
                       (m = rd_kafka_consumer_poll(w->consumer,
                                                   w->kafka_efd < 0 && !n && idle ? 10 : 0))) {
                        hd_rt_take(w, m);
                        n++;
                }
                /* Records go to the intake thread while it has room; the prepared ones
                 * come back below, after the channel's turn (answers in, next attempts
                 * out), which does not wait for them. */
                hd_rt_process_inboxes(w, hd_rt_intake_room(w));
                w->turn_inline = 1;
                channel_ms = hd_rt_channel_turn(w);
                w->turn_inline = 0;
                hd_rt_drain_results(w);
                hd_rt_intake_collect(w);
                hd_rt_fire_timers(w);
                hd_rt_start_ready(w);
                rd_kafka_poll(w->producer, 0);
                hold = hd_rt_flow_control(w);
                if (hd_mono_us() - w->last_commit_us >= w->rc.commit_interval_ms * 1000LL) {
                        hd_rt_commit(w, 0);
                        hd_rt_metrics_update(w);
                }
                /* results that came in meanwhile (a start that failed at once) go first;
                 * the intake and the workers wake the loop when they have more */
                idle = n < HD_RT_TAKE_PER_ROUND && !w->done;
        }
        hd_logkv(HD_LOG_INFO, w->ch->name, "stopping", NULL);
}

void hd_rt_destroy(hd_rt_t *w)
{
        char counts[160];

        if (!w)
                return;
        if (w->consumer) {
                rd_kafka_queue_t *q;
                /* No more wake-ups first: the close forwards the consumer queue to its
                 * own and waits on it, and a yield would end that wait early. */
                pthread_mutex_lock(&w->wake_lock);
                q = w->wakeq;
                w->wakeq = NULL;
                pthread_mutex_unlock(&w->wake_lock);
                if (q && w->kafka_efd >= 0)
                        rd_kafka_queue_io_event_enable(q, -1, NULL, 0);
                if (q)
                        rd_kafka_queue_destroy(q);
                rd_kafka_consumer_close(w->consumer); /* revokes: finish, commit, leave */
                for (hd_part_t *p = w->parts; p; p = p->next)
                        hd_rt_inbox_clear(p); /* messages go before their consumer */
                rd_kafka_destroy(w->consumer);
        }
        if (w->slots)
                hd_rt_workers_stop(w);
        hd_rt_drain_results(w);
        hd_rt_intake_stop(w);
        if (w->producer) {
                rd_kafka_flush(w->producer, 10000);
                rd_kafka_destroy(w->producer);
        }
        while (w->parts) {
                hd_part_t *p = w->parts;
                w->parts = p->next;
                hd_rt_inbox_clear(p);
                free(p->inbox);
                hd_tracker_destroy(p->tracker);
                free(p->topic);
                free(p);
        }
        snprintf(counts, sizeof(counts), "%ld delivered, %ld dead-lettered, %ld retried, "
                 "%ld disabled", w->delivered, w->dead, w->retried, w->disabled);
        hd_logkv(HD_LOG_INFO, w->ch->name, counts, NULL);
        hd_rt_metrics_stop(&w->metrics);
        if (w->dispatch)
                hd_dispatch_destroy(w->dispatch);
        hd_subs_close(w->subs);
        if (w->kafka_efd >= 0)
                close(w->kafka_efd);
        if (w->wake_efd >= 0)
                close(w->wake_efd);
        hd_serde_destroy(w->serde);
        hd_registry_destroy(w->reg);
        free(w->dlq_topic);
        free(w);
}
