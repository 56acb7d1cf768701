/*
 * `herald schema` against a real dev stack (herald dev: mock Kafka + herald-registry):
 * registry enforcement of every level through the CLI and over raw HTTP (409 with
 * Confluent's body, /compatibility with and without verbose), check's exit codes,
 * config get/set, list/show, soft and permanent deletes; then a second registry
 * started with a config that sets no level: BACKWARD by default, and a subject's
 * level survives a restart (it is a CONFIG record in its `_schemas` topic).
 */
#include "hd_catalogue.h"
#include "hd_test.h"
#include "hd_testenv.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdlib.h>

#define REC(fields) "{\"type\":\"record\",\"name\":\"R\",\"fields\":[" fields "]}\n"
#define A_INT       "{\"name\":\"a\",\"type\":\"int\"}"
#define A_LONG      "{\"name\":\"a\",\"type\":\"long\"}"
#define B_DEF       "{\"name\":\"b\",\"type\":\"string\",\"default\":\"\"}"
#define C_NODEF     "{\"name\":\"c\",\"type\":\"string\"}"

static hd_testenv_t env;
static char files[8][600];

/* Runs herald-schema --config <stack config> args...; *out = stdout + stderr. */
static int cli(char **out, ...)
{
        char *argv[32] = {"herald-schema", "--config", env.config_path};
        char *o = NULL, *e = NULL;
        int argc = 3, rc;
        va_list ap;

        va_start(ap, out);
        while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
                argc++;
        va_end(ap);
        argv[argc] = NULL;
        rc = hd_test_run(argv, NULL, &o, &e);
        *out = malloc(strlen(o ? o : "") + strlen(e ? e : "") + 1);
        sprintf(*out, "%s%s", o ? o : "", e ? e : "");
        free(o);
        free(e);
        return rc;
}

