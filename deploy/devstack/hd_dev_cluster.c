/* hd_dev_cluster: the mock Kafka cluster and herald's topics (see hd_dev.h). */
#include "hd_dev.h"
#include "hd_kafka.h"
#include "hd_log.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int hd_dev_topic(hd_dev_t *dev, const char *topic, int partitions,
                        char *errstr, size_t errstr_size)
{
        int rf = dev->cfg->dev.brokers < 3 ? dev->cfg->dev.brokers : 3;
        rd_kafka_resp_err_t err;

        err = rd_kafka_mock_topic_create(dev->mcluster, topic, partitions, rf);
        if (err)
                return hd_seterr(errstr, errstr_size, "creating topic %s: %s", topic,
                                 rd_kafka_err2str(err));
        hd_logkv(HD_LOG_INFO, "dev", "topic created", "topic", topic, NULL);
        return 0;
}

static int hd_dev_topics(hd_dev_t *dev, char *errstr, size_t errstr_size)
{
        const hd_config_t *cfg = dev->cfg;
        const char *groups[] = {cfg->webhook.group, cfg->email.group};

        if (hd_dev_topic(dev, cfg->topics.ordered, cfg->topics.ordered_partitions, errstr,
                         errstr_size) ||
            hd_dev_topic(dev, cfg->topics.unordered, cfg->topics.unordered_partitions,
                         errstr, errstr_size) ||
            hd_dev_topic(dev, cfg->topics.subscriptions, 1, errstr, errstr_size) ||
            hd_dev_topic(dev, cfg->topics.schemas, 1, errstr, errstr_size))
                return -1;
        for (size_t i = 0; i < HD_ARRAY_SIZE(groups); i++) {
                char *dlq = hd_config_dlq_topic(groups[i]);
                int r = hd_dev_topic(dev, dlq, cfg->topics.dlq_partitions, errstr,
                                     errstr_size);
                free(dlq);
                if (r)
                        return -1;
        }
        return 0;
}

/* Whether the socket fd listens on one of bootstrap's "127.0.0.1:PORT" entries. */
static int hd_dev_is_listener(int fd, const char *bootstrap)
{
        struct sockaddr_in sa;
        socklen_t salen = sizeof(sa), len = sizeof(int);
        int listening = 0;
        char port[16];
        const char *at;

        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) || !listening ||
            getsockname(fd, (struct sockaddr *)&sa, &salen) || sa.sin_family != AF_INET)
                return 0;
        snprintf(port, sizeof(port), ":%u", (unsigned)ntohs(sa.sin_port));
        for (at = bootstrap; (at = strstr(at, port)); at += strlen(port))
                if (at[strlen(port)] == ',' || at[strlen(port)] == '\0')
                        return 1;
        return 0;
}

/*
 * Sets TCP_NODELAY on the mock brokers' listening sockets (on Linux the
 * connections they accept inherit it), as a real Kafka broker sets it on every
 * connection. Without it a small response waits behind Nagle's algorithm while
 * the one before it is unacknowledged, until the client's delayed ACK (~40 ms):
 * at the end of a burst of produce requests, a stall a real broker never adds.
 * librdkafka creates the listeners itself, so they are found among this
 * process's descriptors by their ports.
 */
static void hd_dev_listeners_nodelay(const char *bootstrap)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int on = 1;

        if (!d)
                return;
        while ((e = readdir(d))) {
                int fd = atoi(e->d_name);
                if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd != dirfd(d) &&
                    hd_dev_is_listener(fd, bootstrap) &&
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)))
                        hd_logkv(HD_LOG_WARN, "dev", "TCP_NODELAY on a mock broker failed",
                                 "error", strerror(errno), NULL);
        }
        closedir(d);
}

int hd_dev_cluster_start(hd_dev_t *dev, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char err[512];

        /* The host client never talks to a broker; it only owns the mock's thread. */
        if (hd_kafka_conf_set(conf, "client.id", "herald-dev", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "log_level", "4", errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        dev->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!dev->host) {
                rd_kafka_conf_destroy(conf);
                return hd_seterr(errstr, errstr_size, "creating host client: %s", err);
        }
        dev->mcluster = rd_kafka_mock_cluster_new(dev->host, dev->cfg->dev.brokers);
        if (!dev->mcluster)
                return hd_seterr(errstr, errstr_size, "creating the mock cluster failed");
        hd_strlcpy(dev->bootstrap, rd_kafka_mock_cluster_bootstraps(dev->mcluster),
                   sizeof(dev->bootstrap));
        hd_dev_listeners_nodelay(dev->bootstrap);
        return hd_dev_topics(dev, errstr, errstr_size);
}

/* Answers only when a real client can fetch metadata for every topic. */
int hd_dev_cluster_check(hd_dev_t *dev, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        const char *topics[] = {dev->cfg->topics.ordered, dev->cfg->topics.unordered,
                                dev->cfg->topics.subscriptions, dev->cfg->topics.schemas};
        char err[512];
        rd_kafka_t *rk;
        int r = 0;

        if (hd_kafka_conf_set(conf, "bootstrap.servers", dev->bootstrap, errstr,
                              errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
                rd_kafka_conf_destroy(conf);
                return hd_seterr(errstr, errstr_size, "check client: %s", err);
        }
        for (size_t i = 0; i < HD_ARRAY_SIZE(topics) && !r; i++)
                if (hd_kafka_partition_count(rk, topics[i], 10000, errstr, errstr_size) < 1)
                        r = -1;
        rd_kafka_destroy(rk);
        return r;
}

void hd_dev_cluster_stop(hd_dev_t *dev)
{
        if (dev->mcluster)
                rd_kafka_mock_cluster_destroy(dev->mcluster);
        if (dev->host)
                rd_kafka_destroy(dev->host);
        dev->mcluster = NULL;
        dev->host = NULL;
}
