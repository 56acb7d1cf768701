/*
 * hd_rt_work: the channel's attempts on worker threads, their outcomes on the loop:
 * delivered, retried on the schedule (the job keeps its lane, so order holds),
 * dead-lettered, or the subscription disabled (webhook 410).
 */
#include "hd_rt_internal.h"
#include "hd_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Leaves the idle stack (a worker that found work without being popped). */
static void hd_rt_unidle(hd_rt_t *w, hd_rt_wslot_t *me)
{
        hd_rt_wslot_t **pp = &w->idle;

        while (*pp && *pp != me)
                pp = &(*pp)->next_idle;
        if (*pp)
                *pp = me->next_idle;
        me->idle = 0;
}

void hd_rt_wake_loop(hd_rt_t *w)
{
        static const uint64_t one = 1;

        pthread_mutex_lock(&w->wake_lock);
        if (w->wakeq)
                rd_kafka_queue_yield(w->wakeq);
        if (w->wake_efd >= 0 && write(w->wake_efd, &one, sizeof(one)) < 0)
                (void)0; /* the counter is read on every wake: it cannot fill */
        pthread_mutex_unlock(&w->wake_lock);
}

/*
 * Whether a worker should wake the loop for the results waiting (under lock): once
 * per drain, as soon as the jobs queued for the workers run short (no more than
 * there are workers: the loop must feed them, and a lane waiting on one of these
 * results is such a case, so ordered streams are not held up) or a batch of results
 * is there. While the queue is deep the loop is not needed for every single result,
 * and each wake-up costs a context switch; a result that waits is picked up by the
 * next batch, or by the loop's own poll timeout.
 */
static int hd_rt_want_wake(hd_rt_t *w, int deep)
{
        if (w->wake_sent || !w->done || (deep && w->ndone < HD_RT_WAKE_BATCH))
                return 0;
        w->wake_sent = 1;
        return 1;
}

static void *hd_rt_worker(void *arg)
{
        hd_rt_wslot_t *me = arg;
        hd_rt_t *w = me->rt;
        void *state = NULL; /* the channel's per-worker state: its open connections */

        for (;;) {
                hd_job_t *job;
                int64_t t0;
                int wake;

                pthread_mutex_lock(&w->lock);
                while (!w->todo && !w->stop_workers) {
                        if (!me->idle) {
                                me->idle = 1;
                                me->next_idle = w->idle;
                                w->idle = me;
                        }
                        pthread_cond_wait(&me->cond, &w->lock);
                }
                if (me->idle)
                        hd_rt_unidle(w, me);
                if (!w->todo) {
                        pthread_mutex_unlock(&w->lock);
                        if (w->ch->worker_end)
                                w->ch->worker_end(w->ctx, state);
                        return NULL;
                }
                job = w->todo;
                w->todo = job->next;
                if (!w->todo)
                        w->todo_tail = NULL;
                w->ntodo--;
                wake = hd_rt_want_wake(w, w->ntodo > w->nthreads);
                pthread_mutex_unlock(&w->lock);
                if (wake)
                        hd_rt_wake_loop(w);

                memset(&job->res, 0, sizeof(job->res));
                job->res.retry_after_ms = -1;
                t0 = hd_mono_us();
                w->ch->attempt(w->ctx, &state, job->sub, job->msg_id, job->payload, &job->res);
                job->seconds = (double)(hd_mono_us() - t0) / 1e6;
                pthread_mutex_lock(&w->lock);
                job->next = w->done;
                w->done = job;
                w->ndone++;
                wake = hd_rt_want_wake(w, w->ntodo > w->nthreads);
                pthread_mutex_unlock(&w->lock);
                if (wake) /* outside the work lock: the yield is a syscall at times */
                        hd_rt_wake_loop(w);
        }
}

int hd_rt_workers_start(hd_rt_t *w, char *errstr, size_t errstr_size)
{
        pthread_mutex_init(&w->lock, NULL);
        pthread_mutex_init(&w->wake_lock, NULL);
        w->slots = hd_calloc((size_t)w->rc.workers, sizeof(*w->slots));
        for (int i = 0; i < w->rc.workers; i++) {
                hd_rt_wslot_t *s = &w->slots[i];
                s->rt = w;
                pthread_cond_init(&s->cond, NULL);
                if (pthread_create(&s->thread, NULL, hd_rt_worker, s)) {
                        pthread_cond_destroy(&s->cond);
                        return hd_seterr(errstr, errstr_size, "cannot start worker threads");
                }
                w->nthreads = i + 1;
        }
        return 0;
}

