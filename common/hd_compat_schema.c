/* hd_compat_schema: see hd_compat_schema.h. */
#include "hd_compat_schema.h"
#include "hd_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const hd_cs_names[] = {"null",   "boolean", "int",   "long",  "float",
                                          "double", "bytes",   "string", "record", "enum",
                                          "fixed",  "array",   "map",   "union"};

const char *hd_cs_type_name(hd_cs_type_t t)
{
        return (size_t)t < HD_ARRAY_SIZE(hd_cs_names) ? hd_cs_names[t] : "?";
}

/* Parser state: the pointer into the input is kept for messages. */
typedef struct hd_csp {
        hd_cs_t *s;
        char where[512];
        char *errstr;
        size_t errstr_size;
} hd_csp_t;

static int hd_csp_err(hd_csp_t *P, const char *fmt, ...) HD_PRINTF(2, 3);

static int hd_csp_err(hd_csp_t *P, const char *fmt, ...)
{
        char msg[HD_ERRSTR_SIZE];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        hd_seterr(P->errstr, P->errstr_size, "at %s: %s", P->where[0] ? P->where : "/", msg);
        return -1;
}

/* Appends "/seg" to the pointer; returns the old length for hd_csp_pop. */
static size_t hd_csp_push(hd_csp_t *P, const char *fmt, ...) HD_PRINTF(2, 3);

static size_t hd_csp_push(hd_csp_t *P, const char *fmt, ...)
{
        size_t len = strlen(P->where);
        va_list ap;

        if (len + 2 < sizeof(P->where)) {
                P->where[len] = '/';
                va_start(ap, fmt);
                vsnprintf(P->where + len + 1, sizeof(P->where) - len - 1, fmt, ap);
                va_end(ap);
        }
        return len;
}

static void hd_csp_pop(hd_csp_t *P, size_t len)
{
        P->where[len] = '\0';
}

static int hd_cs_new_node(hd_cs_t *s, hd_cs_type_t t)
{
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 16;
                s->nodes = hd_realloc(s->nodes, s->cap * sizeof(*s->nodes));
        }
        memset(&s->nodes[s->n], 0, sizeof(s->nodes[s->n]));
        s->nodes[s->n].t = t;
        return (int)s->n++;
}

static int hd_cs_primitive(const char *name)
{
        for (int t = HD_CS_NULL; t <= HD_CS_STRING; t++)
                if (!strcmp(name, hd_cs_names[t]))
                        return t;
        return -1;
}

/* A name component: [A-Za-z_][A-Za-z0-9_]*, dots between components. */
static int hd_cs_name_ok(const char *name)
{
        int start = 1;

        if (!*name)
                return 0;
        for (const char *p = name; *p; p++) {
                if (*p == '.') {
                        if (start)
                                return 0;
                        start = 1;
                        continue;
                }
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
                      (!start && *p >= '0' && *p <= '9')))
                        return 0;
                start = 0;
        }
        return !start;
}

/* Resolves a reference in namespace ns: qualified as is, else ns.name, else name. */
static int hd_cs_lookup(hd_cs_t *s, const char *name, const char *ns)
{
        json_t *idx = NULL;
        char full[1024];

        if (!strchr(name, '.') && ns && *ns) {
                snprintf(full, sizeof(full), "%s.%s", ns, name);
                idx = json_object_get(s->names, full);
        }
        if (!idx)
                idx = json_object_get(s->names, name);
        return idx ? (int)json_integer_value(idx) : -1;
}

static int hd_cs_node(hd_csp_t *P, const json_t *j, const char *ns, int depth);

/* Defines a named type: full name from name/namespace, registered before its body. */
static int hd_cs_define(hd_csp_t *P, const json_t *j, hd_cs_type_t t, const char *ns)
{
        const char *name = json_string_value(json_object_get(j, "name"));
        const json_t *nsj = json_object_get(j, "namespace"), *al = json_object_get(j, "aliases");
        hd_cs_node_t *nd;
        char full[1024];
        int id;

        if (!name)
                return hd_csp_err(P, "%s without a \"name\"", hd_cs_names[t]);
        if (nsj && !json_is_string(nsj) && !json_is_null(nsj))
                return hd_csp_err(P, "\"namespace\" must be a string");
        if (json_is_string(nsj))
                ns = json_string_value(nsj);
        if (strchr(name, '.') || !ns || !*ns)
                snprintf(full, sizeof(full), "%s", name);
        else
                snprintf(full, sizeof(full), "%s.%s", ns, name);
        if (!hd_cs_name_ok(full) || strlen(full) >= sizeof(full) - 1)
                return hd_csp_err(P, "invalid name \"%s\"", full);
        if (hd_cs_primitive(strrchr(full, '.') ? strrchr(full, '.') + 1 : full) >= 0)
                return hd_csp_err(P, "\"%s\" cannot be redefined", full);
        if (json_object_get(P->s->names, full))
                return hd_csp_err(P, "\"%s\" is defined twice", full);
        if (al && (!json_is_array(al) || json_array_size(al) > 1000))
                return hd_csp_err(P, "\"aliases\" must be an array of names");
        id = hd_cs_new_node(P->s, t);
        nd = &P->s->nodes[id];
        nd->fullname = hd_strdup(full);
        nd->name = strrchr(nd->fullname, '.') ? strrchr(nd->fullname, '.') + 1 : nd->fullname;
        nd->aliases = al;
        json_object_set_new(P->s->names, full, json_integer(id));
        return id;
}

