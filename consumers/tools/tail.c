/*
 * herald-tail: `herald tail [--config F] [--topic T]... [--follow] [--count N]`.
 * Reads event topics without joining a group (nothing is committed), decodes each
 * record with the writer schema from the registry, and prints one JSON line per
 * record: {"topic","partition","offset","key","event"}. By default it reads every
 * partition from the beginning up to the end as of start-up, then exits; --follow
 * keeps reading. A record that cannot be decoded is reported on stderr with its
 * position and reason, and the stream goes on (exit 1 at the end).
 */
#include "hd_config.h"
#include "hd_kafka.h"
#include "hd_log.h"
#include "hd_registry.h"
#include "hd_serde.h"
#include "hd_util.h"

#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t hd_stop;

static void hd_on_signal(int sig)
{
        (void)sig;
        hd_stop = 1;
}

typedef struct hd_tail {
        hd_config_t *cfg;
        hd_registry_t *reg;
        hd_serde_t *serde;
        rd_kafka_t *rk;
        rd_kafka_topic_partition_list_t *ends; /* offset = end at start-up */
        int follow, events_only;
        long count, seen, bad;
        size_t remaining; /* partitions not yet at their end */
} hd_tail_t;

/* Assigns every partition of every topic from the beginning, noting its end. */
static int hd_tail_assign(hd_tail_t *t, char **topics, int ntopics, char *errstr,
                          size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *asg = rd_kafka_topic_partition_list_new(16);
        int r = 0;

        t->ends = rd_kafka_topic_partition_list_new(16);
        for (int i = 0; i < ntopics && !r; i++) {
                int n = hd_kafka_partition_count(t->rk, topics[i], 10000, errstr,
                                                 errstr_size);
                if (n < 0)
                        r = -1;
                for (int p = 0; p < n && !r; p++) {
                        int64_t lo, hi;
                        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
                                t->rk, topics[i], p, &lo, &hi, 10000);
                        if (e) {
                                r = hd_seterr(errstr, errstr_size, "%s [%d]: watermarks: %s",
                                              topics[i], p, rd_kafka_err2str(e));
                                break;
                        }
                        rd_kafka_topic_partition_list_add(asg, topics[i], p)->offset =
                                RD_KAFKA_OFFSET_BEGINNING;
                        /* -1 marks a partition already at its end (or empty) */
                        rd_kafka_topic_partition_list_add(t->ends, topics[i], p)->offset =
                                hi > lo ? hi : -1;
                        if (hi > lo)
                                t->remaining++;
                }
        }
        if (!r && rd_kafka_assign(t->rk, asg))
                r = hd_seterr(errstr, errstr_size, "assign failed");
        rd_kafka_topic_partition_list_destroy(asg);
        return r;
}

/* The key as a JSON string; bytes that are not UTF-8 are shown as \xNN. */
static json_t *hd_tail_key(const rd_kafka_message_t *m)
{
        const unsigned char *k = m->key;
        json_t *j;
        char *buf;
        size_t n = 0;

        if (!k)
                return json_null();
        if ((j = json_stringn((const char *)k, m->key_len)))
                return j;
        buf = hd_malloc(m->key_len * 4 + 1);
        for (size_t i = 0; i < m->key_len; i++)
                n += (size_t)(k[i] >= 0x80 || !k[i] ? sprintf(buf + n, "\\x%02x", k[i])
                                                    : sprintf(buf + n, "%c", k[i]));
        j = json_stringn(buf, n);
        free(buf);
        return j ? j : json_null();
}

static void hd_tail_print(hd_tail_t *t, const rd_kafka_message_t *m, json_t *ev)
{
        json_t *out = ev;
        char *s;

        if (!t->events_only) {
                out = json_pack("{s:s, s:i, s:I, s:o, s:O}", "topic",
                                rd_kafka_topic_name(m->rkt), "partition", m->partition,
                                "offset", (json_int_t)m->offset, "key", hd_tail_key(m),
                                "event", ev);
        }
        if (!out) {
                fprintf(stderr, "herald tail: %s [%d] @%lld: cannot print this record\n",
                        rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset);
                return;
        }
        s = json_dumps(out, JSON_COMPACT);
        puts(s);
        free(s);
        if (out != ev)
                json_decref(out);
}

/* True once this record was the last one before the partition's start-up end. */
/*
 * next = the offset after what was read. A partition's last offsets may hold no
 * record (a transaction marker, compaction), so the end of partition event counts
 * as reaching the end too, not only the record just before the high watermark.
 */
static void hd_tail_reached(hd_tail_t *t, const rd_kafka_message_t *m, int64_t next)
{
        rd_kafka_topic_partition_t *e = rd_kafka_topic_partition_list_find(
                t->ends, rd_kafka_topic_name(m->rkt), m->partition);

        if (!t->follow && e && e->offset >= 0 && next >= e->offset && t->remaining) {
                e->offset = -1;
                t->remaining--;
        }
}

