/* hd_wh_aio: see hd_wh_aio.h. */
#include "hd_wh_aio.h"
#include "hd_util.h"
#include "hd_webhook_sig.h"
#include "hd_wh_body.h"
#include "hd_wh_h1_proto.h"
#include "hd_wh_target.h"

#include <openssl/err.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define HD_AIO_IDLE_MAX 512      /* kept-alive connections waiting for work */
#define HD_AIO_DNS_TTL_MS 60000  /* as curl's DNS cache */
#define HD_AIO_URLS_MAX 4096     /* parsed URLs kept; beyond, parsed per attempt */
#define HD_AIO_FREE_MAX 256      /* attempt states kept for reuse */

enum { AC_TCP, AC_TLS, AC_READY };

typedef struct hd_aconn {
        int fd;
        SSL *ssl;
        int state, dead;
        uint32_t events;         /* epoll interest now */
        char *host, *cert, *key;
        struct sockaddr_storage addr;
        socklen_t addrlen;
        struct hd_areq *req;     /* the attempt on it; NULL when idle */
        struct hd_aconn *next_idle;
        struct hd_ahost *hentry; /* whose session a new ticket replaces (NULL: mTLS) */
        struct hd_wh_aio *engine;
        int resuming;            /* the handshake offers the host's session */
} hd_aconn_t;

typedef struct hd_ahost {        /* a host's address, reused for HD_AIO_DNS_TTL_MS */
        struct sockaddr_storage addr;
        socklen_t addrlen;
        int64_t until_ms;
        int h2, resolving;
        struct hd_areq *waiting; /* attempts waiting for the resolver */
        /* TLS resumption: the last session the server gave a connection without a
         * client certificate. Until the first full handshake has brought one (or
         * shown that none comes), further new connections wait for it: a resumed
         * handshake skips the certificate's decoding and verification, the larger
         * part of a handshake's CPU here. */
        SSL_SESSION *sess;
        int probing, no_resume;
        struct hd_areq *tls_waiting;
} hd_ahost_t;

typedef struct hd_areq {
        hd_wh_aio_job_t *job;
        hd_wh_url_t own_url;     /* when the URL cache is full */
        const hd_wh_url_t *url;
        hd_ahost_t *host;
        hd_wh_h1_req_t rq;
        char hdr[3][1024];
        const char *hdrs[3];
        char auth_line[4200];
        hd_wh_buf_t out;
        int written, reused, retried;
        int waiting;             /* 1: for the resolver, 2: for the host's first handshake,
                                  * 3: released from that wait, not gone on yet */
        int probe;               /* this attempt makes the host's first full handshake */
        hd_wh_h1_resp_t resp;
        hd_aconn_t *conn;
        int64_t deadline, conn_deadline;
        struct hd_areq *prev, *next; /* the running list; pending and free lists: next */
        struct hd_areq *next_wait;
} hd_areq_t;

typedef struct hd_aresolved {    /* resolver -> I/O thread */
        char *name;
        struct sockaddr_storage addr;
        socklen_t addrlen;
        int failed;
        hd_wh_result_t res;
        struct hd_aresolved *next;
} hd_aresolved_t;

typedef struct hd_adns {         /* I/O thread -> resolver */
        char *name;
        struct hd_adns *next;
} hd_adns_t;

struct hd_wh_aio {
        const hd_wh_target_opts_t *o;
        hd_wh_aio_done_fn *done;
        void *arg;
        SSL_CTX *ctx;
        hd_webhook_keys_t *keys;
        int ep, efd;
        pthread_t dns;
        int dns_started;
        /* shared with the resolver, under lock */
        pthread_mutex_t lock;
        pthread_cond_t dns_cond;
        hd_aresolved_t *resolved;
        hd_adns_t *dns_todo;
        int signaled, stop;
        /* the driving thread's */
        hd_areq_t *free_reqs;      /* attempt states kept for reuse */
        size_t nfree;
        hd_areq_t *pending, *pending_tail; /* waiting for a slot: at most max_running run */
        hd_areq_t *released;       /* done waiting for a first handshake: go on */
        size_t nrunning, max_running, npending;
        int64_t next_due;          /* no running attempt is due before (ms) */
        hd_areq_t *running;
        hd_aconn_t *idle, *dead; /* dead: closed, freed after the events in hand */
        size_t nidle;
        json_t *urls, *hosts;    /* url -> hd_wh_url_t *, host -> hd_ahost_t * */
        char buf[16384];
};

