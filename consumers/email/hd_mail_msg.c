/* hd_mail_msg: see hd_mail_msg.h. */
#include "hd_mail_msg.h"
#include "hd_mime.h"
#include "hd_template.h"
#include "hd_token.h"
#include "hd_util.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* One recipient of a To or Cc header: display name (may be empty) and address. */
typedef struct hd_rcpt {
        char *name;
        char *addr;
} hd_rcpt_t;

typedef struct hd_rcpts {
        hd_rcpt_t v[HD_MAIL_MAX_RCPT];
        size_t n;
} hd_rcpts_t;

/* One template field of sub.email, compiled, or why it does not compile. */
typedef struct hd_mtpl {
        hd_template_t *t;
        char *err;
} hd_mtpl_t;

struct hd_mail_tpl {
        hd_mtpl_t subject, text, html;
        hd_mtpl_t *to, *cc;    /* per entry of email.to / email.cc ({0} when not a string) */
        size_t nto, ncc;
};

typedef struct hd_mbuild {
        const json_t *event;
        const json_t *sub;
        const json_t *em;      /* sub.email */
        const hd_mail_tpl_t *tpl;
        const hd_smtp_profile_t *p;
        hd_mail_msg_t *m;
        hd_rcpts_t to, cc;
        char *text, *html;     /* rendered bodies, NULL when absent */
        char *errstr;
        size_t errstr_size;
} hd_mbuild_t;

/* --- rendering ------------------------------------------------------------------------- */

typedef struct hd_mrender {
        const json_t *event;
        const char *field;     /* "email.subject", "email.to[0]", "email.text" … */
        int header;            /* the value goes into a header or the envelope */
        int refused;           /* the lookup refused a value: its message stands alone */
} hd_mrender_t;

/* hd_token's lookup, refusing values with CR, LF or NUL (the NUL would be cut off). */
static int hd_mail_lookup(void *opaque, const char *token, char *buf, size_t bufsize,
                          char *errstr, size_t errstr_size)
{
        hd_mrender_t *R = opaque;
        const json_t *node = NULL;
        int r = hd_token_lookup_node(R->event, token, buf, bufsize, &node, errstr, errstr_size);
        const char *bad = NULL;

        if (r != 0)
                return r;
        if (json_is_string(node) && json_string_length(node) != strlen(json_string_value(node)))
                bad = "NUL";
        else if (strpbrk(buf, "\r\n"))
                bad = "CR/LF";
        if (!bad)
                return 0;
        R->refused = 1;
        if (R->header)
                return hd_seterr(errstr, errstr_size,
                                 "header injection: %s in rendered %s from token %s", bad,
                                 R->field, token);
        return hd_seterr(errstr, errstr_size,
                         "%s in token %s rendered into %s (a token value must be one line)",
                         bad, token, R->field);
}

static void hd_mtpl_compile(hd_mtpl_t *mt, const json_t *v)
{
        char err[400];

        if (!json_is_string(v))
                return;
        if (!(mt->t = hd_template_compile(json_string_value(v), err, sizeof(err))))
                mt->err = hd_strdup(err);
}

static void hd_mtpl_fini(hd_mtpl_t *mt)
{
        hd_template_destroy(mt->t);
        free(mt->err);
}

static hd_mtpl_t *hd_mtpl_array(const json_t *arr, size_t *n)
{
        hd_mtpl_t *v;
        const json_t *e;
        size_t i;

        *n = json_array_size(arr);
        v = hd_calloc(*n ? *n : 1, sizeof(*v));
        json_array_foreach(arr, i, e)
                hd_mtpl_compile(&v[i], e);
        return v;
}

hd_mail_tpl_t *hd_mail_tpl_new(const json_t *sub)
{
        const json_t *em = json_object_get(sub, "email");
        hd_mail_tpl_t *t = hd_calloc(1, sizeof(*t));

        hd_mtpl_compile(&t->subject, json_object_get(em, "subject"));
        hd_mtpl_compile(&t->text, json_object_get(em, "text"));
        hd_mtpl_compile(&t->html, json_object_get(em, "html"));
        t->to = hd_mtpl_array(json_object_get(em, "to"), &t->nto);
        t->cc = hd_mtpl_array(json_object_get(em, "cc"), &t->ncc);
        return t;
}

