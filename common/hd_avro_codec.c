/* hd_avro_codec: see hd_avro_codec.h. */
#include "hd_avro_codec.h"
#include "hd_path.h"
#include "hd_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_AVRO_MAX_DEPTH 64
#define HD_AVRO_MAX_ITEMS (1 << 20)

/* --- decoding ---------------------------------------------------------------------- */

typedef struct hd_dec {
        const unsigned char *buf;
        size_t len, pos;
        char *errstr;
        size_t errstr_size;
} hd_dec_t;

static int hd_dec_err(hd_dec_t *D, const char *fmt, ...) HD_PRINTF(2, 3);

static int hd_dec_err(hd_dec_t *D, const char *fmt, ...)
{
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return hd_seterr(D->errstr, D->errstr_size, "at byte %zu: %s", D->pos, msg);
}

/* Zig-zag varint of at most maxbytes (5 for int, 10 for long). */
static int hd_dec_varint(hd_dec_t *D, int maxbytes, int64_t *out)
{
        uint64_t v = 0;
        int shift = 0;

        for (int i = 0; i < maxbytes; i++) {
                unsigned char b;
                if (D->pos >= D->len)
                        return hd_dec_err(D, "varint runs past the end");
                b = D->buf[D->pos++];
                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
                        return 0;
                }
                shift += 7;
        }
        return hd_dec_err(D, "varint longer than %d bytes", maxbytes);
}

/* Checks that n bytes follow; returns their start or NULL. */
static const unsigned char *hd_dec_take(hd_dec_t *D, int64_t n, const char *what)
{
        const unsigned char *p = D->buf + D->pos;

        if (n < 0) {
                hd_dec_err(D, "%s length %lld is negative", what, (long long)n);
                return NULL;
        }
        if ((uint64_t)n > D->len - D->pos) {
                hd_dec_err(D, "%s length %lld exceeds the %zu bytes left", what, (long long)n,
                           D->len - D->pos);
                return NULL;
        }
        D->pos += (size_t)n;
        return p;
}

static json_t *hd_dec(hd_dec_t *D, const hd_anode_t *n, int depth);

static json_t *hd_dec_text(hd_dec_t *D, const char *what)
{
        int64_t n = 0;
        const unsigned char *p;
        size_t at = D->pos;
        json_t *j;

        if (hd_dec_varint(D, 10, &n) || !(p = hd_dec_take(D, n, what)))
                return NULL;
        if (!(j = json_stringn((const char *)p, (size_t)n))) {
                D->pos = at;
                hd_dec_err(D, "%s is not valid UTF-8", what);
        }
        return j;
}

/*
 * bytes and fixed carry arbitrary octets; JSON gets them in Avro's own JSON form
 * (each byte one code point U+0000..U+00FF), so binary values round-trip instead
 * of failing a UTF-8 check. hd_enc_octets() is the inverse.
 */
static json_t *hd_dec_octets(hd_dec_t *D, int64_t n, const char *what)
{
        const unsigned char *p = hd_dec_take(D, n, what);
        char *tmp;
        size_t k = 0;
        json_t *j;

        if (!p)
                return NULL;
        tmp = hd_malloc((size_t)n * 2 + 1);
        for (int64_t i = 0; i < n; i++) {
                if (p[i] < 0x80) {
                        tmp[k++] = (char)p[i];
                } else {
                        tmp[k++] = (char)(0xc0 | (p[i] >> 6));
                        tmp[k++] = (char)(0x80 | (p[i] & 0x3f));
                }
        }
        j = json_stringn_nocheck(tmp, k);
        free(tmp);
        return j;
}

