/*
 * herald-registry: a Confluent-compatible schema registry (REST subset, see
 * README.md) storing its state in the `_schemas` topic in Confluent's format.
 * Prints "herald-registry: listening on http://HOST:PORT" once it serves.
 */
#include "hd_config.h"
#include "hd_log.h"
#include "hd_reg_http.h"
#include "hd_reg_store.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char hd_usage[] =
        "usage: herald registry [--config FILE] [--listen HOST:PORT] [--bootstrap BROKERS]\n"
        "                       [--topic TOPIC]\n"
        "Serves the Confluent Schema Registry REST API subset herald and its users need,\n"
        "storing state in TOPIC (topics.schemas, default _schemas) in Confluent's own\n"
        "record format. Defaults: registry_server.listen (127.0.0.1:8081), the config's\n"
        "kafka bootstrap or HERALD_BOOTSTRAP. Port 0 picks a free port. One instance per\n"
        "cluster (single writer). Only compatibility level NONE is accepted for now.\n";

/* "HOST:PORT" or "[V6]:PORT" -> host, port (0..65535). */
static int hd_split_listen(const char *listen, char *host, size_t hsize, int *port)
{
        const char *colon = strrchr(listen, ':'), *h = listen;
        size_t hlen;
        char *end;
        long p;

        if (!colon || colon == listen)
                return -1;
        hlen = (size_t)(colon - listen);
        if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']')
                h++, hlen -= 2;
        if (!hlen || hlen >= hsize)
                return -1;
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        p = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || p < 0 || p > 65535)
                return -1;
        *port = (int)p;
        return 0;
}

static int hd_serve(hd_config_t *cfg, const char *listen, const char *bootstrap,
                    const char *topic, const sigset_t *set)
{
        char err[HD_ERRSTR_SIZE], host[256];
        hd_reg_store_t *st;
        hd_reg_http_t *http;
        int port, bound, sig;

        if (hd_split_listen(listen, host, sizeof(host), &port)) {
                fprintf(stderr, "herald registry: listen address \"%s\" is not HOST:PORT\n",
                        listen);
                return 2;
        }
        if (!(st = hd_reg_store_open(cfg, bootstrap, topic, err, sizeof(err)))) {
                fprintf(stderr, "herald registry: %s\n", err);
                return 1;
        }
        if (!(http = hd_reg_http_start(st, host, port, &bound, err, sizeof(err)))) {
                fprintf(stderr, "herald registry: %s\n", err);
                hd_reg_store_close(st);
                return 1;
        }
        printf(strchr(host, ':') ? "herald-registry: listening on http://[%s]:%d\n"
                                 : "herald-registry: listening on http://%s:%d\n",
               host, bound);
        fflush(stdout);
        hd_logkv(HD_LOG_INFO, "registry", "serving", "topic", topic, NULL);
        do
                sig = sigwaitinfo(set, NULL);
        while (sig != SIGINT && sig != SIGTERM);
        hd_info("registry", "stopping");
        hd_reg_http_stop(http);
        hd_reg_store_close(st);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"config", 1, NULL, 'c'}, {"listen", 1, NULL, 'l'}, {"bootstrap", 1, NULL, 'b'},
                {"topic", 1, NULL, 't'},  {"help", 0, NULL, 'h'},   {NULL, 0, NULL, 0}};
        const char *config = NULL, *listen = NULL, *bootstrap = NULL, *topic = NULL;
        char err[HD_ERRSTR_SIZE];
        hd_config_t *cfg;
        sigset_t set;
        int c, rc;

        while ((c = getopt_long(argc, argv, "c:l:b:t:h", opts, NULL)) != -1) {
                switch (c) {
                case 'c': config = optarg; break;
                case 'l': listen = optarg; break;
                case 'b': bootstrap = optarg; break;
                case 't': topic = optarg; break;
                case 'h': fputs(hd_usage, stdout); return 0;
                default: fputs(hd_usage, stderr); return 2;
                }
        }
        if (!(cfg = hd_config_load(config, err, sizeof(err)))) {
                fprintf(stderr, "herald registry: %s\n", err);
                return 2;
        }
        hd_log_set_level(cfg->log_level);
        bootstrap = bootstrap ? bootstrap : cfg->bootstrap;
        if (!bootstrap) {
                fprintf(stderr, "herald registry: no Kafka bootstrap (--bootstrap, "
                                "kafka.bootstrap_servers or HERALD_BOOTSTRAP)\n");
                hd_config_destroy(cfg);
                return 2;
        }
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        rc = hd_serve(cfg, listen ? listen : cfg->registry_server.listen, bootstrap,
                      topic ? topic : cfg->topics.schemas, &set);
        hd_config_destroy(cfg);
        hd_log_clear_secrets();
        return rc;
}