static void hd_aio_due(hd_wh_aio_t *a, int64_t at)
{
        if (at < a->next_due)
                a->next_due = at;
}

/* A pointer kept in a jansson object used as a string-keyed map. */
static void *hd_aio_map_get(json_t *map, const char *key)
{
        return (void *)(intptr_t)json_integer_value(json_object_get(map, key));
}

static void hd_aio_map_put(json_t *map, const char *key, void *p)
{
        json_object_set_new(map, key, json_integer((json_int_t)(intptr_t)p));
}

static void hd_aio_signal(hd_wh_aio_t *a)
{
        uint64_t one = 1;

        if (!a->signaled) {
                a->signaled = 1;
                if (write(a->efd, &one, sizeof(one)) < 0)
                        (void)0; /* the counter cannot overflow: it is read on every wake */
        }
}

/* ---- connections ---- */

static void hd_aio_interest(hd_wh_aio_t *a, hd_aconn_t *c, uint32_t ev)
{
        struct epoll_event e = {.events = ev, .data.ptr = c};

        if (c->events != ev && !epoll_ctl(a->ep, EPOLL_CTL_MOD, c->fd, &e))
                c->events = ev;
}

/* Closed now, freed once the events already returned with it are past. */
static void hd_aio_conn_close(hd_wh_aio_t *a, hd_aconn_t *c)
{
        if (!c)
                return;
        SSL_free(c->ssl);
        c->ssl = NULL;
        close(c->fd); /* also leaves the epoll set */
        c->fd = -1;
        c->dead = 1;
        c->next_idle = a->dead;
        a->dead = c;
}

static void hd_aio_bury(hd_wh_aio_t *a)
{
        while (a->dead) {
                hd_aconn_t *c = a->dead;
                a->dead = c->next_idle;
                free(c->host);
                free(c->cert);
                free(c->key);
                free(c);
        }
}

static int hd_aio_streq(const char *x, const char *y)
{
        return x == y || (x && y && !strcmp(x, y));
}

/* A kept connection for r's host, address and client certificate, or NULL. */
static hd_aconn_t *hd_aio_take_idle(hd_wh_aio_t *a, const hd_areq_t *r)
{
        for (hd_aconn_t **pp = &a->idle; *pp; pp = &(*pp)->next_idle) {
                hd_aconn_t *c = *pp;

                if (c->addrlen == r->rq.addrlen && !memcmp(&c->addr, r->rq.addr, c->addrlen) &&
                    !strcmp(c->host, r->rq.host) && hd_aio_streq(c->cert, r->rq.cert_file) &&
                    hd_aio_streq(c->key, r->rq.key_file)) {
                        *pp = c->next_idle;
                        a->nidle--;
                        return c;
                }
        }
        return NULL;
}

static void hd_aio_unidle(hd_wh_aio_t *a, hd_aconn_t *c)
{
        for (hd_aconn_t **pp = &a->idle; *pp; pp = &(*pp)->next_idle)
                if (*pp == c) {
                        *pp = c->next_idle;
                        a->nidle--;
                        return;
                }
}

/* After a complete answer: kept for the next attempt, or closed. */
static void hd_aio_release(hd_wh_aio_t *a, hd_aconn_t *c, int keep)
{
        c->req = NULL;
        if (!keep || a->stop) {
                hd_aio_conn_close(a, c);
                return;
        }
        if (a->nidle >= HD_AIO_IDLE_MAX) { /* the oldest goes: the list is newest first */
                hd_aconn_t **pp = &a->idle;
                while ((*pp)->next_idle)
                        pp = &(*pp)->next_idle;
                hd_aio_conn_close(a, *pp);
                *pp = NULL;
                a->nidle--;
        }
        c->next_idle = a->idle;
        a->idle = c;
        a->nidle++;
        hd_aio_interest(a, c, EPOLLIN); /* a close by the server shows as readable */
}

/* ---- attempts ---- */

static void hd_aio_recycle(hd_wh_aio_t *a, hd_areq_t *r)
{
        hd_wh_url_clear(&r->own_url);
        if (a->nfree < HD_AIO_FREE_MAX) {
                r->next = a->free_reqs;
                a->free_reqs = r;
                a->nfree++;
                return;
        }
        free(r->out.p);
        free(r);
}

/* The host's first full handshake brought a session, or its attempt ended without
 * one: the attempts that waited go on (at the next pump), resuming it if it came. */
