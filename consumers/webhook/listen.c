/*
 * herald-listen: `herald listen --listen ADDR:PORT --cert F --key F --secret whsec_…
 * [--secret …] [--out F] [--fail-rate R] [--status CODE] [--delay-ms MIN-MAX]
 * [--reset-rate R]`. herald's own HTTPS webhook receiver: verifies each delivery's
 * Standard Webhooks signature and timestamp (±5 min), answers 204 when valid and
 * 401 when not, and writes one JSON line per delivery (id, type, account, valid,
 * status, arrival time). The fault options make it fail on purpose for tests and
 * demos: a share of 503s, a fixed status, slow answers, dropped connections.
 */
#include "hd_log.h"
#include "hd_util.h"
#include "hd_webhook_sig.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HD_LISTEN_MAX_BODY (1024 * 1024)

typedef struct hd_listen {
        const char *secrets[8];
        size_t nsecrets;
        FILE *out;
        pthread_mutex_t lock;
        double fail_rate, reset_rate;
        int status;             /* 0 = by verification */
        int delay_min, delay_max;
        unsigned seed;
        const char *require_auth; /* exact Authorization value required, or NULL */
        int record_body;          /* --record-body: the JSON body in each line */
} hd_listen_t;

typedef struct hd_lreq {
        char *body;
        size_t len;
        int too_large;
} hd_lreq_t;

static double hd_rand01(hd_listen_t *L)
{
        double r;

        pthread_mutex_lock(&L->lock);
        r = (double)rand_r(&L->seed) / ((double)RAND_MAX + 1.0);
        pthread_mutex_unlock(&L->lock);
        return r;
}

static void hd_listen_record(hd_listen_t *L, const char *id, const hd_lreq_t *req,
                             int valid, unsigned status, const char *why)
{
        json_t *body = req->body ? json_loadb(req->body, req->len, 0, NULL) : NULL;
        json_t *line = json_pack("{s:s?, s:O?, s:O?, s:b, s:i, s:I, s:s?}", "id", id, "type",
                                 json_object_get(body, "type"), "account",
                                 json_object_get(body, "account_id"), "valid", valid,
                                 "status", (int)status, "arrived_at",
                                 (json_int_t)hd_now_ms(), "error", why);
        char *text;

        if (L->record_body && body)
                json_object_set(line, "body", body);
        text = json_dumps(line, JSON_COMPACT);
        pthread_mutex_lock(&L->lock);
        fprintf(L->out, "%s\n", text);
        fflush(L->out);
        pthread_mutex_unlock(&L->lock);
        free(text);
        json_decref(line);
        json_decref(body);
}

static enum MHD_Result hd_listen_reply(struct MHD_Connection *c, unsigned status,
                                       const char *text)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                                 MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        if (status == 302)
                MHD_add_response_header(r, "Location", "https://localhost/elsewhere");
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

/* One complete request: verify, decide the answer (faults included), record it. */
static enum MHD_Result hd_listen_answer(hd_listen_t *L, struct MHD_Connection *c,
                                        hd_lreq_t *req)
{
        const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-id");
        const char *ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-timestamp");
        const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-signature");
        char why[256] = "";
        int valid = !req->too_large &&
                    hd_webhook_verify(L->secrets, L->nsecrets, id, ts, sig, req->body ? req->body : "",
                                      req->len, (int64_t)time(NULL), HD_SIG_TOLERANCE_S, why,
                                      sizeof(why)) == 0;
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        unsigned status;

        if (valid && L->require_auth && (!auth || strcmp(auth, L->require_auth))) {
                valid = 0;
                snprintf(why, sizeof(why), "Authorization header %s", auth ? "wrong" : "missing");
        }
        status = valid ? 204 : 401;
        if (req->too_large)
                snprintf(why, sizeof(why), "body larger than %d bytes", HD_LISTEN_MAX_BODY);
        if (L->delay_max > 0) {
                int span = L->delay_max - L->delay_min;
                usleep((useconds_t)(L->delay_min + (span > 0 ? (int)(hd_rand01(L) * (span + 1)) : 0)) * 1000);
        }
        if (L->reset_rate > 0 && hd_rand01(L) < L->reset_rate) {
                hd_listen_record(L, id, req, valid, 0, "connection reset (injected)");
                return MHD_NO; /* MHD closes the connection without an answer */
        }
        if (valid && L->status)
                status = (unsigned)L->status;
        else if (valid && L->fail_rate > 0 && hd_rand01(L) < L->fail_rate)
                status = 503;
        hd_listen_record(L, id, req, valid, status, valid ? NULL : why);
        return hd_listen_reply(c, status, valid ? "" : why);
}

