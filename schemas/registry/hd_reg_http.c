/* hd_reg_http: see hd_reg_http.h. */
#include "hd_reg_http.h"
#include "hd_reg_internal.h"
#include "hd_util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#define HD_REG_MAX_BODY (1024 * 1024)
#define HD_REG_CT       "application/vnd.schemaregistry.v1+json"

struct hd_reg_http {
        struct MHD_Daemon *d;
        hd_reg_store_t *st;
};

typedef struct hd_req {
        char *body;
        size_t len;
        int too_large;
} hd_req_t;

typedef struct hd_route {
        struct MHD_Connection *c;
        hd_reg_store_t *st;
        const char *method;
        char *seg[8];
        int nseg;
        const char *body;
} hd_route_t;

static enum MHD_Result hd_reply(struct MHD_Connection *c, unsigned status, json_t *j)
{
        char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text,
                                                                 MHD_RESPMEM_MUST_FREE);
        enum MHD_Result ret;

        MHD_add_response_header(r, "Content-Type", HD_REG_CT);
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        json_decref(j);
        return ret;
}

static enum MHD_Result hd_reply_raw(struct MHD_Connection *c, const char *text)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                                 MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        MHD_add_response_header(r, "Content-Type", "application/json");
        ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ret;
}

/*
 * Store result -> HTTP: Confluent's 5-digit codes carry the status in their head.
 * out is passed by address so `hd_answer(c, op(..., &out), &out)` reads it after
 * op has run (argument evaluation order is unspecified).
 */
static enum MHD_Result hd_answer(struct MHD_Connection *c, int code, json_t **out)
{
        unsigned status = code == 0 ? 200 : code >= 10000 ? (unsigned)code / 100 : (unsigned)code;
        return hd_reply(c, status, *out);
}

static enum MHD_Result hd_err(struct MHD_Connection *c, int code, const char *msg)
{
        json_t *out;
        hd_reg_error(&out, code, "%s", msg);
        return hd_answer(c, code, &out);
}

