/* hd_wh_h1_proto: see hd_wh_h1_proto.h. */
#include "hd_wh_h1_proto.h"
#include "hd_util.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the request ---- */

static void hd_buf_put(hd_wh_buf_t *b, const char *p, size_t n)
{
        if (b->len + n > b->cap) {
                b->cap = (b->len + n) * 2;
                b->p = hd_realloc(b->p, b->cap);
        }
        memcpy(b->p + b->len, p, n);
        b->len += n;
}

static void hd_buf_puts(hd_wh_buf_t *b, const char *s)
{
        hd_buf_put(b, s, strlen(s));
}

/* A header line (or path) must not end the line early. */
static int hd_h1_clean(const char *s)
{
        return s[strcspn(s, "\r\n")] == '\0';
}

static int hd_h1_refuse(hd_wh_result_t *res, const char *why)
{
        snprintf(res->error, sizeof(res->error), "%s", why);
        res->refused = 1;
        return -1;
}

int hd_wh_h1_build(hd_wh_buf_t *b, const hd_wh_h1_req_t *rq, hd_wh_result_t *res)
{
        char num[32];

        if (!hd_h1_clean(rq->path) || strchr(rq->path, ' ') || !hd_h1_clean(rq->host) ||
            (rq->auth_header && !hd_h1_clean(rq->auth_header)))
                return hd_h1_refuse(res, "the URL path or an authentication value holds a "
                                         "line break or space");
        for (size_t i = 0; i < rq->nheaders; i++)
                if (!hd_h1_clean(rq->headers[i]))
                        return hd_h1_refuse(res, "a header holds a line break");
        b->len = 0;
        hd_buf_puts(b, "POST ");
        hd_buf_puts(b, rq->path);
        hd_buf_puts(b, " HTTP/1.1\r\nHost: ");
        hd_buf_puts(b, rq->host);
        hd_buf_puts(b, "\r\nUser-Agent: herald-webhookd\r\nAccept: */*\r\n"
                       "Content-Type: application/json\r\nContent-Length: ");
        hd_buf_put(b, num, (size_t)snprintf(num, sizeof(num), "%zu\r\n", rq->body_len));
        for (size_t i = 0; i < rq->nheaders; i++) {
                hd_buf_puts(b, rq->headers[i]);
                hd_buf_put(b, "\r\n", 2);
        }
        if (rq->auth_header) {
                hd_buf_puts(b, rq->auth_header);
                hd_buf_put(b, "\r\n", 2);
        }
        hd_buf_put(b, "\r\n", 2);
        hd_buf_put(b, rq->body, rq->body_len);
        return 0;
}

/* ---- the answer ---- */

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
                char tmp[24], *end;

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

