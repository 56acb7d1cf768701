/* hd_sub: see hd_sub.h. */
#include "hd_sub.h"
#include "hd_catalogue.h"
#include "hd_id.h"
#include "hd_template.h"
#include "hd_url.h"
#include "hd_util.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define HD_SUB_MAX_TEMPLATE (64 * 1024)

typedef struct hd_subv {
        const hd_event_type_t *types[256]; /* event types matched by the patterns */
        size_t ntypes;
        char *errstr;
        size_t errstr_size;
} hd_subv_t;

int hd_sub_matches(const json_t *sub, const char *type)
{
        const json_t *v;
        size_t i;

        if (json_is_true(json_object_get(sub, "paused")) ||
            json_is_string(json_object_get(sub, "disabled")))
                return 0;
        json_array_foreach(json_object_get(sub, "event_types"), i, v)
                if (json_is_string(v) && hd_catalogue_pattern_match(json_string_value(v), type))
                        return 1;
        return 0;
}

char *hd_sub_new_secret(void)
{
        unsigned char raw[32];
        char *s = hd_malloc(6 + 45);

        if (RAND_bytes(raw, sizeof(raw)) != 1)
                abort(); /* a predictable secret is worse than no process */
        memcpy(s, "whsec_", 6);
        EVP_EncodeBlock((unsigned char *)s + 6, raw, sizeof(raw));
        return s;
}

int hd_sub_check_secret(const char *secret, char *errstr, size_t errstr_size)
{
        unsigned char raw[128];
        size_t len;
        int n;

        if (strncmp(secret, "whsec_", 6))
                return hd_seterr(errstr, errstr_size, "secret must start with whsec_");
        len = strlen(secret + 6);
        /* '=' is padding, only at the end: EVP_DecodeBlock reads one inside as zero
         * bits, so receivers' base64 decoders would derive another key (or none). */
        if (len == 0 || len % 4 || len > 120 ||
            strspn(secret + 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") <
                    len - 2 ||
            strspn(secret + 6 + strcspn(secret + 6, "="), "=") !=
                    len - strcspn(secret + 6, "=") ||
            (n = EVP_DecodeBlock(raw, (const unsigned char *)secret + 6, (int)len)) < 0)
                return hd_seterr(errstr, errstr_size,
                                 "secret must be whsec_ followed by base64");
        n -= (secret[6 + len - 1] == '=') + (secret[6 + len - 2] == '=');
        if (n < 24 || n > 64)
                return hd_seterr(errstr, errstr_size,
                                 "secret must encode 24 to 64 bytes, it encodes %d", n);
        return 0;
}

/* --- field helpers ------------------------------------------------------------------ */

static int hd_subv_keys(hd_subv_t *V, const json_t *obj, const char *where,
                        const char *const *allowed)
{
        const char *key;
        json_t *v;

        json_object_foreach((json_t *)obj, key, v) {
                int ok = 0;
                for (const char *const *a = allowed; *a && !ok; a++)
                        ok = !strcmp(*a, key);
                if (!ok)
                        return hd_seterr(V->errstr, V->errstr_size, "%s%s%s: unknown field",
                                         where, *where ? "." : "", key);
        }
        return 0;
}

static const char *hd_subv_str(hd_subv_t *V, const json_t *obj, const char *key,
                               const char *where, int required, size_t max)
{
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v)) {
                if (required)
                        hd_seterr(V->errstr, V->errstr_size, "%s%s%s: required", where,
                                  *where ? "." : "", key);
                return NULL;
        }
        /* Top-level fields have where = "": the message must start with the name. */
        if (!json_is_string(v) || json_string_length(v) > max ||
            strlen(json_string_value(v)) != json_string_length(v)) {
                hd_seterr(V->errstr, V->errstr_size,
                          "%s%s%s: expected a string of at most %zu characters", where,
                          *where ? "." : "", key, max);
                return NULL;
        }
        return json_string_value(v);
}

