/*
 * herald-maild: the e-mail consumer group. The consumer runtime (hd_rt.h) with
 * the e-mail channel (hd_mail_channel.h): joins email.group on the ordered and
 * unordered event topics once the subscriptions are loaded, and sends each
 * record's e-mail for every matching e-mail subscription through its SMTP profile.
 * SIGTERM/SIGINT: stop taking records, let in-flight sends finish within
 * email.revoke_timeout_ms, commit what is final, leave the group, exit 0.
 */
#include "hd_log.h"
#include "hd_mail_channel.h"
#include "hd_rt.h"

#include <curl/curl.h>
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
        fputs("usage: herald maild [--config FILE]\n"
              "Sends e-mail for e-mail subscriptions through the SMTP profiles of the config\n"
              "(consumer group email.group).\n",
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
        hd_mail_channel_t mc = {0};
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
                fprintf(stderr, "herald maild: %s\n", err);
                return 2;
        }
        hd_log_set_level(cfg->log_level);
        signal(SIGINT, hd_on_signal);
        signal(SIGTERM, hd_on_signal);
        signal(SIGPIPE, SIG_IGN);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        hd_mail_channel_rt_conf(cfg, &rc);
        if (!cfg->email.nprofiles) {
                fprintf(stderr, "herald maild: %s: email.profiles: no SMTP profile configured\n",
                        cfg->path);
                rc_exit = 2;
        } else if (hd_mail_channel_init(&mc, cfg, err, sizeof(err)) ||
                   !(rt = hd_rt_new(cfg, &rc, &hd_mail_channel, &mc, err, sizeof(err)))) {
                fprintf(stderr, "herald maild: %s\n", err);
                rc_exit = 1;
        } else {
                /* The readiness line operators and tests wait for. */
                printf("herald-maild: consuming as group %s, metrics on "
                       "http://127.0.0.1:%d/metrics\n", rc.group, hd_rt_metrics_port(rt));
                fflush(stdout);
                hd_rt_run(rt, &hd_stop);
        }
        hd_rt_destroy(rt); /* workers stopped: no send is running any more */
        hd_mail_channel_fini(&mc);
        hd_config_destroy(cfg);
        curl_global_cleanup();
        hd_log_clear_secrets();
        return rc_exit;
}
