/* hd_mail_smtp: see hd_mail_smtp.h. */
#include "hd_mail_smtp.h"
#include "hd_util.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HD_SMTP_CONNECT_TIMEOUT_MS 10000
#define HD_SMTP_TIMEOUT_MS         60000

typedef struct hd_sconn hd_sconn_t;

typedef struct hd_mprofile {
        const hd_smtp_profile_t *p;
        char url[600];
        pthread_mutex_t lock;
        pthread_cond_t cond;
        hd_sconn_t **idle;      /* handles with (likely) open connections, most recent last */
        size_t nidle;
        int total;              /* handles that exist, idle or lent (<= max_connections) */
        long connects;          /* connections opened, over the sender's life */
} hd_mprofile_t;

struct hd_mail_smtp {
        hd_mprofile_t *v;
        size_t n;
        hd_mail_smtp_opts_t opts;
        char *ca_file;
};

static hd_sconn_t *hd_sconn_new(const hd_mail_smtp_t *s, const hd_mprofile_t *mp);
static void hd_sconn_free(hd_sconn_t *sc);

/* --- profiles and the handle pool ------------------------------------------------------ */

static int hd_smtp_url(const hd_smtp_profile_t *p, char *url, size_t size, char *errstr,
                       size_t errstr_size)
{
        const char *h = p->host;
        int v6 = strchr(h, ':') && h[0] != '[';

        if (!*h || strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             ".-:[]") != strlen(h))
                return hd_seterr(errstr, errstr_size, "profile %s: host \"%s\" is not a host "
                                 "name or IP address", p->name, h);
        snprintf(url, size, "%s://%s%s%s:%d", strcmp(p->tls, "implicit") ? "smtp" : "smtps",
                 v6 ? "[" : "", h, v6 ? "]" : "", p->port ? p->port : 25);
        return 0;
}

hd_mail_smtp_t *hd_mail_smtp_new(const hd_smtp_profile_t *profiles, size_t nprofiles,
                                 const hd_mail_smtp_opts_t *opts, char *errstr,
                                 size_t errstr_size)
{
        const curl_version_info_data *ci;
        int smtp = 0, smtps = 0;
        hd_mail_smtp_t *s;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        ci = curl_version_info(CURLVERSION_NOW);
        for (const char *const *pr = ci->protocols; pr && *pr; pr++) {
                smtp |= !strcmp(*pr, "smtp");
                smtps |= !strcmp(*pr, "smtps");
        }
        if (!smtp || !smtps || !(ci->features & CURL_VERSION_SSL)) {
                curl_global_cleanup();
                hd_seterr(errstr, errstr_size, "libcurl %s lacks SMTP or TLS support",
                          ci->version);
                return NULL;
        }
        s = hd_calloc(1, sizeof(*s));
        if (opts)
                s->opts = *opts;
        if (s->opts.ca_file)
                s->ca_file = hd_strdup(s->opts.ca_file);
        s->opts.ca_file = s->ca_file;
        if (s->opts.connect_timeout_ms <= 0)
                s->opts.connect_timeout_ms = HD_SMTP_CONNECT_TIMEOUT_MS;
        if (s->opts.timeout_ms <= 0)
                s->opts.timeout_ms = HD_SMTP_TIMEOUT_MS;
        s->v = hd_calloc(nprofiles ? nprofiles : 1, sizeof(*s->v));
        for (size_t i = 0; i < nprofiles; i++) {
                hd_mprofile_t *mp = &s->v[i];
                int max = profiles[i].max_connections > 0 ? profiles[i].max_connections : 4;
                mp->p = &profiles[i];
                mp->idle = hd_calloc((size_t)max, sizeof(*mp->idle));
                pthread_condattr_t ca;
                pthread_condattr_init(&ca);
                pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines immune to clock steps */
                pthread_mutex_init(&mp->lock, NULL);
                pthread_cond_init(&mp->cond, &ca);
                pthread_condattr_destroy(&ca);
                s->n++;
                if (hd_smtp_url(mp->p, mp->url, sizeof(mp->url), errstr, errstr_size)) {
                        hd_mail_smtp_destroy(s);
                        return NULL;
                }
        }
        return s;
}

