/* hd_avro_json: see hd_avro_json.h. */
#include "hd_avro_json.h"
#include "hd_path.h"
#include "hd_util.h"

#include <stdio.h>
#include <string.h>

static json_t *hd_to_json_compound(avro_value_t *v, avro_type_t t, char *errstr,
                                   size_t errstr_size)
{
        json_t *out = t == AVRO_RECORD || t == AVRO_MAP ? json_object() : json_array();
        size_t n = 0;

        avro_value_get_size(v, &n);
        for (size_t i = 0; i < n; i++) {
                avro_value_t child;
                const char *name = NULL;
                json_t *j;
                avro_value_get_by_index(v, i, &child, &name);
                if (!(j = hd_avro_to_json(&child, errstr, errstr_size))) {
                        if (name)
                                hd_preperr(errstr, errstr_size, "%s", name);
                        json_decref(out);
                        return NULL;
                }
                if (t == AVRO_ARRAY)
                        json_array_append_new(out, j);
                else if (t == AVRO_RECORD) /* names come from the schema: valid UTF-8 */
                        json_object_set_new_nocheck(out, name, j);
                else
                        json_object_set_new(out, name, j);
        }
        return out;
}

json_t *hd_avro_to_json(avro_value_t *v, char *errstr, size_t errstr_size)
{
        avro_type_t t = avro_value_get_type(v);
        const char *str = "";
        const void *bytes = "";
        size_t size = 0;
        int32_t i32 = 0;
        int64_t i64 = 0;
        double d = 0;
        float f = 0;
        int b = 0;
        avro_value_t branch;
        json_t *j;

        switch (t) {
        case AVRO_STRING:
                avro_value_get_string(v, &str, &size);
                if (!(j = json_stringn(str, size ? size - 1 : 0)))
                        hd_seterr(errstr, errstr_size, "string is not valid UTF-8");
                return j;
        case AVRO_BYTES:
        case AVRO_FIXED:
                if (t == AVRO_BYTES)
                        avro_value_get_bytes(v, &bytes, &size);
                else
                        avro_value_get_fixed(v, &bytes, &size);
                if (!(j = json_stringn(bytes, size)))
                        hd_seterr(errstr, errstr_size, "bytes are not valid UTF-8");
                return j;
        case AVRO_INT32: avro_value_get_int(v, &i32); return json_integer(i32);
        case AVRO_INT64: avro_value_get_long(v, &i64); return json_integer(i64);
        case AVRO_FLOAT: avro_value_get_float(v, &f); return json_real(f);
        case AVRO_DOUBLE: avro_value_get_double(v, &d); return json_real(d);
        case AVRO_BOOLEAN: avro_value_get_boolean(v, &b); return json_boolean(b);
        case AVRO_NULL: return json_null();
        case AVRO_ENUM:
                avro_value_get_enum(v, &i32);
                return json_string(avro_schema_enum_get(avro_value_get_schema(v), i32));
        case AVRO_UNION:
                avro_value_get_current_branch(v, &branch);
                return hd_avro_to_json(&branch, errstr, errstr_size);
        case AVRO_RECORD:
        case AVRO_MAP:
        case AVRO_ARRAY:
                return hd_to_json_compound(v, t, errstr, errstr_size);
        default:
                hd_seterr(errstr, errstr_size, "unsupported Avro type %d", (int)t);
                return NULL;
        }
}

/* --- JSON -> Avro ------------------------------------------------------------------ */

typedef struct hd_j2a {
        const char *data_record; /* the catalogue record for the event's type */
        char *errstr;
        size_t errstr_size;
} hd_j2a_t;

static int hd_j2a(hd_j2a_t *C, const json_t *j, avro_value_t *v, const hd_path_t *path);

static int hd_j2a_mismatch(hd_j2a_t *C, const hd_path_t *path, const char *want)
{
        char buf[512];
        return hd_seterr(C->errstr, C->errstr_size, "%s: expected %s",
                         hd_path_format(path, buf, sizeof(buf)), want);
}

/* Compares a schema's namespace + name with "ns.Name" without formatting. */
static int hd_schema_is(avro_schema_t s, const char *full)
{
        const char *ns = avro_schema_namespace(s), *n = avro_schema_name(s);
        const char *dot = strrchr(full, '.');
        size_t nslen = dot ? (size_t)(dot - full) : 0;

        if (!n || strcmp(n, dot ? dot + 1 : full))
                return 0;
        return ns ? strlen(ns) == nslen && !strncmp(ns, full, nslen) : nslen == 0;
}

static int hd_union_records(avro_schema_t us)
{
        int n = 0;

        for (size_t i = 0; i < avro_schema_union_size(us); i++)
                n += avro_typeof(avro_schema_union_branch(us, (int)i)) == AVRO_RECORD;
        return n;
}