/* cli with the exit code and an output fragment checked. */
#define EXPECT(code, fragment, ...)                                                        \
        do {                                                                               \
                char *_out = NULL;                                                         \
                int _rc = cli(&_out, __VA_ARGS__, (char *)NULL);                          \
                HD_CHECK_MSG(_rc == (code), "herald schema %s: exit %d, want %d: %s",      \
                             #__VA_ARGS__, _rc, (code), _out);                             \
                HD_CHECK_CONTAINS(_out, fragment);                                         \
                free(_out);                                                                \
        } while (0)

static const char *write_file(int i, const char *name, const char *text)
{
        FILE *fp;

        snprintf(files[i], sizeof(files[i]), "%s/%s", hd_test_tmpdir(), name);
        if ((fp = fopen(files[i], "w"))) {
                fputs(text, fp);
                fclose(fp);
        }
        return files[i];
}

static void expect_http(const char *base, const char *method, const char *path,
                        const char *body, long status, const char *fragment)
{
        char *out = NULL;
        long got = hd_test_http(base, method, path, body, &out);

        HD_CHECK_MSG(got == status, "%s %s: status %ld, want %ld (%s)", method, path, got,
                     status, out);
        HD_CHECK_CONTAINS(out, fragment);
        free(out);
}

/* {"schema": "<text>"} */
static char *schema_body(const char *text)
{
        json_t *j = json_pack("{s:s}", "schema", text);
        char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return s;
}

static void test_levels(void)
{
        const char *v1 = write_file(0, "v1.avsc", REC(A_INT));
        const char *v2 = write_file(1, "v2.avsc", REC(A_INT "," B_DEF));
        const char *bad = write_file(2, "bad.avsc", REC(A_INT "," C_NODEF));
        const char *v4 = write_file(3, "v4.avsc", REC(A_LONG "," B_DEF));
        const char *v5 = write_file(4, "v5.avsc", REC(A_LONG));
        char *body = schema_body(REC(A_INT "," C_NODEF));

        EXPECT(0, "global: BACKWARD", "config", "--set", "backward");
        EXPECT(0, "global: BACKWARD", "config");
        EXPECT(0, "bad.avsc: compatible", "check", bad, "--subject", "t1");
        EXPECT(0, "v1.avsc registered: id ", "register", v1, "--subject", "t1");
        EXPECT(0, ", version 1", "register", v1, "--subject", "t1"); /* same schema: no new version */
        EXPECT(1, "c (/fields/1): field \"c\" added without a default", "check", bad,
               "--subject", "t1");
        EXPECT(1, "bad.avsc: INCOMPATIBLE", "check", bad, "--subject", "t1");
        EXPECT(1, ": 409 Schema being registered is incompatible with an earlier schema for "
                  "subject \"t1\", details: [version 1: c (/fields/1): field \"c\" added without "
                  "a default, {compatibility: 'BACKWARD'}]",
               "register", bad, "--subject", "t1");
        expect_http(env.registry_url, "POST", "/subjects/t1/versions", body, 409,
                    "{\"error_code\":409,\"message\":\"Schema being registered is incompatible "
                    "with an earlier schema for subject \\\"t1\\\", details: [");
        expect_http(env.registry_url, "POST", "/compatibility/subjects/t1/versions/latest", body,
                    200, "{\"is_compatible\":false}");
        expect_http(env.registry_url, "POST",
                    "/compatibility/subjects/t1/versions/1?verbose=true", body, 200,
                    "{\"is_compatible\":false,\"messages\":[\"version 1: c (/fields/1): field "
                    "\\\"c\\\" added without a default\"]}");
        EXPECT(0, "v2.avsc: compatible", "check", v2, "--subject", "t1");
        EXPECT(0, ", version 2", "register", v2, "--subject", "t1");
        /* v4 widens a: int -> long. New reads old; old cannot read new. */
        EXPECT(0, "t1: FORWARD", "config", "t1", "--set", "FORWARD");
        EXPECT(0, "t1: FORWARD", "config", "t1");
        EXPECT(1, "a (/fields/0/type): old type \"int\" cannot read new type \"long\"", "check",
               v4, "--subject", "t1");
        EXPECT(0, "t1: FULL", "config", "t1", "--set", "full");
        EXPECT(1, "INCOMPATIBLE", "check", v4, "--subject", "t1");
        EXPECT(0, "t1: BACKWARD", "config", "t1", "--set", "BACKWARD");
        EXPECT(0, ", version 3", "register", v4, "--subject", "t1");
        /* v5 drops b (it has a default): fine against the latest in both directions,
         * but version 1 cannot read v5's long a. */
        EXPECT(0, "t1: BACKWARD_TRANSITIVE", "config", "t1", "--set", "BACKWARD_TRANSITIVE");
        EXPECT(0, "compatible", "check", v5, "--subject", "t1");
        EXPECT(0, "t1: FORWARD", "config", "t1", "--set", "FORWARD");
        EXPECT(0, "compatible", "check", v5, "--subject", "t1");
        EXPECT(0, "t1: FULL", "config", "t1", "--set", "FULL");
        EXPECT(0, "compatible", "check", v5, "--subject", "t1");
        EXPECT(0, "t1: FORWARD_TRANSITIVE", "config", "t1", "--set", "FORWARD_TRANSITIVE");
        EXPECT(1, "version 1: a (/fields/0/type): old type \"int\" cannot read new type \"long\"",
               "check", v5, "--subject", "t1");
        EXPECT(0, "t1: FULL_TRANSITIVE", "config", "t1", "--set", "FULL_TRANSITIVE");
        EXPECT(1, "version 1: a", "register", v5, "--subject", "t1");
        EXPECT(0, "t1: NONE", "config", "t1", "--set", "NONE");
        EXPECT(0, ", version 4", "register", bad, "--subject", "t1");
        EXPECT(2, "unknown level \"SIDEWAYS\"", "config", "t1", "--set", "SIDEWAYS");
        expect_http(env.registry_url, "GET", "/config/t1", NULL, 200,
                    "{\"compatibilityLevel\":\"NONE\"}");
        EXPECT(0, "t2: BACKWARD (global)", "config", "t2");
        free(body);
}

static void test_list_show_delete(void)
{
        EXPECT(0, "t1  versions 1,2,3,4", "list");
        EXPECT(0, "billing.events.ordered-value  versions 1", "list"); /* herald dev's */
        EXPECT(0, "subject t1 version 4 id ", "show", "t1");
        EXPECT(0, "\"name\": \"c\"", "show", "t1");
        EXPECT(0, "subject t1 version 1 id ", "show", "t1", "1");
        EXPECT(1, "40402", "show", "t1", "9");
        EXPECT(1, "40401", "show", "nope");
        EXPECT(2, "usage: show", "show", "t1", "x");
        EXPECT(0, "t1: version 1 deleted", "delete", "t1", "--version", "1");
        EXPECT(1, "40402", "show", "t1", "1");
        EXPECT(0, "t1: version 1 permanently deleted", "delete", "t1", "--version", "1",
               "--permanent");
        EXPECT(0, "t1: version 2 permanently deleted", "delete", "t1", "--version", "2",
               "--permanent"); /* soft delete first, done by the CLI */
        EXPECT(0, "t1: deleted versions 3,4", "delete", "t1");
        EXPECT(1, "40404", "delete", "t1");
        EXPECT(0, "t1  (no live versions)", "list", "--deleted");
        EXPECT(0, "t1: permanently deleted versions 3,4", "delete", "t1", "--permanent");
        {
                char *out = NULL;
                HD_CHECK_INT_EQ(cli(&out, "list", "--deleted", (char *)NULL), 0);
                HD_CHECK_MSG(out && !strstr(out, "t1 "), "t1 still listed: %s", out);
                free(out);
        }
        EXPECT(1, "40401", "delete", "nope");
}

/* The README's example: evolve an event type of the catalogue, check, register. */
static void test_catalogue_evolution(void)
{
        json_t *env_schema = json_loads(hd_catalogue_schema_json(), 0, NULL), *data, *b, *svc = NULL;
        size_t i;
        char *text;

        data = json_object_get(json_array_get(json_object_get(env_schema, "fields"), 7), "type");
        json_array_foreach(data, i, b)
                if (!strcmp(json_string_value(json_object_get(b, "name")) ?: "",
                            "AccountServiceStateChanged"))
                        svc = json_object_get(json_array_get(json_object_get(b, "fields"), 1), "type");
        HD_CHECK_MSG(svc != NULL, "no AccountServiceStateChanged.service in the catalogue");
        json_array_append_new(json_object_get(svc, "fields"),
                              json_pack("{s:s, s:s}", "name", "region", "type", "string"));
        text = json_dumps(env_schema, JSON_INDENT(2));
        write_file(5, "nodefault.avsc", text);
        free(text);
        json_object_set_new(json_array_get(json_object_get(svc, "fields"),
                                           json_array_size(json_object_get(svc, "fields")) - 1),
                            "default", json_string("eu"));
        text = json_dumps(env_schema, JSON_INDENT(2));
        write_file(6, "withdefault.avsc", text);
        free(text);
        json_decref(env_schema);

        EXPECT(0, "billing.events.ordered-value: catalogue registered: id ", "register", "--all");
        EXPECT(1, "data[AccountServiceStateChanged].service.region (/fields/7/type/6/fields/1/"
                  "type/fields/5): field \"region\" added without a default",
               "check", files[5]);
        EXPECT(0, "billing.events.unordered-value: ", "check", files[6]);
        EXPECT(0, "withdefault.avsc registered: id ",
               "register", files[6]);
        EXPECT(0, "withdefault.avsc registered: id 6, version 2", "register",
               files[6]);
        EXPECT(0, "billing.events.ordered-value  versions 1,2", "list");
}

static void test_usage(void)
{
        EXPECT(2, "usage: herald schema", "frobnicate");
        EXPECT(2, "register needs FILE... or --all", "register");
        EXPECT(2, "usage: check FILE", "check");
        EXPECT(2, "nope.avsc: No such file", "check", "nope.avsc");
        EXPECT(2, "not.avsc:1:", "check", write_file(7, "not.avsc", "{nope"));
        /* JSON, but not Avro: the registry's 42201 */
        EXPECT(2, "42201", "register", write_file(7, "notavro.avsc", "{\"type\":\"nope\"}"),
               "--subject", "t3");
}

/* herald-registry from a config without a level: BACKWARD; subject levels persist. */
static void test_default_and_restart(void)
{
        char conf[600], url[256];
        char *argv[] = {"herald-registry", "--listen", "127.0.0.1:0", "--bootstrap",
                        env.bootstrap, "--topic", "_schemas_cli", "--config", conf, NULL};
        pid_t pid;
        FILE *fp;

        snprintf(conf, sizeof(conf), "%s/empty.conf", hd_test_tmpdir());
        if ((fp = fopen(conf, "w")))
                fclose(fp);
        pid = hd_test_spawn(argv, "herald-registry: listening on ", url, sizeof(url), 30000);
        HD_CHECK_MSG(pid > 0, "herald-registry did not start");
        if (pid <= 0)
                return;
        expect_http(url, "GET", "/config", NULL, 200, "{\"compatibilityLevel\":\"BACKWARD\"}");
        setenv("HERALD_REGISTRY_URL", url, 1);
        EXPECT(0, "s: FULL_TRANSITIVE", "config", "s", "--set", "FULL_TRANSITIVE");
        HD_CHECK_INT_EQ(hd_test_stop(pid, 0), 0);
        pid = hd_test_spawn(argv, "herald-registry: listening on ", url, sizeof(url), 30000);
        HD_CHECK_MSG(pid > 0, "herald-registry did not restart");
        if (pid <= 0)
                return;
        setenv("HERALD_REGISTRY_URL", url, 1);
        EXPECT(0, "s: FULL_TRANSITIVE", "config", "s");
        EXPECT(0, "global: BACKWARD", "config");
        HD_CHECK_INT_EQ(hd_test_stop(pid, 0), 0);
        setenv("HERALD_REGISTRY_URL", env.registry_url, 1);
}

/*
 * An older Confluent-style registry: no POST /compatibility/subjects/{s}/versions
 * (404 with error_code 404), verbose messages as objects. check falls back to
 * /versions/latest and prints the messages.
 */
static enum MHD_Result old_registry(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *data, size_t *data_size, void **ctx)
{
        const char *body = "{\"error_code\":404,\"message\":\"HTTP 404 Not Found\"}";
        unsigned status = 404;
        struct MHD_Response *r;
        enum MHD_Result ret;

        (void)cls, (void)method, (void)version, (void)data;
        if (!*ctx) {
                *ctx = c;
                return MHD_YES;
        }
        if (*data_size) {
                *data_size = 0;
                return MHD_YES;
        }
        if (!strcmp(url, "/compatibility/subjects/old/versions/latest")) {
                status = 200;
                body = "{\"is_compatible\":false,\"messages\":[{\"errorType\":"
                       "\"READER_FIELD_MISSING_DEFAULT_VALUE\",\"description\":\"no default\"}]}";
        }
        r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static void test_older_registry(void)
{
        struct sockaddr_in sa = {.sin_family = AF_INET};
        struct MHD_Daemon *d;
        char url[64];

        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, old_registry, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
        HD_CHECK(d != NULL);
        if (!d)
                return;
        snprintf(url, sizeof(url), "http://127.0.0.1:%d",
                 MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
        setenv("HERALD_REGISTRY_URL", url, 1);
        EXPECT(1, "{\"errorType\":\"READER_FIELD_MISSING_DEFAULT_VALUE\",\"description\":"
                  "\"no default\"}\nold: ", "check", files[0], "--subject", "old");
        EXPECT(1, "INCOMPATIBLE", "check", files[0], "--subject", "old");
        setenv("HERALD_REGISTRY_URL", env.registry_url, 1);
        MHD_stop_daemon(d);
}

int main(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (hd_testenv_start(&env, 0)) {
                HD_CHECK(!"dev stack started");
                return hd_test_finish("test_schema_cli");
        }
        test_levels();
        test_list_show_delete();
        test_catalogue_evolution();
        test_usage();
        test_default_and_restart();
        test_older_registry();
        HD_CHECK_INT_EQ(hd_testenv_stop(&env), 0);
        hd_catalogue_cleanup();
        curl_global_cleanup();
        return hd_test_finish("test_schema_cli");
}
