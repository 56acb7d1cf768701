/* hd_wh_h1: see hd_wh_h1.h. */
#include "hd_wh_h1.h"
#include "hd_util.h"

#include <openssl/err.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HD_H1_SLOTS 4 /* live connections per worker */

typedef struct hd_h1_slot {
        SSL *ssl;
        int fd;
        struct sockaddr_storage addr;
        socklen_t addrlen;
        char *host, *cert, *key;
        uint64_t used;            /* LRU tick */
} hd_h1_slot_t;

struct hd_wh_h1 {
        SSL_CTX *ctx;
        hd_h1_slot_t slot[HD_H1_SLOTS];
        uint64_t tick;
        hd_wh_buf_t req;          /* the request being sent */
        hd_wh_h1_resp_t resp;     /* the answer being read */
        char buf[16384];
};

hd_wh_h1_t *hd_wh_h1_new(const char *ca_file, char *errstr, size_t errstr_size)
{
        hd_wh_h1_t *h = hd_calloc(1, sizeof(*h));

        if (!(h->ctx = hd_wh_h1_ctx_new(ca_file, errstr, errstr_size))) {
                free(h);
                return NULL;
        }
        for (size_t i = 0; i < HD_H1_SLOTS; i++)
                h->slot[i].fd = -1;
        return h;
}

static void hd_h1_slot_close(hd_h1_slot_t *s)
{
        SSL_free(s->ssl);
        if (s->fd >= 0)
                close(s->fd);
        free(s->host);
        free(s->cert);
        free(s->key);
        memset(s, 0, sizeof(*s));
        s->fd = -1;
}

void hd_wh_h1_free(hd_wh_h1_t *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < HD_H1_SLOTS; i++)
                hd_h1_slot_close(&h->slot[i]);
        SSL_CTX_free(h->ctx);
        free(h->req.p);
        free(h);
}

static int hd_h1_streq(const char *a, const char *b)
{
        return a == b || (a && b && !strcmp(a, b));
}

/* The live connection for req (same host, address and client certificate), or NULL. */
static hd_h1_slot_t *hd_h1_find(hd_wh_h1_t *h, const hd_wh_h1_req_t *rq)
{
        for (size_t i = 0; i < HD_H1_SLOTS; i++) {
                hd_h1_slot_t *s = &h->slot[i];

                if (s->ssl && s->addrlen == rq->addrlen && !memcmp(&s->addr, rq->addr, rq->addrlen) &&
                    !strcmp(s->host, rq->host) && hd_h1_streq(s->cert, rq->cert_file) &&
                    hd_h1_streq(s->key, rq->key_file))
                        return s;
        }
        return NULL;
}

static hd_h1_slot_t *hd_h1_lru(hd_wh_h1_t *h)
{
        hd_h1_slot_t *best = &h->slot[0];

        for (size_t i = 1; i < HD_H1_SLOTS; i++)
                if (!h->slot[i].ssl || (best->ssl && h->slot[i].used < best->used))
                        best = &h->slot[i];
        hd_h1_slot_close(best);
        return best;
}

/* Socket timeouts (ms > 0; which: 1 receive, 2 send); blocking calls then fail
 * with EAGAIN. */