/* Compiles a template and checks that every matched event type offers its tokens. */
static int hd_subv_template(hd_subv_t *V, const char *text, const char *where)
{
        char err[256];
        hd_template_t *t = hd_template_compile(text, err, sizeof(err));

        if (!t)
                return hd_seterr(V->errstr, V->errstr_size, "%s: %s", where, err);
        for (size_t i = 0; i < hd_template_ntokens(t); i++) {
                const char *tok = hd_template_token(t, i);
                for (size_t k = 0; k < V->ntypes; k++) {
                        if (!hd_catalogue_offers(V->types[k], tok)) {
                                hd_seterr(V->errstr, V->errstr_size,
                                          "%s: token \"%s\" is not offered by event type "
                                          "\"%s\"",
                                          where, tok, V->types[k]->name);
                                hd_template_destroy(t);
                                return -1;
                        }
                }
        }
        hd_template_destroy(t);
        return 0;
}

/* --- sections -------------------------------------------------------------------------- */

static int hd_subv_event_types(hd_subv_t *V, const json_t *sub)
{
        json_t *arr = json_object_get(sub, "event_types"), *v;
        size_t i;

        if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 100)
                return hd_seterr(V->errstr, V->errstr_size,
                                 "event_types: expected a list of 1 to 100 event-type "
                                 "patterns");
        json_array_foreach(arr, i, v) {
                const char *pat = json_string_value(v);
                size_t hits = 0;
                if (!pat)
                        return hd_seterr(V->errstr, V->errstr_size,
                                         "event_types[%zu]: expected a string", i);
                for (size_t k = 0; k < hd_catalogue_count(); k++) {
                        const hd_event_type_t *t = hd_catalogue_get(k);
                        size_t j;
                        if (!hd_catalogue_pattern_match(pat, t->name))
                                continue;
                        hits++;
                        for (j = 0; j < V->ntypes && V->types[j] != t; j++)
                                ;
                        if (j == V->ntypes && V->ntypes < HD_ARRAY_SIZE(V->types))
                                V->types[V->ntypes++] = t;
                }
                if (!hits)
                        return hd_seterr(V->errstr, V->errstr_size,
                                         "event_types[%zu]: \"%s\" matches no event type "
                                         "(see schemas/README.md)",
                                         i, pat);
        }
        return 0;
}

/*
 * Credentials end up in an HTTP Authorization header: a CR, LF or other control
 * character would let a subscription inject headers (or break the request), and a
 * ':' in a Basic user name cannot be told apart from the password (RFC 7617).
 */
static const char *hd_subv_credential(hd_subv_t *V, const json_t *auth, const char *key,
                                      size_t max, const char *forbidden)
{
        const char *s = hd_subv_str(V, auth, key, "webhook.auth", 1, max);

        if (!s)
                return NULL;
        for (const char *c = s; *c; c++) {
                if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                        hd_seterr(V->errstr, V->errstr_size,
                                  "webhook.auth.%s: must not contain control characters "
                                  "(CR, LF, tab, ...)",
                                  key);
                        return NULL;
                }
                if (forbidden && strchr(forbidden, *c)) {
                        hd_seterr(V->errstr, V->errstr_size,
                                  "webhook.auth.%s: must not contain '%c'", key, *c);
                        return NULL;
                }
        }
        return s;
}

static int hd_subv_auth(hd_subv_t *V, const json_t *auth)
{
        static const char *const basic[] = {"type", "username", "password", NULL};
        static const char *const bearer[] = {"type", "token", NULL};
        static const char *const mtls[] = {"type", "cert_file", "key_file", NULL};
        const char *type;

        if (!json_is_object(auth))
                return hd_seterr(V->errstr, V->errstr_size, "webhook.auth: expected an object");
        type = hd_subv_str(V, auth, "type", "webhook.auth", 1, 16);
        if (!type)
                return -1;
        if (!strcmp(type, "basic"))
                return hd_subv_keys(V, auth, "webhook.auth", basic) ||
                                       !hd_subv_credential(V, auth, "username", 256, ":") ||
                                       !hd_subv_credential(V, auth, "password", 256, NULL)
                               ? -1 : 0;
        if (!strcmp(type, "bearer"))
                return hd_subv_keys(V, auth, "webhook.auth", bearer) ||
                                       !hd_subv_credential(V, auth, "token", 4096, NULL)
                               ? -1 : 0;
        if (!strcmp(type, "mtls"))
                return hd_subv_keys(V, auth, "webhook.auth", mtls) ||
                                       !hd_subv_str(V, auth, "cert_file", "webhook.auth", 1, 4096) ||
                                       !hd_subv_str(V, auth, "key_file", "webhook.auth", 1, 4096)
                               ? -1 : 0;
        return hd_seterr(V->errstr, V->errstr_size,
                         "webhook.auth.type: \"%s\" is not basic, bearer or mtls", type);
}

