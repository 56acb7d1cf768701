/*
 * hd_config: loads herald.conf and validates every setting against the table
 * below. The table is the single list of what a config may contain; tests and the
 * example config are checked against it.
 */
#include "hd_compat.h"
#include "hd_config_internal.h"
#include "hd_retry.h"
#include "hd_ssrf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum {
        HD_CT_STR,
        HD_CT_INT,
        HD_CT_BOOL,
        HD_CT_STRLIST,
        HD_CT_SECRET, /* string; also accepted as NAME_env / NAME_file */
} hd_ctype_t;

typedef int(hd_ccheck_fn)(const char *v, char *errstr, size_t errstr_size);

typedef struct hd_cspec {
        const char *path;
        hd_ctype_t type;
        size_t off;
        long long min, max;
        const char *def; /* default, as text; NULL = unset */
        hd_ccheck_fn *check;
} hd_cspec_t;

static hd_ccheck_fn hd_check_topic, hd_check_url, hd_check_listen, hd_check_listen_opt, hd_check_level,
        hd_check_compat, hd_check_group, hd_check_pattern, hd_check_schedule, hd_check_cidr;

#define OFF(f) offsetof(hd_config_t, f)
static const hd_cspec_t hd_cspecs[] = {
        {"log.level", HD_CT_STR, 0, 0, 0, "info", hd_check_level},
        {"topics.ordered", HD_CT_STR, OFF(topics.ordered), 0, 0, "billing.events.ordered",
         hd_check_topic},
        {"topics.unordered", HD_CT_STR, OFF(topics.unordered), 0, 0,
         "billing.events.unordered", hd_check_topic},
        {"topics.subscriptions", HD_CT_STR, OFF(topics.subscriptions), 0, 0,
         "herald.subscriptions", hd_check_topic},
        {"topics.schemas", HD_CT_STR, OFF(topics.schemas), 0, 0, "_schemas", hd_check_topic},
        {"topics.ordered_partitions", HD_CT_INT, OFF(topics.ordered_partitions), 1, 10000,
         "6", NULL},
        {"topics.unordered_partitions", HD_CT_INT, OFF(topics.unordered_partitions), 1,
         10000, "6", NULL},
        {"topics.dlq_partitions", HD_CT_INT, OFF(topics.dlq_partitions), 1, 10000, "3",
         NULL},
        {"registry.urls", HD_CT_STRLIST, OFF(registry.urls), 1, 16, NULL, hd_check_url},
        {"registry.timeout_ms", HD_CT_INT, OFF(registry.timeout_ms), 100, 120000, "5000",
         NULL},
        {"registry.username", HD_CT_STR, OFF(registry.username), 0, 0, NULL, NULL},
        {"registry.password", HD_CT_SECRET, OFF(registry.password), 0, 0, NULL, NULL},
        {"registry.ca_file", HD_CT_STR, OFF(registry.ca_file), 0, 0, NULL, NULL},
        {"registry.auto_register", HD_CT_BOOL, OFF(registry.auto_register), 0, 1, "false",
         NULL},
        {"registry_server.listen", HD_CT_STR, OFF(registry_server.listen), 0, 0,
         "127.0.0.1:8081", hd_check_listen},
        {"registry_server.default_compatibility", HD_CT_STR,
         OFF(registry_server.default_compatibility), 0, 0, "BACKWARD", hd_check_compat},
        {"serde.max_message_bytes", HD_CT_INT, OFF(serde.max_message_bytes), 1024,
         16 * 1024 * 1024, "1048576", NULL},
        {"producer.in_order", HD_CT_STRLIST, OFF(producer.in_order), 0, 1000, NULL,
         hd_check_pattern},
        {"producer.out_of_order", HD_CT_STRLIST, OFF(producer.out_of_order), 0, 1000, NULL,
         hd_check_pattern},
        {"webhook.group", HD_CT_STR, OFF(webhook.group), 0, 0, "herald-webhookd",
         hd_check_group},
        {"webhook.workers", HD_CT_INT, OFF(webhook.workers), 1, 256, "8", NULL},
        {"webhook.max_in_flight", HD_CT_INT, OFF(webhook.max_in_flight), 1, 100000, "256",
         NULL},
        {"webhook.window", HD_CT_INT, OFF(webhook.window), 1, 1000000, "1000", NULL},
        {"webhook.async", HD_CT_BOOL, OFF(webhook.async), 0, 1, "true", NULL},
        {"webhook.retry_schedule", HD_CT_STR, OFF(webhook.retry_schedule), 0, 0,
         "0s,5s,5m,30m,2h,5h,10h,10h", hd_check_schedule},
        {"webhook.commit_interval_ms", HD_CT_INT, OFF(webhook.commit_interval_ms), 10, 60000,
         "500", NULL},
        {"webhook.revoke_timeout_ms", HD_CT_INT, OFF(webhook.revoke_timeout_ms), 0, 600000,
         "10000", NULL},
        {"webhook.metrics_listen", HD_CT_STR, OFF(webhook.metrics_listen), 0, 0,
         "127.0.0.1:9464", hd_check_listen_opt},
        {"webhook.tls.ca_file", HD_CT_STR, OFF(webhook.ca_file), 0, 0, NULL, NULL},
        {"webhook.connect_to", HD_CT_STRLIST, OFF(webhook.connect_to), 0, 64, NULL, NULL},
        {"webhook.allow_cidrs", HD_CT_STRLIST, OFF(webhook.allow_cidrs), 0, 64, NULL,
         hd_check_cidr},
        {"email.group", HD_CT_STR, OFF(email.group), 0, 0, "herald-maild", hd_check_group},
        {"email.workers", HD_CT_INT, OFF(email.workers), 1, 256, "8", NULL},
        {"email.max_in_flight", HD_CT_INT, OFF(email.max_in_flight), 1, 100000, "64", NULL},
        {"email.window", HD_CT_INT, OFF(email.window), 1, 1000000, "1000", NULL},
        {"email.retry_schedule", HD_CT_STR, OFF(email.retry_schedule), 0, 0,
         "0s,1m,5m,30m,2h,5h,10h,10h", hd_check_schedule},
        {"email.commit_interval_ms", HD_CT_INT, OFF(email.commit_interval_ms), 10, 60000,
         "500", NULL},
        {"email.revoke_timeout_ms", HD_CT_INT, OFF(email.revoke_timeout_ms), 0, 600000,
         "10000", NULL},
        {"email.metrics_listen", HD_CT_STR, OFF(email.metrics_listen), 0, 0,
         "127.0.0.1:9465", hd_check_listen_opt},
        {"email.tls.ca_file", HD_CT_STR, OFF(email.ca_file), 0, 0, NULL, NULL},
        {"dev.brokers", HD_CT_INT, OFF(dev.brokers), 1, 9, "3", NULL},
        {"dev.state_dir", HD_CT_STR, OFF(dev.state_dir), 0, 0, ".state/dev", NULL},
};
#undef OFF

