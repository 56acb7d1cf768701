/* hd_avro_check: see hd_avro_check.h. */
#include "hd_avro_check.h"
#include "hd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_AVRO_MAX_DEPTH 64
#define HD_AVRO_MAX_ITEMS (1 << 20)

struct hd_avro_schema {
        json_t *root;
        json_t *names; /* full name -> definition node (borrowed from root) */
};

typedef struct hd_walk {
        const hd_avro_schema_t *s;
        const unsigned char *buf;
        size_t len, pos;
        char *errstr;
        size_t errstr_size;
} hd_walk_t;

/* --- schema indexing ------------------------------------------------------------ */

static void hd_fullname_of(const json_t *node, const char *ns, char *out, size_t size,
                           const char **new_ns)
{
        const char *name = json_string_value(json_object_get(node, "name"));
        const char *own = json_string_value(json_object_get(node, "namespace"));
        const char *dot;

        if (!name) {
                *out = '\0';
                *new_ns = ns;
                return;
        }
        if ((dot = strrchr(name, '.'))) {
                snprintf(out, size, "%s", name);
                *new_ns = NULL; /* namespace = the part before the last dot */
        } else if (own && *own) {
                snprintf(out, size, "%s.%s", own, name);
                *new_ns = own;
        } else if (ns && *ns) {
                snprintf(out, size, "%s.%s", ns, name);
                *new_ns = ns;
        } else {
                snprintf(out, size, "%s", name);
                *new_ns = ns;
        }
}

static int hd_index(hd_avro_schema_t *s, json_t *node, const char *ns, int depth)
{
        const char *type, *new_ns = ns;
        char full[512], nsbuf[512];
        json_t *f;
        size_t i;

        if (depth > HD_AVRO_MAX_DEPTH)
                return -1;
        if (json_is_array(node)) {
                json_array_foreach(node, i, f)
                        if (hd_index(s, f, ns, depth + 1))
                                return -1;
                return 0;
        }
        if (!json_is_object(node))
                return 0;
        type = json_string_value(json_object_get(node, "type"));
        if (type && (!strcmp(type, "record") || !strcmp(type, "error") ||
                     !strcmp(type, "enum") || !strcmp(type, "fixed"))) {
                hd_fullname_of(node, ns, full, sizeof(full), &new_ns);
                if (!new_ns && strrchr(full, '.')) {
                        snprintf(nsbuf, sizeof(nsbuf), "%.*s",
                                 (int)(strrchr(full, '.') - full), full);
                        new_ns = nsbuf;
                }
                if (*full)
                        json_object_set(s->names, full, node);
        }
        json_array_foreach(json_object_get(node, "fields"), i, f)
                if (hd_index(s, json_object_get(f, "type"), new_ns, depth + 1))
                        return -1;
        if (json_object_get(node, "items"))
                return hd_index(s, json_object_get(node, "items"), new_ns, depth + 1);
        if (json_object_get(node, "values"))
                return hd_index(s, json_object_get(node, "values"), new_ns, depth + 1);
        if (json_is_object(json_object_get(node, "type")) || json_is_array(json_object_get(node, "type")))
                return hd_index(s, json_object_get(node, "type"), new_ns, depth + 1);
        return 0;
}

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
        s->names = json_object();
        if (hd_index(s, root, NULL, 0)) {
                hd_seterr(errstr, errstr_size, "schema nested too deeply");
                hd_avro_schema_destroy(s);
                return NULL;
        }
        return s;
}

