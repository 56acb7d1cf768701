/* hd_dispatch: see hd_dispatch.h. */
#include "hd_dispatch.h"
#include "hd_util.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define HD_DISPATCH_BUCKETS 4096
#define HD_DISPATCH_DEFAULT_LIMIT 16

typedef struct hd_sub_state {
        char *name;
        size_t running, limit;
        /* token bucket when rate-limited: up to one second's worth of burst */
        double rate, tokens;
        int64_t refilled_us;
        struct hd_djob *ready, *ready_tail; /* its jobs free to start but for limits, FIFO */
        struct hd_sub_state *active_next;   /* in the list of subscriptions with ready jobs */
        struct hd_sub_state *next; /* hash chain */
} hd_sub_state_t;

typedef struct hd_lane {
        char *name;                /* sub '\x1f' key */
        size_t bucket;             /* its hash chain */
        hd_djob_t *head, *tail;    /* head is running or ready; the rest wait */
        struct hd_lane *next;      /* hash chain */
} hd_lane_t;

struct hd_djob {
        void *ud;
        hd_sub_state_t *sub;
        hd_lane_t *lane;
        hd_djob_t *lane_next;      /* next in the lane */
        hd_djob_t *ready_next;     /* next in its subscription's ready list */
        unsigned long long seq;    /* when it became ready: FIFO across subscriptions */
        int running;
};

struct hd_dispatch {
        size_t global_limit, running, waiting;
        hd_sub_state_t *subs[HD_DISPATCH_BUCKETS];
        hd_lane_t *lanes[HD_DISPATCH_BUCKETS];
        /* Subscriptions with ready jobs: picking the next job looks at each one's
         * oldest, not at every ready job (thousands wait behind a full subscription). */
        hd_sub_state_t *active;
        unsigned long long seq;
};

static size_t hd_hash(const char *s)
{
        size_t h = 1469598103934665603ULL;

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h % HD_DISPATCH_BUCKETS;
}

hd_dispatch_t *hd_dispatch_new(size_t global_limit)
{
        hd_dispatch_t *d = hd_calloc(1, sizeof(*d));

        d->global_limit = global_limit ? global_limit : 1;
        return d;
}

static hd_sub_state_t *hd_sub_get(hd_dispatch_t *d, const char *name)
{
        size_t h = hd_hash(name);
        hd_sub_state_t *s;

        for (s = d->subs[h]; s; s = s->next)
                if (!strcmp(s->name, name))
                        return s;
        s = hd_calloc(1, sizeof(*s));
        s->name = hd_strdup(name);
        s->limit = HD_DISPATCH_DEFAULT_LIMIT;
        s->next = d->subs[h];
        d->subs[h] = s;
        return s;
}

void hd_dispatch_set_limit(hd_dispatch_t *d, const char *sub, size_t max_in_flight)
{
        hd_sub_get(d, sub)->limit = max_in_flight ? max_in_flight : 1;
}

void hd_dispatch_set_rate(hd_dispatch_t *d, const char *sub, double per_second)
{
        hd_sub_state_t *s = hd_sub_get(d, sub);

        if (per_second == s->rate)
                return;
        s->rate = per_second > 0 ? per_second : 0;
        s->tokens = s->rate < 1 ? 1 : s->rate;
        s->refilled_us = hd_mono_us();
}

/* 1 when the subscription may start one more delivery now (a token is there). */
static int hd_rate_ok(hd_sub_state_t *s, int64_t now_us)
{
        double cap;

        if (s->rate <= 0)
                return 1;
        cap = s->rate < 1 ? 1 : s->rate;
        s->tokens += (double)(now_us - s->refilled_us) * s->rate / 1e6;
        if (s->tokens > cap)
                s->tokens = cap;
        s->refilled_us = now_us;
        return s->tokens >= 1;
}

/* The lane of (sub, key); its name is built on the stack unless it is long, and
 * copied to the heap only for a new lane (once per record otherwise). */
static hd_lane_t *hd_lane_get(hd_dispatch_t *d, const char *sub, const char *key)
{
        size_t ls = strlen(sub), lk = strlen(key), n = ls + lk + 2, h;
        char buf[256], *name = n <= sizeof(buf) ? buf : hd_malloc(n);
        hd_lane_t *l;

        memcpy(name, sub, ls);
        name[ls] = '\x1f';
        memcpy(name + ls + 1, key, lk + 1);
        h = hd_hash(name);
        for (l = d->lanes[h]; l; l = l->next)
                if (!strcmp(l->name, name))
                        break;
        if (!l) {
                l = hd_calloc(1, sizeof(*l));
                l->name = name == buf ? hd_strdup(buf) : name;
                l->bucket = h;
                l->next = d->lanes[h];
                d->lanes[h] = l;
        } else if (name != buf) {
                free(name);
        }
        return l;
}