/* Settings that are groups; "kafka" is the librdkafka passthrough. */
static const char *const hd_cgroups[] = {"log", "topics", "registry", "registry_server",
                                         "serde", "producer", "webhook", "webhook.tls", "email",
                                         "email.tls", "dev",
                                         "kafka"};


int hd_cload_err(hd_cload_t *L, int line, const char *path, const char *fmt, ...)
{
        char problem[HD_ERRSTR_SIZE];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(problem, sizeof(problem), fmt, ap);
        va_end(ap);
        return hd_seterr(L->errstr, L->errstr_size, "%s:%d: %s: %s", L->file, line, path,
                         problem);
}

/* --- value checks ------------------------------------------------------------ */

static int hd_check_topic(const char *v, char *errstr, size_t errstr_size)
{
        size_t n = strlen(v);

        if (n == 0 || n > 249)
                return hd_seterr(errstr, errstr_size,
                                 "topic name must be 1 to 249 characters");
        if (!strcmp(v, ".") || !strcmp(v, ".."))
                return hd_seterr(errstr, errstr_size, "\"%s\" is not a valid topic name",
                                 v);
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)v[i]) && !strchr("._-", v[i]))
                        return hd_seterr(errstr, errstr_size,
                                         "invalid character '%c' in topic name (allowed: "
                                         "letters, digits, '.', '_', '-')",
                                         v[i]);
        return 0;
}