static int hd_subv_int(hd_subv_t *V, json_t *obj, const char *key, const char *where,
                       json_int_t min, json_int_t max, json_int_t def)
{
        json_t *v = json_object_get(obj, key);

        if (!v) {
                json_object_set_new(obj, key, json_integer(def));
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return hd_seterr(V->errstr, V->errstr_size,
                                 "%s.%s: expected an integer from %lld to %lld", where, key,
                                 (long long)min, (long long)max);
        return 0;
}

static int hd_subv_secrets(hd_subv_t *V, json_t *wh, const char **generated)
{
        json_t *arr = json_object_get(wh, "secrets"), *v;
        char err[200];
        size_t i;

        if (!arr) {
                char *s = hd_sub_new_secret();
                arr = json_array();
                json_array_append_new(arr, json_string(s));
                json_object_set_new(wh, "secrets", arr);
                free(s);
                if (generated)
                        *generated = json_string_value(json_array_get(arr, 0));
                return 0;
        }
        if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > 5)
                return hd_seterr(V->errstr, V->errstr_size,
                                 "webhook.secrets: expected a list of 1 to 5 secrets (newest "
                                 "first; several during rotation)");
        json_array_foreach(arr, i, v) {
                if (!json_is_string(v) ||
                    hd_sub_check_secret(json_string_value(v), err, sizeof(err)))
                        return hd_seterr(V->errstr, V->errstr_size, "webhook.secrets[%zu]: %s",
                                         i, json_is_string(v) ? err : "expected a string");
        }
        return 0;
}

static int hd_subv_webhook(hd_subv_t *V, json_t *wh, const char **generated)
{
        static const char *const keys[] = {"url", "secrets", "auth", "parameters",
                                           "max_in_flight", "rate_limit_per_second", NULL};
        const char *url, *name;
        char err[300], where[300];
        json_t *params, *v;

        if (!json_is_object(wh))
                return hd_seterr(V->errstr, V->errstr_size,
                                 "webhook: required for channel \"webhook\" (an object)");
        if (hd_subv_keys(V, wh, "webhook", keys) ||
            !(url = hd_subv_str(V, wh, "url", "webhook", 1, 1 << 16)))
                return -1;
        if (hd_url_check_webhook(url, NULL, 0, err, sizeof(err)))
                return hd_seterr(V->errstr, V->errstr_size, "webhook.url: %s", err);
        if (hd_subv_secrets(V, wh, generated))
                return -1;
        if (json_object_get(wh, "auth") && hd_subv_auth(V, json_object_get(wh, "auth")))
                return -1;
        params = json_object_get(wh, "parameters");
        if (params && (!json_is_object(params) || json_object_size(params) > 50))
                return hd_seterr(V->errstr, V->errstr_size,
                                 "webhook.parameters: expected an object of at most 50 "
                                 "name/value pairs");
        json_object_foreach(params, name, v) {
                snprintf(where, sizeof(where), "webhook.parameters.%s", name);
                if (!json_is_string(v) || json_string_length(v) > HD_SUB_MAX_TEMPLATE)
                        return hd_seterr(V->errstr, V->errstr_size, "%s: expected a string",
                                         where);
                if (hd_subv_template(V, json_string_value(v), where))
                        return -1;
        }
        return hd_subv_int(V, wh, "max_in_flight", "webhook", 1, 1000, 16) ||
               hd_subv_int(V, wh, "rate_limit_per_second", "webhook", 0, 100000, 0);
}

