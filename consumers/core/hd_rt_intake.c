/*
 * hd_rt_intake: records are decoded, matched to their subscriptions and their
 * deliveries prepared (message id, the channel's rendering) on a thread of their
 * own, in the order the loop hands them over, and come back to the loop in that
 * order. The loop keeps everything else (completion tracking, the dispatch, the
 * channel's I/O, commits); this thread touches only the records it holds, the serde
 * (and through it the registry) and the channel's prepare.
 *
 * Why a thread: decoding and rendering were a quarter of the loop's time with
 * deliveries in flight, and answers that came in meanwhile waited for them
 * (ordered 100-key benchmark, tests/bench/README.md). Records a key is not yet
 * ready for are also prepared ahead without holding the loop up.
 */
#include "hd_log.h"
#include "hd_rt_internal.h"
#include "hd_sub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Records handed over and not yet taken back: enough to prepare ahead of the
 * dispatch, few enough that a record handed over now is not long behind others. */
#define HD_RT_INTAKE_MAX 64

/* On the intake thread: one job per matching subscription of the channel, in the
 * subscriptions' order; the decoded event is not kept (the DLQ takes the raw value). */
static void hd_intake_prepare(hd_rt_t *w, hd_rec_t *rec)
{
        char err[HD_ERRSTR_SIZE];
        const char *type, *id;
        hd_job_t **tail = &rec->jobs;
        json_t *all, *sub;
        int r;

        r = hd_serde_decode(w->serde, rec->rawlen ? rec->raw : "", rec->rawlen, &rec->event, err,
                            sizeof(err));
        if (r) { /* poison: the loop dead-letters it with its reason */
                rec->poison = hd_serde_err_name(r);
                rec->error = hd_strdup(err);
                return;
        }
        type = json_string_value(json_object_get(rec->event, "type"));
        all = hd_subs_snapshot(w->subs);
        json_object_foreach(all, id, sub) {
                hd_job_t *job;
                if (strcmp(json_string_value(json_object_get(sub, "channel")) ?: "", w->ch->name) ||
                    !hd_sub_matches(sub, type))
                        continue;
                job = hd_calloc(1, sizeof(*job));
                job->rec = rec;
                job->sub = json_incref(sub);
                w->ch->message_id(rec->event, sub, job->msg_id, sizeof(job->msg_id));
                job->payload = w->ch->prepare(w->ctx, rec->event, sub, job->msg_id, err,
                                              sizeof(err));
                if (!job->payload) /* dead-lettered when its turn in the lane comes */
                        snprintf(job->res.error, sizeof(job->res.error), "%s", err);
                *tail = job;
                tail = &job->next;
        }
        json_decref(all);
        json_decref(rec->event);
        rec->event = NULL;
}

/* Prepared records go back this many at a time: one lock and one wake-up for them,
 * while the first of a long batch does not wait for the last. */
#define HD_RT_INTAKE_BATCH 16

static void hd_intake_publish(hd_rt_t *w, hd_rec_t *head, hd_rec_t *tail)
{
        hd_rt_intake_t *in = &w->intake;
        int wake;

        pthread_mutex_lock(&in->lock);
        if (in->out_tail)
                in->out_tail->next = head;
        else
                in->out = head;
        in->out_tail = tail;
        wake = !in->wake_sent; /* the loop takes all that is there when it comes */
        in->wake_sent = 1;
        pthread_mutex_unlock(&in->lock);
        if (wake)
                hd_rt_wake_loop(w);
}

static void *hd_intake_run(void *arg)
{
        hd_rt_t *w = arg;
        hd_rt_intake_t *in = &w->intake;

        /* Preparing ahead yields the CPU to the loop's I/O (Linux: per thread). */
        if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10))
                (void)0; /* not allowed: the same priority as the loop */
        for (;;) {
                hd_rec_t *list, *head = NULL, *tail = NULL;
                int n = 0;

                pthread_mutex_lock(&in->lock);
                while (!in->todo && !in->stop)
                        pthread_cond_wait(&in->cond, &in->lock);
                list = in->stop ? NULL : in->todo;
                in->todo = in->todo_tail = NULL;
                pthread_mutex_unlock(&in->lock);
                if (!list)
                        return NULL;
                while (list) {
                        hd_rec_t *rec = list;
                        list = rec->next;
                        rec->next = NULL;
                        hd_intake_prepare(w, rec);
                        if (tail)
                                tail->next = rec;
                        else
                                head = rec;
                        tail = rec;
                        if (++n == HD_RT_INTAKE_BATCH || !list) {
                                hd_intake_publish(w, head, tail);
                                head = tail = NULL;
                                n = 0;
                        }
                }
        }
}

int hd_rt_intake_start(hd_rt_t *w, char *errstr, size_t errstr_size)
{
        hd_rt_intake_t *in = &w->intake;

        pthread_mutex_init(&in->lock, NULL);
        pthread_cond_init(&in->cond, NULL);
        in->inited = 1;
        if (pthread_create(&in->thread, NULL, hd_intake_run, w))
                return hd_seterr(errstr, errstr_size, "cannot start the intake thread");
        in->started = 1;
        return 0;
}

