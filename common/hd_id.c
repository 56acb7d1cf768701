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
        /* By hand: snprintf's 16 conversions cost more than the rest of an emit. */
        for (int i = 0, k = 0; i < 16; i++) {
                static const char hex[] = "0123456789abcdef";
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        out[k++] = '-';
                out[k++] = hex[b[i] >> 4];
                out[k++] = hex[b[i] & 0x0f];
        }
        out[HD_UUID_STRLEN] = '\0';
}

void hd_uuid7(char out[HD_UUID_STRLEN + 1])
{
        hd_uuid7_at(out, hd_now_ms());
}
