/*
 * hd_testkafka: reading what daemons wrote to Kafka, for assertions: every record
 * of a topic (e.g. a DLQ) with its headers, without joining any group's commits.
 */
#ifndef HD_TESTKAFKA_H
#define HD_TESTKAFKA_H

#include <jansson.h>

/*
 * All records of topic now (up to the high watermarks at the call) as a JSON array
 * of {"partition", "offset", "key", "headers": {name: last value}}. NULL when the
 * topic cannot be read.
 */
json_t *hd_test_read_topic(const char *bootstrap, const char *topic, int timeout_ms);

#endif
