/*
 * E-mail message: built from an event and a subscription, then parsed by Python's
 * e-mail package (tests/support/smtp_server.py parse) and checked: headers, both
 * parts, encoded words, tokens, HTML escaping, stable Message-ID, line rules; and
 * header injection through every field and token refused.
 */
#include "hd_catalogue.h"
#include "hd_mail_msg.h"
#include "hd_test.h"
#include "hd_testenv.h"
#include "hd_util.h"

#include <stdlib.h>
#include <unistd.h>

#define NOW_MS 1795750845000LL /* Fri, 27 Nov 2026 03:40:45 +0000 */

static hd_smtp_profile_t profile = {
        .name = "billing", .host = "127.0.0.1", .port = 25, .tls = "starttls",
        .from_name = "Herald Billing — Ops", .from_address = "billing@herald.example",
        .max_connections = 2};

static json_t *base_event(void)
{
        return json_pack("{s:s, s:s, s:s, s:I, s:{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:{s:i, s:s},"
                         " s:s, s:s}}}",
                         "id", "0192-ev-1", "type", "invoice.posted", "account_id", "A-42",
                         "occurred_at", (json_int_t)NOW_MS, "data", "account", "name",
                         "Zoë & <Co>", "billing_email", "billing@acme.example", "currency",
                         "EUR", "invoice", "id", "inv-1", "number", "INV-7", "total",
                         "amount_minor", 123456, "currency", "EUR", "issue_date",
                         "2026-11-27", "due_date", "2026-12-27");
}

static json_t *base_sub(void)
{
        return json_pack(
                "{s:s, s:s, s:{s:s, s:[s, s], s:[s], s:s, s:s, s:s}}", "id", "sub-mail-1",
                "channel", "email", "email", "profile", "billing", "to",
                "{{account.billing_email}}", "Ops Team <ops@example.com>", "cc",
                "\"Doe, Jane\" <jane@example.com>", "subject",
                "Invoice {{invoice.number}} for {{account.name}} – {{invoice.total}}", "text",
                "Hello {{account.name}},\nTotal: {{invoice.total}}\n.\nFrom here, = done. \n",
                "html", "<p>Hello {{account.name}}</p><p>{{{account.name}}}</p>");
}

static void set_data(json_t *ev, const char *obj, const char *key, const char *value)
{
        json_object_set_new(json_object_get(json_object_get(ev, "data"), obj), key,
                            json_string(value));
}

static void set_email(json_t *sub, const char *key, json_t *value)
{
        json_object_set_new(json_object_get(sub, "email"), key, value);
}

/* Parses the message with Python; returns the JSON view or NULL. */
static json_t *py_parse(const hd_mail_msg_t *m, const char *name)
{
        char path[1200], *out = NULL, *err = NULL;
        char *argv[] = {"/usr/bin/python3", (char *)hd_test_src("tests/support/smtp_server.py"),
                        "parse", path, NULL};
        FILE *f;
        json_t *j;

        snprintf(path, sizeof(path), "%s/%s.eml", hd_test_tmpdir(), name);
        f = fopen(path, "wb");
        HD_CHECK(f && fwrite(m->data, 1, m->len, f) == m->len);
        if (f)
                fclose(f);
        HD_CHECK_INT_EQ(hd_test_run(argv, NULL, &out, &err), 0);
        j = json_loads(out ? out : "", 0, NULL);
        HD_CHECK_MSG(j != NULL, "parse output: %s %s", out, err);
        free(out);
        free(err);
        return j;
}

static const char *jstr(const json_t *j, const char *path)
{
        char buf[256], *save = NULL;

        hd_strlcpy(buf, path, sizeof(buf));
        for (char *p = strtok_r(buf, ".", &save); p && j; p = strtok_r(NULL, ".", &save))
                j = json_is_array(j) ? json_array_get(j, (size_t)atoi(p)) : json_object_get(j, p);
        return json_string_value(j);
}

