/*
 * hd_avro_node: an Avro schema compiled from its JSON into a tree of typed nodes
 * with named references resolved, so coding bytes (hd_avro_codec) or checking a
 * JSON event against a record (hd_event_validate) is a switch per node instead of
 * string lookups. Nodes live in an arena freed at once.
 */
#ifndef HD_AVRO_NODE_H
#define HD_AVRO_NODE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
        HD_AT_NULL,
        HD_AT_BOOLEAN,
        HD_AT_INT,
        HD_AT_LONG,
        HD_AT_FLOAT,
        HD_AT_DOUBLE,
        HD_AT_BYTES,
        HD_AT_STRING,
        HD_AT_RECORD,
        HD_AT_ENUM,
        HD_AT_ARRAY,
        HD_AT_MAP,
        HD_AT_UNION,
        HD_AT_FIXED,
} hd_atype_t;

typedef struct hd_anode {
        hd_atype_t t;
        size_t n;               /* fields, branches, symbols, or the fixed size */
        struct hd_anode **kids; /* field types, branches, or [items/values] */
        char **names;           /* field names or enum symbols */
        size_t *lens;           /* their lengths (for text keys, which are not C strings) */
        uint32_t *sigs;         /* their hd_name_sig, to skip most comparisons */
        char *fullname;         /* named types */
        size_t fullname_len;
        size_t nrecords;        /* unions: how many branches are records */
        int null_branch;        /* unions: the first null branch, or -1 */
} hd_anode_t;

typedef struct hd_anodes hd_anodes_t;

/* Length, first and last byte of a name in one word: names that differ in any
 * of them need no comparison. */
static inline uint32_t hd_name_sig(const char *s, size_t len)
{
        return len ? (uint32_t)(len & 0xffff) | (uint32_t)(unsigned char)s[0] << 16 |
                             (uint32_t)(unsigned char)s[len - 1] << 24
                   : 0;
}

/* Compiles schema; *root is the top node. NULL with a message when unusable. */
hd_anodes_t *hd_anodes_compile(const json_t *schema, const hd_anode_t **root, char *errstr,
                               size_t errstr_size);
void hd_anodes_free(hd_anodes_t *a);

#endif
