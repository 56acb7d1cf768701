/*
 * Fuzz target: two schema texts (reader and writer, split at the first NUL byte or
 * "\n---\n") through hd_compat_check both ways and hd_compat_check_level at
 * FULL_TRANSITIVE. Whatever the input: no crash, no leak, an answer or an error;
 * and a schema that parses is always compatible with itself.
 */
#include "hd_compat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void hd_fuzz_self(const char *s)
{
        char msgs[1024];

        if (hd_compat_check(s, s, msgs, sizeof(msgs)) == HD_COMPAT_INCOMPATIBLE)
                abort(); /* a schema must read its own data */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1), *sep, *reader, *writer, msgs[2048];
        const char *prev[2];

        memcpy(text, data, size);
        text[size] = '\0';
        reader = text;
        if (strlen(text) < size)
                writer = text + strlen(text) + 1; /* split at the first NUL */
        else if ((sep = strstr(text, "\n---\n"))) {
                *sep = '\0';
                writer = sep + 5;
        } else
                writer = text;
        hd_compat_check(reader, writer, msgs, sizeof(msgs));
        hd_compat_check(writer, reader, msgs, sizeof(msgs));
        prev[0] = writer;
        prev[1] = reader;
        hd_compat_check_level_str(HD_COMPAT_FULL_TRANSITIVE, reader, prev, 2, msgs,
                                  sizeof(msgs));
        hd_fuzz_self(reader);
        free(text);
        return 0;
}