static void hd_aio_probe_done(hd_wh_aio_t *a, hd_ahost_t *h)
{
        h->probing = 0;
        if (!h->sess)
                h->no_resume = 1; /* the server gives no tickets: full handshakes */
        while (h->tls_waiting) {
                hd_areq_t *r = h->tls_waiting;

                h->tls_waiting = r->next_wait;
                r->waiting = 3;
                r->next_wait = a->released;
                a->released = r;
        }
}

/* The attempt is over (res filled, or declined): off the running list, reported. */
static void hd_aio_finish(hd_wh_aio_t *a, hd_areq_t *r, int declined)
{
        if (r->probe) {
                r->probe = 0;
                if (r->host->probing) /* no session came while it ran */
                        hd_aio_probe_done(a, r->host);
        }
        if (r->prev)
                r->prev->next = r->next;
        else if (a->running == r)
                a->running = r->next;
        if (r->next)
                r->next->prev = r->prev;
        a->nrunning--;
        if (r->conn) {
                r->conn->req = NULL;
                hd_aio_conn_close(a, r->conn);
                r->conn = NULL;
        }
        a->done(a->arg, r->job, declined, a->npending);
        hd_aio_recycle(a, r);
}

static void hd_aio_fail(hd_wh_aio_t *a, hd_areq_t *r, const char *fmt, const char *what)
{
        snprintf(r->job->res.error, sizeof(r->job->res.error), fmt, what);
        hd_aio_finish(a, r, 0);
}

static void hd_aio_write(hd_wh_aio_t *a, hd_areq_t *r);

/* A new connection for r: TCP connect started, the rest on its events. */
static void hd_aio_open(hd_wh_aio_t *a, hd_areq_t *r)
{
        const hd_wh_h1_req_t *rq = &r->rq;
        int fd = socket(rq->addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int64_t now = hd_mono_us() / 1000;
        struct epoll_event e = {.events = EPOLLOUT};
        hd_aconn_t *c;
        char at[80];

        if (fd < 0 || (connect(fd, rq->addr, rq->addrlen) && errno != EINPROGRESS)) {
                snprintf(r->job->res.error, sizeof(r->job->res.error), "connect to %s: %s",
                         hd_wh_addr_text(rq->addr, at, sizeof(at)), strerror(errno));
                if (fd >= 0)
                        close(fd);
                hd_aio_finish(a, r, 0);
                return;
        }
        c = hd_calloc(1, sizeof(*c));
        c->fd = fd;
        c->state = AC_TCP;
        c->events = EPOLLOUT;
        c->req = r;
        r->conn = c;
        e.data.ptr = c;
        epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &e);
        r->conn_deadline = now + (rq->connect_timeout_ms > 0 ? rq->connect_timeout_ms : 5000);
        if (r->conn_deadline > r->deadline)
                r->conn_deadline = r->deadline;
        hd_aio_due(a, r->conn_deadline);
}

/* Ready to send on a connection (kept or new). */
static void hd_aio_use(hd_wh_aio_t *a, hd_areq_t *r, hd_aconn_t *c)
{
        c->req = r;
        r->conn = c;
        r->written = 0;
        r->conn_deadline = 0;
        hd_wh_h1_resp_init(&r->resp);
        hd_aio_write(a, r);
}

/* The connection failed before a complete answer: a kept one the server had closed
 * (nothing came back) gets the request once more on a new one, as curl does. */
static void hd_aio_broken(hd_wh_aio_t *a, hd_areq_t *r)
{
        hd_aconn_t *c = r->conn;

        r->conn = NULL;
        c->req = NULL;
        hd_aio_conn_close(a, c);
        if (r->resp.in_body) { /* the status is in: the rest does not matter */
                r->job->res.error[0] = '\0';
                hd_aio_finish(a, r, 0);
        } else if (r->reused && !r->retried && !r->resp.got) {
                r->retried = 1;
                r->reused = 0;
                r->job->res.error[0] = '\0';
                hd_aio_open(a, r);
        } else {
                hd_aio_finish(a, r, 0);
        }
}

static void hd_aio_ssl_want(hd_wh_aio_t *a, hd_aconn_t *c, int e)
{
        hd_aio_interest(a, c, e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN);
}

