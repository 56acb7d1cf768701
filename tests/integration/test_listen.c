/*
 * herald listen over real HTTPS (certificates from hd_devcert, verification on):
 * a correctly signed delivery is accepted and recorded, a bad or missing signature
 * gets 401, and the fault options answer as asked.
 */
#include "hd_devcert.h"
#include "hd_test.h"
#include "hd_testenv.h"
#include "hd_util.h"
#include "hd_webhook_sig.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static char tls[600], url[300];

static long post_auth(const char *id, const char *body, const char *secret, const char *auth)
{
        const char *secrets[] = {secret};
        char sig[256] = "", err[256], h[3][400], ca[700];
        struct curl_slist *hs = NULL;
        long status = 0, now = (long)time(NULL);
        CURL *c = curl_easy_init();

        if (secret)
                hd_webhook_sign(secrets, 1, id, now, body, strlen(body), sig, sizeof(sig), err,
                                sizeof(err));
        snprintf(h[0], sizeof(h[0]), "webhook-id: %s", id);
        snprintf(h[1], sizeof(h[1]), "webhook-timestamp: %ld", now);
        snprintf(h[2], sizeof(h[2]), "webhook-signature: %s", sig);
        for (int i = 0; i < 3; i++)
                hs = curl_slist_append(hs, h[i]);
        hs = curl_slist_append(hs, "Content-Type: application/json");
        if (auth)
                hs = curl_slist_append(hs, auth);
        snprintf(ca, sizeof(ca), "%s/ca.pem", tls);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CAINFO, ca); /* verification stays on */
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hs);
        curl_easy_cleanup(c);
        return status;
}

static long post(const char *id, const char *body, const char *secret)
{
        return post_auth(id, body, secret, NULL);
}

/* Refused arguments: exit 2 and a message naming the option. */
static void check_refused(const char *opt, const char *val, const char *want)
{
        char *argv[] = {"herald-listen", "--listen", "127.0.0.1:0", "--cert", "c.pem", "--key",
                        "k.pem", "--secret", SECRET, (char *)opt, (char *)val, NULL};
        char *out = NULL, *err = NULL;

        HD_CHECK_INT_EQ(hd_test_run(argv, NULL, &out, &err), 2);
        HD_CHECK_CONTAINS(err, want);
        free(out), free(err);
}

static pid_t start_listen(const char *out, const char *extra1, const char *extra2)
{
        char cert[700], key[700], rest[200];
        char *argv[] = {"herald-listen", "--listen", "127.0.0.1:0", "--cert", cert, "--key", key,
                        "--secret", SECRET, "--out", (char *)out, (char *)extra1, (char *)extra2,
                        NULL};
        pid_t pid;

        snprintf(cert, sizeof(cert), "%s/server.pem", tls);
        snprintf(key, sizeof(key), "%s/server-key.pem", tls);
        pid = hd_test_spawn(argv, "herald listen: listening on https://127.0.0.1:", rest,
                            sizeof(rest), 10000);
        snprintf(url, sizeof(url), "https://localhost:%s/hook", rest);
        return pid;
}

int main(void)
{
        char err[256], out[700], *lines;
        const char *body = "{\"id\":\"e1\",\"type\":\"invoice.posted\",\"account_id\":\"A-1\"}";
        pid_t pid;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        snprintf(tls, sizeof(tls), "%s/tls", hd_test_tmpdir());
        mkdir(tls, 0700);
        HD_CHECK_MSG(hd_devcert_ensure(tls, err, sizeof(err)) == 0, "%s", err);
        snprintf(out, sizeof(out), "%s/deliveries.jsonl", hd_test_tmpdir());
        unlink(out);

        pid = start_listen(out, NULL, NULL);
        HD_CHECK(pid > 0);
        HD_CHECK_INT_EQ(post("e1", body, SECRET), 204);
        HD_CHECK_INT_EQ(post("e2", body, "whsec_b3RoZXItc2VjcmV0LTAwMDAwMDAwMDAwMDAwMDAwMA=="), 401);
        HD_CHECK_INT_EQ(post("e3", body, NULL), 401);
        HD_CHECK_INT_EQ(hd_test_stop(pid, 0), 0);
        lines = hd_read_file(out, 1 << 20, NULL, err, sizeof(err));
        HD_CHECK_CONTAINS(lines, "\"id\":\"e1\",\"type\":\"invoice.posted\",\"account\":\"A-1\","
                                 "\"valid\":true,\"status\":204");
        HD_CHECK_CONTAINS(lines, "\"id\":\"e2\"");
        HD_CHECK_CONTAINS(lines, "\"valid\":false,\"status\":401");
        HD_CHECK_CONTAINS(lines, "no webhook-signature matches");
        HD_CHECK(strstr(lines, SECRET) == NULL);
        free(lines);

        pid = start_listen(out, "--status", "410");
        HD_CHECK_INT_EQ(post("e4", body, SECRET), 410);
        hd_test_stop(pid, 0);
        pid = start_listen(out, "--fail-rate", "1");
        HD_CHECK_INT_EQ(post("e5", body, SECRET), 503);
        hd_test_stop(pid, 0);
        pid = start_listen(out, "--reset-rate", "1");
        HD_CHECK_INT_EQ(post("e6", body, SECRET), 0); /* no answer at all */
        hd_test_stop(pid, 0);

        /* --require-auth: a valid signature is not enough without the Authorization. */
        pid = start_listen(out, "--require-auth", "Bearer t0k");
        HD_CHECK_INT_EQ(post_auth("e7", body, SECRET, "Authorization: Bearer t0k"), 204);
        HD_CHECK_INT_EQ(post_auth("e8", body, SECRET, "Authorization: Bearer nope"), 401);
        HD_CHECK_INT_EQ(post("e9", body, SECRET), 401);
        hd_test_stop(pid, 0);
        lines = hd_read_file(out, 1 << 20, NULL, err, sizeof(err));
        HD_CHECK_CONTAINS(lines, "Authorization header wrong");
        HD_CHECK_CONTAINS(lines, "Authorization header missing");
        HD_CHECK(strstr(lines, "t0k") == NULL);
        free(lines);

        pid = start_listen(out, "--record-body", NULL);
        HD_CHECK_INT_EQ(post("e10", body, SECRET), 204);
        hd_test_stop(pid, 0);
        lines = hd_read_file(out, 1 << 20, NULL, err, sizeof(err));
        HD_CHECK_CONTAINS(lines, "\"id\":\"e10\"");
        HD_CHECK_CONTAINS(lines, "\"body\":{\"id\":\"e1\",\"type\":\"invoice.posted\"");
        free(lines);

        check_refused("--secret", "whsec_!!!", "--secret #2: webhook secret is not base64");
        check_refused("--listen", "127.0.0.1:70000", "expected IPv4:PORT");
        check_refused("--listen", "localhost:80", "expected IPv4:PORT");
        check_refused("--listen", "127.0.0.1:8x", "expected IPv4:PORT");
        curl_global_cleanup();
        return hd_test_finish("test_listen");
}
