/*
 * hd_event_validate: hd_serde_validate(), the catalogue-level check of a JSON
 * event. Every message names the field path ("data.service.name: missing
 * required string") so a billing engineer can fix the event at once.
 */
#include "hd_avro_node.h"
#include "hd_catalogue.h"
#include "hd_path.h"
#include "hd_event_validate.h"
#include "hd_serde.h"
#include "hd_util.h"

#include <stdio.h>
#include <string.h>

#define HD_EV_MAX_DEPTH 16

static int hd_ev_field(const hd_anode_t *n, const json_t *v, const hd_path_t *path,
                       int depth, char *errstr, size_t errstr_size);

#define HD_P(path) hd_path_format(path, pbuf, sizeof(pbuf))

static const char *hd_type_word(hd_atype_t t)
{
        switch (t) {
        case HD_AT_STRING: return "a string";
        case HD_AT_INT:
        case HD_AT_LONG: return "an integer";
        case HD_AT_BOOLEAN: return "a boolean";
        case HD_AT_FLOAT:
        case HD_AT_DOUBLE: return "a number";
        case HD_AT_RECORD: return "an object";
        case HD_AT_ENUM: return "one of the allowed values";
        default: return "a value of another type";
        }
}

static int hd_ev_record(const hd_anode_t *rec, const json_t *obj, const hd_path_t *path,
                        int depth, char *errstr, size_t errstr_size)
{
        const char *key;
        const json_t *v;
        char pbuf[512];
        size_t present = 0;

        if (!json_is_object(obj))
                return hd_seterr(errstr, errstr_size, "%s: expected an object", HD_P(path));
        if (depth > HD_EV_MAX_DEPTH)
                return hd_seterr(errstr, errstr_size, "%s: nested too deeply", HD_P(path));
        for (size_t i = 0; i < rec->n; i++) {
                hd_path_t sub = {rec->names[i], path};
                v = json_object_get(obj, rec->names[i]);
                present += v != NULL;
                if (hd_ev_field(rec->kids[i], v, &sub, depth + 1, errstr, errstr_size))
                        return -1;
        }
        if (present == json_object_size(obj))
                return 0;
        /* Some key is not a field: find it for the message. */
        json_object_foreach((json_t *)obj, key, v) {
                size_t i;
                for (i = 0; i < rec->n && strcmp(rec->names[i], key); i++)
                        ;
                if (i == rec->n)
                        return hd_seterr(errstr, errstr_size, "%s.%s: unknown field",
                                         HD_P(path), key);
        }
        return 0;
}

static int hd_ev_nullable(const hd_anode_t *n)
{
        for (size_t i = 0; n->t == HD_AT_UNION && i < n->n; i++)
                if (n->kids[i]->t == HD_AT_NULL)
                        return 1;
        return n->t == HD_AT_NULL;
}

static int hd_ev_field(const hd_anode_t *n, const json_t *v, const hd_path_t *path,
                       int depth, char *errstr, size_t errstr_size)
{
        char pbuf[512];
        int ok;

        if (!v || json_is_null(v)) {
                if (hd_ev_nullable(n))
                        return 0;
                return hd_seterr(errstr, errstr_size, "%s: missing required %s", HD_P(path),
                                 n->t == HD_AT_STRING ? "string"
                                 : n->t == HD_AT_LONG || n->t == HD_AT_INT ? "integer"
                                                                           : "field");
        }
        switch (n->t) {
        case HD_AT_UNION: /* the first non-null branch */
                for (size_t i = 0; i < n->n; i++)
                        if (n->kids[i]->t != HD_AT_NULL)
                                return hd_ev_field(n->kids[i], v, path, depth, errstr,
                                                   errstr_size);
                return hd_seterr(errstr, errstr_size, "%s: must be null", HD_P(path));
        case HD_AT_RECORD:
                return hd_ev_record(n, v, path, depth, errstr, errstr_size);
        case HD_AT_ENUM:
                for (size_t i = 0; json_is_string(v) && i < n->n; i++)
                        if (!strcmp(n->names[i], json_string_value(v)))
                                return 0;
                ok = 0;
                break;
        case HD_AT_STRING: ok = json_is_string(v); break;
        case HD_AT_LONG: ok = json_is_integer(v); break;
        case HD_AT_INT:
                ok = json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
                     json_integer_value(v) <= INT32_MAX;
                break;
        case HD_AT_BOOLEAN: ok = json_is_boolean(v); break;
        case HD_AT_FLOAT:
        case HD_AT_DOUBLE: ok = json_is_number(v); break;
        default: ok = 0;
        }
        if (!ok)
                return hd_seterr(errstr, errstr_size, "%s: expected %s", HD_P(path),
                                 hd_type_word(n->t));
        return 0;
}

