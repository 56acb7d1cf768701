/*
 * herald_producer: routes validated events to the ordered (keyed by account) or
 * unordered (unkeyed) topic and reports each delivery exactly once.
 */
#include "herald_internal.h"
#include "hd_id.h"
#include "hd_kafka.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct herald_msg {
        herald_delivery_cb *cb;
        void *opaque;
        char id[]; /* as emitted: ids are not only UUIDs (validation allows 64 chars) */
} herald_msg_t;

/*
 * The few (callback, opaque) pairs an application emits with (herald produce: one)
 * are kept once, process-wide, append-only: a message whose pair is one of them
 * carries a pointer to it instead of a herald_msg_t allocated and freed per event,
 * and its id is read back from its frame, where the envelope's first field holds
 * it (checked when the event is emitted: otherwise it gets a herald_msg_t).
 */
typedef struct herald_cbpair {
        herald_delivery_cb *cb;
        void *opaque;
} herald_cbpair_t;

#define HERALD_CBPAIRS 8
static herald_cbpair_t herald_cbpairs[HERALD_CBPAIRS];
static atomic_uint herald_ncbpairs;
static pthread_mutex_t herald_cbpairs_lock = PTHREAD_MUTEX_INITIALIZER;

static int herald_is_cbpair(const void *msg)
{
        uintptr_t a = (uintptr_t)msg, lo = (uintptr_t)herald_cbpairs;

        return a >= lo && a < lo + sizeof(herald_cbpairs);
}

static herald_cbpair_t *herald_cbpair_find(unsigned n, herald_delivery_cb *cb, void *opaque)
{
        for (unsigned i = 0; i < n; i++)
                if (herald_cbpairs[i].cb == cb && herald_cbpairs[i].opaque == opaque)
                        return &herald_cbpairs[i];
        return NULL;
}

/* The kept pair (cb, opaque), kept now if there is room; NULL when the table is full. */
static herald_cbpair_t *herald_cbpair(herald_delivery_cb *cb, void *opaque)
{
        unsigned n = atomic_load_explicit(&herald_ncbpairs, memory_order_acquire);
        herald_cbpair_t *c = herald_cbpair_find(n, cb, opaque);

        if (c || n == HERALD_CBPAIRS)
                return c;
        pthread_mutex_lock(&herald_cbpairs_lock);
        n = atomic_load_explicit(&herald_ncbpairs, memory_order_relaxed);
        if (!(c = herald_cbpair_find(n, cb, opaque)) && n < HERALD_CBPAIRS) {
                c = &herald_cbpairs[n];
                c->cb = cb;
                c->opaque = opaque;
                atomic_store_explicit(&herald_ncbpairs, n + 1, memory_order_release);
        }
        pthread_mutex_unlock(&herald_cbpairs_lock);
        return c;
}

/* The id a frame carries: the string that is the envelope's first field, after
 * the 5-byte header. Its length (*id into the frame), or -1. */
static long herald_frame_id(const void *frame, size_t len, const char **id)
{
        const unsigned char *b = frame;
        uint64_t z = 0;
        size_t i = 5;
        int64_t n;

        for (int shift = 0;; shift += 7) {
                if (i >= len || shift > 63)
                        return -1;
                z |= (uint64_t)(b[i] & 0x7f) << shift;
                if (!(b[i++] & 0x80))
                        break;
        }
        n = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
        if (n < 0 || n > 64 || (size_t)n > len - i)
                return -1;
        *id = (const char *)b + i;
        return (long)n;
}

herald_err_t herald_fail(herald_err_t err, char *errstr, size_t errstr_size,
                         const char *fmt, ...)
{
        va_list ap;

        if (errstr && errstr_size) {
                va_start(ap, fmt);
                vsnprintf(errstr, errstr_size, fmt, ap);
                va_end(ap);
        }
        return err;
}

void herald_event_fill_defaults(herald_event_t *ev)
{
        char id[HD_UUID_STRLEN + 1];
        int64_t now = hd_now_ms();

        hd_uuid7_at(id, now);
        herald_event_fill_defaults_with(ev, id, now);
}

