/* Dispatch: one job at a time per (subscription, key), in order; parallel across
 * lanes; per-subscription and global limits; a full subscription never blocks others. */
#include "hd_dispatch.h"
#include "hd_test.h"
#include "hd_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ID(j) ((int)(intptr_t)hd_djob_data(j))

static void test_lanes(void)
{
        hd_dispatch_t *d = hd_dispatch_new(100);
        hd_djob_t *a1, *b1, *x;

        hd_dispatch_submit(d, "s", "A", (void *)1);
        hd_dispatch_submit(d, "s", "A", (void *)2);
        hd_dispatch_submit(d, "s", "A", (void *)3);
        hd_dispatch_submit(d, "s", "B", (void *)10);
        hd_dispatch_submit(d, "t", "A", (void *)20); /* same key, other subscription */
        a1 = hd_dispatch_next(d);
        b1 = hd_dispatch_next(d);
        x = hd_dispatch_next(d);
        HD_CHECK_INT_EQ(ID(a1), 1);
        HD_CHECK_INT_EQ(ID(b1), 10);
        HD_CHECK_INT_EQ(ID(x), 20);
        HD_CHECK(hd_dispatch_next(d) == NULL); /* 2 waits for 1 */
        hd_dispatch_done(d, a1);
        x = hd_dispatch_next(d);
        HD_CHECK_INT_EQ(ID(x), 2);
        HD_CHECK(hd_dispatch_next(d) == NULL);
        hd_dispatch_done(d, x);
        x = hd_dispatch_next(d);
        HD_CHECK_INT_EQ(ID(x), 3);
        HD_CHECK_INT_EQ(hd_dispatch_running(d), 3);
        HD_CHECK_INT_EQ(hd_dispatch_waiting(d), 0);
        hd_dispatch_done(d, x);
        hd_dispatch_done(d, b1);
        hd_dispatch_destroy(d); /* "t"/A (20) still running: caller owns it */
}

/* Keys too long for the lane name's stack buffer are lanes like any other: distinct
 * by their last byte, one job at a time each, dropped and made again. */
static void test_long_keys(void)
{
        hd_dispatch_t *d = hd_dispatch_new(100);
        char k1[600], k2[600];
        hd_djob_t *a, *b, *x;

        memset(k1, 'k', sizeof(k1) - 1), k1[sizeof(k1) - 1] = '\0';
        memcpy(k2, k1, sizeof(k2));
        k2[sizeof(k2) - 2] = 'z';
        for (int round = 0; round < 2; round++) {
                hd_dispatch_submit(d, "s", k1, (void *)1);
                hd_dispatch_submit(d, "s", k1, (void *)2);
                hd_dispatch_submit(d, "s", k2, (void *)3);
                a = hd_dispatch_next(d);
                b = hd_dispatch_next(d);
                HD_CHECK_INT_EQ(ID(a), 1);
                HD_CHECK_INT_EQ(ID(b), 3);
                HD_CHECK(hd_dispatch_next(d) == NULL); /* 2 waits for 1 */
                hd_dispatch_done(d, a);
                x = hd_dispatch_next(d);
                HD_CHECK_INT_EQ(ID(x), 2);
                hd_dispatch_done(d, x);
                hd_dispatch_done(d, b);
                HD_CHECK_INT_EQ(hd_dispatch_running(d) + hd_dispatch_waiting(d), 0);
        }
        hd_dispatch_destroy(d);
}

