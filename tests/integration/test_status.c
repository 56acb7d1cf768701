/*
 * herald status on the dev broker against known figures: records produced to
 * chosen partitions, a group that consumed some of them (as a real member) and
 * committed, another that committed by hand, one with nothing: committed offset,
 * high watermark and lag per partition, totals per group, the config's groups by
 * default, --group/--topic, the human table, and an unknown topic refused.
 */
#include "hd_test.h"
#include "hd_testenv.h"
#include "hd_util.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <unistd.h>

#define ORD "billing.events.ordered"
#define UNORD "billing.events.unordered"
#define NPART 6

static hd_testenv_t env;
static char conf[700];

/* Partition p of the ordered topic gets 2 * (p + 1) records; unordered [0] gets 3. */
static void produce(void)
{
        char err[256];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_t *rk;

        rd_kafka_conf_set(c, "bootstrap.servers", env.bootstrap, err, sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
        for (int p = 0; p < NPART; p++)
                for (int i = 0; i < 2 * (p + 1); i++)
                        HD_CHECK(!rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(ORD), RD_KAFKA_V_PARTITION(p),
                                                    RD_KAFKA_V_VALUE("x", 1),
                                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                    RD_KAFKA_V_END));
        for (int i = 0; i < 3; i++)
                rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(UNORD), RD_KAFKA_V_PARTITION(0),
                                  RD_KAFKA_V_VALUE("y", 1), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END);
        HD_CHECK_INT_EQ(rd_kafka_flush(rk, 10000), 0);
        rd_kafka_destroy(rk);
}

/*
 * "st-wh" joins as a member, consumes until it has seen all 4 records of the
 * ordered topic's partition 1 and 3 of partition 5's 12, and commits the offsets
 * after what it consumed there.
 */
static void consume_and_commit(void)
{
        char err[256];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1), *l;
        int64_t deadline = hd_mono_us() + 60 * 1000000LL;
        int seen1 = 0, seen5 = 0;
        rd_kafka_t *rk;

        rd_kafka_conf_set(c, "bootstrap.servers", env.bootstrap, err, sizeof(err));
        rd_kafka_conf_set(c, "group.id", "st-wh", err, sizeof(err));
        rd_kafka_conf_set(c, "session.timeout.ms", "6000", err, sizeof(err));
        rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err));
        rd_kafka_conf_set(c, "auto.offset.reset", "earliest", err, sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
        rd_kafka_poll_set_consumer(rk);
        rd_kafka_topic_partition_list_add(sub, ORD, RD_KAFKA_PARTITION_UA);
        rd_kafka_subscribe(rk, sub);
        while ((seen1 < 4 || seen5 < 3) && hd_mono_us() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                if (!m)
                        continue;
                seen1 += !m->err && m->partition == 1;
                seen5 += !m->err && m->partition == 5 && seen5 < 3;
                rd_kafka_message_destroy(m);
        }
        HD_CHECK_INT_EQ(seen1, 4);
        HD_CHECK_INT_EQ(seen5, 3);
        l = rd_kafka_topic_partition_list_new(2);
        rd_kafka_topic_partition_list_add(l, ORD, 1)->offset = 4; /* all of partition 1 */
        rd_kafka_topic_partition_list_add(l, ORD, 5)->offset = 3; /* 3 of 12 */
        HD_CHECK_INT_EQ(rd_kafka_commit(rk, l, 0), 0);
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_topic_partition_list_destroy(sub);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
}

/* "st-other" never joins: a simple commit (allowed for a group without members). */
static void commit_by_hand(void)
{
        char err[256];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2);
        rd_kafka_t *rk;

        rd_kafka_conf_set(c, "bootstrap.servers", env.bootstrap, err, sizeof(err));
        rd_kafka_conf_set(c, "group.id", "st-other", err, sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
        rd_kafka_topic_partition_list_add(l, ORD, 0)->offset = 1;
        rd_kafka_topic_partition_list_add(l, UNORD, 0)->offset = 3;
        HD_CHECK_INT_EQ(rd_kafka_commit(rk, l, 0), 0);
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_destroy(rk);
}

static json_t *status_json(const char *a1, const char *a2, const char *a3, const char *a4)
{
        char *out = NULL, *err = NULL;
        char *argv[] = {"herald-status", "--config", conf, "--json", (char *)a1, (char *)a2,
                        (char *)a3, (char *)a4, NULL};
        json_t *j = NULL;

        HD_CHECK_MSG(hd_test_run(argv, NULL, &out, &err) == 0, "%s", err);
        j = out ? json_loads(out, 0, NULL) : NULL;
        HD_CHECK_MSG(j != NULL, "not JSON: %s", out);
        free(out), free(err);
        return j;
}

