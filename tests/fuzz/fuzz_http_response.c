/*
 * Fuzz target: a webhook endpoint's answer, the bytes a hostile server controls.
 * hd_wh_h1_frame parses it as herald's HTTP/1.1 client reads it (interim 1xx,
 * status line, headers, Content-Length or chunked framing). An accepted answer
 * has a status in 100..599, and a connection is kept only when the answer was
 * framed exactly (no byte left over, none missing).
 */
#include "hd_wh_h1_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *copy = malloc(size ? size : 1); /* exact size: ASan sees any overread */
        int keep = -1;
        long status;

        memcpy(copy, data, size);
        status = hd_wh_h1_frame(copy, size, &keep);
        if (status != -1 && (status < 100 || status > 599))
                abort();
        if (keep && status == -1)
                abort();
        /* the same answer with a byte more cannot also be framed exactly */
        if (keep == 1 && size < 65536) {
                char *more = malloc(size + 1);
                int keep2 = -1;

                memcpy(more, data, size);
                more[size] = 'x';
                (void)hd_wh_h1_frame(more, size + 1, &keep2);
                if (keep2 == 1)
                        abort();
                free(more);
        }
        free(copy);
        return 0;
}
