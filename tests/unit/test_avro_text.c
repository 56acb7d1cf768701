/*
 * The JSON-text fast path (hd_avro_text.h, hd_event_envelope_text,
 * hd_serde_encode_text) against the tree path: every catalogue type's sample
 * event, in the schema's key order and in another, with and without its
 * envelope, takes the fast path and gives the tree path's bytes; every invalid
 * input and every unusual one is declined (the tree path then words the error, so
 * messages cannot change); a small writer limit makes it decline too.
 */
#include "hd_avro_text.h"
#include "hd_catalogue.h"
#include "hd_serde.h"
#include "hd_test.h"
#include "hd_textdiff.h"
#include "hd_util.h"

#include <stdlib.h>
#include <string.h>

/* Writer schemas 2, 3, 4: the catalogue with a field added at the top (nullable),
 * in InvoicePosted (nullable), and at the top without a null (required). */
static char *hd_evolved[5];

static char *hd_evolve(const char *record, const char *type2)
{
        json_t *schema = json_loads(hd_catalogue_schema_json(), 0, NULL), *f, *rec, *fields;
        json_t *add = type2 ? json_pack("{s:s, s:[s,s], s:n}", "name", "region", "type", "null",
                                        type2, "default")
                            : json_pack("{s:s, s:s, s:s}", "name", "region", "type", "string",
                                        "default", "eu");
        size_t i, k;
        char *out;

        fields = json_object_get(schema, "fields");
        json_array_foreach(json_object_get(schema, "fields"), i, f) {
                if (!record || strcmp(json_string_value(json_object_get(f, "name")), "data"))
                        continue;
                json_array_foreach(json_object_get(f, "type"), k, rec)
                        if (!strcmp(json_string_value(json_object_get(rec, "name")), record))
                                fields = json_object_get(rec, "fields");
        }
        json_array_append_new(fields, add);
        out = json_dumps(schema, JSON_COMPACT);
        json_decref(schema);
        return out;
}

static int fetch(void *opaque, int32_t id, char **json, char *errstr, size_t errstr_size)
{
        (void)opaque, (void)errstr, (void)errstr_size;
        if (id < 1 || id > 4)
                return HD_SERDE_E_UNKNOWN_ID;
        *json = hd_strdup(id == 1 ? hd_catalogue_schema_json() : hd_evolved[id]);
        return 0;
}

/* text must take the fast path and give the tree path's bytes. */
static void hd_fast(hd_serde_t *s, const char *text)
{
        hd_textdiff_t d;

        HD_CHECK_MSG(!hd_textdiff(s, text, &d), "fast and tree paths differ: %s", text);
        HD_CHECK_MSG(d.tree_rc == 0, "tree path refused %s: %s", text, d.tree_err);
        HD_CHECK_MSG(d.fast_ok && d.same, "fast path declined %s", text);
}

/* text must be declined by the fast path; tree_ok: what the tree path says. */
static void hd_declined(hd_serde_t *s, const char *text, int tree_ok)
{
        hd_textdiff_t d;

        HD_CHECK_MSG(!hd_textdiff(s, text, &d), "fast and tree paths differ: %s", text);
        HD_CHECK_MSG(!d.fast_ok, "fast path took %s", text);
        HD_CHECK_MSG((d.tree_rc == 0) == tree_ok, "tree path on %s: %d %s", text, d.tree_rc,
                     d.tree_err);
}

static void test_every_type(hd_serde_t *s)
{
        for (size_t i = 0; i < hd_catalogue_count(); i++) {
                const hd_event_type_t *t = hd_catalogue_get(i);
                json_t *ev = hd_catalogue_sample(t);
                char *text;

                json_object_del(ev, "id"); /* the defaults fill them */
                json_object_del(ev, "occurred_at");
                text = json_dumps(ev, JSON_COMPACT);
                hd_fast(s, text);
                free(text);
                text = json_dumps(ev, JSON_SORT_KEYS | JSON_INDENT(2)); /* another order */
                hd_fast(s, text);
                free(text);
                json_object_set_new(ev, "id", json_string("evt-1"));
                json_object_set_new(ev, "occurred_at", json_integer(0));
                json_object_set_new(ev, "source", json_string("crm"));
                json_object_set_new(ev, "action", json_string("DELETE"));
                json_object_set_new(ev, "entity", json_string("thing"));
                text = json_dumps(ev, JSON_COMPACT);
                hd_fast(s, text);
                free(text);
                json_decref(ev);
        }
}