/* Arrays and maps: blocks of items; a negative count carries a byte size. */
static json_t *hd_dec_blocks(hd_dec_t *D, const hd_anode_t *n, int depth)
{
        json_t *out = n->t == HD_AT_ARRAY ? json_array() : json_object();
        int64_t total = 0;

        for (;;) {
                int64_t count = 0, size = -1;
                size_t start;
                if (hd_dec_varint(D, 10, &count))
                        goto fail;
                if (count == 0)
                        return out;
                if (count < 0) {
                        if (count == INT64_MIN) {
                                hd_dec_err(D, "block count out of range");
                                goto fail;
                        }
                        count = -count;
                        if (hd_dec_varint(D, 10, &size))
                                goto fail;
                        if (size < 0 || (uint64_t)size > D->len - D->pos) {
                                hd_dec_err(D, "block size %lld is invalid", (long long)size);
                                goto fail;
                        }
                }
                /* Zero-byte items (null) let tiny input claim many; the cap bounds it. */
                if (count > HD_AVRO_MAX_ITEMS || (total += count) > HD_AVRO_MAX_ITEMS) {
                        hd_dec_err(D, "more than %d items", HD_AVRO_MAX_ITEMS);
                        goto fail;
                }
                start = D->pos;
                for (int64_t i = 0; i < count; i++) {
                        json_t *key = NULL, *v;
                        if (n->t == HD_AT_MAP && !(key = hd_dec_text(D, "map key")))
                                goto fail;
                        if (!(v = hd_dec(D, n->kids[0], depth + 1))) {
                                json_decref(key);
                                goto fail;
                        }
                        if (key)
                                json_object_set_new(out, json_string_value(key), v);
                        else
                                json_array_append_new(out, v);
                        json_decref(key);
                }
                /* A block that declares its byte size must have exactly that size:
                 * anything else means the writer and the bytes disagree. */
                if (size >= 0 && D->pos - start != (size_t)size) {
                        hd_dec_err(D, "block declared %lld bytes but its items took %zu",
                                   (long long)size, D->pos - start);
                        goto fail;
                }
        }
fail:
        json_decref(out);
        return NULL;
}

static json_t *hd_dec_record(hd_dec_t *D, const hd_anode_t *n, int depth)
{
        json_t *out = json_object();

        for (size_t i = 0; i < n->n; i++) {
                json_t *v = hd_dec(D, n->kids[i], depth + 1);
                if (!v) {
                        json_decref(out);
                        return NULL;
                }
                json_object_set_new_nocheck(out, n->names[i], v); /* schema names */
        }
        return out;
}

/*
 * JSON has no NaN or infinity (json_real() refuses them), so such a value is an
 * error that names its position, not a silent null or a NULL without a message.
 */
static json_t *hd_dec_real(hd_dec_t *D, double d, size_t width)
{
        if (isfinite(d))
                return json_real(d);
        D->pos -= width; /* point at the value, not past it */
        hd_dec_err(D, "%s is NaN or infinite, which JSON cannot carry",
                   width == 4 ? "float" : "double");
        return NULL;
}

static json_t *hd_dec_number(hd_dec_t *D, const hd_anode_t *n)
{
        const unsigned char *p;
        int64_t v = 0;

        switch (n->t) {
        case HD_AT_INT:
                return hd_dec_varint(D, 5, &v) ? NULL : json_integer(v);
        case HD_AT_LONG:
                return hd_dec_varint(D, 10, &v) ? NULL : json_integer(v);
        case HD_AT_FLOAT: {
                float f;
                if (!(p = hd_dec_take(D, 4, "float")))
                        return NULL;
                memcpy(&f, p, 4); /* Avro is little-endian, as is every target herald runs on */
                return hd_dec_real(D, f, 4);
        }
        default: {
                double d;
                if (!(p = hd_dec_take(D, 8, "double")))
                        return NULL;
                memcpy(&d, p, 8);
                return hd_dec_real(D, d, 8);
        }
        }
}

static json_t *hd_dec(hd_dec_t *D, const hd_anode_t *n, int depth)
{
        int64_t v = 0;

        if (depth > HD_AVRO_MAX_DEPTH) {
                hd_dec_err(D, "nested deeper than %d", HD_AVRO_MAX_DEPTH);
                return NULL;
        }
        switch (n->t) {
        case HD_AT_NULL:
                return json_null();
        case HD_AT_BOOLEAN:
                if (D->pos >= D->len) {
                        hd_dec_err(D, "boolean runs past the end");
                        return NULL;
                }
                if (D->buf[D->pos] > 1) {
                        hd_dec_err(D, "boolean byte %u is not 0 or 1", D->buf[D->pos]);
                        return NULL;
                }
                return json_boolean(D->buf[D->pos++]);
        case HD_AT_INT:
        case HD_AT_LONG:
        case HD_AT_FLOAT:
        case HD_AT_DOUBLE:
                return hd_dec_number(D, n);
        case HD_AT_STRING:
                return hd_dec_text(D, "string");
        case HD_AT_BYTES:
                return hd_dec_varint(D, 10, &v) ? NULL : hd_dec_octets(D, v, "bytes");
        case HD_AT_FIXED:
                return hd_dec_octets(D, (int64_t)n->n, "fixed");
        case HD_AT_ENUM:
                if (hd_dec_varint(D, 5, &v))
                        return NULL;
                if (v < 0 || (uint64_t)v >= n->n) {
                        hd_dec_err(D, "enum index %lld out of range", (long long)v);
                        return NULL;
                }
                return json_string(n->names[v]);
        case HD_AT_UNION:
                if (hd_dec_varint(D, 10, &v))
                        return NULL;
                if (v < 0 || (uint64_t)v >= n->n) {
                        hd_dec_err(D, "union index %lld out of range (%zu branches)",
                                   (long long)v, n->n);
                        return NULL;
                }
                return hd_dec(D, n->kids[v], depth + 1);
        case HD_AT_RECORD:
                return hd_dec_record(D, n, depth);
        case HD_AT_ARRAY:
        case HD_AT_MAP:
                return hd_dec_blocks(D, n, depth);
        }
        hd_dec_err(D, "unknown schema node");
        return NULL;
}

