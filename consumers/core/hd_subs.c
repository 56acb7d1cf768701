/* hd_subs: see hd_subs.h. */
#include "hd_subs.h"
#include "hd_kafka.h"
#include "hd_log.h"
#include "hd_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HD_SUBS_MAX_PARTITIONS 256

struct hd_subs {
        rd_kafka_t *rk;
        char *topic;
        int npart;
        int64_t next[HD_SUBS_MAX_PARTITIONS]; /* next offset to apply, per partition */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        json_t *subs;      /* id -> subscription; replaced, never mutated, on change */
        uint64_t gen;
        int stop;
        pthread_t thread;
        int thread_started;
};

/* Applies one record under the lock (see the header for the version rule). */
static void hd_subs_apply(hd_subs_t *s, const rd_kafka_message_t *m)
{
        char id[256];
        json_t *cur, *val = NULL, *next;
        json_int_t v;

        if (!m->key || m->key_len == 0 || m->key_len >= sizeof(id))
                return;
        memcpy(id, m->key, m->key_len);
        id[m->key_len] = '\0';
        cur = json_object_get(s->subs, id);
        if (m->payload) {
                val = json_loadb(m->payload, m->len, 0, NULL);
                if (!json_is_object(val)) {
                        hd_logkv(HD_LOG_WARN, "subs", "ignoring unreadable subscription record",
                                 "id", id, NULL);
                        json_decref(val);
                        return;
                }
                v = json_integer_value(json_object_get(val, "version"));
                if (cur && v != json_integer_value(json_object_get(cur, "version")) + 1) {
                        json_decref(val); /* lost a race or replayed: not the next version */
                        return;
                }
        } else if (!cur) {
                return;
        }
        next = json_copy(s->subs); /* readers keep their snapshots */
        if (val)
                json_object_set_new(next, id, val);
        else
                json_object_del(next, id);
        json_decref(s->subs);
        s->subs = next;
        s->gen++;
}

static void hd_subs_handle(hd_subs_t *s, rd_kafka_message_t *m)
{
        pthread_mutex_lock(&s->lock);
        if (!m->err) {
                hd_subs_apply(s, m);
                if (m->partition >= 0 && m->partition < s->npart)
                        s->next[m->partition] = m->offset + 1;
        }
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

static void *hd_subs_run(void *arg)
{
        hd_subs_t *s = arg;

        for (;;) {
                rd_kafka_message_t *m;
                pthread_mutex_lock(&s->lock);
                if (s->stop) {
                        pthread_mutex_unlock(&s->lock);
                        return NULL;
                }
                pthread_mutex_unlock(&s->lock);
                if ((m = rd_kafka_consumer_poll(s->rk, 100))) {
                        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                hd_logkv(HD_LOG_WARN, "subs", rd_kafka_message_errstr(m),
                                         "topic", s->topic, NULL);
                        hd_subs_handle(s, m);
                        rd_kafka_message_destroy(m);
                }
        }
}

/* Every reader rebuilds from the beginning: assign() only, no commits. */
static rd_kafka_t *hd_subs_consumer(const hd_config_t *cfg, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = hd_kafka_conf_new(cfg, errstr, errstr_size);

        return conf ? hd_kafka_reader_new(conf, "herald-subscriptions-reader", 0, errstr,
                                          errstr_size)
                    : NULL;
}

/* Assigns every partition from the beginning and reads each to its end. */
static int hd_subs_load(hd_subs_t *s, char *errstr, size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *asg = rd_kafka_topic_partition_list_new(s->npart);
        int64_t hi[HD_SUBS_MAX_PARTITIONS], deadline = hd_mono_us() + 30 * 1000000LL;
        int pending = 0;

        for (int p = 0; p < s->npart; p++) {
                int64_t lo;
                rd_kafka_resp_err_t e =
                        rd_kafka_query_watermark_offsets(s->rk, s->topic, p, &lo, &hi[p], 10000);
                if (e) {
                        rd_kafka_topic_partition_list_destroy(asg);
                        return hd_seterr(errstr, errstr_size, "%s [%d]: %s", s->topic, p,
                                         rd_kafka_err2str(e));
                }
                s->next[p] = lo;
                pending += hi[p] > lo;
                rd_kafka_topic_partition_list_add(asg, s->topic, p)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
        }
        rd_kafka_assign(s->rk, asg);
        rd_kafka_topic_partition_list_destroy(asg);
        while (pending && hd_mono_us() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 100);
                if (!m)
                        continue;
                hd_subs_handle(s, m);
                if (!m->err && m->offset + 1 == hi[m->partition])
                        pending--;
                rd_kafka_message_destroy(m);
        }
        if (pending)
                return hd_seterr(errstr, errstr_size,
                                 "%s: not read to its end within 30 s", s->topic);
        return 0;
}

