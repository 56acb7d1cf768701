/*
 * herald replay end to end on the dev stack (mock Kafka + herald-registry) with
 * herald-webhookd and a real HTTPS receiver (herald listen): every mode's dry run
 * (offsets and totals against the known layout, clamping, the time modes through
 * the client-side search since the mock answers -1), argument errors, refusal
 * while the daemon is a live member (offsets untouched), and --execute to a time
 * followed by a restart of herald-webhookd redelivering exactly the records after
 * that time, with the webhook-ids of their first delivery and nothing else.
 */
#include "herald/herald.h"
#include "hd_test.h"
#include "hd_testevents.h"
#include "hd_testenv.h"
#include "hd_util.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define TOPIC "billing.events.ordered"
#define GROUP "herald-webhookd"
#define N1 12 /* first batch */
#define N2 8  /* second batch, after t_mid */
#define NPART 6

static hd_testenv_t env;
static char conf[700], tls[600], rx_out[700], rx_port[16];
static char *ids[N1 + N2];
static int64_t hi[NPART];

static pid_t start_rx(void)
{
        char cert[700], key[700];
        char *argv[] = {"herald-listen", "--listen", "127.0.0.1:0", "--cert", cert, "--key", key,
                        "--secret", SECRET, "--out", rx_out, NULL};
        pid_t pid;

        snprintf(cert, sizeof(cert), "%s/server.pem", tls);
        snprintf(key, sizeof(key), "%s/server-key.pem", tls);
        snprintf(rx_out, sizeof(rx_out), "%s/rx.jsonl", hd_test_tmpdir());
        unlink(rx_out);
        pid = hd_test_spawn(argv, "herald listen: listening on https://127.0.0.1:", rx_port,
                            sizeof(rx_port), 10000);
        HD_CHECK(pid > 0);
        return pid;
}

/* The receiver's lines: the webhook-id of each valid, answered delivery in order. */
static json_t *rx_ids(void)
{
        json_t *lines = hd_test_rx_delivered(rx_out), *arr = json_array(), *l;
        size_t i;

        json_array_foreach(lines, i, l)
                json_array_append(arr, json_object_get(l, "id"));
        json_decref(lines);
        return arr;
}

static void write_config(void)
{
        FILE *fp;

        snprintf(conf, sizeof(conf), "%s/replay.conf", hd_test_tmpdir());
        fp = fopen(conf, "w");
        fprintf(fp, "kafka = { bootstrap_servers = \"%s\"; session_timeout_ms = 6000; };\n"
                    "registry = { urls = [\"%s\"]; };\n"
                    "webhook = { group = \"" GROUP "\"; tls = { ca_file = \"%s/ca.pem\"; };\n"
                    "  commit_interval_ms = 50; revoke_timeout_ms = 2000;\n"
                    "  metrics_listen = \"\";\n"
                    "  connect_to = [ \"a.dev.test:443:127.0.0.1:%s\" ]; };\n",
                env.bootstrap, env.registry_url, tls, rx_port);
        fclose(fp);
}

static void create_sub(void)
{
        char *out = NULL, *err = NULL;
        char *argv[] = {"herald-sub", "--config", conf, "create", "--file", "-", NULL};
        const char *json = "{\"id\":\"sA\",\"channel\":\"webhook\",\"event_types\":[\"account.*\"],"
                           "\"webhook\":{\"url\":\"https://a.dev.test/hook\",\"secrets\":[\"" SECRET
                           "\"]}}";

        HD_CHECK_MSG(hd_test_run(argv, json, &out, &err) == 0, "sub: %s", err);
        free(out), free(err);
}

static void produce(int first, int n)
{
        herald_producer_t *p = NULL;
        char err[256];

        HD_CHECK_MSG(herald_producer_new(conf, &p, err, sizeof(err)) == HERALD_OK, "%s", err);
        if (!p)
                return;
        HD_CHECK_INT_EQ(hd_test_emit_services(p, first, n, "ACC-%d", 5, "svc-%02d", ids), 0);
        HD_CHECK(herald_flush(p, 10000, err, sizeof(err)) == HERALD_OK);
        herald_producer_destroy(p);
}

