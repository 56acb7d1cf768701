/*
 * hd_wh_channel: the webhook channel of the consumer runtime (hd_rt.h): a
 * delivery is the signed JSON body of DESIGN §7 POSTed over HTTPS through the
 * SSRF guard; 2xx delivers, 410 disables the subscription, 5xx/429/408/network
 * retry (Retry-After honoured), other answers dead-letter. HTTP/1.1 attempts run
 * on one I/O thread (hd_wh_aio) unless webhook.async = false; worker threads make
 * the rest (hosts that chose HTTP/2) through hd_wh_http.
 */
#ifndef HD_WH_CHANNEL_H
#define HD_WH_CHANNEL_H

#include "hd_config.h"
#include "hd_rt.h"
#include "hd_ssrf.h"
#include "hd_wh_http.h"

typedef struct hd_wh_aio hd_wh_aio_t;

typedef struct hd_wh_channel {
        hd_cidr_t allow[64];
        size_t nallow;
        hd_wh_target_opts_t target;
        int async;                 /* webhook.async: HTTP/1.1 attempts on the I/O thread */
        int async_stopped;
        int workers;               /* webhook.workers: attempts in flight at once */
        hd_wh_aio_t *aio;          /* made at the first attempt */
        hd_rt_t *rt;
} hd_wh_channel_t;

extern const hd_channel_t hd_wh_channel;

/* The channel context from webhook.* (CA file, CONNECT_TO, allow-list). */
int hd_wh_channel_init(hd_wh_channel_t *wc, const hd_config_t *cfg, char *errstr,
                       size_t errstr_size);

/* The runtime settings of webhook.*. */
void hd_wh_channel_rt_conf(const hd_config_t *cfg, hd_rt_conf_t *rc);

#endif
