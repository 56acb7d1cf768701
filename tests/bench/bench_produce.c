/*
 * bench_produce: events/s through libherald (herald_emit of JSON events, then
 * flush) to the broker in HERALD_CONFIG, or, with --encode, writes the same events
 * as ready Confluent frames (key DELIM_K value DELIM_M ...) for kcat to send as
 * the baseline. Driven by tests/bench/produce.sh.
 *
 *   bench_produce EVENTS.jsonl [DISTINCT]      -> prints c_api_events_per_s=N
 *   bench_produce --setters EVENTS.jsonl [DISTINCT]  (events built field by field)
 *   bench_produce --encode EVENTS.jsonl OUT    -> frames for kcat -K/-D
 *
 * Every line is emitted once. DISTINCT (default: all) is how many events are
 * built up front: with fewer, line i is sent as built event i % DISTINCT (the same
 * account, type and fields; only the event id repeats), so the events stay in the
 * CPU cache as they do in billing, which builds an event and emits it at once.
 * All of them built first (the default) measures events cold in memory.
 * Events from herald_event_from_json are encoded from their text's tokens;
 * --setters builds them with herald_event_new and the setters instead (encoded
 * from their tree).
 */
#include "herald/herald.h"
#include "hd_catalogue.h"
#include "hd_registry.h"
#include "hd_serde.h"
#include "hd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of the calling thread: what herald_emit itself costs, whatever the noise. */
static int64_t thread_cpu_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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

/* Sets every leaf of obj (under prefix) on ev with the typed setters. */
static int set_fields(herald_event_t *ev, const char *prefix, json_t *obj)
{
        const char *key;
        json_t *v;
        char path[300], err[256];

        json_object_foreach(obj, key, v) {
                herald_err_t r;
                snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key);
                if (!strcmp(path, "type"))
                        continue;
                if (json_is_object(v)) {
                        if (set_fields(ev, path, v))
                                return -1;
                        continue;
                }
                r = json_is_string(v)    ? herald_event_set_string(ev, path, json_string_value(v),
                                                                   err, sizeof(err))
                    : json_is_integer(v) ? herald_event_set_long(ev, path, json_integer_value(v),
                                                                 err, sizeof(err))
                    : json_is_boolean(v) ? herald_event_set_bool(ev, path, json_is_true(v), err,
                                                                 sizeof(err))
                                         : herald_event_set_null(ev, path, err, sizeof(err));
                if (r)
                        return fprintf(stderr, "bench: %s: %s\n", path, err), -1;
        }
        return 0;
}

static int build_event(const char *line, int setters, herald_event_t **ev, char *err,
                       size_t errsz)
{
        json_t *j;
        int r;

        if (!setters)
                return herald_event_from_json(line, ev, err, errsz);
        j = json_loads(line, 0, NULL);
        r = herald_event_new(json_string_value(json_object_get(j, "type")) ?: "", ev, err, errsz) ||
            set_fields(*ev, "", j);
        json_decref(j);
        return r;
}

static int run_api(char **lines, size_t n, size_t distinct, int setters)
{
        herald_producer_t *p;
        herald_event_t **evs = hd_calloc(distinct, sizeof(*evs));
        char err[512];
        int64_t t0, t1, c0, c1;
        long acked_at_t1;

        if (herald_producer_new(NULL, &p, err, sizeof(err))) {
                fprintf(stderr, "bench: %s\n", err);
                return 1;
        }
        /* Events are built before the clock starts: billing has them in memory. */
        for (size_t i = 0; i < distinct; i++)
                if (build_event(lines[i], setters, &evs[i], err, sizeof(err)))
                        return fprintf(stderr, "bench: line %zu: %s\n", i + 1, err), 1;
        t0 = hd_mono_us();
        c0 = thread_cpu_us();
        for (size_t i = 0; i < n; i++)
                if (herald_emit(p, evs[i % distinct], on_delivery, NULL, err, sizeof(err)))
                        return fprintf(stderr, "bench: %s\n", err), 1;
        c1 = thread_cpu_us();
        t1 = hd_mono_us();
        acked_at_t1 = hd_acked;
        herald_flush(p, 120000, err, sizeof(err));
        printf("c_api_events_per_s=%.0f acked=%ld emit_us=%lld emit_cpu_ns_per_event=%.0f "
               "flush_us=%lld unacked_at_emit_end=%ld\n",
               (double)n / ((double)(hd_mono_us() - t0) / 1e6), hd_acked,
               (long long)(t1 - t0), (double)(c1 - c0) * 1000.0 / (double)n,
               (long long)(hd_mono_us() - t1), (long)n - acked_at_t1);
        for (size_t i = 0; i < distinct; i++)
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
        } else if (argc >= 2 && argc <= 4) {
                int setters = !strcmp(argv[1], "--setters");
                size_t distinct;
                if ((setters && argc == 2) || (!setters && argc == 4))
                        return fprintf(stderr, "usage: bench_produce [--setters] EVENTS.jsonl "
                                               "[DISTINCT]\n"), 2;
                lines = load_lines(argv[1 + setters], &n);
                distinct = argc == 3 + setters ? strtoul(argv[2 + setters], NULL, 10) : n;
                rc = run_api(lines, n, distinct && distinct < n ? distinct : n, setters);
        } else {
                fprintf(stderr, "usage: bench_produce EVENTS.jsonl [DISTINCT] | --encode EVENTS.jsonl OUT\n");
                return 2;
        }
        for (size_t i = 0; i < n; i++)
                free(lines[i]);
        free(lines);
        return rc;
}
