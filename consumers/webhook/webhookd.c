/*
 * herald-webhookd: the webhook consumer group. The consumer runtime (hd_rt.h)
 * with the webhook channel (hd_wh_channel.h): joins webhook.group on the ordered
 * and unordered event topics once the subscriptions are loaded, and delivers each
 * record to every matching webhook subscription.
 * SIGTERM/SIGINT: stop taking records, let in-flight attempts finish within
 * webhook.revoke_timeout_ms, commit what is final, leave the group, exit 0.
 */
#include "hd_log.h"
#include "hd_rt.h"
#include "hd_wh_channel.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t hd_stop;

static void hd_on_signal(int sig)
{
        (void)sig;
        hd_stop = 1;
}

static int hd_usage(int ok)
{
        fputs("usage: herald webhookd [--config FILE]\n"
              "Delivers events to webhook subscriptions (consumer group webhook.group).\n",
              ok ? stdout : stderr);
        return ok ? 0 : 2;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"config", 1, NULL, 'c'}, {"help", 0, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        const char *config = NULL;
        char err[HD_ERRSTR_SIZE];
        hd_config_t *cfg;
        hd_wh_channel_t wc;
        hd_rt_conf_t rc;
        hd_rt_t *rt = NULL;
        int c, rc_exit = 0;

        while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
                if (c != 'c')
                        return hd_usage(c == 'h');
                config = optarg;
        }
        if (optind < argc)
                return hd_usage(0);
        if (!(cfg = hd_config_load(config, err, sizeof(err)))) {
                fprintf(stderr, "herald webhookd: %s\n", err);
                return 2;
        }
        hd_log_set_level(cfg->log_level);
        signal(SIGINT, hd_on_signal);
        signal(SIGTERM, hd_on_signal);
        signal(SIGPIPE, SIG_IGN);
        hd_wh_channel_rt_conf(cfg, &rc);
        if (hd_wh_channel_init(&wc, cfg, err, sizeof(err)) ||
            !(rt = hd_rt_new(cfg, &rc, &hd_wh_channel, &wc, err, sizeof(err)))) {
                fprintf(stderr, "herald webhookd: %s\n", err);
                rc_exit = 1;
        } else {
                /* The readiness line operators and tests wait for. */
                printf("herald-webhookd: consuming as group %s, metrics on "
                       "http://127.0.0.1:%d/metrics\n", rc.group, hd_rt_metrics_port(rt));
                fflush(stdout);
                hd_rt_run(rt, &hd_stop);
        }
        hd_rt_destroy(rt);
        hd_config_destroy(cfg);
        hd_log_clear_secrets();
        return rc_exit;
}