json_t *hd_avro_decode(const hd_anode_t *schema, const unsigned char *buf, size_t len,
                       size_t *consumed, char *errstr, size_t errstr_size)
{
        hd_dec_t D = {buf, len, 0, errstr, errstr_size};
        json_t *j = hd_dec(&D, schema, 0);

        *consumed = D.pos;
        return j;
}

/* --- encoding ----------------------------------------------------------------------- */

typedef struct hd_enc {
        unsigned char *out;
        size_t cap, len;
        int overflow;
        int strict;       /* writer = catalogue: the encoder is the data validation */
        const char *data_record;
        size_t data_record_len;
        char *errstr;
        size_t errstr_size;
} hd_enc_t;

static void hd_enc_put(hd_enc_t *E, const void *p, size_t n)
{
        if (E->overflow || n > E->cap - E->len) {
                E->overflow = 1;
                return;
        }
        memcpy(E->out + E->len, p, n);
        E->len += n;
}

static void hd_enc_long(hd_enc_t *E, int64_t v)
{
        unsigned char b[10];

        hd_enc_put(E, b, hd_avro_put_long(v, b));
}

static int hd_enc_mismatch(hd_enc_t *E, const hd_path_t *path, const char *want)
{
        char buf[512];
        return hd_seterr(E->errstr, E->errstr_size, "%s: expected %s",
                         hd_path_format(path, buf, sizeof(buf)), want);
}

static int hd_enc(hd_enc_t *E, const hd_anode_t *n, const json_t *j, const hd_path_t *path);

static int hd_enc_nullable(const hd_anode_t *n)
{
        for (size_t i = 0; n->t == HD_AT_UNION && i < n->n; i++)
                if (n->kids[i]->t == HD_AT_NULL)
                        return 1;
        return n->t == HD_AT_NULL;
}

/* The same words as hd_event_validate, so both paths read alike. */
static int hd_enc_missing(hd_enc_t *E, const hd_anode_t *n, const hd_path_t *path)
{
        char buf[512];
        return hd_seterr(E->errstr, E->errstr_size, "%s: missing required %s",
                         hd_path_format(path, buf, sizeof(buf)),
                         n->t == HD_AT_STRING                     ? "string"
                         : n->t == HD_AT_LONG || n->t == HD_AT_INT ? "integer"
                                                                  : "field");
}

/* Strict mode: a key the record does not have is refused, naming it. */
static int hd_enc_unknown(hd_enc_t *E, const hd_anode_t *n, const json_t *j,
                          const hd_path_t *path)
{
        const char *key;
        json_t *v;
        char buf[512];

        json_object_foreach((json_t *)j, key, v) {
                size_t i;
                for (i = 0; i < n->n && strcmp(n->names[i], key); i++)
                        ;
                if (i == n->n) {
                        hd_path_format(path, buf, sizeof(buf));
                        return hd_seterr(E->errstr, E->errstr_size, "%s%s%s: unknown field",
                                         buf, *buf ? "." : "", key);
                }
        }
        return 0;
}

/*
 * The union branch for j: null for null; a record branch when it is the event's
 * data record or the union's only record; else the first branch of j's kind.
 */
