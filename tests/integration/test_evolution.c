/*
 * Schema evolution end to end, as the README's example: with herald-webhookd
 * running, a field with a default is added to an event type's data record; the
 * new envelope is checked (`herald schema check`, compatible under the registry's
 * BACKWARD default) and registered (`herald schema register`); an event written
 * with it is delivered by the daemon that was already running, the new field in
 * the body, next to events written with the old schema. A field added without a
 * default is refused by both commands (exit 1) and the registry keeps its version.
 */
#include "hd_log.h"
#include "hd_registry.h"
#include "hd_serde.h"
#include "hd_test.h"
#include "hd_testenv.h"
#include "hd_util.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <unistd.h>

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SUBJECT "billing.events.ordered-value"

static hd_testenv_t env;
static char conf[700], out[700];

static char *run(int want, char *const argv[])
{
        char *o = NULL, *e = NULL;
        int rc = hd_test_run(argv, NULL, &o, &e);

        HD_CHECK_MSG(rc == want, "%s %s: exit %d, want %d: %s%s", argv[0], argv[3], rc, want,
                     o ? o : "", e ? e : "");
        free(e);
        return o;
}

/* The data record of account.service.state_changed's "service" field, in place. */
static json_t *service_record(json_t *node)
{
        size_t i;
        json_t *v;

        if (json_is_array(node)) {
                json_array_foreach(node, i, v) {
                        json_t *r = service_record(v);
                        if (r)
                                return r;
                }
        } else if (json_is_object(node)) {
                const char *name = json_string_value(json_object_get(node, "name"));
                if (name && !strcmp(name, "Service") &&
                    json_is_array(json_object_get(node, "fields")))
                        return node;
                json_object_foreach(node, name, v) {
                        json_t *r = service_record(v);
                        if (r)
                                return r;
                }
        }
        return NULL;
}

/* v1 with one more field in Service; with_default 0 makes it incompatible. */
static void write_evolved(const char *v1, const char *path, int with_default)
{
        json_t *s = json_loads(v1, 0, NULL), *svc = service_record(s);
        json_t *f = with_default
                            ? json_pack("{s:s,s:[s,s],s:n}", "name", "region", "type", "null",
                                        "string", "default")
                            : json_pack("{s:s,s:s}", "name", "sla_class", "type", "string");

        HD_CHECK_MSG(svc != NULL, "Service record in the registered schema");
        if (svc)
                json_array_append(json_object_get(svc, "fields"), f);
        json_dump_file(s, path, JSON_COMPACT);
        json_decref(f);
        json_decref(s);
}

static void produce(const char *schema_path, const char *region, const char *svc)
{
        char err[512], *text = hd_read_file(schema_path, 1 << 20, NULL, err, sizeof(err));
        const char *url = env.registry_url;
        hd_registry_opts_t opts = {.urls = &url, .nurls = 1, .timeout_ms = 5000};
        hd_registry_t *reg = hd_registry_new(&opts, err, sizeof(err));
        hd_serde_t *serde = hd_serde_new(1 << 20, hd_registry_fetch_cb, reg);
        json_t *ev = json_pack(
                "{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:{s:{s:s,s:n,s:n,s:n,s:n},"
                "s:{s:s,s:s,s:n,s:s,s:s}}}",
                "id", svc, "type", "account.service.state_changed", "action", "UPDATE",
                "entity", "service", "occurred_at", (json_int_t)hd_now_ms(), "source", "test",
                "account_id", "ACC-1", "data", "account", "name", "Acme", "number", "status",
                "billing_email", "currency", "service", "id", svc, "name", svc, "identifier",
                "from_state", "a", "to_state", "b");
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_t *rk;
        int32_t id = 0;
        int version = 0;
        void *buf = NULL;
        size_t len = 0;

        if (region)
                json_object_set_new(json_object_get(json_object_get(ev, "data"), "service"),
                                    "region", json_string(region));
        HD_CHECK_MSG(reg && hd_registry_lookup(reg, SUBJECT, text, &id, &version, err,
                                               sizeof(err)) == 0, "lookup: %s", err);
        HD_CHECK_MSG(hd_serde_encode(serde, id, ev, &buf, &len, err, sizeof(err)) == 0,
                     "encode with schema %d: %s", (int)id, err);
        rd_kafka_conf_set(c, "bootstrap.servers", env.bootstrap, err, sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
        HD_CHECK(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("billing.events.ordered"),
                                   RD_KAFKA_V_KEY("ACC-1", 5), RD_KAFKA_V_VALUE(buf, len),
                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                   RD_KAFKA_V_END) == 0);
        HD_CHECK(rd_kafka_flush(rk, 10000) == 0);
        rd_kafka_destroy(rk);
        free(buf);
        json_decref(ev);
        hd_serde_destroy(serde);
        hd_registry_destroy(reg);
        free(text);
}

/* Deliveries that arrived verified, by service name: their region ("-" = none). */
static int delivered(void *arg)
{
        char err[256], *text = hd_read_file(out, 1 << 20, NULL, err, sizeof(err)), *save = NULL;
        json_t *seen = arg;

        json_object_clear(seen);
        for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
             l = strtok_r(NULL, "\n", &save)) {
                json_t *j = json_loads(l, 0, NULL);
                json_t *svc = json_object_get(json_object_get(json_object_get(j, "body"), "data"),
                                              "service");
                const char *region = json_string_value(json_object_get(svc, "region"));
                if (json_is_true(json_object_get(j, "valid")) && svc)
                        json_object_set_new(seen, json_string_value(json_object_get(svc, "name")),
                                            json_string(region ? region : "-"));
                json_decref(j);
        }
        free(text);
        return (int)json_object_size(seen);
}

