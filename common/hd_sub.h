/*
 * hd_sub: the subscription model (DESIGN §9): who gets notified of which event
 * types, through which channel. A subscription is a JSON document stored in the
 * compacted subscriptions topic under its id; this module parses, validates,
 * normalises and masks it. Nothing invalid is ever written: every rule is checked
 * here, before `herald sub` produces.
 *
 * {
 *   "id": "sub_…",              generated when absent
 *   "version": 3,               managed: 1 on create, +1 per update
 *   "name": "Ops webhook",
 *   "channel": "webhook" | "email",
 *   "event_types": ["account.service.*", "invoice.posted"],
 *   "paused": false,
 *   "disabled": null | "reason", set by the consumer (e.g. 410 Gone)
 *   "webhook": { "url": "https://…", "secrets": ["whsec_…", …],   newest first
 *                "auth": {"type":"basic","username":…,"password":…} |
 *                        {"type":"bearer","token":…} |
 *                        {"type":"mtls","cert_file":…,"key_file":…},
 *                "parameters": {"name": "value with {{tokens}}"},
 *                "max_in_flight": 16, "rate_limit_per_second": 0 },
 *   "email":   { "profile": "billing", "to": ["{{account.billing_email}}"],
 *                "cc": [], "subject": "…", "text": "…", "html": "…" },
 *   "created_at": ms, "updated_at": ms
 * }
 */
#ifndef HD_SUB_H
#define HD_SUB_H

#include <jansson.h>
#include "hd_config.h"

#define HD_SUB_ID_MAX 64

/*
 * Validates sub against every rule and normalises it in place (defaults filled,
 * a webhook secret generated when none is given: *generated_secret then points
 * into sub). cfg supplies the SMTP profiles. Errors name the field:
 * "webhook.url: URL must start with https://",
 * "email.subject: token \"service.name\" is not offered by event type \"bill_run.completed\"".
 */
int hd_sub_validate(json_t *sub, const hd_config_t *cfg, const char **generated_secret,
                    char *errstr, size_t errstr_size);

/* 1 when the subscription wants events of this type (patterns, not paused/disabled). */
int hd_sub_matches(const json_t *sub, const char *type);

/* Deep copy with secrets, passwords and tokens replaced by "whsec_…abcd"-style masks. */
json_t *hd_sub_masked(const json_t *sub);

/* New random webhook secret: "whsec_" + base64(32 random bytes). Caller frees. */
char *hd_sub_new_secret(void);

/* Checks "whsec_<base64 of 24..64 bytes>". */
int hd_sub_check_secret(const char *secret, char *errstr, size_t errstr_size);

#endif
