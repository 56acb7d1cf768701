/*
 * herald-produce: `herald produce [--config F] [--file F | -]`.
 * Reads JSON-lines events, validates and encodes each through the serde (Confluent
 * framing, schema id from the registry), and produces it: in-order types to the
 * ordered topic keyed by account id, out-of-order types to the unordered topic
 * without a key. An invalid line is reported as "LINE: problem" and not sent.
 * Exit 0 = all sent and acknowledged, 1 = some delivery failed, 2 = invalid input.
 */
#include "hd_catalogue.h"
#include "hd_config.h"
#include "hd_kafka.h"
#include "hd_log.h"
#include "hd_registry.h"
#include "hd_serde.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hd_produce {
        hd_config_t *cfg;
        hd_registry_t *reg;
        hd_serde_t *serde;
        rd_kafka_t *rk;
        int32_t id_ordered, id_unordered;
        long sent, acked, failed, invalid;
} hd_produce_t;

static void hd_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        hd_produce_t *p = opaque;

        (void)rk;
        if (m->err) {
                p->failed++;
                fprintf(stderr, "herald produce: line %ld: delivery failed: %s\n",
                        (long)(intptr_t)m->_private, rd_kafka_err2str(m->err));
        } else {
                p->acked++;
        }
}

/* Finds (or, with registry.auto_register, registers) the catalogue's id for topic. */
static int hd_schema_id(hd_produce_t *p, const char *topic, int32_t *id, char *errstr,
                        size_t errstr_size)
{
        char subject[300];
        int version, r;

        snprintf(subject, sizeof(subject), "%s-value", topic);
        r = hd_registry_lookup(p->reg, subject, hd_catalogue_schema_json(), id, &version,
                               errstr, errstr_size);
        if (r == HD_REG_E_NOT_FOUND && p->cfg->registry.auto_register)
                r = hd_registry_register(p->reg, subject, hd_catalogue_schema_json(), id,
                                         errstr, errstr_size);
        if (r)
                hd_preperr(errstr, errstr_size, "schema for subject %s", subject);
        return r ? -1 : 0;
}