hd_subs_t *hd_subs_open(const hd_config_t *cfg, char *errstr, size_t errstr_size)
{
        hd_subs_t *s = hd_calloc(1, sizeof(*s));

        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        s->subs = json_object();
        s->topic = hd_strdup(cfg->topics.subscriptions);
        if (!(s->rk = hd_subs_consumer(cfg, errstr, errstr_size)))
                goto fail;
        s->npart = hd_kafka_partition_count(s->rk, s->topic, 10000, errstr, errstr_size);
        if (s->npart < 1)
                goto fail;
        if (s->npart > HD_SUBS_MAX_PARTITIONS) {
                hd_seterr(errstr, errstr_size, "%s has more than %d partitions", s->topic,
                          HD_SUBS_MAX_PARTITIONS);
                goto fail;
        }
        if (hd_subs_load(s, errstr, errstr_size))
                goto fail;
        if (pthread_create(&s->thread, NULL, hd_subs_run, s)) {
                hd_seterr(errstr, errstr_size, "cannot start the subscriptions thread");
                goto fail;
        }
        s->thread_started = 1;
        return s;
fail:
        hd_subs_close(s);
        return NULL;
}

void hd_subs_close(hd_subs_t *s)
{
        if (!s)
                return;
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_mutex_unlock(&s->lock);
        if (s->thread_started)
                pthread_join(s->thread, NULL);
        if (s->rk) {
                rd_kafka_consumer_close(s->rk);
                rd_kafka_destroy(s->rk);
        }
        json_decref(s->subs);
        free(s->topic);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

json_t *hd_subs_get(hd_subs_t *s, const char *id)
{
        json_t *v;

        pthread_mutex_lock(&s->lock);
        v = json_incref(json_object_get(s->subs, id));
        pthread_mutex_unlock(&s->lock);
        return v;
}

json_t *hd_subs_snapshot(hd_subs_t *s)
{
        json_t *v;

        pthread_mutex_lock(&s->lock);
        v = json_incref(s->subs);
        pthread_mutex_unlock(&s->lock);
        return v;
}

uint64_t hd_subs_generation(hd_subs_t *s)
{
        uint64_t g;

        pthread_mutex_lock(&s->lock);
        g = s->gen;
        pthread_mutex_unlock(&s->lock);
        return g;
}

static void hd_deadline(struct timespec *ts, int timeout_ms)
{
        clock_gettime(CLOCK_REALTIME, ts);
        ts->tv_sec += timeout_ms / 1000;
        ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts->tv_nsec >= 1000000000L) {
                ts->tv_sec++;
                ts->tv_nsec -= 1000000000L;
        }
}

int hd_subs_wait_offset(hd_subs_t *s, int32_t partition, int64_t offset, int timeout_ms)
{
        struct timespec ts;
        int r = 0;

        if (partition < 0 || partition >= s->npart)
                return -1;
        hd_deadline(&ts, timeout_ms);
        pthread_mutex_lock(&s->lock);
        while (s->next[partition] <= offset && r != ETIMEDOUT)
                r = pthread_cond_timedwait(&s->cond, &s->lock, &ts);
        r = s->next[partition] > offset ? 0 : -1;
        pthread_mutex_unlock(&s->lock);
        return r;
}

int hd_subs_wait_change(hd_subs_t *s, uint64_t gen, int timeout_ms)
{
        struct timespec ts;
        int r = 0;

        hd_deadline(&ts, timeout_ms);
        pthread_mutex_lock(&s->lock);
        while (s->gen <= gen && r != ETIMEDOUT)
                r = pthread_cond_timedwait(&s->cond, &s->lock, &ts);
        r = s->gen > gen ? 0 : -1;
        pthread_mutex_unlock(&s->lock);
        return r;
}