/* High watermarks of the topic, read by the test itself (not by the tool). */
static int64_t read_watermarks(void)
{
        char err[256];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_t *rk;
        int64_t total = 0, lo;

        rd_kafka_conf_set(c, "bootstrap.servers", env.bootstrap, err, sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
        for (int p = 0; p < NPART; p++) {
                HD_CHECK(!rd_kafka_query_watermark_offsets(rk, TOPIC, p, &lo, &hi[p], 10000));
                total += hi[p];
        }
        rd_kafka_destroy(rk);
        return total;
}

/* Runs herald-replay with extra arguments; returns the exit status. */
static int replay(char **out, char **err, const char *a1, const char *a2, const char *a3,
                  const char *a4, const char *a5)
{
        char *argv[] = {"herald-replay", "--config", conf, "--group", GROUP, "--topic", TOPIC,
                        (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5, NULL};
        return hd_test_run(argv, NULL, out, err);
}

/* The row of partition p: committed (-1 for "-") and new offset. */
static int row(const char *out, int p, int64_t *committed, int64_t *nw)
{
        const char *l = out ? strstr(out, "notes\n") : NULL;

        for (l = l ? l + 6 : NULL; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                int part;
                char c[32];
                long long n;
                if (sscanf(l, "%d %31s %lld", &part, c, &n) == 3 && part == p) {
                        *committed = strcmp(c, "-") ? atoll(c) : -1;
                        *nw = n;
                        return 0;
                }
        }
        return -1;
}

static void check_total(const char *out, long long redeliver, long long skip)
{
        char want[96];

        snprintf(want, sizeof(want), "total: redeliver %lld, skip %lld,", redeliver, skip);
        HD_CHECK_CONTAINS(out, want);
}

/* Total lag of GROUP on TOPIC by herald status. */
static long long status_lag(void)
{
        char *out = NULL, *err = NULL;
        char *argv[] = {"herald-status", "--config", conf, "--group", GROUP, "--topic", TOPIC,
                        "--json", NULL};
        json_t *j;
        long long lag = -1;

        if (hd_test_run(argv, NULL, &out, &err) == 0 && (j = json_loads(out, 0, NULL))) {
                lag = json_integer_value(json_object_get(
                        json_array_get(json_object_get(j, "groups"), 0), "lag"));
                json_decref(j);
        }
        free(out), free(err);
        return lag;
}

static pid_t start_daemon(void)
{
        char rest[200];
        char *argv[] = {"herald-webhookd", "--config", conf, NULL};
        pid_t pid = hd_test_spawn(argv, "herald-webhookd: consuming", rest, sizeof(rest), 30000);

        HD_CHECK_MSG(pid > 0, "herald-webhookd did not start");
        return pid;
}

/* Waits until the receiver has n deliveries and the group has no lag. */
static void wait_delivered(size_t n)
{
        int64_t deadline = hd_mono_us() + 60 * 1000000LL;
        json_t *a = rx_ids();

        while ((json_array_size(a) < n || status_lag() != 0) && hd_mono_us() < deadline) {
                json_decref(a);
                usleep(100000); /* polling files and offsets for a condition */
                a = rx_ids();
        }
        HD_CHECK_INT_EQ(json_array_size(a), n);
        json_decref(a);
}

static void iso(int64_t ms, char *buf, size_t size)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        char s[32];

        gmtime_r(&t, &tm);
        strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%03dZ", s, (int)(ms % 1000));
}

static int64_t committed_at[NPART], mid_at[NPART];

/* Dry runs of every mode against the layout (the group is at the end). */
static void dry_runs(const char *mid)
{
        char *out = NULL, *err = NULL;
        int64_t c, n;

        HD_CHECK_INT_EQ(replay(&out, &err, "--to-earliest", NULL, NULL, NULL, NULL), 0);
        check_total(out, N1 + N2, 0);
        HD_CHECK_CONTAINS(out, "dry run: nothing changed");
        for (int p = 0; p < NPART; p++) {
                /* a partition without records may never have been committed */
                HD_CHECK(row(out, p, &c, &n) == 0 && (c == hi[p] || (!hi[p] && c == -1)) &&
                         n == 0);
                committed_at[p] = c;
        }
        free(out), free(err);

        HD_CHECK_INT_EQ(replay(&out, &err, "--to-latest", NULL, NULL, NULL, NULL), 0);
        check_total(out, 0, 0);
        free(out), free(err);

        /* the mock answers -1: found by reading timestamps */
        HD_CHECK_INT_EQ(replay(&out, &err, "--to-datetime", mid, NULL, NULL, NULL), 0);
        check_total(out, N2, 0);
        HD_CHECK_CONTAINS(out, "time: search");
        for (int p = 0; p < NPART; p++)
                HD_CHECK(row(out, p, &c, &mid_at[p]) == 0);
        free(out), free(err);

        /* after every record: the broker's -1 is right and is used */
        HD_CHECK_INT_EQ(replay(&out, &err, "--to-datetime", "2100-01-01T00:00:00+02:00", NULL,
                               NULL, NULL), 0);
        check_total(out, 0, 0);
        HD_CHECK_CONTAINS(out, "time: broker");
        free(out), free(err);

        HD_CHECK_INT_EQ(replay(&out, &err, "--by-duration", "P1DT1H", NULL, NULL, NULL), 0);
        check_total(out, N1 + N2, 0);
        free(out), free(err);

        HD_CHECK_INT_EQ(replay(&out, &err, "--shift-by", "-2", NULL, NULL, NULL), 0);
        {
                long long want = 0;
                for (int p = 0; p < NPART; p++) {
                        int64_t w = hi[p] >= 2 ? hi[p] - 2 : 0;
                        want += hi[p] - w;
                        HD_CHECK(row(out, p, &c, &n) == 0 && n == w);
                }
                check_total(out, want, 0);
        }
        free(out), free(err);

        /* clamping both ways, and a partition list */
        HD_CHECK_INT_EQ(replay(&out, &err, "--shift-by", "+5", NULL, NULL, NULL), 0);
        check_total(out, 0, 0);
        HD_CHECK_CONTAINS(out, "clamped to high");
        free(out), free(err);
        HD_CHECK_INT_EQ(replay(&out, &err, "--shift-by", "-1000", NULL, NULL, NULL), 0);
        check_total(out, N1 + N2, 0);
        HD_CHECK_CONTAINS(out, "clamped to low");
        free(out), free(err);
        HD_CHECK_INT_EQ(replay(&out, &err, "--to-offset", "1", "--partitions", "0,2-3", NULL), 0);
        HD_CHECK_CONTAINS(out, "partitions 3\n");
        HD_CHECK(row(out, 0, &c, &n) == 0 && n == (hi[0] ? 1 : 0));
        HD_CHECK(row(out, 2, &c, &n) == 0 && n == (hi[2] ? 1 : 0));
        HD_CHECK(row(out, 1, &c, &n) == -1);
        free(out), free(err);
        HD_CHECK_INT_EQ(replay(&out, &err, "--to-offset", "999999", NULL, NULL, NULL), 0);
        check_total(out, 0, 0);
        HD_CHECK_CONTAINS(out, "clamped to high");
        free(out), free(err);
}

static void expect_error(int status, const char *want, const char *a1, const char *a2,
                         const char *a3, const char *a4)
{
        char *out = NULL, *err = NULL;

        HD_CHECK_INT_EQ(replay(&out, &err, a1, a2, a3, a4, NULL), status);
        HD_CHECK_CONTAINS(err, want);
        free(out), free(err);
}

static void errors(void)
{
        char *out = NULL, *err = NULL;
        char *argv[] = {"herald-replay", "--config", conf, "--group", GROUP, "--topic",
                        "no.such.topic", "--to-earliest", NULL};

        expect_error(2, "bad date-time \"2026-02-30T00:00:00Z\"", "--to-datetime",
                     "2026-02-30T00:00:00Z", NULL, NULL);
        expect_error(2, "bad date-time \"yesterday\"", "--to-datetime", "yesterday", NULL, NULL);
        expect_error(2, "bad duration \"P1M\"", "--by-duration", "P1M", NULL, NULL);
        expect_error(2, "bad offset \"-3\"", "--to-offset", "-3", NULL, NULL);
        expect_error(2, "give exactly one of", "--to-earliest", "--to-latest", NULL, NULL);
        expect_error(2, "give exactly one of", NULL, NULL, NULL, NULL);
        expect_error(1, "partition 6 does not exist: the topic has 6 (0..5)", "--to-earliest",
                     "--partitions", "0,6", NULL);
        expect_error(1, "bad partition list \"1,,2\"", "--to-earliest", "--partitions", "1,,2",
                     NULL);
        HD_CHECK_INT_EQ(hd_test_run(argv, NULL, &out, &err), 1);
        HD_CHECK_CONTAINS(err, "unknown topic no.such.topic");
        free(out), free(err);
}

/* A live herald-webhookd: --execute refuses and changes nothing. */
static void refusal(void)
{
        char *out = NULL, *err = NULL;
        pid_t d = start_daemon();
        int64_t c, n;

        HD_CHECK_INT_EQ(replay(&out, &err, "--to-earliest", "--execute", NULL, NULL, NULL), 1);
        HD_CHECK_CONTAINS(err, "group " GROUP " has other active members");
        HD_CHECK(strstr(out, "applied") == NULL);
        free(out), free(err);
        HD_CHECK_INT_EQ(hd_test_stop(d, 0), 0);
        HD_CHECK_INT_EQ(replay(&out, &err, "--to-latest", NULL, NULL, NULL, NULL), 0);
        for (int p = 0; p < NPART; p++)
                HD_CHECK(row(out, p, &c, &n) == 0 && c == committed_at[p]);
        free(out), free(err);
}

/*
 * Commits the current ends with completion marks saying the next 1000 records
 * are already delivered, as a member of the group (the mock refuses member-less
 * commits): a replay that kept such metadata would make the daemon skip them.
 */
static void plant_marks(void)
{
        char err[256];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(2), *asg = NULL;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
        int64_t deadline = hd_mono_us() + 60 * 1000000LL;
        rd_kafka_t *rk;

        rd_kafka_conf_set(c, "bootstrap.servers", env.bootstrap, err, sizeof(err));
        rd_kafka_conf_set(c, "group.id", GROUP, err, sizeof(err));
        rd_kafka_conf_set(c, "session.timeout.ms", "6000", err, sizeof(err));
        rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
        rd_kafka_poll_set_consumer(rk);
        rd_kafka_topic_partition_list_add(sub, TOPIC, RD_KAFKA_PARTITION_UA);
        rd_kafka_topic_partition_list_add(sub, "billing.events.unordered", RD_KAFKA_PARTITION_UA);
        rd_kafka_subscribe(rk, sub);
        while ((!asg || asg->cnt == 0) && hd_mono_us() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                if (m)
                        rd_kafka_message_destroy(m);
                if (asg)
                        rd_kafka_topic_partition_list_destroy(asg);
                rd_kafka_assignment(rk, &asg);
        }
        HD_CHECK(asg && asg->cnt == 2 * NPART);
        for (int p = 0; p < NPART; p++) {
                rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(l, TOPIC, p);
                tp->offset = hi[p];
                tp->metadata = hd_strdup("hd1:0,1000");
                tp->metadata_size = strlen("hd1:0,1000");
        }
        HD_CHECK_INT_EQ(rd_kafka_commit(rk, l, 0), 0);
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_topic_partition_list_destroy(sub);
        if (asg)
                rd_kafka_topic_partition_list_destroy(asg);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
}

/* The ids delivered for the second batch, from lines [from, to) of the receiver. */
static json_t *batch2_ids(json_t *all, size_t from, size_t to)
{
        json_t *set = json_object();

        for (size_t i = from; i < to; i++) {
                const char *id = json_string_value(json_array_get(all, i));
                for (int k = N1; k < N1 + N2; k++)
                        if (id && strstr(id, ids[k]))
                                json_object_set_new(set, id, json_true());
        }
        return set;
}

int main(void)
{
        char mid[64], *out = NULL, *err = NULL;
        json_t *all, *first, *again;
        int64_t t_mid, c, n;
        pid_t rx, d;

        if (hd_testenv_start(&env, 0)) {
                HD_CHECK(!"dev stack started");
                return hd_test_finish("test_replay");
        }
        unsetenv("HERALD_BOOTSTRAP");
        unsetenv("HERALD_REGISTRY_URL");
        snprintf(tls, sizeof(tls), "%s/tls", env.state_dir);
        rx = start_rx();
        write_config();
        create_sub();
        produce(0, N1);
        t_mid = hd_now_ms();
        while (hd_now_ms() <= t_mid + 2)
                ; /* the next records must carry a later millisecond timestamp */
        produce(N1, N2);
        HD_CHECK_INT_EQ(read_watermarks(), N1 + N2);
        iso(t_mid + 1, mid, sizeof(mid));

        d = start_daemon();
        wait_delivered(N1 + N2);
        HD_CHECK_INT_EQ(hd_test_stop(d, 0), 0);

        dry_runs(mid);
        errors();
        refusal();

        /* Execute back to t_mid, then the daemon redelivers exactly batch 2. */
        plant_marks();
        HD_CHECK_INT_EQ(replay(&out, &err, "--to-latest", NULL, NULL, NULL, NULL), 0);
        for (int p = 0; p < NPART; p++) {
                char want[64];
                snprintf(want, sizeof(want), "\n%9d  %10lld", p, (long long)hi[p]);
                HD_CHECK_CONTAINS(out, want);
        }
        {
                int marks = 0;
                for (const char *m = out; m && (m = strstr(m, "clears completion marks")); m++)
                        marks++;
                HD_CHECK_INT_EQ(marks, NPART);
        }
        free(out), free(err);
        HD_CHECK_INT_EQ(replay(&out, &err, "--to-datetime", mid, "--execute", NULL, NULL), 0);
        HD_CHECK_CONTAINS(out, "applied: group " GROUP);
        check_total(out, N2, 0);
        free(out), free(err);
        HD_CHECK_INT_EQ(status_lag(), N2);
        HD_CHECK_INT_EQ(replay(&out, &err, "--to-latest", NULL, NULL, NULL, NULL), 0);
        for (int p = 0; p < NPART; p++)
                HD_CHECK(row(out, p, &c, &n) == 0 && c == mid_at[p]);
        HD_CHECK(strstr(out, "clears completion marks") == NULL);
        free(out), free(err);

        d = start_daemon();
        wait_delivered(N1 + N2 + N2);
        HD_CHECK_INT_EQ(hd_test_stop(d, 0), 0);
        all = rx_ids();
        HD_CHECK_INT_EQ(json_array_size(all), N1 + N2 + N2); /* nothing else came */
        first = batch2_ids(all, 0, N1 + N2);
        again = batch2_ids(all, N1 + N2, json_array_size(all));
        HD_CHECK_INT_EQ(json_object_size(first), N2);
        HD_CHECK_INT_EQ(json_object_size(again), N2);
        HD_CHECK(json_equal(first, again)); /* the same webhook-ids as the first time */
        json_decref(first);
        json_decref(again);
        json_decref(all);

        hd_test_stop(rx, 0);
        for (int i = 0; i < N1 + N2; i++)
                free(ids[i]);
        HD_CHECK_INT_EQ(hd_testenv_stop(&env), 0);
        return hd_test_finish("test_replay");
}