void herald_event_fill_defaults_with(herald_event_t *ev, const char *id, int64_t now)
{
        const hd_event_type_t *t =
                hd_catalogue_find(json_string_value(json_object_get(ev->json, "type")) ?: "");

        if (!json_object_get(ev->json, "id"))
                json_object_set_new(ev->json, "id", json_string(id));
        if (!json_object_get(ev->json, "occurred_at"))
                json_object_set_new(ev->json, "occurred_at", json_integer(now));
        if (!json_object_get(ev->json, "source"))
                json_object_set_new(ev->json, "source", json_string("billing"));
        if (t && !json_object_get(ev->json, "action"))
                json_object_set_new(ev->json, "action", json_string(t->action));
        if (t && !json_object_get(ev->json, "entity"))
                json_object_set_new(ev->json, "entity", json_string(t->entity));
}

static int herald_list_match(const hd_strlist_t *l, const char *type)
{
        for (size_t i = 0; i < l->n; i++)
                if (hd_catalogue_pattern_match(l->v[i], type))
                        return 1;
        return 0;
}

int herald_type_ordered(const hd_config_t *cfg, const hd_event_type_t *t)
{
        if (herald_list_match(&cfg->producer.in_order, t->name))
                return 1;
        if (herald_list_match(&cfg->producer.out_of_order, t->name))
                return 0;
        return t->ordered_default;
}

static void herald_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        herald_msg_t *msg = m->_private;
        const herald_cbpair_t *c = m->_private;
        const char *at = "";
        char id[65];
        long n;

        (void)rk, (void)opaque;
        if (!msg)
                return;
        if (herald_is_cbpair(c)) {
                /* Read back as it was checked when emitted. */
                if ((n = herald_frame_id(m->payload, m->len, &at)) < 0)
                        n = 0;
                memcpy(id, at, (size_t)n);
                id[n] = '\0';
                if (c->cb)
                        c->cb(id, m->err ? HERALD_ERR_KAFKA : HERALD_OK,
                              m->err ? rd_kafka_err2str(m->err) : "", c->opaque);
                return;
        }
        if (msg->cb)
                msg->cb(msg->id, m->err ? HERALD_ERR_KAFKA : HERALD_OK,
                        m->err ? rd_kafka_err2str(m->err) : "", msg->opaque);
        free(msg);
}

/* Every ordering pattern must name at least one catalogue type, and no type both. */
static herald_err_t herald_check_ordering(const hd_config_t *cfg, char *errstr,
                                          size_t errstr_size)
{
        const hd_strlist_t *lists[] = {&cfg->producer.in_order, &cfg->producer.out_of_order};
        const char *names[] = {"producer.in_order", "producer.out_of_order"};

        for (int l = 0; l < 2; l++) {
                for (size_t i = 0; i < lists[l]->n; i++) {
                        int hits = 0;
                        for (size_t k = 0; k < hd_catalogue_count(); k++) {
                                const char *type = hd_catalogue_get(k)->name;
                                if (!hd_catalogue_pattern_match(lists[l]->v[i], type))
                                        continue;
                                hits++;
                                if (l == 0 && herald_list_match(lists[1], type))
                                        return herald_fail(
                                                HERALD_ERR_CONFIG, errstr, errstr_size,
                                                "%s: event type \"%s\" is in both "
                                                "producer.in_order and producer.out_of_order",
                                                cfg->path, type);
                        }
                        if (!hits)
                                return herald_fail(HERALD_ERR_CONFIG, errstr, errstr_size,
                                                   "%s: %s: pattern \"%s\" matches no event "
                                                   "type",
                                                   cfg->path, names[l], lists[l]->v[i]);
                }
        }
        return HERALD_OK;
}