static void hd_aio_read(hd_wh_aio_t *a, hd_areq_t *r)
{
        hd_aconn_t *c = r->conn;

        for (;;) {
                int n, e, rc;

                ERR_clear_error();
                errno = 0;
                if ((n = SSL_read(c->ssl, a->buf, sizeof(a->buf))) <= 0) {
                        e = SSL_get_error(c->ssl, n);
                        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                                hd_aio_ssl_want(a, c, e);
                                return;
                        }
                        hd_wh_h1_ssl_error(c->ssl, n, errno, "reading the response", &r->job->res);
                        hd_aio_broken(a, r);
                        return;
                }
                if ((rc = hd_wh_h1_resp_feed(&r->resp, a->buf, (size_t)n, &r->job->res)) < 0) {
                        hd_aio_finish(a, r, 0); /* closes the connection */
                        return;
                }
                if (rc == HD_H1_COMPLETE) {
                        r->conn = NULL;
                        hd_aio_release(a, c, r->resp.keep);
                        hd_aio_finish(a, r, 0);
                        return;
                }
        }
}

static void hd_aio_write(hd_wh_aio_t *a, hd_areq_t *r)
{
        hd_aconn_t *c = r->conn;
        int n, e;

        ERR_clear_error();
        errno = 0;
        if ((n = SSL_write(c->ssl, r->out.p, (int)r->out.len)) == (int)r->out.len) {
                r->written = 1;
                hd_aio_interest(a, c, EPOLLIN);
                return;
        }
        e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                hd_aio_ssl_want(a, c, e);
                return;
        }
        hd_wh_h1_ssl_error(c->ssl, n, errno, "sending the request", &r->job->res);
        hd_aio_broken(a, r);
}

/* The TLS handshake, as far as it goes now. */
static void hd_aio_handshake(hd_wh_aio_t *a, hd_areq_t *r)
{
        hd_aconn_t *c = r->conn;
        char what[320];
        int rc, e;

        ERR_clear_error();
        errno = 0;
        if ((rc = SSL_connect(c->ssl)) == 1) {
                if (hd_wh_h1_is_h2(c->ssl)) { /* from now on the caller's way */
                        r->host->h2 = 1;
                        hd_aio_finish(a, r, 1);
                        return;
                }
                c->state = AC_READY;
                c->host = hd_strdup(r->rq.host);
                c->cert = r->rq.cert_file ? hd_strdup(r->rq.cert_file) : NULL;
                c->key = r->rq.key_file ? hd_strdup(r->rq.key_file) : NULL;
                memcpy(&c->addr, r->rq.addr, r->rq.addrlen);
                c->addrlen = r->rq.addrlen;
                hd_aio_use(a, r, c);
                return;
        }
        e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                hd_aio_ssl_want(a, c, e);
                return;
        }
        if (c->resuming) { /* a server that fails resumption gets full handshakes */
                r->host->no_resume = 1;
                SSL_SESSION_free(r->host->sess);
                r->host->sess = NULL;
                ERR_clear_error();
                r->conn = NULL;
                c->req = NULL;
                hd_aio_conn_close(a, c);
                hd_aio_open(a, r);
                return;
        }
        snprintf(what, sizeof(what), "TLS handshake with %s", r->rq.host);
        hd_wh_h1_ssl_error(c->ssl, rc, errno, what, &r->job->res);
        hd_aio_finish(a, r, 0);
}

static void hd_aio_connected(hd_wh_aio_t *a, hd_areq_t *r)
{
        hd_aconn_t *c = r->conn;
        int err = 0, one = 1;
        socklen_t len = sizeof(err);
        char at[80];

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
                snprintf(r->job->res.error, sizeof(r->job->res.error), "connect to %s: %s",
                         hd_wh_addr_text(r->rq.addr, at, sizeof(at)), strerror(err ? err : errno));
                hd_aio_finish(a, r, 0);
                return;
        }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (!(c->ssl = hd_wh_h1_tls_new(a->ctx, c->fd, &r->rq, &r->job->res))) {
                hd_aio_finish(a, r, 0);
                return;
        }
        if (!r->rq.cert_file) {
                c->hentry = r->host;
                c->engine = a;
                SSL_set_app_data(c->ssl, c);
                if (r->host->sess && !r->host->no_resume)
                        c->resuming = SSL_set_session(c->ssl, r->host->sess) == 1;
        }
        c->state = AC_TLS;
        hd_aio_handshake(a, r);
}

