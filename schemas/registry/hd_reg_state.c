/* hd_reg_state: herald-registry's in-memory state and operations (hd_reg_store.h). */
#include "hd_reg_internal.h"
#include "hd_compat.h"
#include "hd_kafka.h"
#include "hd_log.h"
#include "hd_util.h"

#include <avro.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int hd_reg_error(json_t **out, int code, const char *fmt, ...)
{
        char msg[4096]; /* holds any message with a 1024-byte subject untruncated */
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        *out = json_pack("{s:i, s:s}", "error_code", code, "message", msg);
        if (!*out) /* msg is not UTF-8 (echoed input): never answer nothing */
                *out = json_pack("{s:i, s:s}", "error_code", code, "message",
                                 "(message not representable)");
        return code;
}

/* Canonical text for identity: parsed and printed with sorted keys, no spaces. */
static char *hd_reg_canonical(const char *schema)
{
        json_t *j = json_loads(schema, JSON_DECODE_ANY, NULL);
        char *c = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

        json_decref(j);
        return c;
}

/* Remembers id -> schema text (the first text wins: ids are immutable). */
static void hd_reg_apply_id(hd_reg_store_t *st, json_int_t id, const char *schema)
{
        char idkey[16], *canon;

        snprintf(idkey, sizeof(idkey), "%d", (int)id);
        if (!json_object_get(st->ids, idkey)) {
                /* Non-JSON text (a Protobuf schema Confluent wrote) is its own identity. */
                canon = hd_reg_canonical(schema);
                json_object_set_new(st->ids, idkey, json_pack("{s:s, s:s}", "schema", schema,
                                                              "canon", canon ? canon : schema));
                json_object_set_new(st->canon, canon ? canon : schema, json_integer(id));
                free(canon);
        }
        if (id > st->max_id)
                st->max_id = (int)id;
}

static void hd_reg_apply_schema(hd_reg_store_t *st, const char *subject, const json_t *key,
                                const json_t *value)
{
        json_t *versions = json_object_get(st->subjects, subject);
        json_int_t version = json_integer_value(json_object_get(key, "version"));
        json_int_t id = json_integer_value(json_object_get(value, "id"));
        const char *schema = json_string_value(json_object_get(value, "schema"));
        char vkey[16];

        if (version < 1 || version > INT32_MAX)
                return; /* not a key Confluent would write */
        snprintf(vkey, sizeof(vkey), "%d", (int)version);
        if (!value) { /* permanent delete; the id stays known until compaction */
                json_object_del(versions, vkey);
                if (versions && !json_object_size(versions))
                        json_object_del(st->subjects, subject);
                return;
        }
        if (!schema || id <= 0 || id > INT32_MAX)
                return;
        if (!versions) {
                versions = json_object();
                json_object_set_new(st->subjects, subject, versions);
        }
        json_object_set_new(versions, vkey,
                            json_pack("{s:I, s:b}", "id", id, "deleted",
                                      json_is_true(json_object_get(value, "deleted"))));
        hd_reg_apply_id(st, id, schema);
}

void hd_reg_apply(hd_reg_store_t *st, const json_t *key, const json_t *value)
{
        const char *kt = json_string_value(json_object_get(key, "keytype"));
        const char *subject = json_string_value(json_object_get(key, "subject"));

        if (!kt)
                return;
        if (!strcmp(kt, "SCHEMA") && subject) {
                hd_reg_apply_schema(st, subject, key, value);
        } else if (!strcmp(kt, "CONFIG")) {
                /* Global level: subject null (older Confluent) or absent (newer). */
                const char *level = json_string_value(json_object_get(value, "compatibilityLevel"));
                if (!level)
                        json_object_del(st->config, subject ? subject : "");
                else
                        json_object_set_new(st->config, subject ? subject : "", json_string(level));
        } else if (!strcmp(kt, "DELETE_SUBJECT") && subject) {
                /* Confluent's soft delete of a subject: every version up to N. */
                json_int_t upto = json_integer_value(json_object_get(value, "version"));
                const char *v;
                json_t *ver;
                json_object_foreach(json_object_get(st->subjects, subject), v, ver)
                        if (atoi(v) <= upto)
                                json_object_set_new(ver, "deleted", json_true());
        }
        /* NOOP, MODE, CONTEXT, CLEAR_SUBJECT, ...: nothing herald keeps. */
}

/* --- helpers ------------------------------------------------------------------------ */

