/* Subscription validation: every rule refuses with a message naming the field. */
#include "hd_catalogue.h"
#include "hd_sub.h"
#include "hd_test.h"

#include <stdlib.h>

static hd_config_t *cfg;

static void expect_invalid(const char *json, const char *want)
{
        char err[512] = "";
        json_t *sub = json_loads(json, 0, NULL);

        HD_CHECK_MSG(sub != NULL, "test JSON does not parse: %s", json);
        HD_CHECK_MSG(hd_sub_validate(sub, cfg, NULL, err, sizeof(err)) != 0,
                     "accepted: %s", json);
        HD_CHECK_STR_EQ(err, want);
        json_decref(sub);
}

#define WH(url) "{\"channel\":\"webhook\",\"event_types\":[\"invoice.*\"],\"webhook\":{\"url\":\"" url "\"}}"

static void test_webhook_rules(void)
{
        char long_url[2100], json[2300];

        expect_invalid(WH("http://hooks.example.com/x"), "webhook.url: URL must start with https://");
        expect_invalid(WH("https://hooks.example.com:8443/x"),
                       "webhook.url: URL must not name a port (https on 443 only)");
        expect_invalid(WH("https://hooks.example.com:443/x"),
                       "webhook.url: URL must not name a port (https on 443 only)");
        expect_invalid(WH("https://user:pw@hooks.example.com/x"),
                       "webhook.url: URL must not contain user information (use the "
                       "subscription's auth settings)");
        expect_invalid(WH("https://hooks.example.com/a b"),
                       "webhook.url: URL contains whitespace or a control character at position 27");
        expect_invalid(WH("https://hooks.example.com/#frag"),
                       "webhook.url: URL must not contain a fragment");
        memset(long_url, 'a', sizeof(long_url));
        memcpy(long_url, "https://h.example.com/", 22);
        long_url[2049] = '\0';
        snprintf(json, sizeof(json), WH("%s"), long_url);
        expect_invalid(json, "webhook.url: URL is 2049 characters long, at most 2048 are allowed");
        expect_invalid("{\"channel\":\"webhook\",\"event_types\":[\"invoice.*\"],\"webhook\":"
                       "{\"url\":\"https://h.example.com/\",\"secrets\":[\"abc\"]}}",
                       "webhook.secrets[0]: secret must start with whsec_");
        expect_invalid("{\"channel\":\"webhook\",\"event_types\":[\"invoice.*\"],\"webhook\":"
                       "{\"url\":\"https://h.example.com/\",\"secrets\":[\"whsec_c2hvcnQ=\"]}}",
                       "webhook.secrets[0]: secret must encode 24 to 64 bytes, it encodes 5");
        expect_invalid("{\"channel\":\"webhook\",\"event_types\":[\"bill_run.*\"],\"webhook\":"
                       "{\"url\":\"https://h.example.com/\",\"parameters\":{\"a\":\"{{account.id}}\"}}}",
                       "webhook.parameters.a: token \"account.id\" is not offered by event type "
                       "\"bill_run.completed\"");
        expect_invalid("{\"channel\":\"webhook\",\"event_types\":[\"invoice.posted\"],\"webhook\":"
                       "{\"url\":\"https://h.example.com/\",\"parameters\":{\"a\":\"{{#x}}\"}}}",
                       "webhook.parameters.a: at 0: unclosed section {{#x}}");
        expect_invalid("{\"channel\":\"webhook\",\"event_types\":[\"invoice.posted\"],\"webhook\":"
                       "{\"url\":\"https://h.example.com/\",\"auth\":{\"type\":\"digest\"}}}",
                       "webhook.auth.type: \"digest\" is not basic, bearer or mtls");
        expect_invalid("{\"channel\":\"webhook\",\"event_types\":[\"invoice.posted\"],\"webhook\":"
                       "{\"url\":\"https://h.example.com/\",\"max_in_flight\":0}}",
                       "webhook.max_in_flight: expected an integer from 1 to 1000");
}

