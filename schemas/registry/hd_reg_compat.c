/*
 * hd_reg_compat: herald-registry's compatibility enforcement — a registration is
 * checked (hd_compat) against the subject's live versions as its level says, and
 * POST /compatibility answers the same question without registering.
 */
#include "hd_reg_internal.h"
#include "hd_compat.h"
#include "hd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The live versions' texts, oldest first, with "version N" labels; count returned. */
static size_t hd_reg_previous(hd_reg_store_t *st, const char *subject, const char ***texts,
                              char ***labels)
{
        json_t *list = hd_reg_version_list(json_object_get(st->subjects, subject), 0), *v;
        size_t n = json_array_size(list), i;

        *texts = hd_calloc(n + 1, sizeof(char *));
        *labels = hd_calloc(n + 1, sizeof(char *));
        json_array_foreach(list, i, v) {
                int version = (int)json_integer_value(v), id;
                json_t *e = NULL, *ignored = NULL;
                char label[32];

                hd_reg_find(st, subject, &version, 0, &e, &ignored);
                id = (int)json_integer_value(json_object_get(e, "id"));
                (*texts)[i] = hd_reg_schema_text(st, id);
                snprintf(label, sizeof(label), "version %d", version);
                (*labels)[i] = hd_strdup(label);
                json_decref(ignored);
        }
        json_decref(list);
        return n;
}

static void hd_reg_free_labels(const char **texts, char **labels, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(labels[i]);
        free(labels);
        free(texts);
}

/*
 * Checks schema against texts under level: HD_COMPAT_* with msgs filled; an error
 * (a schema herald cannot read) becomes a 42201 answer in *out.
 */
static int hd_reg_run(const char *level_name, const char *schema, const char *const *texts,
                      const char *const *labels, size_t n, json_t *msgs, json_t **out)
{
        hd_compat_level_t level;
        char err[HD_ERRSTR_SIZE];
        int rc;

        if (hd_compat_level_parse(level_name, &level)) {
                hd_reg_error(out, HD_REG_INVALID_COMPAT, "Unknown compatibility level %s",
                             level_name);
                return HD_COMPAT_ERROR;
        }
        rc = hd_compat_check_level(level, schema, texts, labels, n, msgs, err, sizeof(err));
        if (rc == HD_COMPAT_ERROR)
                hd_reg_error(out, HD_REG_INVALID_SCHEMA,
                             "Either the input schema or one its references is invalid: %s",
                             err);
        return rc;
}

/* Confluent's 409 message: "..., details: [reason, ..., {compatibility: 'L'}]". */
static int hd_reg_conflict(const char *subject, const char *level, const json_t *msgs,
                           json_t **out)
{
        size_t size = 512 + strlen(subject), len, i;
        const json_t *m;
        char *text;

        json_array_foreach(msgs, i, m)
                size += strlen(json_string_value(m)) + 2;
        text = hd_malloc(size);
        len = (size_t)snprintf(text, size,
                               "Schema being registered is incompatible with an earlier schema "
                               "for subject \"%s\", details: [", subject);
        json_array_foreach(msgs, i, m)
                len += (size_t)snprintf(text + len, size - len, "%s, ", json_string_value(m));
        snprintf(text + len, size - len, "{compatibility: '%s'}]", level);
        *out = json_pack("{s:i, s:s}", "error_code", 409, "message", text);
        if (!*out) /* a subject or name that is not UTF-8 */
                hd_reg_error(out, 409, "Schema being registered is incompatible with an "
                                       "earlier schema (details not representable)");
        free(text);
        return 409;
}

int hd_reg_enforce(hd_reg_store_t *st, const char *subject, const char *level,
                   const char *schema, json_t **out)
{
        const char **texts;
        char **labels;
        size_t n;
        json_t *msgs;
        int rc;

        if (!strcmp(level, "NONE"))
                return 0;
        n = hd_reg_previous(st, subject, &texts, &labels);
        msgs = json_array();
        rc = hd_reg_run(level, schema, texts, (const char *const *)labels, n, msgs, out);
        hd_reg_free_labels(texts, labels, n);
        if (rc == HD_COMPAT_INCOMPATIBLE)
                rc = hd_reg_conflict(subject, level, msgs, out);
        else if (rc == HD_COMPAT_ERROR)
                rc = (int)json_integer_value(json_object_get(*out, "error_code"));
        json_decref(msgs);
        return rc;
}

int hd_reg_compatibility(hd_reg_store_t *st, const char *subject, int version,
                         const char *schema, int verbose, json_t **out)
{
        const char *level = hd_reg_level(st, subject), **texts = NULL, *one[1];
        char **labels = NULL, label[32], *lp = label;
        json_t *e, *msgs = json_array();
        size_t n = 0;
        int r;

        if ((r = hd_reg_check_schema(schema, out)))
                goto done;
        if (version != 0) {
                if ((r = hd_reg_find(st, subject, &version, 0, &e, out)))
                        goto done;
                one[0] = hd_reg_schema_text(st, (int)json_integer_value(json_object_get(e, "id")));
                snprintf(label, sizeof(label), "version %d", version);
                r = hd_reg_run(level, schema, one, (const char *const *)&lp, 1, msgs, out);
        } else {
                n = hd_reg_previous(st, subject, &texts, &labels);
                r = hd_reg_run(level, schema, texts, (const char *const *)labels, n, msgs, out);
                hd_reg_free_labels(texts, labels, n);
        }
        if (r == HD_COMPAT_ERROR) {
                r = (int)json_integer_value(json_object_get(*out, "error_code"));
                goto done;
        }
        *out = json_pack("{s:b}", "is_compatible", r == HD_COMPAT_OK);
        if (verbose)
                json_object_set(*out, "messages", msgs);
        r = 0;
done:
        json_decref(msgs);
        return r;
}
