/*
 * hd_wh_body: what a webhook delivery sends (DESIGN §7): the JSON body
 * {"id","type","timestamp","account_id","data","parameters"} with the
 * subscription's parameters rendered from the event's tokens, and the Standard
 * Webhooks headers. webhook-id is derived from the event id and the subscription
 * id, so it is stable across retries and replays and distinct per subscription;
 * webhook-timestamp is fresh per attempt.
 */
#ifndef HD_WH_BODY_H
#define HD_WH_BODY_H

#include "hd_webhook_sig.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define HD_WH_MAX_PARAM 4096 /* rendered bytes per parameter */

/* The body (malloc'd, compact JSON) for event under sub; NULL with the reason
 * (e.g. a parameter naming a token this event cannot fill). */
char *hd_wh_body(const json_t *event, const json_t *sub, char *errstr, size_t errstr_size);

/* "msg_<event id>_<subscription id>" into out. */
void hd_wh_message_id(const json_t *event, const json_t *sub, char *out, size_t size);

/* The three signature header lines ("webhook-id: …") for body (len bytes) at
 * now_s, signed with the key schedules cached in keys (one per thread). */
int hd_wh_headers(hd_webhook_keys_t *keys, const json_t *sub, const char *msg_id,
                  int64_t now_s, const char *body, size_t len, char headers[3][1024],
                  char *errstr, size_t errstr_size);

#endif
