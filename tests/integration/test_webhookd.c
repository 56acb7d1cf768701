/*
 * herald-webhookd end to end on the dev stack with real HTTPS receivers
 * (herald listen): every event delivered and verified, per-account order, a flaky
 * endpoint (30 % 5xx, random delays) still gets everything, a failing endpoint
 * dead-letters with reason headers while other subscriptions flow, 410 disables
 * the subscription, poison bytes are dead-lettered and the stream goes on, and a
 * restarted daemon resumes after what it committed (no duplicates).
 */
#include "herald/herald.h"
#include "hd_config.h"
#include "hd_subs.h"
#include "hd_test.h"
#include "hd_testevents.h"
#include "hd_testenv.h"
#include "hd_util.h"

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <unistd.h>

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define NACC 4
#define NSVC 40

static hd_testenv_t env;
static char conf[700], tls[600];
static char *ids[NSVC + 1];

typedef struct { pid_t pid; char port[16]; char out[700]; } rx_t;

static void buf_append(char **buf, const char *d, size_t n)
{
        size_t len = strlen(*buf);
        *buf = realloc(*buf, len + n + 1);
        memcpy(*buf + len, d, n);
        (*buf)[len + n] = '\0';
}

static void start_rx(rx_t *rx, const char *name, const char *o1, const char *v1,
                     const char *o2, const char *v2)
{
        char cert[700], key[700];
        char *argv[] = {"herald-listen", "--listen", "127.0.0.1:0", "--cert", cert, "--key", key,
                        "--secret", SECRET, "--out", rx->out, (char *)o1, (char *)v1,
                        (char *)o2, (char *)v2, NULL};

        snprintf(cert, sizeof(cert), "%s/server.pem", tls);
        snprintf(key, sizeof(key), "%s/server-key.pem", tls);
        snprintf(rx->out, sizeof(rx->out), "%s/%s.jsonl", hd_test_tmpdir(), name);
        unlink(rx->out);
        rx->pid = hd_test_spawn(argv, "herald listen: listening on https://127.0.0.1:",
                                rx->port, sizeof(rx->port), 10000);
        HD_CHECK(rx->pid > 0);
}

/* Lines of a receiver's output; counts 204-answered distinct ids. */
static json_t *rx_lines(const rx_t *rx)
{
        char err[256], *text = hd_read_file(rx->out, 8 << 20, NULL, err, sizeof(err)), *save = NULL;
        json_t *arr = json_array();

        for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
                json_t *j = json_loads(l, 0, NULL);
                if (j)
                        json_array_append_new(arr, j);
        }
        free(text);
        return arr;
}

static int rx_delivered(const rx_t *rx)
{
        json_t *arr = rx_lines(rx), *seen = json_object(), *l;
        size_t i;
        int n;

        json_array_foreach(arr, i, l)
                if (json_is_true(json_object_get(l, "valid")) &&
                    json_integer_value(json_object_get(l, "status")) == 204)
                        json_object_set_new(seen, json_string_value(json_object_get(l, "id")),
                                            json_true());
        n = (int)json_object_size(seen);
        json_decref(seen);
        json_decref(arr);
        return n;
}

static int rx_count(void *rx)
{
        return rx_delivered(rx);
}

static void create_sub_auth(const char *id, const char *types, const char *host,
                            const char *auth)
{
        char json[1024], *out = NULL, *err = NULL;
        char *argv[] = {"herald-sub", "--config", conf, "create", "--file", "-", NULL};

        snprintf(json, sizeof(json),
                 "{\"id\":\"%s\",\"channel\":\"webhook\",\"event_types\":%s,\"webhook\":{"
                 "\"url\":\"https://%s/hook\",\"secrets\":[\"" SECRET "\"],%s"
                 "\"parameters\":{\"t\":\"{{event.type}}\"}}}", id, types, host, auth);
        HD_CHECK_MSG(hd_test_run(argv, json, &out, &err) == 0, "sub %s: %s", id, err);
        free(out), free(err);
}

static void create_sub(const char *id, const char *types, const char *host)
{
        create_sub_auth(id, types, host, "");
}

