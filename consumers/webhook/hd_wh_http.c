/* hd_wh_http: see hd_wh_http.h. */
#include "hd_wh_http.h"
#include "hd_wh_target.h"
#include "hd_wh_h1.h"
#include "hd_util.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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

#define HD_WH_H2_HOSTS 8

struct hd_wh_conn {
        hd_wh_h1_t *h1;                 /* the HTTP/1.1 path: every host by default */
        CURL *curl;                     /* hosts that chose HTTP/2; made when first needed */
        const hd_wh_target_opts_t *o;
        struct curl_slist *connect_to;  /* from o, made once */
        struct curl_slist route;        /* the SSRF-pinned CURLOPT_RESOLVE entry */
        char route_entry[400];
        struct curl_slist hdr[3 + HD_WH_MAX_HEADERS]; /* linked anew per attempt */
        char bearer[4200];
        char *url;                      /* the URL last given to curl */
        int auth_set;                   /* basic or mTLS options are on the handle */
        hd_wh_url_t target;             /* url's host and path, */
        struct sockaddr_storage addr;   /* and where its host goes (CONNECT_TO or vetted) */
        socklen_t addrlen;
        char h2[HD_WH_H2_HOSTS][256];   /* hosts that chose HTTP/2 in ALPN, round robin */
        size_t h2_next;
        char auth_line[4200];
        char dns_host[256];             /* the last host resolved (and vetted), */
        char dns_vetted[64];            /* its vetted address */
        time_t dns_until;               /* and until when it is reused (monotonic s) */
};

#define HD_WH_DNS_TTL_S 60 /* as curl's DNS cache: a host is resolved once a minute */

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

        char err[256];

        w->o = o;
        if (!(w->h1 = hd_wh_h1_new(o->ca_file, err, sizeof(err)))) {
                free(w);
                return NULL;
        }
        for (size_t i = 0; i < o->nconnect_to; i++)
                w->connect_to = curl_slist_append(w->connect_to, o->connect_to[i]);
        return w;
}

void hd_wh_conn_free(hd_wh_conn_t *w)
{
        if (!w)
                return;
        hd_wh_h1_free(w->h1);
        if (w->curl)
                curl_easy_cleanup(w->curl);
        curl_slist_free_all(w->connect_to);
        free(w->url);
        hd_wh_url_clear(&w->target);
        free(w);
}

/* Where url goes: its parts (kept while the URL stays the same; the URL rules are
 * checked then, unless CONNECT_TO entries are set) and the address, reused for
 * HD_WH_DNS_TTL_S: one lookup a minute per worker and host instead of one per
 * attempt, each answer vetted again. 0, or -1 with res->error. */
static int hd_wh_route(hd_wh_conn_t *w, const char *url, char *vetted, size_t vetted_size,
                       hd_wh_result_t *res)
{
        time_t now = (time_t)(hd_mono_us() / 1000000);

        if (!w->url || strcmp(w->url, url)) {
                free(w->url);
                w->url = NULL;
                hd_wh_url_clear(&w->target);
                if (hd_wh_url_parse(url, !w->connect_to, &w->target, res))
                        return -1;
                w->url = hd_strdup(url);
        }
        if (strcmp(w->dns_host, w->target.host) || now >= w->dns_until) {
                w->dns_host[0] = '\0';
                if (hd_wh_resolve(w->o, w->target.host, &w->addr, &w->addrlen, w->dns_vetted,
                                  sizeof(w->dns_vetted), res))
                        return -1;
                hd_strlcpy(w->dns_host, w->target.host, sizeof(w->dns_host));
                w->dns_until = now + HD_WH_DNS_TTL_S;
        }
        hd_strlcpy(vetted, w->dns_vetted, vetted_size);
        return 0;
}

/* Optional per-subscription authentication for curl: basic and mTLS options stay
 * on the handle, so they are cleared before the next attempt; a bearer token is
 * one more header line at *tail. */
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

/* The HTTP/2 path: curl, for hosts that chose h2 in ALPN. */
static void hd_wh_post_curl(hd_wh_conn_t *w, const char *url, const char *vetted,
                            const char *body, size_t len, const char *const *headers,
                            size_t nheaders, const json_t *auth, hd_wh_result_t *res)
{
        struct curl_slist *tail = &w->hdr[2];
        CURLcode rc;
        CURL *c;

        if (!w->curl) {
                if (!(w->curl = curl_easy_init())) {
                        snprintf(res->error, sizeof(res->error), "cannot make a curl handle");
                        return;
                }
                hd_wh_conn_defaults(w);
        }
        c = w->curl;
        if (!w->connect_to) {
                snprintf(w->route_entry, sizeof(w->route_entry), "%s:443:%s", w->target.host, vetted);
                w->route = (struct curl_slist){w->route_entry, NULL};
                /* curl loads RESOLVE entries at the start of the next transfer only */
                curl_easy_setopt(c, CURLOPT_RESOLVE, &w->route);
        }
        for (size_t i = 0; i < nheaders; i++)
                (tail++)->data = (char *)headers[i]; /* curl only reads them */
        hd_wh_auth(w, auth, &tail);
        for (struct curl_slist *n = w->hdr; n < tail; n++)
                n->next = n + 1 < tail ? n + 1 : NULL;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, res);
        rc = curl_easy_perform(c);
        if (rc == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
        else
                snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror(rc));
}

static int hd_wh_is_h2(const hd_wh_conn_t *w)
{
        for (size_t i = 0; i < HD_WH_H2_HOSTS; i++)
                if (!strcmp(w->h2[i], w->target.host))
                        return 1;
        return 0;
}

void hd_wh_post(hd_wh_conn_t *w, const char *url, const char *body, size_t len,
                const char *const *headers, size_t nheaders, const json_t *auth,
                hd_wh_result_t *res)
{
        const hd_wh_target_opts_t *o = w->o;
        char vetted[64] = "";

        memset(res, 0, sizeof(*res));
        if (nheaders > HD_WH_MAX_HEADERS)
                nheaders = HD_WH_MAX_HEADERS;
        if (hd_wh_route(w, url, vetted, sizeof(vetted), res))
                return;
        if (!hd_wh_is_h2(w)) {
                hd_wh_h1_req_t rq = {
                        .host = w->target.host, .addr = (const struct sockaddr *)&w->addr,
                        .addrlen = w->addrlen, .path = w->target.path, .headers = headers,
                        .nheaders = nheaders, .body = body, .body_len = len,
                        .connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 5000,
                        .total_timeout_ms = o->total_timeout_ms ? o->total_timeout_ms : 15000};

                if (hd_wh_h1_auth(auth, &rq, w->auth_line, sizeof(w->auth_line), res) ||
                    hd_wh_h1_post(w->h1, &rq, res) == HD_WH_H1_DONE)
                        return;
                hd_strlcpy(w->h2[w->h2_next++ % HD_WH_H2_HOSTS], w->target.host, sizeof(w->h2[0]));
                memset(res, 0, sizeof(*res));
        }
        hd_wh_post_curl(w, url, vetted, body, len, headers, nheaders, auth, res);
}
