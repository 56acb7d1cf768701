/*
 * hd_mime: the encoding primitives an e-mail message is written with, kept apart
 * from the message builder so a fuzz target can hammer them: a growable byte
 * buffer, the CR/LF/NUL check every header value and address goes through,
 * base64 and quoted-printable bodies (RFC 2045, CRLF line ends, lines <= 76),
 * and header fields folded at 78 columns with RFC 2047 "B" encoded words
 * (UTF-8) for anything that is not plain printable ASCII. Decoders exist for the
 * round-trip checks of the tests and the fuzz target.
 */
#ifndef HD_MIME_H
#define HD_MIME_H

#include <stddef.h>

#define HD_MIME_LINE_MAX 998 /* RFC 5322 hard limit, CRLF excluded */
#define HD_MIME_FOLD_AT  78  /* where header lines are folded */

typedef struct hd_mbuf {
        char *p;       /* NUL-terminated (the NUL is not counted) */
        size_t len, cap;
} hd_mbuf_t;

void hd_mbuf_put(hd_mbuf_t *b, const void *s, size_t n);
void hd_mbuf_puts(hd_mbuf_t *b, const char *s);
/* Makes room for n more bytes (and the NUL) without writing them. */
void hd_mbuf_reserve(hd_mbuf_t *b, size_t n);
void hd_mbuf_free(hd_mbuf_t *b);
/* Hands the bytes over (caller frees); the buffer is empty afterwards. */
char *hd_mbuf_take(hd_mbuf_t *b, size_t *lenp);

/* The first CR, LF or NUL in s[0..n), or NULL. */
const char *hd_mime_find_crlf_nul(const char *s, size_t n);

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int hd_mime_utf8_valid(const char *s, size_t n);

/* base64 of data; with wrap, CRLF after every 76 output characters and at the end. */
void hd_mime_base64(hd_mbuf_t *out, const void *data, size_t n, int wrap);
/* Decodes base64, ignoring CR/LF; -1 on anything else that is not base64. */
int hd_mime_base64_decode(hd_mbuf_t *out, const char *s, size_t n);

/*
 * Quoted-printable of a text body. LF and CRLF are line breaks (written CRLF);
 * a lone CR, '=', controls, non-ASCII bytes, whitespace before a break and a '.'
 * or "From " at the start of a line are encoded. Lines <= 76 characters, soft
 * breaks "=" CRLF. The output ends with CRLF.
 */
void hd_mime_qp(hd_mbuf_t *out, const char *s, size_t n);
/* Decodes quoted-printable (hard breaks become CRLF); -1 on a malformed escape. */
int hd_mime_qp_decode(hd_mbuf_t *out, const char *s, size_t n);

/*
 * A header field being written: "Name:" then words separated by one space,
 * folded (CRLF SP) before a word that would pass column 78. A word is never
 * split; callers keep words short (encoded words are <= 75 characters).
 */
typedef struct hd_mhdr {
        hd_mbuf_t *b;
        size_t col;     /* characters on the current line */
        int nwords;
} hd_mhdr_t;

void hd_mhdr_begin(hd_mhdr_t *h, hd_mbuf_t *b, const char *name);
void hd_mhdr_word(hd_mhdr_t *h, const char *w, size_t n);
void hd_mhdr_end(hd_mhdr_t *h); /* CRLF */

/*
 * Appends an unstructured value (Subject): as is when it is printable ASCII in
 * words of <= 76 characters without "=?", else as RFC 2047 encoded words (UTF-8,
 * base64, split on character boundaries, each line <= 76 characters). Refuses
 * CR, LF, NUL and invalid UTF-8 with a message naming what.
 */
int hd_mhdr_text(hd_mhdr_t *h, const char *value, size_t n, const char *what, char *errstr,
                 size_t errstr_size);

/* Appends a display name (phrase): atoms, a quoted string, or encoded words. */
int hd_mhdr_phrase(hd_mhdr_t *h, const char *name, size_t n, const char *what,
                   char *errstr, size_t errstr_size);

/*
 * Undoes hd_mhdr_text for one header value (the part after "Name:"): unfolds and
 * decodes the encoded words this module writes. -1 when the value is not in that
 * form. For tests and fuzzing; not a general RFC 2047 decoder.
 */
int hd_mime_text_decode(hd_mbuf_t *out, const char *value, size_t n);

#endif
