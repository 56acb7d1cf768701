/*
 * SMTP sending against real SMTP servers on loopback (tests/support/smtp_server.py,
 * aiosmtpd): STARTTLS required, implicit TLS, AUTH, two profiles, 4xx then
 * success, 5xx, server down then up, partial recipient failure, connection reuse
 * (the server counts connections) and the per-profile connection limit under
 * concurrent senders.
 */
#include "hd_catalogue.h"
#include "hd_devcert.h"
#include "hd_mail_msg.h"
#include "hd_mail_smtp.h"
#include "hd_test.h"
#include "hd_testenv.h"
#include "hd_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWORD "s3cret-pw-never-logged"

static char certs[1024], ca[1100], cert[1100], key[1100];

typedef struct server {
        pid_t pid;
        int port;
        char dir[1024];
} server_t;

/* Starts smtp_server.py serve with the given extra arguments (NULL-terminated). */
static int server_start(server_t *s, const char *name, int port, const char *tls, ...)
{
        char *argv[32], rest[64], portstr[16];
        int n = 0;
        va_list ap;
        const char *a;

        snprintf(s->dir, sizeof(s->dir), "%s/%s", hd_test_tmpdir(), name);
        snprintf(portstr, sizeof(portstr), "%d", port);
        argv[n++] = "/usr/bin/python3";
        argv[n++] = (char *)hd_test_src("tests/support/smtp_server.py");
        argv[n++] = "serve";
        argv[n++] = "--dir", argv[n++] = s->dir;
        argv[n++] = "--port", argv[n++] = portstr;
        argv[n++] = "--tls", argv[n++] = (char *)tls;
        argv[n++] = "--cert", argv[n++] = cert;
        argv[n++] = "--key", argv[n++] = key;
        va_start(ap, tls);
        while ((a = va_arg(ap, const char *)) && n < 31)
                argv[n++] = (char *)a;
        va_end(ap);
        argv[n] = NULL;
        s->pid = hd_test_spawn(argv, "smtp_server: ready ", rest, sizeof(rest), 20000);
        s->port = atoi(rest);
        HD_CHECK_MSG(s->pid > 0 && s->port > 0, "smtp server %s did not start", name);
        return s->pid > 0 ? 0 : -1;
}

static void server_stop(server_t *s)
{
        hd_test_stop(s->pid, 0);
        s->pid = 0;
}

/* DIR/NNNN.json of the n-th accepted message, or NULL when there is none. */
static json_t *received(const server_t *s, int n)
{
        char path[1200];

        snprintf(path, sizeof(path), "%s/%04d.json", s->dir, n);
        return json_load_file(path, 0, NULL);
}

static int connections(const server_t *s)
{
        char path[1200], *text;
        int n;

        snprintf(path, sizeof(path), "%s/connections", s->dir);
        text = hd_read_file(path, 64, NULL, NULL, 0);
        n = text ? atoi(text) : 0;
        free(text);
        return n;
}

static hd_smtp_profile_t profile(const char *name, int port, const char *tls, int auth)
{
        return (hd_smtp_profile_t){.name = (char *)name, .host = "127.0.0.1", .port = port,
                                   .tls = (char *)tls, .from_name = "Herald Ops",
                                   .from_address = "ops@herald.example",
                                   .username = auth ? "herald" : NULL,
                                   .password = auth ? PASSWORD : NULL, .max_connections = 2};
}

/* A message for one event to the given recipients (NULL-terminated). */
static hd_mail_msg_t *message(const char *event_id, const char *subject, ...)
{
        json_t *ev = json_pack("{s:s, s:s, s:s, s:I, s:{s:{s:s}, s:{s:s, s:s, s:{s:i, s:s},"
                               " s:s, s:s}}}",
                               "id", event_id, "type", "invoice.posted", "account_id", "A-1",
                               "occurred_at", (json_int_t)1795750845000LL, "data", "account",
                               "name", "Acme", "invoice", "id", "i1", "number", "INV-1",
                               "total", "amount_minor", 995, "currency", "EUR", "issue_date",
                               "2026-11-27", "due_date", "2026-12-27");
        json_t *sub = json_pack("{s:s, s:{s:s, s:[], s:s, s:s, s:s}}", "id", "sub-smtp",
                                "email", "profile", "p", "to", "subject", subject, "text",
                                "Invoice {{invoice.number}}: {{invoice.total}}\n", "html",
                                "<p>Invoice {{invoice.number}}</p>");
        hd_smtp_profile_t p = profile("p", 25, "none", 0);
        json_t *to = json_object_get(json_object_get(sub, "email"), "to");
        hd_mail_msg_t *m;
        char err[512];
        const char *a;
        va_list ap;

        va_start(ap, subject);
        while ((a = va_arg(ap, const char *)))
                json_array_append_new(to, json_string(a));
        va_end(ap);
        m = hd_mail_build(ev, sub, &p, err, sizeof(err));
        HD_CHECK_MSG(m != NULL, "%s", err);
        json_decref(ev);
        json_decref(sub);
        return m;
}