void hd_mail_smtp_destroy(hd_mail_smtp_t *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++) {
                hd_mprofile_t *mp = &s->v[i];
                for (size_t j = 0; j < mp->nidle; j++)
                        hd_sconn_free(mp->idle[j]); /* QUIT */
                free(mp->idle);
                pthread_mutex_destroy(&mp->lock);
                pthread_cond_destroy(&mp->cond);
        }
        free(s->v);
        free(s->ca_file);
        free(s);
        curl_global_cleanup();
}

static hd_mprofile_t *hd_smtp_profile(hd_mail_smtp_t *s, const char *name)
{
        for (size_t i = 0; i < s->n; i++)
                if (name && !strcmp(s->v[i].p->name, name))
                        return &s->v[i];
        return NULL;
}

long hd_mail_smtp_connects(hd_mail_smtp_t *s, const char *profile)
{
        hd_mprofile_t *mp = hd_smtp_profile(s, profile);
        long n;

        if (!mp)
                return -1;
        pthread_mutex_lock(&mp->lock);
        n = mp->connects;
        pthread_mutex_unlock(&mp->lock);
        return n;
}

/* Borrows a handle: an idle one, a new one under the limit, or waits until deadline. */
static hd_sconn_t *hd_smtp_acquire(const hd_mail_smtp_t *s, hd_mprofile_t *mp,
                                   const struct timespec *deadline)
{
        int max = mp->p->max_connections > 0 ? mp->p->max_connections : 4;
        hd_sconn_t *sc = NULL;

        pthread_mutex_lock(&mp->lock);
        while (!mp->nidle && mp->total >= max)
                if (pthread_cond_timedwait(&mp->cond, &mp->lock, deadline) == ETIMEDOUT)
                        break;
        if (mp->nidle) {
                sc = mp->idle[--mp->nidle];
        } else if (mp->total < max && (sc = hd_sconn_new(s, mp))) {
                mp->total++;
        }
        pthread_mutex_unlock(&mp->lock);
        return sc;
}

static void hd_smtp_release(hd_mprofile_t *mp, hd_sconn_t *sc, long connects)
{
        pthread_mutex_lock(&mp->lock);
        mp->idle[mp->nidle++] = sc;
        mp->connects += connects;
        pthread_cond_signal(&mp->cond);
        pthread_mutex_unlock(&mp->lock);
}

/* --- the SMTP dialogue, as libcurl's debug callback shows it ---------------------------- */

typedef enum { C_NONE, C_AUTH, C_MAIL, C_RCPT, C_DATA, C_MESSAGE, C_QUIT, C_OTHER } hd_cmd_t;

typedef struct hd_dialog {
        int active;              /* a send is running: its replies are recorded */
        hd_cmd_t cmd;            /* the command the next reply answers */
        char rcpt[300];          /* C_RCPT: its address */
        int mail_answered;       /* MAIL FROM got a reply on this attempt */
        int fail_code;           /* last failing reply outside RCPT (>= 400) */
        hd_cmd_t fail_cmd;
        char fail_text[256];
        int last_code;
        char last_text[256];
        size_t naccepted, nrefused;
        int refused_4xx;
        char refused[1024];
} hd_dialog_t;

static const char *hd_cmd_name(hd_cmd_t c)
{
        static const char *const n[] = {"greeting", "AUTH", "MAIL FROM", "RCPT TO", "DATA",
                                        "end of message", "QUIT", "command"};
        return n[c];
}

/* Copies a reply's text (after "250 "), printable ASCII only. */
static void hd_reply_text(const char *s, size_t n, char *out, size_t size)
{
        size_t j = 0;

        for (size_t i = 4; i < n && j + 1 < size; i++)
                if (s[i] != '\r' && s[i] != '\n')
                        out[j++] = s[i] >= 32 && s[i] < 127 ? s[i] : '?';
        out[j] = '\0';
}

