/*
 * herald-webhookd: the webhook consumer group. The consumer runtime (hd_rt.h)
 * with the webhook channel (hd_wh_channel.h): joins webhook.group on the ordered
 * and unordered event topics once the subscriptions are loaded, and delivers each
 * record to every matching webhook subscription.
 * SIGTERM/SIGINT: stop taking records, let in-flight attempts finish within
 * webhook.revoke_timeout_ms, commit what is final, leave the group, exit 0.
 */
#include "hd_rt_daemon.h"
#include "hd_wh_channel.h"

static int hd_whd_init(void *ctx, const hd_config_t *cfg, char *errstr, size_t errstr_size)
{
        return hd_wh_channel_init(ctx, cfg, errstr, errstr_size);
}

int main(int argc, char **argv)
{
        hd_wh_channel_t wc;
        const hd_rt_daemon_t d = {
                .name = "webhookd",
                .usage = "Delivers events to webhook subscriptions (consumer group "
                         "webhook.group).\n",
                .channel = &hd_wh_channel,
                .ctx = &wc,
                .init = hd_whd_init,
                .rt_conf = hd_wh_channel_rt_conf,
        };

        return hd_rt_daemon_main(argc, argv, &d);
}
