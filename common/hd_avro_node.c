/* hd_avro_node: see hd_avro_node.h. */
#include "hd_avro_node.h"
#include "hd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_AN_MAX_DEPTH 64

struct hd_anodes {
        hd_anode_t **all; /* every node, for freeing */
        size_t n, cap;
};

typedef struct hd_acomp {
        hd_anodes_t *a;
        char *errstr;
        size_t errstr_size;
} hd_acomp_t;

static const struct {
        const char *name;
        hd_atype_t t;
} hd_prims[] = {{"null", HD_AT_NULL},     {"boolean", HD_AT_BOOLEAN}, {"int", HD_AT_INT},
                {"long", HD_AT_LONG},     {"float", HD_AT_FLOAT},     {"double", HD_AT_DOUBLE},
                {"bytes", HD_AT_BYTES},   {"string", HD_AT_STRING}};

static hd_anode_t *hd_an_new(hd_acomp_t *C, hd_atype_t t)
{
        hd_anode_t *n = hd_calloc(1, sizeof(*n));

        if (C->a->n == C->a->cap) {
                C->a->cap = C->a->cap ? C->a->cap * 2 : 64;
                C->a->all = hd_realloc(C->a->all, C->a->cap * sizeof(*C->a->all));
        }
        C->a->all[C->a->n++] = n;
        n->t = t;
        return n;
}

/* A named node already compiled: by full name, or by name within namespace ns. */
static hd_anode_t *hd_an_lookup(hd_acomp_t *C, const char *ref, const char *ns)
{
        char full[512];

        if (!strchr(ref, '.') && ns && *ns)
                snprintf(full, sizeof(full), "%s.%s", ns, ref);
        else
                snprintf(full, sizeof(full), "%s", ref);
        for (size_t i = 0; i < C->a->n; i++)
                if (C->a->all[i]->fullname && !strcmp(C->a->all[i]->fullname, full))
                        return C->a->all[i];
        return NULL;
}

static hd_anode_t *hd_an_compile(hd_acomp_t *C, const json_t *s, const char *ns, int depth);

static void hd_an_name(hd_anode_t *n, const json_t *s, const char *ns, char *ns_out,
                       size_t ns_size)
{
        const char *name = json_string_value(json_object_get(s, "name"));
        const char *own = json_string_value(json_object_get(s, "namespace"));
        char full[512];

        if (!name)
                name = "";
        if (strchr(name, '.'))
                snprintf(full, sizeof(full), "%s", name);
        else if (own && *own)
                snprintf(full, sizeof(full), "%s.%s", own, name);
        else if (ns && *ns)
                snprintf(full, sizeof(full), "%s.%s", ns, name);
        else
                snprintf(full, sizeof(full), "%s", name);
        n->fullname = hd_strdup(full);
        n->fullname_len = strlen(full);
        snprintf(ns_out, ns_size, "%.*s",
                 strrchr(full, '.') ? (int)(strrchr(full, '.') - full) : 0, full);
}

static hd_anode_t *hd_an_complex(hd_acomp_t *C, const json_t *s, const char *t,
                                 const char *ns, int depth)
{
        char inner[512];
        hd_anode_t *n;
        const json_t *f, *list;
        size_t i;

        if (!strcmp(t, "record") || !strcmp(t, "error")) {
                n = hd_an_new(C, HD_AT_RECORD);
                hd_an_name(n, s, ns, inner, sizeof(inner));
                list = json_object_get(s, "fields");
                n->n = json_array_size(list);
                n->kids = hd_calloc(n->n, sizeof(*n->kids));
                n->names = hd_calloc(n->n, sizeof(*n->names));
                n->lens = hd_calloc(n->n, sizeof(*n->lens));
                n->sigs = hd_calloc(n->n, sizeof(*n->sigs));
                json_array_foreach(list, i, f) {
                        const char *fname = json_string_value(json_object_get(f, "name"));
                        n->names[i] = hd_strdup(fname ? fname : "");
                        n->lens[i] = strlen(n->names[i]);
                        n->sigs[i] = hd_name_sig(n->names[i], n->lens[i]);
                        if (!(n->kids[i] = hd_an_compile(C, json_object_get(f, "type"), inner,
                                                         depth + 1)))
                                return NULL;
                }
                return n;
        }
        if (!strcmp(t, "enum")) {
                n = hd_an_new(C, HD_AT_ENUM);
                hd_an_name(n, s, ns, inner, sizeof(inner));
                list = json_object_get(s, "symbols");
                n->n = json_array_size(list);
                n->names = hd_calloc(n->n, sizeof(*n->names));
                n->lens = hd_calloc(n->n, sizeof(*n->lens));
                n->sigs = hd_calloc(n->n, sizeof(*n->sigs));
                json_array_foreach(list, i, f) {
                        n->names[i] = hd_strdup(json_string_value(f) ? json_string_value(f) : "");
                        n->lens[i] = strlen(n->names[i]);
                        n->sigs[i] = hd_name_sig(n->names[i], n->lens[i]);
                }
                return n;
        }
        if (!strcmp(t, "fixed")) {
                n = hd_an_new(C, HD_AT_FIXED);
                hd_an_name(n, s, ns, inner, sizeof(inner));
                n->n = (size_t)json_integer_value(json_object_get(s, "size"));
                return n;
        }
        if (!strcmp(t, "array") || !strcmp(t, "map")) {
                n = hd_an_new(C, !strcmp(t, "array") ? HD_AT_ARRAY : HD_AT_MAP);
                n->n = 1;
                n->kids = hd_calloc(1, sizeof(*n->kids));
                n->kids[0] = hd_an_compile(C, json_object_get(s, n->t == HD_AT_ARRAY ? "items"
                                                                                     : "values"),
                                           ns, depth + 1);
                return n->kids[0] ? n : NULL;
        }
        hd_seterr(C->errstr, C->errstr_size, "unknown type \"%s\"", t);
        return NULL;
}

