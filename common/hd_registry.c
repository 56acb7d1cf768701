/* hd_registry: see hd_registry.h. */
#include "hd_registry.h"
#include "hd_log.h"
#include "hd_serde.h"
#include "hd_util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_REG_MAX_RESPONSE (16 * 1024 * 1024)
#define HD_REG_CT           "application/vnd.schemaregistry.v1+json"

struct hd_registry {
        char **urls;
        char **shown;     /* the URLs as messages show them: no user:password@ */
        size_t nurls;
        size_t preferred; /* last URL that answered */
        int timeout_ms;
        char *userpwd;    /* "user:password" or NULL */
        char *ca_file;
        pthread_mutex_t lock;
        json_t *cache;    /* "id" -> schema string */
};

static _Thread_local int hd_reg_last_code;

int hd_registry_last_code(void)
{
        return hd_reg_last_code;
}

void hd_strlist_clear(hd_strlist_t *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = 0;
}

static void hd_curl_init(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* url without credentials (registered as log secrets), for messages. */
static char *hd_reg_shown_url(const char *url)
{
        CURLU *u = curl_url();
        char *pw = NULL, *out = NULL, *shown;

        if (u && !curl_url_set(u, CURLUPART_URL, url, 0)) {
                if (!curl_url_get(u, CURLUPART_PASSWORD, &pw, 0))
                        hd_log_add_secret(pw);
                curl_url_set(u, CURLUPART_USER, NULL, 0);
                curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
                curl_url_get(u, CURLUPART_URL, &out, 0);
        }
        /* Unparseable: show it only when it cannot hold credentials. */
        shown = hd_strdup(out ? out : strchr(url, '@') ? "(unparseable URL)" : url);
        curl_free(pw);
        curl_free(out);
        curl_url_cleanup(u);
        return shown;
}

hd_registry_t *hd_registry_new(const hd_registry_opts_t *o, char *errstr, size_t errstr_size)
{
        hd_registry_t *r;
        static pthread_once_t once = PTHREAD_ONCE_INIT;

        if (!o->nurls) {
                hd_seterr(errstr, errstr_size,
                          "no schema registry URL: set registry.urls in the config or "
                          "HERALD_REGISTRY_URL (herald dev writes it to STATE_DIR/env)");
                return NULL;
        }
        pthread_once(&once, hd_curl_init);
        r = hd_calloc(1, sizeof(*r));
        r->urls = hd_calloc(o->nurls, sizeof(char *));
        r->shown = hd_calloc(o->nurls, sizeof(char *));
        for (size_t i = 0; i < o->nurls; i++) {
                size_t n = strlen(o->urls[i]);
                r->urls[i] = hd_strdup(o->urls[i]);
                if (n && r->urls[i][n - 1] == '/')
                        r->urls[i][n - 1] = '\0';
                r->shown[i] = hd_reg_shown_url(r->urls[i]);
                n = strlen(r->shown[i]);
                if (n && r->shown[i][n - 1] == '/')
                        r->shown[i][n - 1] = '\0';
        }
        r->nurls = o->nurls;
        r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
        if (o->username) {
                size_t n = strlen(o->username) + strlen(o->password ? o->password : "") + 2;
                r->userpwd = hd_malloc(n);
                snprintf(r->userpwd, n, "%s:%s", o->username, o->password ? o->password : "");
                hd_log_add_secret(o->password);
        }
        r->ca_file = o->ca_file ? hd_strdup(o->ca_file) : NULL;
        r->cache = json_object();
        pthread_mutex_init(&r->lock, NULL);
        return r;
}

hd_registry_t *hd_registry_from_config(const hd_config_t *cfg, char *errstr,
                                       size_t errstr_size)
{
        hd_registry_opts_t o = {(const char *const *)cfg->registry.urls.v,
                                cfg->registry.urls.n,
                                cfg->registry.timeout_ms,
                                cfg->registry.username,
                                cfg->registry.password,
                                cfg->registry.ca_file};
        return hd_registry_new(&o, errstr, errstr_size);
}

void hd_registry_destroy(hd_registry_t *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->nurls; i++) {
                free(r->urls[i]);
                free(r->shown[i]);
        }
        free(r->urls);
        free(r->shown);
        free(r->userpwd);
        free(r->ca_file);
        json_decref(r->cache);
        pthread_mutex_destroy(&r->lock);
        free(r);
}

/* --- one HTTP exchange ------------------------------------------------------------ */

