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

char *hd_wh_body(const json_t *event, const json_t *sub, char *errstr, size_t errstr_size)
{
        const json_t *wh = json_object_get(sub, "webhook");
        json_t *params = hd_wh_params(event, json_object_get(wh, "parameters"), errstr,
                                      errstr_size);
        char ts[40];
        json_t *body;
        char *text;

        if (!params)
                return NULL;
        hd_wh_iso8601(json_integer_value(json_object_get(event, "occurred_at")), ts,
                      sizeof(ts));
        body = json_pack("{s:O, s:O, s:s, s:O, s:O, s:o}", "id", json_object_get(event, "id"),
                         "type", json_object_get(event, "type"), "timestamp", ts,
                         "account_id", json_object_get(event, "account_id") ?: json_null(),
                         "data", json_object_get(event, "data"), "parameters", params);
        if (!body) {
                hd_seterr(errstr, errstr_size, "event lacks id, type or data");
                return NULL;
        }
        text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        return text;
}

void hd_wh_message_id(const json_t *event, const json_t *sub, char *out, size_t size)
{
        snprintf(out, size, "msg_%s_%s", json_string_value(json_object_get(event, "id")) ?: "",
                 json_string_value(json_object_get(sub, "id")) ?: "");
}

int hd_wh_headers(const json_t *sub, const char *msg_id, int64_t now_s, const char *body,
                  char headers[3][1024], char *errstr, size_t errstr_size)
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
        if (hd_webhook_sign(secrets, n, msg_id, now_s, body, strlen(body), sig, sizeof(sig),
                            errstr, errstr_size))
                return -1;
        snprintf(headers[0], 1024, "webhook-id: %s", msg_id);
        snprintf(headers[1], 1024, "webhook-timestamp: %lld", (long long)now_s);
        snprintf(headers[2], 1024, "webhook-signature: %s", sig);
        return 0;
}
