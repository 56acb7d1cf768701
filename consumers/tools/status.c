/*
 * herald-status: `herald status [--config F] [--group G]... [--topic T]... [--json]`.
 * For each consumer group (default: webhook.group and email.group of the config)
 * and each partition of the event topics (default: topics.ordered and
 * topics.unordered): the committed offset, the watermarks and the lag (high
 * watermark - committed; without a commit, everything retained, as herald's
 * daemons start from the earliest record), with totals per group. Reads only:
 * joins no group and commits nothing.
 */
#include "hd_config.h"
#include "hd_kafka.h"
#include "hd_log.h"
#include "hd_offsets.h"
#include "hd_util.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_STATUS_TIMEOUT_MS 10000
#define HD_STATUS_MAX 32

typedef struct hd_status {
        hd_config_t *cfg;
        const char *groups[HD_STATUS_MAX], *topics[HD_STATUS_MAX];
        int ngroups, ntopics, json;
        json_t *out; /* {"groups":[…]} */
} hd_status_t;

static int64_t hd_status_lag(const hd_offsets_part_t *p)
{
        int64_t from = p->committed >= 0 ? p->committed : p->lo;
        return p->hi > from ? p->hi - from : 0;
}

/* One topic of one group: partitions appended to parts, lag added to *lagp. */
static int hd_status_topic(rd_kafka_t *rk, const char *topic, json_t *parts, int64_t *lagp,
                           char *errstr, size_t errstr_size)
{
        int n = hd_kafka_partition_count(rk, topic, HD_STATUS_TIMEOUT_MS, errstr, errstr_size);
        hd_offsets_part_t *p;
        int r;

        if (n < 0)
                return -1;
        p = hd_calloc((size_t)n + 1, sizeof(*p));
        for (int i = 0; i < n; i++)
                p[i].partition = i;
        r = hd_offsets_read(rk, topic, p, (size_t)n, HD_STATUS_TIMEOUT_MS, errstr, errstr_size);
        for (int i = 0; !r && i < n; i++) {
                json_t *c = p[i].committed >= 0 ? json_integer(p[i].committed) : json_null();
                json_array_append_new(parts, json_pack("{s:s, s:i, s:o, s:I, s:I, s:I}", "topic",
                                                       topic, "partition", i, "committed", c,
                                                       "low", (json_int_t)p[i].lo, "high",
                                                       (json_int_t)p[i].hi, "lag",
                                                       (json_int_t)hd_status_lag(&p[i])));
                *lagp += hd_status_lag(&p[i]);
        }
        free(p);
        return r;
}

/* Members where the broker can list them; null on librdkafka's mock cluster. */
static json_t *hd_status_members(rd_kafka_t *rk, const char *group)
{
        char names[1024], err[HD_ERRSTR_SIZE];
        int n = 0;

        if (hd_offsets_group_members(rk, group, &n, names, sizeof(names), err, sizeof(err)))
                return json_null();
        return json_integer(n);
}

static int hd_status_group(hd_status_t *s, const char *group, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = hd_kafka_conf_new(s->cfg, errstr, errstr_size);
        rd_kafka_t *rk = conf ? hd_kafka_reader_new(conf, group, 0, errstr, errstr_size) : NULL;
        json_t *parts = json_array();
        int64_t lag = 0;
        int r = rk ? 0 : -1;

        for (int i = 0; !r && i < s->ntopics; i++)
                r = hd_status_topic(rk, s->topics[i], parts, &lag, errstr, errstr_size);
        if (!r)
                json_array_append_new(json_object_get(s->out, "groups"),
                                      json_pack("{s:s, s:o, s:I, s:o}", "group", group,
                                                "members", hd_status_members(rk, group), "lag",
                                                (json_int_t)lag, "partitions", parts));
        else
                json_decref(parts);
        if (r)
                hd_preperr(errstr, errstr_size, "group %s", group);
        if (rk) {
                rd_kafka_consumer_close(rk);
                rd_kafka_destroy(rk);
        }
        return r;
}

