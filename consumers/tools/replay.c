/*
 * herald-replay: `herald replay --group G --topic T [--partitions LIST] MODE
 * [--execute]`. Computes, per partition, where the group should start again
 * (MODE: a time, a duration back from now, an offset, a shift, earliest, latest),
 * clamped to the partition's watermarks, and prints old -> new offsets with the
 * number of records that will be redelivered or skipped. Nothing changes without
 * --execute. Executing refuses while the group has live members: the offsets are
 * committed as a real member of the group (librdkafka's mock refuses member-less
 * commits for a group that had members), with empty metadata so the daemons'
 * completion marks of the old position do not skip the replayed range.
 */
#include "hd_config.h"
#include "hd_kafka.h"
#include "hd_log.h"
#include "hd_offsets.h"
#include "hd_util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HD_REPLAY_TIMEOUT_MS 10000

typedef enum {
        HD_R_DATETIME,
        HD_R_DURATION,
        HD_R_OFFSET,
        HD_R_SHIFT,
        HD_R_EARLIEST,
        HD_R_LATEST
} hd_rmode_t;

static const char *const hd_rmode_opt[] = {"--to-datetime", "--by-duration", "--to-offset",
                                           "--shift-by",    "--to-earliest", "--to-latest"};

typedef struct hd_replay {
        hd_config_t *cfg;
        const char *group, *topic, *plist, *mode_arg;
        hd_rmode_t mode;
        int nmodes, execute;
        int64_t arg; /* offset, shift or time (epoch ms) */
        rd_kafka_t *rk; /* reader with group.id = group: never joins, never commits */
        hd_offsets_part_t *parts;
        size_t nparts;
        int64_t *target;
        hd_offsets_how_t *how;
} hd_replay_t;

static int hd_replay_int(const char *s, int64_t *out, int signed_ok, char *errstr,
                         size_t errstr_size)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (!*s || *end || errno || (!signed_ok && (v < 0 || *s == '+' || *s == '-')) ||
            (signed_ok && *s != '+' && *s != '-' && (*s < '0' || *s > '9')))
                return hd_seterr(errstr, errstr_size, "bad %s \"%s\": expected %s",
                                 signed_ok ? "shift" : "offset", s,
                                 signed_ok ? "a signed integer like -100 or +50"
                                           : "a non-negative integer");
        *out = v;
        return 0;
}

/* The mode's argument into r->arg. */
static int hd_replay_mode_arg(hd_replay_t *r, char *errstr, size_t errstr_size)
{
        int64_t d;

        switch (r->mode) {
        case HD_R_DATETIME:
                return hd_parse_iso8601(r->mode_arg, &r->arg, errstr, errstr_size);
        case HD_R_DURATION:
                if (hd_parse_duration(r->mode_arg, &d, errstr, errstr_size))
                        return -1;
                r->arg = hd_now_ms() - d;
                return 0;
        case HD_R_OFFSET:
                return hd_replay_int(r->mode_arg, &r->arg, 0, errstr, errstr_size);
        case HD_R_SHIFT:
                return hd_replay_int(r->mode_arg, &r->arg, 1, errstr, errstr_size);
        default:
                return 0;
        }
}

/* Partitions of the topic (all, or --partitions) with their positions. */
static int hd_replay_load(hd_replay_t *r, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = hd_kafka_conf_new(r->cfg, errstr, errstr_size);
        int32_t *sel = NULL;
        int count;

        if (!conf || !(r->rk = hd_kafka_reader_new(conf, r->group, 1, errstr, errstr_size)))
                return -1;
        if ((count = hd_kafka_partition_count(r->rk, r->topic, HD_REPLAY_TIMEOUT_MS, errstr,
                                              errstr_size)) < 0)
                return -1;
        if (r->plist) {
                if (hd_parse_partitions(r->plist, count, &sel, &r->nparts, errstr, errstr_size))
                        return -1;
        } else {
                sel = hd_calloc((size_t)count, sizeof(*sel));
                for (int i = 0; i < count; i++)
                        sel[i] = i;
                r->nparts = (size_t)count;
        }
        r->parts = hd_calloc(r->nparts + 1, sizeof(*r->parts));
        r->target = hd_calloc(r->nparts + 1, sizeof(*r->target));
        r->how = hd_calloc(r->nparts + 1, sizeof(*r->how));
        for (size_t i = 0; i < r->nparts; i++)
                r->parts[i].partition = sel[i];
        free(sel);
        return hd_offsets_read(r->rk, r->topic, r->parts, r->nparts, HD_REPLAY_TIMEOUT_MS,
                               errstr, errstr_size);
}

