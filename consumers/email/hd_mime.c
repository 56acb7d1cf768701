/* hd_mime: see hd_mime.h. */
#include "hd_mime.h"
#include "hd_util.h"

#include <stdlib.h>
#include <string.h>

#define HD_MIME_BODY_LINE 76 /* RFC 2045 limit for base64 and quoted-printable */
#define HD_MIME_EW_LINE   76 /* RFC 2047: a line with encoded words */

/* --- buffer ---------------------------------------------------------------------------- */

void hd_mbuf_reserve(hd_mbuf_t *b, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->p = hd_realloc(b->p, b->cap);
        }
}

void hd_mbuf_put(hd_mbuf_t *b, const void *s, size_t n)
{
        hd_mbuf_reserve(b, n);
        if (n)
                memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

void hd_mbuf_puts(hd_mbuf_t *b, const char *s)
{
        hd_mbuf_put(b, s, strlen(s));
}

void hd_mbuf_free(hd_mbuf_t *b)
{
        free(b->p);
        *b = (hd_mbuf_t){0};
}

char *hd_mbuf_take(hd_mbuf_t *b, size_t *lenp)
{
        char *p;

        hd_mbuf_put(b, "", 0);
        p = b->p;
        if (lenp)
                *lenp = b->len;
        *b = (hd_mbuf_t){0};
        return p;
}

/* --- checks ---------------------------------------------------------------------------- */

const char *hd_mime_find_crlf_nul(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
                        return s + i;
        return NULL;
}

/* Length of the UTF-8 character at s (at most n bytes), 0 when invalid. */
static size_t hd_utf8_char(const unsigned char *s, size_t n)
{
        unsigned cp;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xC2 && s[0] <= 0xDF)
                len = 2, cp = s[0] & 0x1F;
        else if (s[0] >= 0xE0 && s[0] <= 0xEF)
                len = 3, cp = s[0] & 0x0F;
        else if (s[0] >= 0xF0 && s[0] <= 0xF4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        return len;
}

int hd_mime_utf8_valid(const char *s, size_t n)
{
        for (size_t i = 0, l; i < n; i += l)
                if (!(l = hd_utf8_char((const unsigned char *)s + i, n - i)))
                        return 0;
        return 1;
}

/* --- base64 ---------------------------------------------------------------------------- */

static const char hd_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void hd_mime_base64(hd_mbuf_t *out, const void *data, size_t n, int wrap)
{
        const unsigned char *d = data;
        size_t col = 0;

        for (size_t i = 0; i < n; i += 3) {
                unsigned v = (unsigned)d[i] << 16;
                char q[4];
                if (i + 1 < n)
                        v |= (unsigned)d[i + 1] << 8;
                if (i + 2 < n)
                        v |= d[i + 2];
                q[0] = hd_b64[(v >> 18) & 63];
                q[1] = hd_b64[(v >> 12) & 63];
                q[2] = i + 1 < n ? hd_b64[(v >> 6) & 63] : '=';
                q[3] = i + 2 < n ? hd_b64[v & 63] : '=';
                hd_mbuf_put(out, q, 4);
                col += 4;
                if (wrap && col >= HD_MIME_BODY_LINE) {
                        hd_mbuf_put(out, "\r\n", 2);
                        col = 0;
                }
        }
        if (wrap && col)
                hd_mbuf_put(out, "\r\n", 2);
}

static int hd_b64_value(char c)
{
        const char *p = c ? strchr(hd_b64, c) : NULL;
        return p ? (int)(p - hd_b64) : -1;
}

int hd_mime_base64_decode(hd_mbuf_t *out, const char *s, size_t n)
{
        unsigned v = 0;
        int bits = 0, pad = 0;

        for (size_t i = 0; i < n; i++) {
                int x;
                if (s[i] == '\r' || s[i] == '\n')
                        continue;
                if (s[i] == '=') {
                        pad++;
                        continue;
                }
                if (pad || (x = hd_b64_value(s[i])) < 0)
                        return -1;
                v = (v << 6) | (unsigned)x;
                bits += 6;
                if (bits >= 8) {
                        char c = (char)((v >> (bits - 8)) & 0xFF);
                        hd_mbuf_put(out, &c, 1);
                        bits -= 8;
                }
        }
        return pad > 2 ? -1 : 0;
}

/* --- quoted-printable ------------------------------------------------------------------ */

/*
 * Writes into room reserved up front: at most 3 bytes per input byte, a 3-byte
 * soft break per 25 of them (a 75-column line holds at least 25 escapes), and the
 * final CRLF.
 */
void hd_mime_qp(hd_mbuf_t *out, const char *s, size_t n)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t col = 0;
        char *w;

        hd_mbuf_reserve(out, 3 * n + 3 * (n / 25 + 1) + 2);
        w = out->p + out->len;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                int at_break = i + 1 == n || s[i + 1] == '\n' ||
                               (s[i + 1] == '\r' && i + 2 < n && s[i + 2] == '\n');
                int esc;
                if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
                        continue; /* the LF writes the break */
                if (c == '\n') {
                        *w++ = '\r', *w++ = '\n';
                        col = 0;
                        continue;
                }
                esc = c == '=' || c < 32 || c > 126 || ((c == ' ' || c == '\t') && at_break);
                /* soft break when the unit would not fit before the '=' of a break */
                if (col + (esc ? 3 : 1) > HD_MIME_BODY_LINE - 1) {
                        *w++ = '=', *w++ = '\r', *w++ = '\n';
                        col = 0;
                }
                /* '.' alone on a line ends SMTP DATA; "From " gets mangled by mbox */
                if (col == 0 && (c == '.' || (c == 'F' && n - i >= 5 && !memcmp(s + i, "From ", 5))))
                        esc = 1;
                if (esc) {
                        *w++ = '=', *w++ = hex[c >> 4], *w++ = hex[c & 15];
                        col += 3;
                } else {
                        *w++ = (char)c;
                        col++;
                }
        }
        *w++ = '\r', *w++ = '\n';
        out->len = (size_t)(w - out->p);
        out->p[out->len] = '\0';
}