/* Every line ends in CRLF, none is longer than max. */
static void check_lines(const hd_mail_msg_t *m, size_t max)
{
        size_t start = 0;

        HD_CHECK(m->len >= 2 && !memcmp(m->data + m->len - 2, "\r\n", 2));
        for (size_t i = 0; i < m->len; i++) {
                if (m->data[i] == '\r') {
                        HD_CHECK_MSG(i + 1 < m->len && m->data[i + 1] == '\n', "bare CR at %zu", i);
                        HD_CHECK_MSG(i - start <= max, "line of %zu > %zu", i - start, max);
                        start = i + 2;
                } else {
                        HD_CHECK_MSG(m->data[i] != '\n' || (i && m->data[i - 1] == '\r'),
                                     "bare LF at %zu", i);
                        HD_CHECK_MSG(m->data[i] != '\0', "NUL at %zu", i);
                }
        }
}

static void test_full_message(void)
{
        json_t *ev = base_event(), *sub = base_sub(), *j;
        char err[512];
        hd_mail_msg_t *m = hd_mail_build_at(ev, sub, &profile, NOW_MS, err, sizeof(err));
        hd_mail_msg_t *again;

        HD_CHECK_MSG(m != NULL, "%s", err);
        if (!m)
                goto out;
        HD_CHECK_STR_EQ(m->mail_from, "billing@herald.example");
        HD_CHECK_INT_EQ(m->nrcpt, 3);
        HD_CHECK_STR_EQ(m->rcpt[0], "billing@acme.example");
        HD_CHECK_STR_EQ(m->rcpt[1], "ops@example.com");
        HD_CHECK_STR_EQ(m->rcpt[2], "jane@example.com");
        HD_CHECK_STR_EQ(m->subject, "Invoice INV-7 for Zoë & <Co> – 1234.56 EUR");
        check_lines(m, 78); /* QP and folded headers: nothing near 998 */

        /* same event + subscription: same Message-ID, whatever the time */
        again = hd_mail_build_at(ev, sub, &profile, NOW_MS + 3600000, err, sizeof(err));
        HD_CHECK(again && !strcmp(again->message_id, m->message_id));
        hd_mail_free(again);
        json_object_set_new(sub, "id", json_string("sub-mail-2"));
        again = hd_mail_build_at(ev, sub, &profile, NOW_MS, err, sizeof(err));
        HD_CHECK(again && strcmp(again->message_id, m->message_id));
        hd_mail_free(again);
        HD_CHECK(m->message_id[0] == '<' && strstr(m->message_id, "@herald.example>"));
        HD_CHECK_INT_EQ(strlen(m->message_id), 1 + 32 + 1 + 14 + 1);

        j = py_parse(m, "full");
        HD_CHECK_STR_EQ(jstr(j, "subject"), "Invoice INV-7 for Zoë & <Co> – 1234.56 EUR");
        HD_CHECK_STR_EQ(jstr(j, "from.0.name"), "Herald Billing — Ops");
        HD_CHECK_STR_EQ(jstr(j, "from.0.addr"), "billing@herald.example");
        HD_CHECK_STR_EQ(jstr(j, "to.0.addr"), "billing@acme.example");
        HD_CHECK_STR_EQ(jstr(j, "to.1.name"), "Ops Team");
        HD_CHECK_STR_EQ(jstr(j, "to.1.addr"), "ops@example.com");
        HD_CHECK_STR_EQ(jstr(j, "cc.0.name"), "Doe, Jane");
        HD_CHECK_STR_EQ(jstr(j, "cc.0.addr"), "jane@example.com");
        HD_CHECK_STR_EQ(jstr(j, "message_id"), m->message_id);
        HD_CHECK_STR_EQ(jstr(j, "date"), "Fri, 27 Nov 2026 03:40:45 +0000");
        HD_CHECK_STR_EQ(jstr(j, "content_type"), "multipart/alternative");
        HD_CHECK_INT_EQ(json_array_size(json_object_get(j, "defects")), 0);
        HD_CHECK(json_is_false(json_object_get(j, "bare_lf")));
        HD_CHECK_INT_EQ(json_array_size(json_object_get(j, "parts")), 2);
        HD_CHECK_STR_EQ(jstr(j, "parts.0.type"), "text/plain");
        HD_CHECK_STR_EQ(jstr(j, "parts.0.charset"), "utf-8");
        HD_CHECK_STR_EQ(jstr(j, "parts.0.cte"), "quoted-printable");
        HD_CHECK_STR_EQ(jstr(j, "parts.0.content"),
                        "Hello Zoë & <Co>,\r\nTotal: 1234.56 EUR\r\n.\r\nFrom here, = done. \r\n");
        HD_CHECK_STR_EQ(jstr(j, "parts.1.type"), "text/html");
        HD_CHECK_STR_EQ(jstr(j, "parts.1.content"),
                        "<p>Hello Zoë &amp; &lt;Co&gt;</p><p>Zoë & <Co></p>");
        /* headers as written: encoded words for the non-ASCII subject and name */
        HD_CHECK_CONTAINS(m->data, "Subject: =?UTF-8?B?");
        HD_CHECK_CONTAINS(m->data, "From: =?UTF-8?B?");
        HD_CHECK_CONTAINS(m->data, "MIME-Version: 1.0\r\n");
        HD_CHECK_CONTAINS(m->data, "X-Herald-Event-Id: 0192-ev-1\r\n");
        HD_CHECK_CONTAINS(m->data, "X-Herald-Subscription-Id: sub-mail-1\r\n");
        HD_CHECK_CONTAINS(m->data, "\r\n=2E\r\n"); /* a lone '.' never ends DATA */
        HD_CHECK_CONTAINS(m->data, "\r\n=46rom here"); /* nor gets mbox-quoted */
        json_decref(j);
out:
        hd_mail_free(m);
        json_decref(ev);
        json_decref(sub);
}

