/*
 * hd_reg_kafka: herald-registry's durable log. Records use Confluent's key/value
 * JSON, on partition 0 of the single-partition `_schemas` topic. Both clients are
 * built from the config's `kafka` passthrough (security settings included).
 */
#include "hd_reg_internal.h"
#include "hd_kafka.h"
#include "hd_log.h"
#include "hd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Our own bound on a write when the user did not choose message.timeout.ms. */
#define HD_REG_MSG_TIMEOUT "15000"

typedef struct hd_reg_ack {
        int done;
        rd_kafka_resp_err_t err;
        rd_kafka_msg_status_t status;
} hd_reg_ack_t;

static void hd_reg_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        hd_reg_ack_t *ack = m->_private;

        (void)rk, (void)opaque;
        ack->err = m->err;
        ack->status = rd_kafka_message_status(m);
        ack->done = 1;
}

int hd_reg_producer_open(hd_reg_store_t *st, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_dup(st->conf);
        rd_kafka_topic_conf_t *tconf = rd_kafka_conf_get_default_topic_conf(conf);
        char err[512], cur[32] = "300000";
        size_t n = sizeof(cur);

        /*
         * librdkafka's default (5 min) would hold an HTTP answer far too long. A
         * message.timeout.ms from the passthrough lives in the default topic conf.
         */
        if (tconf)
                rd_kafka_topic_conf_get(tconf, "message.timeout.ms", cur, &n);
        if (!strcmp(cur, "300000") &&
            hd_kafka_conf_set(conf, "message.timeout.ms", HD_REG_MSG_TIMEOUT, errstr,
                              errstr_size))
                goto fail;
        if (hd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "acks", "all", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "linger.ms", "0", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "client.id", "herald-registry", errstr, errstr_size))
                goto fail;
        rd_kafka_conf_set_dr_msg_cb(conf, hd_reg_dr);
        if (!(st->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
                hd_seterr(errstr, errstr_size, "kafka producer: %s", err);
                goto fail;
        }
        return 0;
fail:
        rd_kafka_conf_destroy(conf);
        return -1;
}

/* Waits for the delivery report; librdkafka always sends one within message.timeout.ms. */
static void hd_reg_wait_ack(hd_reg_store_t *st, hd_reg_ack_t *ack)
{
        int64_t deadline = hd_mono_us() + 10 * 60 * 1000000LL;

        while (!ack->done && hd_mono_us() < deadline)
                rd_kafka_poll(st->producer, 100);
        if (!ack->done) {
                /* Cannot happen unless librdkafka hangs; the opaque lives on our stack. */
                rd_kafka_purge(st->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                while (!ack->done)
                        rd_kafka_poll(st->producer, 100);
                ack->status = RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED;
        }
}

int hd_reg_write(hd_reg_store_t *st, json_t *key, json_t *value, char *errstr,
                 size_t errstr_size)
{
        char *k = json_dumps(key, JSON_COMPACT), *v = value ? json_dumps(value, JSON_COMPACT) : NULL;
        hd_reg_ack_t ack = {0};
        rd_kafka_resp_err_t err;

        err = rd_kafka_producev(st->producer, RD_KAFKA_V_TOPIC(st->topic),
                                RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_KEY(k, strlen(k)),
                                RD_KAFKA_V_VALUE(v, v ? strlen(v) : 0),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_OPAQUE(&ack), RD_KAFKA_V_END);
        if (!err) {
                hd_reg_wait_ack(st, &ack);
                err = ack.err;
                /* Maybe written: the next request re-reads the topic before deciding. */
                if (err && ack.status != RD_KAFKA_MSG_STATUS_NOT_PERSISTED)
                        st->stale = 1;
        }
        free(k);
        free(v);
        if (err)
                return hd_seterr(errstr, errstr_size, "writing to %s: %s", st->topic,
                                 rd_kafka_err2str(err));
        hd_reg_apply(st, key, value);
        return 0;
}

/* --- reading ------------------------------------------------------------------------ */

static void hd_reg_replay_msg(hd_reg_store_t *st, const rd_kafka_message_t *m)
{
        json_t *key = m->key ? json_loadb(m->key, m->key_len, 0, NULL) : NULL;
        json_t *value = m->payload ? json_loadb(m->payload, m->len, 0, NULL) : NULL;

        if (!json_is_object(key) || (m->payload && !json_is_object(value))) {
                char off[32];
                snprintf(off, sizeof(off), "%lld", (long long)m->offset);
                hd_logkv(HD_LOG_WARN, "registry", "skipping unreadable record", "topic",
                         st->topic, "offset", off, NULL);
        } else
                hd_reg_apply(st, key, value);
        json_decref(key);
        json_decref(value);
}

/* The registry always rebuilds from the beginning: a reader that never commits.
 * (A consumer does not ask for topic auto-creation by default.) */
static rd_kafka_t *hd_reg_reader(hd_reg_store_t *st, char *errstr, size_t errstr_size)
{
        return hd_kafka_reader_new(rd_kafka_conf_dup(st->conf), "herald-registry-reader", 1,
                                   errstr, errstr_size);
}

/* Partition count of the topic: 0 when it does not exist, -1 on error. */
static int hd_reg_topic_partitions(rd_kafka_t *rk, const char *topic, char *errstr,
                                   size_t errstr_size)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 15000);
        int n = -1;

        if (!err && md->topic_cnt == 1)
                err = md->topics[0].err;
        if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                n = 0;
        else if (err)
                hd_seterr(errstr, errstr_size, "metadata for %s: %s", topic,
                          rd_kafka_err2str(err));
        else
                n = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return n;
}

