/*
 * herald-registry over HTTP against a real dev Kafka: every endpoint, Confluent's
 * error codes, and a restart that rebuilds the same state from `_schemas`.
 */
#include "hd_registry.h"
#include "hd_test.h"
#include "hd_testenv.h"

#include <curl/curl.h>
#include <stdlib.h>

#define S1 "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"x\",\"type\":\"long\"}]}"
#define S2 "{\"type\":\"record\",\"name\":\"B\",\"fields\":[{\"name\":\"y\",\"type\":\"string\"}]}"
#define S3 "{\"type\":\"enum\",\"name\":\"C\",\"symbols\":[\"P\",\"Q\"]}"

static char hd_url[256];

/* Spawns herald-registry on an ephemeral port; waits for its listening line. */
static pid_t start_registry(const hd_testenv_t *env, const char *config)
{
        char *argv[] = {"herald-registry", "--listen", "127.0.0.1:0", "--bootstrap",
                        (char *)env->bootstrap, config ? "--config" : NULL,
                        (char *)config, NULL};
        pid_t pid = hd_test_spawn(argv, "herald-registry: listening on ", hd_url,
                                  sizeof(hd_url), 30000);

        HD_CHECK_MSG(pid > 0, "herald-registry did not start");
        return pid;
}

static hd_registry_t *client(void)
{
        const char *u = hd_url;
        hd_registry_opts_t o = {.urls = &u, .nurls = 1, .timeout_ms = 5000};
        char err[256];
        return hd_registry_new(&o, err, sizeof(err));
}

static void expect_http(const char *method, const char *path, const char *body,
                        long status, const char *fragment)
{
        char *out = NULL;
        long got = hd_test_http(hd_url, method, path, body, &out);

        HD_CHECK_MSG(got == status, "%s %s: status %ld, want %ld (%s)", method, path, got,
                     status, out);
        HD_CHECK_CONTAINS(out, fragment);
        free(out);
}

static void test_crud(hd_registry_t *r, int32_t *id1, int32_t *id2)
{
        char err[512], *schema = NULL, *level = NULL;
        int32_t id = 0, again = 0, other = 0;
        int *versions = NULL, version = 0;
        size_t n = 0;
        hd_strlist_t subjects;

        /* These CRUD tests register unrelated schemas: NONE (test_schema_cli checks
         * the levels). */
        HD_CHECK(hd_registry_set_config(r, NULL, "NONE", err, sizeof(err)) == 0);
        HD_CHECK(hd_registry_register(r, "s1", S1, id1, err, sizeof(err)) == 0);
        HD_CHECK(hd_registry_register(r, "s1", S1, &again, err, sizeof(err)) == 0);
        HD_CHECK_INT_EQ(again, *id1); /* same schema, same subject: no new version */
        HD_CHECK(hd_registry_register(r, "s2", S1, &other, err, sizeof(err)) == 0);
        HD_CHECK_INT_EQ(other, *id1); /* same schema under another subject: same id */
        HD_CHECK(hd_registry_register(r, "s1", S2, id2, err, sizeof(err)) == 0);
        HD_CHECK(*id2 == *id1 + 1);
        HD_CHECK(hd_registry_lookup(r, "s1", S2, &id, &version, err, sizeof(err)) == 0);
        HD_CHECK_INT_EQ(id, *id2);
        HD_CHECK_INT_EQ(version, 2);
        HD_CHECK(hd_registry_get_schema(r, *id2, &schema, err, sizeof(err)) == 0);
        HD_CHECK_STR_EQ(schema, S2);
        free(schema);
        HD_CHECK(hd_registry_versions(r, "s1", &versions, &n, err, sizeof(err)) == 0);
        HD_CHECK(n == 2 && versions[0] == 1 && versions[1] == 2);
        free(versions);
        HD_CHECK(hd_registry_get_version(r, "s1", -1, NULL, &id, &version, err, sizeof(err)) == 0);
        HD_CHECK_INT_EQ(version, 2);
        HD_CHECK(hd_registry_subjects(r, 0, &subjects, err, sizeof(err)) == 0);
        HD_CHECK_INT_EQ(subjects.n, 2);
        hd_strlist_clear(&subjects);
        HD_CHECK(hd_registry_get_config(r, NULL, &level, err, sizeof(err)) == 0);
        HD_CHECK_STR_EQ(level, "NONE");
        free(level);
        HD_CHECK(hd_registry_set_config(r, "s1", "NONE", err, sizeof(err)) == 0);
        HD_CHECK(hd_registry_set_config(r, NULL, "full_transitive", err, sizeof(err)) == 0);
        HD_CHECK(hd_registry_get_config(r, NULL, &level, err, sizeof(err)) == 0);
        HD_CHECK_STR_EQ(level, "FULL_TRANSITIVE");
        free(level);
        HD_CHECK_INT_EQ(hd_registry_set_config(r, NULL, "SIDEWAYS", err, sizeof(err)),
                        HD_REG_E_INVALID);
        HD_CHECK_CONTAINS(err, "42203 Invalid compatibility level");
        HD_CHECK(hd_registry_set_config(r, NULL, "NONE", err, sizeof(err)) == 0);
        HD_CHECK_INT_EQ(hd_registry_get_schema(r, 999, &schema, err, sizeof(err)),
                        HD_REG_E_NOT_FOUND);
        HD_CHECK_CONTAINS(err, ": 40403 Schema 999 not found");
}

