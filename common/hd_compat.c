/* hd_compat: the reader/writer check (see hd_compat.h); levels in hd_compat_level.c. */
#include "hd_compat.h"
#include "hd_compat_internal.h"
#include "hd_util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_CC_MAX_STEPS 200000  /* pairs computed before a schema is "too complex" */
#define HD_CC_MAX_DEPTH 1000    /* nested pair checks (mutually recursive types) */

enum { HD_MEMO_FREE, HD_MEMO_BUSY, HD_MEMO_OK, HD_MEMO_BAD, HD_MEMO_EXPLAINING };

/* --- memo: (reader node, writer node) -> state, open addressing ------------------ */

static uint64_t hd_cc_key(int ri, int wi)
{
        return ((uint64_t)(uint32_t)ri << 32 | (uint32_t)wi) + 1; /* 0 = empty slot */
}

static size_t hd_cc_slot(const hd_cc_t *C, uint64_t key)
{
        size_t i = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 17) & (C->cap - 1);

        while (C->keys[i] && C->keys[i] != key)
                i = (i + 1) & (C->cap - 1);
        return i;
}

static void hd_cc_grow(hd_cc_t *C)
{
        uint64_t *keys = C->keys;
        unsigned char *st = C->states;
        size_t cap = C->cap;

        C->cap = cap ? cap * 2 : 256;
        C->keys = hd_calloc(C->cap, sizeof(uint64_t));
        C->states = hd_calloc(C->cap, 1);
        for (size_t i = 0; i < cap; i++)
                if (keys[i]) {
                        size_t k = hd_cc_slot(C, keys[i]);
                        C->keys[k] = keys[i];
                        C->states[k] = st[i];
                }
        free(keys);
        free(st);
}

static unsigned char *hd_cc_state(hd_cc_t *C, int ri, int wi)
{
        uint64_t key = hd_cc_key(ri, wi);
        size_t i;

        if ((C->used + 1) * 2 > C->cap)
                hd_cc_grow(C);
        i = hd_cc_slot(C, key);
        if (!C->keys[i]) {
                C->keys[i] = key;
                C->used++;
        }
        return &C->states[i];
}

/* --- where we are: JSON pointer and field path ------------------------------------ */

typedef struct hd_mark {
        size_t ptr, dot;
} hd_mark_t;

/* Only an emitting check needs the place: a silent one (most of them) skips it. */
static hd_mark_t hd_cc_push(hd_cc_t *C, const char *ptr, const char *dot)
{
        hd_mark_t m = {C->ptrlen, C->dotlen};
        int n;

        if (!C->emitting)
                return m;
        if (ptr && (n = snprintf(C->ptr + m.ptr, sizeof(C->ptr) - m.ptr, "/%s", ptr)) > 0)
                C->ptrlen = m.ptr + (size_t)n < sizeof(C->ptr) ? m.ptr + (size_t)n
                                                               : sizeof(C->ptr) - 1;
        if (dot && (n = snprintf(C->dot + m.dot, sizeof(C->dot) - m.dot, "%s%s",
                                 m.dot && dot[0] != '[' && dot[0] != '{' ? "." : "", dot)) > 0)
                C->dotlen = m.dot + (size_t)n < sizeof(C->dot) ? m.dot + (size_t)n
                                                               : sizeof(C->dot) - 1;
        return m;
}

static void hd_cc_pop(hd_cc_t *C, hd_mark_t m)
{
        C->ptr[m.ptr] = '\0';
        C->dot[m.dot] = '\0';
        C->ptrlen = m.ptr;
        C->dotlen = m.dot;
}

static void hd_cc_emit(hd_cc_t *C, const char *fmt, ...) HD_PRINTF(2, 3);