void hd_mail_tpl_free(hd_mail_tpl_t *t)
{
        if (!t)
                return;
        hd_mtpl_fini(&t->subject);
        hd_mtpl_fini(&t->text);
        hd_mtpl_fini(&t->html);
        for (size_t i = 0; i < t->nto; i++)
                hd_mtpl_fini(&t->to[i]);
        for (size_t i = 0; i < t->ncc; i++)
                hd_mtpl_fini(&t->cc[i]);
        free(t->to);
        free(t->cc);
        free(t);
}

/* Renders a compiled template; NULL with "FIELD: reason" (or the injection message as is). */
static char *hd_mail_render(hd_mbuild_t *B, const hd_mtpl_t *mt, hd_tpl_mode_t mode,
                            const char *field, int header, size_t max)
{
        hd_mrender_t R = {B->event, field, header, 0};
        char err[400];
        char *out = mt->t ? hd_template_render(mt->t, mode, hd_mail_lookup, &R, max, err,
                                               sizeof(err))
                          : NULL;

        if (!mt->t)
                hd_strlcpy(err, mt->err ? mt->err : "not a string", sizeof(err));
        if (out)
                return out;
        if (R.refused)
                hd_seterr(B->errstr, B->errstr_size, "%s", err);
        else
                hd_seterr(B->errstr, B->errstr_size, "%s: %s", field, err);
        return NULL;
}

/* --- addresses ------------------------------------------------------------------------- */

static int hd_atext(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static const char *hd_addr_problem(const char *a)
{
        const char *at = strrchr(a, '@'), *label;
        size_t n = strlen(a);

        if (hd_mime_find_crlf_nul(a, n))
                return "contains CR or LF";
        for (const char *c = a; *c; c++)
                if ((unsigned char)*c > 126)
                        return "non-ASCII addresses (SMTPUTF8) are not supported";
        if (!n || n > HD_MAIL_MAX_ADDRESS)
                return n ? "longer than 254 characters" : "empty";
        if (!at || at == a)
                return "no local part before '@'";
        if (at - a > 64)
                return "local part longer than 64 characters";
        for (const char *c = a; c < at; c++)
                if (!hd_atext(*c) && !(*c == '.' && c > a && c + 1 < at && c[1] != '.'))
                        return "local part: only letters, digits, !#$%&'*+-/=?^_`{|}~ and "
                               "single inner dots (no quoted or commented forms)";
        if (!at[1])
                return "no domain after '@'";
        label = at + 1;
        for (const char *c = at + 1;; c++) {
                if (*c == '.' || !*c) {
                        if (c == label || c - label > 63 || label[0] == '-' || c[-1] == '-')
                                return "domain: labels of 1 to 63 letters, digits and inner "
                                       "hyphens";
                        if (!*c)
                                break;
                        label = c + 1;
                } else if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                             (*c >= '0' && *c <= '9') || *c == '-')) {
                        return "domain: only letters, digits, hyphens and dots (no IP "
                               "literals)";
                }
        }
        return NULL;
}

int hd_mail_address_check(const char *addr, char *errstr, size_t errstr_size)
{
        const char *why = hd_addr_problem(addr);

        if (!why)
                return 0;
        if (hd_mime_find_crlf_nul(addr, strlen(addr)))
                return hd_seterr(errstr, errstr_size, "header injection: CR/LF in address");
        return hd_seterr(errstr, errstr_size, "\"%.300s\" is not one e-mail address: %s", addr,
                         why);
}

static char *hd_trim(char *s)
{
        size_t n;

        while (*s == ' ' || *s == '\t')
                s++;
        n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                s[--n] = '\0';
        return s;
}

