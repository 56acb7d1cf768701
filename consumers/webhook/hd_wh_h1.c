/* hd_wh_h1: see hd_wh_h1.h. */
#include "hd_wh_h1.h"
#include "hd_util.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HD_H1_SLOTS 4             /* live connections per worker */
#define HD_H1_HEAD_MAX 16384      /* response head (status line and headers) */
#define HD_H1_BODY_MAX (1 << 20)  /* bodies drained to keep a connection; larger: closed */

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
        char *req;                /* the request being sent */
        size_t req_len, req_cap;
        char buf[HD_H1_HEAD_MAX];
};

static int64_t hd_h1_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

hd_wh_h1_t *hd_wh_h1_new(const char *ca_file, char *errstr, size_t errstr_size)
{
        static const unsigned char alpn[] = "\x02h2\x08http/1.1";
        hd_wh_h1_t *h = hd_calloc(1, sizeof(*h));
        int ok;

        h->ctx = SSL_CTX_new(TLS_client_method());
        if (!h->ctx) {
                free(h);
                hd_seterr(errstr, errstr_size, "cannot make a TLS context");
                return NULL;
        }
        SSL_CTX_set_min_proto_version(h->ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(h->ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_alpn_protos(h->ctx, alpn, sizeof(alpn) - 1);
        /* As with curl's CAINFO: a CA file replaces the system's anchors. */
        ok = ca_file ? SSL_CTX_load_verify_locations(h->ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(h->ctx);
        if (ok != 1) {
                hd_seterr(errstr, errstr_size, "cannot load the CA certificates%s%s",
                          ca_file ? " from " : "", ca_file ? ca_file : "");
                hd_wh_h1_free(h);
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
        free(h->req);
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

static const char *hd_h1_addr_text(const struct sockaddr *sa, char *out, size_t size)
{
        const void *a = sa->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                                                  : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
        int port = ntohs(sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
                                                   : ((const struct sockaddr_in *)sa)->sin_port);
        char ip[INET6_ADDRSTRLEN] = "?";

        inet_ntop(sa->sa_family, a, ip, sizeof(ip));
        snprintf(out, size, sa->sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port);
        return out;
}

/* Both socket timeouts to ms (> 0); blocking calls then fail with EAGAIN. */
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
                         hd_h1_addr_text(rq->addr, at, sizeof(at)),
                         err == ETIMEDOUT ? "connection timed out" : strerror(err));
                close(fd);
                return -1;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return fd;
}

/* OpenSSL's reason for a failed call, or the socket's. */
static void hd_h1_ssl_error(SSL *ssl, int rc, const char *what, hd_wh_result_t *res)
{
        int e = SSL_get_error(ssl, rc), sys = errno;
        unsigned long code = ERR_peek_last_error();
        char reason[160];

        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
            (e == SSL_ERROR_SYSCALL && (sys == EAGAIN || sys == EWOULDBLOCK)))
                snprintf(reason, sizeof(reason), "timed out");
        else if (SSL_get_verify_result(ssl) != X509_V_OK)
                snprintf(reason, sizeof(reason), "certificate verify failed: %s",
                         X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
        else if (code)
                ERR_error_string_n(code, reason, sizeof(reason));
        else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !sys))
                snprintf(reason, sizeof(reason), "connection closed by the server");
        else
                snprintf(reason, sizeof(reason), "%s", strerror(sys));
        snprintf(res->error, sizeof(res->error), "%s: %s", what, reason);
        ERR_clear_error();
}

/* TLS on fd for req: SNI, host name (or IP) verification, client certificate. */
static SSL *hd_h1_tls_new(hd_wh_h1_t *h, int fd, const hd_wh_h1_req_t *rq, hd_wh_result_t *res)
{
        SSL *ssl = SSL_new(h->ctx);
        unsigned char ip[16];
        int is_ip = inet_pton(AF_INET, rq->host, ip) == 1 || strchr(rq->host, ':');

        if (!ssl || !SSL_set_fd(ssl, fd)) {
                snprintf(res->error, sizeof(res->error), "cannot make a TLS session");
                SSL_free(ssl);
                return NULL;
        }
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (is_ip) {
                char bare[64];

                snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(rq->host + (*rq->host == '['), "]"),
                         rq->host + (*rq->host == '['));
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), bare);
        } else {
                SSL_set_tlsext_host_name(ssl, rq->host);
                SSL_set1_host(ssl, rq->host);
        }
        if (rq->cert_file &&
            (SSL_use_certificate_chain_file(ssl, rq->cert_file) != 1 ||
             SSL_use_PrivateKey_file(ssl, rq->key_file ? rq->key_file : rq->cert_file,
                                     SSL_FILETYPE_PEM) != 1)) {
                snprintf(res->error, sizeof(res->error),
                         "cannot load the client certificate or key of the subscription");
                ERR_clear_error();
                SSL_free(ssl);
                return NULL;
        }
        return ssl;
}