/* Where the group starts now: its commit, or (herald's daemons) the low watermark. */
static int64_t hd_replay_base(const hd_offsets_part_t *p)
{
        return p->committed >= 0 ? p->committed : p->lo;
}

static int hd_replay_targets(hd_replay_t *r, char *errstr, size_t errstr_size)
{
        for (size_t i = 0; i < r->nparts; i++) {
                const hd_offsets_part_t *p = &r->parts[i];
                int64_t t = 0;
                switch (r->mode) {
                case HD_R_EARLIEST: t = p->lo; break;
                case HD_R_LATEST: t = p->hi; break;
                case HD_R_OFFSET: t = r->arg; break;
                case HD_R_SHIFT: t = hd_replay_base(p) + r->arg; break;
                case HD_R_DATETIME:
                case HD_R_DURATION:
                        if (hd_offsets_for_time(r->rk, r->topic, p->partition, p->lo, p->hi,
                                                r->arg, &t, &r->how[i], errstr, errstr_size))
                                return -1;
                        break;
                }
                r->target[i] = t;
        }
        return 0;
}

static int64_t hd_clamp(const hd_offsets_part_t *p, int64_t t)
{
        return t < p->lo ? p->lo : t > p->hi ? p->hi : t;
}

static void hd_replay_row(const hd_replay_t *r, size_t i, int64_t *redeliver, int64_t *skip)
{
        const hd_offsets_part_t *p = &r->parts[i];
        int64_t nw = hd_clamp(p, r->target[i]), delta = hd_replay_base(p) - nw;
        char committed[32], change[48], notes[160] = "";

        if (p->committed >= 0)
                snprintf(committed, sizeof(committed), "%lld", (long long)p->committed);
        else
                snprintf(committed, sizeof(committed), "-");
        if (delta > 0)
                snprintf(change, sizeof(change), "redeliver %lld", (long long)delta);
        else if (delta < 0)
                snprintf(change, sizeof(change), "skip %lld", (long long)-delta);
        else
                snprintf(change, sizeof(change), "none");
        *redeliver += delta > 0 ? delta : 0;
        *skip += delta < 0 ? -delta : 0;
        if (p->committed < 0)
                strcat(notes, "no commit yet (starts at low); ");
        if (r->target[i] != nw)
                strcat(notes, nw == p->hi ? "clamped to high; " : "clamped to low; ");
        if (r->mode == HD_R_DATETIME || r->mode == HD_R_DURATION) {
                strcat(notes, "time: ");
                strcat(notes, hd_offsets_how_name(r->how[i]));
                strcat(notes, "; ");
        }
        if (p->has_metadata)
                strcat(notes, "clears completion marks; ");
        if (*notes)
                notes[strlen(notes) - 2] = '\0';
        printf("%9d  %10s  %10lld  %-16s  %10lld  %10lld  %s\n", (int)p->partition, committed,
               (long long)nw, change, (long long)p->lo, (long long)p->hi, notes);
}

static void hd_replay_print(const hd_replay_t *r)
{
        int64_t redeliver = 0, skip = 0;

        printf("herald replay: group %s, topic %s, %s", r->group, r->topic,
               hd_rmode_opt[r->mode]);
        if (r->mode == HD_R_DATETIME || r->mode == HD_R_DURATION) {
                time_t t = (time_t)(r->arg / 1000);
                struct tm tm;
                char buf[32];
                gmtime_r(&t, &tm);
                strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
                printf(" %s (records from %s.%03dZ)", r->mode_arg, buf, (int)(r->arg % 1000));
        } else if (r->mode_arg) {
                printf(" %s", r->mode_arg);
        }
        printf("\n%9s  %10s  %10s  %-16s  %10s  %10s  %s\n", "partition", "committed", "new",
               "change", "low", "high", "notes");
        for (size_t i = 0; i < r->nparts; i++)
                hd_replay_row(r, i, &redeliver, &skip);
        printf("total: redeliver %lld, skip %lld, partitions %zu\n", (long long)redeliver,
               (long long)skip, r->nparts);
}