static hd_anode_t *hd_an_compile(hd_acomp_t *C, const json_t *s, const char *ns, int depth)
{
        hd_anode_t *n;
        const json_t *b;
        size_t i;

        if (depth > HD_AN_MAX_DEPTH) {
                hd_seterr(C->errstr, C->errstr_size, "schema nested deeper than %d",
                          HD_AN_MAX_DEPTH);
                return NULL;
        }
        if (json_is_string(s)) {
                const char *t = json_string_value(s);
                for (i = 0; i < HD_ARRAY_SIZE(hd_prims); i++)
                        if (!strcmp(t, hd_prims[i].name))
                                return hd_an_new(C, hd_prims[i].t);
                if ((n = hd_an_lookup(C, t, ns)))
                        return n;
                hd_seterr(C->errstr, C->errstr_size, "unknown type \"%s\"", t);
                return NULL;
        }
        if (json_is_array(s)) {
                n = hd_an_new(C, HD_AT_UNION);
                n->n = json_array_size(s);
                n->kids = hd_calloc(n->n, sizeof(*n->kids));
                n->null_branch = -1;
                json_array_foreach(s, i, b) {
                        if (!(n->kids[i] = hd_an_compile(C, b, ns, depth + 1)))
                                return NULL;
                        n->nrecords += n->kids[i]->t == HD_AT_RECORD;
                        if (n->kids[i]->t == HD_AT_NULL && n->null_branch < 0)
                                n->null_branch = (int)i;
                }
                return n;
        }
        if (json_is_object(s)) {
                const json_t *t = json_object_get(s, "type");
                if (json_is_string(t))
                        for (i = 0; i < HD_ARRAY_SIZE(hd_prims); i++)
                                if (!strcmp(json_string_value(t), hd_prims[i].name))
                                        return hd_an_new(C, hd_prims[i].t);
                if (json_is_string(t))
                        return hd_an_complex(C, s, json_string_value(t), ns, depth);
                return hd_an_compile(C, t, ns, depth + 1);
        }
        hd_seterr(C->errstr, C->errstr_size, "schema node is not a type");
        return NULL;
}

hd_anodes_t *hd_anodes_compile(const json_t *schema, const hd_anode_t **root, char *errstr,
                               size_t errstr_size)
{
        hd_acomp_t C = {hd_calloc(1, sizeof(hd_anodes_t)), errstr, errstr_size};

        if (!(*root = hd_an_compile(&C, schema, NULL, 0))) {
                hd_anodes_free(C.a);
                return NULL;
        }
        return C.a;
}

void hd_anodes_free(hd_anodes_t *a)
{
        if (!a)
                return;
        for (size_t i = 0; i < a->n; i++) {
                hd_anode_t *n = a->all[i];
                for (size_t k = 0; n->names && k < n->n; k++)
                        free(n->names[k]);
                free(n->names);
                free(n->lens);
                free(n->sigs);
                free(n->kids);
                free(n->fullname);
                free(n);
        }
        free(a->all);
        free(a);
}