/* Finds (or, with registry.auto_register, registers) the catalogue's id for topic. */
static herald_err_t herald_schema_id(herald_producer_t *p, const char *topic, int32_t *id,
                                     char *errstr, size_t errstr_size)
{
        char subject[300];
        int version, r;

        snprintf(subject, sizeof(subject), "%s-value", topic);
        r = hd_registry_lookup(p->reg, subject, hd_catalogue_schema_json(), id, &version,
                               errstr, errstr_size);
        if (r == HD_REG_E_NOT_FOUND && p->cfg->registry.auto_register)
                r = hd_registry_register(p->reg, subject, hd_catalogue_schema_json(), id,
                                         errstr, errstr_size);
        if (r) {
                hd_preperr(errstr, errstr_size, "schema for subject %s", subject);
                return HERALD_ERR_REGISTRY;
        }
        return HERALD_OK;
}

static herald_err_t herald_kafka_new(herald_producer_t *p, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = hd_kafka_conf_new(p->cfg, errstr, errstr_size);
        char err[512];

        if (!conf)
                return HERALD_ERR_CONFIG;
        /* murmur2_random: an account lands on the same partition as with Java clients.
         * Idempotence: retries never duplicate or reorder within a partition. */
        if (hd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, errstr_size) ||
            hd_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return HERALD_ERR_CONFIG;
        }
        rd_kafka_conf_set_dr_msg_cb(conf, herald_dr_cb);
        if (!(p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
                rd_kafka_conf_destroy(conf);
                return herald_fail(HERALD_ERR_CONFIG, errstr, errstr_size, "kafka: %s", err);
        }
        /* Known before the first connection, so the topics' metadata comes with it:
         * a topic first named by a produce call waits for librdkafka's 1 s topic
         * scan, and every event emitted meanwhile with it. Held, they also spare
         * a lookup by name per event. */
        p->rkt_ordered = rd_kafka_topic_new(p->rk, p->cfg->topics.ordered, NULL);
        p->rkt_unordered = rd_kafka_topic_new(p->rk, p->cfg->topics.unordered, NULL);
        if (!p->rkt_ordered || !p->rkt_unordered)
                return herald_fail(HERALD_ERR_CONFIG, errstr, errstr_size, "kafka: topic: %s",
                                   rd_kafka_err2str(rd_kafka_last_error()));
        return HERALD_OK;
}

herald_err_t herald_producer_new(const char *config_path, herald_producer_t **out,
                                 char *errstr, size_t errstr_size)
{
        herald_producer_t *p;
        herald_err_t err;

        if (!out)
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size, "out is required");
        *out = NULL;
        p = hd_calloc(1, sizeof(*p));
        pthread_mutex_init(&p->serde_lock, NULL);
        if (!(p->cfg = hd_config_load(config_path, errstr, errstr_size))) {
                err = HERALD_ERR_CONFIG;
                goto fail;
        }
        if ((err = herald_check_ordering(p->cfg, errstr, errstr_size)))
                goto fail;
        if (!(p->reg = hd_registry_from_config(p->cfg, errstr, errstr_size))) {
                err = HERALD_ERR_CONFIG;
                goto fail;
        }
        if ((err = herald_schema_id(p, p->cfg->topics.ordered, &p->id_ordered, errstr,
                                    errstr_size)) ||
            (err = herald_schema_id(p, p->cfg->topics.unordered, &p->id_unordered, errstr,
                                    errstr_size)) ||
            (err = herald_kafka_new(p, errstr, errstr_size)))
                goto fail;
        p->serde = hd_serde_new((size_t)p->cfg->serde.max_message_bytes,
                                hd_registry_fetch_cb, p->reg);
        *out = p;
        return HERALD_OK;
fail:
        herald_producer_destroy(p);
        return err;
}

