/*
 * herald_event: an event under construction, kept as the JSON event the serde
 * validates and encodes, so the C API and `herald produce` share one path.
 */
#include "herald_internal.h"

#include <stdlib.h>
#include <string.h>

const char *herald_err_name(herald_err_t err)
{
        static const char *const names[] = {"ok", "config", "unknown_type", "invalid",
                                            "too_large", "registry", "kafka", "timeout",
                                            "arg"};
        return (unsigned)err < sizeof(names) / sizeof(names[0]) ? names[err] : "unknown";
}

herald_err_t herald_event_new(const char *type, herald_event_t **out, char *errstr,
                              size_t errstr_size)
{
        if (!type || !out)
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size, "type and out are required");
        if (!hd_catalogue_find(type))
                return herald_fail(HERALD_ERR_UNKNOWN_TYPE, errstr, errstr_size,
                                   "unknown event type \"%s\"", type);
        *out = hd_calloc(1, sizeof(**out));
        (*out)->json = json_pack("{s:s, s:{}}", "type", type, "data");
        herald_event_fill_defaults(*out);
        return HERALD_OK;
}

herald_err_t herald_event_from_json(const char *text, herald_event_t **out, char *errstr,
                                    size_t errstr_size)
{
        return herald_event_parse(text, 1, out, errstr, errstr_size);
}

herald_err_t herald_event_parse(const char *text, int keep_text, herald_event_t **out,
                                char *errstr, size_t errstr_size)
{
        json_error_t jerr;
        json_t *j;

        if (!text || !out)
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size, "json and out are required");
        /* The fast reader handles the usual event; jansson the rest and every error. */
        if (!(j = herald_json_parse(text)) && !(j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr)))
                return herald_fail(HERALD_ERR_INVALID, errstr, errstr_size,
                                   "invalid JSON at column %d: %s", jerr.column, jerr.text);
        if (!json_is_object(j)) {
                json_decref(j);
                return herald_fail(HERALD_ERR_INVALID, errstr, errstr_size,
                                   "an event must be a JSON object");
        }
        *out = hd_calloc(1, sizeof(**out));
        (*out)->json = j;
        herald_event_fill_defaults(*out);
        if (keep_text)
                herald_event_keep_text(*out, text);
        return HERALD_OK;
}

void herald_event_keep_text(herald_event_t *ev, const char *text)
{
        hd_env_defaults_t d;
        json_t *j = ev->json;

        d.id = json_string_value(json_object_get(j, "id"));
        d.source = json_string_value(json_object_get(j, "source"));
        d.action = json_string_value(json_object_get(j, "action"));
        d.entity = json_string_value(json_object_get(j, "entity"));
        d.occurred_at = json_integer_value(json_object_get(j, "occurred_at"));
        ev->text = hd_strdup(text);
        if (!d.id || !d.source || !d.action || !d.entity ||
            hd_jtoks_parse(&ev->toks, ev->text) ||
            hd_event_envelope_text(&ev->toks, &d, &ev->env)) {
                herald_event_forget_text(ev);
                return;
        }
        /* Kept as long as the event: no slack. */
        ev->toks.v = hd_realloc(ev->toks.v, ev->toks.n * sizeof(*ev->toks.v));
        ev->toks.cap = ev->toks.n;
}

void herald_event_forget_text(herald_event_t *ev)
{
        free(ev->text);
        ev->text = NULL;
        hd_jtoks_free(&ev->toks);
}

void herald_event_destroy(herald_event_t *ev)
{
        if (!ev)
                return;
        json_decref(ev->json);
        herald_event_forget_text(ev);
        free(ev);
}

const char *herald_event_id(const herald_event_t *ev)
{
        return ev ? json_string_value(json_object_get(ev->json, "id")) : NULL;
}

/* Walks "data.a.b" creating objects on the way; returns the parent and the last name. */
static json_t *herald_event_parent(herald_event_t *ev, const char *path, const char **leaf,
                                   char *errstr, size_t errstr_size)
{
        json_t *node = ev->json;
        const char *p = path, *dot;

        if (!*path || strlen(path) > 256 || path[strlen(path) - 1] == '.') {
                herald_fail(HERALD_ERR_INVALID, errstr, errstr_size, "invalid field path \"%s\"",
                            path);
                return NULL;
        }
        while ((dot = strchr(p, '.'))) {
                char name[257];
                json_t *child;

                if (dot == p) {
                        herald_fail(HERALD_ERR_INVALID, errstr, errstr_size,
                                    "invalid field path \"%s\"", path);
                        return NULL;
                }
                memcpy(name, p, (size_t)(dot - p));
                name[dot - p] = '\0';
                child = json_object_get(node, name);
                if (!child) {
                        child = json_object();
                        json_object_set_new(node, name, child);
                } else if (!json_is_object(child)) {
                        herald_fail(HERALD_ERR_INVALID, errstr, errstr_size,
                                    "%s: \"%s\" is not a record", path, name);
                        return NULL;
                }
                node = child;
                p = dot + 1;
        }
        *leaf = p;
        return node;
}

static herald_err_t herald_event_set(herald_event_t *ev, const char *path, json_t *v,
                                     char *errstr, size_t errstr_size)
{
        const char *leaf;
        json_t *parent;

        if (!ev || !path) {
                json_decref(v);
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size, "event and path are required");
        }
        herald_event_forget_text(ev);
        if (!(parent = herald_event_parent(ev, path, &leaf, errstr, errstr_size))) {
                json_decref(v);
                return HERALD_ERR_INVALID;
        }
        json_object_set_new(parent, leaf, v);
        return HERALD_OK;
}

herald_err_t herald_event_set_string(herald_event_t *ev, const char *path, const char *value,
                                     char *errstr, size_t errstr_size)
{
        json_t *v;

        if (!value)
                return herald_event_set_null(ev, path, errstr, errstr_size);
        if (!(v = json_string(value)))
                return herald_fail(HERALD_ERR_INVALID, errstr, errstr_size,
                                   "%s: value is not valid UTF-8", path ? path : "?");
        return herald_event_set(ev, path, v, errstr, errstr_size);
}

herald_err_t herald_event_set_long(herald_event_t *ev, const char *path, int64_t value,
                                   char *errstr, size_t errstr_size)
{
        return herald_event_set(ev, path, json_integer((json_int_t)value), errstr, errstr_size);
}

herald_err_t herald_event_set_bool(herald_event_t *ev, const char *path, int value,
                                   char *errstr, size_t errstr_size)
{
        return herald_event_set(ev, path, json_boolean(value), errstr, errstr_size);
}

herald_err_t herald_event_set_null(herald_event_t *ev, const char *path, char *errstr,
                                   size_t errstr_size)
{
        return herald_event_set(ev, path, json_null(), errstr, errstr_size);
}

herald_err_t herald_event_validate(const herald_event_t *ev, char *errstr,
                                   size_t errstr_size)
{
        const char *type;

        if (!ev)
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size, "event is required");
        type = json_string_value(json_object_get(ev->json, "type"));
        if (type && !hd_catalogue_find(type))
                return herald_fail(HERALD_ERR_UNKNOWN_TYPE, errstr, errstr_size,
                                   "type: unknown event type \"%s\"", type);
        if (hd_serde_validate(ev->json, errstr, errstr_size))
                return HERALD_ERR_INVALID;
        return HERALD_OK;
}
