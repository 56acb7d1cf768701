/*
 * hd_reg_internal: the store's structure, shared by hd_reg_state.c (state and
 * operations) and hd_reg_kafka.c (the `_schemas` topic).
 */
#ifndef HD_REG_INTERNAL_H
#define HD_REG_INTERNAL_H

#include "hd_reg_store.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>

struct hd_reg_store {
        pthread_mutex_t lock;   /* one operation at a time: the single writer */
        rd_kafka_conf_t *conf;  /* template for the reader and the producer */
        rd_kafka_t *producer;
        char *topic;
        char *default_level;
        json_t *ids;            /* "id" -> {"schema": text, "canon": canonical} */
        json_t *canon;          /* canonical text -> id */
        json_t *subjects;       /* subject -> {"version" -> {"id", "deleted"}} */
        json_t *config;         /* subject ("" = global) -> level */
        int max_id;
        int stale;              /* a write may or may not have landed: re-read first */
};

/* Applies one `_schemas` record (value NULL = tombstone) to the in-memory state. */
void hd_reg_apply(hd_reg_store_t *st, const json_t *key, const json_t *value);

/* Empties the in-memory state (before a re-read). */
void hd_reg_state_reset(hd_reg_store_t *st);

/*
 * Produces key/value (value NULL = tombstone), waits for the ack, then applies it.
 * When the outcome is unknown (timeout, possibly persisted) st->stale is set.
 */
int hd_reg_write(hd_reg_store_t *st, json_t *key, json_t *value, char *errstr,
                 size_t errstr_size);

/* Makes sure the topic exists (creating it with 1 partition, compacted, if not). */
int hd_reg_topic_ensure(hd_reg_store_t *st, char *errstr, size_t errstr_size);

/* Reads the topic from the beginning to its end, applying each record. */
int hd_reg_replay(hd_reg_store_t *st, char *errstr, size_t errstr_size);

int hd_reg_producer_open(hd_reg_store_t *st, char *errstr, size_t errstr_size);

#endif