static void hd_aio_event(hd_wh_aio_t *a, hd_aconn_t *c)
{
        hd_areq_t *r = c->req;

        if (!r) { /* idle: the server closed it, or spoke out of turn */
                hd_aio_unidle(a, c);
                hd_aio_conn_close(a, c);
                return;
        }
        switch (c->state) {
        case AC_TCP:
                hd_aio_connected(a, r);
                break;
        case AC_TLS:
                hd_aio_handshake(a, r);
                break;
        default:
                if (r->written)
                        hd_aio_read(a, r);
                else
                        hd_aio_write(a, r);
        }
}

/* ---- starting an attempt ---- */

static const hd_wh_url_t *hd_aio_url(hd_wh_aio_t *a, hd_areq_t *r, const char *url)
{
        int rules = !a->o->nconnect_to;
        hd_wh_url_t *u;

        if (!url) {
                snprintf(r->job->res.error, sizeof(r->job->res.error), "the subscription has no URL");
                r->job->res.refused = 1;
                return NULL;
        }
        if ((u = hd_aio_map_get(a->urls, url)))
                return u;
        if (json_object_size(a->urls) >= HD_AIO_URLS_MAX)
                return hd_wh_url_parse(url, rules, &r->own_url, &r->job->res) ? NULL : &r->own_url;
        u = hd_calloc(1, sizeof(*u));
        if (hd_wh_url_parse(url, rules, u, &r->job->res)) {
                free(u);
                return NULL;
        }
        hd_aio_map_put(a->urls, url, u);
        return u;
}

static hd_ahost_t *hd_aio_host(hd_wh_aio_t *a, const char *name)
{
        hd_ahost_t *h = hd_aio_map_get(a->hosts, name);

        if (!h) {
                h = hd_calloc(1, sizeof(*h));
                hd_aio_map_put(a->hosts, name, h);
        }
        return h;
}

/* Signed, authenticated, written out, on a connection: the host's address is known. */
static void hd_aio_go(hd_wh_aio_t *a, hd_areq_t *r)
{
        hd_wh_aio_job_t *j = r->job;
        const json_t *wh = json_object_get(j->sub, "webhook");
        char err[256];
        hd_aconn_t *c;

        r->rq = (hd_wh_h1_req_t){.host = r->url->host, .addr = (struct sockaddr *)&r->host->addr,
                                 .addrlen = r->host->addrlen, .path = r->url->path,
                                 .headers = r->hdrs, .nheaders = 3, .body = j->body,
                                 .body_len = j->len,
                                 .connect_timeout_ms = a->o->connect_timeout_ms,
                                 .total_timeout_ms = a->o->total_timeout_ms};
        /* A fresh timestamp and signature per attempt (DESIGN §7). */
        if (hd_wh_headers(a->keys, j->sub, j->msg_id, (int64_t)time(NULL), j->body, j->len,
                          r->hdr, err, sizeof(err))) {
                j->res.refused = 1;
                hd_strlcpy(j->res.reason, "signing_failed", sizeof(j->res.reason));
                hd_aio_fail(a, r, "%s", err);
                return;
        }
        if (hd_wh_h1_auth(json_object_get(wh, "auth"), &r->rq, r->auth_line,
                          sizeof(r->auth_line), &j->res) ||
            hd_wh_h1_build(&r->out, &r->rq, &j->res)) {
                hd_aio_finish(a, r, 0);
                return;
        }
        if ((c = hd_aio_take_idle(a, r))) {
                r->reused = 1;
                hd_aio_use(a, r, c);
                return;
        }
        if (!r->rq.cert_file && !r->host->sess && !r->host->no_resume) {
                if (r->host->probing) { /* wait for the first handshake's session */
                        r->waiting = 2;
                        r->next_wait = r->host->tls_waiting;
                        r->host->tls_waiting = r;
                        return;
                }
                r->host->probing = r->probe = 1;
        }
        hd_aio_open(a, r);
}

