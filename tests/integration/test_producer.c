/*
 * libherald and `herald produce` against the dev stack: every validation error
 * (nothing produced), in-order types keyed by account on the ordered topic at the
 * murmur2 partition, out-of-order types unkeyed, one delivery callback per event,
 * flush timeout, and the CLI's line errors, --strict and exit codes.
 */
#include "herald/herald.h"
#include "hd_catalogue.h"
#include "hd_registry.h"
#include "hd_serde.h"
#include "hd_test.h"
#include "hd_testenv.h"
#include "../../producers/lib/herald_internal.h" /* the event's JSON, for comparing */

#include <librdkafka/rdkafka.h>
#include <stdlib.h>

static hd_testenv_t env;

/* Writes a config for this stack plus extra settings; returns its path. */
static const char *write_config(const char *name, const char *bootstrap, const char *extra)
{
        static char path[8][700];
        static int slot;
        char *p = path[slot++ % 8];
        FILE *fp;

        snprintf(p, 700, "%s/%s.conf", hd_test_tmpdir(), name);
        fp = fopen(p, "w");
        fprintf(fp, "kafka = { bootstrap_servers = \"%s\"; %s };\n"
                    "registry = { urls = [\"%s\"]; };\n%s\n",
                bootstrap ? bootstrap : env.bootstrap,
                bootstrap ? "message_timeout_ms = 1000;" : "", env.registry_url,
                extra ? extra : "");
        fclose(fp);
        return p;
}

typedef struct record {
        char key[64];
        int has_key;
        int32_t partition;
        int64_t offset;
        json_t *event;
} record_t;

