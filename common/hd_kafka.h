/*
 * hd_kafka: librdkafka set-up shared by every program: a conf built from the
 * config's `kafka` passthrough plus the effective bootstrap, logs routed through
 * hd_log, and small synchronous helpers (watermarks, waiting for metadata).
 */
#ifndef HD_KAFKA_H
#define HD_KAFKA_H

#include <librdkafka/rdkafka.h>
#include "hd_config.h"

/*
 * New conf with cfg's kafka properties, bootstrap.servers = cfg->bootstrap, and
 * librdkafka's log lines sent to hd_log. Fails when no bootstrap is known.
 */
rd_kafka_conf_t *hd_kafka_conf_new(const hd_config_t *cfg, char *errstr, size_t errstr_size);

/* rd_kafka_conf_set that formats errors as "PROP: problem". */
int hd_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                      char *errstr, size_t errstr_size);

/*
 * A consumer that only ever assign()s and never commits (readers that rebuild
 * state from the beginning: subscriptions cache, registry, tail). Takes conf
 * (destroyed on failure too). group names the client; the group is never joined.
 */
rd_kafka_t *hd_kafka_reader_new(rd_kafka_conf_t *conf, const char *group, int partition_eof,
                                char *errstr, size_t errstr_size);

/*
 * Partitions of an existing topic, or -1 with "unknown topic T". Asks for the
 * whole cluster's metadata: naming one topic would let a broker with automatic
 * topic creation (the mock cluster is one) create it.
 */
int hd_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms,
                             char *errstr, size_t errstr_size);

#endif
