/* hd_rt_daemon: see hd_rt_daemon.h. */
#include "hd_rt_daemon.h"
#include "hd_log.h"

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

static int hd_rt_usage(const hd_rt_daemon_t *d, int ok)
{
        fprintf(ok ? stdout : stderr, "usage: herald %s [--config FILE]\n%s", d->name, d->usage);
        return ok ? 0 : 2;
}

int hd_rt_daemon_main(int argc, char **argv, const hd_rt_daemon_t *d)
{
        static const struct option opts[] = {{"config", 1, NULL, 'c'}, {"help", 0, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        const char *config = NULL;
        char err[HD_ERRSTR_SIZE];
        hd_config_t *cfg;
        hd_rt_conf_t rc;
        hd_rt_t *rt = NULL;
        int c, status = 0, inited = 0;

        while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
                if (c != 'c')
                        return hd_rt_usage(d, c == 'h');
                config = optarg;
        }
        if (optind < argc)
                return hd_rt_usage(d, 0);
        if (!(cfg = hd_config_load(config, err, sizeof(err)))) {
                fprintf(stderr, "herald %s: %s\n", d->name, err);
                return 2;
        }
        hd_log_set_level(cfg->log_level);
        signal(SIGINT, hd_on_signal);
        signal(SIGTERM, hd_on_signal);
        signal(SIGPIPE, SIG_IGN);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        d->rt_conf(cfg, &rc);
        if (!(inited = d->init(d->ctx, cfg, err, sizeof(err)) == 0) ||
            !(rt = hd_rt_new(cfg, &rc, d->channel, d->ctx, err, sizeof(err)))) {
                fprintf(stderr, "herald %s: %s\n", d->name, err);
                status = 1;
        } else {
                /* The readiness line operators and tests wait for. */
                printf("herald-%s: consuming as group %s, metrics on "
                       "http://127.0.0.1:%d/metrics\n", d->name, rc.group,
                       hd_rt_metrics_port(rt));
                fflush(stdout);
                hd_rt_run(rt, &hd_stop);
        }
        hd_rt_destroy(rt); /* workers stopped: nothing of the channel runs any more */
        if (inited && d->fini)
                d->fini(d->ctx);
        hd_config_destroy(cfg);
        curl_global_cleanup();
        hd_log_clear_secrets();
        return status;
}