static void hd_status_print(const hd_status_t *s)
{
        size_t i, k;
        json_t *g, *p;

        json_array_foreach(json_object_get(s->out, "groups"), i, g) {
                json_t *members = json_object_get(g, "members");
                printf("%sgroup %s", i ? "\n" : "", json_string_value(json_object_get(g, "group")));
                if (json_is_integer(members))
                        printf(" (%lld active members)", (long long)json_integer_value(members));
                printf("\n%-32s  %9s  %12s  %12s  %12s\n", "topic", "partition", "committed",
                       "high", "lag");
                json_array_foreach(json_object_get(g, "partitions"), k, p) {
                        json_t *c = json_object_get(p, "committed");
                        char cbuf[32] = "-";
                        if (json_is_integer(c))
                                snprintf(cbuf, sizeof(cbuf), "%lld",
                                         (long long)json_integer_value(c));
                        printf("%-32s  %9lld  %12s  %12lld  %12lld\n",
                               json_string_value(json_object_get(p, "topic")),
                               (long long)json_integer_value(json_object_get(p, "partition")),
                               cbuf, (long long)json_integer_value(json_object_get(p, "high")),
                               (long long)json_integer_value(json_object_get(p, "lag")));
                }
                printf("%-32s  %9s  %12s  %12s  %12lld\n", "total", "", "", "",
                       (long long)json_integer_value(json_object_get(g, "lag")));
        }
}

static const char hd_usage[] =
        "usage: herald status [--config FILE] [--group G]... [--topic T]... [--json]\n"
        "Committed offset, high watermark and lag per group and partition, with totals.\n"
        "Default groups: webhook.group and email.group; default topics: topics.ordered\n"
        "and topics.unordered (--group / --topic replace them). A partition without a\n"
        "commit shows \"-\" (null in JSON) and lags by everything retained.\n"
        "Exit 0 = shown, 1 = error, 2 = usage.\n";

static int hd_status_args(hd_status_t *s, int argc, char **argv, const char **config)
{
        static const struct option opts[] = {
                {"config", 1, NULL, 'c'}, {"group", 1, NULL, 'g'}, {"topic", 1, NULL, 't'},
                {"json", 0, NULL, 'j'},   {"help", 0, NULL, 'h'},  {NULL, 0, NULL, 0}};
        int c;

        while ((c = getopt_long(argc, argv, "c:g:t:jh", opts, NULL)) != -1) {
                switch (c) {
                case 'c': *config = optarg; break;
                case 'g':
                case 't':
                        if ((c == 'g' ? s->ngroups : s->ntopics) >= HD_STATUS_MAX) {
                                fprintf(stderr, "herald status: at most %d of each\n",
                                        HD_STATUS_MAX);
                                return -1;
                        }
                        if (c == 'g')
                                s->groups[s->ngroups++] = optarg;
                        else
                                s->topics[s->ntopics++] = optarg;
                        break;
                case 'j': s->json = 1; break;
                case 'h': fputs(hd_usage, stdout); exit(0);
                default: return -1;
                }
        }
        return optind < argc ? -1 : 0;
}

int main(int argc, char **argv)
{
        hd_status_t s = {0};
        const char *config = NULL;
        char err[HD_ERRSTR_SIZE];
        int rc = 0;

        if (hd_status_args(&s, argc, argv, &config)) {
                fputs(hd_usage, stderr);
                return 2;
        }
        if (!(s.cfg = hd_config_load(config, err, sizeof(err)))) {
                fprintf(stderr, "herald status: %s\n", err);
                return 2;
        }
        hd_log_set_level(s.cfg->log_level);
        if (!s.ngroups) {
                s.groups[s.ngroups++] = s.cfg->webhook.group;
                s.groups[s.ngroups++] = s.cfg->email.group;
        }
        if (!s.ntopics) {
                s.topics[s.ntopics++] = s.cfg->topics.ordered;
                s.topics[s.ntopics++] = s.cfg->topics.unordered;
        }
        s.out = json_pack("{s:[]}", "groups");
        for (int i = 0; i < s.ngroups && !rc; i++)
                if (hd_status_group(&s, s.groups[i], err, sizeof(err))) {
                        fprintf(stderr, "herald status: %s\n", err);
                        rc = 1;
                }
        if (!rc && s.json) {
                char *text = json_dumps(s.out, JSON_COMPACT);
                puts(text);
                free(text);
        } else if (!rc) {
                hd_status_print(&s);
        }
        json_decref(s.out);
        hd_config_destroy(s.cfg);
        hd_log_clear_secrets();
        return rc;
}