void herald_producer_destroy(herald_producer_t *p)
{
        if (!p)
                return;
        if (p->rk) {
                /* Give queued events a chance, then fail the rest: every callback
                 * still runs exactly once (with an error) and frees its state. */
                rd_kafka_flush(p->rk, 5000);
                rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_flush(p->rk, 1000);
                if (p->rkt_ordered)
                        rd_kafka_topic_destroy(p->rkt_ordered);
                if (p->rkt_unordered)
                        rd_kafka_topic_destroy(p->rkt_unordered);
                rd_kafka_destroy(p->rk);
        }
        if (p->serde)
                hd_serde_destroy(p->serde);
        hd_jtoks_free(&p->toks);
        if (p->reg)
                hd_registry_destroy(p->reg);
        hd_config_destroy(p->cfg);
        pthread_mutex_destroy(&p->serde_lock);
        free(p);
}

static herald_err_t herald_serde_err(int r)
{
        switch (r) {
        case HD_SERDE_E_TOO_LARGE: return HERALD_ERR_TOO_LARGE;
        case HD_SERDE_E_REGISTRY:
        case HD_SERDE_E_UNKNOWN_ID: return HERALD_ERR_REGISTRY;
        default: return HERALD_ERR_INVALID;
        }
}

/* What one event becomes before it is handed to librdkafka. */
typedef struct herald_frame {
        const void *buf;
        size_t len;
        int ordered;
        const char *key; /* NULL: unkeyed */
        size_t key_len;
        const char *id;
        size_t id_len;
        int64_t timestamp; /* the record's CreateTime (ms); 0: librdkafka reads the clock */
} herald_frame_t;

/*
 * Validates, encodes and routes ev into f (f->buf is the serde's buffer: the
 * caller holds serde_lock until it is copied). Nothing is sent here.
 */
static herald_err_t herald_prepare(herald_producer_t *p, const herald_event_t *ev,
                                   herald_frame_t *f, char *errstr, size_t errstr_size)
{
        const char *type;
        const hd_event_type_t *t;
        int r;

        if (!herald_event_tree((herald_event_t *)ev))
                return herald_fail(HERALD_ERR_INVALID, errstr, errstr_size,
                                   "the event's JSON could not be read again");
        type = json_string_value(json_object_get(ev->json, "type"));

        if (!(t = hd_catalogue_find(type ?: "")))
                return herald_fail(HERALD_ERR_UNKNOWN_TYPE, errstr, errstr_size,
                                   "unknown event type \"%s\"", type ?: "");
        f->ordered = herald_type_ordered(p->cfg, t);
        r = hd_serde_encode_frame(p->serde, f->ordered ? p->id_ordered : p->id_unordered,
                                  ev->json, &f->buf, &f->len, errstr, errstr_size);
        if (r)
                return herald_serde_err(r);
        f->key = f->ordered ? json_string_value(json_object_get(ev->json, "account_id")) : NULL;
        f->key_len = f->key ? strlen(f->key) : 0;
        f->id = herald_event_id(ev) ?: "";
        f->id_len = strlen(f->id);
        f->timestamp = 0;
        return HERALD_OK;
}

/*
 * The fast path: text (one JSON event) validated, encoded and routed into f
 * straight from its tokens, as herald_prepare does from its tree with the
 * defaults d added. 0, or -1: declined (herald_prepare gives the verdict and the
 * message). Called with serde_lock held.
 */
static int herald_prepare_toks(herald_producer_t *p, const hd_jtoks_t *T,
                               const hd_env_text_t *env, herald_frame_t *f)
{
        const hd_jtok_t *v;

        f->ordered = herald_type_ordered(p->cfg, env->t);
        if (hd_serde_encode_text(p->serde, f->ordered ? p->id_ordered : p->id_unordered, T,
                                 env, &f->buf, &f->len))
                return -1;
        v = &T->v[env->id];
        f->id = v->s;
        f->id_len = v->len;
        f->key = NULL;
        f->key_len = 0;
        f->timestamp = 0;
        if (f->ordered && env->account_id >= 0) {
                v = &T->v[env->account_id];
                f->key = v->s;
                f->key_len = v->len;
        }
        return 0;
}

static int herald_prepare_text(herald_producer_t *p, const char *text,
                               const hd_env_defaults_t *d, herald_frame_t *f)
{
        hd_env_text_t env;

        if (hd_jtoks_parse(&p->toks, text) || hd_event_envelope_text(&p->toks, d, &env))
                return -1;
        return herald_prepare_toks(p, &p->toks, &env, f);
}