static void test_limits_and_isolation(void)
{
        hd_dispatch_t *d = hd_dispatch_new(5);
        hd_djob_t *got[8];
        int n = 0;

        hd_dispatch_set_limit(d, "slow", 1);
        for (int i = 0; i < 3; i++)
                hd_dispatch_submit(d, "slow", NULL, (void *)(intptr_t)(100 + i));
        for (int i = 0; i < 6; i++)
                hd_dispatch_submit(d, "fast", NULL, (void *)(intptr_t)(200 + i));
        while ((got[n] = hd_dispatch_next(d)))
                n++;
        HD_CHECK_INT_EQ(n, 5);                 /* global limit */
        HD_CHECK_INT_EQ(ID(got[0]), 100);      /* slow gets its one slot */
        HD_CHECK_INT_EQ(ID(got[1]), 200);      /* and does not hold fast back */
        HD_CHECK_INT_EQ(ID(got[4]), 203);
        hd_dispatch_done(d, got[1]);
        got[5] = hd_dispatch_next(d);
        HD_CHECK_INT_EQ(ID(got[5]), 204);      /* slow is still full */
        HD_CHECK(hd_dispatch_next(d) == NULL); /* global limit again */
        hd_dispatch_done(d, got[0]);
        got[6] = hd_dispatch_next(d);
        HD_CHECK_INT_EQ(ID(got[6]), 101);      /* FIFO: slow's next before fast's last */
        for (int i = 2; i <= 6; i++)
                hd_dispatch_done(d, got[i]);
        HD_CHECK_INT_EQ(hd_dispatch_waiting(d), 2); /* 102 and 205, freed by destroy */
        hd_dispatch_destroy(d);
}

/* Random completions over many lanes: order per lane, one running per lane. */
static void test_random(void)
{
        enum { LANES = 7, PER = 40 };
        hd_dispatch_t *d = hd_dispatch_new(12);
        hd_djob_t *running[64];
        int nrun = 0, next_seq[LANES] = {0}, busy[LANES] = {0}, bad = 0, started = 0;
        unsigned seed = 3;
        char key[8];

        for (int s = 0; s < PER; s++)
                for (int l = 0; l < LANES; l++) {
                        snprintf(key, sizeof(key), "k%d", l);
                        hd_dispatch_submit(d, "s", key, (void *)(intptr_t)(l * 1000 + s));
                }
        hd_dispatch_set_limit(d, "s", 5);
        while (started < LANES * PER || nrun) {
                hd_djob_t *j;
                while ((j = hd_dispatch_next(d))) {
                        int l = ID(j) / 1000, s = ID(j) % 1000;
                        bad += busy[l] || s != next_seq[l];
                        busy[l] = 1;
                        next_seq[l]++;
                        running[nrun++] = j;
                        started++;
                }
                if (nrun) {
                        int k = (int)(rand_r(&seed) % (unsigned)nrun);
                        busy[ID(running[k]) / 1000] = 0;
                        hd_dispatch_done(d, running[k]);
                        running[k] = running[--nrun];
                }
        }
        HD_CHECK_INT_EQ(bad, 0);
        HD_CHECK_INT_EQ(started, LANES * PER);
        hd_dispatch_destroy(d);
}

/* A rate-limited subscription gets one second's burst, then its rate; others flow. */
static void test_rate_limit(void)
{
        hd_dispatch_t *d = hd_dispatch_new(1000);
        hd_djob_t *j;
        int slow = 0, fast = 0;
        int64_t t0, elapsed;

        hd_dispatch_set_limit(d, "slow", 1000);
        hd_dispatch_set_rate(d, "slow", 50);
        for (intptr_t i = 0; i < 100; i++)
                hd_dispatch_submit(d, "slow", NULL, (void *)i);
        for (intptr_t i = 0; i < 10; i++)
                hd_dispatch_submit(d, "fast", NULL, (void *)(1000 + i));
        t0 = hd_mono_us();
        while ((j = hd_dispatch_next(d))) {
                ID(j) >= 1000 ? fast++ : slow++;
                hd_dispatch_done(d, j);
        }
        HD_CHECK_INT_EQ(fast, 10);   /* not held up behind the limited one */
        HD_CHECK_INT_EQ(slow, 50);   /* the burst */
        while (slow < 100 && hd_mono_us() - t0 < 5000000) {
                struct timespec ts = {0, 2000000};
                while ((j = hd_dispatch_next(d))) {
                        slow++;
                        hd_dispatch_done(d, j);
                }
                nanosleep(&ts, NULL);
        }
        elapsed = hd_mono_us() - t0;
        HD_CHECK_INT_EQ(slow, 100);
        HD_CHECK(elapsed >= 900000 && elapsed < 2000000); /* 50 more at 50/s = 1 s */
        hd_dispatch_destroy(d);
}

int main(void)
{
        test_rate_limit();
        test_lanes();
        test_long_keys();
        test_limits_and_isolation();
        test_random();
        return hd_test_finish("test_dispatch");
}