/* A recipient is an address or a template rendering to one (checked at send time). */
static int hd_subv_recipients(hd_subv_t *V, const json_t *em, const char *key, int required)
{
        json_t *arr = json_object_get(em, key), *v;
        char where[64];
        size_t i;

        if (!arr && !required)
                return 0;
        if (!json_is_array(arr) || json_array_size(arr) > 50 ||
            (required && json_array_size(arr) == 0))
                return hd_seterr(V->errstr, V->errstr_size,
                                 "email.%s: expected a list of %s to 50 recipients", key,
                                 required ? "1" : "0");
        json_array_foreach(arr, i, v) {
                const char *s = json_string_value(v);
                snprintf(where, sizeof(where), "email.%s[%zu]", key, i);
                if (!s || strlen(s) > 320 || strpbrk(s, "\r\n"))
                        return hd_seterr(V->errstr, V->errstr_size,
                                         "%s: expected one address without CR or LF", where);
                if (!strstr(s, "{{") && !strchr(s, '@'))
                        return hd_seterr(V->errstr, V->errstr_size,
                                         "%s: \"%s\" is not an e-mail address", where, s);
                if (hd_subv_template(V, s, where))
                        return -1;
        }
        return 0;
}

static int hd_subv_email(hd_subv_t *V, const json_t *em, const hd_config_t *cfg)
{
        static const char *const keys[] = {"profile", "to", "cc", "subject", "text", "html",
                                           NULL};
        static const char *const bodies[] = {"subject", "text", "html"};
        const char *profile;
        char where[32];

        if (!json_is_object(em))
                return hd_seterr(V->errstr, V->errstr_size,
                                 "email: required for channel \"email\" (an object)");
        if (hd_subv_keys(V, em, "email", keys) ||
            !(profile = hd_subv_str(V, em, "profile", "email", 1, 128)))
                return -1;
        if (!hd_config_smtp_profile(cfg, profile))
                return hd_seterr(V->errstr, V->errstr_size,
                                 "email.profile: no SMTP profile \"%s\" in %s (email.profiles)",
                                 profile, cfg->path);
        if (hd_subv_recipients(V, em, "to", 1) || hd_subv_recipients(V, em, "cc", 0))
                return -1;
        if (!json_object_get(em, "text") && !json_object_get(em, "html"))
                return hd_seterr(V->errstr, V->errstr_size,
                                 "email: needs a text or an html body (or both)");
        for (size_t i = 0; i < HD_ARRAY_SIZE(bodies); i++) {
                const char *text = hd_subv_str(V, em, bodies[i], "email", i == 0,
                                               HD_SUB_MAX_TEMPLATE);
                snprintf(where, sizeof(where), "email.%s", bodies[i]);
                if (!text && (i == 0 || json_object_get(em, bodies[i])))
                        return -1;
                if (text && i == 0 && strpbrk(text, "\r\n"))
                        return hd_seterr(V->errstr, V->errstr_size,
                                         "email.subject: must not contain CR or LF");
                if (text && hd_subv_template(V, text, where))
                        return -1;
        }
        return 0;
}

/* --- whole subscription ---------------------------------------------------------------- */

static int hd_subv_id(hd_subv_t *V, json_t *sub)
{
        json_t *v = json_object_get(sub, "id");
        char id[HD_UUID_STRLEN + 8];
        const char *s;

        if (!v) {
                char uuid[HD_UUID_STRLEN + 1];
                hd_uuid7(uuid);
                snprintf(id, sizeof(id), "sub_%s", uuid);
                json_object_set_new(sub, "id", json_string(id));
                return 0;
        }
        s = json_string_value(v);
        if (!s || !*s || strlen(s) > HD_SUB_ID_MAX ||
            strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
                    strlen(s))
                return hd_seterr(V->errstr, V->errstr_size,
                                 "id: 1 to %d letters, digits, '_', '-', '.'", HD_SUB_ID_MAX);
        return 0;
}

