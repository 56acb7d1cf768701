/*
 * libherald internals: the producer and event structs behind herald.h, shared by
 * herald_event.c (building events) and herald_producer.c (routing and sending).
 */
#ifndef HERALD_INTERNAL_H
#define HERALD_INTERNAL_H

#include "herald/herald.h"
#include "hd_avro_text.h"
#include "hd_catalogue.h"
#include "hd_config.h"
#include "hd_registry.h"
#include "hd_serde.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>

struct herald_event {
        json_t *json; /* the JSON event the serde validates and encodes */
        /* From herald_event_from_json when the text has the usual shape and its
         * envelope passes, while no setter changed the event: a copy of the text
         * and its tokens, which herald_emit encodes straight to Avro
         * (hd_avro_text.h), with the defaults chosen then (id, occurred_at), so
         * the tree, built only if asked for (herald_event_tree), has the same.
         * text NULL: the event is its tree. */
        char *text;
        hd_jtoks_t toks;
        hd_env_text_t env;
        char id[65];         /* the event's id (the text's or the default) */
        int64_t occurred_at; /* the default occurred_at */
};

struct herald_producer {
        hd_config_t *cfg;
        hd_registry_t *reg;
        hd_serde_t *serde;
        pthread_mutex_t serde_lock; /* an hd_serde_t is single-threaded */
        rd_kafka_t *rk;
        rd_kafka_topic_t *rkt_ordered, *rkt_unordered; /* held: see herald_kafka_new */
        int32_t id_ordered, id_unordered;
        atomic_uint emits; /* paces the delivery-report polls herald_emit does */
        hd_jtoks_t toks;   /* the text fast path's tokens, under serde_lock */
};

/* A validated, encoded event not yet sent: frame, then key, then id (NUL-ended). */
struct herald_encoded {
        int ordered, has_key;
        size_t len, key_len;
        unsigned char data[];
};

herald_err_t herald_fail(herald_err_t err, char *errstr, size_t errstr_size,
                         const char *fmt, ...) HD_PRINTF(4, 5);

/* The JSON event in text as json_loads(text, JSON_REJECT_DUPLICATES) reads it, when
 * it is an object of the common shape; NULL: ask json_loads (see herald_json.c). */
json_t *herald_json_parse(const char *text);

/* herald_event_from_json; keep_text 0: the event is encoded from its tree only. */
herald_err_t herald_event_parse(const char *text, int keep_text, herald_event_t **out,
                                char *errstr, size_t errstr_size);

/* The tree is about to change: the text no longer says what the event is. */
void herald_event_forget_text(herald_event_t *ev);

/* ev->json, built from the text on first use; NULL only if jansson refuses a
 * text the fast path read (never: tests and fuzz_avro_text hold them to it). */
json_t *herald_event_tree(herald_event_t *ev);

/* Sets id, occurred_at, source and the type's action/entity when absent. */
void herald_event_fill_defaults(herald_event_t *ev);
void herald_event_fill_defaults_with(herald_event_t *ev, const char *id, int64_t now);

/* 1 when the type goes to the ordered topic (config producer.* over catalogue). */
int herald_type_ordered(const hd_config_t *cfg, const hd_event_type_t *t);

#endif
