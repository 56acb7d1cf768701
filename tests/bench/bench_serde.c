/*
 * bench_serde: events/s through herald's serde (JSON event -> validated Confluent
 * frame -> decoded JSON event) against plain avro-c generic encode/decode of the
 * same records in the same run (set the same values into a generic value by
 * name, write, read back into a generic value, read every field by name).
 *
 *   bench_serde [SAMPLE.jsonl] [ITERATIONS]
 */
#include "hd_avro_json.h"
#include "hd_catalogue.h"
#include "hd_serde.h"
#include "hd_util.h"

#include <avro.h>
#include <stdio.h>
#include <stdlib.h>

static int fetch(void *o, int32_t id, char **json, char *e, size_t es)
{
        (void)o, (void)id, (void)e, (void)es;
        *json = hd_strdup(hd_catalogue_schema_json());
        return 0;
}

/* Reads every leaf by name, as a consumer of plain avro-c would. */
static size_t touch(avro_value_t *v)
{
        size_t n = 0, sum = 0;
        avro_value_t child;
        const char *s = "";
        size_t len = 0;
        int64_t l = 0;

        switch (avro_value_get_type(v)) {
        case AVRO_RECORD:
                avro_value_get_size(v, &n);
                for (size_t i = 0; i < n; i++) {
                        const char *name;
                        avro_value_get_by_index(v, i, &child, &name);
                        avro_value_get_by_name(v, name, &child, NULL);
                        sum += touch(&child);
                }
                return sum;
        case AVRO_UNION:
                avro_value_get_current_branch(v, &child);
                return touch(&child);
        case AVRO_STRING:
                avro_value_get_string(v, &s, &len);
                return len;
        case AVRO_INT64:
                avro_value_get_long(v, &l);
                return (size_t)l & 1;
        default:
                return 1;
        }
}

static double run_herald(json_t **evs, size_t nev, long iters, size_t *bytes)
{
        hd_serde_t *s = hd_serde_new(1 << 20, fetch, NULL);
        char err[512];
        int64_t t0 = hd_mono_us();

        for (long i = 0; i < iters; i++) {
                void *buf;
                size_t len;
                json_t *back;
                if (hd_serde_encode(s, 1, evs[i % nev], &buf, &len, err, sizeof(err)) ||
                    hd_serde_decode(s, buf, len, &back, err, sizeof(err))) {
                        fprintf(stderr, "bench: %s\n", err);
                        exit(1);
                }
                *bytes += len;
                json_decref(back);
                free(buf);
        }
        hd_serde_destroy(s);
        return (double)iters / ((double)(hd_mono_us() - t0) / 1e6);
}

static double run_avro(json_t **evs, size_t nev, long iters, size_t *sink)
{
        const char *recs[64];
        const char *json = hd_catalogue_schema_json();
        avro_schema_t schema;
        avro_value_iface_t *iface;
        avro_value_t in, out;
        static char buf[1 << 16];
        char err[512];
        int64_t t0;

        avro_schema_from_json_length(json, strlen(json), &schema);
        iface = avro_generic_class_from_schema(schema);
        avro_generic_value_new(iface, &in);
        avro_generic_value_new(iface, &out);
        for (size_t i = 0; i < nev; i++) /* set by name, the record branch known */
                recs[i] = hd_catalogue_find(json_string_value(json_object_get(evs[i], "type")))->record;
        t0 = hd_mono_us();
        for (long i = 0; i < iters; i++) {
                avro_writer_t w = avro_writer_memory(buf, sizeof(buf));
                avro_reader_t r;
                avro_value_reset(&in);
                if (hd_json_to_avro(evs[i % nev], recs[i % nev], &in, err, sizeof(err)))
                        exit(1);
                avro_value_write(w, &in);
                r = avro_reader_memory(buf, avro_writer_tell(w));
                avro_value_reset(&out);
                avro_value_read(r, &out);
                *sink += touch(&out);
                avro_reader_free(r);
                avro_writer_free(w);
        }
        avro_value_decref(&in);
        avro_value_decref(&out);
        avro_value_iface_decref(iface);
        avro_schema_decref(schema);
        return (double)iters / ((double)(hd_mono_us() - t0) / 1e6);
}

int main(int argc, char **argv)
{
        const char *path = argc > 1 ? argv[1] : "deploy/dev/sample-events.jsonl";
        long iters = argc > 2 ? atol(argv[2]) : 200000;
        json_t *evs[64];
        size_t nev = 0, bytes = 0, sink = 0;
        char line[16384];
        FILE *fp = fopen(path, "r");
        double herald, avro;

        if (!fp) {
                perror(path);
                return 2;
        }
        while (nev < 64 && fgets(line, sizeof(line), fp)) {
                evs[nev] = json_loads(line, 0, NULL);
                /* Fixed ids/times so both sides encode identical records. */
                json_object_set_new(evs[nev], "id", json_string("0190f0e4-0000-7000-8000-000000000001"));
                json_object_set_new(evs[nev], "occurred_at", json_integer(1764115200000));
                if (!json_object_get(evs[nev], "action"))
                        json_object_set_new(evs[nev], "action", json_string(hd_catalogue_find(json_string_value(json_object_get(evs[nev], "type")))->action));
                if (!json_object_get(evs[nev], "entity"))
                        json_object_set_new(evs[nev], "entity", json_string(hd_catalogue_find(json_string_value(json_object_get(evs[nev], "type")))->entity));
                json_object_set_new(evs[nev], "source", json_string("billing"));
                nev++;
        }
        fclose(fp);
        /* Warm both paths, then measure alternately to share machine noise. */
        run_herald(evs, nev, iters / 10, &bytes);
        run_avro(evs, nev, iters / 10, &sink);
        herald = run_herald(evs, nev, iters, &bytes);
        avro = run_avro(evs, nev, iters, &sink);
        printf("events=%ld avg_frame_bytes=%zu\n", iters, bytes / (size_t)(iters + iters / 10));
        printf("herald_serde_events_per_s=%.0f\n", herald);
        printf("avro_c_generic_events_per_s=%.0f\n", avro);
        printf("ratio=%.2f (target >= 0.80)\n", herald / avro);
        for (size_t i = 0; i < nev; i++)
                json_decref(evs[i]);
        hd_catalogue_cleanup();
        return sink == 0;
}