/*
 * Picks the union branch for j: null for null; a record branch when it is the
 * event's catalogue record or the union's only record; else the first non-null
 * non-record branch (the value's own type check then decides).
 */
static int hd_j2a_union(hd_j2a_t *C, const json_t *j, avro_value_t *v, const hd_path_t *path)
{
        avro_schema_t us = avro_value_get_schema(v);
        int records = hd_union_records(us), pick = -1;
        avro_value_t branch;

        for (size_t i = 0; i < avro_schema_union_size(us) && pick < 0; i++) {
                avro_schema_t bs = avro_schema_union_branch(us, (int)i);
                avro_type_t bt = avro_typeof(bs);
                if (json_is_null(j) || bt == AVRO_NULL) {
                        if (json_is_null(j) && bt == AVRO_NULL)
                                pick = (int)i;
                } else if (bt == AVRO_RECORD) {
                        if (records == 1 ||
                            (C->data_record && hd_schema_is(bs, C->data_record)))
                                pick = (int)i;
                } else {
                        pick = (int)i;
                }
        }
        if (pick < 0)
                return hd_j2a_mismatch(C, path, json_is_null(j) ? "a value, not null"
                                                                : "a type this schema's union has");
        avro_value_set_branch(v, pick, &branch);
        return hd_j2a(C, j, &branch, path);
}

static int hd_j2a_record(hd_j2a_t *C, const json_t *j, avro_value_t *v, const hd_path_t *path)
{
        size_t n = 0;

        if (!json_is_object(j))
                return hd_j2a_mismatch(C, path, "an object");
        avro_value_get_size(v, &n);
        for (size_t i = 0; i < n; i++) {
                avro_value_t child;
                const char *name = NULL;
                const json_t *jc;
                hd_path_t sub;
                avro_value_get_by_index(v, i, &child, &name);
                sub = (hd_path_t){name, path};
                jc = json_object_get(j, name);
                if (hd_j2a(C, jc ? jc : json_null(), &child, &sub))
                        return -1;
        }
        return 0;
}

static int hd_j2a(hd_j2a_t *C, const json_t *j, avro_value_t *v, const hd_path_t *path)
{
        char pbuf[512];
        avro_schema_t s = avro_value_get_schema(v);
        int idx;

        switch (avro_value_get_type(v)) {
        case AVRO_RECORD: return hd_j2a_record(C, j, v, path);
        case AVRO_UNION: return hd_j2a_union(C, j, v, path);
        case AVRO_NULL:
                return json_is_null(j) ? avro_value_set_null(v) : hd_j2a_mismatch(C, path, "null");
        case AVRO_STRING:
                if (!json_is_string(j))
                        return hd_j2a_mismatch(C, path, "a string");
                return avro_value_set_string_len(v, json_string_value(j),
                                                 json_string_length(j) + 1);
        case AVRO_INT32:
                if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
                    json_integer_value(j) > INT32_MAX)
                        return hd_j2a_mismatch(C, path, "a 32-bit integer");
                return avro_value_set_int(v, (int32_t)json_integer_value(j));
        case AVRO_INT64:
                if (!json_is_integer(j))
                        return hd_j2a_mismatch(C, path, "an integer");
                return avro_value_set_long(v, json_integer_value(j));
        case AVRO_BOOLEAN:
                if (!json_is_boolean(j))
                        return hd_j2a_mismatch(C, path, "true or false");
                return avro_value_set_boolean(v, json_is_true(j));
        case AVRO_DOUBLE:
        case AVRO_FLOAT:
                if (!json_is_number(j))
                        return hd_j2a_mismatch(C, path, "a number");
                return avro_value_get_type(v) == AVRO_DOUBLE
                               ? avro_value_set_double(v, json_number_value(j))
                               : avro_value_set_float(v, (float)json_number_value(j));
        case AVRO_ENUM:
                if (!json_is_string(j) ||
                    (idx = avro_schema_enum_get_by_name(s, json_string_value(j))) < 0)
                        return hd_j2a_mismatch(C, path, "one of the enum's symbols");
                return avro_value_set_enum(v, idx);
        default:
                return hd_seterr(C->errstr, C->errstr_size, "%s: unsupported Avro type",
                                 hd_path_format(path, pbuf, sizeof(pbuf)));
        }
}

int hd_json_to_avro(const json_t *event, const char *data_record, avro_value_t *value,
                    char *errstr, size_t errstr_size)
{
        hd_j2a_t C = {data_record, errstr, errstr_size};

        return hd_j2a(&C, event, value, NULL) ? -1 : 0;
}
