/*
 * hd_reg_store: herald-registry's state — subjects, versions, schema ids and
 * compatibility levels — kept in memory and persisted in the `_schemas` topic in
 * Confluent Schema Registry's own record format, so Confluent's registry can take
 * over the same cluster and keep every id. A single writer is assumed (one
 * herald-registry per cluster). Every write is acknowledged by Kafka (acks=all)
 * before it is applied and answered: what a client was told is durable.
 */
#ifndef HD_REG_STORE_H
#define HD_REG_STORE_H

#include <jansson.h>
#include <stddef.h>
#include "hd_config.h"

typedef struct hd_reg_store hd_reg_store_t;

/* Error codes as Confluent answers them (HTTP status = code / 100 for 5-digit codes). */
#define HD_REG_SUBJECT_NOT_FOUND      40401
#define HD_REG_VERSION_NOT_FOUND      40402
#define HD_REG_SCHEMA_NOT_FOUND       40403
#define HD_REG_SUBJECT_SOFT_DELETED   40404
#define HD_REG_SUBJECT_NOT_SOFT_DEL   40405
#define HD_REG_VERSION_SOFT_DELETED   40406
#define HD_REG_VERSION_NOT_SOFT_DEL   40407
#define HD_REG_SUBJECT_NO_CONFIG      40408
#define HD_REG_INVALID_SCHEMA         42201
#define HD_REG_INVALID_VERSION        42202
#define HD_REG_INVALID_COMPAT         42203
#define HD_REG_INVALID_SUBJECT        42208
#define HD_REG_STORE_ERROR            50001

/*
 * Connects to Kafka (cfg's `kafka` passthrough, bootstrap overriding it), creates
 * the topic when missing, reads it to its end and rebuilds the state. The default
 * compatibility level is cfg's registry_server.default_compatibility.
 */
hd_reg_store_t *hd_reg_store_open(const hd_config_t *cfg, const char *bootstrap,
                                  const char *topic, char *errstr, size_t errstr_size);
void hd_reg_store_close(hd_reg_store_t *st);

/* Caller holds the lock (hd_reg_store_lock). */
void hd_reg_store_lock(hd_reg_store_t *st);
void hd_reg_store_unlock(hd_reg_store_t *st);

/*
 * After a write whose outcome Kafka left unknown, rebuilds the state from the
 * topic before anything else is decided: 0, or 50001 with *out.
 */
int hd_reg_store_sync(hd_reg_store_t *st, json_t **out);

/*
 * Each call returns 0 with *out (a new JSON answer), or a Confluent error code
 * with *out = {"error_code":…, "message":…}.
 */
int hd_reg_register(hd_reg_store_t *st, const char *subject, const char *schema,
                    json_t **out);
int hd_reg_lookup(hd_reg_store_t *st, const char *subject, const char *schema,
                  int include_deleted, json_t **out);
int hd_reg_schema_by_id(hd_reg_store_t *st, int id, json_t **out);
int hd_reg_id_versions(hd_reg_store_t *st, int id, json_t **out);
int hd_reg_subjects(hd_reg_store_t *st, int include_deleted, json_t **out);
int hd_reg_versions(hd_reg_store_t *st, const char *subject, int include_deleted,
                    json_t **out);
/* version -1 = latest; include_deleted: soft-deleted versions too (?deleted=true) */
int hd_reg_version(hd_reg_store_t *st, const char *subject, int version,
                   int include_deleted, json_t **out);
int hd_reg_delete_subject(hd_reg_store_t *st, const char *subject, int permanent,
                          json_t **out);
int hd_reg_delete_version(hd_reg_store_t *st, const char *subject, int version,
                          int permanent, json_t **out);
/* subject NULL = global */
int hd_reg_get_config(hd_reg_store_t *st, const char *subject, int default_to_global,
                      json_t **out);
int hd_reg_set_config(hd_reg_store_t *st, const char *subject, const char *level,
                      json_t **out);
int hd_reg_delete_config(hd_reg_store_t *st, const char *subject, json_t **out);
/*
 * {"is_compatible": bool} (+ "messages" when verbose) under subject's level:
 * against version (-1 = latest), or version 0 = every version the level names
 * (POST /compatibility/subjects/{s}/versions).
 */
int hd_reg_compatibility(hd_reg_store_t *st, const char *subject, int version,
                         const char *schema, int verbose, json_t **out);

/* {"error_code": code, "message": formatted}; returns code. */
int hd_reg_error(json_t **out, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
