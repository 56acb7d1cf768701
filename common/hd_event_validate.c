/*
 * hd_event_validate: hd_serde_validate(), the catalogue-level check of a JSON
 * event. Every message names the field path ("data.service.name: missing
 * required string") so a billing engineer can fix the event at once.
 */
#include "hd_catalogue.h"
#include "hd_path.h"
#include "hd_serde.h"
#include "hd_util.h"

#include <stdio.h>
#include <string.h>

#define HD_EV_MAX_DEPTH 16

static int hd_ev_field(const json_t *type, const json_t *v, const hd_path_t *path, int depth,
                       char *errstr, size_t errstr_size);

#define HD_P(path) hd_path_format(path, pbuf, sizeof(pbuf))

static int hd_is_nullable(const json_t *type)
{
        size_t i;
        const json_t *b;

        json_array_foreach(type, i, b)
                if (!strcmp(json_string_value(b) ?: "", "null"))
                        return 1;
        return 0;
}

static const char *hd_type_word(const char *prim)
{
        if (!strcmp(prim, "string")) return "string";
        if (!strcmp(prim, "long") || !strcmp(prim, "int")) return "integer";
        if (!strcmp(prim, "boolean")) return "boolean";
        if (!strcmp(prim, "double") || !strcmp(prim, "float")) return "number";
        return prim;
}

static int hd_ev_record(const json_t *rec, const json_t *obj, const hd_path_t *path,
                        int depth, char *errstr, size_t errstr_size)
{
        const json_t *f, *v, *fields = json_object_get(rec, "fields");
        const char *key;
        char pbuf[512];
        size_t i, present = 0;

        if (!json_is_object(obj))
                return hd_seterr(errstr, errstr_size, "%s: expected an object", HD_P(path));
        if (depth > HD_EV_MAX_DEPTH)
                return hd_seterr(errstr, errstr_size, "%s: nested too deeply", HD_P(path));
        json_array_foreach(fields, i, f) {
                const char *name = json_string_value(json_object_get(f, "name"));
                hd_path_t sub = {name, path};
                v = json_object_get(obj, name);
                present += v != NULL;
                if (hd_ev_field(json_object_get(f, "type"), v, &sub, depth + 1, errstr,
                                errstr_size))
                        return -1;
        }
        if (present == json_object_size(obj))
                return 0;
        /* Some key is not a field: find it for the message. */
        json_object_foreach((json_t *)obj, key, v) {
                int known = 0;
                json_array_foreach(fields, i, f)
                        known |= !strcmp(json_string_value(json_object_get(f, "name")), key);
                if (!known)
                        return hd_seterr(errstr, errstr_size, "%s.%s: unknown field",
                                         HD_P(path), key);
        }
        return 0;
}

static int hd_ev_prim(const char *prim, const json_t *v, const hd_path_t *path,
                      char *errstr, size_t errstr_size)
{
        char pbuf[512];
        int ok = !strcmp(prim, "string")    ? json_is_string(v)
                 : !strcmp(prim, "long")    ? json_is_integer(v)
                 : !strcmp(prim, "int")     ? json_is_integer(v) &&
                                                  json_integer_value(v) >= INT32_MIN &&
                                                  json_integer_value(v) <= INT32_MAX
                 : !strcmp(prim, "boolean") ? json_is_boolean(v)
                 : !strcmp(prim, "double") || !strcmp(prim, "float") ? json_is_number(v)
                                                                     : 0;
        if (!ok) {
                const char *word = hd_type_word(prim);
                return hd_seterr(errstr, errstr_size, "%s: expected %s %s", HD_P(path),
                                 strchr("aeiou", word[0]) ? "an" : "a", word);
        }
        return 0;
}

