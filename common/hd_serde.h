/*
 * hd_serde: JSON events ⇄ Avro envelopes in the Confluent wire format
 * (byte 0 = 0, 4-byte big-endian schema id, Avro binary).
 *
 * Decoding uses the writer schema fetched by id (through a callback, normally the
 * registry client), judged by avro-c and compiled once per id (hd_avro_node.h).
 * Untrusted bytes are bounded (frame size, then every length, count and index as
 * hd_avro_codec decodes them) and trailing bytes are refused. Fields are read by
 * name, so a writer schema with added fields still decodes. Encoding validates the
 * event against the catalogue first; nothing partial is produced.
 *
 * Schema cache (per hd_serde_t): up to 128 compiled schemas, least recently used
 * dropped first. An unknown id or an unusable schema is remembered for 10 s (64
 * slots, oldest reused), so a flood of poison records does not become a flood of
 * registry requests; the message then ends in "(remembered)". A registry that
 * cannot be reached is never remembered.
 *
 * An hd_serde_t is used by one thread at a time (one per thread); the only shared
 * state is the catalogue, which is immutable once built.
 */
#ifndef HD_SERDE_H
#define HD_SERDE_H

#include <jansson.h>
#include <stddef.h>
#include "hd_event_validate.h"
#include <stdint.h>

typedef enum {
        HD_SERDE_OK = 0,
        HD_SERDE_E_SHORT = -1,      /* short_frame */
        HD_SERDE_E_MAGIC = -2,      /* bad_magic */
        HD_SERDE_E_UNKNOWN_ID = -3, /* unknown_schema_id */
        HD_SERDE_E_REGISTRY = -4,   /* registry_unreachable */
        HD_SERDE_E_MALFORMED = -5,  /* malformed_avro */
        HD_SERDE_E_TRAILING = -6,   /* trailing_bytes */
        HD_SERDE_E_TOO_LARGE = -7,  /* too_large */
        HD_SERDE_E_INVALID = -8,    /* invalid_event (encode) */
        HD_SERDE_E_SCHEMA = -9,     /* bad_schema: writer schema unusable */
} hd_serde_err_t;

/* Fetches the schema JSON for id (malloc'd): 0, HD_SERDE_E_UNKNOWN_ID or HD_SERDE_E_REGISTRY. */
typedef int(hd_schema_fetch_cb)(void *opaque, int32_t id, char **schema_json, char *errstr,
                                size_t errstr_size);

typedef struct hd_serde hd_serde_t;

/* Stable snake_case name of an error code (the DLQ reason). */
const char *hd_serde_err_name(int code);

hd_serde_t *hd_serde_new(size_t max_message_bytes, hd_schema_fetch_cb *fetch, void *opaque);
void hd_serde_destroy(hd_serde_t *s);

/* Validates ev against the catalogue (no schema id needed). */
int hd_serde_validate(const json_t *event, char *errstr, size_t errstr_size);

/* Encodes ev with the writer schema `schema_id`; *buf is malloc'd. */
int hd_serde_encode(hd_serde_t *s, int32_t schema_id, const json_t *event, void **buf,
                    size_t *len, char *errstr, size_t errstr_size);

/* The same, into the serde's own buffer: *frame is valid until the next call on s. */
int hd_serde_encode_frame(hd_serde_t *s, int32_t schema_id, const json_t *event,
                          const void **frame, size_t *len, char *errstr, size_t errstr_size);

/*
 * The fast path from JSON text (hd_avro_text.h): the tokenized event whose
 * envelope hd_event_envelope_text accepted, encoded into the serde's buffer as
 * hd_serde_encode_frame encodes the tree of the same event. 0, or -1: declined
 * (the caller takes the tree path, which gives any error; a schema not loaded
 * yet is declined too, so registry errors are the tree path's as well).
 */
int hd_serde_encode_text(hd_serde_t *s, int32_t schema_id, const hd_jtoks_t *T,
                         const hd_env_text_t *env, const void **frame, size_t *len);

/* Decodes a frame into a new JSON event (*event, caller decrefs). */
int hd_serde_decode(hd_serde_t *s, const void *buf, size_t len, json_t **event,
                    char *errstr, size_t errstr_size);

#endif
