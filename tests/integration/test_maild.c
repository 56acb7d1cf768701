/*
 * herald-maild end to end on the dev stack with real SMTP servers (aiosmtpd,
 * tests/support/smtp_server.py): two profiles used by two subscriptions, tokens
 * rendered into subject and recipients, 4xx answers retried until accepted, 5xx
 * dead-lettered with the reply in the DLQ headers, a header-injection attempt
 * through a token dead-lettered and never sent, per-account order of e-mails on
 * the ordered topic, and two herald-maild processes with one killed by SIGKILL
 * mid-run: nothing lost, duplicates carry the same Message-ID.
 */
#include "herald/herald.h"
#include "hd_log.h"
#include "hd_test.h"
#include "hd_testenv.h"
#include "hd_testkafka.h"
#include "hd_util.h"

#include <curl/curl.h>
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define NACC 4
#define NSVC 60

static hd_testenv_t env;
static char conf[700];

typedef struct { pid_t pid; char port[16]; char dir[700]; } smtp_t;

static void start_smtp(smtp_t *s, const char *name, const char *o1, const char *v1)
{
        char script[700];
        char *argv[] = {"/usr/bin/python3", script, "serve", "--dir", s->dir, "--port", "0",
                        (char *)o1, (char *)v1, NULL};

        snprintf(script, sizeof(script), "%s", hd_test_src("tests/support/smtp_server.py"));
        snprintf(s->dir, sizeof(s->dir), "%s/%s", hd_test_tmpdir(), name);
        mkdir(s->dir, 0700);
        s->pid = hd_test_spawn(argv, "smtp_server: ready ", s->port, sizeof(s->port), 20000);
        HD_CHECK_MSG(s->pid > 0, "SMTP server %s did not start", name);
}

/* The messages a server accepted, in arrival order (NNNN.json). */
static json_t *smtp_messages(const smtp_t *s)
{
        json_t *arr = json_array();
        struct dirent **names = NULL;
        int n = scandir(s->dir, &names, NULL, alphasort);

        for (int i = 0; i < n; i++) {
                const char *f = names[i]->d_name;
                size_t len = strlen(f);
                char path[1000];
                json_t *j;
                if (len > 5 && !strcmp(f + len - 5, ".json")) {
                        snprintf(path, sizeof(path), "%s/%s", s->dir, f);
                        if ((j = json_load_file(path, 0, NULL)))
                                json_array_append_new(arr, j);
                }
                free(names[i]);
        }
        free(names);
        return arr;
}

static const char *msg_subject(const json_t *m)
{
        return json_string_value(json_object_get(json_object_get(m, "parsed"), "subject"));
}

/* Distinct Message-IDs a server accepted. */
static int smtp_distinct(void *arg)
{
        json_t *arr = smtp_messages(arg), *seen = json_object(), *m;
        size_t i;
        int n;

        json_array_foreach(arr, i, m) {
                const char *id = json_string_value(
                        json_object_get(json_object_get(m, "parsed"), "message_id"));
                if (id)
                        json_object_set_new(seen, id, json_true());
        }
        n = (int)json_object_size(seen);
        json_decref(seen);
        json_decref(arr);
        return n;
}

static void write_config(const smtp_t *ops, const smtp_t *billing, const smtp_t *bad)
{
        FILE *fp;

        snprintf(conf, sizeof(conf), "%s/maild.conf", hd_test_tmpdir());
        fp = fopen(conf, "w");
        fprintf(fp,
                "kafka = { bootstrap_servers = \"%s\"; session_timeout_ms = 6000; };\n"
                "registry = { urls = [\"%s\"]; };\n"
                "email = { retry_schedule = \"0s,20ms,20ms,20ms,20ms,20ms,20ms,20ms\";\n"
                "  commit_interval_ms = 50; revoke_timeout_ms = 2000; workers = 4;\n"
                "  metrics_listen = \"127.0.0.1:0\";\n"
                "  profiles = (\n"
                "    { name = \"ops\"; host = \"127.0.0.1\"; port = %s; tls = \"none\";\n"
                "      from_name = \"Ops Désk\"; from_address = \"ops@herald.test\"; },\n"
                "    { name = \"billing\"; host = \"127.0.0.1\"; port = %s; tls = \"none\";\n"
                "      from_address = \"billing@herald.test\"; },\n"
                "    { name = \"bad\"; host = \"127.0.0.1\"; port = %s; tls = \"none\";\n"
                "      from_address = \"bad@herald.test\"; } ); };\n",
                env.bootstrap, env.registry_url, ops->port, billing->port, bad->port);
        fclose(fp);
}