static void hd_refused_add(hd_dialog_t *D, int code, const char *text)
{
        size_t len = strlen(D->refused);
        int n;

        if (len + 4 >= sizeof(D->refused))
                return;
        n = snprintf(D->refused + len, sizeof(D->refused) - len, "%s%s (%d %s)",
                     len ? ", " : "", D->rcpt, code, text);
        if (n < 0 || (size_t)n >= sizeof(D->refused) - len)
                strcpy(D->refused + sizeof(D->refused) - 4, "…");
}

static void hd_dialog_reply(hd_dialog_t *D, const char *s, size_t n)
{
        char text[256];
        int code;

        /* only final lines ("250 ok", not "250-…") decide */
        if (n < 3 || s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' ||
            s[2] > '9' || (n > 3 && s[3] == '-'))
                return;
        code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
        hd_reply_text(s, n, text, sizeof(text));
        if (D->cmd == C_QUIT)
                return;
        D->last_code = code;
        memcpy(D->last_text, text, sizeof(text));
        if (D->cmd == C_MAIL)
                D->mail_answered = 1;
        if (D->cmd == C_RCPT) {
                if (code / 100 == 2) {
                        D->naccepted++;
                } else {
                        D->nrefused++;
                        D->refused_4xx |= code / 100 == 4;
                        hd_refused_add(D, code, text);
                }
        } else if (code >= 400) {
                D->fail_code = code;
                D->fail_cmd = D->cmd;
                memcpy(D->fail_text, text, sizeof(text));
        } else {
                D->fail_code = 0; /* e.g. EHLO refused, then HELO accepted */
        }
        if (D->cmd == C_DATA && code == 354)
                D->cmd = C_MESSAGE;
}

/* Notes which command was sent; AUTH lines carry credentials and are never kept. */
static void hd_dialog_command(hd_dialog_t *D, const char *s, size_t n)
{
        if (n >= 8 && !strncasecmp(s, "RCPT TO:", 8)) {
                size_t i = 8, j = 0;
                D->cmd = C_RCPT;
                if (i < n && s[i] == '<')
                        i++;
                while (i < n && s[i] != '>' && s[i] != '\r' && s[i] != ' ' &&
                       j + 1 < sizeof(D->rcpt))
                        D->rcpt[j++] = s[i++];
                D->rcpt[j] = '\0';
        } else if (n >= 10 && !strncasecmp(s, "MAIL FROM:", 10)) {
                D->cmd = C_MAIL;
        } else if (n >= 4 && !strncasecmp(s, "DATA", 4)) {
                D->cmd = C_DATA;
        } else if (n >= 4 && !strncasecmp(s, "AUTH", 4)) {
                D->cmd = C_AUTH;
        } else if (n >= 4 && !strncasecmp(s, "QUIT", 4)) {
                D->cmd = C_QUIT;
        } else if (D->cmd != C_AUTH) { /* SASL continuation lines stay AUTH */
                D->cmd = C_OTHER;
        }
}

static int hd_smtp_debug(CURL *c, curl_infotype type, char *data, size_t size, void *opaque)
{
        hd_dialog_t *D = opaque;

        (void)c;
        if (!D->active) /* the QUIT of a pooled connection being closed */
                return 0;
        if (type == CURLINFO_HEADER_OUT) {
                hd_dialog_command(D, data, size);
        } else if (type == CURLINFO_HEADER_IN) {
                /* one callback may carry several lines */
                for (size_t i = 0; i < size;) {
                        const char *nl = memchr(data + i, '\n', size - i);
                        size_t len = nl ? (size_t)(nl - (data + i)) + 1 : size - i;
                        hd_dialog_reply(D, data + i, len);
                        i += len;
                }
        }
        return 0;
}

/* --- sending --------------------------------------------------------------------------- */

typedef struct hd_upload {
        const char *p;
        size_t len, off;
} hd_upload_t;

static size_t hd_smtp_read(char *buf, size_t size, size_t nitems, void *opaque)
{
        hd_upload_t *u = opaque;
        size_t n = size * nitems;

        if (n > u->len - u->off)
                n = u->len - u->off;
        memcpy(buf, u->p + u->off, n);
        u->off += n;
        return n;
}