static void hd_cc_emit(hd_cc_t *C, const char *fmt, ...)
{
        char text[1024], line[3400]; /* prefix + dot + ptr + text always fit */
        size_t i;
        json_t *m;
        va_list ap;

        if (!C->msgs)
                return;
        if (json_array_size(C->msgs) >= HD_COMPAT_MAX_MESSAGES) {
                C->dropped++;
                return;
        }
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (C->dot[0])
                snprintf(line, sizeof(line), "%s%s%s (%s): %s", C->prefix, C->prefix[0] ? ": " : "",
                         C->dot, C->ptr[0] ? C->ptr : "/", text);
        else
                snprintf(line, sizeof(line), "%s%s%s: %s", C->prefix, C->prefix[0] ? ": " : "",
                         C->ptr[0] ? C->ptr : "/", text);
        json_array_foreach(C->msgs, i, m)
                if (!strcmp(json_string_value(m), line))
                        return; /* the same reason reached by two ways */
        /* json_string refuses invalid UTF-8: fall back to an escaped-safe note */
        if (json_array_append_new(C->msgs, json_string(line)))
                json_array_append_new(C->msgs, json_string("(a message with non-UTF-8 names)"));
}

/* Roles in messages: reader/writer, or new/old in the level checks. */
static const char *hd_rd(const hd_cc_t *C)
{
        return C->dir == HD_CC_READER_NEW ? "new" : C->dir == HD_CC_READER_OLD ? "old" : "reader";
}

static const char *hd_wr(const hd_cc_t *C)
{
        return C->dir == HD_CC_READER_NEW ? "old" : C->dir == HD_CC_READER_OLD ? "new" : "writer";
}

static const char *hd_cc_desc(const hd_cs_node_t *n)
{
        return n->fullname ? n->fullname : hd_cs_type_name(n->t);
}

/* --- the rules ---------------------------------------------------------------------- */

static int hd_cc_pair(hd_cc_t *C, int ri, int wi, int emit);
static int hd_cc_promotes(hd_cs_type_t r, hd_cs_type_t w);

/* Writer's full name among the reader's aliases (raw, or qualified by its namespace). */
static int hd_cc_alias(const hd_cs_node_t *r, const char *fullname)
{
        size_t i, nslen = (size_t)(r->name - r->fullname);
        const json_t *a;
        char q[1024];

        json_array_foreach(r->aliases, i, a) {
                const char *s = json_string_value(a);
                if (!s)
                        continue;
                if (!strcmp(s, fullname))
                        return 1;
                if (!strchr(s, '.') && nslen &&
                    snprintf(q, sizeof(q), "%.*s%s", (int)nslen, r->fullname, s) < (int)sizeof(q) &&
                    !strcmp(q, fullname))
                        return 1;
        }
        return 0;
}

static int hd_cc_names(hd_cc_t *C, const hd_cs_node_t *r, const hd_cs_node_t *w, int emit)
{
        hd_mark_t m;

        if (!strcmp(r->name, w->name) || hd_cc_alias(r, w->fullname))
                return 1;
        if (emit) {
                m = hd_cc_push(C, "name", NULL);
                if (C->dir == HD_CC_NEUTRAL)
                        hd_cc_emit(C, "reader name \"%s\" does not match writer name \"%s\" "
                                   "(nor a reader alias)", r->fullname, w->fullname);
                else
                        hd_cc_emit(C, "%s \"%s\" renamed to \"%s\" without an alias",
                                   hd_cs_type_name(r->t),
                                   C->dir == HD_CC_READER_NEW ? w->fullname : r->fullname,
                                   C->dir == HD_CC_READER_NEW ? r->fullname : w->fullname);
                hd_cc_pop(C, m);
        }
        return 0;
}

static int hd_cc_fixed(hd_cc_t *C, const hd_cs_node_t *r, const hd_cs_node_t *w, int emit)
{
        int ok = hd_cc_names(C, r, w, emit);
        hd_mark_t m;

        if (!ok && !emit)
                return 0;
        if (r->size == w->size)
                return ok;
        if (emit) {
                m = hd_cc_push(C, "size", NULL);
                hd_cc_emit(C, "fixed \"%s\": %s size %lld, %s size %lld", r->fullname, hd_rd(C),
                           (long long)r->size, hd_wr(C), (long long)w->size);
                hd_cc_pop(C, m);
        }
        return 0;
}

static int hd_cc_has_symbol(const hd_cs_node_t *e, const char *sym)
{
        return hd_cs_field_index(e, sym) >= 0;
}