static void test_errors_and_deletes(void)
{
        expect_http("POST", "/subjects/s1/versions", "{\"schema\":\"{not json\"}", 422,
                    "\"error_code\":42201");
        expect_http("POST", "/subjects/s1/versions", "{\"schema\":\"\\\"int\\\"\","
                    "\"schemaType\":\"PROTOBUF\"}", 422, "AVRO schemas");
        expect_http("GET", "/subjects/nope/versions", NULL, 404, "\"error_code\":40401");
        expect_http("GET", "/subjects/s1/versions/9", NULL, 404, "\"error_code\":40402");
        expect_http("GET", "/subjects/s1/versions/zero", NULL, 422, "\"error_code\":42202");
        expect_http("GET", "/schemas/ids/12345", NULL, 404, "\"error_code\":40403");
        expect_http("GET", "/config/s2", NULL, 404, "\"error_code\":40408");
        expect_http("GET", "/config/s2?defaultToGlobal=true", NULL, 200,
                    "\"compatibilityLevel\":\"NONE\"");
        expect_http("PUT", "/config", "{\"compatibility\":\"SIDEWAYS\"}", 422,
                    "\"error_code\":42203");
        expect_http("GET", "/subjects/s1/versions/latest/schema", NULL, 200, "\"name\":\"B\"");
        expect_http("POST", "/compatibility/subjects/s1/versions/latest?verbose=true",
                    "{\"schema\":\"\\\"int\\\"\"}", 200, "\"is_compatible\":true");
        expect_http("GET", "/schemas/ids/1/versions", NULL, 200, "\"subject\":\"s2\"");
        /* Version deletes: permanent before soft is refused, then soft, then twice. */
        expect_http("DELETE", "/subjects/s1/versions/1?permanent=true", NULL, 404,
                    "\"error_code\":40407");
        expect_http("DELETE", "/subjects/s1/versions/1", NULL, 200, "1");
        expect_http("DELETE", "/subjects/s1/versions/1", NULL, 404, "\"error_code\":40406");
        expect_http("DELETE", "/subjects/s1/versions/1?permanent=true", NULL, 200, "1");
        expect_http("GET", "/subjects/s1/versions", NULL, 200, "[2]");
        /* Subject deletes: permanent before soft refused; soft; soft again; permanent. */
        expect_http("DELETE", "/subjects/s2?permanent=true", NULL, 404, "\"error_code\":40405");
        expect_http("DELETE", "/subjects/s2", NULL, 200, "[1]");
        expect_http("GET", "/subjects", NULL, 200, "[\"s1\"]");
        expect_http("GET", "/subjects?deleted=true", NULL, 200, "\"s2\"");
        expect_http("DELETE", "/subjects/s2", NULL, 404, "\"error_code\":40404");
        expect_http("DELETE", "/subjects/s2?permanent=true", NULL, 200, "[1]");
        expect_http("GET", "/subjects?deleted=true", NULL, 200, "[\"s1\"]");
        expect_http("GET", "/nothing/here", NULL, 404, "\"error_code\":404");
}

/* Hostile or odd input gets Confluent's errors, never a crash; '/' in a subject works. */
static void test_hostile_input(hd_registry_t *r, int32_t id1)
{
        char err[512], *big = malloc(2 * 1024 * 1024 + 1);
        int32_t id = 0;
        int version = 0;

        expect_http("GET", "/subjects/%FF/versions", NULL, 422, "\"error_code\":42208");
        expect_http("GET", "/subjects/x%00y/versions", NULL, 422, "\"error_code\":42208");
        expect_http("GET", "/subjects/a%0Ab/versions", NULL, 422, "\"error_code\":42208");
        expect_http("GET", "/subjects/%zz/versions", NULL, 404, "\"error_code\":404");
        expect_http("GET", "/subjects//versions", NULL, 404, "\"error_code\":404");
        expect_http("GET", "/subjects/s1/versions/%2B1", NULL, 422, "\"error_code\":42202");
        expect_http("GET", "/schemas/ids/abc", NULL, 404, "\"error_code\":40403");
        expect_http("GET", "/schemas/types", NULL, 200, "[\"AVRO\"]");
        expect_http("POST", "/subjects/s1/versions", "{not json", 422, "\"error_code\":42201");
        expect_http("POST", "/subjects/s1/versions", "{\"schema\":42}", 422,
                    "\"error_code\":42201");
        memset(big, ' ', 2 * 1024 * 1024);
        big[2 * 1024 * 1024] = '\0';
        expect_http("POST", "/subjects/s1/versions", big, 413, "\"error_code\":413");
        free(big);
        expect_http("PUT", "/config/s1", "{\"compatibility\":\"none\"}", 200,
                    "{\"compatibility\":\"NONE\"}");
        /* The client escapes the subject; the server splits the path before decoding. */
        HD_CHECK(hd_registry_register(r, "team/a.b-value", S1, &id, err, sizeof(err)) == 0);
        HD_CHECK_INT_EQ(id, id1);
        HD_CHECK(hd_registry_lookup(r, "team/a.b-value", S1, &id, &version, err,
                                    sizeof(err)) == 0);
        HD_CHECK_INT_EQ(version, 1);
        expect_http("GET", "/subjects/team%2Fa.b-value/versions/1", NULL, 200,
                    "\"subject\":\"team/a.b-value\"");
}

