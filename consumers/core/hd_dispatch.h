/*
 * hd_dispatch: which delivery may start now (DESIGN §5 invariants 2-4).
 * A job belongs to a subscription and, on an ordered topic, to a lane =
 * (subscription, key): a lane runs one job at a time, in submission order, so
 * record n+1 for an account starts only after record n reached a final state.
 * Unordered jobs have no lane. Different lanes and subscriptions run in parallel,
 * bounded by each subscription's max_in_flight and a global limit, so one slow
 * or failing endpoint holds only its own slots. A rate-limited subscription's jobs
 * wait for a token the same way, without holding up anyone else.
 */
#ifndef HD_DISPATCH_H
#define HD_DISPATCH_H

#include <stddef.h>

typedef struct hd_dispatch hd_dispatch_t;
typedef struct hd_djob hd_djob_t;

hd_dispatch_t *hd_dispatch_new(size_t global_limit);
/* Frees the jobs still waiting (not their user data); finish running ones first. */
void hd_dispatch_destroy(hd_dispatch_t *d);

/* Per-subscription concurrency (default 16 until set). */
void hd_dispatch_set_limit(hd_dispatch_t *d, const char *sub, size_t max_in_flight);

/* Per-subscription rate limit in deliveries per second (0 = none): a token bucket
 * holding at most one second's worth, so bursts stay within the stated rate. */
void hd_dispatch_set_rate(hd_dispatch_t *d, const char *sub, double per_second);

/* Queues a job; key NULL = unordered. Returns the handle hd_dispatch_done takes. */
hd_djob_t *hd_dispatch_submit(hd_dispatch_t *d, const char *sub, const char *key, void *ud);

/* The next job allowed to start (its user data), or NULL; the job counts as running. */
hd_djob_t *hd_dispatch_next(hd_dispatch_t *d);
void *hd_djob_data(const hd_djob_t *j);

/* A running job reached a final state: frees it and unblocks its lane. */
void hd_dispatch_done(hd_dispatch_t *d, hd_djob_t *j);

size_t hd_dispatch_running(const hd_dispatch_t *d);
size_t hd_dispatch_waiting(const hd_dispatch_t *d);

#endif
