/*
 * One webhook attempt against herald listen over real TLS: delivered, 410 and
 * 302 returned as they are (no redirect followed), certificate verification on,
 * and the SSRF guard refusing a loopback target unless allow-listed.
 */
#include "hd_devcert.h"
#include "hd_test.h"
#include "hd_testenv.h"
#include "hd_util.h"
#include "hd_webhook_sig.h"
#include "hd_wh_http.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <time.h>

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static char tls[600], ca[700], route[200];

static pid_t start_listen_with(const char *flag, const char *value)
{
        char cert[700], key[700], out[700], port[32];
        char *argv[] = {"herald-listen", "--listen", "127.0.0.1:0", "--cert", cert, "--key", key,
                        "--secret", SECRET, "--out", out, (char *)flag, (char *)value, NULL};
        pid_t pid;

        snprintf(cert, sizeof(cert), "%s/server.pem", tls);
        snprintf(key, sizeof(key), "%s/server-key.pem", tls);
        snprintf(out, sizeof(out), "%s/out.jsonl", hd_test_tmpdir());
        pid = hd_test_spawn(argv, "herald listen: listening on https://127.0.0.1:", port,
                            sizeof(port), 10000);
        snprintf(route, sizeof(route), "hooks.dev.test:443:127.0.0.1:%s", port);
        return pid;
}

static pid_t start_listen(const char *status)
{
        return start_listen_with(status ? "--status" : NULL, status);
}

/* One signed POST through conn with the subscription's auth (may be NULL). */
static void post_conn(hd_wh_conn_t *conn, const json_t *auth, hd_wh_result_t *res)
{
        const char *secrets[] = {SECRET}, *body = "{\"id\":\"e1\",\"type\":\"invoice.posted\"}";
        char sig[200], err[200], h[3][300];
        const char *hdrs[3] = {h[0], h[1], h[2]};
        long now = (long)time(NULL);

        hd_webhook_sign(secrets, 1, "msg_e1", now, body, strlen(body), sig, sizeof(sig), err,
                        sizeof(err));
        snprintf(h[0], sizeof(h[0]), "webhook-id: msg_e1");
        snprintf(h[1], sizeof(h[1]), "webhook-timestamp: %ld", now);
        snprintf(h[2], sizeof(h[2]), "webhook-signature: %s", sig);
        hd_wh_post(conn, "https://hooks.dev.test/hook", body, strlen(body), hdrs, 3, auth, res);
}

/* Auth options stay on a worker's handle between attempts: one subscription's basic
 * credentials or bearer token must never go out with another's delivery. */
static void auth_does_not_leak(void)
{
        const char *connect_to[] = {route};
        hd_wh_target_opts_t o = {.ca_file = ca, .connect_to = connect_to, .nconnect_to = 1};
        json_t *basic = json_pack("{s:s, s:s, s:s}", "type", "basic", "username", "u",
                                  "password", "p");
        json_t *bearer = json_pack("{s:s, s:s}", "type", "bearer", "token", "t0k");
        hd_wh_conn_t *conn;
        hd_wh_result_t res;
        pid_t pid;

        pid = start_listen_with("--require-auth", "Basic dTpw"); /* u:p */
        conn = hd_wh_conn_new(&o);
        post_conn(conn, basic, &res);
        HD_CHECK_MSG(res.status == 204, "status %ld: %s", res.status, res.error);
        post_conn(conn, NULL, &res);
        HD_CHECK_INT_EQ(res.status, 401); /* the credentials were not kept */
        post_conn(conn, basic, &res);
        HD_CHECK_INT_EQ(res.status, 204);
        hd_test_stop(pid, 0);
        hd_wh_conn_free(conn);

        pid = start_listen_with("--require-auth", "Bearer t0k");
        conn = hd_wh_conn_new(&o);
        post_conn(conn, bearer, &res);
        HD_CHECK_MSG(res.status == 204, "status %ld: %s", res.status, res.error);
        post_conn(conn, basic, &res);
        HD_CHECK_INT_EQ(res.status, 401); /* basic only: the token line is gone */
        post_conn(conn, NULL, &res);
        HD_CHECK_INT_EQ(res.status, 401);
        hd_test_stop(pid, 0);
        hd_wh_conn_free(conn);
        json_decref(basic);
        json_decref(bearer);
}

