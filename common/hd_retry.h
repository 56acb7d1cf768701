/*
 * hd_retry: when to try a failed delivery again, and whether to at all.
 * The default schedule is Standard Webhooks / Svix: immediately, 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h, 10 h, each delay ±20 % jitter so a recovering endpoint
 * is not hit by every record at once. After the last attempt the record goes to
 * the dead-letter topic. A Retry-After on 429/503 is honoured within bounds.
 */
#ifndef HD_RETRY_H
#define HD_RETRY_H

#include <stddef.h>
#include <stdint.h>

#define HD_RETRY_MAX_STEPS 32

typedef struct hd_retry_schedule {
        int64_t delay_ms[HD_RETRY_MAX_STEPS]; /* before attempt i+1 */
        size_t n;                              /* attempts = n */
        int jitter_pct;                        /* ± percent */
        int64_t retry_after_max_ms;            /* Retry-After above this is capped */
} hd_retry_schedule_t;

/* Parses "0s,5s,5m,30m,2h,5h,10h,10h" (units ms, s, m, h). */
int hd_retry_parse(const char *text, hd_retry_schedule_t *out, char *errstr,
                   size_t errstr_size);

void hd_retry_default(hd_retry_schedule_t *out);

/*
 * Delay before attempt `attempt` (1-based; attempt 1 is the first try), with
 * jitter from *seed; -1 when the schedule is exhausted. retry_after_ms >= 0 (from
 * the answer) replaces the scheduled delay, clamped to [scheduled/2, max].
 */
int64_t hd_retry_delay(const hd_retry_schedule_t *s, size_t attempt, int64_t retry_after_ms,
                       unsigned *seed);

/* Retry-After value ("120" or an HTTP-date) -> ms from now_s; -1 when unparseable. */
int64_t hd_retry_after_parse(const char *value, int64_t now_s);

typedef enum {
        HD_OUTCOME_DELIVERED,  /* 2xx */
        HD_OUTCOME_RETRY,      /* 5xx, 408, 429, network, DNS, TLS, timeout */
        HD_OUTCOME_DEAD,       /* other 4xx, 3xx (redirects are not followed) */
        HD_OUTCOME_DISABLE,    /* 410 Gone: the subscription is disabled */
} hd_outcome_t;

/* Classifies an HTTP status (0 = no answer: network error or timeout). */
hd_outcome_t hd_retry_classify_http(long status);

#endif
