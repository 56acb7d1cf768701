/*
 * Subscriptions end to end on the dev broker: herald sub CRUD, --if-version
 * conflicts (sequential and concurrent), nothing written when invalid, a running
 * cache seeing each change within 1 s, and a new cache rebuilding the same set.
 */
#include "hd_config.h"
#include "hd_subs.h"
#include "hd_test.h"
#include "hd_testenv.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static hd_testenv_t env;

static int sub_cli(const char *cmd, const char *id, const char *extra, const char *input,
                   char **out, char **err)
{
        char *argv[10];
        int n = 0;

        argv[n++] = "herald-sub";
        argv[n++] = "--config";
        argv[n++] = env.config_path;
        argv[n++] = (char *)cmd;
        if (id)
                argv[n++] = (char *)id;
        if (input) {
                argv[n++] = "--file";
                argv[n++] = "-";
        }
        if (extra) {
                argv[n++] = "--if-version";
                argv[n++] = (char *)extra;
        }
        argv[n] = NULL;
        n = hd_test_run(argv, input, out, err);
        if (n)
                fprintf(stderr, "herald sub %s: exit %d: %s\n", cmd, n, *err);
        return n;
}

static const char *hd_sub_json =
        "{\"id\":\"t-ops\",\"channel\":\"webhook\",\"event_types\":[\"account.service.*\"],"
        "\"webhook\":{\"url\":\"https://hooks.example.com/h\",\"parameters\":{\"s\":"
        "\"{{service.name}}\"}}}";

static json_int_t version_of(hd_subs_t *subs, const char *id)
{
        json_t *s = hd_subs_get(subs, id);
        json_int_t v = s ? json_integer_value(json_object_get(s, "version")) : 0;
        json_decref(s);
        return v;
}

/* Runs two updates from the same version at once: exactly one may win. */
static void test_concurrent_update(void)
{
        pid_t pids[2];
        int ok = 0, conflict = 0;

        for (int i = 0; i < 2; i++) {
                if ((pids[i] = fork()) == 0) {
                        char *out = NULL, *err = NULL;
                        int rc = sub_cli("update", "t-ops", "2", hd_sub_json, &out, &err);
                        if (rc == 1 && !strstr(err, "conflict"))
                                rc = 99;
                        _exit(rc);
                }
        }
        for (int i = 0; i < 2; i++) {
                int status = 0;
                waitpid(pids[i], &status, 0);
                ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
                conflict += WIFEXITED(status) && WEXITSTATUS(status) == 1;
        }
        HD_CHECK_INT_EQ(ok, 1);
        HD_CHECK_INT_EQ(conflict, 1);
}

static void test_crud(hd_subs_t *subs)
{
        char *out = NULL, *err = NULL;
        uint64_t gen = hd_subs_generation(subs);

        HD_CHECK_INT_EQ(sub_cli("create", NULL, NULL, hd_sub_json, &out, &err), 0);
        HD_CHECK_CONTAINS(out, "webhook secret (shown once, store it now): whsec_");
        HD_CHECK_MSG(hd_subs_wait_change(subs, gen, 1000) == 0, "cache missed the create");
        HD_CHECK_INT_EQ(version_of(subs, "t-ops"), 1);
        free(out), free(err);

        HD_CHECK_INT_EQ(sub_cli("create", NULL, NULL, hd_sub_json, &out, &err), 1);
        HD_CHECK_CONTAINS(err, "subscription t-ops exists (version 1)");
        free(out), free(err);

        HD_CHECK_INT_EQ(sub_cli("get", "t-ops", NULL, NULL, &out, &err), 0);
        HD_CHECK_CONTAINS(out, "\"whsec_…");
        free(out), free(err);

        gen = hd_subs_generation(subs);
        HD_CHECK_INT_EQ(sub_cli("update", "t-ops", "1", hd_sub_json, &out, &err), 0);
        HD_CHECK_MSG(hd_subs_wait_change(subs, gen, 1000) == 0, "cache missed the update");
        HD_CHECK_INT_EQ(version_of(subs, "t-ops"), 2);
        free(out), free(err);

        HD_CHECK_INT_EQ(sub_cli("update", "t-ops", "1", hd_sub_json, &out, &err), 1);
        HD_CHECK_CONTAINS(err, "conflict: t-ops is at version 2, not 1; nothing written");
        free(out), free(err);

        test_concurrent_update();
        HD_CHECK_INT_EQ(version_of(subs, "t-ops"), 3);

        gen = hd_subs_generation(subs);
        HD_CHECK_INT_EQ(sub_cli("pause", "t-ops", NULL, NULL, &out, &err), 0);
        HD_CHECK(hd_subs_wait_change(subs, gen, 1000) == 0);
        {
                json_t *s = hd_subs_get(subs, "t-ops");
                HD_CHECK(json_is_true(json_object_get(s, "paused")));
                json_decref(s);
        }
        free(out), free(err);
}