static int hd_check_group(const char *v, char *errstr, size_t errstr_size)
{
        if (hd_check_topic(v, errstr, errstr_size))
                return hd_seterr(errstr, errstr_size,
                                 "group id must be 1 to 249 letters, digits, '.', '_', "
                                 "'-' (it names the DLQ topic herald.<group>.dlq)");
        return 0;
}

static int hd_check_schedule(const char *v, char *errstr, size_t errstr_size)
{
        hd_retry_schedule_t s;
        return hd_retry_parse(v, &s, errstr, errstr_size);
}

static int hd_check_cidr(const char *v, char *errstr, size_t errstr_size)
{
        hd_cidr_t c;
        return hd_cidr_parse(v, &c, errstr, errstr_size);
}

/* Event-type pattern: an exact type name or "prefix.*" (names are [a-z0-9_.]). */
static int hd_check_pattern(const char *v, char *errstr, size_t errstr_size)
{
        size_t n = strlen(v), stem = n >= 2 && !strcmp(v + n - 2, ".*") ? n - 2 : n;

        if (stem == 0 || n > 200)
                return hd_seterr(errstr, errstr_size,
                                 "\"%s\" is not an event-type pattern (a type name or "
                                 "\"prefix.*\")", v);
        for (size_t i = 0; i < stem; i++)
                if (!islower((unsigned char)v[i]) && !isdigit((unsigned char)v[i]) &&
                    !strchr("._", v[i]))
                        return hd_seterr(errstr, errstr_size,
                                         "\"%s\" is not an event-type pattern (a type name "
                                         "or \"prefix.*\")", v);
        return 0;
}

static int hd_check_url(const char *v, char *errstr, size_t errstr_size)
{
        if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
                return hd_seterr(errstr, errstr_size,
                                 "\"%s\" is not an http:// or https:// URL", v);
        if (strlen(v) > 2048)
                return hd_seterr(errstr, errstr_size, "URL longer than 2048 characters");
        for (const char *p = v; *p; p++)
                if ((unsigned char)*p <= ' ')
                        return hd_seterr(errstr, errstr_size,
                                         "URL contains whitespace or control characters");
        return 0;
}

static int hd_check_listen(const char *v, char *errstr, size_t errstr_size)
{
        const char *colon = strrchr(v, ':');
        char *end;
        long port;

        if (!colon || colon == v)
                return hd_seterr(errstr, errstr_size, "expected HOST:PORT, got \"%s\"", v);
        port = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || port < 0 || port > 65535)
                return hd_seterr(errstr, errstr_size,
                                 "port must be a number from 0 to 65535, got \"%s\"",
                                 colon + 1);
        return 0;
}

/* An optional listener: "" turns it off. */
static int hd_check_listen_opt(const char *v, char *errstr, size_t errstr_size)
{
        return *v ? hd_check_listen(v, errstr, errstr_size) : 0;
}

static int hd_check_level(const char *v, char *errstr, size_t errstr_size)
{
        if (hd_log_level_parse(v) < 0)
                return hd_seterr(errstr, errstr_size,
                                 "unknown log level \"%s\" (debug, info, warn, error, off)",
                                 v);
        return 0;
}

static int hd_check_compat(const char *v, char *errstr, size_t errstr_size)
{
        hd_compat_level_t level;

        if (hd_compat_level_parse(v, &level))
                return hd_seterr(errstr, errstr_size,
                                 "unknown compatibility level \"%s\" (NONE, BACKWARD, "
                                 "BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL or "
                                 "FULL_TRANSITIVE)", v);
        return 0;
}

/* --- storing ------------------------------------------------------------------ */

const char *hd_cload_type_name(int t)
{
        switch (t) {
        case CONFIG_TYPE_GROUP: return "a group";
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64: return "an integer";
        case CONFIG_TYPE_FLOAT: return "a number";
        case CONFIG_TYPE_STRING: return "a string";
        case CONFIG_TYPE_BOOL: return "a boolean";
        case CONFIG_TYPE_ARRAY: return "an array";
        case CONFIG_TYPE_LIST: return "a list";
        default: return "nothing";
        }
}