/* The namespace a named node gives its children: its full name minus the last part. */
static char *hd_cs_space_of(const hd_cs_node_t *nd)
{
        return hd_strndup(nd->fullname, (size_t)(nd->name - nd->fullname) -
                                                 (nd->name != nd->fullname));
}

static int hd_cs_field(hd_csp_t *P, int id, size_t i, const json_t *f, const char *ns,
                       int depth)
{
        const char *name = json_string_value(json_object_get(f, "name"));
        const json_t *al = json_object_get(f, "aliases");
        size_t mark = hd_csp_push(P, "fields/%zu", i);
        int type;

        if (!json_is_object(f) || !name || !hd_cs_name_ok(name) || strchr(name, '.'))
                return hd_csp_err(P, "a field needs a valid \"name\"");
        if (json_object_get(P->s->nodes[id].index, name))
                return hd_csp_err(P, "field \"%s\" is defined twice", name);
        json_object_set_new(P->s->nodes[id].index, name, json_integer((json_int_t)i));
        if (al && !json_is_array(al))
                return hd_csp_err(P, "\"aliases\" must be an array of names");
        if (!json_object_get(f, "type"))
                return hd_csp_err(P, "field \"%s\" has no \"type\"", name);
        hd_csp_push(P, "type");
        if ((type = hd_cs_node(P, json_object_get(f, "type"), ns, depth + 1)) < 0)
                return -1;
        hd_csp_pop(P, mark);
        /* nodes may have moved (realloc): index again */
        P->s->nodes[id].fields[i] = (hd_cs_field_t){name, al, type,
                                                    json_object_get(f, "default") != NULL};
        return 0;
}

static int hd_cs_record(hd_csp_t *P, const json_t *j, const char *ns, int depth)
{
        const json_t *fields = json_object_get(j, "fields");
        int id = hd_cs_define(P, j, HD_CS_RECORD, ns), r = 0;
        char *space;
        size_t i;

        if (id < 0)
                return -1;
        if (!json_is_array(fields))
                return hd_csp_err(P, "record \"%s\" needs a \"fields\" array",
                                  P->s->nodes[id].fullname);
        P->s->nodes[id].n = json_array_size(fields);
        P->s->nodes[id].fields = hd_calloc(json_array_size(fields) + 1, sizeof(hd_cs_field_t));
        P->s->nodes[id].index = json_object();
        space = hd_cs_space_of(&P->s->nodes[id]);
        for (i = 0; i < json_array_size(fields) && !r; i++)
                r = hd_cs_field(P, id, i, json_array_get(fields, i), space, depth);
        free(space);
        return r ? -1 : id;
}

static int hd_cs_enum(hd_csp_t *P, const json_t *j, const char *ns)
{
        const json_t *syms = json_object_get(j, "symbols"), *def = json_object_get(j, "default");
        int id = hd_cs_define(P, j, HD_CS_ENUM, ns);
        hd_cs_node_t *nd;
        size_t i;

        if (id < 0)
                return -1;
        nd = &P->s->nodes[id];
        if (!json_is_array(syms))
                return hd_csp_err(P, "enum \"%s\" needs a \"symbols\" array", nd->fullname);
        if (def && !json_is_string(def))
                return hd_csp_err(P, "enum \"%s\": \"default\" must be a symbol", nd->fullname);
        nd->n = json_array_size(syms);
        nd->symbols = hd_calloc(nd->n + 1, sizeof(char *));
        nd->index = json_object();
        for (i = 0; i < nd->n; i++) {
                if (!(nd->symbols[i] = json_string_value(json_array_get(syms, i))))
                        return hd_csp_err(P, "enum \"%s\": symbol %zu is not a string",
                                          nd->fullname, i);
                json_object_set_new(nd->index, nd->symbols[i], json_integer((json_int_t)i));
        }
        nd->enum_default = json_string_value(def);
        return id;
}

static int hd_cs_fixed(hd_csp_t *P, const json_t *j, const char *ns)
{
        const json_t *size = json_object_get(j, "size");
        int id = hd_cs_define(P, j, HD_CS_FIXED, ns);

        if (id < 0)
                return -1;
        if (!json_is_integer(size) || json_integer_value(size) < 0)
                return hd_csp_err(P, "fixed \"%s\" needs a \"size\" >= 0",
                                  P->s->nodes[id].fullname);
        P->s->nodes[id].size = json_integer_value(size);
        return id;
}

