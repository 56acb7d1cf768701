/* Fuzz target: template text → compile → render against a sample event (HTML and text). */
#include "hd_catalogue.h"
#include "hd_template.h"
#include "hd_token.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *hd_fuzz_event;

static void hd_fuzz_cleanup(void)
{
        json_decref(hd_fuzz_event);
        hd_catalogue_cleanup();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[256], *text = malloc(size + 1), *out;
        hd_template_t *t;

        if (!hd_fuzz_event) {
                hd_fuzz_event = hd_catalogue_sample(hd_catalogue_find("invoice.posted"));
                atexit(hd_fuzz_cleanup);
        }
        memcpy(text, data, size);
        text[size] = '\0';
        if ((t = hd_template_compile(text, err, sizeof(err)))) {
                for (int mode = 0; mode < 2; mode++) {
                        out = hd_template_render(t, (hd_tpl_mode_t)mode, hd_token_template_lookup,
                                                 hd_fuzz_event, 1 << 16, err, sizeof(err));
                        free(out);
                }
                hd_template_destroy(t);
        }
        free(text);
        return 0;
}
