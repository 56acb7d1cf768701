/*
 * bench_serde: events/s through herald's serde (JSON event -> validated Confluent
 * frame -> decoded JSON event, every leaf of which is then read) against plain
 * avro-c generic encode/decode of the same records in the same run.
 *
 * Two baselines:
 *   avro_c_native    the strict one: the values are already C values (as in a
 *                    program that uses avro-c directly); each is set into a generic
 *                    value by field name, avro_value_write, avro_value_read into a
 *                    second generic value, every leaf read back by name.
 *   avro_c_from_json the same, but the values come from the JSON event (what a
 *                    JSON-in/JSON-out service built on avro-c generic values pays
 *                    at least; it still never builds a JSON document on decode).
 * ratio = herald / avro_c_native.
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
#include <string.h>

#define BENCH_MAX_EVENTS 64

static int fetch(void *o, int32_t id, char **json, char *e, size_t es)
{
        (void)o, (void)id, (void)e, (void)es;
        *json = hd_strdup(hd_catalogue_schema_json());
        return 0;
}

/* --- reading every leaf ------------------------------------------------------------ */

/* Reads every leaf by name, as a consumer of plain avro-c would. */
static size_t touch(avro_value_t *v)
{
        size_t n = 0, sum = 0, len = 0;
        avro_value_t child;
        const char *s = "";
        int64_t l = 0;

        switch (avro_value_get_type(v)) {
        case AVRO_RECORD: {
                avro_schema_t rs = avro_value_get_schema(v);
                avro_value_get_size(v, &n);
                for (size_t i = 0; i < n; i++) {
                        avro_value_get_by_name(v, avro_schema_record_field_name(rs, (int)i),
                                               &child, NULL);
                        sum += touch(&child);
                }
                return sum;
        }
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

/* The same for herald's decoded event: every leaf looked up by name. */
static size_t touch_json(const json_t *j)
{
        const char *key;
        json_t *v;
        size_t sum = 0;

        if (json_is_object(j)) {
                json_object_foreach((json_t *)j, key, v)
                        sum += touch_json(json_object_get(j, key));
                return sum;
        }
        if (json_is_string(j))
                return json_string_length(j);
        if (json_is_integer(j))
                return (size_t)json_integer_value(j) & 1;
        return 1;
}

/* --- native values: what an avro-c program sets, without JSON ----------------------- */

typedef struct bnode {
        avro_type_t t;
        const char *name;  /* field name within the parent record */
        int branch;        /* union */
        int64_t l;         /* long, int, enum, boolean */
        double d;
        char *s;           /* string (with its NUL, as avro-c counts it) */
        size_t slen;
        struct bnode *kids;
        size_t nkids;
} bnode_t;

/* Captures a filled generic value as a tree of C values. */
static void bnode_capture(bnode_t *b, avro_value_t *v)
{
        avro_value_t child;
        const char *s;
        int32_t i32 = 0;
        int bo = 0;
        float f = 0;

        memset(b, 0, sizeof(*b));
        b->t = avro_value_get_type(v);
        switch (b->t) {
        case AVRO_RECORD:
                avro_value_get_size(v, &b->nkids);
                b->kids = hd_calloc(b->nkids, sizeof(*b->kids));
                for (size_t i = 0; i < b->nkids; i++) {
                        const char *name = NULL;
                        avro_value_get_by_index(v, i, &child, &name);
                        bnode_capture(&b->kids[i], &child);
                        b->kids[i].name = name;
                }
                break;
        case AVRO_UNION:
                avro_value_get_discriminant(v, &b->branch);
                avro_value_get_current_branch(v, &child);
                b->nkids = 1;
                b->kids = hd_calloc(1, sizeof(*b->kids));
                bnode_capture(b->kids, &child);
                break;
        case AVRO_STRING:
                avro_value_get_string(v, &s, &b->slen);
                b->s = hd_malloc(b->slen);
                memcpy(b->s, s, b->slen);
                break;
        case AVRO_INT64: avro_value_get_long(v, &b->l); break;
        case AVRO_INT32: avro_value_get_int(v, &i32), b->l = i32; break;
        case AVRO_ENUM: avro_value_get_enum(v, &i32), b->l = i32; break;
        case AVRO_BOOLEAN: avro_value_get_boolean(v, &bo), b->l = bo; break;
        case AVRO_DOUBLE: avro_value_get_double(v, &b->d); break;
        case AVRO_FLOAT: avro_value_get_float(v, &f), b->d = f; break;
        default: break;
        }
}

static void bnode_free(bnode_t *b)
{
        for (size_t i = 0; i < b->nkids; i++)
                bnode_free(&b->kids[i]);
        free(b->kids);
        free(b->s);
}

/* Sets the values by field name, as code written against avro-c does. */
static void bnode_set(const bnode_t *b, avro_value_t *v)
{
        avro_value_t child;

        switch (b->t) {
        case AVRO_RECORD:
                for (size_t i = 0; i < b->nkids; i++) {
                        avro_value_get_by_name(v, b->kids[i].name, &child, NULL);
                        bnode_set(&b->kids[i], &child);
                }
                break;
        case AVRO_UNION:
                avro_value_set_branch(v, b->branch, &child);
                bnode_set(b->kids, &child);
                break;
        case AVRO_STRING: avro_value_set_string_len(v, b->s, b->slen); break;
        case AVRO_INT64: avro_value_set_long(v, b->l); break;
        case AVRO_INT32: avro_value_set_int(v, (int32_t)b->l); break;
        case AVRO_ENUM: avro_value_set_enum(v, (int)b->l); break;
        case AVRO_BOOLEAN: avro_value_set_boolean(v, (int)b->l); break;
        case AVRO_DOUBLE: avro_value_set_double(v, b->d); break;
        case AVRO_FLOAT: avro_value_set_float(v, (float)b->d); break;
        case AVRO_NULL: avro_value_set_null(v); break;
        default: break;
        }
}

/* --- the three runs ----------------------------------------------------------------- */

typedef struct bench {
        json_t *evs[BENCH_MAX_EVENTS];
        const char *recs[BENCH_MAX_EVENTS]; /* data record of each event */
        bnode_t native[BENCH_MAX_EVENTS];
        size_t nev;
        avro_schema_t schema;
        avro_value_iface_t *iface;
} bench_t;

static double per_s(long iters, int64_t t0)
{
        return (double)iters / ((double)(hd_mono_us() - t0) / 1e6);
}

static double run_herald(bench_t *B, long iters, size_t *bytes, size_t *sink)
{
        hd_serde_t *s = hd_serde_new(1 << 20, fetch, NULL);
        char err[512];
        int64_t t0 = hd_mono_us();
        double rate;

        for (long i = 0; i < iters; i++) {
                void *buf;
                size_t len;
                json_t *back;
                if (hd_serde_encode(s, 1, B->evs[i % B->nev], &buf, &len, err, sizeof(err)) ||
                    hd_serde_decode(s, buf, len, &back, err, sizeof(err))) {
                        fprintf(stderr, "bench: %s\n", err);
                        exit(1);
                }
                *bytes += len;
                *sink += touch_json(back);
                json_decref(back);
                free(buf);
        }
        rate = per_s(iters, t0);
        hd_serde_destroy(s);
        return rate;
}

/* from_json: 1 = values from the JSON event, 0 = native C values. */
static double run_avro(bench_t *B, long iters, int from_json, size_t *sink)
{
        static char buf[1 << 16];
        avro_value_t in, out;
        char err[512];
        double rate;
        int64_t t0;

        avro_generic_value_new(B->iface, &in);
        avro_generic_value_new(B->iface, &out);
        t0 = hd_mono_us();
        for (long i = 0; i < iters; i++) {
                avro_writer_t w = avro_writer_memory(buf, sizeof(buf));
                avro_reader_t r;
                size_t k = (size_t)i % B->nev;
                avro_value_reset(&in);
                if (!from_json)
                        bnode_set(&B->native[k], &in);
                else if (hd_json_to_avro(B->evs[k], B->recs[k], &in, err, sizeof(err)))
                        exit(1);
                avro_value_write(w, &in);
                r = avro_reader_memory(buf, avro_writer_tell(w));
                avro_value_reset(&out);
                avro_value_read(r, &out);
                *sink += touch(&out);
                avro_reader_free(r);
                avro_writer_free(w);
        }
        rate = per_s(iters, t0);
        avro_value_decref(&in);
        avro_value_decref(&out);
        return rate;
}

/* Loads the sample events with fixed ids/times so every run encodes the same records. */
static int bench_load(bench_t *B, const char *path)
{
        char line[16384], err[512];
        FILE *fp = fopen(path, "r");
        avro_value_t v;

        if (!fp) {
                perror(path);
                return -1;
        }
        avro_generic_value_new(B->iface, &v);
        while (B->nev < BENCH_MAX_EVENTS && fgets(line, sizeof(line), fp)) {
                json_t *ev = json_loads(line, 0, NULL);
                const hd_event_type_t *t =
                        hd_catalogue_find(json_string_value(json_object_get(ev, "type")));
                if (!t) {
                        json_decref(ev);
                        continue;
                }
                json_object_set_new(ev, "id", json_string("0190f0e4-0000-7000-8000-000000000001"));
                json_object_set_new(ev, "occurred_at", json_integer(1764115200000));
                if (!json_object_get(ev, "action"))
                        json_object_set_new(ev, "action", json_string(t->action));
                if (!json_object_get(ev, "entity"))
                        json_object_set_new(ev, "entity", json_string(t->entity));
                json_object_set_new(ev, "source", json_string("billing"));
                avro_value_reset(&v);
                if (hd_json_to_avro(ev, t->record, &v, err, sizeof(err))) {
                        fprintf(stderr, "%s: %s\n", path, err);
                        exit(1);
                }
                bnode_capture(&B->native[B->nev], &v);
                B->recs[B->nev] = t->record;
                B->evs[B->nev++] = ev;
        }
        avro_value_decref(&v);
        fclose(fp);
        return B->nev ? 0 : -1;
}

int main(int argc, char **argv)
{
        const char *path = argc > 1 ? argv[1] : "deploy/dev/sample-events.jsonl";
        long iters = argc > 2 ? atol(argv[2]) : 200000;
        const char *json = hd_catalogue_schema_json();
        size_t bytes = 0, sink = 0;
        double herald = 0, native = 0, from_json = 0;
        bench_t B = {0};

        avro_schema_from_json_length(json, strlen(json), &B.schema);
        B.iface = avro_generic_class_from_schema(B.schema);
        if (bench_load(&B, path))
                return 2;
        /* Warm all paths, then measure in rounds so machine noise hits all alike. */
        run_herald(&B, iters / 10, &bytes, &sink);
        run_avro(&B, iters / 10, 0, &sink);
        run_avro(&B, iters / 10, 1, &sink);
        bytes = 0;
        for (int round = 0; round < 3; round++) {
                herald += run_herald(&B, iters / 3, &bytes, &sink) / 3;
                native += run_avro(&B, iters / 3, 0, &sink) / 3;
                from_json += run_avro(&B, iters / 3, 1, &sink) / 3;
        }
        printf("events=%ld types=%zu avg_frame_bytes=%zu\n", iters / 3 * 3, B.nev,
               bytes / (size_t)(iters / 3 * 3));
        printf("herald_serde_events_per_s=%.0f\n", herald);
        printf("avro_c_native_events_per_s=%.0f\n", native);
        printf("avro_c_from_json_events_per_s=%.0f\n", from_json);
        printf("ratio_vs_from_json=%.2f\n", herald / from_json);
        printf("ratio=%.2f (herald / avro_c_native, target >= 0.80)\n", herald / native);
        for (size_t i = 0; i < B.nev; i++) {
                json_decref(B.evs[i]);
                bnode_free(&B.native[i]);
        }
        avro_value_iface_decref(B.iface);
        avro_schema_decref(B.schema);
        hd_catalogue_cleanup();
        return sink == 0;
}