/* array (items) or map (values) */
static int hd_cs_container(hd_csp_t *P, const json_t *j, hd_cs_type_t t, const char *ns,
                           int depth)
{
        const char *key = t == HD_CS_ARRAY ? "items" : "values";
        const json_t *sub = json_object_get(j, key);
        size_t mark;
        int id, kid;

        if (!sub)
                return hd_csp_err(P, "%s without \"%s\"", hd_cs_names[t], key);
        mark = hd_csp_push(P, "%s", key);
        if ((kid = hd_cs_node(P, sub, ns, depth + 1)) < 0)
                return -1;
        hd_csp_pop(P, mark);
        id = hd_cs_new_node(P->s, t);
        P->s->nodes[id].kids = hd_malloc(sizeof(int));
        P->s->nodes[id].kids[0] = kid;
        P->s->nodes[id].n = 1;
        return id;
}

static int hd_cs_union(hd_csp_t *P, const json_t *j, const char *ns, int depth)
{
        size_t n = json_array_size(j), i;
        int *kids = hd_calloc(n + 1, sizeof(int)), id;

        for (i = 0; i < n; i++) {
                size_t mark = hd_csp_push(P, "%zu", i);
                if (json_is_array(json_array_get(j, i))) {
                        free(kids);
                        return hd_csp_err(P, "a union cannot directly contain a union");
                }
                if ((kids[i] = hd_cs_node(P, json_array_get(j, i), ns, depth + 1)) < 0) {
                        free(kids);
                        return -1;
                }
                hd_csp_pop(P, mark);
        }
        id = hd_cs_new_node(P->s, HD_CS_UNION);
        P->s->nodes[id].kids = kids;
        P->s->nodes[id].n = n;
        return id;
}

/* A type name: primitive, or a named type defined earlier (or being defined). */
static int hd_cs_ref(hd_csp_t *P, const char *name, const char *ns)
{
        int t = hd_cs_primitive(name), id;

        if (t >= 0)
                return hd_cs_new_node(P->s, (hd_cs_type_t)t);
        if ((id = hd_cs_lookup(P->s, name, ns)) < 0)
                return hd_csp_err(P, "unknown type \"%s\"", name);
        return id;
}

static int hd_cs_object(hd_csp_t *P, const json_t *j, const char *ns, int depth)
{
        const json_t *type = json_object_get(j, "type");
        const char *t = json_string_value(type);

        if (!type)
                return hd_csp_err(P, "a schema object needs a \"type\"");
        if (!t) /* {"type": {...}} / {"type": [...]}: the nested schema */
                return hd_cs_node(P, type, ns, depth + 1);
        if (!strcmp(t, "record") || !strcmp(t, "error"))
                return hd_cs_record(P, j, ns, depth);
        if (!strcmp(t, "enum"))
                return hd_cs_enum(P, j, ns);
        if (!strcmp(t, "fixed"))
                return hd_cs_fixed(P, j, ns);
        if (!strcmp(t, "array"))
                return hd_cs_container(P, j, HD_CS_ARRAY, ns, depth);
        if (!strcmp(t, "map"))
                return hd_cs_container(P, j, HD_CS_MAP, ns, depth);
        return hd_cs_ref(P, t, ns); /* primitive (logical types read as their base) */
}

static int hd_cs_node(hd_csp_t *P, const json_t *j, const char *ns, int depth)
{
        if (depth > HD_CS_MAX_DEPTH)
                return hd_csp_err(P, "schema nested deeper than %d levels", HD_CS_MAX_DEPTH);
        if (json_is_string(j))
                return hd_cs_ref(P, json_string_value(j), ns);
        if (json_is_array(j))
                return hd_cs_union(P, j, ns, depth);
        if (json_is_object(j))
                return hd_cs_object(P, j, ns, depth);
        return hd_csp_err(P, "a schema must be a type name, an object or a union array");
}

hd_cs_t *hd_cs_parse(const char *text, char *errstr, size_t errstr_size)
{
        hd_csp_t P = {.errstr = errstr, .errstr_size = errstr_size};
        json_error_t jerr;
        hd_cs_t *s;

        s = hd_calloc(1, sizeof(*s));
        s->names = json_object();
        P.s = s;
        if (!(s->doc = json_loads(text ? text : "", JSON_DECODE_ANY, &jerr))) {
                hd_seterr(errstr, errstr_size, "not JSON: line %d column %d: %s", jerr.line,
                          jerr.column, jerr.text);
                hd_cs_free(s);
                return NULL;
        }
        if ((s->root = hd_cs_node(&P, s->doc, NULL, 0)) < 0) {
                hd_cs_free(s);
                return NULL;
        }
        return s;
}

int hd_cs_field_index(const hd_cs_node_t *nd, const char *name)
{
        const json_t *i = json_object_get(nd->index, name);

        return i ? (int)json_integer_value(i) : -1;
}

void hd_cs_free(hd_cs_t *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++) {
                free(s->nodes[i].fullname);
                free(s->nodes[i].fields);
                free(s->nodes[i].symbols);
                free(s->nodes[i].kids);
                json_decref(s->nodes[i].index);
        }
        free(s->nodes);
        json_decref(s->names);
        json_decref(s->doc);
        free(s);
}
