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

/* base64 HMAC-SHA256 of id.timestamp.body into out (45 bytes with NUL). */
static int hd_sig_compute(const char *secret, const char *msg_id, const char *ts,
                          const void *body, size_t len, char out[64], char *errstr,
                          size_t errstr_size)
{
        unsigned char key[200], mac[EVP_MAX_MD_SIZE];
        size_t keylen = 0, maclen = 0;
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                               OSSL_PARAM_construct_end()};
        EVP_MAC *hmac;
        EVP_MAC_CTX *ctx = NULL;
        int ok;

        if (hd_sig_key(secret, key, &keylen, errstr, errstr_size))
                return -1;
        hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        ok = hmac && (ctx = EVP_MAC_CTX_new(hmac)) && EVP_MAC_init(ctx, key, keylen, params) &&
             EVP_MAC_update(ctx, (const unsigned char *)msg_id, strlen(msg_id)) &&
             EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
             EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) &&
             EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
             EVP_MAC_update(ctx, body, len) && EVP_MAC_final(ctx, mac, &maclen, sizeof(mac));
        EVP_MAC_CTX_free(ctx);
        EVP_MAC_free(hmac);
        OPENSSL_cleanse(key, sizeof(key));
        if (!ok)
                return hd_seterr(errstr, errstr_size, "HMAC-SHA256 failed");
        EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
        return 0;
}

int hd_webhook_sign(const char *const *secrets, size_t nsecrets, const char *msg_id,
                    int64_t timestamp, const void *body, size_t len, char *out,
                    size_t outsize, char *errstr, size_t errstr_size)
{
        char ts[32], sig[64];
        size_t off = 0;

        snprintf(ts, sizeof(ts), "%lld", (long long)timestamp);
        out[0] = '\0';
        for (size_t i = 0; i < nsecrets; i++) {
                if (hd_sig_compute(secrets[i], msg_id, ts, body, len, sig, errstr,
                                   errstr_size))
                        return -1;
                off += (size_t)snprintf(out + off, outsize > off ? outsize - off : 0,
                                        "%sv1,%s", i ? " " : "", sig);
        }
        return off < outsize ? 0 : hd_seterr(errstr, errstr_size, "signature buffer too small");
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