static void write_config(rx_t *rx)
{
        FILE *fp;

        snprintf(conf, sizeof(conf), "%s/whd.conf", hd_test_tmpdir());
        fp = fopen(conf, "w");
        fprintf(fp, "kafka = { bootstrap_servers = \"%s\"; session_timeout_ms = 6000; };\n"
                    "registry = { urls = [\"%s\"]; };\n"
                    "webhook = { tls = { ca_file = \"%s/ca.pem\"; };\n"
                    "  retry_schedule = \"0s,10ms,20ms,20ms,20ms,20ms,20ms,20ms,20ms,20ms\";\n"
                    "  commit_interval_ms = 50; revoke_timeout_ms = 2000;\n"
                    "  metrics_listen = \"127.0.0.1:0\";\n"
                    "  connect_to = [ \"a.dev.test:443:127.0.0.1:%s\", \"b.dev.test:443:127.0.0.1:%s\",\n"
                    "                 \"c.dev.test:443:127.0.0.1:%s\", \"d.dev.test:443:127.0.0.1:%s\",\n"
                    "                 \"e.dev.test:443:127.0.0.1:%s\" ]; };\n",
                env.bootstrap, env.registry_url, tls, rx[0].port, rx[1].port, rx[2].port,
                rx[3].port, rx[4].port);
        fclose(fp);
}

static void produce_events(int first, int n)
{
        herald_producer_t *p = NULL;
        char err[256];

        HD_CHECK_MSG(herald_producer_new(conf, &p, err, sizeof(err)) == HERALD_OK, "%s", err);
        if (!p)
                return;
        HD_CHECK_INT_EQ(hd_test_emit_services(p, first, n, "ACC-%d", NACC, "svc-%02d", ids), 0);
        for (int i = 0; first == 0 && i < 5; i++) { /* invoice.posted -> sB (always 500) */
                herald_event_t *ev = NULL;
                herald_event_from_json(
                        "{\"type\":\"invoice.posted\",\"account_id\":\"ACC-9\",\"data\":{\"account\":"
                        "{\"name\":\"n\"},\"invoice\":{\"id\":\"i\",\"number\":\"1\",\"total\":"
                        "{\"amount_minor\":1,\"currency\":\"EUR\"},\"issue_date\":\"d\","
                        "\"due_date\":\"d\"}}}", &ev, err, sizeof(err));
                HD_CHECK(herald_emit(p, ev, NULL, NULL, err, sizeof(err)) == HERALD_OK);
                herald_event_destroy(ev);
        }
        for (int i = 0; first == 0 && i < 3; i++) { /* payment.failed -> sC (410) */
                herald_event_t *ev = NULL;
                herald_event_from_json(
                        "{\"type\":\"payment.failed\",\"account_id\":\"ACC-8\",\"data\":{\"account\":"
                        "{\"name\":\"n\"},\"payment\":{\"id\":\"p\",\"amount\":{\"amount_minor\":1,"
                        "\"currency\":\"EUR\"},\"method\":\"card\"},\"failure\":{\"code\":\"c\","
                        "\"reason\":\"r\"}}}", &ev, err, sizeof(err));
                HD_CHECK(herald_emit(p, ev, NULL, NULL, err, sizeof(err)) == HERALD_OK);
                herald_event_destroy(ev);
        }
        HD_CHECK(herald_flush(p, 10000, err, sizeof(err)) == HERALD_OK);
        herald_producer_destroy(p);
}