static char **hd_cfield_str(hd_config_t *cfg, const hd_cspec_t *sp)
{
        return (char **)((char *)cfg + sp->off);
}

static int *hd_cfield_int(hd_config_t *cfg, const hd_cspec_t *sp)
{
        return (int *)((char *)cfg + sp->off);
}

/* Stores a textual value (a default or a string setting) after checking it. */
static int hd_cstore_text(hd_cload_t *L, const hd_cspec_t *sp, const char *v, int line)
{
        char err[HD_ERRSTR_SIZE];

        if (sp->check && sp->check(v, err, sizeof(err)))
                return hd_cload_err(L, line, sp->path, "%s", err);
        if (!strcmp(sp->path, "log.level")) {
                L->cfg->log_level = (hd_log_level_t)hd_log_level_parse(v);
                return 0;
        }
        switch (sp->type) {
        case HD_CT_INT:
                *hd_cfield_int(L->cfg, sp) = atoi(v);
                return 0;
        case HD_CT_BOOL:
                *hd_cfield_int(L->cfg, sp) = !strcmp(v, "true");
                return 0;
        default:
                free(*hd_cfield_str(L->cfg, sp));
                *hd_cfield_str(L->cfg, sp) = hd_strdup(v);
                return 0;
        }
}

/*
 * libconfig 1.5 parses `x = 4294967302;` as 6: the literal is read again from the
 * text of its line (name, '=' or ':', number) so an out-of-range value is reported
 * instead of silently wrapping. Falls back to libconfig's value when the literal
 * cannot be found (e.g. a comment between name and value).
 */
long long hd_cload_int_value(hd_cload_t *L, config_setting_t *s)
{
        long long v = config_setting_get_int64(s);
        const char *name = config_setting_name(s), *p = L->text;
        int line = config_setting_source_line(s);
        size_t n;

        if (config_setting_type(s) != CONFIG_TYPE_INT || !p || !name)
                return v;
        for (int l = 1; p && l < line; l++)
                if ((p = strchr(p, '\n')))
                        p++;
        n = strlen(name);
        for (const char *q = p; q && (q = strstr(q, name)); q += n) {
                const char *r = q + n, *eol = strchr(p, '\n');
                char *end;
                long long lit;
                if (eol && q > eol)
                        break;
                if (q > p && (isalnum((unsigned char)q[-1]) || q[-1] == '_'))
                        continue;
                while (*r == ' ' || *r == '\t')
                        r++;
                if (*r != '=' && *r != ':')
                        continue;
                r++;
                while (*r == ' ' || *r == '\t')
                        r++;
                errno = 0;
                lit = strtoll(r, &end, 0);
                if (end != r && (errno == ERANGE || lit != v))
                        return errno == ERANGE ? (lit < 0 ? LLONG_MIN : LLONG_MAX) : lit;
                break;
        }
        return v;
}

static int hd_cstore_int(hd_cload_t *L, const hd_cspec_t *sp, config_setting_t *s)
{
        int line = config_setting_source_line(s);
        long long v;

        if (config_setting_type(s) != CONFIG_TYPE_INT &&
            config_setting_type(s) != CONFIG_TYPE_INT64)
                return hd_cload_err(L, line, sp->path, "expected an integer, got %s",
                               hd_cload_type_name(config_setting_type(s)));
        v = hd_cload_int_value(L, s);
        if (v < sp->min || v > sp->max)
                return hd_cload_err(L, line, sp->path, "must be between %lld and %lld, got %lld",
                               sp->min, sp->max, v);
        *hd_cfield_int(L->cfg, sp) = (int)v;
        return 0;
}