typedef struct hd_buf {
        char *p;
        size_t len;
} hd_buf_t;

static size_t hd_reg_write(char *data, size_t size, size_t nmemb, void *opaque)
{
        hd_buf_t *b = opaque;
        size_t n = size * nmemb;

        if (b->len + n > HD_REG_MAX_RESPONSE)
                return 0; /* aborts the transfer */
        b->p = hd_realloc(b->p, b->len + n + 1);
        memcpy(b->p + b->len, data, n);
        b->len += n;
        b->p[b->len] = '\0';
        return n;
}

/* Performs one request against one base URL; returns the curl code. */
static CURLcode hd_reg_perform(hd_registry_t *r, const char *base, const char *method,
                               const char *path, const char *body, long *status,
                               hd_buf_t *out)
{
        CURL *c = curl_easy_init();
        struct curl_slist *h = NULL;
        char url[4096];
        CURLcode rc;

        if (!c)
                return CURLE_OUT_OF_MEMORY;
        snprintf(url, sizeof(url), "%s%s", base, path);
        h = curl_slist_append(h, "Accept: " HD_REG_CT ", application/json");
        h = curl_slist_append(h, "Content-Type: " HD_REG_CT);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)r->timeout_ms);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hd_reg_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (body)
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        if (r->userpwd) {
                curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
                curl_easy_setopt(c, CURLOPT_USERPWD, r->userpwd);
        }
        if (r->ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        return rc;
}

static int hd_reg_classify(int code, long status)
{
        if (code / 100 == 404 || (!code && status == 404))
                return HD_REG_E_NOT_FOUND;
        if (code == 409 || status == 409)
                return HD_REG_E_CONFLICT;
        if (code / 100 == 422 || (!code && status == 422))
                return HD_REG_E_INVALID;
        return HD_REG_E_OTHER;
}

/* A 4xx answer: the registry's error_code and message become the error. */
static int hd_reg_answer_error(const char *base, long status, const hd_buf_t *b,
                               char *errstr, size_t errstr_size)
{
        json_t *j = b->p ? json_loads(b->p, 0, NULL) : NULL;
        int code = (int)json_integer_value(json_object_get(j, "error_code"));
        const char *msg = json_string_value(json_object_get(j, "message"));

        hd_reg_last_code = code ? code : (int)status;
        hd_seterr(errstr, errstr_size, "registry %s: %d %s", base, code ? code : (int)status,
                  msg ? msg : "(no message)");
        json_decref(j);
        return hd_reg_classify(code, status);
}

/* Appends this URL's failure to the list of failures ("; " separated). */
static void hd_reg_note_failure(char *all, size_t size, const char *one)
{
        size_t n = strlen(all);

        if (n && n + 2 < size)
                hd_strlcpy(all + n, "; ", size - n), n += 2;
        if (n < size)
                hd_strlcpy(all + n, one, size - n);
}

#define HD_REG_FAILOVER 1 /* hd_reg_try: this URL failed, try the next */

/* One URL: HD_REG_FAILOVER (connect, timeout, 5xx), else the call's result. */
static int hd_reg_try(hd_registry_t *r, size_t i, const char *method, const char *path,
                      const char *text, json_t **resp, char *errstr, size_t errstr_size)
{
        hd_buf_t b = {0};
        long status = 0;
        CURLcode rc = hd_reg_perform(r, r->urls[i], method, path, text, &status, &b);
        int result;

        if (rc != CURLE_OK) {
                hd_seterr(errstr, errstr_size, "registry %s: %s", r->shown[i],
                          curl_easy_strerror(rc));
                result = HD_REG_FAILOVER;
        } else if (status >= 500) {
                hd_reg_answer_error(r->shown[i], status, &b, errstr, errstr_size);
                result = HD_REG_FAILOVER;
        } else if (status >= 200 && status < 300) {
                *resp = json_loads(b.p ? b.p : "null", JSON_DECODE_ANY, NULL);
                result = 0;
                if (!*resp) {
                        hd_seterr(errstr, errstr_size, "registry %s: answer is not JSON",
                                  r->shown[i]);
                        result = HD_REG_E_OTHER;
                }
        } else {
                result = hd_reg_answer_error(r->shown[i], status, &b, errstr, errstr_size);
        }
        free(b.p);
        return result;
}

/*
 * Sends method path [body] to each URL in turn from the preferred one; returns 0
 * with the parsed JSON answer, or an hd_registry_err_t. When every URL fails the
 * message lists each one's failure.
 */
