/*
 * hd_mail_msg: the one e-mail an event sends under an e-mail subscription
 * (DESIGN §8). Subject, text and HTML bodies are rendered from the event's
 * tokens (HTML-escaped in the HTML body), recipients are static addresses or
 * rendered from tokens, and the message is written per RFC 5322 / 2045 / 2047:
 * CRLF everywhere, lines <= 998 (headers folded at 78), multipart/alternative
 * when both bodies exist, quoted-printable UTF-8 bodies, encoded words for
 * non-ASCII subjects and display names. The Message-ID is derived from the event
 * id and the subscription id, so retries and replays keep it.
 *
 * A CR, LF or NUL in any header value, address or rendered token refuses the
 * whole message with a reason naming the field and the token; such a message is
 * never produced.
 */
#ifndef HD_MAIL_MSG_H
#define HD_MAIL_MSG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hd_config.h"

#define HD_MAIL_MAX_RCPT      100        /* to + cc after rendering */
#define HD_MAIL_MAX_SUBJECT   2048       /* rendered bytes */
#define HD_MAIL_MAX_BODY      (1 << 20)  /* rendered bytes per body */
#define HD_MAIL_MAX_ADDRESS   254

typedef struct hd_mail_msg {
        char *mail_from;       /* envelope sender (MAIL FROM): the profile's from_address */
        char **rcpt;           /* envelope recipients (RCPT TO): to + cc, addr-spec, deduplicated */
        size_t nrcpt;
        char *message_id;      /* "<…@domain>", stable for (event id, subscription id) */
        char *subject;         /* rendered subject, UTF-8, for logs */
        char *data;            /* the whole message, CRLF line ends */
        size_t len;
} hd_mail_msg_t;

/*
 * Builds the message for event (decoded event JSON: id, type, account_id, data)
 * under sub (a validated subscription with an "email" object) sent through
 * profile p. NULL with the reason when the message cannot be built: a token the
 * event does not offer, a recipient that is not one address, or injection:
 * "header injection: CR/LF in rendered subject from token account.name".
 * A refusal is final for this event (dead-letter it, do not retry).
 */
hd_mail_msg_t *hd_mail_build(const json_t *event, const json_t *sub, const hd_smtp_profile_t *p,
                             char *errstr, size_t errstr_size);

/* Same, with the Date header's time given (epoch ms) instead of now. */
hd_mail_msg_t *hd_mail_build_at(const json_t *event, const json_t *sub,
                                const hd_smtp_profile_t *p, int64_t now_ms, char *errstr,
                                size_t errstr_size);

void hd_mail_free(hd_mail_msg_t *m);

/*
 * The templates of a subscription's email object (subject, bodies, to, cc),
 * compiled once for many messages: herald-maild keeps one per subscription
 * version. Templates that do not compile are kept with their error, which a
 * build reports where it would render them. Never NULL.
 */
typedef struct hd_mail_tpl hd_mail_tpl_t;
hd_mail_tpl_t *hd_mail_tpl_new(const json_t *sub);
void hd_mail_tpl_free(hd_mail_tpl_t *t);

/* hd_mail_build_at with tpl = hd_mail_tpl_new(sub) of this very sub. */
hd_mail_msg_t *hd_mail_build_tpl(const json_t *event, const json_t *sub,
                                 const hd_mail_tpl_t *tpl, const hd_smtp_profile_t *p,
                                 int64_t now_ms, char *errstr, size_t errstr_size);

/*
 * Checks one address (addr-spec: dot-atom local part <= 64, '@', a domain of
 * letters/digits/hyphen labels; no quoted local parts, no IP literals, ASCII
 * only). 0 or -1 with the reason.
 */
int hd_mail_address_check(const char *addr, char *errstr, size_t errstr_size);

/* "<hex(sha256(event id LF subscription id))[0..32]@domain of from_address>". */
void hd_mail_message_id(const char *event_id, const char *sub_id, const char *from_address,
                        char *out, size_t size);

#endif
