/*
 * hd_event_validate: checks a JSON event against the catalogue (envelope and the
 * type's data record); hd_serde_validate() is the public face of it.
 */
#ifndef HD_EVENT_VALIDATE_H
#define HD_EVENT_VALIDATE_H

#include <jansson.h>
#include "hd_avro_text.h"
#include "hd_catalogue.h"

/* As hd_serde_validate; *t (may be NULL) gets the event's type once it is known. */
int hd_event_validate(const json_t *ev, const hd_event_type_t **t, char *errstr,
                      size_t errstr_size);

/* The envelope only (type, ids, account, presence of data): for the serde's fast
 * path, where the strict encoder checks the data against the same schema. */
int hd_event_validate_envelope(const json_t *ev, const hd_event_type_t **t, char *errstr,
                               size_t errstr_size);

/* The same; *complete (may be NULL) = 1 when no envelope default is missing (id,
 * occurred_at, action, entity, source), so the encoder need not fill any. */
int hd_event_check_envelope(const json_t *ev, const hd_event_type_t **t, int *complete,
                            char *errstr, size_t errstr_size);

/* Envelope values an event that lacks them gets (herald_event_fill_defaults). */
typedef struct hd_env_defaults {
        const char *id, *source;
        const char *action, *entity; /* NULL: the type's */
        int64_t occurred_at;
} hd_env_defaults_t;

/* What hd_event_envelope_text found: the defaults it added for the encoder, and
 * the value tokens of id and account_id (-1: absent or null). */
typedef struct hd_env_text {
        const hd_event_type_t *t;
        hd_jdefault_t defs[5];
        size_t ndefs;
        long id, account_id;
} hd_env_text_t;

/*
 * The envelope of a tokenized event (hd_avro_text.h) with the defaults d added
 * for the keys it lacks (as tokens appended to T): 0 when hd_event_check_envelope
 * accepts the tree of the same event, -1 otherwise (declined: the tree path
 * gives the message). The data is left to the strict encoder, as on the tree.
 */
int hd_event_envelope_text(hd_jtoks_t *T, const hd_env_defaults_t *d, hd_env_text_t *out);

#endif
