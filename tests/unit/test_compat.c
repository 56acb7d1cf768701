/*
 * hd_compat: a table of reader/writer pairs (each rule, with the message and the
 * path it must name), every level over version lists, herald's own catalogue
 * evolutions, and hostile input (errors, never crashes).
 */
#include "hd_catalogue.h"
#include "hd_compat.h"
#include "hd_test.h"
#include "hd_util.h"

#include <stdlib.h>

#define REC(name, fields) "{\"type\":\"record\",\"name\":\"" name "\",\"fields\":[" fields "]}"
#define F(name, type)     "{\"name\":\"" name "\",\"type\":" type "}"
#define FD(name, type, d) "{\"name\":\"" name "\",\"type\":" type ",\"default\":" d "}"
#define ENUM(name, syms)  "{\"type\":\"enum\",\"name\":\"" name "\",\"symbols\":[" syms "]}"

typedef struct {
        const char *what, *reader, *writer;
        int want;            /* HD_COMPAT_OK / _INCOMPATIBLE / _ERROR */
        const char *message; /* substring of the messages (or error) */
} pair_t;

static const pair_t pairs[] = {
        {"same int", "\"int\"", "\"int\"", HD_COMPAT_OK, ""},
        {"int -> long", "\"long\"", "\"int\"", HD_COMPAT_OK, ""},
        {"int -> float", "\"float\"", "\"int\"", HD_COMPAT_OK, ""},
        {"long -> double", "\"double\"", "\"long\"", HD_COMPAT_OK, ""},
        {"float -> double", "\"double\"", "\"float\"", HD_COMPAT_OK, ""},
        {"string -> bytes", "\"bytes\"", "\"string\"", HD_COMPAT_OK, ""},
        {"bytes -> string", "\"string\"", "\"bytes\"", HD_COMPAT_OK, ""},
        {"long -> int refused", "\"int\"", "\"long\"", HD_COMPAT_INCOMPATIBLE,
         "/: reader type \"int\" cannot read writer type \"long\""},
        {"double -> float refused", "\"float\"", "\"double\"", HD_COMPAT_INCOMPATIBLE,
         "reader type \"float\" cannot read writer type \"double\""},
        {"field type narrowed", REC("R", F("a", "\"int\"") "," F("b", "\"int\"")),
         REC("R", F("a", "\"int\"") "," F("b", "\"long\"")), HD_COMPAT_INCOMPATIBLE,
         "b (/fields/1/type): reader type \"int\" cannot read writer type \"long\""},
        {"field added with default", REC("R", F("a", "\"int\"") "," FD("b", "\"string\"", "\"x\"")),
         REC("R", F("a", "\"int\"")), HD_COMPAT_OK, ""},
        {"field added with null default", REC("R", FD("b", "[\"null\",\"string\"]", "null")),
         REC("R", ""), HD_COMPAT_OK, ""},
        {"field added without default", REC("R", F("a", "\"int\"") "," F("b", "\"string\"")),
         REC("R", F("a", "\"int\"")), HD_COMPAT_INCOMPATIBLE,
         "b (/fields/1): reader field \"b\" has no default and the writer lacks it"},
        {"field removed", REC("R", F("a", "\"int\"")),
         REC("R", F("a", "\"int\"") "," F("b", "\"string\"")), HD_COMPAT_OK, ""},
        {"field alias", REC("R", "{\"name\":\"b\",\"type\":\"int\",\"aliases\":[\"a\"]}"),
         REC("R", F("a", "\"int\"")), HD_COMPAT_OK, ""},
        {"record renamed", REC("S", ""), REC("R", ""), HD_COMPAT_INCOMPATIBLE,
         "/name: reader name \"S\" does not match writer name \"R\""},
        {"record alias", "{\"type\":\"record\",\"name\":\"S\",\"namespace\":\"n\","
                         "\"aliases\":[\"R\"],\"fields\":[]}",
         "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"n\",\"fields\":[]}", HD_COMPAT_OK,
         ""},
        {"namespace ignored in names", "{\"type\":\"record\",\"name\":\"a.R\",\"fields\":[]}",
         "{\"type\":\"record\",\"name\":\"b.R\",\"fields\":[]}", HD_COMPAT_OK, ""},
        {"enum symbol added", ENUM("E", "\"A\",\"B\",\"C\""), ENUM("E", "\"A\",\"B\""),
         HD_COMPAT_OK, ""},
        {"enum symbol removed", ENUM("E", "\"A\""), ENUM("E", "\"A\",\"B\",\"C\""),
         HD_COMPAT_INCOMPATIBLE, "/symbols: reader enum \"E\" lacks writer symbols (and has no "
                                 "default): B, C"},
        {"enum symbol removed, enum default",
         "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"U\"],\"default\":\"U\"}",
         ENUM("E", "\"A\",\"B\""), HD_COMPAT_OK, ""},
        {"fixed size", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}",
         "{\"type\":\"fixed\",\"name\":\"F\",\"size\":8}", HD_COMPAT_INCOMPATIBLE,
         "/size: fixed \"F\": reader size 4, writer size 8"},
        {"fixed name", "{\"type\":\"fixed\",\"name\":\"G\",\"size\":4}",
         "{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}", HD_COMPAT_INCOMPATIBLE, "/name"},
        {"array items promoted", "{\"type\":\"array\",\"items\":\"long\"}",
         "{\"type\":\"array\",\"items\":\"int\"}", HD_COMPAT_OK, ""},
        {"array items narrowed", "{\"type\":\"array\",\"items\":\"int\"}",
         "{\"type\":\"array\",\"items\":\"long\"}", HD_COMPAT_INCOMPATIBLE,
         "[] (/items): reader type \"int\""},
        {"map values narrowed", "{\"type\":\"map\",\"values\":\"int\"}",
         "{\"type\":\"map\",\"values\":\"long\"}", HD_COMPAT_INCOMPATIBLE, "{} (/values)"},
        {"map vs array", "{\"type\":\"map\",\"values\":\"int\"}",
         "{\"type\":\"array\",\"items\":\"int\"}", HD_COMPAT_INCOMPATIBLE,
         "reader type \"map\" cannot read writer type \"array\""},
        {"writer union, all readable", "\"double\"", "[\"int\",\"float\"]", HD_COMPAT_OK, ""},
        {"writer union, one unreadable", "\"long\"", "[\"int\",\"string\"]",
         HD_COMPAT_INCOMPATIBLE, "reader type \"long\" cannot read writer type \"string\""},
        {"reader union contains writer", "[\"null\",\"string\"]", "\"string\"", HD_COMPAT_OK,
         ""},
        {"reader union promotes writer", "[\"null\",\"long\"]", "\"int\"", HD_COMPAT_OK, ""},
        {"reader union lacks writer", "[\"null\",\"string\"]", "\"int\"",
         HD_COMPAT_INCOMPATIBLE, "reader union lacks writer type \"int\""},
        {"union branch removed", "[\"null\",\"string\"]", "[\"null\",\"string\",\"int\"]",
         HD_COMPAT_INCOMPATIBLE, "/2: reader union lacks writer type \"int\""},
        {"union reordered", "[\"string\",\"null\"]", "[\"null\",\"string\"]", HD_COMPAT_OK,
         ""},
        {"union record branch explained",
         "[\"null\"," REC("A", F("x", "\"int\"") "," F("y", "\"int\"")) "]",
         "[\"null\"," REC("A", F("x", "\"int\"")) "]", HD_COMPAT_INCOMPATIBLE,
         "[A].y (/1/fields/1): reader field \"y\" has no default"},
        {"recursive list", REC("L", F("v", "\"long\"") "," FD("next", "[\"null\",\"L\"]", "null")),
         REC("L", F("v", "\"int\"") "," FD("next", "[\"null\",\"L\"]", "null")), HD_COMPAT_OK,
         ""},
        {"recursive list narrowed",
         REC("L", F("v", "\"int\"") "," FD("next", "[\"null\",\"L\"]", "null")),
         REC("L", F("v", "\"long\"") "," FD("next", "[\"null\",\"L\"]", "null")),
         HD_COMPAT_INCOMPATIBLE, "v (/fields/0/type)"},
        {"nested namespaces and references",
         "{\"type\":\"record\",\"name\":\"A\",\"namespace\":\"n1\",\"fields\":["
         "{\"name\":\"b\",\"type\":{\"type\":\"record\",\"name\":\"B\",\"fields\":[" F("x", "\"long\"") "]}},"
         "{\"name\":\"c\",\"type\":\"B\"},{\"name\":\"d\",\"type\":\"n1.B\"}]}",
         "{\"type\":\"record\",\"name\":\"A\",\"namespace\":\"n1\",\"fields\":["
         "{\"name\":\"b\",\"type\":{\"type\":\"record\",\"name\":\"B\",\"fields\":[" F("x", "\"int\"") "]}},"
         "{\"name\":\"c\",\"type\":\"B\"},{\"name\":\"d\",\"type\":\"n1.B\"}]}",
         HD_COMPAT_OK, ""},
        /* hostile or broken input: an error naming what and where */
        {"not JSON", "{\"type\":", "\"int\"", HD_COMPAT_ERROR, "reader schema: not JSON"},
        {"unknown type", REC("R", F("a", "\"Nope\"")), "\"int\"", HD_COMPAT_ERROR,
         "reader schema: at /fields/0/type: unknown type \"Nope\""},
        {"unknown writer type", "\"int\"", "\"integer\"", HD_COMPAT_ERROR,
         "writer schema: at /: unknown type \"integer\""},
        {"record without fields", "{\"type\":\"record\",\"name\":\"R\"}", "\"int\"",
         HD_COMPAT_ERROR, "needs a \"fields\" array"},
        {"redefined name", REC("R", F("a", REC("R", ""))), "\"int\"", HD_COMPAT_ERROR,
         "\"R\" is defined twice"},
        {"union in union", "[\"null\",[\"int\"]]", "\"int\"", HD_COMPAT_ERROR,
         "at /1: a union cannot directly contain a union"},
        {"number as schema", "42", "\"int\"", HD_COMPAT_ERROR, "a schema must be"},
        {"enum symbol not a string", ENUM("E", "1"), "\"int\"", HD_COMPAT_ERROR,
         "symbol 0 is not a string"},
        {"fixed without size", "{\"type\":\"fixed\",\"name\":\"F\"}", "\"int\"",
         HD_COMPAT_ERROR, "needs a \"size\""},
        {"primitive redefined", REC("int", ""), "\"int\"", HD_COMPAT_ERROR,
         "cannot be redefined"},
};