/* Splits "Name <addr>" / "\"Name\" <addr>" / "addr" (in place) into r. */
static int hd_rcpt_parse(char *s, hd_rcpt_t *r, char *errstr, size_t errstr_size)
{
        char *lt = strchr(s, '<'), *name = "", *addr = s;

        if (lt) {
                char *gt = strchr(lt, '>');
                if (!gt || *hd_trim(gt + 1))
                        return hd_seterr(errstr, errstr_size,
                                         "\"%.300s\" is not one e-mail address: expected "
                                         "\"Name <address>\"", s);
                *lt = *gt = '\0';
                name = hd_trim(s);
                addr = hd_trim(lt + 1);
                size_t n = strlen(name);
                if (n >= 2 && name[0] == '"' && name[n - 1] == '"') {
                        char *w = name;
                        name[n - 1] = '\0';
                        for (char *c = name + 1; *c; c++) {
                                if (*c == '\\' && c[1])
                                        c++;
                                *w++ = *c;
                        }
                        *w = '\0';
                }
        }
        if (hd_mail_address_check(addr, errstr, errstr_size))
                return -1;
        r->name = hd_strdup(name);
        r->addr = hd_strdup(addr);
        return 0;
}

static int hd_mail_rcpts(hd_mbuild_t *B, const char *key, const hd_mtpl_t *mt, size_t nmt,
                         hd_rcpts_t *out)
{
        const json_t *arr = json_object_get(B->em, key), *v;
        char field[48], err[400];
        size_t i;

        json_array_foreach(arr, i, v) {
                char *r, *s;
                snprintf(field, sizeof(field), "email.%s[%zu]", key, i);
                if (!json_is_string(v) || i >= nmt)
                        return hd_seterr(B->errstr, B->errstr_size, "%s: expected a string",
                                         field);
                if (!(r = hd_mail_render(B, &mt[i], HD_TPL_TEXT, field, 1, 1024)))
                        return -1;
                s = hd_trim(r);
                if (!*s) { /* a token with no value this time: no such recipient */
                        free(r);
                        continue;
                }
                if (B->to.n + B->cc.n >= HD_MAIL_MAX_RCPT) {
                        free(r);
                        return hd_seterr(B->errstr, B->errstr_size,
                                         "%s: more than %d recipients", field,
                                         HD_MAIL_MAX_RCPT);
                }
                if (hd_mime_find_crlf_nul(s, strlen(s))) { /* a static value */
                        free(r);
                        return hd_seterr(B->errstr, B->errstr_size,
                                         "header injection: CR/LF in %s", field);
                }
                if (hd_rcpt_parse(s, &out->v[out->n], err, sizeof(err))) {
                        free(r);
                        return hd_seterr(B->errstr, B->errstr_size, "%s: %s", field, err);
                }
                out->n++;
                free(r);
        }
        return 0;
}

/* Envelope recipients: to + cc, each address once (case-insensitively). */
static void hd_mail_envelope(hd_mbuild_t *B)
{
        hd_rcpts_t *lists[2] = {&B->to, &B->cc};
        hd_mail_msg_t *m = B->m;

        m->rcpt = hd_calloc(B->to.n + B->cc.n + 1, sizeof(char *));
        for (size_t l = 0; l < 2; l++) {
                for (size_t i = 0; i < lists[l]->n; i++) {
                        const char *a = lists[l]->v[i].addr;
                        size_t j;
                        for (j = 0; j < m->nrcpt && strcasecmp(m->rcpt[j], a); j++)
                                ;
                        if (j == m->nrcpt)
                                m->rcpt[m->nrcpt++] = hd_strdup(a);
                }
        }
}

static void hd_rcpts_free(hd_rcpts_t *r)
{
        for (size_t i = 0; i < r->n; i++) {
                free(r->v[i].name);
                free(r->v[i].addr);
        }
        r->n = 0;
}

/* --- headers --------------------------------------------------------------------------- */