static int hd_hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int hd_mime_qp_decode(hd_mbuf_t *out, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (s[i] != '=') {
                        hd_mbuf_put(out, s + i, 1);
                        continue;
                }
                if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
                        i += 2; /* soft break */
                        continue;
                }
                if (i + 2 >= n || hd_hexval(s[i + 1]) < 0 || hd_hexval(s[i + 2]) < 0)
                        return -1;
                char c = (char)(hd_hexval(s[i + 1]) * 16 + hd_hexval(s[i + 2]));
                hd_mbuf_put(out, &c, 1);
                i += 2;
        }
        return 0;
}

/* --- header fields --------------------------------------------------------------------- */

void hd_mhdr_begin(hd_mhdr_t *h, hd_mbuf_t *b, const char *name)
{
        h->b = b;
        h->nwords = 0;
        hd_mbuf_puts(b, name);
        hd_mbuf_put(b, ":", 1);
        h->col = strlen(name) + 1;
}

void hd_mhdr_word(hd_mhdr_t *h, const char *w, size_t n)
{
        /* folding right after "Name:" is allowed too (FWS) */
        if (h->col > 1 && h->col + 1 + n > HD_MIME_FOLD_AT) {
                hd_mbuf_put(h->b, "\r\n", 2);
                h->col = 0;
        }
        hd_mbuf_put(h->b, " ", 1);
        hd_mbuf_put(h->b, w, n);
        h->col += 1 + n;
        h->nwords++;
}

void hd_mhdr_end(hd_mhdr_t *h)
{
        hd_mbuf_put(h->b, "\r\n", 2);
}

/* Writes s as encoded words, each filling what is left of a <= 76-column line. */
static void hd_mhdr_encoded(hd_mhdr_t *h, const char *s, size_t n)
{
        size_t i = 0;

        do {
                size_t avail, raw, take = 0, l;
                hd_mbuf_t w = {0};
                /* room for "=?UTF-8?B?" "?=" and two quanta, else a new line */
                if (h->col + 1 + 12 + 8 > HD_MIME_EW_LINE) {
                        hd_mbuf_put(h->b, "\r\n", 2);
                        h->col = 0;
                }
                avail = HD_MIME_EW_LINE - (h->col + 1);
                raw = (avail - 12) / 4 * 3;
                while (i + take < n &&
                       (l = hd_utf8_char((const unsigned char *)s + i + take, n - i - take)) &&
                       take + l <= raw)
                        take += l;
                hd_mbuf_puts(&w, "=?UTF-8?B?");
                hd_mime_base64(&w, s + i, take, 0);
                hd_mbuf_puts(&w, "?=");
                h->nwords++; /* already folded above: the word fits */
                hd_mbuf_put(h->b, " ", 1);
                hd_mbuf_put(h->b, w.p, w.len);
                h->col += 1 + w.len;
                hd_mbuf_free(&w);
                i += take;
        } while (i < n);
}

