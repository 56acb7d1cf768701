/*
 * hd_wh_h1: herald's own HTTP/1.1 client over OpenSSL, the webhook hot path.
 *
 * Why not libcurl here: a webhook attempt is one small POST on a kept-alive TLS
 * connection, and curl's per-transfer machinery (its state machine, connection
 * cache, header generation and polling) cost ~25-30 µs of CPU per request on the
 * benchmark machine where one SSL_write and one SSL_read cost ~13 µs. This
 * module does only that: a few kept-alive connections per worker (keyed by
 * host, address and client certificate), one write per request, a response
 * parser for status, Content-Length, chunked bodies, Connection: close and
 * Retry-After. Everything else stays with curl (hd_wh_http.c): when the server
 * chooses HTTP/2 in ALPN the caller is told so and uses curl for that host.
 *
 * Safety rails are the caller's (SSRF vetting, the address to connect to) and
 * this module's: certificate and host name verification always on, TLS 1.2 or
 * later, connect and total timeouts, bounded header and body reading, no
 * redirects (a 3xx is returned as it is), header values checked for CR/LF.
 * Writes to a socket the peer closed raise SIGPIPE: the process ignores it
 * (both daemons do).
 */
#ifndef HD_WH_H1_H
#define HD_WH_H1_H

#include <stddef.h>
#include <sys/socket.h>

#include "hd_wh_h1_proto.h"
#include "hd_wh_http.h"

typedef struct hd_wh_h1 hd_wh_h1_t;

/* One worker's client: its TLS context (ca_file: the only trust anchors when set,
 * else the system's) and its live connections. NULL with errstr. */
hd_wh_h1_t *hd_wh_h1_new(const char *ca_file, char *errstr, size_t errstr_size);
void hd_wh_h1_free(hd_wh_h1_t *h);

#define HD_WH_H1_DONE 0     /* res holds the answer, or the failure in res->error */
#define HD_WH_H1_USE_H2 1   /* the server chose HTTP/2: nothing was sent */

/* POSTs req; fills res (status, Retry-After, or error with status 0). */
int hd_wh_h1_post(hd_wh_h1_t *h, const hd_wh_h1_req_t *req, hd_wh_result_t *res);

#endif