static void test_pairs(void)
{
        char msgs[4096];

        for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
                const pair_t *p = &pairs[i];
                int got = hd_compat_check(p->reader, p->writer, msgs, sizeof(msgs));
                HD_CHECK_MSG(got == p->want, "%s: got %d, want %d (%s)", p->what, got, p->want,
                             msgs);
                HD_CHECK_MSG(strstr(msgs, p->message), "%s: \"%s\" lacks \"%s\"", p->what, msgs,
                             p->message);
                if (p->want == HD_COMPAT_OK)
                        HD_CHECK_STR_EQ(msgs, "");
        }
}

static void test_deep_nesting(void)
{
        char *deep = malloc(64 * 1024), msgs[512];
        size_t n = 0;

        for (int i = 0; i < 1500; i++)
                n += (size_t)sprintf(deep + n, "{\"type\":\"array\",\"items\":");
        n += (size_t)sprintf(deep + n, "\"int\"");
        for (int i = 0; i < 1500; i++)
                deep[n++] = '}';
        deep[n] = '\0';
        HD_CHECK_INT_EQ(hd_compat_check(deep, "\"int\"", msgs, sizeof(msgs)), HD_COMPAT_ERROR);
        HD_CHECK_CONTAINS(msgs, "reader schema:");
        free(deep);
        HD_CHECK_INT_EQ(hd_compat_check(NULL, "\"int\"", msgs, sizeof(msgs)), HD_COMPAT_ERROR);
        /* A message buffer too small is cut, never overrun. */
        HD_CHECK_INT_EQ(hd_compat_check("\"int\"", "\"long\"", msgs, 8), HD_COMPAT_INCOMPATIBLE);
        HD_CHECK_INT_EQ(strlen(msgs), 7);
}

