/*
 * herald-webhookd back-pressure end to end on the dev stack: with a small
 * webhook.window and the endpoint down (connection refused), the partitions whose
 * records pile up are paused in librdkafka (herald_partitions_paused), nothing is
 * delivered or dead-lettered meanwhile, and once a receiver listens on the port
 * every event is delivered exactly once, in per-account order, and the partitions
 * are resumed.
 */
#include "herald/herald.h"
#include "hd_test.h"
#include "hd_testevents.h"
#include "hd_testenv.h"
#include "hd_util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define NACC 6
#define NSVC 240
#define WINDOW 4

static hd_testenv_t env;
static char conf[700], tls[600], out[700], port[16], metrics_url[200];
static char *ids[NSVC + 1];

/* A loopback port nobody listens on (yet): connections to it are refused. */
static void free_port(void)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        HD_CHECK(fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
                 !getsockname(fd, (struct sockaddr *)&a, &len));
        snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
        close(fd);
}

static void write_config(void)
{
        char sched[400] = "0s";
        FILE *fp;

        /* ~9 s of retries: longer than the endpoint is down here */
        for (int i = 1; i < 32; i++)
                strcat(sched, ",300ms");
        snprintf(conf, sizeof(conf), "%s/whd.conf", hd_test_tmpdir());
        fp = fopen(conf, "w");
        fprintf(fp, "kafka = { bootstrap_servers = \"%s\"; session_timeout_ms = 6000; };\n"
                    "registry = { urls = [\"%s\"]; };\n"
                    "webhook = { tls = { ca_file = \"%s/ca.pem\"; }; window = %d;\n"
                    "  retry_schedule = \"%s\"; commit_interval_ms = 50;\n"
                    "  metrics_listen = \"127.0.0.1:0\";\n"
                    "  connect_to = [ \"bp.dev.test:443:127.0.0.1:%s\" ]; };\n",
                env.bootstrap, env.registry_url, tls, WINDOW, sched, port);
        fclose(fp);
}

static void create_sub(void)
{
        char *out_text = NULL, *err = NULL;
        char *argv[] = {"herald-sub", "--config", conf, "create", "--file", "-", NULL};
        const char *json = "{\"id\":\"sBP\",\"channel\":\"webhook\",\"event_types\":"
                           "[\"account.service.state_changed\"],\"webhook\":{\"url\":"
                           "\"https://bp.dev.test/hook\",\"secrets\":[\"" SECRET "\"]}}";

        HD_CHECK_MSG(hd_test_run(argv, json, &out_text, &err) == 0, "sub: %s", err);
        free(out_text), free(err);
}

static void produce(void)
{
        herald_producer_t *p = NULL;
        char err[256];

        HD_CHECK_MSG(herald_producer_new(conf, &p, err, sizeof(err)) == HERALD_OK, "%s", err);
        if (!p)
                return;
        HD_CHECK_INT_EQ(hd_test_emit_services(p, 0, NSVC, "ACC-%d", NACC, "svc-%02d", ids), 0);
        HD_CHECK(herald_flush(p, 10000, err, sizeof(err)) == HERALD_OK);
        herald_producer_destroy(p);
}

static size_t on_body(char *d, size_t s, size_t n, void *o)
{
        char **buf = o;
        size_t len = strlen(*buf);

        *buf = hd_realloc(*buf, len + s * n + 1);
        memcpy(*buf + len, d, s * n);
        (*buf)[len + s * n] = '\0';
        return s * n;
}

/* A gauge or counter of the running daemon's metrics (-1: not there). */
static long metric(const char *name)
{
        CURL *c = curl_easy_init();
        char *text = hd_calloc(1, 1), *at, key[120];
        long v = -1;

        curl_easy_setopt(c, CURLOPT_URL, metrics_url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &text);
        curl_easy_perform(c);
        curl_easy_cleanup(c);
        snprintf(key, sizeof(key), "\n%s ", name);
        if ((at = strstr(text, key)))
                v = strtol(at + strlen(key), NULL, 10);
        free(text);
        return v;
}

static int paused(void *arg)
{
        (void)arg;
        return (int)metric("herald_partitions_paused");
}

static int not_paused(void *arg)
{
        (void)arg;
        return metric("herald_partitions_paused") == 0;
}