static hd_outcome_t send1(hd_mail_smtp_t *s, const char *prof, const hd_mail_msg_t *m,
                          hd_mail_result_t *r)
{
        hd_outcome_t o = hd_mail_smtp_send(s, prof, m, r);

        HD_CHECK_MSG(!strstr(r->detail, PASSWORD) && !strstr(r->smtp_text, PASSWORD),
                     "password in result: %s", r->detail);
        return o;
}

static hd_mail_smtp_t *sender(hd_smtp_profile_t *p, size_t n, int with_ca)
{
        hd_mail_smtp_opts_t o = {.ca_file = with_ca ? ca : NULL, .connect_timeout_ms = 5000,
                                 .timeout_ms = 20000};
        char err[256];
        hd_mail_smtp_t *s = hd_mail_smtp_new(p, n, &o, err, sizeof(err));

        HD_CHECK_MSG(s != NULL, "%s", err);
        return s;
}

/* STARTTLS required + AUTH: delivered over TLS, authenticated, one connection reused. */
static void test_starttls_auth_reuse(void)
{
        server_t srv;
        hd_smtp_profile_t p[2];
        hd_mail_smtp_t *s;
        hd_mail_result_t r;
        hd_mail_msg_t *m;
        json_t *j;

        if (server_start(&srv, "starttls", 0, "starttls", "--auth", "herald:" PASSWORD, NULL))
                return;
        p[0] = profile("tls", srv.port, "starttls", 1);
        p[1] = profile("tls", srv.port, "starttls", 1);
        s = sender(p, 1, 1);
        for (int i = 0; i < 5; i++) {
                char id[32];
                snprintf(id, sizeof(id), "ev-reuse-%d", i);
                m = message(id, "Reuse {{invoice.number}}", "a@example.com", "B <b@example.com>",
                            NULL);
                HD_CHECK_INT_EQ(send1(s, "tls", m, &r), HD_OUTCOME_DELIVERED);
                HD_CHECK_INT_EQ(r.smtp_code, 250);
                HD_CHECK_INT_EQ(r.naccepted, 2);
                HD_CHECK_INT_EQ(r.reused, i > 0);
                j = received(&srv, i + 1);
                HD_CHECK_MSG(j != NULL, "message %d not received", i + 1);
                HD_CHECK(json_is_true(json_object_get(j, "tls")));
                HD_CHECK_STR_EQ(json_string_value(json_object_get(j, "auth")), "herald");
                HD_CHECK_INT_EQ(json_integer_value(json_object_get(j, "connection")), 1);
                if (i == 0) { /* the bytes arrive as built (dot-stuffing undone by the server) */
                        char path[1200], *eml;
                        size_t len = 0;
                        snprintf(path, sizeof(path), "%s/0001.eml", srv.dir);
                        eml = hd_read_file(path, 1 << 20, &len, NULL, 0);
                        HD_CHECK(eml && len == m->len && !memcmp(eml, m->data, len));
                        free(eml);
                }
                HD_CHECK_STR_EQ(json_string_value(json_object_get(j, "mail_from")),
                                "ops@herald.example");
                HD_CHECK_INT_EQ(json_array_size(json_object_get(j, "rcpt_tos")), 2);
                HD_CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(j, "parsed"),
                                                                  "subject")),
                                "Reuse INV-1");
                HD_CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(j, "parsed"),
                                                                  "message_id")),
                                m->message_id);
                json_decref(j);
                hd_mail_free(m);
        }
        HD_CHECK_INT_EQ(connections(&srv), 1);
        HD_CHECK_INT_EQ(hd_mail_smtp_connects(s, "tls"), 1);
        hd_mail_smtp_destroy(s);

        /* a wrong password: the profile is wrong, not the message: retry */
        p[1].password = "wrong-password";
        s = sender(&p[1], 1, 1);
        m = message("ev-auth", "x", "a@example.com", NULL);
        HD_CHECK_INT_EQ(send1(s, "tls", m, &r), HD_OUTCOME_RETRY);
        HD_CHECK_INT_EQ(r.smtp_code, 535);
        HD_CHECK_CONTAINS(r.detail, "AUTH refused: 535");
        HD_CHECK(!strstr(r.detail, "wrong-password"));
        hd_mail_smtp_destroy(s);

        /* the server's certificate cannot be verified without the dev CA: retry */
        s = sender(p, 1, 0);
        HD_CHECK_INT_EQ(send1(s, "tls", m, &r), HD_OUTCOME_RETRY);
        HD_CHECK_MSG(strstr(r.detail, "certificate") || strstr(r.detail, "SSL"), "%s",
                     r.detail);
        hd_mail_smtp_destroy(s);
        hd_mail_free(m);
        HD_CHECK(received(&srv, 6) == NULL);
        server_stop(&srv);
}

