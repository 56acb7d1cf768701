/* hd_template: see hd_template.h. */
#include "hd_template.h"
#include "hd_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define HD_TPL_MAX_LEN   (64 * 1024)
#define HD_TPL_MAX_DEPTH 16
#define HD_TPL_MAX_NAME  128

typedef enum { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED } hd_node_kind_t;

typedef struct hd_node {
        hd_node_kind_t kind;
        char *text;            /* N_TEXT: literal; others: token name */
        size_t len;
        struct hd_node *child; /* sections */
        struct hd_node *next;
} hd_node_t;

struct hd_template {
        hd_node_t *root;
        char **tokens;
        size_t ntokens;
};

typedef struct hd_tparse {
        const char *src, *p;
        hd_template_t *t;
        char *errstr;
        size_t errstr_size;
} hd_tparse_t;

static void hd_nodes_free(hd_node_t *n)
{
        while (n) {
                hd_node_t *next = n->next;
                hd_nodes_free(n->child);
                free(n->text);
                free(n);
                n = next;
        }
}

static void hd_tpl_add_token(hd_template_t *t, const char *name)
{
        for (size_t i = 0; i < t->ntokens; i++)
                if (!strcmp(t->tokens[i], name))
                        return;
        t->tokens = hd_realloc(t->tokens, (t->ntokens + 1) * sizeof(char *));
        t->tokens[t->ntokens++] = hd_strdup(name);
}

/* Reads a token name between the tag delimiters: [A-Za-z0-9_.]+ with optional spaces. */
static int hd_tpl_name(hd_tparse_t *P, const char *start, const char *end, char *name)
{
        size_t n = 0;

        while (start < end && *start == ' ')
                start++;
        while (end > start && end[-1] == ' ')
                end--;
        if (start == end)
                return hd_seterr(P->errstr, P->errstr_size, "at %zu: empty tag",
                                 (size_t)(start - P->src));
        for (const char *c = start; c < end; c++) {
                if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.')
                        return hd_seterr(P->errstr, P->errstr_size,
                                         "at %zu: invalid character in token name "
                                         "(allowed: letters, digits, '_', '.')",
                                         (size_t)(c - P->src));
                if (n >= HD_TPL_MAX_NAME - 1)
                        return hd_seterr(P->errstr, P->errstr_size,
                                         "at %zu: token name too long",
                                         (size_t)(start - P->src));
                name[n++] = *c;
        }
        name[n] = '\0';
        return 0;
}

static hd_node_t *hd_node_new(hd_node_kind_t kind, const char *text, size_t len)
{
        hd_node_t *n = hd_calloc(1, sizeof(*n));

        n->kind = kind;
        n->text = hd_strndup(text, len);
        n->len = len;
        return n;
}

static int hd_tpl_parse(hd_tparse_t *P, hd_node_t **out, const char *closing,
                        const char *open_at, int depth);

/* Parses one tag at P->p ("{{"); appends to *tail. */
static int hd_tpl_tag(hd_tparse_t *P, hd_node_t ***tail, const char *closing, int depth,
                      int *closed)
{
        const char *open = P->p, *body = P->p + 2, *end;
        char name[HD_TPL_MAX_NAME], sigil = *body;
        int raw = sigil == '{';
        hd_node_t *n;

        if (raw || sigil == '#' || sigil == '^' || sigil == '/')
                body++;
        end = strstr(body, raw ? "}}}" : "}}");
        if (!end)
                return hd_seterr(P->errstr, P->errstr_size, "at %zu: unclosed tag",
                                 (size_t)(open - P->src));
        if (hd_tpl_name(P, body, end, name))
                return -1;
        P->p = end + (raw ? 3 : 2);
        if (sigil == '/') {
                if (!closing || strcmp(closing, name))
                        return hd_seterr(P->errstr, P->errstr_size,
                                         "at %zu: {{/%s}} closes no open section%s%s%s",
                                         (size_t)(open - P->src), name,
                                         closing ? " (open: " : "", closing ? closing : "",
                                         closing ? ")" : "");
                *closed = 1;
                return 0;
        }
        hd_tpl_add_token(P->t, name);
        n = hd_node_new(raw ? N_RAW : sigil == '#' ? N_SECTION : sigil == '^' ? N_INVERTED
                                                                              : N_VAR,
                        name, strlen(name));
        **tail = n;
        *tail = &n->next;
        if (n->kind == N_SECTION || n->kind == N_INVERTED) {
                if (depth >= HD_TPL_MAX_DEPTH)
                        return hd_seterr(P->errstr, P->errstr_size,
                                         "at %zu: sections nested deeper than %d",
                                         (size_t)(open - P->src), HD_TPL_MAX_DEPTH);
                if (hd_tpl_parse(P, &n->child, n->text, open, depth + 1))
                        return -1;
        }
        return 0;
}

