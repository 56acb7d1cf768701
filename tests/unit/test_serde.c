/* Serde: round trip of every event type, every decode failure with its own code and
 * message, validation messages, and decoding with a writer schema that has more. */
#include "hd_catalogue.h"
#include "hd_serde.h"
#include "hd_test.h"
#include "hd_util.h"

#include <stdlib.h>

static char *hd_evolved_schema; /* id 2: the catalogue plus a field with a default */
static int hd_fetches;

static int fake_fetch(void *opaque, int32_t id, char **json, char *errstr, size_t errstr_size)
{
        (void)opaque;
        hd_fetches++;
        if (id == 1) {
                *json = hd_strdup(hd_catalogue_schema_json());
                return 0;
        }
        if (id == 2) {
                *json = hd_strdup(hd_evolved_schema);
                return 0;
        }
        if (id == 99)
                return hd_seterr(errstr, errstr_size, "registry down"), HD_SERDE_E_REGISTRY;
        hd_seterr(errstr, errstr_size, "40403 Schema %d not found", (int)id);
        return HD_SERDE_E_UNKNOWN_ID;
}

static json_t *sample(const char *type)
{
        json_t *ev = hd_catalogue_sample(hd_catalogue_find(type));
        json_object_set_new(ev, "id", json_string("0190f0e4-0000-7000-8000-000000000001"));
        json_object_set_new(ev, "occurred_at", json_integer(1764115200000));
        return ev;
}

static void test_round_trip_every_type(hd_serde_t *s)
{
        for (size_t i = 0; i < hd_catalogue_count(); i++) {
                const hd_event_type_t *t = hd_catalogue_get(i);
                json_t *ev = sample(t->name), *back = NULL;
                char err[HD_ERRSTR_SIZE] = "";
                void *buf = NULL;
                size_t len = 0;
                int r = hd_serde_encode(s, 1, ev, &buf, &len, err, sizeof(err));

                HD_CHECK_MSG(r == 0, "%s: encode: %s", t->name, err);
                if (!r) {
                        r = hd_serde_decode(s, buf, len, &back, err, sizeof(err));
                        HD_CHECK_MSG(r == 0, "%s: decode: %s", t->name, err);
                        HD_CHECK_MSG(back && json_equal(ev, back), "%s: round trip differs",
                                     t->name);
                }
                json_decref(back);
                free(buf);
                json_decref(ev);
        }
}

static void expect_decode(hd_serde_t *s, const void *buf, size_t len, int code,
                          const char *msg)
{
        char err[HD_ERRSTR_SIZE] = "";
        json_t *ev = NULL;
        int r = hd_serde_decode(s, buf, len, &ev, err, sizeof(err));

        HD_CHECK_MSG(r == code, "expected %s, got %s (%s)", hd_serde_err_name(code),
                     hd_serde_err_name(r), err);
        HD_CHECK(ev == NULL);
        json_decref(ev);
        HD_CHECK_STR_EQ(err, msg);
}

