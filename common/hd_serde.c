/* hd_serde: see hd_serde.h. */
#include "hd_serde.h"
#include "hd_avro_codec.h"
#include "hd_avro_text.h"
#include "hd_catalogue.h"
#include "hd_event_validate.h"
#include "hd_id.h"
#include "hd_util.h"

#include <avro.h>
#include <stdlib.h>
#include <string.h>

/*
 * Schema cache. Loaded schemas: at most HD_SERDE_MAX_SCHEMAS, most recently used
 * first, the least recently used dropped beyond that (a record naming every id in
 * a big shared registry must not grow memory without bound). Ids the registry
 * does not know, and schemas that are unusable, are remembered for
 * HD_SERDE_NEG_TTL_US in a fixed ring, so a flood of poison records costs one
 * registry request per id per TTL and no memory; the TTL is short because a
 * registry replica can lag behind a producer that just registered a schema.
 * Unreachable registries are never remembered: the next record asks again.
 */
#define HD_SERDE_MAX_SCHEMAS 128
#define HD_SERDE_NEG_SLOTS 64
#define HD_SERDE_NEG_TTL_US (10 * 1000000LL)

typedef struct hd_schema_entry {
        int32_t id;
        hd_anodes_t *nodes;      /* the writer schema, compiled once per id */
        const hd_anode_t *root;
        int is_catalogue;        /* the same schema as this build's catalogue */
        struct hd_schema_entry *next;
} hd_schema_entry_t;

typedef struct hd_schema_neg {
        int32_t id;
        int code;                /* HD_SERDE_E_UNKNOWN_ID or _SCHEMA; 0: free slot */
        int64_t until;           /* monotonic us */
        char msg[192];           /* the first answer, repeated while remembered */
} hd_schema_neg_t;

struct hd_serde {
        size_t max;
        hd_schema_fetch_cb *fetch;
        void *opaque;
        hd_schema_entry_t *entries; /* most recently used first */
        size_t nentries;
        hd_schema_neg_t neg[HD_SERDE_NEG_SLOTS];
        size_t neg_next;            /* ring position of the next slot to reuse */
        void *encbuf;               /* scratch for encoding, max bytes */
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
        s->encbuf = hd_malloc(max_message_bytes + 5); /* header + body */
        return s;
}

static void hd_entry_free(hd_schema_entry_t *e)
{
        hd_anodes_free(e->nodes);
        free(e);
}

void hd_serde_destroy(hd_serde_t *s)
{
        if (!s)
                return;
        while (s->entries) {
                hd_schema_entry_t *e = s->entries;
                s->entries = e->next;
                hd_entry_free(e);
        }
        free(s->encbuf);
        free(s);
}

/* avro-c judges the schema; the codec gets it compiled. */
static hd_schema_entry_t *hd_entry_load(int32_t id, const char *json, char *errstr,
                                        size_t errstr_size)
{
        avro_schema_t schema = NULL;
        hd_schema_entry_t *e;
        json_t *j;

        if (avro_schema_from_json_length(json, strlen(json), &schema)) {
                /* avro_strerror() is process-global: copy it out at once. */
                hd_seterr(errstr, errstr_size, "schema %d: avro-c: %s", (int)id,
                          avro_strerror());
                return NULL;
        }
        avro_schema_decref(schema);
        if (!(j = json_loads(json, JSON_DECODE_ANY, NULL))) {
                hd_seterr(errstr, errstr_size, "schema %d is not JSON", (int)id);
                return NULL;
        }
        e = hd_calloc(1, sizeof(*e));
        e->id = id;
        e->nodes = hd_anodes_compile(j, &e->root, errstr, errstr_size);
        {
                json_t *cat = json_loads(hd_catalogue_schema_json(), 0, NULL);
                e->is_catalogue = json_equal(j, cat);
                json_decref(cat);
        }
        json_decref(j);
        if (!e->nodes) {
                hd_preperr(errstr, errstr_size, "schema %d", (int)id);
                free(e);
                return NULL;
        }
        return e;
}

/* A loaded schema, moved to the front of the list; NULL when not cached. */
static hd_schema_entry_t *hd_cache_get(hd_serde_t *s, int32_t id)
{
        hd_schema_entry_t **pp, *e;

        for (pp = &s->entries; (e = *pp); pp = &e->next) {
                if (e->id != id)
                        continue;
                if (pp != &s->entries) {
                        *pp = e->next;
                        e->next = s->entries;
                        s->entries = e;
                }
                return e;
        }
        return NULL;
}

static void hd_cache_put(hd_serde_t *s, hd_schema_entry_t *e)
{
        hd_schema_entry_t **pp;

        e->next = s->entries;
        s->entries = e;
        if (++s->nentries <= HD_SERDE_MAX_SCHEMAS)
                return;
        for (pp = &s->entries; (*pp)->next; pp = &(*pp)->next)
                ;
        hd_entry_free(*pp); /* the least recently used */
        *pp = NULL;
        s->nentries--;
}

/* A remembered refusal for id still within its TTL, or NULL. */
static const hd_schema_neg_t *hd_neg_get(const hd_serde_t *s, int32_t id)
{
        int64_t now = hd_mono_us();

        for (size_t i = 0; i < HD_SERDE_NEG_SLOTS; i++)
                if (s->neg[i].code && s->neg[i].id == id && s->neg[i].until > now)
                        return &s->neg[i];
        return NULL;
}