/* Parses the head p[0..n) (ending with CRLFCRLF); -1 when it is not HTTP/1.x. */
static int hd_h1_parse_head(const char *p, size_t n, hd_h1_head_t *hd, hd_wh_result_t *res)
{
        const char *line, *end = p + n, *eol;

        memset(hd, 0, sizeof(*hd));
        if (n < 14 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
            p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
                return -1;
        hd->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
        hd->close = p[7] == '0';
        res->retry_after[0] = '\0';
        for (line = (const char *)memchr(p, '\n', n) + 1; line < end; line = eol + 1) {
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

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER_START,
       CH_TRAILER, CH_TRAILER_LF, CH_END_LF, CH_DONE };

static int hd_h1_hex(char c)
{
        return c >= '0' && c <= '9' ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One byte of chunk framing outside the data: 0, or -1 (malformed). */
static int hd_h1_chunk_byte(hd_wh_chunks_t *c, char ch)
{
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
                return 0;
        case CH_EXT:
                c->st = ch == '\r' ? CH_SIZE_LF : CH_EXT;
                return 0;
        case CH_SIZE_LF:
                c->st = c->n ? CH_DATA : CH_TRAILER_START;
                c->digits = 0;
                return ch == '\n' ? 0 : -1;
        case CH_DATA_CR:
                c->st = CH_DATA_LF;
                return ch == '\r' ? 0 : -1;
        case CH_DATA_LF:
                c->st = CH_SIZE;
                return ch == '\n' ? 0 : -1;
        case CH_TRAILER_START:
                c->st = ch == '\r' ? CH_END_LF : CH_TRAILER;
                return 0;
        case CH_TRAILER:
                c->st = ch == '\r' ? CH_TRAILER_LF : CH_TRAILER;
                return 0;
        case CH_TRAILER_LF:
                c->st = CH_TRAILER_START;
                return ch == '\n' ? 0 : -1;
        case CH_END_LF:
                c->st = CH_DONE;
                return ch == '\n' ? 0 : -1;
        default:
                return -1;
        }
}

/* Consumes p[0..len): bytes used (stops at the end of the body), or -1 (malformed). */
static long hd_h1_chunks_feed(hd_wh_chunks_t *c, const char *p, size_t len)
{
        size_t i = 0;

        while (i < len && c->st != CH_DONE) {
                if (c->st == CH_DATA) {
                        size_t take = len - i < c->n ? len - i : (size_t)c->n;

                        i += take;
                        if (!(c->n -= take))
                                c->st = CH_DATA_CR;
                        continue;
                }
                if (hd_h1_chunk_byte(c, p[i++]))
                        return -1;
        }
        return (long)i;
}

enum { BODY_NONE, BODY_CLOSE, BODY_CHUNKED, BODY_LENGTH };

void hd_wh_h1_resp_init(hd_wh_h1_resp_t *r)
{
        r->have = r->scan = 0;
        r->in_body = r->done = r->keep = 0;
        r->left = r->body = 0;
        r->got = 0;
        memset(&r->ch, 0, sizeof(r->ch));
}

static int hd_h1_complete(hd_wh_h1_resp_t *r, int keep)
{
        r->done = 1;
        r->keep = keep;
        return HD_H1_COMPLETE;
}

/* Body bytes: HD_H1_COMPLETE or HD_H1_MORE. */
static int hd_h1_body(hd_wh_h1_resp_t *r, const char *p, size_t n)
{
        long used;

        if (r->done) { /* more than the answer held: the connection is out of step */
                r->keep = r->keep && !n;
                return HD_H1_COMPLETE;
        }
        switch (r->mode) {
        case BODY_NONE:
                return hd_h1_complete(r, !n);
        case BODY_CHUNKED:
                if ((used = hd_h1_chunks_feed(&r->ch, p, n)) < 0)
                        return hd_h1_complete(r, 0);
                if (r->ch.st == CH_DONE)
                        return hd_h1_complete(r, (size_t)used == n);
                if ((r->body += n) > HD_H1_BODY_MAX)
                        return hd_h1_complete(r, 0);
                return HD_H1_MORE;
        case BODY_LENGTH:
                if (n > r->left)
                        return hd_h1_complete(r, 0);
                r->left -= n;
                return r->left ? HD_H1_MORE : hd_h1_complete(r, 1);
        default:
                return hd_h1_complete(r, 0);
        }
}

/* The head ends at end: how its body is framed. */
static void hd_h1_body_mode(hd_wh_h1_resp_t *r, const hd_h1_head_t *hd)
{
        if (hd->close || hd->status == 101)
                r->mode = BODY_CLOSE;
        else if (hd->status == 204 || hd->status == 304)
                r->mode = BODY_NONE;
        else if (hd->chunked)
                r->mode = BODY_CHUNKED;
        else if (hd->has_len && hd->len <= HD_H1_BODY_MAX)
                r->mode = BODY_LENGTH, r->left = hd->len;
        else /* close-delimited or too long to drain: the status is all we need */
                r->mode = BODY_CLOSE;
}

int hd_wh_h1_resp_feed(hd_wh_h1_resp_t *r, const char *p, size_t n, hd_wh_result_t *res)
{
        r->got += n;
        while (!r->in_body) {
                size_t take = n < sizeof(r->head) - r->have ? n : sizeof(r->head) - r->have;
                const char *end;
                hd_h1_head_t hd;
                size_t extra;

                memcpy(r->head + r->have, p, take);
                r->have += take;
                p += take;
                n -= take;
                if (!(end = hd_h1_find_end(r->head, r->have, r->scan))) {
                        if (r->have == sizeof(r->head)) {
                                snprintf(res->error, sizeof(res->error),
                                         "the response head is larger than %d bytes",
                                         HD_H1_HEAD_MAX);
                                return -1;
                        }
                        r->scan = r->have > 3 ? r->have - 3 : 0;
                        return HD_H1_MORE;
                }
                if (hd_h1_parse_head(r->head, (size_t)(end - r->head), &hd, res)) {
                        snprintf(res->error, sizeof(res->error), "the answer is not HTTP/1.x");
                        return -1;
                }
                extra = r->have - (size_t)(end - r->head);
                memmove(r->head, end, extra); /* what follows the head */
                r->have = extra;
                r->scan = 0;
                if (hd.status < 200 && hd.status != 101)
                        continue; /* interim: the real answer follows */
                r->in_body = 1;
                res->status = hd.status;
                hd_h1_body_mode(r, &hd);
                (void)hd_h1_body(r, r->head, extra); /* then the rest (or what is too much) */
                return hd_h1_body(r, p, n);
        }
        return hd_h1_body(r, p, n);
}

long hd_wh_h1_frame(const char *p, size_t n, int *keep)
{
        static __thread hd_wh_h1_resp_t r;
        hd_wh_result_t res;

        hd_wh_h1_resp_init(&r);
        memset(&res, 0, sizeof(res));
        *keep = 0;
        if (hd_wh_h1_resp_feed(&r, p, n, &res) != HD_H1_COMPLETE)
                return -1;
        *keep = r.keep;
        return res.status;
}

/* ---- TLS ---- */

SSL_CTX *hd_wh_h1_ctx_new(const char *ca_file, char *errstr, size_t errstr_size)
{
        static const unsigned char alpn[] = "\x02h2\x08http/1.1";
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        int ok;

        if (!ctx) {
                hd_seterr(errstr, errstr_size, "cannot make a TLS context");
                return NULL;
        }
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
        /* One read() per answer instead of one per TLS record header and body. */
        SSL_CTX_set_read_ahead(ctx, 1);
        /* As with curl's CAINFO: a CA file replaces the system's anchors. */
        ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
                hd_seterr(errstr, errstr_size, "cannot load the CA certificates%s%s",
                          ca_file ? " from " : "", ca_file ? ca_file : "");
                SSL_CTX_free(ctx);
                ERR_clear_error();
                return NULL;
        }
        return ctx;
}

SSL *hd_wh_h1_tls_new(SSL_CTX *ctx, int fd, const hd_wh_h1_req_t *rq, hd_wh_result_t *res)
{
        SSL *ssl = SSL_new(ctx);
        unsigned char ip[16];
        int is_ip = inet_pton(AF_INET, rq->host, ip) == 1 || strchr(rq->host, ':');

        if (!ssl || !SSL_set_fd(ssl, fd)) {
                snprintf(res->error, sizeof(res->error), "cannot make a TLS session");
                SSL_free(ssl);
                return NULL;
        }
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (is_ip) {
                const char *h = rq->host + (*rq->host == '[');
                char bare[64];

                snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(h, "]"), h);
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

int hd_wh_h1_is_h2(SSL *ssl)
{
        const unsigned char *proto = NULL;
        unsigned int plen = 0;

        SSL_get0_alpn_selected(ssl, &proto, &plen);
        return plen == 2 && !memcmp(proto, "h2", 2);
}

void hd_wh_h1_ssl_error(SSL *ssl, int rc, int sys, const char *what, hd_wh_result_t *res)
{
        int e = SSL_get_error(ssl, rc);
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

const char *hd_wh_addr_text(const struct sockaddr *sa, char *out, size_t size)
{
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        char ip[INET6_ADDRSTRLEN] = "?";

        if (sa->sa_family == AF_INET6) {
                inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
                snprintf(out, size, "[%s]:%d", ip, ntohs(s6->sin6_port));
        } else {
                inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
                snprintf(out, size, "%s:%d", ip, ntohs(s4->sin_port));
        }
        return out;
}

/* ---- authentication ---- */

int hd_wh_h1_auth(const json_t *auth, hd_wh_h1_req_t *rq, char *line, size_t line_size,
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
                if (n < 0 || (size_t)n >= sizeof(plain) || 21 + (size_t)(n + 2) / 3 * 4 >= line_size)
                        return hd_h1_refuse(res, "basic credentials too long");
                memcpy(line, "Authorization: Basic ", 21);
                EVP_EncodeBlock((unsigned char *)line + 21, (unsigned char *)plain, n);
                OPENSSL_cleanse(plain, sizeof(plain));
                rq->auth_header = line;
        } else if (!strcmp(type, "bearer")) {
                snprintf(line, line_size, "Authorization: Bearer %s",
                         json_string_value(json_object_get(auth, "token")) ?: "");
                rq->auth_header = line;
        } else if (!strcmp(type, "mtls")) {
                rq->cert_file = json_string_value(json_object_get(auth, "cert_file"));
                rq->key_file = json_string_value(json_object_get(auth, "key_file"));
        }
        return 0;
}
