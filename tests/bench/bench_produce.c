/*
 * bench_produce: events/s through libherald (herald_emit of JSON events, then
 * flush) to the broker in HERALD_CONFIG, or, with --encode, writes the same events
 * as ready Confluent frames (key DELIM_K value DELIM_M ...) for kcat to send as
 * the baseline. Driven by tests/bench/produce.sh.
 *
 *   bench_produce EVENTS.jsonl                 -> prints c_api_events_per_s=N
 *   bench_produce --encode EVENTS.jsonl OUT    -> frames for kcat -K/-D
 */
#include "herald/herald.h"
#include "hd_catalogue.h"
#include "hd_registry.h"
#include "hd_serde.h"
#include "hd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_DELIM "@@K@@"
#define MSG_DELIM "@@HERALD-MSG@@"

static char **load_lines(const char *path, size_t *n)
{
        char **lines = NULL, *line = NULL;
        size_t cap = 0, lcap = 0;
        FILE *fp = fopen(path, "r");

        *n = 0;
        if (!fp) {
                perror(path);
                exit(2);
        }
        while (getline(&line, &lcap, fp) > 0) {
                if (*n == cap) {
                        cap = cap ? cap * 2 : 1024;
                        lines = hd_realloc(lines, cap * sizeof(char *));
                }
                lines[(*n)++] = hd_strdup(line);
        }
        free(line);
        fclose(fp);
        return lines;
}

static long hd_acked;

static void on_delivery(const char *id, herald_err_t err, const char *errstr, void *opaque)
{
        (void)id, (void)opaque;
        if (err)
                fprintf(stderr, "delivery failed: %s\n", errstr);
        else
                hd_acked++;
}

static int run_api(char **lines, size_t n)
{
        herald_producer_t *p;
        herald_event_t **evs = hd_calloc(n, sizeof(*evs));
        char err[512];
        int64_t t0, t1;

        if (herald_producer_new(NULL, &p, err, sizeof(err))) {
                fprintf(stderr, "bench: %s\n", err);
                return 1;
        }
        /* Events are built before the clock starts: billing has them in memory. */
        for (size_t i = 0; i < n; i++)
                if (herald_event_from_json(lines[i], &evs[i], err, sizeof(err)))
                        return fprintf(stderr, "bench: line %zu: %s\n", i + 1, err), 1;
        t0 = hd_mono_us();
        for (size_t i = 0; i < n; i++)
                if (herald_emit(p, evs[i], on_delivery, NULL, err, sizeof(err)))
                        return fprintf(stderr, "bench: %s\n", err), 1;
        t1 = hd_mono_us();
        herald_flush(p, 120000, err, sizeof(err));
        printf("c_api_events_per_s=%.0f acked=%ld emit_us=%lld flush_us=%lld\n",
               (double)n / ((double)(hd_mono_us() - t0) / 1e6), hd_acked,
               (long long)(t1 - t0), (long long)(hd_mono_us() - t1));
        for (size_t i = 0; i < n; i++)
                herald_event_destroy(evs[i]);
        free(evs);
        herald_producer_destroy(p);
        return hd_acked == (long)n ? 0 : 1;
}

/* The same events, encoded once, for kcat: "key@@K@@frame@@HERALD-MSG@@". */
static int run_encode(char **lines, size_t n, const char *out)
{
        hd_config_t *cfg;
        hd_registry_t *reg;
        hd_serde_t *s;
        char err[512];
        int32_t id;
        int version;
        FILE *fp = fopen(out, "wb");

        if (!fp || !(cfg = hd_config_load(NULL, err, sizeof(err))) ||
            !(reg = hd_registry_from_config(cfg, err, sizeof(err))) ||
            hd_registry_lookup(reg, "billing.events.ordered-value", hd_catalogue_schema_json(),
                               &id, &version, err, sizeof(err)))
                return fprintf(stderr, "bench: %s\n", err), 1;
        s = hd_serde_new(1 << 20, hd_registry_fetch_cb, reg);
        for (size_t i = 0; i < n; i++) {
                json_t *ev = json_loads(lines[i], 0, NULL);
                void *buf;
                size_t len;
                const char *acct = json_string_value(json_object_get(ev, "account_id"));
                if (hd_serde_encode(s, id, ev, &buf, &len, err, sizeof(err)))
                        return fprintf(stderr, "bench: %s\n", err), 1;
                fprintf(fp, "%s" KEY_DELIM, acct ? acct : "");
                fwrite(buf, 1, len, fp);
                fputs(MSG_DELIM, fp);
                free(buf);
                json_decref(ev);
        }
        fclose(fp);
        hd_serde_destroy(s);
        hd_registry_destroy(reg);
        hd_config_destroy(cfg);
        return 0;
}

int main(int argc, char **argv)
{
        size_t n;
        char **lines;
        int rc;

        if (argc == 4 && !strcmp(argv[1], "--encode")) {
                lines = load_lines(argv[2], &n);
                rc = run_encode(lines, n, argv[3]);
        } else if (argc == 2) {
                lines = load_lines(argv[1], &n);
                rc = run_api(lines, n);
        } else {
                fprintf(stderr, "usage: bench_produce EVENTS.jsonl | --encode EVENTS.jsonl OUT\n");
                return 2;
        }
        for (size_t i = 0; i < n; i++)
                free(lines[i]);
        free(lines);
        return rc;
}
