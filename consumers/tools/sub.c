/*
 * herald-sub: `herald sub create|update|delete|get|list|pause|resume`.
 * Subscriptions live in the compacted subscriptions topic keyed by id. Every write
 * is validated first (hd_sub_validate) and never written when invalid; after the
 * write is acknowledged, the command reads the topic up to its own record and
 * checks that its version won (see hd_subs.h), so a concurrent update is reported
 * as a conflict instead of being silently lost. Secrets are shown once, on create.
 */
#include "hd_config.h"
#include "hd_id.h"
#include "hd_kafka.h"
#include "hd_log.h"
#include "hd_sub.h"
#include "hd_subs.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hd_subcli {
        hd_config_t *cfg;
        hd_subs_t *subs;
        const char *file;
        long if_version; /* -1 = none */
        int json;
} hd_subcli_t;

typedef struct hd_ack {
        int done;
        rd_kafka_resp_err_t err;
        int32_t partition;
        int64_t offset;
} hd_ack_t;

static void hd_sub_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        hd_ack_t *a = m->_private;

        (void)rk, (void)opaque;
        a->err = m->err;
        a->partition = m->partition;
        a->offset = m->offset;
        a->done = 1;
}

/* Produces key=id value=sub (NULL = tombstone) and waits for the acknowledgement. */
static int hd_sub_write(hd_subcli_t *C, const char *id, const json_t *sub, hd_ack_t *ack,
                        char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = hd_kafka_conf_new(C->cfg, errstr, errstr_size);
        char *text = sub ? json_dumps(sub, JSON_COMPACT) : NULL, err[512];
        rd_kafka_resp_err_t e;
        rd_kafka_t *rk;

        if (!conf || hd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr, errstr_size)) {
                if (conf)
                        rd_kafka_conf_destroy(conf);
                free(text);
                return -1;
        }
        rd_kafka_conf_set_dr_msg_cb(conf, hd_sub_dr);
        if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
                rd_kafka_conf_destroy(conf);
                free(text);
                return hd_seterr(errstr, errstr_size, "kafka producer: %s", err);
        }
        e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(C->cfg->topics.subscriptions),
                              RD_KAFKA_V_KEY(id, strlen(id)),
                              RD_KAFKA_V_VALUE(text, text ? strlen(text) : 0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(ack),
                              RD_KAFKA_V_END);
        if (!e)
                rd_kafka_flush(rk, 30000);
        if (!e && !ack->done) {
                rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_flush(rk, 5000);
                e = RD_KAFKA_RESP_ERR__TIMED_OUT;
        }
        rd_kafka_destroy(rk);
        free(text);
        if (e || ack->err)
                return hd_seterr(errstr, errstr_size, "writing to %s: %s",
                                 C->cfg->topics.subscriptions, rd_kafka_err2str(e ? e : ack->err));
        return 0;
}

static json_t *hd_sub_read_file(const char *file, char *errstr, size_t errstr_size)
{
        json_error_t jerr;
        json_t *j = !strcmp(file, "-") ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
                                       : json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);

        if (!j)
                hd_seterr(errstr, errstr_size, "%s:%d:%d: %s", file, jerr.line, jerr.column,
                          jerr.text);
        return j;
}

static void hd_sub_print(const json_t *sub)
{
        json_t *m = hd_sub_masked(sub);
        char *s = json_dumps(m, JSON_INDENT(2));

        puts(s);
        free(s);
        json_decref(m);
}

/* Writes sub as the next version and checks that this write is what readers see. */
static int hd_sub_commit(hd_subcli_t *C, json_t *sub, char *errstr, size_t errstr_size)
{
        const char *id = json_string_value(json_object_get(sub, "id"));
        char rev[HD_UUID_STRLEN + 1];
        hd_ack_t ack = {0};
        json_t *now;
        int won;

        hd_uuid7(rev);
        json_object_set_new(sub, "revision_id", json_string(rev));
        json_object_set_new(sub, "updated_at", json_integer(hd_now_ms()));
        if (hd_sub_write(C, id, sub, &ack, errstr, errstr_size))
                return -1;
        if (hd_subs_wait_offset(C->subs, ack.partition, ack.offset, 30000))
                return hd_seterr(errstr, errstr_size,
                                 "written, but not read back within 30 s; check with "
                                 "herald sub get %s", id);
        now = hd_subs_get(C->subs, id);
        won = now && !strcmp(json_string_value(json_object_get(now, "revision_id")) ?: "", rev);
        if (!won)
                hd_seterr(errstr, errstr_size,
                          "conflict: another update of %s won (now version %lld); yours "
                          "was not applied",
                          id, (long long)json_integer_value(json_object_get(now, "version")));
        json_decref(now);
        return won ? 0 : -1;
}