static enum MHD_Result hd_listen_handler(void *cls, struct MHD_Connection *c, const char *url,
                                         const char *method, const char *version,
                                         const char *data, size_t *data_size, void **ctx)
{
        hd_lreq_t *req = *ctx;

        (void)url, (void)version;
        if (!req) {
                *ctx = hd_calloc(1, sizeof(hd_lreq_t));
                return MHD_YES;
        }
        if (*data_size) {
                if (req->len + *data_size > HD_LISTEN_MAX_BODY) {
                        req->too_large = 1;
                } else {
                        req->body = hd_realloc(req->body, req->len + *data_size + 1);
                        memcpy(req->body + req->len, data, *data_size);
                        req->len += *data_size;
                        req->body[req->len] = '\0';
                }
                *data_size = 0;
                return MHD_YES;
        }
        if (strcmp(method, "POST"))
                return hd_listen_reply(c, 405, "POST only");
        return hd_listen_answer(cls, c, req);
}

static void hd_listen_done(void *cls, struct MHD_Connection *c, void **ctx,
                           enum MHD_RequestTerminationCode toe)
{
        hd_lreq_t *req = *ctx;

        (void)cls, (void)c, (void)toe;
        if (req) {
                free(req->body);
                free(req);
        }
        *ctx = NULL;
}

static const char hd_usage[] =
        "usage: herald listen --listen ADDR:PORT --cert FILE --key FILE --secret whsec_...\n"
        "                     [--secret whsec_...] [--out FILE] [--fail-rate R]\n"
        "                     [--status CODE] [--delay-ms MIN-MAX] [--reset-rate R]\n"
        "                     [--require-auth VALUE] [--record-body]\n"
        "HTTPS webhook receiver: verifies signatures (any --secret; several during\n"
        "rotation) and timestamps (+-5 min); 204 when valid, 401 when not; one JSON line\n"
        "per delivery to FILE (default stdout). Faults: --fail-rate R answers 503 to a\n"
        "share R of valid deliveries, --status CODE answers CODE to all valid ones,\n"
        "--delay-ms waits MIN..MAX ms, --reset-rate R drops a share R of connections.\n"
        "--require-auth VALUE answers 401 unless the Authorization header is VALUE\n"
        "(e.g. \"Bearer t0ken\"), to check a subscription's extra auth end to end.\n"
        "--record-body adds each delivery's JSON body to its line.\n"
        "Prints \"herald listen: listening on https://ADDR:PORT\" when ready.\n";

/* The secret as hd_webhook_sign uses it: a signature made with it must work. */
static int hd_listen_check_secret(const char *s, char *errstr, size_t errstr_size)
{
        const char *ids[1] = {s};
        char sig[256];

        return hd_webhook_sign(ids, 1, "msg_check", 1, "{}", 2, sig, sizeof(sig), errstr,
                               errstr_size);
}

static int hd_listen_check_addr(const char *listen)
{
        const char *colon = strrchr(listen, ':');
        struct in_addr a;
        char host[64], *end;
        long port;

        if (!colon || (size_t)(colon - listen) >= sizeof(host) || !colon[1])
                return -1;
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
        port = strtol(colon + 1, &end, 10);
        return inet_pton(AF_INET, host, &a) == 1 && !*end && port >= 0 && port <= 65535 ? 0 : -1;
}

static int hd_parse_rate(const char *s, double *out)
{
        char *end;
        *out = strtod(s, &end);
        return *s && !*end && *out >= 0 && *out <= 1 ? 0 : -1;
}