static void test_invalid_writes_nothing(hd_subs_t *subs)
{
        char *out = NULL, *err = NULL;
        uint64_t gen = hd_subs_generation(subs);

        HD_CHECK_INT_EQ(sub_cli("create", NULL, NULL,
                                "{\"channel\":\"webhook\",\"event_types\":[\"invoice.*\"],"
                                "\"webhook\":{\"url\":\"http://insecure.example.com/\"}}",
                                &out, &err), 2);
        HD_CHECK_CONTAINS(err, "webhook.url: URL must start with https://");
        free(out), free(err);
        HD_CHECK_INT_EQ(sub_cli("create", NULL, NULL,
                                "{\"channel\":\"email\",\"event_types\":[\"bill_run.*\"],"
                                "\"email\":{\"profile\":\"dev\",\"to\":[\"{{account.billing_email}}\"],"
                                "\"subject\":\"s\",\"text\":\"t\"}}",
                                &out, &err), 2);
        HD_CHECK_CONTAINS(err, "email.to[0]: token \"account.billing_email\" is not offered by "
                               "event type \"bill_run.completed\"");
        free(out), free(err);
        /* Nothing reached the topic: the cache saw no change in that time. */
        HD_CHECK(hd_subs_wait_change(subs, gen, 300) != 0);
}

static void test_delete_and_rebuild(hd_subs_t *subs, const hd_config_t *cfg)
{
        char *out = NULL, *err = NULL, errbuf[256];
        uint64_t gen;
        json_t *before, *after;
        hd_subs_t *fresh;

        HD_CHECK_INT_EQ(sub_cli("create", NULL, NULL,
                                "{\"id\":\"t-mail\",\"channel\":\"email\",\"event_types\":"
                                "[\"invoice.posted\"],\"email\":{\"profile\":\"dev\",\"to\":"
                                "[\"{{account.billing_email}}\"],\"subject\":\"Invoice "
                                "{{invoice.number}}\",\"text\":\"{{invoice.total}}\"}}",
                                &out, &err), 0);
        free(out), free(err);
        gen = hd_subs_generation(subs);
        HD_CHECK_INT_EQ(sub_cli("delete", "t-ops", NULL, NULL, &out, &err), 0);
        HD_CHECK_MSG(hd_subs_wait_change(subs, gen, 1000) == 0, "cache missed the delete");
        HD_CHECK(version_of(subs, "t-ops") == 0);
        free(out), free(err);
        HD_CHECK_INT_EQ(sub_cli("get", "t-ops", NULL, NULL, &out, &err), 1);
        HD_CHECK_CONTAINS(err, "no subscription t-ops");
        free(out), free(err);

        fresh = hd_subs_open(cfg, errbuf, sizeof(errbuf));
        HD_CHECK_MSG(fresh != NULL, "%s", errbuf);
        if (!fresh)
                return;
        before = hd_subs_snapshot(subs);
        after = hd_subs_snapshot(fresh);
        HD_CHECK(json_object_size(after) == 1);
        HD_CHECK_MSG(json_equal(before, after), "a restarted cache differs");
        json_decref(before);
        json_decref(after);
        hd_subs_close(fresh);
}

#define HD_S1 "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define HD_S2 "whsec_KCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkc="

/*
 * `get > s.json; update --file s.json` must keep the credentials `get` masked:
 * the bearer token as well as the secrets, and a rotation that prepends a new
 * secret to the masked list keeps the old one behind it.
 */
