/* hd_token: see hd_token.h. */
#include "hd_token.h"
#include "hd_catalogue.h"
#include "hd_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ISO 4217 minor-unit exponents that are not 2. */
static int hd_currency_exponent(const char *c)
{
        static const char *const zero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF",
                                           "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
                                           "XAF", "XOF", "XPF"};
        static const char *const three[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};

        for (size_t i = 0; i < HD_ARRAY_SIZE(zero); i++)
                if (!strcmp(c, zero[i]))
                        return 0;
        for (size_t i = 0; i < HD_ARRAY_SIZE(three); i++)
                if (!strcmp(c, three[i]))
                        return 3;
        return 2;
}

void hd_token_format_money(long long minor, const char *currency, char *out, size_t size)
{
        int exp = hd_currency_exponent(currency);
        unsigned long long a = minor < 0 ? 0ULL - (unsigned long long)minor : (unsigned long long)minor;
        unsigned long long div = exp == 0 ? 1 : exp == 3 ? 1000 : 100;

        if (exp == 0)
                snprintf(out, size, "%s%llu %s", minor < 0 ? "-" : "", a, currency);
        else
                snprintf(out, size, "%s%llu.%0*llu %s", minor < 0 ? "-" : "", a / div, exp,
                         a % div, currency);
}

const json_t *hd_token_node(const json_t *ev, const char *token)
{
        const json_t *node;

        if (!strncmp(token, "event.", 6))
                return json_object_get(ev, token + 6);
        if (!strcmp(token, "account.id"))
                return json_object_get(ev, "account_id");
        /* walks "a.b.c" under data; empty parts ("a..b") are skipped */
        node = json_object_get(ev, "data");
        for (const char *p = token; *p && node;) {
                size_t n = strcspn(p, ".");
                if (n)
                        node = json_object_getn(node, p, n);
                p += n + (p[n] == '.');
        }
        return node;
}

static int hd_token_render(const json_t *v, char *out, size_t outsize)
{
        if (!v || json_is_null(v)) {
                if (outsize)
                        *out = '\0';
                return 1;
        }
        if (json_is_string(v))
                hd_strlcpy(out, json_string_value(v), outsize);
        else if (json_is_integer(v))
                snprintf(out, outsize, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
                snprintf(out, outsize, "%g", json_real_value(v));
        else if (json_is_boolean(v))
                hd_strlcpy(out, json_is_true(v) ? "true" : "false", outsize);
        else if (json_is_object(v) && json_is_integer(json_object_get(v, "amount_minor")) &&
                 json_is_string(json_object_get(v, "currency")))
                hd_token_format_money(json_integer_value(json_object_get(v, "amount_minor")),
                                      json_string_value(json_object_get(v, "currency")), out,
                                      outsize);
        else
                hd_strlcpy(out, "", outsize);
        return 0;
}

int hd_token_lookup_node(const json_t *event, const char *token, char *out, size_t outsize,
                         const json_t **nodep, char *errstr, size_t errstr_size)
{
        const char *type = json_string_value(json_object_get(event, "type"));
        const hd_event_type_t *t = hd_catalogue_find(type);
        const json_t *node;

        if (!t)
                return hd_seterr(errstr, errstr_size, "event type \"%s\" is not in the catalogue",
                                 type ? type : "(none)");
        if (!hd_catalogue_offers(t, token))
                return hd_seterr(errstr, errstr_size,
                                 "token \"%s\" is not offered by event type \"%s\"", token,
                                 t->name);
        node = hd_token_node(event, token);
        if (nodep)
                *nodep = node;
        return hd_token_render(node, out, outsize);
}

int hd_token_lookup(const json_t *event, const char *token, char *out, size_t outsize,
                    char *errstr, size_t errstr_size)
{
        return hd_token_lookup_node(event, token, out, outsize, NULL, errstr, errstr_size);
}

int hd_token_template_lookup(void *opaque, const char *token, char *buf, size_t bufsize,
                             char *errstr, size_t errstr_size)
{
        return hd_token_lookup(opaque, token, buf, bufsize, errstr, errstr_size);
}
