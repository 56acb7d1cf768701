/*
 * hd_reg_kafka: herald-registry's durable log. Records use Confluent's key/value
 * JSON, on partition 0 of the single-partition `_schemas` topic.
 */
#include "hd_reg_internal.h"
#include "hd_kafka.h"
#include "hd_log.h"
#include "hd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hd_reg_ack {
        int done;
        rd_kafka_resp_err_t err;
} hd_reg_ack_t;

static void hd_reg_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        hd_reg_ack_t *ack = m->_private;

        (void)rk, (void)opaque;
        ack->err = m->err;
        ack->done = 1;
}

int hd_reg_producer_open(hd_reg_store_t *st, const char *bootstrap, char *errstr,
                         size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char err[512];

        if (hd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "linger.ms", "0", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "client.id", "herald-registry", errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rd_kafka_conf_set_dr_msg_cb(conf, hd_reg_dr);
        if (!(st->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
                rd_kafka_conf_destroy(conf);
                return hd_seterr(errstr, errstr_size, "kafka producer: %s", err);
        }
        return 0;
}

int hd_reg_write(hd_reg_store_t *st, json_t *key, json_t *value, char *errstr,
                 size_t errstr_size)
{
        char *k = json_dumps(key, JSON_COMPACT), *v = value ? json_dumps(value, JSON_COMPACT) : NULL;
        hd_reg_ack_t ack = {0};
        int64_t deadline = hd_mono_us() + 30 * 1000000LL;
        rd_kafka_resp_err_t err;

        err = rd_kafka_producev(st->producer, RD_KAFKA_V_TOPIC(st->topic),
                                RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_KEY(k, strlen(k)),
                                RD_KAFKA_V_VALUE(v, v ? strlen(v) : 0),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_OPAQUE(&ack), RD_KAFKA_V_END);
        while (!err && !ack.done && hd_mono_us() < deadline)
                rd_kafka_poll(st->producer, 100);
        if (!err && !ack.done) {
                /* The opaque lives on this stack: drop the message before returning. */
                rd_kafka_purge(st->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                while (!ack.done)
                        rd_kafka_poll(st->producer, 100);
                err = RD_KAFKA_RESP_ERR__TIMED_OUT;
        }
        if (!err)
                err = ack.err;
        free(k);
        free(v);
        if (err)
                return hd_seterr(errstr, errstr_size, "writing to %s: %s", st->topic,
                                 rd_kafka_err2str(err));
        hd_reg_apply(st, key, value);
        return 0;
}

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

static rd_kafka_t *hd_reg_reader(const char *bootstrap, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char err[512];
        rd_kafka_t *rk;

        /* No commits: the registry always rebuilds from the beginning. */
        if (hd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "group.id", "herald-registry-reader", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
                rd_kafka_conf_destroy(conf);
                hd_seterr(errstr, errstr_size, "kafka consumer: %s", err);
        }
        return rk;
}

int hd_reg_replay(hd_reg_store_t *st, const char *bootstrap, char *errstr,
                  size_t errstr_size)
{
        rd_kafka_t *rk = hd_reg_reader(bootstrap, errstr, errstr_size);
        rd_kafka_topic_partition_list_t *asg;
        rd_kafka_resp_err_t err;
        int64_t lo = 0, hi = 0, next = 0, deadline;
        int r = 0;

        if (!rk)
                return -1;
        err = rd_kafka_query_watermark_offsets(rk, st->topic, 0, &lo, &hi, 15000);
        if (err) {
                rd_kafka_destroy(rk);
                return hd_seterr(errstr, errstr_size, "%s: watermarks: %s", st->topic,
                                 rd_kafka_err2str(err));
        }
        asg = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(asg, st->topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, asg);
        rd_kafka_topic_partition_list_destroy(asg);
        next = lo;
        deadline = hd_mono_us() + 60 * 1000000LL;
        while (next < hi && hd_mono_us() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                if (!m)
                        continue;
                if (!m->err) {
                        hd_reg_replay_msg(st, m);
                        next = m->offset + 1;
                }
                rd_kafka_message_destroy(m);
        }
        if (next < hi)
                r = hd_seterr(errstr, errstr_size, "%s: read %lld of %lld records in 60 s",
                              st->topic, (long long)(next - lo), (long long)(hi - lo));
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return r;
}
