/*
 * hd_template: the small Mustache subset used by webhook parameters and e-mail
 * subjects/bodies. `{{token}}` (escaped for the output's context), `{{{token}}}`
 * (raw), `{{#token}}…{{/token}}` (section shown when the token has a non-empty
 * value) and `{{^token}}…{{/token}}` (shown when it is empty/null). No partials,
 * no lambdas, no lists, no delimiter changes: a template can only read tokens.
 *
 * A template is compiled once (syntax checked, tokens collected) so a subscription
 * can be refused when it is saved, and rendered many times.
 */
#ifndef HD_TEMPLATE_H
#define HD_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

typedef enum {
        HD_TPL_TEXT = 0, /* no escaping (plain text, JSON strings are escaped by jansson) */
        HD_TPL_HTML = 1, /* {{token}} is HTML-escaped */
} hd_tpl_mode_t;

typedef struct hd_template hd_template_t;

/* Compiles text; errors name the position: "at 12: unclosed section {{#service.name}}". */
hd_template_t *hd_template_compile(const char *text, char *errstr, size_t errstr_size);
void hd_template_destroy(hd_template_t *t);

/* Distinct token names used, in first-use order. */
size_t hd_template_ntokens(const hd_template_t *t);
const char *hd_template_token(const hd_template_t *t, size_t i);

/*
 * Looks a token up: returns 0 with *value (borrowed, NUL-terminated) set, or 1 when
 * the token's value is null/absent, or -1 with errstr when it cannot be offered.
 */
typedef int(hd_tpl_lookup_fn)(void *opaque, const char *token, char *buf, size_t bufsize,
                              char *errstr, size_t errstr_size);

/* Renders into a malloc'd string; output capped at max_len bytes (error beyond). */
char *hd_template_render(const hd_template_t *t, hd_tpl_mode_t mode,
                         hd_tpl_lookup_fn *lookup, void *opaque, size_t max_len,
                         char *errstr, size_t errstr_size);

#endif