static void produce_poison(void)
{
        char err[256];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_t *rk;

        rd_kafka_conf_set(c, "bootstrap.servers", env.bootstrap, err, sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("billing.events.ordered"), RD_KAFKA_V_KEY("ACC-0", 5),
                          RD_KAFKA_V_VALUE("\0\0\0\0\1\xff\xff", 7),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        rd_kafka_flush(rk, 10000);
        rd_kafka_destroy(rk);
}

static char metrics_url[200];

static pid_t start_daemon(void)
{
        char rest[200], *at;
        char *argv[] = {"herald-webhookd", "--config", conf, NULL};
        pid_t pid = hd_test_spawn(argv, "herald-webhookd: consuming", rest, sizeof(rest), 30000);

        HD_CHECK_MSG(pid > 0, "herald-webhookd did not start");
        at = strstr(rest, "http://");
        snprintf(metrics_url, sizeof(metrics_url), "%s", at ? at : "");
        return pid;
}

static size_t on_body(char *d, size_t s, size_t n, void *o)
{
        buf_append(o, d, s * n);
        return s * n;
}

/* The Prometheus text of the running daemon. */
static char *scrape(void)
{
        CURL *c = curl_easy_init();
        char *text = calloc(1, 1);

        curl_easy_setopt(c, CURLOPT_URL, metrics_url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &text);
        curl_easy_perform(c);
        curl_easy_cleanup(c);
        return text;
}

/* The per-account order of sA's deliveries is the production order. */
static void check_order(const rx_t *a)
{
        json_t *arr = rx_lines(a), *l, *seen = json_object();
        int next[NACC] = {0}, bad = 0;
        size_t i;

        for (int k = 0; k < NACC; k++)
                next[k] = k;
        json_array_foreach(arr, i, l) {
                const char *id = json_string_value(json_object_get(l, "id"));
                const char *acct = json_string_value(json_object_get(l, "account"));
                int k;
                if (json_integer_value(json_object_get(l, "status")) != 204 || !acct ||
                    json_object_get(seen, id))
                        continue;
                json_object_set_new(seen, id, json_true());
                k = atoi(acct + 4);
                if (k < 0 || k >= NACC || next[k] >= NSVC || !strstr(id, ids[next[k]]))
                        bad++;
                next[k] += NACC;
        }
        HD_CHECK_INT_EQ(bad, 0);
        json_decref(seen);
        json_decref(arr);
}

typedef struct { int n, retries_exhausted, poison, headers_ok; } dlq_t;

static int read_dlq(void *arg)
{
        dlq_t *d = arg;
        char err[256];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(3);
        rd_kafka_t *rk;
        int64_t want = 0, deadline = hd_mono_us() + 3000000;

        memset(d, 0, sizeof(*d));
        rd_kafka_conf_set(c, "bootstrap.servers", env.bootstrap, err, sizeof(err));
        rd_kafka_conf_set(c, "group.id", "test-dlq-reader", err, sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
        for (int p = 0; p < 3; p++) {
                int64_t lo = 0, hi = 0;
                rd_kafka_query_watermark_offsets(rk, "herald.herald-webhookd.dlq", p, &lo, &hi, 5000);
                want += hi - lo;
                rd_kafka_topic_partition_list_add(l, "herald.herald-webhookd.dlq", p)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
        }
        rd_kafka_assign(rk, l);
        while (d->n < want && hd_mono_us() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                rd_kafka_headers_t *h = NULL;
                const void *v;
                size_t sz;
                if (!m)
                        continue;
                if (!m->err && !rd_kafka_message_headers(m, &h)) {
                        char cls[64] = "", sub[64] = "", status[16] = "";
                        if (!rd_kafka_header_get_last(h, "herald.error.class", &v, &sz))
                                snprintf(cls, sizeof(cls), "%.*s", (int)sz, (const char *)v);
                        if (!rd_kafka_header_get_last(h, "herald.subscription.id", &v, &sz))
                                snprintf(sub, sizeof(sub), "%.*s", (int)sz, (const char *)v);
                        if (!rd_kafka_header_get_last(h, "herald.last.status", &v, &sz))
                                snprintf(status, sizeof(status), "%.*s", (int)sz, (const char *)v);
                        d->n++;
                        d->retries_exhausted += !strcmp(cls, "retries_exhausted") &&
                                                !strcmp(sub, "sB") && !strcmp(status, "500");
                        d->poison += !strcmp(cls, "malformed_avro");
                        d->headers_ok += !rd_kafka_header_get_last(h, "herald.original.offset", &v, &sz);
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return d->n;
}

static int sub_disabled(void *arg)
{
        json_t *s = hd_subs_get(arg, "sC");
        int d = s && json_is_string(json_object_get(s, "disabled"));

        json_decref(s);
        return d;
}

int main(void)
{
        rx_t rx[5];
        dlq_t dlq;
        hd_config_t *cfg;
        hd_subs_t *subs = NULL;
        char err[256];
        pid_t d;

        if (hd_testenv_start(&env, 0)) {
                HD_CHECK(!"dev stack started");
                return hd_test_finish("test_webhookd");
        }
        unsetenv("HERALD_BOOTSTRAP");
        unsetenv("HERALD_REGISTRY_URL");
        snprintf(tls, sizeof(tls), "%s/tls", env.state_dir);
        start_rx(&rx[0], "a", NULL, NULL, NULL, NULL);
        start_rx(&rx[1], "b", "--status", "500", NULL, NULL);
        start_rx(&rx[2], "c", "--status", "410", NULL, NULL);
        start_rx(&rx[3], "d", "--fail-rate", "0.3", "--delay-ms", "0-20");
        start_rx(&rx[4], "e", "--require-auth", "Bearer e2e-t0ken", NULL, NULL);
        write_config(rx);
        create_sub("sA", "[\"account.*\"]", "a.dev.test");
        create_sub("sB", "[\"invoice.*\"]", "b.dev.test");
        create_sub("sC", "[\"payment.*\"]", "c.dev.test");
        create_sub("sD", "[\"account.service.*\"]", "d.dev.test");
        /* Extra auth end to end: the receiver answers 401 without this exact header. */
        create_sub_auth("sE", "[\"account.service.state_changed\"]", "e.dev.test",
                        "\"auth\":{\"type\":\"bearer\",\"token\":\"e2e-t0ken\"},");
        produce_events(0, NSVC);
        produce_poison();

        d = start_daemon();
        HD_CHECK_INT_EQ(hd_test_wait_for(rx_count, &rx[0], NSVC, 60000), NSVC);
        HD_CHECK_INT_EQ(hd_test_wait_for(rx_count, &rx[3], NSVC, 60000), NSVC); /* flaky, all in */
        HD_CHECK_INT_EQ(hd_test_wait_for(rx_count, &rx[4], NSVC, 60000), NSVC); /* bearer auth */
        HD_CHECK_INT_EQ(hd_test_wait_for(read_dlq, &dlq, 6, 30000), 6);
        HD_CHECK_INT_EQ(dlq.retries_exhausted, 5);
        HD_CHECK_INT_EQ(dlq.poison, 1);
        HD_CHECK_INT_EQ(dlq.headers_ok, 6);
        cfg = hd_config_load(conf, err, sizeof(err));
        subs = cfg ? hd_subs_open(cfg, err, sizeof(err)) : NULL;
        HD_CHECK_MSG(subs && hd_test_wait_for(sub_disabled, subs, 1, 10000) == 1, "sC not disabled");
        check_order(&rx[0]);
        /* Retries hold their lane: on the flaky endpoint too, record n+1 of an
         * account is first attempted only after record n was delivered. */
        check_order(&rx[3]);
        {
                char *m = scrape();
                HD_CHECK_CONTAINS(m, "herald_deliveries_total{result=\"dead_lettered\"} 6");
                HD_CHECK_CONTAINS(m, "herald_delivery_attempts_total{class=\"gone\"}");
                HD_CHECK_CONTAINS(m, "herald_delivery_latency_seconds_count");
                HD_CHECK_CONTAINS(m, "herald_consumer_lag{topic=\"billing.events.ordered\"");
                HD_CHECK(strstr(m, "herald_deliveries_total{result=\"delivered\"} 0") == NULL);
                HD_CHECK(strstr(m, SECRET) == NULL);
                free(m);
        }
        HD_CHECK_INT_EQ(hd_test_stop(d, 0), 0); /* clean stop: finish, commit, leave */

        /* Restart: resumes after its commits, no duplicate deliveries. */
        d = start_daemon();
        produce_events(NSVC, 1);
        HD_CHECK_INT_EQ(hd_test_wait_for(rx_count, &rx[0], NSVC + 1, 60000), NSVC + 1);
        {
                json_t *arr = rx_lines(&rx[0]);
                HD_CHECK_INT_EQ(json_array_size(arr), NSVC + 1); /* every line a first delivery */
                json_decref(arr);
        }
        HD_CHECK_INT_EQ(hd_test_stop(d, 0), 0);
        for (int i = 0; i < 5; i++)
                hd_test_stop(rx[i].pid, 0);
        hd_subs_close(subs);
        hd_config_destroy(cfg);
        for (int i = 0; i <= NSVC; i++)
                free(ids[i]);
        HD_CHECK_INT_EQ(hd_testenv_stop(&env), 0);
        hd_log_clear_secrets();
        return hd_test_finish("test_webhookd");
}
