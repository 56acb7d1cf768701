/*
 * herald-webhookd: the webhook consumer group. Joins webhook.group on the ordered
 * and unordered event topics, loads the subscriptions before consuming, and
 * delivers each record to every matching webhook subscription (hd_whd.h).
 * SIGTERM/SIGINT: stop taking records, let in-flight attempts finish within
 * webhook.revoke_timeout_ms, commit what is final, leave the group, exit 0.
 */
#include "hd_kafka.h"
#include "hd_log.h"
#include "hd_whd.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t hd_stop;

static void hd_on_signal(int sig)
{
        (void)sig;
        hd_stop = 1;
}

static void hd_whd_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        (void)rk;
        hd_whd_dlq_report(opaque, m);
}

static int hd_whd_clients(hd_whd_t *w, char *errstr, size_t errstr_size)
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
        rd_kafka_conf_set_dr_msg_cb(pc, hd_whd_dr);
        if (!(w->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err)))) {
                rd_kafka_conf_destroy(pc);
                return hd_seterr(errstr, errstr_size, "kafka producer: %s", err);
        }
        if (!(cc = hd_kafka_conf_new(w->cfg, errstr, errstr_size)))
                return -1;
        /* Offsets are ours to commit: only records whose deliveries are all final. */
        if (hd_kafka_conf_set(cc, "group.id", w->cfg->webhook.group, errstr, errstr_size) ||
            hd_kafka_conf_set(cc, "enable.auto.commit", "false", errstr, errstr_size) ||
            hd_kafka_conf_set(cc, "enable.auto.offset.store", "false", errstr, errstr_size) ||
            hd_kafka_conf_set(cc, "auto.offset.reset", "earliest", errstr, errstr_size)) {
                rd_kafka_conf_destroy(cc);
                return -1;
        }
        rd_kafka_conf_set_opaque(cc, w);
        rd_kafka_conf_set_rebalance_cb(cc, hd_whd_rebalance);
        if (!(w->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof(err)))) {
                rd_kafka_conf_destroy(cc);
                return hd_seterr(errstr, errstr_size, "kafka consumer: %s", err);
        }
        rd_kafka_poll_set_consumer(w->consumer);
        topics = rd_kafka_topic_partition_list_new(2);
        rd_kafka_topic_partition_list_add(topics, w->cfg->topics.ordered, RD_KAFKA_PARTITION_UA);
        rd_kafka_topic_partition_list_add(topics, w->cfg->topics.unordered, RD_KAFKA_PARTITION_UA);
        rd_kafka_subscribe(w->consumer, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        return 0;
}

static int hd_whd_setup(hd_whd_t *w, char *errstr, size_t errstr_size)
{
        const hd_config_t *c = w->cfg;

        if (hd_retry_parse(c->webhook.retry_schedule, &w->sched, errstr, errstr_size))
                return -1;
        for (size_t i = 0; i < c->webhook.allow_cidrs.n && i < HD_ARRAY_SIZE(w->allow); i++)
                hd_cidr_parse(c->webhook.allow_cidrs.v[i], &w->allow[w->nallow++], NULL, 0);
        w->target = (hd_wh_target_opts_t){c->webhook.ca_file,
                                          (const char *const *)c->webhook.connect_to.v,
                                          c->webhook.connect_to.n, w->allow, w->nallow, 5000,
                                          15000};
        w->dlq_topic = hd_config_dlq_topic(c->webhook.group);
        w->seed = (unsigned)getpid();
        w->dispatch = hd_dispatch_new((size_t)c->webhook.max_in_flight);
        if (!(w->reg = hd_registry_from_config(c, errstr, errstr_size)))
                return -1;
        w->serde = hd_serde_new((size_t)c->serde.max_message_bytes, hd_registry_fetch_cb, w->reg);
        /* Subscriptions first: no record is looked at before they are all known. */
        if (!(w->subs = hd_subs_open(c, errstr, errstr_size)))
                return -1;
        if (hd_whd_metrics_start(&w->metrics, c->webhook.metrics_listen, &w->metrics_port,
                                 errstr, errstr_size))
                return -1;
        return hd_whd_workers_start(w, errstr, errstr_size) ? -1
                                                            : hd_whd_clients(w, errstr, errstr_size);
}