static int hd_produce_setup(hd_produce_t *p, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf;
        char err[512];

        if (!(p->reg = hd_registry_from_config(p->cfg, errstr, errstr_size)) ||
            hd_schema_id(p, p->cfg->topics.ordered, &p->id_ordered, errstr, errstr_size) ||
            hd_schema_id(p, p->cfg->topics.unordered, &p->id_unordered, errstr,
                         errstr_size))
                return -1;
        p->serde = hd_serde_new((size_t)p->cfg->serde.max_message_bytes,
                                hd_registry_fetch_cb, p->reg);
        if (!(conf = hd_kafka_conf_new(p->cfg, errstr, errstr_size)))
                return -1;
        /* murmur2_random: the same account lands on the same partition as Java's. */
        if (hd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rd_kafka_conf_set_opaque(conf, p);
        rd_kafka_conf_set_dr_msg_cb(conf, hd_dr_cb);
        if (!(p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
                rd_kafka_conf_destroy(conf);
                return hd_seterr(errstr, errstr_size, "kafka producer: %s", err);
        }
        return 0;
}

/* Encodes and enqueues one event; returns 0 sent, -1 invalid (errstr says why). */
static int hd_produce_event(hd_produce_t *p, json_t *ev, long lineno, char *errstr,
                            size_t errstr_size)
{
        const hd_event_type_t *t;
        const char *type, *account, *topic;
        void *buf;
        size_t len;
        rd_kafka_resp_err_t err;

        if (hd_serde_validate(ev, errstr, errstr_size))
                return -1;
        type = json_string_value(json_object_get(ev, "type"));
        t = hd_catalogue_find(type);
        topic = t->ordered_default ? p->cfg->topics.ordered : p->cfg->topics.unordered;
        if (hd_serde_encode(p->serde, t->ordered_default ? p->id_ordered : p->id_unordered,
                            ev, &buf, &len, errstr, errstr_size))
                return -1;
        account = json_string_value(json_object_get(ev, "account_id"));
        for (;;) {
                err = rd_kafka_producev(
                        p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(buf, len),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
                        RD_KAFKA_V_KEY(t->ordered_default ? account : NULL,
                                       t->ordered_default && account ? strlen(account) : 0),
                        RD_KAFKA_V_OPAQUE((void *)(intptr_t)lineno), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(p->rk, 100); /* back-pressure: wait for acks */
        }
        if (err) {
                free(buf);
                p->failed++;
                fprintf(stderr, "herald produce: line %ld: %s\n", lineno,
                        rd_kafka_err2str(err));
                return 0;
        }
        p->sent++;
        rd_kafka_poll(p->rk, 0);
        return 0;
}

static void hd_produce_stream(hd_produce_t *p, FILE *in)
{
        char *line = NULL, err[HD_ERRSTR_SIZE];
        size_t cap = 0;
        ssize_t n;
        long lineno = 0;

        while ((n = getline(&line, &cap, in)) != -1) {
                json_error_t jerr;
                json_t *ev;

                lineno++;
                if (strspn(line, " \t\r\n") == (size_t)n)
                        continue;
                ev = json_loadb(line, (size_t)n, 0, &jerr);
                if (!ev) {
                        fprintf(stderr, "%ld: invalid JSON: %s\n", lineno, jerr.text);
                        p->invalid++;
                        continue;
                }
                if (hd_produce_event(p, ev, lineno, err, sizeof(err))) {
                        fprintf(stderr, "%ld: %s\n", lineno, err);
                        p->invalid++;
                }
                json_decref(ev);
        }
        free(line);
}

static void hd_produce_destroy(hd_produce_t *p)
{
        if (p->rk)
                rd_kafka_destroy(p->rk);
        if (p->serde)
                hd_serde_destroy(p->serde);
        if (p->reg)
                hd_registry_destroy(p->reg);
        hd_config_destroy(p->cfg);
}

static const char hd_usage[] =
        "usage: herald produce [--config FILE] [--file FILE | -]\n"
        "Reads JSON-lines events (stdin by default) and produces them to Kafka.\n"
        "Exit 0 = all sent and acknowledged, 1 = some delivery failed, 2 = invalid input.\n";

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"config", 1, NULL, 'c'},
                                             {"file", 1, NULL, 'f'},
                                             {"help", 0, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        hd_produce_t p = {0};
        const char *config = NULL, *file = "-";
        char err[HD_ERRSTR_SIZE];
        FILE *in = stdin;
        int c, rc;

        while ((c = getopt_long(argc, argv, "c:f:h", opts, NULL)) != -1) {
                switch (c) {
                case 'c': config = optarg; break;
                case 'f': file = optarg; break;
                case 'h': fputs(hd_usage, stdout); return 0;
                default: fputs(hd_usage, stderr); return 2;
                }
        }
        if (!(p.cfg = hd_config_load(config, err, sizeof(err)))) {
                fprintf(stderr, "herald produce: %s\n", err);
                return 2;
        }
        hd_log_set_level(p.cfg->log_level);
        if (strcmp(file, "-") && !(in = fopen(file, "r"))) {
                fprintf(stderr, "herald produce: %s: cannot open\n", file);
                hd_produce_destroy(&p);
                return 2;
        }
        if (hd_produce_setup(&p, err, sizeof(err))) {
                fprintf(stderr, "herald produce: %s\n", err);
                rc = 1;
        } else {
                hd_produce_stream(&p, in);
                if (rd_kafka_flush(p.rk, 30000))
                        fprintf(stderr, "herald produce: flush timed out\n");
                fprintf(stderr, "herald produce: %ld sent, %ld acknowledged, %ld failed, "
                                "%ld invalid\n",
                        p.sent, p.acked, p.failed, p.invalid);
                rc = p.failed || p.acked < p.sent ? 1 : p.invalid ? 2 : 0;
        }
        if (in != stdin)
                fclose(in);
        hd_produce_destroy(&p);
        hd_log_clear_secrets();
        return rc;
}
