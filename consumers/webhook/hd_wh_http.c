/* hd_wh_http: see hd_wh_http.h. */
#include "hd_wh_http.h"
#include "hd_url.h"
#include "hd_wh_h1.h"
#include "hd_util.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <netdb.h>
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
        char host[256];                 /* url's host, */
        char *path;                     /* path and query, */
        struct sockaddr_storage addr;   /* and where it goes (CONNECT_TO or vetted) */
        socklen_t addrlen;
        int addr_fixed;                 /* addr came from a CONNECT_TO entry: kept with url */
        char h2[HD_WH_H2_HOSTS][256];   /* hosts that chose HTTP/2 in ALPN, round robin */
        size_t h2_next;
        char auth_line[4200];
        int url_vetted;                 /* url passed the URL rules */
        char dns_host[256];             /* the last host resolved and vetted, */
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
        free(w->path);
        free(w);
}

/* url's host and path, kept while url stays the same. -1 when it cannot be parsed. */
static int hd_wh_parse(hd_wh_conn_t *w, const char *url, hd_wh_result_t *res)
{
        char *host = NULL, *path = NULL, *query = NULL, *port = NULL;
        CURLU *u;
        int rc = -1;

        if (w->url && !strcmp(w->url, url))
                return 0;
        free(w->url);
        free(w->path);
        w->url = w->path = NULL;
        w->addr_fixed = w->url_vetted = 0;
        if ((u = curl_url()) && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_NO_PORT &&
            strlen(host) < sizeof(w->host)) {
                curl_url_get(u, CURLUPART_QUERY, &query, 0);
                hd_strlcpy(w->host, host, sizeof(w->host));
                w->path = hd_malloc(strlen(path) + (query ? strlen(query) + 2 : 1));
                sprintf(w->path, "%s%s%s", path, query ? "?" : "", query ? query : "");
                w->url = hd_strdup(url);
                rc = 0;
        } else {
                snprintf(res->error, sizeof(res->error),
                         "the URL cannot be parsed or names a port");
                res->refused = 1;
        }
        curl_free(host);
        curl_free(path);
        curl_free(query);
        curl_free(port);
        curl_url_cleanup(u);
        return rc;
}

/* text ("1.2.3.4", "[2001:db8::1]" or a name, resolved) and port into w->addr. */
static int hd_wh_addr(hd_wh_conn_t *w, const char *text, const char *port, hd_wh_result_t *res)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        char bare[256];
        int rc;

        snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(text + (*text == '['), "]"),
                 text + (*text == '['));
        if ((rc = getaddrinfo(bare, port, &hints, &ai)) || !ai) {
                snprintf(res->error, sizeof(res->error), "cannot resolve %s: %s", bare,
                         gai_strerror(rc));
                return -1;
        }
        memcpy(&w->addr, ai->ai_addr, ai->ai_addrlen);
        w->addrlen = ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}

/* The test hook: the first CONNECT_TO entry "HOST:PORT:TO_HOST:TO_PORT" that matches
 * (empty parts match anything), resolved once per URL; no entry: the host itself. */
static int hd_wh_connect_to(hd_wh_conn_t *w, hd_wh_result_t *res)
{
        for (size_t i = 0; !w->addr_fixed && i < w->o->nconnect_to; i++) {
                char e[400], *host = e, *port, *to, *to_port;

                hd_strlcpy(e, w->o->connect_to[i], sizeof(e));
                if (!(port = strchr(host, ':')) || !(to = strchr(port + 1, ':')))
                        continue;
                *port++ = '\0';
                *to++ = '\0';
                if (!(to_port = strrchr(to, ':')) || (*to == '[' && to_port < strchr(to, ']')))
                        continue;
                *to_port++ = '\0';
                if ((*host && strcasecmp(host, w->host)) || (*port && strcmp(port, "443")))
                        continue;
                if (hd_wh_addr(w, *to ? to : w->host, *to_port ? to_port : "443", res))
                        return -1;
                w->addr_fixed = 1;
        }
        if (!w->addr_fixed && hd_wh_addr(w, w->host, "443", res))
                return -1;
        w->addr_fixed = 1;
        return 0;
}

static time_t hd_wh_mono_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec;
}