static void hd_whd_loop(hd_whd_t *w)
{
        while (!hd_stop) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(w->consumer, 10);
                if (m) {
                        if (!m->err)
                                hd_whd_record(w, m);
                        else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                hd_logkv(HD_LOG_WARN, "webhookd", rd_kafka_message_errstr(m),
                                         NULL);
                        rd_kafka_message_destroy(m);
                }
                hd_whd_drain_results(w);
                hd_whd_fire_timers(w);
                hd_whd_start_ready(w);
                rd_kafka_poll(w->producer, 0);
                hd_whd_flow_control(w);
                if (hd_mono_us() - w->last_commit_us >= w->cfg->webhook.commit_interval_ms * 1000LL) {
                        hd_whd_commit(w, 0);
                        hd_whd_metrics_update(w);
                }
        }
}

static void hd_whd_destroy(hd_whd_t *w)
{
        if (w->consumer) {
                rd_kafka_consumer_close(w->consumer); /* revokes: finish, commit, leave */
                rd_kafka_destroy(w->consumer);
        }
        if (w->nthreads)
                hd_whd_workers_stop(w);
        hd_whd_drain_results(w);
        if (w->producer) {
                rd_kafka_flush(w->producer, 10000);
                rd_kafka_destroy(w->producer);
        }
        while (w->parts) {
                hd_part_t *p = w->parts;
                w->parts = p->next;
                hd_tracker_destroy(p->tracker);
                free(p->topic);
                free(p);
        }
        hd_whd_metrics_stop(&w->metrics);
        hd_dispatch_destroy(w->dispatch);
        hd_subs_close(w->subs);
        hd_serde_destroy(w->serde);
        hd_registry_destroy(w->reg);
        free(w->dlq_topic);
        hd_config_destroy(w->cfg);
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"config", 1, NULL, 'c'}, {"help", 0, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        hd_whd_t w = {0};
        const char *config = NULL;
        char err[HD_ERRSTR_SIZE];
        int c, rc = 0;

        while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
                if (c == 'c')
                        config = optarg;
                else {
                        fputs("usage: herald webhookd [--config FILE]\n"
                              "Delivers events to webhook subscriptions (consumer group "
                              "webhook.group).\n", c == 'h' ? stdout : stderr);
                        return c == 'h' ? 0 : 2;
                }
        }
        if (!(w.cfg = hd_config_load(config, err, sizeof(err)))) {
                fprintf(stderr, "herald webhookd: %s\n", err);
                return 2;
        }
        hd_log_set_level(w.cfg->log_level);
        signal(SIGINT, hd_on_signal);
        signal(SIGTERM, hd_on_signal);
        signal(SIGPIPE, SIG_IGN);
        if (hd_whd_setup(&w, err, sizeof(err))) {
                fprintf(stderr, "herald webhookd: %s\n", err);
                rc = 1;
        } else {
                hd_logkv(HD_LOG_INFO, "webhookd", "running", "group", w.cfg->webhook.group, NULL);
                /* The readiness line operators and tests wait for. */
                printf("herald-webhookd: consuming as group %s, metrics on "
                       "http://127.0.0.1:%d/metrics\n", w.cfg->webhook.group, w.metrics_port);
                fflush(stdout);
                hd_whd_loop(&w);
                hd_logkv(HD_LOG_INFO, "webhookd", "stopping", NULL);
        }
        {
                char counts[160];
                snprintf(counts, sizeof(counts), "%ld delivered, %ld dead-lettered, %ld retried, "
                         "%ld disabled", w.delivered, w.dead, w.retried, w.disabled);
                hd_logkv(HD_LOG_INFO, "webhookd", counts, NULL);
        }
        hd_whd_destroy(&w);
        hd_log_clear_secrets();
        return rc;
}