/* The delivery state of frame f: a kept pair when its id reads back from the frame,
 * else a herald_msg_t (herald_msg_free releases either). */
static void *herald_msg_new(const herald_frame_t *f, herald_delivery_cb *cb, void *opaque)
{
        herald_cbpair_t *c;
        herald_msg_t *msg;
        const char *id;

        if (herald_frame_id(f->buf, f->len, &id) == (long)f->id_len &&
            !memcmp(id, f->id, f->id_len) && (c = herald_cbpair(cb, opaque)))
                return c;
        msg = hd_malloc(sizeof(*msg) + f->id_len + 1);
        msg->cb = cb;
        msg->opaque = opaque;
        memcpy(msg->id, f->id, f->id_len);
        msg->id[f->id_len] = '\0';
        return msg;
}

static void herald_msg_free(void *msg)
{
        if (!herald_is_cbpair(msg))
                free(msg);
}

static rd_kafka_resp_err_t herald_producev(herald_producer_t *p, const herald_frame_t *f,
                                           void *payload, int msgflags, void *msg)
{
        return rd_kafka_producev(
                p->rk,
                RD_KAFKA_V_RKT((f->ordered ? p->rkt_ordered : p->rkt_unordered)),
                RD_KAFKA_V_VALUE(payload, f->len), RD_KAFKA_V_MSGFLAGS(msgflags),
                RD_KAFKA_V_KEY(f->key, f->key_len), RD_KAFKA_V_TIMESTAMP(f->timestamp),
                RD_KAFKA_V_OPAQUE(msg), RD_KAFKA_V_END);
}

/*
 * Blocks while the local queue is full, serving acknowledgements; never drops.
 * Takes payload (malloc'd) in every case. Called without serde_lock: a delivery
 * callback run by the poll may emit again.
 */
