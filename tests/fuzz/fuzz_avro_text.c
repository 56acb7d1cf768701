/*
 * Fuzz target: the JSON-text fast path against the tree path (hd_textdiff.h). On
 * any input, what the fast path encodes the tree path must encode to the same
 * bytes; everything else the fast path must decline.
 */
#include "hd_catalogue.h"
#include "hd_serde.h"
#include "hd_textdiff.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1);
        hd_textdiff_t d;

        if (!hd_fuzz_serde) {
                hd_fuzz_serde = hd_serde_new(1 << 20, fetch, NULL);
                atexit(hd_fuzz_cleanup);
        }
        memcpy(text, data, size);
        text[size] = '\0'; /* the API takes C strings: a NUL ends the text */
        if (hd_textdiff(hd_fuzz_serde, text, &d)) {
                fprintf(stderr, "fast path encoded what the tree path %s\n",
                        d.tree_rc ? d.tree_err : "encodes differently");
                abort();
        }
        free(text);
        return 0;
}