/* Reads a whole topic (every partition from the beginning to its end). */
static size_t read_topic(const char *topic, record_t *out, size_t max)
{
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        hd_registry_opts_t o = {.urls = (const char *const[]){env.registry_url}, .nurls = 1};
        hd_registry_t *reg = hd_registry_new(&o, err, sizeof(err));
        hd_serde_t *serde = hd_serde_new(1 << 20, hd_registry_fetch_cb, reg);
        rd_kafka_topic_partition_list_t *asg = rd_kafka_topic_partition_list_new(8);
        size_t n = 0, want = 0;
        rd_kafka_t *rk;

        rd_kafka_conf_set(conf, "bootstrap.servers", env.bootstrap, err, sizeof(err));
        rd_kafka_conf_set(conf, "group.id", "test-reader", err, sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        for (int p = 0; p < 6; p++) {
                int64_t lo = 0, hi = 0;
                rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000);
                want += (size_t)(hi - lo);
                rd_kafka_topic_partition_list_add(asg, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        }
        rd_kafka_assign(rk, asg);
        for (int64_t deadline = hd_mono_us() + 20000000; n < want && n < max &&
                                                          hd_mono_us() < deadline;) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                if (!m)
                        continue;
                if (!m->err) {
                        record_t *r = &out[n++];
                        memset(r, 0, sizeof(*r));
                        r->has_key = m->key != NULL;
                        if (m->key)
                                snprintf(r->key, sizeof(r->key), "%.*s", (int)m->key_len,
                                         (const char *)m->key);
                        r->partition = m->partition;
                        r->offset = m->offset;
                        hd_serde_decode(serde, m->payload, m->len, &r->event, err, sizeof(err));
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_topic_partition_list_destroy(asg);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        hd_serde_destroy(serde);
        hd_registry_destroy(reg);
        return n;
}

static void free_records(record_t *r, size_t n)
{
        for (size_t i = 0; i < n; i++)
                json_decref(r[i].event);
}

static herald_event_t *service_event(const char *account, const char *name)
{
        herald_event_t *ev = NULL;
        char err[256];

        herald_event_new("account.service.state_changed", &ev, err, sizeof(err));
        herald_event_set_string(ev, "account_id", account, err, sizeof(err));
        herald_event_set_string(ev, "data.account.name", "Acme", err, sizeof(err));
        herald_event_set_string(ev, "data.service.id", "svc", err, sizeof(err));
        herald_event_set_string(ev, "data.service.name", name, err, sizeof(err));
        herald_event_set_string(ev, "data.service.from_state", "a", err, sizeof(err));
        herald_event_set_string(ev, "data.service.to_state", "b", err, sizeof(err));
        return ev;
}

static void expect_emit(herald_producer_t *p, herald_event_t *ev, herald_err_t want,
                        const char *msg)
{
        char err[512] = "";
        herald_err_t got = herald_emit(p, ev, NULL, NULL, err, sizeof(err));

        HD_CHECK_MSG(got == want, "emit: %s, want %s (%s)", herald_err_name(got),
                     herald_err_name(want), err);
        HD_CHECK_STR_EQ(err, msg);
        herald_event_destroy(ev);
}

static void test_validation(void)
{
        const char *cfg = write_config("small", NULL, "serde = { max_message_bytes = 1024; };");
        herald_producer_t *p = NULL;
        herald_event_t *ev = NULL;
        char err[512] = "", big[2000];
        record_t recs[4];

        HD_CHECK_MSG(herald_producer_new(cfg, &p, err, sizeof(err)) == HERALD_OK, "%s", err);
        if (!p)
                return;
        HD_CHECK_INT_EQ(herald_event_new("no.such", &ev, err, sizeof(err)),
                        HERALD_ERR_UNKNOWN_TYPE);
        HD_CHECK_STR_EQ(err, "unknown event type \"no.such\"");

        ev = service_event("A-1", "x");
        herald_event_set_null(ev, "data.service.name", err, sizeof(err));
        expect_emit(p, ev, HERALD_ERR_INVALID, "data.service.name: missing required string");

        ev = service_event("A-1", "x");
        herald_event_set_long(ev, "data.service.name", 5, err, sizeof(err));
        expect_emit(p, ev, HERALD_ERR_INVALID, "data.service.name: expected a string");

        ev = service_event(NULL, "x");
        expect_emit(p, ev, HERALD_ERR_INVALID,
                    "account_id: required for account.service.state_changed");

        ev = service_event("A-1", "x");
        herald_event_set_string(ev, "data.service.colour", "red", err, sizeof(err));
        expect_emit(p, ev, HERALD_ERR_INVALID, "data.service.colour: unknown field");

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        ev = service_event("A-1", big);
        expect_emit(p, ev, HERALD_ERR_TOO_LARGE, "event encodes to more than 1024 bytes");

        ev = service_event("A-1", "x");
        HD_CHECK_INT_EQ(herald_event_set_string(ev, "data..name", "y", err, sizeof(err)),
                        HERALD_ERR_INVALID);
        HD_CHECK_STR_EQ(err, "invalid field path \"data..name\"");
        herald_event_destroy(ev);

        HD_CHECK_INT_EQ(herald_flush(p, 5000, err, sizeof(err)), HERALD_OK);
        herald_producer_destroy(p);
        /* Nothing partial reached Kafka. */
        HD_CHECK_INT_EQ(read_topic("billing.events.ordered", recs, 4), 0);
}

typedef struct seen {
        char ids[64][40];
        int count[64];
        int n, errors;
} seen_t;

static void on_delivery(const char *id, herald_err_t err, const char *errstr, void *opaque)
{
        seen_t *s = opaque;
        int i;

        (void)errstr;
        for (i = 0; i < s->n && strcmp(s->ids[i], id); i++)
                ;
        if (i == s->n && s->n < 64)
                snprintf(s->ids[s->n++], 40, "%s", id);
        s->count[i]++;
        s->errors += err != HERALD_OK;
}

static void test_routing(void)
{
        herald_producer_t *p = NULL;
        char err[512] = "", name[32];
        static record_t recs[64];
        seen_t seen = {0};
        const char *accounts[] = {"ACC-1", "ACC-2", "ACC-3", "ACC-4", "ACC-5"};
        size_t n;

        HD_CHECK_MSG(herald_producer_new(env.config_path, &p, err, sizeof(err)) == HERALD_OK,
                     "%s", err);
        if (!p)
                return;
        for (int i = 0; i < 20; i++) {
                herald_event_t *ev;
                snprintf(name, sizeof(name), "seq-%02d", i);
                ev = service_event(accounts[i % 5], name);
                HD_CHECK(herald_emit(p, ev, on_delivery, &seen, err, sizeof(err)) == HERALD_OK);
                herald_event_destroy(ev);
        }
        for (int i = 0; i < 4; i++) {
                herald_event_t *ev = NULL;
                HD_CHECK(herald_event_from_json(
                                 "{\"type\":\"bill_run.started\",\"data\":{\"bill_run\":{\"id\":\"BR\","
                                 "\"name\":\"n\",\"cycle\":\"c\",\"period_start\":\"s\","
                                 "\"period_end\":\"e\"}}}", &ev, err, sizeof(err)) == HERALD_OK);
                HD_CHECK(herald_emit(p, ev, on_delivery, &seen, err, sizeof(err)) == HERALD_OK);
                herald_event_destroy(ev);
        }
        HD_CHECK_INT_EQ(herald_flush(p, 10000, err, sizeof(err)), HERALD_OK);
        HD_CHECK_INT_EQ(seen.n, 24);
        for (int i = 0; i < seen.n; i++)
                HD_CHECK_MSG(seen.count[i] == 1, "callback for %s ran %d times", seen.ids[i],
                             seen.count[i]);
        HD_CHECK_INT_EQ(seen.errors, 0);
        herald_producer_destroy(p);
        HD_CHECK_INT_EQ(seen.n, 24); /* destroy does not call them again */

        n = read_topic("billing.events.ordered", recs, 64);
        HD_CHECK_INT_EQ(n, 20);
        for (size_t i = 0; i < n; i++) {
                const char *acct = json_string_value(json_object_get(recs[i].event, "account_id"));
                int32_t want = rd_kafka_msg_partitioner_murmur2_random(
                        NULL, recs[i].key, strlen(recs[i].key), 6, NULL, NULL);
                HD_CHECK(recs[i].has_key && acct && !strcmp(recs[i].key, acct));
                HD_CHECK_INT_EQ(recs[i].partition, want);
                /* Per account, the offsets follow emission order (seq-NN ascending). */
                for (size_t k = 0; k < n; k++) {
                        if (k == i || strcmp(recs[k].key, recs[i].key) ||
                            recs[k].partition != recs[i].partition)
                                continue;
                        const char *a = json_string_value(json_object_get(json_object_get(
                                json_object_get(recs[i].event, "data"), "service"), "name"));
                        const char *b = json_string_value(json_object_get(json_object_get(
                                json_object_get(recs[k].event, "data"), "service"), "name"));
                        HD_CHECK((recs[i].offset < recs[k].offset) == (strcmp(a, b) < 0));
                }
        }
        free_records(recs, n);
        n = read_topic("billing.events.unordered", recs, 64);
        HD_CHECK_INT_EQ(n, 4);
        for (size_t i = 0; i < n; i++)
                HD_CHECK(!recs[i].has_key);
        free_records(recs, n);
}

static void on_delivery_id(const char *event_id, herald_err_t err, const char *errstr,
                           void *opaque)
{
        (void)err, (void)errstr;
        snprintf(opaque, 128, "%s", event_id);
}

/* The callback names the event by the id it was emitted with, whatever its length. */
static void test_long_event_id(void)
{
        herald_producer_t *p = NULL;
        herald_event_t *ev;
        char err[512] = "", got[128] = "", id[65];

        HD_CHECK_MSG(herald_producer_new(env.config_path, &p, err, sizeof(err)) == HERALD_OK,
                     "%s", err);
        if (!p)
                return;
        memset(id, 'x', 64);
        memcpy(id, "billing-evt-", 12);
        id[64] = '\0';
        ev = service_event("ID-1", "long id");
        HD_CHECK(herald_event_set_string(ev, "id", id, err, sizeof(err)) == HERALD_OK);
        HD_CHECK_MSG(herald_emit(p, ev, on_delivery_id, got, err, sizeof(err)) == HERALD_OK,
                     "%s", err);
        herald_event_destroy(ev);
        HD_CHECK_INT_EQ(herald_flush(p, 10000, err, sizeof(err)), HERALD_OK);
        HD_CHECK_STR_EQ(got, id);
        herald_producer_destroy(p);
}

typedef struct id_slot {
        char id[65];
        int calls;
} id_slot_t;

static void on_delivery_slot(const char *event_id, herald_err_t err, const char *errstr,
                             void *opaque)
{
        id_slot_t *s = opaque;

        (void)err, (void)errstr;
        snprintf(s->id, sizeof(s->id), "%s", event_id);
        s->calls++;
}

/*
 * Each callback gets the id its event was emitted with, through all three ways of
 * emitting, with 24 distinct opaques: the first pairs are kept process-wide (the
 * message points at the pair, the id is read back from the frame), the rest get
 * their own state. Run first, while no pair is kept yet, so both kinds are used;
 * against a dead broker, so the topics the other tests read stay as they expect
 * (every delivery fails after message_timeout_ms, naming its event).
 */
static void test_delivery_ids(void)
{
        const char *cfg = write_config("dead-ids", "127.0.0.1:1", NULL);
        static id_slot_t slots[24];
        herald_producer_t *p = NULL;
        char err[512] = "", want[24][65], json[512];

        HD_CHECK_MSG(herald_producer_new(cfg, &p, err, sizeof(err)) == HERALD_OK, "%s", err);
        if (!p)
                return;
        for (int i = 0; i < 24; i++) {
                herald_encoded_t *enc = NULL;
                herald_event_t *ev;
                herald_err_t r;
                snprintf(want[i], sizeof(want[i]), "delivery-id-%02d-%s", i,
                         i % 2 ? "x" : "a-longer-one-to-span-words");
                snprintf(json, sizeof(json),
                         "{\"id\":\"%s\",\"type\":\"bill_run.started\",\"data\":{"
                         "\"bill_run\":{\"id\":\"BR\",\"name\":\"n\",\"cycle\":\"c\","
                         "\"period_start\":\"s\",\"period_end\":\"e\"}}}",
                         want[i]);
                switch (i % 3) {
                case 0:
                        ev = service_event("ACC-ID", "ids");
                        herald_event_set_string(ev, "id", want[i], err, sizeof(err));
                        r = herald_emit(p, ev, on_delivery_slot, &slots[i], err, sizeof(err));
                        herald_event_destroy(ev);
                        break;
                case 1:
                        r = herald_emit_json(p, json, on_delivery_slot, &slots[i], err,
                                             sizeof(err));
                        break;
                default:
                        r = herald_encode_json(p, json, &enc, err, sizeof(err));
                        if (r == HERALD_OK)
                                r = herald_emit_encoded(p, enc, on_delivery_slot, &slots[i],
                                                        err, sizeof(err));
                        break;
                }
                HD_CHECK_MSG(r == HERALD_OK, "event %d: %s", i, err);
        }
        HD_CHECK_INT_EQ(herald_flush(p, 10000, err, sizeof(err)), HERALD_OK);
        for (int i = 0; i < 24; i++) {
                HD_CHECK_MSG(slots[i].calls == 1, "event %d: %d callbacks", i, slots[i].calls);
                HD_CHECK_STR_EQ(slots[i].id, want[i]);
        }
        herald_producer_destroy(p);
}

static void test_flush_timeout(void)
{
        const char *cfg = write_config("dead", "127.0.0.1:1", NULL);
        herald_producer_t *p = NULL;
        herald_event_t *ev;
        seen_t seen = {0};
        char err[512] = "";

        HD_CHECK_MSG(herald_producer_new(cfg, &p, err, sizeof(err)) == HERALD_OK, "%s", err);
        if (!p)
                return;
        ev = service_event("A-9", "x");
        HD_CHECK(herald_emit(p, ev, on_delivery, &seen, err, sizeof(err)) == HERALD_OK);
        herald_event_destroy(ev);
        HD_CHECK_INT_EQ(herald_flush(p, 200, err, sizeof(err)), HERALD_ERR_TIMEOUT);
        HD_CHECK_STR_EQ(err, "flush: 1 event(s) not acknowledged within 200 ms");
        HD_CHECK_INT_EQ(seen.n, 0);
        herald_producer_destroy(p);
        HD_CHECK_INT_EQ(seen.n, 1); /* failed exactly once, never dropped silently */
        HD_CHECK_INT_EQ(seen.errors, 1);
}

static const char *hd_valid_line =
        "{\"type\":\"account.service.state_changed\",\"account_id\":\"CLI-1\",\"data\":"
        "{\"account\":{\"name\":\"n\"},\"service\":{\"id\":\"s\",\"name\":\"cli\","
        "\"from_state\":\"a\",\"to_state\":\"b\"}}}\n";

static int produce_cli(const char *cfg, const char *input, int strict, char **err)
{
        char *argv[] = {"herald-produce", "--config", (char *)cfg, strict ? "--strict" : NULL,
                        NULL};
        char *out = NULL;
        int rc = hd_test_run(argv, input, &out, err);

        free(out);
        return rc;
}

static void test_cli(void)
{
        static record_t recs[64];
        char input[4096], *err = NULL;
        size_t before = read_topic("billing.events.ordered", recs, 64);

        free_records(recs, before);
        snprintf(input, sizeof(input), "%s{not json\n%s{\"type\":\"nope\",\"data\":{}}\n\n%s",
                 hd_valid_line, hd_valid_line, hd_valid_line);
        HD_CHECK_INT_EQ(produce_cli(env.config_path, input, 1, &err), 2);
        HD_CHECK_CONTAINS(err, "2: invalid JSON");
        HD_CHECK_CONTAINS(err, "4: type: unknown event type \"nope\"");
        HD_CHECK_CONTAINS(err, "--strict: 2 invalid line(s), nothing sent");
        free(err);
        HD_CHECK_INT_EQ(read_topic("billing.events.ordered", recs, 64), before);
        free_records(recs, before);

        HD_CHECK_INT_EQ(produce_cli(env.config_path, input, 0, &err), 2);
        HD_CHECK_CONTAINS(err, "2: invalid JSON");
        HD_CHECK_CONTAINS(err, "herald produce: 3 sent, 3 acknowledged, 0 failed, 2 invalid");
        free(err);
        HD_CHECK_INT_EQ(read_topic("billing.events.ordered", recs, 64), before + 3);
        free_records(recs, before + 3);

        HD_CHECK_INT_EQ(produce_cli(env.config_path, hd_valid_line, 0, &err), 0);
        HD_CHECK_CONTAINS(err, "1 sent, 1 acknowledged, 0 failed, 0 invalid");
        free(err);

        HD_CHECK_INT_EQ(produce_cli(write_config("dead2", "127.0.0.1:1", NULL), hd_valid_line, 0,
                                    &err), 1);
        HD_CHECK_CONTAINS(err, "delivery failed");
        HD_CHECK_CONTAINS(err, "1 sent, 0 acknowledged, 1 failed, 0 invalid");
        free(err);
}

typedef struct counts {
        int ok, failed;
} counts_t;

static void on_count(const char *id, herald_err_t err, const char *errstr, void *opaque)
{
        counts_t *c = opaque;

        (void)id, (void)errstr;
        if (err)
                c->failed++;
        else
                c->ok++;
}

/*
 * A local queue of 5 messages: herald_emit and herald_emit_encoded block on it,
 * serving acknowledgements, and never drop; every event is acknowledged once.
 */
static void test_backpressure(void)
{
        char path[700], err[512] = "";
        herald_producer_t *p = NULL;
        counts_t c = {0};
        int emitted = 0;
        FILE *fp;

        snprintf(path, sizeof(path), "%s/tiny-queue.conf", hd_test_tmpdir());
        fp = fopen(path, "w");
        fprintf(fp, "kafka = { bootstrap_servers = \"%s\"; queue_buffering_max_messages = 5; };\n"
                    "registry = { urls = [\"%s\"]; };\n", env.bootstrap, env.registry_url);
        fclose(fp);
        HD_CHECK_MSG(herald_producer_new(path, &p, err, sizeof(err)) == HERALD_OK, "%s", err);
        if (!p)
                return;
        for (int i = 0; i < 200; i++) {
                herald_event_t *ev = service_event("BP-1", "bp");
                herald_encoded_t *enc = NULL;
                if (i % 2) {
                        emitted += herald_emit(p, ev, on_count, &c, err, sizeof(err)) == HERALD_OK;
                } else if (herald_encode(p, ev, &enc, err, sizeof(err)) == HERALD_OK) {
                        emitted += herald_emit_encoded(p, enc, on_count, &c, err,
                                                       sizeof(err)) == HERALD_OK;
                }
                herald_event_destroy(ev);
        }
        HD_CHECK_INT_EQ(emitted, 200);
        HD_CHECK_INT_EQ(herald_flush(p, 20000, err, sizeof(err)), HERALD_OK);
        HD_CHECK_INT_EQ(c.ok, 200);
        HD_CHECK_INT_EQ(c.failed, 0);
        herald_producer_destroy(p);
        HD_CHECK_INT_EQ(c.ok + c.failed, 200); /* nothing more after destroy */
}

/*
 * --strict with a line that is valid but too large once encoded: it is only found
 * when encoding, after the lines before it were accepted; still nothing is sent.
 */
static void test_cli_strict_too_large(void)
{
        const char *cfg = write_config("strict-small", NULL,
                                       "serde = { max_message_bytes = 1024; };");
        static record_t recs[64];
        char name[1501], input[4096], *err = NULL;
        size_t before = read_topic("billing.events.ordered", recs, 64);

        free_records(recs, before);
        memset(name, 'x', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        snprintf(input, sizeof(input),
                 "%s{\"type\":\"account.service.state_changed\",\"account_id\":\"CLI-2\","
                 "\"data\":{\"account\":{\"name\":\"n\"},\"service\":{\"id\":\"s\","
                 "\"name\":\"%s\",\"from_state\":\"a\",\"to_state\":\"b\"}}}\n%s",
                 hd_valid_line, name, hd_valid_line);
        HD_CHECK_INT_EQ(produce_cli(cfg, input, 1, &err), 2);
        HD_CHECK_CONTAINS(err, "2: event encodes to more than 1024 bytes");
        HD_CHECK_CONTAINS(err, "--strict: 1 invalid line(s), nothing sent");
        HD_CHECK_CONTAINS(err, "0 sent, 0 acknowledged, 0 failed, 1 invalid");
        free(err);
        HD_CHECK_INT_EQ(read_topic("billing.events.ordered", recs, 64), before);
        free_records(recs, before);

        /* Without --strict the two valid lines go and the large one is reported. */
        HD_CHECK_INT_EQ(produce_cli(cfg, input, 0, &err), 2);
        HD_CHECK_CONTAINS(err, "2: event encodes to more than 1024 bytes");
        HD_CHECK_CONTAINS(err, "2 sent, 2 acknowledged, 0 failed, 1 invalid");
        free(err);
        HD_CHECK_INT_EQ(read_topic("billing.events.ordered", recs, 64), before + 2);
        free_records(recs, before + 2);
}

/*
 * herald_event_from_json reads the usual event with its own fast reader and leaves
 * everything else to jansson: for each input, the result (tree or error message)
 * must be exactly what json_loads(text, JSON_REJECT_DUPLICATES) gives.
 */
static void check_json_same(const char *body)
{
        char text[4096], err[512] = "", want[512] = "";
        herald_event_t *ev = NULL;
        json_error_t jerr;
        json_t *j;
        herald_err_t got;

        /* Envelope defaults already present (and an unknown type): nothing is added. */
        snprintf(text, sizeof(text),
                 "{\"id\":\"i\",\"occurred_at\":1,\"source\":\"s\",\"type\":\"x\"%s", body);
        j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        got = herald_event_from_json(text, &ev, err, sizeof(err));
        if (!j) {
                snprintf(want, sizeof(want), "invalid JSON at column %d: %s", jerr.column,
                         jerr.text);
                HD_CHECK_MSG(got == HERALD_ERR_INVALID, "%s: accepted, jansson: %s", body, want);
                HD_CHECK_STR_EQ(err, want);
        } else {
                HD_CHECK_MSG(got == HERALD_OK, "%s: %s", body, err);
                HD_CHECK_MSG(ev && json_equal(ev->json, j), "%s: a different tree", body);
        }
        herald_event_destroy(ev);
        json_decref(j);
}

static void test_event_json_reader(void)
{
        static const char *const bodies[] = {
                "}", ",\"data\":{}}", ",\"data\":{\"a\":{\"b\":[1,-2,0,-0,true,false,null]}}}",
                ",\"n\":9223372036854775807,\"m\":-9223372036854775808}",
                ",\"n\":9223372036854775808}", ",\"n\":-9223372036854775809}",
                ",\"n\":1.5}", ",\"n\":1e3}", ",\"n\":-1E-3}", ",\"n\":012}", ",\"n\":-}",
                ",\"n\":+1}", ",\"n\":1.}", ",\"s\":\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\"}",
                ",\"s\":\"\\u00e9\"}", ",\"s\":\"\\u0000\"}", ",\"s\":\"\\ud800\"}",
                ",\"s\":\"\\x\"}", ",\"s\":\"caf\xc3\xa9\"}", ",\"s\":\"\xff\"}",
                ",\"s\":\"\xc0\xaf\"}", ",\"s\":\"\xed\xa0\x80\"}", ",\"s\":\"a\x01b\"}",
                ",\"s\":\"a\tb\"}", ",\"s\":\"a\\", ",\"s\":\"open}",
                ",\"\xc3\xa9\":1}", ",\"\xff\":1}", ",\"a\\u0062\":1}", ",\"k\\\"\":1}",
                ",\"a\":1,\"a\":2}", ",\"d\":{\"a\":1,\"a\":1}}", ",\"\":1}", ",\"a\":1,}",
                ",\"a\" 1}", ",\"a\":[1,]}", ",\"a\":[,1]}", ",\"a\":[]}", ",\"a\":{} }",
                " \t\r\n, \"a\" : [ 1 , { } ] } \n", "} x", "}}", "}\n\n", ",\"a\":truex}",
                ",\"a\":nul}", ",\"a\":True}", ",\"a\":nulll}", ",\"a\":tru}", ",\"a\":1",
                ",\"a\":\x7f}", ",\"s\":\"\x7f\"}", ",\"a\":[\"x\",[[]],{\"b\":null}]}",
        };
        char deep[400];
        size_t k = 0;

        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
                check_json_same(bodies[i]);
        /* Nesting past the fast reader's depth, and past jansson's. */
        k += (size_t)snprintf(deep, sizeof(deep), ",\"d\":");
        for (int i = 0; i < 100; i++)
                deep[k++] = '[';
        for (int i = 0; i < 100; i++)
                deep[k++] = ']';
        snprintf(deep + k, sizeof(deep) - k, "}");
        check_json_same(deep);
        check_json_same(""); /* the text ends inside the object */
}

/* Frame, key, routing and id of an encoded event (from herald_internal.h). */
static int same_encoded(const herald_encoded_t *a, const herald_encoded_t *b)
{
        return a && b && a->ordered == b->ordered && a->has_key == b->has_key &&
               a->len == b->len && a->key_len == b->key_len &&
               !memcmp(a->data, b->data, a->len + a->key_len) &&
               !strcmp((const char *)a->data + a->len + a->key_len,
                       (const char *)b->data + b->len + b->key_len);
}

/*
 * The text fast path (events from JSON and herald_emit_json/herald_encode_json)
 * against the tree path, through the API: for every type's sample event the
 * same frame, key, topic and id; a setter after herald_event_from_json is never
 * lost (the event is then encoded from its tree, built on demand with the
 * defaults chosen when it was read); and every invalid line gets the message the
 * tree path gives, word for word.
 */
static void test_text_fast_path(void)
{
        static const char *const bad[] = {
                "{\"type\":\"nope\",\"data\":{}}", "[1]", "{\"type\":\"account.created\"",
                "{\"type\":\"account.created\",\"data\":{}}",
                "{\"type\":\"account.created\",\"account_id\":\"A\",\"data\":{}}",
                "{\"type\":\"account.created\",\"account_id\":\"A\",\"data\":{\"account\":"
                "{\"name\":5}}}",
                "{\"type\":\"account.created\",\"account_id\":\"A\",\"x\":1,\"data\":{}}",
                "{\"type\":\"account.created\",\"account_id\":\"A\",\"action\":\"NO\","
                "\"data\":{}}",
                "{\"type\":\"bill_run.started\",\"account_id\":\"A\",\"data\":{}}",
        };
        herald_producer_t *p = NULL;
        char err[512] = "", want[512];

        HD_CHECK_MSG(herald_producer_new(env.config_path, &p, err, sizeof(err)) == HERALD_OK,
                     "%s", err);
        if (!p)
                return;
        for (size_t i = 0; i < hd_catalogue_count(); i++) {
                json_t *sample = hd_catalogue_sample(hd_catalogue_get(i));
                char *text, *text2;
                herald_event_t *fast = NULL, *tree = NULL;
                herald_encoded_t *ef = NULL, *et = NULL, *ej = NULL, *e2 = NULL;

                json_object_set_new(sample, "id", json_string("evt-1"));
                json_object_set_new(sample, "occurred_at", json_integer(1764115200000));
                text = json_dumps(sample, JSON_COMPACT);
                HD_CHECK(herald_event_from_json(text, &fast, err, sizeof(err)) == HERALD_OK);
                HD_CHECK_MSG(fast && fast->text, "%s: not on the fast path", text);
                HD_CHECK(herald_event_from_json(text, &tree, err, sizeof(err)) == HERALD_OK);
                /* A setter (here to the same id) moves the event to its tree. */
                HD_CHECK(herald_event_set_string(tree, "id", herald_event_id(fast), err,
                                                 sizeof(err)) == HERALD_OK);
                HD_CHECK(tree && !tree->text);
                HD_CHECK_MSG(herald_encode(p, fast, &ef, err, sizeof(err)) == HERALD_OK, "%s", err);
                HD_CHECK_MSG(herald_encode(p, tree, &et, err, sizeof(err)) == HERALD_OK, "%s", err);
                HD_CHECK_MSG(herald_encode_json(p, text, &ej, err, sizeof(err)) == HERALD_OK, "%s",
                             err);
                HD_CHECK_MSG(same_encoded(ef, et) && same_encoded(ef, ej), "%s: paths differ",
                             text);
                /* A value set after reading is what gets sent. */
                HD_CHECK(herald_event_set_string(fast, "id", "changed-id", err, sizeof(err)) ==
                         HERALD_OK);
                json_object_set_new(sample, "id", json_string("changed-id"));
                text2 = json_dumps(sample, JSON_COMPACT);
                herald_encoded_destroy(ef);
                HD_CHECK(herald_encode(p, fast, &ef, err, sizeof(err)) == HERALD_OK);
                HD_CHECK(herald_encode_json(p, text2, &e2, err, sizeof(err)) == HERALD_OK);
                HD_CHECK_MSG(same_encoded(ef, e2), "%s: setter lost", text2);
                herald_encoded_destroy(ef), herald_encoded_destroy(et);
                herald_encoded_destroy(ej), herald_encoded_destroy(e2);
                herald_event_destroy(fast), herald_event_destroy(tree);
                free(text), free(text2);
                json_decref(sample);
        }
        /* Without id and occurred_at, an event from JSON gets them when read; a
         * tree built later (validate, a setter) has the same ones. */
        for (size_t i = 0; i < hd_catalogue_count(); i++) {
                json_t *sample = hd_catalogue_sample(hd_catalogue_get(i));
                herald_event_t *ev = NULL;
                herald_encoded_t *ef = NULL, *et = NULL;
                char *text = json_dumps(sample, JSON_COMPACT), id[80];

                HD_CHECK(herald_event_from_json(text, &ev, err, sizeof(err)) == HERALD_OK);
                if (!ev)
                        continue;
                snprintf(id, sizeof(id), "%s", herald_event_id(ev));
                HD_CHECK_INT_EQ(strlen(id), 36);
                HD_CHECK(herald_encode(p, ev, &ef, err, sizeof(err)) == HERALD_OK);
                HD_CHECK_MSG(herald_event_validate(ev, err, sizeof(err)) == HERALD_OK, "%s", err);
                HD_CHECK_STR_EQ(json_string_value(json_object_get(ev->json, "id")), id);
                HD_CHECK(herald_event_set_string(ev, "source", "billing", err, sizeof(err)) ==
                         HERALD_OK);
                HD_CHECK(!ev->text);
                HD_CHECK_STR_EQ(herald_event_id(ev), id);
                HD_CHECK(herald_encode(p, ev, &et, err, sizeof(err)) == HERALD_OK);
                HD_CHECK_MSG(same_encoded(ef, et), "%s: the late tree differs", text);
                herald_encoded_destroy(ef), herald_encoded_destroy(et);
                herald_event_destroy(ev);
                free(text);
                json_decref(sample);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                herald_event_t *ev = NULL;
                herald_encoded_t *enc = NULL;
                herald_err_t code, got;

                /* What herald produce said before: from_json, then emit. */
                code = herald_event_from_json(bad[i], &ev, want, sizeof(want));
                if (!code)
                        code = herald_emit(p, ev, NULL, NULL, want, sizeof(want));
                herald_event_destroy(ev);
                ev = NULL;
                HD_CHECK_MSG(code != HERALD_OK, "%s accepted", bad[i]);
                got = herald_emit_json(p, bad[i], NULL, NULL, err, sizeof(err));
                HD_CHECK_INT_EQ(got, code);
                HD_CHECK_STR_EQ(err, want);
                /* --strict before: from_json, validate, then encode. */
                code = herald_event_from_json(bad[i], &ev, want, sizeof(want));
                if (!code && !(code = herald_event_validate(ev, want, sizeof(want))))
                        code = herald_encode(p, ev, &enc, want, sizeof(want));
                herald_event_destroy(ev);
                herald_encoded_destroy(enc);
                enc = NULL;
                got = herald_encode_json(p, bad[i], &enc, err, sizeof(err));
                HD_CHECK(got == code && !enc);
                HD_CHECK_STR_EQ(err, want);
        }
        HD_CHECK_INT_EQ(herald_flush(p, 10000, err, sizeof(err)), HERALD_OK);
        herald_producer_destroy(p);
}

/* A NUL byte cuts a C string short: such lines are reported, never half-read. */
static void test_cli_nul_bytes(void)
{
        char path[700], *out = NULL, *err = NULL;
        char *argv[] = {"herald-produce", "--config", env.config_path, "--file", path, NULL};
        size_t n = strlen(hd_valid_line);
        FILE *fp;

        snprintf(path, sizeof(path), "%s/nul.jsonl", hd_test_tmpdir());
        fp = fopen(path, "w");
        fwrite(hd_valid_line, 1, n - 1, fp);    /* valid JSON, then NUL and junk */
        fwrite("\0{junk\n", 1, 7, fp);
        fwrite("\0", 1, 1, fp);                 /* looks blank to strlen() */
        fwrite(hd_valid_line, 1, n, fp);
        fclose(fp);
        HD_CHECK_INT_EQ(hd_test_run(argv, NULL, &out, &err), 2);
        HD_CHECK_CONTAINS(err, "1: line contains a NUL byte");
        HD_CHECK_CONTAINS(err, "2: line contains a NUL byte");
        HD_CHECK_CONTAINS(err, "0 sent, 0 acknowledged, 0 failed, 2 invalid");
        free(out), free(err);
}

/* The example program a billing engineer copies must work as shipped. */
static void test_example(void)
{
        char *argv[] = {"herald-example-emit", "EX-1", "Example Ltd", "Fibre", "active",
                        "suspended", NULL};
        char *out = NULL, *err = NULL;

        setenv("HERALD_CONFIG", env.config_path, 1);
        HD_CHECK_INT_EQ(hd_test_run(argv, NULL, &out, &err), 0);
        HD_CHECK_CONTAINS(out, " delivered");
        unsetenv("HERALD_CONFIG");
        free(out), free(err);
}

int main(void)
{
        if (hd_testenv_start(&env, 0)) {
                HD_CHECK(!"dev stack started");
                return hd_test_finish("test_producer");
        }
        /* Every config below names its bootstrap and registry: no env overrides. */
        unsetenv("HERALD_BOOTSTRAP");
        unsetenv("HERALD_REGISTRY_URL");
        test_delivery_ids(); /* first: see there */
        test_validation();
        test_routing();
        test_flush_timeout();
        test_long_event_id();
        test_cli();
        test_cli_strict_too_large();
        test_event_json_reader();
        test_text_fast_path();
        test_backpressure();
        test_cli_nul_bytes();
        test_example();
        HD_CHECK_INT_EQ(hd_testenv_stop(&env), 0);
        hd_catalogue_cleanup();
        hd_log_clear_secrets();
        return hd_test_finish("test_producer");
}