static herald_err_t herald_produce_blocking(herald_producer_t *p, const herald_frame_t *f,
                                            void *payload, void *msg, char *errstr,
                                            size_t errstr_size)
{
        rd_kafka_resp_err_t kerr;

        while ((kerr = herald_producev(p, f, payload, RD_KAFKA_MSG_F_FREE, msg)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(p->rk, 100);
        if (kerr) {
                free(payload);
                herald_msg_free(msg);
                return herald_fail(HERALD_ERR_KAFKA, errstr, errstr_size, "produce: %s",
                                   rd_kafka_err2str(kerr));
        }
        return HERALD_OK;
}

/* Serves delivery reports now and then rather than on every emit: the same
 * callbacks, run from the emitting thread, without a queue lock per event. */
static void herald_poll_some(herald_producer_t *p)
{
        if ((atomic_fetch_add_explicit(&p->emits, 1, memory_order_relaxed) & 63) == 63)
                rd_kafka_poll(p->rk, 0);
}

/* Sends the frame prepared under serde_lock, and releases the lock. */
static herald_err_t herald_send_locked(herald_producer_t *p, herald_frame_t *f,
                                       herald_delivery_cb *cb, void *opaque, char *errstr,
                                       size_t errstr_size)
{
        void *msg = herald_msg_new(f, cb, opaque);
        rd_kafka_resp_err_t kerr;
        void *copy;

        /* librdkafka copies the frame out of the serde's buffer into the message. */
        kerr = herald_producev(p, f, (void *)f->buf, RD_KAFKA_MSG_F_COPY, msg);
        if (kerr != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                pthread_mutex_unlock(&p->serde_lock);
                if (kerr) {
                        herald_msg_free(msg);
                        return herald_fail(HERALD_ERR_KAFKA, errstr, errstr_size,
                                           "produce: %s", rd_kafka_err2str(kerr));
                }
                herald_poll_some(p);
                return HERALD_OK;
        }
        /* Queue full: wait for room with a private copy, the lock released. The key
         * and id may live in the serde's tokens: copied too. */
        copy = hd_malloc(f->len + f->key_len);
        memcpy(copy, f->buf, f->len);
        if (f->key_len)
                memcpy((char *)copy + f->len, f->key, f->key_len);
        pthread_mutex_unlock(&p->serde_lock);
        f->buf = copy;
        if (f->key)
                f->key = (char *)copy + f->len;
        f->timestamp = 0; /* taken when it finally goes in, as for any event */
        return herald_produce_blocking(p, f, copy, msg, errstr, errstr_size);
}

herald_err_t herald_emit(herald_producer_t *p, const herald_event_t *ev,
                         herald_delivery_cb *cb, void *opaque, char *errstr,
                         size_t errstr_size)
{
        herald_frame_t f;
        herald_err_t err;

        if (!p || !ev)
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size,
                                   "producer and event are required");
        pthread_mutex_lock(&p->serde_lock);
        if ((!ev->text || herald_prepare_toks(p, &ev->toks, &ev->env, &f)) &&
            (err = herald_prepare(p, ev, &f, errstr, errstr_size))) {
                pthread_mutex_unlock(&p->serde_lock);
                return err;
        }
        return herald_send_locked(p, &f, cb, opaque, errstr, errstr_size);
}

/* The defaults herald_event_from_json gives an event (herald_event_fill_defaults). */
static void herald_text_defaults(hd_env_defaults_t *d, char id[HD_UUID_STRLEN + 1])
{
        d->occurred_at = hd_now_ms();
        hd_uuid7_at(id, d->occurred_at); /* one clock read for both */
        d->id = id;
        d->source = "billing";
        d->action = d->entity = NULL;
}

herald_err_t herald_emit_json(herald_producer_t *p, const char *json,
                              herald_delivery_cb *cb, void *opaque, char *errstr,
                              size_t errstr_size)
{
        char id[HD_UUID_STRLEN + 1];
        hd_env_defaults_t d;
        herald_frame_t f;
        herald_event_t *ev;
        herald_err_t err;

        if (!p || !json)
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size,
                                   "producer and json are required");
        /* The clock read under the lock, as librdkafka's own is for herald_emit
         * (producev runs under it): records reach librdkafka in timestamp order. */
        pthread_mutex_lock(&p->serde_lock);
        herald_text_defaults(&d, id);
        if (!herald_prepare_text(p, json, &d, &f)) {
                /* The clock was just read for the defaults: the record's timestamp
                 * too, as librdkafka would read it (ms since the epoch). */
                f.timestamp = d.occurred_at;
                return herald_send_locked(p, &f, cb, opaque, errstr, errstr_size);
        }
        pthread_mutex_unlock(&p->serde_lock);
        /* Declined: the tree path gives the verdict and the message. */
        if ((err = herald_event_parse(json, 0, &ev, errstr, errstr_size)))
                return err;
        pthread_mutex_lock(&p->serde_lock);
        if ((err = herald_prepare(p, ev, &f, errstr, errstr_size)))
                pthread_mutex_unlock(&p->serde_lock);
        else
                err = herald_send_locked(p, &f, cb, opaque, errstr, errstr_size);
        herald_event_destroy(ev);
        return err;
}

/* One block: frame, key and id, so keeping many costs one allocation each. */
static herald_encoded_t *herald_encoded_new(const herald_frame_t *f)
{
        herald_encoded_t *enc = hd_malloc(sizeof(*enc) + f->len + f->key_len + f->id_len + 1);

        enc->ordered = f->ordered;
        enc->len = f->len;
        enc->has_key = f->key != NULL;
        enc->key_len = f->key_len;
        memcpy(enc->data, f->buf, f->len);
        if (f->key_len)
                memcpy(enc->data + f->len, f->key, f->key_len);
        memcpy(enc->data + f->len + f->key_len, f->id, f->id_len);
        enc->data[f->len + f->key_len + f->id_len] = '\0';
        return enc;
}

