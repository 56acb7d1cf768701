/*
 * Fuzz target: the MIME primitives of e-mail messages (consumers/email/hd_mime).
 * Any bytes as a Subject value, a display name, a quoted-printable body and a
 * base64 body. Invariants (abort on violation): a header is refused only for
 * CR/LF/NUL or invalid UTF-8; an accepted one is printable ASCII, every line
 * ends in CRLF and is <= 78 characters, every continuation line starts with a
 * space, and the Subject decodes back to the input; bodies have CRLF lines of
 * <= 76 characters, no line starting with '.', and decode back.
 */
#include "hd_mime.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_FUZZ_ASSERT(c)                                                              \
        do {                                                                           \
                if (!(c)) {                                                            \
                        fprintf(stderr, "fuzz_mime: invariant failed: %s (line %d)\n", \
                                #c, __LINE__);                                         \
                        abort();                                                       \
                }                                                                      \
        } while (0)

/* CRLF-only lines of <= max; continuation lines (header) start with SP. */
static void hd_fuzz_lines(const char *s, size_t n, size_t max, int header)
{
        size_t start = 0;

        HD_FUZZ_ASSERT(n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n');
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c == '\r') {
                        HD_FUZZ_ASSERT(i + 1 < n && s[i + 1] == '\n');
                        HD_FUZZ_ASSERT(i - start <= max);
                        if (header && i + 2 < n)
                                HD_FUZZ_ASSERT(s[i + 2] == ' ');
                        if (!header && i + 2 < n)
                                HD_FUZZ_ASSERT(s[i + 2] != '.');
                        start = i + 2;
                        i++;
                        continue;
                }
                HD_FUZZ_ASSERT(c != '\n');
                HD_FUZZ_ASSERT((c >= 32 && c <= 126) || (!header && c == '\t'));
        }
        if (!header)
                HD_FUZZ_ASSERT(s[0] != '.');
}

static int hd_fuzz_acceptable(const char *s, size_t n)
{
        return !hd_mime_find_crlf_nul(s, n) && hd_mime_utf8_valid(s, n);
}

static void hd_fuzz_header(const char *s, size_t n, int phrase)
{
        hd_mbuf_t b = {0}, d = {0};
        hd_mhdr_t h;
        char err[256];
        int rc;

        hd_mhdr_begin(&h, &b, phrase ? "From" : "Subject");
        rc = phrase ? hd_mhdr_phrase(&h, s, n, "name", err, sizeof(err))
                    : hd_mhdr_text(&h, s, n, "subject", err, sizeof(err));
        HD_FUZZ_ASSERT((rc == 0) == hd_fuzz_acceptable(s, n));
        if (rc == 0) {
                hd_mhdr_end(&h);
                hd_fuzz_lines(b.p, b.len, 78, 1);
                if (!phrase) {
                        HD_FUZZ_ASSERT(hd_mime_text_decode(&d, b.p + 8, b.len - 10) == 0);
                        HD_FUZZ_ASSERT(d.len == n && (!n || !memcmp(d.p, s, n)));
                }
        }
        hd_mbuf_free(&b);
        hd_mbuf_free(&d);
}

static void hd_fuzz_qp(const char *s, size_t n)
{
        hd_mbuf_t b = {0}, d = {0}, want = {0};

        hd_mime_qp(&b, s, n);
        hd_fuzz_lines(b.p, b.len, 76, 0);
        for (size_t i = 0; i < n; i++) { /* LF and CRLF are line breaks: CRLF */
                if (s[i] == '\n' && !(i && s[i - 1] == '\r'))
                        hd_mbuf_put(&want, "\r", 1);
                hd_mbuf_put(&want, s + i, 1);
        }
        hd_mbuf_put(&want, "\r\n", 2);
        HD_FUZZ_ASSERT(hd_mime_qp_decode(&d, b.p, b.len) == 0);
        HD_FUZZ_ASSERT(d.len == want.len && !memcmp(d.p, want.p, d.len));
        hd_mbuf_free(&b);
        hd_mbuf_free(&d);
        hd_mbuf_free(&want);
}

static void hd_fuzz_base64(const char *s, size_t n)
{
        hd_mbuf_t b = {0}, d = {0};

        hd_mime_base64(&b, s, n, 1);
        if (n) {
                hd_fuzz_lines(b.p, b.len, 76, 0);
        }
        HD_FUZZ_ASSERT(hd_mime_base64_decode(&d, b.p ? b.p : "", b.len) == 0);
        HD_FUZZ_ASSERT(d.len == n && (!n || !memcmp(d.p, s, n)));
        hd_mbuf_free(&b);
        hd_mbuf_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;

        if (size > 4096)
                return 0;
        hd_fuzz_header(s, size, 0);
        hd_fuzz_header(s, size, 1);
        hd_fuzz_qp(s, size);
        hd_fuzz_base64(s, size);
        return 0;
}