static const char *hd_arg(struct MHD_Connection *c, const char *name)
{
        return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static int hd_arg_true(struct MHD_Connection *c, const char *name)
{
        const char *v = hd_arg(c, name);
        return v && !strcmp(v, "true");
}

/* "latest" / "-1" -> -1; 1..2^31-1 -> itself; else -2 (invalid). */
static int hd_parse_version(const char *s)
{
        char *end;
        long v;

        if (!strcmp(s, "latest") || !strcmp(s, "-1"))
                return -1;
        v = strtol(s, &end, 10);
        return *s && !*end && v >= 1 && v <= 2147483647L ? (int)v : -2;
}

static enum MHD_Result hd_bad_version(struct MHD_Connection *c, const char *s)
{
        json_t *out;
        hd_reg_error(&out, HD_REG_INVALID_VERSION,
                     "The specified version '%s' is not a valid version id. Allowed values "
                     "are between [1, 2^31-1] and the string \"latest\"", s);
        return hd_answer(c, HD_REG_INVALID_VERSION, &out);
}

/* The "schema" of a request body, or NULL after answering the error. */
static const char *hd_body_schema(hd_route_t *R, json_t **body, enum MHD_Result *ret)
{
        const char *type;
        json_t *refs;

        *body = R->body ? json_loads(R->body, 0, NULL) : NULL;
        if (!json_is_string(json_object_get(*body, "schema"))) {
                *ret = hd_err(R->c, HD_REG_INVALID_SCHEMA,
                              "Either the input schema or one its references is invalid: "
                              "the body must be {\"schema\": \"...\"}");
                return NULL;
        }
        type = json_string_value(json_object_get(*body, "schemaType"));
        refs = json_object_get(*body, "references");
        if ((type && strcmp(type, "AVRO")) || (json_is_array(refs) && json_array_size(refs))) {
                *ret = hd_err(R->c, HD_REG_INVALID_SCHEMA,
                              "herald-registry supports AVRO schemas without references only");
                return NULL;
        }
        return json_string_value(json_object_get(*body, "schema"));
}

/* /subjects/{s}[/versions[/{v}[/schema]]] */
static enum MHD_Result hd_route_subjects(hd_route_t *R)
{
        const char *m = R->method, *s = R->nseg > 1 ? R->seg[1] : NULL;
        json_t *out = NULL, *body = NULL;
        enum MHD_Result ret = MHD_NO;
        const char *schema;
        int code, v;

        if (R->nseg == 1 && !strcmp(m, "GET"))
                return hd_answer(R->c, hd_reg_subjects(R->st, hd_arg_true(R->c, "deleted"), &out), &out);
        if (R->nseg == 2 && !strcmp(m, "POST")) {
                if (!(schema = hd_body_schema(R, &body, &ret)))
                        goto done;
                code = hd_reg_lookup(R->st, s, schema, hd_arg_true(R->c, "deleted"), &out);
                ret = hd_answer(R->c, code, &out);
                goto done;
        }
        if (R->nseg == 2 && !strcmp(m, "DELETE"))
                return hd_answer(R->c, hd_reg_delete_subject(R->st, s, hd_arg_true(R->c, "permanent"), &out), &out);
        if (R->nseg < 3 || strcmp(R->seg[2], "versions"))
                return hd_err(R->c, 404, "HTTP 404 Not Found");
        if (R->nseg == 3 && !strcmp(m, "GET"))
                return hd_answer(R->c, hd_reg_versions(R->st, s, hd_arg_true(R->c, "deleted"), &out), &out);
        if (R->nseg == 3 && !strcmp(m, "POST")) {
                if (!(schema = hd_body_schema(R, &body, &ret)))
                        goto done;
                ret = hd_answer(R->c, hd_reg_register(R->st, s, schema, &out), &out);
                goto done;
        }
        if (R->nseg < 4 || R->nseg > 5)
                return hd_err(R->c, 404, "HTTP 404 Not Found");
        if ((v = hd_parse_version(R->seg[3])) == -2)
                return hd_bad_version(R->c, R->seg[3]);
        if (!strcmp(m, "DELETE") && R->nseg == 4)
                return hd_answer(R->c, hd_reg_delete_version(R->st, s, v, hd_arg_true(R->c, "permanent"), &out), &out);
        if (strcmp(m, "GET"))
                return hd_err(R->c, 405, "HTTP 405 Method Not Allowed");
        code = hd_reg_version(R->st, s, v, &out);
        if (code || R->nseg == 4)
                return hd_answer(R->c, code, &out);
        if (strcmp(R->seg[4], "schema")) {
                json_decref(out);
                return hd_err(R->c, 404, "HTTP 404 Not Found");
        }
        ret = hd_reply_raw(R->c, json_string_value(json_object_get(out, "schema")));
        json_decref(out);
done:
        json_decref(body);
        return ret;
}

/* /schemas/ids/{id}[/versions|/schema] */
static enum MHD_Result hd_route_schemas(hd_route_t *R)
{
        json_t *out = NULL;
        char *end;
        long id;
        int code;

        if (R->nseg < 3 || R->nseg > 4 || strcmp(R->seg[1], "ids") || strcmp(R->method, "GET"))
                return hd_err(R->c, 404, "HTTP 404 Not Found");
        id = strtol(R->seg[2], &end, 10);
        if (*end || id < 1 || id > 2147483647L)
                return hd_err(R->c, HD_REG_SCHEMA_NOT_FOUND, "Schema not found");
        if (R->nseg == 4 && !strcmp(R->seg[3], "versions"))
                return hd_answer(R->c, hd_reg_id_versions(R->st, (int)id, &out), &out);
        code = hd_reg_schema_by_id(R->st, (int)id, &out);
        if (R->nseg == 3 || code)
                return hd_answer(R->c, code, &out);
        if (strcmp(R->seg[3], "schema")) {
                json_decref(out);
                return hd_err(R->c, 404, "HTTP 404 Not Found");
        }
        {
                enum MHD_Result ret = hd_reply_raw(R->c, json_string_value(json_object_get(out, "schema")));
                json_decref(out);
                return ret;
        }
}

/* /config[/{s}] */
static enum MHD_Result hd_route_config(hd_route_t *R)
{
        const char *s = R->nseg == 2 ? R->seg[1] : NULL;
        json_t *out = NULL, *body;
        const char *level;
        enum MHD_Result ret;

        if (R->nseg > 2)
                return hd_err(R->c, 404, "HTTP 404 Not Found");
        if (!strcmp(R->method, "GET"))
                return hd_answer(R->c, hd_reg_get_config(R->st, s, hd_arg_true(R->c, "defaultToGlobal"), &out), &out);
        if (!strcmp(R->method, "DELETE") && s)
                return hd_answer(R->c, hd_reg_delete_config(R->st, s, &out), &out);
        if (strcmp(R->method, "PUT"))
                return hd_err(R->c, 405, "HTTP 405 Method Not Allowed");
        body = R->body ? json_loads(R->body, 0, NULL) : NULL;
        level = json_string_value(json_object_get(body, "compatibility"));
        if (!level)
                ret = hd_err(R->c, HD_REG_INVALID_COMPAT,
                             "Invalid compatibility level: the body must be "
                             "{\"compatibility\": \"LEVEL\"}");
        else
                ret = hd_answer(R->c, hd_reg_set_config(R->st, s, level, &out), &out);
        json_decref(body);
        return ret;
}

/* /compatibility/subjects/{s}/versions/{v} */
static enum MHD_Result hd_route_compat(hd_route_t *R)
{
        json_t *out = NULL, *body = NULL;
        enum MHD_Result ret = MHD_NO;
        const char *schema;
        int v;

        if (R->nseg != 5 || strcmp(R->seg[1], "subjects") || strcmp(R->seg[3], "versions") ||
            strcmp(R->method, "POST"))
                return hd_err(R->c, 404, "HTTP 404 Not Found");
        if ((v = hd_parse_version(R->seg[4])) == -2)
                return hd_bad_version(R->c, R->seg[4]);
        if ((schema = hd_body_schema(R, &body, &ret)))
                ret = hd_answer(R->c, hd_reg_compatibility(R->st, R->seg[2], v, schema,
                                                           hd_arg_true(R->c, "verbose"), &out),
                                &out);
        json_decref(body);
        return ret;
}

static enum MHD_Result hd_route(hd_route_t *R)
{
        if (R->nseg == 0)
                return hd_reply(R->c, 200, json_object());
        if (!strcmp(R->seg[0], "subjects"))
                return hd_route_subjects(R);
        if (!strcmp(R->seg[0], "schemas"))
                return hd_route_schemas(R);
        if (!strcmp(R->seg[0], "config"))
                return hd_route_config(R);
        if (!strcmp(R->seg[0], "compatibility"))
                return hd_route_compat(R);
        return hd_err(R->c, 404, "HTTP 404 Not Found");
}

/* Splits "/a/b/c" into segments (in place); -1 when there are too many or one is empty. */
static int hd_split(char *path, hd_route_t *R)
{
        char *save = NULL;

        R->nseg = 0;
        for (char *t = strtok_r(path, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
                if (R->nseg == (int)HD_ARRAY_SIZE(R->seg) || strlen(t) > 512)
                        return -1;
                R->seg[R->nseg++] = t;
        }
        return 0;
}

static enum MHD_Result hd_handler(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
        hd_reg_http_t *h = cls;
        hd_req_t *req = *con_cls;
        hd_route_t R = {.c = c, .st = h->st, .method = method};
        char path[4096];
        enum MHD_Result ret;

        (void)version;
        if (!req) {
                *con_cls = hd_calloc(1, sizeof(hd_req_t));
                return MHD_YES;
        }
        if (*upload_data_size) {
                if (req->len + *upload_data_size > HD_REG_MAX_BODY) {
                        req->too_large = 1;
                } else {
                        req->body = hd_realloc(req->body, req->len + *upload_data_size + 1);
                        memcpy(req->body + req->len, upload_data, *upload_data_size);
                        req->len += *upload_data_size;
                        req->body[req->len] = '\0';
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (req->too_large)
                return hd_err(c, 413, "request body larger than 1 MiB");
        if (strlen(url) >= sizeof(path))
                return hd_err(c, 414, "URL too long");
        hd_strlcpy(path, url, sizeof(path));
        if (hd_split(path, &R))
                return hd_err(c, 404, "HTTP 404 Not Found");
        R.body = req->body;
        pthread_mutex_lock(&h->st->lock);
        ret = hd_route(&R);
        pthread_mutex_unlock(&h->st->lock);
        return ret;
}

static void hd_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        hd_req_t *req = *con_cls;

        (void)cls, (void)c, (void)toe;
        if (req) {
                free(req->body);
                free(req);
        }
        *con_cls = NULL;
}

hd_reg_http_t *hd_reg_http_start(hd_reg_store_t *st, const char *host, int port,
                                 int *bound_port, char *errstr, size_t errstr_size)
{
        hd_reg_http_t *h = hd_calloc(1, sizeof(*h));
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        const union MHD_DaemonInfo *info;

        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
                free(h);
                hd_seterr(errstr, errstr_size, "listen address \"%s\" is not an IPv4 address",
                          host);
                return NULL;
        }
        h->st = st;
        h->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                hd_handler, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                MHD_OPTION_NOTIFY_COMPLETED, hd_completed, NULL,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_END);
        if (!h->d) {
                free(h);
                hd_seterr(errstr, errstr_size, "cannot listen on %s:%d", host, port);
                return NULL;
        }
        info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
        *bound_port = info ? info->port : port;
        return h;
}

void hd_reg_http_stop(hd_reg_http_t *h)
{
        if (!h)
                return;
        MHD_stop_daemon(h->d);
        free(h);
}