static void create_sub(const char *id, const char *types, const char *profile,
                       const char *to, const char *subject)
{
        char json[1500], *out = NULL, *err = NULL;
        char *argv[] = {"herald-sub", "--config", conf, "create", "--file", "-", NULL};

        snprintf(json, sizeof(json),
                 "{\"id\":\"%s\",\"channel\":\"email\",\"event_types\":%s,\"email\":{"
                 "\"profile\":\"%s\",\"to\":[\"%s\"],\"subject\":\"%s\","
                 "\"text\":\"Hello {{account.name}}\",\"html\":\"<p>{{account.name}}</p>\"}}",
                 id, types, profile, to, subject);
        HD_CHECK_MSG(hd_test_run(argv, json, &out, &err) == 0, "sub %s: %s", id, err);
        free(out), free(err);
}

static void emit_json(herald_producer_t *p, const char *json)
{
        herald_event_t *ev = NULL;
        char err[256];

        HD_CHECK_MSG(herald_event_from_json(json, &ev, err, sizeof(err)) == HERALD_OK, "%s", err);
        HD_CHECK_MSG(herald_emit(p, ev, NULL, NULL, err, sizeof(err)) == HERALD_OK, "%s", err);
        herald_event_destroy(ev);
}

static void produce_events(void)
{
        herald_producer_t *p = NULL;
        char err[256], json[1024];

        HD_CHECK_MSG(herald_producer_new(conf, &p, err, sizeof(err)) == HERALD_OK, "%s", err);
        if (!p)
                return;
        for (int i = 0; i < NSVC; i++) { /* -> "svc" through ops, ordered by account */
                snprintf(json, sizeof(json),
                         "{\"type\":\"account.service.state_changed\",\"account_id\":\"ACC-%d\","
                         "\"data\":{\"account\":{\"name\":\"Acme %d\",\"billing_email\":"
                         "\"ap%d@acme.test\"},\"service\":{\"id\":\"s%d\",\"name\":\"svc-%02d\","
                         "\"from_state\":\"a\",\"to_state\":\"b\"}}}",
                         i % NACC, i % NACC, i % NACC, i, i);
                emit_json(p, json);
        }
        for (int i = 0; i < 3; i++) /* -> "inv" through billing (first answers 451) */
                emit_json(p, "{\"type\":\"invoice.posted\",\"account_id\":\"ACC-9\",\"data\":{"
                             "\"account\":{\"name\":\"Zoë\"},\"invoice\":{\"id\":\"i\",\"number\":"
                             "\"N-1\",\"total\":{\"amount_minor\":1234,\"currency\":\"EUR\"},"
                             "\"issue_date\":\"d\",\"due_date\":\"d\"}}}");
        /* -> "pay" through bad (554) */
        emit_json(p, "{\"type\":\"payment.failed\",\"account_id\":\"ACC-8\",\"data\":{\"account\":"
                     "{\"name\":\"n\"},\"payment\":{\"id\":\"p\",\"amount\":{\"amount_minor\":1,"
                     "\"currency\":\"EUR\"},\"method\":\"card\"},\"failure\":{\"code\":\"c\","
                     "\"reason\":\"r\"}}}");
        /* -> "acct": a token carrying CR LF into the subject must never be sent */
        emit_json(p, "{\"type\":\"account.updated\",\"account_id\":\"ACC-7\",\"data\":{\"account\":"
                     "{\"name\":\"Evil\\r\\nBcc: victim@evil.test\"},\"changes\":{\"fields\":\"name\"}}}");
        HD_CHECK(herald_flush(p, 10000, err, sizeof(err)) == HERALD_OK);
        herald_producer_destroy(p);
}

static pid_t start_daemon(char *metrics, size_t size)
{
        char rest[200], *at;
        char *argv[] = {"herald-maild", "--config", conf, NULL};
        pid_t pid = hd_test_spawn(argv, "herald-maild: consuming", rest, sizeof(rest), 30000);

        HD_CHECK_MSG(pid > 0, "herald-maild did not start");
        at = strstr(rest, "http://");
        snprintf(metrics, size, "%s", at ? at : "");
        return pid;
}