static int hd_cstore_list(hd_cload_t *L, const hd_cspec_t *sp, config_setting_t *s)
{
        hd_strlist_t *sl = (hd_strlist_t *)((char *)L->cfg + sp->off);
        int line = config_setting_source_line(s), n;
        char err[HD_ERRSTR_SIZE];

        if (config_setting_type(s) == CONFIG_TYPE_STRING) /* one value is a list of one */
                n = 1;
        else if (config_setting_is_aggregate(s) && config_setting_type(s) != CONFIG_TYPE_GROUP)
                n = config_setting_length(s);
        else
                return hd_cload_err(L, line, sp->path, "expected a list of strings, got %s",
                               hd_cload_type_name(config_setting_type(s)));
        if (n < sp->min || n > sp->max)
                return hd_cload_err(L, line, sp->path, "must have %lld to %lld entries, got %d",
                               sp->min, sp->max, n);
        for (int i = 0; i < n; i++) {
                config_setting_t *e = config_setting_type(s) == CONFIG_TYPE_STRING
                                              ? s
                                              : config_setting_get_elem(s, (unsigned)i);
                const char *v = config_setting_get_string(e);
                if (!v)
                        return hd_cload_err(L, line, sp->path, "entry %d: expected a string", i + 1);
                if (sp->check && sp->check(v, err, sizeof(err)))
                        return hd_cload_err(L, line, sp->path, "entry %d: %s", i + 1, err);
        }
        for (size_t i = 0; i < sl->n; i++)
                free(sl->v[i]);
        free(sl->v);
        sl->v = hd_calloc((size_t)n, sizeof(char *));
        sl->n = (size_t)n;
        for (int i = 0; i < n; i++) {
                config_setting_t *e = config_setting_type(s) == CONFIG_TYPE_STRING
                                              ? s
                                              : config_setting_get_elem(s, (unsigned)i);
                sl->v[i] = hd_strdup(config_setting_get_string(e));
        }
        return 0;
}

/* Resolves NAME, NAME_env or NAME_file (suffix says which) into the secret's value. */
int hd_cload_secret(hd_cload_t *L, const char *path, const char *suffix, const char *v,
                    int line, char **out)
{
        char err[HD_ERRSTR_SIZE];

        if (!suffix) {
                *out = hd_strdup(v);
        } else if (!strcmp(suffix, "_env")) {
                const char *e = getenv(v);
                if (!e || !*e)
                        return hd_cload_err(L, line, path, "environment variable %s is not set",
                                       v);
                *out = hd_strdup(e);
        } else {
                size_t len;
                char *buf = hd_read_file(v, 64 * 1024, &len, err, sizeof(err));
                if (!buf)
                        return hd_cload_err(L, line, path, "cannot read secret file: %s", err);
                while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
                        buf[--len] = '\0';
                *out = buf;
        }
        hd_log_add_secret(*out);
        return 0;
}

static int hd_cstore_secret(hd_cload_t *L, const hd_cspec_t *sp, const char *suffix,
                            config_setting_t *s, const char *path)
{
        int line = config_setting_source_line(s);
        const char *v = config_setting_get_string(s);
        char **field = hd_cfield_str(L->cfg, sp);

        if (!v)
                return hd_cload_err(L, line, path, "expected a string, got %s",
                               hd_cload_type_name(config_setting_type(s)));
        if (*field)
                return hd_cload_err(L, line, path,
                               "set only one of %s, %s_env and %s_file", sp->path, sp->path,
                               sp->path);
        return hd_cload_secret(L, path, suffix, v, line, field);
}

static int hd_cstore(hd_cload_t *L, const hd_cspec_t *sp, const char *suffix,
                     config_setting_t *s, const char *path)
{
        int line = config_setting_source_line(s), t = config_setting_type(s);

        switch (sp->type) {
        case HD_CT_INT:
                return hd_cstore_int(L, sp, s);
        case HD_CT_STRLIST:
                return hd_cstore_list(L, sp, s);
        case HD_CT_SECRET:
                return hd_cstore_secret(L, sp, suffix, s, path);
        case HD_CT_BOOL:
                if (t != CONFIG_TYPE_BOOL)
                        return hd_cload_err(L, line, path, "expected a boolean, got %s",
                                       hd_cload_type_name(t));
                return hd_cstore_text(L, sp, config_setting_get_bool(s) ? "true" : "false",
                                      line);
        case HD_CT_STR:
        default:
                if (t != CONFIG_TYPE_STRING)
                        return hd_cload_err(L, line, path, "expected a string, got %s",
                                       hd_cload_type_name(t));
                return hd_cstore_text(L, sp, config_setting_get_string(s), line);
        }
}

/* --- walking the file ------------------------------------------------------------ */

