/*
 * hd_avro_check: walks untrusted Avro binary against a writer schema before
 * avro-c sees it. avro-c 1.11.1 trusts lengths and counts (a negative or huge
 * string length reaches malloc/memcpy), so every length, count, union index, enum
 * index and varint is checked here against the bytes actually present, with a
 * recursion cap. Reports the byte offset of the first problem.
 */
#ifndef HD_AVRO_CHECK_H
#define HD_AVRO_CHECK_H

#include <jansson.h>
#include <stddef.h>

typedef struct hd_avro_schema hd_avro_schema_t;

/* Parses schema JSON (with jansson, so nothing is dropped) and indexes named types. */
hd_avro_schema_t *hd_avro_schema_parse(const char *json, char *errstr, size_t errstr_size);
void hd_avro_schema_destroy(hd_avro_schema_t *s);
const json_t *hd_avro_schema_root(const hd_avro_schema_t *s);

/*
 * Checks that buf starts with one well-formed datum of the schema; *consumed gets
 * its length (the caller decides about trailing bytes). 0 or -1 with
 * "at byte N: problem".
 */
int hd_avro_check(const hd_avro_schema_t *s, const unsigned char *buf, size_t len,
                  size_t *consumed, char *errstr, size_t errstr_size);

#endif
