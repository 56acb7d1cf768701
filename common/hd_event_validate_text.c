/*
 * hd_event_validate_text: the envelope rules of hd_event_validate.c applied to a
 * tokenized event (hd_avro_text.h), for the fast path from JSON text to Avro. Only
 * a verdict: whatever the tree path would refuse is declined here, and the tree
 * path words the message.
 */
#include "hd_event_validate.h"

#include <stdint.h>
#include <string.h>

enum { HD_E_ID, HD_E_TYPE, HD_E_ACTION, HD_E_ENTITY, HD_E_OCCURRED_AT, HD_E_SOURCE,
       HD_E_ACCOUNT_ID, HD_E_DATA, HD_E_N };

static const char *const hd_env_names[HD_E_N] = {"id", "type", "action", "entity",
                                                  "occurred_at", "source", "account_id",
                                                  "data"};
static const size_t hd_env_lens[HD_E_N] = {2, 4, 6, 6, 11, 6, 10, 4};

/* 1 when t is the string s of len bytes. */
static int hd_envt_is(const hd_jtok_t *t, const char *s, size_t len)
{
        return t->kind == HD_JT_STR && t->len == len && !memcmp(t->s, s, len);
}

/* 1 when one of the len bytes at s is below 0x20: 8 at a time (a borrow can mark
 * a byte wrongly only above a byte that is below 0x20, so "any" is exact). */
static int hd_envt_has_ctl(const char *s, size_t len)
{
        const uint64_t ones = 0x0101010101010101ull, high = ones * 0x80;
        size_t i = 0;

        for (uint64_t x; i + 8 <= len; i += 8) {
                memcpy(&x, s + i, 8);
                if ((x - ones * 0x20) & ~x & high)
                        return 1;
        }
        for (; i < len; i++)
                if ((unsigned char)s[i] < 0x20)
                        return 1;
        return 0;
}

/* hd_ev_text: a non-empty string of at most max bytes without control characters. */
static int hd_envt_text(const hd_jtoks_t *T, long v, size_t max)
{
        const hd_jtok_t *t = &T->v[v];

        if (t->kind != HD_JT_STR || !t->len || t->len > max)
                return -1;
        if ((size_t)v < T->ntext)
                return 0; /* the text has none unescaped, and escapes are declined */
        return hd_envt_has_ctl(t->s, t->len) ? -1 : 0;
}

/* The envelope key token k spells, or -1. */
static int hd_envt_key(const hd_jtok_t *k)
{
        int i;

        if (!k->len)
                return -1;
        switch (k->s[0]) {
        case 'i': i = HD_E_ID; break;
        case 't': i = HD_E_TYPE; break;
        case 'a': i = k->len == 6 ? HD_E_ACTION : HD_E_ACCOUNT_ID; break;
        case 'e': i = HD_E_ENTITY; break;
        case 'o': i = HD_E_OCCURRED_AT; break;
        case 's': i = HD_E_SOURCE; break;
        case 'd': i = HD_E_DATA; break;
        default: return -1;
        }
        return hd_envt_is(k, hd_env_names[i], hd_env_lens[i]) ? i : -1;
}

/* The envelope keys' value tokens; -1 for an unknown or repeated key. */
static int hd_envt_collect(const hd_jtoks_t *T, long env[HD_E_N])
{
        for (int i = 0; i < HD_E_N; i++)
                env[i] = -1;
        for (size_t k = 1; k < T->v[0].next; k = T->v[k + 1].next) {
                int i = hd_envt_key(&T->v[k]);
                if (i < 0 || env[i] >= 0)
                        return -1;
                env[i] = (long)k + 1;
        }
        return 0;
}

/* The type named by token v, or NULL. */
static const hd_event_type_t *hd_envt_type(const hd_jtoks_t *T, long v)
{
        const hd_jtok_t *t;

        if (v < 0 || (t = &T->v[v])->kind != HD_JT_STR)
                return NULL;
        return hd_catalogue_findn(t->s, t->len);
}

static void hd_envt_default(hd_jtoks_t *T, hd_env_text_t *out, long env[HD_E_N], int k,
                            const char *s, int64_t i)
{
        if (env[k] >= 0)
                return;
        env[k] = (long)(s ? hd_jtoks_add_str(T, s, strlen(s)) : hd_jtoks_add_int(T, i));
        out->defs[out->ndefs].name = hd_env_names[k];
        out->defs[out->ndefs].len = hd_env_lens[k];
        out->defs[out->ndefs].sig = hd_name_sig(hd_env_names[k], hd_env_lens[k]);
        out->defs[out->ndefs++].tok = (size_t)env[k];
}

int hd_event_envelope_text(hd_jtoks_t *T, const hd_env_defaults_t *d, hd_env_text_t *out)
{
        long env[HD_E_N], acct;
        const hd_event_type_t *t;
        const hd_jtok_t *v;

        if (!T->n || T->v[0].kind != HD_JT_OBJ || hd_envt_collect(T, env) ||
            !(t = hd_envt_type(T, env[HD_E_TYPE])) || env[HD_E_DATA] < 0)
                return -1;
        out->t = t;
        out->ndefs = 0;
        hd_envt_default(T, out, env, HD_E_ID, d->id, 0);
        hd_envt_default(T, out, env, HD_E_OCCURRED_AT, NULL, d->occurred_at);
        hd_envt_default(T, out, env, HD_E_SOURCE, d->source, 0);
        hd_envt_default(T, out, env, HD_E_ACTION, d->action ? d->action : t->action, 0);
        hd_envt_default(T, out, env, HD_E_ENTITY, d->entity ? d->entity : t->entity, 0);
        if (hd_envt_text(T, env[HD_E_ID], 64) || hd_envt_text(T, env[HD_E_ENTITY], 128) ||
            hd_envt_text(T, env[HD_E_SOURCE], 128))
                return -1;
        v = &T->v[env[HD_E_ACTION]];
        if (!hd_envt_is(v, "CREATE", 6) && !hd_envt_is(v, "UPDATE", 6) &&
            !hd_envt_is(v, "DELETE", 6))
                return -1;
        v = &T->v[env[HD_E_OCCURRED_AT]];
        if (v->kind != HD_JT_INT || v->i < 0)
                return -1;
        acct = env[HD_E_ACCOUNT_ID];
        if (acct >= 0 && T->v[acct].kind == HD_JT_NULL)
                acct = -1;
        if (t->account_scoped ? acct < 0 : acct >= 0)
                return -1;
        if (acct >= 0 && hd_envt_text(T, acct, 128))
                return -1;
        out->id = env[HD_E_ID];
        out->account_id = acct;
        return 0;
}
