/*
 * herald-produce: `herald produce [--config F] [--file F | -] [--strict]`.
 * JSON-lines events through libherald (the same path billing uses). An invalid
 * line is reported as "LINE: problem" and not sent; the valid ones are sent.
 * --strict validates everything first and sends nothing if any line is invalid.
 * Exit 0 = all sent and acknowledged, 1 = some delivery failed, 2 = invalid input.
 */
#include "herald/herald.h"

#include "hd_util.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct hd_prod_stats {
        long sent, acked, failed, invalid, lines;
        int progress;      /* stderr is a terminal: show a progress line */
        time_t last_shown;
} hd_prod_stats_t;

static void hd_on_delivery(const char *event_id, herald_err_t err, const char *errstr,
                           void *opaque)
{
        hd_prod_stats_t *st = opaque;

        if (err) {
                st->failed++;
                fprintf(stderr, "herald produce: event %s: delivery failed: %s\n", event_id,
                        errstr);
        } else {
                st->acked++;
        }
}

static void hd_progress(hd_prod_stats_t *st, int final)
{
        time_t now = time(NULL);

        /* Only for large inputs on a terminal: small runs just get the summary. */
        if (!st->progress || st->lines < 10000 || (!final && now == st->last_shown))
                return;
        st->last_shown = now;
        fprintf(stderr, "\rherald produce: %ld lines, %ld sent, %ld acknowledged%s",
                st->lines, st->sent, st->acked, final ? "\n" : "");
}

/* "LINE: problem" on its own line (after a progress line, if any). */
static void hd_report(hd_prod_stats_t *st, long lineno, const char *problem)
{
        if (st->progress)
                fputc('\n', stderr);
        fprintf(stderr, "%ld: %s\n", lineno, problem);
        st->invalid++;
}

/* Parses one line (herald_emit/herald_encode validate it); NULL, reported, when
 * it is not a JSON object. */
static herald_event_t *hd_parse_line(const char *line, long lineno, hd_prod_stats_t *st)
{
        herald_event_t *ev = NULL;
        char err[512];

        if (herald_event_from_json(line, &ev, err, sizeof(err))) {
                hd_report(st, lineno, err);
                herald_event_destroy(ev);
                return NULL;
        }
        return ev;
}

static void hd_send(herald_producer_t *p, herald_event_t *ev, long lineno,
                    hd_prod_stats_t *st)
{
        char err[512];

        if (herald_emit(p, ev, hd_on_delivery, st, err, sizeof(err)))
                hd_report(st, lineno, err); /* invalid, too large or refused: not sent */
        else
                st->sent++;
        hd_progress(st, 0);
}

static int hd_blank(const char *line)
{
        return strspn(line, " \t\r\n") == strlen(line);
}

/*
 * The parser sees a C string: a NUL byte would silently cut the line short (or make
 * it look blank), so the rest of it would be dropped without a word. Reported as
 * an invalid line instead.
 */
static int hd_has_nul(const char *line, ssize_t len, long lineno, hd_prod_stats_t *st)
{
        if (len < 0 || !memchr(line, '\0', (size_t)len))
                return 0;
        if (st->progress)
                fputc('\n', stderr);
        fprintf(stderr, "%ld: line contains a NUL byte\n", lineno);
        st->invalid++;
        return 1;
}

/*
 * Streaming: a reader thread reads and parses lines (what costs most per line)
 * while this thread validates, encodes and sends them, so the two run on two
 * cores. One reader, one sender and a FIFO of batches: input order is kept.
 */
#define HD_BATCH 256
#define HD_QUEUED 8 /* batches parsed ahead at most */

typedef struct hd_batch {
        int n;
        herald_event_t *ev[HD_BATCH];
        long lineno[HD_BATCH];
} hd_batch_t;

typedef struct hd_pipe {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        hd_batch_t *q[HD_QUEUED];
        int head, count, done;
        FILE *in;
        hd_prod_stats_t rst; /* the reader's own counts (lines, invalid) */
} hd_pipe_t;

static void hd_pipe_push(hd_pipe_t *P, hd_batch_t *b, int done)
{
        pthread_mutex_lock(&P->lock);
        while (b && P->count == HD_QUEUED)
                pthread_cond_wait(&P->cond, &P->lock);
        if (b)
                P->q[(P->head + P->count++) % HD_QUEUED] = b;
        P->done = done;
        pthread_cond_broadcast(&P->cond);
        pthread_mutex_unlock(&P->lock);
}

/* The next batch in input order; NULL once the reader is done and all are taken. */
static hd_batch_t *hd_pipe_pop(hd_pipe_t *P)
{
        hd_batch_t *b = NULL;

        pthread_mutex_lock(&P->lock);
        while (!P->count && !P->done)
                pthread_cond_wait(&P->cond, &P->lock);
        if (P->count) {
                b = P->q[P->head];
                P->head = (P->head + 1) % HD_QUEUED;
                P->count--;
                pthread_cond_broadcast(&P->cond);
        }
        pthread_mutex_unlock(&P->lock);
        return b;
}

static void *hd_reader(void *arg)
{
        hd_pipe_t *P = arg;
        hd_prod_stats_t *st = &P->rst;
        hd_batch_t *b = hd_malloc(sizeof(*b));
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;

        b->n = 0;
        while ((len = getline(&line, &cap, P->in)) != -1) {
                herald_event_t *ev;
                if (++st->lines, hd_has_nul(line, len, st->lines, st) || hd_blank(line))
                        continue;
                if (!(ev = hd_parse_line(line, st->lines, st)))
                        continue;
                b->ev[b->n] = ev;
                b->lineno[b->n++] = st->lines;
                if (b->n == HD_BATCH) {
                        hd_pipe_push(P, b, 0);
                        b = hd_malloc(sizeof(*b));
                        b->n = 0;
                }
        }
        free(line);
        hd_pipe_push(P, b, 1);
        return NULL;
}

