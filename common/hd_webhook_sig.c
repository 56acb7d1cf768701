/* hd_webhook_sig: see hd_webhook_sig.h. */
#include "hd_webhook_sig.h"
#include "hd_util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The HMAC key of a "whsec_<base64>" secret (a bare base64 secret is accepted too). */
static int hd_sig_key(const char *secret, unsigned char *key, size_t *keylen, char *errstr,
                      size_t errstr_size)
{
        const char *b64 = !strncmp(secret, "whsec_", 6) ? secret + 6 : secret;
        size_t n = strlen(b64);
        int len;

        if (n == 0 || n % 4 || n > 256)
                return hd_seterr(errstr, errstr_size, "webhook secret is not base64");
        len = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)n);
        if (len < 0)
                return hd_seterr(errstr, errstr_size, "webhook secret is not base64");
        len -= (b64[n - 1] == '=') + (b64[n - 2] == '=');
        *keylen = (size_t)len;
        return 0;
}

/* One secret's HMAC context, keyed once: EVP_MAC_init with a NULL key restarts it
 * from the saved inner and outer states without running the key schedule again. */
typedef struct hd_sig_key {
        char *secret;
        EVP_MAC_CTX *ctx;
} hd_sig_key_t;

struct hd_webhook_keys {
        EVP_MAC *hmac;
        hd_sig_key_t key[HD_SIG_KEYS_MAX];
        size_t n, next; /* next: the slot replaced when all are taken */
};

hd_webhook_keys_t *hd_webhook_keys_new(void)
{
        return hd_calloc(1, sizeof(hd_webhook_keys_t));
}

static void hd_sig_key_clear(hd_sig_key_t *k)
{
        EVP_MAC_CTX_free(k->ctx);
        if (k->secret) {
                OPENSSL_cleanse(k->secret, strlen(k->secret));
                free(k->secret);
        }
        k->secret = NULL;
        k->ctx = NULL;
}

void hd_webhook_keys_free(hd_webhook_keys_t *keys)
{
        if (!keys)
                return;
        for (size_t i = 0; i < keys->n; i++)
                hd_sig_key_clear(&keys->key[i]);
        EVP_MAC_free(keys->hmac);
        free(keys);
}

/* The keyed context of secret, from the cache or made now; NULL with the reason. */
static EVP_MAC_CTX *hd_sig_ctx(hd_webhook_keys_t *keys, const char *secret, char *errstr,
                               size_t errstr_size)
{
        unsigned char raw[200];
        size_t rawlen = 0, slot;
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                               OSSL_PARAM_construct_end()};
        EVP_MAC_CTX *ctx;
        int ok;

        for (size_t i = 0; i < keys->n; i++)
                if (!strcmp(keys->key[i].secret, secret))
                        return keys->key[i].ctx;
        if (hd_sig_key(secret, raw, &rawlen, errstr, errstr_size))
                return NULL;
        if (!keys->hmac && !(keys->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
                return hd_seterr(errstr, errstr_size, "HMAC-SHA256 unavailable"), NULL;
        ok = (ctx = EVP_MAC_CTX_new(keys->hmac)) && EVP_MAC_init(ctx, raw, rawlen, params);
        OPENSSL_cleanse(raw, sizeof(raw));
        if (!ok) {
                EVP_MAC_CTX_free(ctx);
                return hd_seterr(errstr, errstr_size, "HMAC-SHA256 failed"), NULL;
        }
        if (keys->n < HD_SIG_KEYS_MAX) {
                slot = keys->n++;
        } else {
                slot = keys->next;
                keys->next = (keys->next + 1) % HD_SIG_KEYS_MAX;
                hd_sig_key_clear(&keys->key[slot]);
        }
        keys->key[slot].secret = hd_strdup(secret);
        keys->key[slot].ctx = ctx;
        return ctx;
}

/* base64 HMAC-SHA256 of id.timestamp.body with a keyed context into out. */
static int hd_sig_mac(EVP_MAC_CTX *ctx, const char *msg_id, const char *ts, const void *body,
                      size_t len, char out[64], char *errstr, size_t errstr_size)
{
        unsigned char mac[EVP_MAX_MD_SIZE], head[320];
        size_t maclen = 0, idlen = strlen(msg_id), tslen = strlen(ts);
        int ok;

        if (!EVP_MAC_init(ctx, NULL, 0, NULL))
                return hd_seterr(errstr, errstr_size, "HMAC-SHA256 failed");
        /* "id.ts." in one update when it fits: each update is a trip through the
         * provider layers. */
        if (idlen + tslen + 2 <= sizeof(head)) {
                memcpy(head, msg_id, idlen);
                head[idlen] = '.';
                memcpy(head + idlen + 1, ts, tslen);
                head[idlen + 1 + tslen] = '.';
                ok = EVP_MAC_update(ctx, head, idlen + tslen + 2);
        } else {
                ok = EVP_MAC_update(ctx, (const unsigned char *)msg_id, idlen) &&
                     EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
                     EVP_MAC_update(ctx, (const unsigned char *)ts, tslen) &&
                     EVP_MAC_update(ctx, (const unsigned char *)".", 1);
        }
        if (!ok || !EVP_MAC_update(ctx, body, len) ||
            !EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)))
                return hd_seterr(errstr, errstr_size, "HMAC-SHA256 failed");
        EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
        return 0;
}