/* State the rebalance callback keeps for the joining member. */
typedef struct hd_replay_member {
        int assigned; /* partitions in the last assignment, -1 before one */
} hd_replay_member_t;

static void hd_replay_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        hd_replay_member_t *m = opaque;
        int assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;

        /* the group's own protocol (from the config), as its daemons use it */
        if (!strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE")) {
                if (assign)
                        rd_kafka_incremental_assign(rk, parts);
                else
                        rd_kafka_incremental_unassign(rk, parts);
                m->assigned = (m->assigned < 0 ? 0 : m->assigned) +
                              (assign ? parts->cnt : -parts->cnt);
        } else {
                rd_kafka_assign(rk, assign ? parts : NULL);
                m->assigned = assign ? parts->cnt : -1;
        }
}

/*
 * Subscribes as a member of the group to T and the config's event topics (the
 * daemons' subscription), so every other live member shares these partitions
 * with this client. Returns the number of partitions subscribed.
 */
static int hd_replay_subscribe(hd_replay_t *r, rd_kafka_t *rk, char *errstr, size_t errstr_size)
{
        const char *topics[] = {r->topic, r->cfg->topics.ordered, r->cfg->topics.unordered};
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(3);
        int total = 0;
        rd_kafka_resp_err_t e;

        for (size_t i = 0; i < HD_ARRAY_SIZE(topics); i++) {
                char ignored[HD_ERRSTR_SIZE];
                int n;
                if (rd_kafka_topic_partition_list_find(l, topics[i], RD_KAFKA_PARTITION_UA))
                        continue;
                /* a config topic missing on this cluster is simply not subscribed */
                n = hd_kafka_partition_count(r->rk, topics[i], HD_REPLAY_TIMEOUT_MS, ignored,
                                             sizeof(ignored));
                if (n > 0) {
                        rd_kafka_topic_partition_list_add(l, topics[i], RD_KAFKA_PARTITION_UA);
                        total += n;
                }
        }
        if ((e = rd_kafka_subscribe(rk, l)))
                total = hd_seterr(errstr, errstr_size, "subscribing to the group's topics: %s",
                                  rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(l);
        return total;
}

static rd_kafka_t *hd_replay_member_new(hd_replay_t *r, hd_replay_member_t *m, char *errstr,
                                        size_t errstr_size)
{
        rd_kafka_conf_t *conf = hd_kafka_conf_new(r->cfg, errstr, errstr_size);
        char err[512];
        rd_kafka_t *rk;

        if (!conf)
                return NULL;
        /* No assignment strategy of its own: the config's, as the daemons use
         * (librdkafka's mock cluster aborts when members' first protocols differ). */
        if (hd_kafka_conf_set(conf, "group.id", r->group, errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "client.id", "herald-replay", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rd_kafka_conf_set_opaque(conf, m);
        rd_kafka_conf_set_rebalance_cb(conf, hd_replay_rebalance);
        if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
                rd_kafka_conf_destroy(conf);
                hd_seterr(errstr, errstr_size, "kafka consumer: %s", err);
                return NULL;
        }
        rd_kafka_poll_set_consumer(rk);
        return rk;
}

/* Serves the group protocol until the first assignment (records are dropped). */
static int hd_replay_wait_assigned(rd_kafka_t *rk, hd_replay_member_t *m, const char *group,
                                   char *errstr, size_t errstr_size)
{
        int64_t deadline = hd_mono_us() + 120 * 1000000LL;

        while (m->assigned < 0 && hd_mono_us() < deadline) {
                rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
                rd_kafka_resp_err_t e = msg ? msg->err : RD_KAFKA_RESP_ERR_NO_ERROR;
                if (msg)
                        rd_kafka_message_destroy(msg);
                if (e == RD_KAFKA_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL)
                        return hd_seterr(errstr, errstr_size,
                                         "group %s has active members (they use another "
                                         "assignment protocol); stop its consumers first",
                                         group);
                if (e == RD_KAFKA_RESP_ERR__FATAL)
                        return hd_seterr(errstr, errstr_size, "joining group %s: fatal error",
                                         group);
        }
        if (m->assigned < 0)
                return hd_seterr(errstr, errstr_size, "joining group %s: no assignment in 120 s",
                                 group);
        return 0;
}

/* Commits the new offsets with empty metadata, and reads them back. */
static int hd_replay_commit(hd_replay_t *r, rd_kafka_t *rk, char *errstr, size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)r->nparts);
        rd_kafka_resp_err_t e;
        int rc = 0;

        for (size_t i = 0; i < r->nparts; i++)
                rd_kafka_topic_partition_list_add(l, r->topic, r->parts[i].partition)->offset =
                        hd_clamp(&r->parts[i], r->target[i]);
        if ((e = rd_kafka_commit(rk, l, 0)))
                rc = hd_seterr(errstr, errstr_size, "commit to group %s refused: %s", r->group,
                               rd_kafka_err2str(e));
        for (int i = 0; !rc && i < l->cnt; i++)
                if (l->elems[i].err)
                        rc = hd_seterr(errstr, errstr_size, "commit of %s [%d] refused: %s",
                                       r->topic, (int)l->elems[i].partition,
                                       rd_kafka_err2str(l->elems[i].err));
        for (int i = 0; !rc && i < l->cnt; i++)
                l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
        if (!rc && (e = rd_kafka_committed(rk, l, HD_REPLAY_TIMEOUT_MS)))
                rc = hd_seterr(errstr, errstr_size, "reading back the commit: %s",
                               rd_kafka_err2str(e));
        for (int i = 0; !rc && i < l->cnt; i++)
                if (l->elems[i].offset != hd_clamp(&r->parts[i], r->target[i]) ||
                    l->elems[i].metadata_size)
                        rc = hd_seterr(errstr, errstr_size,
                                       "%s [%d]: committed %lld, not what was asked", r->topic,
                                       (int)l->elems[i].partition,
                                       (long long)l->elems[i].offset);
        rd_kafka_topic_partition_list_destroy(l);
        return rc;
}