static int hd_mhdr_check(const char *v, size_t n, const char *what, char *errstr,
                         size_t errstr_size)
{
        if (hd_mime_find_crlf_nul(v, n))
                return hd_seterr(errstr, errstr_size, "header injection: %s in %s",
                                 memchr(v, '\0', n) && !memchr(v, '\r', n) &&
                                                 !memchr(v, '\n', n)
                                         ? "NUL"
                                         : "CR/LF",
                                 what);
        if (!hd_mime_utf8_valid(v, n))
                return hd_seterr(errstr, errstr_size, "%s is not valid UTF-8", what);
        return 0;
}

/*
 * 1 when v is printable ASCII words of 1..max characters split by single spaces:
 * folding can then only replace a space, and every line stays short. Anything
 * else (runs of spaces would make long or blank lines) is written encoded.
 */
static int hd_plain_words(const char *v, size_t n, size_t max)
{
        size_t run = 0;

        if (!n)
                return 1;
        if (v[0] == ' ' || v[n - 1] == ' ')
                return 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)v[i];
                if (c < 32 || c > 126 || (c == '=' && i + 1 < n && v[i + 1] == '?') ||
                    (c == ' ' && v[i - 1] == ' '))
                        return 0;
                run = c == ' ' ? 0 : run + 1;
                if (run > max)
                        return 0;
        }
        return 1;
}

int hd_mhdr_text(hd_mhdr_t *h, const char *value, size_t n, const char *what, char *errstr,
                 size_t errstr_size)
{
        size_t start = 0;

        if (hd_mhdr_check(value, n, what, errstr, errstr_size))
                return -1;
        if (!hd_plain_words(value, n, HD_MIME_FOLD_AT - 2)) {
                hd_mhdr_encoded(h, value, n);
                return 0;
        }
        for (size_t i = 0; i <= n; i++) {
                if (i == n || value[i] == ' ') {
                        hd_mhdr_word(h, value + start, i - start);
                        start = i + 1;
                }
        }
        return 0;
}

/* RFC 5322 "specials" that force a quoted string. */
static int hd_phrase_special(char c)
{
        return strchr("()<>[]:;@\\,.\"", c) != NULL;
}

int hd_mhdr_phrase(hd_mhdr_t *h, const char *name, size_t n, const char *what, char *errstr,
                   size_t errstr_size)
{
        int special = 0;
        hd_mbuf_t q = {0};

        if (hd_mhdr_check(name, n, what, errstr, errstr_size))
                return -1;
        for (size_t i = 0; i < n; i++)
                special |= hd_phrase_special(name[i]);
        if (!special || !hd_plain_words(name, n, HD_MIME_FOLD_AT - 2))
                return hd_mhdr_text(h, name, n, what, errstr, errstr_size);
        hd_mbuf_put(&q, "\"", 1);
        for (size_t i = 0; i < n; i++) {
                if (name[i] == '"' || name[i] == '\\')
                        hd_mbuf_put(&q, "\\", 1);
                hd_mbuf_put(&q, name + i, 1);
        }
        hd_mbuf_put(&q, "\"", 1);
        if (q.len > 64) { /* a quoted string is not folded here: keep it short */
                hd_mbuf_free(&q);
                hd_mhdr_encoded(h, name, n);
                return 0;
        }
        hd_mhdr_word(h, q.p, q.len);
        hd_mbuf_free(&q);
        return 0;
}

/* --- decoding (tests) ------------------------------------------------------------------ */

int hd_mime_text_decode(hd_mbuf_t *out, const char *value, size_t n)
{
        hd_mbuf_t u = {0};
        const char *p, *end;
        int rc = 0;

        /* unfold: a CRLF is always followed by the space that was the separator */
        for (size_t i = 0; i < n; i++) {
                if (value[i] == '\r' && i + 1 < n && value[i + 1] == '\n')
                        i++;
                else
                        hd_mbuf_put(&u, value + i, 1);
        }
        hd_mbuf_put(&u, "", 0);
        p = u.p;
        end = u.p + u.len;
        if (p < end && *p == ' ')
                p++;
        if (end - p < 10 || memcmp(p, "=?UTF-8?B?", 10)) {
                hd_mbuf_put(out, p, (size_t)(end - p));
                hd_mbuf_free(&u);
                return 0;
        }
        while (p < end && !rc) {
                const char *q;
                if (end - p < 12 || memcmp(p, "=?UTF-8?B?", 10) ||
                    !(q = strstr(p + 10, "?="))) {
                        rc = -1;
                        break;
                }
                rc = hd_mime_base64_decode(out, p + 10, (size_t)(q - p - 10));
                p = q + 2;
                if (p < end && *p++ != ' ')
                        rc = -1;
        }
        hd_mbuf_free(&u);
        return rc;
}