const char *hd_reg_level(hd_reg_store_t *st, const char *subject)
{
        const char *l = subject ? json_string_value(json_object_get(st->config, subject)) : NULL;

        if (!l)
                l = json_string_value(json_object_get(st->config, ""));
        return l ? l : st->default_level;
}

/* Highest version number of subject (deleted included), 0 when none. */
static int hd_reg_max_version(json_t *versions, int live_only)
{
        const char *v;
        json_t *e;
        int max = 0;

        json_object_foreach(versions, v, e)
                if ((!live_only || !json_is_true(json_object_get(e, "deleted"))) && atoi(v) > max)
                        max = atoi(v);
        return max;
}

static int hd_reg_int_cmp(const void *a, const void *b)
{
        int x = *(const int *)a, y = *(const int *)b;

        return (x > y) - (x < y);
}

/* Sorted version numbers (live only unless include_deleted) as a JSON array. */
json_t *hd_reg_version_list(json_t *versions, int include_deleted)
{
        int *nums = hd_calloc(json_object_size(versions) + 1, sizeof(int));
        size_t n = 0;
        const char *v;
        json_t *e, *arr = json_array();

        json_object_foreach(versions, v, e)
                if (include_deleted || !json_is_true(json_object_get(e, "deleted")))
                        nums[n++] = atoi(v);
        qsort(nums, n, sizeof(int), hd_reg_int_cmp);
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, json_integer(nums[i]));
        free(nums);
        return arr;
}

static json_t *hd_reg_schema_key(const char *subject, int version)
{
        return json_pack("{s:s, s:s, s:i, s:i}", "keytype", "SCHEMA", "subject", subject,
                         "version", version, "magic", 1);
}

static int hd_reg_write_schema(hd_reg_store_t *st, const char *subject, int version, int id,
                               const char *schema, int deleted, json_t **out)
{
        json_t *key = hd_reg_schema_key(subject, version);
        json_t *value = json_pack("{s:s, s:i, s:i, s:s, s:b}", "subject", subject, "version",
                                  version, "id", id, "schema", schema, "deleted", deleted);
        char err[512];
        int r = hd_reg_write(st, key, value, err, sizeof(err));

        json_decref(key);
        json_decref(value);
        return r ? hd_reg_error(out, HD_REG_STORE_ERROR, "Store error: %s", err) : 0;
}

static int hd_reg_tombstone(hd_reg_store_t *st, const char *subject, int version, json_t **out)
{
        json_t *key = hd_reg_schema_key(subject, version);
        char err[512];
        int r = hd_reg_write(st, key, NULL, err, sizeof(err));

        json_decref(key);
        return r ? hd_reg_error(out, HD_REG_STORE_ERROR, "Store error: %s", err) : 0;
}

const char *hd_reg_schema_text(hd_reg_store_t *st, int id)
{
        char k[16];

        snprintf(k, sizeof(k), "%d", id);
        return json_string_value(json_object_get(json_object_get(st->ids, k), "schema"));
}

int hd_reg_check_schema(const char *schema, json_t **out)
{
        avro_schema_t s = NULL;

        if (avro_schema_from_json_length(schema, strlen(schema), &s))
                return hd_reg_error(out, HD_REG_INVALID_SCHEMA,
                                    "Either the input schema or one its references is "
                                    "invalid: %s", avro_strerror());
        avro_schema_decref(s);
        return 0;
}

/* --- operations --------------------------------------------------------------------- */

int hd_reg_register(hd_reg_store_t *st, const char *subject, const char *schema,
                    json_t **out)
{
        json_t *versions = json_object_get(st->subjects, subject), *e, *idj;
        const char *level = hd_reg_level(st, subject), *v;
        char *canon;
        int id, r;

        if ((r = hd_reg_check_schema(schema, out)))
                return r;
        canon = hd_reg_canonical(schema);
        idj = json_object_get(st->canon, canon);
        json_object_foreach(versions, v, e) {
                if (idj && !json_is_true(json_object_get(e, "deleted")) &&
                    json_integer_value(json_object_get(e, "id")) == json_integer_value(idj)) {
                        *out = json_pack("{s:I}", "id", json_integer_value(idj));
                        free(canon);
                        return 0;
                }
        }
        free(canon);
        if ((r = hd_reg_enforce(st, subject, level, schema, out)))
                return r;
        id = idj ? (int)json_integer_value(idj) : st->max_id + 1;
        r = hd_reg_write_schema(st, subject, hd_reg_max_version(versions, 0) + 1, id, schema,
                                0, out);
        if (!r)
                *out = json_pack("{s:i}", "id", id);
        return r;
}

