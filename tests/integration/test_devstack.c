/*
 * herald dev end to end: the stack comes up, an event encoded through the serde
 * by this process is produced to the dev broker, and a second process
 * (herald tail) consumes and decodes it. Also: the front command dispatches,
 * `herald dev --help` states the mock cluster's limits, a stop is clean.
 */
#include "hd_catalogue.h"
#include "hd_kafka.h"
#include "hd_registry.h"
#include "hd_serde.h"
#include "hd_test.h"
#include "hd_testenv.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>


static void test_front_and_help(void)
{
        char *argv_help[] = {"herald", "dev", "--help", NULL};
        char *argv_bad[] = {"herald", "no-such-thing", NULL};
        char *out = NULL, *err = NULL;

        HD_CHECK_INT_EQ(hd_test_run(argv_help, NULL, &out, &err), 0);
        HD_CHECK_CONTAINS(out, "THE MOCK CLUSTER IS NOT STORAGE");
        HD_CHECK_CONTAINS(out, "ListOffsets by timestamp returns -1");
        HD_CHECK_CONTAINS(out, "UNKNOWN_MEMBER_ID");
        free(out), free(err);
        HD_CHECK_INT_EQ(hd_test_run(argv_bad, NULL, &out, &err), 127);
        HD_CHECK_CONTAINS(err, "'no-such-thing' is not a herald command");
        free(out), free(err);
}

/* Produces one framed event with a plain librdkafka producer. */
static int produce_frame_tx(const hd_testenv_t *env, const char *topic, const void *buf,
                            size_t len, const char *key, int transactional)
{
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_error_t *e = NULL;
        rd_kafka_t *rk;
        int r;

        rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap, err, sizeof(err));
        if (transactional)
                rd_kafka_conf_set(conf, "transactional.id", "test-tx", err, sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!rk)
                return -1;
        if (transactional && ((e = rd_kafka_init_transactions(rk, 10000)) ||
                              (e = rd_kafka_begin_transaction(rk)))) {
                fprintf(stderr, "transaction: %s\n", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                rd_kafka_destroy(rk);
                return -1;
        }
        r = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_VALUE((void *)buf, len), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (!r && transactional && (e = rd_kafka_commit_transaction(rk, 10000))) {
                fprintf(stderr, "commit: %s\n", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                r = -1;
        }
        if (!r)
                r = rd_kafka_flush(rk, 10000);
        rd_kafka_destroy(rk);
        return r ? -1 : 0;
}

static int produce_frame(const hd_testenv_t *env, const char *topic, const void *buf,
                         size_t len, const char *key)
{
        return produce_frame_tx(env, topic, buf, len, key, 0);
}

static json_t *sample_event(void)
{
        const hd_event_type_t *t = hd_catalogue_find("account.service.state_changed");
        json_t *ev;

        HD_CHECK(t != NULL);
        ev = hd_catalogue_sample(t); /* a representative valid event of that type */
        json_object_set_new(ev, "id", json_string("01890a5d-ac96-774b-bcce-b302099a8057"));
        json_object_set_new(ev, "account_id", json_string("A-42"));
        json_object_set_new(ev, "occurred_at", json_integer(1764000000000));
        json_object_set_new(ev, "source", json_string("test"));
        return ev;
}

static void test_serde_across_processes(hd_testenv_t *env)
{
        char err[HD_ERRSTR_SIZE] = "", subject[300], *out = NULL, *errout = NULL;
        const char *url = env->registry_url;
        hd_registry_opts_t opts = {.urls = &url, .nurls = 1, .timeout_ms = 5000};
        hd_registry_t *reg = hd_registry_new(&opts, err, sizeof(err));
        char *argv[] = {"herald-tail", "--config", env->config_path, "--events-only",
                        "--count", "1", NULL};
        json_t *ev = sample_event(), *got;
        int32_t id = 0;
        int version = 0;
        void *buf = NULL;
        size_t len = 0;
        hd_serde_t *serde;

        HD_CHECK_MSG(reg != NULL, "%s", err);
        if (!reg)
                goto out;
        snprintf(subject, sizeof(subject), "billing.events.ordered-value");
        HD_CHECK_MSG(hd_registry_lookup(reg, subject, hd_catalogue_schema_json(), &id,
                                        &version, err, sizeof(err)) == 0,
                     "catalogue not registered by herald dev: %s", err);
        serde = hd_serde_new(1 << 20, hd_registry_fetch_cb, reg);
        HD_CHECK_MSG(hd_serde_encode(serde, id, ev, &buf, &len, err, sizeof(err)) == 0,
                     "%s", err);
        hd_serde_destroy(serde);
        HD_CHECK(produce_frame(env, "billing.events.ordered", buf, len, "A-42") == 0);
        HD_CHECK_INT_EQ(hd_test_run(argv, NULL, &out, &errout), 0);
        got = json_loads(out ? out : "", 0, NULL);
        HD_CHECK_MSG(got && json_equal(got, ev), "decoded by herald tail: %s (stderr: %s)",
                     out, errout);
        json_decref(got);
        free(out), free(errout);
        /* A key that is not UTF-8 is printed escaped, never a crash. */
        {
                char *argv2[] = {"herald-tail", "--config", env->config_path, NULL};
                HD_CHECK(produce_frame(env, "billing.events.ordered", buf, len, "\xff\xfeK") == 0);
                HD_CHECK_INT_EQ(hd_test_run(argv2, NULL, &out, &errout), 0);
                HD_CHECK_CONTAINS(out, "\"key\":\"\\\\xff\\\\xfeK\"");
                free(out), free(errout);
        }
        /* A partition written by a transaction is read to its end. On real Kafka the
         * commit marker holds the last offset (herald tail then ends on the end-of-
         * partition event); the 2.0.2 mock writes no marker, so here this only shows
         * the transactional path and the event-based end do not break reading. */
        {
                char *argv3[] = {"herald-tail", "--config", env->config_path, "--topic",
                                 "billing.events.unordered", "--events-only", NULL};
                HD_CHECK(produce_frame_tx(env, "billing.events.unordered", buf, len, "T", 1) == 0);
                HD_CHECK_INT_EQ(hd_test_run(argv3, NULL, &out, &errout), 0);
                got = json_loads(out ? out : "", 0, NULL);
                HD_CHECK_MSG(got && json_equal(got, ev), "tail after a transaction: %s", out);
                json_decref(got);
                free(out), free(errout);
        }
out:
        free(buf);
        json_decref(ev);
        hd_registry_destroy(reg);
}

int main(void)
{
        hd_testenv_t env;
        char envfile[700];

        test_front_and_help();
        HD_CHECK(hd_testenv_start(&env, 0) == 0);
        if (env.pid > 0) {
                HD_CHECK(env.registry_url[0] != '\0');
                test_serde_across_processes(&env);
                snprintf(envfile, sizeof(envfile), "%s/env", env.state_dir);
                HD_CHECK_INT_EQ(hd_testenv_stop(&env), 0);
                HD_CHECK_MSG(access(envfile, F_OK) != 0, "%s left behind after stop",
                             envfile);
        }
        hd_catalogue_cleanup();
        return hd_test_finish("test_devstack");
}