/* CONNECT_TO entries are the test hook; otherwise the URL rules (once per URL) and
 * the SSRF guard vet the target, and the connection goes to the vetted address (in
 * vetted for curl). A vetted answer is reused for HD_WH_DNS_TTL_S: one lookup a
 * minute per worker and host instead of one per attempt. 0 or -1. */
static int hd_wh_route(hd_wh_conn_t *w, const char *url, char *vetted, size_t vetted_size,
                       hd_wh_result_t *res)
{
        char host[256];
        time_t now;

        if (w->connect_to)
                return hd_wh_connect_to(w, res);
        if (!w->url_vetted) {
                if (hd_url_check_webhook(url, host, sizeof(host), res->error, sizeof(res->error))) {
                        res->refused = 1;
                        return -1;
                }
                w->url_vetted = 1;
        }
        now = hd_wh_mono_s();
        if (strcmp(w->dns_host, w->host) || now >= w->dns_until) {
                w->dns_host[0] = '\0';
                if (hd_ssrf_resolve(w->host, w->o->allow, w->o->nallow, w->dns_vetted,
                                    sizeof(w->dns_vetted), res->error, sizeof(res->error))) {
                        res->refused = 1;
                        return -1;
                }
                hd_strlcpy(w->dns_host, w->host, sizeof(w->dns_host));
                w->dns_until = now + HD_WH_DNS_TTL_S;
        }
        hd_strlcpy(vetted, w->dns_vetted, vetted_size);
        return hd_wh_addr(w, vetted, "443", res);
}

/* Optional per-subscription authentication for the HTTP/1.1 path (values are never
 * logged): an Authorization line, or the client certificate. 0, or -1 (refused). */
static int hd_wh_h1_auth(hd_wh_conn_t *w, const json_t *auth, hd_wh_h1_req_t *rq,
                         hd_wh_result_t *res)
{
        const char *type = json_string_value(json_object_get(auth, "type"));
        char plain[3072];
        int n;

        if (!type)
                return 0;
        if (!strcmp(type, "basic")) {
                n = snprintf(plain, sizeof(plain), "%s:%s",
                             json_string_value(json_object_get(auth, "username")) ?: "",
                             json_string_value(json_object_get(auth, "password")) ?: "");
                if (n < 0 || (size_t)n >= sizeof(plain)) {
                        snprintf(res->error, sizeof(res->error), "basic credentials too long");
                        res->refused = 1;
                        return -1;
                }
                memcpy(w->auth_line, "Authorization: Basic ", 21);
                EVP_EncodeBlock((unsigned char *)w->auth_line + 21, (unsigned char *)plain, n);
                OPENSSL_cleanse(plain, sizeof(plain));
                rq->auth_header = w->auth_line;
        } else if (!strcmp(type, "bearer")) {
                snprintf(w->auth_line, sizeof(w->auth_line), "Authorization: Bearer %s",
                         json_string_value(json_object_get(auth, "token")) ?: "");
                rq->auth_header = w->auth_line;
        } else if (!strcmp(type, "mtls")) {
                rq->cert_file = json_string_value(json_object_get(auth, "cert_file"));
                rq->key_file = json_string_value(json_object_get(auth, "key_file"));
        }
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
                snprintf(w->route_entry, sizeof(w->route_entry), "%s:443:%s", w->host, vetted);
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
                if (!strcmp(w->h2[i], w->host))
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
        if (hd_wh_parse(w, url, res) || hd_wh_route(w, url, vetted, sizeof(vetted), res))
                return;
        if (!hd_wh_is_h2(w)) {
                hd_wh_h1_req_t rq = {
                        .host = w->host, .addr = (const struct sockaddr *)&w->addr,
                        .addrlen = w->addrlen, .path = w->path, .headers = headers,
                        .nheaders = nheaders, .body = body, .body_len = len,
                        .connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 5000,
                        .total_timeout_ms = o->total_timeout_ms ? o->total_timeout_ms : 15000};

                if (hd_wh_h1_auth(w, auth, &rq, res) ||
                    hd_wh_h1_post(w->h1, &rq, res) == HD_WH_H1_DONE)
                        return;
                hd_strlcpy(w->h2[w->h2_next++ % HD_WH_H2_HOSTS], w->host, sizeof(w->h2[0]));
                memset(res, 0, sizeof(*res));
        }
        hd_wh_post_curl(w, url, vetted, body, len, headers, nheaders, auth, res);
}