/* Parses until the end, or until {{/closing}} for a section opened at open_at. */
static int hd_tpl_parse(hd_tparse_t *P, hd_node_t **out, const char *closing,
                        const char *open_at, int depth)
{
        hd_node_t **tail = out;

        while (*P->p) {
                const char *tag = strstr(P->p, "{{");
                int closed = 0;
                if (!tag)
                        tag = P->p + strlen(P->p);
                if (tag > P->p) {
                        *tail = hd_node_new(N_TEXT, P->p, (size_t)(tag - P->p));
                        tail = &(*tail)->next;
                        P->p = tag;
                }
                if (!*P->p)
                        break;
                if (hd_tpl_tag(P, &tail, closing, depth, &closed))
                        return -1;
                if (closed)
                        return 0;
        }
        if (closing)
                return hd_seterr(P->errstr, P->errstr_size, "at %zu: unclosed section {{#%s}}",
                                 (size_t)(open_at - P->src), closing);
        return 0;
}

hd_template_t *hd_template_compile(const char *text, char *errstr, size_t errstr_size)
{
        hd_template_t *t;
        hd_tparse_t P;

        if (strlen(text) > HD_TPL_MAX_LEN) {
                hd_seterr(errstr, errstr_size, "template longer than %d bytes",
                          HD_TPL_MAX_LEN);
                return NULL;
        }
        t = hd_calloc(1, sizeof(*t));
        P = (hd_tparse_t){text, text, t, errstr, errstr_size};
        if (hd_tpl_parse(&P, &t->root, NULL, text, 0)) {
                hd_template_destroy(t);
                return NULL;
        }
        return t;
}

void hd_template_destroy(hd_template_t *t)
{
        if (!t)
                return;
        hd_nodes_free(t->root);
        for (size_t i = 0; i < t->ntokens; i++)
                free(t->tokens[i]);
        free(t->tokens);
        free(t);
}

size_t hd_template_ntokens(const hd_template_t *t)
{
        return t->ntokens;
}

const char *hd_template_token(const hd_template_t *t, size_t i)
{
        return i < t->ntokens ? t->tokens[i] : NULL;
}

/* --- rendering ---------------------------------------------------------------------- */

typedef struct hd_tout {
        char *buf;
        size_t len, cap, max;
        int overflow;
} hd_tout_t;

static void hd_tout_put(hd_tout_t *o, const char *s, size_t n)
{
        if (o->overflow || o->len + n > o->max) {
                o->overflow = 1;
                return;
        }
        if (o->len + n + 1 > o->cap) {
                o->cap = (o->len + n + 1) * 2;
                o->buf = hd_realloc(o->buf, o->cap);
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        o->buf[o->len] = '\0';
}

static void hd_tout_html(hd_tout_t *o, const char *s)
{
        for (; *s; s++) {
                switch (*s) {
                case '&': hd_tout_put(o, "&amp;", 5); break;
                case '<': hd_tout_put(o, "&lt;", 4); break;
                case '>': hd_tout_put(o, "&gt;", 4); break;
                case '"': hd_tout_put(o, "&quot;", 6); break;
                case '\'': hd_tout_put(o, "&#39;", 5); break;
                default: hd_tout_put(o, s, 1);
                }
        }
}

typedef struct hd_trender {
        hd_tpl_mode_t mode;
        hd_tpl_lookup_fn *lookup;
        void *opaque;
        char *errstr;
        size_t errstr_size;
} hd_trender_t;

static int hd_tpl_render_nodes(const hd_trender_t *R, const hd_node_t *n, hd_tout_t *o)
{
        char value[4096];

        for (; n && !o->overflow; n = n->next) {
                int r;
                if (n->kind == N_TEXT) {
                        hd_tout_put(o, n->text, n->len);
                        continue;
                }
                value[0] = '\0';
                r = R->lookup(R->opaque, n->text, value, sizeof(value), R->errstr,
                              R->errstr_size);
                if (r < 0)
                        return -1;
                if (r > 0)
                        value[0] = '\0';
                if (n->kind == N_SECTION || n->kind == N_INVERTED) {
                        int shown = (value[0] != '\0') == (n->kind == N_SECTION);
                        if (shown && hd_tpl_render_nodes(R, n->child, o))
                                return -1;
                } else if (n->kind == N_VAR && R->mode == HD_TPL_HTML) {
                        hd_tout_html(o, value);
                } else {
                        hd_tout_put(o, value, strlen(value));
                }
        }
        return 0;
}

char *hd_template_render(const hd_template_t *t, hd_tpl_mode_t mode,
                         hd_tpl_lookup_fn *lookup, void *opaque, size_t max_len,
                         char *errstr, size_t errstr_size)
{
        hd_trender_t R = {mode, lookup, opaque, errstr, errstr_size};
        hd_tout_t o = {.max = max_len};

        hd_tout_put(&o, "", 0);
        if (hd_tpl_render_nodes(&R, t->root, &o)) {
                free(o.buf);
                return NULL;
        }
        if (o.overflow) {
                free(o.buf);
                hd_seterr(errstr, errstr_size, "rendered text longer than %zu bytes", max_len);
                return NULL;
        }
        return o.buf;
}
