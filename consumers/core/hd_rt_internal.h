/*
 * hd_rt internals (see hd_rt.h). One thread (the loop) owns every piece of delivery
 * state: assigned partitions and their completion trackers, records in flight,
 * the dispatch lanes and retry timers; the intake thread only decodes records and
 * prepares their deliveries, and worker threads only perform the channel's
 * attempts, each handing its results back through a queue. That keeps invariants 1-6 of DESIGN §5
 * checkable in one place: a record is final when each of its deliveries is
 * delivered, dead-lettered (DLQ write acknowledged) or its subscription disabled,
 * and only final records move the committed offset.
 */
#ifndef HD_RT_INTERNAL_H
#define HD_RT_INTERNAL_H

#include "hd_config.h"
#include "hd_rt.h"
#include "hd_dispatch.h"
#include "hd_registry.h"
#include "hd_retry.h"
#include "hd_serde.h"
#include "hd_subs.h"
#include "hd_tracker.h"
#include "hd_rt_metrics.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>

/* Results a worker lets pile up before it wakes the loop while the work queue is
 * deep (hd_rt_want_wake). */
#define HD_RT_WAKE_BATCH 16

typedef struct hd_part {
        char *topic;
        int32_t partition;
        int ordered;
        hd_tracker_t *tracker;
        int paused, revoked;
        int64_t last_commit;       /* what was committed last, to skip repeats */
        char last_md[256];
        /* Records taken from the consumer queue, not yet looked at, in order: the
         * queue hands out one partition's fetched batch after another, and taking
         * them in turns per partition starts every partition's keys early. */
        rd_kafka_message_t **inbox;
        size_t in_head, in_len, in_cap;
        int64_t full_since_us;     /* twice the window in the inbox since (0: not) */
        struct hd_part *next;
} hd_part_t;

typedef struct hd_rec {
        hd_part_t *part;
        int64_t offset;
        int pending;               /* deliveries not final yet */
        char *key;                 /* NULL: none */
        void *raw;                 /* the original value, for the DLQ */
        size_t rawlen;
        json_t *event;             /* decoded; NULL once fanned out, or undecodable */
        /* prepared by the intake thread (hd_rt_intake.c) */
        struct hd_job *jobs;       /* its deliveries, not yet in the dispatch */
        const char *poison;        /* not decodable: the DLQ reason; error says why */
        char *error;
        struct hd_rec *next;       /* the intake's queues */
} hd_rec_t;

/* The intake thread's queues (guarded by lock): records to prepare, prepared ones. */
typedef struct hd_rt_intake {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int inited, started, stop;
        hd_rec_t *todo, *todo_tail, *out, *out_tail;
        int wake_sent;             /* the loop was woken for what is on out */
        size_t held;               /* handed over, not yet collected (the loop's count) */
        hd_rec_t *batch, *batch_tail; /* the loop's, not yet handed over (no lock) */
} hd_rt_intake_t;

/* One worker thread; idle ones wait on their own condition, most recent on top. */
typedef struct hd_rt_wslot {
        struct hd_rt *rt;
        pthread_t thread;
        pthread_cond_t cond;
        int idle;                  /* on the idle stack (guarded by the runtime's lock) */
        struct hd_rt_wslot *next_idle;
} hd_rt_wslot_t;

typedef struct hd_job {
        hd_rec_t *rec;
        json_t *sub;               /* NULL: a record-level dead letter (decode failure) */
        hd_djob_t *dj;             /* its dispatch slot (lane) while not final */
        char msg_id[200];
        void *payload;             /* the channel's prepared delivery; NULL: not renderable */
        int attempt;               /* attempts made */
        int dlq_retry;             /* the timer re-writes the DLQ record, not HTTP */
        int64_t due_us;            /* retry timer */
        hd_rt_result_t res;
        double seconds;            /* duration of the last attempt */
        int64_t t0_us;             /* when an asynchronous attempt started */
        char reason[300];          /* why it is dead-lettered */
        struct hd_job *next;       /* work queue, done queue or timer list */
} hd_job_t;