int hd_reg_lookup(hd_reg_store_t *st, const char *subject, const char *schema,
                  int include_deleted, json_t **out)
{
        json_t *versions = json_object_get(st->subjects, subject), *e, *idj;
        const char *v;
        char *canon;

        if (!versions || (!include_deleted && !hd_reg_max_version(versions, 1)))
                return hd_reg_error(out, HD_REG_SUBJECT_NOT_FOUND, "Subject '%s' not found.",
                                    subject);
        canon = hd_reg_canonical(schema);
        idj = canon ? json_object_get(st->canon, canon) : NULL;
        free(canon);
        json_object_foreach(versions, v, e) {
                if (idj && json_integer_value(json_object_get(e, "id")) == json_integer_value(idj) &&
                    (include_deleted || !json_is_true(json_object_get(e, "deleted")))) {
                        *out = json_pack("{s:s, s:i, s:I, s:s}", "subject", subject, "version",
                                         atoi(v), "id", json_integer_value(idj), "schema",
                                         hd_reg_schema_text(st, (int)json_integer_value(idj)));
                        return 0;
                }
        }
        return hd_reg_error(out, HD_REG_SCHEMA_NOT_FOUND, "Schema not found");
}

int hd_reg_schema_by_id(hd_reg_store_t *st, int id, json_t **out)
{
        const char *text = hd_reg_schema_text(st, id);

        if (!text)
                return hd_reg_error(out, HD_REG_SCHEMA_NOT_FOUND, "Schema %d not found", id);
        *out = json_pack("{s:s}", "schema", text);
        return 0;
}

int hd_reg_id_versions(hd_reg_store_t *st, int id, json_t **out)
{
        const char *subject, *v;
        json_t *versions, *e;

        if (!hd_reg_schema_text(st, id))
                return hd_reg_error(out, HD_REG_SCHEMA_NOT_FOUND, "Schema %d not found", id);
        *out = json_array();
        json_object_foreach(st->subjects, subject, versions)
                json_object_foreach(versions, v, e)
                        if (json_integer_value(json_object_get(e, "id")) == id &&
                            !json_is_true(json_object_get(e, "deleted")))
                                json_array_append_new(*out, json_pack("{s:s, s:i}", "subject",
                                                                      subject, "version", atoi(v)));
        return 0;
}

int hd_reg_subjects(hd_reg_store_t *st, int include_deleted, json_t **out)
{
        const char *subject;
        json_t *versions;

        *out = json_array();
        json_object_foreach(st->subjects, subject, versions)
                if (include_deleted || hd_reg_max_version(versions, 1))
                        json_array_append_new(*out, json_string(subject));
        return 0;
}

int hd_reg_versions(hd_reg_store_t *st, const char *subject, int include_deleted,
                    json_t **out)
{
        json_t *versions = json_object_get(st->subjects, subject);

        if (!versions || (!include_deleted && !hd_reg_max_version(versions, 1)))
                return hd_reg_error(out, HD_REG_SUBJECT_NOT_FOUND, "Subject '%s' not found.",
                                    subject);
        *out = hd_reg_version_list(versions, include_deleted);
        return 0;
}

/*
 * The entry of subject/version, or an error. version -1 = the latest live version
 * (with allow_deleted and none live: the latest soft-deleted one).
 */
int hd_reg_find(hd_reg_store_t *st, const char *subject, int *version, int allow_deleted,
                json_t **entry, json_t **out)
{
        json_t *versions = json_object_get(st->subjects, subject);
        char vkey[16];

        if (!versions || (!allow_deleted && !hd_reg_max_version(versions, 1)))
                return hd_reg_error(out, HD_REG_SUBJECT_NOT_FOUND, "Subject '%s' not found.",
                                    subject);
        if (*version < 0)
                *version = hd_reg_max_version(versions, 1);
        if (*version == 0 && allow_deleted)
                *version = hd_reg_max_version(versions, 0);
        snprintf(vkey, sizeof(vkey), "%d", *version);
        *entry = json_object_get(versions, vkey);
        if (!*entry || (!allow_deleted && json_is_true(json_object_get(*entry, "deleted"))))
                return hd_reg_error(out, HD_REG_VERSION_NOT_FOUND, "Version %d not found.",
                                    *version);
        return 0;
}

