/*
 * hd_webhook_sig: Standard Webhooks signatures (standardwebhooks.com), the scheme
 * Svix and others use, so their official verification libraries accept herald's.
 * signature = base64(HMAC-SHA256(key, id "." timestamp "." body)), key = the
 * base64-decoded secret after "whsec_"; the header carries "v1,<sig>" once per
 * active secret, space-separated, so receivers keep working during rotation.
 */
#ifndef HD_WEBHOOK_SIG_H
#define HD_WEBHOOK_SIG_H

#include <stddef.h>
#include <stdint.h>

#define HD_SIG_TOLERANCE_S 300 /* receivers refuse timestamps further than this */

/* "v1,<sig> v1,<sig2>…" for each secret into out. 0 or -1 (bad secret). */
int hd_webhook_sign(const char *const *secrets, size_t nsecrets, const char *msg_id,
                    int64_t timestamp, const void *body, size_t len, char *out,
                    size_t outsize, char *errstr, size_t errstr_size);

/*
 * A signer's key cache: the HMAC key schedule of each secret done once and reused
 * for every message (a sender signs thousands of messages with the same few
 * secrets). Not thread-safe: one per thread. Holds copies of the secrets, wiped on
 * free; at most HD_SIG_KEYS_MAX keys are kept (the oldest is replaced).
 */
#define HD_SIG_KEYS_MAX 16
typedef struct hd_webhook_keys hd_webhook_keys_t;

hd_webhook_keys_t *hd_webhook_keys_new(void);
void hd_webhook_keys_free(hd_webhook_keys_t *keys);

/* hd_webhook_sign with the key schedules taken from (and added to) keys. */
int hd_webhook_sign_keys(hd_webhook_keys_t *keys, const char *const *secrets, size_t nsecrets, const char *msg_id,
                    int64_t timestamp, const void *body, size_t len, char *out,
                    size_t outsize, char *errstr, size_t errstr_size);

/*
 * Verifies the three headers and the body against any of the secrets: the
 * timestamp must be within tolerance_s of now, and one "v1," signature must match
 * (compared in constant time). 0, or -1 with the reason.
 */
int hd_webhook_verify(const char *const *secrets, size_t nsecrets, const char *msg_id,
                      const char *timestamp, const char *signature, const void *body,
                      size_t len, int64_t now, int tolerance_s, char *errstr,
                      size_t errstr_size);

#endif