/* Finds the spec for path; a secret also matches path_env / path_file (*suffix set). */
static const hd_cspec_t *hd_cspec_find(const char *path, const char **suffix)
{
        size_t plen = strlen(path);

        *suffix = NULL;
        for (size_t i = 0; i < HD_ARRAY_SIZE(hd_cspecs); i++) {
                const hd_cspec_t *sp = &hd_cspecs[i];
                size_t n = strlen(sp->path);
                if (!strcmp(sp->path, path))
                        return sp;
                if (sp->type == HD_CT_SECRET && plen > n && !strncmp(sp->path, path, n) &&
                    (!strcmp(path + n, "_env") || !strcmp(path + n, "_file"))) {
                        *suffix = path + n;
                        return sp;
                }
        }
        return NULL;
}

static char *hd_kafka_value(hd_cload_t *L, config_setting_t *s, const char *path)
{
        char buf[64];

        switch (config_setting_type(s)) {
        case CONFIG_TYPE_STRING: return hd_strdup(config_setting_get_string(s));
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                snprintf(buf, sizeof(buf), "%lld", hd_cload_int_value(L, s));
                return hd_strdup(buf);
        case CONFIG_TYPE_FLOAT:
                snprintf(buf, sizeof(buf), "%g", config_setting_get_float(s));
                return hd_strdup(buf);
        case CONFIG_TYPE_BOOL:
                return hd_strdup(config_setting_get_bool(s) ? "true" : "false");
        default:
                hd_cload_err(L, config_setting_source_line(s), path,
                        "expected a string, number or boolean, got %s",
                        hd_cload_type_name(config_setting_type(s)));
                return NULL;
        }
}

/*
 * One librdkafka property. libconfig names cannot contain '.', so '_' stands for
 * it; a name ending in _env or _file takes the value from the environment or a
 * file (for sasl_password and friends).
 */
static int hd_cload_kafka_prop(hd_cload_t *L, rd_kafka_conf_t *scratch,
                               config_setting_t *s)
{
        const char *raw = config_setting_name(s);
        int line = config_setting_source_line(s);
        char name[256], path[300], err[512], *value;
        const char *suffix = NULL;
        size_t n = hd_strlcpy(name, raw, sizeof(name));

        snprintf(path, sizeof(path), "kafka.%s", raw);
        if (n >= sizeof(name))
                return hd_cload_err(L, line, "kafka", "property name longer than %zu characters",
                                    sizeof(name) - 1);
        if (n > 4 && !strcmp(name + n - 4, "_env"))
                suffix = "_env", name[n - 4] = '\0';
        else if (n > 5 && !strcmp(name + n - 5, "_file"))
                suffix = "_file", name[n - 5] = '\0';
        for (char *p = name; *p; p++)
                if (*p == '_')
                        *p = '.';
        if (!(value = hd_kafka_value(L, s, path)))
                return -1;
        if (suffix) {
                char *secret;
                int r = hd_cload_secret(L, path, suffix, value, line, &secret);
                free(value);
                if (r)
                        return -1;
                value = secret;
        }
        switch (rd_kafka_conf_set(scratch, name, value, err, sizeof(err))) {
        case RD_KAFKA_CONF_OK:
                break;
        case RD_KAFKA_CONF_UNKNOWN:
                free(value);
                return hd_cload_err(L, line, path, "unknown librdkafka property \"%s\"", name);
        default:
                free(value);
                err[strcspn(err, "\n")] = '\0'; /* librdkafka ends some with a newline */
                return hd_cload_err(L, line, path, "%s", err);
        }
        L->cfg->kafka = hd_realloc(L->cfg->kafka, (L->cfg->nkafka + 1) * sizeof(hd_kv_t));
        L->cfg->kafka[L->cfg->nkafka++] = (hd_kv_t){hd_strdup(name), value, line};
        return 0;
}

static int hd_cload_kafka(hd_cload_t *L, config_setting_t *grp)
{
        rd_kafka_conf_t *scratch = rd_kafka_conf_new();
        int r = 0, n = config_setting_length(grp);

        for (int i = 0; i < n && !r; i++)
                r = hd_cload_kafka_prop(L, scratch, config_setting_get_elem(grp, (unsigned)i));
        rd_kafka_conf_destroy(scratch);
        return r;
}