static int hd_sub_check_version(hd_subcli_t *C, const json_t *cur, char *errstr,
                                size_t errstr_size)
{
        json_int_t v = json_integer_value(json_object_get(cur, "version"));

        if (C->if_version >= 0 && v != C->if_version)
                return hd_seterr(errstr, errstr_size,
                                 "conflict: %s is at version %lld, not %ld; nothing written",
                                 json_string_value(json_object_get(cur, "id")), (long long)v,
                                 C->if_version);
        return 0;
}

static int hd_cmd_create(hd_subcli_t *C, char *errstr, size_t errstr_size)
{
        json_t *sub = hd_sub_read_file(C->file, errstr, errstr_size), *cur;
        const char *secret = NULL, *id;
        char *shown = NULL;
        int r;

        if (!sub)
                return 2;
        if ((id = json_string_value(json_object_get(sub, "id"))) &&
            (cur = hd_subs_get(C->subs, id))) {
                hd_seterr(errstr, errstr_size, "subscription %s exists (version %lld); use "
                          "herald sub update", id,
                          (long long)json_integer_value(json_object_get(cur, "version")));
                json_decref(cur);
                json_decref(sub);
                return 1;
        }
        json_object_set_new(sub, "version", json_integer(1));
        json_object_set_new(sub, "created_at", json_integer(hd_now_ms()));
        if (hd_sub_validate(sub, C->cfg, &secret, errstr, errstr_size)) {
                json_decref(sub);
                return 2;
        }
        shown = secret ? hd_strdup(secret) : NULL;
        r = hd_sub_commit(C, sub, errstr, errstr_size);
        if (!r) {
                hd_sub_print(sub);
                if (shown)
                        printf("webhook secret (shown once, store it now): %s\n", shown);
        }
        free(shown);
        json_decref(sub);
        return r ? 1 : 0;
}

/*
 * An update may carry the masked values `get` printed: they mean "keep the current
 * one". Secrets are matched one by one (a rotation prepends a new secret to the
 * masked list, whose full values the operator saw only once), and a "****"
 * password or token keeps the current one when the auth type is unchanged;
 * otherwise the mask itself would be written as the credential.
 */
static void hd_sub_keep_secrets(json_t *doc, const json_t *cur)
{
        static const char *const cred_keys[] = {"password", "token"};
        json_t *wh = json_object_get(doc, "webhook"), *cwh = json_object_get(cur, "webhook");
        json_t *masked, *msecrets, *theirs, *mine = json_object_get(wh, "secrets");
        json_t *auth, *cauth, *v;
        size_t i;

        if (!json_is_object(wh) || !json_is_object(cwh))
                return;
        theirs = json_object_get(cwh, "secrets");
        masked = hd_sub_masked(cur);
        msecrets = json_object_get(json_object_get(masked, "webhook"), "secrets");
        if (!mine) {
                if (theirs)
                        json_object_set(wh, "secrets", theirs);
        } else if (json_is_array(mine) && json_is_array(theirs) && json_is_array(msecrets)) {
                json_array_foreach(mine, i, v) {
                        for (size_t k = 0; k < json_array_size(msecrets); k++) {
                                json_t *real = json_array_get(theirs, k), *w;
                                size_t j;
                                int used = 0;
                                if (!json_equal(v, json_array_get(msecrets, k)))
                                        continue;
                                /* Two secrets may share a mask: take each once. */
                                json_array_foreach(mine, j, w)
                                        used |= json_equal(w, real);
                                if (used)
                                        continue;
                                json_array_set(mine, i, real);
                                break;
                        }
                }
        }
        json_decref(masked);
        auth = json_object_get(wh, "auth");
        cauth = json_object_get(cwh, "auth");
        if (!json_is_object(auth) || !json_is_object(cauth) ||
            !json_equal(json_object_get(auth, "type"), json_object_get(cauth, "type")))
                return;
        for (i = 0; i < HD_ARRAY_SIZE(cred_keys); i++) {
                v = json_object_get(auth, cred_keys[i]);
                if (json_is_string(v) && !strcmp(json_string_value(v), "****") &&
                    json_object_get(cauth, cred_keys[i]))
                        json_object_set(auth, cred_keys[i], json_object_get(cauth, cred_keys[i]));
        }
}