static void hd_aio_start(hd_wh_aio_t *a, hd_areq_t *r)
{
        const json_t *wh = json_object_get(r->job->sub, "webhook");
        int64_t now = hd_mono_us() / 1000;

        memset(&r->job->res, 0, sizeof(r->job->res));
        r->conn = NULL;
        r->written = r->reused = r->retried = r->waiting = 0;
        r->conn_deadline = 0;
        r->deadline = now + (a->o->total_timeout_ms > 0 ? a->o->total_timeout_ms : 15000);
        hd_aio_due(a, r->deadline);
        hd_wh_h1_resp_init(&r->resp);
        r->prev = NULL;
        r->next = a->running;
        if (a->running)
                a->running->prev = r;
        a->running = r;
        a->nrunning++;
        if (!(r->url = hd_aio_url(a, r, json_string_value(json_object_get(wh, "url"))))) {
                hd_aio_finish(a, r, 0);
                return;
        }
        r->host = hd_aio_host(a, r->url->host);
        if (r->host->h2) {
                hd_aio_finish(a, r, 1);
                return;
        }
        if (r->host->until_ms > now) {
                hd_aio_go(a, r);
                return;
        }
        r->waiting = 1;
        r->next_wait = r->host->waiting;
        r->host->waiting = r;
        if (!r->host->resolving) {
                hd_adns_t *d = hd_calloc(1, sizeof(*d));

                r->host->resolving = 1;
                d->name = hd_strdup(r->url->host);
                pthread_mutex_lock(&a->lock);
                d->next = a->dns_todo;
                a->dns_todo = d;
                pthread_cond_signal(&a->dns_cond);
                pthread_mutex_unlock(&a->lock);
        }
}

/* ---- the resolver ---- */

static void *hd_aio_resolver(void *arg)
{
        hd_wh_aio_t *a = arg;

        for (;;) {
                hd_aresolved_t *out;
                hd_adns_t *d;
                char vetted[64];

                pthread_mutex_lock(&a->lock);
                while (!a->dns_todo && !a->stop)
                        pthread_cond_wait(&a->dns_cond, &a->lock);
                if (a->stop || !(d = a->dns_todo)) {
                        pthread_mutex_unlock(&a->lock);
                        return NULL;
                }
                a->dns_todo = d->next;
                pthread_mutex_unlock(&a->lock);
                out = hd_calloc(1, sizeof(*out));
                out->name = d->name;
                free(d);
                out->failed = hd_wh_resolve(a->o, out->name, &out->addr, &out->addrlen, vetted,
                                            sizeof(vetted), &out->res) != 0;
                pthread_mutex_lock(&a->lock);
                out->next = a->resolved;
                a->resolved = out;
                hd_aio_signal(a);
                pthread_mutex_unlock(&a->lock);
        }
}

/* A resolver answer: the host's waiting attempts go on, or fail with its reason. */
static void hd_aio_resolved(hd_wh_aio_t *a, hd_aresolved_t *d)
{
        hd_ahost_t *h = hd_aio_host(a, d->name);
        hd_areq_t *r = h->waiting;

        h->resolving = 0;
        h->waiting = NULL;
        if (!d->failed) {
                h->addr = d->addr;
                h->addrlen = d->addrlen;
                h->until_ms = hd_mono_us() / 1000 + HD_AIO_DNS_TTL_MS;
        }
        while (r) {
                hd_areq_t *next = r->next_wait;

                r->waiting = 0;
                if (d->failed) {
                        r->job->res.refused = d->res.refused;
                        hd_strlcpy(r->job->res.error, d->res.error, sizeof(r->job->res.error));
                        hd_aio_finish(a, r, 0);
                } else {
                        hd_aio_go(a, r);
                }
                r = next;
        }
}

/* ---- the I/O thread ---- */

static void hd_aio_unwait(hd_wh_aio_t *a, hd_areq_t *r)
{
        hd_areq_t **head = r->waiting == 3   ? &a->released /* released, not gone on yet */
                           : r->waiting == 2 ? &r->host->tls_waiting
                                             : &r->host->waiting;

        for (hd_areq_t **pp = head; *pp; pp = &(*pp)->next_wait)
                if (*pp == r) {
                        *pp = r->next_wait;
                        break;
                }
        r->waiting = 0;
}

/* Attempts past their deadline end; the next deadline, in ms from now (at most 1 s).
 * The running list is walked only once something may be due. */
static int hd_aio_expire(hd_wh_aio_t *a)
{
        int64_t now = hd_mono_us() / 1000, next = now + 1000;
        hd_areq_t *r = a->running;

        if (now < a->next_due)
                return (int)((a->next_due < next ? a->next_due : next) - now);

        while (r) {
                hd_areq_t *following = r->next;
                int64_t due = r->conn_deadline ? r->conn_deadline : r->deadline;
                char at[80];

                if (now < due) {
                        next = due < next ? due : next;
                } else if (r->waiting) {
                        int dns = r->waiting == 1;

                        hd_aio_unwait(a, r);
                        hd_aio_fail(a, r, dns ? "resolving %s: timed out"
                                              : "connect to %s: timed out waiting for the first "
                                                "connection", r->url->host);
                } else if (r->conn && r->conn->state != AC_READY) {
                        hd_aio_fail(a, r, r->conn->state == AC_TCP ? "connect to %s: connection timed out"
                                                                   : "TLS handshake with %s: timed out",
                                    r->conn->state == AC_TCP ? hd_wh_addr_text(r->rq.addr, at, sizeof(at))
                                                             : r->rq.host);
                } else if (r->resp.in_body) {
                        hd_aio_finish(a, r, 0); /* the status is in */
                } else {
                        hd_aio_fail(a, r, "%s: timed out", r->written ? "reading the response"
                                                                     : "sending the request");
                }
                r = following;
        }
        a->next_due = next;
        return (int)(next - now);
}