static void test_common_rules(void)
{
        expect_invalid("[]", "a subscription is a JSON object");
        expect_invalid("{\"channel\":\"sms\",\"event_types\":[\"invoice.*\"]}",
                       "channel: \"sms\" is not webhook or email");
        expect_invalid("{\"channel\":\"webhook\",\"event_types\":[\"invoices.*\"]}",
                       "event_types[0]: \"invoices.*\" matches no event type (see schemas/README.md)");
        expect_invalid("{\"channel\":\"webhook\",\"event_types\":[]}",
                       "event_types: expected a list of 1 to 100 event-type patterns");
        expect_invalid("{\"channel\":\"webhook\",\"event_types\":[\"invoice.*\"],\"colour\":1}",
                       "colour: unknown field");
        expect_invalid("{\"id\":\"bad id\",\"channel\":\"webhook\",\"event_types\":[\"invoice.*\"]}",
                       "id: 1 to 64 letters, digits, '_', '-', '.'");
        expect_invalid("{\"channel\":\"webhook\",\"event_types\":[\"invoice.*\"]}",
                       "webhook: required for channel \"webhook\" (an object)");
}

#define EM(body) "{\"channel\":\"email\",\"event_types\":[\"account.service.state_changed\"],\"email\":" body "}"

static void test_email_rules(void)
{
        expect_invalid(EM("{\"profile\":\"nope\",\"to\":[\"a@b.c\"],\"subject\":\"s\",\"text\":\"t\"}"),
                       "email.profile: no SMTP profile \"nope\" in test (email.profiles)");
        expect_invalid(EM("{\"profile\":\"billing\",\"to\":[],\"subject\":\"s\",\"text\":\"t\"}"),
                       "email.to: expected a list of 1 to 50 recipients");
        expect_invalid(EM("{\"profile\":\"billing\",\"to\":[\"nobody\"],\"subject\":\"s\",\"text\":\"t\"}"),
                       "email.to[0]: \"nobody\" is not an e-mail address");
        expect_invalid(EM("{\"profile\":\"billing\",\"to\":[\"a@b\\r\\nBcc: x@y\"],\"subject\":\"s\",\"text\":\"t\"}"),
                       "email.to[0]: expected one address without CR or LF");
        expect_invalid(EM("{\"profile\":\"billing\",\"to\":[\"a@b.c\"],\"subject\":\"a\\nb\",\"text\":\"t\"}"),
                       "email.subject: must not contain CR or LF");
        expect_invalid(EM("{\"profile\":\"billing\",\"to\":[\"a@b.c\"],\"subject\":\"s\"}"),
                       "email: needs a text or an html body (or both)");
        expect_invalid(EM("{\"profile\":\"billing\",\"to\":[\"a@b.c\"],\"subject\":\"{{bill_run.id}}\",\"text\":\"t\"}"),
                       "email.subject: token \"bill_run.id\" is not offered by event type "
                       "\"account.service.state_changed\"");
        expect_invalid(EM("{\"profile\":\"billing\",\"to\":[\"{{invoice.number}}\"],\"subject\":\"s\",\"text\":\"t\"}"),
                       "email.to[0]: token \"invoice.number\" is not offered by event type "
                       "\"account.service.state_changed\"");
}

static void test_valid_and_masking(void)
{
        char err[512] = "";
        const char *secret = NULL;
        json_t *sub = json_loads("{\"channel\":\"webhook\",\"event_types\":[\"account.service.*\"],"
                                 "\"webhook\":{\"url\":\"https://h.example.com/x\",\"auth\":"
                                 "{\"type\":\"bearer\",\"token\":\"tok-1\"},\"parameters\":"
                                 "{\"svc\":\"{{service.name}} ({{account.id}})\"}}}", 0, NULL);
        json_t *masked;

        HD_CHECK_MSG(hd_sub_validate(sub, cfg, &secret, err, sizeof(err)) == 0, "%s", err);
        HD_CHECK(secret && !strncmp(secret, "whsec_", 6) && strlen(secret) == 50);
        HD_CHECK(hd_sub_check_secret(secret, err, sizeof(err)) == 0);
        HD_CHECK(!strncmp(json_string_value(json_object_get(sub, "id")), "sub_", 4));
        HD_CHECK(hd_sub_matches(sub, "account.service.state_changed"));
        HD_CHECK(!hd_sub_matches(sub, "invoice.posted"));
        masked = hd_sub_masked(sub);
        {
                char *text = json_dumps(masked, JSON_COMPACT);
                HD_CHECK(strstr(text, secret + 6) == NULL);
                HD_CHECK(strstr(text, "tok-1") == NULL);
                HD_CHECK_CONTAINS(text, "\"token\":\"****\"");
                free(text);
        }
        json_object_set_new(sub, "paused", json_true());
        HD_CHECK(!hd_sub_matches(sub, "account.service.state_changed"));
        json_decref(masked);
        json_decref(sub);
}

