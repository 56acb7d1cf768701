/* Serde: round trip of every event type, every decode failure with its own code and
 * message, validation messages, and decoding with a writer schema that has more. */
#include "hd_avro_codec.h"
#include "hd_catalogue.h"
#include "hd_serde.h"
#include "hd_test.h"
#include "hd_util.h"

#include <avro.h>
#include <math.h>
#include <stdlib.h>

static char *hd_evolved_schema; /* id 2: the catalogue plus a field with a default */
static char *hd_nested_schema;  /* id 4: a field added inside one data record */
static int hd_fetches;
static int hd_registry_down;    /* id 98 fails while set */

/* id 3: every Avro kind the catalogue does not use, for the codec's other paths. */
static const char *hd_kinds_schema =
        "{\"type\":\"record\",\"name\":\"K\",\"fields\":["
        "{\"name\":\"d\",\"type\":\"double\"},"
        "{\"name\":\"b\",\"type\":\"bytes\"},"
        "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F2\",\"size\":2}},"
        "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
        "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"boolean\"}}]}";

static int fake_fetch(void *opaque, int32_t id, char **json, char *errstr, size_t errstr_size)
{
        const char *text = NULL;

        (void)opaque;
        hd_fetches++;
        switch (id) {
        case 1: text = hd_catalogue_schema_json(); break;
        case 2: text = hd_evolved_schema; break;
        case 3: text = hd_kinds_schema; break;
        case 4: text = hd_nested_schema; break;
        case 5: text = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"x\","
                       "\"type\":\"nosuchtype\"}]}"; break;
        case 98:
                if (!hd_registry_down) {
                        text = hd_catalogue_schema_json();
                        break;
                }
                /* fall through */
        case 99: return hd_seterr(errstr, errstr_size, "registry down"), HD_SERDE_E_REGISTRY;
        }
        if (text) {
                *json = hd_strdup(text);
                return 0;
        }
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
        if (msg)
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
        for (size_t n = 0; n < 5; n++) {
                snprintf(err, sizeof(err), "short frame: %zu bytes, a Confluent frame has "
                         "at least 5", n);
                expect_decode(s, frame, n, HD_SERDE_E_SHORT, err);
        }
        frame[0] = 1;
        expect_decode(s, frame, len, HD_SERDE_E_MAGIC, "bad magic byte 1 (expected 0)");
        frame[0] = 0;
        frame[4] = 7;
        expect_decode(s, frame, len, HD_SERDE_E_UNKNOWN_ID, "40403 Schema 7 not found");
        /* Cached as unknown for a while: no second registry request. */
        hd_fetches = 0;
        expect_decode(s, frame, len, HD_SERDE_E_UNKNOWN_ID,
                      "40403 Schema 7 not found (remembered)");
        HD_CHECK_INT_EQ(hd_fetches, 0);
        frame[4] = 99;
        expect_decode(s, frame, len, HD_SERDE_E_REGISTRY,
                      "schema 99: registry unreachable: registry down");
        /* Unreachable is never remembered: the next record asks again. */
        expect_decode(s, frame, len, HD_SERDE_E_REGISTRY,
                      "schema 99: registry unreachable: registry down");
        HD_CHECK_INT_EQ(hd_fetches, 2);
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
        /* Invalid UTF-8 in the first string (id). */
        {
                unsigned char keep = frame[6];
                frame[6] = 0xff;
                expect_decode(s, frame, len, HD_SERDE_E_MALFORMED,
                              "malformed Avro (schema 1): at byte 0: string is not valid UTF-8");
                frame[6] = keep;
        }
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

static void set_id(unsigned char *frame, int32_t id)
{
        frame[1] = (unsigned char)((uint32_t)id >> 24);
        frame[2] = (unsigned char)((uint32_t)id >> 16);
        frame[3] = (unsigned char)((uint32_t)id >> 8);
        frame[4] = (unsigned char)id;
}

/* Remembered refusals live in a bounded ring; a failed fetch is never success. */
static void test_schema_cache(hd_serde_t *s)
{
        unsigned char frame[] = {0, 0, 0, 0, 0, 2, 'a'};
        char err[HD_ERRSTR_SIZE];

        set_id(frame, 5);
        hd_fetches = 0;
        for (int i = 0; i < 2; i++) {
                json_t *ev = NULL;
                HD_CHECK_INT_EQ(hd_serde_decode(s, frame, sizeof(frame), &ev, err,
                                                sizeof(err)), HD_SERDE_E_SCHEMA);
                HD_CHECK(ev == NULL);
                HD_CHECK_MSG(!strncmp(err, "schema 5: avro-c: ", 18), "%s", err);
                HD_CHECK_MSG(!i == !strstr(err, "(remembered)"), "%s", err);
        }
        HD_CHECK_INT_EQ(hd_fetches, 1);

        /* 65 distinct unknown ids: the first is forgotten, the last remembered. */
        for (int32_t id = 1000; id <= 1064; id++) {
                set_id(frame, id);
                snprintf(err, sizeof(err), "40403 Schema %d not found", (int)id);
                expect_decode(s, frame, sizeof(frame), HD_SERDE_E_UNKNOWN_ID, err);
        }
        hd_fetches = 0;
        set_id(frame, 1064);
        expect_decode(s, frame, sizeof(frame), HD_SERDE_E_UNKNOWN_ID,
                      "40403 Schema 1064 not found (remembered)");
        set_id(frame, 1000);
        expect_decode(s, frame, sizeof(frame), HD_SERDE_E_UNKNOWN_ID,
                      "40403 Schema 1000 not found");
        HD_CHECK_INT_EQ(hd_fetches, 1);

        /* The registry comes back: the id that failed now decodes. */
        {
                json_t *ev = sample("bill_run.started"), *back = NULL;
                void *buf = NULL;
                size_t len = 0;
                HD_CHECK(hd_serde_encode(s, 1, ev, &buf, &len, err, sizeof(err)) == 0);
                set_id(buf, 98);
                hd_registry_down = 1;
                expect_decode(s, buf, len, HD_SERDE_E_REGISTRY,
                              "schema 98: registry unreachable: registry down");
                hd_registry_down = 0;
                HD_CHECK_MSG(hd_serde_decode(s, buf, len, &back, err, sizeof(err)) == 0, "%s",
                             err);
                HD_CHECK(back && json_equal(back, ev));
                json_decref(back);
                json_decref(ev);
                free(buf);
        }
}

static void test_encode_too_large(void)
{
        hd_serde_t *small = hd_serde_new(64, fake_fetch, NULL);
        json_t *ev = sample("invoice.posted");
        char err[HD_ERRSTR_SIZE] = "";
        void *buf = NULL;
        size_t len = 0;

        HD_CHECK_INT_EQ(hd_serde_encode(small, 1, ev, &buf, &len, err, sizeof(err)),
                        HD_SERDE_E_TOO_LARGE);
        HD_CHECK_STR_EQ(err, "event encodes to more than 64 bytes");
        HD_CHECK(buf == NULL);
        json_decref(ev);
        hd_serde_destroy(small);
}

/*
 * herald's codec and avro-c agree byte for byte: avro-c reads every frame herald
 * writes, and writing what it read reproduces the same bytes.
 */
static void test_avro_c_agrees(hd_serde_t *s)
{
        const char *json = hd_catalogue_schema_json();
        avro_schema_t schema = NULL;
        avro_value_iface_t *iface;
        avro_value_t value;
        static char out[65536];

        HD_CHECK(avro_schema_from_json_length(json, strlen(json), &schema) == 0);
        if (!schema)
                return;
        iface = avro_generic_class_from_schema(schema);
        avro_generic_value_new(iface, &value);
        for (size_t i = 0; i < hd_catalogue_count(); i++) {
                const hd_event_type_t *t = hd_catalogue_get(i);
                json_t *ev = sample(t->name);
                char err[HD_ERRSTR_SIZE] = "";
                void *buf = NULL;
                size_t len = 0;
                avro_reader_t r;
                avro_writer_t w;

                if (hd_serde_encode(s, 1, ev, &buf, &len, err, sizeof(err))) {
                        HD_CHECK_MSG(0, "%s: %s", t->name, err);
                        json_decref(ev);
                        continue;
                }
                r = avro_reader_memory((const char *)buf + 5, (int64_t)len - 5);
                w = avro_writer_memory(out, sizeof(out));
                avro_value_reset(&value);
                HD_CHECK_MSG(avro_value_read(r, &value) == 0, "%s: avro-c read: %s", t->name,
                             avro_strerror());
                HD_CHECK_MSG(avro_value_write(w, &value) == 0, "%s: avro-c write", t->name);
                HD_CHECK_MSG(avro_writer_tell(w) == (int64_t)len - 5 &&
                                     !memcmp(out, (char *)buf + 5, len - 5),
                             "%s: avro-c re-encodes differently", t->name);
                avro_reader_free(r);
                avro_writer_free(w);
                free(buf);
                json_decref(ev);
        }
        avro_value_decref(&value);
        avro_value_iface_decref(iface);
        avro_schema_decref(schema);
}

/* Kinds the catalogue does not use: double, bytes, fixed, arrays, sized map blocks. */
static void test_other_kinds(hd_serde_t *s)
{
        static const unsigned char body[] = {
                0, 0, 0, 0, 0, 0, 0xf8, 0x3f,       /* d = 1.5 */
                0x06, 0xff, 0x00, 'A',              /* b = ff 00 41 */
                0x01, 0xfe,                         /* f = 01 fe */
                0x04, 0x02, 0x01, 0x00,             /* a = [1, -1] */
                0x01, 0x06, 0x02, 'k', 0x01, 0x00}; /* m = {k: true}, one sized block */
        unsigned char frame[5 + sizeof(body)] = {0, 0, 0, 0, 3};
        const char *want = "{\"d\": 1.5, \"b\": \"\\u00ff\\u0000A\", \"f\": \"\\u0001\\u00fe\", "
                           "\"a\": [1, -1], \"m\": {\"k\": true}}";
        json_t *ev = NULL, *expect = json_loads(want, JSON_ALLOW_NUL, NULL), *schema;
        char err[HD_ERRSTR_SIZE] = "";
        unsigned char enc[64];
        const hd_anode_t *root;
        hd_anodes_t *nodes;
        size_t n = 0;

        memcpy(frame + 5, body, sizeof(body));
        HD_CHECK_MSG(hd_serde_decode(s, frame, sizeof(frame), &ev, err, sizeof(err)) == 0,
                     "%s", err);
        HD_CHECK(ev && expect && json_equal(ev, expect));
        json_decref(ev);

        /* The encoder is the inverse (an unsized block is the canonical form). */
        schema = json_loads(hd_kinds_schema, 0, NULL);
        nodes = hd_anodes_compile(schema, &root, err, sizeof(err));
        HD_CHECK(nodes && hd_avro_encode(root, expect, NULL, 0, enc, sizeof(enc), &n, err,
                                         sizeof(err)) == 0);
        HD_CHECK(n == sizeof(body) - 1 && !memcmp(enc, body, 18) && enc[18] == 0x02 &&
                 !memcmp(enc + 19, body + 20, 4));
        json_object_set_new(expect, "b", json_string("\xe2\x82\xac")); /* U+20AC */
        HD_CHECK_INT_EQ(hd_avro_encode(root, expect, NULL, 0, enc, sizeof(enc), &n, err,
                                       sizeof(err)), -1);
        HD_CHECK_STR_EQ(err, "b: expected a string of code points U+0000..U+00FF");
        hd_anodes_free(nodes);
        json_decref(schema);
        json_decref(expect);

        frame[5 + 19] = 0x08; /* the map block claims 4 bytes, its items take 3 */
        expect_decode(s, frame, sizeof(frame), HD_SERDE_E_MALFORMED,
                      "malformed Avro (schema 3): at byte 23: block declared 4 bytes but "
                      "its items took 3");
        frame[5 + 19] = 0x06;
        {
                double nan = NAN;
                memcpy(frame + 5, &nan, 8);
        }
        expect_decode(s, frame, sizeof(frame), HD_SERDE_E_MALFORMED,
                      "malformed Avro (schema 3): at byte 0: double is NaN or infinite, "
                      "which JSON cannot carry");
}

/* A field added inside a data record by a newer writer is read by name too. */
static void test_nested_added_field(hd_serde_t *s)
{
        json_t *schema = json_loads(hd_catalogue_schema_json(), 0, NULL), *f, *rec;
        json_t *ev = sample("invoice.posted"), *back = NULL;
        char err[HD_ERRSTR_SIZE] = "";
        void *buf = NULL;
        size_t i, k, len = 0;

        json_array_foreach(json_object_get(schema, "fields"), i, f) {
                if (strcmp(json_string_value(json_object_get(f, "name")), "data"))
                        continue;
                json_array_foreach(json_object_get(f, "type"), k, rec)
                        if (!strcmp(json_string_value(json_object_get(rec, "name")),
                                    "InvoicePosted"))
                                json_array_append_new(
                                        json_object_get(rec, "fields"),
                                        json_pack("{s:s, s:[s,s], s:n}", "name", "region",
                                                  "type", "null", "string", "default"));
        }
        hd_nested_schema = json_dumps(schema, JSON_COMPACT);
        json_decref(schema);
        HD_CHECK_MSG(hd_serde_encode(s, 4, ev, &buf, &len, err, sizeof(err)) == 0, "%s", err);
        HD_CHECK_MSG(buf && hd_serde_decode(s, buf, len, &back, err, sizeof(err)) == 0, "%s",
                     err);
        if (back) {
                json_t *data = json_object_get(back, "data");
                HD_CHECK(json_is_null(json_object_get(data, "region")));
                json_object_del(data, "region");
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
        test_nested_added_field(s);
        test_schema_cache(s);
        test_encode_too_large();
        test_avro_c_agrees(s);
        test_other_kinds(s);
        HD_CHECK_STR_EQ(hd_serde_err_name(HD_SERDE_E_TRAILING), "trailing_bytes");
        hd_serde_destroy(s);
        free(hd_evolved_schema);
        free(hd_nested_schema);
        hd_catalogue_cleanup();
        return hd_test_finish("test_serde");
}