/* A server without STARTTLS is never sent to in clear by a starttls profile. */
static void test_starttls_missing(void)
{
        server_t srv;
        hd_smtp_profile_t p;
        hd_mail_smtp_t *s;
        hd_mail_result_t r;
        hd_mail_msg_t *m;

        if (server_start(&srv, "plain", 0, "none", NULL))
                return;
        p = profile("tls", srv.port, "starttls", 1);
        s = sender(&p, 1, 1);
        m = message("ev-plain", "x", "a@example.com", NULL);
        HD_CHECK_INT_EQ(send1(s, "tls", m, &r), HD_OUTCOME_RETRY);
        HD_CHECK_CONTAINS(r.detail, "STARTTLS");
        HD_CHECK(received(&srv, 1) == NULL);
        hd_mail_smtp_destroy(s);
        hd_mail_free(m);
        server_stop(&srv);
}

/* Two profiles in one sender: implicit TLS and plain, each to its own server. */
static void test_two_profiles(void)
{
        server_t a, b;
        hd_smtp_profile_t p[2];
        hd_mail_smtp_t *s;
        hd_mail_result_t r;
        hd_mail_msg_t *m;
        json_t *j;

        if (server_start(&a, "implicit", 0, "implicit", "--auth", "herald:" PASSWORD, NULL))
                return;
        if (server_start(&b, "second", 0, "none", NULL)) {
                server_stop(&a);
                return;
        }
        p[0] = profile("alpha", a.port, "implicit", 1);
        p[1] = profile("beta", b.port, "none", 0);
        p[1].from_address = "beta@herald.example";
        s = sender(p, 2, 1);
        m = message("ev-alpha", "to alpha", "x@example.com", NULL);
        HD_CHECK_INT_EQ(send1(s, "alpha", m, &r), HD_OUTCOME_DELIVERED);
        hd_mail_free(m);
        m = message("ev-beta", "to beta", "y@example.com", NULL);
        HD_CHECK_INT_EQ(send1(s, "beta", m, &r), HD_OUTCOME_DELIVERED);
        hd_mail_free(m);
        HD_CHECK_INT_EQ(send1(s, "gamma", m, &r), HD_OUTCOME_DEAD);
        HD_CHECK_CONTAINS(r.detail, "no SMTP profile \"gamma\"");

        j = received(&a, 1);
        HD_CHECK(json_is_true(json_object_get(j, "tls")));
        HD_CHECK_STR_EQ(json_string_value(json_object_get(j, "auth")), "herald");
        HD_CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(j, "parsed"),
                                                          "subject")), "to alpha");
        json_decref(j);
        j = received(&b, 1);
        HD_CHECK(json_is_false(json_object_get(j, "tls")));
        HD_CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(j, "parsed"),
                                                          "subject")), "to beta");
        json_decref(j);
        HD_CHECK(received(&a, 2) == NULL && received(&b, 2) == NULL);
        hd_mail_smtp_destroy(s);
        server_stop(&a);
        server_stop(&b);
}