static void test_decode_failures(hd_serde_t *s)
{
        unsigned char frame[600];
        json_t *ev = sample("bill_run.started");
        char err[HD_ERRSTR_SIZE];
        void *buf = NULL;
        size_t len = 0;

        HD_CHECK(hd_serde_encode(s, 1, ev, &buf, &len, err, sizeof(err)) == 0);
        json_decref(ev);
        if (!buf || len > sizeof(frame) - 8)
                return;
        memcpy(frame, buf, len);
        free(buf);
        expect_decode(s, frame, 0, HD_SERDE_E_SHORT,
                      "short frame: 0 bytes, a Confluent frame has at least 5");
        expect_decode(s, frame, 4, HD_SERDE_E_SHORT,
                      "short frame: 4 bytes, a Confluent frame has at least 5");
        frame[0] = 1;
        expect_decode(s, frame, len, HD_SERDE_E_MAGIC, "bad magic byte 1 (expected 0)");
        frame[0] = 0;
        frame[4] = 7;
        expect_decode(s, frame, len, HD_SERDE_E_UNKNOWN_ID, "40403 Schema 7 not found");
        /* Cached as unknown for a while: no second registry request. */
        hd_fetches = 0;
        expect_decode(s, frame, len, HD_SERDE_E_UNKNOWN_ID, "unknown schema id 7");
        HD_CHECK_INT_EQ(hd_fetches, 0);
        frame[4] = 99;
        expect_decode(s, frame, len, HD_SERDE_E_REGISTRY, "registry down");
        frame[4] = 1;
        /* Trailing garbage after a complete record. */
        frame[len] = 0x42;
        frame[len + 1] = 0x43;
        expect_decode(s, frame, len + 2, HD_SERDE_E_TRAILING,
                      "2 trailing bytes after the record (schema 1)");
        /* Truncated record: the last field (bill_run.period_end, "2026-11-26") loses
         * its last 3 bytes. */
        snprintf(err, sizeof(err), "malformed Avro (schema 1): at byte %zu: string length 10 "
                 "exceeds the 7 bytes left", len - 5 - 10);
        expect_decode(s, frame, len - 3, HD_SERDE_E_MALFORMED, err);
        /* A negative string length in the first field (id). */
        frame[5] = 0x09; /* zig-zag -5 */
        expect_decode(s, frame, len, HD_SERDE_E_MALFORMED,
                      "malformed Avro (schema 1): at byte 1: string length -5 is negative");
        /* A 2^62 string length. */
        memcpy(frame + 5, "\xfe\xff\xff\xff\xff\xff\xff\xff\x7f", 9);
        snprintf(err, sizeof(err), "malformed Avro (schema 1): at byte 9: string length "
                 "4611686018427387903 exceeds the %zu bytes left", len - 5 - 9);
        expect_decode(s, frame, len, HD_SERDE_E_MALFORMED, err);
        /* An over-long varint. */
        memset(frame + 5, 0xff, 12);
        expect_decode(s, frame, len, HD_SERDE_E_MALFORMED,
                      "malformed Avro (schema 1): at byte 10: varint longer than 10 bytes");
        expect_decode(s, frame, 2 * 1024 * 1024, HD_SERDE_E_TOO_LARGE,
                      "frame of 2097152 bytes exceeds the 1048576 byte limit");
}

/* Hand-built: union index out of range for the account_id union. */
static void test_union_index(hd_serde_t *s)
{
        /* id "a", type "b", action 0, entity "c", occurred_at 0, source "d",
         * account_id union index 5 */
        static const unsigned char f[] = {0, 0, 0, 0, 1, 2, 'a', 2, 'b', 0, 2, 'c',
                                          0, 2, 'd', 10};
        expect_decode(s, f, sizeof(f), HD_SERDE_E_MALFORMED,
                      "malformed Avro (schema 1): at byte 11: union index 5 out of range "
                      "(2 branches)");
        static const unsigned char g[] = {0, 0, 0, 0, 1, 2, 'a', 2, 'b', 8, 2, 'c'};
        expect_decode(s, g, sizeof(g), HD_SERDE_E_MALFORMED,
                      "malformed Avro (schema 1): at byte 5: enum index 4 out of range");
}

static void expect_invalid(hd_serde_t *s, const char *json, const char *msg)
{
        char err[HD_ERRSTR_SIZE] = "";
        json_t *ev = json_loads(json, 0, NULL);
        void *buf = NULL;
        size_t len;

        HD_CHECK_MSG(ev != NULL, "test JSON does not parse: %s", json);
        HD_CHECK_INT_EQ(hd_serde_encode(s, 1, ev, &buf, &len, err, sizeof(err)),
                        HD_SERDE_E_INVALID);
        HD_CHECK(buf == NULL);
        HD_CHECK_STR_EQ(err, msg);
        json_decref(ev);
}

