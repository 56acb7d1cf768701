/*
 * hd_avro_codec: Avro binary <-> JSON straight from a compiled schema
 * (hd_avro_node.h), in one pass each way.
 *
 * Why not avro-c's generic values: measured on the event catalogue, setting and
 * reading generic values costs more than the whole rest of the serde, and the
 * throughput targets (producer ≥ 0.8 of kcat) cannot be met through them. avro-c
 * still parses every schema (its verdict decides whether a schema is usable);
 * this codec only moves bytes.
 *
 * Decoding treats the bytes as hostile: every length, count, union and enum index
 * and varint is checked against what is present, depth is capped, and errors name
 * the byte offset ("at byte 37: string length -5 is negative"). Strings must be
 * valid UTF-8; bytes and fixed use Avro's JSON form (one code point U+0000..U+00FF
 * per byte); a NaN or infinite float/double is refused (JSON has none). Unions
 * decode to the branch's value; records to objects with the writer's field names
 * (read by name, so added fields simply appear). A block that states its byte
 * size must have exactly that size.
 */
#ifndef HD_AVRO_CODEC_H
#define HD_AVRO_CODEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "hd_avro_node.h"

/* Decodes one datum from buf; *consumed = bytes used. NULL with "at byte N: …". */
json_t *hd_avro_decode(const hd_anode_t *schema, const unsigned char *buf, size_t len,
                       size_t *consumed, char *errstr, size_t errstr_size);

/*
 * Encodes j into out (capacity cap); *len gets the size. data_record names the
 * record branch to take in a union of several records (the event's data). strict:
 * null for a non-nullable field is "missing required …" and a key a record does
 * not have is refused (used when the writer schema is the catalogue, where this
 * pass is the data validation). Returns
 * 0, -1 on a JSON/schema mismatch (message names the field path), -2 when the
 * encoding does not fit in cap.
 */
int hd_avro_encode(const hd_anode_t *schema, const json_t *j, const char *data_record,
                   int strict, unsigned char *out, size_t cap, size_t *len, char *errstr,
                   size_t errstr_size);

/* The Avro zig-zag varint of v into b (at most 10 bytes); returns its length. */
static inline size_t hd_avro_put_long(int64_t v, unsigned char b[10])
{
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        size_t n = 0;

        do {
                b[n] = (unsigned char)(z & 0x7f);
                z >>= 7;
                if (z)
                        b[n] |= 0x80;
                n++;
        } while (z);
        return n;
}

#endif