/* Per account, first arrivals of the service e-mails follow the produced order. */
static void check_order_and_content(const smtp_t *ops)
{
        json_t *arr = smtp_messages(ops), *seen = json_object(), *m;
        int next[NACC] = {0, 1, 2, 3}, bad = 0, dups = 0;
        size_t i;

        json_array_foreach(arr, i, m) {
                const json_t *parsed = json_object_get(m, "parsed");
                const char *id = json_string_value(json_object_get(parsed, "message_id"));
                const char *subj = msg_subject(m), *rcpt;
                int svc = -1, acc = -1, racc = -1;
                if (!id || json_object_get(seen, id)) {
                        dups++;
                        continue;
                }
                json_object_set_new(seen, id, json_true());
                if (!subj || sscanf(subj, "svc-%d for Acme %d", &svc, &acc) != 2 || acc < 0 ||
                    acc >= NACC || svc != next[acc]) {
                        bad++;
                        continue;
                }
                next[acc] += NACC;
                rcpt = json_string_value(json_array_get(json_object_get(m, "rcpt_tos"), 0));
                HD_CHECK_MSG(rcpt && sscanf(rcpt, "ap%d@acme.test", &racc) == 1 && racc == acc,
                             "recipient %s for account %d", rcpt, acc); /* from a token */
        }
        HD_CHECK_INT_EQ(bad, 0);
        HD_CHECK_MSG(dups <= NSVC / 2, "%d duplicates", dups); /* bounded by the window */
        for (int a = 0; a < NACC; a++)
                HD_CHECK_INT_EQ(next[a], NSVC + a);
        {       /* the RFC 2047 display name decodes back */
                json_t *from = json_object_get(json_object_get(json_array_get(arr, 0), "parsed"),
                                               "from");
                const char *name = json_string_value(
                        json_object_get(json_array_get(from, 0), "name"));
                HD_CHECK_MSG(name && !strcmp(name, "Ops Désk"), "From name %s", name);
        }
        json_decref(seen);
        json_decref(arr);
}

/* The delivery a DLQ record stands for: the killed daemon may have written one
 * before its offset was committed, and the survivor then writes it again. */
static void dlq_key(const json_t *r, char *buf, size_t size)
{
        json_t *h = json_object_get(r, "headers");

        snprintf(buf, size, "%s/%s/%s/%s",
                 json_string_value(json_object_get(h, "herald.subscription.id")) ?: "",
                 json_string_value(json_object_get(h, "herald.original.topic")) ?: "",
                 json_string_value(json_object_get(h, "herald.original.partition")) ?: "",
                 json_string_value(json_object_get(h, "herald.original.offset")) ?: "");
}

/* Distinct deliveries in the DLQ. */
static int dlq_count(void *arg)
{
        json_t *arr = hd_test_read_topic(env.bootstrap, "herald.herald-maild.dlq", 3000);
        json_t *seen = json_object(), *r;
        char key[300];
        size_t i;
        int n;

        json_array_foreach(arr, i, r) {
                dlq_key(r, key, sizeof(key));
                json_object_set_new(seen, key, json_true());
        }
        n = (int)json_object_size(seen);
        json_decref(seen);

        if (arg) {
                json_decref(*(json_t **)arg);
                *(json_t **)arg = arr;
        } else {
                json_decref(arr);
        }
        return n;
}

static void check_dlq(void)
{
        json_t *arr = NULL, *r, *seen = json_object();
        int smtp554 = 0, injection = 0;
        char key[300];
        size_t i;

        HD_CHECK_INT_EQ(hd_test_wait_for(dlq_count, &arr, 2, 30000), 2);
        json_array_foreach(arr, i, r) {
                json_t *h = json_object_get(r, "headers");
                dlq_key(r, key, sizeof(key));
                if (json_object_get(seen, key)) /* written again after the SIGKILL */
                        continue;
                json_object_set_new(seen, key, json_true());
                const char *cls = json_string_value(json_object_get(h, "herald.error.class"));
                const char *detail = json_string_value(json_object_get(h, "herald.error.detail"));
                const char *sub = json_string_value(json_object_get(h, "herald.subscription.id"));
                smtp554 += cls && !strcmp(cls, "smtp_554") && sub && !strcmp(sub, "pay") &&
                           !strcmp(json_string_value(json_object_get(h, "herald.last.status")) ?: "",
                                   "554");
                injection += cls && !strcmp(cls, "render_failed") && sub && !strcmp(sub, "acct") &&
                             detail && strstr(detail, "injection");
        }
        HD_CHECK_INT_EQ(smtp554, 1);
        HD_CHECK_MSG(injection == 1, "DLQ: %s", json_dumps(arr, JSON_COMPACT));
        json_decref(seen);
        json_decref(arr);
}

