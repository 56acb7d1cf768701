/* hd_reg_http: see hd_reg_http.h. */
#include "hd_reg_http.h"
#include "hd_reg_internal.h"
#include "hd_log.h"
#include "hd_util.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_REG_MAX_BODY    (1024 * 1024)
#define HD_REG_MAX_SEGMENT 1024 /* bytes of one decoded path segment (a subject) */
#define HD_REG_CT          "application/vnd.schemaregistry.v1+json"

struct hd_reg_http {
        struct MHD_Daemon *d;
        hd_reg_store_t *st;
};

/* Per request: the raw path (MHD would decode %2F before we could split) and body. */
typedef struct hd_req {
        char *raw_path;
        int started;
        char *body;
        size_t len;
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
        char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        struct MHD_Response *r;
        enum MHD_Result ret;

        if (!text) { /* cannot happen with valid state; never crash on it */
                status = 500;
                text = hd_strdup("{\"error_code\":50001,\"message\":\"answer not representable\"}");
        }
        r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);

        MHD_add_response_header(r, "Content-Type", HD_REG_CT);
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        json_decref(j);
        return ret;
}

static enum MHD_Result hd_reply_raw(struct MHD_Connection *c, const char *text)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text ? text : ""),
                                                                 (void *)(text ? text : ""),
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
        if (*s < '0' || *s > '9')
                return -2; /* strtol would skip spaces and take a sign */
        v = strtol(s, &end, 10);
        return !*end && v >= 1 && v <= 2147483647L ? (int)v : -2;
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
        code = hd_reg_version(R->st, s, v, hd_arg_true(R->c, "deleted"), &out);
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

        if (R->nseg == 2 && !strcmp(R->seg[1], "types") && !strcmp(R->method, "GET"))
                return hd_reply(R->c, 200, json_pack("[s]", "AVRO"));
        if (R->nseg < 3 || R->nseg > 4 || strcmp(R->seg[1], "ids") || strcmp(R->method, "GET"))
                return hd_err(R->c, 404, "HTTP 404 Not Found");
        id = strtol(R->seg[2], &end, 10);
        if (!*R->seg[2] || *end || id < 1 || id > 2147483647L)
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

/* /compatibility/subjects/{s}/versions[/{v}] */
static enum MHD_Result hd_route_compat(hd_route_t *R)
{
        json_t *out = NULL, *body = NULL;
        enum MHD_Result ret = MHD_NO;
        const char *schema;
        int v;

        /* .../versions without a version: against every version the level names */
        if ((R->nseg != 4 && R->nseg != 5) || strcmp(R->seg[1], "subjects") ||
            strcmp(R->seg[3], "versions") || strcmp(R->method, "POST"))
                return hd_err(R->c, 404, "HTTP 404 Not Found");
        if (R->nseg == 4)
                v = 0;
        else if ((v = hd_parse_version(R->seg[4])) == -2)
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

/* Decodes %XX in place; the decoded length, or -1 on a bad escape. */
static long hd_pct_decode(char *s)
{
        char *o = s, *start = s;

        for (; *s; s++) {
                if (*s == '%') {
                        unsigned v;
                        if (!s[1] || !s[2] || sscanf(s + 1, "%2x", &v) != 1 ||
                            !strchr("0123456789abcdefABCDEF", s[1]) ||
                            !strchr("0123456789abcdefABCDEF", s[2]))
                                return -1;
                        *o++ = (char)v;
                        s += 2;
                } else {
                        *o++ = *s;
                }
        }
        *o = '\0';
        return (long)(o - start);
}

/* A decoded segment is usable as a subject: bounded, UTF-8, no control characters. */
static int hd_segment_ok(const char *s, size_t len)
{
        json_t *utf8;

        if (len > HD_REG_MAX_SEGMENT || len != strlen(s))
                return 0; /* too long, or it held a %00 */
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return 0;
        if (!(utf8 = json_stringn(s, len)))
                return 0;
        json_decref(utf8);
        return 1;
}

/*
 * Splits the raw path "/a/b%2Fc" into decoded segments {"a", "b/c"} in place:
 * 0, -1 (no such route) or -2 (a segment is not a valid subject).
 */
static int hd_split(char *path, hd_route_t *R)
{
        char *p = path + 1, *slash;
        long len;

        R->nseg = 0;
        if (path[0] != '/')
                return -1;
        while (*p) {
                if (R->nseg == (int)HD_ARRAY_SIZE(R->seg))
                        return -1;
                slash = strchr(p, '/');
                if (slash)
                        *slash = '\0';
                if (!*p || (len = hd_pct_decode(p)) < 0)
                        return -1; /* empty segment ("//") or bad escape */
                if (!hd_segment_ok(p, (size_t)len))
                        return -2;
                R->seg[R->nseg++] = p;
                if (!slash)
                        break;
                p = slash + 1; /* a trailing '/' ends the loop */
        }
        return 0;
}

/* Routes a complete request (store locked: one operation at a time). */
static enum MHD_Result hd_dispatch(hd_reg_http_t *h, hd_route_t *R, hd_req_t *req)
{
        json_t *out = NULL;
        enum MHD_Result ret;
        int r = hd_split(req->raw_path, R);

