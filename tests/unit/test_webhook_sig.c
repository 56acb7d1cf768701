/* Standard Webhooks signatures: the specification's example, rotation, refusals. */
#include "herald/herald.h"
#include "hd_webhook_sig.h"
#include "hd_test.h"
#include "hd_util.h"

#include <openssl/evp.h>
#include <string.h>
#include <time.h>

#define SPEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID     "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_BODY   "{\"test\": 2432232314}"
#define SPEC_SIG    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void test_spec_example(void)
{
        const char *secrets[] = {SPEC_SECRET};
        char sig[256], err[256];

        HD_CHECK(hd_webhook_sign(secrets, 1, SPEC_ID, 1614265330, SPEC_BODY,
                                 strlen(SPEC_BODY), sig, sizeof(sig), err, sizeof(err)) == 0);
        HD_CHECK_STR_EQ(sig, SPEC_SIG);
        HD_CHECK(hd_webhook_verify(secrets, 1, SPEC_ID, "1614265330", SPEC_SIG, SPEC_BODY,
                                   strlen(SPEC_BODY), 1614265330, 300, err, sizeof(err)) == 0);
        /* The specification's own note: the timestamp check uses now. */
        HD_CHECK(hd_webhook_verify(secrets, 1, SPEC_ID, "1614265330", SPEC_SIG, SPEC_BODY,
                                   strlen(SPEC_BODY), 1614265330 + 301, 300, err,
                                   sizeof(err)) != 0);
        HD_CHECK_STR_EQ(err, "webhook-timestamp 1614265330 is more than 300 s from now");
}

static void test_rotation_and_refusals(void)
{
        const char *both[] = {"whsec_bmV3LXNlY3JldC0wMDAwMDAwMDAwMDAwMDAwMDAwMA==", SPEC_SECRET};
        const char *old_only[] = {SPEC_SECRET};
        const char *other[] = {"whsec_b3RoZXItc2VjcmV0LTAwMDAwMDAwMDAwMDAwMDAwMA=="};
        char sig[256], err[256], ts[32];
        long long now = (long long)time(NULL);

        snprintf(ts, sizeof(ts), "%lld", now);
        HD_CHECK(hd_webhook_sign(both, 2, "evt_1", now, "{}", 2, sig, sizeof(sig), err,
                                 sizeof(err)) == 0);
        HD_CHECK(strchr(sig, ' ') != NULL && !strncmp(sig, "v1,", 3));
        /* A receiver still on the old secret accepts during rotation. */
        HD_CHECK(hd_webhook_verify(old_only, 1, "evt_1", ts, sig, "{}", 2, now, 300, err,
                                   sizeof(err)) == 0);
        HD_CHECK(herald_webhook_verify(SPEC_SECRET, "evt_1", ts, sig, "{}", 2, err,
                                       sizeof(err)) == HERALD_OK);
        HD_CHECK(hd_webhook_verify(other, 1, "evt_1", ts, sig, "{}", 2, now, 300, err,
                                   sizeof(err)) != 0);
        HD_CHECK_STR_EQ(err, "no webhook-signature matches");
        HD_CHECK(hd_webhook_verify(old_only, 1, "evt_1", ts, sig, "{ }", 3, now, 300, err,
                                   sizeof(err)) != 0); /* body changed */
        HD_CHECK(hd_webhook_verify(old_only, 1, "evt_2", ts, sig, "{}", 2, now, 300, err,
                                   sizeof(err)) != 0); /* id changed */
        HD_CHECK(herald_webhook_verify(SPEC_SECRET, "evt_1", "12x", sig, "{}", 2, err,
                                       sizeof(err)) == HERALD_ERR_INVALID);
        HD_CHECK_STR_EQ(err, "webhook-timestamp is not a number");
        HD_CHECK(hd_webhook_sign(old_only, 1, "evt_1", now, "{}", 2, sig, sizeof(sig), err,
                                 sizeof(err)) == 0);
        HD_CHECK(herald_webhook_verify(SPEC_SECRET, "evt_1", ts, sig, "{}", 2, err,
                                       sizeof(err)) == HERALD_OK);
        HD_CHECK(herald_webhook_verify(SPEC_SECRET, "evt_1", ts, sig + 3, "{}", 2, err,
                                       sizeof(err)) == HERALD_ERR_INVALID); /* no "v1," */
        sig[0] = 'v', sig[1] = '2';
        HD_CHECK(herald_webhook_verify(SPEC_SECRET, "evt_1", ts, sig, "{}", 2, err,
                                       sizeof(err)) == HERALD_ERR_INVALID); /* unknown scheme */
        HD_CHECK(herald_webhook_verify(SPEC_SECRET, NULL, ts, sig, "{}", 2, err,
                                       sizeof(err)) == HERALD_ERR_INVALID);
        HD_CHECK_STR_EQ(err, "missing webhook-id, webhook-timestamp or webhook-signature");
        HD_CHECK(herald_webhook_verify("whsec_!!!", "evt_1", ts, sig, "{}", 2, err,
                                       sizeof(err)) == HERALD_ERR_INVALID);
        HD_CHECK_STR_EQ(err, "no usable secret: webhook secret is not base64");
        {       /* rotation where one configured secret is malformed: the good one works */
                const char *mixed[] = {"whsec_!!!", SPEC_SECRET};
                HD_CHECK(hd_webhook_sign(old_only, 1, "evt_1", now, "{}", 2, sig, sizeof(sig),
                                         err, sizeof(err)) == 0);
                HD_CHECK_MSG(hd_webhook_verify(mixed, 2, "evt_1", ts, sig, "{}", 2, now, 300, err,
                                               sizeof(err)) == 0, "%s", err);
                HD_CHECK(hd_webhook_verify(mixed, 2, "evt_9", ts, sig, "{}", 2, now, 300, err,
                                           sizeof(err)) != 0);
                HD_CHECK_STR_EQ(err, "no webhook-signature matches");
        }
}

