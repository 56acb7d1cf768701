/* hd_serde: see hd_serde.h. */
#include "hd_serde.h"
#include "hd_avro_codec.h"
#include "hd_catalogue.h"
#include "hd_event_validate.h"
#include "hd_id.h"
#include "hd_util.h"

#include <avro.h>
#include <stdlib.h>
#include <string.h>

#define HD_SERDE_NEG_TTL_US (10 * 1000000LL) /* unknown ids are re-asked after 10 s */

typedef struct hd_schema_entry {
        int32_t id;
        int64_t unknown_until;   /* > now: the registry said no such id */
        hd_anodes_t *nodes;      /* the writer schema, compiled once per id */
        const hd_anode_t *root;
        struct hd_schema_entry *next;
} hd_schema_entry_t;

struct hd_serde {
        size_t max;
        hd_schema_fetch_cb *fetch;
        void *opaque;
        hd_schema_entry_t *entries;
        void *encbuf;            /* scratch for encoding, max bytes */
};

const char *hd_serde_err_name(int code)
{
        static const char *const names[] = {"ok", "short_frame", "bad_magic",
                                            "unknown_schema_id", "registry_unreachable",
                                            "malformed_avro", "trailing_bytes", "too_large",
                                            "invalid_event", "bad_schema"};
        return code <= 0 && -code < (int)HD_ARRAY_SIZE(names) ? names[-code] : "unknown";
}

hd_serde_t *hd_serde_new(size_t max_message_bytes, hd_schema_fetch_cb *fetch, void *opaque)
{
        hd_serde_t *s = hd_calloc(1, sizeof(*s));

        s->max = max_message_bytes;
        s->fetch = fetch;
        s->opaque = opaque;
        s->encbuf = hd_malloc(max_message_bytes);
        return s;
}

static void hd_entry_release(hd_schema_entry_t *e)
{
        hd_anodes_free(e->nodes);
        e->nodes = NULL;
        e->root = NULL;
}

void hd_serde_destroy(hd_serde_t *s)
{
        if (!s)
                return;
        while (s->entries) {
                hd_schema_entry_t *e = s->entries;
                s->entries = e->next;
                hd_entry_release(e);
                free(e);
        }
        free(s->encbuf);
        free(s);
}

/* avro-c judges the schema; the codec gets it compiled. */
static int hd_entry_load(hd_schema_entry_t *e, const char *json, char *errstr,
                         size_t errstr_size)
{
        avro_schema_t schema = NULL;
        json_t *j;

        if (avro_schema_from_json_length(json, strlen(json), &schema))
                return hd_seterr(errstr, errstr_size, "schema %d: avro-c: %s", (int)e->id,
                                 avro_strerror());
        avro_schema_decref(schema);
        if (!(j = json_loads(json, JSON_DECODE_ANY, NULL)))
                return hd_seterr(errstr, errstr_size, "schema %d is not JSON", (int)e->id);
        e->nodes = hd_anodes_compile(j, &e->root, errstr, errstr_size);
        json_decref(j);
        if (!e->nodes)
                hd_preperr(errstr, errstr_size, "schema %d", (int)e->id);
        return e->nodes ? 0 : -1;
}

/* The cached entry for id, fetching it on first use. */
static int hd_serde_entry(hd_serde_t *s, int32_t id, hd_schema_entry_t **out, char *errstr,
                          size_t errstr_size)
{
        hd_schema_entry_t *e;
        char *json = NULL;
        int r;

        for (e = s->entries; e && e->id != id; e = e->next)
                ;
        if (e && e->nodes) {
                *out = e;
                return 0;
        }
        if (e && e->unknown_until > hd_mono_us())
                return hd_seterr(errstr, errstr_size, "unknown schema id %d", (int)id),
                       HD_SERDE_E_UNKNOWN_ID;
        if (!s->fetch)
                return hd_seterr(errstr, errstr_size, "unknown schema id %d (no registry)",
                                 (int)id),
                       HD_SERDE_E_UNKNOWN_ID;
        r = s->fetch(s->opaque, id, &json, errstr, errstr_size);
        if (r && r != HD_SERDE_E_UNKNOWN_ID)
                return HD_SERDE_E_REGISTRY;
        if (!e) {
                e = hd_calloc(1, sizeof(*e));
                e->id = id;
                e->next = s->entries;
                s->entries = e;
        }
        if (r == HD_SERDE_E_UNKNOWN_ID) {
                e->unknown_until = hd_mono_us() + HD_SERDE_NEG_TTL_US;
                return HD_SERDE_E_UNKNOWN_ID;
        }
        r = hd_entry_load(e, json, errstr, errstr_size);
        free(json);
        if (r)
                return HD_SERDE_E_SCHEMA;
        *out = e;
        return 0;
}

