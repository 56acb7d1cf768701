/*
 * hd_event_validate: checks a JSON event against the catalogue (envelope and the
 * type's data record); hd_serde_validate() is the public face of it.
 */
#ifndef HD_EVENT_VALIDATE_H
#define HD_EVENT_VALIDATE_H

#include <jansson.h>
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

#endif
