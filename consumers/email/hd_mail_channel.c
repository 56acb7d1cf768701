/* hd_mail_channel: see hd_mail_channel.h. */
#include "hd_mail_channel.h"
#include "hd_log.h"
#include "hd_mail_msg.h"
#include "hd_util.h"

#include <stdio.h>
#include <string.h>

typedef struct hd_mail_job {
        const hd_smtp_profile_t *profile;
        hd_mail_msg_t *msg;
} hd_mail_job_t;

static const char *hd_mail_profile_name(const json_t *sub)
{
        return json_string_value(json_object_get(json_object_get(sub, "email"), "profile"));
}

/* More subscription versions than this and the cache starts over (deleted and
 * replaced subscriptions would otherwise stay in it for good). */
#define HD_MAIL_TPLC_MAX 1024

static void hd_mail_tplc_clear(hd_mail_channel_t *mc)
{
        for (size_t i = 0; i < mc->ntplc; i++) {
                json_decref(mc->tplc[i].sub);
                hd_mail_tpl_free(mc->tplc[i].tpl);
        }
        free(mc->tplc);
        mc->tplc = NULL;
        mc->ntplc = 0;
}

/* The compiled templates of this subscription version: compiled once, not per message.
 * A new version of a subscription replaces the entry of its id. */
static const hd_mail_tpl_t *hd_mail_tplc_get(hd_mail_channel_t *mc, const json_t *sub)
{
        const char *id = json_string_value(json_object_get(sub, "id")) ?: "";
        hd_mail_tplc_t *e = NULL;

        for (size_t i = 0; i < mc->ntplc; i++) {
                if (mc->tplc[i].sub == sub)
                        return mc->tplc[i].tpl;
                if (!e && !strcmp(json_string_value(json_object_get(mc->tplc[i].sub, "id")) ?: "",
                                  id))
                        e = &mc->tplc[i];
        }
        if (e) {
                json_decref(e->sub);
                hd_mail_tpl_free(e->tpl);
        } else {
                if (mc->ntplc >= HD_MAIL_TPLC_MAX)
                        hd_mail_tplc_clear(mc);
                mc->tplc = hd_realloc(mc->tplc, (mc->ntplc + 1) * sizeof(*mc->tplc));
                e = &mc->tplc[mc->ntplc++];
        }
        e->sub = json_incref((json_t *)sub);
        e->tpl = hd_mail_tpl_new(sub);
        return e->tpl;
}

static void *hd_mail_prepare(void *ctx, const json_t *event, const json_t *sub,
                             const char *msg_id, char *errstr, size_t errstr_size)
{
        hd_mail_channel_t *mc = ctx;
        const char *name = hd_mail_profile_name(sub);
        const hd_smtp_profile_t *p = name ? hd_config_smtp_profile(mc->cfg, name) : NULL;
        hd_mail_job_t *job;
        hd_mail_msg_t *m;

        (void)msg_id;
        if (!p) {
                hd_seterr(errstr, errstr_size, "email.profile: no SMTP profile \"%s\" in %s",
                          name ? name : "", mc->cfg->path);
                return NULL;
        }
        if (!(m = hd_mail_build_tpl(event, sub, hd_mail_tplc_get(mc, sub), p, hd_now_ms(),
                                    errstr, errstr_size)))
                return NULL;
        job = hd_calloc(1, sizeof(*job));
        job->profile = p;
        job->msg = m;
        return job;
}

static void hd_mail_payload_free(void *payload)
{
        hd_mail_job_t *job = payload;

        hd_mail_free(job->msg);
        free(job);
}