void hd_mail_message_id(const char *event_id, const char *sub_id, const char *from_address,
                        char *out, size_t size)
{
        static const char hex[] = "0123456789abcdef";
        const char *at = from_address ? strrchr(from_address, '@') : NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        char h[33];
        hd_mbuf_t in = {0};

        hd_mbuf_puts(&in, event_id ? event_id : "");
        hd_mbuf_put(&in, "\n", 1);
        hd_mbuf_puts(&in, sub_id ? sub_id : "");
        EVP_Digest(in.p, in.len, md, &mdlen, EVP_sha256(), NULL);
        hd_mbuf_free(&in);
        for (int i = 0; i < 16; i++) {
                h[2 * i] = hex[md[i] >> 4];
                h[2 * i + 1] = hex[md[i] & 15];
        }
        h[32] = '\0';
        snprintf(out, size, "<%s@%s>", h, at && at[1] ? at + 1 : "herald.invalid");
}

static void hd_mail_date(int64_t now_ms, char *out, size_t size)
{
        static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        time_t s = (time_t)(now_ms / 1000);
        struct tm tm;

        gmtime_r(&s, &tm);
        snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
                 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
}

/* One "Name: value" field whose value is known to be short, printable ASCII. */
static void hd_mail_simple(hd_mbuf_t *b, const char *name, const char *value)
{
        hd_mhdr_t h;

        hd_mhdr_begin(&h, b, name);
        hd_mhdr_word(&h, value, strlen(value));
        hd_mhdr_end(&h);
}

static int hd_mail_addr_field(hd_mbuild_t *B, hd_mbuf_t *b, const char *name,
                              const hd_rcpts_t *r, const char *field)
{
        char word[HD_MAIL_MAX_ADDRESS + 4], what[64];
        hd_mhdr_t h;

        hd_mhdr_begin(&h, b, name);
        for (size_t i = 0; i < r->n; i++) {
                const char *comma = i + 1 < r->n ? "," : "";
                snprintf(what, sizeof(what), "the display name of %s[%zu]", field, i);
                if (*r->v[i].name && hd_mhdr_phrase(&h, r->v[i].name, strlen(r->v[i].name),
                                                    what, B->errstr, B->errstr_size))
                        return -1;
                snprintf(word, sizeof(word), *r->v[i].name ? "<%s>%s" : "%s%s", r->v[i].addr,
                         comma);
                hd_mhdr_word(&h, word, strlen(word));
        }
        hd_mhdr_end(&h);
        return 0;
}

static int hd_mail_from(hd_mbuild_t *B, hd_mbuf_t *b)
{
        const hd_smtp_profile_t *p = B->p;
        char word[HD_MAIL_MAX_ADDRESS + 4], err[400];
        hd_mhdr_t h;

        if (hd_mail_address_check(p->from_address, err, sizeof(err)))
                return hd_seterr(B->errstr, B->errstr_size, "profile %s: from_address: %s",
                                 p->name, err);
        hd_mhdr_begin(&h, b, "From");
        if (p->from_name && *p->from_name) {
                snprintf(word, sizeof(word), "<%s>", p->from_address);
                if (hd_mhdr_phrase(&h, p->from_name, strlen(p->from_name), "from_name",
                                   err, sizeof(err)))
                        return hd_seterr(B->errstr, B->errstr_size, "profile %s: %s",
                                         p->name, err);
        } else {
                hd_strlcpy(word, p->from_address, sizeof(word));
        }
        hd_mhdr_word(&h, word, strlen(word));
        hd_mhdr_end(&h);
        return 0;
}

/* Ids as trace headers when they are plain tokens (they always are from herald). */
static void hd_mail_trace(hd_mbuf_t *b, const char *name, const char *id)
{
        size_t n = id ? strlen(id) : 0;

        if (n && n <= 128 &&
            strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n)
                hd_mail_simple(b, name, id);
}

