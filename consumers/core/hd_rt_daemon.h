/*
 * hd_rt_daemon: the main() both delivery daemons share: options, config, signals,
 * the channel's context, the runtime, the readiness line, the clean stop. A
 * daemon only describes its channel.
 */
#ifndef HD_RT_DAEMON_H
#define HD_RT_DAEMON_H

#include "hd_rt.h"

typedef struct hd_rt_daemon {
        const char *name;            /* "webhookd": herald-NAME, messages */
        const char *usage;           /* the --help text after the usage line */
        const hd_channel_t *channel;
        void *ctx;                   /* the channel's context, filled by init */
        /* Channel context from the config; -1 with the reason (exit 1). */
        int (*init)(void *ctx, const hd_config_t *cfg, char *errstr, size_t errstr_size);
        void (*fini)(void *ctx);     /* after the runtime is gone; may be NULL */
        void (*rt_conf)(const hd_config_t *cfg, hd_rt_conf_t *rc);
} hd_rt_daemon_t;

/* Exit status: 0 after a clean stop, 1 when set-up failed, 2 for usage/config. */
int hd_rt_daemon_main(int argc, char **argv, const hd_rt_daemon_t *d);

#endif