/* A new connection for req in slot s: HD_WH_H1_DONE (0), -1 (res->error) or
 * HD_WH_H1_USE_H2. */
static int hd_h1_connect(hd_wh_h1_t *h, hd_h1_slot_t *s, const hd_wh_h1_req_t *rq,
                         int64_t deadline, hd_wh_result_t *res)
{
        int64_t left = deadline - hd_h1_now_ms(), ms = rq->connect_timeout_ms;
        const unsigned char *proto = NULL;
        unsigned int plen = 0;
        char what[320];
        int rc;

        if (ms <= 0 || ms > left)
                ms = left;
        if ((s->fd = hd_h1_tcp(rq, ms, res)) < 0)
                return -1;
        if (!(s->ssl = hd_h1_tls_new(h, s->fd, rq, res)))
                return -1;
        ms = deadline - hd_h1_now_ms();
        hd_h1_timeouts(s->fd, ms > 0 ? ms : 1, 3);
        ERR_clear_error();
        if ((rc = SSL_connect(s->ssl)) != 1) {
                snprintf(what, sizeof(what), "TLS handshake with %s", rq->host);
                hd_h1_ssl_error(s->ssl, rc, what, res);
                return -1;
        }
        SSL_get0_alpn_selected(s->ssl, &proto, &plen);
        if (plen == 2 && !memcmp(proto, "h2", 2))
                return HD_WH_H1_USE_H2;
        memcpy(&s->addr, rq->addr, rq->addrlen);
        s->addrlen = rq->addrlen;
        s->host = hd_strdup(rq->host);
        s->cert = rq->cert_file ? hd_strdup(rq->cert_file) : NULL;
        s->key = rq->key_file ? hd_strdup(rq->key_file) : NULL;
        return 0;
}

static void hd_h1_put(hd_wh_h1_t *h, const char *p, size_t n)
{
        if (h->req_len + n > h->req_cap) {
                h->req_cap = (h->req_len + n) * 2;
                h->req = hd_realloc(h->req, h->req_cap);
        }
        memcpy(h->req + h->req_len, p, n);
        h->req_len += n;
}

static void hd_h1_puts(hd_wh_h1_t *h, const char *s)
{
        hd_h1_put(h, s, strlen(s));
}

/* A header line (or path) must not end the line early: no CR, LF or NUL games. */
static int hd_h1_clean(const char *s)
{
        return s[strcspn(s, "\r\n")] == '\0';
}

