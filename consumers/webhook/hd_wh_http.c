/* hd_wh_http: see hd_wh_http.h. */
#include "hd_wh_http.h"
#include "hd_util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static size_t hd_wh_discard(char *p, size_t s, size_t n, void *o)
{
        (void)p, (void)o;
        return s * n; /* the answer body is not needed, only its status */
}

static size_t hd_wh_header(char *line, size_t s, size_t n, void *opaque)
{
        hd_wh_result_t *res = opaque;
        size_t len = s * n;

        if (len > 12 && !strncasecmp(line, "Retry-After:", 12)) {
                size_t k = 12;
                while (k < len && line[k] == ' ')
                        k++;
                snprintf(res->retry_after, sizeof(res->retry_after), "%.*s",
                         (int)(len - k), line + k);
                res->retry_after[strcspn(res->retry_after, "\r\n")] = '\0';
        }
        return len;
}

/* CONNECT_TO entries are the test hook; otherwise the SSRF guard pins the address. */
static struct curl_slist *hd_wh_route(const char *url, const hd_wh_target_opts_t *o,
                                      hd_wh_result_t *res)
{
        struct curl_slist *list = NULL;
        char host[256], vetted[64], entry[400];

        if (o->nconnect_to) {
                for (size_t i = 0; i < o->nconnect_to; i++)
                        list = curl_slist_append(list, o->connect_to[i]);
                return list;
        }
        if (hd_ssrf_check_url(url, o->allow, o->nallow, host, sizeof(host), vetted,
                              sizeof(vetted), res->error, sizeof(res->error))) {
                res->refused = 1;
                return NULL;
        }
        snprintf(entry, sizeof(entry), "%s:443:%s", host, vetted);
        return curl_slist_append(NULL, entry);
}

/* Optional per-subscription authentication (values are never logged). */
static struct curl_slist *hd_wh_auth(CURL *c, const json_t *auth, struct curl_slist *hdrs)
{
        const char *type = json_string_value(json_object_get(auth, "type"));
        char line[4200];

        if (!type)
                return hdrs;
        if (!strcmp(type, "basic")) {
                curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
                curl_easy_setopt(c, CURLOPT_USERNAME, json_string_value(json_object_get(auth, "username")));
                curl_easy_setopt(c, CURLOPT_PASSWORD, json_string_value(json_object_get(auth, "password")));
        } else if (!strcmp(type, "bearer")) {
                snprintf(line, sizeof(line), "Authorization: Bearer %s",
                         json_string_value(json_object_get(auth, "token")) ?: "");
                hdrs = curl_slist_append(hdrs, line);
        } else if (!strcmp(type, "mtls")) {
                curl_easy_setopt(c, CURLOPT_SSLCERT, json_string_value(json_object_get(auth, "cert_file")));
                curl_easy_setopt(c, CURLOPT_SSLKEY, json_string_value(json_object_get(auth, "key_file")));
        }
        return hdrs;
}

void hd_wh_post(void **handle, const char *url, const char *body, const char *const *headers,
                size_t nheaders, const json_t *auth, const hd_wh_target_opts_t *o,
                hd_wh_result_t *res)
{
        struct curl_slist *route, *hdrs = NULL;
        CURL *c = *handle;
        CURLcode rc;

        memset(res, 0, sizeof(*res));
        if (!(route = hd_wh_route(url, o, res)))
                return;
        if (c)
                curl_easy_reset(c); /* options cleared, live connections kept */
        else if (!(c = *handle = curl_easy_init())) {
                snprintf(res->error, sizeof(res->error), "out of memory");
                curl_slist_free_all(route);
                return;
        }
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "User-Agent: herald-webhookd");
        for (size_t i = 0; i < nheaders; i++)
                hdrs = curl_slist_append(hdrs, headers[i]);
        hdrs = hd_wh_auth(c, auth, hdrs);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (o->ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
        curl_easy_setopt(c, o->nconnect_to ? CURLOPT_CONNECT_TO : CURLOPT_RESOLVE, route);
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms ? o->connect_timeout_ms : 5000L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->total_timeout_ms ? o->total_timeout_ms : 15000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hd_wh_discard);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hd_wh_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, res);
        rc = curl_easy_perform(c);
        if (rc == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
        else
                snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror(rc));
        curl_slist_free_all(hdrs);
        curl_slist_free_all(route);
}
