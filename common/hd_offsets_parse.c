/*
 * hd_offsets_parse: the replay/status CLI's argument parsers (see hd_offsets.h):
 * ISO 8601 date-times and durations, partition lists. Strict: anything not
 * understood is refused with the argument and the problem named.
 */
#include "hd_offsets.h"
#include "hd_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Exactly n digits at *sp, advancing it. */
static int hd_digits(const char **sp, int n, int *out)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char)(*sp)[i]))
                        return -1;
                v = v * 10 + ((*sp)[i] - '0');
        }
        *sp += n;
        *out = v;
        return 0;
}

/* "Z", "+HH:MM", "+HHMM", "+HH" or nothing (UTC), in seconds east. */
static int hd_zone(const char *s, int *offp)
{
        int sign, h = 0, m = 0;

        *offp = 0;
        if (!*s || !strcmp(s, "Z") || !strcmp(s, "z"))
                return 0;
        if (*s != '+' && *s != '-')
                return -1;
        sign = *s++ == '-' ? -1 : 1;
        if (hd_digits(&s, 2, &h))
                return -1;
        if (*s == ':')
                s++;
        if (*s && hd_digits(&s, 2, &m))
                return -1;
        if (*s || h > 23 || m > 59)
                return -1;
        *offp = sign * (h * 3600 + m * 60);
        return 0;
}

/* "HH:MM[:SS[.fff]]" at *sp. */
static int hd_clock(const char **sp, struct tm *tm, int *msp)
{
        const char *s = *sp;

        if (hd_digits(&s, 2, &tm->tm_hour) || *s++ != ':' || hd_digits(&s, 2, &tm->tm_min))
                return -1;
        if (*s == ':') {
                s++;
                if (hd_digits(&s, 2, &tm->tm_sec))
                        return -1;
                if (*s == '.' || *s == ',') {
                        int scale = 100;
                        if (!isdigit((unsigned char)*++s))
                                return -1;
                        for (; isdigit((unsigned char)*s); s++, scale /= 10)
                                *msp += (*s - '0') * scale;
                }
        }
        *sp = s;
        return tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 59 ? -1 : 0;
}

int hd_parse_iso8601(const char *s, int64_t *msp, char *errstr, size_t errstr_size)
{
        const char *p = s;
        struct tm tm = {0}, check;
        int ms = 0, zone = 0;
        time_t t;

        if (hd_digits(&p, 4, &tm.tm_year) || *p++ != '-' || hd_digits(&p, 2, &tm.tm_mon) ||
            *p++ != '-' || hd_digits(&p, 2, &tm.tm_mday))
                goto bad;
        if ((*p == 'T' || *p == 't' || *p == ' ') && (p++, hd_clock(&p, &tm, &ms)))
                goto bad;
        if (hd_zone(p, &zone))
                goto bad;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        check = tm;
        t = timegm(&tm);
        /* timegm normalises 2026-02-30 to March: a changed field means no such day */
        if (t == (time_t)-1 || tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon)
                goto bad;
        *msp = ((int64_t)t - zone) * 1000 + ms;
        return 0;
bad:
        return hd_seterr(errstr, errstr_size,
                         "bad date-time \"%s\": expected ISO 8601 like 2026-11-27T14:30:00Z "
                         "(also YYYY-MM-DD, a fraction of seconds, +HH:MM; no zone = UTC)",
                         s);
}

int hd_parse_duration(const char *s, int64_t *msp, char *errstr, size_t errstr_size)
{
        static const char units_date[] = "WD", units_time[] = "HMS";
        static const int64_t ms_date[] = {7 * 86400000LL, 86400000LL};
        static const int64_t ms_time[] = {3600000LL, 60000LL, 1000LL};
        const char *p = s, *u;
        int64_t total = 0;
        int in_time = 0, parts = 0, last = -1;

        if (*p++ != 'P')
                goto bad;
        while (*p) {
                double v;
                char *end;
                const char *units = in_time ? units_time : units_date;
                if (*p == 'T' && !in_time) {
                        in_time = 1, last = -1, p++;
                        if (!*p)
                                goto bad;
                        continue;
                }
                if (!isdigit((unsigned char)*p))
                        goto bad;
                v = strtod(p, &end);
                if (end == p || !*end || !(u = strchr(units, *end)) || u - units <= last ||
                    v > 1e9 || (*end != 'S' && memchr(p, '.', (size_t)(end - p))))
                        goto bad;
                last = (int)(u - units);
                total += (int64_t)(v * (double)(in_time ? ms_time : ms_date)[last]);
                parts++;
                p = end + 1;
        }
        if (!parts)
                goto bad;
        *msp = total;
        return 0;
bad:
        return hd_seterr(errstr, errstr_size,
                         "bad duration \"%s\": expected ISO 8601 PnDTnHnMnS like P1D, PT2H30M, "
                         "P1DT12H or PT90.5S (weeks PnW; no years or months)",
                         s);
}

static int hd_part_cmp(const void *a, const void *b)
{
        int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
        return (x > y) - (x < y);
}

/* One number at *sp within [0, count). */
static int hd_part_num(const char **sp, int count, long *out, const char *all, char *errstr,
                       size_t errstr_size)
{
        char *end;

        if (!isdigit((unsigned char)**sp))
                return hd_seterr(errstr, errstr_size,
                                 "bad partition list \"%s\": expected numbers and ranges like "
                                 "0,2,4-6",
                                 all);
        *out = strtol(*sp, &end, 10);
        *sp = end;
        if (*out >= count)
                return hd_seterr(errstr, errstr_size,
                                 "partition %ld does not exist: the topic has %d (0..%d)", *out,
                                 count, count - 1);
        return 0;
}

int hd_parse_partitions(const char *s, int count, int32_t **outp, size_t *np, char *errstr,
                        size_t errstr_size)
{
        int32_t *v = hd_calloc((size_t)count + 1, sizeof(*v));
        char *seen = hd_calloc((size_t)count + 1, 1);
        const char *p = s;
        size_t n = 0;

        do {
                long a, b;
                if (hd_part_num(&p, count, &a, s, errstr, errstr_size))
                        goto fail;
                b = a;
                if (*p == '-' && (p++, hd_part_num(&p, count, &b, s, errstr, errstr_size)))
                        goto fail;
                if (b < a || (*p && *p != ',')) {
                        hd_seterr(errstr, errstr_size,
                                  "bad partition list \"%s\": expected numbers and ranges like "
                                  "0,2,4-6",
                                  s);
                        goto fail;
                }
                for (long i = a; i <= b; i++)
                        if (!seen[i]++)
                                v[n++] = (int32_t)i;
        } while (*p && *++p);
        if (p > s && p[-1] == ',') {
                hd_seterr(errstr, errstr_size, "bad partition list \"%s\": trailing comma", s);
                goto fail;
        }
        qsort(v, n, sizeof(*v), hd_part_cmp);
        free(seen);
        *outp = v;
        *np = n;
        return 0;
fail:
        free(seen);
        free(v);
        return -1;
}
