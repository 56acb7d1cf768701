/*
 * herald's HTTP/1.1 webhook client (hd_wh_h1, through hd_wh_post) against a
 * scripted TLS server in this process on an ephemeral loopback port: what goes
 * on the wire, keep-alive, every response framing (Content-Length, chunked with
 * extensions and trailers, close-delimited, interim 1xx), Retry-After, a kept
 * connection the server closed (sent again once on a new one), timeouts,
 * oversized and non-HTTP answers, header injection refused, host name
 * verification, the client certificate (mTLS) and the HTTP/2 hand-over to curl
 * when the server chooses h2 in ALPN; then the event-driven client (hd_wh_aio,
 * driven by the test's thread) through the same scenarios and its own rules (slots, h2 declined, the SSRF
 * guard on its resolver, attempts ended at stop).
 */
#include "hd_devcert.h"
#include "hd_test.h"
#include "hd_util.h"
#include "hd_wh_aio.h"
#include "hd_wh_h1.h"
#include "hd_wh_http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What the server answers to the next request. */
enum {
        M_204, M_LEN_BODY, M_CHUNKED, M_INTERIM, M_RETRY_AFTER, M_CLOSE, M_EOF_BODY,
        M_STALE, M_SILENT, M_HUGE_HEAD, M_GARBAGE, M_H2, M_SLOW
};

static struct {
        int lfd;
        SSL_CTX *ctx;
        atomic_int mode, conns, stop, client_cert, h2_preface, resumed;
        char last[8192];  /* the last request as received */
        pthread_mutex_t lock;
} srv;

static int srv_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                    const unsigned char *in, unsigned int inlen, void *arg)
{
        static const unsigned char h2[] = "h2", h1[] = "http/1.1";

        (void)ssl, (void)in, (void)inlen, (void)arg;
        *out = atomic_load(&srv.mode) == M_H2 ? h2 : h1;
        *outlen = atomic_load(&srv.mode) == M_H2 ? 2 : 8;
        return SSL_TLSEXT_ERR_OK;
}

static int srv_verify(int ok, X509_STORE_CTX *x)
{
        (void)ok, (void)x;
        return 1; /* the test looks at whether a certificate came, not its purpose */
}

/* One request: head and Content-Length body into srv.last. 0, or -1 at EOF. */
static int srv_read_request(SSL *ssl)
{
        char buf[8192];
        int have = 0, n;
        char *end;

        buf[0] = '\0';
        while (!(end = strstr(buf, "\r\n\r\n"))) {
                if ((n = SSL_read(ssl, buf + have, (int)sizeof(buf) - 1 - have)) <= 0)
                        return -1;
                have += n;
                buf[have] = '\0';
                if (have >= 24 && !memcmp(buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24)) {
                        atomic_store(&srv.h2_preface, 1);
                        return -1;
                }
        }
        const char *cl = strcasestr(buf, "Content-Length: ");
        int want = (int)(end + 4 - buf) + (cl ? atoi(cl + 16) : 0);
        while (have < want && have < (int)sizeof(buf) - 1) {
                if ((n = SSL_read(ssl, buf + have, (int)sizeof(buf) - 1 - have)) <= 0)
                        return -1;
                have += n;
                buf[have] = '\0';
        }
        pthread_mutex_lock(&srv.lock);
        memcpy(srv.last, buf, (size_t)have + 1);
        pthread_mutex_unlock(&srv.lock);
        return 0;
}

static void srv_write(SSL *ssl, const char *s)
{
        SSL_write(ssl, s, (int)strlen(s));
}