void hd_rt_workers_stop(hd_rt_t *w)
{
        /* Asynchronous attempts end first: one given back unsent still needs a worker. */
        if (w->ch->async_stop)
                w->ch->async_stop(w->ctx);
        pthread_mutex_lock(&w->lock);
        w->stop_workers = 1;
        for (int i = 0; i < w->nthreads; i++)
                pthread_cond_signal(&w->slots[i].cond);
        pthread_mutex_unlock(&w->lock);
        for (int i = 0; i < w->nthreads; i++) {
                pthread_join(w->slots[i].thread, NULL);
                pthread_cond_destroy(&w->slots[i].cond);
        }
        free(w->slots);
        w->slots = NULL;
        w->nthreads = 0;
}

/* The job goes to the worker that went idle last: its connection and caches are the
 * warmest (a condition shared by all would wake the one idle longest). */
static void hd_rt_to_workers(hd_rt_t *w, hd_job_t *job)
{
        hd_rt_wslot_t *s;

        job->next = NULL;
        pthread_mutex_lock(&w->lock);
        if (w->todo_tail)
                w->todo_tail->next = job;
        else
                w->todo = job;
        w->todo_tail = job;
        w->ntodo++;
        if ((s = w->idle)) {
                w->idle = s->next_idle;
                s->idle = 0;
                pthread_cond_signal(&s->cond);
        }
        pthread_mutex_unlock(&w->lock);
}

/* The channel's asynchronous path first, when it has one; else a worker. */
void hd_rt_submit_attempt(hd_rt_t *w, hd_job_t *job)
{
        job->attempt++;
        if (w->ch->attempt_async) {
                memset(&job->res, 0, sizeof(job->res));
                job->res.retry_after_ms = -1;
                job->t0_us = hd_mono_us();
                if (!w->ch->attempt_async(w->ctx, w, job, job->sub, job->msg_id, job->payload,
                                          &job->res))
                        return;
        }
        hd_rt_to_workers(w, job);
}

void hd_rt_attempt_on_worker(hd_rt_t *w, void *token)
{
        hd_rt_to_workers(w, token);
}

static void hd_rt_outcome(hd_rt_t *w, hd_job_t *job);

void hd_rt_attempt_done(hd_rt_t *w, void *token, size_t queued)
{
        hd_job_t *job = token;
        int wake;

        job->seconds = (double)(hd_mono_us() - job->t0_us) / 1e6;
        /* In the loop's own channel turn (not nested in another such outcome): the
         * outcome now, and what it lets start (the next record of this key) goes out
         * before the turn reads the other answers that came in with this one. An
         * answer otherwise waited for the whole turn: the receiver's answers come in
         * bursts (timers on a millisecond tick), ~25 at a time in the benchmark. */
        if (w->turn_inline && !w->turn_nested && w->loop_running &&
            pthread_equal(pthread_self(), w->loop_thread)) {
                w->turn_nested = 1;
                hd_rt_outcome(w, job);
                hd_rt_start_ready(w);
                w->turn_nested = 0;
                return;
        }
        pthread_mutex_lock(&w->lock);
        job->next = w->done;
        w->done = job;
        w->ndone++;
        /* on the loop thread itself (a channel it drives) nobody needs waking */
        wake = !(w->loop_running && pthread_equal(pthread_self(), w->loop_thread)) &&
               hd_rt_want_wake(w, queued > 0);
        pthread_mutex_unlock(&w->lock);
        if (wake)
                hd_rt_wake_loop(w);
}

void hd_rt_job_free(hd_rt_t *w, hd_job_t *job)
{
        json_decref(job->sub);
        if (job->payload)
                w->ch->payload_free(job->payload);
        free(job);
}

/* The record and what the intake left on it (deliveries never dispatched, an error). */
void hd_rt_rec_free(hd_rt_t *w, hd_rec_t *rec)
{
        while (rec->jobs) {
                hd_job_t *next = rec->jobs->next;
                hd_rt_job_free(w, rec->jobs);
                rec->jobs = next;
        }
        free(rec->error);
        json_decref(rec->event);
        free(rec->key);
        free(rec->raw);
        free(rec);
}

