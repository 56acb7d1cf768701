/* Webhook request: body shape, rendered parameters, stable id, verifiable signature. */
#include "hd_catalogue.h"
#include "hd_test.h"
#include "hd_webhook_sig.h"
#include "hd_wh_body.h"

#include <stdlib.h>

int main(void)
{
        json_t *ev = json_loads(
                "{\"id\":\"0190-e1\",\"type\":\"account.service.state_changed\",\"action\":"
                "\"UPDATE\",\"entity\":\"service\",\"occurred_at\":1764115200123,\"source\":"
                "\"billing\",\"account_id\":\"A-42\",\"data\":{\"account\":{\"name\":"
                "\"Acme \\\"Q\\\"\"},\"service\":{\"id\":\"s1\",\"name\":\"Fibre\","
                "\"from_state\":\"a\",\"to_state\":\"b\"}}}", 0, NULL);
        json_t *sub = json_loads(
                "{\"id\":\"sub-1\",\"webhook\":{\"url\":\"https://h.example.com/\",\"secrets\":"
                "[\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"],\"parameters\":{\"who\":"
                "\"{{account.name}} / {{account.id}}\",\"what\":\"{{service.name}} "
                "{{service.from_state}}->{{service.to_state}}\"}}}", 0, NULL);
        const char *secrets[] = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
        char err[256], id[128], h[3][1024];
        char *body = hd_wh_body(ev, sub, err, sizeof(err));
        hd_webhook_keys_t *keys;
        json_t *parsed;

        HD_CHECK_MSG(body != NULL, "%s", err);
        parsed = json_loads(body ? body : "", 0, NULL);
        HD_CHECK_STR_EQ(json_string_value(json_object_get(parsed, "timestamp")),
                        "2025-11-26T00:00:00.123Z");
        HD_CHECK_STR_EQ(json_string_value(json_object_get(parsed, "account_id")), "A-42");
        HD_CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(parsed, "parameters"), "who")),
                        "Acme \"Q\" / A-42");
        HD_CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(parsed, "parameters"), "what")),
                        "Fibre a->b");
        HD_CHECK(json_equal(json_object_get(parsed, "data"), json_object_get(ev, "data")));
        hd_wh_message_id(ev, sub, id, sizeof(id));
        HD_CHECK_STR_EQ(id, "msg_0190-e1_sub-1");
        keys = hd_webhook_keys_new();
        HD_CHECK(hd_wh_headers(keys, sub, id, 1764115300, body, strlen(body), h, err,
                               sizeof(err)) == 0);
        HD_CHECK_STR_EQ(h[0], "webhook-id: msg_0190-e1_sub-1");
        HD_CHECK_STR_EQ(h[1], "webhook-timestamp: 1764115300");
        HD_CHECK(hd_webhook_verify(secrets, 1, id, "1764115300", h[2] + 19, body, strlen(body),
                                   1764115300, 300, err, sizeof(err)) == 0);
        json_decref(parsed);
        free(body);
        hd_webhook_keys_free(keys);

        /* Byte for byte what jansson writes, for every kind of value and escape. */
        {
                json_t *odd = json_loads(
                        "{\"id\":\"e\\u00e9\\\"2\",\"type\":\"account.service.state_changed\","
                        "\"occurred_at\":1764115200123,\"data\":{\"s\":\"a\\\\b/c\\n\\t\\u0001\\u007f"
                        "\\u20ac\\ud83d\\ude00\",\"n\":-42,\"r\":0.1,\"r2\":1e300,\"r3\":-2.0,"
                        "\"t\":true,\"f\":false,\"z\":null,\"a\":[1,[],{},\"x\",[null]],"
                        "\"o\":{\"k\\\"q\":{}},\"\\u00fc\":\"\"}}", 0, NULL);
                json_t *plain = json_loads("{\"id\":\"s2\",\"webhook\":{}}", 0, NULL);
                json_t *want = json_pack("{s:O, s:O, s:s, s:n, s:O, s:{}}", "id",
                                         json_object_get(odd, "id"), "type",
                                         json_object_get(odd, "type"), "timestamp",
                                         "2025-11-26T00:00:00.123Z", "account_id", "data",
                                         json_object_get(odd, "data"), "parameters");
                char *got = hd_wh_body(odd, plain, err, sizeof(err));
                char *text = json_dumps(want, JSON_COMPACT);
                HD_CHECK_MSG(got != NULL, "%s", err);
                HD_CHECK_STR_EQ(got ? got : "", text);
                free(got);
                free(text);
                json_decref(want);
                json_decref(plain);
                json_decref(odd);
        }

        /* A parameter naming a token this event type cannot offer fails cleanly. */
        json_object_set_new(json_object_get(json_object_get(sub, "webhook"), "parameters"),
                            "bad", json_string("{{bill_run.id}}"));
        HD_CHECK(hd_wh_body(ev, sub, err, sizeof(err)) == NULL);
        HD_CHECK_STR_EQ(err, "parameter bad: token \"bill_run.id\" is not offered by event type "
                             "\"account.service.state_changed\"");
        json_decref(ev);
        json_decref(sub);
        hd_catalogue_cleanup();
        return hd_test_finish("test_wh_body");
}
