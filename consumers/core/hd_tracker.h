/*
 * hd_tracker: completion tracking for one assigned partition (DESIGN §5, as in
 * Confluent's Parallel Consumer). Records arrive in offset order and finish in any
 * order; the commit point is the lowest offset not yet final, so a committed offset
 * never passes a record whose delivery is still open. Offsets finished beyond the
 * commit point travel in the commit metadata (run-length encoded) so a restarted
 * consumer skips what was already delivered. Offsets never seen between two
 * received ones (compaction, transaction markers) count as final.
 */
#ifndef HD_TRACKER_H
#define HD_TRACKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct hd_tracker hd_tracker_t;

/* start = the offset consumption starts from (the committed offset). */
hd_tracker_t *hd_tracker_new(int64_t start);
void hd_tracker_destroy(hd_tracker_t *t);

/* A record was received (offsets must increase). */
void hd_tracker_add(hd_tracker_t *t, int64_t offset);
/* Every delivery of the record reached a final state. */
void hd_tracker_done(hd_tracker_t *t, int64_t offset);

/* The offset to commit: lowest not final (or the next one when all are). */
int64_t hd_tracker_commit_offset(const hd_tracker_t *t);
/* Received but not final: the in-memory window that back-pressure bounds. */
size_t hd_tracker_open(const hd_tracker_t *t);

/*
 * Commit metadata: "hd1:" then run lengths alternating open/final from the commit
 * point, e.g. "hd1:2,3,1" = 2 open, 3 final, 1 open. Truncated (never wrong) when it
 * would exceed size: fewer skips after a restart, never a lost record.
 */
void hd_tracker_metadata(const hd_tracker_t *t, char *buf, size_t size);

/* On assignment: metadata committed with `committed` marks the finals beyond it. */
int hd_tracker_restore(hd_tracker_t *t, int64_t committed, const char *metadata);

/* 1 when offset was already final (restored or done): deliver nothing again. */
int hd_tracker_is_done(const hd_tracker_t *t, int64_t offset);

#endif
