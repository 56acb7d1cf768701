/* hd_wh_body: see hd_wh_body.h. */
#include "hd_wh_body.h"
#include "hd_template.h"
#include "hd_token.h"
#include "hd_util.h"
#include "hd_webhook_sig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *hd_wh_params(const json_t *event, const json_t *params, char *errstr,
                            size_t errstr_size)
{
        json_t *out = json_object(), *v;
        const char *name;

        json_object_foreach((json_t *)params, name, v) {
                char err[256];
                hd_template_t *t = hd_template_compile(json_string_value(v) ?: "", err,
                                                       sizeof(err));
                char *text = t ? hd_template_render(t, HD_TPL_TEXT, hd_token_template_lookup,
                                                    (void *)event, HD_WH_MAX_PARAM, err,
                                                    sizeof(err))
                               : NULL;
                hd_template_destroy(t);
                if (!text) {
                        hd_seterr(errstr, errstr_size, "parameter %s: %s", name, err);
                        json_decref(out);
                        return NULL;
                }
                /* jansson escapes it; a rendered value cannot break out of its string */
                json_object_set_new(out, name, json_string(text) ?: json_string("\uFFFD"));
                free(text);
        }
        return out;
}

static void hd_wh_iso8601(int64_t ms, char *out, size_t size)
{
        time_t s = (time_t)(ms / 1000);
        struct tm tm;

        gmtime_r(&s, &tm);
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The body is written straight into one growing buffer: no intermediate tree. */
typedef struct hd_wh_buf {
        char *p;
        size_t len, cap;
} hd_wh_buf_t;

static int hd_wh_put(const char *s, size_t n, void *opaque)
{
        hd_wh_buf_t *b = opaque;

        if (b->len + n + 1 > b->cap) {
                while (b->len + n + 1 > b->cap)
                        b->cap *= 2;
                b->p = hd_realloc(b->p, b->cap);
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        return 0;
}

static void hd_wh_put_str(hd_wh_buf_t *b, const char *s)
{
        hd_wh_put(s, strlen(s), b);
}

/* A string of printable ASCII without quote or backslash is written as it is;
 * anything else goes through jansson (escapes, UTF-8 checks) exactly as before. */
static int hd_wh_plain(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"' ||
                    s[i] == '\\')
                        return 0;
        return 1;
}

static int hd_wh_put_string(hd_wh_buf_t *b, const char *s, size_t n)
{
        json_t *tmp;
        int rc;

        if (hd_wh_plain(s, n)) {
                hd_wh_put("\"", 1, b);
                hd_wh_put(s, n, b);
                return hd_wh_put("\"", 1, b);
        }
        tmp = json_stringn_nocheck(s, n);
        rc = tmp ? json_dump_callback(tmp, hd_wh_put, b, JSON_COMPACT | JSON_ENCODE_ANY) : -1;
        json_decref(tmp);
        return rc;
}

/*
 * Compact JSON of v, byte for byte what json_dumps(JSON_COMPACT) writes (keys in
 * insertion order), without its per-call loop-check table: the event tree is
 * acyclic (decoded or parsed). 0, or -1 when jansson would refuse it too.
 */
static int hd_wh_put_json(hd_wh_buf_t *b, const json_t *v, int depth)
{
        const char *key;
        json_t *item;
        size_t i;
        char num[32];
        int rc = 0;

        if (depth > 2048) /* bounded recursion (jansson parses no deeper either) */
                return -1;
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                hd_wh_put("{", 1, b);
                i = 0;
                json_object_foreach((json_t *)v, key, item) {
                        if (i++)
                                hd_wh_put(",", 1, b);
                        if (hd_wh_put_string(b, key, strlen(key)) || hd_wh_put(":", 1, b) ||
                            hd_wh_put_json(b, item, depth + 1))
                                return -1;
                }
                return hd_wh_put("}", 1, b);
        case JSON_ARRAY:
                hd_wh_put("[", 1, b);
                json_array_foreach(v, i, item) {
                        if ((i && hd_wh_put(",", 1, b)) || hd_wh_put_json(b, item, depth + 1))
                                return -1;
                }
                return hd_wh_put("]", 1, b);
        case JSON_STRING:
                return hd_wh_put_string(b, json_string_value(v), json_string_length(v));
        case JSON_INTEGER:
                rc = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return hd_wh_put(num, (size_t)rc, b);
        case JSON_TRUE:
                return hd_wh_put("true", 4, b);
        case JSON_FALSE:
                return hd_wh_put("false", 5, b);
        case JSON_NULL:
                return hd_wh_put("null", 4, b);
        default: /* reals: jansson's own formatting */
                return json_dump_callback(v, hd_wh_put, b, JSON_COMPACT | JSON_ENCODE_ANY);
        }
}

