/* MIME primitives: known encodings, folding, refusals and round trips (hd_mime). */
#include "hd_mime.h"
#include "hd_test.h"

#include <stdlib.h>

static char *header(const char *name, const char *value, int phrase, int *rc)
{
        hd_mbuf_t b = {0};
        hd_mhdr_t h;
        char err[256];

        hd_mhdr_begin(&h, &b, name);
        *rc = phrase ? hd_mhdr_phrase(&h, value, strlen(value), "name", err, sizeof(err))
                     : hd_mhdr_text(&h, value, strlen(value), "subject", err, sizeof(err));
        hd_mhdr_end(&h);
        if (*rc) {
                hd_mbuf_free(&b);
                return strdup(err);
        }
        return hd_mbuf_take(&b, NULL);
}

static void check_header(const char *value, int phrase, const char *want)
{
        int rc;
        char *got = header(phrase ? "From" : "Subject", value, phrase, &rc);

        HD_CHECK_INT_EQ(rc, 0);
        HD_CHECK_STR_EQ(got, want);
        free(got);
}

static void check_refused(const char *value, const char *want)
{
        int rc;
        char *got = header("Subject", value, 0, &rc);

        HD_CHECK_INT_EQ(rc, -1);
        HD_CHECK_STR_EQ(got, want);
        free(got);
}

static void check_qp(const char *in, const char *want)
{
        hd_mbuf_t b = {0}, d = {0};

        hd_mime_qp(&b, in, strlen(in));
        HD_CHECK_STR_EQ(b.p, want);
        HD_CHECK_INT_EQ(hd_mime_qp_decode(&d, b.p, b.len), 0);
        hd_mbuf_free(&b);
        hd_mbuf_free(&d);
}

int main(void)
{
        hd_mbuf_t b = {0};
        char long_ascii[400] = "", *got;
        int rc;

        check_header("Invoice INV-7 ready", 0, "Subject: Invoice INV-7 ready\r\n");
        check_header("Zoë", 0, "Subject: =?UTF-8?B?Wm/Dqw==?=\r\n");
        /* "=?" in plain text would be read as an encoded word: encode it */
        check_header("a =?x?= b", 0, "Subject: =?UTF-8?B?YSA9P3g/PSBi?=\r\n");
        check_header("two  spaces", 0, "Subject: =?UTF-8?B?dHdvICBzcGFjZXM=?=\r\n");
        check_header("Herald Ops", 1, "From: Herald Ops\r\n");
        check_header("Doe, Jane \"JD\"", 1, "From: \"Doe, Jane \\\"JD\\\"\"\r\n");
        check_header("Zoë", 1, "From: =?UTF-8?B?Wm/Dqw==?=\r\n");
        check_refused("a\r\nBcc: x", "header injection: CR/LF in subject");
        check_refused("a\nb", "header injection: CR/LF in subject");
        check_refused("\xff", "subject is not valid UTF-8");
        check_refused("\xed\xa0\x80", "subject is not valid UTF-8"); /* a surrogate */

        /* folding: every line <= 78, continuation lines start with a space */
        for (int i = 0; i < 30; i++)
                strcat(long_ascii, "folded ");
        strcat(long_ascii, "end");
        got = header("Subject", long_ascii, 0, &rc);
        HD_CHECK_STR_EQ(got, "Subject: folded folded folded folded folded folded folded folded "
                             "folded folded\r\n folded folded folded folded folded folded "
                             "folded folded folded folded folded\r\n folded folded folded "
                             "folded folded folded folded folded folded end\r\n");
        hd_mime_text_decode(&b, got + 8, strlen(got) - 10);
        HD_CHECK_STR_EQ(b.p, long_ascii);
        hd_mbuf_free(&b);
        free(got);

        check_qp("plain\n", "plain\r\n\r\n");
        check_qp("a=b \nc\t", "a=3Db=20\r\nc=09\r\n");
        check_qp(".\nFrom me\nFrom", "=2E\r\n=46rom me\r\nFrom\r\n");
        check_qp("\xc3\xa9\r\nlone\rcr", "=C3=A9\r\nlone=0Dcr\r\n");
        /* 80 x: a soft break after 75 characters */
        check_qp("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=\r\n"
                 "xxxxx\r\n");

        hd_mime_base64(&b, "foobar", 6, 0);
        HD_CHECK_STR_EQ(b.p, "Zm9vYmFy");
        hd_mbuf_free(&b);
        hd_mime_base64(&b, "fo", 2, 1);
        HD_CHECK_STR_EQ(b.p, "Zm8=\r\n");
        hd_mbuf_free(&b);
        HD_CHECK_INT_EQ(hd_mime_base64_decode(&b, "Zm9v\r\nYmFy", 10), 0);
        HD_CHECK_STR_EQ(b.p, "foobar");
        hd_mbuf_free(&b);
        HD_CHECK_INT_EQ(hd_mime_base64_decode(&b, "Zm9v!", 5), -1);
        hd_mbuf_free(&b);
        HD_CHECK(hd_mime_find_crlf_nul("ab\0c", 4) != NULL);
        HD_CHECK(hd_mime_find_crlf_nul("abc", 3) == NULL);
        return hd_test_finish("test_mail_mime");
}