/* The key cache signs exactly as a one-off signature does, message after message,
 * across rotation, a refused secret and more secrets than it keeps. */
static void test_key_cache(void)
{
        hd_webhook_keys_t *keys = hd_webhook_keys_new();
        const char *spec[] = {SPEC_SECRET}, *bad[] = {"whsec_!!!"};
        char secret[HD_SIG_KEYS_MAX + 4][64], sig[256], want[256], err[256];

        HD_CHECK(hd_webhook_sign_keys(keys, spec, 1, SPEC_ID, 1614265330, SPEC_BODY,
                                      strlen(SPEC_BODY), sig, sizeof(sig), err,
                                      sizeof(err)) == 0);
        HD_CHECK_STR_EQ(sig, SPEC_SIG);
        HD_CHECK(hd_webhook_sign_keys(keys, spec, 1, SPEC_ID, 1614265330, SPEC_BODY,
                                      strlen(SPEC_BODY), sig, sizeof(sig), err,
                                      sizeof(err)) == 0);
        HD_CHECK_STR_EQ(sig, SPEC_SIG); /* the reused context starts afresh */
        HD_CHECK(hd_webhook_sign_keys(keys, bad, 1, "evt_1", 1, "{}", 2, sig, sizeof(sig), err,
                                      sizeof(err)) != 0);
        HD_CHECK_STR_EQ(err, "webhook secret is not base64");
        for (int i = 0; i < HD_SIG_KEYS_MAX + 4; i++) {
                const char *two[2] = {secret[i], SPEC_SECRET};
                /* "whsec_" + base64 of 24 distinct bytes */
                snprintf(secret[i], sizeof(secret[i]), "whsec_a2V5LW51bWJlci0wMDAwMDAwMDAw%04d",
                         i);
                HD_CHECK(hd_webhook_sign_keys(keys, two, 2, "evt_1", 1700000000 + i, "{}", 2,
                                              sig, sizeof(sig), err, sizeof(err)) == 0);
                HD_CHECK(hd_webhook_sign(two, 2, "evt_1", 1700000000 + i, "{}", 2, want,
                                         sizeof(want), err, sizeof(err)) == 0);
                HD_CHECK_STR_EQ(sig, want);
        }
        HD_CHECK(hd_webhook_sign_keys(keys, spec, 1, SPEC_ID, 1614265330, SPEC_BODY,
                                      strlen(SPEC_BODY), sig, 20, err, sizeof(err)) != 0);
        HD_CHECK_STR_EQ(err, "signature buffer too small");
        hd_webhook_keys_free(keys);
}

/* The signed content is exactly id.timestamp.body for ids of any length (short ones
 * go to HMAC in one piece with the timestamp, long ones in parts), checked against a
 * one-shot HMAC of the concatenation. */
static void test_id_lengths(void)
{
        const char *spec[] = {SPEC_SECRET};
        unsigned char key[64], mac[EVP_MAX_MD_SIZE];
        char id[700], content[1024], sig[256], want[256], err[256];
        size_t maclen = 0, lens[] = {1, 300, 307, 308, 309, 318, 319, 320, 600};
        int keylen = EVP_DecodeBlock(key, (const unsigned char *)SPEC_SECRET + 6,
                                     (int)strlen(SPEC_SECRET) - 6);

        HD_CHECK(keylen == 24); /* 32 base64 characters, no padding */
        for (size_t i = 0; i < HD_ARRAY_SIZE(lens); i++) {
                memset(id, 'a' + (int)i, lens[i]);
                id[lens[i]] = '\0';
                snprintf(content, sizeof(content), "%s.%lld.%s", id, 1614265330LL, SPEC_BODY);
                HD_CHECK(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, (size_t)keylen,
                                   (const unsigned char *)content, strlen(content), mac,
                                   sizeof(mac), &maclen) != NULL);
                memcpy(want, "v1,", 3);
                EVP_EncodeBlock((unsigned char *)want + 3, mac, (int)maclen);
                HD_CHECK(hd_webhook_sign(spec, 1, id, 1614265330, SPEC_BODY, strlen(SPEC_BODY),
                                         sig, sizeof(sig), err, sizeof(err)) == 0);
                HD_CHECK_MSG(!strcmp(sig, want), "id of %zu bytes", lens[i]);
        }
}

int main(void)
{
        test_spec_example();
        test_rotation_and_refusals();
        test_key_cache();
        test_id_lengths();
        return hd_test_finish("test_webhook_sig");
}
