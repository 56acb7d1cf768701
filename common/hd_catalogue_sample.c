/*
 * hd_catalogue_sample: a representative valid event of any catalogue type, built
 * from its schema. Tests use it to cover every type without hand-kept fixtures.
 */
#include "hd_catalogue.h"
#include "hd_util.h"

#include <stdio.h>
#include <string.h>

static int hd_ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && !strcmp(s + n - m, suffix);
}

static json_t *hd_sample_string(const char *field, const char *path)
{
        char buf[160];

        if (hd_ends_with(field, "date") || !strcmp(field, "period_start") ||
            !strcmp(field, "period_end") || !strcmp(field, "last_seen"))
                return json_string("2026-11-26");
        if (!strcmp(field, "billing_email") || !strcmp(field, "destination"))
                return json_string("billing@example.com");
        if (!strcmp(field, "currency"))
                return json_string("EUR");
        snprintf(buf, sizeof(buf), "%s-1", path);
        return json_string(buf);
}

static json_t *hd_sample_record(const json_t *rec, const char *prefix);

static json_t *hd_sample_value(const json_t *t, const char *field, const char *path)
{
        const char *prim = json_string_value(t);

        if (json_is_array(t)) /* union: the first non-null branch */
                for (size_t i = 0; i < json_array_size(t); i++)
                        if (strcmp(json_string_value(json_array_get(t, i)) ?: "", "null"))
                                return hd_sample_value(json_array_get(t, i), field, path);
        if (json_is_object(t)) {
                const char *kind = json_string_value(json_object_get(t, "type"));
                if (!strcmp(kind ?: "", "record")) {
                        char p[256];
                        snprintf(p, sizeof(p), "%s.", path);
                        return hd_sample_record(t, p);
                }
                if (!strcmp(kind ?: "", "enum"))
                        return json_incref(json_array_get(json_object_get(t, "symbols"), 0));
                prim = kind;
        }
        if (!prim)
                return json_null();
        if (!strcmp(prim, "string"))
                return hd_sample_string(field, path);
        if (!strcmp(prim, "long") || !strcmp(prim, "int"))
                return json_integer(!strcmp(field, "amount_minor") ? 1999 : 42);
        if (!strcmp(prim, "boolean"))
                return json_true();
        if (!strcmp(prim, "double") || !strcmp(prim, "float"))
                return json_real(1.5);
        return json_null();
}

static json_t *hd_sample_record(const json_t *rec, const char *prefix)
{
        json_t *out = json_object();
        const json_t *f;
        size_t i;

        json_array_foreach(json_object_get(rec, "fields"), i, f) {
                const char *name = json_string_value(json_object_get(f, "name"));
                char path[256];
                snprintf(path, sizeof(path), "%s%s", prefix, name);
                json_object_set_new(out, name,
                                    hd_sample_value(json_object_get(f, "type"), name, path));
        }
        return out;
}

json_t *hd_catalogue_sample(const hd_event_type_t *t)
{
        json_t *ev = json_object();

        json_object_set_new(ev, "type", json_string(t->name));
        json_object_set_new(ev, "action", json_string(t->action));
        json_object_set_new(ev, "entity", json_string(t->entity));
        json_object_set_new(ev, "source", json_string("billing"));
        json_object_set_new(ev, "account_id",
                            t->account_scoped ? json_string("A-1001") : json_null());
        json_object_set_new(ev, "data", hd_sample_record(t->schema, ""));
        return ev;
}