static void setup(pid_t *rx, pid_t *daemon)
{
        char cert[700], key[700], port[16], rest[200], sub[600], *o;
        char *rx_argv[] = {"herald-listen", "--listen", "127.0.0.1:0", "--cert", cert, "--key",
                           key, "--secret", SECRET, "--out", out, "--record-body", NULL};
        char *sub_argv[] = {"herald-sub", "--config", conf, "create", "--file", "-", NULL};
        char *d_argv[] = {"herald-webhookd", "--config", conf, NULL};
        char *e = NULL;
        FILE *fp;

        snprintf(cert, sizeof(cert), "%s/tls/server.pem", env.state_dir);
        snprintf(key, sizeof(key), "%s/tls/server-key.pem", env.state_dir);
        snprintf(out, sizeof(out), "%s/deliveries.jsonl", hd_test_tmpdir());
        unlink(out);
        *rx = hd_test_spawn(rx_argv, "herald listen: listening on https://127.0.0.1:", port,
                            sizeof(port), 10000);
        snprintf(conf, sizeof(conf), "%s/evo.conf", hd_test_tmpdir());
        fp = fopen(conf, "w");
        fprintf(fp, "kafka = { bootstrap_servers = \"%s\"; session_timeout_ms = 6000; };\n"
                    "registry = { urls = [\"%s\"]; };\n"
                    "webhook = { tls = { ca_file = \"%s/tls/ca.pem\"; }; metrics_listen = \"\";\n"
                    "  commit_interval_ms = 50; connect_to = [ \"e.dev.test:443:127.0.0.1:%s\" ]; };\n",
                env.bootstrap, env.registry_url, env.state_dir, port);
        fclose(fp);
        snprintf(sub, sizeof(sub),
                 "{\"id\":\"evo\",\"channel\":\"webhook\",\"event_types\":"
                 "[\"account.service.state_changed\"],\"webhook\":{\"url\":"
                 "\"https://e.dev.test/hook\",\"secrets\":[\"" SECRET "\"]}}");
        HD_CHECK_MSG(hd_test_run(sub_argv, sub, &o, &e) == 0, "sub: %s", e);
        free(o), free(e);
        *daemon = hd_test_spawn(d_argv, "herald-webhookd: consuming", rest, sizeof(rest), 30000);
        HD_CHECK(*rx > 0 && *daemon > 0);
}

int main(void)
{
        char v1[700], v2[700], v3[700], *text, *o;
        char *show[] = {"herald-schema", "--config", conf, "show", SUBJECT, NULL};
        char *check2[] = {"herald-schema", "--config", conf, "check", v2, "--subject", SUBJECT,
                          NULL};
        char *reg2[] = {"herald-schema", "--config", conf, "register", v2, "--subject", SUBJECT,
                        NULL};
        char *check3[] = {"herald-schema", "--config", conf, "check", v3, "--subject", SUBJECT,
                          NULL};
        char *reg3[] = {"herald-schema", "--config", conf, "register", v3, "--subject", SUBJECT,
                        NULL};
        json_t *seen = json_object();
        pid_t rx, daemon;

        if (hd_testenv_start(&env, 0)) {
                HD_CHECK(!"dev stack started");
                return hd_test_finish("test_evolution");
        }
        unsetenv("HERALD_BOOTSTRAP");
        unsetenv("HERALD_REGISTRY_URL");
        setup(&rx, &daemon);
        snprintf(v1, sizeof(v1), "%s/v1.avsc", hd_test_tmpdir());
        snprintf(v2, sizeof(v2), "%s/v2.avsc", hd_test_tmpdir());
        snprintf(v3, sizeof(v3), "%s/v3.avsc", hd_test_tmpdir());
        text = run(0, show);
        write_evolved(text ? text : "{}", v2, 1);
        write_evolved(text ? text : "{}", v3, 0);
        {
                FILE *fp = fopen(v1, "w");
                fputs(text ? text : "", fp);
                fclose(fp);
        }
        free(text);

        produce(v1, NULL, "before");                      /* the old schema */
        free(run(0, check2));                             /* compatible (BACKWARD) */
        free(run(0, reg2));
        produce(v2, "eu-west-1", "after");                /* the new one */
        o = run(1, check3);                               /* no default: refused */
        HD_CHECK_CONTAINS(o, "sla_class");
        free(o);
        free(run(1, reg3));
        HD_CHECK_INT_EQ(hd_test_wait_for(delivered, seen, 2, 30000), 2);
        HD_CHECK_STR_EQ(json_string_value(json_object_get(seen, "before")) ?: "", "-");
        HD_CHECK_STR_EQ(json_string_value(json_object_get(seen, "after")) ?: "", "eu-west-1");
        {       /* the refused v3 left the subject at v2 */
                char *o2 = run(0, show);
                HD_CHECK_CONTAINS(o2, "region");
                HD_CHECK_MSG(o2 && !strstr(o2, "\"sla_class\""), "%s", o2);
                free(o2);
        }
        HD_CHECK_INT_EQ(hd_test_stop(daemon, 0), 0);
        hd_test_stop(rx, 0);
        json_decref(seen);
        HD_CHECK_INT_EQ(hd_testenv_stop(&env), 0);
        hd_log_clear_secrets();
        return hd_test_finish("test_evolution");
}
