/* hd_catalogue: see hd_catalogue.h. */
#include "hd_catalogue.h"
#include "hd_avro_node.h"
#include "hd_catalogue_data.h"
#include "hd_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_NS "com.herald.events"

typedef struct hd_catalogue {
        json_t *named;        /* full name -> definition (shared types) */
        json_t *index;        /* type name -> position in types */
        hd_anodes_t **nodes;  /* compiled data records, one arena per type */
        hd_event_type_t *types;
        size_t ntypes;
        char *schema_json;
} hd_catalogue_t;

static hd_catalogue_t hd_cat;
static pthread_mutex_t hd_cat_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *hd_fullname(const json_t *rec, char *buf, size_t size)
{
        const char *name = json_string_value(json_object_get(rec, "name"));
        const char *ns = json_string_value(json_object_get(rec, "namespace"));

        if (!name)
                return NULL;
        if (strchr(name, '.') || !ns)
                snprintf(buf, size, "%s", name);
        else
                snprintf(buf, size, "%s.%s", ns, name);
        return buf;
}

/* Resolves a type reference written in a record of namespace HD_NS. */
static const json_t *hd_lookup_ref(const char *ref)
{
        char full[256];

        if (strchr(ref, '.'))
                return json_object_get(hd_cat.named, ref);
        snprintf(full, sizeof(full), "%s.%s", HD_NS, ref);
        return json_object_get(hd_cat.named, full);
}

/*
 * Returns a new reference to node with named references expanded. defined (may be
 * NULL = expand every reference) records names already inlined: Avro allows a
 * definition once per schema, later uses must be the bare name.
 */
static json_t *hd_expand(const json_t *node, json_t *defined)
{
        if (json_is_string(node)) {
                const char *ref = json_string_value(node);
                const json_t *def = hd_lookup_ref(ref);
                char full[256];
                if (!def)
                        return json_incref((json_t *)node);
                hd_fullname(def, full, sizeof(full));
                if (defined && json_object_get(defined, full))
                        return json_string(full);
                if (defined)
                        json_object_set_new(defined, full, json_true());
                return hd_expand(def, defined);
        }
        if (json_is_array(node)) {
                json_t *out = json_array(), *v;
                size_t i;
                json_array_foreach(node, i, v)
                        json_array_append_new(out, hd_expand(v, defined));
                return out;
        }
        if (json_is_object(node)) {
                json_t *out = json_deep_copy(node), *fields = json_object_get(out, "fields"), *f;
                size_t i;
                json_array_foreach(fields, i, f)
                        json_object_set_new(f, "type", hd_expand(json_object_get(f, "type"), defined));
                if (json_object_get(out, "items"))
                        json_object_set_new(out, "items", hd_expand(json_object_get(node, "items"), defined));
                if (json_object_get(out, "values"))
                        json_object_set_new(out, "values", hd_expand(json_object_get(node, "values"), defined));
                return out;
        }
        return json_incref((json_t *)node);
}

/* ["null", T] -> T; anything else unchanged. */
static const json_t *hd_unwrap_nullable(const json_t *t)
{
        if (json_is_array(t) && json_array_size(t) == 2 &&
            !strcmp(json_string_value(json_array_get(t, 0)) ?: "", "null"))
                return json_array_get(t, 1);
        return t;
}

static void hd_tokens_add(json_t *set, const char *tok)
{
        json_object_set_new(set, tok, json_true());
}

static void hd_tokens_walk(const json_t *rec, const char *prefix, json_t *set)
{
        const json_t *f;
        size_t i;

        json_array_foreach(json_object_get(rec, "fields"), i, f) {
                const json_t *t = hd_unwrap_nullable(json_object_get(f, "type"));
                char path[256], full[256];
                snprintf(path, sizeof(path), "%s%s", prefix,
                         json_string_value(json_object_get(f, "name")));
                if (json_is_object(t) &&
                    !strcmp(json_string_value(json_object_get(t, "type")) ?: "", "record")) {
                        hd_fullname(t, full, sizeof(full));
                        if (!strcmp(full, HD_NS ".Money"))
                                hd_tokens_add(set, path); /* "12.34 EUR" */
                        strncat(path, ".", sizeof(path) - strlen(path) - 1);
                        hd_tokens_walk(t, path, set);
                } else {
                        hd_tokens_add(set, path);
                }
        }
}