static void test_update_keeps_masked(hd_subs_t *subs)
{
        char *out = NULL, *err = NULL, *doc;
        json_t *s, *got;
        uint64_t gen;

        HD_CHECK_INT_EQ(sub_cli("create", NULL, NULL,
                                "{\"id\":\"t-auth\",\"channel\":\"webhook\",\"event_types\":"
                                "[\"invoice.posted\"],\"webhook\":{\"url\":"
                                "\"https://hooks.example.com/a\",\"secrets\":[\"" HD_S1 "\"],"
                                "\"auth\":{\"type\":\"bearer\",\"token\":\"tok-keep-me\"}}}",
                                &out, &err), 0);
        free(out), free(err);
        HD_CHECK_INT_EQ(sub_cli("get", "t-auth", NULL, NULL, &out, &err), 0);
        HD_CHECK(!strstr(out, "tok-keep-me"));
        doc = out;
        free(err);
        gen = hd_subs_generation(subs);
        HD_CHECK_INT_EQ(sub_cli("update", "t-auth", "1", doc, &out, &err), 0);
        HD_CHECK_MSG(hd_subs_wait_change(subs, gen, 1000) == 0, "cache missed the update");
        free(out), free(err);
        s = hd_subs_get(subs, "t-auth");
        HD_CHECK_STR_EQ(json_string_value(json_object_get(
                                json_object_get(json_object_get(s, "webhook"), "auth"), "token")) ?: "",
                        "tok-keep-me");
        HD_CHECK_STR_EQ(json_string_value(json_array_get(
                                json_object_get(json_object_get(s, "webhook"), "secrets"), 0)) ?: "",
                        HD_S1);
        json_decref(s);

        /* Rotation: the new secret first, the old one as `get` showed it. */
        got = json_loads(doc, 0, NULL);
        HD_CHECK(got != NULL);
        json_array_insert_new(json_object_get(json_object_get(got, "webhook"), "secrets"), 0,
                              json_string(HD_S2));
        free(doc);
        doc = json_dumps(got, JSON_COMPACT);
        json_decref(got);
        gen = hd_subs_generation(subs);
        HD_CHECK_INT_EQ(sub_cli("update", "t-auth", "2", doc, &out, &err), 0);
        HD_CHECK_MSG(hd_subs_wait_change(subs, gen, 1000) == 0, "cache missed the update");
        free(out), free(err), free(doc);
        s = hd_subs_get(subs, "t-auth");
        got = json_pack("[s,s]", HD_S2, HD_S1);
        HD_CHECK_MSG(json_equal(json_object_get(json_object_get(s, "webhook"), "secrets"), got),
                     "secrets after rotation are not [new, old]");
        HD_CHECK_STR_EQ(json_string_value(json_object_get(
                                json_object_get(json_object_get(s, "webhook"), "auth"), "token")) ?: "",
                        "tok-keep-me");
        json_decref(got);
        json_decref(s);
        HD_CHECK_INT_EQ(sub_cli("delete", "t-auth", NULL, NULL, &out, &err), 0);
        free(out), free(err);
}

int main(void)
{
        char err[256];
        hd_config_t *cfg;
        hd_subs_t *subs;

        if (hd_testenv_start(&env, HD_TESTENV_NO_REGISTRY)) {
                HD_CHECK(!"dev stack started");
                return hd_test_finish("test_subscriptions");
        }
        cfg = hd_config_load(env.config_path, err, sizeof(err));
        HD_CHECK_MSG(cfg != NULL, "%s", err);
        subs = cfg ? hd_subs_open(cfg, err, sizeof(err)) : NULL;
        HD_CHECK_MSG(subs != NULL, "%s", err);
        if (subs) {
                test_crud(subs);
                test_invalid_writes_nothing(subs);
                test_delete_and_rebuild(subs, cfg);
                test_update_keeps_masked(subs);
                hd_subs_close(subs);
        }
        hd_config_destroy(cfg);
        HD_CHECK_INT_EQ(hd_testenv_stop(&env), 0);
        hd_log_clear_secrets();
        return hd_test_finish("test_subscriptions");
}