static void test_validation(hd_serde_t *s)
{
        expect_invalid(s, "{\"data\":{}}", "type: missing required string");
        expect_invalid(s, "{\"type\":\"nope\",\"data\":{}}", "type: unknown event type \"nope\"");
        expect_invalid(s, "{\"type\":\"bill_run.started\"}", "data: missing required object");
        expect_invalid(s, "{\"type\":\"account.created\",\"data\":{\"account\":{\"name\":\"x\"}}}",
                       "account_id: required for account.created");
        expect_invalid(s, "{\"type\":\"bill_run.started\",\"account_id\":\"A\",\"data\":{}}",
                       "account_id: bill_run.started is not about one account; leave it out");
        expect_invalid(s, "{\"type\":\"account.created\",\"account_id\":\"A\",\"data\":{}}",
                       "data.account: missing required field");
        expect_invalid(s, "{\"type\":\"account.created\",\"account_id\":\"A\",\"data\":"
                          "{\"account\":{}}}",
                       "data.account.name: missing required string");
        expect_invalid(s, "{\"type\":\"account.created\",\"account_id\":\"A\",\"data\":"
                          "{\"account\":{\"name\":5}}}",
                       "data.account.name: expected a string");
        expect_invalid(s, "{\"type\":\"account.created\",\"account_id\":\"A\",\"data\":"
                          "{\"account\":{\"name\":\"n\",\"colour\":\"red\"}}}",
                       "data.account.colour: unknown field");
        expect_invalid(s, "{\"type\":\"account.created\",\"account_id\":\"A\",\"extra\":1,"
                          "\"data\":{}}",
                       "extra: unknown field");
        expect_invalid(s, "{\"type\":\"account.created\",\"account_id\":\"A\",\"action\":\"X\","
                          "\"data\":{}}",
                       "action: expected CREATE, UPDATE or DELETE");
        expect_invalid(s, "{\"type\":\"account.created\",\"account_id\":\"A\","
                          "\"occurred_at\":-1,\"data\":{}}",
                       "occurred_at: expected epoch milliseconds (an integer >= 0)");
        expect_invalid(s, "{\"type\":\"usage.identifier.dormant\",\"account_id\":\"A\",\"data\":"
                          "{\"account\":{\"name\":\"n\"},\"usage\":{\"identifier\":\"i\","
                          "\"last_seen\":\"d\",\"dormant_days\":\"7\"}}}",
                       "data.usage.dormant_days: expected an integer");
}

/* A writer schema with an extra field still decodes: fields are read by name. */
static void test_evolved_writer(hd_serde_t *s)
{
        json_t *schema = json_loads(hd_catalogue_schema_json(), 0, NULL);
        json_t *ev = sample("invoice.posted"), *back = NULL;
        char err[HD_ERRSTR_SIZE] = "";
        void *buf = NULL;
        size_t len = 0;

        json_array_append_new(json_object_get(schema, "fields"),
                              json_pack("{s:s, s:[s,s], s:n}", "name", "region", "type",
                                        "null", "string", "default"));
        hd_evolved_schema = json_dumps(schema, JSON_COMPACT);
        json_decref(schema);
        HD_CHECK_MSG(hd_serde_encode(s, 2, ev, &buf, &len, err, sizeof(err)) == 0, "%s", err);
        HD_CHECK_MSG(buf && hd_serde_decode(s, buf, len, &back, err, sizeof(err)) == 0, "%s",
                     err);
        if (back) {
                HD_CHECK(json_is_null(json_object_get(back, "region")));
                json_object_del(back, "region");
                HD_CHECK(json_equal(back, ev));
        }
        json_decref(back);
        json_decref(ev);
        free(buf);
}

int main(void)
{
        hd_serde_t *s = hd_serde_new(1024 * 1024, fake_fetch, NULL);

        test_round_trip_every_type(s);
        test_decode_failures(s);
        test_union_index(s);
        test_validation(s);
        test_evolved_writer(s);
        HD_CHECK_STR_EQ(hd_serde_err_name(HD_SERDE_E_TRAILING), "trailing_bytes");
        hd_serde_destroy(s);
        free(hd_evolved_schema);
        hd_catalogue_cleanup();
        return hd_test_finish("test_serde");
}