/* 451 for the first message then success; 554 always is dead. */
static void test_4xx_5xx(void)
{
        server_t srv;
        hd_smtp_profile_t p;
        hd_mail_smtp_t *s;
        hd_mail_result_t r;
        hd_mail_msg_t *m = message("ev-4xx", "x", "a@example.com", NULL);

        if (server_start(&srv, "fail4xx", 0, "starttls", "--fail-4xx", "1", NULL))
                goto out;
        p = profile("p", srv.port, "starttls", 0);
        s = sender(&p, 1, 1);
        HD_CHECK_INT_EQ(send1(s, "p", m, &r), HD_OUTCOME_RETRY);
        HD_CHECK_INT_EQ(r.smtp_code, 451);
        HD_CHECK_CONTAINS(r.detail, "end of message refused: 451 4.3.0 try again later");
        HD_CHECK(received(&srv, 1) == NULL);
        HD_CHECK_INT_EQ(send1(s, "p", m, &r), HD_OUTCOME_DELIVERED);
        HD_CHECK_INT_EQ(r.smtp_code, 250);
        {
                json_t *j = received(&srv, 1);
                HD_CHECK(j != NULL);
                json_decref(j);
        }
        hd_mail_smtp_destroy(s);
        server_stop(&srv);

        if (server_start(&srv, "fail5xx", 0, "none", "--fail-5xx", NULL))
                goto out;
        p = profile("p", srv.port, "none", 0);
        s = sender(&p, 1, 1);
        for (int i = 0; i < 2; i++) {
                HD_CHECK_INT_EQ(send1(s, "p", m, &r), HD_OUTCOME_DEAD);
                HD_CHECK_INT_EQ(r.smtp_code, 554);
                HD_CHECK_CONTAINS(r.detail, "554 5.7.1 message rejected");
        }
        HD_CHECK(received(&srv, 1) == NULL);
        hd_mail_smtp_destroy(s);
        server_stop(&srv);
out:
        hd_mail_free(m);
}

/* A port nothing listens on (bound, not listening: connections are refused). */
static int reserve_port(int *fd)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);

        *fd = socket(AF_INET, SOCK_STREAM, 0);
        if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof(a)) ||
            getsockname(*fd, (struct sockaddr *)&a, &len))
                return -1;
        return ntohs(a.sin_port);
}

/* Server down: retry; up on the same port: delivered; restarted under a kept
 * connection: delivered on a new one. */
static void test_down_then_up(void)
{
        server_t srv;
        hd_smtp_profile_t p;
        hd_mail_smtp_t *s;
        hd_mail_result_t r;
        hd_mail_msg_t *m = message("ev-down", "x", "a@example.com", NULL);
        int fd, port = reserve_port(&fd);
        char portstr[16];
        json_t *j;

        HD_CHECK(port > 0);
        p = profile("p", port, "starttls", 0);
        s = sender(&p, 1, 1);
        HD_CHECK_INT_EQ(send1(s, "p", m, &r), HD_OUTCOME_RETRY);
        HD_CHECK_INT_EQ(r.smtp_code, 0);
        HD_CHECK_INT_EQ(r.reused, 0);
        HD_CHECK_MSG(strstr(r.detail, "onnect"), "%s", r.detail);
        close(fd);
        snprintf(portstr, sizeof(portstr), "%d", port);
        if (server_start(&srv, "downup", port, "starttls", NULL))
                goto out;
        HD_CHECK_INT_EQ(srv.port, port);
        HD_CHECK_INT_EQ(send1(s, "p", m, &r), HD_OUTCOME_DELIVERED);
        j = received(&srv, 1);
        HD_CHECK(j != NULL);
        json_decref(j);

        /* the kept connection dies with the server; a new server takes the port */
        server_stop(&srv);
        if (server_start(&srv, "restarted", port, "starttls", NULL))
                goto out;
        HD_CHECK_INT_EQ(send1(s, "p", m, &r), HD_OUTCOME_DELIVERED);
        HD_CHECK_INT_EQ(r.reused, 0);
        j = received(&srv, 1);
        HD_CHECK(j != NULL);
        json_decref(j);
        server_stop(&srv);
out:
        hd_mail_smtp_destroy(s);
        hd_mail_free(m);
}