int hd_reg_version(hd_reg_store_t *st, const char *subject, int version,
                   int include_deleted, json_t **out)
{
        json_t *e;
        int r = hd_reg_find(st, subject, &version, include_deleted, &e, out), id;

        if (r)
                return r;
        id = (int)json_integer_value(json_object_get(e, "id"));
        *out = json_pack("{s:s, s:i, s:i, s:s}", "subject", subject, "version", version, "id",
                         id, "schema", hd_reg_schema_text(st, id));
        return 0;
}

int hd_reg_delete_version(hd_reg_store_t *st, const char *subject, int version,
                          int permanent, json_t **out)
{
        json_t *e;
        int r = hd_reg_find(st, subject, &version, 1, &e, out), deleted, id;

        if (r)
                return r;
        deleted = json_is_true(json_object_get(e, "deleted"));
        id = (int)json_integer_value(json_object_get(e, "id"));
        if (!permanent && deleted)
                return hd_reg_error(out, HD_REG_VERSION_SOFT_DELETED,
                                    "Subject '%s' Version %d was soft deleted.Set "
                                    "permanent=true to delete permanently",
                                    subject, version);
        if (permanent && !deleted)
                return hd_reg_error(out, HD_REG_VERSION_NOT_SOFT_DEL,
                                    "Subject '%s' Version %d was not deleted first before "
                                    "being permanently deleted",
                                    subject, version);
        r = permanent ? hd_reg_tombstone(st, subject, version, out)
                      : hd_reg_write_schema(st, subject, version, id,
                                            hd_reg_schema_text(st, id), 1, out);
        if (!r)
                *out = json_integer(version);
        return r;
}

int hd_reg_delete_subject(hd_reg_store_t *st, const char *subject, int permanent,
                          json_t **out)
{
        json_t *versions = json_object_get(st->subjects, subject), *list;
        size_t i;
        int r = 0;

        if (!versions)
                return hd_reg_error(out, HD_REG_SUBJECT_NOT_FOUND, "Subject '%s' not found.",
                                    subject);
        if (!permanent && !hd_reg_max_version(versions, 1))
                return hd_reg_error(out, HD_REG_SUBJECT_SOFT_DELETED,
                                    "Subject '%s' was soft deleted.Set permanent=true to "
                                    "delete permanently",
                                    subject);
        if (permanent && hd_reg_max_version(versions, 1))
                return hd_reg_error(out, HD_REG_SUBJECT_NOT_SOFT_DEL,
                                    "Subject '%s' was not deleted first before being "
                                    "permanently deleted",
                                    subject);
        list = hd_reg_version_list(versions, permanent);
        for (i = 0; i < json_array_size(list) && !r; i++) {
                int v = (int)json_integer_value(json_array_get(list, i));
                json_t *ignored = NULL;
                r = hd_reg_delete_version(st, subject, v, permanent, &ignored);
                if (r)
                        *out = ignored;
                else
                        json_decref(ignored);
        }
        if (r) {
                json_decref(list);
                return r;
        }
        *out = list;
        return 0;
}

static const char *const hd_reg_levels[] = {"NONE", "BACKWARD", "BACKWARD_TRANSITIVE",
                                            "FORWARD", "FORWARD_TRANSITIVE", "FULL",
                                            "FULL_TRANSITIVE"};

int hd_reg_get_config(hd_reg_store_t *st, const char *subject, int default_to_global,
                      json_t **out)
{
        const char *l = subject ? json_string_value(json_object_get(st->config, subject)) : NULL;

        if (subject && !l && !default_to_global)
                return hd_reg_error(out, HD_REG_SUBJECT_NO_CONFIG,
                                    "Subject '%s' does not have subject-level compatibility "
                                    "configured",
                                    subject);
        *out = json_pack("{s:s}", "compatibilityLevel", l ? l : hd_reg_level(st, NULL));
        return 0;
}

int hd_reg_set_config(hd_reg_store_t *st, const char *subject, const char *level,
                      json_t **out)
{
        json_t *key, *value;
        char err[512];
        size_t i;
        int r;

        /* Confluent accepts levels in any case and stores them upper-case. */
        for (i = 0; i < HD_ARRAY_SIZE(hd_reg_levels) && strcasecmp(level, hd_reg_levels[i]); i++)
                ;
        if (i == HD_ARRAY_SIZE(hd_reg_levels))
                return hd_reg_error(out, HD_REG_INVALID_COMPAT,
                                    "Invalid compatibility level. Valid values are none, "
                                    "backward, forward, full, backward_transitive, "
                                    "forward_transitive, and full_transitive");
        level = hd_reg_levels[i];
        /* Confluent's key and value shapes: the global key has no subject. */
        if (subject) {
                key = json_pack("{s:s, s:s, s:i}", "keytype", "CONFIG", "subject", subject,
                                "magic", 0);
                value = json_pack("{s:s, s:s}", "subject", subject, "compatibilityLevel", level);
        } else {
                key = json_pack("{s:s, s:i}", "keytype", "CONFIG", "magic", 0);
                value = json_pack("{s:s}", "compatibilityLevel", level);
        }
        r = hd_reg_write(st, key, value, err, sizeof(err));
        json_decref(key);
        json_decref(value);
        if (r)
                return hd_reg_error(out, HD_REG_STORE_ERROR, "Store error: %s", err);
        *out = json_pack("{s:s}", "compatibility", level);
        return 0;
}