static int hd_reg_call(hd_registry_t *r, const char *method, const char *path,
                       const json_t *body, json_t **resp, char *errstr, size_t errstr_size)
{
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        char one[HD_ERRSTR_SIZE], all[HD_ERRSTR_SIZE * 2] = "";
        size_t start;
        int result = HD_REG_E_UNREACHABLE;

        pthread_mutex_lock(&r->lock);
        start = r->preferred;
        pthread_mutex_unlock(&r->lock);
        hd_reg_last_code = 0;
        for (size_t k = 0; k < r->nurls; k++) {
                size_t i = (start + k) % r->nurls;
                result = hd_reg_try(r, i, method, path, text, resp, one, sizeof(one));
                if (result == HD_REG_FAILOVER) {
                        hd_reg_note_failure(all, sizeof(all), one);
                        result = HD_REG_E_UNREACHABLE;
                        continue; /* fail over */
                }
                pthread_mutex_lock(&r->lock);
                r->preferred = i;
                pthread_mutex_unlock(&r->lock);
                if (result)
                        hd_seterr(errstr, errstr_size, "%s", one);
                break;
        }
        if (result == HD_REG_E_UNREACHABLE)
                hd_seterr(errstr, errstr_size, "%s", all);
        free(text);
        return result;
}

/* --- the API ------------------------------------------------------------------------ */

/* "/subjects/<escaped subject><suffix>" */
static char *hd_reg_subject_path(const char *subject, const char *suffix)
{
        char *esc = curl_easy_escape(NULL, subject, 0);
        size_t n = strlen(esc ? esc : "") + strlen(suffix) + 16;
        char *p = hd_malloc(n);

        snprintf(p, n, "/subjects/%s%s", esc ? esc : "", suffix);
        curl_free(esc);
        return p;
}

static int hd_reg_bad_answer(char *errstr, size_t errstr_size, const char *what)
{
        hd_seterr(errstr, errstr_size, "registry answer without %s", what);
        return HD_REG_E_OTHER;
}

int hd_registry_register(hd_registry_t *r, const char *subject, const char *schema_json,
                         int32_t *id, char *errstr, size_t errstr_size)
{
        char *path = hd_reg_subject_path(subject, "/versions");
        json_t *body = json_pack("{s:s}", "schema", schema_json), *resp = NULL;
        int rc = hd_reg_call(r, "POST", path, body, &resp, errstr, errstr_size);

        if (!rc && !json_is_integer(json_object_get(resp, "id")))
                rc = hd_reg_bad_answer(errstr, errstr_size, "an id");
        if (!rc)
                *id = (int32_t)json_integer_value(json_object_get(resp, "id"));
        json_decref(resp);
        json_decref(body);
        free(path);
        return rc;
}

int hd_registry_lookup(hd_registry_t *r, const char *subject, const char *schema_json,
                       int32_t *id, int *version, char *errstr, size_t errstr_size)
{
        char *path = hd_reg_subject_path(subject, "");
        json_t *body = json_pack("{s:s}", "schema", schema_json), *resp = NULL;
        int rc = hd_reg_call(r, "POST", path, body, &resp, errstr, errstr_size);

        if (!rc && !json_is_integer(json_object_get(resp, "id")))
                rc = hd_reg_bad_answer(errstr, errstr_size, "an id");
        if (!rc) {
                *id = (int32_t)json_integer_value(json_object_get(resp, "id"));
                if (version)
                        *version = (int)json_integer_value(json_object_get(resp, "version"));
        }
        json_decref(resp);
        json_decref(body);
        free(path);
        return rc;
}

int hd_registry_get_schema(hd_registry_t *r, int32_t id, char **schema_json, char *errstr,
                           size_t errstr_size)
{
        char key[16], path[64];
        json_t *resp = NULL, *cached;
        int rc;

        hd_reg_last_code = 0;
        snprintf(key, sizeof(key), "%d", (int)id);
        pthread_mutex_lock(&r->lock);
        cached = json_object_get(r->cache, key);
        *schema_json = cached ? hd_strdup(json_string_value(cached)) : NULL;
        pthread_mutex_unlock(&r->lock);
        if (*schema_json)
                return 0;
        snprintf(path, sizeof(path), "/schemas/ids/%d", (int)id);
        rc = hd_reg_call(r, "GET", path, NULL, &resp, errstr, errstr_size);
        if (!rc && !json_is_string(json_object_get(resp, "schema")))
                rc = hd_reg_bad_answer(errstr, errstr_size, "a schema");
        if (!rc) {
                *schema_json = hd_strdup(json_string_value(json_object_get(resp, "schema")));
                pthread_mutex_lock(&r->lock);
                json_object_set_new(r->cache, key, json_string(*schema_json));
                pthread_mutex_unlock(&r->lock);
        }
        json_decref(resp);
        return rc;
}