static void test_single_part_and_folding(void)
{
        json_t *ev = base_event(), *sub = base_sub(), *j;
        char err[512], subject[700] = "";
        hd_mail_msg_t *m;

        /* a long ASCII subject folds at spaces; a long UTF-8 one becomes many words */
        for (int i = 0; i < 30; i++)
                strcat(subject, "word{{invoice.number}} ");
        json_object_del(json_object_get(sub, "email"), "html");
        set_email(sub, "subject", json_string(subject));
        m = hd_mail_build_at(ev, sub, &profile, NOW_MS, err, sizeof(err));
        HD_CHECK_MSG(m != NULL, "%s", err);
        if (m) {
                check_lines(m, 78);
                HD_CHECK(!strstr(m->data, "Subject: =?"));
                j = py_parse(m, "single");
                HD_CHECK_STR_EQ(jstr(j, "content_type"), "text/plain");
                HD_CHECK_INT_EQ(json_array_size(json_object_get(j, "parts")), 1);
                HD_CHECK_STR_EQ(jstr(j, "subject"), m->subject);
                HD_CHECK_STR_EQ(jstr(j, "from.0.name"), "Herald Billing — Ops");
                HD_CHECK_INT_EQ(json_array_size(json_object_get(j, "defects")), 0);
                json_decref(j);
        }
        hd_mail_free(m);

        subject[0] = '\0';
        for (int i = 0; i < 40; i++)
                strcat(subject, "Überweisung€ ");
        set_email(sub, "subject", json_string(subject));
        json_object_del(json_object_get(sub, "email"), "text");
        set_email(sub, "html", json_string("<b>{{account.name}}</b>"));
        m = hd_mail_build_at(ev, sub, &profile, NOW_MS, err, sizeof(err));
        HD_CHECK_MSG(m != NULL, "%s", err);
        if (m) {
                check_lines(m, 76);
                j = py_parse(m, "utf8subject");
                HD_CHECK_STR_EQ(jstr(j, "subject"), m->subject);
                HD_CHECK_STR_EQ(jstr(j, "content_type"), "text/html");
                HD_CHECK_STR_EQ(jstr(j, "parts.0.content"), "<b>Zoë &amp; &lt;Co&gt;</b>\r\n");
                HD_CHECK_INT_EQ(json_array_size(json_object_get(j, "defects")), 0);
                json_decref(j);
        }
        hd_mail_free(m);
        json_decref(ev);
        json_decref(sub);
}