        if (r == -1)
                return hd_err(R->c, 404, "HTTP 404 Not Found");
        if (r == -2)
                return hd_err(R->c, HD_REG_INVALID_SUBJECT,
                              "The specified subject is not valid: at most 1024 bytes of "
                              "UTF-8 without control characters");
        R->body = req->body;
        hd_reg_store_lock(h->st);
        if (hd_reg_store_sync(h->st, &out))
                ret = hd_answer(R->c, HD_REG_STORE_ERROR, &out);
        else
                ret = hd_route(R);
        hd_reg_store_unlock(h->st);
        return ret;
}

/* First call for a request: refuse an announced oversized body before reading it. */
static enum MHD_Result hd_begin(struct MHD_Connection *c, hd_req_t *req)
{
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);

        req->started = 1;
        if (cl && strtoull(cl, NULL, 10) > HD_REG_MAX_BODY)
                return hd_err(c, 413, "Request body larger than 1048576 bytes");
        return MHD_YES;
}

static enum MHD_Result hd_handler(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
        hd_req_t *req = *con_cls;
        hd_route_t R = {.c = c, .st = ((hd_reg_http_t *)cls)->st, .method = method};

        (void)url, (void)version;
        if (!req || !req->raw_path)
                return MHD_NO;
        if (!req->started)
                return hd_begin(c, req);
        if (*upload_data_size) {
                if (req->len + *upload_data_size > HD_REG_MAX_BODY)
                        return MHD_NO; /* chunked and too large: drop the connection */
                req->body = hd_realloc(req->body, req->len + *upload_data_size + 1);
                memcpy(req->body + req->len, upload_data, *upload_data_size);
                req->len += *upload_data_size;
                req->body[req->len] = '\0';
                *upload_data_size = 0;
                return MHD_YES;
        }
        return hd_dispatch(cls, &R, req);
}

/* MHD_OPTION_URI_LOG_CALLBACK: sees the URI before MHD decodes it. */
static void *hd_uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
        hd_req_t *req = hd_calloc(1, sizeof(*req));
        size_t n = strcspn(uri, "?#");

        (void)cls, (void)c;
        req->raw_path = hd_strndup(uri, n);
        return req;
}

static void hd_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        hd_req_t *req = *con_cls;

        (void)cls, (void)c, (void)toe;
        if (req) {
                free(req->raw_path);
                free(req->body);
                free(req);
        }
        *con_cls = NULL;
}

static void hd_mhd_log(void *cls, const char *fmt, va_list ap)
{
        char msg[512];
        size_t n;

        (void)cls;
        vsnprintf(msg, sizeof(msg), fmt, ap);
        n = strlen(msg);
        while (n && msg[n - 1] == '\n')
                msg[--n] = '\0';
        hd_logkv(HD_LOG_WARN, "registry", msg, "source", "libmicrohttpd", NULL);
}

/* Resolves host (name, IPv4 or IPv6 literal) for listening on port. */
static int hd_resolve(const char *host, int port, struct sockaddr_storage *ss, char *errstr,
                      size_t errstr_size)
{
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        char portstr[16];
        int rc;

        snprintf(portstr, sizeof(portstr), "%d", port);
        if ((rc = getaddrinfo(host, portstr, &hints, &res)) || !res)
                return hd_seterr(errstr, errstr_size, "listen address \"%s\": %s", host,
                                 rc ? gai_strerror(rc) : "no address");
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        freeaddrinfo(res);
        return 0;
}

hd_reg_http_t *hd_reg_http_start(hd_reg_store_t *st, const char *host, int port,
                                 int *bound_port, char *errstr, size_t errstr_size)
{
        struct sockaddr_storage ss = {0};
        const union MHD_DaemonInfo *info;
        hd_reg_http_t *h;
        unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

        if (hd_resolve(host, port, &ss, errstr, errstr_size))
                return NULL;
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        h = hd_calloc(1, sizeof(*h));
        h->st = st;
        /* A small pool: a slow client cannot hold up the others. */
        h->d = MHD_start_daemon(flags, 0, NULL, NULL, hd_handler, h,
                                MHD_OPTION_EXTERNAL_LOGGER, hd_mhd_log, NULL,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                MHD_OPTION_THREAD_POOL_SIZE, 4u,
                                MHD_OPTION_URI_LOG_CALLBACK, hd_uri_cb, NULL,
                                MHD_OPTION_NOTIFY_COMPLETED, hd_completed, NULL,
                                MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                                MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_END);
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
