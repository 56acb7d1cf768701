/*
 * hd_token: the value of a token (`service.name`, `account.id`, `event.id`,
 * `invoice.total`) in a decoded JSON event, rendered as text. Tokens are
 * contextual: a token the event's type does not offer is an error naming both.
 */
#ifndef HD_TOKEN_H
#define HD_TOKEN_H

#include <jansson.h>
#include <stddef.h>

/* The JSON node a token points at in event, or NULL when absent. */
const json_t *hd_token_node(const json_t *event, const char *token);

/*
 * 0: *out holds the value. 1: the type offers the token but this event's value is
 * null (rendered empty; templates can test it with {{^token}}). -1: not offered
 * (or no such type), message in errstr. Money renders as "12.34 EUR".
 */
int hd_token_lookup(const json_t *event, const char *token, char *out, size_t outsize,
                    char *errstr, size_t errstr_size);

/* The same, and *node = the token's node (NULL when absent) once it is offered. */
int hd_token_lookup_node(const json_t *event, const char *token, char *out, size_t outsize,
                         const json_t **node, char *errstr, size_t errstr_size);

/* Formats minor units of an ISO 4217 currency: (1234, "EUR") -> "12.34 EUR". */
void hd_token_format_money(long long minor, const char *currency, char *out, size_t size);

/* Adapter for hd_template_render (opaque = const json_t *event). */
int hd_token_template_lookup(void *opaque, const char *token, char *buf, size_t bufsize,
                             char *errstr, size_t errstr_size);

#endif