static json_t *find_group(json_t *j, const char *name)
{
        size_t i;
        json_t *g;

        json_array_foreach(json_object_get(j, "groups"), i, g)
                if (!strcmp(json_string_value(json_object_get(g, "group")), name))
                        return g;
        return NULL;
}

/* Checks one partition row: committed (-1 = null), high, lag. */
static void check_part(json_t *g, const char *topic, int p, long long committed, long long high,
                       long long lag)
{
        size_t i;
        json_t *r;

        json_array_foreach(json_object_get(g, "partitions"), i, r) {
                json_t *c = json_object_get(r, "committed");
                if (strcmp(json_string_value(json_object_get(r, "topic")), topic) ||
                    json_integer_value(json_object_get(r, "partition")) != p)
                        continue;
                HD_CHECK_MSG((committed < 0 ? json_is_null(c)
                                            : json_integer_value(c) == committed),
                             "%s [%d] committed", topic, p);
                HD_CHECK_INT_EQ(json_integer_value(json_object_get(r, "high")), high);
                HD_CHECK_INT_EQ(json_integer_value(json_object_get(r, "lag")), lag);
                return;
        }
        HD_CHECK_MSG(0, "%s [%d] missing", topic, p);
}

int main(void)
{
        json_t *j, *g;
        char *out = NULL, *err = NULL;
        FILE *fp;

        if (hd_testenv_start(&env, HD_TESTENV_NO_REGISTRY)) {
                HD_CHECK(!"dev stack started");
                return hd_test_finish("test_status");
        }
        unsetenv("HERALD_BOOTSTRAP");
        snprintf(conf, sizeof(conf), "%s/status.conf", hd_test_tmpdir());
        fp = fopen(conf, "w");
        fprintf(fp, "kafka = { bootstrap_servers = \"%s\"; };\n"
                    "webhook = { group = \"st-wh\"; };\nemail = { group = \"st-mail\"; };\n",
                env.bootstrap);
        fclose(fp);
        produce();
        consume_and_commit();
        commit_by_hand();

        /* the config's groups, both topics */
        j = status_json(NULL, NULL, NULL, NULL);
        HD_CHECK_INT_EQ(json_array_size(json_object_get(j, "groups")), 2);
        g = find_group(j, "st-wh");
        HD_CHECK(g != NULL);
        HD_CHECK_INT_EQ(json_array_size(json_object_get(g, "partitions")), 2 * NPART);
        check_part(g, ORD, 0, -1, 2, 2);
        check_part(g, ORD, 1, 4, 4, 0);
        check_part(g, ORD, 5, 3, 12, 9);
        check_part(g, UNORD, 0, -1, 3, 3);
        check_part(g, UNORD, 1, -1, 0, 0);
        /* 42 + 3 records, 4 + 3 of them consumed */
        HD_CHECK_INT_EQ(json_integer_value(json_object_get(g, "lag")), 45 - 7);
        HD_CHECK(json_is_null(json_object_get(g, "members"))); /* the mock cannot list */
        g = find_group(j, "st-mail");
        HD_CHECK(g && json_integer_value(json_object_get(g, "lag")) == 45);
        json_decref(j);

        /* --group and --topic replace the defaults */
        j = status_json("--group", "st-other", "--topic", ORD);
        HD_CHECK_INT_EQ(json_array_size(json_object_get(j, "groups")), 1);
        g = find_group(j, "st-other");
        HD_CHECK(g && json_array_size(json_object_get(g, "partitions")) == NPART);
        if (g) {
                check_part(g, ORD, 0, 1, 2, 1);
                check_part(g, ORD, 3, -1, 8, 8);
                HD_CHECK_INT_EQ(json_integer_value(json_object_get(g, "lag")), 41);
        }
        json_decref(j);

        /* the human table */
        {
                char *argv[] = {"herald-status", "--config", conf, "--group", "st-wh", NULL};
                HD_CHECK_INT_EQ(hd_test_run(argv, NULL, &out, &err), 0);
                HD_CHECK_CONTAINS(out, "group st-wh\n");
                HD_CHECK_CONTAINS(out, "billing.events.ordered                    5             3"
                                       "            12             9\n");
                HD_CHECK_CONTAINS(out, "billing.events.ordered                    0             -"
                                       "             2             2\n");
                HD_CHECK_CONTAINS(out, "total                                                    "
                                       "                          38\n");
                free(out), free(err);
        }
        {
                char *argv[] = {"herald-status", "--config", conf, "--topic", "no.such", NULL};
                HD_CHECK_INT_EQ(hd_test_run(argv, NULL, &out, &err), 1);
                HD_CHECK_CONTAINS(err, "group st-wh: unknown topic no.such");
                free(out), free(err);
        }
        HD_CHECK_INT_EQ(hd_testenv_stop(&env), 0);
        return hd_test_finish("test_status");
}