int hd_registry_fetch_cb(void *opaque, int32_t id, char **schema_json, char *errstr,
                         size_t errstr_size)
{
        int rc = hd_registry_get_schema(opaque, id, schema_json, errstr, errstr_size);

        if (rc == HD_REG_E_NOT_FOUND)
                return HD_SERDE_E_UNKNOWN_ID;
        return rc ? HD_SERDE_E_REGISTRY : 0;
}

int hd_registry_subjects(hd_registry_t *r, int include_deleted, hd_strlist_t *out,
                         char *errstr, size_t errstr_size)
{
        json_t *resp = NULL, *v;
        size_t i;
        int rc = hd_reg_call(r, "GET", include_deleted ? "/subjects?deleted=true" : "/subjects",
                             NULL, &resp, errstr, errstr_size);

        memset(out, 0, sizeof(*out));
        if (!rc && !json_is_array(resp))
                rc = hd_reg_bad_answer(errstr, errstr_size, "a list");
        if (!rc) {
                out->v = hd_calloc(json_array_size(resp), sizeof(char *));
                json_array_foreach(resp, i, v)
                        if (json_is_string(v))
                                out->v[out->n++] = hd_strdup(json_string_value(v));
        }
        json_decref(resp);
        return rc;
}

static int hd_reg_int_list(json_t *resp, int **versions, size_t *n)
{
        json_t *v;
        size_t i;

        *n = 0;
        *versions = hd_calloc(json_array_size(resp), sizeof(int));
        json_array_foreach(resp, i, v)
                if (json_is_integer(v))
                        (*versions)[(*n)++] = (int)json_integer_value(v);
        return 0;
}

int hd_registry_versions(hd_registry_t *r, const char *subject, int **versions, size_t *n,
                         char *errstr, size_t errstr_size)
{
        char *path = hd_reg_subject_path(subject, "/versions");
        json_t *resp = NULL;
        int rc = hd_reg_call(r, "GET", path, NULL, &resp, errstr, errstr_size);

        *versions = NULL;
        *n = 0;
        if (!rc && !json_is_array(resp))
                rc = hd_reg_bad_answer(errstr, errstr_size, "a list");
        if (!rc)
                hd_reg_int_list(resp, versions, n);
        json_decref(resp);
        free(path);
        return rc;
}

int hd_registry_get_version(hd_registry_t *r, const char *subject, int version,
                            char **schema_json, int32_t *id, int *version_out, char *errstr,
                            size_t errstr_size)
{
        char suffix[48], *path;
        json_t *resp = NULL;
        int rc;

        if (version < 0)
                snprintf(suffix, sizeof(suffix), "/versions/latest");
        else
                snprintf(suffix, sizeof(suffix), "/versions/%d", version);
        path = hd_reg_subject_path(subject, suffix);
        rc = hd_reg_call(r, "GET", path, NULL, &resp, errstr, errstr_size);
        if (!rc && !json_is_string(json_object_get(resp, "schema")))
                rc = hd_reg_bad_answer(errstr, errstr_size, "a schema");
        if (!rc) {
                if (schema_json)
                        *schema_json = hd_strdup(json_string_value(json_object_get(resp, "schema")));
                if (id)
                        *id = (int32_t)json_integer_value(json_object_get(resp, "id"));
                if (version_out)
                        *version_out = (int)json_integer_value(json_object_get(resp, "version"));
        }
        json_decref(resp);
        free(path);
        return rc;
}

static char *hd_reg_config_path(const char *subject)
{
        char *esc, *p;
        size_t n;

        if (!subject)
                return hd_strdup("/config");
        esc = curl_easy_escape(NULL, subject, 0);
        n = strlen(esc ? esc : "") + 16;
        p = hd_malloc(n);
        snprintf(p, n, "/config/%s", esc ? esc : "");
        curl_free(esc);
        return p;
}