static int hd_mail_headers(hd_mbuild_t *B, hd_mbuf_t *b, int64_t now_ms)
{
        const char *eid = json_string_value(json_object_get(B->event, "id"));
        const char *sid = json_string_value(json_object_get(B->sub, "id"));
        char date[64];
        hd_mhdr_t h;

        hd_mail_date(now_ms, date, sizeof(date));
        hd_mbuf_puts(b, "Date: ");
        hd_mbuf_puts(b, date);
        hd_mbuf_puts(b, "\r\n");
        if (hd_mail_from(B, b) || hd_mail_addr_field(B, b, "To", &B->to, "email.to") ||
            (B->cc.n && hd_mail_addr_field(B, b, "Cc", &B->cc, "email.cc")))
                return -1;
        hd_mhdr_begin(&h, b, "Subject");
        if (hd_mhdr_text(&h, B->m->subject, strlen(B->m->subject), "rendered email.subject",
                         B->errstr, B->errstr_size))
                return -1;
        hd_mhdr_end(&h);
        hd_mail_simple(b, "Message-ID", B->m->message_id);
        hd_mail_simple(b, "MIME-Version", "1.0");
        hd_mail_trace(b, "X-Herald-Event-Id", eid);
        hd_mail_trace(b, "X-Herald-Subscription-Id", sid);
        return 0;
}

/* --- body ------------------------------------------------------------------------------ */

static void hd_mail_part_headers(hd_mbuf_t *b, const char *type)
{
        hd_mbuf_puts(b, "Content-Type: ");
        hd_mbuf_puts(b, type);
        hd_mbuf_puts(b, "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n");
}

static void hd_mail_body(hd_mbuild_t *B, hd_mbuf_t *b)
{
        char boundary[64], param[96];
        hd_mhdr_t h;

        if (!B->text || !B->html) {
                const char *body = B->text ? B->text : B->html;
                hd_mail_part_headers(b, B->text ? "text/plain" : "text/html");
                hd_mbuf_puts(b, "\r\n");
                hd_mime_qp(b, body, strlen(body));
                return;
        }
        /* "=_" never occurs in quoted-printable, so the boundary cannot clash */
        snprintf(boundary, sizeof(boundary), "=_herald_%.24s", B->m->message_id + 1);
        snprintf(param, sizeof(param), "boundary=\"%s\"", boundary);
        hd_mhdr_begin(&h, b, "Content-Type");
        hd_mhdr_word(&h, "multipart/alternative;", 22);
        hd_mhdr_word(&h, param, strlen(param));
        hd_mhdr_end(&h);
        hd_mbuf_puts(b, "\r\nThis is a MIME message with a text and an HTML version.\r\n");
        /* each hd_mime_qp output ends with the CRLF that starts the next delimiter */
        for (int i = 0; i < 2; i++) {
                const char *body = i ? B->html : B->text;
                hd_mbuf_puts(b, "--");
                hd_mbuf_puts(b, boundary);
                hd_mbuf_puts(b, "\r\n");
                hd_mail_part_headers(b, i ? "text/html" : "text/plain");
                hd_mbuf_puts(b, "\r\n");
                hd_mime_qp(b, body, strlen(body));
        }
        hd_mbuf_puts(b, "--");
        hd_mbuf_puts(b, boundary);
        hd_mbuf_puts(b, "--\r\n");
}

/* --- the message ----------------------------------------------------------------------- */

static int hd_mail_render_all(hd_mbuild_t *B)
{
        const char *subject = json_string_value(json_object_get(B->em, "subject"));
        const char *text = json_string_value(json_object_get(B->em, "text"));
        const char *html = json_string_value(json_object_get(B->em, "html"));
        char *s;

        if (!subject || (!text && !html))
                return hd_seterr(B->errstr, B->errstr_size,
                                 "email: needs a subject and a text or an html body");
        if (!(s = hd_mail_render(B, &B->tpl->subject, HD_TPL_TEXT, "email.subject", 1,
                                 HD_MAIL_MAX_SUBJECT)))
                return -1;
        B->m->subject = hd_strdup(hd_trim(s));
        free(s);
        if (text && !(B->text = hd_mail_render(B, &B->tpl->text, HD_TPL_TEXT, "email.text",
                                               0, HD_MAIL_MAX_BODY)))
                return -1;
        if (html && !(B->html = hd_mail_render(B, &B->tpl->html, HD_TPL_HTML, "email.html",
                                               0, HD_MAIL_MAX_BODY)))
                return -1;
        if ((B->text && !hd_mime_utf8_valid(B->text, strlen(B->text))) ||
            (B->html && !hd_mime_utf8_valid(B->html, strlen(B->html))))
                return hd_seterr(B->errstr, B->errstr_size,
                                 "email: a rendered body is not valid UTF-8");
        if (hd_mail_rcpts(B, "to", B->tpl->to, B->tpl->nto, &B->to) ||
            hd_mail_rcpts(B, "cc", B->tpl->cc, B->tpl->ncc, &B->cc))
                return -1;
        if (!B->to.n)
                return hd_seterr(B->errstr, B->errstr_size,
                                 "email.to: no recipient (every entry rendered empty)");
        return 0;
}

