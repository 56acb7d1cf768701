/* UUIDv7 event ids: version and variant bits, time order, uniqueness across the pool. */
#include "hd_id.h"
#include "hd_test.h"

#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
        return strcmp(a, b);
}

int main(void)
{
        static char ids[2000][HD_UUID_STRLEN + 1];
        char early[HD_UUID_STRLEN + 1], late[HD_UUID_STRLEN + 1];
        int dups = 0;

        for (int i = 0; i < 2000; i++)
                hd_uuid7(ids[i]);
        for (int i = 0; i < 2000; i++) {
                HD_CHECK(strlen(ids[i]) == 36 && ids[i][14] == '7');
                HD_CHECK(strchr("89ab", ids[i][19]) != NULL);
        }
        qsort(ids, 2000, sizeof(ids[0]), cmp);
        for (int i = 1; i < 2000; i++)
                dups += !strcmp(ids[i - 1], ids[i]);
        HD_CHECK_INT_EQ(dups, 0);
        hd_uuid7_at(early, 1764115200000);
        hd_uuid7_at(late, 1764115200001);
        HD_CHECK(strcmp(early, late) < 0);
        HD_CHECK(!strncmp(early, "019abd75-b800", 13)); /* 1764115200000 = 0x019abd75b800 */
        return hd_test_finish("test_id");
}