static void hd_stream(herald_producer_t *p, FILE *in, hd_prod_stats_t *st)
{
        hd_pipe_t P = {.in = in, .rst = {.progress = st->progress}};
        hd_batch_t *b;
        pthread_t reader;

        pthread_mutex_init(&P.lock, NULL);
        pthread_cond_init(&P.cond, NULL);
        if (pthread_create(&reader, NULL, hd_reader, &P)) {
                fprintf(stderr, "herald produce: cannot start the reader thread\n");
                exit(2); /* nothing was read or sent yet */
        }
        while ((b = hd_pipe_pop(&P))) {
                for (int i = 0; i < b->n; i++) {
                        st->lines = b->lineno[i]; /* for the progress line */
                        hd_send(p, b->ev[i], b->lineno[i], st);
                        herald_event_destroy(b->ev[i]);
                }
                free(b);
        }
        pthread_join(reader, NULL);
        st->lines = P.rst.lines;
        st->invalid += P.rst.invalid;
        pthread_cond_destroy(&P.cond);
        pthread_mutex_destroy(&P.lock);
}

/*
 * --strict: every line is validated and encoded before the first is sent, so a
 * line that only fails once encoded (too large) also stops the whole input. Only
 * the encoded bytes are kept, not the parsed events.
 */
static void hd_strict(herald_producer_t *p, FILE *in, hd_prod_stats_t *st)
{
        herald_encoded_t **encs = NULL;
        long n = 0, cap = 0;
        char *line = NULL, err[512];
        size_t lcap = 0;
        ssize_t len;

        while ((len = getline(&line, &lcap, in)) != -1) {
                herald_event_t *ev;
                herald_encoded_t *enc = NULL;
                if (++st->lines, hd_has_nul(line, len, st->lines, st) || hd_blank(line))
                        continue;
                if (!(ev = hd_parse_line(line, st->lines, st)))
                        continue;
                /* Validated first for the same messages as before (field paths). */
                if (herald_event_validate(ev, err, sizeof(err)) ||
                    herald_encode(p, ev, &enc, err, sizeof(err))) {
                        hd_report(st, st->lines, err);
                } else if (!st->invalid) {
                        if (n == cap) {
                                cap = cap ? cap * 2 : 1024;
                                if (!(encs = realloc(encs, (size_t)cap * sizeof(*encs))))
                                        abort();
                        }
                        encs[n++] = enc;
                } else {
                        herald_encoded_destroy(enc); /* nothing will be sent anyway */
                }
                herald_event_destroy(ev);
        }
        free(line);
        for (long i = 0; i < n; i++) {
                if (st->invalid) {
                        herald_encoded_destroy(encs[i]);
                } else if (herald_emit_encoded(p, encs[i], hd_on_delivery, st, err,
                                               sizeof(err))) {
                        fprintf(stderr, "herald produce: %s\n", err);
                        st->failed++;
                } else {
                        st->sent++;
                        hd_progress(st, 0);
                }
        }
        if (st->invalid)
                fprintf(stderr, "herald produce: --strict: %ld invalid line(s), nothing sent\n",
                        st->invalid);
        free(encs);
}

static const char hd_usage[] =
        "usage: herald produce [--config FILE] [--file FILE | -] [--strict]\n"
        "Reads JSON-lines events (stdin by default), validates them against the\n"
        "catalogue and produces them to Kafka. Invalid lines are reported as\n"
        "LINE: problem and skipped; --strict sends nothing if any line is invalid.\n"
        "Exit 0 = all sent and acknowledged, 1 = some delivery failed,\n"
        "2 = invalid input (or usage/config error).\n";

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"config", 1, NULL, 'c'},
                                             {"file", 1, NULL, 'f'},
                                             {"strict", 0, NULL, 's'},
                                             {"help", 0, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        hd_prod_stats_t st = {0};
        const char *config = NULL, *file = "-";
        herald_producer_t *p = NULL;
        int c, strict = 0, rc;
        char err[512];
        FILE *in = stdin;

        while ((c = getopt_long(argc, argv, "c:f:sh", opts, NULL)) != -1) {
                switch (c) {
                case 'c': config = optarg; break;
                case 'f': file = optarg; break;
                case 's': strict = 1; break;
                case 'h': fputs(hd_usage, stdout); return 0;
                default: fputs(hd_usage, stderr); return 2;
                }
        }
        if (strcmp(file, "-") && !(in = fopen(file, "r"))) {
                perror(file);
                return 2;
        }
        if (herald_producer_new(config, &p, err, sizeof(err))) {
                fprintf(stderr, "herald produce: %s\n", err);
                if (in != stdin)
                        fclose(in);
                return 2;
        }
        st.progress = isatty(2);
        (strict ? hd_strict : hd_stream)(p, in, &st);
        if (herald_flush(p, 60000, err, sizeof(err)))
                fprintf(stderr, "herald produce: %s\n", err);
        hd_progress(&st, 1);
        fprintf(stderr, "herald produce: %ld sent, %ld acknowledged, %ld failed, %ld invalid\n",
                st.sent, st.acked, st.failed, st.invalid);
        rc = (st.failed || st.acked < st.sent) ? 1 : st.invalid ? 2 : 0;
        herald_producer_destroy(p);
        if (in != stdin)
                fclose(in);
        return rc;
}