herald_err_t herald_encode(herald_producer_t *p, const herald_event_t *ev,
                           herald_encoded_t **out, char *errstr, size_t errstr_size)
{
        herald_frame_t f;
        herald_err_t err;

        if (!p || !ev || !out)
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size,
                                   "producer, event and out are required");
        *out = NULL;
        pthread_mutex_lock(&p->serde_lock);
        if ((!ev->text || herald_prepare_toks(p, &ev->toks, &ev->env, &f)) &&
            (err = herald_prepare(p, ev, &f, errstr, errstr_size))) {
                pthread_mutex_unlock(&p->serde_lock);
                return err;
        }
        *out = herald_encoded_new(&f);
        pthread_mutex_unlock(&p->serde_lock);
        return HERALD_OK;
}

herald_err_t herald_encode_json(herald_producer_t *p, const char *json,
                                herald_encoded_t **out, char *errstr, size_t errstr_size)
{
        char id[HD_UUID_STRLEN + 1];
        hd_env_defaults_t d;
        herald_frame_t f;
        herald_event_t *ev;
        herald_err_t err;

        if (!p || !json || !out)
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size,
                                   "producer, json and out are required");
        *out = NULL;
        herald_text_defaults(&d, id);
        pthread_mutex_lock(&p->serde_lock);
        if (!herald_prepare_text(p, json, &d, &f)) {
                *out = herald_encoded_new(&f);
                pthread_mutex_unlock(&p->serde_lock);
                return HERALD_OK;
        }
        pthread_mutex_unlock(&p->serde_lock);
        /* Declined: the tree path, validated first for its messages (field paths). */
        if ((err = herald_event_parse(json, 0, &ev, errstr, errstr_size)))
                return err;
        if (!(err = herald_event_validate(ev, errstr, errstr_size)))
                err = herald_encode(p, ev, out, errstr, errstr_size);
        herald_event_destroy(ev);
        return err;
}

herald_err_t herald_emit_encoded(herald_producer_t *p, herald_encoded_t *enc,
                                 herald_delivery_cb *cb, void *opaque, char *errstr,
                                 size_t errstr_size)
{
        herald_frame_t f;
        rd_kafka_resp_err_t kerr;
        void *msg;

        if (!p || !enc) {
                free(enc);
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size,
                                   "producer and encoded event are required");
        }
        f.len = enc->len;
        f.ordered = enc->ordered;
        f.key = enc->has_key ? (const char *)enc->data + enc->len : NULL;
        f.key_len = enc->key_len;
        f.id = (const char *)enc->data + enc->len + enc->key_len;
        f.id_len = strlen(f.id);
        f.buf = enc->data;
        f.timestamp = 0;
        msg = herald_msg_new(&f, cb, opaque);
        /* librdkafka copies the frame into its message (one allocation for both);
         * enc stays ours, so a full queue is waited out with it. */
        while ((kerr = herald_producev(p, &f, enc->data, RD_KAFKA_MSG_F_COPY, msg)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(p->rk, 100);
        free(enc);
        if (kerr) {
                herald_msg_free(msg);
                return herald_fail(HERALD_ERR_KAFKA, errstr, errstr_size, "produce: %s",
                                   rd_kafka_err2str(kerr));
        }
        herald_poll_some(p);
        return HERALD_OK;
}

void herald_encoded_destroy(herald_encoded_t *enc)
{
        free(enc);
}

int herald_poll(herald_producer_t *p, int timeout_ms)
{
        return p ? rd_kafka_poll(p->rk, timeout_ms) : 0;
}

herald_err_t herald_flush(herald_producer_t *p, int timeout_ms, char *errstr,
                          size_t errstr_size)
{
        if (!p)
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size, "producer is required");
        if (rd_kafka_flush(p->rk, timeout_ms) == RD_KAFKA_RESP_ERR__TIMED_OUT)
                return herald_fail(HERALD_ERR_TIMEOUT, errstr, errstr_size,
                                   "flush: %d event(s) not acknowledged within %d ms",
                                   rd_kafka_outq_len(p->rk), timeout_ms);
        return HERALD_OK;
}
