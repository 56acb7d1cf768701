/* Token lookup: contextual tokens, money rendering, nulls, and refusals. */
#include "hd_catalogue.h"
#include "hd_template.h"
#include "hd_test.h"
#include "hd_token.h"

#include <stdlib.h>

static json_t *event(const char *json)
{
        json_t *ev = json_loads(json, 0, NULL);
        HD_CHECK_MSG(ev != NULL, "bad test JSON %s", json);
        return ev;
}

int main(void)
{
        json_t *svc = event("{\"id\":\"e1\",\"type\":\"account.service.state_changed\","
                            "\"account_id\":\"A-9\",\"occurred_at\":5,\"data\":{\"account\":"
                            "{\"name\":\"N\",\"billing_email\":null},\"service\":{\"id\":\"s\","
                            "\"name\":\"Fibre\",\"from_state\":\"a\",\"to_state\":\"b\"}}}");
        json_t *run = event("{\"type\":\"bill_run.completed\",\"data\":{\"bill_run\":{\"id\":"
                            "\"BR-1\"},\"summary\":{\"total\":{\"amount_minor\":-1205,"
                            "\"currency\":\"EUR\"}}}}");
        char out[256], err[256];
        hd_template_t *t;
        char *text;

        HD_CHECK_INT_EQ(hd_token_lookup(svc, "service.name", out, sizeof(out), err, sizeof(err)), 0);
        HD_CHECK_STR_EQ(out, "Fibre");
        HD_CHECK_INT_EQ(hd_token_lookup(svc, "account.id", out, sizeof(out), err, sizeof(err)), 0);
        HD_CHECK_STR_EQ(out, "A-9");
        HD_CHECK_INT_EQ(hd_token_lookup(svc, "event.occurred_at", out, sizeof(out), err, sizeof(err)), 0);
        HD_CHECK_STR_EQ(out, "5");
        HD_CHECK_INT_EQ(hd_token_lookup(svc, "account.billing_email", out, sizeof(out), err,
                                        sizeof(err)), 1);
        HD_CHECK_STR_EQ(out, "");
        HD_CHECK_INT_EQ(hd_token_lookup(run, "service.name", out, sizeof(out), err, sizeof(err)), -1);
        HD_CHECK_STR_EQ(err, "token \"service.name\" is not offered by event type "
                             "\"bill_run.completed\"");
        HD_CHECK_INT_EQ(hd_token_lookup(run, "account.id", out, sizeof(out), err, sizeof(err)), -1);
        HD_CHECK_INT_EQ(hd_token_lookup(run, "summary.total", out, sizeof(out), err, sizeof(err)), 0);
        HD_CHECK_STR_EQ(out, "-12.05 EUR");
        HD_CHECK_INT_EQ(hd_token_lookup(run, "summary.total.amount_minor", out, sizeof(out), err,
                                        sizeof(err)), 0);
        HD_CHECK_STR_EQ(out, "-1205");
        HD_CHECK_INT_EQ(hd_token_lookup(run, "summary.total.currency", out, sizeof(out), err,
                                        sizeof(err)), 0);
        HD_CHECK_STR_EQ(out, "EUR");
        {
                /* A null money field: the field and its parts are present-but-empty. */
                json_t *pkg = event("{\"type\":\"account.package.added\",\"account_id\":\"A\","
                                    "\"data\":{\"account\":{\"name\":\"N\"},\"package\":"
                                    "{\"id\":\"P\",\"name\":\"Fibre\",\"price\":null}}}");
                HD_CHECK_INT_EQ(hd_token_lookup(pkg, "package.price", out, sizeof(out), err,
                                                sizeof(err)), 1);
                HD_CHECK_INT_EQ(hd_token_lookup(pkg, "package.price.amount_minor", out,
                                                sizeof(out), err, sizeof(err)), 1);
                HD_CHECK_STR_EQ(out, "");
                HD_CHECK_INT_EQ(hd_token_lookup(pkg, "package.nope", out, sizeof(out), err,
                                                sizeof(err)), -1);
                HD_CHECK_STR_EQ(err, "token \"package.nope\" is not offered by event type "
                                     "\"account.package.added\"");
                json_decref(pkg);
        }
        hd_token_format_money(1250000, "JPY", out, sizeof(out));
        HD_CHECK_STR_EQ(out, "1250000 JPY");
        hd_token_format_money(1234567, "KWD", out, sizeof(out));
        HD_CHECK_STR_EQ(out, "1234.567 KWD");
        hd_token_format_money(5, "USD", out, sizeof(out));
        HD_CHECK_STR_EQ(out, "0.05 USD");

        t = hd_template_compile("{{service.name}} for {{account.id}}{{^account.billing_email}}"
                                " (no e-mail){{/account.billing_email}}", err, sizeof(err));
        text = hd_template_render(t, HD_TPL_TEXT, hd_token_template_lookup, svc, 1000, err,
                                  sizeof(err));
        HD_CHECK_STR_EQ(text, "Fibre for A-9 (no e-mail)");
        free(text);
        hd_template_destroy(t);
        json_decref(svc);
        json_decref(run);
        hd_catalogue_cleanup();
        return hd_test_finish("test_token");
}