hd_mail_msg_t *hd_mail_build_tpl(const json_t *event, const json_t *sub,
                                 const hd_mail_tpl_t *tpl, const hd_smtp_profile_t *p,
                                 int64_t now_ms, char *errstr, size_t errstr_size)
{
        hd_mbuild_t B = {.event = event, .sub = sub, .em = json_object_get(sub, "email"),
                         .tpl = tpl, .p = p, .errstr = errstr, .errstr_size = errstr_size};
        const char *eid = json_string_value(json_object_get(event, "id"));
        const char *sid = json_string_value(json_object_get(sub, "id"));
        char mid[300];
        hd_mbuf_t b = {0};
        int rc;

        if (!eid || !sid || !json_is_object(B.em) || !p || !p->from_address) {
                hd_seterr(errstr, errstr_size, "%s",
                          !eid ? "event has no id" : !sid ? "subscription has no id"
                          : !json_is_object(B.em) ? "subscription has no email object"
                                                  : "no SMTP profile");
                return NULL;
        }
        B.m = hd_calloc(1, sizeof(*B.m));
        hd_mail_message_id(eid, sid, p->from_address, mid, sizeof(mid));
        B.m->message_id = hd_strdup(mid);
        rc = hd_mail_render_all(&B);
        if (!rc) {
                /* one allocation for the usual message: headers, two encoded bodies */
                hd_mbuf_reserve(&b, 1024 + 2 * (strlen(B.text ? B.text : "") +
                                                strlen(B.html ? B.html : "")));
                rc = hd_mail_headers(&B, &b, now_ms);
        }
        if (!rc) {
                hd_mail_body(&B, &b);
                B.m->mail_from = hd_strdup(p->from_address);
                hd_mail_envelope(&B);
                B.m->data = hd_mbuf_take(&b, &B.m->len);
        }
        hd_mbuf_free(&b);
        hd_rcpts_free(&B.to);
        hd_rcpts_free(&B.cc);
        free(B.text);
        free(B.html);
        if (rc) {
                hd_mail_free(B.m);
                return NULL;
        }
        return B.m;
}

hd_mail_msg_t *hd_mail_build_at(const json_t *event, const json_t *sub,
                                const hd_smtp_profile_t *p, int64_t now_ms, char *errstr,
                                size_t errstr_size)
{
        hd_mail_tpl_t *tpl = hd_mail_tpl_new(sub);
        hd_mail_msg_t *m = hd_mail_build_tpl(event, sub, tpl, p, now_ms, errstr, errstr_size);

        hd_mail_tpl_free(tpl);
        return m;
}

hd_mail_msg_t *hd_mail_build(const json_t *event, const json_t *sub, const hd_smtp_profile_t *p,
                             char *errstr, size_t errstr_size)
{
        return hd_mail_build_at(event, sub, p, hd_now_ms(), errstr, errstr_size);
}

void hd_mail_free(hd_mail_msg_t *m)
{
        if (!m)
                return;
        free(m->mail_from);
        for (size_t i = 0; i < m->nrcpt; i++)
                free(m->rcpt[i]);
        free(m->rcpt);
        free(m->message_id);
        free(m->subject);
        free(m->data);
        free(m);
}