static void hd_mail_attempt(void *ctx, void **wstate, const json_t *sub, const char *msg_id,
                            void *payload, hd_rt_result_t *res)
{
        hd_mail_channel_t *mc = ctx;
        hd_mail_job_t *job = payload;
        hd_mail_result_t r;

        (void)wstate, (void)sub;
        memset(&r, 0, sizeof(r));
        res->outcome = hd_mail_smtp_send(mc->smtp, job->profile->name, job->msg, &r);
        res->status = r.smtp_code;
        hd_strlcpy(res->error, r.detail, sizeof(res->error));
        if (res->outcome == HD_OUTCOME_DEAD)
                snprintf(res->reason, sizeof(res->reason), r.smtp_code ? "smtp_%d" : "smtp_failed",
                         r.smtp_code);
        if (res->outcome == HD_OUTCOME_DELIVERED && r.nrefused)
                /* Partial: the accepted recipients have it; sending again would duplicate
                 * it for them, so the refused ones are reported, not retried. */
                hd_logkv(HD_LOG_WARN, "email", "some recipients refused", "msg_id", msg_id,
                         "message_id", job->msg->message_id, "refused", r.refused, NULL);
}

static void hd_mail_message_id_cb(const json_t *event, const json_t *sub, char *buf,
                                  size_t size)
{
        snprintf(buf, size, "mail_%s_%s", json_string_value(json_object_get(event, "id")) ?: "",
                 json_string_value(json_object_get(sub, "id")) ?: "");
}

/* A subscription naming a profile this config does not have cannot send anything:
 * refuse to start rather than dead-letter every one of its e-mails. */
static int hd_mail_check(void *ctx, const json_t *subs, char *errstr, size_t errstr_size)
{
        hd_mail_channel_t *mc = ctx;
        const char *id;
        json_t *sub;

        json_object_foreach((json_t *)subs, id, sub) {
                const char *name;
                if (strcmp(json_string_value(json_object_get(sub, "channel")) ?: "", "email"))
                        continue;
                name = hd_mail_profile_name(sub);
                if (!name || !hd_config_smtp_profile(mc->cfg, name))
                        return hd_seterr(errstr, errstr_size,
                                         "subscription %s: email.profile \"%s\" is not in %s "
                                         "(email.profiles)", id, name ? name : "",
                                         mc->cfg->path);
        }
        return 0;
}

const hd_channel_t hd_mail_channel = {
        .name = "email",
        .prepare = hd_mail_prepare,
        .payload_free = hd_mail_payload_free,
        .attempt = hd_mail_attempt,
        .message_id = hd_mail_message_id_cb,
        .check = hd_mail_check,
};

int hd_mail_channel_init(hd_mail_channel_t *mc, const hd_config_t *cfg, char *errstr,
                         size_t errstr_size)
{
        hd_mail_smtp_opts_t opts = {cfg->email.ca_file, 10000, 60000};

        memset(mc, 0, sizeof(*mc));
        mc->cfg = cfg;
        mc->smtp = hd_mail_smtp_new(cfg->email.profiles, cfg->email.nprofiles, &opts, errstr,
                                    errstr_size);
        return mc->smtp ? 0 : -1;
}

void hd_mail_channel_fini(hd_mail_channel_t *mc)
{
        if (mc->smtp)
                hd_mail_smtp_destroy(mc->smtp);
        mc->smtp = NULL;
        hd_mail_tplc_clear(mc);
}

void hd_mail_channel_rt_conf(const hd_config_t *c, hd_rt_conf_t *rc)
{
        int conns = 0;

        *rc = (hd_rt_conf_t){c->email.group,          c->email.workers,
                             c->email.max_in_flight,  c->email.window,
                             c->email.retry_schedule, c->email.commit_interval_ms,
                             c->email.revoke_timeout_ms, c->email.metrics_listen};
        /* A worker sends on one pooled connection at a time: workers beyond all the
         * profiles' connections could only wait for one, and each such hand-over
         * costs two thread switches per message (measured: tests/bench/mail.sh). */
        for (size_t i = 0; i < c->email.nprofiles; i++)
                conns += c->email.profiles[i].max_connections; /* >= 1, default 4 */
        if (conns > 0 && rc->workers > conns)
                rc->workers = conns;
}
