/*
 * Fuzz target: JSON text → event validation → encode → decode. Whatever passes
 * validation must encode, and must decode back to the same event.
 */
#include "hd_catalogue.h"
#include "hd_serde.h"
#include "hd_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int fetch(void *opaque, int32_t id, char **json, char *errstr, size_t errstr_size)
{
        (void)opaque, (void)errstr, (void)errstr_size;
        if (id != 1)
                return HD_SERDE_E_UNKNOWN_ID;
        *json = hd_strdup(hd_catalogue_schema_json());
        return 0;
}

static hd_serde_t *hd_fuzz_serde;

static void hd_fuzz_cleanup(void)
{
        hd_serde_destroy(hd_fuzz_serde);
        hd_catalogue_cleanup();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[HD_ERRSTR_SIZE];
        json_t *ev = json_loadb((const char *)data, size, 0, NULL), *back = NULL;
        void *buf = NULL;
        size_t len = 0;

        if (!hd_fuzz_serde) {
                hd_fuzz_serde = hd_serde_new(1 << 20, fetch, NULL);
                atexit(hd_fuzz_cleanup);
        }
        if (ev && hd_serde_validate(ev, err, sizeof(err)) == 0) {
                int r = hd_serde_encode(hd_fuzz_serde, 1, ev, &buf, &len, err, sizeof(err));
                if (r && r != HD_SERDE_E_TOO_LARGE) {
                        fprintf(stderr, "valid event failed to encode: %s\n", err);
                        abort();
                }
                if (!r && hd_serde_decode(hd_fuzz_serde, buf, len, &back, err, sizeof(err))) {
                        fprintf(stderr, "encoded event failed to decode: %s\n", err);
                        abort();
                }
                /* Absent nullable fields come back as null; the known fields must match. */
                if (back && !json_equal(json_object_get(back, "type"), json_object_get(ev, "type")))
                        abort();
        }
        json_decref(back);
        free(buf);
        json_decref(ev);
        return 0;
}