static void hd_lane_drop(hd_dispatch_t *d, hd_lane_t *lane)
{
        hd_lane_t **pp = &d->lanes[lane->bucket];

        while (*pp != lane)
                pp = &(*pp)->next;
        *pp = lane->next;
        free(lane->name);
        free(lane);
}

static void hd_ready_push(hd_dispatch_t *d, hd_djob_t *j)
{
        hd_sub_state_t *s = j->sub;

        j->seq = d->seq++;
        j->ready_next = NULL;
        if (s->ready_tail) {
                s->ready_tail->ready_next = j;
        } else {
                s->ready = j;
                s->active_next = d->active;
                d->active = s;
        }
        s->ready_tail = j;
}

hd_djob_t *hd_dispatch_submit(hd_dispatch_t *d, const char *sub, const char *key, void *ud)
{
        hd_djob_t *j = hd_calloc(1, sizeof(*j));

        j->ud = ud;
        j->sub = hd_sub_get(d, sub);
        d->waiting++;
        if (!key) {
                hd_ready_push(d, j);
                return j;
        }
        j->lane = hd_lane_get(d, sub, key);
        if (j->lane->tail) { /* the lane is busy: wait behind it */
                j->lane->tail->lane_next = j;
                j->lane->tail = j;
                return j;
        }
        j->lane->head = j->lane->tail = j;
        hd_ready_push(d, j);
        return j;
}

hd_djob_t *hd_dispatch_next(hd_dispatch_t *d)
{
        hd_sub_state_t **pp, **best = NULL, *s;
        int64_t now = 0;
        hd_djob_t *j;

        if (d->running >= d->global_limit)
                return NULL;
        /* The oldest ready job whose subscription has a free slot: a full one is
         * skipped, not waited on, so it cannot hold up the others. */
        for (pp = &d->active; (s = *pp); pp = &s->active_next) {
                if (s->running >= s->limit || (best && s->ready->seq > (*best)->ready->seq))
                        continue;
                if (s->rate > 0 && !hd_rate_ok(s, now ? now : (now = hd_mono_us())))
                        continue;
                best = pp;
        }
        if (!best)
                return NULL;
        s = *best;
        if (s->rate > 0)
                s->tokens -= 1;
        j = s->ready;
        if (!(s->ready = j->ready_next)) {
                s->ready_tail = NULL;
                *best = s->active_next; /* nothing ready left: out of the active list */
        }
        j->running = 1;
        s->running++;
        d->running++;
        d->waiting--;
        return j;
}

void *hd_djob_data(const hd_djob_t *j)
{
        return j->ud;
}

void hd_dispatch_done(hd_dispatch_t *d, hd_djob_t *j)
{
        if (!j || !j->running)
                return;
        j->sub->running--;
        d->running--;
        if (j->lane) {
                hd_lane_t *lane = j->lane;
                lane->head = j->lane_next;
                if (!lane->head)
                        hd_lane_drop(d, lane);
                else
                        hd_ready_push(d, lane->head); /* the next record of this key */
        }
        free(j);
}

size_t hd_dispatch_running(const hd_dispatch_t *d)
{
        return d->running;
}

size_t hd_dispatch_waiting(const hd_dispatch_t *d)
{
        return d->waiting;
}

void hd_dispatch_destroy(hd_dispatch_t *d)
{
        if (!d)
                return;
        for (hd_sub_state_t *s = d->active; s; s = s->active_next)
                for (hd_djob_t *j = s->ready; j;) { /* unordered jobs not yet started */
                        hd_djob_t *next = j->ready_next;
                        if (!j->lane)
                                free(j);
                        j = next;
                }
        for (size_t i = 0; i < HD_DISPATCH_BUCKETS; i++) {
                while (d->lanes[i]) {
                        hd_lane_t *l = d->lanes[i];
                        d->lanes[i] = l->next;
                        for (hd_djob_t *j = l->head; j;) {
                                hd_djob_t *next = j->lane_next;
                                free(j);
                                j = next;
                        }
                        free(l->name);
                        free(l);
                }
                while (d->subs[i]) {
                        hd_sub_state_t *s = d->subs[i];
                        d->subs[i] = s->next;
                        free(s->name);
                        free(s);
                }
        }
        free(d);
}
