/*
 * hd_id: event ids. UUIDv7 (RFC 9562): 48-bit unix milliseconds, then random bits,
 * so ids sort by creation time and never need coordination between producers.
 */
#ifndef HD_ID_H
#define HD_ID_H

#include <stdint.h>

#define HD_UUID_STRLEN 36

/* Writes a new UUIDv7 as 36 lowercase characters + NUL into out. */
void hd_uuid7(char out[HD_UUID_STRLEN + 1]);

/* Same for a given time (tests). */
void hd_uuid7_at(char out[HD_UUID_STRLEN + 1], int64_t unix_ms);

#endif
