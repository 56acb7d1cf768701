/* hd_avro_text: see hd_avro_text.h. */
#include "hd_avro_text.h"
#include "hd_avro_codec.h"
#include "hd_util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "hd_jp_stops8 counts bytes from the low end: little-endian only"
#endif

#define HD_JT_MAX_DEPTH 64
#define HD_JT_MAX_TEXT (64u << 20) /* token fields are 32-bit */
#define HD_JT_MAX_MAP_KEYS 256     /* duplicate check is quadratic */

/* --- tokens ------------------------------------------------------------------------- */

/* One bit per name signature: an object's keys OR'ed together (kept in its
 * token's i) tell at once that most absent fields are absent, without a scan. */
static inline uint64_t hd_jt_bit(uint32_t sig)
{
        return 1ull << ((sig * 0x9e3779b1u) >> 26);
}

typedef struct hd_jp {
        hd_jtoks_t *T;
        const unsigned char *p, *end; /* end: the text's NUL */
} hd_jp_t;

static inline size_t hd_jt_new(hd_jtoks_t *T, hd_jtkind_t kind)
{
        hd_jtok_t *t;

        if (T->n == T->cap) {
                T->cap = T->cap ? T->cap * 2 : 256;
                T->v = hd_realloc(T->v, T->cap * sizeof(*T->v));
        }
        t = &T->v[T->n];
        t->kind = (uint8_t)kind;
        t->len = t->sig = 0;
        t->s = NULL;
        t->i = 0;
        t->next = (uint32_t)(T->n + 1);
        return T->n++;
}

void hd_jtoks_free(hd_jtoks_t *T)
{
        free(T->v);
        T->v = NULL;
        T->n = T->cap = 0;
}

static inline void hd_jp_ws(hd_jp_t *P)
{
        if (*P->p > ' ')
                return; /* the usual case: compact JSON */
        while (*P->p == ' ' || *P->p == '\n' || *P->p == '\t' || *P->p == '\r')
                P->p++;
}

/* Length of the UTF-8 sequence at s as jansson accepts it (no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
static int hd_jp_utf8(const unsigned char *s)
{
        unsigned c = s[0], v;
        int n;

        if (c >= 0xc2 && c <= 0xdf)
                n = 2, v = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, v = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, v = c & 0x07;
        else
                return 0;
        for (int i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                v = (v << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10ffff ||
            (v >= 0xd800 && v <= 0xdfff))
                return 0;
        return n;
}

/* Bytes a string scan stops at: controls (and the NUL at the end), '"', '\\',
 * and the first byte of a multi-byte sequence. */