int hd_webhook_sign_keys(hd_webhook_keys_t *keys, const char *const *secrets, size_t nsecrets,
                         const char *msg_id, int64_t timestamp, const void *body, size_t len,
                         char *out, size_t outsize, char *errstr, size_t errstr_size)
{
        char ts[32], sig[64];
        size_t off = 0, n;
        EVP_MAC_CTX *ctx;

        snprintf(ts, sizeof(ts), "%lld", (long long)timestamp);
        out[0] = '\0';
        for (size_t i = 0; i < nsecrets; i++) {
                if (!(ctx = hd_sig_ctx(keys, secrets[i], errstr, errstr_size)) ||
                    hd_sig_mac(ctx, msg_id, ts, body, len, sig, errstr, errstr_size))
                        return -1;
                n = strlen(sig);
                if (off + (i ? 1 : 0) + 3 + n >= outsize)
                        return hd_seterr(errstr, errstr_size, "signature buffer too small");
                if (i)
                        out[off++] = ' ';
                memcpy(out + off, "v1,", 3);
                memcpy(out + off + 3, sig, n + 1);
                off += 3 + n;
        }
        return 0;
}

int hd_webhook_sign(const char *const *secrets, size_t nsecrets, const char *msg_id,
                    int64_t timestamp, const void *body, size_t len, char *out,
                    size_t outsize, char *errstr, size_t errstr_size)
{
        hd_webhook_keys_t *keys = hd_webhook_keys_new();
        int rc = hd_webhook_sign_keys(keys, secrets, nsecrets, msg_id, timestamp, body, len,
                                      out, outsize, errstr, errstr_size);

        hd_webhook_keys_free(keys);
        return rc;
}

/* base64 HMAC-SHA256 of id.timestamp.body under one secret into out (45 bytes with NUL). */
static int hd_sig_compute(const char *secret, const char *msg_id, const char *ts,
                          const void *body, size_t len, char out[64], char *errstr,
                          size_t errstr_size)
{
        hd_webhook_keys_t *keys = hd_webhook_keys_new();
        EVP_MAC_CTX *ctx = hd_sig_ctx(keys, secret, errstr, errstr_size);
        int rc = ctx ? hd_sig_mac(ctx, msg_id, ts, body, len, out, errstr, errstr_size) : -1;

        hd_webhook_keys_free(keys);
        return rc;
}

int hd_webhook_verify(const char *const *secrets, size_t nsecrets, const char *msg_id,
                      const char *timestamp, const char *signature, const void *body,
                      size_t len, int64_t now, int tolerance_s, char *errstr,
                      size_t errstr_size)
{
        char *end, sig[64], *copy, *save = NULL, bad[256] = "";
        long long ts;
        int ok = 0;
        size_t nbad = 0;

        if (!msg_id || !*msg_id || !timestamp || !signature)
                return hd_seterr(errstr, errstr_size,
                                 "missing webhook-id, webhook-timestamp or webhook-signature");
        ts = strtoll(timestamp, &end, 10);
        if (!*timestamp || *end)
                return hd_seterr(errstr, errstr_size, "webhook-timestamp is not a number");
        if (ts < now - tolerance_s || ts > now + tolerance_s)
                return hd_seterr(errstr, errstr_size,
                                 "webhook-timestamp %lld is more than %d s from now", ts,
                                 tolerance_s);
        copy = hd_strdup(signature);
        for (size_t i = 0; i < nsecrets && !ok; i++) {
                /* During rotation one malformed secret must not stop the good ones. */
                if (hd_sig_compute(secrets[i], msg_id, timestamp, body, len, sig, bad,
                                   sizeof(bad))) {
                        nbad++;
                        continue;
                }
                strcpy(copy, signature);
                for (char *t = strtok_r(copy, " ", &save); t && !ok;
                     t = strtok_r(NULL, " ", &save))
                        ok = !strncmp(t, "v1,", 3) && strlen(t + 3) == strlen(sig) &&
                             !CRYPTO_memcmp(t + 3, sig, strlen(sig));
        }
        free(copy);
        if (ok)
                return 0;
        if (nbad == nsecrets)
                return hd_seterr(errstr, errstr_size, "no usable secret: %s", bad);
        return hd_seterr(errstr, errstr_size, "no webhook-signature matches");
}