/* Big inputs stay cheap (fields by hash) or are refused (too many pairs), not slow. */
static void test_big(void)
{
        size_t n = 0, size = 4 * 1024 * 1024;
        char *big = malloc(size), *msgs = malloc(4096);
        int64_t t0 = hd_mono_us();

        n += (size_t)snprintf(big + n, size - n, "{\"type\":\"record\",\"name\":\"R\",\"fields\":[");
        for (int i = 0; i < 30000; i++)
                n += (size_t)snprintf(big + n, size - n, "%s{\"name\":\"f%d\",\"type\":\"int\"}",
                                      i ? "," : "", i);
        snprintf(big + n, size - n, "]}");
        HD_CHECK_INT_EQ(hd_compat_check(big, big, msgs, 4096), HD_COMPAT_OK);
        /* 3000 distinct records in a union on each side: matched by name, O(n) */
        n = (size_t)snprintf(big, size, "[");
        for (int i = 0; i < 3000; i++)
                n += (size_t)snprintf(big + n, size - n, "%s{\"type\":\"record\",\"name\":\"R%d\","
                                      "\"fields\":[]}", i ? "," : "", i);
        snprintf(big + n, size - n, "]");
        HD_CHECK_INT_EQ(hd_compat_check("[\"int\"]", big, msgs, 4096), HD_COMPAT_INCOMPATIBLE);
        HD_CHECK_INT_EQ(hd_compat_check(big, big, msgs, 4096), HD_COMPAT_OK);
        /* 3000 records all named R (other namespaces), each readable only by its own
         * twin: n^2/2 pairs, over the limit: refused quickly, not hours of work */
        n = (size_t)snprintf(big, size, "[");
        for (int i = 0; i < 3000; i++)
                n += (size_t)snprintf(big + n, size - n, "%s{\"type\":\"record\",\"name\":\"n%d.R\","
                                      "\"fields\":[{\"name\":\"x%d\",\"type\":\"int\"}]}",
                                      i ? "," : "", i, i);
        snprintf(big + n, size - n, "]");
        HD_CHECK_INT_EQ(hd_compat_check(big, big, msgs, 4096), HD_COMPAT_ERROR);
        HD_CHECK_CONTAINS(msgs, "schemas too large or too deeply recursive to check");
        HD_CHECK_MSG(hd_mono_us() - t0 < 20 * 1000000LL, "big schemas took %lld ms",
                     (long long)(hd_mono_us() - t0) / 1000);
        free(big);
        free(msgs);
}

