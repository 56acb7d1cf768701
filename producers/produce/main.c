/*
 * herald-produce: `herald produce [--config F] [--file F | -] [--strict]`.
 * JSON-lines events through libherald (the same path billing uses). An invalid
 * line is reported as "LINE: problem" and not sent; the valid ones are sent.
 * --strict validates everything first and sends nothing if any line is invalid.
 * Exit 0 = all sent and acknowledged, 1 = some delivery failed, 2 = invalid input.
 */
#include "herald/herald.h"

#include <errno.h>
#include <getopt.h>
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
        time_t now;

        /* Only for large inputs on a terminal: small runs just get the summary. */
        if (!st->progress || st->lines < 10000 || (now = time(NULL), !final && now == st->last_shown))
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

/* Validates, encodes and sends one line (herald_emit_json: straight from the text
 * when it has the usual shape); an invalid line is reported and not sent. */
static void hd_send(herald_producer_t *p, const char *line, long lineno, hd_prod_stats_t *st)
{
        char err[512];

        if (herald_emit_json(p, line, hd_on_delivery, st, err, sizeof(err)))
                hd_report(st, lineno, err); /* invalid, too large or refused: not sent */
        else
                st->sent++;
        hd_progress(st, 0);
}

/* line has len bytes and no NUL (hd_has_nul). */
static int hd_blank(const char *line, size_t len)
{
        return strspn(line, " \t\r\n") == len;
}

/*
 * Lines read in large blocks straight into one buffer: stdio's getline refills 4 KiB
 * at a time and copies each line out again, which cost more than a tenth of the
 * sending thread. Each line is handed over NUL-ended in place, '\n' kept (as getline
 * gives it); the byte its NUL covers (the next line's first) is put back before the
 * next line is cut. A read error ends the input, as it ended getline's.
 */
#define HD_READ_BLOCK (64u << 10)

typedef struct hd_lines {
        int fd, eof;
        char *buf;
        size_t cap, pos, end; /* buf[pos, end): read, not yet handed over */
        size_t scanned;       /* buf[pos, scanned) has no '\n' */
        char *cut, saved;     /* the current line's NUL and the byte it covers */
} hd_lines_t;

static void hd_lines_init(hd_lines_t *r, FILE *in)
{
        memset(r, 0, sizeof(*r));
        r->fd = fileno(in);
        r->cap = HD_READ_BLOCK;
        if (!(r->buf = malloc(r->cap)))
                abort();
}

/* Room for another block after the unread bytes (moved to the front first). */
static void hd_lines_room(hd_lines_t *r)
{
        if (r->pos) {
                memmove(r->buf, r->buf + r->pos, r->end - r->pos);
                r->end -= r->pos;
                r->scanned -= r->pos;
                r->pos = 0;
        }
        if (r->cap - r->end < HD_READ_BLOCK / 2 + 1) {
                r->cap *= 2;
                if (!(r->buf = realloc(r->buf, r->cap)))
                        abort();
        }
}

/* The next line (*line NUL-ended, valid until the next call) and its length in
 * bytes, NULs included; -1 at the end of the input. */
static ssize_t hd_lines_next(hd_lines_t *r, char **line)
{
        char *nl = NULL;
        size_t len;

        if (r->cut) {
                *r->cut = r->saved;
                r->cut = NULL;
        }
        if (r->scanned < r->pos)
                r->scanned = r->pos;
        while (!(nl = memchr(r->buf + r->scanned, '\n', r->end - r->scanned)) && !r->eof) {
                ssize_t n;
                r->scanned = r->end;
                hd_lines_room(r);
                n = read(r->fd, r->buf + r->end, r->cap - r->end - 1);
                if (n > 0)
                        r->end += (size_t)n;
                else if (n == 0 || errno != EINTR)
                        r->eof = 1;
        }
        if (!nl && r->pos == r->end)
                return -1;
        len = nl ? (size_t)(nl + 1 - (r->buf + r->pos)) : r->end - r->pos;
        *line = r->buf + r->pos;
        r->pos += len;
        r->scanned = r->pos;
        r->cut = r->buf + r->pos; /* < cap: a byte is always kept free */
        r->saved = *r->cut;
        *r->cut = '\0';
        return (ssize_t)len;
}

/*
 * The parser sees a C string: a NUL byte would silently cut the line short (or make
 * it look blank), so the rest of it would be dropped without a word. Reported as
 * an invalid line instead.
 */
static int hd_has_nul(const char *line, ssize_t len, long lineno, hd_prod_stats_t *st)
{
        if (!memchr(line, '\0', (size_t)len))
                return 0;
        if (st->progress)
                fputc('\n', stderr);
        fprintf(stderr, "%ld: line contains a NUL byte\n", lineno);
        st->invalid++;
        return 1;
}

/* Streams: each valid line is sent as soon as it is read. */
static void hd_stream(herald_producer_t *p, FILE *in, hd_prod_stats_t *st)
{
        hd_lines_t r;
        char *line;
        ssize_t len;

        hd_lines_init(&r, in);
        while ((len = hd_lines_next(&r, &line)) != -1) {
                if (++st->lines, hd_has_nul(line, len, st->lines, st) ||
                    hd_blank(line, (size_t)len))
                        continue;
                hd_send(p, line, st->lines, st);
        }
        free(r.buf);
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
        char *line, err[512];
        hd_lines_t r;
        ssize_t len;

        hd_lines_init(&r, in);
        while ((len = hd_lines_next(&r, &line)) != -1) {
                herald_encoded_t *enc = NULL;
                if (++st->lines, hd_has_nul(line, len, st->lines, st) ||
                    hd_blank(line, (size_t)len))
                        continue;
                /* Validated (herald_event_validate's messages), then encoded. */
                if (herald_encode_json(p, line, &enc, err, sizeof(err))) {
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
        }
        free(r.buf);
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
