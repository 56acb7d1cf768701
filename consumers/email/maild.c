/*
 * herald-maild: the e-mail consumer group. The consumer runtime (hd_rt.h) with
 * the e-mail channel (hd_mail_channel.h): joins email.group on the ordered and
 * unordered event topics once the subscriptions are loaded, and sends each
 * record's e-mail for every matching e-mail subscription through its SMTP profile.
 * SIGTERM/SIGINT: stop taking records, let in-flight sends finish within
 * email.revoke_timeout_ms, commit what is final, leave the group, exit 0.
 */
#include "hd_mail_channel.h"
#include "hd_rt_daemon.h"
#include "hd_util.h"

static int hd_maild_init(void *ctx, const hd_config_t *cfg, char *errstr, size_t errstr_size)
{
        if (!cfg->email.nprofiles)
                return hd_seterr(errstr, errstr_size,
                                 "%s: email.profiles: no SMTP profile configured", cfg->path);
        return hd_mail_channel_init(ctx, cfg, errstr, errstr_size);
}

static void hd_maild_fini(void *ctx)
{
        hd_mail_channel_fini(ctx);
}

int main(int argc, char **argv)
{
        hd_mail_channel_t mc;
        const hd_rt_daemon_t d = {
                .name = "maild",
                .usage = "Sends e-mail for e-mail subscriptions through the SMTP profiles of "
                         "the config\n(consumer group email.group).\n",
                .channel = &hd_mail_channel,
                .ctx = &mc,
                .init = hd_maild_init,
                .fini = hd_maild_fini,
                .rt_conf = hd_mail_channel_rt_conf,
        };

        return hd_rt_daemon_main(argc, argv, &d);
}