/* Padding only at the end: anything else decodes differently elsewhere. */
static void test_secret_padding(void)
{
        char err[256] = "";

        HD_CHECK(hd_sub_check_secret("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", err,
                                     sizeof(err)) == 0);
        HD_CHECK(hd_sub_check_secret("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHy==", err,
                                     sizeof(err)) == 0);
        HD_CHECK(hd_sub_check_secret("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAB", err,
                                     sizeof(err)) == 0);
        HD_CHECK(hd_sub_check_secret("whsec_AQID=AUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", err,
                                     sizeof(err)) != 0);
        HD_CHECK_STR_EQ(err, "secret must be whsec_ followed by base64");
        HD_CHECK(hd_sub_check_secret("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e=yAB", err,
                                     sizeof(err)) != 0);
        HD_CHECK(hd_sub_check_secret("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e===", err,
                                     sizeof(err)) != 0);
}

/* Top-level fields have no parent: the message starts with the field's name. */
static void test_top_level_messages(void)
{
        expect_invalid("{\"event_types\":[\"invoice.*\"]}", "channel: required");
        expect_invalid("{\"channel\":7,\"event_types\":[\"invoice.*\"]}",
                       "channel: expected a string of at most 16 characters");
        expect_invalid("{\"name\":[],\"channel\":\"webhook\",\"event_types\":[\"invoice.*\"]}",
                       "name: expected a string of at most 200 characters");
}

#define AUTH(a) "{\"channel\":\"webhook\",\"event_types\":[\"invoice.posted\"],\"webhook\":" \
                "{\"url\":\"https://h.example.com/\",\"auth\":" a "}}"

/* Credentials go into an Authorization header: no header injection, no ':' in a user. */
static void test_auth_credentials(void)
{
        expect_invalid(AUTH("{\"type\":\"bearer\",\"token\":\"t\\r\\nX-Evil: 1\"}"),
                       "webhook.auth.token: must not contain control characters (CR, LF, tab, ...)");
        expect_invalid(AUTH("{\"type\":\"basic\",\"username\":\"u\\n\",\"password\":\"p\"}"),
                       "webhook.auth.username: must not contain control characters (CR, LF, tab, ...)");
        expect_invalid(AUTH("{\"type\":\"basic\",\"username\":\"u\",\"password\":\"p\\r\"}"),
                       "webhook.auth.password: must not contain control characters (CR, LF, tab, ...)");
        expect_invalid(AUTH("{\"type\":\"basic\",\"username\":\"a:b\",\"password\":\"p\"}"),
                       "webhook.auth.username: must not contain ':'");
        expect_invalid(AUTH("{\"type\":\"basic\",\"username\":\"u\"}"),
                       "webhook.auth.password: required");
}

/* Records not written by `herald sub` are masked too, whatever the value's type. */
static void test_masking_hostile_records(void)
{
        static const char *const records[] = {
                "{\"webhook\":{\"secrets\":\"whsec_TOPSECRETvalue\"}}",
                "{\"webhook\":{\"secrets\":[{\"k\":\"whsec_TOPSECRETvalue\"}]}}",
                "{\"webhook\":{\"auth\":\"Bearer TOPSECRETvalue\"}}",
                "{\"webhook\":{\"auth\":{\"type\":\"bearer\",\"token\":{\"v\":\"TOPSECRETvalue\"}}}}",
                "{\"webhook\":{\"auth\":{\"type\":\"basic\",\"password\":[\"TOPSECRETvalue\"]}}}",
        };

        for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
                json_t *sub = json_loads(records[i], 0, NULL), *masked = hd_sub_masked(sub);
                char *text = json_dumps(masked, JSON_COMPACT);
                HD_CHECK_MSG(text && !strstr(text, "TOPSECRET"), "not masked: %s -> %s",
                             records[i], text ? text : "(null)");
                free(text);
                json_decref(masked);
                json_decref(sub);
        }
}

int main(void)
{
        char err[512];

        cfg = hd_config_load_string("email = { profiles = ( { name = \"billing\"; host = "
                                    "\"127.0.0.1\"; from_address = \"b@example.com\"; } ); };",
                                    "test", err, sizeof(err));
        HD_CHECK_MSG(cfg != NULL, "%s", err);
        if (!cfg)
                return hd_test_finish("test_sub");
        test_common_rules();
        test_webhook_rules();
        test_email_rules();
        test_valid_and_masking();
        test_top_level_messages();
        test_secret_padding();
        test_auth_credentials();
        test_masking_hostile_records();
        hd_config_destroy(cfg);
        hd_catalogue_cleanup();
        return hd_test_finish("test_sub");
}