static int hd_cc_enum(hd_cc_t *C, const hd_cs_node_t *r, const hd_cs_node_t *w, int emit)
{
        int ok = hd_cc_names(C, r, w, emit);
        char missing[700] = "";
        size_t len = 0;
        hd_mark_t m;

        if (!ok && !emit)
                return 0;
        if (r->enum_default && hd_cc_has_symbol(r, r->enum_default))
                return ok; /* unknown writer symbols read as the default */
        for (size_t i = 0; i < w->n; i++) {
                if (hd_cc_has_symbol(r, w->symbols[i]))
                        continue;
                if (!emit)
                        return 0;
                if (len < sizeof(missing))
                        len += (size_t)snprintf(missing + len, sizeof(missing) - len, "%s%s",
                                                len ? ", " : "", w->symbols[i]);
        }
        if (!len)
                return ok;
        m = hd_cc_push(C, "symbols", NULL);
        if (C->dir == HD_CC_READER_NEW)
                hd_cc_emit(C, "enum \"%s\": symbols removed: %s (and no enum default)",
                           r->fullname, missing);
        else if (C->dir == HD_CC_READER_OLD)
                hd_cc_emit(C, "enum \"%s\": symbols added that the old schema cannot read (it "
                           "has no enum default): %s", r->fullname, missing);
        else
                hd_cc_emit(C, "reader enum \"%s\" lacks writer symbols (and has no default): %s",
                           r->fullname, missing);
        hd_cc_pop(C, m);
        return 0;
}

/* The writer field a reader field reads: same name, else a reader field alias. */
static const hd_cs_field_t *hd_cc_writer_field(const hd_cs_node_t *w, const hd_cs_field_t *rf)
{
        const json_t *a;
        size_t i;
        int k;

        if ((k = hd_cs_field_index(w, rf->name)) >= 0)
                return &w->fields[k];
        json_array_foreach(rf->aliases, i, a)
                if (json_string_value(a) && (k = hd_cs_field_index(w, json_string_value(a))) >= 0)
                        return &w->fields[k];
        return NULL;
}

static void hd_cc_missing_default(hd_cc_t *C, const hd_cs_field_t *rf)
{
        if (C->dir == HD_CC_READER_NEW)
                hd_cc_emit(C, "field \"%s\" added without a default", rf->name);
        else if (C->dir == HD_CC_READER_OLD)
                hd_cc_emit(C, "field \"%s\" removed, and the old schema has no default for it",
                           rf->name);
        else
                hd_cc_emit(C, "reader field \"%s\" has no default and the writer lacks it",
                           rf->name);
}

static int hd_cc_record(hd_cc_t *C, const hd_cs_node_t *r, const hd_cs_node_t *w, int emit)
{
        int ok = hd_cc_names(C, r, w, emit);
        char seg[48];

        for (size_t i = 0; i < r->n && (ok || emit) && !C->aborted; i++) {
                const hd_cs_field_t *rf = &r->fields[i], *wf = hd_cc_writer_field(w, rf);
                hd_mark_t m;

                snprintf(seg, sizeof(seg), "fields/%zu", i);
                m = hd_cc_push(C, seg, rf->name);
                if (!wf) {
                        /* (Java and python then try an enum default against the writer
                         * record: a type mismatch, so refused all the same.) */
                        if (!rf->has_default) {
                                ok = 0;
                                if (emit)
                                        hd_cc_missing_default(C, rf);
                        }
                } else {
                        hd_cc_push(C, "type", NULL);
                        if (!hd_cc_pair(C, rf->type, wf->type, emit))
                                ok = 0;
                }
                hd_cc_pop(C, m);
        }
        return ok;
}

/* A reader union branch that is "the same" type as w (to explain why it fails). */
static int hd_cc_similar(const hd_cc_t *C, const hd_cs_node_t *ru, int wi)
{
        const hd_cs_node_t *w = &C->w->nodes[wi];

        for (size_t i = 0; i < ru->n; i++) {
                const hd_cs_node_t *b = &C->r->nodes[ru->kids[i]];
                if (b->t != w->t)
                        continue;
                if (!w->fullname || !strcmp(b->name, w->name) || hd_cc_alias(b, w->fullname))
                        return (int)i;
        }
        return -1;
}

static void hd_cc_branch_seg(const hd_cs_node_t *n, char *buf, size_t size)
{
        snprintf(buf, size, "[%s]", n->fullname ? n->name : hd_cs_type_name(n->t));
}

