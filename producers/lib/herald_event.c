/*
 * herald_event: an event under construction, kept as the JSON event the serde
 * validates and encodes, so the C API and `herald produce` share one path.
 */
#include "herald_internal.h"
#include "hd_id.h"

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

/*
 * The usual event: kept as its text's tokens, its envelope checked with the
 * defaults it gets (herald_event_fill_defaults' values, chosen now); no tree.
 * 0, or -1 when the text is not of that shape (the tree path reads it).
 */
static int herald_event_text_only(const char *text, herald_event_t **out)
{
        herald_event_t *ev = hd_calloc(1, sizeof(*ev));
        hd_env_defaults_t d = {ev->id, "billing", NULL, NULL, hd_now_ms()};
        const hd_jtok_t *id;

        hd_uuid7_at(ev->id, d.occurred_at);
        ev->occurred_at = d.occurred_at;
        ev->text = hd_strdup(text);
        if (hd_jtoks_parse(&ev->toks, ev->text) ||
            hd_event_envelope_text(&ev->toks, &d, &ev->env)) {
                herald_event_destroy(ev);
                return -1;
        }
        id = &ev->toks.v[ev->env.id]; /* a non-empty string of at most 64 bytes */
        if (id->s != ev->id) {
                memcpy(ev->id, id->s, id->len);
                ev->id[id->len] = '\0';
        }
        /* Kept as long as the event: no slack. */
        ev->toks.v = hd_realloc(ev->toks.v, ev->toks.n * sizeof(*ev->toks.v));
        ev->toks.cap = ev->toks.n;
        *out = ev;
        return 0;
}

herald_err_t herald_event_parse(const char *text, int keep_text, herald_event_t **out,
                                char *errstr, size_t errstr_size)
{
        json_error_t jerr;
        json_t *j;

        if (!text || !out)
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size, "json and out are required");
        if (keep_text && !herald_event_text_only(text, out))
                return HERALD_OK;
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
        return HERALD_OK;
}

json_t *herald_event_tree(herald_event_t *ev)
{
        if (ev->json || !ev->text)
                return ev->json;
        if (!(ev->json = herald_json_parse(ev->text)))
                ev->json = json_loads(ev->text, JSON_REJECT_DUPLICATES, NULL);
        if (ev->json)
                herald_event_fill_defaults_with(ev, ev->id, ev->occurred_at);
        return ev->json;
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
        if (!ev)
                return NULL;
        return ev->text ? ev->id : json_string_value(json_object_get(ev->json, "id"));
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
        if (!herald_event_tree(ev)) {
                json_decref(v);
                return herald_fail(HERALD_ERR_INVALID, errstr, errstr_size,
                                   "the event's JSON could not be read again");
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
        if (!herald_event_tree((herald_event_t *)ev))
                return herald_fail(HERALD_ERR_INVALID, errstr, errstr_size,
                                   "the event's JSON could not be read again");
        type = json_string_value(json_object_get(ev->json, "type"));
        if (type && !hd_catalogue_find(type))
                return herald_fail(HERALD_ERR_UNKNOWN_TYPE, errstr, errstr_size,
                                   "type: unknown event type \"%s\"", type);
        if (hd_serde_validate(ev->json, errstr, errstr_size))
                return HERALD_ERR_INVALID;
        return HERALD_OK;
}
