/*
 * hd_offsets: offset arithmetic shared by `herald replay` and `herald status`:
 * topic lookup that never auto-creates, watermarks and committed offsets per
 * partition, the first offset at a time (the broker's ListOffsets answer checked
 * against message timestamps, with a client-side binary search where the broker
 * cannot answer, as librdkafka's mock cluster returns -1), the group's live
 * members where the broker can list them, and the parsers for the CLI's ISO 8601
 * time, duration and partition arguments.
 */
#ifndef HD_OFFSETS_H
#define HD_OFFSETS_H

#include "hd_kafka.h"
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* One partition's position for a group. */
typedef struct hd_offsets_part {
        int32_t partition;
        int64_t lo, hi;     /* low / high watermark */
        int64_t committed;  /* RD_KAFKA_OFFSET_INVALID when the group has none */
        int has_metadata;   /* the commit carries metadata (completion marks) */
} hd_offsets_part_t;

/*
 * Watermarks and the committed offset of each of parts[0..n) of topic, for the
 * group rk was created with (rk needs group.id; nothing is joined).
 */
int hd_offsets_read(rd_kafka_t *rk, const char *topic, hd_offsets_part_t *parts, size_t n,
                    int timeout_ms, char *errstr, size_t errstr_size);

/* How hd_offsets_for_time found its answer. */
typedef enum {
        HD_OFFSETS_EMPTY,  /* no records: the low watermark */
        HD_OFFSETS_BROKER, /* the broker's ListOffsets answer, checked */
        HD_OFFSETS_SEARCH  /* client-side binary search over message timestamps */
} hd_offsets_how_t;

const char *hd_offsets_how_name(hd_offsets_how_t how);

/*
 * The first offset in [lo, hi] whose record has a timestamp >= ts_ms (hi when
 * none). Asks the broker, verifies the answer by reading the records at and just
 * before it, and otherwise searches by reading records (timestamps assumed
 * non-decreasing, as with CreateTime from one producer or LogAppendTime). rk must
 * be a consumer that is free to assign() (it is re-assigned while searching).
 */
int hd_offsets_for_time(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t lo,
                        int64_t hi, int64_t ts_ms, int64_t *offsetp, hd_offsets_how_t *howp,
                        char *errstr, size_t errstr_size);

/*
 * Live members of group: 0 with *countp (and "client-id@host (member-id)" names
 * joined by ", " in names), 1 when the broker cannot list groups (librdkafka's
 * mock cluster: no ListGroups/DescribeGroups), -1 on another error.
 */
int hd_offsets_group_members(rd_kafka_t *rk, const char *group, int *countp, char *names,
                             size_t names_size, char *errstr, size_t errstr_size);

/*
 * "2026-11-27T03:20:44Z", "…T03:20:44.5+01:00", "2026-11-27T03:20" and
 * "2026-11-27" (a missing zone means UTC) to epoch milliseconds.
 */
int hd_parse_iso8601(const char *s, int64_t *msp, char *errstr, size_t errstr_size);

/* ISO 8601 duration "PnW", "PnDTnHnMnS" (seconds may have a fraction) to ms. */
int hd_parse_duration(const char *s, int64_t *msp, char *errstr, size_t errstr_size);

/*
 * "0,2,4-6" against a topic of count partitions: a sorted, duplicate-free array
 * (caller frees) in *outp and its length in *np.
 */
int hd_parse_partitions(const char *s, int count, int32_t **outp, size_t *np, char *errstr,
                        size_t errstr_size);

#endif