static void hd_h1_timeouts(int fd, int64_t ms, int which)
{
        struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

        if (which & 1)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (which & 2)
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A TCP connection to addr within ms: the socket (blocking, no Nagle), or -1. */
static int hd_h1_tcp(const hd_wh_h1_req_t *rq, int64_t ms, hd_wh_result_t *res)
{
        int fd = socket(rq->addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int err = 0, one = 1;
        socklen_t elen = sizeof(err);
        char at[80];

        if (fd < 0) {
                snprintf(res->error, sizeof(res->error), "socket: %s", strerror(errno));
                return -1;
        }
        if (connect(fd, rq->addr, rq->addrlen) && errno != EINPROGRESS) {
                err = errno;
        } else {
                struct pollfd p = {fd, POLLOUT, 0};
                int n = poll(&p, 1, (int)(ms > 0 ? ms : 0));

                if (n == 0)
                        err = ETIMEDOUT;
                else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
                        err = errno;
        }
        if (err) {
                snprintf(res->error, sizeof(res->error), "connect to %s: %s",
                         hd_wh_addr_text(rq->addr, at, sizeof(at)),
                         err == ETIMEDOUT ? "connection timed out" : strerror(err));
                close(fd);
                return -1;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return fd;
}

/* A new connection for req in slot s: 0, -1 (res->error) or HD_WH_H1_USE_H2. */
static int hd_h1_connect(hd_wh_h1_t *h, hd_h1_slot_t *s, const hd_wh_h1_req_t *rq,
                         int64_t deadline, hd_wh_result_t *res)
{
        int64_t left = deadline - hd_mono_us() / 1000, ms = rq->connect_timeout_ms;
        char what[320];
        int rc;

        if (ms <= 0 || ms > left)
                ms = left;
        if ((s->fd = hd_h1_tcp(rq, ms, res)) < 0)
                return -1;
        if (!(s->ssl = hd_wh_h1_tls_new(h->ctx, s->fd, rq, res)))
                return -1;
        ms = deadline - hd_mono_us() / 1000;
        hd_h1_timeouts(s->fd, ms > 0 ? ms : 1, 3);
        ERR_clear_error();
        errno = 0;
        if ((rc = SSL_connect(s->ssl)) != 1) {
                snprintf(what, sizeof(what), "TLS handshake with %s", rq->host);
                hd_wh_h1_ssl_error(s->ssl, rc, errno, what, res);
                return -1;
        }
        if (hd_wh_h1_is_h2(s->ssl))
                return HD_WH_H1_USE_H2;
        memcpy(&s->addr, rq->addr, rq->addrlen);
        s->addrlen = rq->addrlen;
        s->host = hd_strdup(rq->host);
        s->cert = rq->cert_file ? hd_strdup(rq->cert_file) : NULL;
        s->key = rq->key_file ? hd_strdup(rq->key_file) : NULL;
        return 0;
}

/* One SSL_read within the deadline: bytes (> 0), or -1 with res->error. */
static int hd_h1_read(SSL *ssl, int fd, char *p, size_t cap, int64_t deadline,
                      hd_wh_result_t *res)
{
        int64_t left = deadline - hd_mono_us() / 1000;
        int n;

        if (left <= 0) {
                snprintf(res->error, sizeof(res->error), "reading the response: timed out");
                return -1;
        }
        if (SSL_pending(ssl) <= 0)
                hd_h1_timeouts(fd, left, 1);
        ERR_clear_error();
        errno = 0;
        if ((n = SSL_read(ssl, p, (int)cap)) <= 0) {
                hd_wh_h1_ssl_error(ssl, n, errno, "reading the response", res);
                return -1;
        }
        return n;
}

/* Sends the request on s and reads the answer into res: 0 when answered (the slot is
 * closed when it cannot be kept), -1 with res->error; *got: response bytes seen. */
static int hd_h1_exchange(hd_wh_h1_t *h, hd_h1_slot_t *s, int64_t deadline, hd_wh_result_t *res,
                          size_t *got)
{
        hd_wh_h1_resp_t *r = &h->resp;
        hd_wh_result_t scratch;
        int rc;

        ERR_clear_error();
        errno = 0;
        if ((rc = SSL_write(s->ssl, h->req.p, (int)h->req.len)) != (int)h->req.len) {
                hd_wh_h1_ssl_error(s->ssl, rc, errno, "sending the request", res);
                return -1;
        }
        hd_wh_h1_resp_init(r);
        do {
                /* once the status is known, a failure to read the rest leaves it */
                int n = hd_h1_read(s->ssl, s->fd, h->buf, sizeof(h->buf), deadline,
                                   r->in_body ? &scratch : res);

                if (n < 0) {
                        *got = r->got;
                        if (!r->in_body)
                                return -1;
                        hd_h1_slot_close(s);
                        return 0;
                }
                if ((rc = hd_wh_h1_resp_feed(r, h->buf, (size_t)n, res)) < 0) {
                        *got = r->got;
                        return -1;
                }
        } while (rc != HD_H1_COMPLETE);
        if (!r->keep)
                hd_h1_slot_close(s);
        return 0;
}

int hd_wh_h1_post(hd_wh_h1_t *h, const hd_wh_h1_req_t *rq, hd_wh_result_t *res)
{
        int64_t deadline =
                hd_mono_us() / 1000 + (rq->total_timeout_ms > 0 ? rq->total_timeout_ms : 15000);

        if (hd_wh_h1_build(&h->req, rq, res))
                return HD_WH_H1_DONE;
        for (int round = 0; round < 2; round++) {
                hd_h1_slot_t *s = hd_h1_find(h, rq);
                int reused = s != NULL, rc;
                size_t got = 0;

                if (!s) {
                        s = hd_h1_lru(h);
                        if ((rc = hd_h1_connect(h, s, rq, deadline, res))) {
                                hd_h1_slot_close(s);
                                return rc == HD_WH_H1_USE_H2 ? HD_WH_H1_USE_H2 : HD_WH_H1_DONE;
                        }
                }
                s->used = ++h->tick;
                if (!hd_h1_exchange(h, s, deadline, res, &got))
                        return HD_WH_H1_DONE;
                hd_h1_slot_close(s);
                /* A kept-alive connection the server had already closed fails before
                 * any answer: once more on a new connection, as curl does. */
                if (!reused || got)
                        return HD_WH_H1_DONE;
                res->error[0] = '\0';
        }
        return HD_WH_H1_DONE;
}