static int hd_listen_opts(int argc, char **argv, hd_listen_t *L, const char **listen,
                          const char **cert, const char **key, const char **out)
{
        char err[256];
        static const struct option opts[] = {
                {"listen", 1, NULL, 'l'}, {"cert", 1, NULL, 'c'},      {"key", 1, NULL, 'k'},
                {"secret", 1, NULL, 's'}, {"out", 1, NULL, 'o'},       {"fail-rate", 1, NULL, 'f'},
                {"status", 1, NULL, 'S'}, {"delay-ms", 1, NULL, 'd'},  {"reset-rate", 1, NULL, 'r'},
                {"require-auth", 1, NULL, 'A'}, {"record-body", 0, NULL, 'B'}, {"help", 0, NULL, 'h'},   {NULL, 0, NULL, 0}};
        int c;

        while ((c = getopt_long(argc, argv, "l:c:k:s:o:f:S:d:r:A:Bh", opts, NULL)) != -1) {
                switch (c) {
                case 'l': *listen = optarg; break;
                case 'c': *cert = optarg; break;
                case 'k': *key = optarg; break;
                case 'o': *out = optarg; break;
                case 'B': L->record_body = 1; break;
                case 'A':
                        L->require_auth = optarg;
                        hd_log_add_secret(optarg);
                        break;
                case 's':
                        if (L->nsecrets == HD_ARRAY_SIZE(L->secrets))
                                return fprintf(stderr, "herald listen: at most 8 secrets\n"), 2;
                        if (hd_listen_check_secret(optarg, err, sizeof(err)))
                                return fprintf(stderr, "herald listen: --secret #%zu: %s\n",
                                               L->nsecrets + 1, err), 2;
                        L->secrets[L->nsecrets++] = optarg;
                        hd_log_add_secret(optarg);
                        break;
                case 'f':
                        if (hd_parse_rate(optarg, &L->fail_rate))
                                return fprintf(stderr, "herald listen: --fail-rate is 0..1\n"), 2;
                        break;
                case 'r':
                        if (hd_parse_rate(optarg, &L->reset_rate))
                                return fprintf(stderr, "herald listen: --reset-rate is 0..1\n"), 2;
                        break;
                case 'S':
                        L->status = atoi(optarg);
                        if (L->status < 100 || L->status > 599)
                                return fprintf(stderr, "herald listen: --status is 100..599\n"), 2;
                        break;
                case 'd':
                        if (sscanf(optarg, "%d-%d", &L->delay_min, &L->delay_max) != 2 ||
                            L->delay_min < 0 || L->delay_max < L->delay_min)
                                return fprintf(stderr, "herald listen: --delay-ms is MIN-MAX\n"), 2;
                        break;
                case 'h': fputs(hd_usage, stdout); exit(0);
                default: fputs(hd_usage, stderr); return 2;
                }
        }
        if (!*listen || !*cert || !*key || !L->nsecrets)
                return fputs(hd_usage, stderr), 2;
        if (hd_listen_check_addr(*listen))
                return fprintf(stderr, "herald listen: --listen \"%s\": expected IPv4:PORT with "
                               "PORT 0..65535\n", *listen), 2;
        return 0;
}

static struct MHD_Daemon *hd_listen_start(hd_listen_t *L, const char *listen, char *cert,
                                          char *key, int *port)
{
        struct sockaddr_in sa = {.sin_family = AF_INET};
        const char *colon = strrchr(listen, ':');
        char host[64];
        struct MHD_Daemon *d;
        const union MHD_DaemonInfo *info;

        if (!colon || (size_t)(colon - listen) >= sizeof(host))
                return NULL;
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
        sa.sin_port = htons((uint16_t)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                return NULL;
        /* A thread per connection: an injected delay holds up only its own request. */
        d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                     MHD_USE_TLS | MHD_USE_ERROR_LOG,
                             0, NULL, NULL, hd_listen_handler, L, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&sa, MHD_OPTION_HTTPS_MEM_CERT, cert,
                             MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_NOTIFY_COMPLETED,
                             hd_listen_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_END);
        if (d && (info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)))
                *port = info->port;
        if (d)
                printf("herald listen: listening on https://%s:%d\n", host, *port);
        return d;
}

int main(int argc, char **argv)
{
        hd_listen_t L = {.out = stdout, .seed = (unsigned)getpid()};
        const char *listen = NULL, *certf = NULL, *keyf = NULL, *outf = NULL;
        char err[HD_ERRSTR_SIZE], *cert = NULL, *key = NULL;
        struct MHD_Daemon *d = NULL;
        int rc, port = 0, sig;
        sigset_t set;

        if ((rc = hd_listen_opts(argc, argv, &L, &listen, &certf, &keyf, &outf)))
                return rc;
        if (!(cert = hd_read_file(certf, 1 << 20, NULL, err, sizeof(err))) ||
            !(key = hd_read_file(keyf, 1 << 20, NULL, err, sizeof(err)))) {
                fprintf(stderr, "herald listen: %s\n", err);
                rc = 2;
                goto out;
        }
        if (outf && !(L.out = fopen(outf, "a"))) {
                fprintf(stderr, "herald listen: cannot open %s\n", outf);
                L.out = stdout;
                rc = 2;
                goto out;
        }
        pthread_mutex_init(&L.lock, NULL);
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        if (!(d = hd_listen_start(&L, listen, cert, key, &port))) {
                fprintf(stderr, "herald listen: cannot listen on %s with TLS\n", listen);
                rc = 1;
                goto out;
        }
        fflush(stdout);
        do
                sig = sigwaitinfo(&set, NULL);
        while (sig != SIGINT && sig != SIGTERM);
        MHD_stop_daemon(d);
        rc = 0;
out:
        if (L.out != stdout)
                fclose(L.out);
        free(cert);
        free(key);
        hd_log_clear_secrets();
        return rc;
}