int main(void)
{
        smtp_t ops, billing, bad;
        char m1[200], m2[200];
        pid_t d1, d2;
        json_t *inv;

        if (hd_testenv_start(&env, 0)) {
                HD_CHECK(!"dev stack started");
                return hd_test_finish("test_maild");
        }
        unsetenv("HERALD_BOOTSTRAP");
        unsetenv("HERALD_REGISTRY_URL");
        start_smtp(&ops, "ops", NULL, NULL);
        start_smtp(&billing, "billing", "--fail-4xx", "2");
        start_smtp(&bad, "bad", "--fail-5xx", NULL);
        write_config(&ops, &billing, &bad);
        create_sub("svc", "[\"account.service.*\"]", "ops", "{{account.billing_email}}",
                   "{{service.name}} for {{account.name}}");
        create_sub("inv", "[\"invoice.posted\"]", "billing", "ar@customer.test",
                   "Invoice {{invoice.number}}: {{invoice.total}} for {{account.name}}");
        create_sub("pay", "[\"payment.failed\"]", "bad", "ops@customer.test", "Payment failed");
        create_sub("acct", "[\"account.updated\"]", "ops", "ops@customer.test",
                   "Account {{account.name}} changed");
        d1 = start_daemon(m1, sizeof(m1));
        d2 = start_daemon(m2, sizeof(m2));
        produce_events();

        /* One of the two dies mid-run; the other takes its partitions over. */
        HD_CHECK(hd_test_wait_for(smtp_distinct, &ops, NSVC / 4, 60000) >= NSVC / 4);
        kill(d1, SIGKILL);
        hd_test_stop(d1, 1);
        HD_CHECK_INT_EQ(hd_test_wait_for(smtp_distinct, &ops, NSVC, 90000), NSVC);
        HD_CHECK_INT_EQ(hd_test_wait_for(smtp_distinct, &billing, 3, 30000), 3); /* after two 451s */
        check_order_and_content(&ops);
        check_dlq();
        HD_CHECK_INT_EQ(smtp_distinct(&bad), 0);
        inv = smtp_messages(&billing);
        HD_CHECK_MSG(msg_subject(json_array_get(inv, 0)) &&
                             !strcmp(msg_subject(json_array_get(inv, 0)),
                                     "Invoice N-1: 12.34 EUR for Zoë"),
                     "subject %s", msg_subject(json_array_get(inv, 0)));
        json_decref(inv);
        {       /* nothing ever reached a server with the injected header */
                json_t *all = smtp_messages(&ops), *m;
                size_t i;
                json_array_foreach(all, i, m)
                        HD_CHECK(!strstr(msg_subject(m) ?: "", "Evil"));
                json_decref(all);
        }
        {       /* the Prometheus endpoint of the survivor */
                char *argv[] = {"/usr/bin/curl", "-fsS", m2, NULL}, *out = NULL, *err = NULL;
                HD_CHECK_INT_EQ(hd_test_run(argv, NULL, &out, &err), 0);
                HD_CHECK_CONTAINS(out, "herald_deliveries_total{result=\"delivered\"}");
                HD_CHECK_CONTAINS(out, "herald_consumer_lag{topic=\"billing.events.ordered\"");
                free(out), free(err);
        }
        HD_CHECK_INT_EQ(hd_test_stop(d2, 0), 0);
        {       /* a config without a profile a subscription names: refused at start */
                char bad_conf[800], *out = NULL, *err = NULL, *text;
                char *argv[] = {"herald-maild", "--config", bad_conf, NULL};
                char e[256];
                FILE *fp;
                snprintf(bad_conf, sizeof(bad_conf), "%s/noprofile.conf", hd_test_tmpdir());
                text = hd_read_file(conf, 1 << 16, NULL, e, sizeof(e));
                *strstr(text, ",\n    { name = \"bad\"") = '\0';
                fp = fopen(bad_conf, "w");
                fprintf(fp, "%s ); };\n", text);
                fclose(fp);
                free(text);
                HD_CHECK_INT_EQ(hd_test_run(argv, NULL, &out, &err), 1);
                HD_CHECK_CONTAINS(err, "subscription pay: email.profile \"bad\" is not in");
                free(out), free(err);
        }
        hd_test_stop(ops.pid, 0);
        hd_test_stop(billing.pid, 0);
        hd_test_stop(bad.pid, 0);
        HD_CHECK_INT_EQ(hd_testenv_stop(&env), 0);
        hd_log_clear_secrets();
        return hd_test_finish("test_maild");
}