int hd_sub_validate(json_t *sub, const hd_config_t *cfg, const char **generated_secret,
                    char *errstr, size_t errstr_size)
{
        static const char *const keys[] = {"id", "version", "name", "channel", "event_types",
                                           "paused", "disabled", "webhook", "email",
                                           "created_at", "updated_at", "revision_id", NULL};
        hd_subv_t V = {.errstr = errstr, .errstr_size = errstr_size};
        const char *channel;
        json_t *v;

        if (generated_secret)
                *generated_secret = NULL;
        if (!json_is_object(sub))
                return hd_seterr(errstr, errstr_size, "a subscription is a JSON object");
        if (hd_subv_keys(&V, sub, "", keys) || hd_subv_id(&V, sub) ||
            (json_object_get(sub, "name") && !hd_subv_str(&V, sub, "name", "", 0, 200)) ||
            !(channel = hd_subv_str(&V, sub, "channel", "", 1, 16)))
                return -1;
        if ((v = json_object_get(sub, "paused")) && !json_is_boolean(v))
                return hd_seterr(errstr, errstr_size, "paused: expected true or false");
        if ((v = json_object_get(sub, "disabled")) && !json_is_null(v) && !json_is_string(v))
                return hd_seterr(errstr, errstr_size, "disabled: expected null or a reason");
        if (hd_subv_event_types(&V, sub))
                return -1;
        if (!strcmp(channel, "webhook")) {
                if (json_object_get(sub, "email"))
                        return hd_seterr(errstr, errstr_size,
                                         "email: not allowed for channel \"webhook\"");
                return hd_subv_webhook(&V, json_object_get(sub, "webhook"), generated_secret);
        }
        if (!strcmp(channel, "email")) {
                if (json_object_get(sub, "webhook"))
                        return hd_seterr(errstr, errstr_size,
                                         "webhook: not allowed for channel \"email\"");
                return hd_subv_email(&V, json_object_get(sub, "email"), cfg);
        }
        return hd_seterr(errstr, errstr_size, "channel: \"%s\" is not webhook or email",
                         channel);
}

/* "whsec_abc…wxyz" → "whsec_…wxyz"; other secrets → "****". */
static json_t *hd_sub_mask_value(const char *s)
{
        char buf[32];
        size_t n = strlen(s);

        if (!strncmp(s, "whsec_", 6) && n > 10) {
                snprintf(buf, sizeof(buf), "whsec_…%s", s + n - 4);
                return json_string(buf);
        }
        return json_string("****");
}

/*
 * The cache holds whatever the topic holds, including records not written by
 * `herald sub` (kcat, an older version): mask by key whatever the value's type, so
 * a secret stored as a bare string, a number or an object never reaches stdout.
 */
json_t *hd_sub_masked(const json_t *sub)
{
        json_t *copy = json_deep_copy(sub), *wh = json_object_get(copy, "webhook"), *auth, *v;
        json_t *secrets = json_object_get(wh, "secrets");
        static const char *const secret_keys[] = {"password", "token"};
        size_t i;

        if (json_is_array(secrets)) {
                json_array_foreach(secrets, i, v)
                        json_array_set_new(secrets, i,
                                           json_is_string(v)
                                                   ? hd_sub_mask_value(json_string_value(v))
                                                   : json_string("****"));
        } else if (secrets && !json_is_null(secrets)) {
                json_object_set_new(wh, "secrets", json_string("****"));
        }
        auth = json_object_get(wh, "auth");
        if (auth && !json_is_object(auth) && !json_is_null(auth)) {
                json_object_set_new(wh, "auth", json_string("****"));
                auth = NULL; /* freed by the replacement */
        }
        for (i = 0; i < HD_ARRAY_SIZE(secret_keys); i++) {
                v = json_object_get(auth, secret_keys[i]);
                if (v && !json_is_null(v))
                        json_object_set_new(auth, secret_keys[i], json_string("****"));
        }
        return copy;
}
