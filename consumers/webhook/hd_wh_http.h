/*
 * hd_wh_http: one webhook attempt over HTTPS with every safety rail DESIGN §7
 * asks for: https only, TLS verification always on (an extra CA file can be
 * given), the host resolved and vetted by the SSRF guard and the connection
 * pinned to the vetted address, redirects never followed (a 3xx is a failure),
 * connect timeout 5 s, total 15 s, HTTP/2 when the server offers it. Test-only
 * settings (CONNECT_TO entries, a CIDR allow-list) are explicit arguments.
 * HTTP/1.1 goes through hd_wh_h1 (herald's own client); a host that chooses h2
 * in ALPN is remembered and served by libcurl.
 */
#ifndef HD_WH_HTTP_H
#define HD_WH_HTTP_H

#include <stddef.h>
#include "hd_ssrf.h"

#include <jansson.h>

typedef struct hd_wh_target_opts {
        const char *ca_file;              /* extra trust anchor, or NULL */
        const char *const *connect_to;    /* "host:443:addr:port" entries (tests) */
        size_t nconnect_to;
        const hd_cidr_t *allow;           /* allow-listed ranges (tests) */
        size_t nallow;
        long connect_timeout_ms, total_timeout_ms;
} hd_wh_target_opts_t;

typedef struct hd_wh_result {
        long status;           /* HTTP status, 0 when there was no answer */
        char retry_after[64];  /* the Retry-After header, if any */
        char error[256];       /* network/TLS/SSRF reason when status is 0 */
        int refused;           /* 1: refused before sending (target, content): never retried */
        char reason[64];       /* the DLQ reason when refused, "" = target_refused */
} hd_wh_result_t;

/* One worker's HTTP state: its HTTP/1.1 client (live connections), the parsed
 * target of the last URL, and for HTTP/2 hosts a curl handle with the options that
 * never change set once and the header list reused for every attempt. */
typedef struct hd_wh_conn hd_wh_conn_t;

/* A connection state for targets under opts (kept by the caller, must outlive it);
 * NULL when curl cannot make a handle. */
hd_wh_conn_t *hd_wh_conn_new(const hd_wh_target_opts_t *opts);
void hd_wh_conn_free(hd_wh_conn_t *conn);

#define HD_WH_MAX_HEADERS 4 /* extra header lines per attempt */

/*
 * POSTs body (len bytes) with the given extra header lines (at most
 * HD_WH_MAX_HEADERS) to url through conn. auth (may be NULL) is the
 * subscription's {"type":"basic"|"bearer"|"mtls",…}. Always fills res.
 */
void hd_wh_post(hd_wh_conn_t *conn, const char *url, const char *body, size_t len,
                const char *const *headers, size_t nheaders, const json_t *auth,
                hd_wh_result_t *res);

#endif