/*
 * Whether reader branch b can possibly read w: the same kind (a named one with the
 * same name or an alias) or a promotion. Any other branch is a sure mismatch, so
 * skipping it changes no verdict and keeps a union of n records O(n), not O(n^2).
 */
static int hd_cc_may_read(const hd_cc_t *C, const hd_cs_node_t *b, const hd_cs_node_t *w)
{
        (void)C;
        if (b->t != w->t)
                return hd_cc_promotes(b->t, w->t);
        return !w->fullname || !strcmp(b->name, w->name) || hd_cc_alias(b, w->fullname);
}

/*
 * Reader union, writer not a union (or wb >= 0: branch wb of a writer union): some
 * reader branch must read the writer.
 */
static int hd_cc_reader_union(hd_cc_t *C, const hd_cs_node_t *ru, int wi, int wb, int emit)
{
        const hd_cs_node_t *w = &C->w->nodes[wi];
        char seg[24], dot[300];
        hd_mark_t m;
        int j;

        for (size_t i = 0; i < ru->n && !C->aborted; i++)
                if (hd_cc_may_read(C, &C->r->nodes[ru->kids[i]], w) &&
                    hd_cc_pair(C, ru->kids[i], wi, 0))
                        return 1;
        if (!emit)
                return 0;
        if ((j = hd_cc_similar(C, ru, wi)) >= 0) {
                /* The same record (say) on both sides: say what in it breaks. */
                snprintf(seg, sizeof(seg), "%d", j);
                hd_cc_branch_seg(w, dot, sizeof(dot));
                m = hd_cc_push(C, seg, dot);
                hd_cc_pair(C, ru->kids[j], wi, 1);
                hd_cc_pop(C, m);
                return 0;
        }
        snprintf(seg, sizeof(seg), "%d", wb);
        m = hd_cc_push(C, wb >= 0 ? seg : NULL, NULL);
        if (C->dir == HD_CC_READER_NEW) {
                hd_cc_emit(C, "union branch \"%s\" removed", hd_cc_desc(w));
        } else if (C->dir == HD_CC_READER_OLD) {
                hd_cc_emit(C, "union branch \"%s\" added, which the old schema cannot read",
                           hd_cc_desc(w));
        } else {
                hd_cc_emit(C, "reader union lacks writer type \"%s\"", hd_cc_desc(w));
        }
        hd_cc_pop(C, m);
        return 0;
}

/* Writer union: every branch must be readable. */
static int hd_cc_writer_union(hd_cc_t *C, int ri, const hd_cs_node_t *wu, int emit)
{
        const hd_cs_node_t *r = &C->r->nodes[ri];
        int ok = 1;

        for (size_t i = 0; i < wu->n && (ok || emit) && !C->aborted; i++)
                if (r->t == HD_CS_UNION ? !hd_cc_reader_union(C, r, wu->kids[i], (int)i, emit)
                                        : !hd_cc_pair(C, ri, wu->kids[i], emit))
                        ok = 0;
        return ok;
}

/* Promotions: reader type reads writer type of another kind. */
static int hd_cc_promotes(hd_cs_type_t r, hd_cs_type_t w)
{
        switch (r) {
        case HD_CS_LONG: return w == HD_CS_INT;
        case HD_CS_FLOAT: return w == HD_CS_INT || w == HD_CS_LONG;
        case HD_CS_DOUBLE: return w == HD_CS_INT || w == HD_CS_LONG || w == HD_CS_FLOAT;
        case HD_CS_BYTES: return w == HD_CS_STRING;
        case HD_CS_STRING: return w == HD_CS_BYTES;
        default: return 0;
        }
}

static int hd_cc_same_kind(hd_cc_t *C, const hd_cs_node_t *r, const hd_cs_node_t *w, int emit)
{
        hd_mark_t m;
        int ok;

        switch (r->t) {
        case HD_CS_ARRAY:
        case HD_CS_MAP:
                m = hd_cc_push(C, r->t == HD_CS_ARRAY ? "items" : "values",
                               r->t == HD_CS_ARRAY ? "[]" : "{}");
                ok = hd_cc_pair(C, r->kids[0], w->kids[0], emit);
                hd_cc_pop(C, m);
                return ok;
        case HD_CS_FIXED: return hd_cc_fixed(C, r, w, emit);
        case HD_CS_ENUM: return hd_cc_enum(C, r, w, emit);
        case HD_CS_RECORD: return hd_cc_record(C, r, w, emit);
        case HD_CS_UNION: return hd_cc_writer_union(C, (int)(r - C->r->nodes), w, emit);
        default: return 1; /* the same primitive */
        }
}