#define V1 REC("R", F("a", "\"int\""))
#define V2 REC("R", F("a", "\"int\"") "," FD("b", "\"int\"", "0"))
#define V3 REC("R", F("a", "\"long\"") "," FD("b", "\"int\"", "0"))
#define V4_NODEF REC("R", F("a", "\"long\"") "," F("c", "\"int\""))

typedef struct {
        hd_compat_level_t level;
        const char *new_schema;
        int nprev;
        int want;
        const char *message;
} level_case_t;

static void test_levels(void)
{
        const char *prev[] = {V1, V2, V3};
        /* V1..V3: b added with a default, then a widened int -> long. */
        static const level_case_t cases[] = {
                {HD_COMPAT_NONE, "\"string\"", 3, HD_COMPAT_OK, ""},
                {HD_COMPAT_BACKWARD, V2, 1, HD_COMPAT_OK, ""},
                {HD_COMPAT_FORWARD, V2, 1, HD_COMPAT_OK, ""},
                {HD_COMPAT_FULL, V2, 1, HD_COMPAT_OK, ""},
                {HD_COMPAT_BACKWARD, V3, 2, HD_COMPAT_OK, ""},
                {HD_COMPAT_FORWARD, V3, 2, HD_COMPAT_INCOMPATIBLE,
                 "previous schema 2: a (/fields/0/type): old type \"int\" cannot read new "
                 "type \"long\""},
                {HD_COMPAT_FULL, V3, 2, HD_COMPAT_INCOMPATIBLE, "old type \"int\""},
                {HD_COMPAT_BACKWARD, V4_NODEF, 3, HD_COMPAT_INCOMPATIBLE,
                 "previous schema 3: c (/fields/1): field \"c\" added without a default"},
                /* the latest (V3) can read V4's data, though V4 drops b: b has a default */
                {HD_COMPAT_FORWARD, V4_NODEF, 3, HD_COMPAT_OK, ""},
                /* V1 cannot read V4's long a */
                {HD_COMPAT_FORWARD_TRANSITIVE, V4_NODEF, 3, HD_COMPAT_INCOMPATIBLE,
                 "previous schema 1: a (/fields/0/type): old type \"int\" cannot read new "
                 "type \"long\""},
                /* V3 vs V1 alone: backward fine; transitively too (int -> long) */
                {HD_COMPAT_BACKWARD_TRANSITIVE, V3, 2, HD_COMPAT_OK, ""},
                {HD_COMPAT_FULL_TRANSITIVE, V3, 2, HD_COMPAT_INCOMPATIBLE, "previous schema 1"},
                {HD_COMPAT_BACKWARD, V1, 0, HD_COMPAT_OK, ""}, /* first version */
        };
        char msgs[4096];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const level_case_t *c = &cases[i];
                int got = hd_compat_check_level_str(c->level, c->new_schema, prev,
                                                    (size_t)c->nprev, msgs, sizeof(msgs));
                HD_CHECK_MSG(got == c->want, "case %zu %s: got %d (%s)", i,
                             hd_compat_level_name(c->level), got, msgs);
                HD_CHECK_MSG(strstr(msgs, c->message), "case %zu: \"%s\" lacks \"%s\"", i, msgs,
                             c->message);
        }
        HD_CHECK_INT_EQ(hd_compat_check_level_str(HD_COMPAT_BACKWARD, V2, (const char *[]){"{"},
                                                  1, msgs, sizeof(msgs)),
                        HD_COMPAT_ERROR);
        HD_CHECK_CONTAINS(msgs, "previous schema: not JSON");
}

