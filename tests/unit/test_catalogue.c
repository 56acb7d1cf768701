/* The catalogue: every type sound, the assembled schema valid Avro, tokens contextual,
 * and schemas/README.md in step with the .avsc files. */
#include "hd_catalogue.h"
#include "hd_test.h"
#include "hd_util.h"

#include <avro.h>
#include <stdlib.h>

static void test_types(void)
{
        size_t n = hd_catalogue_count();

        HD_CHECK_INT_EQ(n, 20);
        for (size_t i = 0; i < n; i++) {
                const hd_event_type_t *t = hd_catalogue_get(i);
                HD_CHECK(hd_catalogue_find(t->name) == t);
                HD_CHECK(hd_catalogue_offers(t, "event.id"));
                HD_CHECK_MSG(hd_catalogue_offers(t, "account.id") == t->account_scoped,
                             "%s: account.id offered iff account-scoped", t->name);
                if (t->account_scoped)
                        HD_CHECK_MSG(hd_catalogue_offers(t, "account.billing_email"),
                                     "%s offers no account.billing_email", t->name);
                for (size_t k = i + 1; k < n; k++)
                        HD_CHECK(strcmp(t->name, hd_catalogue_get(k)->name) != 0);
        }
        HD_CHECK(hd_catalogue_find("no.such.type") == NULL);
}

static void test_contextual_tokens(void)
{
        const hd_event_type_t *svc = hd_catalogue_find("account.service.state_changed");
        const hd_event_type_t *run = hd_catalogue_find("bill_run.completed");
        const hd_event_type_t *inv = hd_catalogue_find("invoice.posted");

        HD_CHECK(svc && run && inv);
        if (!svc || !run || !inv)
                return;
        HD_CHECK(hd_catalogue_offers(svc, "service.name"));
        HD_CHECK(hd_catalogue_offers(svc, "service.to_state"));
        HD_CHECK(!hd_catalogue_offers(run, "service.name"));
        HD_CHECK(!hd_catalogue_offers(run, "account.id"));
        HD_CHECK(hd_catalogue_offers(run, "bill_run.id"));
        HD_CHECK(hd_catalogue_offers(inv, "invoice.total"));
        HD_CHECK(hd_catalogue_offers(inv, "invoice.total.amount_minor"));
        HD_CHECK(hd_catalogue_offers(inv, "invoice.total.currency"));
        HD_CHECK(!hd_catalogue_offers(inv, "invoice"));
        HD_CHECK(run->ordered_default == 0);
        HD_CHECK(svc->ordered_default == 1);
}

static void test_schema_is_avro(void)
{
        const char *json = hd_catalogue_schema_json();
        avro_schema_t schema;

        HD_CHECK_MSG(avro_schema_from_json_length(json, strlen(json), &schema) == 0,
                     "avro-c rejects the assembled schema: %s", avro_strerror());
        if (schema)
                avro_schema_decref(schema);
}

/* schemas/README.md must list every type with its ordering and every token. */
static void test_readme_in_step(void)
{
        char err[256];
        char *readme = hd_read_file(hd_test_src("schemas/README.md"), 1 << 20, NULL, err,
                                    sizeof(err));

        HD_CHECK_MSG(readme != NULL, "%s", err);
        if (!readme)
                return;
        for (size_t i = 0; i < hd_catalogue_count(); i++) {
                const hd_event_type_t *t = hd_catalogue_get(i);
                char row[256], *line, *end;
                snprintf(row, sizeof(row), "| `%s` |", t->name);
                line = strstr(readme, row);
                HD_CHECK_MSG(line != NULL, "README has no row starting %s", row);
                if (!line)
                        continue;
                end = strchr(line, '\n');
                if (end)
                        *end = '\0';
                HD_CHECK_MSG(strstr(line, t->ordered_default ? "| in order |"
                                                             : "| out of order |") != NULL,
                             "README ordering of %s", t->name);
                for (size_t k = 0; k < t->ntokens; k++) {
                        char tok[160];
                        snprintf(tok, sizeof(tok), "`%s`", t->tokens[k]);
                        HD_CHECK_MSG(strstr(line, tok) != NULL, "README: %s lacks token %s",
                                     t->name, tok);
                }
                if (end)
                        *end = '\n';
        }
        free(readme);
}

int main(void)
{
        test_types();
        test_contextual_tokens();
        test_schema_is_avro();
        test_readme_in_step();
        hd_catalogue_cleanup();
        return hd_test_finish("test_catalogue");
}
