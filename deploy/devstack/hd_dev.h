/*
 * herald dev: the embedded default stack for development and tests. It hosts
 * librdkafka's mock cluster in-process, creates herald's topics, runs
 * herald-registry against it as a child process and registers the catalogue.
 */
#ifndef HD_DEV_H
#define HD_DEV_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <sys/types.h>
#include "hd_config.h"

typedef struct hd_dev {
        const hd_config_t *cfg;
        rd_kafka_t *host;                /* the client whose thread hosts the cluster */
        rd_kafka_mock_cluster_t *mcluster;
        char bootstrap[512];
        pid_t registry_pid;
        int registry_out;                /* registry's stdout, drained at stop */
        char registry_url[256];
} hd_dev_t;

/* hd_dev_cluster.c */
int hd_dev_cluster_start(hd_dev_t *dev, char *errstr, size_t errstr_size);
int hd_dev_cluster_check(hd_dev_t *dev, char *errstr, size_t errstr_size);
void hd_dev_cluster_stop(hd_dev_t *dev);

/* hd_dev_registry.c */
int hd_dev_registry_start(hd_dev_t *dev, char *errstr, size_t errstr_size);
int hd_dev_registry_register_catalogue(hd_dev_t *dev, char *errstr, size_t errstr_size);
void hd_dev_registry_stop(hd_dev_t *dev);

#endif