static int hd_strptr_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void hd_type_tokens(hd_event_type_t *t)
{
        static const char *const envelope[] = {"event.id", "event.type", "event.action",
                                               "event.entity", "event.occurred_at",
                                               "event.source"};
        json_t *set = json_object();
        const char **toks;
        const char *k;
        json_t *v;
        size_t n = 0;

        for (size_t i = 0; i < HD_ARRAY_SIZE(envelope); i++)
                hd_tokens_add(set, envelope[i]);
        if (t->account_scoped)
                hd_tokens_add(set, "account.id");
        hd_tokens_walk(t->schema, "", set);
        toks = hd_calloc(json_object_size(set), sizeof(char *));
        json_object_foreach(set, k, v)
                toks[n++] = hd_strdup(k);
        qsort(toks, n, sizeof(char *), hd_strptr_cmp);
        t->tokens = toks;
        t->ntokens = n;
        json_decref(set);
}

static void hd_cat_fail(const char *path, const char *what)
{
        /* The catalogue is compiled in; a broken one is a build defect, not input. */
        fprintf(stderr, "herald: embedded catalogue %s: %s\n", path, what);
        abort();
}

static void hd_cat_add_event(const char *path, json_t *rec)
{
        json_t *meta = json_object_get(rec, "herald");
        hd_event_type_t *t;
        char full[256];

        if (!json_is_object(meta) || !json_is_string(json_object_get(meta, "type")))
                hd_cat_fail(path, "no \"herald\" metadata with a type");
        hd_cat.types = hd_realloc(hd_cat.types, (hd_cat.ntypes + 1) * sizeof(*t));
        t = &hd_cat.types[hd_cat.ntypes++];
        memset(t, 0, sizeof(*t));
        t->name = hd_strdup(json_string_value(json_object_get(meta, "type")));
        t->name_len = strlen(t->name);
        t->record = hd_strdup(hd_fullname(rec, full, sizeof(full)));
        t->ordered_default = json_is_true(json_object_get(meta, "ordered"));
        t->account_scoped = json_is_true(json_object_get(meta, "account_scoped"));
        t->action = hd_strdup(json_string_value(json_object_get(meta, "action")) ?: "UPDATE");
        t->entity = hd_strdup(json_string_value(json_object_get(meta, "entity")) ?: "");
        t->schema = hd_expand(rec, NULL);
        hd_type_tokens(t);
        hd_cat.nodes = hd_realloc(hd_cat.nodes, hd_cat.ntypes * sizeof(*hd_cat.nodes));
        {
                char err[256];
                const hd_anode_t *root;
                /* Compiled from the self-contained record (every shared type expanded in
                 * place), so validation needs no name lookups. */
                if (!(hd_cat.nodes[hd_cat.ntypes - 1] = hd_anodes_compile(t->schema, &root, err,
                                                                          sizeof(err))))
                        hd_cat_fail(path, err);
                t->node = root;
        }
        json_object_set_new(hd_cat.index, t->name, json_integer((json_int_t)hd_cat.ntypes - 1));
}

/* The envelope with `data` = union of the event records, each name defined once. */
static void hd_cat_assemble(json_t *envelope, json_t *events)
{
        json_t *defined = json_object(), *data = json_array(), *f, *env, *rec;
        size_t i;

        json_array_foreach(events, i, rec)
                json_array_append_new(data, hd_expand(rec, defined));
        env = json_deep_copy(envelope);
        json_array_foreach(json_object_get(env, "fields"), i, f)
                if (!strcmp(json_string_value(json_object_get(f, "name")) ?: "", "data"))
                        json_object_set(f, "type", data);
        hd_cat.schema_json = json_dumps(env, JSON_COMPACT);
        json_decref(env);
        json_decref(data);
        json_decref(defined);
}