/* The whole request in h->req, or -1 with res->error (refused: never sent). */
static int hd_h1_request(hd_wh_h1_t *h, const hd_wh_h1_req_t *rq, hd_wh_result_t *res)
{
        char num[32];

        if (!hd_h1_clean(rq->path) || strchr(rq->path, ' ') || !hd_h1_clean(rq->host) ||
            (rq->auth_header && !hd_h1_clean(rq->auth_header))) {
                snprintf(res->error, sizeof(res->error),
                         "the URL path or an authentication value holds a line break or space");
                res->refused = 1;
                return -1;
        }
        h->req_len = 0;
        hd_h1_puts(h, "POST ");
        hd_h1_puts(h, rq->path);
        hd_h1_puts(h, " HTTP/1.1\r\nHost: ");
        hd_h1_puts(h, rq->host);
        hd_h1_puts(h, "\r\nUser-Agent: herald-webhookd\r\nAccept: */*\r\n"
                      "Content-Type: application/json\r\nContent-Length: ");
        hd_h1_put(h, num, (size_t)snprintf(num, sizeof(num), "%zu\r\n", rq->body_len));
        for (size_t i = 0; i < rq->nheaders; i++) {
                if (!hd_h1_clean(rq->headers[i])) {
                        snprintf(res->error, sizeof(res->error), "a header holds a line break");
                        res->refused = 1;
                        return -1;
                }
                hd_h1_puts(h, rq->headers[i]);
                hd_h1_put(h, "\r\n", 2);
        }
        if (rq->auth_header) {
                hd_h1_puts(h, rq->auth_header);
                hd_h1_put(h, "\r\n", 2);
        }
        hd_h1_put(h, "\r\n", 2);
        hd_h1_put(h, rq->body, rq->body_len);
        return 0;
}

/* The response head as parsed: what decides the body's framing and the connection. */
typedef struct hd_h1_head {
        long status;
        int close, chunked, has_len;
        unsigned long long len;
} hd_h1_head_t;

static int hd_h1_has_token(const char *v, size_t n, const char *token)
{
        size_t t = strlen(token);

        for (size_t i = 0; i + t <= n; i++)
                if (!strncasecmp(v + i, token, t))
                        return 1;
        return 0;
}

static void hd_h1_header(const char *line, size_t n, hd_h1_head_t *hd, hd_wh_result_t *res)
{
        const char *colon = memchr(line, ':', n), *v;
        size_t name, vn;

        if (!colon)
                return;
        name = (size_t)(colon - line);
        for (v = colon + 1; v < line + n && (*v == ' ' || *v == '\t'); v++)
                ;
        vn = (size_t)(line + n - v);
        while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
                vn--;
        if (name == 14 && !strncasecmp(line, "Content-Length", 14)) {
                char *end;
                char tmp[24];

                snprintf(tmp, sizeof(tmp), "%.*s", (int)(vn < 23 ? vn : 23), v);
                hd->len = strtoull(tmp, &end, 10);
                hd->has_len = vn && vn < 20 && *end == '\0' && tmp[0] >= '0' && tmp[0] <= '9';
                if (!hd->has_len)
                        hd->close = 1; /* unusable framing: read nothing more on it */
        } else if (name == 17 && !strncasecmp(line, "Transfer-Encoding", 17)) {
                hd->chunked = hd_h1_has_token(v, vn, "chunked");
        } else if (name == 10 && !strncasecmp(line, "Connection", 10)) {
                hd->close |= hd_h1_has_token(v, vn, "close");
        } else if (name == 11 && !strncasecmp(line, "Retry-After", 11)) {
                snprintf(res->retry_after, sizeof(res->retry_after), "%.*s", (int)vn, v);
        }
}

/* Parses the head in p[0..n) (ending with CRLFCRLF); -1 when it is not HTTP/1.x. */
static int hd_h1_parse_head(const char *p, size_t n, hd_h1_head_t *hd, hd_wh_result_t *res)
{
        const char *line = p, *end = p + n, *eol;

        memset(hd, 0, sizeof(*hd));
        if (n < 14 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
            p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
                return -1;
        hd->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
        hd->close = p[7] == '0';
        res->retry_after[0] = '\0';
        for (line = memchr(p, '\n', n) + 1; line < end; line = eol + 1) {
                eol = memchr(line, '\n', (size_t)(end - line));
                if (!eol || eol - line <= 1)
                        break;
                hd_h1_header(line, (size_t)(eol - line - (eol[-1] == '\r')), hd, res);
        }
        return 0;
}

static const char *hd_h1_find_end(const char *p, size_t n, size_t from)
{
        for (size_t i = from; i + 3 < n; i++)
                if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
                        return p + i + 4;
        return NULL;
}

/* One SSL_read within the deadline: bytes (> 0), or -1 with res->error. */
static int hd_h1_read(SSL *ssl, int fd, char *p, size_t cap, int64_t deadline,
                      hd_wh_result_t *res)
{
        int64_t left = deadline - hd_h1_now_ms();
        int n;

        if (left <= 0) {
                snprintf(res->error, sizeof(res->error), "reading the response: timed out");
                return -1;
        }
        if (SSL_pending(ssl) <= 0)
                hd_h1_timeouts(fd, left, 1);
        ERR_clear_error();
        n = SSL_read(ssl, p, (int)cap);
        if (n <= 0) {
                hd_h1_ssl_error(ssl, n, "reading the response", res);
                return -1;
        }
        return n;
}

/* Chunked-body framing, fed any number of bytes at a time. */
typedef struct hd_h1_chunks {
        enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER_START,
               CH_TRAILER, CH_TRAILER_LF, CH_END_LF, CH_DONE } st;
        unsigned long long n;
        int digits;
} hd_h1_chunks_t;

