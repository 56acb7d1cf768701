/*
 * hd_textdiff: the contract of the JSON-text fast path (hd_avro_text.h) checked on
 * one input, for test_avro_text and fuzz_avro_text: the text is encoded both ways
 * with the same envelope defaults, the tree path (json_loads with
 * JSON_REJECT_DUPLICATES, the defaults libherald fills, hd_serde_encode_frame)
 * and the fast path (tokens, hd_event_envelope_text, hd_serde_encode_text).
 */
#ifndef HD_TEXTDIFF_H
#define HD_TEXTDIFF_H

#include "hd_serde.h"

typedef struct hd_textdiff {
        int tree_rc;             /* hd_serde_encode_frame's code; -100: not a JSON object */
        char tree_err[512];
        int fast_ok;             /* 1: the fast path encoded it */
        int same;                /* 1: both encoded it to the same bytes */
} hd_textdiff_t;

/* s must know schema id 1 (the catalogue's). 0 when the contract holds: the fast
 * path encodes only what the tree path encodes, to the same bytes. */
int hd_textdiff(hd_serde_t *s, const char *text, hd_textdiff_t *out);

/* The same with writer schema id (an evolved schema, say). */
int hd_textdiff_id(hd_serde_t *s, int32_t id, const char *text, hd_textdiff_t *out);

#endif
