/* hd_wh_target: see hd_wh_target.h. */
#include "hd_wh_target.h"
#include "hd_ssrf.h"
#include "hd_url.h"
#include "hd_util.h"

#include <curl/curl.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void hd_wh_url_clear(hd_wh_url_t *u)
{
        free(u->path);
        memset(u, 0, sizeof(*u));
}

int hd_wh_url_parse(const char *url, int check_rules, hd_wh_url_t *u, hd_wh_result_t *res)
{
        char *host = NULL, *path = NULL, *query = NULL, *port = NULL, rules_host[256];
        CURLU *cu;
        int rc = -1;

        memset(u, 0, sizeof(*u));
        if (check_rules &&
            hd_url_check_webhook(url, rules_host, sizeof(rules_host), res->error, sizeof(res->error))) {
                res->refused = 1;
                return -1;
        }
        if ((cu = curl_url()) && curl_url_set(cu, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(cu, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(cu, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
            curl_url_get(cu, CURLUPART_PORT, &port, 0) == CURLUE_NO_PORT &&
            strlen(host) < sizeof(u->host)) {
                curl_url_get(cu, CURLUPART_QUERY, &query, 0);
                hd_strlcpy(u->host, host, sizeof(u->host));
                u->path = hd_malloc(strlen(path) + (query ? strlen(query) + 2 : 1));
                sprintf(u->path, "%s%s%s", path, query ? "?" : "", query ? query : "");
                rc = 0;
        } else {
                snprintf(res->error, sizeof(res->error), "the URL cannot be parsed or names a port");
                res->refused = 1;
        }
        curl_free(host);
        curl_free(path);
        curl_free(query);
        curl_free(port);
        curl_url_cleanup(cu);
        return rc;
}

/* text ("1.2.3.4", "[2001:db8::1]" or a name, resolved) and port into addr. */
static int hd_wh_addr(const char *text, const char *port, struct sockaddr_storage *addr,
                      socklen_t *addrlen, hd_wh_result_t *res)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        const char *t = text + (*text == '[');
        char bare[256];
        int rc;

        snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(t, "]"), t);
        if ((rc = getaddrinfo(bare, port, &hints, &ai)) || !ai) {
                snprintf(res->error, sizeof(res->error), "cannot resolve %s: %s", bare,
                         gai_strerror(rc));
                return -1;
        }
        memcpy(addr, ai->ai_addr, ai->ai_addrlen);
        *addrlen = ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}

/* The test hook: the first entry "HOST:PORT:TO_HOST:TO_PORT" matching host on 443
 * (empty parts match anything); 1 when one matched (resolved), 0 when none, -1. */
static int hd_wh_connect_to(const hd_wh_target_opts_t *o, const char *host,
                            struct sockaddr_storage *addr, socklen_t *addrlen,
                            hd_wh_result_t *res)
{
        for (size_t i = 0; i < o->nconnect_to; i++) {
                char e[400], *h = e, *port, *to, *to_port;

                hd_strlcpy(e, o->connect_to[i], sizeof(e));
                if (!(port = strchr(h, ':')) || !(to = strchr(port + 1, ':')))
                        continue;
                *port++ = '\0';
                *to++ = '\0';
                if (!(to_port = strrchr(to, ':')) || (*to == '[' && to_port < strchr(to, ']')))
                        continue;
                *to_port++ = '\0';
                if ((*h && strcasecmp(h, host)) || (*port && strcmp(port, "443")))
                        continue;
                return hd_wh_addr(*to ? to : host, *to_port ? to_port : "443", addr, addrlen,
                                  res) ? -1 : 1;
        }
        return 0;
}

int hd_wh_resolve(const hd_wh_target_opts_t *o, const char *host, struct sockaddr_storage *addr,
                  socklen_t *addrlen, char *vetted, size_t vetted_size, hd_wh_result_t *res)
{
        int rc;

        vetted[0] = '\0';
        if (o->nconnect_to) {
                if ((rc = hd_wh_connect_to(o, host, addr, addrlen, res)))
                        return rc < 0 ? -1 : 0;
                return hd_wh_addr(host, "443", addr, addrlen, res);
        }
        if (hd_ssrf_resolve(host, o->allow, o->nallow, vetted, vetted_size, res->error,
                            sizeof(res->error))) {
                res->refused = 1;
                return -1;
        }
        return hd_wh_addr(vetted, "443", addr, addrlen, res);
}