static int hd_enc_branch(const hd_enc_t *E, const hd_anode_t *u, const json_t *j)
{
        size_t records = u->nrecords;
        int pick = -1;

        if (json_is_null(j))
                return u->null_branch; /* only a null branch takes null */
        for (size_t i = 0; i < u->n && pick < 0; i++) {
                const hd_anode_t *b = u->kids[i];
                switch (b->t) {
                case HD_AT_NULL: break;
                case HD_AT_RECORD:
                        /* Names compared by length first: the data union has a
                         * record per event type, all in one namespace. */
                        if (json_is_object(j) &&
                            (records == 1 ||
                             (E->data_record && b->fullname &&
                              b->fullname_len == E->data_record_len &&
                              !memcmp(b->fullname, E->data_record, b->fullname_len))))
                                pick = (int)i;
                        break;
                case HD_AT_MAP: if (json_is_object(j)) pick = (int)i; break;
                case HD_AT_ARRAY: if (json_is_array(j)) pick = (int)i; break;
                case HD_AT_BOOLEAN: if (json_is_boolean(j)) pick = (int)i; break;
                case HD_AT_INT:
                case HD_AT_LONG: if (json_is_integer(j)) pick = (int)i; break;
                case HD_AT_FLOAT:
                case HD_AT_DOUBLE: if (json_is_number(j)) pick = (int)i; break;
                default: if (json_is_string(j)) pick = (int)i; break;
                }
        }
        return pick;
}

static int hd_enc_record(hd_enc_t *E, const hd_anode_t *n, const json_t *j,
                         const hd_path_t *path)
{
        size_t found = 0;

        void *it = (void *)json_object_iter((json_t *)j);

        size_t size;

        if (!json_is_object(j))
                return hd_enc_mismatch(E, path, "an object");
        size = json_object_size(j);
        for (size_t i = 0; i < n->n; i++) {
                const json_t *v = NULL;
                hd_path_t sub = {n->names[i], path};
                /* Objects keep their keys in insertion order, usually the schema's:
                 * walking both avoids a hash lookup per field; any other order
                 * falls back to the lookup. Once every key was matched, the
                 * fields left are absent (optional ones, often): no lookup. */
                const char *k = it ? json_object_iter_key(it) : NULL;
                if (k && k[0] == n->names[i][0] && !strcmp(k, n->names[i])) {
                        v = json_object_iter_value(it);
                        it = json_object_iter_next((json_t *)j, it);
                } else if (found < size) {
                        v = json_object_get(j, n->names[i]);
                }
                found += v != NULL;
                if (hd_enc(E, n->kids[i], v ? v : json_null(), &sub))
                        return -1;
        }
        if (E->strict && found != size)
                return hd_enc_unknown(E, n, j, path);
        return 0;
}

static int hd_enc_items(hd_enc_t *E, const hd_anode_t *n, const json_t *j,
                        const hd_path_t *path)
{
        size_t count = n->t == HD_AT_ARRAY ? json_array_size(j) : json_object_size(j);
        const char *key;
        json_t *v;
        size_t i;

        if (n->t == HD_AT_ARRAY ? !json_is_array(j) : !json_is_object(j))
                return hd_enc_mismatch(E, path, n->t == HD_AT_ARRAY ? "an array" : "an object");
        if (count) {
                hd_enc_long(E, (int64_t)count);
                if (n->t == HD_AT_ARRAY) {
                        json_array_foreach(j, i, v)
                                if (hd_enc(E, n->kids[0], v, path))
                                        return -1;
                } else {
                        json_object_foreach((json_t *)j, key, v) {
                                hd_path_t sub = {key, path};
                                hd_enc_long(E, (int64_t)strlen(key));
                                hd_enc_put(E, key, strlen(key));
                                if (hd_enc(E, n->kids[0], v, &sub))
                                        return -1;
                        }
                }
        }
        hd_enc_long(E, 0);
        return 0;
}

/* Number of octets a bytes/fixed string stands for, or -1 if a code point > U+00FF. */
static int64_t hd_octets_count(const unsigned char *s, size_t len)
{
        int64_t n = 0;

        for (size_t i = 0; i < len; i++, n++) {
                if (s[i] >= 0x80) {
                        if ((s[i] != 0xc2 && s[i] != 0xc3) || i + 1 >= len)
                                return -1;
                        i++; /* jansson strings are valid UTF-8: one continuation byte */
                }
        }
        return n;
}