/*
 * One pooled connection: the curl handle and what its callbacks write to. The
 * options that never change are set once here; a send sets only the message's.
 */
struct hd_sconn {
        CURL *c;
        hd_dialog_t D;
        hd_upload_t u;
        char errbuf[CURL_ERROR_SIZE];
};

static hd_sconn_t *hd_sconn_new(const hd_mail_smtp_t *s, const hd_mprofile_t *mp)
{
        const hd_smtp_profile_t *p = mp->p;
        hd_sconn_t *sc;
        CURL *c;

        if (!(c = curl_easy_init()))
                return NULL;
        sc = hd_calloc(1, sizeof(*sc));
        sc->c = c;
        curl_easy_setopt(c, CURLOPT_URL, mp->url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        /* The profile names the server: no proxy from the environment (and no
         * environment look-ups on every send). */
        curl_easy_setopt(c, CURLOPT_PROXY, "");
        curl_easy_setopt(c, CURLOPT_USE_SSL,
                         !strcmp(p->tls, "starttls") ? (long)CURLUSESSL_ALL
                         : !strcmp(p->tls, "implicit") ? (long)CURLUSESSL_ALL
                                                       : (long)CURLUSESSL_NONE);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (s->ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
        curl_easy_setopt(c, CURLOPT_USERNAME, p->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, p->password);
        /* libcurl 7.88's spelling; go on when some recipients are refused */
        curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        /* the smallest (curl allocates it, and twice that for dot-stuffing): our
         * messages are small, and a bigger one only takes more reads */
        curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, hd_smtp_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &sc->u);
        curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); /* feeds the debug callback only */
        curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, hd_smtp_debug);
        curl_easy_setopt(c, CURLOPT_DEBUGDATA, &sc->D);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, sc->errbuf);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s->opts.connect_timeout_ms);
        curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
        return sc;
}

static void hd_sconn_free(hd_sconn_t *sc)
{
        curl_easy_cleanup(sc->c); /* QUIT, when the connection is open */
        free(sc);
}

static int hd_curl_network(CURLcode rc)
{
        return rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
               rc == CURLE_WEIRD_SERVER_REPLY;
}

/* Decides the outcome of one finished attempt. */
static void hd_smtp_classify(CURLcode rc, const hd_dialog_t *D, const char *errbuf,
                             hd_mail_result_t *res)
{
        const char *cerr = *errbuf ? errbuf : curl_easy_strerror(rc);

        res->naccepted = D->naccepted;
        res->nrefused = D->nrefused;
        hd_strlcpy(res->refused, D->refused, sizeof(res->refused));
        res->smtp_code = D->last_code;
        hd_strlcpy(res->smtp_text, D->last_text, sizeof(res->smtp_text));
        if (rc == CURLE_OK) {
                res->outcome = HD_OUTCOME_DELIVERED;
                if (D->nrefused)
                        snprintf(res->detail, sizeof(res->detail),
                                 "delivered to %zu of %zu recipients; refused: %s",
                                 D->naccepted, D->naccepted + D->nrefused, D->refused);
                else
                        snprintf(res->detail, sizeof(res->detail), "delivered: %d %s",
                                 D->last_code, D->last_text);
                return;
        }
        if (D->nrefused && !D->naccepted && D->fail_code == 0) {
                res->outcome = D->refused_4xx ? HD_OUTCOME_RETRY : HD_OUTCOME_DEAD;
                snprintf(res->detail, sizeof(res->detail), "every recipient refused: %s",
                         D->refused);
                return;
        }
        if (D->fail_code) {
                res->smtp_code = D->fail_code;
                hd_strlcpy(res->smtp_text, D->fail_text, sizeof(res->smtp_text));
                /* a refused login is the profile's fault, not the message's: retry */
                res->outcome = D->fail_code < 500 || D->fail_cmd == C_AUTH ||
                                               rc == CURLE_LOGIN_DENIED
                                       ? HD_OUTCOME_RETRY
                                       : HD_OUTCOME_DEAD;
                snprintf(res->detail, sizeof(res->detail), "%s refused: %d %s",
                         hd_cmd_name(D->fail_cmd), D->fail_code, D->fail_text);
                return;
        }
        res->outcome = HD_OUTCOME_RETRY;
        if (rc == CURLE_USE_SSL_FAILED)
                snprintf(res->detail, sizeof(res->detail),
                         "server does not offer STARTTLS, which the profile requires");
        else
                snprintf(res->detail, sizeof(res->detail), "%s (curl %d)", cerr, (int)rc);
}