/* Everything the other threads handed over. */
static void hd_aio_inbox(hd_wh_aio_t *a)
{
        hd_aresolved_t *res;
        uint64_t n;

        if (read(a->efd, &n, sizeof(n)) < 0)
                (void)0; /* nothing to read: another wake took it */
        pthread_mutex_lock(&a->lock);
        res = a->resolved;
        a->resolved = NULL;
        a->signaled = 0;
        pthread_mutex_unlock(&a->lock);
        while (res) {
                hd_aresolved_t *next = res->next;
                hd_aio_resolved(a, res);
                free(res->name);
                free(res);
                res = next;
        }
}

/* Queued attempts start while there are free slots (webhook.workers: the attempts,
 * and so the connections, in flight at once). */
static void hd_aio_pump(hd_wh_aio_t *a)
{
        while (a->released) {
                hd_areq_t *r = a->released;

                a->released = r->next_wait;
                r->waiting = 0;
                hd_aio_go(a, r);
        }
        while (a->pending && a->nrunning < a->max_running) {
                hd_areq_t *r = a->pending;

                if (!(a->pending = r->next))
                        a->pending_tail = NULL;
                a->npending--;
                hd_aio_start(a, r);
        }
}

/* Stopping: every attempt still queued or running ends, reported. */
static void hd_aio_abort_all(hd_wh_aio_t *a)
{
        hd_aio_inbox(a);
        while (a->pending) { /* never started */
                hd_areq_t *r = a->pending;

                a->pending = r->next;
                memset(&r->job->res, 0, sizeof(r->job->res));
                snprintf(r->job->res.error, sizeof(r->job->res.error), "the daemon is stopping");
                a->done(a->arg, r->job, 0, 0);
                hd_aio_recycle(a, r);
        }
        a->pending_tail = NULL;
        a->npending = 0;
        while (a->running) {
                hd_areq_t *r = a->running;
                if (r->waiting)
                        hd_aio_unwait(a, r);
                r->job->res.status = 0;
                hd_aio_fail(a, r, "%s", "the daemon is stopping");
        }
        while (a->idle) {
                hd_aconn_t *c = a->idle;
                a->idle = c->next_idle;
                hd_aio_conn_close(a, c);
        }
        a->nidle = 0;
}

/* Handles ready events (waiting at most timeout_ms for them), starts what the free
 * slots allow, ends what is overdue. */
static void hd_aio_pass(hd_wh_aio_t *a, int timeout_ms)
{
        struct epoll_event ev[64];
        int n = epoll_wait(a->ep, ev, 64, timeout_ms);

        for (int i = 0; i < n; i++) {
                hd_aconn_t *c = ev[i].data.ptr;

                if (!c)
                        hd_aio_inbox(a);
                else if (!c->dead)
                        hd_aio_event(a, c);
        }
        hd_aio_pump(a);
        hd_aio_bury(a);
}

int hd_wh_aio_fd(const hd_wh_aio_t *a)
{
        return a->ep;
}

int hd_wh_aio_run(hd_wh_aio_t *a)
{
        int next;

        hd_aio_pass(a, 0);
        next = hd_aio_expire(a);
        hd_aio_pump(a); /* slots the expired ones freed */
        hd_aio_bury(a);
        return next;
}

/* ---- life cycle ---- */

/* OpenSSL got a session (a TLS 1.3 ticket comes with the first answer): it becomes
 * its host's, for the next new connections. 1: the reference is kept. */
static int hd_aio_new_session(SSL *ssl, SSL_SESSION *sess)
{
        hd_aconn_t *c = SSL_get_app_data(ssl);

        if (!c || !c->hentry || c->hentry->no_resume)
                return 0;
        SSL_SESSION_free(c->hentry->sess);
        c->hentry->sess = sess;
        if (c->hentry->probing) /* those waiting for it need not wait for the answer */
                hd_aio_probe_done(c->engine, c->hentry);
        return 1;
}

