/* hd_id: see hd_id.h. */
#include "hd_id.h"
#include "hd_util.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Random bytes from a per-thread pool refilled by OpenSSL's CSPRNG: RAND_bytes per
 * id cost more than building and encoding the whole event.
 */
static void hd_id_random(unsigned char *out, size_t n)
{
        static _Thread_local unsigned char pool[320];
        static _Thread_local size_t left;

        if (left < n) {
                if (RAND_bytes(pool, sizeof(pool)) != 1) {
                        /* A failing CSPRNG is not recoverable: an id must be unique. */
                        fputs("herald: RAND_bytes failed\n", stderr);
                        abort();
                }
                left = sizeof(pool);
        }
        memcpy(out, pool + sizeof(pool) - left, n);
        left -= n;
}

void hd_uuid7_at(char out[HD_UUID_STRLEN + 1], int64_t unix_ms)
{
        unsigned char b[16];
        uint64_t ms = (uint64_t)unix_ms;

        hd_id_random(b + 6, 10);
        for (int i = 0; i < 6; i++)
                b[i] = (unsigned char)(ms >> (40 - 8 * i));
        b[6] = (unsigned char)(0x70 | (b[6] & 0x0f)); /* version 7 */
        b[8] = (unsigned char)(0x80 | (b[8] & 0x3f)); /* RFC variant */
        snprintf(out, HD_UUID_STRLEN + 1,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                 b[12], b[13], b[14], b[15]);
}

void hd_uuid7(char out[HD_UUID_STRLEN + 1])
{
        hd_uuid7_at(out, hd_now_ms());
}