/* A delivery reached a final state; the record is final with its last one. */
void hd_rt_job_final(hd_rt_t *w, hd_job_t *job)
{
        hd_rec_t *rec = job->rec;

        if (job->dj)
                hd_dispatch_done(w->dispatch, job->dj);
        if (--rec->pending == 0) {
                if (rec->part->revoked != 1) /* abandoned partitions are not ours */
                        hd_tracker_done(rec->part->tracker, rec->offset);
                hd_rt_rec_free(w, rec);
        }
        hd_rt_job_free(w, job);
}

static void hd_hdr(rd_kafka_headers_t *h, const char *name, const char *fmt, ...)
        HD_PRINTF(3, 4);

static void hd_hdr(rd_kafka_headers_t *h, const char *name, const char *fmt, ...)
{
        char v[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(v, sizeof(v), fmt, ap);
        va_end(ap);
        rd_kafka_header_add(h, name, -1, v, -1);
}

/*
 * Writes the record to the DLQ with the reason in headers; the delivery becomes
 * final only when the write is acknowledged (hd_rt_dlq_report).
 */
void hd_rt_dead_letter(hd_rt_t *w, hd_job_t *job, const char *reason)
{
        hd_rec_t *rec = job->rec;
        rd_kafka_headers_t *h = rd_kafka_headers_new(9);
        rd_kafka_resp_err_t err;

        if (reason)
                hd_strlcpy(job->reason, reason, sizeof(job->reason));
        hd_hdr(h, "herald.error.class", "%s", job->reason);
        hd_hdr(h, "herald.error.detail", "%s", job->res.error[0] ? job->res.error : job->reason);
        hd_hdr(h, "herald.last.status", "%ld", job->res.status);
        hd_hdr(h, "herald.attempts", "%d", job->attempt);
        hd_hdr(h, "herald.subscription.id", "%s",
               job->sub ? json_string_value(json_object_get(job->sub, "id")) : "");
        hd_hdr(h, "herald.original.topic", "%s", rec->part->topic);
        hd_hdr(h, "herald.original.partition", "%d", (int)rec->part->partition);
        hd_hdr(h, "herald.original.offset", "%lld", (long long)rec->offset);
        err = rd_kafka_producev(w->producer, RD_KAFKA_V_TOPIC(w->dlq_topic),
                                RD_KAFKA_V_KEY(rec->key, rec->key ? strlen(rec->key) : 0),
                                RD_KAFKA_V_VALUE(rec->rawlen ? rec->raw : NULL, rec->rawlen),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(job), RD_KAFKA_V_END);
        if (err) {
                rd_kafka_headers_destroy(h);
                hd_logkv(HD_LOG_WARN, w->ch->name, "DLQ write refused, will retry", "error",
                         rd_kafka_err2str(err), NULL);
                job->due_us = hd_mono_us() + 1000000; /* try the write again in 1 s */
                job->dlq_retry = 1;
                job->next = w->timers;
                w->timers = job;
        }
}

void hd_rt_dlq_report(hd_rt_t *w, const rd_kafka_message_t *m)
{
        hd_job_t *job = m->_private;

        if (!job)
                return;
        if (m->err) { /* not written: the record must not count as final */
                hd_logkv(HD_LOG_WARN, w->ch->name, "DLQ write failed, will retry", "error",
                         rd_kafka_err2str(m->err), NULL);
                job->due_us = hd_mono_us() + 1000000;
                job->dlq_retry = 1;
                job->next = w->timers;
                w->timers = job;
                return;
        }
        w->dead++;
        pthread_mutex_lock(&w->metrics.lock);
        w->metrics.dead_lettered++;
        w->metrics.dlq_writes++;
        pthread_mutex_unlock(&w->metrics.lock);
        hd_logkv(HD_LOG_WARN, w->ch->name, "dead-lettered", "reason", job->reason, "msg_id",
                 job->msg_id, NULL);
        hd_rt_job_final(w, job);
}

/* The endpoint said it is gone for good (webhook 410): the subscription is disabled
 * for every consumer by writing its next version. */
static void hd_rt_disable(hd_rt_t *w, hd_job_t *job)
{
        const char *id = json_string_value(json_object_get(job->sub, "id"));
        json_t *cur = hd_subs_get(w->subs, id), *next;
        char *text;

        if (!cur)
                return;
        next = json_deep_copy(cur);
        json_object_set_new(next, "disabled", json_string(job->res.error[0] ? job->res.error : "gone"));
        json_object_set_new(next, "version",
                            json_integer(json_integer_value(json_object_get(cur, "version")) + 1));
        json_object_set_new(next, "updated_at", json_integer(hd_now_ms()));
        text = json_dumps(next, JSON_COMPACT);
        rd_kafka_producev(w->producer, RD_KAFKA_V_TOPIC(w->cfg->topics.subscriptions),
                          RD_KAFKA_V_KEY(id, strlen(id)), RD_KAFKA_V_VALUE(text, strlen(text)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_OPAQUE(NULL),
                          RD_KAFKA_V_END);
        hd_logkv(HD_LOG_WARN, w->ch->name, "subscription disabled", "subscription", id, "reason",
                 job->res.error, NULL);
        json_decref(next);
        json_decref(cur);
}

static void hd_rt_outcome(hd_rt_t *w, hd_job_t *job)
{
        hd_outcome_t o = job->res.refused ? HD_OUTCOME_DEAD : job->res.outcome;
        char reason[64];
        int64_t delay;

        if (job->sub) {
                hd_rt_metrics_t *mt = &w->metrics;
                if (!job->res.refused)
                        hd_rt_metrics_latency(mt, job->seconds);
                pthread_mutex_lock(&mt->lock);
                mt->refused += job->res.refused;
                mt->by_class[o == HD_OUTCOME_DELIVERED ? 0 : o == HD_OUTCOME_RETRY ? 1
                              : o == HD_OUTCOME_DISABLE ? 3 : 2]++;
                mt->delivered += o == HD_OUTCOME_DELIVERED;
                mt->disabled += o == HD_OUTCOME_DISABLE;
                mt->retries += o == HD_OUTCOME_RETRY;
                pthread_mutex_unlock(&mt->lock);
        }
        if (job->rec->part->revoked == 1) { /* abandoned on rebalance: the next owner redelivers */
                hd_rt_job_final(w, job);
                return;
        }
        switch (o) {
        case HD_OUTCOME_DELIVERED:
                w->delivered++;
                hd_rt_job_final(w, job);
                return;
        case HD_OUTCOME_DISABLE:
                w->disabled++;
                hd_rt_disable(w, job);
                hd_rt_job_final(w, job);
                return;
        case HD_OUTCOME_RETRY:
                delay = hd_retry_delay(&w->sched, (size_t)job->attempt + 1,
                                       job->res.retry_after_ms, &w->seed);
                if (delay >= 0) {
                        w->retried++;
                        job->due_us = hd_mono_us() + delay * 1000;
                        job->next = w->timers; /* keeps its lane: order holds */
                        w->timers = job;
                        return;
                }
                snprintf(reason, sizeof(reason), "retries_exhausted");
                break;
        default:
                if (job->res.reason[0])
                        hd_strlcpy(reason, job->res.reason, sizeof(reason));
                else
                        snprintf(reason, sizeof(reason), job->res.refused ? "target_refused"
                                                                           : "status_%ld",
                                 job->res.status);
        }
        hd_rt_dead_letter(w, job, reason);
}

void hd_rt_drain_results(hd_rt_t *w)
{
        hd_job_t *list;

        pthread_mutex_lock(&w->lock);
        list = w->done;
        w->done = NULL;
        w->ndone = 0;
        w->wake_sent = 0;
        pthread_mutex_unlock(&w->lock);
        while (list) {
                hd_job_t *job = list;
                list = list->next;
                hd_rt_outcome(w, job);
        }
}

void hd_rt_fire_timers(hd_rt_t *w)
{
        int64_t now = hd_mono_us();
        hd_job_t **pp = &w->timers;

        while (*pp) {
                hd_job_t *job = *pp;
                if (job->due_us > now && job->rec->part->revoked != 1) {
                        pp = &job->next;
                        continue;
                }
                *pp = job->next;
                if (job->rec->part->revoked == 1)
                        hd_rt_job_final(w, job); /* abandoned */
                else if (job->dlq_retry)
                        job->dlq_retry = 0, hd_rt_dead_letter(w, job, NULL);
                else
                        hd_rt_submit_attempt(w, job);
        }
}

/* Jobs the dispatch lets start now go to the workers. */
void hd_rt_start_ready(hd_rt_t *w)
{
        hd_djob_t *dj;

        while ((dj = hd_dispatch_next(w->dispatch))) {
                hd_job_t *job = hd_djob_data(dj);
                if (!job->payload) /* it could not be rendered for this event */
                        hd_rt_dead_letter(w, job, "render_failed");
                else
                        hd_rt_submit_attempt(w, job);
        }
}