/* --execute: refuses while other members are live, else commits as a member. */
static int hd_replay_execute(hd_replay_t *r, char *errstr, size_t errstr_size)
{
        hd_replay_member_t m = {.assigned = -1};
        rd_kafka_t *rk = hd_replay_member_new(r, &m, errstr, errstr_size);
        int total, rc;

        if (!rk)
                return -1;
        if ((total = hd_replay_subscribe(r, rk, errstr, errstr_size)) < 0 ||
            hd_replay_wait_assigned(rk, &m, r->group, errstr, errstr_size)) {
                rc = -1;
        } else if (m.assigned < total) {
                rc = hd_seterr(errstr, errstr_size,
                               "group %s has other active members: joining it gave this "
                               "client %d of %d partitions (the broker cannot list members, "
                               "so they cannot be named); stop the group's consumers and run "
                               "again",
                               r->group, m.assigned, total);
        } else {
                rc = hd_replay_commit(r, rk, errstr, errstr_size);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return rc;
}

/* Live members where the broker can list them: refuse (execute) or warn. */
static int hd_replay_check_members(hd_replay_t *r, char *errstr, size_t errstr_size)
{
        char names[1024];
        int n = 0, s = hd_offsets_group_members(r->rk, r->group, &n, names, sizeof(names),
                                                errstr, errstr_size);

        if (s < 0)
                return -1;
        if (s == 1) {
                if (!r->execute)
                        printf("note: the broker cannot list group members; --execute "
                               "checks by joining the group\n");
                return 0;
        }
        if (n > 0 && r->execute)
                return hd_seterr(errstr, errstr_size,
                                 "group %s has %d active member(s): %s; stop them and run "
                                 "again",
                                 r->group, n, names);
        if (n > 0)
                printf("warning: group %s has %d active member(s): %s; --execute will "
                       "refuse\n",
                       r->group, n, names);
        return 0;
}

static int hd_replay_run(hd_replay_t *r, char *errstr, size_t errstr_size)
{
        if (hd_replay_load(r, errstr, errstr_size) || hd_replay_targets(r, errstr, errstr_size))
                return -1;
        hd_replay_print(r);
        if (hd_replay_check_members(r, errstr, errstr_size))
                return -1;
        if (!r->execute) {
                printf("dry run: nothing changed (add --execute to apply)\n");
                return 0;
        }
        if (hd_replay_execute(r, errstr, errstr_size))
                return -1;
        printf("applied: group %s starts at the new offsets (completion marks cleared)\n",
               r->group);
        return 0;
}

static const char hd_usage[] =
        "usage: herald replay [--config FILE] --group G --topic T [--partitions LIST]\n"
        "                     MODE [--execute]\n"
        "MODE is exactly one of:\n"
        "  --to-datetime ISO8601   first record at or after the time (2026-11-27T14:30:00Z)\n"
        "  --by-duration PnDTnHnMnS  records of the last duration (PT2H, P1DT12H)\n"
        "  --to-offset N           offset N\n"
        "  --shift-by +N|-N        N records later / earlier than the committed offset\n"
        "  --to-earliest           the low watermark\n"
        "  --to-latest             the high watermark (skip everything)\n"
        "LIST: partitions like 0,2,4-6 (default: all). New offsets are clamped to the\n"
        "watermarks. Dry run by default; --execute commits the new offsets (with empty\n"
        "commit metadata) and refuses while the group has active members.\n"
        "Exit 0 = done, 1 = error or refused, 2 = usage.\n";

static int hd_replay_args(hd_replay_t *r, int argc, char **argv, const char **config)
{
        static const struct option opts[] = {
                {"config", 1, NULL, 'c'},      {"group", 1, NULL, 'g'},
                {"topic", 1, NULL, 't'},       {"partitions", 1, NULL, 'p'},
                {"to-datetime", 1, NULL, 'D'}, {"by-duration", 1, NULL, 'B'},
                {"to-offset", 1, NULL, 'O'},   {"shift-by", 1, NULL, 'S'},
                {"to-earliest", 0, NULL, 'E'}, {"to-latest", 0, NULL, 'L'},
                {"execute", 0, NULL, 'x'},     {"help", 0, NULL, 'h'},
                {NULL, 0, NULL, 0}};
        static const char modes[] = "DBOSEL";
        int c;

        while ((c = getopt_long(argc, argv, "c:g:t:p:h", opts, NULL)) != -1) {
                const char *m = strchr(modes, c);
                if (c && m) {
                        r->mode = (hd_rmode_t)(m - modes);
                        r->mode_arg = optarg;
                        r->nmodes++;
                        continue;
                }
                switch (c) {
                case 'c': *config = optarg; break;
                case 'g': r->group = optarg; break;
                case 't': r->topic = optarg; break;
                case 'p': r->plist = optarg; break;
                case 'x': r->execute = 1; break;
                case 'h': fputs(hd_usage, stdout); exit(0);
                default: return -1;
                }
        }
        if (optind < argc || !r->group || !r->topic || r->nmodes != 1) {
                fprintf(stderr, "herald replay: %s\n",
                        optind < argc ? "unexpected argument"
                        : !r->group   ? "--group is required"
                        : !r->topic   ? "--topic is required"
                                      : "give exactly one of --to-datetime, --by-duration, "
                                        "--to-offset, --shift-by, --to-earliest, --to-latest");
                return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        hd_replay_t r = {0};
        const char *config = NULL;
        char err[HD_ERRSTR_SIZE];
        int rc = 0;

        if (hd_replay_args(&r, argc, argv, &config)) {
                fputs(hd_usage, stderr);
                return 2;
        }
        if (hd_replay_mode_arg(&r, err, sizeof(err))) {
                fprintf(stderr, "herald replay: %s: %s\n", hd_rmode_opt[r.mode], err);
                return 2;
        }
        if (!(r.cfg = hd_config_load(config, err, sizeof(err)))) {
                fprintf(stderr, "herald replay: %s\n", err);
                return 2;
        }
        hd_log_set_level(r.cfg->log_level);
        if (hd_replay_run(&r, err, sizeof(err))) {
                fprintf(stderr, "herald replay: %s\n", err);
                rc = 1;
        }
        if (r.rk) {
                rd_kafka_consumer_close(r.rk);
                rd_kafka_destroy(r.rk);
        }
        free(r.parts);
        free(r.target);
        free(r.how);
        hd_config_destroy(r.cfg);
        hd_log_clear_secrets();
        return rc;
}