static void test_level_names(void)
{
        hd_compat_level_t l = HD_COMPAT_NONE;

        HD_CHECK(hd_compat_level_parse("full_transitive", &l) == 0 && l == HD_COMPAT_FULL_TRANSITIVE);
        HD_CHECK(hd_compat_level_parse("BACKWARD", &l) == 0 && l == HD_COMPAT_BACKWARD);
        HD_CHECK(hd_compat_level_parse("SIDEWAYS", &l) == -1);
        HD_CHECK_STR_EQ(hd_compat_level_name(HD_COMPAT_FORWARD_TRANSITIVE), "FORWARD_TRANSITIVE");
}

/* The catalogue's envelope, with edit applied to the record named rec (anywhere). */
static json_t *find_record(json_t *j, const char *name)
{
        size_t i;
        const char *k;
        json_t *v, *found;

        if (json_is_object(j) && json_is_string(json_object_get(j, "name")) &&
            !strcmp(json_string_value(json_object_get(j, "name")), name) &&
            json_object_get(j, "fields"))
                return j;
        if (json_is_array(j)) {
                json_array_foreach(j, i, v)
                        if ((found = find_record(v, name)))
                                return found;
        } else if (json_is_object(j)) {
                json_object_foreach(j, k, v)
                        if ((found = find_record(v, name)))
                                return found;
        }
        return NULL;
}

