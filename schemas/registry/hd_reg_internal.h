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

/* The level in force for subject (NULL = global): subject's, global, or default. */
const char *hd_reg_level(hd_reg_store_t *st, const char *subject);

/* Sorted version numbers (live only unless include_deleted) as a JSON array. */
json_t *hd_reg_version_list(json_t *versions, int include_deleted);

/* 0 when avro-c parses schema, else 42201 in *out. */
int hd_reg_check_schema(const char *schema, json_t **out);

/* The schema text of id, or NULL. */
const char *hd_reg_schema_text(hd_reg_store_t *st, int id);

/*
 * The entry of subject/version, or an error. version -1 = the latest live version
 * (with allow_deleted and none live: the latest soft-deleted one).
 */
int hd_reg_find(hd_reg_store_t *st, const char *subject, int *version, int allow_deleted,
                json_t **entry, json_t **out);

/*
 * Registration under subject's level: 0 when schema may become the next version,
 * else 409 (incompatible, Confluent's message with the reasons) or 42201.
 */
int hd_reg_enforce(hd_reg_store_t *st, const char *subject, const char *level,
                   const char *schema, json_t **out);

int hd_reg_producer_open(hd_reg_store_t *st, char *errstr, size_t errstr_size);

#endif