hd_wh_aio_t *hd_wh_aio_new(const hd_wh_target_opts_t *o, size_t max_running,
                           hd_wh_aio_done_fn *done, void *arg, char *errstr, size_t errstr_size)
{
        hd_wh_aio_t *a = hd_calloc(1, sizeof(*a));
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};

        a->o = o;
        a->max_running = max_running ? max_running : 1;
        a->done = done;
        a->arg = arg;
        a->ep = a->efd = -1;
        pthread_mutex_init(&a->lock, NULL);
        pthread_cond_init(&a->dns_cond, NULL);
        a->urls = json_object();
        a->hosts = json_object();
        a->keys = hd_webhook_keys_new();
        if (!(a->ctx = hd_wh_h1_ctx_new(o->ca_file, errstr, errstr_size)))
                goto fail;
        /* Sessions are kept per host by the engine (hd_ahost_t.sess), not by OpenSSL. */
        SSL_CTX_set_session_cache_mode(a->ctx, SSL_SESS_CACHE_CLIENT |
                                                       SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(a->ctx, hd_aio_new_session);
        if ((a->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
            (a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
            epoll_ctl(a->ep, EPOLL_CTL_ADD, a->efd, &e)) {
                hd_seterr(errstr, errstr_size, "epoll/eventfd: %s", strerror(errno));
                goto fail;
        }
        if (pthread_create(&a->dns, NULL, hd_aio_resolver, a)) {
                hd_seterr(errstr, errstr_size, "cannot start the resolver thread");
                goto fail;
        }
        a->dns_started = 1;
        pthread_setname_np(a->dns, "wh-resolver");
        return a;
fail:
        hd_wh_aio_free(a);
        return NULL;
}

void hd_wh_aio_submit(hd_wh_aio_t *a, hd_wh_aio_job_t *job)
{
        hd_areq_t *r;

        if ((r = a->free_reqs)) {
                a->free_reqs = r->next;
                a->nfree--;
        }
        if (!r)
                r = hd_calloc(1, sizeof(*r));
        r->job = job;
        r->hdrs[0] = r->hdr[0];
        r->hdrs[1] = r->hdr[1];
        r->hdrs[2] = r->hdr[2];
        r->next = NULL;
        if (a->pending_tail)
                a->pending_tail->next = r;
        else
                a->pending = r;
        a->pending_tail = r;
        a->npending++;
        hd_aio_pump(a); /* it starts now if a slot is free */
}

static void hd_aio_free_maps(hd_wh_aio_t *a)
{
        const char *k;
        json_t *v;

        json_object_foreach(a->urls, k, v) {
                hd_wh_url_t *u = (void *)(intptr_t)json_integer_value(v);
                hd_wh_url_clear(u);
                free(u);
        }
        json_object_foreach(a->hosts, k, v) {
                hd_ahost_t *h = (void *)(intptr_t)json_integer_value(v);
                SSL_SESSION_free(h->sess);
                free(h);
        }
        json_decref(a->urls);
        json_decref(a->hosts);
}

void hd_wh_aio_free(hd_wh_aio_t *a)
{
        if (!a)
                return;
        pthread_mutex_lock(&a->lock);
        a->stop = 1;
        pthread_cond_signal(&a->dns_cond);
        pthread_mutex_unlock(&a->lock);
        if (a->dns_started)
                pthread_join(a->dns, NULL);
        hd_aio_abort_all(a);
        hd_aio_bury(a);
        while (a->resolved) {
                hd_aresolved_t *d = a->resolved;
                a->resolved = d->next;
                free(d->name);
                free(d);
        }
        while (a->dns_todo) {
                hd_adns_t *d = a->dns_todo;
                a->dns_todo = d->next;
                free(d->name);
                free(d);
        }
        while (a->free_reqs) {
                hd_areq_t *r = a->free_reqs;
                a->free_reqs = r->next;
                free(r->out.p);
                free(r);
        }
        hd_aio_free_maps(a);
        if (a->efd >= 0)
                close(a->efd);
        if (a->ep >= 0)
                close(a->ep);
        SSL_CTX_free(a->ctx);
        hd_webhook_keys_free(a->keys);
        pthread_cond_destroy(&a->dns_cond);
        pthread_mutex_destroy(&a->lock);
        free(a);
}