static void hd_tail_record(hd_tail_t *t, const rd_kafka_message_t *m)
{
        char err[HD_ERRSTR_SIZE];
        json_t *ev = NULL;
        int r = hd_serde_decode(t->serde, m->payload, m->len, &ev, err, sizeof(err));

        if (r) {
                t->bad++;
                fprintf(stderr, "herald tail: %s [%d] @%lld: %s: %s\n",
                        rd_kafka_topic_name(m->rkt), (int)m->partition,
                        (long long)m->offset, hd_serde_err_name(r), err);
        } else {
                hd_tail_print(t, m, ev);
                json_decref(ev);
        }
        t->seen++;
        hd_tail_reached(t, m, m->offset + 1);
}

static void hd_tail_loop(hd_tail_t *t)
{
        while (!hd_stop && (t->follow || t->remaining) && (!t->count || t->seen < t->count)) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(t->rk, 200);
                if (!m)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        hd_tail_reached(t, m, m->offset);
                } else if (m->err) {
                        fprintf(stderr, "herald tail: %s\n", rd_kafka_message_errstr(m));
                } else {
                        hd_tail_record(t, m);
                        fflush(stdout);
                }
                rd_kafka_message_destroy(m);
        }
}

static int hd_tail_setup(hd_tail_t *t, char **topics, int ntopics, char *errstr,
                         size_t errstr_size)
{
        rd_kafka_conf_t *conf;

        if (!(t->reg = hd_registry_from_config(t->cfg, errstr, errstr_size)))
                return -1;
        t->serde = hd_serde_new((size_t)t->cfg->serde.max_message_bytes,
                                hd_registry_fetch_cb, t->reg);
        /* No group membership and no commits: reading must not disturb consumers. */
        if (!(conf = hd_kafka_conf_new(t->cfg, errstr, errstr_size)) ||
            !(t->rk = hd_kafka_reader_new(conf, "herald-tail", 1, errstr, errstr_size)))
                return -1;
        return hd_tail_assign(t, topics, ntopics, errstr, errstr_size);
}

static void hd_tail_destroy(hd_tail_t *t)
{
        if (t->rk) {
                rd_kafka_consumer_close(t->rk);
                rd_kafka_destroy(t->rk);
        }
        if (t->ends)
                rd_kafka_topic_partition_list_destroy(t->ends);
        if (t->serde)
                hd_serde_destroy(t->serde);
        if (t->reg)
                hd_registry_destroy(t->reg);
        hd_config_destroy(t->cfg);
}

static const char hd_usage[] =
        "usage: herald tail [--config FILE] [--topic T]... [--follow] [--count N]\n"
        "                   [--events-only]\n"
        "Prints decoded events as JSON lines. Default topics: topics.ordered and\n"
        "topics.unordered. Reads from the beginning to the current end and exits,\n"
        "or keeps reading with --follow. Joins no group and commits nothing.\n"
        "Exit 0 = all records decoded, 1 = some could not be decoded or an error.\n";

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"config", 1, NULL, 'c'}, {"topic", 1, NULL, 't'},
                {"follow", 0, NULL, 'F'}, {"count", 1, NULL, 'n'},
                {"events-only", 0, NULL, 'e'}, {"help", 0, NULL, 'h'},
                {NULL, 0, NULL, 0}};
        hd_tail_t t = {0};
        const char *config = NULL;
        char *topics[16], err[HD_ERRSTR_SIZE];
        int ntopics = 0, c, rc = 0;

        while ((c = getopt_long(argc, argv, "c:t:Fn:eh", opts, NULL)) != -1) {
                switch (c) {
                case 'c': config = optarg; break;
                case 't':
                        if (ntopics < 16)
                                topics[ntopics++] = optarg;
                        break;
                case 'F': t.follow = 1; break;
                case 'n': t.count = atol(optarg); break;
                case 'e': t.events_only = 1; break;
                case 'h': fputs(hd_usage, stdout); return 0;
                default: fputs(hd_usage, stderr); return 2;
                }
        }
        if (!(t.cfg = hd_config_load(config, err, sizeof(err)))) {
                fprintf(stderr, "herald tail: %s\n", err);
                return 2;
        }
        hd_log_set_level(t.cfg->log_level);
        if (!ntopics) {
                topics[ntopics++] = t.cfg->topics.ordered;
                topics[ntopics++] = t.cfg->topics.unordered;
        }
        signal(SIGINT, hd_on_signal);
        signal(SIGTERM, hd_on_signal);
        if (hd_tail_setup(&t, topics, ntopics, err, sizeof(err))) {
                fprintf(stderr, "herald tail: %s\n", err);
                rc = 1;
        } else {
                hd_tail_loop(&t);
                rc = t.bad ? 1 : 0;
        }
        hd_tail_destroy(&t);
        hd_log_clear_secrets();
        return rc;
}
