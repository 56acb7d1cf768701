/*
 * herald.h: the public C API billing links against to emit events.
 *
 *   herald_producer_t *p;
 *   herald_event_t *ev;
 *   char err[512];
 *   herald_producer_new("/etc/herald/herald.conf", &p, err, sizeof(err));
 *   herald_event_new("account.service.state_changed", &ev, err, sizeof(err));
 *   herald_event_set_string(ev, "account_id", "A-42", err, sizeof(err));
 *   herald_event_set_string(ev, "data.service.name", "Fibre 1G", err, sizeof(err));
 *   ...
 *   herald_emit(p, ev, on_delivery, NULL, err, sizeof(err));   // async; ev stays yours
 *   herald_event_destroy(ev);
 *   herald_flush(p, 10000, err, sizeof(err));
 *   herald_producer_destroy(p);
 *
 * Every call returns HERALD_OK or an error code with a one-line message in err.
 * An event is validated completely before anything is sent: an invalid event is
 * refused by herald_emit and nothing of it reaches Kafka.
 * In-order event types go to the ordered topic keyed by account id; out-of-order
 * types go to the unordered topic without a key (per-type, from the config's
 * `producer.ordering`, defaulting to the catalogue). The delivery callback runs
 * exactly once per emitted event, on the thread calling herald_emit() (now and
 * then), herald_poll() or herald_flush().
 * A producer may be used from several threads; an event from one thread at a time.
 */
#ifndef HERALD_H
#define HERALD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HERALD_VERSION_STR "0.1.0"

/* libherald is built with hidden visibility; only this API is exported. */
#if defined(HERALD_BUILDING) && defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

typedef enum herald_err {
        HERALD_OK = 0,
        HERALD_ERR_CONFIG = 1,       /* bad configuration file or setting */
        HERALD_ERR_UNKNOWN_TYPE = 2, /* event type not in the catalogue */
        HERALD_ERR_INVALID = 3,      /* missing, mistyped or unknown field */
        HERALD_ERR_TOO_LARGE = 4,    /* encoded event exceeds serde.max_message_bytes */
        HERALD_ERR_REGISTRY = 5,     /* schema id could not be obtained */
        HERALD_ERR_KAFKA = 6,        /* the broker refused or delivery failed */
        HERALD_ERR_TIMEOUT = 7,      /* flush did not finish in time */
        HERALD_ERR_ARG = 8,          /* NULL or otherwise unusable argument */
} herald_err_t;

typedef struct herald_producer herald_producer_t;
typedef struct herald_event herald_event_t;
typedef struct herald_encoded herald_encoded_t;

/* Called once per emitted event: err == HERALD_OK when the broker acknowledged it. */
typedef void(herald_delivery_cb)(const char *event_id, herald_err_t err,
                                 const char *errstr, void *opaque);

const char *herald_err_name(herald_err_t err);

/* config_path NULL: $HERALD_CONFIG, /etc/herald/herald.conf, then defaults. */
herald_err_t herald_producer_new(const char *config_path, herald_producer_t **out,
                                 char *errstr, size_t errstr_size);
void herald_producer_destroy(herald_producer_t *p);

/* New event of a catalogue type, with id (UUIDv7), occurred_at (now), action,
 * entity and source defaulted; set account_id and data.* fields before emitting. */
herald_err_t herald_event_new(const char *type, herald_event_t **out, char *errstr,
                              size_t errstr_size);
/* Parses a JSON event ({"type":…,"account_id":…,"data":{…}}). */
herald_err_t herald_event_from_json(const char *json, herald_event_t **out, char *errstr,
                                    size_t errstr_size);
void herald_event_destroy(herald_event_t *ev);

/* Field paths: "account_id", "id", "occurred_at", "source", "action", "entity",
 * "data.service.name", … A malformed path fails at once; whether the field exists
 * and has that type is checked against the catalogue by herald_emit, which names
 * the field (HERALD_ERR_INVALID). */
herald_err_t herald_event_set_string(herald_event_t *ev, const char *path,
                                     const char *value, char *errstr, size_t errstr_size);
herald_err_t herald_event_set_long(herald_event_t *ev, const char *path, int64_t value,
                                   char *errstr, size_t errstr_size);
herald_err_t herald_event_set_bool(herald_event_t *ev, const char *path, int value,
                                   char *errstr, size_t errstr_size);
herald_err_t herald_event_set_null(herald_event_t *ev, const char *path, char *errstr,
                                   size_t errstr_size);
/* The event's id (valid until the event is destroyed). */
const char *herald_event_id(const herald_event_t *ev);

/* Checks ev against the catalogue without sending anything (what herald_emit checks
 * before encoding): unknown type, missing/mistyped/unknown field, missing account. */
herald_err_t herald_event_validate(const herald_event_t *ev, char *errstr,
                                   size_t errstr_size);

/* Validates, encodes and enqueues ev (not consumed). Blocks while the local queue is
 * full (bounded by the flush of acknowledgements), never drops. */
herald_err_t herald_emit(herald_producer_t *p, const herald_event_t *ev,
                         herald_delivery_cb *cb, void *opaque, char *errstr,
                         size_t errstr_size);

/* All or nothing over several events: herald_encode validates and encodes ev for
 * p (routing included) without sending anything; once every event of a batch is
 * encoded, herald_emit_encoded sends each (enc is consumed, also on error), or
 * herald_encoded_destroy drops them. An encoded event holds only its bytes. */
herald_err_t herald_encode(herald_producer_t *p, const herald_event_t *ev,
                           herald_encoded_t **out, char *errstr, size_t errstr_size);
herald_err_t herald_emit_encoded(herald_producer_t *p, herald_encoded_t *enc,
                                 herald_delivery_cb *cb, void *opaque, char *errstr,
                                 size_t errstr_size);
void herald_encoded_destroy(herald_encoded_t *enc);

/* One JSON event in text, as herald_event_from_json reads it: herald_emit_json is
 * herald_event_from_json then herald_emit, herald_encode_json is
 * herald_event_from_json, herald_event_validate then herald_encode (the same
 * verdicts and messages), without building the event when the text has the usual
 * shape (it is then encoded straight from the text). */
herald_err_t herald_emit_json(herald_producer_t *p, const char *json,
                              herald_delivery_cb *cb, void *opaque, char *errstr,
                              size_t errstr_size);
herald_err_t herald_encode_json(herald_producer_t *p, const char *json,
                                herald_encoded_t **out, char *errstr, size_t errstr_size);

/* Serves delivery callbacks; returns how many ran. */
int herald_poll(herald_producer_t *p, int timeout_ms);

/* Waits until every emitted event was acknowledged or failed (callbacks run). */
herald_err_t herald_flush(herald_producer_t *p, int timeout_ms, char *errstr,
                          size_t errstr_size);

/*
 * For receivers: verifies a herald (Standard Webhooks) delivery. secret is the
 * subscription's "whsec_…" secret; the three strings are the webhook-id,
 * webhook-timestamp and webhook-signature headers; body is the raw request body.
 * HERALD_OK when a v1 signature matches and the timestamp is within 5 minutes of
 * now, else HERALD_ERR_INVALID with the reason.
 */
herald_err_t herald_webhook_verify(const char *secret, const char *webhook_id,
                                   const char *webhook_timestamp,
                                   const char *webhook_signature, const void *body,
                                   size_t len, char *errstr, size_t errstr_size);

#if defined(HERALD_BUILDING) && defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