/* Answers per the mode; 1 when the connection is to be closed after it. */
static int srv_answer(SSL *ssl, int mode)
{
        char big[20000];

        switch (mode) {
        case M_LEN_BODY:
                memset(big, 'b', 5000);
                big[5000] = '\0';
                srv_write(ssl, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
                srv_write(ssl, big);
                return 0;
        case M_CHUNKED:
                srv_write(ssl, "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "5;ext=1\r\nhello\r\n");
                srv_write(ssl, "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n");
                return 0;
        case M_INTERIM:
                srv_write(ssl, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
                               "Content-Length: 0\r\n\r\n");
                return 0;
        case M_RETRY_AFTER:
                srv_write(ssl, "HTTP/1.1 429 Too Many\r\nretry-after:  7 \r\nContent-Length: 2\r\n\r\nno");
                return 0;
        case M_CLOSE:
                srv_write(ssl, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
                return 1;
        case M_EOF_BODY:
                srv_write(ssl, "HTTP/1.0 200 OK\r\n\r\nuntil the end");
                return 1;
        case M_STALE: /* keep-alive promised, then the server goes away */
                srv_write(ssl, "HTTP/1.1 204 No Content\r\n\r\n");
                return 1;
        case M_SILENT: /* never answers: wait for the client to give up */
                while (SSL_read(ssl, big, sizeof(big)) > 0)
                        ;
                return 1;
        case M_HUGE_HEAD:
                srv_write(ssl, "HTTP/1.1 200 OK\r\n");
                memset(big, 'h', sizeof(big) - 1);
                big[sizeof(big) - 1] = '\0';
                memcpy(big, "X-Big: ", 7);
                srv_write(ssl, big);
                srv_write(ssl, "\r\n\r\n");
                return 1;
        case M_SLOW: /* an endpoint taking its time: attempts overlap */
                usleep(150 * 1000);
                srv_write(ssl, "HTTP/1.1 204 No Content\r\n\r\n");
                return 0;
        case M_GARBAGE:
                srv_write(ssl, "SMTP ready\r\n\r\n");
                return 1;
        default:
                srv_write(ssl, "HTTP/1.1 204 No Content\r\n\r\n");
                return 0;
        }
}

/* One connection, in its own thread: the client keeps several open at once. */
static void *srv_conn(void *arg)
{
        int fd = (int)(intptr_t)arg;
        SSL *ssl = SSL_new(srv.ctx);

        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
                X509 *peer = SSL_get1_peer_certificate(ssl);

                atomic_store(&srv.client_cert, peer != NULL);
                atomic_fetch_add(&srv.resumed, SSL_session_reused(ssl));
                X509_free(peer);
                while (!srv_read_request(ssl) && !srv_answer(ssl, atomic_load(&srv.mode)))
                        ;
        }
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
        return NULL;
}

#define SRV_MAX_CONNS 64
static pthread_t srv_threads[SRV_MAX_CONNS];

static void *srv_main(void *arg)
{
        (void)arg;
        while (!atomic_load(&srv.stop)) {
                int fd = accept(srv.lfd, NULL, NULL), n;

                if (fd < 0)
                        continue;
                if ((n = atomic_fetch_add(&srv.conns, 1)) >= SRV_MAX_CONNS) {
                        close(fd);
                        continue;
                }
                pthread_create(&srv_threads[n], NULL, srv_conn, (void *)(intptr_t)fd);
        }
        return NULL;
}

static char tls[600], ca[700], route[200];

static void srv_start(pthread_t *t)
{
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t len = sizeof(sa);
        char cert[700], key[700];

        snprintf(cert, sizeof(cert), "%s/server.pem", tls);
        snprintf(key, sizeof(key), "%s/server-key.pem", tls);
        srv.ctx = SSL_CTX_new(TLS_server_method());
        HD_CHECK(SSL_CTX_use_certificate_chain_file(srv.ctx, cert) == 1);
        HD_CHECK(SSL_CTX_use_PrivateKey_file(srv.ctx, key, SSL_FILETYPE_PEM) == 1);
        SSL_CTX_set_alpn_select_cb(srv.ctx, srv_alpn, NULL);
        SSL_CTX_set_verify(srv.ctx, SSL_VERIFY_PEER, srv_verify); /* asks, never requires */
        SSL_CTX_set_session_id_context(srv.ctx, (const unsigned char *)"t", 1); /* resumable */
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
        HD_CHECK(bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        HD_CHECK(listen(srv.lfd, 8) == 0);
        getsockname(srv.lfd, (struct sockaddr *)&sa, &len);
        snprintf(route, sizeof(route), "hooks.dev.test:443:127.0.0.1:%d", ntohs(sa.sin_port));
        pthread_mutex_init(&srv.lock, NULL);
        pthread_create(t, NULL, srv_main, NULL);
}

static hd_wh_target_opts_t opts;
static const char *connect_to[1];

#define URL "https://hooks.dev.test/in/hook?x=1&y=two"
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

/* The client under test: the blocking one (hd_wh_post) or the event-driven one. */
typedef struct client {
        hd_wh_conn_t *conn;
        hd_wh_aio_t *aio;
} client_t;

static struct {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int done, declined;
} aio_wait = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void aio_done(void *arg, hd_wh_aio_job_t *job, int declined, size_t queued)
{
        (void)arg, (void)job, (void)queued;
        pthread_mutex_lock(&aio_wait.lock);
        aio_wait.done++;
        aio_wait.declined += declined;
        pthread_cond_broadcast(&aio_wait.cond);
        pthread_mutex_unlock(&aio_wait.lock);
}

static hd_wh_aio_t *driven; /* the engine this thread drives, or NULL */

/* Waits (bounded) until n jobs have been reported done since the counter was reset;
 * a driven engine is run meanwhile. */
static int aio_wait_for(int n)
{
        struct timespec until;
        int ok;

        for (int i = 0; driven && i < 2000; i++) {
                struct pollfd p = {hd_wh_aio_fd(driven), POLLIN, 0};
                int ms = hd_wh_aio_run(driven);

                if (aio_wait.done >= n) /* this thread's own counter: no lock needed */
                        break;
                poll(&p, 1, ms);
        }

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 20;
        pthread_mutex_lock(&aio_wait.lock);
        while (aio_wait.done < n &&
               pthread_cond_timedwait(&aio_wait.cond, &aio_wait.lock, &until) == 0)
                ;
        ok = aio_wait.done >= n;
        pthread_mutex_unlock(&aio_wait.lock);
        return ok;
}

static void aio_reset(void)
{
        pthread_mutex_lock(&aio_wait.lock);
        aio_wait.done = aio_wait.declined = 0;
        pthread_mutex_unlock(&aio_wait.lock);
}

static hd_wh_aio_t *aio_new(const hd_wh_target_opts_t *o, size_t max)
{
        char err[256];
        hd_wh_aio_t *a = hd_wh_aio_new(o, max, aio_done, NULL, err, sizeof(err));

        HD_CHECK_MSG(a != NULL, "%s", err);
        driven = a;
        return a;
}

static void aio_free(hd_wh_aio_t *a)
{
        if (driven == a)
                driven = NULL;
        hd_wh_aio_free(a);
}

static json_t *sub_for(const char *url, const json_t *auth)
{
        json_t *sub = json_pack("{s:s, s:{s:s, s:[s]}}", "id", "s1", "webhook", "url", url,
                                "secrets", SECRET);

        if (auth)
                json_object_set(json_object_get(sub, "webhook"), "auth", (json_t *)auth);
        return sub;
}

/* One attempt through the engine, waited for. */
static int aio_post(hd_wh_aio_t *a, const char *url, const json_t *auth, hd_wh_result_t *res)
{
        json_t *sub = sub_for(url, auth);
        hd_wh_aio_job_t job = {.sub = sub, .msg_id = "msg_1", .body = "{\"a\":1}", .len = 7};
        int declined;

        aio_reset();
        hd_wh_aio_submit(a, &job);
        HD_CHECK(aio_wait_for(1));
        declined = aio_wait.declined;
        *res = job.res;
        json_decref(sub);
        return declined;
}

static void post(client_t *c, int mode, const json_t *auth, hd_wh_result_t *res)
{
        const char *hdrs[] = {"webhook-id: msg_1", "webhook-timestamp: 1700000000"};

        atomic_store(&srv.mode, mode);
        if (c->conn)
                hd_wh_post(c->conn, URL, "{\"a\":1}", 7, hdrs, 2, auth, res);
        else
                aio_post(c->aio, URL, auth, res);
}

static void last_request(char *out, size_t size)
{
        pthread_mutex_lock(&srv.lock);
        hd_strlcpy(out, srv.last, size);
        pthread_mutex_unlock(&srv.lock);
}

/* What goes on the wire, and one connection for a run of plain answers. */
static void wire_and_keepalive(client_t *c)
{
        hd_wh_result_t res;
        char req[8192];
        int before = atomic_load(&srv.conns);

        post(c, M_204, NULL, &res);
        HD_CHECK_MSG(res.status == 204, "status %ld: %s", res.status, res.error);
        last_request(req, sizeof(req));
        HD_CHECK(!strncmp(req, "POST /in/hook?x=1&y=two HTTP/1.1\r\nHost: hooks.dev.test\r\n", 55));
        HD_CHECK_CONTAINS(req, "\r\nContent-Type: application/json\r\n");
        HD_CHECK_CONTAINS(req, "\r\nContent-Length: 7\r\n");
        if (c->conn) {
                HD_CHECK_CONTAINS(req, "\r\nwebhook-id: msg_1\r\nwebhook-timestamp: 1700000000\r\n");
        } else { /* signed by the engine */
                HD_CHECK_CONTAINS(req, "\r\nwebhook-id: msg_1\r\nwebhook-timestamp: ");
                HD_CHECK_CONTAINS(req, "\r\nwebhook-signature: v1,");
        }
        HD_CHECK_CONTAINS(req, "\r\n\r\n{\"a\":1}");
        HD_CHECK(!strstr(req, "Authorization"));
        static const long want[] = {200, 202, 201, 429};

        for (int m = M_LEN_BODY; m <= M_RETRY_AFTER; m++) {
                post(c, m, NULL, &res);
                HD_CHECK_MSG(res.status == want[m - M_LEN_BODY], "mode %d: status %ld: %s", m,
                             res.status, res.error);
        }
        HD_CHECK_STR_EQ(res.retry_after, "7");
        post(c, M_204, NULL, &res);
        HD_CHECK_INT_EQ(res.status, 204);
        HD_CHECK_INT_EQ(atomic_load(&srv.conns) - before, 1); /* all on one connection */
}

/* Connection: close, a close-delimited body and a server that drops a kept
 * connection each cost a new connection, never a lost or failed delivery. */
static void reconnects(client_t *c)
{
        hd_wh_result_t res;
        int before = atomic_load(&srv.conns);

        post(c, M_CLOSE, NULL, &res);
        HD_CHECK_INT_EQ(res.status, 200);
        post(c, M_EOF_BODY, NULL, &res);
        HD_CHECK_INT_EQ(res.status, 200);
        post(c, M_STALE, NULL, &res);
        HD_CHECK_INT_EQ(res.status, 204);
        /* the server closed that one without saying so: sent again on a new one */
        post(c, M_204, NULL, &res);
        HD_CHECK_MSG(res.status == 204, "status %ld: %s", res.status, res.error);
        /* the close went on the kept connection; then one each for the other three */
        HD_CHECK_INT_EQ(atomic_load(&srv.conns) - before, 3);
}

static void failures(client_t *c)
{
        hd_wh_result_t res;
        const char *evil[] = {"webhook-id: x\r\nX-Injected: 1"};
        json_t *bearer = json_pack("{s:s, s:s}", "type", "bearer", "token", "t\r\nX-Evil: 1");
        struct timespec a, b;

        clock_gettime(CLOCK_MONOTONIC, &a);
        post(c, M_SILENT, NULL, &res);
        clock_gettime(CLOCK_MONOTONIC, &b);
        HD_CHECK_INT_EQ(res.status, 0);
        HD_CHECK_CONTAINS(res.error, "timed out");
        HD_CHECK(b.tv_sec - a.tv_sec < 4); /* total timeout 1 s */
        post(c, M_HUGE_HEAD, NULL, &res);
        HD_CHECK_INT_EQ(res.status, 0);
        HD_CHECK_CONTAINS(res.error, "response head is larger than");
        post(c, M_GARBAGE, NULL, &res);
        HD_CHECK_INT_EQ(res.status, 0);
        HD_CHECK_CONTAINS(res.error, "not HTTP/1.x");
        post(c, M_204, bearer, &res);
        HD_CHECK(res.refused && res.status == 0);
        if (c->conn) { /* the engine makes its own headers */
                atomic_store(&srv.mode, M_204);
                hd_wh_post(c->conn, "https://hooks.dev.test/", "{}", 2, evil, 1, NULL, &res);
                HD_CHECK(res.refused && res.status == 0);
                HD_CHECK_CONTAINS(res.error, "line break");
        }
        json_decref(bearer);
}

/* The client certificate goes out only for the subscription that has one, and a
 * connection made with it is not reused without it. */
static void mtls(client_t *c)
{
        char cert[700], key[700];
        json_t *auth;
        hd_wh_result_t res;
        int before;

        snprintf(cert, sizeof(cert), "%s/server.pem", tls);
        snprintf(key, sizeof(key), "%s/server-key.pem", tls);
        auth = json_pack("{s:s, s:s, s:s}", "type", "mtls", "cert_file", cert, "key_file", key);
        post(c, M_CLOSE, NULL, &res); /* no plain connection left open */
        before = atomic_load(&srv.conns);
        post(c, M_204, auth, &res);
        HD_CHECK_MSG(res.status == 204, "status %ld: %s", res.status, res.error);
        HD_CHECK_INT_EQ(atomic_load(&srv.client_cert), 1);
        post(c, M_204, auth, &res); /* kept */
        HD_CHECK_INT_EQ(atomic_load(&srv.conns) - before, 1);
        post(c, M_204, NULL, &res); /* not on the certificate's connection */
        HD_CHECK_INT_EQ(res.status, 204);
        HD_CHECK_INT_EQ(atomic_load(&srv.client_cert), 0);
        HD_CHECK_INT_EQ(atomic_load(&srv.conns) - before, 2);
        json_object_set_new(auth, "cert_file", json_string("/nonexistent/cert.pem"));
        post(c, M_204, auth, &res);
        HD_CHECK(res.status == 0);
        HD_CHECK_CONTAINS(res.error, "client certificate");
        json_decref(auth);
}

/* Basic credentials as RFC 7617 says, on this request only. */
static void basic(client_t *c)
{
        json_t *auth = json_pack("{s:s, s:s, s:s}", "type", "basic", "username", "Aladdin",
                                 "password", "open sesame");
        hd_wh_result_t res;
        char req[8192];

        post(c, M_204, auth, &res);
        HD_CHECK_INT_EQ(res.status, 204);
        last_request(req, sizeof(req));
        HD_CHECK_CONTAINS(req, "\r\nAuthorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n");
        post(c, M_204, NULL, &res);
        last_request(req, sizeof(req));
        HD_CHECK(!strstr(req, "Authorization"));
        json_decref(auth);
}

/* The certificate must name the host: this one is not in the dev certificate. */
static void wrong_host(int use_aio)
{
        char wrong[200];
        const char *ct[] = {wrong};
        hd_wh_target_opts_t o2 = opts;
        hd_wh_result_t res;
        client_t c2 = {0};

        atomic_store(&srv.mode, M_204);
        snprintf(wrong, sizeof(wrong), "wrong.example:443:127.0.0.1:%s", strrchr(route, ':') + 1);
        o2.connect_to = ct;
        if (use_aio) {
                c2.aio = aio_new(&o2, 4);
                aio_post(c2.aio, "https://wrong.example/", NULL, &res);
                aio_free(c2.aio);
        } else {
                c2.conn = hd_wh_conn_new(&o2);
                hd_wh_post(c2.conn, "https://wrong.example/", "{}", 2, NULL, 0, NULL, &res);
                hd_wh_conn_free(c2.conn);
        }
        HD_CHECK_INT_EQ(res.status, 0);
        HD_CHECK_CONTAINS(res.error, "certificate verify failed");
}

static void scenarios(client_t *c)
{
        wire_and_keepalive(c);
        reconnects(c);
        failures(c);
        basic(c);
        mtls(c);
}

/* Four attempts at once to an endpoint taking its time; all must be delivered. */
static void four_slow(hd_wh_aio_t *a, const json_t *sub, hd_wh_aio_job_t jobs[4])
{
        atomic_store(&srv.mode, M_SLOW);
        aio_reset();
        for (int i = 0; i < 4; i++) {
                jobs[i] = (hd_wh_aio_job_t){.sub = sub, .msg_id = "m", .body = "{}", .len = 2};
                hd_wh_aio_submit(a, &jobs[i]);
        }
        HD_CHECK(aio_wait_for(4));
        for (int i = 0; i < 4; i++)
                HD_CHECK_MSG(jobs[i].res.status == 204, "job %d: %ld %s", i, jobs[i].res.status,
                             jobs[i].res.error);
}

/* The engine's own rules: at most max_running at once (and so connections), the
 * rest queued in order; an HTTP/2 host declined; the SSRF guard on its resolver;
 * attempts still running when it stops are reported, not lost. */
static void aio_rules(void)
{
        hd_wh_target_opts_t bare = {.connect_timeout_ms = 2000, .total_timeout_ms = 1000};
        hd_wh_aio_job_t jobs[4];
        json_t *sub = sub_for(URL, NULL);
        hd_wh_result_t res;
        hd_wh_aio_t *a;
        int before;

        for (size_t max = 1; max <= 4; max += 3) {
                int resumed = atomic_load(&srv.resumed);

                a = aio_new(&opts, max);
                before = atomic_load(&srv.conns);
                four_slow(a, sub, jobs);
                HD_CHECK_INT_EQ(atomic_load(&srv.conns) - before, (int)max);
                /* one full handshake first; the others wait for its session and resume
                 * it (a TLS 1.3 client may still make some full: tickets are meant
                 * for one use) */
                if (max > 1)
                        HD_CHECK(atomic_load(&srv.resumed) - resumed > 0);
                aio_free(a);
        }

        /* A server whose resumption fails: that handshake is made again in full, the
         * host gets full handshakes from then on, and nothing is lost. */
        SSL_CTX_set_session_id_context(srv.ctx, (const unsigned char *)"", 0);
        a = aio_new(&opts, 4);
        before = atomic_load(&srv.conns);
        four_slow(a, sub, jobs);
        /* 4, and one more for each resumption refused before the host was marked */
        HD_CHECK(atomic_load(&srv.conns) - before >= 5 && atomic_load(&srv.conns) - before <= 7);
        aio_free(a);
        SSL_CTX_set_session_id_context(srv.ctx, (const unsigned char *)"t", 1);

        a = aio_new(&opts, 4);
        atomic_store(&srv.mode, M_H2);
        HD_CHECK_INT_EQ(aio_post(a, URL, NULL, &res), 1); /* declined: nothing sent */
        HD_CHECK_INT_EQ(aio_post(a, URL, NULL, &res), 1); /* remembered */
        aio_free(a);

        a = aio_new(&bare, 4);
        aio_post(a, "https://127.0.0.1/hook", NULL, &res);
        HD_CHECK(res.refused && res.status == 0);
        HD_CHECK_CONTAINS(res.error, "resolves to 127.0.0.1 (loopback)");
        aio_post(a, "http://hooks.dev.test/hook", NULL, &res);
        HD_CHECK(res.refused);
        aio_free(a);

        a = aio_new(&opts, 1);
        atomic_store(&srv.mode, M_SILENT);
        aio_reset();
        for (int i = 0; i < 2; i++) { /* one running, one queued */
                jobs[i] = (hd_wh_aio_job_t){.sub = sub, .msg_id = "m", .body = "{}", .len = 2};
                hd_wh_aio_submit(a, &jobs[i]);
        }
        aio_free(a);
        HD_CHECK(aio_wait_for(2));
        for (int i = 0; i < 2; i++) {
                HD_CHECK_INT_EQ(jobs[i].res.status, 0);
                HD_CHECK_CONTAINS(jobs[i].res.error, "stopping");
        }
        json_decref(sub);
}

int main(void)
{
        hd_wh_result_t res;
        client_t c = {0};
        pthread_t t;
        char err[256];

        signal(SIGPIPE, SIG_IGN);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        snprintf(tls, sizeof(tls), "%s/tls", hd_test_tmpdir());
        mkdir(tls, 0700);
        HD_CHECK_MSG(hd_devcert_ensure(tls, err, sizeof(err)) == 0, "%s", err);
        snprintf(ca, sizeof(ca), "%s/ca.pem", tls);
        srv_start(&t);
        connect_to[0] = route;
        opts = (hd_wh_target_opts_t){.ca_file = ca, .connect_to = connect_to, .nconnect_to = 1,
                                     .connect_timeout_ms = 2000, .total_timeout_ms = 1000};

        /* the blocking client */
        c.conn = hd_wh_conn_new(&opts);
        HD_CHECK(c.conn != NULL);
        scenarios(&c);
        wrong_host(0);
        hd_wh_conn_free(c.conn);
        /* A server choosing h2 gets curl, which speaks HTTP/2 to it (the preface). */
        c.conn = hd_wh_conn_new(&opts);
        post(&c, M_H2, NULL, &res);
        HD_CHECK_MSG(atomic_load(&srv.h2_preface) == 1, "no HTTP/2 preface; %ld %s", res.status,
                     res.error);
        hd_wh_conn_free(c.conn);

        /* the event-driven one, through the same scenarios, driven by this thread
         * (as the daemon's loop drives it) */
        c.conn = NULL;
        c.aio = aio_new(&opts, 4);
        scenarios(&c);
        aio_free(c.aio);
        wrong_host(1);
        aio_rules();

        atomic_store(&srv.stop, 1);
        shutdown(srv.lfd, SHUT_RDWR);
        close(srv.lfd);
        pthread_join(t, NULL);
        for (int i = 0; i < atomic_load(&srv.conns) && i < SRV_MAX_CONNS; i++)
                pthread_join(srv_threads[i], NULL);
        SSL_CTX_free(srv.ctx);
        curl_global_cleanup();
        return hd_test_finish("test_wh_h1");
}
