/* hd_kafka: see hd_kafka.h. */
#include "hd_kafka.h"

#include <stdio.h>
#include <string.h>

static void hd_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                            const char *buf)
{
        hd_log_level_t l = level <= 3 ? HD_LOG_ERROR : level <= 4 ? HD_LOG_WARN
                         : level <= 6 ? HD_LOG_INFO : HD_LOG_DEBUG;
        hd_logkv(l, "kafka", buf, "client", rd_kafka_name(rk), "fac", fac, NULL);
}

int hd_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                      char *errstr, size_t errstr_size)
{
        char err[512];

        if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
                return hd_seterr(errstr, errstr_size, "%s: %s", name, err);
        return 0;
}

rd_kafka_conf_t *hd_kafka_conf_new(const hd_config_t *cfg, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf;

        if (!cfg->bootstrap || !*cfg->bootstrap) {
                hd_seterr(errstr, errstr_size,
                          "no Kafka bootstrap servers: set kafka.bootstrap_servers in %s "
                          "or HERALD_BOOTSTRAP (herald dev writes it to STATE_DIR/env)",
                          cfg->path);
                return NULL;
        }
        conf = rd_kafka_conf_new();
        rd_kafka_conf_set_log_cb(conf, hd_kafka_log_cb);
        for (size_t i = 0; i < cfg->nkafka; i++) {
                if (hd_kafka_conf_set(conf, cfg->kafka[i].name, cfg->kafka[i].value,
                                      errstr, errstr_size))
                        goto fail;
        }
        if (hd_kafka_conf_set(conf, "bootstrap.servers", cfg->bootstrap, errstr,
                              errstr_size))
                goto fail;
        return conf;
fail:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

int hd_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                               size_t errstr_size)
{
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
        int n = -1, found = 0;

        if (e)
                return hd_seterr(errstr, errstr_size, "cluster metadata: %s", rd_kafka_err2str(e));
        for (int i = 0; i < md->topic_cnt; i++) {
                const rd_kafka_metadata_topic_t *t = &md->topics[i];
                if (strcmp(t->topic, topic))
                        continue;
                found = 1;
                n = t->err ? hd_seterr(errstr, errstr_size, "topic %s: %s", topic,
                                       rd_kafka_err2str(t->err))
                           : t->partition_cnt;
                break;
        }
        if (!found)
                hd_seterr(errstr, errstr_size, "unknown topic %s (not in the cluster's metadata)",
                          topic);
        rd_kafka_metadata_destroy(md);
        return n;
}

rd_kafka_t *hd_kafka_reader_new(rd_kafka_conf_t *conf, const char *group, int partition_eof,
                                char *errstr, size_t errstr_size)
{
        char err[512];
        rd_kafka_t *rk;

        /* assign() needs a group.id, but nothing is joined or committed. */
        if (hd_kafka_conf_set(conf, "group.id", group, errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "enable.partition.eof", partition_eof ? "true" : "false",
                              errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
                rd_kafka_conf_destroy(conf);
                hd_seterr(errstr, errstr_size, "kafka consumer: %s", err);
        }
        return rk;
}