/* bytes/fixed from Avro's JSON form (see hd_dec_octets). */
static int hd_enc_octets(hd_enc_t *E, const hd_anode_t *n, const json_t *j,
                         const hd_path_t *path)
{
        const unsigned char *s = (const unsigned char *)json_string_value(j);
        size_t len = json_string_length(j);
        int64_t count = s ? hd_octets_count(s, len) : -1;

        if (count < 0)
                return hd_enc_mismatch(E, path, "a string of code points U+0000..U+00FF");
        if (n->t == HD_AT_FIXED && (uint64_t)count != n->n)
                return hd_enc_mismatch(E, path, "a string of the fixed size");
        if (n->t == HD_AT_BYTES)
                hd_enc_long(E, count);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = s[i];
                if (c >= 0x80)
                        c = (unsigned char)(((c & 0x03) << 6) | (s[++i] & 0x3f));
                hd_enc_put(E, &c, 1);
        }
        return 0;
}

static int hd_enc(hd_enc_t *E, const hd_anode_t *n, const json_t *j, const hd_path_t *path)
{
        int b;

        if (E->strict && json_is_null(j) && !hd_enc_nullable(n))
                return hd_enc_missing(E, n, path);
        switch (n->t) {
        case HD_AT_NULL:
                return json_is_null(j) ? 0 : hd_enc_mismatch(E, path, "null");
        case HD_AT_BOOLEAN: {
                unsigned char c = json_is_true(j);
                if (!json_is_boolean(j))
                        return hd_enc_mismatch(E, path, "a boolean");
                hd_enc_put(E, &c, 1);
                return 0;
        }
        case HD_AT_INT:
                if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
                    json_integer_value(j) > INT32_MAX)
                        return hd_enc_mismatch(E, path, "an integer");
                hd_enc_long(E, json_integer_value(j));
                return 0;
        case HD_AT_LONG:
                if (!json_is_integer(j))
                        return hd_enc_mismatch(E, path, "an integer");
                hd_enc_long(E, json_integer_value(j));
                return 0;
        case HD_AT_FLOAT: {
                float f = (float)json_number_value(j);
                if (!json_is_number(j))
                        return hd_enc_mismatch(E, path, "a number");
                hd_enc_put(E, &f, 4);
                return 0;
        }
        case HD_AT_DOUBLE: {
                double d = json_number_value(j);
                if (!json_is_number(j))
                        return hd_enc_mismatch(E, path, "a number");
                hd_enc_put(E, &d, 8);
                return 0;
        }
        case HD_AT_STRING:
                if (!json_is_string(j))
                        return hd_enc_mismatch(E, path, "a string");
                hd_enc_long(E, (int64_t)json_string_length(j));
                hd_enc_put(E, json_string_value(j), json_string_length(j));
                return 0;
        case HD_AT_BYTES:
        case HD_AT_FIXED:
                return hd_enc_octets(E, n, j, path);
        case HD_AT_ENUM:
                for (size_t i = 0; json_is_string(j) && i < n->n; i++)
                        if (!strcmp(n->names[i], json_string_value(j))) {
                                hd_enc_long(E, (int64_t)i);
                                return 0;
                        }
                return hd_enc_mismatch(E, path, "one of the allowed values");
        case HD_AT_UNION:
                if ((b = hd_enc_branch(E, n, j)) < 0)
                        return hd_enc_mismatch(E, path, json_is_null(j)
                                                                ? "a value, not null"
                                                                : "a type this schema's union has");
                hd_enc_long(E, b);
                return hd_enc(E, n->kids[b], j, path);
        case HD_AT_RECORD:
                return hd_enc_record(E, n, j, path);
        case HD_AT_ARRAY:
        case HD_AT_MAP:
                return hd_enc_items(E, n, j, path);
        }
        return hd_enc_mismatch(E, path, "a supported type");
}

int hd_avro_encode(const hd_anode_t *schema, const json_t *j, const char *data_record,
                   int strict, unsigned char *out, size_t cap, size_t *len, char *errstr,
                   size_t errstr_size)
{
        hd_enc_t E = {out, cap, 0, 0, strict, data_record,
                      data_record ? strlen(data_record) : 0, errstr, errstr_size};

        if (hd_enc(&E, schema, j, NULL))
                return -1;
        if (E.overflow)
                return -2;
        *len = E.len;
        return 0;
}