static int hd_ev_field(const json_t *type, const json_t *v, const hd_path_t *path, int depth,
                       char *errstr, size_t errstr_size)
{
        char pbuf[512];
        if (!v || json_is_null(v)) {
                if (json_is_array(type) && hd_is_nullable(type))
                        return 0;
                if (json_is_string(type))
                        return hd_seterr(errstr, errstr_size, "%s: missing required %s", HD_P(path),
                                         hd_type_word(json_string_value(type)));
                return hd_seterr(errstr, errstr_size, "%s: missing required field", HD_P(path));
        }
        if (json_is_array(type)) { /* union: the first non-null branch that fits */
                size_t i;
                const json_t *b;
                json_array_foreach(type, i, b) {
                        if (!strcmp(json_string_value(b) ?: "", "null"))
                                continue;
                        return hd_ev_field(b, v, path, depth, errstr, errstr_size);
                }
                return hd_seterr(errstr, errstr_size, "%s: must be null", HD_P(path));
        }
        if (json_is_string(type))
                return hd_ev_prim(json_string_value(type), v, path, errstr, errstr_size);
        if (!strcmp(json_string_value(json_object_get(type, "type")) ?: "", "record"))
                return hd_ev_record(type, v, path, depth, errstr, errstr_size);
        if (!strcmp(json_string_value(json_object_get(type, "type")) ?: "", "enum")) {
                size_t i;
                const json_t *sym;
                json_array_foreach(json_object_get(type, "symbols"), i, sym)
                        if (json_is_string(v) && json_equal(sym, v))
                                return 0;
                return hd_seterr(errstr, errstr_size, "%s: not one of the allowed values",
                                 HD_P(path));
        }
        return hd_ev_prim(json_string_value(json_object_get(type, "type")) ?: "?", v, path,
                          errstr, errstr_size);
}

static int hd_ev_text(const json_t *ev, const char *key, size_t max, char *errstr,
                      size_t errstr_size)
{
        const json_t *v = json_object_get(ev, key);
        const char *s;

        if (!v)
                return 0;
        if (!json_is_string(v) || !*(s = json_string_value(v)) || json_string_length(v) > max)
                return hd_seterr(errstr, errstr_size,
                                 "%s: expected a non-empty string of at most %zu characters",
                                 key, max);
        for (; *s; s++)
                if ((unsigned char)*s < 0x20)
                        return hd_seterr(errstr, errstr_size,
                                         "%s: contains a control character", key);
        return 0;
}

static int hd_ev_envelope(const json_t *ev, const hd_event_type_t *t, char *errstr,
                          size_t errstr_size)
{
        static const char *const keys[] = {"id", "type", "action", "entity", "occurred_at",
                                           "source", "account_id", "data"};
        const json_t *v, *acct = json_object_get(ev, "account_id");
        const char *key;

        json_object_foreach((json_t *)ev, key, v) {
                size_t i;
                for (i = 0; i < HD_ARRAY_SIZE(keys) && strcmp(keys[i], key); i++)
                        ;
                if (i == HD_ARRAY_SIZE(keys))
                        return hd_seterr(errstr, errstr_size, "%s: unknown field", key);
        }
        if (hd_ev_text(ev, "id", 64, errstr, errstr_size) ||
            hd_ev_text(ev, "entity", 128, errstr, errstr_size) ||
            hd_ev_text(ev, "source", 128, errstr, errstr_size))
                return -1;
        v = json_object_get(ev, "action");
        if (v && (!json_is_string(v) || (strcmp(json_string_value(v), "CREATE") &&
                                         strcmp(json_string_value(v), "UPDATE") &&
                                         strcmp(json_string_value(v), "DELETE"))))
                return hd_seterr(errstr, errstr_size, "action: expected CREATE, UPDATE or DELETE");
        v = json_object_get(ev, "occurred_at");
        if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
                return hd_seterr(errstr, errstr_size,
                                 "occurred_at: expected epoch milliseconds (an integer >= 0)");
        if (t->account_scoped && (!acct || json_is_null(acct)))
                return hd_seterr(errstr, errstr_size, "account_id: required for %s", t->name);
        if (!t->account_scoped && acct && !json_is_null(acct))
                return hd_seterr(errstr, errstr_size,
                                 "account_id: %s is not about one account; leave it out",
                                 t->name);
        return acct && !json_is_null(acct) ? hd_ev_text(ev, "account_id", 128, errstr, errstr_size)
                                           : 0;
}

int hd_serde_validate(const json_t *ev, char *errstr, size_t errstr_size)
{
        const json_t *type = json_object_get(ev, "type");
        const hd_event_type_t *t;

        if (!json_is_object(ev))
                return hd_seterr(errstr, errstr_size, "an event must be a JSON object");
        if (!json_is_string(type))
                return hd_seterr(errstr, errstr_size, "type: missing required string");
        if (!(t = hd_catalogue_find(json_string_value(type))))
                return hd_seterr(errstr, errstr_size, "type: unknown event type \"%s\"",
                                 json_string_value(type));
        if (hd_ev_envelope(ev, t, errstr, errstr_size))
                return -1;
        if (!json_object_get(ev, "data"))
                return hd_seterr(errstr, errstr_size, "data: missing required object");
        {
                hd_path_t root = {"data", NULL};
                return hd_ev_record(t->schema, json_object_get(ev, "data"), &root, 0, errstr,
                                    errstr_size);
        }
}
