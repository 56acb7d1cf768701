/*
 * hd_wh_h1_proto: HTTP/1.1 on the wire and its TLS set-up, shared by herald's
 * blocking client (hd_wh_h1.c, one worker thread per attempt) and its
 * event-driven one (hd_wh_aio.c, every attempt on one I/O thread): the request
 * written into one buffer (CR/LF refused in every header value and the path),
 * the answer parsed incrementally from whatever bytes arrive (interim 1xx
 * skipped; status, Content-Length, chunked, Connection: close, Retry-After;
 * head at most 16 KiB, bodies drained up to 1 MiB, beyond that the connection is
 * not kept), the TLS context (TLS 1.2+, verification always on, ALPN h2 and
 * http/1.1) and a session for one connection (SNI, host name or IP check,
 * client certificate).
 */
#ifndef HD_WH_H1_PROTO_H
#define HD_WH_H1_PROTO_H

#include <stddef.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "hd_wh_http.h"

#define HD_H1_HEAD_MAX 16384
#define HD_H1_BODY_MAX (1 << 20)

typedef struct hd_wh_h1_req {
        const char *host;            /* URL host: SNI, verification, Host: */
        const struct sockaddr *addr; /* where to connect (vetted by the caller) */
        socklen_t addrlen;
        const char *path;            /* path and query, starting with '/' */
        const char *const *headers;  /* extra "Name: value" lines */
        size_t nheaders;
        const char *auth_header;     /* "Authorization: …" line, or NULL */
        const char *cert_file, *key_file; /* client certificate (mTLS), or NULL */
        const char *body;
        size_t body_len;
        long connect_timeout_ms, total_timeout_ms;
} hd_wh_h1_req_t;

typedef struct hd_wh_buf {
        char *p;
        size_t len, cap;
} hd_wh_buf_t;

/* The request into b (reset first); -1 with res->error and res->refused when a
 * header value or the path would break the request's lines. */
int hd_wh_h1_build(hd_wh_buf_t *b, const hd_wh_h1_req_t *rq, hd_wh_result_t *res);

/* Chunked-body framing, fed any number of bytes at a time. */
typedef struct hd_wh_chunks {
        int st;
        unsigned long long n;
        int digits;
} hd_wh_chunks_t;

/* An answer being read. */
typedef struct hd_wh_h1_resp {
        char head[HD_H1_HEAD_MAX];
        size_t have, scan;           /* head bytes held; where to look for its end */
        int in_body, done, keep;     /* keep: the connection can carry the next request */
        int mode;                    /* how the body is framed */
        unsigned long long left, body;
        hd_wh_chunks_t ch;
        size_t got;                  /* bytes fed in all */
} hd_wh_h1_resp_t;

#define HD_H1_MORE 0
#define HD_H1_COMPLETE 1

void hd_wh_h1_resp_init(hd_wh_h1_resp_t *r);

/* Feeds n bytes of the answer: HD_H1_COMPLETE (res->status, Retry-After; r->keep),
 * HD_H1_MORE, or -1 with res->error (not HTTP/1.x, head too large). Once the
 * status is known (r->in_body) a later failure to read leaves it standing. */
int hd_wh_h1_resp_feed(hd_wh_h1_resp_t *r, const char *p, size_t n, hd_wh_result_t *res);

/*
 * Frames one whole answer p[0..n) as the clients read it: the status, or -1 when
 * it is not HTTP/1.x or incomplete; *keep: whether the connection could carry the
 * next request. The parser's entry for fuzzing and tests.
 */
long hd_wh_h1_frame(const char *p, size_t n, int *keep);

/* The subscription's optional authentication ({"type":"basic"|"bearer"|"mtls",…}):
 * an Authorization line written into line (rq->auth_header), or the client
 * certificate (rq->cert_file/key_file). Values are never logged. 0, or -1 with
 * res->error and res->refused. */
int hd_wh_h1_auth(const json_t *auth, hd_wh_h1_req_t *rq, char *line, size_t line_size,
                  hd_wh_result_t *res);

/* A client TLS context: ca_file the only anchors when set, else the system's.
 * NULL with errstr. */
SSL_CTX *hd_wh_h1_ctx_new(const char *ca_file, char *errstr, size_t errstr_size);

/* A TLS session on fd for rq (SNI, host name or IP verification, client
 * certificate); NULL with res->error. */
SSL *hd_wh_h1_tls_new(SSL_CTX *ctx, int fd, const hd_wh_h1_req_t *rq, hd_wh_result_t *res);

/* Whether the server chose HTTP/2 in ALPN. */
int hd_wh_h1_is_h2(SSL *ssl);

/* res->error = "what: reason" for a failed SSL call (timeout, verification,
 * OpenSSL's reason, closed, errno); clears OpenSSL's error queue. */
void hd_wh_h1_ssl_error(SSL *ssl, int rc, int sys_errno, const char *what, hd_wh_result_t *res);

/* "1.2.3.4:443" / "[::1]:443" for messages. */
const char *hd_wh_addr_text(const struct sockaddr *sa, char *out, size_t size);

#endif
