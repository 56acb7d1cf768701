/* hd_id: see hd_id.h. */
#include "hd_id.h"
#include "hd_util.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Random bytes from a per-thread pool refilled by OpenSSL's CSPRNG: RAND_bytes per
 * id cost more than building and encoding the whole event, and each call has a
 * fixed cost of its own (a few hundred ids a refill keep it out of sight). A child
 * process starts with an empty pool, so it never repeats its parent's bytes.
 */
static _Thread_local unsigned char hd_id_pool[4096];
static _Thread_local size_t hd_id_left;
static pthread_once_t hd_id_once = PTHREAD_ONCE_INIT;

static void hd_id_forked(void)
{
        hd_id_left = 0; /* the forking thread is the child's only thread */
}

static void hd_id_atfork(void)
{
        pthread_atfork(NULL, NULL, hd_id_forked);
}

static void hd_id_random(unsigned char *out, size_t n)
{
        unsigned char *pool = hd_id_pool;
        const size_t size = sizeof(hd_id_pool);

        if (hd_id_left < n) {
                pthread_once(&hd_id_once, hd_id_atfork);
                if (RAND_bytes(pool, (int)size) != 1) {
                        /* A failing CSPRNG is not recoverable: an id must be unique. */
                        fputs("herald: RAND_bytes failed\n", stderr);
                        abort();
                }
                hd_id_left = size;
        }
        memcpy(out, pool + size - hd_id_left, n);
        hd_id_left -= n;
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
        static const char hex[] = "0123456789abcdef";
        static const unsigned char at[16] = {0,  2,  4,  6,  9,  11, 14, 16,
                                             19, 21, 24, 26, 28, 30, 32, 34};
        for (int i = 0; i < 16; i++) {
                out[at[i]] = hex[b[i] >> 4];
                out[at[i] + 1] = hex[b[i] & 0x0f];
        }
        out[8] = out[13] = out[18] = out[23] = '-';
        out[HD_UUID_STRLEN] = '\0';
}

void hd_uuid7(char out[HD_UUID_STRLEN + 1])
{
        hd_uuid7_at(out, hd_now_ms());
}
