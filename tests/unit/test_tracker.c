/* Completion tracking: the commit point never passes an open record; metadata
 * carries what finished beyond it and a restore skips exactly that. */
#include "hd_test.h"
#include "hd_tracker.h"

#include <stdlib.h>

static void test_commit_point(void)
{
        hd_tracker_t *t = hd_tracker_new(100);
        char md[256];

        HD_CHECK_INT_EQ(hd_tracker_commit_offset(t), 100);
        for (int64_t o = 100; o < 110; o++)
                hd_tracker_add(t, o);
        HD_CHECK_INT_EQ(hd_tracker_open(t), 10);
        hd_tracker_done(t, 103);
        hd_tracker_done(t, 104);
        hd_tracker_done(t, 107);
        HD_CHECK_INT_EQ(hd_tracker_commit_offset(t), 100); /* 100 still open */
        hd_tracker_metadata(t, md, sizeof(md));
        HD_CHECK_STR_EQ(md, "hd1:3,2,2,1,2");
        hd_tracker_done(t, 100);
        hd_tracker_done(t, 101);
        HD_CHECK_INT_EQ(hd_tracker_commit_offset(t), 102);
        hd_tracker_done(t, 102);
        HD_CHECK_INT_EQ(hd_tracker_commit_offset(t), 105); /* 103, 104 were done */
        hd_tracker_done(t, 105);
        hd_tracker_done(t, 106);
        hd_tracker_done(t, 108);
        hd_tracker_done(t, 109);
        HD_CHECK_INT_EQ(hd_tracker_commit_offset(t), 110);
        HD_CHECK_INT_EQ(hd_tracker_open(t), 0);
        hd_tracker_done(t, 109); /* twice: no effect */
        HD_CHECK_INT_EQ(hd_tracker_open(t), 0);
        hd_tracker_metadata(t, md, sizeof(md));
        HD_CHECK_STR_EQ(md, "hd1:");
        hd_tracker_destroy(t);
}

static void test_gaps(void)
{
        hd_tracker_t *t = hd_tracker_new(0);

        hd_tracker_add(t, 5);  /* compacted away: 0..4 never arrive */
        HD_CHECK_INT_EQ(hd_tracker_commit_offset(t), 5);
        hd_tracker_add(t, 9);  /* 6..8 gone too */
        hd_tracker_done(t, 5);
        HD_CHECK_INT_EQ(hd_tracker_commit_offset(t), 9);
        hd_tracker_done(t, 9);
        HD_CHECK_INT_EQ(hd_tracker_commit_offset(t), 10);
        hd_tracker_destroy(t);
}

static void test_restore(void)
{
        hd_tracker_t *t = hd_tracker_new(0);
        char md[64];

        HD_CHECK(hd_tracker_restore(t, 50, "hd1:2,3,1,1") == 0);
        /* 50,51 open; 52..54 final; 55 open; 56 final */
        HD_CHECK(!hd_tracker_is_done(t, 50));
        HD_CHECK(hd_tracker_is_done(t, 52));
        HD_CHECK(hd_tracker_is_done(t, 54));
        HD_CHECK(!hd_tracker_is_done(t, 55));
        HD_CHECK(hd_tracker_is_done(t, 56));
        HD_CHECK(!hd_tracker_is_done(t, 57));
        HD_CHECK(hd_tracker_is_done(t, 49));
        for (int64_t o = 50; o < 58; o++)
                hd_tracker_add(t, o);
        HD_CHECK_INT_EQ(hd_tracker_open(t), 4); /* 50, 51, 55, 57 */
        hd_tracker_done(t, 50);
        hd_tracker_done(t, 51);
        HD_CHECK_INT_EQ(hd_tracker_commit_offset(t), 55);
        hd_tracker_metadata(t, md, sizeof(md));
        HD_CHECK_STR_EQ(md, "hd1:1,1,1");
        HD_CHECK(hd_tracker_restore(t, 0, "garbage") == 0); /* foreign: deliver all */
        HD_CHECK(!hd_tracker_is_done(t, 3));
        HD_CHECK(hd_tracker_restore(t, 0, "hd1:1,x") == -1);
        hd_tracker_destroy(t);
}

/* Random completion order: the commit point always equals the lowest open offset. */
static void test_random(void)
{
        hd_tracker_t *t = hd_tracker_new(1000);
        int done[500] = {0}, bad = 0;
        unsigned seed = 7;

        for (int i = 0; i < 500; i++)
                hd_tracker_add(t, 1000 + i);
        for (int k = 0; k < 5000; k++) {
                int i = rand_r(&seed) % 500, low = 0;
                done[i] = 1;
                hd_tracker_done(t, 1000 + i);
                while (low < 500 && done[low])
                        low++;
                bad += hd_tracker_commit_offset(t) != 1000 + low;
        }
        HD_CHECK_INT_EQ(bad, 0);
        hd_tracker_destroy(t);
}

static void test_metadata_truncation(void)
{
        hd_tracker_t *t = hd_tracker_new(0), *r = hd_tracker_new(0);
        char md[40];
        int wrong = 0;

        for (int64_t o = 0; o < 200; o++)
                hd_tracker_add(t, o);
        for (int64_t o = 1; o < 200; o += 2)
                hd_tracker_done(t, o); /* alternate: many runs */
        hd_tracker_metadata(t, md, sizeof(md));
        HD_CHECK(strlen(md) < sizeof(md));
        HD_CHECK(hd_tracker_restore(r, 0, md) == 0);
        for (int64_t o = 0; o < 200; o++)
                wrong += hd_tracker_is_done(r, o) && !(o % 2); /* never claims an open one */
        HD_CHECK_INT_EQ(wrong, 0);
        HD_CHECK(hd_tracker_is_done(r, 1));
        hd_tracker_destroy(t);
        hd_tracker_destroy(r);
}

int main(void)
{
        test_commit_point();
        test_gaps();
        test_restore();
        test_random();
        test_metadata_truncation();
        return hd_test_finish("test_tracker");
}
