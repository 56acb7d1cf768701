/*
 * hd_compat_schema: Avro schema JSON parsed for the compatibility checker
 * (hd_compat.h), keeping what avro-c drops: field defaults, field and type aliases,
 * enum defaults. Named types are resolved (namespaces, references, recursion) into
 * a graph of nodes addressed by index; a recursive type is a cycle, not a copy.
 * Hostile input (bad JSON, deep nesting, unknown types, redefinitions) is refused
 * with a message naming the place (a JSON pointer into the schema).
 */
#ifndef HD_COMPAT_SCHEMA_H
#define HD_COMPAT_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

#define HD_CS_MAX_DEPTH 128 /* nesting levels of one schema text */

typedef enum {
        HD_CS_NULL,
        HD_CS_BOOLEAN,
        HD_CS_INT,
        HD_CS_LONG,
        HD_CS_FLOAT,
        HD_CS_DOUBLE,
        HD_CS_BYTES,
        HD_CS_STRING,
        HD_CS_RECORD,
        HD_CS_ENUM,
        HD_CS_FIXED,
        HD_CS_ARRAY,
        HD_CS_MAP,
        HD_CS_UNION,
} hd_cs_type_t;

typedef struct hd_cs_field {
        const char *name;
        const json_t *aliases; /* array of strings or NULL */
        int type;              /* node index */
        int has_default;       /* "default" present (null included) */
} hd_cs_field_t;

typedef struct hd_cs_node {
        hd_cs_type_t t;
        char *fullname;           /* named types */
        const char *name;         /* unqualified: points into fullname */
        const json_t *aliases;    /* named types: "aliases" or NULL */
        size_t n;                 /* fields, symbols or union branches */
        hd_cs_field_t *fields;    /* record */
        const char **symbols;     /* enum */
        const char *enum_default; /* enum "default" or NULL */
        json_int_t size;          /* fixed */
        int *kids;                /* union branches, or [items] / [values] */
        json_t *index;            /* record: field name -> i; enum: symbol -> i */
} hd_cs_node_t;

/* Field i of record nd named name, or -1 (hash lookup: huge records stay cheap). */
int hd_cs_field_index(const hd_cs_node_t *nd, const char *name);

typedef struct hd_cs {
        json_t *doc;          /* the parsed text: strings above point into it */
        hd_cs_node_t *nodes;
        size_t n, cap;
        json_t *names;        /* full name -> node index */
        int root;
} hd_cs_t;

/* Parses schema text; NULL with a message ("at /fields/2/type: unknown type \"Foo\""). */
hd_cs_t *hd_cs_parse(const char *text, char *errstr, size_t errstr_size);
void hd_cs_free(hd_cs_t *s);

/* "int", "record", ... */
const char *hd_cs_type_name(hd_cs_type_t t);

#endif
