/* Fuzz target: herald.conf text → hd_config_load_string (must never crash or leak). */
#include "hd_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

/* A generated password_file = "/dev/stdin" must not block the run. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void)argc;
        (void)argv;
        return freopen("/dev/null", "r", stdin) ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[HD_ERRSTR_SIZE], *text = malloc(size + 1);
        hd_config_t *cfg;

        memcpy(text, data, size);
        text[size] = '\0';
        /* *_env / *_file settings would read this machine's environment and files:
         * they are exercised, since the loader must cope with any name. */
        cfg = hd_config_load_string(text, "fuzz", err, sizeof(err));
        hd_config_destroy(cfg);
        free(text);
        hd_log_clear_secrets();
        return 0;
}
