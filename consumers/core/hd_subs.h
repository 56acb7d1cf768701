/*
 * hd_subs: the subscriptions cache every consumer process (and `herald sub`)
 * reads. It loads the compacted subscriptions topic to its end before
 * hd_subs_open() returns, then a thread follows changes live.
 *
 * Versions are linearised by the log: a record for an id that already exists is
 * applied only when its version is the current one + 1, so of two concurrent
 * updates from the same version the first in the log wins and the other is
 * ignored by every reader alike (its writer sees that and reports a conflict).
 * A tombstone deletes. After compaction only the latest record per id remains,
 * so a record for an unknown id is accepted at any version.
 */
#ifndef HD_SUBS_H
#define HD_SUBS_H

#include <jansson.h>
#include <stdint.h>
#include "hd_config.h"

typedef struct hd_subs hd_subs_t;

hd_subs_t *hd_subs_open(const hd_config_t *cfg, char *errstr, size_t errstr_size);
void hd_subs_close(hd_subs_t *s);

/* The subscription (new reference) or NULL. */
json_t *hd_subs_get(hd_subs_t *s, const char *id);

/* Every subscription: {"id": sub, …} (new reference to an immutable snapshot). */
json_t *hd_subs_snapshot(hd_subs_t *s);

/* Increments on every applied change; consumers rebuild their routing when it moves. */
uint64_t hd_subs_generation(hd_subs_t *s);

/* Waits until the record at partition/offset has been applied (or timeout): 0 / -1. */
int hd_subs_wait_offset(hd_subs_t *s, int32_t partition, int64_t offset, int timeout_ms);

/* Waits until generation > gen (or timeout): 0 / -1. For tests and reloads. */
int hd_subs_wait_change(hd_subs_t *s, uint64_t gen, int timeout_ms);

#endif
