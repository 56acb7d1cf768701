/* hd_retry: see hd_retry.h. */
#include "hd_retry.h"
#include "hd_util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void hd_retry_default(hd_retry_schedule_t *out)
{
        hd_retry_parse("0s,5s,5m,30m,2h,5h,10h,10h", out, NULL, 0);
}

int hd_retry_parse(const char *text, hd_retry_schedule_t *out, char *errstr,
                   size_t errstr_size)
{
        const char *p = text;

        memset(out, 0, sizeof(*out));
        out->jitter_pct = 20;
        out->retry_after_max_ms = 6 * 3600 * 1000LL;
        while (*p) {
                char *end;
                long long v = strtoll(p, &end, 10);
                int64_t mult;
                if (end == p || v < 0)
                        return hd_seterr(errstr, errstr_size,
                                         "retry schedule \"%s\": expected a delay at \"%s\"",
                                         text, p);
                if (!strncmp(end, "ms", 2))
                        mult = 1, end += 2;
                else if (*end == 's')
                        mult = 1000, end++;
                else if (*end == 'm')
                        mult = 60000, end++;
                else if (*end == 'h')
                        mult = 3600000, end++;
                else
                        return hd_seterr(errstr, errstr_size,
                                         "retry schedule \"%s\": a delay needs a unit "
                                         "(ms, s, m, h)", text);
                if (out->n == HD_RETRY_MAX_STEPS || v > 7 * 24 * 3600000LL / mult)
                        return hd_seterr(errstr, errstr_size,
                                         "retry schedule \"%s\": at most %d steps of at most "
                                         "7 days", text, HD_RETRY_MAX_STEPS);
                out->delay_ms[out->n++] = v * mult;
                if (*end == ',')
                        end++;
                else if (*end)
                        return hd_seterr(errstr, errstr_size,
                                         "retry schedule \"%s\": unexpected \"%s\"", text, end);
                p = end;
        }
        if (!out->n)
                return hd_seterr(errstr, errstr_size, "retry schedule is empty");
        return 0;
}

int64_t hd_retry_delay(const hd_retry_schedule_t *s, size_t attempt, int64_t retry_after_ms,
                       unsigned *seed)
{
        int64_t base, spread;

        if (attempt < 1 || attempt > s->n)
                return -1;
        base = s->delay_ms[attempt - 1];
        if (retry_after_ms >= 0 && attempt > 1) {
                int64_t lo = base / 2;
                base = retry_after_ms < lo ? lo
                       : retry_after_ms > s->retry_after_max_ms ? s->retry_after_max_ms
                                                                : retry_after_ms;
                return base; /* the server asked for a time: no jitter on top */
        }
        spread = base * s->jitter_pct / 100;
        if (spread > 0)
                base += (int64_t)(rand_r(seed) % (2 * spread + 1)) - spread;
        return base;
}

int64_t hd_retry_after_parse(const char *value, int64_t now_s)
{
        struct tm tm = {0};
        char *end;
        long long secs;

        if (!value)
                return -1;
        secs = strtoll(value, &end, 10);
        if (end != value && !*end)
                return secs < 0 ? -1 : secs * 1000;
        if (!strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm))
                return -1;
        secs = (long long)timegm(&tm) - now_s;
        return secs < 0 ? 0 : secs * 1000;
}

hd_outcome_t hd_retry_classify_http(long status)
{
        if (status >= 200 && status < 300)
                return HD_OUTCOME_DELIVERED;
        if (status == 410)
                return HD_OUTCOME_DISABLE;
        if (status == 0 || status >= 500 || status == 408 || status == 429)
                return HD_OUTCOME_RETRY;
        return HD_OUTCOME_DEAD;
}
