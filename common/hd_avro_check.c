/* hd_avro_check: see hd_avro_check.h. */
#include "hd_avro_check.h"
#include "hd_avro_node.h"
#include "hd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_AVRO_MAX_DEPTH 64
#define HD_AVRO_MAX_ITEMS (1 << 20)

struct hd_avro_schema {
        json_t *root;
        hd_anodes_t *nodes;
        const hd_anode_t *top;
};

typedef struct hd_walk {
        const unsigned char *buf;
        size_t len, pos;
        char *errstr;
        size_t errstr_size;
} hd_walk_t;

hd_avro_schema_t *hd_avro_schema_parse(const char *json, char *errstr, size_t errstr_size)
{
        hd_avro_schema_t *s;
        json_error_t jerr;
        json_t *root = json_loads(json, JSON_DECODE_ANY, &jerr);

        if (!root) {
                hd_seterr(errstr, errstr_size, "schema is not JSON: %s", jerr.text);
                return NULL;
        }
        s = hd_calloc(1, sizeof(*s));
        s->root = root;
        if (!(s->nodes = hd_anodes_compile(root, &s->top, errstr, errstr_size))) {
                hd_avro_schema_destroy(s);
                return NULL;
        }
        return s;
}

void hd_avro_schema_destroy(hd_avro_schema_t *s)
{
        if (!s)
                return;
        hd_anodes_free(s->nodes);
        json_decref(s->root);
        free(s);
}

const json_t *hd_avro_schema_root(const hd_avro_schema_t *s)
{
        return s->root;
}

/* --- walking the bytes ------------------------------------------------------------ */

static int hd_walk_err(hd_walk_t *W, const char *fmt, ...) HD_PRINTF(2, 3);

static int hd_walk_err(hd_walk_t *W, const char *fmt, ...)
{
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return hd_seterr(W->errstr, W->errstr_size, "at byte %zu: %s", W->pos, msg);
}

/* Zig-zag varint of at most maxbytes (5 for int, 10 for long). */
static int hd_walk_varint(hd_walk_t *W, int maxbytes, int64_t *out)
{
        uint64_t v = 0;
        int shift = 0;

        for (int i = 0; i < maxbytes; i++) {
                unsigned char b;
                if (W->pos >= W->len)
                        return hd_walk_err(W, "varint runs past the end");
                b = W->buf[W->pos++];
                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
                        return 0;
                }
                shift += 7;
        }
        return hd_walk_err(W, "varint longer than %d bytes", maxbytes);
}

static int hd_walk_skip(hd_walk_t *W, int64_t n, const char *what)
{
        if (n < 0)
                return hd_walk_err(W, "%s length %lld is negative", what, (long long)n);
        if ((uint64_t)n > W->len - W->pos)
                return hd_walk_err(W, "%s length %lld exceeds the %zu bytes left", what,
                                   (long long)n, W->len - W->pos);
        W->pos += (size_t)n;
        return 0;
}

static int hd_walk(hd_walk_t *W, const hd_anode_t *n, int depth);

/* Arrays and maps: blocks of items, a negative count carries a byte size. */
static int hd_walk_blocks(hd_walk_t *W, const hd_anode_t *item, int is_map, int depth)
{
        int64_t total = 0;

        for (;;) {
                int64_t count = 0, size = 0;
                if (hd_walk_varint(W, 10, &count))
                        return -1;
                if (count == 0)
                        return 0;
                if (count < 0) {
                        if (count == INT64_MIN)
                                return hd_walk_err(W, "block count out of range");
                        count = -count;
                        if (hd_walk_varint(W, 10, &size))
                                return -1;
                        if (size < 0 || (uint64_t)size > W->len - W->pos)
                                return hd_walk_err(W, "block size %lld is invalid",
                                                   (long long)size);
                }
                /* Zero-byte items (null) let a tiny input claim many items; the cap
                 * bounds that work. */
                if (count > HD_AVRO_MAX_ITEMS || (total += count) > HD_AVRO_MAX_ITEMS)
                        return hd_walk_err(W, "more than %d items", HD_AVRO_MAX_ITEMS);
                for (int64_t i = 0; i < count; i++) {
                        int64_t klen = 0;
                        if (is_map && (hd_walk_varint(W, 10, &klen) ||
                                       hd_walk_skip(W, klen, "map key")))
                                return -1;
                        if (hd_walk(W, item, depth + 1))
                                return -1;
                }
        }
}

static int hd_walk(hd_walk_t *W, const hd_anode_t *n, int depth)
{
        int64_t v = 0;

        if (depth > HD_AVRO_MAX_DEPTH)
                return hd_walk_err(W, "nested deeper than %d", HD_AVRO_MAX_DEPTH);
        switch (n->t) {
        case HD_AT_NULL:
                return 0;
        case HD_AT_BOOLEAN:
                if (W->pos >= W->len)
                        return hd_walk_err(W, "boolean runs past the end");
                if (W->buf[W->pos] > 1)
                        return hd_walk_err(W, "boolean byte %u is not 0 or 1", W->buf[W->pos]);
                W->pos++;
                return 0;
        case HD_AT_INT:
                return hd_walk_varint(W, 5, &v);
        case HD_AT_LONG:
                return hd_walk_varint(W, 10, &v);
        case HD_AT_FLOAT:
                return hd_walk_skip(W, 4, "float");
        case HD_AT_DOUBLE:
                return hd_walk_skip(W, 8, "double");
        case HD_AT_BYTES:
        case HD_AT_STRING:
                return hd_walk_varint(W, 10, &v) ? -1
                                                 : hd_walk_skip(W, v, n->t == HD_AT_STRING
                                                                              ? "string"
                                                                              : "bytes");
        case HD_AT_FIXED:
                return hd_walk_skip(W, (int64_t)n->n, "fixed");
        case HD_AT_ENUM:
                if (hd_walk_varint(W, 5, &v))
                        return -1;
                if (v < 0 || (uint64_t)v >= n->n)
                        return hd_walk_err(W, "enum index %lld out of range", (long long)v);
                return 0;
        case HD_AT_UNION:
                if (hd_walk_varint(W, 10, &v))
                        return -1;
                if (v < 0 || (uint64_t)v >= n->n)
                        return hd_walk_err(W, "union index %lld out of range (%zu branches)",
                                           (long long)v, n->n);
                return hd_walk(W, n->kids[v], depth + 1);
        case HD_AT_RECORD:
                for (size_t i = 0; i < n->n; i++)
                        if (hd_walk(W, n->kids[i], depth + 1))
                                return -1;
                return 0;
        case HD_AT_ARRAY:
        case HD_AT_MAP:
                return hd_walk_blocks(W, n->kids[0], n->t == HD_AT_MAP, depth);
        }
        return hd_walk_err(W, "unknown schema node");
}

int hd_avro_check(const hd_avro_schema_t *s, const unsigned char *buf, size_t len,
                  size_t *consumed, char *errstr, size_t errstr_size)
{
        hd_walk_t W = {buf, len, 0, errstr, errstr_size};

        if (hd_walk(&W, s->top, 0))
                return -1;
        *consumed = W.pos;
        return 0;
}