#define ACC "\"type\":\"account.created\",\"account_id\":\"A-1\""
#define DATA "\"data\":{\"account\":{\"name\":\"N\",\"number\":\"1\",\"status\":\"active\"," \
             "\"billing_email\":\"a@b.example\",\"currency\":\"EUR\"}}"

static void test_shapes(hd_serde_t *s)
{
        hd_fast(s, "{" ACC "," DATA "}");
        hd_fast(s, " \t{" ACC " , " DATA "}\r\n");
        hd_fast(s, "{" DATA "," ACC "}");
        hd_fast(s, "{\"type\":\"account.created\",\"account_id\":\"Zo\xc3\xab \xe2\x9c\x93\","
                   "\"data\":{\"account\":{\"name\":\"\xf0\x9f\x98\x80\",\"number\":null}}}");
        /* Unusual but valid: the tree path's (the fast path declines). */
        hd_declined(s, "{" ACC ",\"data\":{\"account\":{\"name\":\"a\\\"b\"}}}", 1);
        hd_declined(s, "{" ACC ",\"data\":{\"account\":{\"name\":\"\\u00e9\"}}}", 1);
        hd_declined(s, "{\"ty\\u0070e\":\"account.created\",\"account_id\":\"A\"," DATA "}", 1);
        hd_declined(s, "{" ACC ",\"data\":{\"account\":{\"name\":1e3}}}", 0);
}

static void test_invalid(hd_serde_t *s)
{
        static const char *const bad[] = {
                "", "[]", "{", "{}", "nul", "{" ACC "," DATA "} x", "{" ACC "," DATA "}}",
                "{\"type\":\"nope\"," DATA "}", "{\"type\":5," DATA "}",
                "{" ACC "}", "{" ACC ",\"data\":null}", "{" ACC ",\"data\":5}",
                "{" ACC "," DATA ",\"extra\":1}", "{" ACC "," DATA ",\"type\":\"account.created\"}",
                "{\"type\":\"account.created\"," DATA "}",
                "{\"type\":\"account.created\",\"account_id\":null," DATA "}",
                "{\"type\":\"account.created\",\"account_id\":\"\"," DATA "}",
                "{\"type\":\"account.created\",\"account_id\":7," DATA "}",
                "{" ACC ",\"id\":\"\"," DATA "}", "{" ACC ",\"id\":null," DATA "}",
                "{" ACC ",\"action\":\"MERGE\"," DATA "}", "{" ACC ",\"action\":1," DATA "}",
                "{" ACC ",\"occurred_at\":-1," DATA "}", "{" ACC ",\"occurred_at\":1.5," DATA "}",
                "{" ACC ",\"occurred_at\":\"now\"," DATA "}",
                "{" ACC ",\"occurred_at\":99999999999999999999," DATA "}",
                "{" ACC ",\"occurred_at\":012," DATA "}", "{" ACC ",\"source\":true," DATA "}",
                "{" ACC ",\"data\":{\"account\":{\"name\":5}}}",
                "{" ACC ",\"data\":{\"account\":{\"name\":null}}}",
                "{" ACC ",\"data\":{\"account\":{}}}", "{" ACC ",\"data\":{}}",
                "{" ACC ",\"data\":{\"account\":{\"name\":\"N\",\"nosuch\":1}}}",
                "{" ACC ",\"data\":{\"account\":{\"name\":\"N\",\"name\":\"M\"}}}",
                "{" ACC ",\"data\":{\"account\":{\"name\":\"\xff\"}}}",
                "{" ACC ",\"data\":{\"account\":{\"name\":\"\xc0\xaf\"}}}",
                "{" ACC ",\"data\":{\"account\":{\"name\":\"\xed\xa0\x80\"}}}",
                "{" ACC ",\"data\":{\"account\":{\"name\":\"a\tb\"}}}",
                "{" ACC ",\"data\":{\"account\":{\"name\":tru}}}",
                "{" ACC ",\"data\":{\"account\":{\"name\":truex}}}",
                "{" ACC ",\"data\":{\"account\":{\"name\":\"N\",}}}",
                "{" ACC ",\"data\":{\"account\":[\"N\"]}}",
                "{\"type\":\"bill_run.started\",\"account_id\":\"A-1\",\"data\":{}}",
        };

        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++)
                hd_declined(s, bad[i], 0);
}

