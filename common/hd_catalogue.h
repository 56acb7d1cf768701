/*
 * hd_catalogue: the event catalogue, built once from the embedded .avsc files of
 * schemas/avro. Each event record declares its metadata in a "herald" attribute
 * (type name, default ordering, account scope, action, entity), so the schema
 * files are the single source of truth for types, fields and tokens.
 *
 * Shared named types (the files under types/, e.g. com.herald.events.Money) are referenced
 * by name from event records; assembly inlines each at its first use, as Avro
 * requires, producing the envelope whose `data` is the union of every event record.
 */
#ifndef HD_CATALOGUE_H
#define HD_CATALOGUE_H

#include <jansson.h>
#include <stddef.h>

typedef struct hd_event_type {
        const char *name;        /* "account.service.state_changed" */
        size_t name_len;
        const char *record;      /* Avro full name of the data record */
        int ordered_default;     /* 1: in order (ordered topic, keyed by account) */
        int account_scoped;      /* 1: account_id is required */
        const char *action;      /* default envelope action */
        const char *entity;      /* default envelope entity */
        const char *const *tokens; /* every token offered, sorted */
        size_t ntokens;
        const json_t *schema;    /* the data record, self-contained (names resolved) */
        const struct hd_anode *node; /* the same, compiled (hd_avro_node.h) */
} hd_event_type_t;

size_t hd_catalogue_count(void);
const hd_event_type_t *hd_catalogue_get(size_t i);
const hd_event_type_t *hd_catalogue_find(const char *type);
/* The same for a name of len bytes that need not be NUL-ended (JSON text). */
const hd_event_type_t *hd_catalogue_findn(const char *type, size_t len);

/* The assembled envelope schema (compact JSON): what gets registered. */
const char *hd_catalogue_schema_json(void);

/* 1 when the type offers the token (e.g. "service.name", "account.id", "event.id"). */
int hd_catalogue_offers(const hd_event_type_t *t, const char *token);

/* 1 when an event-type pattern ("exact.type" or "prefix.*") matches type. */
int hd_catalogue_pattern_match(const char *pattern, const char *type);

/* A named type's definition (e.g. "com.herald.events.Money"), or NULL. */
const json_t *hd_catalogue_named(const char *fullname);

/* A representative valid JSON event of type t (tests, docs, the sample file). */
json_t *hd_catalogue_sample(const hd_event_type_t *t);

/* Frees the catalogue (tests call it so LeakSanitizer sees a clean exit). */
void hd_catalogue_cleanup(void);

#endif