int hd_serde_decode(hd_serde_t *s, const void *buf, size_t len, json_t **event,
                    char *errstr, size_t errstr_size)
{
        const unsigned char *p = buf;
        hd_schema_entry_t *e;
        size_t consumed = 0;
        int32_t id;
        int r;

        *event = NULL;
        if (len > s->max)
                return hd_seterr(errstr, errstr_size, "frame of %zu bytes exceeds the %zu "
                                 "byte limit", len, s->max), HD_SERDE_E_TOO_LARGE;
        if (len < 5)
                return hd_seterr(errstr, errstr_size, "short frame: %zu bytes, a Confluent "
                                 "frame has at least 5", len), HD_SERDE_E_SHORT;
        if (p[0] != 0)
                return hd_seterr(errstr, errstr_size, "bad magic byte %u (expected 0)",
                                 p[0]), HD_SERDE_E_MAGIC;
        id = (int32_t)(((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) |
                       ((uint32_t)p[3] << 8) | p[4]);
        if ((r = hd_serde_entry(s, id, &e, errstr, errstr_size)))
                return r;
        if (!(*event = hd_avro_decode(e->root, p + 5, len - 5, &consumed, errstr,
                                      errstr_size))) {
                hd_preperr(errstr, errstr_size, "malformed Avro (schema %d)", (int)id);
                return HD_SERDE_E_MALFORMED;
        }
        if (consumed != len - 5) {
                json_decref(*event);
                *event = NULL;
                return hd_seterr(errstr, errstr_size, "%zu trailing bytes after the record "
                                 "(schema %d)", len - 5 - consumed, (int)id),
                       HD_SERDE_E_TRAILING;
        }
        return 0;
}

/* A reference to ev with envelope defaults filled in (a shallow copy if needed). */
static json_t *hd_event_defaults(const json_t *ev, const hd_event_type_t *t)
{
        json_t *out;
        char id[HD_UUID_STRLEN + 1];

        if (!t || (json_object_get(ev, "id") && json_object_get(ev, "occurred_at") &&
                   json_object_get(ev, "action") && json_object_get(ev, "entity") &&
                   json_object_get(ev, "source")))
                return json_incref((json_t *)ev);
        out = json_copy((json_t *)ev);
        if (!json_object_get(out, "id")) {
                hd_uuid7(id);
                json_object_set_new(out, "id", json_string(id));
        }
        if (!json_object_get(out, "occurred_at"))
                json_object_set_new(out, "occurred_at", json_integer(hd_now_ms()));
        if (!json_object_get(out, "action"))
                json_object_set_new(out, "action", json_string(t->action));
        if (!json_object_get(out, "entity"))
                json_object_set_new(out, "entity", json_string(t->entity));
        if (!json_object_get(out, "source"))
                json_object_set_new(out, "source", json_string("herald"));
        return out;
}

int hd_serde_encode(hd_serde_t *s, int32_t schema_id, const json_t *event, void **buf,
                    size_t *len, char *errstr, size_t errstr_size)
{
        hd_schema_entry_t *e;
        unsigned char *out;
        size_t n = 0;
        int r;

        const hd_event_type_t *t = NULL;
        json_t *ev;

        *buf = NULL;
        if (hd_event_validate(event, &t, errstr, errstr_size))
                return HD_SERDE_E_INVALID;
        if ((r = hd_serde_entry(s, schema_id, &e, errstr, errstr_size)))
                return r;
        ev = hd_event_defaults(event, t);
        r = hd_avro_encode(e->root, ev, t->record, s->encbuf, s->max - 5, &n, errstr,
                           errstr_size);
        json_decref(ev);
        if (r == -2)
                return hd_seterr(errstr, errstr_size, "event encodes to more than %zu bytes",
                                 s->max), HD_SERDE_E_TOO_LARGE;
        if (r)
                return HD_SERDE_E_INVALID;
        out = hd_malloc(n + 5);
        out[0] = 0;
        out[1] = (unsigned char)((uint32_t)schema_id >> 24);
        out[2] = (unsigned char)((uint32_t)schema_id >> 16);
        out[3] = (unsigned char)((uint32_t)schema_id >> 8);
        out[4] = (unsigned char)schema_id;
        memcpy(out + 5, s->encbuf, n);
        *buf = out;
        *len = n + 5;
        return 0;
}
