/* hd_textdiff: see hd_textdiff.h. */
#include "hd_textdiff.h"
#include "hd_avro_text.h"
#include "hd_catalogue.h"

#include <stdlib.h>
#include <string.h>

#define HD_TD_ID "0190f0e4-0000-7000-8000-000000000001"
#define HD_TD_AT 1764115200000LL

/* The defaults herald_event_fill_defaults gives, with a fixed id and time. */
static void hd_td_fill(json_t *ev)
{
        const hd_event_type_t *t =
                hd_catalogue_find(json_string_value(json_object_get(ev, "type")) ?: "");

        if (!json_object_get(ev, "id"))
                json_object_set_new(ev, "id", json_string(HD_TD_ID));
        if (!json_object_get(ev, "occurred_at"))
                json_object_set_new(ev, "occurred_at", json_integer(HD_TD_AT));
        if (!json_object_get(ev, "source"))
                json_object_set_new(ev, "source", json_string("billing"));
        if (t && !json_object_get(ev, "action"))
                json_object_set_new(ev, "action", json_string(t->action));
        if (t && !json_object_get(ev, "entity"))
                json_object_set_new(ev, "entity", json_string(t->entity));
}

int hd_textdiff(hd_serde_t *s, const char *text, hd_textdiff_t *out)
{
        return hd_textdiff_id(s, 1, text, out);
}

int hd_textdiff_id(hd_serde_t *s, int32_t id, const char *text, hd_textdiff_t *out)
{
        hd_env_defaults_t d = {HD_TD_ID, "billing", NULL, NULL, HD_TD_AT};
        hd_jtoks_t T = {0};
        hd_env_text_t env;
        const void *frame;
        unsigned char *tree = NULL;
        size_t len = 0, tlen = 0;
        json_t *ev = json_loads(text, JSON_REJECT_DUPLICATES, NULL);

        memset(out, 0, sizeof(*out));
        out->tree_rc = -100;
        if (json_is_object(ev)) {
                hd_td_fill(ev);
                out->tree_rc = hd_serde_encode_frame(s, id, ev, &frame, &tlen, out->tree_err,
                                                     sizeof(out->tree_err));
                if (!out->tree_rc)
                        tree = memcpy(malloc(tlen), frame, tlen);
        }
        json_decref(ev);
        out->fast_ok = !hd_jtoks_parse(&T, text) && !hd_event_envelope_text(&T, &d, &env) &&
                       !hd_serde_encode_text(s, id, &T, &env, &frame, &len);
        out->same = out->fast_ok && tree && len == tlen && !memcmp(frame, tree, len);
        /* The key and id the fast path routes with are the event's. */
        if (out->same && env.id >= 0 && T.v[env.id].kind != HD_JT_STR)
                out->same = 0;
        hd_jtoks_free(&T);
        free(tree);
        return out->fast_ok && !out->same ? -1 : 0;
}
