/*
 * herald_json: a fast reader for the common shape of a JSON event (an object of
 * objects, arrays, plain strings, integers, booleans and nulls) that builds the
 * same jansson tree json_loads(text, JSON_REJECT_DUPLICATES) would. jansson's own
 * reader goes a character at a time through a stream layer and costs several
 * times the validation and encoding of the event after it. Anything else (reals,
 * \u escapes, escaped keys, duplicate keys, deep nesting) and every error is left
 * to jansson: herald_json_parse returns NULL and the caller asks json_loads,
 * which gives the verdict and the message. So this never accepts what jansson
 * refuses, and never words an error.
 */
#include "herald_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define HERALD_JSON_MAX_DEPTH 64

typedef struct herald_jp {
        const char *p;
        char *buf; /* unescaped string values */
        size_t cap;
} herald_jp_t;

static json_t *herald_jp_value(herald_jp_t *P, int depth);

static void herald_jp_ws(herald_jp_t *P)
{
        while (*P->p == ' ' || *P->p == '\n' || *P->p == '\t' || *P->p == '\r')
                P->p++;
}

/*
 * A string at P->p ('"'): *s and *len point into the text when it has no escape,
 * else into P->buf (when escapes_ok). *ascii = 0 when a byte is >= 0x80, so the
 * caller has jansson check the UTF-8. -1 for anything to leave to jansson.
 */
static int herald_jp_string(herald_jp_t *P, int escapes_ok, const char **s, size_t *len,
                            int *ascii)
{
        const unsigned char *q = (const unsigned char *)P->p + 1, *start = q;
        size_t n = 0;

        *ascii = 1;
        for (; *q != '"'; q++) {
                if (*q < 0x20 || *q == '\\')
                        break;
                if (*q >= 0x80)
                        *ascii = 0;
        }
        if (*q == '"') {
                *s = (const char *)start;
                *len = (size_t)(q - start);
                P->p = (const char *)q + 1;
                return 0;
        }
        if (*q != '\\' || !escapes_ok)
                return -1; /* a control character, the end of the text, or a key */
        for (q = start;; q++) {
                unsigned char c = *q;
                if (c == '"')
                        break;
                if (c < 0x20)
                        return -1;
                if (c >= 0x80)
                        *ascii = 0;
                if (c == '\\') {
                        switch (*++q) {
                        case '"': c = '"'; break;
                        case '\\': c = '\\'; break;
                        case '/': c = '/'; break;
                        case 'b': c = '\b'; break;
                        case 'f': c = '\f'; break;
                        case 'n': c = '\n'; break;
                        case 'r': c = '\r'; break;
                        case 't': c = '\t'; break;
                        default: return -1; /* \u and anything invalid */
                        }
                }
                if (n == P->cap) {
                        P->cap = P->cap ? P->cap * 2 : 256;
                        P->buf = hd_realloc(P->buf, P->cap);
                }
                P->buf[n++] = (char)c;
        }
        *s = P->buf;
        *len = n;
        P->p = (const char *)q + 1;
        return 0;
}

/* An integer, as jansson reads it (no leading zeros, within json_int_t). */
static json_t *herald_jp_integer(herald_jp_t *P)
{
        const char *q = P->p;
        unsigned long long v = 0, max = LLONG_MAX;
        int neg = *q == '-';

        q += neg;
        if (*q < '0' || *q > '9' || (*q == '0' && q[1] >= '0' && q[1] <= '9'))
                return NULL;
        for (; *q >= '0' && *q <= '9'; q++) {
                unsigned d = (unsigned)(*q - '0');
                if (v > (max + (unsigned)neg - d) / 10)
                        return NULL; /* jansson: "too big integer" */
                v = v * 10 + d;
        }
        if (*q == '.' || *q == 'e' || *q == 'E')
                return NULL; /* a real: jansson's */
        P->p = q;
        return json_integer(neg ? (json_int_t)(0 - v) : (json_int_t)v);
}

static json_t *herald_jp_object(herald_jp_t *P, int depth)
{
        json_t *obj = json_object(), *v;
        size_t count = 0;

        P->p++;
        herald_jp_ws(P);
        if (*P->p == '}') {
                P->p++;
                return obj;
        }
        for (;;) {
                const char *key;
                size_t klen;
                int ascii, r;

                if (*P->p != '"' || herald_jp_string(P, 0, &key, &klen, &ascii))
                        goto fail;
                herald_jp_ws(P);
                if (*P->p++ != ':')
                        goto fail;
                herald_jp_ws(P);
                if (!(v = herald_jp_value(P, depth + 1)))
                        goto fail;
                r = ascii ? json_object_setn_new_nocheck(obj, key, klen, v)
                          : json_object_setn_new(obj, key, klen, v);
                if (r || ++count != json_object_size(obj))
                        goto fail; /* invalid UTF-8, or a duplicate key */
                herald_jp_ws(P);
                if (*P->p == '}')
                        break;
                if (*P->p++ != ',')
                        goto fail;
                herald_jp_ws(P);
        }
        P->p++;
        return obj;
fail:
        json_decref(obj);
        return NULL;
}

static json_t *herald_jp_array(herald_jp_t *P, int depth)
{
        json_t *arr = json_array(), *v;

        P->p++;
        herald_jp_ws(P);
        if (*P->p == ']') {
                P->p++;
                return arr;
        }
        for (;;) {
                if (!(v = herald_jp_value(P, depth + 1)) || json_array_append_new(arr, v))
                        goto fail;
                herald_jp_ws(P);
                if (*P->p == ']')
                        break;
                if (*P->p++ != ',')
                        goto fail;
                herald_jp_ws(P);
        }
        P->p++;
        return arr;
fail:
        json_decref(arr);
        return NULL;
}

static json_t *herald_jp_literal(herald_jp_t *P, const char *word, json_t *v)
{
        size_t n = strlen(word);

        if (strncmp(P->p, word, n) || (P->p[n] >= 'a' && P->p[n] <= 'z'))
                return NULL;
        P->p += n;
        return v;
}

static json_t *herald_jp_value(herald_jp_t *P, int depth)
{
        const char *s;
        size_t len;
        int ascii;

        if (depth > HERALD_JSON_MAX_DEPTH)
                return NULL;
        switch (*P->p) {
        case '{': return herald_jp_object(P, depth);
        case '[': return herald_jp_array(P, depth);
        case '"':
                if (herald_jp_string(P, 1, &s, &len, &ascii))
                        return NULL;
                return ascii ? json_stringn_nocheck(s, len) : json_stringn(s, len);
        case 't': return herald_jp_literal(P, "true", json_true());
        case 'f': return herald_jp_literal(P, "false", json_false());
        case 'n': return herald_jp_literal(P, "null", json_null());
        default: return herald_jp_integer(P);
        }
}

json_t *herald_json_parse(const char *text)
{
        herald_jp_t P = {text, NULL, 0};
        json_t *j = NULL;

        herald_jp_ws(&P);
        if (*P.p == '{' && (j = herald_jp_object(&P, 1))) {
                herald_jp_ws(&P);
                if (*P.p) { /* trailing text: jansson's error */
                        json_decref(j);
                        j = NULL;
                }
        }
        free(P.buf);
        return j;
}