static const unsigned char hd_jp_stop[256] = {
        [0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

/* The stop bytes (hd_jp_stop) among the 8 bytes of x, each marked by its high
 * bit, exactly (no carries between bytes): SWAR, so a string's plain bytes go 8
 * at a time and the first stop byte is found by counting zeros. */
static inline uint64_t hd_jp_stops8(uint64_t x)
{
        const uint64_t low = 0x7f7f7f7f7f7f7f7full, high = ~low, ones = 0x0101010101010101ull;
        uint64_t l7 = x & low;
        uint64_t ctl = ~(l7 + ones * 0x60);                /* < 0x20 */
        uint64_t quote = ~(((l7 ^ ones * '"') + low));     /* == '"' */
        uint64_t bslash = ~(((l7 ^ ones * '\\') + low));   /* == '\\' */

        return ((ctl | quote | bslash) & ~x & high) | (x & high);
}

/* The first stop byte (hd_jp_stop) at or after q (end's NUL is one), returned as
 * soon as a word finds it: the whole parse waits on where each string ends. */
static inline const unsigned char *hd_jp_stop_at(const unsigned char *q,
                                                 const unsigned char *end)
{
        for (uint64_t x, m; q + 8 <= end; q += 8) {
                memcpy(&x, q, 8);
                if ((m = hd_jp_stops8(x)))
                        return q + __builtin_ctzll(m) / 8; /* little-endian */
        }
        while (!hd_jp_stop[*q])
                q++;
        return q;
}

/* A string without escapes; keys must be ASCII (the schema's names are). */
static long hd_jp_string(hd_jp_t *P, int key)
{
        const unsigned char *q = P->p + 1, *start = q;
        size_t t;

        for (;;) {
                int n;
                q = hd_jp_stop_at(q, P->end);
                if (*q == '"')
                        break;
                if (*q < 0x80)
                        return -1; /* control character, end of text, or an escape */
                if (key || !(n = hd_jp_utf8(q)))
                        return -1;
                q += n;
        }
        t = hd_jt_new(P->T, HD_JT_STR);
        P->T->v[t].s = (const char *)start;
        P->T->v[t].len = (uint32_t)(q - start);
        P->T->v[t].sig = hd_name_sig((const char *)start, (size_t)(q - start));
        P->p = q + 1;
        return (long)t;
}

/* An integer as jansson reads it (no leading zeros, within long long); reals are
 * declined (their value is strtod's, not ours to reproduce). */
static long hd_jp_integer(hd_jp_t *P)
{
        const unsigned char *q = P->p;
        unsigned long long v = 0, max = LLONG_MAX;
        int neg = *q == '-';
        size_t t;

        q += neg;
        if (*q < '0' || *q > '9' || (*q == '0' && q[1] >= '0' && q[1] <= '9'))
                return -1;
        for (; *q >= '0' && *q <= '9'; q++) {
                unsigned d = (unsigned)(*q - '0');
                if (v > (max + (unsigned)neg - d) / 10)
                        return -1;
                v = v * 10 + d;
        }
        if (*q == '.' || *q == 'e' || *q == 'E')
                return -1;
        t = hd_jt_new(P->T, HD_JT_INT);
        P->T->v[t].i = neg ? (int64_t)(0 - v) : (int64_t)v;
        P->p = q;
        return (long)t;
}

static long hd_jp_literal(hd_jp_t *P, const char *word, hd_jtkind_t kind)
{
        size_t n = strlen(word);
        unsigned char c;

        if (strncmp((const char *)P->p, word, n))
                return -1;
        c = P->p[n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
                return -1; /* jansson reads the whole word: an invalid token */
        P->p += n;
        return (long)hd_jt_new(P->T, kind);
}

static long hd_jp_value(hd_jp_t *P, int depth);

/* Objects and arrays: members separated by commas; keys first in objects. */
static long hd_jp_container(hd_jp_t *P, int depth)
{
        int obj = *P->p == '{';
        char close = obj ? '}' : ']';
        size_t t = hd_jt_new(P->T, obj ? HD_JT_OBJ : HD_JT_ARR);
        uint32_t members = 0;

        if (depth > HD_JT_MAX_DEPTH)
                return -1;
        P->p++;
        hd_jp_ws(P);
        if (*P->p != close) {
                for (;;) {
                        if (obj) {
                                long k;
                                if (*P->p != '"' || (k = hd_jp_string(P, 1)) < 0)
                                        return -1;
                                P->T->v[t].i |= (int64_t)hd_jt_bit(P->T->v[k].sig);
                                hd_jp_ws(P);
                                if (*P->p++ != ':')
                                        return -1;
                                hd_jp_ws(P);
                        }
                        if (hd_jp_value(P, depth + 1) < 0)
                                return -1;
                        members++;
                        hd_jp_ws(P);
                        if (*P->p == close)
                                break;
                        if (*P->p++ != ',')
                                return -1;
                        hd_jp_ws(P);
                }
        }
        P->p++;
        P->T->v[t].len = members;
        P->T->v[t].next = (uint32_t)P->T->n;
        return (long)t;
}

static long hd_jp_value(hd_jp_t *P, int depth)
{
        switch (*P->p) {
        case '{':
        case '[': return hd_jp_container(P, depth);
        case '"': return hd_jp_string(P, 0);
        case 't': return hd_jp_literal(P, "true", HD_JT_TRUE);
        case 'f': return hd_jp_literal(P, "false", HD_JT_FALSE);
        case 'n': return hd_jp_literal(P, "null", HD_JT_NULL);
        default: return hd_jp_integer(P);
        }
}

int hd_jtoks_parse(hd_jtoks_t *T, const char *text)
{
        hd_jp_t P = {T, (const unsigned char *)text, (const unsigned char *)text + strlen(text)};

        T->n = T->ntext = 0;
        hd_jp_ws(&P);
        if (*P.p != '{' || hd_jp_container(&P, 1) < 0)
                return -1;
        T->ntext = T->n;
        hd_jp_ws(&P);
        /* Token lengths and indexes are 32-bit: longer text is the tree path's. */
        return *P.p || (size_t)((const char *)P.p - text) >= HD_JT_MAX_TEXT ? -1 : 0;
}

size_t hd_jtoks_add_str(hd_jtoks_t *T, const char *s, size_t len)
{
        size_t t = hd_jt_new(T, HD_JT_STR);

        T->v[t].s = s;
        T->v[t].len = (uint32_t)len;
        T->v[t].sig = hd_name_sig(s, len);
        return t;
}

size_t hd_jtoks_add_int(hd_jtoks_t *T, int64_t i)
{
        size_t t = hd_jt_new(T, HD_JT_INT);

        T->v[t].i = i;
        return t;
}

/* 1 when the len bytes at a and b are the same. Names are short: compared here,
 * not through a call, in words that overlap rather than byte by byte at the end
 * (never reading outside either). */
static inline int hd_name_eq(const char *a, const char *b, size_t len)
{
        uint64_t x, y;
        uint32_t x4, y4;
        uint16_t x2, y2;

        if (len >= 8) {
                /* The last word first: names of one namespace differ at the end. */
                memcpy(&x, a + len - 8, 8);
                memcpy(&y, b + len - 8, 8);
                if (x != y)
                        return 0;
                for (size_t i = 0; i + 8 < len; i += 8) {
                        memcpy(&x, a + i, 8);
                        memcpy(&y, b + i, 8);
                        if (x != y)
                                return 0;
                }
                return 1;
        }
        if (len >= 4) {
                memcpy(&x4, a, 4);
                memcpy(&y4, b, 4);
                if (x4 != y4)
                        return 0;
                memcpy(&x4, a + len - 4, 4);
                memcpy(&y4, b + len - 4, 4);
                return x4 == y4;
        }
        if (len >= 2) {
                memcpy(&x2, a, 2);
                memcpy(&y2, b, 2);
                return x2 == y2 && a[len - 1] == b[len - 1];
        }
        return !len || *a == *b;
}

/* 1 when key token k spells name (len bytes, signature sig). */
static inline int hd_jt_key_is(const hd_jtok_t *k, const char *name, size_t len, uint32_t sig)
{
        return k->sig == sig && k->len == len && hd_name_eq(k->s, name, len);
}

int hd_jtok_is(const hd_jtok_t *t, const char *s)
{
        return t->kind == HD_JT_STR && strlen(s) == t->len && !memcmp(t->s, s, t->len);
}

long hd_jtoks_get(const hd_jtoks_t *T, size_t obj, const char *key)
{
        size_t len = strlen(key);
        uint32_t sig = hd_name_sig(key, len);

        for (size_t k = obj + 1; k < T->v[obj].next; k = T->v[k + 1].next)
                if (hd_jt_key_is(&T->v[k], key, len, sig))
                        return (long)k + 1;
        return -1;
}

/* --- encoding ----------------------------------------------------------------------- */

typedef struct hd_tenc {
        const hd_jtoks_t *T;
        unsigned char *out;
        size_t cap, len;
        const char *data_record;
        size_t data_record_len, data_hint;
        const hd_jdefault_t *defs;
        size_t ndefs;
} hd_tenc_t;

static inline int hd_te_put(hd_tenc_t *E, const void *p, size_t n)
{
        unsigned char *o = E->out + E->len;
        const unsigned char *a = p;

        if (n > E->cap - E->len)
                return -1; /* too large: the tree path says so */
        /* Most strings of an event are short: copied in two words that overlap,
         * not through a call. */
        if (n >= 8 && n <= 16) {
                memcpy(o, a, 8);
                memcpy(o + n - 8, a + n - 8, 8);
        } else if (n >= 4 && n < 8) {
                memcpy(o, a, 4);
                memcpy(o + n - 4, a + n - 4, 4);
        } else {
                memcpy(o, a, n);
        }
        E->len += n;
        return 0;
}

static inline int hd_te_long(hd_tenc_t *E, int64_t v)
{
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        unsigned char b[10];

        if (z < 0x80 && E->len < E->cap) { /* one byte: lengths, indexes, small numbers */
                E->out[E->len++] = (unsigned char)z;
                return 0;
        }
        return hd_te_put(E, b, hd_avro_put_long(v, b));
}

static int hd_te_nullable(const hd_anode_t *n)
{
        for (size_t i = 0; n->t == HD_AT_UNION && i < n->n; i++)
                if (n->kids[i]->t == HD_AT_NULL)
                        return 1;
        return n->t == HD_AT_NULL;
}

/* 1 when branch b of union u takes a value of this kind (hd_enc_branch's rule). */
static inline int hd_te_takes(const hd_tenc_t *E, const hd_anode_t *u, const hd_anode_t *b,
                              int kind)
{
        switch (b->t) {
        case HD_AT_NULL: return kind == HD_JT_NULL;
        case HD_AT_RECORD:
                return kind == HD_JT_OBJ &&
                       (u->nrecords == 1 ||
                        (E->data_record && b->fullname && b->fullname_len == E->data_record_len &&
                         hd_name_eq(b->fullname, E->data_record, b->fullname_len)));
        case HD_AT_MAP: return kind == HD_JT_OBJ;
        case HD_AT_ARRAY: return kind == HD_JT_ARR;
        case HD_AT_BOOLEAN: return kind == HD_JT_TRUE || kind == HD_JT_FALSE;
        case HD_AT_INT:
        case HD_AT_LONG:
        case HD_AT_FLOAT:
        case HD_AT_DOUBLE: return kind == HD_JT_INT;
        default: return kind == HD_JT_STR;
        }
}

/* hd_enc_branch (hd_avro_codec.c) over a token kind: the first branch that takes
 * it. The usual ["null", T]: null is the null branch, anything else only T. */
static int hd_te_branch(const hd_tenc_t *E, const hd_anode_t *u, int kind)
{
        if (kind == HD_JT_NULL)
                return u->null_branch;
        if (u->n == 2 && u->null_branch >= 0) {
                int b = 1 - u->null_branch;
                return hd_te_takes(E, u, u->kids[b], kind) ? b : -1;
        }
        /* The data union (a record per type): the hinted record is the first to
         * take the object when it is that record and no map comes before it (no
         * other record can: names are unique). */
        if (kind == HD_JT_OBJ && u->nrecords > 1 && E->data_hint < u->n &&
            u->kids[E->data_hint]->t == HD_AT_RECORD &&
            hd_te_takes(E, u, u->kids[E->data_hint], kind)) {
                size_t i = 0;
                while (i < E->data_hint && u->kids[i]->t != HD_AT_MAP)
                        i++;
                if (i == E->data_hint)
                        return (int)i;
        }
        for (size_t i = 0; i < u->n; i++)
                if (hd_te_takes(E, u, u->kids[i], kind))
                        return (int)i;
        return -1;
}

static int hd_te(hd_tenc_t *E, const hd_anode_t *n, long v, int top);

/* A string or long field, bare or as ["null", T] with any null: written here,
 * without the walk's call and dispatch (most fields of an event are these).
 * 1: written, 0: not such a field (hd_te takes it), -1: declined. hd_te gives
 * the same bytes and verdict for these; the differential tests hold both to it. */
static inline int hd_te_leaf(hd_tenc_t *E, const hd_anode_t *n, long v)
{
        const hd_jtok_t *t = v >= 0 ? &E->T->v[v] : NULL;
        int kind = t ? t->kind : HD_JT_NULL, b = -1;

        if (n->t == HD_AT_UNION && n->n == 2 && n->null_branch >= 0) {
                if (kind == HD_JT_NULL)
                        return hd_te_long(E, n->null_branch) ? -1 : 1;
                b = 1 - n->null_branch;
                n = n->kids[b];
        }
        if (n->t == HD_AT_STRING && kind == HD_JT_STR)
                return (b >= 0 && hd_te_long(E, b)) || hd_te_long(E, t->len) ||
                                       hd_te_put(E, t->s, t->len)
                               ? -1
                               : 1;
        if (n->t == HD_AT_LONG && kind == HD_JT_INT)
                return (b >= 0 && hd_te_long(E, b)) || hd_te_long(E, t->i) ? -1 : 1;
        return 0;
}

/*
 * Fields in schema order, each key looked for from where the last one was found
 * (keys usually come in the schema's order). Every key must name a field once:
 * the fields found must be as many as the keys (a duplicate or unknown key, which
 * the tree path refuses, leaves one over).
 */
static int hd_te_record(hd_tenc_t *E, const hd_anode_t *n, long v, int top)
{
        const hd_jtok_t *tv = E->T->v;
        size_t end = tv[v].next, hint = (size_t)v + 1, found = 0;

        for (size_t i = 0; i < n->n; i++) {
                long val = -1;
                size_t k = hint;
                /* Absent when no key has the field's signature bit, or once every
                 * key was matched. */
                int maybe = (tv[v].i & (int64_t)hd_jt_bit(n->sigs[i])) != 0;
                for (size_t tries = 0; maybe && found < tv[v].len && tries < tv[v].len;
                     tries++) {
                        if (k >= end)
                                k = (size_t)v + 1;
                        if (hd_jt_key_is(&tv[k], n->names[i], n->lens[i], n->sigs[i])) {
                                val = (long)k + 1;
                                hint = tv[k + 1].next;
                                break;
                        }
                        k = tv[k + 1].next;
                }
                if (val >= 0)
                        found++;
                for (size_t d = 0; val < 0 && top && d < E->ndefs; d++)
                        if (E->defs[d].sig == n->sigs[i] && E->defs[d].len == n->lens[i] &&
                            hd_name_eq(E->defs[d].name, n->names[i], n->lens[i]))
                                val = (long)E->defs[d].tok;
                switch (hd_te_leaf(E, n->kids[i], val)) {
                case 1: continue;
                case -1: return -1;
                }
                if (hd_te(E, n->kids[i], val, 0))
                        return -1;
        }
        return found == tv[v].len ? 0 : -1;
}

static int hd_te_items(hd_tenc_t *E, const hd_anode_t *n, long v)
{
        const hd_jtok_t *tv = E->T->v;
        size_t end = tv[v].next, count = tv[v].len;

        if (count && hd_te_long(E, (int64_t)count))
                return -1;
        if (n->t == HD_AT_ARRAY) {
                for (size_t k = (size_t)v + 1; k < end; k = tv[k].next)
                        if (hd_te(E, n->kids[0], (long)k, 0))
                                return -1;
                return hd_te_long(E, 0);
        }
        if (count > HD_JT_MAX_MAP_KEYS)
                return -1;
        for (size_t k = (size_t)v + 1; k < end; k = tv[k + 1].next) {
                for (size_t o = (size_t)v + 1; o < k; o = tv[o + 1].next)
                        if (tv[o].len == tv[k].len && !memcmp(tv[o].s, tv[k].s, tv[k].len))
                                return -1; /* a duplicate key */
                if (hd_te_long(E, tv[k].len) || hd_te_put(E, tv[k].s, tv[k].len) ||
                    hd_te(E, n->kids[0], (long)k + 1, 0))
                        return -1;
        }
        return hd_te_long(E, 0);
}

static int hd_te_enum(hd_tenc_t *E, const hd_anode_t *n, const hd_jtok_t *t)
{
        for (size_t i = 0; i < n->n; i++)
                if (hd_jt_key_is(t, n->names[i], n->lens[i], n->sigs[i]))
                        return hd_te_long(E, (int64_t)i);
        return -1;
}

/* Token v (-1: absent, which the tree path encodes as null) against node n. */
static int hd_te(hd_tenc_t *E, const hd_anode_t *n, long v, int top)
{
        const hd_jtok_t *t = v >= 0 ? &E->T->v[v] : NULL;
        int kind = t ? t->kind : HD_JT_NULL, b;

        switch (n->t) {
        case HD_AT_NULL: return kind == HD_JT_NULL ? 0 : -1;
        case HD_AT_BOOLEAN: {
                unsigned char c = kind == HD_JT_TRUE;
                return kind == HD_JT_TRUE || kind == HD_JT_FALSE ? hd_te_put(E, &c, 1) : -1;
        }
        case HD_AT_INT:
                if (kind != HD_JT_INT || t->i < INT32_MIN || t->i > INT32_MAX)
                        return -1;
                return hd_te_long(E, t->i);
        case HD_AT_LONG: return kind == HD_JT_INT ? hd_te_long(E, t->i) : -1;
        case HD_AT_FLOAT: {
                float f = t ? (float)(double)t->i : 0;
                return kind == HD_JT_INT ? hd_te_put(E, &f, 4) : -1;
        }
        case HD_AT_DOUBLE: {
                double d = t ? (double)t->i : 0;
                return kind == HD_JT_INT ? hd_te_put(E, &d, 8) : -1;
        }
        case HD_AT_STRING:
                if (kind != HD_JT_STR)
                        return -1;
                return hd_te_long(E, t->len) || hd_te_put(E, t->s, t->len) ? -1 : 0;
        case HD_AT_ENUM: return kind == HD_JT_STR ? hd_te_enum(E, n, t) : -1;
        case HD_AT_UNION:
                if (kind == HD_JT_NULL && !hd_te_nullable(n))
                        return -1; /* "missing required …" */
                if ((b = hd_te_branch(E, n, kind)) < 0 || hd_te_long(E, b))
                        return -1;
                return hd_te(E, n->kids[b], v, top);
        case HD_AT_RECORD: return kind == HD_JT_OBJ ? hd_te_record(E, n, v, top) : -1;
        case HD_AT_ARRAY: return kind == HD_JT_ARR ? hd_te_items(E, n, v) : -1;
        case HD_AT_MAP: return kind == HD_JT_OBJ ? hd_te_items(E, n, v) : -1;
        default: return -1; /* bytes and fixed: the tree path's */
        }
}

int hd_avro_encode_text(const hd_anode_t *schema, const hd_jtoks_t *T, size_t v,
                        const hd_jdefault_t *defs, size_t ndefs, const char *data_record,
                        size_t data_hint, unsigned char *out, size_t cap, size_t *len)
{
        hd_tenc_t E = {T, out, cap, 0, data_record, data_record ? strlen(data_record) : 0,
                       data_hint, defs, ndefs};

        if (v >= T->n || hd_te(&E, schema, (long)v, 1))
                return -1;
        *len = E.len;
        return 0;
}