static void hd_neg_put(hd_serde_t *s, int32_t id, int code, const char *msg)
{
        hd_schema_neg_t *n = NULL;

        for (size_t i = 0; i < HD_SERDE_NEG_SLOTS && !n; i++)
                if (s->neg[i].code && s->neg[i].id == id)
                        n = &s->neg[i]; /* expired entry for the same id */
        if (!n) {
                n = &s->neg[s->neg_next];
                s->neg_next = (s->neg_next + 1) % HD_SERDE_NEG_SLOTS;
        }
        n->id = id;
        n->code = code;
        n->until = hd_mono_us() + HD_SERDE_NEG_TTL_US;
        hd_strlcpy(n->msg, msg, sizeof(n->msg));
}

/* Asks the registry for id and caches the answer (see the cache notes above). */
static int hd_serde_fetch(hd_serde_t *s, int32_t id, hd_schema_entry_t **out, char *errstr,
                          size_t errstr_size)
{
        char msg[HD_ERRSTR_SIZE] = "";
        char *json = NULL;
        int r;

        if (!s->fetch) {
                hd_seterr(errstr, errstr_size, "unknown schema id %d (no registry)", (int)id);
                return HD_SERDE_E_UNKNOWN_ID;
        }
        r = s->fetch(s->opaque, id, &json, msg, sizeof(msg));
        if (r == 0 && !json)
                r = HD_SERDE_E_REGISTRY, hd_seterr(msg, sizeof(msg), "no schema text");
        if (r == 0) {
                *out = hd_entry_load(id, json, msg, sizeof(msg));
                free(json);
                if (*out) {
                        hd_cache_put(s, *out);
                        return 0;
                }
                r = HD_SERDE_E_SCHEMA;
        } else if (r != HD_SERDE_E_UNKNOWN_ID) {
                free(json); /* a callback that failed should not have set it */
                hd_seterr(errstr, errstr_size, "schema %d: registry unreachable: %s", (int)id,
                          *msg ? msg : "no reason given");
                return HD_SERDE_E_REGISTRY;
        } else if (!*msg) {
                hd_seterr(msg, sizeof(msg), "unknown schema id %d", (int)id);
        }
        hd_neg_put(s, id, r, msg);
        hd_seterr(errstr, errstr_size, "%s", msg);
        return r;
}

/* The cached entry for id, fetching it on first use. */
static int hd_serde_entry(hd_serde_t *s, int32_t id, hd_schema_entry_t **out, char *errstr,
                          size_t errstr_size)
{
        const hd_schema_neg_t *neg;

        if ((*out = hd_cache_get(s, id)))
                return 0;
        if ((neg = hd_neg_get(s, id))) {
                hd_seterr(errstr, errstr_size, "%s (remembered)", neg->msg);
                return neg->code;
        }
        return hd_serde_fetch(s, id, out, errstr, errstr_size);
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

static void hd_serde_header(unsigned char *out, int32_t schema_id)
{
        out[0] = 0;
        out[1] = (unsigned char)((uint32_t)schema_id >> 24);
        out[2] = (unsigned char)((uint32_t)schema_id >> 16);
        out[3] = (unsigned char)((uint32_t)schema_id >> 8);
        out[4] = (unsigned char)schema_id;
}

int hd_serde_encode_frame(hd_serde_t *s, int32_t schema_id, const json_t *event,
                          const void **frame, size_t *len, char *errstr, size_t errstr_size)
{
        hd_schema_entry_t *e;
        unsigned char *out = s->encbuf;
        size_t n = 0;
        int r;

        const hd_event_type_t *t = NULL;
        json_t *ev;
        int complete = 0;

        *frame = NULL;
        if (hd_event_check_envelope(event, &t, &complete, errstr, errstr_size))
                return HD_SERDE_E_INVALID;
        if ((r = hd_serde_entry(s, schema_id, &e, errstr, errstr_size)))
                return r;
        /*
         * The strict encoder is the data validation (one pass), against the writer
         * schema: for this build's catalogue that is the catalogue's rules; for an
         * evolved schema registered since (a field added with a default), the event
         * is checked against what it will be written with, not refused for the
         * fields this build does not know yet.
         */
        ev = complete ? json_incref((json_t *)event) : hd_event_defaults(event, t);
        /* Straight after the 5-byte header: the frame is never copied here. */
        r = hd_avro_encode(e->root, ev, t->record, 1, out + 5,
                           s->max > 5 ? s->max - 5 : 0, &n, errstr,
                           errstr_size);
        json_decref(ev);
        if (r == -2)
                return hd_seterr(errstr, errstr_size, "event encodes to more than %zu bytes",
                                 s->max), HD_SERDE_E_TOO_LARGE;
        if (r)
                return HD_SERDE_E_INVALID;
        hd_serde_header(out, schema_id);
        *frame = out;
        *len = n + 5;
        return 0;
}

int hd_serde_encode_text(hd_serde_t *s, int32_t schema_id, const hd_jtoks_t *T,
                         const hd_env_text_t *env, const void **frame, size_t *len)
{
        hd_schema_entry_t *e = hd_cache_get(s, schema_id);
        unsigned char *out = s->encbuf;
        size_t n = 0;
        /* The data union lists the catalogue's records in its order. */
        size_t hint = (size_t)(env->t - hd_catalogue_get(0));

        if (!e || hd_avro_encode_text(e->root, T, 0, env->defs, env->ndefs, env->t->record, hint,
                                      out + 5, s->max > 5 ? s->max - 5 : 0, &n))
                return -1;
        hd_serde_header(out, schema_id);
        *frame = out;
        *len = n + 5;
        return 0;
}

int hd_serde_encode(hd_serde_t *s, int32_t schema_id, const json_t *event, void **buf,
                    size_t *len, char *errstr, size_t errstr_size)
{
        const void *frame;
        int r;

        *buf = NULL;
        if ((r = hd_serde_encode_frame(s, schema_id, event, &frame, len, errstr, errstr_size)))
                return r;
        *buf = hd_malloc(*len);
        memcpy(*buf, frame, *len);
        return 0;
}