static int hd_cmd_update(hd_subcli_t *C, const char *id, json_t *doc, char *errstr,
                         size_t errstr_size)
{
        json_t *cur = hd_subs_get(C->subs, id);
        const char *doc_id = json_string_value(json_object_get(doc, "id"));
        int r = 1;

        if (!cur) {
                hd_seterr(errstr, errstr_size, "no subscription %s", id);
                goto out;
        }
        if (hd_sub_check_version(C, cur, errstr, errstr_size))
                goto out;
        if (doc_id && strcmp(doc_id, id)) {
                hd_seterr(errstr, errstr_size, "the file's id %s is not %s", doc_id, id);
                r = 2;
                goto out;
        }
        json_object_set_new(doc, "id", json_string(id));
        json_object_set_new(doc, "version",
                            json_integer(json_integer_value(json_object_get(cur, "version")) + 1));
        json_object_set(doc, "created_at", json_object_get(cur, "created_at"));
        hd_sub_keep_secrets(doc, cur);
        if (hd_sub_validate(doc, C->cfg, NULL, errstr, errstr_size)) {
                r = 2;
                goto out;
        }
        r = hd_sub_commit(C, doc, errstr, errstr_size) ? 1 : 0;
        if (!r)
                hd_sub_print(doc);
out:
        json_decref(cur);
        return r;
}

static int hd_cmd_update_file(hd_subcli_t *C, const char *id, char *errstr, size_t errstr_size)
{
        json_t *doc = hd_sub_read_file(C->file, errstr, errstr_size);
        int r;

        if (!doc)
                return 2;
        r = hd_cmd_update(C, id, doc, errstr, errstr_size);
        json_decref(doc);
        return r;
}

static int hd_cmd_pause(hd_subcli_t *C, const char *id, int paused, char *errstr,
                        size_t errstr_size)
{
        json_t *cur = hd_subs_get(C->subs, id), *doc;
        int r;

        if (!cur) {
                hd_seterr(errstr, errstr_size, "no subscription %s", id);
                return 1;
        }
        doc = json_deep_copy(cur);
        json_object_set_new(doc, "paused", json_boolean(paused));
        r = hd_cmd_update(C, id, doc, errstr, errstr_size);
        json_decref(doc);
        json_decref(cur);
        return r;
}

static int hd_cmd_delete(hd_subcli_t *C, const char *id, char *errstr, size_t errstr_size)
{
        json_t *cur = hd_subs_get(C->subs, id), *now;
        hd_ack_t ack = {0};

        if (!cur)
                return hd_seterr(errstr, errstr_size, "no subscription %s", id), 1;
        if (hd_sub_check_version(C, cur, errstr, errstr_size) ||
            hd_sub_write(C, id, NULL, &ack, errstr, errstr_size)) {
                json_decref(cur);
                return 1;
        }
        json_decref(cur);
        if (hd_subs_wait_offset(C->subs, ack.partition, ack.offset, 30000))
                return hd_seterr(errstr, errstr_size, "deleted, but not read back in 30 s"), 1;
        if ((now = hd_subs_get(C->subs, id))) {
                json_decref(now);
                return hd_seterr(errstr, errstr_size, "%s was re-created concurrently", id), 1;
        }
        printf("deleted %s\n", id);
        return 0;
}

static int hd_cmd_get(hd_subcli_t *C, const char *id, char *errstr, size_t errstr_size)
{
        json_t *cur = hd_subs_get(C->subs, id);

        if (!cur)
                return hd_seterr(errstr, errstr_size, "no subscription %s", id), 1;
        hd_sub_print(cur);
        json_decref(cur);
        return 0;
}

static const char *hd_sub_target(const json_t *sub, char *buf, size_t size)
{
        const json_t *wh = json_object_get(sub, "webhook"), *em = json_object_get(sub, "email");

        if (wh)
                snprintf(buf, size, "%s", json_string_value(json_object_get(wh, "url")));
        else
                snprintf(buf, size, "%s -> %s", json_string_value(json_object_get(em, "profile")),
                         json_string_value(json_array_get(json_object_get(em, "to"), 0)));
        return buf;
}

