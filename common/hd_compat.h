/*
 * hd_compat: Avro schema compatibility, as the Avro specification's schema
 * resolution defines it and as Confluent Schema Registry applies it (the same
 * rules as Java's SchemaCompatibility and python3-avro's checker, which a test
 * cross-checks): a reader can read what a writer wrote when
 *   - primitives match or are promotions (int -> long/float/double,
 *     long -> float/double, float -> double, string <-> bytes);
 *   - records have the same unqualified name (or the writer's full name is a reader
 *     alias) and every reader field is in the writer (by name or reader field
 *     alias) with a readable type, or has a default;
 *   - enums have the same name and every writer symbol is a reader symbol, unless
 *     the reader enum has a default symbol;
 *   - fixed types have the same name and size; arrays / maps have readable items /
 *     values;
 *   - every branch of a writer union is readable (by the reader, or by some branch
 *     of a reader union), and a reader union has a branch that reads the writer.
 * Recursive types are handled (a pair being checked is assumed compatible).
 *
 * Schemas are parsed from JSON here (hd_compat_schema.h), because avro-c drops
 * field defaults. Messages say what breaks and where: the field path (field names
 * joined by '.', union branches as [Name], array items [] and map values {}) and
 * the JSON pointer, e.g.
 *   data[AccountCreated].account.region (/fields/7/type/2/fields/0/type/fields/6):
 *   field "region" added without a default
 * and, with no field path, "/items: reader type "int" cannot read writer type "long"".
 */
#ifndef HD_COMPAT_H
#define HD_COMPAT_H

#include <jansson.h>
#include <stddef.h>

typedef enum {
        HD_COMPAT_NONE,
        HD_COMPAT_BACKWARD,
        HD_COMPAT_BACKWARD_TRANSITIVE,
        HD_COMPAT_FORWARD,
        HD_COMPAT_FORWARD_TRANSITIVE,
        HD_COMPAT_FULL,
        HD_COMPAT_FULL_TRANSITIVE,
} hd_compat_level_t;

/* Results of the checks. */
#define HD_COMPAT_OK           0
#define HD_COMPAT_INCOMPATIBLE 1
#define HD_COMPAT_ERROR        (-1) /* a schema is unusable (message says which, where) */

#define HD_COMPAT_MAX_MESSAGES 64 /* further messages are summarised in one line */

/* Level from its name, in any case ("backward_transitive"): 0, or -1. */
int hd_compat_level_parse(const char *name, hd_compat_level_t *level);
const char *hd_compat_level_name(hd_compat_level_t level);

/*
 * Can reader read data written with writer? HD_COMPAT_OK, HD_COMPAT_INCOMPATIBLE
 * with the reasons in msgs (one per line), or HD_COMPAT_ERROR with the error.
 */
int hd_compat_check(const char *reader_json, const char *writer_json, char *msgs,
                    size_t size);

/*
 * Applies level to new_json against the previous versions (oldest first, newest
 * last): BACKWARD = new reads the latest, FORWARD = the latest reads new, FULL =
 * both; *_TRANSITIVE against every previous version; NONE = always compatible.
 * labels (may be NULL) name the previous versions in messages ("version 3");
 * messages (a JSON array, may be NULL) gets one string per reason, written in
 * terms of the new and the old schema ("field "x" added without a default").
 * HD_COMPAT_ERROR: errstr names the schema that cannot be parsed.
 */
int hd_compat_check_level(hd_compat_level_t level, const char *new_json,
                          const char *const *previous, const char *const *labels,
                          size_t nprevious, json_t *messages, char *errstr,
                          size_t errstr_size);

/* The same with the messages (or the error) joined by newlines into msgs. */
int hd_compat_check_level_str(hd_compat_level_t level, const char *new_json,
                              const char *const *previous, size_t nprevious, char *msgs,
                              size_t size);

#endif