static int delivered(void *arg)
{
        json_t *arr = hd_test_rx_delivered(out);
        int n = (int)json_array_size(arr);

        (void)arg;
        json_decref(arr);
        return n;
}

/* Every event once, and each account's events in the order they were produced. */
static void check_all_in_order(void)
{
        json_t *arr = hd_test_rx_delivered(out), *l, *seen = json_object();
        int next[NACC], bad = 0, dups = 0;
        size_t i;

        for (int k = 0; k < NACC; k++)
                next[k] = k;
        json_array_foreach(arr, i, l) {
                const char *id = json_string_value(json_object_get(l, "id"));
                const char *acct = json_string_value(json_object_get(l, "account"));
                int k = acct ? atoi(acct + 4) : -1;
                if (!id || json_object_get(seen, id)) {
                        dups++;
                        continue;
                }
                json_object_set_new(seen, id, json_true());
                if (k < 0 || k >= NACC || next[k] >= NSVC || !strstr(id, ids[next[k]]))
                        bad++;
                else
                        next[k] += NACC;
        }
        HD_CHECK_INT_EQ((int)json_object_size(seen), NSVC);
        HD_CHECK_INT_EQ(dups, 0); /* one daemon, no restart: nothing is redelivered */
        HD_CHECK_INT_EQ(bad, 0);
        json_decref(seen);
        json_decref(arr);
}

int main(void)
{
        char cert[700], key[700], listen_at[64], rest[200], *at;
        char *rx_argv[] = {"herald-listen", "--listen", listen_at, "--cert", cert, "--key", key,
                           "--secret", SECRET, "--out", out, NULL};
        char *whd_argv[] = {"herald-webhookd", "--config", conf, NULL};
        pid_t d, rx;

        if (hd_testenv_start(&env, 0)) {
                HD_CHECK(!"dev stack started");
                return hd_test_finish("test_webhookd_backpressure");
        }
        unsetenv("HERALD_BOOTSTRAP");
        unsetenv("HERALD_REGISTRY_URL");
        snprintf(tls, sizeof(tls), "%s/tls", env.state_dir);
        snprintf(cert, sizeof(cert), "%s/server.pem", tls);
        snprintf(key, sizeof(key), "%s/server-key.pem", tls);
        snprintf(out, sizeof(out), "%s/bp.jsonl", hd_test_tmpdir());
        unlink(out);
        free_port();
        write_config();
        create_sub();
        produce();

        d = hd_test_spawn(whd_argv, "herald-webhookd: consuming", rest, sizeof(rest), 30000);
        HD_CHECK_MSG(d > 0, "herald-webhookd did not start");
        at = strstr(rest, "http://");
        snprintf(metrics_url, sizeof(metrics_url), "%s", at ? at : "");

        /* Endpoint down: the records beyond each window wait, and a partition with
         * twice its window waiting for a while is paused. */
        HD_CHECK_MSG(hd_test_wait_for(paused, NULL, 1, 20000) >= 1, "no partition paused");
        HD_CHECK_INT_EQ((int)metric("herald_deliveries_total{result=\"delivered\"}"), 0);
        HD_CHECK_INT_EQ((int)metric("herald_deliveries_total{result=\"dead_lettered\"}"), 0);
        HD_CHECK(metric("herald_deliveries_in_flight") <= WINDOW * 6);

        /* Endpoint back on the same port: everything comes, in order, and the
         * partitions are resumed. */
        snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%s", port);
        rx = hd_test_spawn(rx_argv, "herald listen: listening on https://127.0.0.1:", rest,
                           sizeof(rest), 10000);
        HD_CHECK(rx > 0);
        HD_CHECK_INT_EQ(hd_test_wait_for(delivered, NULL, NSVC, 60000), NSVC);
        HD_CHECK_MSG(hd_test_wait_for(not_paused, NULL, 1, 10000) == 1, "partitions still paused");
        check_all_in_order();
        HD_CHECK_INT_EQ((int)metric("herald_deliveries_total{result=\"dead_lettered\"}"), 0);

        HD_CHECK_INT_EQ(hd_test_stop(d, 0), 0);
        hd_test_stop(rx, 0);
        for (int i = 0; i <= NSVC; i++)
                free(ids[i]);
        HD_CHECK_INT_EQ(hd_testenv_stop(&env), 0);
        return hd_test_finish("test_webhookd_backpressure");
}