static int hd_ev_text(const json_t *v, const char *key, size_t max, char *errstr,
                      size_t errstr_size)
{
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

/* The envelope's keys, found in one walk over the event (no hash lookups). */
enum { HD_K_ID, HD_K_TYPE, HD_K_ACTION, HD_K_ENTITY, HD_K_OCCURRED_AT, HD_K_SOURCE,
       HD_K_ACCOUNT_ID, HD_K_DATA, HD_K_N };

static int hd_ev_key(const char *k)
{
        static const char *const keys[HD_K_N] = {"id", "type", "action", "entity",
                                                 "occurred_at", "source", "account_id",
                                                 "data"};
        int i;

        switch (k[0]) {
        case 'i': i = HD_K_ID; break;
        case 't': i = HD_K_TYPE; break;
        case 'a': i = k[1] == 'c' && k[2] == 't' ? HD_K_ACTION : HD_K_ACCOUNT_ID; break;
        case 'e': i = HD_K_ENTITY; break;
        case 'o': i = HD_K_OCCURRED_AT; break;
        case 's': i = HD_K_SOURCE; break;
        case 'd': i = HD_K_DATA; break;
        default: return -1;
        }
        return strcmp(keys[i], k) ? -1 : i;
}

typedef struct hd_env {
        const json_t *v[HD_K_N];
        const char *unknown; /* the first key that is not an envelope field */
} hd_env_t;

static void hd_ev_collect(const json_t *ev, hd_env_t *env)
{
        const char *key;
        json_t *v;

        memset(env, 0, sizeof(*env));
        json_object_foreach((json_t *)ev, key, v) {
                int i = hd_ev_key(key);
                if (i >= 0)
                        env->v[i] = v;
                else if (!env->unknown)
                        env->unknown = key;
        }
}

static int hd_ev_envelope(const hd_env_t *env, const hd_event_type_t *t, char *errstr,
                          size_t errstr_size)
{
        const json_t *v, *acct = env->v[HD_K_ACCOUNT_ID];

        if (env->unknown)
                return hd_seterr(errstr, errstr_size, "%s: unknown field", env->unknown);
        if (hd_ev_text(env->v[HD_K_ID], "id", 64, errstr, errstr_size) ||
            hd_ev_text(env->v[HD_K_ENTITY], "entity", 128, errstr, errstr_size) ||
            hd_ev_text(env->v[HD_K_SOURCE], "source", 128, errstr, errstr_size))
                return -1;
        v = env->v[HD_K_ACTION];
        if (v && (!json_is_string(v) || (strcmp(json_string_value(v), "CREATE") &&
                                         strcmp(json_string_value(v), "UPDATE") &&
                                         strcmp(json_string_value(v), "DELETE"))))
                return hd_seterr(errstr, errstr_size, "action: expected CREATE, UPDATE or DELETE");
        v = env->v[HD_K_OCCURRED_AT];
        if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
                return hd_seterr(errstr, errstr_size,
                                 "occurred_at: expected epoch milliseconds (an integer >= 0)");
        if (t->account_scoped && (!acct || json_is_null(acct)))
                return hd_seterr(errstr, errstr_size, "account_id: required for %s", t->name);
        if (!t->account_scoped && acct && !json_is_null(acct))
                return hd_seterr(errstr, errstr_size,
                                 "account_id: %s is not about one account; leave it out",
                                 t->name);
        return acct && !json_is_null(acct) ? hd_ev_text(acct, "account_id", 128, errstr, errstr_size)
                                           : 0;
}

int hd_serde_validate(const json_t *ev, char *errstr, size_t errstr_size)
{
        return hd_event_validate(ev, NULL, errstr, errstr_size);
}

int hd_event_validate(const json_t *ev, const hd_event_type_t **tp, char *errstr,
                      size_t errstr_size)
{
        const hd_event_type_t *t;
        hd_path_t root = {"data", NULL};

        if (hd_event_validate_envelope(ev, &t, errstr, errstr_size))
                return -1;
        if (tp)
                *tp = t;
        return hd_ev_record(t->node, json_object_get(ev, "data"), &root, 0, errstr,
                            errstr_size);
}

int hd_event_validate_envelope(const json_t *ev, const hd_event_type_t **tp, char *errstr,
                               size_t errstr_size)
{
        return hd_event_check_envelope(ev, tp, NULL, errstr, errstr_size);
}

int hd_event_check_envelope(const json_t *ev, const hd_event_type_t **tp, int *complete,
                            char *errstr, size_t errstr_size)
{
        const json_t *type;
        const hd_event_type_t *t;
        hd_env_t env;

        if (!json_is_object(ev))
                return hd_seterr(errstr, errstr_size, "an event must be a JSON object");
        hd_ev_collect(ev, &env);
        type = env.v[HD_K_TYPE];
        if (!json_is_string(type))
                return hd_seterr(errstr, errstr_size, "type: missing required string");
        if (!(t = hd_catalogue_find(json_string_value(type))))
                return hd_seterr(errstr, errstr_size, "type: unknown event type \"%s\"",
                                 json_string_value(type));
        if (tp)
                *tp = t;
        if (hd_ev_envelope(&env, t, errstr, errstr_size))
                return -1;
        if (!env.v[HD_K_DATA])
                return hd_seterr(errstr, errstr_size, "data: missing required object");
        if (complete)
                *complete = env.v[HD_K_ID] && env.v[HD_K_OCCURRED_AT] && env.v[HD_K_ACTION] &&
                            env.v[HD_K_ENTITY] && env.v[HD_K_SOURCE];
        return 0;
}