static void post(const char *ca_file, hd_wh_result_t *res)
{
        const char *secrets[] = {SECRET}, *body = "{\"id\":\"e1\",\"type\":\"invoice.posted\"}";
        const char *connect_to[] = {route};
        char sig[200], err[200], h[3][300];
        const char *hdrs[3] = {h[0], h[1], h[2]};
        long now = (long)time(NULL);
        hd_wh_target_opts_t o = {.ca_file = ca_file, .connect_to = connect_to, .nconnect_to = 1};

        hd_webhook_sign(secrets, 1, "msg_e1", now, body, strlen(body), sig, sizeof(sig), err,
                        sizeof(err));
        snprintf(h[0], sizeof(h[0]), "webhook-id: msg_e1");
        snprintf(h[1], sizeof(h[1]), "webhook-timestamp: %ld", now);
        snprintf(h[2], sizeof(h[2]), "webhook-signature: %s", sig);
        hd_wh_conn_t *conn = hd_wh_conn_new(&o);
        hd_wh_post(conn, "https://hooks.dev.test/hook", body, strlen(body), hdrs, 3, NULL, res);
        hd_wh_conn_free(conn);
}

int main(void)
{
        hd_wh_result_t res;
        hd_wh_target_opts_t bare = {0};
        hd_cidr_t allow;
        char err[256];
        hd_wh_conn_t *handle;
        pid_t pid;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        snprintf(tls, sizeof(tls), "%s/tls", hd_test_tmpdir());
        mkdir(tls, 0700);
        HD_CHECK_MSG(hd_devcert_ensure(tls, err, sizeof(err)) == 0, "%s", err);
        snprintf(ca, sizeof(ca), "%s/ca.pem", tls);

        pid = start_listen(NULL);
        post(ca, &res);
        HD_CHECK_MSG(res.status == 204, "status %ld: %s", res.status, res.error);
        post(NULL, &res); /* the dev CA is not trusted by default: no delivery */
        HD_CHECK_INT_EQ(res.status, 0);
        HD_CHECK(res.error[0] != '\0' && !res.refused);
        hd_test_stop(pid, 0);

        pid = start_listen("410");
        post(ca, &res);
        HD_CHECK_INT_EQ(res.status, 410);
        hd_test_stop(pid, 0);
        pid = start_listen("302");
        post(ca, &res);
        HD_CHECK_INT_EQ(res.status, 302); /* reported as is: never followed */
        hd_test_stop(pid, 0);
        auth_does_not_leak();

        handle = hd_wh_conn_new(&bare);
        hd_wh_post(handle, "https://127.0.0.1/hook", "{}", 2, NULL, 0, NULL, &res);
        HD_CHECK(res.refused);
        HD_CHECK_CONTAINS(res.error, "resolves to 127.0.0.1 (loopback)");
        hd_wh_post(handle, "https://localhost/hook", "{}", 2, NULL, 0, NULL, &res);
        HD_CHECK(res.refused);
        hd_cidr_parse("127.0.0.0/8", &allow, err, sizeof(err));
        bare.allow = &allow;
        bare.nallow = 1;
        hd_wh_post(handle, "https://127.0.0.1/hook", "{}", 2, NULL, 0, NULL, &res);
        HD_CHECK(!res.refused); /* allowed through; nothing listens on 443 */
        hd_wh_conn_free(handle);
        HD_CHECK_INT_EQ(res.status, 0);
        curl_global_cleanup();
        return hd_test_finish("test_wh_http");
}
