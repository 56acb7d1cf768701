/*
 * hd_wh_target: where a webhook URL goes, for both HTTP clients. The URL's host
 * and path (libcurl's parser, as the URL rules use), and the address to connect
 * to: the first matching CONNECT_TO entry (test-only configuration), or the
 * address the SSRF guard resolved and vetted. Stateless: callers cache.
 */
#ifndef HD_WH_TARGET_H
#define HD_WH_TARGET_H

#include <stddef.h>
#include <sys/socket.h>

#include "hd_wh_http.h"

typedef struct hd_wh_url {
        char host[256];
        char *path;   /* path and query (malloc'd) */
} hd_wh_url_t;

/* Fills u from url; with check_rules the URL rules apply first (https, no port,
 * no userinfo, …). -1 with res->error and res->refused. */
int hd_wh_url_parse(const char *url, int check_rules, hd_wh_url_t *u, hd_wh_result_t *res);
void hd_wh_url_clear(hd_wh_url_t *u);

/* The address for host under o (a CONNECT_TO entry, else the SSRF-vetted one; the
 * vetted text goes to vetted for curl's RESOLVE). May block on DNS. 0, or -1 with
 * res->error (res->refused when the guard refused it). */
int hd_wh_resolve(const hd_wh_target_opts_t *o, const char *host, struct sockaddr_storage *addr,
                  socklen_t *addrlen, char *vetted, size_t vetted_size, hd_wh_result_t *res);

#endif
