/*
 * hd_offsets' argument parsers: ISO 8601 date-times (zones, fractions, dates that
 * do not exist), durations (every unit, order, refused years/months), partition
 * lists (ranges, duplicates, out of range, malformed).
 */
#include "hd_offsets.h"
#include "hd_test.h"

#include <stdlib.h>

static int64_t iso(const char *s)
{
        char err[256];
        int64_t ms = -1;

        return hd_parse_iso8601(s, &ms, err, sizeof(err)) ? -1 : ms;
}

static int64_t dur(const char *s)
{
        char err[256];
        int64_t ms = -1;

        return hd_parse_duration(s, &ms, err, sizeof(err)) ? -1 : ms;
}

/* The list as "a,b,c", or the error message. */
static const char *parts(const char *s, int count)
{
        static char buf[512];
        int32_t *v = NULL;
        size_t n = 0, off = 0;

        buf[0] = '\0';
        if (hd_parse_partitions(s, count, &v, &n, buf, sizeof(buf)))
                return buf;
        for (size_t i = 0; i < n; i++)
                off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%d", i ? "," : "",
                                        (int)v[i]);
        free(v);
        return buf;
}

int main(void)
{
        char err[256];
        int64_t ms;

        HD_CHECK_INT_EQ(iso("1970-01-01T00:00:00Z"), 0);
        HD_CHECK_INT_EQ(iso("2026-11-27T03:20:44Z"), 1795749644000LL);
        HD_CHECK_INT_EQ(iso("2026-11-27T03:20:44.25Z"), 1795749644250LL);
        HD_CHECK_INT_EQ(iso("2026-11-27T04:20:44+01:00"), 1795749644000LL);
        HD_CHECK_INT_EQ(iso("2026-11-26T22:20:44-0500"), 1795749644000LL);
        HD_CHECK_INT_EQ(iso("2026-11-27T03:20:44"), 1795749644000LL); /* no zone: UTC */
        HD_CHECK_INT_EQ(iso("2026-11-27T03:20"), 1795749600000LL);
        HD_CHECK_INT_EQ(iso("2026-11-27"), 1795737600000LL);
        HD_CHECK_INT_EQ(iso("2024-02-29"), 1709164800000LL);
        HD_CHECK_INT_EQ(iso("2026-02-29"), -1);
        HD_CHECK_INT_EQ(iso("2026-02-30T00:00:00Z"), -1);
        HD_CHECK_INT_EQ(iso("2026-13-01"), -1);
        HD_CHECK_INT_EQ(iso("2026-11-27T24:00:00Z"), -1);
        HD_CHECK_INT_EQ(iso("2026-11-27T03:20:44Q"), -1);
        HD_CHECK_INT_EQ(iso("2026-11-27T03:20:44.Z"), -1);
        HD_CHECK_INT_EQ(iso("27/11/2026"), -1);
        HD_CHECK_INT_EQ(iso(""), -1);
        HD_CHECK(hd_parse_iso8601("yesterday", &ms, err, sizeof(err)) == -1);
        HD_CHECK_CONTAINS(err, "bad date-time \"yesterday\"");

        HD_CHECK_INT_EQ(dur("PT1S"), 1000);
        HD_CHECK_INT_EQ(dur("PT90.5S"), 90500);
        HD_CHECK_INT_EQ(dur("PT2H30M"), 9000000);
        HD_CHECK_INT_EQ(dur("P1D"), 86400000);
        HD_CHECK_INT_EQ(dur("P1DT12H"), 129600000);
        HD_CHECK_INT_EQ(dur("P2W"), 1209600000);
        HD_CHECK_INT_EQ(dur("P1DT1H1M1S"), 90061000);
        HD_CHECK_INT_EQ(dur("PT0S"), 0);
        HD_CHECK_INT_EQ(dur("P"), -1);
        HD_CHECK_INT_EQ(dur("PT"), -1);
        HD_CHECK_INT_EQ(dur("P1DT"), -1);
        HD_CHECK_INT_EQ(dur("P1M"), -1);   /* months are not a fixed length */
        HD_CHECK_INT_EQ(dur("P1Y"), -1);
        HD_CHECK_INT_EQ(dur("PT1M2H"), -1); /* out of order */
        HD_CHECK_INT_EQ(dur("PT1.5H"), -1); /* fraction only on seconds */
        HD_CHECK_INT_EQ(dur("1D"), -1);
        HD_CHECK_INT_EQ(dur("PT-1S"), -1);
        HD_CHECK_INT_EQ(dur("P1D2"), -1);
        HD_CHECK(hd_parse_duration("P1M", &ms, err, sizeof(err)) == -1);
        HD_CHECK_CONTAINS(err, "bad duration \"P1M\"");

        HD_CHECK_STR_EQ(parts("0", 6), "0");
        HD_CHECK_STR_EQ(parts("5,0,2-3", 6), "0,2,3,5");
        HD_CHECK_STR_EQ(parts("1-3,2-4,4", 6), "1,2,3,4");
        HD_CHECK_STR_EQ(parts("0-5", 6), "0,1,2,3,4,5");
        HD_CHECK_STR_EQ(parts("6", 6), "partition 6 does not exist: the topic has 6 (0..5)");
        HD_CHECK_STR_EQ(parts("0-9", 6), "partition 9 does not exist: the topic has 6 (0..5)");
        HD_CHECK_CONTAINS(parts("", 6), "bad partition list \"\"");
        HD_CHECK_CONTAINS(parts("1,,2", 6), "bad partition list");
        HD_CHECK_CONTAINS(parts("3-1", 6), "bad partition list");
        HD_CHECK_CONTAINS(parts("a", 6), "bad partition list");
        HD_CHECK_CONTAINS(parts("-1", 6), "bad partition list");
        HD_CHECK_CONTAINS(parts("1 ", 6), "bad partition list");
        HD_CHECK_CONTAINS(parts("1,", 6), "trailing comma");
        HD_CHECK_CONTAINS(parts("99999999999999999999", 6), "does not exist");
        return hd_test_finish("test_offsets");
}