void hd_avro_schema_destroy(hd_avro_schema_t *s)
{
        if (!s)
                return;
        json_decref(s->names);
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

static int hd_walk(hd_walk_t *W, const json_t *node, int depth);

static int hd_walk_primitive(hd_walk_t *W, const char *t, const json_t *node)
{
        int64_t v = 0;

        if (!strcmp(t, "null"))
                return 0;
        if (!strcmp(t, "boolean")) {
                if (W->pos >= W->len)
                        return hd_walk_err(W, "boolean runs past the end");
                if (W->buf[W->pos] > 1)
                        return hd_walk_err(W, "boolean byte %u is not 0 or 1", W->buf[W->pos]);
                W->pos++;
                return 0;
        }
        if (!strcmp(t, "int"))
                return hd_walk_varint(W, 5, &v);
        if (!strcmp(t, "long"))
                return hd_walk_varint(W, 10, &v);
        if (!strcmp(t, "float"))
                return hd_walk_skip(W, 4, "float");
        if (!strcmp(t, "double"))
                return hd_walk_skip(W, 8, "double");
        if (!strcmp(t, "string") || !strcmp(t, "bytes"))
                return hd_walk_varint(W, 10, &v) ? -1 : hd_walk_skip(W, v, t);
        (void)node;
        return 1; /* not a primitive */
}

/* Arrays and maps: blocks of items, a negative count carries a byte size. */
static int hd_walk_blocks(hd_walk_t *W, const json_t *item, int is_map, int depth)
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
                if (count > HD_AVRO_MAX_ITEMS || (total += count) > HD_AVRO_MAX_ITEMS)
                        return hd_walk_err(W, "more than %d items", HD_AVRO_MAX_ITEMS);
                /* Zero-byte items (null) let a tiny input claim many items; the cap
                 * above bounds that work. */
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

static const json_t *hd_walk_resolve(hd_walk_t *W, const char *ref)
{
        const json_t *def = json_object_get(W->s->names, ref);
        const char *k;
        json_t *v;
        size_t n = strlen(ref);

        if (def)
                return def;
        json_object_foreach(W->s->names, k, v) {
                size_t kl = strlen(k);
                if (kl > n && k[kl - n - 1] == '.' && !strcmp(k + kl - n, ref))
                        return v;
        }
        return NULL;
}

static int hd_walk_named(hd_walk_t *W, const json_t *node, const char *t, int depth)
{
        const json_t *f;
        int64_t idx = 0;
        size_t i;

        if (!strcmp(t, "record") || !strcmp(t, "error")) {
                json_array_foreach(json_object_get(node, "fields"), i, f)
                        if (hd_walk(W, json_object_get(f, "type"), depth + 1))
                                return -1;
                return 0;
        }
        if (!strcmp(t, "enum")) {
                if (hd_walk_varint(W, 5, &idx))
                        return -1;
                if (idx < 0 || (size_t)idx >= json_array_size(json_object_get(node, "symbols")))
                        return hd_walk_err(W, "enum index %lld out of range", (long long)idx);
                return 0;
        }
        if (!strcmp(t, "fixed"))
                return hd_walk_skip(W, json_integer_value(json_object_get(node, "size")), "fixed");
        if (!strcmp(t, "array"))
                return hd_walk_blocks(W, json_object_get(node, "items"), 0, depth);
        if (!strcmp(t, "map"))
                return hd_walk_blocks(W, json_object_get(node, "values"), 1, depth);
        return hd_walk_err(W, "schema has unknown type \"%s\"", t);
}

static int hd_walk(hd_walk_t *W, const json_t *node, int depth)
{
        int64_t idx = 0;
        int r;

        if (depth > HD_AVRO_MAX_DEPTH)
                return hd_walk_err(W, "nested deeper than %d", HD_AVRO_MAX_DEPTH);
        if (json_is_array(node)) { /* union */
                if (hd_walk_varint(W, 10, &idx))
                        return -1;
                if (idx < 0 || (size_t)idx >= json_array_size(node))
                        return hd_walk_err(W, "union index %lld out of range (%zu branches)",
                                           (long long)idx, json_array_size(node));
                return hd_walk(W, json_array_get(node, (size_t)idx), depth + 1);
        }
        if (json_is_string(node)) {
                const json_t *def;
                r = hd_walk_primitive(W, json_string_value(node), node);
                if (r <= 0)
                        return r;
                if (!(def = hd_walk_resolve(W, json_string_value(node))))
                        return hd_walk_err(W, "schema names unknown type \"%s\"",
                                           json_string_value(node));
                return hd_walk(W, def, depth + 1);
        }
        if (json_is_object(node)) {
                const json_t *t = json_object_get(node, "type");
                if (json_is_string(t)) {
                        r = hd_walk_primitive(W, json_string_value(t), node);
                        if (r <= 0)
                                return r;
                        return hd_walk_named(W, node, json_string_value(t), depth);
                }
                return hd_walk(W, t, depth + 1);
        }
        return hd_walk_err(W, "schema node is not a type");
}

int hd_avro_check(const hd_avro_schema_t *s, const unsigned char *buf, size_t len,
                  size_t *consumed, char *errstr, size_t errstr_size)
{
        hd_walk_t W = {s, buf, len, 0, errstr, errstr_size};

        if (hd_walk(&W, s->root, 0))
                return -1;
        *consumed = W.pos;
        return 0;
}