int hd_reg_delete_config(hd_reg_store_t *st, const char *subject, json_t **out)
{
        const char *l = json_string_value(json_object_get(st->config, subject));
        json_t *key;
        char err[512], prev[32];
        int r;

        if (!l)
                return hd_reg_error(out, HD_REG_SUBJECT_NO_CONFIG,
                                    "Subject '%s' does not have subject-level compatibility "
                                    "configured",
                                    subject);
        hd_strlcpy(prev, l, sizeof(prev));
        key = json_pack("{s:s, s:s, s:i}", "keytype", "CONFIG", "subject", subject, "magic", 0);
        r = hd_reg_write(st, key, NULL, err, sizeof(err));
        json_decref(key);
        if (r)
                return hd_reg_error(out, HD_REG_STORE_ERROR, "Store error: %s", err);
        *out = json_pack("{s:s}", "compatibilityLevel", prev);
        return 0;
}

void hd_reg_state_reset(hd_reg_store_t *st)
{
        json_object_clear(st->ids);
        json_object_clear(st->canon);
        json_object_clear(st->subjects);
        json_object_clear(st->config);
        st->max_id = 0;
}

int hd_reg_store_sync(hd_reg_store_t *st, json_t **out)
{
        char err[HD_ERRSTR_SIZE];

        if (!st->stale)
                return 0;
        hd_warn("registry", "a write may or may not have reached Kafka: re-reading the topic");
        hd_reg_state_reset(st);
        if (hd_reg_replay(st, err, sizeof(err)))
                return hd_reg_error(out, HD_REG_STORE_ERROR, "Store error: %s", err);
        st->stale = 0;
        return 0;
}

hd_reg_store_t *hd_reg_store_open(const hd_config_t *cfg, const char *bootstrap,
                                  const char *topic, char *errstr, size_t errstr_size)
{
        hd_reg_store_t *st = hd_calloc(1, sizeof(*st));
        hd_compat_level_t lvl;
        hd_config_t kcfg;

        pthread_mutex_init(&st->lock, NULL);
        st->topic = hd_strdup(topic);
        /* The config check accepts any case; answers use Confluent's upper case. */
        st->default_level = hd_strdup(
                hd_compat_level_parse(cfg->registry_server.default_compatibility, &lvl)
                        ? "BACKWARD"
                        : hd_compat_level_name(lvl));
        st->ids = json_object();
        st->canon = json_object();
        st->subjects = json_object();
        st->config = json_object();
        /* The passthrough with our bootstrap (--bootstrap wins over file and env). */
        kcfg = *cfg;
        kcfg.bootstrap = (char *)bootstrap;
        if (!(st->conf = hd_kafka_conf_new(&kcfg, errstr, errstr_size)) ||
            hd_reg_producer_open(st, errstr, errstr_size) ||
            hd_reg_topic_ensure(st, errstr, errstr_size) ||
            hd_reg_replay(st, errstr, errstr_size)) {
                hd_reg_store_close(st);
                return NULL;
        }
        return st;
}

void hd_reg_store_close(hd_reg_store_t *st)
{
        if (!st)
                return;
        if (st->producer) {
                rd_kafka_flush(st->producer, 5000);
                rd_kafka_destroy(st->producer);
        }
        if (st->conf)
                rd_kafka_conf_destroy(st->conf);
        json_decref(st->ids);
        json_decref(st->canon);
        json_decref(st->subjects);
        json_decref(st->config);
        free(st->topic);
        free(st->default_level);
        pthread_mutex_destroy(&st->lock);
        free(st);
}

void hd_reg_store_lock(hd_reg_store_t *st)
{
        pthread_mutex_lock(&st->lock);
}

void hd_reg_store_unlock(hd_reg_store_t *st)
{
        pthread_mutex_unlock(&st->lock);
}