static int hd_h1_hex(char c)
{
        return c >= '0' && c <= '9' ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Consumes p[0..len): bytes used (stops at the end of the body), or -1 (malformed). */
static long hd_h1_chunks_feed(hd_h1_chunks_t *c, const char *p, size_t len)
{
        size_t i;

        for (i = 0; i < len && c->st != CH_DONE; i++) {
                char ch = p[i];
                int x;

                switch (c->st) {
                case CH_SIZE:
                        if ((x = hd_h1_hex(ch)) >= 0 && c->digits < 12) {
                                c->n = c->n * 16 + (unsigned)x;
                                c->digits++;
                        } else if (c->digits && (ch == ';' || ch == ' ' || ch == '\t')) {
                                c->st = CH_EXT;
                        } else if (c->digits && ch == '\r') {
                                c->st = CH_SIZE_LF;
                        } else {
                                return -1;
                        }
                        break;
                case CH_EXT:
                        if (ch == '\r')
                                c->st = CH_SIZE_LF;
                        break;
                case CH_SIZE_LF:
                        if (ch != '\n')
                                return -1;
                        c->st = c->n ? CH_DATA : CH_TRAILER_START;
                        c->digits = 0;
                        break;
                case CH_DATA: {
                        size_t take = len - i < c->n ? len - i : (size_t)c->n;

                        i += take - 1;
                        if (!(c->n -= take))
                                c->st = CH_DATA_CR;
                        break;
                }
                case CH_DATA_CR:
                        if (ch != '\r')
                                return -1;
                        c->st = CH_DATA_LF;
                        break;
                case CH_DATA_LF:
                        if (ch != '\n')
                                return -1;
                        c->st = CH_SIZE;
                        break;
                case CH_TRAILER_START:
                        c->st = ch == '\r' ? CH_END_LF : CH_TRAILER;
                        break;
                case CH_TRAILER:
                        if (ch == '\r')
                                c->st = CH_TRAILER_LF;
                        break;
                case CH_TRAILER_LF:
                        if (ch != '\n')
                                return -1;
                        c->st = CH_TRAILER_START;
                        break;
                case CH_END_LF:
                        if (ch != '\n')
                                return -1;
                        c->st = CH_DONE;
                        break;
                case CH_DONE:
                        break;
                }
        }
        return (long)i;
}

/* Reads the rest of the body (have bytes of it already in buf) so the connection can
 * carry the next request: 0, or -1 when it cannot be kept (the status stands). */
static int hd_h1_drain(hd_wh_h1_t *h, hd_h1_slot_t *s, const hd_h1_head_t *hd, size_t have,
                       int64_t deadline)
{
        hd_h1_chunks_t ch = {0};
        unsigned long long left = hd->len, total = 0;
        hd_wh_result_t scratch;
        size_t off = (size_t)(sizeof(h->buf) - have); /* body bytes sit at the end of buf */

        if (hd->status == 204 || hd->status == 304)
                return have ? -1 : 0;
        if (hd->chunked) {
                for (;;) {
                        long used = hd_h1_chunks_feed(&ch, h->buf + off, have);

                        if (used < 0 || (ch.st == CH_DONE && (size_t)used != have))
                                return -1;
                        if (ch.st == CH_DONE)
                                return 0;
                        if ((total += have) > HD_H1_BODY_MAX)
                                return -1;
                        int n = hd_h1_read(s->ssl, s->fd, h->buf, sizeof(h->buf), deadline, &scratch);
                        if (n < 0)
                                return -1;
                        off = 0;
                        have = (size_t)n;
                }
        }
        if (!hd->has_len || hd->len > HD_H1_BODY_MAX || have > left)
                return -1;
        for (left -= have; left; left -= (unsigned long long)have) {
                int n = hd_h1_read(s->ssl, s->fd, h->buf, left < sizeof(h->buf) ? left : sizeof(h->buf),
                                   deadline, &scratch);
                if (n < 0)
                        return -1;
                have = (size_t)n;
        }
        return 0;
}

/* Sends the request on s and reads the answer into res: 0 when answered (the slot is
 * closed when it cannot be kept), -1 with res->error; *got: response bytes seen. */
static int hd_h1_exchange(hd_wh_h1_t *h, hd_h1_slot_t *s, int64_t deadline, hd_wh_result_t *res,
                          size_t *got)
{
        hd_h1_head_t hd;
        size_t have = 0;
        const char *end = NULL;
        int rc;

        ERR_clear_error();
        if ((rc = SSL_write(s->ssl, h->req, (int)h->req_len)) != (int)h->req_len) {
                hd_h1_ssl_error(s->ssl, rc, "sending the request", res);
                return -1;
        }
        for (size_t scan = 0;;) {
                int n;

                if ((end = hd_h1_find_end(h->buf, have, scan))) {
                        if (hd_h1_parse_head(h->buf, (size_t)(end - h->buf), &hd, res)) {
                                snprintf(res->error, sizeof(res->error), "the answer is not HTTP/1.x");
                                return -1;
                        }
                        have -= (size_t)(end - h->buf);
                        if (hd.status >= 200 || hd.status == 101)
                                break;
                        memmove(h->buf, end, have); /* 1xx: interim, the real answer follows */
                        scan = 0;
                        continue;
                }
                scan = have > 3 ? have - 3 : 0;
                if (have == sizeof(h->buf)) {
                        snprintf(res->error, sizeof(res->error),
                                 "the response head is larger than %d bytes", HD_H1_HEAD_MAX);
                        return -1;
                }
                if ((n = hd_h1_read(s->ssl, s->fd, h->buf + have, sizeof(h->buf) - have, deadline,
                                    res)) < 0)
                        return -1;
                have += (size_t)n;
                *got += (size_t)n;
        }
        res->status = hd.status;
        /* the body's first bytes go to the end of buf, where drain expects them */
        memmove(h->buf + sizeof(h->buf) - have, end, have);
        if (hd.close || hd.status == 101 || hd_h1_drain(h, s, &hd, have, deadline))
                hd_h1_slot_close(s);
        return 0;
}

long hd_wh_h1_frame(const char *p, size_t n, int *keep)
{
        hd_wh_result_t res;
        hd_h1_head_t hd;
        const char *end;
        size_t left = n;

        *keep = 0;
        for (;;) {
                if (!(end = hd_h1_find_end(p, left, 0)) ||
                    hd_h1_parse_head(p, (size_t)(end - p), &hd, &res))
                        return -1;
                left -= (size_t)(end - p);
                p = end;
                if (hd.status >= 200 || hd.status == 101)
                        break;
        }
        if (hd.close || hd.status == 101)
                return hd.status;
        if (hd.status == 204 || hd.status == 304) {
                *keep = !left;
        } else if (hd.chunked) {
                hd_h1_chunks_t ch = {0};
                long used = hd_h1_chunks_feed(&ch, p, left);

                *keep = ch.st == CH_DONE && used == (long)left;
        } else {
                *keep = hd.has_len && hd.len == left;
        }
        return hd.status;
}

int hd_wh_h1_post(hd_wh_h1_t *h, const hd_wh_h1_req_t *rq, hd_wh_result_t *res)
{
        int64_t deadline = hd_h1_now_ms() + (rq->total_timeout_ms > 0 ? rq->total_timeout_ms : 15000);

        if (hd_h1_request(h, rq, res))
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
