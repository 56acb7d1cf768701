/*
 * hd_mail_channel: the e-mail channel of the consumer runtime (hd_rt.h): a
 * delivery is one message built from the subscription's templates (hd_mail_msg)
 * and sent through the subscription's SMTP profile (hd_mail_smtp, connections
 * pooled per profile). 4xx, network errors and timeouts retry on email's
 * schedule; 5xx and messages that cannot be built (header injection, a
 * recipient that is not one address) dead-letter with the reason.
 */
#ifndef HD_MAIL_CHANNEL_H
#define HD_MAIL_CHANNEL_H

#include "hd_config.h"
#include "hd_mail_msg.h"
#include "hd_mail_smtp.h"
#include "hd_rt.h"

/* A subscription version's compiled templates (the sub is held: its address is the key). */
typedef struct hd_mail_tplc {
        json_t *sub;
        hd_mail_tpl_t *tpl;
} hd_mail_tplc_t;

typedef struct hd_mail_channel {
        const hd_config_t *cfg;
        hd_mail_smtp_t *smtp;
        hd_mail_tplc_t *tplc;  /* used by prepare only, on the loop thread */
        size_t ntplc;
} hd_mail_channel_t;

extern const hd_channel_t hd_mail_channel;

int hd_mail_channel_init(hd_mail_channel_t *mc, const hd_config_t *cfg, char *errstr,
                         size_t errstr_size);
void hd_mail_channel_fini(hd_mail_channel_t *mc);

/* The runtime settings of email.*. */
void hd_mail_channel_rt_conf(const hd_config_t *cfg, hd_rt_conf_t *rc);

#endif