/* A writer schema registered since (evolved): both paths write what it says. */
static void test_evolved(hd_serde_t *s)
{
        const hd_event_type_t *t = hd_catalogue_find("invoice.posted");
        hd_textdiff_t d;
        char *text;
        json_t *ev;

        HD_CHECK(t != NULL);
        if (!t)
                return;
        ev = hd_catalogue_sample(t);
        text = json_dumps(ev, JSON_COMPACT);
        for (int32_t id = 2; id <= 4; id++) {
                HD_CHECK_MSG(!hd_textdiff_id(s, id, text, &d), "schema %d: paths differ", id);
                HD_CHECK_MSG((d.tree_rc == 0) == (id != 4), "schema %d: %s", id, d.tree_err);
                HD_CHECK_MSG(d.fast_ok == (id != 4), "schema %d: fast path %d", id, d.fast_ok);
        }
        free(text);
        json_decref(ev);
}

/* Too large for the writer limit: declined (the tree path says "too large"). */
static void test_too_large(void)
{
        hd_serde_t *small = hd_serde_new(40, fetch, NULL);
        hd_textdiff_t d;

        HD_CHECK(!hd_textdiff(small, "{" ACC "," DATA "}", &d));
        HD_CHECK_INT_EQ(d.tree_rc, HD_SERDE_E_TOO_LARGE);
        HD_CHECK(!d.fast_ok);
        hd_serde_destroy(small);
}

/* The data-record hint only shortens the search for the union branch: a map
 * before the hinted record still takes the object (the first branch that takes it
 * wins, as on the tree path), and a wrong or out-of-range hint is ignored. */
static void test_union_hint(void)
{
#define HD_REC(n) "{\"type\":\"record\",\"name\":\"ns." n "\",\"fields\":[{\"name\":\"k\",\"type\":\"string\"}]}"
        static const char *schemas[] = {
                "[{\"type\":\"map\",\"values\":\"string\"}," HD_REC("A") "," HD_REC("B") "]",
                "[" HD_REC("A") "," HD_REC("B") "]",
        };
#undef HD_REC
        const int want[] = {0, 1}; /* the branch "ns.B" data goes to */
        const size_t hints[] = {0, 1, 2, 99};
        hd_jtoks_t T = {0};

        HD_CHECK(!hd_jtoks_parse(&T, "{\"k\":\"v\"}"));
        for (size_t i = 0; i < 2; i++) {
                json_t *j = json_loads(schemas[i], 0, NULL);
                const hd_anode_t *root = NULL;
                char err[256] = "";
                hd_anodes_t *a = hd_anodes_compile(j, &root, err, sizeof(err));
                HD_CHECK_MSG(a != NULL, "%s", err);
                for (size_t h = 0; a && h < 4; h++) {
                        unsigned char out[32];
                        size_t len = 0;
                        HD_CHECK(!hd_avro_encode_text(root, &T, 0, NULL, 0, "ns.B", hints[h], out,
                                                      sizeof(out), &len));
                        HD_CHECK_MSG(len > 0 && out[0] == 2 * want[i],
                                     "schema %zu, hint %zu: branch byte %d", i, hints[h],
                                     len ? out[0] : -1);
                }
                hd_anodes_free(a);
                json_decref(j);
        }
        hd_jtoks_free(&T);
}

int main(void)
{
        hd_serde_t *s;

        hd_evolved[2] = hd_evolve(NULL, "string");
        hd_evolved[3] = hd_evolve("InvoicePosted", "string");
        hd_evolved[4] = hd_evolve(NULL, NULL);
        s = hd_serde_new(1024 * 1024, fetch, NULL);
        hd_jtoks_t T = {0};
        hd_env_text_t env;
        hd_env_defaults_t d = {"x", "billing", NULL, NULL, 0};
        const void *frame;
        size_t len;

        /* Only schemas already loaded (by the tree path, with its errors) are used. */
        HD_CHECK(!hd_jtoks_parse(&T, "{" ACC "," DATA "}") && !hd_event_envelope_text(&T, &d, &env));
        HD_CHECK(hd_serde_encode_text(s, 1, &T, &env, &frame, &len) == -1);
        hd_jtoks_free(&T);
        test_union_hint();
        test_every_type(s);
        test_shapes(s);
        test_invalid(s);
        test_too_large();
        test_evolved(s);
        hd_serde_destroy(s);
        for (int i = 0; i < 5; i++)
                free(hd_evolved[i]);
        hd_catalogue_cleanup();
        return hd_test_finish("test_avro_text");
}