struct hd_rt {
        const hd_config_t *cfg;
        hd_rt_conf_t rc;
        const hd_channel_t *ch;
        void *ctx;                 /* the channel's */
        rd_kafka_t *consumer, *producer;
        hd_registry_t *reg;
        hd_serde_t *serde;
        hd_subs_t *subs;
        hd_dispatch_t *dispatch;
        hd_retry_schedule_t sched;
        char *dlq_topic;
        hd_part_t *parts;
        size_t inbox_turn; /* the partition whose inbox is looked at first next */
        hd_job_t *timers;
        int64_t last_commit_us;
        unsigned seed;
        volatile int stopping;
        /* worker pool */
        hd_rt_wslot_t *slots;
        int nthreads;
        pthread_mutex_t lock;
        hd_rt_wslot_t *idle;       /* idle workers, the last to finish on top */
        hd_job_t *todo, *todo_tail, *done;
        int ntodo;                 /* jobs on todo */
        size_t ndone;              /* results in done */
        int wake_sent;             /* the loop was woken for them (hd_rt_want_wake) */
        int stop_workers;
        /* The consumer's queue: a worker with results for the loop yields it so the
         * loop's poll returns at once instead of at its timeout (NULL once the
         * consumer is gone; guarded by wake_lock, not lock, so that the yield does not
         * hold up the other workers). */
        pthread_mutex_t wake_lock;
        rd_kafka_queue_t *wakeq;
        /* With a channel that has loop_fd: the loop waits in poll() on the consumer
         * queue's io-event descriptor, wake_efd (results from workers) and the
         * channel's descriptor; -1 otherwise. */
        int kafka_efd, wake_efd;
        pthread_t loop_thread;
        int loop_running;
        int turn_inline, turn_nested; /* outcomes in the channel's turn (hd_rt_attempt_done) */
        hd_rt_intake_t intake;
        /* counters for logs */
        long delivered, dead, retried, disabled;
        hd_rt_metrics_t metrics;
        int metrics_port;
};

/* hd_rt_work.c */
int hd_rt_workers_start(hd_rt_t *w, char *errstr, size_t errstr_size);
void hd_rt_workers_stop(hd_rt_t *w);
void hd_rt_submit_attempt(hd_rt_t *w, hd_job_t *job);
void hd_rt_drain_results(hd_rt_t *w);
void hd_rt_fire_timers(hd_rt_t *w);
void hd_rt_start_ready(hd_rt_t *w);
void hd_rt_dead_letter(hd_rt_t *w, hd_job_t *job, const char *reason);
void hd_rt_job_final(hd_rt_t *w, hd_job_t *job);
void hd_rt_job_free(hd_rt_t *w, hd_job_t *job);
void hd_rt_rec_free(hd_rt_t *w, hd_rec_t *rec);
void hd_rt_dlq_report(hd_rt_t *w, const rd_kafka_message_t *m);
void hd_rt_wake_loop(hd_rt_t *w);

/* hd_rt_intake.c */
int hd_rt_intake_start(hd_rt_t *w, char *errstr, size_t errstr_size);
void hd_rt_intake_stop(hd_rt_t *w);
size_t hd_rt_intake_room(const hd_rt_t *w);
void hd_rt_intake_put(hd_rt_t *w, hd_rec_t *rec);
void hd_rt_intake_flush(hd_rt_t *w);
size_t hd_rt_intake_collect(hd_rt_t *w);

/* hd_rt.c */
int hd_rt_channel_turn(hd_rt_t *w);

/* hd_rt_records.c */
void hd_rt_take(hd_rt_t *w, rd_kafka_message_t *m);
size_t hd_rt_process_inboxes(hd_rt_t *w, size_t budget);
void hd_rt_inbox_clear(hd_part_t *p);
void hd_rt_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *parts, void *opaque);
void hd_rt_commit(hd_rt_t *w, int sync);
int hd_rt_flow_control(hd_rt_t *w);
size_t hd_rt_open_records(hd_rt_t *w, int revoked_only);
void hd_rt_metrics_update(hd_rt_t *w);

#endif
