/*
 * Registry client against in-test HTTP stubs: failover past a dead URL and a 5xx
 * one, Basic auth sent (and the password never in messages), Confluent error codes
 * mapped, schemas by id cached.
 */
#include "hd_log.h"
#include "hd_registry.h"
#include "hd_test.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct stub {
        struct MHD_Daemon *d;
        int port;
        int fail;          /* answer 500 to everything */
        int requests;
        char auth[256];    /* last Authorization header */
} stub_t;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                                 MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_size, void **ctx)
{
        stub_t *s = cls;
        const char *auth;

        (void)method, (void)version, (void)data;
        if (!*ctx) {
                *ctx = s;
                return MHD_YES;
        }
        if (*data_size) {
                *data_size = 0;
                return MHD_YES;
        }
        s->requests++;
        auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        hd_strlcpy(s->auth, auth ? auth : "", sizeof(s->auth));
        if (s->fail)
                return reply(c, 500, "{\"error_code\":50001,\"message\":\"Store error\"}");
        if (!strcmp(url, "/subjects/a/versions"))
                return reply(c, 200, "{\"id\":7}");
        if (!strcmp(url, "/subjects/missing/versions"))
                return reply(c, 404, "{\"error_code\":40401,\"message\":\"Subject 'missing' not found.\"}");
        if (!strcmp(url, "/subjects/clash/versions"))
                return reply(c, 409, "{\"error_code\":409,\"message\":\"Schema being registered is incompatible\"}");
        if (!strcmp(url, "/subjects/bad/versions"))
                return reply(c, 422, "{\"error_code\":42201,\"message\":\"Invalid schema\"}");
        if (!strcmp(url, "/schemas/ids/7"))
                return reply(c, 200, "{\"schema\":\"\\\"string\\\"\"}");
        return reply(c, 404, "{\"error_code\":40403,\"message\":\"Schema not found\"}");
}

static void stub_start(stub_t *s)
{
        struct sockaddr_in sa = {.sin_family = AF_INET};
        const union MHD_DaemonInfo *info;

        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        s->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, handler, s,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
        info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info->port;
}

/* A loopback port with nothing listening. */
static int dead_port(void)
{
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        getsockname(fd, (struct sockaddr *)&sa, &len);
        close(fd);
        return ntohs(sa.sin_port);
}

int main(void)
{
        stub_t failing = {.fail = 1}, good = {0};
        char u0[64], u1[64], u2[64], err[512], *schema = NULL;
        const char *urls[3] = {u0, u1, u2};
        hd_registry_opts_t o = {urls, 3, 2000, "herald", "pw-do-not-log", NULL};
        hd_registry_t *r;
        int32_t id = 0;

        stub_start(&failing);
        stub_start(&good);
        snprintf(u0, sizeof(u0), "http://127.0.0.1:%d", dead_port());
        snprintf(u1, sizeof(u1), "http://127.0.0.1:%d", failing.port);
        snprintf(u2, sizeof(u2), "http://127.0.0.1:%d/", good.port);
        r = hd_registry_new(&o, err, sizeof(err));

        HD_CHECK_INT_EQ(hd_registry_register(r, "a", "\"string\"", &id, err, sizeof(err)), 0);
        HD_CHECK_INT_EQ(id, 7);
        HD_CHECK_INT_EQ(failing.requests, 1);
        HD_CHECK_STR_EQ(good.auth, "Basic aGVyYWxkOnB3LWRvLW5vdC1sb2c="); /* herald:pw-do-not-log */
        /* The good URL is now preferred: the failing one is not asked again. */
        HD_CHECK_INT_EQ(hd_registry_register(r, "a", "\"string\"", &id, err, sizeof(err)), 0);
        HD_CHECK_INT_EQ(failing.requests, 1);

        HD_CHECK_INT_EQ(hd_registry_register(r, "missing", "\"string\"", &id, err, sizeof(err)),
                        HD_REG_E_NOT_FOUND);
        HD_CHECK_CONTAINS(err, ": 40401 Subject 'missing' not found.");
        HD_CHECK_INT_EQ(hd_registry_last_code(), 40401);
        HD_CHECK_INT_EQ(hd_registry_register(r, "clash", "\"string\"", &id, err, sizeof(err)),
                        HD_REG_E_CONFLICT);
        HD_CHECK_INT_EQ(hd_registry_register(r, "bad", "\"string\"", &id, err, sizeof(err)),
                        HD_REG_E_INVALID);
        HD_CHECK_CONTAINS(err, "42201 Invalid schema");
        HD_CHECK(strstr(err, "pw-do-not-log") == NULL);

        HD_CHECK_INT_EQ(hd_registry_get_schema(r, 7, &schema, err, sizeof(err)), 0);
        HD_CHECK_STR_EQ(schema, "\"string\"");
        free(schema);
        good.requests = 0;
        HD_CHECK_INT_EQ(hd_registry_get_schema(r, 7, &schema, err, sizeof(err)), 0);
        HD_CHECK_INT_EQ(good.requests, 0); /* served from the id cache */
        free(schema);
        HD_CHECK_INT_EQ(hd_registry_fetch_cb(r, 8, &schema, err, sizeof(err)), -3);
        hd_registry_destroy(r);

        /* Nothing answers: unreachable, naming the last URL tried. */
        good.fail = 1;
        urls[0] = u0;
        o.nurls = 2;
        urls[1] = u1;
        r = hd_registry_new(&o, err, sizeof(err));
        HD_CHECK_INT_EQ(hd_registry_register(r, "a", "\"string\"", &id, err, sizeof(err)),
                        HD_REG_E_UNREACHABLE);
        HD_CHECK_CONTAINS(err, u0); /* every URL's failure is named */
        HD_CHECK_CONTAINS(err, "50001 Store error");
        HD_CHECK_INT_EQ(hd_registry_fetch_cb(r, 7, &schema, err, sizeof(err)), -4);
        hd_registry_destroy(r);

        /* Credentials inside a URL never reach a message. */
        snprintf(u0, sizeof(u0), "http://user:url-secret-pw@127.0.0.1:%d", dead_port());
        o.nurls = 1;
        o.username = o.password = NULL;
        r = hd_registry_new(&o, err, sizeof(err));
        HD_CHECK_INT_EQ(hd_registry_get_schema(r, 1, &schema, err, sizeof(err)),
                        HD_REG_E_UNREACHABLE);
        HD_CHECK_CONTAINS(err, "registry http://127.0.0.1:");
        HD_CHECK(strstr(err, "url-secret-pw") == NULL);
        HD_CHECK(strstr(err, "user") == NULL);
        hd_registry_destroy(r);
        {       /* and the URL's password is scrubbed from any log line */
                char line[512];
                hd_log_format(line, sizeof(line), 0, HD_LOG_INFO, "t", "x url-secret-pw y",
                              NULL, 0);
                HD_CHECK(strstr(line, "url-secret-pw") == NULL);
        }
        MHD_stop_daemon(failing.d);
        MHD_stop_daemon(good.d);
        hd_log_clear_secrets();
        return hd_test_finish("test_registry_client");
}
