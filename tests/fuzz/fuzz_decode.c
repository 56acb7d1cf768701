/*
 * Fuzz target: a whole Kafka record value → hd_serde_decode. Schema id 1 is the
 * catalogue; id 2 a small schema with arrays, maps and nested unions so the walker's
 * block and union paths are reached; other ids are unknown.
 */
#include "hd_catalogue.h"
#include "hd_serde.h"
#include "hd_util.h"

#include <stdint.h>
#include <stdlib.h>

static const char *hd_fuzz_schema2 =
        "{\"type\":\"record\",\"name\":\"F\",\"fields\":["
        "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":[\"null\",\"long\",\"string\"]}},"
        "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"double\"}},"
        "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\"]}},"
        "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"Fx\",\"size\":4}},"
        "{\"name\":\"b\",\"type\":[\"null\",\"boolean\",\"bytes\",\"float\"]}]}";

static int fetch(void *opaque, int32_t id, char **json, char *errstr, size_t errstr_size)
{
        (void)opaque;
        if (id == 1 || id == 2) {
                *json = hd_strdup(id == 1 ? hd_catalogue_schema_json() : hd_fuzz_schema2);
                return 0;
        }
        hd_seterr(errstr, errstr_size, "unknown id %d", (int)id);
        return HD_SERDE_E_UNKNOWN_ID;
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
        json_t *ev = NULL;

        if (!hd_fuzz_serde) {
                hd_fuzz_serde = hd_serde_new(64 * 1024, fetch, NULL);
                atexit(hd_fuzz_cleanup);
        }
        hd_serde_decode(hd_fuzz_serde, data, size, &ev, err, sizeof(err));
        json_decref(ev);
        return 0;
}
