/* hd_wh_http: see hd_wh_http.h. */
#include "hd_wh_http.h"
#include "hd_util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
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

struct hd_wh_conn {
        CURL *curl;
        const hd_wh_target_opts_t *o;
        struct curl_slist *connect_to;  /* from o, made once */
        struct curl_slist route;        /* the SSRF-pinned CURLOPT_RESOLVE entry */
        char route_entry[400];
        struct curl_slist hdr[3 + HD_WH_MAX_HEADERS]; /* linked anew per attempt */
        char bearer[4200];
        char *url;                      /* the URL last given to curl */
        int auth_set;                   /* basic or mTLS options are on the handle */
};

static void hd_wh_conn_defaults(hd_wh_conn_t *w)
{
        const hd_wh_target_opts_t *o = w->o;
        CURL *c = w->curl;

        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (o->ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
        /* No proxy, not even one from the environment: the connection must go to the
         * address the SSRF guard vetted (and curl then skips its per-transfer
         * *_proxy environment lookups). */
        curl_easy_setopt(c, CURLOPT_PROXY, "");
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
        if (w->connect_to)
                curl_easy_setopt(c, CURLOPT_CONNECT_TO, w->connect_to);
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         o->connect_timeout_ms ? o->connect_timeout_ms : 5000L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->total_timeout_ms ? o->total_timeout_ms : 15000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hd_wh_discard);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hd_wh_header);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, w->hdr);
        w->hdr[0].data = "Content-Type: application/json";
        w->hdr[1].data = "User-Agent: herald-webhookd";
}

hd_wh_conn_t *hd_wh_conn_new(const hd_wh_target_opts_t *o)
{
        hd_wh_conn_t *w = hd_calloc(1, sizeof(*w));

        w->o = o;
        if (!(w->curl = curl_easy_init())) {
                free(w);
                return NULL;
        }
        for (size_t i = 0; i < o->nconnect_to; i++)
                w->connect_to = curl_slist_append(w->connect_to, o->connect_to[i]);
        hd_wh_conn_defaults(w);
        return w;
}

void hd_wh_conn_free(hd_wh_conn_t *w)
{
        if (!w)
                return;
        curl_easy_cleanup(w->curl);
        curl_slist_free_all(w->connect_to);
        free(w->url);
        free(w);
}

/* CONNECT_TO entries (set once) are the test hook; otherwise the SSRF guard vets the
 * target and the connection is pinned to the vetted address. 0, or -1 (refused). */
static int hd_wh_route(hd_wh_conn_t *w, const char *url, hd_wh_result_t *res)
{
        char host[256], vetted[64];

        if (w->connect_to)
                return 0;
        if (hd_ssrf_check_url(url, w->o->allow, w->o->nallow, host, sizeof(host), vetted,
                              sizeof(vetted), res->error, sizeof(res->error))) {
                res->refused = 1;
                return -1;
        }
        snprintf(w->route_entry, sizeof(w->route_entry), "%s:443:%s", host, vetted);
        w->route = (struct curl_slist){w->route_entry, NULL};
        /* curl loads RESOLVE entries at the start of the next transfer only */
        curl_easy_setopt(w->curl, CURLOPT_RESOLVE, &w->route);
        return 0;
}

/* Optional per-subscription authentication (values are never logged): basic and
 * mTLS options stay on the handle, so they are cleared before the next attempt;
 * a bearer token is one more header line at *tail. */
static void hd_wh_auth(hd_wh_conn_t *w, const json_t *auth, struct curl_slist **tail)
{
        const char *type = json_string_value(json_object_get(auth, "type"));
        CURL *c = w->curl;

        if (w->auth_set) {
                curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
                curl_easy_setopt(c, CURLOPT_USERNAME, NULL);
                curl_easy_setopt(c, CURLOPT_PASSWORD, NULL);
                curl_easy_setopt(c, CURLOPT_SSLCERT, NULL);
                curl_easy_setopt(c, CURLOPT_SSLKEY, NULL);
                w->auth_set = 0;
        }
        if (!type)
                return;
        if (!strcmp(type, "basic")) {
                curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
                curl_easy_setopt(c, CURLOPT_USERNAME, json_string_value(json_object_get(auth, "username")));
                curl_easy_setopt(c, CURLOPT_PASSWORD, json_string_value(json_object_get(auth, "password")));
                w->auth_set = 1;
        } else if (!strcmp(type, "bearer")) {
                snprintf(w->bearer, sizeof(w->bearer), "Authorization: Bearer %s",
                         json_string_value(json_object_get(auth, "token")) ?: "");
                (*tail)->data = w->bearer;
                (*tail)++;
        } else if (!strcmp(type, "mtls")) {
                curl_easy_setopt(c, CURLOPT_SSLCERT, json_string_value(json_object_get(auth, "cert_file")));
                curl_easy_setopt(c, CURLOPT_SSLKEY, json_string_value(json_object_get(auth, "key_file")));
                w->auth_set = 1;
        }
}

void hd_wh_post(hd_wh_conn_t *w, const char *url, const char *body, size_t len,
                const char *const *headers, size_t nheaders, const json_t *auth,
                hd_wh_result_t *res)
{
        struct curl_slist *tail = &w->hdr[2];
        CURL *c = w->curl;
        CURLcode rc;

        memset(res, 0, sizeof(*res));
        if (hd_wh_route(w, url, res))
                return;
        if (nheaders > HD_WH_MAX_HEADERS)
                nheaders = HD_WH_MAX_HEADERS;
        for (size_t i = 0; i < nheaders; i++)
                (tail++)->data = (char *)headers[i]; /* curl only reads them */
        hd_wh_auth(w, auth, &tail);
        for (struct curl_slist *n = w->hdr; n < tail; n++)
                n->next = n + 1 < tail ? n + 1 : NULL;
        /* curl parses the URL per transfer anyway; a copy is made only when it changes */
        if (!w->url || strcmp(w->url, url)) {
                free(w->url);
                w->url = hd_strdup(url);
                curl_easy_setopt(c, CURLOPT_URL, url);
        }
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, res);
        rc = curl_easy_perform(c);
        if (rc == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
        else
                snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror(rc));
}