/* Builds and expects a refusal whose reason contains want. */
static void refused(json_t *ev, json_t *sub, const hd_smtp_profile_t *p, const char *want)
{
        char err[512] = "";
        hd_mail_msg_t *m = hd_mail_build_at(ev, sub, p, NOW_MS, err, sizeof(err));

        HD_CHECK_MSG(m == NULL, "built although \"%s\" was expected", want);
        HD_CHECK_CONTAINS(err, want);
        HD_CHECK_MSG(!strpbrk(err, "\r\n"), "reason has a line break: %s", err);
        hd_mail_free(m);
}

static void test_injection(void)
{
        static const char *const evil[] = {"x\r\nBcc: victim@example.com", "x\nBcc: v@e.com",
                                           "x\rBcc: v@e.com"};
        hd_smtp_profile_t p = profile;
        json_t *ev, *sub;

        for (size_t i = 0; i < HD_ARRAY_SIZE(evil); i++) {
                /* a token in the subject */
                ev = base_event(), sub = base_sub();
                set_data(ev, "account", "name", evil[i]);
                set_email(sub, "text", json_string("static"));
                set_email(sub, "html", json_string("static"));
                refused(ev, sub, &profile,
                        "header injection: CR/LF in rendered email.subject from token "
                        "account.name");
                /* ... in the text and the HTML body */
                set_email(sub, "subject", json_string("static"));
                set_email(sub, "text", json_string("Dear {{account.name}}"));
                refused(ev, sub, &profile,
                        "CR/LF in token account.name rendered into email.text");
                set_email(sub, "text", json_string("static"));
                set_email(sub, "html", json_string("Dear {{{account.name}}}"));
                refused(ev, sub, &profile,
                        "CR/LF in token account.name rendered into email.html");
                json_decref(ev);
                json_decref(sub);

                /* a token in To and in Cc */
                ev = base_event(), sub = base_sub();
                set_data(ev, "account", "billing_email", "a@b.example\r\nBcc: c@d.example");
                refused(ev, sub, &profile,
                        "header injection: CR/LF in rendered email.to[0] from token "
                        "account.billing_email");
                set_email(sub, "to", json_pack("[s]", "ok@example.com"));
                set_email(sub, "cc", json_pack("[s, s]", "x@example.com",
                                               "Boss <{{account.billing_email}}>"));
                refused(ev, sub, &profile,
                        "header injection: CR/LF in rendered email.cc[1] from token "
                        "account.billing_email");
                json_decref(ev);
                json_decref(sub);

                /* static values (a subscription that skipped validation) */
                ev = base_event(), sub = base_sub();
                set_email(sub, "subject", json_string(evil[i]));
                refused(ev, sub, &profile, "header injection: CR/LF in rendered email.subject");
                json_decref(sub);
                sub = base_sub();
                set_email(sub, "to", json_pack("[s]", evil[i]));
                refused(ev, sub, &profile, "header injection: CR/LF in email.to[0]");
                json_decref(sub);
                sub = base_sub();
                set_email(sub, "cc", json_pack("[s]", "Name\r\nBcc: v@e.com <a@b.example>"));
                refused(ev, sub, &profile, "header injection: CR/LF in email.cc[0]");
                json_decref(sub);
                sub = base_sub();

                /* the profile */
                p = profile;
                p.from_name = (char *)evil[i];
                refused(ev, sub, &p, "header injection: CR/LF in from_name");
                p = profile;
                p.from_address = "billing@herald.example\r\nBcc: v@e.com";
                refused(ev, sub, &p, "from_address: header injection");
                json_decref(ev);
                json_decref(sub);
        }

        /* a NUL inside a token value (it would be cut off, not rendered) */
        ev = base_event(), sub = base_sub();
        json_object_set_new(json_object_get(json_object_get(ev, "data"), "account"), "name",
                            json_stringn("Acme\0Bcc", 8));
        refused(ev, sub, &profile,
                "header injection: NUL in rendered email.subject from token account.name");
        json_decref(ev);
        json_decref(sub);
}