/* Some recipients refused: delivered to the others, the refused ones reported. */
static void test_partial_recipients(void)
{
        server_t srv;
        hd_smtp_profile_t p;
        hd_mail_smtp_t *s;
        hd_mail_result_t r;
        hd_mail_msg_t *m;
        json_t *j;

        if (server_start(&srv, "partial", 0, "none", "--refuse", "bad@example.com",
                         "--refuse-4xx", "busy@example.com", NULL))
                return;
        p = profile("p", srv.port, "none", 0);
        s = sender(&p, 1, 1);
        m = message("ev-partial", "x", "good@example.com", "bad@example.com",
                    "busy@example.com", NULL);
        HD_CHECK_INT_EQ(send1(s, "p", m, &r), HD_OUTCOME_DELIVERED);
        HD_CHECK_INT_EQ(r.naccepted, 1);
        HD_CHECK_INT_EQ(r.nrefused, 2);
        HD_CHECK_CONTAINS(r.refused, "bad@example.com (550 5.1.1 <bad@example.com>: no such user)");
        HD_CHECK_CONTAINS(r.refused, "busy@example.com (450 4.2.1");
        HD_CHECK_CONTAINS(r.detail, "delivered to 1 of 3 recipients; refused: bad@example.com");
        j = received(&srv, 1);
        HD_CHECK_INT_EQ(json_array_size(json_object_get(j, "rcpt_tos")), 1);
        HD_CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(j, "rcpt_tos"), 0)),
                        "good@example.com");
        json_decref(j);
        hd_mail_free(m);

        /* every recipient refused: 5xx only is dead, any 4xx retries */
        m = message("ev-allbad", "x", "bad@example.com", NULL);
        HD_CHECK_INT_EQ(send1(s, "p", m, &r), HD_OUTCOME_DEAD);
        HD_CHECK_CONTAINS(r.detail, "every recipient refused: bad@example.com (550");
        hd_mail_free(m);
        m = message("ev-allbusy", "x", "bad@example.com", "busy@example.com", NULL);
        HD_CHECK_INT_EQ(send1(s, "p", m, &r), HD_OUTCOME_RETRY);
        HD_CHECK_INT_EQ(r.nrefused, 2);
        hd_mail_free(m);
        HD_CHECK(received(&srv, 2) == NULL);
        /* and the connection survived all that */
        m = message("ev-after", "x", "good@example.com", NULL);
        HD_CHECK_INT_EQ(send1(s, "p", m, &r), HD_OUTCOME_DELIVERED);
        hd_mail_free(m);
        j = received(&srv, 2);
        HD_CHECK(j != NULL);
        json_decref(j);
        hd_mail_smtp_destroy(s);
        server_stop(&srv);
}

typedef struct worker {
        hd_mail_smtp_t *s;
        int id, delivered;
} worker_t;

static void *worker_main(void *opaque)
{
        worker_t *w = opaque;

        for (int i = 0; i < 10; i++) {
                char id[64];
                hd_mail_result_t r;
                hd_mail_msg_t *m;
                snprintf(id, sizeof(id), "ev-w%d-%d", w->id, i);
                m = message(id, "concurrent", "a@example.com", NULL);
                if (m && hd_mail_smtp_send(w->s, "p", m, &r) == HD_OUTCOME_DELIVERED)
                        w->delivered++;
                hd_mail_free(m);
        }
        return NULL;
}

/* 6 threads, max_connections 2: every message delivered over at most 2 connections. */
static void test_connection_limit(void)
{
        server_t srv;
        hd_smtp_profile_t p;
        worker_t w[6];
        pthread_t t[6];
        int total = 0;
        int64_t t0;

        if (server_start(&srv, "limit", 0, "starttls", NULL))
                return;
        p = profile("p", srv.port, "starttls", 0);
        p.max_connections = 2;
        for (int i = 0; i < 6; i++) {
                w[i] = (worker_t){.s = i ? w[0].s : sender(&p, 1, 1), .id = i};
        }
        t0 = hd_mono_us();
        for (int i = 0; i < 6; i++)
                pthread_create(&t[i], NULL, worker_main, &w[i]);
        for (int i = 0; i < 6; i++) {
                pthread_join(t[i], NULL);
                total += w[i].delivered;
        }
        fprintf(stderr, "test_mail_smtp: %d messages, 6 threads, 2 STARTTLS connections: "
                "%.0f messages/s (aiosmtpd)\n", total, total / ((hd_mono_us() - t0) / 1e6));
        HD_CHECK_INT_EQ(total, 60);
        HD_CHECK(connections(&srv) >= 1 && connections(&srv) <= 2);
        HD_CHECK_INT_EQ(hd_mail_smtp_connects(w[0].s, "p"), connections(&srv));
        {
                json_t *j = received(&srv, 60);
                HD_CHECK(j != NULL);
                json_decref(j);
                HD_CHECK((j = received(&srv, 61)) == NULL);
        }
        hd_mail_smtp_destroy(w[0].s);
        server_stop(&srv);
}

int main(void)
{
        char err[256];

        snprintf(certs, sizeof(certs), "%s/certs", hd_test_tmpdir());
        snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
        snprintf(cert, sizeof(cert), "%s/server.pem", certs);
        snprintf(key, sizeof(key), "%s/server-key.pem", certs);
        mkdir(certs, 0700);
        if (hd_devcert_ensure(certs, err, sizeof(err))) {
                fprintf(stderr, "devcert: %s\n", err);
                return 1;
        }
        test_starttls_auth_reuse();
        test_starttls_missing();
        test_two_profiles();
        test_4xx_5xx();
        test_down_then_up();
        test_partial_recipients();
        test_connection_limit();
        hd_catalogue_cleanup();
        return hd_test_finish("test_mail_smtp");
}
