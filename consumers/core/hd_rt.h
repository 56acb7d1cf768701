/*
 * hd_rt: the consumer runtime both delivery daemons run on (DESIGN §5). It joins
 * the daemon's consumer group on the ordered and unordered event topics after the
 * subscriptions are loaded, decodes each record, fans it out to the matching
 * subscriptions of its channel, runs the deliveries on worker threads through the
 * dispatch lanes (order per (subscription, key) on the ordered topic), retries on
 * the schedule, dead-letters what cannot be delivered, commits only what is final
 * (with completion metadata), pauses full partitions, handles rebalances, and
 * serves the Prometheus endpoint. A channel (webhook, e-mail) supplies only what
 * differs: how one delivery is prepared and attempted.
 */
#ifndef HD_RT_H
#define HD_RT_H

#include "hd_config.h"
#include "hd_retry.h"

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* What one attempt came to, filled by the channel on a worker thread. */
typedef struct hd_rt_result {
        hd_outcome_t outcome;
        long status;               /* HTTP status or SMTP reply code; 0 = no answer */
        int64_t retry_after_ms;    /* the server's requested delay, -1 = none */
        int refused;               /* refused before sending (target, content) */
        char reason[64];           /* error class for the DLQ when dead, "" = derived */
        char error[256];           /* detail (network, TLS, server text) */
} hd_rt_result_t;

struct hd_rt;

typedef struct hd_channel {
        /* The subscriptions' "channel" value, also the log component. */
        const char *name;
        /* Loop thread, once per (record, subscription): what to send, or NULL with
         * the reason (the delivery is then dead-lettered as render_failed). */
        void *(*prepare)(void *ctx, const json_t *event, const json_t *sub, const char *msg_id,
                         char *errstr, size_t errstr_size);
        void (*payload_free)(void *payload);
        /* Worker thread: one attempt. *wstate is the worker's own state (NULL at
         * first: connections it keeps open), released by worker_end. */
        void (*attempt)(void *ctx, void **wstate, const json_t *sub, const char *msg_id,
                        void *payload, hd_rt_result_t *res);
        void (*worker_end)(void *ctx, void *wstate);
        /* The delivery's idempotency id, stable across retries and replays. */
        void (*message_id)(const json_t *event, const json_t *sub, char *buf, size_t size);
        /* Per-subscription concurrency limit (0 = the runtime's default). */
        size_t (*max_in_flight)(const json_t *sub);
        /* Per-subscription deliveries per second (0 = unlimited); may be NULL. */
        double (*rate_limit)(const json_t *sub);
        /* Once the subscriptions are loaded, before the group is joined: refuse to
         * start (-1 with the reason) when they cannot work with this config; may be
         * NULL. subs maps id -> subscription. */
        int (*check)(void *ctx, const json_t *subs, char *errstr, size_t errstr_size);
        /* Optional, loop thread: the attempt without a worker thread. 0 when the
         * channel took it: it fills res and calls hd_rt_attempt_done(rt, token, …) once,
         * from any thread (or hd_rt_attempt_on_worker(rt, token) when it declines
         * after all, having sent nothing); -1: a worker makes it through attempt(). */
        int (*attempt_async)(void *ctx, struct hd_rt *rt, void *token, const json_t *sub,
                             const char *msg_id, void *payload, hd_rt_result_t *res);
        /* Optional: ends every asynchronous attempt (each reported done) before the
         * workers stop. */
        void (*async_stop)(void *ctx);
        /* Optional, loop thread: a descriptor the loop also waits on (readable when
         * loop_run has work; -1 while there is none yet), and the channel's turn in
         * every round of the loop: handles what is ready without blocking, returns
         * the ms until it needs its next turn at the latest. Asynchronous attempts
         * can then run on the loop thread itself, with no hand-off between threads. */
        int (*loop_fd)(void *ctx);
        int (*loop_run)(void *ctx);
} hd_channel_t;

/* The group's settings: webhook.* or email.* of the config. */
typedef struct hd_rt_conf {
        const char *group;
        int workers, max_in_flight, window;
        const char *retry_schedule;
        int commit_interval_ms, revoke_timeout_ms;
        const char *metrics_listen;
} hd_rt_conf_t;

typedef struct hd_rt hd_rt_t;

/* Everything up to consuming: registry, subscriptions loaded, metrics, workers,
 * Kafka clients subscribed. cfg stays the caller's and must outlive the runtime. */
hd_rt_t *hd_rt_new(const hd_config_t *cfg, const hd_rt_conf_t *rc, const hd_channel_t *ch,
                   void *ctx, char *errstr, size_t errstr_size);
/* An asynchronous attempt (hd_channel_t.attempt_async) is over: its res is filled.
 * queued: attempts the channel still holds waiting to start; while there are some,
 * the loop is woken only for a batch of results (it is not needed to feed it). */
void hd_rt_attempt_done(hd_rt_t *rt, void *token, size_t queued);
/* An asynchronous attempt the channel gave back unsent: a worker makes it. */
void hd_rt_attempt_on_worker(hd_rt_t *rt, void *token);

/* Consumes until *stop becomes non-zero. */
void hd_rt_run(hd_rt_t *rt, volatile sig_atomic_t *stop);
int hd_rt_metrics_port(const hd_rt_t *rt);
/* Clean stop: revoke (finish in flight within the bound, commit), leave the group,
 * flush the DLQ writes, log the totals, free. */
void hd_rt_destroy(hd_rt_t *rt);

#endif