static int hd_is_group_path(const char *path)
{
        for (size_t i = 0; i < HD_ARRAY_SIZE(hd_cgroups); i++)
                if (!strcmp(hd_cgroups[i], path))
                        return 1;
        return 0;
}

static int hd_cload_group(hd_cload_t *L, config_setting_t *grp, const char *prefix)
{
        int n = config_setting_length(grp);

        for (int i = 0; i < n; i++) {
                config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
                int line = config_setting_source_line(s);
                const hd_cspec_t *sp;
                const char *suffix;
                char path[256];

                snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
                         config_setting_name(s));
                if (hd_is_group_path(path)) {
                        if (config_setting_type(s) != CONFIG_TYPE_GROUP)
                                return hd_cload_err(L, line, path, "expected a group, got %s",
                                               hd_cload_type_name(config_setting_type(s)));
                        if (!strcmp(path, "kafka") ? hd_cload_kafka(L, s)
                                                   : hd_cload_group(L, s, path))
                                return -1;
                        continue;
                }
                if (!strcmp(path, "email.profiles")) {
                        if (hd_cload_smtp_profiles(L, s))
                                return -1;
                        continue;
                }
                if (!(sp = hd_cspec_find(path, &suffix)))
                        return hd_cload_err(L, line, path, "unknown setting");
                if (hd_cstore(L, sp, suffix, s, path))
                        return -1;
                L->seen[sp - hd_cspecs] = 1;
        }
        return 0;
}

/* --- defaults, environment, requirements -------------------------------------- */

static int hd_cload_defaults(hd_cload_t *L)
{
        for (size_t i = 0; i < HD_ARRAY_SIZE(hd_cspecs); i++)
                if (!L->seen[i] && hd_cspecs[i].def &&
                    hd_cstore_text(L, &hd_cspecs[i], hd_cspecs[i].def, 0))
                        return -1;
        return 0;
}

static void hd_strlist_free(hd_strlist_t *sl)
{
        for (size_t i = 0; i < sl->n; i++)
                free(sl->v[i]);
        free(sl->v);
        sl->v = NULL;
        sl->n = 0;
}

static int hd_cload_env(hd_cload_t *L)
{
        const char *b = getenv("HERALD_BOOTSTRAP"), *u = getenv("HERALD_REGISTRY_URL");
        hd_config_t *cfg = L->cfg;
        char err[HD_ERRSTR_SIZE];

        for (size_t i = 0; i < cfg->nkafka; i++)
                if (!strcmp(cfg->kafka[i].name, "bootstrap.servers"))
                        cfg->bootstrap = hd_strdup(cfg->kafka[i].value);
        if (b && *b) {
                free(cfg->bootstrap);
                cfg->bootstrap = hd_strdup(b);
        }
        if (u && *u) {
                char *dup = hd_strdup(u), *save = NULL;
                hd_strlist_free(&cfg->registry.urls);
                for (char *tok = strtok_r(dup, ",", &save); tok;
                     tok = strtok_r(NULL, ",", &save)) {
                        while (*tok == ' ')
                                tok++;
                        if (hd_check_url(tok, err, sizeof(err))) {
                                free(dup);
                                return hd_seterr(L->errstr, L->errstr_size,
                                                 "HERALD_REGISTRY_URL: %s", err);
                        }
                        cfg->registry.urls.v = hd_realloc(
                                cfg->registry.urls.v,
                                (cfg->registry.urls.n + 1) * sizeof(char *));
                        cfg->registry.urls.v[cfg->registry.urls.n++] = hd_strdup(tok);
                }
                free(dup);
        }
        return 0;
}

/* A present `registry` group must say where the registry is (or the env must). */
static int hd_cload_required(hd_cload_t *L, config_t *cf)
{
        config_setting_t *reg = config_lookup(cf, "registry");

        if (reg && !L->cfg->registry.urls.n)
                return hd_cload_err(L, config_setting_source_line(reg), "registry.urls",
                               "missing required setting (or set HERALD_REGISTRY_URL)");
        if (L->cfg->registry.username && !L->cfg->registry.password)
                return hd_cload_err(L, config_setting_source_line(reg), "registry.password",
                               "missing required setting: registry.username is set "
                               "(use registry.password, registry.password_env or "
                               "registry.password_file)");
        return 0;
}