static void hd_cat_init(void)
{
        json_t *events = json_array(), *envelope = NULL;

        hd_cat.named = json_object();
        hd_cat.index = json_object();
        for (size_t i = 0; i < hd_catalogue_nfiles; i++) {
                const hd_catalogue_file_t *file = &hd_catalogue_files[i];
                json_error_t jerr;
                json_t *j = json_loads(file->text, 0, &jerr);
                char full[256];
                if (!j)
                        hd_cat_fail(file->path, jerr.text);
                if (!strncmp(file->path, "types/", 6))
                        json_object_set_new(hd_cat.named, hd_fullname(j, full, sizeof(full)), j);
                else if (!strncmp(file->path, "events/", 7))
                        json_array_append_new(events, j);
                else if (!strcmp(file->path, "envelope.avsc"))
                        envelope = j;
                else
                        json_decref(j);
        }
        if (!envelope)
                hd_cat_fail("envelope.avsc", "missing");
        for (size_t i = 0; i < json_array_size(events); i++)
                hd_cat_add_event("events/", json_array_get(events, i));
        hd_cat_assemble(envelope, events);
        json_decref(envelope);
        json_decref(events);
}

static int hd_cat_ready; /* set (release) once the catalogue is built */

static void hd_cat_ensure(void)
{
        if (__atomic_load_n(&hd_cat_ready, __ATOMIC_ACQUIRE))
                return;
        pthread_mutex_lock(&hd_cat_lock);
        if (!hd_cat.schema_json) {
                hd_cat_init();
                __atomic_store_n(&hd_cat_ready, 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&hd_cat_lock);
}

size_t hd_catalogue_count(void)
{
        hd_cat_ensure();
        return hd_cat.ntypes;
}

const hd_event_type_t *hd_catalogue_get(size_t i)
{
        hd_cat_ensure();
        return i < hd_cat.ntypes ? &hd_cat.types[i] : NULL;
}

const hd_event_type_t *hd_catalogue_find(const char *type)
{
        json_t *pos;

        hd_cat_ensure();
        if (!type || !(pos = json_object_get(hd_cat.index, type)))
                return NULL;
        return &hd_cat.types[json_integer_value(pos)];
}

/* A scan of the few types, lengths and last bytes first: cheaper than hashing the
 * name for the index (this runs once per event on the fast path). */
const hd_event_type_t *hd_catalogue_findn(const char *type, size_t len)
{
        hd_cat_ensure();
        for (size_t i = 0; i < hd_cat.ntypes; i++) {
                const hd_event_type_t *t = &hd_cat.types[i];
                if (len && t->name_len == len && t->name[len - 1] == type[len - 1] &&
                    !memcmp(t->name, type, len))
                        return t;
        }
        return NULL;
}

const char *hd_catalogue_schema_json(void)
{
        hd_cat_ensure();
        return hd_cat.schema_json;
}

const json_t *hd_catalogue_named(const char *fullname)
{
        hd_cat_ensure();
        return json_object_get(hd_cat.named, fullname);
}

int hd_catalogue_offers(const hd_event_type_t *t, const char *token)
{
        return t && token && bsearch(&token, t->tokens, t->ntokens, sizeof(char *), hd_strptr_cmp);
}

void hd_catalogue_cleanup(void)
{
        pthread_mutex_lock(&hd_cat_lock);
        for (size_t i = 0; i < hd_cat.ntypes; i++) {
                hd_event_type_t *t = &hd_cat.types[i];
                for (size_t k = 0; k < t->ntokens; k++)
                        free((char *)t->tokens[k]);
                free((void *)t->tokens);
                free((char *)t->name), free((char *)t->record);
                free((char *)t->action), free((char *)t->entity);
                json_decref((json_t *)t->schema);
                hd_anodes_free(hd_cat.nodes[i]);
        }
        free(hd_cat.nodes);
        json_decref(hd_cat.index);
        free(hd_cat.types);
        json_decref(hd_cat.named);
        free(hd_cat.schema_json);
        memset(&hd_cat, 0, sizeof(hd_cat));
        __atomic_store_n(&hd_cat_ready, 0, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&hd_cat_lock);
}

int hd_catalogue_pattern_match(const char *pattern, const char *type)
{
        size_t n = strlen(pattern);

        if (n >= 2 && !strcmp(pattern + n - 2, ".*"))
                return !strncmp(pattern, type, n - 1);
        return !strcmp(pattern, type);
}