int hd_registry_get_config(hd_registry_t *r, const char *subject, char **level,
                           char *errstr, size_t errstr_size)
{
        char *path = hd_reg_config_path(subject);
        json_t *resp = NULL;
        int rc = hd_reg_call(r, "GET", path, NULL, &resp, errstr, errstr_size);

        if (!rc && !json_is_string(json_object_get(resp, "compatibilityLevel")))
                rc = hd_reg_bad_answer(errstr, errstr_size, "a compatibilityLevel");
        if (!rc)
                *level = hd_strdup(json_string_value(json_object_get(resp, "compatibilityLevel")));
        json_decref(resp);
        free(path);
        return rc;
}

int hd_registry_set_config(hd_registry_t *r, const char *subject, const char *level,
                           char *errstr, size_t errstr_size)
{
        char *path = hd_reg_config_path(subject);
        json_t *body = json_pack("{s:s}", "compatibility", level), *resp = NULL;
        int rc = hd_reg_call(r, "PUT", path, body, &resp, errstr, errstr_size);

        json_decref(resp);
        json_decref(body);
        free(path);
        return rc;
}

int hd_registry_delete_subject(hd_registry_t *r, const char *subject, int permanent,
                               int **versions, size_t *n, char *errstr, size_t errstr_size)
{
        char *path = hd_reg_subject_path(subject, permanent ? "?permanent=true" : "");
        json_t *resp = NULL;
        int rc = hd_reg_call(r, "DELETE", path, NULL, &resp, errstr, errstr_size);

        if (versions) {
                *versions = NULL;
                *n = 0;
                if (!rc && json_is_array(resp))
                        hd_reg_int_list(resp, versions, n);
        }
        json_decref(resp);
        free(path);
        return rc;
}

int hd_registry_delete_version(hd_registry_t *r, const char *subject, int version,
                               int permanent, char *errstr, size_t errstr_size)
{
        char suffix[64], *path;
        json_t *resp = NULL;
        int rc;

        snprintf(suffix, sizeof(suffix), "/versions/%d%s", version,
                 permanent ? "?permanent=true" : "");
        path = hd_reg_subject_path(subject, suffix);
        rc = hd_reg_call(r, "DELETE", path, NULL, &resp, errstr, errstr_size);
        json_decref(resp);
        free(path);
        return rc;
}

/* The registry's "messages" (strings, or objects Confluent sometimes sends) joined. */
static char *hd_reg_join_messages(const json_t *msgs)
{
        size_t i, len = 0, size = 1;
        const json_t *m;
        char *out, *one;

        json_array_foreach(msgs, i, m) {
                one = json_is_string(m) ? hd_strdup(json_string_value(m))
                                        : json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY);
                size += strlen(one ? one : "") + 1;
                free(one);
        }
        out = hd_malloc(size);
        out[0] = '\0';
        json_array_foreach(msgs, i, m) {
                one = json_is_string(m) ? hd_strdup(json_string_value(m))
                                        : json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY);
                len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "\n" : "",
                                        one ? one : "");
                free(one);
        }
        return out;
}

int hd_registry_check(hd_registry_t *r, const char *subject, int version,
                      const char *schema_json, int *compatible, char **messages,
                      char *errstr, size_t errstr_size)
{
        char suffix[64], *esc = curl_easy_escape(NULL, subject, 0), *path;
        json_t *body = json_pack("{s:s}", "schema", schema_json), *resp = NULL;
        size_t n;
        int rc;

        if (version < 0)
                snprintf(suffix, sizeof(suffix), "/versions/latest?verbose=true");
        else if (version == 0)
                snprintf(suffix, sizeof(suffix), "/versions?verbose=true");
        else
                snprintf(suffix, sizeof(suffix), "/versions/%d?verbose=true", version);
        n = strlen(esc ? esc : "") + strlen(suffix) + 32;
        path = hd_malloc(n);
        snprintf(path, n, "/compatibility/subjects/%s%s", esc ? esc : "", suffix);
        curl_free(esc);
        rc = hd_reg_call(r, "POST", path, body, &resp, errstr, errstr_size);
        if (!rc && !json_is_boolean(json_object_get(resp, "is_compatible")))
                rc = hd_reg_bad_answer(errstr, errstr_size, "is_compatible");
        if (!rc) {
                *compatible = json_is_true(json_object_get(resp, "is_compatible"));
                if (messages)
                        *messages = hd_reg_join_messages(json_object_get(resp, "messages"));
        }
        json_decref(resp);
        json_decref(body);
        free(path);
        return rc;
}
