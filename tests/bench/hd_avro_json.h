/*
 * hd_avro_json (benchmark baseline only): converts between avro-c generic values
 * and jansson JSON the plain avro-c way, reading
 * and writing record fields by name. Unions are transparent in JSON: a nullable
 * field is null or its value; a union of records (the envelope's `data`) is the
 * plain record object, whose branch is chosen by the event's catalogue record.
 */
#ifndef HD_AVRO_JSON_H
#define HD_AVRO_JSON_H

#include <avro.h>
#include <jansson.h>

/* New JSON for value, or NULL with errstr (invalid UTF-8 in a string). */
json_t *hd_avro_to_json(avro_value_t *value, char *errstr, size_t errstr_size);

/* Fills value (a reset generic value of an envelope schema) from a JSON event;
 * data_record is the full name of the event type's record (the data branch). */
int hd_json_to_avro(const json_t *event, const char *data_record, avro_value_t *value,
                    char *errstr, size_t errstr_size);

#endif