static char *evolve(const char *rec, json_t *add_field, const char *drop_symbol)
{
        json_t *env = json_loads(hd_catalogue_schema_json(), 0, NULL), *r, *syms, *s;
        char *text;
        size_t i;

        r = find_record(env, rec);
        HD_CHECK_MSG(r != NULL, "no record %s in the catalogue", rec);
        if (r && add_field)
                json_array_append(json_object_get(r, "fields"), add_field);
        if (drop_symbol) {
                syms = json_object_get(json_object_get(json_array_get(json_object_get(env, "fields"),
                                                                      2), "type"), "symbols");
                json_array_foreach(syms, i, s)
                        if (!strcmp(json_string_value(s), drop_symbol)) {
                                json_array_remove(syms, i);
                                break;
                        }
        }
        text = json_dumps(env, JSON_COMPACT);
        json_decref(env);
        json_decref(add_field);
        return text;
}

static void test_catalogue_evolutions(void)
{
        const char *cur = hd_catalogue_schema_json();
        char *with_default = evolve("Service", json_pack("{s:s, s:[s,s], s:n}", "name", "region",
                                                         "type", "null", "string", "default"),
                                    NULL);
        char *no_default = evolve("Service", json_pack("{s:s, s:s}", "name", "region", "type",
                                                       "string"), NULL);
        char *no_delete = evolve("Service", NULL, "DELETE");
        char msgs[4096];

        HD_CHECK_INT_EQ(hd_compat_check_level_str(HD_COMPAT_FULL_TRANSITIVE, cur, &cur, 1, msgs,
                                                  sizeof(msgs)), HD_COMPAT_OK);
        HD_CHECK_INT_EQ(hd_compat_check_level_str(HD_COMPAT_FULL, with_default, &cur, 1, msgs,
                                                  sizeof(msgs)), HD_COMPAT_OK);
        HD_CHECK_INT_EQ(hd_compat_check_level_str(HD_COMPAT_BACKWARD, no_default, &cur, 1, msgs,
                                                  sizeof(msgs)), HD_COMPAT_INCOMPATIBLE);
        HD_CHECK_CONTAINS(msgs, "data[AccountServiceStateChanged].service.region (/fields/7/type/");
        HD_CHECK_CONTAINS(msgs, "field \"region\" added without a default");
        /* old consumers ignore the new field: FORWARD holds */
        HD_CHECK_INT_EQ(hd_compat_check_level_str(HD_COMPAT_FORWARD, no_default, &cur, 1, msgs,
                                                  sizeof(msgs)), HD_COMPAT_OK);
        HD_CHECK_INT_EQ(hd_compat_check_level_str(HD_COMPAT_BACKWARD, no_delete, &cur, 1, msgs,
                                                  sizeof(msgs)), HD_COMPAT_INCOMPATIBLE);
        HD_CHECK_CONTAINS(msgs, "action (/fields/2/type/symbols): enum \"com.herald.events.Action\": "
                                "symbols removed: DELETE");
        /* adding a symbol is FORWARD-incompatible: old readers lack it */
        HD_CHECK_INT_EQ(hd_compat_check_level_str(HD_COMPAT_FORWARD, cur,
                                                  (const char *const *)&no_delete, 1, msgs,
                                                  sizeof(msgs)), HD_COMPAT_INCOMPATIBLE);
        HD_CHECK_CONTAINS(msgs, "symbols added that the old schema cannot read");
        free(with_default);
        free(no_default);
        free(no_delete);
}

int main(void)
{
        test_pairs();
        test_deep_nesting();
        test_big();
        test_levels();
        test_level_names();
        test_catalogue_evolutions();
        hd_catalogue_cleanup();
        return hd_test_finish("test_compat");
}