/* Stops the thread; records still held are dropped (their partitions are no longer
 * ours or the process is ending: nothing of them was committed). */
void hd_rt_intake_stop(hd_rt_t *w)
{
        hd_rt_intake_t *in = &w->intake;
        hd_rec_t *lists[3];

        if (!in->inited)
                return;
        if (in->started) {
                pthread_mutex_lock(&in->lock);
                in->stop = 1;
                pthread_cond_signal(&in->cond);
                pthread_mutex_unlock(&in->lock);
                pthread_join(in->thread, NULL);
                in->started = 0;
        }
        lists[0] = in->todo, lists[1] = in->out, lists[2] = in->batch;
        in->todo = in->todo_tail = in->out = in->out_tail = in->batch = in->batch_tail = NULL;
        in->held = 0;
        for (int i = 0; i < 3; i++)
                while (lists[i]) {
                        hd_rec_t *next = lists[i]->next;
                        hd_rt_rec_free(w, lists[i]);
                        lists[i] = next;
                }
        pthread_cond_destroy(&in->cond);
        pthread_mutex_destroy(&in->lock);
        in->inited = 0;
}

size_t hd_rt_intake_room(const hd_rt_t *w)
{
        return w->intake.held < HD_RT_INTAKE_MAX ? HD_RT_INTAKE_MAX - w->intake.held : 0;
}

/* On the loop: the record (counted open in its partition's tracker) to be prepared;
 * it is handed over with the others at hd_rt_intake_flush. */
void hd_rt_intake_put(hd_rt_t *w, hd_rec_t *rec)
{
        hd_rt_intake_t *in = &w->intake;

        rec->next = NULL;
        in->held++;
        if (in->batch_tail)
                in->batch_tail->next = rec;
        else
                in->batch = rec;
        in->batch_tail = rec;
}

void hd_rt_intake_flush(hd_rt_t *w)
{
        hd_rt_intake_t *in = &w->intake;

        if (!in->batch)
                return;
        pthread_mutex_lock(&in->lock);
        if (in->todo_tail)
                in->todo_tail->next = in->batch;
        else
                in->todo = in->batch;
        in->todo_tail = in->batch_tail;
        pthread_cond_signal(&in->cond);
        pthread_mutex_unlock(&in->lock);
        in->batch = in->batch_tail = NULL;
}

/* On the loop: a prepared record's deliveries go to the dispatch, each in its
 * (subscription, key) lane; a record nobody subscribed to is final at once. */
static void hd_intake_submit(hd_rt_t *w, hd_rec_t *rec)
{
        hd_job_t *job = rec->jobs;

        if (rec->part->revoked == 1) { /* abandoned meanwhile: the next owner has it */
                hd_rt_rec_free(w, rec);
                return;
        }
        if (rec->poison) {
                job = hd_calloc(1, sizeof(*job));
                job->rec = rec;
                rec->pending = 1;
                snprintf(job->msg_id, sizeof(job->msg_id), "%s@%lld", rec->part->topic,
                         (long long)rec->offset);
                snprintf(job->res.error, sizeof(job->res.error), "%s", rec->error);
                free(rec->error);
                rec->error = NULL;
                hd_rt_dead_letter(w, job, rec->poison);
                return;
        }
        rec->jobs = NULL;
        rec->pending = 1; /* held while submitting */
        while (job) {
                hd_job_t *next = job->next;
                const char *id = json_string_value(json_object_get(job->sub, "id"));
                size_t limit = w->ch->max_in_flight ? w->ch->max_in_flight(job->sub) : 0;
                job->next = NULL;
                rec->pending++;
                if (limit)
                        hd_dispatch_set_limit(w->dispatch, id, limit);
                if (w->ch->rate_limit)
                        hd_dispatch_set_rate(w->dispatch, id, w->ch->rate_limit(job->sub));
                job->dj = hd_dispatch_submit(w->dispatch, id,
                                             rec->part->ordered ? (rec->key ?: "") : NULL, job);
                job = next;
        }
        if (--rec->pending == 0) {
                hd_tracker_done(rec->part->tracker, rec->offset);
                hd_rt_rec_free(w, rec);
        }
}

/* On the loop: every record prepared so far, in the order they were handed over. */
size_t hd_rt_intake_collect(hd_rt_t *w)
{
        hd_rt_intake_t *in = &w->intake;
        hd_rec_t *list;
        size_t n = 0;

        pthread_mutex_lock(&in->lock);
        list = in->out;
        in->out = in->out_tail = NULL;
        in->wake_sent = 0;
        pthread_mutex_unlock(&in->lock);
        while (list) {
                hd_rec_t *next = list->next;
                hd_intake_submit(w, list);
                in->held--;
                n++;
                list = next;
        }
        return n;
}
