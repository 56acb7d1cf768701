/*
 * Fuzz target: subscription JSON → hd_sub_validate (with an SMTP profile in the
 * config), then masking. Whatever validates must also mask and still match types.
 */
#include "hd_catalogue.h"
#include "hd_sub.h"
#include "hd_util.h"

#include <stdint.h>
#include <stdlib.h>

static hd_config_t *hd_fuzz_cfg;

static void hd_fuzz_cleanup(void)
{
        hd_config_destroy(hd_fuzz_cfg);
        hd_catalogue_cleanup();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[HD_ERRSTR_SIZE];
        json_t *sub = json_loadb((const char *)data, size, 0, NULL);

        if (!hd_fuzz_cfg) {
                hd_fuzz_cfg = hd_config_load_string(
                        "email = { profiles = ( { name = \"dev\"; host = \"127.0.0.1\"; "
                        "from_address = \"a@b.c\"; } ); };", "fuzz", err, sizeof(err));
                atexit(hd_fuzz_cleanup);
        }
        if (sub && hd_sub_validate(sub, hd_fuzz_cfg, NULL, err, sizeof(err)) == 0) {
                json_t *masked = hd_sub_masked(sub);
                if (!masked)
                        abort();
                hd_sub_matches(sub, "invoice.posted");
                json_decref(masked);
        }
        json_decref(sub);
        return 0;
}
