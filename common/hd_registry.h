/*
 * hd_registry: client of a Confluent-compatible schema registry (herald-registry,
 * Confluent Schema Registry, Karapace, Apicurio, Redpanda) over libcurl + jansson.
 * Several URLs fail over in order (connect errors, timeouts and 5xx move on; the
 * last good URL is tried first next time). Schemas by id are cached forever: ids
 * are immutable. Thread-safe (a curl handle per call; a lock around the cache).
 * Messages carry the registry's own error code:
 * "registry http://127.0.0.1:8081: 40403 Schema 7 not found"; when every URL failed
 * they list each URL's failure. URLs are shown without user:password@, and the
 * password (option or URL) is registered with hd_log_add_secret().
 *
 * Every call returns 0 or a negative hd_registry_err_t; out-strings and arrays are
 * malloc'd for the caller to free(); hd_strlist_clear() frees a subject list.
 */
#ifndef HD_REGISTRY_H
#define HD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include "hd_config.h"

typedef enum {
        HD_REG_OK = 0,
        HD_REG_E_NOT_FOUND = -1,   /* 404xx */
        HD_REG_E_UNREACHABLE = -2, /* every URL failed (connect, timeout, 5xx) */
        HD_REG_E_CONFLICT = -3,    /* 409: incompatible schema */
        HD_REG_E_INVALID = -4,     /* 422xx */
        HD_REG_E_OTHER = -5,       /* anything else (4xx, bad JSON) */
} hd_registry_err_t;

typedef struct hd_registry_opts {
        const char *const *urls;
        size_t nurls;
        int timeout_ms;
        const char *username; /* Basic auth, with password */
        const char *password;
        const char *ca_file;
} hd_registry_opts_t;

typedef struct hd_registry hd_registry_t;

hd_registry_t *hd_registry_new(const hd_registry_opts_t *opts, char *errstr,
                               size_t errstr_size);
hd_registry_t *hd_registry_from_config(const hd_config_t *cfg, char *errstr,
                                       size_t errstr_size);
void hd_registry_destroy(hd_registry_t *r);

/*
 * The Confluent error_code (or HTTP status when the answer had none) of the last
 * failed call in this thread, 0 if it succeeded.
 */
int hd_registry_last_code(void);

int hd_registry_register(hd_registry_t *r, const char *subject, const char *schema_json,
                         int32_t *id, char *errstr, size_t errstr_size);
int hd_registry_lookup(hd_registry_t *r, const char *subject, const char *schema_json,
                       int32_t *id, int *version, char *errstr, size_t errstr_size);
int hd_registry_get_schema(hd_registry_t *r, int32_t id, char **schema_json, char *errstr,
                           size_t errstr_size);
int hd_registry_subjects(hd_registry_t *r, int include_deleted, hd_strlist_t *out,
                         char *errstr, size_t errstr_size);
int hd_registry_versions(hd_registry_t *r, const char *subject, int **versions, size_t *n,
                         char *errstr, size_t errstr_size);
/* version -1 = latest. */
int hd_registry_get_version(hd_registry_t *r, const char *subject, int version,
                            char **schema_json, int32_t *id, int *version_out, char *errstr,
                            size_t errstr_size);
int hd_registry_get_config(hd_registry_t *r, const char *subject, char **level,
                           char *errstr, size_t errstr_size);
int hd_registry_set_config(hd_registry_t *r, const char *subject, const char *level,
                           char *errstr, size_t errstr_size);
int hd_registry_delete_subject(hd_registry_t *r, const char *subject, int permanent,
                               int **versions, size_t *n, char *errstr, size_t errstr_size);
int hd_registry_delete_version(hd_registry_t *r, const char *subject, int version,
                               int permanent, char *errstr, size_t errstr_size);

/*
 * POST /compatibility/subjects/{s}/versions/{v|latest}?verbose=true: may schema_json
 * follow the subject's versions under its level? version -1 = the latest, 0 = every
 * version the level names (POST .../versions, Confluent 7+). *compatible 1 or 0;
 * *messages (when not NULL) the registry's reasons joined by newlines, malloc'd.
 */
int hd_registry_check(hd_registry_t *r, const char *subject, int version,
                      const char *schema_json, int *compatible, char **messages,
                      char *errstr, size_t errstr_size);

/* hd_schema_fetch_cb for the serde: 0, -3 unknown id, -4 unreachable. */
int hd_registry_fetch_cb(void *opaque, int32_t id, char **schema_json, char *errstr,
                         size_t errstr_size);

void hd_strlist_clear(hd_strlist_t *l);

#endif