static void test_recipients_and_tokens(void)
{
        json_t *ev = base_event(), *sub = base_sub();
        char err[512];
        hd_mail_msg_t *m;

        set_data(ev, "account", "billing_email", "a@b.example, c@d.example");
        refused(ev, sub, &profile, "email.to[0]: \"a@b.example, c@d.example\" is not one "
                                   "e-mail address");
        set_data(ev, "account", "billing_email", "not-an-address");
        refused(ev, sub, &profile, "email.to[0]: \"not-an-address\" is not one e-mail address");
        set_data(ev, "account", "billing_email", "a..b@example.com");
        refused(ev, sub, &profile, "local part");
        set_data(ev, "account", "billing_email", "a@[127.0.0.1]");
        refused(ev, sub, &profile, "domain");
        set_data(ev, "account", "billing_email", "zoë@example.com");
        refused(ev, sub, &profile, "SMTPUTF8");

        /* a token without a value this time: that recipient is skipped */
        json_object_set_new(json_object_get(json_object_get(ev, "data"), "account"),
                            "billing_email", json_null());
        m = hd_mail_build_at(ev, sub, &profile, NOW_MS, err, sizeof(err));
        HD_CHECK_MSG(m && m->nrcpt == 2 && !strcmp(m->rcpt[0], "ops@example.com"), "%s", err);
        hd_mail_free(m);
        set_email(sub, "to", json_pack("[s]", "{{account.billing_email}}"));
        refused(ev, sub, &profile, "email.to: no recipient");

        /* duplicates: one envelope recipient, case-insensitively */
        set_email(sub, "to", json_pack("[s, s]", "ops@example.com", "OPS@example.com"));
        set_email(sub, "cc", json_pack("[s]", "ops@EXAMPLE.com"));
        m = hd_mail_build_at(ev, sub, &profile, NOW_MS, err, sizeof(err));
        HD_CHECK_MSG(m && m->nrcpt == 1, "%s", err);
        hd_mail_free(m);

        /* a token the event type does not offer */
        set_email(sub, "subject", json_string("{{service.name}}"));
        refused(ev, sub, &profile,
                "email.subject: token \"service.name\" is not offered by event type "
                "\"invoice.posted\"");
        json_decref(ev);
        json_decref(sub);

        HD_CHECK(hd_mail_address_check("first.last+tag@sub.example-domain.com", err,
                                       sizeof(err)) == 0);
        HD_CHECK(hd_mail_address_check(".a@example.com", err, sizeof(err)) == -1);
        HD_CHECK(hd_mail_address_check("a@-example.com", err, sizeof(err)) == -1);
        HD_CHECK(hd_mail_address_check("a@example.com.", err, sizeof(err)) == -1);
        HD_CHECK(hd_mail_address_check("\"a b\"@example.com", err, sizeof(err)) == -1);
        HD_CHECK(hd_mail_address_check("ops@localhost", err, sizeof(err)) == 0);
}

int main(void)
{
        test_full_message();
        test_single_part_and_folding();
        test_injection();
        test_recipients_and_tokens();
        hd_catalogue_cleanup();
        return hd_test_finish("test_mail_msg");
}
