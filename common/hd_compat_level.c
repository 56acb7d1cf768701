/* hd_compat_level: levels and the string API of hd_compat.h. */
#include "hd_compat.h"
#include "hd_compat_internal.h"
#include "hd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const hd_levels[] = {"NONE",    "BACKWARD",           "BACKWARD_TRANSITIVE",
                                        "FORWARD", "FORWARD_TRANSITIVE", "FULL",
                                        "FULL_TRANSITIVE"};

int hd_compat_level_parse(const char *name, hd_compat_level_t *level)
{
        for (size_t i = 0; name && i < HD_ARRAY_SIZE(hd_levels); i++)
                if (!strcasecmp(name, hd_levels[i])) {
                        *level = (hd_compat_level_t)i;
                        return 0;
                }
        return -1;
}

const char *hd_compat_level_name(hd_compat_level_t level)
{
        return (size_t)level < HD_ARRAY_SIZE(hd_levels) ? hd_levels[level] : "?";
}

/* msgs (or the error) joined by newlines into out. */
static void hd_compat_join(const json_t *msgs, char *out, size_t size)
{
        size_t i, len = 0;
        const json_t *m;

        if (!size)
                return;
        out[0] = '\0';
        json_array_foreach(msgs, i, m) {
                if (len >= size)
                        break;
                len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "\n" : "",
                                        json_string_value(m));
        }
}

int hd_compat_check(const char *reader_json, const char *writer_json, char *msgs, size_t size)
{
        char err[HD_ERRSTR_SIZE];
        hd_cs_t *r = hd_cs_parse(reader_json, err, sizeof(err)), *w = NULL;
        json_t *list = json_array();
        int rc;

        if (!r)
                rc = hd_seterr(msgs, size, "reader schema: %s", err);
        else if (!(w = hd_cs_parse(writer_json, err, sizeof(err))))
                rc = hd_seterr(msgs, size, "writer schema: %s", err);
        else if ((rc = hd_cc_run(r, w, HD_CC_NEUTRAL, NULL, list, err, sizeof(err))) < 0)
                hd_seterr(msgs, size, "%s", err);
        else
                hd_compat_join(list, msgs, size);
        hd_cs_free(r);
        hd_cs_free(w);
        json_decref(list);
        return rc;
}

/* One previous version in the level's direction(s); worst result wins. */
static int hd_compat_one(hd_compat_level_t level, const hd_cs_t *nw, const hd_cs_t *old,
                         const char *label, json_t *msgs, char *errstr, size_t errstr_size)
{
        int back = level != HD_COMPAT_FORWARD && level != HD_COMPAT_FORWARD_TRANSITIVE;
        int fwd = level != HD_COMPAT_BACKWARD && level != HD_COMPAT_BACKWARD_TRANSITIVE;
        int rc = HD_COMPAT_OK, r;

        if (back && (r = hd_cc_run(nw, old, HD_CC_READER_NEW, label, msgs, errstr,
                                   errstr_size)) != HD_COMPAT_OK)
                rc = r;
        if (rc >= 0 && fwd &&
            (r = hd_cc_run(old, nw, HD_CC_READER_OLD, label, msgs, errstr, errstr_size)) !=
                    HD_COMPAT_OK)
                rc = r;
        return rc;
}

int hd_compat_check_level(hd_compat_level_t level, const char *new_json,
                          const char *const *previous, const char *const *labels,
                          size_t nprevious, json_t *messages, char *errstr,
                          size_t errstr_size)
{
        int transitive = level == HD_COMPAT_BACKWARD_TRANSITIVE ||
                         level == HD_COMPAT_FORWARD_TRANSITIVE ||
                         level == HD_COMPAT_FULL_TRANSITIVE;
        char err[HD_ERRSTR_SIZE], label[128];
        hd_cs_t *nw = hd_cs_parse(new_json, err, sizeof(err));
        int rc = HD_COMPAT_OK;

        if (!nw)
                return hd_seterr(errstr, errstr_size, "new schema: %s", err);
        if ((size_t)level >= HD_ARRAY_SIZE(hd_levels)) {
                hd_cs_free(nw);
                return hd_seterr(errstr, errstr_size, "unknown compatibility level %d",
                                 (int)level);
        }
        /* Newest first, so the messages start with the latest version. */
        for (size_t k = 0; level != HD_COMPAT_NONE && k < nprevious && rc >= 0; k++) {
                size_t i = nprevious - 1 - k;
                hd_cs_t *old;
                int r;

                if (k > 0 && !transitive)
                        break;
                if (labels && labels[i])
                        snprintf(label, sizeof(label), "%s", labels[i]);
                else if (nprevious > 1)
                        snprintf(label, sizeof(label), "previous schema %zu", i + 1);
                else
                        label[0] = '\0';
                if (!(old = hd_cs_parse(previous[i], err, sizeof(err)))) {
                        rc = hd_seterr(errstr, errstr_size, "%s: %s",
                                       label[0] ? label : "previous schema", err);
                        break;
                }
                r = hd_compat_one(level, nw, old, label, messages, errstr, errstr_size);
                if (r != HD_COMPAT_OK)
                        rc = r;
                hd_cs_free(old);
        }
        hd_cs_free(nw);
        return rc;
}

int hd_compat_check_level_str(hd_compat_level_t level, const char *new_json,
                              const char *const *previous, size_t nprevious, char *msgs,
                              size_t size)
{
        char err[HD_ERRSTR_SIZE];
        json_t *list = json_array();
        int rc = hd_compat_check_level(level, new_json, previous, NULL, nprevious, list, err,
                                       sizeof(err));

        if (rc < 0)
                hd_seterr(msgs, size, "%s", err);
        else
                hd_compat_join(list, msgs, size);
        json_decref(list);
        return rc;
}
