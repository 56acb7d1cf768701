/* hd_testkafka: see hd_testkafka.h. */
#include "hd_testkafka.h"
#include "hd_util.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

static json_t *hd_test_record(const rd_kafka_message_t *m)
{
        json_t *o = json_pack("{s:i,s:I}", "partition", (int)m->partition, "offset",
                              (json_int_t)m->offset), *hs = json_object();
        rd_kafka_headers_t *h = NULL;
        const char *name;
        const void *v;
        size_t sz;

        if (m->key)
                json_object_set_new(o, "key", json_stringn(m->key, m->key_len));
        if (!rd_kafka_message_headers(m, &h))
                for (size_t i = 0; !rd_kafka_header_get_all(h, i, &name, &v, &sz); i++)
                        json_object_set_new(hs, name, json_stringn(v ? v : "", v ? sz : 0));
        json_object_set_new(o, "headers", hs);
        return o;
}

json_t *hd_test_read_topic(const char *bootstrap, const char *topic, int timeout_ms)
{
        char err[256];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_topic_t *rkt;
        rd_kafka_t *rk;
        json_t *out = NULL;
        int64_t want = 0, deadline = hd_mono_us() + (int64_t)timeout_ms * 1000;

        rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof(err));
        rd_kafka_conf_set(c, "group.id", "hd-test-reader", err, sizeof(err));
        rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err));
        if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err)))) {
                rd_kafka_topic_partition_list_destroy(l);
                return NULL;
        }
        rkt = rd_kafka_topic_new(rk, topic, NULL);
        if (!rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) && md->topic_cnt == 1 &&
            !md->topics[0].err) {
                for (int p = 0; p < md->topics[0].partition_cnt; p++) {
                        int64_t lo = 0, hi = 0;
                        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, timeout_ms))
                                continue;
                        want += hi - lo;
                        rd_kafka_topic_partition_list_add(l, topic, p)->offset =
                                RD_KAFKA_OFFSET_BEGINNING;
                }
                out = json_array();
        }
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        if (out && l->cnt)
                rd_kafka_assign(rk, l);
        while (out && (int64_t)json_array_size(out) < want && hd_mono_us() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                if (!m)
                        continue;
                if (!m->err)
                        json_array_append_new(out, hd_test_record(m));
                rd_kafka_message_destroy(m);
        }
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return out;
}