/* After a restart the state comes back from `_schemas` with the same ids. */
static pid_t test_restart(const hd_testenv_t *env, int32_t id1, int32_t id2)
{
        char err[512], *schema = NULL;
        int32_t id = 0;
        int version = 0;
        char conf[600];
        FILE *fp;
        pid_t pid;
        hd_registry_t *r;

        /* The kafka passthrough reaches the registry's producer (test_kafka_gone). */
        snprintf(conf, sizeof(conf), "%s/registry.conf", hd_test_tmpdir());
        if ((fp = fopen(conf, "w"))) {
                /* A down broker's queue is only scanned between reconnect attempts. */
                fputs("kafka = { message_timeout_ms = 3000; reconnect_backoff_max_ms = 500; };\n",
                      fp);
                fclose(fp);
        }
        if ((pid = start_registry(env, conf)) <= 0)
                return pid;
        r = client();

        HD_CHECK(hd_registry_lookup(r, "s1", S2, &id, &version, err, sizeof(err)) == 0);
        HD_CHECK_INT_EQ(id, id2);
        HD_CHECK_INT_EQ(version, 2);
        HD_CHECK_INT_EQ(hd_registry_lookup(r, "s2", S1, &id, &version, err, sizeof(err)),
                        HD_REG_E_NOT_FOUND);
        HD_CHECK(hd_registry_get_schema(r, id1, &schema, err, sizeof(err)) == 0);
        HD_CHECK_STR_EQ(schema, S1);
        free(schema);
        HD_CHECK(hd_registry_lookup(r, "team/a.b-value", S1, &id, &version, err,
                                    sizeof(err)) == 0);
        HD_CHECK_INT_EQ(id, id1);
        expect_http("GET", "/config/s1", NULL, 200, "\"compatibilityLevel\":\"NONE\"");
        expect_http("GET", "/subjects/s1/versions/1?deleted=true", NULL, 404,
                    "\"error_code\":40402"); /* permanently deleted before the restart */
        HD_CHECK(hd_registry_register(r, "s3", S3, &id, err, sizeof(err)) == 0);
        HD_CHECK_INT_EQ(id, id2 + 1);
        hd_registry_destroy(r);
        return pid;
}

/* Kafka gone: reads still answer from memory, a write is a 50001 store error. */
static void test_kafka_gone(hd_testenv_t *env, pid_t pid)
{
        int64_t t0;

        HD_CHECK_INT_EQ(hd_testenv_stop(env), 0);
        expect_http("GET", "/subjects/s3/versions", NULL, 200, "[1]");
        t0 = hd_mono_us();
        expect_http("POST", "/subjects/s4/versions", "{\"schema\":\"\\\"bytes\\\"\"}", 500,
                    "\"error_code\":50001");
        /* kafka.message_timeout_ms = 3000 from --config, not the built-in 15 s */
        HD_CHECK_MSG(hd_mono_us() - t0 < 10 * 1000000LL, "write failed after %lld ms",
                     (long long)(hd_mono_us() - t0) / 1000);
        expect_http("GET", "/subjects/s4/versions", NULL, 404, "\"error_code\":40401");
        HD_CHECK_INT_EQ(hd_test_stop(pid, 0), 0); /* still a clean stop */
}

int main(void)
{
        hd_testenv_t env;
        int32_t id1 = 0, id2 = 0;
        pid_t pid;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (hd_testenv_start(&env, HD_TESTENV_NO_REGISTRY)) {
                HD_CHECK(!"dev stack started");
                return hd_test_finish("test_registry");
        }
        if ((pid = start_registry(&env, NULL)) > 0) {
                hd_registry_t *r = client();
                test_crud(r, &id1, &id2);
                hd_registry_destroy(r);
                test_errors_and_deletes();
                r = client();
                test_hostile_input(r, id1);
                hd_registry_destroy(r);
                HD_CHECK_INT_EQ(hd_test_stop(pid, 0), 0);
                if ((pid = test_restart(&env, id1, id2)) > 0)
                        test_kafka_gone(&env, pid);
        }
        if (env.pid > 0)
                HD_CHECK_INT_EQ(hd_testenv_stop(&env), 0);
        curl_global_cleanup();
        hd_log_clear_secrets();
        return hd_test_finish("test_registry");
}