/* CreateTopics: 1 partition, compacted, the broker's replication factor. */
static int hd_reg_topic_create(hd_reg_store_t *st, char *errstr, size_t errstr_size)
{
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(st->topic, 1, -1, NULL, 0);
        rd_kafka_queue_t *q = rd_kafka_queue_new(st->producer);
        rd_kafka_event_t *ev;
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
        const rd_kafka_CreateTopics_result_t *res;
        const rd_kafka_topic_result_t **tr;
        size_t n = 0;

        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
        rd_kafka_CreateTopics(st->producer, &nt, 1, NULL, q);
        if ((ev = rd_kafka_queue_poll(q, 20000))) {
                err = rd_kafka_event_error(ev);
                if (!err && (res = rd_kafka_event_CreateTopics_result(ev)) &&
                    (tr = rd_kafka_CreateTopics_result_topics(res, &n)) && n == 1)
                        err = rd_kafka_topic_result_error(tr[0]);
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_queue_destroy(q);
        rd_kafka_NewTopic_destroy(nt);
        if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                return hd_seterr(errstr, errstr_size,
                                 "topic %s does not exist and creating it failed (%s): "
                                 "create it with 1 partition and cleanup.policy=compact",
                                 st->topic, rd_kafka_err2str(err));
        hd_logkv(HD_LOG_INFO, "registry", "created topic", "topic", st->topic, NULL);
        return 0;
}

int hd_reg_topic_ensure(hd_reg_store_t *st, char *errstr, size_t errstr_size)
{
        rd_kafka_t *rk = hd_reg_reader(st, errstr, errstr_size);
        int n;

        if (!rk)
                return -1;
        n = hd_reg_topic_partitions(rk, st->topic, errstr, errstr_size);
        rd_kafka_destroy(rk);
        if (n < 0)
                return -1;
        if (n == 0)
                return hd_reg_topic_create(st, errstr, errstr_size);
        if (n > 1) {
                char cnt[16];
                snprintf(cnt, sizeof(cnt), "%d", n);
                /* Confluent's registry refuses such a topic; herald uses partition 0. */
                hd_logkv(HD_LOG_WARN, "registry",
                         "schemas topic has more than one partition; only partition 0 is "
                         "used and Confluent Schema Registry would refuse it",
                         "topic", st->topic, "partitions", cnt, NULL);
        }
        return 0;
}

/* Consumes [lo, hi) of partition 0; 0 when everything up to hi was applied. */
static int hd_reg_consume(hd_reg_store_t *st, rd_kafka_t *rk, int64_t lo, int64_t hi,
                          char *errstr, size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *asg = rd_kafka_topic_partition_list_new(1);
        int64_t next = lo, deadline = hd_mono_us() + 60 * 1000000LL;

        rd_kafka_topic_partition_list_add(asg, st->topic, 0)->offset = lo;
        rd_kafka_assign(rk, asg);
        rd_kafka_topic_partition_list_destroy(asg);
        while (next < hi && hd_mono_us() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                if (!m)
                        continue;
                if (!m->err) {
                        hd_reg_replay_msg(st, m);
                        next = m->offset + 1;
                } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        /* Compaction or control records can leave the last offsets empty. */
                        if (m->offset >= hi)
                                next = hi;
                } else {
                        hd_logkv(HD_LOG_WARN, "registry", "reading schemas topic", "topic",
                                 st->topic, "error", rd_kafka_message_errstr(m), NULL);
                }
                rd_kafka_message_destroy(m);
        }
        if (next < hi)
                return hd_seterr(errstr, errstr_size,
                                 "%s: read %lld of %lld records in 60 s", st->topic,
                                 (long long)(next - lo), (long long)(hi - lo));
        return 0;
}

int hd_reg_replay(hd_reg_store_t *st, char *errstr, size_t errstr_size)
{
        rd_kafka_t *rk = hd_reg_reader(st, errstr, errstr_size);
        rd_kafka_resp_err_t err;
        int64_t lo = 0, hi = 0;
        int r = 0;

        if (!rk)
                return -1;
        err = rd_kafka_query_watermark_offsets(rk, st->topic, 0, &lo, &hi, 15000);
        if (err)
                r = hd_seterr(errstr, errstr_size, "%s: watermarks: %s", st->topic,
                              rd_kafka_err2str(err));
        else if (lo < hi)
                r = hd_reg_consume(st, rk, lo, hi, errstr, errstr_size);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        if (!r) {
                char n[32];
                snprintf(n, sizeof(n), "%lld", (long long)(hi - lo));
                hd_logkv(HD_LOG_INFO, "registry", "state rebuilt", "topic", st->topic,
                         "records", n, NULL);
        }
        return r;
}
