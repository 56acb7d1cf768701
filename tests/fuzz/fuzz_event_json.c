/*
 * Fuzz target: JSON text → event validation → encode → decode → encode. Whatever
 * passes validation must encode; the frame must decode to an event that holds
 * every value the input gave (absent nullable fields come back as null, the
 * envelope defaults filled in), and re-encoding that event must give the same
 * bytes.
 */
#include "hd_catalogue.h"
#include "hd_serde.h"
#include "hd_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* 1 when every value of `in` is in `out`; a null in `in` may be absent or null. */
static int hd_fuzz_subset(const json_t *in, const json_t *out)
{
        const char *key;
        json_t *v;

        if (!json_is_object(in))
                return json_equal(in, out);
        if (!json_is_object(out))
                return 0;
        json_object_foreach((json_t *)in, key, v) {
                const json_t *o = json_object_get(out, key);
                if (json_is_null(v) ? o && !json_is_null(o) : !o || !hd_fuzz_subset(v, o))
                        return 0;
        }
        return 1;
}

static void hd_fuzz_fail(const char *what, const char *err)
{
        fprintf(stderr, "%s: %s\n", what, err);
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[HD_ERRSTR_SIZE] = "";
        json_t *ev = json_loadb((const char *)data, size, 0, NULL), *back = NULL;
        void *buf = NULL, *again = NULL;
        size_t len = 0, len2 = 0;
        int r;

        if (!hd_fuzz_serde) {
                hd_fuzz_serde = hd_serde_new(1 << 20, fetch, NULL);
                atexit(hd_fuzz_cleanup);
        }
        if (!ev || hd_serde_validate(ev, err, sizeof(err))) {
                json_decref(ev);
                return 0;
        }
        r = hd_serde_encode(hd_fuzz_serde, 1, ev, &buf, &len, err, sizeof(err));
        if (r == HD_SERDE_E_TOO_LARGE) {
                json_decref(ev);
                return 0;
        }
        if (r)
                hd_fuzz_fail("valid event failed to encode", err);
        if (hd_serde_decode(hd_fuzz_serde, buf, len, &back, err, sizeof(err)))
                hd_fuzz_fail("encoded event failed to decode", err);
        if (!hd_fuzz_subset(ev, back))
                hd_fuzz_fail("decoded event lost or changed a value", "");
        if (hd_serde_encode(hd_fuzz_serde, 1, back, &again, &len2, err, sizeof(err)))
                hd_fuzz_fail("decoded event failed to re-encode", err);
        if (len2 != len || memcmp(buf, again, len))
                hd_fuzz_fail("re-encoding the decoded event changed the bytes", "");
        free(again);
        json_decref(back);
        free(buf);
        json_decref(ev);
        return 0;
}
