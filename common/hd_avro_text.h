/*
 * hd_avro_text: JSON text encoded straight to Avro against a compiled schema
 * (hd_avro_node.h), without building a jansson tree: the line is cut once into a
 * flat token array, then the schema is walked, each record's fields looked up by
 * key within its object's tokens (JSON keys come in any order, Avro fields in the
 * schema's).
 *
 * A fast path only: it takes the plain shape of an event (objects, arrays, strings
 * without escapes, integers, booleans, nulls) and gives either exactly the bytes
 * the tree path (json_loads with JSON_REJECT_DUPLICATES, then hd_avro_encode with
 * strict = 1) gives for the same text, or "declined" (-1). It never words an
 * error: anything unusual (escapes, reals, duplicate or unknown keys, a mistyped
 * or missing field, too large, invalid UTF-8, deep nesting) and every invalid
 * input is declined, and the caller asks the tree path, which gives the verdict
 * and the message. tests/unit/test_avro_text.c and fuzz_avro_text hold it to that.
 */
#ifndef HD_AVRO_TEXT_H
#define HD_AVRO_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include "hd_avro_node.h"

typedef enum {
        HD_JT_NULL,
        HD_JT_TRUE,
        HD_JT_FALSE,
        HD_JT_INT,
        HD_JT_STR,
        HD_JT_OBJ, /* followed by key, value, key, value … */
        HD_JT_ARR, /* followed by its items */
} hd_jtkind_t;

typedef struct hd_jtok {
        uint8_t kind;
        uint32_t next;  /* index of the token after this value (and its members) */
        uint32_t len;   /* string bytes; members (objects: keys) of a container */
        uint32_t sig;   /* strings: hd_name_sig */
        const char *s;  /* string bytes (no escapes: they are the text's) */
        int64_t i;      /* integer value */
} hd_jtok_t;

typedef struct hd_jtoks {
        hd_jtok_t *v;
        size_t n, cap;
        size_t ntext; /* the text's tokens; those after were added */
} hd_jtoks_t;

/* Tokens of text, which must be one JSON object (trailing whitespace allowed).
 * 0, or -1: not the plain shape or not valid JSON (ask the tree path). T is reused
 * from call to call; hd_jtoks_free releases it. */
int hd_jtoks_parse(hd_jtoks_t *T, const char *text);
void hd_jtoks_free(hd_jtoks_t *T);

/* Appends a standalone string (s must outlive the encode) or integer token. */
size_t hd_jtoks_add_str(hd_jtoks_t *T, const char *s, size_t len);
size_t hd_jtoks_add_int(hd_jtoks_t *T, int64_t i);

/* The value token of key in object token obj, or -1. */
long hd_jtoks_get(const hd_jtoks_t *T, size_t obj, const char *key);

/* 1 when token t is the string s. */
int hd_jtok_is(const hd_jtok_t *t, const char *s);

/* A value for a field of the top record that the text does not have (defaults). */
typedef struct hd_jdefault {
        const char *name;
        size_t len;   /* of name */
        size_t tok;
        uint32_t sig; /* hd_name_sig of name */
} hd_jdefault_t;

/*
 * Encodes token v (normally 0) against schema, as hd_avro_encode(schema, tree,
 * data_record, 1, …) encodes the tree of the text with the defaults' fields
 * added to its top object. data_hint: the union branch data_record probably is
 * (its type's place in the catalogue), tried first; any value is safe. 0 (*len
 * set), or -1: declined.
 */
int hd_avro_encode_text(const hd_anode_t *schema, const hd_jtoks_t *T, size_t v,
                        const hd_jdefault_t *defs, size_t ndefs, const char *data_record,
                        size_t data_hint, unsigned char *out, size_t cap, size_t *len);

#endif