static CURLcode hd_smtp_attempt(hd_sconn_t *sc, const hd_mail_msg_t *m,
                                struct curl_slist *rcpt, long timeout_ms, int fresh,
                                long *connects)
{
        long nc = 0;
        CURLcode rc;

        memset(&sc->D, 0, sizeof(sc->D));
        sc->D.active = 1;
        sc->errbuf[0] = '\0';
        sc->u = (hd_upload_t){m->data, m->len, 0};
        curl_easy_setopt(sc->c, CURLOPT_MAIL_FROM, m->mail_from);
        curl_easy_setopt(sc->c, CURLOPT_MAIL_RCPT, rcpt);
        curl_easy_setopt(sc->c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->len);
        curl_easy_setopt(sc->c, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(sc->c, CURLOPT_FRESH_CONNECT, (long)fresh);
        rc = curl_easy_perform(sc->c);
        sc->D.active = 0;
        curl_easy_getinfo(sc->c, CURLINFO_NUM_CONNECTS, &nc);
        *connects += nc;
        return rc;
}

static long hd_ms_left(const struct timespec *deadline)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (long)((deadline->tv_sec - now.tv_sec) * 1000 +
                      (deadline->tv_nsec - now.tv_nsec) / 1000000);
}

hd_outcome_t hd_mail_smtp_send(hd_mail_smtp_t *s, const char *profile, const hd_mail_msg_t *m,
                               hd_mail_result_t *res)
{
        hd_mprofile_t *mp = hd_smtp_profile(s, profile);
        struct curl_slist *rcpt = NULL;
        struct timespec deadline;
        long connects = 0, left;
        hd_sconn_t *sc;
        CURLcode rc;

        memset(res, 0, sizeof(*res));
        if (!mp) {
                res->outcome = HD_OUTCOME_DEAD;
                snprintf(res->detail, sizeof(res->detail), "no SMTP profile \"%s\"",
                         profile ? profile : "(none)");
                return res->outcome;
        }
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += s->opts.timeout_ms / 1000;
        deadline.tv_nsec += (s->opts.timeout_ms % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000;
        }
        if (!(sc = hd_smtp_acquire(s, mp, &deadline))) {
                res->outcome = HD_OUTCOME_RETRY;
                snprintf(res->detail, sizeof(res->detail),
                         "profile %s: all %d connections stayed busy", mp->p->name,
                         mp->p->max_connections);
                return res->outcome;
        }
        for (size_t i = 0; i < m->nrcpt; i++)
                rcpt = curl_slist_append(rcpt, m->rcpt[i]);
        left = hd_ms_left(&deadline);
        rc = hd_smtp_attempt(sc, m, rcpt, left > 1000 ? left : 1000, 0, &connects);
        res->reused = connects == 0 && sc->D.last_code != 0; /* not: refused connect */
        /* A kept connection the server dropped meanwhile: nothing was sent, go again. */
        if (rc != CURLE_OK && connects == 0 && !sc->D.mail_answered && hd_curl_network(rc) &&
            (left = hd_ms_left(&deadline)) > 1000) {
                rc = hd_smtp_attempt(sc, m, rcpt, left, 1, &connects);
                res->reused = 0;
        }
        /* the list is freed before the handle is lent again */
        curl_easy_setopt(sc->c, CURLOPT_MAIL_RCPT, NULL);
        curl_slist_free_all(rcpt);
        hd_smtp_classify(rc, &sc->D, sc->errbuf, res);
        hd_smtp_release(mp, sc, connects);
        return res->outcome;
}