static int hd_cc_calc(hd_cc_t *C, int ri, int wi, int emit)
{
        const hd_cs_node_t *r = &C->r->nodes[ri], *w = &C->w->nodes[wi];

        if (r->t == w->t)
                return hd_cc_same_kind(C, r, w, emit);
        if (w->t == HD_CS_UNION)
                return hd_cc_writer_union(C, ri, w, emit);
        if (hd_cc_promotes(r->t, w->t))
                return 1;
        if (r->t == HD_CS_UNION)
                return hd_cc_reader_union(C, r, wi, -1, emit);
        if (emit)
                hd_cc_emit(C, "%s type \"%s\" cannot read %s type \"%s\"", hd_rd(C),
                           hd_cc_desc(r), hd_wr(C), hd_cc_desc(w));
        return 0;
}

/*
 * Memoised: each pair is computed once (silently or emitting); a pair met again
 * while being computed is assumed compatible (recursive types), as Java and python
 * do. A known-incompatible pair is recomputed only to explain it.
 */
static int hd_cc_pair(hd_cc_t *C, int ri, int wi, int emit)
{
        unsigned char *st;
        int ok, saved;

        if (C->aborted)
                return 0;
        st = hd_cc_state(C, ri, wi);
        if (*st == HD_MEMO_OK || *st == HD_MEMO_BUSY)
                return 1;
        if (*st == HD_MEMO_EXPLAINING)
                return 0;
        if (*st == HD_MEMO_BAD) {
                if (emit && json_array_size(C->msgs) < HD_COMPAT_MAX_MESSAGES &&
                    C->depth < HD_CC_MAX_DEPTH) {
                        *st = HD_MEMO_EXPLAINING;
                        C->depth++;
                        hd_cc_calc(C, ri, wi, 1); /* emit: the caller was emitting */
                        C->depth--;
                        *hd_cc_state(C, ri, wi) = HD_MEMO_BAD;
                }
                return 0;
        }
        if (++C->steps > HD_CC_MAX_STEPS || C->depth >= HD_CC_MAX_DEPTH) {
                C->aborted = 1;
                return 0;
        }
        *st = HD_MEMO_BUSY;
        C->depth++;
        saved = C->emitting;
        C->emitting = emit;
        ok = hd_cc_calc(C, ri, wi, emit);
        C->emitting = saved; /* a silent trial inside an emitting check ends here */
        C->depth--;
        *hd_cc_state(C, ri, wi) = ok ? HD_MEMO_OK : HD_MEMO_BAD; /* the table may have grown */
        return ok;
}

int hd_cc_run(const hd_cs_t *reader, const hd_cs_t *writer, int dir, const char *prefix,
              json_t *msgs, char *errstr, size_t errstr_size)
{
        hd_cc_t C = {.r = reader, .w = writer, .dir = dir, .msgs = msgs};
        int ok;

        hd_strlcpy(C.prefix, prefix ? prefix : "", sizeof(C.prefix));
        ok = hd_cc_pair(&C, reader->root, writer->root, msgs != NULL);
        free(C.keys);
        free(C.states);
        if (C.aborted)
                return hd_seterr(errstr, errstr_size,
                                 "schemas too large or too deeply recursive to check "
                                 "(over %d type pairs or %d nested levels)",
                                 HD_CC_MAX_STEPS, HD_CC_MAX_DEPTH);
        if (!ok && msgs && C.dropped)
                json_array_append_new(msgs, json_sprintf("... and %zu more", C.dropped));
        if (!ok && msgs && !json_array_size(msgs)) /* cannot happen; never say nothing */
                json_array_append_new(msgs, json_string("incompatible"));
        return ok ? HD_COMPAT_OK : HD_COMPAT_INCOMPATIBLE;
}