static int hd_cmd_list(hd_subcli_t *C)
{
        json_t *all = hd_subs_snapshot(C->subs), *arr = json_array(), *sub;
        const char *id;
        char target[300];

        json_object_foreach(all, id, sub)
                json_array_append_new(arr, hd_sub_masked(sub));
        if (C->json) {
                char *s = json_dumps(arr, JSON_INDENT(2));
                puts(s);
                free(s);
        } else {
                size_t i;
                printf("%-42s %-8s %-4s %-9s %-40s %s\n", "ID", "CHANNEL", "VER", "STATE",
                       "EVENT TYPES", "TARGET");
                json_array_foreach(arr, i, sub) {
                        char *types = json_dumps(json_object_get(sub, "event_types"), JSON_COMPACT);
                        const char *state = json_is_string(json_object_get(sub, "disabled"))
                                                    ? "disabled"
                                            : json_is_true(json_object_get(sub, "paused"))
                                                    ? "paused"
                                                    : "active";
                        printf("%-42s %-8s %-4lld %-9s %-40s %s\n",
                               json_string_value(json_object_get(sub, "id")),
                               json_string_value(json_object_get(sub, "channel")),
                               (long long)json_integer_value(json_object_get(sub, "version")),
                               state, types, hd_sub_target(sub, target, sizeof(target)));
                        free(types);
                }
        }
        json_decref(arr);
        json_decref(all);
        return 0;
}

static const char hd_usage[] =
        "usage: herald sub [--config F] COMMAND\n"
        "  create --file F            create from a JSON file (- = stdin); prints it, and a\n"
        "                             generated webhook secret once\n"
        "  update ID --file F [--if-version N]\n"
        "                             replace (masked secrets from `get` mean: keep them)\n"
        "  delete ID [--if-version N]\n"
        "  get ID                     print (secrets masked)\n"
        "  list [--json]\n"
        "  pause ID | resume ID\n"
        "Exit 0 ok, 1 not found / conflict / write failed, 2 invalid input.\n";

static int hd_sub_dispatch(hd_subcli_t *C, const char *cmd, const char *id, char *errstr,
                           size_t errstr_size)
{
        int needs_id = strcmp(cmd, "create") && strcmp(cmd, "list");

        if (needs_id && !id)
                return hd_seterr(errstr, errstr_size, "%s needs a subscription id", cmd), 2;
        if ((!strcmp(cmd, "create") || !strcmp(cmd, "update")) && !C->file)
                return hd_seterr(errstr, errstr_size, "%s needs --file", cmd), 2;
        if (!strcmp(cmd, "create")) return hd_cmd_create(C, errstr, errstr_size);
        if (!strcmp(cmd, "update")) return hd_cmd_update_file(C, id, errstr, errstr_size);
        if (!strcmp(cmd, "delete")) return hd_cmd_delete(C, id, errstr, errstr_size);
        if (!strcmp(cmd, "get")) return hd_cmd_get(C, id, errstr, errstr_size);
        if (!strcmp(cmd, "list")) return hd_cmd_list(C);
        if (!strcmp(cmd, "pause")) return hd_cmd_pause(C, id, 1, errstr, errstr_size);
        if (!strcmp(cmd, "resume")) return hd_cmd_pause(C, id, 0, errstr, errstr_size);
        return hd_seterr(errstr, errstr_size, "unknown command \"%s\"", cmd), 2;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"config", 1, NULL, 'c'},     {"file", 1, NULL, 'f'}, {"if-version", 1, NULL, 'v'},
                {"json", 0, NULL, 'j'},       {"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0}};
        hd_subcli_t C = {.if_version = -1};
        const char *config = NULL, *cmd, *id;
        char err[HD_ERRSTR_SIZE] = "", *end;
        int c, rc;

        while ((c = getopt_long(argc, argv, "c:f:v:jh", opts, NULL)) != -1) {
                switch (c) {
                case 'c': config = optarg; break;
                case 'f': C.file = optarg; break;
                case 'v':
                        C.if_version = strtol(optarg, &end, 10);
                        if (*end || C.if_version < 1) {
                                fprintf(stderr, "herald sub: --if-version needs a version >= 1\n");
                                return 2;
                        }
                        break;
                case 'j': C.json = 1; break;
                case 'h': fputs(hd_usage, stdout); return 0;
                default: fputs(hd_usage, stderr); return 2;
                }
        }
        if (optind >= argc) {
                fputs(hd_usage, stderr);
                return 2;
        }
        cmd = argv[optind];
        id = optind + 1 < argc ? argv[optind + 1] : NULL;
        if (!(C.cfg = hd_config_load(config, err, sizeof(err)))) {
                fprintf(stderr, "herald sub: %s\n", err);
                return 2;
        }
        hd_log_set_level(C.cfg->log_level);
        if (!(C.subs = hd_subs_open(C.cfg, err, sizeof(err)))) {
                fprintf(stderr, "herald sub: %s\n", err);
                hd_config_destroy(C.cfg);
                return 1;
        }
        rc = hd_sub_dispatch(&C, cmd, id, err, sizeof(err));
        if (rc)
                fprintf(stderr, "herald sub: %s\n", err);
        hd_subs_close(C.subs);
        hd_config_destroy(C.cfg);
        hd_log_clear_secrets();
        return rc;
}