/* --- entry points ---------------------------------------------------------------- */

static hd_config_t *hd_cload(config_t *cf, const char *name, const char *text,
                             char *errstr, size_t errstr_size)
{
        unsigned char seen[HD_ARRAY_SIZE(hd_cspecs)] = {0};
        hd_cload_t L = {.file = name, .errstr = errstr, .errstr_size = errstr_size,
                        .seen = seen, .text = text};

        L.cfg = hd_calloc(1, sizeof(*L.cfg));
        L.cfg->path = hd_strdup(name);
        if (hd_cload_group(&L, config_root_setting(cf), "") || hd_cload_defaults(&L) ||
            hd_cload_env(&L) || hd_cload_required(&L, cf)) {
                hd_config_destroy(L.cfg);
                return NULL;
        }
        return L.cfg;
}

static hd_config_t *hd_cparse_done(config_t *cf, int ok, const char *name, const char *text,
                                   char *errstr,
                                   size_t errstr_size)
{
        hd_config_t *cfg = NULL;

        if (!ok)
                hd_seterr(errstr, errstr_size, "%s:%d: syntax error: %s", name,
                          config_error_line(cf), config_error_text(cf));
        else
                cfg = hd_cload(cf, name, text, errstr, errstr_size);
        config_destroy(cf);
        return cfg;
}

hd_config_t *hd_config_load_string(const char *text, const char *name, char *errstr,
                                   size_t errstr_size)
{
        config_t cf;

        config_init(&cf);
        config_set_options(&cf, 0); /* no autoconvert: a type mismatch is an error */
        return hd_cparse_done(&cf, config_read_string(&cf, text) == CONFIG_TRUE, name, text,
                              errstr, errstr_size);
}

hd_config_t *hd_config_load(const char *path, char *errstr, size_t errstr_size)
{
        config_t cf;
        char err[HD_ERRSTR_SIZE];
        char *text;
        hd_config_t *cfg;

        if (!path)
                path = getenv("HERALD_CONFIG");
        if (!path && access("/etc/herald/herald.conf", R_OK) == 0)
                path = "/etc/herald/herald.conf";
        if (!path)
                return hd_config_load_string("", "(defaults)", errstr, errstr_size);
        /* Read it ourselves so a missing file is reported as such, not as syntax. */
        if (!(text = hd_read_file(path, 4 * 1024 * 1024, NULL, err, sizeof(err)))) {
                hd_seterr(errstr, errstr_size, "cannot read config: %s", err);
                return NULL;
        }
        config_init(&cf);
        config_set_options(&cf, 0);
        cfg = hd_cparse_done(&cf, config_read_string(&cf, text) == CONFIG_TRUE, path, text,
                             errstr, errstr_size);
        free(text);
        return cfg;
}

void hd_config_destroy(hd_config_t *cfg)
{
        if (!cfg)
                return;
        for (size_t i = 0; i < HD_ARRAY_SIZE(hd_cspecs); i++) {
                const hd_cspec_t *sp = &hd_cspecs[i];
                if (sp->type == HD_CT_STR || sp->type == HD_CT_SECRET) {
                        if (strcmp(sp->path, "log.level"))
                                free(*hd_cfield_str(cfg, sp));
                } else if (sp->type == HD_CT_STRLIST) {
                        hd_strlist_free((hd_strlist_t *)((char *)cfg + sp->off));
                }
        }
        for (size_t i = 0; i < cfg->nkafka; i++) {
                free(cfg->kafka[i].name);
                free(cfg->kafka[i].value);
        }
        free(cfg->kafka);
        hd_config_smtp_free(cfg);
        free(cfg->bootstrap);
        free(cfg->path);
        free(cfg);
}

char *hd_config_dlq_topic(const char *group)
{
        size_t n = strlen(group) + sizeof("herald..dlq");
        char *t = hd_malloc(n);

        snprintf(t, n, "herald.%s.dlq", group);
        return t;
}