char *hd_wh_body(const json_t *event, const json_t *sub, char *errstr, size_t errstr_size)
{
        const json_t *wh = json_object_get(sub, "webhook");
        const json_t *pdef = json_object_get(wh, "parameters");
        const json_t *id = json_object_get(event, "id"), *type = json_object_get(event, "type");
        const json_t *data = json_object_get(event, "data");
        const json_t *account = json_object_get(event, "account_id");
        json_t *params = NULL;
        hd_wh_buf_t b = {NULL, 0, 768}; /* under malloc's large-request size */
        char ts[40];
        int rc;

        if (!id || !type || !data) {
                hd_seterr(errstr, errstr_size, "event lacks id, type or data");
                return NULL;
        }
        if (json_object_size(pdef) && !(params = hd_wh_params(event, pdef, errstr, errstr_size)))
                return NULL;
        hd_wh_iso8601(json_integer_value(json_object_get(event, "occurred_at")), ts,
                      sizeof(ts));
        b.p = hd_malloc(b.cap);
        hd_wh_put_str(&b, "{\"id\":");
        rc = hd_wh_put_json(&b, id, 0);
        hd_wh_put_str(&b, ",\"type\":");
        rc |= hd_wh_put_json(&b, type, 0);
        hd_wh_put_str(&b, ",\"timestamp\":\"");
        hd_wh_put_str(&b, ts);
        hd_wh_put_str(&b, "\",\"account_id\":");
        rc |= hd_wh_put_json(&b, account ? account : json_null(), 0);
        hd_wh_put_str(&b, ",\"data\":");
        rc |= hd_wh_put_json(&b, data, 0);
        hd_wh_put_str(&b, ",\"parameters\":");
        if (params)
                rc |= hd_wh_put_json(&b, params, 0);
        else
                hd_wh_put_str(&b, "{}");
        hd_wh_put_str(&b, "}");
        b.p[b.len] = '\0';
        json_decref(params);
        if (rc) {
                free(b.p);
                hd_seterr(errstr, errstr_size, "event cannot be written as JSON "
                          "(invalid UTF-8?)");
                return NULL;
        }
        return b.p;
}

void hd_wh_message_id(const json_t *event, const json_t *sub, char *out, size_t size)
{
        snprintf(out, size, "msg_%s_%s", json_string_value(json_object_get(event, "id")) ?: "",
                 json_string_value(json_object_get(sub, "id")) ?: "");
}

int hd_wh_headers(hd_webhook_keys_t *keys, const json_t *sub, const char *msg_id,
                  int64_t now_s, const char *body, size_t len, char headers[3][1024],
                  char *errstr, size_t errstr_size)
{
        const json_t *arr = json_object_get(json_object_get(sub, "webhook"), "secrets"), *v;
        const char *secrets[8];
        size_t n = 0, i;
        char sig[900];

        json_array_foreach(arr, i, v)
                if (n < HD_ARRAY_SIZE(secrets) && json_is_string(v))
                        secrets[n++] = json_string_value(v);
        if (!n)
                return hd_seterr(errstr, errstr_size, "subscription has no webhook secret");
        if (hd_webhook_sign_keys(keys, secrets, n, msg_id, now_s, body, len, sig, sizeof(sig),
                                 errstr, errstr_size))
                return -1;
        snprintf(headers[0], 1024, "webhook-id: %s", msg_id);
        snprintf(headers[1], 1024, "webhook-timestamp: %lld", (long long)now_s);
        snprintf(headers[2], 1024, "webhook-signature: %s", sig);
        return 0;
}
